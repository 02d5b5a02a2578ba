//! Philox4x32-10 counter-based random numbers, keyed per path (model.md §11, §13).
//!
//! The generator is Random123's Philox4x32 with 10 rounds (Salmon et al., "Parallel random
//! numbers: as easy as 1, 2, 3", SC'11): a bijection of a 128-bit counter under a 64-bit key. It
//! has no state, so a draw depends only on *which* draw it is, never on the order in which
//! threads, batches or shards produce it; that is what makes a path's result independent of
//! backend scheduling.
//!
//! # Key and counter scheme (part of the reproducibility contract)
//!
//! A path's stream is keyed by the run seed and addressed by (point, path):
//!
//! ```text
//! key     = [ seed as u32, (seed >> 32) as u32 ]
//! counter = [ step, (stream << 16) | subnet, point, path ]
//! ```
//!
//! - `step`: the engine step (u32; 2^32 steps of 361 blocks is far beyond any horizon).
//! - `subnet`: the subnet slot, `< 65536`; draws that belong to no subnet use [`GLOBAL_SUBNET`].
//! - `stream`: what the draw is for, `< 65536`, one of the ids in [`stream`].
//! - `point`, `path`: the sweep point id and the path id within the point.
//!
//! Each (step, subnet, stream) address yields one block of four `u32` words. A stage that needs
//! more than four words per subnet and step uses a *range* of stream ids (see [`stream`]).
//! Both 16-bit limits are checked by [`PathRng::block`] (it panics on overflow, because an
//! overflowing id would silently alias another stream).
//!
//! # Conversions
//!
//! The conversions ([`uniform_open`], [`normal_pair`], [`normal_icdf`], [`exponential`],
//! [`poisson`], [`lognormal`]) are deterministic functions of the `u32` words only and use the same formula at
//! f32 and f64, so the GPU's f32 twin agrees with the f64 reference up to rounding (integer
//! results such as Poisson counts can flip on the rare draw that lands on a rounding boundary).
//!
//! # WGSL twin
//!
//! WGSL has no 64-bit integers, so the shader computes the 32x32->64 product from 16-bit halves;
//! [`mul_hi_lo_emulated`] is that algorithm on the CPU, tested against [`mul_hi_lo`].
//!
//! # CPU speed-ups (same words)
//! [`PathRng`] derives the ten round keys once; [`StepRng`] ([`PathRng::at_step`]) also computes
//! once per step the part of rounds 1-3 that depends only on (step, point, path), so a block of
//! a hot stage costs about 100 instructions instead of 150. Several blocks at once
//! ([`StepRng::blocks`] of three or more streams, [`StepRng::fill_blocks`] of a range of streams,
//! [`StepRng::fill_block_pairs`] of two streams over a run of subnets) keep each word in a `u64`
//! lane, so the compiler computes them side by side in SSE2 registers (two 32×32→64 products per
//! `pmuludq`): about 55-65 instructions a block. [`Poisson`] holds `e^{−λ}` for a mean
//! drawn in every slot. All are exact (integer arithmetic, or the same float value computed once).
//! [`StepRng::fill_normals`] (the blocks of a range of streams inverted word by word into
//! normals) and [`StepRng::fill_block_pairs`] run at the CPU's widest [`SimdLevel`] (AVX2 lanes
//! where the CPU has them, chosen at run time; [`crate::simd`]), with the same words and normals.

use crate::simd::{self, Kernel, SimdLevel};

/// First Philox4x32 round multiplier (Random123 `PHILOX_M4x32_0`).
pub const PHILOX_M0: u32 = 0xD251_1F53;
/// Second Philox4x32 round multiplier (Random123 `PHILOX_M4x32_1`).
pub const PHILOX_M1: u32 = 0xCD9E_8D57;
/// Weyl increment of the first key word per round (golden ratio, Random123 `PHILOX_W32_0`).
pub const PHILOX_W0: u32 = 0x9E37_79B9;
/// Weyl increment of the second key word per round (sqrt(3) - 1, Random123 `PHILOX_W32_1`).
pub const PHILOX_W1: u32 = 0xBB67_AE85;
/// Number of Philox rounds (10, Random123's default and the Crush-resistant choice).
pub const PHILOX_ROUNDS: u32 = 10;

/// The (point, path) address of draws that plan a sweep rather than simulate a path: `u32::MAX`
/// in both fields, a path id no run reaches (a point would need 2^32 paths).
pub const DESIGN_ADDRESS: u32 = u32::MAX;

/// The subnet field used for draws that belong to the whole path rather than one subnet.
pub const GLOBAL_SUBNET: u32 = 0xFFFF;

/// The high and low 32-bit words of the 64-bit product `a * b`.
#[inline]
pub fn mul_hi_lo(a: u32, b: u32) -> (u32, u32) {
    let product = u64::from(a) * u64::from(b);
    ((product >> 32) as u32, product as u32)
}

/// [`mul_hi_lo`] computed with 32-bit arithmetic only, from 16-bit halves (the WGSL algorithm).
///
/// Every partial product of two 16-bit halves fits in a `u32`; the middle column collects the
/// carries out of the low half so the high word is exact.
#[inline]
pub fn mul_hi_lo_emulated(a: u32, b: u32) -> (u32, u32) {
    let a_lo = a & 0xFFFF;
    let a_hi = a >> 16;
    let b_lo = b & 0xFFFF;
    let b_hi = b >> 16;
    let lo_lo = a_lo * b_lo;
    let lo_hi = a_lo * b_hi;
    let hi_lo = a_hi * b_lo;
    let hi_hi = a_hi * b_hi;
    // Bits 16..31 of the product plus the carry into bit 32: at most 3 * (2^16 - 1), fits in u32.
    let middle = (lo_lo >> 16) + (lo_hi & 0xFFFF) + (hi_lo & 0xFFFF);
    let low = (lo_lo & 0xFFFF) | (middle << 16);
    // The true high word is < 2^32 and every partial sum is below it, so nothing overflows.
    let high = hi_hi + (lo_hi >> 16) + (hi_lo >> 16) + (middle >> 16);
    (high, low)
}

/// One Philox4x32 round: two multiplies, then a Feistel-like swap mixed with the round key.
#[inline]
fn philox_round(ctr: [u32; 4], key: [u32; 2]) -> [u32; 4] {
    let (hi0, lo0) = mul_hi_lo(PHILOX_M0, ctr[0]);
    let (hi1, lo1) = mul_hi_lo(PHILOX_M1, ctr[2]);
    [hi1 ^ ctr[1] ^ key[0], lo1, hi0 ^ ctr[3] ^ key[1], lo0]
}

/// Random123's Philox4x32-10: the four output words for counter `ctr` under key `key`.
pub fn philox4x32_10(ctr: [u32; 4], key: [u32; 2]) -> [u32; 4] {
    let mut ctr = ctr;
    let mut key = key;
    for round in 0..PHILOX_ROUNDS {
        // The key is bumped between rounds, not before the first (Random123 `philox4x32_R`).
        if round > 0 {
            key = [key[0].wrapping_add(PHILOX_W0), key[1].wrapping_add(PHILOX_W1)];
        }
        ctr = philox_round(ctr, key);
    }
    ctr
}

/// The ten round keys of Philox4x32-10 under `key`: the key itself, then bumped by the Weyl
/// increments before each later round (Random123 `philox4x32_R`).
fn round_keys(key: [u32; 2]) -> [[u32; 2]; PHILOX_ROUNDS as usize] {
    let mut keys = [key; PHILOX_ROUNDS as usize];
    for round in 1..keys.len() {
        let [k0, k1] = keys[round - 1];
        keys[round] = [k0.wrapping_add(PHILOX_W0), k1.wrapping_add(PHILOX_W1)];
    }
    keys
}

/// Philox4x32-10 of `ctr` with the round keys given (the same words as [`philox4x32_10`] under
/// the key `keys[0]`).
#[inline]
fn philox_with_keys(ctr: [u32; 4], keys: &[[u32; 2]; PHILOX_ROUNDS as usize]) -> [u32; 4] {
    let mut ctr = ctr;
    for &key in keys {
        ctr = philox_round(ctr, key);
    }
    ctr
}

/// The random stream of one Monte Carlo path: the Philox key of the run seed plus the path's
/// (point, path) address. Cheap to copy; holds no mutable state (the round keys are derived from
/// the key once, not per block).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PathRng {
    point: u32,
    path: u32,
    round_keys: [[u32; 2]; PHILOX_ROUNDS as usize],
}

impl PathRng {
    /// The stream of path `path` of sweep point `point` under the run seed `seed`.
    pub fn new(seed: u64, point: u32, path: u32) -> Self {
        let key = [seed as u32, (seed >> 32) as u32];
        Self { point, path, round_keys: round_keys(key) }
    }

    /// The four words at (step, subnet, stream); `subnet` and `stream` must be `< 65536`.
    ///
    /// # Panics
    /// If `subnet` or `stream` does not fit in 16 bits (it would alias another stream's words).
    #[inline]
    pub fn block(&self, step: u32, subnet: u32, stream: u32) -> [u32; 4] {
        let [words] = self.blocks(step, subnet, [stream]);
        words
    }

    /// The blocks of several streams at one (step, subnet): `blocks(step, subnet, s)[k]` equals
    /// `block(step, subnet, s[k])`.
    ///
    /// # Panics
    /// As [`PathRng::block`], for the subnet or any of the streams.
    #[inline]
    pub fn blocks<const N: usize>(
        &self,
        step: u32,
        subnet: u32,
        streams: [u32; N],
    ) -> [[u32; 4]; N] {
        assert!(subnet < 0x1_0000, "rng subnet field {subnet} does not fit in 16 bits");
        // One block after another on purpose: a structure-of-arrays form over the blocks was not
        // vectorised (scalar code with register spills, 162 instead of 111 instructions a block).
        streams.map(|stream| {
            assert!(stream < 0x1_0000, "rng stream id {stream} does not fit in 16 bits");
            philox_with_keys(
                [step, (stream << 16) | subnet, self.point, self.path],
                &self.round_keys,
            )
        })
    }

