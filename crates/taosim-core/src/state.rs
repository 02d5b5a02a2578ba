//! One batch of Monte Carlo paths in kernel shape.
//!
//! The state is a handful of flat buffers of `Pod` scalars, laid out **path-major, field-major
//! within a path**: path `p`'s real-valued subnet state is the contiguous block
//! `subnet_real[p * SUBNET_REAL_FIELDS * S ..][.. SUBNET_REAL_FIELDS * S]`, in which field `f` of
//! subnet `i` sits at `f * S + i` (S = subnet slots). So:
//!
//! - a path's state never touches another path's (rayon splits the buffers by path, and the
//!   result cannot depend on thread count, batch size or sharding);
//! - on the GPU, one invocation per (path, subnet) reads `base + f * S + i`: neighbouring
//!   invocations read neighbouring words (coalesced), and the buffer uploads as it is;
//! - the WGSL prelude names the same field indices as constants, checked against
//!   [`SubnetReal::FIELDS`] and friends by the layout test.
//!
//! Field lists are written once, in the `columns!` invocations below: the macro generates the
//! field index constants, the field names (used by outputs and layout tests) and a view that
//! splits a path's block into one named slice per field, so stage code reads `s.tao[i]`.

use crate::Real;

/// Declares a set of per-subnet (or per-path) columns stored field-major in one flat buffer.
macro_rules! columns {
    (
        $(#[$meta:meta])*
        pub struct $name:ident<$elem:ident> {
            $( $(#[$fmeta:meta])* $field:ident, )*
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug)]
        pub struct $name<'a, $elem> {
            $( $(#[$fmeta])* pub $field: &'a mut [$elem], )*
        }

        impl<'a, $elem> $name<'a, $elem> {
            /// Field names in buffer order (the WGSL constants and output columns use them).
            pub const NAMES: &'static [&'static str] = &[$(stringify!($field)),*];
            /// Number of fields.
            pub const FIELDS: usize = Self::NAMES.len();

            /// Splits one path's block (`FIELDS * len` elements) into named columns of `len`.
            ///
            /// # Panics
            /// If the block is not exactly `FIELDS * len` long: a layout bug, not an input error.
            pub fn split(block: &'a mut [$elem], len: usize) -> Self {
                assert_eq!(block.len(), Self::FIELDS * len, "state block of wrong size");
                let mut chunks = block.chunks_exact_mut(len.max(1));
                let mut next = || if len == 0 { &mut [][..] } else { chunks.next().expect("sized above") };
                Self { $( $field: next(), )* }
            }

            /// Calls `f` on every field's slice, in buffer order. Inlined always, so that in a
            /// [`Kernel`](crate::simd::Kernel) `f` is compiled at the kernel's level.
            #[inline(always)]
            pub fn for_each_field(&mut self, mut f: impl FnMut(&mut [$elem])) {
                $( f(self.$field); )*
            }
        }
    };
}

columns! {
    /// Real-valued state of every subnet slot of one path (model.md §2). Amounts in TAO / alpha.
    pub struct SubnetReal<R> {
        /// Pool TAO reserve (`SubnetTAO`).
        tao,
        /// Pool alpha reserve (`SubnetAlphaIn`).
        alpha,
        /// Balancer quote (TAO) weight w2; 0.5 for constant product.
        w_quote,
        /// Outstanding alpha (`SubnetAlphaOut`): held by stakers, pending emission, and burned
        /// miner alpha (burning is a no-op on the chain's counters). Alpha issuance, which drives
        /// the alpha halving, is `alpha + alpha_out` (chain.md §3.1).
        alpha_out,
        /// Moving (EMA) price P̄ (`SubnetMovingPrice`).
        moving_price,
        /// TAO flow accumulated since the last EMA update (`SubnetTaoFlow`), TAO.
        flow,
        /// Flow EMA S (`SubnetEmaTaoFlow`), TAO per block.
        flow_ema,
        /// Protocol flow accumulated since the last EMA update (net-flow era), TAO.
        protocol_flow,
        /// Protocol flow EMA P (net-flow era), TAO per block.
        protocol_flow_ema,
        /// Emission share of the last step.
        share,
        /// Pending miner (server) alpha, paid at the epoch.
        pending_server,
        /// Pending validator alpha, paid at the epoch.
        pending_validator,
        /// Pending root alpha dividends, paid at the epoch.
        pending_root,
        /// Pending owner cut, paid at the epoch.
        pending_owner,
        /// Fraction of miner incentive captured by owner-associated miners (burned).
        miner_burn,
        /// Latent quality q (behaviour, model.md §8).
        quality,
        /// Momentum m: EMA of log price returns (behaviour).
        momentum,
        /// Running peak of the spot price.
        peak_price,
        /// Spot price at the start of the path (or at registration).
        start_price,
        /// Pool TAO at the start of the path (or at registration).
        start_tao,
        /// Pool alpha at the start of the path (or at registration).
        start_alpha,
        /// Lowest spot price seen by the occupant.
        min_price,
        /// Spot price at the end of the previous step (momentum's log return).
        prev_price,
        /// Sum of emission shares over the occupant's steps (mean share = sum / steps_alive).
        share_sum,
        /// Last epoch's validator dividends per staked alpha (the yield stakers compare).
        dividend_rate,
        /// Cumulative log growth of one staked alpha from dividends since the occupant started.
        yield_log,
        /// Sum over epochs of the cartel miners' share of incentive.
        cartel_share_sum,
        /// Off-chain revenue staked into the pool per day, TAO.
        buyback_per_day,
        /// The path's root yield log when the occupant started (root return's baseline).
        root_yield_log_start,
        /// Alpha held by organic stakers.
        held_organic,
        /// Alpha held by miners.
        held_miners,
        /// Alpha held by validators.
        held_validators,
        /// Alpha held by the subnet owner.
        held_owner,
        /// Alpha held by root claimers (`root_claim = "keep"`).
        held_root,
    }
}

columns! {
    /// Integer state of every subnet slot of one path. Blocks fit u32 (mainnet is near 1e7).
    pub struct SubnetInt<U> {
        /// 1 when the slot holds a live subnet.
        active,
        /// Block at which the occupant registered (`NetworkRegisteredAt`).
        registered_block,
        /// First block with emission (`FirstEmissionBlockNumber`), registration + start-call delay.
        first_emission_block,
        /// Consecutive steps with zero emission share.
        zero_share_steps,
        /// 1 once the occupant entered a death spiral.
        spiral,
        /// Step of the death-spiral entry (valid when `spiral` is 1).
        spiral_step,
        /// Registrations into this slot so far (0 = the subnet present at the start).
        occupant,
        /// Step at which the occupant started.
        start_step,
        /// Steps the occupant has been alive.
        steps_alive,
        /// Epochs the occupant has run Yuma (cartel share's denominator).
        epochs,
    }
}

columns! {
    /// Real-valued global state of one path (a "column" of length 1 per field).
    pub struct GlobalReal<R> {
        /// TAO total issuance (`TotalIssuance`), drives the halving.
        issuance,
        /// TAO staked on root (`SubnetTAO[0]`).
        root_tao,
        /// Lock cost paid at the last registration (`NetworkLastLockCost`).
        last_lock,
        /// Global market factor g (behaviour).
        market,
        /// TAO minted into the system since the start (injection plus chain buys).
        tao_minted,
        /// TAO that entered pools from outside (stakes, buybacks, registration locks).
        tao_paid_in,
        /// TAO that left pools to holders (unstakes, dissolutions, block-author fees).
        tao_paid_out,
        /// TAO recycled (destroyed) from locks above the minimum.
        tao_recycled,
        /// Cumulative log growth of one TAO staked on root from root dividends.
        root_yield_log,
        /// Root dividends claimed in the last step, TAO (root yield's numerator).
        root_claimed_last,
        /// Smallest live pool reserve (TAO or alpha) seen at a step's end (starts at the largest
        /// finite value; the full-run tests bound it).
        min_reserve_seen,
        /// Largest alpha issuance (`alpha + alpha_out`) of a live subnet seen at a step's end.
        max_alpha_issuance_seen,
    }
}

columns! {
    /// Integer global state of one path.
    pub struct GlobalInt<U> {
        /// Current block.
        block,
        /// Current step (0 at the start).
        step,
        /// Block of the last lock (`LastRateLimitedBlock[NetworkLastRegistered]`), 0 = never.
        last_lock_block,
        /// Block of the last subnet registration, 0 = never.
        last_registration_block,
        /// Registrations so far.
        registrations,
        /// Prunings so far.
        prunings,
        /// The step counter when a runtime guard first failed (stage `guards`); 0 while clean.
        guard_step,
    }
}

/// Sizes of each subnet's Yuma block (model.md §2): V validators, M miners, and the consensus
/// history weight copiers read (`reveal` epochs back). All zero when Yuma is off.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct YumaLayout {
    /// Validators V (uids `0..V`).
    pub validators: usize,
    /// Miners M (uids `V..V+M`).
    pub miners: usize,
    /// Epochs of consensus history kept (commit-reveal lag).
    pub reveal: usize,
}

impl YumaLayout {
    /// Uids per subnet, `V + M`.
    pub fn uids(&self) -> usize {
        self.validators + self.miners
    }

    /// Reals per subnet: miner quality `[M]`, bonds `[V × (V+M)]`, consensus history
    /// `[reveal × (V+M)]`, in that order.
    pub fn reals(&self) -> usize {
        self.miners + self.validators * self.uids() + self.reveal * self.uids()
    }

    /// Integers per subnet: validator permits `[V+M]`.
    pub fn ints(&self) -> usize {
        self.uids()
    }
}

/// One subnet's Yuma block, split into its named parts.
#[derive(Debug)]
pub struct YumaBlock<'a, R> {
    /// Miner quality u_j, `[M]`.
    pub miner_quality: &'a mut [R],
    /// Bonds, `[V × (V+M)]` row-major.
    pub bonds: &'a mut [R],
    /// Consensus of the last `reveal` epochs, `[reveal × (V+M)]`, newest first.
    pub consensus_history: &'a mut [R],
    /// Validator permits of the last epoch, `[V+M]`.
    pub permits: &'a mut [u32],
}

