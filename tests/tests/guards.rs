//! The engine's runtime guards (engine module docs; issue 7 "Runtime guards"): a NaN, an
//! infinity, a negative reserve or a TAO conservation breach stops the run with an
//! `Error::Guard` naming the point, path, step, subnet, stage and field.
//!
//! Faults are injected with the engine's test facility `RunPlan::fault`, which corrupts one value
//! right after a chosen stage of a chosen step of a chosen path.

use taosim_core::Error;
use taosim_core::config::RunConfig;
use taosim_core::engine::CONSERVATION_TOLERANCE_F64;
use taosim_core::engine::{Fault, FaultValue, RunPlan, Stage, run_batch, run_point};
use taosim_core::error::GuardKind;

/// A small plan from the bundled 2026-04-11 snapshot: `paths` paths of 3 days, batches of 4.
fn plan(paths: u32, yuma: bool) -> RunPlan {
    let mut cfg = RunConfig::default();
    cfg.run.paths = paths;
    cfg.run.days = 3.0;
    cfg.run.batch_paths = 4;
    cfg.yuma.enabled = yuma;
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../configs");
    let net = taosim_core::init::initial_network(&cfg, &dir).expect("bundled snapshot loads");
    RunPlan::new(cfg, net).expect("valid plan")
}

/// Runs `plan` with `fault`; returns the error and the first path of every batch the sink saw.
fn run_with(mut plan: RunPlan, fault: Option<Fault>) -> (Result<(), Error>, Vec<u32>) {
    plan.fault = fault;
    let mut seen = Vec::new();
    let result = run_point::<f64, Error>(&plan, 0, 0..plan.config.run.paths, |b| {
        seen.push(b.first_path);
        Ok(())
    })
    .map(|_| ());
    (result, seen)
}

/// The guard error of a run with `fault`, with its fields.
#[derive(Debug)]
struct Stopped {
    kind: GuardKind,
    path: u32,
    step: u32,
    subnet: Option<u16>,
    stage: &'static str,
    field: &'static str,
    value: f64,
    message: String,
}

fn stopped(plan: RunPlan, fault: Fault) -> Stopped {
    let (result, _) = run_with(plan, Some(fault));
    match result {
        Err(e @ Error::Guard { kind, point, path, step, subnet, stage, field, value }) => {
            assert_eq!(point, 0);
            Stopped { kind, path, step, subnet, stage, field, value, message: e.to_string() }
        }
        other => panic!("expected a guard error, got {other:?}"),
    }
}

fn fault(path: u32, step: u32, stage: Stage, subnet: Option<u16>, field: &'static str) -> Fault {
    Fault { path, step, stage, subnet, field, value: FaultValue::Set(f64::NAN) }
}

/// Without a fault the guards stay silent on every regime's default run, Yuma on and off.
#[test]
fn a_clean_run_passes_every_guard() {
    for yuma in [false, true] {
        let (result, seen) = run_with(plan(6, yuma), None);
        assert_eq!(result, Ok(()), "yuma {yuma}");
        assert_eq!(seen, [0, 4]);
    }
}

/// A NaN written after each stage is caught after that very stage, at that path, step and netuid.
#[test]
fn a_nan_is_caught_after_every_stage() {
    let stages = [
        (Stage::Init, "init"),
        (Stage::Behaviour, "behaviour"),
        (Stage::Swaps, "swaps"),
        (Stage::EmissionShares, "emission_shares"),
        (Stage::Injection, "injection"),
        (Stage::MovingPrice, "moving_price"),
        (Stage::Epoch, "epoch"),
        (Stage::Registration, "registration"),
        (Stage::Metrics, "metrics"),
    ];
    for (stage, name) in stages {
        // Init runs at step 0 only; the others at step 7.
        let step = if stage == Stage::Init { 0 } else { 7 };
        let s = stopped(plan(3, false), fault(1, step, stage, Some(12), "moving_price"));
        assert_eq!(s.kind, GuardKind::NotFinite, "{name}");
        assert_eq!((s.path, s.step, s.subnet), (1, step, Some(12)), "{name}");
        assert_eq!((s.stage, s.field), (name, "moving_price"), "{name}");
        assert!(s.value.is_nan());
    }
}

