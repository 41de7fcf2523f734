//! Helpers for tests that run real binaries: locating them, and children
//! that are killed when the test ends, pass or fail.

#![allow(dead_code)]

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
