//! The v0 scheduler driver: the [`Scheduler`] callbacks, the [`SchedulerDriver`] calls and [`MesosSchedulerDriver`], which runs a `scheduler-<uuid>` process talking to the leading master; mirrors `include/mesos/scheduler.hpp`, `MesosSchedulerDriver` in `src/sched/sched.cpp` and `src/sched/{constants,flags}.hpp`.
//!
//! The driver is a thin handle, shaped like the executor driver ([`crate::exec`]): every call
//! checks the driver's [`Status`] under a lock and dispatches into
//! [`process::SchedulerProcess`], which owns the [`Scheduler`] and invokes its callbacks one at
//! a time on the process's thread. Callbacks get the driver as `&dyn SchedulerDriver` and may
//! call it; calling [`SchedulerDriver::join`] from a callback blocks forever, as in C++.
//!
//! Statuses follow C++ exactly: `start` only from `DRIVER_NOT_STARTED`; `stop` from
//! `DRIVER_RUNNING` or `DRIVER_ABORTED` (returning `DRIVER_ABORTED` in the latter case, the
//! driver then being `DRIVER_STOPPED`); `abort` only from `DRIVER_RUNNING`; `join` returns at
//! once if no process was ever spawned, else waits for `stop` or `abort`; every other call
//! only while `DRIVER_RUNNING`. Any other call returns the current status and does nothing.
//! The role-taking `revive`/`suppress` calls with an empty list return the status and do
//! nothing, as the C++ overloads do.
//!
//! The master is found through a [`MasterDetector`]: [`MesosSchedulerDriver::new`] takes
//! C++'s `master` string (`host:port`, `master@host:port`, `file://path`), made into a
//! [`StandaloneMasterDetector`] at `start` (C++ `MasterDetector::create` through its
//! `DetectorPool`); [`MesosSchedulerDriver::with_detector`] takes any detector, which is also
//! how a local cluster (C++ `master == "local"`) will be plugged in.
//!
//! Differences from C++, each because C++ ends the whole OS process where a library should not:
//! - `acknowledge_status_update` with implicit acknowledgements, an offer operation with an
//!   `id`, and duplicate suppressed roles in `update_framework` are C++ `ABORT`/`CHECK`s.
//!   Here the driver is aborted and [`Scheduler::error`] is called with C++'s text.
//! - `local`, `localquiet` and `zk://` masters given as a string fail `start` (aborted driver,
//!   `error` callback) instead of launching an in-process cluster or a ZooKeeper detector.
//! - A failed detection exits the OS process in C++; here it is logged and detection goes on.
//! - No authentication yet: C++ authenticates first when given a `Credential`.
//! - The C++ constructor loads logging flags from the `MESOS_*` variables and may set up
//!   glog; this library leaves logging to the program (`tracing`).

pub mod process;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Weak};
use std::time::Duration;

use libprocess::{Libprocess, PID};
use parking_lot::Mutex;

use self::process::{Random, SchedulerProcess};
use crate::detector::{create_master_info, MasterDetector, StandaloneMasterDetector};
use crate::exec::Latch;
use crate::proto::scheduler::OfferConstraints;
pub use crate::proto::Status;
use crate::proto::{
    offer, ExecutorId, Filters, FrameworkId, FrameworkInfo, MasterInfo, Offer, OfferId, Request, SlaveId, TaskId,
    TaskInfo, TaskStatus,
};

/// C++ `scheduler::DEFAULT_REGISTRATION_BACKOFF_FACTOR` (`src/sched/constants.hpp`): the first
/// registration retry comes within this long.
pub const DEFAULT_REGISTRATION_BACKOFF_FACTOR: Duration = Duration::from_secs(2);

/// C++ `scheduler::REGISTRATION_RETRY_INTERVAL_MAX`: the bound of the retry backoff.
pub const REGISTRATION_RETRY_INTERVAL_MAX: Duration = Duration::from_secs(60);

/// The variable of C++'s `--registration_backoff_factor` scheduler flag.
pub const MESOS_REGISTRATION_BACKOFF_FACTOR: &str = "MESOS_REGISTRATION_BACKOFF_FACTOR";

