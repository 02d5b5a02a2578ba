//! Sweep designs (`taosim_core::sweep`, issue 5 "Must show" 1): sizes, order, bounds, Latin
//! hypercube stratification, the Sobol sequence against its published first points, and the
//! errors (zip lengths, unknown keys).

use taosim_core::config::{RunConfig, dotted_keys, dotted_table, merge_tables};
use taosim_core::sweep::{
    Design, KeyValues, SOBOL_MAX_DIMS, SweepSpec, SweepValue, check_keys, lhs_unit, point_table,
    sobol_point,
};

fn spec(text: &str) -> taosim_core::Result<SweepSpec> {
    let table: toml::Table = text.parse().expect("test TOML parses");
    SweepSpec::from_toml(table["sweep"].as_table().expect("[sweep] table"))
}

fn num(v: &SweepValue) -> f64 {
    match v {
        SweepValue::Float(x) => *x,
        SweepValue::Integer(i) => *i as f64,
        other => panic!("not a number: {other:?}"),
    }
}

#[test]
fn grid_is_the_cartesian_product_in_file_order_last_key_fastest() {
    let s = spec(
        "[sweep]\ndesign = \"grid\"\n[sweep.keys]\n\"zeta.b\" = [1, 2, 3]\n\"alpha.a\" = [\"x\", \"y\"]\n",
    )
    .unwrap();
    // File order, not alphabetical: `zeta.b` is the first (slowest) key.
    assert_eq!(s.keys[0].key, "zeta.b");
    let points = s.points(0).unwrap();
    assert_eq!(points.len(), 6);
    let flat: Vec<(i64, String)> = points
        .iter()
        .map(|p| {
            let SweepValue::Integer(b) = p[0].1 else { panic!("integer") };
            let SweepValue::Text(a) = &p[1].1 else { panic!("text") };
            (b, a.clone())
        })
        .collect();
    let expected: Vec<(i64, String)> = [(1, "x"), (1, "y"), (2, "x"), (2, "y"), (3, "x"), (3, "y")]
        .iter()
        .map(|(b, a)| (*b, a.to_string()))
        .collect();
    assert_eq!(flat, expected);
}

#[test]
fn zip_pairs_lists_and_names_the_keys_when_lengths_differ() {
    let s = spec(
        "[sweep]\ndesign = \"zip\"\n[sweep.keys]\n\"a.x\" = [1.0, 2.0]\n\"a.y\" = [true, false]\n",
    )
    .unwrap();
    let points = s.points(0).unwrap();
    assert_eq!(points.len(), 2);
    assert_eq!(
        points[1],
        vec![("a.x".into(), SweepValue::Float(2.0)), ("a.y".into(), SweepValue::Bool(false))]
    );
    let bad = spec(
        "[sweep]\ndesign = \"zip\"\n[sweep.keys]\n\"a.x\" = [1.0, 2.0]\n\"a.y\" = [1, 2, 3]\n",
    )
    .unwrap();
    let err = bad.points(0).unwrap_err().to_string();
    assert!(err.contains("`a.x` has 2") && err.contains("`a.y` has 3"), "{err}");
}

#[test]
fn nested_key_tables_flatten_and_min_max_tables_are_ranges() {
    let s = spec(
        "[sweep]\ndesign = \"lhs\"\npoints = 4\npaths = 8\n[sweep.keys]\nbehaviour.miner_sell = { min = 0.2, max = 1.0 }\nregistration.subnet_limit = { min = 64, max = 256 }\n",
    )
    .unwrap();
    assert_eq!(s.design, Design::Lhs);
    assert_eq!((s.points, s.paths), (Some(4), Some(8)));
    assert_eq!(s.keys[0].key, "behaviour.miner_sell");
    assert_eq!(s.keys[0].values, KeyValues::Range { min: 0.2, max: 1.0, integer: false });
    assert_eq!(s.keys[1].values, KeyValues::Range { min: 64.0, max: 256.0, integer: true });
}

