//! The registrar as a real actor on a paused clock: upstream `RegistrarTest` cases ported by name (`Recover`, `Admit`, `UpdateSlave`, `MarkReachable`, `MarkUnreachable`, `MarkGone`, `MarkUnreachableGone`, `Prune`, `Remove`, `UpdateWeights`, `Bootstrap`, `FetchTimeout`, `StoreTimeout`, `Abort`), batching, version mismatch, restart on the durable backend, corrupt files.

mod common;

use std::collections::{HashSet, VecDeque};
use std::sync::{Arc, Mutex};

use common::{instance, within};
use libprocess::{Future, Libprocess, Promise};
use master::registrar::{Registrar, RegistrarFlags, DEFAULT_REGISTRY_FETCH_TIMEOUT, DEFAULT_REGISTRY_STORE_TIMEOUT};
use master::registry_operations::Operation;
use mesos::internal::Registry;
use mesos::proto::{MasterInfo, SlaveId, SlaveInfo, TimeInfo, WeightInfo};
use mesos::state::{DirectoryStorage, Entry, InMemoryStorage, State, Storage, StorageFuture, Uuid};

fn master_info() -> MasterInfo {
    MasterInfo {
        id: "master-1".into(),
        ip: 0x0100_007f,
        port: 5050,
        pid: Some("master@127.0.0.1:5050".into()),
        hostname: Some("localhost".into()),
        ..Default::default()
    }
}

fn id(value: &str) -> SlaveId {
    SlaveId { value: value.into() }
}

fn slave(value: &str) -> SlaveInfo {
    SlaveInfo { hostname: "localhost".into(), id: Some(id(value)), ..Default::default() }
}

fn now() -> TimeInfo {
    TimeInfo { nanoseconds: 1_700_000_000_000_000_000 }
}

async fn ok<T: Send + 'static>(future: Future<T>) -> T {
    within(future).await.expect("future failed")
}

async fn failure<T: Send + std::fmt::Debug + 'static>(future: Future<T>) -> String {
    match within(future).await {
        Ok(value) => panic!("expected a failure, got {value:?}"),
        Err(failure) => failure.to_string(),
    }
}

fn in_memory() -> State {
    State::new(Arc::new(InMemoryStorage::new()))
}

fn admitted_ids(registry: &Registry) -> Vec<String> {
    registry.slaves.iter().flat_map(|s| &s.slaves).map(|s| s.info.id.clone().unwrap().value).collect()
}

fn unreachable_ids(registry: &Registry) -> Vec<String> {
    registry.unreachable.iter().flat_map(|s| &s.slaves).map(|s| s.id.value.clone()).collect()
}

fn gone_ids(registry: &Registry) -> Vec<String> {
    registry.gone.iter().flat_map(|s| &s.slaves).map(|s| s.id.value.clone()).collect()
}

