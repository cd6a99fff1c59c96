//! `scheduler-<uuid>`, the process behind the v0 scheduler driver: master detection, subscription with its retry backoff, offers and the agent UPIDs they name, status updates and their acknowledgements, the framework's calls to the master; mirrors `SchedulerProcess` in `src/sched/sched.cpp`.
//!
//! Behaviour kept from C++:
//! - Every subscription is a `mesos.scheduler.Call` `SUBSCRIBE` with the `FrameworkInfo`, the
//!   suppressed roles and (empty) offer constraints; with a framework id, `Call.framework_id`
//!   is set and `force` is true until the first registration of a driver started with an id.
//! - The first `SUBSCRIBE` goes out as soon as a master is detected; each retry comes after
//!   `random * min(backoff, 1 min, failover_timeout / 10)`, the backoff starting at the
//!   `registration_backoff_factor` and doubling, until registered.
//! - A newly detected master (or none) calls `disconnected` if the driver was connected;
//!   the broken link to a master alone does nothing (C++ `SchedulerProcess` has no `exited`).
//! - Registered, reregistered, offers, rescinds, updates, lost agents and exited executors
//!   count only from the leading master and (except the first two) only while connected.
//!   `ExecutorToFrameworkMessage` (sent straight by agents) and `FrameworkErrorMessage` are
//!   taken from anyone, as in C++. Once stopped or aborted every event is ignored.
//! - An update is passed on without its uuid if it has none or came without the agent's
//!   UPID (master-generated); it is acknowledged implicitly after the callback if it has a
//!   uuid, or came from the master with an agent UPID.
//! - `ACCEPT` while disconnected sends nothing and reports every task to launch as
//!   `TASK_LOST` (`TASK_DROPPED` for partition-aware frameworks), `REASON_MASTER_DISCONNECTED`.
//! - Framework messages go straight to an agent whose UPID was learned from an offer used
//!   to launch a task there (`FrameworkToExecutorMessage`), else as a `MESSAGE` call.
//! - `REVIVE`/`SUPPRESS` while disconnected only change the suppressed roles, and an
//!   `UPDATE_FRAMEWORK` follows the next registration; so does an `update_framework`.
//! - `stop(false)` sends `TEARDOWN` if connected; `stop(true)` sends nothing; `abort` sends
//!   `DeactivateFrameworkMessage` if connected.
//!
//! Differences, where C++ would crash the OS process:
//! - An update for another framework, a reregistration under another id, offers and pids of
//!   different counts (C++ `CHECK`s) are logged and dropped.
//! - A message whose sender is the empty UPID is not taken for one the driver made itself.

use std::collections::{BTreeSet, HashMap};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use libprocess::{Context, Process, Timer, UPID};

use super::{Scheduler, Shared, REGISTRATION_RETRY_INTERVAL_MAX};
use crate::detector::MasterDetector;
use crate::internal::{
    DeactivateFrameworkMessage, ExecutorToFrameworkMessage, ExitedExecutorMessage, FrameworkErrorMessage,
    FrameworkRegisteredMessage, FrameworkReregisteredMessage, FrameworkToExecutorMessage, LostSlaveMessage,
    RescindResourceOfferMessage, ResourceOffersMessage, StatusUpdate, StatusUpdateMessage,
};
use crate::proto::scheduler::{call, Call, OfferConstraints};
use crate::proto::{
    framework_info, offer, task_status, ExecutorId, Filters, FrameworkId, FrameworkInfo, MasterInfo, OfferId, Request,
    SlaveId, TaskId, TaskInfo, TaskState, TaskStatus,
};
use crate::state::Uuid;

/// The random fraction in `[0, 1]` that scales a registration backoff.
pub type Random = Arc<dyn Fn() -> f64 + Send + Sync>;

/// A fraction in `[0, 1)` (C++ `os::random() / RAND_MAX`).
pub fn random_fraction() -> f64 {
    let bytes = Uuid::random().as_bytes().to_vec();
    let mut word = [0u8; 8];
    word.copy_from_slice(&bytes[..8]);
    (u64::from_le_bytes(word) >> 11) as f64 / (1u64 << 53) as f64
}

