//! Groups of subnet slots side by side, for the stages whose CPU twins run several subnets at a
//! time ([`payouts`](crate::cpu::payouts), [`swaps`](crate::cpu::swaps),
//! [`injection`](crate::cpu::injection)), and the path-wide sums over slots they share
//! ([`SlotSum`], [`CompensatedSlotSum`]: interleaved lanes, the shaders' lane order). It sits
//! beside the stage twins, not among them: `cpu/` holds one file per stage, each with its WGSL
//! shader.
//!
//! Such a stage states its per-subnet arithmetic once, on a subnet's plain values (its "books"),
//! and evaluates it one subnet at a time (the form its WGSL shader mirrors) or for a group of
//! consecutive subnets in lanes. [`subnet_lanes!`] declares both views of the columns the stage
//! reads or writes from one list of [`SubnetReal`](crate::state::SubnetReal) fields, so the two
//! cannot disagree on which columns they carry.

/// Lane-by-lane access to a group of subnets' books, wherever the group's values live: a loop
/// over the lanes written once against it runs on the columns in place or on a local copy.
pub(crate) trait LaneGroup<B> {
    /// Lane `k`'s books.
    fn lane(&self, k: usize) -> B;
    /// Writes lane `k`'s books.
    fn set_lane(&mut self, k: usize, books: B);
}

/// Declares, from one list of [`SubnetReal`](crate::state::SubnetReal) columns:
///
/// - `$books<R>`: one subnet's values of them, with `read(s, i)` and `write(&self, s, i)`;
/// - `$lanes<'a, R>`: `$n` consecutive subnets' columns borrowed in place as `&mut [R; $n]`
///   (`of(s, first)`): a loop over the lanes touches contiguous values with no bounds check per
///   lane and no copy of the group in and out;
/// - `$local<R>`: the same group's values copied into local arrays (`of(&lanes)`, then
///   `store(&mut lanes)`). Local arrays are known not to overlap, where the borrowed columns are
///   not, so a loop reading and writing a dozen columns can be vectorised on the copy: the
///   payouts' lanes stayed scalar in place even when compiled for AVX-512 (docs/performance.md,
///   session 20).
///
/// Both group types are [`LaneGroup`]s of `$books`.
macro_rules! subnet_lanes {
    // Lane access for either group type: `self.$field[k]` reads an array in place and a local
    // one alike.
    (@lane_group $books:ident, $group:ty; $($field:ident),*) => {
        impl<R: $crate::Real> $crate::lanes::LaneGroup<$books<R>> for $group {
            #[inline(always)]
            fn lane(&self, k: usize) -> $books<R> {
                $books { $($field: self.$field[k],)* }
            }

            #[inline(always)]
            fn set_lane(&mut self, k: usize, books: $books<R>) {
                $(self.$field[k] = books.$field;)*
            }
        }
    };
    ($books:ident, $lanes:ident, $local:ident, $n:expr; $($field:ident),* $(,)?) => {
        /// One subnet's values of the columns its stage reads or writes.
        #[derive(Clone, Copy, Debug)]
        struct $books<R> {
            $($field: R,)*
        }

        impl<R: $crate::Real> $books<R> {
            fn read(s: &$crate::state::SubnetReal<'_, R>, i: usize) -> Self {
                Self { $($field: s.$field[i],)* }
            }

            fn write(&self, s: &mut $crate::state::SubnetReal<'_, R>, i: usize) {
                $(s.$field[i] = self.$field;)*
            }
        }

        /// A group of consecutive subnets' columns, borrowed in place as fixed-size arrays.
        struct $lanes<'a, R> {
            $($field: &'a mut [R; $n],)*
        }

        impl<'a, R: $crate::Real> $lanes<'a, R> {
            /// Subnets `first .. first + n`.
            fn of(s: &'a mut $crate::state::SubnetReal<'_, R>, first: usize) -> Self {
                Self {
                    $($field: (&mut s.$field[first..first + $n])
                        .try_into()
                        .expect("a whole lane group"),)*
                }
            }
        }

        subnet_lanes!(@lane_group $books, $lanes<'_, R>; $($field),*);

        /// A group's values copied into local arrays.
        #[allow(dead_code, reason = "a stage whose lanes run in place does not copy them")]
        #[derive(Clone, Copy)]
        struct $local<R> {
            $($field: [R; $n],)*
        }

        #[allow(dead_code, reason = "a stage whose lanes run in place does not copy them")]
        impl<R: $crate::Real> $local<R> {
            #[inline(always)]
            fn of(lanes: &$lanes<'_, R>) -> Self {
                Self { $($field: *lanes.$field,)* }
            }

            #[inline(always)]
            fn store(&self, lanes: &mut $lanes<'_, R>) {
                $(*lanes.$field = self.$field;)*
            }
        }

        subnet_lanes!(@lane_group $books, $local<R>; $($field),*);
    };
}

pub(crate) use subnet_lanes;

/// Interleaved partial sums of a path-wide total over its subnet slots: slot `i` adds into lane
/// `i % SUM_LANES`.
///
/// The stages' path-wide totals (the payouts' TAO paid out, the swaps' TAO in and out, the
/// injection's share sum and minted TAO) are sums over the slots. Summed in slot order they are
/// one chain of dependent additions, whose latency bounded the light step (docs/performance.md,
/// session 23); in `SUM_LANES` lanes the chains are independent. This is the order of the
/// shaders' lane form (`lanes_sum`, shaders/shared/state.wgsl) at `PATH_LANES = SUM_LANES`: each
/// lane from +0 in slot order, then the lanes added in lane order from +0. A stage's per-subnet
/// form and its lane form both add through it, so the two keep the same bits, and the order does
/// not depend on the SIMD level, the thread count or the batch.
pub(crate) const SUM_LANES: usize = 8;

/// A path-wide sum over slots in [`SUM_LANES`] interleaved lanes.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct SlotSum<R> {
    lanes: [R; SUM_LANES],
}