/// A fresh registrar's view of what `state` holds (upstream re-creates the registrar to look).
async fn reread(lp: &Libprocess, state: &State) -> Registry {
    let registrar = Registrar::new(lp, RegistrarFlags::default(), state.clone()).unwrap();
    ok(registrar.recover(master_info())).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recover() {
    let lp = instance().await;
    let registrar = Registrar::new(&lp, RegistrarFlags::default(), in_memory()).unwrap();
    assert!(registrar.pid().id().starts_with("registrar("));

    // Operations before recovery fail.
    let before = failure(registrar.apply(Operation::AdmitSlave(slave("1")))).await;
    assert_eq!(before, "Attempted to apply the operation before recovering");
    failure(registrar.apply(Operation::MarkSlaveUnreachable { info: slave("1"), unreachable_time: now() })).await;
    failure(registrar.apply(Operation::MarkSlaveReachable(slave("1")))).await;
    failure(registrar.apply(Operation::RemoveSlave(slave("1")))).await;

    // Operations applied while recovery runs wait for it, and then apply in order.
    let registry = registrar.recover(master_info());
    let admit = registrar.apply(Operation::AdmitSlave(slave("1")));
    let unreachable = registrar.apply(Operation::MarkSlaveUnreachable { info: slave("1"), unreachable_time: now() });
    let reachable = registrar.apply(Operation::MarkSlaveReachable(slave("1")));
    let remove = registrar.apply(Operation::RemoveSlave(slave("1")));

    let registry = ok(registry).await;
    assert_eq!(registry.master.unwrap().info, master_info());
    assert!(ok(admit).await);
    assert!(ok(unreachable).await);
    assert!(ok(reachable).await);
    assert!(ok(remove).await);

    // A second recover answers with the registry as recovered.
    let again = ok(registrar.recover(master_info())).await;
    assert!(admitted_ids(&again).is_empty());
    within(lp.settle()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admit() {
    let lp = instance().await;
    let registrar = Registrar::new(&lp, RegistrarFlags::default(), in_memory()).unwrap();
    ok(registrar.recover(master_info())).await;

    assert!(ok(registrar.apply(Operation::AdmitSlave(slave("1")))).await);
    assert!(!ok(registrar.apply(Operation::AdmitSlave(slave("1")))).await);

    // An agent without an id cannot be admitted (C++ CHECK-fails; here the operation fails).
    let mut anonymous = slave("x");
    anonymous.id = None;
    assert!(!ok(registrar.apply(Operation::AdmitSlave(anonymous))).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn update_slave() {
    let lp = instance().await;
    let dir = tempfile::tempdir().unwrap();
    let state = || State::new(Arc::new(DirectoryStorage::open(dir.path()).unwrap()));

    let mut info = slave("1");
    {
        let registrar = Registrar::new(&lp, RegistrarFlags::default(), state()).unwrap();
        ok(registrar.recover(master_info())).await;
        info.hostname = "original".into();
        assert!(ok(registrar.apply(Operation::AdmitSlave(info.clone()))).await);
    }
    {
        let registrar = Registrar::new(&lp, RegistrarFlags::default(), state()).unwrap();
        let registry = ok(registrar.recover(master_info())).await;
        let slaves = &registry.slaves.as_ref().unwrap().slaves;
        assert_eq!(slaves.len(), 1);
        assert_eq!(slaves[0].info.hostname, "original");
        info.hostname = "changed".into();
        assert!(ok(registrar.apply(Operation::UpdateSlave(info.clone()))).await);
    }
    {
        let registrar = Registrar::new(&lp, RegistrarFlags::default(), state()).unwrap();
        let registry = ok(registrar.recover(master_info())).await;
        assert_eq!(registry.slaves.as_ref().unwrap().slaves[0].info.hostname, "changed");
        // Idempotent: the same update again succeeds and changes nothing.
        assert!(ok(registrar.apply(Operation::UpdateSlave(info.clone()))).await);
        // Updating an agent that was never admitted fails.
        assert!(!ok(registrar.apply(Operation::UpdateSlave(slave("2")))).await);
    }
    let registry = reread(&lp, &state()).await;
    assert_eq!(registry.slaves.as_ref().unwrap().slaves.len(), 1);
    assert_eq!(registry.slaves.as_ref().unwrap().slaves[0].info.hostname, "changed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mark_reachable() {
    let lp = instance().await;
    let registrar = Registrar::new(&lp, RegistrarFlags::default(), in_memory()).unwrap();
    ok(registrar.recover(master_info())).await;

    assert!(ok(registrar.apply(Operation::AdmitSlave(slave("1")))).await);
    // Marking an admitted agent reachable is not an error.
    assert!(ok(registrar.apply(Operation::MarkSlaveReachable(slave("1")))).await);
    assert!(ok(registrar.apply(Operation::MarkSlaveReachable(slave("1")))).await);
    // Nor is marking reachable an agent that is in no list.
    assert!(ok(registrar.apply(Operation::MarkSlaveReachable(slave("2")))).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mark_unreachable() {
    let lp = instance().await;
    let state = in_memory();
    let registrar = Registrar::new(&lp, RegistrarFlags::default(), state.clone()).unwrap();
    ok(registrar.recover(master_info())).await;

    let unreachable = || Operation::MarkSlaveUnreachable { info: slave("1"), unreachable_time: now() };
    assert!(ok(registrar.apply(Operation::AdmitSlave(slave("1")))).await);
    assert!(ok(registrar.apply(unreachable())).await);
    assert!(ok(registrar.apply(Operation::MarkSlaveReachable(slave("1")))).await);
    assert!(ok(registrar.apply(unreachable())).await);
    // Already unreachable: marking it again fails.
    assert!(!ok(registrar.apply(unreachable())).await);
    drop(registrar);

    let registry = reread(&lp, &state).await;
    assert!(admitted_ids(&registry).is_empty());
    assert_eq!(unreachable_ids(&registry), ["1"]);
    let entry = &registry.unreachable.as_ref().unwrap().slaves[0];
    assert_eq!(entry.timestamp, now());
    assert_eq!(entry.deactivated, Some(false));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mark_gone() {
    let lp = instance().await;
    let registrar = Registrar::new(&lp, RegistrarFlags::default(), in_memory()).unwrap();
    ok(registrar.recover(master_info())).await;
    assert!(ok(registrar.apply(Operation::AdmitSlave(slave("1")))).await);
    assert!(ok(registrar.apply(Operation::MarkSlaveGone { id: id("1"), gone_time: now() })).await);
    // Unknown agents cannot be marked gone.
    assert!(!ok(registrar.apply(Operation::MarkSlaveGone { id: id("2"), gone_time: now() })).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mark_unreachable_gone() {
    let lp = instance().await;
    let state = in_memory();
    let registrar = Registrar::new(&lp, RegistrarFlags::default(), state.clone()).unwrap();
    ok(registrar.recover(master_info())).await;
    assert!(ok(registrar.apply(Operation::AdmitSlave(slave("1")))).await);
    assert!(ok(registrar.apply(Operation::MarkSlaveUnreachable { info: slave("1"), unreachable_time: now() })).await);
    assert!(ok(registrar.apply(Operation::MarkSlaveGone { id: id("1"), gone_time: now() })).await);
    // Gone is final: neither gone again nor unreachable.
    assert!(!ok(registrar.apply(Operation::MarkSlaveGone { id: id("1"), gone_time: now() })).await);
    assert!(!ok(registrar.apply(Operation::MarkSlaveUnreachable { info: slave("1"), unreachable_time: now() })).await);
    drop(registrar);

    let registry = reread(&lp, &state).await;
    assert!(admitted_ids(&registry).is_empty());
    assert!(unreachable_ids(&registry).is_empty());
    assert_eq!(gone_ids(&registry), ["1"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prune() {
    let lp = instance().await;
    let state = in_memory();
    let registrar = Registrar::new(&lp, RegistrarFlags::default(), state.clone()).unwrap();
    ok(registrar.recover(master_info())).await;

    let prune = |unreachable: &[&str], gone: &[&str]| Operation::Prune {
        unreachable: unreachable.iter().map(|v| id(v)).collect::<HashSet<_>>(),
        gone: gone.iter().map(|v| id(v)).collect::<HashSet<_>>(),
    };
    for _ in 0..2 {
        for value in ["1", "2", "3"] {
            assert!(ok(registrar.apply(Operation::AdmitSlave(slave(value)))).await);
        }
        for value in ["1", "2"] {
            let operation = Operation::MarkSlaveUnreachable { info: slave(value), unreachable_time: now() };
            assert!(ok(registrar.apply(operation)).await);
        }
        assert!(ok(registrar.apply(Operation::MarkSlaveGone { id: id("3"), gone_time: now() })).await);

        assert!(ok(registrar.apply(prune(&["1"], &[]))).await);
        assert!(ok(registrar.apply(prune(&["2"], &[]))).await);
        assert!(ok(registrar.apply(prune(&[], &["3"]))).await);
        // Pruning what is not there is fine.
        assert!(ok(registrar.apply(prune(&["1", "9"], &["9"]))).await);
    }
    drop(registrar);
    let registry = reread(&lp, &state).await;
    assert!(admitted_ids(&registry).is_empty());
    assert!(unreachable_ids(&registry).is_empty());
    assert!(gone_ids(&registry).is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prune_removes_only_the_named_entries() {
    // Upstream's loop deletes `i + 1` entries at index `i`; the intent is one.
    let lp = instance().await;
    let state = in_memory();
    let registrar = Registrar::new(&lp, RegistrarFlags::default(), state.clone()).unwrap();
    ok(registrar.recover(master_info())).await;
    for value in ["1", "2", "3", "4"] {
        assert!(ok(registrar.apply(Operation::AdmitSlave(slave(value)))).await);
        let operation = Operation::MarkSlaveUnreachable { info: slave(value), unreachable_time: now() };
        assert!(ok(registrar.apply(operation)).await);
    }
    let prune = Operation::Prune { unreachable: HashSet::from([id("2")]), gone: HashSet::new() };
    assert!(ok(registrar.apply(prune)).await);
    drop(registrar);
    assert_eq!(unreachable_ids(&reread(&lp, &state).await), ["1", "3", "4"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn remove() {
    let lp = instance().await;
    let registrar = Registrar::new(&lp, RegistrarFlags::default(), in_memory()).unwrap();
    ok(registrar.recover(master_info())).await;

    for value in ["1", "2", "3"] {
        assert!(ok(registrar.apply(Operation::AdmitSlave(slave(value)))).await);
    }
    assert!(ok(registrar.apply(Operation::RemoveSlave(slave("1")))).await);
    assert!(!ok(registrar.apply(Operation::RemoveSlave(slave("1")))).await);
    assert!(ok(registrar.apply(Operation::AdmitSlave(slave("1")))).await);
    assert!(ok(registrar.apply(Operation::RemoveSlave(slave("2")))).await);
    assert!(!ok(registrar.apply(Operation::RemoveSlave(slave("2")))).await);
    assert!(ok(registrar.apply(Operation::RemoveSlave(slave("3")))).await);
    assert!(!ok(registrar.apply(Operation::RemoveSlave(slave("3")))).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn update_weights() {
    let lp = instance().await;
    let state = in_memory();
    let weight = |role: &str, weight: f64| WeightInfo { weight, role: Some(role.into()) };
    {
        let registrar = Registrar::new(&lp, RegistrarFlags::default(), state.clone()).unwrap();
        assert!(ok(registrar.recover(master_info())).await.weights.is_empty());
        assert!(ok(registrar.apply(Operation::UpdateWeights(vec![weight("role1", 2.0)]))).await);
    }
    {
        let registrar = Registrar::new(&lp, RegistrarFlags::default(), state.clone()).unwrap();
        let registry = ok(registrar.recover(master_info())).await;
        assert_eq!(registry.weights.len(), 1);
        assert_eq!(registry.weights[0].info, weight("role1", 2.0));
        let update = vec![weight("role1", 1.0), weight("role2", 3.5)];
        assert!(ok(registrar.apply(Operation::UpdateWeights(update))).await);
    }
    let registry = reread(&lp, &state).await;
    let weights: Vec<WeightInfo> = registry.weights.into_iter().map(|w| w.info).collect();
    assert_eq!(weights, [weight("role1", 1.0), weight("role2", 3.5)]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bootstrap() {
    // Run 1 reregisters an agent the registry does not know; run 2, after a restart on the
    // same directory, sees it admitted.
    let lp = instance().await;
    let dir = tempfile::tempdir().unwrap();
    {
        let state = State::new(Arc::new(DirectoryStorage::open(dir.path()).unwrap()));
        let registrar = Registrar::new(&lp, RegistrarFlags::default(), state).unwrap();
        ok(registrar.recover(master_info())).await;
        assert!(ok(registrar.apply(Operation::MarkSlaveReachable(slave("1")))).await);
    }
    let state = State::new(Arc::new(DirectoryStorage::open(dir.path()).unwrap()));
    let registrar = Registrar::new(&lp, RegistrarFlags::default(), state).unwrap();
    let registry = ok(registrar.recover(master_info())).await;
    assert_eq!(registry.slaves.as_ref().unwrap().slaves.len(), 1);
    assert_eq!(registry.slaves.as_ref().unwrap().slaves[0].info, slave("1"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restart_on_the_durable_backend_keeps_every_list_and_the_new_master() {
    let lp = instance().await;
    let dir = tempfile::tempdir().unwrap();
    let state = || State::new(Arc::new(DirectoryStorage::open(dir.path().join("registry")).unwrap()));
    {
        let registrar = Registrar::new(&lp, RegistrarFlags::default(), state()).unwrap();
        ok(registrar.recover(master_info())).await;
        for value in ["a", "b", "c", "d"] {
            assert!(ok(registrar.apply(Operation::AdmitSlave(slave(value)))).await);
        }
        assert!(
            ok(registrar.apply(Operation::MarkSlaveUnreachable { info: slave("b"), unreachable_time: now() })).await
        );
        assert!(ok(registrar.apply(Operation::MarkSlaveGone { id: id("c"), gone_time: now() })).await);
        assert!(ok(registrar.apply(Operation::RemoveSlave(slave("d")))).await);
    }
    let mut next = master_info();
    next.id = "master-2".into();
    let registrar = Registrar::new(&lp, RegistrarFlags::default(), state()).unwrap();
    let registry = ok(registrar.recover(next.clone())).await;
    assert_eq!(registry.master.as_ref().unwrap().info, next);
    assert_eq!(admitted_ids(&registry), ["a"]);
    assert_eq!(unreachable_ids(&registry), ["b"]);
    assert_eq!(gone_ids(&registry), ["c"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_corrupt_registry_on_disk_fails_recovery_with_a_clear_error() {
    let lp = instance().await;
    let dir = tempfile::tempdir().unwrap();
    let storage = DirectoryStorage::open(dir.path()).unwrap();

    // The file is not an `Entry` at all.
    std::fs::write(storage.path_of("registry"), b"\x0a\xff\xff not protobuf").unwrap();
    let registrar = Registrar::new(&lp, RegistrarFlags::default(), State::new(Arc::new(storage.clone()))).unwrap();
    let message = failure(registrar.recover(master_info())).await;
    assert!(message.starts_with("Failed to recover registrar: Failed to deserialize Entry from '"), "{message}");
    // The registrar stays failed.
    let message = failure(registrar.apply(Operation::AdmitSlave(slave("1")))).await;
    assert!(message.starts_with("Failed to recover registrar"), "{message}");

    // The file is an `Entry` whose value is not a `Registry`.
    let entry =
        Entry { name: "registry".into(), uuid: Uuid::random().as_bytes().to_vec(), value: b"\xff\xff\xff".to_vec() };
    std::fs::write(storage.path_of("registry"), prost::Message::encode_to_vec(&entry)).unwrap();
    let registrar = Registrar::new(&lp, RegistrarFlags::default(), State::new(Arc::new(storage))).unwrap();
    let message = failure(registrar.recover(master_info())).await;
    assert!(message.starts_with("Failed to recover registrar: Failed to deserialize the registry: "), "{message}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_master_writing_the_registry_aborts_the_registrar() {
    // Two registrars over one storage: the second recovery changes the version, so the
    // first one's next store finds a version mismatch.
    let lp = instance().await;
    let state = in_memory();
    let first = Registrar::new(&lp, RegistrarFlags::default(), state.clone()).unwrap();
    ok(first.recover(master_info())).await;
    let second = Registrar::new(&lp, RegistrarFlags::default(), state.clone()).unwrap();
    ok(second.recover(master_info())).await;

    let message = failure(first.apply(Operation::AdmitSlave(slave("1")))).await;
    assert_eq!(message, "Failed to update registry: version mismatch");
    assert_eq!(failure(first.apply(Operation::AdmitSlave(slave("2")))).await, message);
    // The second is unaffected.
    assert!(ok(second.apply(Operation::AdmitSlave(slave("1")))).await);
}

/// What a scripted `set` does.
enum SetStep {
    /// Pass through to the in-memory storage.
    Pass,
    Fail(&'static str),
    /// Park the call until the test releases it.
    Hold,
    /// Never answer.
    Never,
}

/// A `set` call parked by [`SetStep::Hold`].
type HeldSet = (Entry, Uuid, Promise<Result<bool, mesos::state::StorageError>>);

/// Storage whose `get`/`set` answers the test scripts (upstream uses a gmock `MockStorage`).
struct ScriptedStorage {
    inner: InMemoryStorage,
    get_never_answers: bool,
    steps: Mutex<VecDeque<SetStep>>,
    sets: Mutex<Vec<Entry>>,
    held: Mutex<Vec<HeldSet>>,
    /// Promises kept unanswered for `Never`.
    parked: Mutex<Vec<Box<dyn std::any::Any + Send>>>,
}

impl ScriptedStorage {
    fn new(get_never_answers: bool, steps: Vec<SetStep>) -> Arc<ScriptedStorage> {
        Arc::new(ScriptedStorage {
            inner: InMemoryStorage::new(),
            get_never_answers,
            steps: Mutex::new(steps.into()),
            sets: Mutex::new(Vec::new()),
            held: Mutex::new(Vec::new()),
            parked: Mutex::new(Vec::new()),
        })
    }

    fn set_calls(&self) -> usize {
        self.sets.lock().unwrap().len()
    }

    fn release_held(&self) {
        let held: Vec<_> = self.held.lock().unwrap().drain(..).collect();
        for (entry, uuid, promise) in held {
            promise.associate(self.inner.set(entry, uuid));
        }
    }
}

impl Storage for ScriptedStorage {
    fn get(&self, name: &str) -> StorageFuture<Option<Entry>> {
        if self.get_never_answers {
            let promise: Promise<Result<Option<Entry>, mesos::state::StorageError>> = Promise::new();
            let future = promise.future();
            self.parked.lock().unwrap().push(Box::new(promise));
            return future;
        }
        self.inner.get(name)
    }

    fn set(&self, entry: Entry, uuid: Uuid) -> StorageFuture<bool> {
        self.sets.lock().unwrap().push(entry.clone());
        let step = self.steps.lock().unwrap().pop_front().unwrap_or(SetStep::Pass);
        match step {
            SetStep::Pass => self.inner.set(entry, uuid),
            SetStep::Fail(message) => Future::ready(Err(mesos::state::StorageError::Io {
                operation: "Writing",
                path: "scripted".into(),
                source: std::io::Error::other(message),
            })),
            SetStep::Hold => {
                let promise = Promise::new();
                let future = promise.future();
                self.held.lock().unwrap().push((entry, uuid, promise));
                future
            }
            SetStep::Never => {
                let promise: Promise<Result<bool, mesos::state::StorageError>> = Promise::new();
                let future = promise.future();
                self.parked.lock().unwrap().push(Box::new(promise));
                future
            }
        }
    }

    fn expunge(&self, entry: Entry) -> StorageFuture<bool> {
        self.inner.expunge(entry)
    }

    fn names(&self) -> StorageFuture<std::collections::BTreeSet<String>> {
        self.inner.names()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fetch_timeout() {
    let lp = instance().await;
    let storage = ScriptedStorage::new(true, vec![]);
    let registrar = Registrar::new(&lp, RegistrarFlags::default(), State::new(storage.clone())).unwrap();
    let recover = registrar.recover(master_info());
    within(lp.settle()).await;
    assert!(!recover.is_ready());

    lp.clock().advance(DEFAULT_REGISTRY_FETCH_TIMEOUT);
    within(lp.settle()).await;
    assert_eq!(failure(recover).await, "Failed to recover registrar: Failed to perform fetch within 1mins");
    // Subsequent operations fail.
    failure(registrar.apply(Operation::AdmitSlave(slave("1")))).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn store_timeout() {
    let lp = instance().await;
    let storage = ScriptedStorage::new(false, vec![SetStep::Never]);
    let registrar = Registrar::new(&lp, RegistrarFlags::default(), State::new(storage.clone())).unwrap();
    let recover = registrar.recover(master_info());
    within(lp.settle()).await;
    assert_eq!(storage.set_calls(), 1);
    assert!(!recover.is_ready());

    lp.clock().advance(DEFAULT_REGISTRY_STORE_TIMEOUT);
    within(lp.settle()).await;
    assert_eq!(
        failure(recover).await,
        "Failed to recover registrar: Failed to persist MasterInfo: Failed to update registry: \
         Failed to perform store within 20secs"
    );
    failure(registrar.apply(Operation::AdmitSlave(slave("1")))).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn abort() {
    let lp = instance().await;
    let storage = ScriptedStorage::new(false, vec![SetStep::Pass, SetStep::Fail("disk on fire"), SetStep::Pass]);
    let registrar = Registrar::new(&lp, RegistrarFlags::default(), State::new(storage.clone())).unwrap();
    ok(registrar.recover(master_info())).await;

    // The storage failure fails the operation...
    let message = failure(registrar.apply(Operation::AdmitSlave(slave("1")))).await;
    assert_eq!(message, "Failed to update registry: Writing 'scripted' failed: disk on fire");
    // ...and the registrar for good, without touching the storage again.
    assert_eq!(failure(registrar.apply(Operation::AdmitSlave(slave("1")))).await, message);
    assert_eq!(storage.set_calls(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn operations_queued_during_a_store_are_applied_in_order_in_one_batch() {
    let lp = instance().await;
    let storage = ScriptedStorage::new(false, vec![SetStep::Pass, SetStep::Hold]);
    let registrar = Registrar::new(&lp, RegistrarFlags::default(), State::new(storage.clone())).unwrap();
    ok(registrar.recover(master_info())).await;
    assert_eq!(storage.set_calls(), 1);

    // The first admission's store is held; everything after it queues.
    let first = registrar.apply(Operation::AdmitSlave(slave("1")));
    within(lp.settle()).await;
    assert_eq!(storage.set_calls(), 2);
    let queued = vec![
        registrar.apply(Operation::AdmitSlave(slave("2"))),
        registrar.apply(Operation::AdmitSlave(slave("2"))),
        registrar.apply(Operation::MarkSlaveUnreachable { info: slave("1"), unreachable_time: now() }),
        registrar.apply(Operation::AdmitSlave(slave("3"))),
        registrar.apply(Operation::MarkSlaveReachable(slave("1"))),
    ];
    within(lp.settle()).await;
    assert_eq!(storage.set_calls(), 2, "nothing is stored while a store is in flight");
    assert!(!first.is_ready());

    storage.release_held();
    assert!(ok(first).await);
    let mut results = Vec::new();
    for future in queued {
        results.push(ok(future).await);
    }
    assert_eq!(results, [true, false, true, true, true]);
    // One store for the whole queue.
    assert_eq!(storage.set_calls(), 3);

    let registry = reread(&lp, &State::new(storage.clone())).await;
    assert_eq!(admitted_ids(&registry), ["2", "3", "1"]);
    assert!(unreachable_ids(&registry).is_empty());
}
