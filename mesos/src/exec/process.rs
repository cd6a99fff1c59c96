//! `executor(N)`, the process behind the v0 executor driver: registration with the agent, tasks, kills, framework messages, status updates kept until acknowledged and resent on reregistration, shutdown and the agent's loss; and `exec-shutdown(N)`, which kills the process group after the grace period; mirrors `ExecutorProcess` and `ShutdownProcess` in `src/exec/exec.cpp`.
//!
//! Behaviour kept from C++:
//! - `RegisterExecutorMessage` goes out once, from `initialize`, after linking to the agent;
//!   there is no retry.
//! - Once aborted (by the driver, or after a shutdown) every message and `exited` is
//!   ignored; sends asked for by the executor still go out.
//! - `RunTaskMessage`, acknowledgements and framework messages are dropped while not
//!   registered; `KillTaskMessage` is passed on anyway (the executor may want to react).
//! - A status update gets a fresh uuid (in the update and its status), the status's
//!   `slave_id`, and `timestamp` = now on the instance clock in both; `source` is left as the
//!   executor set it (the agent sets `SOURCE_EXECUTOR`), and `TASK_STAGING` is sent like any
//!   other state (the agent refuses it; the driver's own check went away in Mesos 0.23).
//!   The update is kept, and sent even while disconnected.
//! - An acknowledgement drops the update with that uuid and the task with that id from the
//!   unacknowledged sets; `ReconnectExecutorMessage` is answered with both, in the order
//!   they were added, to whoever sent it, which becomes the agent (its UPID may have
//!   changed), relinking over a fresh connection.
//! - When the agent's link breaks: a checkpointing executor that is registered waits
//!   `MESOS_RECOVERY_TIMEOUT` and shuts down unless it was registered or reregistered since;
//!   otherwise it shuts down at once. A reconnect alone does not cancel the timeout.
//! - Shutting down spawns `exec-shutdown(N)` unless local, calls `Executor::shutdown`, sets
//!   the aborted flag, and (local only) ends this process. The driver's status is unchanged.
//!
//! Differences, where C++ would crash the OS process or trust any sender:
//! - Messages other than `ReconnectExecutorMessage` count only if they come from the agent's
//!   UPID; C++ checks no sender. `ReconnectExecutorMessage` is how a restarted agent makes
//!   itself known, so it is taken from anyone, as in C++.
//! - A duplicate task id (C++ `CHECK`) and an acknowledgement whose uuid is not 16 bytes
//!   (C++ `CHECK_SOME`) are logged and dropped.
//! - `KillTaskMessage.kill_policy` is not passed on: C++ only passes it to its Docker
//!   executor, through a separate overload.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use libprocess::{Context, Process, RemoteConnection, UPID};

use super::environment::ExecutorEnvironment;
use super::{Executor, Shared};
use crate::internal::{
    ExecutorRegisteredMessage, ExecutorReregisteredMessage, ExecutorToFrameworkMessage, FrameworkToExecutorMessage,
    KillTaskMessage, ReconnectExecutorMessage, RegisterExecutorMessage, ReregisterExecutorMessage, RunTaskMessage,
    ShutdownExecutorMessage, StatusUpdate, StatusUpdateAcknowledgementMessage, StatusUpdateMessage,
};
use crate::proto::{ExecutorId, FrameworkId, SlaveId, TaskInfo, TaskStatus};
use crate::state::Uuid;

/// The prefix of the driver's process id: `executor(N)`.
pub const PROCESS_ID_PREFIX: &str = "executor";

/// The prefix of the process that kills the process group: `exec-shutdown(N)`.
pub const SHUTDOWN_PROCESS_ID_PREFIX: &str = "exec-shutdown";

/// What `exec-shutdown(N)` does when the grace period ends.
pub type KillProcessGroup = Arc<dyn Fn() + Send + Sync>;

/// The default [`KillProcessGroup`] (C++ `ShutdownProcess::kill`): `SIGKILL` to the whole
/// process group, this process included; should the signal be slow, exit with status 1 after
/// 5 seconds.
pub fn kill_process_group() {
    tracing::info!("Committing suicide by killing the process group");
    #[cfg(unix)]
    // SAFETY: `killpg` takes no pointers; group 0 is the caller's own.
    unsafe {
        libc::killpg(0, libc::SIGKILL);
    }
    std::thread::sleep(Duration::from_secs(5));
    std::process::exit(1);
}

