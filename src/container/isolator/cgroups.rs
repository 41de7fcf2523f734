//! The cgroups isolators: `cgroups/cpu` (cpu shares, a CFS quota with
//! `--cgroups_enable_cfs`, CPU time and throttling from cpuacct and cpu),
//! `cgroups/mem` (a memory limit, out-of-memory kills reported as a
//! [`Limitation`], RSS and usage from the memory controller) and
//! `cgroups/pids` (the pids controller: counted, not limited). Each
//! container gets `<controller hierarchy>/<--cgroups_root>/<container id>`
//! (on v2 the one directory under the unified mount), which the leader
//! joins before exec.
//!
//! Mesos counterpart: `slave/containerizer/mesos/isolators/cgroups/`
//! (`subsystems/cpu.cpp`, `cpuacct.cpp`, `memory.cpp`, `pids.cpp`). As
//! there, the kernel's OOM killer is disabled in a container's memory
//! cgroup (v1) so that, when the limit is hit, the container stops in
//! place, the OOM notification arrives, and the agent kills it, knowing
//! why, before anything in it can report otherwise.

use std::collections::BTreeMap;
use std::io;
use std::sync::Arc;

use wire::ids::ContainerId;
use wire::resources::Resources;

use super::{bytes_text, megabytes, Isolator, LimitKind, Limitation, Watched};
use crate::container::cgroups::{stats, Cgroup, Hierarchies, Version};
use crate::container::proc::Usage;

/// Mesos's `CPU_SHARES_PER_CPU`.
pub const CPU_SHARES_PER_CPU: u64 = 1024;
/// Mesos's `MIN_CPU_SHARES` (the kernel's minimum).
pub const MIN_CPU_SHARES: u64 = 2;
/// Mesos's `CPU_CFS_PERIOD` in microseconds.
pub const CPU_CFS_PERIOD_US: u64 = 100_000;
/// Mesos's `MIN_CPU_CFS_QUOTA` in microseconds.
pub const MIN_CPU_CFS_QUOTA_US: u64 = 1_000;
/// Mesos's `MIN_MEMORY`.
pub const MIN_MEMORY_BYTES: u64 = 32 << 20;

/// `cpu.shares` for `cpus`: 1024 a CPU, at least 2.
pub fn cpu_shares(cpus: f64) -> u64 {
    ((CPU_SHARES_PER_CPU as f64 * cpus.max(0.0)) as u64).max(MIN_CPU_SHARES)
}

/// `cpu.cfs_quota_us` for `cpus` over one [`CPU_CFS_PERIOD_US`], at least
/// [`MIN_CPU_CFS_QUOTA_US`].
pub fn cfs_quota_us(cpus: f64) -> u64 {
    ((CPU_CFS_PERIOD_US as f64 * cpus.max(0.0)) as u64).max(MIN_CPU_CFS_QUOTA_US)
}

/// cgroup v2's `cpu.weight` (1..=10000) for v1 `shares` (2..=262144), as
/// the kernel's documentation maps one onto the other.
pub fn cpu_weight(shares: u64) -> u64 {
    let shares = shares.clamp(2, 262_144);
    1 + ((shares - 2) * 9999) / 262_142
}

/// The memory limit for `mem_mb`: at least [`MIN_MEMORY_BYTES`].
pub fn memory_limit(mem_mb: f64) -> u64 {
    megabytes(mem_mb).max(MIN_MEMORY_BYTES)
}

/// Where one controller keeps its containers' cgroups.
#[derive(Debug, Clone)]
struct Controller {
    /// `<hierarchy of the controller>/<root>`, removed with its last
    /// container.
    root: Cgroup,
    /// How many directories the root names.
    depth: usize,
    /// Where it is, to hand the controller down to the root on v2.
    hierarchies: Arc<Hierarchies>,
    controller: &'static str,
    root_name: String,
}

impl Controller {
    fn new(
        hierarchies: &Arc<Hierarchies>,
        controller: &'static str,
        root: &str,
    ) -> Option<Controller> {
        Some(Controller {
            root: hierarchies.cgroup(controller, root, "")?,
            depth: std::path::Path::new(root).components().count(),
            hierarchies: hierarchies.clone(),
            controller,
            root_name: root.to_owned(),
        })
    }

    fn of(&self, id: &ContainerId) -> Cgroup {
        Cgroup {
            path: self.root.path.join(&id.value),
            version: self.root.version,
        }
    }

