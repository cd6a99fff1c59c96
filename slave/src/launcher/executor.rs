//! The command executor (`mesos-executor`): runs one command task in its own process group, reports `TASK_STARTING`, `TASK_RUNNING` and how it ended, kills it with SIGTERM then SIGKILL after the grace period, and exits after its task is done; mirrors `src/launcher/executor.cpp` on the v0 executor driver.
//!
//! The task's command runs with the executor's environment plus the command's variables,
//! in the sandbox (the executor's working directory), its output going to the executor's
//! stdout and stderr (the sandbox's `stdout` and `stderr` files). A kill sends
//! `TASK_KILLING` first when the framework has the `TASK_KILLING_STATE` capability. The
//! terminal state: `TASK_KILLED` after a kill, `TASK_FINISHED` for exit status 0,
//! `TASK_FAILED` otherwise (and with `REASON_MAX_COMPLETION_TIME_REACHED` when the task's
//! `max_completion_time` ran out), with the message `Command exited with status N` or
//! `Command terminated with signal <name>`. One second after the terminal update the
//! driver is stopped and the program ends.
//!
//! Not done: health checks and checks (`TaskInfo.health_check`/`check`), `--task_command`
//! with a container image (`--rootfs`), and the v1 HTTP executor API
//! (`MESOS_HTTP_COMMAND_EXECUTOR=1` still uses the v0 driver).

use std::sync::{Arc, Mutex, OnceLock, Weak};
use std::time::Duration;

use libprocess::{Config, Libprocess};
use mesos::exec::{Executor, ExecutorDriver, MesosExecutorDriver, Status};
use mesos::proto::framework_info::capability::Type as FrameworkCapability;
use mesos::proto::task_status::{Reason, Source};
use mesos::proto::{ExecutorId, ExecutorInfo, FrameworkInfo, SlaveInfo, TaskId, TaskInfo, TaskState, TaskStatus};

/// The kill grace period when neither the kill nor the task names one.
pub const DEFAULT_KILL_GRACE_PERIOD: Duration = Duration::from_secs(3);

/// What the shutdown grace period leaves out for reaping (C++ `MAX_REAP_INTERVAL` plus a
/// second).
const SHUTDOWN_MARGIN: Duration = Duration::from_secs(2);

/// How long after the terminal update the executor stops (v0 mode).
const SELF_TERMINATE_DELAY: Duration = Duration::from_secs(1);

/// The command executor; cheap to clone, every clone sees the same task.
#[derive(Clone)]
pub struct CommandExecutor {
    inner: Arc<Inner>,
}

struct Inner {
    runtime: tokio::runtime::Handle,
    /// The driver, once made: the executor sends updates from its own tasks too.
    driver: OnceLock<Weak<MesosExecutorDriver>>,
    shutdown_grace_period: Duration,
    task: Mutex<TaskState_>,
}

#[derive(Default)]
struct TaskState_ {
    executor_id: ExecutorId,
    framework: Option<FrameworkInfo>,
    task_id: Option<TaskId>,
    kill_grace_period: Option<Duration>,
    /// The task's process (and group) id.
    pid: Option<i32>,
    launched: bool,
    killed: bool,
    killed_by_max_completion_time: bool,
    terminated: bool,
    /// Bumped by each (re)scheduled escalation, so an earlier one does nothing.
    escalation: u64,
}

impl CommandExecutor {
    /// An executor whose tasks run on `runtime`; `shutdown_grace_period` is
    /// `MESOS_EXECUTOR_SHUTDOWN_GRACE_PERIOD`.
    pub fn new(runtime: tokio::runtime::Handle, shutdown_grace_period: Duration) -> CommandExecutor {
        CommandExecutor {
            inner: Arc::new(Inner {
                runtime,
                driver: OnceLock::new(),
                shutdown_grace_period,
                task: Mutex::new(TaskState_::default()),
            }),
        }
    }

