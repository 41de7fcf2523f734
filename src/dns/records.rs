//! The record set: every A, AAAA and SRV record Mesos-DNS would serve for
//! a [`Cluster`], built from scratch (as Mesos-DNS's generator does) and
//! then swapped in whole. Pure: names, label sanitisation (RFC 1123 or
//! RFC 952), the canonical `{task}-{hash}-{agent}` names, IP sources and
//! ports. Names are lowercase FQDNs with the trailing dot.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use sha1::{Digest, Sha1};

use super::config::{Config, IpSource};
use super::state::{Cluster, Task};

/// One record of a task, for `/v1/enumerate`.
#[derive(Debug, Clone, PartialEq)]
pub struct EnumRecord {
    pub name: String,
    pub host: String,
    /// `A`, `AAAA` or `SRV`.
    pub rtype: &'static str,
}

#[derive(Debug, Clone, PartialEq)]
pub struct EnumTask {
    pub name: String,
    pub id: String,
    pub records: Vec<EnumRecord>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct EnumFramework {
    pub name: String,
    pub tasks: Vec<EnumTask>,
}

/// All records, by name.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RecordSet {
    pub a: HashMap<String, Vec<Ipv4Addr>>,
    pub aaaa: HashMap<String, Vec<Ipv6Addr>>,
    /// Name -> (target, port).
    pub srv: HashMap<String, Vec<(String, u16)>>,
    pub frameworks: Vec<EnumFramework>,
}

impl RecordSet {
    /// Whether `name` has any record.
    pub fn has_name(&self, name: &str) -> bool {
        self.a.contains_key(name) || self.aaaa.contains_key(name) || self.srv.contains_key(name)
    }

    /// Records in all: what the `records` gauge shows.
    pub fn len(&self) -> usize {
        self.a.values().map(Vec::len).sum::<usize>()
            + self.aaaa.values().map(Vec::len).sum::<usize>()
            + self.srv.values().map(Vec::len).sum::<usize>()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// An A record for IPv4 (and IPv4-mapped IPv6, as Go's `To4` reads
    /// it), AAAA for the rest.
    fn insert_ip(&mut self, name: &str, ip: IpAddr) -> bool {
        match ip.to_canonical() {
            IpAddr::V4(v4) => push_unique(self.a.entry(name.to_string()).or_default(), v4),
            IpAddr::V6(v6) => push_unique(self.aaaa.entry(name.to_string()).or_default(), v6),
        }
    }

    fn insert_srv(&mut self, name: &str, target: &str, port: u16) -> bool {
        push_unique(
            self.srv.entry(name.to_string()).or_default(),
            (target.to_string(), port),
        )
    }
}

fn push_unique<T: PartialEq>(list: &mut Vec<T>, value: T) -> bool {
    if list.contains(&value) {
        return false;
    }
    list.push(value);
    true
}

/// How labels are sanitised (`EnforceRFC952`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LabelSpec {
    Rfc1123,
    Rfc952,
}

