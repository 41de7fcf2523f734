//! Running executors as Mesos's posix launcher does: each run gets a
//! sandbox directory under the agent's work_dir, and its executor is started
//! there in a session and process group of its own, with its stdout and
//! stderr appended to files in the sandbox.
//!
//! Mesos counterparts: the sandbox layout of `src/slave/paths.cpp`
//! (`slaves/<agent>/frameworks/<framework>/executors/<executor>/runs/<container>`
//! and the `runs/latest` link), and `PosixLauncher` under the
//! `MesosContainerizer` (fork into a new session, signal the whole session,
//! reap and report the wait status).
//!
//! A [`Container`] is the session (or, for [`Grouping::NewGroup`], the
//! process group) its leader heads. Signals go to every process in it, and
//! once the leader has exited whatever is left of it is killed: a container
//! never outlives its leader, and dropping the last handle to a running
//! container kills it. The leader is reaped by a task on the tokio runtime
//! that launched it, so no zombie remains.
//!
//! Ids in paths come from frameworks and the master: [`sandbox_dir`] refuses
//! any id that could name something other than one plain path component.

use std::fs::OpenOptions;
use std::io;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
use wire::ids::{AgentId, ContainerId, ExecutorId, FrameworkId};
use wire::mesos::CommandInfo;

/// The link in `runs/` that names the newest run of an executor.
pub const LATEST: &str = "latest";

/// Why a sandbox could not be named or created.
#[derive(Debug, thiserror::Error)]
pub enum SandboxError {
    #[error("invalid {kind} id '{id}': {reason}")]
    BadId {
        kind: &'static str,
        id: String,
        reason: &'static str,
    },
    #[error("cannot create sandbox {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
}

/// Checks that `id` can be used as one path component: not empty, not `.`
/// or `..`, and without `/` or NUL.
pub fn check_id(kind: &'static str, id: &str) -> Result<(), SandboxError> {
    let reason = if id.is_empty() {
        "empty"
    } else if id == "." || id == ".." {
        "names a directory itself"
    } else if id.contains('/') {
        "contains '/'"
    } else if id.contains('\0') {
        "contains NUL"
    } else {
        return Ok(());
    };
    Err(SandboxError::BadId {
        kind,
        id: id.to_owned(),
        reason,
    })
}

/// `<work_dir>/slaves/<agent>/frameworks/<framework>/executors/<executor>/runs`:
/// the directory holding every run of one executor and the `latest` link.
pub fn runs_dir(
    work_dir: &Path,
    agent_id: &AgentId,
    framework_id: &FrameworkId,
    executor_id: &ExecutorId,
) -> Result<PathBuf, SandboxError> {
    check_id("agent", agent_id.as_str())?;
    check_id("framework", framework_id.as_str())?;
    check_id("executor", executor_id.as_str())?;
    Ok(work_dir
        .join("slaves")
        .join(agent_id.as_str())
        .join("frameworks")
        .join(framework_id.as_str())
        .join("executors")
        .join(executor_id.as_str())
        .join("runs"))
}

/// The sandbox of one executor run:
/// `<work_dir>/slaves/<agent>/frameworks/<framework>/executors/<executor>/runs/<container>`.
pub fn sandbox_dir(
    work_dir: &Path,
    agent_id: &AgentId,
    framework_id: &FrameworkId,
    executor_id: &ExecutorId,
    container_id: &ContainerId,
) -> Result<PathBuf, SandboxError> {
    check_id("container", container_id.as_str())?;
    if container_id.as_str() == LATEST {
        return Err(SandboxError::BadId {
            kind: "container",
            id: LATEST.to_owned(),
            reason: "is the name of the link to the newest run",
        });
    }
    Ok(runs_dir(work_dir, agent_id, framework_id, executor_id)?.join(container_id.as_str()))
}

