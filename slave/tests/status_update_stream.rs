//! `TaskStatusUpdateStream` on its own: the stream-level part of upstream's
//! `TaskStatusUpdateManagerTest` cases (`src/tests/task_status_update_manager_tests.cpp`),
//! ported by name, plus crash recovery, duplicates, out-of-order acknowledgements, updates
//! after a terminal one, the retry backoff, bad input, and a property test that recovery
//! rebuilds the live stream.

use std::collections::HashSet;
use std::fs::{self, OpenOptions};
use std::path::{Path, PathBuf};
use std::time::Duration;

use libprocess::Time;
use mesos::internal::status_update_record::Type as RecordType;
use mesos::internal::{StatusUpdate, StatusUpdateRecord};
use mesos::proto::{ContainerId, ExecutorId, FrameworkId, SlaveId, TaskId, TaskState, TaskStatus};
use mesos::protobuf_io::{encode_record, RecordReader};
use mesos::state::Uuid;
use proptest::prelude::*;
use slave::constants::{STATUS_UPDATE_RETRY_INTERVAL_MAX, STATUS_UPDATE_RETRY_INTERVAL_MIN};
use slave::paths;
use slave::state::{recover_task_updates, StateError};
use slave::status_update_manager::{AckOutcome, Forward, StatusUpdateError, TaskStatusUpdateStream, UpdateOutcome};

const FRAMEWORK: &str = "20240101-000000-1-5050-0000";
const TASK: &str = "task-1";

fn framework_id() -> FrameworkId {
    FrameworkId { value: FRAMEWORK.into() }
}

fn task_id() -> TaskId {
    TaskId { value: TASK.into() }
}

/// An update from the executor for the test task, with a fresh uuid.
fn update(state: TaskState) -> StatusUpdate {
    update_with(state, Uuid::random())
}

fn update_with(state: TaskState, uuid: Uuid) -> StatusUpdate {
    StatusUpdate {
        framework_id: framework_id(),
        executor_id: Some(ExecutorId { value: "default".into() }),
        slave_id: Some(SlaveId { value: "S0".into() }),
        status: TaskStatus { task_id: task_id(), state: state as i32, ..Default::default() },
        timestamp: 1.0,
        uuid: Some(uuid.as_bytes().to_vec()),
        latest_state: None,
    }
}

fn uuid(update: &StatusUpdate) -> Uuid {
    Uuid::from_bytes(update.uuid.as_deref().unwrap()).unwrap()
}

fn at(seconds: u64) -> Time {
    Time(Duration::from_secs(1_700_000_000 + seconds))
}

/// The `task.updates` of the test task under a fresh work directory.
fn updates_path(work_dir: &Path) -> PathBuf {
    paths::task_updates_path(
        &paths::meta_root_dir(work_dir),
        &SlaveId { value: "S0".into() },
        &framework_id(),
        &ExecutorId { value: "default".into() },
        &ContainerId { value: "c1".into(), parent: None },
        &task_id(),
    )
}

fn checkpointed(work_dir: &Path) -> TaskStatusUpdateStream {
    TaskStatusUpdateStream::new(framework_id(), task_id(), Some(updates_path(work_dir))).unwrap()
}

fn in_memory() -> TaskStatusUpdateStream {
    TaskStatusUpdateStream::new(framework_id(), task_id(), None).unwrap()
}

fn pending_uuids(stream: &TaskStatusUpdateStream) -> Vec<Uuid> {
    stream.pending().iter().map(uuid).collect()
}

/// Every record of a `task.updates` file.
fn records(path: &Path) -> Vec<StatusUpdateRecord> {
    let mut reader = RecordReader::new(fs::File::open(path).unwrap());
    let mut records = Vec::new();
    while let Some(record) = reader.read::<StatusUpdateRecord>().unwrap() {
        records.push(record);
    }
    records
}

fn sent(forward: Option<Forward>) -> (Uuid, Duration) {
    let forward = forward.expect("an update to send");
    (uuid(&forward.update), forward.retry_after)
}

// ---- Upstream's cases, stream part --------------------------------------------------------