impl LabelSpec {
    /// One label: ASCII lowercased, `a-z0-9` kept, `-._` made `-`, all else
    /// dropped; then trimmed and cut (63 chars, or 24 without leading
    /// digits for RFC 952).
    pub fn label(self, name: &str) -> String {
        let mapped: String = name
            .chars()
            .filter_map(|c| match c {
                'A'..='Z' => Some(c.to_ascii_lowercase()),
                'a'..='z' | '0'..='9' => Some(c),
                '-' | '.' | '_' => Some('-'),
                _ => None,
            })
            .collect();
        let (max, left): (usize, &[char]) = match self {
            LabelSpec::Rfc1123 => (63, &['-']),
            LabelSpec::Rfc952 => (24, &['-', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9']),
        };
        trim_cut(mapped.trim_start_matches(left), max)
    }

    /// A dotted name: each part a label, empty ones left out
    /// (`marathon.prod` stays two labels).
    pub fn domain_fragment(self, name: &str) -> String {
        name.split('.')
            .map(|part| self.label(part))
            .filter(|l| !l.is_empty())
            .collect::<Vec<_>>()
            .join(".")
    }
}

/// Cuts to `max` without a trailing `-`, filling the room a trimmed `-`
/// leaves from what follows the cut (as Mesos-DNS does). ASCII only.
fn trim_cut(label: &str, max: usize) -> String {
    let size = label.len().min(max);
    let (cut, rest) = label.split_at(size);
    let head = cut.trim_end_matches('-');
    if head.len() == size {
        return head.to_string();
    }
    let tail = rest.trim_start_matches('-');
    let room = size - head.len();
    let mut out = head.to_string();
    out.push_str(&tail[..tail.len().min(room)]);
    out
}

/// The first five characters of the z-base-32 form of the task id's
/// SHA-1: the `{hash}` in canonical names.
pub fn task_hash(task_id: &str) -> String {
    const ALPHABET: &[u8; 32] = b"ybndrfg8ejkmcpqxot1uwisza345h769";
    let digest = Sha1::digest(task_id.as_bytes());
    let bits = digest
        .iter()
        .take(4)
        .fold(0u32, |acc, b| (acc << 8) | u32::from(*b));
    (0..5)
        .map(|i| {
            let index = (bits >> (27 - 5 * i)) & 0x1f;
            ALPHABET.get(index as usize).map_or('y', |b| char::from(*b))
        })
        .collect()
}

/// The last `-`-separated part of an agent id, lowercased (`...-S16` ->
/// `s16`).
pub fn agent_tail(agent_id: &str) -> String {
    agent_id
        .rsplit('-')
        .next()
        .unwrap_or(agent_id)
        .to_ascii_lowercase()
}

/// What records are built from besides the cluster.
pub struct Inputs<'a> {
    pub config: &'a Config,
    /// Addresses the `SOAMname` name resolves to.
    pub self_ips: &'a [IpAddr],
}

/// Whether a task gets records: running, on a known agent, and (when
/// health is heeded) not reported unhealthy.
fn discoverable(task: &Task, cluster: &Cluster, config: &Config) -> bool {
    task.state == "TASK_RUNNING"
        && cluster.agents.contains_key(&task.agent_id)
        && !(config.withdraw_unhealthy && task.healthy == Some(false))
}

/// The task's IPs from the first source that has any.
fn task_ips(task: &Task, agent_ips: &[IpAddr], sources: &[IpSource]) -> Vec<IpAddr> {
    for source in sources {
        let ips = match source {
            IpSource::Netinfo => &task.netinfo_ips,
            IpSource::Mesos => &task.mesos_ips,
            IpSource::Docker => &task.docker_ips,
            IpSource::Host => agent_ips,
        };
        if !ips.is_empty() {
            return ips.to_vec();
        }
    }
    Vec::new()
}

/// Builds every record for `cluster`.
pub fn build(cluster: &Cluster, inputs: &Inputs<'_>) -> RecordSet {
    let config = inputs.config;
    let spec = if config.enforce_rfc952 {
        LabelSpec::Rfc952
    } else {
        LabelSpec::Rfc1123
    };
    let domain = &config.domain;
    let mut rs = RecordSet::default();

    for f in cluster.frameworks.values() {
        let name = format!("{}.{domain}.", spec.domain_fragment(&f.name));
        for ip in &f.ips {
            rs.insert_ip(&name, *ip);
        }
        if let (Some(port), false) = (f.port, f.ips.is_empty()) {
            rs.insert_srv(&format!("_framework._tcp.{name}"), &name, port);
        }
    }

    let slave = format!("slave.{domain}.");
    for agent in cluster.agents.values() {
        for ip in &agent.ips {
            rs.insert_ip(&slave, *ip);
        }
        if let (Some(port), false) = (agent.port, agent.ips.is_empty()) {
            rs.insert_srv(&format!("_slave._tcp.{domain}."), &slave, port);
        }
    }

    for ip in inputs.self_ips {
        rs.insert_ip(&config.soa_mname, *ip);
    }

    master_records(&mut rs, cluster.leader.as_deref(), &config.masters, domain);

    let mut by_framework: HashMap<&str, Vec<&Task>> = HashMap::new();
    for task in cluster.tasks.values() {
        by_framework
            .entry(task.framework_id.as_str())
            .or_default()
            .push(task);
    }
    for (id, f) in &cluster.frameworks {
        let mut e = EnumFramework {
            name: f.name.clone(),
            tasks: Vec::new(),
        };
        let fname = spec.domain_fragment(&f.name);
        for task in by_framework.remove(id.as_str()).unwrap_or_default() {
            if !discoverable(task, cluster, config) {
                continue;
            }
            let mut et = EnumTask {
                name: task.name.clone(),
                id: task.id.clone(),
                records: Vec::new(),
            };
            let agent_ips = cluster
                .agents
                .get(&task.agent_id)
                .map(|a| a.ips.as_slice())
                .unwrap_or(&[]);
            let mut t = TaskRecords {
                rs: &mut rs,
                task,
                spec,
                fname: &fname,
                tail: format!(".{domain}."),
                hash: task_hash(&task.id),
                agent: agent_tail(&task.agent_id),
                task_ips: task_ips(task, agent_ips, &config.ip_sources),
                agent_ips,
                enumerated: &mut et.records,
            };
            if task.discovery_name.is_empty() {
                t.insert(&spec.label(&task.name));
            } else {
                // As Mesos-DNS: once under DiscoveryInfo's name as given
                // (legacy), once sanitised.
                t.insert(&task.discovery_name.to_ascii_lowercase());
                t.insert(&spec.label(&task.discovery_name));
            }
            e.tasks.push(et);
        }
        rs.frameworks.push(e);
    }
    rs
}

/// `leader.`, `master.`, `master{N}.` and `_leader._tcp/_udp.` records.
fn master_records(rs: &mut RecordSet, leader: Option<&str>, masters: &[String], domain: &str) {
    let split = |address: &str| -> Option<(IpAddr, u16)> {
        let (ip, port) = address.rsplit_once(':')?;
        Some((
            ip.trim_matches(['[', ']']).parse().ok()?,
            port.parse().ok()?,
        ))
    };
    let all = format!("master.{domain}.");
    let leader_name = format!("leader.{domain}.");
    let leader = leader.and_then(|l| Some((l, split(l)?)));
    if let Some((_, (ip, port))) = leader {
        rs.insert_ip(&leader_name, ip);
        rs.insert_ip(&all, ip);
        rs.insert_srv(&format!("_leader._tcp.{domain}."), &leader_name, port);
        rs.insert_srv(&format!("_leader._udp.{domain}."), &leader_name, port);
    }
    let mut index = 0;
    let mut leader_listed = false;
    for m in masters {
        let Some((ip, _)) = split(m) else { continue };
        let is_leader = leader.is_some_and(|(l, _)| l == m);
        if !is_leader && !rs.insert_ip(&all, ip) {
            continue;
        }
        if is_leader && leader_listed {
            continue;
        }
        rs.insert_ip(&format!("master{index}.{domain}."), ip);
        index += 1;
        leader_listed |= is_leader;
    }
    if let (Some((_, (ip, _))), false) = (leader, leader_listed) {
        rs.insert_ip(&format!("master{index}.{domain}."), ip);
    }
}

/// One task's records under one task name.
struct TaskRecords<'a> {
    rs: &'a mut RecordSet,
    task: &'a Task,
    spec: LabelSpec,
    fname: &'a str,
    /// `.{domain}.`
    tail: String,
    hash: String,
    agent: String,
    task_ips: Vec<IpAddr>,
    agent_ips: &'a [IpAddr],
    enumerated: &'a mut Vec<EnumRecord>,
}

