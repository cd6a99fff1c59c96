//! The master actor, `master`: registry recovery, then agent registration, reregistration, health checking, disconnection, unreachability and removal; mirrors `src/master/master.cpp` / `master.hpp`.
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
//! Not yet done here (the agents' half of later flows): frameworks, tasks, offers and
//! reconciliation. A reregistering agent's tasks, executors and frameworks are kept as
//! reported, unreconciled; `SlaveReregisteredMessage` carries no reconciliations (the master
//! knows no tasks); no `UpdateFrameworkMessage`, `ShutdownFrameworkMessage` or
//! `CheckpointResourcesMessage` follow it. No authentication or authorization of agents, no
//! maintenance (`DOWN` machines), no `--agent_removal_rate_limit` for the reregister timeout,
//! no master `--domain`, no metrics, no timeout for agents recovered from the registry that
//! never reregister (`recoveredSlavesTimeout`).

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::net::SocketAddrV4;
use std::time::Duration;

use libprocess::{Context, Future, Libprocess, Outcome, Process, SpawnError, Timer, PID, UPID};
use mesos::internal::{
    MasterSlaveConnection, RegisterSlaveMessage, Registry, ReregisterSlaveMessage, ShutdownMessage,
    SlaveRegisteredMessage, SlaveReregisteredMessage, UnregisterSlaveMessage,
};
use mesos::proto::{Address, ExecutorInfo, FrameworkInfo, MasterInfo, Resource, SlaveId, SlaveInfo, Task, TimeInfo};
use mesos::resources::{Resources, ResourcesError};

use crate::allocator::Allocator;
use crate::constants::{master_capabilities, MINIMUM_AGENT_VERSION};
use crate::flags::MasterFlags;
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
    /// As reported in the last reregistration; not reconciled yet.
    tasks: Vec<Task>,
    executors: Vec<ExecutorInfo>,
    frameworks: Vec<FrameworkInfo>,
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
}

impl Slaves {
    fn by_pid(&self, pid: &UPID) -> Option<SlaveId> {
        self.registered.iter().find(|(_, slave)| slave.pid == *pid).map(|(id, _)| id.clone())
    }
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
                    tasks: slave.tasks.len(),
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
        ctx.install_protobuf(Master::register_slave);
        ctx.install_protobuf(Master::reregister_slave);
        ctx.install_protobuf(Master::unregister_slave);

