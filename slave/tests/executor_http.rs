//! The agent's v1 executor HTTP API over real TCP, with the real agent actor on a paused clock, a fake master and containerizer (processes in the test's instance) and an executor played by the test with an HTTP client: SUBSCRIBE and its SUBSCRIBED content, LAUNCH, UPDATE forwarded to the master and ACKNOWLEDGED back, MESSAGE both ways, KILL, SHUTDOWN, heartbeats, resubscription with unacknowledged updates and tasks, the registration timeout, every status code of `Http::executor` with its text, hostile bodies; and the real `mesos-executor` in HTTP mode running a command task to `TASK_FINISHED` (the flows of `src/tests/executor_http_api_tests.cpp` and `src/tests/slave_tests.cpp`).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use libprocess::http::client::{ClientRequest, Connection};
use libprocess::http::{Body, Response, Status};
use libprocess::{Bytes, Libprocess, ProtobufMessage, UPID};
use mesos::api::ContentType;
use mesos::internal::{
    ExecutorToFrameworkMessage, FrameworkToExecutorMessage, KillTaskMessage, MasterSlaveConnection, RunTaskMessage,
    ShutdownFrameworkMessage, SlaveRegisteredMessage, StatusUpdateAcknowledgementMessage, StatusUpdateMessage,
};
use mesos::proto::executor::{call, event, Call, Event};
use mesos::proto::task_status::{Reason, Source};
use mesos::proto::{
    CommandInfo, ContainerId, DurationInfo, ExecutorId, FrameworkId, FrameworkInfo, KillPolicy, SlaveId, TaskId,
    TaskInfo, TaskState, TaskStatus,
};
use mesos::resources::Resources;
use mesos::state::Uuid;
use slave::slave::{Options, SlaveHandle, State};

mod common;

use common::{eventually, within, Fake, FakeContainerizer};

fn names_of_master() -> Vec<&'static str> {
    vec![
        libprocess::protobuf::type_name::<mesos::internal::RegisterSlaveMessage>(),
        libprocess::protobuf::type_name::<StatusUpdateMessage>(),
        libprocess::protobuf::type_name::<mesos::internal::ExitedExecutorMessage>(),
        libprocess::protobuf::type_name::<ExecutorToFrameworkMessage>(),
        libprocess::protobuf::type_name::<mesos::internal::UpdateSlaveMessage>(),
    ]
}

// ----- the cluster -----

struct Cluster {
    lp: Libprocess,
    master: Fake,
    scheduler: Fake,
    agent: SlaveHandle,
    containerizer: FakeContainerizer,
    slave_id: SlaveId,
    work_dir: tempfile::TempDir,
}

impl Cluster {
    /// A registered agent (`S0`) on a paused clock.
    async fn start() -> Cluster {
        common::init_logging();
        let lp = common::loopback_instance().await;
        lp.clock().pause();
        let master = Fake::spawn(&lp, "master", names_of_master());
        let scheduler =
            Fake::spawn(&lp, "scheduler", vec![libprocess::protobuf::type_name::<ExecutorToFrameworkMessage>()]);
        let work_dir = tempfile::tempdir().unwrap();
        let containerizer = FakeContainerizer::default();
        let info = common::agent_info(&lp, None);
        let mut options = Options::new(work_dir.path().to_path_buf());
        options.http_command_executor = true;
        let slave = common::agent(&lp, master.upid(), info, options, Arc::new(containerizer.clone()));
        let agent = SlaveHandle::spawn(&lp, slave).unwrap();
        lp.settle().await;
        let mut cluster =
            Cluster { lp, master, scheduler, agent, containerizer, slave_id: SlaveId::default(), work_dir };
        cluster.advance(Duration::from_secs(1)).await;
        let slave_id = SlaveId { value: "S0".into() };
        let connection = MasterSlaveConnection { total_ping_timeout_seconds: Some(75.0) };
        cluster.send_from_master(&SlaveRegisteredMessage { slave_id: slave_id.clone(), connection: Some(connection) });
        cluster.settle().await;
        assert_eq!(within(cluster.agent.state()).await.unwrap(), State::Running);
        cluster.slave_id = slave_id;
        cluster
    }

    async fn settle(&self) {
        self.lp.settle().await;
    }

    async fn advance(&self, by: Duration) {
        self.lp.clock().advance(by);
        self.lp.settle().await;
    }

    fn agent_pid(&self) -> UPID {
        self.agent.pid.upid().clone()
    }

