//! The layout of the agent's work directory: sandboxes and the checkpointed metadata ("meta") tree, with C++'s file names; mirrors `src/slave/paths.hpp` and `src/slave/paths.cpp`.
//!
//! ```text
//! <work_dir>                                   (--work_dir)
//! |-- slaves/latest -> slaves/<agent_id>       sandboxes (same tree as meta, without files)
//! |-- slaves/<agent_id>/frameworks/<framework_id>/executors/<executor_id>/runs/<container_id>
//! |-- meta                                     the meta root
//!     |-- boot_id
//!     |-- resources/{resources.info,resources.target,resources_and_operations.state,...}
//!     |-- slaves/latest -> slaves/<agent_id>
//!     |-- slaves/<agent_id>
//!         |-- slave.info, drain.config
//!         |-- frameworks/<framework_id>
//!             |-- framework.info, framework.pid
//!             |-- executors/<executor_id>
//!                 |-- executor.info
//!                 |-- runs/latest -> runs/<container_id>
//!                 |-- runs/<container_id>
//!                     |-- executor.sentinel    (the run has completed)
//!                     |-- http.marker          (the executor uses the HTTP API)
//!                     |-- pids/{libprocess.pid,forked.pid}
//!                     |-- tasks/<task_id>/{task.info,task.updates}
//! ```
//!
//! As in C++, the getters taking a `root` serve both trees: pass the work directory for a
//! sandbox and [`meta_root_dir`] for checkpointed state. They only join names; ids are
//! validated (by the master, and by [`create_executor_directory`]) before a directory is
//! made from them. Ids are joined as stout's `path::join` does: leading separators of an id
//! are dropped, so no id can turn the result into an absolute path.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use mesos::proto::{ContainerId, ExecutorId, FrameworkId, SlaveId, TaskId};

use crate::constants::MAX_CONTAINER_ID_LENGTH;

/// Name of the symlinks to the current agent directory and to an executor's latest run
/// (`LATEST_SYMLINK`).
pub const LATEST_SYMLINK: &str = "latest";

/// Text file with the host's boot id, to tell a reboot from an agent restart (`BOOT_ID_FILE`).
pub const BOOT_ID_FILE: &str = "boot_id";
/// The agent's `SlaveInfo` (`SLAVE_INFO_FILE`).
pub const SLAVE_INFO_FILE: &str = "slave.info";
/// The agent's `DrainConfig` while it drains (`DRAIN_CONFIG_FILE`).
pub const DRAIN_CONFIG_FILE: &str = "drain.config";
/// The scheduler's UPID as text (`FRAMEWORK_PID_FILE`).
pub const FRAMEWORK_PID_FILE: &str = "framework.pid";
/// The framework's `FrameworkInfo` (`FRAMEWORK_INFO_FILE`).
pub const FRAMEWORK_INFO_FILE: &str = "framework.info";
/// The executor's UPID as text (`LIBPROCESS_PID_FILE`).
pub const LIBPROCESS_PID_FILE: &str = "libprocess.pid";
/// The executor's `ExecutorInfo` (`EXECUTOR_INFO_FILE`).
pub const EXECUTOR_INFO_FILE: &str = "executor.info";
/// Present once an executor run has completed (`EXECUTOR_SENTINEL_FILE`).
pub const EXECUTOR_SENTINEL_FILE: &str = "executor.sentinel";
/// Present if the executor uses the HTTP executor API (`HTTP_MARKER_FILE`).
pub const HTTP_MARKER_FILE: &str = "http.marker";
/// The pid of the forked executor process (`FORKED_PID_FILE`).
pub const FORKED_PID_FILE: &str = "forked.pid";
/// The task's `Task` (`TASK_INFO_FILE`).
pub const TASK_INFO_FILE: &str = "task.info";
/// The task's status update log of `StatusUpdateRecord`s (`TASK_UPDATES_FILE`).
pub const TASK_UPDATES_FILE: &str = "task.updates";
/// Checkpointed resources and operations (`RESOURCE_STATE_FILE`).
pub const RESOURCE_STATE_FILE: &str = "resources_and_operations.state";
/// Target of an ongoing resource state update (`RESOURCE_STATE_TARGET_FILE`).
pub const RESOURCE_STATE_TARGET_FILE: &str = "resources_and_operations.target";
/// Legacy checkpointed resources (`RESOURCES_INFO_FILE`).
pub const RESOURCES_INFO_FILE: &str = "resources.info";
/// Legacy target checkpointed resources (`RESOURCES_TARGET_FILE`).
pub const RESOURCES_TARGET_FILE: &str = "resources.target";

