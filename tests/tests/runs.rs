//! Full runs through the engine (model.md §3, §9): accounting identities, bounds, and the
//! death-spiral estimate at its two extremes.

use taosim_core::config::RunConfig;
use taosim_core::engine::{RunPlan, run_point};
use taosim_core::estimate::{Z95, wilson};
use taosim_core::params::{EmissionRegime, MIN_RESERVE, TOTAL_SUPPLY};
use taosim_core::records::{BatchRecords, PointSummary};

/// A plan from the bundled 2026-04-11 snapshot with `edit` applied to the default config.
fn plan(paths: u32, days: f64, edit: impl FnOnce(&mut RunConfig)) -> RunPlan {
    let mut cfg = RunConfig::default();
    cfg.run.paths = paths;
    cfg.run.days = days;
    cfg.output.trace_paths = 1;
    edit(&mut cfg);
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../configs");
    let net = taosim_core::init::initial_network(&cfg, &dir).expect("bundled snapshot loads");
    RunPlan::new(cfg, net).expect("valid plan")
}

/// Runs every path of `plan` and returns all batches and the summary.
pub(crate) fn run(plan: &RunPlan) -> (Vec<BatchRecords>, PointSummary) {
    let mut batches = Vec::new();
    let acc = run_point::<f64, taosim_core::Error>(plan, 0, 0..plan.config.run.paths, |b| {
        batches.push(b);
        Ok(())
    })
    .expect("the sink never fails");
    (batches, acc.summary())
}

/// Every f64 a record carries, by name, for the finiteness check.
fn record_values(b: &BatchRecords) -> Vec<(&'static str, f64)> {
    let mut v = Vec::new();
    for r in &b.subnets {
        v.extend([
            ("start_price", r.start_price),
            ("end_price", r.end_price),
            ("start_tao", r.start_tao),
            ("end_tao", r.end_tao),
            ("start_alpha", r.start_alpha),
            ("end_alpha", r.end_alpha),
            ("min_price", r.min_price),
            ("peak_price", r.peak_price),
            ("mean_share", r.mean_share),
            ("cartel_share", r.cartel_share),
            ("staker_return", r.staker_return),
            ("root_return", r.root_return),
            ("exit_slippage_1pct", r.exit_slippage_1pct),
            ("exit_slippage_10pct", r.exit_slippage_10pct),
        ]);
    }
    for e in &b.events {
        v.extend([("event.value", e.value), ("event.value2", e.value2)]);
    }
    for t in &b.traces {
        v.extend([
            ("trace.price", t.price),
            ("trace.moving_price", t.moving_price),
            ("trace.tao", t.tao),
            ("trace.alpha", t.alpha),
            ("trace.share", t.share),
            ("trace.flow_ema", t.flow_ema),
        ]);
    }
    v
}

/// Conservation, reserve and issuance bounds, finiteness, on every regime and both AMMs, with
/// registrations, prunings and dissolutions happening (model.md §2; issue "Monte Carlo runs" 4).
#[test]
fn full_runs_conserve_tao_and_stay_in_bounds() {
    for regime in EmissionRegime::ALL {
        for amm in ["constant_product", "balancer"] {
            let plan = plan(4, 45.0, |c| {
                c.chain.regime = regime;
                c.chain.amm = if amm == "balancer" {
                    taosim_core::params::AmmKind::Balancer
                } else {
                    taosim_core::params::AmmKind::ConstantProduct
                };
            });
            let (batches, summary) = run(&plan);
            assert!(summary.prunings_mean > 0.0, "{regime:?}/{amm}: the run must prune");
            for b in &batches {
                for o in &b.outcomes {
                    let at = format!("{regime:?}/{amm} path {}", o.path);
                    // pools + paid out − paid in + recycled = start + minted, to 1e-9 relative.
                    assert!(o.conservation_residual.abs() <= 1e-9, "{at}: {o:?}");
                    assert!(
                        o.min_reserve >= MIN_RESERVE * (1.0 - 1e-12),
                        "{at}: reserve {}",
                        o.min_reserve
                    );
                    assert!(o.max_alpha_issuance <= TOTAL_SUPPLY, "{at}: alpha issuance");
                    assert!(o.pool_tao_end.is_finite() && o.pool_tao_end > 0.0, "{at}");
                }
                for (name, x) in record_values(b) {
                    assert!(x.is_finite(), "{regime:?}/{amm}: {name} = {x}");
                }
            }
        }
    }
}