    fn create(&self, id: &ContainerId) -> io::Result<Cgroup> {
        if self.root.version == Version::V2 {
            self.hierarchies
                .create_root(self.controller, &self.root_name)?;
        }
        let cgroup = self.of(id);
        cgroup.create()?;
        Ok(cgroup)
    }

    fn remove(&self, id: &ContainerId) {
        let cgroup = self.of(id);
        if let Err(e) = cgroup.destroy_blocking(std::time::Duration::from_secs(5)) {
            tracing::warn!(cgroup = %cgroup.path.display(), "cannot remove the container's cgroup: {e}");
        }
        self.root.prune(self.depth);
    }

    fn kill_orphans(&self, known: &[ContainerId]) {
        for name in self.root.children() {
            if !known.iter().any(|k| k.value == name) {
                self.remove(&ContainerId::new(name));
            }
        }
    }
}

/// Several controllers that may share one hierarchy (`cpu,cpuacct`, or
/// the v2 mount): each directory once.
fn distinct(controllers: Vec<Controller>) -> Vec<Controller> {
    let mut out: Vec<Controller> = Vec::new();
    for c in controllers {
        if !out.iter().any(|o| o.root.path == c.root.path) {
            out.push(c);
        }
    }
    out
}

/// `cgroups/cpu`.
#[derive(Debug)]
pub struct CgroupsCpu {
    cpu: Controller,
    cpuacct: Controller,
    enable_cfs: bool,
}

impl CgroupsCpu {
    /// `None` if the machine has no cpu or cpuacct controller.
    pub fn new(hierarchies: &Arc<Hierarchies>, root: &str, enable_cfs: bool) -> Option<CgroupsCpu> {
        Some(CgroupsCpu {
            cpu: Controller::new(hierarchies, "cpu", root)?,
            cpuacct: Controller::new(hierarchies, "cpuacct", root)?,
            enable_cfs,
        })
    }

    fn groups(&self) -> Vec<Controller> {
        distinct(vec![self.cpu.clone(), self.cpuacct.clone()])
    }

    fn set(&self, cgroup: &Cgroup, resources: &Resources) -> io::Result<()> {
        let cpus = resources.scalar("cpus");
        let shares = cpu_shares(cpus);
        match cgroup.version {
            Version::V1 => {
                cgroup.write("cpu.shares", &shares.to_string())?;
                if self.enable_cfs {
                    cgroup.write("cpu.cfs_period_us", &CPU_CFS_PERIOD_US.to_string())?;
                    cgroup.write("cpu.cfs_quota_us", &cfs_quota_us(cpus).to_string())?;
                }
            }
            Version::V2 => {
                cgroup.write("cpu.weight", &cpu_weight(shares).to_string())?;
                if self.enable_cfs {
                    cgroup.write(
                        "cpu.max",
                        &format!("{} {CPU_CFS_PERIOD_US}", cfs_quota_us(cpus)),
                    )?;
                }
            }
        }
        Ok(())
    }
}

impl Isolator for CgroupsCpu {
    fn name(&self) -> &'static str {
        "cgroups/cpu"
    }

    fn prepare(&self, id: &ContainerId, resources: &Resources) -> io::Result<Vec<Cgroup>> {
        let groups = self
            .groups()
            .iter()
            .map(|c| c.create(id))
            .collect::<io::Result<Vec<_>>>()?;
        self.set(&self.cpu.of(id), resources)?;
        Ok(groups)
    }

    fn update(&self, id: &ContainerId, resources: &Resources) -> io::Result<()> {
        self.set(&self.cpu.of(id), resources)
    }

    fn usage(&self, id: &ContainerId, usage: &mut Usage) {
        let cpu = self.cpu.of(id);
        let acct = self.cpuacct.of(id);
        let stat = cpu.keyed("cpu.stat").unwrap_or_default();
        cpu_usage(
            cpu.version,
            &stat,
            acct.keyed("cpuacct.stat").ok().as_ref(),
            usage,
        );
    }

    fn cleanup(&self, id: &ContainerId) {
        for c in self.groups() {
            c.remove(id);
        }
    }

    fn kill_orphans(&self, known: &[ContainerId]) {
        for c in self.groups() {
            c.kill_orphans(known);
        }
    }
}

