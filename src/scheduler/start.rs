//! Starting a driver: the master's pid from `--master`, the node the
//! driver listens on, the driver process itself, and [`run`], a driver's
//! whole life for a `main` (Mesos's `MesosSchedulerDriver` constructor,
//! `start`, `join` and `run`).

use std::net::{IpAddr, SocketAddr, ToSocketAddrs};
use std::time::Duration;

use actors::{Node, NodeConfig, Pid};
use tokio::sync::oneshot;
use wire::mesos::FrameworkInfo;

use crate::random;

use super::driver::{Scheduler, SchedulerCalls, SchedulerDriver, Status};
use super::process::SchedulerProcess;

/// How long [`run`] lets the last frames (a Teardown) reach the wire before
/// the runtime goes away: sessions write asynchronously and the runtime has
/// no flush.
const FLUSH_GRACE: Duration = Duration::from_millis(200);

/// Why a driver could not start.
#[derive(Debug, thiserror::Error)]
pub enum DriverError {
    #[error("'{0}' is not a master address: expected host:port or master@host:port")]
    BadMaster(String),
    #[error("master '{0}' is not supported yet: ZooKeeper (zk://) and file:// detection are not implemented; give the leading master as host:port")]
    UnsupportedMaster(String),
    #[error("cannot resolve master '{0}': {1}")]
    Resolve(String, std::io::Error),
    #[error("bad {0}: '{1}'")]
    BadEnvironment(&'static str, String),
    #[error("cannot bind the scheduler's node: {0}")]
    Bind(std::io::Error),
    #[error(transparent)]
    Spawn(#[from] actors::SpawnError),
    #[error("the actor system failed: {0}")]
    System(std::io::Error),
    #[error("the driver process ended without reporting how")]
    Vanished,
}

/// How a driver behaves, beyond its master and framework.
#[derive(Debug, Clone)]
pub struct Options {
    /// Acknowledge each status update after `status_update` returns. When
    /// false the scheduler must call `acknowledge_status_update`.
    pub implicit_acknowledgements: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            implicit_acknowledgements: true,
        }
    }
}

/// The pid of the master named by `--master`: `host:port` or
/// `master@host:port`. A host name is resolved here (blocking), preferring
/// IPv4 as the master's node advertises an IPv4 address by default.
pub fn parse_master(master: &str) -> Result<Pid, DriverError> {
    let master = master.trim();
    if master.starts_with("zk://") || master.starts_with("file://") || master == "local" {
        return Err(DriverError::UnsupportedMaster(master.to_owned()));
    }
    let (id, address) = match master.split_once('@') {
        Some((id, address)) => (id, address),
        None => ("master", master),
    };
    if id.is_empty() || id.contains('/') || address.is_empty() {
        return Err(DriverError::BadMaster(master.to_owned()));
    }
    if let Ok(addr) = address.parse::<SocketAddr>() {
        return Ok(Pid::new(id, addr));
    }
    let (host, port) = address
        .rsplit_once(':')
        .ok_or_else(|| DriverError::BadMaster(master.to_owned()))?;
    if host.is_empty() || port.parse::<u16>().is_err() {
        return Err(DriverError::BadMaster(master.to_owned()));
    }
    let addrs: Vec<SocketAddr> = address
        .to_socket_addrs()
        .map_err(|e| DriverError::Resolve(master.to_owned(), e))?
        .collect();
    let addr = addrs
        .iter()
        .find(|a| a.is_ipv4())
        .or(addrs.first())
        .copied()
        .ok_or_else(|| {
            DriverError::Resolve(
                master.to_owned(),
                std::io::Error::new(std::io::ErrorKind::NotFound, "no address"),
            )
        })?;
    Ok(Pid::new(id, addr))
}