    /// The draws of step `step` of this path, with the counter words that do not depend on the
    /// subnet or stream mixed in once ([`StepRng`]).
    #[inline]
    pub fn at_step(&self, step: u32) -> StepRng {
        let keys = self.round_keys;
        // Round 1: words 0, 2 and 3 of the counter are (step, point, path), fixed for the step.
        let (hi0, lo0) = mul_hi_lo(PHILOX_M0, step);
        let (hi1, lo1) = mul_hi_lo(PHILOX_M1, self.point);
        let word0_base = hi1 ^ keys[0][0];
        let x2 = hi0 ^ self.path ^ keys[0][1];
        // Round 2: its second multiply (of word 2) and words 0, 1 of its output are fixed too.
        let (hi1, lo1_r2) = mul_hi_lo(PHILOX_M1, x2);
        let y0 = hi1 ^ lo1 ^ keys[1][0];
        let word2_mask = lo0 ^ keys[1][1];
        // Round 3: its first multiply (of word 0) is fixed.
        let (hi0_r3, lo0_r3) = mul_hi_lo(PHILOX_M0, y0);
        StepRng { word0_base, word2_mask, y1: lo1_r2, hi0_r3, lo0_r3, keys }
    }
}

/// The random stream of one path at one step: [`PathRng::block`] with the step's fixed part of
/// the first three Philox rounds computed once (integer arithmetic, so the same words; about a
/// fifth fewer instructions per block).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StepRng {
    /// Word 0 after round 1, before the counter's word 1 is mixed in.
    word0_base: u32,
    /// What round 2 mixes into the high half of its first product (word 2 of its output).
    word2_mask: u32,
    /// Word 1 after round 2.
    y1: u32,
    /// Round 3's first product (of word 0 after round 2), high and low halves.
    hi0_r3: u32,
    lo0_r3: u32,
    keys: [[u32; 2]; PHILOX_ROUNDS as usize],
}

impl StepRng {
    /// The four words at (this step, subnet, stream): equal to [`PathRng::block`].
    ///
    /// # Panics
    /// If `subnet` or `stream` does not fit in 16 bits.
    #[inline]
    pub fn block(&self, subnet: u32, stream: u32) -> [u32; 4] {
        let [words] = self.blocks(subnet, [stream]);
        words
    }

    /// The blocks of several streams at (this step, subnet): `blocks(subnet, s)[k]` equals
    /// [`PathRng::block`]`(step, subnet, s[k])`.
    ///
    /// # Panics
    /// If `subnet` or a stream does not fit in 16 bits.
    #[inline]
    pub fn blocks<const N: usize>(&self, subnet: u32, streams: [u32; N]) -> [[u32; 4]; N] {
        assert!(subnet < 0x1_0000, "rng subnet field {subnet} does not fit in 16 bits");
        for &stream in &streams {
            assert!(stream < 0x1_0000, "rng stream id {stream} does not fit in 16 bits");
        }
        // The 32-bit form: the callers draw one or two blocks here, which are not vectorised
        // (callgrind: 250 instructions a pair in u64 lanes, 228 in 32-bit words); runs of blocks
        // come from `fill_blocks` and `fill_block_pairs`.
        let mut out = [[0; 4]; N];
        for (words, &stream) in out.iter_mut().zip(&streams) {
            *words = self.rounds(((stream << 16) | subnet) ^ self.word0_base);
        }
        out
    }

    /// The blocks of two streams at consecutive subnets of this step: `out[2k]` equals
    /// [`PathRng::block`]`(step, first_subnet + k, streams[0])` and `out[2k + 1]` the block of
    /// `streams[1]` there.
    ///
    /// A consumer of two blocks per subnet (behaviour) fills them for a run of subnets at once:
    /// like [`StepRng::fill_blocks`], one plain loop that the compiler vectorises (about 60
    /// instructions a block), where two blocks alone are computed one after the other (about
    /// 110 each: two `u64` lanes are not vectorised).
    ///
    /// # Panics
    /// If `out` has an odd length, or a stream or one of the subnets does not fit in 16 bits.
    #[inline]
    pub fn fill_block_pairs(&self, first_subnet: u32, streams: [u32; 2], out: &mut [[u32; 4]]) {
        assert!(out.len().is_multiple_of(2), "rng block pairs: odd length {}", out.len());
        assert!(
            first_subnet as usize + out.len() / 2 <= 0x1_0000,
            "rng subnets {first_subnet}+{} do not fit in 16 bits",
            out.len() / 2
        );
        for &stream in &streams {
            assert!(stream < 0x1_0000, "rng stream id {stream} does not fit in 16 bits");
        }
        simd::run(FillBlockPairs { rng: self, first_subnet, streams, out });
    }

    /// The body of [`StepRng::fill_block_pairs`] ([`FillBlockPairs`]), ranges checked.
    #[inline(always)]
    fn fill_block_pairs_in(&self, first_subnet: u32, streams: [u32; 2], out: &mut [[u32; 4]]) {
        let [even, odd] = streams.map(|stream| (stream << 16) ^ self.word0_base);
        for (k, words) in out.iter_mut().enumerate() {
            let k = k as u32;
            // The stream of entry k without a branch or an indexed load (either would keep the
            // loop from being vectorised): all ones selects `odd` for the odd entries.
            let odd_entry = 0_u32.wrapping_sub(k & 1);
            let stream_part = even ^ ((even ^ odd) & odd_entry);
            *words = self.rounds_wide(stream_part ^ (first_subnet + (k >> 1)));
        }
    }

    /// The blocks of consecutive streams at (this step, subnet): `out[k]` equals
    /// [`PathRng::block`]`(step, subnet, first_stream + k)`.
    ///
    /// One plain loop over the blocks with nothing but the block's arithmetic inside, so the
    /// compiler vectorises it (four blocks per pass in SSE2 lanes, the 32×32→64 products by
    /// `pmuludq`): about 60 instructions a block instead of the ~100 of one [`StepRng::block`]
    /// call. A consumer of many consecutive blocks (the Yuma weight noise) fills a buffer with it.
    ///
    /// # Panics
    /// If `subnet` or one of the streams does not fit in 16 bits.
    #[inline]
    pub fn fill_blocks(&self, subnet: u32, first_stream: u32, out: &mut [[u32; 4]]) {
        check_stream_run(subnet, first_stream, out.len());
        self.fill_blocks_unchecked(subnet, first_stream, out);
    }

    /// [`StepRng::fill_blocks`] without its range checks.
    #[inline(always)]
    fn fill_blocks_unchecked(&self, subnet: u32, first_stream: u32, out: &mut [[u32; 4]]) {
        for (k, words) in out.iter_mut().enumerate() {
            let stream = first_stream + k as u32;
            *words = self.rounds_wide(((stream << 16) | subnet) ^ self.word0_base);
        }
    }

    /// One standard normal per word of consecutive blocks at (this step, subnet): `out[4k + w]`
    /// is [`normal_icdf`] of word `w` of [`StepRng::fill_blocks`]'s block `k`, bit for bit.
    ///
    /// The Yuma weight noise draws all its normals this way. The work is lanes of independent
    /// words, so it runs at the widest [`SimdLevel`] the CPU has ([`crate::simd`]): blocks in
    /// passes of [`NORMALS_PASS`], each pass's words through [`normals_of_words`] (the central
    /// rational function in lanes, the 4.85% of words in the tails redone after).
    ///
    /// # Panics
    /// If `out.len()` is not a multiple of four, or `subnet` or one of the streams does not fit in
    /// 16 bits.
    pub fn fill_normals<R: crate::Real>(&self, subnet: u32, first_stream: u32, out: &mut [R]) {
        self.fill_normals_at(SimdLevel::current(), subnet, first_stream, out);
    }

    /// [`StepRng::fill_normals`] at `level`.
    ///
    /// # Panics
    /// As [`StepRng::fill_normals`], and if this CPU does not run `level`.
    pub fn fill_normals_at<R: crate::Real>(
        &self,
        level: SimdLevel,
        subnet: u32,
        first_stream: u32,
        out: &mut [R],
    ) {
        assert!(out.len().is_multiple_of(4), "rng normals: {} words, not whole blocks", out.len());
        check_stream_run(subnet, first_stream, out.len() / 4);
        simd::run_at(level, FillNormals { rng: self, subnet, first_stream, out });
    }

    /// Two standard normals per block of consecutive blocks at (this step, subnet): `out[2k + w]`
    /// is [`normal_icdf`] of word `first_word + w` (`w` 0 or 1) of [`StepRng::fill_blocks`]'s
    /// block `k`, bit for bit; an odd `out` leaves the last block's second word unused. A Yuma
    /// registration's start qualities draw this way (words 2 and 3 of the miner-quality
    /// blocks; the walk uses 0 and 1, in the epoch with the noise,
    /// [`StepRng::fill_normals_and_word_pairs`]), at the widest [`SimdLevel`] as
    /// [`StepRng::fill_normals`].
    ///
    /// # Panics
    /// If `first_word > 2`, or `subnet` or one of the streams does not fit in 16 bits.
    pub fn fill_word_pair_normals<R: crate::Real>(
        &self,
        subnet: u32,
        first_stream: u32,
        first_word: usize,
        out: &mut [R],
    ) {
        // Passes of `PAIR_PASS` blocks through the combined kernel with no whole blocks.
        let mut words = [0_u32; StepRng::words_for(0, 2 * PAIR_PASS)];
        for (pass, out) in out.chunks_mut(2 * PAIR_PASS).enumerate() {
            let pair_stream = first_stream + (pass * PAIR_PASS) as u32;
            self.fill_normals_and_word_pairs(
                subnet,
                (first_stream, 0),
                (pair_stream, first_word),
                &mut words,
                out,
            );
        }
    }