/// Upstream: a RUNNING update of a checkpointing framework, acknowledged, leaves one update
/// and one acknowledgement in the task's checkpointed state.
#[test]
fn checkpoint_status_update() {
    let dir = tempfile::tempdir().unwrap();
    let mut stream = checkpointed(dir.path());
    let running = update(TaskState::TaskRunning);
    assert_eq!(stream.update(running.clone(), true).unwrap(), UpdateOutcome::Queued { head: true });
    assert_eq!(sent(stream.forward(at(0))), (uuid(&running), STATUS_UPDATE_RETRY_INTERVAL_MIN));
    assert_eq!(stream.acknowledgement(uuid(&running)).unwrap(), AckOutcome::Acknowledged { terminated: false });

    let state = recover_task_updates(&updates_path(dir.path()), true).unwrap();
    assert_eq!(state.updates, vec![running]);
    assert_eq!(state.acks, HashSet::from([uuid(&state.updates[0])]));
    assert_eq!(state.errors, 0);
    assert!(!state.truncated);
}

/// Upstream: the master drops the first RUNNING; after `STATUS_UPDATE_RETRY_INTERVAL_MIN`
/// the agent sends it again and the scheduler gets it.
#[test]
fn retry_status_update() {
    let mut stream = in_memory();
    let running = update(TaskState::TaskRunning);
    stream.update(running.clone(), false).unwrap();
    sent(stream.forward(at(0)));

    // Not due a moment before the interval ends.
    assert_eq!(stream.timeout(at(9)), None);
    let again = stream.timeout(at(10)).expect("a retry at 10 s");
    assert_eq!(again.update, running);
    assert_eq!(again.retry_after, Duration::from_secs(20));
    assert_eq!(stream.pending().len(), 1);
}

/// Upstream: the scheduler's acknowledgement of RUNNING arrives a second time (the agent
/// acknowledged it once already, FINISHED is in flight): ignored, FINISHED stays in flight.
#[test]
fn ignore_duplicate_status_update_ack() {
    let mut stream = checkpointed(tempfile::tempdir().unwrap().path());
    let running = update(TaskState::TaskRunning);
    stream.update(running.clone(), true).unwrap();
    sent(stream.forward(at(0)));
    // The first send was dropped; the retry got through and was acknowledged.
    sent(stream.timeout(at(10)));
    assert_eq!(stream.acknowledgement(uuid(&running)).unwrap(), AckOutcome::Acknowledged { terminated: false });

    let finished = update(TaskState::TaskFinished);
    assert_eq!(stream.update(finished.clone(), true).unwrap(), UpdateOutcome::Queued { head: true });
    sent(stream.forward(at(11)));
    let timer = stream.timer();

    assert_eq!(stream.acknowledgement(uuid(&running)).unwrap(), AckOutcome::Duplicate);
    assert_eq!(pending_uuids(&stream), vec![uuid(&finished)]);
    assert_eq!(stream.timer(), timer);
    assert!(!stream.terminated());
}

/// Upstream: an acknowledgement with a uuid the agent never sent is ignored.
#[test]
fn ignore_unexpected_status_update_ack() {
    let mut stream = in_memory();
    let running = update(TaskState::TaskRunning);
    stream.update(running.clone(), false).unwrap();
    sent(stream.forward(at(0)));

    let outcome = stream.acknowledgement(Uuid::random()).unwrap();
    assert_eq!(outcome, AckOutcome::Unexpected { expected: uuid(&running) });
    assert_eq!(pending_uuids(&stream), vec![uuid(&running)]);
    assert!(stream.timer().is_some());
}

/// Upstream: once FINISHED is acknowledged the stream is finished (the manager drops it), so
/// a later KILLED with a new uuid starts a fresh stream and is forwarded. With
/// checkpointing the fresh stream appends to the same log; recovering that log brings back
/// a terminated stream, since a terminal update in it was acknowledged.
#[test]
fn duplicate_terminal_update_after_ack() {
    let dir = tempfile::tempdir().unwrap();
    let mut stream = checkpointed(dir.path());
    let finished = update(TaskState::TaskFinished);
    stream.update(finished.clone(), true).unwrap();
    sent(stream.forward(at(0)));
    assert_eq!(stream.acknowledgement(uuid(&finished)).unwrap(), AckOutcome::Acknowledged { terminated: true });
    assert!(stream.terminated());
    drop(stream);

    let mut fresh = checkpointed(dir.path());
    let killed = update(TaskState::TaskKilled);
    assert_eq!(fresh.update(killed.clone(), true).unwrap(), UpdateOutcome::Queued { head: true });
    assert_eq!(sent(fresh.forward(at(1))).0, uuid(&killed));
    drop(fresh);

    let recovered = TaskStatusUpdateStream::recover(framework_id(), task_id(), &updates_path(dir.path())).unwrap();
    assert!(recovered.terminated());
    assert_eq!(pending_uuids(&recovered), vec![uuid(&killed)]);
}

