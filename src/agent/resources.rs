//! The agent's total resources: what `--resources` says, completed by what
//! the machine has, as Mesos's `Containerizer::resources` does.
//!
//! Each of `cpus`, `mem`, `disk` and `ports` that the flag does not name is
//! detected (and given the default role):
//!
//! | resource | detected as | fallback |
//! |---|---|---|
//! | `cpus` | online cores | 1 |
//! | `mem` (MB) | total − 1 GB if total ≥ 2 GB, else total / 2 | 1024 |
//! | `disk` (MB) | size of the filesystem holding work_dir − 5 GB if ≥ 10 GB, else half | 10240 |
//! | `ports` | `[31000-32000]` | |
//!
//! Detection reads the machine into [`MachineFacts`] first, so the
//! arithmetic is tested with made-up machines. Attributes (`--attributes`)
//! are parsed here too, for the agent's `AgentInfo`.

use std::path::Path;

use wire::mesos::{parse_attributes, Attribute};
#[cfg(test)]
use wire::resources::Reservation;
use wire::resources::{Resource, ResourceError, Resources};

const MB: u64 = 1024 * 1024;
const GB: u64 = 1024 * MB;

/// Mesos's `DEFAULT_CPUS`.
pub const DEFAULT_CPUS: f64 = 1.0;
/// Mesos's `DEFAULT_MEM`, in MB.
pub const DEFAULT_MEM_MB: u64 = 1024;
/// Mesos's `DEFAULT_DISK`, in MB.
pub const DEFAULT_DISK_MB: u64 = 10 * 1024;
/// Mesos's `DEFAULT_PORTS`.
pub const DEFAULT_PORTS: (u64, u64) = (31000, 32000);

/// Why the agent's resources or attributes could not be read.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ResourcesError {
    #[error("bad --resources: {0}")]
    Resources(#[from] ResourceError),
    #[error("bad --attributes: {0}")]
    Attributes(String),
}

/// What detection found on the machine; `None` where it found nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct MachineFacts {
    /// Online processors.
    pub cpus: Option<u64>,
    /// Total memory, in bytes.
    pub mem_bytes: Option<u64>,
    /// Size of the filesystem holding the work_dir, in bytes.
    pub disk_bytes: Option<u64>,
}

impl MachineFacts {
    /// Reads this machine: `sysconf`, `/proc/meminfo`, and `statvfs` of
    /// `work_dir` (or of its nearest existing ancestor, as it may not exist
    /// yet).
    pub fn detect(work_dir: &Path) -> MachineFacts {
        MachineFacts {
            cpus: online_cpus(),
            mem_bytes: std::fs::read_to_string("/proc/meminfo")
                .ok()
                .and_then(|text| meminfo_total(&text)),
            disk_bytes: work_dir.ancestors().find_map(filesystem_size),
        }
    }
}

/// The agent's resources: `flag` (text or JSON form, `None` when not
/// given) plus, for each of `cpus`, `mem`, `disk` and `ports` it does not
/// name, what `facts` give, in `default_role`.
pub fn agent_resources(
    flag: Option<&str>,
    default_role: &str,
    facts: &MachineFacts,
) -> Result<Resources, ResourcesError> {
    let text = flag.unwrap_or("");
    let mut resources = Resources::parse(text, default_role)?;
    // Named, not merely non-empty: `cpus:0` means no cpus, not "detect"
    // (parsed resources drop zeros, so the names come from the text).
    let named = declared_names(text);
    let missing = |name: &str| !named.iter().any(|n| n == name);
    if missing("cpus") {
        let cpus = facts.cpus.map(|n| n as f64).unwrap_or(DEFAULT_CPUS);
        resources.add(Resource::scalar("cpus", cpus).with_role(default_role))?;
    }
    if missing("mem") {
        let mem = match facts.mem_bytes {
            Some(total) if total >= 2 * GB => (total - GB) / MB,
            Some(total) => total / 2 / MB,
            None => DEFAULT_MEM_MB,
        };
        resources.add(Resource::scalar("mem", mem as f64).with_role(default_role))?;
    }
    if missing("disk") {
        let disk = match facts.disk_bytes {
            Some(total) if total >= 10 * GB => (total - 5 * GB) / MB,
            Some(total) => total / 2 / MB,
            None => DEFAULT_DISK_MB,
        };
        resources.add(Resource::scalar("disk", disk as f64).with_role(default_role))?;
    }
    if missing("ports") {
        resources.add(Resource::ranges("ports", &[DEFAULT_PORTS]).with_role(default_role))?;
    }
    Ok(resources)
}

/// The agent's attributes from `--attributes` (`rack:a;zone:b`).
pub fn agent_attributes(flag: Option<&str>) -> Result<Vec<Attribute>, ResourcesError> {
    parse_attributes(flag.unwrap_or("")).map_err(ResourcesError::Attributes)
}

