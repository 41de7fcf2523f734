//! The launcher: starting a container's leader in a session or process
//! group of its own ([`spawn`]), with its output in files or inherited and
//! as another user, and taking back a leader a previous agent process
//! started ([`recover`]). Either way, a task on the tokio runtime watches
//! the leader and, once it has ended, kills what is left of its container
//! and publishes how it ended to the [`Container`] handle.
//!
//! Mesos counterpart: `PosixLauncher` (fork into a new session, signal the
//! whole session, reap and report the wait status) and `os::su` for the
//! user. The [`Launcher`] trait is the seam for `--launcher`:
//! [`PosixLauncher`] is this module's free functions, [`LinuxLauncher`]
//! (in `launcher/linux.rs`) keeps each container in a freezer cgroup. The
//! isolators' cgroups are joined by the leader itself before it execs
//! ([`Isolation`]), so no process of a container ever runs outside them.
//! The executors use
//! [`spawn`] directly for their tasks and health checks: a task runs in a
//! process group inside its executor's container, whatever the launcher.

use std::fs::OpenOptions;
use std::io;
use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::path::PathBuf;
use std::time::Duration;

use tokio::sync::watch;
use wire::ids::ContainerId;
use wire::mesos::CommandInfo;

use super::cgroups::Cgroup;
use super::exit::ExitStatus;
use super::handle::{Container, LimitationCell, Scope};
use super::proc::is_alive;

mod linux;
pub use linux::LinuxLauncher;

/// What the containerizer's isolators add to a launch: the cgroups the
/// leader joins before it execs, where a limit hit is recorded, and what
/// to do once the leader has ended and its processes are gone (before the
/// exit is published: the isolators' last reading and cleanup).
#[derive(Default)]
pub struct Isolation {
    pub join: Vec<Cgroup>,
    pub limitation: LimitationCell,
    pub on_exit: Option<Box<dyn FnOnce() + Send>>,
}

impl std::fmt::Debug for Isolation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Isolation")
            .field("join", &self.join)
            .field("limitation", &self.limitation.get())
            .finish()
    }
}

/// How containers are started and found again: one implementation per
/// `--launcher` (posix, or linux with a freezer cgroup per container). The
/// containerizer holds one and the agent holds the containerizer.
pub trait Launcher: std::fmt::Debug + Send + Sync {
    /// The name `--launcher` gives it.
    fn name(&self) -> &'static str;

    /// Starts container `id` running `command` as `options` say; see
    /// [`spawn`].
    fn spawn(
        &self,
        id: &ContainerId,
        command: &CommandInfo,
        options: SpawnOptions,
        isolation: Isolation,
    ) -> Result<Container, LaunchError>;

    /// Takes back container `id`, whose leader `pid` a previous agent
    /// process launched; see [`recover`].
    fn recover(
        &self,
        id: &ContainerId,
        pid: i32,
        isolation: Isolation,
    ) -> Result<Container, LaunchError>;

    /// The processes of container `id`, if this launcher can list them
    /// without scanning `/proc`.
    fn members(&self, id: &ContainerId) -> Option<Vec<i32>> {
        let _ = id;
        None
    }

    /// Kills and removes what this launcher left of containers not in
    /// `known` (an earlier agent process's orphans). Blocks.
    fn kill_orphans(&self, known: &[ContainerId]) {
        let _ = known;
    }
}

/// Mesos's posix launcher: a container is the session (or process group)
/// its leader heads, found through `/proc`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PosixLauncher;

impl Launcher for PosixLauncher {
    fn name(&self) -> &'static str {
        "posix"
    }

    fn spawn(
        &self,
        _id: &ContainerId,
        command: &CommandInfo,
        options: SpawnOptions,
        isolation: Isolation,
    ) -> Result<Container, LaunchError> {
        spawn_with(command, options, None, isolation)
    }

    fn recover(
        &self,
        _id: &ContainerId,
        pid: i32,
        isolation: Isolation,
    ) -> Result<Container, LaunchError> {
        recover_with(pid, None, isolation)
    }
}