/// The driver's settings (C++ `internal::scheduler::Flags`, loaded from `MESOS_*` at `start`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SchedulerFlags {
    pub registration_backoff_factor: Duration,
}

impl Default for SchedulerFlags {
    fn default() -> SchedulerFlags {
        SchedulerFlags { registration_backoff_factor: DEFAULT_REGISTRATION_BACKOFF_FACTOR }
    }
}

impl SchedulerFlags {
    /// Reads the flags this driver knows from `env` (pass `std::env::vars()` for the process
    /// environment); the error text is stout's.
    pub fn from_env(env: &BTreeMap<String, String>) -> Result<SchedulerFlags, String> {
        let mut flags = SchedulerFlags::default();
        if let Some(value) = env.get(MESOS_REGISTRATION_BACKOFF_FACTOR) {
            flags.registration_backoff_factor = libprocess::duration::parse(value).map_err(|reason| {
                format!("Failed to load flag 'registration_backoff_factor': Failed to load value '{value}': {reason}")
            })?;
        }
        Ok(flags)
    }
}

/// A scheduler's callbacks (C++ `mesos::Scheduler`). Only one runs at a time, on the driver's
/// process thread; a callback that blocks holds up every later message.
pub trait Scheduler: Send + 'static {
    /// The master accepted the first subscription (or a failover) and gave the framework id.
    fn registered(&mut self, driver: &dyn SchedulerDriver, framework_id: &FrameworkId, master_info: &MasterInfo);

    /// A (new) master accepted a resubscription.
    fn reregistered(&mut self, driver: &dyn SchedulerDriver, master_info: &MasterInfo);

    /// The leading master changed or is gone; the driver resubscribes by itself.
    fn disconnected(&mut self, driver: &dyn SchedulerDriver);

    /// New offers. An offer stays valid until used, declined or rescinded.
    fn resource_offers(&mut self, driver: &dyn SchedulerDriver, offers: &[Offer]);

    /// An offer is no longer valid.
    fn offer_rescinded(&mut self, driver: &dyn SchedulerDriver, offer_id: &OfferId);

    /// A task's status changed. With implicit acknowledgements the driver acknowledges it
    /// after this returns; otherwise call [`SchedulerDriver::acknowledge_status_update`].
    fn status_update(&mut self, driver: &dyn SchedulerDriver, status: &TaskStatus);

    /// A best-effort message from an executor.
    fn framework_message(
        &mut self,
        driver: &dyn SchedulerDriver,
        executor_id: &ExecutorId,
        slave_id: &SlaveId,
        data: &[u8],
    );

    /// An agent is gone; its tasks' updates follow.
    fn slave_lost(&mut self, driver: &dyn SchedulerDriver, slave_id: &SlaveId);

    /// A custom executor ended with `status` (a wait status).
    fn executor_lost(
        &mut self,
        driver: &dyn SchedulerDriver,
        executor_id: &ExecutorId,
        slave_id: &SlaveId,
        status: i32,
    );

    /// A fatal error; the driver is aborted before this is called.
    fn error(&mut self, driver: &dyn SchedulerDriver, message: &str);
}

/// The calls a scheduler makes (C++ `mesos::SchedulerDriver`). Each returns the driver's
/// status after the call.
pub trait SchedulerDriver: Send + Sync {
    /// Spawns the driver's process, which detects the master and subscribes.
    fn start(&self) -> Status;

    /// Ends the driver's process. Without `failover` the framework is torn down (a
    /// `TEARDOWN` call, if subscribed); with it the master keeps it for its failover timeout.
    fn stop(&self, failover: bool) -> Status;

    /// Stops handling events (calls made before still go out) and deactivates the
    /// framework at the master, without ending the process.
    fn abort(&self) -> Status;

    /// Blocks the calling thread until the driver is stopped or aborted.
    fn join(&self) -> Status;

    /// `start`, then `join`.
    fn run(&self) -> Status {
        let status = self.start();
        if status != Status::DriverRunning {
            return status;
        }
        self.join()
    }

