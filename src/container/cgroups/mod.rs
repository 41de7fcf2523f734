//! A small cgroups library: where the hierarchies are mounted (cgroup v1,
//! one mount per controller, or the unified cgroup v2), making and
//! removing a cgroup, reading and writing its control files, listing its
//! processes, freezing and thawing it, and killing everything in it.
//!
//! Mesos counterpart: `linux/cgroups.cpp`. The launcher (`linux`) keeps
//! each container in a freezer cgroup of its own; the isolators set limits
//! in the cpu, memory and pids controllers; both read statistics here.
//! What the files say is parsed in [`stats`], without I/O.

pub mod stats;

use std::collections::{BTreeMap, BTreeSet};
use std::io;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Which cgroup interface a hierarchy speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Version {
    V1,
    V2,
}

/// Where each controller's hierarchy is mounted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Hierarchies {
    /// cgroup v1: a mount point per controller (`cpu` and `cpuacct` may
    /// share one).
    V1(BTreeMap<String, PathBuf>),
    /// cgroup v2: the one unified mount and the controllers it offers
    /// (`freezer` is always there, as `cgroup.freeze`).
    V2 {
        mount: PathBuf,
        controllers: BTreeSet<String>,
    },
}

/// Why the cgroups could not be found.
#[derive(Debug, thiserror::Error)]
pub enum CgroupError {
    #[error("cannot read /proc/self/mountinfo: {0}")]
    Mountinfo(#[source] io::Error),
    #[error("no cgroup hierarchy is mounted at or under {0}")]
    NotMounted(PathBuf),
}

/// One line of `/proc/self/mountinfo`: the fields used here.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mount {
    pub mount_point: PathBuf,
    pub fstype: String,
    pub super_options: Vec<String>,
}

/// The controllers a v1 mount's options may name.
const CONTROLLERS: &[&str] = &[
    "blkio",
    "cpu",
    "cpuacct",
    "cpuset",
    "devices",
    "freezer",
    "hugetlb",
    "memory",
    "net_cls",
    "net_prio",
    "perf_event",
    "pids",
    "rdma",
    "misc",
];

/// The mounts of a `/proc/<pid>/mountinfo` text (proc(5)): the mount
/// point is field 5, and after the optional fields and the `-` separator
/// come the type, the source and the superblock options. Octal escapes
/// (`\040` for a space) in mount points are undone. Lines that do not
/// parse are skipped.
pub fn parse_mountinfo(text: &str) -> Vec<Mount> {
    text.lines()
        .filter_map(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            let mount_point = fields.get(4)?;
            let dash = fields.iter().position(|f| *f == "-")?;
            let fstype = fields.get(dash + 1)?;
            let super_options = fields.get(dash + 3).copied().unwrap_or("");
            Some(Mount {
                mount_point: PathBuf::from(unescape(mount_point)),
                fstype: (*fstype).to_owned(),
                super_options: super_options.split(',').map(str::to_owned).collect(),
            })
        })
        .collect()
}

