//! Every random number the cluster draws, from one source: `fastrand`.
//!
//! Two ways in, for two kinds of code:
//!
//! - [`Rng`], a seeded generator, for the I/O-free cores and the
//!   simulations around them (the replicated log's coordinator and
//!   recovery, the allocator's agent order). A core takes its seed at
//!   construction and never reaches for randomness elsewhere, so one seed
//!   replays one run exactly (for the `fastrand` version `Cargo.lock` pins).
//! - Free functions over the calling thread's own unseeded generator, for
//!   process handlers that need jitter ([`range`], [`upto`]), a fresh seed
//!   for a core ([`seed`]), or a fresh id ([`uuid_v4`], [`uuid_v4_string`]).
//!
//! Mesos draws its ids and jitter the same way (stout's `UUID::random`, a
//! per-thread Mersenne twister). None of this is cryptographic: nothing
//! here makes secrets, and the security work (credentials, TLS) must take
//! its keys from the operating system instead.

use std::time::Duration;

/// A seeded, reproducible generator (see the module docs).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rng {
    /// Every draw comes from here; its state is all there is to a run.
    inner: fastrand::Rng,
}

impl Rng {
    /// The generator whose draws `seed` decides.
    pub fn with_seed(seed: u64) -> Rng {
        Rng {
            inner: fastrand::Rng::with_seed(seed),
        }
    }

    pub fn next_u64(&mut self) -> u64 {
        self.inner.u64(..)
    }

    /// A number in `[low, high)`; `low` when the range is empty.
    pub fn range(&mut self, low: u64, high: u64) -> u64 {
        if high <= low {
            return low;
        }
        self.inner.u64(low..high)
    }

    /// True with probability `numerator / denominator` (never when
    /// `denominator` is 0).
    pub fn chance(&mut self, numerator: u64, denominator: u64) -> bool {
        denominator > 0 && self.inner.u64(..denominator) < numerator
    }

    /// A number in `[0, 1)`.
    pub fn fraction(&mut self) -> f64 {
        self.inner.f64()
    }

    /// Puts `items` in a uniformly random order.
    pub fn shuffle<T>(&mut self, items: &mut [T]) {
        self.inner.shuffle(items);
    }
}

/// A fresh seed for an [`Rng`] that a process hands to its core.
pub fn seed() -> u64 {
    fastrand::u64(..)
}

/// A number in `[low, high)`; `low` when the range is empty.
pub fn range(low: u64, high: u64) -> u64 {
    if high <= low {
        return low;
    }
    fastrand::u64(low..high)
}

/// A number in `[0, 1)`.
pub fn fraction() -> f64 {
    fastrand::f64()
}

/// A duration in `[0, max]`: jitter for a retry or a backoff.
pub fn upto(max: Duration) -> Duration {
    max.mul_f64(fastrand::f64_inclusive())
}

/// 16 random bytes laid out as a version 4 UUID (RFC 4122): what Mesos
/// puts in status updates.
pub fn uuid_v4() -> [u8; 16] {
    let mut bytes = [0u8; 16];
    fastrand::fill(&mut bytes);
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    bytes
}

/// A version 4 UUID in its usual text form, lowercase and hyphenated
/// (`8-4-4-4-12` hex digits): for ids such as a framework's or a stream's.
pub fn uuid_v4_string() -> String {
    let bytes = uuid_v4();
    let mut out = String::with_capacity(36);
    for (i, byte) in bytes.iter().enumerate() {
        if matches!(i, 4 | 6 | 8 | 10) {
            out.push('-');
        }
        out.push_str(&format!("{byte:02x}"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_seed_gives_one_stream() {
        let draws = |seed| {
            let mut rng = Rng::with_seed(seed);
            (0..8).map(|_| rng.next_u64()).collect::<Vec<_>>()
        };
        assert_eq!(draws(7), draws(7));
        assert_ne!(draws(7), draws(8));
    }

    #[test]
    fn ranges_stay_inside_and_empty_ranges_give_their_start() {
        let mut rng = Rng::with_seed(1);
        for _ in 0..1000 {
            let n = rng.range(10, 20);
            assert!((10..20).contains(&n), "{n}");
            let f = rng.fraction();
            assert!((0.0..1.0).contains(&f), "{f}");
            let m = range(3, 5);
            assert!((3..5).contains(&m), "{m}");
        }
        assert_eq!(rng.range(5, 5), 5);
        assert_eq!(rng.range(9, 2), 9);
        assert_eq!(range(4, 4), 4);
    }

    #[test]
    fn chances_are_never_for_zero_and_always_for_all() {
        let mut rng = Rng::with_seed(2);
        for _ in 0..1000 {
            assert!(!rng.chance(0, 10));
            assert!(rng.chance(10, 10));
            assert!(!rng.chance(5, 0));
        }
        let hits = (0..10_000).filter(|_| rng.chance(1, 2)).count();
        assert!((4_000..6_000).contains(&hits), "{hits}");
    }

    #[test]
    fn a_shuffle_keeps_every_item_and_replays_from_its_seed() {
        let shuffled = |seed| {
            let mut items: Vec<u32> = (0..50).collect();
            Rng::with_seed(seed).shuffle(&mut items);
            items
        };
        let mut sorted = shuffled(3);
        assert_eq!(shuffled(3), sorted);
        assert_ne!(sorted, (0..50).collect::<Vec<_>>());
        sorted.sort_unstable();
        assert_eq!(sorted, (0..50).collect::<Vec<_>>());
    }

    #[test]
    fn jitter_stays_within_its_bound() {
        let max = Duration::from_millis(250);
        for _ in 0..1000 {
            assert!(upto(max) <= max);
        }
        assert_eq!(upto(Duration::ZERO), Duration::ZERO);
    }

    #[test]
    fn uuids_are_random_version_4() {
        let a = uuid_v4().to_vec();
        assert_eq!(a.len(), 16);
        assert_eq!(a.get(6).map(|b| b >> 4), Some(4));
        assert_eq!(a.get(8).map(|b| b >> 6), Some(2));
        assert_ne!(a, uuid_v4().to_vec());
    }

    #[test]
    fn uuid_text_is_hyphenated_lowercase_hex() {
        let text = uuid_v4_string();
        assert_eq!(text.len(), 36);
        let groups: Vec<usize> = text.split('-').map(str::len).collect();
        assert_eq!(groups, [8, 4, 4, 4, 12]);
        assert!(text
            .chars()
            .all(|c| c == '-' || c.is_ascii_digit() || ('a'..='f').contains(&c)));
        assert_eq!(text.get(14..15), Some("4"));
        assert_ne!(text, uuid_v4_string());
    }
}
