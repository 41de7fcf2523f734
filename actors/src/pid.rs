//! Process identifiers: `id@ip:port`, as libprocess's `UPID`.
//!
//! A [`Pid`] names one process on one node. It is cheap to clone (the id is
//! shared) and travels inside messages as its text form.

use std::fmt;
use std::net::SocketAddr;
use std::str::FromStr;
use std::sync::Arc;

/// The address of a process: its id on a node and the node's address.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Pid {
    id: Arc<str>,
    address: SocketAddr,
}

/// Why a string is not a pid.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PidError {
    #[error("'{0}' is not a pid: expected id@ip:port")]
    MissingAt(String),
    #[error("'{0}' is not a pid: '{1}' is not an ip:port address")]
    BadAddress(String, String),
    #[error("'{0}' is not a pid: the id may not contain '@' or '/'")]
    BadId(String),
}

impl Pid {
    /// A pid for process `id` on the node at `address`.
    pub fn new(id: impl Into<Arc<str>>, address: SocketAddr) -> Pid {
        Pid {
            id: id.into(),
            address,
        }
    }

    /// The process id on its node (`master`, `slave(1)`).
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The shared id, for maps keyed by id.
    pub fn id_arc(&self) -> &Arc<str> {
        &self.id
    }

    /// The address of the node the process lives on.
    pub fn address(&self) -> SocketAddr {
        self.address
    }
}

impl fmt::Display for Pid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}@{}", self.id, self.address)
    }
}

impl fmt::Debug for Pid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl FromStr for Pid {
    type Err = PidError;

    fn from_str(s: &str) -> Result<Pid, PidError> {
        let (id, address) = s
            .split_once('@')
            .ok_or_else(|| PidError::MissingAt(s.to_owned()))?;
        if id.contains('/') {
            return Err(PidError::BadId(s.to_owned()));
        }
        let address = address
            .parse::<SocketAddr>()
            .map_err(|_| PidError::BadAddress(s.to_owned(), address.to_owned()))?;
        Ok(Pid::new(id, address))
    }
}

impl serde::Serialize for Pid {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for Pid {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Pid, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pid_prints_and_parses_as_id_at_ip_port() {
        let pid: Pid = "slave(1)@10.0.0.7:5051".parse().unwrap();
        assert_eq!(pid.id(), "slave(1)");
        assert_eq!(pid.address(), "10.0.0.7:5051".parse().unwrap());
        assert_eq!(pid.to_string(), "slave(1)@10.0.0.7:5051");
        let empty: Pid = "@0.0.0.0:0".parse().unwrap();
        assert_eq!(empty.id(), "");
    }

    #[test]
    fn bad_pids_are_typed_errors() {
        let cases = [
            ("master", PidError::MissingAt("master".into())),
            (
                "master@host",
                PidError::BadAddress("master@host".into(), "host".into()),
            ),
            (
                "master@1.2.3.4:99999",
                PidError::BadAddress("master@1.2.3.4:99999".into(), "1.2.3.4:99999".into()),
            ),
            ("a/b@1.2.3.4:1", PidError::BadId("a/b@1.2.3.4:1".into())),
            ("", PidError::MissingAt(String::new())),
        ];
        for (text, err) in cases {
            assert_eq!(text.parse::<Pid>(), Err(err), "{text}");
        }
    }

    #[test]
    fn pid_travels_as_text() {
        let pid: Pid = "log-replica(2)@127.0.0.1:5050".parse().unwrap();
        let json = serde_json::to_string(&pid).unwrap();
        assert_eq!(json, "\"log-replica(2)@127.0.0.1:5050\"");
        assert_eq!(serde_json::from_str::<Pid>(&json).unwrap(), pid);
        assert!(serde_json::from_str::<Pid>("\"nonsense\"").is_err());
    }
}