    /// Asks the allocator for resources (a `REQUEST` call).
    fn request_resources(&self, requests: Vec<Request>) -> Status;

    /// Launches `tasks` on the offers (an `ACCEPT` call with one `LAUNCH`).
    fn launch_tasks(&self, offer_ids: Vec<OfferId>, tasks: Vec<TaskInfo>, filters: Filters) -> Status;

    /// Applies `operations` to the offers (an `ACCEPT` call).
    fn accept_offers(&self, offer_ids: Vec<OfferId>, operations: Vec<offer::Operation>, filters: Filters) -> Status;

    /// Declines an offer (a `DECLINE` call).
    fn decline_offer(&self, offer_id: OfferId, filters: Filters) -> Status;

    /// Removes every filter and unsuppresses every role (a `REVIVE` call).
    fn revive_offers(&self) -> Status;

    /// [`SchedulerDriver::revive_offers`] for some roles; an empty list does nothing.
    fn revive_offers_for_roles(&self, roles: Vec<String>) -> Status;

    /// Asks for no more offers for any role (a `SUPPRESS` call).
    fn suppress_offers(&self) -> Status;

    /// [`SchedulerDriver::suppress_offers`] for some roles; an empty list does nothing.
    fn suppress_offers_for_roles(&self, roles: Vec<String>) -> Status;

    /// Kills a task (a `KILL` call).
    fn kill_task(&self, task_id: TaskId) -> Status;

    /// Acknowledges an update (an `ACKNOWLEDGE` call if it has a uuid and an agent id). Only
    /// for drivers made with implicit acknowledgements off.
    fn acknowledge_status_update(&self, status: TaskStatus) -> Status;

    /// Sends a best-effort message to an executor: straight to its agent if an offer used to
    /// launch on that agent named the agent's UPID, else through the master.
    fn send_framework_message(&self, executor_id: ExecutorId, slave_id: SlaveId, data: Vec<u8>) -> Status;

    /// Asks for the latest state of tasks (a `RECONCILE` call); none means all.
    fn reconcile_tasks(&self, statuses: Vec<TaskStatus>) -> Status;

    /// Replaces the framework's info, suppressed roles and offer constraints (an
    /// `UPDATE_FRAMEWORK` call, sent once subscribed).
    fn update_framework(
        &self,
        framework_info: FrameworkInfo,
        suppressed_roles: Vec<String>,
        offer_constraints: OfferConstraints,
    ) -> Status;
}

/// The `master` that launches a cluster inside this process (see [`crate::local`]).
pub const LOCAL: &str = "local";

/// Where the driver learns of the master.
enum Master {
    /// C++'s `master` string, made into a detector at `start`.
    Url(String),
    Detector(Arc<dyn MasterDetector>),
}

/// The v0 scheduler driver (C++ `mesos::MesosSchedulerDriver`). Dropping it terminates its
/// process.
pub struct MesosSchedulerDriver {
    shared: Arc<Shared>,
}

impl MesosSchedulerDriver {
    /// A driver for `scheduler` in instance `lp` that finds the master from `master`
    /// (`host:port`, `master@host:port` or `file://path`), configured from `environment`
    /// (pass `std::env::vars()` for the process environment). Missing `user` and `hostname`
    /// are filled in as C++ does. Nothing is spawned until [`SchedulerDriver::start`].
    pub fn new(
        lp: &Libprocess,
        scheduler: impl Scheduler,
        framework: FrameworkInfo,
        master: &str,
        implicit_acknowledgements: bool,
        environment: impl IntoIterator<Item = (String, String)>,
    ) -> MesosSchedulerDriver {
        Self::create(lp, scheduler, framework, Master::Url(master.to_string()), implicit_acknowledgements, environment)
    }

    /// As [`MesosSchedulerDriver::new`], with the master found by `detector` (C++'s test
    /// constructor; also the way to a local cluster).
    pub fn with_detector(
        lp: &Libprocess,
        scheduler: impl Scheduler,
        framework: FrameworkInfo,
        detector: Arc<dyn MasterDetector>,
        implicit_acknowledgements: bool,
        environment: impl IntoIterator<Item = (String, String)>,
    ) -> MesosSchedulerDriver {
        Self::create(lp, scheduler, framework, Master::Detector(detector), implicit_acknowledgements, environment)
    }

