//! A process's mailbox: an intrusive multi-producer, single-consumer queue (Vyukov's design) with a parking protocol for the consumer task; mirrors `3rdparty/libprocess/src/mpsc_linked_queue.hpp` and `event_queue.hpp` (the `LOCK_FREE_EVENT_QUEUE` build).
//!
//! A push is one atomic swap and one release store; the consumer pops with plain loads. Each
//! event lives in its own heap node, which for a message is the only allocation it needs.
//!
//! Parking: the consumer publishes its waker, sets `sleeping` and then re-reads `head`; a
//! producer swaps `head` and then reads `sleeping`. Both pairs are sequentially consistent,
//! so (the Dekker argument) either the consumer sees the new event or the producer sees the
//! consumer asleep and wakes it: no wake-up is lost.
//!
//! Closing: after `close`, consumption moves under the `drain` lock, and a producer whose
//! push raced with the close drains the queue itself, so no event is stranded in a dead
//! mailbox (its promises are discarded and its work counted as done).

use std::cell::UnsafeCell;
use std::ptr;
use std::sync::atomic::{AtomicBool, AtomicPtr, Ordering};
use std::task::{Context as TaskContext, Poll, Waker};

use parking_lot::Mutex;

use crate::message::Event;

struct Node {
    next: AtomicPtr<Node>,
    /// `None` only in the stub (the node the consumer stands on).
    event: Option<Event>,
}

impl Node {
    fn new(event: Option<Event>) -> *mut Node {
        Box::into_raw(Box::new(Node { next: AtomicPtr::new(ptr::null_mut()), event }))
    }
}

/// What a pop found.
pub(crate) enum Pop {
    Event(Event),
    Empty,
    /// A producer has swapped itself in but not linked its node yet; try again shortly.
    Inconsistent,
}

/// Keeps what producers write and what the consumer writes on different cache lines, so
/// a push and a pop running on two cores do not fight over one line.
#[repr(align(128))]
struct CacheLine<T>(T);

impl<T> std::ops::Deref for CacheLine<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}

pub(crate) struct Mailbox {
    /// The newest node; producers swap themselves in here.
    head: CacheLine<AtomicPtr<Node>>,
    /// The node the consumer stands on; the next event is `tail.next`. Only the consumer
    /// touches it: the process's own task, or whoever holds `drain` once closed.
    tail: CacheLine<UnsafeCell<*mut Node>>,
    sleeping: CacheLine<AtomicBool>,
    waker: Mutex<Option<Waker>>,
    closed: AtomicBool,
    drain: Mutex<()>,
}

// SAFETY: `tail` is only dereferenced by the single consumer (see `tail`'s doc; the
// consumer-only methods are `unsafe fn`s saying so), nodes are handed from producers to the
// consumer through release/acquire on `next`, and events are `Send` (asserted below), so
// moving them to the consumer's thread is fine.
unsafe impl Send for Mailbox {}
unsafe impl Sync for Mailbox {}

const _: fn() = || {
    fn assert_send<T: Send>() {}
    assert_send::<Event>();
};

impl Mailbox {
    pub(crate) fn new() -> Mailbox {
        let stub = Node::new(None);
        Mailbox {
            head: CacheLine(AtomicPtr::new(stub)),
            tail: CacheLine(UnsafeCell::new(stub)),
            sleeping: CacheLine(AtomicBool::new(false)),
            waker: Mutex::new(None),
            closed: AtomicBool::new(false),
            drain: Mutex::new(()),
        }
    }

    pub(crate) fn is_closed(&self) -> bool {
        self.closed.load(Ordering::SeqCst)
    }