impl<R> YumaBlock<'_, R> {
    /// Names of the real parts, in [`YumaBlock::real_parts`]'s order (what guard errors print).
    pub const REAL_NAMES: [&'static str; 3] = ["miner_quality", "bonds", "consensus_history"];

    /// The real parts, in the order of [`YumaBlock::REAL_NAMES`].
    pub fn real_parts(&mut self) -> [&mut [R]; 3] {
        [&mut *self.miner_quality, &mut *self.bonds, &mut *self.consensus_history]
    }
}

impl YumaLayout {
    /// Splits subnet `i`'s block out of one path's Yuma buffers.
    pub fn block<'a, R>(
        &self,
        reals: &'a mut [R],
        ints: &'a mut [u32],
        i: usize,
    ) -> YumaBlock<'a, R> {
        let (nr, ni) = (self.reals(), self.ints());
        let r = &mut reals[i * nr..(i + 1) * nr];
        let (miner_quality, rest) = r.split_at_mut(self.miners);
        let (bonds, consensus_history) = rest.split_at_mut(self.validators * self.uids());
        YumaBlock {
            miner_quality,
            bonds,
            consensus_history,
            permits: &mut ints[i * ni..(i + 1) * ni],
        }
    }
}

/// The state of a batch of paths: flat buffers, path-major (see the module docs).
#[derive(Clone, Debug, PartialEq)]
pub struct BatchState<R: Real> {
    /// Number of paths in the batch.
    pub paths: usize,
    /// Subnet slots per path (`subnet_limit`).
    pub subnets: usize,
    /// Sizes of each subnet's Yuma block.
    pub yuma: YumaLayout,
    /// `paths × SubnetReal::FIELDS × subnets` reals.
    pub subnet_real: Vec<R>,
    /// `paths × SubnetInt::FIELDS × subnets` integers.
    pub subnet_int: Vec<u32>,
    /// `paths × GlobalReal::FIELDS` reals.
    pub global_real: Vec<R>,
    /// `paths × GlobalInt::FIELDS` integers.
    pub global_int: Vec<u32>,
    /// `paths × subnets × yuma.reals()` reals (see [`YumaLayout`]).
    pub yuma_real: Vec<R>,
    /// `paths × subnets × yuma.ints()` integers.
    pub yuma_int: Vec<u32>,
}

