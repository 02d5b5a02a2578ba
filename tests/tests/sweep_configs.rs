//! The bundled sweep configs (`configs/sweeps/*.toml`) parse, and their designs expand into
//! points that are valid configs (no run); the saltelli design's A/B/AB_i layout.

use std::path::Path;

use taosim_core::config::{RunConfig, merge_tables};
use taosim_core::sweep::{
    Design, KeyValues, SweepKey, SweepSpec, check_keys, point_table, saltelli_unit, sobol_point,
};

/// Every file under configs/sweeps/: the `[sweep]` table parses, every key is a config key, the
/// design expands to the number of points its header promises, and every point merged over the
/// rest of the file is a valid config.
#[test]
fn every_bundled_sweep_config_expands_into_valid_points() {
    let expected = [
        ("staker-behaviour.toml", 16),
        ("regimes.toml", 8),
        ("halving.toml", 2),
        ("expansion-256.toml", 2),
        ("cartel.toml", 7),
    ];
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../configs/sweeps");
    let mut seen = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.starts_with("# "), "{name}: starts with a header comment (its question)");
        let mut base: toml::Table = text.parse().unwrap_or_else(|e| panic!("{name}: {e}"));
        let sweep = base.remove("sweep").unwrap_or_else(|| panic!("{name}: no [sweep]"));
        let spec = SweepSpec::from_toml(sweep.as_table().unwrap())
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        check_keys(&base, &spec).unwrap_or_else(|e| panic!("{name}: {e}"));
        let points = spec.points(1).unwrap_or_else(|e| panic!("{name}: {e}"));
        if let Some((_, n)) = expected.iter().find(|(file, _)| *file == name) {
            assert_eq!(points.len(), *n, "{name}: points");
            seen += 1;
        }
        for (i, point) in points.iter().enumerate() {
            let mut merged = base.clone();
            merge_tables(&mut merged, &point_table(point));
            RunConfig::from_toml(&toml::to_string(&merged).unwrap())
                .and_then(|c| c.validate())
                .unwrap_or_else(|e| panic!("{name}, point {i}: {e}"));
        }
    }
    assert_eq!(seen, expected.len(), "every expected config is present");
}

/// Saltelli layout: block j holds A_j, B_j, AB_j^1..AB_j^d; A_j and B_j are the two halves of
/// Sobol point j in 2d dimensions (so A_j is also point j of the plain d-dimensional sobol
/// design); AB_j^i is A_j with coordinate i from B_j; more base rows keep the earlier blocks.
#[test]
fn saltelli_blocks_hold_a_b_and_the_mixed_rows() {
    let d = 3;
    let n = 8;
    let unit = saltelli_unit(n, d).unwrap();
    assert_eq!(unit.len(), n as usize * (d + 2));
    for j in 0..n {
        let block = &unit[j as usize * (d + 2)..][..d + 2];
        let full = sobol_point(j, 2 * d).unwrap();
        assert_eq!(block[0], full[..d].to_vec());
        assert_eq!(block[1], full[d..].to_vec());
        assert_eq!(block[0], sobol_point(j, d).unwrap());
        for i in 0..d {
            let mut mixed = block[0].clone();
            mixed[i] = block[1][i];
            assert_eq!(block[2 + i], mixed, "row {j}, key {i}");
        }
    }
    assert_eq!(saltelli_unit(16, d).unwrap()[..unit.len()], unit[..], "prefix-stable");
    // Too many keys names the limit.
    let keys: Vec<SweepKey> = (0..9)
        .map(|i| SweepKey {
            key: format!("k{i}"),
            values: KeyValues::Range { min: 0.0, max: 1.0, integer: false },
        })
        .collect();
    let err = taosim_core::sweep::saltelli(&keys, 4).unwrap_err().to_string();
    assert!(err.contains("at most 8 keys"), "{err}");
    let spec: toml::Table =
        "design = \"saltelli\"\npoints = 4\n[keys]\n\"a.b\" = { min = 0, max = 1 }\n"
            .parse()
            .unwrap();
    assert_eq!(SweepSpec::from_toml(&spec).unwrap().design, Design::Saltelli);
}