    fn send_from_master<M: ProtobufMessage>(&self, message: &M) {
        self.lp.post_protobuf(self.master.upid(), &self.agent_pid(), message);
    }

    /// Sends the command task `task` of `framework`; returns its container and the
    /// executor's environment.
    async fn run_task(&self, task: &str, framework: FrameworkInfo) -> (ContainerId, BTreeMap<String, String>) {
        let task = TaskInfo {
            name: task.into(),
            task_id: TaskId { value: task.into() },
            slave_id: self.slave_id.clone(),
            resources: Resources::parse("cpus:1;mem:128", "*").unwrap().to_vec(),
            command: Some(CommandInfo { value: Some("sleep 1000".into()), ..CommandInfo::default() }),
            ..TaskInfo::default()
        };
        let message = RunTaskMessage {
            framework_id: None,
            framework,
            task,
            resource_version_uuids: Vec::new(),
            pid: Some(self.scheduler.upid().to_string()),
            launch_executor: Some(true),
        };
        self.send_from_master(&message);
        self.settle().await;
        let (container_id, _, environment) = self.containerizer.launched().last().cloned().expect("launched");
        (container_id, environment)
    }

    fn path(&self) -> String {
        format!("/{}/api/v1/executor", self.agent_pid().id)
    }

    /// A POST of `body` to the executor API, its whole answer.
    async fn post(&self, content_type: Option<&str>, accept: Option<&str>, body: impl Into<Bytes>) -> Response {
        self.post_to(&self.path(), content_type, accept, body).await
    }

    async fn post_to(
        &self,
        path: &str,
        content_type: Option<&str>,
        accept: Option<&str>,
        body: impl Into<Bytes>,
    ) -> Response {
        let mut request = ClientRequest::post(path, content_type.unwrap_or(""), body);
        if content_type.is_none() {
            request.headers = libprocess::http::Headers::new();
        }
        if let Some(accept) = accept {
            request = request.header("Accept", accept);
        }
        let address = std::net::SocketAddr::V4(self.lp.address());
        within(libprocess::http::client::request(address, &request)).await.expect("answered")
    }

    /// A call encoded as `content_type`, posted.
    async fn call(&self, content_type: ContentType, call: &Call) -> Response {
        let body = mesos::api::serialize(content_type, call);
        self.post(Some(content_type.media_type()), Some(content_type.media_type()), body).await
    }

    /// `SUBSCRIBE` as the executor of `environment`.
    async fn subscribe(&self, environment: &BTreeMap<String, String>, subscribe: call::Subscribe) -> Events {
        self.subscribe_as(environment, subscribe, ContentType::Json).await
    }

    async fn subscribe_as(
        &self,
        environment: &BTreeMap<String, String>,
        subscribe: call::Subscribe,
        content_type: ContentType,
    ) -> Events {
        let call = Call { subscribe: Some(subscribe), ..call_of(environment, call::Type::Subscribe) };
        let request =
            ClientRequest::post(self.path(), content_type.media_type(), mesos::api::serialize(content_type, &call))
                .header("Accept", content_type.media_type());
        let connection = within(Connection::connect(std::net::SocketAddr::V4(self.lp.address()))).await.unwrap();
        let response = within(connection.stream(&request)).await.expect("subscribed");
        assert_eq!(response.status, Status::OK);
        assert_eq!(response.headers.get("Content-Type"), Some(content_type.media_type()));
        assert!(response.headers.get("Mesos-Stream-Id").is_none(), "executors get no stream id");
        let Body::Pipe(chunks) = response.body else { panic!("not a stream") };
        Events { chunks, decoder: mesos::recordio::Decoder::default(), records: Vec::new(), content_type }
    }
}

/// The event stream of a subscribed executor.
struct Events {
    chunks: tokio::sync::mpsc::UnboundedReceiver<Bytes>,
    decoder: mesos::recordio::Decoder,
    records: Vec<Bytes>,
    content_type: ContentType,
}

impl Events {
    /// The next record as sent.
    async fn record(&mut self) -> Option<Bytes> {
        while self.records.is_empty() {
            let chunk = within(self.chunks.recv()).await?;
            self.records.extend(self.decoder.decode(&chunk).expect("RecordIO"));
            self.records.reverse();
        }
        self.records.pop()
    }

    async fn next(&mut self) -> Event {
        let record = self.record().await.expect("an event");
        mesos::v1::executor::decode_event(self.content_type, &record).expect("an event")
    }

    /// Whether the agent ended the stream.
    async fn ended(&mut self) -> bool {
        self.record().await.is_none()
    }
}

