//! The engine's record spill (issue 6, memory flat in the horizon): with a [`RecordSpill`] in
//! the plan, rows leave the [`PathRecords`] while the run goes on, and what the spill receives,
//! put back in path order, is exactly what a run without one keeps in memory.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use taosim_core::config::RunConfig;
use taosim_core::engine::{RecordSpill, RunPlan, TRACE_SPILL_ROWS};
use taosim_core::records::{BatchRecords, EventRecord, SubnetRecord, TraceRecord};

use crate::runs::run;

/// What a path handed over, in the order it arrived.
#[derive(Debug, Default)]
struct Received {
    /// Trace chunks: (fresh, rows).
    traces: Vec<(bool, Vec<TraceRecord>)>,
    finished: Vec<(Vec<SubnetRecord>, Vec<EventRecord>)>,
}

/// A spill that keeps everything, per (point, path).
#[derive(Debug, Default)]
struct Collect(Mutex<BTreeMap<(u32, u32), Received>>);

impl RecordSpill for Collect {
    fn traces(&self, point: u32, path: u32, fresh: bool, rows: &[TraceRecord]) {
        let mut all = self.0.lock().unwrap();
        all.entry((point, path)).or_default().traces.push((fresh, rows.to_vec()));
    }

    fn running(&self, _: u32, path: u32, _: bool, _: &[SubnetRecord], _: &[EventRecord]) {
        panic!("path {path}: the CPU hands a path's subnet rows and events over once it finished");
    }

    fn finished(
        &self,
        point: u32,
        path: u32,
        fresh: bool,
        subnets: &[SubnetRecord],
        events: &[EventRecord],
    ) {
        assert!(fresh, "path {path}: nothing was handed over before");
        let mut all = self.0.lock().unwrap();
        all.entry((point, path)).or_default().finished.push((subnets.to_vec(), events.to_vec()));
    }
}

/// 6 paths (3 traced) over 45 daily steps in batches of 4: 46 samples × 128 slots = 5,888 trace
/// rows per traced path, more than [`TRACE_SPILL_ROWS`].
fn plan() -> RunPlan {
    let mut cfg = RunConfig::default();
    cfg.run.paths = 6;
    cfg.run.days = 45.0;
    cfg.run.blocks_per_step = 7_200;
    cfg.run.batch_paths = 4;
    cfg.output.trace_paths = 3;
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../configs");
    let net = taosim_core::init::initial_network(&cfg, &dir).expect("bundled snapshot loads");
    RunPlan::new(cfg, net).expect("valid plan")
}

#[test]
fn spilled_rows_are_the_rows_a_run_keeps_in_memory() {
    let plain = plan();
    let (kept, summary) = run(&plain);
    let collect = Arc::new(Collect::default());
    let mut spilling = plain.clone();
    spilling.spill = Some(Arc::clone(&collect) as Arc<dyn RecordSpill>);
    let (left, spilled_summary) = run(&spilling);

    // Nothing but the outcomes stays in the batches; the outcomes and estimates are the same.
    assert_eq!(left.len(), kept.len());
    for (l, k) in left.iter().zip(&kept) {
        assert!(l.subnets.is_empty() && l.events.is_empty() && l.traces.is_empty());
        assert_eq!(l.outcomes, k.outcomes);
    }
    assert_eq!(spilled_summary, summary);

    let received = collect.0.lock().unwrap();
    assert_eq!(received.len(), 6, "every path hands over its rows");
    let rows_per_path = 46 * plain.slots;
    assert!(rows_per_path > TRACE_SPILL_ROWS, "the traced paths spill more than once");
    let (mut subnets, mut events, mut traces) = (Vec::new(), Vec::new(), Vec::new());
    for (&(point, path), r) in received.iter() {
        assert_eq!(point, 0);
        assert_eq!(r.finished.len(), 1, "path {path} finishes once");
        subnets.extend(r.finished[0].0.iter().cloned());
        events.extend(r.finished[0].1.iter().cloned());
        if path < 3 {
            // Chunks of TRACE_SPILL_ROWS rows while the path runs, the rest at its end; only the
            // first one starts the path's rows afresh.
            let sizes: Vec<usize> = r.traces.iter().map(|(_, rows)| rows.len()).collect();
            assert_eq!(sizes, [TRACE_SPILL_ROWS, rows_per_path - TRACE_SPILL_ROWS], "path {path}");
            let fresh: Vec<bool> = r.traces.iter().map(|&(f, _)| f).collect();
            assert_eq!(fresh, [true, false]);
            traces.extend(r.traces.iter().flat_map(|(_, rows)| rows.iter().cloned()));
        } else {
            assert!(r.traces.is_empty(), "path {path} is not traced");
        }
    }
    let all = |f: fn(&BatchRecords) -> usize| kept.iter().map(f).sum::<usize>();
    assert_eq!(traces.len(), all(|b| b.traces.len()));
    assert_eq!(traces.len(), 3 * rows_per_path);
    let kept_subnets: Vec<_> = kept.iter().flat_map(|b| b.subnets.iter().cloned()).collect();
    let kept_events: Vec<_> = kept.iter().flat_map(|b| b.events.iter().cloned()).collect();
    let kept_traces: Vec<_> = kept.iter().flat_map(|b| b.traces.iter().cloned()).collect();
    assert!(!kept_events.is_empty(), "the horizon has events to hand over");
    assert_eq!(subnets, kept_subnets);
    assert_eq!(events, kept_events);
    assert_eq!(traces, kept_traces);
}
