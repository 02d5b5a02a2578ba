//! Drawing the report's figures with `plotters`, each into a PNG and an SVG of the same size.
//!
//! A [`Figure`] holds the numbers of one plot (computed in `stats`, loaded in `data`); drawing
//! is generic over the backend, so the PNG and the SVG come from the same code. Text is laid out
//! with the DejaVu Sans font bundled in `assets/` (registered once by [`register_font`]), so no
//! system font, fontconfig or FreeType is needed.

use std::ops::Range;
use std::path::Path;

use anyhow::anyhow;
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use taosim_core::records::Proportion;

use super::stats::{Band, HeatGrid};

/// Width of every image, pixels.
pub(crate) const WIDTH: u32 = 960;
/// Height of every image, pixels.
pub(crate) const HEIGHT: u32 = 540;

/// DejaVu Sans (Bitstream Vera licence, `assets/DejaVuSans-LICENSE.txt`).
const FONT: &[u8] = include_bytes!("../../assets/DejaVuSans.ttf");
const FAMILY: &str = "sans-serif";

const ANY_COLOUR: RGBColor = RGBColor(31, 119, 180);
const TOP10_COLOUR: RGBColor = RGBColor(214, 96, 77);
const HIST_COLOUR: RGBColor = RGBColor(90, 110, 160);

/// Makes the bundled font the one plotters uses for every label.
pub(crate) fn register_font() -> anyhow::Result<()> {
    plotters::style::register_font(FAMILY, FontStyle::Normal, FONT)
        .map_err(|_| anyhow!("the bundled font cannot be parsed"))
}

/// The x positions of a swept key's points.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum KeyAxis {
    /// A numeric key's values.
    Numbers(Vec<f64>),
    /// A word key: each point's word; the axis lists the distinct words in first-seen order.
    Words(Vec<String>),
}

/// One panel of a fan chart: bands over paths against days.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct FanPanel {
    /// Panel title.
    pub(crate) title: String,
    /// Y axis label.
    pub(crate) y_desc: String,
    /// Sample days.
    pub(crate) days: Vec<f64>,
    /// The band at each day.
    pub(crate) bands: Vec<Band>,
}

/// The numbers of one plot.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Figure {
    /// Spiral probabilities (any subnet, a top-10 subnet) with their Wilson intervals against
    /// one swept key.
    SpiralByKey {
        /// The key's dotted name.
        key: String,
        /// The key's value per point.
        axis: KeyAxis,
        /// P(any subnet spirals) per point.
        any: Vec<Proportion>,
        /// P(a top-10 subnet spirals) per point.
        top10: Vec<Proportion>,
    },
    /// Pooled P(any spiral) over a grid of two keys.
    Heatmap {
        /// First key (x).
        x_key: String,
        /// Second key (y).
        y_key: String,
        /// The cells.
        grid: HeatGrid,
    },
    /// Fan charts side by side, sharing the figure title.
    Fan {
        /// Figure title.
        title: String,
        /// The panels.
        panels: Vec<FanPanel>,
    },
    /// Histogram of days to spiral.
    Histogram {
        /// Figure title.
        title: String,
        /// Counts per bin.
        counts: Vec<u32>,
        /// Left edge of the first bin.
        lo: f64,
        /// Bin width.
        width: f64,
    },
}

/// Draws `figure` into `dir/stem.png` and `dir/stem.svg`.
pub(crate) fn save(figure: &Figure, dir: &Path, stem: &str) -> anyhow::Result<()> {
    let png = dir.join(format!("{stem}.png"));
    let svg = dir.join(format!("{stem}.svg"));
    draw(BitMapBackend::new(&png, (WIDTH, HEIGHT)).into_drawing_area(), figure)
        .map_err(|e| anyhow!("cannot draw {}: {e}", png.display()))?;
    draw(SVGBackend::new(&svg, (WIDTH, HEIGHT)).into_drawing_area(), figure)
        .map_err(|e| anyhow!("cannot draw {}: {e}", svg.display()))?;
    Ok(())
}