    /// [`StepRng::fill_normals`] of `blocks` blocks from `first_stream` into `out[..4·blocks]`
    /// and [`StepRng::fill_word_pair_normals`] of words `first_word, first_word + 1` of the
    /// blocks from `pair_stream` into the rest of `out`, bit for bit, in one call: one kernel,
    /// and the tail words of both share batches. The Yuma epoch draws a subnet's weight noise
    /// and miner walk this way. `words` is scratch of at least [`StepRng::words_for`]`(blocks,
    /// pairs)` entries (a reused buffer: the call zeroes nothing).
    ///
    /// # Panics
    /// If `out` is shorter than `4·blocks`, `words` than its need, `first_word > 2`, or
    /// `subnet` or one of the streams does not fit in 16 bits.
    pub fn fill_normals_and_word_pairs<R: crate::Real>(
        &self,
        subnet: u32,
        (first_stream, blocks): (u32, usize),
        (pair_stream, first_word): (u32, usize),
        words: &mut [u32],
        out: &mut [R],
    ) {
        assert!(first_word <= 2, "rng word pair from word {first_word}: a block has four");
        assert!(out.len() >= 4 * blocks, "rng normals: {} entries for {blocks} blocks", out.len());
        let pairs = out.len() - 4 * blocks;
        assert!(
            words.len() >= Self::words_for(blocks, pairs),
            "rng normals: {} scratch words for {blocks} blocks and {pairs} pair words",
            words.len()
        );
        check_stream_run(subnet, first_stream, blocks);
        check_stream_run(subnet, pair_stream, pairs.div_ceil(2));
        let kernel = FillNormalsAndPairs {
            rng: self,
            subnet,
            blocks: (first_stream, blocks),
            pairs: (pair_stream, first_word),
            words,
            out,
        };
        simd::run(kernel);
    }

    /// Scratch words [`StepRng::fill_normals_and_word_pairs`] needs for `blocks` whole blocks
    /// and `pairs` pair words: the words inverted, and the pair words' blocks.
    pub const fn words_for(blocks: usize, pairs: usize) -> usize {
        4 * blocks + pairs + 4 * pairs.div_ceil(2)
    }

    /// The body of [`StepRng::fill_normals`] ([`FillNormals`]).
    #[inline(always)]
    fn fill_normals_in<R: crate::Real>(&self, subnet: u32, first_stream: u32, out: &mut [R]) {
        let mut blocks = [[0_u32; 4]; NORMALS_PASS];
        for (pass, out) in out.chunks_mut(4 * NORMALS_PASS).enumerate() {
            let blocks = &mut blocks[..out.len() / 4];
            let first = first_stream + (pass * NORMALS_PASS) as u32;
            self.fill_blocks_unchecked(subnet, first, blocks);
            normals_of_words(&blocks.as_flattened()[..out.len()], out);
        }
    }

    /// [`StepRng::rounds`] with every word held in a `u64` whose low half is the word: a
    /// product's high word is then one shift and its low word the product itself (the garbage
    /// above bit 32 is masked off before the next multiply, and by the final `as u32`), so a
    /// vectorised loop multiplies two blocks per `pmuludq` without the shuffles that split the
    /// products of four `u32` lanes (about 55 instead of 60 instructions a block in
    /// [`StepRng::fill_blocks`]). Integer arithmetic: the same words.
    #[inline(always)]
    fn rounds_wide(&self, x0: u32) -> [u32; 4] {
        const LOW: u64 = 0xFFFF_FFFF;
        let keys = &self.keys;
        let (m0, m1) = (u64::from(PHILOX_M0), u64::from(PHILOX_M1));
        let p0 = m0 * u64::from(x0);
        let y2 = (p0 >> 32) ^ u64::from(self.word2_mask);
        let p1 = m1 * (y2 & LOW);
        let mut c0 = (p1 >> 32) ^ u64::from(self.y1 ^ keys[2][0]);
        let mut c1 = p1;
        let mut c2 = u64::from(self.hi0_r3 ^ keys[2][1]) ^ p0;
        let mut c3 = u64::from(self.lo0_r3);
        for &[k0, k1] in &keys[3..] {
            let q0 = m0 * (c0 & LOW);
            let q1 = m1 * (c2 & LOW);
            c0 = (q1 >> 32) ^ c1 ^ u64::from(k0);
            c2 = (q0 >> 32) ^ c3 ^ u64::from(k1);
            c1 = q1;
            c3 = q0;
        }
        [c0 as u32, c1 as u32, c2 as u32, c3 as u32]
    }

    /// Rounds 2-10 of the block whose word 0 after round 1 is `x0`.
    #[inline(always)]
    fn rounds(&self, x0: u32) -> [u32; 4] {
        let keys = &self.keys;
        let (hi0, lo0) = mul_hi_lo(PHILOX_M0, x0);
        let y2 = hi0 ^ self.word2_mask;
        let (hi1, lo1) = mul_hi_lo(PHILOX_M1, y2);
        let mut ctr =
            [hi1 ^ self.y1 ^ keys[2][0], lo1, self.hi0_r3 ^ lo0 ^ keys[2][1], self.lo0_r3];
        for &key in &keys[3..] {
            ctr = philox_round(ctr, key);
        }
        ctr
    }
}

/// Panics unless `subnet` and the `blocks` consecutive streams from `first_stream` fit in their
/// 16-bit counter fields (a larger one would alias another stream's words).
fn check_stream_run(subnet: u32, first_stream: u32, blocks: usize) {
    assert!(subnet < 0x1_0000, "rng subnet field {subnet} does not fit in 16 bits");
    assert!(
        first_stream as usize + blocks <= 0x1_0000,
        "rng stream ids {first_stream}+{blocks} do not fit in 16 bits"
    );
}

/// [`StepRng::fill_normals`] as a [`Kernel`] (compiled once per SIMD level).
struct FillNormals<'a, R> {
    rng: &'a StepRng,
    subnet: u32,
    first_stream: u32,
    out: &'a mut [R],
}

impl<R: crate::Real> Kernel for FillNormals<'_, R> {
    type Output = ();
    #[inline(always)]
    fn run(self) {
        self.rng.fill_normals_in(self.subnet, self.first_stream, self.out);
    }
}

/// Blocks per pass of [`StepRng::fill_word_pair_normals`]: two words each, 64 words (a subnet
/// of up to 64 miners in one pass; the pass's scratch is zeroed on every call, so not larger).
const PAIR_PASS: usize = 32;

/// [`StepRng::fill_normals_and_word_pairs`] as a [`Kernel`]: the whole blocks' words, then the
/// pair words gathered from their blocks (generated past them in `words`), all inverted by one
/// [`normals_of_words`] call.
struct FillNormalsAndPairs<'a, R> {
    rng: &'a StepRng,
    subnet: u32,
    /// First stream and count of the whole blocks.
    blocks: (u32, usize),
    /// First stream and first word of the pair blocks.
    pairs: (u32, usize),
    words: &'a mut [u32],
    out: &'a mut [R],
}

impl<R: crate::Real> Kernel for FillNormalsAndPairs<'_, R> {
    type Output = ();
    #[inline(always)]
    fn run(self) {
        let FillNormalsAndPairs { rng, subnet, blocks, pairs, words, out } = self;
        let ((first_stream, blocks), (pair_stream, first_word)) = (blocks, pairs);
        let pair_words = out.len() - 4 * blocks;
        let (inverted, spare) = words.split_at_mut(4 * blocks + pair_words);
        let (whole, paired) = inverted.split_at_mut(4 * blocks);
        rng.fill_blocks_unchecked(subnet, first_stream, whole.as_chunks_mut::<4>().0);
        let pair_blocks = &mut spare.as_chunks_mut::<4>().0[..pair_words.div_ceil(2)];
        rng.fill_blocks_unchecked(subnet, pair_stream, pair_blocks);
        for (k, word) in paired.iter_mut().enumerate() {
            *word = pair_blocks[k / 2][first_word + k % 2];
        }
        normals_of_words(inverted, out);
    }
}

/// [`StepRng::fill_block_pairs`] as a [`Kernel`] (compiled once per SIMD level).
struct FillBlockPairs<'a> {
    rng: &'a StepRng,
    first_subnet: u32,
    streams: [u32; 2],
    out: &'a mut [[u32; 4]],
}

impl Kernel for FillBlockPairs<'_> {
    type Output = ();
    #[inline(always)]
    fn run(self) {
        self.rng.fill_block_pairs_in(self.first_subnet, self.streams, self.out);
    }
}

