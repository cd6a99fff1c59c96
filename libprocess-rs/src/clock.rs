//! The libprocess clock: wall time with an offset, pause/advance/resume for tests, timers and `settle`; mirrors `3rdparty/libprocess/src/clock.cpp` and `Clock::settle` in `src/process.cpp`.
//!
//! Each [`crate::Libprocess`] instance has one clock. While it is paused, time moves only
//! through [`Clock::advance`], which fires the due timers before it returns, so that
//! `advance(d); settle().await` is deterministic.
//!
//! Difference from C++: libprocess also keeps a per-process notion of "now" while paused,
//! pushed forward along message happens-before edges. We keep one paused timeline per
//! instance; `advance(pid, d)` is therefore not offered.

use std::collections::BTreeMap;
use std::fmt;
use std::ops::{Add, Sub};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use parking_lot::Mutex;
use tokio::sync::Notify;

/// A point in time: the duration since the UNIX epoch on this instance's clock.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Time(pub Duration);

impl Time {
    pub fn since_epoch(self) -> Duration {
        self.0
    }

    /// Seconds since the epoch as a float, as libprocess's `Time::secs()`.
    pub fn secs(self) -> f64 {
        self.0.as_secs_f64()
    }

    /// The time elapsed from `earlier` to `self`, zero if `earlier` is later.
    pub fn saturating_since(self, earlier: Time) -> Duration {
        self.0.saturating_sub(earlier.0)
    }
}

impl Add<Duration> for Time {
    type Output = Time;
    fn add(self, d: Duration) -> Time {
        Time(self.0.saturating_add(d))
    }
}

impl Sub<Time> for Time {
    type Output = Duration;
    fn sub(self, other: Time) -> Duration {
        self.saturating_since(other)
    }
}

impl fmt::Display for Time {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", httpdate::fmt_http_date(UNIX_EPOCH + self.0))
    }
}

/// Counts queued-but-unfinished work of one instance: events in mailboxes plus the one
/// being handled. `settle` waits for a moment when it is zero.
///
/// Every local message touches this, so it must be nearly free. Each thread owns one
/// [`Shard`] per instance, with two monotonic counters `added` and `done`, and is its only
/// writer, so a bump is a plain load and a release store (no locked instruction, no shared
/// cache line). To decide quiescence, `settle` reads every `done` counter and *then* every
/// `added` counter (acquire loads): counts only grow, and an event's `added` happens-before
/// its `done` (through the mailbox's release/acquire hand-over), so equal sums prove an instant between the two
/// reads at which nothing was queued or running (the four-counter termination argument).
///
/// The shards are per instance, so work that another instance (or a runtime torn down
/// mid-way, as at the end of a test) left unfinished never blocks this one's `settle`.
pub(crate) struct Work {
    id: u64,
    shards: Mutex<Vec<Arc<Shard>>>,
    /// For threads whose thread-locals are already torn down (thread exit); it has many
    /// writers, so it takes atomic read-modify-writes.
    shared: Shard,
    /// How many `settle` calls wait on `finished`; while none do, finishing work costs one
    /// relaxed load more.
    settlers: AtomicUsize,
    /// Woken when work finishes while somebody settles.
    finished: Notify,
}

#[derive(Default)]
#[repr(align(128))]
struct Shard {
    added: AtomicU64,
    done: AtomicU64,
}

impl Shard {
    /// Only the owning thread calls this.
    fn bump(counter: &AtomicU64, n: u64) {
        counter.store(counter.load(Ordering::Relaxed) + n, Ordering::Release);
    }
}

thread_local! {
    /// This thread's shards, by instance id. Almost always one entry.
    static SHARDS: std::cell::RefCell<Vec<(u64, Arc<Shard>)>> = const { std::cell::RefCell::new(Vec::new()) };
}

impl Default for Work {
    fn default() -> Work {
        static NEXT_ID: AtomicU64 = AtomicU64::new(1);
        Work {
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
            shards: Mutex::new(Vec::new()),
            shared: Shard::default(),
            settlers: AtomicUsize::new(0),
            finished: Notify::new(),
        }
    }
}

impl Work {
    fn bump(&self, n: u64, pick: fn(&Shard) -> &AtomicU64) {
        let bumped = SHARDS.try_with(|shards| {
            let mut shards = shards.borrow_mut();
            if let Some((_, shard)) = shards.iter().find(|(id, _)| *id == self.id) {
                Shard::bump(pick(shard), n);
                return;
            }
            // Forget shards of instances that are gone (only this thread still holds them).
            shards.retain(|(_, shard)| Arc::strong_count(shard) > 1);
            let shard = Arc::new(Shard::default());
            Shard::bump(pick(&shard), n);
            self.shards.lock().push(shard.clone());
            shards.push((self.id, shard));
        });
        if bumped.is_err() {
            pick(&self.shared).fetch_add(n, Ordering::AcqRel);
        }
    }

