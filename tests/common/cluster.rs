//! A cluster of real daemons for scenario tests: `mesos-master` and
//! `mesos-agent` as child processes on free loopback ports, each logging to
//! a file in one scratch directory. Everything is torn down when the test
//! ends, pass or fail: the daemons are killed, then any executor or task
//! still running in the scratch directory, then the directory is removed.
//! A failing test prints the daemons' logs.

use std::fs::File;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::Value;

use super::Guard;

/// How long a daemon has to print its banner.
const STARTUP: Duration = Duration::from_secs(20);

/// A scratch directory. Processes whose working directory is inside it
/// (executors and tasks run in sandboxes under the agents' work dirs) are
/// killed before it is removed, so no test leaves a process behind.
pub struct WorkDir(tempfile::TempDir);

impl WorkDir {
    pub fn new(prefix: &str) -> WorkDir {
        let dir = tempfile::Builder::new()
            .prefix(prefix)
            .tempdir()
            .expect("temp dir");
        WorkDir(dir)
    }

    /// The canonical path, so it compares with `/proc/<pid>/cwd`.
    pub fn path(&self) -> PathBuf {
        self.0
            .path()
            .canonicalize()
            .unwrap_or_else(|_| self.0.path().to_owned())
    }
}

impl Drop for WorkDir {
    fn drop(&mut self) {
        let left = kill_processes_in(&self.path(), Duration::from_secs(5));
        if !left.is_empty() {
            eprintln!(
                "processes still running in {}: {left:?}",
                self.path().display()
            );
        }
    }
}

/// Pids of the live processes whose working directory is `dir` or below.
/// (A zombie has no working directory, so it is not counted.)
pub fn processes_in(dir: &Path) -> Vec<i32> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    let me = std::process::id() as i32;
    entries
        .filter_map(Result::ok)
        .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
        .filter(|pid| *pid != me)
        .filter(|pid| {
            std::fs::read_link(format!("/proc/{pid}/cwd")).is_ok_and(|cwd| cwd.starts_with(dir))
        })
        .collect()
}

/// The command name of the command executor's processes.
pub const EXECUTOR: &str = "mesos-executor";

/// The command name (`/proc/<pid>/comm`) of a process.
pub fn command_name(pid: i32) -> String {
    std::fs::read_to_string(format!("/proc/{pid}/comm"))
        .map(|s| s.trim().to_owned())
        .unwrap_or_default()
}

