//! Stage `epoch` (model.md §3 items 6-7, §7): one Yuma epoch per active subnet, then the payout.
//!
//! With `yuma.enabled` every step runs one epoch per active subnet (one step is one epoch at the
//! default 361 blocks; the chain's per-netuid stagger is dropped, cpu module docs). Uids `0..V` are
//! validators, `V..V+M` miners; uid `V` is the subnet owner's (burn) miner. Per subnet:
//!
//! 1. **Validator stake** (chain.md §5.2 step 2): the validator-class alpha (`held_validators`
//!    plus the organic stake delegated to validators, `held_organic`) plus `τw` times the subnet's
//!    share of root stake. Root stakers' validators are attributed to subnets by pool size:
//!    `root_tao · T_i / Σ_active T` (the chain's validators carry one root stake into every subnet
//!    they validate; sizing their presence by pool TAO keeps the total root weight finite and
//!    tracks where the big validators are). The total is split by [`validator_stakes`]: the
//!    validators form three groups by index ([`ValidatorGroups`]: cartel first, then copiers, then
//!    honest), each group holds exactly its configured fraction (`cartel_stake`, `copier_stake`,
//!    the rest), split inside the group by a Zipf law `∝ 1/(k+1)^stake_zipf` of the uid index k.
//! 2. **Miner quality** ([`walk_miner_quality`]): `u_j ← |u_j + σ_u z|` (a random walk reflected
//!    at 0, so qualities stay non-negative without piling up on 0). [`init_yuma_block`] draws the
//!    start qualities, lognormal with median 1 and log-sd [`INITIAL_QUALITY_LOG_SIGMA`]; the engine
//!    calls it at path start and when a subnet registers into a slot.
//! 3. **Weights** ([`build_weights`], rows = validators, columns = all uids, validator columns 0):
//!    - honest: `miner_burn` on the owner's uid `V` (the owner burns through its own uid, as
//!      mainnet owners do, by having validators weight it), the rest `∝ max(0, u_j + σ_w ε_ij)`
//!      over the other miners;
//!    - cartel: equal weights on the cartel miners, the last `cartel_miners` uids (never uid `V`);
//!    - copiers: the consensus of `reveal_epochs` epochs ago (commit-reveal: the newest consensus a
//!      copier can see; `reveal_epochs = 0` is read as 1, the last revealed epoch), all zero
//!      until that much history exists.
//! 4. **Yuma** ([`run_epoch`], [`BondStorage::Float`], parameters from [`YumaRunParams`]); bonds
//!    and permits are updated in the subnet's Yuma block and the consensus pushed onto its history.
//! 5. **Payout** through the shared [`settle_subnet`]: miners share the pending server alpha by
//!    incentive, the owner uid's incentive is burned (so the realised burn is `miner_burn` under an
//!    honest consensus, less when a cartel captures the consensus); with no incentive validators
//!    take the server part too. The cartel miners' share of incentive (0 when there is none) is
//!    added to `cartel_share_sum` and `epochs` counts the epoch. Delegation dividends, yields, root
//!    claims and the post-payout selling are those of the Yuma-off path (payouts module docs).
//!
//! # Random draws (model.md §11)
//! Miner quality: block `(step, subnet, YUMA_MINER_QUALITY + j/2)`, miner `j` inverts word
//! `j % 2` for the walk and word `2 + j % 2` for its initial quality, `normal_icdf(w)` (so a
//! registration and the walk of the same step never share words). Weight noise
//! (the bulk of a step's normals, `V·M` per subnet): entry `k = i·M + j` for validator `i` and
//! miner `j` takes word `k % 4` of block `(step, subnet, YUMA_NOISE + k/4)` and inverts it,
//! `normal_icdf(w)` (one normal per word, no `cos`/`sin` and mostly no `ln`); ids stay below
//! `YUMA_NOISE + 4096` for `V ≤ 64`, `M ≤ 256`. No draws are made when the corresponding sigma
//! is 0.
//!
//! # CPU form (same bits as the shader's per-entry form)
//! The shader draws each entry's block where it needs it. Here the draws are the subnet-epoch's
//! hottest part, so they come in chunks from kernels at the CPU's widest vector level (chosen at
//! run time): the blocks of consecutive stream ids and every word's normal in branch-free loops,
//! the few words outside the central region finished after in eight-lane batches
//! (`rng::normals_of_words`). The epoch draws the miner walk's normals and the honest rows'
//! first noise chunk in one call ([`StepRng::fill_normals_and_word_pairs`], so their tail words
//! share batches), into scratch of the [`EpochWorkspace`]; [`walk_miner_quality`] and
//! [`build_weights`] alone draw for themselves ([`StepRng::fill_word_pair_normals`],
//! [`StepRng::fill_normals`]), and the tests hold the two forms equal. The words, and every float
//! operation on them, are those of the per-entry form. The honest rows' entries
//! come first; then their sums (each from +0 over miners `1..M` in column order, as the per-entry
//! form adds them) run side by side, their addition chains independent. The scaling runs over
//! the whole miner row from miner 0 (the burn then overwrites that entry), so its vectorised loop
//! has no scalar remainder. (Sessions 7 and 13 of docs/performance.md measured other schedules.)
//!
//! [`settle_subnet`]: super::payouts::settle_subnet
//! [`run_epoch`]: crate::model::yuma::run_epoch

