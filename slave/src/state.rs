//! Reading the agent's checkpointed state back after a restart: the whole meta tree (`slaves/latest`, agent, frameworks, executors, runs, tasks and their status update logs) and whether the host rebooted; mirrors `state::recover` and the `*State::recover` functions of `src/slave/state.{hpp,cpp}`.
//!
//! [`recover`] follows `meta/slaves/latest` to the agent of the last run and reads every
//! framework, executor, run and task under it into plain structs ([`State`],
//! [`SlaveState`], [`FrameworkState`], [`ExecutorState`], [`RunState`], [`TaskState`]).
//! Files that a crash can leave missing or empty (a framework without `framework.pid`, a
//! run without `forked.pid`, ...) end that part of the recovery quietly, as in C++; what is
//! under them is not read. A file that exists but cannot be read or decoded is an error
//! when `strict` (`--strict`, the default) and otherwise counted in `errors` (each level
//! adds up the errors of what it holds) while recovery goes on with the next sibling. A few
//! problems fail recovery whatever `strict` says, as in C++: a directory that cannot be
//! listed, a dangling `slaves/latest`, an unparsable `forked.pid` or
//! `executor_generated_for_command_task`, a `forked.pid` that cannot be removed after a
//! reboot.
//!
//! `meta/boot_id` holds the host's boot id as the previous agent run saw it; a different one
//! now means the host rebooted ([`State::rebooted`]): the checkpointed process ids are then
//! stale, so `forked.pid` is deleted and neither pid is read.
//!
//! A task's status update log is a sequence of `StatusUpdateRecord`s in the length-prefixed
//! form of [`mesos::protobuf_io`]: `UPDATE` records carry the whole `StatusUpdate`, `ACK`
//! records only its uuid. An agent that died while appending leaves a partial record at the
//! end; recovery drops it and cuts the file back to the last whole record, so that later
//! appends follow a whole record.
//!
//! The resource checkpoints (`meta/resources`) and the operations in them are not read yet.

use std::collections::{HashMap, HashSet};
use std::fs::{self, OpenOptions};
use std::io::{self, BufReader, ErrorKind};
use std::path::{Path, PathBuf};

use libprocess::{ProtobufMessage, UPID};
use mesos::internal::status_update_record::Type as RecordType;
use mesos::internal::{StatusUpdate, StatusUpdateRecord};
use mesos::proto::{
    ContainerId, DrainConfig, ExecutorId, ExecutorInfo, FrameworkId, FrameworkInfo, SlaveId, SlaveInfo, Task, TaskId,
};
use mesos::protobuf_io::{ProtobufIoError, RecordReader};
use mesos::state::Uuid;

use crate::constants::MESOS_EXECUTOR;
use crate::paths;

/// Where Linux keeps the id of the current boot.
pub const BOOT_ID_SOURCE: &str = "/proc/sys/kernel/random/boot_id";

/// The host's boot id, trimmed (stout `os::bootId` on Linux).
pub fn boot_id() -> io::Result<String> {
    Ok(fs::read_to_string(BOOT_ID_SOURCE)?.trim().to_string())
}

/// Everything recovered from the meta root (C++ `state::State`).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct State {
    /// The agent `meta/slaves/latest` points at; `None` if the link is missing (the
    /// previous agent never registered, or chose to start afresh).
    pub slave: Option<SlaveState>,
    /// Whether `meta/boot_id` names another boot than the current one.
    pub rebooted: bool,
    /// Errors skipped in non-strict mode outside the agent's tree (C++ keeps this at 0;
    /// the count that matters is [`SlaveState::errors`]).
    pub errors: u32,
}

/// The agent of the previous run (C++ `SlaveState`).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SlaveState {
    pub id: SlaveId,
    /// `slave.info`; `None` if missing or empty (then nothing else was read).
    pub info: Option<SlaveInfo>,
    pub frameworks: HashMap<FrameworkId, FrameworkState>,
    /// `drain.config`, while the agent drains.
    pub drain_config: Option<DrainConfig>,
    /// Errors skipped in non-strict mode here and in every framework.
    pub errors: u32,
}

/// A framework with checkpointed work (C++ `FrameworkState`).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct FrameworkState {
    pub id: FrameworkId,
    /// `framework.info`; `None` if missing or empty (then nothing else was read).
    pub info: Option<FrameworkInfo>,
    /// `framework.pid`; the empty UPID for an HTTP framework, `None` if the file is missing
    /// or empty (then the executors were not read).
    pub pid: Option<UPID>,
    pub executors: HashMap<ExecutorId, ExecutorState>,
    pub errors: u32,
}

