//! Timers: `delay(duration, pid, message)` as libprocess has it.
//!
//! A delay is a task on the node's runtime that sleeps, then sends. It runs
//! on tokio's clock, so tests that pause the clock drive it with
//! `testing::advance`. Delays to a process itself from inside a handler are
//! better made with `Cx::delay`, which needs no wire name.

use std::time::Duration;

use tokio::task::AbortHandle;

use crate::node::Node;
use crate::pid::Pid;

/// A pending delayed message; dropping it does not cancel it.
pub struct Delay(AbortHandle);

impl Delay {
    /// Cancels the message if it has not been sent yet.
    pub fn cancel(&self) {
        self.0.abort();
    }
}

impl Node {
    /// Sends `message` from `from` to `to` after `after`.
    pub fn delay<M: wire::Message>(
        &self,
        after: Duration,
        from: &Pid,
        to: &Pid,
        message: M,
    ) -> Delay {
        let (node, from, to) = (self.clone(), from.clone(), to.clone());
        // The deadline counts from now, not from when the task first runs.
        let deadline = tokio::time::Instant::now() + after;
        let task = self.inner.runtime.spawn(async move {
            tokio::time::sleep_until(deadline).await;
            node.send(&from, &to, message);
        });
        Delay(task.abort_handle())
    }
}