    pub(crate) fn add(&self, n: u64) {
        self.bump(n, |shard| &shard.added);
    }

    pub(crate) fn done(&self, n: u64) {
        self.bump(n, |shard| &shard.done);
        if self.settlers.load(Ordering::Relaxed) > 0 {
            self.finished.notify_waiters();
        }
    }

    /// Waits until some work finishes, or `at_most` passed (a finish that races with the
    /// registration is caught by the caller's next look).
    async fn finish_or(&self, at_most: Duration) {
        let finished = self.finished.notified();
        tokio::pin!(finished);
        finished.as_mut().enable();
        self.settlers.fetch_add(1, Ordering::SeqCst);
        if !self.quiescent() {
            let _ = tokio::time::timeout(at_most, finished).await;
        }
        self.settlers.fetch_sub(1, Ordering::SeqCst);
    }

    /// Whether there was a moment, during this call, with no queued or running event.
    pub(crate) fn quiescent(&self) -> bool {
        let shards = self.shards.lock();
        let done: u64 = self.shared.done.load(Ordering::Acquire)
            + shards.iter().map(|s| s.done.load(Ordering::Acquire)).sum::<u64>();
        let added: u64 = self.shared.added.load(Ordering::Acquire)
            + shards.iter().map(|s| s.added.load(Ordering::Acquire)).sum::<u64>();
        done == added
    }
}

/// A scheduled timer; pass it to [`Clock::cancel`] to stop it from firing.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Timer {
    deadline: Time,
    seq: u64,
}

impl Timer {
    pub fn deadline(&self) -> Time {
        self.deadline
    }
}

type Thunk = Box<dyn FnOnce() + Send>;

struct State {
    /// `Some(now)` while paused.
    paused: Option<Time>,
    /// Total time advanced while paused, kept after `resume` (C++ `Clock::resume`).
    offset: Duration,
    timers: BTreeMap<(Time, u64), Thunk>,
}

struct Inner {
    start_instant: Instant,
    start_wall: Duration,
    state: Mutex<State>,
    seq: AtomicU64,
    changed: Notify,
    work: Arc<Work>,
}

/// A handle to an instance's clock. Cloning shares the clock.
#[derive(Clone)]
pub struct Clock {
    inner: Arc<Inner>,
}

impl Clock {
    pub(crate) fn new(work: Arc<Work>) -> Clock {
        let start_wall = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
        Clock {
            inner: Arc::new(Inner {
                start_instant: Instant::now(),
                start_wall,
                state: Mutex::new(State { paused: None, offset: Duration::ZERO, timers: BTreeMap::new() }),
                seq: AtomicU64::new(0),
                changed: Notify::new(),
                work,
            }),
        }
    }

    fn wall(&self, state: &State) -> Time {
        match state.paused {
            Some(now) => now,
            None => Time(self.inner.start_wall + self.inner.start_instant.elapsed() + state.offset),
        }
    }

    /// The current time.
    pub fn now(&self) -> Time {
        self.wall(&self.inner.state.lock())
    }

    pub fn paused(&self) -> bool {
        self.inner.state.lock().paused.is_some()
    }

    /// Freezes time at "now"; timers no longer fire unless time is advanced.
    pub fn pause(&self) {
        let mut state = self.inner.state.lock();
        if state.paused.is_none() {
            let now = self.wall(&state);
            state.paused = Some(now);
        }
    }

    /// Lets real time flow again; the time advanced while paused stays added.
    pub fn resume(&self) {
        let mut state = self.inner.state.lock();
        if let Some(paused_at) = state.paused.take() {
            let real = Time(self.inner.start_wall + self.inner.start_instant.elapsed() + state.offset);
            state.offset += paused_at.saturating_since(real);
        }
        drop(state);
        self.inner.changed.notify_one();
    }

    /// Moves paused time forward by `d` and fires every timer now due. No-op when running.
    pub fn advance(&self, d: Duration) {
        let mut state = self.inner.state.lock();
        if let Some(now) = state.paused {
            state.paused = Some(now + d);
            drop(state);
            self.fire_due();
        }
    }

    /// Moves paused time forward to `time` (never back) and fires due timers.
    pub fn update(&self, time: Time) {
        let mut state = self.inner.state.lock();
        if let Some(now) = state.paused {
            if time > now {
                state.paused = Some(time);
                drop(state);
                self.fire_due();
            }
        }
    }

    /// Runs `thunk` once `d` has elapsed on this clock. The thunk runs on the timer task (or
    /// inside `advance`), so it must be short: libprocess timers only dispatch.
    pub fn timer(&self, d: Duration, thunk: impl FnOnce() + Send + 'static) -> Timer {
        let mut state = self.inner.state.lock();
        let deadline = self.wall(&state) + d;
        let seq = self.inner.seq.fetch_add(1, Ordering::Relaxed);
        let earliest = state.timers.keys().next().is_none_or(|&(t, _)| deadline < t);
        state.timers.insert((deadline, seq), Box::new(thunk));
        let due_now = state.paused.is_some() && d.is_zero();
        drop(state);
        if due_now {
            self.fire_due();
        } else if earliest {
            self.inner.changed.notify_one();
        }
        Timer { deadline, seq }
    }

