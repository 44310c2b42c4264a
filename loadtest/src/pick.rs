//! Deterministic choice of the n-th item: round-robin or seeded random.
//!
//! Random picks hash `(seed, stream, index)` with SplitMix64, so the choice
//! for request `i` does not depend on which worker sends it.

use crate::config::Order;

/// Independent streams of random picks.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Stream {
    Record = 1,
    StickyKey = 2,
}

/// Index in `0..len` of the `index`-th pick (`len` must be > 0).
pub(crate) fn pick(order: Order, seed: u64, stream: Stream, index: u64, len: usize) -> usize {
    let len = len as u64;
    let n = match order {
        Order::RoundRobin => index % len,
        Order::Random => {
            let h = splitmix64(seed ^ splitmix64((stream as u64) << 56 ^ index));
            // Multiply-shift maps the 64-bit hash uniformly onto 0..len.
            ((u128::from(h) * u128::from(len)) >> 64) as u64
        }
    };
    n as usize
}

fn splitmix64(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_robin_wraps() {
        let picks: Vec<_> = (0..5)
            .map(|i| pick(Order::RoundRobin, 0, Stream::Record, i, 3))
            .collect();
        assert_eq!(picks, vec![0, 1, 2, 0, 1]);
    }

    #[test]
    fn random_is_seeded_and_roughly_uniform() {
        let a: Vec<_> = (0..1000)
            .map(|i| pick(Order::Random, 7, Stream::Record, i, 10))
            .collect();
        let b: Vec<_> = (0..1000)
            .map(|i| pick(Order::Random, 7, Stream::Record, i, 10))
            .collect();
        let c: Vec<_> = (0..1000)
            .map(|i| pick(Order::Random, 8, Stream::Record, i, 10))
            .collect();
        assert_eq!(a, b);
        assert_ne!(a, c);
        for k in 0..10 {
            let n = a.iter().filter(|&&x| x == k).count();
            assert!((50..150).contains(&n), "bucket {k} has {n}");
        }
    }
}
