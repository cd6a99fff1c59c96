//! The command executor (`mesos-executor`): runs one command task in its own process group, reports `TASK_STARTING`, `TASK_RUNNING` and how it ended, kills it with SIGTERM then SIGKILL after the grace period, and exits after its task is done; mirrors `src/launcher/executor.cpp`.
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
//! With `MESOS_HTTP_COMMAND_EXECUTOR=1` the same task logic speaks the v1 executor HTTP
//! API through `mesos::v1::executor` (see `executor_http`), and the program ends when the
//! terminal update is acknowledged; otherwise it uses the v0 driver.
//!
//! Not done: health checks and checks (`TaskInfo.health_check`/`check`), `--task_command`
//! with a container image (`--rootfs`).

use std::sync::{Arc, Mutex, OnceLock, Weak};
use std::time::Duration;

use libprocess::Libprocess;
use mesos::exec::{Executor, ExecutorDriver, MesosExecutorDriver, Status};
use mesos::proto::task_status::{Reason, Source};
use mesos::proto::{
    ExecutorId, ExecutorInfo, FrameworkInfo, KillPolicy, SlaveInfo, TaskId, TaskInfo, TaskState, TaskStatus,
};

use super::task;
pub use super::task::{describe_wait_status, DEFAULT_KILL_GRACE_PERIOD};

/// What the shutdown grace period leaves out for reaping (C++ `MAX_REAP_INTERVAL` plus a
/// second).
const SHUTDOWN_MARGIN: Duration = Duration::from_secs(2);

/// How long after the terminal update the executor stops (v0 mode; the v1 mode waits for the acknowledgement).
const SELF_TERMINATE_DELAY: Duration = Duration::from_secs(1);

/// Where the command executor's updates go, and how it ends: the v0 driver or the v1
/// library (C++ hides both behind `MesosBase`, the v0 one through `V0ToV1Adapter`).
pub trait Transport: Send + Sync + 'static {
    /// Sends a status update of the task.
    fn update(&self, status: TaskStatus);
    /// The task's terminal update has been sent: end when it is safe.
    fn terminal_update_sent(&self);
    /// End now (shut down before a task was launched).
    fn stop(&self);
}

/// The v0 driver as a [`Transport`]: the program ends one second after the terminal update,
/// so that it leaves the socket (MESOS-4111).
struct DriverTransport {
    driver: Weak<MesosExecutorDriver>,
    runtime: tokio::runtime::Handle,
}

impl Transport for DriverTransport {
    fn update(&self, status: TaskStatus) {
        if let Some(driver) = self.driver.upgrade() {
            driver.send_status_update(status);
        }
    }

    fn terminal_update_sent(&self) {
        let driver = self.driver.clone();
        self.runtime.spawn(async move {
            tokio::time::sleep(SELF_TERMINATE_DELAY).await;
            if let Some(driver) = driver.upgrade() {
                driver.stop();
            }
        });
    }

    fn stop(&self) {
        if let Some(driver) = self.driver.upgrade() {
            driver.stop();
        }
    }
}

/// The command executor's task logic, whichever API carries it; cheap to clone, every
/// clone sees the same task.
#[derive(Clone)]
pub struct CommandExecutor {
    inner: Arc<Inner>,
}

