//! The addresses Mesos's `--zk` and `--master` flags take (Mesos's
//! `src/zookeeper/url.cpp` and the address handling of
//! `MasterDetector::create`):
//!
//! - `zk://[user:password@]host1:port1,host2:port2/path`: a ZooKeeper
//!   ensemble and the group's path. With `user:password`, the client
//!   authenticates with the `digest` scheme and the group's znodes get
//!   creator-all plus world-read ACLs; without, they are open.
//! - `file:///some/file`: the file holds one of the other forms (a
//!   `zk://` URL, or for `--master` a `host:port`); a file naming another
//!   file is refused rather than followed.
//! - `host:port` or `master@host:port` (`--master` only): a fixed master.
//!
//! Passwords never appear in `Display`, `Debug` or error messages.

use std::fmt;

use zookeeper_client::{Acl, Acls, Permission};

/// A parsed `zk://` URL.
#[derive(Clone, PartialEq, Eq)]
pub struct ZkUrl {
    /// `host:port,host:port`, as the ZooKeeper client takes it.
    servers: String,
    /// The group's znode: absolute, no trailing `/` unless it is `/`.
    path: String,
    credentials: Option<Credentials>,
}

/// `user:password` for ZooKeeper's `digest` scheme.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    username: String,
    password: String,
}

impl Credentials {
    pub fn username(&self) -> &str {
        &self.username
    }

    /// What the `digest` scheme's auth packet carries.
    pub(crate) fn digest(&self) -> Vec<u8> {
        format!("{}:{}", self.username, self.password).into_bytes()
    }
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("username", &self.username)
            .field("password", &"<redacted>")
            .finish()
    }
}

/// What `--master` (agents, schedulers) names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MasterAddress {
    /// Detect the leader through ZooKeeper.
    ZooKeeper(ZkUrl),
    /// A fixed master: `host:port` or `master@host:port`, as written.
    Standalone(String),
}

/// Why a flag value is not an address we can use.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UrlError {
    #[error("the address is empty")]
    Empty,
    #[error(
        "'{0}' is not a ZooKeeper URL: expected zk://[user:password@]host:port[,host:port...]/path"
    )]
    NotZooKeeper(String),
    #[error("the ZooKeeper URL names no server")]
    NoServers,
    #[error("ZooKeeper server '{server}' is not host[:port]: {reason}")]
    BadServer {
        server: String,
        reason: &'static str,
    },
    #[error("ZooKeeper credentials must be user:password with a non-empty user")]
    BadCredentials,
    #[error("ZooKeeper path '{path}' is not valid: {reason}")]
    BadPath { path: String, reason: &'static str },
    #[error("cannot read '{path}': {reason}")]
    File { path: String, reason: String },
    #[error("'{0}' holds another file:// address; it must hold the address itself")]
    NestedFile(String),
    #[error("'{0}' is not a master address: expected host:port, master@host:port, zk://... or file:///path")]
    BadMaster(String),
}

impl ZkUrl {
    /// Parses `zk://[user:password@]servers[/path]`; the path defaults to
    /// `/` as in Mesos. Surrounding whitespace is ignored.
    pub fn parse(text: &str) -> Result<ZkUrl, UrlError> {
        let text = text.trim();
        let rest = text
            .strip_prefix("zk://")
            .ok_or_else(|| UrlError::NotZooKeeper(redact(text)))?;
        // The path starts at the first '/': credentials and servers hold
        // none (Mesos peels path segments off the end the same way).
        let (authority, path) = match rest.find('/') {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, "/"),
        };
        // The last '@' ends the credentials, so a password may hold '@'.
        let (credentials, servers) = match authority.rfind('@') {
            Some(i) => (
                Some(parse_credentials(&authority[..i])?),
                &authority[i + 1..],
            ),
            None => (None, authority),
        };
        check_servers(servers)?;
        check_path(path)?;
        Ok(ZkUrl {
            servers: servers.to_owned(),
            path: path.to_owned(),
            credentials,
        })
    }

    /// `host:port,host:port`.
    pub fn servers(&self) -> &str {
        &self.servers
    }

    /// The group's znode path.
    pub fn path(&self) -> &str {
        &self.path
    }

    pub fn credentials(&self) -> Option<&Credentials> {
        self.credentials.as_ref()
    }

    /// Mesos's choice: with credentials, everyone may read and only the
    /// creator's identity may change; without, anyone may do anything.
    pub(crate) fn acls(&self) -> Acls<'static> {
        static CREATOR_ALL_WORLD_READ: [Acl; 2] = [
            Acl::new_const(Permission::READ, "world", "anyone"),
            Acl::new_const(Permission::ALL, "auth", ""),
        ];
        match self.credentials {
            Some(_) => Acls::new(&CREATOR_ALL_WORLD_READ),
            None => Acls::anyone_all(),
        }
    }

    /// The path of the child `name` of the group's znode.
    /// The same servers and credentials, for the znode `name` under this
    /// path (the replicated log's `log_replicas` group).
    pub fn join(&self, name: &str) -> ZkUrl {
        ZkUrl {
            path: self.child(name),
            ..self.clone()
        }
    }

    pub(crate) fn child(&self, name: &str) -> String {
        if self.path == "/" {
            format!("/{name}")
        } else {
            format!("{}/{name}", self.path)
        }
    }
}