/// Sandboxes of nested and standalone containers (`CONTAINERS_DIR`).
pub const CONTAINERS_DIR: &str = "containers";
/// (`SLAVES_DIR`)
pub const SLAVES_DIR: &str = "slaves";
/// (`FRAMEWORKS_DIR`)
pub const FRAMEWORKS_DIR: &str = "frameworks";
/// (`EXECUTORS_DIR`)
pub const EXECUTORS_DIR: &str = "executors";
/// (`EXECUTOR_RUNS_DIR`)
pub const EXECUTOR_RUNS_DIR: &str = "runs";
/// The meta root under the work directory (`getMetaRootDir`).
pub const META_DIR: &str = "meta";
/// Holds [`LIBPROCESS_PID_FILE`] and [`FORKED_PID_FILE`] of a run.
pub const PIDS_DIR: &str = "pids";
/// Holds one directory per task of a run.
pub const TASKS_DIR: &str = "tasks";
/// Holds the agent's resource checkpoints under the meta root.
pub const RESOURCES_DIR: &str = "resources";

/// `base` joined with `name` as stout's `path::join` does: a leading separator of `name`
/// does not make the result absolute.
fn join(base: &Path, name: &str) -> PathBuf {
    base.join(name.trim_start_matches('/'))
}

/// A container id as C++ prints it: its ancestors first, joined by `.`.
pub fn container_id_string(id: &ContainerId) -> String {
    match &id.parent {
        Some(parent) => format!("{}.{}", container_id_string(parent), id.value),
        None => id.value.clone(),
    }
}

/// `<work_dir>/meta` (`getMetaRootDir`).
pub fn meta_root_dir(work_dir: &Path) -> PathBuf {
    work_dir.join(META_DIR)
}

/// `<work_dir>/slaves` (`getSandboxRootDir`).
pub fn sandbox_root_dir(work_dir: &Path) -> PathBuf {
    work_dir.join(SLAVES_DIR)
}

/// `<work_dir>/provisioner` (`getProvisionerDir`).
pub fn provisioner_dir(work_dir: &Path) -> PathBuf {
    work_dir.join("provisioner")
}

/// `<meta>/boot_id` (`getBootIdPath`).
pub fn boot_id_path(meta_root: &Path) -> PathBuf {
    meta_root.join(BOOT_ID_FILE)
}

/// `<root>/slaves/latest` (`getLatestSlavePath`).
pub fn latest_slave_path(root: &Path) -> PathBuf {
    root.join(SLAVES_DIR).join(LATEST_SYMLINK)
}

/// `<root>/slaves/<agent_id>` (`getSlavePath`).
pub fn slave_path(root: &Path, slave_id: &SlaveId) -> PathBuf {
    join(&root.join(SLAVES_DIR), &slave_id.value)
}

/// `<root>/containers/<container_id>` (`getContainerPath`).
pub fn container_path(root: &Path, container_id: &ContainerId) -> PathBuf {
    join(&root.join(CONTAINERS_DIR), &container_id_string(container_id))
}

/// `<meta>/slaves/<agent_id>/slave.info` (`getSlaveInfoPath`).
pub fn slave_info_path(root: &Path, slave_id: &SlaveId) -> PathBuf {
    slave_path(root, slave_id).join(SLAVE_INFO_FILE)
}

/// `<meta>/slaves/<agent_id>/drain.config` (`getDrainConfigPath`).
pub fn drain_config_path(meta_root: &Path, slave_id: &SlaveId) -> PathBuf {
    slave_path(meta_root, slave_id).join(DRAIN_CONFIG_FILE)
}

/// `<root>/slaves/<agent_id>/frameworks/<framework_id>` (`getFrameworkPath`).
pub fn framework_path(root: &Path, slave_id: &SlaveId, framework_id: &FrameworkId) -> PathBuf {
    join(&slave_path(root, slave_id).join(FRAMEWORKS_DIR), &framework_id.value)
}

/// `.../frameworks/<framework_id>/framework.pid` (`getFrameworkPidPath`).
pub fn framework_pid_path(root: &Path, slave_id: &SlaveId, framework_id: &FrameworkId) -> PathBuf {
    framework_path(root, slave_id, framework_id).join(FRAMEWORK_PID_FILE)
}

