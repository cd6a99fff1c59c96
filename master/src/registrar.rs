//! The registrar: the actor that recovers the registry at election and applies `Operation`s to it in batches, storing each batch with compare-and-swap; mirrors `src/master/registrar.{hpp,cpp}`.
//!
//! The master holds a [`Registrar`] handle. It calls [`Registrar::recover`] once, when
//! elected: the registrar fetches the variable `registry`, records the new leader's
//! `MasterInfo` in it (the internal `Recover` operation, stored before anything else), and
//! answers with the registry. [`Registrar::apply`] then queues an [`Operation`]; its future
//! is `true` once the change is durable, `false` if the operation did not apply (say, an
//! agent admitted twice; the registry is stored anyway, unchanged by it).
//!
//! Operations run FIFO. While a store is in flight new operations queue; when it commits,
//! everything queued is applied to a copy of the registry and stored in one write. A failed
//! or timed-out store, or a version mismatch (another master wrote the registry), fails that
//! batch and every queued operation and leaves the registrar failed for good: every later
//! `apply` fails, and the master is expected to exit (C++ `abort`).

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use libprocess::http::{Request, Response};
use libprocess::{Context, Future, Libprocess, Outcome, Process, Promise, SpawnError, PID};
use mesos::internal::Registry;
use mesos::proto::MasterInfo;
use mesos::state::{State, StorageError, StorageFuture, Variable};
use prost::Message as _;

use crate::registry_operations::{admitted, Operation};

/// The state variable that holds the serialized [`Registry`].
pub const REGISTRY: &str = "registry";

/// Default of `--registry_fetch_timeout` (`src/master/flags.cpp`).
pub const DEFAULT_REGISTRY_FETCH_TIMEOUT: Duration = Duration::from_secs(60);

/// Default of `--registry_store_timeout` (`src/master/flags.cpp`).
pub const DEFAULT_REGISTRY_STORE_TIMEOUT: Duration = Duration::from_secs(20);

/// The master flags the registrar reads.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RegistrarFlags {
    /// How long recovery may wait for the fetch of the registry.
    pub registry_fetch_timeout: Duration,
    /// How long a store may take before the registrar fails.
    pub registry_store_timeout: Duration,
}

impl Default for RegistrarFlags {
    fn default() -> RegistrarFlags {
        RegistrarFlags {
            registry_fetch_timeout: DEFAULT_REGISTRY_FETCH_TIMEOUT,
            registry_store_timeout: DEFAULT_REGISTRY_STORE_TIMEOUT,
        }
    }
}

/// The master's handle to its registrar process (C++ `Registrar`). Dropping it terminates
/// the process; operations still pending then fail as discarded.
pub struct Registrar {
    pid: PID<RegistrarProcess>,
    lp: Libprocess,
}

impl Registrar {
    /// Spawns `registrar(N)` over `state`.
    pub fn new(lp: &Libprocess, flags: RegistrarFlags, state: State) -> Result<Registrar, SpawnError> {
        let process = RegistrarProcess {
            flags,
            state,
            recovery: Recovery::NotStarted,
            variable: None,
            registry: None,
            operations: VecDeque::new(),
            updating: false,
            error: None,
        };
        let pid = lp.spawn(libprocess::id::generate("registrar"), process)?;
        Ok(Registrar { pid, lp: lp.clone() })
    }

    pub fn pid(&self) -> &PID<RegistrarProcess> {
        &self.pid
    }

    /// Fetches the registry and stores `info` as its master. Calling it again returns the
    /// registry as recovered (or the recovery failure).
    pub fn recover(&self, info: MasterInfo) -> Future<Registry> {
        self.pid.dispatch_future(move |process, ctx| process.recover(ctx, info))
    }

    /// Queues `operation`: `true` once stored, `false` if it did not apply. Fails before
    /// recovery was started, after a failed recovery, and after a failed store.
    pub fn apply(&self, operation: Operation) -> Future<bool> {
        self.pid.dispatch_future(move |process, ctx| process.apply(ctx, operation))
    }
}

impl Drop for Registrar {
    fn drop(&mut self) {
        self.lp.terminate(self.pid.upid(), true);
    }
}

/// Where recovery stands.
enum Recovery {
    NotStarted,
    /// Fetching, or storing the new `MasterInfo`. Callers of `recover` wait in `waiters`;
    /// operations applied meanwhile wait in `gated` and run once recovery succeeds.
    Recovering {
        waiters: Vec<Promise<Registry>>,
        gated: Vec<(Operation, Promise<bool>)>,
    },
    /// The registry as recovered (boxed: it dwarfs the other states).
    Recovered(Box<Registry>),
    Failed(String),
}