/// Where the scheduler's node listens: 127.0.0.1 on a free port unless
/// libprocess's variables say otherwise (`LIBPROCESS_IP`, `LIBPROCESS_PORT`,
/// `LIBPROCESS_ADVERTISE_IP`, `LIBPROCESS_ADVERTISE_PORT`). A master on
/// another host must be able to reach this address.
pub fn node_config_from_env(
    env: impl IntoIterator<Item = (String, String)>,
) -> Result<NodeConfig, DriverError> {
    let mut config = NodeConfig::default();
    for (key, value) in env {
        let bad = |name| DriverError::BadEnvironment(name, value.clone());
        match key.as_str() {
            "LIBPROCESS_IP" => config.ip = value.parse().map_err(|_| bad("LIBPROCESS_IP"))?,
            "LIBPROCESS_PORT" => config.port = value.parse().map_err(|_| bad("LIBPROCESS_PORT"))?,
            "LIBPROCESS_ADVERTISE_IP" => {
                let ip: IpAddr = value.parse().map_err(|_| bad("LIBPROCESS_ADVERTISE_IP"))?;
                config.advertise_ip = Some(ip);
            }
            "LIBPROCESS_ADVERTISE_PORT" => {
                let port: u16 = value
                    .parse()
                    .map_err(|_| bad("LIBPROCESS_ADVERTISE_PORT"))?;
                config.advertise_port = Some(port);
            }
            _ => {}
        }
    }
    Ok(config)
}

/// The name of the user this program runs as: `$USER`, else the passwd
/// entry of the owner of `/proc/self`.
pub fn current_user() -> Option<String> {
    if let Ok(user) = std::env::var("USER") {
        if !user.is_empty() {
            return Some(user);
        }
    }
    use std::os::unix::fs::MetadataExt;
    let uid = std::fs::metadata("/proc/self").ok()?.uid().to_string();
    let passwd = std::fs::read_to_string("/etc/passwd").ok()?;
    passwd.lines().find_map(|line| {
        let mut fields = line.split(':');
        let name = fields.next()?;
        (fields.nth(1)? == uid).then(|| name.to_owned())
    })
}

/// Runs a driver to its end: an actix system, a node (see
/// [`node_config_from_env`]), the driver process registering `framework`
/// with `master`. Returns how the driver ended and the scheduler, whose
/// state the caller may read (for an exit code, say). It creates its own
/// runtime, so it must not be called from inside one: there, use [`start`].
pub fn run<S: Scheduler>(
    master: &str,
    framework: FrameworkInfo,
    scheduler: S,
) -> Result<(Status, S), DriverError> {
    run_with(master, framework, scheduler, Options::default())
}

/// [`run`] with options.
pub fn run_with<S: Scheduler>(
    master: &str,
    framework: FrameworkInfo,
    scheduler: S,
    options: Options,
) -> Result<(Status, S), DriverError> {
    let config = node_config_from_env(std::env::vars())?;
    let flag = master.to_owned();
    actix::System::new().block_on(async move {
        let node = Node::bind(config).await.map_err(DriverError::Bind)?;
        let master = MasterSource::find(&flag).await?;
        let driver = start(&node, master.pid().clone(), framework, scheduler, options)?;
        let _following = master.follow(&node, driver.pid())?;
        let ended = driver.join().await;
        tokio::time::sleep(FLUSH_GRACE).await;
        node.shutdown();
        ended
    })
}

/// Where a driver finds its master: a fixed `host:port`, or the leader
/// that ZooKeeper (`zk://`, `file://`) names, followed as it changes.
pub struct MasterSource {
    pid: Pid,
    detector: Option<crate::zookeeper::MasterDetector>,
}

