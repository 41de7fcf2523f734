//! Where a replica keeps its promises and actions (Mesos's `log::Storage`
//! and its LevelDB implementation): the [`Storage`] trait the replica core
//! is written against, [`MemStorage`] for tests and simulations, and
//! [`RedbStorage`], a redb file under `<work_dir>/replicated_log`.
//!
//! Writes arrive as a [`Batch`], applied in one atomic commit, so a replica
//! can fold every request it has queued into one fsync (group commit). A
//! durable batch is on disk when `apply` returns: a replica answers only
//! after that. A batch that is not durable (learned marks, which no one
//! waits for) may be lost in a crash until the next durable one, as with
//! redb's `Durability::None`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use redb::{Database, Durability, ReadableTable, TableDefinition};
use wire::log::{Action, Metadata};

/// Why storage failed; the replica answers nothing and reloads its state.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    #[error("replica storage: {0}")]
    Redb(Box<redb::Error>),
    #[error("replica storage at {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("replica storage holds an undecodable {what}: {source}")]
    Corrupt {
        what: &'static str,
        source: postcard::Error,
    },
    #[error("replica storage holds {what} at key {key} for position {position}")]
    Misplaced {
        what: &'static str,
        key: u64,
        position: u64,
    },
}

impl From<redb::Error> for StorageError {
    fn from(e: redb::Error) -> Self {
        StorageError::Redb(Box::new(e))
    }
}

/// Changes committed together.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Batch {
    pub metadata: Option<Metadata>,
    /// Delete every action below this position (applied before `actions`).
    pub truncate: Option<u64>,
    /// Actions to store, replacing what their positions held.
    pub actions: Vec<Action>,
    /// On disk before `apply` returns.
    pub durable: bool,
}

impl Batch {
    pub fn is_empty(&self) -> bool {
        self.metadata.is_none() && self.truncate.is_none() && self.actions.is_empty()
    }
}

/// A replica's storage. Reads see every applied batch, durable or not.
pub trait Storage: Send + Unpin + 'static {
    /// The stored metadata; the default (EMPTY, promised 0) when none.
    fn get_metadata(&self) -> Result<Metadata, StorageError>;

    fn get_action(&self, position: u64) -> Result<Option<Action>, StorageError>;

    /// The stored actions at positions `from..=to`, ascending.
    fn range(&self, from: u64, to: u64) -> Result<Vec<Action>, StorageError>;

    /// Visits every stored action, ascending (to rebuild a replica's view).
    fn scan(&self, visit: &mut dyn FnMut(Action)) -> Result<(), StorageError>;

    /// Applies `batch` atomically.
    fn apply(&mut self, batch: Batch) -> Result<(), StorageError>;

    /// Stores `metadata`, durably.
    fn put_metadata(&mut self, metadata: Metadata) -> Result<(), StorageError> {
        self.apply(Batch {
            metadata: Some(metadata),
            durable: true,
            ..Batch::default()
        })
    }

    /// Stores `action`, durably.
    fn put_action(&mut self, action: Action) -> Result<(), StorageError> {
        self.apply(Batch {
            actions: vec![action],
            durable: true,
            ..Batch::default()
        })
    }

    /// Deletes every action below `to`, durably.
    fn truncate(&mut self, to: u64) -> Result<(), StorageError> {
        self.apply(Batch {
            truncate: Some(to),
            durable: true,
            ..Batch::default()
        })
    }
}

// ---------------------------------------------------------------------------
// In memory

#[derive(Debug, Clone, Default)]
struct Contents {
    metadata: Option<Metadata>,
    actions: BTreeMap<u64, Action>,
}

impl Contents {
    fn apply(&mut self, batch: &Batch) {
        if let Some(m) = batch.metadata {
            self.metadata = Some(m);
        }
        if let Some(to) = batch.truncate {
            self.actions = self.actions.split_off(&to);
        }
        for a in &batch.actions {
            self.actions.insert(a.position, a.clone());
        }
    }
}

/// Storage in memory that remembers what a crash would keep: see
/// [`MemStorage::crash`].
#[derive(Debug, Clone, Default)]
pub struct MemStorage {
    /// Everything applied: what reads see.
    live: Contents,
    /// What the last durable batch left on "disk".
    durable: Contents,
    /// Batches applied since the last durable one, oldest first.
    unsynced: Vec<Batch>,
}

impl MemStorage {
    pub fn new() -> MemStorage {
        MemStorage::default()
    }

    /// Forgets what a crash would lose: batches applied after the last
    /// durable one.
    pub fn crash(&mut self) {
        self.live = self.durable.clone();
        self.unsynced.clear();
    }
}

impl Storage for MemStorage {
    fn get_metadata(&self) -> Result<Metadata, StorageError> {
        Ok(self.live.metadata.unwrap_or_default())
    }

