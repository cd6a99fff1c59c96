//! The agent actor (id `slave(1)`): master detection and (re)registration with backoff, ping/pong and the ping timeout, recovery after a restart, frameworks and executors on this machine, task launch, kill and status updates, framework messages, executor registration and termination, framework and executor shutdown; mirrors `src/slave/slave.{hpp,cpp}`.
//!
//! The agent starts `RECOVERING`: it reads back what a previous run checkpointed and takes
//! over that run's agent id, frameworks, executors and tasks (see `recovery`). Then it is
//! `DISCONNECTED`, asks its [`MasterDetector`] for the leader and registers with it (or
//! reregisters under the recovered id). Each
//! executor runs in a container of the [`Containerizer`]; a command task (a task with a
//! `command` and no `executor`) gets an executor generated for it, which runs the
//! `mesos-executor` program from `--launcher_dir`. Status updates go through the
//! [`TaskStatusUpdateManager`], which sends them to the master until acknowledged.
//!
//! For a framework with `checkpoint` set, the agent writes the meta tree C++ writes (see
//! [`crate::paths`]) at the same points, and [`crate::state::recover`] reads it back when
//! the agent restarts.
//!
//! Executors reach the agent by the v0 messages or by the v1 executor HTTP API
//! (`/api/v1/executor`, in `executor_http`).
//!
//! Task groups (`task_groups`) run in the executor the framework gives; a `DEFAULT` one is
//! `mesos-default-executor`. A restarted agent recovers its checkpointed state (`recovery`).
//!
//! Not built yet: resource providers and operations, authentication, draining, garbage
//! collection of sandboxes.

mod executor_http;
mod executors;
mod http;
mod operator;
mod recovery;
mod task_groups;

pub use executors::ExecutorState;
pub use recovery::compatible;

use std::collections::{HashMap, VecDeque};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use libprocess::{Context, Future, Libprocess, Process, SpawnError, Timer, PID, UPID};
use mesos::detector::MasterDetector;
use mesos::files::Files;
use mesos::internal::{
    update_slave_message, PingSlaveMessage, PongSlaveMessage, RegisterSlaveMessage, ReregisterSlaveMessage,
    ShutdownMessage, SlaveRegisteredMessage, SlaveReregisteredMessage, StatusUpdate, UpdateSlaveMessage,
};
use mesos::proto::task_status::{Reason, Source};
use mesos::proto::{
    ExecutorId, FrameworkId, FrameworkInfo, MasterInfo, SlaveId, SlaveInfo, Task, TaskId, TaskInfo, TaskState,
    TaskStatus,
};
use mesos::state::Uuid;

use crate::constants::{
    agent_capabilities, default_master_ping_timeout, DEFAULT_MAX_COMPLETED_EXECUTORS_PER_FRAMEWORK,
    MAX_COMPLETED_FRAMEWORKS, REGISTER_RETRY_INTERVAL_MAX,
};
use crate::containerizer::Containerizer;
use crate::metrics::SlaveMetrics;
use crate::status_update_manager::TaskStatusUpdateManager;

/// The prefix of the agent's process id: the first agent of a process is `slave(1)`.
pub const PROCESS_ID_PREFIX: &str = "slave";

/// What the agent is doing (C++ `Slave::State`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum State {
    Recovering,
    Disconnected,
    Running,
    Terminating,
}

/// `--recover` (C++ `flags.recover`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RecoverMode {
    /// `reconnect`: reconnect with the live executors of the previous run.
    Reconnect,
    /// `cleanup`: kill the executors of the previous run, then exit.
    Cleanup,
}

impl RecoverMode {
    /// The flag's value; `None` for anything but `reconnect` and `cleanup` (refused at
    /// start-up by the flags' validation).
    pub fn parse(value: &str) -> Option<RecoverMode> {
        match value {
            "reconnect" => Some(RecoverMode::Reconnect),
            "cleanup" => Some(RecoverMode::Cleanup),
            _ => None,
        }
    }
}

/// The agent's settings that are not in its `SlaveInfo` (the parts of C++ `slave::Flags`
/// the actor reads).
#[derive(Clone, Debug)]
pub struct Options {
    /// `--work_dir`.
    pub work_dir: PathBuf,
    /// `--launcher_dir`: where `mesos-executor` is.
    pub launcher_dir: PathBuf,
    /// `--registration_backoff_factor`.
    pub registration_backoff_factor: Duration,
    /// `--executor_registration_timeout`.
    pub executor_registration_timeout: Duration,
    /// `--executor_shutdown_grace_period`.
    pub executor_shutdown_grace_period: Duration,
    /// `--executor_reregistration_timeout`.
    pub executor_reregistration_timeout: Duration,
    /// `--recovery_timeout`.
    pub recovery_timeout: Duration,
    /// `--recover`: what to do with the executors of a previous run.
    pub recover: RecoverMode,
    /// `--strict`: every recovery error is fatal.
    pub strict: bool,
    /// `--http_command_executor`.
    pub http_command_executor: bool,
    /// `--switch_user`.
    pub switch_user: bool,
    /// `--gc_delay` (shown as `slave/executor_directory_max_allowed_age_secs`).
    pub gc_delay: Duration,
    /// The flags as `/flags` shows them (name, value), sorted by name.
    pub flags: Vec<(String, String)>,
}

