//! Yuma consensus vectors (chain-vectors.md V1–V5, V7, V8, V17; chain.md §3.5, §5).

use taosim_core::model::yuma::{
    BondStorage, LiquidAlpha, YumaParams, YumaSubnet, YumaVersion, col_clip,
    distribute_epoch_alpha, mat_ema_alpha, weighted_median, weighted_median_col,
};
use taosim_core::yuma_scenario::{EpochReport, parse_scenario};

fn assert_close(actual: &[f64], expected: &[f64], tol: f64, what: &str) {
    assert_eq!(actual.len(), expected.len(), "{what}: length");
    for (k, (a, e)) in actual.iter().zip(expected).enumerate() {
        assert!((a - e).abs() <= tol, "{what}[{k}]: {a} vs {e} (tol {tol}); all: {actual:?}");
    }
}

/// subtensor pallets/subtensor/src/tests/math.rs::test_math_weighted_median (HEAD 14bc6f9f9)
#[test]
fn v1_weighted_median() {
    let table: [(&[f64], &[f64], f64); 11] = [
        (&[], &[], 0.0),
        (&[1.0], &[1.0], 1.0), // [0.51] normalised
        (&[0.49, 0.51], &[0.5, 1.0], 1.0),
        (&[0.51, 0.49], &[0.5, 1.0], 0.5),
        (&[0.49, 0.0, 0.51], &[0.5, 0.7, 1.0], 1.0),
        (&[0.49, 0.01, 0.5], &[0.5, 0.7, 1.0], 0.7),
        (&[0.49, 0.51, 0.0], &[0.5, 0.7, 1.0], 0.7),
        (&[0.0, 0.49, 0.51], &[0.5, 0.7, 1.0], 1.0),
        (&[0.0, 0.49, 0.0, 0.51], &[0.5, 0.5, 1.0, 1.0], 1.0),
        (&[0.2; 5], &[0.8, 0.2, 1.0, 0.6, 0.4], 0.6),
        (&[0.1; 10], &[0.8, 0.8, 0.2, 0.2, 1.0, 1.0, 0.6, 0.6, 0.4, 0.4], 0.6),
    ];
    let minority = 1.0 - 0.51;
    for (stake, score, expected) in table {
        let mut partition: Vec<u32> = (0..stake.len() as u32).collect();
        let hi: f64 = stake.iter().sum();
        let median = weighted_median(stake, score, &mut partition, minority, 0.0, hi);
        assert_eq!(median, expected, "stake {stake:?} score {score:?}");
    }
}

/// subtensor pallets/subtensor/src/tests/math.rs::test_math_weighted_median_col and
/// ::test_math_weighted_median_col_sparse (HEAD 14bc6f9f9)
#[test]
fn v2_weighted_median_col() {
    let w1 = [0.0, 0.1, 0.0, 0.0, 0.2, 0.4, 0.0, 0.3, 0.1, 0.0, 0.4, 0.5];
    let s1 = [0.0, 0.75, 0.25, 0.0];
    let w2 = [0.0, 0.1, 0.0, 0.0, 0.2, 0.4, 0.0, 0.3, 0.1, 0.0, 0.0, 0.5];
    let s2 = [0.0, 0.3, 0.2, 0.5];
    // (weights 4×3, stake, majority κ, expected consensus)
    type Case<'a> = (&'a [f64], &'a [f64], f64, [f64; 3]);
    let cases: [Case; 4] = [
        (&w1, &s1, 0.24, [0.0, 0.3, 0.4]),
        (&w1, &s1, 0.26, [0.0, 0.2, 0.4]),
        (&w1, &s1, 0.76, [0.0, 0.2, 0.1]),
        (&w2, &s2, 0.51, [0.0, 0.0, 0.4]),
    ];
    for (weights, stake, majority, expected) in cases {
        let mut use_stake = [0.0; 4];
        let mut partition = [0_u32; 4];
        let mut median = [0.0; 3];
        weighted_median_col(
            stake,
            weights,
            3,
            majority,
            &mut use_stake,
            &mut partition,
            &mut median,
        );
        assert_eq!(median, expected, "majority {majority}");
    }
}

/// subtensor pallets/subtensor/src/tests/math.rs::test_math_col_clip_sparse (HEAD 14bc6f9f9)
#[test]
fn v3_col_clip() {
    let mut m = [0., 2., 3., 4., 5., 6., 7., 8., 9., 10., 11., 12.];
    col_clip(&mut m, 3, &[0.0, 5.0, 12.0]);
    assert_eq!(m, [0., 2., 3., 0., 5., 6., 0., 5., 9., 0., 5., 12.]);
}