    fn get_action(&self, position: u64) -> Result<Option<Action>, StorageError> {
        Ok(self.live.actions.get(&position).cloned())
    }

    fn range(&self, from: u64, to: u64) -> Result<Vec<Action>, StorageError> {
        if to < from {
            return Ok(Vec::new());
        }
        Ok(self
            .live
            .actions
            .range(from..=to)
            .map(|(_, a)| a.clone())
            .collect())
    }

    fn scan(&self, visit: &mut dyn FnMut(Action)) -> Result<(), StorageError> {
        for a in self.live.actions.values() {
            visit(a.clone());
        }
        Ok(())
    }

    fn apply(&mut self, batch: Batch) -> Result<(), StorageError> {
        self.live.apply(&batch);
        if batch.durable {
            for b in self.unsynced.drain(..) {
                self.durable.apply(&b);
            }
            self.durable.apply(&batch);
        } else {
            self.unsynced.push(batch);
        }
        Ok(())
    }
}

// ---------------------------------------------------------------------------
// redb

const METADATA: TableDefinition<u8, &[u8]> = TableDefinition::new("metadata");
const ACTIONS: TableDefinition<u64, &[u8]> = TableDefinition::new("actions");
/// The one key of the metadata table.
const METADATA_KEY: u8 = 0;

/// A replica's storage in one redb file. Values are postcard-encoded
/// [`Metadata`] and [`Action`]s, actions keyed by position (redb orders
/// `u64` keys numerically, which LevelDB needed zero-padded keys for).
pub struct RedbStorage {
    db: Database,
}

impl RedbStorage {
    /// The directory Mesos keeps the log in: `<work_dir>/replicated_log`.
    pub fn dir_in(work_dir: &Path) -> PathBuf {
        work_dir.join("replicated_log")
    }

    /// Opens (creating if needed) the log under `<work_dir>/replicated_log`.
    pub fn open_in_work_dir(work_dir: &Path) -> Result<RedbStorage, StorageError> {
        let dir = RedbStorage::dir_in(work_dir);
        std::fs::create_dir_all(&dir).map_err(|source| StorageError::Io {
            path: dir.clone(),
            source,
        })?;
        RedbStorage::open(&dir.join("replica.redb"))
    }

    /// Opens (creating if needed) the redb file at `path`.
    pub fn open(path: &Path) -> Result<RedbStorage, StorageError> {
        let db = Database::create(path).map_err(redb::Error::from)?;
        // Create both tables up front so reads never meet a missing table.
        let txn = db.begin_write().map_err(redb::Error::from)?;
        txn.open_table(METADATA).map_err(redb::Error::from)?;
        txn.open_table(ACTIONS).map_err(redb::Error::from)?;
        txn.commit().map_err(redb::Error::from)?;
        Ok(RedbStorage { db })
    }

    fn read_txn(&self) -> Result<redb::ReadTransaction, StorageError> {
        Ok(self.db.begin_read().map_err(redb::Error::from)?)
    }
}

fn decode_action(key: u64, bytes: &[u8]) -> Result<Action, StorageError> {
    let action: Action = postcard::from_bytes(bytes).map_err(|source| StorageError::Corrupt {
        what: "action",
        source,
    })?;
    if action.position != key {
        return Err(StorageError::Misplaced {
            what: "an action",
            key,
            position: action.position,
        });
    }
    Ok(action)
}

fn encode<T: serde::Serialize>(what: &'static str, value: &T) -> Result<Vec<u8>, StorageError> {
    postcard::to_allocvec(value).map_err(|source| StorageError::Corrupt { what, source })
}

impl Storage for RedbStorage {
    fn get_metadata(&self) -> Result<Metadata, StorageError> {
        let txn = self.read_txn()?;
        let table = txn.open_table(METADATA).map_err(redb::Error::from)?;
        match table.get(METADATA_KEY).map_err(redb::Error::from)? {
            None => Ok(Metadata::default()),
            Some(v) => postcard::from_bytes(v.value()).map_err(|source| StorageError::Corrupt {
                what: "metadata",
                source,
            }),
        }
    }

    fn get_action(&self, position: u64) -> Result<Option<Action>, StorageError> {
        let txn = self.read_txn()?;
        let table = txn.open_table(ACTIONS).map_err(redb::Error::from)?;
        match table.get(position).map_err(redb::Error::from)? {
            None => Ok(None),
            Some(v) => decode_action(position, v.value()).map(Some),
        }
    }

    fn range(&self, from: u64, to: u64) -> Result<Vec<Action>, StorageError> {
        if to < from {
            return Ok(Vec::new());
        }
        let txn = self.read_txn()?;
        let table = txn.open_table(ACTIONS).map_err(redb::Error::from)?;
        let mut out = Vec::new();
        for entry in table.range(from..=to).map_err(redb::Error::from)? {
            let (k, v) = entry.map_err(redb::Error::from)?;
            out.push(decode_action(k.value(), v.value())?);
        }
        Ok(out)
    }