        // The allocator's offers have nowhere to go until frameworks exist: none can be
        // added yet, so the callback can only ever see an empty set.
        match self.flags.allocator_options() {
            Ok(options) => self.allocator.initialize(
                options,
                Box::new(|framework_id, _offers| {
                    tracing::debug!(framework = %framework_id.value, "no framework to offer to");
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
        let Some(id) = self.slaves.by_pid(&pid) else { return };
        tracing::info!(agent = %id.value, %pid, "agent disconnected");
        let timeout = self.flags.agent_reregister_timeout;
        let Some(slave) = self.slaves.registered.get_mut(&id) else { return };
        if !slave.connected {
            return;
        }
        self.disconnect(&id);
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
        Master { flags, allocator, registrar, info, recovered: false, slaves: Slaves::default(), next_slave_id: 0 }
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
        self.recovered = true;
        tracing::info!(
            master = %self.info.id,
            agents = self.slaves.recovered.len(),
            unreachable = self.slaves.unreachable.len(),
            gone = self.slaves.gone.len(),
            "recovered"
        );
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
        }
        self.recovered
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
            limiter: None,
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
            tasks: Vec::new(),
            executors: Vec::new(),
            frameworks: Vec::new(),
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
        let total: Resources = slave.info.resources.iter().cloned().collect();
        self.allocator.add_slave(id.clone(), slave.info.clone(), capabilities, total, HashMap::new());
        self.slaves.registered.insert(id, slave);
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
        self.slaves.recovered.remove(&id);
        self.slaves.unreachable.remove(&id);
        let capabilities = message.agent_capabilities.iter().map(|c| c.r#type.unwrap_or_default()).collect();
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
        slave.tasks = message.tasks;
        slave.executors = message.executor_infos;
        slave.frameworks = message.frameworks;
        self.add_slave(ctx, slave);
        let reply = SlaveReregisteredMessage {
            slave_id: id.clone(),
            reconciliations: Vec::new(),
            connection: Some(self.connection()),
        };
        ctx.send_protobuf(&from, &reply);
        tracing::info!(agent = %id.value, %from, "reregistered agent");
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
        slave.tasks = message.tasks;
        slave.executors = message.executor_infos;
        slave.frameworks = message.frameworks;
        let reply = SlaveReregisteredMessage {
            slave_id: id.clone(),
            reconciliations: Vec::new(),
            connection: Some(connection),
        };
        ctx.send_protobuf(&from, &reply);
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
        self.remove_slave(ctx, &id, "the agent unregistered");
    }

    /// C++ `Master::removeSlave`: out of the allocator at once, then out of the registry.
    fn remove_slave(&mut self, ctx: &mut Context<Self>, id: &SlaveId, why: &'static str) {
        if self.slaves.removing.contains(id) {
            tracing::info!(agent = %id.value, "skipping removal: already being removed");
            return;
        }
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
        self.forget_slave(ctx, &id);
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
        }
    }

    /// C++ `Master::disconnect` and `deactivate`.
    fn disconnect(&mut self, id: &SlaveId) {
        let Some(slave) = self.slaves.registered.get_mut(id) else { return };
        tracing::info!(agent = %id.value, "disconnecting agent");
        slave.connected = false;
        slave.observer.disconnect();
        slave.active = false;
        self.allocator.deactivate_slave(id.clone());
    }

    /// C++ `Master::agentReregisterTimeout` (no rate limit yet).
    fn agent_reregister_timeout(&mut self, ctx: &mut Context<Self>, id: SlaveId) {
        let Some(slave) = self.slaves.registered.get_mut(&id) else { return };
        slave.reregistration_timer = None;
        if slave.connected {
            return;
        }
        let why = format!(
            "agent did not reregister within {} after disconnecting",
            libprocess::duration::format(self.flags.agent_reregister_timeout)
        );
        self.mark_unreachable(ctx, id, why);
    }

    /// An observer's report (C++ `SlaveObserver` dispatching `Master::markUnreachable`).
    fn observer_event(&mut self, ctx: &mut Context<Self>, event: SlaveObserverEvent) {
        match event {
            SlaveObserverEvent::MarkUnreachable { slave_id, reason } => {
                self.mark_unreachable(ctx, slave_id, reason.to_string())
            }
            SlaveObserverEvent::UnreachableScheduled { slave_id } => {
                tracing::info!(agent = %slave_id.value, "scheduled transition to unreachable")
            }
            SlaveObserverEvent::UnreachableCanceled { slave_id } => {
                tracing::info!(agent = %slave_id.value, "canceled transition to unreachable")
            }
        }
    }

    /// C++ `Master::markUnreachable` (not during failover).
    fn mark_unreachable(&mut self, ctx: &mut Context<Self>, id: SlaveId, why: String) {
        let Some(slave) = self.slaves.registered.get(&id) else {
            tracing::warn!(agent = %id.value, "skipping transition to unreachable: not registered");
            return;
        };
        if self.slaves.marking_unreachable.contains(&id) {
            tracing::info!(agent = %id.value, "skipping transition to unreachable: already in progress");
            return;
        }
        if self.slaves.removing.contains(&id) {
            tracing::info!(agent = %id.value, "skipping transition to unreachable: being removed");
            return;
        }
        tracing::info!(agent = %id.value, "marking agent unreachable: {why}");
        self.slaves.marking_unreachable.insert(id.clone());
        let nanos = i64::try_from(ctx.now().since_epoch().as_nanos()).unwrap_or(i64::MAX);
        let time = TimeInfo { nanoseconds: nanos };
        let operation = Operation::MarkSlaveUnreachable { info: slave.info.clone(), unreachable_time: time };
        let marked = self.registrar.apply(operation);
        ctx.defer(marked, move |this: &mut Master, ctx, outcome| {
            this.mark_unreachable_after_registry(ctx, id, time, why, outcome)
        });
    }

    /// C++ `Master::_markUnreachable`, then `__removeSlave`.
    fn mark_unreachable_after_registry(
        &mut self,
        ctx: &mut Context<Self>,
        id: SlaveId,
        time: TimeInfo,
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
        self.slaves.unreachable.insert(id.clone(), time);
        self.allocator.remove_slave(id.clone());
        self.forget_slave(ctx, &id);
    }
}
