//! Small constructors and predicates over the Mesos protobufs that master and agent share; mirrors parts of `src/common/protobuf_utils.cpp` (`isTerminalState`, `createTask`).

use crate::proto::{ExecutorId, FrameworkId, SlaveId, Task, TaskInfo, TaskState};

/// C++ `protobuf::isTerminalState(TaskState)`: the task is gone for good.
pub fn is_terminal_state(state: TaskState) -> bool {
    matches!(
        state,
        TaskState::TaskFinished
            | TaskState::TaskFailed
            | TaskState::TaskKilled
            | TaskState::TaskLost
            | TaskState::TaskError
            | TaskState::TaskDropped
            | TaskState::TaskGone
            | TaskState::TaskGoneByOperator
    )
}

/// C++ `protobuf::createTask`: the `Task` of `task` in `state`, run by `executor_id` (the
/// task's own executor, or the agent's command executor) on `slave_id`.
pub fn create_task(
    task: &TaskInfo,
    state: TaskState,
    framework_id: &FrameworkId,
    slave_id: &SlaveId,
    executor_id: Option<ExecutorId>,
) -> Task {
    Task {
        name: task.name.clone(),
        task_id: task.task_id.clone(),
        framework_id: framework_id.clone(),
        executor_id,
        slave_id: slave_id.clone(),
        state: state as i32,
        resources: task.resources.clone(),
        labels: task.labels.clone(),
        discovery: task.discovery.clone(),
        container: task.container.clone(),
        health_check: task.health_check.clone(),
        kill_policy: task.kill_policy,
        user: task.command.as_ref().and_then(|command| command.user.clone()),
        limits: task.limits.clone(),
        ..Task::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn terminal_states_are_upstreams() {
        let terminal: Vec<&str> = (0..=13)
            .filter_map(|n| TaskState::try_from(n).ok())
            .filter(|state| is_terminal_state(*state))
            .map(|state| state.as_str_name())
            .collect();
        let mut terminal = terminal;
        terminal.sort();
        assert_eq!(
            terminal,
            [
                "TASK_DROPPED",
                "TASK_ERROR",
                "TASK_FAILED",
                "TASK_FINISHED",
                "TASK_GONE",
                "TASK_GONE_BY_OPERATOR",
                "TASK_KILLED",
                "TASK_LOST"
            ]
        );
    }
}