/// Mutable named views of one path's state, as the CPU stages use it.
#[derive(Debug)]
pub struct PathState<'a, R> {
    /// Per-subnet reals.
    pub sub: SubnetReal<'a, R>,
    /// Per-subnet integers.
    pub sub_int: SubnetInt<'a, u32>,
    /// Global reals (each slice has length 1).
    pub global: GlobalReal<'a, R>,
    /// Global integers (each slice has length 1).
    pub global_int: GlobalInt<'a, u32>,
    /// Yuma reals of every subnet (split one subnet at a time with [`YumaLayout::block`]).
    pub yuma_real: &'a mut [R],
    /// Yuma integers of every subnet.
    pub yuma_int: &'a mut [u32],
}

impl<R: Real> BatchState<R> {
    /// A zeroed batch of `paths` paths with `subnets` slots each, without Yuma blocks.
    pub fn zeroed(paths: usize, subnets: usize) -> Self {
        Self::with_yuma(paths, subnets, YumaLayout::default())
    }

    /// A zeroed batch with a Yuma block of `yuma`'s sizes per subnet.
    pub fn with_yuma(paths: usize, subnets: usize, yuma: YumaLayout) -> Self {
        Self {
            paths,
            subnets,
            yuma,
            yuma_real: vec![R::zero(); paths * subnets * yuma.reals()],
            yuma_int: vec![0; paths * subnets * yuma.ints()],
            subnet_real: vec![R::zero(); paths * SubnetReal::<R>::FIELDS * subnets],
            subnet_int: vec![0; paths * SubnetInt::<u32>::FIELDS * subnets],
            global_real: vec![R::zero(); paths * GlobalReal::<R>::FIELDS],
            global_int: vec![0; paths * GlobalInt::<u32>::FIELDS],
        }
    }