    fn create(
        lp: &Libprocess,
        scheduler: impl Scheduler,
        mut framework: FrameworkInfo,
        master: Master,
        implicit_acknowledgements: bool,
        environment: impl IntoIterator<Item = (String, String)>,
    ) -> MesosSchedulerDriver {
        if !lp.is_running(crate::version::VERSION_PROCESS_ID) {
            let _ = crate::version::VersionProcess::spawn(lp);
        }
        fill_missing_framework_info_fields(&mut framework);
        let shared = Arc::new_cyclic(|this| Shared {
            this: this.clone(),
            lp: lp.clone(),
            environment: environment.into_iter().collect(),
            implicit_acknowledgements,
            id: format!("scheduler-{}", crate::state::Uuid::random()),
            state: Mutex::new(DriverState {
                status: Status::DriverNotStarted,
                process: None,
                scheduler: Some(Box::new(scheduler)),
                framework,
                suppressed_roles: Vec::new(),
                master,
                random: None,
            }),
            running: AtomicBool::new(true),
            latch: Latch::default(),
        });
        MesosSchedulerDriver { shared }
    }

    /// The roles to subscribe suppressed (C++'s constructors taking `suppressedRoles`).
    pub fn with_suppressed_roles(self, roles: Vec<String>) -> MesosSchedulerDriver {
        self.shared.state.lock().suppressed_roles = roles;
        self
    }

    /// Replaces the random fraction in `[0, 1]` that scales each registration backoff (C++
    /// `os::random() / RAND_MAX`), so tests can pin the retry times. Takes effect at `start`.
    pub fn with_backoff_random(self, random: impl Fn() -> f64 + Send + Sync + 'static) -> MesosSchedulerDriver {
        self.shared.state.lock().random = Some(Arc::new(random));
        self
    }

    /// The driver's current status.
    pub fn status(&self) -> Status {
        self.shared.state.lock().status
    }

    /// The id the driver's process has (or will have): `scheduler-<uuid>`.
    pub fn process_id(&self) -> &str {
        &self.shared.id
    }

    /// [`SchedulerDriver::join`] for async callers: waits without blocking a thread.
    pub async fn join_async(&self) -> Status {
        if self.shared.state.lock().process.is_none() {
            return self.status();
        }
        self.shared.latch.wait_async().await;
        self.status()
    }
}

impl Drop for MesosSchedulerDriver {
    /// C++ `~MesosSchedulerDriver` terminates the process and waits for it; here the
    /// terminate is asked for and the process ends on its own thread.
    fn drop(&mut self) {
        let mut state = self.shared.state.lock();
        if let Some(pid) = state.process.take() {
            self.shared.lp.terminate(pid.upid(), true);
            // C++ also stops the local cluster it launched.
            if matches!(&state.master, Master::Url(url) if url == LOCAL) {
                drop(state);
                crate::local::shutdown(&self.shared.lp);
            }
        }
    }
}