impl Options {
    /// The C++ defaults, for `work_dir`.
    pub fn new(work_dir: PathBuf) -> Options {
        Options {
            work_dir,
            launcher_dir: PathBuf::from("."),
            registration_backoff_factor: crate::constants::DEFAULT_REGISTRATION_BACKOFF_FACTOR,
            executor_registration_timeout: crate::constants::EXECUTOR_REGISTRATION_TIMEOUT,
            executor_shutdown_grace_period: crate::constants::DEFAULT_EXECUTOR_SHUTDOWN_GRACE_PERIOD,
            executor_reregistration_timeout: crate::constants::EXECUTOR_REREGISTRATION_TIMEOUT,
            recovery_timeout: crate::constants::RECOVERY_TIMEOUT,
            recover: RecoverMode::Reconnect,
            strict: true,
            http_command_executor: false,
            switch_user: true,
            gc_delay: crate::constants::GC_DELAY,
            flags: Vec::new(),
        }
    }
}

/// A framework with work on this agent (C++ `slave::Framework`).
pub(crate) struct Framework {
    pub(crate) info: FrameworkInfo,
    /// The scheduler, for framework messages; `None` for an HTTP framework.
    pub(crate) pid: Option<UPID>,
    pub(crate) terminating: bool,
    pub(crate) executors: HashMap<ExecutorId, executors::Executor>,
    pub(crate) completed_executors: VecDeque<executors::Executor>,
}

impl Framework {
    fn id(&self) -> FrameworkId {
        self.info.id.clone().unwrap_or_default()
    }

    /// Whether it is partition aware (its lost tasks become `TASK_DROPPED`/`TASK_GONE`).
    pub(crate) fn partition_aware(&self) -> bool {
        partition_aware(&self.info)
    }

    /// The executor that has (or had) `task_id` (C++ `Framework::getExecutor(TaskID)`).
    pub(crate) fn executor_for_task(&self, task_id: &TaskId) -> Option<&executors::Executor> {
        self.executors.values().find(|executor| executor.has_task(task_id))
    }

    fn executor_id_for_task(&self, task_id: &TaskId) -> Option<ExecutorId> {
        self.executor_for_task(task_id).map(|executor| executor.id.clone())
    }

    /// Nothing runs or waits for it here (C++ `idle`).
    fn idle(&self) -> bool {
        self.executors.is_empty()
    }
}

/// The agent actor (C++ `Slave`).
pub struct Slave {
    pub(crate) info: SlaveInfo,
    pub(crate) options: Options,
    pub(crate) state: State,
    detector: Arc<dyn MasterDetector>,
    pub(crate) containerizer: Arc<dyn Containerizer>,
    pub(crate) task_status_update_manager: TaskStatusUpdateManager,
    /// The leading master's agent-facing pid, once detected.
    pub(crate) master: Option<UPID>,
    /// Bumped at each detection, so that a detection that was given up on is ignored when
    /// it completes (C++ discards the future).
    detection: u64,
    master_ping_timeout: Duration,
    ping_timer: Option<Timer>,
    /// Bumped at each (re)registration attempt sequence, to stop an older sequence.
    registration: u64,
    /// C++ `resourceVersion`: a fresh UUID per agent run.
    resource_version: Uuid,
    pub(crate) frameworks: HashMap<FrameworkId, Framework>,
    pub(crate) completed_frameworks: VecDeque<Framework>,
    /// When the agent started, in seconds since the epoch (C++ `startTime`).
    pub(crate) start_time: f64,
    pub(crate) metrics: SlaveMetrics,
    /// The files service executor sandboxes are attached to (`/files/*`), if any.
    pub(crate) files: Option<Files>,
    /// Where recovery is (C++ `recoveryInfo`).
    pub(crate) recovery: recovery::RecoveryInfo,
}