fn framework_info() -> FrameworkInfo {
    FrameworkInfo {
        user: String::new(),
        name: "framework".into(),
        id: Some(FrameworkId { value: "F0".into() }),
        checkpoint: Some(true),
        ..FrameworkInfo::default()
    }
}

fn call_of(environment: &BTreeMap<String, String>, kind: call::Type) -> Call {
    Call {
        r#type: Some(kind as i32),
        framework_id: FrameworkId { value: environment["MESOS_FRAMEWORK_ID"].clone() },
        executor_id: ExecutorId { value: environment["MESOS_EXECUTOR_ID"].clone() },
        ..Call::default()
    }
}

fn status(task: &str, state: TaskState) -> TaskStatus {
    TaskStatus {
        task_id: TaskId { value: task.into() },
        state: state as i32,
        source: Some(Source::Executor as i32),
        uuid: Some(Uuid::random().as_bytes().to_vec()),
        timestamp: Some(1.0),
        ..TaskStatus::default()
    }
}

fn update_call(environment: &BTreeMap<String, String>, status: TaskStatus) -> Call {
    Call { update: Some(call::Update { status }), ..call_of(environment, call::Type::Update) }
}

fn body(response: &Response) -> String {
    match &response.body {
        Body::Bytes(bytes) => String::from_utf8_lossy(bytes).into_owned(),
        _ => String::new(),
    }
}

fn states(updates: &[StatusUpdateMessage]) -> Vec<TaskState> {
    updates.iter().map(|m| TaskState::try_from(m.update.status.state).unwrap()).collect()
}

// ----- subscription -----