/// The URL with the password replaced, safe for logs.
impl fmt::Display for ZkUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.credentials {
            Some(c) => write!(f, "zk://{}:****@{}{}", c.username, self.servers, self.path),
            None => write!(f, "zk://{}{}", self.servers, self.path),
        }
    }
}

impl fmt::Debug for ZkUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ZkUrl({self})")
    }
}

impl MasterAddress {
    /// Parses an agent's or scheduler's `--master`: `zk://...`,
    /// `file:///path` holding one of the forms, `host:port` or
    /// `master@host:port`.
    pub fn parse(flag: &str) -> Result<MasterAddress, UrlError> {
        let flag = flag.trim();
        match flag.strip_prefix("file://") {
            Some(path) => parse_master_text(&read_address_file(path)?),
            None => parse_master_text(flag),
        }
    }
}

/// Parses a master's `--zk`: `zk://...`, or `file:///path` holding it.
pub fn parse_zk_flag(flag: &str) -> Result<ZkUrl, UrlError> {
    let flag = flag.trim();
    match flag.strip_prefix("file://") {
        Some(path) => {
            let text = read_address_file(path)?;
            ZkUrl::parse(&text)
        }
        None => ZkUrl::parse(flag),
    }
}

fn parse_master_text(text: &str) -> Result<MasterAddress, UrlError> {
    if text.is_empty() {
        return Err(UrlError::Empty);
    }
    if text.starts_with("zk://") {
        return ZkUrl::parse(text).map(MasterAddress::ZooKeeper);
    }
    let address = text.strip_prefix("master@").unwrap_or(text);
    let valid = match address.rsplit_once(':') {
        Some((host, port)) => {
            !host.is_empty()
                && !host.contains(['@', '/', ','])
                && port.parse::<u16>().is_ok_and(|p| p != 0)
        }
        None => false,
    };
    if valid {
        Ok(MasterAddress::Standalone(text.to_owned()))
    } else {
        Err(UrlError::BadMaster(redact(text)))
    }
}

/// The trimmed content of an address file; one level only, so a file
/// naming itself cannot loop.
fn read_address_file(path: &str) -> Result<String, UrlError> {
    let text = std::fs::read_to_string(path).map_err(|e| UrlError::File {
        path: path.to_owned(),
        reason: e.to_string(),
    })?;
    let text = text.trim().to_owned();
    if text.starts_with("file://") {
        return Err(UrlError::NestedFile(path.to_owned()));
    }
    if text.is_empty() {
        return Err(UrlError::Empty);
    }
    Ok(text)
}

fn parse_credentials(text: &str) -> Result<Credentials, UrlError> {
    match text.split_once(':') {
        Some((user, password)) if !user.is_empty() => Ok(Credentials {
            username: user.to_owned(),
            password: password.to_owned(),
        }),
        _ => Err(UrlError::BadCredentials),
    }
}

/// The rules the ZooKeeper client applies, checked here so a bad flag
/// fails at startup with a message naming the server.
fn check_servers(servers: &str) -> Result<(), UrlError> {
    if servers.is_empty() {
        return Err(UrlError::NoServers);
    }
    for server in servers.split(',') {
        let bad = |reason| UrlError::BadServer {
            server: server.to_owned(),
            reason,
        };
        let (host, port) = if let Some(rest) = server.strip_prefix('[') {
            let (host, after) = rest
                .split_once(']')
                .ok_or_else(|| bad("unclosed '[' in an IPv6 address"))?;
            match after {
                "" => (host, None),
                _ => match after.strip_prefix(':') {
                    Some(port) => (host, Some(port)),
                    None => return Err(bad("expected ':' after ']'")),
                },
            }
        } else {
            match server.rsplit_once(':') {
                Some((host, port)) => (host, Some(port)),
                None => (server, None),
            }
        };
        if host.is_empty() {
            return Err(bad("empty host"));
        }
        if let Some(port) = port {
            match port.parse::<u16>() {
                Ok(p) if p != 0 => {}
                _ => return Err(bad("the port is not a number from 1 to 65535")),
            }
        }
    }
    Ok(())
}