/// `.../frameworks/<framework_id>/framework.info` (`getFrameworkInfoPath`).
pub fn framework_info_path(root: &Path, slave_id: &SlaveId, framework_id: &FrameworkId) -> PathBuf {
    framework_path(root, slave_id, framework_id).join(FRAMEWORK_INFO_FILE)
}

/// `.../frameworks/<framework_id>/executors/<executor_id>` (`getExecutorPath`).
pub fn executor_path(root: &Path, slave_id: &SlaveId, framework_id: &FrameworkId, executor_id: &ExecutorId) -> PathBuf {
    join(&framework_path(root, slave_id, framework_id).join(EXECUTORS_DIR), &executor_id.value)
}

/// `.../executors/<executor_id>/executor.info` (`getExecutorInfoPath`).
pub fn executor_info_path(
    root: &Path,
    slave_id: &SlaveId,
    framework_id: &FrameworkId,
    executor_id: &ExecutorId,
) -> PathBuf {
    executor_path(root, slave_id, framework_id, executor_id).join(EXECUTOR_INFO_FILE)
}

/// `.../executors/<executor_id>/executor_generated_for_command_task`: marks an executor the
/// agent made for a command task (`getExecutorGeneratedForCommandTaskPath`).
pub fn executor_generated_for_command_task_path(
    root: &Path,
    slave_id: &SlaveId,
    framework_id: &FrameworkId,
    executor_id: &ExecutorId,
) -> PathBuf {
    executor_path(root, slave_id, framework_id, executor_id).join("executor_generated_for_command_task")
}

/// `.../executors/<executor_id>/runs/<container_id>`: a sandbox under the work directory, the
/// run's checkpoints under the meta root (`getExecutorRunPath`).
pub fn executor_run_path(
    root: &Path,
    slave_id: &SlaveId,
    framework_id: &FrameworkId,
    executor_id: &ExecutorId,
    container_id: &ContainerId,
) -> PathBuf {
    join(
        &executor_path(root, slave_id, framework_id, executor_id).join(EXECUTOR_RUNS_DIR),
        &container_id_string(container_id),
    )
}

/// `.../executors/<executor_id>/runs/latest` (`getExecutorLatestRunPath`).
pub fn executor_latest_run_path(
    root: &Path,
    slave_id: &SlaveId,
    framework_id: &FrameworkId,
    executor_id: &ExecutorId,
) -> PathBuf {
    executor_path(root, slave_id, framework_id, executor_id).join(EXECUTOR_RUNS_DIR).join(LATEST_SYMLINK)
}

/// `.../runs/<container_id>/http.marker` (`getExecutorHttpMarkerPath`).
pub fn executor_http_marker_path(
    root: &Path,
    slave_id: &SlaveId,
    framework_id: &FrameworkId,
    executor_id: &ExecutorId,
    container_id: &ContainerId,
) -> PathBuf {
    executor_run_path(root, slave_id, framework_id, executor_id, container_id).join(HTTP_MARKER_FILE)
}

/// `.../runs/<container_id>/executor.sentinel` (`getExecutorSentinelPath`).
pub fn executor_sentinel_path(
    root: &Path,
    slave_id: &SlaveId,
    framework_id: &FrameworkId,
    executor_id: &ExecutorId,
    container_id: &ContainerId,
) -> PathBuf {
    executor_run_path(root, slave_id, framework_id, executor_id, container_id).join(EXECUTOR_SENTINEL_FILE)
}

/// `/frameworks/<framework_id>/executors/<executor_id>/runs/latest`: where the latest sandbox
/// of an executor appears under the `/files` endpoint (`getExecutorVirtualPath`).
pub fn executor_virtual_path(framework_id: &FrameworkId, executor_id: &ExecutorId) -> String {
    format!(
        "/{FRAMEWORKS_DIR}/{}/{EXECUTORS_DIR}/{}/{EXECUTOR_RUNS_DIR}/{LATEST_SYMLINK}",
        framework_id.value.trim_start_matches('/'),
        executor_id.value.trim_start_matches('/')
    )
}

/// `.../runs/<container_id>/pids/libprocess.pid` (`getLibprocessPidPath`).
pub fn libprocess_pid_path(
    root: &Path,
    slave_id: &SlaveId,
    framework_id: &FrameworkId,
    executor_id: &ExecutorId,
    container_id: &ContainerId,
) -> PathBuf {
    executor_run_path(root, slave_id, framework_id, executor_id, container_id).join(PIDS_DIR).join(LIBPROCESS_PID_FILE)
}

