//! The master's metrics under `master/`: counters the master bumps as messages, agents and tasks come and go, and gauges read from the master on each `/metrics/snapshot`; mirrors `src/master/metrics.{hpp,cpp}`.

use std::collections::HashMap;

use libprocess::metrics::Counter;
use libprocess::{Libprocess, PID};
use mesos::proto::task_status::{Reason, Source};
use mesos::proto::TaskState;

use crate::master::Master;

/// The `messages_*` counters bumped when an agent's message of that type arrives, by
/// protobuf type name. The framework-side ones are bumped by the call handlers, which v0
/// messages and scheduler calls share, so that each is counted once (as in C++).
const MESSAGE_COUNTERS: &[(&str, &str)] = &[
    ("mesos.internal.ExecutorToFrameworkMessage", "messages_executor_to_framework"),
    ("mesos.internal.RegisterSlaveMessage", "messages_register_slave"),
    ("mesos.internal.ReregisterSlaveMessage", "messages_reregister_slave"),
    ("mesos.internal.UnregisterSlaveMessage", "messages_unregister_slave"),
    ("mesos.internal.StatusUpdateMessage", "messages_status_update"),
    ("mesos.internal.ExitedExecutorMessage", "messages_exited_executor"),
];

/// The `messages_*` counters of scheduler calls and their legacy messages.
const CALL_COUNTERS: &[&str] = &[
    "messages_register_framework",
    "messages_reregister_framework",
    "messages_unregister_framework",
    "messages_deactivate_framework",
    "messages_kill_task",
    "messages_status_update_acknowledgement",
    "messages_resource_request",
    "messages_launch_tasks",
    "messages_decline_offers",
    "messages_revive_offers",
    "messages_suppress_offers",
    "messages_reconcile_tasks",
    "messages_framework_to_executor",
];

/// Plain counters, by their name after `master/`.
const COUNTERS: &[&str] = &[
    "dropped_messages",
    "valid_framework_to_executor_messages",
    "invalid_framework_to_executor_messages",
    "valid_executor_to_framework_messages",
    "invalid_executor_to_framework_messages",
    "valid_status_updates",
    "invalid_status_updates",
    "valid_status_update_acknowledgements",
    "invalid_status_update_acknowledgements",
    "recovery_slave_removals",
    "slave_registrations",
    "slave_reregistrations",
    "slave_removals",
    "slave_removals/reason_unhealthy",
    "slave_removals/reason_unregistered",
    "slave_removals/reason_registered",
    "slave_unreachable_scheduled",
    "slave_unreachable_completed",
    "slave_unreachable_canceled",
    "tasks_finished",
    "tasks_failed",
    "tasks_killed",
    "tasks_lost",
    "tasks_error",
    "tasks_dropped",
    "tasks_gone",
    "tasks_gone_by_operator",
];

/// The master's counters. Until [`MasterMetrics::register`] replaces them they count without
/// being published (a master that was built but not spawned).
pub struct MasterMetrics {
    registry: Option<Libprocess>,
    counters: HashMap<&'static str, Counter>,
    /// `master/<state>/<source>/<reason>`, created on first use (C++ `incrementTasksStates`).
    task_states: HashMap<(i32, i32, i32), Counter>,
}

