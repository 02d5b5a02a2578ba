//! The WGSL sources, the stage table and module assembly.
//!
//! Two kinds of modules are assembled from `shaders/`:
//!
//! - a **standalone** stage (`rng_blocks`): the base prelude (`shared/types.wgsl`,
//!   `shared/philox.wgsl`) then the stage file, with its own bindings and entry point `main`;
//! - a **step** stage (every stage of model.md §3): the base prelude, the precision's real prelude
//!   (`shared/real_f64.wgsl` or `shared/real_f32.wgsl`, which define `Real` and the transcendental
//!   functions), the generated index constants ([`generated_constants`]), `shared/state.wgsl` (the
//!   batch's buffers at the fixed bindings 0-12), the model libraries (`shaders/model/*.wgsl`,
//!   twins of `taosim_core::model`), every step stage's file, and an entry point `main` that runs
//!   the wanted stage in the stage's [`Dispatch`] shape: one invocation per path (the stage
//!   defines `fn <stage>(p: u32)`), or one workgroup of lanes per path (`fn <stage>(p: u32, lane:
//!   u32)`; lane `l` handles slots `l, l + lanes, ...`, path-wide parts run on lane 0 between
//!   `workgroupBarrier()`s).
//!
//! The sources are compiled into the binary (`include_str!`), so a run needs no shader files on
//! disk. Pipelines build their layouts from this table, not from reflection.

use taosim_core::records::EventKind;
use taosim_core::state::{GlobalInt, GlobalReal, SubnetInt, SubnetReal};

use crate::params::Params;
use crate::types::{EPOCH_LANES, LANES, WORKGROUP_SIZE};

/// The base prelude: name and source, ahead of every module.
pub const PRELUDE: &[(&str, &str)] = &[
    ("shared/types.wgsl", include_str!("../../../shaders/shared/types.wgsl")),
    ("shared/philox.wgsl", include_str!("../../../shaders/shared/philox.wgsl")),
];

/// Arithmetic precision of the step stages.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Precision {
    /// `Real = f64` (needs `SHADER_F64`); transcendental functions in software f64.
    F64,
    /// `Real = f32`; transcendental functions are the native f32 built-ins.
    F32,
}

impl Precision {
    /// The real prelude file of this precision.
    pub fn prelude(self) -> (&'static str, &'static str) {
        match self {
            Precision::F64 => {
                ("shared/real_f64.wgsl", include_str!("../../../shaders/shared/real_f64.wgsl"))
            }
            Precision::F32 => {
                ("shared/real_f32.wgsl", include_str!("../../../shaders/shared/real_f32.wgsl"))
            }
        }
    }

    /// Bytes per real.
    pub fn bytes(self) -> u64 {
        match self {
            Precision::F64 => 8,
            Precision::F32 => 4,
        }
    }

    /// `f64` or `f32`.
    pub fn name(self) -> &'static str {
        match self {
            Precision::F64 => "f64",
            Precision::F32 => "f32",
        }
    }
}

/// The state buffers and step helpers every step stage sees.
pub const STATE: (&str, &str) =
    ("shared/state.wgsl", include_str!("../../../shaders/shared/state.wgsl"));

/// Twins of `taosim_core::model` used by the step stages, in dependency order.
pub const MODEL: &[(&str, &str)] = &[
    ("model/rng.wgsl", include_str!("../../../shaders/model/rng.wgsl")),
    ("model/amm.wgsl", include_str!("../../../shaders/model/amm.wgsl")),
    ("model/emission.wgsl", include_str!("../../../shaders/model/emission.wgsl")),
    ("model/moving_price.wgsl", include_str!("../../../shaders/model/moving_price.wgsl")),
    ("model/shares.wgsl", include_str!("../../../shaders/model/shares.wgsl")),
    ("model/injection.wgsl", include_str!("../../../shaders/model/injection.wgsl")),
    ("model/registration.wgsl", include_str!("../../../shaders/model/registration.wgsl")),
    ("model/yuma.wgsl", include_str!("../../../shaders/model/yuma.wgsl")),
];

/// What a binding of a standalone stage is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BindType {
    /// A uniform buffer.
    Uniform,
    /// A read-only storage buffer.
    StorageRead,
    /// A read-write storage buffer.
    Storage,
}