impl Slave {
    /// An agent that will register `info` (hostname, port, resources, attributes; no id
    /// yet) with the master its detector finds.
    pub fn new(
        info: SlaveInfo,
        options: Options,
        detector: Arc<dyn MasterDetector>,
        containerizer: Arc<dyn Containerizer>,
        task_status_update_manager: TaskStatusUpdateManager,
    ) -> Slave {
        Slave {
            info,
            options,
            state: State::Recovering,
            detector,
            containerizer,
            task_status_update_manager,
            master: None,
            detection: 0,
            master_ping_timeout: default_master_ping_timeout(),
            ping_timer: None,
            registration: 0,
            resource_version: Uuid::random(),
            frameworks: HashMap::new(),
            completed_frameworks: VecDeque::new(),
            start_time: 0.0,
            metrics: SlaveMetrics::default(),
            files: None,
            recovery: recovery::RecoveryInfo::default(),
        }
    }

    /// Attaches each executor's sandbox to `files` for `/files/browse`, `read` and `download`.
    pub fn with_files(mut self, files: Files) -> Slave {
        self.files = Some(files);
        self
    }

    /// Whether `from` is the detected master; logs the drop of `what` otherwise (every
    /// master message the agent handles starts with this check, as in C++).
    pub(crate) fn sent_by_master(&self, from: &UPID, what: &str) -> bool {
        let ok = self.master.as_ref() == Some(from);
        if !ok {
            tracing::warn!("Ignoring {what} from {from} because it is not the expected master");
        }
        ok
    }

    pub(crate) fn slave_id(&self) -> SlaveId {
        self.info.id.clone().unwrap_or_default()
    }

    /// Writes `meta/boot_id`, by which the next agent run tells a reboot of the host from
    /// a restart of the agent (C++ `Slave::__recover`). A host without a boot id is logged.
    fn checkpoint_boot_id(&self) {
        match crate::state::boot_id() {
            Ok(id) => {
                let path = crate::paths::boot_id_path(&crate::paths::meta_root_dir(&self.options.work_dir));
                if let Err(error) = mesos::protobuf_io::checkpoint(&path, id.as_bytes()) {
                    tracing::error!("Failed to checkpoint the boot id to '{}': {error}", path.display());
                }
            }
            Err(error) => tracing::error!("Could not retrieve boot id: {error}"),
        }
    }
}

impl Process for Slave {
    /// C++ `Slave::initialize`: the handlers, then recovery (see `recovery`), which starts
    /// the first detection when it is over.
    fn initialize(&mut self, ctx: &mut Context<Self>) {
        self.start_time = ctx.now().secs();
        self.metrics = SlaveMetrics::register(ctx.libprocess(), ctx.pid());
        let pid = ctx.pid().clone();
        self.task_status_update_manager
            .initialize(Box::new(move |update| pid.dispatch_void(move |this, ctx| this.forward(ctx, update))));

        ctx.install_protobuf(Slave::registered);
        ctx.install_protobuf(Slave::reregistered);
        ctx.install_protobuf(Slave::ping);
        ctx.install_protobuf(Slave::shutdown);
        ctx.install_protobuf(Slave::run_task_message);
        ctx.install_protobuf(Slave::run_task_group_message);
        ctx.install_protobuf(Slave::kill_task);
        ctx.install_protobuf(Slave::shutdown_framework_message);
        ctx.install_protobuf(Slave::shutdown_executor_message);
        ctx.install_protobuf(Slave::update_framework);
        ctx.install_protobuf(Slave::scheduler_message);
        ctx.install_protobuf(Slave::executor_message);
        ctx.install_protobuf(Slave::register_executor);
        ctx.install_protobuf(Slave::reregister_executor);
        ctx.install_protobuf(Slave::status_update_message);
        ctx.install_protobuf(Slave::status_update_acknowledgement);
        http::install_routes(ctx);
        executor_http::install_routes(ctx);
        operator::install_routes(ctx);

        // Detection starts once recovery is over (`recovery::finish_recovery`).
        self.start_recovery(ctx);
    }

    /// C++ `Slave::finalize`: the frameworks that do not checkpoint are shut down (their
    /// executors told to shut down); the others' executors are left to a restarted agent.
    fn finalize(&mut self, ctx: &mut Context<Self>) {
        tracing::info!("Agent terminating");
        let frameworks: Vec<FrameworkId> = self
            .frameworks
            .iter()
            .filter(|(_, framework)| !framework.info.checkpoint.unwrap_or(false))
            .map(|(id, _)| id.clone())
            .collect();
        for framework_id in frameworks {
            self.shutdown_framework(ctx, &framework_id);
        }
    }

    /// C++ `Slave::exited`: a broken link is only logged. The agent learns of a lost master
    /// through its ping timeout or detector, and of a lost executor through its container.
    fn exited(&mut self, _ctx: &mut Context<Self>, pid: UPID) {
        tracing::info!("Got exited event for {pid}");
        if self.master.as_ref() == Some(&pid) {
            tracing::warn!("Master disconnected! Waiting for a new master to be elected");
        }
    }
}