/// What the driver hands the process at `start`.
pub(crate) struct Options {
    pub(crate) driver: Arc<Shared>,
    pub(crate) scheduler: Box<dyn Scheduler>,
    pub(crate) framework: FrameworkInfo,
    pub(crate) suppressed_roles: BTreeSet<String>,
    pub(crate) implicit_acknowledgements: bool,
    pub(crate) detector: Arc<dyn MasterDetector>,
    pub(crate) registration_backoff_factor: Duration,
    pub(crate) random: Random,
}

/// The driver's actor (C++ `SchedulerProcess`).
pub struct SchedulerProcess {
    driver: Arc<Shared>,
    scheduler: Box<dyn Scheduler>,
    framework: FrameworkInfo,
    suppressed_roles: BTreeSet<String>,
    offer_constraints: OfferConstraints,
    /// Subscribe with `force`: started with an id and not registered since.
    failover: bool,
    master: Option<MasterInfo>,
    /// Registered with the current master.
    connected: bool,
    send_update_framework_on_connect: bool,
    detector: Arc<dyn MasterDetector>,
    registration_backoff_factor: Duration,
    random: Random,
    registration_timer: Option<Timer>,
    /// Offer id -> agent id -> the agent's UPID, from `ResourceOffersMessage.pids`.
    saved_offers: HashMap<String, HashMap<String, UPID>>,
    /// Agent id -> UPID, for agents this framework launched on through a saved offer.
    saved_slave_pids: HashMap<String, UPID>,
    implicit_acknowledgements: bool,
}

/// Who sent an update: the leading master, or the driver itself (C++ `from == UPID()`).
#[derive(Clone, Copy)]
enum Origin<'a> {
    Network(&'a UPID),
    Driver,
}

impl SchedulerProcess {
    pub(crate) fn new(options: Options) -> SchedulerProcess {
        tracing::info!("Version: {}", crate::version::MESOS_VERSION);
        let failover = options.framework.id.as_ref().is_some_and(|id| !id.value.is_empty());
        SchedulerProcess {
            driver: options.driver,
            scheduler: options.scheduler,
            framework: options.framework,
            suppressed_roles: options.suppressed_roles,
            offer_constraints: OfferConstraints::default(),
            failover,
            master: None,
            connected: false,
            send_update_framework_on_connect: false,
            detector: options.detector,
            registration_backoff_factor: options.registration_backoff_factor,
            random: options.random,
            registration_timer: None,
            saved_offers: HashMap::new(),
            saved_slave_pids: HashMap::new(),
            implicit_acknowledgements: options.implicit_acknowledgements,
        }
    }

    fn running(&self) -> bool {
        self.driver.running.load(Ordering::SeqCst)
    }

    /// The leading master's UPID (C++ `master->pid()`, the empty UPID when absent).
    fn master_pid(&self) -> Option<UPID> {
        self.master.as_ref().map(|master| UPID::parse_lenient(master.pid.as_deref().unwrap_or("")))
    }

    fn has_id(&self) -> bool {
        self.framework.id.as_ref().is_some_and(|id| !id.value.is_empty())
    }

    fn framework_id(&self) -> FrameworkId {
        self.framework.id.clone().unwrap_or_default()
    }

    /// Whether an event named `what` from `from` should be handled: the driver running and
    /// connected, and `from` the leading master.
    fn accept(&self, what: &str, from: &UPID) -> bool {
        if !self.running() {
            tracing::debug!("Ignoring {what} because the driver is not running!");
            return false;
        }
        if !self.connected {
            tracing::debug!("Ignoring {what} because the driver is disconnected!");
            return false;
        }
        self.sent_by_master(what, from)
    }

    fn sent_by_master(&self, what: &str, from: &UPID) -> bool {
        match self.master_pid() {
            Some(master) if master == *from => true,
            master => {
                tracing::warn!(
                    "Ignoring {what} because it was sent from '{from}' instead of the leading master '{}'",
                    master.unwrap_or_default()
                );
                false
            }
        }
    }

    fn start_detection(&mut self, ctx: &mut Context<Self>, previous: Option<MasterInfo>) {
        let detected = self.detector.detect(previous.as_ref());
        ctx.defer(detected, |this: &mut Self, ctx, outcome| {
            this.detected(ctx, outcome.map_err(|failure| failure.to_string()))
        });
    }