/// The resource names `--resources` mentions, in either form. Only called
/// on text that already parsed.
fn declared_names(text: &str) -> Vec<String> {
    let text = text.trim();
    if text.starts_with('[') {
        if let Ok(serde_json::Value::Array(items)) = serde_json::from_str(text) {
            return items
                .iter()
                .filter_map(|item| item.get("name")?.as_str().map(str::to_owned))
                .collect();
        }
    }
    text.split(';')
        .filter_map(|item| item.split_once(':'))
        .map(|(head, _)| {
            head.split_once('(')
                .map_or(head, |(name, _)| name)
                .trim()
                .to_owned()
        })
        .collect()
}

fn online_cpus() -> Option<u64> {
    // SAFETY: sysconf has no preconditions.
    let n = unsafe { libc::sysconf(libc::_SC_NPROCESSORS_ONLN) };
    u64::try_from(n).ok().filter(|&n| n > 0)
}

/// `MemTotal` of `/proc/meminfo`, in bytes.
fn meminfo_total(text: &str) -> Option<u64> {
    let line = text.lines().find(|l| l.starts_with("MemTotal:"))?;
    let mut fields = line.split_whitespace().skip(1);
    let value: u64 = fields.next()?.parse().ok()?;
    match fields.next() {
        Some("kB") | None => value.checked_mul(1024),
        Some(_) => None,
    }
}

/// Total size of the filesystem holding `path` (`f_blocks * f_frsize`, as
/// stout's `fs::size`).
// The field types differ between platforms; on some the conversions are no-ops.
#[allow(clippy::useless_conversion)]
fn filesystem_size(path: &Path) -> Option<u64> {
    use std::os::unix::ffi::OsStrExt;
    let c_path = std::ffi::CString::new(path.as_os_str().as_bytes()).ok()?;
    // SAFETY: statvfs is plain old data, filled by the call; the path is a
    // valid NUL-terminated string that outlives the call.
    let mut buf: libc::statvfs = unsafe { std::mem::zeroed() };
    if unsafe { libc::statvfs(c_path.as_ptr(), &mut buf) } != 0 {
        return None;
    }
    u64::from(buf.f_blocks).checked_mul(u64::from(buf.f_frsize))
}

/// What `checkpointed` was before the master's operations on it: every
/// dynamic reservation undone and every volume plain disk again, so that
/// it can be compared with what `--resources` says after a restart.
pub fn unconverted(checkpointed: &Resources) -> Resources {
    let mut out = Resources::new();
    for r in checkpointed.iter() {
        let mut r = r.clone();
        while r.is_dynamically_reserved() {
            r = r.pop_reservation();
        }
        if let Some(mut disk) = r.disk.take() {
            disk.persistence = None;
            disk.volume = None;
            if disk.source.is_some() {
                r.disk = Some(disk);
            }
        }
        // Plain entries of the same kind merge again; nothing can clash.
        let _ = out.add(r);
    }
    out
}

