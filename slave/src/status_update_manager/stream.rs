//! `TaskStatusUpdateStream`: the status updates of one task, in order, with their checkpoint log, deduplication, acknowledgement matching and retry timer; mirrors `TaskStatusUpdateStream` in `src/slave/task_status_update_manager.cpp`.
//!
//! A plain data structure: no actor, no clock, no timers. Times come in as arguments
//! (`now`), and what to send comes out as a [`Forward`].
//!
//! Rules, as upstream:
//! - Updates are queued in arrival order; only the head is ever sent.
//! - An update whose uuid was received or acknowledged before is ignored (an executor
//!   retrying, or an agent that died between checkpointing an update and acknowledging it
//!   to the executor).
//! - An acknowledgement must carry the head's uuid. Anything else is ignored (a second
//!   acknowledgement for a retried update), or refused if nothing is pending.
//! - The stream is *terminated* once a terminal update is acknowledged, not when one is
//!   queued: updates behind a terminal one still go out until it is acknowledged. A
//!   terminated stream is finished; its owner drops it, pending updates and all.
//! - With checkpointing, every update and acknowledgement is appended to `task.updates`
//!   before the stream's memory changes, so a restarted agent rebuilds the same stream by
//!   [`TaskStatusUpdateStream::replay`]ing the file.

use std::collections::{HashSet, VecDeque};
use std::fs::File;
use std::path::{Path, PathBuf};
use std::time::Duration;

use libprocess::Time;
use mesos::internal::status_update_record::Type as RecordType;
use mesos::internal::{StatusUpdate, StatusUpdateRecord};
use mesos::proto::{FrameworkId, TaskId, TaskState};
use mesos::protobuf_io::{open_append, write_record};
use mesos::state::Uuid;

use super::{describe_update, is_terminal_state, next_retry_interval, Forward, StatusUpdateError};
use crate::constants::STATUS_UPDATE_RETRY_INTERVAL_MIN;
use crate::state::{recover_task_updates, TaskUpdates};

/// What became of an update given to [`TaskStatusUpdateStream::update`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UpdateOutcome {
    /// Checkpointed (if the stream is) and queued. `head`: it is the only pending update,
    /// so nothing is in flight and the caller sends it now with
    /// [`TaskStatusUpdateStream::forward`], unless sending is paused.
    Queued { head: bool },
    /// Its uuid was received before: ignored. The caller still acknowledges it to the
    /// executor (C++ returns success so that the agent re-acks it).
    Duplicate,
    /// Its uuid was acknowledged by the scheduler before: ignored, and acknowledged to the
    /// executor as above.
    AlreadyAcknowledged,
}

/// What became of an acknowledgement given to [`TaskStatusUpdateStream::acknowledgement`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AckOutcome {
    /// The head was acknowledged (and checkpointed) and removed; its retry timer is gone.
    /// If `terminated`, the stream is finished and is to be dropped; otherwise the caller
    /// sends the next update, if any, with [`TaskStatusUpdateStream::forward`].
    Acknowledged { terminated: bool },
    /// That uuid was acknowledged before: ignored (C++ fails it as a duplicate).
    Duplicate,
    /// Not the uuid of the update in flight: ignored (C++ fails it as a duplicate too).
    Unexpected { expected: Uuid },
}

/// The retry timer of the update in flight (C++ `Option<Timeout> timeout`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RetryTimer {
    /// The interval this timer was armed with; the next one doubles it.
    pub interval: Duration,
    /// When the head is due to be sent again.
    pub deadline: Time,
}

/// The open `task.updates` log of a checkpointed stream.
#[derive(Debug)]
struct Log {
    path: PathBuf,
    file: File,
}

/// The status updates of one task (C++ `TaskStatusUpdateStream`).
#[derive(Debug)]
pub struct TaskStatusUpdateStream {
    framework_id: FrameworkId,
    task_id: TaskId,
    /// `Some` if the framework checkpoints; the file stays open for the stream's life.
    log: Option<Log>,
    terminated: bool,
    pending: VecDeque<StatusUpdate>,
    received: HashSet<Uuid>,
    acknowledged: HashSet<Uuid>,
    timer: Option<RetryTimer>,
    /// The first failed checkpoint write; every later call fails with it.
    broken: Option<String>,
}