/// subtensor pallets/subtensor/src/tests/math.rs::test_math_sparse_mat_ema_alpha and
/// ::test_mat_ema_alpha_sparse_varying_alpha (HEAD 14bc6f9f9)
#[test]
fn v4_mat_ema_alpha() {
    let old = [0.001, 0.002, 0.003, 0.004, 0.05, 0.006, 0.007, 0.008, 0.009, 0.010, 0.011, 0.012];
    let new = [0.1, 0.2, 3., 0.04, 0.05, 0.06, 0.07, 0.08, 0.09, 0.10, 0.11, 0.12];
    let expected = [
        0.0109, 0.0218, 0.30270, 0.007599, 0.05, 0.01139, 0.0133, 0.01519, 0.017, 0.01899, 0.02089,
        0.0227,
    ];
    let mut out = [0.0; 12];
    mat_ema_alpha(&new, &old, &[0.1; 12], &mut out);
    assert_close(&out, &expected, 1e-4, "mat_ema_alpha");

    let mut out = [0.0; 4];
    mat_ema_alpha(&[0.1, 0.2, 0.3, 0.4], &[0.5, 0.6, 0.7, 0.8], &[0.9, 0.8, 0.5, 0.7], &mut out);
    assert_close(&out, &[0.14, 0.28, 0.5, 0.52], 1e-6, "varying alpha");
}

/// subtensor pallets/subtensor/src/tests/epoch.rs::test_bonds (HEAD 14bc6f9f9): original Yuma,
/// stored u16 bonds asserted exactly.
#[test]
fn v5_test_bonds_u16() {
    let n = 8;
    let params = YumaParams {
        max_validators: 8,
        bond_storage: BondStorage::ChainU16,
        ..YumaParams::default()
    };
    let mut subnet = YumaSubnet::<f64>::new(params, n, n);
    let stake = [1.0, 2.0, 3.0, 4.0, 0.0, 0.0, 0.0, 0.0];
    // As stored by `set_weights`: [u16::MAX/4, u16::MAX/2, (u16::MAX/4)*3, u16::MAX].
    let to_servers = [0.0, 0.0, 0.0, 0.0, 16383.0, 32767.0, 49149.0, 65535.0];
    let mut weights = vec![0.0; n * n];
    let set_row = |weights: &mut Vec<f64>, i: usize, row: &[f64]| {
        weights[i * n..(i + 1) * n].copy_from_slice(row);
    };
    let self_weight = |i: usize| {
        let mut row = [0.0; 8];
        row[i] = 65535.0;
        row
    };
    let column =
        |s: &YumaSubnet<f64>, j: usize| -> [u16; 4] { [0, 1, 2, 3].map(|i| s.bond_u16(i, j)) };

    // The setup epoch issues the permits.
    subnet.epoch(&stake, &weights);
    for i in 0..4 {
        set_row(&mut weights, i, &to_servers);
    }
    subnet.epoch(&stake, &weights);
    assert_eq!(column(&subnet, 4), [16383, 32767, 49151, 65535]);

    set_row(&mut weights, 0, &self_weight(0));
    subnet.epoch(&stake, &weights);
    assert_eq!(column(&subnet, 4), [14582, 32767, 49151, 65535]);

    set_row(&mut weights, 1, &self_weight(1));
    subnet.epoch(&stake, &weights);
    assert_eq!(column(&subnet, 4), [12603, 28321, 49151, 65535]);

    set_row(&mut weights, 2, &self_weight(2));
    subnet.epoch(&stake, &weights);
    assert_eq!(column(&subnet, 7), [12602, 28320, 49150, 65535]);

    let mut only_srv4 = [0.0; 8];
    only_srv4[7] = 65535.0;
    set_row(&mut weights, 2, &only_srv4);
    subnet.epoch(&stake, &weights);
    assert_eq!(column(&subnet, 7), [10951, 24609, 49150, 65535]);

    subnet.epoch(&stake, &weights);
    assert_eq!(column(&subnet, 7), [9559, 21482, 49150, 65535]);

    subnet.epoch(&stake, &weights);
    assert_eq!(column(&subnet, 7), [8376, 18824, 49150, 65535]);
}

