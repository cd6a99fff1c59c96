//! The allocator's metrics under `allocator/mesos/`; mirrors `src/master/allocator/mesos/metrics.{hpp,cpp}` and the per-role dominant share gauges of `src/master/allocator/mesos/sorter/drf/metrics.cpp`.
//!
//! Gauges whose value lives in the allocator's state are pulled: a snapshot dispatches into the
//! actor, as C++ `PullGauge`s `defer` to the process. Quota guarantees, limits and consumption
//! are pushed when they change. Every metric is removed when the actor ends.
//!
//! Names, as in C++:
//!
//! - `event_queue_dispatches` (and the deprecated `allocator/event_queue_dispatches`),
//!   `allocation_runs`, `allocation_run_ms`, `allocation_run_latency_ms`;
//! - `resources/{cpus,mem,disk}/{total,offered_or_allocated}`;
//! - `roles/<role>/shares/dominant` while the role is in the role sorter;
//! - `quota/roles/<role>/resources/<name>/{guarantee,limit,consumed,offered_or_allocated}`;
//! - `offer_filters/roles/<role>/active` while the role is in the role tree.
//!
//! Per-framework metrics (`--publish_per_framework_metrics`) are not kept yet.

use std::collections::{HashMap, HashSet};

use libprocess::metrics::{Counter, PushGauge, Timer};
use libprocess::{Libprocess, PID};

use super::hierarchical::HierarchicalAllocatorProcess;
use super::role_tree::RoleObserver;
use super::ALLOCATION_RUN_METRIC_WINDOW;
use crate::quota::Quota;
use crate::resource_quantities::ResourceQuantities;

/// The prefix of every allocator metric.
pub const PREFIX: &str = "allocator/mesos/";

/// The resources with cluster-wide total and offered-or-allocated gauges.
const RESOURCE_NAMES: [&str; 3] = ["cpus", "mem", "disk"];

/// The name of a per-role, per-resource quota metric.
fn quota_metric(role: &str, resource: &str, suffix: &str) -> String {
    format!("{PREFIX}quota/roles/{role}/resources/{resource}/{suffix}")
}

/// Registers a gauge whose value `f` computes inside the allocator.
fn pull_into_allocator(
    lp: &Libprocess,
    pid: &PID<HierarchicalAllocatorProcess>,
    name: &str,
    f: impl Fn(&mut HierarchicalAllocatorProcess) -> f64 + Clone + Send + Sync + 'static,
) {
    let pid = pid.clone();
    lp.metrics().pull_gauge(name, move || {
        let f = f.clone();
        pid.dispatch(move |p, _| f(p))
    });
}

/// Pushed gauges of one kind (`guarantee`, `limit`, `consumed`) per role and resource name
/// (C++ `QuotaMetrics`). A role's gauges follow its latest quantities: new names appear,
/// missing ones disappear.
struct QuotaGauges {
    suffix: &'static str,
    gauges: HashMap<String, HashMap<String, PushGauge>>,
}

impl QuotaGauges {
    fn new(suffix: &'static str) -> QuotaGauges {
        QuotaGauges { suffix, gauges: HashMap::new() }
    }

    fn update<'a>(&mut self, lp: &Libprocess, role: &str, quantities: impl Iterator<Item = (&'a str, f64)>) {
        let gauges = self.gauges.entry(role.to_owned()).or_default();
        let mut stale: HashSet<String> = gauges.keys().cloned().collect();
        for (name, value) in quantities {
            stale.remove(name);
            match gauges.get(name) {
                Some(gauge) => gauge.set(value),
                None => {
                    let gauge = lp.metrics().push_gauge(&quota_metric(role, name, self.suffix));
                    gauge.set(value);
                    gauges.insert(name.to_owned(), gauge);
                }
            }
        }
        for name in stale {
            lp.metrics().remove(&quota_metric(role, &name, self.suffix));
            gauges.remove(&name);
        }
        if gauges.is_empty() {
            self.gauges.remove(role);
        }
    }

    fn remove_all(&mut self, lp: &Libprocess) {
        for (role, gauges) in self.gauges.drain() {
            for name in gauges.keys() {
                lp.metrics().remove(&quota_metric(&role, name, self.suffix));
            }
        }
    }
}

/// The allocator's own metrics (C++ `internal::Metrics`).
pub(crate) struct Metrics {
    lp: Libprocess,
    pid: PID<HierarchicalAllocatorProcess>,
    pub(crate) allocation_runs: Counter,
    pub(crate) allocation_run: Timer,
    pub(crate) allocation_run_latency: Timer,
    quota_guarantees: QuotaGauges,
    quota_limits: QuotaGauges,
    /// The `offered_or_allocated` gauges per role with a non-default quota: the names.
    quota_offered_or_allocated: HashMap<String, Vec<String>>,
    /// Roles with a dominant share gauge.
    dominant_shares: HashSet<String>,
    /// Every name registered here once, to remove them at the end.
    fixed: Vec<String>,
}