/// The driver's actor (C++ `ExecutorProcess`).
pub struct ExecutorProcess {
    /// Where registration, updates and messages go; replaced by the sender of
    /// `ReconnectExecutorMessage`.
    slave: UPID,
    driver: Arc<Shared>,
    executor: Box<dyn Executor>,
    slave_id: SlaveId,
    framework_id: FrameworkId,
    executor_id: ExecutorId,
    local: bool,
    checkpoint: bool,
    recovery_timeout: Duration,
    shutdown_grace_period: Duration,
    kill: KillProcessGroup,
    /// Registered or reregistered with the agent, and its link not broken since.
    connected: bool,
    /// Names the current connection; a recovery timeout started under another one does
    /// nothing (C++ keeps a random UUID, renewed on each (re)registration).
    connection: u64,
    /// Updates the agent has not acknowledged, oldest first (C++ `LinkedHashMap`).
    updates: Vec<(Uuid, StatusUpdate)>,
    /// Tasks received but not yet named by an acknowledgement, oldest first, so that a
    /// recovering agent relaunches only tasks that never reached this executor.
    tasks: Vec<TaskInfo>,
}

impl ExecutorProcess {
    pub(crate) fn new(
        environment: ExecutorEnvironment,
        driver: Arc<Shared>,
        executor: Box<dyn Executor>,
        kill: KillProcessGroup,
    ) -> ExecutorProcess {
        tracing::info!("Version: {}", crate::version::MESOS_VERSION);
        ExecutorProcess {
            slave: environment.slave,
            driver,
            executor,
            slave_id: environment.slave_id,
            framework_id: environment.framework_id,
            executor_id: environment.executor_id,
            local: environment.local,
            checkpoint: environment.checkpoint,
            recovery_timeout: environment.recovery_timeout,
            shutdown_grace_period: environment.shutdown_grace_period,
            kill,
            connected: false,
            connection: 0,
            updates: Vec::new(),
            tasks: Vec::new(),
        }
    }

    fn aborted(&self) -> bool {
        self.driver.aborted.load(Ordering::SeqCst)
    }

    /// Whether a message named `what` from `from` should be handled: from the agent, and the
    /// driver not aborted.
    fn accept(&self, what: &str, from: &UPID) -> bool {
        if *from != self.slave {
            tracing::warn!(%from, agent = %self.slave, "Dropping {what} from a process other than the agent");
            return false;
        }
        if self.aborted() {
            tracing::debug!("Ignoring {what} because the driver is aborted");
            return false;
        }
        true
    }

    /// C++ `ExecutorProcess::registered`.
    fn registered(&mut self, from: &UPID, message: ExecutorRegisteredMessage) {
        if !self.accept("registered message", from) {
            return;
        }
        tracing::info!(agent = %message.slave_id.value, "Executor registered on agent");
        self.connected = true;
        self.connection += 1;
        self.executor.registered(&*self.driver, &message.executor_info, &message.framework_info, &message.slave_info);
    }

    /// C++ `ExecutorProcess::reregistered`.
    fn reregistered(&mut self, from: &UPID, message: ExecutorReregisteredMessage) {
        if !self.accept("reregistered message", from) {
            return;
        }
        tracing::info!(agent = %message.slave_id.value, "Executor reregistered on agent");
        self.connected = true;
        self.connection += 1;
        self.executor.reregistered(&*self.driver, &message.slave_info);
    }

    /// C++ `ExecutorProcess::reconnect`: a recovering agent asks for a reregistration.
    fn reconnect(&mut self, ctx: &mut Context<Self>, from: &UPID, message: ReconnectExecutorMessage) {
        if self.aborted() {
            tracing::debug!("Ignoring reconnect message because the driver is aborted");
            return;
        }
        tracing::info!(agent = %message.slave_id.value, %from, "Received reconnect request from agent");
        self.slave = from.clone();
        // A fresh connection: the old one may be half-open without us knowing (MESOS-5332).
        ctx.link_with(&self.slave, RemoteConnection::Reconnect);
        let reregister = ReregisterExecutorMessage {
            executor_id: self.executor_id.clone(),
            framework_id: self.framework_id.clone(),
            tasks: self.tasks.clone(),
            updates: self.updates.iter().map(|(_, update)| update.clone()).collect(),
        };
        ctx.send_protobuf(&self.slave, &reregister);
    }

    /// C++ `ExecutorProcess::runTask`.
    fn run_task(&mut self, from: &UPID, message: RunTaskMessage) {
        if !self.accept("run task message", from) {
            return;
        }
        let task = message.task;
        if !self.connected {
            tracing::warn!(task = %task.task_id.value, "Ignoring run task message because the driver is disconnected");
            return;
        }
        if self.tasks.iter().any(|known| known.task_id == task.task_id) {
            tracing::error!(task = %task.task_id.value, "Dropping run task message for a duplicate task");
            return;
        }
        tracing::debug!(task = %task.task_id.value, "Executor asked to run task");
        self.tasks.push(task);
        if let Some(task) = self.tasks.last() {
            self.executor.launch_task(&*self.driver, task);
        }
    }

