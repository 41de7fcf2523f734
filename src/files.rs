//! The `files` process: `/files/browse`, `/files/read` and
//! `/files/download` over the agents' sandboxes (Mesos's `src/files/`).
//!
//! Only paths inside a served root (an agent's `<work_dir>/slaves`) are
//! answered; a path is resolved (symlinks included) before the check, so
//! `..` or a link cannot lead outside. Outside a root: 403; missing: 404;
//! a bad query: 400, each with a one-line reason.

use std::collections::HashMap;
use std::io::{Read, Seek, SeekFrom};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use actors::http::{with_jsonp, Response, StatusCode};
use actors::{Cx, Handle, Install, Pid, Process, Reply, Request};
use serde_json::json;

/// The process id Mesos gives this process.
pub const FILES_ID: &str = "files";

/// Most bytes one `/files/read` returns (16 pages, as Mesos).
pub const MAX_READ: u64 = 16 * 4096;

/// Why a request was refused; turned into a response in one place.
#[derive(Debug, thiserror::Error)]
pub enum FilesError {
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Internal(String),
}

impl FilesError {
    pub fn status(&self) -> StatusCode {
        match self {
            FilesError::BadRequest(_) => StatusCode::BAD_REQUEST,
            FilesError::Forbidden(_) => StatusCode::FORBIDDEN,
            FilesError::NotFound(_) => StatusCode::NOT_FOUND,
            FilesError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

impl From<FilesError> for Response {
    fn from(e: FilesError) -> Response {
        Response::text(e.status(), e.to_string())
    }
}

/// What the v1 operator API (`LIST_FILES`, `READ_FILE` on `/api/v1`) asks
/// of this process: the same data as `/files/browse` and `/files/read`.
pub enum FilesCall {
    List {
        path: String,
    },
    Read {
        path: String,
        offset: u64,
        length: Option<u64>,
    },
}

/// An answer to a [`FilesCall`]: the entries of a listing (as
/// `/files/browse` writes them), or the bytes read and the file's size.
pub enum FilesAnswer {
    Listed(Vec<serde_json::Value>),
    Read { size: u64, data: Vec<u8> },
}

/// A [`FilesCall`] with where its answer goes.
pub struct AskFiles {
    pub call: FilesCall,
    pub reply: tokio::sync::oneshot::Sender<Result<FilesAnswer, FilesError>>,
}

#[derive(Default)]
pub struct Files {
    /// Canonical directories whose contents may be served.
    roots: Vec<PathBuf>,
}

/// Serve another root (an agent's sandboxes).
pub struct AddRoot(pub PathBuf);

impl Files {
    pub fn new() -> Files {
        Files::default()
    }

    /// The canonical form of `path` if it lies within a root.
    fn resolve(&self, path: &str) -> Result<PathBuf, FilesError> {
        if path.is_empty() {
            return Err(FilesError::BadRequest("Expecting 'path' in query".into()));
        }
        let real = std::fs::canonicalize(path)
            .map_err(|_| FilesError::NotFound(format!("No such file or directory: '{path}'")))?;
        if self.roots.iter().any(|root| real.starts_with(root)) {
            Ok(real)
        } else {
            Err(FilesError::Forbidden(format!(
                "'{path}' is outside the sandboxes this agent serves"
            )))
        }
    }
}

impl Process for Files {
    fn install(i: &mut Install<Self>) {
        i.local::<AddRoot>()
            .local::<AskFiles>()
            .route("/browse", browse)
            .route("/read", read)
            .route("/read.json", read)
            .route("/download", download)
            .route("/download.json", download);
    }
}

impl Handle<AddRoot> for Files {
    fn handle(&mut self, AddRoot(dir): AddRoot, _: &Pid, _: &mut Cx<'_, Self>) {
        let _ = std::fs::create_dir_all(&dir);
        match std::fs::canonicalize(&dir) {
            Ok(real) if !self.roots.contains(&real) => self.roots.push(real),
            Ok(_) => {}
            Err(e) => {
                tracing::warn!(dir = %dir.display(), "cannot serve files from this directory: {e}")
            }
        }
    }
}

impl Handle<AskFiles> for Files {
    fn handle(&mut self, ask: AskFiles, _: &Pid, _: &mut Cx<'_, Self>) {
        let answer = match ask.call {
            FilesCall::List { path } => self.list(&path).map(FilesAnswer::Listed),
            FilesCall::Read {
                path,
                offset,
                length,
            } => self.read_bytes(&path, offset, length),
        };
        let _ = ask.reply.send(answer);
    }
}

impl Files {
    /// The entries of a directory (or the one file) at `path`.
    fn list(&self, path: &str) -> Result<Vec<serde_json::Value>, FilesError> {
        let path = self.resolve(path)?;
        let users = names("/etc/passwd");
        let groups = names("/etc/group");
        if !path.is_dir() {
            return Ok(file_info(&path, &users, &groups).into_iter().collect());
        }
        let mut list: Vec<PathBuf> = std::fs::read_dir(&path)
            .map_err(|e| FilesError::Internal(format!("Cannot list '{}': {e}", path.display())))?
            .flatten()
            .map(|e| e.path())
            .collect();
        list.sort();
        Ok(list
            .iter()
            .filter_map(|p| file_info(p, &users, &groups))
            .collect())
    }

    /// Up to `length` bytes (at most [`MAX_READ`]) from `offset`, and the
    /// file's size.
    fn read_bytes(
        &self,
        path: &str,
        offset: u64,
        length: Option<u64>,
    ) -> Result<FilesAnswer, FilesError> {
        let path = self.resolve(path)?;
        if path.is_dir() {
            return Err(FilesError::BadRequest("Cannot read a directory".into()));
        }
        let mut file = std::fs::File::open(&path)
            .map_err(|e| FilesError::NotFound(format!("Cannot open '{}': {e}", path.display())))?;
        let size = file.metadata().map(|m| m.len()).unwrap_or(0);
        let offset = offset.min(size);
        let wanted = length
            .unwrap_or(size - offset)
            .min(MAX_READ)
            .min(size - offset);
        let mut data = vec![0u8; wanted as usize];
        file.seek(SeekFrom::Start(offset))
            .and_then(|_| file.read_exact(&mut data))
            .map_err(|e| FilesError::Internal(format!("Cannot read '{}': {e}", path.display())))?;
        Ok(FilesAnswer::Read { size, data })
    }
}

fn mode_string(mode: u32, is_dir: bool, is_link: bool) -> String {
    let kind = if is_dir {
        'd'
    } else if is_link {
        'l'
    } else {
        '-'
    };
    let mut s = String::with_capacity(10);
    s.push(kind);
    for shift in [6, 3, 0] {
        let bits = (mode >> shift) & 0o7;
        s.push(if bits & 4 != 0 { 'r' } else { '-' });
        s.push(if bits & 2 != 0 { 'w' } else { '-' });
        s.push(if bits & 1 != 0 { 'x' } else { '-' });
    }
    s
}

/// Names of users or groups by id, from `/etc/passwd` or `/etc/group`.
fn names(file: &str) -> HashMap<u32, String> {
    std::fs::read_to_string(file)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| {
            let mut parts = l.split(':');
            let name = parts.next()?;
            let id = parts.nth(1)?.parse().ok()?;
            Some((id, name.to_owned()))
        })
        .collect()
}

fn file_info(
    path: &Path,
    users: &HashMap<u32, String>,
    groups: &HashMap<u32, String>,
) -> Option<serde_json::Value> {
    let meta = std::fs::symlink_metadata(path).ok()?;
    let uid = meta.uid();
    let gid = meta.gid();
    Some(json!({
        "path": path.display().to_string(),
        "nlink": meta.nlink(),
        "size": meta.size(),
        "mtime": meta.mtime(),
        "mode": mode_string(meta.permissions().mode(), meta.is_dir(), meta.file_type().is_symlink()),
        "uid": users.get(&uid).cloned().unwrap_or_else(|| uid.to_string()),
        "gid": groups.get(&gid).cloned().unwrap_or_else(|| gid.to_string()),
    }))
}

fn browse(files: &mut Files, req: Request, _: &mut Cx<'_, Files>) -> Reply {
    Reply::Now(browse_json(files, &req).unwrap_or_else(Response::from))
}

fn browse_json(files: &Files, req: &Request) -> Result<Response, FilesError> {
    let path = files.resolve(req.query("path").unwrap_or(""))?;
    let users = names("/etc/passwd");
    let groups = names("/etc/group");
    let entries = if path.is_dir() {
        let mut list: Vec<PathBuf> = std::fs::read_dir(&path)
            .map_err(|e| FilesError::Internal(format!("Cannot list '{}': {e}", path.display())))?
            .flatten()
            .map(|e| e.path())
            .collect();
        list.sort();
        list.iter()
            .filter_map(|p| file_info(p, &users, &groups))
            .collect::<Vec<_>>()
    } else {
        file_info(&path, &users, &groups).into_iter().collect()
    };
    Ok(with_jsonp(
        serde_json::Value::Array(entries).to_string(),
        &req.query,
    ))
}

fn parse_number(req: &Request, key: &str) -> Result<Option<i64>, FilesError> {
    match req.query(key) {
        None => Ok(None),
        Some(v) => v.parse::<i64>().map(Some).map_err(|_| {
            FilesError::BadRequest(format!("Failed to parse {key}: '{v}' is not a number"))
        }),
    }
}

fn read(files: &mut Files, req: Request, _: &mut Cx<'_, Files>) -> Reply {
    Reply::Now(read_json(files, &req).unwrap_or_else(Response::from))
}

fn read_json(files: &Files, req: &Request) -> Result<Response, FilesError> {
    let path = files.resolve(req.query("path").unwrap_or(""))?;
    if path.is_dir() {
        return Err(FilesError::BadRequest("Cannot read a directory".into()));
    }
    let offset = parse_number(req, "offset")?.unwrap_or(-1);
    let length = parse_number(req, "length")?.unwrap_or(-1);
    if offset < -1 || length < -1 {
        return Err(FilesError::BadRequest("Negative offset or length".into()));
    }
    let mut file = std::fs::File::open(&path)
        .map_err(|e| FilesError::NotFound(format!("Cannot open '{}': {e}", path.display())))?;
    let size = file.metadata().map(|m| m.len()).unwrap_or(0);
    // offset -1 asks only for the size (Mesos's convention).
    if offset == -1 {
        return Ok(with_jsonp(
            json!({"data": "", "offset": size}).to_string(),
            &req.query,
        ));
    }
    let offset = (offset as u64).min(size);
    let wanted = if length == -1 {
        size - offset
    } else {
        length as u64
    };
    let wanted = wanted.min(MAX_READ).min(size - offset);
    let mut buf = vec![0u8; wanted as usize];
    file.seek(SeekFrom::Start(offset))
        .and_then(|_| file.read_exact(&mut buf))
        .map_err(|e| FilesError::Internal(format!("Cannot read '{}': {e}", path.display())))?;
    let data = String::from_utf8_lossy(&buf);
    Ok(with_jsonp(
        json!({"data": data, "offset": offset}).to_string(),
        &req.query,
    ))
}

fn download(files: &mut Files, req: Request, _: &mut Cx<'_, Files>) -> Reply {
    Reply::Now(download_bytes(files, &req).unwrap_or_else(Response::from))
}

fn download_bytes(files: &Files, req: &Request) -> Result<Response, FilesError> {
    let path = files.resolve(req.query("path").unwrap_or(""))?;
    if path.is_dir() {
        return Err(FilesError::BadRequest("Cannot download a directory".into()));
    }
    let bytes = std::fs::read(&path)
        .map_err(|e| FilesError::NotFound(format!("Cannot read '{}': {e}", path.display())))?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    Ok(Response::new(StatusCode::OK, bytes)
        .with_header("Content-Type", "application/octet-stream")
        .with_header(
            "Content-Disposition",
            &format!("attachment; filename={name}"),
        ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modes_render_as_ls_does() {
        assert_eq!(mode_string(0o755, false, false), "-rwxr-xr-x");
        assert_eq!(mode_string(0o700, true, false), "drwx------");
        assert_eq!(mode_string(0o644, false, true), "lrw-r--r--");
    }
}