/// Upstream: the executor's driver resends RUNNING (its acknowledgement from the agent was
/// lost) before the scheduler acknowledged it: the copy is ignored and the original keeps
/// being retried.
#[test]
fn duplicate_update_before_ack() {
    let dir = tempfile::tempdir().unwrap();
    let mut stream = checkpointed(dir.path());
    let running = update(TaskState::TaskRunning);
    stream.update(running.clone(), true).unwrap();
    sent(stream.forward(at(0)));

    assert_eq!(stream.update(running.clone(), true).unwrap(), UpdateOutcome::Duplicate);
    assert_eq!(stream.pending().len(), 1);
    assert_eq!(records(&updates_path(dir.path())).len(), 1, "a duplicate is not checkpointed");
    assert_eq!(sent(stream.timeout(at(10))).0, uuid(&running));
}

// ---- Crash recovery ------------------------------------------------------------------------

/// Writes RUNNING (acknowledged) and FINISHED (pending), returns them.
fn two_updates_one_ack(dir: &Path) -> (StatusUpdate, StatusUpdate) {
    let mut stream = checkpointed(dir);
    let running = update(TaskState::TaskRunning);
    let finished = update(TaskState::TaskFinished);
    stream.update(running.clone(), true).unwrap();
    stream.update(finished.clone(), true).unwrap();
    stream.acknowledgement(uuid(&running)).unwrap();
    (running, finished)
}