    /// Appends `event`; gives it back if the mailbox is closed. `before_visible` runs after
    /// the closed check and before the event can be seen by the consumer (work counting).
    /// Returns the events this producer had to drain because the mailbox closed under it.
    pub(crate) fn push(&self, event: Event, before_visible: impl FnOnce()) -> Result<Vec<Event>, Event> {
        if self.closed.load(Ordering::SeqCst) {
            return Err(event);
        }
        before_visible();
        let node = Node::new(Some(event));
        let previous = self.head.swap(node, Ordering::SeqCst);
        // SAFETY: `previous` was the head, so it is alive: the consumer frees a node only
        // after moving past it, which needs this `next` link first.
        unsafe { (*previous).next.store(node, Ordering::Release) };

        if self.sleeping.load(Ordering::SeqCst) && self.sleeping.swap(false, Ordering::SeqCst) {
            // Taken under the lock, woken outside it.
            let waker = self.waker.lock().take();
            if let Some(waker) = waker {
                waker.wake();
            }
        }
        if self.closed.load(Ordering::SeqCst) {
            // The owner may already have drained for the last time; finish the job.
            return Ok(self.drain_closed());
        }
        Ok(Vec::new())
    }

    /// Takes the oldest event. Only the consumer may call this.
    ///
    /// # Safety
    /// Must not run concurrently with another `pop` (single consumer).
    pub(crate) unsafe fn pop(&self) -> Pop {
        let tail = *self.tail.get();
        let next = (*tail).next.load(Ordering::Acquire);
        if next.is_null() {
            return if self.head.load(Ordering::SeqCst) == tail { Pop::Empty } else { Pop::Inconsistent };
        }
        *self.tail.get() = next;
        let event = (*next).event.take();
        drop(Box::from_raw(tail));
        match event {
            Some(event) => Pop::Event(event),
            // Only the stub has no event, and the stub is never behind the tail.
            None => Pop::Empty,
        }
    }

    /// Ready when there is something to pop; otherwise parks the waker.
    ///
    /// # Safety
    /// Only the consumer may call this (it reads `tail`).
    pub(crate) unsafe fn poll_ready(&self, cx: &mut TaskContext<'_>) -> Poll<()> {
        // SAFETY: reading `tail` is the consumer's privilege, and this is the consumer.
        let tail = unsafe { *self.tail.get() };
        if self.head.load(Ordering::SeqCst) != tail {
            return Poll::Ready(());
        }
        {
            let mut waker = self.waker.lock();
            match &*waker {
                Some(w) if w.will_wake(cx.waker()) => {}
                _ => *waker = Some(cx.waker().clone()),
            }
        }
        self.sleeping.store(true, Ordering::SeqCst);
        if self.head.load(Ordering::SeqCst) != tail {
            self.sleeping.store(false, Ordering::SeqCst);
            return Poll::Ready(());
        }
        Poll::Pending
    }

    /// Visits the queued events, oldest first. Only the consumer may call this.
    ///
    /// # Safety
    /// Must not run concurrently with `pop`.
    pub(crate) unsafe fn for_each(&self, mut f: impl FnMut(&Event)) {
        let mut node = (*(*self.tail.get())).next.load(Ordering::Acquire);
        while !node.is_null() {
            if let Some(event) = &(*node).event {
                f(event);
            }
            node = (*node).next.load(Ordering::Acquire);
        }
    }

    /// Closes the mailbox and returns everything still queued.
    ///
    /// # Safety
    /// Called once, by the consumer, after its last `pop`.
    pub(crate) unsafe fn close(&self) -> Vec<Event> {
        self.closed.store(true, Ordering::SeqCst);
        self.drain_closed()
    }

    fn drain_closed(&self) -> Vec<Event> {
        let _drain = self.drain.lock();
        let mut events = Vec::new();
        loop {
            // SAFETY: once closed, every consumer holds `drain`, so this one is alone.
            match unsafe { self.pop() } {
                Pop::Event(event) => events.push(event),
                Pop::Empty => return events,
                // A producer is between its swap and its link. It may already have read
                // `closed` as false (its link store can trail that load), so it would not
                // drain after us: wait for the link, which is a few instructions away.
                Pop::Inconsistent => std::thread::yield_now(),
            }
        }
    }
}

