//! `taosim devices`: the GPU adapters wgpu finds (honouring `WGPU_BACKEND`), with what taosim
//! needs to know of each: backend, device type, f64, int64 and timestamp support, key limits.

/// Arguments of `taosim devices`.
#[derive(Debug, clap::Args)]
pub(crate) struct DevicesArgs {}

/// Runs the `devices` subcommand.
pub(crate) fn run(_args: &DevicesArgs) -> anyhow::Result<()> {
    let adapters = taosim_gpu::context::adapters();
    if adapters.is_empty() {
        outln!(
            "no GPU adapter found (WGPU_BACKEND = {:?}); on Debian/Ubuntu, Mesa's software Vulkan \
             driver (package mesa-vulkan-drivers) provides one",
            std::env::var("WGPU_BACKEND").ok()
        )?;
        return Ok(());
    }
    for (k, a) in adapters.iter().enumerate() {
        outln!("[{k}] {}", a.name)?;
        outln!("    backend {}, type {}, driver {}", a.backend, a.device_type, a.driver)?;
        outln!(
            "    SHADER_F64 {}, SHADER_INT64 {}, TIMESTAMP_QUERY {}",
            yes(a.f64),
            yes(a.int64),
            yes(a.timestamps)
        )?;
        outln!(
            "    max storage binding {} MiB, max buffer {} MiB, max workgroups/dim {}, storage buffers/stage {}",
            a.max_storage_buffer_binding_size >> 20,
            a.max_buffer_size >> 20,
            a.max_workgroups_per_dimension,
            a.max_storage_buffers_per_stage
        )?;
    }
    Ok(())
}

fn yes(b: bool) -> &'static str {
    if b { "yes" } else { "no" }
}