impl TaskRecords<'_> {
    fn ip(&mut self, name: String, ip: IpAddr) {
        let ip = ip.to_canonical();
        if self.rs.insert_ip(&name, ip) {
            self.enumerated.push(EnumRecord {
                name,
                host: ip.to_string(),
                rtype: if ip.is_ipv4() { "A" } else { "AAAA" },
            });
        }
    }

    fn srv(&mut self, name: String, target: &str, port: u16) {
        let name = name.to_ascii_lowercase();
        if self.rs.insert_srv(&name, target, port) {
            self.enumerated.push(EnumRecord {
                name,
                host: format!("{target}:{port}"),
                rtype: "SRV",
            });
        }
    }

    fn insert(&mut self, task_name: &str) {
        let (fname, tail) = (self.fname.to_string(), self.tail.clone());
        let canonical = format!("{task_name}-{}-{}.{fname}", self.hash, self.agent);
        let short = format!("{task_name}.{fname}");
        for ip in self.task_ips.clone() {
            self.ip(format!("{short}{tail}"), ip);
            self.ip(format!("{canonical}{tail}"), ip);
        }
        for ip in self.agent_ips {
            self.ip(format!("{short}.slave{tail}"), *ip);
            self.ip(format!("{canonical}.slave{tail}"), *ip);
        }
        let has_discovery = !self.task.discovery_name.is_empty();
        let agent_target = format!("{canonical}.slave{tail}");
        for port in self.task.ports.clone() {
            for proto in ["_tcp", "_udp"] {
                self.srv(
                    format!("_{task_name}.{proto}.{fname}.slave{tail}"),
                    &agent_target,
                    port,
                );
                if !has_discovery {
                    self.srv(
                        format!("_{task_name}.{proto}.{fname}{tail}"),
                        &agent_target,
                        port,
                    );
                }
            }
        }
        if !has_discovery {
            return;
        }
        let target = format!("{canonical}{tail}");
        for p in self.task.discovery_ports.clone() {
            let proto = self.spec.label(&p.protocol);
            let protos: Vec<String> = if proto.is_empty() {
                vec!["_tcp".into(), "_udp".into()]
            } else {
                vec![format!("_{proto}")]
            };
            let port_name = self.spec.label(&p.name);
            for proto in protos {
                self.srv(
                    format!("_{task_name}.{proto}.{fname}{tail}"),
                    &target,
                    p.number,
                );
                if !port_name.is_empty() {
                    self.srv(
                        format!("_{port_name}._{task_name}.{proto}.{fname}{tail}"),
                        &target,
                        p.number,
                    );
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::state::{fixture, DiscoveryPort};
    use super::*;

    #[test]
    fn labels_are_sanitised_as_mesos_dns_does() {
        let cases = [
            (LabelSpec::Rfc1123, "MySQL", "mysql"),
            (
                LabelSpec::Rfc1123,
                "apiserver.myservice",
                "apiserver-myservice",
            ),
            (LabelSpec::Rfc1123, "a_b c!d", "a-bcd"),
            (LabelSpec::Rfc1123, "--edge--", "edge"),
            (LabelSpec::Rfc1123, "9lives", "9lives"),
            (LabelSpec::Rfc952, "9lives", "lives"),
            (LabelSpec::Rfc952, "-1-2-web", "web"),
            (
                LabelSpec::Rfc952,
                "abcdefghijklmnopqrstuvwxyz",
                "abcdefghijklmnopqrstuvwx",
            ),
            // The cut lands after a '-': the room is filled from beyond.
            (
                LabelSpec::Rfc952,
                "abcdefghijklmnopqrstuvw-xyz",
                "abcdefghijklmnopqrstuvwx",
            ),
            (LabelSpec::Rfc1123, &"x".repeat(70), &"x".repeat(63)),
            (LabelSpec::Rfc1123, "ünïcode", "ncode"),
        ];
        for (spec, input, expected) in cases {
            assert_eq!(spec.label(input), expected, "{spec:?} {input}");
        }
        assert_eq!(
            LabelSpec::Rfc1123.domain_fragment("Marathon.Prod"),
            "marathon.prod"
        );
        assert_eq!(LabelSpec::Rfc1123.domain_fragment("a..b."), "a.b");
    }

    #[test]
    fn canonical_name_parts() {
        // z-base-32 of SHA-1: five characters of its alphabet, stable.
        let h = task_hash("mysql.6b3b1e2c-1111-11e5-8b6c-56847afe9799");
        assert_eq!(h.len(), 5);
        assert!(h
            .chars()
            .all(|c| "ybndrfg8ejkmcpqxot1uwisza345h769".contains(c)));
        assert_eq!(h, task_hash("mysql.6b3b1e2c-1111-11e5-8b6c-56847afe9799"));
        // sha1("") = da39a3ee...: 11011 01000 11100 11010 00111.
        assert_eq!(task_hash(""), "5eh48");
        assert_eq!(task_hash("mysql.1"), "b4n5h");
        assert_eq!(agent_tail("20150807-010101-1234-S16"), "s16");
        assert_eq!(agent_tail("plain"), "plain");
    }

    fn cluster(discovery: bool) -> Cluster {
        let mut task = fixture::task("mysql.1", "mysql", 31172);
        if discovery {
            task.discovery_name = "mysql".into();
            task.discovery_ports = vec![DiscoveryPort {
                number: 3306,
                name: "db".into(),
                protocol: "tcp".into(),
            }];
            task.netinfo_ips = vec![IpAddr::from([192, 168, 1, 5])];
        }
        fixture::cluster([task])
    }

    fn config() -> Config {
        Config {
            masters: vec!["10.0.0.9:5050".into(), "10.0.0.1:5050".into()],
            ..Config::default()
        }
    }

    fn build_for(c: &Cluster, config: &Config) -> RecordSet {
        build(
            c,
            &Inputs {
                config,
                self_ips: &[IpAddr::from([10, 0, 0, 100])],
            },
        )
    }

    #[test]
    fn task_without_discovery_info_gets_the_guides_names() {
        let rs = build_for(&cluster(false), &config());
        let canonical = format!("mysql-{}-s16.marathon.slave.mesos.", task_hash("mysql.1"));
        let agent = vec![Ipv4Addr::new(10, 0, 0, 2)];
        let table: [(&str, Option<&Vec<Ipv4Addr>>); 5] = [
            ("mysql.marathon.mesos.", Some(&agent)),
            ("mysql.marathon.slave.mesos.", Some(&agent)),
            (&canonical, Some(&agent)),
            ("marathon.mesos.", Some(&vec![Ipv4Addr::new(10, 0, 0, 3)])),
            ("slave.mesos.", Some(&agent)),
        ];
        for (name, expected) in table {
            assert_eq!(rs.a.get(name), expected, "{name}");
        }
        for name in [
            "_mysql._tcp.marathon.mesos.",
            "_mysql._udp.marathon.mesos.",
            "_mysql._tcp.marathon.slave.mesos.",
        ] {
            assert_eq!(rs.srv[name], vec![(canonical.clone(), 31172)], "{name}");
        }
        assert_eq!(
            rs.srv["_framework._tcp.marathon.mesos."],
            vec![("marathon.mesos.".to_string(), 4000)]
        );
        assert_eq!(
            rs.srv["_slave._tcp.mesos."],
            vec![("slave.mesos.".to_string(), 5051)]
        );
        assert_eq!(rs.frameworks[0].tasks[0].id, "mysql.1");
    }

    #[test]
    fn discovery_info_names_ports_and_ip_sources() {
        let rs = build_for(&cluster(true), &config());
        let hash = task_hash("mysql.1");
        let task_target = format!("mysql-{hash}-s16.marathon.mesos.");
        assert_eq!(
            rs.a["mysql.marathon.mesos."],
            vec![Ipv4Addr::new(192, 168, 1, 5)],
            "netinfo comes first"
        );
        assert_eq!(
            rs.a["mysql.marathon.slave.mesos."],
            vec![Ipv4Addr::new(10, 0, 0, 2)]
        );
        assert_eq!(
            rs.srv["_mysql._tcp.marathon.mesos."],
            vec![(task_target.clone(), 3306)]
        );
        assert_eq!(
            rs.srv["_db._mysql._tcp.marathon.mesos."],
            vec![(task_target, 3306)]
        );
        assert!(!rs.srv.contains_key("_mysql._udp.marathon.mesos."));
        assert_eq!(
            rs.srv["_mysql._udp.marathon.slave.mesos."],
            vec![(format!("mysql-{hash}-s16.marathon.slave.mesos."), 31172)]
        );
        let host_only = Config {
            ip_sources: vec![IpSource::Host],
            ..config()
        };
        let rs = build_for(&cluster(true), &host_only);
        assert_eq!(
            rs.a["mysql.marathon.mesos."],
            vec![Ipv4Addr::new(10, 0, 0, 2)]
        );
    }

    #[test]
    fn ipv6_addresses_make_aaaa_records() {
        let v6: IpAddr = "fd00::5".parse().unwrap();
        let mapped: IpAddr = "::ffff:192.168.1.6".parse().unwrap();
        let v4 = IpAddr::from([192, 168, 1, 5]);
        let agent_v4 = IpAddr::from([10, 0, 0, 2]);
        // netinfo IPs -> the task name's A and AAAA records.
        type Case = (&'static str, Vec<IpAddr>, Vec<IpAddr>, Vec<IpAddr>);
        let cases: [Case; 4] = [
            ("v6 only", vec![v6], vec![], vec![v6]),
            ("dual stack", vec![v4, v6], vec![v4], vec![v6]),
            (
                "v4-mapped is v4",
                vec![mapped],
                vec![IpAddr::from([192, 168, 1, 6])],
                vec![],
            ),
            ("none: the agent's", vec![], vec![agent_v4], vec![]),
        ];
        for (what, netinfo, a, aaaa) in cases {
            let mut task = fixture::task("web.1", "web", 31000);
            task.netinfo_ips = netinfo;
            let rs = build_for(&fixture::cluster([task]), &config());
            let canonical = format!("web-{}-s16.marathon.mesos.", task_hash("web.1"));
            for name in ["web.marathon.mesos.", canonical.as_str()] {
                let got_a: Vec<IpAddr> =
                    rs.a.get(name)
                        .into_iter()
                        .flatten()
                        .map(|ip| IpAddr::V4(*ip))
                        .collect();
                let got_aaaa: Vec<IpAddr> = rs
                    .aaaa
                    .get(name)
                    .into_iter()
                    .flatten()
                    .map(|ip| IpAddr::V6(*ip))
                    .collect();
                assert_eq!((&got_a, &got_aaaa), (&a, &aaaa), "{what}: {name}");
            }
            // The agent-side names keep the agent's address.
            assert_eq!(
                rs.a["web.marathon.slave.mesos."],
                vec![Ipv4Addr::new(10, 0, 0, 2)]
            );
            let enumerated: Vec<&str> = rs.frameworks[0].tasks[0]
                .records
                .iter()
                .filter(|r| r.name == "web.marathon.mesos.")
                .map(|r| r.rtype)
                .collect();
            let expected: Vec<&str> = a
                .iter()
                .map(|_| "A")
                .chain(aaaa.iter().map(|_| "AAAA"))
                .collect();
            assert_eq!(enumerated, expected, "{what}");
        }
        // An agent on IPv6: `slave.` and the `.slave.` names are AAAA.
        let mut c = fixture::cluster([fixture::task("web.1", "web", 31000)]);
        c.agents.values_mut().for_each(|a| a.ips = vec![v6]);
        let rs = build_for(&c, &config());
        for name in [
            "slave.mesos.",
            "web.marathon.slave.mesos.",
            "web.marathon.mesos.",
        ] {
            assert_eq!(
                rs.aaaa.get(name),
                Some(&vec!["fd00::5".parse::<Ipv6Addr>().unwrap()]),
                "{name}"
            );
            assert!(!rs.a.contains_key(name), "{name}");
        }
    }

    #[test]
    fn masters_leader_and_self() {
        let rs = build_for(&cluster(false), &config());
        assert_eq!(rs.a["leader.mesos."], vec![Ipv4Addr::new(10, 0, 0, 1)]);
        assert_eq!(
            rs.a["master.mesos."],
            vec![Ipv4Addr::new(10, 0, 0, 1), Ipv4Addr::new(10, 0, 0, 9)]
        );
        assert_eq!(rs.a["master0.mesos."], vec![Ipv4Addr::new(10, 0, 0, 9)]);
        assert_eq!(rs.a["master1.mesos."], vec![Ipv4Addr::new(10, 0, 0, 1)]);
        assert!(!rs.a.contains_key("master2.mesos."));
        assert_eq!(
            rs.srv["_leader._udp.mesos."],
            vec![("leader.mesos.".to_string(), 5050)]
        );
        assert_eq!(rs.a["ns1.mesos."], vec![Ipv4Addr::new(10, 0, 0, 100)]);
        // A leader that is not listed gets the next index.
        let unlisted = Config {
            masters: vec!["10.0.0.9:5050".into()],
            ..config()
        };
        let rs = build_for(&cluster(false), &unlisted);
        assert_eq!(rs.a["master1.mesos."], vec![Ipv4Addr::new(10, 0, 0, 1)]);
    }

    #[test]
    fn only_running_healthy_tasks_on_known_agents_have_records() {
        let key = ("F".to_string(), "mysql.1".to_string());
        type Change = fn(&mut Cluster);
        let cases: [(&str, Change, bool); 5] = [
            ("running", |_| {}, true),
            (
                "staging",
                |c| {
                    c.tasks
                        .values_mut()
                        .for_each(|t| t.state = "TASK_STAGING".into())
                },
                false,
            ),
            (
                "unhealthy",
                |c| c.tasks.values_mut().for_each(|t| t.healthy = Some(false)),
                false,
            ),
            (
                "healthy",
                |c| c.tasks.values_mut().for_each(|t| t.healthy = Some(true)),
                true,
            ),
            ("agent gone", |c| c.agents.clear(), false),
        ];
        for (what, change, expected) in cases {
            let mut c = cluster(false);
            change(&mut c);
            assert!(c.tasks.contains_key(&key));
            let rs = build_for(&c, &config());
            assert_eq!(
                rs.a.contains_key("mysql.marathon.mesos."),
                expected,
                "{what}"
            );
        }
        let mut c = cluster(false);
        c.tasks.values_mut().for_each(|t| t.healthy = Some(false));
        let heedless = Config {
            withdraw_unhealthy: false,
            ..config()
        };
        assert!(build_for(&c, &heedless)
            .a
            .contains_key("mysql.marathon.mesos."));
    }

    #[test]
    fn dotted_names_follow_mesos_dns() {
        let mut c = cluster(false);
        c.frameworks
            .values_mut()
            .for_each(|f| f.name = "Marathon.Prod".into());
        c.tasks
            .values_mut()
            .for_each(|t| t.name = "apiserver.myservice".into());
        let rs = build_for(&c, &config());
        assert!(rs
            .a
            .contains_key("apiserver-myservice.marathon.prod.mesos."));
        assert!(rs
            .srv
            .contains_key("_apiserver-myservice._tcp.marathon.prod.mesos."));
    }
}
