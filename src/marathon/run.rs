//! A `marathon` instance's life: its node on `--http_port` (the REST API
//! and the driver's connection to Mesos share it), the marathon process,
//! the framework's driver, and the wait until the driver ends.

use actors::{Node, NodeConfig};
use serde_json::json;
use wire::mesos::FrameworkInfo;

use super::flags::MarathonFlags;
use super::instances::{Core, Settings};
use super::process::{Attach, Forward, MarathonProcess};
use crate::scheduler::{start, MasterSource, Options};

/// The process id the REST API is served by (the node's delegate).
pub const MARATHON_ID: &str = "marathon";

/// Runs until the driver ends; the reason it could not start otherwise.
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
    actix::System::new().block_on(async move {
        let node = Node::bind(config)
            .await
            .map_err(|e| format!("cannot listen on port {}: {e}", flags.http_port))?;
        let address = node.address();
        let hostname = flags
            .hostname
            .clone()
            .unwrap_or_else(|| address.ip().to_string());
        let leader = format!("{hostname}:{}", address.port());
        let role = flags.mesos_role.clone().unwrap_or_else(|| "*".into());
        let settings = Settings {
            role: role.clone(),
            env_prefix: flags.env_vars_prefix.clone(),
            decline_seconds: flags.decline_offer_duration.as_secs_f64(),
            max_instances_per_offer: flags.max_instances_per_offer,
            task_launch_timeout: flags.task_launch_timeout,
        };
        let info = json!({
            "name": "marathon",
            "version": "1.10.0",
            "buildref": wire::mesos::VERSION,
            "elected": true,
            "leader": leader,
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
                "zk": flags.zk,
                "zk_session_timeout": flags.zk_session_timeout.as_millis() as u64,
            },
            "http_config": {"http_port": address.port()},
        });
        let process =
            MarathonProcess::new(Core::new(settings, crate::random::seed()), info, leader);
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
        let driver = start(
            &node,
            master.pid().clone(),
            framework,
            Forward(marathon.clone()),
            Options::default(),
        )
        .map_err(|e| e.to_string())?;
        marathon.tell(driver.pid(), Attach(driver.calls()));
        let _following = master
            .follow(&node, driver.pid())
            .map_err(|e| e.to_string())?;
        let ended = driver.join().await.map_err(|e| e.to_string())?;
        tracing::info!(status = ?ended.0, "the driver ended");
        node.shutdown();
        Ok(())
    })
}
