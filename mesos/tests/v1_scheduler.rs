//! The v1 scheduler library (`mesos::v1::scheduler::Mesos`) against a master played by a process serving `/api/v1/scheduler` over real HTTP: connection, `SUBSCRIBE` and its event stream in JSON and protobuf, calls carrying the stream id, calls dropped before subscribing, `call()` results, unexpected answers turned into `ERROR` events, and reconnection after the master ends the stream.

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use libprocess::http::{Request, Response, Status};
use libprocess::{Config, Context, Future, Libprocess, Process};
use mesos::api::{self, ContentType, Stream, MESOS_STREAM_ID};
use mesos::detector::{create_master_info, StandaloneMasterDetector};
use mesos::proto::scheduler::{call, event, Call, Event};
use mesos::proto::{FrameworkId, FrameworkInfo, TaskId};
use mesos::v1::scheduler::{Callbacks, Flags, Mesos, MesosHandle, State};
use tokio::sync::mpsc::{unbounded_channel, UnboundedReceiver, UnboundedSender};

const WAIT: Duration = Duration::from_secs(10);
const FRAMEWORK_ID: &str = "fw-0000";

async fn within<F: std::future::Future>(future: F) -> F::Output {
    tokio::time::timeout(WAIT, future).await.expect("timed out")
}

/// What the fake master saw: every call with its `Mesos-Stream-Id` header.
type Seen = Arc<Mutex<Vec<(Call, Option<String>)>>>;

/// Plays the master's scheduler endpoint.
struct FakeMaster {
    seen: Seen,
    streams: Vec<Stream>,
}

impl Process for FakeMaster {
    fn initialize(&mut self, ctx: &mut Context<Self>) {
        ctx.route("/api/v1/scheduler", "The scheduler API.", |this: &mut Self, _, request: Request| {
            Future::ready(this.scheduler(request))
        });
    }
}

