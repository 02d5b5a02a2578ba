//! Stage `registration` (model.md §3 item 8, §6; chain.md §6): a subnet registration arrives,
//! pays the lock cost if the network rate limit and the registrant's willingness allow, takes a
//! free slot or prunes the lowest-P̄ non-immune subnet (dissolving it: the pool TAO is paid pro
//! rata to every alpha holder class), and starts the new subnet in the slot.
//!
//! The new pool follows the Taoflow-era chain (REF-TF, chain.md §6.1): `min_lock` TAO and as
//! much alpha (price 1), the rest of the lock recycled (removed from issuance). Arrivals and
//! willingness come from the behaviour draws (Monte Carlo issue).

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

/// What the stage did, for the event log.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum RegistrationEvent<R> {
    /// A subnet registered in a free slot.
    Registered {
        /// The slot (netuid − 1).
        slot: usize,
        /// Lock cost paid, TAO.
        cost: R,
    },
    /// The slot's occupant was pruned and dissolved, and a new subnet registered in it.
    PrunedAndRegistered {
        /// The slot (netuid − 1).
        slot: usize,
        /// Lock cost paid, TAO.
        cost: R,
        /// TAO paid out of the dissolved pool to alpha holders.
        dissolved_tao: R,
    },
}

/// Holder classes of a subnet, in the order dissolution pays them.
const HOLDER_CLASSES: usize = 5;

/// Runs one registration attempt on one path. Returns what happened, or `None` when nothing did
/// (no arrival, rate limited, too expensive, or every full slot still immune).
pub fn registration<R: Real>(
    params: &StepParams,
    arrival: Arrival<R>,
    st: &mut PathState<'_, R>,
) -> Option<RegistrationEvent<R>> {
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
    let min_lock = R::of(chain.min_lock_cost);
    let cost = lock_cost(
        st.global.last_lock[0],
        u64::from(st.global_int.last_lock_block[0]),
        u64::from(block),
        min_lock,
        chain.lock_reduction_interval,
        block_emission(st.global.issuance[0]),
    );
    if cost > arrival.willingness {
        return None;
    }
    let free = st.sub_int.active.iter().position(|&a| a == 0);
    let slot = match free {
        Some(slot) => slot,
        None => prune_candidate(
            &*st.sub_int.active,
            &*st.sub.moving_price,
            &*st.sub_int.registered_block,
            block,
            u32::try_from(chain.immunity_period).unwrap_or(u32::MAX),
        )?,
    };
    let dissolved = if free.is_none() { Some(dissolve_subnet(&mut st.sub, slot)) } else { None };
    if let Some(tao) = dissolved {
        st.global.tao_paid_out[0] += tao.paid;
        st.global.tao_recycled[0] += tao.unclaimed;
        st.global_int.prunings[0] += 1;
    }

    let s = &mut st.sub;
    s.tao[slot] = min_lock;
    s.alpha[slot] = min_lock;
    s.w_quote[slot] = R::of(0.5);
    s.start_price[slot] = R::one();
    s.peak_price[slot] = R::one();
    s.start_tao[slot] = min_lock;
    let si = &mut st.sub_int;
    si.active[slot] = 1;
    si.registered_block[slot] = block;
    si.first_emission_block[slot] =
        block.saturating_add(u32::try_from(chain.start_call_blocks).unwrap_or(u32::MAX));
    si.zero_share_steps[slot] = 0;
    si.spiral[slot] = 0;
    si.spiral_step[slot] = 0;

    let g = &mut st.global;
    let recycled = cost - min_lock;
    g.issuance[0] -= recycled;
    g.tao_recycled[0] += recycled;
    g.tao_paid_in[0] += cost;
    g.last_lock[0] = cost;
    st.global_int.last_lock_block[0] = block;
    st.global_int.last_registration_block[0] = block;
    st.global_int.registrations[0] += 1;

    Some(match dissolved {
        None => RegistrationEvent::Registered { slot, cost },
        Some(tao) => RegistrationEvent::PrunedAndRegistered { slot, cost, dissolved_tao: tao.paid },
    })
}

/// TAO that left a dissolved pool.
#[derive(Clone, Copy, Debug)]
struct Dissolved<R> {
    /// Paid to alpha holders.
    paid: R,
    /// Not paid to anyone (no alpha holders): removed from the system, as on the chain.
    unclaimed: R,
}

/// Dissolves the subnet in `slot`: pays its pool TAO pro rata to the holder classes, destroys all
/// its alpha and clears every field of the slot.
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
    s.for_each_field(|field| field[slot] = R::zero());
    Dissolved { paid: pot - unclaimed, unclaimed }
}