/// A change waiting to be applied, and who to tell.
enum Pending {
    /// The internal operation that records the new leader (C++ `RegistrarProcess::Recover`).
    Recover(MasterInfo),
    Apply(Operation, Promise<bool>),
}

/// The registrar actor (C++ `RegistrarProcess`).
pub struct RegistrarProcess {
    flags: RegistrarFlags,
    state: State,
    recovery: Recovery,
    /// The registry variable as last fetched or stored: its version is what the next store
    /// must still find.
    variable: Option<Variable>,
    registry: Option<Registry>,
    operations: VecDeque<Pending>,
    /// A fetch or store is in flight.
    updating: bool,
    /// Set by `abort`; every later operation fails with it.
    error: Option<String>,
}

impl Process for RegistrarProcess {
    fn initialize(&mut self, ctx: &mut Context<Self>) {
        ctx.route(
            "/registry",
            "Returns the current contents of the Registry in JSON.",
            |this: &mut Self, _ctx, request: Request| {
                let text = this.registry.as_ref().map_or_else(|| "{}".to_string(), mesos::json::to_string);
                Future::ready(Response::json_text(text, request.url.query.get("jsonp").map(String::as_str)))
            },
        );
    }
}

/// Completes a future with the first of `future`'s outcome and a timeout after `timeout`
/// (C++ `.after(timeout, ...)`): then it fails with `Failed to perform <what> within <d>`.
/// A late answer is dropped.
fn with_timeout<T: Send + 'static>(
    ctx: &Context<RegistrarProcess>,
    future: StorageFuture<T>,
    timeout: Duration,
    what: &'static str,
) -> Future<Result<T, String>> {
    let promise = Promise::new();
    let result = promise.future();
    let first = Arc::new(Mutex::new(Some(promise)));
    let take = |cell: &Mutex<Option<Promise<Result<T, String>>>>| {
        cell.lock().unwrap_or_else(std::sync::PoisonError::into_inner).take()
    };
    let timer = {
        let first = first.clone();
        ctx.clock().timer(timeout, move || {
            if let Some(promise) = take(&first) {
                let message = format!("Failed to perform {what} within {}", libprocess::duration::format(timeout));
                promise.set(Err(message));
            }
        })
    };
    let clock = ctx.clock().clone();
    future.on_any(move |outcome: Outcome<Result<T, StorageError>>| {
        if let Some(promise) = take(&first) {
            clock.cancel(timer);
            promise.set(match outcome {
                Ok(Ok(value)) => Ok(value),
                Ok(Err(error)) => Err(error.to_string()),
                Err(failure) => Err(failure.to_string()),
            });
        }
    });
    result
}

impl RegistrarProcess {
    fn recover(&mut self, ctx: &mut Context<Self>, info: MasterInfo) -> Future<Registry> {
        match &mut self.recovery {
            Recovery::NotStarted => {
                tracing::debug!("recovering registrar");
                let fetch = with_timeout(ctx, self.state.fetch(REGISTRY), self.flags.registry_fetch_timeout, "fetch");
                ctx.defer(fetch, move |this: &mut Self, ctx, outcome| this.recover_after_fetch(ctx, info, outcome));
                self.updating = true;
                let promise = Promise::new();
                let future = promise.future();
                self.recovery = Recovery::Recovering { waiters: vec![promise], gated: Vec::new() };
                future
            }
            Recovery::Recovering { waiters, .. } => {
                let promise = Promise::new();
                let future = promise.future();
                waiters.push(promise);
                future
            }
            Recovery::Recovered(registry) => Future::ready(Registry::clone(registry)),
            Recovery::Failed(message) => Future::failed(message.clone()),
        }
    }

    /// C++ `_recover`: decode the fetched registry and store the new `MasterInfo` in it.
    fn recover_after_fetch(
        &mut self,
        ctx: &mut Context<Self>,
        info: MasterInfo,
        outcome: Outcome<Result<Variable, String>>,
    ) {
        self.updating = false;
        let variable = match outcome {
            Ok(Ok(variable)) => variable,
            Ok(Err(message)) => return self.fail_recovery(format!("Failed to recover registrar: {message}")),
            Err(failure) => return self.fail_recovery(format!("Failed to recover registrar: {failure}")),
        };
        let registry = match Registry::decode(variable.value()) {
            Ok(registry) => registry,
            Err(error) => {
                return self
                    .fail_recovery(format!("Failed to recover registrar: Failed to deserialize the registry: {error}"))
            }
        };
        tracing::info!(bytes = variable.value().len(), "successfully fetched the registry");
        self.variable = Some(variable);
        self.registry = Some(registry);
        self.operations.push_back(Pending::Recover(info));
        self.update(ctx);
    }