/// SIGKILLs every process working in `dir` until none is left or `deadline`
/// passes; returns the ones left.
pub fn kill_processes_in(dir: &Path, deadline: Duration) -> Vec<i32> {
    let end = Instant::now() + deadline;
    loop {
        let pids = processes_in(dir);
        if pids.is_empty() || Instant::now() >= end {
            return pids;
        }
        for pid in pids {
            // SAFETY: a plain system call on a pid read just now.
            unsafe {
                libc::kill(pid, libc::SIGKILL);
            }
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A daemon binary of this package: cargo names it to integration tests
/// (the benches, which share these helpers, start their own).
fn binary(path: Option<&'static str>) -> &'static str {
    path.expect("daemon binaries are known to integration tests only")
}

/// A daemon child process, killed when dropped.
pub struct Daemon {
    name: String,
    child: Guard,
    address: SocketAddr,
    log: PathBuf,
}

impl Daemon {
    /// Starts `program` with `args`, its stderr (the log) going to `log`,
    /// and waits for the `... started at http://ip:port` banner.
    pub fn start(name: &str, program: &Path, args: &[String], log: PathBuf) -> Daemon {
        let log_file = File::create(&log).expect("log file");
        let mut command = Command::new(program);
        command
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(log_file);
        // If the test process dies without unwinding, so does the daemon.
        // SAFETY: prctl is async-signal-safe; the closure runs in the
        // forked child before exec.
        unsafe {
            command.pre_exec(|| {
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
                Ok(())
            });
        }
        // Flags come from the command line only.
        for (key, _) in std::env::vars() {
            if key.starts_with("MESOS_") || key.starts_with("LIBPROCESS_") {
                command.env_remove(key);
            }
        }
        let mut child = command.spawn().expect("spawn daemon");
        let stdout = child.stdout.take().expect("stdout");
        let child = Guard(child);
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            // Keeps reading after the banner so the daemon never blocks on
            // a full pipe.
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        let end = Instant::now() + STARTUP;
        let address = loop {
            let left = end.saturating_duration_since(Instant::now());
            match rx.recv_timeout(left) {
                Ok(line) => {
                    let address = line
                        .split_once("started at http://")
                        .and_then(|(_, a)| a.trim().parse::<SocketAddr>().ok());
                    if let Some(address) = address {
                        break address;
                    }
                }
                Err(_) => panic!(
                    "{name} did not print its address within {STARTUP:?}; log:\n{}",
                    std::fs::read_to_string(&log).unwrap_or_default()
                ),
            }
        };
        Daemon {
            name: name.to_owned(),
            child,
            address,
            log,
        }
    }

    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// The daemon's OS process id.
    pub fn os_pid(&self) -> u32 {
        self.child.0.id()
    }

    /// SIGKILLs the daemon and reaps it.
    pub fn kill(&mut self) {
        let _ = self.child.0.kill();
        let _ = self.child.0.wait();
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Waits up to `deadline` for the daemon to exit on its own; its exit
    /// status, if it did.
    pub fn wait_exit(&mut self, deadline: Duration) -> Option<std::process::ExitStatus> {
        super::poll(deadline, || self.child.0.try_wait().ok().flatten())
    }
}

/// A master and its agents.
pub struct Cluster {
    // Fields drop in this order: daemons first, then the directory, whose
    // drop kills what the agents left running in it.
    pub agents: Vec<Daemon>,
    pub master: Daemon,
    /// Each agent's `--resources`, to restart it alike.
    agent_resources: Vec<String>,
    /// Agent restarts so far, to give each run a log of its own.
    restarts: usize,
    /// Flags every agent gets (before a restart's extra flags).
    agent_flags: Vec<String>,
    dir: WorkDir,
    /// The agents' cgroups (`--cgroups_root=<prefix>-agent<n>`), destroyed
    /// last, with whatever still runs in them.
    pub cgroups: CgroupsGuard,
}

/// The cgroups roots whose names start with `prefix`, in every hierarchy
/// under `/sys/fs/cgroup`: their processes are killed and they are
/// removed when the guard drops.
pub struct CgroupsGuard {
    pub prefix: String,
}

impl CgroupsGuard {
    /// A prefix no other test (or test process) uses.
    pub fn unique() -> CgroupsGuard {
        static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        CgroupsGuard {
            prefix: format!("mesos-test-{}-{n}", std::process::id()),
        }
    }

    /// Every cgroup directory of these roots, in every hierarchy.
    pub fn roots(&self) -> Vec<PathBuf> {
        let base = Path::new("/sys/fs/cgroup");
        let mut hierarchies: Vec<PathBuf> = std::fs::read_dir(base)
            .map(|d| d.filter_map(Result::ok).map(|e| e.path()).collect())
            .unwrap_or_default();
        hierarchies.push(base.to_owned());
        hierarchies
            .iter()
            .filter_map(|h| std::fs::read_dir(h).ok())
            .flat_map(|d| d.filter_map(Result::ok))
            .filter(|e| e.file_name().to_string_lossy().starts_with(&self.prefix))
            .map(|e| e.path())
            .filter(|p| p.is_dir())
            .collect()
    }
}

/// Kills everything in cgroup `dir` and below, then removes them, deepest
/// first. Frozen cgroups are thawed so that the kills land.
fn destroy_cgroup(dir: &Path) {
    let children: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|d| {
            d.filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|p| p.is_dir())
                .collect()
        })
        .unwrap_or_default();
    for child in children {
        destroy_cgroup(&child);
    }
    // Up to 30 s: a killed process whose parent died is reaped by the
    // machine's init, which can take more than 10 s here, and its cgroup
    // cannot be removed before.
    let _ = super::poll(Duration::from_secs(30), || {
        let _ = std::fs::write(dir.join("freezer.state"), "THAWED");
        let _ = std::fs::write(dir.join("cgroup.freeze"), "0");
        let procs = std::fs::read_to_string(dir.join("cgroup.procs")).unwrap_or_default();
        for pid in procs.lines().filter_map(|l| l.trim().parse::<i32>().ok()) {
            // SAFETY: a plain system call on a pid of the test's cgroup.
            unsafe {
                libc::kill(pid, libc::SIGKILL);
            }
        }
        (std::fs::remove_dir(dir).is_ok() || !dir.exists()).then_some(())
    });
}

impl Drop for CgroupsGuard {
    fn drop(&mut self) {
        for root in self.roots() {
            destroy_cgroup(&root);
        }
    }
}

impl Cluster {
    /// A master with `master_flags` (on top of a loopback address, a free
    /// port and a short allocation interval) and one agent per entry of
    /// `agents`, each with those resources. Returns once every agent is
    /// registered.
    pub fn start(master_flags: &[&str], agents: &[&str]) -> Cluster {
        Cluster::start_with(master_flags, agents, &[])
    }

    /// As [`Cluster::start`], every agent (and its restarts) started with
    /// `agent_flags` too.
    pub fn start_with(master_flags: &[&str], agents: &[&str], agent_flags: &[String]) -> Cluster {
        let dir = WorkDir::new("cluster-");
        let mut args = vec![
            "--ip=127.0.0.1".to_owned(),
            "--port=0".to_owned(),
            "--allocation_interval=100ms".to_owned(),
            // The registry in the replicated log, as by default.
            format!("--work_dir={}", dir.path().join("master").display()),
        ];
        args.extend(master_flags.iter().map(|f| f.to_string()));
        let master = Daemon::start(
            "master",
            Path::new(binary(option_env!("CARGO_BIN_EXE_mesos-master"))),
            &args,
            dir.path().join("master.log"),
        );
        let mut cluster = Cluster {
            agents: Vec::new(),
            master,
            agent_resources: Vec::new(),
            restarts: 0,
            agent_flags: agent_flags.to_vec(),
            dir,
            cgroups: CgroupsGuard::unique(),
        };
        for resources in agents {
            cluster.add_agent(resources);
        }
        let n = cluster.agents.len();
        let registered = super::poll(Duration::from_secs(20), || {
            let slaves = cluster.master_json("/master/slaves");
            let active = slaves["slaves"]
                .as_array()
                .map(|a| a.iter().filter(|s| s["active"] == true).count());
            (active == Some(n)).then_some(())
        });
        assert!(registered.is_some(), "{n} agents did not register");
        cluster
    }

    /// Starts one more agent with `resources`; it registers on its own.
    pub fn add_agent(&mut self, resources: &str) -> &Daemon {
        let n = self.agents.len();
        let agent = self.start_agent(n, resources, 0, &[], format!("agent{n}.log"));
        self.agents.push(agent);
        self.agent_resources.push(resources.to_owned());
        &self.agents[n]
    }

    /// Starts one more agent with `resources` and `extra` flags, and waits
    /// until the master lists it as active.
    pub fn add_agent_with(&mut self, resources: &str, extra: &[&str]) -> &Daemon {
        let n = self.agents.len();
        let agent = self.start_agent(n, resources, 0, extra, format!("agent{n}.log"));
        self.agents.push(agent);
        self.agent_resources.push(resources.to_owned());
        let want = self.agents.len();
        let registered = super::poll(Duration::from_secs(20), || {
            let slaves = self.master_json("/master/slaves");
            let active = slaves["slaves"]
                .as_array()
                .map(|a| a.iter().filter(|s| s["active"] == true).count());
            (active == Some(want)).then_some(())
        });
        assert!(registered.is_some(), "agent{n} did not register");
        &self.agents[n]
    }

    /// Starts agent `n` again, as the same agent: on the port it had and
    /// with its work dir, plus `extra` flags. (Kill it first.)
    pub fn restart_agent(&mut self, n: usize, extra: &[&str]) -> &Daemon {
        let port = self.agents[n].address().port();
        let resources = self.agent_resources[n].clone();
        self.restarts += 1;
        let log = format!("agent{n}.restart{}.log", self.restarts);
        let agent = self.start_agent(n, &resources, port, extra, log);
        self.agents[n] = agent;
        &self.agents[n]
    }

    fn start_agent(
        &self,
        n: usize,
        resources: &str,
        port: u16,
        extra: &[&str],
        log: String,
    ) -> Daemon {
        let work_dir = self.dir.path().join(format!("agent{n}"));
        let mut args = vec![
            format!("--master={}", self.master.address()),
            "--ip=127.0.0.1".to_owned(),
            format!("--port={port}"),
            format!("--work_dir={}", work_dir.display()),
            format!("--resources={resources}"),
            "--registration_backoff_factor=100ms".to_owned(),
            // The same root across restarts, its own among all tests.
            format!("--cgroups_root={}", self.cgroups_root(n)),
        ];
        args.extend(self.agent_flags.iter().cloned());
        args.extend(extra.iter().map(|f| f.to_string()));
        Daemon::start(
            &format!("agent{n}"),
            Path::new(binary(option_env!("CARGO_BIN_EXE_mesos-agent"))),
            &args,
            self.dir.path().join(log),
        )
    }

    pub fn master_address(&self) -> SocketAddr {
        self.master.address()
    }

    /// The scratch directory: agents' work dirs and logs are inside.
    pub fn dir(&self) -> PathBuf {
        self.dir.path()
    }

    /// Agent `n`'s `--cgroups_root`.
    pub fn cgroups_root(&self, n: usize) -> String {
        format!("{}-agent{n}", self.cgroups.prefix)
    }

    /// Agent `n`'s work dir.
    pub fn agent_dir(&self, n: usize) -> PathBuf {
        self.dir.path().join(format!("agent{n}"))
    }

    /// Live processes (executors and tasks) in agent `n`'s work dir.
    pub fn processes_of_agent(&self, n: usize) -> Vec<i32> {
        processes_in(&self.agent_dir(n))
    }

    /// How many processes in agent `n`'s work dir are called `command`.
    pub fn count_processes_of_agent(&self, n: usize, command: &str) -> usize {
        self.processes_of_agent(n)
            .into_iter()
            .filter(|p| command_name(*p) == command)
            .count()
    }

    /// Waits until agent `n` runs `count` processes called `command`.
    pub async fn await_processes(&self, n: usize, command: &str, count: usize) {
        let wait = Duration::from_secs(10);
        let reached = super::poll_async(wait, || {
            (self.count_processes_of_agent(n, command) == count).then_some(())
        })
        .await;
        assert!(
            reached.is_some(),
            "agent{n} does not run {count} '{command}' within {wait:?}: {:?}",
            self.processes_of_agent(n)
                .into_iter()
                .map(command_name)
                .collect::<Vec<_>>()
        );
    }

    pub fn master_json(&self, path: &str) -> Value {
        get_json(self.master.address(), path)
    }

    /// Agent `n`'s `/state`.
    pub fn agent_state(&self, n: usize) -> Value {
        get_json(self.agents[n].address(), "/state")
    }

    /// The id agent `n` registered under.
    pub fn agent_id(&self, n: usize) -> String {
        self.agent_state(n)["id"]
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        if std::thread::panicking() {
            for daemon in std::iter::once(&self.master).chain(&self.agents) {
                eprintln!("----- {} log -----\n{}", daemon.name, daemon.log());
            }
        }
    }
}

/// GETs `path` from `address`; returns the status code and the body.
pub fn http_get(address: SocketAddr, path: &str) -> std::io::Result<(u16, String)> {
    let mut stream = TcpStream::connect_timeout(&address, Duration::from_secs(5))?;
    stream.set_read_timeout(Some(Duration::from_secs(5)))?;
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n"
    )?;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw)?;
    let text = String::from_utf8_lossy(&raw);
    let bad = || std::io::Error::new(std::io::ErrorKind::InvalidData, "not an HTTP response");
    let (head, body) = text.split_once("\r\n\r\n").ok_or_else(bad)?;
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(bad)?;
    let chunked = head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked");
    let body = if chunked {
        dechunk(body).ok_or_else(bad)?
    } else {
        body.to_owned()
    };
    Ok((status, body))
}

fn dechunk(mut body: &str) -> Option<String> {
    let mut out = String::new();
    loop {
        let (size, rest) = body.split_once("\r\n")?;
        let size = usize::from_str_radix(size.split(';').next()?.trim(), 16).ok()?;
        if size == 0 {
            return Some(out);
        }
        out.push_str(rest.get(..size)?);
        body = rest.get(size..)?.strip_prefix("\r\n")?;
    }
}

/// GETs `path` and parses the body as JSON; panics if that fails.
pub fn get_json(address: SocketAddr, path: &str) -> Value {
    let (status, body) =
        http_get(address, path).unwrap_or_else(|e| panic!("GET {address}{path}: {e}"));
    assert_eq!(status, 200, "GET {address}{path}: {body}");
    serde_json::from_str(&body).unwrap_or_else(|e| panic!("GET {address}{path}: {e}: {body}"))
}

/// A value of `address`'s `/metrics/snapshot`, if it answers.
pub fn metric(address: SocketAddr, key: &str) -> Option<f64> {
    http_get(address, "/metrics/snapshot")
        .ok()
        .and_then(|(_, body)| serde_json::from_str::<Value>(&body).ok())
        .and_then(|v| v[key].as_f64())
}

/// Whether every master's replica of the registry's log votes (has
/// initialised, or caught up after a restart).
pub fn all_voting(masters: &[Daemon]) -> bool {
    masters
        .iter()
        .all(|m| metric(m.address(), "registrar/log/recovered") == Some(1.0))
}

/// A `mesos-agent` on loopback and a free port, `agent<n>` under `dir`
/// (work dir and log), with `cpus:1;mem:256`, following `master` (an
/// address or a `zk://` URL), with `extra` flags.
pub fn agent_daemon(n: usize, master: &str, dir: &Path, extra: &[&str]) -> Daemon {
    let mut args = vec![
        "--ip=127.0.0.1".to_owned(),
        "--port=0".to_owned(),
        format!("--master={master}"),
        format!("--work_dir={}", dir.join(format!("agent{n}")).display()),
        "--resources=cpus:1;mem:256".to_owned(),
        // Without a cgroups root of its own, an agent would take other
        // tests' containers for orphans.
        "--launcher=posix".to_owned(),
    ];
    args.extend(extra.iter().map(|a| a.to_string()));
    Daemon::start(
        &format!("agent{n}"),
        Path::new(binary(option_env!("CARGO_BIN_EXE_mesos-agent"))),
        &args,
        dir.join(format!("agent{n}.log")),
    )
}
