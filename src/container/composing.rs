//! The containerizer the agent holds: the ones `--containerizers` names,
//! in that order, each taking the containers it runs. The Docker
//! containerizer takes `DOCKER` containers; the Mesos containerizer takes
//! the rest (no `ContainerInfo`, or `MESOS`). A container no configured
//! containerizer takes is refused with a reason naming the flag.
//!
//! Mesos counterpart: `ComposingContainerizer`.

use std::collections::HashMap;
use std::sync::Arc;

use wire::ids::ContainerId;
use wire::mesos::ContainerInfo;
use wire::resources::Resources;

use super::containerizer::{Containerizer, LaunchSpec};
use super::handle::Container;
use super::launcher::LaunchError;
use super::proc::Usage;

/// The containerizers of `--containerizers`, in order. See the module docs.
#[derive(Debug)]
pub struct ComposingContainerizer {
    /// Never empty; names are distinct.
    containerizers: Vec<Arc<dyn Containerizer>>,
}

/// The name of the containerizer that runs `container`.
pub fn wanted(container: Option<&ContainerInfo>) -> &'static str {
    match container {
        Some(c) if c.is_docker() => "docker",
        _ => "mesos",
    }
}

/// Why `container` cannot run here, if it cannot: a `MESOS` container
/// with Docker settings is refused rather than run without them.
pub fn refusal(container: Option<&ContainerInfo>, available: &[&str]) -> Option<String> {
    let want = wanted(container);
    if want == "mesos" && container.is_some_and(|c| c.docker.is_some()) {
        return Some(
            "ContainerInfo.docker is set on a MESOS container: the mesos containerizer does not run Docker images (use type DOCKER)"
                .into(),
        );
    }
    if available.contains(&want) {
        return None;
    }
    Some(match want {
        "docker" => format!(
            "the task asks for a DOCKER container, but this agent runs no docker containerizer (--containerizers={}): start it with --containerizers=docker,mesos",
            available.join(",")
        ),
        other => format!(
            "no {other} containerizer on this agent (--containerizers={})",
            available.join(",")
        ),
    })
}

impl ComposingContainerizer {
    /// `containerizers` in `--containerizers` order; at least one.
    pub fn new(containerizers: Vec<Arc<dyn Containerizer>>) -> ComposingContainerizer {
        assert!(!containerizers.is_empty(), "no containerizer");
        ComposingContainerizer { containerizers }
    }

    fn names(&self) -> Vec<&'static str> {
        self.containerizers.iter().map(|c| c.name()).collect()
    }

    fn named(&self, name: &str) -> Option<&Arc<dyn Containerizer>> {
        self.containerizers.iter().find(|c| c.name() == name)
    }

    /// The containerizer that runs `container`'s executors.
    fn owner(
        &self,
        container: Option<&ContainerInfo>,
    ) -> Result<&Arc<dyn Containerizer>, LaunchError> {
        let want = wanted(container);
        self.named(want).ok_or_else(|| {
            LaunchError::Refused(format!(
                "no {want} containerizer on this agent (--containerizers={})",
                self.names().join(",")
            ))
        })
    }
}

impl Containerizer for ComposingContainerizer {
    fn name(&self) -> &'static str {
        self.containerizers[0].name()
    }

    fn launch(&self, spec: LaunchSpec) -> Result<Container, LaunchError> {
        if let Some(why) = refusal(spec.container.as_ref(), &self.names()) {
            return Err(LaunchError::Refused(why));
        }
        self.owner(spec.container.as_ref())?.launch(spec)
    }

    /// The containerizer that launched it takes it back: the Mesos one
    /// finds a cgroup container again from its cgroups, the Docker one
    /// removes the task's container once it ends.
    fn recover(
        &self,
        id: &ContainerId,
        pid: i32,
        container: Option<&ContainerInfo>,
    ) -> Result<Container, LaunchError> {
        self.owner(container)?.recover(id, pid, container)
    }

    fn update(
        &self,
        id: &ContainerId,
        container: Option<&ContainerInfo>,
        resources: &Resources,
    ) -> Result<(), LaunchError> {
        self.owner(container)?.update(id, container, resources)
    }

    fn kill_orphans(&self, known: &[ContainerId]) {
        for c in &self.containerizers {
            c.kill_orphans(known);
        }
    }

    /// The Mesos containerizer's reading, overridden by the others' for
    /// the containers they know better (the Docker containerizer adds a
    /// container's cgroups to its executor's session).
    fn usage(&self, containers: &[(ContainerId, i32)]) -> HashMap<ContainerId, Usage> {
        let mut all = self
            .named("mesos")
            .map(|c| c.usage(containers))
            .unwrap_or_default();
        for c in self.containerizers.iter().filter(|c| c.name() != "mesos") {
            all.extend(c.usage(containers));
        }
        all
    }
}

#[cfg(test)]
mod tests {
    use wire::mesos::{ContainerType, DockerInfo};

    use super::*;

    fn container(kind: ContainerType, docker: bool) -> ContainerInfo {
        ContainerInfo {
            kind,
            docker: docker.then(|| DockerInfo::new("busybox")),
            volumes: Vec::new(),
            hostname: None,
            network_infos: Vec::new(),
        }
    }

    #[test]
    fn each_container_goes_to_its_containerizer_or_is_refused_clearly() {
        let docker = container(ContainerType::Docker, true);
        let mesos = container(ContainerType::Mesos, false);
        let mesos_with_docker = container(ContainerType::Mesos, true);
        assert_eq!(wanted(None), "mesos");
        assert_eq!(wanted(Some(&mesos)), "mesos");
        assert_eq!(wanted(Some(&docker)), "docker");
        let both = ["docker", "mesos"];
        let mesos_only = ["mesos"];
        let cases: [(Option<&ContainerInfo>, &[&str], Option<&str>); 6] = [
            (None, &both, None),
            (Some(&docker), &both, None),
            (Some(&mesos), &mesos_only, None),
            (
                Some(&docker),
                &mesos_only,
                Some("the task asks for a DOCKER container, but this agent runs no docker containerizer (--containerizers=mesos)"),
            ),
            (
                Some(&mesos_with_docker),
                &both,
                Some("ContainerInfo.docker is set on a MESOS container"),
            ),
            (
                None,
                &["docker"],
                Some("no mesos containerizer on this agent (--containerizers=docker)"),
            ),
        ];
        for (c, available, expected) in cases {
            let got = refusal(c, available);
            match expected {
                None => assert_eq!(got, None, "{c:?} {available:?}"),
                Some(prefix) => {
                    let got = got.unwrap_or_default();
                    assert!(got.starts_with(prefix), "{got}");
                }
            }
        }
    }
}