#[tokio::test]
async fn subscribe_gets_subscribed_with_every_info_then_the_task() {
    let cluster = Cluster::start().await;
    let (container_id, environment) = cluster.run_task("t1", framework_info()).await;
    assert_eq!(environment["MESOS_HTTP_COMMAND_EXECUTOR"], "1");
    let mut events = cluster.subscribe(&environment, call::Subscribe::default()).await;

    // The first record is SUBSCRIBED in v1 JSON (`agent_info`, not `slave_info`).
    let record = events.record().await.unwrap();
    let text = String::from_utf8(record.to_vec()).unwrap();
    assert!(text.starts_with(r#"{"type":"SUBSCRIBED","subscribed":{"executor_info":"#), "{text}");
    assert!(text.contains(r#""agent_info":"#) && !text.contains("slave_info"), "{text}");
    let subscribed = mesos::v1::executor::decode_event(ContentType::Json, &record).unwrap().subscribed.unwrap();
    assert_eq!(subscribed.executor_info.executor_id.value, "t1");
    assert_eq!(subscribed.framework_info.id.as_ref().unwrap().value, "F0");
    assert_eq!(subscribed.slave_info.id.as_ref().unwrap().value, "S0");
    assert_eq!(subscribed.slave_info.hostname, "agent.example");
    assert_eq!(subscribed.container_id.as_ref(), Some(&container_id));

    let launch = events.next().await;
    assert_eq!(launch.r#type(), event::Type::Launch);
    assert_eq!(launch.launch.unwrap().task.task_id.value, "t1");

    // Subscribed, the executor is not destroyed when the registration timeout passes.
    cluster.advance(Duration::from_secs(61)).await;
    assert!(cluster.containerizer.destroyed().is_empty());
    // The checkpointing framework's executor is marked as an HTTP one.
    let meta = slave::paths::meta_root_dir(cluster.work_dir.path());
    let executor_id = ExecutorId { value: "t1".into() };
    let framework_id = FrameworkId { value: "F0".into() };
    let marker =
        slave::paths::executor_http_marker_path(&meta, &cluster.slave_id, &framework_id, &executor_id, &container_id);
    assert!(marker.is_file(), "{}", marker.display());
}

#[tokio::test]
async fn protobuf_subscribers_get_protobuf_events() {
    let cluster = Cluster::start().await;
    let (_, environment) = cluster.run_task("t1", framework_info()).await;
    let mut events = cluster.subscribe_as(&environment, call::Subscribe::default(), ContentType::Protobuf).await;
    assert_eq!(events.next().await.r#type(), event::Type::Subscribed);
    assert_eq!(events.next().await.r#type(), event::Type::Launch);
}

#[tokio::test]
async fn an_executor_that_never_subscribes_is_destroyed_after_the_registration_timeout() {
    let cluster = Cluster::start().await;
    let (container_id, _) = cluster.run_task("t1", framework_info()).await;
    cluster.advance(Duration::from_secs(59)).await;
    assert!(cluster.containerizer.destroyed().is_empty());
    cluster.advance(Duration::from_secs(2)).await;
    assert_eq!(cluster.containerizer.destroyed(), [container_id]);
    let updates = cluster.master.messages::<StatusUpdateMessage>();
    assert_eq!(states(&updates), [TaskState::TaskFailed]);
    assert_eq!(updates[0].update.status.reason, Some(Reason::ExecutorRegistrationTimeout as i32));
}

// ----- updates and acknowledgements -----

#[tokio::test]
async fn an_update_is_forwarded_to_the_master_and_acknowledged_on_the_stream() {
    let cluster = Cluster::start().await;
    let (_, environment) = cluster.run_task("t1", framework_info()).await;
    let mut events = cluster.subscribe(&environment, call::Subscribe::default()).await;
    events.next().await;
    events.next().await;

    let running = status("t1", TaskState::TaskRunning);
    let response = cluster.call(ContentType::Json, &update_call(&environment, running.clone())).await;
    assert_eq!(response.status, Status::ACCEPTED, "{}", body(&response));
    cluster.settle().await;

    let acknowledged = events.next().await;
    assert_eq!(acknowledged.r#type(), event::Type::Acknowledged);
    let acknowledged = acknowledged.acknowledged.unwrap();
    assert_eq!(acknowledged.task_id.value, "t1");
    assert_eq!(Some(acknowledged.uuid), running.uuid);

    let forwarded = cluster.master.messages::<StatusUpdateMessage>();
    assert_eq!(states(&forwarded), [TaskState::TaskRunning]);
    let update = &forwarded[0].update;
    assert_eq!(update.uuid, running.uuid);
    assert_eq!(update.status.source, Some(Source::Executor as i32));
    assert_eq!(update.slave_id.as_ref().map(|s| s.value.as_str()), Some("S0"));
    assert_eq!(update.status.slave_id.as_ref().map(|s| s.value.as_str()), Some("S0"));
    assert_eq!(update.timestamp, 1.0);
    assert_eq!(forwarded[0].pid.as_deref(), Some(cluster.agent_pid().to_string().as_str()));

    // The terminal one, over protobuf, waits for the master's acknowledgement of the first.
    let finished = status("t1", TaskState::TaskFinished);
    let response = cluster.call(ContentType::Protobuf, &update_call(&environment, finished.clone())).await;
    assert_eq!(response.status, Status::ACCEPTED);
    cluster.settle().await;
    assert_eq!(events.next().await.acknowledged.unwrap().uuid, finished.uuid.clone().unwrap());
    assert_eq!(cluster.master.messages::<StatusUpdateMessage>().len(), 1);
    cluster.send_from_master(&StatusUpdateAcknowledgementMessage {
        slave_id: cluster.slave_id.clone(),
        framework_id: FrameworkId { value: "F0".into() },
        task_id: TaskId { value: "t1".into() },
        uuid: running.uuid.clone().unwrap(),
    });
    cluster.settle().await;
    assert_eq!(
        states(&cluster.master.messages::<StatusUpdateMessage>()),
        [TaskState::TaskRunning, TaskState::TaskFinished]
    );
}

#[tokio::test]
async fn resubscription_closes_the_old_stream_and_replays_unacknowledged_updates() {
    let cluster = Cluster::start().await;
    let (_, environment) = cluster.run_task("t1", framework_info()).await;
    let mut first = cluster.subscribe(&environment, call::Subscribe::default()).await;
    first.next().await;
    let task = first.next().await.launch.unwrap().task;

    // The executor lost its acknowledgement; it subscribes again with the update and task.
    let running = status("t1", TaskState::TaskRunning);
    let subscribe = call::Subscribe {
        unacknowledged_tasks: vec![task],
        unacknowledged_updates: vec![call::Update { status: running.clone() }],
    };
    let mut second = cluster.subscribe(&environment, subscribe).await;
    assert!(first.ended().await, "the earlier stream is closed");
    cluster.settle().await;
    // SUBSCRIBED, and the replayed update's acknowledgement once the manager has it.
    let mut seen = Vec::new();
    for _ in 0..2 {
        seen.push(second.next().await);
    }
    let kinds: Vec<_> = seen.iter().map(Event::r#type).collect();
    assert!(kinds.contains(&event::Type::Subscribed) && kinds.contains(&event::Type::Acknowledged), "{kinds:?}");
    let forwarded = cluster.master.messages::<StatusUpdateMessage>();
    assert_eq!(states(&forwarded), [TaskState::TaskRunning]);
    assert_eq!(forwarded[0].update.uuid, running.uuid);
}

#[tokio::test]
async fn a_staging_task_the_executor_does_not_know_is_lost_on_resubscription() {
    let cluster = Cluster::start().await;
    let (_, environment) = cluster.run_task("t1", framework_info()).await;
    let mut first = cluster.subscribe(&environment, call::Subscribe::default()).await;
    first.next().await;
    first.next().await;
    // The executor never got the task (say it died before reading it) and knows nothing.
    let mut second = cluster.subscribe(&environment, call::Subscribe::default()).await;
    cluster.settle().await;
    assert_eq!(second.next().await.r#type(), event::Type::Subscribed);
    let forwarded = cluster.master.messages::<StatusUpdateMessage>();
    assert_eq!(states(&forwarded), [TaskState::TaskLost], "not partition aware: LOST");
    let status = &forwarded[0].update.status;
    assert_eq!(status.reason, Some(Reason::SlaveRestarted as i32));
    assert_eq!(status.message.as_deref(), Some("Task launched during agent restart"));
    assert_eq!(status.source, Some(Source::Slave as i32));
}

// ----- messages, kills, shutdowns, heartbeats -----

#[tokio::test]
async fn messages_go_both_ways() {
    let cluster = Cluster::start().await;
    let (_, environment) = cluster.run_task("t1", framework_info()).await;
    let mut events = cluster.subscribe(&environment, call::Subscribe::default()).await;
    events.next().await;
    events.next().await;

    let message = Call {
        message: Some(call::Message { data: b"to the scheduler".to_vec() }),
        ..call_of(&environment, call::Type::Message)
    };
    assert_eq!(cluster.call(ContentType::Json, &message).await.status, Status::ACCEPTED);
    cluster.settle().await;
    let heard = cluster.scheduler.messages::<ExecutorToFrameworkMessage>();
    assert_eq!(heard.len(), 1);
    assert_eq!(heard[0].data, b"to the scheduler");
    assert_eq!(heard[0].executor_id.value, "t1");
    assert_eq!(heard[0].slave_id.value, "S0");

    cluster.send_from_master(&FrameworkToExecutorMessage {
        slave_id: cluster.slave_id.clone(),
        framework_id: FrameworkId { value: "F0".into() },
        executor_id: ExecutorId { value: "t1".into() },
        data: b"to the executor".to_vec(),
    });
    cluster.settle().await;
    let event = events.next().await;
    assert_eq!(event.r#type(), event::Type::Message);
    assert_eq!(event.message.unwrap().data, b"to the executor");
}

#[tokio::test]
async fn kills_and_shutdowns_reach_the_executor_as_events() {
    let cluster = Cluster::start().await;
    let (container_id, environment) = cluster.run_task("t1", framework_info()).await;
    let mut events = cluster.subscribe(&environment, call::Subscribe::default()).await;
    events.next().await;
    events.next().await;

    let policy = KillPolicy { grace_period: Some(DurationInfo { nanoseconds: 7_000_000_000 }) };
    cluster.send_from_master(&KillTaskMessage {
        framework_id: FrameworkId { value: "F0".into() },
        task_id: TaskId { value: "t1".into() },
        kill_policy: Some(policy),
    });
    cluster.settle().await;
    let kill = events.next().await;
    assert_eq!(kill.r#type(), event::Type::Kill);
    let kill = kill.kill.unwrap();
    assert_eq!(kill.task_id.value, "t1");
    assert_eq!(kill.kill_policy, Some(policy));

    cluster.send_from_master(&ShutdownFrameworkMessage { framework_id: FrameworkId { value: "F0".into() } });
    cluster.settle().await;
    assert_eq!(events.next().await.r#type(), event::Type::Shutdown);
    // The container goes after the shutdown grace period.
    cluster.advance(Duration::from_secs(4)).await;
    assert!(cluster.containerizer.destroyed().is_empty());
    cluster.advance(Duration::from_secs(2)).await;
    assert_eq!(cluster.containerizer.destroyed(), [container_id]);
}

#[tokio::test]
async fn heartbeats_come_every_thirty_minutes_the_first_after_thirty() {
    let cluster = Cluster::start().await;
    let (_, environment) = cluster.run_task("t1", framework_info()).await;
    let mut events = cluster.subscribe(&environment, call::Subscribe::default()).await;
    events.next().await;
    events.next().await;
    // Events on one stream keep their order: an update acknowledged just before the 30
    // minutes end comes before any heartbeat. (Without pings the agent has lost its master
    // by then; heartbeats do not depend on it.)
    cluster.advance(Duration::from_secs(30 * 60 - 1)).await;
    let response =
        cluster.call(ContentType::Json, &update_call(&environment, status("t1", TaskState::TaskRunning))).await;
    assert_eq!(response.status, Status::ACCEPTED);
    cluster.settle().await;
    assert_eq!(events.next().await.r#type(), event::Type::Acknowledged);
    cluster.advance(Duration::from_secs(1)).await;
    assert_eq!(events.next().await.r#type(), event::Type::Heartbeat);
    cluster.advance(Duration::from_secs(30 * 60)).await;
    assert_eq!(events.next().await.r#type(), event::Type::Heartbeat);
}

#[tokio::test]
async fn the_agent_ignores_a_closed_stream() {
    let cluster = Cluster::start().await;
    let (_, environment) = cluster.run_task("t1", framework_info()).await;
    let mut events = cluster.subscribe(&environment, call::Subscribe::default()).await;
    events.next().await;
    drop(events);
    cluster.advance(Duration::from_secs(120)).await;
    assert!(cluster.containerizer.destroyed().is_empty());
    let response =
        cluster.call(ContentType::Json, &update_call(&environment, status("t1", TaskState::TaskRunning))).await;
    assert_eq!(response.status, Status::ACCEPTED);
}

// ----- status codes and bad input -----

#[tokio::test]
async fn every_status_code_comes_in_the_handlers_order_with_its_text() {
    let cluster = Cluster::start().await;
    let (_, environment) = cluster.run_task("t1", framework_info()).await;
    let json = Some("application/json");
    let subscribe =
        Call { subscribe: Some(call::Subscribe::default()), ..call_of(&environment, call::Type::Subscribe) };
    let subscribe_body = mesos::api::serialize(ContentType::Json, &subscribe);

    // 405, with the methods allowed.
    let address = std::net::SocketAddr::V4(cluster.lp.address());
    let get = within(libprocess::http::client::request(address, &ClientRequest::get(cluster.path()))).await.unwrap();
    assert_eq!(get.status, Status::METHOD_NOT_ALLOWED);
    assert_eq!(get.headers.get("Allow"), Some("POST"));
    assert_eq!(body(&get), "405 Method Not Allowed. Expecting one of { 'POST' }, but received 'GET'.");

    // 400 without a Content-Type, 415 with another one.
    let none = cluster.post(None, None, subscribe_body.clone()).await;
    assert_eq!((none.status, body(&none).as_str()), (Status::BAD_REQUEST, "Expecting 'Content-Type' to be present"));
    let text = cluster.post(Some("text/plain"), None, subscribe_body.clone()).await;
    assert_eq!(text.status, Status::UNSUPPORTED_MEDIA_TYPE);
    assert_eq!(body(&text), "Expecting 'Content-Type' of application/json or application/x-protobuf");

    // 400 for bodies that do not parse or validate.
    let malformed = cluster.post(json, None, "{\"type\":").await;
    assert_eq!(malformed.status, Status::BAD_REQUEST);
    assert!(body(&malformed).starts_with("Failed to parse body into JSON: "), "{}", body(&malformed));
    let truncated = prost::Message::encode_to_vec(&subscribe);
    let truncated = cluster.post(Some("application/x-protobuf"), None, truncated[..truncated.len() - 3].to_vec()).await;
    assert_eq!(
        (truncated.status, body(&truncated).as_str()),
        (Status::BAD_REQUEST, "Failed to parse body into Call protobuf")
    );
    let missing = cluster.post(json, None, r#"{"type":"SUBSCRIBE","subscribe":{}}"#).await;
    assert_eq!(missing.status, Status::BAD_REQUEST);
    assert!(body(&missing).starts_with("Failed to convert JSON into Call protobuf: "), "{}", body(&missing));
    let invalid = cluster.call(ContentType::Json, &call_of(&environment, call::Type::Subscribe)).await;
    assert_eq!(
        (invalid.status, body(&invalid).as_str()),
        (Status::BAD_REQUEST, "Failed to validate Executor::Call: Expecting 'subscribe' to be present")
    );

    // 406 for a subscriber that takes neither JSON nor protobuf.
    let html = cluster.post(json, Some("text/html"), subscribe_body.clone()).await;
    assert_eq!(html.status, Status::NOT_ACCEPTABLE);
    assert_eq!(body(&html), "Expecting 'Accept' to allow 'application/x-protobuf' or 'application/json'");

    // 202 for a heartbeat whatever its ids.
    let heartbeat = Call {
        r#type: Some(call::Type::Heartbeat as i32),
        framework_id: FrameworkId { value: "unused".into() },
        executor_id: ExecutorId { value: "unused".into() },
        ..Call::default()
    };
    assert_eq!(cluster.call(ContentType::Json, &heartbeat).await.status, Status::ACCEPTED);

    // 400 for unknown frameworks and executors.
    let mut stranger = subscribe.clone();
    stranger.framework_id.value = "F9".into();
    let unknown = cluster.call(ContentType::Json, &stranger).await;
    assert_eq!((unknown.status, body(&unknown).as_str()), (Status::BAD_REQUEST, "Framework cannot be found"));
    let mut stranger = subscribe.clone();
    stranger.executor_id.value = "E9".into();
    let unknown = cluster.call(ContentType::Json, &stranger).await;
    assert_eq!((unknown.status, body(&unknown).as_str()), (Status::BAD_REQUEST, "Executor cannot be found"));

    // 403 for calls before SUBSCRIBE.
    let early = cluster.call(ContentType::Json, &update_call(&environment, status("t1", TaskState::TaskRunning))).await;
    assert_eq!((early.status, body(&early).as_str()), (Status::FORBIDDEN, "Executor is not subscribed"));

    // 200 for SUBSCRIBE (through the delegate too), then 501 for UNKNOWN.
    cluster.lp.set_delegate(Some(&cluster.agent_pid().id));
    let request = ClientRequest::post("/api/v1/executor", "application/json", subscribe_body.clone());
    let connection = within(Connection::connect(address)).await.unwrap();
    let subscribed = within(connection.stream(&request)).await.unwrap();
    assert_eq!(subscribed.status, Status::OK);
    let unknown = cluster.call(ContentType::Json, &call_of(&environment, call::Type::Unknown)).await;
    assert_eq!(unknown.status, Status::NOT_IMPLEMENTED);
    let through_delegate =
        cluster.post_to("/api/v1/executor", json, None, mesos::api::serialize(ContentType::Json, &heartbeat)).await;
    assert_eq!(through_delegate.status, Status::ACCEPTED);
}

#[tokio::test]
async fn hostile_bodies_get_400s_and_nothing_breaks() {
    let cluster = Cluster::start().await;
    let (_, environment) = cluster.run_task("t1", framework_info()).await;
    let json = Some("application/json");
    let protobuf = Some("application/x-protobuf");
    for garbage in [&b"[]"[..], b"null", b"\xff\xfe", b"{\"type\":\"SUBSCRIBE\",\"executor_id\":7}", b""] {
        assert_eq!(cluster.post(json, None, garbage.to_vec()).await.status, Status::BAD_REQUEST, "{garbage:?}");
    }
    for garbage in [&b"\xff\xff\xff\xff"[..], b"\x0a\x05ab"] {
        assert_eq!(cluster.post(protobuf, None, garbage.to_vec()).await.status, Status::BAD_REQUEST, "{garbage:?}");
    }
    // A huge body: 8 MB of JSON string in a message that is not an object.
    let huge = format!("\"{}\"", "a".repeat(8 << 20));
    assert_eq!(cluster.post(json, None, huge).await.status, Status::BAD_REQUEST);
    // A bad update: a uuid that is no UUID, TASK_STAGING, a foreign source.
    let mut events = cluster.subscribe(&environment, call::Subscribe::default()).await;
    events.next().await;
    for bad in [
        TaskStatus { uuid: Some(vec![1, 2, 3]), ..status("t1", TaskState::TaskRunning) },
        status("t1", TaskState::TaskStaging),
        TaskStatus { source: Some(Source::Master as i32), ..status("t1", TaskState::TaskRunning) },
    ] {
        let response = cluster.call(ContentType::Json, &update_call(&environment, bad)).await;
        assert_eq!(response.status, Status::BAD_REQUEST);
        assert!(body(&response).starts_with("Failed to validate Executor::Call: "), "{}", body(&response));
    }
    cluster.settle().await;
    assert!(cluster.master.messages::<StatusUpdateMessage>().is_empty());
    // The agent still answers.
    let good = cluster.call(ContentType::Json, &update_call(&environment, status("t1", TaskState::TaskRunning))).await;
    assert_eq!(good.status, Status::ACCEPTED);
}

// ----- the real command executor in HTTP mode -----

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_http_command_executor_runs_a_command_task_to_finished() {
    common::init_logging();
    let lp = common::loopback_instance().await;
    let master = Fake::spawn(&lp, "master", names_of_master());
    let work_dir = tempfile::tempdir().unwrap();
    let containerizer =
        slave::containerizer::posix::PosixContainerizer::new(slave::containerizer::posix::PosixOptions::default())
            .unwrap();
    let info = common::agent_info(&lp, None);
    let mut options = Options::new(work_dir.path().to_path_buf());
    options.http_command_executor = true;
    options.switch_user = false;
    options.launcher_dir = std::path::Path::new(env!("CARGO_BIN_EXE_mesos-executor")).parent().unwrap().to_path_buf();
    let agent =
        SlaveHandle::spawn(&lp, common::agent(&lp, master.upid(), info, options, Arc::new(containerizer))).unwrap();
    let agent_pid = agent.pid.upid().clone();
    let registrations = || master.messages::<mesos::internal::RegisterSlaveMessage>().len();
    eventually("the registration", || registrations() > 0).await;
    let slave_id = SlaveId { value: "S0".into() };
    lp.post_protobuf(
        master.upid(),
        &agent_pid,
        &SlaveRegisteredMessage { slave_id: slave_id.clone(), connection: None },
    );

    let task = TaskInfo {
        name: "echo".into(),
        task_id: TaskId { value: "t1".into() },
        slave_id: slave_id.clone(),
        resources: Resources::parse("cpus:1;mem:128", "*").unwrap().to_vec(),
        command: Some(CommandInfo { value: Some("echo hello from http".into()), ..CommandInfo::default() }),
        ..TaskInfo::default()
    };
    let run = RunTaskMessage {
        framework_id: None,
        framework: framework_info(),
        task,
        resource_version_uuids: Vec::new(),
        pid: None,
        launch_executor: Some(true),
    };
    within(async {
        while agent.state().await.unwrap() != State::Running {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await;
    lp.post_protobuf(master.upid(), &agent_pid, &run);

    // Each update is acknowledged by the "master" as it comes, until TASK_FINISHED.
    let mut acknowledged = 0;
    eventually("TASK_FINISHED", || {
        let updates = master.messages::<StatusUpdateMessage>();
        for message in &updates[acknowledged..] {
            lp.post_protobuf(
                master.upid(),
                &agent_pid,
                &StatusUpdateAcknowledgementMessage {
                    slave_id: slave_id.clone(),
                    framework_id: message.update.framework_id.clone(),
                    task_id: message.update.status.task_id.clone(),
                    uuid: message.update.uuid.clone().unwrap(),
                },
            );
        }
        acknowledged = updates.len();
        states(&updates).contains(&TaskState::TaskFinished)
    })
    .await;
    let updates = master.messages::<StatusUpdateMessage>();
    assert_eq!(states(&updates), [TaskState::TaskStarting, TaskState::TaskRunning, TaskState::TaskFinished]);
    let finished = &updates[2].update.status;
    assert_eq!(finished.message.as_deref(), Some("Command exited with status 0"));
    assert_eq!(finished.source, Some(Source::Executor as i32));

    // It spoke HTTP: the checkpointing framework's executor has the HTTP marker; and the
    // executor ends by itself once its terminal update is acknowledged.
    let (framework_id, executor_id) = (FrameworkId { value: "F0".into() }, ExecutorId { value: "t1".into() });
    let meta = slave::paths::meta_root_dir(work_dir.path());
    let runs = slave::paths::executor_path(&meta, &slave_id, &framework_id, &executor_id).join("runs");
    let marker = std::fs::read_dir(&runs).unwrap().flatten().find_map(|run| {
        let marker = run.path().join("http.marker");
        marker.exists().then_some(marker)
    });
    assert!(marker.is_some(), "no HTTP marker under {}", runs.display());
    within(async {
        while !agent.executors().await.unwrap().is_empty() {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await;
    let sandbox = std::fs::read_dir(work_dir.path().join("slaves/S0/frameworks/F0/executors/t1/runs")).unwrap();
    let run = sandbox.flatten().find(|e| e.file_name() != "latest").unwrap().path();
    let stdout = std::fs::read_to_string(run.join("stdout")).unwrap();
    assert!(stdout.contains("hello from http"), "{stdout}");
    lp.shutdown().await;
}
