//! The v1 executor library (`mesos::v1::executor::Mesos`) against a fake agent serving `/slave(1)/api/v1/executor` in another instance, over real TCP, the library's clock paused: connection and `SUBSCRIBE`, events in order, calls with their headers, calls dropped before subscription, the loss of the agent (shutdown and the process-group kill, or reconnection and the recovery timeout when checkpointing), unexpected answers as `ERROR` events (the flows of `src/tests/executor_http_api_tests.cpp`, library side).

use std::collections::VecDeque;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use libprocess::http::{Request, Response, Status};
use libprocess::{Config, Context, Future, Libprocess, Process};
use mesos::api::{ContentType, Stream};
use mesos::proto::executor::{call, event, Call, Event};
use mesos::proto::task_status::Source;
use mesos::proto::{ExecutorId, ExecutorInfo, FrameworkId, FrameworkInfo, SlaveInfo, TaskId, TaskState, TaskStatus};
use mesos::v1::executor::{Callbacks, Handle, Mesos};
use tokio::sync::mpsc::{unbounded_channel, UnboundedReceiver, UnboundedSender};

const WAIT: Duration = Duration::from_secs(10);

async fn within<F: std::future::Future>(future: F) -> F::Output {
    tokio::time::timeout(WAIT, future).await.expect("in time")
}

// ----- the fake agent -----

#[derive(Default)]
struct Book {
    /// Each call with its `Content-Type` and `Accept`.
    calls: Vec<(String, String, Call)>,
    streams: Vec<Stream>,
    /// The answer to calls other than `SUBSCRIBE` (202 unless set).
    answer: Option<Status>,
    /// The answer to the next `SUBSCRIBE` instead of a stream.
    refuse_subscribe: Option<Status>,
}

struct FakeAgent {
    book: Arc<Mutex<Book>>,
}

impl Process for FakeAgent {
    fn initialize(&mut self, ctx: &mut Context<Self>) {
        ctx.route("/api/v1/executor", "fake", |this: &mut FakeAgent, _ctx, request: Request| {
            let content_type = ContentType::of_request(&request).unwrap();
            let call: Call = mesos::api::decode_call(content_type, &request.body, "Call").unwrap();
            let mut book = this.book.lock().unwrap();
            let header = |name: &str| request.headers.get(name).unwrap_or("").to_string();
            book.calls.push((header("Content-Type"), header("Accept"), call.clone()));
            if call.r#type() == call::Type::Subscribe {
                if let Some(status) = book.refuse_subscribe.take() {
                    return Future::ready(Response::with_message(status, "not now"));
                }
                let (stream, response) = Stream::open(ContentType::accepted(&request).unwrap());
                book.streams.push(stream);
                return Future::ready(response);
            }
            Future::ready(match book.answer {
                Some(status) => Response::with_message(status, "refused"),
                None => Response::empty(Status::ACCEPTED),
            })
        });
    }
}

// ----- the executor's callbacks -----

#[derive(Debug)]
enum Seen {
    Connected,
    Disconnected,
    Event(Box<Event>),
}

struct Recorder(UnboundedSender<Seen>);

impl Callbacks for Recorder {
    fn connected(&mut self, _mesos: &Handle) {
        let _ = self.0.send(Seen::Connected);
    }

    fn disconnected(&mut self, _mesos: &Handle) {
        let _ = self.0.send(Seen::Disconnected);
    }

    fn received(&mut self, _mesos: &Handle, events: VecDeque<Event>) {
        for event in events {
            let _ = self.0.send(Seen::Event(Box::new(event)));
        }
    }
}

struct Setup {
    lp: Libprocess,
    agent_lp: Libprocess,
    book: Arc<Mutex<Book>>,
    mesos: Mesos,
    seen: UnboundedReceiver<Seen>,
    kills: Arc<AtomicUsize>,
}