    /// C++ `SchedulerProcess::detected`.
    fn detected(&mut self, ctx: &mut Context<Self>, master: Result<Option<MasterInfo>, String>) {
        if !self.running() {
            tracing::debug!("Ignoring the master change because the driver is not running!");
            return;
        }
        let master = match master {
            Ok(master) => master,
            Err(failure) => {
                // C++ exits the OS process here.
                tracing::error!("Failed to detect a master: {failure}");
                let previous = self.master.clone();
                self.start_detection(ctx, previous);
                return;
            }
        };
        self.master = master;
        if self.connected {
            self.scheduler.disconnected(&*self.driver);
        }
        self.connected = false;
        if let Some(pid) = self.master_pid() {
            tracing::info!("New master detected at {pid}");
            ctx.link(&pid);
            if let Some(timer) = self.registration_timer.take() {
                ctx.cancel(timer);
            }
            tracing::info!("No credentials provided. Attempting to register without authentication");
            self.do_reliable_registration(ctx, self.registration_backoff_factor);
        } else {
            tracing::info!("No master detected");
        }
        let previous = self.master.clone();
        self.start_detection(ctx, previous);
    }

    /// C++ `SchedulerProcess::doReliableRegistration`.
    fn do_reliable_registration(&mut self, ctx: &mut Context<Self>, max_backoff: Duration) {
        if !self.running() || self.connected {
            return;
        }
        let Some(master) = self.master_pid() else { return };
        tracing::debug!("Sending SUBSCRIBE call to {master}");
        let mut subscribe = call::Subscribe {
            framework_info: self.framework.clone(),
            offer_constraints: Some(self.offer_constraints.clone()),
            suppressed_roles: self.suppressed_roles.iter().cloned().collect(),
            ..Default::default()
        };
        let mut call = Call { r#type: Some(call::Type::Subscribe as i32), ..Default::default() };
        if self.has_id() {
            subscribe.force = Some(self.failover);
            call.framework_id = self.framework.id.clone();
        }
        call.subscribe = Some(subscribe);
        ctx.send_protobuf(&master, &call);

        let mut max_backoff = max_backoff.min(REGISTRATION_RETRY_INTERVAL_MAX);
        let failover_timeout = self.framework.failover_timeout.unwrap_or(0.0);
        if failover_timeout.is_finite() && failover_timeout > 0.0 {
            if let Ok(timeout) = Duration::try_from_secs_f64(failover_timeout) {
                max_backoff = max_backoff.min(timeout / 10);
            }
        }
        let delay = max_backoff.mul_f64((self.random)().clamp(0.0, 1.0));
        tracing::debug!("Will retry registration in {} if necessary", libprocess::duration::format(delay));
        let next = max_backoff.saturating_mul(2);
        self.registration_timer =
            Some(ctx.delay(delay, move |this: &mut Self, ctx| this.do_reliable_registration(ctx, next)));
    }

    /// C++ `SchedulerProcess::registered`.
    fn registered(&mut self, ctx: &mut Context<Self>, from: &UPID, message: FrameworkRegisteredMessage) {
        if !self.running() {
            tracing::debug!("Ignoring framework registered message because the driver is not running!");
            return;
        }
        if self.connected {
            tracing::debug!("Ignoring framework registered message because the driver is already connected!");
            return;
        }
        if !self.sent_by_master("framework registered message", from) {
            return;
        }
        tracing::info!("Framework registered with {}", message.framework_id.value);
        self.framework.id = Some(message.framework_id.clone());
        self.connected = true;
        self.failover = false;
        if self.send_update_framework_on_connect {
            self.send_update_framework(ctx);
        }
        self.send_update_framework_on_connect = false;
        self.scheduler.registered(&*self.driver, &message.framework_id, &message.master_info);
    }

    /// C++ `SchedulerProcess::reregistered`.
    fn reregistered(&mut self, ctx: &mut Context<Self>, from: &UPID, message: FrameworkReregisteredMessage) {
        if !self.running() {
            tracing::debug!("Ignoring framework reregistered message because the driver is not running!");
            return;
        }
        if self.connected {
            tracing::debug!("Ignoring framework reregistered message because the driver is already connected!");
            return;
        }
        if !self.sent_by_master("framework reregistered message", from) {
            return;
        }
        if self.framework.id.as_ref() != Some(&message.framework_id) {
            tracing::error!(
                "Ignoring framework reregistered message for framework {} instead of {}",
                message.framework_id.value,
                self.framework_id().value
            );
            return;
        }
        tracing::info!("Framework reregistered with {}", message.framework_id.value);
        self.connected = true;
        self.failover = false;
        if self.send_update_framework_on_connect {
            self.send_update_framework(ctx);
        }
        self.send_update_framework_on_connect = false;
        self.scheduler.reregistered(&*self.driver, &message.master_info);
    }

    /// C++ `SchedulerProcess::resourceOffers`.
    fn resource_offers(&mut self, from: &UPID, message: ResourceOffersMessage) {
        if !self.accept("resource offers message", from) || message.offers.is_empty() {
            return;
        }
        if message.offers.len() != message.pids.len() {
            tracing::error!(
                "Ignoring resource offers message with {} offers and {} pids",
                message.offers.len(),
                message.pids.len()
            );
            return;
        }
        for (offer, pid) in message.offers.iter().zip(&message.pids) {
            let upid = UPID::parse_lenient(pid);
            if upid.is_null() {
                tracing::debug!("Failed to parse PID '{pid}'");
            } else {
                self.saved_offers.entry(offer.id.value.clone()).or_default().insert(offer.slave_id.value.clone(), upid);
            }
        }
        self.scheduler.resource_offers(&*self.driver, &message.offers);
    }

    /// C++ `SchedulerProcess::rescindOffer`.
    fn rescind_offer(&mut self, from: &UPID, message: RescindResourceOfferMessage) {
        if !self.accept("rescind offer message", from) {
            return;
        }
        tracing::debug!("Rescinded offer {}", message.offer_id.value);
        self.saved_offers.remove(&message.offer_id.value);
        self.scheduler.offer_rescinded(&*self.driver, &message.offer_id);
    }

    /// `StatusUpdateMessage` from the network.
    fn status_update_message(&mut self, ctx: &mut Context<Self>, from: &UPID, message: StatusUpdateMessage) {
        let pid = UPID::parse_lenient(message.pid.as_deref().unwrap_or(""));
        self.status_update(ctx, Origin::Network(from), message.update, pid);
    }

    /// C++ `SchedulerProcess::statusUpdate`; `pid` is the agent's UPID the master forwarded
    /// the update for (empty for master-generated updates).
    fn status_update(&mut self, ctx: &mut Context<Self>, origin: Origin<'_>, update: StatusUpdate, pid: UPID) {
        if !self.running() {
            tracing::debug!("Ignoring task status update message because the driver is not running!");
            return;
        }
        if let Origin::Network(from) = origin {
            if !self.accept("status update message", from) {
                return;
            }
        }
        if self.framework_id() != update.framework_id {
            tracing::error!(
                "Ignoring status update for framework {} instead of {}",
                update.framework_id.value,
                self.framework_id().value
            );
            return;
        }
        let has_uuid = update.uuid.as_ref().is_some_and(|uuid| !uuid.is_empty());
        let from_driver = matches!(origin, Origin::Driver);
        let mut status = update.status.clone();
        if !has_uuid || from_driver || pid.is_null() {
            status.uuid = None;
        } else {
            status.uuid = update.uuid.clone();
        }
        self.scheduler.status_update(&*self.driver, &status);

        if !self.implicit_acknowledgements {
            return;
        }
        // Checked again: the callback may have stopped or aborted the driver.
        if !self.running() {
            tracing::debug!("Not sending status update acknowledgment message because the driver is not running!");
            return;
        }
        if has_uuid || (!from_driver && !pid.is_null()) {
            let Some(master) = self.master_pid().filter(|_| self.connected) else { return };
            let acknowledge = call::Acknowledge {
                slave_id: update.slave_id.clone().unwrap_or_default(),
                task_id: update.status.task_id.clone(),
                uuid: update.uuid.clone().unwrap_or_default(),
            };
            let call = Call {
                framework_id: Some(self.framework_id()),
                r#type: Some(call::Type::Acknowledge as i32),
                acknowledge: Some(acknowledge),
                ..Default::default()
            };
            ctx.send_protobuf(&master, &call);
        }
    }

    /// C++ `SchedulerProcess::lostSlave`.
    fn lost_slave(&mut self, from: &UPID, message: LostSlaveMessage) {
        if !self.accept("lost agent message", from) {
            return;
        }
        tracing::debug!("Lost agent {}", message.slave_id.value);
        self.saved_slave_pids.remove(&message.slave_id.value);
        self.scheduler.slave_lost(&*self.driver, &message.slave_id);
    }

    /// C++ `SchedulerProcess::lostExecutor`.
    fn lost_executor(&mut self, from: &UPID, message: ExitedExecutorMessage) {
        if !self.accept("lost executor message", from) {
            return;
        }
        tracing::debug!(
            "Executor {} on agent {} exited with status {}",
            message.executor_id.value,
            message.slave_id.value,
            message.status
        );
        self.scheduler.executor_lost(&*self.driver, &message.executor_id, &message.slave_id, message.status);
    }

    /// C++ `SchedulerProcess::frameworkMessage`: sent by agents straight to the framework,
    /// so the sender is not checked.
    fn framework_message(&mut self, message: ExecutorToFrameworkMessage) {
        if !self.running() {
            tracing::debug!("Ignoring framework message because the driver is not running!");
            return;
        }
        self.scheduler.framework_message(&*self.driver, &message.executor_id, &message.slave_id, &message.data);
    }

    /// C++ `SchedulerProcess::error`: aborts the driver, then tells the scheduler.
    fn error(&mut self, message: &str) {
        if !self.running() {
            tracing::debug!("Ignoring error message because the driver is not running!");
            return;
        }
        tracing::info!("Got error '{message}'");
        super::SchedulerDriver::abort(&*self.driver);
        self.scheduler.error(&*self.driver, message);
    }

    /// What C++ `ABORT`s or `CHECK`s on: the driver is aborted with `message`.
    pub(crate) fn fatal(&mut self, message: &str) {
        tracing::error!("{message}");
        self.error(message);
    }

    /// The driver's `stop` (C++ `SchedulerProcess::stop`).
    pub(crate) fn stop(&mut self, ctx: &mut Context<Self>, failover: bool) {
        tracing::info!("Stopping framework {}", self.framework_id().value);
        ctx.terminate();
        if self.connected && !failover {
            if let Some(master) = self.master_pid() {
                let call = Call {
                    framework_id: Some(self.framework_id()),
                    r#type: Some(call::Type::Teardown as i32),
                    ..Default::default()
                };
                ctx.send_protobuf(&master, &call);
            }
        }
        self.driver.latch.trigger();
    }

    /// The driver's `abort` (C++ `SchedulerProcess::abort`); `running` is already cleared.
    pub(crate) fn abort(&mut self, ctx: &mut Context<Self>) {
        tracing::info!("Aborting framework {}", self.framework_id().value);
        match self.master_pid().filter(|_| self.connected) {
            Some(master) => {
                let message = DeactivateFrameworkMessage { framework_id: self.framework_id() };
                ctx.send_protobuf(&master, &message);
            }
            None => tracing::debug!("Not sending a deactivate message as master is disconnected"),
        }
        self.driver.latch.trigger();
    }

    /// The master to send a call to, if connected; `what` names the call for the log.
    fn connected_master(&self, what: &str) -> Option<UPID> {
        if !self.connected {
            tracing::debug!("Ignoring {what} as master is disconnected");
            return None;
        }
        self.master_pid()
    }

    fn call(&self, r#type: call::Type) -> Call {
        Call { framework_id: Some(self.framework_id()), r#type: Some(r#type as i32), ..Default::default() }
    }

    /// C++ `SchedulerProcess::killTask`.
    pub(crate) fn kill_task(&mut self, ctx: &mut Context<Self>, task_id: TaskId) {
        let Some(master) = self.connected_master("kill task message") else { return };
        let mut call = self.call(call::Type::Kill);
        call.kill = Some(call::Kill { task_id, ..Default::default() });
        ctx.send_protobuf(&master, &call);
    }

    /// C++ `SchedulerProcess::requestResources`.
    pub(crate) fn request_resources(&mut self, ctx: &mut Context<Self>, requests: Vec<Request>) {
        let Some(master) = self.connected_master("request resources message") else { return };
        let mut call = self.call(call::Type::Request);
        call.request = Some(call::Request { requests });
        ctx.send_protobuf(&master, &call);
    }

    /// C++ `SchedulerProcess::launchTasks`: one `LAUNCH` operation.
    pub(crate) fn launch_tasks(
        &mut self,
        ctx: &mut Context<Self>,
        offer_ids: Vec<OfferId>,
        tasks: Vec<TaskInfo>,
        filters: Filters,
    ) {
        let operation = offer::Operation {
            r#type: Some(offer::operation::Type::Launch as i32),
            launch: Some(offer::operation::Launch { task_infos: tasks }),
            ..Default::default()
        };
        self.accept_offers(ctx, offer_ids, vec![operation], filters);
    }

    /// C++ `SchedulerProcess::acceptOffers`.
    pub(crate) fn accept_offers(
        &mut self,
        ctx: &mut Context<Self>,
        offer_ids: Vec<OfferId>,
        operations: Vec<offer::Operation>,
        filters: Filters,
    ) {
        if !self.connected {
            tracing::debug!("Ignoring accept offers message as master is disconnected");
            self.report_launches_lost(ctx, &operations);
            return;
        }
        let Some(master) = self.master_pid() else { return };
        if operations.iter().any(|operation| operation.id.is_some()) {
            self.fatal(
                "An offer operation's 'id' field was set, which is disallowed because the SchedulerDriver \
                 cannot handle offer operation status updates",
            );
            return;
        }
        for offer_id in &offer_ids {
            match self.saved_offers.remove(&offer_id.value) {
                None => tracing::warn!("Attempting to accept an unknown offer {}", offer_id.value),
                Some(agents) => {
                    for task in launched_tasks(&operations) {
                        match agents.get(&task.slave_id.value) {
                            Some(pid) => {
                                self.saved_slave_pids.insert(task.slave_id.value.clone(), pid.clone());
                            }
                            None => tracing::warn!(
                                "Attempting to launch task {} with the wrong agent id {}",
                                task.task_id.value,
                                task.slave_id.value
                            ),
                        }
                    }
                }
            }
        }
        let mut call = self.call(call::Type::Accept);
        call.accept = Some(call::Accept { offer_ids, operations, filters: Some(filters) });
        ctx.send_protobuf(&master, &call);
    }

    /// Every task of a `LAUNCH` in `operations` as lost, the master being unreachable.
    fn report_launches_lost(&mut self, ctx: &mut Context<Self>, operations: &[offer::Operation]) {
        let partition_aware = self
            .framework
            .capabilities
            .iter()
            .any(|capability| capability.r#type() == framework_info::capability::Type::PartitionAware);
        let state = if partition_aware { TaskState::TaskDropped } else { TaskState::TaskLost };
        let now = ctx.now().secs();
        let tasks: Vec<TaskId> = launched_tasks(operations).map(|task| task.task_id.clone()).collect();
        for task_id in tasks {
            let mut status = TaskStatus {
                task_id,
                message: Some("Master disconnected".into()),
                timestamp: Some(now),
                ..Default::default()
            };
            status.set_state(state);
            status.set_source(task_status::Source::Master);
            status.set_reason(task_status::Reason::MasterDisconnected);
            let update =
                StatusUpdate { framework_id: self.framework_id(), status, timestamp: now, ..Default::default() };
            self.status_update(ctx, Origin::Driver, update, UPID::default());
        }
    }

    /// C++ `SchedulerProcess::declineOffer`.
    pub(crate) fn decline_offer(&mut self, ctx: &mut Context<Self>, offer_id: OfferId, filters: Filters) {
        let Some(master) = self.connected_master("decline offer message") else { return };
        if self.saved_offers.remove(&offer_id.value).is_none() {
            tracing::warn!("Attempting to decline an unknown offer {}", offer_id.value);
        }
        let mut call = self.call(call::Type::Decline);
        call.decline = Some(call::Decline { offer_ids: vec![offer_id], filters: Some(filters) });
        ctx.send_protobuf(&master, &call);
    }

    /// C++ `SchedulerProcess::reviveOffers`; no roles means all.
    pub(crate) fn revive_offers(&mut self, ctx: &mut Context<Self>, roles: Vec<String>) {
        if roles.is_empty() {
            self.suppressed_roles.clear();
        } else {
            for role in &roles {
                self.suppressed_roles.remove(role);
            }
        }
        if !self.connected {
            tracing::debug!(
                "Ignoring REVIVE as master is disconnected; the set of suppressed roles in the driver has been \
                 updated and will be sent to the master during re-registration"
            );
            self.send_update_framework_on_connect = true;
            return;
        }
        let Some(master) = self.master_pid() else { return };
        let mut call = self.call(call::Type::Revive);
        if !roles.is_empty() {
            call.revive = Some(call::Revive { roles });
        }
        ctx.send_protobuf(&master, &call);
    }

    /// C++ `SchedulerProcess::suppressOffers`; no roles means all of the framework's.
    pub(crate) fn suppress_offers(&mut self, ctx: &mut Context<Self>, roles: Vec<String>) {
        if roles.is_empty() {
            self.suppressed_roles = self.framework.roles.iter().cloned().collect();
        } else {
            self.suppressed_roles.extend(roles.iter().cloned());
        }
        if !self.connected {
            tracing::debug!(
                "Ignoring SUPPRESS as master is disconnected; the set of suppressed roles in the driver has been \
                 updated and will be sent to the master during re-registration"
            );
            self.send_update_framework_on_connect = true;
            return;
        }
        let Some(master) = self.master_pid() else { return };
        let mut call = self.call(call::Type::Suppress);
        if !roles.is_empty() {
            call.suppress = Some(call::Suppress { roles });
        }
        ctx.send_protobuf(&master, &call);
    }

    /// C++ `SchedulerProcess::acknowledgeStatusUpdate`: only updates with a uuid and an
    /// agent id need one.
    pub(crate) fn acknowledge_status_update(&mut self, ctx: &mut Context<Self>, status: TaskStatus) {
        if !self.connected {
            tracing::debug!("Ignoring explicit status update acknowledgement because the driver is disconnected");
            return;
        }
        let (Some(uuid), Some(slave_id)) = (status.uuid, status.slave_id) else {
            tracing::debug!("Received ACK for status update of task {}", status.task_id.value);
            return;
        };
        let Some(master) = self.master_pid() else { return };
        let mut call = self.call(call::Type::Acknowledge);
        call.acknowledge = Some(call::Acknowledge { slave_id, task_id: status.task_id, uuid });
        ctx.send_protobuf(&master, &call);
    }

    /// C++ `SchedulerProcess::sendFrameworkMessage`.
    pub(crate) fn send_framework_message(
        &mut self,
        ctx: &mut Context<Self>,
        executor_id: ExecutorId,
        slave_id: SlaveId,
        data: Vec<u8>,
    ) {
        let Some(master) = self.connected_master("send framework message") else { return };
        if let Some(agent) = self.saved_slave_pids.get(&slave_id.value).cloned() {
            let message = FrameworkToExecutorMessage { slave_id, framework_id: self.framework_id(), executor_id, data };
            ctx.send_protobuf(&agent, &message);
        } else {
            tracing::debug!("Cannot send directly to agent {}; sending through master", slave_id.value);
            let mut call = self.call(call::Type::Message);
            call.message = Some(call::Message { slave_id, executor_id, data });
            ctx.send_protobuf(&master, &call);
        }
    }

    /// C++ `SchedulerProcess::reconcileTasks`.
    pub(crate) fn reconcile_tasks(&mut self, ctx: &mut Context<Self>, statuses: Vec<TaskStatus>) {
        let Some(master) = self.connected_master("task reconciliation") else { return };
        let tasks = statuses
            .into_iter()
            .map(|status| call::reconcile::Task { task_id: status.task_id, slave_id: status.slave_id })
            .collect();
        let mut call = self.call(call::Type::Reconcile);
        call.reconcile = Some(call::Reconcile { tasks });
        ctx.send_protobuf(&master, &call);
    }

    /// C++ `SchedulerProcess::updateFramework`.
    pub(crate) fn update_framework(
        &mut self,
        ctx: &mut Context<Self>,
        framework: FrameworkInfo,
        suppressed_roles: BTreeSet<String>,
        offer_constraints: OfferConstraints,
    ) {
        if !self.has_id() {
            self.error(
                "MesosSchedulerDriver::updateFramework() must not be called prior to registration with the master",
            );
            return;
        }
        if framework.id != self.framework.id {
            let message = format!(
                "The 'FrameworkInfo.id' provided to MesosSchedulerDriver::updateFramework() ({}) must be equal to \
                 the value known to the MesosSchedulerDriver ({})",
                framework.id.as_ref().map(|id| id.value.as_str()).unwrap_or(""),
                self.framework_id().value
            );
            self.error(&message);
            return;
        }
        self.framework = framework;
        self.suppressed_roles = suppressed_roles;
        self.offer_constraints = offer_constraints;
        if self.connected {
            self.send_update_framework(ctx);
        } else {
            tracing::debug!("Postponing UPDATE_FRAMEWORK call: not registered with master");
            self.send_update_framework_on_connect = true;
        }
    }

    /// C++ `SchedulerProcess::sendUpdateFramework`.
    fn send_update_framework(&mut self, ctx: &mut Context<Self>) {
        let Some(master) = self.master_pid() else { return };
        let mut call = self.call(call::Type::UpdateFramework);
        call.update_framework = Some(call::UpdateFramework {
            framework_info: self.framework.clone(),
            suppressed_roles: self.suppressed_roles.iter().cloned().collect(),
            offer_constraints: Some(self.offer_constraints.clone()),
        });
        tracing::debug!("Sending UPDATE_FRAMEWORK message");
        ctx.send_protobuf(&master, &call);
    }
}

/// The tasks of every `LAUNCH` in `operations`.
fn launched_tasks(operations: &[offer::Operation]) -> impl Iterator<Item = &TaskInfo> {
    operations
        .iter()
        .filter(|operation| operation.r#type() == offer::operation::Type::Launch)
        .filter_map(|operation| operation.launch.as_ref())
        .flat_map(|launch| launch.task_infos.iter())
}

impl Process for SchedulerProcess {
    fn initialize(&mut self, ctx: &mut Context<Self>) {
        // In the order of C++ `SchedulerProcess::initialize` (without `Event`, which the
        // master never sends to a driver).
        ctx.install_protobuf(|this: &mut Self, ctx, from, m: FrameworkRegisteredMessage| this.registered(ctx, from, m));
        ctx.install_protobuf(|this: &mut Self, ctx, from, m: FrameworkReregisteredMessage| {
            this.reregistered(ctx, from, m)
        });
        ctx.install_protobuf(|this: &mut Self, _, from, m: ResourceOffersMessage| this.resource_offers(from, m));
        ctx.install_protobuf(|this: &mut Self, _, from, m: RescindResourceOfferMessage| this.rescind_offer(from, m));
        ctx.install_protobuf(|this: &mut Self, ctx, from, m: StatusUpdateMessage| {
            this.status_update_message(ctx, from, m)
        });
        ctx.install_protobuf(|this: &mut Self, _, from, m: LostSlaveMessage| this.lost_slave(from, m));
        ctx.install_protobuf(|this: &mut Self, _, from, m: ExitedExecutorMessage| this.lost_executor(from, m));
        ctx.install_protobuf(|this: &mut Self, _, _, m: ExecutorToFrameworkMessage| this.framework_message(m));
        ctx.install_protobuf(|this: &mut Self, _, _, m: FrameworkErrorMessage| this.error(&m.message));

        self.start_detection(ctx, None);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn random_fraction_is_a_fraction() {
        for _ in 0..100 {
            let r = random_fraction();
            assert!((0.0..1.0).contains(&r));
        }
    }

    #[test]
    fn launched_tasks_only_from_launches() {
        let task = TaskInfo { task_id: TaskId { value: "t".into() }, ..Default::default() };
        let launch = offer::Operation {
            r#type: Some(offer::operation::Type::Launch as i32),
            launch: Some(offer::operation::Launch { task_infos: vec![task] }),
            ..Default::default()
        };
        let reserve = offer::Operation { r#type: Some(offer::operation::Type::Reserve as i32), ..Default::default() };
        let ids: Vec<_> = launched_tasks(&[reserve, launch]).map(|t| t.task_id.value.clone()).collect();
        assert_eq!(ids, vec!["t".to_string()]);
    }
}
