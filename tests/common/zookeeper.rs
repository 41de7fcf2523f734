//! A real ZooKeeper server for tests: Debian's `zookeeper` package
//! (installed by `scripts/setup.sh`) started standalone on a free port, in
//! a temporary directory of its own, killed and removed when the test ends,
//! pass or fail.
//!
//! ```ignore
//! let mut zk = ZooKeeper::start();      // up when `ruok` answers `imok`
//! let url = zk.url("/mesos");           // zk://127.0.0.1:<port>/mesos
//! zk.stop();                            // an outage: SIGKILL, sessions kept on disk
//! zk.restart();                         // same port, same data
//! ```
//!
//! With `tickTime=500` the server grants session timeouts from 1 s to
//! `maxSessionTimeout` (20 s), so tests can use short sessions and Mesos's
//! 10 s default alike.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::TempDir;

/// What Debian's package installs.
pub const JAR: &str = "/usr/share/java/zookeeper.jar";
const CLASSPATH: &str =
    "/etc/zookeeper/conf:/usr/share/java/zookeeper.jar:/usr/share/java/slf4j-api.jar";

/// How long a start may take on a busy machine before the test fails.
const START_DEADLINE: Duration = Duration::from_secs(30);

/// A standalone ZooKeeper server; see the module docs.
pub struct ZooKeeper {
    /// Holds `zoo.cfg`, `data/` and `zookeeper.log`.
    dir: TempDir,
    port: u16,
    /// `None` while stopped.
    child: Option<Child>,
}

impl ZooKeeper {
    /// Starts a server on a free port and waits until it answers.
    pub fn start() -> ZooKeeper {
        assert!(
            Path::new(JAR).exists(),
            "ZooKeeper is not installed ({JAR} is missing): run scripts/setup.sh"
        );
        let dir = TempDir::new("zookeeper");
        let data = dir.path().join("data");
        std::fs::create_dir_all(&data).expect("create the ZooKeeper data dir");
        let port = free_port();
        let config = format!(
            "tickTime=500\n\
             dataDir={}\n\
             clientPort={port}\n\
             clientPortAddress=127.0.0.1\n\
             admin.enableServer=false\n\
             4lw.commands.whitelist=ruok\n\
             maxSessionTimeout=20000\n",
            data.display()
        );
        std::fs::write(dir.path().join("zoo.cfg"), config).expect("write zoo.cfg");
        let mut zk = ZooKeeper {
            dir,
            port,
            child: None,
        };
        zk.launch();
        zk
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// `127.0.0.1:<port>`, as a ZooKeeper client's connect string.
    pub fn address(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// `zk://127.0.0.1:<port><path>`.
    pub fn url(&self, path: &str) -> String {
        format!("zk://{}{path}", self.address())
    }

    /// Kills the server (SIGKILL, as a crash): clients lose their
    /// connection, and their sessions survive on disk to be restored, and
    /// timed anew, by the next start.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts the server again on the same port with the same data.
    pub fn restart(&mut self) {
        self.stop();
        self.launch();
    }

    /// What the server wrote.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.log_path()).unwrap_or_default()
    }

    fn log_path(&self) -> PathBuf {
        self.dir.path().join("zookeeper.log")
    }

    fn launch(&mut self) {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.log_path())
            .expect("open the ZooKeeper log");
        let err = log.try_clone().expect("clone the log handle");
        let child = Command::new("java")
            // Several servers may run at once on a small machine.
            .arg("-Xmx256m")
            .args([
                "-cp",
                CLASSPATH,
                "org.apache.zookeeper.server.ZooKeeperServerMain",
            ])
            .arg(self.dir.path().join("zoo.cfg"))
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(err)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start java for ZooKeeper: {e}"));
        self.child = Some(child);
        let end = Instant::now() + START_DEADLINE;
        loop {
            if ruok(self.port) {
                return;
            }
            if let Some(status) = self
                .child
                .as_mut()
                .and_then(|c| c.try_wait().ok().flatten())
            {
                panic!(
                    "ZooKeeper exited ({status}) while starting:\n{}",
                    self.log()
                );
            }
            if Instant::now() >= end {
                panic!(
                    "ZooKeeper did not answer 'ruok' on port {} within {START_DEADLINE:?}:\n{}",
                    self.port,
                    self.log()
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for ZooKeeper {
    fn drop(&mut self) {
        // The TempDir field is removed after this.
        self.stop();
    }
}

/// Whether the server on `port` answers the four-letter `ruok` with `imok`.
fn ruok(port: u16) -> bool {
    let address = SocketAddr::from(([127, 0, 0, 1], port));
    let Ok(mut s) = TcpStream::connect_timeout(&address, Duration::from_millis(500)) else {
        return false;
    };
    let _ = s.set_read_timeout(Some(Duration::from_secs(1)));
    if s.write_all(b"ruok").is_err() {
        return false;
    }
    let mut answer = String::new();
    let _ = s.read_to_string(&mut answer);
    answer == "imok"
}

/// A port nothing listens on now: bind port 0, note it, release it.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("bind a free port")
}
