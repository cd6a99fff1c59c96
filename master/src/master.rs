//! The master actor, `master`: registry recovery, then agent registration, reregistration, health checking, disconnection, unreachability and removal, framework subscription, failover and removal, offers, and (in `tasks`) the task flows; mirrors `src/master/master.cpp` / `master.hpp`.
//!
//! [`Master::spawn`] starts the process under the fixed id `master` and returns a
//! [`MasterHandle`]. `initialize` installs every message handler (in C++'s order) and starts
//! recovery: the registrar records this master's `MasterInfo` and answers with the registry.
//! Until that completes every message is dropped (C++ `Master::_consume`), so agents rely on
//! their retries. Standalone only: the master considers itself elected at start.
//!
//! Each agent gets a `slave-observer(N)` that pings it; the agent answers the observer, so
//! `PongSlaveMessage` never reaches this process. The observer reports a failed health check
//! back here by dispatch ([`SlaveObserverEvent::MarkUnreachable`]).
//!
//! A framework's scheduler is a v0 driver (a pid) or an HTTP scheduler (an event stream,
//! see [`scheduler`]); the flows are the same for both, and every send to a scheduler goes
//! through `Framework::send`. The task flows (ACCEPT, status updates, ACKNOWLEDGE, KILL,
//! RECONCILE) are in [`tasks`], the executor-facing ones (MESSAGE, SHUTDOWN, exited
//! executors, REQUEST) in [`executors`]. Tasks live in their framework's books; an agent
//! keeps their ids and the resources they use.
//!
//! Not yet done here: the inverse-offer calls (logged and dropped); offer constraints;
//! authentication and authorization of frameworks and agents; resource operations other
//! than LAUNCH and LAUNCH_GROUP (dropped with a log line); maintenance
//! (`DOWN` machines); a master `--domain`.
//!
//! Agents recovered from the registry get `--agent_reregister_timeout` to reregister; those
//! that do not are marked unreachable then, unless more of them are missing than
//! `--recovery_agent_removal_limit` allows, in which case the master exits for a person to
//! look (C++ `recoveredSlavesTimeout`). Every removal for a failed health check or a missed
//! reregistration waits its turn at the `--agent_removal_rate_limit` limiter.

mod executors;
mod http;
mod operator;
mod scheduler;
mod subscribers;
mod tasks;

pub use tasks::is_terminal;

use std::collections::{BTreeSet, HashMap, HashSet, VecDeque};
use std::fmt;
use std::net::SocketAddrV4;
use std::sync::Arc;
use std::time::Duration;

use libprocess::{Context, Future, Libprocess, Outcome, Process, SpawnError, Timer, PID, UPID};
use mesos::internal::{
    DeactivateFrameworkMessage, FrameworkErrorMessage, FrameworkRegisteredMessage, FrameworkReregisteredMessage,
    KillTaskMessage, LostSlaveMessage, MasterSlaveConnection, ReconcileTasksMessage, RegisterFrameworkMessage,
    RegisterSlaveMessage, Registry, ReregisterFrameworkMessage, ReregisterSlaveMessage, RescindResourceOfferMessage,
    ResourceOffersMessage, ShutdownFrameworkMessage, ShutdownMessage, SlaveRegisteredMessage, SlaveReregisteredMessage,
    UnregisterFrameworkMessage, UnregisterSlaveMessage,
};
use mesos::proto::resource::AllocationInfo;
use mesos::proto::scheduler::call::{Decline, Revive, Subscribe, Suppress, Type as CallType};
use mesos::proto::scheduler::Call;
use mesos::proto::slave_info::capability::Type as AgentCapability;
use mesos::proto::{
    Address, ExecutorId, ExecutorInfo, Filters, FrameworkId, FrameworkInfo, MasterInfo, Offer, OfferId, Resource,
    SlaveId, SlaveInfo, Task, TaskId, TaskStatus, TimeInfo, Url, WeightInfo,
};
use mesos::resources::{Resources, ResourcesError};

use crate::allocator::{Allocator, FrameworkOptions, OfferMap};
use crate::constants::{master_capabilities, MINIMUM_AGENT_VERSION, STREAMED_DOCUMENT_MINIMUM};
use crate::flags::MasterFlags;
use crate::framework::{self, Connection, Framework, FrameworkError, FrameworkSnapshot};
use crate::metrics::MasterMetrics;
use crate::rate_limiter::{Limiter, RateLimiter};
use crate::registrar::Registrar;
use crate::registry_operations::Operation;
use crate::slave_observer::{SlaveObserverEvent, SlaveObserverHandle, SlaveObserverOptions};

/// The master's fixed process id (C++ `Master::Master`: `ProcessBase("master")`).
pub const PROCESS_ID: &str = "master";

/// The version this master reports in its `MasterInfo`.
pub const MESOS_VERSION: &str = "1.12.0";

/// Why the master refuses a message, or could not start.
#[derive(Debug, thiserror::Error)]
pub enum MasterError {
    #[error("agent version '{0}' is not a version")]
    UnparsableVersion(String),
    #[error("agent version {found} is older than the minimum supported {}.{}.{}", MINIMUM_AGENT_VERSION.0, MINIMUM_AGENT_VERSION.1, MINIMUM_AGENT_VERSION.2)]
    OldVersion { found: String },
    #[error("invalid agent id '{0}'")]
    InvalidSlaveId(String),
    #[error("agent id missing")]
    MissingSlaveId,
    #[error("invalid resources: {0}")]
    Resources(#[from] ResourcesError),
    #[error("checkpointed resources provided when checkpointing is not enabled")]
    CheckpointingDisabled,
    #[error("{0}")]
    Reregistration(String),
    #[error("agent has a domain but the master does not")]
    UnexpectedDomain,
    #[error("agent has no domain but --require_agent_domain is set")]
    MissingDomain,
    #[error("cannot spawn the master: {0}")]
    Spawn(#[from] SpawnError),
}

/// A semantic version as stout's `Version::parse` reads it: up to three numeric components
/// (missing ones are 0), then an optional `-prerelease` and `+build`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Version {
    core: (u64, u64, u64),
    /// Releases sort after their prereleases.
    release: bool,
}

impl Version {
    pub fn parse(text: &str) -> Result<Version, MasterError> {
        let bad = || MasterError::UnparsableVersion(text.to_string());
        let without_build = text.split('+').next().unwrap_or_default();
        let (core, prerelease) = match without_build.split_once('-') {
            Some((core, prerelease)) => (core, Some(prerelease)),
            None => (without_build, None),
        };
        if prerelease.is_some_and(str::is_empty) {
            return Err(bad());
        }
        let mut numbers = [0u64; 3];
        let parts: Vec<&str> = core.split('.').collect();
        if parts.len() > 3 {
            return Err(bad());
        }
        for (slot, part) in numbers.iter_mut().zip(&parts) {
            if part.is_empty() || !part.bytes().all(|b| b.is_ascii_digit()) {
                return Err(bad());
            }
            *slot = part.parse().map_err(|_| bad())?;
        }
        Ok(Version { core: (numbers[0], numbers[1], numbers[2]), release: prerelease.is_none() })
    }

    /// The agent version check of `Master::_registerSlave` and `_reregisterSlave`.
    pub fn check_agent(text: Option<&str>) -> Result<Version, MasterError> {
        let text = text.unwrap_or_default();
        let version = Version::parse(text)?;
        let minimum = Version { core: MINIMUM_AGENT_VERSION, release: true };
        if version < minimum {
            return Err(MasterError::OldVersion { found: text.to_string() });
        }
        Ok(version)
    }
}

/// The `MasterInfo` of a master at `address` (C++ `Master::Master`): a fresh UUID as id, the
/// IPv4 address as the in-memory (network byte order) `u32`, and `--hostname` or else the IP
/// (no reverse DNS lookup yet).
pub fn master_info(address: SocketAddrV4, flags: &MasterFlags) -> MasterInfo {
    let pid = UPID::new(PROCESS_ID, address);
    let hostname = flags.hostname.clone().unwrap_or_else(|| address.ip().to_string());
    MasterInfo {
        id: mesos::state::Uuid::random().to_string(),
        ip: u32::from_ne_bytes(address.ip().octets()),
        port: u32::from(address.port()),
        pid: Some(pid.to_string()),
        hostname: Some(hostname.clone()),
        version: Some(MESOS_VERSION.to_string()),
        address: Some(Address {
            hostname: Some(hostname),
            ip: Some(address.ip().to_string()),
            port: i32::from(address.port()),
        }),
        domain: None,
        capabilities: master_capabilities(),
    }
}

/// An agent as the master tracks it (C++ `Slave` in `master.hpp`).
struct Slave {
    info: SlaveInfo,
    pid: UPID,
    version: String,
    capabilities: Vec<i32>,
    checkpointed_resources: Vec<Resource>,
    /// The link to the agent is up (C++ `connected`).
    connected: bool,
    /// Its resources are offered (C++ `active`).
    active: bool,
    observer: SlaveObserverHandle,
    /// Armed while disconnected (C++ `reregistrationTimer`).
    reregistration_timer: Option<Timer>,
    /// Seconds since the epoch (C++ `registeredTime`, `reregisteredTime`).
    registered_time: f64,
    reregistered_time: Option<f64>,
    /// Ids of the tasks on it, per framework; the tasks live in their framework.
    tasks: HashMap<FrameworkId, HashSet<TaskId>>,
    /// Tasks the master asked it to kill, until they turn terminal (C++ `killedTasks`).
    killed_tasks: HashSet<(FrameworkId, TaskId)>,
    /// Its executors, per framework.
    executors: HashMap<FrameworkId, HashMap<ExecutorId, ExecutorInfo>>,
    /// What non-terminal tasks and executors use there, per framework (C++ `usedResources`).
    used_resources: HashMap<FrameworkId, Resources>,
    /// `used_resources` of all frameworks together, kept beside it (the state endpoints ask
    /// for it per agent, and summing tens of thousands of agents per request adds up).
    used_total: Resources,
    /// What outstanding offers hold there (C++ `offeredResources`).
    offered_resources: Resources,
}

impl Slave {
    /// The agent's total resources (C++ `totalResources`).
    fn total_resources(&self) -> Resources {
        self.info.resources.iter().cloned().collect()
    }

    /// C++ `Slave::addTask`.
    fn add_task(&mut self, task: &Task) {
        self.tasks.entry(task.framework_id.clone()).or_default().insert(task.task_id.clone());
        if !is_terminal(task.state()) {
            let resources: Resources = task.resources.iter().cloned().collect();
            self.used_total += &resources;
            *self.used_resources.entry(task.framework_id.clone()).or_default() += resources;
        }
    }

    /// Takes what a task or executor used off the framework's entry.
    fn release(&mut self, framework_id: &FrameworkId, resources: &[Resource]) {
        if let Some(used) = self.used_resources.get_mut(framework_id) {
            for resource in resources {
                *used -= resource;
                self.used_total -= resource;
            }
            if used.is_empty() {
                self.used_resources.remove(framework_id);
            }
        }
    }

    /// C++ `Slave::removeTask` (with `recoverResources` done before for terminal tasks).
    fn remove_task(&mut self, task: &Task) {
        if framework::holds_resources(task.state()) {
            self.release(&task.framework_id, &task.resources);
        }
        if let Some(ids) = self.tasks.get_mut(&task.framework_id) {
            ids.remove(&task.task_id);
            if ids.is_empty() {
                self.tasks.remove(&task.framework_id);
            }
        }
        self.killed_tasks.remove(&(task.framework_id.clone(), task.task_id.clone()));
    }

    /// Whether the agent runs this executor.
    fn has_executor(&self, framework_id: &FrameworkId, executor_id: &ExecutorId) -> bool {
        self.executors.get(framework_id).is_some_and(|e| e.contains_key(executor_id))
    }

    /// C++ `Slave::addExecutor`.
    fn add_executor(&mut self, framework_id: &FrameworkId, executor: ExecutorInfo) {
        let resources: Resources = executor.resources.iter().cloned().collect();
        self.used_total += &resources;
        *self.used_resources.entry(framework_id.clone()).or_default() += resources;
        self.executors.entry(framework_id.clone()).or_default().insert(executor.executor_id.clone(), executor);
    }

