//! GPU faults become errors, not panics (issue 7): an allocation over the adapter's limits is
//! reported by `Context::check` as a `GpuError::Faulted` naming the adapter and the cause.

use taosim_gpu::GpuError;

mod common;
use common::context;

#[test]
fn a_buffer_over_the_limits_is_an_error_not_a_panic() {
    let Some(ctx) = context() else { return };
    assert!(ctx.check().is_ok(), "a fresh device has no fault");
    let too_big = ctx.adapter.max_buffer_size.saturating_add(4);
    let _buffer = ctx.device.create_buffer(&wgpu::BufferDescriptor {
        label: Some("too big"),
        size: too_big,
        usage: wgpu::BufferUsages::STORAGE,
        mapped_at_creation: false,
    });
    match ctx.check() {
        Err(GpuError::Faulted { adapter, message }) => {
            assert_eq!(adapter, ctx.adapter.name);
            assert!(!message.is_empty());
            eprintln!("reported: {message}");
        }
        other => panic!("expected a fault, got {other:?}"),
    }
}