/// The bindings of every step stage (shared/state.wgsl), in `@binding` order.
pub const STEP_BINDINGS: &[BindType] = &[
    BindType::StorageRead, // 0 info
    BindType::Storage,     // 1 subnet_real
    BindType::Storage,     // 2 subnet_int
    BindType::Storage,     // 3 global_real
    BindType::Storage,     // 4 global_int
    BindType::Storage,     // 5 yuma_real
    BindType::Storage,     // 6 yuma_int
    BindType::Storage,     // 7 scratch_real
    BindType::Storage,     // 8 scratch_int
    BindType::StorageRead, // 9 params_real
    BindType::StorageRead, // 10 params_int
    BindType::Storage,     // 11 events_real
    BindType::Storage,     // 12 events_int
];

/// How a step stage's invocations map onto paths.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dispatch {
    /// One invocation per path, [`WORKGROUP_SIZE`] paths per workgroup; `fn <stage>(p: u32)`.
    PerPath,
    /// One workgroup of this many invocations (lanes) per path; `fn <stage>(p: u32, lane: u32)`.
    Lanes(u32),
}

impl Dispatch {
    /// Invocations per workgroup (`@workgroup_size`).
    pub fn workgroup_size(self) -> u32 {
        match self {
            Dispatch::PerPath => WORKGROUP_SIZE,
            Dispatch::Lanes(lanes) => lanes,
        }
    }

    /// The shape a stage of table shape `self` runs in on an adapter: on a CPU adapter (lavapipe)
    /// the [`LANES`]-lane stages run one invocation per path, because there one path per SIMD lane
    /// already fills the vector units and the lanes' barriers and lane-0 serial parts only cost
    /// (docs/gpu.md, measured); the epoch's [`EPOCH_LANES`] stay, its loop budget needs them.
    pub fn on_adapter(self, cpu_adapter: bool) -> Dispatch {
        match self {
            Dispatch::Lanes(LANES) if cpu_adapter => Dispatch::PerPath,
            other => other,
        }
    }

    /// `PATH_LANES` of a module in this shape: the lanes, or 1 per path.
    pub fn path_lanes(self) -> u32 {
        match self {
            Dispatch::PerPath => 1,
            Dispatch::Lanes(lanes) => lanes,
        }
    }

    /// Workgroups that cover `paths` paths.
    pub fn workgroups(self, paths: u32) -> u32 {
        match self {
            Dispatch::PerPath => paths.div_ceil(WORKGROUP_SIZE),
            Dispatch::Lanes(_) => paths,
        }
    }
}

/// How a stage is assembled and bound.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StageKind {
    /// Its own bindings, in `@binding` order, and its own `main`.
    Standalone(&'static [BindType]),
    /// A step stage: [`STEP_BINDINGS`], entry generated for its dispatch shape.
    Step(Dispatch),
}

/// One compute stage: its name (the file stem, and the CPU twin's module name), source and kind.
#[derive(Clone, Copy, Debug)]
pub struct Stage {
    /// Stage name, e.g. `rng_blocks`.
    pub name: &'static str,
    /// The stage's own WGSL (without preludes).
    pub source: &'static str,
    /// Standalone or step.
    pub kind: StageKind,
}

impl Stage {
    /// The bindings of the stage's module.
    pub fn bindings(&self) -> &'static [BindType] {
        match self.kind {
            StageKind::Standalone(b) => b,
            StageKind::Step(_) => STEP_BINDINGS,
        }
    }

    /// Whether this is a step stage.
    pub fn is_step(&self) -> bool {
        matches!(self.kind, StageKind::Step(_))
    }

    /// The dispatch shape (standalone stages: [`Dispatch::PerPath`]).
    pub fn dispatch(&self) -> Dispatch {
        match self.kind {
            StageKind::Step(d) => d,
            StageKind::Standalone(_) => Dispatch::PerPath,
        }
    }
}

macro_rules! step_stage {
    ($name:literal) => {
        step_stage!($name, Dispatch::PerPath)
    };
    ($name:literal, $dispatch:expr) => {
        Stage {
            name: $name,
            source: include_str!(concat!("../../../shaders/", $name, ".wgsl")),
            kind: StageKind::Step($dispatch),
        }
    };
}