/// `.../runs/<container_id>/pids/forked.pid` (`getForkedPidPath`).
pub fn forked_pid_path(
    root: &Path,
    slave_id: &SlaveId,
    framework_id: &FrameworkId,
    executor_id: &ExecutorId,
    container_id: &ContainerId,
) -> PathBuf {
    executor_run_path(root, slave_id, framework_id, executor_id, container_id).join(PIDS_DIR).join(FORKED_PID_FILE)
}

/// `.../runs/<container_id>/tasks/<task_id>` (`getTaskPath`).
pub fn task_path(
    root: &Path,
    slave_id: &SlaveId,
    framework_id: &FrameworkId,
    executor_id: &ExecutorId,
    container_id: &ContainerId,
    task_id: &TaskId,
) -> PathBuf {
    join(&executor_run_path(root, slave_id, framework_id, executor_id, container_id).join(TASKS_DIR), &task_id.value)
}

/// `.../tasks/<task_id>/task.info` (`getTaskInfoPath`).
pub fn task_info_path(
    root: &Path,
    slave_id: &SlaveId,
    framework_id: &FrameworkId,
    executor_id: &ExecutorId,
    container_id: &ContainerId,
    task_id: &TaskId,
) -> PathBuf {
    task_path(root, slave_id, framework_id, executor_id, container_id, task_id).join(TASK_INFO_FILE)
}

/// `.../tasks/<task_id>/task.updates` (`getTaskUpdatesPath`).
pub fn task_updates_path(
    root: &Path,
    slave_id: &SlaveId,
    framework_id: &FrameworkId,
    executor_id: &ExecutorId,
    container_id: &ContainerId,
    task_id: &TaskId,
) -> PathBuf {
    task_path(root, slave_id, framework_id, executor_id, container_id, task_id).join(TASK_UPDATES_FILE)
}

/// `<meta>/resources/resources_and_operations.state` (`getResourceStatePath`).
pub fn resource_state_path(meta_root: &Path) -> PathBuf {
    meta_root.join(RESOURCES_DIR).join(RESOURCE_STATE_FILE)
}

/// `<meta>/resources/resources_and_operations.target` (`getResourceStateTargetPath`).
pub fn resource_state_target_path(meta_root: &Path) -> PathBuf {
    meta_root.join(RESOURCES_DIR).join(RESOURCE_STATE_TARGET_FILE)
}

/// `<meta>/resources/resources.info` (`getResourcesInfoPath`).
pub fn resources_info_path(meta_root: &Path) -> PathBuf {
    meta_root.join(RESOURCES_DIR).join(RESOURCES_INFO_FILE)
}

/// `<meta>/resources/resources.target` (`getResourcesTargetPath`).
pub fn resources_target_path(meta_root: &Path) -> PathBuf {
    meta_root.join(RESOURCES_DIR).join(RESOURCES_TARGET_FILE)
}

/// The ids named by an executor run directory (C++ `ExecutorRunPath`).
#[derive(Clone, Debug, PartialEq)]
pub struct ExecutorRunPath {
    pub slave_id: SlaveId,
    pub framework_id: FrameworkId,
    pub executor_id: ExecutorId,
    pub container_id: ContainerId,
}

