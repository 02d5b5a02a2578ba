//! Helpers shared by the CLI tests: the repository root, running the built binary, and a fresh
//! scratch folder per test.

#![allow(dead_code, reason = "each test binary uses a different subset of the helpers")]

use std::path::PathBuf;
use std::process::{Command, Output};

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
