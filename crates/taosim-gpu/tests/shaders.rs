//! GPU-free checks of the WGSL: every stage validates with naga (prelude included), every struct
//! shared with Rust matches its layout, every shared constant its value, and every shader has a
//! CPU twin of the same stem (and every twin a shader, but for the stages still to be ported).

use std::collections::BTreeSet;
use std::path::PathBuf;

use naga::{Module, TypeInner};
use taosim_gpu::params::step_params;
use taosim_gpu::shaders::{
    Dispatch, PRELUDE, Precision, STAGES, StageKind, assemble, assemble_step_as, step_library,
};
use taosim_gpu::types::{
    EPOCH_LANES, LANES, LOOP_BUDGET_EXHAUSTED, RngBlocksParams, SCRATCH_MAILBOX, StepInfo,
    WORKGROUP_SIZE,
};

mod common;

fn parse(source: &str, what: &str) -> Module {
    naga::front::wgsl::parse_str(source)
        .unwrap_or_else(|e| panic!("{what} does not parse:\n{}", e.emit_to_string(source)))
}

/// Every stage's module, in both precisions for the step stages: f64 modules validate without
/// `SHADER_INT64` (not every f64 adapter has it), f32 modules without `FLOAT64` either (so an
/// adapter without `SHADER_F64` can run them).
#[test]
fn every_stage_validates_with_its_prelude() {
    let plan = common::plan("");
    let params = step_params::<f64>(&plan);
    let mut modules = Vec::new();
    for stage in STAGES {
        match stage.kind {
            StageKind::Standalone(_) => modules.push((
                stage,
                Dispatch::PerPath,
                "standalone",
                assemble(stage),
                naga::valid::Capabilities::all(),
            )),
            StageKind::Step(form) => {
                // Every shape the stage runs in: its table's, and per path on CPU adapters.
                for shape in [form, form.on_adapter(true)] {
                    modules.push((
                        stage,
                        shape,
                        "f64",
                        assemble_step_as(stage, shape, Precision::F64, &params),
                        naga::valid::Capabilities::all() - naga::valid::Capabilities::SHADER_INT64,
                    ));
                    modules.push((
                        stage,
                        shape,
                        "f32",
                        assemble_step_as(stage, shape, Precision::F32, &params),
                        naga::valid::Capabilities::all()
                            - naga::valid::Capabilities::FLOAT64
                            - naga::valid::Capabilities::SHADER_INT64,
                    ));
                }
            }
        }
    }
    for (stage, shape, what, source, capabilities) in modules {
        let module = parse(&source, &format!("{} ({what})", stage.name));
        naga::valid::Validator::new(naga::valid::ValidationFlags::all(), capabilities)
            .validate(&module)
            .unwrap_or_else(|e| panic!("{} ({what}) fails validation: {e:?}", stage.name));
        let entry = module.entry_points.iter().find(|e| e.name == "main");
        assert!(entry.is_some(), "{}: entry point `main`", stage.name);
        assert_eq!(
            entry.unwrap().workgroup_size,
            [shape.workgroup_size(), 1, 1],
            "{}: workgroup size of its dispatch shape",
            stage.name
        );
    }
}

/// A stage dispatched with lanes strides its slot loops by the WGSL constant of its lane count
/// (`PATH_LANES`, the module's lanes of a `LANES` stage, or `EPOCH_LANES`); a mismatch would skip
/// or repeat slots.
#[test]
fn lane_stages_stride_by_their_dispatch_constant() {
    for stage in STAGES {
        let Dispatch::Lanes(lanes) = stage.dispatch() else { continue };
        let constant = match lanes {
            LANES => "PATH_LANES",
            EPOCH_LANES => "EPOCH_LANES",
            other => panic!("{}: {other} lanes is neither LANES nor EPOCH_LANES", stage.name),
        };
        let strides: Vec<&str> = stage
            .source
            .match_indices("i = i + ")
            .map(|(k, _)| {
                let rest = &stage.source[k + "i = i + ".len()..];
                &rest[..rest.find(')').unwrap_or(rest.len())]
            })
            .filter(|s| s.ends_with("LANES"))
            .collect();
        assert!(!strides.is_empty(), "{}: no slot loop strided by lanes", stage.name);
        for s in strides {
            assert_eq!(s, constant, "{}: strides by {s}, dispatched with {constant}", stage.name);
        }
    }
}

