//! Reading the agent's checkpointed state back after a restart; so far only a task's status update log (`task.updates`); mirrors the `task.updates` part of `TaskState::recover` in `src/slave/state.cpp`.
//!
//! The log is a sequence of `StatusUpdateRecord`s in the length-prefixed form of
//! [`mesos::protobuf_io`]: `UPDATE` records carry the whole `StatusUpdate`, `ACK` records
//! only its uuid. An agent that died while appending leaves a partial record at the end;
//! recovery drops it and cuts the file back to the last whole record, so that later appends
//! follow a whole record.

use std::collections::HashSet;
use std::fs::OpenOptions;
use std::io::{self, BufReader, ErrorKind};
use std::path::{Path, PathBuf};

use mesos::internal::status_update_record::Type as RecordType;
use mesos::internal::{StatusUpdate, StatusUpdateRecord};
use mesos::protobuf_io::{ProtobufIoError, RecordReader};
use mesos::state::Uuid;

/// What a task's `task.updates` holds: the `updates` and `acks` of C++ `TaskState`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct TaskUpdates {
    /// Every `UPDATE` record's update, in file order.
    pub updates: Vec<StatusUpdate>,
    /// The uuids of every `ACK` record.
    pub acks: HashSet<Uuid>,
    /// Problems skipped over in non-strict mode (C++ `TaskState::errors`).
    pub errors: u32,
    /// Whether a partial record at the end was dropped (and cut from the file).
    pub truncated: bool,
}

/// Why a task's checkpointed updates could not be recovered.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    #[error("Failed to {operation} status updates file '{}': {source}", path.display())]
    Io {
        operation: &'static str,
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("Failed to read status updates file '{}': {source}", path.display())]
    Records {
        path: PathBuf,
        #[source]
        source: ProtobufIoError,
    },
    /// A whole record that decodes but cannot be meant: an `UPDATE` without its update or
    /// uuid, an `ACK` without a valid uuid. (C++ aborts on these.)
    #[error("Failed to read status updates file '{}': bad record at offset {offset}: {reason}", path.display())]
    BadRecord { path: PathBuf, offset: u64, reason: String },
}

/// Reads the status update log at `path` (C++ `TaskState::recover`, from "Read the status
/// updates" on).
///
/// A missing file means no updates were ever checkpointed. A partial last record is
/// dropped. A damaged record ends the reading: the file is cut just before it (as C++ does,
/// whatever follows is lost) and, if `strict`, recovery fails; otherwise the updates before
/// it are returned and `errors` counts the damage.
pub fn recover_task_updates(path: &Path, strict: bool) -> Result<TaskUpdates, StateError> {
    let mut state = TaskUpdates::default();
    let file = match OpenOptions::new().read(true).write(true).open(path) {
        Ok(file) => file,
        Err(error) if error.kind() == ErrorKind::NotFound => {
            tracing::warn!(path = %path.display(), "Failed to find status updates file");
            return Ok(state);
        }
        Err(source) => {
            return skip_or_fail(&mut state, strict, StateError::Io { operation: "open", path: path.into(), source })
        }
    };

    let mut reader = RecordReader::new(BufReader::new(&file));
    let mut failure = None;
    // The end of the last record taken.
    let mut valid = 0;
    loop {
        let offset = reader.offset();
        match reader.read::<StatusUpdateRecord>() {
            Ok(None) => break,
            Ok(Some(record)) => {
                if let Err(reason) = take_record(&mut state, record) {
                    failure = Some(StateError::BadRecord { path: path.into(), offset, reason });
                    break;
                }
                valid = reader.offset();
            }
            Err(error) if error.is_truncated() => {
                tracing::warn!(path = %path.display(), "dropping a partial record at the end: {error}");
                state.truncated = true;
                break;
            }
            Err(source) => {
                failure = Some(StateError::Records { path: path.into(), source });
                break;
            }
        }
    }
    // Only whole, good records stay, so the stream that reopens the file appends after them.
    let length =
        file.metadata().map_err(|source| StateError::Io { operation: "stat", path: path.into(), source })?.len();
    if valid < length {
        file.set_len(valid).map_err(|source| StateError::Io { operation: "truncate", path: path.into(), source })?;
    }
    match failure {
        Some(error) => skip_or_fail(&mut state, strict, error),
        None => Ok(state),
    }
}

/// Adds one record to `state`; `Err` names what makes it unusable.
fn take_record(state: &mut TaskUpdates, record: StatusUpdateRecord) -> Result<(), String> {
    match RecordType::try_from(record.r#type) {
        Ok(RecordType::Update) => {
            let update = record.update.ok_or("an UPDATE record without an update")?;
            match &update.uuid {
                Some(uuid) => Uuid::from_bytes(uuid).map_err(|error| error.to_string())?,
                None => return Err("an update without a uuid".into()),
            };
            state.updates.push(update);
        }
        Ok(RecordType::Ack) => {
            let uuid = record.uuid.ok_or("an ACK record without a uuid")?;
            state.acks.insert(Uuid::from_bytes(&uuid).map_err(|error| error.to_string())?);
        }
        Err(_) => return Err(format!("unknown record type {}", record.r#type)),
    }
    Ok(())
}

fn skip_or_fail(state: &mut TaskUpdates, strict: bool, error: StateError) -> Result<TaskUpdates, StateError> {
    if strict {
        return Err(error);
    }
    tracing::warn!("{error}");
    state.errors += 1;
    Ok(std::mem::take(state))
}