/// Creates the sandbox of a run (and its parents) and points `runs/latest`
/// at it. The link is replaced atomically: a temporary link is renamed over
/// it, so readers see the old run or the new one, never no link.
pub fn create_sandbox(
    work_dir: &Path,
    agent_id: &AgentId,
    framework_id: &FrameworkId,
    executor_id: &ExecutorId,
    container_id: &ContainerId,
) -> Result<PathBuf, SandboxError> {
    let sandbox = sandbox_dir(work_dir, agent_id, framework_id, executor_id, container_id)?;
    let io_error = |path: &Path| {
        let path = path.to_owned();
        move |source| SandboxError::Io { path, source }
    };
    std::fs::create_dir_all(&sandbox).map_err(io_error(&sandbox))?;
    let runs = runs_dir(work_dir, agent_id, framework_id, executor_id)?;
    // Relative, so the tree stays valid if work_dir is moved. The temporary
    // name is unique per container, so concurrent launches do not collide.
    let temp = runs.join(format!(".{LATEST}.{}.tmp", container_id.as_str()));
    let _ = std::fs::remove_file(&temp);
    std::os::unix::fs::symlink(container_id.as_str(), &temp).map_err(io_error(&temp))?;
    let latest = runs.join(LATEST);
    if let Err(e) = std::fs::rename(&temp, &latest) {
        let _ = std::fs::remove_file(&temp);
        return Err(io_error(&latest)(e));
    }
    Ok(sandbox)
}

/// What to run, where, with which environment: one executor launch.
#[derive(Debug, Clone, PartialEq)]
pub struct LaunchSpec {
    /// `shell` runs `/bin/sh -c <value>`; otherwise `value` is exec'd with
    /// `arguments` as argv. `command.environment` is not applied here: the
    /// caller merges it into `env`.
    pub command: CommandInfo,
    /// The working directory, where `stdout` and `stderr` are written.
    pub sandbox: PathBuf,
    /// Added to (and overriding) the agent's own environment, or, if not
    /// `inherit_env`, the whole environment.
    pub env: Vec<(String, String)>,
    /// Whether the agent's own environment is passed on (it is not when
    /// the operator names it with `--executor_environment_variables`).
    pub inherit_env: bool,
    /// The user to run as (`--switch_user`); the sandbox becomes theirs.
    pub user: Option<String>,
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

/// The general form of [`launch`].
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

/// The program to exec and its argv (argv[0] first) for `command`, as Mesos
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

/// Launches an executor: cwd and output files in `spec.sandbox`, stdin
/// from `/dev/null`, in a new session. Must run inside a tokio runtime (an
/// actix system), which then reaps it.
pub fn launch(spec: LaunchSpec) -> Result<Container, LaunchError> {
    let user = match &spec.user {
        None => None,
        Some(name) => {
            let user = lookup_user(name)?;
            give_sandbox(&spec.sandbox, &user)?;
            Some(user)
        }
    };
    spawn(
        &spec.command,
        SpawnOptions {
            cwd: Some(spec.sandbox.clone()),
            env: spec.env,
            inherit_env: spec.inherit_env,
            output: Output::Files(spec.sandbox),
            grouping: Grouping::NewSession,
            user,
        },
    )
}

/// Makes the sandbox and its `stdout` and `stderr` the user's, so that the
/// container can write there once it runs as them.
fn give_sandbox(sandbox: &Path, user: &RunAs) -> Result<(), LaunchError> {
    let chown_error = |source| LaunchError::Chown {
        user: user.name.clone(),
        source,
    };
    for name in ["stdout", "stderr"] {
        drop(append(&sandbox.join(name))?);
    }
    for path in [
        sandbox.to_path_buf(),
        sandbox.join("stdout"),
        sandbox.join("stderr"),
    ] {
        std::os::unix::fs::chown(&path, Some(user.uid), Some(user.gid)).map_err(chown_error)?;
    }
    Ok(())
}

/// Starts `command` as described by `options`; see [`launch`].
pub fn spawn(command: &CommandInfo, options: SpawnOptions) -> Result<Container, LaunchError> {
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
    if let Some(user) = &options.user {
        // The standard library drops supplementary groups (as root) and
        // sets the group before the user, in the child before exec.
        cmd.gid(user.gid).uid(user.uid);
        cmd.env("USER", &user.name);
    }
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
    let spawn_error = |source| LaunchError::Spawn {
        program: program.clone(),
        source,
    };
    let mut child = cmd.spawn().map_err(spawn_error)?;
    let Some(pid) = child.id().and_then(|p| i32::try_from(p).ok()) else {
        return Err(spawn_error(io::Error::other("the child has no pid")));
    };
    let leads_session = options.grouping == Grouping::NewSession;
    let (tx, rx) = watch::channel(None);
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
        signal_container(pid, leads_session, libc::SIGKILL);
        tx.send_replace(Some(result));
    });
    tracing::debug!(pid, program, "launched");
    Ok(Container {
        inner: Arc::new(Inner {
            pid,
            leads_session,
            exit: rx,
        }),
    })
}