/// The prelude's types as naga sees them.
fn prelude() -> Module {
    let source: String = PRELUDE.iter().map(|(_, s)| *s).collect::<Vec<_>>().join("\n");
    parse(&source, "the prelude")
}

/// Checks the WGSL struct `name` against (member, offset) pairs and the Rust size.
fn assert_struct(module: &Module, name: &str, members: &[(&str, usize)], size: usize) {
    let ty = module
        .types
        .iter()
        .find(|(_, t)| t.name.as_deref() == Some(name))
        .unwrap_or_else(|| panic!("WGSL struct {name} missing"))
        .1;
    let TypeInner::Struct { members: wgsl, span } = &ty.inner else {
        panic!("{name} is not a struct");
    };
    let got: Vec<(String, usize)> =
        wgsl.iter().map(|m| (m.name.clone().unwrap_or_default(), m.offset as usize)).collect();
    let want: Vec<(String, usize)> = members.iter().map(|(n, o)| (n.to_string(), *o)).collect();
    assert_eq!(got, want, "{name}: member names, order and offsets (WGSL vs Rust)");
    assert_eq!(*span as usize, size, "{name}: size (WGSL vs Rust)");
}

#[test]
fn shared_structs_match_their_rust_layout() {
    let module = prelude();
    use std::mem::{offset_of, size_of};
    assert_struct(
        &module,
        "RngBlocksParams",
        &[
            ("seed_lo", offset_of!(RngBlocksParams, seed_lo)),
            ("seed_hi", offset_of!(RngBlocksParams, seed_hi)),
            ("point", offset_of!(RngBlocksParams, point)),
            ("first_path", offset_of!(RngBlocksParams, first_path)),
            ("paths", offset_of!(RngBlocksParams, paths)),
            ("subnets", offset_of!(RngBlocksParams, subnets)),
            ("step", offset_of!(RngBlocksParams, step)),
            ("stream", offset_of!(RngBlocksParams, stream)),
        ],
        size_of::<RngBlocksParams>(),
    );
    assert_struct(
        &module,
        "StepInfo",
        &[
            ("paths", offset_of!(StepInfo, paths)),
            ("subnets", offset_of!(StepInfo, subnets)),
            ("first_path", offset_of!(StepInfo, first_path)),
            ("point", offset_of!(StepInfo, point)),
            ("seed_lo", offset_of!(StepInfo, seed_lo)),
            ("seed_hi", offset_of!(StepInfo, seed_hi)),
            ("yuma_validators", offset_of!(StepInfo, yuma_validators)),
            ("yuma_miners", offset_of!(StepInfo, yuma_miners)),
            ("yuma_reveal", offset_of!(StepInfo, yuma_reveal)),
            ("yuma_reals", offset_of!(StepInfo, yuma_reals)),
            ("yuma_ints", offset_of!(StepInfo, yuma_ints)),
            ("scratch_reals", offset_of!(StepInfo, scratch_reals)),
            ("scratch_ints", offset_of!(StepInfo, scratch_ints)),
            ("event_capacity", offset_of!(StepInfo, event_capacity)),
            ("loop_probe", offset_of!(StepInfo, loop_probe)),
            ("_pad1", offset_of!(StepInfo, _pad1)),
        ],
        size_of::<StepInfo>(),
    );
}

/// The value of the WGSL `const` `name` of type u32.
fn wgsl_u32(module: &Module, name: &str) -> u32 {
    let (_, constant) = module
        .constants
        .iter()
        .find(|(_, c)| c.name.as_deref() == Some(name))
        .unwrap_or_else(|| panic!("WGSL const {name} missing"));
    match module.global_expressions[constant.init] {
        naga::Expression::Literal(naga::Literal::U32(v)) => v,
        ref other => panic!("{name} is not a u32 literal: {other:?}"),
    }
}