macro_rules! forward_driver_calls {
    ($ty:ty) => {
        impl SchedulerDriver for $ty {
            fn start(&self) -> Status {
                self.as_shared().start()
            }
            fn stop(&self, failover: bool) -> Status {
                self.as_shared().stop(failover)
            }
            fn abort(&self) -> Status {
                self.as_shared().abort()
            }
            fn join(&self) -> Status {
                self.as_shared().join()
            }
            fn request_resources(&self, requests: Vec<Request>) -> Status {
                self.as_shared().request_resources(requests)
            }
            fn launch_tasks(&self, offer_ids: Vec<OfferId>, tasks: Vec<TaskInfo>, filters: Filters) -> Status {
                self.as_shared().launch_tasks(offer_ids, tasks, filters)
            }
            fn accept_offers(
                &self,
                offer_ids: Vec<OfferId>,
                operations: Vec<offer::Operation>,
                filters: Filters,
            ) -> Status {
                self.as_shared().accept_offers(offer_ids, operations, filters)
            }
            fn decline_offer(&self, offer_id: OfferId, filters: Filters) -> Status {
                self.as_shared().decline_offer(offer_id, filters)
            }
            fn revive_offers(&self) -> Status {
                self.as_shared().revive_offers(Vec::new())
            }
            fn revive_offers_for_roles(&self, roles: Vec<String>) -> Status {
                if roles.is_empty() {
                    return self.as_shared().status();
                }
                self.as_shared().revive_offers(roles)
            }
            fn suppress_offers(&self) -> Status {
                self.as_shared().suppress_offers(Vec::new())
            }
            fn suppress_offers_for_roles(&self, roles: Vec<String>) -> Status {
                if roles.is_empty() {
                    return self.as_shared().status();
                }
                self.as_shared().suppress_offers(roles)
            }
            fn kill_task(&self, task_id: TaskId) -> Status {
                self.as_shared().kill_task(task_id)
            }
            fn acknowledge_status_update(&self, status: TaskStatus) -> Status {
                self.as_shared().acknowledge_status_update(status)
            }
            fn send_framework_message(&self, executor_id: ExecutorId, slave_id: SlaveId, data: Vec<u8>) -> Status {
                self.as_shared().send_framework_message(executor_id, slave_id, data)
            }
            fn reconcile_tasks(&self, statuses: Vec<TaskStatus>) -> Status {
                self.as_shared().reconcile_tasks(statuses)
            }
            fn update_framework(
                &self,
                framework_info: FrameworkInfo,
                suppressed_roles: Vec<String>,
                offer_constraints: OfferConstraints,
            ) -> Status {
                self.as_shared().update_framework(framework_info, suppressed_roles, offer_constraints)
            }
        }
    };
}

/// The half of the driver that does the work.
trait AsShared {
    fn as_shared(&self) -> &Shared;
}

impl AsShared for MesosSchedulerDriver {
    fn as_shared(&self) -> &Shared {
        &self.shared
    }
}

impl AsShared for Shared {
    fn as_shared(&self) -> &Shared {
        self
    }
}

forward_driver_calls!(MesosSchedulerDriver);
// The callbacks get the shared half: the process holds it, not the user's handle, so that
// dropping the handle still ends the process.
forward_driver_calls!(Shared);

/// What the user's handle and the process share: the status, the `running` flag and the
/// latch `join` waits on.
pub(crate) struct Shared {
    this: Weak<Shared>,
    lp: Libprocess,
    environment: BTreeMap<String, String>,
    implicit_acknowledgements: bool,
    id: String,
    state: Mutex<DriverState>,
    /// Cleared by `stop` and `abort`, read by every event handler (C++
    /// `SchedulerProcess::running`, an atomic so that it takes effect before the dispatch is
    /// handled).
    pub(crate) running: AtomicBool,
    pub(crate) latch: Latch,
}

struct DriverState {
    status: Status,
    process: Option<PID<SchedulerProcess>>,
    /// Moved into the process at `start`.
    scheduler: Option<Box<dyn Scheduler>>,
    framework: FrameworkInfo,
    suppressed_roles: Vec<String>,
    master: Master,
    random: Option<Random>,
}

type Dispatch = Box<dyn FnOnce(&mut SchedulerProcess, &mut libprocess::Context<SchedulerProcess>) + Send>;

impl Shared {
    fn status(&self) -> Status {
        self.state.lock().status
    }

