//! What a Docker container uses, read from the cgroups Docker made for it
//! (`<hierarchy>/<controller>/docker/<id>/` on cgroup v1, or
//! `<hierarchy>/docker/<id>/` on cgroup v2), to add to its executor's own
//! usage: the container's processes are not in the executor's session.
//!
//! Mesos counterpart: `DockerContainerizerProcess::usage` (which reads the
//! container's cgroups the same way).

use std::path::Path;

use crate::container::proc::Usage;

/// The usage of Docker container `id` under the cgroup `hierarchy`
/// (`/sys/fs/cgroup`), if its cgroups can be read.
pub fn of_container(hierarchy: &Path, id: &str) -> Option<Usage> {
    let v1_cpu = hierarchy.join("cpuacct/docker").join(id);
    if v1_cpu.is_dir() {
        let memory = hierarchy.join("memory/docker").join(id);
        let (user, system) = parse_cpuacct_stat(&read(&v1_cpu.join("cpuacct.stat"))?, ticks())?;
        let rss = parse_memory_stat(
            &read(&memory.join("memory.stat")).unwrap_or_default(),
            "total_rss",
        )
        .unwrap_or(0);
        return Some(Usage {
            processes: count_lines(&read(&v1_cpu.join("cgroup.procs")).unwrap_or_default()),
            threads: count_lines(&read(&v1_cpu.join("tasks")).unwrap_or_default()),
            cpus_user_time_secs: user,
            cpus_system_time_secs: system,
            mem_rss_bytes: rss,
            ..Usage::default()
        });
    }
    let v2 = hierarchy.join("docker").join(id);
    if v2.join("cgroup.procs").is_file() {
        let (user, system) = parse_cpu_stat_v2(&read(&v2.join("cpu.stat"))?)?;
        let anon = parse_memory_stat(&read(&v2.join("memory.stat")).unwrap_or_default(), "anon")
            .unwrap_or(0);
        return Some(Usage {
            processes: count_lines(&read(&v2.join("cgroup.procs")).unwrap_or_default()),
            threads: count_lines(&read(&v2.join("cgroup.threads")).unwrap_or_default()),
            cpus_user_time_secs: user,
            cpus_system_time_secs: system,
            mem_rss_bytes: anon,
            ..Usage::default()
        });
    }
    None
}

/// Adds `b` to `a`.
pub fn add(a: &mut Usage, b: &Usage) {
    a.processes += b.processes;
    a.threads += b.threads;
    a.cpus_user_time_secs += b.cpus_user_time_secs;
    a.cpus_system_time_secs += b.cpus_system_time_secs;
    a.mem_rss_bytes += b.mem_rss_bytes;
}

fn read(path: &Path) -> Option<String> {
    std::fs::read_to_string(path).ok()
}

fn ticks() -> f64 {
    // SAFETY: sysconf only reads configuration.
    (unsafe { libc::sysconf(libc::_SC_CLK_TCK) }).max(1) as f64
}

fn count_lines(text: &str) -> u32 {
    text.lines().filter(|l| !l.trim().is_empty()).count() as u32
}

fn field(text: &str, name: &str) -> Option<u64> {
    text.lines().find_map(|l| {
        let (k, v) = l.split_once(' ')?;
        (k == name).then(|| v.trim().parse().ok()).flatten()
    })
}

/// `cpuacct.stat` (`user N`, `system N` in clock ticks): seconds.
pub fn parse_cpuacct_stat(text: &str, ticks: f64) -> Option<(f64, f64)> {
    Some((
        field(text, "user")? as f64 / ticks,
        field(text, "system")? as f64 / ticks,
    ))
}

/// cgroup v2 `cpu.stat` (`user_usec`, `system_usec`): seconds.
pub fn parse_cpu_stat_v2(text: &str) -> Option<(f64, f64)> {
    Some((
        field(text, "user_usec")? as f64 / 1e6,
        field(text, "system_usec")? as f64 / 1e6,
    ))
}

/// One counter of `memory.stat`.
pub fn parse_memory_stat(text: &str, name: &str) -> Option<u64> {
    field(text, name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cgroup_files_are_read_as_usage() {
        assert_eq!(
            parse_cpuacct_stat("user 250\nsystem 50\n", 100.0),
            Some((2.5, 0.5))
        );
        assert_eq!(parse_cpuacct_stat("user 1\n", 100.0), None);
        assert_eq!(
            parse_cpu_stat_v2("usage_usec 3000000\nuser_usec 2000000\nsystem_usec 1000000\n"),
            Some((2.0, 1.0))
        );
        let stat = "cache 4096\nrss 8192\ntotal_rss 16384\n";
        assert_eq!(parse_memory_stat(stat, "total_rss"), Some(16384));
        assert_eq!(parse_memory_stat(stat, "rss"), Some(8192));
        assert_eq!(parse_memory_stat(stat, "anon"), None);
        assert_eq!(count_lines("1\n2\n\n"), 2);
    }

    #[test]
    fn a_v1_container_is_read_from_its_cgroups() {
        let root = tempfile::tempdir().unwrap();
        let cpu = root.path().join("cpuacct/docker/abc");
        let mem = root.path().join("memory/docker/abc");
        std::fs::create_dir_all(&cpu).unwrap();
        std::fs::create_dir_all(&mem).unwrap();
        std::fs::write(cpu.join("cpuacct.stat"), "user 0\nsystem 0\n").unwrap();
        std::fs::write(cpu.join("cgroup.procs"), "10\n11\n").unwrap();
        std::fs::write(cpu.join("tasks"), "10\n11\n12\n").unwrap();
        std::fs::write(mem.join("memory.stat"), "total_rss 4096\n").unwrap();
        let u = of_container(root.path(), "abc").unwrap();
        assert_eq!((u.processes, u.threads, u.mem_rss_bytes), (2, 3, 4096));
        assert!(of_container(root.path(), "other").is_none());
    }
}
