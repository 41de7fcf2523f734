//! The allocator: decides which framework is offered which agent's
//! resources. It corresponds to Mesos's `HierarchicalDRFAllocator`
//! (`src/master/allocator/mesos/hierarchical.cpp` and `sorter/drf/`).
//!
//! | file | owns |
//! |---|---|
//! | `sorter.rs` | [`DrfSorter`]: clients ordered by weighted dominant share |
//! | `quota.rs` | [`Quotas`] and [`QuotaCycle`]: roles' guarantees and limits, what each consumes, guarantees first, headroom, limits |
//! | `config.rs` | [`AllocatorConfig`], the refused-offer filter durations ([`refuse_from_seconds`]) and [`AllocatorError`] |
//! | `records.rs` | what it knows of each agent (total, holdings, available) and each framework (roles, suppression, filters) |
//! | `state.rs` | [`HierarchicalAllocator`]: adding and removing agents and frameworks, recovering, suppressing, and the allocation cycle; no I/O, no clock |
//! | `process.rs` | [`AllocatorProcess`]: the actor the master talks to; batch and prompt cycles, metrics |
//! | `client.rs` | [`AllocatorHandle`]: the master's client: spawns the process, one method per message |
//!
//! Messages in (local, from the master): [`AddFramework`], [`RemoveFramework`],
//! [`ActivateFramework`], [`DeactivateFramework`], [`AddAgent`], [`RemoveAgent`],
//! [`ActivateAgent`], [`DeactivateAgent`], [`UpdateAgentTotal`],
//! [`RecoverResources`], [`Suppress`], [`Revive`], [`UpdateWeights`],
//! [`UpdateQuota`].
//! Out: batches of [`Allocation`] through the callback given at
//! construction, which the master turns into offers.

mod client;
mod config;
mod process;
mod quota;
mod records;
mod sorter;
mod state;

pub use client::AllocatorHandle;
pub use config::{
    default_min_allocatable, refuse_from_seconds, AllocatorConfig, AllocatorError,
    DEFAULT_ALLOCATION_INTERVAL, DEFAULT_REFUSE, MAX_REFUSE,
};
pub use process::{
    ActivateAgent, ActivateFramework, AddAgent, AddFramework, AllocatorProcess, DeactivateAgent,
    DeactivateFramework, OfferCallback, RecoverResources, RemoveAgent, RemoveFramework, Revive,
    Suppress, UpdateAgentTotal, UpdateAllocation, UpdateQuota, UpdateWeights,
};
pub use quota::{QuotaCycle, Quotas};
pub use sorter::{DrfSorter, Quantities, SortKey};
pub use state::{Allocation, HierarchicalAllocator};
