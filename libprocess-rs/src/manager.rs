//! The process table and the runtime side of each process (its mailbox, terminate flag and waiters); mirrors `ProcessManager` in `3rdparty/libprocess/src/process.cpp`.
//!
//! Mailboxes are unbounded, as in libprocess: a sender never blocks or fails, so an actor
//! cannot deadlock on a full peer. Back-pressure, where needed, is the protocol's business
//! (the Mesos agent's status-update retries, the scheduler's offer flow). See `mailbox.rs`
//! for the queue itself.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context as TaskContext, Poll};

use parking_lot::{Mutex, RwLock};
use rustc_hash::FxHashMap;

use crate::clock::Work;
use crate::future::{Future, Promise};
use crate::mailbox::{Mailbox, Pop};
use crate::message::Event;
use crate::pid::UPID;

/// The runtime side of one spawned process, shared by every handle to it.
pub(crate) struct ProcessCell {
    pub(crate) pid: UPID,
    mailbox: Mailbox,
    /// Promises of `wait()` callers; also orders `wait` against `close`.
    waiters: Mutex<Vec<Promise<()>>>,
    /// Set by `terminate(inject = true)`: events are dropped until the terminate is reached.
    pub(crate) terminating: AtomicBool,
    work: Arc<Work>,
}

impl ProcessCell {
    pub(crate) fn new(pid: UPID, work: Arc<Work>) -> ProcessCell {
        ProcessCell {
            pid,
            mailbox: Mailbox::new(),
            waiters: Mutex::new(Vec::new()),
            terminating: AtomicBool::new(false),
            work,
        }
    }

    /// Queues `event`; false (and the event dropped, which discards its promises) when
    /// the process is gone.
    pub(crate) fn enqueue(&self, event: Event) -> bool {
        self.try_enqueue(event).is_ok()
    }

    /// Queues `event`, or gives it back when the process is gone.
    #[allow(clippy::result_large_err)]
    pub(crate) fn try_enqueue(&self, event: Event) -> Result<(), Event> {
        // Counted before it becomes visible, so `settle` cannot see a gap.
        let leftovers = self.mailbox.push(event, || self.work.add(1))?;
        if !leftovers.is_empty() {
            // The process closed while we pushed: what we drained will never run. Count it
            // as done even if a discard callback panics while it is dropped.
            struct CountDone<'a>(&'a Work, u64);
            impl Drop for CountDone<'_> {
                fn drop(&mut self) {
                    self.0.done(self.1);
                }
            }
            let _count = CountDone(&self.work, leftovers.len() as u64);
            drop(leftovers);
        }
        Ok(())
    }

    /// Ready when an event can be popped; otherwise registers the waker.
    ///
    /// # Safety
    /// Only the process's consumer may call this: its own task (`process::run`), until the
    /// mailbox is closed.
    pub(crate) unsafe fn poll_ready(&self, cx: &mut TaskContext<'_>) -> Poll<()> {
        self.mailbox.poll_ready(cx)
    }

    /// The oldest event, if any.
    ///
    /// # Safety
    /// As for [`ProcessCell::poll_ready`].
    pub(crate) unsafe fn pop(&self) -> Pop {
        self.mailbox.pop()
    }

    /// The queued events as `/__processes__` shows them (an answer to `Inspect`).
    ///
    /// # Safety
    /// As for [`ProcessCell::poll_ready`].
    pub(crate) unsafe fn events_json(&self) -> Vec<serde_json::Value> {
        let mut events = Vec::new();
        self.mailbox.for_each(|event| events.push(event.to_json()));
        events
    }

    /// How many queued events are dispatches (C++ `eventCount<DispatchEvent>()`).
    ///
    /// # Safety
    /// As for [`ProcessCell::poll_ready`].
    pub(crate) unsafe fn queued_dispatches(&self) -> usize {
        self.queued_events().dispatches
    }

    /// The queued messages, dispatches and HTTP requests (C++ `eventCount<T>()` for each).
    ///
    /// # Safety
    /// As for [`ProcessCell::poll_ready`].
    pub(crate) unsafe fn queued_events(&self) -> crate::process::QueuedEvents {
        let mut counts = crate::process::QueuedEvents::default();
        self.mailbox.for_each(|event| match event {
            Event::Message(_) => counts.messages += 1,
            Event::Dispatch(_) => counts.dispatches += 1,
            Event::Http(_) => counts.http_requests += 1,
            _ => {}
        });
        counts
    }

    /// Closes the mailbox and returns what was still queued; wakes `wait()` callers.
    ///
    /// # Safety
    /// As for [`ProcessCell::poll_ready`]; called once, when the process ends.
    pub(crate) unsafe fn close(&self) -> Vec<Event> {
        let (rest, waiters) = {
            let mut waiters = self.waiters.lock();
            (self.mailbox.close(), std::mem::take(&mut *waiters))
        };
        // Outside the lock: a waiter's callback may call `wait` on this cell.
        for waiter in waiters {
            waiter.set(());
        }
        rest
    }

    pub(crate) fn is_closed(&self) -> bool {
        self.mailbox.is_closed()
    }

    /// A future that completes once the process has terminated.
    pub(crate) fn wait(&self) -> Future<()> {
        let mut waiters = self.waiters.lock();
        if self.mailbox.is_closed() {
            return Future::ready(());
        }
        let promise = Promise::new();
        let future = promise.future();
        waiters.push(promise);
        future
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