    /// Gives the executor its driver (made after the executor, which it owns).
    pub fn set_driver(&self, driver: &Arc<MesosExecutorDriver>) {
        let _ = self.inner.driver.set(Arc::downgrade(driver));
    }

    fn driver(&self) -> Option<Arc<MesosExecutorDriver>> {
        self.inner.driver.get().and_then(Weak::upgrade)
    }

    fn send(
        &self,
        driver: &dyn ExecutorDriver,
        task_id: &TaskId,
        state: TaskState,
        reason: Option<Reason>,
        message: Option<String>,
    ) {
        let executor_id = self.inner.task.lock().map(|t| t.executor_id.clone()).unwrap_or_default();
        let status = TaskStatus {
            task_id: task_id.clone(),
            state: state as i32,
            executor_id: Some(executor_id),
            source: Some(Source::Executor as i32),
            reason: reason.map(|reason| reason as i32),
            message,
            ..TaskStatus::default()
        };
        driver.send_status_update(status);
    }

    /// Starts the task's command (C++ `launchTaskSubprocess`).
    fn spawn(task: &TaskInfo) -> Result<tokio::process::Child, String> {
        let command =
            task.command.clone().ok_or_else(|| format!("Expecting task '{}' to have a command", task.task_id.value))?;
        let value = command
            .value
            .clone()
            .ok_or_else(|| format!("Command of task '{}' is not specified", task.task_id.value))?;
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

    /// Waits for the task's process and reports how it ended (C++ `reaped`).
    fn watch(&self, mut child: tokio::process::Child) {
        let this = self.clone();
        self.inner.runtime.spawn(async move {
            use std::os::unix::process::ExitStatusExt;
            let status = child.wait().await;
            let Some(driver) = this.driver() else { return };
            let (state, reason, message, task_id) = {
                let mut task = this.inner.task.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
                task.terminated = true;
                let Some(task_id) = task.task_id.clone() else { return };
                match status {
                    Err(error) => (
                        TaskState::TaskFailed,
                        None,
                        format!("Failed to get exit status for Command: {error}"),
                        task_id,
                    ),
                    Ok(status) => {
                        let raw = status.into_raw();
                        let (state, reason) = if task.killed_by_max_completion_time {
                            (TaskState::TaskFailed, Some(Reason::MaxCompletionTimeReached))
                        } else if task.killed {
                            (TaskState::TaskKilled, None)
                        } else if status.success() {
                            (TaskState::TaskFinished, None)
                        } else {
                            (TaskState::TaskFailed, None)
                        };
                        (state, reason, format!("Command {}", describe_wait_status(raw)), task_id)
                    }
                }
            };
            tracing::info!("{message}");
            this.send(driver.as_ref(), &task_id, state, reason, Some(message));
            tokio::time::sleep(SELF_TERMINATE_DELAY).await;
            driver.stop();
        });
    }

    /// SIGTERM to the task's process group, SIGKILL after `grace` (C++ `kill`).
    fn kill(&self, driver: &dyn ExecutorDriver, task_id: &TaskId, grace: Duration) {
        let (pid, escalation, send_killing) = {
            let mut task = self.inner.task.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            if task.terminated || !task.launched || task.task_id.as_ref() != Some(task_id) {
                tracing::warn!("Ignoring kill of task {}: not running here", task_id.value);
                return;
            }
            let Some(pid) = task.pid else { return };
            task.escalation += 1;
            let first = !task.killed;
            task.killed = true;
            let capable = task.framework.as_ref().is_some_and(|framework| {
                framework.capabilities.iter().any(|c| c.r#type == Some(FrameworkCapability::TaskKillingState as i32))
            });
            (pid, task.escalation, first && capable && !task.killed_by_max_completion_time)
        };
        if send_killing {
            self.send(driver, task_id, TaskState::TaskKilling, None, None);
        }
        tracing::info!("Sending SIGTERM to process group {pid}; escalating to SIGKILL in {grace:?}");
        signal_group(pid, libc::SIGTERM);
        let this = self.clone();
        self.inner.runtime.spawn(async move {
            tokio::time::sleep(grace).await;
            let task = this.inner.task.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            if !task.terminated && task.escalation == escalation {
                tracing::info!("Process {pid} did not terminate after {grace:?}, sending SIGKILL to its process group");
                signal_group(pid, libc::SIGKILL);
            }
        });
    }
}

/// Sends `signal` to the process group `pid` leads.
fn signal_group(pid: i32, signal: i32) {
    // SAFETY: `killpg` only sends a signal; a group that is gone gives ESRCH.
    if unsafe { libc::killpg(pid, signal) } != 0 {
        tracing::warn!("Failed to signal process group {pid}: {}", std::io::Error::last_os_error());
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

impl Executor for CommandExecutor {
    fn registered(
        &mut self,
        _driver: &dyn ExecutorDriver,
        executor: &ExecutorInfo,
        framework: &FrameworkInfo,
        slave: &SlaveInfo,
    ) {
        tracing::info!("Registered executor on {}", slave.hostname);
        let mut task = self.inner.task.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        task.executor_id = executor.executor_id.clone();
        task.framework = Some(framework.clone());
    }

    fn reregistered(&mut self, _driver: &dyn ExecutorDriver, slave: &SlaveInfo) {
        tracing::info!(
            "Received reregistration ack from agent {}",
            slave.id.as_ref().map_or("", |id| id.value.as_str())
        );
    }

    fn disconnected(&mut self, _driver: &dyn ExecutorDriver) {
        tracing::info!("Disconnected from agent");
    }

    fn launch_task(&mut self, driver: &dyn ExecutorDriver, task: &TaskInfo) {
        let already = {
            let task_state = self.inner.task.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            task_state.launched || task_state.task_id.is_some()
        };
        if already {
            self.send(
                driver,
                &task.task_id,
                TaskState::TaskFailed,
                None,
                Some("Attempted to run multiple tasks using a \"command\" executor".into()),
            );
            return;
        }
        {
            let mut state = self.inner.task.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            state.task_id = Some(task.task_id.clone());
            state.kill_grace_period = task
                .kill_policy
                .as_ref()
                .and_then(|policy| policy.grace_period.as_ref())
                .map(|grace| Duration::from_nanos(grace.nanoseconds.max(0) as u64));
        }
        self.send(driver, &task.task_id, TaskState::TaskStarting, None, None);
        let child = {
            let _guard = self.inner.runtime.enter();
            Self::spawn(task)
        };
        let child = match child {
            Ok(child) => child,
            Err(message) => {
                tracing::error!("{message}");
                let mut state = self.inner.task.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
                state.terminated = true;
                drop(state);
                self.send(driver, &task.task_id, TaskState::TaskFailed, None, Some(message));
                if let Some(owned) = self.driver() {
                    self.inner.runtime.spawn(async move {
                        tokio::time::sleep(SELF_TERMINATE_DELAY).await;
                        owned.stop();
                    });
                }
                return;
            }
        };
        let pid = child.id().map(|pid| pid as i32);
        tracing::info!("Forked command at {}", pid.unwrap_or(-1));
        {
            let mut state = self.inner.task.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            state.pid = pid;
            state.launched = true;
        }
        self.watch(child);
        self.send(driver, &task.task_id, TaskState::TaskRunning, None, None);

        if let Some(limit) = &task.max_completion_time {
            let duration = Duration::from_nanos(limit.nanoseconds.max(0) as u64);
            let this = self.clone();
            let task_id = task.task_id.clone();
            self.inner.runtime.spawn(async move {
                tokio::time::sleep(duration).await;
                let Some(driver) = this.driver() else { return };
                {
                    let mut state = this.inner.task.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
                    if state.terminated || state.killed {
                        return;
                    }
                    tracing::info!(
                        "Killing task {} which exceeded its maximum completion time of {duration:?}",
                        task_id.value
                    );
                    state.killed_by_max_completion_time = true;
                }
                this.kill(driver.as_ref(), &task_id, Duration::ZERO);
            });
        }
    }

    fn kill_task(&mut self, driver: &dyn ExecutorDriver, task_id: &TaskId) {
        let grace = self
            .inner
            .task
            .lock()
            .map(|task| task.kill_grace_period)
            .ok()
            .flatten()
            .unwrap_or(DEFAULT_KILL_GRACE_PERIOD);
        tracing::info!("Received kill for task {} with grace period of {grace:?}", task_id.value);
        self.kill(driver, task_id, grace);
    }

    fn framework_message(&mut self, _driver: &dyn ExecutorDriver, _data: &[u8]) {}

    fn shutdown(&mut self, driver: &dyn ExecutorDriver) {
        tracing::info!("Shutting down");
        let (launched, task_id) = {
            let task = self.inner.task.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            (task.launched, task.task_id.clone())
        };
        match (launched, task_id) {
            (true, Some(task_id)) => {
                let grace = self.inner.shutdown_grace_period.saturating_sub(SHUTDOWN_MARGIN);
                self.kill(driver, &task_id, grace);
            }
            _ => {
                driver.stop();
            }
        }
    }

    fn error(&mut self, _driver: &dyn ExecutorDriver, message: &str) {
        tracing::error!("Executor error: {message}");
    }
}

const USAGE: &str = "Usage: mesos-executor [--launcher_dir=<dir>]\n\nRuns the command of the task the agent sends, \
                     reading its configuration from the MESOS_* environment the agent sets.";

/// The whole `mesos-executor` program: `arguments` without the program name, the
/// process's environment; returns the exit code.
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
    let level = environment
        .iter()
        .find(|(name, _)| name == "MESOS_LOGGING_LEVEL")
        .map_or("INFO".to_string(), |(_, value)| value.clone());
    let rust_log = environment.iter().find(|(name, _)| name == "RUST_LOG").map(|(_, value)| value.clone());
    let _ = mesos::logging::initialize(false, &level, rust_log.as_deref());

    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("Failed to start the runtime: {error}");
            return 1;
        }
    };
    let config =
        match Config::from_vars(environment.iter().filter(|(name, _)| name.starts_with("LIBPROCESS_")).cloned()) {
            Ok(config) => config,
            Err(error) => {
                eprintln!("{error}");
                return 1;
            }
        };
    let lp = match runtime.block_on(Libprocess::initialize(config)) {
        Ok(lp) => lp,
        Err(error) => {
            eprintln!("Failed to initialize libprocess: {error}");
            return 1;
        }
    };
    let grace = environment
        .iter()
        .find(|(name, _)| name == "MESOS_EXECUTOR_SHUTDOWN_GRACE_PERIOD")
        .and_then(|(_, value)| libprocess::duration::parse(value).ok())
        .unwrap_or(Duration::from_secs(5));
    let executor = CommandExecutor::new(runtime.handle().clone(), grace);
    let driver = Arc::new(MesosExecutorDriver::new(&lp, executor.clone(), environment));
    executor.set_driver(&driver);
    let status = driver.run();
    drop(driver);
    runtime.block_on(lp.shutdown());
    if status == Status::DriverStopped {
        0
    } else {
        1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wait_statuses_read_as_stout_writes_them() {
        assert_eq!(describe_wait_status(0), "exited with status 0");
        assert_eq!(describe_wait_status(3 << 8), "exited with status 3");
        assert_eq!(describe_wait_status(libc::SIGKILL), "terminated with signal Killed");
        assert_eq!(describe_wait_status(libc::SIGTERM), "terminated with signal Terminated");
    }
}
