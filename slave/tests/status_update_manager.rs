//! The task status update manager actor on a paused clock: what it forwards, when it retries, pausing, acknowledgements, cleanup and recovery from the checkpointed logs (the manager-level cases of `src/tests/task_status_update_manager_tests.cpp`).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use libprocess::{Config, Libprocess};
use mesos::internal::StatusUpdate;
use mesos::proto::{ContainerId, ExecutorId, FrameworkId, SlaveId, TaskId, TaskState, TaskStatus};
use mesos::state::Uuid;
use slave::status_update_manager::{CheckpointAt, RecoveredTask, StatusUpdateError, TaskStatusUpdateManager};

/// The updates the manager handed to the agent to send, in order.
type Sent = Arc<Mutex<Vec<StatusUpdate>>>;

async fn instance() -> Libprocess {
    let config = Config { ip: Some(std::net::Ipv4Addr::LOCALHOST), ..Config::default() };
    let lp = Libprocess::initialize(config).await.expect("libprocess starts");
    lp.clock().pause();
    lp
}

async fn within<F: std::future::Future>(future: F) -> F::Output {
    tokio::time::timeout(Duration::from_secs(10), future).await.expect("in time")
}

fn manager(lp: &Libprocess, work_dir: &std::path::Path) -> (TaskStatusUpdateManager, Sent) {
    let manager = TaskStatusUpdateManager::create(lp, work_dir).expect("spawns");
    let sent: Sent = Arc::default();
    let sink = sent.clone();
    manager.initialize(Box::new(move |update| sink.lock().unwrap().push(update)));
    (manager, sent)
}

fn slave_id() -> SlaveId {
    SlaveId { value: "S0".into() }
}

fn framework_id() -> FrameworkId {
    FrameworkId { value: "F0".into() }
}

fn run() -> CheckpointAt {
    CheckpointAt {
        executor_id: ExecutorId { value: "E0".into() },
        container_id: ContainerId { value: "C0".into(), ..Default::default() },
    }
}

fn update(task: &str, state: TaskState) -> StatusUpdate {
    StatusUpdate {
        framework_id: framework_id(),
        executor_id: Some(ExecutorId { value: "E0".into() }),
        slave_id: Some(slave_id()),
        status: TaskStatus { task_id: TaskId { value: task.into() }, state: state as i32, ..Default::default() },
        timestamp: 1.0,
        uuid: Some(Uuid::random().as_bytes().to_vec()),
        latest_state: None,
    }
}

fn uuid(update: &StatusUpdate) -> Uuid {
    Uuid::from_bytes(update.uuid.as_deref().unwrap()).unwrap()
}

fn task(name: &str) -> TaskId {
    TaskId { value: name.into() }
}

/// The uuids sent so far.
fn sent_uuids(sent: &Sent) -> Vec<Uuid> {
    sent.lock().unwrap().iter().map(uuid).collect()
}

async fn advance(lp: &Libprocess, by: Duration) {
    lp.clock().advance(by);
    lp.settle().await;
}

#[tokio::test]
async fn the_first_update_goes_out_at_once_and_the_next_after_the_ack() {
    let lp = instance().await;
    let dir = tempfile::tempdir().unwrap();
    let (manager, sent) = manager(&lp, dir.path());
    let running = update("t1", TaskState::TaskRunning);
    let finished = update("t1", TaskState::TaskFinished);
    within(manager.update(running.clone(), slave_id(), None)).await.unwrap().unwrap();
    within(manager.update(finished.clone(), slave_id(), None)).await.unwrap().unwrap();
    lp.settle().await;
    assert_eq!(sent_uuids(&sent), [uuid(&running)]);

    let goes_on = within(manager.acknowledgement(task("t1"), framework_id(), uuid(&running))).await.unwrap().unwrap();
    assert!(goes_on);
    assert_eq!(sent_uuids(&sent), [uuid(&running), uuid(&finished)]);

    // The terminal update's acknowledgement ends the stream.
    let goes_on = within(manager.acknowledgement(task("t1"), framework_id(), uuid(&finished))).await.unwrap().unwrap();
    assert!(!goes_on);
    assert!(within(manager.pending()).await.unwrap().is_empty());
    let late = within(manager.acknowledgement(task("t1"), framework_id(), uuid(&finished))).await.unwrap();
    assert!(matches!(late, Err(StatusUpdateError::UnknownStream { .. })), "{late:?}");
    lp.shutdown().await;
}