impl<R: crate::Real> Default for SlotSum<R> {
    fn default() -> Self {
        Self { lanes: [R::zero(); SUM_LANES] }
    }
}

impl<R: crate::Real> SlotSum<R> {
    /// Adds slot `slot`'s term.
    #[inline(always)]
    pub(crate) fn add(&mut self, slot: usize, x: R) {
        self.lanes[slot % SUM_LANES] += x;
    }

    /// The sum of `values[i]` over the slots `i` with `mask[i] != 0`: [`add_masked`] from slot 0.
    ///
    /// [`add_masked`]: Self::add_masked
    #[inline(always)]
    pub(crate) fn of_masked(values: &[R], mask: &[u32]) -> Self {
        let mut sum = Self::default();
        sum.add_masked(0, values, mask);
        sum
    }

    /// Adds `values[k]` for slot `first + k` where `mask[k] != 0` (+0 elsewhere, which changes
    /// no lane's bits: a lane starts at +0 and never holds −0), the bits of [`add`](Self::add)
    /// slot by slot. `first` is a multiple of [`SUM_LANES`], so whole groups of eight slots go
    /// as fixed-size arrays: constant lane indices, no bounds checks and no branch, a loop that
    /// vectorises (slot by slot, a computed lane index keeps the lanes in memory).
    #[inline(always)]
    pub(crate) fn add_masked(&mut self, first: usize, values: &[R], mask: &[u32]) {
        assert!(
            first.is_multiple_of(SUM_LANES) && values.len() == mask.len(),
            "a group off the lanes"
        );
        let mut lanes = self.lanes;
        let (values, flags) = (values.chunks_exact(SUM_LANES), mask.chunks_exact(SUM_LANES));
        let (rest_values, rest_flags) = (values.remainder(), flags.remainder());
        for (values, flags) in values.zip(flags) {
            let values: &[R; SUM_LANES] = values.try_into().expect("a whole group");
            let flags: &[u32; SUM_LANES] = flags.try_into().expect("a whole group");
            for l in 0..SUM_LANES {
                lanes[l] += if flags[l] != 0 { values[l] } else { R::zero() };
            }
        }
        for (l, (&x, &flag)) in rest_values.iter().zip(rest_flags).enumerate() {
            lanes[l] += if flag != 0 { x } else { R::zero() };
        }
        self.lanes = lanes;
    }

    /// The total: the lanes added in lane order from +0.
    pub(crate) fn value(&self) -> R {
        let mut total = R::zero();
        for &lane in &self.lanes {
            total += lane;
        }
        total
    }
}

/// [`SlotSum`] with each lane a [`CompensatedSum`](crate::real::CompensatedSum), and the lanes'
/// values combined by one more compensated sum in lane order (the injection shader's minted
/// TAO).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub(crate) struct CompensatedSlotSum<R: crate::Real> {
    lanes: [crate::real::CompensatedSum<R>; SUM_LANES],
}

impl<R: crate::Real> CompensatedSlotSum<R> {
    /// Adds slot `slot`'s term.
    #[inline(always)]
    pub(crate) fn add(&mut self, slot: usize, x: R) {
        self.lanes[slot % SUM_LANES].add(x);
    }

    /// The total: each lane's compensated value added, in lane order, to a compensated sum.
    pub(crate) fn value(&self) -> R {
        let mut total = crate::real::CompensatedSum::default();
        for lane in &self.lanes {
            total.add(lane.value());
        }
        total.value()
    }
}

/// Every real's bits (`None` where a real has no f64 value), for comparing a lane form with its
/// per-subnet form bit for bit.
#[cfg(test)]
pub(crate) fn real_bits<R: crate::Real>(values: &[R]) -> Vec<Option<u64>> {
    values.iter().map(|x| x.to_f64().map(f64::to_bits)).collect()
}

