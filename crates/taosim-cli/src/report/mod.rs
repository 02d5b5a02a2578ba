//! `taosim report`'s parts: [`data`] loads a run's output folder, [`stats`] computes the bands,
//! shares, histograms and pooled risks (pure functions), [`plots`] draws the figures to PNG and
//! SVG, and [`html`] writes the page. The command itself is `report_cmd`.

pub(crate) mod data;
pub(crate) mod html;
pub(crate) mod plots;
pub(crate) mod stats;