    fn start(&self) -> Status {
        let mut state = self.state.lock();
        if state.status != Status::DriverNotStarted {
            return state.status;
        }
        let detector = match &state.master {
            Master::Detector(detector) => Ok(detector.clone()),
            // C++ `MesosSchedulerDriver::initialize`: "local" launches a cluster in this
            // process and the driver talks to its master.
            Master::Url(url) if url == LOCAL => crate::local::launch(&self.lp, &self.environment)
                .map(|pid| {
                    Arc::new(StandaloneMasterDetector::new(Some(create_master_info(&pid)))) as Arc<dyn MasterDetector>
                })
                .map_err(|error| format!("Failed to launch a local cluster: {error}")),
            Master::Url(url) => {
                create_detector(url).map_err(|error| format!("Failed to create a master detector for '{url}': {error}"))
            }
        };
        let setup = detector.and_then(|detector| Ok((detector, SchedulerFlags::from_env(&self.environment)?)));
        let (detector, flags) = match setup {
            Ok(setup) => setup,
            Err(message) => {
                state.status = Status::DriverAborted;
                let scheduler = state.scheduler.take();
                drop(state);
                tracing::error!("{message}");
                if let Some(mut scheduler) = scheduler {
                    scheduler.error(self, &message);
                    self.state.lock().scheduler = Some(scheduler);
                }
                return Status::DriverAborted;
            }
        };
        let Some(scheduler) = state.scheduler.take() else { return state.status };
        let Some(this) = self.this.upgrade() else { return state.status };
        let random = state.random.clone().unwrap_or_else(|| Arc::new(process::random_fraction));
        let process = SchedulerProcess::new(process::Options {
            driver: this,
            scheduler,
            framework: state.framework.clone(),
            suppressed_roles: state.suppressed_roles.iter().cloned().collect(),
            implicit_acknowledgements: self.implicit_acknowledgements,
            detector,
            registration_backoff_factor: flags.registration_backoff_factor,
            random,
        });
        match self.lp.spawn(self.id.clone(), process) {
            Ok(pid) => {
                state.process = Some(pid);
                state.status = Status::DriverRunning;
                state.status
            }
            Err(error) => {
                state.status = Status::DriverAborted;
                drop(state);
                tracing::error!("Failed to spawn the scheduler process: {error}");
                Status::DriverAborted
            }
        }
    }

    fn stop(&self, failover: bool) -> Status {
        let mut state = self.state.lock();
        tracing::info!("Asked to stop the driver");
        if state.status != Status::DriverRunning && state.status != Status::DriverAborted {
            tracing::debug!("Ignoring stop because the status of the driver is {:?}", state.status);
            return state.status;
        }
        if let Some(pid) = &state.process {
            self.running.store(false, Ordering::SeqCst);
            self.dispatch_then_wake(pid, move |p, ctx| p.stop(ctx, failover));
        }
        let aborted = state.status == Status::DriverAborted;
        state.status = Status::DriverStopped;
        if aborted {
            Status::DriverAborted
        } else {
            state.status
        }
    }

    fn abort(&self) -> Status {
        let mut state = self.state.lock();
        tracing::info!("Asked to abort the driver");
        if state.status != Status::DriverRunning {
            tracing::debug!("Ignoring abort because the status of the driver is {:?}", state.status);
            return state.status;
        }
        self.running.store(false, Ordering::SeqCst);
        if let Some(pid) = &state.process {
            self.dispatch_then_wake(pid, |p, ctx| p.abort(ctx));
        }
        state.status = Status::DriverAborted;
        state.status
    }

    /// Dispatches `f`, which wakes `join` itself; if the process is already gone `join` is
    /// woken from here instead.
    fn dispatch_then_wake(
        &self,
        pid: &PID<SchedulerProcess>,
        f: impl FnOnce(&mut SchedulerProcess, &mut libprocess::Context<SchedulerProcess>) + Send + 'static,
    ) {
        let this = self.this.clone();
        crate::exec::dispatch_then_wake(pid, f, move || {
            if let Some(shared) = this.upgrade() {
                shared.latch.trigger();
            }
        });
    }

    fn join(&self) -> Status {
        if self.state.lock().process.is_none() {
            return self.status();
        }
        self.latch.wait();
        self.status()
    }

    /// Dispatches `f` while the driver runs; returns the status either way.
    fn when_running(&self, f: Dispatch) -> Status {
        let state = self.state.lock();
        match (&state.process, state.status) {
            (Some(pid), Status::DriverRunning) => {
                pid.dispatch_void(f);
                Status::DriverRunning
            }
            (_, status) => status,
        }
    }

