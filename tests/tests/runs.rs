//! Full runs through the engine (issue: Monte Carlo runs).

use taosim_core::config::RunConfig;
use taosim_core::engine::{RunPlan, run_point};

fn baseline(paths: u32, days: f64) -> RunPlan {
    let mut cfg = RunConfig::default();
    cfg.run.paths = paths;
    cfg.run.days = days;
    cfg.output.trace_paths = 1;
    cfg.yuma.enabled = std::env::var("YUMA_OFF").is_err();
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../configs");
    let net = taosim_core::init::initial_network(&cfg, &dir).expect("snapshot");
    RunPlan::new(cfg, net).expect("plan")
}

#[test]
fn smoke() {
    let plan = baseline(4, 30.0);
    let t = std::time::Instant::now();
    let acc = run_point::<f64, ()>(&plan, 0, 0..4, |b| {
        for o in &b.outcomes {
            eprintln!("{o:?}");
        }
        Ok(())
    })
    .unwrap();
    eprintln!("{:?} in {:?}", acc.summary(), t.elapsed());
}