use crate::Real;
use crate::config::{MAX_VALIDATORS, YumaRunParams};
use crate::model::yuma::{
    BondStorage, LiquidAlpha, YumaParams, YumaWorkspace, row_sums_from, run_epoch,
};
use crate::real::safe_div;
use crate::rng::{PathRng, StepRng, stream};
use crate::state::{PathState, YumaLayout};

use super::StepParams;
use super::payouts::{
    EpochSplit, MinerIncentive, PayoutParams, PayoutSums, PayoutTotals, finish_payouts, payouts,
    settle_subnet,
};

/// Log-sd of the initial miner qualities (lognormal, median 1): miners differ by a factor of
/// about 1.6 at one standard deviation, enough for honest weights to rank them.
pub const INITIAL_QUALITY_LOG_SIGMA: f64 = 0.5;

/// The epoch's work arrays for one thread: the Yuma workspace and the epoch's inputs and payouts.
/// Allocated once per thread and reused for every subnet and path.
#[derive(Clone, Debug)]
pub struct EpochWorkspace<R: Real> {
    layout: YumaLayout,
    /// Yuma's work arrays and the last epoch's outputs (consensus, incentive, dividends, ...).
    pub yuma: YumaWorkspace<R>,
    /// Stake of each uid in the last epoch, `[V+M]` (miners 0).
    pub stake: Vec<R>,
    /// Weights of the last epoch, `[V × (V+M)]` row-major, each non-empty row summing to 1.
    pub weights: Vec<R>,
    /// The last epoch's split and incentive total, from which [`EpochWorkspace::paid`] computes
    /// what each uid earned (on demand: a run reads it only in tests).
    last_split: (EpochSplit<R>, R),
    /// [`validator_stake_factors`]' group fractions `[V]`.
    group_fraction: Vec<R>,
    /// [`validator_stake_factors`]' Zipf shares `[V]`.
    zipf_share: Vec<R>,
    /// A subnet-epoch's draws ([`EpochDraws::first_normals`]): the normals of the first noise
    /// chunk (`4·NOISE_CHUNK`, also `build_weights`' buffer for later chunks) and of the walk
    /// (`M`), and the words they come from.
    draw_normals: Vec<R>,
    draw_words: Vec<u32>,
}

impl<R: Real> EpochWorkspace<R> {
    /// Arrays for subnets of `layout`'s sizes.
    pub fn new(layout: YumaLayout) -> Self {
        let n = layout.uids();
        Self {
            layout,
            yuma: YumaWorkspace::new(n, layout.validators),
            stake: vec![R::zero(); n],
            weights: vec![R::zero(); layout.validators * n],
            last_split: (EpochSplit::default(), R::zero()),
            group_fraction: vec![R::zero(); layout.validators],
            zipf_share: vec![R::zero(); layout.validators],
            draw_normals: vec![R::zero(); 4 * NOISE_CHUNK + layout.miners],
            draw_words: vec![0; StepRng::words_for(NOISE_CHUNK, layout.miners)],
        }
    }

    /// The sizes this workspace serves.
    pub fn layout(&self) -> YumaLayout {
        self.layout
    }

    /// Alpha each uid earned in the last epoch, `[V+M]`: miners their incentive (the owner uid's
    /// is burned), validators their dividends before delegation, or their active stake (else
    /// stake) when the epoch paid no dividends (the fallback of chain.md §5.2 step 12).
    pub fn paid(&self) -> Vec<R> {
        let (split, incentive_total) = self.last_split;
        let out = &self.yuma;
        let validators = self.layout.validators;
        let mut paid = vec![R::zero(); self.layout.uids()];
        let (mut dividend_total, mut active_total, mut stake_total) =
            (R::zero(), R::zero(), R::zero());
        for i in 0..validators {
            dividend_total += out.dividends[i];
            active_total += out.active_stake[i];
            stake_total += out.stake[i];
        }
        let (validator_paid, miner_paid) = paid.split_at_mut(validators);
        let miners_share = split.miners + split.burned;
        for (paid, &incentive) in miner_paid.iter_mut().zip(&out.incentive[validators..]) {
            *paid = miners_share * safe_div(incentive, incentive_total);
        }
        if dividend_total == R::zero() && active_total == R::zero() {
            for (paid, &stake) in validator_paid.iter_mut().zip(&out.stake[..validators]) {
                *paid = split.validators * safe_div(stake, stake_total);
            }
            return paid;
        }
        let (basis, total) = if dividend_total != R::zero() {
            (&out.dividends[..validators], dividend_total)
        } else {
            (&out.active_stake[..validators], active_total)
        };
        for (paid, &x) in validator_paid.iter_mut().zip(basis) {
            *paid = split.validators * x / total;
        }
        paid
    }
}

/// The Yuma parameters of the run's subnets: the run config's values, float bonds, every
/// validator eligible for a permit.
pub fn yuma_params(run: &YumaRunParams) -> YumaParams {
    YumaParams {
        version: run.version,
        kappa: run.kappa,
        bonds_moving_average: run.bonds_moving_average,
        bonds_penalty: run.bonds_penalty,
        max_validators: run.validators,
        liquid_alpha: LiquidAlpha { enabled: run.liquid_alpha, ..LiquidAlpha::default() },
        bond_storage: BondStorage::Float,
    }
}

/// What a validator does when it sets weights.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ValidatorRole {
    /// Weights the cartel's miners only.
    Cartel,
    /// Copies the stale consensus.
    Copier,
    /// Weights miners by (noisy) quality.
    Honest,
}

