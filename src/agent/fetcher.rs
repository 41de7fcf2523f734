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
//!
//! A remote URI with `cache` set is kept in the agent's
//! `--fetcher_cache_dir` (one directory per URI) and copied from there the
//! next time; when the cache outgrows `--fetcher_cache_size`, its least
//! recently used entries go.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde::{Deserialize, Serialize};
use wire::mesos::{CommandInfo, CommandUri};

/// The variable that carries [`FetcherInfo`] to `mesos-fetcher`.
pub const INFO_VAR: &str = "MESOS_FETCHER_INFO";
/// Where relative URIs are looked up (`--frameworks_home`).
pub const HOME_VAR: &str = "MESOS_FRAMEWORKS_HOME";
/// The cache directory (`--fetcher_cache_dir`) and its size in bytes
/// (`--fetcher_cache_size`).
pub const CACHE_DIR_VAR: &str = "MESOS_FETCHER_CACHE_DIR";
pub const CACHE_SIZE_VAR: &str = "MESOS_FETCHER_CACHE_SIZE";

/// Where cached downloads go, and how many bytes they may take.
#[derive(Debug, Clone, PartialEq)]
pub struct Cache {
    pub dir: PathBuf,
    pub size: u64,
}

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
pub fn wrap(
    command: &CommandInfo,
    launcher_dir: &Path,
    cache: &Cache,
) -> (CommandInfo, Vec<(String, String)>) {
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
    let env = vec![
        (INFO_VAR.to_owned(), info),
        (CACHE_DIR_VAR.to_owned(), cache.dir.display().to_string()),
        (CACHE_SIZE_VAR.to_owned(), cache.size.to_string()),
    ];
    (fetcher, env)
}

/// Fetches every URI into `dir`, stopping at the first that fails.
pub fn fetch_all(
    uris: &[CommandUri],
    dir: &Path,
    home: Option<&Path>,
    cache: Option<&Cache>,
) -> Result<(), String> {
    for uri in uris {
        fetch(uri, dir, home, cache)
            .map_err(|e| format!("Failed to fetch '{}': {e}", uri.value))?;
    }
    Ok(())
}

