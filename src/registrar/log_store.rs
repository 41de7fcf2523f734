//! `--registry=replicated_log`: the registry kept in the masters' replicated
//! log, as Mesos's `LogStorage` keeps it with `diffsBetweenSnapshots = 0`:
//! every store appends a whole snapshot, then truncates the log below it,
//! so the log stays about one entry long; a fetch reads the latest entry.

use crate::log::Log;

use super::store::{Store, StoreError, StoreFuture};

/// The registry in a replicated log.
pub struct LogStore {
    log: Log,
}

impl LogStore {
    pub fn new(log: Log) -> LogStore {
        LogStore { log }
    }
}

fn failed(e: impl std::fmt::Display) -> StoreError {
    StoreError::Failed(e.to_string())
}

impl Store for LogStore {
    fn fetch(&mut self) -> StoreFuture<Option<Vec<u8>>> {
        let log = self.log.clone();
        Box::pin(async move {
            // Becoming the log's writer first fills every position up to the
            // end, so what the local replica holds is the whole log.
            let end = log.start().await.map_err(failed)?;
            let summary = log.summary().await.map_err(failed)?;
            if end < summary.begin || summary.end == 0 && summary.begin == 0 && end == 0 {
                return Ok(None);
            }
            let entries = log.read(summary.begin, end).await.map_err(failed)?;
            Ok(entries.into_iter().last().map(|(_, bytes)| bytes))
        })
    }

    fn store(&mut self, bytes: Vec<u8>) -> StoreFuture<()> {
        let log = self.log.clone();
        Box::pin(async move {
            let position = log.append(bytes).await.map_err(failed)?;
            // Older snapshots are dead weight now.
            log.truncate(position).await.map_err(failed)?;
            Ok(())
        })
    }
}
