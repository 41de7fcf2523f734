//! Sets of log positions kept as disjoint ranges (stout's
//! `IntervalSet<uint64_t>` as the replica uses it for holes and unlearned
//! positions): a log of a million learned entries with three holes is
//! three ranges, not a million numbers.

use std::collections::BTreeMap;

/// A set of positions: disjoint, non-adjacent half-open ranges
/// `start..end`, keyed by `start`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Positions {
    /// Invariant: ranges are non-empty, disjoint and never touch.
    ranges: BTreeMap<u64, u64>,
}

impl Positions {
    pub fn new() -> Positions {
        Positions::default()
    }

    /// The positions `start..=end` (empty when `end < start`).
    pub fn closed(start: u64, end: u64) -> Positions {
        let mut p = Positions::new();
        p.insert_closed(start, end);
        p
    }

    pub fn is_empty(&self) -> bool {
        self.ranges.is_empty()
    }

    /// How many positions the set holds.
    pub fn len(&self) -> u64 {
        self.ranges.iter().map(|(s, e)| e - s).sum()
    }

    pub fn contains(&self, position: u64) -> bool {
        self.ranges
            .range(..=position)
            .next_back()
            .is_some_and(|(_, &end)| position < end)
    }

    pub fn first(&self) -> Option<u64> {
        self.ranges.keys().next().copied()
    }

    pub fn insert(&mut self, position: u64) {
        self.insert_range(position, position.saturating_add(1));
    }

    /// Adds `start..=end`.
    pub fn insert_closed(&mut self, start: u64, end: u64) {
        if end >= start {
            self.insert_range(start, end.saturating_add(1));
        }
    }

    /// Adds `start..end`.
    pub fn insert_range(&mut self, start: u64, end: u64) {
        if start >= end {
            return;
        }
        let (mut start, mut end) = (start, end);
        if let Some((&s, &e)) = self.ranges.range(..=start).next_back() {
            if e >= start {
                start = s;
                end = end.max(e);
                self.ranges.remove(&s);
            }
        }
        while let Some((&s, &e)) = self.ranges.range(start..=end).next() {
            end = end.max(e);
            self.ranges.remove(&s);
        }
        self.ranges.insert(start, end);
    }

    pub fn remove(&mut self, position: u64) {
        self.remove_range(position, position.saturating_add(1));
    }

    /// Removes `start..end`.
    pub fn remove_range(&mut self, start: u64, end: u64) {
        if start >= end {
            return;
        }
        if let Some((&s, &e)) = self.ranges.range(..start).next_back() {
            if e > start {
                self.ranges.insert(s, start);
                if e > end {
                    self.ranges.insert(end, e);
                }
            }
        }
        let inside: Vec<(u64, u64)> = self
            .ranges
            .range(start..end)
            .map(|(&s, &e)| (s, e))
            .collect();
        for (s, e) in inside {
            self.ranges.remove(&s);
            if e > end {
                self.ranges.insert(end, e);
            }
        }
    }

    /// Removes every position below `to`.
    pub fn remove_below(&mut self, to: u64) {
        self.remove_range(0, to);
    }

    /// Removes every position of `other`.
    pub fn remove_all(&mut self, other: &Positions) {
        for (&s, &e) in &other.ranges {
            self.remove_range(s, e);
        }
    }

    /// Adds every position of `other`.
    pub fn extend(&mut self, other: &Positions) {
        for (&s, &e) in &other.ranges {
            self.insert_range(s, e);
        }
    }

    /// The positions of this set within `start..=end`.
    pub fn within(&self, start: u64, end: u64) -> Positions {
        let mut out = Positions::new();
        if end < start {
            return out;
        }
        let stop = end.saturating_add(1);
        let first = self
            .ranges
            .range(..=start)
            .next_back()
            .map(|(&s, _)| s)
            .unwrap_or(start);
        for (&s, &e) in self.ranges.range(first..stop) {
            out.insert_range(s.max(start), e.min(stop));
        }
        out
    }

    /// Removes and returns the lowest position.
    pub fn pop_first(&mut self) -> Option<u64> {
        let (s, e) = self.ranges.pop_first()?;
        if s + 1 < e {
            self.ranges.insert(s + 1, e);
        }
        Some(s)
    }

    /// Every position, ascending.
    pub fn iter(&self) -> impl Iterator<Item = u64> + '_ {
        self.ranges.iter().flat_map(|(&s, &e)| s..e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn of(p: &Positions) -> Vec<u64> {
        p.iter().collect()
    }

    #[test]
    fn inserts_merge_adjacent_and_overlapping_ranges() {
        let mut p = Positions::new();
        p.insert_range(5, 8);
        p.insert_range(1, 3);
        p.insert(3);
        p.insert_range(10, 12);
        p.insert_range(7, 10);
        assert_eq!(p.ranges.len(), 2);
        assert_eq!(of(&p), vec![1, 2, 3, 5, 6, 7, 8, 9, 10, 11]);
        assert_eq!(p.len(), 10);
        assert!(p.contains(9) && !p.contains(4) && !p.contains(12));
    }

    #[test]
    fn removals_split_ranges() {
        let mut p = Positions::closed(0, 9);
        p.remove(4);
        p.remove_range(7, 20);
        assert_eq!(of(&p), vec![0, 1, 2, 3, 5, 6]);
        p.remove_below(2);
        assert_eq!(of(&p), vec![2, 3, 5, 6]);
        assert_eq!(p.pop_first(), Some(2));
        assert_eq!(of(&p.within(4, 5)), vec![5]);
        assert_eq!(of(&p.within(0, 100)), vec![3, 5, 6]);
        assert!(p.within(6, 5).is_empty());
    }

    #[test]
    fn extremes_do_not_overflow() {
        let mut p = Positions::new();
        p.insert(u64::MAX);
        p.insert_closed(u64::MAX - 2, u64::MAX);
        assert!(p.contains(u64::MAX - 1));
        p.remove(u64::MAX);
        assert!(p.within(0, u64::MAX).contains(u64::MAX - 2));
    }
}