/// Detection and registration.
impl Slave {
    fn start_detection(&mut self, ctx: &mut Context<Self>, previous: Option<MasterInfo>) {
        self.detection += 1;
        let detection = self.detection;
        tracing::info!("Detecting new master");
        let detected = self.detector.detect(previous.as_ref());
        ctx.defer(detected, move |this: &mut Self, ctx, outcome| {
            if this.detection == detection {
                this.detected(ctx, outcome.map_err(|failure| failure.to_string()));
            }
        });
    }

    /// Gives up on the current detection and detects again from scratch (C++
    /// `detection.discard()`, which re-enters `detected` with a discarded future).
    fn redetect(&mut self, ctx: &mut Context<Self>) {
        tracing::info!("Re-detecting master");
        self.detected(ctx, Err(String::new()));
    }

    /// C++ `Slave::detected`: `Ok(Some)` a new leader, `Ok(None)` no leader, `Err` the
    /// detection was given up on (empty) or failed.
    fn detected(&mut self, ctx: &mut Context<Self>, master: Result<Option<MasterInfo>, String>) {
        if self.state != State::Terminating {
            self.state = State::Disconnected;
        }
        self.task_status_update_manager.pause();
        let latest = match master {
            Err(failure) if !failure.is_empty() => {
                tracing::error!("Failed to detect a master: {failure}");
                None
            }
            Err(_) => None,
            Ok(None) => {
                tracing::info!("Lost leading master");
                None
            }
            Ok(Some(info)) => Some(info),
        };
        self.master = None;
        if let Some(info) = &latest {
            match info.pid.as_deref().map(str::parse::<UPID>) {
                Some(Ok(pid)) => {
                    tracing::info!("New master detected at {pid}");
                    ctx.link(&pid);
                    self.master = Some(pid);
                    if self.state == State::Terminating {
                        tracing::info!("Skipping registration because agent is terminating");
                    } else {
                        let delay = self.options.registration_backoff_factor.mul_f64(random_fraction());
                        let max_backoff = self.options.registration_backoff_factor * 2;
                        self.registration += 1;
                        let registration = self.registration;
                        ctx.delay(delay, move |this: &mut Self, ctx| {
                            this.do_reliable_registration(ctx, registration, max_backoff)
                        });
                    }
                }
                _ => tracing::warn!("Ignoring a detected master without a valid pid: {:?}", info.pid),
            }
        }
        self.start_detection(ctx, latest);
    }

    /// C++ `Slave::doReliableRegistration`: registers (no id yet) or reregisters, and tries
    /// again after a random part of a doubling backoff until registered.
    fn do_reliable_registration(&mut self, ctx: &mut Context<Self>, registration: u64, max_backoff: Duration) {
        if registration != self.registration || self.state == State::Running || self.state == State::Terminating {
            return;
        }
        let Some(master) = self.master.clone() else { return };
        let capabilities = agent_capabilities();
        if self.info.id.is_none() {
            let message = RegisterSlaveMessage {
                slave: self.info.clone(),
                checkpointed_resources: Vec::new(),
                version: Some(mesos::version::MESOS_VERSION.to_string()),
                agent_capabilities: capabilities,
                resource_version_uuid: Some(self.resource_version_uuid()),
            };
            ctx.send_protobuf(&master, &message);
        } else {
            let message = self.reregister_message(capabilities);
            ctx.send_protobuf(&master, &message);
        }
        let max_backoff = max_backoff.min(REGISTER_RETRY_INTERVAL_MAX);
        let delay = max_backoff.mul_f64(random_fraction());
        ctx.delay(delay, move |this: &mut Self, ctx| this.do_reliable_registration(ctx, registration, max_backoff * 2));
    }

    /// What a reregistering agent reports: its frameworks, their executors (not the ones
    /// generated for command tasks) and every task it knows, queued ones as `TASK_STAGING`.
    fn reregister_message(&self, capabilities: Vec<mesos::proto::slave_info::Capability>) -> ReregisterSlaveMessage {
        let mut message = ReregisterSlaveMessage {
            slave: self.info.clone(),
            version: Some(mesos::version::MESOS_VERSION.to_string()),
            agent_capabilities: capabilities,
            resource_version_uuid: Some(self.resource_version_uuid()),
            ..ReregisterSlaveMessage::default()
        };
        for framework in self.frameworks.values() {
            message.frameworks.push(framework.info.clone());
            for executor in framework.executors.values() {
                if !executor.command_executor && executor.state != executors::ExecutorState::Terminated {
                    let mut info = executor.info.clone();
                    info.framework_id = Some(framework.id());
                    message.executor_infos.push(info);
                }
                for task in executor.queued_tasks.iter() {
                    message.tasks.push(create_task(task, TaskState::TaskStaging, &framework.id()));
                }
                message.tasks.extend(executor.launched_tasks.values().cloned());
                message.tasks.extend(executor.terminated_tasks.values().cloned());
            }
        }
        message
    }

