//! A Docker client over the `docker` CLI (`--docker`, talking to the
//! daemon at `--docker_socket`): the argv of every command Mesos runs
//! (`run`, `inspect`, `stop`, `kill`, `rm`, `ps`, `image inspect`, `pull`)
//! built by pure functions, and blocking calls that run them and turn a
//! failure into an error carrying Docker's own message.
//!
//! Mesos counterpart: `Docker` in `src/docker/docker.cpp`
//! (`Docker::RunOptions::create` is [`RunOptions::argv`] here).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use wire::mesos::{CommandInfo, DockerInfo, DockerNetwork, VolumeMode};

use super::inspect::{parse_inspect, Inspect};

/// Mesos's `CPU_SHARES_PER_CPU` and `MIN_CPU_SHARES`.
pub const CPU_SHARES_PER_CPU: f64 = 1024.0;
pub const MIN_CPU_SHARES: u64 = 2;
/// Mesos's `MIN_MEMORY` (32 MB).
pub const MIN_MEMORY: u64 = 32 * 1024 * 1024;
/// Every container this agent starts is named with this prefix.
pub const NAME_PREFIX: &str = "mesos-";

/// Why a Docker command failed.
#[derive(Debug, thiserror::Error)]
pub enum DockerError {
    #[error("cannot run '{program}': {source}")]
    Spawn {
        program: String,
        source: std::io::Error,
    },
    /// The command ran and failed; `message` is what Docker said.
    #[error("'docker {command}' failed: {message}")]
    Failed { command: String, message: String },
    #[error("cannot read 'docker inspect' of {name}: {reason}")]
    Inspect { name: String, reason: String },
    #[error("{0}")]
    Invalid(String),
}

/// The `docker` CLI and the daemon it talks to.
#[derive(Debug, Clone, PartialEq)]
pub struct Docker {
    /// `--docker`: the client program.
    pub program: String,
    /// `--docker_socket`: the daemon's unix socket.
    pub socket: PathBuf,
}

impl Docker {
    pub fn new(program: &str, socket: &Path) -> Docker {
        Docker {
            program: program.to_owned(),
            socket: socket.to_owned(),
        }
    }

    /// `docker -H unix://<socket> <args>`, ready to run.
    pub fn command<S: AsRef<str>>(&self, args: &[S]) -> Command {
        let mut c = Command::new(&self.program);
        c.arg("-H")
            .arg(format!("unix://{}", self.socket.display()))
            .args(args.iter().map(AsRef::as_ref))
            .stdin(Stdio::null());
        c
    }

    /// Runs `args` to the end; its stdout, or Docker's message on failure.
    pub fn output<S: AsRef<str>>(&self, args: &[S]) -> Result<String, DockerError> {
        let out = self
            .command(args)
            .output()
            .map_err(|source| DockerError::Spawn {
                program: self.program.clone(),
                source,
            })?;
        if out.status.success() {
            Ok(String::from_utf8_lossy(&out.stdout).into_owned())
        } else {
            Err(DockerError::Failed {
                command: args.iter().map(AsRef::as_ref).collect::<Vec<_>>().join(" "),
                message: failure_message(&out.stderr, out.status),
            })
        }
    }

    /// `docker inspect --type=container <name>`.
    pub fn inspect(&self, name: &str) -> Result<Inspect, DockerError> {
        let text = self.output(&["inspect", "--type=container", name])?;
        parse_inspect(&text).map_err(|reason| DockerError::Inspect {
            name: name.to_owned(),
            reason,
        })
    }

    /// The full ids of those of the containers `names` that exist, by
    /// name (one `docker inspect` for all of them).
    pub fn ids(&self, names: &[String]) -> HashMap<String, String> {
        let mut args = vec![
            "inspect".to_owned(),
            "--type=container".into(),
            "--format".into(),
            "{{.Name}} {{.Id}}".into(),
        ];
        args.extend(names.iter().cloned());
        // Missing ones make it fail; what it printed for the others holds.
        match self.command(&args).output() {
            Ok(out) => parse_ids(&String::from_utf8_lossy(&out.stdout)),
            Err(_) => HashMap::new(),
        }
    }

