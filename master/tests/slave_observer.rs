//! `slave-observer(N)` driven on a paused clock against a fake agent process: ping cadence and the `connected` flag, miss counting, the unreachable notification and its rate limiting and cancellation; upstream `SlaveTest.{RateLimitSlaveRemoval,CancelSlaveRemoval}`, `PartitionTest.{PartitionedSlave,FailHealthChecksTwice}` (observer part) and libprocess `LimiterTest.{Acquire,DiscardMiddle,DiscardLast}` ported by name.

mod common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{instance, within, MockLimiter};
use libprocess::{Context, Failure, Future, Libprocess, MessageMatcher, Process, UPID};
use master::constants::{DEFAULT_AGENT_PING_TIMEOUT, DEFAULT_MAX_AGENT_PING_TIMEOUTS};
use master::rate_limiter::{Limiter, RateLimiter, RateLimiterError};
use master::slave_observer::{
    SlaveObserverError, SlaveObserverEvent, SlaveObserverHandle, SlaveObserverOptions, HEALTH_CHECK_TIMED_OUT,
};
use mesos::internal::{PingSlaveMessage, PongSlaveMessage};
use mesos::proto::SlaveId;

const PING: &str = "mesos.internal.PingSlaveMessage";
const T: Duration = DEFAULT_AGENT_PING_TIMEOUT;
const MAX: usize = DEFAULT_MAX_AGENT_PING_TIMEOUTS;

/// Plays the agent: records each ping's `connected` flag and answers with a pong while
/// `answer` is set (as `Slave::ping` does, to the ping's sender).
#[derive(Clone, Default)]
struct FakeAgent {
    answer: Arc<AtomicBool>,
    pings: Arc<Mutex<Vec<bool>>>,
}

impl FakeAgent {
    fn answering(answer: bool) -> FakeAgent {
        let agent = FakeAgent::default();
        agent.answer.store(answer, Ordering::SeqCst);
        agent
    }

    fn pings(&self) -> Vec<bool> {
        self.pings.lock().unwrap().clone()
    }
}

impl Process for FakeAgent {
    fn initialize(&mut self, ctx: &mut Context<Self>) {
        ctx.install_protobuf(|this: &mut Self, ctx, from, ping: PingSlaveMessage| {
            this.pings.lock().unwrap().push(ping.connected);
            if this.answer.load(Ordering::SeqCst) {
                ctx.send_protobuf(from, &PongSlaveMessage {});
            }
        });
    }
}

/// Sends a pong to the observer whenever told to, from its own UPID.
struct Impostor;
impl Process for Impostor {}

type Events = Arc<Mutex<Vec<SlaveObserverEvent>>>;

struct Setup {
    lp: Libprocess,
    agent: FakeAgent,
    agent_pid: UPID,
    observer: SlaveObserverHandle,
    events: Events,
    pings: libprocess::filter::Counter,
}

fn slave_id() -> SlaveId {
    SlaveId { value: "agent-S0".into() }
}

async fn setup_with(agent: FakeAgent, options: SlaveObserverOptions) -> Setup {
    let lp = instance().await;
    let agent_pid = lp.spawn(libprocess::id::generate("slave"), agent.clone()).unwrap().upid().clone();
    let pings = lp.filters().count_messages(MessageMatcher::new(Some(PING), None, Some(&agent_pid)));
    let events: Events = Arc::default();
    let sink = events.clone();
    let observer =
        SlaveObserverHandle::spawn(&lp, agent_pid.clone(), slave_id(), options, move |e| sink.lock().unwrap().push(e))
            .unwrap();
    within(lp.settle()).await;
    Setup { lp, agent, agent_pid, observer, events, pings }
}

async fn setup(agent: FakeAgent) -> Setup {
    setup_with(agent, SlaveObserverOptions::default()).await
}

impl Setup {
    async fn step(&self, d: Duration) {
        self.lp.clock().advance(d);
        within(self.lp.settle()).await;
    }

    fn events(&self) -> Vec<SlaveObserverEvent> {
        self.events.lock().unwrap().clone()
    }

