//! Groups of subnet slots side by side, for the stages whose CPU twins run several subnets at a
//! time ([`payouts`](crate::cpu::payouts), [`swaps`](crate::cpu::swaps)). It sits beside the
//! stage twins, not among them: `cpu/` holds one file per stage, each with its WGSL shader.
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