    fn request_resources(&self, requests: Vec<Request>) -> Status {
        self.when_running(Box::new(move |p, ctx| p.request_resources(ctx, requests)))
    }

    fn launch_tasks(&self, offer_ids: Vec<OfferId>, tasks: Vec<TaskInfo>, filters: Filters) -> Status {
        self.when_running(Box::new(move |p, ctx| p.launch_tasks(ctx, offer_ids, tasks, filters)))
    }

    fn accept_offers(&self, offer_ids: Vec<OfferId>, operations: Vec<offer::Operation>, filters: Filters) -> Status {
        self.when_running(Box::new(move |p, ctx| p.accept_offers(ctx, offer_ids, operations, filters)))
    }

    fn decline_offer(&self, offer_id: OfferId, filters: Filters) -> Status {
        self.when_running(Box::new(move |p, ctx| p.decline_offer(ctx, offer_id, filters)))
    }

    fn revive_offers(&self, roles: Vec<String>) -> Status {
        self.when_running(Box::new(move |p, ctx| p.revive_offers(ctx, roles)))
    }

    fn suppress_offers(&self, roles: Vec<String>) -> Status {
        self.when_running(Box::new(move |p, ctx| p.suppress_offers(ctx, roles)))
    }

    fn kill_task(&self, task_id: TaskId) -> Status {
        self.when_running(Box::new(move |p, ctx| p.kill_task(ctx, task_id)))
    }

    fn acknowledge_status_update(&self, status: TaskStatus) -> Status {
        if self.implicit_acknowledgements {
            return self.when_running(Box::new(|p, _| {
                p.fatal("Cannot call acknowledgeStatusUpdate: Implicit acknowledgements are enabled")
            }));
        }
        self.when_running(Box::new(move |p, ctx| p.acknowledge_status_update(ctx, status)))
    }

    fn send_framework_message(&self, executor_id: ExecutorId, slave_id: SlaveId, data: Vec<u8>) -> Status {
        self.when_running(Box::new(move |p, ctx| p.send_framework_message(ctx, executor_id, slave_id, data)))
    }

    fn reconcile_tasks(&self, statuses: Vec<TaskStatus>) -> Status {
        self.when_running(Box::new(move |p, ctx| p.reconcile_tasks(ctx, statuses)))
    }

    fn update_framework(
        &self,
        framework_info: FrameworkInfo,
        suppressed_roles: Vec<String>,
        offer_constraints: OfferConstraints,
    ) -> Status {
        let mut state = self.state.lock();
        if state.status != Status::DriverRunning {
            return state.status;
        }
        let mut framework = framework_info;
        fill_missing_framework_info_fields(&mut framework);
        state.framework = framework.clone();
        let Some(pid) = state.process.clone() else { return state.status };
        let roles: BTreeSet<String> = suppressed_roles.iter().cloned().collect();
        if roles.len() != suppressed_roles.len() {
            let message = format!(
                "Invalid suppressed role list: contains {} duplicates {:?}",
                suppressed_roles.len() - roles.len(),
                suppressed_roles
            );
            pid.dispatch_void(move |p, _| p.fatal(&message));
            return state.status;
        }
        pid.dispatch_void(move |p, ctx| p.update_framework(ctx, framework, roles, offer_constraints));
        state.status
    }
}

/// C++ `MasterDetector::create` for the forms a scheduler driver accepts without ZooKeeper.
pub(crate) fn create_detector(master: &str) -> Result<Arc<dyn MasterDetector>, String> {
    if master.starts_with("zk://") {
        return Err("ZooKeeper master detection is not supported".into());
    }
    if let Some(path) = master.strip_prefix("file://") {
        let read = std::fs::read_to_string(path).map_err(|_| format!("Failed to read from file at '{path}'"))?;
        return create_detector(read.trim());
    }
    let text = if master.starts_with("master@") { master.to_string() } else { format!("master@{master}") };
    match text.parse::<libprocess::UPID>() {
        Ok(pid) if !pid.is_null() => Ok(Arc::new(StandaloneMasterDetector::new(Some(create_master_info(&pid))))),
        _ => Err(format!("Failed to parse '{master}'")),
    }
}

