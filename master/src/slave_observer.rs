//! The master's per-agent health checker, `slave-observer(N)`: pings the agent every `--agent_ping_timeout` and asks the master to mark it unreachable after `--max_agent_ping_timeouts` pings in a row go unanswered; mirrors `SlaveObserver` in `src/master/master.cpp`.
//!
//! The master spawns one observer per registered agent (C++ `Master::addSlave`) and reaches it
//! through a [`SlaveObserverHandle`]. The observer never touches master state: it reports
//! through a callback (C++ dispatches `Master::markUnreachable` and bumps the master's
//! `slave_unreachable_*` counters itself), which the master implements by dispatching into
//! its own process.
//!
//! Behaviour kept from C++:
//! - The first ping goes out from `initialize`, then one per `agent_ping_timeout`, forever:
//!   pinging continues while a transition to unreachable is pending or after one was asked
//!   for, so a late pong can still cancel a rate-limited transition.
//! - A timeout counts only if no pong came since the last ping (`pinged`). Any pong resets the
//!   count and asks the limiter to drop a pending permit request.
//! - Once the count reaches the limit, every further unanswered timeout asks again, as soon
//!   as the previous request has been settled; the master ignores repeats (C++
//!   `Master::markUnreachable` skips agents already being marked) and terminates the observer
//!   once the agent is gone.
//! - A permit request left pending when the observer terminates is not withdrawn; the limiter
//!   grants it later to nobody, as in C++.
//!
//! One deliberate difference: C++ `SlaveObserver::pong` takes no sender and so accepts a
//! `PongSlaveMessage` from anyone; here a pong counts only if it comes from the agent's UPID.
//! Agents answer the ping's sender from their own UPID (`Slave::ping`), so a real agent's
//! pongs always count.

use std::sync::Arc;
use std::time::Duration;

use libprocess::{Context, Future, Libprocess, Outcome, Process, SpawnError, PID, UPID};
use mesos::internal::{PingSlaveMessage, PongSlaveMessage};
use mesos::proto::SlaveId;

use crate::constants::{DEFAULT_AGENT_PING_TIMEOUT, DEFAULT_MAX_AGENT_PING_TIMEOUTS};
use crate::rate_limiter::{CancelAcquire, Limiter};

/// The prefix of the observer's process id: `slave-observer(N)`.
pub const PROCESS_ID_PREFIX: &str = "slave-observer";

/// The `message` C++ passes to `Master::markUnreachable` for a failed health check.
pub const HEALTH_CHECK_TIMED_OUT: &str = "health check timed out";

/// What an observer tells the master. Each C++ counter bump or dispatch is one event, in the
/// order C++ does them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SlaveObserverEvent {
    /// Too many pings went unanswered and a permit was asked for (C++
    /// `++metrics->slave_unreachable_scheduled` in `SlaveObserver::markUnreachable`).
    UnreachableScheduled { slave_id: SlaveId },
    /// The permit came: mark the agent unreachable (C++ `++slave_unreachable_completed`, then
    /// `dispatch(master, &Master::markUnreachable, slaveInfo, false, "health check timed out")`).
    MarkUnreachable { slave_id: SlaveId, reason: &'static str },
    /// A pong withdrew the pending request (C++ `++slave_unreachable_canceled`).
    UnreachableCanceled { slave_id: SlaveId },
}

/// How the master hears from an observer. Runs inside the observer's process, so it should
/// only dispatch.
pub type Notify = Box<dyn Fn(SlaveObserverEvent) + Send>;

/// The master flags an observer uses.
#[derive(Clone)]
pub struct SlaveObserverOptions {
    /// `--agent_ping_timeout`: the time between pings, and how long a pong may take.
    pub agent_ping_timeout: Duration,
    /// `--max_agent_ping_timeouts`: unanswered pings in a row before the agent is unreachable.
    pub max_agent_ping_timeouts: usize,
    /// `--agent_removal_rate_limit`, shared by all observers (C++ `slaves.limiter`).
    pub limiter: Option<Arc<dyn Limiter>>,
}

