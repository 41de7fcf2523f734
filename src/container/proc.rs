//! Facts about processes, read from `/proc`: one field of a
//! `/proc/<pid>/stat` line, whether a pid is alive, when it started (which
//! with the pid names one process across pid reuse), the members of a
//! session, and what each session uses.
//!
//! The usage is what Mesos's `posix/cpu` and `posix/mem` isolators report
//! (its `mesos-usage`, the fields of `ResourceStatistics`): each container is
//! the session its executor leads, and its usage is the sum over the
//! processes of that session (or, under the cgroup launcher, of the
//! processes its cgroup lists: [`of_pids`]). The agent serves it at
//! `/monitor/statistics` and `/containers`; the cgroups isolators read the
//! same figures from the container's cgroups instead.

use std::collections::HashMap;

/// Field `n` (numbered as in proc(5), the state being field 3) of the
/// `/proc/<pid>/stat` line `text`: the command name before it may hold
/// spaces and parentheses, so fields are counted after its last `)`.
pub fn stat_field(text: &str, n: usize) -> Option<&str> {
    let (_, rest) = text.rsplit_once(')')?;
    rest.split_whitespace().nth(n.checked_sub(3)?)
}

/// Whether `pid` names a live process (a zombie counts as dead).
pub fn is_alive(pid: i32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|stat| stat_field(&stat, 3).map(|s| s != "Z" && s != "X"))
        .unwrap_or(false)
}

/// When process `pid` started, in clock ticks since boot (field 22 of
/// `/proc/<pid>/stat`): with the pid, it names one process, even after the
/// pid is recycled.
pub fn process_start_time(pid: i32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    stat_field(&stat, 22)?.parse().ok()
}

/// The processes whose session id is `sid` (from `/proc`; none elsewhere).
pub(super) fn session_members(sid: i32) -> Vec<i32> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(Result::ok)
        .filter_map(|e| e.file_name().to_str().and_then(|n| n.parse::<i32>().ok()))
        .filter(|pid| {
            std::fs::read_to_string(format!("/proc/{pid}/stat"))
                .ok()
                .and_then(|stat| stat_session(&stat))
                == Some(sid)
        })
        .collect()
}

/// The session id (field 6) of a `/proc/<pid>/stat` line.
fn stat_session(stat: &str) -> Option<i32> {
    stat_field(stat, 6)?.parse().ok()
}

/// One container's use of the machine: Mesos's `ResourceStatistics`.
/// The fields that are `None` are those only a cgroups or disk isolator
/// measures.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Usage {
    pub processes: u32,
    pub threads: u32,
    pub cpus_user_time_secs: f64,
    pub cpus_system_time_secs: f64,
    pub cpus_nr_periods: Option<u64>,
    pub cpus_nr_throttled: Option<u64>,
    pub cpus_throttled_time_secs: Option<f64>,
    pub mem_rss_bytes: u64,
    pub mem_total_bytes: Option<u64>,
    pub mem_limit_bytes: Option<u64>,
    pub disk_used_bytes: Option<u64>,
    pub disk_limit_bytes: Option<u64>,
}

/// The usage of the processes `pids` (a cgroup's members): only their own
/// `/proc/<pid>/stat` files are read.
pub fn of_pids(pids: &[i32]) -> Usage {
    let (ticks, page) = units();
    let mut usage = Usage::default();
    for pid in pids {
        let Some(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .ok()
            .and_then(|t| Stat::parse(&t))
        else {
            continue;
        };
        add(&mut usage, &stat, ticks, page);
    }
    usage
}

/// Clock ticks a second and bytes a page.
fn units() -> (f64, u64) {
    // SAFETY: sysconf only reads configuration.
    let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as f64;
    let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) }.max(1) as u64;
    (ticks, page)
}

fn add(usage: &mut Usage, stat: &Stat, ticks: f64, page: u64) {
    usage.processes += 1;
    usage.threads += stat.threads;
    usage.cpus_user_time_secs += stat.utime as f64 / ticks;
    usage.cpus_system_time_secs += stat.stime as f64 / ticks;
    usage.mem_rss_bytes += stat.rss_pages.saturating_mul(page);
}

/// The usage of each session in `sessions` (by the pid of its leader), from
/// one walk over `/proc`. Sessions with no live process are left out.
pub fn of_sessions(sessions: &[i32]) -> HashMap<i32, Usage> {
    let (ticks, page) = units();
    let mut out: HashMap<i32, Usage> = HashMap::new();
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return out;
    };
    for entry in entries.filter_map(Result::ok) {
        let name = entry.file_name();
        let Some(pid) = name.to_str().and_then(|n| n.parse::<i32>().ok()) else {
            continue;
        };
        let Ok(text) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        let Some(stat) = Stat::parse(&text) else {
            continue;
        };
        if !sessions.contains(&stat.session) {
            continue;
        }
        add(out.entry(stat.session).or_default(), &stat, ticks, page);
    }
    out
}

/// The fields of `/proc/<pid>/stat` used here.
#[derive(Debug, PartialEq)]
struct Stat {
    session: i32,
    utime: u64,
    stime: u64,
    threads: u32,
    rss_pages: u64,
}

impl Stat {
    /// Fields after the command name (which may hold spaces and parens),
    /// numbered as in proc(5): state is field 3.
    fn parse(text: &str) -> Option<Stat> {
        let field = |n: usize| stat_field(text, n);
        if matches!(field(3), Some("Z") | Some("X")) {
            return None;
        }
        Some(Stat {
            session: field(6)?.parse().ok()?,
            utime: field(14)?.parse().ok()?,
            stime: field(15)?.parse().ok()?,
            threads: field(20)?.parse().ok()?,
            rss_pages: field(24)?.parse().ok()?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn session_ids_are_read_past_odd_command_names() {
        let stat = "42 (a) b (c)) S 1 42 40 0 -1 4194560";
        assert_eq!(stat_session(stat), Some(40));
        assert_eq!(stat_session("garbage"), None);
    }

    #[test]
    fn stat_lines_parse_even_with_odd_command_names() {
        let line = "4242 (my (odd) prog) S 1 4242 4242 0 -1 4194304 100 0 0 0 \
                    250 50 0 0 20 0 3 0 12345 1000000 77 18446744073709551615";
        assert_eq!(
            Stat::parse(line),
            Some(Stat {
                session: 4242,
                utime: 250,
                stime: 50,
                threads: 3,
                rss_pages: 77,
            })
        );
        assert_eq!(Stat::parse("1 (zombie) Z 1 1 1 0 -1 0 0 0 0 0 0 0"), None);
        assert_eq!(Stat::parse("garbage"), None);
    }

    #[test]
    fn this_processs_own_session_is_measured() {
        // SAFETY: getsid only reads.
        let session = unsafe { libc::getsid(0) };
        let usage = of_sessions(&[session]);
        let mine = usage.get(&session).expect("this session");
        assert!(mine.processes >= 1 && mine.threads >= 1);
        assert!(mine.mem_rss_bytes > 0);
        assert!(of_sessions(&[-5]).is_empty());
        let me = of_pids(&[std::process::id() as i32, -3]);
        assert_eq!(me.processes, 1);
        assert!(me.mem_rss_bytes > 0);
    }
}
