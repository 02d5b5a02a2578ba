//! The `epoch` stage: Yuma per subnet inside a path, then the shared payout (model.md §3 items
//! 6-7, §7).
//!
//! Closed forms where the model has them (honest incentive ∝ quality, the burn on the owner's uid,
//! delegation dividends less the 18% take, the zero-incentive fallback), the κ threshold of a
//! cartel, the copiers' reveal lag on a crafted sequence, and alpha accounting to 1e-12.

use taosim_core::config::YumaRunParams;
use taosim_core::cpu::StepParams;
use taosim_core::cpu::epoch::{
    EpochDraws, EpochWorkspace, INITIAL_QUALITY_LOG_SIGMA, ValidatorGroups, epoch, init_yuma_block,
    validator_stakes, walk_miner_quality,
};
use taosim_core::cpu::payouts::{DELEGATE_TAKE, PayoutParams, RootClaim, payouts};
use taosim_core::model::yuma::YumaVersion;
use taosim_core::rng::{PathRng, normal_icdf, stream};
use taosim_core::state::{BatchState, PathState, YumaLayout};

const SEED: u64 = 20_260_411;

fn layout_of(yuma: &YumaRunParams) -> YumaLayout {
    YumaLayout {
        validators: yuma.validators as usize,
        miners: yuma.miners as usize,
        reveal: yuma.reveal_epochs.max(1) as usize,
    }
}

/// A path with `subnets` active mainnet-scale subnets and freshly initialised Yuma blocks.
/// `scale` scales every amount (pools and holdings).
fn network_scaled(yuma: &YumaRunParams, subnets: usize, scale: f64) -> BatchState<f64> {
    let layout = layout_of(yuma);
    let mut b = BatchState::<f64>::with_yuma(1, subnets, layout);
    let rng = PathRng::new(SEED, 0, 0);
    let p = b.path(0);
    for i in 0..subnets {
        let tao = scale * 2.0e4 * (i + 1) as f64;
        let price = 0.01 + 0.005 * i as f64;
        p.sub.tao[i] = tao;
        p.sub.alpha[i] = tao / price;
        p.sub.w_quote[i] = 0.5;
        p.sub.held_organic[i] = 0.6 * tao / price;
        p.sub.held_validators[i] = 0.3 * tao / price;
        p.sub.held_miners[i] = 0.1 * tao / price;
        p.sub.alpha_out[i] = tao / price;
        p.sub.miner_burn[i] = 0.1 * i as f64;
        p.sub_int.active[i] = 1;
        let draws = EpochDraws { rng, step: 0, subnet: i as u32 };
        init_yuma_block(&layout, &mut *p.yuma_real, &mut *p.yuma_int, draws);
    }
    p.global.root_tao[0] = 5.0e6;
    b
}

/// A path of mainnet-scale subnets (pools 2e4 to 1.2e5 TAO).
fn network(yuma: &YumaRunParams, subnets: usize) -> BatchState<f64> {
    network_scaled(yuma, subnets, 1.0)
}

/// Pending alpha of one epoch of subnet `i`, as injection leaves it (owner 18%, root part taken
/// from the validator half).
fn add_pending(p: &mut PathState<'_, f64>, i: usize, alpha_out: f64) {
    let owner = 0.18 * alpha_out;
    let half = 0.5 * (alpha_out - owner);
    p.sub.pending_owner[i] += owner;
    p.sub.pending_server[i] += half;
    p.sub.pending_root[i] += 0.2 * half;
    p.sub.pending_validator[i] += 0.8 * half;
    p.sub.alpha_out[i] += alpha_out;
}

fn set_quality(p: &mut PathState<'_, f64>, layout: &YumaLayout, i: usize, quality: &[f64]) {
    let block = layout.block(&mut *p.yuma_real, &mut *p.yuma_int, i);
    block.miner_quality.copy_from_slice(quality);
}

/// Yuma on (the run default is off), without noise.
fn quiet(validators: u32, miners: u32) -> YumaRunParams {
    YumaRunParams {
        enabled: true,
        validators,
        miners,
        weight_noise: 0.0,
        miner_quality_sigma: 0.0,
        ..YumaRunParams::default()
    }
}