    /// C++ `__recover`: the new `MasterInfo` is stored; release waiters and gated operations.
    fn recovered(&mut self, ctx: &mut Context<Self>) {
        let Some(registry) = self.registry.clone() else { return };
        tracing::info!("successfully recovered registrar");
        let previous = std::mem::replace(&mut self.recovery, Recovery::Recovered(Box::new(registry.clone())));
        if let Recovery::Recovering { waiters, gated } = previous {
            for waiter in waiters {
                waiter.set(registry.clone());
            }
            for (operation, promise) in gated {
                self.operations.push_back(Pending::Apply(operation, promise));
            }
        }
        if !self.updating {
            self.update(ctx);
        }
    }

    fn fail_recovery(&mut self, message: String) {
        tracing::error!("{message}");
        let previous = std::mem::replace(&mut self.recovery, Recovery::Failed(message.clone()));
        if let Recovery::Recovering { waiters, gated } = previous {
            for waiter in waiters {
                waiter.fail(message.clone());
            }
            for (_, promise) in gated {
                promise.fail(message.clone());
            }
        }
    }

    fn apply(&mut self, ctx: &mut Context<Self>, operation: Operation) -> Future<bool> {
        let promise = Promise::new();
        let future = promise.future();
        match &mut self.recovery {
            Recovery::NotStarted => {
                promise.fail("Attempted to apply the operation before recovering");
            }
            Recovery::Recovering { gated, .. } => gated.push((operation, promise)),
            Recovery::Failed(message) => promise.fail(message.clone()),
            Recovery::Recovered(_) => match &self.error {
                Some(error) => promise.fail(error.clone()),
                None => {
                    self.operations.push_back(Pending::Apply(operation, promise));
                    if !self.updating {
                        self.update(ctx);
                    }
                }
            },
        }
        future
    }

    /// Applies every queued operation to a copy of the registry and stores it (C++
    /// `update`).
    fn update(&mut self, ctx: &mut Context<Self>) {
        if self.operations.is_empty() || self.updating || self.error.is_some() {
            return;
        }
        let (Some(registry), Some(variable)) = (&self.registry, &self.variable) else { return };
        self.updating = true;

        let mut updated = registry.clone();
        let mut ids = admitted(&updated);
        let applied: Vec<(Pending, bool)> = self
            .operations
            .drain(..)
            .map(|pending| {
                let success = match &pending {
                    Pending::Recover(info) => {
                        updated.master = Some(mesos::internal::registry::Master { info: info.clone() });
                        true
                    }
                    Pending::Apply(operation, _) => match operation.perform(&mut updated, &mut ids) {
                        Ok(_) => true,
                        Err(error) => {
                            tracing::debug!(?operation, %error, "registry operation does not apply");
                            false
                        }
                    },
                };
                (pending, success)
            })
            .collect();
        tracing::info!(operations = applied.len(), "applied operations; attempting to update the registry");

        let store = self.state.store(&variable.mutate(updated.encode_to_vec()));
        let store = with_timeout(ctx, store, self.flags.registry_store_timeout, "store");
        ctx.defer(store, move |this: &mut Self, ctx, outcome| this.update_after_store(ctx, outcome, updated, applied));
    }

    /// C++ `_update`: commit the stored registry and answer the batch, or abort.
    fn update_after_store(
        &mut self,
        ctx: &mut Context<Self>,
        outcome: Outcome<Result<Option<Variable>, String>>,
        updated: Registry,
        applied: Vec<(Pending, bool)>,
    ) {
        self.updating = false;
        let reason = match outcome {
            Ok(Ok(Some(variable))) => {
                tracing::info!("successfully updated the registry");
                self.variable = Some(variable);
                self.registry = Some(updated);
                let mut recovered = false;
                for (pending, success) in applied {
                    match pending {
                        Pending::Recover(_) => recovered = true,
                        Pending::Apply(_, promise) => promise.set(success),
                    }
                }
                if recovered {
                    self.recovered(ctx);
                } else {
                    self.update(ctx);
                }
                return;
            }
            Ok(Ok(None)) => "version mismatch".to_string(),
            Ok(Err(message)) => message,
            Err(failure) => failure.to_string(),
        };
        let message = format!("Failed to update registry: {reason}");
        for (pending, _) in applied {
            match pending {
                Pending::Recover(_) => {
                    self.fail_recovery(format!("Failed to recover registrar: Failed to persist MasterInfo: {message}"))
                }
                Pending::Apply(_, promise) => promise.fail(message.clone()),
            }
        }
        self.abort(message);
    }

    /// Fails every queued operation and every later one (C++ `abort`).
    fn abort(&mut self, message: String) {
        tracing::error!("registrar aborting: {message}");
        for pending in self.operations.drain(..) {
            if let Pending::Apply(_, promise) = pending {
                promise.fail(message.clone());
            }
        }
        self.error = Some(message);
    }
}