/// Stream ids: what a draw is for (the `stream` field of the counter).
///
/// The ids are part of the reproducibility contract: renumbering one changes every result drawn
/// from it. Never reuse or renumber an id; a new consumer takes an unused id (the gaps between the
/// groups are left for that). A consumer that needs more than four words per (step, subnet) uses
/// a range `BASE..BASE + LEN` and must stay inside it.
pub mod stream {
    /// The four normals of a subnet's step in `behaviour`, one per word by inversion: word 0 the
    /// latent quality diffusion, 1 the organic inflow noise, 2 the organic outflow noise, 3 the
    /// size of the step's quality jumps. Word 0 kept its meaning when words 1-3 (unread since the
    /// normals are drawn by inversion) took the draws of the retired [`QUALITY_JUMP`],
    /// [`FLOW_NOISE`] and [`OUTFLOW_NOISE`].
    pub const BEHAVIOUR_NORMALS: u32 = 0x0000;
    /// Retired: was the quality jumps' count (words 0, 1) and size (word 2), now words 0, 1 of
    /// [`BEHAVIOUR_COUNTS`] and word 3 of [`BEHAVIOUR_NORMALS`]. Not read; kept so that the id is
    /// not taken for another meaning (runs before the change drew from it).
    pub const QUALITY_JUMP: u32 = 0x0001;
    /// Global market factor (AR(1)/OU innovation); drawn with `GLOBAL_SUBNET`.
    pub const MARKET: u32 = 0x0002;
    /// The Poisson counts of a subnet's step in `behaviour`: quality jumps (words 0, 1) and
    /// whale orders (words 2, 3), drawn every step with [`BEHAVIOUR_NORMALS`].
    pub const BEHAVIOUR_COUNTS: u32 = 0x0003;
    /// Retired: was the organic inflow noise (word 0), now word 1 of [`BEHAVIOUR_NORMALS`]. Not
    /// read; kept so that the id is not taken for another meaning.
    pub const FLOW_NOISE: u32 = 0x0010;
    /// Retired: was the organic outflow noise (word 0), now word 2 of [`BEHAVIOUR_NORMALS`]. Not
    /// read; kept so that the id is not taken for another meaning.
    pub const OUTFLOW_NOISE: u32 = 0x0011;
    /// Panic selling draws (reserved: not read, panic is deterministic given the state).
    pub const PANIC: u32 = 0x0020;
    /// Zero-emission exodus draws (reserved: not read, the exodus is deterministic given the
    /// state).
    pub const ZERO_EMISSION_EXIT: u32 = 0x0021;
    /// Whale order directions: bit `j` of word 3 for whale `j` (an exit if 1), drawn only in a
    /// step with whale orders. (Words 0, 1 held the count, drawn every step, until it moved to
    /// words 2, 3 of [`BEHAVIOUR_COUNTS`]; they are not read now.)
    pub const WHALE: u32 = 0x0030;
    /// Whale order sizes: word `j` for whale `j` (normal, by inversion), drawn only in a step
    /// with whale orders.
    pub const WHALE_SIZE: u32 = 0x0031;
    /// Revenue buyback noise.
    pub const BUYBACK: u32 = 0x0040;
    /// New-subnet arrivals (Poisson) and registrants' willingness to pay; drawn with
    /// `GLOBAL_SUBNET`.
    pub const REGISTRATION: u32 = 0x0100;
    /// Initial draws of a newly registered subnet (quality from the prior, start size), drawn
    /// with the slot's subnet index.
    pub const NEW_SUBNET: u32 = 0x0101;
    /// Synthetic initial state (`init.synthetic`): pool sizes and prices.
    pub const INIT_SYNTHETIC: u32 = 0x0102;
    /// Latin hypercube sweep designs (`sweep::lhs`): word 0 of block (step `i`, subnet `key`)
    /// picks the Fisher–Yates swap at position `i` of that key's permutation, word 1 the jitter of
    /// point `i` inside its stratum. Drawn at point and path [`super::DESIGN_ADDRESS`], which no
    /// path of a run uses.
    pub const SWEEP_LHS: u32 = 0x0200;
    /// Base of the miner-quality random walk range (two normals per block; miner j uses id
    /// `YUMA_MINER_QUALITY + j / 2`).
    pub const YUMA_MINER_QUALITY: u32 = 0x1000;
    /// Length of the miner-quality range (covers 256 uids with room to spare).
    pub const YUMA_MINER_QUALITY_LEN: u32 = 0x1000;
    /// Base of the validator weight-noise range (four normals per block, one per word by
    /// inversion; entry (i, j) of an `V x M` matrix uses word `(i * M + j) % 4` of id
    /// `YUMA_NOISE + (i * M + j) / 4`).
    pub const YUMA_NOISE: u32 = 0x2000;
    /// Length of the weight-noise range (64 validators x 256 uids / 4 = 4096 ids needed).
    pub const YUMA_NOISE_LEN: u32 = 0x4000;
}

/// Blocks per pass of [`StepRng::fill_normals`]: 256 words (a subnet-epoch's weight noise at
/// V = 8, M = 32, so that its tail words share batches); 1 KiB of blocks, zeroed per call.
pub const NORMALS_PASS: usize = 64;

/// [`normal_icdf`] of each of at most [`MAX_NORMAL_WORDS`] words, bit for bit, in lanes: every
/// word through the central rational function in branch-free loops (64 words a loop) that also
/// mark the words outside the central region (4.85% of them) in a bit mask; those are then
/// redone by the tail formula in batches of eight (a batch fills across the 64-word loops),
/// the formula and its `ln` in vector lanes. Each tail word is a long dependent chain
/// (`ln`, `sqrt`, a division), which one word at a time cost 13% of a Yuma-on run
/// (docs/performance.md, session 13) and in batches per 64 words still about 9% (session 21):
/// one call over a subnet-epoch's 288 noise and walk words fills about two batches. A word in
/// the centre costs no branch. [`StepRng::fill_normals`],
/// [`StepRng::fill_normals_and_word_pairs`] and `behaviour`'s lanes use it, inside a
/// [`Kernel`].
///
/// # Panics
/// If `words` and `out` differ in length or hold more than [`MAX_NORMAL_WORDS`] entries.
#[inline(always)]
pub fn normals_of_words<R: crate::Real>(words: &[u32], out: &mut [R]) {
    // One bit of `outside` per word of a loop.
    const MASK_WORDS: usize = u64::BITS as usize;
    assert!(
        words.len() == out.len() && out.len() <= MAX_NORMAL_WORDS,
        "normals_of_words: {} words",
        words.len()
    );
    // Tail words wait in `pending` until a batch is full (then it runs) or the words end.
    let mut pending = [0_u16; TAIL_LANES];
    let mut waiting = 0;
    for first in (0..words.len()).step_by(MASK_WORDS) {
        let end = words.len().min(first + MASK_WORDS);
        // Bit k: word `first + k` is outside the centre, `normal_quantile`'s test (its
        // complement: `q` is never NaN, `p` being in (0, 1)).
        let mut outside = 0_u64;
        for (k, (z, &w)) in out[first..end].iter_mut().zip(&words[first..end]).enumerate() {
            let q = uniform_open::<R>(w) - R::of(0.5);
            *z = acklam_central(q);
            outside |= u64::from(q.abs() > R::of(ACKLAM_CENTRAL_HALF_WIDTH)) << k;
        }
        while outside != 0 {
            pending[waiting] = (first + outside.trailing_zeros() as usize) as u16;
            waiting += 1;
            outside &= outside - 1;
            if waiting == TAIL_LANES {
                tail_batch(&pending, words, out);
                waiting = 0;
            }
        }
    }
    tail_batch(&pending[..waiting], words, out);
}

/// [`normal_icdf`] of the words `words[k]`, `k` in `batch` (at most [`TAIL_LANES`], all outside
/// the central region), into `out[k]`: the tail formula once over [`TAIL_LANES`] lanes, the
/// unused ones on a harmless `p = 1/4`.
#[inline(always)]
fn tail_batch<R: crate::Real>(batch: &[u16], words: &[u32], out: &mut [R]) {
    if batch.is_empty() {
        return;
    }
    let mut p = [R::of(0.25); TAIL_LANES];
    for (p, &k) in p.iter_mut().zip(batch) {
        *p = uniform_open::<R>(words[usize::from(k)]);
    }
    let mut z = [R::zero(); TAIL_LANES];
    for l in 0..TAIL_LANES {
        z[l] = acklam_tail(p[l], p[l] - R::of(0.5));
    }
    for (&z, &k) in z.iter().zip(batch) {
        out[usize::from(k)] = z;
    }
}

/// Most words one [`normals_of_words`] call inverts (its tail list holds 16-bit indices).
pub const MAX_NORMAL_WORDS: usize = 1 << 16;

/// Lanes of [`normals_of_words`]' tail batches: eight f64, one AVX-512 register.
const TAIL_LANES: usize = 8;

/// 2^-24: the spacing of the 24-bit uniform grid.
const UNIFORM_SCALE: f64 = 1.0 / 16_777_216.0;

/// A uniform draw in the open interval (0, 1) from the top 24 bits of `w`:
/// `((w >> 8) + 0.5) * 2^-24`, clipped to the largest `R` below one.
///
/// 24 bits because an f32 holds them exactly. The half-step offset keeps 0 out (so `ln u` is
/// finite). In f64 the largest value is `1 - 2^-25`; in f32 the top grid point rounds to 1, so the
/// result is clipped to `1 - 2^-24` there (the f32/f64 difference is at most 2^-25).
#[inline]
pub fn uniform_open<R: crate::Real>(w: u32) -> R {
    let u = (R::of(f64::from(w >> 8)) + R::of(0.5)) * R::of(UNIFORM_SCALE);
    u.min(R::one() - R::of(R::EPS * 0.5))
}

/// Two independent standard normals from two words by Box–Muller:
/// `r = sqrt(-2 ln u0)`, `(r cos 2πu1, r sin 2πu1)`.
///
/// Box–Muller rather than a ziggurat because it has no data-dependent loop (a shader runs it in
/// lockstep). `u0 >= 2^-25` bounds `|z| <= 5.9`: the tails beyond are cut, which does not matter
/// for the model's noise terms.
#[inline]
pub fn normal_pair<R: crate::Real>(w0: u32, w1: u32) -> (R, R) {
    let u0: R = uniform_open(w0);
    let u1: R = uniform_open(w1);
    let radius = (R::of(-2.0) * u0.ln()).sqrt();
    let angle = R::of(2.0) * R::PI() * u1;
    (radius * angle.cos(), radius * angle.sin())
}