/// Every stage with a shader. Step stages are listed in the order a step runs them.
pub const STAGES: &[Stage] = &[
    Stage {
        name: "rng_blocks",
        source: include_str!("../../../shaders/rng_blocks.wgsl"),
        kind: StageKind::Standalone(&[BindType::Uniform, BindType::Storage]),
    },
    step_stage!("behaviour", Dispatch::Lanes(LANES)),
    step_stage!("swaps", Dispatch::Lanes(LANES)),
    step_stage!("emission_shares", Dispatch::Lanes(LANES)),
    step_stage!("injection", Dispatch::Lanes(LANES)),
    step_stage!("moving_price", Dispatch::Lanes(LANES)),
    step_stage!("payouts", Dispatch::Lanes(EPOCH_LANES)),
    step_stage!("epoch", Dispatch::Lanes(EPOCH_LANES)),
    step_stage!("registration"),
    step_stage!("metrics", Dispatch::Lanes(LANES)),
    step_stage!("guards", Dispatch::Lanes(LANES)),
];

/// The step stages a step dispatches, in order (model.md §3): the CPU engine's
/// ([`taosim_core::stage_clock::STEP_STAGES`]), so both backends' stage times name the same
/// stages. `payouts` is not dispatched on its own: the `epoch` stage runs it (Yuma off) or its
/// own payout (Yuma on), as its CPU twin does.
pub const STEP_SEQUENCE: &[&str] = taosim_core::stage_clock::STEP_STAGES;

/// The stage named `name`.
pub fn stage(name: &str) -> Option<&'static Stage> {
    STAGES.iter().find(|s| s.name == name)
}

fn push(out: &mut String, name: &str, source: &str) {
    out.push_str(&format!("// ---- {name}\n{source}\n"));
}

/// `const <PREFIX><NAME>: u32 = <index>u;` for each name, and `<PREFIX>FIELDS` (or `count_name`).
fn index_constants(out: &mut String, prefix: &str, names: &[&str], count_name: &str) {
    for (k, name) in names.iter().enumerate() {
        out.push_str(&format!("const {prefix}{}: u32 = {k}u;\n", name.to_uppercase()));
    }
    out.push_str(&format!("const {count_name}: u32 = {}u;\n", names.len()));
}

/// The generated WGSL constants of a step module: the state field indices (`SR_`, `SI_`, `GR_`,
/// `GI_` + field name, and `*_FIELDS`), the event kinds and record sizes, and the parameter
/// indices of `params` (`P_` + name for reals, `PI_` + name for integers).
pub fn generated_constants<R>(params: &Params<R>) -> String {
    let mut out = String::new();
    index_constants(&mut out, "SR_", SubnetReal::<f64>::NAMES, "SR_FIELDS");
    index_constants(&mut out, "SI_", SubnetInt::<u32>::NAMES, "SI_FIELDS");
    index_constants(&mut out, "GR_", GlobalReal::<f64>::NAMES, "GR_FIELDS");
    index_constants(&mut out, "GI_", GlobalInt::<u32>::NAMES, "GI_FIELDS");
    for kind in [EventKind::Registered, EventKind::Pruned, EventKind::Spiral] {
        out.push_str(&format!(
            "const EVENT_{}: u32 = {}u;\n",
            kind.name().to_uppercase(),
            kind as u32
        ));
    }
    out.push_str(&format!("const EVENT_INTS: u32 = {}u;\n", EVENT_INTS));
    out.push_str(&format!("const EVENT_REALS: u32 = {}u;\n", EVENT_REALS));
    // Abstract floats: each takes the shader's `Real` where it is used.
    for (name, value) in [
        ("MAX_STEP_INFLOW", taosim_core::cpu::behaviour::MAX_STEP_INFLOW),
        ("MAX_WHALE_ORDER", taosim_core::cpu::behaviour::MAX_WHALE_ORDER),
    ] {
        out.push_str(&format!("const {name} = {value:?};\n"));
    }
    let (reals, ints) = params_names(params);
    index_constants(&mut out, "P_", &reals, "P_COUNT");
    index_constants(&mut out, "PI_", &ints, "PI_COUNT");
    out
}

fn params_names<R>(params: &Params<R>) -> (Vec<&'static str>, Vec<&'static str>) {
    (params.reals.iter().map(|p| p.0).collect(), params.ints.iter().map(|p| p.0).collect())
}

/// Integers per event record: kind, step, block, slot, then the slot's [`SubnetInt`] fields.
pub const EVENT_INTS: usize = 4 + SubnetInt::<u32>::FIELDS;
/// Reals per event record: value, value2, the slot's [`SubnetReal`] fields, then the path's
/// [`GlobalReal`] fields.
pub const EVENT_REALS: usize = 2 + SubnetReal::<f64>::FIELDS + GlobalReal::<f64>::FIELDS;