/// A NaN in each Yuma part is caught after the stage that wrote it, named by its part, whatever
/// the stage: the end-of-step check covers the Yuma reals too (as the GPU's guards stage does), so
/// a NaN the epoch would swallow (a miner quality under `max(0, ·)` gives a zero weight) still
/// stops the run on both backends.
#[test]
fn a_nan_in_a_yuma_part_is_caught_and_named() {
    let cases = [
        ("miner_quality", Stage::Behaviour, "behaviour"),
        ("bonds", Stage::Metrics, "metrics"),
        ("consensus_history", Stage::Registration, "registration"),
    ];
    for (field, stage, name) in cases {
        let s = stopped(plan(3, true), fault(2, 4, stage, Some(40), field));
        assert_eq!(s.kind, GuardKind::NotFinite, "{field}");
        assert_eq!((s.path, s.step, s.subnet, s.stage, s.field), (2, 4, Some(40), name, field));
        assert!(s.value.is_nan(), "{field}");
    }
}

/// The message names everything, on one line.
#[test]
fn the_message_names_path_step_subnet_and_stage() {
    let s = stopped(plan(3, false), fault(2, 5, Stage::Swaps, Some(3), "flow"));
    assert_eq!(
        s.message,
        "run stopped by a guard: a value is not finite: `flow` = NaN at point 0, path 2, step 5, \
         netuid 3, after stage `swaps`"
    );
}

/// An infinity in a pool reserve (and, with Yuma on, after the epoch stage).
#[test]
fn an_infinity_is_caught() {
    for yuma in [false, true] {
        let mut f = fault(0, 3, Stage::Epoch, Some(64), "tao");
        f.value = FaultValue::Set(f64::INFINITY);
        let s = stopped(plan(2, yuma), f);
        assert_eq!(s.kind, GuardKind::NotFinite);
        assert_eq!((s.path, s.step, s.subnet, s.stage, s.field), (0, 3, Some(64), "epoch", "tao"));
        assert_eq!(s.value, f64::INFINITY);
    }
}

/// A negative infinity in a path-wide value names no subnet.
#[test]
fn a_path_wide_infinity_names_no_subnet() {
    let mut f = fault(1, 2, Stage::Injection, None, "issuance");
    f.value = FaultValue::Set(f64::NEG_INFINITY);
    let s = stopped(plan(2, false), f);
    assert_eq!(s.kind, GuardKind::NotFinite);
    assert_eq!((s.path, s.step, s.subnet, s.stage), (1, 2, None, "injection"));
    assert_eq!(s.field, "issuance");
    assert!(s.message.contains("path-wide"), "{}", s.message);
}

/// A negative reserve (TAO, then alpha) is named as such, before the conservation breach it
/// also causes.
#[test]
fn a_negative_reserve_is_caught() {
    for field in ["tao", "alpha"] {
        let mut f = fault(1, 4, Stage::MovingPrice, Some(7), field);
        f.value = FaultValue::Set(-1.0);
        let s = stopped(plan(2, false), f);
        assert_eq!(s.kind, GuardKind::NegativeReserve, "{field}");
        assert_eq!((s.path, s.step, s.subnet, s.stage), (1, 4, Some(7), "moving_price"));
        assert_eq!((s.field, s.value), (field, -1.0));
    }
}

/// A reserve forced to zero (as a config that drained a pool would): below the minimum reserve
/// the AMM keeps every live pool above, so it is caught right there.
#[test]
fn a_zero_reserve_is_caught() {
    let mut f = fault(2, 6, Stage::Swaps, Some(15), "alpha");
    f.value = FaultValue::Set(0.0);
    let s = stopped(plan(3, false), f);
    assert_eq!(
        s.kind,
        GuardKind::ReserveBelowMinimum { minimum: taosim_core::params::MIN_RESERVE }
    );
    assert_eq!((s.path, s.step, s.subnet, s.stage, s.field), (2, 6, Some(15), "swaps", "alpha"));
    assert_eq!(s.value, 0.0);
}

