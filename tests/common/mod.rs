//! Helpers for tests that run real binaries: locating them, and children
//! that are killed when the test ends, pass or fail; `zookeeper` starts a
//! real ZooKeeper server.

#![allow(dead_code)]

pub mod cluster;
pub mod docker;
pub mod framework;
pub mod scheduler;
pub mod zookeeper;

use std::path::PathBuf;
use std::process::{Child, Command, Output};
use std::time::{Duration, Instant};

/// Path of an example binary built by `cargo test` beside the test binary.
pub fn example(name: &str) -> PathBuf {
    let mut dir = std::env::current_exe().expect("test binary path");
    dir.pop(); // the test binary
    if dir.ends_with("deps") {
        dir.pop();
    }
    dir.join("examples").join(name)
}

/// The Python of the project's venv, where `scripts/setup.sh` installs
/// pymesos.
pub fn venv_python() -> PathBuf {
    let python = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(".venv/bin/python");
    assert!(
        python.exists(),
        "{} is missing: run scripts/setup.sh to install pymesos",
        python.display()
    );
    python
}

/// A script of `tests/pymesos/`.
pub fn pymesos_script(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/pymesos")
        .join(name)
}

/// The user these tests run as: frameworks name them, so that agents
/// (which run tasks as the framework's user) can run their tasks.
pub fn current_user() -> String {
    Command::new("id")
        .arg("-un")
        .output()
        .ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .filter(|u| !u.is_empty())
        .expect("the current user's name (id -un)")
}

/// A child process killed on drop.
pub struct Guard(pub Child);

impl Drop for Guard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Runs `command` to completion, killing it if it outlives `deadline`.
pub fn run_with_deadline(command: &mut Command, deadline: Duration) -> Output {
    let child = command
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn");
    let mut guard = Guard(child);
    let end = Instant::now() + deadline;
    loop {
        if let Some(_status) = guard.0.try_wait().expect("wait") {
            break;
        }
        assert!(
            Instant::now() < end,
            "{command:?} did not finish within {deadline:?}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let child = std::mem::replace(&mut guard.0, Command::new("true").spawn().expect("true"));
    child.wait_with_output().expect("output")
}

/// A temporary directory removed on drop.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> TempDir {
        let unique = format!(
            "mesos-test-{tag}-{}-{}",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos())
                .unwrap_or(0)
        );
        let path = std::env::temp_dir().join(unique);
        std::fs::create_dir_all(&path).expect("create temp dir");
        TempDir(path)
    }

    pub fn path(&self) -> &std::path::Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        // What a mesos-local working in this directory, or in one or two
        // levels below it, left of its agents' cgroups.
        let mut dirs = vec![self.0.clone()];
        let mut level = vec![self.0.clone()];
        for _ in 0..2 {
            level = level
                .iter()
                .filter_map(|d| std::fs::read_dir(d).ok())
                .flat_map(|d| d.filter_map(Result::ok).map(|e| e.path()))
                .filter(|p| p.is_dir())
                .collect();
            dirs.extend(level.iter().cloned());
        }
        for dir in dirs {
            let prefix = mesos::container::config::local_cgroups_prefix(&dir.display().to_string());
            drop(cluster::CgroupsGuard { prefix });
        }
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A daemon started from its binary, killed on drop, with the address it
/// printed (`... started at http://ip:port`) and everything it wrote.
pub struct Daemon {
    pub guard: Guard,
    pub address: String,
    pub output: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
}

impl Daemon {
    /// Starts `binary` with `args`; waits for its "started at http://" line.
    pub fn start(binary: &str, args: &[&str]) -> Daemon {
        use std::io::BufRead;
        let mut child = Command::new(binary)
            .args(args)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("starting {binary}: {e}"));
        let stdout = child.stdout.take().expect("stdout");
        let stderr = child.stderr.take().expect("stderr");
        let guard = Guard(child);
        let output = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let (tx, rx) = std::sync::mpsc::channel();
        let out = output.clone();
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(stdout)
                .lines()
                .map_while(Result::ok)
            {
                if let Some(rest) = line.split("started at http://").nth(1) {
                    let address = rest.split_whitespace().next().unwrap_or("").to_string();
                    let _ = tx.send(address);
                }
                out.lock().unwrap().push(line);
            }
        });
        let out = output.clone();
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(stderr)
                .lines()
                .map_while(Result::ok)
            {
                out.lock().unwrap().push(line);
            }
        });
        let address = match rx.recv_timeout(Duration::from_secs(30)) {
            Ok(a) => a,
            Err(_) => panic!(
                "{binary} did not start:\n{}",
                output.lock().unwrap().join("\n")
            ),
        };
        Daemon {
            guard,
            address,
            output,
        }
    }

    pub fn log(&self) -> String {
        self.output.lock().unwrap().join("\n")
    }

    /// SIGKILL, as a crash.
    pub fn kill(&mut self) {
        let _ = self.guard.0.kill();
        let _ = self.guard.0.wait();
    }
}