/// subtensor pallets/subtensor/src/tests/epoch.rs::test_10_graph (HEAD 14bc6f9f9): self-weights
/// only, so every weight is masked and the emission falls back to stake.
///
/// The chain pays 99,999,999 rao each, not 1e8: 1/10 in `I32F32` is floor(2^32/10)/2^32 =
/// 0.09999999986, and 0.09999999986 · 1e9 rao truncates to 99,999,999. Under chain storage the
/// model reproduces the `I32F32` share, so the float amount lies in (99,999,999, 1e8).
#[test]
fn v7_test_10_graph() {
    let n = 10;
    let params = YumaParams { max_validators: 10, ..YumaParams::default() };
    let mut subnet = YumaSubnet::<f64>::new(params, n, n);
    let stake = [1.0; 10];
    let mut weights = vec![0.0; n * n];
    subnet.epoch(&stake, &weights); // the setup epoch issues the permits
    for i in 0..n {
        weights[i * n + i] = 65535.0;
    }
    subnet.epoch(&stake, &weights);
    let work = &subnet.work;
    assert_eq!(work.consensus, vec![0.0; n]);
    assert_eq!(work.incentive, vec![0.0; n]);
    assert_eq!(work.dividends, vec![0.0; n]);
    let rao_per_epoch = 1.0e9;
    let mut server = [0.0; 10];
    let mut validator = [0.0; 10];
    work.split_emission(&params, rao_per_epoch, &mut server, &mut validator);
    for i in 0..n {
        assert_eq!(server[i], 0.0);
        assert!((validator[i] - 1.0e8).abs() <= 1.0, "uid {i}: {}", validator[i]);
        assert_eq!(validator[i].floor(), 99_999_999.0, "uid {i}");
    }
}

fn replay(toml_text: &str) -> Vec<EpochReport> {
    parse_scenario(toml_text, std::path::Path::new(".")).expect("scenario parses").replay()
}

/// The published dividends of A, B, C per epoch for scenario `name` (`tests/fixtures`).
fn published(name: &str) -> [[f64; 3]; 6] {
    let table: toml::Table = include_str!("../../fixtures/yuma3_dividends.toml").parse().unwrap();
    let rows = table[name]["dividends"].as_array().expect("dividends array");
    let mut out = [[0.0; 3]; 6];
    assert_eq!(rows.len(), 6, "{name}: six published epochs");
    for (k, row) in rows.iter().enumerate() {
        for (v, x) in row.as_array().expect("row").iter().enumerate() {
            out[k][v] = x.as_float().expect("number");
        }
    }
    out
}

/// Dividends of A, B, C in the epochs after the setup epoch, ±1e-3.
fn assert_dividends(reports: &[EpochReport], expected: &[[f64; 3]; 6], name: &str) {
    assert_eq!(reports.len(), 7, "{name}: setup epoch + 6");
    for (k, want) in expected.iter().enumerate() {
        let got = &reports[k + 1].dividends;
        assert_close(&got[..3], want, 1e-3, &format!("{name} epoch {k} dividends"));
        assert!(got[3..].iter().all(|&d| d == 0.0), "{name}: servers get 0");
    }
}

/// subtensor pallets/subtensor/src/tests/epoch.rs::test_yuma_3_one_epoch_switch (main 14bc6f9f9)
#[test]
fn v8_yuma3_one_epoch_switch() {
    let reports = replay(include_str!("../../../configs/yuma/one_epoch_switch.toml"));
    let expected = published("one_epoch_switch");
    assert_dividends(&reports, &expected, "one_epoch_switch");
}

/// subtensor pallets/subtensor/src/tests/epoch.rs::test_yuma_3_liquid_alpha_disabled
/// (main 14bc6f9f9)
#[test]
fn v8_yuma3_liquid_alpha_disabled() {
    let reports = replay(include_str!("../../../configs/yuma/liquid_alpha_disabled.toml"));
    let expected = published("liquid_alpha_disabled");
    assert_dividends(&reports, &expected, "liquid_alpha_disabled");
}

/// subtensor pallets/subtensor/src/tests/epoch.rs::test_yuma_3_kappa_moves_first (main 14bc6f9f9);
/// bond targets: the test's `targets_bonds` (never asserted by the chain, see chain-vectors §B).
#[test]
fn v8_yuma3_kappa_moves_first() {
    let reports = replay(include_str!("../../../configs/yuma/kappa_moves_first.toml"));
    let expected = published("kappa_moves_first");
    assert_dividends(&reports, &expected, "kappa_moves_first");
    // Rows A, B, C; columns S1, S2 (uids 3, 4).
    let bonds: [[[f64; 2]; 3]; 6] = [
        [[0.1013, 0.0], [0.1013, 0.0], [0.1013, 0.0]],
        [[0.0908, 0.1013], [0.3697, 0.0], [0.3697, 0.0]],
        [[0.0815, 0.1924], [0.3170, 0.1013], [0.5580, 0.0]],
        [[0.0731, 0.2742], [0.2765, 0.1924], [0.4306, 0.1013]],
        [[0.0656, 0.3478], [0.2435, 0.2742], [0.3589, 0.1924]],
        [[0.0588, 0.4139], [0.2157, 0.3478], [0.3089, 0.2742]],
    ];
    for (k, rows) in bonds.iter().enumerate() {
        for (i, want) in rows.iter().enumerate() {
            let got = &reports[k + 1].bonds[i][3..5];
            assert_close(got, want, 1e-3, &format!("kappa_moves_first epoch {k} bonds row {i}"));
        }
    }
}

