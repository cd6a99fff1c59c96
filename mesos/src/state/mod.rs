//! Versioned key/value state over a pluggable `Storage` (`State`, `Variable`, `Uuid`, `StorageError`); mirrors `include/mesos/state/state.hpp` and `storage.hpp` (formerly `src/state/`).
//!
//! A [`State`] holds named [`Variable`]s. Storing a variable succeeds only if nobody stored
//! it since it was fetched: every variable carries the [`Uuid`] of the version it was read
//! at, storage compares it with the one on record and installs a fresh one (a
//! compare-and-swap). That is what keeps two masters that both believe they lead from
//! overwriting each other's registry.
//!
//! Backends implement [`Storage`]; every call returns a [`libprocess::Future`], so callers
//! (actors) never block on the backend and a remote backend (ZooKeeper, a replicated log)
//! can be added without changing them. Backends that touch the disk do it on tokio's
//! blocking pool ([`run_blocking`]).
//!
//! `Clock::settle` does not count work on the blocking pool: a test that wants a store to
//! have finished awaits the future that reports it, rather than settling.

mod directory;
mod in_memory;

use std::collections::BTreeSet;
use std::fmt;
use std::hash::{BuildHasher, Hasher};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use libprocess::{Future, Promise};

pub use crate::proto::internal::state::Entry;
pub use directory::DirectoryStorage;
pub use in_memory::InMemoryStorage;

/// Why a storage operation failed (C++ reports these as `Failure` strings).
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    /// The operating system refused a read, write, rename or sync.
    #[error("{operation} '{}' failed: {source}", path.display())]
    Io {
        operation: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// Stored bytes do not decode as an `Entry` for this name.
    #[error("Failed to deserialize Entry from '{}': {reason}", path.display())]
    Corrupt { path: PathBuf, reason: String },
    /// A version is not 16 bytes.
    #[error("Invalid UUID of {0} bytes")]
    InvalidUuid(usize),
}

/// The result every storage call completes with.
pub type StorageFuture<T> = Future<Result<T, StorageError>>;

/// A version stamp: 16 random bytes (stout's `id::UUID`, version 4).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Uuid([u8; 16]);

impl Uuid {
    /// A fresh random version. Versions only need to be distinct, not secret, so the
    /// randomness comes from std's per-process random hasher keys mixed with a counter.
    pub fn random() -> Uuid {
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let state = std::collections::hash_map::RandomState::new();
        let mut bytes = [0u8; 16];
        for (i, chunk) in bytes.chunks_mut(8).enumerate() {
            let mut hasher = state.build_hasher();
            hasher.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
            hasher.write_usize(i);
            chunk.copy_from_slice(&hasher.finish().to_le_bytes());
        }
        // RFC 4122 version 4, variant 1, as `id::UUID::random` produces.
        bytes[6] = (bytes[6] & 0x0f) | 0x40;
        bytes[8] = (bytes[8] & 0x3f) | 0x80;
        Uuid(bytes)
    }

    /// Parses the 16 raw bytes an `Entry` carries (`id::UUID::fromBytes`).
    pub fn from_bytes(bytes: &[u8]) -> Result<Uuid, StorageError> {
        <[u8; 16]>::try_from(bytes).map(Uuid).map_err(|_| StorageError::InvalidUuid(bytes.len()))
    }

    pub fn as_bytes(&self) -> &[u8; 16] {
        &self.0
    }
}

impl fmt::Display for Uuid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, byte) in self.0.iter().enumerate() {
            if matches!(i, 4 | 6 | 8 | 10) {
                f.write_str("-")?;
            }
            write!(f, "{byte:02x}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for Uuid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Uuid({self})")
    }
}

/// A backend for [`State`] (C++ `mesos::state::Storage`). `set` and `expunge` are
/// compare-and-swap operations on the entry's version.
pub trait Storage: Send + Sync + 'static {
    /// The entry stored under `name`, if any.
    fn get(&self, name: &str) -> StorageFuture<Option<Entry>>;

    /// Stores `entry` if the entry on record under its name has version `uuid`, or if there
    /// is none; `false` if another version is on record.
    fn set(&self, entry: Entry, uuid: Uuid) -> StorageFuture<bool>;

    /// Deletes the entry on record if its version is `entry.uuid`; `false` if there is no
    /// entry or another version is on record.
    fn expunge(&self, entry: Entry) -> StorageFuture<bool>;

    /// The names of all stored entries.
    fn names(&self) -> StorageFuture<BTreeSet<String>>;
}