/// An executor and its runs (C++ `ExecutorState`).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ExecutorState {
    pub id: ExecutorId,
    /// `executor.info`; `None` if missing or empty, or if there is no `runs/latest`.
    pub info: Option<ExecutorInfo>,
    /// The run `runs/latest` points at.
    pub latest: Option<ContainerId>,
    /// By the container id's value (`ContainerId`, with its optional parent, is not
    /// hashable; a recovered id never has a parent).
    pub runs: HashMap<String, RunState>,
    /// Whether the agent generated the executor for a command task: the
    /// `executor_generated_for_command_task` file, else guessed from the executor's command
    /// and name as C++ does for checkpoints of agents before 1.4.
    pub generated_for_command_task: bool,
    pub errors: u32,
}

/// One run (container) of an executor (C++ `RunState`).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RunState {
    pub id: ContainerId,
    pub tasks: HashMap<TaskId, TaskState>,
    /// `pids/forked.pid`; not read after a reboot.
    pub forked_pid: Option<i32>,
    /// `pids/libprocess.pid`: the executor registered over libprocess.
    pub libprocess_pid: Option<UPID>,
    /// `Some(false)` with a libprocess pid, `Some(true)` with `http.marker`, `None` if the
    /// executor never registered (or the pids were not read).
    pub http: Option<bool>,
    /// `executor.sentinel`: the agent removed the executor after this run ended.
    pub completed: bool,
    pub errors: u32,
}

/// A task of a run (C++ `TaskState`).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct TaskState {
    pub id: TaskId,
    /// `task.info`; `None` if missing or empty (then `task.updates` was not read).
    pub info: Option<Task>,
    /// Every checkpointed update, in order.
    pub updates: Vec<StatusUpdate>,
    /// The uuids of the acknowledged ones.
    pub acks: HashSet<Uuid>,
    pub errors: u32,
}

/// Reads the meta tree under `meta_root` (`<work_dir>/meta`) as C++ `state::recover` does,
/// comparing `meta/boot_id` with the current boot id (see [`recover_with_boot_id`]).
pub fn recover(meta_root: &Path, strict: bool) -> Result<State, StateError> {
    let current = boot_id().map_err(|source| StateError::BootId { source })?;
    recover_with_boot_id(meta_root, strict, &current)
}

/// [`recover`] with `current_boot_id` taken as the host's boot id (tests choose it).
pub fn recover_with_boot_id(meta_root: &Path, strict: bool, current_boot_id: &str) -> Result<State, StateError> {
    tracing::info!("Recovering state from '{}'", meta_root.display());
    let mut state = State::default();
    // No meta root: the first start of an agent on this host, or after `--recover=cleanup`.
    if !exists(meta_root) {
        return Ok(state);
    }

    let path = paths::boot_id_path(meta_root);
    if exists(&path) {
        match fs::read_to_string(&path) {
            Ok(previous) if previous.trim() != current_boot_id => {
                tracing::info!("Agent host rebooted");
                state.rebooted = true;
            }
            Ok(_) => {}
            Err(error) => tracing::warn!("Failed to read '{}': {error}", path.display()),
        }
    }

    let latest = paths::latest_slave_path(meta_root);
    if !exists(&latest) {
        tracing::info!("Failed to find the latest agent from '{}'", meta_root.display());
        return Ok(state);
    }
    // `exists` does not follow the link, so a dangling one fails recovery (as in C++).
    let directory = fs::canonicalize(&latest).map_err(|source| StateError::Latest { path: latest.clone(), source })?;
    let slave_id = SlaveId { value: base_name(&directory) };
    state.slave = Some(recover_slave(meta_root, slave_id, strict, state.rebooted)?);
    Ok(state)
}

