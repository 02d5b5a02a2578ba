//! Stage `swaps` (model.md §3 item 2): executes one step's aggregated stake and unstake orders.
//!
//! Buys first, then sells, each aggregated per holder class, against the subnet's AMM with the
//! input fee. TAO staked in adds to the flow accumulator, TAO unstaked out subtracts (chain.md
//! §2.3, `stake_into_subnet` / `unstake_from_subnet`: the amount that entered the pool net of the
//! fee, the amount paid to the user). Emission, chain buys and root claims never pass here.

use crate::Real;
use crate::model::amm::{self, Pool};
use crate::state::PathState;

use super::StepParams;

/// One subnet's orders for a step, aggregated per holder class (filled by the behaviour stage).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Orders<R> {
    /// TAO organic stakers stake in (inflows, whale entries, revenue buybacks).
    pub stake_tao: R,
    /// Alpha organic stakers unstake (outflows, panic, zero-emission exits, whale exits).
    pub unstake_alpha: R,
}

/// What the swaps of one subnet did, for flow and conservation accounting.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct SwapTotals<R> {
    /// TAO taken from stakers (fees included).
    pub tao_in: R,
    /// TAO paid to stakers and block authors.
    pub tao_out: R,
    /// 1 when an order was cut by the minimum reserve.
    pub cut: u32,
}

/// Applies `orders[i]` to subnet `i` of one path. Inactive slots ignore their orders. A sell is
/// capped at what organic holders hold.
pub fn swaps<R: Real>(
    params: &StepParams,
    orders: &[Orders<R>],
    st: &mut PathState<'_, R>,
) -> SwapTotals<R> {
    let chain = &params.chain;
    let (fee, min_reserve) = (R::of(chain.fee_rate), R::of(chain.min_reserve));
    let mut totals = SwapTotals::default();
    let s = &mut st.sub;
    for i in 0..s.tao.len() {
        if st.sub_int.active[i] == 0 {
            continue;
        }
        let mut pool = Pool::weighted(s.tao[i], s.alpha[i], s.w_quote[i]);

        let buy = amm::buy(chain.amm, &mut pool, orders[i].stake_tao, fee, min_reserve);
        s.held_organic[i] += buy.output;
        s.alpha_out[i] += buy.output;
        s.flow[i] += buy.input_used - buy.fee;

        let want = orders[i].unstake_alpha.min(s.held_organic[i]);
        let sell = amm::sell(chain.amm, &mut pool, want, fee, min_reserve);
        s.held_organic[i] -= sell.input_used;
        s.alpha_out[i] -= sell.input_used;
        s.flow[i] -= sell.output;

        s.tao[i] = pool.tao;
        s.alpha[i] = pool.alpha;
        s.w_quote[i] = pool.w_quote;
        totals.tao_in += buy.input_used;
        totals.tao_out += sell.output + buy.author_tao + sell.author_tao;
        totals.cut |= u32::from(buy.cut || sell.cut);
    }
    st.global.tao_paid_in[0] += totals.tao_in;
    st.global.tao_paid_out[0] += totals.tao_out;
    totals
}
