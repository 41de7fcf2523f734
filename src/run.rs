//! Starting the daemons' processes on a node: shared by `mesos-master`,
//! `mesos-agent` and `mesos-local` (which runs a master and agents on one
//! node, as Mesos's local cluster does in one libprocess instance).

use std::net::SocketAddr;

use actors::{Node, NodeConfig, Pid};
use wire::mesos::{AgentInfo, MasterInfo, VERSION};

use crate::agent::{Agent, AgentFlags};
use crate::daemon;
use crate::master::{Master, MasterFlags, MASTER_ID};
use crate::stop::StopNotice;
use crate::zookeeper::LeaderDetected;

/// A started daemon: its node and the address it serves on.
pub struct Running {
    pub node: Node,
    pub address: SocketAddr,
    pub pid: Pid,
    /// ZooKeeper watches feeding the process; dropping them stops them
    /// (and withdraws a master's candidacy).
    pub watches: Vec<crate::zookeeper::Forwarding>,
    /// What a master announces about itself.
    pub master_info: Option<MasterInfo>,
}

fn node_config(
    ip: Option<std::net::IpAddr>,
    port: u16,
    advertise_ip: Option<std::net::IpAddr>,
    advertise_port: Option<u16>,
) -> NodeConfig {
    NodeConfig {
        ip: ip.unwrap_or_else(daemon::default_ip),
        port,
        advertise_ip,
        advertise_port,
        ..NodeConfig::default()
    }
}

/// Binds a node for the master and spawns the `master` process on it;
/// it tells `stop` why if it stops.
pub async fn start_master(flags: MasterFlags, stop: &StopNotice) -> Result<Running, String> {
    let config = node_config(
        flags.ip,
        flags.port,
        flags.advertise_ip,
        flags.advertise_port,
    );
    let node = Node::bind(config.clone())
        .await
        .map_err(|e| format!("cannot listen on {}:{}: {e}", config.ip, config.port))?;
    let zk = flags.zk.clone();
    let session_timeout = flags.zk_session_timeout;
    let mut running = spawn_master(&node, flags, stop)?;
    if let Some(zk) = zk {
        running.watches = elect(&running, &zk, session_timeout)?;
    }
    Ok(running)
}

/// Makes the master at `running` a contender for leadership through
/// ZooKeeper, and keeps it told who leads.
fn elect(
    running: &Running,
    zk: &str,
    session_timeout: std::time::Duration,
) -> Result<Vec<crate::zookeeper::Forwarding>, String> {
    use crate::master::process::Contend;
    use crate::zookeeper::{detector_for, MasterContender};
    let master = running
        .node
        .lookup(MASTER_ID)
        .ok_or("the master process is gone")?;
    let contender = MasterContender::from_flag(Some(zk), session_timeout)
        .map_err(|e| format!("Failed to load flag 'zk': {e}"))?;
    // The master owns its candidacy: it contends again after losing it.
    running
        .node
        .send_local(&master, &master, Contend { contender });
    let detector = detector_for(zk, session_timeout).map_err(|e| e.to_string())?;
    let (node, to) = (running.node.clone(), master);
    let detecting = detector
        .follow(move |leader| node.send_local(&to, &to, LeaderDetected { leader }))
        .map_err(|e| e.to_string())?;
    Ok(vec![detecting])
}

/// Spawns the `master` process on an existing node.
pub fn spawn_master(node: &Node, flags: MasterFlags, stop: &StopNotice) -> Result<Running, String> {
    let store = registry_store(node, &flags)?;
    let address = node.address();
    let hostname = flags
        .hostname
        .clone()
        .unwrap_or_else(|| address.ip().to_string());
    let info = MasterInfo {
        id: crate::random::uuid_v4_string(),
        ip: address.ip().to_string(),
        port: address.port(),
        pid: format!("{MASTER_ID}@{address}"),
        hostname,
        version: VERSION.into(),
    };
    let info_copy = info.clone();
    let master = node
        .spawn(
            MASTER_ID,
            Master::new(flags, info, store).with_stop_notice(stop.clone()),
        )
        .map_err(|e| e.to_string())?;
    node.set_delegate(MASTER_ID);
    Ok(Running {
        node: node.clone(),
        address,
        pid: master.pid().clone(),
        watches: Vec::new(),
        master_info: Some(info_copy),
    })
}