/// Cartel and copiers hold exactly their configured stake; inside a group stake follows Zipf.
#[test]
fn validator_groups_hold_their_exact_stake_fractions() {
    let groups = ValidatorGroups::of(8, 0.3, 0.2);
    assert_eq!((groups.cartel, groups.copiers, groups.honest), (2, 2, 4));
    let mut stake = [0.0_f64; 8];
    validator_stakes(1_000.0, 1.0, groups, 0.3, 0.2, &mut stake);
    assert!((stake[0] + stake[1] - 300.0).abs() < 1e-12);
    assert!((stake[2] + stake[3] - 200.0).abs() < 1e-12);
    assert!((stake[4..].iter().sum::<f64>() - 500.0).abs() < 1e-12);
    // Zipf 1 inside the cartel: 1/1 : 1/2.
    assert!((stake[0] / stake[1] - 2.0).abs() < 1e-12);
    // Honest: 1/5 : 1/8.
    assert!((stake[4] / stake[7] - 8.0 / 5.0).abs() < 1e-12);
    // A cartel of 99% keeps one honest validator for the remaining 1%.
    let groups = ValidatorGroups::of(8, 0.99, 0.0);
    assert_eq!((groups.cartel, groups.honest), (7, 1));
}

/// Honest validators without noise: incentive is the closed form `(1 − burn)·u_j / Σu` on the
/// miners and `burn` on the owner's uid (so the realised burn is the subnet's `miner_burn`), and
/// in steady state dividends are proportional to stake (Yuma2 and Yuma3).
#[test]
fn honest_validators_rank_miners_by_quality_and_earn_by_stake() {
    for version in [YumaVersion::Yuma2, YumaVersion::Yuma3] {
        let yuma = YumaRunParams { version, ..quiet(5, 6) };
        let layout = layout_of(&yuma);
        let mut b = network(&yuma, 3);
        let mut p = b.path(0);
        let quality = [0.7, 0.5, 2.0, 1.0, 3.0, 0.25];
        let params = StepParams::default();
        let payout = PayoutParams::default();
        let mut work = EpochWorkspace::<f64>::new(layout);
        let rng = PathRng::new(SEED, 0, 0);
        for i in 0..3 {
            set_quality(&mut p, &layout, i, &quality);
        }
        for step in 0..60 {
            for i in 0..3 {
                add_pending(&mut p, i, 100.0);
            }
            // Subnet 2 is the last one run: its outputs stay in the workspace.
            let pending_server = p.sub.pending_server[2];
            let pending_validator = p.sub.pending_validator[2];
            let totals = epoch(&params, &yuma, &payout, &rng, step, &mut work, &mut p);
            let burn = p.sub.miner_burn[2];
            let v = layout.validators;
            let u_sum: f64 = quality[1..].iter().sum();
            assert!((work.yuma.incentive[v] - burn).abs() < 1e-12);
            for (m, &u) in quality.iter().enumerate().skip(1) {
                let expected = (1.0 - burn) * u / u_sum;
                assert!((work.yuma.incentive[v + m] - expected).abs() < 1e-12, "miner {m}");
            }
            // Paid by incentive: the owner's uid is burned at exactly the miner_burn fraction.
            assert!((work.paid()[v] - burn * pending_server).abs() < 1e-9);
            let burned_expected: f64 = (0..3).map(|i| 0.1 * i as f64 * 41.0).sum();
            assert!((totals.burned - burned_expected).abs() < 1e-9, "{}", totals.burned);
            let paid_validators: f64 = work.paid()[..v].iter().sum();
            assert!((paid_validators - pending_validator).abs() < 1e-9);
            if step >= 20 {
                let stake_sum: f64 = work.stake[..v].iter().sum();
                for i in 0..v {
                    let share = work.paid()[i] / paid_validators;
                    let expected = work.stake[i] / stake_sum;
                    assert!((share - expected).abs() < 1e-9, "{version:?} validator {i}");
                }
            }
        }
        // Ranking: higher quality, higher incentive.
        let v = layout.validators;
        for a in 1..6 {
            for c in 1..6 {
                if quality[a] > quality[c] {
                    assert!(work.yuma.incentive[v + a] > work.yuma.incentive[v + c]);
                }
            }
        }
        assert_eq!(p.sub_int.epochs[2], 60);
    }
}