/// Why a process could not be started.
#[derive(Debug, thiserror::Error)]
pub enum LaunchError {
    #[error("the command has no value to run")]
    NoCommand,
    #[error("cannot open {path}: {source}")]
    Output {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("cannot start '{program}': {source}")]
    Spawn {
        program: String,
        #[source]
        source: io::Error,
    },
    #[error("processes can only be launched inside a tokio runtime")]
    NoRuntime,
    #[error("Failed to get user information for '{user}': {reason}")]
    User { user: String, reason: String },
    #[error("cannot give the sandbox to user '{user}': {source}")]
    Chown {
        user: String,
        #[source]
        source: io::Error,
    },
    /// The containerizer does not run what was asked: why.
    #[error("{0}")]
    Refused(String),
    #[error("the {isolator} isolator cannot prepare the container: {source}")]
    Isolator {
        isolator: &'static str,
        #[source]
        source: io::Error,
    },
    #[error("cannot prepare cgroup {path}: {source}")]
    Cgroup {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
}

/// Who a container runs as (`--switch_user`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunAs {
    pub name: String,
    pub uid: u32,
    pub gid: u32,
}

/// Looks `name` up in the system's user database.
pub fn lookup_user(name: &str) -> Result<RunAs, LaunchError> {
    let error = |reason: String| LaunchError::User {
        user: name.to_owned(),
        reason,
    };
    let c_name = std::ffi::CString::new(name).map_err(|_| error("contains NUL".into()))?;
    let mut buf = vec![0 as libc::c_char; 16 * 1024];
    // SAFETY: getpwnam_r writes the entry into `entry` and its strings into
    // `buf`, both ours and large enough as told; `found` says whether an
    // entry was found.
    let mut entry: libc::passwd = unsafe { std::mem::zeroed() };
    let mut found: *mut libc::passwd = std::ptr::null_mut();
    let rc = unsafe {
        libc::getpwnam_r(
            c_name.as_ptr(),
            &mut entry,
            buf.as_mut_ptr(),
            buf.len(),
            &mut found,
        )
    };
    if rc != 0 {
        return Err(error(io::Error::from_raw_os_error(rc).to_string()));
    }
    if found.is_null() {
        return Err(error("no such user".into()));
    }
    Ok(RunAs {
        name: name.to_owned(),
        uid: entry.pw_uid,
        gid: entry.pw_gid,
    })
}

/// Where a launched process's stdout and stderr go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Output {
    /// Appended to the files `stdout` and `stderr` in this directory.
    Files(PathBuf),
    /// The launching process's own stdout and stderr.
    Inherit,
}

/// How a launched process is separated from its launcher.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Grouping {
    /// A new session and process group (`setsid`): what executors get. The
    /// container is the whole session.
    NewSession,
    /// A new process group in the launcher's session (`setpgid`): what the
    /// command executor gives its task, so the agent's session-wide signals
    /// still reach the task.
    NewGroup,
}

/// How [`spawn`] starts a process.
#[derive(Debug, Clone, PartialEq)]
pub struct SpawnOptions {
    /// The working directory; the launcher's own if `None`.
    pub cwd: Option<PathBuf>,
    pub env: Vec<(String, String)>,
    /// Whether the launcher's own environment is passed on under `env`.
    pub inherit_env: bool,
    pub output: Output,
    pub grouping: Grouping,
    /// Run as this user rather than the launcher's.
    pub user: Option<RunAs>,
}

/// The program to exec and its argv (`argv[0]` first) for `command`, as Mesos
/// runs a `CommandInfo`.
pub fn command_line(command: &CommandInfo) -> Result<(String, Vec<String>), LaunchError> {
    let value = command
        .value
        .as_deref()
        .filter(|v| !v.is_empty())
        .ok_or(LaunchError::NoCommand)?;
    if command.shell {
        return Ok((
            "/bin/sh".to_owned(),
            vec!["sh".to_owned(), "-c".to_owned(), value.to_owned()],
        ));
    }
    let argv = if command.arguments.is_empty() {
        vec![value.to_owned()]
    } else {
        command.arguments.clone()
    };
    Ok((value.to_owned(), argv))
}

/// Starts `command` as described by `options`: stdin from `/dev/null`, in
/// a session or process group of its own. Must run inside a tokio runtime
/// (an actix system), which then reaps it.
pub fn spawn(command: &CommandInfo, options: SpawnOptions) -> Result<Container, LaunchError> {
    spawn_with(command, options, None, Isolation::default())
}

