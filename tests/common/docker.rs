//! A private Docker daemon for tests: `dockerd` on its own socket,
//! data-root and exec-root under a temporary directory, with a local
//! busybox image ([`IMAGE`]) built from `busybox-static` (no registry is
//! reachable). One daemon per test binary, shared by its tests while any
//! of them holds a [`Dockerd`]; once the last lets go, its containers are
//! removed, the daemon is stopped (SIGTERM, then SIGKILL) and what it left
//! on the machine is cleaned up: nsfs mounts under its exec-root, empty
//! `/sys/fs/cgroup/*/docker` cgroups, empty `/run/containerd` and
//! `/run/docker` directories, `/etc/docker` if it was not there before,
//! the temporary directory. This runs in every
//! outcome, a panicking test included (guards drop while unwinding).
//!
//! The shared daemon has no bridge (`--bridge=none --iptables=false
//! --ip-forward=false`), so that daemons of several test binaries do not
//! fight over `docker0`. A test that needs the default bridge takes
//! [`Dockerd::with_bridge`]: a daemon of its own, one at a time on the
//! machine (a lock file serializes them across binaries, and keeps
//! bridge-less daemons, which delete `docker0` as they start, from
//! starting meanwhile), which on drop
//! also deletes `docker0` and its iptables chains and puts back the
//! FORWARD policy and `ip_forward` as they were.
//!
//! Where no daemon can start (no `dockerd`, not root), [`Dockerd::get`]
//! returns `None` after printing why, and tests return early.

#![allow(dead_code)]

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

/// Debian's client (a newer one from no package may come first on PATH).
pub const DOCKER: &str = "/usr/bin/docker";
pub const DOCKERD: &str = "/usr/sbin/dockerd";
pub const BUSYBOX: &str = "/bin/busybox";
/// The image every test runs.
pub const IMAGE: &str = "busybox-test:latest";

const START: Duration = Duration::from_secs(30);
const STOP: Duration = Duration::from_secs(15);
const BRIDGE_LOCK: &str = "/tmp/mesos-tests-docker-bridge.lock";

/// The shared daemon of this test binary: who holds or waits for it, and
/// whether one of them is using it.
static SHARED: Mutex<Shared> = Mutex::new(Shared {
    holders: 0,
    busy: false,
    daemon: None,
});
/// Signalled when the shared daemon is let go.
static FREED: Condvar = Condvar::new();

struct Shared {
    /// Tests holding or waiting for the daemon; it stops at 0.
    holders: usize,
    /// One test at a time uses it: an agent takes every `mesos-*`
    /// container of its daemon as its own.
    busy: bool,
    daemon: Option<Arc<Daemon>>,
}

/// A hold on a private daemon; see the module docs.
pub struct Dockerd {
    /// `Some` until dropped (taken in `drop`, to stop it under the lock).
    daemon: Option<Arc<Daemon>>,
    /// `with_bridge` daemons are not shared; the shared one is counted.
    shared: bool,
}

impl Dockerd {
    /// The binary's shared daemon (started if none runs), once no other
    /// test uses it, without containers; or `None` with the reason printed
    /// when Docker cannot run here.
    pub fn get() -> Option<Dockerd> {
        let mut shared = SHARED.lock().unwrap_or_else(|e| e.into_inner());
        if shared.daemon.is_none() {
            match Daemon::start(false) {
                Ok(d) => shared.daemon = Some(Arc::new(d)),
                Err(why) => {
                    eprintln!("skipping: no private Docker daemon: {why}");
                    return None;
                }
            }
        }
        shared.holders += 1;
        while shared.busy {
            shared = FREED.wait(shared).unwrap_or_else(|e| e.into_inner());
        }
        shared.busy = true;
        let daemon = shared.daemon.clone()?;
        daemon.remove_containers();
        Some(Dockerd {
            daemon: Some(daemon),
            shared: true,
        })
    }

    /// A daemon of its own with the default bridge (`docker0`); one at a
    /// time on the machine.
    pub fn with_bridge() -> Option<Dockerd> {
        match Daemon::start(true) {
            Ok(d) => Some(Dockerd {
                daemon: Some(Arc::new(d)),
                shared: false,
            }),
            Err(why) => {
                eprintln!("skipping: no private Docker daemon with a bridge: {why}");
                None
            }
        }
    }

    fn daemon(&self) -> &Daemon {
        self.daemon.as_deref().expect("a held daemon")
    }

    pub fn socket(&self) -> &Path {
        &self.daemon().socket
    }

