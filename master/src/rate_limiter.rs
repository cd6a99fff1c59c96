//! A rate limiter on the libprocess clock that callers take turns through (`--agent_removal_rate_limit`); mirrors `RateLimiter` in `3rdparty/libprocess/include/process/limiter.hpp`.
//!
//! It belongs in `libprocess` (it knows nothing about Mesos); it lives here until that crate
//! grows one. The master shares one limiter between every `slave-observer(N)` and its own
//! reregistration timeouts, behind the [`Limiter`] trait so tests can hand out permits by hand
//! (upstream's `MockRateLimiter`).

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::Duration;

use libprocess::{Clock, Future, Promise, Time};

/// Hands out permits, one at a time, in the order they were asked for.
pub trait Limiter: Send + Sync {
    /// Asks for a permit: the future completes with `Ok(())` once it is granted, or with
    /// `Failure::Discarded` if the request was cancelled before that (C++
    /// `RateLimiter::acquire` and discarding its future).
    fn acquire(&self) -> (Future<()>, CancelAcquire);
}

/// Withdraws a request for a permit (C++ `Future::discard` on the acquired future). A
/// request already granted is not affected; only the first call does anything.
#[must_use = "dropping it keeps the request; call `cancel` to withdraw it"]
pub struct CancelAcquire(Option<Box<dyn FnOnce() + Send>>);

impl CancelAcquire {
    /// Cancels through `f`.
    pub fn new(f: impl FnOnce() + Send + 'static) -> CancelAcquire {
        CancelAcquire(Some(Box::new(f)))
    }

    /// For a permit granted at once: there is nothing to withdraw.
    pub fn none() -> CancelAcquire {
        CancelAcquire(None)
    }

    /// Withdraws the request; later calls do nothing.
    pub fn cancel(&mut self) {
        if let Some(f) = self.0.take() {
            f();
        }
    }
}

impl std::fmt::Debug for CancelAcquire {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.0.is_some() { "CancelAcquire(pending)" } else { "CancelAcquire(spent)" })
    }
}

/// A limiter that cannot be built.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RateLimiterError {
    /// C++ `CHECK_GT(permits, 0)`.
    #[error("a rate limit needs at least one permit")]
    NoPermits,
    /// C++ `CHECK_GT(duration.secs(), 0)`.
    #[error("a rate limit needs a positive duration")]
    ZeroDuration,
}

/// `permits` per `duration`, spaced evenly: a permit is granted at once if none was granted in
/// the last `duration / permits` and nobody waits; otherwise the request queues. Cheap to
/// clone; clones share the queue.
#[derive(Clone)]
pub struct RateLimiter {
    shared: Arc<Shared>,
}

struct Shared {
    clock: Clock,
    /// C++ `Seconds(1) / permitsPerSecond`, computed without going through a float.
    interval: Duration,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    /// When the next permit may be granted (C++ `timeout`); `None` before the first one.
    next: Option<Time>,
    /// Requests in order. A cancelled request stays as `None` until the timer reaches it,
    /// as C++ keeps discarded promises queued until `_acquire` pops them.
    queue: VecDeque<(u64, Option<Promise<()>>)>,
    next_id: u64,
}

impl RateLimiter {
    /// `permits` per `duration` on `clock` (C++ `RateLimiter(int permits, const Duration&)`).
    pub fn new(clock: Clock, permits: u32, duration: Duration) -> Result<RateLimiter, RateLimiterError> {
        if permits == 0 {
            return Err(RateLimiterError::NoPermits);
        }
        if duration.is_zero() {
            return Err(RateLimiterError::ZeroDuration);
        }
        Ok(RateLimiter {
            shared: Arc::new(Shared { clock, interval: duration / permits, state: Mutex::new(State::default()) }),
        })
    }

    /// The spacing between two permits.
    pub fn interval(&self) -> Duration {
        self.shared.interval
    }
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        // Nothing runs user code under this lock, so a poisoned lock still holds sound state.
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Arms the timer that grants the head of the queue. Called without the lock held: a
    /// zero-length timer on a paused clock fires inside `Clock::timer`.
    fn arm(self: &Arc<Shared>, after: Duration) {
        let weak: Weak<Shared> = Arc::downgrade(self);
        self.clock.timer(after, move || {
            if let Some(shared) = weak.upgrade() {
                shared.grant_next();
            }
        });
    }

    /// C++ `RateLimiterProcess::_acquire`: grants the first request not cancelled, then
    /// re-arms if more wait.
    fn grant_next(self: &Arc<Shared>) {
        let now = self.clock.now();
        let mut state = self.lock();
        let mut granted = None;
        while let Some((_, request)) = state.queue.pop_front() {
            if let Some(promise) = request {
                state.next = Some(now + self.interval);
                granted = Some(promise);
                break;
            }
        }
        let rearm = (!state.queue.is_empty()).then(|| state.next.map_or(Duration::ZERO, |t| t.saturating_since(now)));
        drop(state);
        if let Some(after) = rearm {
            self.arm(after);
        }
        if let Some(promise) = granted {
            promise.set(());
        }
    }

    fn cancel(&self, id: u64) {
        let promise = {
            let mut state = self.lock();
            state.queue.iter_mut().find(|(queued, _)| *queued == id).and_then(|(_, promise)| promise.take())
        };
        // Dropping the promise completes its future with `Failure::Discarded`, outside the lock.
        drop(promise);
    }
}

impl Limiter for RateLimiter {
    fn acquire(&self) -> (Future<()>, CancelAcquire) {
        let now = self.shared.clock.now();
        let mut state = self.shared.lock();
        let remaining = state.next.map_or(Duration::ZERO, |next| next.saturating_since(now));
        if state.queue.is_empty() && remaining.is_zero() {
            state.next = Some(now + self.shared.interval);
            return (Future::ready(()), CancelAcquire::none());
        }
        let id = state.next_id;
        state.next_id += 1;
        let promise = Promise::new();
        let future = promise.future();
        // Only the first in line arms the timer; the timer re-arms for those behind it.
        let first = state.queue.is_empty();
        state.queue.push_back((id, Some(promise)));
        drop(state);
        if first {
            self.shared.arm(remaining);
        }
        let weak = Arc::downgrade(&self.shared);
        let cancel = CancelAcquire::new(move || {
            if let Some(shared) = weak.upgrade() {
                shared.cancel(id);
            }
        });
        (future, cancel)
    }
}