/// TAO appearing in a pool (finite, positive: only the conservation identity sees it), and TAO
/// minted without reaching a pool.
#[test]
fn a_conservation_breach_is_caught() {
    let breaches =
        [(Some(9), "tao", Stage::Epoch, "epoch"), (None, "tao_minted", Stage::Metrics, "metrics")];
    for (subnet, field, stage, name) in breaches {
        let mut f = fault(3, 9, stage, subnet, field);
        f.value = FaultValue::Add(1.0);
        let s = stopped(plan(5, false), f);
        let GuardKind::ConservationBreach { tolerance } = s.kind else {
            panic!("{field}: {s:?}");
        };
        assert_eq!(tolerance, taosim_core::engine::CONSERVATION_TOLERANCE_F64);
        // The breach is path-wide: the identity sums every pool.
        assert_eq!((s.path, s.step, s.subnet, s.stage), (3, 9, None, name), "{field}");
        assert_eq!(s.field, "conservation_residual");
        assert!(s.value.abs() > tolerance, "{s:?}");
        assert!(s.message.contains("TAO conservation breached"), "{}", s.message);
    }
}

/// A breach in a later batch stops the run before that batch reaches the sink; earlier batches
/// were delivered.
#[test]
fn a_guard_stops_before_the_failing_batch_is_written() {
    let (result, seen) = run_with(plan(10, false), Some(fault(5, 1, Stage::Swaps, Some(1), "tao")));
    assert!(matches!(result, Err(Error::Guard { path: 5, step: 1, .. })), "{result:?}");
    assert_eq!(seen, [0]);
}

/// Flows in and out that dwarf the pools are no breach: `configs/tests/extreme_flows.toml`
/// (valid; its first form was found by running random valid configs, docs/fuzzing.md) stakes
/// and unstakes four whale orders a step of up to the TAO supply against pools of ~1e4, over
/// 14,400 one-block steps: ~8.5e13 TAO paid in. The identity's rounding (0.13-0.74 TAO) is
/// ~1e-14 of its largest term; against start pools + minted (the old scale) it is 5e-8 to
/// 2.8e-7, over the tolerance, which stopped such runs. Both are checked on the final state.
#[test]
fn flows_that_dwarf_the_pools_are_no_breach() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../configs/tests");
    let text = std::fs::read_to_string(dir.join("extreme_flows.toml")).expect("bundled config");
    let cfg = RunConfig::from_toml(&text).expect("valid config");
    cfg.validate().expect("valid config");
    let net = taosim_core::init::initial_network(&cfg, &dir).expect("synthetic network");
    let start_pools: f64 = net.subnets.iter().map(|s| s.tao).sum();
    let plan = RunPlan::new(cfg, net).expect("valid plan");
    let paths = plan.config.run.paths;
    let (mut state, records) =
        run_batch::<f64>(&plan, 0, 0, paths).expect("the run completes: no guard trips");
    for (p, records) in records.iter().enumerate() {
        let st = state.path(p);
        let pools: f64 = (0..st.sub.tao.len())
            .filter(|&i| st.sub_int.active[i] != 0)
            .map(|i| st.sub.tao[i])
            .sum();
        let g = &st.global;
        let rhs = start_pools + g.tao_minted[0];
        let absolute = pools + g.tao_paid_out[0] - g.tao_paid_in[0] + g.tao_recycled[0] - rhs;
        let old_scale = absolute / rhs.abs().max(1.0);
        // The premise: against the pools the rounding is a breach.
        assert!(old_scale.abs() > CONSERVATION_TOLERANCE_F64, "path {p}: {old_scale:e}");
        // Against the largest term it is rounding.
        let o = &records.outcome;
        assert!(o.conservation_residual.abs() <= 1e-12, "path {p}: {o:?}");
    }
}
