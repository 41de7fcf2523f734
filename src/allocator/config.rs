//! How the allocator is configured and how it refuses: the flags it
//! follows (`--weights`, `--min_allocatable_resources`,
//! `--fair_sharing_excluded_resource_names`, `--allocation_interval`), the
//! refused-offer filter durations Mesos derives from `refuse_seconds`, and
//! [`AllocatorError`].

use std::collections::HashMap;
use std::time::Duration;

use wire::ids::{AgentId, FrameworkId};
use wire::resources::{Resource, Resources};

/// Mesos's `--allocation_interval` default.
pub const DEFAULT_ALLOCATION_INTERVAL: Duration = Duration::from_secs(1);

/// `Filters.refuse_seconds` when a scheduler gives none or a bad one.
pub const DEFAULT_REFUSE: Duration = Duration::from_secs(5);

/// The longest refused-offer filter Mesos installs.
pub const MAX_REFUSE: Duration = Duration::from_secs(365 * 24 * 60 * 60);

/// How the allocator decides.
#[derive(Debug, Clone, PartialEq)]
pub struct AllocatorConfig {
    /// Role weights (`--weights`); roles not named weigh 1.0.
    pub weights: HashMap<String, f64>,
    /// An offer is made only if it holds at least one of these sets
    /// (`--min_allocatable_resources`); empty means anything non-empty.
    pub min_allocatable: Vec<Resources>,
    /// Kinds ignored when computing shares
    /// (`--fair_sharing_excluded_resource_names`).
    pub fair_sharing_excluded_resource_names: Vec<String>,
    /// The batch allocation period (`--allocation_interval`); refused-offer
    /// filters last at least this long.
    pub allocation_interval: Duration,
    /// Seeds the order in which agents are visited; one seed gives one
    /// sequence of orders, which tests rely on.
    pub seed: u64,
}

impl Default for AllocatorConfig {
    fn default() -> Self {
        AllocatorConfig {
            weights: HashMap::new(),
            min_allocatable: default_min_allocatable(),
            fair_sharing_excluded_resource_names: Vec::new(),
            allocation_interval: DEFAULT_ALLOCATION_INTERVAL,
            seed: 0x5eed,
        }
    }
}

/// Mesos's default `--min_allocatable_resources`: `cpus:0.01|mem:32`.
pub fn default_min_allocatable() -> Vec<Resources> {
    [
        Resource::scalar("cpus", 0.01),
        Resource::scalar("mem", 32.0),
    ]
    .into_iter()
    .map(|r| {
        let mut set = Resources::new();
        // Fresh scalars of one kind cannot clash.
        let _ = set.add(r);
        set
    })
    .collect()
}

/// The filter duration Mesos derives from a scheduler's `refuse_seconds`:
/// negative, NaN or unrepresentable means the default 5 s, more than 365
/// days means 365 days, and 0 means no filter (`None`).
pub fn refuse_from_seconds(seconds: f64) -> Option<Duration> {
    if seconds.is_nan() || seconds < 0.0 {
        return Some(DEFAULT_REFUSE);
    }
    if seconds == 0.0 {
        return None;
    }
    if seconds > MAX_REFUSE.as_secs_f64() {
        return Some(MAX_REFUSE);
    }
    Some(Duration::try_from_secs_f64(seconds).unwrap_or(DEFAULT_REFUSE))
}

/// Why the allocator refused a request.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum AllocatorError {
    #[error("framework {0} is already known to the allocator")]
    FrameworkExists(FrameworkId),
    #[error("agent {0} is already known to the allocator")]
    AgentExists(AgentId),
    #[error("the weight of role '{role}' must be a positive number, not {weight}")]
    BadWeight { role: String, weight: f64 },
}

pub(super) fn validate_weights(weights: &HashMap<String, f64>) -> Result<(), AllocatorError> {
    match weights.iter().find(|(_, w)| !(w.is_finite() && **w > 0.0)) {
        Some((role, weight)) => Err(AllocatorError::BadWeight {
            role: role.clone(),
            weight: *weight,
        }),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SEC: Duration = Duration::from_secs(1);

    #[test]
    fn refuse_seconds_follow_mesos_rules() {
        let cases = [
            (5.0, Some(5 * SEC)),
            (0.0, None),
            (-1.0, Some(DEFAULT_REFUSE)),
            (f64::NAN, Some(DEFAULT_REFUSE)),
            (1e12, Some(MAX_REFUSE)),
            (0.25, Some(SEC / 4)),
        ];
        for (seconds, want) in cases {
            assert_eq!(refuse_from_seconds(seconds), want, "{seconds}");
        }
    }
}
