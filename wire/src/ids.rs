//! Identifiers of the cluster's objects. Each is a string newtype that
//! renders in JSON as Mesos's `{"value": "..."}`.

use serde::{Deserialize, Serialize};

macro_rules! id_type {
    ($($(#[$doc:meta])* $name:ident),+ $(,)?) => {$(
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        pub struct $name {
            pub value: String,
        }

        impl $name {
            pub fn new(value: impl Into<String>) -> Self {
                $name { value: value.into() }
            }

            pub fn as_str(&self) -> &str {
                &self.value
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&self.value)
            }
        }
    )+};
}

id_type! {
    /// `<master id>-<NNNN>`.
    FrameworkId,
    /// `<master id>-S<n>` (v0 `SlaveID`).
    AgentId,
    /// `<master id>-O<n>`.
    OfferId,
    /// Chosen by the framework.
    TaskId,
    /// Chosen by the framework; a command task's executor id is its task id.
    ExecutorId,
    /// A random UUID per executor run.
    ContainerId,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_render_as_value_objects() {
        let id = AgentId::new("m-S0");
        assert_eq!(serde_json::to_string(&id).unwrap(), r#"{"value":"m-S0"}"#);
        assert_eq!(id.to_string(), "m-S0");
    }
}