    fn scan(&self, visit: &mut dyn FnMut(Action)) -> Result<(), StorageError> {
        let txn = self.read_txn()?;
        let table = txn.open_table(ACTIONS).map_err(redb::Error::from)?;
        for entry in table.iter().map_err(redb::Error::from)? {
            let (k, v) = entry.map_err(redb::Error::from)?;
            visit(decode_action(k.value(), v.value())?);
        }
        Ok(())
    }

    fn apply(&mut self, batch: Batch) -> Result<(), StorageError> {
        let mut txn = self.db.begin_write().map_err(redb::Error::from)?;
        txn.set_durability(if batch.durable {
            Durability::Immediate
        } else {
            Durability::None
        });
        {
            if let Some(m) = &batch.metadata {
                let bytes = encode("metadata", m)?;
                let mut table = txn.open_table(METADATA).map_err(redb::Error::from)?;
                table
                    .insert(METADATA_KEY, bytes.as_slice())
                    .map_err(redb::Error::from)?;
            }
            let mut table = txn.open_table(ACTIONS).map_err(redb::Error::from)?;
            if let Some(to) = batch.truncate {
                table
                    .retain_in(..to, |_, _| false)
                    .map_err(redb::Error::from)?;
            }
            for a in &batch.actions {
                let bytes = encode("action", a)?;
                table
                    .insert(a.position, bytes.as_slice())
                    .map_err(redb::Error::from)?;
            }
        }
        txn.commit().map_err(redb::Error::from)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use wire::log::{ActionKind, Status};

    fn action(position: u64, learned: bool) -> Action {
        Action {
            position,
            promised: 1,
            performed: Some(1),
            learned,
            kind: Some(ActionKind::Append(vec![position as u8])),
        }
    }

    /// The same script against any storage.
    fn exercise(s: &mut dyn Storage) {
        assert_eq!(s.get_metadata().unwrap(), Metadata::default());
        let m = Metadata {
            status: Status::Voting,
            promised: 7,
        };
        s.put_metadata(m).unwrap();
        assert_eq!(s.get_metadata().unwrap(), m);
        s.apply(Batch {
            actions: (0..10).map(|p| action(p, p % 2 == 0)).collect(),
            durable: true,
            ..Batch::default()
        })
        .unwrap();
        assert_eq!(s.get_action(3).unwrap(), Some(action(3, false)));
        assert_eq!(s.get_action(10).unwrap(), None);
        s.truncate(4).unwrap();
        assert_eq!(s.get_action(3).unwrap(), None);
        let kept: Vec<u64> = s
            .range(0, 100)
            .unwrap()
            .iter()
            .map(|a| a.position)
            .collect();
        assert_eq!(kept, (4..10).collect::<Vec<_>>());
        let mut scanned = Vec::new();
        s.scan(&mut |a| scanned.push(a.position)).unwrap();
        assert_eq!(scanned, kept);
        assert!(s.range(5, 4).unwrap().is_empty());
    }

    #[test]
    fn memory_storage_keeps_what_it_is_given() {
        exercise(&mut MemStorage::new());
    }

    #[test]
    fn redb_storage_keeps_what_it_is_given_across_reopening() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = RedbStorage::open_in_work_dir(dir.path()).unwrap();
        exercise(&mut s);
        s.apply(Batch {
            actions: vec![action(20, true)],
            durable: false,
            ..Batch::default()
        })
        .unwrap();
        drop(s);
        let s = RedbStorage::open_in_work_dir(dir.path()).unwrap();
        assert_eq!(s.get_metadata().unwrap().promised, 7);
        assert_eq!(s.get_action(9).unwrap(), Some(action(9, false)));
        assert!(dir.path().join("replicated_log/replica.redb").exists());
    }

    #[test]
    fn a_crash_loses_only_what_was_not_durable() {
        let mut s = MemStorage::new();
        s.put_action(action(1, false)).unwrap();
        s.apply(Batch {
            actions: vec![action(1, true), action(2, true)],
            ..Batch::default()
        })
        .unwrap();
        assert_eq!(s.get_action(2).unwrap(), Some(action(2, true)));
        s.crash();
        assert_eq!(s.get_action(1).unwrap(), Some(action(1, false)));
        assert_eq!(s.get_action(2).unwrap(), None);
        // A durable batch makes the ones before it durable too.
        s.apply(Batch {
            actions: vec![action(2, true)],
            ..Batch::default()
        })
        .unwrap();
        s.put_action(action(3, false)).unwrap();
        s.crash();
        assert_eq!(s.get_action(2).unwrap(), Some(action(2, true)));
    }
}
