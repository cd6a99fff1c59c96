//! The default executor (`mesos-default-executor`): a v1 HTTP executor that runs the tasks of the task groups the agent sends it (`LAUNCH_GROUP`), reports `TASK_STARTING`, `TASK_RUNNING` and how each ended, kills the rest of a group when one of its tasks fails or is killed, and exits once all its tasks are over and their updates acknowledged; mirrors `DefaultExecutor` in `src/launcher/default_executor.cpp`.
//!
//! Divergence from C++: C++ runs each task in a nested container of the executor's
//! container, through the agent's operator API (`LAUNCH_CONTAINER`,
//! `WAIT_NESTED_CONTAINER`, `KILL_NESTED_CONTAINER`). This agent has no nested containers,
//! so each task's command is a child process of the executor in its own process group
//! (the command executor's task logic, `super::task`); it stays inside the executor's
//! container, and the agent's destruction of that container kills it too. The sandboxes
//! keep the Mesos layout: the task runs in `containers/<container id>` under the
//! executor's sandbox (its working directory and `MESOS_SANDBOX`, with its `stdout` and
//! `stderr` files), reached as `tasks/<task id>` by a symbolic link, as C++ links it for
//! the web UI. The container id (a fresh UUID whose parent is the executor's container)
//! is still made and reported in each update's `container_status`. A task runs with the
//! executor's environment, `MESOS_SANDBOX`, `MESOS_CONTAINER_IP` (this executor's address),
//! `MESOS_ALLOCATION_ROLE` (its resources' role) and its command's variables.
//!
//! As in C++: no `LAUNCH` (an error, then shutdown); a kill uses the kill event's grace
//! period, else the task's kill policy's, else 3 s; a killed or failed task kills the
//! other tasks of its group (grace 3 s); `SHUTDOWN` kills every task (grace 3 s);
//! `TASK_KILLING` goes first to frameworks with `TASK_KILLING_STATE`; a task whose launch
//! failed ends `TASK_FAILED` with the launch error. When the executor is told to shut
//! down while not subscribed (the library does so when it loses a non-checkpointing
//! agent), C++ leaves the nested containers to the agent; here the tasks are killed at
//! once, as nothing else would.
//!
//! Not done: checks and health checks (`TaskInfo.check`, `health_check`), volumes
//! (`SANDBOX_PATH` mappings of the executor's disk), resource limits.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock, PoisonError, Weak};
use std::time::Duration;

use mesos::proto::executor::event;
use mesos::proto::task_status::{Reason, Source};
use mesos::proto::{
    framework_info::capability::Type as FrameworkCapability, ContainerId, ContainerStatus, ExecutorId, FrameworkInfo,
    KillPolicy, TaskGroupInfo, TaskId, TaskInfo, TaskState, TaskStatus,
};
use mesos::state::Uuid;

use super::executor::Transport;
use super::executor_http::{HttpCallbacks, HttpExecutor, TaskLogic};
use super::task::{self, TaskSandbox, DEFAULT_KILL_GRACE_PERIOD};

/// The directory of the child containers' sandboxes under the executor's sandbox.
pub const CONTAINERS_DIRECTORY: &str = "containers";

/// The directory of the links from task ids to their sandboxes.
pub const TASKS_DIRECTORY: &str = "tasks";

/// A task's process (C++ `DefaultExecutor::Container`).
struct Container {
    container_id: ContainerId,
    task: TaskInfo,
    /// The ids of the tasks of its group.
    group: Vec<TaskId>,
    /// The task's process (and group) id, once launched.
    pid: Option<i32>,
    launched: bool,
    /// Why the launch failed.
    launch_error: Option<String>,
    /// One of its updates was acknowledged.
    acknowledged: bool,
    killing: bool,
    killing_task_group: bool,
    killed_by_completion_timeout: bool,
}

#[derive(Default)]
struct Books {
    framework: Option<FrameworkInfo>,
    executor_container_id: Option<ContainerId>,
    shutting_down: bool,
    /// Active tasks in launch order (C++ `containers`).
    containers: Vec<Container>,
}