/// The point the central rational function is expanded around: `x = ACKLAM_X0 − q²` (29/128,
/// exact in f32 and f64, just above the region's largest `q²`, 0.47575² = 0.22634).
const ACKLAM_X0: f64 = 29.0 / 128.0;
/// Numerator coefficients of Acklam's central rational function re-expanded in
/// `x = ACKLAM_X0 − q²`, constant term first.
///
/// Acklam publishes the function in `r = q²`, where the numerator's terms (of size ~200) cancel
/// to ~0.01 near the region's edge: ten bits lost, 4e-4 off in f32. In `x` every coefficient of
/// the numerator and the denominator is positive (and `x ≥ 0`), so no sum cancels. The
/// coefficients are the published ones shifted exactly (rational arithmetic, then rounded once):
/// the same function, so the same 1.15e-9 accuracy, now also in f32's terms.
const ACKLAM_NUM: [f64; 6] = [
    0.010_641_262_768_829_058,
    0.707_070_756_629_668_6,
    14.243_747_475_318_38,
    96.072_716_581_214_15,
    175.977_032_865_420_54,
    39.696_830_286_653_76,
];
/// Denominator coefficients of the re-expanded central function, constant term first.
const ACKLAM_DEN: [f64; 6] = [
    0.002_561_856_061_441_628,
    0.188_660_467_272_127_76,
    4.405_074_407_816_595_5,
    37.224_705_276_443_81,
    99.874_631_188_177_7,
    54.476_098_798_224_06,
];
/// Numerator coefficients of the tail approximation (in `s = sqrt(-2 ln t)`).
const ACKLAM_C: [f64; 6] = [
    -7.784_894_002_430_293e-3,
    -3.223_964_580_411_365e-1,
    -2.400_758_277_161_838,
    -2.549_732_539_343_734,
    4.374_664_141_464_968,
    2.938_163_982_698_783,
];
/// Denominator coefficients of the tail approximation (leading 1 implied last).
const ACKLAM_D: [f64; 4] = [
    7.784_695_709_041_462e-3,
    3.224_671_290_700_398e-1,
    2.445_134_137_142_996,
    3.754_408_661_907_416,
];
/// Half-width of the central region: `|p − 1/2| ≤ 0.5 − 0.02425` (95.15% of draws).
const ACKLAM_CENTRAL_HALF_WIDTH: f64 = 0.5 - 0.024_25;

/// The standard normal quantile `Φ⁻¹(p)` for `p` in (0, 1), by P. J. Acklam's rational
/// approximation (2003; published as "An algorithm for computing the inverse normal cumulative
/// distribution function").
///
/// Accuracy (f64): relative error below 1.15e-9 over the whole range (Acklam's bound); measured
/// against Python's `statistics.NormalDist().inv_cdf` (Wichura AS241, ~1e-16) on the 24-bit
/// uniform grid the draws use, the absolute error is below 6e-9 (largest in the far tails,
/// `|z| ≈ 5`), tested in `tests/tests/draws.rs`. The f32 result is within 1e-6 relative of the
/// f64 one over the whole 24-bit grid (same test file), because the central function is
/// evaluated in a form without cancellation (see `ACKLAM_NUM`).
///
/// Central region (`|p − 1/2| ≤ 0.47575`, 95% of uniform draws): one rational function of
/// degree 5/5 in `x = 29/128 − q²`, no transcendental. Tails: `s = sqrt(−2 ln t)` with
/// `t = min(p, 1 − p)` and a rational function of degree 5/4, the sign taken from `p − 1/2` (one
/// tail formula, mirrored, so a shader runs the same code for both). The tail's `ln` is
/// [`crate::Real::ln_lanes`] (taosim's `vecmath::ln` in f64, within an ulp of libm's), so that
/// [`normals_of_words`] can run the tails in vector lanes with the same bits as this scalar
/// form. Not for `p` outside (0, 1).
#[inline]
pub fn normal_quantile<R: crate::Real>(p: R) -> R {
    let q = p - R::of(0.5);
    if q.abs() <= R::of(ACKLAM_CENTRAL_HALF_WIDTH) {
        return acklam_central(q);
    }
    acklam_tail(p, q)
}

/// [`normal_quantile`]'s central rational function of `q = p − 1/2` (for `|q| ≤ 0.47575`).
#[inline(always)]
fn acklam_central<R: crate::Real>(q: R) -> R {
    let x = R::of(ACKLAM_X0) - q * q;
    let a = &ACKLAM_NUM;
    let b = &ACKLAM_DEN;
    let num = ((((R::of(a[5]) * x + R::of(a[4])) * x + R::of(a[3])) * x + R::of(a[2])) * x
        + R::of(a[1]))
        * x
        + R::of(a[0]);
    let den = ((((R::of(b[5]) * x + R::of(b[4])) * x + R::of(b[3])) * x + R::of(b[2])) * x
        + R::of(b[1]))
        * x
        + R::of(b[0]);
    num * q / den
}

/// [`normal_quantile`] outside the central region, from `p` and `q = p − 1/2`.
#[inline(always)]
fn acklam_tail<R: crate::Real>(p: R, q: R) -> R {
    acklam_tail_of_ln(tail_t(p, q).ln_lanes(), q)
}

/// The tail's `t = min(p, 1 − p)`, taken from p itself (not 0.5 − |q|) so tiny p keep their
/// digits.
#[inline(always)]
fn tail_t<R: crate::Real>(p: R, q: R) -> R {
    if q < R::zero() { p } else { R::one() - p }
}

/// [`acklam_tail`] from `ln t` ([`tail_t`]): the rational function of `s = sqrt(−2 ln t)`.
#[inline(always)]
fn acklam_tail_of_ln<R: crate::Real>(ln_t: R, q: R) -> R {
    let s = (R::of(-2.0) * ln_t).sqrt();
    let c = &ACKLAM_C;
    let d = &ACKLAM_D;
    let num = ((((R::of(c[0]) * s + R::of(c[1])) * s + R::of(c[2])) * s + R::of(c[3])) * s
        + R::of(c[4]))
        * s
        + R::of(c[5]);
    let den =
        (((R::of(d[0]) * s + R::of(d[1])) * s + R::of(d[2])) * s + R::of(d[3])) * s + R::one();
    // The tail formula gives the lower tail (negative); mirror it for p > 1/2.
    let lower = num / den;
    if q < R::zero() { lower } else { -lower }
}

/// One standard normal from one word by inversion: [`normal_quantile`]`(`[`uniform_open`]`(w))`.
///
/// Cheaper than [`normal_pair`] where one normal per word is wanted (no `cos`/`sin`, and in 95%
/// of draws no `ln`/`sqrt`): every per-step normal of the model (behaviour, the Yuma weight
/// noise and miner walk) uses it. The uniform grid bounds `|z| ≤ 5.42` (`Φ⁻¹(2^-25)`); the tails
/// beyond are cut, as with [`normal_pair`].
#[inline]
pub fn normal_icdf<R: crate::Real>(w: u32) -> R {
    normal_quantile(uniform_open::<R>(w))
}

/// A unit-mean exponential draw `-ln u` from one word (scale it by the mean).
#[inline]
pub fn exponential<R: crate::Real>(w: u32) -> R {
    -uniform_open::<R>(w).ln()
}

/// A lognormal draw `exp(mu + sigma z)` with `z` the first normal of [`normal_pair`]`(w0, w1)`.
#[inline]
pub fn lognormal<R: crate::Real>(mu: R, sigma: R, w0: u32, w1: u32) -> R {
    let (z, _) = normal_pair::<R>(w0, w1);
    (mu + sigma * z).exp()
}

/// Largest mean sampled exactly (by inversion) in [`poisson`]; above it the normal approximation
/// is used.
pub const POISSON_INVERSION_MAX_LAMBDA: f64 = 32.0;
/// Bound on the terms the inversion loop sums: at `lambda = 32` the probability of a count above
/// 128 is below 1e-30, far under the 2^-25 resolution of the uniform.
pub const POISSON_MAX_TERMS: u32 = 128;

/// A Poisson count with mean `lambda` from the words `w0`, `w1`.
///
/// - `lambda <= 0` (or NaN): 0.
/// - `lambda <= POISSON_INVERSION_MAX_LAMBDA`: inversion of the CDF with `u = uniform_open(w0)`:
///   the smallest `k` with `F(k) >= u`, summing at most [`POISSON_MAX_TERMS`] terms. When the
///   computed CDF stalls below `u` (rounding, mostly in f32, for `u` within a few ulps of 1) the
///   loop stops at the first term too small to change the sum, so it never runs to the bound on
///   a rounding artefact. `w1` is unused.
/// - above: the normal approximation `max(0, round(lambda + sqrt(lambda) z))` with `z` the first
///   normal of [`normal_pair`]`(w0, w1)` (skewness `1/sqrt(lambda) < 0.18` there). Counts above
///   `u32::MAX` saturate; the model's means are many orders below that.
pub fn poisson<R: crate::Real>(lambda: R, w0: u32, w1: u32) -> u32 {
    Poisson::new(lambda).draw(w0, w1)
}

/// [`poisson`] for one mean drawn many times (a per-step rate over every subnet slot): the
/// inversion's first term `e^{−λ}` is computed once here instead of once per draw. `draw` returns
/// exactly what [`poisson`]`(lambda, w0, w1)` returns.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Poisson<R> {
    lambda: R,
    /// `e^{−λ}` when the inversion is used (`0 < λ ≤` [`POISSON_INVERSION_MAX_LAMBDA`]), else 0.
    first_term: R,
}

impl<R: crate::Real> Poisson<R> {
    /// The sampler of mean `lambda`.
    #[inline]
    pub fn new(lambda: R) -> Self {
        let inverts = lambda > R::zero() && lambda <= R::of(POISSON_INVERSION_MAX_LAMBDA);
        Self { lambda, first_term: if inverts { (-lambda).exp() } else { R::zero() } }
    }

    /// Whether [`Poisson::draw`] gives 0 for the first word `w0` (whatever the second) at its
    /// first test, without a loop or a branch: no positive mean, or the inversion's first term
    /// covers `w0`'s uniform. `false` does not mean the count is nonzero (a mean above
    /// [`POISSON_INVERSION_MAX_LAMBDA`] may give 0 too): the caller then draws. At the model's
    /// rare events (means ~1e-3 a step) it answers `true` for nearly every word, so a loop over
    /// subnets can test every count in lanes and draw the few others one at a time.
    #[inline(always)]
    pub fn surely_zero(&self, w0: u32) -> bool {
        let lambda = self.lambda;
        let no_mean = lambda.is_nan() | (lambda <= R::zero());
        let inverts = lambda <= R::of(POISSON_INVERSION_MAX_LAMBDA);
        let u: R = uniform_open(w0);
        no_mean | (inverts & (u <= self.first_term))
    }