/// Takes back an executor a previous run of the agent launched (it leads a
/// session of its own, and is not a child of this process): the returned
/// container watches it through a pidfd (Linux 5.3 and later), else by
/// polling `/proc`, and behaves as a launched one, except that its exit
/// status cannot be known (waiting ends in a [`WaitError`]). Must run
/// inside a tokio runtime.
pub fn recover(pid: i32) -> Result<Container, LaunchError> {
    if tokio::runtime::Handle::try_current().is_err() {
        return Err(LaunchError::NoRuntime);
    }
    let (tx, rx) = watch::channel(None);
    tokio::spawn(async move {
        wait_foreign(pid).await;
        signal_container(pid, true, libc::SIGKILL);
        tx.send_replace(Some(Err(
            "it was not launched by this agent process, so its exit status is unknown".to_owned(),
        )));
    });
    tracing::debug!(pid, "watching a recovered executor");
    Ok(Container {
        inner: Arc::new(Inner {
            pid,
            leads_session: true,
            exit: rx,
        }),
    })
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

/// Field `n` (numbered as in proc(5), the state being field 3) of the
/// `/proc/<pid>/stat` line `text`: the command name before it may hold
/// spaces and parentheses, so fields are counted after its last `)`.
pub fn stat_field(text: &str, n: usize) -> Option<&str> {
    let (_, rest) = text.rsplit_once(')')?;
    rest.split_whitespace().nth(n.checked_sub(3)?)
}

/// Whether `pid` names a live process (a zombie counts as dead).
pub fn is_alive(pid: i32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|stat| stat_field(&stat, 3).map(|s| s != "Z" && s != "X"))
        .unwrap_or(false)
}

/// When process `pid` started, in clock ticks since boot (field 22 of
/// `/proc/<pid>/stat`): with the pid, it names one process, even after the
/// pid is recycled.
pub fn process_start_time(pid: i32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    stat_field(&stat, 22)?.parse().ok()
}

fn append(path: &Path) -> Result<std::fs::File, LaunchError> {
    OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(|source| LaunchError::Output {
            path: path.to_owned(),
            source,
        })
}

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

/// A launched process and the session or group it leads. Clones share it.
#[derive(Clone)]
pub struct Container {
    inner: Arc<Inner>,
}

struct Inner {
    /// The leader's pid, which is also the group's (and session's) id.
    pid: i32,
    /// Whether the container is a whole session (else only a group).
    leads_session: bool,
    /// `Some` once the leader has been reaped.
    exit: watch::Receiver<Option<Result<ExitStatus, String>>>,
}

impl Drop for Inner {
    fn drop(&mut self) {
        if self.exit.borrow().is_none() {
            tracing::debug!(
                pid = self.pid,
                "container dropped while running; killing it"
            );
            signal_container(self.pid, self.leads_session, libc::SIGKILL);
        }
    }
}

impl std::fmt::Debug for Container {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Container")
            .field("pid", &self.inner.pid)
            .field("status", &self.try_status())
            .finish()
    }
}

impl Container {
    /// The leader's OS pid.
    pub fn pid(&self) -> i32 {
        self.inner.pid
    }

    /// How the leader ended, if it has.
    pub fn try_status(&self) -> Option<Result<ExitStatus, WaitError>> {
        self.inner.exit.borrow().as_ref().map(|r| self.to_result(r))
    }

    fn to_result(&self, r: &Result<ExitStatus, String>) -> Result<ExitStatus, WaitError> {
        r.clone().map_err(|reason| WaitError {
            pid: self.inner.pid,
            reason,
        })
    }

    /// Waits until the leader has exited and been reaped. Any number of
    /// waiters may wait at once.
    pub async fn wait(&self) -> Result<ExitStatus, WaitError> {
        let mut rx = self.inner.exit.clone();
        let outcome = match rx.wait_for(Option::is_some).await {
            Ok(done) => done.as_ref().map(|r| self.to_result(r)),
            Err(_) => None,
        };
        outcome.unwrap_or_else(|| {
            Err(WaitError {
                pid: self.inner.pid,
                reason: "its reaper stopped (the runtime shut down)".to_owned(),
            })
        })
    }