    /// `docker stop -t <secs>`: SIGTERM, then SIGKILL after `timeout`.
    pub fn stop(&self, name: &str, timeout: Duration) -> Result<(), DockerError> {
        self.output(&stop_argv(name, timeout)).map(drop)
    }

    /// `docker kill --signal=KILL`.
    pub fn kill(&self, name: &str) -> Result<(), DockerError> {
        self.output(&["kill", "--signal=KILL", name]).map(drop)
    }

    /// `docker rm -f -v`: removes the container, running or not, with its
    /// anonymous volumes.
    pub fn remove(&self, name: &str) -> Result<(), DockerError> {
        self.output(&["rm", "-f", "-v", name]).map(drop)
    }

    /// The names of all containers (running or not) whose name starts with
    /// `prefix`.
    pub fn ps(&self, prefix: &str) -> Result<Vec<String>, DockerError> {
        let text = self.output(&ps_argv(prefix))?;
        Ok(parse_ps(&text, prefix))
    }

    /// Whether `image` is present locally (`docker image inspect`).
    pub fn image_present(&self, image: &str) -> Result<bool, DockerError> {
        match self.output(&["image", "inspect", "--format", "{{.Id}}", image]) {
            Ok(_) => Ok(true),
            Err(DockerError::Failed { message, .. }) if is_no_such(&message) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// `docker pull`.
    pub fn pull(&self, image: &str) -> Result<(), DockerError> {
        self.output(&["pull", image]).map(drop)
    }

    /// Makes `image` present: pulled only when missing, or always with
    /// `force` (Mesos's `force_pull_image`).
    pub fn ensure_image(&self, image: &str, force: bool) -> Result<(), DockerError> {
        if !force && self.image_present(image)? {
            return Ok(());
        }
        self.pull(image)
    }
}

/// Whether Docker's message says the object does not exist.
pub fn is_no_such(message: &str) -> bool {
    let m = message.to_ascii_lowercase();
    m.contains("no such") || m.contains("not found")
}

/// Docker's stderr as one line, or the exit status if it said nothing.
fn failure_message(stderr: &[u8], status: std::process::ExitStatus) -> String {
    let text = String::from_utf8_lossy(stderr);
    let line = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join(" ");
    if line.is_empty() {
        format!("exited with {status}")
    } else {
        line
    }
}

/// `<name> <id>` lines, Docker's `/` before the name dropped.
pub fn parse_ids(text: &str) -> HashMap<String, String> {
    text.lines()
        .filter_map(|l| l.trim().split_once(' '))
        .map(|(name, id)| {
            (
                name.trim_start_matches('/').to_owned(),
                id.trim().to_owned(),
            )
        })
        .filter(|(name, id)| !name.is_empty() && !id.is_empty())
        .collect()
}

/// `stop -t <secs> <name>`, the timeout rounded up to whole seconds.
pub fn stop_argv(name: &str, timeout: Duration) -> Vec<String> {
    let secs = timeout.as_secs() + u64::from(timeout.subsec_nanos() > 0);
    vec!["stop".into(), "-t".into(), secs.to_string(), name.into()]
}

/// `ps -a --filter name=<prefix> --format {{.Names}}`.
pub fn ps_argv(prefix: &str) -> Vec<String> {
    vec![
        "ps".into(),
        "-a".into(),
        "--no-trunc".into(),
        "--filter".into(),
        format!("name={prefix}"),
        "--format".into(),
        "{{.Names}}".into(),
    ]
}

/// The names `ps` printed that really start with `prefix` (Docker's name
/// filter matches anywhere in the name).
pub fn parse_ps(text: &str, prefix: &str) -> Vec<String> {
    text.lines()
        .map(str::trim)
        .map(|l| l.trim_start_matches('/'))
        .filter(|l| l.starts_with(prefix))
        .map(str::to_owned)
        .collect()
}

/// What `docker run` is given for one container: Mesos's `RunOptions`.
#[derive(Debug, Clone, PartialEq)]
pub struct RunOptions {
    /// `mesos-<container id>`.
    pub name: String,
    pub docker: DockerInfo,
    pub volumes: Vec<wire::mesos::Volume>,
    pub hostname: Option<String>,
    /// The user-defined Docker network a `USER` container joins (the
    /// name of its first `network_infos` entry).
    pub user_network: Option<String>,
    /// What the container runs: `shell` as `/bin/sh -c <value>` (the
    /// image's entrypoint replaced), else `value` and `arguments` after
    /// the image.
    pub command: CommandInfo,
    /// The task's cpus and mem (MB), if it has them.
    pub cpus: Option<f64>,
    pub mem_mb: Option<f64>,
    /// Added to the container's environment (before `MESOS_SANDBOX` and
    /// `MESOS_CONTAINER_NAME`).
    pub env: Vec<(String, String)>,
    /// The sandbox on the host, and where it is mounted inside.
    pub sandbox: PathBuf,
    pub mapped_directory: String,
}

impl RunOptions {
    /// The arguments of `docker run`, as Mesos builds them; an error for
    /// what Docker cannot be asked (a shell without a command, port
    /// mappings on the host network, a USER network without a name, a
    /// volume with both paths relative).
    pub fn argv(&self) -> Result<Vec<String>, DockerError> {
        let invalid = |m: String| Err(DockerError::Invalid(m));
        let d = &self.docker;
        let mut argv: Vec<String> = vec!["run".into()];
        if d.privileged {
            argv.push("--privileged".into());
        }
        if let Some(cpus) = self.cpus {
            let shares = ((CPU_SHARES_PER_CPU * cpus) as u64).max(MIN_CPU_SHARES);
            argv.extend(["--cpu-shares".into(), shares.to_string()]);
        }
        if let Some(mem) = self.mem_mb {
            let bytes = ((mem as u64).saturating_mul(1024 * 1024)).max(MIN_MEMORY);
            argv.extend(["--memory".into(), bytes.to_string()]);
        }
        let mut env: Vec<(String, String)> = Vec::new();
        let mut set = |k: &str, v: &str| {
            env.retain(|(key, _)| key != k);
            env.push((k.to_owned(), v.to_owned()));
        };
        for (k, v) in self.env.iter().chain(&self.command.environment) {
            set(k, v);
        }
        set("MESOS_SANDBOX", &self.mapped_directory);
        set("MESOS_CONTAINER_NAME", &self.name);
        for (k, v) in env {
            argv.extend(["-e".into(), format!("{k}={v}")]);
        }
        for v in &self.volumes {
            let inside = if v.container_path.starts_with('/') {
                v.container_path.clone()
            } else {
                format!("{}/{}", self.mapped_directory, v.container_path)
            };
            let Some(host) = &v.host_path else {
                return invalid(format!(
                    "the volume at '{}' has no host_path",
                    v.container_path
                ));
            };
            let host = if host.starts_with('/') {
                host.clone()
            } else if !v.container_path.starts_with('/') {
                return invalid(format!(
                    "Both host_path '{host}' and container_path '{}' of a volume are relative",
                    v.container_path
                ));
            } else {
                self.sandbox.join(host).display().to_string()
            };
            let mode = match v.mode {
                VolumeMode::Rw => "rw",
                VolumeMode::Ro => "ro",
            };
            argv.extend(["-v".into(), format!("{host}:{inside}:{mode}")]);
        }
        argv.extend([
            "-v".into(),
            format!("{}:{}", self.sandbox.display(), self.mapped_directory),
        ]);
        let network =
            match (d.network, &self.user_network) {
                (DockerNetwork::Host, _) => "host",
                (DockerNetwork::Bridge, _) => "bridge",
                (DockerNetwork::None, _) => "none",
                (DockerNetwork::User, Some(name)) => name.as_str(),
                (DockerNetwork::User, None) => return invalid(
                    "the USER network needs a named network: a network_infos entry with its name"
                        .into(),
                ),
            };
        argv.extend(["--net".into(), network.into()]);
        if let Some(h) = &self.hostname {
            if d.network == DockerNetwork::Host {
                return invalid("a hostname cannot be set on the host network".into());
            }
            argv.extend(["--hostname".into(), h.clone()]);
        }
        if !d.port_mappings.is_empty()
            && !matches!(d.network, DockerNetwork::Bridge | DockerNetwork::User)
        {
            return invalid(
                "Port mappings are only supported for bridge and user-defined networks".into(),
            );
        }
        for p in &d.port_mappings {
            let mut mapping = format!("{}:{}", p.host_port, p.container_port);
            if let Some(proto) = &p.protocol {
                mapping.push('/');
                mapping.push_str(proto);
            }
            argv.extend(["-p".into(), mapping]);
        }
        if self.command.shell {
            argv.extend(["--entrypoint".into(), "/bin/sh".into()]);
        }
        argv.extend(["--name".into(), self.name.clone()]);
        for p in &d.parameters {
            argv.push(format!("--{}={}", p.key, p.value));
        }
        argv.push(d.image.clone());
        if self.command.shell {
            let Some(value) = &self.command.value else {
                return invalid("Shell specified but no command value provided".into());
            };
            argv.extend(["-c".into(), value.clone()]);
        } else {
            argv.extend(self.command.value.iter().cloned());
            argv.extend(self.command.arguments.iter().cloned());
        }
        Ok(argv)
    }
}

#[cfg(test)]
mod tests {
    use wire::mesos::{Parameter, PortMapping, Volume};

    use super::*;

    fn options(docker: DockerInfo) -> RunOptions {
        RunOptions {
            name: "mesos-c1".into(),
            docker,
            volumes: Vec::new(),
            hostname: None,
            user_network: None,
            command: CommandInfo::shell("date"),
            cpus: Some(0.5),
            mem_mb: Some(64.0),
            env: vec![("A".into(), "1".into())],
            sandbox: "/w/sandbox".into(),
            mapped_directory: "/mnt/mesos/sandbox".into(),
        }
    }

    fn words(s: &str) -> Vec<String> {
        s.split(' ').map(str::to_owned).collect()
    }

    #[test]
    fn run_argv_is_what_mesos_passes() {
        let mut bridge = DockerInfo::new("busybox:latest");
        bridge.network = DockerNetwork::Bridge;
        bridge.privileged = true;
        bridge.port_mappings = vec![
            PortMapping {
                host_port: 31000,
                container_port: 80,
                protocol: None,
            },
            PortMapping {
                host_port: 31001,
                container_port: 53,
                protocol: Some("udp".into()),
            },
        ];
        bridge.parameters = vec![Parameter {
            key: "link".into(),
            value: "db:db".into(),
        }];
        let mut exec = CommandInfo::shell("/bin/app");
        exec.shell = false;
        exec.arguments = vec!["--x".into(), "y".into()];
        exec.environment = vec![("A".into(), "2".into()), ("B".into(), "3".into())];
        let mut volumes = options(DockerInfo::new("img"));
        volumes.volumes = vec![
            Volume {
                container_path: "/data".into(),
                host_path: Some("/srv".into()),
                mode: VolumeMode::Ro,
            },
            Volume {
                container_path: "/cache".into(),
                host_path: Some("cache".into()),
                mode: VolumeMode::Rw,
            },
        ];
        let tail = "-e MESOS_SANDBOX=/mnt/mesos/sandbox -e MESOS_CONTAINER_NAME=mesos-c1";
        let cases: Vec<(RunOptions, String)> = vec![
            (
                options(DockerInfo::new("busybox")),
                format!("run --cpu-shares 512 --memory 67108864 -e A=1 {tail} -v /w/sandbox:/mnt/mesos/sandbox --net host --entrypoint /bin/sh --name mesos-c1 busybox -c date"),
            ),
            (
                RunOptions { hostname: Some("web".into()), ..options(bridge) },
                format!("run --privileged --cpu-shares 512 --memory 67108864 -e A=1 {tail} -v /w/sandbox:/mnt/mesos/sandbox --net bridge --hostname web -p 31000:80 -p 31001:53/udp --entrypoint /bin/sh --name mesos-c1 --link=db:db busybox:latest -c date"),
            ),
            (
                RunOptions { command: exec, cpus: Some(0.001), mem_mb: Some(1.0), ..options(DockerInfo::new("img")) },
                format!("run --cpu-shares 2 --memory 33554432 -e A=2 -e B=3 {tail} -v /w/sandbox:/mnt/mesos/sandbox --net host --name mesos-c1 img /bin/app --x y"),
            ),
            (
                RunOptions { cpus: None, mem_mb: None, ..volumes },
                format!("run -e A=1 {tail} -v /srv:/data:ro -v /w/sandbox/cache:/cache:rw -v /w/sandbox:/mnt/mesos/sandbox --net host --entrypoint /bin/sh --name mesos-c1 img -c date"),
            ),
        ];
        for (o, expected) in cases {
            assert_eq!(o.argv().unwrap(), words(&expected));
        }
    }

    #[test]
    fn a_user_network_is_joined_by_its_name_with_its_port_mappings() {
        let mut user = DockerInfo::new("i");
        user.network = DockerNetwork::User;
        user.port_mappings = vec![PortMapping {
            host_port: 31000,
            container_port: 80,
            protocol: None,
        }];
        let o = RunOptions {
            user_network: Some("backend".into()),
            ..options(user)
        };
        let argv = o.argv().unwrap().join(" ");
        assert!(argv.contains("--net backend"), "{argv}");
        assert!(argv.contains("-p 31000:80"), "{argv}");
    }

    #[test]
    fn what_docker_cannot_be_asked_is_an_error() {
        let mut host_ports = DockerInfo::new("i");
        host_ports.port_mappings = vec![PortMapping {
            host_port: 1,
            container_port: 2,
            protocol: None,
        }];
        let mut user = DockerInfo::new("i");
        user.network = DockerNetwork::User;
        let mut no_value = options(DockerInfo::new("i"));
        no_value.command.value = None;
        let mut relative = options(DockerInfo::new("i"));
        relative.volumes = vec![Volume {
            container_path: "in".into(),
            host_path: Some("out".into()),
            mode: VolumeMode::Rw,
        }];
        for (o, message) in [
            (
                options(host_ports),
                "Port mappings are only supported for bridge and user-defined networks",
            ),
            (
                options(user.clone()),
                "the USER network needs a named network",
            ),
            (no_value, "Shell specified but no command value provided"),
            (relative, "Both host_path 'out' and container_path 'in'"),
        ] {
            let err = o.argv().unwrap_err().to_string();
            assert!(err.starts_with(message), "{err}");
        }
    }

    #[test]
    fn small_commands_and_ps_output() {
        assert_eq!(
            stop_argv("mesos-c", Duration::from_millis(1500)),
            words("stop -t 2 mesos-c")
        );
        assert_eq!(
            stop_argv("mesos-c", Duration::ZERO),
            words("stop -t 0 mesos-c")
        );
        assert_eq!(
            ps_argv("mesos-"),
            words("ps -a --no-trunc --filter name=mesos- --format {{.Names}}")
        );
        assert_eq!(
            parse_ps("mesos-a\n\nnot-mesos-b\n/mesos-c\n", "mesos-"),
            ["mesos-a", "mesos-c"]
        );
        let ids = parse_ids("/mesos-a 123\n/mesos-b 456\n\n");
        assert_eq!(ids.get("mesos-a").map(String::as_str), Some("123"));
        assert_eq!(ids.len(), 2);
        assert!(is_no_such("Error: No such image: nothing:latest"));
        assert!(!is_no_such("Cannot connect to the Docker daemon"));
        let d = Docker::new("/usr/bin/docker", Path::new("/run/d.sock"));
        let c = d.command(&["ps"]);
        let args: Vec<_> = c
            .get_args()
            .map(|a| a.to_string_lossy().into_owned())
            .collect();
        assert_eq!(args, ["-H", "unix:///run/d.sock", "ps"]);
    }
}
