//! The allocator: decides which framework is offered which agent's
//! resources. It corresponds to Mesos's `HierarchicalDRFAllocator`
//! (`src/master/allocator/mesos/hierarchical.cpp` and `sorter/drf/`).
//!
//! | file | owns |
//! |---|---|
//! | `sorter.rs` | [`DrfSorter`]: clients ordered by weighted dominant share |
//! | `state.rs` | [`HierarchicalAllocator`]: agents, frameworks, filters, suppression and the allocation cycle; no I/O, no clock |
//!
//! [`HierarchicalAllocator::allocate`] returns [`Allocation`]s, which the
//! master turns into offers.

mod sorter;
mod state;

pub use sorter::{DrfSorter, Quantities, SortKey};
pub use state::{
    default_min_allocatable, refuse_from_seconds, Allocation, AllocatorConfig, AllocatorError,
    HierarchicalAllocator, DEFAULT_ALLOCATION_INTERVAL, DEFAULT_REFUSE, MAX_REFUSE,
};