fn unescape(field: &str) -> String {
    let bytes = field.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        let escaped = (b == b'\\')
            .then(|| bytes.get(i + 1..i + 4))
            .flatten()
            .and_then(|d| std::str::from_utf8(d).ok())
            .and_then(|d| u8::from_str_radix(d, 8).ok());
        match escaped {
            Some(c) => {
                out.push(c);
                i += 4;
            }
            None => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

impl Hierarchies {
    /// The hierarchies at `base` (Mesos's `--cgroups_hierarchy`) as
    /// `mounts` list them: the cgroup2 mounted at `base` itself, else the
    /// v1 hierarchies mounted directly under it (a cgroup2 beside them,
    /// as `unified`, is not used).
    pub fn from_mounts(mounts: &[Mount], base: &Path) -> Option<Hierarchies> {
        if mounts
            .iter()
            .any(|m| m.mount_point == base && m.fstype == "cgroup2")
        {
            return Some(Hierarchies::V2 {
                mount: base.to_owned(),
                controllers: BTreeSet::new(),
            });
        }
        let mut v1 = BTreeMap::new();
        for m in mounts.iter().filter(|m| m.fstype == "cgroup") {
            if m.mount_point.parent() != Some(base) {
                continue;
            }
            for option in &m.super_options {
                if CONTROLLERS.contains(&option.as_str()) {
                    v1.insert(option.clone(), m.mount_point.clone());
                }
            }
        }
        (!v1.is_empty()).then_some(Hierarchies::V1(v1))
    }

    /// The hierarchies at `base` on this machine (from
    /// `/proc/self/mountinfo`; for v2, the controllers it offers from
    /// `cgroup.controllers`).
    pub fn discover(base: &Path) -> Result<Hierarchies, CgroupError> {
        let text =
            std::fs::read_to_string("/proc/self/mountinfo").map_err(CgroupError::Mountinfo)?;
        let mut found = Hierarchies::from_mounts(&parse_mountinfo(&text), base)
            .ok_or_else(|| CgroupError::NotMounted(base.to_owned()))?;
        if let Hierarchies::V2 { mount, controllers } = &mut found {
            let offered =
                std::fs::read_to_string(mount.join("cgroup.controllers")).unwrap_or_default();
            controllers.extend(offered.split_whitespace().map(str::to_owned));
        }
        Ok(found)
    }

    pub fn version(&self) -> Version {
        match self {
            Hierarchies::V1(_) => Version::V1,
            Hierarchies::V2 { .. } => Version::V2,
        }
    }

    /// Where `controller`'s hierarchy is, if this machine has it. On v2,
    /// `freezer` is the core's `cgroup.freeze` and `cpuacct` is `cpu`.
    pub fn mount(&self, controller: &str) -> Option<&Path> {
        match self {
            Hierarchies::V1(mounts) => mounts.get(controller).map(PathBuf::as_path),
            Hierarchies::V2 { mount, controllers } => {
                let name = if controller == "cpuacct" {
                    "cpu"
                } else {
                    controller
                };
                (name == "freezer" || controllers.contains(name)).then_some(mount.as_path())
            }
        }
    }

    /// `controller`'s cgroup `<root>/<name>` (`name` empty for the root
    /// itself), if the controller is there.
    pub fn cgroup(&self, controller: &str, root: &str, name: &str) -> Option<Cgroup> {
        let mut path = self.mount(controller)?.join(root);
        if !name.is_empty() {
            path.push(name);
        }
        Some(Cgroup {
            path,
            version: self.version(),
        })
    }

    /// Makes `<root>` in `controller`'s hierarchy, and on v2 lets its
    /// children use the controllers (`cgroup.subtree_control` of the mount
    /// and of the root), so that containers under it can be limited.
    pub fn create_root(&self, controller: &str, root: &str) -> io::Result<Cgroup> {
        let Some(cgroup) = self.cgroup(controller, root, "") else {
            return Err(io::Error::new(
                io::ErrorKind::NotFound,
                format!("no {controller} hierarchy"),
            ));
        };
        std::fs::create_dir_all(&cgroup.path)?;
        if let Hierarchies::V2 { mount, .. } = self {
            if controller != "freezer" {
                let name = if controller == "cpuacct" {
                    "cpu"
                } else {
                    controller
                };
                let mut dir = mount.clone();
                let enable = format!("+{name}");
                // Every level from the mount down to the root hands the
                // controller on.
                let _ = std::fs::write(dir.join("cgroup.subtree_control"), &enable);
                for part in Path::new(root).components() {
                    dir.push(part);
                    let _ = std::fs::write(dir.join("cgroup.subtree_control"), &enable);
                }
            }
        }
        Ok(cgroup)
    }
}

/// One cgroup: a directory in one hierarchy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cgroup {
    pub path: PathBuf,
    pub version: Version,
}

/// How long a freeze may take before processes are killed regardless.
const FREEZE_DEADLINE: Duration = Duration::from_millis(500);

impl Cgroup {
    pub fn exists(&self) -> bool {
        self.path.is_dir()
    }

    /// Makes the cgroup (and any missing parents). A parent being pruned
    /// meanwhile (see [`Cgroup::prune`]) is retried.
    pub fn create(&self) -> io::Result<()> {
        let mut tries = 0;
        loop {
            match std::fs::create_dir_all(&self.path) {
                Err(e) if e.kind() == io::ErrorKind::NotFound && tries < 3 => tries += 1,
                other => return other,
            }
        }
    }

    /// Removes this cgroup and up to `levels - 1` of its parents while
    /// they are empty: a root of containers goes with its last container.
    pub fn prune(&self, levels: usize) {
        let mut dir = Some(self.path.as_path());
        for _ in 0..levels {
            let Some(d) = dir else { return };
            if std::fs::remove_dir(d).is_err() {
                return;
            }
            dir = d.parent();
        }
    }

    /// Removes the cgroup, which must have no process and no child left.
    /// A cgroup already gone is not an error.
    pub fn remove(&self) -> io::Result<()> {
        match std::fs::remove_dir(&self.path) {
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
            other => other,
        }
    }

    pub fn read(&self, file: &str) -> io::Result<String> {
        std::fs::read_to_string(self.path.join(file))
    }

    pub fn write(&self, file: &str, value: &str) -> io::Result<()> {
        std::fs::write(self.path.join(file), value)
    }

    /// A flat-keyed control file (`memory.stat`, `cpu.stat`, ...).
    pub fn keyed(&self, file: &str) -> io::Result<BTreeMap<String, u64>> {
        self.read(file).map(|t| stats::flat_keyed(&t))
    }

    /// The processes in the cgroup (`cgroup.procs`).
    pub fn procs(&self) -> io::Result<Vec<i32>> {
        self.read("cgroup.procs").map(|t| stats::pids(&t))
    }

    /// How many threads are in the cgroup (`tasks` on v1,
    /// `cgroup.threads` on v2).
    pub fn threads(&self) -> io::Result<usize> {
        let file = match self.version {
            Version::V1 => "tasks",
            Version::V2 => "cgroup.threads",
        };
        self.read(file).map(|t| stats::pids(&t).len())
    }

    /// The cgroups directly below this one, by name.
    pub fn children(&self) -> Vec<String> {
        let Ok(entries) = std::fs::read_dir(&self.path) else {
            return Vec::new();
        };
        entries
            .filter_map(Result::ok)
            .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
            .filter_map(|e| e.file_name().into_string().ok())
            .collect()
    }

    /// Moves process `pid` into the cgroup.
    pub fn add(&self, pid: i32) -> io::Result<()> {
        self.write("cgroup.procs", &pid.to_string())
    }

    /// Stops every process in the cgroup (so that none forks while they
    /// are being killed), waiting a short while for the kernel to say it
    /// is done. Returns whether it did.
    pub fn freeze(&self) -> io::Result<bool> {
        let (file, value) = match self.version {
            Version::V1 => ("freezer.state", "FROZEN"),
            Version::V2 => ("cgroup.freeze", "1"),
        };
        self.write(file, value)?;
        let deadline = Instant::now() + FREEZE_DEADLINE;
        loop {
            if self.is_frozen()? {
                return Ok(true);
            }
            if Instant::now() >= deadline {
                return Ok(false);
            }
            std::thread::sleep(Duration::from_millis(1));
        }
    }

    fn is_frozen(&self) -> io::Result<bool> {
        Ok(match self.version {
            Version::V1 => self.read("freezer.state")?.trim() == "FROZEN",
            Version::V2 => self.keyed("cgroup.events")?.get("frozen") == Some(&1),
        })
    }

    /// Lets the processes of the cgroup run again.
    pub fn thaw(&self) -> io::Result<()> {
        match self.version {
            Version::V1 => self.write("freezer.state", "THAWED"),
            Version::V2 => self.write("cgroup.freeze", "0"),
        }
    }

    /// Sends `signal` to every process in the cgroup. Returns how many
    /// there were.
    pub fn signal_all(&self, signal: i32) -> io::Result<usize> {
        let pids = self.procs()?;
        for pid in &pids {
            // SAFETY: a plain system call on a pid read from the cgroup;
            // a pid that exited in between is ESRCH, ignored.
            unsafe {
                libc::kill(*pid, signal);
            }
        }
        Ok(pids.len())
    }

    /// Freezes the cgroup, SIGKILLs everything in it and thaws it, so that
    /// nothing escapes by forking while the pids are read. Returns how
    /// many processes were signalled.
    pub fn kill_all(&self) -> io::Result<usize> {
        if !self.exists() {
            return Ok(0);
        }
        if !self.can_freeze() {
            return self.signal_all(libc::SIGKILL);
        }
        let frozen = self.freeze().unwrap_or(false);
        let killed = self.signal_all(libc::SIGKILL);
        let thawed = self.thaw();
        if !frozen {
            tracing::debug!(cgroup = %self.path.display(), "the cgroup did not freeze in time; killed it regardless");
        }
        thawed?;
        killed
    }

    /// Whether this cgroup can be frozen (a v1 freezer cgroup, or any v2
    /// cgroup but the root).
    pub fn can_freeze(&self) -> bool {
        let file = match self.version {
            Version::V1 => "freezer.state",
            Version::V2 => "cgroup.freeze",
        };
        self.path.join(file).exists()
    }

    /// Kills everything in the cgroup until it is empty, then removes it:
    /// Mesos's `cgroups::destroy`. Gives up after `deadline`.
    pub async fn destroy(&self, deadline: Duration) -> io::Result<()> {
        let end = tokio::time::Instant::now() + deadline;
        loop {
            let left = match self.kill_all_async().await {
                Ok(_) => self.procs().map(|p| p.len()).unwrap_or(0),
                Err(e) if e.kind() == io::ErrorKind::NotFound => 0,
                Err(e) => return Err(e),
            };
            if left == 0 {
                match self.remove() {
                    Ok(()) => return Ok(()),
                    // Killed processes may still be leaving.
                    Err(e) if e.raw_os_error() == Some(libc::EBUSY) => {}
                    Err(e) => return Err(e),
                }
            }
            if tokio::time::Instant::now() >= end {
                return Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    format!("{} still holds processes", self.path.display()),
                ));
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    /// [`Cgroup::kill_all`], waiting for the freeze without blocking the
    /// thread.
    async fn kill_all_async(&self) -> io::Result<usize> {
        if !self.exists() {
            return Ok(0);
        }
        if !self.can_freeze() {
            return self.signal_all(libc::SIGKILL);
        }
        let (file, value) = match self.version {
            Version::V1 => ("freezer.state", "FROZEN"),
            Version::V2 => ("cgroup.freeze", "1"),
        };
        self.write(file, value)?;
        let frozen_by = tokio::time::Instant::now() + FREEZE_DEADLINE;
        while !self.is_frozen().unwrap_or(true) && tokio::time::Instant::now() < frozen_by {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        let killed = self.signal_all(libc::SIGKILL);
        self.thaw()?;
        killed
    }

    /// The blocking twin of [`Cgroup::destroy`], for cleanup outside a
    /// runtime.
    pub fn destroy_blocking(&self, deadline: Duration) -> io::Result<()> {
        let end = Instant::now() + deadline;
        loop {
            let left = match self.kill_all() {
                Ok(_) => self.procs().map(|p| p.len()).unwrap_or(0),
                Err(e) if e.kind() == io::ErrorKind::NotFound => 0,
                Err(e) => return Err(e),
            };
            if left == 0 {
                match self.remove() {
                    Ok(()) => return Ok(()),
                    Err(e) if e.raw_os_error() == Some(libc::EBUSY) => {}
                    Err(e) => return Err(e),
                }
            }
            if Instant::now() >= end {
                return Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    format!("{} still holds processes", self.path.display()),
                ));
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const V1: &str = "\
22 1 0:21 / /proc rw,nosuid - proc proc rw
31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
32 31 0:29 / /sys/fs/cgroup/cpu,cpuacct rw,relatime shared:9 - cgroup cgroup rw,cpu,cpuacct
34 31 0:31 / /sys/fs/cgroup/cpuset rw,relatime - cgroup cgroup rw,cpuset
35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
37 31 0:34 / /sys/fs/cgroup/freezer rw,relatime - cgroup cgroup rw,freezer
40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,xattr,name=systemd
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
50 23 0:40 / /elsewhere/memory rw - cgroup cgroup rw,memory
not a mountinfo line
";

    #[test]
    fn mountinfo_lines_parse_past_optional_fields_and_escapes() {
        let mounts = parse_mountinfo(
            "32 31 0:29 / /sys/fs/cgroup/cpu rw shared:9 master:2 - cgroup cgroup rw,cpu\n\
             60 1 0:50 / /mnt/with\\040space rw - ext4 /dev/sda1 rw\n\
             garbage\n",
        );
        assert_eq!(
            mounts,
            [
                Mount {
                    mount_point: "/sys/fs/cgroup/cpu".into(),
                    fstype: "cgroup".into(),
                    super_options: vec!["rw".into(), "cpu".into()],
                },
                Mount {
                    mount_point: "/mnt/with space".into(),
                    fstype: "ext4".into(),
                    super_options: vec!["rw".into()],
                },
            ]
        );
    }

    #[test]
    fn v1_controllers_are_found_under_the_hierarchy_only() {
        let found =
            Hierarchies::from_mounts(&parse_mountinfo(V1), Path::new("/sys/fs/cgroup")).unwrap();
        let combined = Path::new("/sys/fs/cgroup/cpu,cpuacct");
        assert_eq!(found.version(), Version::V1);
        assert_eq!(found.mount("cpu"), Some(combined));
        assert_eq!(found.mount("cpuacct"), Some(combined));
        assert_eq!(
            found.mount("memory"),
            Some(Path::new("/sys/fs/cgroup/memory"))
        );
        assert_eq!(found.mount("pids"), None);
        // `name=systemd` and `xattr` are not controllers.
        assert_eq!(found.mount("systemd"), None);
        assert_eq!(
            found.cgroup("freezer", "mesos", "c1").unwrap().path,
            Path::new("/sys/fs/cgroup/freezer/mesos/c1")
        );
        assert!(Hierarchies::from_mounts(&parse_mountinfo(V1), Path::new("/nowhere")).is_none());
        assert_eq!(
            Hierarchies::from_mounts(&parse_mountinfo(V1), Path::new("/elsewhere"))
                .unwrap()
                .mount("memory"),
            Some(Path::new("/elsewhere/memory"))
        );
    }

    #[test]
    fn a_cgroup2_at_the_hierarchy_is_v2() {
        let text = "30 23 0:26 / /sys/fs/cgroup rw,nosuid - cgroup2 cgroup2 rw,nsdelegate\n";
        let mut found =
            Hierarchies::from_mounts(&parse_mountinfo(text), Path::new("/sys/fs/cgroup")).unwrap();
        if let Hierarchies::V2 { controllers, .. } = &mut found {
            controllers.extend(["cpu".to_owned(), "memory".to_owned()]);
        }
        assert_eq!(found.version(), Version::V2);
        let root = Path::new("/sys/fs/cgroup");
        assert_eq!(found.mount("freezer"), Some(root));
        assert_eq!(found.mount("cpuacct"), Some(root));
        assert_eq!(found.mount("memory"), Some(root));
        assert_eq!(found.mount("pids"), None);
        assert_eq!(
            found.cgroup("memory", "mesos", "c1").unwrap().path,
            Path::new("/sys/fs/cgroup/mesos/c1")
        );
    }
}
