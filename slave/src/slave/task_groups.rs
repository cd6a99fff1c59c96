//! Task groups on the agent (child module of `slave.rs`): `RunTaskGroupMessage` into the agent's run of a task or a task group, the `DEFAULT` executor's command (`mesos-default-executor` from `--launcher_dir`), queued task groups and their delivery as one `LAUNCH_GROUP` event; mirrors `Slave::runTaskGroup`, `taskOrTaskGroup`, `defaultExecutorCommandInfo`, the task-group parts of `Slave::{run,___run,kill}` and `Executor::{enqueueTaskGroup,dequeueTask,getQueuedTaskGroup}` in `src/slave/slave.cpp`.
//!
//! A task group is queued for its executor until the executor registers, then sent whole
//! in a `LAUNCH_GROUP` event, its tasks `TASK_STAGING` until the executor reports on them.
//! A kill of a task of a queued group kills the whole group (`TASK_KILLED`,
//! `REASON_TASK_KILLED_DURING_LAUNCH`). Only an HTTP executor can take a task group: as in
//! C++, a v0 executor is sent the `mesos.executor.Event` message, which its driver does
//! not handle, so the tasks stay staging until they are killed or the executor ends.

use std::path::Path;

use libprocess::{Context, UPID};
use mesos::internal::RunTaskGroupMessage;
use mesos::proto::executor::{event, Event};
use mesos::proto::executor_info::Type as ExecutorType;
use mesos::proto::{CommandInfo, ExecutorInfo, FrameworkId, TaskGroupInfo, TaskId, TaskInfo, TaskState};

use super::executor_http::{Connection, ToExecutor};
use super::executors::Executor;
use super::{create_task, Slave};
use crate::constants::MESOS_DEFAULT_EXECUTOR;

/// What the agent is asked to run: one task (`RunTaskMessage`) or a task group
/// (`RunTaskGroupMessage`) (C++ passes an `Option<TaskInfo>` and an
/// `Option<TaskGroupInfo>`).
#[derive(Clone, Debug)]
pub(crate) enum Work {
    Task(Box<TaskInfo>),
    Group(TaskGroupInfo),
}

impl Work {
    /// The tasks, one for a task.
    pub(crate) fn tasks(&self) -> &[TaskInfo] {
        match self {
            Work::Task(task) => std::slice::from_ref(task.as_ref()),
            Work::Group(group) => &group.tasks,
        }
    }

    /// A task with a command and no executor, which the agent runs with the command
    /// executor.
    pub(crate) fn is_command_task(&self) -> bool {
        matches!(self, Work::Task(task) if task.command.is_some() && task.executor.is_none())
    }

    /// C++ `taskOrTaskGroup`: `task 'a'` or `task group containing tasks [ a, b ]`.
    pub(crate) fn describe(&self) -> String {
        match self {
            Work::Task(task) => format!("task '{}'", task.task_id.value),
            Work::Group(group) => format!("task group containing tasks {}", task_ids(group)),
        }
    }
}

/// stout's rendering of a list of task ids: `[ a, b ]`.
fn task_ids(group: &TaskGroupInfo) -> String {
    let ids: Vec<&str> = group.tasks.iter().map(|task| task.task_id.value.as_str()).collect();
    format!("[ {} ]", ids.join(", "))
}

/// An executor of type `DEFAULT`, which the agent runs as `mesos-default-executor`.
pub(crate) fn is_default_executor(info: &ExecutorInfo) -> bool {
    info.r#type.is_some() && info.r#type() == ExecutorType::Default
}

/// C++ `defaultExecutorCommandInfo`: `mesos-default-executor` from the launcher directory
/// (its real path) with `--launcher_dir`, or a shell command that says why it is missing
/// and fails.
pub(crate) fn default_executor_command(launcher_dir: &Path, user: Option<String>) -> CommandInfo {
    let mut command = match std::fs::canonicalize(launcher_dir.join(MESOS_DEFAULT_EXECUTOR)) {
        Ok(path) => CommandInfo {
            shell: Some(false),
            value: Some(path.to_string_lossy().into_owned()),
            arguments: vec![MESOS_DEFAULT_EXECUTOR.to_string(), format!("--launcher_dir={}", launcher_dir.display())],
            ..CommandInfo::default()
        },
        Err(error) => {
            CommandInfo { shell: Some(true), value: Some(format!("echo '{error}'; exit 1")), ..CommandInfo::default() }
        }
    };
    command.user = user.filter(|user| !user.is_empty());
    command
}

impl ToExecutor for Event {
    /// A v1 event is sent as it is (C++ `Executor::send(const executor::Event&)`); a v0
    /// executor gets it as a `mesos.executor.Event` message.
    fn evolve(&self) -> Event {
        self.clone()
    }
}

