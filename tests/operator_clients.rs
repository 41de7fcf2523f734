//! Real operator clients from PyPI, unmodified, against a `mesos-local`
//! cluster (both installed into `.venv` by `scripts/setup.sh`):
//!
//! - `avmesos-cli` 1.0.0 (its command is `mesos-cli`; it reads the master's
//!   address from the TOML file named by `MESOS_CLI_CONFIG`): `agent list`,
//!   `framework list`, `framework inspect`, `task list`, `task inspect`.
//!   It reads `/master/slaves`, `/master/frameworks/` and
//!   `/master/tasks?limit=-1`, so it depends on trailing slashes and on
//!   `limit=-1`. That release has no command that reads a task's output
//!   (its `task exec` and `task attach` need the agent's container-session
//!   calls, and fail in the client itself); the finished task's output is
//!   read as tools read it, through the sandbox that the agent's
//!   `completed_executors` name.
//! - pymesos's operator driver (`MesosOperatorMasterDriver`), which posts
//!   to `/api/v1/operator` (served by `/api/v1` as libprocess routes by
//!   prefix): the read calls, and the `SUBSCRIBE` stream following a task
//!   from TASK_ADDED to TASK_FINISHED.

mod common;

use std::io::BufRead;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use common::{Daemon, Guard, TempDir};
use serde_json::Value;

const LOCAL: &str = env!("CARGO_BIN_EXE_mesos-local");
const EXECUTE: &str = env!("CARGO_BIN_EXE_mesos-execute");
const WAIT: Duration = Duration::from_secs(30);

fn json(address: &str, path: &str) -> Value {
    let (status, body) = common::http_get(address, path);
    assert_eq!(status, 200, "{path}: {body}");
    serde_json::from_str(&body).unwrap_or_else(|e| panic!("{path}: {e}: {body}"))
}

/// `mesos-local` in `dir`, with room for a few tasks; returns once its
/// agent is registered (so the master has recovered its registry).
fn local_cluster(dir: &TempDir) -> Daemon {
    let cluster = Daemon::start(
        LOCAL,
        &[
            "--port=0",
            &format!("--work_dir={}", dir.path().join("work").display()),
            "--resources=cpus:4;mem:1024",
            "--allocation_interval=100ms",
        ],
    );
    let registered = common::wait_until(WAIT, || {
        let (status, body) = common::http_get(&cluster.address, "/master/slaves");
        status == 200 && body.contains(r#""active":true"#)
    });
    assert!(registered, "the agent never registered:\n{}", cluster.log());
    cluster
}

/// `mesos-execute` running `command` as task `name`.
fn execute(address: &str, name: &str, command: &str) -> Command {
    let mut c = Command::new(EXECUTE);
    c.args([
        format!("--master={address}"),
        format!("--name={name}"),
        format!("--command={command}"),
    ]);
    c
}

/// The `bin` directory of the project's venv.
fn venv_bin() -> PathBuf {
    let python = common::venv_python();
    python
        .parent()
        .expect("the venv's bin directory")
        .to_path_buf()
}

/// The operator CLI of `avmesos-cli`, configured for `address` through a
/// private config file and home in `dir`.
struct Cli {
    program: PathBuf,
    config: PathBuf,
    home: PathBuf,
}

impl Cli {
    fn new(dir: &TempDir, address: &str) -> Cli {
        let program = venv_bin().join("mesos-cli");
        assert!(
            program.exists(),
            "{} is missing: run scripts/setup.sh to install avmesos-cli",
            program.display()
        );
        let home = dir.path().join("home");
        std::fs::create_dir_all(home.join(".mesos")).expect("home");
        let config = home.join(".mesos/config.toml");
        std::fs::write(&config, format!("[master]\naddress = \"{address}\"\n")).expect("config");
        Cli {
            program,
            config,
            home,
        }
    }

    /// Runs `mesos-cli args...`; returns its output, which must be a
    /// success with nothing on stderr.
    fn run(&self, args: &[&str]) -> String {
        // Its launcher runs `python -m ...`: the venv's python comes first.
        let path = format!(
            "{}:{}",
            venv_bin().display(),
            std::env::var("PATH").unwrap_or_default()
        );
        let out = common::run_with_deadline(
            Command::new(&self.program)
                .args(args)
                .env("MESOS_CLI_CONFIG", &self.config)
                .env("HOME", &self.home)
                .env("PATH", path),
            WAIT,
        );
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            out.status.success() && stderr.trim().is_empty(),
            "mesos-cli {args:?}: {}\n{stdout}\n{stderr}",
            out.status
        );
        stdout
    }
}