type DrawResult<E> = Result<(), DrawingAreaErrorKind<E>>;

fn draw<DB: DrawingBackend>(
    root: DrawingArea<DB, Shift>,
    figure: &Figure,
) -> DrawResult<DB::ErrorType> {
    root.fill(&WHITE)?;
    match figure {
        Figure::SpiralByKey { key, axis, any, top10 } => {
            spiral_by_key(&root, key, axis, any, top10)?
        }
        Figure::Heatmap { x_key, y_key, grid } => heatmap(&root, x_key, y_key, grid)?,
        Figure::Fan { title, panels } => {
            let body = root.titled(title, (FAMILY, 22))?;
            let areas = body.split_evenly((1, panels.len().max(1)));
            for (area, panel) in areas.iter().zip(panels) {
                fan(area, panel)?;
            }
        }
        Figure::Histogram { title, counts, lo, width } => {
            histogram(&root, title, counts, *lo, *width)?
        }
    }
    root.present()
}

/// A range padded by 5% on each side (and widened when flat), so markers at the ends show.
fn padded(lo: f64, hi: f64) -> Range<f64> {
    let span = if hi > lo { hi - lo } else { lo.abs().max(1.0) };
    (lo - 0.05 * span)..(hi + 0.05 * span)
}

fn min_max(values: impl Iterator<Item = f64>) -> (f64, f64) {
    values
        .filter(|v| v.is_finite())
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| (lo.min(v), hi.max(v)))
}

/// Short labels for tick values: at most 3 decimals without trailing zeros, thousands as k/M.
fn tick(v: f64) -> String {
    let a = v.abs();
    if a >= 1e6 {
        return format!("{:.3}M", v / 1e6);
    }
    if a >= 1e4 {
        return format!("{:.0}k", v / 1e3);
    }
    let text = if a >= 100.0 {
        format!("{v:.0}")
    } else if a >= 1.0 {
        format!("{v:.2}")
    } else {
        format!("{v:.3}")
    };
    if text.contains('.') {
        text.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        text
    }
}

fn spiral_by_key<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    key: &str,
    axis: &KeyAxis,
    any: &[Proportion],
    top10: &[Proportion],
) -> DrawResult<DB::ErrorType> {
    let (xs, words): (Vec<f64>, Vec<String>) = match axis {
        KeyAxis::Numbers(v) => (v.clone(), Vec::new()),
        KeyAxis::Words(w) => {
            let mut distinct: Vec<String> = Vec::new();
            let xs = w
                .iter()
                .map(|word| {
                    let i = distinct.iter().position(|d| d == word).unwrap_or_else(|| {
                        distinct.push(word.clone());
                        distinct.len() - 1
                    });
                    i as f64
                })
                .collect();
            (xs, distinct)
        }
    };
    let x_range = if words.is_empty() {
        let (lo, hi) = min_max(xs.iter().copied());
        padded(lo, hi)
    } else {
        -0.5..(words.len() as f64 - 0.5)
    };
    let mut chart = ChartBuilder::on(root)
        .caption(format!("Spiral probability against {key}"), (FAMILY, 22))
        .margin(14)
        .x_label_area_size(48)
        .y_label_area_size(64)
        // Headroom above 1 keeps the legend off the points at probability 1.
        .build_cartesian_2d(x_range.clone(), 0.0..1.25)?;
    let word_label = |x: &f64| {
        let i = x.round();
        if (x - i).abs() < 1e-6 && i >= 0.0 {
            words.get(i as usize).cloned().unwrap_or_default()
        } else {
            String::new()
        }
    };
    let number_label = |x: &f64| tick(*x);
    let mut mesh = chart.configure_mesh();
    let probability_label = |y: &f64| if *y <= 1.0 + 1e-9 { tick(*y) } else { String::new() };
    mesh.x_desc(key)
        .y_desc("probability by the horizon")
        .y_label_formatter(&probability_label)
        .light_line_style(WHITE.mix(0.0));
    if words.is_empty() {
        mesh.x_label_formatter(&number_label);
    } else {
        mesh.x_labels(words.len()).x_label_formatter(&word_label);
    }
    mesh.draw()?;
    // Each point's Wilson interval is a translucent bar: the points of a scattered design are
    // not a curve, so the intervals are not joined into one band across points.
    let half = (x_range.end - x_range.start) * 0.006;
    for (series, colour, offset, label) in [
        (any, ANY_COLOUR, -half, "any subnet spirals"),
        (top10, TOP10_COLOUR, half, "a top-10 subnet spirals"),
    ] {
        chart.draw_series(series.iter().zip(&xs).map(|(p, &x)| {
            Rectangle::new(
                [(x + offset - half, p.lo), (x + offset + half, p.hi)],
                colour.mix(0.35).filled(),
            )
        }))?;
        chart
            .draw_series(
                series
                    .iter()
                    .zip(&xs)
                    .map(|(p, &x)| Circle::new((x + offset, p.p), 4, colour.filled())),
            )?
            .label(format!("{label} (bar: Wilson 95% interval)"))
            .legend(move |(x, y)| Circle::new((x + 8, y), 4, colour.filled()));
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperRight)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK.mix(0.4))
        .label_font((FAMILY, 14))
        .draw()
}

