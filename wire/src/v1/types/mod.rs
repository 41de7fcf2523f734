//! The messages of `mesos/v1/mesos.proto` that the v1 scheduler and
//! executor APIs carry, in Mesos's JSON form, with conversions to and from
//! the internal types of [`crate::mesos`] and [`crate::resources`].
//!
//! Each struct mirrors its protobuf message field for field (names and
//! declaration order as in the `.proto`; fields the internal types cannot
//! hold are left out and ignored on input like any unknown field). Singular
//! fields without a default are `Option`s even when the `.proto` marks them
//! `required`: presence is checked by the conversion, which names the path
//! of what is missing (small leaf messages, the ids, `Value.Scalar`,
//! `Value.Range`, `Value.Text` and `DurationInfo`, keep their one required
//! field plain, and serde reports it missing with its line and column).
//! Fields with an explicit default are plain values and
//! are always written, as Mesos's `jsonify` does (see the module docs of
//! [`crate::v1`]). Empty repeated fields are not written.
//!
//! `from_internal` builds the JSON form of an internal value (it cannot
//! fail); `into_internal` checks and converts JSON input, failing with a
//! [`FieldError`].
//!
//! One file per family of messages, in the order they build on each other:
//!
//! | file | holds |
//! |---|---|
//! | `error.rs` | [`FieldError`] and the conversion helpers |
//! | `common.rs` | ids and small shared messages, the framework capability names |
//! | `values.rs` | values, resources, attributes, [`ResourceFormat`] |
//! | `members.rs` | masters, agents, frameworks |
//! | `containers.rs` | containers: Docker's settings, volumes |
//! | `tasks.rs` | commands, executors, tasks, task statuses |
//! | `offers.rs` | offers and their operations |
//!
//! Everything public is re-exported here by name: users import
//! `wire::v1::types::X`, never the file it lives in.

mod common;
mod containers;
mod error;
mod members;
mod offers;
mod tasks;
mod values;

pub use crate::ids::{AgentId, ContainerId, ExecutorId, FrameworkId, OfferId, TaskId};

pub use common::{
    Address, DurationInfo, Filters, KillPolicy, OperationId, Url, FRAMEWORK_CAPABILITIES,
};
pub use containers::{
    ContainerInfoJson, DockerInfoJson, ParameterJson, PortMappingJson, VolumeJson,
};
pub use error::{convert_list, required, FieldError, Within};
pub use members::{ip_from_u32, ip_to_u32, AgentInfo, Capability, FrameworkInfo, MasterInfo};
pub use offers::{Launch, LaunchGroup, Offer, Operation, Request};
pub use tasks::{
    CommandInfo, CommandUri, Environment, ExecutorInfo, ExecutorType, HealthCheckJson,
    HttpCheckJson, LabelJson, Labels, TaskGroupInfo, TaskInfo, TaskStatus, TcpCheckJson, Variable,
    VariableType,
};
pub use values::{
    resources_from_v1, resources_to_v1, AllocationInfo, Attribute, DiskInfoJson, DiskSourceJson,
    DiskVolumeJson, PersistenceJson, Range, Ranges, ReservationInfo, ReservationType, Resource,
    ResourceFormat, Scalar, Set, SourceRoot, Text, ValueType,
};

/// Builders the tests of several files share.
#[cfg(test)]
mod testing {
    use crate::mesos;
    use crate::resources::Resources;

    pub(super) fn res(text: &str) -> Resources {
        Resources::parse(text, "*").unwrap()
    }

    pub(super) fn framework(caps: &[&str]) -> mesos::FrameworkInfo {
        let mut f = mesos::FrameworkInfo::new("root", "f");
        f.capabilities = caps.iter().map(|c| c.to_string()).collect();
        f
    }
}