impl Books {
    fn container(&self, task_id: &TaskId) -> Option<&Container> {
        self.containers.iter().find(|c| &c.task.task_id == task_id)
    }

    fn container_mut(&mut self, task_id: &TaskId) -> Option<&mut Container> {
        self.containers.iter_mut().find(|c| &c.task.task_id == task_id)
    }

    /// The active task `task_id` if it is still the one in `container_id`.
    fn current(&mut self, task_id: &TaskId, container_id: &ContainerId) -> Option<&mut Container> {
        self.container_mut(task_id).filter(|c| &c.container_id == container_id)
    }
}

/// The default executor's task logic; its updates go through the [`HttpExecutor`].
pub struct DefaultExecutor {
    this: Weak<DefaultExecutor>,
    runtime: tokio::runtime::Handle,
    executor_id: ExecutorId,
    sandbox: PathBuf,
    /// `MESOS_CONTAINER_IP` for the tasks.
    container_ip: Option<String>,
    http: OnceLock<Weak<HttpExecutor>>,
    books: Mutex<Books>,
}

impl DefaultExecutor {
    /// The executor `executor_id` whose sandbox is `sandbox`, running its tasks on
    /// `runtime`.
    pub fn new(
        runtime: tokio::runtime::Handle,
        executor_id: ExecutorId,
        sandbox: PathBuf,
        container_ip: Option<String>,
    ) -> Arc<DefaultExecutor> {
        Arc::new_cyclic(|this| DefaultExecutor {
            this: this.clone(),
            runtime,
            executor_id,
            sandbox,
            container_ip,
            http: OnceLock::new(),
            books: Mutex::new(Books::default()),
        })
    }

    /// Gives the executor its v1 side, and the v1 side this executor's logic.
    pub fn attach(self: &Arc<Self>, http: &Arc<HttpExecutor>) {
        let _ = self.http.set(Arc::downgrade(http));
        http.set_logic(self.clone());
    }

    fn http(&self) -> Option<Arc<HttpExecutor>> {
        self.http.get().and_then(Weak::upgrade)
    }

    fn books(&self) -> std::sync::MutexGuard<'_, Books> {
        self.books.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The process ids of the tasks still running (killed when the program ends).
    pub fn running_pids(&self) -> Vec<i32> {
        self.books().containers.iter().filter_map(|c| c.pid).collect()
    }

    /// A status update of `task_id` (C++ `createTaskStatus` and `forward`), sent while the
    /// caller holds the books so that a task's updates leave in order.
    fn forward(
        &self,
        books: &Books,
        task_id: &TaskId,
        state: TaskState,
        reason: Option<Reason>,
        message: Option<String>,
    ) {
        let container_status = books
            .container(task_id)
            .map(|c| ContainerStatus { container_id: Some(c.container_id.clone()), ..ContainerStatus::default() });
        let status = TaskStatus {
            task_id: task_id.clone(),
            state: state as i32,
            executor_id: Some(self.executor_id.clone()),
            source: Some(Source::Executor as i32),
            reason: reason.map(|reason| reason as i32),
            message,
            container_status,
            ..TaskStatus::default()
        };
        match self.http() {
            Some(http) => http.update(status),
            None => tracing::warn!("Dropping an update of task '{}': not connected", task_id.value),
        }
    }

    /// All tasks are over: the program ends once their updates are acknowledged (C++
    /// `_shutdown`).
    fn finish(&self) {
        if let Some(http) = self.http() {
            http.finish();
        }
    }

