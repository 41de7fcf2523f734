//! Mesos's `linux` launcher: every container in a freezer cgroup of its
//! own, `<freezer hierarchy>/<--cgroups_root>/<container id>` (on cgroup
//! v2, `<hierarchy>/<root>/<container id>`, frozen by `cgroup.freeze`).
//! The leader writes itself into it before it execs, so everything the
//! container ever forks, whatever group or session it moves to, is listed
//! in the cgroup's `cgroup.procs`: signalling and killing the container
//! reads that file, never `/proc`. Killing freezes the cgroup, SIGKILLs
//! every process, thaws it and waits until it is empty; then the cgroup
//! is removed. After an agent restart a container is found again by its
//! cgroup, and cgroups under the root that no known container owns are an
//! earlier agent's orphans, destroyed.

use std::sync::Arc;

use wire::ids::ContainerId;
use wire::mesos::CommandInfo;

use super::{recover_with, spawn_with, Isolation, LaunchError, Launcher, SpawnOptions};
use crate::container::cgroups::{Cgroup, Hierarchies};
use crate::container::handle::Container;

/// The cgroup launcher (`--launcher=linux`).
#[derive(Debug, Clone)]
pub struct LinuxLauncher {
    /// `<freezer hierarchy>/<root>`: the parent of every container's
    /// cgroup, and nothing else's; made with the first container, removed
    /// with the last.
    root: Cgroup,
    /// How many directories `--cgroups_root` names (`a/b` is two).
    depth: usize,
}

impl LinuxLauncher {
    /// A launcher keeping its containers under `root` in the freezer
    /// hierarchy of `hierarchies`; `None` if there is no freezer.
    pub fn new(hierarchies: &Arc<Hierarchies>, root: &str) -> Option<LinuxLauncher> {
        Some(LinuxLauncher {
            root: hierarchies.cgroup("freezer", root, "")?,
            depth: std::path::Path::new(root).components().count(),
        })
    }

    /// Container `id`'s freezer cgroup.
    pub fn cgroup(&self, id: &ContainerId) -> Cgroup {
        Cgroup {
            path: self.root.path.join(&id.value),
            version: self.root.version,
        }
    }
}

impl Launcher for LinuxLauncher {
    fn name(&self) -> &'static str {
        "linux"
    }

    fn spawn(
        &self,
        id: &ContainerId,
        command: &CommandInfo,
        options: SpawnOptions,
        isolation: Isolation,
    ) -> Result<Container, LaunchError> {
        let cgroup = self.cgroup(id);
        cgroup.create().map_err(|source| LaunchError::Cgroup {
            path: cgroup.path.clone(),
            source,
        })?;
        let mut isolation = isolation;
        let (root, depth) = (self.root.clone(), self.depth);
        let on_exit = isolation.on_exit.take();
        isolation.on_exit = Some(Box::new(move || {
            if let Some(f) = on_exit {
                f();
            }
            root.prune(depth);
        }));
        match spawn_with(command, options, Some(cgroup.clone()), isolation) {
            Ok(container) => Ok(container),
            Err(e) => {
                // Nothing ran in it.
                let _ = cgroup.remove();
                self.root.prune(self.depth);
                Err(e)
            }
        }
    }

    fn recover(
        &self,
        id: &ContainerId,
        pid: i32,
        isolation: Isolation,
    ) -> Result<Container, LaunchError> {
        let cgroup = self.cgroup(id);
        if !cgroup.exists() {
            tracing::warn!(container = %id, pid, "the container's freezer cgroup is gone; watching its leader only");
        }
        let mut isolation = isolation;
        let (root, depth) = (self.root.clone(), self.depth);
        let on_exit = isolation.on_exit.take();
        isolation.on_exit = Some(Box::new(move || {
            if let Some(f) = on_exit {
                f();
            }
            root.prune(depth);
        }));
        recover_with(pid, Some(cgroup), isolation)
    }

    fn members(&self, id: &ContainerId) -> Option<Vec<i32>> {
        Some(self.cgroup(id).procs().unwrap_or_default())
    }

    fn kill_orphans(&self, known: &[ContainerId]) {
        for name in self.root.children() {
            if known.iter().any(|k| k.value == name) {
                continue;
            }
            let orphan = Cgroup {
                path: self.root.path.join(&name),
                version: self.root.version,
            };
            tracing::info!(cgroup = %orphan.path.display(), "destroying an orphan container");
            if let Err(e) = orphan.destroy_blocking(super::CGROUP_DESTROY_DEADLINE) {
                tracing::warn!(cgroup = %orphan.path.display(), "cannot destroy an orphan container: {e}");
            }
        }
        self.root.prune(self.depth);
    }
}

#[cfg(test)]
pub(in crate::container) mod tests {
    use super::*;
    use crate::container::containerizer::{Containerizer, LaunchSpec, MesosContainerizer};
    use crate::container::isolator::cgroups::{CgroupsCpu, CgroupsMem};
    use crate::container::isolator::LimitKind;
    use crate::container::launcher::tests::{read_pid, sandbox, DEADLINE};
    use crate::container::proc::is_alive;
    use std::time::{Duration, Instant};
    use wire::resources::Resources;

