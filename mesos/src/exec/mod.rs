//! The v0 executor driver: the [`Executor`] callbacks, the [`ExecutorDriver`] calls and [`MesosExecutorDriver`], which runs an `executor(N)` process talking to the agent; mirrors `include/mesos/executor.hpp` and `MesosExecutorDriver` in `src/exec/exec.cpp`.
//!
//! The driver is a thin handle: every call checks the driver's [`Status`] under a lock and
//! dispatches into [`process::ExecutorProcess`], which owns the [`Executor`] and invokes its
//! callbacks one at a time on the process's thread. Callbacks get the driver as
//! `&dyn ExecutorDriver` and may call it (sends are queued behind the current event); calling
//! [`ExecutorDriver::join`] from a callback blocks forever, as in C++.
//!
//! Statuses follow C++ exactly: `start` only from `DRIVER_NOT_STARTED`; `stop` from
//! `DRIVER_RUNNING` or `DRIVER_ABORTED` (returning `DRIVER_ABORTED` in the latter case, the
//! driver then being `DRIVER_STOPPED`); `abort` only from `DRIVER_RUNNING`; `join` waits only
//! while `DRIVER_RUNNING`; the sends only while `DRIVER_RUNNING`. Any other call returns the
//! current status and does nothing. A shutdown asked for by the agent does not change the
//! status: the executor is expected to call `stop`.
//!
//! Differences from C++, each because C++ ends the whole OS process where a library should not:
//! - A bad environment (a missing variable, an unparsable `MESOS_SLAVE_PID` or duration) makes
//!   C++ `start` print the problem and `exit(1)`. Here `start` aborts the driver, calls
//!   [`Executor::error`] with C++'s text and returns `DRIVER_ABORTED`; nothing is sent.
//! - What `exec-shutdown(N)` does when the grace period ends (kill the process group) can be
//!   replaced with [`MesosExecutorDriver::with_process_group_kill`], so tests can watch it.
//! - The C++ constructor loads logging flags from the `MESOS_*` variables and may set up
//!   glog; this library leaves logging to the program (`tracing`). (C++ passes the variables
//!   to the flags without their prefix, so none of them matches a flag anyway.)
//! - `stop` or `abort` after the process has already ended (a local executor shut down by
//!   the agent) still wakes a waiting `join`; in C++ the dispatch is lost and `join` hangs.

pub mod environment;
pub mod process;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Weak};

use libprocess::{Libprocess, PID};
use parking_lot::{Condvar, Mutex};

pub use self::environment::{EnvironmentError, ExecutorEnvironment};
use self::process::{ExecutorProcess, KillProcessGroup};
pub use crate::proto::Status;
use crate::proto::{ExecutorInfo, FrameworkInfo, SlaveInfo, TaskId, TaskInfo, TaskStatus};

/// An executor's callbacks (C++ `mesos::Executor`). Only one runs at a time, on the driver's
/// process thread; a callback that blocks holds up every later message.
pub trait Executor: Send + 'static {
    /// The agent accepted the registration. `executor_info.data` carries what the
    /// scheduler put there.
    fn registered(
        &mut self,
        driver: &dyn ExecutorDriver,
        executor_info: &ExecutorInfo,
        framework_info: &FrameworkInfo,
        slave_info: &SlaveInfo,
    );

    /// A restarted agent accepted the reregistration.
    fn reregistered(&mut self, driver: &dyn ExecutorDriver, slave_info: &SlaveInfo);

    /// Part of the interface, but the C++ driver never invokes it, and neither does this one.
    fn disconnected(&mut self, driver: &dyn ExecutorDriver);

    /// A task to run. No other callback runs until this one returns.
    fn launch_task(&mut self, driver: &dyn ExecutorDriver, task: &TaskInfo);

    /// Kill a task. The executor sends the terminal status update itself.
    fn kill_task(&mut self, driver: &dyn ExecutorDriver, task_id: &TaskId);

    /// A best-effort message from the scheduler.
    fn framework_message(&mut self, driver: &dyn ExecutorDriver, data: &[u8]);

    /// Stop all tasks: the agent asked for it or is gone for good. Unless the executor runs
    /// inside the agent's OS process (`MESOS_LOCAL`), its process group is killed after the
    /// shutdown grace period.
    fn shutdown(&mut self, driver: &dyn ExecutorDriver);

    /// A fatal error; the driver is aborted before this is called.
    fn error(&mut self, driver: &dyn ExecutorDriver, message: &str);
}