    /// C++ `Slave::removeExecutor`.
    fn remove_executor(&mut self, framework_id: &FrameworkId, executor_id: &ExecutorId) -> Option<ExecutorInfo> {
        let executors = self.executors.get_mut(framework_id)?;
        let executor = executors.remove(executor_id)?;
        if executors.is_empty() {
            self.executors.remove(framework_id);
        }
        self.release(framework_id, &executor.resources);
        Some(executor)
    }
}

/// What tests and endpoints see of one registered agent.
#[derive(Clone, Debug, PartialEq)]
pub struct AgentSnapshot {
    pub id: SlaveId,
    pub pid: UPID,
    pub hostname: String,
    pub connected: bool,
    pub active: bool,
    /// The `slave-observer(N)` pinging it.
    pub observer: UPID,
    pub tasks: usize,
}

/// The master's agent bookkeeping (C++ `Master::Slaves`).
#[derive(Default)]
struct Slaves {
    /// Agents whose registration is in flight, by sender (C++ `registering`).
    registering: HashSet<UPID>,
    /// Agents whose reregistration is in flight (C++ `reregistering`).
    reregistering: HashSet<SlaveId>,
    registered: HashMap<SlaveId, Slave>,
    /// Admitted in the registry but not reregistered since recovery (C++ `recovered`).
    recovered: HashMap<SlaveId, SlaveInfo>,
    unreachable: HashMap<SlaveId, TimeInfo>,
    gone: HashMap<SlaveId, TimeInfo>,
    marking_unreachable: HashSet<SlaveId>,
    removing: HashSet<SlaveId>,
    /// Tasks moved to their framework's unreachable list when their agent became
    /// unreachable, per agent and framework (C++ `unreachableTasks`).
    unreachable_tasks: HashMap<SlaveId, HashMap<FrameworkId, Vec<TaskId>>>,
}

impl Slaves {
    fn by_pid(&self, pid: &UPID) -> Option<SlaveId> {
        self.registered.iter().find(|(_, slave)| slave.pid == *pid).map(|(id, _)| id.clone())
    }
}

/// What a reregistering agent reports of its frameworks, tasks and executors.
struct AgentReport {
    frameworks: Vec<FrameworkInfo>,
    tasks: Vec<Task>,
    executors: Vec<ExecutorInfo>,
    /// The agent stamps `allocation_info` itself.
    multi_role: bool,
    /// The message of the status updates that announce its tasks to their frameworks; none
    /// for an agent recovered from the registry (C++ sends none then).
    announce: Option<&'static str>,
}

/// The clock's time in seconds since the epoch, as C++ `Clock::now().secs()`.
fn now_secs(ctx: &Context<Master>) -> f64 {
    ctx.now().since_epoch().as_secs_f64()
}

/// The master process (C++ `Master`).
pub struct Master {
    flags: MasterFlags,
    allocator: Allocator,
    registrar: Registrar,
    info: MasterInfo,
    /// Registry recovery has finished (C++ `recovered->isReady()`).
    recovered: bool,
    slaves: Slaves,
    /// The `N` of the next `<master id>-S<N>` (C++ `nextSlaveId`).
    next_slave_id: u64,
    /// Subscribed frameworks, connected or not (C++ `frameworks.registered`).
    frameworks: HashMap<FrameworkId, Framework>,
    /// Removed frameworks, oldest first, at most `--max_completed_frameworks`
    /// (C++ `frameworks.completed`).
    completed_frameworks: VecDeque<Framework>,
    /// Outstanding offers (C++ `offers`).
    offers: HashMap<OfferId, Offer>,
    /// The `N` of the next `<master id>-NNNN` (C++ `nextFrameworkId`).
    next_framework_id: u64,
    /// The `N` of the next `<master id>-O<N>` (C++ `nextOfferId`).
    next_offer_id: u64,
    /// When the master started, in seconds since the epoch (C++ `startTime`); set in
    /// `initialize`.
    start_time: f64,
    /// When this master became the leader (C++ `electedTime`); the standalone contender
    /// elects it as it starts.
    elected_time: Option<f64>,
    metrics: MasterMetrics,
    /// The v1 operator API's state: event subscribers, files service.
    operator: operator::Operator,
    /// Documents expected to be larger than this many bytes are streamed (chunked) as they
    /// are written rather than built whole first (see `http.rs`).
    stream_minimum: usize,
    /// Paces agent removals (C++ `slaves.limiter`): built from `--agent_removal_rate_limit`
    /// in `initialize` unless given by [`Master::with_removal_limiter`].
    removal_limiter: Option<Arc<dyn Limiter>>,
}

impl fmt::Debug for Master {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Master").field("id", &self.info.id).field("agents", &self.slaves.registered.len()).finish()
    }
}

/// Callers' handle on the master process.
#[derive(Clone)]
pub struct MasterHandle {
    pid: PID<Master>,
    lp: Libprocess,
}

impl MasterHandle {
    pub fn pid(&self) -> &PID<Master> {
        &self.pid
    }

    /// The registered agents, sorted by id.
    pub fn agents(&self) -> Future<Vec<AgentSnapshot>> {
        self.pid.dispatch(|master, _ctx| {
            let mut agents: Vec<AgentSnapshot> = master
                .slaves
                .registered
                .iter()
                .map(|(id, slave)| AgentSnapshot {
                    id: id.clone(),
                    pid: slave.pid.clone(),
                    hostname: slave.info.hostname.clone(),
                    connected: slave.connected,
                    active: slave.active,
                    observer: slave.observer.pid().upid().clone(),
                    tasks: slave.tasks.values().map(HashSet::len).sum(),
                })
                .collect();
            agents.sort_by(|a, b| a.id.value.cmp(&b.id.value));
            agents
        })
    }

    /// Agents marked unreachable, sorted by id.
    pub fn unreachable(&self) -> Future<Vec<SlaveId>> {
        self.pid.dispatch(|master, _ctx| {
            let mut ids: Vec<SlaveId> = master.slaves.unreachable.keys().cloned().collect();
            ids.sort_by(|a, b| a.value.cmp(&b.value));
            ids
        })
    }

    /// The subscribed frameworks, sorted by id.
    pub fn frameworks(&self) -> Future<Vec<FrameworkSnapshot>> {
        self.pid.dispatch(|master, _ctx| {
            let mut frameworks: Vec<FrameworkSnapshot> = master
                .frameworks
                .iter()
                .map(|(id, framework)| FrameworkSnapshot {
                    id: id.value.clone(),
                    name: framework.info.name.clone(),
                    pid: framework.pid_or_empty(),
                    stream_id: framework.http().map(|stream| stream.id.to_string()),
                    connected: framework.connected,
                    active: framework.active,
                    offers: framework.offers.len(),
                })
                .collect();
            frameworks.sort_by(|a, b| a.id.cmp(&b.id));
            frameworks
        })
    }

    /// The tasks the master tracks, sorted by framework then task id.
    pub fn tasks(&self) -> Future<Vec<Task>> {
        self.pid.dispatch(|master, _ctx| {
            let mut tasks: Vec<Task> =
                master.frameworks.values().flat_map(|f| f.tasks.values().map(|t| t.task().clone())).collect();
            tasks.sort_by(|a, b| {
                (&a.framework_id.value, &a.task_id.value).cmp(&(&b.framework_id.value, &b.task_id.value))
            });
            tasks
        })
    }

    /// The number of outstanding offers.
    pub fn offers(&self) -> Future<usize> {
        self.pid.dispatch(|master, _ctx| master.offers.len())
    }

    /// Whether registry recovery has finished.
    pub fn recovered(&self) -> Future<bool> {
        self.pid.dispatch(|master, _ctx| master.recovered)
    }

    /// The `MasterInfo` this master recovered with.
    pub fn info(&self) -> Future<MasterInfo> {
        self.pid.dispatch(|master, _ctx| master.info.clone())
    }

    /// Terminates the master process.
    pub fn terminate(&self) -> Future<()> {
        self.lp.terminate(self.pid.upid(), true);
        self.lp.wait(self.pid.upid())
    }
}

/// `Master::_registerSlave`/`_reregisterSlave` refuse agents with a domain when the master
/// has none (we have none yet), and agents without one under `--require_agent_domain`.
fn check_domain(flags: &MasterFlags, info: &SlaveInfo) -> Result<(), MasterError> {
    if info.domain.is_some() {
        return Err(MasterError::UnexpectedDomain);
    }
    if flags.require_agent_domain {
        return Err(MasterError::MissingDomain);
    }
    Ok(())
}

/// C++ `common::validation::validateSlaveID`.
fn validate_slave_id(id: &SlaveId) -> Result<(), MasterError> {
    let value = &id.value;
    let bad = value.is_empty()
        || value.len() > 255
        || value == "."
        || value == ".."
        || value.chars().any(|c| c.is_control() || c == '/' || c == '\\');
    if bad {
        return Err(MasterError::InvalidSlaveId(value.clone()));
    }
    Ok(())
}

/// C++ `master::validation::master::message::registerSlave` (and `validateSlaveInfo`).
fn validate_slave_info(info: &SlaveInfo, checkpointed: &[Resource]) -> Result<(), MasterError> {
    if let Some(id) = &info.id {
        validate_slave_id(id)?;
    }
    Resources::validate_all(&info.resources)?;
    if !info.checkpoint() && !checkpointed.is_empty() {
        return Err(MasterError::CheckpointingDisabled);
    }
    Resources::validate_all(checkpointed)?;
    Ok(())
}

/// C++ `master::validation::master::message::reregisterSlave`.
fn validate_reregistration(message: &ReregisterSlaveMessage) -> Result<SlaveId, MasterError> {
    validate_slave_info(&message.slave, &message.checkpointed_resources)?;
    let id = message.slave.id.clone().ok_or(MasterError::MissingSlaveId)?;
    let mut frameworks = HashSet::new();
    for framework in &message.frameworks {
        let Some(framework_id) = &framework.id else {
            return Err(MasterError::Reregistration("framework without id".into()));
        };
        if !frameworks.insert(framework_id.value.clone()) {
            return Err(MasterError::Reregistration(format!("duplicate framework {}", framework_id.value)));
        }
    }
    let mut executors = HashSet::new();
    for executor in &message.executor_infos {
        let framework = executor.framework_id.as_ref().map(|f| f.value.clone()).unwrap_or_default();
        if !frameworks.contains(&framework) {
            return Err(MasterError::Reregistration(format!(
                "executor {} has unknown framework '{framework}'",
                executor.executor_id.value
            )));
        }
        if !executors.insert((framework.clone(), executor.executor_id.value.clone())) {
            return Err(MasterError::Reregistration(format!(
                "duplicate executor {} of framework {framework}",
                executor.executor_id.value
            )));
        }
    }
    for task in &message.tasks {
        if task.slave_id != id {
            return Err(MasterError::Reregistration(format!(
                "task {} has agent id {}, not {}",
                task.task_id.value, task.slave_id.value, id.value
            )));
        }
        if !frameworks.contains(&task.framework_id.value) {
            return Err(MasterError::Reregistration(format!(
                "task {} has unknown framework {}",
                task.task_id.value, task.framework_id.value
            )));
        }
    }
    Ok(id)
}

impl Process for Master {
    /// C++ `Master::initialize`: the handlers, then (as the standalone contender elects at
    /// once) recovery.
    fn initialize(&mut self, ctx: &mut Context<Self>) {
        self.start_time = now_secs(ctx);
        self.elected_time = Some(self.start_time);
        self.metrics = MasterMetrics::register(ctx.libprocess(), ctx.pid());
        if self.removal_limiter.is_none() {
            // `MasterFlags::load` refused a bad rate already.
            if let Ok(Some((permits, duration))) = self.flags.agent_removal_rate() {
                match RateLimiter::new(ctx.libprocess().clock().clone(), permits, duration) {
                    Ok(limiter) => self.removal_limiter = Some(Arc::new(limiter)),
                    Err(error) => tracing::error!(%error, "agent removals are not rate limited"),
                }
            }
        }
        if let (Some(_), Some(rate)) = (&self.removal_limiter, &self.flags.agent_removal_rate_limit) {
            tracing::info!("agent removal is rate limited to {rate}");
        }
        ctx.install_protobuf(Master::receive_call);
        ctx.install_protobuf(Master::register_framework);
        ctx.install_protobuf(Master::reregister_framework);
        ctx.install_protobuf(Master::unregister_framework);
        ctx.install_protobuf(Master::deactivate_framework_message);
        ctx.install_protobuf(Master::resource_request_message);
        ctx.install_protobuf(Master::launch_tasks_message);
        ctx.install_protobuf(Master::revive_offers_message);
        ctx.install_protobuf(Master::kill_task_message);
        ctx.install_protobuf(Master::status_update_acknowledgement);
        ctx.install_protobuf(Master::framework_to_executor_message);
        ctx.install_protobuf(Master::register_slave);
        ctx.install_protobuf(Master::reregister_slave);
        ctx.install_protobuf(Master::unregister_slave);
        ctx.install_protobuf(Master::status_update);
        ctx.install_protobuf(Master::executor_to_framework_message);
        ctx.install_protobuf(Master::reconcile_tasks_message);
        ctx.install_protobuf(Master::exited_executor);
        http::install_routes(ctx);
        scheduler::install_route(ctx);
        operator::install(self, ctx);

        let master = ctx.pid().clone();
        match self.flags.allocator_options() {
            Ok(options) => self.allocator.initialize(
                options,
                Box::new(move |framework_id, offers| {
                    let framework_id = framework_id.clone();
                    master.dispatch_void(move |this: &mut Master, ctx| this.offer(ctx, framework_id, offers));
                }),
                None,
            ),
            Err(error) => tracing::error!(%error, "bad allocator flags; allocator not initialized"),
        }
        self.recover(ctx);
    }

    /// C++ `Master::exited(const UPID&)`, agent part: a registered agent whose link broke is
    /// disconnected and gets `--agent_reregister_timeout` to come back.
    fn exited(&mut self, ctx: &mut Context<Self>, pid: UPID) {
        let framework = self.frameworks.iter().find(|(_, f)| f.is_pid(&pid)).map(|(id, _)| id.clone());
        if let Some(framework_id) = framework {
            // The driver aborts on any error message; this one is best effort.
            let message = FrameworkErrorMessage { message: "Framework disconnected".into() };
            ctx.send_protobuf(&pid, &message);
            return self.framework_exited(ctx, framework_id);
        }
        let Some(id) = self.slaves.by_pid(&pid) else { return };
        tracing::info!(agent = %id.value, %pid, "agent disconnected");
        let timeout = self.flags.agent_reregister_timeout;
        let Some(slave) = self.slaves.registered.get_mut(&id) else { return };
        if !slave.connected {
            return;
        }
        self.disconnect(ctx, &id);
        let timer_id = id.clone();
        let timer = ctx.delay(timeout, move |this: &mut Master, ctx| this.agent_reregister_timeout(ctx, timer_id));
        if let Some(slave) = self.slaves.registered.get_mut(&id) {
            slave.reregistration_timer = Some(timer);
        }
    }
}

