//! What a task or executor runs in: `ContainerInfo` with its
//! `DockerInfo` (network, port mappings, parameters) and `Volume`s.
//! `network` and `privileged` have defaults in the `.proto` (HOST, false)
//! and are always written; a volume's `mode` is required there, and is
//! read as RW when left out.

use serde::{Deserialize, Serialize};

use crate::mesos;
use crate::v1::json;

use super::error::{convert_list, required, FieldError, Within};

/// `ContainerInfo`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContainerInfoJson {
    #[serde(
        rename = "type",
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "json::lenient_enum"
    )]
    pub kind: Option<mesos::ContainerType>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub volumes: Vec<VolumeJson>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub docker: Option<DockerInfoJson>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hostname: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub network_infos: Vec<NetworkInfoJson>,
}

/// `NetworkInfo`: only its `name` is read; the rest (addresses, groups,
/// labels) is accepted and left out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NetworkInfoJson {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

/// `ContainerInfo.DockerInfo`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DockerInfoJson {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
    #[serde(default = "host")]
    pub network: mesos::DockerNetwork,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub port_mappings: Vec<PortMappingJson>,
    #[serde(default)]
    pub privileged: bool,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub parameters: Vec<ParameterJson>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub force_pull_image: Option<bool>,
}

fn host() -> mesos::DockerNetwork {
    mesos::DockerNetwork::Host
}

/// `ContainerInfo.DockerInfo.PortMapping`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PortMappingJson {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host_port: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub container_port: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub protocol: Option<String>,
}

/// `Parameter`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ParameterJson {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
}

/// `Volume`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VolumeJson {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub container_path: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host_path: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<mesos::VolumeMode>,
}

impl ContainerInfoJson {
    pub fn from_internal(c: &mesos::ContainerInfo) -> ContainerInfoJson {
        ContainerInfoJson {
            kind: Some(c.kind),
            volumes: c
                .volumes
                .iter()
                .map(|v| VolumeJson {
                    container_path: Some(v.container_path.clone()),
                    host_path: v.host_path.clone(),
                    mode: Some(v.mode),
                })
                .collect(),
            docker: c.docker.as_ref().map(|d| DockerInfoJson {
                image: Some(d.image.clone()),
                network: d.network,
                port_mappings: d
                    .port_mappings
                    .iter()
                    .map(|p| PortMappingJson {
                        host_port: Some(p.host_port),
                        container_port: Some(p.container_port),
                        protocol: p.protocol.clone(),
                    })
                    .collect(),
                privileged: d.privileged,
                parameters: d
                    .parameters
                    .iter()
                    .map(|p| ParameterJson {
                        key: Some(p.key.clone()),
                        value: Some(p.value.clone()),
                    })
                    .collect(),
                force_pull_image: d.force_pull_image.then_some(true),
            }),
            hostname: c.hostname.clone(),
            network_infos: c
                .network_infos
                .iter()
                .map(|n| NetworkInfoJson {
                    name: n.name.clone(),
                })
                .collect(),
        }
    }

    /// Checks it as Mesos validates a task's container: a type is given, a
    /// DOCKER one names its image, every mapping and parameter is whole.
    pub fn into_internal(self) -> Result<mesos::ContainerInfo, FieldError> {
        let kind = required(self.kind, "type")?;
        let volumes = convert_list(self.volumes, "volumes", |v| {
            Ok(mesos::Volume {
                container_path: required(v.container_path, "container_path")?,
                host_path: v.host_path,
                mode: v.mode.unwrap_or(mesos::VolumeMode::Rw),
            })
        })?;
        let docker = self
            .docker
            .map(DockerInfoJson::into_internal)
            .transpose()
            .within("docker")?;
        if kind == mesos::ContainerType::Docker && docker.is_none() {
            return Err(FieldError::invalid(
                "docker",
                "a DOCKER container needs its DockerInfo",
            ));
        }
        let network_infos: Vec<mesos::NetworkInfo> = self
            .network_infos
            .into_iter()
            .map(|n| mesos::NetworkInfo { name: n.name })
            .collect();
        if docker
            .as_ref()
            .is_some_and(|d| d.network == mesos::DockerNetwork::User)
            && !network_infos.iter().any(|n| n.name.is_some())
        {
            return Err(FieldError::invalid(
                "network_infos",
                "a Docker USER network needs a network_infos entry with its name",
            ));
        }
        Ok(mesos::ContainerInfo {
            kind,
            docker,
            volumes,
            hostname: self.hostname,
            network_infos,
        })
    }
}