    /// C++ `dropTaskGroup`: the group cannot be launched.
    fn drop_task_group(&self, books: &Books, task_group: &TaskGroupInfo) {
        let partition_aware = books.framework.as_ref().is_some_and(|framework| {
            framework.capabilities.iter().any(|c| c.r#type == Some(FrameworkCapability::PartitionAware as i32))
        });
        let state = if partition_aware { TaskState::TaskDropped } else { TaskState::TaskLost };
        for task in &task_group.tasks {
            self.forward(books, &task.task_id, state, None, None);
        }
    }

    /// The sandbox of a task: `containers/<container id>`, linked from `tasks/<task id>`.
    fn make_sandbox(&self, container_id: &ContainerId, task_id: &TaskId) -> Result<PathBuf, String> {
        let directory = self.sandbox.join(CONTAINERS_DIRECTORY).join(&container_id.value);
        std::fs::create_dir_all(&directory)
            .map_err(|error| format!("Failed to create the sandbox '{}': {error}", directory.display()))?;
        let tasks = self.sandbox.join(TASKS_DIRECTORY);
        std::fs::create_dir_all(&tasks)
            .map_err(|error| format!("Unable to create task directory '{}': {error}", tasks.display()))?;
        let link = tasks.join(&task_id.value);
        let _ = std::fs::remove_file(&link);
        std::os::unix::fs::symlink(&directory, &link).map_err(|error| {
            format!(
                "Unable to create symbolic link for container {} of task '{}': {error}",
                container_id.value, task_id.value
            )
        })?;
        Ok(directory)
    }

    /// The variables a task gets on top of the executor's environment.
    fn task_environment(&self, task: &TaskInfo, directory: &Path) -> Vec<(String, String)> {
        let mut environment = vec![("MESOS_SANDBOX".to_string(), directory.to_string_lossy().into_owned())];
        if let Some(ip) = &self.container_ip {
            environment.push(("MESOS_CONTAINER_IP".to_string(), ip.clone()));
        }
        if let Some(role) = task.resources.first().and_then(|r| r.allocation_info.as_ref()).and_then(|a| a.role.clone())
        {
            environment.push(("MESOS_ALLOCATION_ROLE".to_string(), role));
        }
        environment
    }

    /// C++ `_launchGroup` and `__launchGroup`: `TASK_STARTING` for every task, then each is
    /// forked and gets `TASK_RUNNING`; a task that could not be forked ends `TASK_FAILED`
    /// (and so kills its group).
    fn launch_task_group(&self, task_group: &TaskGroupInfo) {
        let mut books = self.books();
        if books.shutting_down {
            tracing::warn!("Ignoring the launch group operation as the executor is shutting down");
            return;
        }
        let subscribed = self.http().is_some_and(|http| http.is_subscribed());
        let Some(parent) = books.executor_container_id.clone().filter(|_| subscribed) else {
            tracing::warn!("Unable to complete the launch group operation as the executor is not subscribed");
            self.drop_task_group(&books, task_group);
            if books.containers.is_empty() {
                self.finish();
            }
            return;
        };
        let group: Vec<TaskId> = task_group.tasks.iter().map(|task| task.task_id.clone()).collect();
        let mut containers = Vec::new();
        for task in &task_group.tasks {
            let container_id =
                ContainerId { value: Uuid::random().to_string(), parent: Some(Box::new(parent.clone())) };
            containers.push(container_id.clone());
            books.containers.push(Container {
                container_id,
                task: task.clone(),
                group: group.clone(),
                pid: None,
                launched: false,
                launch_error: None,
                acknowledged: false,
                killing: false,
                killing_task_group: false,
                killed_by_completion_timeout: false,
            });
            self.forward(&books, &task.task_id, TaskState::TaskStarting, None, None);
        }

        let mut failed = Vec::new();
        for (task, container_id) in task_group.tasks.iter().zip(containers.iter()) {
            let task_id = &task.task_id;
            let spawned = self.make_sandbox(container_id, task_id).and_then(|directory| {
                let sandbox = TaskSandbox { environment: self.task_environment(task, &directory), directory };
                let _guard = self.runtime.enter();
                task::spawn(task, Some(&sandbox))
            });
            let child = match spawned {
                Ok(child) => child,
                Err(error) => {
                    tracing::error!(
                        "Failed to launch child container {} of task '{}': {error}",
                        container_id.value,
                        task_id.value
                    );
                    if let Some(container) = books.container_mut(task_id) {
                        container.launch_error = Some(error);
                    }
                    failed.push(task_id.clone());
                    continue;
                }
            };
            let pid = child.id().map(|pid| pid as i32);
            tracing::info!(
                "Forked task '{}' in child container {} at {}",
                task_id.value,
                container_id.value,
                pid.unwrap_or(-1)
            );
            if let Some(container) = books.container_mut(task_id) {
                container.pid = pid;
                container.launched = true;
            }
            self.watch(child, task_id.clone(), container_id.clone());
            if let Some(duration) = task::max_completion_time(task).filter(|d| !d.is_zero()) {
                self.schedule_max_completion(task_id.clone(), container_id.clone(), duration);
            }
            self.forward(&books, task_id, TaskState::TaskRunning, None, None);
        }
        tracing::info!(
            "Finished launching tasks {:?} in child containers {:?}",
            group.iter().map(|id| id.value.as_str()).collect::<Vec<_>>(),
            containers.iter().map(|id| id.value.as_str()).collect::<Vec<_>>()
        );
        drop(books);
        for task_id in failed {
            self.waited(&task_id, None, None);
        }
    }

    /// Reaps a task's process.
    fn watch(&self, mut child: tokio::process::Child, task_id: TaskId, container_id: ContainerId) {
        let this = self.this.clone();
        self.runtime.spawn(async move {
            let status = child.wait().await;
            if let Some(this) = this.upgrade() {
                this.waited(&task_id, Some(&container_id), Some(status));
            }
        });
    }

    /// C++ `waited`: a task ended (`status` is `None` when it never started). Its terminal
    /// update goes out; a failed or killed task kills the rest of its group; the last one
    /// ends the executor.
    fn waited(
        &self,
        task_id: &TaskId,
        container_id: Option<&ContainerId>,
        status: Option<std::io::Result<std::process::ExitStatus>>,
    ) {
        let mut books = self.books();
        let Some(container) = books.container(task_id) else { return };
        if container_id.is_some_and(|id| id != &container.container_id) {
            return;
        }
        let ending = match status {
            Some(status) => task::ending(status, container.killing, container.killed_by_completion_timeout),
            None if container.killing => {
                task::Ending { state: TaskState::TaskKilled, reason: None, message: String::new() }
            }
            None => task::Ending {
                state: TaskState::TaskFailed,
                reason: None,
                message: container.launch_error.clone().unwrap_or_default(),
            },
        };
        let container_id = container.container_id.value.clone();
        let group = container.group.clone();
        let killing_task_group = container.killing_task_group;
        let message = (!ending.message.is_empty()).then(|| ending.message.clone());
        self.forward(&books, task_id, ending.state, ending.reason, message);
        tracing::info!(
            "Child container {container_id} of task '{}' completed in state {}{}",
            task_id.value,
            ending.state.as_str_name(),
            if ending.message.is_empty() { String::new() } else { format!(": {}", ending.message) }
        );

        // A task group's default restart policy: when one of its tasks fails or is killed,
        // the others are killed.
        let group_ends = !books.shutting_down
            && !killing_task_group
            && matches!(ending.state, TaskState::TaskFailed | TaskState::TaskKilled);
        if group_ends {
            tracing::info!(
                "Killing task group containing tasks {:?}",
                group.iter().map(|id| id.value.as_str()).collect::<Vec<_>>()
            );
            if let Some(container) = books.container_mut(task_id) {
                container.killing_task_group = true;
            }
            for other in group.iter().filter(|other| *other != task_id) {
                let Some(sibling) = books.container_mut(other) else { continue };
                sibling.killing_task_group = true;
                // A kill may be under way already (MESOS-8051).
                if !sibling.killing {
                    self.kill_container(&mut books, other, None);
                }
            }
        }
        books.containers.retain(|c| &c.task.task_id != task_id);
        if books.containers.is_empty() {
            self.finish();
        }
    }

    /// C++ `kill(Container*, gracePeriod)`: `TASK_KILLING` for capable frameworks, SIGTERM
    /// to the task's process group, SIGKILL after the grace period (3 s by default).
    fn kill_container(&self, books: &mut Books, task_id: &TaskId, grace: Option<Duration>) {
        let capable = task::has_killing_state(books.framework.as_ref());
        let Some(container) = books.container_mut(task_id) else { return };
        // Launches that failed end on their own.
        let (true, Some(pid)) = (container.launched, container.pid) else { return };
        container.killing = true;
        let container_id = container.container_id.clone();
        let send_killing = capable && !container.killed_by_completion_timeout;
        let grace = grace.unwrap_or(DEFAULT_KILL_GRACE_PERIOD);
        tracing::info!(
            "Killing task {} running in child container {} with SIGTERM signal",
            task_id.value,
            container_id.value
        );
        if send_killing {
            self.forward(books, task_id, TaskState::TaskKilling, None, None);
        }
        let this = self.this.clone();
        let task_id = task_id.clone();
        task::kill_with_escalation(&self.runtime, pid, grace, move || {
            this.upgrade().is_some_and(|this| this.books().current(&task_id, &container_id).is_some())
        });
    }

    /// The kill of a task past its `max_completion_time`, with no grace (C++
    /// `maxCompletion`).
    fn schedule_max_completion(&self, task_id: TaskId, container_id: ContainerId, duration: Duration) {
        let this = self.this.clone();
        self.runtime.spawn(async move {
            tokio::time::sleep(duration).await;
            let Some(this) = this.upgrade() else { return };
            let mut books = this.books();
            let Some(container) = books.current(&task_id, &container_id) else { return };
            if container.killing {
                return;
            }
            tracing::info!("Killing task {} which exceeded its maximum completion time of {duration:?}", task_id.value);
            container.killed_by_completion_timeout = true;
            this.kill_container(&mut books, &task_id, Some(Duration::ZERO));
        });
    }

    /// C++ `shutdown`: every task is killed, and the executor ends when they are over.
    fn shut_down(&self) {
        let mut books = self.books();
        if books.shutting_down {
            tracing::warn!("Ignoring shutdown since it is in progress");
            return;
        }
        tracing::info!("Shutting down");
        books.shutting_down = true;
        if books.containers.is_empty() {
            drop(books);
            self.finish();
            return;
        }
        let subscribed = self.http().is_some_and(|http| http.is_subscribed());
        if !subscribed {
            // No agent to report to: the tasks go now (C++ leaves them to the agent).
            for pid in books.containers.iter().filter_map(|c| c.pid) {
                task::signal_group(pid, libc::SIGKILL);
            }
            drop(books);
            self.finish();
            return;
        }
        let active: Vec<TaskId> =
            books.containers.iter().filter(|c| !c.killing).map(|c| c.task.task_id.clone()).collect();
        for task_id in active {
            self.kill_container(&mut books, &task_id, None);
        }
    }
}

impl TaskLogic for DefaultExecutor {
    fn subscribed(&self, subscribed: &event::Subscribed) {
        let mut books = self.books();
        books.framework = Some(subscribed.framework_info.clone());
        books.executor_container_id = subscribed.container_id.clone();
        if books.executor_container_id.is_none() {
            tracing::warn!("SUBSCRIBED without the executor's container id");
        }
    }