impl Master {
    /// C++ `Master::Master`.
    pub fn new(flags: MasterFlags, allocator: Allocator, registrar: Registrar, info: MasterInfo) -> Master {
        let operator = operator::Operator::new(flags.max_operator_event_stream_subscribers);
        Master {
            operator,
            flags,
            allocator,
            registrar,
            info,
            recovered: false,
            slaves: Slaves::default(),
            next_slave_id: 0,
            frameworks: HashMap::new(),
            completed_frameworks: VecDeque::new(),
            offers: HashMap::new(),
            next_framework_id: 0,
            next_offer_id: 0,
            start_time: 0.0,
            elected_time: None,
            metrics: MasterMetrics::detached(),
            stream_minimum: STREAMED_DOCUMENT_MINIMUM,
            removal_limiter: None,
        }
    }

    /// Paces agent removals with `limiter` instead of one built from
    /// `--agent_removal_rate_limit` (C++ hands the master its limiter; tests hand out permits
    /// by hand, as upstream's `MockRateLimiter`).
    pub fn with_removal_limiter(mut self, limiter: Arc<dyn Limiter>) -> Master {
        self.removal_limiter = Some(limiter);
        self
    }

    /// Spawns the master as `master` in `lp`.
    pub fn spawn(lp: &Libprocess, master: Master) -> Result<MasterHandle, MasterError> {
        let pid = lp.spawn(PROCESS_ID, master)?;
        Ok(MasterHandle { pid, lp: lp.clone() })
    }

    fn connection(&self) -> MasterSlaveConnection {
        let timeouts = u32::try_from(self.flags.max_agent_ping_timeouts).unwrap_or(u32::MAX);
        let total = self.flags.agent_ping_timeout.checked_mul(timeouts).unwrap_or(Duration::MAX);
        MasterSlaveConnection { total_ping_timeout_seconds: Some(total.as_secs_f64()) }
    }

    /// C++ `Master::recover`: the registrar stores our `MasterInfo` and returns the registry.
    fn recover(&mut self, ctx: &mut Context<Self>) {
        let recovered = self.registrar.recover(self.info.clone());
        ctx.defer(recovered, Master::recover_after_registry);
    }

    /// C++ `Master::_recover`: remembers admitted, unreachable and gone agents.
    fn recover_after_registry(&mut self, ctx: &mut Context<Self>, outcome: Outcome<Registry>) {
        let registry = match outcome {
            Ok(registry) => registry,
            Err(failure) => return self.abort(ctx, &format!("recovery failed: {failure}")),
        };
        for slave in registry.slaves.iter().flat_map(|s| &s.slaves) {
            if let Some(id) = &slave.info.id {
                self.slaves.recovered.insert(id.clone(), slave.info.clone());
            }
        }
        for slave in registry.unreachable.iter().flat_map(|s| &s.slaves) {
            self.slaves.unreachable.insert(slave.id.clone(), slave.timestamp);
        }
        for slave in registry.gone.iter().flat_map(|s| &s.slaves) {
            self.slaves.gone.insert(slave.id.clone(), slave.timestamp);
        }
        self.recover_weights(&registry);
        let admitted: Vec<SlaveInfo> = registry.slaves.iter().flat_map(|s| &s.slaves).map(|s| s.info.clone()).collect();
        ctx.delay(self.flags.agent_reregister_timeout, move |this: &mut Master, ctx| {
            this.recovered_slaves_timeout(ctx, admitted)
        });
        self.recovered = true;
        tracing::info!(
            master = %self.info.id,
            agents = self.slaves.recovered.len(),
            unreachable = self.slaves.unreachable.len(),
            gone = self.slaves.gone.len(),
            "recovered"
        );
    }

    /// The weights step of C++ `Master::_recover`: weights kept in the registry win over
    /// `--weights`; without any there, the flag's weights are stored. The allocator gets
    /// whichever apply.
    fn recover_weights(&mut self, registry: &Registry) {
        let weights: Vec<WeightInfo> = if registry.weights.is_empty() {
            // `MasterFlags::load` already refused a bad `--weights`.
            let flagged = self.flags.weights().unwrap_or_default();
            let weights: Vec<WeightInfo> =
                flagged.into_iter().map(|(role, weight)| WeightInfo { weight, role: Some(role) }).collect();
            if !weights.is_empty() {
                // As in C++, nothing waits for this store; a failure aborts the registrar,
                // and the master with it at its next operation.
                drop(self.registrar.apply(Operation::UpdateWeights(weights.clone())));
            }
            weights
        } else {
            if let Some(flag) = &self.flags.weights {
                tracing::warn!("ignoring --weights flag '{flag}' and recovering the weights from the registry");
            }
            registry.weights.iter().map(|weight| weight.info.clone()).collect()
        };
        self.allocator.update_weights(weights);
    }

    /// C++ `LOG(FATAL)` on a failed registry operation: the master stops.
    fn abort(&mut self, ctx: &mut Context<Self>, why: &str) {
        tracing::error!(master = %self.info.id, "{why}; terminating the master");
        ctx.terminate();
    }

    /// C++ `Master::_consume`: everything is dropped until recovery has finished.
    fn accepting(&self, name: &str, from: &UPID) -> bool {
        if !self.recovered {
            tracing::debug!(%from, "dropping '{name}' message since not recovered yet");
            self.metrics.increment("dropped_messages");
            return false;
        }
        self.metrics.message(name);
        true
    }

    /// C++ `Master::newSlaveId`: `<master id>-S<N>`.
    fn new_slave_id(&mut self) -> SlaveId {
        let id = SlaveId { value: format!("{}-S{}", self.info.id, self.next_slave_id) };
        self.next_slave_id += 1;
        id
    }

    /// `RegisterSlaveMessage` (C++ `Master::registerSlave` and `_registerSlave`).
    fn register_slave(&mut self, ctx: &mut Context<Self>, from: &UPID, message: RegisterSlaveMessage) {
        if !self.accepting("mesos.internal.RegisterSlaveMessage", from) {
            return;
        }
        let hostname = message.slave.hostname.clone();
        if let Err(error) = validate_slave_info(&message.slave, &message.checkpointed_resources) {
            tracing::warn!(%from, %error, "dropping registration of agent: invalid registration");
            return;
        }
        if self.slaves.registering.contains(from) {
            tracing::info!(%from, %hostname, "ignoring register agent message: registration already in progress");
            return;
        }
        // No authorization yet: C++ continues in `_registerSlave` once it is granted.
        if let Some(id) = self.slaves.by_pid(from) {
            let connected = self.slaves.registered.get(&id).is_some_and(|s| s.connected);
            if connected {
                tracing::info!(agent = %id.value, %from, "agent already registered, resending acknowledgement");
                let reply = SlaveRegisteredMessage { slave_id: id, connection: Some(self.connection()) };
                ctx.send_protobuf(from, &reply);
                return;
            }
            tracing::info!(agent = %id.value, "removing old disconnected agent because a registration attempt occurred");
            self.metrics.increment("slave_removals/reason_registered");
            self.remove_slave(ctx, &id, "a new agent registered at the same address");
        }
        if let Err(error) = Version::check_agent(message.version.as_deref()) {
            tracing::warn!(%from, %error, "ignoring agent registration attempt");
            return;
        }
        if let Err(error) = check_domain(&self.flags, &message.slave) {
            tracing::warn!(%from, %error, "ignoring agent registration attempt");
            return;
        }
        let mut info = message.slave.clone();
        let id = self.new_slave_id();
        info.id = Some(id.clone());
        tracing::info!(%from, %hostname, agent = %id.value, "registering agent");
        self.slaves.registering.insert(from.clone());
        let from = from.clone();
        let admitted = self.registrar.apply(Operation::AdmitSlave(info.clone()));
        ctx.defer(admitted, move |this: &mut Master, ctx, outcome| {
            this.register_slave_after_admission(ctx, from, message, info, outcome)
        });
    }