/// [`spawn`], in cgroup `scope` if given (the container is then all of
/// it), joining `isolation`'s cgroups before exec.
pub(super) fn spawn_with(
    command: &CommandInfo,
    options: SpawnOptions,
    scope: Option<Cgroup>,
    isolation: Isolation,
) -> Result<Container, LaunchError> {
    if tokio::runtime::Handle::try_current().is_err() {
        return Err(LaunchError::NoRuntime);
    }
    let (program, argv) = command_line(command)?;
    let mut cmd = tokio::process::Command::new(&program);
    if let Some((argv0, rest)) = argv.split_first() {
        cmd.arg0(argv0).args(rest);
    }
    if !options.inherit_env {
        cmd.env_clear();
    }
    cmd.envs(options.env)
        .stdin(std::process::Stdio::null())
        // A backstop only: the reaper task owns the child and kills the
        // whole container itself.
        .kill_on_drop(true);
    if let Some(cwd) = &options.cwd {
        cmd.current_dir(cwd);
    }
    // The files the child writes itself into, prepared here since the
    // child may only make async-signal-safe calls. On cgroup v1 that is
    // `tasks`, not `cgroup.procs`: the child is single-threaded, so moving
    // its one thread moves the process, and the kernel moves a thread
    // without the global threadgroup lock whose RCU wait made every
    // `cgroup.procs` write take about 10 ms here.
    let join: Vec<std::ffi::CString> = scope
        .iter()
        .chain(isolation.join.iter())
        .filter_map(|c| {
            let file = match c.version {
                crate::container::cgroups::Version::V1 => "tasks",
                crate::container::cgroups::Version::V2 => "cgroup.procs",
            };
            std::ffi::CString::new(c.path.join(file).into_os_string().into_encoded_bytes()).ok()
        })
        .collect();
    if let Some(user) = &options.user {
        cmd.env("USER", &user.name);
        if join.is_empty() {
            // The standard library drops supplementary groups (as root)
            // and sets the group before the user, in the child before exec.
            cmd.gid(user.gid).uid(user.uid);
        }
    }
    let switch_to = options.user.as_ref().map(|u| (u.uid, u.gid));
    if let Output::Files(dir) = &options.output {
        cmd.stdout(append(&dir.join("stdout"))?)
            .stderr(append(&dir.join("stderr"))?);
    }
    match options.grouping {
        Grouping::NewGroup => {
            cmd.process_group(0);
        }
        Grouping::NewSession => {
            // SAFETY: the closure runs in the forked child before exec and
            // calls only setsid, which is async-signal-safe.
            unsafe {
                cmd.pre_exec(|| {
                    if libc::setsid() == -1 {
                        return Err(io::Error::last_os_error());
                    }
                    Ok(())
                });
            }
        }
    }
    if !join.is_empty() {
        // SAFETY: the closure runs in the forked child before exec and
        // calls only open, write, close, setgroups, setgid and setuid
        // (async-signal-safe) on memory prepared before the fork. It runs
        // after the standard library's own uid switch, which is therefore
        // not used here: joining the cgroups needs root.
        unsafe {
            cmd.pre_exec(move || {
                for file in &join {
                    join_cgroup(file)?;
                }
                if let Some((uid, gid)) = switch_to {
                    if libc::setgroups(0, std::ptr::null()) == -1
                        || libc::setgid(gid) == -1
                        || libc::setuid(uid) == -1
                    {
                        return Err(io::Error::last_os_error());
                    }
                }
                Ok(())
            });
        }
    }
    let spawn_error = |source| LaunchError::Spawn {
        program: program.clone(),
        source,
    };
    let mut child = cmd.spawn().map_err(spawn_error)?;
    let Some(pid) = child.id().and_then(|p| i32::try_from(p).ok()) else {
        return Err(spawn_error(io::Error::other("the child has no pid")));
    };
    let scope = match (scope, options.grouping) {
        (Some(cgroup), _) => Scope::Cgroup(cgroup),
        (None, Grouping::NewSession) => Scope::Session(pid),
        (None, Grouping::NewGroup) => Scope::Group(pid),
    };
    let (tx, rx) = watch::channel(None);
    let ending = scope.clone();
    let on_exit = isolation.on_exit;
    tokio::spawn(async move {
        let result = child
            .wait()
            .await
            .map(|s| ExitStatus::from_raw(s.into_raw()))
            .map_err(|e| e.to_string());
        // The leader is gone: so is the container. Its id cannot name
        // anyone else while stragglers still use it as their group or
        // session; once none do, only a pid wraparound between the reap
        // above and this call could make it another's.
        end_scope(&ending).await;
        if let Some(on_exit) = on_exit {
            on_exit();
        }
        tx.send_replace(Some(result));
    });
    tracing::debug!(pid, program, "launched");
    Ok(Container::new(pid, scope, rx, isolation.limitation))
}

