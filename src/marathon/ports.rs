//! Ports: host ports taken from an offer's `ports` ranges, and service
//! ports assigned from `[--local_port_min, --local_port_max]`.
//!
//! Host ports asked as `0` are drawn at random, as Marathon does so that
//! a port another instance just released is not handed out again at once:
//! the offered ranges are shuffled, read as one sequence from a random
//! start, wrapping around. Fixed ports must be in the offer.

use std::collections::BTreeSet;

use crate::random::Rng;

/// Ports an app asks of one offer: `0` for any, else that port.
pub fn take_host_ports(
    requested: &[u32],
    offered: &[(u64, u64)],
    rng: &mut Rng,
) -> Option<Vec<u32>> {
    let in_offer = |p: u64| offered.iter().any(|(a, b)| *a <= p && p <= *b);
    let fixed: BTreeSet<u64> = requested
        .iter()
        .filter(|p| **p != 0)
        .map(|p| u64::from(*p))
        .collect();
    if fixed.iter().any(|p| !in_offer(*p)) {
        return None;
    }
    if fixed.len() != requested.iter().filter(|p| **p != 0).count() {
        // The same fixed port twice cannot be had from one offer.
        return None;
    }
    let wanted = requested.iter().filter(|p| **p == 0).count();
    let mut chosen = Vec::with_capacity(wanted);
    if wanted > 0 {
        let mut ranges: Vec<(u64, u64)> = offered.to_vec();
        rng.shuffle(&mut ranges);
        let total: u64 = ranges.iter().map(|(a, b)| b - a + 1).sum();
        if total == 0 {
            return None;
        }
        let start = rng.range(0, total);
        let nth = |mut i: u64| -> u64 {
            for (a, b) in &ranges {
                let len = b - a + 1;
                if i < len {
                    return a + i;
                }
                i -= len;
            }
            0
        };
        let mut i = 0;
        while chosen.len() < wanted && i < total {
            let p = nth((start + i) % total);
            if !fixed.contains(&p) && p <= u64::from(u16::MAX) {
                chosen.push(p as u32);
            }
            i += 1;
        }
        if chosen.len() < wanted {
            return None;
        }
    }
    let mut dynamic = chosen.into_iter();
    requested
        .iter()
        .map(|p| if *p == 0 { dynamic.next() } else { Some(*p) })
        .collect()
}

/// Service ports for an app: each requested `0` gets, first, a port the
/// app held before, then the lowest free one in `range`; a non-zero one is
/// the user's and is kept. `used` are the ports other apps hold.
pub fn assign_service_ports(
    requested: &[u32],
    previous: &[u32],
    used: &BTreeSet<u32>,
    range: (u32, u32),
) -> Result<Vec<u32>, String> {
    let mut taken: BTreeSet<u32> = used.clone();
    taken.extend(requested.iter().copied().filter(|p| *p != 0));
    let mut reuse = previous
        .iter()
        .copied()
        .filter(|p| *p != 0 && !used.contains(p) && !requested.contains(p))
        .collect::<Vec<_>>()
        .into_iter();
    let mut next = range.0;
    requested
        .iter()
        .map(|p| {
            if *p != 0 {
                return Ok(*p);
            }
            if let Some(old) = reuse.next() {
                taken.insert(old);
                return Ok(old);
            }
            while next <= range.1 && taken.contains(&next) {
                next += 1;
            }
            if next > range.1 {
                return Err(format!(
                    "All service ports in the range [{}, {}] are already in use",
                    range.0, range.1
                ));
            }
            taken.insert(next);
            Ok(next)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixed_ports_must_be_offered_and_any_ports_come_from_the_offer() {
        let mut rng = Rng::with_seed(7);
        let offer = [(31000, 31009), (32000, 32000)];
        let got = take_host_ports(&[0, 31005, 0], &offer, &mut rng).unwrap();
        assert_eq!(got[1], 31005);
        for p in [got[0], got[2]] {
            assert!(
                offer.iter().any(|(a, b)| (*a..=*b).contains(&u64::from(p))),
                "{p}"
            );
            assert_ne!(p, 31005);
        }
        assert_ne!(got[0], got[2]);
        assert_eq!(take_host_ports(&[30000], &offer, &mut rng), None);
        assert_eq!(take_host_ports(&[31001, 31001], &offer, &mut rng), None);
        assert_eq!(
            take_host_ports(&[0; 12], &offer, &mut rng),
            None,
            "11 offered"
        );
        assert_eq!(
            take_host_ports(&[0; 11], &offer, &mut rng).map(|v| v.len()),
            Some(11)
        );
        assert_eq!(take_host_ports(&[], &[], &mut rng), Some(vec![]));
        assert_eq!(take_host_ports(&[0], &[], &mut rng), None);
    }

    #[test]
    fn dynamic_ports_are_spread_not_always_the_lowest() {
        let mut rng = Rng::with_seed(1);
        let offer = [(31000, 32000)];
        let firsts: BTreeSet<u32> = (0..20)
            .map(|_| take_host_ports(&[0], &offer, &mut rng).unwrap()[0])
            .collect();
        assert!(firsts.len() > 10, "{firsts:?}");
    }

    #[test]
    fn service_ports_reuse_the_apps_own_then_take_the_lowest_free() {
        let used = BTreeSet::from([10000, 10001]);
        assert_eq!(
            assign_service_ports(&[0, 0], &[], &used, (10000, 20000)),
            Ok(vec![10002, 10003])
        );
        assert_eq!(
            assign_service_ports(&[0, 0], &[10500], &used, (10000, 20000)),
            Ok(vec![10500, 10002])
        );
        assert_eq!(
            assign_service_ports(&[9000, 0], &[], &used, (10000, 20000)),
            Ok(vec![9000, 10002])
        );
        assert_eq!(
            assign_service_ports(&[10002, 0], &[], &used, (10000, 20000)),
            Ok(vec![10002, 10003]),
            "a user's port is not handed out again"
        );
        assert!(assign_service_ports(&[0, 0], &[], &used, (10000, 10002)).is_err());
    }
}
