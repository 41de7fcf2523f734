//! Where the registry is kept. The registrar stores one serialized registry
//! at a time and reads back the latest; a store is a compare-free overwrite
//! because only the leading master's registrar writes (the replicated log
//! refuses a stale writer on its own).

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};

/// A future a store hands back; run on the registrar's thread.
pub type StoreFuture<T> = Pin<Box<dyn Future<Output = Result<T, StoreError>>>>;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    #[error("the registry store failed: {0}")]
    Failed(String),
}

/// A durable home for the registry's bytes.
pub trait Store: Send + 'static {
    /// The latest stored registry, or `None` if nothing was ever stored.
    fn fetch(&mut self) -> StoreFuture<Option<Vec<u8>>>;
    /// Replaces the stored registry; resolves once it is durable.
    fn store(&mut self, bytes: Vec<u8>) -> StoreFuture<()>;
}

/// `--registry=in_memory`: kept only as long as the process (and in tests,
/// shared between registrars that stand for restarted masters).
#[derive(Clone, Default)]
pub struct InMemoryStore {
    bytes: Arc<Mutex<Option<Vec<u8>>>>,
}

impl Store for InMemoryStore {
    fn fetch(&mut self) -> StoreFuture<Option<Vec<u8>>> {
        let bytes = self.bytes.lock().map(|b| b.clone()).unwrap_or(None);
        Box::pin(async move { Ok(bytes) })
    }

    fn store(&mut self, bytes: Vec<u8>) -> StoreFuture<()> {
        if let Ok(mut slot) = self.bytes.lock() {
            *slot = Some(bytes);
        }
        Box::pin(async { Ok(()) })
    }
}