/// C++ `SlaveState::recover`.
fn recover_slave(root: &Path, id: SlaveId, strict: bool, rebooted: bool) -> Result<SlaveState, StateError> {
    let mut state = SlaveState { id, ..SlaveState::default() };
    let path = paths::slave_info_path(root, &state.id);
    match read_message::<SlaveInfo>(&path, "agent info", strict, &mut state.errors)? {
        Some(info) => state.info = Some(info),
        None => return Ok(state),
    }

    let directory = paths::slave_path(root, &state.id).join(paths::FRAMEWORKS_DIR);
    for name in list(&directory, "frameworks")? {
        let id = FrameworkId { value: name };
        let framework = recover_framework(root, &state.id, id.clone(), strict, rebooted)
            .map_err(|error| error.within(format!("framework {}", id.value)))?;
        state.errors += framework.errors;
        state.frameworks.insert(id, framework);
    }

    // C++ counts a bad drain config as an error even when strict.
    let path = paths::drain_config_path(root, &state.id);
    if exists(&path) {
        state.drain_config = read_message::<DrainConfig>(&path, "agent state file", false, &mut state.errors)?;
    }
    Ok(state)
}

/// C++ `FrameworkState::recover`.
fn recover_framework(
    root: &Path,
    slave_id: &SlaveId,
    id: FrameworkId,
    strict: bool,
    rebooted: bool,
) -> Result<FrameworkState, StateError> {
    let mut state = FrameworkState { id, ..FrameworkState::default() };
    let path = paths::framework_info_path(root, slave_id, &state.id);
    match read_message::<FrameworkInfo>(&path, "framework info", strict, &mut state.errors)? {
        Some(info) => state.info = Some(info),
        None => return Ok(state),
    }
    let path = paths::framework_pid_path(root, slave_id, &state.id);
    match read_text(&path, "framework pid", strict, &mut state.errors)? {
        Some(pid) => state.pid = Some(UPID::parse_lenient(&pid)),
        None => return Ok(state),
    }

    let directory = paths::framework_path(root, slave_id, &state.id).join(paths::EXECUTORS_DIR);
    for name in list(&directory, "executors")? {
        let id = ExecutorId { value: name };
        let executor = recover_executor(root, slave_id, &state.id, id.clone(), strict, rebooted)
            .map_err(|error| error.within(format!("executor '{}'", id.value)))?;
        state.errors += executor.errors;
        state.executors.insert(id, executor);
    }
    Ok(state)
}

/// C++ `ExecutorState::recover`.
fn recover_executor(
    root: &Path,
    slave_id: &SlaveId,
    framework_id: &FrameworkId,
    id: ExecutorId,
    strict: bool,
    rebooted: bool,
) -> Result<ExecutorState, StateError> {
    let mut state = ExecutorState { id, ..ExecutorState::default() };
    let directory = paths::executor_path(root, slave_id, framework_id, &state.id).join(paths::EXECUTOR_RUNS_DIR);
    for name in list(&directory, "runs")? {
        let path = directory.join(&name);
        if name == paths::LATEST_SYMLINK {
            match fs::canonicalize(&path) {
                Ok(run) => state.latest = Some(ContainerId { value: base_name(&run), parent: None }),
                Err(error) if matches!(error.kind(), ErrorKind::NotFound | ErrorKind::NotADirectory) => {
                    // The agent died between collecting the latest run and the executor's
                    // directory.
                    tracing::warn!("Dangling 'latest' run symlink of executor '{}'", state.id.value);
                }
                Err(source) => return Err(StateError::Latest { path, source }),
            }
            continue;
        }
        let id = ContainerId { value: name, parent: None };
        let run = recover_run(root, slave_id, framework_id, &state.id, id.clone(), strict, rebooted)
            .map_err(|error| error.within(format!("run {}", id.value)))?;
        state.errors += run.errors;
        state.runs.insert(id.value, run);
    }

    if state.latest.is_none() {
        tracing::warn!(
            "Failed to find the latest run of executor '{}' of framework {}",
            state.id.value,
            framework_id.value
        );
        return Ok(state);
    }
    let path = paths::executor_info_path(root, slave_id, framework_id, &state.id);
    let Some(info) = read_message::<ExecutorInfo>(&path, "executor info", strict, &mut state.errors)? else {
        return Ok(state);
    };

    let path = paths::executor_generated_for_command_task_path(root, slave_id, framework_id, &state.id);
    state.generated_for_command_task = if exists(&path) {
        let text = fs::read_to_string(&path).map_err(|source| StateError::Io {
            operation: "read",
            path: path.clone(),
            source,
        })?;
        parse_number::<i32>(&text).map_err(|reason| StateError::Parse { path, text, reason })? != 0
    } else {
        let command = info.command.as_ref().and_then(|command| command.value.as_deref()).unwrap_or("");
        command.ends_with(MESOS_EXECUTOR) && info.name.as_deref().unwrap_or("").starts_with("Command Executor")
    };
    state.info = Some(info);
    Ok(state)
}