impl Setup {
    async fn start(content_type: ContentType, checkpoint: bool) -> Setup {
        let _ = tracing_subscriber::fmt().with_test_writer().try_init();
        let config = Config { ip: Some(std::net::Ipv4Addr::LOCALHOST), ..Config::default() };
        let agent_lp = Libprocess::initialize(config.clone()).await.unwrap();
        let book = Arc::new(Mutex::new(Book::default()));
        let agent = agent_lp.spawn("slave(1)", FakeAgent { book: book.clone() }).unwrap();
        let lp = Libprocess::initialize(config).await.unwrap();
        lp.clock().pause();
        let (sender, seen) = unbounded_channel();
        let mut environment = vec![
            ("MESOS_SLAVE_PID".to_string(), agent.upid().to_string()),
            ("MESOS_EXECUTOR_SHUTDOWN_GRACE_PERIOD".to_string(), "5secs".to_string()),
        ];
        if checkpoint {
            environment.push(("MESOS_CHECKPOINT".into(), "1".into()));
            environment.push(("MESOS_RECOVERY_TIMEOUT".into(), "1mins".into()));
            environment.push(("MESOS_SUBSCRIPTION_BACKOFF_MAX".into(), "2secs".into()));
        }
        let kills = Arc::new(AtomicUsize::new(0));
        let counted = kills.clone();
        let kill = Arc::new(move || {
            counted.fetch_add(1, Ordering::SeqCst);
        });
        let mesos =
            Mesos::with_process_group_kill(&lp, content_type, Recorder(sender), environment, kill).expect("starts");
        Setup { lp, agent_lp, book, mesos, seen, kills }
    }

    async fn next(&mut self) -> Seen {
        within(self.seen.recv()).await.expect("the library runs")
    }

    async fn event(&mut self) -> Event {
        match self.next().await {
            Seen::Event(event) => *event,
            other => panic!("expected an event, got {other:?}"),
        }
    }