/// White at 0 to dark red at 1.
fn heat_colour(p: f64) -> RGBColor {
    let t = p.clamp(0.0, 1.0);
    let mix = |a: f64, b: f64| (a + (b - a) * t).round() as u8;
    RGBColor(mix(255.0, 165.0), mix(255.0, 15.0), mix(255.0, 21.0))
}

fn heatmap<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    x_key: &str,
    y_key: &str,
    grid: &HeatGrid,
) -> DrawResult<DB::ErrorType> {
    let (x0, x1) = (grid.x_edges[0], grid.x_edges[grid.x_edges.len() - 1]);
    let (y0, y1) = (grid.y_edges[0], grid.y_edges[grid.y_edges.len() - 1]);
    let mut chart = ChartBuilder::on(root)
        .caption("P(any subnet spirals), pooled per cell", (FAMILY, 22))
        .margin(14)
        .x_label_area_size(48)
        .y_label_area_size(72)
        .build_cartesian_2d(x0..x1, y0..y1)?;
    chart
        .configure_mesh()
        .disable_mesh()
        .x_desc(x_key)
        .y_desc(y_key)
        .x_label_formatter(&|x| tick(*x))
        .y_label_formatter(&|y| tick(*y))
        .draw()?;
    let columns = grid.x_edges.len() - 1;
    let rows = grid.y_edges.len() - 1;
    let label_style =
        TextStyle::from((FAMILY, 15).into_font()).pos(Pos::new(HPos::Center, VPos::Center));
    for row in 0..rows {
        for column in 0..columns {
            let (xa, xb) = (grid.x_edges[column], grid.x_edges[column + 1]);
            let (ya, yb) = (grid.y_edges[row], grid.y_edges[row + 1]);
            let Some(p) = grid.probability(column, row) else {
                chart.draw_series(std::iter::once(Rectangle::new(
                    [(xa, ya), (xb, yb)],
                    RGBColor(235, 235, 235).filled(),
                )))?;
                continue;
            };
            chart.draw_series(std::iter::once(Rectangle::new(
                [(xa, ya), (xb, yb)],
                heat_colour(p).filled(),
            )))?;
            chart.draw_series(std::iter::once(Rectangle::new(
                [(xa, ya), (xb, yb)],
                WHITE.stroke_width(1),
            )))?;
            let (k, n) = grid.cells[row * columns + column];
            let colour = if p > 0.55 { WHITE } else { BLACK };
            chart.draw_series(std::iter::once(Text::new(
                format!("{:.0}% ({k}/{n})", 100.0 * p),
                ((xa + xb) / 2.0, (ya + yb) / 2.0),
                label_style.color(&colour),
            )))?;
        }
    }
    Ok(())
}

