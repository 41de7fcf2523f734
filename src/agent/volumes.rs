//! Persistent volumes on the agent, as Mesos keeps them: each lives at
//! `<work_dir>/volumes/roles/<role>/<persistence id>`, made when the master
//! says the agent's total gained it (CREATE) and removed when it lost it
//! (DESTROY). A task whose resources include a volume sees it at
//! `<sandbox>/<container_path>`: a symlink, as Mesos's posix filesystem
//! isolator makes, or for a Docker container a `-v` mount there.
//!
//! Roles and ids come from frameworks and operators: a name that could
//! leave the volumes directory is refused.

use std::path::{Component, Path, PathBuf};

use wire::mesos::{ContainerInfo, Volume, VolumeMode};
use wire::resources::{self, Resource, Resources};

/// Why a volume cannot be made or shown.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VolumeError {
    #[error("invalid persistent volume path component '{0}'")]
    BadName(String),
    #[error("persistent volume '{id}': {message}")]
    Io { id: String, message: String },
}

/// `name` as one or more plain path components (a role may be `a/b`).
fn plain(name: &str, nested: bool) -> Result<&str, VolumeError> {
    let bad = || VolumeError::BadName(name.to_owned());
    if name.is_empty() || (!nested && name.contains('/')) {
        return Err(bad());
    }
    if Path::new(name)
        .components()
        .all(|c| matches!(c, Component::Normal(_)))
    {
        Ok(name)
    } else {
        Err(bad())
    }
}

/// Where the volume `id` of `role` lives on this agent.
pub fn volume_path(work_dir: &Path, role: &str, id: &str) -> Result<PathBuf, VolumeError> {
    Ok(work_dir
        .join("volumes")
        .join("roles")
        .join(plain(role, true)?)
        .join(plain(id, false)?))
}

/// The directory of a volume resource, if it is one.
fn path_of(work_dir: &Path, r: &Resource) -> Option<Result<PathBuf, VolumeError>> {
    let p = r.persistence()?;
    Some(volume_path(work_dir, &r.role, &p.id))
}

/// The volumes of `rs` with their `(role, id)`.
fn keys(rs: &Resources) -> Vec<(String, String)> {
    rs.persistent_volumes()
        .iter()
        .filter_map(|r| r.persistence().map(|p| (r.role.clone(), p.id.clone())))
        .collect()
}

/// Makes the directories of volumes `new` has and `old` has not, and
/// removes those of volumes `old` had and `new` has not. Returns what
/// failed (the rest is done).
pub fn sync(work_dir: &Path, old: &Resources, new: &Resources) -> Vec<VolumeError> {
    let (before, after) = (keys(old), keys(new));
    let mut errors = Vec::new();
    for (role, id) in after.iter().filter(|k| !before.contains(k)) {
        let made = volume_path(work_dir, role, id).and_then(|path| {
            std::fs::create_dir_all(&path).map_err(|e| VolumeError::Io {
                id: id.clone(),
                message: format!("cannot create {}: {e}", path.display()),
            })
        });
        match made {
            Ok(()) => tracing::info!(role, id, "created persistent volume"),
            Err(e) => errors.push(e),
        }
    }
    for (role, id) in before.iter().filter(|k| !after.contains(k)) {
        let removed =
            volume_path(work_dir, role, id).and_then(|path| match std::fs::remove_dir_all(&path) {
                Ok(()) => Ok(()),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
                Err(e) => Err(VolumeError::Io {
                    id: id.clone(),
                    message: format!("cannot remove {}: {e}", path.display()),
                }),
            });
        match removed {
            Ok(()) => tracing::info!(role, id, "destroyed persistent volume"),
            Err(e) => errors.push(e),
        }
    }
    errors
}

/// The container path and mode of a volume resource.
fn mount_of(r: &Resource) -> Option<(&str, VolumeMode)> {
    let v = r.disk.as_ref()?.volume.as_ref()?;
    let mode = match v.mode {
        resources::VolumeMode::Rw => VolumeMode::Rw,
        resources::VolumeMode::Ro => VolumeMode::Ro,
    };
    Some((v.container_path.as_str(), mode))
}