    /// A cgroups root of this test's own, under every hierarchy: removed,
    /// with whatever is left in it, when dropped.
    pub(in crate::container) struct TestRoot {
        pub hierarchies: Arc<Hierarchies>,
        pub name: String,
    }

    impl TestRoot {
        /// `None` (with the reason printed) where the machine cannot run
        /// cgroup containers: not root, or no freezer.
        pub fn new(test: &str) -> Option<TestRoot> {
            // SAFETY: geteuid only reads.
            if unsafe { libc::geteuid() } != 0 {
                eprintln!("skipped: cgroups need root");
                return None;
            }
            let Ok(h) = Hierarchies::discover(std::path::Path::new("/sys/fs/cgroup")) else {
                eprintln!("skipped: no cgroup hierarchy at /sys/fs/cgroup");
                return None;
            };
            if h.mount("freezer").is_none() {
                eprintln!("skipped: no freezer cgroup");
                return None;
            }
            Some(TestRoot {
                hierarchies: Arc::new(h),
                name: format!("mesos-unit-{}-{test}", std::process::id()),
            })
        }

        pub fn has(&self, controller: &str) -> bool {
            self.hierarchies.mount(controller).is_some()
        }
    }

    impl Drop for TestRoot {
        fn drop(&mut self) {
            for controller in ["freezer", "cpu", "cpuacct", "memory", "pids"] {
                let Some(root) = self.hierarchies.cgroup(controller, &self.name, "") else {
                    continue;
                };
                for child in root.children() {
                    let c = Cgroup {
                        path: root.path.join(child),
                        version: root.version,
                    };
                    let _ = c.destroy_blocking(Duration::from_secs(5));
                }
                let _ = root.remove();
            }
        }
    }

    fn spec(dir: &std::path::Path, id: &str, script: &str, resources: &str) -> LaunchSpec {
        LaunchSpec {
            container_id: ContainerId::new(id),
            resources: Resources::parse(resources, "*").unwrap(),
            command: CommandInfo::shell(script),
            sandbox: dir.to_owned(),
            env: Vec::new(),
            inherit_env: true,
            user: None,
            container: None,
        }
    }

