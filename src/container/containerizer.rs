//! The containerizer: what the agent asks for to run an executor. It
//! launches a [`LaunchSpec`] in its sandbox (cwd, `stdout` and `stderr`
//! appended there, stdin from `/dev/null`, a new session, as the given user
//! once the sandbox is theirs), takes back the executors a previous agent
//! process launched, and reports what each container uses. Waiting for a
//! container and destroying it are done on the [`Container`] handle it
//! returns, which stands for Mesos's container id in `wait` and `destroy`.
//!
//! Mesos counterpart: `MesosContainerizer` over a launcher (`--launcher`)
//! and the `posix/cpu` and `posix/mem` isolators for usage. The
//! [`Containerizer`] trait is the seam for `--containerizers`: the Docker
//! containerizer will be a second implementation.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use wire::ids::ContainerId;
use wire::mesos::CommandInfo;
use wire::resources::Resources;

use super::handle::Container;
use super::launcher::{
    append, lookup_user, Grouping, LaunchError, Launcher, Output, PosixLauncher, RunAs,
    SpawnOptions,
};
use super::proc::{of_sessions, Usage};

/// What runs executors on an agent: one implementation per containerizer
/// in `--containerizers` (the Mesos containerizer now, Docker next).
pub trait Containerizer: std::fmt::Debug + Send + Sync {
    /// The name `--containerizers` gives it.
    fn name(&self) -> &'static str;

    /// Launches an executor: cwd and output files in `spec.sandbox`, stdin
    /// from `/dev/null`, in a new session. Must run inside a tokio runtime
    /// (an actix system), which then reaps it.
    fn launch(&self, spec: LaunchSpec) -> Result<Container, LaunchError>;

    /// Takes back container `id`, whose leader is `pid`, launched by a
    /// previous agent process. Must run inside a tokio runtime.
    fn recover(&self, id: &ContainerId, pid: i32) -> Result<Container, LaunchError>;

    /// Kills and removes what this containerizer launched in an earlier
    /// agent process that is not among `known` (the containers the agent
    /// recovered or has launched since): Mesos's orphan cleanup after
    /// recovery. Blocks.
    fn kill_orphans(&self, known: &[ContainerId]) {
        let _ = known;
    }

    /// What each running container uses, given by its id and its leader's
    /// pid; containers with no live process are left out. Blocks while it
    /// reads.
    fn usage(&self, containers: &[(ContainerId, i32)]) -> HashMap<ContainerId, Usage>;
}

/// Mesos's `MesosContainerizer`: executors run as plain processes under a
/// [`Launcher`] (the posix one by default).
#[derive(Debug)]
pub struct MesosContainerizer {
    /// Starts and recovers every container of this containerizer.
    launcher: Box<dyn Launcher>,
}

impl MesosContainerizer {
    pub fn new(launcher: Box<dyn Launcher>) -> MesosContainerizer {
        MesosContainerizer { launcher }
    }
}

impl Default for MesosContainerizer {
    fn default() -> MesosContainerizer {
        MesosContainerizer::new(Box::new(PosixLauncher))
    }
}

impl Containerizer for MesosContainerizer {
    fn name(&self) -> &'static str {
        "mesos"
    }

    fn launch(&self, spec: LaunchSpec) -> Result<Container, LaunchError> {
        if let Some(why) = super::composing::refusal(spec.container.as_ref(), &["mesos"]) {
            return Err(LaunchError::Refused(why));
        }
        let user = match &spec.user {
            None => None,
            Some(name) => {
                let user = lookup_user(name)?;
                give_sandbox(&spec.sandbox, &user)?;
                Some(user)
            }
        };
        self.launcher.spawn(
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

    fn recover(&self, _id: &ContainerId, pid: i32) -> Result<Container, LaunchError> {
        self.launcher.recover(pid)
    }

    fn usage(&self, containers: &[(ContainerId, i32)]) -> HashMap<ContainerId, Usage> {
        let leaders: Vec<i32> = containers.iter().map(|(_, pid)| *pid).collect();
        let mut by_leader = of_sessions(&leaders);
        containers
            .iter()
            .filter_map(|(id, pid)| Some((id.clone(), by_leader.remove(pid)?)))
            .collect()
    }
}

/// What to run, where, with which environment: one executor launch.
#[derive(Debug, Clone, PartialEq)]
pub struct LaunchSpec {
    /// The container's id (Mesos's `ContainerID`), as the sandbox path has it.
    pub container_id: ContainerId,
    /// What the container is given (its executor's and its tasks'
    /// resources): what isolators enforce.
    pub resources: Resources,
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
    /// What the executor asks to run in (for a command task, the task's
    /// `ContainerInfo`): it picks the containerizer.
    pub container: Option<wire::mesos::ContainerInfo>,
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::container::launcher::tests::{sandbox, wait};

    fn shell(dir: &Path, script: &str) -> Container {
        launch(LaunchSpec {
            container_id: ContainerId::new("c1"),
            resources: Resources::new(),
            command: CommandInfo::shell(script),
            sandbox: dir.to_owned(),
            env: vec![("GREETING".into(), "hello".into())],
            inherit_env: true,
            user: None,
            container: None,
        })
    }

    fn launch(spec: LaunchSpec) -> Container {
        MesosContainerizer::default().launch(spec).unwrap()
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
            container_id: ContainerId::new("c1"),
            resources: Resources::new(),
            command,
            sandbox: dir.clone(),
            env: Vec::new(),
            inherit_env: true,
            user: None,
            container: None,
        });
        assert!(wait(&c).await.success());
        assert_eq!(
            std::fs::read_to_string(dir.join("stdout")).unwrap(),
            "my-sh zero|x y\n"
        );
    }

    #[tokio::test]
    async fn a_program_that_cannot_start_is_an_error() {
        let work = tempfile::tempdir().unwrap();
        let dir = sandbox(work.path(), "c1");
        let mut command = CommandInfo::shell("/nonexistent/program");
        command.shell = false;
        let err = MesosContainerizer::default()
            .launch(LaunchSpec {
                container_id: ContainerId::new("c1"),
                resources: Resources::new(),
                command,
                sandbox: dir,
                env: Vec::new(),
                inherit_env: true,
                user: None,
                container: None,
            })
            .unwrap_err();
        assert!(matches!(err, LaunchError::Spawn { .. }), "{err}");
    }

    #[test]
    fn the_mesos_containerizer_runs_on_the_posix_launcher() {
        let containerizer = MesosContainerizer::default();
        assert_eq!(containerizer.name(), "mesos");
        assert_eq!(containerizer.launcher.name(), "posix");
    }
}