/// The total an agent restarts with: what it checkpointed (reservations
/// and volumes included) plus what `--resources` now adds to it. The
/// caller has checked that `flags` holds at least `unconverted(checkpointed)`.
pub fn with_checkpointed(flags: &Resources, checkpointed: &Resources) -> Resources {
    checkpointed.plus(&flags.minus(&unconverted(checkpointed)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use wire::resources::Value;

    fn machine(cpus: u64, mem_mb: u64, disk_mb: u64) -> MachineFacts {
        MachineFacts {
            cpus: Some(cpus),
            mem_bytes: Some(mem_mb * MB),
            disk_bytes: Some(disk_mb * MB),
        }
    }

    fn ports(r: &Resources) -> Option<(String, Value)> {
        r.iter()
            .find(|x| x.name == "ports")
            .map(|x| (x.role.clone(), x.value.clone()))
    }

    #[test]
    fn everything_not_given_is_detected_as_mesos_does() {
        // (cpus, mem MB, disk MB) -> (cpus, mem, disk)
        let cases = [
            ((8, 16384, 100 * 1024), (8.0, 15360.0, 95.0 * 1024.0)),
            ((2, 2048, 10 * 1024), (2.0, 1024.0, 5.0 * 1024.0)),
            ((1, 2047, 10 * 1024 - 1), (1.0, 1023.0, 5119.0)),
            ((4, 1000, 4000), (4.0, 500.0, 2000.0)),
        ];
        for ((c, m, d), (cpus, mem, disk)) in cases {
            let r = agent_resources(None, "*", &machine(c, m, d)).unwrap();
            assert_eq!(
                (r.scalar("cpus"), r.scalar("mem"), r.scalar("disk")),
                (cpus, mem, disk),
                "{c} cpus, {m} MB, {d} MB"
            );
            assert_eq!(
                ports(&r),
                Some(("*".to_owned(), Value::Ranges(vec![(31000, 32000)])))
            );
            assert!(r.iter().all(|x| x.role == "*"));
        }
    }

    #[test]
    fn memory_is_truncated_to_whole_megabytes() {
        let facts = MachineFacts {
            mem_bytes: Some(3 * GB + MB / 2),
            ..machine(1, 0, 0)
        };
        let r = agent_resources(None, "*", &facts).unwrap();
        assert_eq!(r.scalar("mem"), 2048.0);
    }

    #[test]
    fn undetectable_facts_fall_back_to_mesos_defaults() {
        let r = agent_resources(None, "*", &MachineFacts::default()).unwrap();
        assert_eq!(
            (r.scalar("cpus"), r.scalar("mem"), r.scalar("disk")),
            (1.0, 1024.0, 10240.0)
        );
    }

    #[test]
    fn given_resources_win_and_only_the_rest_is_detected() {
        let facts = machine(8, 16384, 100 * 1024);
        let r = agent_resources(Some("cpus:2;ports(*):[5000-5001];gpus:1"), "*", &facts).unwrap();
        assert_eq!(r.scalar("cpus"), 2.0);
        assert_eq!(r.scalar("gpus"), 1.0);
        assert_eq!(r.scalar("mem"), 15360.0);
        assert_eq!(
            ports(&r),
            Some(("*".to_owned(), Value::Ranges(vec![(5000, 5001)])))
        );
        // Zero is an answer, not a request to detect.
        let r = agent_resources(Some("cpus:0;mem(web):0"), "*", &facts).unwrap();
        assert_eq!((r.scalar("cpus"), r.scalar("mem")), (0.0, 0.0));
        assert_eq!(r.scalar("disk"), 95.0 * 1024.0);
    }

    #[test]
    fn the_json_form_is_accepted() {
        let json = r#"[{"name":"mem","type":"SCALAR","scalar":{"value":512},"role":"db"}]"#;
        let r = agent_resources(Some(json), "*", &machine(4, 4096, 20480)).unwrap();
        assert_eq!(r.scalar("mem"), 512.0);
        assert_eq!(r.iter().find(|x| x.name == "mem").unwrap().role, "db");
        assert_eq!(r.scalar("cpus"), 4.0);
    }

    #[test]
    fn detected_resources_take_the_default_role() {
        let r = agent_resources(Some("cpus(*):1"), "agents", &machine(4, 4096, 20480)).unwrap();
        let role = |name: &str| r.iter().find(|x| x.name == name).unwrap().role.clone();
        assert_eq!(role("cpus"), "*");
        assert_eq!(role("mem"), "agents");
        assert_eq!(role("ports"), "agents");
    }

    #[test]
    fn bad_flags_are_errors() {
        let facts = machine(1, 1, 1);
        assert!(matches!(
            agent_resources(Some("cpus:lots"), "*", &facts),
            Err(ResourcesError::Resources(_))
        ));
        assert!(matches!(
            agent_attributes(Some("rack")),
            Err(ResourcesError::Attributes(_))
        ));
        assert_eq!(agent_attributes(Some("rack:a;zone:b")).unwrap().len(), 2);
        assert!(agent_attributes(None).unwrap().is_empty());
    }

    #[test]
    fn meminfo_is_read_in_kilobytes() {
        let text = "MemFree: 1 kB\nMemTotal:       16384000 kB\n";
        assert_eq!(meminfo_total(text), Some(16384000 * 1024));
        assert_eq!(meminfo_total("MemFree: 1 kB\n"), None);
        assert_eq!(meminfo_total("MemTotal: many kB\n"), None);
    }

    #[test]
    fn real_detection_finds_this_machine() {
        let work = tempfile::tempdir().unwrap();
        let facts = MachineFacts::detect(&work.path().join("not/yet/created"));
        assert!(facts.cpus.is_some_and(|n| n > 0), "{facts:?}");
        assert!(facts.mem_bytes.is_some_and(|n| n > 0), "{facts:?}");
        assert!(facts.disk_bytes.is_some_and(|n| n > 0), "{facts:?}");
        let r = agent_resources(None, "*", &facts).unwrap();
        assert!(r.scalar("cpus") > 0.0 && r.scalar("mem") > 0.0 && r.scalar("disk") > 0.0);
    }

    #[test]
    fn a_restart_keeps_reservations_and_volumes_and_adds_new_flags() {
        let flags = Resources::parse("cpus:4;mem:1024;disk:100", "*").unwrap();
        let mut checkpointed = Resources::new();
        for r in Resources::parse("cpus:3;mem:1024;disk:60", "*")
            .unwrap()
            .iter()
        {
            checkpointed.add(r.clone()).unwrap();
        }
        for r in Resources::parse("cpus:1;disk:40", "*").unwrap().iter() {
            checkpointed
                .add(
                    r.clone()
                        .push_reservation(Reservation::dynamic("db", Some("ops"))),
                )
                .unwrap();
        }
        assert_eq!(unconverted(&checkpointed), flags);
        assert_eq!(with_checkpointed(&flags, &checkpointed), checkpointed);
        let more = Resources::parse("cpus:6;mem:1024;disk:100", "*").unwrap();
        let after = with_checkpointed(&more, &checkpointed);
        assert_eq!(after.scalar("cpus"), 6.0);
        assert_eq!(after.reserved_by_role()["db"].scalar("cpus"), 1.0);
        // Static reservations stay what the flag says.
        let statics = Resources::parse("cpus(web):2", "*").unwrap();
        assert_eq!(unconverted(&statics), statics);
    }
}