/// The `LAUNCH_GROUP` event of `group`.
pub(crate) fn launch_group_event(group: TaskGroupInfo) -> Event {
    Event {
        r#type: Some(event::Type::LaunchGroup as i32),
        launch_group: Some(event::LaunchGroup { task_group: group }),
        ..Event::default()
    }
}

impl Executor {
    /// Queues a task or a task group (C++ `enqueueTask`, `enqueueTaskGroup`).
    pub(crate) fn enqueue(&mut self, work: Work) {
        match work {
            Work::Task(task) => self.queued_tasks.push(*task),
            Work::Group(group) => {
                self.queued_tasks.extend(group.tasks.iter().cloned());
                self.queued_task_groups.push(group);
            }
        }
    }

    /// The queued task group of `task_id` (C++ `getQueuedTaskGroup`).
    pub(crate) fn queued_task_group(&self, task_id: &TaskId) -> Option<&TaskGroupInfo> {
        self.queued_task_groups.iter().find(|group| group.tasks.iter().any(|task| &task.task_id == task_id))
    }

    /// Forgets the queued task groups none of whose tasks is queued any more (C++
    /// `dequeueTask`).
    pub(crate) fn prune_queued_task_groups(&mut self) {
        let queued = &self.queued_tasks;
        self.queued_task_groups
            .retain(|group| group.tasks.iter().any(|task| queued.iter().any(|q| q.task_id == task.task_id)));
    }
}

/// Sends a task group to its running executor; its tasks become launched (the task-group
/// part of C++ `___run`).
pub(crate) fn send_task_group(
    ctx: &mut Context<Slave>,
    framework_id: &FrameworkId,
    executor: &mut Executor,
    group: TaskGroupInfo,
) {
    tracing::info!(
        "Sending queued task group containing tasks {} to executor '{}' of framework {}",
        task_ids(&group),
        executor.id.value,
        framework_id.value
    );
    if matches!(executor.connection, Connection::Pid(_)) {
        tracing::warn!(
            "Executor '{}' is not an HTTP executor: it cannot run the task group containing tasks {}",
            executor.id.value,
            task_ids(&group)
        );
    }
    for task in &group.tasks {
        let launched = create_task(task, TaskState::TaskStaging, framework_id);
        executor.launched_tasks.insert(task.task_id.clone(), launched);
    }
    executor.ever_sent_task = true;
    executor.send(ctx, &launch_group_event(group));
}

impl Slave {
    /// `RunTaskGroupMessage` from the master (C++ `Slave::handleRunTaskGroupMessage` and
    /// `runTaskGroup`): the group runs with the executor the framework gave.
    pub(super) fn run_task_group_message(
        &mut self,
        ctx: &mut Context<Self>,
        from: &UPID,
        message: RunTaskGroupMessage,
    ) {
        if !self.sent_by_master(from, "run task group message") {
            return;
        }
        let Some(framework_id) = message.framework.id.clone() else {
            tracing::error!("Ignoring run task group message from {from} because it does not have a framework ID");
            return;
        };
        if message.task_group.tasks.is_empty() {
            tracing::error!(
                "Ignoring run task group message from {from} for framework {} because it has no tasks",
                framework_id.value
            );
            return;
        }
        self.run(
            ctx,
            message.framework,
            message.executor,
            Work::Group(message.task_group),
            &message.resource_version_uuids,
            None,
            message.launch_executor,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn task(id: &str) -> TaskInfo {
        TaskInfo { task_id: TaskId { value: id.into() }, ..TaskInfo::default() }
    }

    #[test]
    fn tasks_and_groups_are_described_as_cpp_logs_them() {
        assert_eq!(Work::Task(Box::new(task("a"))).describe(), "task 'a'");
        let group = TaskGroupInfo { tasks: vec![task("a"), task("b")] };
        assert_eq!(Work::Group(group).describe(), "task group containing tasks [ a, b ]");
    }

    #[test]
    fn a_missing_default_executor_fails_with_the_reason() {
        let dir = tempfile::tempdir().unwrap();
        let command = default_executor_command(dir.path(), Some(String::new()));
        assert_eq!(command.shell, Some(true));
        assert!(command.value.unwrap().ends_with("; exit 1"));
        assert_eq!(command.user, None);
        std::fs::write(dir.path().join(MESOS_DEFAULT_EXECUTOR), b"").unwrap();
        let command = default_executor_command(dir.path(), Some("nobody".into()));
        assert_eq!(command.shell, Some(false));
        assert_eq!(command.arguments[0], MESOS_DEFAULT_EXECUTOR);
        assert_eq!(command.arguments[1], format!("--launcher_dir={}", dir.path().display()));
        assert_eq!(command.user.as_deref(), Some("nobody"));
    }
}