/// The same bounds with Yuma on (cartel and copiers included), on a short horizon.
#[test]
fn full_runs_with_yuma_conserve_tao() {
    let plan = plan(2, 10.0, |c| {
        c.yuma.enabled = true;
        c.yuma.cartel_stake = 0.3;
        c.yuma.copier_stake = 0.2;
    });
    let (batches, _) = run(&plan);
    for o in batches.iter().flat_map(|b| &b.outcomes) {
        assert!(o.conservation_residual.abs() <= 1e-9, "path {}: {o:?}", o.path);
        assert!(o.min_reserve >= MIN_RESERVE * (1.0 - 1e-12));
    }
    let cartel: Vec<f64> =
        batches.iter().flat_map(|b| &b.subnets).map(|r| r.cartel_share).collect();
    assert!(cartel.iter().all(|x| (0.0..=1.0).contains(x)));
}

/// Forced spirals: under Taoflow, with no organic inflow, heavy outflows, panic, quick
/// zero-emission exits and miners dumping everything, the top-10 subnets spiral in nearly every
/// path; with benign stakers (steady inflows, no selling) none does. Each estimate's interval is
/// the Wilson interval recomputed here from the path counts.
#[test]
fn forced_spirals_are_near_certain_and_benign_stakers_near_impossible() {
    let harsh = plan(32, 120.0, |c| {
        let b = &mut c.behaviour;
        b.inflow_tao_per_day = 0.0;
        b.outflow_rate_per_day = 0.03;
        b.panic_drawdown = 0.2;
        b.panic_rate_per_day = 0.1;
        b.zero_emission_patience_days = 1.0;
        b.zero_emission_exit_per_day = 0.1;
        b.miner_sell = 1.0;
        b.validator_sell = 1.0;
        b.owner_sell = 1.0;
        b.whale_rate_per_year = 0.0;
    });
    let benign = plan(32, 120.0, |c| {
        let b = &mut c.behaviour;
        b.inflow_tao_per_day = 300.0;
        b.outflow_rate_per_day = 0.0;
        b.panic_rate_per_day = 0.0;
        b.zero_emission_exit_per_day = 0.0;
        b.miner_sell = 0.0;
        b.validator_sell = 0.0;
        b.owner_sell = 0.0;
        b.whale_rate_per_year = 0.0;
        b.flow_noise = 0.0;
    });
    let (harsh_batches, harsh_summary) = run(&harsh);
    let (benign_batches, benign_summary) = run(&benign);
    let top10 = |batches: &[BatchRecords]| {
        batches.iter().flat_map(|b| &b.outcomes).filter(|o| o.top10_spiral).count() as u64
    };
    let any = |batches: &[BatchRecords]| {
        batches.iter().flat_map(|b| &b.outcomes).filter(|o| o.spirals > 0).count() as u64
    };
    assert!(harsh_summary.p_top10_spiral.p >= 0.9, "{:?}", harsh_summary.p_top10_spiral);
    assert!(harsh_summary.p_top10_spiral.lo > 0.7, "{:?}", harsh_summary.p_top10_spiral);
    assert!(benign_summary.p_any_spiral.p <= 0.05, "{:?}", benign_summary.p_any_spiral);
    assert!(benign_summary.p_any_spiral.hi < 0.2, "{:?}", benign_summary.p_any_spiral);
    // Wilson's closed form, written out independently of `estimate::wilson`.
    for (k, est) in [
        (top10(&harsh_batches), harsh_summary.p_top10_spiral),
        (any(&benign_batches), benign_summary.p_any_spiral),
    ] {
        let (n, z) = (32.0_f64, 1.959_963_984_540_054_f64);
        let p = k as f64 / n;
        let centre = (p + z * z / (2.0 * n)) / (1.0 + z * z / n);
        let half = z / (1.0 + z * z / n) * (p * (1.0 - p) / n + z * z / (4.0 * n * n)).sqrt();
        assert!((est.p - p).abs() < 1e-15);
        assert!((est.lo - (centre - half).max(0.0)).abs() < 1e-12, "{est:?}");
        assert!((est.hi - (centre + half).min(1.0)).abs() < 1e-12, "{est:?}");
        assert_eq!(est, wilson(k, 32, Z95));
    }
}

