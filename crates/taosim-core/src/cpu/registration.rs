//! Stage `registration` (model.md §3 item 8, §6; chain.md §6): a subnet registration arrives,
//! pays the lock cost if the network rate limit and the registrant's willingness allow, takes a
//! free slot or prunes the lowest-P̄ non-immune subnet (dissolving it: the pool TAO is paid pro
//! rata to every alpha holder class), and starts the new subnet in the slot.
//!
//! Two halves, so the engine can record the retiring occupant between them (on the GPU: a
//! decision kernel, a record pass, an apply kernel): [`registration_decision`] reads the state
//! and decides; [`apply_registration`] dissolves and starts the new subnet.
//!
//! The new pool: the Taoflow-era chain (REF-TF, chain.md §6.1) puts `min_lock` TAO and as much
//! alpha (price 1) in the pool and recycles the rest of the lock. Mainnet subnets were seen
//! starting with 270-630 TAO in the pool (data README), the owner staking into its own subnet;
//! [`StepParams::start_pool_tao`] sets that amount (clamped to the lock paid, and at least
//! `min_lock`), still at price 1, and the rest of the lock is recycled.

use crate::Real;
use crate::model::emission::block_emission;
use crate::model::registration::{dissolve, lock_cost, prune_candidate, registration_allowed};
use crate::state::{PathState, SubnetReal};

use super::StepParams;

/// A registration attempt drawn for this step.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Arrival<R> {
    /// 1 when a registrant arrives this step.
    pub arrived: u32,
    /// The most TAO the registrant will pay for the lock.
    pub willingness: R,
}

/// A registration that will happen this step.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Registration<R> {
    /// The slot (netuid − 1).
    pub slot: usize,
    /// Lock cost paid, TAO.
    pub cost: R,
    /// The slot's occupant is pruned and dissolved first.
    pub prunes: bool,
}

/// What [`apply_registration`] did.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Registered<R> {
    /// The decision applied.
    pub registration: Registration<R>,
    /// TAO paid out of the dissolved pool to alpha holders (0 without pruning).
    pub dissolved_tao: R,
    /// TAO the new pool started with.
    pub start_pool: R,
}

/// Holder classes of a subnet, in the order dissolution pays them.
const HOLDER_CLASSES: usize = 5;

/// Decides whether a registration happens this step and where. `None` when nothing happens: no
/// arrival, rate limited, the lock costs more than the registrant will pay, or every slot is full
/// and still immune (`SubnetLimitReached`). Reads the state only.
pub fn registration_decision<R: Real>(
    params: &StepParams,
    arrival: Arrival<R>,
    st: &PathState<'_, R>,
) -> Option<Registration<R>> {
    let chain = &params.chain;
    let block = st.global_int.block[0];
    if arrival.arrived == 0
        || !registration_allowed(
            u64::from(block),
            u64::from(st.global_int.last_registration_block[0]),
            chain.network_rate_limit,
        )
    {
        return None;
    }
    let cost = lock_cost(
        st.global.last_lock[0],
        u64::from(st.global_int.last_lock_block[0]),
        u64::from(block),
        R::of(chain.min_lock_cost),
        chain.lock_reduction_interval,
        block_emission(st.global.issuance[0]),
    );
    if cost > arrival.willingness {
        return None;
    }
    if let Some(slot) = st.sub_int.active.iter().position(|&a| a == 0) {
        return Some(Registration { slot, cost, prunes: false });
    }
    let slot = prune_candidate(
        &*st.sub_int.active,
        &*st.sub.moving_price,
        &*st.sub_int.registered_block,
        block,
        u32::try_from(chain.immunity_period).unwrap_or(u32::MAX),
    )?;
    Some(Registration { slot, cost, prunes: true })
}

/// Applies a decision of [`registration_decision`] taken on the same state: dissolves the
/// occupant when it prunes, starts the new subnet, charges the lock and updates the lock state.
/// The caller clears the slot's Yuma block (its layout lives with the caller).
pub fn apply_registration<R: Real>(
    params: &StepParams,
    registration: Registration<R>,
    st: &mut PathState<'_, R>,
) -> Registered<R> {
    let chain = &params.chain;
    let Registration { slot, cost, prunes } = registration;
    let block = st.global_int.block[0];
    let step = st.global_int.step[0];
    let mut dissolved_tao = R::zero();
    let occupant = st.sub_int.occupant[slot];
    if prunes {
        let tao = dissolve_subnet(&mut st.sub, slot);
        dissolved_tao = tao.paid;
        st.global.tao_paid_out[0] += tao.paid;
        st.global.tao_recycled[0] += tao.unclaimed;
        st.global_int.prunings[0] += 1;
    }
    st.sub_int.for_each_field(|field| field[slot] = 0);
    st.sub.for_each_field(|field| field[slot] = R::zero());

    let min_lock = R::of(chain.min_lock_cost);
    let start_pool = R::of(params.start_pool_tao).min(cost).max(min_lock);
    let s = &mut st.sub;
    s.tao[slot] = start_pool;
    s.alpha[slot] = start_pool;
    s.w_quote[slot] = R::of(0.5);
    s.start_price[slot] = R::one();
    s.prev_price[slot] = R::one();
    s.peak_price[slot] = R::one();
    s.min_price[slot] = R::one();
    s.start_tao[slot] = start_pool;
    s.start_alpha[slot] = start_pool;
    s.root_yield_log_start[slot] = st.global.root_yield_log[0];
    let si = &mut st.sub_int;
    si.active[slot] = 1;
    si.registered_block[slot] = block;
    si.first_emission_block[slot] =
        block.saturating_add(u32::try_from(chain.start_call_blocks).unwrap_or(u32::MAX));
    si.occupant[slot] = occupant + 1;
    si.start_step[slot] = step;

    let g = &mut st.global;
    let recycled = cost - start_pool;
    g.issuance[0] -= recycled;
    g.tao_recycled[0] += recycled;
    g.tao_paid_in[0] += cost;
    g.last_lock[0] = cost;
    st.global_int.last_lock_block[0] = block;
    st.global_int.last_registration_block[0] = block;
    st.global_int.registrations[0] += 1;
    Registered { registration, dissolved_tao, start_pool }
}

/// Decides and applies in one call (for tests and callers that keep no record of the retiring
/// occupant).
pub fn registration<R: Real>(
    params: &StepParams,
    arrival: Arrival<R>,
    st: &mut PathState<'_, R>,
) -> Option<Registered<R>> {
    let decision = registration_decision(params, arrival, st)?;
    Some(apply_registration(params, decision, st))
}

/// TAO that left a dissolved pool.
#[derive(Clone, Copy, Debug)]
struct Dissolved<R> {
    /// Paid to alpha holders.
    paid: R,
    /// Not paid to anyone (no alpha holders): removed from the system, as on the chain.
    unclaimed: R,
}

/// Pays the pool TAO of the subnet in `slot` pro rata to its holder classes (all of its alpha is
/// destroyed with the slot's state).
fn dissolve_subnet<R: Real>(s: &mut SubnetReal<'_, R>, slot: usize) -> Dissolved<R> {
    let pot = s.tao[slot];
    let held = [
        s.held_organic[slot],
        s.held_miners[slot],
        s.held_validators[slot],
        s.held_owner[slot],
        s.held_root[slot],
    ];
    let mut payout = [R::zero(); HOLDER_CLASSES];
    let unclaimed = dissolve(pot, &held, &mut payout);
    Dissolved { paid: pot - unclaimed, unclaimed }
}