/// Fills `usage`'s CPU figures from `cpu.stat` and (v1) `cpuacct.stat`.
fn cpu_usage(
    version: Version,
    cpu_stat: &BTreeMap<String, u64>,
    cpuacct_stat: Option<&BTreeMap<String, u64>>,
    usage: &mut Usage,
) {
    let get = |key: &str| cpu_stat.get(key).copied();
    usage.cpus_nr_periods = get("nr_periods");
    usage.cpus_nr_throttled = get("nr_throttled");
    match version {
        Version::V1 => {
            usage.cpus_throttled_time_secs = get("throttled_time").map(|ns| ns as f64 / 1e9);
            if let Some(acct) = cpuacct_stat {
                let hz = user_hz();
                if let Some(user) = acct.get("user") {
                    usage.cpus_user_time_secs = stats::ticks_to_secs(*user, hz);
                }
                if let Some(system) = acct.get("system") {
                    usage.cpus_system_time_secs = stats::ticks_to_secs(*system, hz);
                }
            }
        }
        Version::V2 => {
            usage.cpus_throttled_time_secs = get("throttled_usec").map(|us| us as f64 / 1e6);
            if let Some(user) = get("user_usec") {
                usage.cpus_user_time_secs = user as f64 / 1e6;
            }
            if let Some(system) = get("system_usec") {
                usage.cpus_system_time_secs = system as f64 / 1e6;
            }
        }
    }
}

fn user_hz() -> u64 {
    // SAFETY: sysconf only reads configuration.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    u64::try_from(hz).unwrap_or(100).max(1)
}

/// `cgroups/mem`.
#[derive(Debug)]
pub struct CgroupsMem {
    memory: Controller,
}

impl CgroupsMem {
    /// `None` if the machine has no memory controller.
    pub fn new(hierarchies: &Arc<Hierarchies>, root: &str) -> Option<CgroupsMem> {
        Some(CgroupsMem {
            memory: Controller::new(hierarchies, "memory", root)?,
        })
    }

    fn limit_file(version: Version) -> &'static str {
        match version {
            Version::V1 => "memory.limit_in_bytes",
            Version::V2 => "memory.max",
        }
    }

    /// Whether the container's cgroup says it ran out of memory.
    fn out_of_memory(cgroup: &Cgroup) -> bool {
        match cgroup.version {
            Version::V1 => cgroup.keyed("memory.oom_control").is_ok_and(|c| {
                c.get("under_oom") == Some(&1) || c.get("oom_kill").is_some_and(|n| *n > 0)
            }),
            Version::V2 => cgroup
                .keyed("memory.events")
                .is_ok_and(|e| e.get("oom_kill").is_some_and(|n| *n > 0)),
        }
    }

    /// Mesos's message: what was asked for, the most used, the statistics.
    fn limitation(cgroup: &Cgroup) -> Limitation {
        let limit = cgroup
            .read(Self::limit_file(cgroup.version))
            .ok()
            .and_then(|t| stats::limit(&t))
            .unwrap_or(0);
        let peak_file = match cgroup.version {
            Version::V1 => "memory.max_usage_in_bytes",
            Version::V2 => "memory.peak",
        };
        let peak = cgroup
            .read(peak_file)
            .ok()
            .and_then(|t| stats::limit(&t))
            .unwrap_or(limit);
        let statistics = cgroup.read("memory.stat").unwrap_or_default();
        Limitation {
            kind: LimitKind::Memory,
            message: format!(
                "Memory limit exceeded: Requested: {} Maximum Used: {}\n\nMEMORY STATISTICS: \n{}",
                bytes_text(limit),
                bytes_text(peak),
                statistics
            ),
        }
    }
}