/// Asserts that two one-path batches hold the same bits in every subnet column (named in the
/// message) and every global word.
#[cfg(test)]
pub(crate) fn assert_same_path_bits<R: crate::Real>(
    by_lanes: &crate::state::BatchState<R>,
    by_subnet: &crate::state::BatchState<R>,
    case: &str,
) {
    let slots = by_lanes.subnets;
    for (f, name) in crate::state::SubnetReal::<R>::NAMES.iter().enumerate() {
        let column = f * slots..(f + 1) * slots;
        assert_eq!(
            real_bits(&by_lanes.subnet_real[column.clone()]),
            real_bits(&by_subnet.subnet_real[column]),
            "{case}: column {name}"
        );
    }
    assert_eq!(real_bits(&by_lanes.global_real), real_bits(&by_subnet.global_real), "{case}");
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::real::CompensatedSum;

    /// 2^53, above which the spacing of f64 is 2: `2^53 + 1` rounds back to 2^53 (a tie, to
    /// even), and below it `1 − 2^53` is exact.
    const BIG: f64 = 9_007_199_254_740_992.0;

    /// Terms whose sum depends on the order: slot 0 is 2^53, slot 9 is −2^53, the rest ones
    /// (exact sum: `slots − 2`).
    fn terms(slots: usize) -> Vec<f64> {
        (0..slots)
            .map(|i| {
                if i == 0 {
                    BIG
                } else if i == 9 {
                    -BIG
                } else {
                    1.0
                }
            })
            .collect()
    }

    #[test]
    fn slot_sum_adds_each_lane_in_slot_order_then_the_lanes_in_lane_order() {
        let x = terms(37);
        let mut sum = SlotSum::<f64>::default();
        for (i, &v) in x.iter().enumerate() {
            sum.add(i, v);
        }
        // Written out: lane l holds slots l, l + 8, ... from +0; the lanes from +0 in order.
        let mut lanes = [0.0_f64; SUM_LANES];
        for (i, &v) in x.iter().enumerate() {
            lanes[i % SUM_LANES] += v;
        }
        let want = lanes.iter().fold(0.0, |total, lane| total + lane);
        assert_eq!(sum.value().to_bits(), want.to_bits());
        let all = vec![1; x.len()];
        assert_eq!(SlotSum::of_masked(&x, &all), sum, "`of_masked` against `add` slot by slot");
        // Masked-out slots add nothing: the sum of the others, slot by slot.
        let mask: Vec<u32> = (0..x.len()).map(|i| u32::from(i % 3 != 1)).collect();
        let mut some = SlotSum::<f64>::default();
        for (i, &v) in x.iter().enumerate().filter(|&(i, _)| mask[i] != 0) {
            some.add(i, v);
        }
        let masked = SlotSum::of_masked(&x, &mask);
        assert_eq!(masked.value().to_bits(), some.value().to_bits());
        assert_eq!(real_bits(&masked.lanes), real_bits(&some.lanes));
        // In pieces from slots that are multiples of the lanes (as behaviour adds its runs):
        // the same lanes.
        let mut pieces = SlotSum::<f64>::default();
        for (first, end) in [(0, 16), (16, 24), (24, x.len())] {
            pieces.add_masked(first, &x[first..end], &mask[first..end]);
        }
        assert_eq!(real_bits(&pieces.lanes), real_bits(&some.lanes));
        // Lane 0 (slots 0, 8, …, 32) loses its four ones to 2^53; lane 1 (slots 1, 9, …) is
        // 1 − 2^53 + 3 exactly; lanes 2-7 hold 27 ones: 2^53 + (4 − 2^53) + 27 = 31.
        assert_eq!(sum.value(), 31.0);
        // In slot order the seven ones after 2^53 are lost: 27 (exact: 35).
        let serial = x.iter().fold(0.0, |total, v| total + v);
        assert_eq!(serial, 27.0);
    }

    #[test]
    fn compensated_slot_sum_compensates_within_and_across_lanes() {
        let x = terms(37);
        let mut sum = CompensatedSlotSum::<f64>::default();
        for (i, &v) in x.iter().enumerate() {
            sum.add(i, v);
        }
        // Exact: 35 ones; each lane's compensated sum and their compensated total keep them all.
        assert_eq!(sum.value(), 35.0);
        let mut lanes = [CompensatedSum::<f64>::default(); SUM_LANES];
        for (i, &v) in x.iter().enumerate() {
            lanes[i % SUM_LANES].add(v);
        }
        let mut total = CompensatedSum::default();
        for lane in &lanes {
            total.add(lane.value());
        }
        assert_eq!(sum.value().to_bits(), total.value().to_bits());
    }
}