impl MasterSource {
    /// The master `flag` names now (for ZooKeeper, the current leader).
    pub async fn find(flag: &str) -> Result<MasterSource, DriverError> {
        if !(flag.starts_with("zk://") || flag.starts_with("file://")) {
            return Ok(MasterSource {
                pid: parse_master(flag)?,
                detector: None,
            });
        }
        let detector =
            crate::zookeeper::detector_for(flag, crate::zookeeper::DEFAULT_SESSION_TIMEOUT)
                .map_err(|e| DriverError::BadMaster(format!("{flag}: {e}")))?;
        let leader = detector
            .detect(None)
            .await
            .ok_or_else(|| DriverError::BadMaster(format!("{flag}: no leading master")))?;
        let pid = leader
            .pid
            .parse::<Pid>()
            .map_err(|_| DriverError::BadMaster(leader.pid.clone()))?;
        Ok(MasterSource {
            pid,
            detector: Some(detector),
        })
    }

    pub fn pid(&self) -> &Pid {
        &self.pid
    }

    /// Tells the driver `to` of every new leader; what it returns must be
    /// kept for as long as the following should go on.
    pub fn follow(
        self,
        node: &Node,
        to: &Pid,
    ) -> Result<Option<crate::zookeeper::Forwarding>, DriverError> {
        let Some(detector) = self.detector else {
            return Ok(None);
        };
        let (n, to) = (node.clone(), to.clone());
        let forward = detector.follow(move |leader| {
            n.send_local(&to, &to, crate::zookeeper::LeaderDetected { leader })
        });
        Ok(Some(
            forward.map_err(|e| DriverError::BadMaster(e.to_string()))?,
        ))
    }
}

/// Spawns a driver process on `node` (inside its actix system) and starts
/// registering. The framework's user defaults to [`current_user`].
pub fn start<S: Scheduler>(
    node: &Node,
    master: Pid,
    mut framework: FrameworkInfo,
    scheduler: S,
    options: Options,
) -> Result<SchedulerHandle<S>, DriverError> {
    if framework.user.is_empty() {
        framework.user = current_user().unwrap_or_default();
    }
    // Mesos treats an empty id as none: a new framework, not a failover.
    framework.id = framework.id.filter(|id| !id.value.is_empty());
    let id = format!("scheduler-{}", random::uuid_v4_string());
    let me = Pid::new(id.as_str(), node.address());
    let (done_tx, done) = oneshot::channel();
    let failover = framework.id.is_some();
    let process = SchedulerProcess {
        scheduler: Some(Box::new(scheduler)),
        driver: SchedulerDriver {
            node: node.clone(),
            me,
            master,
            framework,
            connected: false,
            implicit_acknowledgements: options.implicit_acknowledgements,
            status: Status::Running,
            driver_updates: Vec::new(),
            pending_ack: None,
        },
        failover,
        retry: None,
        linked: false,
        ignored: node.metrics().counter("scheduler/ignored_messages"),
        done: Some(done_tx),
    };
    let process = node.spawn(id, process)?;
    Ok(SchedulerHandle {
        calls: SchedulerCalls::new(process.pid().clone(), move |call| {
            process.tell(process.pid(), call)
        }),
        done,
    })
}

/// A running driver, seen from outside its process (what [`start`]
/// returns; the executor's counterpart is
/// [`ExecutorHandle`](crate::executor::driver::ExecutorHandle)): its pid,
/// the calls it takes from outside, and the wait for its end.
pub struct SchedulerHandle<S> {
    /// Every clone handed out queues to the same driver process.
    calls: SchedulerCalls,
    /// Fires once with how the driver ended and the scheduler.
    done: oneshot::Receiver<(Status, Box<S>)>,
}

impl<S> SchedulerHandle<S> {
    /// The driver's calls, for code outside the driver process.
    pub fn calls(&self) -> SchedulerCalls {
        self.calls.clone()
    }

    pub fn pid(&self) -> &Pid {
        self.calls.pid()
    }

    /// Waits until the driver ends; returns how, and the scheduler.
    pub async fn join(self) -> Result<(Status, S), DriverError> {
        self.done
            .await
            .map(|(status, scheduler)| (status, *scheduler))
            .map_err(|_| DriverError::Vanished)
    }
}
