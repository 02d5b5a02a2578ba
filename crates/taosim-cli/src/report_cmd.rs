//! `taosim report OUT_DIR [--out DIR] [--subnets 1,64] [--point K]`: plots a finished run's or
//! sweep's output folder (docs/outputs.md) into one self-contained HTML page with a PNG and an
//! SVG of each figure, in `OUT_DIR/report/` by default (docs/report.md describes every figure).
//!
//! Loading (`report::data`), the numbers (`report::stats`), drawing (`report::plots`) and the
//! page (`report::html`) are separate. A folder that is missing, is not a taosim output, or is a
//! run's `*.incomplete` staging folder is refused with one line and exit status 2, before
//! anything is written; the page is written after every image, so a report folder with an
//! `index.html` is whole.

use std::path::PathBuf;

use anyhow::{Context, bail};
use taosim_core::records::Proportion;

use crate::Failure;
use crate::output::TRACES_FILE;
use crate::report::data::{KeyValues, Manifest, RunFolder, Subnets, Summary, TOP_SHARE_K, Traces};
use crate::report::html::{Block, Section, page};
use crate::report::plots::{FanPanel, Figure, KeyAxis, register_font, save};
use crate::report::stats::{fan_band, heat_grid, histogram, pooled_spiral_risks};

/// Subnets drawn by default: the largest at the start by pool TAO.
const DEFAULT_FAN_SUBNETS: usize = 3;
/// Rows of the spiral-risk table.
const TOP_RISKS: usize = 15;
/// Most cells per key of the heatmap: about √points, so a scattered design (Latin hypercube,
/// Sobol) puts about one point in each cell, and a grid of up to 10 values per key keeps them.
fn heat_cells(points: usize) -> usize {
    ((points as f64).sqrt().round() as usize).clamp(2, 10)
}
/// Bins of the time-to-spiral histogram.
const HIST_BINS: usize = 24;

/// Arguments of `taosim report`.
#[derive(Debug, clap::Args)]
pub(crate) struct ReportArgs {
    /// Output folder of `taosim run` or `taosim sweep`.
    dir: PathBuf,
    /// Folder for index.html and the images [default: DIR/report].
    #[arg(long)]
    out: Option<PathBuf>,
    /// Netuids of the price and pool-TAO fan charts, comma-separated [default: the three
    /// largest subnets by pool TAO at the start].
    #[arg(long, value_delimiter = ',', allow_negative_numbers = true)]
    subnets: Vec<u16>,
    /// Draw the path-level figures (fan charts, emission concentration, time to spiral) from
    /// this sweep point only [default: all points pooled].
    #[arg(long, allow_negative_numbers = true)]
    point: Option<u32>,
}

/// Everything loaded from the folder.
struct Loaded {
    manifest: Manifest,
    summary: Summary,
    subnets: Subnets,
    traces: Option<Traces>,
    chosen: Vec<u16>,
}

/// Runs the `report` subcommand.
pub(crate) fn run(args: &ReportArgs) -> Result<(), Failure> {
    register_font().map_err(Failure::Failed)?;
    let loaded = load(args).map_err(Failure::BadInput)?;
    let out = args.out.clone().unwrap_or_else(|| args.dir.join("report"));
    let pages = write(args, &loaded, &out).map_err(Failure::Failed)?;
    outln!("taosim: report with {pages} figure(s): {}", out.join("index.html").display())?;
    Ok(())
}

fn load(args: &ReportArgs) -> anyhow::Result<Loaded> {
    let folder = RunFolder::open(&args.dir)?;
    if !folder.has(crate::output::SUBNETS_FILE) {
        bail!("{} is not a taosim output folder: it has no subnets.arrow", args.dir.display());
    }
    let manifest = folder.manifest()?;
    let summary = folder.summary()?;
    let ids: Vec<u32> = summary.rows.iter().map(|r| r.point).collect();
    if let Some(p) = args.point
        && !ids.contains(&p)
    {
        bail!(
            "--point {p}: no such point in {} (points {}..={})",
            args.dir.display(),
            ids[0],
            ids[ids.len() - 1]
        );
    }
    let keep = |point: u32| args.point.is_none_or(|p| p == point);
    // Manifest configs are in summary row order; a point id maps to its row.
    let days_per_step = |point: u32| {
        let row = ids.iter().position(|&i| i == point).unwrap_or(0);
        manifest.days_per_step.get(row).copied().unwrap_or(f64::NAN)
    };
    let subnets = folder.subnets(keep, days_per_step)?;
    let chosen: Vec<u16> = if args.subnets.is_empty() {
        subnets.by_start_tao.iter().copied().take(DEFAULT_FAN_SUBNETS).collect()
    } else {
        if let Some(n) = crate::first_repeated(&args.subnets) {
            bail!("--subnets: netuid {n} is given twice (each netuid at most once)");
        }
        for n in &args.subnets {
            if !subnets.names.contains_key(n) {
                let known: Vec<String> = subnets.names.keys().map(u16::to_string).collect();
                bail!(
                    "--subnets: netuid {n} is not an initial subnet of this run (allowed: {})",
                    known.join(",")
                );
            }
        }
        args.subnets.clone()
    };
    let traces = if folder.has(TRACES_FILE) { Some(folder.traces(keep, &chosen)?) } else { None };
    Ok(Loaded { manifest, summary, subnets, traces, chosen })
}