/// Binds a node for an agent and spawns the agent process on it. `id`
/// names the process (`slave(1)` when `None`); it tells `stop` why if it
/// stops.
pub async fn start_agent(
    flags: AgentFlags,
    id: Option<String>,
    stop: &StopNotice,
) -> Result<Running, String> {
    let config = node_config(
        flags.ip,
        flags.port,
        flags.advertise_ip,
        flags.advertise_port,
    );
    let node = Node::bind(config.clone())
        .await
        .map_err(|e| format!("cannot listen on {}:{}: {e}", config.ip, config.port))?;
    if !(flags.master.starts_with("zk://") || flags.master.starts_with("file://")) {
        let running = spawn_agent(&node, flags, id, stop)?;
        node.set_delegate(running.pid.id());
        return Ok(running);
    }
    // Follow the leading master through ZooKeeper: wait for the first, then
    // tell the agent of every change.
    let detector = crate::zookeeper::detector_for(&flags.master, flags.zk_session_timeout)
        .map_err(|e| format!("Failed to load flag 'master': {e}"))?;
    tracing::info!("waiting for a leading master");
    let leader = detector
        .detect(None)
        .await
        .ok_or("the master detector stopped before finding a leader")?;
    let mut flags = flags;
    flags.master = leader.pid.clone();
    let mut running = spawn_agent(&node, flags, id, stop)?;
    node.set_delegate(running.pid.id());
    let (n, to) = (node.clone(), running.pid.clone());
    let watch = detector
        .follow(move |leader| n.send_local(&to, &to, LeaderDetected { leader }))
        .map_err(|e| e.to_string())?;
    running.watches.push(watch);
    Ok(running)
}

/// Spawns an agent process on an existing node.
pub fn spawn_agent(
    node: &Node,
    flags: AgentFlags,
    id: Option<String>,
    stop: &StopNotice,
) -> Result<Running, String> {
    let master = daemon::resolve_pid(&flags.master, MASTER_ID)?;
    std::fs::create_dir_all(&flags.work_dir).map_err(|e| {
        format!(
            "cannot create --work_dir '{}': {e}",
            flags.work_dir.display()
        )
    })?;
    let facts = crate::agent::resources::MachineFacts::detect(&flags.work_dir);
    let resources = crate::agent::resources::agent_resources(
        flags.resources.as_deref(),
        &flags.default_role,
        &facts,
    )
    .map_err(|e| format!("Failed to load flag 'resources': {e}"))?;
    let attributes = crate::agent::resources::agent_attributes(flags.attributes.as_deref())
        .map_err(|e| format!("Failed to load flag 'attributes': {e}"))?;
    let address = node.address();
    let info = AgentInfo {
        hostname: flags
            .hostname
            .clone()
            .unwrap_or_else(|| address.ip().to_string()),
        port: address.port(),
        resources,
        attributes,
        id: None,
    };
    serve_sandboxes(node, flags.work_dir.join("slaves"))?;
    let recovered = recover_checkpoint(&flags.work_dir)?;
    if let Some(old) = recovered.as_ref().map(|r| &r.agent) {
        crate::agent::checkpoint::compatible(old, &info, flags.reconfiguration_policy).map_err(
            |e| {
                format!(
                    "Failed to perform recovery: incompatible agent info: {e} \
                     (--reconfiguration_policy={}). To restart this agent with a new agent id, \
                     remove {}",
                    match flags.reconfiguration_policy {
                        crate::agent::flags::ReconfigurationPolicy::Equal => "equal",
                        crate::agent::flags::ReconfigurationPolicy::Additive => "additive",
                    },
                    crate::agent::checkpoint::meta_dir(&flags.work_dir).display()
                )
            },
        )?;
    }
    // Reservations and volumes the master made survive the restart.
    let mut info = info;
    if let Some(old) = recovered.as_ref().map(|r| &r.agent) {
        info.resources =
            crate::agent::resources::with_checkpointed(&info.resources, &old.resources);
    }
    let id = id.unwrap_or_else(|| node.generate_id("slave"));
    let agent = node
        .spawn(
            id,
            Agent::new(flags, info, master)
                .with_checkpoint(recovered)
                .with_stop_notice(stop.clone()),
        )
        .map_err(|e| e.to_string())?;
    Ok(Running {
        node: node.clone(),
        address,
        pid: agent.pid().clone(),
        watches: Vec::new(),
        master_info: None,
    })
}

