//! Test filters on events at the moment the destination process dequeues them: await, drop or count messages and exited events; mirrors `3rdparty/libprocess/include/process/filter.hpp` and the `FUTURE_MESSAGE`/`DROP_MESSAGE` family of `gmock.hpp`.
//!
//! Rules are tried newest first, as gmock tries the most recently declared expectation
//! first. One-shot rules retire after their first match. Counters see every matching event
//! without taking it, so they can sit beside a `drop_message` on the same message.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;

use parking_lot::Mutex;

use crate::future::{Future, Promise};
use crate::message::{Event, Message};
use crate::pid::UPID;
use crate::protobuf::{self, ProtobufMessage};

/// Which events a rule applies to; `None` matches anything.
#[derive(Clone, Debug, Default)]
pub struct MessageMatcher {
    pub name: Option<String>,
    pub from: Option<UPID>,
    pub to: Option<UPID>,
}

impl MessageMatcher {
    /// A matcher on name, sender and receiver; pass `None` for a wildcard.
    pub fn new(name: Option<&str>, from: Option<&UPID>, to: Option<&UPID>) -> MessageMatcher {
        MessageMatcher { name: name.map(str::to_string), from: from.cloned(), to: to.cloned() }
    }

    fn matches(&self, name: &str, from: &UPID, to: &UPID) -> bool {
        self.name.as_deref().is_none_or(|n| n == name)
            && self.from.as_ref().is_none_or(|f| f == from)
            && self.to.as_ref().is_none_or(|t| t == to)
    }
}

enum Kind {
    Message,
    Exited,
}

enum Action {
    /// Resolve with the first match; deliver it (`FUTURE_MESSAGE`).
    Observe(Option<Promise<Message>>),
    /// Resolve with the first match; swallow it (`DROP_MESSAGE`).
    DropOnce(Option<Promise<Message>>),
    /// Swallow every match (`DROP_MESSAGES`).
    DropAll,
    /// Count every match; deliver it (`EXPECT_NO_FUTURE_MESSAGES` checks a zero count).
    Count(Arc<AtomicUsize>),
}

struct Rule {
    kind: Kind,
    matcher: MessageMatcher,
    action: Action,
}

/// A live count of matching events, from [`Filters::count_messages`].
#[derive(Clone, Debug, Default)]
pub struct Counter(Arc<AtomicUsize>);

impl Counter {
    pub fn get(&self) -> usize {
        self.0.load(Ordering::SeqCst)
    }
}

/// The filter set of one instance. Empty by default; checking an empty set costs one
/// relaxed atomic load per event.
#[derive(Default)]
pub struct Filters {
    active: AtomicBool,
    rules: Mutex<Vec<Rule>>,
}

impl Filters {
    pub(crate) fn active(&self) -> bool {
        self.active.load(Ordering::Relaxed)
    }

    fn add(&self, kind: Kind, matcher: MessageMatcher, action: Action) {
        let mut rules = self.rules.lock();
        rules.push(Rule { kind, matcher, action });
        self.active.store(true, Ordering::SeqCst);
    }

    /// The first message matching `matcher`; it is still delivered (`FUTURE_MESSAGE`).
    pub fn future_message(&self, matcher: MessageMatcher) -> Future<Message> {
        let promise = Promise::new();
        let future = promise.future();
        self.add(Kind::Message, matcher, Action::Observe(Some(promise)));
        future
    }

    /// The first message matching `matcher`, which is not delivered (`DROP_MESSAGE`).
    pub fn drop_message(&self, matcher: MessageMatcher) -> Future<Message> {
        let promise = Promise::new();
        let future = promise.future();
        self.add(Kind::Message, matcher, Action::DropOnce(Some(promise)));
        future
    }

    /// Drops every message matching `matcher` from now on (`DROP_MESSAGES`).
    pub fn drop_messages(&self, matcher: MessageMatcher) {
        self.add(Kind::Message, matcher, Action::DropAll);
    }

    /// Counts messages matching `matcher`; they are still delivered.
    pub fn count_messages(&self, matcher: MessageMatcher) -> Counter {
        let counter = Arc::new(AtomicUsize::new(0));
        self.add(Kind::Message, matcher, Action::Count(counter.clone()));
        Counter(counter)
    }