/// The calls an executor makes (C++ `mesos::ExecutorDriver`). Each returns the driver's
/// status after the call.
pub trait ExecutorDriver: Send + Sync {
    /// Reads the environment, spawns `executor(N)` and registers with the agent.
    fn start(&self) -> Status;

    /// Ends the driver's process; the agent then sees the executor gone.
    fn stop(&self) -> Status;

    /// Stops handling messages from the agent (sends still go out) without ending the
    /// process, so a new driver could be started.
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

    /// Sends a status update to the agent, which forwards it to the scheduler reliably.
    /// The driver keeps it until the agent acknowledges it, and resends it on reregistration.
    fn send_status_update(&self, status: TaskStatus) -> Status;

    /// Sends a best-effort message to the scheduler.
    fn send_framework_message(&self, data: &[u8]) -> Status;
}

/// The v0 executor driver (C++ `mesos::MesosExecutorDriver`). Dropping it terminates its
/// process.
pub struct MesosExecutorDriver {
    shared: Arc<Shared>,
}

impl MesosExecutorDriver {
    /// A driver for `executor` in instance `lp`, configured from `environment` (pass
    /// `std::env::vars()` for the process environment). Nothing is read or spawned until
    /// [`ExecutorDriver::start`].
    pub fn new(
        lp: &Libprocess,
        executor: impl Executor,
        environment: impl IntoIterator<Item = (String, String)>,
    ) -> MesosExecutorDriver {
        // As the C++ constructor does (`spawn(new VersionProcess(), true)`); an instance that
        // already serves `/version` keeps its own.
        if !lp.is_running(crate::version::VERSION_PROCESS_ID) {
            let _ = crate::version::VersionProcess::spawn(lp);
        }
        let shared = Arc::new_cyclic(|this| Shared {
            this: this.clone(),
            lp: lp.clone(),
            environment: environment.into_iter().collect(),
            state: Mutex::new(DriverState {
                status: Status::DriverNotStarted,
                process: None,
                executor: Some(Box::new(executor)),
                kill: None,
            }),
            aborted: AtomicBool::new(false),
            latch: Latch::default(),
        });
        MesosExecutorDriver { shared }
    }

    /// Replaces what happens when the shutdown grace period ends. By default
    /// `exec-shutdown(N)` kills the OS process group with `SIGKILL` and exits with status 1 if
    /// it still lives 5 seconds later (C++ `ShutdownProcess::kill`). Takes effect at `start`.
    pub fn with_process_group_kill(self, kill: impl Fn() + Send + Sync + 'static) -> MesosExecutorDriver {
        self.shared.state.lock().kill = Some(Arc::new(kill));
        self
    }

    /// The driver's current status.
    pub fn status(&self) -> Status {
        self.shared.state.lock().status
    }

    /// [`ExecutorDriver::join`] for async callers: waits without blocking a thread.
    pub async fn join_async(&self) -> Status {
        if self.status() != Status::DriverRunning {
            return self.status();
        }
        self.shared.latch.wait_async().await;
        self.status()
    }
}

impl ExecutorDriver for MesosExecutorDriver {
    fn start(&self) -> Status {
        self.shared.start()
    }

    fn stop(&self) -> Status {
        self.shared.stop()
    }

    fn abort(&self) -> Status {
        self.shared.abort()
    }