/// C++ `TaskStatusUpdateManagerTest.RetryStatusUpdate`, at the manager: unacknowledged, the
/// head goes out again after 10 s, then 20 s more, then 40 s more.
#[tokio::test]
async fn retry_status_update() {
    let lp = instance().await;
    let dir = tempfile::tempdir().unwrap();
    let (manager, sent) = manager(&lp, dir.path());
    let running = update("t1", TaskState::TaskRunning);
    within(manager.update(running.clone(), slave_id(), Some(run()))).await.unwrap().unwrap();
    lp.settle().await;
    assert_eq!(sent.lock().unwrap().len(), 1);

    advance(&lp, Duration::from_secs(9)).await;
    assert_eq!(sent.lock().unwrap().len(), 1, "not before 10 s");
    advance(&lp, Duration::from_secs(1)).await;
    assert_eq!(sent.lock().unwrap().len(), 2);
    advance(&lp, Duration::from_secs(19)).await;
    assert_eq!(sent.lock().unwrap().len(), 2, "the second interval is 20 s");
    advance(&lp, Duration::from_secs(1)).await;
    assert_eq!(sent.lock().unwrap().len(), 3);
    advance(&lp, Duration::from_secs(40)).await;
    assert_eq!(sent_uuids(&sent), [uuid(&running); 4]);

    // Acknowledged, nothing goes out any more.
    within(manager.acknowledgement(task("t1"), framework_id(), uuid(&running))).await.unwrap().unwrap();
    advance(&lp, Duration::from_secs(600)).await;
    assert_eq!(sent.lock().unwrap().len(), 4);
    lp.shutdown().await;
}

/// C++ `IgnoreDuplicateStatusUpdateAck` and `IgnoreUnexpectedStatusUpdateAck`, at the
/// manager: both fail with C++'s text, and the stream carries on.
#[tokio::test]
async fn duplicate_and_unexpected_acknowledgements_fail_and_change_nothing() {
    let lp = instance().await;
    let dir = tempfile::tempdir().unwrap();
    let (manager, sent) = manager(&lp, dir.path());
    let running = update("t1", TaskState::TaskRunning);
    let finished = update("t1", TaskState::TaskFinished);
    within(manager.update(running.clone(), slave_id(), None)).await.unwrap().unwrap();
    within(manager.update(finished.clone(), slave_id(), None)).await.unwrap().unwrap();

    let unexpected = within(manager.acknowledgement(task("t1"), framework_id(), Uuid::random())).await.unwrap();
    assert_eq!(unexpected.unwrap_err().to_string(), "Duplicate task status acknowledgement");
    within(manager.acknowledgement(task("t1"), framework_id(), uuid(&running))).await.unwrap().unwrap();
    let again = within(manager.acknowledgement(task("t1"), framework_id(), uuid(&running))).await.unwrap();
    assert!(matches!(again, Err(StatusUpdateError::DuplicateAcknowledgement)), "{again:?}");

    let pending = within(manager.pending()).await.unwrap();
    assert_eq!(pending.len(), 1);
    assert_eq!(pending[0].2.iter().map(uuid).collect::<Vec<_>>(), [uuid(&finished)]);
    assert_eq!(sent_uuids(&sent), [uuid(&running), uuid(&finished)]);
    lp.shutdown().await;
}