    fn marks(&self) -> usize {
        self.events().iter().filter(|e| matches!(e, SlaveObserverEvent::MarkUnreachable { .. })).count()
    }
}

fn scheduled() -> SlaveObserverEvent {
    SlaveObserverEvent::UnreachableScheduled { slave_id: slave_id() }
}

fn marked() -> SlaveObserverEvent {
    SlaveObserverEvent::MarkUnreachable { slave_id: slave_id(), reason: HEALTH_CHECK_TIMED_OUT }
}

fn canceled() -> SlaveObserverEvent {
    SlaveObserverEvent::UnreachableCanceled { slave_id: slave_id() }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn observer_id_is_generated_and_pings_come_from_it() {
    let s = setup(FakeAgent::answering(true)).await;
    let id = s.observer.pid().id().to_string();
    assert!(id.starts_with("slave-observer(") && id.ends_with(')'), "{id}");

    let ping = s.lp.filters().future_message(MessageMatcher::new(Some(PING), None, Some(&s.agent_pid)));
    s.step(T).await;
    let ping = within(ping).await.unwrap();
    assert_eq!(&ping.from, s.observer.pid().upid());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pings_at_start_then_once_per_timeout() {
    let s = setup(FakeAgent::answering(true)).await;
    assert_eq!(s.pings.get(), 1, "the first ping goes out from initialize");
    for n in 2..=6 {
        s.step(T - Duration::from_secs(1)).await;
        assert_eq!(s.pings.get(), n - 1, "no ping before the timeout");
        s.step(Duration::from_secs(1)).await;
        assert_eq!(s.pings.get(), n);
    }
    assert_eq!(s.agent.pings(), vec![true; 6]);
    assert!(s.events().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn disconnect_and_reconnect_set_the_connected_flag_of_later_pings() {
    let s = setup(FakeAgent::answering(true)).await;
    s.observer.disconnect();
    within(s.lp.settle()).await;
    assert_eq!(s.agent.pings(), vec![true], "a disconnect sends no ping by itself");
    s.step(T).await;
    s.step(T).await;
    s.observer.reconnect();
    s.step(T).await;
    assert_eq!(s.agent.pings(), vec![true, false, false, true]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn answered_pings_keep_the_agent_healthy() {
    let s = setup(FakeAgent::answering(true)).await;
    for _ in 0..(4 * MAX) {
        s.step(T).await;
    }
    assert!(s.events().is_empty());
}

/// Also `PartitionTest.PartitionedSlave`, the observer's part: with every pong lost, the
/// `max_agent_ping_timeouts`-th timeout after the first ping marks the agent.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unanswered_pings_mark_the_agent_unreachable_once_at_the_limit() {
    let s = setup(FakeAgent::answering(false)).await;
    for n in 1..MAX {
        s.step(T).await;
        assert!(s.events().is_empty(), "nothing after {n} missed pongs");
    }
    s.step(T - Duration::from_millis(1)).await;
    assert!(s.events().is_empty());
    s.step(Duration::from_millis(1)).await;
    assert_eq!(s.events(), vec![scheduled(), marked()]);
    // It keeps pinging: pings at 0, T, ..., MAX * T.
    assert_eq!(s.pings.get(), MAX + 1);
}

/// `PartitionTest.FailHealthChecksTwice`, the observer's part: until the master terminates it,
/// the observer asks again at every further missed pong.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_further_missed_pong_asks_again_until_terminated() {
    let s = setup(FakeAgent::answering(false)).await;
    for _ in 0..MAX {
        s.step(T).await;
    }
    assert_eq!(s.marks(), 1);
    s.step(T).await;
    assert_eq!(s.events(), vec![scheduled(), marked(), scheduled(), marked()]);

    within(s.observer.terminate()).await.unwrap();
    let pings = s.pings.get();
    for _ in 0..MAX {
        s.step(T).await;
    }
    assert_eq!(s.pings.get(), pings);
    assert_eq!(s.marks(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_late_pong_resets_the_count() {
    let s = setup(FakeAgent::answering(false)).await;
    for _ in 2..MAX {
        s.step(T).await;
    }
    // MAX - 2 misses so far; the timeout at (MAX - 1) * T counts the last one before the
    // limit, and the ping sent then is answered.
    s.agent.answer.store(true, Ordering::SeqCst);
    s.step(T).await;
    assert_eq!(s.pings.get(), MAX);
    s.agent.answer.store(false, Ordering::SeqCst);
    assert!(s.events().is_empty());
    // The ping at (MAX - 1) * T was answered: its timeout does not count; then MAX misses.
    s.step(T).await;
    for n in 1..MAX {
        s.step(T).await;
        assert!(s.events().is_empty(), "nothing after {n} misses since the pong");
    }
    s.step(T).await;
    assert_eq!(s.events(), vec![scheduled(), marked()]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pongs_from_another_process_are_ignored() {
    let s = setup(FakeAgent::answering(false)).await;
    let impostor = s.lp.spawn("impostor", Impostor).unwrap();
    let observer = s.observer.pid().upid().clone();
    let pongs = s.lp.filters().count_messages(MessageMatcher::new(
        Some("mesos.internal.PongSlaveMessage"),
        Some(impostor.upid()),
        Some(&observer),
    ));
    for _ in 0..MAX {
        s.lp.post_protobuf(impostor.upid(), &observer, &PongSlaveMessage {});
        s.step(T).await;
    }
    assert_eq!(pongs.get(), MAX, "the impostor's pongs reached the observer");
    assert_eq!(s.events(), vec![scheduled(), marked()]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn terminate_stops_pinging_and_sends_nothing_else() {
    let s = setup(FakeAgent::answering(false)).await;
    s.step(T).await;
    assert_eq!(s.pings.get(), 2);
    let any_to_agent = s.lp.filters().count_messages(MessageMatcher::new(None, None, Some(&s.agent_pid)));
    within(s.observer.terminate()).await.unwrap();
    for _ in 0..(2 * MAX) {
        s.step(T).await;
    }
    assert_eq!(any_to_agent.get(), 0);
    assert!(s.events().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropping_the_handle_terminates_the_observer() {
    let s = setup(FakeAgent::answering(true)).await;
    let upid = s.observer.pid().upid().clone();
    let Setup { lp, observer, pings, .. } = s;
    drop(observer);
    within(lp.wait(&upid)).await.unwrap();
    lp.clock().advance(T);
    within(lp.settle()).await;
    assert_eq!(pings.get(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn custom_timeout_and_limit() {
    let options =
        SlaveObserverOptions { agent_ping_timeout: Duration::from_secs(2), max_agent_ping_timeouts: 1, limiter: None };
    let s = setup_with(FakeAgent::answering(false), options).await;
    s.step(Duration::from_secs(1)).await;
    assert!(s.events().is_empty());
    s.step(Duration::from_secs(1)).await;
    assert_eq!(s.events(), vec![scheduled(), marked()]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refuses_zero_timeout_or_limit() {
    let lp = instance().await;
    let zero_timeout = SlaveObserverOptions { agent_ping_timeout: Duration::ZERO, ..Default::default() };
    let zero_limit = SlaveObserverOptions { max_agent_ping_timeouts: 0, ..Default::default() };
    let agent = UPID::new("slave(1)", lp.address());
    assert!(matches!(
        SlaveObserverHandle::spawn(&lp, agent.clone(), slave_id(), zero_timeout, |_| {}),
        Err(SlaveObserverError::ZeroPingTimeout)
    ));
    assert!(matches!(
        SlaveObserverHandle::spawn(&lp, agent, slave_id(), zero_limit, |_| {}),
        Err(SlaveObserverError::ZeroMaxPingTimeouts)
    ));
}

async fn setup_limited(agent: FakeAgent) -> (Setup, Arc<MockLimiter>) {
    let limiter = Arc::new(MockLimiter::default());
    let options = SlaveObserverOptions { limiter: Some(limiter.clone()), ..Default::default() };
    (setup_with(agent, options).await, limiter)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rate_limit_slave_removal() {
    let (s, limiter) = setup_limited(FakeAgent::answering(false)).await;
    for _ in 0..MAX {
        s.step(T).await;
    }
    assert_eq!(limiter.acquired.load(Ordering::SeqCst), 1);
    assert_eq!(s.events(), vec![scheduled()], "no mark before the permit");

    // Further misses while the permit is pending ask for nothing more.
    s.step(T).await;
    s.step(T).await;
    assert_eq!(limiter.acquired.load(Ordering::SeqCst), 1);
    assert_eq!(s.pings.get(), MAX + 3, "pinging goes on while the removal is pending");

    limiter.take().set(());
    within(s.lp.settle()).await;
    assert_eq!(s.events(), vec![scheduled(), marked()]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancel_slave_removal() {
    let (s, limiter) = setup_limited(FakeAgent::answering(false)).await;
    for _ in 0..MAX {
        s.step(T).await;
    }
    assert_eq!(s.events(), vec![scheduled()]);
    s.agent.answer.store(true, Ordering::SeqCst);
    // The next ping is answered: its pong asks the limiter to drop the request.
    s.step(T).await;
    assert_eq!(limiter.canceled.load(Ordering::SeqCst), 1);
    assert_eq!(s.events(), vec![scheduled()], "the request stays until the limiter lets go");

    // More pongs while the request is pending do not cancel twice.
    s.step(T).await;
    assert_eq!(limiter.canceled.load(Ordering::SeqCst), 1);

    drop(limiter.take());
    within(s.lp.settle()).await;
    assert_eq!(s.events(), vec![scheduled(), canceled()]);
    for _ in 0..(2 * MAX) {
        s.step(T).await;
    }
    assert_eq!(s.marks(), 0);
}

/// A pong that comes after the limiter granted the permit is too late (C++ `discard` on a
/// ready future does nothing).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pong_after_the_permit_does_not_cancel() {
    let (s, limiter) = setup_limited(FakeAgent::answering(false)).await;
    for _ in 0..MAX {
        s.step(T).await;
    }
    limiter.take().set(());
    within(s.lp.settle()).await;
    assert_eq!(s.events(), vec![scheduled(), marked()]);
    // A pong to the ping sent at `MAX * T`: it resets the count but cancels nothing.
    s.lp.post_protobuf(&s.agent_pid, s.observer.pid().upid(), &PongSlaveMessage {});
    s.step(T).await;
    assert_eq!(s.events(), vec![scheduled(), marked()]);
    assert_eq!(limiter.canceled.load(Ordering::SeqCst), 0);
}

/// Two silent agents behind one real limiter of 1 per 100 s: the second mark waits its turn.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_shared_limiter_spaces_marks_of_several_agents() {
    let lp = instance().await;
    let limiter: Arc<dyn Limiter> =
        Arc::new(RateLimiter::new(lp.clock().clone(), 1, Duration::from_secs(100)).unwrap());
    let events: Events = Arc::default();
    let mut observers = Vec::new();
    for name in ["a", "b"] {
        let agent = lp.spawn(format!("slave-{name}"), FakeAgent::answering(false)).unwrap().upid().clone();
        let sink = events.clone();
        let options = SlaveObserverOptions { limiter: Some(limiter.clone()), ..Default::default() };
        let id = SlaveId { value: name.into() };
        observers
            .push(SlaveObserverHandle::spawn(&lp, agent, id, options, move |e| sink.lock().unwrap().push(e)).unwrap());
    }
    within(lp.settle()).await;
    let marks = || -> Vec<String> {
        events
            .lock()
            .unwrap()
            .iter()
            .filter_map(|e| match e {
                SlaveObserverEvent::MarkUnreachable { slave_id, .. } => Some(slave_id.value.clone()),
                _ => None,
            })
            .collect()
    };
    for _ in 0..MAX {
        lp.clock().advance(T);
        within(lp.settle()).await;
    }
    assert_eq!(marks().len(), 1, "one permit at once");
    lp.clock().advance(Duration::from_secs(99));
    within(lp.settle()).await;
    assert_eq!(marks().len(), 1);
    lp.clock().advance(Duration::from_secs(1));
    within(lp.settle()).await;
    let mut both = marks();
    both.sort();
    assert_eq!(both, vec!["a".to_string(), "b".to_string()]);
}

// libprocess `LimiterTest` cases on our limiter.

fn is_pending(future: &Future<()>) -> bool {
    !future.is_ready()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn limiter_acquire() {
    let lp = instance().await;
    let limiter = RateLimiter::new(lp.clock().clone(), 2, Duration::from_millis(5)).unwrap();
    let interval = limiter.interval();
    assert_eq!(interval, Duration::from_micros(2500));
    let (acquire1, _c1) = limiter.acquire();
    let (acquire2, _c2) = limiter.acquire();
    let (acquire3, _c3) = limiter.acquire();
    assert!(acquire1.is_ready());
    assert!(is_pending(&acquire2));
    lp.clock().advance(interval);
    assert!(acquire2.is_ready());
    assert!(is_pending(&acquire3));
    lp.clock().advance(interval);
    assert_eq!(within(acquire3).await, Ok(()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn limiter_discard_middle() {
    let lp = instance().await;
    let limiter = RateLimiter::new(lp.clock().clone(), 2, Duration::from_millis(5)).unwrap();
    let interval = limiter.interval();
    let (acquire1, _c1) = limiter.acquire();
    let (acquire2, mut cancel2) = limiter.acquire();
    let (acquire3, _c3) = limiter.acquire();
    let (acquire4, _c4) = limiter.acquire();
    assert!(acquire1.is_ready());
    cancel2.cancel();
    assert_eq!(within(acquire2).await, Err(Failure::Discarded));
    lp.clock().advance(interval);
    assert!(acquire3.is_ready());
    assert!(is_pending(&acquire4));
    lp.clock().advance(interval);
    assert!(acquire4.is_ready());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn limiter_discard_last() {
    let lp = instance().await;
    let limiter = RateLimiter::new(lp.clock().clone(), 2, Duration::from_millis(5)).unwrap();
    let interval = limiter.interval();
    let (acquire1, _c1) = limiter.acquire();
    let (_acquire2, mut cancel2) = limiter.acquire();
    assert!(acquire1.is_ready());
    cancel2.cancel();
    let (acquire3, _c3) = limiter.acquire();
    assert!(is_pending(&acquire3));
    lp.clock().advance(interval);
    assert!(acquire3.is_ready());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn limiter_grants_at_once_after_an_idle_interval_and_refuses_bad_limits() {
    let lp = instance().await;
    let limiter = RateLimiter::new(lp.clock().clone(), 1, Duration::from_secs(20 * 60)).unwrap();
    let (first, _c) = limiter.acquire();
    assert!(first.is_ready());
    lp.clock().advance(Duration::from_secs(20 * 60));
    let (second, _c) = limiter.acquire();
    assert!(second.is_ready(), "nobody waits and the interval has passed");
    let (third, mut cancel) = limiter.acquire();
    assert!(is_pending(&third));
    cancel.cancel();
    cancel.cancel();
    assert_eq!(within(third).await, Err(Failure::Discarded));

    let clock = lp.clock().clone();
    assert_eq!(RateLimiter::new(clock.clone(), 0, Duration::from_secs(1)).err(), Some(RateLimiterError::NoPermits));
    assert_eq!(RateLimiter::new(clock, 1, Duration::ZERO).err(), Some(RateLimiterError::ZeroDuration));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropping_the_limiter_discards_waiting_requests() {
    let lp = instance().await;
    let limiter = RateLimiter::new(lp.clock().clone(), 1, Duration::from_secs(1)).unwrap();
    let (_first, _c1) = limiter.acquire();
    let (second, _c2) = limiter.acquire();
    drop(limiter);
    assert_eq!(within(second).await, Err(Failure::Discarded));
    lp.clock().advance(Duration::from_secs(1));
}