    /// C++ `Master::__registerSlave`: the registry admitted the agent (or not).
    fn register_slave_after_admission(
        &mut self,
        ctx: &mut Context<Self>,
        from: UPID,
        message: RegisterSlaveMessage,
        info: SlaveInfo,
        admitted: Outcome<bool>,
    ) {
        self.slaves.registering.remove(&from);
        let id = info.id.clone().unwrap_or_default();
        match admitted {
            Err(failure) => return self.abort(ctx, &format!("failed to admit agent {}: {failure}", id.value)),
            Ok(false) => {
                // C++ `__registerSlave`: the id already appears in the registry; the attempt
                // is logged and ignored (no shutdown is sent), and the agent will retry.
                tracing::warn!(
                    agent = %id.value,
                    %from,
                    "agent was assigned an agent ID that already appears in the registry; ignoring registration attempt"
                );
                return;
            }
            Ok(true) => {}
        }
        let slave = self.new_slave(
            ctx,
            info,
            from.clone(),
            message.version.unwrap_or_default(),
            message.agent_capabilities.iter().map(|c| c.r#type.unwrap_or_default()).collect(),
            message.checkpointed_resources,
        );
        let Some(slave) = slave else { return };
        self.add_slave(ctx, slave);
        let reply = SlaveRegisteredMessage { slave_id: id.clone(), connection: Some(self.connection()) };
        ctx.send_protobuf(&from, &reply);
        self.metrics.increment("slave_registrations");
        tracing::info!(agent = %id.value, %from, "registered agent");
    }

    /// Builds the record of an admitted agent and spawns its observer.
    fn new_slave(
        &mut self,
        ctx: &mut Context<Self>,
        info: SlaveInfo,
        pid: UPID,
        version: String,
        capabilities: Vec<i32>,
        checkpointed_resources: Vec<Resource>,
    ) -> Option<Slave> {
        let id = info.id.clone().unwrap_or_default();
        let master = ctx.pid().clone();
        let options = SlaveObserverOptions {
            agent_ping_timeout: self.flags.agent_ping_timeout,
            max_agent_ping_timeouts: self.flags.max_agent_ping_timeouts,
            limiter: self.removal_limiter.clone(),
        };
        let notify = move |event: SlaveObserverEvent| {
            master.dispatch_void(move |this: &mut Master, ctx| this.observer_event(ctx, event));
        };
        let observer = match SlaveObserverHandle::spawn(ctx.libprocess(), pid.clone(), id.clone(), options, notify) {
            Ok(observer) => observer,
            Err(error) => {
                tracing::error!(agent = %id.value, %error, "cannot start the agent's observer");
                return None;
            }
        };
        Some(Slave {
            info,
            pid,
            version,
            capabilities,
            checkpointed_resources,
            connected: true,
            active: true,
            observer,
            reregistration_timer: None,
            registered_time: now_secs(ctx),
            reregistered_time: None,
            tasks: HashMap::new(),
            killed_tasks: HashSet::new(),
            executors: HashMap::new(),
            used_resources: HashMap::new(),
            used_total: Resources::new(),
            offered_resources: Resources::new(),
        })
    }

    /// C++ `Master::addSlave`: link, observe (the observer is already running) and hand the
    /// agent's resources to the allocator.
    fn add_slave(&mut self, ctx: &mut Context<Self>, slave: Slave) {
        let id = slave.info.id.clone().unwrap_or_default();
        ctx.link(&slave.pid);
        let capabilities = slave
            .capabilities
            .iter()
            .map(|&kind| mesos::proto::slave_info::Capability { r#type: Some(kind) })
            .collect();
        let total = slave.total_resources();
        self.allocator.add_slave(id.clone(), slave.info.clone(), capabilities, total, slave.used_resources.clone());
        self.slaves.registered.insert(id.clone(), slave);
        self.publish_agent_added(&id);
    }

    /// `ReregisterSlaveMessage` (C++ `Master::reregisterSlave` and `_reregisterSlave`).
    fn reregister_slave(&mut self, ctx: &mut Context<Self>, from: &UPID, message: ReregisterSlaveMessage) {
        if !self.accepting("mesos.internal.ReregisterSlaveMessage", from) {
            return;
        }
        if let Some(id) = &message.slave.id {
            if self.slaves.gone.contains_key(id) {
                tracing::warn!(agent = %id.value, %from, "refusing reregistration: agent is marked gone");
                let shutdown = ShutdownMessage { message: Some("Agent has been marked gone".into()) };
                ctx.send_protobuf(from, &shutdown);
                return;
            }
        }
        let id = match validate_reregistration(&message) {
            Ok(id) => id,
            Err(error) => {
                tracing::warn!(%from, %error, "dropping reregistration of agent: invalid reregistration");
                return;
            }
        };
        if self.slaves.reregistering.contains(&id) {
            tracing::info!(agent = %id.value, %from, "ignoring reregister agent message: already in progress");
            return;
        }
        if self.slaves.marking_unreachable.contains(&id) {
            tracing::info!(agent = %id.value, %from, "ignoring reregister agent message: unreachable transition in progress");
            return;
        }
        if let Err(error) = Version::check_agent(message.version.as_deref()) {
            tracing::warn!(agent = %id.value, %from, %error, "ignoring agent reregistration attempt");
            return;
        }
        if let Err(error) = check_domain(&self.flags, &message.slave) {
            tracing::warn!(agent = %id.value, %from, %error, "ignoring agent reregistration attempt");
            return;
        }
        self.slaves.reregistering.insert(id.clone());
        let from = from.clone();
        let info = message.slave.clone();

        if let Some(slave) = self.slaves.registered.get(&id) {
            // Maintenance is per machine, so a registered agent may not move.
            if slave.pid.ip != from.ip || slave.info.hostname != info.hostname {
                tracing::warn!(agent = %id.value, %from, "agent attempted to reregister with different IP / hostname; shutting it down");
                let shutdown = ShutdownMessage {
                    message: Some("Agent attempted to reregister with different IP / hostname".into()),
                };
                ctx.send_protobuf(&from, &shutdown);
                self.slaves.reregistering.remove(&id);
                return;
            }
            if slave.info == info {
                return self.reregister_known_slave(ctx, from, message, Ok(true));
            }
            let updated = self.registrar.apply(Operation::UpdateSlave(info));
            ctx.defer(updated, move |this: &mut Master, ctx, outcome| {
                this.reregister_known_slave(ctx, from, message, outcome)
            });
        } else if let Some(recovered) = self.slaves.recovered.get(&id) {
            tracing::info!(agent = %id.value, %from, "reregistering agent recovered from the registry");
            if *recovered == info {
                return self.reregister_slave_after_registry(ctx, from, message, Ok(true));
            }
            let updated = self.registrar.apply(Operation::UpdateSlave(info));
            ctx.defer(updated, move |this: &mut Master, ctx, outcome| {
                this.reregister_slave_after_registry(ctx, from, message, outcome)
            });
        } else {
            // Usually an agent marked unreachable; an unknown one is admitted as well.
            tracing::info!(agent = %id.value, %from, "reregistering agent");
            let reachable = self.registrar.apply(Operation::MarkSlaveReachable(info));
            ctx.defer(reachable, move |this: &mut Master, ctx, outcome| {
                this.reregister_slave_after_registry(ctx, from, message, outcome)
            });
        }
    }

    /// C++ `Master::__reregisterSlave`: an agent this master does not hold in memory is in
    /// the registry again; add it.
    fn reregister_slave_after_registry(
        &mut self,
        ctx: &mut Context<Self>,
        from: UPID,
        message: ReregisterSlaveMessage,
        outcome: Outcome<bool>,
    ) {
        let info = message.slave.clone();
        let id = info.id.clone().unwrap_or_default();
        self.slaves.reregistering.remove(&id);
        match outcome {
            Err(failure) => {
                return self.abort(ctx, &format!("failed to update registry for agent {}: {failure}", id.value))
            }
            Ok(false) => {
                // C++ CHECKs this never happens; the registry no longer lets this agent in.
                tracing::error!(agent = %id.value, %from, "registry refused the agent's reregistration");
                return;
            }
            Ok(true) => {}
        }
        let was_recovered = self.slaves.recovered.remove(&id).is_some();
        let was_unreachable = self.slaves.unreachable.remove(&id).is_some();
        let capabilities: Vec<i32> = message.agent_capabilities.iter().map(|c| c.r#type.unwrap_or_default()).collect();
        let multi_role = capabilities.contains(&(AgentCapability::MultiRole as i32));
        let Some(mut slave) = self.new_slave(
            ctx,
            info,
            from.clone(),
            message.version.unwrap_or_default(),
            capabilities,
            message.checkpointed_resources,
        ) else {
            return;
        };
        slave.reregistered_time = Some(now_secs(ctx));
        let report = AgentReport {
            frameworks: message.frameworks,
            tasks: message.tasks,
            executors: message.executor_infos,
            multi_role,
            announce: (!was_recovered).then_some(if was_unreachable {
                "Unreachable agent re-reregistered"
            } else {
                "Unknown agent reregistered"
            }),
        };
        let (recovered, completed) = self.adopt_agent_report(ctx, &mut slave, report);
        self.add_slave(ctx, slave);
        for framework_id in recovered {
            if let Some(framework) = self.frameworks.get(&framework_id) {
                let used = framework.used_resources.clone();
                let info = framework.info.clone();
                self.allocator.add_framework(framework_id, info, used, false, FrameworkOptions::default());
            }
        }
        let reply = SlaveReregisteredMessage {
            slave_id: id.clone(),
            reconciliations: Vec::new(),
            connection: Some(self.connection()),
        };
        ctx.send_protobuf(&from, &reply);
        self.metrics.increment("slave_reregistrations");
        tracing::info!(agent = %id.value, %from, "reregistered agent");
        for framework_id in completed {
            tracing::info!(agent = %id.value, framework = %framework_id.value, "shutting down completed framework at reregistered agent");
            ctx.send_protobuf(&from, &ShutdownFrameworkMessage { framework_id });
        }
    }

    /// The frameworks, tasks and executors a reregistering agent unknown to this master
    /// reports (C++ `__reregisterSlave` with `recoverFramework` from
    /// `updateSlaveFrameworks`): frameworks this master does not know are recovered (no pid
    /// until they subscribe), tasks and executors are added, tasks left unreachable there are
    /// forgotten. Returns the recovered frameworks, which the caller hands to the allocator
    /// after the agent, and the completed frameworks the agent still runs.
    fn adopt_agent_report(
        &mut self,
        ctx: &mut Context<Self>,
        slave: &mut Slave,
        mut report: AgentReport,
    ) -> (Vec<FrameworkId>, Vec<FrameworkId>) {
        let slave_id = slave.info.id.clone().unwrap_or_default();
        let now = now_secs(ctx);
        let infos: HashMap<FrameworkId, FrameworkInfo> =
            report.frameworks.into_iter().filter_map(|f| f.id.clone().map(|id| (id, f))).collect();
        // An agent without MULTI_ROLE does not stamp allocations; the framework's only role
        // is the one (C++ `injectAllocationInfo`).
        if !report.multi_role {
            let single_role = |framework_id: &FrameworkId| {
                let roles = framework::roles(infos.get(framework_id)?);
                (roles.len() == 1).then(|| roles.into_iter().next()).flatten()
            };
            let stamp = |resources: &mut Vec<Resource>, role: &str| {
                for resource in resources.iter_mut().filter(|r| r.allocation_info.is_none()) {
                    resource.allocation_info = Some(AllocationInfo { role: Some(role.to_owned()) });
                }
            };
            report.tasks.retain_mut(|task| match single_role(&task.framework_id) {
                Some(role) => {
                    stamp(&mut task.resources, &role);
                    true
                }
                None => {
                    tracing::warn!(agent = %slave_id.value, task = %task.task_id.value, "dropping reported task: its framework's role is unknown");
                    false
                }
            });
            report.executors.retain_mut(|executor| match executor.framework_id.as_ref().and_then(&single_role) {
                Some(role) => {
                    stamp(&mut executor.resources, &role);
                    true
                }
                None => false,
            });
        }
        let mut recovered = Vec::new();
        let mut completed = Vec::new();
        let mut ids: Vec<&FrameworkId> = infos.keys().collect();
        ids.sort_by(|a, b| a.value.cmp(&b.value));
        for id in ids {
            if self.is_completed_framework(id) {
                completed.push(id.clone());
            } else if !self.frameworks.contains_key(id) {
                tracing::info!(framework = %id.value, agent = %slave_id.value, "recovering framework from the agent's report");
                self.frameworks.insert(id.clone(), Framework::new(infos[id].clone(), Connection::None, true, now));
                self.publish_framework_added(id);
                recovered.push(id.clone());
            }
        }
        for task in report.tasks {
            let framework_id = task.framework_id.clone();
            if self.is_completed_framework(&framework_id) {
                continue;
            }
            let Some(framework) = self.frameworks.get_mut(&framework_id) else {
                tracing::warn!(agent = %slave_id.value, task = %task.task_id.value, framework = %framework_id.value, "dropping reported task of an unknown framework");
                continue;
            };
            if framework.tasks.contains_key(&task.task_id) || task.state() == mesos::proto::TaskState::TaskUnreachable {
                tracing::warn!(agent = %slave_id.value, task = %task.task_id.value, "dropping reported task: duplicate or unreachable");
                continue;
            }
            if report.announce.is_some() {
                framework.take_unreachable_task(&task.task_id);
                framework.completed_tasks.retain(|completed| completed.task_id != task.task_id);
            }
            let connected = framework.connected;
            if let Some(message) = report.announce {
                if connected {
                    let update = self.reregistered_task_update(&task, message, now);
                    self.forward(ctx, update, &UPID::empty(), &framework_id);
                } else {
                    tracing::warn!(framework = %framework_id.value, task = %task.task_id.value, "dropping update for a disconnected framework: {message}");
                }
            }
            slave.add_task(&task);
            self.operator.events.task_added(&task);
            if let Some(framework) = self.frameworks.get_mut(&framework_id) {
                framework.add_task(task);
            }
        }
        for executor in report.executors {
            let Some(framework_id) = executor.framework_id.clone() else { continue };
            let Some(framework) = self.frameworks.get_mut(&framework_id) else { continue };
            if slave.has_executor(&framework_id, &executor.executor_id) {
                continue;
            }
            framework.add_executor(&slave_id, executor.clone());
            slave.add_executor(&framework_id, executor);
        }
        if let Some(left) = self.slaves.unreachable_tasks.remove(&slave_id) {
            for (framework_id, task_ids) in left {
                if let Some(framework) = self.frameworks.get_mut(&framework_id) {
                    for task_id in task_ids {
                        framework.take_unreachable_task(&task_id);
                    }
                }
            }
        }
        (recovered, completed)
    }

    /// C++ `Master::___reregisterSlave` with `reconcileKnownSlave`: a registered agent came
    /// back (new link, or it re-detected us).
    fn reregister_known_slave(
        &mut self,
        ctx: &mut Context<Self>,
        from: UPID,
        message: ReregisterSlaveMessage,
        outcome: Outcome<bool>,
    ) {
        let id = message.slave.id.clone().unwrap_or_default();
        self.slaves.reregistering.remove(&id);
        if let Err(failure) = outcome {
            return self.abort(ctx, &format!("failed to update agent {} in the registry: {failure}", id.value));
        }
        let connection = self.connection();
        let Some(slave) = self.slaves.registered.get_mut(&id) else {
            tracing::warn!(agent = %id.value, "dropping reregistration: agent was removed meanwhile");
            return;
        };
        slave.pid = from.clone();
        ctx.link(&from);
        slave.info = message.slave.clone();
        slave.version = message.version.clone().unwrap_or_default();
        slave.capabilities = message.agent_capabilities.iter().map(|c| c.r#type.unwrap_or_default()).collect();
        slave.checkpointed_resources = message.checkpointed_resources;
        slave.reregistered_time = Some(now_secs(ctx));
        let reconciliations = self.reconcile_known_slave(ctx, &id, &from, &message.executor_infos, &message.tasks);
        let reply = SlaveReregisteredMessage { slave_id: id.clone(), reconciliations, connection: Some(connection) };
        ctx.send_protobuf(&from, &reply);
        self.metrics.increment("slave_reregistrations");
        let Some(slave) = self.slaves.registered.get_mut(&id) else { return };
        if !slave.connected {
            if let Some(timer) = slave.reregistration_timer.take() {
                ctx.cancel(timer);
            }
            slave.connected = true;
            slave.observer.reconnect();
            slave.active = true;
            self.allocator.activate_slave(id.clone());
        }
        tracing::info!(agent = %id.value, %from, "agent reregistered");
    }

    /// C++ `Master::reconcileKnownSlave`: tasks the master has on the agent and the agent
    /// did not report go back to it as reconciliation requests; executors it did not report
    /// are removed; tasks the master killed and the agent still runs are killed again.
    fn reconcile_known_slave(
        &mut self,
        ctx: &mut Context<Self>,
        id: &SlaveId,
        pid: &UPID,
        executors: &[ExecutorInfo],
        tasks: &[Task],
    ) -> Vec<ReconcileTasksMessage> {
        let now = now_secs(ctx);
        let reported: HashSet<(&FrameworkId, &TaskId)> = tasks.iter().map(|t| (&t.framework_id, &t.task_id)).collect();
        let Some(slave) = self.slaves.registered.get(id) else { return Vec::new() };
        let mut reconciliations = Vec::new();
        let mut framework_ids: Vec<&FrameworkId> = slave.tasks.keys().collect();
        framework_ids.sort_by(|a, b| a.value.cmp(&b.value));
        for framework_id in framework_ids {
            let Some(framework) = self.frameworks.get(framework_id) else { continue };
            let mut statuses = Vec::new();
            let mut task_ids: Vec<&TaskId> = slave.tasks[framework_id].iter().collect();
            task_ids.sort_by(|a, b| a.value.cmp(&b.value));
            for task_id in task_ids {
                if reported.contains(&(framework_id, task_id)) {
                    continue;
                }
                let Some(task) = framework.tasks.get(task_id) else { continue };
                tracing::warn!(agent = %id.value, task = %task_id.value, framework = %framework_id.value, "task unknown to the agent during reregistration: reconciling with the agent");
                let mut status = TaskStatus {
                    task_id: task_id.clone(),
                    slave_id: Some(id.clone()),
                    message: Some("Reconciliation request".into()),
                    timestamp: Some(now),
                    ..Default::default()
                };
                status.state = task.status_update_state.unwrap_or(task.state);
                status.set_source(mesos::proto::task_status::Source::Master);
                status.set_reason(mesos::proto::task_status::Reason::Reconciliation);
                statuses.push(status);
            }
            if !statuses.is_empty() {
                reconciliations.push(ReconcileTasksMessage {
                    framework_id: framework_id.clone(),
                    statuses,
                    framework: Some(framework.info.clone()),
                });
            }
        }
        let known: HashSet<(Option<&FrameworkId>, &ExecutorId)> =
            executors.iter().map(|e| (e.framework_id.as_ref(), &e.executor_id)).collect();
        let stale: Vec<(FrameworkId, ExecutorId)> = slave
            .executors
            .iter()
            .flat_map(|(f, es)| es.keys().map(move |e| (f.clone(), e.clone())))
            .filter(|(f, e)| !known.contains(&(Some(f), e)))
            .collect();
        for (framework_id, executor_id) in stale {
            tracing::warn!(agent = %id.value, executor = %executor_id.value, framework = %framework_id.value, "executor possibly unknown to the agent");
            self.remove_executor(id, &framework_id, &executor_id);
        }
        let Some(slave) = self.slaves.registered.get(id) else { return reconciliations };
        for task in tasks {
            let killed = slave.killed_tasks.contains(&(task.framework_id.clone(), task.task_id.clone()));
            if killed && !is_terminal(task.state()) {
                tracing::warn!(agent = %id.value, task = %task.task_id.value, "agent still runs a task that was killed; killing it now");
                let kill = KillTaskMessage {
                    framework_id: task.framework_id.clone(),
                    task_id: task.task_id.clone(),
                    kill_policy: None,
                };
                ctx.send_protobuf(pid, &kill);
            }
        }
        reconciliations
    }

    /// `UnregisterSlaveMessage` (C++ `Master::unregisterSlave`): only the agent itself may.
    fn unregister_slave(&mut self, ctx: &mut Context<Self>, from: &UPID, message: UnregisterSlaveMessage) {
        if !self.accepting("mesos.internal.UnregisterSlaveMessage", from) {
            return;
        }
        let id = message.slave_id;
        tracing::info!(agent = %id.value, %from, "asked to unregister agent");
        let Some(slave) = self.slaves.registered.get(&id) else { return };
        if slave.pid != *from {
            tracing::warn!(agent = %id.value, %from, pid = %slave.pid, "ignoring unregister agent message: not from the agent");
            return;
        }
        self.metrics.increment("slave_removals/reason_unregistered");
        self.remove_slave(ctx, &id, "the agent unregistered");
    }

    /// C++ `Master::removeSlave`: out of the allocator at once, then out of the registry.
    fn remove_slave(&mut self, ctx: &mut Context<Self>, id: &SlaveId, why: &'static str) {
        if self.slaves.removing.contains(id) {
            tracing::info!(agent = %id.value, "skipping removal: already being removed");
            return;
        }
        if !self.slaves.registered.contains_key(id) {
            return;
        }
        self.rescind_agent_offers(ctx, id);
        let Some(slave) = self.slaves.registered.get_mut(id) else { return };
        tracing::info!(agent = %id.value, "removing agent: {why}");
        self.slaves.removing.insert(id.clone());
        self.allocator.remove_slave(id.clone());
        slave.active = false;
        let removed = self.registrar.apply(Operation::RemoveSlave(slave.info.clone()));
        let id = id.clone();
        ctx.defer(removed, move |this: &mut Master, ctx, outcome| {
            this.remove_slave_after_registry(ctx, id, why, outcome)
        });
    }

    /// C++ `Master::_removeSlave`.
    fn remove_slave_after_registry(&mut self, ctx: &mut Context<Self>, id: SlaveId, why: &str, outcome: Outcome<bool>) {
        self.slaves.removing.remove(&id);
        match outcome {
            Err(failure) => return self.abort(ctx, &format!("failed to remove agent {}: {failure}", id.value)),
            Ok(false) => tracing::error!(agent = %id.value, "registry had no such agent to remove"),
            Ok(true) => tracing::info!(agent = %id.value, "removed agent: {why}"),
        }
        self.metrics.increment("slave_removals");
        let hostname = self.slaves.registered.get(&id).map(|s| s.info.hostname.clone()).unwrap_or_default();
        self.transition_agent_tasks(ctx, &id, &format!("Agent {hostname} removed: {why}"), None);
        self.forget_slave(ctx, &id);
    }

    /// The tasks of an agent that is removed (`unreachable_time` none: C++ `_removeSlave`,
    /// TASK_LOST) or unreachable (C++ `__removeSlave`: TASK_UNREACHABLE for partition-aware
    /// frameworks, TASK_LOST for the others, kept as unreachable tasks); each update goes to
    /// a connected framework. Then its executors and offers go, and connected frameworks
    /// hear `LostSlaveMessage` (C++ `sendSlaveLost`).
    fn transition_agent_tasks(
        &mut self,
        ctx: &mut Context<Self>,
        id: &SlaveId,
        message: &str,
        unreachable_time: Option<TimeInfo>,
    ) {
        let Some(slave) = self.slaves.registered.get(id) else { return };
        let mut tasks: Vec<(FrameworkId, TaskId)> =
            slave.tasks.iter().flat_map(|(f, ts)| ts.iter().map(move |t| (f.clone(), t.clone()))).collect();
        tasks.sort_by(|a, b| (&a.0.value, &a.1.value).cmp(&(&b.0.value, &b.1.value)));
        let executors: Vec<(FrameworkId, ExecutorId)> =
            slave.executors.iter().flat_map(|(f, es)| es.keys().map(move |e| (f.clone(), e.clone()))).collect();
        for (framework_id, task_id) in tasks {
            let partition_aware =
                self.frameworks.get(&framework_id).is_some_and(|f| framework::partition_aware(&f.info));
            let state = if unreachable_time.is_some() && partition_aware {
                mesos::proto::TaskState::TaskUnreachable
            } else {
                mesos::proto::TaskState::TaskLost
            };
            self.master_task_update(
                ctx,
                &framework_id,
                &task_id,
                state,
                message,
                mesos::proto::task_status::Reason::SlaveRemoved,
                unreachable_time,
                true,
            );
            self.remove_task(&framework_id, &task_id, unreachable_time.is_some());
        }
        for (framework_id, executor_id) in executors {
            self.remove_executor(id, &framework_id, &executor_id);
        }
        self.rescind_agent_offers(ctx, id);
        self.send_slave_lost(ctx, id);
    }

    /// C++ `Master::sendSlaveLost`: every connected framework hears `LostSlaveMessage`.
    fn send_slave_lost(&self, ctx: &mut Context<Self>, id: &SlaveId) {
        let lost = LostSlaveMessage { slave_id: id.clone() };
        for (framework_id, framework) in &self.frameworks {
            if framework.connected {
                tracing::info!(framework = %framework_id.value, agent = %id.value, "notifying framework of lost agent");
                framework.send(ctx, &lost);
            }
        }
    }

    /// C++ `Master::__removeSlave`: drops the agent from memory and stops its observer.
    /// The allocator already forgot it. Nothing is sent to the agent.
    fn forget_slave(&mut self, ctx: &mut Context<Self>, id: &SlaveId) {
        if let Some(mut slave) = self.slaves.registered.remove(id) {
            if let Some(timer) = slave.reregistration_timer.take() {
                ctx.cancel(timer);
            }
            // Dropping the handle terminates `slave-observer(N)`.
            drop(slave.observer);
            self.operator.events.agent_removed(id);
        }
    }

    /// C++ `Master::disconnect` and `deactivate`.
    fn disconnect(&mut self, ctx: &mut Context<Self>, id: &SlaveId) {
        self.rescind_agent_offers(ctx, id);
        let Some(slave) = self.slaves.registered.get_mut(id) else { return };
        tracing::info!(agent = %id.value, "disconnecting agent");
        slave.connected = false;
        slave.observer.disconnect();
        slave.active = false;
        self.allocator.deactivate_slave(id.clone());
    }

    /// C++ `Master::agentReregisterTimeout`: a disconnected agent that did not come back is
    /// marked unreachable once the removal limiter allows.
    fn agent_reregister_timeout(&mut self, ctx: &mut Context<Self>, id: SlaveId) {
        let Some(slave) = self.slaves.registered.get_mut(&id) else { return };
        slave.reregistration_timer = None;
        if slave.connected {
            return;
        }
        if self.removal_limiter.is_some() {
            tracing::info!(agent = %id.value, "scheduling removal of agent; did not reregister within {} after disconnecting",
                libprocess::duration::format(self.flags.agent_reregister_timeout));
        }
        self.metrics.increment("slave_unreachable_scheduled");
        let permit = self.removal_permit();
        ctx.defer(permit, move |this: &mut Master, ctx, _granted| this.agent_reregister_timeout_permitted(ctx, id));
    }

    /// C++ `Master::_agentReregisterTimeout`: the agent may have come back, or gone, while
    /// waiting for the permit. (C++'s limiter never fails a permit, so neither is waited
    /// for by anything that could discard it.)
    fn agent_reregister_timeout_permitted(&mut self, ctx: &mut Context<Self>, id: SlaveId) {
        if self.slaves.registered.get(&id).is_none_or(|slave| slave.connected) {
            self.metrics.increment("slave_unreachable_canceled");
            return;
        }
        self.metrics.increment("slave_unreachable_completed");
        let why = format!(
            "agent did not reregister within {} after disconnecting",
            libprocess::duration::format(self.flags.agent_reregister_timeout)
        );
        self.mark_unreachable(ctx, id, false, why);
    }

    /// A permit from the removal limiter, at once without one (C++ `Future<Nothing> acquire
    /// = Nothing()`).
    fn removal_permit(&self) -> Future<()> {
        match &self.removal_limiter {
            // Nothing withdraws these requests: as in C++, an agent that comes back meanwhile
            // still uses up its turn (MESOS-8386).
            Some(limiter) => limiter.acquire().0,
            None => Future::ready(()),
        }
    }

    /// C++ `Master::recoveredSlavesTimeout`: agents admitted in the recovered registry that
    /// have not reregistered after `--agent_reregister_timeout` are marked unreachable, one
    /// permit of the removal limiter each, unless they are more than
    /// `--recovery_agent_removal_limit` of the admitted agents: then the master exits.
    fn recovered_slaves_timeout(&mut self, ctx: &mut Context<Self>, admitted: Vec<SlaveInfo>) {
        // Validated when the flags were loaded.
        let limit = self.flags.recovery_agent_removal_limit().unwrap_or(1.0);
        // With no admitted agents this is NaN, which exceeds nothing, as in C++.
        let removal = self.slaves.recovered.len() as f64 / admitted.len() as f64;
        if removal > limit {
            let mut missing: Vec<&str> = self.slaves.recovered.keys().map(|id| id.value.as_str()).collect();
            missing.sort_unstable();
            // C++ streams the percentages as doubles (`%g`, six digits) and the ids as a list.
            let message = format!(
                "Post-recovery agent removal limit exceeded! After {} there were {} ({}%) agents recovered from \
                 the registry that did not reregister: \n[ {} ]\n  The configured removal limit is {}%. Please \
                 investigate or increase this limit to proceed further",
                libprocess::duration::format(self.flags.agent_reregister_timeout),
                self.slaves.recovered.len(),
                mesos::values::format_significant(removal * 100.0, 6),
                missing.join(", "),
                mesos::values::format_significant(limit * 100.0, 6)
            );
            return self.abort(ctx, &message);
        }
        for info in admitted {
            let Some(id) = info.id.clone() else { continue };
            if !self.slaves.recovered.contains_key(&id) || self.slaves.reregistering.contains(&id) {
                continue;
            }
            if self.removal_limiter.is_some() {
                tracing::info!(agent = %id.value, hostname = %info.hostname,
                    "scheduling removal of agent; did not reregister within {} after master failover",
                    libprocess::duration::format(self.flags.agent_reregister_timeout));
            }
            let permit = self.removal_permit();
            ctx.defer(permit, move |this: &mut Master, ctx, _granted| {
                let why = format!(
                    "did not reregister within {} after master failover",
                    libprocess::duration::format(this.flags.agent_reregister_timeout)
                );
                this.mark_unreachable(ctx, id, true, why)
            });
        }
    }

    /// An observer's report (C++ `SlaveObserver` dispatching `Master::markUnreachable`).
    fn observer_event(&mut self, ctx: &mut Context<Self>, event: SlaveObserverEvent) {
        match event {
            SlaveObserverEvent::MarkUnreachable { slave_id, reason } => {
                self.metrics.increment("slave_unreachable_completed");
                self.mark_unreachable(ctx, slave_id, false, reason.to_string())
            }
            SlaveObserverEvent::UnreachableScheduled { slave_id } => {
                self.metrics.increment("slave_unreachable_scheduled");
                tracing::info!(agent = %slave_id.value, "scheduled transition to unreachable")
            }
            SlaveObserverEvent::UnreachableCanceled { slave_id } => {
                self.metrics.increment("slave_unreachable_canceled");
                tracing::info!(agent = %slave_id.value, "canceled transition to unreachable")
            }
        }
    }

    /// C++ `Master::markUnreachable`: a registered agent (or, `during_failover`, one known
    /// only from the recovered registry) moves to the registry's unreachable list, unless
    /// something else is already under way for it.
    fn mark_unreachable(&mut self, ctx: &mut Context<Self>, id: SlaveId, during_failover: bool, why: String) {
        let info = if during_failover {
            self.slaves.recovered.get(&id).cloned()
        } else {
            self.slaves.registered.get(&id).map(|slave| slave.info.clone())
        };
        let skip = if info.is_none() && during_failover {
            Some("it reregistered in the interim")
        } else if info.is_none() {
            Some("it has already been removed or marked unreachable")
        } else if self.slaves.reregistering.contains(&id) {
            Some("it is reregistering")
        } else if self.slaves.marking_unreachable.contains(&id) {
            Some("another unreachable transition is already in progress")
        } else if self.slaves.removing.contains(&id) {
            Some("it is being removed")
        } else if self.slaves.gone.contains_key(&id) {
            Some("it has been marked as gone")
        } else {
            None
        };
        let (Some(info), None) = (info, skip) else {
            tracing::info!(agent = %id.value, "skipping transition of agent to unreachable because {}", skip.unwrap_or(""));
            return;
        };
        tracing::info!(agent = %id.value, hostname = %info.hostname, "marking agent unreachable: {why}");
        self.slaves.marking_unreachable.insert(id.clone());
        let nanos = i64::try_from(ctx.now().since_epoch().as_nanos()).unwrap_or(i64::MAX);
        let time = TimeInfo { nanoseconds: nanos };
        let marked = self.registrar.apply(Operation::MarkSlaveUnreachable { info, unreachable_time: time });
        ctx.defer(marked, move |this: &mut Master, ctx, outcome| {
            this.mark_unreachable_after_registry(ctx, id, time, during_failover, why, outcome)
        });
    }

    /// C++ `Master::_markUnreachable`: a recovered agent's frameworks only hear it is lost
    /// (this master knows none of its tasks); a registered one goes as in `__removeSlave`.
    fn mark_unreachable_after_registry(
        &mut self,
        ctx: &mut Context<Self>,
        id: SlaveId,
        time: TimeInfo,
        during_failover: bool,
        why: String,
        outcome: Outcome<bool>,
    ) {
        self.slaves.marking_unreachable.remove(&id);
        match outcome {
            Err(failure) => {
                return self.abort(ctx, &format!("failed to mark agent {} unreachable: {failure}", id.value))
            }
            Ok(false) => {
                tracing::error!(agent = %id.value, "registry refused to mark the agent unreachable");
                return;
            }
            Ok(true) => {}
        }
        tracing::info!(agent = %id.value, "marked agent unreachable: {why}");
        self.metrics.increment("slave_removals");
        self.metrics.increment("slave_removals/reason_unhealthy");
        self.slaves.unreachable.insert(id.clone(), time);
        if during_failover {
            self.slaves.recovered.remove(&id);
            self.metrics.increment("recovery_slave_removals");
            self.send_slave_lost(ctx, &id);
            return;
        }
        self.rescind_agent_offers(ctx, &id);
        self.allocator.remove_slave(id.clone());
        self.transition_agent_tasks(ctx, &id, &why, Some(time));
        self.forget_slave(ctx, &id);
    }
}

/// What the `master/*` gauges read (C++ `Master::_slaves_connected` and friends).
impl Master {
    /// Seconds from the master's start to `now` (C++ `_uptime_secs`).
    pub(crate) fn uptime_secs(&self, now: f64) -> f64 {
        (now - self.start_time).max(0.0)
    }

    /// Whether the master acts as the leader. Standalone, it is elected at start and
    /// serves once the registry is recovered.
    pub(crate) fn is_recovered(&self) -> bool {
        self.recovered
    }

    /// Registered agents whose (connected, active) flags pass `keep`.
    pub(crate) fn count_agents(&self, keep: impl Fn(bool, bool) -> bool) -> f64 {
        self.slaves.registered.values().filter(|s| keep(s.connected, s.active)).count() as f64
    }

    pub(crate) fn count_unreachable(&self) -> f64 {
        self.slaves.unreachable.len() as f64
    }

    /// Subscribed frameworks whose (connected, active) flags pass `keep`.
    pub(crate) fn count_frameworks(&self, keep: impl Fn(bool, bool) -> bool) -> f64 {
        self.frameworks.values().filter(|f| keep(f.connected, f.active)).count() as f64
    }

    pub(crate) fn count_offers(&self) -> f64 {
        self.offers.len() as f64
    }

    /// Tasks the master tracks in `state`.
    pub(crate) fn count_tasks(&self, state: mesos::proto::TaskState) -> f64 {
        self.frameworks.values().flat_map(|f| f.tasks.values()).filter(|t| t.state() == state).count() as f64
    }

    pub(crate) fn count_unreachable_tasks(&self) -> f64 {
        self.frameworks.values().map(|f| f.unreachable_tasks.len()).sum::<usize>() as f64
    }

    /// The total and used quantity of scalar resource `name` over registered agents
    /// (revocable resources only, or non-revocable only).
    pub(crate) fn resource_gauge(&self, name: &str, revocable: bool) -> (f64, f64) {
        let pick = |resources: &Resources| {
            let kept = if revocable { resources.revocable() } else { resources.non_revocable() };
            kept.get_scalar(name).map_or(0.0, |s| s.value)
        };
        let mut total = 0.0;
        let mut used = 0.0;
        for slave in self.slaves.registered.values() {
            total += pick(&slave.total_resources());
            used += slave.used_resources.values().map(pick).sum::<f64>();
        }
        (total, used)
    }
}

/// The framework flows: subscription (and its legacy messages), scheduler calls, offers,
/// disconnection, failover and removal.
impl Master {
    /// `mesos.scheduler.Call` (C++ `Master::receive(const UPID&, scheduler::Call&&)`). Not
    /// handled yet, and dropped with a log line: ACCEPT/DECLINE_INVERSE_OFFERS and
    /// UPDATE_FRAMEWORK.
    fn receive_call(&mut self, ctx: &mut Context<Self>, from: &UPID, call: Call) {
        if !self.accepting("mesos.scheduler.Call", from) {
            return;
        }
        let kind = match framework::validate_call(&call) {
            Ok(kind) => kind,
            Err(error) => {
                tracing::warn!(%from, %error, "dropping invalid scheduler call");
                return;
            }
        };
        if kind == CallType::Subscribe {
            if let Some(subscribe) = call.subscribe {
                self.subscribe(ctx, from, subscribe);
            }
            return;
        }
        let framework_id = call.framework_id.clone().unwrap_or_default();
        let Some(framework) = self.frameworks.get(&framework_id) else {
            tracing::warn!(%from, framework = %framework_id.value, call = ?kind, "dropping call: Framework cannot be found");
            return;
        };
        if !framework.is_pid(from) {
            tracing::warn!(%from, framework = %framework_id.value, call = ?kind, "dropping call: Call is not from registered framework");
            return;
        }
        // A one-way partition: the master saw the link break but the driver did not. The
        // error makes the driver abort.
        if !framework.connected {
            tracing::info!(%from, framework = %framework_id.value, call = ?kind, "refusing call: Framework disconnected");
            ctx.send_protobuf(from, &FrameworkErrorMessage { message: "Framework disconnected".into() });
            return;
        }
        match kind {
            CallType::Teardown => self.teardown(ctx, &framework_id),
            CallType::UpdateFramework => {
                if let Some(update) = call.update_framework {
                    if let Err(message) = self.update_framework_call(ctx, &framework_id, update) {
                        ctx.send_protobuf(from, &FrameworkErrorMessage { message });
                    }
                }
            }
            CallType::Unknown => tracing::warn!(%from, "'UNKNOWN' call"),
            _ => {
                if !self.framework_call(ctx, &framework_id, kind, call) {
                    tracing::warn!(%from, framework = %framework_id.value, call = ?kind, "dropping call: not supported yet")
                }
            }
        }
    }

    /// The calls a subscribed framework makes the same way over either API (the cases of
    /// C++ `Master::receive` and `Master::Http::scheduler`): whether `kind` was one of them.
    pub(super) fn framework_call(
        &mut self,
        ctx: &mut Context<Self>,
        id: &FrameworkId,
        kind: CallType,
        call: Call,
    ) -> bool {
        match kind {
            CallType::Accept => self.accept(ctx, id, call.accept.unwrap_or_default()),
            CallType::Decline => self.decline(ctx, id, call.decline.unwrap_or_default()),
            CallType::Revive => self.revive(id, call.revive.unwrap_or_default()),
            CallType::Suppress => self.suppress(id, call.suppress.unwrap_or_default()),
            CallType::Reconcile => self.reconcile(ctx, id, call.reconcile.unwrap_or_default()),
            CallType::Request => self.request(id),
            CallType::Kill => {
                if let Some(kill) = call.kill {
                    self.kill(ctx, id, kill);
                }
            }
            CallType::Acknowledge => {
                if let Some(acknowledge) = call.acknowledge {
                    self.acknowledge(ctx, id, acknowledge);
                }
            }
            CallType::Message => {
                if let Some(message) = call.message {
                    self.message(ctx, id, message);
                }
            }
            CallType::Shutdown => {
                if let Some(shutdown) = call.shutdown {
                    self.shutdown_executor(ctx, id, shutdown);
                }
            }
            _ => return false,
        }
        true
    }

    /// `UPDATE_FRAMEWORK` (C++ `Master::updateFramework`): the framework's info and
    /// suppressed roles replaced, offers to roles it left rescinded, and the agents told of a
    /// changed info. A refusal's text (C++'s response body) goes back as
    /// `FrameworkErrorMessage`, as C++ does for a PID framework. Offer constraints are
    /// accepted and ignored: this allocator has no offer filtering by attributes yet.
    fn update_framework_call(
        &mut self,
        ctx: &mut Context<Self>,
        framework_id: &FrameworkId,
        update: mesos::proto::scheduler::call::UpdateFramework,
    ) -> Result<(), String> {
        tracing::info!(framework = %framework_id.value, "processing UPDATE_FRAMEWORK call");
        let info = update.framework_info;
        self.validate_framework(&info).map_err(|e| format!("Supplied FrameworkInfo is not valid: {e}"))?;
        let Some(framework) = self.frameworks.get(framework_id) else { return Ok(()) };
        framework::validate_update(&framework.info, &info)
            .map_err(|e| format!("FrameworkInfo update is not valid: {e}"))?;
        let suppressed_roles: BTreeSet<String> = update.suppressed_roles.into_iter().collect();
        framework::validate_suppressed_roles(&info, &suppressed_roles)
            .map_err(|e| format!("'UpdateFramework' call is not valid: {e}"))?;
        let changed = framework.info != info;
        tracing::info!(framework = %framework_id.value, suppressed = ?suppressed_roles, "updating framework");
        self.allocator.update_framework(framework_id.clone(), info.clone(), FrameworkOptions { suppressed_roles });
        let roles = framework::roles(&info);
        let gone: Vec<OfferId> = self
            .offers
            .values()
            .filter(|offer| &offer.framework_id == framework_id)
            .filter(|offer| {
                offer.allocation_info.as_ref().and_then(|a| a.role.as_ref()).is_some_and(|r| !roles.contains(r))
            })
            .map(|offer| offer.id.clone())
            .collect();
        for offer in gone {
            self.remove_offer(ctx, &offer, true, None);
        }
        if let Some(framework) = self.frameworks.get_mut(framework_id) {
            framework.info = info;
        }
        if changed {
            self.send_framework_updates(ctx, framework_id);
        }
        Ok(())
    }

    /// `RegisterFrameworkMessage` (C++ `Master::registerFramework`): SUBSCRIBE without an id.
    fn register_framework(&mut self, ctx: &mut Context<Self>, from: &UPID, message: RegisterFrameworkMessage) {
        if !self.accepting("mesos.internal.RegisterFrameworkMessage", from) {
            return;
        }
        let info = message.framework;
        if info.id.as_ref().is_some_and(|id| !id.value.is_empty()) {
            return self.refuse_subscription(ctx, from, &info, "Registering with 'id' already set");
        }
        let subscribe = Subscribe { framework_info: info, ..Default::default() };
        self.subscribe(ctx, from, subscribe);
    }

    /// `ReregisterFrameworkMessage` (C++ `Master::reregisterFramework`): SUBSCRIBE with an id
    /// and `force = failover`.
    fn reregister_framework(&mut self, ctx: &mut Context<Self>, from: &UPID, message: ReregisterFrameworkMessage) {
        if !self.accepting("mesos.internal.ReregisterFrameworkMessage", from) {
            return;
        }
        let info = message.framework;
        if info.id.as_ref().is_none_or(|id| id.value.is_empty()) {
            return self.refuse_subscription(ctx, from, &info, "Re-registering without an 'id'");
        }
        let subscribe = Subscribe { framework_info: info, force: Some(message.failover), ..Default::default() };
        self.subscribe(ctx, from, subscribe);
    }

    /// Whether a legacy framework message (`what`) about framework `id` may be acted on: the
    /// master has recovered, knows the framework, and `from` is its pid (each C++ legacy
    /// handler checks `framework->pid != from` and drops the message with a warning).
    pub(super) fn sent_by_framework(&self, what: &str, id: &FrameworkId, from: &UPID) -> bool {
        if !self.accepting(what, from) {
            return false;
        }
        match self.frameworks.get(id) {
            None => {
                tracing::warn!(framework = %id.value, %from, "ignoring {what}: framework cannot be found");
                false
            }
            Some(framework) if !framework.is_pid(from) => {
                tracing::warn!(framework = %id.value, %from, "ignoring {what}: not from the framework");
                false
            }
            Some(_) => true,
        }
    }

    /// `UnregisterFrameworkMessage` (C++ `Master::unregisterFramework`): TEARDOWN, from the
    /// framework's pid only.
    fn unregister_framework(&mut self, ctx: &mut Context<Self>, from: &UPID, message: UnregisterFrameworkMessage) {
        let id = message.framework_id;
        if !self.sent_by_framework("mesos.internal.UnregisterFrameworkMessage", &id, from) {
            return;
        }
        tracing::info!(framework = %id.value, %from, "asked to unregister framework");
        self.teardown(ctx, &id);
    }

    /// `DeactivateFrameworkMessage` (C++ `Master::deactivateFramework`): the driver aborted;
    /// the framework stays but gets no offers.
    fn deactivate_framework_message(
        &mut self,
        ctx: &mut Context<Self>,
        from: &UPID,
        message: DeactivateFrameworkMessage,
    ) {
        self.metrics.increment("messages_deactivate_framework");
        let id = message.framework_id;
        if !self.sent_by_framework("mesos.internal.DeactivateFrameworkMessage", &id, from) {
            return;
        }
        let Some(framework) = self.frameworks.get(&id) else { return };
        if !framework.connected {
            tracing::info!(framework = %id.value, "ignoring deactivate framework message: framework is disconnected");
            return;
        }
        if framework.active {
            self.deactivate_framework(ctx, &id, true);
        }
    }

    /// Sends `FrameworkErrorMessage` to a subscriber that was refused.
    fn refuse_subscription(&mut self, ctx: &mut Context<Self>, from: &UPID, info: &FrameworkInfo, error: &str) {
        tracing::info!(%from, name = %info.name, "refusing subscription of framework: {error}");
        ctx.send_protobuf(from, &FrameworkErrorMessage { message: error.to_string() });
    }

    /// C++ `Master::validateFramework`: the info itself, then the master's own rules.
    fn validate_framework(&self, info: &FrameworkInfo) -> Result<(), FrameworkError> {
        framework::validate(info)?;
        match self.flags.role_whitelist() {
            Ok(Some(whitelist)) => {
                let invalid: BTreeSet<String> = framework::roles(info).difference(&whitelist).cloned().collect();
                if !invalid.is_empty() {
                    return Err(FrameworkError::NotWhitelisted(invalid));
                }
            }
            Ok(None) => {}
            Err(error) => tracing::error!(%error, "bad --roles; not checking roles"),
        }
        if info.user == "root" && !self.flags.root_submissions {
            return Err(FrameworkError::RootSubmission);
        }
        if info.id.as_ref().is_some_and(|id| self.is_completed_framework(id)) {
            return Err(FrameworkError::Removed);
        }
        Ok(())
    }

    /// C++ `Master::subscribe` and `_subscribe` (no authentication or authorization yet).
    fn subscribe(&mut self, ctx: &mut Context<Self>, from: &UPID, subscribe: Subscribe) {
        let mut info = subscribe.framework_info;
        let resubscribing = info.id.as_ref().is_some_and(|id| !id.value.is_empty());
        self.metrics.increment(if resubscribing {
            "messages_reregister_framework"
        } else {
            "messages_register_framework"
        });
        if let Err(error) = self.validate_framework(&info) {
            return self.refuse_subscription(ctx, from, &info, &error.to_string());
        }
        let suppressed_roles: BTreeSet<String> = subscribe.suppressed_roles.into_iter().collect();
        if let Err(error) = framework::validate_suppressed_roles(&info, &suppressed_roles) {
            return self.refuse_subscription(ctx, from, &info, &error.to_string());
        }
        let options = FrameworkOptions { suppressed_roles };
        let force = subscribe.force.unwrap_or(false);
        tracing::info!(%from, name = %info.name, checkpoint = info.checkpoint(), "subscribing framework");

        let Some(id) = info.id.clone().filter(|id| !id.value.is_empty()) else {
            // First subscription; a retry from the same pid gets the same answer again.
            if let Some((id, _)) = self.frameworks.iter().find(|(_, f)| f.is_pid(from)) {
                tracing::info!(framework = %id.value, %from, "framework already subscribed, resending acknowledgement");
                let message = FrameworkRegisteredMessage { framework_id: id.clone(), master_info: self.info.clone() };
                ctx.send_protobuf(from, &message);
                return;
            }
            let id = self.new_framework_id();
            info.id = Some(id.clone());
            self.add_framework(ctx, info, Connection::Pid(from.clone()), options);
            let message = FrameworkRegisteredMessage { framework_id: id, master_info: self.info.clone() };
            ctx.send_protobuf(from, &message);
            return;
        };

        // No answer: it would reach the framework already connected at that pid.
        if let Some((other, _)) = self.frameworks.iter().find(|(other, f)| f.is_pid(from) && **other != id) {
            tracing::error!(framework = %other.value, %from, name = %info.name, "dropping SUBSCRIBE call: another framework is already connected at this pid");
            return;
        }
        let Some(framework) = self.frameworks.get_mut(&id) else {
            // Known to no one here (C++ `recoverFramework`, as after a master failover with no
            // agent reporting it): it is added under its id and, as C++ answers a recovered
            // framework, gets `FrameworkRegisteredMessage`.
            tracing::info!(framework = %id.value, %from, "subscribing framework unknown to this master");
            self.add_framework(ctx, info, Connection::Pid(from.clone()), options);
            let message = FrameworkRegisteredMessage { framework_id: id, master_info: self.info.clone() };
            ctx.send_protobuf(from, &message);
            return;
        };
        // C++ `preserveImmutableFields`, then `validateUpdate`: a new user or checkpoint
        // setting is ignored with a warning, a new principal refused.
        if info.user != framework.info.user {
            tracing::warn!(framework = %id.value, user = %info.user, "cannot update 'FrameworkInfo.user'; see MESOS-703");
            info.user = framework.info.user.clone();
        }
        if info.checkpoint() != framework.info.checkpoint() {
            tracing::warn!(framework = %id.value, "cannot update 'FrameworkInfo.checkpoint'; see MESOS-703");
            info.checkpoint = framework.info.checkpoint;
        }
        if let Err(error) = framework::validate_update(&framework.info, &info) {
            ctx.send_protobuf(from, &FrameworkErrorMessage { message: error.to_string() });
            return;
        }
        if !framework.recovered && !framework.is_pid(from) && !force {
            tracing::error!(framework = %id.value, %from, "disallowing subscription attempt: not expected from this pid");
            ctx.send_protobuf(from, &FrameworkErrorMessage { message: "Framework failed over".into() });
            return;
        }
        framework.info = info.clone();
        framework.generation += 1;
        let now = now_secs(ctx);
        framework.reregistered_time = now;
        self.allocator.update_framework(id.clone(), info, options);
        if framework.recovered {
            // C++ `connectAndActivateRecoveredFramework`: the first subscription since this
            // master learnt of it from an agent; a v0 driver hears "registered".
            tracing::info!(framework = %id.value, %from, "recovered framework subscribed");
            framework.recovered = false;
            framework.registered_time = now;
            framework.connection = Connection::Pid(from.clone());
            framework.connected = true;
            framework.active = true;
            ctx.link(from);
            self.allocator.activate_framework(id.clone());
            let message = FrameworkRegisteredMessage { framework_id: id.clone(), master_info: self.info.clone() };
            ctx.send_protobuf(from, &message);
        } else if force {
            tracing::info!(framework = %id.value, %from, "framework failed over");
            self.failover_framework(ctx, &id, from.clone());
        } else {
            tracing::info!(framework = %id.value, %from, "allowing framework to subscribe with an already used id");
            // The scheduler may have answered offers that its disconnected driver dropped.
            self.rescind_framework_offers(ctx, &id);
            ctx.link(from);
            self.connect_and_activate(&id);
            let message = FrameworkReregisteredMessage { framework_id: id.clone(), master_info: self.info.clone() };
            ctx.send_protobuf(from, &message);
        }
        self.send_framework_updates(ctx, &id);
    }

    /// C++ `Master::sendFrameworkUpdates`: every registered agent gets the framework's info
    /// and pid (the empty one for an HTTP framework), as an executor may be running there
    /// without tasks.
    fn send_framework_updates(&self, ctx: &mut Context<Self>, id: &FrameworkId) {
        self.publish_framework_updated(id);
        let Some(framework) = self.frameworks.get(id) else { return };
        let message = mesos::internal::UpdateFrameworkMessage {
            framework_id: id.clone(),
            pid: Some(framework.pid_or_empty().to_string()),
            framework_info: Some(framework.info.clone()),
        };
        for slave in self.slaves.registered.values() {
            ctx.send_protobuf(&slave.pid, &message);
        }
    }

    /// C++ `Master::newFrameworkId`: `<master id>-NNNN`, zero-padded to four digits.
    fn new_framework_id(&mut self) -> FrameworkId {
        let id = FrameworkId { value: format!("{}-{:04}", self.info.id, self.next_framework_id) };
        self.next_framework_id += 1;
        id
    }

    /// C++ `Master::newOfferId`: `<master id>-O<N>`.
    fn new_offer_id(&mut self) -> OfferId {
        let id = OfferId { value: format!("{}-O{}", self.info.id, self.next_offer_id) };
        self.next_offer_id += 1;
        id
    }

    /// C++ `Master::addFramework`: link to a v0 driver, remember, and hand it to the
    /// allocator (which runs an allocation). An HTTP scheduler's stream is watched by the
    /// caller.
    fn add_framework(
        &mut self,
        ctx: &mut Context<Self>,
        info: FrameworkInfo,
        connection: Connection,
        options: FrameworkOptions,
    ) {
        let id = info.id.clone().unwrap_or_default();
        if let Connection::Pid(pid) = &connection {
            ctx.link(pid);
        }
        self.allocator.add_framework(id.clone(), info.clone(), HashMap::new(), true, options);
        let framework = Framework::new(info, connection, false, now_secs(ctx));
        self.frameworks.insert(id.clone(), framework);
        self.publish_framework_added(&id);
    }

    /// Marks a framework connected and, if it was not, active again in the allocator.
    fn connect_and_activate(&mut self, id: &FrameworkId) {
        let Some(framework) = self.frameworks.get_mut(id) else { return };
        framework.connected = true;
        if !framework.active {
            framework.active = true;
            self.allocator.activate_framework(id.clone());
        }
    }

    /// C++ `Master::failoverFramework(Framework*, const UPID&)`: a new v0 driver takes
    /// over; its predecessor (a driver at another pid, or an HTTP scheduler) is told, then
    /// `_failoverFramework`.
    fn failover_framework(&mut self, ctx: &mut Context<Self>, id: &FrameworkId, pid: UPID) {
        let Some(framework) = self.frameworks.get(id) else { return };
        if !framework.is_pid(&pid) && framework.connected {
            framework.send(ctx, &FrameworkErrorMessage { message: "Framework failed over".into() });
        }
        self.replace_connection(ctx, id, Connection::Pid(pid.clone()));
        ctx.link(&pid);
        self.failover_framework_connected(ctx, id);
    }

    /// C++ `Framework::updateConnection`: the old connection's state goes (an HTTP
    /// scheduler's stream is closed, its heartbeats stop) and the framework is connected
    /// over `connection`.
    fn replace_connection(&mut self, ctx: &mut Context<Self>, id: &FrameworkId, connection: Connection) {
        let Some(framework) = self.frameworks.get_mut(id) else { return };
        if let Some(timer) = framework.disconnect() {
            ctx.cancel(timer);
        }
        framework.connection = connection;
        framework.connected = true;
    }

    /// C++ `Master::_failoverFramework`: the offers go back silently, the framework is
    /// active again, and the new scheduler hears that it is subscribed.
    fn failover_framework_connected(&mut self, ctx: &mut Context<Self>, id: &FrameworkId) {
        let offers: Vec<OfferId> =
            self.frameworks.get(id).map(|f| f.offers.iter().cloned().collect()).unwrap_or_default();
        for offer in offers {
            self.remove_offer(ctx, &offer, false, None);
        }
        self.connect_and_activate(id);
        let Some(framework) = self.frameworks.get(id) else { return };
        // The driver ignores duplicate registrations, so a same-pid retry is harmless.
        let message = FrameworkRegisteredMessage { framework_id: id.clone(), master_info: self.info.clone() };
        framework.send(ctx, &message);
    }

    /// C++ `Master::_exited` and `disconnect(Framework*)`: the scheduler's link broke; it
    /// has `failover_timeout` to come back.
    fn framework_exited(&mut self, ctx: &mut Context<Self>, id: FrameworkId) {
        let Some(framework) = self.frameworks.get(&id) else { return };
        tracing::info!(framework = %id.value, "framework disconnected");
        let timeout = framework::failover_timeout(&framework.info);
        let generation = framework.generation;
        if framework.connected {
            if framework.active {
                self.deactivate_framework(ctx, &id, true);
            }
            if let Some(timer) = self.frameworks.get_mut(&id).and_then(Framework::disconnect) {
                ctx.cancel(timer);
            }
        }
        tracing::info!(framework = %id.value, "giving framework {} to failover", libprocess::duration::format(timeout));
        ctx.delay(timeout, move |this: &mut Master, ctx| this.framework_failover_timeout(ctx, id, generation));
    }

    /// C++ `Master::frameworkFailoverTimeout`: removes the framework unless it resubscribed.
    fn framework_failover_timeout(&mut self, ctx: &mut Context<Self>, id: FrameworkId, generation: u64) {
        let Some(framework) = self.frameworks.get(&id) else { return };
        if framework.connected || framework.generation != generation {
            return;
        }
        tracing::info!(framework = %id.value, "framework failover timeout, removing framework");
        self.remove_framework(ctx, &id);
    }

    /// C++ `Master::deactivate(Framework*, bool rescind)`: no more offers; outstanding ones
    /// are rescinded (or, with `rescind` false, returned silently).
    fn deactivate_framework(&mut self, ctx: &mut Context<Self>, id: &FrameworkId, rescind: bool) {
        let Some(framework) = self.frameworks.get_mut(id) else { return };
        tracing::info!(framework = %id.value, "deactivating framework");
        framework.active = false;
        self.allocator.deactivate_framework(id.clone());
        let offers: Vec<OfferId> = framework.offers.iter().cloned().collect();
        for offer in offers {
            self.remove_offer(ctx, &offer, rescind, None);
        }
    }

    /// TEARDOWN (C++ `Master::teardown`).
    fn teardown(&mut self, ctx: &mut Context<Self>, id: &FrameworkId) {
        self.metrics.increment("messages_unregister_framework");
        tracing::info!(framework = %id.value, "processing TEARDOWN call");
        self.remove_framework(ctx, id);
    }

    /// C++ `Master::removeFramework(Framework*)`: offers returned silently, every agent told
    /// to shut the framework down, the allocator forgets it, its id is archived.
    fn remove_framework(&mut self, ctx: &mut Context<Self>, id: &FrameworkId) {
        let Some(framework) = self.frameworks.get(id) else { return };
        tracing::info!(framework = %id.value, "removing framework");
        if framework.active {
            self.deactivate_framework(ctx, id, false);
        }
        let message = ShutdownFrameworkMessage { framework_id: id.clone() };
        for slave in self.slaves.registered.values() {
            ctx.send_protobuf(&slave.pid, &message);
        }
        let Some(framework) = self.frameworks.get(id) else { return };
        let mut tasks: Vec<TaskId> = framework.tasks.keys().cloned().collect();
        tasks.sort_by(|a, b| a.value.cmp(&b.value));
        let executors: Vec<(SlaveId, ExecutorId)> =
            framework.executors.iter().flat_map(|(s, es)| es.keys().map(move |e| (s.clone(), e.clone()))).collect();
        let why = format!("Framework {} removed", id.value);
        for task_id in tasks {
            self.master_task_update(
                ctx,
                id,
                &task_id,
                mesos::proto::TaskState::TaskKilled,
                &why,
                mesos::proto::task_status::Reason::FrameworkRemoved,
                None,
                false,
            );
            self.remove_task(id, &task_id, false);
        }
        let now = now_secs(ctx);
        let limit = self.flags.max_completed_tasks_per_framework;
        if let Some(framework) = self.frameworks.get_mut(id) {
            for mut task in std::mem::take(&mut framework.unreachable_tasks) {
                tasks::record_master_status(&mut task, mesos::proto::TaskState::TaskKilled, &why, now);
                framework.add_completed_task(task, limit);
            }
        }
        for (slave_id, executor_id) in executors {
            self.remove_executor(&slave_id, id, &executor_id);
        }
        self.allocator.remove_framework(id.clone());
        let Some(mut framework) = self.frameworks.remove(id) else { return };
        if let Some(timer) = framework.disconnect() {
            ctx.cancel(timer);
        }
        framework.active = false;
        framework.unregistered_time = Some(now);
        self.operator.events.framework_removed(&framework.info);
        if self.flags.max_completed_frameworks > 0 {
            if self.completed_frameworks.len() >= self.flags.max_completed_frameworks {
                self.completed_frameworks.pop_front();
            }
            self.completed_frameworks.push_back(framework);
        }
    }

    /// Whether `id` names a removed framework this master still remembers (C++
    /// `isCompletedFramework`).
    fn is_completed_framework(&self, id: &FrameworkId) -> bool {
        self.completed_frameworks.iter().any(|f| f.info.id.as_ref() == Some(id))
    }

    /// DECLINE (C++ `Master::decline`): each known offer goes back with the call's filters
    /// (an absent `filters` is the default one: 5 s).
    fn decline(&mut self, ctx: &mut Context<Self>, id: &FrameworkId, decline: Decline) {
        self.metrics.increment("messages_decline_offers");
        let filters = decline.filters.unwrap_or_default();
        tracing::info!(framework = %id.value, refuse_seconds = filters.refuse_seconds(), offers = decline.offer_ids.len(), "processing DECLINE call");
        for offer in &decline.offer_ids {
            if self.offers.contains_key(offer) {
                self.remove_offer(ctx, offer, false, Some(filters));
            } else {
                tracing::warn!(framework = %id.value, offer = %offer.value, "ignoring decline of offer: no longer valid");
            }
        }
    }

    /// The roles of a REVIVE or SUPPRESS call, if each is valid and one of the framework's
    /// (C++ drops the whole call otherwise).
    fn call_roles(&self, id: &FrameworkId, roles: Vec<String>, call: &str) -> Option<BTreeSet<String>> {
        let subscribed = framework::roles(&self.frameworks.get(id)?.info);
        for role in &roles {
            if let Err(error) = mesos::resources::validate_role(role) {
                tracing::warn!(framework = %id.value, "dropping {call} call: role '{role}' is invalid: {error}");
                return None;
            }
            if !subscribed.contains(role) {
                tracing::warn!(framework = %id.value, "dropping {call} call: role '{role}' is not one of the framework's subscribed roles");
                return None;
            }
        }
        Some(roles.into_iter().collect())
    }

    /// REVIVE (C++ `Master::revive`).
    fn revive(&mut self, id: &FrameworkId, revive: Revive) {
        self.metrics.increment("messages_revive_offers");
        tracing::info!(framework = %id.value, "processing REVIVE call");
        if let Some(roles) = self.call_roles(id, revive.roles, "REVIVE") {
            self.allocator.revive_offers(id.clone(), roles);
        }
    }

    /// SUPPRESS (C++ `Master::suppress`).
    fn suppress(&mut self, id: &FrameworkId, suppress: Suppress) {
        self.metrics.increment("messages_suppress_offers");
        tracing::info!(framework = %id.value, "processing SUPPRESS call");
        if let Some(roles) = self.call_roles(id, suppress.roles, "SUPPRESS") {
            self.allocator.suppress_offers(id.clone(), roles);
        }
    }

    /// The allocator's offer callback (C++ `Master::offer`): one `ResourceOffersMessage` with
    /// an offer per (role, agent), or the resources straight back when the framework or the
    /// agent cannot take them.
    fn offer(&mut self, ctx: &mut Context<Self>, framework_id: FrameworkId, resources: OfferMap) {
        let usable = self.frameworks.get(&framework_id).is_some_and(|f| f.connected && f.active);
        if !usable {
            tracing::warn!(framework = %framework_id.value, "returning resources offered to a framework that is gone, disconnected or inactive");
            for agents in resources.into_values() {
                for (slave_id, offered) in agents {
                    self.allocator.recover_resources(framework_id.clone(), slave_id, offered, None, false);
                }
            }
            return;
        }
        let mut message = ResourceOffersMessage::default();
        for (role, agents) in resources {
            for (slave_id, offered) in agents {
                let Some(slave) = self.slaves.registered.get(&slave_id).filter(|s| s.active) else {
                    tracing::warn!(framework = %framework_id.value, agent = %slave_id.value, "returning resources offered on an agent that is gone or inactive");
                    self.allocator.recover_resources(framework_id.clone(), slave_id, offered, None, false);
                    continue;
                };
                let url = Url {
                    scheme: "http".into(),
                    address: Address {
                        hostname: Some(slave.info.hostname.clone()),
                        ip: Some(slave.pid.ip.to_string()),
                        port: i32::from(slave.pid.port),
                    },
                    path: Some(format!("/{}", slave.pid.id)),
                    ..Default::default()
                };
                let pid = slave.pid.to_string();
                let offer = Offer {
                    id: OfferId::default(),
                    framework_id: framework_id.clone(),
                    slave_id: slave_id.clone(),
                    hostname: slave.info.hostname.clone(),
                    url: Some(url),
                    domain: slave.info.domain.clone(),
                    resources: offered.to_vec(),
                    attributes: slave.info.attributes.clone(),
                    allocation_info: Some(AllocationInfo { role: Some(role.clone()) }),
                    ..Default::default()
                };
                let offer = Offer { id: self.new_offer_id(), ..offer };
                if let Some(timeout) = self.flags.offer_timeout {
                    // C++ keeps the timer to cancel it when the offer goes; here a timer
                    // that fires for a gone offer finds nothing (offer ids are not reused).
                    let id = offer.id.clone();
                    ctx.delay(timeout, move |this: &mut Self, ctx| this.offer_timeout(ctx, &id));
                }
                message.offers.push(self.as_sent(&framework_id, &offer));
                message.pids.push(pid);
                if let Some(framework) = self.frameworks.get_mut(&framework_id) {
                    framework.add_offer(&offer);
                }
                if let Some(slave) = self.slaves.registered.get_mut(&slave_id) {
                    slave.offered_resources += offer.resources.iter().cloned().collect::<Resources>();
                }
                self.offers.insert(offer.id.clone(), offer);
            }
        }
        if message.offers.is_empty() {
            return;
        }
        let Some(framework) = self.frameworks.get(&framework_id) else { return };
        tracing::info!(framework = %framework_id.value, offers = message.offers.len(), "sending offers");
        framework.send(ctx, &message);
    }

    /// An offer as the framework sees it: a framework without `MULTI_ROLE` gets no
    /// `allocation_info` (MESOS-8237), and nobody sees `ephemeral_ports`.
    fn as_sent(&self, framework_id: &FrameworkId, offer: &Offer) -> Offer {
        let mut sent = offer.clone();
        sent.resources.retain(|r| r.name != "ephemeral_ports");
        let multi_role = self.frameworks.get(framework_id).is_some_and(|f| framework::multi_role(&f.info));
        if !multi_role {
            sent.allocation_info = None;
            for resource in &mut sent.resources {
                resource.allocation_info = None;
            }
        }
        sent
    }

    /// `--offer_timeout` ran out for an offer (C++ `Master::offerTimeout`): it is rescinded
    /// if still outstanding.
    fn offer_timeout(&mut self, ctx: &mut Context<Self>, offer_id: &OfferId) {
        if self.offers.contains_key(offer_id) {
            tracing::info!(offer = %offer_id.value, "rescinding offer after --offer_timeout");
            self.remove_offer(ctx, offer_id, true, None);
        }
    }

    /// C++ `Master::rescindOffer` (`rescind`) or `discardOffer`: the resources go back to the
    /// allocator (filtered by `filters`) and the offer is forgotten; a rescind also tells the
    /// framework.
    fn remove_offer(&mut self, ctx: &mut Context<Self>, offer_id: &OfferId, rescind: bool, filters: Option<Filters>) {
        let Some(offer) = self.take_offer(offer_id) else { return };
        if let Some(framework) = self.frameworks.get(&offer.framework_id) {
            if rescind {
                framework.send(ctx, &RescindResourceOfferMessage { offer_id: offer_id.clone() });
            }
        }
        let resources: Resources = offer.resources.iter().cloned().collect();
        self.allocator.recover_resources(offer.framework_id, offer.slave_id, resources, filters, false);
    }

    /// Forgets an outstanding offer in the master's, the framework's and the agent's books
    /// (C++ `removeOffer` without the allocator).
    fn take_offer(&mut self, offer_id: &OfferId) -> Option<Offer> {
        let offer = self.offers.remove(offer_id)?;
        if let Some(framework) = self.frameworks.get_mut(&offer.framework_id) {
            framework.remove_offer(&offer);
        }
        if let Some(slave) = self.slaves.registered.get_mut(&offer.slave_id) {
            for resource in &offer.resources {
                slave.offered_resources -= resource;
            }
        }
        Some(offer)
    }

    /// Rescinds every outstanding offer of a framework.
    fn rescind_framework_offers(&mut self, ctx: &mut Context<Self>, id: &FrameworkId) {
        let offers: Vec<OfferId> =
            self.frameworks.get(id).map(|f| f.offers.iter().cloned().collect()).unwrap_or_default();
        for offer in offers {
            self.remove_offer(ctx, &offer, true, None);
        }
    }

    /// Rescinds every outstanding offer on an agent (C++ `removeSlave`, `deactivate(Slave*)`
    /// and `__removeSlave`).
    fn rescind_agent_offers(&mut self, ctx: &mut Context<Self>, slave_id: &SlaveId) {
        let mut offers: Vec<OfferId> =
            self.offers.values().filter(|o| o.slave_id == *slave_id).map(|o| o.id.clone()).collect();
        offers.sort_by(|a, b| a.value.cmp(&b.value));
        for offer in offers {
            self.remove_offer(ctx, &offer, true, None);
        }
    }
}