#[tokio::test]
async fn a_duplicate_update_is_accepted_but_not_sent_again() {
    let lp = instance().await;
    let dir = tempfile::tempdir().unwrap();
    let (manager, sent) = manager(&lp, dir.path());
    let running = update("t1", TaskState::TaskRunning);
    within(manager.update(running.clone(), slave_id(), None)).await.unwrap().unwrap();
    // The executor retried: the agent still acknowledges it to the executor.
    within(manager.update(running.clone(), slave_id(), None)).await.unwrap().unwrap();
    lp.settle().await;
    assert_eq!(sent_uuids(&sent), [uuid(&running)]);
    lp.shutdown().await;
}

#[tokio::test]
async fn paused_nothing_is_sent_and_resume_sends_every_head() {
    let lp = instance().await;
    let dir = tempfile::tempdir().unwrap();
    let (manager, sent) = manager(&lp, dir.path());
    manager.pause();
    let first = update("t1", TaskState::TaskRunning);
    let second = update("t2", TaskState::TaskRunning);
    within(manager.update(first.clone(), slave_id(), None)).await.unwrap().unwrap();
    within(manager.update(second.clone(), slave_id(), None)).await.unwrap().unwrap();
    advance(&lp, Duration::from_secs(60)).await;
    assert!(sent.lock().unwrap().is_empty(), "nothing goes out while paused");

    manager.resume();
    lp.settle().await;
    let heads = sent_uuids(&sent);
    assert_eq!(heads.len(), 2);
    assert!(heads.contains(&uuid(&first)) && heads.contains(&uuid(&second)), "both heads go out");

    // Retries resume too, 10 s after the resume.
    advance(&lp, Duration::from_secs(10)).await;
    assert_eq!(sent.lock().unwrap().len(), 4);
    lp.shutdown().await;
}

#[tokio::test]
async fn paused_retries_stop_and_an_ack_does_not_send_the_next() {
    let lp = instance().await;
    let dir = tempfile::tempdir().unwrap();
    let (manager, sent) = manager(&lp, dir.path());
    let running = update("t1", TaskState::TaskRunning);
    let finished = update("t1", TaskState::TaskFinished);
    within(manager.update(running.clone(), slave_id(), None)).await.unwrap().unwrap();
    within(manager.update(finished.clone(), slave_id(), None)).await.unwrap().unwrap();
    manager.pause();
    advance(&lp, Duration::from_secs(30)).await;
    within(manager.acknowledgement(task("t1"), framework_id(), uuid(&running))).await.unwrap().unwrap();
    lp.settle().await;
    assert_eq!(sent_uuids(&sent), [uuid(&running)]);
    manager.resume();
    lp.settle().await;
    assert_eq!(sent_uuids(&sent), [uuid(&running), uuid(&finished)]);
    lp.shutdown().await;
}

#[tokio::test]
async fn cleanup_drops_the_frameworks_streams() {
    let lp = instance().await;
    let dir = tempfile::tempdir().unwrap();
    let (manager, sent) = manager(&lp, dir.path());
    let running = update("t1", TaskState::TaskRunning);
    within(manager.update(running.clone(), slave_id(), None)).await.unwrap().unwrap();
    manager.cleanup(framework_id());
    assert!(within(manager.pending()).await.unwrap().is_empty());
    advance(&lp, Duration::from_secs(10)).await;
    assert_eq!(sent.lock().unwrap().len(), 1, "no retry of a dropped stream");
    let ack = within(manager.acknowledgement(task("t1"), framework_id(), uuid(&running))).await.unwrap();
    assert!(matches!(ack, Err(StatusUpdateError::UnknownStream { .. })), "{ack:?}");
    lp.shutdown().await;
}

#[tokio::test]
async fn a_task_cannot_switch_between_checkpointed_and_not() {
    let lp = instance().await;
    let dir = tempfile::tempdir().unwrap();
    let (manager, _sent) = manager(&lp, dir.path());
    within(manager.update(update("t1", TaskState::TaskRunning), slave_id(), Some(run()))).await.unwrap().unwrap();
    let mismatch = within(manager.update(update("t1", TaskState::TaskFinished), slave_id(), None)).await.unwrap();
    assert!(matches!(mismatch, Err(StatusUpdateError::CheckpointMismatch { expected: true, actual: false, .. })));
    lp.shutdown().await;
}