/// The validators' groups by index: `0..cartel` the cartel, then `copiers` copiers, then honest.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ValidatorGroups {
    /// Validators in the cartel (the lowest indices, i.e. the largest Zipf weights).
    pub cartel: usize,
    /// Weight copiers (after the cartel).
    pub copiers: usize,
    /// Honest validators (the rest).
    pub honest: usize,
}

impl ValidatorGroups {
    /// Group sizes for `validators` validators: a group with a positive stake fraction gets
    /// `round(fraction · V)` members, at least one; an honest remainder of stake keeps at least
    /// one honest validator when `V` allows. With too few validators for every group with stake, a
    /// group can stay empty and [`validator_stakes`] gives its fraction to the others.
    pub fn of(validators: usize, cartel_stake: f64, copier_stake: f64) -> Self {
        let size = |fraction: f64, room: usize| {
            if fraction > 0.0 && room > 0 {
                ((fraction * validators as f64).round() as usize).clamp(1, room)
            } else {
                0
            }
        };
        let mut cartel = size(cartel_stake, validators);
        let mut copiers = size(copier_stake, validators - cartel);
        if honest_fraction(cartel_stake, copier_stake) > 0.0 && cartel + copiers == validators {
            if copiers > 1 && copiers >= cartel {
                copiers -= 1;
            } else if cartel > 1 {
                cartel -= 1;
            }
        }
        Self { cartel, copiers, honest: validators - cartel - copiers }
    }

    /// The role of validator `i`.
    pub fn role(&self, i: usize) -> ValidatorRole {
        if i < self.cartel {
            ValidatorRole::Cartel
        } else if i < self.cartel + self.copiers {
            ValidatorRole::Copier
        } else {
            ValidatorRole::Honest
        }
    }
}

/// The honest validators' stake fraction, `max(0, 1 − cartel − copiers)`.
fn honest_fraction(cartel_stake: f64, copier_stake: f64) -> f64 {
    (1.0 - cartel_stake.max(0.0) - copier_stake.max(0.0)).max(0.0)
}

/// Splits `total` validator stake over `out.len()` validators: group `g` of `groups` holds its
/// fraction (`cartel_stake`, `copier_stake`, the rest), renormalised over the non-empty groups,
/// and inside a group validator `k` gets `∝ 1/(k+1)^zipf`.
pub fn validator_stakes<R: Real>(
    total: R,
    zipf: f64,
    groups: ValidatorGroups,
    cartel_stake: f64,
    copier_stake: f64,
    out: &mut [R],
) {
    let fractions = group_fractions(groups, cartel_stake, copier_stake, out.len());
    let bounds = [0, groups.cartel, groups.cartel + groups.copiers, out.len()];
    let exponent = R::of(-zipf);
    for g in 0..3 {
        let mut zipf_sum = R::zero();
        for k in bounds[g]..bounds[g + 1] {
            zipf_sum += R::of_usize(k + 1).powf(exponent);
        }
        let group_stake = total * R::of(fractions[g]);
        for k in bounds[g]..bounds[g + 1] {
            out[k] = group_stake * safe_div(R::of_usize(k + 1).powf(exponent), zipf_sum);
        }
    }
}

/// Each group's stake fraction (cartel, copiers, honest) renormalised over the non-empty groups,
/// in `f64` as [`validator_stakes`] converts it.
fn group_fractions(
    groups: ValidatorGroups,
    cartel_stake: f64,
    copier_stake: f64,
    validators: usize,
) -> [f64; 3] {
    let fractions =
        [cartel_stake.max(0.0), copier_stake.max(0.0), honest_fraction(cartel_stake, copier_stake)];
    let bounds = [0, groups.cartel, groups.cartel + groups.copiers, validators];
    let mut present = 0.0;
    for g in 0..3 {
        if bounds[g + 1] > bounds[g] {
            present += fractions[g];
        }
    }
    fractions.map(|f| if present > 0.0 { f / present } else { 0.0 })
}

/// The factors of [`validator_stakes`] that do not depend on the total, per validator: its
/// group's fraction `R::of(f_g)` and its Zipf share `safe_div(w_k, Σ_group w)`. Stakes are then
/// `(total · group_fraction[k]) · zipf_share[k]`, bit for bit [`validator_stakes`]' result, without
/// its `2V` powers per subnet (the engine computes the factors once per path-step).
pub fn validator_stake_factors<R: Real>(
    zipf: f64,
    groups: ValidatorGroups,
    cartel_stake: f64,
    copier_stake: f64,
    group_fraction: &mut [R],
    zipf_share: &mut [R],
) {
    let validators = group_fraction.len();
    let fractions = group_fractions(groups, cartel_stake, copier_stake, validators);
    let bounds = [0, groups.cartel, groups.cartel + groups.copiers, validators];
    let exponent = R::of(-zipf);
    for g in 0..3 {
        let mut zipf_sum = R::zero();
        for k in bounds[g]..bounds[g + 1] {
            zipf_sum += R::of_usize(k + 1).powf(exponent);
        }
        for k in bounds[g]..bounds[g + 1] {
            group_fraction[k] = R::of(fractions[g]);
            zipf_share[k] = safe_div(R::of_usize(k + 1).powf(exponent), zipf_sum);
        }
    }
}