/// subtensor pallets/subtensor/src/tests/epoch.rs::test_yuma_3_stable_miner (main 14bc6f9f9)
#[test]
fn v8_yuma3_stable_miner() {
    let reports = replay(include_str!("../../../configs/yuma/stable_miner.toml"));
    let expected = published("stable_miner");
    assert_dividends(&reports, &expected, "stable_miner");
}

/// The V8 scenarios in float storage stay within the chain tolerance too (the engine's path).
#[test]
fn v8_yuma3_float_storage_matches() {
    let text = include_str!("../../../configs/yuma/kappa_moves_first.toml");
    let mut scenario = parse_scenario(text, std::path::Path::new(".")).unwrap();
    scenario.params.bond_storage = BondStorage::Float;
    let float = scenario.replay();
    let chain = replay(text);
    for (f, c) in float.iter().zip(&chain) {
        assert_close(&f.dividends, &c.dividends, 1e-3, "float vs chain dividends");
    }
}

/// subtensor pallets/subtensor/src/tests/coinbase.rs::test_drain_base_with_subnet_with_two_stakers_registered
/// (REF-TF 6e3d24ce; TaoWeight 0 and owner cut 0 in the mock): no weights, so the epoch pays no
/// incentive and the validators also receive the server part, pro rata to stake.
#[test]
fn v17_dividend_split_two_stakers() {
    let rao = 1.0e-9; // amounts in alpha
    let stake = [1.0e9 * rao, 1.0e9 * rao];
    let pending_server = 5.0e8 * rao;
    let pending_validator = 5.0e8 * rao;
    let params = YumaParams {
        version: YumaVersion::Yuma3,
        liquid_alpha: LiquidAlpha::default(),
        ..YumaParams::default()
    };
    let mut subnet = YumaSubnet::<f64>::new(params, 2, 2);
    subnet.epoch(&stake, &[0.0; 4]);
    let mut server = [0.0; 2];
    let mut validator = [0.0; 2];
    subnet.work.split_emission(
        &params,
        pending_server + pending_validator,
        &mut server,
        &mut validator,
    );
    let mut incentive = [0.0; 2];
    let mut dividend = [0.0; 2];
    distribute_epoch_alpha(
        &server,
        &validator,
        pending_server,
        pending_validator,
        &mut incentive,
        &mut dividend,
    );
    for i in 0..2 {
        let ends_with = stake[i] + dividend[i] + incentive[i];
        assert!(
            (ends_with / rao - 1.5e9).abs() <= 10.0,
            "validator {i} ends with {} rao",
            ends_with / rao
        );
    }
}

/// subtensor pallets/subtensor/src/tests/coinbase.rs::test_calculate_dividend_distribution_totals
/// (REF-TF 6e3d24ce): the alpha dividends sum to the pending validator alpha and the root dividends
/// to the pending root alpha, within 1,000 rao, for the test's two hotkeys; each hotkey's share
/// checked against the formula of chain.md §3.5 step 4 evaluated by hand in f64.
#[test]
fn v17_calculate_dividend_distribution_totals() {
    let pending_validator = 183_123_567_452.0;
    let pending_root = 837_120_949_872.0;
    let alpha_stake = [4_859_302.0, 23_423.0];
    let root_stake = [2_342_352.0, 859_273.0];
    let dividends = [77_783_738.0, 19_283_940.0];
    let (mut alpha, mut root) = ([0.0; 2], [0.0; 2]);
    taosim_core::model::yuma::dividend_distribution(
        pending_validator,
        pending_root,
        0.18,
        &alpha_stake,
        &root_stake,
        &dividends,
        &mut alpha,
        &mut root,
    );
    assert!((alpha.iter().sum::<f64>() - pending_validator).abs() < 1_000.0);
    assert!((root.iter().sum::<f64>() - pending_root).abs() < 1_000.0);
    // Hotkey 0: root fraction 0.18·2,342,352 / (4,859,302 + 0.18·2,342,352) = 0.0798...
    let rf0 = 0.18 * 2_342_352.0 / (4_859_302.0 + 0.18 * 2_342_352.0);
    let rf1 = 0.18 * 859_273.0 / (23_423.0 + 0.18 * 859_273.0);
    let (a0, a1) = (77_783_738.0 * (1.0 - rf0), 19_283_940.0 * (1.0 - rf1));
    let (r0, r1) = (77_783_738.0 * rf0, 19_283_940.0 * rf1);
    assert!((alpha[0] - pending_validator * a0 / (a0 + a1)).abs() < 1.0);
    assert!((root[1] - pending_root * r1 / (r0 + r1)).abs() < 1.0);
}
