//! The ping-pong example exchanges messages between two OS processes.

mod common;

use std::process::Command;
use std::time::Duration;

#[test]
fn ping_pong_runs_across_two_processes() {
    let out = common::run_with_deadline(
        Command::new(common::example("ping_pong")).args(["--count", "4"]),
        Duration::from_secs(60),
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "exit {:?}\n{stdout}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    for seq in 1..=4 {
        assert!(
            stdout.contains(&format!("ping: got pong {seq} from pong@")),
            "{stdout}"
        );
    }
    assert!(
        stdout.contains("4 round trips across two processes done"),
        "{stdout}"
    );
    // The two sides are different OS processes.
    let pong_pid: u32 = stdout
        .lines()
        .find_map(|l| l.strip_prefix("ping: pong process "))
        .and_then(|rest| rest.split(' ').next())
        .and_then(|p| p.parse().ok())
        .expect("pong process id printed");
    assert_ne!(pong_pid, std::process::id());
}