    /// C++ `ExecutorProcess::killTask`.
    fn kill_task(&mut self, from: &UPID, message: KillTaskMessage) {
        if !self.accept("kill task message", from) {
            return;
        }
        if !self.connected {
            // Passed on regardless: the executor may still want to act on it.
            tracing::warn!(task = %message.task_id.value, "Executor received kill task message while disconnected from the agent");
        }
        tracing::debug!(task = %message.task_id.value, "Executor asked to kill task");
        self.executor.kill_task(&*self.driver, &message.task_id);
    }

    /// C++ `ExecutorProcess::statusUpdateAcknowledgement`.
    fn status_update_acknowledgement(&mut self, from: &UPID, message: StatusUpdateAcknowledgementMessage) {
        let Ok(uuid) = Uuid::from_bytes(&message.uuid) else {
            tracing::warn!(%from, "Dropping status update acknowledgement with a uuid of {} bytes", message.uuid.len());
            return;
        };
        if !self.accept("status update acknowledgement", from) {
            return;
        }
        let task = &message.task_id.value;
        if !self.connected {
            tracing::warn!(%uuid, task, "Ignoring status update acknowledgement because the driver is disconnected");
            return;
        }
        let Some(index) = self.updates.iter().position(|(known, _)| *known == uuid) else {
            tracing::warn!(%uuid, task, "Ignoring unknown status update acknowledgement");
            return;
        };
        tracing::debug!(%uuid, task, "Executor received status update acknowledgement");
        self.updates.remove(index);
        self.tasks.retain(|known| known.task_id != message.task_id);
    }

    /// C++ `ExecutorProcess::frameworkMessage`.
    fn framework_message(&mut self, from: &UPID, message: FrameworkToExecutorMessage) {
        if !self.accept("framework message", from) {
            return;
        }
        if !self.connected {
            tracing::warn!("Ignoring framework message because the driver is disconnected");
            return;
        }
        tracing::debug!("Executor received framework message");
        self.executor.framework_message(&*self.driver, &message.data);
    }

    /// `ShutdownExecutorMessage` from the agent.
    fn shutdown_message(&mut self, ctx: &mut Context<Self>, from: &UPID) {
        if *from != self.slave {
            tracing::warn!(%from, agent = %self.slave, "Dropping shutdown message from a process other than the agent");
            return;
        }
        self.shutdown(ctx);
    }

    /// C++ `ExecutorProcess::shutdown`.
    fn shutdown(&mut self, ctx: &mut Context<Self>) {
        if self.aborted() {
            tracing::debug!("Ignoring shutdown because the driver is aborted");
            return;
        }
        tracing::info!("Executor asked to shutdown");
        self.shut_down(ctx);
    }

    /// What a shutdown and the loss of the agent have in common: the killer, the callback,
    /// no more messages.
    fn shut_down(&mut self, ctx: &mut Context<Self>) {
        if !self.local {
            let killer = ShutdownProcess { grace_period: self.shutdown_grace_period, kill: self.kill.clone() };
            if let Err(error) = ctx.spawn(libprocess::id::generate(SHUTDOWN_PROCESS_ID_PREFIX), killer) {
                tracing::error!("Failed to spawn the shutdown process: {error}");
            }
        }
        self.executor.shutdown(&*self.driver);
        self.driver.aborted.store(true, Ordering::SeqCst);
        if self.local {
            ctx.terminate();
        }
    }

    /// The driver's `stop` (C++ `ExecutorProcess::stop`).
    pub(crate) fn stop(&mut self, ctx: &mut Context<Self>) {
        ctx.terminate();
        self.driver.latch.trigger();
    }

    /// The driver's `abort` (C++ `ExecutorProcess::abort`); the flag is already set.
    pub(crate) fn abort(&mut self) {
        tracing::info!("Deactivating the executor libprocess");
        self.driver.latch.trigger();
    }

    /// C++ `ExecutorProcess::_recoveryTimeout`.
    fn recovery_timeout_expired(&mut self, ctx: &mut Context<Self>, connection: u64) {
        if self.connected || connection != self.connection {
            return;
        }
        tracing::info!(
            "Recovery timeout of {} exceeded; Shutting down",
            libprocess::duration::format(self.recovery_timeout)
        );
        self.shutdown(ctx);
    }