impl TaskStatusUpdateStream {
    /// A new, empty stream. With `checkpoint_path` (the task's `task.updates` under the meta
    /// root, see [`crate::paths::task_updates_path`]) its directory is made and the file
    /// opened for appending, as upstream's constructor does; where upstream keeps the error
    /// in the stream, this returns it.
    pub fn new(
        framework_id: FrameworkId,
        task_id: TaskId,
        checkpoint_path: Option<PathBuf>,
    ) -> Result<TaskStatusUpdateStream, StatusUpdateError> {
        let log = match checkpoint_path {
            None => None,
            Some(path) => {
                if let Some(dir) = path.parent() {
                    std::fs::create_dir_all(dir)
                        .map_err(|source| StatusUpdateError::CreateDirectory { path: dir.to_path_buf(), source })?;
                }
                // No `O_SYNC`: the log is only read after the agent (not the host) restarts,
                // when what was written is in the page cache.
                let file =
                    open_append(&path).map_err(|source| StatusUpdateError::Open { path: path.clone(), source })?;
                Some(Log { path, file })
            }
        };
        Ok(TaskStatusUpdateStream {
            framework_id,
            task_id,
            log,
            terminated: false,
            pending: VecDeque::new(),
            received: HashSet::new(),
            acknowledged: HashSet::new(),
            timer: None,
            broken: None,
        })
    }

    /// Rebuilds the stream of a task from its log after an agent restart: reads the log
    /// strictly (a partial last record is dropped and cut from the file), reopens it for
    /// appending and replays it (the per-task part of C++
    /// `TaskStatusUpdateManagerProcess::recover`). A stream that comes back
    /// [`terminated`](Self::terminated) is to be dropped.
    pub fn recover(
        framework_id: FrameworkId,
        task_id: TaskId,
        path: &Path,
    ) -> Result<TaskStatusUpdateStream, StatusUpdateError> {
        let TaskUpdates { updates, acks, .. } = recover_task_updates(path, true)?;
        let mut stream = TaskStatusUpdateStream::new(framework_id, task_id, Some(path.to_path_buf()))?;
        stream.replay(&updates, &acks)?;
        Ok(stream)
    }

    pub fn framework_id(&self) -> &FrameworkId {
        &self.framework_id
    }

    pub fn task_id(&self) -> &TaskId {
        &self.task_id
    }

    /// Whether updates and acknowledgements are written to `task.updates`.
    pub fn checkpoint(&self) -> bool {
        self.log.is_some()
    }

    /// The `task.updates` file of a checkpointed stream.
    pub fn path(&self) -> Option<&Path> {
        self.log.as_ref().map(|log| log.path.as_path())
    }

    /// Whether a terminal update was acknowledged: the stream is finished.
    pub fn terminated(&self) -> bool {
        self.terminated
    }

    /// The updates not acknowledged yet, oldest (the one in flight) first.
    pub fn pending(&self) -> &VecDeque<StatusUpdate> {
        &self.pending
    }

    /// The retry timer of the head, if it was sent and not acknowledged since.
    pub fn timer(&self) -> Option<RetryTimer> {
        self.timer
    }

    /// The update to send next, if any (C++ `next`).
    pub fn next(&self) -> Result<Option<&StatusUpdate>, StatusUpdateError> {
        self.check_broken()?;
        Ok(self.pending.front())
    }