/// Where a subnet's draws of this step come from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EpochDraws {
    /// The path's stream.
    pub rng: PathRng,
    /// The engine step.
    pub step: u32,
    /// The subnet slot.
    pub subnet: u32,
}

/// Most miners whose quality normals come from one [`StepRng::fill_word_pair_normals`] call (a
/// stack buffer of this many serves walks of any length, chunk by chunk): 32 blocks.
const QUALITY_CHUNK: usize = 64;

/// Most weight-noise blocks inverted per [`StepRng::fill_normals`] call: 64 blocks are the whole
/// noise of 8 honest validators over 32 miners, so the baseline subnet fills them in one call.
const NOISE_CHUNK: usize = 64;

impl EpochDraws {
    /// The path's stream at this step: the step's fixed part of Philox rounds 1-3 once, for all
    /// the blocks a subnet-epoch draws (the same words as [`PathRng::block`]).
    fn step_rng(&self) -> StepRng {
        self.rng.at_step(self.step)
    }

    /// The normals of words `first_word` and `first_word + 1` of the quality blocks of miner
    /// pairs `first_pair ..`, one per entry of `out`.
    fn quality_normals<R: Real>(
        &self,
        step_rng: &StepRng,
        first_pair: usize,
        first_word: usize,
        out: &mut [R],
    ) {
        debug_assert!(
            first_pair + out.len().div_ceil(2) <= stream::YUMA_MINER_QUALITY_LEN as usize
        );
        let first_stream = stream::YUMA_MINER_QUALITY + first_pair as u32;
        step_rng.fill_word_pair_normals(self.subnet, first_stream, first_word, out);
    }

    /// A subnet-epoch's first draws in one call ([`StepRng::fill_normals_and_word_pairs`]):
    /// the noise normals of `noise` (blocks `first_quad ..`, `quads` of them) into
    /// `normals[..4·quads]` and the walk's `walk` normals (words 0 and 1 of the quality
    /// blocks) after them. `words` is the call's scratch.
    fn first_normals<R: Real>(
        &self,
        step_rng: &StepRng,
        noise: NoiseChunk,
        walk: usize,
        words: &mut [u32],
        normals: &mut [R],
    ) {
        debug_assert!(noise.first_quad + noise.quads <= stream::YUMA_NOISE_LEN as usize);
        debug_assert!(walk.div_ceil(2) <= stream::YUMA_MINER_QUALITY_LEN as usize);
        step_rng.fill_normals_and_word_pairs(
            self.subnet,
            (stream::YUMA_NOISE + noise.first_quad as u32, noise.quads),
            (stream::YUMA_MINER_QUALITY, 0),
            words,
            &mut normals[..4 * noise.quads + walk],
        );
    }

    /// The noise normals of entries `4·first_quad ..`, one per entry of `out` (whole blocks).
    fn noise_normals<R: Real>(&self, step_rng: &StepRng, first_quad: usize, out: &mut [R]) {
        debug_assert!(first_quad + out.len() / 4 <= stream::YUMA_NOISE_LEN as usize);
        step_rng.fill_normals(self.subnet, stream::YUMA_NOISE + first_quad as u32, out);
    }
}

/// One epoch of the miner-quality walk: `u_j ← |u_j + sigma · z_j|` (module docs for the draws).
pub fn walk_miner_quality<R: Real>(quality: &mut [R], sigma: f64, draws: EpochDraws) {
    if sigma == 0.0 {
        return;
    }
    // Words 0 and 1 of each quality block (`init_yuma_block` uses 2 and 3).
    let sigma = R::of(sigma);
    for_each_quality_pair(draws, quality, 0, |q, z| walk_step(q, sigma, z));
}

/// One miner's step of the quality walk, reflected at 0.
#[inline(always)]
fn walk_step<R: Real>(quality: &mut R, sigma: R, z: R) {
    *quality = (*quality + sigma * z).abs();
}

/// Sets each miner's entry of `quality` by `set(entry, z)`, with `z` word `first_word + j % 2`
/// of quality block `j / 2` inverted ([`normal_icdf`]) for miner `j`: the same numbers as the
/// shader's per-miner form, drawn for all miners by one vectorised call
/// ([`StepRng::fill_word_pair_normals`]).
fn for_each_quality_pair<R: Real>(
    draws: EpochDraws,
    quality: &mut [R],
    first_word: usize,
    mut set: impl FnMut(&mut R, R),
) {
    let step_rng = draws.step_rng();
    let mut normals = [R::zero(); QUALITY_CHUNK];
    for (first, quality) in quality.chunks_mut(QUALITY_CHUNK).enumerate() {
        let normals = &mut normals[..quality.len()];
        draws.quality_normals(&step_rng, first * QUALITY_CHUNK / 2, first_word, normals);
        for (q, &z) in quality.iter_mut().zip(normals.iter()) {
            set(q, z);
        }
    }
}

/// Weight-noise blocks held in `build_weights`' buffer: blocks `first_quad ..
/// first_quad + quads`, four normals each.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct NoiseChunk {
    first_quad: usize,
    quads: usize,
}

impl NoiseChunk {
    /// The chunk `build_weights` draws first for `layout`'s honest rows (none without noise):
    /// from the block of the first honest row's miner 1, up to `NOISE_CHUNK` blocks.
    fn first(yuma: &YumaRunParams, layout: &YumaLayout) -> Self {
        let (validators, miners) = (layout.validators, layout.miners);
        let groups = ValidatorGroups::of(validators, yuma.cartel_stake, yuma.copier_stake);
        if yuma.weight_noise == 0.0 || groups.honest == 0 || miners < 2 {
            return Self::default();
        }
        let first_quad = ((validators - groups.honest) * miners + 1) / 4;
        let noise_quads = (validators * miners).div_ceil(4);
        Self { first_quad, quads: NOISE_CHUNK.min(noise_quads - first_quad) }
    }
}

