//! Everything that crosses a process boundary, as data: the frame codec that
//! carries typed messages between nodes, the [`Message`] trait that gives each
//! message type its permanent wire name, and (as the cluster grows) the
//! message and API types of each protocol family.
//!
//! This crate does no I/O and knows no runtime: the `actors` crate moves
//! these bytes, the `mesos` crate gives them meaning.

pub mod agent;
pub mod codec;
pub mod executor;
pub mod ids;
pub mod log;
pub mod maintenance;
pub mod mesos;
pub mod registry;
pub mod resources;
pub mod scheduler;
pub mod task;
pub mod v1;

pub use codec::{Frame, FrameError, Preamble, DEFAULT_MAX_FRAME, MAGIC, VERSION};

use serde::{de::DeserializeOwned, Serialize};

/// A message that can travel between processes on different nodes.
///
/// `NAME` is the message's permanent wire name (for example
/// `"mesos.agent.RegisterAgent"`). It is never derived from the Rust type
/// path, so renaming or moving a type does not change the protocol. Names
/// must be unique across the whole system; [`messages!`] records them so a
/// test can prove it.
pub trait Message: Serialize + DeserializeOwned + Send + 'static {
    const NAME: &'static str;
}

/// Implements [`Message`] for each listed type with its wire name and
/// defines `pub const NAMES: &[&str]` listing those names in the module
/// where it is invoked.
///
/// ```
/// use serde::{Deserialize, Serialize};
/// #[derive(Serialize, Deserialize)]
/// pub struct Ping(u64);
/// wire::messages! { Ping => "example.Ping" }
/// assert_eq!(<Ping as wire::Message>::NAME, "example.Ping");
/// assert_eq!(NAMES, &["example.Ping"]);
/// ```
#[macro_export]
macro_rules! messages {
    ($($ty:ty => $name:literal),+ $(,)?) => {
        $(impl $crate::Message for $ty { const NAME: &'static str = $name; })+
        /// The wire names of the messages defined in this module.
        pub const NAMES: &[&str] = &[$($name),+];
    };
}

/// Every wire name this crate defines, for the uniqueness check.
pub fn all_names() -> Vec<&'static str> {
    [
        codec::control::NAMES,
        agent::NAMES,
        scheduler::NAMES,
        executor::NAMES,
        log::NAMES,
    ]
    .concat()
}

/// Returns the names that occur more than once in `names`.
pub fn duplicate_names<'a>(names: &[&'a str]) -> Vec<&'a str> {
    let mut seen = std::collections::BTreeSet::new();
    let mut dups = std::collections::BTreeSet::new();
    for name in names {
        if !seen.insert(*name) {
            dups.insert(*name);
        }
    }
    dups.into_iter().collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn wire_names_are_unique() {
        let names = super::all_names();
        assert!(!names.is_empty());
        assert_eq!(super::duplicate_names(&names), Vec::<&str>::new());
    }

    #[test]
    fn duplicate_names_are_found() {
        assert_eq!(super::duplicate_names(&["a", "b", "a"]), vec!["a"]);
    }
}