impl FakeMaster {
    fn scheduler(&mut self, request: Request) -> Response {
        let content_type = match ContentType::of_request(&request) {
            Ok(content_type) => content_type,
            Err(response) => return response,
        };
        let call: Call = match api::decode_call(content_type, &request.body, "Call") {
            Ok(call) => call,
            Err(response) => return response,
        };
        let stream_id = request.headers.get(MESOS_STREAM_ID).map(str::to_string);
        self.seen.lock().unwrap().push((call.clone(), stream_id.clone()));
        match call.r#type() {
            call::Type::Subscribe => {
                let accept = ContentType::accepted(&request).unwrap();
                let (stream, mut response) = Stream::open(accept);
                response.headers.set(MESOS_STREAM_ID, stream.id.to_string());
                let subscribed = Event {
                    r#type: Some(event::Type::Subscribed as i32),
                    subscribed: Some(event::Subscribed {
                        framework_id: FrameworkId { value: FRAMEWORK_ID.into() },
                        heartbeat_interval_seconds: Some(15.0),
                        master_info: None,
                    }),
                    ..Default::default()
                };
                stream.send(&subscribed);
                stream.send(&Event { r#type: Some(event::Type::Heartbeat as i32), ..Default::default() });
                self.streams.push(stream);
                response
            }
            call::Type::Kill => Response::bad_request("No such task"),
            call::Type::Reconcile => Response::with_message(Status::SERVICE_UNAVAILABLE, "Not ready"),
            _ => {
                let current = self.streams.last().map(|s| s.id.to_string());
                if stream_id.is_none() || stream_id != current {
                    return Response::bad_request("Stream id mismatch");
                }
                Response::empty(Status::ACCEPTED)
            }
        }
    }
}

/// What the library told the framework.
#[derive(Debug)]
enum Told {
    Connected,
    Disconnected,
    Events(VecDeque<Event>),
}

struct Recorder {
    told: UnboundedSender<Told>,
    /// Subscribes on `connected`, as frameworks do.
    subscribe: bool,
}

impl Callbacks for Recorder {
    fn connected(&mut self, mesos: &MesosHandle) {
        let _ = self.told.send(Told::Connected);
        if self.subscribe {
            mesos.send(subscribe_call());
        }
    }
    fn disconnected(&mut self, _mesos: &MesosHandle) {
        let _ = self.told.send(Told::Disconnected);
    }
    fn received(&mut self, _mesos: &MesosHandle, events: VecDeque<Event>) {
        let _ = self.told.send(Told::Events(events));
    }
}

fn subscribe_call() -> Call {
    Call {
        r#type: Some(call::Type::Subscribe as i32),
        subscribe: Some(call::Subscribe {
            framework_info: FrameworkInfo { user: "u".into(), name: "v1 test".into(), ..Default::default() },
            ..Default::default()
        }),
        ..Default::default()
    }
}

fn framework_call(kind: call::Type) -> Call {
    Call {
        r#type: Some(kind as i32),
        framework_id: Some(FrameworkId { value: FRAMEWORK_ID.into() }),
        ..Default::default()
    }
}

struct Setup {
    _lp: Libprocess,
    master: libprocess::PID<FakeMaster>,
    seen: Seen,
    mesos: Mesos,
    told: UnboundedReceiver<Told>,
}

async fn setup(content_type: ContentType, subscribe: bool) -> Setup {
    let config = Config { ip: Some(std::net::Ipv4Addr::LOCALHOST), ..Config::default() };
    let lp = Libprocess::initialize(config).await.expect("libprocess starts");
    let seen = Seen::default();
    let master = lp.spawn("master", FakeMaster { seen: seen.clone(), streams: Vec::new() }).unwrap();
    let detector = Arc::new(StandaloneMasterDetector::new(Some(create_master_info(master.upid()))));
    let (tx, told) = unbounded_channel();
    let flags = Flags { connection_delay_max: Duration::from_millis(10) };
    let mesos = Mesos::with_detector(&lp, detector, content_type, Recorder { told: tx, subscribe }, flags).unwrap();
    Setup { _lp: lp, master, seen, mesos, told }
}

async fn next_events(told: &mut UnboundedReceiver<Told>) -> VecDeque<Event> {
    match within(told.recv()).await.expect("the library lives") {
        Told::Events(events) => events,
        other => panic!("expected events, got {other:?}"),
    }
}

/// Waits for events until `kind` arrives; all events up to it.
async fn events_until(told: &mut UnboundedReceiver<Told>, kind: event::Type) -> Vec<Event> {
    let mut all = Vec::new();
    loop {
        let events = next_events(told).await;
        let done = events.iter().any(|e| e.r#type() == kind);
        all.extend(events);
        if done {
            return all;
        }
    }
}

async fn wait_for_state(mesos: &Mesos, state: State) {
    within(async {
        while mesos.state().await.unwrap() != state {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await
}

async fn subscribes_and_sends_calls_with_the_stream_id(content_type: ContentType) {
    let mut s = setup(content_type, true).await;
    assert!(matches!(within(s.told.recv()).await, Some(Told::Connected)));
    let events = events_until(&mut s.told, event::Type::Heartbeat).await;
    assert_eq!(events[0].r#type(), event::Type::Subscribed);
    assert_eq!(events[0].subscribed.as_ref().unwrap().framework_id.value, FRAMEWORK_ID);
    wait_for_state(&s.mesos, State::Subscribed).await;

    s.mesos.send(framework_call(call::Type::Revive));
    let result = within(s.mesos.call(framework_call(call::Type::Suppress))).await.unwrap();
    assert_eq!((result.status_code, result.error), (202, None));
    let seen = s.seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 3, "{seen:?}");
    assert_eq!(seen[0].0.r#type(), call::Type::Subscribe);
    assert_eq!(seen[0].1, None, "SUBSCRIBE carries no stream id");
    assert_eq!(seen[1].0.r#type(), call::Type::Revive);
    assert_eq!(seen[2].0.r#type(), call::Type::Suppress);
    assert!(seen[1].1.is_some() && seen[1].1 == seen[2].1, "calls carry the stream id: {seen:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn subscribes_and_sends_calls_with_the_stream_id_in_json() {
    subscribes_and_sends_calls_with_the_stream_id(ContentType::Json).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn subscribes_and_sends_calls_with_the_stream_id_in_protobuf() {
    subscribes_and_sends_calls_with_the_stream_id(ContentType::Protobuf).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn calls_before_subscribing_are_dropped() {
    let mut s = setup(ContentType::Json, false).await;
    assert!(matches!(within(s.told.recv()).await, Some(Told::Connected)));
    wait_for_state(&s.mesos, State::Connected).await;
    s.mesos.send(framework_call(call::Type::Revive));
    let refused = within(s.mesos.call(framework_call(call::Type::Revive))).await;
    assert!(refused.unwrap_err().to_string().contains("Cannot perform calls until subscribed"));
    // An invalid call is dropped too; then a SUBSCRIBE goes through first.
    s.mesos.send(Call { r#type: Some(call::Type::Accept as i32), ..Default::default() });
    s.mesos.send(subscribe_call());
    events_until(&mut s.told, event::Type::Subscribed).await;
    let seen = s.seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 1, "only SUBSCRIBE reached the master: {seen:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unexpected_answers_become_error_events_and_unavailable_ones_are_logged() {
    let mut s = setup(ContentType::Json, true).await;
    assert!(matches!(within(s.told.recv()).await, Some(Told::Connected)));
    events_until(&mut s.told, event::Type::Heartbeat).await;
    wait_for_state(&s.mesos, State::Subscribed).await;
    let mut reconcile = framework_call(call::Type::Reconcile);
    reconcile.reconcile = Some(call::Reconcile::default());
    s.mesos.send(reconcile);
    let mut kill = framework_call(call::Type::Kill);
    kill.kill = Some(call::Kill { task_id: TaskId { value: "t".into() }, ..Default::default() });
    s.mesos.send(kill.clone());
    let events = next_events(&mut s.told).await;
    assert_eq!(events.len(), 1);
    let error = events[0].error.as_ref().expect("an ERROR event");
    assert_eq!(error.message, "Received unexpected '400 Bad Request' (No such task) for KILL");
    let result = within(s.mesos.call(kill)).await.unwrap();
    assert_eq!(result.status_code, 400);
    assert_eq!(result.error.as_deref(), Some("Received unexpected '400 Bad Request' (No such task)"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_end_of_the_stream_disconnects_and_the_library_reconnects() {
    let mut s = setup(ContentType::Json, true).await;
    assert!(matches!(within(s.told.recv()).await, Some(Told::Connected)));
    events_until(&mut s.told, event::Type::Heartbeat).await;
    // The master ends the stream (drops its writer).
    s.master.dispatch(|master, _| master.streams.clear()).await.unwrap();
    let told = within(s.told.recv()).await;
    assert!(matches!(told, Some(Told::Disconnected)), "{told:?}");
    assert!(matches!(within(s.told.recv()).await, Some(Told::Connected)));
    let events = events_until(&mut s.told, event::Type::Heartbeat).await;
    assert_eq!(events[0].r#type(), event::Type::Subscribed);
    assert_eq!(s.seen.lock().unwrap().iter().filter(|(c, _)| c.r#type() == call::Type::Subscribe).count(), 2);

    // `reconnect` does the same on request.
    wait_for_state(&s.mesos, State::Subscribed).await;
    s.mesos.reconnect();
    assert!(matches!(within(s.told.recv()).await, Some(Told::Disconnected)));
    assert!(matches!(within(s.told.recv()).await, Some(Told::Connected)));
}

#[test]
fn flags_come_from_the_environment() {
    let env = BTreeMap::from([("MESOS_CONNECTION_DELAY_MAX".to_string(), "2secs".to_string())]);
    assert_eq!(Flags::from_env(&env).unwrap().connection_delay_max, Duration::from_secs(2));
    let bad = BTreeMap::from([("MESOS_CONNECTION_DELAY_MAX".to_string(), "soon".to_string())]);
    assert!(Flags::from_env(&bad).unwrap_err().starts_with("Failed to load flag 'connection_delay_max'"));
    assert_eq!(Flags::from_env(&BTreeMap::new()).unwrap().connection_delay_max, Duration::from_millis(500));
}
