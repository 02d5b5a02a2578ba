//! Stage `injection` (model.md §3 item 4, chain.md §3): mints the step's emission into the pools.
//!
//! Per eligible subnet, for the step's n blocks at the (unchanged) pool price: `tao_in` and
//! `alpha_in` with the era's cap go into the pool (price-neutral), the excess TAO buys alpha
//! fee-less and that alpha is recycled, and the subnet's alpha emission is minted as alpha_out and
//! split into owner, miner, validator and root parts held pending until the epoch. TAO issuance
//! grows by what was actually minted, so a step in which every share is zero mints no TAO.
//! The excess is bought once per step with n blocks' worth (on the chain, once per block): the
//! difference is the curvature of the pool over one step's chain buys.

use crate::Real;
use crate::model::amm::{self, Pool};
use crate::model::emission::{
    emission_for_halvings, emission_over_blocks, emission_over_blocks_at, halvings,
};
use crate::model::injection::{
    InjectionRule, alpha_out_split, injection_terms, root_proportion, root_sell_flag,
};
use crate::real::CompensatedSum;
use crate::state::PathState;

use super::StepParams;

/// Injects one step's emission into every eligible subnet of one path. `eligible` comes from the
/// `emission_shares` stage of the same step. Returns the TAO minted.
pub fn injection<R: Real>(params: &StepParams, st: &mut PathState<'_, R>, eligible: &[u32]) -> R {
    let chain = &params.chain;
    let n = params.blocks_per_step;
    let blocks = R::of(f64::from(n));
    let rule = InjectionRule::for_regime(chain.regime);
    let s = &mut st.sub;

    let mut share_sum = R::zero();
    for i in 0..s.share.len() {
        share_sum += s.share[i];
    }
    // TAO grows by Σshares·E per block (1·E, or nothing when every share is zero, chain.md §1).
    let network = emission_over_blocks(st.global.issuance[0], n, share_sum, R::zero());
    let emission_per_block = network.emitted / blocks;
    let sell_root = root_sell_flag(&*s.moving_price, eligible);
    let root_tao = st.global.root_tao[0];

    let mut minted = CompensatedSum::<R>::default();
    for i in 0..s.tao.len() {
        if eligible[i] == 0 {
            continue;
        }
        let mut pool = Pool::weighted(s.tao[i], s.alpha[i], s.w_quote[i]);
        let price = amm::price(chain.amm, &pool);
        let issuance = s.alpha[i] + s.alpha_out[i];
        let root_prop = root_proportion(chain.tao_weight, root_tao, issuance);
        // The subnet's halving level, shared by its block emission and its alpha emission.
        let level = halvings(issuance);
        let terms = injection_terms(
            rule,
            s.share[i] * emission_per_block,
            price,
            emission_for_halvings(level),
            emission_per_block,
            root_prop,
        );
        let added =
            amm::inject(chain.amm, &mut pool, terms.tao_in * blocks, terms.alpha_in * blocks);
        // The chain buy is fee-less and its alpha is recycled (it never reaches a holder).
        let chain_buy = amm::buy(
            chain.amm,
            &mut pool,
            terms.excess_tao * blocks,
            R::zero(),
            R::of(chain.min_reserve),
        );
        // alpha_out = the alpha block emission, every block, whatever the TAO share.
        let alpha_out =
            emission_over_blocks_at(issuance, level, n, R::one(), terms.alpha_in).emitted;
        let split = alpha_out_split(alpha_out, chain.owner_cut, root_prop, sell_root);

        s.tao[i] = pool.tao;
        s.alpha[i] = pool.alpha;
        s.w_quote[i] = pool.w_quote;
        // Recycled root alpha and the chain buy's alpha leave the counters (and so the issuance).
        s.alpha_out[i] += alpha_out - split.recycled;
        s.pending_owner[i] += split.owner;
        s.pending_server[i] += split.server;
        s.pending_validator[i] += split.validator;
        s.pending_root[i] += split.root;
        // Net-flow era: injected TAO and chain buys count as protocol inflow (chain.md §2.4).
        let tao_minted = added.tao_added + chain_buy.input_used;
        s.protocol_flow[i] += tao_minted;
        minted.add(tao_minted);
    }
    let minted = minted.value();
    st.global.issuance[0] += minted;
    st.global.tao_minted[0] += minted;
    minted
}