/// An immutable view of one entry as fetched; [`Variable::mutate`] makes a changed copy to
/// store (C++ `mesos::state::Variable`).
#[derive(Clone, Debug, PartialEq)]
pub struct Variable {
    entry: Entry,
}

impl Variable {
    pub fn name(&self) -> &str {
        &self.entry.name
    }

    pub fn value(&self) -> &[u8] {
        &self.entry.value
    }

    /// The version this variable was fetched or stored at.
    pub fn uuid(&self) -> Result<Uuid, StorageError> {
        Uuid::from_bytes(&self.entry.uuid)
    }

    /// A copy with another value and the same version, for [`State::store`].
    pub fn mutate(&self, value: Vec<u8>) -> Variable {
        Variable { entry: Entry { value, ..self.entry.clone() } }
    }
}

/// Named, versioned variables over a [`Storage`] (C++ `mesos::state::State`).
#[derive(Clone)]
pub struct State {
    storage: Arc<dyn Storage>,
}

impl State {
    pub fn new(storage: Arc<dyn Storage>) -> State {
        State { storage }
    }

    /// The variable named `name`; a new one (empty value, fresh version) if none is stored.
    pub fn fetch(&self, name: &str) -> StorageFuture<Variable> {
        let name = name.to_string();
        self.storage.get(&name).map(move |result| {
            result.map(|found| {
                let entry = found.unwrap_or_else(|| Entry {
                    name,
                    uuid: Uuid::random().as_bytes().to_vec(),
                    value: Vec::new(),
                });
                Variable { entry }
            })
        })
    }

    /// Stores `variable` under a fresh version if its version is still the one on record
    /// (even when the value did not change): the stored variable, or `None` if someone else
    /// stored it in between.
    pub fn store(&self, variable: &Variable) -> StorageFuture<Option<Variable>> {
        let expected = match variable.uuid() {
            Ok(uuid) => uuid,
            Err(error) => return Future::ready(Err(error)),
        };
        let entry = Entry {
            name: variable.entry.name.clone(),
            uuid: Uuid::random().as_bytes().to_vec(),
            value: variable.entry.value.clone(),
        };
        let stored = entry.clone();
        self.storage
            .set(entry, expected)
            .map(move |result| result.map(|swapped| swapped.then_some(Variable { entry: stored })))
    }

    /// Deletes `variable` if its version is still the one on record.
    pub fn expunge(&self, variable: &Variable) -> StorageFuture<bool> {
        self.storage.expunge(variable.entry.clone())
    }

    pub fn names(&self) -> StorageFuture<BTreeSet<String>> {
        self.storage.names()
    }
}

/// Runs `f` on tokio's blocking pool and completes the returned future with its result, so
/// the calling actor's thread never waits on the disk. Outside a tokio runtime (no actor
/// thread to protect) it runs `f` right away.
pub fn run_blocking<T, F>(f: F) -> StorageFuture<T>
where
    T: Send + 'static,
    F: FnOnce() -> Result<T, StorageError> + Send + 'static,
{
    match tokio::runtime::Handle::try_current() {
        Ok(handle) => {
            let promise = Promise::new();
            let future = promise.future();
            handle.spawn_blocking(move || promise.set(f()));
            // A panicking task drops the promise: the future then fails as discarded.
            future
        }
        Err(_) => Future::ready(f()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uuids_are_distinct_version_4_and_round_trip() {
        let a = Uuid::random();
        let b = Uuid::random();
        assert_ne!(a, b);
        assert_eq!(a.as_bytes()[6] >> 4, 4);
        assert_eq!(Uuid::from_bytes(a.as_bytes()).unwrap(), a);
        assert!(matches!(Uuid::from_bytes(&[1, 2, 3]), Err(StorageError::InvalidUuid(3))));
        assert_eq!(a.to_string().len(), 36);
    }
}
