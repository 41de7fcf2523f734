//! What every daemon does before it runs: read flags (answering `--help`
//! and `--version`), set up logging, pick the address to listen on, and
//! wait for a signal to stop.

use std::net::{IpAddr, Ipv4Addr, ToSocketAddrs};

use crate::flags::{usage, FlagError, Flags, Outcome, Spec};
use crate::stop::{StopReason, StopWatch, Stopped};

/// Loads flags from the process's arguments and environment. Prints help
/// or the version and exits 0 when asked; prints one line and exits 1 on a
/// bad flag.
pub fn load_flags(program: &str, specs: &[Spec]) -> Flags {
    let args = std::env::args().skip(1);
    match Flags::load(specs, args, std::env::vars()) {
        Ok(Outcome::Run(f)) => f,
        Ok(Outcome::Help) => {
            print!("{}", usage(program, specs));
            std::process::exit(0);
        }
        Ok(Outcome::Version) => {
            println!("{program} {}", wire::mesos::VERSION);
            std::process::exit(0);
        }
        Err(e) => fail(program, &e),
    }
}

/// Prints `program: error` as one line and exits 1.
pub fn fail(program: &str, error: &dyn std::fmt::Display) -> ! {
    eprintln!("{program}: {error}");
    std::process::exit(1);
}

/// Turns a typed-flag error into the same one-line exit.
pub fn check<T>(program: &str, r: Result<T, FlagError>) -> T {
    r.unwrap_or_else(|e| fail(program, &e))
}

/// The address to listen on when `--ip` is not given: the first IPv4
/// address the host name resolves to, else loopback (as Mesos resolves its
/// hostname).
pub fn default_ip() -> IpAddr {
    let host = hostname();
    (host.as_str(), 0)
        .to_socket_addrs()
        .ok()
        .and_then(|mut addrs| addrs.find(|a| a.is_ipv4()).map(|a| a.ip()))
        .unwrap_or(IpAddr::V4(Ipv4Addr::LOCALHOST))
}

/// This machine's host name.
pub fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|s| s.trim().to_owned())
        .ok()
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "localhost".to_owned())
}

/// Resolves `host:port` (or `id@host:port`) to the pid of process `id`
/// (`master` when not given).
pub fn resolve_pid(text: &str, default_id: &str) -> Result<actors::Pid, String> {
    let (id, address) = match text.split_once('@') {
        Some((id, address)) => (id, address),
        None => (default_id, text),
    };
    let address = address
        .to_socket_addrs()
        .map_err(|e| format!("cannot resolve '{address}': {e}"))?
        .find(|a| a.is_ipv4())
        .ok_or_else(|| format!("'{address}' has no IPv4 address"))?;
    Ok(actors::Pid::new(id, address))
}

/// What a daemon does when one of its processes stops: exit with a code,
/// or go on with the others (`None`).
pub type OnStop = fn(&Stopped) -> Option<i32>;

/// `mesos-master` and `mesos-agent`: their one process stopping ends the
/// daemon, with 1 when something went wrong (a supervisor restarts it)
/// and 0 when it was done or told to stop.
pub fn exit_with_process(stopped: &Stopped) -> Option<i32> {
    Some(exit_code(&stopped.reason))
}

/// The exit code for a process that stopped for `reason`.
pub fn exit_code(reason: &StopReason) -> i32 {
    if reason.is_failure() {
        1
    } else {
        0
    }
}

/// Runs the daemon's system until SIGINT or SIGTERM (exit 0), or until
/// one of its processes stops and `on_stop` says the daemon ends with it;
/// then exits the OS process. `running` is kept alive until then.
pub fn serve<T>(
    system: actix::SystemRunner,
    running: T,
    mut stops: StopWatch,
    on_stop: OnStop,
) -> ! {
    system.block_on(async move {
        actix::spawn(async move {
            let signal = shutdown_signal();
            tokio::pin!(signal);
            loop {
                tokio::select! {
                    _ = &mut signal => return actix::System::current().stop(),
                    stopped = stops.next() => match stopped {
                        Some(stopped) => match on_stop(&stopped) {
                            Some(code) => {
                                tracing::info!(process = %stopped.process, code, "{}; exiting", stopped.reason);
                                return actix::System::current().stop_with_code(code);
                            }
                            None => tracing::warn!(process = %stopped.process, "{}; the others go on", stopped.reason),
                        },
                        // Nothing can stop on its own any more: wait for a signal.
                        None => {
                            (&mut signal).await;
                            return actix::System::current().stop();
                        }
                    },
                }
            }
        });
    });
    let code = system.run_with_code().unwrap_or(1);
    drop(running);
    std::process::exit(code);
}

/// Resolves when the process gets SIGINT or SIGTERM.
pub async fn shutdown_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    match (
        signal(SignalKind::interrupt()),
        signal(SignalKind::terminate()),
    ) {
        (Ok(mut int), Ok(mut term)) => {
            tokio::select! {
                _ = int.recv() => {}
                _ = term.recv() => {}
            }
        }
        _ => std::future::pending::<()>().await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pids_resolve_from_host_port() {
        let pid = resolve_pid("127.0.0.1:5050", "master").unwrap();
        assert_eq!(pid.to_string(), "master@127.0.0.1:5050");
        let pid = resolve_pid("m@localhost:5050", "master").unwrap();
        assert_eq!(pid.id(), "m");
        assert!(resolve_pid("no-port", "master").is_err());
    }
}
