//! `--backend cpu|gpu|auto` and `--precision f64|f32`: which engine runs a point.
//!
//! `auto` takes the GPU when wgpu finds an adapter (honouring `WGPU_BACKEND` and
//! `WGPU_ADAPTER_NAME`) and otherwise the CPU, with a notice on stderr. The precision defaults to
//! f64 (on the GPU: f64 when the adapter has `SHADER_F64`, else f32 with a notice). Both engines
//! hand batches of records to the same sink in path order, so the outputs are written by the same
//! code whatever runs them.

use std::ops::Range;

use taosim_core::engine::{RunPlan, run_point};
use taosim_core::estimate::PointAccumulator;
use taosim_core::records::BatchRecords;
use taosim_gpu::engine::GpuEngine;
use taosim_gpu::shaders::Precision;

/// Which engine to use.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum BackendChoice {
    /// The CPU reference path (rayon).
    Cpu,
    /// The GPU path (wgpu); an error when there is no adapter.
    Gpu,
    /// The GPU when an adapter exists, else the CPU with a notice.
    #[default]
    Auto,
}

/// Arithmetic precision of the state.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum PrecisionChoice {
    /// 64-bit floats (the reference).
    F64,
    /// 32-bit floats with compensated money sums (model.md §1).
    F32,
}

/// The engine a run uses.
#[derive(Debug)]
pub(crate) enum Backend {
    /// The CPU path at this precision.
    Cpu(Precision),
    /// The GPU path; `fallback`: on a device failure, warn and run the work on the CPU (auto).
    Gpu(Box<GpuEngine>, bool),
}

impl Backend {
    /// The engine for `choice` at `precision` (module docs).
    pub(crate) fn select(
        choice: BackendChoice,
        precision: Option<PrecisionChoice>,
    ) -> anyhow::Result<Self> {
        let wanted = precision.map(|p| match p {
            PrecisionChoice::F64 => Precision::F64,
            PrecisionChoice::F32 => Precision::F32,
        });
        match choice {
            BackendChoice::Cpu => Ok(Self::Cpu(wanted.unwrap_or(Precision::F64))),
            BackendChoice::Gpu => Ok(Self::Gpu(Box::new(GpuEngine::new(wanted)?), false)),
            BackendChoice::Auto => match GpuEngine::new(wanted) {
                Ok(engine) => Ok(Self::Gpu(Box::new(engine), true)),
                Err(e) => {
                    eprintln!("taosim: no usable GPU ({e}); running on the CPU");
                    Ok(Self::Cpu(wanted.unwrap_or(Precision::F64)))
                }
            },
        }
    }

    /// `cpu` or `gpu`.
    pub(crate) fn name(&self) -> &'static str {
        match self {
            Self::Cpu(_) => "cpu",
            Self::Gpu(..) => "gpu",
        }
    }

    /// The adapter's name on the GPU.
    pub(crate) fn adapter(&self) -> Option<String> {
        match self {
            Self::Cpu(_) => None,
            Self::Gpu(engine, _) => Some(engine.adapter().to_string()),
        }
    }

    /// The precision of the state.
    pub(crate) fn precision(&self) -> Precision {
        match self {
            Self::Cpu(p) => *p,
            Self::Gpu(engine, _) => engine.precision,
        }
    }

    /// Paths per unit of work (one part file of a durable run): `run.batch_paths` on the CPU,
    /// `run.device_batch_paths` on the GPU (a config value, not the adapter's limit, so shards run
    /// on different adapters cut the work the same way).
    pub(crate) fn unit_paths(&self, plan: &RunPlan) -> u32 {
        match self {
            Self::Cpu(_) => plan.config.run.batch_paths.max(1),
            Self::Gpu(..) => plan.config.run.device_batch_paths.max(1),
        }
    }

    /// Runs paths `paths` of `point`, handing each batch's records to `sink` in path order. With
    /// `--backend auto`, a device failure (not a model guard) is reported as a warning and the
    /// same paths run on the CPU at the same precision (draws depend only on seed, point and
    /// path, so they are the same paths).
    pub(crate) fn run_point(
        &self,
        plan: &RunPlan,
        point: u32,
        paths: Range<u32>,
        mut sink: impl FnMut(BatchRecords) -> anyhow::Result<()>,
    ) -> anyhow::Result<PointAccumulator> {
        let cpu = |sink: &mut dyn FnMut(BatchRecords) -> anyhow::Result<()>| match self.precision()
        {
            Precision::F64 => run_point::<f64, anyhow::Error>(plan, point, paths.clone(), sink),
            Precision::F32 => run_point::<f32, anyhow::Error>(plan, point, paths.clone(), sink),
        };
        match self {
            Self::Cpu(_) => cpu(&mut sink),
            Self::Gpu(engine, fallback) => {
                // Records reach the sink only once the whole range ran, so a fallback never
                // hands over a batch twice.
                let mut batches = Vec::new();
                let gpu = match engine.precision {
                    Precision::F64 => {
                        engine.run_point::<f64, GpuRunError>(plan, point, paths.clone(), |b| {
                            batches.push(b);
                            Ok(())
                        })
                    }
                    Precision::F32 => {
                        engine.run_point::<f32, GpuRunError>(plan, point, paths.clone(), |b| {
                            batches.push(b);
                            Ok(())
                        })
                    }
                };
                match gpu {
                    Ok(acc) => {
                        for b in batches {
                            sink(b)?;
                        }
                        Ok(acc)
                    }
                    Err(GpuRunError::Device(e)) if *fallback => {
                        eprintln!(
                            "taosim: warning: {e}; running paths {}..{} of point {point} on the CPU",
                            paths.start, paths.end
                        );
                        cpu(&mut sink)
                    }
                    Err(GpuRunError::Device(e)) => Err(e.into()),
                    Err(GpuRunError::Model(e)) => Err(e.into()),
                }
            }
        }
    }
}

/// Why a GPU run failed: the device (eligible for the CPU fallback) or the model (a guard, which
/// the CPU would hit too).
#[derive(Debug)]
enum GpuRunError {
    Device(taosim_gpu::GpuError),
    Model(taosim_core::Error),
}

impl From<taosim_gpu::GpuError> for GpuRunError {
    fn from(e: taosim_gpu::GpuError) -> Self {
        Self::Device(e)
    }
}

impl From<taosim_core::Error> for GpuRunError {
    fn from(e: taosim_core::Error) -> Self {
        Self::Model(e)
    }
}
