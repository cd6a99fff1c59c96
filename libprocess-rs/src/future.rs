//! One-shot futures and promises whose callbacks run synchronously on completion; mirrors `3rdparty/libprocess/include/process/future.hpp`.
//!
//! libprocess continuations (`.then(defer(self, ...))`) are enqueued on the target process
//! *while* the completing process still runs its handler. That is what lets `Clock::settle`
//! see every piece of pending work. A plain `tokio::sync::oneshot` would need a task to hop
//! through, leaving a window in which nothing is counted, so we keep our own type.
//!
//! Unlike C++ futures (shared, copyable), a [`Future`] has exactly one consumer: either a
//! registered callback or an `.await`. That keeps values move-only and needs no `Clone`.

use std::fmt;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context as TaskContext, Poll, Waker};

use parking_lot::Mutex;

/// Why a future holds no value.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Failure {
    /// The computation failed with a message (C++ `Failure`).
    #[error("{0}")]
    Failed(String),
    /// The promise was dropped unfulfilled, e.g. because the process that was to complete it
    /// terminated first (C++ "discarded"/"abandoned").
    #[error("discarded")]
    Discarded,
}

impl Failure {
    pub fn failed(message: impl Into<String>) -> Failure {
        Failure::Failed(message.into())
    }
}

/// The result a future completes with.
pub type Outcome<T> = Result<T, Failure>;

type Callback<T> = Box<dyn FnOnce(Outcome<T>) + Send>;

enum State<T> {
    Pending { callback: Option<Callback<T>>, waker: Option<Waker> },
    Ready(Outcome<T>),
    Consumed,
}

struct Shared<T> {
    state: Mutex<State<T>>,
}

/// A value that becomes available later, completed through its [`Promise`].
///
/// Use [`Future::on_any`] (or the combinators built on it) to run code at completion, or
/// `.await` it from async code; `.await` gives an [`Outcome`].
#[must_use = "a Future does nothing unless a callback is registered or it is awaited"]
pub struct Future<T> {
    shared: Arc<Shared<T>>,
}

/// The write side of a [`Future`]. Dropping it unfulfilled completes the future with
/// [`Failure::Discarded`].
pub struct Promise<T> {
    shared: Option<Arc<Shared<T>>>,
}

impl<T: Send + 'static> Promise<T> {
    pub fn new() -> Promise<T> {
        Promise { shared: Some(Arc::new(Shared { state: Mutex::new(State::Pending { callback: None, waker: None }) })) }
    }

    /// The future this promise completes. Call at most once.
    pub fn future(&self) -> Future<T> {
        Future { shared: self.shared.clone().expect("promise already completed") }
    }

    /// Completes the future with a value.
    pub fn set(mut self, value: T) {
        self.complete(Ok(value));
    }

    /// Completes the future with a failure.
    pub fn fail(mut self, message: impl Into<String>) {
        self.complete(Err(Failure::Failed(message.into())));
    }

    /// Completes the future with `outcome`.
    pub fn complete_with(mut self, outcome: Outcome<T>) {
        self.complete(outcome);
    }

    /// Completes this promise when `future` completes (C++ `Promise::associate`).
    pub fn associate(self, future: Future<T>) {
        future.on_any(move |outcome| self.complete_with(outcome));
    }

    fn complete(&mut self, outcome: Outcome<T>) {
        let Some(shared) = self.shared.take() else { return };
        let mut state = shared.state.lock();
        match std::mem::replace(&mut *state, State::Consumed) {
            State::Pending { callback: Some(callback), .. } => {
                drop(state);
                callback(outcome);
            }
            State::Pending { callback: None, waker } => {
                *state = State::Ready(outcome);
                drop(state);
                if let Some(waker) = waker {
                    waker.wake();
                }
            }
            other => *state = other,
        }
    }
}

impl<T: Send + 'static> Default for Promise<T> {
    fn default() -> Promise<T> {
        Promise::new()
    }
}

impl<T> Drop for Promise<T> {
    fn drop(&mut self) {
        let Some(shared) = self.shared.take() else { return };
        let mut state = shared.state.lock();
        match std::mem::replace(&mut *state, State::Consumed) {
            State::Pending { callback: Some(callback), .. } => {
                drop(state);
                callback(Err(Failure::Discarded));
            }
            State::Pending { callback: None, waker } => {
                *state = State::Ready(Err(Failure::Discarded));
                drop(state);
                if let Some(waker) = waker {
                    waker.wake();
                }
            }
            other => *state = other,
        }
    }
}