/// κ = 0.5: a cartel weighting only its own (worthless) miners gets next to nothing from a
/// consensus it cannot reach with 30% of the stake (only what honest validators' weight noise puts
/// on its miners), and all the incentive with 70%.
#[test]
fn cartel_captures_incentive_only_above_kappa() {
    for (cartel_stake, low, high) in [(0.3, 0.0, 0.01), (0.7, 0.99, 1.0)] {
        let yuma = YumaRunParams {
            kappa: 0.5,
            cartel_stake,
            cartel_miners: 2,
            weight_noise: 0.02,
            ..quiet(10, 8)
        };
        let layout = layout_of(&yuma);
        let mut b = network(&yuma, 2);
        let mut p = b.path(0);
        for i in 0..2 {
            p.sub.miner_burn[i] = 0.0;
            // The cartel's miners (the last two) are worth nothing to honest validators.
            set_quality(&mut p, &layout, i, &[0.0, 1.0, 1.5, 0.8, 1.2, 2.0, 0.0, 0.0]);
        }
        let mut work = EpochWorkspace::<f64>::new(layout);
        let rng = PathRng::new(SEED, 0, 1);
        let epochs = 40;
        for step in 0..epochs {
            for i in 0..2 {
                add_pending(&mut p, i, 50.0);
            }
            epoch(
                &StepParams::default(),
                &yuma,
                &PayoutParams::default(),
                &rng,
                step,
                &mut work,
                &mut p,
            );
        }
        let stake_sum: f64 = work.stake.iter().sum();
        let groups = ValidatorGroups::of(10, cartel_stake, 0.0);
        let cartel: f64 = work.stake[..groups.cartel].iter().sum();
        assert!((cartel / stake_sum - cartel_stake).abs() < 1e-12);
        for i in 0..2 {
            let mean = p.sub.cartel_share_sum[i] / f64::from(p.sub_int.epochs[i]);
            assert_eq!(p.sub_int.epochs[i], epochs);
            assert!(mean >= low && mean <= high, "cartel {cartel_stake}: mean share {mean}");
        }
        let last: f64 = work.yuma.incentive[18 - 2..].iter().sum();
        assert!(last >= low && last <= high, "cartel {cartel_stake}: last share {last}");
    }
}

/// Copiers submit the consensus of `reveal_epochs` epochs ago: nothing before that much history
/// exists, then exactly the consensus recorded two epochs earlier, on a sequence where the best
/// miner changes every epoch.
#[test]
fn copiers_submit_the_consensus_revealed_epochs_ago() {
    let yuma = YumaRunParams { copier_stake: 0.2, reveal_epochs: 2, ..quiet(5, 6) };
    let layout = layout_of(&yuma);
    assert_eq!(ValidatorGroups::of(5, 0.0, 0.2).copiers, 1);
    let mut b = network(&yuma, 1);
    let mut p = b.path(0);
    p.sub.miner_burn[0] = 0.25;
    let mut work = EpochWorkspace::<f64>::new(layout);
    let rng = PathRng::new(SEED, 0, 2);
    let n = layout.uids();
    let mut consensus: Vec<Vec<f64>> = Vec::new();
    for step in 0..8_u32 {
        let mut quality = vec![0.0, 1.0, 1.0, 1.0, 1.0, 1.0];
        quality[1 + step as usize % 5] = 4.0 + f64::from(step);
        set_quality(&mut p, &layout, 0, &quality);
        add_pending(&mut p, 0, 10.0);
        epoch(
            &StepParams::default(),
            &yuma,
            &PayoutParams::default(),
            &rng,
            step,
            &mut work,
            &mut p,
        );
        let copier_row = &work.weights[..n];
        if step < 2 {
            assert!(copier_row.iter().all(|&w| w == 0.0), "step {step}: {copier_row:?}");
        } else {
            assert_eq!(copier_row, &consensus[step as usize - 2][..], "step {step}");
            assert!(copier_row.iter().any(|&w| w > 0.0));
        }
        consensus.push(work.yuma.consensus.clone());
    }
    // The sequence really changes: consecutive consensus vectors differ.
    assert_ne!(consensus[5], consensus[6]);
}

