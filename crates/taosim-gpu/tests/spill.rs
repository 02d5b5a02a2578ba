//! The GPU engine's record spill (issue 6, memory flat in the horizon): a device batch runs its
//! paths side by side for the whole horizon, so each path hands its subnet rows and events to the
//! plan's `RecordSpill` while it runs. What the spill receives, put together as the trait says
//! (a path's pieces in order, `fresh` replacing what came before, subnet rows stably sorted by
//! (netuid, occupant)), must be exactly what the same run keeps in memory without a spill, also
//! when the batch runs twice (a replay must not duplicate rows).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use taosim_core::engine::{PathRecords, RecordSpill};
use taosim_core::records::{EventRecord, SubnetRecord, TraceRecord};
use taosim_gpu::engine::GpuEngine;
use taosim_gpu::shaders::Precision;

mod common;
use common::{context, plan_from};

/// One handover of subnet rows and events: (finished, fresh, subnets, events).
type Piece = (bool, bool, Vec<SubnetRecord>, Vec<EventRecord>);

/// A spill that keeps every handover, per (point, path), in the order it arrived.
#[derive(Debug, Default)]
struct Collect {
    pieces: Mutex<BTreeMap<(u32, u32), Vec<Piece>>>,
    traces: Mutex<BTreeMap<(u32, u32), Vec<TraceRecord>>>,
}

impl RecordSpill for Collect {
    fn traces(&self, point: u32, path: u32, fresh: bool, rows: &[TraceRecord]) {
        let mut all = self.traces.lock().unwrap();
        let kept = all.entry((point, path)).or_default();
        if fresh {
            kept.clear();
        }
        kept.extend_from_slice(rows);
    }

    fn running(&self, point: u32, path: u32, fresh: bool, s: &[SubnetRecord], e: &[EventRecord]) {
        let mut all = self.pieces.lock().unwrap();
        all.entry((point, path)).or_default().push((false, fresh, s.to_vec(), e.to_vec()));
    }

    fn finished(&self, point: u32, path: u32, fresh: bool, s: &[SubnetRecord], e: &[EventRecord]) {
        let mut all = self.pieces.lock().unwrap();
        all.entry((point, path)).or_default().push((true, fresh, s.to_vec(), e.to_vec()));
    }
}

impl Collect {
    /// Path `path`'s subnet rows and events as the trait defines them: from the last `fresh`
    /// piece on, in order, subnet rows stably sorted by (netuid, occupant).
    fn rows(&self, path: u32) -> (Vec<SubnetRecord>, Vec<EventRecord>) {
        let all = self.pieces.lock().unwrap();
        let pieces = &all[&(0, path)];
        let start = pieces.iter().rposition(|p| p.1).expect("a fresh piece");
        let (mut subnets, mut events) = (Vec::new(), Vec::new());
        for (_, _, s, e) in &pieces[start..] {
            subnets.extend_from_slice(s);
            events.extend_from_slice(e);
        }
        subnets.sort_by_key(|r| (r.netuid, r.occupant));
        (subnets, events)
    }
}

/// 16 paths × 90 daily steps of the baseline in f64, two of them traced, with the engine handing
/// rows over after every chunk that ends with any held (`with_spill_rows(1)`, so this short run
/// splits them as a long one does with the default): the rows put back together equal those of
/// the same run without a spill, row for row. Then the batch runs again with the same spill (as
/// a replay would): every path's first piece of the second run is fresh, and the rows put back
/// together are still the run's rows, once.
#[test]
fn rows_handed_over_while_running_are_the_rows_kept_in_memory() {
    if context().is_none() {
        return;
    }
    let engine =
        GpuEngine::new(Some(Precision::F64)).expect("adapter with SHADER_F64").with_spill_rows(1);
    let plain = plan_from(
        "configs/baseline.toml",
        "[run]\npaths = 16\ndays = 90.0\nblocks_per_step = 7200\n[output]\ntrace_paths = 2",
    );
    let (_, kept) = engine.run_batch::<f64>(&plain, 0, 0, 16).expect("GPU run");
    let collect = Arc::new(Collect::default());
    let mut spilling = plain.clone();
    spilling.spill = Some(Arc::clone(&collect) as Arc<dyn RecordSpill>);

    let check = |left: &[PathRecords], runs: usize| {
        let mut split = 0;
        for (l, k) in left.iter().zip(&kept) {
            let path = k.outcome.path;
            assert!(l.subnets.is_empty() && l.events.is_empty() && l.traces.is_empty());
            assert_eq!(l.outcome, k.outcome, "path {path}");
            let (subnets, events) = collect.rows(path);
            assert_eq!(subnets, k.subnets, "path {path}: subnet rows");
            assert_eq!(events, k.events, "path {path}: events");
            let traces = collect.traces.lock().unwrap().get(&(0, path)).cloned();
            assert_eq!(traces.unwrap_or_default(), k.traces, "path {path}: trace rows");

            let all = collect.pieces.lock().unwrap();
            let pieces = &all[&(0, path)];
            let finished: Vec<usize> = (0..pieces.len()).filter(|&i| pieces[i].0).collect();
            assert_eq!(finished.len(), runs, "path {path} finishes once per run");
            assert_eq!(finished.last(), Some(&(pieces.len() - 1)), "path {path} ends finished");
            // Each run's first piece, and only it, starts the path afresh.
            let mut first = 0;
            for &end in &finished {
                let fresh: Vec<bool> = pieces[first..=end].iter().map(|p| p.1).collect();
                assert!(fresh[0] && !fresh[1..].contains(&true), "path {path}: {fresh:?}");
                first = end + 1;
            }
            if finished[0] > 1 {
                split += 1;
            }
        }
        split
    };

    let (_, left) = engine.run_batch::<f64>(&spilling, 0, 0, 16).expect("GPU run, spilling");
    let split = check(&left, 1);
    let events: usize = kept.iter().map(|k| k.events.len()).sum();
    let pruned = kept.iter().flat_map(|k| &k.subnets).filter(|s| s.pruned).count();
    eprintln!("{events} events, {pruned} pruned occupants, {split} of 16 paths in 3+ pieces");
    assert!(pruned > 0, "the horizon prunes occupants, whose rows go over early");
    assert!(split >= 4, "most paths hand rows over in several pieces: {split}");

    let (_, again) = engine.run_batch::<f64>(&spilling, 0, 0, 16).expect("GPU run again");
    check(&again, 2);
}
