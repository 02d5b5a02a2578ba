//! Per-stage device time, from timestamp queries written at the start and end of each stage's
//! compute pass: where a step's time goes on a given card (`taosim bench --stages`).
//!
//! The throughput of a run says how fast the device is, not why; the next GPU optimisation
//! depends on which stage holds the time (the Yuma epoch, on every adapter measured so far) and,
//! with that stage's bytes moved, whether it is bound by memory traffic. A lent card is held
//! for minutes, so the bench gathers this in the same call as the throughput rows.
//!
//! Each stage already runs in a pass of its own ([`crate::stages::dispatch`]), so timing adds two
//! timestamp writes per pass and one resolve and readback per chunk of steps; it is off unless a
//! caller asks ([`crate::engine::GpuEngine::start_stage_timing`]), so ordinary runs and the
//! throughput rows carry no query at all. Timing changes no result.

use taosim_core::stage_clock::StageTotal;

use crate::{Context, GpuError};

/// The step stages' device times, in step order: each stage's seconds (end-of-pass minus
/// start-of-pass timestamps, summed) and passes timed (its `laps`: one per step of every path
/// batch), as the CPU's [`taosim_core::stage_clock::StageClock`] reports its stages (and
/// [`taosim_core::stage_clock::shares`] divides them).
#[derive(Clone, Debug, PartialEq)]
pub struct StageTimes {
    /// One entry per stage of the step, in the order a step dispatches them.
    pub stages: Vec<StageTotal>,
}

impl StageTimes {
    /// Zero time for each of `stages`.
    pub fn of(stages: &[&'static str]) -> Self {
        Self {
            stages: stages
                .iter()
                .map(|&stage| StageTotal { stage, seconds: 0.0, laps: 0 })
                .collect(),
        }
    }
}

/// Two timestamps (start, end) for each of a chunk's passes, and the buffer they resolve into.
#[derive(Debug)]
pub(crate) struct PassTimer {
    set: wgpu::QuerySet,
    resolved: wgpu::Buffer,
    passes: u32,
    /// Nanoseconds per timestamp tick.
    period_ns: f64,
}

impl PassTimer {
    /// A timer for up to `passes` passes per chunk (`2 · passes` queries, at most wgpu's
    /// [`wgpu::QUERY_SET_MAX_QUERIES`]).
    pub(crate) fn new(ctx: &Context, passes: u32) -> Self {
        assert!(2 * passes <= wgpu::QUERY_SET_MAX_QUERIES, "{passes} passes per query set");
        let set = ctx.device.create_query_set(&wgpu::QuerySetDescriptor {
            label: Some("taosim.stage_timing"),
            ty: wgpu::QueryType::Timestamp,
            count: 2 * passes,
        });
        let resolved = ctx.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("taosim.stage_timing.resolved"),
            size: u64::from(2 * passes) * u64::from(wgpu::QUERY_SIZE),
            usage: wgpu::BufferUsages::QUERY_RESOLVE | wgpu::BufferUsages::COPY_SRC,
            mapped_at_creation: false,
        });
        Self { set, resolved, passes, period_ns: f64::from(ctx.queue.get_timestamp_period()) }
    }

    /// The timestamp writes of the chunk's pass `k`.
    pub(crate) fn writes(&self, k: u32) -> wgpu::ComputePassTimestampWrites<'_> {
        assert!(k < self.passes, "pass {k} of a chunk timed for {}", self.passes);
        wgpu::ComputePassTimestampWrites {
            query_set: &self.set,
            beginning_of_pass_write_index: Some(2 * k),
            end_of_pass_write_index: Some(2 * k + 1),
        }
    }

    /// Records, after the chunk's passes, the resolution of its first `passes` passes' timestamps.
    pub(crate) fn resolve(&self, encoder: &mut wgpu::CommandEncoder, passes: u32) {
        encoder.resolve_query_set(&self.set, 0..2 * passes, &self.resolved, 0);
    }

    /// Reads back the resolved timestamps of the chunk's `passes` passes (submitted before) and
    /// adds pass `k`'s time to stage `k mod stages` of `times` (a chunk dispatches whole steps,
    /// each the stages in order).
    pub(crate) fn collect(
        &self,
        ctx: &Context,
        passes: u32,
        times: &mut StageTimes,
    ) -> Result<(), GpuError> {
        let bytes = u64::from(2 * passes) * u64::from(wgpu::QUERY_SIZE);
        let data = crate::stages::read_back(
            &ctx.device,
            &ctx.queue,
            &self.resolved,
            bytes,
            "stage timestamps",
        )?;
        // The mapped bytes are copied into a `Vec<u8>`, which need not be 8-byte aligned.
        let ticks: Vec<u64> = bytemuck::pod_collect_to_vec(&data);
        let stages = times.stages.len();
        for (k, pair) in ticks.chunks_exact(2).enumerate() {
            // A pass's end is never before its start; a counter reset between them would be.
            let elapsed = pair[1].saturating_sub(pair[0]);
            let stage = &mut times.stages[k % stages];
            stage.seconds += elapsed as f64 * self.period_ns * 1e-9;
            stage.laps += 1;
        }
        Ok(())
    }
}