    /// The first protobuf `M` from `from` to `to`, parsed (`FUTURE_PROTOBUF`).
    pub fn future_protobuf<M: ProtobufMessage>(&self, from: Option<&UPID>, to: Option<&UPID>) -> Future<M> {
        self.future_message(MessageMatcher::new(Some(protobuf::type_name::<M>()), from, to)).then(|message| {
            match protobuf::decode_checked::<M>(&message.body) {
                Ok(m) => Future::ready(m),
                Err(e) => Future::failed(e.to_string()),
            }
        })
    }

    /// Like [`Filters::future_protobuf`], and the message is not delivered (`DROP_PROTOBUF`).
    pub fn drop_protobuf<M: ProtobufMessage>(&self, from: Option<&UPID>, to: Option<&UPID>) -> Future<M> {
        self.drop_message(MessageMatcher::new(Some(protobuf::type_name::<M>()), from, to)).then(|message| {
            match protobuf::decode_checked::<M>(&message.body) {
                Ok(m) => Future::ready(m),
                Err(e) => Future::failed(e.to_string()),
            }
        })
    }

    /// Drops every protobuf `M` from `from` to `to` (`DROP_PROTOBUFS`).
    pub fn drop_protobufs<M: ProtobufMessage>(&self, from: Option<&UPID>, to: Option<&UPID>) {
        self.drop_messages(MessageMatcher::new(Some(protobuf::type_name::<M>()), from, to));
    }

    /// The first exited event about `from` delivered to `to` (`FUTURE_EXITED`). The
    /// message in the future has an empty name and body.
    pub fn future_exited(&self, from: Option<&UPID>, to: Option<&UPID>) -> Future<Message> {
        let promise = Promise::new();
        let future = promise.future();
        self.add(Kind::Exited, MessageMatcher::new(None, from, to), Action::Observe(Some(promise)));
        future
    }

    /// Drops the first exited event about `from` delivered to `to` (`DROP_EXITED`).
    pub fn drop_exited(&self, from: Option<&UPID>, to: Option<&UPID>) -> Future<Message> {
        let promise = Promise::new();
        let future = promise.future();
        self.add(Kind::Exited, MessageMatcher::new(None, from, to), Action::DropOnce(Some(promise)));
        future
    }

    /// Removes every rule (C++ does this at the end of each test).
    pub fn clear(&self) {
        self.rules.lock().clear();
        self.active.store(false, Ordering::SeqCst);
    }

    /// Decides whether `event`, about to be consumed by `consumer`, is dropped.
    pub(crate) fn drops(&self, event: &Event, consumer: &UPID) -> bool {
        let (kind_is_message, name, from) = match event {
            Event::Message(m) => (true, &*m.name, &m.from),
            Event::Exited(pid) => (false, "", &**pid),
            _ => return false,
        };
        let mut rules = self.rules.lock();
        let mut drop = false;
        let mut taken: Option<usize> = None;
        for (index, rule) in rules.iter_mut().enumerate().rev() {
            let kind_ok = matches!((&rule.kind, kind_is_message), (Kind::Message, true) | (Kind::Exited, false));
            if !kind_ok || !rule.matcher.matches(name, from, consumer) {
                continue;
            }
            match &mut rule.action {
                Action::Count(counter) => {
                    counter.fetch_add(1, Ordering::SeqCst);
                }
                Action::Observe(promise) => {
                    if let Some(promise) = promise.take() {
                        promise.set(as_message(event, consumer));
                    }
                    taken = Some(index);
                    break;
                }
                Action::DropOnce(promise) => {
                    if let Some(promise) = promise.take() {
                        promise.set(as_message(event, consumer));
                    }
                    taken = Some(index);
                    drop = true;
                    break;
                }
                Action::DropAll => {
                    drop = true;
                    break;
                }
            }
        }
        if let Some(index) = taken {
            rules.remove(index);
        }
        drop
    }
}

fn as_message(event: &Event, consumer: &UPID) -> Message {
    match event {
        Event::Message(m) => m.clone(),
        Event::Exited(pid) => Message::new("", (**pid).clone(), consumer.clone(), bytes::Bytes::new()),
        _ => Message::new("", UPID::empty(), consumer.clone(), bytes::Bytes::new()),
    }
}