/// The module source of a standalone `stage`: the base prelude, then the stage.
///
/// # Panics
/// If `stage` is a step stage (use [`assemble_step`]).
pub fn assemble(stage: &Stage) -> String {
    assert!(!stage.is_step(), "{} is a step stage", stage.name);
    let mut out = String::new();
    for (name, source) in PRELUDE {
        push(&mut out, name, source);
    }
    push(&mut out, &format!("{}.wgsl", stage.name), stage.source);
    out
}

/// The library every step module shares: preludes, generated constants, state, model twins and
/// every step stage's functions (no entry point).
pub fn step_library<R>(precision: Precision, params: &Params<R>) -> String {
    step_library_with(precision, params, LANES)
}

/// [`step_library`] with `PATH_LANES = path_lanes` (the lanes per path of the module's stage).
fn step_library_with<R>(precision: Precision, params: &Params<R>, path_lanes: u32) -> String {
    let mut out = String::new();
    for (name, source) in PRELUDE {
        push(&mut out, name, source);
    }
    let (name, source) = precision.prelude();
    push(&mut out, name, source);
    push(&mut out, "generated constants", &generated_constants(params));
    out.push_str(&format!("const PATH_LANES: u32 = {path_lanes}u;\n"));
    push(&mut out, STATE.0, STATE.1);
    for (name, source) in MODEL {
        push(&mut out, name, source);
    }
    for stage in STAGES.iter().filter(|s| s.is_step()) {
        push(&mut out, &format!("{}.wgsl", stage.name), stage.source);
    }
    out
}

/// The module of step stage `stage`: [`step_library`] and an entry point `main` running
/// `stage` in its table's [`Dispatch`] shape.
///
/// # Panics
/// If `stage` is standalone (use [`assemble`]).
pub fn assemble_step<R>(stage: &Stage, precision: Precision, params: &Params<R>) -> String {
    assemble_step_as(stage, stage.dispatch(), precision, params)
}

/// The module of step stage `stage` run in shape `shape`: its table shape, or one invocation per
/// path for a lanes stage (which then calls `fn <stage>(p, 0u)` with `PATH_LANES = 1`).
///
/// # Panics
/// If `stage` is standalone, or `shape` has lanes the stage is not written for.
pub fn assemble_step_as<R>(
    stage: &Stage,
    shape: Dispatch,
    precision: Precision,
    params: &Params<R>,
) -> String {
    let StageKind::Step(form) = stage.kind else {
        panic!("{} is a standalone stage", stage.name);
    };
    assert!(shape == form || shape == Dispatch::PerPath, "{}: no {shape:?} form", stage.name);
    let mut out = step_library_with(precision, params, shape.path_lanes());
    // A lanes-form stage run per path is its lane 0 of 1.
    let call = if form == Dispatch::PerPath { "(p)" } else { "(p, 0u)" };
    // After the stage, every invocation runs a loop of `info.loop_probe` passes (a count the
    // compiler cannot see): lavapipe silently stops every loop of an invocation after 65,535
    // passes in all, and a probe that makes fewer passes than asked shows the stage's loops were
    // cut short too.
    let probe = "    var passes = 0u;\n    \
         for (var k = 0u; k < info.loop_probe; k = k + 1u) {\n        passes = passes + 1u;\n    }\n    \
         if (passes != info.loop_probe) {\n        \
         global_int[gi_at(p, GI_GUARD_STEP)] = LOOP_BUDGET_EXHAUSTED;\n    }\n";
    let name = stage.name;
    match shape {
        Dispatch::PerPath => out.push_str(&format!(
            "// ---- entry point: one invocation per path\n\
             @compute @workgroup_size(WORKGROUP_SIZE)\n\
             fn main(@builtin(global_invocation_id) gid: vec3<u32>) {{\n    \
             let p = gid.x;\n    if (p >= info.paths) {{\n        return;\n    }}\n    \
             {name}{call};\n{probe}}}\n"
        )),
        // The workgroup id is uniform, so the stage's barriers stay in uniform control flow.
        Dispatch::Lanes(lanes) => out.push_str(&format!(
            "// ---- entry point: one workgroup of {lanes} lanes per path\n\
             @compute @workgroup_size({lanes})\n\
             fn main(@builtin(workgroup_id) group: vec3<u32>, \
             @builtin(local_invocation_index) lane: u32) {{\n    \
             let p = group.x;\n    if (p < info.paths) {{\n    \
             {name}(p, lane);\n{probe}    }}\n}}\n"
        )),
    }
    out
}
