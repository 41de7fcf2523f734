//! A `marathon` instance's life: its node on `--http_port` (the REST API
//! and the driver's connection to Mesos share it), its store, the marathon
//! process (which joins the election and, while it leads, runs the
//! framework's driver), and the wait until the driver ends for good.
//!
//! Where state lives (Marathon 1.10 always needs ZooKeeper; ours need not):
//! with `--zk` (or `MARATHON_ZK`) given, in ZooKeeper under
//! `<zk path>/state`, and the instances sharing that `--zk` elect a leader
//! under `<zk path>/leader-curator` unless `--disable_ha`; without it, in
//! files under `--work_dir` (`/tmp/marathon` by default), with this
//! instance the only one and always the leader.

use std::path::Path;
use std::sync::Arc;

use actors::{Node, NodeConfig};
use serde_json::json;
use wire::mesos::FrameworkInfo;

use super::flags::MarathonFlags;
use super::instances::Settings;
use super::process::{Config, MarathonProcess, MasterAt};
use super::store::file::FileStore;
use super::store::zk::ZkStore;
use super::store::Store;
use crate::scheduler::MasterSource;
use crate::zookeeper::parse_zk_flag;

/// The process id the REST API is served by (the node's delegate).
pub const MARATHON_ID: &str = "marathon";

/// Runs until the driver ends for good (the master refused or removed the
/// framework): the reason, or why the instance could not start.
pub fn run(flags: MarathonFlags) -> Result<(), String> {
    let mut config = NodeConfig {
        port: flags.http_port,
        ..NodeConfig::default()
    };
    if let Some(address) = &flags.http_address {
        config.ip = address
            .parse()
            .map_err(|_| format!("Bad value '{address}' for '--http_address'"))?;
    }
    let zk = if flags.zk_given {
        Some(parse_zk_flag(&flags.zk).map_err(|e| format!("Bad value for '--zk': {e}"))?)
    } else {
        None
    };
    actix::System::new().block_on(async move {
        let store: Arc<dyn Store> = match &zk {
            Some(url) => Arc::new(
                ZkStore::open(url, flags.zk_session_timeout, flags.zk_timeout)
                    .map_err(|e| e.to_string())?,
            ),
            None => {
                Arc::new(FileStore::open(Path::new(&flags.work_dir)).map_err(|e| e.to_string())?)
            }
        };
        let election = match &zk {
            Some(url) if flags.ha => Some((url.clone(), flags.zk_session_timeout)),
            _ => None,
        };
        if zk.is_none() && flags.ha {
            tracing::info!(
                "no --zk: state is kept under {} and this instance leads alone",
                flags.work_dir
            );
        }
        let node = Node::bind(config)
            .await
            .map_err(|e| format!("cannot listen on port {}: {e}", flags.http_port))?;
        let address = node.address();
        let hostname = flags
            .hostname
            .clone()
            .unwrap_or_else(|| address.ip().to_string());
        let me = format!("{hostname}:{}", address.port());
        let role = flags.mesos_role.clone().unwrap_or_else(|| "*".into());
        let settings = Settings {
            role: role.clone(),
            env_prefix: flags.env_vars_prefix.clone(),
            decline_seconds: flags.decline_offer_duration.as_secs_f64(),
            max_instances_per_offer: flags.max_instances_per_offer,
            task_launch_timeout: flags.task_launch_timeout,
            kill_retry: flags.kill_retry_timeout,
        };
        let info = json!({
            "name": "marathon",
            "version": "1.10.0",
            "buildref": wire::mesos::VERSION,
            "elected": true,
            "leader": me,
            "frameworkId": null,
            "marathon_config": {
                "master": flags.master,
                "framework_name": flags.framework_name,
                "mesos_role": flags.mesos_role,
                "mesos_user": flags.mesos_user,
                "failover_timeout": flags.failover_timeout,
                "hostname": hostname,
                "local_port_min": flags.local_port_min,
                "local_port_max": flags.local_port_max,
                "task_launch_timeout": flags.task_launch_timeout.as_millis() as u64,
                "decline_offer_duration": flags.decline_offer_duration.as_millis() as u64,
                "ha": flags.ha,
            },
            "zookeeper_config": {
                "zk": if flags.zk_given { json!(flags.zk) } else { json!(null) },
                "zk_timeout": flags.zk_timeout.as_millis() as u64,
                "zk_session_timeout": flags.zk_session_timeout.as_millis() as u64,
                "zk_max_versions": flags.zk_max_versions,
            },
            "http_config": {"http_port": address.port()},
        });
        let mut framework = FrameworkInfo::new(
            flags.mesos_user.as_deref().unwrap_or(""),
            &flags.framework_name,
        );
        framework.failover_timeout = flags.failover_timeout;
        framework.checkpoint = true;
        framework.roles = vec![role];
        framework.hostname = Some(hostname);
        framework.principal = flags.principal.clone();
        framework.webui_url = Some(format!("http://{address}"));
        let (ended_tx, ended) = tokio::sync::oneshot::channel();
        tracing::info!(store = %store.describe(), ha = election.is_some(), "keeping state");
        let process = MarathonProcess::new(Config {
            settings,
            info,
            me,
            framework,
            store,
            election,
            max_versions: flags.zk_max_versions,
            ended: Some(ended_tx),
        });
        let marathon = node
            .spawn(MARATHON_ID, process)
            .map_err(|e| e.to_string())?;
        node.set_delegate(MARATHON_ID);
        tracing::info!(%address, "marathon serving its REST API");
        // The banner the daemons print, for supervisors and tests.
        println!("marathon started at http://{address}");

        let master = MasterSource::find(&flags.master)
            .await
            .map_err(|e| e.to_string())?;
        marathon.tell(marathon.pid(), MasterAt(master.pid().clone()));
        let _following = master
            .follow(&node, marathon.pid())
            .map_err(|e| e.to_string())?;
        let reason = ended
            .await
            .unwrap_or_else(|_| "the marathon process ended".into());
        node.shutdown();
        Err(reason)
    })
}
