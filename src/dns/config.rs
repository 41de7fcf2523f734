//! Mesos-DNS's `config.json`: every key with Mesos-DNS's default, matched
//! case-insensitively as Go's JSON decoder does, unknown keys ignored, and
//! the same validation (one error, one line). [`Config::to_json`] is what
//! `/v1/config` shows, under Mesos-DNS's Go field names.

use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};

use serde_json::{json, Map, Value};

/// Where tasks' addresses come from, in priority order (`IPSources`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IpSource {
    /// The latest running status's container network infos.
    Netinfo,
    /// The `MesosContainerizer.NetworkSettings.IPAddress` status label.
    Mesos,
    /// The `Docker.NetworkSettings.IPAddress` status label.
    Docker,
    /// The agent's address.
    Host,
}

impl IpSource {
    fn parse(text: &str) -> Option<IpSource> {
        match text {
            "netinfo" => Some(IpSource::Netinfo),
            "mesos" => Some(IpSource::Mesos),
            "docker" => Some(IpSource::Docker),
            "host" => Some(IpSource::Host),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            IpSource::Netinfo => "netinfo",
            IpSource::Mesos => "mesos",
            IpSource::Docker => "docker",
            IpSource::Host => "host",
        }
    }
}

/// A bad `config.json`.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read the config file {path}: {reason}")]
    Read { path: String, reason: String },
    #[error("the config is not a JSON object: {0}")]
    Json(String),
    #[error("config key '{key}': {reason}")]
    Key { key: &'static str, reason: String },
    #[error("{0}")]
    Invalid(String),
}

/// Mesos-DNS's configuration, validated.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    pub zk: String,
    /// Seconds to wait for a leader through ZooKeeper; 0 waits forever.
    pub zk_detection_timeout: u64,
    /// `ip:port` of masters, unique.
    pub masters: Vec<String>,
    pub refresh_seconds: u64,
    pub state_timeout_seconds: u64,
    pub ttl: u32,
    /// Lowercase, without a trailing dot.
    pub domain: String,
    pub port: u16,
    pub listener: IpAddr,
    pub http_listener: IpAddr,
    pub http_port: u16,
    pub dns_on: bool,
    pub http_on: bool,
    pub external_on: bool,
    /// Upstreams as `ip:port` (port 53 when not given).
    pub resolvers: Vec<SocketAddr>,
    /// Zone (lowercase, no trailing dot) -> its upstreams.
    pub zone_resolvers: BTreeMap<String, Vec<SocketAddr>>,
    /// Seconds for one forwarded query.
    pub timeout: u64,
    /// FQDN with the trailing dot.
    pub soa_mname: String,
    /// FQDN with the trailing dot, `@` made a `.`.
    pub soa_rname: String,
    pub soa_refresh: u32,
    pub soa_retry: u32,
    pub soa_expire: u32,
    pub soa_minttl: u32,
    pub recurse_on: bool,
    pub srv_record_default_weight: u16,
    pub enforce_rfc952: bool,
    pub set_truncate_bit: bool,
    pub ip_sources: Vec<IpSource>,
    pub enumeration_on: bool,
    pub mesos_https_on: bool,
    pub ca_cert_file: String,
    pub cert_file: String,
    pub key_file: String,
    pub mesos_authentication: String,
    pub iam_config_file: String,
    /// Beyond Mesos-DNS: tasks whose latest status says `healthy: false`
    /// have no records until they are healthy again.
    pub withdraw_unhealthy: bool,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            zk: String::new(),
            zk_detection_timeout: 30,
            masters: Vec::new(),
            refresh_seconds: 60,
            state_timeout_seconds: 300,
            ttl: 60,
            domain: "mesos".into(),
            port: 53,
            listener: IpAddr::from([0, 0, 0, 0]),
            http_listener: IpAddr::from([0, 0, 0, 0]),
            http_port: 8123,
            dns_on: true,
            http_on: true,
            external_on: true,
            resolvers: vec![SocketAddr::from(([8, 8, 8, 8], 53))],
            zone_resolvers: BTreeMap::new(),
            timeout: 5,
            soa_mname: "ns1.mesos.".into(),
            soa_rname: "root.ns1.mesos.".into(),
            soa_refresh: 60,
            soa_retry: 600,
            soa_expire: 86400,
            soa_minttl: 60,
            recurse_on: true,
            srv_record_default_weight: 1,
            enforce_rfc952: false,
            set_truncate_bit: true,
            ip_sources: vec![IpSource::Netinfo, IpSource::Mesos, IpSource::Host],
            enumeration_on: true,
            mesos_https_on: false,
            ca_cert_file: String::new(),
            cert_file: String::new(),
            key_file: String::new(),
            mesos_authentication: String::new(),
            iam_config_file: String::new(),
            withdraw_unhealthy: true,
        }
    }
}

