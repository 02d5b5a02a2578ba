//! Adapter and device from the environment.
//!
//! `WGPU_BACKEND` (e.g. `vulkan`) limits the backends and `WGPU_ADAPTER_NAME` picks an adapter by
//! name; wgpu 30 reads `WGPU_BACKEND` only through
//! `InstanceDescriptor::new_without_display_handle_from_env`, which is why the instance is made
//! with it. The device asks for `SHADER_F64` when the adapter has it (lavapipe and NVIDIA Vulkan
//! do), `TIMESTAMP_QUERY` when it has that (the per-stage times of `taosim bench --stages`),
//! and the adapter's own limits, so large batches fit.

use thiserror::Error;

/// A GPU failure, with what was being done.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum GpuError {
    /// No adapter matched (none at all, or none of `WGPU_BACKEND` / `WGPU_ADAPTER_NAME`).
    #[error(
        "no GPU adapter found (WGPU_BACKEND = {backend:?}, WGPU_ADAPTER_NAME = {name:?}): {source}"
    )]
    NoAdapter {
        /// `WGPU_BACKEND` as set.
        backend: Option<String>,
        /// `WGPU_ADAPTER_NAME` as set.
        name: Option<String>,
        /// wgpu's reason.
        source: wgpu::RequestAdapterError,
    },
    /// `WGPU_ADAPTER_NAME` matches none of the adapters.
    #[error(
        "no GPU adapter found named like WGPU_ADAPTER_NAME = {name:?} (adapters: {available:?})"
    )]
    NoAdapterNamed {
        /// `WGPU_ADAPTER_NAME` as set.
        name: String,
        /// The adapters there are.
        available: Vec<String>,
    },
    /// The device reported an error outside an error scope (out of memory, a buffer over the
    /// limits, an internal error) or was lost.
    #[error("the GPU {adapter} failed: {message}")]
    Faulted {
        /// Adapter name.
        adapter: String,
        /// wgpu's message.
        message: String,
    },
    /// The adapter refused a device.
    #[error("the adapter {adapter} refused a device: {source}")]
    Device {
        /// Adapter name.
        adapter: String,
        /// wgpu's reason.
        source: wgpu::RequestDeviceError,
    },
    /// Reading a buffer back failed.
    #[error("reading back `{what}` failed: {message}")]
    Readback {
        /// The buffer.
        what: &'static str,
        /// wgpu's reason.
        message: String,
    },
    /// The adapter lacks a feature the run needs.
    #[error("the adapter {adapter} does not support {what}")]
    Unsupported {
        /// Adapter name.
        adapter: String,
        /// What is missing.
        what: String,
    },
    /// A path logged more events in a chunk than the event log holds.
    #[error(
        "path {path} logged {events} events in one chunk of steps, more than the device event log holds"
    )]
    EventOverflow {
        /// Path index in the batch.
        path: u32,
        /// Events logged.
        events: u32,
    },
    /// An event record of unknown kind (a shader bug).
    #[error("path {path}: event record of unknown kind {kind}")]
    BadEvent {
        /// Path index in the batch.
        path: u32,
        /// The kind word.
        kind: u32,
    },
    /// The device state of a path failed the runtime guards but its CPU replay is clean: the GPU
    /// result diverged from the CPU reference.
    #[error(
        "path {path}: the GPU state failed the runtime guards, but the CPU replay is clean (the backends diverged; run `taosim compare` on this config)"
    )]
    Diverged {
        /// Path id.
        path: u32,
    },
    /// The driver cut a stage's loops short (lavapipe's per-invocation loop budget of 65,535
    /// passes): the results would be wrong, so the run stops.
    #[error(
        "path {path}: the adapter {adapter} stopped a stage's loops early (Mesa's lavapipe allows 65,535 loop passes per invocation; a Yuma epoch lane of this many uids, subnet slots or reveal epochs needs more): run this config with --backend cpu or on a real GPU"
    )]
    LoopBudget {
        /// Adapter name.
        adapter: String,
        /// Path id.
        path: u32,
    },
    /// A stage's validation or dispatch failed (wgpu validation error).
    #[error("stage `{stage}`: {message}")]
    Stage {
        /// The stage.
        stage: &'static str,
        /// wgpu's message.
        message: String,
    },
}

/// What `taosim devices` prints about one adapter.
#[derive(Clone, Debug, PartialEq)]
pub struct AdapterReport {
    /// Adapter name.
    pub name: String,
    /// Backend (Vulkan, Metal, Dx12, Gl).
    pub backend: String,
    /// Device type (DiscreteGpu, Cpu, ...).
    pub device_type: String,
    /// Driver and its version.
    pub driver: String,
    /// `SHADER_F64` supported.
    pub f64: bool,
    /// `SHADER_INT64` supported.
    pub int64: bool,
    /// `TIMESTAMP_QUERY` supported (per-pass GPU times, [`crate::stage_timing`]).
    pub timestamps: bool,
    /// `max_storage_buffer_binding_size`, bytes.
    pub max_storage_buffer_binding_size: u64,
    /// `max_buffer_size`, bytes.
    pub max_buffer_size: u64,
    /// `max_compute_workgroups_per_dimension`.
    pub max_workgroups_per_dimension: u32,
    /// `max_storage_buffers_per_shader_stage`.
    pub max_storage_buffers_per_stage: u32,
}

