//! What a cgroup's control files say, parsed without I/O: the flat
//! `key value` files (`cpuacct.stat`, `cpu.stat`, `memory.stat`,
//! `memory.oom_control`, `memory.events`) and the pid lists
//! (`cgroup.procs`). The callers read the files; these functions only
//! turn their text into numbers, skipping lines they cannot read.

use std::collections::BTreeMap;

/// The `key value` lines of a flat-keyed control file, e.g. `cpuacct.stat`
/// (`user 12`, `system 3`) or `memory.stat`. Lines that are not a key and
/// a non-negative integer are skipped.
pub fn flat_keyed(text: &str) -> BTreeMap<String, u64> {
    text.lines()
        .filter_map(|line| {
            let mut words = line.split_whitespace();
            let key = words.next()?;
            let value = words.next()?.parse().ok()?;
            words.next().is_none().then(|| (key.to_owned(), value))
        })
        .collect()
}

/// The pids of a `cgroup.procs` (or `tasks`) file, one a line.
pub fn pids(text: &str) -> Vec<i32> {
    text.lines()
        .filter_map(|l| l.trim().parse().ok())
        .filter(|p| *p > 0)
        .collect()
}

/// A limit file's value: a number of bytes (or microseconds), or `max`
/// (cgroup v2) for none. v1's "no limit" is a huge number near
/// `i64::MAX`, kept as it is.
pub fn limit(text: &str) -> Option<u64> {
    let t = text.trim();
    if t == "max" {
        return None;
    }
    t.parse().ok()
}

/// Seconds of CPU from `cpuacct.stat` ticks (`USER_HZ` a second).
pub fn ticks_to_secs(ticks: u64, user_hz: u64) -> f64 {
    ticks as f64 / user_hz.max(1) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flat_keyed_files_parse_as_the_kernel_writes_them() {
        let cases: &[(&str, &[(&str, u64)])] = &[
            // cpuacct.stat (v1)
            ("user 250\nsystem 42\n", &[("system", 42), ("user", 250)]),
            // cpu.stat (v1)
            (
                "nr_periods 10\nnr_throttled 3\nthrottled_time 1500000000\n",
                &[
                    ("nr_periods", 10),
                    ("nr_throttled", 3),
                    ("throttled_time", 1_500_000_000),
                ],
            ),
            // memory.oom_control (v1)
            (
                "oom_kill_disable 1\nunder_oom 0\noom_kill 2\n",
                &[("oom_kill", 2), ("oom_kill_disable", 1), ("under_oom", 0)],
            ),
            // memory.events (v2) and garbage, negative and odd lines
            (
                "low 0\nhigh 0\nmax 7\noom 1\noom_kill 1\nbad -1\nthree words here\n\nalone\n",
                &[
                    ("high", 0),
                    ("low", 0),
                    ("max", 7),
                    ("oom", 1),
                    ("oom_kill", 1),
                ],
            ),
            ("", &[]),
        ];
        for (text, want) in cases {
            let want: BTreeMap<String, u64> =
                want.iter().map(|(k, v)| ((*k).to_owned(), *v)).collect();
            assert_eq!(flat_keyed(text), want, "{text:?}");
        }
    }

    #[test]
    fn memory_stat_gives_rss_and_cache() {
        let text = "cache 4096\nrss 1048576\nrss_huge 0\nmapped_file 0\n\
                    total_cache 8192\ntotal_rss 2097152\n";
        let stat = flat_keyed(text);
        assert_eq!(stat.get("total_rss"), Some(&2_097_152));
        assert_eq!(stat.get("rss"), Some(&1_048_576));
        assert_eq!(stat.get("swap"), None);
    }

    #[test]
    fn pid_lists_and_limits_parse() {
        assert_eq!(pids("12\n13\n\nx\n0\n-4\n 99 \n"), [12, 13, 99]);
        assert_eq!(limit("max\n"), None);
        assert_eq!(limit("67108864\n"), Some(64 << 20));
        assert_eq!(limit("nonsense"), None);
        assert_eq!(ticks_to_secs(250, 100), 2.5);
        assert_eq!(ticks_to_secs(1, 0), 1.0);
    }
}