#[test]
fn checkpoint_records_are_full_updates_and_bare_acks_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let (running, finished) = two_updates_one_ack(dir.path());
    let records = records(&updates_path(dir.path()));
    let kinds: Vec<RecordType> = records.iter().map(|r| RecordType::try_from(r.r#type).unwrap()).collect();
    assert_eq!(kinds, [RecordType::Update, RecordType::Update, RecordType::Ack]);
    assert_eq!(records[0].update.as_ref(), Some(&running));
    assert_eq!(records[0].uuid, None);
    assert_eq!(records[1].update.as_ref(), Some(&finished));
    assert_eq!(records[2].update, None);
    assert_eq!(records[2].uuid, running.uuid);
}

#[test]
fn recovery_rebuilds_pending_updates_and_dedup_sets() {
    let dir = tempfile::tempdir().unwrap();
    let (running, finished) = two_updates_one_ack(dir.path());
    let mut stream = TaskStatusUpdateStream::recover(framework_id(), task_id(), &updates_path(dir.path())).unwrap();
    assert!(!stream.terminated());
    assert_eq!(pending_uuids(&stream), vec![uuid(&finished)]);
    // Nothing is in flight until the caller resumes sending.
    assert_eq!(stream.timer(), None);
    assert_eq!(stream.timeout(at(1000)), None);
    // Both uuids are known: received and acknowledged.
    assert_eq!(stream.update(running, true).unwrap(), UpdateOutcome::AlreadyAcknowledged);
    assert_eq!(stream.update(finished.clone(), true).unwrap(), UpdateOutcome::Duplicate);
    assert_eq!(sent(stream.forward(at(0))).0, uuid(&finished));
    assert_eq!(stream.acknowledgement(uuid(&finished)).unwrap(), AckOutcome::Acknowledged { terminated: true });

    let recovered = TaskStatusUpdateStream::recover(framework_id(), task_id(), &updates_path(dir.path())).unwrap();
    assert!(recovered.terminated(), "a stream whose terminal update was acknowledged comes back terminated");
    assert!(recovered.pending().is_empty());
}

/// The agent died while appending the ACK of FINISHED: at every possible cut inside that
/// record, recovery drops the partial record, cuts the file back, and the stream carries on
/// appending whole records.
#[test]
fn replay_after_a_crash_mid_write() {
    let dir = tempfile::tempdir().unwrap();
    let (_, finished) = two_updates_one_ack(dir.path());
    let path = updates_path(dir.path());
    let whole = fs::read(&path).unwrap();
    let ack = StatusUpdateRecord { r#type: RecordType::Ack as i32, update: None, uuid: finished.uuid.clone() };
    let torn = encode_record(&ack).unwrap();

    for cut in 1..torn.len() {
        fs::write(&path, [whole.as_slice(), &torn[..cut]].concat()).unwrap();
        let state = recover_task_updates(&path, true).unwrap();
        assert!(state.truncated, "cut at {cut}");
        assert_eq!(state.updates.len(), 2);
        assert_eq!(fs::read(&path).unwrap(), whole, "the partial record is cut off (cut at {cut})");

        fs::write(&path, [whole.as_slice(), &torn[..cut]].concat()).unwrap();
        let mut stream = TaskStatusUpdateStream::recover(framework_id(), task_id(), &path).unwrap();
        assert_eq!(pending_uuids(&stream), vec![uuid(&finished)], "cut at {cut}");
        assert_eq!(stream.acknowledgement(uuid(&finished)).unwrap(), AckOutcome::Acknowledged { terminated: true });
        drop(stream);
        let again = TaskStatusUpdateStream::recover(framework_id(), task_id(), &path).unwrap();
        assert!(again.terminated(), "the ACK written after recovery reads back (cut at {cut})");
    }
}

#[test]
fn a_missing_log_recovers_as_an_empty_stream() {
    let dir = tempfile::tempdir().unwrap();
    let state = recover_task_updates(&updates_path(dir.path()), true).unwrap();
    assert!(state.updates.is_empty() && state.acks.is_empty());
    let stream = TaskStatusUpdateStream::recover(framework_id(), task_id(), &updates_path(dir.path())).unwrap();
    assert!(stream.pending().is_empty() && !stream.terminated());
}

/// A damaged record in the middle: strict recovery fails (without panicking), non-strict
/// keeps the updates before it and counts the damage; either way the file is cut before it.
#[test]
fn garbage_in_the_log_is_an_error_not_a_panic() {
    let dir = tempfile::tempdir().unwrap();
    let (running, _) = two_updates_one_ack(dir.path());
    let path = updates_path(dir.path());
    let first = encode_record(&StatusUpdateRecord {
        r#type: RecordType::Update as i32,
        update: Some(running.clone()),
        uuid: None,
    })
    .unwrap();
    let mut garbage = first.clone();
    garbage.extend_from_slice(&4u32.to_ne_bytes());
    garbage.extend_from_slice(&[0xff, 0xff, 0xff, 0xff]);
    garbage.extend_from_slice(&fs::read(&path).unwrap());

    fs::write(&path, &garbage).unwrap();
    let error = recover_task_updates(&path, true).unwrap_err();
    assert!(matches!(error, StateError::Records { .. }), "{error}");
    assert_eq!(fs::read(&path).unwrap(), first);

    fs::write(&path, &garbage).unwrap();
    let state = recover_task_updates(&path, false).unwrap();
    assert_eq!((state.updates, state.errors), (vec![running], 1));

    fs::write(&path, &garbage).unwrap();
    let error = TaskStatusUpdateStream::recover(framework_id(), task_id(), &path).unwrap_err();
    assert!(matches!(error, StatusUpdateError::Recover(_)), "{error}");
}

/// Records that decode but cannot be meant: an ACK whose uuid is not 16 bytes, an UPDATE
/// without an update. C++ aborts on the first; here they are errors.
#[test]
fn records_with_bad_uuids_are_errors() {
    let dir = tempfile::tempdir().unwrap();
    let path = updates_path(dir.path());
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    for record in [
        StatusUpdateRecord { r#type: RecordType::Ack as i32, update: None, uuid: Some(vec![1, 2, 3]) },
        StatusUpdateRecord { r#type: RecordType::Update as i32, update: None, uuid: None },
        StatusUpdateRecord {
            r#type: RecordType::Update as i32,
            update: Some(StatusUpdate { uuid: None, ..update(TaskState::TaskRunning) }),
            uuid: None,
        },
        StatusUpdateRecord { r#type: 7, update: None, uuid: None },
    ] {
        fs::write(&path, encode_record(&record).unwrap()).unwrap();
        let error = recover_task_updates(&path, true).unwrap_err();
        assert!(matches!(error, StateError::BadRecord { offset: 0, .. }), "{error}");
        assert_eq!(fs::metadata(&path).unwrap().len(), 0);
    }
}

// ---- Ordering, duplicates, terminal updates ------------------------------------------------

#[test]
fn updates_go_out_one_at_a_time_in_order() {
    let mut stream = in_memory();
    let updates: Vec<StatusUpdate> =
        [TaskState::TaskStarting, TaskState::TaskRunning, TaskState::TaskFinished].into_iter().map(update).collect();
    let heads: Vec<UpdateOutcome> = updates.iter().map(|u| stream.update(u.clone(), false).unwrap()).collect();
    assert_eq!(
        heads,
        [
            UpdateOutcome::Queued { head: true },
            UpdateOutcome::Queued { head: false },
            UpdateOutcome::Queued { head: false }
        ]
    );
    for (n, expected) in updates.iter().enumerate() {
        assert_eq!(stream.next().unwrap(), Some(expected));
        assert_eq!(sent(stream.forward(at(n as u64))).0, uuid(expected));
        let terminated = n == 2;
        assert_eq!(stream.acknowledgement(uuid(expected)).unwrap(), AckOutcome::Acknowledged { terminated });
        assert_eq!(stream.timer(), None);
    }
    assert_eq!(stream.next().unwrap(), None);
}

#[test]
fn duplicate_updates_are_ignored_before_and_after_their_ack() {
    let mut stream = in_memory();
    let running = update(TaskState::TaskRunning);
    stream.update(running.clone(), false).unwrap();
    assert_eq!(stream.update(running.clone(), false).unwrap(), UpdateOutcome::Duplicate);
    // The same uuid with another state is still the same update.
    let relabelled = update_with(TaskState::TaskFailed, uuid(&running));
    assert_eq!(stream.update(relabelled, false).unwrap(), UpdateOutcome::Duplicate);
    stream.acknowledgement(uuid(&running)).unwrap();
    assert_eq!(stream.update(running, false).unwrap(), UpdateOutcome::AlreadyAcknowledged);
    assert!(stream.pending().is_empty());
}

#[test]
fn out_of_order_acks_are_ignored_until_the_head_is_acked() {
    let mut stream = in_memory();
    let first = update(TaskState::TaskRunning);
    let second = update(TaskState::TaskRunning);
    stream.update(first.clone(), false).unwrap();
    stream.update(second.clone(), false).unwrap();
    sent(stream.forward(at(0)));

    assert_eq!(stream.acknowledgement(uuid(&second)).unwrap(), AckOutcome::Unexpected { expected: uuid(&first) });
    assert_eq!(pending_uuids(&stream), vec![uuid(&first), uuid(&second)]);
    assert_eq!(stream.acknowledgement(uuid(&first)).unwrap(), AckOutcome::Acknowledged { terminated: false });
    assert_eq!(stream.acknowledgement(uuid(&first)).unwrap(), AckOutcome::Duplicate);
    assert_eq!(stream.acknowledgement(uuid(&second)).unwrap(), AckOutcome::Acknowledged { terminated: false });
    // Nothing pending: any acknowledgement, even a repeat, is refused.
    let error = stream.acknowledgement(uuid(&second)).unwrap_err();
    assert!(matches!(error, StatusUpdateError::NothingPending { .. }), "{error}");
    assert!(error.to_string().starts_with("Unexpected task status update acknowledgment (UUID: "), "{error}");
}

/// Updates behind a terminal one are still sent until the terminal one is acknowledged;
/// then the stream is finished and sends nothing more.
#[test]
fn terminal_then_more_updates() {
    let mut stream = in_memory();
    let running = update(TaskState::TaskRunning);
    let failed = update(TaskState::TaskFailed);
    let late = update(TaskState::TaskKilled);
    for u in [&running, &failed, &late] {
        stream.update(u.clone(), false).unwrap();
    }
    assert_eq!(sent(stream.forward(at(0))).0, uuid(&running));
    assert_eq!(stream.acknowledgement(uuid(&running)).unwrap(), AckOutcome::Acknowledged { terminated: false });
    assert_eq!(sent(stream.forward(at(1))).0, uuid(&failed));
    assert!(!stream.terminated(), "queuing or sending a terminal update does not end the stream");
    assert_eq!(stream.acknowledgement(uuid(&failed)).unwrap(), AckOutcome::Acknowledged { terminated: true });
    assert!(stream.terminated());
    assert_eq!(pending_uuids(&stream), vec![uuid(&late)]);
    assert_eq!(stream.forward(at(2)), None);
    assert_eq!(stream.timeout(at(1000)), None);
}

// ---- Retry timer ---------------------------------------------------------------------------

#[test]
fn backoff_sequence_doubles_to_ten_minutes_and_stays() {
    let mut stream = in_memory();
    stream.update(update(TaskState::TaskRunning), false).unwrap();
    let mut now = at(0);
    let mut intervals = vec![stream.forward(now).unwrap().retry_after];
    for _ in 0..9 {
        now = now + *intervals.last().unwrap();
        intervals.push(stream.timeout(now).unwrap().retry_after);
    }
    let seconds: Vec<u64> = intervals.iter().map(Duration::as_secs).collect();
    assert_eq!(seconds, [10, 20, 40, 80, 160, 320, 600, 600, 600, 600]);
    assert_eq!(*intervals.last().unwrap(), STATUS_UPDATE_RETRY_INTERVAL_MAX);
}

/// A timer armed for an update acknowledged since does not resend its successor early.
#[test]
fn a_stale_timer_does_not_resend_the_next_update() {
    let mut stream = in_memory();
    let first = update(TaskState::TaskRunning);
    let second = update(TaskState::TaskFinished);
    stream.update(first.clone(), false).unwrap();
    stream.update(second.clone(), false).unwrap();
    sent(stream.forward(at(0)));
    stream.acknowledgement(uuid(&first)).unwrap();
    sent(stream.forward(at(5)));
    // The first update's timer (due at 10 s) fires: the second is due only at 15 s.
    assert_eq!(stream.timeout(at(10)), None);
    assert_eq!(sent(stream.timeout(at(15))), (uuid(&second), Duration::from_secs(20)));
}

/// Resuming (the caller calls `forward` on every stream) resends the head at once and
/// restarts the backoff.
#[test]
fn forward_restarts_the_backoff() {
    let mut stream = in_memory();
    stream.update(update(TaskState::TaskRunning), false).unwrap();
    sent(stream.forward(at(0)));
    sent(stream.timeout(at(10)));
    sent(stream.timeout(at(30)));
    assert_eq!(stream.timer().unwrap().interval, Duration::from_secs(40));
    assert_eq!(sent(stream.forward(at(31))).1, STATUS_UPDATE_RETRY_INTERVAL_MIN);
    stream.disarm();
    assert_eq!(stream.timeout(at(10_000)), None);
}

// ---- Bad input -----------------------------------------------------------------------------

#[test]
fn bad_updates_are_errors() {
    let mut stream = in_memory();
    let no_uuid = StatusUpdate { uuid: None, ..update(TaskState::TaskRunning) };
    assert!(matches!(stream.update(no_uuid, false), Err(StatusUpdateError::MissingUuid)));
    let short_uuid = StatusUpdate { uuid: Some(vec![0; 5]), ..update(TaskState::TaskRunning) };
    assert!(matches!(stream.update(short_uuid, false), Err(StatusUpdateError::InvalidUuid(5))));
    let other_task = StatusUpdate {
        status: TaskStatus { task_id: TaskId { value: "other".into() }, ..Default::default() },
        ..update(TaskState::TaskRunning)
    };
    assert!(matches!(stream.update(other_task, false), Err(StatusUpdateError::WrongStream { .. })));
    assert!(stream.pending().is_empty());
    assert_eq!(stream.forward(at(0)), None);
}

#[test]
fn checkpoint_flag_must_match_the_stream() {
    let dir = tempfile::tempdir().unwrap();
    let mut durable = checkpointed(dir.path());
    let error = durable.update(update(TaskState::TaskRunning), false).unwrap_err();
    assert!(error.to_string().contains("(expected checkpoint=true actual checkpoint=false)"), "{error}");
    let mut volatile = in_memory();
    let error = volatile.update(update(TaskState::TaskRunning), true).unwrap_err();
    assert!(matches!(error, StatusUpdateError::CheckpointMismatch { expected: false, actual: true, .. }));
    assert!(!updates_path(dir.path()).exists() || records(&updates_path(dir.path())).is_empty());
}

/// A failed checkpoint write leaves the stream as it was and breaks it for good: nothing
/// may follow a possibly partial record.
#[test]
fn a_failed_checkpoint_write_breaks_the_stream() {
    let full = Path::new("/dev/full");
    if OpenOptions::new().append(true).open(full).is_err() {
        return; // Not Linux, or no access: nothing to test with.
    }
    let mut stream = TaskStatusUpdateStream::new(framework_id(), task_id(), Some(full.to_path_buf())).unwrap();
    let error = stream.update(update(TaskState::TaskRunning), true).unwrap_err();
    assert!(matches!(error, StatusUpdateError::Write { .. }), "{error}");
    assert!(stream.pending().is_empty(), "memory changes only after the record is written");
    assert!(matches!(stream.update(update(TaskState::TaskRunning), true), Err(StatusUpdateError::Broken(_))));
    assert!(matches!(stream.next(), Err(StatusUpdateError::Broken(_))));
    assert!(matches!(stream.acknowledgement(Uuid::random()), Err(StatusUpdateError::Broken(_))));
}

#[test]
fn a_log_that_cannot_be_opened_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    // The log's directory is a file.
    let blocker = dir.path().join("tasks");
    fs::write(&blocker, b"").unwrap();
    let error = TaskStatusUpdateStream::new(framework_id(), task_id(), Some(blocker.join("t/task.updates")));
    assert!(matches!(error, Err(StatusUpdateError::CreateDirectory { .. })));
    // The log is a directory.
    let error = TaskStatusUpdateStream::new(framework_id(), task_id(), Some(dir.path().to_path_buf()));
    assert!(matches!(error, Err(StatusUpdateError::Open { .. })));
}

// ---- Recovery reproduces the live stream ---------------------------------------------------

#[derive(Clone, Debug)]
enum Op {
    /// A new update in the given state.
    New(TaskState),
    /// A copy of the n-th update made so far.
    Repeat(usize),
    /// The scheduler acknowledges the head.
    AckHead,
    /// The scheduler acknowledges the n-th update made so far (often not the head).
    Ack(usize),
}

fn op() -> impl Strategy<Value = Op> {
    let state = prop::sample::select(vec![
        TaskState::TaskStarting,
        TaskState::TaskRunning,
        TaskState::TaskRunning,
        TaskState::TaskFinished,
        TaskState::TaskFailed,
    ]);
    prop_oneof![
        3 => state.prop_map(Op::New),
        1 => any::<usize>().prop_map(Op::Repeat),
        3 => Just(Op::AckHead),
        1 => any::<usize>().prop_map(Op::Ack),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Whatever happens to a checkpointed stream before the agent dies, the stream recovered
    /// from its log has the same pending updates, dedup knowledge and terminal status.
    #[test]
    fn recovery_reproduces_the_live_stream(ops in prop::collection::vec(op(), 0..24)) {
        let dir = tempfile::tempdir().unwrap();
        let mut live = checkpointed(dir.path());
        let mut made: Vec<StatusUpdate> = Vec::new();
        for op in ops {
            if live.terminated() {
                break; // The manager drops a finished stream.
            }
            match op {
                Op::New(state) => {
                    let u = update(state);
                    made.push(u.clone());
                    live.update(u, true).unwrap();
                }
                Op::Repeat(n) if !made.is_empty() => {
                    let outcome = live.update(made[n % made.len()].clone(), true).unwrap();
                    prop_assert!(matches!(outcome, UpdateOutcome::Duplicate | UpdateOutcome::AlreadyAcknowledged));
                }
                Op::AckHead => {
                    if let Some(head) = live.pending().front().map(uuid) {
                        let outcome = live.acknowledgement(head).unwrap();
                        prop_assert!(matches!(outcome, AckOutcome::Acknowledged { .. }), "{:?}", outcome);
                    }
                }
                Op::Ack(n) if !made.is_empty() && !live.pending().is_empty() => {
                    let _ = live.acknowledgement(uuid(&made[n % made.len()])).unwrap();
                }
                _ => {}
            }
        }
        let recovered = TaskStatusUpdateStream::recover(framework_id(), task_id(), &updates_path(dir.path())).unwrap();
        prop_assert_eq!(recovered.terminated(), live.terminated());
        prop_assert_eq!(recovered.pending(), live.pending());
        let mut recovered = recovered;
        for u in &made {
            let live_says = live.update(u.clone(), true).unwrap();
            let recovered_says = recovered.update(u.clone(), true).unwrap();
            prop_assert_eq!(live_says, recovered_says);
        }
    }
}
