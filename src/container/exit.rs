//! How a container's leader ended: its wait status, described as Mesos
//! describes it (`exited with status 3`, `terminated with signal Killed`),
//! and the error of a wait that lost track of its process.

/// How a process ended: the raw wait status, as Mesos reports it in
/// `ExitedExecutor.status`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExitStatus(i32);

impl ExitStatus {
    pub fn from_raw(raw: i32) -> ExitStatus {
        ExitStatus(raw)
    }

    /// The wait status (`WEXITSTATUS`/`WTERMSIG` packed as `waitpid` gives it).
    pub fn raw(self) -> i32 {
        self.0
    }

    /// The exit code, if the process exited.
    pub fn code(self) -> Option<i32> {
        libc::WIFEXITED(self.0).then(|| libc::WEXITSTATUS(self.0))
    }

    /// The signal that terminated the process, if one did.
    pub fn signal(self) -> Option<i32> {
        libc::WIFSIGNALED(self.0).then(|| libc::WTERMSIG(self.0))
    }

    pub fn success(self) -> bool {
        self.code() == Some(0)
    }
}

impl std::fmt::Display for ExitStatus {
    /// Mesos's `WSTRINGIFY`: `exited with status 3`,
    /// `terminated with signal Killed`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match (self.code(), self.signal()) {
            (Some(code), _) => write!(f, "exited with status {code}"),
            (None, Some(signal)) => write!(f, "terminated with signal {}", signal_name(signal)),
            (None, None) => write!(f, "wait status {}", self.0),
        }
    }
}

/// The description `strsignal` gives for the common signals.
pub fn signal_name(signal: i32) -> String {
    let name = match signal {
        libc::SIGHUP => "Hangup",
        libc::SIGINT => "Interrupt",
        libc::SIGQUIT => "Quit",
        libc::SIGILL => "Illegal instruction",
        libc::SIGTRAP => "Trace/breakpoint trap",
        libc::SIGABRT => "Aborted",
        libc::SIGBUS => "Bus error",
        libc::SIGFPE => "Floating point exception",
        libc::SIGKILL => "Killed",
        libc::SIGUSR1 => "User defined signal 1",
        libc::SIGSEGV => "Segmentation fault",
        libc::SIGUSR2 => "User defined signal 2",
        libc::SIGPIPE => "Broken pipe",
        libc::SIGALRM => "Alarm clock",
        libc::SIGTERM => "Terminated",
        _ => return format!("Unknown signal {signal}"),
    };
    name.to_owned()
}

/// The runtime lost track of a process it launched (its reaper was
/// cancelled, or `waitpid` failed).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("lost track of process {pid}: {reason}")]
pub struct WaitError {
    pub pid: i32,
    pub reason: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_statuses_describe_themselves_as_mesos_does() {
        assert_eq!(
            ExitStatus::from_raw(3 << 8).to_string(),
            "exited with status 3"
        );
        assert_eq!(
            ExitStatus::from_raw(9).to_string(),
            "terminated with signal Killed"
        );
        assert_eq!(ExitStatus::from_raw(15).signal(), Some(15));
        assert!(ExitStatus::from_raw(0).success());
        assert_eq!(signal_name(64), "Unknown signal 64");
    }
}
