//! The containerizer interface the agent drives: launch an executor's container, learn when it ends, kill or destroy it, read and change its resources, adopt the containers of a previous agent run; mirrors `src/slave/containerizer/containerizer.hpp` and the `ContainerConfig`/`ContainerTermination` messages of `include/mesos/slave/containerizer.proto`.
//!
//! Every call returns a [`Future`] and never blocks the caller: the agent is an actor, and
//! forking, waiting for a child or fetching URIs happen elsewhere. The agent continues on
//! the results with `Context::defer`.
//!
//! C++ passes protobufs (`ContainerConfig`, `ContainerTermination`) through this interface;
//! they never go on the wire, so here they are plain structs with the same fields.

pub mod posix;

use std::collections::BTreeMap;
use std::path::PathBuf;

use libprocess::Future;
use mesos::proto::task_status::Reason;
use mesos::proto::{
    CommandInfo, ContainerId, ContainerInfo, ExecutorInfo, Resource, ResourceStatistics, TaskInfo, TaskState,
};

/// What to run in a container and where (C++ `mesos::slave::ContainerConfig`).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ContainerConfig {
    /// The executor the container runs (absent for a nested container of a task group).
    pub executor_info: Option<ExecutorInfo>,
    /// The task, when the container runs a command task's executor.
    pub task_info: Option<TaskInfo>,
    /// The command to run: the executor's.
    pub command_info: CommandInfo,
    pub container_info: Option<ContainerInfo>,
    /// What the container may use.
    pub resources: Vec<Resource>,
    /// The sandbox on the host (C++ `directory`).
    pub directory: PathBuf,
    /// Who to run as (`--switch_user` and the framework's or command's user).
    pub user: Option<String>,
}

/// How a launch went (C++ `Containerizer::LaunchResult`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LaunchResult {
    Success,
    /// A container with that id exists already.
    AlreadyLaunched,
    /// This containerizer cannot run that container (a composing containerizer tries the
    /// next one).
    NotSupported,
}

/// How a container ended (C++ `mesos::slave::ContainerTermination`).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ContainerTermination {
    /// The exit status as `waitpid` reports it (signal or exit code), if the executor was
    /// reaped.
    pub status: Option<i32>,
    /// The state a task in the container ends in, when an isolator limited it (say
    /// `TASK_FAILED` for an OOM).
    pub state: Option<TaskState>,
    pub reason: Option<Reason>,
    pub message: Option<String>,
    /// The resources whose limit was reached.
    pub limited_resources: Vec<Resource>,
}

/// A container of a previous agent run to adopt (C++ `mesos::slave::ContainerState`): the
/// latest, not completed, run of a checkpointed executor whose pid was checkpointed.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ContainerState {
    pub executor_info: Option<ExecutorInfo>,
    pub container_id: ContainerId,
    /// The executor's pid (`forked.pid`).
    pub pid: i32,
    /// The sandbox on the host.
    pub directory: PathBuf,
}

/// The containers to adopt from a recovered agent (the gathering part of C++
/// `MesosContainerizerProcess::recover`): for every executor with its info and latest run,
/// that run unless it completed or has no `forked.pid`, or its executor asked for another
/// containerizer than the Mesos one. An executor skipped here has no container: the
/// agent's `wait` on it completes with `None` and the agent cleans it up.
pub fn recoverable_containers(state: &crate::state::SlaveState, work_dir: &std::path::Path) -> Vec<ContainerState> {
    let mut recoverable = Vec::new();
    for framework in state.frameworks.values() {
        for executor in framework.executors.values() {
            let (Some(info), Some(latest)) = (&executor.info, &executor.latest) else {
                tracing::warn!(
                    "Skipping recovery of executor '{}' of framework {} because its info or latest run could not be \
                     recovered",
                    executor.id.value,
                    framework.id.value
                );
                continue;
            };
            let Some(run) = executor.runs.get(&latest.value) else { continue };
            let Some(pid) = run.forked_pid else { continue };
            if run.completed {
                tracing::debug!(
                    "Skipping recovery of executor '{}' of framework {} because its latest run {} is completed",
                    executor.id.value,
                    framework.id.value,
                    latest.value
                );
                continue;
            }
            if info.container.as_ref().is_some_and(|c| c.r#type() != mesos::proto::container_info::Type::Mesos) {
                tracing::info!(
                    "Skipping recovery of executor '{}' of framework {} because it was not launched from mesos \
                     containerizer",
                    executor.id.value,
                    framework.id.value
                );
                continue;
            }
            tracing::info!(
                "Recovering container {} for executor '{}' of framework {}",
                latest.value,
                executor.id.value,
                framework.id.value
            );
            recoverable.push(ContainerState {
                executor_info: Some(info.clone()),
                container_id: latest.clone(),
                pid,
                directory: crate::paths::executor_run_path(work_dir, &state.id, &framework.id, &executor.id, latest),
            });
        }
    }
    recoverable.sort_by(|a, b| a.container_id.value.cmp(&b.container_id.value));
    recoverable
}

/// Why a containerizer call failed.
#[derive(Debug, thiserror::Error)]
pub enum ContainerizerError {
    #[error("Unknown container {0}")]
    UnknownContainer(String),
    #[error("Failed to prepare the container: {0}")]
    Prepare(String),
    #[error("Failed to fetch URIs: {0}")]
    Fetch(String),
    #[error("Failed to launch the container: {0}")]
    Launch(String),
    #[error("{0}")]
    Other(String),
}

/// The containerizer the agent uses (C++ `Containerizer`).
pub trait Containerizer: Send + Sync + 'static {
    /// Starts the container `container_id` running `config`'s command in `config.directory`
    /// with `environment` added to the command's; with `pid_checkpoint_path`, the
    /// executor's pid is written there (C++ `launch`).
    fn launch(
        &self,
        container_id: ContainerId,
        config: ContainerConfig,
        environment: BTreeMap<String, String>,
        pid_checkpoint_path: Option<PathBuf>,
    ) -> Future<Result<LaunchResult, ContainerizerError>>;

    /// Completes when the container has ended; `None` for a container this containerizer
    /// does not know (C++ `wait`).
    fn wait(&self, container_id: ContainerId) -> Future<Option<ContainerTermination>>;

    /// Kills every process of the container and cleans it up; completes with how it ended,
    /// or `None` for an unknown container (C++ `destroy`).
    fn destroy(&self, container_id: ContainerId) -> Future<Option<ContainerTermination>>;

    /// Sends `signal` to the container's processes; `false` for an unknown container (C++
    /// `kill`).
    fn kill(&self, container_id: ContainerId, signal: i32) -> Future<bool>;

    /// The container's resource usage (C++ `usage`).
    fn usage(&self, container_id: ContainerId) -> Future<Result<ResourceStatistics, ContainerizerError>>;

    /// Changes what the container may use (C++ `update`).
    fn update(&self, container_id: ContainerId, resources: Vec<Resource>) -> Future<Result<(), ContainerizerError>>;

    /// The containers it runs (C++ `containers`).
    fn containers(&self) -> Future<Vec<ContainerId>>;

    /// Adopts the containers of a previous agent run, before any launch (C++ `recover`):
    /// each is watched until its process ends, and `wait`, `destroy`, `kill` and `usage`
    /// work on it as on one launched here. A containerizer that cannot adopt anything
    /// keeps the default, which recovers nothing.
    fn recover(&self, containers: Vec<ContainerState>) -> Future<Result<(), ContainerizerError>> {
        let _ = containers;
        Future::ready(Ok(()))
    }
}
