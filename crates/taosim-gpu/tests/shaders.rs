//! GPU-free checks of the WGSL: every stage validates with naga (prelude included), every struct
//! shared with Rust matches its layout, every shared constant its value, and every shader has a
//! CPU twin of the same stem (and every twin a shader, but for the stages still to be ported).

use std::collections::BTreeSet;
use std::path::PathBuf;

use naga::{Module, TypeInner};
use taosim_gpu::shaders::{PRELUDE, STAGES, assemble};
use taosim_gpu::types::{RngBlocksParams, WORKGROUP_SIZE};

fn parse(source: &str, what: &str) -> Module {
    naga::front::wgsl::parse_str(source)
        .unwrap_or_else(|e| panic!("{what} does not parse:\n{}", e.emit_to_string(source)))
}

#[test]
fn every_stage_validates_with_its_prelude() {
    for stage in STAGES {
        let source = assemble(stage);
        let module = parse(&source, stage.name);
        naga::valid::Validator::new(
            naga::valid::ValidationFlags::all(),
            naga::valid::Capabilities::all(),
        )
        .validate(&module)
        .unwrap_or_else(|e| panic!("{} fails validation: {e:?}", stage.name));
        let entry = module.entry_points.iter().find(|e| e.name == "main");
        assert!(entry.is_some(), "{}: entry point `main`", stage.name);
        assert_eq!(
            entry.unwrap().workgroup_size,
            [WORKGROUP_SIZE, 1, 1],
            "{}: workgroup size",
            stage.name
        );
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
    assert_eq!(wgsl_u32(&module, "PHILOX_M0"), taosim_core::rng::PHILOX_M0);
    assert_eq!(wgsl_u32(&module, "PHILOX_M1"), taosim_core::rng::PHILOX_M1);
    assert_eq!(wgsl_u32(&module, "PHILOX_W0"), taosim_core::rng::PHILOX_W0);
    assert_eq!(wgsl_u32(&module, "PHILOX_W1"), taosim_core::rng::PHILOX_W1);
    assert_eq!(wgsl_u32(&module, "PHILOX_ROUNDS"), taosim_core::rng::PHILOX_ROUNDS);
}

/// CPU twins whose shader is not written yet (the GPU issue's remaining work). A stage leaves
/// this list when its shader lands; the test fails if a listed stage has a shader.
const CPU_STAGES_WITHOUT_SHADER: &[&str] = &[
    "behaviour",
    "emission_shares",
    "epoch",
    "injection",
    "metrics",
    "moving_price",
    "payouts",
    "registration",
    "swaps",
];

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
