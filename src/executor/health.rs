//! Health checks (Mesos's `HealthChecker`), shared by the command and the
//! default executor: running one check ([`run_check`]: COMMAND, HTTP
//! through `curl`, TCP) and keeping its score ([`Health`]): a change of
//! health is reported, failures before the first success within the grace
//! period do not count, and `consecutive_failures` in a row mean the task
//! is to be killed.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use wire::ids::TaskId;
use wire::mesos::{Check, HealthCheck, TaskStatus};
use wire::task::{Reason, TaskState};

use crate::container::{self, Grouping, Output, SpawnOptions};

/// Seconds as a duration (negative or absurd: none).
pub fn seconds(s: f64) -> Duration {
    Duration::try_from_secs_f64(s).unwrap_or(Duration::ZERO)
}

/// A task's health check and how it has gone.
pub struct Health {
    pub check: HealthCheck,
    started: Instant,
    /// `None` until the first result that counts.
    healthy: Option<bool>,
    failures: u32,
}

/// What a check's result calls for.
#[derive(Debug, Default, PartialEq)]
pub struct Verdict {
    /// Report the task's new health (healthy, and why not).
    pub report: Option<(bool, Option<String>)>,
    /// Kill the task: why.
    pub kill: Option<String>,
}

impl Health {
    pub fn new(check: HealthCheck) -> Health {
        Health {
            check,
            started: Instant::now(),
            healthy: None,
            failures: 0,
        }
    }

    pub fn delay(&self) -> Duration {
        seconds(self.check.delay_seconds)
    }

    pub fn interval(&self) -> Duration {
        seconds(self.check.interval_seconds)
    }

    pub fn timeout(&self) -> Duration {
        seconds(self.check.timeout_seconds)
    }

    /// Scores one result of the check of task `task`.
    pub fn record(&mut self, task: &TaskId, result: Result<(), String>) -> Verdict {
        let mut verdict = Verdict::default();
        match result {
            Ok(()) => {
                self.failures = 0;
                if self.healthy != Some(true) {
                    self.healthy = Some(true);
                    verdict.report = Some((true, None));
                }
            }
            Err(why) => {
                let in_grace = self.healthy.is_none()
                    && self.started.elapsed() < seconds(self.check.grace_period_seconds);
                if in_grace {
                    tracing::debug!(task = %task, "health check failed within the grace period: {why}");
                    return verdict;
                }
                self.failures += 1;
                tracing::warn!(task = %task, failures = self.failures, "health check failed: {why}");
                if self.healthy != Some(false) {
                    self.healthy = Some(false);
                    verdict.report = Some((false, Some(why.clone())));
                }
                if self.failures >= self.check.consecutive_failures.max(1) {
                    verdict.kill = Some(why);
                }
            }
        }
        verdict
    }
}

/// The TASK_RUNNING update that reports a task's new health.
pub fn health_update(task: TaskId, healthy: bool, why: Option<String>) -> TaskStatus {
    let mut status = TaskStatus::new(task, TaskState::Running);
    status.healthy = Some(healthy);
    status.reason = Some(Reason::TaskHealthCheckStatusUpdated);
    status.message = why;
    status
}

/// Marks a terminal update of a task killed for failing its check.
pub fn mark_unhealthy(status: &mut TaskStatus, why: &str) {
    status.healthy = Some(false);
    let note = format!(" (killed after failing its health check: {why})");
    match status.message.as_mut() {
        Some(m) => m.push_str(&note),
        None => status.message = Some(note.trim_start().to_owned()),
    }
}

/// One health check: `Ok` when healthy, else why not.
pub async fn run_check(check: Check, timeout: Duration, sandbox: PathBuf) -> Result<(), String> {
    match check {
        Check::Command(command) => {
            let options = SpawnOptions {
                cwd: Some(sandbox),
                env: command.environment.clone(),
                inherit_env: true,
                output: Output::Inherit,
                grouping: Grouping::NewGroup,
                user: None,
            };
            let container = container::spawn(&command, options)
                .map_err(|e| format!("cannot run the check: {e}"))?;
            match tokio::time::timeout(timeout, container.wait()).await {
                Ok(Ok(status)) if status.success() => Ok(()),
                Ok(Ok(status)) => Err(format!("Command {status}")),
                Ok(Err(e)) => Err(e.to_string()),
                Err(_) => {
                    container.signal(libc::SIGKILL);
                    Err(format!("Command timed out after {timeout:?}"))
                }
            }
        }
        Check::Tcp { port } => {
            match tokio::time::timeout(timeout, tokio::net::TcpStream::connect(("127.0.0.1", port)))
                .await
            {
                Ok(Ok(_)) => Ok(()),
                Ok(Err(e)) => Err(format!("cannot connect to port {port}: {e}")),
                Err(_) => Err(format!("no connection to port {port} within {timeout:?}")),
            }
        }
        Check::Http {
            scheme,
            port,
            path,
            statuses,
        } => {
            let path = if path.starts_with('/') {
                path
            } else {
                format!("/{path}")
            };
            let url = format!("{scheme}://127.0.0.1:{port}{path}");
            let output = tokio::process::Command::new("curl")
                .args([
                    "--silent",
                    "--show-error",
                    "--insecure",
                    "--output",
                    "/dev/null",
                ])
                .args(["--write-out", "%{http_code}", "--max-time"])
                .arg(format!("{}", timeout.as_secs_f64().max(0.001)))
                .arg(&url)
                .kill_on_drop(true)
                .output()
                .await
                .map_err(|e| format!("cannot run curl: {e}"))?;
            let code: u16 = String::from_utf8_lossy(&output.stdout)
                .trim()
                .parse()
                .unwrap_or(0);
            let healthy = if statuses.is_empty() {
                (200..400).contains(&code)
            } else {
                statuses.contains(&code)
            };
            if healthy {
                Ok(())
            } else if code == 0 {
                Err(format!(
                    "{url}: {}",
                    String::from_utf8_lossy(&output.stderr).trim()
                ))
            } else {
                Err(format!("{url} answered {code}"))
            }
        }
    }
}