/// Kills what is left of a container whose leader has ended; a cgroup is
/// emptied (and left for its launcher's exit hook to remove, after the
/// isolators' last reading).
async fn end_scope(scope: &Scope) {
    match scope {
        Scope::Cgroup(cgroup) => {
            if let Err(e) = cgroup.empty(CGROUP_DESTROY_DEADLINE).await {
                tracing::warn!(cgroup = %cgroup.path.display(), "cannot empty the container's cgroup: {e}");
            }
        }
        other => other.signal(libc::SIGKILL),
    }
}

/// How long killing a cgroup's processes until it is empty may take.
pub(super) const CGROUP_DESTROY_DEADLINE: Duration = Duration::from_secs(30);

/// Writes the calling process into the cgroup whose `tasks` (v1) or
/// `cgroup.procs` (v2) is `file` (`0` names the writer). Called in a
/// forked, single-threaded child before exec: only async-signal-safe calls.
fn join_cgroup(file: &std::ffi::CStr) -> io::Result<()> {
    // SAFETY: `file` is a valid NUL-terminated path; the descriptor is
    // ours and closed before returning.
    unsafe {
        let fd = libc::open(file.as_ptr(), libc::O_WRONLY | libc::O_CLOEXEC);
        if fd == -1 {
            return Err(io::Error::last_os_error());
        }
        let written = libc::write(fd, b"0".as_ptr().cast(), 1);
        let error = io::Error::last_os_error();
        libc::close(fd);
        if written != 1 {
            return Err(error);
        }
    }
    Ok(())
}

/// Takes back an executor a previous run of the agent launched (it leads a
/// session of its own, and is not a child of this process): the returned
/// container watches it through a pidfd (Linux 5.3 and later), else by
/// polling `/proc`, and behaves as a launched one, except that its exit
/// status cannot be known (waiting ends in a
/// [`WaitError`](super::WaitError)). Must run inside a tokio runtime.
pub fn recover(pid: i32) -> Result<Container, LaunchError> {
    recover_with(pid, None, Isolation::default())
}

/// [`recover`], for a container that is cgroup `scope` if given. The
/// isolation's cgroups were joined at launch; only its limitation cell and
/// exit hook are used.
pub(super) fn recover_with(
    pid: i32,
    scope: Option<Cgroup>,
    isolation: Isolation,
) -> Result<Container, LaunchError> {
    if tokio::runtime::Handle::try_current().is_err() {
        return Err(LaunchError::NoRuntime);
    }
    let scope = match scope {
        Some(cgroup) => Scope::Cgroup(cgroup),
        None => Scope::Session(pid),
    };
    let (tx, rx) = watch::channel(None);
    let ending = scope.clone();
    let on_exit = isolation.on_exit;
    tokio::spawn(async move {
        wait_foreign(pid).await;
        end_scope(&ending).await;
        if let Some(on_exit) = on_exit {
            on_exit();
        }
        tx.send_replace(Some(Err(
            "it was not launched by this agent process, so its exit status is unknown".to_owned(),
        )));
    });
    tracing::debug!(pid, "watching a recovered executor");
    Ok(Container::new(pid, scope, rx, isolation.limitation))
}

/// Resolves once process `pid`, which is not our child, has exited.
async fn wait_foreign(pid: i32) {
    if let Some(fd) = pidfd_open(pid) {
        // SAFETY: the AsyncFd owns the descriptor, which stays open while
        // it is registered and is closed only when the AsyncFd drops.
        let registered = unsafe {
            tokio::io::unix::AsyncFd::register_with_interest(fd, tokio::io::Interest::READABLE)
        };
        match registered {
            // A pidfd becomes readable when its process exits.
            Ok(fd) => {
                if fd.readable().await.is_ok() {
                    return;
                }
            }
            Err(e) => tracing::debug!(pid, "cannot poll a pidfd ({e}); polling /proc"),
        }
    }
    let mut tick = tokio::time::interval(Duration::from_millis(250));
    while is_alive(pid) {
        tick.tick().await;
    }
}