/// The object's members by lowercased key; of two keys equal but for
/// case, Go keeps the last one given, and so does this.
struct Keys(BTreeMap<String, Value>);

impl Keys {
    fn get(&self, key: &str) -> Option<&Value> {
        self.0
            .get(&key.to_ascii_lowercase())
            .filter(|v| !v.is_null())
    }

    fn string(&self, key: &'static str, into: &mut String) -> Result<(), ConfigError> {
        if let Some(v) = self.get(key) {
            *into = v
                .as_str()
                .ok_or_else(|| bad(key, "must be a string"))?
                .to_string();
        }
        Ok(())
    }

    fn boolean(&self, key: &'static str, into: &mut bool) -> Result<(), ConfigError> {
        if let Some(v) = self.get(key) {
            *into = v
                .as_bool()
                .ok_or_else(|| bad(key, "must be true or false"))?;
        }
        Ok(())
    }

    fn number<T: TryFrom<u64>>(&self, key: &'static str, into: &mut T) -> Result<(), ConfigError> {
        if let Some(v) = self.get(key) {
            let n = v
                .as_u64()
                .ok_or_else(|| bad(key, "must be a non-negative integer"))?;
            *into = T::try_from(n).map_err(|_| bad(key, &format!("{n} is out of range")))?;
        }
        Ok(())
    }

