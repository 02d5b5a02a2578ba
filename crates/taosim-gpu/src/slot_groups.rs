//! The device order of the per-slot Yuma blocks (`yuma_real`, `yuma_int`).
//!
//! On the host ([`taosim_core::state::BatchState`]) a path's Yuma blocks follow each other, slot
//! after slot: word `k` of slot `i` at `i · words + k`. The epoch stage runs slot `i` on lane
//! `i % EPOCH_LANES` (shaders/epoch.wgsl), so the lanes of a warp work on the slots of one group
//! of [`EPOCH_LANES`] consecutive slots at a time, and every lane walks its block in the same
//! order. On the device a group's blocks are therefore interleaved word by word: word `k` of the
//! group's slot `l` sits at `k · width + l` after the group's start, `width` being the group's
//! slot count ([`EPOCH_LANES`], less in a last partial group). A warp reading word `k` of its
//! slots then touches `width` consecutive words (one coalesced run) instead of `width` words one
//! block apart. A path's region keeps its size (no padding), and shaders/shared/state.wgsl
//! (`yuma_slot`, `yr_at`, `yi_at`) computes the same index as the walk here.

use crate::types::EPOCH_LANES;

/// The bytes of `host` (paths of `slots` blocks of `words` words, host order) in device order:
/// what the device buffer is created from, with no copy in host order on the way.
pub fn device_bytes<T: bytemuck::Pod>(host: &[T], slots: usize, words: usize) -> Vec<u8> {
    let size = size_of::<T>();
    let mut bytes = vec![0_u8; std::mem::size_of_val(host)];
    for_each_place(host.len(), slots, words, |host_at, device_at| {
        bytes[device_at * size..][..size].copy_from_slice(bytemuck::bytes_of(&host[host_at]));
    });
    bytes
}

/// Writes `device` (whole paths in device order) into the same paths of `host`, in host order.
/// `device` may hold fewer paths than `host`; the rest of `host` is left as it is.
pub fn to_host<T: Copy>(device: &[T], host: &mut [T], slots: usize, words: usize) {
    for_each_place(device.len(), slots, words, |host_at, device_at| {
        host[host_at] = device[device_at];
    });
}

/// Calls `place(host_at, device_at)` for each of the first `len` words (whole paths), in device
/// order: loops over paths, groups, words and lanes, no division per word (a batch holds
/// hundreds of millions of them).
fn for_each_place(len: usize, slots: usize, words: usize, mut place: impl FnMut(usize, usize)) {
    let per_path = slots * words;
    if per_path == 0 {
        return;
    }
    debug_assert_eq!(len % per_path, 0, "whole paths");
    let lanes = EPOCH_LANES as usize;
    for path_start in (0..len).step_by(per_path) {
        for first in (0..slots).step_by(lanes) {
            let width = lanes.min(slots - first);
            let group = path_start + first * words;
            for word in 0..words {
                for lane in 0..width {
                    place(group + lane * words + word, group + word * width + lane);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The device position of word `word` of slot `slot` within a path's region, straight from
    /// the module docs' definition (the form shaders/shared/state.wgsl `yuma_slot` computes).
    fn device_index(slot: usize, word: usize, slots: usize, words: usize) -> usize {
        let lanes = EPOCH_LANES as usize;
        let first = slot - slot % lanes;
        let width = lanes.min(slots - first);
        first * words + word * width + (slot - first)
    }

    /// Every (slot, word) lands on its own place in the region, for slot counts below, at and
    /// around multiples of the group size; a group's slots are `width` words apart and its words
    /// consecutive across slots; and the walk of `for_each_place` visits each word once, at
    /// exactly that place, over several paths.
    #[test]
    fn device_order_is_a_permutation_with_consecutive_lanes() {
        let lanes = EPOCH_LANES as usize;
        for slots in [1, 5, lanes - 1, lanes, lanes + 1, 2 * lanes + 7, 128] {
            let words = 13;
            let mut seen = vec![false; slots * words];
            for slot in 0..slots {
                for word in 0..words {
                    let at = device_index(slot, word, slots, words);
                    assert!(!seen[at], "slots {slots}: slot {slot} word {word} collides");
                    seen[at] = true;
                    if slot % lanes > 0 {
                        assert_eq!(at, device_index(slot - 1, word, slots, words) + 1);
                    }
                }
            }
            assert!(seen.iter().all(|&s| s), "slots {slots}: a place is never used");

            let (paths, per_path) = (3, slots * words);
            let mut visits = vec![0; paths * per_path];
            for_each_place(paths * per_path, slots, words, |host_at, device_at| {
                let (path, at) = (host_at / per_path, host_at % per_path);
                let expected = path * per_path + device_index(at / words, at % words, slots, words);
                assert_eq!(device_at, expected, "slots {slots}: host word {host_at}");
                visits[host_at] += 1;
            });
            assert!(visits.iter().all(|&v| v == 1), "slots {slots}: a word not visited once");
        }
    }

    /// Host → device → host gives the input back, also when only the first paths come back.
    #[test]
    fn round_trip_restores_the_host_order() {
        let (slots, words, paths) = (37, 11, 3);
        let host: Vec<u32> = (0..(paths * slots * words) as u32).collect();
        let device: Vec<u32> = bytemuck::pod_collect_to_vec(&device_bytes(&host, slots, words));
        assert_ne!(device, host);
        assert_eq!(device[device_index(33, 4, slots, words)], (33 * words + 4) as u32);
        let mut back = vec![0; host.len()];
        to_host(&device, &mut back, slots, words);
        assert_eq!(back, host);
        let mut partial = vec![u32::MAX; host.len()];
        to_host(&device[..slots * words], &mut partial, slots, words);
        assert_eq!(partial[..slots * words], host[..slots * words]);
        assert!(partial[slots * words..].iter().all(|&x| x == u32::MAX));
    }
}