/// C++ `fillMissingFrameworkInfoFields`: the effective user's name and this host's name when
/// the framework left them empty.
pub fn fill_missing_framework_info_fields(framework: &mut FrameworkInfo) {
    if framework.user.is_empty() {
        if let Some(user) = effective_user() {
            framework.user = user;
        }
    }
    if framework.hostname.as_deref().unwrap_or("").is_empty() {
        if let Some(hostname) = hostname() {
            framework.hostname = Some(hostname);
        }
    }
}

/// The effective user's name (stout `os::user()`).
fn effective_user() -> Option<String> {
    let mut buffer = vec![0u8; 16384];
    // SAFETY: `passwd` is plain data; `getpwuid_r` writes into it and `buffer` (whose length
    // it is told), and `result` points to `passwd` or is null.
    unsafe {
        let mut passwd: libc::passwd = std::mem::zeroed();
        let mut result: *mut libc::passwd = std::ptr::null_mut();
        let code =
            libc::getpwuid_r(libc::geteuid(), &mut passwd, buffer.as_mut_ptr().cast(), buffer.len(), &mut result);
        if code != 0 || result.is_null() || passwd.pw_name.is_null() {
            return None;
        }
        Some(std::ffi::CStr::from_ptr(passwd.pw_name).to_string_lossy().into_owned())
    }
}

/// This host's name (stout `net::hostname()`, without its lookup of the canonical name).
fn hostname() -> Option<String> {
    let mut buffer = [0u8; 256];
    // SAFETY: `gethostname` writes at most `buffer.len()` bytes into `buffer`.
    let code = unsafe { libc::gethostname(buffer.as_mut_ptr().cast(), buffer.len()) };
    if code != 0 {
        return None;
    }
    let end = buffer.iter().position(|&b| b == 0).unwrap_or(buffer.len());
    Some(String::from_utf8_lossy(&buffer[..end]).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constants_pinned() {
        assert_eq!(DEFAULT_REGISTRATION_BACKOFF_FACTOR, Duration::from_secs(2));
        assert_eq!(REGISTRATION_RETRY_INTERVAL_MAX, Duration::from_secs(60));
    }

    #[test]
    fn flags_from_the_environment() {
        let mut env = BTreeMap::new();
        assert_eq!(SchedulerFlags::from_env(&env), Ok(SchedulerFlags::default()));
        env.insert(MESOS_REGISTRATION_BACKOFF_FACTOR.to_string(), "10secs".to_string());
        assert_eq!(SchedulerFlags::from_env(&env).unwrap().registration_backoff_factor, Duration::from_secs(10));
        env.insert(MESOS_REGISTRATION_BACKOFF_FACTOR.to_string(), "soon".to_string());
        let error = SchedulerFlags::from_env(&env).unwrap_err();
        assert!(error.starts_with("Failed to load flag 'registration_backoff_factor': Failed to load value 'soon'"));
    }

    #[test]
    fn master_strings() {
        assert!(create_detector("127.0.0.1:5050").is_ok());
        assert!(create_detector("master@127.0.0.1:5050").is_ok());
        assert_eq!(create_detector("nonsense").err(), Some("Failed to parse 'nonsense'".to_string()));
        assert!(create_detector("local").is_err());
        assert!(create_detector("zk://host:2181/mesos").is_err());
        assert_eq!(
            create_detector("file:///nonexistent/master").err(),
            Some("Failed to read from file at '/nonexistent/master'".to_string())
        );
    }

    #[test]
    fn missing_framework_fields_are_filled() {
        let mut framework = FrameworkInfo { name: "f".into(), ..Default::default() };
        fill_missing_framework_info_fields(&mut framework);
        assert!(!framework.user.is_empty());
        let mut framework = FrameworkInfo { user: "alice".into(), hostname: Some("h".into()), ..Default::default() };
        fill_missing_framework_info_fields(&mut framework);
        assert_eq!((framework.user.as_str(), framework.hostname.as_deref()), ("alice", Some("h")));
    }
}
