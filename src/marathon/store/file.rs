//! The store without ZooKeeper: one file per key under
//! `<work_dir>/state/` (`state/app/prod_web`, `state/framework-id`, ...),
//! each written atomically (a temporary file, fsync, rename, fsync of the
//! directory), as the agent writes its checkpoints.
//!
//! The work dir is locked (`flock` on `<work_dir>/marathon.lock`) for as
//! long as the store lives, so that two instances cannot share it and
//! overwrite each other's state.

use std::collections::{BTreeMap, BTreeSet};
use std::fs::{self, File, OpenOptions};
use std::io::Write as _;
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::{valid_name, Pending, Store, StoreError, Write, CATEGORIES, FRAMEWORK_ID};

/// Suffix of a file being written; never read back.
const TMP: &str = ".tmp";

pub struct FileStore {
    root: Arc<PathBuf>,
    /// Holds the lock; closing it releases it.
    _lock: File,
}

fn io(path: &Path, e: std::io::Error) -> StoreError {
    StoreError::Io {
        path: path.display().to_string(),
        reason: e.to_string(),
    }
}

impl FileStore {
    /// Opens (creating) `<work_dir>/state` and locks the work dir.
    pub fn open(work_dir: &Path) -> Result<FileStore, StoreError> {
        let root = work_dir.join("state");
        for category in CATEGORIES {
            let dir = root.join(category);
            fs::create_dir_all(&dir).map_err(|e| io(&dir, e))?;
        }
        let lock_path = work_dir.join("marathon.lock");
        let lock = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .map_err(|e| io(&lock_path, e))?;
        // SAFETY: flock on a descriptor this function owns.
        let locked = unsafe { libc::flock(lock.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
        if locked != 0 {
            return Err(StoreError::Locked(work_dir.display().to_string()));
        }
        Ok(FileStore {
            root: Arc::new(root),
            _lock: lock,
        })
    }

    /// The file of `key`, if it is one of ours.
    fn path_of(root: &Path, key: &str) -> Option<PathBuf> {
        if key == FRAMEWORK_ID {
            return Some(root.join(FRAMEWORK_ID));
        }
        let (category, name) = key.split_once('/')?;
        (CATEGORIES.contains(&category) && valid_name(name)).then(|| root.join(category).join(name))
    }

    fn load_now(root: &Path) -> Result<BTreeMap<String, Vec<u8>>, StoreError> {
        let mut records = BTreeMap::new();
        let id = root.join(FRAMEWORK_ID);
        match fs::read(&id) {
            Ok(data) => {
                records.insert(FRAMEWORK_ID.to_owned(), data);
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(io(&id, e)),
        }
        for category in CATEGORIES {
            let dir = root.join(category);
            for entry in fs::read_dir(&dir).map_err(|e| io(&dir, e))? {
                let entry = entry.map_err(|e| io(&dir, e))?;
                let Some(name) = entry.file_name().to_str().map(str::to_owned) else {
                    continue;
                };
                if name.ends_with(TMP) || !valid_name(&name) {
                    continue;
                }
                let path = entry.path();
                let data = fs::read(&path).map_err(|e| io(&path, e))?;
                records.insert(format!("{category}/{name}"), data);
            }
        }
        Ok(records)
    }

    fn apply_now(root: &Path, writes: Vec<Write>) -> Result<(), StoreError> {
        let mut touched = BTreeSet::new();
        for w in writes {
            let Some(path) = Self::path_of(root, &w.key) else {
                return Err(StoreError::Io {
                    path: w.key,
                    reason: "not a key of the store".into(),
                });
            };
            match w.data {
                Some(data) => {
                    let tmp = path.with_file_name(format!(
                        "{}{TMP}",
                        path.file_name()
                            .and_then(|n| n.to_str())
                            .unwrap_or("record")
                    ));
                    let mut file = File::create(&tmp).map_err(|e| io(&tmp, e))?;
                    file.write_all(&data).map_err(|e| io(&tmp, e))?;
                    file.sync_all().map_err(|e| io(&tmp, e))?;
                    fs::rename(&tmp, &path).map_err(|e| io(&path, e))?;
                }
                None => match fs::remove_file(&path) {
                    Ok(()) => {}
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                    Err(e) => return Err(io(&path, e)),
                },
            }
            if let Some(dir) = path.parent() {
                touched.insert(dir.to_path_buf());
            }
        }
        // The renames and removals are durable once their directories are.
        for dir in touched {
            File::open(&dir)
                .and_then(|d| d.sync_all())
                .map_err(|e| io(&dir, e))?;
        }
        Ok(())
    }
}

/// Runs blocking file work off the process's thread.
fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, StoreError> + Send + 'static,
) -> Pending<T> {
    Box::pin(async move {
        tokio::task::spawn_blocking(work).await.unwrap_or_else(|e| {
            Err(StoreError::Io {
                path: "state".into(),
                reason: e.to_string(),
            })
        })
    })
}

impl Store for FileStore {
    fn load(&self) -> Pending<BTreeMap<String, Vec<u8>>> {
        let root = self.root.clone();
        blocking(move || Self::load_now(&root))
    }

    fn apply(&self, writes: Vec<Write>) -> Pending<()> {
        let root = self.root.clone();
        blocking(move || Self::apply_now(&root, writes))
    }

    fn describe(&self) -> String {
        format!("files under {}", self.root.display())
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::block_on;
    use super::*;

    fn put(key: &str, data: &str) -> Write {
        Write {
            key: key.into(),
            data: Some(data.as_bytes().to_vec()),
        }
    }

    #[test]
    fn records_survive_a_reopen_and_deletes_are_kept() {
        let dir = tempfile::tempdir().unwrap();
        {
            let store = FileStore::open(dir.path()).unwrap();
            block_on(store.apply(vec![
                put("framework-id", "fw-1"),
                put("app/web", "{\"id\":\"/web\"}"),
                put("app-version/web@2026-01-01T00:00:00.000Z", "{}"),
                put("instance/web.instance-1", "{}"),
                put("instance/web.instance-2", "{}"),
            ]))
            .unwrap();
            block_on(store.apply(vec![
                Write {
                    key: "instance/web.instance-2".into(),
                    data: None,
                },
                Write {
                    key: "instance/never-written".into(),
                    data: None,
                },
                put("app/web", "{\"id\":\"/web\",\"instances\":2}"),
            ]))
            .unwrap();
        }
        // A leftover of a write cut short is not read.
        fs::write(dir.path().join("state/app/half.tmp"), "{").unwrap();
        let store = FileStore::open(dir.path()).unwrap();
        let records = block_on(store.load()).unwrap();
        let keys: Vec<&str> = records.keys().map(String::as_str).collect();
        assert_eq!(
            keys,
            [
                "app-version/web@2026-01-01T00:00:00.000Z",
                "app/web",
                "framework-id",
                "instance/web.instance-1"
            ]
        );
        assert_eq!(records["app/web"], b"{\"id\":\"/web\",\"instances\":2}");
        assert_eq!(records["framework-id"], b"fw-1");
    }

    #[test]
    fn a_work_dir_has_one_owner_and_keys_stay_inside() {
        let dir = tempfile::tempdir().unwrap();
        let store = FileStore::open(dir.path()).unwrap();
        assert!(matches!(
            FileStore::open(dir.path()),
            Err(StoreError::Locked(_))
        ));
        for bad in ["app/../../etc", "app/a/b", "other/x", "app/", "instance/.."] {
            assert!(block_on(store.apply(vec![put(bad, "x")])).is_err(), "{bad}");
        }
        drop(store);
        assert!(FileStore::open(dir.path()).is_ok(), "the lock went with it");
    }
}