fn fetch(
    uri: &CommandUri,
    dir: &Path,
    home: Option<&Path>,
    cache: Option<&Cache>,
) -> Result<PathBuf, String> {
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
        match cache.filter(|_| uri.cache) {
            Some(cache) => {
                let cached = cached_copy(value, &name, cache)?;
                std::fs::copy(&cached, &target)
                    .map_err(|e| format!("cannot copy from the cache: {e}"))?;
            }
            None => download(value, &target)?,
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

fn download(uri: &str, target: &Path) -> Result<(), String> {
    let output = Command::new("curl")
        .args([
            "--fail",
            "--silent",
            "--show-error",
            "--location",
            "--output",
        ])
        .arg(target)
        .arg(uri)
        .output()
        .map_err(|e| format!("cannot run curl: {e}"))?;
    if !output.status.success() {
        return Err(String::from_utf8_lossy(&output.stderr).trim().to_owned());
    }
    Ok(())
}

/// The cached copy of `uri`, downloaded into the cache first if it is not
/// there; the cache is then trimmed to its size, this entry kept.
fn cached_copy(uri: &str, name: &str, cache: &Cache) -> Result<PathBuf, String> {
    let entry = cache.dir.join(format!("{:016x}", fnv1a(uri.as_bytes())));
    let file = entry.join(name);
    let used = entry.join(".used");
    if file.is_file() {
        // Mark the entry used: eviction goes by least recent use.
        let _ = std::fs::write(&used, b"");
        return Ok(file);
    }
    std::fs::create_dir_all(&entry).map_err(|e| format!("cannot create the cache: {e}"))?;
    let partial = entry.join(format!(".{name}.{}", std::process::id()));
    download(uri, &partial)?;
    std::fs::rename(&partial, &file).map_err(|e| format!("cannot fill the cache: {e}"))?;
    let _ = std::fs::write(&used, b"");
    trim(cache, &entry);
    Ok(file)
}

/// Removes the least recently used entries until the cache fits its size,
/// never `keep`.
fn trim(cache: &Cache, keep: &Path) {
    let size_of = |dir: &Path| -> u64 {
        std::fs::read_dir(dir)
            .into_iter()
            .flatten()
            .filter_map(Result::ok)
            .filter_map(|e| e.metadata().ok())
            .map(|m| m.len())
            .sum()
    };
    let mut entries: Vec<(std::time::SystemTime, u64, PathBuf)> = std::fs::read_dir(&cache.dir)
        .into_iter()
        .flatten()
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.is_dir())
        .map(|p| {
            let used = std::fs::metadata(p.join(".used"))
                .and_then(|m| m.modified())
                .unwrap_or(std::time::UNIX_EPOCH);
            (used, size_of(&p), p)
        })
        .collect();
    let mut total: u64 = entries.iter().map(|(_, size, _)| size).sum();
    entries.sort();
    for (_, size, path) in entries {
        if total <= cache.size {
            break;
        }
        if path == keep {
            continue;
        }
        if std::fs::remove_dir_all(&path).is_ok() {
            total = total.saturating_sub(size);
        }
    }
}

/// FNV-1a, 64 bits: a stable name for a URI's cache entry.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, b| {
        (hash ^ u64::from(*b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// `2GB`, `512MB`, `100KB`, `10B` or a plain number of bytes.
pub fn parse_size(text: &str) -> Result<u64, String> {
    let text = text.trim();
    let digits = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(digits);
    let number: f64 = number
        .parse()
        .map_err(|_| format!("'{text}' is not a size like 2GB"))?;
    let scale: u64 = match unit.trim().to_ascii_uppercase().as_str() {
        "" | "B" => 1,
        "KB" => 1 << 10,
        "MB" => 1 << 20,
        "GB" => 1 << 30,
        "TB" => 1 << 40,
        _ => return Err(format!("'{text}' is not a size like 2GB")),
    };
    Ok((number * scale as f64) as u64)
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
    let (program, argv) = match crate::container::command_line(command) {
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
            cache: false,
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

    fn test_cache() -> Cache {
        Cache {
            dir: PathBuf::from("/tmp/cache"),
            size: 1 << 20,
        }
    }

    #[test]
    fn a_command_with_uris_starts_the_fetcher_carrying_it() {
        let mut command = CommandInfo::shell("./run.sh");
        assert_eq!(
            wrap(&command, Path::new("/opt"), &test_cache()),
            (command.clone(), Vec::new())
        );
        command.uris.push(uri("http://h/run.sh"));
        command.environment.push(("K".into(), "V".into()));
        let (wrapped, env) = wrap(&command, Path::new("/opt"), &test_cache());
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
            None,
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
        let e = fetch_all(&[uri("/no/such/file")], sandbox.path(), None, None).unwrap_err();
        assert!(e.starts_with("Failed to fetch '/no/such/file':"), "{e}");
        let e = fetch_all(&[uri("relative.txt")], sandbox.path(), None, None).unwrap_err();
        assert!(e.contains("--frameworks_home"), "{e}");
        let mut escaping = uri("/etc/hostname");
        escaping.output_file = Some("../x".into());
        assert!(fetch_all(&[escaping], sandbox.path(), None, None).is_err());
        let e = fetch_all(&[uri("http://127.0.0.1:1/x")], sandbox.path(), None, None).unwrap_err();
        assert!(e.starts_with("Failed to fetch"), "{e}");
    }

    /// Serves a 1 KiB body to every GET on a free port, counting requests.
    fn counting_server() -> (u16, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
        use std::io::{Read, Write};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let hits = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let counted = hits.clone();
        std::thread::spawn(move || {
            for mut stream in listener.incoming().flatten() {
                let _ = stream.read(&mut [0u8; 4096]);
                counted.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                let body = vec![b'x'; 1024];
                let head = format!(
                    "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                    body.len()
                );
                let _ = stream.write_all(head.as_bytes());
                let _ = stream.write_all(&body);
            }
        });
        (port, hits)
    }

    #[test]
    fn cached_uris_are_downloaded_once_and_the_cache_keeps_its_size() {
        let (port, hits) = counting_server();
        let cache_dir = tempfile::tempdir().unwrap();
        let cache = Cache {
            dir: cache_dir.path().to_owned(),
            size: 1500,
        };
        let cached = |path: &str| {
            let mut u = uri(&format!("http://127.0.0.1:{port}/{path}"));
            u.cache = true;
            u
        };
        let hits_now = || hits.load(std::sync::atomic::Ordering::SeqCst);
        for _ in 0..2 {
            let sandbox = tempfile::tempdir().unwrap();
            fetch_all(&[cached("a.bin")], sandbox.path(), None, Some(&cache)).unwrap();
            assert_eq!(
                std::fs::read(sandbox.path().join("a.bin")).unwrap().len(),
                1024
            );
        }
        assert_eq!(hits_now(), 1, "the second fetch came from the cache");
        // Without `cache`, every fetch downloads.
        let sandbox = tempfile::tempdir().unwrap();
        let plain = uri(&format!("http://127.0.0.1:{port}/a.bin"));
        fetch_all(&[plain], sandbox.path(), None, Some(&cache)).unwrap();
        assert_eq!(hits_now(), 2);
        // A second entry does not fit beside the first: the older goes.
        fetch_all(&[cached("b.bin")], sandbox.path(), None, Some(&cache)).unwrap();
        let entries = std::fs::read_dir(cache_dir.path()).unwrap().count();
        assert_eq!(entries, 1);
        fetch_all(&[cached("b.bin")], sandbox.path(), None, Some(&cache)).unwrap();
        assert_eq!(hits_now(), 3, "the newer entry stayed");
        assert_eq!(parse_size("2GB"), Ok(2 << 30));
        assert_eq!(parse_size("512 MB"), Ok(512 << 20));
        assert_eq!(parse_size("100"), Ok(100));
        assert!(parse_size("lots").is_err() && parse_size("3XB").is_err());
    }
}