/// A key's name fit for a file name.
fn file_stem(key: &str) -> String {
    key.chars().map(|c| if c.is_ascii_alphanumeric() { c } else { '-' }).collect()
}

fn percent(p: f64) -> String {
    format!("{:.1}%", 100.0 * p)
}

fn interval(p: &Proportion) -> String {
    format!("[{:.1}, {:.1}]", 100.0 * p.lo, 100.0 * p.hi)
}

/// Draws every figure into `out` and writes index.html last; returns the number of figures.
fn write(args: &ReportArgs, l: &Loaded, out: &std::path::Path) -> anyhow::Result<usize> {
    std::fs::create_dir_all(out).with_context(|| format!("cannot create {}", out.display()))?;
    let mut figures = 0usize;
    let mut emit = |figure: &Figure, stem: &str, caption: String| -> anyhow::Result<Block> {
        save(figure, out, stem)?;
        figures += 1;
        Ok(Block::Figure { stem: stem.to_string(), caption })
    };
    let s = &l.summary;
    let mut sections = Vec::new();

    // Spiral probability against each swept key.
    let mut by_key = Vec::new();
    if s.keys.is_empty() {
        by_key.push(Block::Note(
            "A plain run (no swept keys): the per-key plots and the heatmap need a sweep (`taosim sweep`) or [[point]] tables.".into(),
        ));
    }
    let any: Vec<Proportion> = s.rows.iter().map(|r| r.any_spiral).collect();
    let top10: Vec<Proportion> = s.rows.iter().map(|r| r.top10_spiral).collect();
    for key in &s.keys {
        let axis = match &key.values {
            KeyValues::Numbers(v) => KeyAxis::Numbers(v.clone()),
            KeyValues::Words(w) => KeyAxis::Words(w.clone()),
        };
        let figure = Figure::SpiralByKey {
            key: key.name.clone(),
            axis,
            any: any.clone(),
            top10: top10.clone(),
        };
        by_key.push(emit(
            &figure,
            &format!("spiral-vs-{}", file_stem(&key.name)),
            format!(
                "Probability that any subnet (blue) or a subnet in the initial top 10 by pool TAO (red) enters a death spiral by the horizon, per sweep point, against {}; bars are Wilson 95% intervals. Other swept keys vary between points.",
                key.name
            ),
        )?);
    }
    // Heatmap over the first two numeric keys.
    let numeric: Vec<(&str, &Vec<f64>)> = s
        .keys
        .iter()
        .filter_map(|k| match &k.values {
            KeyValues::Numbers(v) => Some((k.name.as_str(), v)),
            KeyValues::Words(_) => None,
        })
        .collect();
    if numeric.len() >= 2 {
        let spirals: Vec<u64> =
            s.rows.iter().map(|r| (r.any_spiral.p * f64::from(r.paths)).round() as u64).collect();
        let paths: Vec<u64> = s.rows.iter().map(|r| u64::from(r.paths)).collect();
        let cells = heat_cells(s.rows.len());
        if let Some(grid) = heat_grid(numeric[0].1, numeric[1].1, &spirals, &paths, cells) {
            let figure = Figure::Heatmap {
                x_key: numeric[0].0.to_string(),
                y_key: numeric[1].0.to_string(),
                grid,
            };
            by_key.push(emit(
                &figure,
                "heatmap",
                format!(
                    "P(any subnet spirals) over {} and {}: each cell pools the paths of the points inside it (spiral paths / paths); grey cells hold no point. A design with at most {cells} values per key gets one cell per value, a scattered one {cells} equal cells per key.",
                    numeric[0].0, numeric[1].0
                ),
            )?);
        }
    } else if !s.keys.is_empty() {
        by_key.push(Block::Note("The heatmap needs at least two numeric swept keys.".into()));
    }
    sections.push(Section { title: "Spiral probability by swept key".into(), blocks: by_key });

    // The spiral-risk table.
    let risks = pooled_spiral_risks(&s.point_spirals());
    let rows = risks
        .iter()
        .take(TOP_RISKS)
        .enumerate()
        .map(|(i, r)| {
            vec![
                (i + 1).to_string(),
                format!(
                    "{} {}",
                    r.netuid,
                    l.subnets.names.get(&r.netuid).map(String::as_str).unwrap_or("")
                ),
                percent(r.pooled.p),
                interval(&r.pooled),
                format!("{}/{}", r.spirals, r.paths),
                format!("{} (point {})", percent(r.worst.0), r.worst.1),
            ]
        })
        .collect();
    sections.push(Section {
        title: "Top spiral risks".into(),
        blocks: vec![
            Block::Note(format!(
                "Initial subnets with the highest probability of entering a death spiral by the horizon, pooled over all {} point(s): spiral paths over paths, with the Wilson 95% interval. The last column is the highest probability at a single point.",
                s.rows.len()
            )),
            Block::Table {
                header: ["#", "subnet", "P(spiral)", "95% interval", "paths", "worst point"]
                    .map(String::from)
                    .to_vec(),
                rows,
            },
        ],
    });

    // Path-level figures.
    let scope = match args.point {
        Some(p) => format!("point {p}"),
        None if s.rows.len() > 1 => format!("all {} points pooled", s.rows.len()),
        None => "the run".to_string(),
    };
    let mut fans = Vec::new();
    let mut concentration = Vec::new();
    match &l.traces {
        None => {
            let note = "No traces.arrow in this run (output.trace_paths = 0): no fan charts.";
            fans.push(Block::Note(note.into()));
            concentration.push(Block::Note(note.into()));
        }
        Some(t) => {
            for &n in &l.chosen {
                let series = &t.subnets[&n];
                let mut panels = vec![
                    (String::from("spot price"), "TAO per alpha", 1),
                    ("pool TAO".into(), "TAO", 2),
                ]
                .into_iter()
                .map(|(title, y_desc, which)| {
                    let (mut days, mut bands) = (Vec::new(), Vec::new());
                    for (day, prices, taos) in series.by_step.values() {
                        let values = if which == 1 { prices } else { taos };
                        if let Some(b) = fan_band(values) {
                            days.push(*day);
                            bands.push(b);
                        }
                    }
                    FanPanel { title, y_desc: y_desc.to_string(), days, bands }
                })
                .collect::<Vec<_>>();
                if panels[0].days.is_empty() {
                    fans.push(Block::Note(format!(
                        "Netuid {n} is never active in the traced paths."
                    )));
                    continue;
                }
                panels.truncate(2);
                let name = l.subnets.names.get(&n).cloned().unwrap_or_default();
                let figure = Figure::Fan { title: format!("Netuid {n} {name}"), panels };
                fans.push(emit(
                    &figure,
                    &format!("fan-netuid-{n}"),
                    format!(
                        "Netuid {n} ({name}): spot price and pool TAO over {} traced path(s) ({scope}); median line, 25–75% and 5–95% bands over the paths where the slot is occupied on that day.",
                        t.paths
                    ),
                )?);
            }
            let (mut days, mut bands) = (Vec::new(), Vec::new());
            for (day, tops) in t.top_share.values() {
                if let Some(b) = fan_band(tops) {
                    days.push(*day);
                    bands.push(b);
                }
            }
            let panel = FanPanel {
                title: format!("share of emission to the top {TOP_SHARE_K} subnets"),
                y_desc: "share".into(),
                days,
                bands,
            };
            let figure =
                Figure::Fan { title: "Emission concentration".into(), panels: vec![panel] };
            concentration.push(emit(
                &figure,
                "top10-share",
                format!(
                    "Share of the step's emission going to the {TOP_SHARE_K} best-paid subnets, over {} traced path(s) ({scope}): median, 25–75% and 5–95% bands.",
                    t.paths
                ),
            )?);
        }
    }
    sections.push(Section { title: "Price and pool TAO".into(), blocks: fans });
    sections.push(Section { title: "Emission concentration".into(), blocks: concentration });

    // Time to spiral.
    let days = &l.subnets.spiral_days;
    let hist = if days.is_empty() {
        vec![Block::Note(format!("No subnet spiralled ({scope}): no histogram."))]
    } else {
        let horizon = if l.manifest.days.is_finite() {
            l.manifest.days
        } else {
            days.iter().copied().fold(0.0, f64::max)
        };
        let (counts, width) = histogram(days, 0.0, horizon, HIST_BINS);
        let figure = Figure::Histogram {
            title: format!("Time to spiral ({} spirals)", days.len()),
            counts,
            lo: 0.0,
            width,
        };
        vec![emit(
            &figure,
            "spiral-days",
            format!(
                "Days from the start of a path to each death-spiral entry (any occupant of any slot, {scope}), in {HIST_BINS} bins over the horizon."
            ),
        )?]
    };
    sections.push(Section { title: "Time to spiral".into(), blocks: hist });

    let m = &l.manifest;
    let facts = vec![
        ("folder".to_string(), args.dir.display().to_string()),
        ("config".into(), m.config_file.clone()),
        ("design".into(), m.design.clone().unwrap_or_else(|| "single run".into())),
        ("points".into(), s.rows.len().to_string()),
        ("paths".into(), m.paths.to_string()),
        ("horizon".into(), format!("{} days", m.days)),
        ("seed".into(), m.seed.to_string()),
        ("taosim".into(), m.version.clone()),
        (
            "swept keys".into(),
            if s.keys.is_empty() {
                "none".into()
            } else {
                s.keys.iter().map(|k| k.name.clone()).collect::<Vec<_>>().join(", ")
            },
        ),
    ];
    let html = page("taosim report", &facts, &sections);
    let index = out.join("index.html");
    std::fs::write(&index, html).with_context(|| format!("cannot write {}", index.display()))?;
    Ok(figures)
}
