//! The fetcher with real daemons: a command task's URIs (over HTTP, from a
//! local file made executable, and an archive to extract) are in its
//! sandbox when it runs; a URI that cannot be fetched fails the task and
//! says why in the sandbox's stderr.

mod common;

use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::time::Duration;

use common::cluster::Cluster;
use common::framework::{command_task, info, Framework};
use wire::mesos::CommandUri;
use wire::task::TaskState;

const WAIT: Duration = Duration::from_secs(20);

/// Serves `body` to every GET on a free port, on a thread of its own.
fn serve(body: &'static str) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("address").port();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut request = [0u8; 4096];
            let _ = stream.read(&mut request);
            let _ = write!(
                stream,
                "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    port
}

fn uri(value: String, executable: bool) -> CommandUri {
    CommandUri {
        value,
        executable,
        extract: true,
        output_file: None,
        cache: false,
    }
}

/// The sandbox of `task` (its command executor's, named after it).
fn sandbox(cluster: &Cluster, task: &str) -> Option<PathBuf> {
    let found = common::find_files(
        &cluster
            .agent_dir(0)
            .join("slaves")
            .join(cluster.agent_id(0)),
        "stdout",
    );
    found
        .into_iter()
        .find(|p| p.components().any(|c| c.as_os_str() == task))
        .and_then(|p| p.parent().map(Path::to_path_buf))
}

#[actix::test]
async fn uris_are_fetched_into_the_sandbox_before_the_task_runs() {
    let cluster = Cluster::start(&[], &["cpus:1;mem:256"]);
    let files = common::TempDir::new("fetched");
    std::fs::write(files.path().join("run.sh"), "#!/bin/sh\necho ran\n").expect("script");
    std::fs::create_dir(files.path().join("pkg")).expect("pkg");
    std::fs::write(files.path().join("pkg/inside.txt"), "inside\n").expect("inside");
    let tar = std::process::Command::new("tar")
        .args(["-czf", "pkg.tgz", "pkg"])
        .current_dir(files.path())
        .status()
        .expect("tar");
    assert!(tar.success());
    let port = serve("over http\n");

    let framework = Framework::start(cluster.master_address(), info("fetching")).await;
    framework.registered().await;
    let mut good = command_task("good", "./run.sh && cat pkg/inside.txt hello.txt");
    let mut bad = command_task("bad", "echo never");
    if let (Some(g), Some(b)) = (good.command.as_mut(), bad.command.as_mut()) {
        g.uris = vec![
            uri(format!("http://127.0.0.1:{port}/files/hello.txt"), false),
            uri(
                format!("file://{}", files.path().join("run.sh").display()),
                true,
            ),
            uri(files.path().join("pkg.tgz").display().to_string(), false),
        ];
        b.uris = vec![uri("/no/such/archive.tgz".into(), false)];
    }
    framework
        .launch(vec![good, bad], "cpus:0.1;mem:32", None)
        .await;
    framework.update("good", TaskState::Finished, WAIT).await;
    let stdout = sandbox(&cluster, "good")
        .and_then(|dir| std::fs::read_to_string(dir.join("stdout")).ok())
        .unwrap_or_default();
    for line in ["ran", "inside", "over http"] {
        assert!(stdout.lines().any(|l| l == line), "{line}: {stdout}");
    }

    framework.update("bad", TaskState::Failed, WAIT).await;
    let stderr = sandbox(&cluster, "bad")
        .and_then(|dir| std::fs::read_to_string(dir.join("stderr")).ok())
        .unwrap_or_default();
    assert!(
        stderr.contains("Failed to fetch '/no/such/archive.tgz'"),
        "{stderr}"
    );
}
