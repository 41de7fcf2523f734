//! The fetcher (Mesos's `mesos-fetcher`): what `CommandInfo.uris` names is
//! downloaded or copied into the sandbox before the executor starts.
//!
//! The agent does no fetching itself. When an executor's command has URIs,
//! it starts `mesos-fetcher` in the executor's place ([`wrap`]), in the
//! sandbox, with the URIs and the real command in `MESOS_FETCHER_INFO`. The
//! fetcher fetches each URI ([`fetch_all`]) and then execs the command, so
//! the executor keeps the process (and session) the agent started and
//! watches. If a URI cannot be fetched, the fetcher says why on stderr (the
//! sandbox's `stderr`) and exits 1: the executor never registers and its
//! tasks fail, as in Mesos.
//!
//! | URI | how |
//! |---|---|
//! | `http://`, `https://`, `ftp://`, `ftps://` | `curl` (Mesos links libcurl) |
//! | `file:///path`, `/path` | copied |
//! | a relative path | under `--frameworks_home`, copied |
//!
//! Then, as Mesos: `executable` makes the file executable (and it is not
//! extracted); otherwise `.tar`, `.tar.gz`, `.tgz`, `.tar.bz2`, `.tbz2`,
//! `.tar.xz`, `.txz` are extracted with `tar` and `.zip` with `unzip`,
//! unless `extract` is false, the archive staying beside what it held.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde::{Deserialize, Serialize};
use wire::mesos::{CommandInfo, CommandUri};

/// The variable that carries [`FetcherInfo`] to `mesos-fetcher`.
pub const INFO_VAR: &str = "MESOS_FETCHER_INFO";
/// Where relative URIs are looked up (`--frameworks_home`).
pub const HOME_VAR: &str = "MESOS_FRAMEWORKS_HOME";

/// What `mesos-fetcher` is to fetch, and what to run afterwards.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FetcherInfo {
    pub uris: Vec<CommandUri>,
    pub command: CommandInfo,
}

/// The command the agent starts for an executor whose command is
/// `command`, and what to add to its environment: `command` itself if it
/// has no URIs, else the fetcher found in `launcher_dir`, with the URIs and
/// `command` in [`INFO_VAR`].
pub fn wrap(command: &CommandInfo, launcher_dir: &Path) -> (CommandInfo, Vec<(String, String)>) {
    if command.uris.is_empty() {
        return (command.clone(), Vec::new());
    }
    let info = FetcherInfo {
        uris: command.uris.clone(),
        command: CommandInfo {
            uris: Vec::new(),
            ..command.clone()
        },
    };
    let program = launcher_dir.join("mesos-fetcher").display().to_string();
    // Serializing owned strings and booleans cannot fail.
    let info = serde_json::to_string(&info).unwrap_or_default();
    let fetcher = CommandInfo {
        value: Some(program.clone()),
        shell: false,
        arguments: vec![program],
        environment: command.environment.clone(),
        uris: Vec::new(),
        user: command.user.clone(),
    };
    (fetcher, vec![(INFO_VAR.to_owned(), info)])
}

/// Fetches every URI into `dir`, stopping at the first that fails.
pub fn fetch_all(uris: &[CommandUri], dir: &Path, home: Option<&Path>) -> Result<(), String> {
    for uri in uris {
        fetch(uri, dir, home).map_err(|e| format!("Failed to fetch '{}': {e}", uri.value))?;
    }
    Ok(())
}

fn fetch(uri: &CommandUri, dir: &Path, home: Option<&Path>) -> Result<PathBuf, String> {
    let value = uri.value.trim();
    let name = match &uri.output_file {
        Some(name) => name.clone(),
        None => file_name(value).ok_or("it names no file")?,
    };
    if name.is_empty() || name.contains('/') || name == "." || name == ".." {
        return Err(format!("'{name}' is not a file name for the sandbox"));
    }
    let target = dir.join(&name);
    let remote = ["http://", "https://", "ftp://", "ftps://"]
        .iter()
        .any(|scheme| value.starts_with(scheme));
    if remote {
        let output = Command::new("curl")
            .args([
                "--fail",
                "--silent",
                "--show-error",
                "--location",
                "--output",
            ])
            .arg(&target)
            .arg(value)
            .output()
            .map_err(|e| format!("cannot run curl: {e}"))?;
        if !output.status.success() {
            return Err(String::from_utf8_lossy(&output.stderr).trim().to_owned());
        }
    } else {
        let source = if let Some(path) = value.strip_prefix("file://") {
            PathBuf::from(path)
        } else if value.starts_with('/') {
            PathBuf::from(value)
        } else {
            match home {
                Some(home) => home.join(value),
                None => {
                    return Err("a relative path needs --frameworks_home".into());
                }
            }
        };
        std::fs::copy(&source, &target).map_err(|e| format!("{}: {e}", source.display()))?;
    }
    if uri.executable {
        std::fs::set_permissions(&target, std::fs::Permissions::from_mode(0o755))
            .map_err(|e| format!("cannot make it executable: {e}"))?;
    } else if uri.extract {
        extract(&target, dir)?;
    }
    Ok(target)
}

/// The last path component of a URI, without query or fragment.
fn file_name(uri: &str) -> Option<String> {
    let path = uri.split(['?', '#']).next()?;
    let name = path.trim_end_matches('/').rsplit('/').next()?;
    (!name.is_empty()).then(|| name.to_owned())
}