impl<T: Send + 'static> Future<T> {
    /// A future that is already completed with `value`.
    pub fn ready(value: T) -> Future<T> {
        Future { shared: Arc::new(Shared { state: Mutex::new(State::Ready(Ok(value))) }) }
    }

    /// A future that is already failed.
    pub fn failed(message: impl Into<String>) -> Future<T> {
        Future { shared: Arc::new(Shared { state: Mutex::new(State::Ready(Err(Failure::Failed(message.into())))) }) }
    }

    /// A future that is already completed with `outcome`.
    pub fn from_outcome(outcome: Outcome<T>) -> Future<T> {
        Future { shared: Arc::new(Shared { state: Mutex::new(State::Ready(outcome)) }) }
    }

    /// Whether the future has completed (and not yet been consumed).
    pub fn is_ready(&self) -> bool {
        matches!(&*self.shared.state.lock(), State::Ready(_))
    }

    /// Takes the outcome if the future has completed.
    pub fn try_take(&self) -> Option<Outcome<T>> {
        let mut state = self.shared.state.lock();
        match std::mem::replace(&mut *state, State::Consumed) {
            State::Ready(outcome) => Some(outcome),
            other => {
                *state = other;
                None
            }
        }
    }

    /// Runs `f` with the outcome: right now if the future has completed, otherwise on the
    /// thread that completes it, before `Promise::set` returns.
    pub fn on_any(self, f: impl FnOnce(Outcome<T>) + Send + 'static) {
        let mut state = self.shared.state.lock();
        match std::mem::replace(&mut *state, State::Consumed) {
            State::Pending { .. } => {
                *state = State::Pending { callback: Some(Box::new(f)), waker: None };
            }
            State::Ready(outcome) => {
                drop(state);
                f(outcome);
            }
            State::Consumed => {}
        }
    }

    /// A future of `f` applied to the value; failures pass through.
    pub fn map<U: Send + 'static>(self, f: impl FnOnce(T) -> U + Send + 'static) -> Future<U> {
        let promise = Promise::new();
        let future = promise.future();
        self.on_any(move |outcome| promise.complete_with(outcome.map(f)));
        future
    }

    /// A future of the future `f` returns for the value (C++ `.then` with a future result).
    pub fn then<U: Send + 'static>(self, f: impl FnOnce(T) -> Future<U> + Send + 'static) -> Future<U> {
        let promise = Promise::new();
        let future = promise.future();
        self.on_any(move |outcome| match outcome {
            Ok(value) => promise.associate(f(value)),
            Err(failure) => promise.complete_with(Err(failure)),
        });
        future
    }
}

impl<T> std::future::Future for Future<T> {
    type Output = Outcome<T>;

    fn poll(self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<Outcome<T>> {
        let mut state = self.shared.state.lock();
        match std::mem::replace(&mut *state, State::Consumed) {
            State::Ready(outcome) => Poll::Ready(outcome),
            State::Pending { callback, waker } => {
                let waker = match waker {
                    Some(w) if w.will_wake(cx.waker()) => w,
                    _ => cx.waker().clone(),
                };
                *state = State::Pending { callback, waker: Some(waker) };
                Poll::Pending
            }
            State::Consumed => Poll::Ready(Err(Failure::Discarded)),
        }
    }
}

impl<T> fmt::Debug for Future<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = match &*self.shared.state.lock() {
            State::Pending { .. } => "pending",
            State::Ready(Ok(_)) => "ready",
            State::Ready(Err(_)) => "failed",
            State::Consumed => "consumed",
        };
        write!(f, "Future({state})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[test]
    fn callback_runs_synchronously_on_set() {
        let promise = Promise::new();
        let seen = Arc::new(AtomicUsize::new(0));
        let s = seen.clone();
        promise.future().on_any(move |v: Outcome<usize>| s.store(v.unwrap(), Ordering::SeqCst));
        assert_eq!(seen.load(Ordering::SeqCst), 0);
        promise.set(7);
        assert_eq!(seen.load(Ordering::SeqCst), 7);
    }

    #[test]
    fn dropped_promise_discards() {
        let promise: Promise<u8> = Promise::new();
        let future = promise.future();
        drop(promise);
        assert_eq!(future.try_take(), Some(Err(Failure::Discarded)));
    }

    #[test]
    fn map_and_then_chain() {
        let promise = Promise::new();
        let future = promise.future().map(|x: i32| x + 1).then(|x| Future::ready(x * 2));
        promise.set(1);
        assert_eq!(future.try_take(), Some(Ok(4)));
        let failed = Future::<i32>::failed("boom").map(|x| x + 1);
        assert_eq!(failed.try_take(), Some(Err(Failure::Failed("boom".into()))));
    }

    #[tokio::test]
    async fn await_from_another_task() {
        let promise = Promise::new();
        let future = promise.future();
        tokio::spawn(async move { promise.set("done") });
        assert_eq!(future.await, Ok("done"));
    }
}