    async fn until(what: &str, mut done: impl FnMut() -> bool) {
        let end = Instant::now() + DEADLINE;
        while !done() {
            assert!(Instant::now() < end, "{what}: not within {DEADLINE:?}");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    #[tokio::test]
    async fn killing_a_cgroup_container_leaves_nothing_of_it() {
        let Some(root) = TestRoot::new("kill") else {
            return;
        };
        let launcher = LinuxLauncher::new(&root.hierarchies, &root.name).unwrap();
        let containerizer = MesosContainerizer::new(Box::new(launcher.clone()));
        let work = tempfile::tempdir().unwrap();
        let dir = sandbox(work.path(), "c1");
        // A child, a double fork and a new session: none is in the
        // leader's group or session any more, all are in the cgroup.
        let script = "sleep 600 & echo $! > child.pid; \
                      (sleep 600 & echo $! > grandchild.pid) ; \
                      setsid sh -c 'echo $$ > session.pid; exec sleep 600' & \
                      exec sleep 600";
        let c = containerizer
            .launch(spec(&dir, "c1", script, "cpus:1;mem:64"))
            .unwrap();
        let cgroup = launcher.cgroup(&ContainerId::new("c1"));
        let mut pids = vec![c.pid()];
        for f in ["child.pid", "grandchild.pid", "session.pid"] {
            pids.push(read_pid(&dir.join(f)).await);
        }
        until("every process in the cgroup", || {
            let members = cgroup.procs().unwrap_or_default();
            pids.iter().all(|p| members.contains(p))
        })
        .await;
        assert_eq!(
            launcher
                .members(&ContainerId::new("c1"))
                .map(|m| m.len() >= 4),
            Some(true)
        );
        c.signal(libc::SIGKILL);
        let status = tokio::time::timeout(DEADLINE, c.wait())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(status.signal(), Some(libc::SIGKILL));
        for pid in &pids {
            assert!(!is_alive(*pid), "{pid} survived");
        }
        assert!(!cgroup.exists(), "the cgroup was removed");
    }

    #[tokio::test]
    async fn cpu_and_memory_limits_are_set_and_an_oom_is_a_limitation() {
        let Some(root) = TestRoot::new("limits") else {
            return;
        };
        if !(root.has("cpu") && root.has("memory")) {
            eprintln!("skipped: no cpu or memory controller");
            return;
        }
        let h = &root.hierarchies;
        let containerizer = MesosContainerizer::with_isolators(
            Box::new(LinuxLauncher::new(h, &root.name).unwrap()),
            vec![
                Box::new(CgroupsCpu::new(h, &root.name, true).unwrap()),
                Box::new(CgroupsMem::new(h, &root.name).unwrap()),
            ],
        );
        let work = tempfile::tempdir().unwrap();
        let dir = sandbox(work.path(), "c1");
        let c = containerizer
            .launch(spec(&dir, "c1", "exec sleep 600", "cpus:0.5;mem:64"))
            .unwrap();
        let cpu = h.cgroup("cpu", &root.name, "c1").unwrap();
        let memory = h.cgroup("memory", &root.name, "c1").unwrap();
        if cpu.version == crate::container::cgroups::Version::V1 {
            assert_eq!(cpu.read("cpu.shares").unwrap().trim(), "512");
            assert_eq!(cpu.read("cpu.cfs_quota_us").unwrap().trim(), "50000");
            assert_eq!(
                memory.read("memory.limit_in_bytes").unwrap().trim(),
                (64u64 << 20).to_string()
            );
        }
        assert!(memory.procs().unwrap().contains(&c.pid()));
        // A task joins: the limits grow.
        let more = Resources::parse("cpus:1;mem:128", "*").unwrap();
        containerizer
            .update(&ContainerId::new("c1"), None, &more)
            .unwrap();
        if cpu.version == crate::container::cgroups::Version::V1 {
            assert_eq!(cpu.read("cpu.shares").unwrap().trim(), "1024");
            assert_eq!(
                memory.read("memory.limit_in_bytes").unwrap().trim(),
                (128u64 << 20).to_string()
            );
        }
        let usage = containerizer.usage(&[(ContainerId::new("c1"), c.pid())]);
        let u = usage.get(&ContainerId::new("c1")).unwrap();
        assert!(
            u.processes >= 1 && u.mem_limit_bytes == Some(128 << 20),
            "{u:?}"
        );
        c.signal(libc::SIGKILL);
        let _ = tokio::time::timeout(DEADLINE, c.wait()).await.unwrap();
        assert_eq!(c.limitation(), None);
        assert!(!memory.exists() && !cpu.exists());

        // Past its memory: killed, and the end says why.
        let hog = containerizer
            .launch(spec(
                &dir,
                "c2",
                "exec python3 -c 'x = bytearray(200 * 1024 * 1024); print(len(x))'",
                "cpus:0.5;mem:64",
            ))
            .unwrap();
        let status = tokio::time::timeout(DEADLINE, hog.wait())
            .await
            .unwrap()
            .unwrap();
        assert!(!status.success());
        let limitation = hog.limitation().expect("a memory limitation");
        assert_eq!(limitation.kind, LimitKind::Memory);
        assert!(
            limitation
                .message
                .starts_with("Memory limit exceeded: Requested: 64MB Maximum Used: "),
            "{}",
            limitation.message
        );
    }

    #[tokio::test]
    async fn a_recovered_container_is_found_from_its_cgroup_and_orphans_are_destroyed() {
        let Some(root) = TestRoot::new("recover") else {
            return;
        };
        let launcher = LinuxLauncher::new(&root.hierarchies, &root.name).unwrap();
        let work = tempfile::tempdir().unwrap();
        let dir = sandbox(work.path(), "c1");
        // Two containers of "an earlier agent": started by hand in their
        // cgroups, not children of this launcher.
        let mut started = Vec::new();
        for id in ["known", "orphan"] {
            let cgroup = launcher.cgroup(&ContainerId::new(id));
            cgroup.create().unwrap();
            let pid_file = dir.join(format!("{id}.pid"));
            let script = format!(
                "echo $$ > {}/cgroup.procs; setsid sh -c 'echo $$ > {}; sleep 600 & exec sleep 600' &",
                cgroup.path.display(),
                pid_file.display()
            );
            let status = std::process::Command::new("sh")
                .arg("-c")
                .arg(script)
                .status()
                .unwrap();
            assert!(status.success());
            started.push((cgroup, read_pid(&pid_file).await));
        }
        let (known_cgroup, known_pid) = started[0].clone();
        let (orphan_cgroup, orphan_pid) = started[1].clone();
        until("both children in their cgroups", || {
            known_cgroup.procs().unwrap_or_default().len() >= 2
                && orphan_cgroup.procs().unwrap_or_default().len() >= 2
        })
        .await;
        let orphans_before = orphan_cgroup.procs().unwrap();

        launcher.kill_orphans(&[ContainerId::new("known")]);
        assert!(!orphan_cgroup.exists());
        for pid in orphans_before {
            assert!(!is_alive(pid), "orphan process {pid} survived");
        }
        assert!(!is_alive(orphan_pid));

        let c = launcher
            .recover(&ContainerId::new("known"), known_pid, Isolation::default())
            .unwrap();
        let members = known_cgroup.procs().unwrap();
        c.signal(libc::SIGKILL);
        let outcome = tokio::time::timeout(DEADLINE, c.wait()).await.unwrap();
        assert!(outcome.is_err(), "a foreign exit status is unknown");
        for pid in members {
            assert!(!is_alive(pid), "{pid} survived");
        }
        assert!(!known_cgroup.exists());
    }
}