    fn strings(&self, key: &'static str) -> Result<Option<Vec<String>>, ConfigError> {
        let Some(v) = self.get(key) else {
            return Ok(None);
        };
        let list = v
            .as_array()
            .ok_or_else(|| bad(key, "must be a list of strings"))?;
        list.iter()
            .map(|s| {
                s.as_str()
                    .map(str::to_string)
                    .ok_or_else(|| bad(key, "must be a list of strings"))
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Some)
    }
}

fn bad(key: &'static str, reason: &str) -> ConfigError {
    ConfigError::Key {
        key,
        reason: reason.to_string(),
    }
}

impl Config {
    /// Reads and validates the file at `path`.
    pub fn load(path: &str) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|e| ConfigError::Read {
            path: path.to_string(),
            reason: e.to_string(),
        })?;
        Config::parse(&text)
    }

    /// Parses and validates a config's JSON text.
    pub fn parse(text: &str) -> Result<Config, ConfigError> {
        let value: Value =
            serde_json::from_str(text).map_err(|e| ConfigError::Json(e.to_string()))?;
        let Value::Object(object) = value else {
            return Err(ConfigError::Json("expected an object".into()));
        };
        let keys = Keys(
            object
                .into_iter()
                .map(|(k, v)| (k.to_ascii_lowercase(), v))
                .collect(),
        );
        let mut c = Config::default();
        keys.string("zk", &mut c.zk)?;
        keys.number("zkDetectionTimeout", &mut c.zk_detection_timeout)?;
        if let Some(masters) = keys.strings("masters")? {
            c.masters = masters;
        }
        keys.number("refreshSeconds", &mut c.refresh_seconds)?;
        keys.number("stateTimeoutSeconds", &mut c.state_timeout_seconds)?;
        keys.number("ttl", &mut c.ttl)?;
        keys.string("domain", &mut c.domain)?;
        keys.number("port", &mut c.port)?;
        let mut listener = c.listener.to_string();
        keys.string("listener", &mut listener)?;
        c.listener = parse_ip("listener", &listener)?;
        let mut http_listener = c.http_listener.to_string();
        keys.string("HTTPListener", &mut http_listener)?;
        c.http_listener = parse_ip("HTTPListener", &http_listener)?;
        keys.number("HttpPort", &mut c.http_port)?;
        keys.boolean("dnson", &mut c.dns_on)?;
        keys.boolean("httpon", &mut c.http_on)?;
        keys.boolean("externalon", &mut c.external_on)?;
        if let Some(resolvers) = keys.strings("resolvers")? {
            c.resolvers = resolvers
                .iter()
                .map(|r| parse_resolver("resolvers", r))
                .collect::<Result<_, _>>()?;
        }
        if let Some(zones) = keys.get("zoneResolvers") {
            let zones = zones
                .as_object()
                .ok_or_else(|| bad("zoneResolvers", "must map zones to lists of resolvers"))?;
            for (zone, list) in zones {
                let list = list
                    .as_array()
                    .ok_or_else(|| bad("zoneResolvers", "must map zones to lists of resolvers"))?;
                let mut addresses = Vec::new();
                for r in list {
                    let r = r
                        .as_str()
                        .ok_or_else(|| bad("zoneResolvers", "resolvers must be strings"))?;
                    addresses.push(parse_resolver("zoneResolvers", r)?);
                }
                c.zone_resolvers
                    .insert(zone.trim_end_matches('.').to_ascii_lowercase(), addresses);
            }
        }
        keys.number("timeout", &mut c.timeout)?;
        keys.string("SOAMname", &mut c.soa_mname)?;
        keys.string("SOARname", &mut c.soa_rname)?;
        keys.number("SOARefresh", &mut c.soa_refresh)?;
        keys.number("SOARetry", &mut c.soa_retry)?;
        keys.number("SOAExpire", &mut c.soa_expire)?;
        keys.number("SOAMinttl", &mut c.soa_minttl)?;
        keys.boolean("recurseon", &mut c.recurse_on)?;
        keys.number("srvRecordDefaultWeight", &mut c.srv_record_default_weight)?;
        keys.boolean("EnforceRFC952", &mut c.enforce_rfc952)?;
        keys.boolean("SetTruncateBit", &mut c.set_truncate_bit)?;
        if let Some(sources) = keys.strings("IPSources")? {
            c.ip_sources = sources
                .iter()
                .map(|s| {
                    IpSource::parse(s).ok_or_else(|| {
                        bad(
                            "IPSources",
                            &format!("'{s}' is not one of netinfo, mesos, docker, host"),
                        )
                    })
                })
                .collect::<Result<_, _>>()?;
        }
        keys.boolean("EnumerationOn", &mut c.enumeration_on)?;
        keys.boolean("MesosHTTPSOn", &mut c.mesos_https_on)?;
        keys.string("CACertFile", &mut c.ca_cert_file)?;
        keys.string("CertFile", &mut c.cert_file)?;
        keys.string("KeyFile", &mut c.key_file)?;
        keys.string("mesosAuthentication", &mut c.mesos_authentication)?;
        keys.string("IAMConfigFile", &mut c.iam_config_file)?;
        keys.boolean("withdrawUnhealthy", &mut c.withdraw_unhealthy)?;
        c.validate()?;
        Ok(c)
    }

    fn validate(&mut self) -> Result<(), ConfigError> {
        if self.zk.is_empty() && self.masters.is_empty() {
            return Err(ConfigError::Invalid(
                "one of 'zk' or 'masters' is required".into(),
            ));
        }
        if !self.zk.is_empty() {
            crate::zookeeper::ZkUrl::parse(&self.zk).map_err(|e| bad("zk", &e.to_string()))?;
        }
        for (i, m) in self.masters.iter().enumerate() {
            m.parse::<SocketAddr>()
                .map_err(|_| bad("masters", &format!("'{m}' is not ip:port")))?;
            if self.masters[..i].contains(m) {
                return Err(bad("masters", &format!("'{m}' is listed twice")));
            }
        }
        if self.refresh_seconds == 0 {
            return Err(bad("refreshSeconds", "must be greater than 0"));
        }
        if self.ttl == 0 {
            return Err(bad("ttl", "must be greater than 0"));
        }
        if self.timeout == 0 {
            return Err(bad("timeout", "must be greater than 0"));
        }
        if !self.dns_on && !self.http_on {
            return Err(ConfigError::Invalid(
                "at least one of 'dnson' and 'httpon' must be true".into(),
            ));
        }
        self.domain = self.domain.trim_end_matches('.').to_ascii_lowercase();
        if !valid_domain(&self.domain) {
            return Err(bad("domain", &format!("'{}' is not a domain", self.domain)));
        }
        if self
            .zone_resolvers
            .keys()
            .any(|z| z == &self.domain || z.ends_with(&format!(".{}", self.domain)) || z.is_empty())
        {
            return Err(bad(
                "zoneResolvers",
                "may not include the Mesos domain or the root",
            ));
        }
        self.soa_mname = fqdn(&self.soa_mname);
        self.soa_rname = fqdn(&self.soa_rname.replace('@', "."));
        for (key, name) in [("SOAMname", &self.soa_mname), ("SOARname", &self.soa_rname)] {
            if hickory_proto::rr::Name::from_ascii(name).is_err() {
                return Err(bad(key, &format!("'{name}' is not a domain name")));
            }
        }
        if !["", "basic", "iam"].contains(&self.mesos_authentication.as_str()) {
            return Err(bad("mesosAuthentication", "must be \"\", basic or iam"));
        }
        if self.mesos_https_on || !self.mesos_authentication.is_empty() {
            return Err(ConfigError::Invalid(
                "HTTPS and authentication to masters are not supported yet".into(),
            ));
        }
        if self.resolvers.is_empty() {
            self.resolvers = system_resolvers();
        }
        Ok(())
    }

    /// `/v1/config`: Mesos-DNS's Config struct under its Go field names.
    pub fn to_json(&self) -> Value {
        let resolvers = |list: &[SocketAddr]| -> Vec<String> {
            list.iter()
                .map(|a| {
                    if a.port() == 53 {
                        a.ip().to_string()
                    } else {
                        a.to_string()
                    }
                })
                .collect()
        };
        let zones: Map<String, Value> = self
            .zone_resolvers
            .iter()
            .map(|(z, r)| (z.clone(), json!(resolvers(r))))
            .collect();
        json!({
            "Masters": self.masters,
            "Zk": self.zk,
            "ZkDetectionTimeout": self.zk_detection_timeout,
            "RefreshSeconds": self.refresh_seconds,
            "StateTimeoutSeconds": self.state_timeout_seconds,
            "TTL": self.ttl,
            "Port": self.port,
            "Domain": self.domain,
            "Resolvers": resolvers(&self.resolvers),
            "ZoneResolvers": zones,
            "Timeout": self.timeout,
            "Listener": self.listener.to_string(),
            "HTTPListener": self.http_listener.to_string(),
            "HttpPort": self.http_port,
            "DnsOn": self.dns_on,
            "HttpOn": self.http_on,
            "ExternalOn": self.external_on,
            "SOAMname": self.soa_mname,
            "SOARname": self.soa_rname,
            "SOARefresh": self.soa_refresh,
            "SOARetry": self.soa_retry,
            "SOAExpire": self.soa_expire,
            "SOAMinttl": self.soa_minttl,
            "RecurseOn": self.recurse_on,
            "SRVRecordDefaultWeight": self.srv_record_default_weight,
            "EnforceRFC952": self.enforce_rfc952,
            "SetTruncateBit": self.set_truncate_bit,
            "IPSources": self.ip_sources.iter().map(|s| s.name()).collect::<Vec<_>>(),
            "EnumerationOn": self.enumeration_on,
            "MesosHTTPSOn": self.mesos_https_on,
            "CACertFile": self.ca_cert_file,
            "CertFile": self.cert_file,
            "KeyFile": self.key_file,
            "MesosAuthentication": self.mesos_authentication,
            "IAMConfigFile": self.iam_config_file,
            "WithdrawUnhealthy": self.withdraw_unhealthy,
        })
    }
}

