//! `taosim report` end to end (issue 5): on a small staker-behaviour sweep it writes index.html
//! and one PNG and one SVG per figure, every image is a well-formed file of the documented size,
//! and the page references exactly the images there are; a plain run gets the per-key plots
//! skipped with a note; bad folders and flags are refused with one line and exit 2.

mod common;

use common::{assert_rejected, repo, taosim};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// The documented size of every figure (docs/report.md).
const WIDTH: u32 = 960;
const HEIGHT: u32 = 540;

fn scratch(name: &str) -> PathBuf {
    common::scratch("report", name)
}

fn s(p: &Path) -> String {
    p.to_str().unwrap().to_string()
}

fn ok(args: &[&str]) -> String {
    let o = taosim(args);
    assert!(o.status.success(), "taosim {args:?} failed:\n{}", String::from_utf8_lossy(&o.stderr));
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// configs/sweeps/staker-behaviour.toml cut down to 3 Latin-hypercube points x 3 paths x 4 days,
/// tracing 2 paths per point daily; the four swept keys are kept.
fn small_staker_sweep(dir: &Path) -> PathBuf {
    let original =
        std::fs::read_to_string(repo().join("configs/sweeps/staker-behaviour.toml")).unwrap();
    let snapshot = repo().join("configs/snapshots/2026-04-11.csv");
    let text = original
        .replace("days = 180.0", "days = 4.0")
        .replace("points = 16", "points = 3")
        .replace("paths = 48", "paths = 3")
        .replace("\"../snapshots/2026-04-11.csv\"", &format!("\"{}\"", snapshot.display()))
        .replace("\n[sweep]\n", "\n[output]\nevery_days = 1.0\ntrace_paths = 2\n\n[sweep]\n");
    assert!(text.contains("points = 3") && text.contains("days = 4.0"), "template changed");
    let config = dir.join("staker-small.toml");
    std::fs::write(&config, text).unwrap();
    config
}

/// Width and height of a PNG: the 8-byte signature, then the IHDR chunk (length 13) whose data
/// starts with the big-endian width and height.
fn png_size(bytes: &[u8]) -> (u32, u32) {
    assert!(bytes.len() > 33, "PNG too short");
    assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n", "PNG signature");
    assert_eq!(&bytes[8..12], &13u32.to_be_bytes(), "IHDR length");
    assert_eq!(&bytes[12..16], b"IHDR", "first chunk is IHDR");
    let be = |at: usize| u32::from_be_bytes(bytes[at..at + 4].try_into().unwrap());
    (be(16), be(20))
}

/// Width and height attributes of an SVG's root, after checking it parses as XML with an
/// `<svg>` root.
fn svg_size(text: &str) -> (u32, u32) {
    let doc = roxmltree::Document::parse(text).expect("SVG parses as XML");
    let root = doc.root_element();
    assert_eq!(root.tag_name().name(), "svg", "root element");
    let attr = |name: &str| root.attribute(name).expect(name).parse::<u32>().expect(name);
    (attr("width"), attr("height"))
}

/// Every `src="..."` and `href="..."` of the page.
fn references(html: &str) -> BTreeSet<String> {
    let mut refs = BTreeSet::new();
    for attr in ["src=\"", "href=\""] {
        for (at, _) in html.match_indices(attr) {
            let rest = &html[at + attr.len()..];
            refs.insert(rest[..rest.find('"').unwrap()].to_string());
        }
    }
    refs
}

/// Checks a report folder: every image valid and of the documented size, the page references
/// every image and nothing else, and every reference exists. Returns the image stems.
fn check_report(report: &Path) -> (String, BTreeSet<String>) {
    let html = std::fs::read_to_string(report.join("index.html")).unwrap();
    assert!(html.starts_with("<!DOCTYPE html>"), "HTML page");
    assert!(!html.contains("<script") && !html.contains("<link"), "self-contained page");
    let mut images = BTreeSet::new();
    let mut stems = BTreeSet::new();
    for entry in std::fs::read_dir(report).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        match path.extension().and_then(|e| e.to_str()) {
            Some("png") => {
                assert_eq!(png_size(&std::fs::read(&path).unwrap()), (WIDTH, HEIGHT), "{name}");
            }
            Some("svg") => {
                let size = svg_size(&std::fs::read_to_string(&path).unwrap());
                assert_eq!(size, (WIDTH, HEIGHT), "{name}");
            }
            _ => continue,
        }
        stems.insert(path.file_stem().unwrap().to_string_lossy().into_owned());
        images.insert(name);
    }
    for stem in &stems {
        assert!(images.contains(&format!("{stem}.png")), "{stem}: PNG missing");
        assert!(images.contains(&format!("{stem}.svg")), "{stem}: SVG missing");
    }
    let refs = references(&html);
    assert_eq!(refs, images, "the page references exactly the images written");
    for r in &refs {
        assert!(report.join(r).is_file(), "{r} referenced but missing");
    }
    (html, stems)
}

