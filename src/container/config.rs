//! The Mesos containerizer's settings from the agent's flags
//! (`--launcher`, `--isolation`, `--cgroups_hierarchy`, `--cgroups_root`,
//! `--cgroups_enable_cfs`, `--container_disk_watch_interval`,
//! `--enforce_container_disk_quota`), checked against this machine when
//! the agent starts: a launcher or isolator it cannot run is refused then,
//! with one line, rather than failing at the first task.

use std::path::{Component, Path};
use std::sync::Arc;
use std::time::Duration;

use super::cgroups::Hierarchies;

/// `--launcher`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LauncherKind {
    Posix,
    Linux,
}

/// One isolator `--isolation` names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IsolatorKind {
    PosixCpu,
    PosixMem,
    /// `disk/du`, or its older name `posix/disk`.
    DiskDu(&'static str),
    CgroupsCpu,
    CgroupsMem,
    CgroupsPids,
    /// Accepted, nothing to do: sandboxes are plain directories.
    FilesystemPosix,
}

impl IsolatorKind {
    /// The cgroup controllers it needs.
    fn controllers(self) -> &'static [&'static str] {
        match self {
            IsolatorKind::CgroupsCpu => &["cpu", "cpuacct"],
            IsolatorKind::CgroupsMem => &["memory"],
            IsolatorKind::CgroupsPids => &["pids"],
            _ => &[],
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            IsolatorKind::PosixCpu => "posix/cpu",
            IsolatorKind::PosixMem => "posix/mem",
            IsolatorKind::DiskDu(name) => name,
            IsolatorKind::CgroupsCpu => "cgroups/cpu",
            IsolatorKind::CgroupsMem => "cgroups/mem",
            IsolatorKind::CgroupsPids => "cgroups/pids",
            IsolatorKind::FilesystemPosix => "filesystem/posix",
        }
    }
}

/// The isolators a `--isolation` value names, in order, each once
/// (`cgroups/all` is cpu, mem and pids). Unknown names are an error.
pub fn parse_isolation(text: &str) -> Result<Vec<IsolatorKind>, String> {
    let mut out: Vec<IsolatorKind> = Vec::new();
    for name in text.split(',').map(str::trim).filter(|n| !n.is_empty()) {
        let kinds: &[IsolatorKind] = match name {
            "posix/cpu" => &[IsolatorKind::PosixCpu],
            "posix/mem" => &[IsolatorKind::PosixMem],
            "posix/disk" => &[IsolatorKind::DiskDu("posix/disk")],
            "disk/du" => &[IsolatorKind::DiskDu("disk/du")],
            "cgroups/cpu" => &[IsolatorKind::CgroupsCpu],
            "cgroups/mem" => &[IsolatorKind::CgroupsMem],
            "cgroups/pids" => &[IsolatorKind::CgroupsPids],
            "cgroups/all" => &[
                IsolatorKind::CgroupsCpu,
                IsolatorKind::CgroupsMem,
                IsolatorKind::CgroupsPids,
            ],
            "filesystem/posix" => &[IsolatorKind::FilesystemPosix],
            other => return Err(format!("unsupported isolator '{other}'")),
        };
        for kind in kinds {
            let duplicate = out.iter().any(|k| {
                k == kind
                    || matches!(
                        (k, kind),
                        (IsolatorKind::DiskDu(_), IsolatorKind::DiskDu(_))
                    )
            });
            if !duplicate {
                out.push(*kind);
            }
        }
    }
    Ok(out)
}

/// The prefix of the cgroups roots `mesos-local` gives its agents in
/// `work_dir` (`<prefix>-<n>`): the same across restarts in that work_dir,
/// apart from any other `mesos-local`'s.
pub fn local_cgroups_prefix(work_dir: &str) -> String {
    // FNV-1a: stable across builds and machines.
    let hash = work_dir.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    });
    format!("mesos-local-{hash:016x}")
}

/// What the flags ask of the Mesos containerizer, as given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Requested<'a> {
    /// `--launcher`, if given.
    pub launcher: Option<&'a str>,
    pub isolation: &'a str,
    pub hierarchy: &'a Path,
    pub root: &'a str,
    pub enable_cfs: bool,
    pub disk_watch_interval: Duration,
    pub enforce_disk_quota: bool,
}

/// What this machine offers the containerizer.
#[derive(Debug, Clone)]
pub struct Machine {
    pub root_user: bool,
    /// The hierarchies at `--cgroups_hierarchy`, if any are mounted.
    pub hierarchies: Option<Arc<Hierarchies>>,
}

impl Machine {
    /// This machine, looked at under `hierarchy`.
    pub fn probe(hierarchy: &Path) -> Machine {
        // SAFETY: geteuid only reads.
        let root_user = unsafe { libc::geteuid() } == 0;
        Machine {
            root_user,
            hierarchies: Hierarchies::discover(hierarchy).ok().map(Arc::new),
        }
    }
}