    fn arm_ping_timer(&mut self, ctx: &mut Context<Self>) {
        if let Some(timer) = self.ping_timer.take() {
            ctx.cancel(timer);
        }
        let detection = self.detection;
        self.ping_timer =
            Some(ctx.delay(self.master_ping_timeout, move |this: &mut Self, ctx| this.ping_timeout(ctx, detection)));
    }

    fn ping_timeout_from(connection: Option<&mesos::internal::MasterSlaveConnection>) -> Duration {
        // C++ truncates to whole seconds.
        match connection.and_then(|c| c.total_ping_timeout_seconds) {
            Some(seconds) if seconds.is_finite() && seconds >= 0.0 => Duration::from_secs(seconds as u64),
            _ => default_master_ping_timeout(),
        }
    }

    /// C++ `Slave::registered`.
    fn registered(&mut self, ctx: &mut Context<Self>, from: &UPID, message: SlaveRegisteredMessage) {
        if self.master.as_ref() != Some(from) {
            tracing::warn!(
                "Ignoring registration message from {from} because it is not the expected master: {}",
                self.master.as_ref().map_or("None".to_string(), UPID::to_string)
            );
            return;
        }
        self.master_ping_timeout = Self::ping_timeout_from(message.connection.as_ref());
        match self.state {
            State::Disconnected => {
                tracing::info!("Registered with master {from}; given agent ID {}", message.slave_id.value);
                self.state = State::Running;
                self.task_status_update_manager.resume();
                self.info.id = Some(message.slave_id.clone());
                let meta = crate::paths::meta_root_dir(&self.options.work_dir);
                if let Err(error) = crate::paths::create_slave_directory(&meta, &message.slave_id) {
                    tracing::error!("Failed to create the agent's meta directory: {error}");
                }
                let path = crate::paths::slave_info_path(&meta, &message.slave_id);
                if let Err(error) = mesos::protobuf_io::checkpoint_message(&path, &self.info) {
                    tracing::error!("Failed to checkpoint the agent's info to '{}': {error}", path.display());
                }
                self.arm_ping_timer(ctx);
                self.send_update_slave(ctx, from);
            }
            State::Running => {
                if self.info.id.as_ref() != Some(&message.slave_id) {
                    tracing::error!(
                        "Registered but got wrong id: {} (expected: {}); shutting down",
                        message.slave_id.value,
                        self.slave_id().value
                    );
                    self.terminate_agent(ctx);
                    return;
                }
                tracing::warn!("Already registered with master {from}");
            }
            State::Terminating => tracing::warn!("Ignoring registration because agent is terminating"),
            State::Recovering => tracing::error!("Registered while recovering; ignoring"),
        }
    }

    /// C++ `Slave::reregistered`: tasks the master knows and this agent does not are
    /// reported lost (dropped for partition-aware frameworks) so the master forgets them.
    fn reregistered(&mut self, ctx: &mut Context<Self>, from: &UPID, message: SlaveReregisteredMessage) {
        if !self.sent_by_master(from, "re-registration message") {
            return;
        }
        if self.info.id.as_ref() != Some(&message.slave_id) {
            tracing::error!(
                "Re-registered but got wrong id: {} (expected: {}); shutting down",
                message.slave_id.value,
                self.slave_id().value
            );
            self.terminate_agent(ctx);
            return;
        }
        self.master_ping_timeout = Self::ping_timeout_from(message.connection.as_ref());
        match self.state {
            State::Disconnected => {
                tracing::info!("Re-registered with master {from}");
                self.state = State::Running;
                self.task_status_update_manager.resume();
                self.arm_ping_timer(ctx);
                self.send_update_slave(ctx, from);
            }
            State::Running => tracing::warn!("Already re-registered with master {from}"),
            State::Terminating => {
                tracing::warn!("Ignoring re-registration because agent is terminating");
                return;
            }
            State::Recovering => {
                tracing::error!("Re-registered while recovering; ignoring");
                return;
            }
        }
        for reconciliation in message.reconciliations {
            let framework_id = reconciliation.framework_id.clone();
            let partition_aware = reconciliation.framework.as_ref().is_some_and(partition_aware);
            for status in reconciliation.statuses {
                let known = self
                    .frameworks
                    .get(&framework_id)
                    .is_some_and(|framework| framework.executor_for_task(&status.task_id).is_some());
                if known {
                    continue;
                }
                tracing::warn!(
                    "Agent reconciling task {} of framework {} in state {}: task unknown to the agent",
                    status.task_id.value,
                    framework_id.value,
                    TaskState::try_from(status.state).map(|s| s.as_str_name()).unwrap_or("UNKNOWN")
                );
                let state = if partition_aware { TaskState::TaskDropped } else { TaskState::TaskLost };
                let update = create_status_update(
                    &framework_id,
                    &self.slave_id(),
                    &status.task_id,
                    state,
                    Source::Slave,
                    Some("Reconciliation: task unknown to the agent"),
                    Some(Reason::Reconciliation),
                    None,
                );
                // Straight to the manager: `status_update` drops updates of unknown
                // frameworks, and the framework of such a task usually is one.
                self.hand_to_manager(ctx, update, executors::UpdateSender::Agent, None);
            }
        }
    }

