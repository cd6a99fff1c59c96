//! Processes inside one instance: spawn, dispatch, defer, delay, ordering, terminate, local links, filters, protobuf handlers, the paused clock and settle.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use common::{instance, within};
use libprocess::protobuf::Schema;
use libprocess::{Context, Failure, Future, MessageMatcher, Process, ProtobufMessage, SpawnError, UPID};
use parking_lot::Mutex;

/// Records what it receives.
#[derive(Default)]
struct Recorder {
    messages: Arc<Mutex<Vec<(String, UPID, Bytes)>>>,
    exited: Arc<Mutex<Vec<UPID>>>,
    unhandled: Arc<Mutex<Vec<String>>>,
}

impl Process for Recorder {
    fn initialize(&mut self, ctx: &mut Context<Self>) {
        for name in ["a", "b", "n"] {
            ctx.install(name, move |this: &mut Self, _ctx, from, body| {
                this.messages.lock().push((name.to_string(), from.clone(), body));
            });
        }
    }

    fn exited(&mut self, _ctx: &mut Context<Self>, pid: UPID) {
        self.exited.lock().push(pid);
    }

    fn unhandled(&mut self, _ctx: &mut Context<Self>, message: libprocess::Message) {
        self.unhandled.lock().push(message.name.to_string());
    }
}

struct Idle;
impl Process for Idle {}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spawn_refuses_a_live_duplicate_id_and_allows_reuse_after_exit() {
    let lp = instance().await;
    let pid = lp.spawn("worker", Idle).unwrap();
    assert_eq!(pid.upid().to_string(), format!("worker@{}", lp.address()));
    assert_eq!(lp.spawn("worker", Idle).unwrap_err(), SpawnError::DuplicateId("worker".into()));
    lp.terminate(pid.upid(), true);
    within(lp.wait(pid.upid())).await.unwrap();
    assert!(!pid.is_alive());
    assert!(lp.spawn("worker", Idle).is_ok());

    let anonymous = lp.spawn("", Idle).unwrap();
    assert!(anonymous.id().starts_with('(') && anonymous.id().ends_with(')'));
}

struct Counter {
    value: u64,
}

impl Process for Counter {}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dispatch_runs_inside_the_process_and_returns_its_result() {
    let lp = instance().await;
    let pid = lp.spawn("counter", Counter { value: 0 }).unwrap();
    for _ in 0..100 {
        pid.dispatch_void(|c: &mut Counter, _| c.value += 1);
    }
    let value = within(pid.dispatch(|c: &mut Counter, _| c.value)).await.unwrap();
    assert_eq!(value, 100);

    // A dispatch that returns a future completes when that future does.
    let doubled = pid.dispatch_future(|c: &mut Counter, _| Future::ready(c.value * 2));
    assert_eq!(within(doubled).await.unwrap(), 200);

    lp.terminate(pid.upid(), true);
    within(lp.wait(pid.upid())).await.unwrap();
    assert_eq!(within(pid.dispatch(|c: &mut Counter, _| c.value)).await, Err(Failure::Discarded));
}

/// Sends `count` numbered messages to `to` from inside a process.
struct Sender {
    to: UPID,
    count: u32,
}