fn fan<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    panel: &FanPanel,
) -> DrawResult<DB::ErrorType> {
    let (d0, d1) = min_max(panel.days.iter().copied());
    let (v0, v1) = min_max(panel.bands.iter().flat_map(|b| [b.q[0], b.q[4]]));
    let (d0, d1) = if d0.is_finite() { (d0, d1.max(d0 + 1e-9)) } else { (0.0, 1.0) };
    // Prices and reserves are positive: the axis does not dip below zero for the padding.
    let y = if !v0.is_finite() {
        0.0..1.0
    } else {
        let r = padded(v0, v1);
        if v0 >= 0.0 { r.start.max(0.0)..r.end } else { r }
    };
    let mut chart = ChartBuilder::on(area)
        .caption(&panel.title, (FAMILY, 17))
        .margin(12)
        .x_label_area_size(42)
        .y_label_area_size(64)
        .build_cartesian_2d(d0..d1, y)?;
    chart
        .configure_mesh()
        .x_desc("day")
        .y_desc(panel.y_desc.as_str())
        .y_label_formatter(&|v| tick(*v))
        .light_line_style(WHITE.mix(0.0))
        .draw()?;
    let at = |i: usize| -> Vec<(f64, f64)> {
        panel.days.iter().zip(&panel.bands).map(|(&d, b)| (d, b.q[i])).collect()
    };
    for (outer, inner, alpha, label) in [(0, 4, 0.18, "5–95%"), (1, 3, 0.38, "25–75%")] {
        let mut polygon = at(outer);
        polygon.extend(at(inner).into_iter().rev());
        chart
            .draw_series(std::iter::once(Polygon::new(polygon, ANY_COLOUR.mix(alpha).filled())))?
            .label(label)
            .legend(move |(x, y)| {
                Rectangle::new([(x, y - 5), (x + 16, y + 5)], ANY_COLOUR.mix(alpha).filled())
            });
    }
    chart
        .draw_series(LineSeries::new(at(2), ANY_COLOUR.stroke_width(2)))?
        .label("median")
        .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 16, y)], ANY_COLOUR.stroke_width(2)));
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK.mix(0.4))
        .label_font((FAMILY, 13))
        .draw()
}

fn histogram<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    title: &str,
    counts: &[u32],
    lo: f64,
    width: f64,
) -> DrawResult<DB::ErrorType> {
    let top = counts.iter().copied().max().unwrap_or(0).max(1);
    let hi = lo + width * counts.len() as f64;
    let mut chart = ChartBuilder::on(root)
        .caption(title, (FAMILY, 22))
        .margin(14)
        .x_label_area_size(48)
        .y_label_area_size(64)
        .build_cartesian_2d(lo..hi, 0.0..f64::from(top) * 1.08)?;
    chart
        .configure_mesh()
        .x_desc("days from the start to the spiral entry")
        .y_desc("spirals")
        .x_label_formatter(&|x| tick(*x))
        .y_label_formatter(&|y| format!("{y:.0}"))
        .light_line_style(WHITE.mix(0.0))
        .draw()?;
    chart.draw_series(counts.iter().enumerate().map(|(i, &c)| {
        let x = lo + width * i as f64;
        Rectangle::new([(x, 0.0), (x + width, f64::from(c))], HIST_COLOUR.filled())
    }))?;
    chart.draw_series(counts.iter().enumerate().map(|(i, &c)| {
        let x = lo + width * i as f64;
        Rectangle::new([(x, 0.0), (x + width, f64::from(c))], WHITE.stroke_width(1))
    }))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tick_labels_are_short() {
        assert_eq!(tick(0.05), "0.05");
        assert_eq!(tick(10.0), "10");
        assert_eq!(tick(2.5), "2.5");
        assert_eq!(tick(0.0), "0");
        assert_eq!(tick(125_000.0), "125k");
        assert_eq!(tick(2_500_000.0), "2.500M");
    }
}