    /// The agent's resource state after (re)registration, as every agent with the
    /// `RESOURCE_PROVIDER` capability sends it (C++ `generateResourceProviderUpdate`): its
    /// resource version, no operations, no resource providers, no oversubscription.
    fn send_update_slave(&self, ctx: &mut Context<Self>, master: &UPID) {
        let message = UpdateSlaveMessage {
            slave_id: self.slave_id(),
            update_oversubscribed_resources: Some(false),
            oversubscribed_resources: Vec::new(),
            operations: Some(update_slave_message::Operations { operations: Vec::new() }),
            resource_version_uuid: Some(self.resource_version_uuid()),
            resource_providers: Some(update_slave_message::ResourceProviders { providers: Vec::new() }),
        };
        ctx.send_protobuf(master, &message);
    }

    /// C++ `resourceVersion`.
    pub(crate) fn resource_version_uuid(&self) -> mesos::proto::Uuid {
        mesos::proto::Uuid { value: self.resource_version.as_bytes().to_vec() }
    }

    /// C++ `Slave::ping`: answers whoever pinged (the master's `slave-observer(N)`), and
    /// registers again if the master thinks this agent is disconnected.
    fn ping(&mut self, ctx: &mut Context<Self>, from: &UPID, message: PingSlaveMessage) {
        tracing::trace!("Received ping from {from}");
        if !message.connected && self.state == State::Running {
            tracing::info!(
                "Master marked the agent as disconnected but the agent considers itself registered! Forcing re-registration."
            );
            self.redetect(ctx);
        }
        self.arm_ping_timer(ctx);
        ctx.send_protobuf(from, &PongSlaveMessage {});
    }

    /// C++ `Slave::pingTimeout`.
    fn ping_timeout(&mut self, ctx: &mut Context<Self>, detection: u64) {
        if detection != self.detection {
            return;
        }
        tracing::info!("No pings from master received within {:?}", self.master_ping_timeout);
        self.redetect(ctx);
    }

    /// C++ `Slave::shutdown`: the master tells this agent to go (say, it was marked gone).
    fn shutdown(&mut self, ctx: &mut Context<Self>, from: &UPID, message: ShutdownMessage) {
        if self.master.as_ref() != Some(from) {
            tracing::warn!("Ignoring shutdown message from {from} because it is not from the registered master");
            return;
        }
        tracing::info!("Agent asked to shut down by {from} because '{}'", message.message.unwrap_or_default());
        self.terminate_agent(ctx);
    }

    /// Shuts every framework down, then the agent process itself once they are gone.
    fn terminate_agent(&mut self, ctx: &mut Context<Self>) {
        self.state = State::Terminating;
        let ids: Vec<FrameworkId> = self.frameworks.keys().cloned().collect();
        for id in ids {
            self.shutdown_framework(ctx, &id);
        }
        if self.frameworks.is_empty() {
            ctx.terminate();
        }
    }
}

/// Framework books.
impl Slave {
    /// C++ `Slave::removeFramework`: its status update streams go, and it is kept among the
    /// completed frameworks.
    pub(crate) fn remove_framework(&mut self, ctx: &mut Context<Self>, framework_id: &FrameworkId) {
        let Some(framework) = self.frameworks.remove(framework_id) else { return };
        tracing::info!("Cleaning up framework {}", framework_id.value);
        self.task_status_update_manager.cleanup(framework_id.clone());
        self.completed_frameworks.push_back(framework);
        while self.completed_frameworks.len() > MAX_COMPLETED_FRAMEWORKS {
            self.completed_frameworks.pop_front();
        }
        if self.state == State::Terminating && self.frameworks.is_empty() {
            ctx.terminate();
        }
    }