    fn join(&self) -> Status {
        self.shared.join()
    }

    fn send_status_update(&self, status: TaskStatus) -> Status {
        self.shared.send_status_update(status)
    }

    fn send_framework_message(&self, data: &[u8]) -> Status {
        self.shared.send_framework_message(data)
    }
}

impl Drop for MesosExecutorDriver {
    /// C++ `~MesosExecutorDriver` terminates the process and waits for it; here the
    /// terminate is asked for and the process ends on its own thread.
    fn drop(&mut self) {
        if let Some(pid) = self.shared.state.lock().process.take() {
            self.shared.lp.terminate(pid.upid(), true);
        }
    }
}

/// What the user's handle and the process share: the status, the abort flag and the latch
/// `join` waits on.
pub(crate) struct Shared {
    this: Weak<Shared>,
    lp: Libprocess,
    environment: BTreeMap<String, String>,
    state: Mutex<DriverState>,
    /// Set by `abort` and by a shutdown, read by every message handler (C++
    /// `ExecutorProcess::aborted`, an atomic so that `abort` takes effect before its
    /// dispatch is handled).
    pub(crate) aborted: AtomicBool,
    pub(crate) latch: Latch,
}

struct DriverState {
    status: Status,
    process: Option<PID<ExecutorProcess>>,
    /// Moved into the process at `start`.
    executor: Option<Box<dyn Executor>>,
    kill: Option<KillProcessGroup>,
}

impl Shared {
    fn start(&self) -> Status {
        let mut state = self.state.lock();
        if state.status != Status::DriverNotStarted {
            return state.status;
        }
        let environment = match ExecutorEnvironment::from_map(&self.environment) {
            Ok(environment) => environment,
            Err(error) => {
                state.status = Status::DriverAborted;
                self.aborted.store(true, Ordering::SeqCst);
                let executor = state.executor.take();
                drop(state);
                return self.fail_start(executor, &error.to_string());
            }
        };
        let Some(executor) = state.executor.take() else {
            // Only `start` takes the executor, and only from `DRIVER_NOT_STARTED`.
            return state.status;
        };
        let Some(this) = self.this.upgrade() else { return state.status };
        let kill = state.kill.clone().unwrap_or_else(|| Arc::new(process::kill_process_group));
        let process = ExecutorProcess::new(environment, this, executor, kill);
        match self.lp.spawn(libprocess::id::generate(process::PROCESS_ID_PREFIX), process) {
            Ok(pid) => {
                state.process = Some(pid);
                state.status = Status::DriverRunning;
                state.status
            }
            Err(error) => {
                // The executor went with the process that could not start.
                state.status = Status::DriverAborted;
                self.aborted.store(true, Ordering::SeqCst);
                drop(state);
                tracing::error!("Failed to spawn the executor process: {error}");
                Status::DriverAborted
            }
        }
    }

    /// Reports a start that cannot happen. C++ prints the message and exits.
    fn fail_start(&self, executor: Option<Box<dyn Executor>>, message: &str) -> Status {
        tracing::error!("{message}");
        if let Some(mut executor) = executor {
            executor.error(self, message);
        }
        Status::DriverAborted
    }