    /// `/usr/bin/docker -H unix://<socket> args...`.
    pub fn command(&self, args: &[&str]) -> Command {
        self.daemon().command(args)
    }

    /// Runs `docker args...`; its stdout, or a panic with its stderr.
    pub fn run(&self, args: &[&str]) -> String {
        let out = self
            .command(args)
            .output()
            .unwrap_or_else(|e| panic!("docker {args:?}: {e}"));
        assert!(
            out.status.success(),
            "docker {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Names of all containers (running or not) whose name has `prefix`.
    pub fn containers(&self, prefix: &str) -> Vec<String> {
        self.run(&[
            "ps",
            "-a",
            "--filter",
            &format!("name={prefix}"),
            "--format",
            "{{.Names}}",
        ])
        .lines()
        .map(str::trim)
        .filter(|n| n.starts_with(prefix))
        .map(str::to_owned)
        .collect()
    }

    /// `docker inspect` of one container, as JSON.
    pub fn inspect(&self, name: &str) -> Option<serde_json::Value> {
        let out = self
            .command(&["inspect", "--type=container", name])
            .output()
            .ok()?;
        if !out.status.success() {
            return None;
        }
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).ok()?;
        v.get(0).cloned()
    }

    /// The agent flags that make it use this daemon.
    pub fn agent_flags(&self) -> Vec<String> {
        vec![
            "--containerizers=docker,mesos".into(),
            format!("--docker={DOCKER}"),
            format!("--docker_socket={}", self.socket().display()),
        ]
    }
}

impl Drop for Dockerd {
    fn drop(&mut self) {
        if !self.shared {
            return; // The daemon's own drop stops it.
        }
        let mut shared = SHARED.lock().unwrap_or_else(|e| e.into_inner());
        drop(self.daemon.take());
        shared.busy = false;
        shared.holders = shared.holders.saturating_sub(1);
        if shared.holders == 0 {
            // Stopped here, under the lock, so that no new daemon starts
            // while this one is being cleaned up.
            shared.daemon = None;
        }
        drop(shared);
        FREED.notify_all();
    }
}

/// A running dockerd and what is needed to undo it.
struct Daemon {
    dir: tempfile::TempDir,
    socket: PathBuf,
    exec_root: PathBuf,
    child: Mutex<Option<Child>>,
    /// With the default bridge: what to put back, and the lock held.
    bridge: Option<BridgeState>,
    /// Whether `/etc/docker` (where dockerd writes its `key.json`) was
    /// there before this daemon started.
    had_etc_docker: bool,
}

struct BridgeState {
    ip_forward: String,
    forward_policy: String,
    _lock: fs::File,
}

impl Daemon {
    fn start(bridge: bool) -> Result<Daemon, String> {
        for program in [DOCKERD, DOCKER, BUSYBOX] {
            if !Path::new(program).exists() {
                return Err(format!(
                    "{program} is missing (scripts/setup.sh installs it)"
                ));
            }
        }
        // SAFETY: plain system call.
        if unsafe { libc::geteuid() } != 0 {
            return Err("dockerd needs root".into());
        }
        // A daemon without a bridge deletes `docker0` when it starts: it
        // starts only while no daemon with a bridge runs (shared lock, held
        // until it answers), and one with a bridge runs alone (exclusive
        // lock, held for its life).
        let lock = fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(BRIDGE_LOCK)
            .map_err(|e| format!("{BRIDGE_LOCK}: {e}"))?;
        let mode = if bridge { libc::LOCK_EX } else { libc::LOCK_SH };
        // SAFETY: flock on a file we hold open; released when it closes.
        if unsafe { libc::flock(std::os::fd::AsRawFd::as_raw_fd(&lock), mode) } != 0 {
            return Err(format!("cannot lock {BRIDGE_LOCK}"));
        }
        let (bridge_state, start_lock) = if bridge {
            let state = BridgeState {
                ip_forward: fs::read_to_string("/proc/sys/net/ipv4/ip_forward")
                    .unwrap_or_else(|_| "0".into())
                    .trim()
                    .to_owned(),
                forward_policy: forward_policy().unwrap_or_else(|| "ACCEPT".into()),
                _lock: lock,
            };
            (Some(state), None)
        } else {
            (None, Some(lock))
        };
        let had_etc_docker = Path::new("/etc/docker").exists();
        // Short paths: the exec-root holds unix sockets (108-byte limit).
        let dir = tempfile::Builder::new()
            .prefix("dk")
            .tempdir_in("/tmp")
            .map_err(|e| format!("temp dir: {e}"))?;
        let root = dir.path().to_owned();
        let socket = root.join("s");
        let exec_root = root.join("e");
        let mut args: Vec<String> = vec![
            format!("--data-root={}", root.join("d").display()),
            format!("--exec-root={}", exec_root.display()),
            format!("--host=unix://{}", socket.display()),
            format!("--pidfile={}", root.join("p").display()),
        ];
        if !bridge {
            args.extend([
                "--bridge=none".into(),
                "--iptables=false".into(),
                "--ip-forward=false".into(),
            ]);
        }
        let log = fs::File::create(root.join("dockerd.log")).map_err(|e| e.to_string())?;
        let child = Command::new(DOCKERD)
            .args(&args)
            .stdin(Stdio::null())
            .stdout(log.try_clone().map_err(|e| e.to_string())?)
            .stderr(log)
            .spawn()
            .map_err(|e| format!("cannot start {DOCKERD}: {e}"))?;
        let daemon = Daemon {
            dir,
            socket,
            exec_root,
            child: Mutex::new(Some(child)),
            bridge: bridge_state,
            had_etc_docker,
        };
        // From here on, a failure drops `daemon`, which cleans up.
        let end = Instant::now() + START;
        loop {
            let up = daemon
                .command(&["version"])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .is_ok_and(|s| s.success());
            if up {
                break;
            }
            if daemon.exited() || Instant::now() > end {
                return Err(format!(
                    "dockerd did not answer within {START:?}: {}",
                    daemon.log_tail()
                ));
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        drop(start_lock);
        daemon.build_image()?;
        Ok(daemon)
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut c = Command::new(DOCKER);
        c.arg("-H")
            .arg(format!("unix://{}", self.socket.display()))
            .args(args)
            .stdin(Stdio::null());
        c
    }

    fn exited(&self) -> bool {
        let mut child = self.child.lock().unwrap_or_else(|e| e.into_inner());
        child
            .as_mut()
            .is_none_or(|c| c.try_wait().ok().flatten().is_some())
    }

    fn log_tail(&self) -> String {
        let log = fs::read_to_string(self.dir.path().join("dockerd.log")).unwrap_or_default();
        let lines: Vec<&str> = log.lines().collect();
        lines[lines.len().saturating_sub(5)..].join(" | ")
    }

    /// `busybox-test:latest`: busybox with a link per applet, an
    /// `/etc/passwd`, a `/tmp`; imported with `PATH=/bin`.
    fn build_image(&self) -> Result<(), String> {
        let rootfs = self.dir.path().join("rootfs");
        let bin = rootfs.join("bin");
        fs::create_dir_all(&bin).map_err(|e| e.to_string())?;
        fs::create_dir_all(rootfs.join("etc")).map_err(|e| e.to_string())?;
        fs::create_dir_all(rootfs.join("tmp")).map_err(|e| e.to_string())?;
        fs::set_permissions(rootfs.join("tmp"), fs::Permissions::from_mode(0o1777))
            .map_err(|e| e.to_string())?;
        fs::copy(BUSYBOX, bin.join("busybox")).map_err(|e| e.to_string())?;
        let list = Command::new(BUSYBOX)
            .arg("--list")
            .output()
            .map_err(|e| format!("busybox --list: {e}"))?;
        for applet in String::from_utf8_lossy(&list.stdout).lines() {
            let applet = applet.trim();
            if applet.is_empty() || applet == "busybox" || applet.contains('/') {
                continue;
            }
            let _ = std::os::unix::fs::symlink("busybox", bin.join(applet));
        }
        fs::write(
            rootfs.join("etc/passwd"),
            "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n",
        )
        .map_err(|e| e.to_string())?;
        fs::write(rootfs.join("etc/group"), "root:x:0:\nnogroup:x:65534:\n")
            .map_err(|e| e.to_string())?;
        let mut tar = Command::new("tar")
            .arg("-C")
            .arg(&rootfs)
            .args(["-c", "."])
            .stdout(Stdio::piped())
            .spawn()
            .map_err(|e| format!("tar: {e}"))?;
        let stdout = tar.stdout.take().ok_or("tar has no stdout")?;
        let import = self
            .command(&["import", "-c", "ENV PATH=/bin", "-", IMAGE])
            .stdin(stdout)
            .output()
            .map_err(|e| format!("docker import: {e}"))?;
        let _ = tar.wait();
        if !import.status.success() {
            return Err(format!(
                "docker import: {}",
                String::from_utf8_lossy(&import.stderr)
            ));
        }
        Ok(())
    }

    /// Removes every container of the daemon.
    fn remove_containers(&self) {
        if let Ok(out) = self.command(&["ps", "-aq"]).output() {
            let ids: Vec<String> = String::from_utf8_lossy(&out.stdout)
                .split_whitespace()
                .map(str::to_owned)
                .collect();
            if !ids.is_empty() {
                let mut args = vec!["rm", "-f", "-v"];
                args.extend(ids.iter().map(String::as_str));
                let _ = self.command(&args).output();
            }
        }
    }

    /// Removes every container, stops the daemon, cleans up after it.
    fn stop(&mut self) {
        self.remove_containers();
        let child = self.child.lock().unwrap_or_else(|e| e.into_inner()).take();
        if let Some(mut child) = child {
            // SAFETY: signalling our own child, not yet reaped.
            unsafe {
                libc::kill(child.id() as i32, libc::SIGTERM);
            }
            let end = Instant::now() + STOP;
            while child.try_wait().ok().flatten().is_none() && Instant::now() < end {
                std::thread::sleep(Duration::from_millis(50));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
        unmount_under(self.dir.path());
        for cgroup in fs::read_dir("/sys/fs/cgroup")
            .into_iter()
            .flatten()
            .flatten()
        {
            let docker = cgroup.path().join("docker");
            if docker.is_dir() {
                // Fails, harmlessly, while another daemon's containers
                // live there.
                let _ = fs::remove_dir(&docker);
            }
        }
        for dir in [
            "/run/containerd/s",
            "/run/containerd",
            "/run/docker/plugins",
            "/run/docker",
        ] {
            let _ = fs::remove_dir(dir);
        }
        if !self.had_etc_docker {
            let _ = fs::remove_file("/etc/docker/key.json");
            let _ = fs::remove_dir("/etc/docker");
        }
        if let Some(b) = &self.bridge {
            let _ = Command::new("ip")
                .args(["link", "del", "docker0"])
                .stderr(Stdio::null())
                .status();
            remove_docker_iptables();
            let _ = Command::new("iptables")
                .args(["-P", "FORWARD", &b.forward_policy])
                .status();
            let _ = fs::write("/proc/sys/net/ipv4/ip_forward", &b.ip_forward);
        }
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The FORWARD chain's policy (`ACCEPT`, `DROP`).
fn forward_policy() -> Option<String> {
    let out = Command::new("iptables")
        .args(["-S", "FORWARD"])
        .output()
        .ok()?;
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .find_map(|l| l.strip_prefix("-P FORWARD ").map(|p| p.trim().to_owned()))
}

/// Deletes Docker's rules from the built-in chains of `nat` and `filter`,
/// then flushes and deletes its `DOCKER*` chains. Other rules stay.
fn remove_docker_iptables() {
    for table in ["nat", "filter"] {
        let Ok(out) = Command::new("iptables").args(["-t", table, "-S"]).output() else {
            continue;
        };
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        let mut chains = Vec::new();
        for line in text.lines() {
            let words: Vec<&str> = line.split_whitespace().collect();
            match words.as_slice() {
                ["-N", chain] if chain.starts_with("DOCKER") => chains.push(chain.to_string()),
                ["-A", chain, rest @ ..]
                    if !chain.starts_with("DOCKER")
                        && (line.contains("DOCKER") || line.contains("docker0")) =>
                {
                    let _ = Command::new("iptables")
                        .args(["-t", table, "-D", chain])
                        .args(rest)
                        .status();
                }
                _ => {}
            }
        }
        for chain in &chains {
            let _ = Command::new("iptables")
                .args(["-t", table, "-F", chain])
                .status();
        }
        for chain in &chains {
            let _ = Command::new("iptables")
                .args(["-t", table, "-X", chain])
                .status();
        }
    }
}

/// Unmounts everything mounted under `dir` (the exec-root's nsfs mounts).
fn unmount_under(dir: &Path) {
    let Ok(mounts) = fs::read_to_string("/proc/self/mounts") else {
        return;
    };
    let prefix = dir.display().to_string();
    let mut targets: Vec<&str> = mounts
        .lines()
        .filter_map(|l| l.split_whitespace().nth(1))
        .filter(|t| t.starts_with(&prefix))
        .collect();
    targets.sort_by_key(|t| std::cmp::Reverse(t.len()));
    for t in targets {
        let _ = Command::new("umount").args(["-l", t]).status();
    }
}
