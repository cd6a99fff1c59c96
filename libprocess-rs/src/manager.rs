//! The process table and per-process mailboxes; mirrors `ProcessManager` in `3rdparty/libprocess/src/process.cpp`.
//!
//! Mailboxes are unbounded, as in libprocess: a sender never blocks or fails, so an actor
//! cannot deadlock on a full peer. Back-pressure, where needed, is the protocol's business
//! (the Mesos agent's status-update retries, the scheduler's offer flow). A mailbox is a
//! mutex-guarded `VecDeque` that the process drains a whole batch at a time, which keeps
//! the per-message cost to one short lock on each side and lets `/__processes__` list
//! what is queued.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context as TaskContext, Poll, Waker};

use parking_lot::{Mutex, RwLock};
use rustc_hash::FxHashMap;

use crate::clock::Work;
use crate::future::{Future, Promise};
use crate::message::Event;
use crate::pid::UPID;

struct Mailbox {
    queue: VecDeque<Event>,
    waker: Option<Waker>,
    /// Set once the process has finished; later events are dropped.
    closed: bool,
    /// Promises of `wait()` callers.
    waiters: Vec<Promise<()>>,
}

/// The runtime side of one spawned process, shared by every handle to it.
pub(crate) struct ProcessCell {
    pub(crate) pid: UPID,
    mailbox: Mutex<Mailbox>,
    /// Set by `terminate(inject = true)`: everything queued before the terminate is dropped.
    pub(crate) terminating: AtomicBool,
    work: Arc<Work>,
}

impl ProcessCell {
    pub(crate) fn new(pid: UPID, work: Arc<Work>) -> ProcessCell {
        ProcessCell {
            pid,
            mailbox: Mutex::new(Mailbox { queue: VecDeque::new(), waker: None, closed: false, waiters: Vec::new() }),
            terminating: AtomicBool::new(false),
            work,
        }
    }

    /// Queues `event`; false (and the event dropped, which discards its promises) when
    /// the process is gone.
    pub(crate) fn enqueue(&self, event: Event) -> bool {
        self.push(event, false)
    }

    /// Queues `event` ahead of everything else (a terminate with `inject = true`).
    pub(crate) fn enqueue_front(&self, event: Event) -> bool {
        self.push(event, true)
    }

    fn push(&self, event: Event, front: bool) -> bool {
        match self.try_push(event, front) {
            Ok(()) => true,
            Err(event) => {
                drop(event);
                false
            }
        }
    }

    /// Queues `event`, or gives it back when the process is gone.
    #[allow(clippy::result_large_err)]
    pub(crate) fn try_enqueue(&self, event: Event) -> Result<(), Event> {
        self.try_push(event, false)
    }

    #[allow(clippy::result_large_err)]
    fn try_push(&self, event: Event, front: bool) -> Result<(), Event> {
        let mut mailbox = self.mailbox.lock();
        if mailbox.closed {
            return Err(event);
        }
        // Counted before it becomes visible, so `settle` cannot see a gap.
        self.work.add(1);
        if front {
            mailbox.queue.push_front(event);
        } else {
            mailbox.queue.push_back(event);
        }
        let waker = mailbox.waker.take();
        drop(mailbox);
        if let Some(waker) = waker {
            waker.wake();
        }
        Ok(())
    }

    /// Moves every queued event into `batch`, or registers the waker when there is none.
    pub(crate) fn poll_take(&self, cx: &mut TaskContext<'_>, batch: &mut VecDeque<Event>) -> Poll<()> {
        let mut mailbox = self.mailbox.lock();
        if mailbox.queue.is_empty() {
            match &mailbox.waker {
                Some(w) if w.will_wake(cx.waker()) => {}
                _ => mailbox.waker = Some(cx.waker().clone()),
            }
            return Poll::Pending;
        }
        std::mem::swap(&mut mailbox.queue, batch);
        Poll::Ready(())
    }

    /// Closes the mailbox and returns what was still queued; wakes `wait()` callers.
    pub(crate) fn close(&self) -> VecDeque<Event> {
        let mut mailbox = self.mailbox.lock();
        mailbox.closed = true;
        let rest = std::mem::take(&mut mailbox.queue);
        let waiters = std::mem::take(&mut mailbox.waiters);
        drop(mailbox);
        for waiter in waiters {
            waiter.set(());
        }
        rest
    }

    pub(crate) fn is_closed(&self) -> bool {
        self.mailbox.lock().closed
    }

    /// A future that completes once the process has terminated.
    pub(crate) fn wait(&self) -> Future<()> {
        let mut mailbox = self.mailbox.lock();
        if mailbox.closed {
            return Future::ready(());
        }
        let promise = Promise::new();
        let future = promise.future();
        mailbox.waiters.push(promise);
        future
    }

    /// The queued events as `/__processes__` shows them.
    pub(crate) fn events_json(&self) -> Vec<serde_json::Value> {
        self.mailbox.lock().queue.iter().map(Event::to_json).collect()
    }

    pub(crate) fn work(&self) -> &Work {
        &self.work
    }

    pub(crate) fn is_terminating(&self) -> bool {
        self.terminating.load(Ordering::Acquire)
    }
}

/// The live processes of an instance, by id.
///
/// Every local send looks its target up here, so the table is split into shards by id
/// hash: senders to different processes do not share a lock.
pub(crate) struct ProcessTable {
    shards: Box<[Shard]>,
}

const TABLE_SHARDS: usize = 64;

type Shard = RwLock<FxHashMap<Arc<str>, Arc<ProcessCell>>>;

impl Default for ProcessTable {
    fn default() -> ProcessTable {
        ProcessTable { shards: (0..TABLE_SHARDS).map(|_| RwLock::new(FxHashMap::default())).collect() }
    }
}

impl ProcessTable {
    fn shard(&self, id: &str) -> &Shard {
        let mut hasher = rustc_hash::FxHasher::default();
        std::hash::Hash::hash(id, &mut hasher);
        let hash = std::hash::Hasher::finish(&hasher);
        &self.shards[(hash >> 32) as usize % TABLE_SHARDS]
    }

    /// Registers `cell`; fails when a live process already has its id.
    pub(crate) fn insert(&self, cell: Arc<ProcessCell>) -> bool {
        let mut processes = self.shard(&cell.pid.id).write();
        if processes.contains_key(&cell.pid.id) {
            return false;
        }
        processes.insert(cell.pid.id.clone(), cell);
        true
    }

    pub(crate) fn remove(&self, cell: &Arc<ProcessCell>) {
        let mut processes = self.shard(&cell.pid.id).write();
        if processes.get(&cell.pid.id).is_some_and(|c| Arc::ptr_eq(c, cell)) {
            processes.remove(&cell.pid.id);
        }
    }

    /// Runs `f` on process `id` without taking a reference to it (a local send's path).
    pub(crate) fn with<R>(&self, id: &str, f: impl FnOnce(&ProcessCell) -> R) -> Option<R> {
        self.shard(id).read().get(id).map(|cell| f(cell))
    }

    pub(crate) fn get(&self, id: &str) -> Option<Arc<ProcessCell>> {
        self.shard(id).read().get(id).cloned()
    }

    pub(crate) fn all(&self) -> Vec<Arc<ProcessCell>> {
        let mut cells: Vec<_> =
            self.shards.iter().flat_map(|shard| shard.read().values().cloned().collect::<Vec<_>>()).collect();
        cells.sort_by(|a, b| a.pid.id.cmp(&b.pid.id));
        cells
    }
}