#[test]
fn design_table_errors_name_the_key() {
    let cases = [
        ("[sweep]\ndesign = \"grid\"\n[sweep.keys]\n\"a.b\" = { min = 0, max = 1 }\n", "a.b"),
        ("[sweep]\ndesign = \"lhs\"\n[sweep.keys]\n\"a.b\" = [1]\n", "sweep.points"),
        ("[sweep]\ndesign = \"halton\"\n[sweep.keys]\n\"a.b\" = [1]\n", "sweep.design"),
        ("[sweep]\ndesign = \"grid\"\npoint = 3\n[sweep.keys]\n\"a.b\" = [1]\n", "sweep.point"),
        ("[sweep]\ndesign = \"grid\"\n[sweep.keys]\n\"a.b\" = []\n", "a.b"),
        (
            "[sweep]\ndesign = \"sobol\"\npoints = 4\n[sweep.keys]\n\"a.b\" = { min = 2, max = 1 }\n",
            "a.b",
        ),
        // A range with a missing or extra end is a range written wrong, not the key `a.b.min`.
        (
            "[sweep]\ndesign = \"lhs\"\npoints = 2\n[sweep.keys]\n\"a.b\" = { min = 2 }\n",
            "`a.b`: a range is a table of exactly `min` and `max`",
        ),
        (
            "[sweep]\ndesign = \"lhs\"\npoints = 2\n[sweep.keys]\n\"a.b\" = { min = 0, max = 1, step = 0.5 }\n",
            "`a.b`: a range is a table of exactly `min` and `max`",
        ),
    ];
    for (text, key) in cases {
        let err = spec(text).unwrap_err().to_string();
        assert!(err.contains(key), "`{key}` not named in: {err}");
    }
}

/// Each key's range cut into n strata holds exactly one point per stratum, every value inside
/// its range; the design depends on the seed and only on it.
#[test]
fn latin_hypercube_hits_each_stratum_exactly_once_per_key() {
    for n in [1_u32, 2, 7, 50] {
        let unit = lhs_unit(n, 5, 42).unwrap();
        assert_eq!(unit.len(), n as usize);
        for j in 0..5 {
            let mut hits = vec![0; n as usize];
            for p in &unit {
                assert!((0.0..1.0).contains(&p[j]), "{} out of [0, 1)", p[j]);
                hits[(p[j] * f64::from(n)).floor() as usize] += 1;
            }
            assert!(hits.iter().all(|&h| h == 1), "n {n}, key {j}: strata hits {hits:?}");
        }
    }
    assert_eq!(lhs_unit(30, 3, 42).unwrap(), lhs_unit(30, 3, 42).unwrap());
    assert_ne!(lhs_unit(30, 3, 42).unwrap(), lhs_unit(30, 3, 43).unwrap());
    // The keys are paired by different permutations (not all on the diagonal).
    let u = lhs_unit(30, 2, 42).unwrap();
    assert!(u.iter().any(|p| (p[0] * 30.0).floor() != (p[1] * 30.0).floor()));
}

#[test]
fn latin_hypercube_maps_ranges_integers_and_lists_within_bounds() {
    let n = 40;
    let s = spec(&format!(
        "[sweep]\ndesign = \"lhs\"\npoints = {n}\n[sweep.keys]\n\"a.f\" = {{ min = 0.2, max = 1.0 }}\n\"a.i\" = {{ min = 3, max = 6 }}\n\"a.w\" = [\"p\", \"q\", \"r\", \"s\"]\n"
    ))
    .unwrap();
    let points = s.points(9).unwrap();
    assert_eq!(points.len(), n);
    let mut float_strata = vec![0; n];
    let mut ints = [0; 4];
    let mut words = std::collections::BTreeMap::new();
    for p in &points {
        let f = num(&p[0].1);
        assert!((0.2..1.0).contains(&f), "{f}");
        float_strata[((f - 0.2) / 0.8 * n as f64).floor() as usize] += 1;
        let SweepValue::Integer(i) = p[1].1 else { panic!("integer range gives integers") };
        assert!((3..=6).contains(&i));
        ints[(i - 3) as usize] += 1;
        let SweepValue::Text(w) = &p[2].1 else { panic!("word") };
        *words.entry(w.clone()).or_insert(0) += 1;
    }
    assert!(float_strata.iter().all(|&h| h == 1));
    // 40 strata over 4 integers / 4 words: 10 strata each, exactly.
    assert_eq!(ints, [10; 4]);
    assert_eq!(words.values().copied().collect::<Vec<_>>(), vec![10; 4]);
}