    /// Waits until the agent has `n` calls.
    async fn calls(&self, n: usize) -> Vec<(String, String, Call)> {
        within(async {
            loop {
                let calls = self.book.lock().unwrap().calls.clone();
                if calls.len() >= n {
                    return calls;
                }
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        })
        .await
    }

    async fn subscribed_stream(&self, n: usize) -> Stream {
        within(async {
            loop {
                if let Some(stream) = self.book.lock().unwrap().streams.get(n - 1).cloned() {
                    return stream;
                }
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        })
        .await
    }
}

fn ids() -> (FrameworkId, ExecutorId) {
    (FrameworkId { value: "F0".into() }, ExecutorId { value: "E0".into() })
}

fn call_of(kind: call::Type) -> Call {
    let (framework_id, executor_id) = ids();
    Call { r#type: Some(kind as i32), framework_id, executor_id, ..Call::default() }
}

fn subscribe() -> Call {
    Call { subscribe: Some(call::Subscribe::default()), ..call_of(call::Type::Subscribe) }
}

fn update() -> Call {
    let status = TaskStatus {
        task_id: TaskId { value: "T0".into() },
        state: TaskState::TaskRunning as i32,
        source: Some(Source::Executor as i32),
        uuid: Some(mesos::state::Uuid::random().as_bytes().to_vec()),
        ..TaskStatus::default()
    };
    Call { update: Some(call::Update { status }), ..call_of(call::Type::Update) }
}

fn subscribed() -> Event {
    Event {
        r#type: Some(event::Type::Subscribed as i32),
        subscribed: Some(event::Subscribed {
            executor_info: ExecutorInfo { executor_id: ids().1, ..ExecutorInfo::default() },
            framework_info: FrameworkInfo { id: Some(ids().0), ..FrameworkInfo::default() },
            slave_info: SlaveInfo { hostname: "agent".into(), ..SlaveInfo::default() },
            container_id: None,
        }),
        ..Event::default()
    }
}

/// Connected and subscribed; the agent's stream.
async fn subscribe_now(setup: &mut Setup) -> Stream {
    assert!(matches!(setup.next().await, Seen::Connected));
    let before = setup.book.lock().unwrap().streams.len();
    setup.mesos.send(subscribe());
    let stream = setup.subscribed_stream(before + 1).await;
    stream.send(&subscribed());
    assert_eq!(setup.event().await.r#type(), event::Type::Subscribed);
    stream
}

#[tokio::test]
async fn it_subscribes_gets_events_in_order_and_sends_calls_with_their_headers() {
    for content_type in [ContentType::Json, ContentType::Protobuf] {
        let mut setup = Setup::start(content_type, false).await;
        assert!(matches!(setup.next().await, Seen::Connected));
        // Not subscribed yet: an update is dropped, never sent.
        setup.mesos.send(update());
        setup.mesos.send(subscribe());
        let stream = setup.subscribed_stream(1).await;
        stream.send(&subscribed());
        let message = Event {
            r#type: Some(event::Type::Message as i32),
            message: Some(event::Message { data: b"hi".to_vec() }),
            ..Event::default()
        };
        stream.send(&message);
        assert_eq!(setup.event().await.r#type(), event::Type::Subscribed);
        assert_eq!(setup.event().await, message);

        let sent = update();
        setup.mesos.send(sent.clone());
        let calls = setup.calls(2).await;
        assert_eq!(calls.len(), 2, "the early update was dropped");
        assert_eq!(calls[0].2.r#type(), call::Type::Subscribe);
        assert_eq!(calls[1].2, sent);
        for (media, accept, _) in &calls {
            assert_eq!(media, content_type.media_type());
            assert_eq!(accept, content_type.media_type());
        }
        // A second SUBSCRIBE while subscribed is dropped too.
        setup.mesos.send(subscribe());
        setup.mesos.send(update());
        assert_eq!(setup.calls(3).await[2].2.r#type(), call::Type::Update);
    }
}

#[tokio::test]
async fn losing_the_agent_shuts_a_non_checkpointing_executor_down() {
    let mut setup = Setup::start(ContentType::Json, false).await;
    let stream = subscribe_now(&mut setup).await;
    stream.close();
    assert!(matches!(setup.next().await, Seen::Disconnected));
    assert_eq!(setup.event().await.r#type(), event::Type::Shutdown);
    setup.lp.settle().await;
    setup.lp.clock().advance(Duration::from_secs(4));
    setup.lp.settle().await;
    assert_eq!(setup.kills.load(Ordering::SeqCst), 0);
    setup.lp.clock().advance(Duration::from_secs(1));
    setup.lp.settle().await;
    assert_eq!(setup.kills.load(Ordering::SeqCst), 1, "the process group is killed after the grace period");
}

#[tokio::test]
async fn a_checkpointing_executor_reconnects_and_gives_up_after_the_recovery_timeout() {
    let mut setup = Setup::start(ContentType::Json, true).await;
    let stream = subscribe_now(&mut setup).await;
    stream.close();
    assert!(matches!(setup.next().await, Seen::Disconnected));
    // It reconnects at once (the first attempt of the backoff) and may subscribe again.
    let _again = subscribe_now(&mut setup).await;

    // The agent goes for good: the recovery timeout runs from the loss.
    setup.agent_lp.shutdown().await;
    assert!(matches!(setup.next().await, Seen::Disconnected));
    for _ in 0..30 {
        setup.lp.settle().await;
        setup.lp.clock().advance(Duration::from_secs(2));
        setup.lp.settle().await;
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(setup.event().await.r#type(), event::Type::Shutdown);
}

#[tokio::test]
async fn a_refused_subscribe_can_be_retried_and_unexpected_answers_are_errors() {
    let mut setup = Setup::start(ContentType::Json, false).await;
    setup.book.lock().unwrap().refuse_subscribe = Some(Status::SERVICE_UNAVAILABLE);
    assert!(matches!(setup.next().await, Seen::Connected));
    setup.mesos.send(subscribe());
    setup.calls(1).await;
    // Back to connected: SUBSCRIBE goes again, on a new connection.
    let stream = within(async {
        loop {
            setup.mesos.send(subscribe());
            tokio::time::sleep(Duration::from_millis(20)).await;
            if let Some(stream) = setup.book.lock().unwrap().streams.first().cloned() {
                return stream;
            }
        }
    })
    .await;
    stream.send(&subscribed());
    assert_eq!(setup.event().await.r#type(), event::Type::Subscribed);

    setup.book.lock().unwrap().answer = Some(Status::BAD_REQUEST);
    setup.mesos.send(update());
    let error = setup.event().await;
    assert_eq!(error.r#type(), event::Type::Error);
    assert_eq!(error.error.unwrap().message, "Received unexpected '400 Bad Request' (refused) for UPDATE");
    // Undecodable events are errors too, and the stream goes on.
    stream.send_serialized(b"{\"type\":");
    let error = setup.event().await;
    assert!(error.error.unwrap().message.starts_with("Failed to de-serialize event: "));
    stream.send(&Event { r#type: Some(event::Type::Heartbeat as i32), ..Event::default() });
    assert_eq!(setup.event().await.r#type(), event::Type::Heartbeat);
}