/// One epoch's alpha: everything pending ends with a holder class, burned, or in the pool (root
/// claims swapped and post-payout sales), to 1e-12 relative; the root yield follows the claim.
#[test]
fn every_pending_alpha_is_paid_burned_or_swapped() {
    for root_claim in [RootClaim::Swap, RootClaim::Keep] {
        let yuma = YumaRunParams {
            enabled: true,
            cartel_stake: 0.25,
            copier_stake: 0.15,
            weight_noise: 0.2,
            ..YumaRunParams::default()
        };
        let layout = layout_of(&yuma);
        let subnets = 6;
        // Small pools and holdings (about 1e3 alpha), so that state differences resolve the
        // epoch's few hundred alpha to 1e-12.
        let mut b = network_scaled(&yuma, subnets, 1e-3);
        let mut p = b.path(0);
        let payout = PayoutParams { root_claim, ..PayoutParams::default() };
        let mut work = EpochWorkspace::<f64>::new(layout);
        let rng = PathRng::new(SEED, 3, 0);
        for step in 0..5 {
            for i in 0..subnets {
                add_pending(&mut p, i, 37.0 + 11.0 * i as f64);
            }
            let held = |p: &PathState<'_, f64>, i: usize| {
                p.sub.held_organic[i]
                    + p.sub.held_miners[i]
                    + p.sub.held_validators[i]
                    + p.sub.held_owner[i]
                    + p.sub.held_root[i]
            };
            let before: Vec<(f64, f64, f64, f64)> = (0..subnets)
                .map(|i| {
                    let pending = p.sub.pending_server[i]
                        + p.sub.pending_validator[i]
                        + p.sub.pending_owner[i]
                        + p.sub.pending_root[i];
                    (pending, held(&p, i), p.sub.alpha_out[i], p.sub.alpha[i])
                })
                .collect();
            let root_before = p.global.root_tao[0];
            let yield_before = p.global.root_yield_log[0];
            let totals =
                epoch(&StepParams::default(), &yuma, &payout, &rng, step, &mut work, &mut p);
            let mut pending_sum = 0.0;
            let mut accounted = 0.0;
            for (i, &(pending, held_before, out_before, pool_before)) in before.iter().enumerate() {
                let to_pool = out_before - p.sub.alpha_out[i];
                assert!((p.sub.alpha[i] - pool_before - to_pool).abs() <= 1e-9 * pool_before);
                pending_sum += pending;
                accounted += held(&p, i) - held_before + to_pool;
                assert_eq!(p.sub.pending_server[i] + p.sub.pending_validator[i], 0.0);
            }
            accounted += totals.burned;
            assert!(
                (accounted - pending_sum).abs() <= 1e-12 * pending_sum,
                "{root_claim:?} step {step}: {accounted} vs {pending_sum}"
            );
            let g = &p.global;
            assert_eq!(g.root_claimed_last[0], totals.root_claimed);
            let expected_yield = yield_before + (totals.root_claimed / root_before).ln_1p();
            assert!((g.root_yield_log[0] - expected_yield).abs() < 1e-15);
            assert!(totals.root_claimed > 0.0);
            let restaked = if root_claim == RootClaim::Swap { totals.root_claimed } else { 0.0 };
            assert!((g.root_tao[0] - root_before - restaked).abs() < 1e-9);
        }
    }
}