fn pidfd_open(pid: i32) -> Option<std::os::fd::OwnedFd> {
    use std::os::fd::FromRawFd;
    // SAFETY: a plain system call; on success it returns a new descriptor
    // that nothing else owns.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) };
    let fd = i32::try_from(fd).ok().filter(|fd| *fd >= 0)?;
    // SAFETY: `fd` is a fresh descriptor owned by no one else.
    Some(unsafe { std::os::fd::OwnedFd::from_raw_fd(fd) })
}

pub(super) fn append(path: &Path) -> Result<std::fs::File, LaunchError> {
    OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(|source| LaunchError::Output {
            path: path.to_owned(),
            source,
        })
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use crate::container::proc::process_start_time;
    use crate::container::sandbox::create_sandbox;
    use std::time::Instant;
    use wire::ids::{AgentId, ContainerId, ExecutorId, FrameworkId};

    pub(in crate::container) const DEADLINE: Duration = Duration::from_secs(10);

    pub(in crate::container) fn sandbox(work: &Path, container: &str) -> PathBuf {
        create_sandbox(
            work,
            &AgentId::new("a-S0"),
            &FrameworkId::new("a-0000"),
            &ExecutorId::new("exec"),
            &ContainerId::new(container),
        )
        .unwrap()
    }

    fn shell(dir: &Path, script: &str) -> Container {
        spawn(
            &CommandInfo::shell(script),
            SpawnOptions {
                cwd: Some(dir.to_owned()),
                env: vec![("GREETING".into(), "hello".into())],
                inherit_env: true,
                output: Output::Files(dir.to_owned()),
                grouping: Grouping::NewSession,
                user: None,
            },
        )
        .unwrap()
    }

    pub(in crate::container) async fn wait(c: &Container) -> ExitStatus {
        tokio::time::timeout(DEADLINE, c.wait())
            .await
            .expect("the process did not exit in time")
            .unwrap()
    }

    pub(in crate::container) async fn read_pid(path: &Path) -> i32 {
        let end = Instant::now() + DEADLINE;
        loop {
            if let Some(pid) = std::fs::read_to_string(path)
                .ok()
                .and_then(|s| s.trim().parse().ok())
            {
                return pid;
            }
            assert!(Instant::now() < end, "{} never appeared", path.display());
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    #[tokio::test]
    async fn a_recovered_container_is_watched_and_signalled_though_not_a_child() {
        let work = tempfile::tempdir().unwrap();
        let dir = sandbox(work.path(), "c1");
        // A session leader that is not our child: `sh` forks it and exits,
        // and it writes its pid.
        // (It waits for the pid file: its end kills what is left of its
        // own group, which the child leaves only when it calls setsid.)
        let launcher = shell(
            &dir,
            "setsid sh -c 'echo $$ > pid; exec sleep 600' & while [ ! -s pid ]; do sleep 0.01; done",
        );
        wait(&launcher).await;
        let pid = read_pid(&dir.join("pid")).await;
        assert!(is_alive(pid));
        let started = process_start_time(pid).unwrap();
        assert_eq!(process_start_time(pid), Some(started));
        let recovered = recover(pid).unwrap();
        assert!(recovered.try_status().is_none());
        recovered.signal(libc::SIGKILL);
        let outcome = tokio::time::timeout(DEADLINE, recovered.wait())
            .await
            .expect("the recovered process was not seen to exit");
        assert!(outcome.is_err(), "a foreign exit status is unknown");
        assert!(!is_alive(pid));
        assert_eq!(process_start_time(-1), None);
    }

    #[test]
    fn command_lines_follow_command_info() {
        let shell = CommandInfo::shell("echo $HOME");
        assert_eq!(
            command_line(&shell).unwrap(),
            (
                "/bin/sh".to_owned(),
                vec!["sh".into(), "-c".into(), "echo $HOME".into()]
            )
        );
        let mut exec = CommandInfo::shell("/bin/echo");
        exec.shell = false;
        assert_eq!(
            command_line(&exec).unwrap(),
            ("/bin/echo".to_owned(), vec!["/bin/echo".to_owned()])
        );
        exec.arguments = vec!["echo".into(), "a b".into()];
        assert_eq!(command_line(&exec).unwrap().1, ["echo", "a b"]);
        exec.value = None;
        assert!(matches!(command_line(&exec), Err(LaunchError::NoCommand)));
    }

    #[tokio::test]
    async fn exit_codes_and_signals_are_reported() {
        let work = tempfile::tempdir().unwrap();
        let dir = sandbox(work.path(), "c1");
        let status = wait(&shell(&dir, "exit 3")).await;
        assert_eq!(
            (status.code(), status.signal(), status.raw()),
            (Some(3), None, 3 << 8)
        );
        let status = wait(&shell(&dir, "kill -9 $$")).await;
        assert_eq!(
            (status.code(), status.signal(), status.raw()),
            (None, Some(9), 9)
        );
        assert_eq!(status.to_string(), "terminated with signal Killed");
    }

    #[tokio::test]
    async fn the_executor_leads_a_session_of_its_own() {
        let work = tempfile::tempdir().unwrap();
        let dir = sandbox(work.path(), "c1");
        let c = shell(&dir, "sleep 100");
        // spawn returns after the exec, so setsid has happened.
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", c.pid())).unwrap();
        let (_, rest) = stat.rsplit_once(')').unwrap();
        let fields: Vec<&str> = rest.split_whitespace().collect();
        let own = c.pid().to_string();
        assert_eq!(
            (fields[2], fields[3]),
            (own.as_str(), own.as_str()),
            "pgrp, session"
        );
        let status = c.destroy(Duration::from_secs(5)).await.unwrap();
        assert_eq!(status.signal(), Some(libc::SIGTERM));
    }

    #[tokio::test]
    async fn destroy_kills_the_whole_group_including_grandchildren() {
        let work = tempfile::tempdir().unwrap();
        let dir = sandbox(work.path(), "c1");
        let c = shell(&dir, "sleep 100 & echo $! > bg.pid; sleep 100");
        let grandchild = read_pid(&dir.join("bg.pid")).await;
        assert!(is_alive(grandchild));
        let started = Instant::now();
        let status = c.destroy(Duration::from_secs(5)).await.unwrap();
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "TERM was enough"
        );
        assert_eq!(status.signal(), Some(libc::SIGTERM));
        let end = Instant::now() + DEADLINE;
        while is_alive(grandchild) {
            assert!(Instant::now() < end, "grandchild {grandchild} survived");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    #[tokio::test]
    async fn destroy_escalates_to_sigkill_after_the_grace_period() {
        let work = tempfile::tempdir().unwrap();
        let dir = sandbox(work.path(), "c1");
        // Ignoring TERM is inherited by sleep; the marker is written after
        // the trap is in place.
        let c = shell(&dir, "trap '' TERM; echo $$ > ready; sleep 100");
        read_pid(&dir.join("ready")).await;
        let grace = Duration::from_millis(300);
        let started = Instant::now();
        let status = c.destroy(grace).await.unwrap();
        assert!(started.elapsed() >= grace);
        assert_eq!(status.signal(), Some(libc::SIGKILL));
        assert_eq!(c.try_status(), Some(Ok(status)));
        // Destroying what is gone reports how it ended.
        assert_eq!(c.destroy(grace).await, Ok(status));
    }

    #[tokio::test]
    async fn processes_left_in_the_session_die_with_the_leader() {
        let work = tempfile::tempdir().unwrap();
        let dir = sandbox(work.path(), "c1");
        // The straggler moves to a group of its own but stays in the session.
        // (perl is part of every Debian system.)
        let c = shell(
            &dir,
            "perl -e 'setpgrp(0, 0); sleep 100' & echo $! > bg.pid; exit 0",
        );
        let straggler = read_pid(&dir.join("bg.pid")).await;
        assert!(wait(&c).await.success());
        let end = Instant::now() + DEADLINE;
        while is_alive(straggler) {
            assert!(
                Instant::now() < end,
                "straggler {straggler} survived its leader"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    #[tokio::test]
    async fn dropping_a_running_container_kills_it() {
        let work = tempfile::tempdir().unwrap();
        let dir = sandbox(work.path(), "c1");
        let c = shell(&dir, "sleep 100 & echo $! > bg.pid; sleep 100");
        let child = read_pid(&dir.join("bg.pid")).await;
        let leader = c.pid();
        drop(c);
        let end = Instant::now() + DEADLINE;
        while is_alive(child) || is_alive(leader) {
            assert!(Instant::now() < end, "the container outlived its handle");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}