impl Isolator for CgroupsMem {
    fn name(&self) -> &'static str {
        "cgroups/mem"
    }

    fn prepare(&self, id: &ContainerId, resources: &Resources) -> io::Result<Vec<Cgroup>> {
        let cgroup = self.memory.create(id)?;
        let limit = memory_limit(resources.scalar("mem")).to_string();
        match cgroup.version {
            Version::V1 => {
                cgroup.write("memory.soft_limit_in_bytes", &limit)?;
                cgroup.write("memory.limit_in_bytes", &limit)?;
                // The container stops in place at its limit, to be killed
                // by the agent with the reason known.
                cgroup.write("memory.oom_control", "1")?;
            }
            Version::V2 => {
                cgroup.write("memory.max", &limit)?;
                let _ = cgroup.write("memory.oom.group", "1");
            }
        }
        Ok(vec![cgroup])
    }

    fn update(&self, id: &ContainerId, resources: &Resources) -> io::Result<()> {
        let cgroup = self.memory.of(id);
        let file = Self::limit_file(cgroup.version);
        let wanted = memory_limit(resources.scalar("mem"));
        let current = cgroup.read(file).ok().and_then(|t| stats::limit(&t));
        // As Mesos: the hard limit only grows (lowering it below what is
        // in use would fail or trigger the OOM handling).
        if current.is_some_and(|c| c >= wanted) {
            return Ok(());
        }
        if cgroup.version == Version::V1 {
            cgroup.write("memory.soft_limit_in_bytes", &wanted.to_string())?;
        }
        cgroup.write(file, &wanted.to_string())
    }

    fn watch(&self, watched: &Watched) -> Option<tokio::task::JoinHandle<()>> {
        let cgroup = self.memory.of(&watched.id);
        let watched = watched.clone();
        Some(tokio::spawn(async move {
            match cgroup.version {
                Version::V1 => match oom_listener(&cgroup) {
                    Ok(listener) => {
                        // Woken by an OOM, or by the cgroup's removal.
                        while listener.notified().await.is_ok() {
                            if watched.ended() {
                                return;
                            }
                            if Self::out_of_memory(&cgroup) {
                                watched.limit_hit(Self::limitation(&cgroup));
                                return;
                            }
                        }
                    }
                    Err(e) => {
                        tracing::warn!(cgroup = %cgroup.path.display(), "cannot listen for OOM events: {e}")
                    }
                },
                Version::V2 => {
                    let mut tick = tokio::time::interval(std::time::Duration::from_millis(250));
                    while !watched.ended() {
                        tick.tick().await;
                        if Self::out_of_memory(&cgroup) {
                            watched.limit_hit(Self::limitation(&cgroup));
                            return;
                        }
                    }
                }
            }
        }))
    }

    fn finished(&self, id: &ContainerId) -> Option<Limitation> {
        let cgroup = self.memory.of(id);
        Self::out_of_memory(&cgroup).then(|| Self::limitation(&cgroup))
    }

    fn usage(&self, id: &ContainerId, usage: &mut Usage) {
        let cgroup = self.memory.of(id);
        let stat = cgroup.keyed("memory.stat").unwrap_or_default();
        let read = |file: &str| cgroup.read(file).ok().and_then(|t| stats::limit(&t));
        match cgroup.version {
            Version::V1 => {
                if let Some(rss) = stat.get("total_rss").or(stat.get("rss")) {
                    usage.mem_rss_bytes = *rss;
                }
                usage.mem_total_bytes = read("memory.usage_in_bytes");
            }
            Version::V2 => {
                if let Some(anon) = stat.get("anon") {
                    usage.mem_rss_bytes = *anon;
                }
                usage.mem_total_bytes = read("memory.current");
            }
        }
        usage.mem_limit_bytes = read(Self::limit_file(cgroup.version));
    }

    fn cleanup(&self, id: &ContainerId) {
        self.memory.remove(id);
    }

    fn kill_orphans(&self, known: &[ContainerId]) {
        self.memory.kill_orphans(known);
    }
}

/// A v1 OOM notification (`cgroup.event_control` with an eventfd on
/// `memory.oom_control`).
struct OomListener {
    eventfd: tokio::io::unix::AsyncFd<std::os::fd::OwnedFd>,
    /// Kept open while listening.
    _control: std::fs::File,
}

fn oom_listener(cgroup: &Cgroup) -> io::Result<OomListener> {
    use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
    let control = std::fs::File::open(cgroup.path.join("memory.oom_control"))?;
    // SAFETY: a plain system call; on success the descriptor is new and
    // owned by the OwnedFd alone.
    let raw = unsafe { libc::eventfd(0, libc::EFD_CLOEXEC | libc::EFD_NONBLOCK) };
    if raw == -1 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `raw` is a fresh descriptor nobody else owns.
    let eventfd = unsafe { OwnedFd::from_raw_fd(raw) };
    cgroup.write(
        "cgroup.event_control",
        &format!("{} {}", eventfd.as_raw_fd(), control.as_raw_fd()),
    )?;
    // SAFETY: the AsyncFd owns the descriptor, which stays open while it
    // is registered and is closed only when the AsyncFd drops.
    let eventfd = unsafe {
        tokio::io::unix::AsyncFd::register_with_interest(eventfd, tokio::io::Interest::READABLE)
    }?;
    Ok(OomListener {
        eventfd,
        _control: control,
    })
}

