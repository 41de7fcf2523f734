//! Helpers for the mesos-dns tests: the deployment guide's config, a
//! `mesos-dns` daemon on free ports, and DNS queries three ways (in
//! process with hickory-proto, `dig`, and dnspython in the venv).
//! `tests/dns.rs` includes it beside `common` rather than through it:
//! the benches share `common` and have no hickory-proto.

use std::net::{Ipv4Addr, SocketAddr, TcpListener, UdpSocket};
use std::path::Path;
use std::process::Command;
use std::str::FromStr;
use std::time::Duration;

use hickory_proto::op::{Message, Query, ResponseCode};
use hickory_proto::rr::{Name, RData, RecordType};
use serde_json::Value;

use crate::common::cluster::Daemon;

pub const MESOS_DNS: &str = env!("CARGO_BIN_EXE_mesos-dns");

/// The deployment guide's config, as written.
pub const GUIDE_CONFIG: &str = r#"{"zk": "zk://192.168.122.48:2181/mesos", "masters": ["192.168.122.48:5050"], "refreshSeconds": 60, "ttl": 60,
 "domain": "mesos", "port": 53, "resolvers": ["8.8.8.8"], "timeout": 5, "listener": "0.0.0.0",
 "SOAMname": "ns1.mesos", "SOARname": "root.ns1.mesos", "SOARefresh": 60, "SOARetry": 600, "SOAExpire": 86400,
 "SOAMinttl": 60, "dnson": true, "httpon": true, "httpport": 8125, "externalon": true,
 "IPSources": ["netinfo", "mesos", "host"], "EnforceRFC952": false}"#;

/// The guide's config with `changes` (key -> value, `null` removes) over it.
pub fn guide_config(changes: &[(&str, Value)]) -> Value {
    let mut config: Value = serde_json::from_str(GUIDE_CONFIG).expect("the guide's config is JSON");
    for (key, value) in changes {
        if value.is_null() {
            config.as_object_mut().map(|o| o.remove(*key));
        } else {
            config[*key] = value.clone();
        }
    }
    config
}

/// A port free for both UDP and TCP on loopback.
pub fn free_dns_port() -> u16 {
    loop {
        let udp = UdpSocket::bind("127.0.0.1:0").expect("udp");
        let port = udp.local_addr().expect("address").port();
        if TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
}

/// A running `mesos-dns`.
pub struct MesosDns {
    pub daemon: Daemon,
    /// Where it answers DNS.
    pub dns: SocketAddr,
}

impl MesosDns {
    /// Writes `config` (its `port` set to a free one and `httpport` to 0
    /// unless given, listening on loopback) under `dir` and starts
    /// `mesos-dns -v=1 -config=...`.
    pub fn start(mut config: Value, dir: &Path, name: &str) -> MesosDns {
        let port = free_dns_port();
        config["port"] = port.into();
        config["listener"] = "127.0.0.1".into();
        config["HTTPListener"] = "127.0.0.1".into();
        config["httpport"] = 0.into();
        let path = dir.join(format!("{name}.json"));
        std::fs::write(&path, config.to_string()).expect("write config");
        let daemon = Daemon::start(
            name,
            Path::new(MESOS_DNS),
            &["-v=1".into(), format!("-config={}", path.display())],
            dir.join(format!("{name}.log")),
        );
        MesosDns {
            daemon,
            dns: SocketAddr::from(([127, 0, 0, 1], port)),
        }
    }

    pub fn http(&self) -> SocketAddr {
        self.daemon.address()
    }
}

/// One query over UDP; `None` when nothing (decodable) came back in time.
pub fn query(dns: SocketAddr, name: &str, qtype: RecordType) -> Option<Message> {
    let socket = UdpSocket::bind("127.0.0.1:0").ok()?;
    socket
        .set_read_timeout(Some(Duration::from_millis(500)))
        .ok()?;
    let mut m = Message::new();
    m.set_id(fastrand::u16(..))
        .set_recursion_desired(true)
        .add_query(Query::query(Name::from_str(name).ok()?, qtype));
    socket.send_to(&m.to_vec().ok()?, dns).ok()?;
    let mut buf = vec![0u8; 65535];
    let n = socket.recv(&mut buf).ok()?;
    Message::from_vec(buf.get(..n)?).ok()
}

/// The A records of an answer.
pub fn a_records(m: &Message) -> Vec<Ipv4Addr> {
    m.answers()
        .iter()
        .filter_map(|r| match r.data() {
            RData::A(a) => Some(a.0),
            _ => None,
        })
        .collect()
}

/// The SRV records of an answer, as (target, port).
pub fn srv_records(m: &Message) -> Vec<(String, u16)> {
    m.answers()
        .iter()
        .filter_map(|r| match r.data() {
            RData::SRV(s) => Some((s.target().to_ascii(), s.port())),
            _ => None,
        })
        .collect()
}

/// Whether `name` has A records now.
pub fn resolves(dns: SocketAddr, name: &str) -> bool {
    query(dns, name, RecordType::A)
        .is_some_and(|m| m.response_code() == ResponseCode::NoError && !m.answers().is_empty())
}

/// `dig @127.0.0.1 -p PORT +short NAME TYPE`'s output lines.
pub fn dig(dns: SocketAddr, name: &str, qtype: &str) -> Vec<String> {
    let out = Command::new("dig")
        .args([
            &format!("@{}", dns.ip()),
            "-p",
            &dns.port().to_string(),
            "+short",
            "+tries=1",
            "+time=2",
            name,
            qtype,
        ])
        .output()
        .expect("dig runs (scripts/setup.sh installs dnsutils)");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_string)
        .collect()
}

/// What dnspython resolves, the deployment guide's way
/// (`dns.resolver.query`), one `to_text()` per line.
pub fn dnspython(dns: SocketAddr, name: &str, qtype: &str) -> Vec<String> {
    let script = format!(
        "import dns.resolver, dns.rdatatype\n\
         r = dns.resolver.Resolver(configure=False)\n\
         r.nameservers = ['{ip}']\n\
         r.port = {port}\n\
         for a in r.query('{name}', dns.rdatatype.{qtype}):\n    print(a.to_text())\n",
        ip = dns.ip(),
        port = dns.port(),
    );
    let out = Command::new(crate::common::venv_python())
        .args(["-W", "ignore", "-c", &script])
        .output()
        .expect("the venv's python runs");
    assert!(
        out.status.success(),
        "dnspython failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_string)
        .collect()
}