    /// One count from the words `w0`, `w1` (see [`poisson`]).
    #[inline]
    pub fn draw(&self, w0: u32, w1: u32) -> u32 {
        let lambda = self.lambda;
        // NaN fails `lambda > 0` as well, so it also yields 0.
        if lambda.is_nan() || lambda <= R::zero() {
            return 0;
        }
        if lambda > R::of(POISSON_INVERSION_MAX_LAMBDA) {
            let (z, _) = normal_pair::<R>(w0, w1);
            let count = (lambda + lambda.sqrt() * z + R::of(0.5)).floor().max(R::zero());
            // `as` saturates at u32::MAX, which is the documented behaviour.
            return count.f64() as u32;
        }
        let u: R = uniform_open(w0);
        let mut k: u32 = 0;
        let mut term = self.first_term;
        let mut cdf = term;
        while u > cdf && k < POISSON_MAX_TERMS {
            k += 1;
            term = term * lambda / R::of(f64::from(k));
            let next = cdf + term;
            if next == cdf {
                break;
            }
            cdf = next;
        }
        k
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Edge values of the multiplier halves plus the Philox multipliers themselves.
    const EDGES: [u32; 12] = [
        0,
        1,
        2,
        0xFFFF,
        0x1_0000,
        0x1_0001,
        0x7FFF_FFFF,
        0x8000_0000,
        0xFFFF_0000,
        0xFFFF_FFFF,
        PHILOX_M0,
        PHILOX_M1,
    ];

    #[test]
    fn blocks_equal_the_reference_philox_per_stream() {
        let rng = PathRng::new(0xDEAD_BEEF_0123_4567, 3, 77);
        let streams = [stream::BEHAVIOUR_NORMALS, stream::BEHAVIOUR_COUNTS, 0xFFFF, stream::WHALE];
        for &(step, subnet) in &[(0, 0), (1, 5), (12_345, 127), (u32::MAX, GLOBAL_SUBNET)] {
            let together = rng.blocks(step, subnet, streams);
            for (k, &s) in streams.iter().enumerate() {
                let reference =
                    philox4x32_10([step, (s << 16) | subnet, 3, 77], [0x0123_4567, 0xDEAD_BEEF]);
                assert_eq!(together[k], reference);
                assert_eq!(rng.block(step, subnet, s), reference);
                assert_eq!(rng.at_step(step).blocks(subnet, streams)[k], reference);
                assert_eq!(rng.at_step(step).block(subnet, s), reference);
            }
            // Two streams (the whale blocks' form; `blocks` takes its 32-bit path at N ≤ 2).
            let pair = [stream::BEHAVIOUR_NORMALS, stream::BEHAVIOUR_COUNTS];
            let two = rng.at_step(step).blocks(subnet, pair);
            for (k, &s) in pair.iter().enumerate() {
                let reference =
                    philox4x32_10([step, (s << 16) | subnet, 3, 77], [0x0123_4567, 0xDEAD_BEEF]);
                assert_eq!(two[k], reference, "stream {s:#x}");
            }
            // Two streams over consecutive subnets (behaviour's fill), lengths around the vector
            // width, up to the last subnet id.
            for (first, slots) in [(0, 1), (subnet.min(0xFFF0), 3), (7, 16), (0xFFF0, 16)] {
                let mut filled = vec![[0_u32; 4]; 2 * slots];
                rng.at_step(step).fill_block_pairs(first, pair, &mut filled);
                for (k, words) in filled.iter().enumerate() {
                    let (sub, s) = (first + k as u32 / 2, pair[k % 2]);
                    let reference =
                        philox4x32_10([step, (s << 16) | sub, 3, 77], [0x0123_4567, 0xDEAD_BEEF]);
                    assert_eq!(*words, reference, "subnet {sub}, stream {s:#x}");
                }
            }
            // Consecutive streams in one buffer, lengths around the vector width.
            for (first, len) in [(0, 1), (stream::BEHAVIOUR_NORMALS, 7), (0x2003, 16), (0xFFF0, 16)]
            {
                let mut filled = vec![[0_u32; 4]; len];
                rng.at_step(step).fill_blocks(subnet, first, &mut filled);
                for (k, words) in filled.iter().enumerate() {
                    let s = first + k as u32;
                    let reference = philox4x32_10(
                        [step, (s << 16) | subnet, 3, 77],
                        [0x0123_4567, 0xDEAD_BEEF],
                    );
                    assert_eq!(*words, reference, "stream {s:#x}");
                }
            }
        }
    }

    #[test]
    fn step_blocks_equal_the_reference_philox_on_random_addresses() {
        let mut state: u64 = 0x0123_4567_89AB_CDEF;
        let mut next = || {
            state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = state;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^ (z >> 31)
        };
        for _ in 0..20_000 {
            let seed = next();
            let (a, b) = (next(), next());
            let (point, path, step) = (a as u32, (a >> 32) as u32, b as u32);
            let (subnet, stream) = ((b >> 32) as u32 & 0xFFFF, (b >> 48) as u32);
            let reference = philox4x32_10(
                [step, (stream << 16) | subnet, point, path],
                [seed as u32, (seed >> 32) as u32],
            );
            let rng = PathRng::new(seed, point, path);
            assert_eq!(rng.at_step(step).block(subnet, stream), reference);
            assert_eq!(rng.block(step, subnet, stream), reference);
        }
    }

    #[test]
    fn emulated_multiply_matches_native_on_edges() {
        for &a in &EDGES {
            for &b in &EDGES {
                assert_eq!(mul_hi_lo_emulated(a, b), mul_hi_lo(a, b), "a = {a:#x}, b = {b:#x}");
                // Independent reference: the u64 product split by hand.
                let p = u64::from(a) * u64::from(b);
                assert_eq!(mul_hi_lo(a, b), ((p >> 32) as u32, p as u32));
            }
        }
    }

    #[test]
    fn emulated_multiply_matches_native_on_random_words() {
        // Inputs from a SplitMix64 sequence (independent of Philox).
        let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
        for _ in 0..200_000 {
            state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = state;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^= z >> 31;
            let (a, b) = (z as u32, (z >> 32) as u32);
            let p = u64::from(a) * u64::from(b);
            assert_eq!(mul_hi_lo_emulated(a, b), ((p >> 32) as u32, p as u32));
        }
    }

    #[test]
    fn path_rng_values_are_pinned() {
        // Computed in the test-writing session by an independent Python implementation of
        // Philox4x32-10 (which reproduced the three Random123 kat_vectors), with
        // key = [seed as u32, seed >> 32] and counter = [step, (stream << 16) | subnet, point, path].
        let seed = 0x0123_4567_89AB_CDEF_u64;
        assert_eq!(
            PathRng::new(seed, 0, 0).block(0, 0, 0),
            [0xb850_222e, 0xc58c_b04b, 0x14a7_a020, 0x7a84_fff9]
        );
        assert_eq!(
            PathRng::new(seed, 2, 11).block(7, 3, 5),
            [0xf1e0_ebcb, 0x68d8_06f5, 0x7ab3_1a38, 0xad2c_50ba]
        );
        assert_eq!(
            PathRng::new(seed, 9, 4095).block(123_456, 255, 0x50),
            [0x0bc1_093f, 0xff0b_4baa, 0x01e6_5619, 0x0d5a_56a4]
        );
    }

    #[test]
    fn distinct_addresses_give_distinct_words() {
        let rng = PathRng::new(42, 1, 1);
        let base = rng.block(5, 3, stream::BEHAVIOUR_NORMALS);
        let others = [
            rng.block(6, 3, stream::BEHAVIOUR_NORMALS),
            rng.block(5, 4, stream::BEHAVIOUR_NORMALS),
            rng.block(5, 3, stream::MARKET),
            rng.block(5, GLOBAL_SUBNET, stream::BEHAVIOUR_NORMALS),
            PathRng::new(42, 1, 2).block(5, 3, stream::BEHAVIOUR_NORMALS),
            PathRng::new(42, 2, 1).block(5, 3, stream::BEHAVIOUR_NORMALS),
            PathRng::new(43, 1, 1).block(5, 3, stream::BEHAVIOUR_NORMALS),
            PathRng::new(42 | (1 << 40), 1, 1).block(5, 3, stream::BEHAVIOUR_NORMALS),
        ];
        for (i, other) in others.iter().enumerate() {
            assert_ne!(&base, other, "address variant {i} repeats the base words");
        }
        // Subnet and stream occupy separate halves of counter word 1: (subnet 1, stream 0) and
        // (subnet 0, stream 1) must differ.
        assert_ne!(rng.block(0, 1, 0), rng.block(0, 0, 1));
    }

    #[test]
    #[should_panic(expected = "16 bits")]
    fn oversized_subnet_is_rejected() {
        let _ = PathRng::new(1, 0, 0).block(0, 0x1_0000, 0);
    }

    #[test]
    #[should_panic(expected = "16 bits")]
    fn oversized_stream_range_is_rejected() {
        let mut out = [[0; 4]; 2];
        PathRng::new(1, 0, 0).at_step(0).fill_blocks(0, 0xFFFF, &mut out);
    }

    #[test]
    #[should_panic(expected = "16 bits")]
    fn oversized_subnet_run_is_rejected() {
        let mut out = [[0; 4]; 4];
        PathRng::new(1, 0, 0).at_step(0).fill_block_pairs(0xFFFF, [0, 3], &mut out);
    }

    #[test]
    #[should_panic(expected = "odd length")]
    fn odd_block_pair_buffer_is_rejected() {
        let mut out = [[0; 4]; 3];
        PathRng::new(1, 0, 0).at_step(0).fill_block_pairs(0, [0, 3], &mut out);
    }

    #[test]
    #[should_panic(expected = "16 bits")]
    fn oversized_stream_is_rejected() {
        let _ = PathRng::new(1, 0, 0).block(0, 0, 0x1_0000);
    }

    /// `fill_normals` at `level` against `fill_blocks` and `normal_icdf` word by word.
    fn check_fill_normals<R: crate::Real>(level: SimdLevel) -> usize {
        let mut tails = 0;
        let step_rng = PathRng::new(20_260_411, 3, 17).at_step(42);
        // Lengths around a pass (16 blocks) and a chunk (64), then 2^16 blocks in one call.
        let cases =
            [(0, 0x2000, 1), (5, 0x2000, 15), (5, 0x2011, 16), (9, 0x0, 17), (127, 0x20FF, 63)];
        let cases =
            cases.into_iter().chain([(64, 0x2000, 64), (65_535, 0x3000, 65), (1, 0, 1 << 16)]);
        for (subnet, first_stream, blocks) in cases {
            let mut words = vec![[0_u32; 4]; blocks];
            step_rng.fill_blocks(subnet, first_stream, &mut words);
            let mut normals = vec![R::zero(); 4 * blocks];
            step_rng.fill_normals_at(level, subnet, first_stream, &mut normals);
            for (k, (&z, &w)) in normals.iter().zip(words.as_flattened()).enumerate() {
                let q = uniform_open::<R>(w) - R::of(0.5);
                tails += usize::from(q.abs() > R::of(ACKLAM_CENTRAL_HALF_WIDTH));
                let expected = normal_icdf::<R>(w);
                assert!(
                    z == expected && z.is_sign_negative() == expected.is_sign_negative(),
                    "{level}: subnet {subnet}, stream {first_stream}+, word {k} ({w:#x}): {z:?}, \
                     normal_icdf {expected:?}"
                );
            }
        }
        tails
    }

    #[test]
    fn wide_normals_equal_normal_icdf_at_every_level() {
        let levels: Vec<SimdLevel> =
            SimdLevel::ALL.into_iter().filter(|level| level.is_available()).collect();
        // Every x86-64 machine the project runs on has AVX2; a level list of one would leave
        // the wide kernel untested here, so that is a failure, not a skip.
        if cfg!(target_arch = "x86_64") {
            assert!(levels.contains(&SimdLevel::Avx2), "no AVX2 on this x86-64 CPU");
        }
        for level in levels {
            let tails = check_fill_normals::<f64>(level);
            // 4.85% of the grid lies outside the centre: the tail path really ran.
            assert!(tails > 12_000, "{level}: only {tails} tail words");
            check_fill_normals::<f32>(level);
        }
    }

    /// [`normals_of_words`] on words chosen for their tails, against [`normal_icdf`] bit for bit
    /// at every level and both precisions: every word in a tail (full batches, batches carried
    /// across 64-word runs), tails only at the end, one tail in eight, a few tails, none; at
    /// lengths 1 to 256 around the batch and run sizes.
    #[test]
    fn normals_of_words_equal_normal_icdf_on_tail_heavy_words() {
        struct Invert<'a, R> {
            words: &'a [u32],
            out: &'a mut [R],
        }
        impl<R: crate::Real> Kernel for Invert<'_, R> {
            type Output = ();
            #[inline(always)]
            fn run(self) {
                normals_of_words(self.words, self.out);
            }
        }
        // Centre, both tails and the grid's edges.
        let central =
            |k: usize| 0x4000_0000_u32.wrapping_add((k as u32).wrapping_mul(0x0123_4567) >> 1);
        let tail = |k: usize| {
            let low = (k as u32 * 0x0001_3579) % 0x0634_0000;
            if k.is_multiple_of(2) { low } else { u32::MAX - low }
        };
        // A word pattern: word `k` of `len`.
        type Pattern<'a> = &'a dyn Fn(usize, usize) -> u32;
        let patterns: [(&str, Pattern); 5] = [
            ("all tails", &|k, _| tail(k)),
            ("tails at the end", &|k, len| if k + 9 >= len { tail(k) } else { central(k) }),
            ("one in eight", &|k, _| if k % 8 == 3 { tail(k) } else { central(k) }),
            ("a few", &|k, _| if k % 61 == 60 { tail(k) } else { central(k) }),
            ("none", &|k, _| central(k)),
        ];
        for level in SimdLevel::ALL.into_iter().filter(|level| level.is_available()) {
            for (name, pattern) in patterns {
                for len in [1, 7, 8, 9, 63, 64, 65, 130, 200, 255, 256] {
                    let words: Vec<u32> = (0..len).map(|k| pattern(k, len)).collect();
                    let mut z64 = vec![0.0_f64; len];
                    let mut z32 = vec![0.0_f32; len];
                    simd::run_at(level, Invert { words: &words, out: &mut z64 });
                    simd::run_at(level, Invert { words: &words, out: &mut z32 });
                    for (k, &w) in words.iter().enumerate() {
                        let case = format!("{level}, {name}, length {len}, word {k} ({w:#x})");
                        assert_eq!(z64[k].to_bits(), normal_icdf::<f64>(w).to_bits(), "{case}");
                        assert_eq!(z32[k].to_bits(), normal_icdf::<f32>(w).to_bits(), "{case}");
                    }
                }
            }
        }
        // The patterns mean what they say: a tail word is outside the centre, a central one in it.
        let outside = |w: u32| (uniform_open::<f64>(w) - 0.5).abs() > ACKLAM_CENTRAL_HALF_WIDTH;
        assert!((0..4_096).all(|k| outside(tail(k)) && !outside(central(k))));
    }

    #[test]
    fn wide_block_pairs_equal_the_reference_blocks_at_every_level() {
        let rng = PathRng::new(20_260_411, 2, 5);
        let step_rng = rng.at_step(11);
        let streams = [stream::BEHAVIOUR_NORMALS, stream::BEHAVIOUR_COUNTS];
        for level in SimdLevel::ALL.into_iter().filter(|level| level.is_available()) {
            for (first_subnet, pairs) in [(0_u32, 16_usize), (16, 16), (120, 8), (3, 1), (0, 129)] {
                let mut out = vec![[0_u32; 4]; 2 * pairs];
                simd::run_at(
                    level,
                    FillBlockPairs { rng: &step_rng, first_subnet, streams, out: &mut out },
                );
                for (k, block) in out.iter().enumerate() {
                    let subnet = first_subnet + (k / 2) as u32;
                    let expected = rng.block(11, subnet, streams[k % 2]);
                    assert_eq!(*block, expected, "{level}: subnet {subnet}, entry {k}");
                }
            }
        }
    }

    #[test]
    #[should_panic(expected = "not whole blocks")]
    fn wide_normals_reject_a_partial_block() {
        PathRng::new(1, 0, 0).at_step(0).fill_normals(0, 0, &mut [0.0_f64; 6]);
    }

    /// [`StepRng::fill_word_pair_normals`] against [`normal_icdf`] of the reference blocks'
    /// words, bit for bit, in both precisions: both word pairs, odd and even lengths, one pass
    /// and several (`PAIR_PASS` blocks a pass), over enough words that the tails are met. (Its
    /// kernel at every level: `normals_and_word_pairs_equal_normal_icdf_at_every_level`.)
    #[test]
    fn word_pair_normals_equal_normal_icdf() {
        let rng = PathRng::new(20_260_411, 3, 7);
        let step_rng = rng.at_step(5);
        let mut tails = 0;
        for (subnet, first_stream, len) in [(0_u32, 0_u32, 32_usize), (9, 40, 31), (127, 3, 131)] {
            for first_word in [0, 2] {
                let mut z64 = vec![0.0_f64; len];
                let mut z32 = vec![0.0_f32; len];
                step_rng.fill_word_pair_normals(subnet, first_stream, first_word, &mut z64);
                step_rng.fill_word_pair_normals(subnet, first_stream, first_word, &mut z32);
                for k in 0..len {
                    let block = rng.block(5, subnet, first_stream + (k / 2) as u32);
                    let w = block[first_word + k % 2];
                    let case = format!("subnet {subnet}, word {first_word}, entry {k}");
                    assert_eq!(z64[k].to_bits(), normal_icdf::<f64>(w).to_bits(), "{case}");
                    assert_eq!(z32[k].to_bits(), normal_icdf::<f32>(w).to_bits(), "{case}");
                    let q = uniform_open::<f64>(w) - 0.5;
                    tails += usize::from(q.abs() > ACKLAM_CENTRAL_HALF_WIDTH);
                }
            }
        }
        assert!(tails > 10, "only {tails} tail normals met");
    }

    /// [`FillNormalsAndPairs`] at `level` for subnet 6 (`pair_words` pair words), into a fresh
    /// output, with scratch longer than needed and holding stale words.
    fn normals_and_pairs_at<R: crate::Real>(
        level: SimdLevel,
        step_rng: &StepRng,
        blocks: (u32, usize),
        pairs: (u32, usize),
        pair_words: usize,
    ) -> Vec<R> {
        let mut words = vec![u32::MAX; StepRng::words_for(blocks.1, pair_words) + 3];
        let mut out = vec![R::nan(); 4 * blocks.1 + pair_words];
        let kernel = FillNormalsAndPairs {
            rng: step_rng,
            subnet: 6,
            blocks,
            pairs,
            words: &mut words,
            out: &mut out,
        };
        simd::run_at(level, kernel);
        out
    }

    /// [`StepRng::fill_normals_and_word_pairs`] against [`normal_icdf`] of the reference blocks'
    /// words, bit for bit, at every level and both precisions: whole blocks then word pairs (odd
    /// and even counts, none of either).
    #[test]
    fn normals_and_word_pairs_equal_normal_icdf_at_every_level() {
        let rng = PathRng::new(20_260_411, 4, 9);
        let step_rng = rng.at_step(8);
        for level in SimdLevel::ALL.into_iter().filter(|level| level.is_available()) {
            for (blocks, pairs, first_word) in [(64, 32, 0), (3, 7, 2), (0, 5, 1), (10, 0, 0)] {
                let (first_stream, pair_stream) = (0x2000 + blocks as u32, 0x1000);
                let (blocks_at, pairs_at) = ((first_stream, blocks), (pair_stream, first_word));
                let out: Vec<f64> =
                    normals_and_pairs_at(level, &step_rng, blocks_at, pairs_at, pairs);
                let out32: Vec<f32> =
                    normals_and_pairs_at(level, &step_rng, blocks_at, pairs_at, pairs);
                for (k, (z, z32)) in out.iter().zip(&out32).enumerate() {
                    let w = if k < 4 * blocks {
                        rng.block(8, 6, first_stream + (k / 4) as u32)[k % 4]
                    } else {
                        let j = k - 4 * blocks;
                        rng.block(8, 6, pair_stream + (j / 2) as u32)[first_word + j % 2]
                    };
                    let case = format!("{level}: {blocks} blocks, {pairs} pair words, entry {k}");
                    assert_eq!(z.to_bits(), normal_icdf::<f64>(w).to_bits(), "{case}");
                    assert_eq!(z32.to_bits(), normal_icdf::<f32>(w).to_bits(), "{case}, f32");
                }
            }
        }
    }

    #[test]
    #[should_panic(expected = "a block has four")]
    fn word_pair_normals_reject_a_pair_past_the_block() {
        PathRng::new(1, 0, 0).at_step(0).fill_word_pair_normals(0, 0, 3, &mut [0.0_f64; 4]);
    }

    #[test]
    fn uniform_stays_inside_the_open_interval() {
        assert_eq!(uniform_open::<f64>(0), 0.5 / 16_777_216.0);
        assert_eq!(uniform_open::<f64>(u32::MAX), 1.0 - 0.5 / 16_777_216.0);
        assert_eq!(uniform_open::<f32>(0), 0.5 / 16_777_216.0);
        assert!(uniform_open::<f32>(u32::MAX) < 1.0);
        assert_eq!(uniform_open::<f32>(u32::MAX), 1.0 - 1.0 / 16_777_216.0);
        // Only the top 24 bits matter.
        assert_eq!(uniform_open::<f64>(0x1234_5600), uniform_open::<f64>(0x1234_56FF));
        for w in [0_u32, 1, 255, 256, 0x8000_0000, 0xFFFF_FEFF, 0xFFFF_FF00, u32::MAX] {
            let u64v = uniform_open::<f64>(w);
            let u32v = uniform_open::<f32>(w);
            assert!(u64v > 0.0 && u64v < 1.0);
            assert!(u32v > 0.0 && u32v < 1.0);
            assert!((f64::from(u32v) - u64v).abs() <= 0.5 / 16_777_216.0);
        }
    }

    /// Words of path 0 of a fixed seed, four per step.
    fn words(n_blocks: u32, stream_id: u32) -> impl Iterator<Item = [u32; 4]> {
        let rng = PathRng::new(20_260_411, 0, 0);
        (0..n_blocks).map(move |step| rng.block(step, 0, stream_id))
    }

    #[test]
    fn normal_mean_and_variance_within_five_standard_errors() {
        let mut n = 0.0_f64;
        let mut sum = 0.0_f64;
        let mut sum_sq = 0.0_f64;
        for w in words(25_000, stream::BEHAVIOUR_NORMALS) {
            for (a, b) in [(w[0], w[1]), (w[2], w[3])] {
                let (z0, z1) = normal_pair::<f64>(a, b);
                for z in [z0, z1] {
                    n += 1.0;
                    sum += z;
                    sum_sq += z * z;
                }
            }
        }
        assert_eq!(n, 100_000.0);
        let mean = sum / n;
        let variance = sum_sq / n - mean * mean;
        // SE of the mean of N(0,1): 1/sqrt(n); SE of the sample variance: sqrt(2/n).
        assert!(mean.abs() < 5.0 / n.sqrt(), "mean {mean}");
        assert!((variance - 1.0).abs() < 5.0 * (2.0 / n).sqrt(), "variance {variance}");
    }

    #[test]
    fn normal_f32_tracks_f64() {
        for w in words(2_000, stream::BEHAVIOUR_COUNTS) {
            let (a64, b64) = normal_pair::<f64>(w[0], w[1]);
            let (a32, b32) = normal_pair::<f32>(w[0], w[1]);
            assert!((f64::from(a32) - a64).abs() < 1e-4, "{a32} vs {a64}");
            assert!((f64::from(b32) - b64).abs() < 1e-4, "{b32} vs {b64}");
        }
    }

    #[test]
    fn exponential_mean_within_five_standard_errors() {
        let mut n = 0.0_f64;
        let mut sum = 0.0_f64;
        for w in words(25_000, stream::WHALE) {
            for x in w {
                let e = exponential::<f64>(x);
                assert!(e > 0.0 && e.is_finite());
                n += 1.0;
                sum += e;
            }
        }
        // Exp(1): mean 1, standard deviation 1.
        assert!((sum / n - 1.0).abs() < 5.0 / n.sqrt(), "mean {}", sum / n);
    }

    #[test]
    fn lognormal_log_mean_within_five_standard_errors() {
        let (mu, sigma) = (0.3_f64, 0.8_f64);
        let mut n = 0.0_f64;
        let mut sum = 0.0_f64;
        for w in words(25_000, stream::WHALE_SIZE) {
            let x = lognormal::<f64>(mu, sigma, w[0], w[1]);
            n += 1.0;
            sum += x.ln();
        }
        assert!((sum / n - mu).abs() < 5.0 * sigma / n.sqrt(), "log mean {}", sum / n);
    }

    fn poisson_moments<R: crate::Real>(lambda: f64, stream_id: u32) -> (f64, f64, f64) {
        let mut n = 0.0_f64;
        let mut sum = 0.0_f64;
        let mut sum_sq = 0.0_f64;
        for w in words(50_000, stream_id) {
            for (a, b) in [(w[0], w[1]), (w[2], w[3])] {
                let k = f64::from(poisson(R::of(lambda), a, b));
                n += 1.0;
                sum += k;
                sum_sq += k * k;
            }
        }
        let mean = sum / n;
        (n, mean, sum_sq / n - mean * mean)
    }

    #[test]
    fn poisson_mean_within_five_standard_errors() {
        // Inversion (small lambda, f64 and f32) and the normal approximation (lambda = 200).
        for (lambda, stream_id) in [(0.05, 0x10), (3.0, 0x11), (30.0, 0x12), (200.0, 0x13)] {
            for (label, (n, mean, variance)) in [
                ("f64", poisson_moments::<f64>(lambda, stream_id)),
                ("f32", poisson_moments::<f32>(lambda, stream_id)),
            ] {
                // Poisson(lambda): variance lambda, so SE of the mean sqrt(lambda / n).
                let se = (lambda / n).sqrt();
                assert!((mean - lambda).abs() < 5.0 * se, "{label} lambda {lambda}: mean {mean}");
                // The variance should match lambda too (loose: 10%).
                assert!(
                    (variance / lambda - 1.0).abs() < 0.1,
                    "{label} lambda {lambda}: var {variance}"
                );
            }
        }
    }

    /// `Poisson::surely_zero` answers `true` only where `draw` gives 0 (every word's first test,
    /// over means from none to past the inversion's range, NaN and infinite), and at a rare
    /// event's mean it answers `true` for nearly every word (the lanes' fast path).
    #[test]
    fn poisson_surely_zero_only_where_the_draw_is_zero() {
        let means = [-1.0, 0.0, 5.5e-4, 0.01, 1.0, 31.9, 32.0, 32.5, 1e3, f64::NAN, f64::INFINITY];
        for lambda in means {
            let poisson = Poisson::new(lambda);
            let mut surely = 0_u32;
            for k in 0..20_000_u32 {
                let w0 = k.wrapping_mul(0x9E37_79B9) ^ (k >> 3);
                let w1 = k.wrapping_mul(0x85EB_CA6B);
                if poisson.surely_zero(w0) {
                    assert_eq!(poisson.draw(w0, w1), 0, "λ {lambda}, word {w0:#x}");
                    surely += 1;
                }
            }
            if lambda == 5.5e-4 {
                assert!(surely >= 19_950, "λ {lambda}: {surely} of 20000 words surely zero");
            }
            if lambda.is_nan() || lambda <= 0.0 {
                assert_eq!(surely, 20_000, "λ {lambda}: no mean, always zero");
            }
        }
        for w0 in [0, 1, 0x8000_0000, u32::MAX] {
            let poisson = Poisson::new(5.5e-4_f32);
            assert!(!poisson.surely_zero(w0) || poisson.draw(w0, 7) == 0);
        }
    }

    #[test]
    fn poisson_edge_cases() {
        assert_eq!(poisson(0.0_f64, 123, 456), 0);
        assert_eq!(poisson(-1.0_f64, 123, 456), 0);
        assert_eq!(poisson(f64::NAN, 123, 456), 0);
        // u just above 0 lands on k = 0; u at the top of the grid lands deep in the tail but the
        // loop stays bounded.
        assert_eq!(poisson(3.0_f64, 0, 0), 0);
        let top = poisson(POISSON_INVERSION_MAX_LAMBDA, u32::MAX, 0);
        assert!(top > 50 && top < POISSON_MAX_TERMS, "{top}");
        let top32 = poisson(POISSON_INVERSION_MAX_LAMBDA as f32, u32::MAX, 0);
        assert!(top32 > 50 && top32 < POISSON_MAX_TERMS, "{top32}");
        // The inverse CDF of Poisson(3) at u = 0.5 is 3 (F(2) = 0.4232, F(3) = 0.6472).
        assert_eq!(poisson(3.0_f64, 0x8000_0000, 0), 3);
    }
}
