//! Helpers shared by the CLI tests: the repository root, running the built binary, and a fresh
//! scratch folder per test.

#![allow(dead_code, reason = "each test binary uses a different subset of the helpers")]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// The repository root.
pub(crate) fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Runs the built `taosim` binary with `args`.
pub(crate) fn taosim(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_taosim")).args(args).output().expect("run taosim")
}

/// A fresh, empty folder under the temp dir for test `name` of suite `suite`.
pub(crate) fn scratch(suite: &str, name: &str) -> PathBuf {
    let dir =
        std::env::temp_dir().join(format!("taosim-cli-{suite}-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Runs `taosim args` (whose output folder is `out`) expecting bad input to be refused cleanly:
/// exit 2, one line on stderr naming every `must_name`, and neither `out` nor its staging folder
/// `out.incomplete` left behind. `name` labels the case in failures.
pub(crate) fn assert_rejected(
    name: &str,
    args: &[&str],
    out: &std::path::Path,
    must_name: &[&str],
) {
    let o = taosim(args);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{name}: exit code; stderr: {stderr}");
    assert_eq!(stderr.trim_end().lines().count(), 1, "{name}: one-line error, got: {stderr}");
    for needle in must_name {
        assert!(stderr.contains(needle), "{name}: `{needle}` not in: {stderr}");
    }
    assert!(!out.exists(), "{name}: no output folder may be left");
    let staging = out.with_file_name(format!(
        "{}.incomplete",
        out.file_name().unwrap_or_default().to_string_lossy()
    ));
    assert!(!staging.exists(), "{name}: no staging folder may be left");
}

/// Starts the built `taosim` binary with `args` (stderr piped, for `wait_with_output`).
pub(crate) fn spawn(args: &[&str]) -> Child {
    Command::new(env!("CARGO_BIN_EXE_taosim"))
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start taosim")
}

/// Part files (finished units) saved in a run's staging folder `staging`.
pub(crate) fn saved_parts(staging: &Path) -> usize {
    std::fs::read_dir(staging.join("parts"))
        .map(|d| {
            d.filter(|e| e.as_ref().unwrap().file_name().to_string_lossy().ends_with(".part"))
                .count()
        })
        .unwrap_or(0)
}

/// Waits until `staging` holds at least `n` finished units, while `child` (the run writing
/// them) is still running: a run that ends first leaves nothing to interrupt.
pub(crate) fn wait_for_parts(child: &mut Child, staging: &Path, n: usize) {
    let start = Instant::now();
    while saved_parts(staging) < n {
        assert!(child.try_wait().unwrap().is_none(), "the run ended before {n} units were saved");
        assert!(start.elapsed() < Duration::from_secs(120), "no unit saved in {staging:?}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// The manifest without the fields that are specific to one process: `timings`, `threads`.
fn manifest_without_run_fields(dir: &Path) -> serde_json::Value {
    let text = std::fs::read_to_string(dir.join("manifest.json")).unwrap();
    let mut value: serde_json::Value = serde_json::from_str(&text).unwrap();
    let object = value.as_object_mut().unwrap();
    assert!(object.remove("timings").is_some() && object.remove("threads").is_some());
    value
}

/// The names of the files in `dir` that `keep` selects, sorted.
fn file_names(dir: &Path, keep: impl Fn(&str) -> bool) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| keep(name))
        .collect();
    names.sort();
    names
}

/// Every `.arrow` file of `reference` (the four tables at least) has the same bytes in `other`,
/// and `other` has no other `.arrow` files: the results, whatever the manifests say (runs whose
/// configs differ in a setting the results must not depend on).
pub(crate) fn assert_same_tables(reference: &Path, other: &Path) {
    let is_table = |name: &str| name.ends_with(".arrow");
    let tables = file_names(reference, is_table);
    assert_eq!(
        tables,
        file_names(other, is_table),
        "{other:?} holds other tables than {reference:?}"
    );
    assert!(tables.contains(&"subnets.arrow".to_string()) && tables.len() >= 4, "{tables:?}");
    for table in &tables {
        let a = std::fs::read(reference.join(table)).unwrap();
        assert!(a.len() > 100, "{table} is too small to be a real table");
        assert!(a == std::fs::read(other.join(table)).unwrap(), "{table} differs in {other:?}");
    }
}

/// Every file of `reference` has the same bytes in `other` (the manifest up to its run-specific
/// fields), and `other` has no other files. A run writes only its tables and its manifest.
pub(crate) fn assert_same_outputs(reference: &Path, other: &Path) {
    let files = file_names(reference, |_| true);
    assert_eq!(
        files,
        file_names(other, |_| true),
        "{other:?} holds other files than {reference:?}"
    );
    let (manifest, tables): (Vec<&String>, Vec<&String>) =
        files.iter().partition(|f| *f == "manifest.json");
    assert_eq!(manifest.len(), 1, "{files:?}");
    assert!(tables.iter().all(|f| f.ends_with(".arrow")), "{files:?}");
    assert_eq!(
        manifest_without_run_fields(reference),
        manifest_without_run_fields(other),
        "manifest of {other:?}"
    );
    assert_same_tables(reference, other);
}