fn extract(archive: &Path, dir: &Path) -> Result<(), String> {
    let name = archive
        .file_name()
        .map(|n| n.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default();
    let tar = [
        ".tar", ".tar.gz", ".tgz", ".tar.bz2", ".tbz2", ".tar.xz", ".txz",
    ];
    let mut command = if tar.iter().any(|s| name.ends_with(s)) {
        let mut c = Command::new("tar");
        c.arg("-C").arg(dir).arg("-xf").arg(archive);
        c
    } else if name.ends_with(".zip") {
        let mut c = Command::new("unzip");
        c.arg("-o").arg("-q").arg("-d").arg(dir).arg(archive);
        c
    } else {
        return Ok(());
    };
    let output = command
        .output()
        .map_err(|e| format!("cannot extract {name}: {e}"))?;
    if !output.status.success() {
        return Err(format!(
            "cannot extract {name}: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        ));
    }
    Ok(())
}

/// Replaces this process with `command` (what `mesos-fetcher` does once
/// everything is fetched); returns only on failure.
pub fn exec(command: &CommandInfo) -> std::io::Error {
    use std::os::unix::process::CommandExt;
    let (program, argv) = match super::containerizer::command_line(command) {
        Ok(line) => line,
        Err(e) => return std::io::Error::other(e.to_string()),
    };
    let mut cmd = Command::new(&program);
    if let Some((argv0, rest)) = argv.split_first() {
        cmd.arg0(argv0).args(rest);
    }
    cmd.env_remove(INFO_VAR).exec()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn uri(value: &str) -> CommandUri {
        CommandUri {
            value: value.into(),
            executable: false,
            extract: true,
            output_file: None,
        }
    }

    #[test]
    fn file_names_come_from_the_last_component() {
        assert_eq!(
            file_name("http://h/a/b.tgz?x=1#f").as_deref(),
            Some("b.tgz")
        );
        assert_eq!(file_name("/x/y/").as_deref(), Some("y"));
        assert_eq!(file_name("http://h/"), Some("h".into()));
    }

    #[test]
    fn a_command_with_uris_starts_the_fetcher_carrying_it() {
        let mut command = CommandInfo::shell("./run.sh");
        assert_eq!(
            wrap(&command, Path::new("/opt")),
            (command.clone(), Vec::new())
        );
        command.uris.push(uri("http://h/run.sh"));
        command.environment.push(("K".into(), "V".into()));
        let (wrapped, env) = wrap(&command, Path::new("/opt"));
        assert_eq!(wrapped.value.as_deref(), Some("/opt/mesos-fetcher"));
        assert!(!wrapped.shell && wrapped.uris.is_empty());
        assert!(wrapped.environment.contains(&("K".into(), "V".into())));
        let info = env
            .iter()
            .find(|(k, _)| k == INFO_VAR)
            .map(|(_, v)| serde_json::from_str::<FetcherInfo>(v).unwrap())
            .unwrap();
        assert_eq!(info.uris, command.uris);
        assert_eq!(info.command.value.as_deref(), Some("./run.sh"));
        assert!(info.command.uris.is_empty());
    }

    #[test]
    fn local_files_are_copied_made_executable_or_extracted() {
        let src = tempfile::tempdir().unwrap();
        let sandbox = tempfile::tempdir().unwrap();
        std::fs::write(src.path().join("run.sh"), "#!/bin/sh\necho ran\n").unwrap();
        std::fs::create_dir(src.path().join("pkg")).unwrap();
        std::fs::write(src.path().join("pkg/inside.txt"), "inside").unwrap();
        let status = Command::new("tar")
            .arg("-C")
            .arg(src.path())
            .args(["-czf", "pkg.tar.gz", "pkg"])
            .current_dir(src.path())
            .status()
            .unwrap();
        assert!(status.success());
        let mut script = uri(&format!("file://{}", src.path().join("run.sh").display()));
        script.executable = true;
        let archive = uri(&src.path().join("pkg.tar.gz").display().to_string());
        let mut renamed = uri("data/notes.txt");
        renamed.output_file = Some("renamed.txt".into());
        std::fs::create_dir(src.path().join("data")).unwrap();
        std::fs::write(src.path().join("data/notes.txt"), "notes").unwrap();
        fetch_all(
            &[script, archive, renamed],
            sandbox.path(),
            Some(src.path()),
        )
        .unwrap();
        let mode = std::fs::metadata(sandbox.path().join("run.sh"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o755);
        assert_eq!(
            std::fs::read_to_string(sandbox.path().join("pkg/inside.txt")).unwrap(),
            "inside"
        );
        assert!(sandbox.path().join("pkg.tar.gz").exists());
        assert_eq!(
            std::fs::read_to_string(sandbox.path().join("renamed.txt")).unwrap(),
            "notes"
        );
    }

    #[test]
    fn what_cannot_be_fetched_is_a_clear_error() {
        let sandbox = tempfile::tempdir().unwrap();
        let e = fetch_all(&[uri("/no/such/file")], sandbox.path(), None).unwrap_err();
        assert!(e.starts_with("Failed to fetch '/no/such/file':"), "{e}");
        let e = fetch_all(&[uri("relative.txt")], sandbox.path(), None).unwrap_err();
        assert!(e.contains("--frameworks_home"), "{e}");
        let mut escaping = uri("/etc/hostname");
        escaping.output_file = Some("../x".into());
        assert!(fetch_all(&[escaping], sandbox.path(), None).is_err());
        let e = fetch_all(&[uri("http://127.0.0.1:1/x")], sandbox.path(), None).unwrap_err();
        assert!(e.starts_with("Failed to fetch"), "{e}");
    }
}