/// Joe–Kuo Sobol points 1..=7 in Gray-code order, as published (e.g. the unscrambled
/// `scipy.stats.qmc.Sobol` output, which uses new-joe-kuo-6.21201), and hand-checked from the
/// direction numbers: dim 1 v = (1/2, 1/4, 1/8), dim 2 v = (1/2, 3/4, 5/8), dim 3 v = (1/2, 3/4,
/// 3/8).
#[test]
fn sobol_matches_the_published_first_points() {
    let expected = [
        [0.5, 0.5, 0.5],
        [0.75, 0.25, 0.25],
        [0.25, 0.75, 0.75],
        [0.375, 0.375, 0.625],
        [0.875, 0.875, 0.125],
        [0.625, 0.125, 0.875],
        [0.125, 0.625, 0.375],
    ];
    assert_eq!(sobol_point(0, 3).unwrap(), vec![0.0; 3]);
    for (i, e) in expected.iter().enumerate() {
        assert_eq!(sobol_point(i as u32 + 1, 3).unwrap(), e.to_vec(), "point {}", i + 1);
    }
}

/// Every power-of-two prefix of the sequence (point 0 included) puts exactly one point in each
/// interval of width 2^-m, in every one of the 16 dimensions (the (0, m, 1)-net property of each
/// coordinate); this fails for a wrong direction number in any dimension.
#[test]
fn sobol_prefixes_are_balanced_in_every_dimension() {
    for m in 1..=10_u32 {
        let n = 1_u32 << m;
        let points: Vec<Vec<f64>> =
            (0..n).map(|i| sobol_point(i, SOBOL_MAX_DIMS).unwrap()).collect();
        for d in 0..SOBOL_MAX_DIMS {
            let mut hits = vec![0; n as usize];
            for p in &points {
                hits[(p[d] * f64::from(n)) as usize] += 1;
            }
            assert!(hits.iter().all(|&h| h == 1), "m {m}, dim {}: {hits:?}", d + 1);
        }
    }
    // Two-dimensional projections of dims 1 and 2 form (0, m, 2)-nets: every 2^a x 2^(m-a)
    // box of the first 2^m points holds exactly one point.
    let m = 6;
    let pts: Vec<Vec<f64>> = (0..1_u32 << m).map(|i| sobol_point(i, 2).unwrap()).collect();
    for a in 0..=m {
        let mut hits = vec![0; 1 << m];
        for p in &pts {
            let x = (p[0] * f64::from(1 << a)) as usize;
            let y = (p[1] * f64::from(1 << (m - a))) as usize;
            hits[x * (1 << (m - a)) + y] += 1;
        }
        assert!(hits.iter().all(|&h| h == 1), "boxes 2^{a} x 2^{}", m - a);
    }
}

#[test]
fn sobol_designs_grow_by_prefix_and_refuse_too_many_keys() {
    let text = |n: u32| {
        format!(
            "[sweep]\ndesign = \"sobol\"\npoints = {n}\n[sweep.keys]\n\"a.x\" = {{ min = -1.0, max = 3.0 }}\n\"a.w\" = [\"p\", \"q\", \"r\"]\n"
        )
    };
    let short = spec(&text(8)).unwrap().points(1).unwrap();
    let long = spec(&text(20)).unwrap().points(2).unwrap();
    assert_eq!((short.len(), long.len()), (8, 20));
    assert_eq!(short[..], long[..8], "extending a Sobol design keeps its first points");
    assert_eq!(num(&long[1][0].1), 1.0, "point 1 is the middle of [-1, 3)");
    for p in &long {
        assert!((-1.0..3.0).contains(&num(&p[0].1)));
    }
    let keys: String =
        (0..=SOBOL_MAX_DIMS).map(|k| format!("\"a.k{k}\" = {{ min = 0, max = 1 }}\n")).collect();
    let err = spec(&format!("[sweep]\ndesign = \"sobol\"\npoints = 4\n[sweep.keys]\n{keys}"))
        .unwrap()
        .points(0)
        .unwrap_err()
        .to_string();
    assert!(err.contains("at most 16 keys") && err.contains("17"), "{err}");
}