impl MasterMetrics {
    /// Every counter name, after `master/`.
    fn counter_names() -> impl Iterator<Item = &'static str> {
        let names = MESSAGE_COUNTERS.iter().map(|(_, name)| *name).chain(CALL_COUNTERS.iter().copied());
        names.chain(COUNTERS.iter().copied())
    }

    /// Counters that nobody reads.
    pub fn detached() -> MasterMetrics {
        let counters = Self::counter_names().map(|name| (name, Counter::default())).collect();
        MasterMetrics { registry: None, counters, task_states: HashMap::new() }
    }

    /// Publishes every counter and gauge in `lp`'s metrics; the gauges dispatch into
    /// `master`.
    pub fn register(lp: &Libprocess, master: &PID<Master>) -> MasterMetrics {
        let registry = lp.metrics();
        let counters = Self::counter_names().map(|name| (name, registry.counter(&format!("master/{name}")))).collect();
        for (name, read) in gauges() {
            let master = master.clone();
            registry.pull_gauge(&format!("master/{name}"), move || {
                master.dispatch(move |m: &mut Master, ctx| read(m, ctx.now().since_epoch().as_secs_f64()))
            });
        }
        // C++ `Master::_event_queue_*`: what waits in the master's mailbox.
        for name in ["messages", "dispatches", "http_requests"] {
            let master = master.clone();
            registry.pull_gauge(&format!("master/event_queue_{name}"), move || {
                master.dispatch(move |_: &mut Master, ctx| {
                    let queued = ctx.queued_events();
                    let count = match name {
                        "messages" => queued.messages,
                        "dispatches" => queued.dispatches,
                        _ => queued.http_requests,
                    };
                    count as f64
                })
            });
        }
        for name in ["cpus", "gpus", "mem", "disk"] {
            for revocable in [false, true] {
                let suffix = if revocable { "_revocable" } else { "" };
                for kind in ["total", "used", "percent"] {
                    let master = master.clone();
                    registry.pull_gauge(&format!("master/{name}{suffix}_{kind}"), move || {
                        master.dispatch(move |m: &mut Master, _| {
                            let (total, used) = m.resource_gauge(name, revocable);
                            match kind {
                                "total" => total,
                                "used" => used,
                                _ if total == 0.0 => 0.0,
                                _ => used / total,
                            }
                        })
                    });
                }
            }
        }
        MasterMetrics { registry: Some(lp.clone()), counters, task_states: HashMap::new() }
    }

    /// Bumps counter `master/<name>` (one of the names above).
    pub fn increment(&self, name: &'static str) {
        match self.counters.get(name) {
            Some(counter) => counter.increment(),
            None => tracing::error!(name, "no such master counter"),
        }
    }

    /// The value of counter `master/<name>`.
    pub fn value(&self, name: &str) -> u64 {
        self.counters.get(name).map_or(0, Counter::value)
    }

    /// Bumps the `messages_*` counter of a message type, if it has one.
    pub fn message(&self, type_name: &str) {
        if let Some((_, name)) = MESSAGE_COUNTERS.iter().find(|(t, _)| *t == type_name) {
            self.increment(name);
        }
    }

    /// A task reached a terminal state (C++ `updateTask`): `tasks_<state>` and, if the
    /// status has a reason, `master/<state>/<source>/<reason>`.
    pub fn task_terminated(&mut self, state: TaskState, source: Option<Source>, reason: Option<Reason>) {
        let counter = match state {
            TaskState::TaskFinished => "tasks_finished",
            TaskState::TaskFailed => "tasks_failed",
            TaskState::TaskKilled => "tasks_killed",
            TaskState::TaskLost => "tasks_lost",
            TaskState::TaskError => "tasks_error",
            TaskState::TaskDropped => "tasks_dropped",
            TaskState::TaskGone => "tasks_gone",
            TaskState::TaskGoneByOperator => "tasks_gone_by_operator",
            _ => return,
        };
        self.increment(counter);
        let Some(reason) = reason else { return };
        let source = source.unwrap_or(Source::Master);
        let key = (state as i32, source as i32, reason as i32);
        let registry = self.registry.clone();
        self.task_states
            .entry(key)
            .or_insert_with(|| {
                let name = format!(
                    "master/{}/{}/{}",
                    state.as_str_name().to_lowercase(),
                    source.as_str_name().to_lowercase(),
                    reason.as_str_name().to_lowercase()
                );
                registry.map(|lp| lp.metrics().counter(&name)).unwrap_or_default()
            })
            .increment();
    }
}

/// A gauge read from the master, given the time (seconds since the epoch).
type Read = fn(&Master, f64) -> f64;

/// The gauges other than resources, by their name after `master/`.
fn gauges() -> Vec<(&'static str, Read)> {
    vec![
        ("uptime_secs", Master::uptime_secs),
        ("elected", |m, _| if m.is_recovered() { 1.0 } else { 0.0 }),
        ("slaves_connected", |m, _| m.count_agents(|connected, _| connected)),
        ("slaves_disconnected", |m, _| m.count_agents(|connected, _| !connected)),
        ("slaves_active", |m, _| m.count_agents(|_, active| active)),
        ("slaves_inactive", |m, _| m.count_agents(|_, active| !active)),
        ("slaves_unreachable", |m, _| m.count_unreachable()),
        ("frameworks_connected", |m, _| m.count_frameworks(|connected, _| connected)),
        ("frameworks_disconnected", |m, _| m.count_frameworks(|connected, _| !connected)),
        ("frameworks_active", |m, _| m.count_frameworks(|_, active| active)),
        ("frameworks_inactive", |m, _| m.count_frameworks(|_, active| !active)),
        ("outstanding_offers", |m, _| m.count_offers()),
        ("tasks_staging", |m, _| m.count_tasks(TaskState::TaskStaging)),
        ("tasks_starting", |m, _| m.count_tasks(TaskState::TaskStarting)),
        ("tasks_running", |m, _| m.count_tasks(TaskState::TaskRunning)),
        ("tasks_killing", |m, _| m.count_tasks(TaskState::TaskKilling)),
        ("tasks_unreachable", |m, _| m.count_unreachable_tasks()),
    ]
}