struct Inner {
    runtime: tokio::runtime::Handle,
    /// Where updates go, once known: the executor sends updates from its own tasks too.
    transport: OnceLock<Arc<dyn Transport>>,
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
                transport: OnceLock::new(),
                shutdown_grace_period,
                task: Mutex::new(TaskState_::default()),
            }),
        }
    }

    /// Gives the executor its v0 driver (made after the executor, which it owns).
    pub fn set_driver(&self, driver: &Arc<MesosExecutorDriver>) {
        let transport = DriverTransport { driver: Arc::downgrade(driver), runtime: self.inner.runtime.clone() };
        self.set_transport(Arc::new(transport));
    }

    /// Gives the executor where its updates go.
    pub fn set_transport(&self, transport: Arc<dyn Transport>) {
        let _ = self.inner.transport.set(transport);
    }

    fn transport(&self) -> Option<Arc<dyn Transport>> {
        self.inner.transport.get().cloned()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, TaskState_> {
        self.inner.task.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn send(&self, task_id: &TaskId, state: TaskState, reason: Option<Reason>, message: Option<String>) {
        let executor_id = self.lock().executor_id.clone();
        let status = TaskStatus {
            task_id: task_id.clone(),
            state: state as i32,
            executor_id: Some(executor_id),
            source: Some(Source::Executor as i32),
            reason: reason.map(|reason| reason as i32),
            message,
            ..TaskStatus::default()
        };
        if let Some(transport) = self.transport() {
            transport.update(status);
        }
    }

    /// Waits for the task's process and reports how it ended (C++ `reaped`).
    fn watch(&self, mut child: tokio::process::Child) {
        let this = self.clone();
        self.inner.runtime.spawn(async move {
            let status = child.wait().await;
            let (ending, task_id) = {
                let mut task = this.lock();
                task.terminated = true;
                let Some(task_id) = task.task_id.clone() else { return };
                (task::ending(status, task.killed, task.killed_by_max_completion_time), task_id)
            };
            tracing::info!("{}", ending.message);
            this.send(&task_id, ending.state, ending.reason, Some(ending.message));
            if let Some(transport) = this.transport() {
                transport.terminal_update_sent();
            }
        });
    }

    /// SIGTERM to the task's process group, SIGKILL after `grace` (C++ `kill`).
    fn kill(&self, task_id: &TaskId, grace: Duration) {
        let (pid, escalation, send_killing) = {
            let mut task = self.lock();
            if task.terminated || !task.launched || task.task_id.as_ref() != Some(task_id) {
                tracing::warn!("Ignoring kill of task {}: not running here", task_id.value);
                return;
            }
            let Some(pid) = task.pid else { return };
            task.escalation += 1;
            let first = !task.killed;
            task.killed = true;
            let capable = task::has_killing_state(task.framework.as_ref());
            (pid, task.escalation, first && capable && !task.killed_by_max_completion_time)
        };
        if send_killing {
            self.send(task_id, TaskState::TaskKilling, None, None);
        }
        let this = self.clone();
        task::kill_with_escalation(&self.inner.runtime, pid, grace, move || {
            let task = this.lock();
            !task.terminated && task.escalation == escalation
        });
    }

    /// Subscribed or registered: the executor's id and its framework.
    pub fn registered(&self, executor: &ExecutorInfo, framework: &FrameworkInfo) {
        let mut task = self.lock();
        task.executor_id = executor.executor_id.clone();
        task.framework = Some(framework.clone());
    }

    /// Runs `task` (C++ `CommandExecutor::launch`): `TASK_STARTING`, the fork, then
    /// `TASK_RUNNING`; a second task fails.
    pub fn launch(&self, task: &TaskInfo) {
        let already = {
            let state = self.lock();
            state.launched || state.task_id.is_some()
        };
        if already {
            self.send(
                &task.task_id,
                TaskState::TaskFailed,
                None,
                Some("Attempted to run multiple tasks using a \"command\" executor".into()),
            );
            return;
        }
        {
            let mut state = self.lock();
            state.task_id = Some(task.task_id.clone());
            state.kill_grace_period = task::grace_period(task.kill_policy.as_ref());
        }
        self.send(&task.task_id, TaskState::TaskStarting, None, None);
        let child = {
            let _guard = self.inner.runtime.enter();
            task::spawn(task, None)
        };
        let child = match child {
            Ok(child) => child,
            Err(message) => {
                tracing::error!("{message}");
                self.lock().terminated = true;
                self.send(&task.task_id, TaskState::TaskFailed, None, Some(message));
                if let Some(transport) = self.transport() {
                    transport.terminal_update_sent();
                }
                return;
            }
        };
        let pid = child.id().map(|pid| pid as i32);
        tracing::info!("Forked command at {}", pid.unwrap_or(-1));
        {
            let mut state = self.lock();
            state.pid = pid;
            state.launched = true;
        }
        self.watch(child);
        self.send(&task.task_id, TaskState::TaskRunning, None, None);

        if let Some(duration) = task::max_completion_time(task) {
            let this = self.clone();
            let task_id = task.task_id.clone();
            self.inner.runtime.spawn(async move {
                tokio::time::sleep(duration).await;
                {
                    let mut state = this.lock();
                    if state.terminated || state.killed {
                        return;
                    }
                    tracing::info!(
                        "Killing task {} which exceeded its maximum completion time of {duration:?}",
                        task_id.value
                    );
                    state.killed_by_max_completion_time = true;
                }
                this.kill(&task_id, Duration::ZERO);
            });
        }
    }

    /// A kill of the task (C++ `CommandExecutor::kill`): the grace period of `policy` (the
    /// kill's own), else of the task's kill policy, else 3 seconds.
    pub fn kill_task(&self, task_id: &TaskId, policy: Option<&KillPolicy>) {
        let grace = task::grace_period(policy).or(self.lock().kill_grace_period).unwrap_or(DEFAULT_KILL_GRACE_PERIOD);
        tracing::info!("Received kill for task {} with grace period of {grace:?}", task_id.value);
        self.kill(task_id, grace);
    }

    /// C++ `CommandExecutor::shutdown`: kill the task, leaving time to report it before the
    /// agent's grace period ends; with no task, end now.
    pub fn shutdown(&self) {
        tracing::info!("Shutting down");
        let (launched, task_id) = {
            let task = self.lock();
            (task.launched, task.task_id.clone())
        };
        match (launched, task_id) {
            (true, Some(task_id)) => {
                let grace = self.inner.shutdown_grace_period.saturating_sub(SHUTDOWN_MARGIN);
                self.kill(&task_id, grace);
            }
            _ => {
                if let Some(transport) = self.transport() {
                    transport.stop();
                }
            }
        }
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
        CommandExecutor::registered(self, executor, framework);
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

    fn launch_task(&mut self, _driver: &dyn ExecutorDriver, task: &TaskInfo) {
        self.launch(task);
    }

    fn kill_task(&mut self, _driver: &dyn ExecutorDriver, task_id: &TaskId) {
        CommandExecutor::kill_task(self, task_id, None);
    }

    fn framework_message(&mut self, _driver: &dyn ExecutorDriver, _data: &[u8]) {}

    fn shutdown(&mut self, _driver: &dyn ExecutorDriver) {
        CommandExecutor::shutdown(self);
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

    let (runtime, lp) = match super::start_instance(&environment) {
        Ok(started) => started,
        Err(error) => {
            eprintln!("{error}");
            return 1;
        }
    };
    let grace = environment
        .iter()
        .find(|(name, _)| name == "MESOS_EXECUTOR_SHUTDOWN_GRACE_PERIOD")
        .and_then(|(_, value)| libprocess::duration::parse(value).ok())
        .unwrap_or(Duration::from_secs(5));
    let executor = CommandExecutor::new(runtime.handle().clone(), grace);
    let http = environment.iter().any(|(name, value)| name == "MESOS_HTTP_COMMAND_EXECUTOR" && value == "1");
    if http {
        let code = run_http(&runtime, &lp, executor, environment);
        runtime.block_on(lp.shutdown());
        return code;
    }
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

/// The v1 HTTP mode of `main`: runs until the terminal update is acknowledged (0), the
/// agent never acknowledges it (1), or the executor shuts down without a task (0).
fn run_http(
    runtime: &tokio::runtime::Runtime,
    lp: &Libprocess,
    executor: CommandExecutor,
    environment: Vec<(String, String)>,
) -> i32 {
    let variable = |name: &str| environment.iter().find(|(n, _)| n == name).map(|(_, value)| value.clone());
    let (Some(framework_id), Some(executor_id)) = (variable("MESOS_FRAMEWORK_ID"), variable("MESOS_EXECUTOR_ID"))
    else {
        eprintln!("Expecting 'MESOS_FRAMEWORK_ID' and 'MESOS_EXECUTOR_ID' to be set in the environment");
        return 1;
    };
    let (exit, mut exited) = tokio::sync::mpsc::unbounded_channel();
    let http = super::executor_http::HttpExecutor::new(
        executor,
        mesos::proto::FrameworkId { value: framework_id },
        mesos::proto::ExecutorId { value: executor_id },
        runtime.handle().clone(),
        exit,
    );
    let callbacks = super::executor_http::HttpCallbacks(http);
    let mesos = match mesos::v1::executor::Mesos::new(lp, mesos::api::ContentType::Protobuf, callbacks, environment) {
        Ok(mesos) => mesos,
        Err(error) => {
            eprintln!("{error}");
            return 1;
        }
    };
    let code = runtime.block_on(exited.recv()).unwrap_or(1);
    drop(mesos);
    code
}