/// The rows of a table the CLI printed, below its header, as columns.
fn rows(table: &str) -> Vec<Vec<String>> {
    table
        .lines()
        .skip(1)
        .map(|l| l.split_whitespace().map(str::to_owned).collect())
        .filter(|r: &Vec<String>| !r.is_empty())
        .collect()
}

#[test]
fn avmesos_cli_lists_and_inspects_agents_frameworks_and_tasks() {
    let dir = TempDir::new("avmesos-cli");
    let cluster = local_cluster(&dir);
    let a = cluster.address.clone();
    // A task that finishes and one that keeps running.
    let done = common::run_with_deadline(
        &mut execute(&a, "finished-task", "echo output-of-the-finished-task"),
        WAIT,
    );
    assert!(done.status.success(), "{}", cluster.log());
    let _running = Guard(
        execute(&a, "running-task", "sleep 600")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("mesos-execute"),
    );
    assert!(
        common::wait_until(WAIT, || common::http_get(&a, "/master/tasks")
            .1
            .contains("TASK_RUNNING")),
        "the task never ran:\n{}",
        cluster.log()
    );
    let cli = Cli::new(&dir, &a);

    let slaves = json(&a, "/master/slaves");
    let agent_id = slaves["slaves"][0]["id"].as_str().expect("an agent id");
    let agents = cli.run(&["agent", "list"]);
    assert_eq!(
        rows(&agents),
        [vec![agent_id.to_owned(), "127.0.0.1".into(), "True".into()]],
        "{agents}"
    );

    let frameworks = json(&a, "/master/frameworks");
    let running_framework = frameworks["frameworks"][0]["id"]
        .as_str()
        .expect("a framework id")
        .to_owned();
    let listed = cli.run(&["framework", "list"]);
    let listed_rows = rows(&listed);
    assert_eq!(listed_rows.len(), 1, "only the active framework: {listed}");
    assert_eq!(listed_rows[0][0], running_framework, "{listed}");
    assert_eq!(listed_rows[0][1], "True", "{listed}");
    let inspected: Value =
        serde_json::from_str(&cli.run(&["framework", "inspect", &running_framework]))
            .expect("framework inspect prints JSON");
    assert_eq!(inspected["id"], running_framework.as_str());
    assert_eq!(inspected["active"], true);
    assert!(inspected.get("tasks").is_none(), "the CLI drops tasks");

    let running = cli.run(&["task", "list"]);
    assert_eq!(
        rows(&running),
        [vec![
            "running-task".to_owned(),
            "TASK_RUNNING".into(),
            running_framework.clone(),
            "running-task".into(),
        ]],
        "{running}"
    );
    let all = cli.run(&["task", "list", "--all"]);
    let states: Vec<(String, String)> = rows(&all)
        .into_iter()
        .map(|r| (r[0].clone(), r[1].clone()))
        .collect();
    assert!(
        states.contains(&("finished-task".into(), "TASK_FINISHED".into()))
            && states.contains(&("running-task".into(), "TASK_RUNNING".into())),
        "{all}"
    );
    let task: Value = serde_json::from_str(&cli.run(&["task", "inspect", "finished-task"]))
        .expect("task inspect prints JSON");
    assert_eq!(task["id"], "finished-task");
    assert_eq!(task["state"], "TASK_FINISHED");
    assert_eq!(task["slave_id"], agent_id);

    // The finished task's output: its executor is among the agent's
    // completed executors, whose directory is the sandbox.
    let framework_id = task["framework_id"].as_str().expect("framework id");
    let sandbox = common::poll(WAIT, || {
        let state = json(&a, "/slave(1)/state");
        ["frameworks", "completed_frameworks"]
            .iter()
            .flat_map(|k| state[*k].as_array().cloned().unwrap_or_default())
            .filter(|f| f["id"] == framework_id)
            .flat_map(|f| {
                f["completed_executors"]
                    .as_array()
                    .cloned()
                    .unwrap_or_default()
            })
            .find(|e| e["id"] == "finished-task")
            .and_then(|e| e["directory"].as_str().map(str::to_owned))
    })
    .expect("the finished task's executor among the completed executors");
    let read = json(&a, &format!("/files/read?path={sandbox}/stdout&offset=0"));
    assert!(
        read["data"]
            .as_str()
            .is_some_and(|d| d.contains("output-of-the-finished-task")),
        "{read}"
    );
}

