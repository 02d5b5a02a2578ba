//! Fuzzing of every input parser with proptest generators (docs/fuzzing.md): the run config
//! (`RunConfig::from_toml` + `validate`), the snapshot CSV (`init::parse_snapshot`) and the Yuma
//! scenario (`yuma_scenario::parse_scenario`).
//!
//! Inputs are mutations of the valid bundled files (lines dropped, duplicated, swapped; cells and
//! values replaced by random strings, numbers, NaN, huge values, unicode; text inserted; the file
//! truncated) and fully random text. Properties: no parser panics, and every error names where the
//! problem is: a non-empty message with a backquoted key (`` `run.paths` ``) or a `line`.
//!
//! Cases per target: `TAOSIM_FUZZ_CASES` (e.g. 100000 for the recorded runs), 2,000 by default so
//! the normal test run stays fast. Every panic found is kept below as a named regression test.

use proptest::prelude::*;
use proptest::test_runner::{Config, FileFailurePersistence};
use taosim_core::config::RunConfig;
use taosim_core::init::parse_snapshot;
use taosim_core::yuma_scenario::parse_scenario;

/// The bundled files the mutations start from.
const CONFIGS: &[&str] =
    &[include_str!("../../configs/example.toml"), include_str!("../../configs/baseline.toml")];
const SNAPSHOTS: &[&str] = &[
    include_str!("../../configs/snapshots/2026-04-11.csv"),
    include_str!("../../configs/snapshots/2026-09-30.csv"),
];
const SCENARIOS: &[&str] = &[
    include_str!("../../configs/yuma/kappa_moves_first.toml"),
    include_str!("../../configs/yuma/liquid_alpha_disabled.toml"),
    include_str!("../../configs/yuma/one_epoch_switch.toml"),
    include_str!("../../configs/yuma/stable_miner.toml"),
];

/// Cases per target: `TAOSIM_FUZZ_CASES`, else 2,000.
fn cases() -> u32 {
    std::env::var("TAOSIM_FUZZ_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(2_000)
}

fn config() -> Config {
    Config {
        cases: cases(),
        // Inputs that fail are kept as named regression tests below, not in a side file.
        failure_persistence: Some(Box::new(FileFailurePersistence::Off)),
        ..Config::default()
    }
}

/// One edit of a file's text.
#[derive(Clone, Debug)]
enum Mutation {
    DropLine(usize),
    DuplicateLine(usize),
    SwapLines(usize, usize),
    /// Replace one cell of a line: a comma-separated cell, or the value after `=`.
    ReplaceCell(usize, usize, String),
    /// Replace a whole line.
    ReplaceLine(usize, String),
    /// Insert text at a character position.
    Insert(usize, String),
    /// Keep only the first part of the text (in characters).
    Truncate(usize),
}

/// Nasty values: numbers of every kind, NaN, infinities, huge values, unicode, quotes, empties.
fn nasty_value() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(String::new()),
        prop::sample::select(vec![
            "NaN",
            "nan",
            "-nan",
            "inf",
            "-inf",
            "+inf",
            "infinity",
            "1e309",
            "-1e309",
            "1e308",
            "4.9e-324",
            "-0",
            "-0.0",
            "0",
            "-1",
            "4294967295",
            "4294967296",
            "18446744073709551615",
            "18446744073709551616",
            "-9223372036854775809",
            "1_000",
            "0x10",
            "true",
            "\"\"",
            "\"",
            "[",
            "]",
            "{",
            "}",
            "[[",
            "τ",
            "\u{feff}",
            "\u{0}",
            "ä,ö",
            "\"a,b\"",
            "\"a\"\"b\"",
            "=",
            ",",
            "#",
            "'''",
            "\"\"\"",
            "[]",
            "[[]]",
            "{}",
            "1e-400",
            "12345678901234567890123",
        ])
        .prop_map(str::to_string),
        any::<f64>().prop_map(|x| x.to_string()),
        any::<i64>().prop_map(|x| x.to_string()),
        any::<u64>().prop_map(|x| format!("{x}.5e{}", x % 400)),
        "\\PC{0,12}",
        prop::collection::vec(any::<char>(), 0..12).prop_map(|c| c.into_iter().collect()),
    ]
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        1 => any::<usize>().prop_map(Mutation::DropLine),
        1 => any::<usize>().prop_map(Mutation::DuplicateLine),
        1 => (any::<usize>(), any::<usize>()).prop_map(|(a, b)| Mutation::SwapLines(a, b)),
        4 => (any::<usize>(), any::<usize>(), nasty_value())
            .prop_map(|(l, c, v)| Mutation::ReplaceCell(l, c, v)),
        1 => (any::<usize>(), nasty_value()).prop_map(|(l, v)| Mutation::ReplaceLine(l, v)),
        1 => (any::<usize>(), nasty_value()).prop_map(|(p, v)| Mutation::Insert(p, v)),
        1 => any::<usize>().prop_map(Mutation::Truncate),
    ]
}

/// Position `raw` in a collection of `n` (n > 0).
fn pick(raw: usize, n: usize) -> usize {
    raw % n
}