fn parse_ip(key: &'static str, text: &str) -> Result<IpAddr, ConfigError> {
    text.parse()
        .map_err(|_| bad(key, &format!("'{text}' is not an IP address")))
}

/// `ip` or `ip:port` (`[v6]:port` for IPv6 with a port).
fn parse_resolver(key: &'static str, text: &str) -> Result<SocketAddr, ConfigError> {
    if let Ok(ip) = text.parse::<IpAddr>() {
        return Ok(SocketAddr::new(ip, 53));
    }
    text.parse()
        .map_err(|_| bad(key, &format!("'{text}' is not ip or ip:port")))
}

fn valid_domain(domain: &str) -> bool {
    !domain.is_empty()
        && domain.split('.').all(|label| {
            !label.is_empty()
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        })
}

fn fqdn(name: &str) -> String {
    let name = name.to_ascii_lowercase();
    if name.ends_with('.') {
        name
    } else {
        format!("{name}.")
    }
}

/// The `nameserver` lines of `/etc/resolv.conf`, as Mesos-DNS takes them
/// when `resolvers` is empty.
fn system_resolvers() -> Vec<SocketAddr> {
    std::fs::read_to_string("/etc/resolv.conf")
        .unwrap_or_default()
        .lines()
        .filter_map(|line| {
            let mut words = line.split_whitespace();
            (words.next() == Some("nameserver"))
                .then(|| words.next()?.parse::<IpAddr>().ok())
                .flatten()
        })
        .map(|ip| SocketAddr::new(ip, 53))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The deployment guide's config, as written.
    pub const GUIDE: &str = r#"{"zk": "zk://192.168.122.48:2181/mesos", "masters": ["192.168.122.48:5050"], "refreshSeconds": 60, "ttl": 60,
 "domain": "mesos", "port": 53, "resolvers": ["8.8.8.8"], "timeout": 5, "listener": "0.0.0.0",
 "SOAMname": "ns1.mesos", "SOARname": "root.ns1.mesos", "SOARefresh": 60, "SOARetry": 600, "SOAExpire": 86400,
 "SOAMinttl": 60, "dnson": true, "httpon": true, "httpport": 8125, "externalon": true,
 "IPSources": ["netinfo", "mesos", "host"], "EnforceRFC952": false}"#;

    #[test]
    fn the_guides_config_is_accepted_as_written() {
        let c = Config::parse(GUIDE).unwrap();
        assert_eq!(c.zk, "zk://192.168.122.48:2181/mesos");
        assert_eq!(c.masters, vec!["192.168.122.48:5050"]);
        assert_eq!(c.http_port, 8125);
        assert_eq!(c.soa_mname, "ns1.mesos.");
        assert_eq!(c.soa_rname, "root.ns1.mesos.");
        assert_eq!(c.resolvers, vec![SocketAddr::from(([8, 8, 8, 8], 53))]);
        assert_eq!(
            c.ip_sources,
            vec![IpSource::Netinfo, IpSource::Mesos, IpSource::Host]
        );
        assert_eq!(c.to_json()["HttpPort"], 8125);
    }

    #[test]
    fn defaults_are_mesos_dns_defaults() {
        let c = Config::parse(r#"{"masters": ["127.0.0.1:5050"]}"#).unwrap();
        let d = Config {
            masters: vec!["127.0.0.1:5050".into()],
            ..Config::default()
        };
        assert_eq!(c, d);
        assert_eq!(c.port, 53);
        assert_eq!(c.http_port, 8123);
        assert_eq!(c.refresh_seconds, 60);
    }

    #[test]
    fn keys_match_case_insensitively_and_unknown_keys_are_ignored() {
        let c = Config::parse(
            r#"{"MASTERS": ["127.0.0.1:5050"], "RefreshSeconds": 5, "TTL": 7, "DOMAIN": "Dc1.Example",
                "soarname": "admin@dc1.example", "whatever": [1, 2], "ipsources": ["host"]}"#,
        )
        .unwrap();
        assert_eq!(c.refresh_seconds, 5);
        assert_eq!(c.ttl, 7);
        assert_eq!(c.domain, "dc1.example");
        assert_eq!(c.soa_rname, "admin.dc1.example.");
        assert_eq!(c.ip_sources, vec![IpSource::Host]);
    }

    #[test]
    fn bad_values_are_one_line_errors() {
        let cases = [
            (r#"{}"#, "one of 'zk' or 'masters'"),
            (r#"{"masters": ["nohost"]}"#, "'masters'"),
            (r#"{"masters": ["1.2.3.4:5", "1.2.3.4:5"]}"#, "twice"),
            (r#"{"masters": ["1.2.3.4:5"], "port": 70000}"#, "'port'"),
            (r#"{"masters": ["1.2.3.4:5"], "ttl": "60"}"#, "'ttl'"),
            (
                r#"{"masters": ["1.2.3.4:5"], "refreshSeconds": 0}"#,
                "refreshSeconds",
            ),
            (
                r#"{"masters": ["1.2.3.4:5"], "domain": "a..b"}"#,
                "'domain'",
            ),
            (
                r#"{"masters": ["1.2.3.4:5"], "IPSources": ["dns"]}"#,
                "IPSources",
            ),
            (
                r#"{"masters": ["1.2.3.4:5"], "dnson": false, "httpon": false}"#,
                "dnson",
            ),
            (
                r#"{"masters": ["1.2.3.4:5"], "resolvers": ["x.y"]}"#,
                "resolvers",
            ),
            (
                r#"{"masters": ["1.2.3.4:5"], "zoneResolvers": {"a.mesos": ["1.1.1.1"]}}"#,
                "zoneResolvers",
            ),
            (
                r#"{"masters": ["1.2.3.4:5"], "listener": "any"}"#,
                "listener",
            ),
            (r#"{"zk": "http://x"}"#, "'zk'"),
            (r#"[1]"#, "object"),
            (r#"{"#, "JSON"),
        ];
        for (text, expected) in cases {
            let e = Config::parse(text).unwrap_err().to_string();
            assert!(e.contains(expected), "{text}: {e}");
            assert!(!e.contains('\n'), "{text}: {e}");
        }
    }

    #[test]
    fn resolvers_take_an_optional_port() {
        let c = Config::parse(
            r#"{"masters": ["1.2.3.4:5"], "resolvers": ["127.0.0.1:5353", "::1"],
                "zoneResolvers": {"Example.COM.": ["10.0.0.1"]}}"#,
        )
        .unwrap();
        assert_eq!(
            c.resolvers,
            vec![
                SocketAddr::from(([127, 0, 0, 1], 5353)),
                "[::1]:53".parse().unwrap()
            ]
        );
        assert_eq!(
            c.zone_resolvers.get("example.com"),
            Some(&vec![SocketAddr::from(([10, 0, 0, 1], 53))])
        );
    }
}