    /// Sends `signal` to the leader's process group (`killpg`). Does
    /// nothing once the leader has exited (the container is gone then).
    pub fn signal_group(&self, signal: i32) -> io::Result<()> {
        if self.try_status().is_some() {
            return Ok(());
        }
        // SAFETY: plain system call; the group id is our child's pid, which
        // cannot be reused before the reaper has reaped it.
        if unsafe { libc::killpg(self.inner.pid, signal) } == -1 {
            let e = io::Error::last_os_error();
            if e.raw_os_error() != Some(libc::ESRCH) {
                return Err(e);
            }
        }
        Ok(())
    }

    /// Sends `signal` to every process of the container: the leader's group
    /// and, if it leads a session, every other process in that session.
    pub fn signal(&self, signal: i32) {
        if self.try_status().is_none() {
            signal_container(self.inner.pid, self.inner.leads_session, signal);
        }
    }

    /// Stops the container: SIGTERM to all of it, then, if the leader is
    /// still running after `grace`, SIGKILL. Returns once the leader has
    /// exited (how it ended).
    pub async fn destroy(&self, grace: Duration) -> Result<ExitStatus, WaitError> {
        if let Some(done) = self.try_status() {
            return done;
        }
        tracing::debug!(pid = self.inner.pid, ?grace, "destroying container");
        self.signal(libc::SIGTERM);
        if let Ok(done) = tokio::time::timeout(grace, self.wait()).await {
            return done;
        }
        tracing::info!(
            pid = self.inner.pid,
            ?grace,
            "container still running after its grace period; killing it"
        );
        self.signal(libc::SIGKILL);
        self.wait().await
    }
}

/// Signals the group `pid` leads and, with `session`, every process of the
/// session it leads (processes that moved to another group of the session
/// are still part of the container). Errors mean nobody was left to signal.
fn signal_container(pid: i32, session: bool, signal: i32) {
    // SAFETY: plain system calls on ids of processes we launched.
    unsafe {
        libc::killpg(pid, signal);
    }
    if session {
        for member in session_members(pid) {
            // SAFETY: as above.
            unsafe {
                libc::kill(member, signal);
            }
        }
    }
}

/// The processes whose session id is `sid` (from `/proc`; none elsewhere).
fn session_members(sid: i32) -> Vec<i32> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(Result::ok)
        .filter_map(|e| e.file_name().to_str().and_then(|n| n.parse::<i32>().ok()))
        .filter(|pid| {
            std::fs::read_to_string(format!("/proc/{pid}/stat"))
                .ok()
                .and_then(|stat| stat_session(&stat))
                == Some(sid)
        })
        .collect()
}