/// Shows each volume of `rs` in `sandbox` at its container path (a
/// symlink to the volume's directory, made if missing).
pub fn link(work_dir: &Path, sandbox: &Path, rs: &Resources) -> Result<(), VolumeError> {
    for r in rs.persistent_volumes().iter() {
        let (Some(path), Some((inside, _))) = (path_of(work_dir, r), mount_of(r)) else {
            continue;
        };
        let path = path?;
        let id = r.persistence().map(|p| p.id.clone()).unwrap_or_default();
        let io = |message: String| VolumeError::Io {
            id: id.clone(),
            message,
        };
        let at = sandbox.join(plain(inside, true)?);
        std::fs::create_dir_all(&path)
            .map_err(|e| io(format!("cannot create {}: {e}", path.display())))?;
        if std::fs::read_link(&at).is_ok_and(|target| target == path) {
            continue;
        }
        if let Some(parent) = at.parent() {
            std::fs::create_dir_all(parent)
                .map_err(|e| io(format!("cannot create {}: {e}", parent.display())))?;
        }
        std::os::unix::fs::symlink(&path, &at).map_err(|e| {
            io(format!(
                "cannot link {} to {}: {e}",
                at.display(),
                path.display()
            ))
        })?;
    }
    Ok(())
}

/// A Docker container's `ContainerInfo` with each volume of `rs` mounted
/// at its container path under the sandbox.
pub fn into_docker(
    work_dir: &Path,
    mut container: ContainerInfo,
    rs: &Resources,
) -> Result<ContainerInfo, VolumeError> {
    for r in rs.persistent_volumes().iter() {
        let (Some(path), Some((inside, mode))) = (path_of(work_dir, r), mount_of(r)) else {
            continue;
        };
        let path = path?;
        let id = r.persistence().map(|p| p.id.clone()).unwrap_or_default();
        std::fs::create_dir_all(&path).map_err(|e| VolumeError::Io {
            id,
            message: format!("cannot create {}: {e}", path.display()),
        })?;
        container.volumes.push(Volume {
            container_path: plain(inside, true)?.to_owned(),
            host_path: Some(path.display().to_string()),
            mode,
        });
    }
    Ok(container)
}

#[cfg(test)]
mod tests {
    use wire::resources::{DiskInfo, Persistence, Reservation};

    use super::*;

    fn volume(role: &str, id: &str, inside: &str) -> Resources {
        let r = Resource::scalar("disk", 8.0)
            .with_role("*")
            .push_reservation(Reservation::dynamic(role, None))
            .with_disk(Some(DiskInfo {
                persistence: Some(Persistence {
                    id: id.to_owned(),
                    principal: None,
                }),
                volume: Some(resources::Volume {
                    container_path: inside.to_owned(),
                    mode: resources::VolumeMode::Rw,
                }),
                source: None,
            }));
        let mut out = Resources::new();
        out.add(r).unwrap();
        out
    }

    #[test]
    fn volumes_come_and_go_with_the_total_and_show_in_sandboxes() {
        let dir = tempfile::tempdir().unwrap();
        let work = dir.path();
        let v = volume("db", "v1", "data");
        assert!(sync(work, &Resources::new(), &v).is_empty());
        let path = work.join("volumes/roles/db/v1");
        assert!(path.is_dir());
        std::fs::write(path.join("f"), "x").unwrap();
        let sandbox = work.join("sandbox");
        std::fs::create_dir_all(&sandbox).unwrap();
        link(work, &sandbox, &v).unwrap();
        // Linking twice (a second task of the executor) is fine.
        link(work, &sandbox, &v).unwrap();
        assert_eq!(
            std::fs::read_to_string(sandbox.join("data/f")).unwrap(),
            "x"
        );
        let docker = into_docker(
            work,
            ContainerInfo {
                kind: wire::mesos::ContainerType::Docker,
                docker: None,
                volumes: Vec::new(),
                hostname: None,
                network_infos: Vec::new(),
            },
            &v,
        )
        .unwrap();
        assert_eq!(docker.volumes[0].container_path, "data");
        assert_eq!(
            docker.volumes[0].host_path.as_deref(),
            Some(path.to_str().unwrap())
        );
        assert!(sync(work, &v, &Resources::new()).is_empty());
        assert!(!path.exists());
    }

    #[test]
    fn names_that_leave_the_directory_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        for (role, id, inside) in [
            ("db", "../x", "data"),
            ("db", "a/b", "data"),
            ("..", "v", "data"),
            ("db", "v", "../data"),
            ("db", "v", "/abs"),
        ] {
            let v = volume(role, id, inside);
            let sandbox = dir.path().join("s");
            let linked = link(dir.path(), &sandbox, &v);
            assert!(
                matches!(linked, Err(VolumeError::BadName(_))),
                "{role} {id} {inside}: {linked:?}"
            );
        }
    }
}