impl DockerInfoJson {
    fn into_internal(self) -> Result<mesos::DockerInfo, FieldError> {
        let image = required(self.image, "image")?;
        if image.trim().is_empty() {
            return Err(FieldError::invalid("image", "must not be empty"));
        }
        let port_mappings = convert_list(self.port_mappings, "port_mappings", |p| {
            let protocol = match p.protocol {
                Some(proto) if proto != "tcp" && proto != "udp" => {
                    return Err(FieldError::invalid(
                        "protocol",
                        format!("'{proto}' is neither tcp nor udp"),
                    ))
                }
                other => other,
            };
            Ok(mesos::PortMapping {
                host_port: required(p.host_port, "host_port")?,
                container_port: required(p.container_port, "container_port")?,
                protocol,
            })
        })?;
        let parameters = convert_list(self.parameters, "parameters", |p| {
            Ok(mesos::Parameter {
                key: required(p.key, "key")?,
                value: required(p.value, "value")?,
            })
        })?;
        Ok(mesos::DockerInfo {
            image,
            network: self.network,
            port_mappings,
            privileged: self.privileged,
            parameters,
            force_pull_image: self.force_pull_image.unwrap_or(false),
        })
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn a_user_network_is_named_by_network_infos() {
        let named: ContainerInfoJson = serde_json::from_value(json!({"type": "DOCKER",
            "docker": {"image": "i", "network": "USER"},
            "network_infos": [{"name": "backend", "labels": {"labels": []}}]}))
        .unwrap();
        let c = named.clone().into_internal().unwrap();
        assert_eq!(c.user_network(), Some("backend"));
        assert_eq!(
            serde_json::to_value(ContainerInfoJson::from_internal(&c)).unwrap()["network_infos"],
            json!([{"name": "backend"}])
        );
        let unnamed: ContainerInfoJson = serde_json::from_value(
            json!({"type": "DOCKER", "docker": {"image": "i", "network": "USER"}}),
        )
        .unwrap();
        let err = unnamed.into_internal().unwrap_err().to_string();
        assert!(err.contains("network_infos"), "{err}");
    }

    #[test]
    fn a_docker_container_renders_as_mesos_and_round_trips() {
        let c = mesos::ContainerInfo {
            kind: mesos::ContainerType::Docker,
            docker: Some(mesos::DockerInfo {
                network: mesos::DockerNetwork::Bridge,
                port_mappings: vec![mesos::PortMapping {
                    host_port: 31000,
                    container_port: 80,
                    protocol: Some("tcp".into()),
                }],
                parameters: vec![mesos::Parameter {
                    key: "link".into(),
                    value: "db:db".into(),
                }],
                force_pull_image: true,
                ..mesos::DockerInfo::new("busybox:latest")
            }),
            volumes: vec![mesos::Volume {
                container_path: "/data".into(),
                host_path: Some("/srv/data".into()),
                mode: mesos::VolumeMode::Ro,
            }],
            hostname: Some("web".into()),
            network_infos: Vec::new(),
        };
        let v1 = ContainerInfoJson::from_internal(&c);
        assert_eq!(
            serde_json::to_value(&v1).unwrap(),
            json!({"type": "DOCKER",
                   "volumes": [{"container_path": "/data", "host_path": "/srv/data", "mode": "RO"}],
                   "docker": {"image": "busybox:latest", "network": "BRIDGE",
                              "port_mappings": [{"host_port": 31000, "container_port": 80, "protocol": "tcp"}],
                              "privileged": false,
                              "parameters": [{"key": "link", "value": "db:db"}],
                              "force_pull_image": true},
                   "hostname": "web"})
        );
        assert_eq!(v1.into_internal().unwrap(), c);
    }

    #[test]
    fn defaults_apply_and_bad_containers_are_refused_with_their_path() {
        let read = |v: serde_json::Value| {
            serde_json::from_value::<ContainerInfoJson>(v)
                .unwrap()
                .into_internal()
        };
        let c = read(json!({"type": "DOCKER", "docker": {"image": "x"},
                            "volumes": [{"container_path": "/v"}]}))
        .unwrap();
        let docker = c.docker.unwrap();
        assert_eq!(docker.network, mesos::DockerNetwork::Host);
        assert!(!docker.privileged && !docker.force_pull_image);
        assert_eq!(c.volumes[0].mode, mesos::VolumeMode::Rw);
        let mesos_kind = read(json!({"type": "MESOS"})).unwrap();
        assert!(!mesos_kind.is_docker());

        let cases = [
            (json!({}), "missing required field 'type'"),
            (json!({"type": "WHAT"}), "missing required field 'type'"),
            (
                json!({"type": "DOCKER"}),
                "invalid field 'docker': a DOCKER container needs its DockerInfo",
            ),
            (
                json!({"type": "DOCKER", "docker": {}}),
                "missing required field 'docker.image'",
            ),
            (
                json!({"type": "DOCKER", "docker": {"image": "x",
                       "port_mappings": [{"host_port": 1}]}}),
                "missing required field 'docker.port_mappings[0].container_port'",
            ),
            (
                json!({"type": "DOCKER", "docker": {"image": "x",
                       "port_mappings": [{"host_port": 1, "container_port": 2, "protocol": "sctp"}]}}),
                "invalid field 'docker.port_mappings[0].protocol': 'sctp' is neither tcp nor udp",
            ),
            (
                json!({"type": "DOCKER", "docker": {"image": "x", "parameters": [{"key": "k"}]}}),
                "missing required field 'docker.parameters[0].value'",
            ),
            (
                json!({"type": "MESOS", "volumes": [{"mode": "RO"}]}),
                "missing required field 'volumes[0].container_path'",
            ),
        ];
        for (input, error) in cases {
            assert_eq!(
                read(input.clone()).unwrap_err().to_string(),
                error,
                "{input}"
            );
        }
    }
}