    /// The driver's `sendStatusUpdate` (C++ `ExecutorProcess::sendStatusUpdate`).
    pub(crate) fn send_status_update(&mut self, ctx: &mut Context<Self>, mut status: TaskStatus) {
        let now = ctx.now().secs();
        let uuid = Uuid::random();
        status.timestamp = Some(now);
        status.uuid = Some(uuid.as_bytes().to_vec());
        status.slave_id = Some(self.slave_id.clone());
        let update = StatusUpdate {
            framework_id: self.framework_id.clone(),
            executor_id: Some(self.executor_id.clone()),
            slave_id: Some(self.slave_id.clone()),
            status,
            timestamp: now,
            uuid: Some(uuid.as_bytes().to_vec()),
            latest_state: None,
        };
        tracing::debug!(%uuid, task = %update.status.task_id.value, state = ?update.status.state(), "Executor sending status update");
        let message = StatusUpdateMessage { update: update.clone(), pid: Some(ctx.upid().to_string()) };
        self.updates.push((uuid, update));
        ctx.send_protobuf(&self.slave, &message);
    }

    /// The driver's `sendFrameworkMessage`.
    pub(crate) fn send_framework_message(&mut self, ctx: &mut Context<Self>, data: Vec<u8>) {
        let message = ExecutorToFrameworkMessage {
            slave_id: self.slave_id.clone(),
            framework_id: self.framework_id.clone(),
            executor_id: self.executor_id.clone(),
            data,
        };
        ctx.send_protobuf(&self.slave, &message);
    }
}

impl Process for ExecutorProcess {
    fn initialize(&mut self, ctx: &mut Context<Self>) {
        // In the order of the C++ constructor.
        ctx.install_protobuf(|this: &mut Self, _, from, m: ExecutorRegisteredMessage| this.registered(from, m));
        ctx.install_protobuf(|this: &mut Self, _, from, m: ExecutorReregisteredMessage| this.reregistered(from, m));
        ctx.install_protobuf(|this: &mut Self, ctx, from, m: ReconnectExecutorMessage| this.reconnect(ctx, from, m));
        ctx.install_protobuf(|this: &mut Self, _, from, m: RunTaskMessage| this.run_task(from, m));
        ctx.install_protobuf(|this: &mut Self, _, from, m: KillTaskMessage| this.kill_task(from, m));
        ctx.install_protobuf(|this: &mut Self, _, from, m: StatusUpdateAcknowledgementMessage| {
            this.status_update_acknowledgement(from, m)
        });
        ctx.install_protobuf(|this: &mut Self, _, from, m: FrameworkToExecutorMessage| this.framework_message(from, m));
        ctx.install_protobuf(|this: &mut Self, ctx, from, _: ShutdownExecutorMessage| this.shutdown_message(ctx, from));

        tracing::debug!(pid = %ctx.upid(), os_pid = std::process::id(), "Executor started");
        ctx.link(&self.slave);
        let register =
            RegisterExecutorMessage { framework_id: self.framework_id.clone(), executor_id: self.executor_id.clone() };
        ctx.send_protobuf(&self.slave, &register);
    }

    /// C++ `ExecutorProcess::exited`: the agent's link broke. Which linked process it was is
    /// not checked, as in C++; the agent is the only one.
    fn exited(&mut self, ctx: &mut Context<Self>, _pid: UPID) {
        if self.aborted() {
            tracing::debug!("Ignoring exited event because the driver is aborted");
            return;
        }
        if self.checkpoint && self.connected {
            self.connected = false;
            tracing::info!(
                agent = %self.slave_id.value,
                "Agent exited, but framework has checkpointing enabled. Waiting {} to reconnect with agent",
                libprocess::duration::format(self.recovery_timeout)
            );
            let connection = self.connection;
            ctx.delay(self.recovery_timeout, move |this: &mut Self, ctx| {
                this.recovery_timeout_expired(ctx, connection)
            });
            return;
        }
        tracing::info!("Agent exited ... shutting down");
        self.connected = false;
        self.shut_down(ctx);
    }
}

/// `exec-shutdown(N)` (C++ `ShutdownProcess`): a relic of the days before cgroups, making
/// sure the executor's process tree dies some time after it was told to shut down.
pub(crate) struct ShutdownProcess {
    pub(crate) grace_period: Duration,
    pub(crate) kill: KillProcessGroup,
}

impl Process for ShutdownProcess {
    fn initialize(&mut self, ctx: &mut Context<Self>) {
        tracing::debug!("Scheduling shutdown of the executor in {}", libprocess::duration::format(self.grace_period));
        ctx.delay(self.grace_period, |this: &mut Self, _| (this.kill)());
    }
}