    /// The same state in precision `S`: each real is `S::of` its f64 value (rounded to nearest
    /// when narrowing to f32, exact when widening), the integers copied. For comparing runs of
    /// the two precisions from one start.
    pub fn to_precision<S: Real>(&self) -> BatchState<S> {
        let convert = |reals: &[R]| reals.iter().map(|&x| S::of(x.f64())).collect();
        BatchState {
            paths: self.paths,
            subnets: self.subnets,
            yuma: self.yuma,
            subnet_real: convert(&self.subnet_real),
            subnet_int: self.subnet_int.clone(),
            global_real: convert(&self.global_real),
            global_int: self.global_int.clone(),
            yuma_real: convert(&self.yuma_real),
            yuma_int: self.yuma_int.clone(),
        }
    }

    /// Named views of path `p`.
    pub fn path(&mut self, p: usize) -> PathState<'_, R> {
        let s = self.subnets;
        let (nr, ni) = (SubnetReal::<R>::FIELDS * s, SubnetInt::<u32>::FIELDS * s);
        let (gr, gi) = (GlobalReal::<R>::FIELDS, GlobalInt::<u32>::FIELDS);
        let (yr, yi) = (s * self.yuma.reals(), s * self.yuma.ints());
        PathState {
            sub: SubnetReal::split(&mut self.subnet_real[p * nr..(p + 1) * nr], s),
            sub_int: SubnetInt::split(&mut self.subnet_int[p * ni..(p + 1) * ni], s),
            global: GlobalReal::split(&mut self.global_real[p * gr..(p + 1) * gr], 1),
            global_int: GlobalInt::split(&mut self.global_int[p * gi..(p + 1) * gi], 1),
            yuma_real: &mut self.yuma_real[p * yr..(p + 1) * yr],
            yuma_int: &mut self.yuma_int[p * yi..(p + 1) * yi],
        }
    }

    /// Runs `f` on every path's views, in parallel over paths (rayon), and returns what each
    /// returned, in path order. `f` gets the path index within the batch.
    ///
    /// Each path is handed its own disjoint slices, so the result is the same for any thread
    /// count.
    pub fn map_paths<T, F>(&mut self, f: F) -> Vec<T>
    where
        T: Send,
        F: Fn(usize, PathState<'_, R>) -> T + Sync + Send,
    {
        use rayon::prelude::*;
        let s = self.subnets;
        let (nr, ni) = (SubnetReal::<R>::FIELDS * s, SubnetInt::<u32>::FIELDS * s);
        let (gr, gi) = (GlobalReal::<R>::FIELDS, GlobalInt::<u32>::FIELDS);
        if self.paths == 0 {
            return Vec::new();
        }
        let (yr, yi) = (s * self.yuma.reals(), s * self.yuma.ints());
        // An empty Yuma buffer (Yuma off) still hands each path its (empty) slice.
        let yuma_reals: Vec<&mut [R]> = if yr == 0 {
            (0..self.paths).map(|_| &mut [][..]).collect()
        } else {
            self.yuma_real.chunks_mut(yr).collect()
        };
        let yuma_ints: Vec<&mut [u32]> = if yi == 0 {
            (0..self.paths).map(|_| &mut [][..]).collect()
        } else {
            self.yuma_int.chunks_mut(yi).collect()
        };
        self.subnet_real
            .par_chunks_mut(nr.max(1))
            .zip(self.subnet_int.par_chunks_mut(ni.max(1)))
            .zip(self.global_real.par_chunks_mut(gr))
            .zip(self.global_int.par_chunks_mut(gi))
            .zip(yuma_reals.into_par_iter())
            .zip(yuma_ints.into_par_iter())
            .enumerate()
            .map(|(p, (((((sr, si), g), gint), yuma_real), yuma_int))| {
                f(
                    p,
                    PathState {
                        sub: SubnetReal::split(sr, s),
                        sub_int: SubnetInt::split(si, s),
                        global: GlobalReal::split(g, 1),
                        global_int: GlobalInt::split(gint, 1),
                        yuma_real,
                        yuma_int,
                    },
                )
            })
            .collect()
    }

    /// Runs `f` on every path's views, in parallel over paths (see [`BatchState::map_paths`]).
    pub fn for_each_path<F>(&mut self, f: F)
    where
        F: Fn(usize, PathState<'_, R>) + Sync + Send,
    {
        self.map_paths(f);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn views_address_the_documented_offsets() {
        let mut b = BatchState::<f64>::zeroed(3, 4);
        {
            let p = b.path(2);
            p.sub.alpha[3] = 7.0;
            p.sub_int.registered_block[1] = 9;
            p.global.root_tao[0] = 5.0;
        }
        let s = 4;
        let path_block = SubnetReal::<f64>::FIELDS * s;
        // alpha is field 1: offset = path * block + field * S + subnet.
        assert_eq!(b.subnet_real[2 * path_block + s + 3], 7.0);
        assert_eq!(b.subnet_int[2 * SubnetInt::<u32>::FIELDS * s + s + 1], 9);
        assert_eq!(b.global_real[2 * GlobalReal::<f64>::FIELDS + 1], 5.0);
        assert_eq!(SubnetReal::<f64>::NAMES[1], "alpha");
    }

    #[test]
    fn precision_conversion_rounds_narrowing_and_is_exact_widening() {
        let layout = YumaLayout { validators: 1, miners: 1, reveal: 1 };
        let mut b = BatchState::<f64>::with_yuma(2, 3, layout);
        let third = 1.0 / 3.0;
        b.subnet_real.fill(third);
        b.global_real.fill(-0.1);
        b.yuma_real.fill(1e300);
        b.subnet_int.fill(7);
        b.yuma_int.fill(9);
        let narrow = b.to_precision::<f32>();
        assert_eq!((narrow.paths, narrow.subnets, narrow.yuma), (2, 3, layout));
        assert!(narrow.subnet_real.iter().all(|&x| x == third as f32));
        assert!(narrow.global_real.iter().all(|&x| x == -0.1_f32));
        assert!(narrow.yuma_real.iter().all(|&x| x == f32::INFINITY), "past the f32 range");
        assert_eq!((&narrow.subnet_int, &narrow.yuma_int), (&b.subnet_int, &b.yuma_int));
        let wide = narrow.to_precision::<f64>();
        assert!(wide.subnet_real.iter().all(|&x| x == f64::from(third as f32)));
        assert_eq!(wide.to_precision::<f32>(), narrow, "widening is exact");
        assert_eq!(b.to_precision::<f64>(), b, "f64 to f64 is a copy");
    }

    #[test]
    fn parallel_views_cover_each_path_once() {
        let mut b = BatchState::<f32>::zeroed(17, 5);
        b.for_each_path(|p, st| {
            for x in st.sub.tao.iter_mut() {
                *x += p as f32;
            }
            st.global_int.block[0] += 1;
        });
        for p in 0..17 {
            assert!(b.path(p).sub.tao.iter().all(|&x| x == p as f32));
            assert_eq!(b.path(p).global_int.block[0], 1);
        }
    }
}
