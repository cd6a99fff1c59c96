//! One task's command as a child process, shared by the command executor and the default executor: the fork in its own process group, SIGTERM then SIGKILL after a grace period, and the terminal state, reason and message of its exit; mirrors `launchTaskSubprocess`, `kill`/`escalated` and `reaped` of `src/launcher/executor.cpp` and `waited`/`escalated` of `src/launcher/default_executor.cpp`.

use std::path::PathBuf;
use std::time::Duration;

use mesos::proto::framework_info::capability::Type as FrameworkCapability;
use mesos::proto::task_status::Reason;
use mesos::proto::{FrameworkInfo, KillPolicy, TaskInfo, TaskState};

/// The kill grace period when neither the kill nor the task names one (both executors).
pub const DEFAULT_KILL_GRACE_PERIOD: Duration = Duration::from_secs(3);

/// Where a task of the default executor runs: its own sandbox directory (its working
/// directory, with its `stdout` and `stderr` files) and the variables set for it on top
/// of the executor's environment. The command executor's task runs in the executor's
/// sandbox with the executor's output, and passes no `TaskSandbox`.
#[derive(Clone, Debug)]
pub struct TaskSandbox {
    pub directory: PathBuf,
    pub environment: Vec<(String, String)>,
}

/// Starts the task's command in its own process group (C++ `launchTaskSubprocess`): a
/// shell command through `/bin/sh -c`, else the executable with the task's arguments, with
/// the command's environment on top of this process's (and of `sandbox`'s).
pub fn spawn(task: &TaskInfo, sandbox: Option<&TaskSandbox>) -> Result<tokio::process::Child, String> {
    let command =
        task.command.clone().ok_or_else(|| format!("Expecting task '{}' to have a command", task.task_id.value))?;
    let value =
        command.value.clone().ok_or_else(|| format!("Command of task '{}' is not specified", task.task_id.value))?;
    let mut process = if command.shell.unwrap_or(true) {
        let mut process = tokio::process::Command::new("/bin/sh");
        process.arg("-c").arg(&value);
        process
    } else {
        let mut process = tokio::process::Command::new(&value);
        let mut arguments = command.arguments.iter();
        if let Some(argv0) = arguments.next() {
            process.arg0(argv0);
        }
        process.args(arguments);
        process
    };
    if let Some(sandbox) = sandbox {
        let output = |name: &str| {
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(sandbox.directory.join(name))
                .map_err(|error| format!("Failed to open '{}' in '{}': {error}", name, sandbox.directory.display()))
        };
        process.current_dir(&sandbox.directory);
        process.stdin(std::process::Stdio::null());
        process.stdout(output("stdout")?);
        process.stderr(output("stderr")?);
        process.envs(sandbox.environment.iter().map(|(name, value)| (name, value)));
    }
    if let Some(environment) = &command.environment {
        for variable in &environment.variables {
            if let Some(value) = &variable.value {
                process.env(&variable.name, value);
            }
        }
    }
    process.process_group(0);
    process.kill_on_drop(false);
    process.spawn().map_err(|error| format!("Failed to launch the command '{value}': {error}"))
}

/// The grace period a kill policy names, if any.
pub fn grace_period(policy: Option<&KillPolicy>) -> Option<Duration> {
    policy
        .and_then(|policy| policy.grace_period.as_ref())
        .map(|grace| Duration::from_nanos(grace.nanoseconds.max(0) as u64))
}

/// The task's `max_completion_time`, if set.
pub fn max_completion_time(task: &TaskInfo) -> Option<Duration> {
    task.max_completion_time.as_ref().map(|limit| Duration::from_nanos(limit.nanoseconds.max(0) as u64))
}

