//! The run configuration (`config.rs`) and the initial state (`init.rs`).
//!
//! - `configs/example.toml` parses to `RunConfig::default()`, and so does an empty file.
//! - Parse and validation errors name the dotted key (and the line, for parse errors); every
//!   family of range rule, NaN and infinities, and the cross-field rules are exercised.
//! - Both bundled snapshots load with the totals published in the data's README; malformed
//!   snapshots fail with the file, line and column in the message.
//! - The synthetic network is deterministic in its seed and centred on the configured medians.

use std::path::{Path, PathBuf};

use taosim_core::Error;
use taosim_core::config::{RunConfig, SyntheticInit};
use taosim_core::init::{
    DEFAULT_HOLDER_SPLIT, InitialNetwork, initial_network, load_snapshot, synthetic,
};

fn configs_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../configs")
}

fn snapshot(name: &str) -> InitialNetwork {
    let path = configs_dir().join("snapshots").join(name);
    load_snapshot(&path, &RunConfig::default()).unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// The error of parsing and validating `text`, as a string.
fn config_error(text: &str) -> Error {
    match RunConfig::from_toml(text) {
        Ok(config) => config.validate().expect_err(&format!("`{text}` should be rejected")),
        Err(e) => e,
    }
}

/// Asserts that `text` fails validation on `key` with `allowed` in its message.
fn assert_out_of_range(text: &str, key: &str, allowed: &str) {
    match config_error(text) {
        Error::OutOfRange { key: k, allowed: a, .. } => {
            assert_eq!(k, key, "`{text}`");
            assert!(a.contains(allowed), "`{text}`: allowed `{a}` lacks `{allowed}`");
        }
        other => panic!("`{text}`: expected OutOfRange on {key}, got {other:?}"),
    }
}

// --- config -------------------------------------------------------------------------------------

#[test]
fn example_toml_is_the_default() {
    let text = std::fs::read_to_string(configs_dir().join("example.toml")).unwrap();
    let config = RunConfig::from_toml(&text).unwrap();
    assert_eq!(config, RunConfig::default());
    config.validate().unwrap();
}

#[test]
fn example_toml_synthetic_block_is_the_default() {
    // The commented-out [init.synthetic] table must also list the defaults.
    let text = std::fs::read_to_string(configs_dir().join("example.toml")).unwrap();
    let start = text.find("# [init.synthetic]").unwrap();
    let block: String = text[start..]
        .lines()
        .take_while(|l| l.starts_with('#'))
        .map(|l| format!("{}\n", l.trim_start_matches('#').trim_start()))
        .collect();
    let config = RunConfig::from_toml(&block).unwrap();
    assert_eq!(config.init.synthetic, Some(SyntheticInit::default()));
}

#[test]
fn empty_config_is_the_default() {
    assert_eq!(RunConfig::from_toml("").unwrap(), RunConfig::default());
    RunConfig::default().validate().unwrap();
}

#[test]
fn unknown_key_names_line_and_key() {
    let Err(Error::Parse(message)) = RunConfig::from_toml("[run]\npaths = 4\npathz = 3\n") else {
        panic!("unknown key accepted");
    };
    assert!(!message.contains('\n'), "{message}");
    assert!(message.starts_with("line 3, column 1"), "{message}");
    assert!(message.contains("`run.pathz`"), "{message}");
    assert!(message.contains("unknown field `pathz`"), "{message}");
    assert!(message.contains("`paths`"), "{message}");

    let Err(Error::Parse(message)) = RunConfig::from_toml("[chain]\nsubnet_limit = \"many\"\n")
    else {
        panic!("string for an integer accepted");
    };
    assert!(message.starts_with("line 2,"), "{message}");
    assert!(message.contains("`chain.subnet_limit`"), "{message}");
}

#[test]
fn unknown_section_is_rejected() {
    let Err(Error::Parse(message)) = RunConfig::from_toml("[runn]\npaths = 4\n") else {
        panic!("unknown section accepted");
    };
    assert!(message.contains("line 1") && message.contains("runn"), "{message}");
}

#[test]
fn fractions_are_in_unit_interval() {
    assert_out_of_range("[behaviour]\nminer_sell = 1.5", "behaviour.miner_sell", "[0, 1]");
    assert_out_of_range("[chain]\nowner_cut = -0.1", "chain.owner_cut", "[0, 1]");
    assert_out_of_range("[yuma]\nkappa = 2.0", "yuma.kappa", "[0, 1]");
    assert_out_of_range(
        "[behaviour]\noutflow_rate_per_day = 1.01",
        "behaviour.outflow_rate_per_day",
        "[0, 1]",
    );
}

#[test]
fn open_fractions_exclude_zero() {
    assert_out_of_range("[behaviour]\npanic_drawdown = 0.0", "behaviour.panic_drawdown", "(0, 1]");
    assert_out_of_range(
        "[death_spiral]\nprice_fraction = 0.0",
        "death_spiral.price_fraction",
        "(0, 1]",
    );
    assert_out_of_range(
        "[death_spiral]\npool_fraction = 1.5",
        "death_spiral.pool_fraction",
        "(0, 1]",
    );
    let ok = RunConfig::from_toml("[behaviour]\npanic_drawdown = 1.0").unwrap();
    ok.validate().unwrap();
}

#[test]
fn rates_and_sigmas_are_non_negative() {
    assert_out_of_range("[behaviour]\nquality_sigma = -0.1", "behaviour.quality_sigma", ">= 0");
    assert_out_of_range(
        "[behaviour]\njump_rate_per_year = -1.0",
        "behaviour.jump_rate_per_year",
        ">= 0",
    );
    assert_out_of_range(
        "[registration]\nwillingness_sigma = -0.5",
        "registration.willingness_sigma",
        ">= 0",
    );
    assert_out_of_range("[yuma]\nweight_noise = -1e-9", "yuma.weight_noise", ">= 0");
}

#[test]
fn horizons_and_medians_are_positive() {
    assert_out_of_range("[run]\ndays = 0.0", "run.days", "> 0");
    assert_out_of_range(
        "[behaviour]\nmarket_halflife_days = 0.0",
        "behaviour.market_halflife_days",
        "> 0",
    );
    assert_out_of_range("[output]\nevery_days = -1.0", "output.every_days", "> 0");
    assert_out_of_range("[chain]\nflow_exponent = 0.0", "chain.flow_exponent", "> 0");
    assert_out_of_range(
        "[init.synthetic]\npool_tao_median = 0.0",
        "init.synthetic.pool_tao_median",
        "> 0",
    );
}

/// No whale order can stake more TAO than exists: the median is at most the supply (each order
/// is capped there too, `cpu::behaviour::MAX_WHALE_ORDER`), and the supply itself is allowed.
#[test]
fn whale_orders_are_bounded_by_the_supply() {
    let allowed = "(0, 21000000] TAO";
    for median in ["21000000.5", "1e9", "0.0", "-1.0"] {
        let text = format!("[behaviour]\nwhale_size_median = {median}");
        assert_out_of_range(&text, "behaviour.whale_size_median", allowed);
    }
    RunConfig::from_toml("[behaviour]\nwhale_size_median = 21000000.0")
        .unwrap()
        .validate()
        .unwrap();
}

#[test]
fn integer_keys_have_their_ranges() {
    assert_out_of_range("[run]\npaths = 0", "run.paths", "1..=");
    assert_out_of_range("[run]\nbatch_paths = 0", "run.batch_paths", "1..=");
    assert_out_of_range("[run]\nblocks_per_step = 0", "run.blocks_per_step", "1..=7200");
    assert_out_of_range("[run]\nblocks_per_step = 7201", "run.blocks_per_step", "1..=7200");
    assert_out_of_range("[chain]\nsubnet_limit = 257", "chain.subnet_limit", "1..=256");
    assert_out_of_range("[chain]\nsubnet_limit = 0", "chain.subnet_limit", "1..=256");
    assert_out_of_range("[chain]\ntempo = 0", "chain.tempo", "1..=65535");
    assert_out_of_range("[yuma]\nvalidators = 65", "yuma.validators", "1..=64");
    assert_out_of_range("[yuma]\nminers = 0", "yuma.miners", "1..=256");
    assert_out_of_range("[yuma]\nreveal_epochs = 101", "yuma.reveal_epochs", "1..=100");
    assert_out_of_range("[yuma]\nreveal_epochs = 0", "yuma.reveal_epochs", "1..=100");
    let ok =
        RunConfig::from_toml("[run]\nblocks_per_step = 7200\n[chain]\nsubnet_limit = 256").unwrap();
    ok.validate().unwrap();
}

#[test]
fn fee_rate_is_bounded_by_the_chain() {
    assert_out_of_range("[chain]\nfee_rate = 0.2", "chain.fee_rate", "10000/65535");
    assert_out_of_range("[chain]\nfee_rate = -0.0001", "chain.fee_rate", "10000/65535");
    let ok = RunConfig::from_toml(&format!("[chain]\nfee_rate = {}", 10_000.0 / 65_535.0)).unwrap();
    ok.validate().unwrap();
}

#[test]
fn cross_field_rules_name_both_keys() {
    assert_out_of_range(
        "[yuma]\nvalidators = 64\nminers = 200",
        "yuma.validators + yuma.miners",
        "256",
    );
    assert_out_of_range(
        "[yuma]\ncartel_stake = 0.6\ncopier_stake = 0.5",
        "yuma.cartel_stake + yuma.copier_stake",
        "at most 1",
    );
    assert_out_of_range(
        "[yuma]\nminers = 4\ncartel_miners = 5",
        "yuma.cartel_miners, yuma.miners",
        "at most miners",
    );
    assert_out_of_range(
        "[init]\nroot_tao = 2e7\nissuance = 1e7",
        "init.root_tao, init.issuance",
        "issuance",
    );
    assert_out_of_range(
        "[chain]\nsubnet_limit = 64\n[init.synthetic]\nsubnets = 65",
        "init.synthetic.subnets, chain.subnet_limit",
        "1..=chain.subnet_limit (64)",
    );
    assert_out_of_range("[run]\ndays = 1e6", "init.block + run.days", "u32 block numbers");
    // The message says how many days fit: (2^32 - 1) / 7200 = 596,523.2 from block 0.
    assert_out_of_range(
        "[run]\ndays = 596524\n[init]\nblock = 0",
        "init.block + run.days",
        "at most 596523 days after block 0",
    );
    // A new subnet's pool may start with only the minimum lock (found by running random valid
    // configs: `min_reserve = 100` stopped the run by a reserve guard at the first registration).
    assert_out_of_range(
        "[chain]\nmin_reserve = 100.0\nmin_lock_cost = 1.0",
        "chain.min_reserve, chain.min_lock_cost",
        "min_reserve at most min_lock_cost",
    );
    RunConfig::from_toml("[chain]\nmin_reserve = 1.0\nmin_lock_cost = 1.0")
        .unwrap()
        .validate()
        .unwrap();
    // Nor may it start with no TAO: every pool keeps a rao (a zero lock was a reserve-guard stop
    // at the first registration once the floor was one rao, `compare` fuzz, session 15).
    assert_out_of_range(
        "[chain]\nmin_reserve = 0.0\nmin_lock_cost = 0.0",
        "chain.min_reserve, chain.min_lock_cost",
        "min_lock_cost at least one rao",
    );
    RunConfig::from_toml("[chain]\nmin_reserve = 0.0\nmin_lock_cost = 1e-9")
        .unwrap()
        .validate()
        .unwrap();
    // Validators + miners exactly 256 is allowed.
    RunConfig::from_toml("[yuma]\nvalidators = 64\nminers = 192").unwrap().validate().unwrap();
}

#[test]
fn buyback_keys_must_be_netuids() {
    let err = config_error("[behaviour]\nbuyback_by_netuid = { 999 = 1.0 }");
    assert!(err.to_string().contains("behaviour.buyback_by_netuid.999"), "{err}");
    let err = config_error("[behaviour]\nbuyback_by_netuid = { 64 = -1.0 }");
    assert!(err.to_string().contains("behaviour.buyback_by_netuid.64"), "{err}");
    RunConfig::from_toml("[behaviour]\nbuyback_by_netuid = { 64 = 100.0 }")
        .unwrap()
        .validate()
        .unwrap();
}

#[test]
fn nan_and_infinity_are_rejected_everywhere() {
    for (text, key) in [
        ("[run]\ndays = nan", "run.days"),
        ("[chain]\nflow_cutoff = inf", "chain.flow_cutoff"),
        ("[chain]\nmin_lock_cost = inf", "chain.min_lock_cost"),
        ("[behaviour]\nquality_drift = nan", "behaviour.quality_drift"),
        ("[behaviour]\nbeta_momentum = -inf", "behaviour.beta_momentum"),
        ("[behaviour]\njump_sigma = nan", "behaviour.jump_sigma"),
        ("[yuma]\ncartel_stake = nan", "yuma.cartel_stake"),
        ("[init]\nissuance = nan", "init.issuance"),
        ("[init.synthetic]\nprice_sigma = inf", "init.synthetic.price_sigma"),
        ("[registration]\nrate_per_day = inf", "registration.rate_per_day"),
        ("[death_spiral]\nzero_share_days = nan", "death_spiral.zero_share_days"),
    ] {
        match config_error(text) {
            Error::OutOfRange { key: k, .. } => assert_eq!(k, key, "`{text}`"),
            other => panic!("`{text}`: {other:?}"),
        }
    }
}

#[test]
fn load_names_the_file_on_parse_errors() {
    let path = temp_file("bad.toml", "[run]\npathz = 1\n");
    let err = RunConfig::load(&path).unwrap_err().to_string();
    assert!(err.contains("bad.toml") && err.contains("line 2"), "{err}");
    let err = RunConfig::load(&path.with_file_name("no-such.toml")).unwrap_err().to_string();
    assert!(err.contains("no-such.toml") && err.contains("cannot read"), "{err}");
}

// --- snapshots ----------------------------------------------------------------------------------

fn pool_total(net: &InitialNetwork) -> f64 {
    net.subnets.iter().map(|s| s.tao).sum()
}

#[test]
fn snapshot_2026_04_11_loads_with_published_totals() {
    let net = snapshot("2026-04-11.csv");
    assert_eq!(net.subnets.len(), 128);
    let netuids: Vec<u16> = net.subnets.iter().map(|s| s.netuid).collect();
    assert_eq!(netuids, (1..=128).collect::<Vec<u16>>());
    // Data README: pools held 2,004,566 TAO; root 5,025,713.5 TAO.
    assert!((pool_total(&net) - 2_004_566.0).abs() <= 1.0, "{}", pool_total(&net));
    assert!((net.root_tao - 5_025_713.5).abs() <= 1.0, "{}", net.root_tao);
    assert_eq!(net.block, 7_947_100);
    assert_eq!(net.issuance, 10_920_000.0);
    // Data README: sum of moving prices 1.307 (the published column; SN96 has none and gets 0).
    let sum_p: f64 = net.subnets.iter().map(|s| s.moving_price).sum();
    assert!((sum_p - 1.307).abs() < 0.001, "{sum_p}");
    // SN1 row: tao_in 29628.4935, alpha_in 2665006.7118, alpha_out 2070591.3997, P̄ 0.011290281.
    let sn1 = &net.subnets[0];
    assert_eq!((sn1.name.as_str(), sn1.tao, sn1.alpha), ("Apex", 29_628.493_5, 2_665_006.711_8));
    assert_eq!(sn1.moving_price, 0.011_290_281);
    assert_eq!(sn1.registered_block, 1_497_824);
    assert_eq!(sn1.first_emission_block, 1_497_824 + 50_400);
    assert_eq!((sn1.miner_burn, sn1.flow_ema), (0.0, 0.0));
    let held =
        sn1.held_organic + sn1.held_validators + sn1.held_miners + sn1.held_owner + sn1.held_root;
    assert!((held - 2_070_591.399_7).abs() < 1e-6, "{held}");
    assert_eq!(sn1.held_organic, 2_070_591.399_7 * DEFAULT_HOLDER_SPLIT.organic);
    // SN96: a 1.68 TAO startup artifact keeps its pool but is not emitting yet.
    let sn96 = &net.subnets[95];
    assert_eq!((sn96.netuid, sn96.tao), (96, 1.6816));
    assert!(sn96.first_emission_block > net.block, "{}", sn96.first_emission_block);
    assert_eq!(sn96.moving_price, 0.0);
    // Every other subnet emits from the start.
    let emitting = net.subnets.iter().filter(|s| s.first_emission_block <= net.block).count();
    assert_eq!(emitting, 127);
}

#[test]
fn snapshot_2026_09_30_loads_with_published_totals() {
    let net = snapshot("2026-09-30.csv");
    assert_eq!(net.subnets.len(), 128);
    // Data README: pools held 1,973,986 TAO; block 9,184,186.
    assert!((pool_total(&net) - 1_973_986.0).abs() <= 1.0, "{}", pool_total(&net));
    assert_eq!(net.block, 9_184_186);
    // No root row in this file: root TAO from the config.
    assert_eq!(net.root_tao, RunConfig::default().init.root_tao);
    // SN1 row: miner_burned_share 0.5381125828716904, first emission 5228683, alpha_outstanding_est
    // 2528953.456331; no moving price column, so P̄ = spot = 23114.360590191 / 3494726.03780648.
    let sn1 = &net.subnets[0];
    assert_eq!(sn1.miner_burn, 0.538_112_582_871_690_4);
    assert_eq!(sn1.first_emission_block, 5_228_683);
    assert_eq!(sn1.moving_price, 23_114.360_590_191 / 3_494_726.037_806_48);
    let held =
        sn1.held_organic + sn1.held_validators + sn1.held_miners + sn1.held_owner + sn1.held_root;
    assert!((held - 2_528_953.456_331).abs() < 1e-6, "{held}");
    // SN82: registered at 9,155,260, start_call not called: starts at 9,155,260 + 50,400.
    let sn82 = &net.subnets[81];
    assert_eq!(sn82.netuid, 82);
    assert_eq!(sn82.first_emission_block, 9_155_260 + 50_400);
    // SN59: registered 8,938,771 (past the start-call delay), not started: starts at the block.
    let sn59 = &net.subnets[58];
    assert_eq!(sn59.first_emission_block, 9_184_186);
    // An empty name becomes sn<netuid>.
    assert_eq!(net.subnets[34].name, "sn35");
    for s in &net.subnets {
        assert!(
            s.moving_price > 0.0 && s.moving_price <= 1.0,
            "SN{}: {}",
            s.netuid,
            s.moving_price
        );
    }
}

#[test]
fn non_default_block_and_root_override_the_file() {
    let mut config = RunConfig::default();
    config.init.block = 8_000_000;
    config.init.root_tao = 4_000_000.0;
    let path = configs_dir().join("snapshots/2026-04-11.csv");
    let net = load_snapshot(&path, &config).unwrap();
    assert_eq!((net.block, net.root_tao), (8_000_000, 4_000_000.0));
}

#[test]
fn initial_network_resolves_the_snapshot_against_the_config_folder() {
    let config = RunConfig::default();
    let net = initial_network(&config, &configs_dir()).unwrap();
    assert_eq!(net, snapshot("2026-04-11.csv"));
    let err = initial_network(&config, Path::new("/nonexistent-dir")).unwrap_err().to_string();
    assert!(err.contains("/nonexistent-dir/snapshots/2026-04-11.csv"), "{err}");

    let mut config = RunConfig::default();
    config.init.synthetic = Some(SyntheticInit::default());
    config.run.seed = 9;
    let net = initial_network(&config, Path::new("/nonexistent-dir")).unwrap();
    assert_eq!(net, synthetic(&config, 9));
}

/// A file under the system temp folder, unique to this process and name.
fn temp_file(name: &str, text: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("taosim-config-init-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

const SDK_HEADER: &str =
    "netuid,name,price,tao_in,alpha_in,alpha_out,moving_price,registered_at_block";

/// The message of loading `text` as the snapshot file `name`.
fn snapshot_error(name: &str, text: &str) -> String {
    let path = temp_file(name, text);
    let err = load_snapshot(&path, &RunConfig::default()).expect_err(name).to_string();
    assert!(err.contains(&path.display().to_string()), "{err}");
    err
}

#[test]
fn small_snapshot_in_either_format_loads() {
    let sdk = format!(
        "{SDK_HEADER}\n0,root,1,100.5,,,,\n2,\"b, two\",0.5,10,20,30,,5\n1,a,2,4,2,1,0.3,7\n"
    );
    let net = load_snapshot(&temp_file("ok-sdk.csv", &sdk), &RunConfig::default()).unwrap();
    assert_eq!(net.root_tao, 100.5);
    assert_eq!(net.subnets.iter().map(|s| s.netuid).collect::<Vec<_>>(), [1, 2]);
    assert_eq!(net.subnets[1].name, "b, two");
    assert_eq!(net.subnets[0].moving_price, 0.3);
    // Spot 2 clipped at 1.
    assert_eq!(net.subnets[1].moving_price, 0.5);

    let archive =
        "netuid,tao_in,alpha_in,alpha_outstanding_est,registered_at_block\n3,50,100,10,1000\n";
    let net = load_snapshot(&temp_file("ok-archive.csv", archive), &RunConfig::default()).unwrap();
    assert_eq!(net.block, 9_184_186);
    assert_eq!(net.subnets[0].first_emission_block, 1000 + 50_400);
    assert_eq!(net.subnets[0].moving_price, 0.5);
}

#[test]
fn snapshot_missing_column_is_named() {
    let err = snapshot_error(
        "no-tao.csv",
        "netuid,name,alpha_in,alpha_out,registered_at_block\n1,a,2,1,7\n",
    );
    assert!(err.contains("line 1") && err.contains("missing required column `tao_in`"), "{err}");
    let err =
        snapshot_error("no-alpha-out.csv", "netuid,tao_in,alpha_in,registered_at_block\n1,1,2,7\n");
    assert!(err.contains("`alpha_out`") && err.contains("`alpha_outstanding_est`"), "{err}");
}

#[test]
fn snapshot_non_numeric_value_is_named() {
    let text = format!("{SDK_HEADER}\n1,a,2,4,2,1,0.3,7\n2,b,2,4,lots,1,0.3,7\n");
    let err = snapshot_error("nan-cell.csv", &text);
    assert!(err.contains("line 3, column `alpha_in`") && err.contains("`lots`"), "{err}");
    let text = format!("{SDK_HEADER}\n1,a,2,4,2,1,0.3,7.5\n");
    let err = snapshot_error("frac-block.csv", &text);
    assert!(err.contains("line 2, column `registered_at_block`"), "{err}");
    let text = format!("{SDK_HEADER}\n1,a,2,NaN,2,1,0.3,7\n");
    let err = snapshot_error("nan-literal.csv", &text);
    assert!(err.contains("line 2, column `tao_in`"), "{err}");
}

#[test]
fn snapshot_negative_reserve_is_named() {
    let text = format!("{SDK_HEADER}\n1,a,2,4,2,1,0.3,7\n\n2,b,2,-4,2,1,0.3,7\n");
    let err = snapshot_error("negative.csv", &text);
    // Line 4: the blank line 3 still counts.
    assert!(err.contains("line 4, column `tao_in`") && err.contains("negative reserve"), "{err}");
    let text = format!("{SDK_HEADER}\n1,a,2,4,0,1,0.3,7\n");
    let err = snapshot_error("zero.csv", &text);
    assert!(err.contains("line 2, column `alpha_in`") && err.contains("zero reserve"), "{err}");
}

/// A snapshot pool below `chain.min_reserve`, which the runtime guard holds every live pool to,
/// is an input error naming its line and column (it was a guard stop after `init`).
#[test]
fn snapshot_reserve_below_the_minimum_is_named() {
    let mut config = RunConfig::default();
    config.chain.min_reserve = 30.0;
    config.chain.min_lock_cost = 1000.0;
    config.validate().unwrap();
    let path = configs_dir().join("snapshots/2026-04-11.csv");
    let err = load_snapshot(&path, &config).unwrap_err().to_string();
    // Line 38 is netuid 36, the first pool under 30 TAO (23.7563).
    assert!(err.contains("line 38, column `tao_in`"), "{err}");
    assert!(err.contains("`23.7563` is below `chain.min_reserve` = 30"), "{err}");
    // The default minimum reserve (0.001 TAO) passes every bundled pool.
    snapshot("2026-04-11.csv");
}

/// `chain.min_reserve = 0` still keeps one rao (1e-9) in every pool, as the chain's integer swaps
/// do (`ChainParams::reserve_floor`): a snapshot pool below a rao is named, one at a rao loads.
#[test]
fn a_zero_minimum_reserve_keeps_one_rao() {
    let mut config = RunConfig::default();
    config.chain.min_reserve = 0.0;
    config.validate().unwrap();
    assert_eq!(config.chain.reserve_floor(), 1e-9);
    let below = temp_file("below-rao.csv", &format!("{SDK_HEADER}\n1,a,2,4e-10,2,1,0.3,7\n"));
    let err = load_snapshot(&below, &config).unwrap_err().to_string();
    assert!(err.contains("line 2, column `tao_in`"), "{err}");
    assert!(err.contains("`chain.min_reserve` = 0 (one rao, 0.000000001, at least)"), "{err}");
    let at = temp_file("at-rao.csv", &format!("{SDK_HEADER}\n1,a,2,1e-9,2,1,0.3,7\n"));
    load_snapshot(&at, &config).unwrap();
}

/// A synthetic pool below `chain.min_reserve` names the keys that set the pools.
#[test]
fn synthetic_reserve_below_the_minimum_names_the_keys() {
    let mut config = RunConfig::from_toml(
        "[chain]\nmin_reserve = 1.0\n[init.synthetic]\nsubnets = 128\npool_tao_median = 2.0",
    )
    .unwrap();
    config.validate().unwrap();
    match initial_network(&config, &configs_dir()) {
        Err(Error::OutOfRange { key, allowed, .. }) => {
            assert!(key.contains("init.synthetic.pool_tao_median"), "{key}");
            assert!(key.contains("chain.min_reserve"), "{key}");
            assert!(allowed.contains("at least `chain.min_reserve` = 1"), "{allowed}");
        }
        other => panic!("expected an out-of-range error, got {other:?}"),
    }
    config.chain.min_reserve = 0.001;
    initial_network(&config, &configs_dir()).unwrap();
}

#[test]
fn snapshot_bad_netuids_are_named() {
    let text = format!("{SDK_HEADER}\n1,a,2,4,2,1,0.3,7\n1,b,2,4,2,1,0.3,7\n");
    let err = snapshot_error("dup.csv", &text);
    assert!(err.contains("line 3, column `netuid`") && err.contains("repeats line 2"), "{err}");
    let text = format!("{SDK_HEADER}\n129,a,2,4,2,1,0.3,7\n");
    let err = snapshot_error("beyond.csv", &text);
    assert!(err.contains("line 2, column `netuid`") && err.contains("chain.subnet_limit"), "{err}");
    let text = format!("{SDK_HEADER}\n-1,a,2,4,2,1,0.3,7\n");
    let err = snapshot_error("negative-netuid.csv", &text);
    assert!(err.contains("line 2, column `netuid`"), "{err}");
}

#[test]
fn snapshot_empty_short_or_missing_file_is_named() {
    let err = snapshot_error("empty.csv", "");
    assert!(err.contains("empty file"), "{err}");
    let err = snapshot_error("header-only.csv", &format!("{SDK_HEADER}\n"));
    assert!(err.contains("no subnet rows"), "{err}");
    let err = snapshot_error("short-row.csv", &format!("{SDK_HEADER}\n1,a,2\n"));
    assert!(err.contains("line 2") && err.contains("3 cells"), "{err}");
    let err = snapshot_error("quote.csv", &format!("{SDK_HEADER}\n1,\"a,2,4,2,1,0.3,7\n"));
    assert!(err.contains("line 2") && err.contains("unterminated"), "{err}");
    let missing = std::env::temp_dir().join("taosim-no-such-snapshot.csv");
    let err = load_snapshot(&missing, &RunConfig::default()).unwrap_err().to_string();
    assert!(err.contains("taosim-no-such-snapshot.csv") && err.contains("cannot read"), "{err}");
}

// --- synthetic ----------------------------------------------------------------------------------

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    let n = values.len();
    0.5 * (values[(n - 1) / 2] + values[n / 2])
}

#[test]
fn synthetic_is_deterministic_in_the_seed() {
    let mut config = RunConfig::default();
    config.init.synthetic = Some(SyntheticInit::default());
    let a = synthetic(&config, 42);
    assert_eq!(a, synthetic(&config, 42));
    assert_ne!(a, synthetic(&config, 43));
    assert_eq!(a.subnets.len(), 128);
    assert_eq!(a.subnets[6].name, "synthetic-7");
    for s in &a.subnets {
        assert!(s.tao > 0.0 && s.alpha > 0.0 && s.tao.is_finite() && s.alpha.is_finite());
        // Registered past immunity and emitting at the start block.
        assert!(s.registered_block + 864_000 <= a.block);
        assert!(s.first_emission_block <= a.block);
        assert!((s.moving_price - (s.tao / s.alpha).min(1.0)).abs() <= 1e-15 * s.moving_price);
    }
}

#[test]
fn synthetic_medians_are_near_the_configured_ones() {
    // With 128 draws the sample median of a lognormal has log-sd about 1.2533 sigma / sqrt(128):
    // 0.144 for the pool (sigma 1.3) and 0.078 for the price (sigma 0.7). A factor of 2
    // (ln 2 = 0.69) is more than 4.8 of those standard errors.
    const FACTOR: f64 = 2.0;
    let mut config = RunConfig::default();
    let params =
        SyntheticInit { price_median: 0.02, pool_tao_median: 5_000.0, ..SyntheticInit::default() };
    config.init.synthetic = Some(params.clone());
    for seed in 1..=5 {
        let net = synthetic(&config, seed);
        assert_eq!(net.subnets.len(), 128);
        let pool = median(net.subnets.iter().map(|s| s.tao).collect());
        let price = median(net.subnets.iter().map(|s| s.tao / s.alpha).collect());
        assert!((pool / params.pool_tao_median).ln().abs() < FACTOR.ln(), "seed {seed}: {pool}");
        assert!((price / params.price_median).ln().abs() < FACTOR.ln(), "seed {seed}: {price}");
    }
    // The spread follows sigma: zero sigma gives exactly the medians.
    config.init.synthetic =
        Some(SyntheticInit { subnets: 3, pool_tao_sigma: 0.0, price_sigma: 0.0, ..params.clone() });
    for s in synthetic(&config, 7).subnets {
        assert!((s.tao / params.pool_tao_median - 1.0).abs() < 1e-12);
        assert!((s.tao / s.alpha / params.price_median - 1.0).abs() < 1e-12);
    }
}
