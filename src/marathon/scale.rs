//! Which instances a scale-down kills, as Marathon chooses them: those an
//! operator named first, then those that keep `GROUP_BY`/`UNIQUE`/
//! `MAX_PER` spreads even (always from the fullest value), then by
//! condition (unreachable, staging, starting, running) and, among equals,
//! the youngest first unless the app says `OLDEST_FIRST`.

use std::collections::BTreeMap;
use std::time::Duration;

use super::app::KillSelection;

/// What the choice needs to know of one live instance.
#[derive(Debug, Clone, PartialEq)]
pub struct Candidate {
    pub id: String,
    pub condition: Condition,
    /// When it was staged: the age used for kill selection.
    pub since: Duration,
    /// Its agent's value of the app's spreading field, if it spreads.
    pub spread_value: Option<String>,
}

/// Conditions in the order Marathon kills them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Condition {
    Unreachable,
    Staging,
    Starting,
    Running,
    Other,
}

/// The ids of `count` instances to kill out of `live`; `named` are killed
/// first (those still live).
pub fn choose(
    live: &[Candidate],
    count: usize,
    named: &[String],
    selection: KillSelection,
) -> Vec<String> {
    let mut chosen: Vec<String> = named
        .iter()
        .filter(|id| live.iter().any(|c| &c.id == *id))
        .take(count)
        .cloned()
        .collect();
    let mut rest: Vec<&Candidate> = live.iter().filter(|c| !chosen.contains(&c.id)).collect();
    // The first to go: bad condition, then by age as the app says.
    rest.sort_by(|a, b| {
        a.condition.cmp(&b.condition).then_with(|| match selection {
            KillSelection::YoungestFirst => b.since.cmp(&a.since),
            KillSelection::OldestFirst => a.since.cmp(&b.since),
        })
    });
    let spreads = rest.iter().any(|c| c.spread_value.is_some());
    while chosen.len() < count && !rest.is_empty() {
        let index = if spreads {
            // From the value holding the most instances, the first in order.
            let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
            for c in &rest {
                *counts
                    .entry(c.spread_value.as_deref().unwrap_or(""))
                    .or_default() += 1;
            }
            let fullest = counts.values().copied().max().unwrap_or(0);
            rest.iter()
                .position(|c| {
                    counts.get(c.spread_value.as_deref().unwrap_or("")).copied() == Some(fullest)
                })
                .unwrap_or(0)
        } else {
            0
        };
        chosen.push(rest.remove(index).id.clone());
    }
    chosen
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(id: &str, condition: Condition, since: u64, spread: Option<&str>) -> Candidate {
        Candidate {
            id: id.into(),
            condition,
            since: Duration::from_secs(since),
            spread_value: spread.map(str::to_owned),
        }
    }

    #[test]
    fn bad_conditions_go_first_then_the_youngest_or_oldest() {
        let live = vec![
            c("old", Condition::Running, 1, None),
            c("young", Condition::Running, 9, None),
            c("staging", Condition::Staging, 5, None),
            c("lost", Condition::Unreachable, 2, None),
        ];
        assert_eq!(
            choose(&live, 3, &[], KillSelection::YoungestFirst),
            ["lost", "staging", "young"]
        );
        assert_eq!(
            choose(&live, 3, &[], KillSelection::OldestFirst),
            ["lost", "staging", "old"]
        );
        assert_eq!(
            choose(
                &live,
                2,
                &["old".into(), "gone".into()],
                KillSelection::YoungestFirst
            ),
            ["old", "lost"]
        );
        assert_eq!(choose(&live, 9, &[], KillSelection::YoungestFirst).len(), 4);
    }

    #[test]
    fn a_spread_stays_even_as_it_shrinks() {
        let live = vec![
            c("a1", Condition::Running, 1, Some("r1")),
            c("a2", Condition::Running, 2, Some("r1")),
            c("a3", Condition::Running, 3, Some("r1")),
            c("b1", Condition::Running, 4, Some("r2")),
            c("b2", Condition::Running, 5, Some("r2")),
        ];
        let killed = choose(&live, 3, &[], KillSelection::YoungestFirst);
        let left: Vec<&Candidate> = live.iter().filter(|c| !killed.contains(&c.id)).collect();
        let per = |v: &str| {
            left.iter()
                .filter(|c| c.spread_value.as_deref() == Some(v))
                .count()
        };
        assert_eq!((per("r1"), per("r2")), (1, 1), "killed {killed:?}");
        assert_eq!(killed[0], "a3", "the youngest of the fullest value first");
    }
}