/// Starts subnet `subnet`'s Yuma block in `yuma_real` / `yuma_int` (one path's buffers): fresh
/// lognormal qualities, no bonds, no consensus history, and permits for every validator uid (a
/// subnet's validators are established when it starts emitting, which on the chain is 50,400
/// blocks after registration). Call at path start and when a subnet registers into the slot.
pub fn init_yuma_block<R: Real>(
    layout: &YumaLayout,
    yuma_real: &mut [R],
    yuma_int: &mut [u32],
    draws: EpochDraws,
) {
    let block = layout.block(yuma_real, yuma_int, draws.subnet as usize);
    let sigma = R::of(INITIAL_QUALITY_LOG_SIGMA);
    // Words 2 and 3 of each quality block (the walk of the same step uses 0 and 1).
    for_each_quality_pair(draws, block.miner_quality, 2, |q, z| *q = (sigma * z).exp());
    block.bonds.fill(R::zero());
    block.consensus_history.fill(R::zero());
    for (uid, permit) in block.permits.iter_mut().enumerate() {
        *permit = u32::from(uid < layout.validators);
    }
}

/// Fills `weights` (`[V × (V+M)]`) for one subnet of `layout`'s sizes (module docs, step 3).
/// `quality` is `[M]`, `history` the consensus history `[reveal × (V+M)]` newest first.
pub fn build_weights<R: Real>(
    yuma: &YumaRunParams,
    layout: &YumaLayout,
    quality: &[R],
    history: &[R],
    miner_burn: R,
    draws: EpochDraws,
    weights: &mut [R],
) {
    let mut noise_normals = vec![R::zero(); 4 * NOISE_CHUNK];
    let drawn = NoiseChunk::default();
    let subnet = WeightInputs { quality, history, miner_burn };
    build_weights_from(yuma, layout, subnet, draws, (drawn, &mut noise_normals), weights);
}

/// A subnet's inputs to [`build_weights`]: miner qualities, consensus history, miner burn.
struct WeightInputs<'a, R> {
    quality: &'a [R],
    history: &'a [R],
    miner_burn: R,
}

/// [`build_weights`] with its noise buffer (at least `4·NOISE_CHUNK` normals) given, holding
/// the blocks of `drawn` already (the epoch draws the first chunk with the walk).
fn build_weights_from<R: Real>(
    yuma: &YumaRunParams,
    layout: &YumaLayout,
    subnet: WeightInputs<'_, R>,
    draws: EpochDraws,
    (drawn, noise_normals): (NoiseChunk, &mut [R]),
    weights: &mut [R],
) {
    let WeightInputs { quality, history, miner_burn } = subnet;
    let (validators, miners, n) = (layout.validators, layout.miners, layout.uids());
    assert_eq!(weights.len(), validators * n, "weights shape");
    assert!(
        validators <= MAX_VALIDATORS as usize,
        "{validators} validators: at most {MAX_VALIDATORS}"
    );
    let groups = ValidatorGroups::of(validators, yuma.cartel_stake, yuma.copier_stake);
    let cartel_miners = cartel_miner_count(yuma, layout);
    let lag = yuma.reveal_epochs.max(1) as usize;
    let noise = R::of(yuma.weight_noise);
    let burn = miner_burn.max(R::zero()).min(R::one());
    let step_rng = draws.step_rng();
    // The normals of noise blocks `buffered_first ..` of the `noise_quads` the matrix's entries
    // span, four per block.
    let (mut buffered_first, mut buffered_len) = (drawn.first_quad, drawn.quads);
    let noise_quads = (validators * miners).div_ceil(4);
    // Each role zeroes the entries it does not set (rather than zeroing the whole matrix first).
    for i in 0..validators {
        let row = &mut weights[i * n..(i + 1) * n];
        match groups.role(i) {
            ValidatorRole::Cartel => {
                row[..n - cartel_miners].fill(R::zero());
                for j in n - cartel_miners..n {
                    row[j] = R::one() / R::of_usize(cartel_miners);
                }
            }
            ValidatorRole::Copier => {
                if lag * n <= history.len() {
                    row.copy_from_slice(&history[(lag - 1) * n..lag * n]);
                    for w in row.iter_mut().take(validators) {
                        *w = R::zero();
                    }
                } else {
                    row.fill(R::zero());
                }
            }
            ValidatorRole::Honest => {
                row[..validators].fill(R::zero());
                // The miners' entries and qualities as exact-length slices (no bounds checks).
                let miner_row = &mut row[validators..][..miners];
                let quality = &quality[..miners];
                if yuma.weight_noise == 0.0 {
                    for m in 1..miners {
                        miner_row[m] = quality[m].max(R::zero());
                    }
                } else {
                    // Entry `k = i·M + m` takes word `k % 4` of noise block `k / 4`. The honest
                    // rows are the last ones, so their blocks are one range of ids: their normals
                    // come in chunks of up to `NOISE_CHUNK` blocks (several rows' worth) from one
                    // call in the CPU's widest vectors ([`StepRng::fill_normals`]) into
                    // `noise_normals`, which holds blocks `buffered_first ..
                    // buffered_first + buffered_len`.
                    let mut m = 1;
                    while m < miners {
                        let first_quad = (i * miners + m) / 4;
                        if first_quad < buffered_first
                            || first_quad >= buffered_first + buffered_len
                        {
                            buffered_first = first_quad;
                            buffered_len = NOISE_CHUNK.min(noise_quads - first_quad);
                            let chunk = &mut noise_normals[..4 * buffered_len];
                            draws.noise_normals(&step_rng, first_quad, chunk);
                        }
                        let end = miners.min(4 * (buffered_first + buffered_len) - i * miners);
                        // Entries `m..end` and their normals as zipped exact-length slices (no
                        // bounds checks).
                        let first_word = i * miners + m - 4 * buffered_first;
                        let normals = &noise_normals[first_word..][..end - m];
                        let entries = miner_row[m..end].iter_mut().zip(&quality[m..end]);
                        for ((w, &q), &z) in entries.zip(normals) {
                            *w = (q + noise * z).max(R::zero());
                        }
                        m = end;
                    }
                }
            }
        }
    }
    // The honest rows (the last ones) are scaled to `1 − burn` over miners `1..M` and take the
    // burn on miner 0. Their sums, each over miners `1..M` in column order from +0 (the
    // per-entry form's), run side by side: one row's chain of additions is latency-bound.
    let honest = groups.honest;
    let honest_rows = &mut weights[(validators - honest) * n..];
    let mut sums = [R::zero(); MAX_VALIDATORS as usize];
    let sums = &mut sums[..honest];
    row_sums_from(honest_rows, n, validators + 1, sums, |w, _| w);
    for (row, &sum) in honest_rows.chunks_exact_mut(n).zip(sums.iter()) {
        let miner_row = &mut row[validators..][..miners];
        let scale = safe_div(R::one() - burn, sum);
        // From miner 0, whose entry the burn then overwrites: the vectorised loop then covers
        // the whole row (no scalar remainder when M is a multiple of four).
        for w in miner_row.iter_mut() {
            *w *= scale;
        }
        miner_row[0] = burn;
    }
}

