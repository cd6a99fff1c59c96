//! `InMemoryStorage`: entries in a map, lost on restart (`--registry=in_memory`); mirrors `src/state/in_memory.cpp`.
//!
//! C++ runs the map inside a process; here a mutex around the map does the same job, since
//! every operation is a few map look-ups and never waits.

use std::collections::{BTreeSet, HashMap};
use std::sync::Mutex;

use libprocess::Future;

use super::{Entry, Storage, StorageFuture, Uuid};

#[derive(Default)]
pub struct InMemoryStorage {
    entries: Mutex<HashMap<String, Entry>>,
}

impl InMemoryStorage {
    pub fn new() -> InMemoryStorage {
        InMemoryStorage::default()
    }

    fn entries(&self) -> std::sync::MutexGuard<'_, HashMap<String, Entry>> {
        // A panic while holding the lock cannot leave the map half-updated (each operation
        // is a single insert or remove), so a poisoned lock is safe to keep using.
        self.entries.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl Storage for InMemoryStorage {
    fn get(&self, name: &str) -> StorageFuture<Option<Entry>> {
        Future::ready(Ok(self.entries().get(name).cloned()))
    }

    fn set(&self, entry: Entry, uuid: Uuid) -> StorageFuture<bool> {
        let mut entries = self.entries();
        if entries.get(&entry.name).is_some_and(|current| current.uuid != uuid.as_bytes()) {
            return Future::ready(Ok(false));
        }
        entries.insert(entry.name.clone(), entry);
        Future::ready(Ok(true))
    }

    fn expunge(&self, entry: Entry) -> StorageFuture<bool> {
        let mut entries = self.entries();
        let matches = entries.get(&entry.name).is_some_and(|current| current.uuid == entry.uuid);
        if matches {
            entries.remove(&entry.name);
        }
        Future::ready(Ok(matches))
    }

    fn names(&self) -> StorageFuture<BTreeSet<String>> {
        Future::ready(Ok(self.entries().keys().cloned().collect()))
    }
}