impl OomListener {
    /// Waits for the next notification.
    async fn notified(&self) -> io::Result<u64> {
        use std::os::fd::AsRawFd;
        loop {
            let mut guard = self.eventfd.readable().await?;
            let mut count = [0u8; 8];
            // SAFETY: reads 8 bytes into our buffer from our eventfd.
            let n = unsafe {
                libc::read(
                    guard.get_inner().as_raw_fd(),
                    count.as_mut_ptr().cast(),
                    count.len(),
                )
            };
            if n == 8 {
                return Ok(u64::from_ne_bytes(count));
            }
            let e = io::Error::last_os_error();
            if e.kind() != io::ErrorKind::WouldBlock {
                return Err(e);
            }
            guard.clear_ready();
        }
    }
}

/// `cgroups/pids`: the container's processes are counted in the pids
/// controller; no limit is set.
#[derive(Debug)]
pub struct CgroupsPids {
    pids: Controller,
}

impl CgroupsPids {
    /// `None` if the machine has no pids controller.
    pub fn new(hierarchies: &Arc<Hierarchies>, root: &str) -> Option<CgroupsPids> {
        Some(CgroupsPids {
            pids: Controller::new(hierarchies, "pids", root)?,
        })
    }
}

impl Isolator for CgroupsPids {
    fn name(&self) -> &'static str {
        "cgroups/pids"
    }

    fn prepare(&self, id: &ContainerId, _: &Resources) -> io::Result<Vec<Cgroup>> {
        Ok(vec![self.pids.create(id)?])
    }

    fn usage(&self, id: &ContainerId, usage: &mut Usage) {
        let current = self
            .pids
            .of(id)
            .read("pids.current")
            .ok()
            .and_then(|t| t.trim().parse::<u32>().ok());
        if let Some(n) = current {
            usage.threads = usage.threads.max(n);
        }
    }

    fn cleanup(&self, id: &ContainerId) {
        self.pids.remove(id);
    }

    fn kill_orphans(&self, known: &[ContainerId]) {
        self.pids.kill_orphans(known);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_limits_follow_mesos() {
        let cases = [
            // cpus, shares, quota
            (1.0, 1024, 100_000),
            (0.5, 512, 50_000),
            (2.25, 2304, 225_000),
            (0.001, 2, 1_000),
            (0.0, 2, 1_000),
            (-1.0, 2, 1_000),
        ];
        for (cpus, shares, quota) in cases {
            assert_eq!(
                (cpu_shares(cpus), cfs_quota_us(cpus)),
                (shares, quota),
                "{cpus}"
            );
        }
        assert_eq!(cpu_weight(2), 1);
        assert_eq!(cpu_weight(262_144), 10_000);
        assert_eq!(cpu_weight(1024), 39);
    }

    #[test]
    fn memory_limits_have_a_floor() {
        assert_eq!(memory_limit(64.0), 64 << 20);
        assert_eq!(memory_limit(16.0), 32 << 20);
        assert_eq!(memory_limit(0.0), 32 << 20);
    }

    #[test]
    fn cpu_figures_come_from_cpu_stat_and_cpuacct_stat() {
        let v1_stat =
            stats::flat_keyed("nr_periods 40\nnr_throttled 4\nthrottled_time 2500000000\n");
        let acct = stats::flat_keyed("user 300\nsystem 50\n");
        let mut usage = Usage::default();
        cpu_usage(Version::V1, &v1_stat, Some(&acct), &mut usage);
        let hz = user_hz() as f64;
        assert_eq!(usage.cpus_nr_periods, Some(40));
        assert_eq!(usage.cpus_nr_throttled, Some(4));
        assert_eq!(usage.cpus_throttled_time_secs, Some(2.5));
        assert_eq!(usage.cpus_user_time_secs, 300.0 / hz);
        assert_eq!(usage.cpus_system_time_secs, 50.0 / hz);

        let v2_stat = stats::flat_keyed(
            "usage_usec 3000000\nuser_usec 2000000\nsystem_usec 1000000\n\
             nr_periods 7\nnr_throttled 1\nthrottled_usec 500000\n",
        );
        let mut usage = Usage::default();
        cpu_usage(Version::V2, &v2_stat, None, &mut usage);
        assert_eq!(
            (
                usage.cpus_user_time_secs,
                usage.cpus_system_time_secs,
                usage.cpus_throttled_time_secs,
                usage.cpus_nr_periods
            ),
            (2.0, 1.0, Some(0.5), Some(7))
        );
    }
}