/// A 3-point staker-behaviour sweep: one spiral-vs-key figure per swept key, the heatmap, the
/// three default fan charts, the concentration chart, all valid and referenced.
#[test]
fn report_on_a_small_staker_behaviour_sweep() {
    let dir = scratch("staker");
    let config = small_staker_sweep(&dir);
    let out = dir.join("out");
    ok(&["sweep", &s(&config), "--out", &s(&out)]);
    let stdout = ok(&["report", &s(&out)]);
    assert!(stdout.contains("index.html"), "{stdout}");
    let (html, stems) = check_report(&out.join("report"));
    for key in [
        "behaviour-panic-rate-per-day",
        "behaviour-zero-emission-exit-per-day",
        "behaviour-miner-sell",
        "behaviour-beta-momentum",
    ] {
        assert!(stems.contains(&format!("spiral-vs-{key}")), "{key}: {stems:?}");
    }
    for stem in ["heatmap", "top10-share"] {
        assert!(stems.contains(stem), "{stem}: {stems:?}");
    }
    assert_eq!(stems.iter().filter(|s| s.starts_with("fan-netuid-")).count(), 3, "{stems:?}");
    assert!(html.contains("Top spiral risks") && html.contains("<table>"));
    // Either a histogram or the note saying there was no spiral to draw.
    assert!(stems.contains("spiral-days") || html.contains("No subnet spiralled"));

    // --out elsewhere, chosen subnets, one point.
    let elsewhere = dir.join("elsewhere");
    ok(&["report", &s(&out), "--out", &s(&elsewhere), "--subnets", "1,64", "--point", "2"]);
    let (html, stems) = check_report(&elsewhere);
    let fans: Vec<&String> = stems.iter().filter(|s| s.starts_with("fan-netuid-")).collect();
    assert_eq!(fans, ["fan-netuid-1", "fan-netuid-64"]);
    assert!(html.contains("point 2"));
}

/// A plain run has no swept keys: no per-key figures or heatmap, a note instead, and the
/// path-level figures as usual.
#[test]
fn report_on_a_plain_run_skips_per_key_plots() {
    let dir = scratch("plain");
    let snapshot = repo().join("configs/snapshots/2026-04-11.csv");
    let config = dir.join("plain.toml");
    std::fs::write(
        &config,
        format!(
            "[run]\npaths = 2\ndays = 3.0\nseed = 5\n[init]\nsnapshot = \"{}\"\n[output]\nevery_days = 1.0\ntrace_paths = 2\n",
            snapshot.display()
        ),
    )
    .unwrap();
    let out = dir.join("out");
    ok(&["run", &s(&config), "--out", &s(&out)]);
    ok(&["report", &s(&out)]);
    let (html, stems) = check_report(&out.join("report"));
    assert!(html.contains("A plain run (no swept keys)"), "note missing");
    assert!(!stems.iter().any(|s| s.starts_with("spiral-vs-") || s == "heatmap"), "{stems:?}");
    assert!(stems.contains("top10-share"), "{stems:?}");
}

/// Missing folder, a folder that is not a taosim output, a run's `.incomplete` staging folder,
/// and bad `--subnets` / `--point` values: one line, exit 2, no report written.
#[test]
fn bad_input_is_refused_cleanly() {
    let dir = scratch("bad");
    let missing = dir.join("missing");
    assert_rejected(
        "missing",
        &["report", &s(&missing)],
        &missing.join("report"),
        &["does not exist"],
    );
    let empty = dir.join("empty");
    std::fs::create_dir_all(&empty).unwrap();
    assert_rejected(
        "not taosim",
        &["report", &s(&empty)],
        &empty.join("report"),
        &["not a taosim output folder", "summary.arrow"],
    );
    let fake = dir.join("fake");
    std::fs::create_dir_all(&fake).unwrap();
    std::fs::write(fake.join("summary.arrow"), b"not arrow").unwrap();
    std::fs::write(fake.join("manifest.json"), b"{}").unwrap();
    assert_rejected(
        "not arrow",
        &["report", &s(&fake)],
        &fake.join("report"),
        &["summary.arrow", "not a complete Arrow file"],
    );
    let staging = dir.join("run.incomplete");
    std::fs::create_dir_all(&staging).unwrap();
    assert_rejected(
        "staging",
        &["report", &s(&staging)],
        &staging.join("report"),
        &["staging folder", ".incomplete"],
    );

    // Flags checked against a real (tiny) run.
    let snapshot = repo().join("configs/snapshots/2026-04-11.csv");
    let config = dir.join("tiny.toml");
    std::fs::write(
        &config,
        format!("[run]\npaths = 1\ndays = 1.0\n[init]\nsnapshot = \"{}\"\n", snapshot.display()),
    )
    .unwrap();
    let out = dir.join("out");
    ok(&["run", &s(&config), "--out", &s(&out)]);
    let report = out.join("report");
    assert_rejected(
        "subnets",
        &["report", &s(&out), "--subnets", "1,999"],
        &report,
        &["--subnets", "999"],
    );
    assert_rejected(
        "repeated subnet",
        &["report", &s(&out), "--subnets", "1,64,1"],
        &report,
        &["--subnets", "netuid 1 is given twice"],
    );
    assert_rejected("point", &["report", &s(&out), "--point", "7"], &report, &["--point", "7"]);
}