/// C++ `CheckpointStatusUpdate` across an agent restart: a new manager over the same work
/// directory rebuilds the pending updates from the logs and sends the head on resume;
/// a task whose terminal update was acknowledged comes back as nothing.
#[tokio::test]
async fn recovery_rebuilds_pending_streams_from_the_logs() {
    let dir = tempfile::tempdir().unwrap();
    let running = update("t1", TaskState::TaskRunning);
    let finished = update("t1", TaskState::TaskFinished);
    let done = update("t2", TaskState::TaskFinished);
    {
        let lp = instance().await;
        let (manager, _sent) = manager(&lp, dir.path());
        within(manager.update(running.clone(), slave_id(), Some(run()))).await.unwrap().unwrap();
        within(manager.update(finished.clone(), slave_id(), Some(run()))).await.unwrap().unwrap();
        within(manager.acknowledgement(task("t1"), framework_id(), uuid(&running))).await.unwrap().unwrap();
        within(manager.update(done.clone(), slave_id(), Some(run()))).await.unwrap().unwrap();
        let ended = within(manager.acknowledgement(task("t2"), framework_id(), uuid(&done))).await.unwrap().unwrap();
        assert!(!ended);
        lp.shutdown().await;
    }

    let lp = instance().await;
    let (manager, sent) = manager(&lp, dir.path());
    manager.pause();
    let recovered = |name: &str| RecoveredTask {
        framework_id: framework_id(),
        executor_id: run().executor_id,
        container_id: run().container_id,
        task_id: task(name),
    };
    // `t3` never had an update: it has no log, and gets no stream.
    let tasks = vec![recovered("t1"), recovered("t2"), recovered("t3")];
    within(manager.recover(slave_id(), tasks)).await.unwrap().unwrap();
    let pending = within(manager.pending()).await.unwrap();
    assert_eq!(pending.len(), 1, "{pending:?}");
    assert_eq!(pending[0].1, task("t1"));
    assert_eq!(pending[0].2.iter().map(uuid).collect::<Vec<_>>(), [uuid(&finished)]);
    assert!(sent.lock().unwrap().is_empty(), "nothing goes out before resume");

    manager.resume();
    lp.settle().await;
    assert_eq!(sent_uuids(&sent), [uuid(&finished)]);
    // The recovered stream still knows what it was sent: a retried update is a duplicate.
    within(manager.update(running.clone(), slave_id(), Some(run()))).await.unwrap().unwrap();
    lp.settle().await;
    assert_eq!(sent.lock().unwrap().len(), 1);
    let ended = within(manager.acknowledgement(task("t1"), framework_id(), uuid(&finished))).await.unwrap().unwrap();
    assert!(!ended);
    lp.shutdown().await;
}

#[tokio::test]
async fn a_damaged_log_fails_recovery_with_the_task_named() {
    let dir = tempfile::tempdir().unwrap();
    let path = slave::paths::task_updates_path(
        &slave::paths::meta_root_dir(dir.path()),
        &slave_id(),
        &framework_id(),
        &run().executor_id,
        &run().container_id,
        &task("t1"),
    );
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    // A whole record of 8 bytes that is not a StatusUpdateRecord.
    let mut bytes = 8u32.to_ne_bytes().to_vec();
    bytes.extend_from_slice(&[0xff; 8]);
    std::fs::write(&path, bytes).unwrap();

    let lp = instance().await;
    let (manager, _sent) = manager(&lp, dir.path());
    let task = RecoveredTask {
        framework_id: framework_id(),
        executor_id: run().executor_id,
        container_id: run().container_id,
        task_id: task("t1"),
    };
    let result = within(manager.recover(slave_id(), vec![task])).await.unwrap();
    let error = result.unwrap_err().to_string();
    assert!(error.starts_with("Failed to replay status updates for task t1 of framework F0"), "{error}");
    lp.shutdown().await;
}
