//! Philox4x32-10 known-answer tests (chain-vectors.md §E), bit-exact.

use taosim_core::rng::philox4x32_10;

/// Random123 kat_vectors philox4x32_10: counter 0 x4, key 0 x2.
#[test]
fn philox4x32_10_kat_zero() {
    assert_eq!(
        philox4x32_10([0, 0, 0, 0], [0, 0]),
        [0x6627_e8d5, 0xe169_c58d, 0xbc57_ac4c, 0x9b00_dbd8]
    );
}

/// Random123 kat_vectors philox4x32_10: counter ffffffff x4, key ffffffff x2.
#[test]
fn philox4x32_10_kat_all_ones() {
    assert_eq!(
        philox4x32_10([u32::MAX; 4], [u32::MAX; 2]),
        [0x408f_276d, 0x41c8_3b0e, 0xa20b_c7c6, 0x6d54_51fd]
    );
}

/// Random123 kat_vectors philox4x32_10: counter and key from the digits of pi.
#[test]
fn philox4x32_10_kat_pi_digits() {
    assert_eq!(
        philox4x32_10(
            [0x243f_6a88, 0x85a3_08d3, 0x1319_8a2e, 0x0370_7344],
            [0xa409_3822, 0x299f_31d0]
        ),
        [0xd16c_fe09, 0x94fd_cceb, 0x5001_e420, 0x2412_6ea1]
    );
}