    /// C++ `Framework::checkpointFramework`: `framework.info` and `framework.pid`; an HTTP
    /// framework's pid is written as the empty UPID `@0.0.0.0:0`, since agents of 0.23
    /// took a missing pid file for an error. Only for a framework with `checkpoint` set.
    pub(crate) fn checkpoint_framework(&self, framework_id: &FrameworkId) {
        let Some(framework) = self.frameworks.get(framework_id) else { return };
        let meta = crate::paths::meta_root_dir(&self.options.work_dir);
        let slave_id = self.slave_id();
        let path = crate::paths::framework_info_path(&meta, &slave_id, framework_id);
        if let Err(error) = mesos::protobuf_io::checkpoint_message(&path, &framework.info) {
            tracing::error!("Failed to checkpoint the framework's info to '{}': {error}", path.display());
        }
        let path = crate::paths::framework_pid_path(&meta, &slave_id, framework_id);
        let pid = framework.pid.clone().unwrap_or_default().to_string();
        if let Err(error) = mesos::protobuf_io::checkpoint(&path, pid.as_bytes()) {
            tracing::error!("Failed to checkpoint the framework's pid to '{}': {error}", path.display());
        }
    }

    pub(crate) fn remove_framework_if_idle(&mut self, ctx: &mut Context<Self>, framework_id: &FrameworkId) {
        if self.frameworks.get(framework_id).is_some_and(Framework::idle) {
            self.remove_framework(ctx, framework_id);
        }
    }

    /// Keeps `executor` among the framework's completed ones; the oldest beyond the bound
    /// goes, and its sandbox leaves the files service (C++ detaches when the sandbox is
    /// garbage collected; there is no collection yet).
    pub(crate) fn complete_executor(&mut self, framework_id: &FrameworkId, executor: executors::Executor) {
        let Some(framework) = self.frameworks.get_mut(framework_id) else { return };
        framework.completed_executors.push_back(executor);
        let mut gone = Vec::new();
        while framework.completed_executors.len() > DEFAULT_MAX_COMPLETED_EXECUTORS_PER_FRAMEWORK {
            gone.extend(framework.completed_executors.pop_front());
        }
        for executor in gone {
            self.detach_sandbox(framework_id, &executor);
        }
    }

    /// The virtual paths of an executor's sandbox (C++ `Slave::launchExecutor`'s attaches):
    /// the real path, `.../runs/latest` under the work directory, and
    /// `/frameworks/<fid>/executors/<eid>/runs/latest`.
    pub(crate) fn sandbox_virtual_paths(
        &self,
        framework_id: &FrameworkId,
        executor: &executors::Executor,
    ) -> Vec<String> {
        let latest = crate::paths::executor_latest_run_path(
            &self.options.work_dir,
            &self.slave_id(),
            framework_id,
            &executor.id,
        );
        vec![
            executor.directory.display().to_string(),
            latest.display().to_string(),
            format!("/frameworks/{}/executors/{}/runs/latest", framework_id.value, executor.id.value),
        ]
    }

    fn detach_sandbox(&self, framework_id: &FrameworkId, executor: &executors::Executor) {
        if let Some(files) = &self.files {
            for path in self.sandbox_virtual_paths(framework_id, executor) {
                files.detach(path);
            }
        }
    }
}

/// What the `slave/*` gauges read (C++ `Slave::_tasks_staging` and friends).
impl Slave {
    /// Tasks in `state`; queued tasks count as staging.
    pub(crate) fn count_tasks(&self, state: TaskState) -> f64 {
        let mut count = 0;
        for executor in self.frameworks.values().flat_map(|f| f.executors.values()) {
            if state == TaskState::TaskStaging {
                count += executor.queued_tasks.len();
            }
            count += executor.launched_tasks.values().filter(|task| task.state == state as i32).count();
        }
        count as f64
    }

    pub(crate) fn count_executors(&self, state: ExecutorState) -> f64 {
        self.frameworks.values().flat_map(|f| f.executors.values()).filter(|e| e.state == state).count() as f64
    }

    /// The scalar `name` in total and allocated to executors and their tasks, revocable or
    /// not (C++ `_resources_total`, `_resources_used` and the revocable variants).
    pub(crate) fn resource_gauge(&self, name: &str, revocable: bool) -> (f64, f64) {
        let scalar = |resource: &mesos::proto::Resource| {
            if resource.name == name && resource.revocable.is_some() == revocable {
                resource.scalar.as_ref().map_or(0.0, |s| s.value)
            } else {
                0.0
            }
        };
        let total = self.info.resources.iter().map(scalar).sum();
        let used = self
            .frameworks
            .values()
            .flat_map(|f| f.executors.values())
            .map(|executor| executors::allocated_resources(executor).iter().map(scalar).sum::<f64>())
            .sum();
        (total, used)
    }
}