/// Paths do not depend on the batch they ran in: batch sizes 1 and 5 give the same records.
#[test]
fn records_do_not_depend_on_the_batch_size() {
    let one = plan(5, 8.0, |c| c.run.batch_paths = 1);
    let five = plan(5, 8.0, |c| c.run.batch_paths = 5);
    let flatten = |batches: Vec<BatchRecords>| {
        let mut all = BatchRecords::default();
        for b in batches {
            all.subnets.extend(b.subnets);
            all.events.extend(b.events);
            all.traces.extend(b.traces);
            all.outcomes.extend(b.outcomes);
        }
        all
    };
    let (a, sa) = run(&one);
    let (b, sb) = run(&five);
    let (a, b) = (flatten(a), flatten(b));
    assert_eq!(a.subnets, b.subnets);
    assert_eq!(a.events, b.events);
    assert_eq!(a.traces, b.traces);
    assert_eq!(a.outcomes, b.outcomes);
    // Debug text compares the NaN quantiles of a run without spirals as equal.
    assert_eq!(format!("{sa:?}"), format!("{sb:?}"));
}

/// The stage clock of `taosim bench --stages` (`taosim_core::stage_clock`): every stage of every
/// step of every path is clocked once, in step order; no path's laps add up to more than the run
/// took, so the sum stays within paths × the run's wall time; the stages that do real work take
/// time; and a clocked run's records and summary are the unclocked run's, bit for bit.
#[test]
fn the_stage_clock_counts_every_stage_once_and_changes_no_result() {
    use std::sync::Arc;
    use taosim_core::stage_clock::{STEP_STAGES, StageClock};

    let paths = 4;
    let plan = plan(paths, 5.0, |cfg| cfg.yuma.enabled = true);
    let (plain, plain_summary) = run(&plan);
    let clock = Arc::new(StageClock::default());
    let mut clocked = plan.clone();
    clocked.stage_clock = Some(clock.clone());
    let started = std::time::Instant::now();
    let (timed, timed_summary) = run(&clocked);
    let wall = started.elapsed().as_secs_f64();
    // Debug prints every f64 in its shortest round-trip form (and −0 apart from +0).
    assert!(format!("{timed:?}") == format!("{plain:?}"), "the clocked run's records differ");
    assert_eq!(format!("{timed_summary:?}"), format!("{plain_summary:?}"));

    let totals = clock.totals();
    let names: Vec<&str> = totals.iter().map(|t| t.stage).collect();
    assert_eq!(names, STEP_STAGES);
    for t in &totals {
        assert_eq!(t.laps, u64::from(paths * plan.steps), "{}: once per path-step", t.stage);
    }
    let total: f64 = totals.iter().map(|t| t.seconds).sum();
    assert!(total <= f64::from(paths) * wall, "{total} s of laps in a {wall} s run");
    for busy in ["behaviour", "epoch"] {
        let t = totals.iter().find(|t| t.stage == busy).unwrap();
        assert!(t.seconds > 0.0, "{busy}: {} s", t.seconds);
    }
}