/// The lines a child prints, as they come.
fn lines_of(child: &mut std::process::Child) -> mpsc::Receiver<String> {
    let stdout = child.stdout.take().expect("piped stdout");
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
        {
            if tx.send(line).is_err() {
                return;
            }
        }
    });
    rx
}

/// The JSON a `<tag> <json>` line of the operator script carries.
fn tagged(lines: &[String], tag: &str) -> Vec<Value> {
    lines
        .iter()
        .filter_map(|l| l.strip_prefix(tag))
        .filter_map(|rest| rest.strip_prefix(' '))
        .map(|j| serde_json::from_str(j).unwrap_or_else(|e| panic!("{tag}: {e}: {j}")))
        .collect()
}

#[test]
fn pymesos_operator_driver_reads_the_cluster_and_follows_a_task() {
    let dir = TempDir::new("pymesos-operator");
    let cluster = local_cluster(&dir);
    let a = cluster.address.clone();
    // Its log goes to a file: a pipe nobody reads could fill and stall it.
    let log = dir.path().join("operator_driver.log");
    let mut script = Guard(
        Command::new(common::venv_python())
            .arg(common::pymesos_script("operator_driver.py"))
            .arg(&a)
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&log).expect("log file"))
            .spawn()
            .expect("operator_driver.py"),
    );
    let rx = lines_of(&mut script.0);
    let mut lines = Vec::new();
    loop {
        match rx.recv_timeout(WAIT) {
            Ok(line) if line == "subscribed" => break,
            Ok(line) => lines.push(line),
            Err(_) => panic!("the driver never subscribed: {lines:?}\n{}", cluster.log()),
        }
    }
    // Subscribed: a task launched now is followed on the stream.
    let done = common::run_with_deadline(&mut execute(&a, "followed", "true"), WAIT);
    assert!(done.status.success(), "{}", cluster.log());
    let finished = common::wait_until(
        WAIT,
        || matches!(script.0.try_wait(), Ok(Some(status)) if status.success()),
    );
    lines.extend(rx.try_iter());
    assert!(
        finished,
        "the script did not see TASK_FINISHED: {lines:?}\n{}",
        std::fs::read_to_string(&log).unwrap_or_default()
    );

    let health = &tagged(&lines, "call GET_HEALTH")[0];
    assert_eq!(health["get_health"]["healthy"], true, "{health}");
    let version = &tagged(&lines, "call GET_VERSION")[0];
    assert_eq!(
        version["get_version"]["version_info"]["version"],
        json(&a, "/version")["version"],
        "{version}"
    );
    let agents = &tagged(&lines, "call GET_AGENTS")[0];
    assert_eq!(
        agents["get_agents"]["agents"][0]["agent_info"]["id"]["value"],
        json(&a, "/master/slaves")["slaves"][0]["id"],
        "{agents}"
    );
    for call in ["GET_FRAMEWORKS", "GET_TASKS", "GET_STATE"] {
        let answers = tagged(&lines, &format!("call {call}"));
        assert_eq!(answers.len(), 1, "{call}: {lines:?}");
        assert_eq!(answers[0]["type"], call, "{}", answers[0]);
    }
    let added = tagged(&lines, "task_added");
    assert!(
        added.iter().any(|t| t["task_id"]["value"] == "followed"),
        "{lines:?}"
    );
    let updates = tagged(&lines, "task_updated");
    let states: Vec<&str> = updates
        .iter()
        .filter(|u| u["status"]["task_id"]["value"] == "followed")
        .filter_map(|u| u["state"].as_str())
        .collect();
    assert_eq!(states.last(), Some(&"TASK_FINISHED"), "{lines:?}");
    assert!(
        !tagged(&lines, "framework_added").is_empty(),
        "the framework's arrival is an event too: {lines:?}"
    );
}
