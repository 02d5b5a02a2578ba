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