impl AdapterReport {
    fn of(adapter: &wgpu::Adapter) -> Self {
        let info = adapter.get_info();
        let features = adapter.features();
        let limits = adapter.limits();
        Self {
            name: info.name,
            backend: format!("{:?}", info.backend),
            device_type: format!("{:?}", info.device_type),
            driver: format!("{} {}", info.driver, info.driver_info).trim().to_string(),
            f64: features.contains(wgpu::Features::SHADER_F64),
            int64: features.contains(wgpu::Features::SHADER_INT64),
            timestamps: features.contains(wgpu::Features::TIMESTAMP_QUERY),
            max_storage_buffer_binding_size: limits.max_storage_buffer_binding_size,
            max_buffer_size: limits.max_buffer_size,
            max_workgroups_per_dimension: limits.max_compute_workgroups_per_dimension,
            max_storage_buffers_per_stage: limits.max_storage_buffers_per_shader_stage,
        }
    }
}

fn instance() -> wgpu::Instance {
    wgpu::Instance::new(wgpu::InstanceDescriptor::new_without_display_handle_from_env())
}

/// Every adapter of the backends `WGPU_BACKEND` allows (all when unset).
pub fn adapters() -> Vec<AdapterReport> {
    let instance = instance();
    let adapters = pollster::block_on(instance.enumerate_adapters(wgpu::Backends::all()));
    adapters.iter().map(AdapterReport::of).collect()
}

/// A device and its queue, with what the adapter offers.
#[derive(Debug)]
pub struct Context {
    /// The device.
    pub device: wgpu::Device,
    /// Its queue.
    pub queue: wgpu::Queue,
    /// The adapter it came from.
    pub adapter: AdapterReport,
    /// The first error the device reported outside an error scope (validation, out of memory, an
    /// internal error) or its loss; wgpu's default would panic.
    fault: std::sync::Arc<std::sync::Mutex<Option<String>>>,
}

impl Context {
    /// The adapter chosen by `WGPU_BACKEND` / `WGPU_ADAPTER_NAME` (else wgpu's default), and a
    /// device with `SHADER_F64` and `TIMESTAMP_QUERY` when available and the adapter's limits.
    pub fn from_env() -> Result<Self, GpuError> {
        let instance = instance();
        // wgpu's own WGPU_ADAPTER_NAME lookup panics when nothing matches: look it up here.
        let adapter = match std::env::var("WGPU_ADAPTER_NAME") {
            Ok(name) => {
                let adapters =
                    pollster::block_on(instance.enumerate_adapters(wgpu::Backends::all()));
                let wanted = name.to_lowercase();
                let available: Vec<String> = adapters.iter().map(|a| a.get_info().name).collect();
                adapters
                    .into_iter()
                    .find(|a| a.get_info().name.to_lowercase().contains(&wanted))
                    .ok_or(GpuError::NoAdapterNamed { name, available })?
            }
            Err(_) => pollster::block_on(wgpu::util::initialize_adapter_from_env_or_default(
                &instance, None,
            ))
            .map_err(|source| GpuError::NoAdapter {
                backend: std::env::var("WGPU_BACKEND").ok(),
                name: None,
                source,
            })?,
        };
        let report = AdapterReport::of(&adapter);
        let mut features = wgpu::Features::empty();
        if report.f64 {
            features |= wgpu::Features::SHADER_F64;
        }
        if report.timestamps {
            features |= wgpu::Features::TIMESTAMP_QUERY;
        }
        let descriptor = wgpu::DeviceDescriptor {
            label: Some("taosim"),
            required_features: features,
            required_limits: adapter.limits(),
            ..Default::default()
        };
        let (device, queue) = pollster::block_on(adapter.request_device(&descriptor))
            .map_err(|source| GpuError::Device { adapter: report.name.clone(), source })?;
        let fault = std::sync::Arc::new(std::sync::Mutex::new(None::<String>));
        let keep = |fault: &std::sync::Arc<std::sync::Mutex<Option<String>>>, message: String| {
            if let Ok(mut slot) = fault.lock() {
                slot.get_or_insert(message);
            }
        };
        let sink = fault.clone();
        device.on_uncaptured_error(std::sync::Arc::new(move |e: wgpu::Error| {
            keep(&sink, e.to_string());
        }));
        let sink = fault.clone();
        device.set_device_lost_callback(move |reason, message| {
            keep(&sink, format!("device lost ({reason:?}): {message}"));
        });
        Ok(Self { device, queue, adapter: report, fault })
    }

    /// The device's first fault since it was made (see [`Context`]), as an error.
    pub fn check(&self) -> Result<(), GpuError> {
        match self.fault.lock().ok().and_then(|f| f.clone()) {
            Some(message) => Err(GpuError::Faulted { adapter: self.adapter.name.clone(), message }),
            None => Ok(()),
        }
    }
}