/// The Mesos containerizer's settings, checked.
#[derive(Debug, Clone)]
pub struct ContainerConfig {
    pub launcher: LauncherKind,
    pub isolators: Vec<IsolatorKind>,
    /// `--cgroups_root`: every container's cgroup is below it.
    pub root: String,
    pub enable_cfs: bool,
    pub disk_watch_interval: Duration,
    pub enforce_disk_quota: bool,
    /// The cgroup hierarchies, when the launcher or an isolator uses them.
    pub hierarchies: Option<Arc<Hierarchies>>,
}

impl Default for ContainerConfig {
    /// The posix launcher with the posix isolators: what needs nothing of
    /// the machine.
    fn default() -> ContainerConfig {
        ContainerConfig {
            launcher: LauncherKind::Posix,
            isolators: vec![IsolatorKind::PosixCpu, IsolatorKind::PosixMem],
            root: "mesos".to_owned(),
            enable_cfs: false,
            disk_watch_interval: Duration::from_secs(15),
            enforce_disk_quota: false,
            hierarchies: None,
        }
    }
}

/// A flag the machine cannot honour: its name and the one-line reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refused {
    pub flag: &'static str,
    pub reason: String,
}

fn refuse(flag: &'static str, reason: impl Into<String>) -> Refused {
    Refused {
        flag,
        reason: reason.into(),
    }
}