/// The session id field of a `/proc/<pid>/stat` line. The command name may
/// contain anything, so fields are counted after its closing parenthesis:
/// state, ppid, pgrp, session.
fn stat_session(stat: &str) -> Option<i32> {
    let (_, rest) = stat.rsplit_once(')')?;
    rest.split_whitespace().nth(3)?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Instant;

    const DEADLINE: Duration = Duration::from_secs(10);

    fn ids() -> (AgentId, FrameworkId, ExecutorId) {
        (
            AgentId::new("a-S0"),
            FrameworkId::new("a-0000"),
            ExecutorId::new("exec"),
        )
    }

    fn sandbox(work: &Path, container: &str) -> PathBuf {
        let (a, f, e) = ids();
        create_sandbox(work, &a, &f, &e, &ContainerId::new(container)).unwrap()
    }

    fn shell(dir: &Path, script: &str) -> Container {
        launch(LaunchSpec {
            command: CommandInfo::shell(script),
            sandbox: dir.to_owned(),
            env: vec![("GREETING".into(), "hello".into())],
            inherit_env: true,
            user: None,
        })
        .unwrap()
    }

    async fn wait(c: &Container) -> ExitStatus {
        tokio::time::timeout(DEADLINE, c.wait())
            .await
            .expect("the process did not exit in time")
            .unwrap()
    }

    async fn read_pid(path: &Path) -> i32 {
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
    fn sandbox_paths_follow_the_mesos_layout() {
        let (a, f, e) = ids();
        let path = sandbox_dir(Path::new("/w"), &a, &f, &e, &ContainerId::new("c1")).unwrap();
        assert_eq!(
            path,
            Path::new("/w/slaves/a-S0/frameworks/a-0000/executors/exec/runs/c1")
        );
    }

    #[test]
    fn ids_that_could_escape_the_work_dir_are_refused() {
        let (a, f, e) = ids();
        let c = ContainerId::new("c");
        for bad in ["", ".", "..", "a/b", "../../etc", "x\0y"] {
            let bad_container = ContainerId::new(bad);
            assert!(matches!(
                sandbox_dir(Path::new("/w"), &a, &f, &e, &bad_container),
                Err(SandboxError::BadId {
                    kind: "container",
                    ..
                })
            ));
            assert!(sandbox_dir(Path::new("/w"), &AgentId::new(bad), &f, &e, &c).is_err());
            assert!(sandbox_dir(Path::new("/w"), &a, &FrameworkId::new(bad), &e, &c).is_err());
            assert!(sandbox_dir(Path::new("/w"), &a, &f, &ExecutorId::new(bad), &c).is_err());
        }
        assert!(sandbox_dir(Path::new("/w"), &a, &f, &e, &ContainerId::new(LATEST)).is_err());
        assert!(sandbox_dir(Path::new("/w"), &a, &f, &e, &ContainerId::new("..x")).is_ok());
    }

    #[test]
    fn latest_points_at_the_newest_run() {
        let work = tempfile::tempdir().unwrap();
        let first = sandbox(work.path(), "c1");
        assert!(first.is_dir());
        let latest = first.parent().unwrap().join(LATEST);
        assert_eq!(std::fs::read_link(&latest).unwrap(), Path::new("c1"));
        let second = sandbox(work.path(), "c2");
        assert_eq!(std::fs::read_link(&latest).unwrap(), Path::new("c2"));
        assert_eq!(
            std::fs::canonicalize(&latest).unwrap(),
            std::fs::canonicalize(second).unwrap()
        );
        // No temporary links are left behind.
        let names: Vec<String> = std::fs::read_dir(first.parent().unwrap())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        let mut names = names;
        names.sort();
        assert_eq!(names, ["c1", "c2", "latest"]);
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

    #[test]
    fn session_ids_are_read_past_odd_command_names() {
        let stat = "42 (a) b (c)) S 1 42 40 0 -1 4194560";
        assert_eq!(stat_session(stat), Some(40));
        assert_eq!(stat_session("garbage"), None);
    }

    #[tokio::test]
    async fn output_lands_in_the_sandbox_files() {
        let work = tempfile::tempdir().unwrap();
        let dir = sandbox(work.path(), "c1");
        let c = shell(&dir, "echo out $GREETING; echo err >&2; pwd");
        assert!(c.pid() > 0);
        assert!(wait(&c).await.success());
        let stdout = std::fs::read_to_string(dir.join("stdout")).unwrap();
        let pwd = std::fs::canonicalize(&dir).unwrap();
        assert_eq!(stdout, format!("out hello\n{}\n", pwd.display()));
        assert_eq!(
            std::fs::read_to_string(dir.join("stderr")).unwrap(),
            "err\n"
        );
        // A second run in the same sandbox appends.
        let again = shell(&dir, "echo again");
        wait(&again).await;
        assert!(std::fs::read_to_string(dir.join("stdout"))
            .unwrap()
            .ends_with("again\n"));
    }

    #[tokio::test]
    async fn exec_form_runs_the_program_with_its_argv() {
        let work = tempfile::tempdir().unwrap();
        let dir = sandbox(work.path(), "c1");
        let mut command = CommandInfo::shell("/bin/sh");
        command.shell = false;
        let script = r#"head -c 5 /proc/$$/cmdline; echo " $0|$1""#;
        command.arguments = vec![
            "my-sh".into(),
            "-c".into(),
            script.into(),
            "zero".into(),
            "x y".into(),
        ];
        let c = launch(LaunchSpec {
            command,
            sandbox: dir.clone(),
            env: Vec::new(),
            inherit_env: true,
            user: None,
        })
        .unwrap();
        assert!(wait(&c).await.success());
        assert_eq!(
            std::fs::read_to_string(dir.join("stdout")).unwrap(),
            "my-sh zero|x y\n"
        );
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
    async fn a_program_that_cannot_start_is_an_error() {
        let work = tempfile::tempdir().unwrap();
        let dir = sandbox(work.path(), "c1");
        let mut command = CommandInfo::shell("/nonexistent/program");
        command.shell = false;
        let err = launch(LaunchSpec {
            command,
            sandbox: dir,
            env: Vec::new(),
            inherit_env: true,
            user: None,
        })
        .unwrap_err();
        assert!(matches!(err, LaunchError::Spawn { .. }), "{err}");
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