    /// Cancels `timer`; returns whether it had not fired yet.
    pub fn cancel(&self, timer: Timer) -> bool {
        self.inner.state.lock().timers.remove(&(timer.deadline, timer.seq)).is_some()
    }

    /// Fires every timer whose deadline has passed, in deadline order.
    fn fire_due(&self) {
        loop {
            let thunk = {
                let mut state = self.inner.state.lock();
                let now = self.wall(&state);
                match state.timers.first_key_value() {
                    Some((&(deadline, _), _)) if deadline <= now => state.timers.pop_first().map(|(_, t)| t),
                    _ => None,
                }
            };
            match thunk {
                Some(thunk) => thunk(),
                None => return,
            }
        }
    }

    /// Whether some timer is due but has not fired.
    fn timers_due(&self) -> bool {
        let state = self.inner.state.lock();
        let now = self.wall(&state);
        state.timers.first_key_value().is_some_and(|(&(deadline, _), _)| deadline <= now)
    }

    /// Waits until nothing is left to do unless time moves: no process has a queued or running
    /// event and no timer is due (`Clock::settle`). Meant for a paused clock; with a running
    /// clock it still waits for quiescence, which may never come.
    pub async fn settle(&self) {
        let mut spins = 0u32;
        loop {
            if self.timers_due() {
                self.fire_due();
                continue;
            }
            if self.inner.work.quiescent() && !self.timers_due() {
                return;
            }
            // Busy work usually finishes within a few scheduler turns; longer work wakes
            // this up when an event is done (C++ `ProcessManager::settle` spins instead).
            spins += 1;
            if spins < 64 {
                tokio::task::yield_now().await;
            } else {
                self.inner.work.finish_or(Duration::from_millis(1)).await;
            }
        }
    }

    /// Drives timers in real time until `stop` is cancelled.
    pub(crate) async fn run_timers_until(self, stop: tokio_util::sync::CancellationToken) {
        tokio::select! {
            _ = self.run_timers() => {}
            _ = stop.cancelled() => {}
        }
    }

    /// Drives timers in real time.
    pub(crate) async fn run_timers(self) {
        loop {
            let changed = self.inner.changed.notified();
            self.fire_due();
            let wait = {
                let state = self.inner.state.lock();
                match (state.paused, state.timers.first_key_value()) {
                    (None, Some((&(deadline, _), _))) => Some(deadline.saturating_since(self.wall(&state))),
                    _ => None,
                }
            };
            match wait {
                Some(d) => {
                    let _ = tokio::time::timeout(d, changed).await;
                }
                None => changed.await,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;

    #[test]
    fn paused_clock_fires_only_on_advance() {
        let clock = Clock::new(Arc::new(Work::default()));
        clock.pause();
        let t0 = clock.now();
        let fired = Arc::new(AtomicUsize::new(0));
        let f = fired.clone();
        clock.timer(Duration::from_secs(10), move || {
            f.fetch_add(1, Ordering::SeqCst);
        });
        clock.advance(Duration::from_secs(9));
        assert_eq!(fired.load(Ordering::SeqCst), 0);
        clock.advance(Duration::from_secs(1));
        assert_eq!(fired.load(Ordering::SeqCst), 1);
        assert_eq!(clock.now() - t0, Duration::from_secs(10));
    }

    #[test]
    fn cancel_prevents_firing() {
        let clock = Clock::new(Arc::new(Work::default()));
        clock.pause();
        let fired = Arc::new(AtomicUsize::new(0));
        let f = fired.clone();
        let timer = clock.timer(Duration::from_secs(1), move || {
            f.fetch_add(1, Ordering::SeqCst);
        });
        assert!(clock.cancel(timer));
        clock.advance(Duration::from_secs(2));
        assert_eq!(fired.load(Ordering::SeqCst), 0);
        assert!(!clock.cancel(timer));
    }

    #[test]
    fn resume_keeps_advanced_offset() {
        let clock = Clock::new(Arc::new(Work::default()));
        clock.pause();
        let before = clock.now();
        clock.advance(Duration::from_secs(3600));
        clock.resume();
        assert!(clock.now() - before >= Duration::from_secs(3600));
    }

    #[tokio::test]
    async fn real_timers_fire() {
        let clock = Clock::new(Arc::new(Work::default()));
        tokio::spawn(clock.clone().run_timers());
        let (tx, rx) = tokio::sync::oneshot::channel();
        clock.timer(Duration::from_millis(20), move || {
            let _ = tx.send(());
        });
        tokio::time::timeout(Duration::from_secs(5), rx).await.unwrap().unwrap();
    }
}
