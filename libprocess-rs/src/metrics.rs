//! The metrics registry (counters, gauges, timers) and the `metrics` process serving `/metrics/snapshot`; mirrors `3rdparty/libprocess/include/process/metrics/*.hpp` and `src/metrics/metrics.cpp`.

use std::collections::{BTreeMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use parking_lot::{Mutex, RwLock};

use crate::clock::{Clock, Time};
use crate::config::RateLimit;
use crate::future::{Future, Promise};
use crate::http::{Request, Response};
use crate::process::{Context, Process};

/// A counter (`metrics::Counter`): starts at 0, goes up by `increment`, can be reset.
#[derive(Clone, Debug, Default)]
pub struct Counter(Arc<AtomicU64>);

impl Counter {
    pub fn increment(&self) {
        self.0.fetch_add(1, Ordering::Relaxed);
    }

    pub fn add(&self, n: u64) {
        self.0.fetch_add(n, Ordering::Relaxed);
    }

    pub fn reset(&self) {
        self.0.store(0, Ordering::Relaxed);
    }

    pub fn value(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

/// A gauge whose value is pushed (`metrics::PushGauge`).
#[derive(Clone, Debug, Default)]
pub struct PushGauge(Arc<AtomicU64>);

impl PushGauge {
    pub fn set(&self, value: f64) {
        self.0.store(value.to_bits(), Ordering::Relaxed);
    }

    pub fn value(&self) -> f64 {
        f64::from_bits(self.0.load(Ordering::Relaxed))
    }
}

type PullFn = Arc<dyn Fn() -> Future<f64> + Send + Sync>;

/// The percentiles a windowed timer reports (`process::Statistics`).
const PERCENTILES: [(&str, f64); 6] =
    [("p50", 0.5), ("p90", 0.9), ("p95", 0.95), ("p99", 0.99), ("p999", 0.999), ("p9999", 0.9999)];

struct TimerState {
    last: Option<f64>,
    samples: VecDeque<(Time, f64)>,
}

/// A duration metric in milliseconds (`metrics::Timer<Milliseconds>`). Its own value is the
/// last recorded duration; with a window it also reports `/count`, `/min`, `/max` and the
/// percentiles over the samples in that window.
#[derive(Clone)]
pub struct Timer {
    clock: Clock,
    window: Option<Duration>,
    state: Arc<Mutex<TimerState>>,
}

impl Timer {
    pub fn record(&self, d: Duration) {
        let now = self.clock.now();
        let ms = d.as_secs_f64() * 1000.0;
        let mut state = self.state.lock();
        state.last = Some(ms);
        if let Some(window) = self.window {
            state.samples.push_back((now, ms));
            while state.samples.front().is_some_and(|(t, _)| now.saturating_since(*t) > window) {
                state.samples.pop_front();
            }
        }
    }

    fn values(&self, name: &str, out: &mut BTreeMap<String, f64>) {
        let state = self.state.lock();
        if let Some(last) = state.last {
            out.insert(name.to_string(), last);
        }
        if self.window.is_some() && !state.samples.is_empty() {
            let mut values: Vec<f64> = state.samples.iter().map(|(_, v)| *v).collect();
            values.sort_by(|a, b| a.total_cmp(b));
            out.insert(format!("{name}/count"), values.len() as f64);
            out.insert(format!("{name}/min"), values[0]);
            out.insert(format!("{name}/max"), values[values.len() - 1]);
            for (label, q) in PERCENTILES {
                out.insert(format!("{name}/{label}"), percentile(&values, q));
            }
        }
    }
}

/// Linear interpolation between the closest ranks, as `process::Statistics` does.
fn percentile(sorted: &[f64], q: f64) -> f64 {
    if sorted.len() == 1 {
        return sorted[0];
    }
    let position = q * (sorted.len() - 1) as f64;
    let lower = position.floor() as usize;
    let upper = position.ceil() as usize;
    let fraction = position - lower as f64;
    sorted[lower] + (sorted[upper] - sorted[lower]) * fraction
}

#[derive(Clone)]
enum Metric {
    Counter(Counter),
    Push(PushGauge),
    Pull(PullFn),
    Timer(Timer),
}

/// The metrics of one instance, by name.
pub struct Metrics {
    metrics: RwLock<BTreeMap<String, Metric>>,
    clock: Clock,
}

impl Metrics {
    pub(crate) fn new(clock: Clock) -> Metrics {
        Metrics { metrics: RwLock::new(BTreeMap::new()), clock }
    }

    /// Registers (or returns the existing) counter `name`.
    pub fn counter(&self, name: &str) -> Counter {
        let mut metrics = self.metrics.write();
        match metrics.get(name) {
            Some(Metric::Counter(c)) => c.clone(),
            _ => {
                let counter = Counter::default();
                metrics.insert(name.to_string(), Metric::Counter(counter.clone()));
                counter
            }
        }
    }

    /// Registers a pushed gauge `name`.
    pub fn push_gauge(&self, name: &str) -> PushGauge {
        let gauge = PushGauge::default();
        self.metrics.write().insert(name.to_string(), Metric::Push(gauge.clone()));
        gauge
    }

    /// Registers a gauge whose value `f` computes on each snapshot; `f` may dispatch into a
    /// process and return its future (`metrics::PullGauge`). A failed future omits the
    /// metric from the snapshot.
    pub fn pull_gauge(&self, name: &str, f: impl Fn() -> Future<f64> + Send + Sync + 'static) {
        self.metrics.write().insert(name.to_string(), Metric::Pull(Arc::new(f)));
    }

    /// Registers a timer `name` (give the full name, e.g. `allocator/mesos/allocation_run_ms`)
    /// with an optional statistics window.
    pub fn timer(&self, name: &str, window: Option<Duration>) -> Timer {
        let timer = Timer {
            clock: self.clock.clone(),
            window,
            state: Arc::new(Mutex::new(TimerState { last: None, samples: VecDeque::new() })),
        };
        self.metrics.write().insert(name.to_string(), Metric::Timer(timer.clone()));
        timer
    }

    /// Removes metric `name`.
    pub fn remove(&self, name: &str) -> bool {
        self.metrics.write().remove(name).is_some()
    }

    /// Takes a snapshot: every metric's value, waiting for pulled gauges at most `timeout`
    /// (those still pending are left out, like failed ones).
    pub async fn snapshot(&self, timeout: Option<Duration>) -> BTreeMap<String, f64> {
        let metrics: Vec<(String, Metric)> = self.metrics.read().iter().map(|(k, v)| (k.clone(), v.clone())).collect();
        let mut out = BTreeMap::new();
        let mut pulls = Vec::new();
        for (name, metric) in metrics {
            match metric {
                Metric::Counter(c) => {
                    out.insert(name, c.value() as f64);
                }
                Metric::Push(g) => {
                    out.insert(name, g.value());
                }
                Metric::Timer(t) => t.values(&name, &mut out),
                Metric::Pull(f) => pulls.push((name, f())),
            }
        }
        let collect = async {
            let mut values = Vec::new();
            for (name, future) in pulls {
                if let Ok(value) = future.await {
                    values.push((name, value));
                }
            }
            values
        };
        // A timeout drops pending gauges; collect finished ones by polling each in turn is
        // simpler than racing them, and a slow gauge delays only this request.
        let values = match timeout {
            Some(t) => tokio::time::timeout(t, collect).await.unwrap_or_default(),
            None => collect.await,
        };
        out.extend(values);
        out
    }
}

/// Writes a snapshot as libprocess does: a JSON object with sorted keys whose values are
/// always doubles (`8.0`), `NaN`/`Infinity` spelled as rapidjson spells them.
pub fn snapshot_json(values: &BTreeMap<String, f64>) -> String {
    let mut out = String::with_capacity(values.len() * 48 + 2);
    out.push('{');
    for (i, (name, value)) in values.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(&serde_json::Value::String(name.clone()).to_string());
        out.push(':');
        if value.is_nan() {
            out.push_str("NaN");
        } else if value.is_infinite() {
            out.push_str(if *value > 0.0 { "Infinity" } else { "-Infinity" });
        } else {
            out.push_str(&format!("{value:?}"));
        }
    }
    out.push('}');
    out
}

/// Grants up to `permits` requests per `duration`, delaying the rest on the instance clock
/// (`process::RateLimiter`).
struct RateLimiter {
    limit: RateLimit,
    grants: VecDeque<Time>,
}

impl RateLimiter {
    /// When the next request may proceed.
    fn acquire(&mut self, now: Time) -> Time {
        let at = if (self.grants.len() as u64) < self.limit.permits {
            now
        } else {
            let oldest = self.grants.front().copied().unwrap_or(now);
            std::cmp::max(now, oldest + self.limit.duration)
        };
        self.grants.push_back(at);
        while self.grants.len() as u64 > self.limit.permits {
            self.grants.pop_front();
        }
        at
    }
}

/// The `metrics` process: `GET /metrics/snapshot[?timeout=5secs][&jsonp=cb]`.
pub(crate) struct MetricsProcess {
    limiter: Option<RateLimiter>,
}

impl MetricsProcess {
    pub(crate) fn new(limit: Option<RateLimit>) -> MetricsProcess {
        MetricsProcess { limiter: limit.map(|limit| RateLimiter { limit, grants: VecDeque::new() }) }
    }

    fn snapshot(&mut self, ctx: &mut Context<Self>, request: Request) -> Future<Response> {
        let timeout = match request.url.query.get("timeout") {
            Some(text) => match crate::duration::parse(text) {
                Ok(d) => Some(d),
                Err(e) => return Future::ready(Response::bad_request(format!("Invalid timeout '{text}': {e}"))),
            },
            None => None,
        };
        let jsonp = request.url.query.get("jsonp").cloned();
        let promise = Promise::new();
        let future = promise.future();
        let lp = ctx.libprocess().clone();
        let respond = move || {
            let lp2 = lp.clone();
            lp.spawn_task(async move {
                let values = lp2.metrics().snapshot(timeout).await;
                promise.set(Response::json_text(snapshot_json(&values), jsonp.as_deref()));
            });
        };
        match &mut self.limiter {
            None => respond(),
            Some(limiter) => {
                let now = ctx.now();
                let at = limiter.acquire(now);
                if at <= now {
                    respond();
                } else {
                    ctx.clock().timer(at.saturating_since(now), respond);
                }
            }
        }
        future
    }
}

impl Process for MetricsProcess {
    fn initialize(&mut self, ctx: &mut Context<Self>) {
        ctx.route(
            "/snapshot",
            "Provides a snapshot of the current metrics, as a JSON object of name to value. \
             Query parameters: `timeout` (e.g. `5secs`) to leave out metrics not ready in time; \
             `jsonp` for a JSONP callback.",
            Self::snapshot,
        );
    }
}

/// Registers `system/*` metrics read from `/proc` (libprocess `System` process).
pub(crate) fn register_system(metrics: &Metrics) {
    let load = |index: usize| {
        move || {
            Future::from_outcome(
                read_loadavg()
                    .and_then(|l| l.get(index).copied())
                    .ok_or_else(|| crate::future::Failure::failed("no loadavg")),
            )
        }
    };
    metrics.pull_gauge("system/load_1min", load(0));
    metrics.pull_gauge("system/load_5min", load(1));
    metrics.pull_gauge("system/load_15min", load(2));
    metrics.pull_gauge("system/cpus_total", || Future::ready(cpus_total() as f64));
    metrics.pull_gauge("system/mem_total_bytes", || {
        Future::from_outcome(read_meminfo("MemTotal:").ok_or_else(|| crate::future::Failure::failed("no meminfo")))
    });
    metrics.pull_gauge("system/mem_free_bytes", || {
        Future::from_outcome(read_meminfo("MemFree:").ok_or_else(|| crate::future::Failure::failed("no meminfo")))
    });
}

pub(crate) fn read_loadavg() -> Option<Vec<f64>> {
    let text = std::fs::read_to_string("/proc/loadavg").ok()?;
    let values: Vec<f64> = text.split_whitespace().take(3).filter_map(|v| v.parse().ok()).collect();
    (values.len() == 3).then_some(values)
}

pub(crate) fn read_meminfo(key: &str) -> Option<f64> {
    let text = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = text.lines().find(|l| l.starts_with(key))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024.0)
}

pub(crate) fn cpus_total() -> usize {
    // SAFETY: sysconf has no memory-safety preconditions.
    let n = unsafe { libc::sysconf(libc::_SC_NPROCESSORS_ONLN) };
    if n > 0 {
        n as usize
    } else {
        1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_values_are_doubles_and_sorted() {
        let mut values = BTreeMap::new();
        values.insert("b".to_string(), 8.0);
        values.insert("a".to_string(), 0.25);
        values.insert("c".to_string(), f64::NAN);
        assert_eq!(snapshot_json(&values), r#"{"a":0.25,"b":8.0,"c":NaN}"#);
    }

    #[test]
    fn percentiles_interpolate() {
        let v = [1.0, 2.0, 3.0, 4.0, 5.0];
        assert_eq!(percentile(&v, 0.5), 3.0);
        assert_eq!(percentile(&v, 0.9), 4.6);
        assert_eq!(percentile(&[7.0], 0.99), 7.0);
    }

    #[test]
    fn limiter_delays_past_the_budget() {
        let mut limiter =
            RateLimiter { limit: RateLimit { permits: 2, duration: Duration::from_secs(1) }, grants: VecDeque::new() };
        let t0 = Time(Duration::from_secs(100));
        assert_eq!(limiter.acquire(t0), t0);
        assert_eq!(limiter.acquire(t0), t0);
        assert_eq!(limiter.acquire(t0), t0 + Duration::from_secs(1));
        assert_eq!(limiter.acquire(t0), t0 + Duration::from_secs(1));
        assert_eq!(limiter.acquire(t0), t0 + Duration::from_secs(2));
    }
}