/// One subnet-epoch's miner walk ([`walk_miner_quality`]) and weights ([`build_weights`]), the
/// same numbers, with the walk's normals and the weight noise's first chunk drawn in one call
/// ([`EpochDraws::first_normals`]: one kernel, the tail words of both in shared batches) into
/// the workspace's `(words, normals)` (`StepRng::words_for(NOISE_CHUNK, M)` and
/// `4·NOISE_CHUNK + M` entries). `subnet` is the miner qualities (walked in place), the
/// consensus history and the miner burn.
fn walk_and_build_weights<R: Real>(
    yuma: &YumaRunParams,
    layout: &YumaLayout,
    draws: EpochDraws,
    subnet: (&mut [R], &[R], R),
    (words, normals): (&mut [u32], &mut [R]),
    weights: &mut [R],
) {
    let (quality, history, miner_burn) = subnet;
    let noise = NoiseChunk::first(yuma, layout);
    let walk = if yuma.miner_quality_sigma == 0.0 { 0 } else { layout.miners };
    draws.first_normals(&draws.step_rng(), noise, walk, words, normals);
    // The walk's normals follow the noise chunk's; the walk reads them before `build_weights`
    // may refill the buffer with later chunks.
    let sigma = R::of(yuma.miner_quality_sigma);
    for (q, &z) in quality.iter_mut().zip(&normals[4 * noise.quads..][..walk]) {
        walk_step(q, sigma, z);
    }
    let inputs = WeightInputs { quality, history, miner_burn };
    let buffer = &mut normals[..4 * NOISE_CHUNK];
    build_weights_from(yuma, layout, inputs, draws, (noise, buffer), weights);
}

/// Cartel miners: `cartel_miners`, at most `M − 1` so the owner's uid `V` never belongs to them.
pub fn cartel_miner_count(yuma: &YumaRunParams, layout: &YumaLayout) -> usize {
    (yuma.cartel_miners as usize).min(layout.miners.saturating_sub(1))
}