impl Default for SlaveObserverOptions {
    fn default() -> SlaveObserverOptions {
        SlaveObserverOptions {
            agent_ping_timeout: DEFAULT_AGENT_PING_TIMEOUT,
            max_agent_ping_timeouts: DEFAULT_MAX_AGENT_PING_TIMEOUTS,
            limiter: None,
        }
    }
}

impl std::fmt::Debug for SlaveObserverOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SlaveObserverOptions")
            .field("agent_ping_timeout", &self.agent_ping_timeout)
            .field("max_agent_ping_timeouts", &self.max_agent_ping_timeouts)
            .field("limiter", &self.limiter.is_some())
            .finish()
    }
}

/// Why an observer was not started.
#[derive(Debug, thiserror::Error)]
pub enum SlaveObserverError {
    /// A zero timeout would ping without pause (flag validation requires at least 1 s).
    #[error("the agent ping timeout must be positive")]
    ZeroPingTimeout,
    /// Flag validation requires at least one.
    #[error("the maximum number of agent ping timeouts must be at least 1")]
    ZeroMaxPingTimeouts,
    #[error(transparent)]
    Spawn(#[from] SpawnError),
}

/// The observer actor (C++ `SlaveObserver`).
pub struct SlaveObserver {
    slave: UPID,
    slave_id: SlaveId,
    notify: Notify,
    options: SlaveObserverOptions,
    /// Unanswered pings in a row.
    timeouts: usize,
    /// Whether a ping has gone out with no pong since.
    pinged: bool,
    /// Sent in each ping; `false` while the master considers the agent's link broken.
    connected: bool,
    /// Set from asking for a permit until its outcome is handled (C++ `markingUnreachable`);
    /// holds what withdraws the request.
    marking_unreachable: Option<CancelAcquire>,
}

impl SlaveObserver {
    /// An observer of the agent at `slave` with id `slave_id`; spawn it with
    /// [`SlaveObserverHandle::spawn`].
    pub fn new(slave: UPID, slave_id: SlaveId, options: SlaveObserverOptions, notify: Notify) -> SlaveObserver {
        SlaveObserver {
            slave,
            slave_id,
            notify,
            options,
            timeouts: 0,
            pinged: false,
            connected: true,
            marking_unreachable: None,
        }
    }

    /// The agent reregistered after its link broke (C++ `SlaveObserver::reconnect`).
    pub fn reconnect(&mut self) {
        self.connected = true;
    }

    /// The master saw the agent's link break (C++ `SlaveObserver::disconnect`).
    pub fn disconnect(&mut self) {
        self.connected = false;
    }

    fn ping(&mut self, ctx: &mut Context<Self>) {
        ctx.send_protobuf(&self.slave, &PingSlaveMessage { connected: self.connected });
        self.pinged = true;
        ctx.delay(self.options.agent_ping_timeout, |this: &mut Self, ctx| this.timeout(ctx));
    }

    fn pong(&mut self, from: &UPID) {
        if *from != self.slave {
            tracing::debug!(agent = %self.slave_id.value, %from, "ignoring a pong from a process other than the agent");
            return;
        }
        self.timeouts = 0;
        self.pinged = false;
        if let Some(cancel) = self.marking_unreachable.as_mut() {
            cancel.cancel();
        }
    }

    fn timeout(&mut self, ctx: &mut Context<Self>) {
        if self.pinged {
            self.timeouts += 1;
            if self.timeouts >= self.options.max_agent_ping_timeouts {
                self.mark_unreachable(ctx);
            }
        }
        self.ping(ctx);
    }

    /// C++ `SlaveObserver::markUnreachable`: asks for a permit unless a request is pending.
    fn mark_unreachable(&mut self, ctx: &mut Context<Self>) {
        if self.marking_unreachable.is_some() {
            return;
        }
        let (permit, cancel) = match &self.options.limiter {
            Some(limiter) => {
                tracing::info!(
                    agent = %self.slave_id.value,
                    "scheduling transition of agent to UNREACHABLE because of health check timeout"
                );
                limiter.acquire()
            }
            None => (Future::ready(()), CancelAcquire::none()),
        };
        self.marking_unreachable = Some(cancel);
        ctx.defer(permit, |this: &mut Self, _ctx, outcome| this.mark_unreachable_after_permit(outcome));
        (self.notify)(SlaveObserverEvent::UnreachableScheduled { slave_id: self.slave_id.clone() });
    }

