//! The agent's metrics under `slave/`: counters the agent bumps as updates, framework messages and executors come and go, and gauges read from the agent on each `/metrics/snapshot`; mirrors `src/slave/metrics.{hpp,cpp}`.
//!
//! `slave/tasks_{finished,failed,killed,lost,gone}` are published as counters that nothing
//! increments: C++ declares and adds them in `metrics.cpp` but no code of the agent bumps
//! them, so they always read 0 there too.

use std::collections::HashMap;

use libprocess::metrics::Counter;
use libprocess::{Libprocess, PID};
use mesos::proto::TaskState;

use crate::slave::Slave;

/// Plain counters, by their name after `slave/`.
const COUNTERS: &[&str] = &[
    "recovery_errors",
    "tasks_finished",
    "tasks_failed",
    "tasks_killed",
    "tasks_lost",
    "tasks_gone",
    "executors_terminated",
    "executors_preempted",
    "valid_status_updates",
    "invalid_status_updates",
    "valid_framework_messages",
    "invalid_framework_messages",
    "container_launch_errors",
];

/// The agent's counters; until [`SlaveMetrics::register`] they count unpublished.
pub struct SlaveMetrics {
    counters: HashMap<&'static str, Counter>,
}

impl Default for SlaveMetrics {
    fn default() -> SlaveMetrics {
        SlaveMetrics { counters: COUNTERS.iter().map(|name| (*name, Counter::default())).collect() }
    }
}

/// A gauge read from the agent, given the time (seconds since the epoch).
type Read = fn(&Slave, f64) -> f64;

impl SlaveMetrics {
    /// Publishes every counter and gauge in `lp`'s metrics; the gauges dispatch into `slave`.
    pub fn register(lp: &Libprocess, slave: &PID<Slave>) -> SlaveMetrics {
        let registry = lp.metrics();
        let counters = COUNTERS.iter().map(|name| (*name, registry.counter(&format!("slave/{name}")))).collect();
        let gauges: Vec<(&str, Read)> = vec![
            ("uptime_secs", |s, now| (now - s.start_time).max(0.0)),
            ("registered", |s, _| if s.state == crate::slave::State::Running { 1.0 } else { 0.0 }),
            ("frameworks_active", |s, _| s.frameworks.len() as f64),
            ("tasks_staging", |s, _| s.count_tasks(TaskState::TaskStaging)),
            ("tasks_starting", |s, _| s.count_tasks(TaskState::TaskStarting)),
            ("tasks_running", |s, _| s.count_tasks(TaskState::TaskRunning)),
            ("tasks_killing", |s, _| s.count_tasks(TaskState::TaskKilling)),
            ("executors_registering", |s, _| s.count_executors(crate::slave::ExecutorState::Registering)),
            ("executors_running", |s, _| s.count_executors(crate::slave::ExecutorState::Running)),
            ("executors_terminating", |s, _| s.count_executors(crate::slave::ExecutorState::Terminating)),
            ("executor_directory_max_allowed_age_secs", |s, _| s.options.gc_delay.as_secs_f64()),
        ];
        for (name, read) in gauges {
            let slave = slave.clone();
            registry.pull_gauge(&format!("slave/{name}"), move || {
                slave.dispatch(move |s: &mut Slave, ctx| read(s, ctx.now().since_epoch().as_secs_f64()))
            });
        }
        for name in ["cpus", "gpus", "mem", "disk"] {
            for revocable in [false, true] {
                let suffix = if revocable { "_revocable" } else { "" };
                for kind in ["total", "used", "percent"] {
                    let slave = slave.clone();
                    registry.pull_gauge(&format!("slave/{name}{suffix}_{kind}"), move || {
                        slave.dispatch(move |s: &mut Slave, _| {
                            let (total, used) = s.resource_gauge(name, revocable);
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
        SlaveMetrics { counters }
    }

    /// Bumps counter `slave/<name>` (one of [`COUNTERS`]).
    pub fn increment(&self, name: &'static str) {
        match self.counters.get(name) {
            Some(counter) => counter.increment(),
            None => tracing::error!(name, "no such agent counter"),
        }
    }

    /// The value of counter `slave/<name>`.
    pub fn value(&self, name: &str) -> u64 {
        self.counters.get(name).map_or(0, Counter::value)
    }
}