/// C++ `RunState::recover`.
fn recover_run(
    root: &Path,
    slave_id: &SlaveId,
    framework_id: &FrameworkId,
    executor_id: &ExecutorId,
    id: ContainerId,
    strict: bool,
    rebooted: bool,
) -> Result<RunState, StateError> {
    let mut state = RunState { id, ..RunState::default() };
    // Read first, so that it is known even when the rest is partial.
    state.completed = exists(&paths::executor_sentinel_path(root, slave_id, framework_id, executor_id, &state.id));

    let directory =
        paths::executor_run_path(root, slave_id, framework_id, executor_id, &state.id).join(paths::TASKS_DIR);
    for name in list(&directory, "tasks")? {
        let id = TaskId { value: name };
        let task_path = paths::task_path(root, slave_id, framework_id, executor_id, &state.id, &id);
        let task =
            recover_task(&task_path, id.clone(), strict).map_err(|error| error.within(format!("task {}", id.value)))?;
        state.errors += task.errors;
        state.tasks.insert(id, task);
    }

    let path = paths::forked_pid_path(root, slave_id, framework_id, executor_id, &state.id);
    // After a reboot both pids name other processes; the forked pid goes, so that an agent
    // restarted after this recovery (and its new `boot_id`) does not read it either.
    if rebooted {
        if exists(&path) {
            fs::remove_file(&path).map_err(|source| StateError::Io { operation: "remove", path, source })?;
        }
        return Ok(state);
    }
    let Some(text) = read_text(&path, "executor forked pid", strict, &mut state.errors)? else {
        return Ok(state);
    };
    state.forked_pid = Some(parse_number::<i32>(&text).map_err(|reason| StateError::Parse { path, text, reason })?);

    let path = paths::libprocess_pid_path(root, slave_id, framework_id, executor_id, &state.id);
    if exists(&path) {
        if let Some(pid) = read_text(&path, "executor libprocess pid", strict, &mut state.errors)? {
            state.libprocess_pid = Some(UPID::parse_lenient(&pid));
            state.http = Some(false);
        }
        return Ok(state);
    }
    if exists(&paths::executor_http_marker_path(root, slave_id, framework_id, executor_id, &state.id)) {
        state.http = Some(true);
    } else {
        // The executor had not registered yet.
        tracing::warn!(
            "Failed to find '{}' or '{}' for container {} of executor '{}' of framework {}",
            paths::LIBPROCESS_PID_FILE,
            paths::HTTP_MARKER_FILE,
            state.id.value,
            executor_id.value,
            framework_id.value
        );
    }
    Ok(state)
}

/// C++ `TaskState::recover`, for the task directory `directory`.
fn recover_task(directory: &Path, id: TaskId, strict: bool) -> Result<TaskState, StateError> {
    let mut state = TaskState { id, ..TaskState::default() };
    let path = directory.join(paths::TASK_INFO_FILE);
    match read_message::<Task>(&path, "task info", strict, &mut state.errors)? {
        Some(task) => state.info = Some(task),
        None => return Ok(state),
    }
    let updates = recover_task_updates(&directory.join(paths::TASK_UPDATES_FILE), strict)?;
    state.updates = updates.updates;
    state.acks = updates.acks;
    state.errors += updates.errors;
    Ok(state)
}

/// Whether `path` exists, without following a symlink (stout `os::exists`).
fn exists(path: &Path) -> bool {
    fs::symlink_metadata(path).is_ok()
}

fn base_name(path: &Path) -> String {
    path.file_name().map(|name| name.to_string_lossy().into_owned()).unwrap_or_default()
}

/// The names in `directory`, sorted, without hidden ones (what C++ gets from `os::glob` of
/// `<directory>/*`); none if it does not exist.
fn list(directory: &Path, what: &'static str) -> Result<Vec<String>, StateError> {
    let entries = match fs::read_dir(directory) {
        Ok(entries) => entries,
        Err(error) if error.kind() == ErrorKind::NotFound => return Ok(Vec::new()),
        Err(source) => return Err(StateError::List { what, path: directory.into(), source }),
    };
    let mut names = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|source| StateError::List { what, path: directory.into(), source })?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if !name.starts_with('.') {
            names.push(name);
        }
    }
    names.sort();
    Ok(names)
}