    fn launch(&self, _task: &TaskInfo) {
        // `LAUNCH` goes to other executors, never to this one.
        tracing::error!("LAUNCH event is not supported");
        self.shut_down();
    }

    fn launch_group(&self, task_group: &TaskGroupInfo) {
        self.launch_task_group(task_group);
    }

    /// C++ `killTask`: the kill's grace period, else the task's kill policy's, else 3 s;
    /// a task already being killed is left alone.
    fn kill(&self, task_id: &TaskId, policy: Option<&KillPolicy>) {
        let mut books = self.books();
        if books.shutting_down {
            tracing::warn!("Ignoring kill for task '{}' since the executor is shutting down", task_id.value);
            return;
        }
        tracing::info!("Received kill for task '{}'", task_id.value);
        let Some(container) = books.container(task_id) else {
            tracing::warn!("Ignoring kill for task '{}' as it is no longer active", task_id.value);
            return;
        };
        if container.killing {
            tracing::warn!("Ignoring kill for task '{}' as it is in the process of getting killed", task_id.value);
            return;
        }
        let grace = task::grace_period(policy).or_else(|| task::grace_period(container.task.kill_policy.as_ref()));
        self.kill_container(&mut books, task_id, grace);
    }

    fn shutdown(&self) {
        self.shut_down();
    }

