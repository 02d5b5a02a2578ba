//! GPU stages `epoch` (shaders/epoch.wgsl; CPU twin `taosim_core::cpu::epoch`) and `payouts`
//! (shaders/payouts.wgsl; CPU twin `taosim_core::cpu::payouts`): their parameters and the
//! epoch's per-path workspace.
//!
//! # Dispatch
//! Both stages run one workgroup of [`EPOCH_LANES`] lanes per path: lane `l` runs the epoch and
//! payout of slots `l, l + EPOCH_LANES, ...` (each slot's epoch is independent of the others');
//! the cross-slot sums (the pool TAO the root stake is attributed by, the payout totals) are
//! per-lane partial sums in workgroup memory, combined after a barrier, and lane 0 writes the
//! path-wide fields (`finish_payouts`).
//!
//! # Workspace
//! The arrays of the CPU's `EpochWorkspace` (and its `YumaWorkspace`) live in the path's scratch
//! `work` area (shared/state.wgsl `work_real_at` / `work_int_at`), one region of
//! [`lane_workspace_size`] per lane, laid out by `yuma_work()` in shaders/model/yuma.wgsl from
//! `n = V + M` and `V` (offsets within a region below). The regions are interleaved: element `k`
//! of lane `l`'s region is word `k · EPOCH_LANES + l` of the work area. Every lane walks its
//! arrays in the same order, so the lanes of a warp touch element `k` together, and interleaved
//! that is one run of [`EPOCH_LANES`] consecutive words (256 bytes in f64, one coalesced access)
//! where contiguous regions put each lane's word 16 KiB (V = 8, M = 32) from its neighbour's:
//! 32 separate 32-byte sectors, each used for 8 bytes.
//!
//! | reals at | array | length |
//! |---|---|---|
//! | `0·n` .. `10·n` | stake, active_stake, consensus, incentive, dividends, validator_trust, use_stake, median_score, median_stake, epoch_stake | `n` each |
//! | `10·n + k·V·n` | weights, clipped, bonds_input, ema, epoch_weights (k = 0..4) | `V·n` each |
//!
//! Integers: staked_rows (the CPU's `partition`) `[n]`, then new_permits `[n]`. `median_score` / `median_stake` are the
//! compact columns the CPU gathers into stack arrays in `weighted_median_col_with`; `epoch_stake`
//! and `epoch_weights` are `EpochWorkspace::{stake, weights}`.

use taosim_core::Real;
use taosim_core::cpu::epoch::{ValidatorGroups, cartel_miner_count, yuma_params};
use taosim_core::cpu::payouts::{DELEGATE_TAKE, RootClaim};
use taosim_core::engine::RunPlan;
use taosim_core::model::yuma::YumaVersion;
use taosim_core::rng::stream;
use taosim_core::state::YumaLayout;

use crate::params::Params;
use crate::types::EPOCH_LANES;

/// Adds the parameters of `epoch` and `payouts`: the payout fractions and root-claim kind, and
/// the Yuma model's values as the CPU epoch derives them (`yuma_params`, `ValidatorGroups`, the
/// groups' renormalised stake fractions, `cartel_miner_count`, the reveal lag, the draw streams).
pub fn params<R: Real>(p: &mut Params<R>, plan: &RunPlan) {
    let payout = &plan.payout;
    p.real("payout_miner_sell", payout.miner_sell);
    p.real("payout_validator_sell", payout.validator_sell);
    p.real("payout_owner_sell", payout.owner_sell);
    p.real("payout_delegate_take", DELEGATE_TAKE);
    p.int("payout_root_claim", u32::from(payout.root_claim == RootClaim::Keep));

    let yuma = &plan.config.yuma;
    let model = yuma_params(yuma);
    p.int("yuma_enabled", u32::from(yuma.enabled));
    p.real("epoch_tao_weight", plan.step.chain.tao_weight);
    p.int("yuma_version", u32::from(model.version == YumaVersion::Yuma3));
    p.real("yuma_kappa", model.kappa);
    p.real("yuma_bonds_moving_average", model.bonds_moving_average);
    p.real("yuma_bonds_penalty", model.bonds_penalty);
    p.int("yuma_max_validators", model.max_validators);
    p.int("yuma_liquid_alpha", u32::from(model.liquid_alpha.enabled));
    p.real("yuma_alpha_low", model.liquid_alpha.alpha_low);
    p.real("yuma_alpha_high", model.liquid_alpha.alpha_high);
    // liquid_alpha_rate converts `steepness / 100` (an f64 quotient) with R::of.
    p.real("yuma_liquid_slope", model.liquid_alpha.steepness / 100.0);

    let layout = plan.yuma;
    let groups = ValidatorGroups::of(layout.validators, yuma.cartel_stake, yuma.copier_stake);
    p.int("yuma_cartel_validators", groups.cartel as u32);
    p.int("yuma_copier_validators", groups.copiers as u32);
    // validator_stakes: each group's fraction renormalised over the non-empty groups, in f64.
    let fractions = [
        yuma.cartel_stake.max(0.0),
        yuma.copier_stake.max(0.0),
        (1.0 - yuma.cartel_stake.max(0.0) - yuma.copier_stake.max(0.0)).max(0.0),
    ];
    let bounds = [0, groups.cartel, groups.cartel + groups.copiers, layout.validators];
    let mut present = 0.0;
    for g in 0..3 {
        if bounds[g + 1] > bounds[g] {
            present += fractions[g];
        }
    }
    let share = |g: usize| if present > 0.0 { fractions[g] / present } else { 0.0 };
    p.real("yuma_cartel_fraction", share(0));
    p.real("yuma_copier_fraction", share(1));
    p.real("yuma_honest_fraction", share(2));
    p.real("yuma_zipf_exponent", -yuma.stake_zipf);
    p.int("yuma_cartel_miners", cartel_miner_count(yuma, &layout) as u32);
    p.int("yuma_lag", yuma.reveal_epochs.max(1));
    p.int("yuma_weight_noise_on", u32::from(yuma.weight_noise != 0.0));
    p.real("yuma_weight_noise", yuma.weight_noise);
    p.int("yuma_quality_walk", u32::from(yuma.miner_quality_sigma != 0.0));
    p.real("yuma_miner_quality_sigma", yuma.miner_quality_sigma);
    p.real("yuma_initial_quality_log_sigma", taosim_core::cpu::epoch::INITIAL_QUALITY_LOG_SIGMA);
    p.int("yuma_quality_stream", stream::YUMA_MINER_QUALITY);
    p.int("yuma_noise_stream", stream::YUMA_NOISE);
}

/// Reals and integers of one lane's epoch workspace for Yuma blocks of `yuma`'s sizes (module
/// docs; none with Yuma off).
pub fn lane_workspace_size(yuma: YumaLayout) -> (usize, usize) {
    let n = yuma.uids();
    (10 * n + 5 * yuma.validators * n, 2 * n)
}

/// Reals and integers of the epoch's per-path workspace (scratch `work`): one
/// [`lane_workspace_size`] region per lane of the stage. At the default V = 8, M = 32 that is
/// 32 × 2,040 reals (510 KiB in f64) per path, about the size of the path's Yuma blocks.
pub fn workspace_size(yuma: YumaLayout) -> (usize, usize) {
    let (reals, ints) = lane_workspace_size(yuma);
    let lanes = EPOCH_LANES as usize;
    (lanes * reals, lanes * ints)
}