impl ContainerConfig {
    /// Checks `requested` against `machine`. The launcher defaults to
    /// `linux` for root on a machine with a freezer (v1) or a cgroup2,
    /// else `posix`.
    pub fn check(requested: &Requested<'_>, machine: &Machine) -> Result<ContainerConfig, Refused> {
        let isolators = parse_isolation(requested.isolation).map_err(|e| refuse("isolation", e))?;
        let root = requested.root.trim_matches('/');
        let root_ok = !root.is_empty()
            && Path::new(root)
                .components()
                .all(|c| matches!(c, Component::Normal(_)));
        if !root_ok {
            return Err(refuse(
                "cgroups_root",
                format!("'{}' is not a relative cgroup path", requested.root),
            ));
        }
        let hierarchy = requested.hierarchy.display();
        let freezer = machine
            .hierarchies
            .as_ref()
            .is_some_and(|h| h.mount("freezer").is_some());
        let launcher = match requested.launcher {
            None if machine.root_user && freezer => LauncherKind::Linux,
            None | Some("posix") => LauncherKind::Posix,
            Some("linux") if !machine.root_user => {
                return Err(refuse("launcher", "the linux launcher needs root"))
            }
            Some("linux") if !freezer => {
                return Err(refuse(
                    "launcher",
                    format!("the linux launcher needs a freezer cgroup (v1) or a cgroup2 at {hierarchy}, and there is none"),
                ))
            }
            Some("linux") => LauncherKind::Linux,
            Some(other) => {
                return Err(refuse(
                    "launcher",
                    format!("unknown launcher '{other}' (expected posix or linux)"),
                ))
            }
        };
        for kind in &isolators {
            for controller in kind.controllers() {
                if !machine.root_user {
                    return Err(refuse(
                        "isolation",
                        format!("the {} isolator needs root", kind.name()),
                    ));
                }
                let present = machine
                    .hierarchies
                    .as_ref()
                    .is_some_and(|h| h.mount(controller).is_some());
                if !present {
                    return Err(refuse(
                        "isolation",
                        format!(
                            "the {} isolator needs the {controller} cgroup controller, which is not mounted at {hierarchy}",
                            kind.name()
                        ),
                    ));
                }
            }
        }
        if requested.disk_watch_interval.is_zero() {
            return Err(refuse("container_disk_watch_interval", "must be positive"));
        }
        let uses_cgroups = launcher == LauncherKind::Linux
            || isolators.iter().any(|k| !k.controllers().is_empty());
        Ok(ContainerConfig {
            launcher,
            isolators,
            root: root.to_owned(),
            enable_cfs: requested.enable_cfs,
            disk_watch_interval: requested.disk_watch_interval,
            enforce_disk_quota: requested.enforce_disk_quota,
            hierarchies: machine.hierarchies.clone().filter(|_| uses_cgroups),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::container::cgroups::parse_mountinfo;

    fn v1_machine(root_user: bool, mountinfo: &str) -> Machine {
        Machine {
            root_user,
            hierarchies: Hierarchies::from_mounts(
                &parse_mountinfo(mountinfo),
                Path::new("/sys/fs/cgroup"),
            )
            .map(Arc::new),
        }
    }

    const ALL: &str = "\
37 31 0:34 / /sys/fs/cgroup/freezer rw - cgroup cgroup rw,freezer
32 31 0:29 / /sys/fs/cgroup/cpu,cpuacct rw - cgroup cgroup rw,cpu,cpuacct
35 31 0:32 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory
";
    const NO_MEMORY: &str = "37 31 0:34 / /sys/fs/cgroup/freezer rw - cgroup cgroup rw,freezer\n";

    fn requested<'a>(launcher: Option<&'a str>, isolation: &'a str) -> Requested<'a> {
        Requested {
            launcher,
            isolation,
            hierarchy: Path::new("/sys/fs/cgroup"),
            root: "mesos",
            enable_cfs: false,
            disk_watch_interval: Duration::from_secs(15),
            enforce_disk_quota: false,
        }
    }

    #[test]
    fn mesos_local_roots_follow_the_work_dir() {
        let a = local_cgroups_prefix("/tmp/mesos-local");
        assert_eq!(a, local_cgroups_prefix("/tmp/mesos-local"));
        assert_ne!(a, local_cgroups_prefix("/tmp/mesos-local2"));
        assert!(a.starts_with("mesos-local-") && a.len() == "mesos-local-".len() + 16);
    }

    #[test]
    fn isolation_names_are_mesos_names() {
        assert_eq!(
            parse_isolation("cgroups/cpu, cgroups/mem,posix/disk,disk/du,cgroups/cpu").unwrap(),
            [
                IsolatorKind::CgroupsCpu,
                IsolatorKind::CgroupsMem,
                IsolatorKind::DiskDu("posix/disk"),
            ]
        );
        assert_eq!(
            parse_isolation("cgroups/all").unwrap(),
            [
                IsolatorKind::CgroupsCpu,
                IsolatorKind::CgroupsMem,
                IsolatorKind::CgroupsPids
            ]
        );
        assert_eq!(
            parse_isolation("cgroups/gpu").unwrap_err(),
            "unsupported isolator 'cgroups/gpu'"
        );
    }

    #[test]
    fn the_launcher_and_isolators_are_checked_against_the_machine() {
        // root?, mounts, --launcher, --isolation, what comes of it
        type Case<'a> = (
            bool,
            &'a str,
            Option<&'a str>,
            &'a str,
            Result<LauncherKind, &'a str>,
        );
        let cases: &[Case] = &[
            (true, ALL, None, "posix/cpu", Ok(LauncherKind::Linux)),
            (false, ALL, None, "posix/cpu", Ok(LauncherKind::Posix)),
            (true, "", None, "posix/cpu", Ok(LauncherKind::Posix)),
            (true, "", Some("posix"), "posix/cpu", Ok(LauncherKind::Posix)),
            (true, ALL, Some("linux"), "cgroups/cpu,cgroups/mem", Ok(LauncherKind::Linux)),
            (false, ALL, Some("linux"), "posix/cpu", Err("launcher: the linux launcher needs root")),
            (true, "", Some("linux"), "posix/cpu", Err("launcher: the linux launcher needs a freezer cgroup (v1) or a cgroup2 at /sys/fs/cgroup, and there is none")),
            (true, ALL, Some("lxc"), "posix/cpu", Err("launcher: unknown launcher 'lxc' (expected posix or linux)")),
            (true, NO_MEMORY, None, "cgroups/mem", Err("isolation: the cgroups/mem isolator needs the memory cgroup controller, which is not mounted at /sys/fs/cgroup")),
            (false, ALL, Some("posix"), "cgroups/cpu", Err("isolation: the cgroups/cpu isolator needs root")),
            (true, ALL, None, "cgroups/pids", Err("isolation: the cgroups/pids isolator needs the pids cgroup controller, which is not mounted at /sys/fs/cgroup")),
        ];
        for (root_user, mounts, launcher, isolation, want) in cases {
            let got = ContainerConfig::check(
                &requested(*launcher, isolation),
                &v1_machine(*root_user, mounts),
            )
            .map(|c| c.launcher)
            .map_err(|r| format!("{}: {}", r.flag, r.reason));
            assert_eq!(
                got,
                want.map_err(str::to_owned),
                "{root_user} {launcher:?} {isolation}"
            );
        }
    }

    #[test]
    fn the_cgroups_root_is_a_relative_path() {
        let machine = v1_machine(true, ALL);
        for (root, ok) in [
            ("mesos", Some("mesos")),
            ("/mesos/", Some("mesos")),
            ("a/b", Some("a/b")),
            ("", None),
            ("../x", None),
            ("./a", None),
        ] {
            let mut r = requested(None, "posix/cpu");
            r.root = root;
            let got = ContainerConfig::check(&r, &machine).ok().map(|c| c.root);
            assert_eq!(got.as_deref(), ok, "{root}");
        }
    }
}