impl Process for Sender {
    fn initialize(&mut self, ctx: &mut Context<Self>) {
        for i in 0..self.count {
            ctx.send(&self.to, "n", i.to_be_bytes().to_vec());
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn messages_from_one_sender_arrive_in_order_with_their_sender() {
    let lp = instance().await;
    let recorder = Recorder::default();
    let messages = recorder.messages.clone();
    let receiver = lp.spawn("receiver", recorder).unwrap();
    let s1 = lp.spawn("sender1", Sender { to: receiver.upid().clone(), count: 5000 }).unwrap();
    let s2 = lp.spawn("sender2", Sender { to: receiver.upid().clone(), count: 5000 }).unwrap();
    lp.clock().pause();
    within(lp.settle()).await;

    let messages = messages.lock();
    assert_eq!(messages.len(), 10000);
    for sender in [s1.upid(), s2.upid()] {
        let sequence: Vec<u32> = messages
            .iter()
            .filter(|(_, from, _)| from == sender)
            .map(|(_, _, body)| u32::from_be_bytes(body[..4].try_into().unwrap()))
            .collect();
        assert_eq!(sequence, (0..5000).collect::<Vec<_>>(), "per-sender order from {sender}");
    }
}

/// Asks `Counter` for its value and continues inside itself with the answer.
struct Asker {
    counter: libprocess::PID<Counter>,
    answers: Arc<Mutex<Vec<u64>>>,
}

impl Process for Asker {
    fn initialize(&mut self, ctx: &mut Context<Self>) {
        let future = self.counter.dispatch(|c: &mut Counter, _| {
            c.value += 41;
            c.value
        });
        ctx.defer(future, |this: &mut Asker, ctx, outcome| {
            // Runs inside the asker: its own pid is the context's.
            assert!(ctx.upid().id.starts_with("asker"));
            this.answers.lock().push(outcome.unwrap() + 1);
        });
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn defer_continues_inside_the_process_and_settle_sees_it() {
    let lp = instance().await;
    lp.clock().pause();
    let counter = lp.spawn("counter", Counter { value: 0 }).unwrap();
    let answers = Arc::new(Mutex::new(Vec::new()));
    lp.spawn("asker", Asker { counter, answers: answers.clone() }).unwrap();
    within(lp.settle()).await;
    assert_eq!(*answers.lock(), vec![42]);
}

struct Ticker {
    ticks: Arc<AtomicUsize>,
}

impl Process for Ticker {
    fn initialize(&mut self, ctx: &mut Context<Self>) {
        self.schedule(ctx);
    }
}

impl Ticker {
    fn schedule(&mut self, ctx: &mut Context<Self>) {
        ctx.delay(Duration::from_secs(10), |this: &mut Ticker, ctx| {
            this.ticks.fetch_add(1, Ordering::SeqCst);
            this.schedule(ctx);
        });
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delay_fires_only_when_the_paused_clock_passes_its_deadline() {
    let lp = instance().await;
    lp.clock().pause();
    let ticks = Arc::new(AtomicUsize::new(0));
    lp.spawn("ticker", Ticker { ticks: ticks.clone() }).unwrap();
    within(lp.settle()).await;

    lp.clock().advance(Duration::from_secs(9));
    within(lp.settle()).await;
    assert_eq!(ticks.load(Ordering::SeqCst), 0);

    lp.clock().advance(Duration::from_secs(1));
    within(lp.settle()).await;
    assert_eq!(ticks.load(Ordering::SeqCst), 1);

    // Each tick re-arms the timer relative to the paused "now".
    for expected in 2..=5 {
        lp.clock().advance(Duration::from_secs(10));
        within(lp.settle()).await;
        assert_eq!(ticks.load(Ordering::SeqCst), expected);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancelled_delay_never_fires() {
    let lp = instance().await;
    lp.clock().pause();
    let pid = lp.spawn("counter", Counter { value: 0 }).unwrap();
    let timer = within(
        pid.dispatch(|_: &mut Counter, ctx| ctx.delay(Duration::from_secs(5), |c: &mut Counter, _| c.value = 99)),
    )
    .await
    .unwrap();
    assert!(lp.clock().cancel(timer));
    lp.clock().advance(Duration::from_secs(60));
    within(lp.settle()).await;
    assert_eq!(within(pid.dispatch(|c: &mut Counter, _| c.value)).await.unwrap(), 0);
}

/// Counts what it handles, slowly enough that events queue up.
struct Slow {
    handled: Arc<AtomicUsize>,
}

impl Process for Slow {
    fn initialize(&mut self, ctx: &mut Context<Self>) {
        ctx.install("work", |this: &mut Self, _, _, _| {
            std::thread::sleep(Duration::from_millis(1));
            this.handled.fetch_add(1, Ordering::SeqCst);
        });
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn terminate_without_inject_handles_queued_events_first() {
    let lp = instance().await;
    let handled = Arc::new(AtomicUsize::new(0));
    let pid = lp.spawn("slow", Slow { handled: handled.clone() }).unwrap();
    for _ in 0..50 {
        lp.post(pid.upid(), "work", Bytes::new());
    }
    lp.terminate(pid.upid(), false);
    within(lp.wait(pid.upid())).await.unwrap();
    assert_eq!(handled.load(Ordering::SeqCst), 50);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn terminate_with_inject_drops_queued_events() {
    let lp = instance().await;
    let handled = Arc::new(AtomicUsize::new(0));
    let pid = lp.spawn("slow", Slow { handled: handled.clone() }).unwrap();
    for _ in 0..200 {
        lp.post(pid.upid(), "work", Bytes::new());
    }
    lp.terminate(pid.upid(), true);
    within(lp.wait(pid.upid())).await.unwrap();
    assert!(handled.load(Ordering::SeqCst) < 200, "inject must cut the queue short");
}

/// Links to the given pids in `initialize`.
struct Linker {
    targets: Vec<UPID>,
    exited: Arc<Mutex<Vec<UPID>>>,
}

impl Process for Linker {
    fn initialize(&mut self, ctx: &mut Context<Self>) {
        for target in &self.targets {
            ctx.link(target);
        }
    }

    fn exited(&mut self, _ctx: &mut Context<Self>, pid: UPID) {
        self.exited.lock().push(pid);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn local_link_gives_one_exited_when_the_linkee_terminates() {
    let lp = instance().await;
    lp.clock().pause();
    let linkee = lp.spawn("linkee", Idle).unwrap();
    let exited = Arc::new(Mutex::new(Vec::new()));
    // Linking twice to the same process yields a single event.
    let targets = vec![linkee.upid().clone(), linkee.upid().clone()];
    lp.spawn("linker", Linker { targets, exited: exited.clone() }).unwrap();
    within(lp.settle()).await;
    assert!(exited.lock().is_empty());

    lp.terminate(linkee.upid(), true);
    within(lp.wait(linkee.upid())).await.unwrap();
    within(lp.settle()).await;
    assert_eq!(*exited.lock(), vec![linkee.upid().clone()]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn linking_to_a_process_that_is_not_running_gives_exited_at_once() {
    let lp = instance().await;
    lp.clock().pause();
    let ghost = UPID::new("ghost", lp.address());
    let exited = Arc::new(Mutex::new(Vec::new()));
    lp.spawn("linker", Linker { targets: vec![ghost.clone()], exited: exited.clone() }).unwrap();
    within(lp.settle()).await;
    assert_eq!(*exited.lock(), vec![ghost]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn filters_observe_drop_and_count_messages_at_the_destination() {
    let lp = instance().await;
    lp.clock().pause();
    let recorder = Recorder::default();
    let messages = recorder.messages.clone();
    let receiver = lp.spawn("receiver", recorder).unwrap();
    let to = Some(receiver.upid());

    let observed = lp.filters().future_message(MessageMatcher::new(Some("a"), None, to));
    let dropped = lp.filters().drop_message(MessageMatcher::new(Some("b"), None, to));
    let counter = lp.filters().count_messages(MessageMatcher::new(None, None, to));

    lp.post(receiver.upid(), "a", &b"1"[..]);
    lp.post(receiver.upid(), "b", &b"2"[..]);
    lp.post(receiver.upid(), "b", &b"3"[..]);
    within(lp.settle()).await;

    assert_eq!(&within(observed).await.unwrap().body[..], b"1");
    assert_eq!(&within(dropped).await.unwrap().body[..], b"2");
    assert_eq!(counter.get(), 3);
    // The first "b" was swallowed, the second got through (the drop is one-shot).
    let bodies: Vec<Vec<u8>> = messages.lock().iter().map(|(_, _, b)| b.to_vec()).collect();
    assert_eq!(bodies, vec![b"1".to_vec(), b"3".to_vec()]);

    lp.filters().drop_messages(MessageMatcher::new(Some("a"), None, None));
    lp.post(receiver.upid(), "a", &b"4"[..]);
    lp.post(receiver.upid(), "a", &b"5"[..]);
    within(lp.settle()).await;
    assert_eq!(messages.lock().len(), 2);

    lp.filters().clear();
    lp.post(receiver.upid(), "a", &b"6"[..]);
    within(lp.settle()).await;
    assert_eq!(messages.lock().len(), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn filters_can_drop_an_exited_event() {
    let lp = instance().await;
    lp.clock().pause();
    let linkee = lp.spawn("linkee", Idle).unwrap();
    let exited = Arc::new(Mutex::new(Vec::new()));
    let linker = lp.spawn("linker", Linker { targets: vec![linkee.upid().clone()], exited: exited.clone() }).unwrap();
    within(lp.settle()).await;
    let dropped = lp.filters().drop_exited(Some(linkee.upid()), Some(linker.upid()));
    lp.terminate(linkee.upid(), true);
    within(lp.settle()).await;
    assert_eq!(within(dropped).await.unwrap().from, *linkee.upid());
    assert!(exited.lock().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn messages_without_a_handler_reach_unhandled_and_delegates_forward() {
    let lp = instance().await;
    lp.clock().pause();
    let target = Recorder::default();
    let target_messages = target.messages.clone();
    let target = lp.spawn("target", target).unwrap();

    struct Forwarder {
        to: UPID,
    }
    impl Process for Forwarder {
        fn initialize(&mut self, ctx: &mut Context<Self>) {
            ctx.delegate("a", self.to.clone());
        }
    }
    let forwarder = lp.spawn("forwarder", Forwarder { to: target.upid().clone() }).unwrap();
    let origin = UPID::new("origin", lp.address());
    lp.send(libprocess::Message::new("a", origin.clone(), forwarder.upid().clone(), &b"x"[..]));
    within(lp.settle()).await;
    // Forwarded with the original sender kept.
    assert_eq!(target_messages.lock().first().map(|m| m.1.clone()), Some(origin));

    let recorder = Recorder::default();
    let unhandled = recorder.unhandled.clone();
    let pid = lp.spawn("recorder", recorder).unwrap();
    lp.post(pid.upid(), "zzz", Bytes::new());
    within(lp.settle()).await;
    assert_eq!(*unhandled.lock(), vec!["zzz".to_string()]);
}

/// A protobuf with a required field, as the Mesos messages are.
#[derive(Clone, PartialEq, prost::Message)]
struct Ping {
    #[prost(string, required, tag = "1")]
    id: String,
    #[prost(bool, optional, tag = "2")]
    connected: Option<bool>,
}

impl prost::Name for Ping {
    const NAME: &'static str = "PingMessage";
    const PACKAGE: &'static str = "tests.internal";
}

static PING_SCHEMA: Schema = Schema { required: &[1], nested: &[] };

impl ProtobufMessage for Ping {
    fn schema() -> &'static Schema {
        &PING_SCHEMA
    }
}

/// A message whose required field lives in a sub-message.
#[derive(Clone, PartialEq, prost::Message)]
struct Envelope {
    #[prost(message, optional, tag = "1")]
    ping: Option<Ping>,
}

impl prost::Name for Envelope {
    const NAME: &'static str = "Envelope";
    const PACKAGE: &'static str = "tests.internal";
}

static ENVELOPE_SCHEMA: Schema = Schema { required: &[1], nested: &[(1, &PING_SCHEMA)] };

impl ProtobufMessage for Envelope {
    fn schema() -> &'static Schema {
        &ENVELOPE_SCHEMA
    }
}

struct PingHandler {
    seen: Arc<Mutex<Vec<Ping>>>,
}

impl Process for PingHandler {
    fn initialize(&mut self, ctx: &mut Context<Self>) {
        ctx.install_protobuf(|this: &mut Self, _ctx, _from: &UPID, ping: Ping| {
            this.seen.lock().push(ping);
        });
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn protobuf_handlers_use_the_full_type_name_and_drop_bodies_missing_required_fields() {
    let lp = instance().await;
    lp.clock().pause();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let pid = lp.spawn("pinger", PingHandler { seen: seen.clone() }).unwrap();

    let named = lp.filters().future_message(MessageMatcher::new(Some("tests.internal.PingMessage"), None, None));
    let origin = UPID::new("origin", lp.address());
    lp.post_protobuf(&origin, pid.upid(), &Ping { id: "one".into(), connected: Some(true) });
    within(lp.settle()).await;
    assert_eq!(within(named).await.unwrap().from, origin);

    // Field 2 only: the required field 1 is missing; the handler must not run.
    lp.post(pid.upid(), "tests.internal.PingMessage", vec![0x10, 0x01]);
    // Not protobuf at all.
    lp.post(pid.upid(), "tests.internal.PingMessage", vec![0xff, 0xff, 0xff]);
    lp.post_protobuf(&origin, pid.upid(), &Ping { id: "two".into(), connected: None });
    within(lp.settle()).await;
    let ids: Vec<String> = seen.lock().iter().map(|p| p.id.clone()).collect();
    assert_eq!(ids, vec!["one".to_string(), "two".to_string()]);

    // Sending a message whose required sub-message is unset sends nothing.
    let counter = lp.filters().count_messages(MessageMatcher::new(Some("tests.internal.Envelope"), None, None));
    lp.post_protobuf(&origin, pid.upid(), &Envelope { ping: None });
    lp.post_protobuf(&origin, pid.upid(), &Envelope { ping: Some(Ping { id: "x".into(), connected: None }) });
    within(lp.settle()).await;
    assert_eq!(counter.get(), 1);
}

struct Panicky;

impl Process for Panicky {
    fn initialize(&mut self, ctx: &mut Context<Self>) {
        ctx.install("boom", |_: &mut Self, _, _, _| panic!("handler bug"));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panicking_handler_ends_only_its_process_and_linkers_hear_of_it() {
    let lp = instance().await;
    lp.clock().pause();
    let panicky = lp.spawn("panicky", Panicky).unwrap();
    let exited = Arc::new(Mutex::new(Vec::new()));
    lp.spawn("linker", Linker { targets: vec![panicky.upid().clone()], exited: exited.clone() }).unwrap();
    let survivor = lp.spawn("counter", Counter { value: 7 }).unwrap();
    within(lp.settle()).await;

    lp.post(panicky.upid(), "boom", Bytes::new());
    within(lp.wait(panicky.upid())).await.unwrap();
    within(lp.settle()).await;
    assert_eq!(*exited.lock(), vec![panicky.upid().clone()]);
    assert_eq!(within(survivor.dispatch(|c: &mut Counter, _| c.value)).await.unwrap(), 7);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn settle_returns_only_after_a_long_message_chain() {
    struct Relay {
        next: Option<UPID>,
        hops: Arc<AtomicUsize>,
    }
    impl Process for Relay {
        fn initialize(&mut self, ctx: &mut Context<Self>) {
            ctx.install("hop", |this: &mut Self, ctx, _, body: Bytes| {
                this.hops.fetch_add(1, Ordering::SeqCst);
                let remaining = u32::from_be_bytes(body[..4].try_into().unwrap());
                if remaining > 0 {
                    if let Some(next) = &this.next {
                        ctx.send(next, "hop", (remaining - 1).to_be_bytes().to_vec());
                    }
                }
            });
        }
    }
    let lp = instance().await;
    lp.clock().pause();
    let hops = Arc::new(AtomicUsize::new(0));
    let a = UPID::new("relay-a", lp.address());
    let b = UPID::new("relay-b", lp.address());
    lp.spawn("relay-a", Relay { next: Some(b.clone()), hops: hops.clone() }).unwrap();
    lp.spawn("relay-b", Relay { next: Some(a.clone()), hops: hops.clone() }).unwrap();
    within(lp.settle()).await;
    lp.post(&a, "hop", 20_000u32.to_be_bytes().to_vec());
    within(lp.settle()).await;
    assert_eq!(hops.load(Ordering::SeqCst), 20_001);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn settle_is_per_instance_and_ignores_another_busy_instance() {
    /// Sends itself a message forever.
    struct Spinner;
    impl Process for Spinner {
        fn initialize(&mut self, ctx: &mut Context<Self>) {
            ctx.install("spin", |_: &mut Self, ctx, _, _| {
                let me = ctx.upid().clone();
                ctx.send(&me, "spin", Bytes::new());
            });
            let me = ctx.upid().clone();
            ctx.send(&me, "spin", Bytes::new());
        }
    }
    let busy = instance().await;
    busy.spawn("spinner", Spinner).unwrap();

    let quiet = instance().await;
    quiet.clock().pause();
    let counter = quiet.spawn("counter", Counter { value: 0 }).unwrap();
    counter.dispatch_void(|c: &mut Counter, _| c.value = 5);
    within(quiet.settle()).await;
    assert_eq!(within(counter.dispatch(|c: &mut Counter, _| c.value)).await.unwrap(), 5);
    busy.shutdown().await;
}

/// Sends itself `go` until it has run `stop_at` times.
struct Spinner {
    iterations: Arc<std::sync::atomic::AtomicU64>,
    stop_at: u64,
}

impl Process for Spinner {
    fn initialize(&mut self, ctx: &mut Context<Self>) {
        ctx.install("go", |this: &mut Self, ctx, _, _| {
            let n = this.iterations.fetch_add(1, Ordering::SeqCst) + 1;
            if n < this.stop_at {
                let me = ctx.upid().clone();
                ctx.send(&me, "go", Bytes::new());
            }
        });
    }
}

/// How many spinner iterations ran before an unrelated task got the (only) thread, when
/// the 256th event of the spinner's first stretch is one the run loop skips (a filtered
/// message) rather than handles.
async fn iterations_before_another_task_runs(skipped_256th: bool) -> u64 {
    let lp = instance().await;
    let iterations = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let pid = lp.spawn("spinner", Spinner { iterations: iterations.clone(), stop_at: 200_000 }).unwrap();
    if skipped_256th {
        drop(lp.filters().drop_message(MessageMatcher::new(Some("dropme"), None, None)));
    }
    // Queued before the process first runs: on a current-thread runtime nothing runs until
    // this test yields. 255 unhandled messages, then the 256th popped event.
    for _ in 0..255 {
        lp.post(pid.upid(), "noop", Bytes::new());
    }
    lp.post(pid.upid(), if skipped_256th { "dropme" } else { "noop" }, Bytes::new());
    lp.post(pid.upid(), "go", Bytes::new());
    let (seen, watched) = (Arc::new(std::sync::atomic::AtomicU64::new(u64::MAX)), iterations.clone());
    let out = seen.clone();
    tokio::spawn(async move { out.store(watched.load(Ordering::SeqCst), Ordering::SeqCst) }).await.unwrap();
    lp.terminate(pid.upid(), true);
    seen.load(Ordering::SeqCst)
}

#[tokio::test(flavor = "current_thread")]
async fn a_busy_process_yields_its_thread_every_256_events() {
    let seen = iterations_before_another_task_runs(false).await;
    assert!(seen < 1_000, "another task ran only after {seen} spinner iterations");
    // Even when the 256th event is one the loop skips instead of handling.
    let seen = iterations_before_another_task_runs(true).await;
    assert!(seen < 1_000, "another task ran only after {seen} spinner iterations");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panicking_discard_callback_does_not_leave_the_process_half_alive() {
    let lp = instance().await;
    let pid = lp.spawn("victim", Idle).unwrap();
    // Keep the process busy while events queue behind it; the terminate then discards the
    // dispatch, whose callback panics inside the run loop.
    pid.dispatch_void(|_: &mut Idle, _| std::thread::sleep(Duration::from_millis(300)));
    pid.dispatch(|_: &mut Idle, _| ()).on_any(|_| panic!("user callback panics"));
    lp.terminate(pid.upid(), true);
    within(lp.wait(pid.upid())).await.unwrap();
    assert!(!pid.is_alive());
    // Its work was all counted: the instance settles.
    lp.clock().pause();
    within(lp.settle()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn queued_events_count_what_waits_behind_the_current_event_by_kind() {
    let lp = instance().await;
    let pid = lp.spawn("queued", Recorder::default()).unwrap();
    let me = pid.upid().clone();
    let counts = within(pid.dispatch(move |_: &mut Recorder, ctx| {
        // Local sends and dispatches land in this very mailbox while this event runs.
        ctx.send(&me, "a", Bytes::from_static(b"1"));
        ctx.send(&me, "b", Bytes::from_static(b"2"));
        ctx.pid().dispatch_void(|_: &mut Recorder, _| {});
        ctx.queued_events()
    }))
    .await
    .unwrap();
    assert_eq!(counts, libprocess::QueuedEvents { messages: 2, dispatches: 1, http_requests: 0 });
    assert_eq!(counts.dispatches, 1);
    let idle = within(pid.dispatch(|_: &mut Recorder, ctx| ctx.queued_events())).await.unwrap();
    assert_eq!(idle, libprocess::QueuedEvents::default());
}