/// Why a path or directory of the layout could not be used or made.
#[derive(Debug, thiserror::Error)]
pub enum PathsError {
    #[error("Directory '{}' does not fall under the root directory: {}", dir.display(), root.display())]
    NotUnderRoot { root: PathBuf, dir: PathBuf },
    #[error("Path after root directory is not long enough to be an executor run path: {0}")]
    TooShort(String),
    #[error("Could not parse executor run path from directory: {}", .0.display())]
    NotAnExecutorRunPath(PathBuf),
    /// An id that must not name a directory (C++ `common::validation::validateID` and
    /// `slave::validation::container::validateContainerId`).
    #[error("Invalid {kind}: {reason}")]
    InvalidId { kind: &'static str, reason: String },
    #[error("Failed to {operation} '{}': {source}", path.display())]
    Io {
        operation: &'static str,
        path: PathBuf,
        #[source]
        source: io::Error,
    },
}

/// The ids of the executor run directory `dir` under `root`, which is
/// `<root>/slaves/<agent>/frameworks/<framework>/executors/<executor>/runs/<container>[/...]`
/// (`parseExecutorRunPath`). A nested container's id comes back as one value with dots.
pub fn parse_executor_run_path(root: &Path, dir: &Path) -> Result<ExecutorRunPath, PathsError> {
    let rest = dir
        .strip_prefix(root)
        .map_err(|_| PathsError::NotUnderRoot { root: root.to_path_buf(), dir: dir.to_path_buf() })?;
    let tokens: Vec<String> = rest
        .components()
        .filter_map(|component| match component {
            std::path::Component::Normal(name) => Some(name.to_string_lossy().into_owned()),
            _ => None,
        })
        .collect();
    if tokens.len() < 8 {
        return Err(PathsError::TooShort(tokens.join("/")));
    }
    if tokens[0] != SLAVES_DIR
        || tokens[2] != FRAMEWORKS_DIR
        || tokens[4] != EXECUTORS_DIR
        || tokens[6] != EXECUTOR_RUNS_DIR
    {
        return Err(PathsError::NotAnExecutorRunPath(dir.to_path_buf()));
    }
    Ok(ExecutorRunPath {
        slave_id: SlaveId { value: tokens[1].clone() },
        framework_id: FrameworkId { value: tokens[3].clone() },
        executor_id: ExecutorId { value: tokens[5].clone() },
        container_id: ContainerId { value: tokens[7].clone(), parent: None },
    })
}

/// Longest file name component (Linux `NAME_MAX`).
const NAME_MAX: usize = 255;

/// The rules every id that becomes a directory name must follow
/// (`common::validation::validateID`): not empty, at most `NAME_MAX` bytes, not `.` or
/// `..`, no control characters and no path separators.
pub fn validate_id(kind: &'static str, id: &str) -> Result<(), PathsError> {
    let invalid = |reason: String| Err(PathsError::InvalidId { kind, reason });
    if id.is_empty() {
        return invalid("ID must not be empty".to_string());
    }
    if id.len() > NAME_MAX {
        return invalid(format!("ID must not be greater than {NAME_MAX} characters"));
    }
    if id == "." || id == ".." {
        return invalid(format!("'{id}' is disallowed"));
    }
    if id.chars().any(|c| c.is_control() || c == '/' || c == '\\') {
        return invalid(format!("'{id}' contains invalid characters"));
    }
    Ok(())
}

/// [`validate_id`] plus the container rules (`validateContainerId`): at most
/// [`MAX_CONTAINER_ID_LENGTH`] bytes, no `.` (it separates nesting levels when printed) and
/// no space; the same for every ancestor.
pub fn validate_container_id(id: &ContainerId) -> Result<(), PathsError> {
    let kind = "ContainerID";
    validate_id(kind, &id.value)?;
    if id.value.len() > MAX_CONTAINER_ID_LENGTH {
        return Err(PathsError::InvalidId {
            kind,
            reason: format!(
                "'ContainerID.value' '{}' exceeds the maximum length ({MAX_CONTAINER_ID_LENGTH})",
                id.value
            ),
        });
    }
    if id.value.contains(['.', ' ']) {
        return Err(PathsError::InvalidId {
            kind,
            reason: format!("'ContainerID.value' '{}' contains invalid characters", id.value),
        });
    }
    match &id.parent {
        Some(parent) => validate_container_id(parent).map_err(|error| match error {
            PathsError::InvalidId { reason, .. } => {
                PathsError::InvalidId { kind, reason: format!("'ContainerID.parent' is invalid: {reason}") }
            }
            other => other,
        }),
        None => Ok(()),
    }
}

fn io_error<'a>(operation: &'static str, path: &'a Path) -> impl FnOnce(io::Error) -> PathsError + 'a {
    move |source| PathsError::Io { operation, path: path.to_path_buf(), source }
}

/// Points the symlink `latest` at `target`, replacing an older link.
fn relink_latest(target: &Path, latest: &Path) -> Result<(), PathsError> {
    match fs::symlink_metadata(latest) {
        Ok(_) => fs::remove_file(latest).map_err(io_error("remove latest symlink", latest))?,
        Err(error) if error.kind() == io::ErrorKind::NotFound => {}
        Err(source) => return Err(PathsError::Io { operation: "inspect", path: latest.to_path_buf(), source }),
    }
    symlink(target, latest).map_err(io_error("symlink", latest))
}

#[cfg(unix)]
fn symlink(target: &Path, link: &Path) -> io::Result<()> {
    std::os::unix::fs::symlink(target, link)
}

#[cfg(not(unix))]
fn symlink(_target: &Path, _link: &Path) -> io::Result<()> {
    Err(io::Error::new(io::ErrorKind::Unsupported, "symlinks are only supported on unix"))
}

/// Makes `<root>/slaves/<agent_id>` and points `<root>/slaves/latest` at it
/// (`createSlaveDirectory`; C++ aborts where this returns an error).
pub fn create_slave_directory(root: &Path, slave_id: &SlaveId) -> Result<PathBuf, PathsError> {
    validate_id("SlaveID", &slave_id.value)?;
    let directory = slave_path(root, slave_id);
    fs::create_dir_all(&directory).map_err(io_error("create directory", &directory))?;
    relink_latest(&directory, &latest_slave_path(root))?;
    Ok(directory)
}

/// Makes an executor run's sandbox (mode 0750, as private task data must not be readable by
/// others) and points `runs/latest` at it (`createExecutorDirectory`). Changing the owner
/// to the task's user is not done yet.
pub fn create_executor_directory(
    root: &Path,
    slave_id: &SlaveId,
    framework_id: &FrameworkId,
    executor_id: &ExecutorId,
    container_id: &ContainerId,
) -> Result<PathBuf, PathsError> {
    validate_id("SlaveID", &slave_id.value)?;
    validate_id("FrameworkID", &framework_id.value)?;
    validate_id("ExecutorID", &executor_id.value)?;
    validate_container_id(container_id)?;
    let directory = executor_run_path(root, slave_id, framework_id, executor_id, container_id);
    fs::create_dir_all(&directory).map_err(io_error("create directory", &directory))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(&directory, fs::Permissions::from_mode(0o750)).map_err(io_error("chmod", &directory))?;
    }
    relink_latest(&directory, &executor_latest_run_path(root, slave_id, framework_id, executor_id))?;
    Ok(directory)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids() -> (SlaveId, FrameworkId, ExecutorId, ContainerId, TaskId) {
        (
            SlaveId { value: "S0".into() },
            FrameworkId { value: "F1".into() },
            ExecutorId { value: "E2".into() },
            ContainerId { value: "C3".into(), parent: None },
            TaskId { value: "T4".into() },
        )
    }

