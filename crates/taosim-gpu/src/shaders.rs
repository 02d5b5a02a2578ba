//! The WGSL sources and the stage table.
//!
//! A stage's module is the shared prelude (`shaders/shared/*.wgsl`, in [`PRELUDE`] order) followed
//! by the stage's own file; every stage's entry point is `main`. The sources are compiled into the
//! binary (`include_str!`), so a run needs no shader files on disk. Each stage lists its bindings
//! in `@binding` order; pipelines build their layouts from this table, not from reflection.

/// The shared prelude: name and source, concatenated in this order ahead of every stage.
pub const PRELUDE: &[(&str, &str)] = &[
    ("shared/types.wgsl", include_str!("../../../shaders/shared/types.wgsl")),
    ("shared/philox.wgsl", include_str!("../../../shaders/shared/philox.wgsl")),
];

/// What a binding is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BindType {
    /// A uniform buffer.
    Uniform,
    /// A read-only storage buffer.
    StorageRead,
    /// A read-write storage buffer.
    Storage,
}

/// One compute stage: its name (the file stem, and the CPU twin's module name), source and
/// bindings in `@binding` order (all in group 0).
#[derive(Clone, Copy, Debug)]
pub struct Stage {
    /// Stage name, e.g. `rng_blocks`.
    pub name: &'static str,
    /// The stage's own WGSL (without the prelude).
    pub source: &'static str,
    /// Bindings, in `@binding` order.
    pub bindings: &'static [BindType],
}

/// Every stage with a shader.
pub const STAGES: &[Stage] = &[Stage {
    name: "rng_blocks",
    source: include_str!("../../../shaders/rng_blocks.wgsl"),
    bindings: &[BindType::Uniform, BindType::Storage],
}];

/// The full module source of `stage`: the prelude, then the stage.
pub fn assemble(stage: &Stage) -> String {
    let mut out = String::new();
    for (name, source) in PRELUDE {
        out.push_str(&format!("// ---- {name}\n{source}\n"));
    }
    out.push_str(&format!("// ---- {}.wgsl\n{}", stage.name, stage.source));
    out
}

/// The stage named `name`.
pub fn stage(name: &str) -> Option<&'static Stage> {
    STAGES.iter().find(|s| s.name == name)
}