    /// Takes an update from the executor (or the agent), checkpointing it first (C++
    /// `update`, with the checkpoint-flag check of the manager's `_update`). `checkpoint`
    /// says whether the caller checkpoints this task; it must match how the stream was made.
    pub fn update(&mut self, update: StatusUpdate, checkpoint: bool) -> Result<UpdateOutcome, StatusUpdateError> {
        self.check_broken()?;
        if checkpoint != self.checkpoint() {
            return Err(StatusUpdateError::CheckpointMismatch {
                update: describe_update(&update),
                expected: self.checkpoint(),
                actual: checkpoint,
            });
        }
        if update.framework_id != self.framework_id || update.status.task_id != self.task_id {
            return Err(StatusUpdateError::WrongStream {
                update: describe_update(&update),
                task: self.task_id.value.clone(),
                framework: self.framework_id.value.clone(),
            });
        }
        let uuid = uuid_of(&update)?;

        if self.acknowledged.contains(&uuid) {
            tracing::warn!(
                "Ignoring task status update {} that has already been acknowledged by the framework",
                describe_update(&update)
            );
            return Ok(UpdateOutcome::AlreadyAcknowledged);
        }
        if self.received.contains(&uuid) {
            tracing::warn!("Ignoring duplicate task status update {}", describe_update(&update));
            return Ok(UpdateOutcome::Duplicate);
        }

        self.append(&update, RecordType::Update)?;
        self.apply_update(uuid, update);
        Ok(UpdateOutcome::Queued { head: self.pending.len() == 1 })
    }

    /// Takes the scheduler's acknowledgement of the update `uuid` (C++ `acknowledgement`,
    /// with the empty-queue check of the manager's). On success the retry timer is gone.
    pub fn acknowledgement(&mut self, uuid: Uuid) -> Result<AckOutcome, StatusUpdateError> {
        self.check_broken()?;
        let Some(head) = self.pending.front() else {
            return Err(StatusUpdateError::NothingPending {
                uuid,
                task: self.task_id.value.clone(),
                framework: self.framework_id.value.clone(),
            });
        };
        if self.acknowledged.contains(&uuid) {
            tracing::warn!(
                "Duplicate task status update acknowledgment (UUID: {uuid}) for update {}",
                describe_update(head)
            );
            return Ok(AckOutcome::Duplicate);
        }
        // Updates in the queue always have a valid uuid: `update` and `replay` check it.
        let expected = uuid_of(head)?;
        if uuid != expected {
            tracing::warn!(
                "Unexpected task status update acknowledgement (received {uuid}, expecting {expected}) for update {}",
                describe_update(head)
            );
            return Ok(AckOutcome::Unexpected { expected });
        }

        let head = head.clone();
        self.append(&head, RecordType::Ack)?;
        self.apply_ack(uuid, head.status.state);
        self.timer = None;
        if self.terminated && !self.pending.is_empty() {
            tracing::warn!(
                "Acknowledged a terminal task status update {} but updates are still pending",
                describe_update(&head)
            );
        }
        Ok(AckOutcome::Acknowledged { terminated: self.terminated })
    }

    /// Sends the head now and arms its timer at the first retry interval (C++ `forward(next,
    /// STATUS_UPDATE_RETRY_INTERVAL_MIN)`): after [`UpdateOutcome::Queued`]` { head: true }`,
    /// after a non-terminal [`AckOutcome::Acknowledged`], and for every stream when sending
    /// resumes. `None` if nothing is pending or the stream is finished or broken.
    pub fn forward(&mut self, now: Time) -> Option<Forward> {
        self.send_head(now, STATUS_UPDATE_RETRY_INTERVAL_MIN)
    }

    /// When a retry timer fires: if the head's timer is due at `now`, sends the head again
    /// with the interval doubled (at most [`crate::constants::STATUS_UPDATE_RETRY_INTERVAL_MAX`]);
    /// otherwise `None`. A timer armed for an update that has since been acknowledged
    /// therefore does nothing, as upstream's `Timeout::expired` check ensures.
    ///
    /// Upstream doubles the interval of the timer that fired for every stream it resends;
    /// here each stream doubles its own, which is the same whenever all streams share a
    /// cadence and is right when they do not.
    pub fn timeout(&mut self, now: Time) -> Option<Forward> {
        let timer = self.timer?;
        if now < timer.deadline || self.terminated || self.pending.is_empty() {
            return None;
        }
        tracing::warn!(
            "Resending task status update {}",
            self.pending.front().map(describe_update).unwrap_or_default()
        );
        self.send_head(now, next_retry_interval(timer.interval))
    }