    #[test]
    fn meta_tree_file_names_are_upstreams() {
        let (s, f, e, c, t) = ids();
        let meta = meta_root_dir(Path::new("/w"));
        let run = "/w/meta/slaves/S0/frameworks/F1/executors/E2/runs/C3";
        let cases: Vec<(PathBuf, String)> = vec![
            (boot_id_path(&meta), "/w/meta/boot_id".into()),
            (latest_slave_path(&meta), "/w/meta/slaves/latest".into()),
            (slave_info_path(&meta, &s), "/w/meta/slaves/S0/slave.info".into()),
            (drain_config_path(&meta, &s), "/w/meta/slaves/S0/drain.config".into()),
            (framework_info_path(&meta, &s, &f), "/w/meta/slaves/S0/frameworks/F1/framework.info".into()),
            (framework_pid_path(&meta, &s, &f), "/w/meta/slaves/S0/frameworks/F1/framework.pid".into()),
            (
                executor_info_path(&meta, &s, &f, &e),
                "/w/meta/slaves/S0/frameworks/F1/executors/E2/executor.info".into(),
            ),
            (
                executor_latest_run_path(&meta, &s, &f, &e),
                "/w/meta/slaves/S0/frameworks/F1/executors/E2/runs/latest".into(),
            ),
            (executor_sentinel_path(&meta, &s, &f, &e, &c), format!("{run}/executor.sentinel")),
            (executor_http_marker_path(&meta, &s, &f, &e, &c), format!("{run}/http.marker")),
            (libprocess_pid_path(&meta, &s, &f, &e, &c), format!("{run}/pids/libprocess.pid")),
            (forked_pid_path(&meta, &s, &f, &e, &c), format!("{run}/pids/forked.pid")),
            (task_info_path(&meta, &s, &f, &e, &c, &t), format!("{run}/tasks/T4/task.info")),
            (task_updates_path(&meta, &s, &f, &e, &c, &t), format!("{run}/tasks/T4/task.updates")),
            (resource_state_path(&meta), "/w/meta/resources/resources_and_operations.state".into()),
            (resources_info_path(&meta), "/w/meta/resources/resources.info".into()),
        ];
        for (path, expected) in cases {
            assert_eq!(path, PathBuf::from(&expected));
        }
    }