    /// C++ `SlaveObserver::_markUnreachable`.
    fn mark_unreachable_after_permit(&mut self, outcome: Outcome<()>) {
        debug_assert!(self.marking_unreachable.is_some());
        let slave_id = self.slave_id.clone();
        match outcome {
            Ok(()) => (self.notify)(SlaveObserverEvent::MarkUnreachable { slave_id, reason: HEALTH_CHECK_TIMED_OUT }),
            Err(libprocess::Failure::Discarded) => {
                tracing::info!(
                    agent = %self.slave_id.value,
                    "canceling transition of agent to UNREACHABLE because a pong was received"
                );
                (self.notify)(SlaveObserverEvent::UnreachableCanceled { slave_id });
            }
            // C++ CHECK-fails here; a limiter never fails, so this is a caller's bug.
            Err(failure) => {
                tracing::error!(agent = %self.slave_id.value, %failure, "rate limiter failed a permit request");
            }
        }
        self.marking_unreachable = None;
    }
}

impl Process for SlaveObserver {
    fn initialize(&mut self, ctx: &mut Context<Self>) {
        ctx.install_protobuf(|this: &mut Self, _ctx, from, _: PongSlaveMessage| this.pong(from));
        self.ping(ctx);
    }
}

/// The master's handle on one observer. Calls return at once; dropping the handle
/// terminates the observer.
pub struct SlaveObserverHandle {
    lp: Libprocess,
    pid: PID<SlaveObserver>,
}

impl SlaveObserverHandle {
    /// Spawns `slave-observer(N)` for the agent at `slave`; its first ping goes out at once
    /// (C++ `Master::addSlave`: `spawn(slave->observer)`).
    pub fn spawn(
        lp: &Libprocess,
        slave: UPID,
        slave_id: SlaveId,
        options: SlaveObserverOptions,
        notify: impl Fn(SlaveObserverEvent) + Send + 'static,
    ) -> Result<SlaveObserverHandle, SlaveObserverError> {
        if options.agent_ping_timeout.is_zero() {
            return Err(SlaveObserverError::ZeroPingTimeout);
        }
        if options.max_agent_ping_timeouts == 0 {
            return Err(SlaveObserverError::ZeroMaxPingTimeouts);
        }
        let observer = SlaveObserver::new(slave, slave_id, options, Box::new(notify));
        let pid = lp.spawn(libprocess::id::generate(PROCESS_ID_PREFIX), observer)?;
        Ok(SlaveObserverHandle { lp: lp.clone(), pid })
    }

    /// The observer's address: pings come from it and pongs go to it.
    pub fn pid(&self) -> &PID<SlaveObserver> {
        &self.pid
    }

    /// Pings say `connected = true` again (C++ `dispatch(slave->observer, &SlaveObserver::reconnect)`).
    pub fn reconnect(&self) {
        self.pid.dispatch_void(|this, _ctx| this.reconnect());
    }

    /// Pings say `connected = false` (C++ `dispatch(slave->observer, &SlaveObserver::disconnect)`).
    pub fn disconnect(&self) {
        self.pid.dispatch_void(|this, _ctx| this.disconnect());
    }

    /// Stops the observer; the future completes once it is gone (C++ `terminate(observer);
    /// wait(observer)`). Nothing is sent to the agent.
    pub fn terminate(&self) -> Future<()> {
        self.lp.terminate(self.pid.upid(), true);
        self.lp.wait(self.pid.upid())
    }
}

impl Drop for SlaveObserverHandle {
    fn drop(&mut self) {
        self.lp.terminate(self.pid.upid(), true);
    }
}
