//! Two nodes in two OS processes exchanging messages.
//!
//! Run both halves with one command (the ping side starts the pong side as
//! a child process and stops it at the end):
//!
//! ```text
//! cargo run --example ping_pong -- --count 5
//! ```
//!
//! or each half by hand, in two terminals:
//!
//! ```text
//! cargo run --example ping_pong -- pong --port 7001
//! cargo run --example ping_pong -- ping --to pong@127.0.0.1:7001 --count 5
//! ```

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use actors::{Cx, Handle, Install, Node, NodeConfig, Pid, Process};
use anyhow::{bail, Context};
use serde::{Deserialize, Serialize};

#[derive(Debug, Serialize, Deserialize)]
struct Ping {
    seq: u64,
}

#[derive(Debug, Serialize, Deserialize)]
struct Pong {
    seq: u64,
}

wire::messages! {
    Ping => "example.Ping",
    Pong => "example.Pong",
}

/// Answers each Ping with a Pong.
struct Ponger;

impl Process for Ponger {
    fn install(i: &mut Install<Self>) {
        i.message::<Ping>();
    }
}

impl Handle<Ping> for Ponger {
    fn handle(&mut self, ping: Ping, from: &Pid, cx: &mut Cx<'_, Self>) {
        println!("pong: got ping {} from {from}", ping.seq);
        cx.send(from, Pong { seq: ping.seq });
    }
}

/// Sends `count` pings one after another, then stops the system.
struct Pinger {
    to: Pid,
    count: u64,
    sent_at: Instant,
}

impl Process for Pinger {
    fn install(i: &mut Install<Self>) {
        i.message::<Pong>();
    }

    fn started(&mut self, cx: &mut Cx<'_, Self>) {
        cx.link(&self.to);
        self.sent_at = Instant::now();
        cx.send(&self.to, Ping { seq: 1 });
    }

    fn exited(&mut self, pid: &Pid, _cx: &mut Cx<'_, Self>) {
        eprintln!("ping: lost {pid}");
        std::process::exit(1);
    }
}

impl Handle<Pong> for Pinger {
    fn handle(&mut self, pong: Pong, from: &Pid, cx: &mut Cx<'_, Self>) {
        println!(
            "ping: got pong {} from {from} after {:?}",
            pong.seq,
            self.sent_at.elapsed()
        );
        if pong.seq >= self.count {
            actix::System::current().stop();
            return;
        }
        self.sent_at = Instant::now();
        cx.send(&self.to, Ping { seq: pong.seq + 1 });
    }
}

fn flag(args: &[String], name: &str) -> Option<String> {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
}

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let count = match flag(&args, "--count") {
        Some(c) => c.parse().context("--count must be a number")?,
        None => 5,
    };
    match args.first().map(String::as_str) {
        Some("pong") => {
            let port = match flag(&args, "--port") {
                Some(p) => p.parse().context("--port must be a port number")?,
                None => 0,
            };
            run_pong(port)
        }
        Some("ping") => {
            let to: Pid = flag(&args, "--to")
                .context("ping needs --to pong@ip:port")?
                .parse()?;
            run_ping(to, count)
        }
        _ => run_both(count),
    }
}

fn run_pong(port: u16) -> anyhow::Result<()> {
    let system = actix::System::new();
    system.block_on(async move {
        let node = Node::bind(NodeConfig {
            port,
            ..NodeConfig::default()
        })
        .await?;
        let pid = node.spawn("pong", Ponger)?.pid().clone();
        // The parent reads this line to learn where to send.
        println!("{pid}");
        anyhow::Ok(())
    })?;
    system.run()?;
    Ok(())
}

fn run_ping(to: Pid, count: u64) -> anyhow::Result<()> {
    let system = actix::System::new();
    system.block_on(async move {
        let node = Node::bind(NodeConfig::default()).await?;
        let pinger = Pinger {
            to,
            count,
            sent_at: Instant::now(),
        };
        node.spawn("ping", pinger)?;
        anyhow::Ok(())
    })?;
    system.run()?;
    Ok(())
}

/// Kills the child when dropped, so it never outlives us.
struct ChildGuard(Child);

impl Drop for ChildGuard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn run_both(count: u64) -> anyhow::Result<()> {
    use std::io::BufRead;
    let mut child = Command::new(std::env::current_exe()?)
        .arg("pong")
        .stdout(Stdio::piped())
        .spawn()
        .context("starting the pong process")?;
    let stdout = child.stdout.take().context("no stdout from pong")?;
    let guard = ChildGuard(child);
    let mut lines = std::io::BufReader::new(stdout).lines();
    let first = lines
        .next()
        .context("pong exited before announcing itself")??;
    let to: Pid = first.parse().context("pong announced a bad pid")?;
    println!("ping: pong process {} listens as {to}", guard.0.id());
    // Echo the pong process's output as it comes.
    std::thread::spawn(move || lines.map_while(Result::ok).for_each(|l| println!("{l}")));
    let started = Instant::now();
    run_ping(to, count)?;
    if started.elapsed() > Duration::from_secs(60) {
        bail!("ping-pong took too long");
    }
    println!("ping: {count} round trips across two processes done");
    Ok(())
}