/// Runs one epoch for every active subnet of one path and pays it out (module docs), or the
/// Yuma-off payout ([`payouts`]) when `yuma.enabled` is false. `work` must match the state's Yuma
/// layout; `rng` and `step` address the draws. Returns the path's payout totals.
pub fn epoch<R: Real>(
    params: &StepParams,
    yuma: &YumaRunParams,
    payout: &PayoutParams,
    rng: &PathRng,
    step: u32,
    work: &mut EpochWorkspace<R>,
    st: &mut PathState<'_, R>,
) -> PayoutTotals<R> {
    if !yuma.enabled {
        return payouts(params, payout, st);
    }
    let layout = work.layout;
    let (validators, n) = (layout.validators, layout.uids());
    let yuma_params = yuma_params(yuma);
    let groups = ValidatorGroups::of(validators, yuma.cartel_stake, yuma.copier_stake);
    let cartel_miners = cartel_miner_count(yuma, &layout);
    let tao_weight = R::of(params.chain.tao_weight);
    let mut pool_tao = R::zero();
    for i in 0..st.sub.tao.len() {
        if st.sub_int.active[i] != 0 {
            pool_tao += st.sub.tao[i];
        }
    }
    let root_tao = st.global.root_tao[0];
    validator_stake_factors(
        yuma.stake_zipf,
        groups,
        yuma.cartel_stake,
        yuma.copier_stake,
        &mut work.group_fraction,
        &mut work.zipf_share,
    );
    let mut totals = PayoutSums::default();
    for i in 0..st.sub.tao.len() {
        if st.sub_int.active[i] == 0 {
            continue;
        }
        let draws = EpochDraws { rng: *rng, step, subnet: i as u32 };
        let s = &st.sub;
        let root_stake = root_tao * safe_div(s.tao[i], pool_tao);
        let stake = s.held_validators[i] + s.held_organic[i] + tao_weight * root_stake;
        // `validator_stakes` with the per-path-step factors; miners' stakes stay 0.
        for k in 0..validators {
            work.stake[k] = stake * work.group_fraction[k] * work.zipf_share[k];
        }
        work.stake[validators..].fill(R::zero());

        let block = layout.block(&mut *st.yuma_real, &mut *st.yuma_int, i);
        walk_and_build_weights(
            yuma,
            &layout,
            draws,
            (block.miner_quality, block.consensus_history, st.sub.miner_burn[i]),
            (&mut work.draw_words, &mut work.draw_normals),
            &mut work.weights,
        );
        run_epoch(
            &yuma_params,
            &work.stake,
            &work.weights,
            block.bonds,
            block.permits,
            &mut work.yuma,
        );
        // Newest first: shift the history one epoch back and put this epoch's consensus in front.
        let history = block.consensus_history;
        for r in (1..layout.reveal).rev() {
            history.copy_within((r - 1) * n..r * n, r * n);
        }
        if layout.reveal > 0 {
            history[..n].copy_from_slice(&work.yuma.consensus);
        }

        let out = &work.yuma;
        let mut incentive_total = R::zero();
        let mut cartel_incentive = R::zero();
        // Two plain sums, each in uid order as before.
        for &incentive in &out.incentive[..n] {
            incentive_total += incentive;
        }
        for &incentive in &out.incentive[n - cartel_miners..n] {
            cartel_incentive += incentive;
        }
        st.sub.cartel_share_sum[i] += safe_div(cartel_incentive, incentive_total);
        st.sub_int.epochs[i] += 1;
        let incentive = MinerIncentive { total: incentive_total, owner: out.incentive[validators] };
        let split = settle_subnet(params, payout, st, i, incentive, &mut totals);
        work.last_split = (split, incentive_total);
    }
    let totals = totals.totals();
    finish_payouts(st, &totals);
    totals
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::{normal_icdf, uniform_open};

    /// [`build_weights`] in the shader's per-entry form: each row by role, an honest entry from
    /// its own block ([`PathRng::block`]) and [`normal_icdf`], each row's sum a plain loop in
    /// column order, then the scaling.
    fn per_entry_weights<R: Real>(
        yuma: &YumaRunParams,
        layout: &YumaLayout,
        quality: &[R],
        history: &[R],
        miner_burn: R,
        draws: EpochDraws,
    ) -> Vec<R> {
        let (validators, miners, n) = (layout.validators, layout.miners, layout.uids());
        let groups = ValidatorGroups::of(validators, yuma.cartel_stake, yuma.copier_stake);
        let cartel_miners = cartel_miner_count(yuma, layout);
        let lag = yuma.reveal_epochs.max(1) as usize;
        let mut weights = vec![R::zero(); validators * n];
        for i in 0..validators {
            let row = &mut weights[i * n..(i + 1) * n];
            match groups.role(i) {
                ValidatorRole::Cartel => {
                    for w in &mut row[n - cartel_miners..] {
                        *w = R::one() / R::of_usize(cartel_miners);
                    }
                }
                ValidatorRole::Copier => {
                    if lag * n <= history.len() {
                        row[validators..]
                            .copy_from_slice(&history[(lag - 1) * n + validators..lag * n]);
                    }
                }
                ValidatorRole::Honest => {
                    let mut sum = R::zero();
                    for m in 1..miners {
                        let raw = if yuma.weight_noise == 0.0 {
                            quality[m]
                        } else {
                            let k = i * miners + m;
                            let id = stream::YUMA_NOISE + (k / 4) as u32;
                            let word = draws.rng.block(draws.step, draws.subnet, id)[k % 4];
                            quality[m] + R::of(yuma.weight_noise) * normal_icdf::<R>(word)
                        };
                        row[validators + m] = raw.max(R::zero());
                        sum += row[validators + m];
                    }
                    let burn = miner_burn.max(R::zero()).min(R::one());
                    let scale = safe_div(R::one() - burn, sum);
                    for m in 1..miners {
                        row[validators + m] *= scale;
                    }
                    row[validators] = burn;
                }
            }
        }
        weights
    }

    /// Noise words of `draws` outside the central region of [`normal_quantile`]
    /// (`|p − 1/2| > 0.47575`) among the first `entries` entries.
    fn tail_words(draws: EpochDraws, entries: usize) -> usize {
        (0..entries)
            .filter(|&k| {
                let id = stream::YUMA_NOISE + (k / 4) as u32;
                let word = draws.rng.block(draws.step, draws.subnet, id)[k % 4];
                (uniform_open::<f64>(word) - 0.5).abs() > 0.475_75
            })
            .count()
    }

    /// [`build_weights`] equals the per-entry form bit for bit: layouts whose rows start and end
    /// off the noise blocks' quads and the draw chunks (several chunks for the larger ones), one
    /// and two miners, more honest rows than one side-by-side group and fewer; every role mix;
    /// no noise, the default noise and noise large enough to clip many entries at zero; at f64
    /// and f32. The draws include tail words (checked), inverted by the tail formula. The
    /// epoch's form (`walk_and_build_weights`: the walk and the first noise chunk from one call,
    /// later chunks refilled) gives the same walked qualities and weights.
    fn check_build_weights_against_per_entry_form<R: Real>() {
        let layouts = [(8, 32), (3, 7), (5, 1), (6, 2), (13, 40), (20, 50), (1, 9)];
        let mixes = [(0.0, 0.0), (0.3, 0.2), (0.0, 0.5), (0.6, 0.0)];
        let mut tails = 0;
        for (case, &(validators, miners)) in layouts.iter().enumerate() {
            let layout = YumaLayout { validators, miners, reveal: 2 };
            let n = layout.uids();
            let quality: Vec<R> = (0..miners)
                .map(|j| R::of([0.0, 1e-3, 0.4, 1.0, 2.5][j % 5] + 0.01 * j as f64))
                .collect();
            let history: Vec<R> = (0..2 * n).map(|u| R::of(0.5 + (u % 7) as f64 / 16.0)).collect();
            for (mix, &(cartel_stake, copier_stake)) in mixes.iter().enumerate() {
                for weight_noise in [0.0, 0.1, 2.0] {
                    let yuma = YumaRunParams {
                        enabled: true,
                        weight_noise,
                        cartel_stake,
                        copier_stake,
                        reveal_epochs: 2,
                        ..YumaRunParams::default()
                    };
                    let rng = PathRng::new(7 + case as u64, 3, mix as u32);
                    for step in [0, 17, 90_001] {
                        let draws = EpochDraws { rng, step, subnet: 5 };
                        let burn = R::of(0.18);
                        let expected =
                            per_entry_weights(&yuma, &layout, &quality, &history, burn, draws);
                        let mut weights = vec![R::of(f64::NAN); validators * n];
                        build_weights(
                            &yuma,
                            &layout,
                            &quality,
                            &history,
                            burn,
                            draws,
                            &mut weights,
                        );
                        for (k, (got, want)) in weights.iter().zip(&expected).enumerate() {
                            assert_eq!(
                                got.f64().to_bits(),
                                want.f64().to_bits(),
                                "V {validators} M {miners} mix {mix} noise {weight_noise} step \
                                 {step}: entry ({}, {})",
                                k / n,
                                k % n
                            );
                        }
                        tails += tail_words(draws, validators * miners);

                        // The epoch's form: the walk and the weights from one draw call, into
                        // reused buffers (stale values in them must not matter).
                        let yuma = YumaRunParams {
                            miner_quality_sigma: [0.05, 0.0, 0.8][(step % 3) as usize],
                            ..yuma
                        };
                        let mut walked = quality.clone();
                        walk_miner_quality(&mut walked, yuma.miner_quality_sigma, draws);
                        let expected =
                            per_entry_weights(&yuma, &layout, &walked, &history, burn, draws);
                        let mut quality_now = quality.clone();
                        let mut words = vec![u32::MAX; StepRng::words_for(NOISE_CHUNK, miners)];
                        let mut normals = vec![R::of(f64::NAN); 4 * NOISE_CHUNK + miners];
                        walk_and_build_weights(
                            &yuma,
                            &layout,
                            draws,
                            (&mut quality_now, &history, burn),
                            (&mut words, &mut normals),
                            &mut weights,
                        );
                        let bits =
                            |x: &[R]| x.iter().map(|v| v.f64().to_bits()).collect::<Vec<_>>();
                        let case = format!("V {validators} M {miners} mix {mix} step {step}");
                        assert_eq!(bits(&quality_now), bits(&walked), "{case}: walked qualities");
                        assert_eq!(bits(&weights), bits(&expected), "{case}: epoch-form weights");
                    }
                }
            }
        }
        assert!(tails > 100, "only {tails} tail words drawn");
    }

    #[test]
    fn build_weights_equals_the_per_entry_form_f64() {
        check_build_weights_against_per_entry_form::<f64>();
    }

    #[test]
    fn build_weights_equals_the_per_entry_form_f32() {
        check_build_weights_against_per_entry_form::<f32>();
    }

    /// The engine's factored stakes equal [`validator_stakes`] bit for bit, for every group mix.
    #[test]
    fn factored_validator_stakes_equal_the_direct_split() {
        for (validators, cartel, copier, zipf) in
            [(8, 0.0, 0.0, 1.0), (8, 0.3, 0.2, 1.3), (5, 0.6, 0.5, 0.7), (1, 0.4, 0.1, 2.0)]
        {
            let groups = ValidatorGroups::of(validators, cartel, copier);
            let (mut fraction, mut share) = (vec![0.0; validators], vec![0.0; validators]);
            validator_stake_factors(zipf, groups, cartel, copier, &mut fraction, &mut share);
            for total in [0.0, 1.0, 12_345.678_9, 3.3e7] {
                let mut direct = vec![0.0_f64; validators];
                validator_stakes(total, zipf, groups, cartel, copier, &mut direct);
                for k in 0..validators {
                    let factored: f64 = total * fraction[k] * share[k];
                    assert_eq!(factored.to_bits(), direct[k].to_bits(), "validator {k}");
                }
            }
        }
    }
}
