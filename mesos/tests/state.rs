//! `State` over both storage backends: compare-and-swap on versions, expunge, names, durability across reopen, corrupt files and leftover temporary files (upstream `src/tests/state_tests.cpp` cases by name where they fit).

use std::collections::BTreeSet;
use std::sync::Arc;

use mesos::state::{DirectoryStorage, Entry, InMemoryStorage, State, Storage, StorageError, Uuid};
use prost::Message as _;

async fn fetch(state: &State, name: &str) -> mesos::state::Variable {
    state.fetch(name).await.expect("not discarded").expect("fetch")
}

/// `FetchAndStoreAndFetch` / `FetchAndStoreAndStoreAndFetch` / `FetchAndStoreAndStoreFailAndFetch`
/// / `FetchAndStoreAndExpungeAndFetch` / `FetchAndStoreAndExpungeAndExpunge` / `Names` of
/// upstream's `StateTest`, run against one backend.
async fn state_semantics(storage: Arc<dyn Storage>) {
    let state = State::new(storage);

    // A variable that was never stored is empty.
    let variable = fetch(&state, "registry").await;
    assert!(variable.value().is_empty());

    // FetchAndStoreAndFetch.
    let stored = state.store(&variable.mutate(b"one".to_vec())).await.unwrap().unwrap().expect("swapped");
    assert_eq!(fetch(&state, "registry").await.value(), b"one");

    // FetchAndStoreAndStoreAndFetch: storing the variable just stored succeeds again.
    let stored2 = state.store(&stored.mutate(b"two".to_vec())).await.unwrap().unwrap().expect("swapped");
    assert_eq!(fetch(&state, "registry").await.value(), b"two");

    // FetchAndStoreAndStoreFailAndFetch: a stale version does not swap.
    assert_eq!(state.store(&stored.mutate(b"stale".to_vec())).await.unwrap().unwrap(), None);
    assert_eq!(fetch(&state, "registry").await.value(), b"two");

    // Names.
    let other = fetch(&state, "registrar/other").await;
    state.store(&other.mutate(b"x".to_vec())).await.unwrap().unwrap().expect("swapped");
    let names: BTreeSet<String> = state.names().await.unwrap().unwrap();
    assert_eq!(names, BTreeSet::from(["registry".to_string(), "registrar/other".to_string()]));

    // FetchAndStoreAndExpungeAndExpunge: a stale version does not expunge, the current does,
    // once.
    assert!(!state.expunge(&stored).await.unwrap().unwrap());
    assert!(state.expunge(&stored2).await.unwrap().unwrap());
    assert!(!state.expunge(&stored2).await.unwrap().unwrap());

    // FetchAndStoreAndExpungeAndFetch: after expunge the variable is new again.
    assert!(fetch(&state, "registry").await.value().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_memory_state_semantics() {
    state_semantics(Arc::new(InMemoryStorage::new())).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn directory_state_semantics() {
    let dir = tempfile::tempdir().unwrap();
    state_semantics(Arc::new(DirectoryStorage::open(dir.path().join("state")).unwrap())).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn directory_entries_survive_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let stored = {
        let state = State::new(Arc::new(DirectoryStorage::open(dir.path()).unwrap()));
        let variable = fetch(&state, "registry").await;
        state.store(&variable.mutate(b"durable".to_vec())).await.unwrap().unwrap().unwrap()
    };
    let state = State::new(Arc::new(DirectoryStorage::open(dir.path()).unwrap()));
    let fetched = fetch(&state, "registry").await;
    assert_eq!(fetched.value(), b"durable");
    // The version survives too, so the old handle's next store still swaps.
    assert_eq!(fetched.uuid().unwrap(), stored.uuid().unwrap());
    assert!(state.store(&stored.mutate(b"next".to_vec())).await.unwrap().unwrap().is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_corrupt_entry_file_is_an_error_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let storage = DirectoryStorage::open(dir.path()).unwrap();
    std::fs::write(storage.path_of("registry"), b"\xff\xff\xff garbage").unwrap();
    let error = storage.get("registry").await.unwrap().unwrap_err();
    assert!(matches!(error, StorageError::Corrupt { .. }), "{error:?}");
    let text = error.to_string();
    assert!(text.starts_with("Failed to deserialize Entry from '") && text.contains("registry"), "{text}");

    // A set must not overwrite what it cannot read.
    let entry = Entry { name: "registry".into(), uuid: Uuid::random().as_bytes().to_vec(), value: vec![] };
    assert!(storage.set(entry, Uuid::random()).await.unwrap().is_err());

    // A well-formed entry filed under another name is corrupt as well.
    let stray = Entry { name: "other".into(), uuid: Uuid::random().as_bytes().to_vec(), value: vec![] };
    std::fs::write(storage.path_of("registry"), stray.encode_to_vec()).unwrap();
    let text = storage.get("registry").await.unwrap().unwrap_err().to_string();
    assert!(text.contains("it names entry 'other'"), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_temporary_file_left_by_a_crash_is_ignored_and_removed_on_open() {
    let dir = tempfile::tempdir().unwrap();
    let storage = DirectoryStorage::open(dir.path()).unwrap();
    let state = State::new(Arc::new(storage.clone()));
    let variable = fetch(&state, "registry").await;
    state.store(&variable.mutate(b"committed".to_vec())).await.unwrap().unwrap().unwrap();

    // A crash between writing the temporary file and renaming it leaves this behind.
    let tmp = dir.path().join("registry.tmp");
    std::fs::write(&tmp, b"half-written").unwrap();
    assert_eq!(fetch(&state, "registry").await.value(), b"committed");
    assert_eq!(state.names().await.unwrap().unwrap(), BTreeSet::from(["registry".to_string()]));

    // Reopening (a restart) cleans it up and keeps the committed entry.
    let reopened = State::new(Arc::new(DirectoryStorage::open(dir.path()).unwrap()));
    assert!(!tmp.exists());
    assert_eq!(fetch(&reopened, "registry").await.value(), b"committed");
}

#[test]
fn open_reports_an_unusable_directory() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("a-file");
    std::fs::write(&file, b"").unwrap();
    let error = DirectoryStorage::open(file.join("state")).err().expect("cannot create a directory under a file");
    assert!(matches!(error, StorageError::Io { operation: "Creating directory", .. }), "{error:?}");
}

#[test]
fn storage_works_outside_a_runtime() {
    // Without tokio, the work runs on the caller's thread (no actor thread to protect).
    let dir = tempfile::tempdir().unwrap();
    let storage = DirectoryStorage::open(dir.path()).unwrap();
    let entry = Entry { name: "n".into(), uuid: Uuid::random().as_bytes().to_vec(), value: b"v".to_vec() };
    assert!(storage.set(entry.clone(), Uuid::random()).try_take().unwrap().unwrap().unwrap());
    assert_eq!(storage.get("n").try_take().unwrap().unwrap().unwrap(), Some(entry));
}