    fn stop(&self) -> Status {
        let mut state = self.state.lock();
        if state.status != Status::DriverRunning && state.status != Status::DriverAborted {
            return state.status;
        }
        if let Some(pid) = &state.process {
            self.dispatch_then_wake(pid, |p, ctx| p.stop(ctx));
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
        if state.status != Status::DriverRunning {
            return state.status;
        }
        // Set here rather than in the dispatch so that no further message from the agent is
        // handled from now on; sends the executor already asked for still go out.
        self.aborted.store(true, Ordering::SeqCst);
        if let Some(pid) = &state.process {
            self.dispatch_then_wake(pid, |p, _| p.abort());
        }
        state.status = Status::DriverAborted;
        state.status
    }

    fn dispatch_then_wake(
        &self,
        pid: &PID<ExecutorProcess>,
        f: impl FnOnce(&mut ExecutorProcess, &mut libprocess::Context<ExecutorProcess>) + Send + 'static,
    ) {
        let this = self.this.clone();
        dispatch_then_wake(pid, f, move || {
            if let Some(shared) = this.upgrade() {
                shared.latch.trigger();
            }
        });
    }

    fn join(&self) -> Status {
        if self.state.lock().status != Status::DriverRunning {
            return self.state.lock().status;
        }
        self.latch.wait();
        self.state.lock().status
    }

    /// Returns the status, and the process to dispatch to while the driver runs.
    fn running(&self) -> Result<PID<ExecutorProcess>, Status> {
        let state = self.state.lock();
        match (&state.process, state.status) {
            (Some(pid), Status::DriverRunning) => Ok(pid.clone()),
            (_, status) => Err(status),
        }
    }

    fn send_status_update(&self, status: TaskStatus) -> Status {
        match self.running() {
            Ok(pid) => {
                pid.dispatch_void(move |p, ctx| p.send_status_update(ctx, status));
                Status::DriverRunning
            }
            Err(status) => status,
        }
    }

    fn send_framework_message(&self, data: &[u8]) -> Status {
        match self.running() {
            Ok(pid) => {
                let data = data.to_vec();
                pid.dispatch_void(move |p, ctx| p.send_framework_message(ctx, data));
                Status::DriverRunning
            }
            Err(status) => status,
        }
    }
}

/// The callbacks get the shared half: the process holds it, not the user's handle, so that
/// dropping the handle still ends the process.
impl ExecutorDriver for Shared {
    fn start(&self) -> Status {
        Shared::start(self)
    }

    fn stop(&self) -> Status {
        Shared::stop(self)
    }

    fn abort(&self) -> Status {
        Shared::abort(self)
    }

    fn join(&self) -> Status {
        Shared::join(self)
    }

    fn send_status_update(&self, status: TaskStatus) -> Status {
        Shared::send_status_update(self, status)
    }

    fn send_framework_message(&self, data: &[u8]) -> Status {
        Shared::send_framework_message(self, data)
    }
}

/// Dispatches `f` into a driver's process; `f` wakes the driver's `join` itself, and if the
/// process is already gone (the dispatch is dropped) `wake` is called instead. Shared by the
/// executor and scheduler drivers.
pub(crate) fn dispatch_then_wake<P: libprocess::Process>(
    pid: &PID<P>,
    f: impl FnOnce(&mut P, &mut libprocess::Context<P>) + Send + 'static,
    wake: impl FnOnce() + Send + 'static,
) {
    pid.dispatch(f).on_any(move |outcome| {
        if outcome.is_err() {
            wake();
        }
    });
}

/// A one-shot latch that threads can block on and tasks can await (C++ `process::Latch`).
pub(crate) struct Latch {
    triggered: Mutex<bool>,
    condvar: Condvar,
    watch: tokio::sync::watch::Sender<bool>,
}

impl Default for Latch {
    fn default() -> Latch {
        Latch { triggered: Mutex::new(false), condvar: Condvar::new(), watch: tokio::sync::watch::Sender::new(false) }
    }
}

impl Latch {
    pub(crate) fn trigger(&self) {
        *self.triggered.lock() = true;
        self.condvar.notify_all();
        self.watch.send_replace(true);
    }

    pub(crate) fn wait(&self) {
        let mut triggered = self.triggered.lock();
        while !*triggered {
            self.condvar.wait(&mut triggered);
        }
    }

    pub(crate) async fn wait_async(&self) {
        let mut receiver = self.watch.subscribe();
        // The sender lives in `self`, so the wait cannot fail for a closed channel.
        let _ = receiver.wait_for(|triggered| *triggered).await;
    }
}