/// Polls `condition` every 20 ms until it holds or `deadline` passes.
pub fn wait_until(deadline: Duration, mut condition: impl FnMut() -> bool) -> bool {
    let end = Instant::now() + deadline;
    loop {
        if condition() {
            return true;
        }
        if Instant::now() >= end {
            return false;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A blocking `GET`; returns the status code and body.
pub fn http_get(address: &str, path: &str) -> (u16, String) {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(address).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(10))).ok();
    let req = format!("GET {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n");
    s.write_all(req.as_bytes()).expect("write");
    let mut raw = Vec::new();
    let _ = s.read_to_end(&mut raw);
    let text = String::from_utf8_lossy(&raw).to_string();
    let status = text
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    (status, body)
}

/// Every file called `name` under `dir`, recursively.
pub fn find_files(dir: &std::path::Path, name: &str) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return out;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let Ok(meta) = std::fs::symlink_metadata(&path) else {
            continue;
        };
        if meta.is_dir() {
            out.extend(find_files(&path, name));
        } else if path.file_name().is_some_and(|n| n == name) {
            out.push(path);
        }
    }
    out
}

/// A blocking `POST` with headers; returns the status code, the response
/// head and body.
pub fn http_post(
    address: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> (u16, String, String) {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(address).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(10))).ok();
    let mut req = format!(
        "POST {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    s.write_all(req.as_bytes()).expect("write");
    // A refusal may come before the whole body is read.
    let _ = s.write_all(body);
    let mut raw = Vec::new();
    let _ = s.read_to_end(&mut raw);
    let text = String::from_utf8_lossy(&raw).to_string();
    let status = text
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    (status, head.to_string(), body.to_string())
}

/// Pids of the processes whose working directory is under `dir` (the
/// executors and tasks running in sandboxes there).
pub fn processes_in(dir: &std::path::Path) -> Vec<u32> {
    let Ok(root) = std::fs::canonicalize(dir) else {
        return Vec::new();
    };
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|e| e.file_name().to_str().and_then(|n| n.parse::<u32>().ok()))
        .filter(|pid| {
            std::fs::read_link(format!("/proc/{pid}/cwd")).is_ok_and(|cwd| cwd.starts_with(&root))
        })
        .collect()
}

/// Calls `f` every 20 ms until it returns `Some` or `deadline` passes.
/// Blocks the thread: for code outside an async runtime.
pub fn poll<T>(deadline: Duration, mut f: impl FnMut() -> Option<T>) -> Option<T> {
    let end = Instant::now() + deadline;
    loop {
        if let Some(t) = f() {
            return Some(t);
        }
        if Instant::now() >= end {
            return None;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// [`poll`] for async tests: sleeps on the runtime between tries, so the
/// processes on it (a scheduler driver) keep running.
pub async fn poll_async<T>(deadline: Duration, mut f: impl FnMut() -> Option<T>) -> Option<T> {
    let end = Instant::now() + deadline;
    loop {
        if let Some(t) = f() {
            return Some(t);
        }
        if Instant::now() >= end {
            return None;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Reads the chunked RecordIO of a stream into `tx`, one JSON event per
/// record, until the stream or the receiver ends.
pub fn read_records(
    mut r: std::io::BufReader<std::net::TcpStream>,
    tx: std::sync::mpsc::Sender<serde_json::Value>,
) {
    use std::io::{BufRead, Read};
    let mut line = String::new();
    let mut pending: Vec<u8> = Vec::new();
    loop {
        line.clear();
        if r.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        let Ok(size) = usize::from_str_radix(line.trim(), 16) else {
            return;
        };
        if size == 0 {
            return;
        }
        let mut chunk = vec![0u8; size + 2];
        if r.read_exact(&mut chunk).is_err() {
            return;
        }
        pending.extend_from_slice(&chunk[..size]);
        while let Some(nl) = pending.iter().position(|b| *b == b'\n') {
            let Some(len) = std::str::from_utf8(&pending[..nl])
                .ok()
                .and_then(|t| t.trim().parse::<usize>().ok())
            else {
                return;
            };
            if pending.len() < nl + 1 + len {
                break;
            }
            let record: Vec<u8> = pending.drain(..nl + 1 + len).skip(nl + 1).collect();
            let Ok(event) = serde_json::from_slice::<serde_json::Value>(&record) else {
                return;
            };
            if tx.send(event).is_err() {
                return;
            }
        }
    }
}