impl Drop for Mailbox {
    fn drop(&mut self) {
        // SAFETY: `&mut self`: no producer or consumer is left.
        unsafe {
            let mut node = *self.tail.get();
            while !node.is_null() {
                let next = (*node).next.load(Ordering::Relaxed);
                drop(Box::from_raw(node));
                node = next;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pid::UPID;
    use std::sync::atomic::AtomicUsize;
    use std::sync::Arc;

    fn exited(n: u16) -> Event {
        Event::Exited(Box::new(UPID::new("p", std::net::SocketAddrV4::new(std::net::Ipv4Addr::LOCALHOST, n))))
    }

    fn port(event: &Event) -> u16 {
        match event {
            Event::Exited(pid) => pid.port,
            _ => u16::MAX,
        }
    }

    #[test]
    fn fifo_for_one_producer() {
        let mailbox = Mailbox::new();
        for i in 0..100 {
            mailbox.push(exited(i), || {}).ok().unwrap();
        }
        let mut seen = Vec::new();
        unsafe { mailbox.for_each(|e| seen.push(port(e))) };
        assert_eq!(seen, (0..100).collect::<Vec<_>>());
        for i in 0..100 {
            match unsafe { mailbox.pop() } {
                Pop::Event(e) => assert_eq!(port(&e), i),
                _ => panic!("expected an event"),
            }
        }
        assert!(matches!(unsafe { mailbox.pop() }, Pop::Empty));
    }

    #[test]
    fn closed_mailbox_refuses_and_returns_leftovers() {
        let mailbox = Mailbox::new();
        mailbox.push(exited(1), || {}).ok().unwrap();
        let rest = unsafe { mailbox.close() };
        assert_eq!(rest.len(), 1);
        assert!(mailbox.push(exited(2), || {}).is_err());
    }

    #[test]
    fn many_producers_one_consumer_lose_nothing_and_keep_per_producer_order() {
        let mailbox = Arc::new(Mailbox::new());
        const PRODUCERS: u16 = 4;
        // The producer and sequence number share a u16 port.
        const EACH: u16 = 16_000;
        let handles: Vec<_> = (0..PRODUCERS)
            .map(|p| {
                let mailbox = mailbox.clone();
                std::thread::spawn(move || {
                    for i in 0..EACH {
                        // Encode the producer in the high bits of the port.
                        mailbox.push(exited(p * EACH + i), || {}).ok().unwrap();
                    }
                })
            })
            .collect();
        let mut last = vec![None::<u16>; PRODUCERS as usize];
        let mut received = 0usize;
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        while received < (PRODUCERS as usize) * (EACH as usize) {
            assert!(std::time::Instant::now() < deadline, "only {received} events arrived");
            match unsafe { mailbox.pop() } {
                Pop::Event(e) => {
                    let value = port(&e);
                    let producer = (value / EACH) as usize;
                    if let Some(previous) = last[producer] {
                        assert!(value > previous, "per-producer order");
                    }
                    last[producer] = Some(value);
                    received += 1;
                }
                Pop::Empty | Pop::Inconsistent => std::hint::spin_loop(),
            }
        }
        for handle in handles {
            handle.join().unwrap();
        }
        assert!(matches!(unsafe { mailbox.pop() }, Pop::Empty));
    }

    #[test]
    fn pushes_racing_a_close_are_all_accounted_for() {
        for _ in 0..50 {
            let mailbox = Arc::new(Mailbox::new());
            let accepted = Arc::new(AtomicUsize::new(0));
            let drained_by_producers = Arc::new(AtomicUsize::new(0));
            let producers: Vec<_> = (0..3)
                .map(|_| {
                    let (mailbox, accepted, drained) =
                        (mailbox.clone(), accepted.clone(), drained_by_producers.clone());
                    std::thread::spawn(move || {
                        for i in 0..2000 {
                            match mailbox.push(exited(i), || {}) {
                                Ok(leftovers) => {
                                    accepted.fetch_add(1, Ordering::SeqCst);
                                    drained.fetch_add(leftovers.len(), Ordering::SeqCst);
                                }
                                Err(_) => return,
                            }
                        }
                    })
                })
                .collect();
            let mut consumed = 0usize;
            for _ in 0..500 {
                if let Pop::Event(_) = unsafe { mailbox.pop() } {
                    consumed += 1;
                }
            }
            let closed_with = unsafe { mailbox.close() }.len();
            for producer in producers {
                producer.join().unwrap();
            }
            let total = consumed + closed_with + drained_by_producers.load(Ordering::SeqCst);
            assert_eq!(total, accepted.load(Ordering::SeqCst), "every accepted event is consumed or drained once");
        }
    }
}