impl Metrics {
    /// Registers the fixed metrics (C++ `Metrics::Metrics`).
    pub(crate) fn new(lp: &Libprocess, pid: &PID<HierarchicalAllocatorProcess>) -> Metrics {
        let registry = lp.metrics();
        let mut fixed = Vec::new();
        for name in [format!("{PREFIX}event_queue_dispatches"), "allocator/event_queue_dispatches".to_owned()] {
            let pid = pid.clone();
            registry.pull_gauge(&name, move || pid.dispatch(|_, ctx| ctx.queued_dispatches() as f64));
            fixed.push(name);
        }
        for resource in RESOURCE_NAMES {
            let total = format!("{PREFIX}resources/{resource}/total");
            pull_into_allocator(lp, pid, &total, move |p| p.resources_total(resource));
            let offered = format!("{PREFIX}resources/{resource}/offered_or_allocated");
            pull_into_allocator(lp, pid, &offered, move |p| p.resources_offered_or_allocated(resource));
            fixed.extend([total, offered]);
        }
        let runs = format!("{PREFIX}allocation_runs");
        let run = format!("{PREFIX}allocation_run_ms");
        let latency = format!("{PREFIX}allocation_run_latency_ms");
        Metrics {
            allocation_runs: registry.counter(&runs),
            allocation_run: registry.timer(&run, Some(ALLOCATION_RUN_METRIC_WINDOW)),
            allocation_run_latency: registry.timer(&latency, Some(ALLOCATION_RUN_METRIC_WINDOW)),
            lp: lp.clone(),
            pid: pid.clone(),
            quota_guarantees: QuotaGauges::new("guarantee"),
            quota_limits: QuotaGauges::new("limit"),
            quota_offered_or_allocated: HashMap::new(),
            dominant_shares: HashSet::new(),
            fixed: fixed.into_iter().chain([runs, run, latency]).collect(),
        }
    }

    /// A role's quota changed (C++ `Metrics::updateQuota`): guarantee and limit gauges follow
    /// it; `offered_or_allocated` gauges exist for the guaranteed or limited names of a
    /// non-default quota.
    pub(crate) fn update_quota(&mut self, role: &str, quota: &Quota) {
        self.quota_guarantees.update(&self.lp, role, quota.guarantees.iter().map(|(n, s)| (n, s.value)));
        self.quota_limits.update(&self.lp, role, quota.limits.iter().map(|(n, s)| (n, s.value)));
        for name in self.quota_offered_or_allocated.remove(role).unwrap_or_default() {
            self.lp.metrics().remove(&name);
        }
        if quota.is_default() {
            return;
        }
        let names: std::collections::BTreeSet<&str> =
            quota.guarantees.iter().map(|(n, _)| n).chain(quota.limits.iter().map(|(n, _)| n)).collect();
        let mut registered = Vec::new();
        for resource in names {
            let name = quota_metric(role, resource, "offered_or_allocated");
            let (role, resource) = (role.to_owned(), resource.to_owned());
            pull_into_allocator(&self.lp, &self.pid, &name, move |p| p.quota_offered_or_allocated(&role, &resource));
            registered.push(name);
        }
        self.quota_offered_or_allocated.insert(role.to_owned(), registered);
    }

    /// The role entered the role sorter: publish its dominant share.
    pub(crate) fn add_dominant_share(&mut self, role: &str) {
        if self.dominant_shares.insert(role.to_owned()) {
            let client = role.to_owned();
            pull_into_allocator(&self.lp, &self.pid, &dominant_share_metric(role), move |p| p.dominant_share(&client));
        }
    }

    /// The role left the role sorter.
    pub(crate) fn remove_dominant_share(&mut self, role: &str) {
        if self.dominant_shares.remove(role) {
            self.lp.metrics().remove(&dominant_share_metric(role));
        }
    }
}

impl Drop for Metrics {
    /// Removes every metric registered here (C++ `Metrics::~Metrics`).
    fn drop(&mut self) {
        let registry = self.lp.metrics();
        for name in self.fixed.drain(..) {
            registry.remove(&name);
        }
        self.quota_guarantees.remove_all(&self.lp);
        self.quota_limits.remove_all(&self.lp);
        for (_, names) in self.quota_offered_or_allocated.drain() {
            for name in names {
                registry.remove(&name);
            }
        }
        for role in self.dominant_shares.drain() {
            registry.remove(&dominant_share_metric(&role));
        }
    }
}

fn dominant_share_metric(role: &str) -> String {
    format!("{PREFIX}roles/{role}/shares/dominant")
}

fn offer_filters_metric(role: &str) -> String {
    format!("{PREFIX}offer_filters/roles/{role}/active")
}

/// The metrics that follow the role tree (C++ `Metrics::addRole`, `removeRole`,
/// `updateConsumed`): active offer filters per role, and consumed quota per role.
pub(crate) struct RoleMetrics {
    lp: Libprocess,
    pid: PID<HierarchicalAllocatorProcess>,
    consumed: QuotaGauges,
    offer_filters: HashSet<String>,
}

impl RoleMetrics {
    pub(crate) fn new(lp: &Libprocess, pid: &PID<HierarchicalAllocatorProcess>) -> RoleMetrics {
        RoleMetrics {
            lp: lp.clone(),
            pid: pid.clone(),
            consumed: QuotaGauges::new("consumed"),
            offer_filters: HashSet::new(),
        }
    }
}

impl RoleObserver for RoleMetrics {
    fn role_added(&mut self, role: &str) {
        if self.offer_filters.insert(role.to_owned()) {
            let client = role.to_owned();
            pull_into_allocator(&self.lp, &self.pid, &offer_filters_metric(role), move |p| {
                p.offer_filters_active(&client)
            });
        }
    }

    fn role_removed(&mut self, role: &str) {
        if self.offer_filters.remove(role) {
            self.lp.metrics().remove(&offer_filters_metric(role));
        }
        self.consumed.update(&self.lp, role, std::iter::empty());
    }

    fn consumed_changed(&mut self, role: &str, consumed: &ResourceQuantities) {
        self.consumed.update(&self.lp, role, consumed.iter().map(|(n, s)| (n, s.value)));
    }
}

impl Drop for RoleMetrics {
    fn drop(&mut self) {
        for role in self.offer_filters.drain() {
            self.lp.metrics().remove(&offer_filters_metric(&role));
        }
        self.consumed.remove_all(&self.lp);
    }
}