/// Whether the framework understands `TASK_KILLING` (`TASK_KILLING_STATE`).
pub fn has_killing_state(framework: Option<&FrameworkInfo>) -> bool {
    framework.is_some_and(|framework| {
        framework.capabilities.iter().any(|c| c.r#type == Some(FrameworkCapability::TaskKillingState as i32))
    })
}

/// SIGTERM to the process group `pid` leads now, and SIGKILL after `grace` unless
/// `still_due` (asked then) says the task ended or another kill took over.
pub fn kill_with_escalation(
    runtime: &tokio::runtime::Handle,
    pid: i32,
    grace: Duration,
    still_due: impl FnOnce() -> bool + Send + 'static,
) {
    tracing::info!("Sending SIGTERM to process group {pid}; escalating to SIGKILL in {grace:?}");
    signal_group(pid, libc::SIGTERM);
    runtime.spawn(async move {
        tokio::time::sleep(grace).await;
        if still_due() {
            tracing::info!("Process {pid} did not terminate after {grace:?}, sending SIGKILL to its process group");
            signal_group(pid, libc::SIGKILL);
        }
    });
}

/// Sends `signal` to the process group `pid` leads.
pub fn signal_group(pid: i32, signal: i32) {
    // SAFETY: `killpg` only sends a signal; a group that is gone gives ESRCH.
    if unsafe { libc::killpg(pid, signal) } != 0 {
        tracing::warn!("Failed to signal process group {pid}: {}", std::io::Error::last_os_error());
    }
}

/// How a task ended, as its terminal update says it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ending {
    pub state: TaskState,
    pub reason: Option<Reason>,
    pub message: String,
}

/// The terminal update of a reaped task (C++ `reaped` and `waited`): `TASK_FAILED` with
/// `REASON_MAX_COMPLETION_TIME_REACHED` when its time ran out, `TASK_KILLED` after a kill,
/// `TASK_FINISHED` for status 0, else `TASK_FAILED`; the message `Command exited with
/// status N` or `Command terminated with signal <name>`.
pub fn ending(
    status: std::io::Result<std::process::ExitStatus>,
    killed: bool,
    killed_by_max_completion_time: bool,
) -> Ending {
    use std::os::unix::process::ExitStatusExt;
    match status {
        Err(error) => Ending {
            state: TaskState::TaskFailed,
            reason: None,
            message: format!("Failed to get exit status for Command: {error}"),
        },
        Ok(status) => {
            let (state, reason) = if killed_by_max_completion_time {
                (TaskState::TaskFailed, Some(Reason::MaxCompletionTimeReached))
            } else if killed {
                (TaskState::TaskKilled, None)
            } else if status.success() {
                (TaskState::TaskFinished, None)
            } else {
                (TaskState::TaskFailed, None)
            };
            Ending { state, reason, message: format!("Command {}", describe_wait_status(status.into_raw())) }
        }
    }
}

/// stout's `WSTRINGIFY`: `exited with status N` or `terminated with signal <name>`.
pub fn describe_wait_status(status: i32) -> String {
    if libc::WIFEXITED(status) {
        format!("exited with status {}", libc::WEXITSTATUS(status))
    } else if libc::WIFSIGNALED(status) {
        let signal = libc::WTERMSIG(status);
        // SAFETY: `strsignal` returns a NUL-terminated string for any signal number.
        let name = unsafe { std::ffi::CStr::from_ptr(libc::strsignal(signal)) };
        format!("terminated with signal {}", name.to_string_lossy())
    } else {
        format!("wait status {status}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::process::ExitStatusExt;

    #[test]
    fn wait_statuses_read_as_stout_writes_them() {
        assert_eq!(describe_wait_status(0), "exited with status 0");
        assert_eq!(describe_wait_status(3 << 8), "exited with status 3");
        assert_eq!(describe_wait_status(libc::SIGKILL), "terminated with signal Killed");
        assert_eq!(describe_wait_status(libc::SIGTERM), "terminated with signal Terminated");
    }

    #[test]
    fn endings_follow_the_kill_and_the_status() {
        let exited = |code: i32| Ok(std::process::ExitStatus::from_raw(code << 8));
        assert_eq!(ending(exited(0), false, false).state, TaskState::TaskFinished);
        assert_eq!(ending(exited(0), false, false).message, "Command exited with status 0");
        assert_eq!(ending(exited(2), false, false).state, TaskState::TaskFailed);
        let killed = ending(Ok(std::process::ExitStatus::from_raw(libc::SIGTERM)), true, false);
        assert_eq!(killed.state, TaskState::TaskKilled);
        assert_eq!(killed.message, "Command terminated with signal Terminated");
        let late = ending(Ok(std::process::ExitStatus::from_raw(libc::SIGKILL)), true, true);
        assert_eq!((late.state, late.reason), (TaskState::TaskFailed, Some(Reason::MaxCompletionTimeReached)));
    }
}