#[test]
fn shared_constants_match_rust() {
    let module = prelude();
    assert_eq!(wgsl_u32(&module, "WORKGROUP_SIZE"), WORKGROUP_SIZE);
    assert_eq!(wgsl_u32(&module, "LANES"), LANES);
    assert_eq!(wgsl_u32(&module, "EPOCH_LANES"), EPOCH_LANES);
    assert_eq!(wgsl_u32(&module, "PHILOX_M0"), taosim_core::rng::PHILOX_M0);
    assert_eq!(wgsl_u32(&module, "PHILOX_M1"), taosim_core::rng::PHILOX_M1);
    assert_eq!(wgsl_u32(&module, "PHILOX_W0"), taosim_core::rng::PHILOX_W0);
    assert_eq!(wgsl_u32(&module, "PHILOX_W1"), taosim_core::rng::PHILOX_W1);
    assert_eq!(wgsl_u32(&module, "PHILOX_ROUNDS"), taosim_core::rng::PHILOX_ROUNDS);
    assert_eq!(wgsl_u32(&module, "SCRATCH_MAILBOX"), SCRATCH_MAILBOX);
    assert_eq!(wgsl_u32(&module, "LOOP_BUDGET_EXHAUSTED"), LOOP_BUDGET_EXHAUSTED);
}

/// The generated constants of a step module (state field indices, event kinds and sizes,
/// parameter indices) equal the Rust lists they are generated from, as naga reads them.
#[test]
fn generated_constants_match_rust() {
    use taosim_core::records::EventKind;
    use taosim_core::state::{GlobalInt, GlobalReal, SubnetInt, SubnetReal};
    let plan = common::plan("");
    let params = step_params::<f64>(&plan);
    let module = parse(&step_library(Precision::F64, &params), "the step library");
    let lists: [(&str, &[&str]); 4] = [
        ("SR_", SubnetReal::<f64>::NAMES),
        ("SI_", SubnetInt::<u32>::NAMES),
        ("GR_", GlobalReal::<f64>::NAMES),
        ("GI_", GlobalInt::<u32>::NAMES),
    ];
    for (prefix, names) in lists {
        for (k, name) in names.iter().enumerate() {
            assert_eq!(wgsl_u32(&module, &format!("{prefix}{}", name.to_uppercase())), k as u32);
        }
        assert_eq!(wgsl_u32(&module, &format!("{prefix}FIELDS")), names.len() as u32);
    }
    for kind in [EventKind::Registered, EventKind::Pruned, EventKind::Spiral] {
        let name = format!("EVENT_{}", kind.name().to_uppercase());
        assert_eq!(wgsl_u32(&module, &name), kind as u32, "{name}");
    }
    for (k, (name, _)) in params.reals.iter().enumerate() {
        assert_eq!(wgsl_u32(&module, &format!("P_{}", name.to_uppercase())), k as u32);
    }
    for (k, (name, _)) in params.ints.iter().enumerate() {
        assert_eq!(wgsl_u32(&module, &format!("PI_{}", name.to_uppercase())), k as u32);
    }
}

/// CPU twins whose shader is not written yet (the GPU issue's remaining work). A stage leaves
/// this list when its shader lands; the test fails if a listed stage has a shader.
const CPU_STAGES_WITHOUT_SHADER: &[&str] = &[];

fn stems(dir: &str, ext: &str) -> BTreeSet<String> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..").join(dir);
    std::fs::read_dir(&root)
        .unwrap_or_else(|e| panic!("{}: {e}", root.display()))
        .filter_map(|e| {
            let path = e.ok()?.path();
            if path.extension()? != ext {
                return None;
            }
            Some(path.file_stem()?.to_string_lossy().into_owned())
        })
        .collect()
}

#[test]
fn every_shader_has_a_cpu_twin_and_every_twin_a_shader() {
    let shaders = stems("shaders", "wgsl");
    let mut twins = stems("crates/taosim-core/src/cpu", "rs");
    twins.remove("mod");
    let table: BTreeSet<String> = STAGES.iter().map(|s| s.name.to_string()).collect();
    assert_eq!(shaders, table, "shaders/*.wgsl and the stage table differ");
    for shader in &shaders {
        assert!(twins.contains(shader), "shaders/{shader}.wgsl has no CPU twin cpu/{shader}.rs");
    }
    for twin in &twins {
        let pending = CPU_STAGES_WITHOUT_SHADER.contains(&twin.as_str());
        assert!(
            shaders.contains(twin) != pending,
            "cpu/{twin}.rs: {}",
            if pending {
                "has a shader now: remove it from the pending list"
            } else {
                "has no shader"
            }
        );
    }
}