/// No validator sets weights (every miner worthless, no burn): the epoch pays no incentive, so
/// validators and their nominators receive the server part too (chain.md §3.5 step 2); the
/// nominators' dividends are their stake share less the 18% take.
#[test]
fn without_weights_validators_take_the_server_part() {
    let yuma = quiet(4, 5);
    let layout = layout_of(&yuma);
    let mut b = network(&yuma, 1);
    let mut p = b.path(0);
    p.sub.miner_burn[0] = 0.0;
    set_quality(&mut p, &layout, 0, &[0.0; 5]);
    add_pending(&mut p, 0, 100.0);
    let (server, validator) = (p.sub.pending_server[0], p.sub.pending_validator[0]);
    let (organic, validators, miners) =
        (p.sub.held_organic[0], p.sub.held_validators[0], p.sub.held_miners[0]);
    let payout = PayoutParams { validator_sell: 0.0, ..PayoutParams::default() };
    let mut work = EpochWorkspace::<f64>::new(layout);
    let totals = epoch(
        &StepParams::default(),
        &yuma,
        &payout,
        &PathRng::new(SEED, 0, 0),
        0,
        &mut work,
        &mut p,
    );
    assert!(work.yuma.incentive.iter().all(|&x| x == 0.0));
    assert_eq!(totals.burned, 0.0);
    assert_eq!(p.sub.held_miners[0], miners);
    let pot = server + validator;
    let organic_dividends = pot * organic / (organic + validators) * (1.0 - DELEGATE_TAKE);
    assert!((p.sub.held_organic[0] - organic - organic_dividends).abs() < 1e-9);
    assert!((p.sub.held_validators[0] - validators - (pot - organic_dividends)).abs() < 1e-9);
    let rate = organic_dividends / organic;
    assert!((p.sub.dividend_rate[0] - rate).abs() < 1e-15);
    assert!((p.sub.yield_log[0] - rate.ln_1p()).abs() < 1e-15);
    assert_eq!(p.sub.cartel_share_sum[0], 0.0);
    assert_eq!(p.sub_int.epochs[0], 1);
    // Per uid: the pot follows active stake when there are no dividends either.
    let paid: f64 = work.paid()[..4].iter().sum();
    assert!((paid - pot).abs() < 1e-9);
}

/// With Yuma off the stage is the direct 50/50 payout (`payouts`), bit for bit.
#[test]
fn yuma_off_is_the_direct_payout() {
    let yuma = YumaRunParams { enabled: false, ..YumaRunParams::default() };
    let mut a = network(&yuma, 4);
    let mut b = a.clone();
    for state in [&mut a, &mut b] {
        let mut p = state.path(0);
        for i in 0..4 {
            add_pending(&mut p, i, 80.0);
        }
    }
    let params = StepParams::default();
    let payout = PayoutParams::default();
    let mut work = EpochWorkspace::<f64>::new(layout_of(&yuma));
    let ta = epoch(&params, &yuma, &payout, &PathRng::new(1, 0, 0), 0, &mut work, &mut a.path(0));
    let tb = payouts(&params, &payout, &mut b.path(0));
    assert_eq!(ta, tb);
    assert_eq!(a, b);
    // The direct split burns exactly miner_burn of the server part.
    let burned: f64 = (0..4).map(|i| 0.1 * i as f64 * 0.5 * 0.82 * 80.0).sum();
    assert!((ta.burned - burned).abs() < 1e-9);
}

/// The documented draw addresses: miner `j`'s walk inverts word `j % 2` of block `(step, subnet,
/// YUMA_MINER_QUALITY + j/2)`, its initial quality word `2 + j % 2`; the walk reflects at 0.
#[test]
fn miner_quality_draws_follow_the_documented_addresses() {
    let rng = PathRng::new(SEED, 4, 9);
    let draws = EpochDraws { rng, step: 17, subnet: 3 };
    let layout = YumaLayout { validators: 2, miners: 5, reveal: 1 };
    let mut reals = vec![0.0_f64; 4 * layout.reals()];
    let mut ints = vec![0_u32; 4 * layout.ints()];
    init_yuma_block(&layout, &mut reals, &mut ints, draws);
    let block = layout.block(&mut reals, &mut ints, 3);
    assert_eq!(block.permits, &[1, 1, 0, 0, 0, 0, 0]);
    let mut walked = [0.0_f64, 0.01, 1.0, 2.0, 0.5];
    let start = walked;
    walk_miner_quality(&mut walked, 0.3, draws);
    for j in 0..5 {
        let w = rng.block(17, 3, stream::YUMA_MINER_QUALITY + (j / 2) as u32);
        let (walk, init) = (normal_icdf::<f64>(w[j % 2]), normal_icdf::<f64>(w[2 + j % 2]));
        assert_eq!(block.miner_quality[j], (INITIAL_QUALITY_LOG_SIGMA * init).exp());
        assert_eq!(walked[j], (start[j] + 0.3 * walk).abs());
    }
}