/// Applies `m` to `text`, keeping line endings as `\n`.
fn apply(text: &str, m: &Mutation) -> String {
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    if lines.is_empty() {
        lines.push(String::new());
    }
    let n = lines.len();
    match m {
        Mutation::DropLine(i) => {
            lines.remove(pick(*i, n));
        }
        Mutation::DuplicateLine(i) => {
            let k = pick(*i, n);
            lines.insert(k, lines[k].clone());
        }
        Mutation::SwapLines(a, b) => lines.swap(pick(*a, n), pick(*b, n)),
        Mutation::ReplaceCell(l, c, v) => {
            let k = pick(*l, n);
            let line = &lines[k];
            lines[k] = if let Some((key, _)) = line.split_once('=') {
                format!("{key}= {v}")
            } else {
                let mut cells: Vec<&str> = line.split(',').collect();
                let j = pick(*c, cells.len());
                cells[j] = v;
                cells.join(",")
            };
        }
        Mutation::ReplaceLine(l, v) => {
            let k = pick(*l, n);
            lines[k] = v.clone();
        }
        Mutation::Insert(p, v) => {
            let joined = lines.join("\n");
            let chars: Vec<char> = joined.chars().collect();
            let at = pick(*p, chars.len() + 1);
            let mut out: String = chars[..at].iter().collect();
            out.push_str(v);
            out.extend(&chars[at..]);
            return out;
        }
        Mutation::Truncate(p) => {
            let joined = lines.join("\n");
            let chars: Vec<char> = joined.chars().collect();
            return chars[..pick(*p, chars.len() + 1)].iter().collect();
        }
    }
    lines.join("\n") + "\n"
}

/// A fuzz input: a bundled file with 1-4 mutations, or fully random text.
fn input(seeds: &'static [&'static str]) -> impl Strategy<Value = String> {
    prop_oneof![
        8 => (prop::sample::select(seeds), prop::collection::vec(mutation(), 1..5))
            .prop_map(|(seed, ms)| ms.iter().fold(seed.to_string(), |t, m| apply(&t, m))),
        1 => "\\PC{0,300}",
        1 => prop::collection::vec(any::<char>(), 0..300).prop_map(|c| c.into_iter().collect()),
    ]
}

/// The error property: a non-empty message naming a backquoted key or a line.
fn names_where(message: &str) -> bool {
    let backquoted_key = message.split('`').nth(1).is_some_and(|k| !k.is_empty())
        && message.matches('`').count() >= 2;
    !message.trim().is_empty() && (backquoted_key || message.contains("line"))
}

/// Parses and validates a run config; an error must say where.
fn check_config(text: &str) -> Result<(), TestCaseError> {
    let result = RunConfig::from_toml(text).and_then(|c| c.validate());
    if let Err(e) = result {
        let m = e.to_string();
        prop_assert!(names_where(&m), "config error does not say where: {m:?}");
    }
    Ok(())
}

/// Parses a snapshot under the default config; an error must say where.
fn check_snapshot(text: &str) -> Result<(), TestCaseError> {
    if let Err(e) = parse_snapshot("fuzz.csv", text, &RunConfig::default()) {
        let m = e.to_string();
        prop_assert!(names_where(&m), "snapshot error does not say where: {m:?}");
    }
    Ok(())
}

/// Parses a Yuma scenario; an error must say where.
fn check_scenario(text: &str) -> Result<(), TestCaseError> {
    if let Err(e) = parse_scenario(text, std::path::Path::new(".")) {
        let m = e.to_string();
        prop_assert!(names_where(&m), "scenario error does not say where: {m:?}");
    }
    Ok(())
}

proptest! {
    #![proptest_config(config())]

    /// The run config parser and validator never panic and always say where the problem is.
    #[test]
    fn fuzz_run_config(text in input(CONFIGS)) {
        check_config(&text)?;
    }

    /// The snapshot CSV parser never panics and always says where the problem is.
    #[test]
    fn fuzz_snapshot_csv(text in input(SNAPSHOTS)) {
        check_snapshot(&text)?;
    }

    /// The Yuma scenario parser never panics and always says where the problem is.
    #[test]
    fn fuzz_yuma_scenario(text in input(SCENARIOS)) {
        check_scenario(&text)?;
    }
}

/// Finding of the first fuzz run: a snapshot with a header and no subnet rows got an error that
/// named neither a line nor a column.
#[test]
fn regression_snapshot_without_rows_names_the_lines() {
    let text = "netuid,name,registered_at_block,first_emission_block,tempo,tao_in,alpha_in,price,\
                alpha_issued,alpha_outstanding_est";
    let e = parse_snapshot("fuzz.csv", text, &RunConfig::default()).expect_err("no rows");
    assert!(names_where(&e.to_string()), "{e}");
}

/// The bundled files the mutations start from are valid.
#[test]
fn the_bundled_files_parse() {
    for text in CONFIGS {
        RunConfig::from_toml(text).and_then(|c| c.validate()).expect("bundled config is valid");
    }
    for text in SNAPSHOTS {
        parse_snapshot("bundled.csv", text, &RunConfig::default()).expect("bundled snapshot");
    }
    for text in SCENARIOS {
        parse_scenario(text, std::path::Path::new(".")).expect("bundled scenario is valid");
    }
}

/// The mutations and the error property do what they say.
#[test]
fn mutations_do_what_they_say() {
    let t = "a=1\nb,c\n";
    assert_eq!(apply(t, &Mutation::DropLine(0)), "b,c\n");
    assert_eq!(apply(t, &Mutation::SwapLines(0, 1)), "b,c\na=1\n");
    assert_eq!(apply(t, &Mutation::ReplaceCell(1, 1, "x".into())), "a=1\nb,x\n");
    assert!(names_where("line 3: bad"));
    assert!(names_where("`run.paths` = 0: must be at least 1"));
    assert!(!names_where("bad value"));
    assert!(!names_where("``"));
}