    #[test]
    fn sandboxes_live_under_the_work_directory() {
        let (s, f, e, c, _) = ids();
        let work = Path::new("/w");
        assert_eq!(sandbox_root_dir(work), PathBuf::from("/w/slaves"));
        assert_eq!(
            executor_run_path(work, &s, &f, &e, &c),
            PathBuf::from("/w/slaves/S0/frameworks/F1/executors/E2/runs/C3")
        );
        assert_eq!(executor_virtual_path(&f, &e), "/frameworks/F1/executors/E2/runs/latest");
    }

    #[test]
    fn nested_container_ids_print_with_dots() {
        let nested = ContainerId {
            value: "child".into(),
            parent: Some(Box::new(ContainerId { value: "parent".into(), parent: None })),
        };
        assert_eq!(container_id_string(&nested), "parent.child");
        assert_eq!(container_path(Path::new("/w"), &nested), PathBuf::from("/w/containers/parent.child"));
    }

    #[test]
    fn a_leading_slash_in_an_id_does_not_escape_the_root() {
        let s = SlaveId { value: "/etc".into() };
        assert_eq!(slave_path(Path::new("/w/meta"), &s), PathBuf::from("/w/meta/slaves/etc"));
    }

    #[test]
    fn executor_run_paths_parse_back() {
        let (s, f, e, c, _) = ids();
        let root = Path::new("/w");
        let run = executor_run_path(root, &s, &f, &e, &c);
        let parsed = parse_executor_run_path(root, &run.join("stdout")).unwrap();
        assert_eq!(parsed, ExecutorRunPath { slave_id: s, framework_id: f, executor_id: e, container_id: c });
        assert!(matches!(parse_executor_run_path(Path::new("/x"), &run), Err(PathsError::NotUnderRoot { .. })));
        assert!(matches!(parse_executor_run_path(root, &root.join("slaves/S0")), Err(PathsError::TooShort(_))));
        assert!(matches!(
            parse_executor_run_path(root, Path::new("/w/slaves/S0/frameworks/F1/executors/E2/xxxx/C3")),
            Err(PathsError::NotAnExecutorRunPath(_))
        ));
    }

    #[test]
    fn ids_that_cannot_be_directory_names_are_refused() {
        for bad in ["", ".", "..", "a/b", "a\\b", "a\nb"] {
            assert!(validate_id("TaskID", bad).is_err(), "{bad:?}");
        }
        assert!(validate_id("TaskID", &"x".repeat(256)).is_err());
        assert!(validate_id("TaskID", "task-1.web app").is_ok());
        assert!(validate_container_id(&ContainerId { value: "a.b".into(), parent: None }).is_err());
        assert!(validate_container_id(&ContainerId { value: "a b".into(), parent: None }).is_err());
        assert!(validate_container_id(&ContainerId { value: "x".repeat(243), parent: None }).is_err());
        let bad_parent = ContainerId {
            value: "ok".into(),
            parent: Some(Box::new(ContainerId { value: "no.dots".into(), parent: None })),
        };
        assert!(validate_container_id(&bad_parent)
            .unwrap_err()
            .to_string()
            .contains("'ContainerID.parent' is invalid"));
    }

    #[test]
    fn directories_are_made_and_latest_follows_the_newest() {
        let dir = tempfile::tempdir().unwrap();
        let (s, f, e, c, _) = ids();
        let agent = create_slave_directory(dir.path(), &s).unwrap();
        assert_eq!(fs::read_link(latest_slave_path(dir.path())).unwrap(), agent);

        let first = create_executor_directory(dir.path(), &s, &f, &e, &c).unwrap();
        let second_id = ContainerId { value: "C4".into(), parent: None };
        let second = create_executor_directory(dir.path(), &s, &f, &e, &second_id).unwrap();
        assert!(first.is_dir() && second.is_dir());
        assert_eq!(fs::read_link(executor_latest_run_path(dir.path(), &s, &f, &e)).unwrap(), second);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(fs::metadata(&second).unwrap().permissions().mode() & 0o777, 0o750);
        }
        let bad = ExecutorId { value: "../escape".into() };
        assert!(matches!(create_executor_directory(dir.path(), &s, &f, &bad, &c), Err(PathsError::InvalidId { .. })));
    }
}