    /// Forgets the head's retry timer without sending anything. The caller may use this
    /// while sending is paused; [`forward`](Self::forward) re-arms it.
    pub fn disarm(&mut self) {
        self.timer = None;
    }

    /// Rebuilds the stream from checkpointed `updates` (file order) and the uuids of `acks`,
    /// without writing anything (C++ `replay`): each update is queued, and at once
    /// acknowledged if its uuid is in `acks`. A stream whose acknowledged updates include a
    /// terminal one comes back terminated.
    ///
    /// Upstream pops the queue's head for each acknowledged update; this removes the
    /// acknowledged update itself, which is the same for every log a stream writes (updates
    /// are acknowledged in order) and keeps a damaged log from dropping the wrong update. A
    /// repeated update in the log is replayed once.
    pub fn replay(&mut self, updates: &[StatusUpdate], acks: &HashSet<Uuid>) -> Result<(), StatusUpdateError> {
        self.check_broken()?;
        tracing::debug!("Replaying task status update stream for task {}", self.task_id.value);
        for update in updates {
            let uuid = uuid_of(update)?;
            if self.received.contains(&uuid) {
                continue;
            }
            self.apply_update(uuid, update.clone());
            if acks.contains(&uuid) {
                self.apply_ack(uuid, update.status.state);
            }
        }
        Ok(())
    }

    fn send_head(&mut self, now: Time, interval: Duration) -> Option<Forward> {
        if self.terminated || self.broken.is_some() {
            return None;
        }
        let update = self.pending.front()?.clone();
        self.timer = Some(RetryTimer { interval, deadline: now + interval });
        tracing::debug!("Forwarding task status update {} to the agent", describe_update(&update));
        Some(Forward { update, retry_after: interval })
    }

    /// Appends the record of `update` (the whole update) or of its acknowledgement (its uuid
    /// only) to the log, if the stream checkpoints (C++ `handle`). A failed write breaks the
    /// stream.
    fn append(&mut self, update: &StatusUpdate, kind: RecordType) -> Result<(), StatusUpdateError> {
        let Some(log) = &mut self.log else { return Ok(()) };
        tracing::info!("Checkpointing {} for task status update {}", kind.as_str_name(), describe_update(update));
        let record = match kind {
            RecordType::Update => StatusUpdateRecord { r#type: kind as i32, update: Some(update.clone()), uuid: None },
            RecordType::Ack => StatusUpdateRecord { r#type: kind as i32, update: None, uuid: update.uuid.clone() },
        };
        write_record(&mut log.file, &record).map_err(|source| {
            let error = StatusUpdateError::Write { update: describe_update(update), path: log.path.clone(), source };
            self.broken = Some(error.to_string());
            error
        })
    }

    /// The in-memory half of an update (C++ `_handle(update, UPDATE)`).
    fn apply_update(&mut self, uuid: Uuid, update: StatusUpdate) {
        self.received.insert(uuid);
        self.pending.push_back(update);
    }

    /// The in-memory half of an acknowledgement (C++ `_handle(update, ACK)`).
    fn apply_ack(&mut self, uuid: Uuid, state: i32) {
        self.acknowledged.insert(uuid);
        if let Some(position) = self.pending.iter().position(|pending| uuid_of(pending).ok() == Some(uuid)) {
            self.pending.remove(position);
        }
        if !self.terminated {
            self.terminated = TaskState::try_from(state).is_ok_and(is_terminal_state);
        }
    }

    fn check_broken(&self) -> Result<(), StatusUpdateError> {
        match &self.broken {
            Some(error) => Err(StatusUpdateError::Broken(error.clone())),
            None => Ok(()),
        }
    }
}

/// The uuid of `update`, which every update in a stream must have.
fn uuid_of(update: &StatusUpdate) -> Result<Uuid, StatusUpdateError> {
    let bytes = update.uuid.as_deref().ok_or(StatusUpdateError::MissingUuid)?;
    Uuid::from_bytes(bytes).map_err(|_| StatusUpdateError::InvalidUuid(bytes.len()))
}