/// A single-message checkpoint file: `None` if it is missing or empty (a crash before the
/// write, or a hard reboot before the data reached the disk); a damaged file is an error if
/// `strict`, else counted in `errors` and `None`.
fn read_message<M: ProtobufMessage>(
    path: &Path,
    what: &'static str,
    strict: bool,
    errors: &mut u32,
) -> Result<Option<M>, StateError> {
    if !exists(path) {
        tracing::warn!("Failed to find {what} file '{}'", path.display());
        return Ok(None);
    }
    match mesos::protobuf_io::read_file::<M>(path) {
        Ok(Some(message)) => Ok(Some(message)),
        Ok(None) => {
            tracing::warn!("Found empty {what} file '{}'", path.display());
            Ok(None)
        }
        Err(source) => skip_or_fail_read(StateError::Read { what, path: path.into(), source }, strict, errors),
    }
}

/// A text checkpoint file (a pid), as [`read_message`] treats a protobuf one.
fn read_text(path: &Path, what: &'static str, strict: bool, errors: &mut u32) -> Result<Option<String>, StateError> {
    if !exists(path) {
        tracing::warn!("Failed to find {what} file '{}'", path.display());
        return Ok(None);
    }
    match fs::read(path) {
        Ok(bytes) if bytes.is_empty() => {
            tracing::warn!("Found empty {what} file '{}'", path.display());
            Ok(None)
        }
        Ok(bytes) => match String::from_utf8(bytes) {
            Ok(text) => Ok(Some(text)),
            Err(error) => {
                let source = io::Error::new(ErrorKind::InvalidData, error);
                skip_or_fail_read(StateError::ReadText { what, path: path.into(), source }, strict, errors)
            }
        },
        Err(source) => skip_or_fail_read(StateError::ReadText { what, path: path.into(), source }, strict, errors),
    }
}

fn skip_or_fail_read<T>(error: StateError, strict: bool, errors: &mut u32) -> Result<Option<T>, StateError> {
    if strict {
        return Err(error);
    }
    tracing::warn!("{error}");
    *errors += 1;
    Ok(None)
}

/// A number as stout's `numify` reads one: the whole text, no surrounding whitespace.
fn parse_number<N: std::str::FromStr>(text: &str) -> Result<N, String>
where
    N::Err: std::fmt::Display,
{
    text.parse::<N>().map_err(|error| error.to_string())
}

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

/// Why the checkpointed state could not be recovered.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    /// The host's boot id could not be read.
    #[error("Failed to read the boot id from '{BOOT_ID_SOURCE}': {source}")]
    BootId {
        #[source]
        source: io::Error,
    },
    /// `slaves/latest` (or a `runs/latest`) points nowhere that can be resolved.
    #[error("Failed to find latest agent through '{}': {source}", path.display())]
    Latest {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("Failed to find {what} in '{}': {source}", path.display())]
    List {
        what: &'static str,
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    /// A protobuf checkpoint that exists but does not decode.
    #[error("Failed to read {what} from '{}': {source}", path.display())]
    Read {
        what: &'static str,
        path: PathBuf,
        #[source]
        source: ProtobufIoError,
    },
    /// A text checkpoint that exists but cannot be read.
    #[error("Failed to read {what} from '{}': {source}", path.display())]
    ReadText {
        what: &'static str,
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("Failed to parse '{text}' from '{}': {reason}", path.display())]
    Parse { path: PathBuf, text: String, reason: String },
    /// An error recovering a part of the tree (C++ prefixes each level's name).
    #[error("Failed to recover {what}: {source}")]
    Within {
        what: String,
        #[source]
        source: Box<StateError>,
    },
    #[error("Failed to {operation} '{}': {source}", path.display())]
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

impl StateError {
    fn within(self, what: String) -> StateError {
        StateError::Within { what, source: Box::new(self) }
    }
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
            return skip_or_fail(
                &mut state,
                strict,
                StateError::Io { operation: "open status updates file", path: path.into(), source },
            )
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
    let length = file
        .metadata()
        .map_err(|source| StateError::Io { operation: "stat status updates file", path: path.into(), source })?
        .len();
    if valid < length {
        file.set_len(valid).map_err(|source| StateError::Io {
            operation: "truncate status updates file",
            path: path.into(),
            source,
        })?;
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