    /// Launched tasks none of whose updates was acknowledged (C++ leaves out those whose
    /// launch is under way, and the ended ones).
    fn unacknowledged_tasks(&self) -> Vec<TaskInfo> {
        self.books().containers.iter().filter(|c| c.launched && !c.acknowledged).map(|c| c.task.clone()).collect()
    }

    /// Done once no task is active and every update is acknowledged.
    fn acknowledged(&self, status: &TaskStatus, left: usize) -> bool {
        let mut books = self.books();
        if let Some(container) = books.container_mut(&status.task_id) {
            container.acknowledged = true;
        }
        books.containers.is_empty() && left == 0
    }
}

const USAGE: &str = "Usage: mesos-default-executor [--launcher_dir=<dir>]\n\nRuns the task groups the agent sends, \
                     reading its configuration from the MESOS_* environment the agent sets.";

/// The whole `mesos-default-executor` program: `arguments` without the program name, the
/// process's environment; returns the exit code (0 once every task is over and
/// acknowledged).
pub fn main(arguments: Vec<String>, environment: Vec<(String, String)>) -> i32 {
    for argument in arguments {
        if argument == "--help" || argument == "-h" {
            println!("{USAGE}");
            return 0;
        }
        if !argument.starts_with("--launcher_dir=") {
            eprintln!("Failed to load flags: unknown flag '{argument}'\n\n{USAGE}");
            return 1;
        }
    }
    let variable = |name: &str| environment.iter().find(|(n, _)| n == name).map(|(_, value)| value.clone());
    let level = variable("MESOS_LOGGING_LEVEL").unwrap_or_else(|| "INFO".to_string());
    let _ = mesos::logging::initialize(false, &level, variable("RUST_LOG").as_deref());

    let Some(framework_id) = variable("MESOS_FRAMEWORK_ID") else {
        eprintln!("Expecting 'MESOS_FRAMEWORK_ID' to be set in the environment");
        return 1;
    };
    let Some(executor_id) = variable("MESOS_EXECUTOR_ID") else {
        eprintln!("Expecting 'MESOS_EXECUTOR_ID' to be set in the environment");
        return 1;
    };
    let Some(sandbox) = variable("MESOS_SANDBOX") else {
        eprintln!("Expecting 'MESOS_SANDBOX' to be set in the environment");
        return 1;
    };
    let (runtime, lp) = match super::start_instance(&environment) {
        Ok(started) => started,
        Err(error) => {
            eprintln!("{error}");
            return 1;
        }
    };
    let executor_id = ExecutorId { value: executor_id };
    let container_ip = Some(lp.address().ip().to_string());
    let executor =
        DefaultExecutor::new(runtime.handle().clone(), executor_id.clone(), PathBuf::from(sandbox), container_ip);
    let (exit, mut exited) = tokio::sync::mpsc::unbounded_channel();
    let http = HttpExecutor::with_logic(
        mesos::proto::FrameworkId { value: framework_id },
        executor_id,
        runtime.handle().clone(),
        exit,
    );
    executor.attach(&http);
    let callbacks = HttpCallbacks(http.clone());
    let code = match mesos::v1::executor::Mesos::new(&lp, mesos::api::ContentType::Protobuf, callbacks, environment) {
        Ok(mesos) => {
            let code = runtime.block_on(exited.recv()).unwrap_or(1);
            drop(mesos);
            code
        }
        Err(error) => {
            eprintln!("{error}");
            1
        }
    };
    // Tasks outlive nothing of this executor's.
    for pid in executor.running_pids() {
        task::signal_group(pid, libc::SIGKILL);
    }
    runtime.block_on(lp.shutdown());
    code
}
