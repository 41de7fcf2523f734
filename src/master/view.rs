//! What endpoints and metrics read of the master: its records and a few
//! facts of the process (leadership, start time), borrowed, never mutable.

use wire::mesos::MasterInfo;

use super::flags::MasterFlags;
use super::state::State;

/// A read-only view of the master.
#[derive(Clone, Copy)]
pub struct MasterView<'a> {
    pub state: &'a State,
    pub info: &'a MasterInfo,
    pub flags: &'a MasterFlags,
    /// When the master started (seconds since the epoch).
    pub start_time: f64,
    /// The leading master as this master knows it.
    pub leader: Option<&'a MasterInfo>,
    /// This master is elected (it may still be recovering).
    pub elected: bool,
    /// The registry is recovered and the master serves.
    pub recovered: bool,
}