#[test]
fn swept_keys_are_checked_against_the_config_schema() {
    let base: toml::Table = "[run]\npaths = 3\n".parse().unwrap();
    let good = spec(
        "[sweep]\ndesign = \"grid\"\n[sweep.keys]\n\"behaviour.panic_rate_per_day\" = [0.0, 0.05]\n\"chain.regime\" = [\"taoflow\", \"price_ema\"]\n",
    )
    .unwrap();
    check_keys(&base, &good).unwrap();
    let unknown =
        spec("[sweep]\ndesign = \"grid\"\n[sweep.keys]\n\"behaviour.panic_ratez\" = [0.0]\n")
            .unwrap();
    let err = check_keys(&base, &unknown).unwrap_err().to_string();
    assert!(err.contains("behaviour.panic_ratez"), "{err}");
    let wrong_kind =
        spec("[sweep]\ndesign = \"grid\"\n[sweep.keys]\n\"chain.regime\" = [\"flow\"]\n").unwrap();
    let err = check_keys(&base, &wrong_kind).unwrap_err().to_string();
    assert!(err.contains("chain.regime"), "{err}");
    // Every element of a list is parsed, not only the first, and the error has no line or
    // column of the merged text.
    let wrong_later = spec(
        "[sweep]\ndesign = \"grid\"\n[sweep.keys]\n\"chain.regime\" = [\"taoflow\", \"flow\"]\n",
    )
    .unwrap();
    let err = check_keys(&base, &wrong_later).unwrap_err().to_string();
    assert!(err.contains("`sweep.keys.\"chain.regime\"`: key `chain.regime`"), "{err}");
    assert!(err.contains("`flow`") && !err.contains("line "), "{err}");
    // A later value valid only beside another key's value at its point is not refused here
    // (each point is validated whole before anything runs): 240 validators alone over the
    // base's 32 miners exceed 256 uids; beside 16 miners they do not.
    let together = spec(
        "[sweep]\ndesign = \"zip\"\n[sweep.keys]\n\"yuma.validators\" = [8, 240]\n\"yuma.miners\" = [32, 16]\n",
    )
    .unwrap();
    check_keys(&base, &together).unwrap();
    // An integer key's range with a float end says to write both ends as integers.
    let float_end = spec(
        "[sweep]\ndesign = \"lhs\"\npoints = 2\n[sweep.keys]\n\"yuma.validators\" = { min = 1, max = 64.5 }\n",
    )
    .unwrap();
    let err = check_keys(&base, &float_end).unwrap_err().to_string();
    assert!(err.contains("`sweep.keys.\"yuma.validators\"`: the key takes integers"), "{err}");
}

#[test]
fn a_point_merges_over_the_base_config() {
    let mut base: toml::Table =
        "[run]\npaths = 3\n[chain]\nregime = \"taoflow\"\n".parse().unwrap();
    let s = spec(
        "[sweep]\ndesign = \"zip\"\n[sweep.keys]\n\"chain.regime\" = [\"price_ema\"]\n\"behaviour.panic_rate_per_day\" = [0.02]\n",
    )
    .unwrap();
    let point = &s.points(0).unwrap()[0];
    let over = point_table(point);
    assert_eq!(dotted_keys(&over), vec!["chain.regime", "behaviour.panic_rate_per_day"]);
    merge_tables(&mut base, &over);
    let cfg = RunConfig::from_toml(&toml::to_string(&base).unwrap()).unwrap();
    assert_eq!(cfg.run.paths, 3, "keys the point does not set are kept");
    assert_eq!(cfg.chain.regime, taosim_core::params::EmissionRegime::PriceEma);
    assert_eq!(cfg.behaviour.panic_rate_per_day, 0.02);
    assert_eq!(dotted_table("a.b.c", toml::Value::Integer(1)).to_string().trim(), "[a.b]\nc = 1");
}