/// Whether `info` has the `PARTITION_AWARE` capability.
pub(crate) fn partition_aware(info: &FrameworkInfo) -> bool {
    use mesos::proto::framework_info::capability::Type;
    info.capabilities.iter().any(|c| c.r#type == Some(Type::PartitionAware as i32))
}

/// A fraction in `[0, 1)` for the registration backoff (C++ `os::random() / RAND_MAX`).
fn random_fraction() -> f64 {
    let bytes = Uuid::random().as_bytes().to_vec();
    let mut word = [0u8; 8];
    word.copy_from_slice(&bytes[..8]);
    (u64::from_le_bytes(word) >> 11) as f64 / (1u64 << 53) as f64
}

/// C++ `protobuf::createTask`: the `Task` of `task` in `state` on this agent.
pub(crate) fn create_task(task: &TaskInfo, state: TaskState, framework_id: &FrameworkId) -> Task {
    let executor_id = task.executor.as_ref().map(|executor| executor.executor_id.clone());
    mesos::protobuf_utils::create_task(task, state, framework_id, &task.slave_id, executor_id)
}

/// C++ `protobuf::createStatusUpdate`: an update the agent makes itself, with a fresh uuid
/// and the current time.
#[allow(clippy::too_many_arguments)]
pub(crate) fn create_status_update(
    framework_id: &FrameworkId,
    slave_id: &SlaveId,
    task_id: &TaskId,
    state: TaskState,
    source: Source,
    message: Option<&str>,
    reason: Option<Reason>,
    executor_id: Option<&ExecutorId>,
) -> StatusUpdate {
    let uuid = Uuid::random().as_bytes().to_vec();
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0.0, |d| d.as_secs_f64());
    StatusUpdate {
        framework_id: framework_id.clone(),
        executor_id: executor_id.cloned(),
        slave_id: Some(slave_id.clone()),
        status: TaskStatus {
            task_id: task_id.clone(),
            state: state as i32,
            source: Some(source as i32),
            message: message.map(str::to_string),
            reason: reason.map(|reason| reason as i32),
            slave_id: Some(slave_id.clone()),
            executor_id: executor_id.cloned(),
            timestamp: Some(now),
            uuid: Some(uuid.clone()),
            ..TaskStatus::default()
        },
        timestamp: now,
        uuid: Some(uuid),
        latest_state: None,
    }
}

/// The handle the agent's owner holds.
#[derive(Clone)]
pub struct SlaveHandle {
    pub pid: PID<Slave>,
}

impl SlaveHandle {
    /// Spawns the agent as `slave(N)`.
    pub fn spawn(lp: &Libprocess, slave: Slave) -> Result<SlaveHandle, SpawnError> {
        let pid = lp.spawn(libprocess::id::generate(PROCESS_ID_PREFIX), slave)?;
        Ok(SlaveHandle { pid })
    }

    /// The agent's state.
    pub fn state(&self) -> Future<State> {
        self.pid.dispatch(|this, _| this.state)
    }

    /// The agent's id, once registered.
    pub fn slave_id(&self) -> Future<Option<SlaveId>> {
        self.pid.dispatch(|this, _| this.info.id.clone())
    }

    /// The agent's `SlaveInfo`.
    pub fn info(&self) -> Future<SlaveInfo> {
        self.pid.dispatch(|this, _| this.info.clone())
    }

    /// Every task the agent knows, with its state (queued tasks as `TASK_STAGING`).
    pub fn tasks(&self) -> Future<Vec<Task>> {
        self.pid.dispatch(|this, _| {
            let mut tasks = Vec::new();
            for framework in this.frameworks.values() {
                for executor in framework.executors.values() {
                    tasks.extend(
                        executor.queued_tasks.iter().map(|t| create_task(t, TaskState::TaskStaging, &framework.id())),
                    );
                    tasks.extend(executor.launched_tasks.values().cloned());
                    tasks.extend(executor.terminated_tasks.values().cloned());
                    tasks.extend(executor.completed_tasks.iter().cloned());
                }
                for executor in &framework.completed_executors {
                    tasks.extend(executor.completed_tasks.iter().cloned());
                }
            }
            tasks.sort_by(|a, b| a.task_id.value.cmp(&b.task_id.value));
            tasks
        })
    }

    /// The sandbox of an executor that runs.
    pub fn executor_directory(&self, framework_id: FrameworkId, executor_id: ExecutorId) -> Future<Option<PathBuf>> {
        self.pid.dispatch(move |this, _| {
            let framework = this.frameworks.get(&framework_id)?;
            Some(framework.executors.get(&executor_id)?.directory.clone())
        })
    }

    /// The ids of the executors that run, by framework.
    pub fn executors(&self) -> Future<Vec<(FrameworkId, ExecutorId)>> {
        self.pid.dispatch(|this, _| {
            let mut executors: Vec<(FrameworkId, ExecutorId)> =
                this.frameworks.values().flat_map(|f| f.executors.keys().map(move |e| (f.id(), e.clone()))).collect();
            executors.sort_by(|a, b| (&a.0.value, &a.1.value).cmp(&(&b.0.value, &b.1.value)));
            executors
        })
    }
}
