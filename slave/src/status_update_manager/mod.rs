//! Reliable delivery of task status updates from the agent to the scheduler: the per-task stream, its errors, the retry backoff, and what the stream asks its caller to send; mirrors `src/slave/task_status_update_manager.{hpp,cpp}`.
//!
//! Each task has one [`TaskStatusUpdateStream`] (C++ keys them by framework and task id).
//! Its updates go out one at a time, oldest first: only the head of the queue is in flight,
//! and it is sent again with a doubling interval ([`next_retry_interval`]) until the
//! scheduler acknowledges it; then the next one goes out. The stream does no timing itself:
//! it returns a [`Forward`] (the update to send and when to check again), and its caller (the
//! status update manager) arms the timer and calls [`TaskStatusUpdateStream::timeout`] when it
//! fires.
//!
//! The manager ([`TaskStatusUpdateManager`]) owns the streams: it sends their heads through
//! the agent, retries on a timer, pauses while the agent has no master, recovers streams from
//! their logs and drops a framework's streams.

mod manager;
mod stream;

use std::time::Duration;

use mesos::internal::StatusUpdate;
use mesos::proto::TaskState;
use mesos::protobuf_io::ProtobufIoError;
use mesos::state::Uuid;

use crate::constants::{STATUS_UPDATE_RETRY_INTERVAL_MAX, STATUS_UPDATE_RETRY_INTERVAL_MIN};
use crate::state::StateError;

pub use manager::{
    CheckpointAt, ForwardFn, RecoveredTask, TaskStatusUpdateManager, TaskStatusUpdateManagerProcess, PROCESS_ID_PREFIX,
};
pub use stream::{AckOutcome, TaskStatusUpdateStream, UpdateOutcome};

/// An update for the caller to send to the master now, and how long to wait for its
/// acknowledgement before calling [`TaskStatusUpdateStream::timeout`] (C++ `forward` returns
/// the `Timeout` of the `delay` it arms).
#[derive(Clone, Debug, PartialEq)]
pub struct Forward {
    pub update: StatusUpdate,
    pub retry_after: Duration,
}

/// The interval after `current` in the retry backoff: doubled, at most
/// [`STATUS_UPDATE_RETRY_INTERVAL_MAX`] (the bounded exponential backoff of C++
/// `TaskStatusUpdateManagerProcess::timeout`).
pub fn next_retry_interval(current: Duration) -> Duration {
    current.saturating_mul(2).min(STATUS_UPDATE_RETRY_INTERVAL_MAX)
}

/// The retry intervals of one update that is never acknowledged: 10 s, 20 s, 40 s, ... then
/// 10 minutes forever (C++ retries without limit).
pub fn retry_intervals() -> impl Iterator<Item = Duration> {
    std::iter::successors(Some(STATUS_UPDATE_RETRY_INTERVAL_MIN), |interval| Some(next_retry_interval(*interval)))
}

/// Why a status update or acknowledgement was refused, or a stream could not be used.
#[derive(Debug, thiserror::Error)]
pub enum StatusUpdateError {
    #[error("Task status update is missing 'uuid'")]
    MissingUuid,
    /// A uuid that is not 16 bytes (C++ aborts on these).
    #[error("Task status update has an invalid 'uuid' of {0} bytes")]
    InvalidUuid(usize),
    /// A checkpointed update for a stream that is not checkpointed, or the reverse.
    #[error("Mismatched checkpoint value for task status update {update} (expected checkpoint={expected} actual checkpoint={actual})")]
    CheckpointMismatch { update: String, expected: bool, actual: bool },
    /// The update names another task or framework than the stream's.
    #[error("Task status update {update} does not belong to the stream of task {task} of framework {framework}")]
    WrongStream { update: String, task: String, framework: String },
    /// An acknowledgement for a task without a stream (the manager's check: the stream was
    /// never made, is not recovered yet, or was cleaned up).
    #[error("Cannot find the task status update stream for task {task} of framework {framework}")]
    UnknownStream { task: String, framework: String },
    /// An acknowledgement while nothing is pending, such as a second one for a retried
    /// update after the first emptied the queue.
    #[error("Unexpected task status update acknowledgment (UUID: {uuid}) for task {task} of framework {framework}")]
    NothingPending { uuid: Uuid, task: String, framework: String },
    #[error("Failed to create '{}': {source}", path.display())]
    CreateDirectory {
        path: std::path::PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("Failed to open '{}' for status updates: {source}", path.display())]
    Open {
        path: std::path::PathBuf,
        #[source]
        source: ProtobufIoError,
    },
    /// A checkpoint write failed. The stream is broken from then on: its file may end in a
    /// partial record, after which nothing more may be appended.
    #[error("Failed to write task status update {update} to '{}': {source}", path.display())]
    Write {
        update: String,
        path: std::path::PathBuf,
        #[source]
        source: ProtobufIoError,
    },
    /// Every call on a stream after a failed checkpoint write (C++ keeps the first error in
    /// the stream and returns it from then on).
    #[error("{0}")]
    Broken(String),
    #[error(transparent)]
    Recover(#[from] StateError),
    /// An acknowledgement that was not for the update in flight: a repeat, or one for an
    /// update retried and acknowledged twice (the manager's text for both).
    #[error("Duplicate task status acknowledgement")]
    DuplicateAcknowledgement,
    /// A task's log could not be read back or replayed during recovery.
    #[error("Failed to replay status updates for task {task} of framework {framework}: {reason}")]
    Recovery { task: String, framework: String, reason: String },
}

pub use mesos::protobuf_utils::is_terminal_state;

/// An update as C++ prints one (`operator<<` for `StatusUpdate` in `src/messages/messages.cpp`):
/// `TASK_RUNNING (Status UUID: <uuid>) for task <id> in health state healthy of framework <id>`.
pub fn describe_update(update: &StatusUpdate) -> String {
    let state = TaskState::try_from(update.status.state).map(|s| s.as_str_name()).unwrap_or("UNKNOWN_STATE");
    let mut text = state.to_string();
    if let Some(uuid) = &update.uuid {
        match Uuid::from_bytes(uuid) {
            Ok(uuid) => text.push_str(&format!(" (Status UUID: {uuid})")),
            Err(_) => text.push_str(&format!(" (Status UUID: <{} bytes>)", uuid.len())),
        }
    }
    text.push_str(&format!(" for task {}", update.status.task_id.value));
    if let Some(healthy) = update.status.healthy {
        text.push_str(if healthy { " in health state healthy" } else { " in health state unhealthy" });
    }
    text.push_str(&format!(" of framework {}", update.framework_id.value));
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_from_ten_seconds_and_stops_at_ten_minutes() {
        let seconds: Vec<u64> = retry_intervals().take(9).map(|d| d.as_secs()).collect();
        assert_eq!(seconds, [10, 20, 40, 80, 160, 320, 600, 600, 600]);
        assert_eq!(next_retry_interval(Duration::from_secs(599)), Duration::from_secs(600));
        assert_eq!(next_retry_interval(Duration::MAX), STATUS_UPDATE_RETRY_INTERVAL_MAX);
    }
}