fn check_path(path: &str) -> Result<(), UrlError> {
    let bad = |reason| UrlError::BadPath {
        path: path.to_owned(),
        reason,
    };
    if path == "/" {
        return Ok(());
    }
    if path.ends_with('/') {
        return Err(bad("it ends with '/'"));
    }
    if path.contains('\0') {
        return Err(bad("it contains a NUL character"));
    }
    for segment in path.split('/').skip(1) {
        match segment {
            "" => return Err(bad("it has an empty segment")),
            "." | ".." => return Err(bad("'.' and '..' are not allowed")),
            _ => {}
        }
    }
    Ok(())
}

/// `text` with anything that may be `user:password` hidden, for error
/// messages: what lies between `://` and the last `@`, or before an `@`
/// that is not a pid's plain `id@`.
fn redact(text: &str) -> String {
    let Some(at) = text.rfind('@') else {
        return text.to_owned();
    };
    match text.find("://") {
        Some(scheme) if at > scheme + 3 => {
            format!("{}****{}", &text[..scheme + 3], &text[at..])
        }
        None if text[..at].contains(':') => format!("****{}", &text[at..]),
        _ => text.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zk_urls_parse() {
        // (input, servers, path, username)
        let cases: &[(&str, &str, &str, Option<&str>)] = &[
            ("zk://h:2181/mesos", "h:2181", "/mesos", None),
            ("zk://h1:1,h2:2,h3:3/a/b", "h1:1,h2:2,h3:3", "/a/b", None),
            ("zk://h:2181", "h:2181", "/", None),
            ("zk://h:2181/", "h:2181", "/", None),
            ("zk://h/mesos", "h", "/mesos", None),
            ("  zk://h:1/m \n", "h:1", "/m", None),
            ("zk://[::1]:2181/m", "[::1]:2181", "/m", None),
            ("zk://u:p@h:1/m", "h:1", "/m", Some("u")),
            ("zk://u:p@ss@h:1/m", "h:1", "/m", Some("u")),
            ("zk://u:@h:1/m", "h:1", "/m", Some("u")),
        ];
        for (input, servers, path, user) in cases {
            let url = ZkUrl::parse(input).unwrap_or_else(|e| panic!("{input}: {e}"));
            assert_eq!(url.servers(), *servers, "{input}");
            assert_eq!(url.path(), *path, "{input}");
            assert_eq!(url.credentials().map(|c| c.username()), *user, "{input}");
        }
        let url = ZkUrl::parse("zk://u:p@ss@h:1/m").unwrap();
        assert_eq!(url.credentials().unwrap().digest(), b"u:p@ss".to_vec());
    }

    #[test]
    fn bad_zk_urls_are_refused_with_a_reason() {
        type Case = (&'static str, fn(&UrlError) -> bool);
        let cases: &[Case] = &[
            ("http://h:1/m", |e| matches!(e, UrlError::NotZooKeeper(_))),
            ("h:1/m", |e| matches!(e, UrlError::NotZooKeeper(_))),
            ("zk:///m", |e| matches!(e, UrlError::NoServers)),
            ("zk://u:p@/m", |e| matches!(e, UrlError::NoServers)),
            ("zk://h:1,/m", |e| matches!(e, UrlError::BadServer { .. })),
            ("zk://h:x/m", |e| matches!(e, UrlError::BadServer { .. })),
            ("zk://h:0/m", |e| matches!(e, UrlError::BadServer { .. })),
            ("zk://h:70000/m", |e| {
                matches!(e, UrlError::BadServer { .. })
            }),
            ("zk://:1/m", |e| matches!(e, UrlError::BadServer { .. })),
            ("zk://[::1/m", |e| matches!(e, UrlError::BadServer { .. })),
            ("zk://up@h:1/m", |e| matches!(e, UrlError::BadCredentials)),
            ("zk://:p@h:1/m", |e| matches!(e, UrlError::BadCredentials)),
            ("zk://h:1/m/", |e| matches!(e, UrlError::BadPath { .. })),
            ("zk://h:1/a//b", |e| matches!(e, UrlError::BadPath { .. })),
            ("zk://h:1/a/../b", |e| matches!(e, UrlError::BadPath { .. })),
        ];
        for (input, expected) in cases {
            match ZkUrl::parse(input) {
                Ok(url) => panic!("{input} parsed as {url}"),
                Err(e) => assert!(expected(&e), "{input}: unexpected {e:?}"),
            }
        }
    }

    #[test]
    fn passwords_never_show() {
        let url = ZkUrl::parse("zk://alice:s3cret@h:1/m").unwrap();
        for shown in [url.to_string(), format!("{url:?}")] {
            assert!(!shown.contains("s3cret"), "{shown}");
            assert!(shown.contains("alice"), "{shown}");
        }
        let errors = [
            ZkUrl::parse("zq://alice:s3cret@h:1/m").unwrap_err(),
            MasterAddress::parse("alice:s3cret@h:1").unwrap_err(),
            MasterAddress::parse("zk://alice:s3cret@h:x/m").unwrap_err(),
        ];
        for e in errors {
            assert!(!e.to_string().contains("s3cret"), "{e}");
            assert!(!format!("{e:?}").contains("s3cret"), "{e:?}");
        }
    }

    #[test]
    fn acls_follow_credentials() {
        let open = ZkUrl::parse("zk://h:1/m").unwrap();
        assert_eq!(&*open.acls(), &*Acls::anyone_all());
        let authed = ZkUrl::parse("zk://u:p@h:1/m").unwrap();
        let acls = authed.acls();
        let acls: Vec<(Permission, &str, &str)> = acls
            .iter()
            .map(|a| (a.permission(), a.scheme(), a.id()))
            .collect();
        assert_eq!(
            acls,
            vec![
                (Permission::READ, "world", "anyone"),
                (Permission::ALL, "auth", "")
            ]
        );
    }

    #[test]
    fn children_join_the_group_path() {
        let root = ZkUrl::parse("zk://h:1").unwrap();
        assert_eq!(root.child("json.info_"), "/json.info_");
        let nested = ZkUrl::parse("zk://h:1/a/b").unwrap();
        assert_eq!(nested.child("json.info_"), "/a/b/json.info_");
    }

    #[test]
    fn master_flags_parse() {
        let cases: &[(&str, Option<MasterAddress>)] = &[
            (
                "127.0.0.1:5050",
                Some(MasterAddress::Standalone("127.0.0.1:5050".into())),
            ),
            (
                "master@10.0.0.1:5050",
                Some(MasterAddress::Standalone("master@10.0.0.1:5050".into())),
            ),
            (
                "localhost:5050",
                Some(MasterAddress::Standalone("localhost:5050".into())),
            ),
            (
                "zk://h:1/mesos",
                Some(MasterAddress::ZooKeeper(
                    ZkUrl::parse("zk://h:1/mesos").unwrap(),
                )),
            ),
            ("", None),
            ("localhost", None),
            ("h:0", None),
            ("h:port", None),
            ("a,b:1", None),
        ];
        for (input, expected) in cases {
            let got = MasterAddress::parse(input).ok();
            assert_eq!(&got, expected, "{input}");
        }
    }

    #[test]
    fn file_urls_hold_the_address() {
        let dir = tempfile::tempdir().unwrap();
        let write = |name: &str, text: &str| {
            let p = dir.path().join(name);
            std::fs::write(&p, text).unwrap();
            format!("file://{}", p.display())
        };
        let zk = write("zk", "zk://h:2181/mesos\n");
        assert_eq!(parse_zk_flag(&zk).unwrap().path(), "/mesos");
        assert_eq!(
            MasterAddress::parse(&zk).unwrap(),
            MasterAddress::ZooKeeper(ZkUrl::parse("zk://h:2181/mesos").unwrap())
        );
        let plain = write("plain", " 127.0.0.1:5050 ");
        assert_eq!(
            MasterAddress::parse(&plain).unwrap(),
            MasterAddress::Standalone("127.0.0.1:5050".into())
        );
        // A master's --zk must be ZooKeeper.
        assert!(matches!(
            parse_zk_flag(&plain),
            Err(UrlError::NotZooKeeper(_))
        ));
        let nested = write("nested", &zk);
        assert!(matches!(
            MasterAddress::parse(&nested),
            Err(UrlError::NestedFile(_))
        ));
        let empty = write("empty", "  \n");
        assert_eq!(MasterAddress::parse(&empty), Err(UrlError::Empty));
        let missing = format!("file://{}", dir.path().join("missing").display());
        assert!(matches!(
            MasterAddress::parse(&missing),
            Err(UrlError::File { .. })
        ));
    }
}