/// What a previous run of the agent checkpointed in `work_dir`, unless the
/// host rebooted since (then its executors are gone and the agent starts
/// afresh, as a new agent). A checkpoint that cannot be read stops the
/// start, telling the operator what to remove.
fn recover_checkpoint(
    work_dir: &std::path::Path,
) -> Result<Option<crate::agent::checkpoint::CheckpointedState>, String> {
    use crate::agent::checkpoint;
    let meta = checkpoint::meta_dir(work_dir);
    let recovered = checkpoint::recover(work_dir).map_err(|e| {
        format!(
            "Failed to perform recovery: {e}. To restart this agent with a new agent id \
             (its executors are then not recovered), remove {}",
            meta.display()
        )
    })?;
    let Some(recovered) = recovered else {
        return Ok(None);
    };
    let now = checkpoint::current_boot_id();
    if recovered.boot_id.is_some() && now.is_some() && recovered.boot_id != now {
        tracing::info!(
            "the host rebooted since the agent's last run: starting as a new agent, removing {}",
            meta.display()
        );
        checkpoint::Store::new(work_dir)
            .clear()
            .map_err(|e| e.to_string())?;
        return Ok(None);
    }
    Ok(Some(recovered))
}

/// Makes the node's `files` process (spawned on first use) serve `dir`.
fn serve_sandboxes(node: &Node, dir: std::path::PathBuf) -> Result<(), String> {
    use crate::files::{AddRoot, Files, FILES_ID};
    let files = match node.lookup(FILES_ID) {
        Some(pid) => pid,
        None => node
            .spawn(FILES_ID, Files::new())
            .map_err(|e| e.to_string())?
            .pid()
            .clone(),
    };
    node.send_local(&files, &files, AddRoot(dir));
    Ok(())
}

/// The registry's home by `--registry`: `in_memory`, or `replicated_log`
/// under `--work_dir` (required then). A master without ZooKeeper keeps a
/// log of its own (quorum 1); masters with ZooKeeper share one, their
/// replicas found in `<zk path>/log_replicas` (`--quorum` required).
fn registry_store(
    node: &Node,
    flags: &MasterFlags,
) -> Result<Box<dyn crate::registrar::Store>, String> {
    use crate::log::{Log, LogConfig, RedbStorage, ReplicaProcess};
    use crate::registrar::LogStore;
    match flags.registry.as_str() {
        "in_memory" => Ok(Box::new(crate::registrar::InMemoryStore::default())),
        _ => {
            let work_dir = flags
                .work_dir
                .as_ref()
                .ok_or("--work_dir is required for --registry=replicated_log")?;
            let storage = RedbStorage::open_in_work_dir(std::path::Path::new(work_dir))
                .map_err(|e| format!("cannot open the replicated log in '{work_dir}': {e}"))?;
            let replica = ReplicaProcess::spawn(node, storage).map_err(|e| e.to_string())?;
            match &flags.zk {
                None => {
                    let mut config = LogConfig::new(1, replica.clone(), vec![replica]);
                    config.metrics_prefix = "registrar/".into();
                    let log = Log::spawn(node, config).map_err(|e| e.to_string())?;
                    Ok(Box::new(LogStore::new(log)))
                }
                Some(zk) => {
                    let quorum = flags
                        .quorum
                        .filter(|q| *q >= 1)
                        .ok_or("--quorum is required with --zk and --registry=replicated_log")?;
                    let url = crate::zookeeper::ZkUrl::parse(zk)
                        .map_err(|e| format!("Failed to load flag 'zk': {e}"))?;
                    let group = crate::zookeeper::ReplicaGroup::join(
                        &url,
                        flags.zk_session_timeout,
                        replica.to_string(),
                    )
                    .map_err(|e| e.to_string())?;
                    Ok(Box::new(LogStore::over_group(
                        node.clone(),
                        replica,
                        quorum,
                        group,
                    )))
                }
            }
        }
    }
}
