//! The v1 scheduler HTTP API (`/master/api/v1/scheduler`) of the real master, allocator and registrar on a paused clock, driven over real TCP by HTTP schedulers that read their RecordIO event streams as they arrive, with fake agents and v0 drivers played by libprocess processes: SUBSCRIBE in JSON and protobuf, heartbeats, offers to launches, updates and acknowledgements, every other call, resubscription and failover both ways between v0 and HTTP, the stream's end and the failover timeout, every status code of the handler with its text, and hostile input.

mod common;

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use common::{agent_info, agent_update, call, framework_info, task, within, Cluster, Fake, INTERVAL, ROLE};
use libprocess::http::client::{self, ClientRequest};
use libprocess::http::{Body, Headers, Response};
use libprocess::{Future, Promise};
use master::master::PROCESS_ID;
use mesos::api::{APPLICATION_JSON, APPLICATION_PROTOBUF, MESOS_STREAM_ID};
use mesos::internal::{ExecutorToFrameworkMessage, ExitedExecutorMessage, UnregisterSlaveMessage};
use mesos::json::{Json, Reader};
use mesos::proto::scheduler::call::{self as scall, Type as CallType};
use mesos::proto::scheduler::event::Type as EventType;
use mesos::proto::scheduler::{Call, Event};
use mesos::proto::{ExecutorId, ExecutorInfo, FrameworkId, FrameworkInfo, Offer, SlaveId, TaskId, TaskState};
use mesos::recordio::Decoder;
use mesos::state::{Entry, InMemoryStorage, State, Storage, StorageFuture, Uuid};
use prost::bytes::Bytes;
use prost::Message as _;
use serde_json::{json, Value};
use tokio::sync::mpsc::UnboundedReceiver;

const SCHEDULER: &str = "/master/api/v1/scheduler";
const HEARTBEAT: Duration = Duration::from_secs(15);
/// How long a test waits to be sure that nothing more arrives on a stream.
const QUIET: Duration = Duration::from_millis(200);

// ----- an HTTP scheduler client -----

/// A `POST` of `body` to `path` with the given headers (`Content-Type` among them, or not).
fn post(path: &str, headers: &[(&str, &str)], body: impl Into<Bytes>) -> ClientRequest {
    let mut request =
        ClientRequest { method: "POST".into(), path: path.into(), headers: Headers::new(), body: body.into() };
    for (name, value) in headers {
        request.headers.set(*name, *value);
    }
    request
}

/// Sends `request` on a new connection and reads the whole answer.
async fn send(cluster: &Cluster, request: ClientRequest) -> Response {
    let address: SocketAddr = cluster.lp.address().into();
    within(client::request(address, &request)).await.expect("an answer")
}

fn body(response: &Response) -> String {
    match &response.body {
        Body::Bytes(bytes) => String::from_utf8_lossy(bytes).into_owned(),
        Body::None => String::new(),
        Body::Pipe(_) => panic!("a streaming answer"),
    }
}

/// Asserts `response` has `status` and the body `text`.
#[track_caller]
fn assert_answer(response: &Response, status: u16, text: &str) {
    assert_eq!((response.status.0, body(response).as_str()), (status, text));
}

/// A SUBSCRIBE body in hand-written v1 JSON.
fn subscribe_json(info: &Value, id: Option<&str>) -> String {
    let mut info = info.clone();
    let mut call = json!({"type": "SUBSCRIBE", "subscribe": {"framework_info": {}}});
    if let Some(id) = id {
        info["id"] = json!({ "value": id });
        call["framework_id"] = json!({ "value": id });
    }
    call["subscribe"]["framework_info"] = info;
    call.to_string()
}

/// The v1 JSON `FrameworkInfo` of a MULTI_ROLE framework in [`ROLE`].
fn v1_info() -> Value {
    json!({
        "user": "user",
        "name": "http-framework",
        "roles": [ROLE],
        "capabilities": [{"type": "MULTI_ROLE"}],
        "failover_timeout": 60.0,
    })
}

/// An HTTP scheduler's subscription: the answer's head and its events as they arrive.
struct Subscription {
    status: u16,
    headers: Headers,
    records: Option<UnboundedReceiver<Bytes>>,
    decoder: Decoder,
    queued: VecDeque<Bytes>,
    protobuf: bool,
}

impl Subscription {
    /// POSTs a SUBSCRIBE `body` of `content_type` accepting `accept`, on its own connection.
    async fn open(cluster: &Cluster, content_type: &str, accept: Option<&str>, body: impl Into<Bytes>) -> Subscription {
        let mut headers = vec![("Content-Type", content_type)];
        if let Some(accept) = accept {
            headers.push(("Accept", accept));
        }
        Subscription::request(cluster, post(SCHEDULER, &headers, body)).await
    }

    async fn request(cluster: &Cluster, request: ClientRequest) -> Subscription {
        let address: SocketAddr = cluster.lp.address().into();
        let connection = within(client::Connection::connect(address)).await.expect("connects");
        let response = within(connection.stream(&request)).await.expect("an answer");
        let protobuf = response.headers.get("Content-Type") == Some(APPLICATION_PROTOBUF);
        let records = match response.body {
            Body::Pipe(records) => Some(records),
            _ => None,
        };
        Subscription {
            status: response.status.0,
            headers: response.headers,
            records,
            decoder: Decoder::default(),
            queued: VecDeque::new(),
            protobuf,
        }
    }

    fn stream_id(&self) -> String {
        self.headers.get(MESOS_STREAM_ID).expect("a stream id").to_string()
    }

    /// The next record, waiting at most `wait`: `Ok(None)` once the stream has ended,
    /// `Err(())` if nothing came.
    async fn record_within(&mut self, wait: Duration) -> Result<Option<Bytes>, ()> {
        loop {
            if let Some(record) = self.queued.pop_front() {
                return Ok(Some(record));
            }
            let Some(records) = self.records.as_mut() else { return Ok(None) };
            match tokio::time::timeout(wait, records.recv()).await {
                Err(_) => return Err(()),
                Ok(None) => {
                    assert!(!self.decoder.has_partial(), "the stream ended inside a record");
                    self.records = None;
                    return Ok(None);
                }
                Ok(Some(chunk)) => self.queued.extend(self.decoder.decode(&chunk).expect("RecordIO")),
            }
        }
    }

    /// The next event as JSON (protobuf streams are turned into v1 JSON), or `None` once
    /// the stream has ended.
    async fn next_json(&mut self) -> Option<Value> {
        let record = self.record_within(common::WAIT).await.expect("an event or the end")?;
        if self.protobuf {
            let event = Event::decode(&record[..]).expect("a protobuf Event");
            return Some(serde_json::from_str(&mesos::json::to_v1_string(&event)).unwrap());
        }
        Some(serde_json::from_slice(&record).expect("a JSON event"))
    }

    fn decode(&self, record: &[u8]) -> Event {
        if self.protobuf {
            Event::decode(record).expect("a protobuf Event")
        } else {
            Event::read_json(&serde_json::from_slice(record).unwrap(), &Reader::v1()).expect("a v1 JSON Event")
        }
    }

    /// The next event, decoded, or `None` once the stream has ended.
    async fn next(&mut self) -> Option<Event> {
        let record = self.record_within(common::WAIT).await.expect("an event or the end")?;
        Some(self.decode(&record))
    }

    /// The next event if one comes within [`QUIET`].
    async fn next_soon(&mut self) -> Option<Event> {
        let record = self.record_within(QUIET).await.ok()??;
        Some(self.decode(&record))
    }

    /// Reads events until a `HEARTBEAT`.
    async fn until_heartbeat(&mut self) {
        while self.next().await.expect("the stream ended before a heartbeat").r#type() != EventType::Heartbeat {}
    }

    /// The next event, which must be of `kind`.
    async fn expect(&mut self, kind: EventType) -> Event {
        let event = self.next().await.unwrap_or_else(|| panic!("the stream ended before {kind:?}"));
        assert_eq!(event.r#type(), kind, "{event:?}");
        event
    }

    /// The next event that is not a `HEARTBEAT`, which must be of `kind`.
    async fn expect_skipping_heartbeats(&mut self, kind: EventType) -> Event {
        loop {
            let event = self.next().await.unwrap_or_else(|| panic!("the stream ended before {kind:?}"));
            if event.r#type() != EventType::Heartbeat {
                assert_eq!(event.r#type(), kind, "{event:?}");
                return event;
            }
        }
    }

    /// Asserts that nothing arrives for a moment.
    async fn assert_quiet(&mut self) {
        assert!(self.record_within(QUIET).await.is_err(), "an unexpected event or end");
    }

    /// Asserts that the stream ends (after any events still queued, which are returned).
    async fn ended(&mut self) -> Vec<Event> {
        let mut rest = Vec::new();
        while let Some(event) = self.next().await {
            rest.push(event);
        }
        rest
    }
}

/// A subscribed HTTP scheduler.
struct HttpScheduler {
    id: FrameworkId,
    stream_id: String,
    events: Subscription,
}

impl HttpScheduler {
    /// SUBSCRIBEs a new framework with `info` (v1 JSON) and reads SUBSCRIBED and the first
    /// HEARTBEAT.
    async fn subscribe(cluster: &Cluster, info: &Value) -> HttpScheduler {
        let events = Subscription::open(cluster, APPLICATION_JSON, None, subscribe_json(info, None)).await;
        HttpScheduler::subscribed(events).await
    }

    /// Resubscribes framework `id` on a new stream.
    async fn resubscribe(cluster: &Cluster, info: &Value, id: &FrameworkId) -> HttpScheduler {
        let events = Subscription::open(cluster, APPLICATION_JSON, None, subscribe_json(info, Some(&id.value))).await;
        HttpScheduler::subscribed(events).await
    }

    async fn subscribed(mut events: Subscription) -> HttpScheduler {
        assert_eq!(events.status, 200);
        let subscribed = events.expect(EventType::Subscribed).await.subscribed.expect("subscribed");
        events.expect(EventType::Heartbeat).await;
        HttpScheduler { id: subscribed.framework_id, stream_id: events.stream_id(), events }
    }

    /// A call of `kind` for this framework, without its body.
    fn call(&self, kind: CallType) -> Call {
        call(&self.id, kind)
    }

    /// POSTs `call` as v1 JSON with this scheduler's stream id.
    async fn post(&self, cluster: &Cluster, call: &Call) -> Response {
        self.post_json(cluster, &mesos::json::to_v1_string(call)).await
    }

    async fn post_json(&self, cluster: &Cluster, text: &str) -> Response {
        let headers = [("Content-Type", APPLICATION_JSON), (MESOS_STREAM_ID, self.stream_id.as_str())];
        send(cluster, post(SCHEDULER, &headers, text.to_string())).await
    }

    /// POSTs `call` and asserts `202 Accepted` with an empty body.
    async fn accepted(&self, cluster: &Cluster, call: &Call) {
        let response = self.post(cluster, call).await;
        assert_answer(&response, 202, "");
        assert_eq!(response.headers.get("Content-Length"), Some("0"));
    }

    /// Steps the clock until an OFFERS event arrives and returns its first offer.
    async fn offer(&mut self, cluster: &Cluster) -> Offer {
        for _ in 0..10 {
            cluster.step(INTERVAL).await;
            while let Some(event) = self.events.next_soon().await {
                match event.r#type() {
                    EventType::Heartbeat => continue,
                    EventType::Offers => return event.offers.unwrap().offers.remove(0),
                    other => panic!("expected offers, got {other:?}: {event:?}"),
                }
            }
        }
        panic!("no offer came");
    }
}

impl Cluster {
    /// One registered fake agent with `cpus:2;mem:1024;disk:1024`.
    async fn agent(&self) -> (Fake, SlaveId) {
        self.register_agent(agent_info("host1", "cpus:2;mem:1024;disk:1024")).await
    }

    async fn framework(&self, id: &FrameworkId) -> Option<master::framework::FrameworkSnapshot> {
        self.frameworks().await.into_iter().find(|f| f.id == id.value)
    }

    /// Waits (in real time, the clock paused) until framework `id` is disconnected: the
    /// master learns of a stream's end from a task outside any process.
    async fn until_disconnected(&self, id: &FrameworkId) {
        within(async {
            while self.framework(id).await.is_some_and(|f| f.connected) {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        })
        .await;
        self.settle().await;
    }

    async fn state(&self) -> Value {
        let response = send(self, ClientRequest::get(format!("/{PROCESS_ID}/state"))).await;
        serde_json::from_str(&body(&response)).expect("JSON")
    }
}

/// A custom executor `id` of framework `framework`.
fn executor(framework: &FrameworkId, id: &str) -> ExecutorInfo {
    ExecutorInfo {
        executor_id: ExecutorId { value: id.into() },
        framework_id: Some(framework.clone()),
        command: Some(mesos::proto::CommandInfo { value: Some("exec".into()), ..Default::default() }),
        resources: mesos::resources::Resources::parse("cpus:0.1;mem:32", "*").unwrap().to_vec(),
        ..Default::default()
    }
}

// ----- subscription and heartbeats -----

#[tokio::test]
async fn json_subscription_gets_subscribed_then_a_heartbeat_every_15_seconds() {
    let cluster = Cluster::start().await;
    let mut events = Subscription::open(&cluster, APPLICATION_JSON, None, subscribe_json(&v1_info(), None)).await;
    assert_eq!(events.status, 200);
    assert_eq!(events.headers.get("Content-Type"), Some(APPLICATION_JSON));
    assert_eq!(events.headers.get("Transfer-Encoding"), Some("chunked"));
    assert_eq!(events.headers.get("Content-Length"), None);
    let stream_id = events.stream_id();
    assert_eq!(stream_id.len(), 36, "a canonical UUID: {stream_id}");

    let subscribed = events.next_json().await.unwrap();
    assert_eq!(subscribed["type"], "SUBSCRIBED");
    let id = subscribed["subscribed"]["framework_id"]["value"].as_str().unwrap().to_string();
    assert_eq!(id, format!("{}-0000", cluster.master_id));
    assert_eq!(subscribed["subscribed"]["heartbeat_interval_seconds"], 15.0);
    let master_info = &subscribed["subscribed"]["master_info"];
    assert_eq!(master_info["id"], cluster.master_id.as_str());
    assert_eq!(master_info["port"], cluster.lp.address().port());
    assert_eq!(master_info["pid"], cluster.master_pid.to_string().as_str());
    assert_eq!(events.next_json().await.unwrap(), json!({"type": "HEARTBEAT"}));

    let framework = cluster.framework(&FrameworkId { value: id.clone() }).await.expect("subscribed");
    assert!(framework.connected && framework.active);
    assert!(framework.pid.is_null(), "an HTTP framework has no pid");
    assert_eq!(framework.stream_id.as_deref(), Some(stream_id.as_str()));

    // The next heartbeat comes 15 s later, not before: a reconciliation answered at 14 s
    // comes first.
    cluster.step(Duration::from_secs(14)).await;
    let scheduler = HttpScheduler { id: FrameworkId { value: id }, stream_id, events };
    let reconcile = Call {
        reconcile: Some(scall::Reconcile {
            tasks: vec![scall::reconcile::Task { task_id: TaskId { value: "ghost".into() }, slave_id: None }],
        }),
        ..scheduler.call(CallType::Reconcile)
    };
    scheduler.accepted(&cluster, &reconcile).await;
    let mut events = scheduler.events;
    let update = events.expect(EventType::Update).await.update.unwrap().status;
    assert_eq!((update.task_id.value.as_str(), update.state()), ("ghost", TaskState::TaskLost));
    assert_eq!(update.uuid, None, "a reconciliation is not acknowledged");
    cluster.step(Duration::from_secs(1)).await;
    events.expect(EventType::Heartbeat).await;
    for _ in 0..3 {
        cluster.step(HEARTBEAT).await;
        events.expect(EventType::Heartbeat).await;
    }
    events.assert_quiet().await;
}

#[tokio::test]
async fn protobuf_subscription_streams_protobuf_events() {
    let cluster = Cluster::start().await;
    let info = FrameworkInfo { name: "proto".into(), ..framework_info(&[ROLE]) };
    let call = common::subscribe_call(info, None, false);
    let mut events =
        Subscription::open(&cluster, APPLICATION_PROTOBUF, Some(APPLICATION_PROTOBUF), call.encode_to_vec()).await;
    assert_eq!(events.status, 200);
    assert_eq!(events.headers.get("Content-Type"), Some(APPLICATION_PROTOBUF));
    let subscribed = events.expect(EventType::Subscribed).await.subscribed.unwrap();
    assert_eq!(subscribed.heartbeat_interval_seconds, Some(15.0));
    assert_eq!(subscribed.master_info.unwrap().id, cluster.master_id);
    events.expect(EventType::Heartbeat).await;
    cluster.step(HEARTBEAT).await;
    events.expect(EventType::Heartbeat).await;
    // JSON is preferred when both are acceptable; a JSON body may ask for protobuf events.
    let both = Subscription::open(&cluster, APPLICATION_PROTOBUF, Some("*/*"), call.encode_to_vec()).await;
    assert_eq!(both.headers.get("Content-Type"), Some(APPLICATION_JSON));
    let mut mixed =
        Subscription::open(&cluster, APPLICATION_JSON, Some(APPLICATION_PROTOBUF), subscribe_json(&v1_info(), None))
            .await;
    assert_eq!(mixed.expect(EventType::Subscribed).await.subscribed.unwrap().framework_id.value, {
        format!("{}-0002", cluster.master_id)
    });
}

// ----- the task flow -----

#[tokio::test]
async fn offers_launches_updates_and_acknowledgements() {
    let cluster = Cluster::start().await;
    let (agent, agent_id) = cluster.agent().await;
    let mut scheduler = HttpScheduler::subscribe(&cluster, &v1_info()).await;

    // OFFERS with v1 names.
    cluster.step(INTERVAL).await;
    let offers = scheduler.events.next_json().await.unwrap();
    assert_eq!(offers["type"], "OFFERS");
    let offer = &offers["offers"]["offers"][0];
    assert_eq!(offer["agent_id"]["value"], agent_id.value.as_str());
    assert_eq!(offer["framework_id"]["value"], scheduler.id.value.as_str());
    assert_eq!(offer["allocation_info"]["role"], ROLE);
    assert!(!offers.to_string().contains("slave_id"), "{offers}");
    let offer_id = offer["id"]["value"].as_str().unwrap().to_string();

    // ACCEPT with LAUNCH, written by hand in v1 JSON.
    let accept = json!({
        "framework_id": {"value": scheduler.id.value},
        "type": "ACCEPT",
        "accept": {
            "offer_ids": [{"value": offer_id}],
            "operations": [{"type": "LAUNCH", "launch": {"task_infos": [{
                "name": "t1",
                "task_id": {"value": "t1"},
                "agent_id": {"value": agent_id.value},
                "resources": [
                    {"name": "cpus", "type": "SCALAR", "scalar": {"value": 1}},
                    {"name": "mem", "type": "SCALAR", "scalar": {"value": 128}},
                ],
                "command": {"value": "sleep 1000"},
            }]}}],
            "filters": {"refuse_seconds": 100},
        },
    });
    let response = scheduler.post_json(&cluster, &accept.to_string()).await;
    assert_answer(&response, 202, "");
    cluster.settle().await;
    let run = agent.run_tasks();
    assert_eq!(run.len(), 1);
    assert_eq!(run[0].1.task.task_id.value, "t1");
    assert_eq!(run[0].1.framework.id.as_ref(), Some(&scheduler.id));
    assert_eq!(run[0].1.pid.as_deref(), Some("@0.0.0.0:0"), "an HTTP framework's pid is the empty one");

    // The agent's update reaches the stream with its uuid; ACKNOWLEDGE goes to the agent.
    let update = agent_update(&scheduler.id, agent.upid(), &agent_id, "t1", TaskState::TaskRunning);
    cluster.send(&agent, &update);
    cluster.settle().await;
    let event = scheduler.events.next_json().await.unwrap();
    assert_eq!(event["type"], "UPDATE");
    let status = &event["update"]["status"];
    assert_eq!(status["state"], "TASK_RUNNING");
    assert_eq!(status["agent_id"]["value"], agent_id.value.as_str());
    assert_eq!(status["source"], "SOURCE_EXECUTOR");
    assert_eq!(status["timestamp"], 1.0);
    // The uuid as base64; the acknowledgement sends it back and the agent gets its bytes.
    let uuid = status["uuid"].as_str().expect("a uuid").to_string();
    assert_eq!(uuid.len(), 24, "{uuid}");
    let acknowledge = json!({
        "framework_id": {"value": scheduler.id.value},
        "type": "ACKNOWLEDGE",
        "acknowledge": {"agent_id": {"value": agent_id.value}, "task_id": {"value": "t1"}, "uuid": uuid},
    });
    assert_answer(&scheduler.post_json(&cluster, &acknowledge.to_string()).await, 202, "");
    cluster.settle().await;
    let acks = agent.acks();
    assert_eq!(acks.len(), 1);
    assert_eq!((&acks[0].task_id.value[..], &acks[0].uuid), ("t1", update.update.uuid.as_ref().unwrap()));

    // KILL reaches the agent.
    let kill = Call {
        kill: Some(scall::Kill {
            task_id: TaskId { value: "t1".into() },
            slave_id: Some(agent_id.clone()),
            kill_policy: None,
        }),
        ..scheduler.call(CallType::Kill)
    };
    scheduler.accepted(&cluster, &kill).await;
    cluster.settle().await;
    assert_eq!(agent.kills().len(), 1);
    assert_eq!(agent.kills()[0].task_id.value, "t1");

    // `/master/state` shows the framework without a pid, with its task.
    let state = cluster.state().await;
    let framework = &state["frameworks"][0];
    assert_eq!(framework["id"], scheduler.id.value.as_str());
    assert!(framework.get("pid").is_none(), "{framework}");
    assert_eq!(framework["connected"], true);
    assert_eq!(framework["tasks"][0]["id"], "t1");
}

#[tokio::test]
async fn decline_revive_suppress_reconcile_and_request() {
    let cluster = Cluster::start().await;
    let (_agent, _agent_id) = cluster.agent().await;
    let mut scheduler = HttpScheduler::subscribe(&cluster, &v1_info()).await;
    let offer = scheduler.offer(&cluster).await;

    // DECLINE for an hour: no offer for a while.
    let decline = Call {
        decline: Some(scall::Decline {
            offer_ids: vec![offer.id.clone()],
            filters: Some(mesos::proto::Filters { refuse_seconds: Some(3600.0) }),
        }),
        ..scheduler.call(CallType::Decline)
    };
    scheduler.accepted(&cluster, &decline).await;
    cluster.settle().await;
    assert_eq!(cluster.offer_count().await, 0);
    cluster.step(Duration::from_secs(5)).await;
    assert_eq!(cluster.offer_count().await, 0);

    // REVIVE clears the filter.
    scheduler.accepted(&cluster, &scheduler.call(CallType::Revive)).await;
    let again = scheduler.offer(&cluster).await;
    assert_ne!(again.id, offer.id);

    // SUPPRESS: a declined offer does not come back even after its filter.
    scheduler.accepted(&cluster, &scheduler.call(CallType::Suppress)).await;
    let decline = Call {
        decline: Some(scall::Decline { offer_ids: vec![again.id.clone()], filters: None }),
        ..scheduler.call(CallType::Decline)
    };
    scheduler.accepted(&cluster, &decline).await;
    cluster.step(Duration::from_secs(10)).await;
    assert_eq!(cluster.offer_count().await, 0);

    // REVIVE for the role unsuppresses.
    let revive = Call { revive: Some(scall::Revive { roles: vec![ROLE.into()] }), ..scheduler.call(CallType::Revive) };
    scheduler.accepted(&cluster, &revive).await;
    scheduler.offer(&cluster).await;

    // RECONCILE of all tasks (none) and REQUEST are accepted; nothing comes of them.
    let reconcile = Call { reconcile: Some(scall::Reconcile { tasks: vec![] }), ..scheduler.call(CallType::Reconcile) };
    scheduler.accepted(&cluster, &reconcile).await;
    let request = Call { request: Some(scall::Request { requests: vec![] }), ..scheduler.call(CallType::Request) };
    scheduler.accepted(&cluster, &request).await;
    cluster.settle().await;
    scheduler.events.assert_quiet().await;
}

#[tokio::test]
async fn executor_messages_shutdown_exits_and_lost_agents_reach_the_stream() {
    let cluster = Cluster::start().await;
    let (agent, agent_id) = cluster.agent().await;
    let mut scheduler = HttpScheduler::subscribe(&cluster, &v1_info()).await;
    let offer = scheduler.offer(&cluster).await;
    let mut t1 = task("t1", &agent_id, "cpus:1;mem:128");
    t1.command = None;
    t1.executor = Some(executor(&scheduler.id, "e1"));
    scheduler.accepted(&cluster, &common::accept(&scheduler.id, vec![offer.id], vec![t1], 5.0)).await;
    cluster.settle().await;
    assert_eq!(agent.run_tasks().len(), 1);
    let executor_id = ExecutorId { value: "e1".into() };

    // MESSAGE to the executor, through the agent.
    let message = Call {
        message: Some(scall::Message {
            slave_id: agent_id.clone(),
            executor_id: executor_id.clone(),
            data: b"hi".to_vec(),
        }),
        ..scheduler.call(CallType::Message)
    };
    scheduler.accepted(&cluster, &message).await;
    cluster.settle().await;
    let sent = agent.heard.to_executor.lock().unwrap().clone();
    assert_eq!(sent.len(), 1);
    assert_eq!((&sent[0].framework_id, &sent[0].data[..]), (&scheduler.id, &b"hi"[..]));

    // The executor's answer is a MESSAGE event.
    let answer = ExecutorToFrameworkMessage {
        slave_id: agent_id.clone(),
        framework_id: scheduler.id.clone(),
        executor_id: executor_id.clone(),
        data: b"there".to_vec(),
    };
    cluster.send(&agent, &answer);
    cluster.settle().await;
    let event = scheduler.events.next_json().await.unwrap();
    assert_eq!(
        event,
        json!({"type": "MESSAGE", "message": {"agent_id": {"value": agent_id.value}, "executor_id": {"value": "e1"}, "data": "dGhlcmU="}})
    );

    // SHUTDOWN reaches the agent; the executor's exit is a FAILURE with its status.
    let shutdown = Call {
        shutdown: Some(scall::Shutdown { executor_id: executor_id.clone(), slave_id: agent_id.clone() }),
        ..scheduler.call(CallType::Shutdown)
    };
    scheduler.accepted(&cluster, &shutdown).await;
    cluster.settle().await;
    assert_eq!(agent.heard.shutdown_executors.lock().unwrap().len(), 1);
    let exited = ExitedExecutorMessage {
        slave_id: agent_id.clone(),
        framework_id: scheduler.id.clone(),
        executor_id: executor_id.clone(),
        status: 9,
    };
    cluster.send(&agent, &exited);
    cluster.settle().await;
    let failure = scheduler.events.expect_skipping_heartbeats(EventType::Failure).await.failure.unwrap();
    assert_eq!(
        (failure.slave_id.as_ref(), failure.executor_id.as_ref(), failure.status),
        (Some(&agent_id), Some(&executor_id), Some(9))
    );

    // The agent goes: its task is LOST (from the master, no uuid), then a FAILURE for the
    // agent alone.
    cluster.send(&agent, &UnregisterSlaveMessage { slave_id: agent_id.clone() });
    cluster.settle().await;
    let lost = scheduler.events.expect_skipping_heartbeats(EventType::Update).await.update.unwrap().status;
    assert_eq!((lost.state(), lost.uuid.as_ref()), (TaskState::TaskLost, None));
    let failure = scheduler.events.expect_skipping_heartbeats(EventType::Failure).await.failure.unwrap();
    assert_eq!(
        (failure.slave_id.as_ref(), failure.executor_id.as_ref(), failure.status),
        (Some(&agent_id), None, None)
    );
}

#[tokio::test]
async fn teardown_removes_the_framework_and_ends_its_stream() {
    let cluster = Cluster::start().await;
    let (agent, agent_id) = cluster.agent().await;
    let mut scheduler = HttpScheduler::subscribe(&cluster, &v1_info()).await;
    let offer = scheduler.offer(&cluster).await;
    let t1 = task("t1", &agent_id, "cpus:1;mem:128");
    scheduler.accepted(&cluster, &common::accept(&scheduler.id, vec![offer.id], vec![t1], 5.0)).await;
    cluster.settle().await;

    scheduler.accepted(&cluster, &scheduler.call(CallType::Teardown)).await;
    cluster.settle().await;
    assert!(scheduler.events.ended().await.iter().all(|e| e.r#type() == EventType::Heartbeat));
    assert!(cluster.frameworks().await.is_empty());
    assert!(cluster.tasks().await.is_empty());
    assert_eq!(agent.heard.shutdown_frameworks.lock().unwrap()[0].framework_id, scheduler.id);
    let state = cluster.state().await;
    assert_eq!(state["completed_frameworks"][0]["id"], scheduler.id.value.as_str());
    // The framework is gone: calls are refused, and it cannot come back.
    let response = scheduler.post(&cluster, &scheduler.call(CallType::Revive)).await;
    assert_answer(&response, 400, "Framework cannot be found");
    let mut again =
        Subscription::open(&cluster, APPLICATION_JSON, None, subscribe_json(&v1_info(), Some(&scheduler.id.value)))
            .await;
    assert_eq!(again.status, 200);
    let error = again.expect(EventType::Error).await.error.unwrap();
    assert_eq!(error.message, "Framework has been removed");
    assert!(again.ended().await.is_empty());
}

// ----- resubscription and failover -----

#[tokio::test]
async fn resubscription_fails_over_the_old_stream() {
    let cluster = Cluster::start().await;
    let (agent, _agent_id) = cluster.agent().await;
    let mut first = HttpScheduler::subscribe(&cluster, &v1_info()).await;
    let offer = first.offer(&cluster).await;
    assert_eq!(cluster.offer_count().await, 1);

    // A new user and checkpoint setting are silently kept as they were.
    let mut info = v1_info();
    info["user"] = json!("someone-else");
    info["checkpoint"] = json!(true);
    let mut second = HttpScheduler::resubscribe(&cluster, &info, &first.id).await;
    assert_eq!(second.id, first.id);
    assert_ne!(second.stream_id, first.stream_id);
    cluster.settle().await;

    // The old stream hears it failed over, and ends.
    let rest = first.events.ended().await;
    let errors: Vec<&str> = rest.iter().filter_map(|e| e.error.as_ref()).map(|e| e.message.as_str()).collect();
    assert_eq!(errors, ["Framework failed over"]);
    // Its offer was recovered, not rescinded, and is made again.
    assert_eq!(cluster.offer_count().await, 0);
    let again = second.offer(&cluster).await;
    assert_ne!(again.id, offer.id);
    // The agents learn the (kept) info, with the empty pid.
    let updates = agent.update_frameworks();
    let update = updates.last().expect("UpdateFrameworkMessage");
    assert_eq!(update.pid.as_deref(), Some("@0.0.0.0:0"));
    let kept = update.framework_info.as_ref().unwrap();
    assert_eq!((kept.user.as_str(), kept.checkpoint()), ("user", false));

    // Only the new stream id works.
    let response = first.post(&cluster, &first.call(CallType::Revive)).await;
    assert_eq!(response.status.0, 400);
    assert_eq!(
        body(&response),
        format!(
            "The stream ID '{}' included in this request didn't match the stream ID currently associated with framework ID {}",
            first.stream_id, first.id.value
        )
    );
    second.accepted(&cluster, &second.call(CallType::Revive)).await;

    // A new principal is refused on the new stream, which ends; the current one lives on.
    let mut info = v1_info();
    info["principal"] = json!("intruder");
    let mut refused =
        Subscription::open(&cluster, APPLICATION_JSON, None, subscribe_json(&info, Some(&first.id.value))).await;
    assert_eq!(refused.status, 200);
    assert_eq!(
        refused.expect(EventType::Error).await.error.unwrap().message,
        "Changing framework's principal is not allowed."
    );
    assert!(refused.ended().await.is_empty());
    second.accepted(&cluster, &second.call(CallType::Suppress)).await;
    cluster.step(HEARTBEAT).await;
    second.events.until_heartbeat().await;
}

#[tokio::test]
async fn a_v0_driver_fails_over_to_http_and_back() {
    let cluster = Cluster::start().await;
    let (agent, _agent_id) = cluster.agent().await;
    let info = framework_info(&[ROLE]);
    let (driver, id) = cluster.subscribed(info.clone()).await;
    cluster.step(INTERVAL).await;
    assert_eq!(driver.offers().len(), 1);

    // HTTP takes over: the driver is told, its offer recovered; the framework has no pid
    // any more, and HTTP-only calls work.
    let mut v1 = v1_info();
    v1["name"] = json!(info.name);
    v1["failover_timeout"] = json!(0.0);
    let mut http = HttpScheduler::resubscribe(&cluster, &v1, &id).await;
    cluster.settle().await;
    assert_eq!(driver.errors(), ["Framework failed over"]);
    let framework = cluster.framework(&id).await.unwrap();
    assert!(framework.pid.is_null() && framework.connected);
    assert_eq!(framework.stream_id.as_deref(), Some(http.stream_id.as_str()));
    assert_eq!(agent.update_frameworks().last().unwrap().pid.as_deref(), Some("@0.0.0.0:0"));
    http.offer(&cluster).await;
    // The old driver's calls are dropped now.
    cluster.send(&driver, &call(&id, CallType::Teardown));
    cluster.settle().await;
    assert!(cluster.framework(&id).await.is_some());
    // A v0 SUBSCRIBE without `force` from another pid is refused.
    let other = cluster.spawn_scheduler();
    cluster.send(&other, &common::subscribe_call(info.clone(), Some(id.clone()), false));
    cluster.settle().await;
    assert_eq!(other.errors(), ["Framework failed over"]);
    assert!(cluster.framework(&id).await.unwrap().stream_id.is_some());

    // And back: a forced v0 SUBSCRIBE fails the stream over.
    cluster.send(&other, &common::subscribe_call(info, Some(id.clone()), true));
    cluster.settle().await;
    let rest = http.events.ended().await;
    let errors: Vec<&str> = rest.iter().filter_map(|e| e.error.as_ref()).map(|e| e.message.as_str()).collect();
    assert_eq!(errors, ["Framework failed over"]);
    assert_eq!(other.registered().len(), 1);
    let framework = cluster.framework(&id).await.unwrap();
    assert_eq!((&framework.pid, framework.stream_id.as_ref(), framework.connected), (other.upid(), None, true));
    assert_eq!(agent.update_frameworks().last().unwrap().pid.as_deref(), Some(other.upid().to_string().as_str()));
    // The stream's end afterwards does not disconnect the v0 framework.
    cluster.step(INTERVAL).await;
    assert!(cluster.framework(&id).await.unwrap().connected);
    let response = http.post(&cluster, &http.call(CallType::Revive)).await;
    assert_answer(&response, 403, "Framework is not connected via HTTP");
}

#[tokio::test]
async fn closing_the_stream_disconnects_and_the_failover_timeout_removes_the_framework() {
    let cluster = Cluster::start().await;
    let (_agent, _agent_id) = cluster.agent().await;
    let mut info = v1_info();
    info["failover_timeout"] = json!(30.0);
    let mut scheduler = HttpScheduler::subscribe(&cluster, &info).await;
    scheduler.offer(&cluster).await;
    assert_eq!(cluster.offer_count().await, 1);

    // The client goes away: disconnected, deactivated, offers rescinded.
    let HttpScheduler { id, stream_id, events } = scheduler;
    drop(events);
    cluster.until_disconnected(&id).await;
    let framework = cluster.framework(&id).await.unwrap();
    assert!(!framework.connected && !framework.active && framework.stream_id.is_none());
    assert_eq!(cluster.offer_count().await, 0);
    let state = cluster.state().await;
    assert_eq!(state["frameworks"][0]["connected"], false);
    let snapshot = within(cluster.lp.metrics().snapshot(None)).await;
    assert_eq!(snapshot["master/frameworks_disconnected"], 1.0);
    assert_eq!(snapshot["master/frameworks_inactive"], 1.0);
    // Calls are refused while it is away.
    let gone = HttpScheduler { id: id.clone(), stream_id, events: Subscription::dead() };
    assert_answer(&gone.post(&cluster, &gone.call(CallType::Revive)).await, 403, "Framework is not subscribed");

    // Back within the timeout: the framework is kept, and the old timer does nothing.
    cluster.step(Duration::from_secs(20)).await;
    let mut back = HttpScheduler::resubscribe(&cluster, &info, &id).await;
    assert!(cluster.framework(&id).await.unwrap().connected);
    cluster.step(Duration::from_secs(20)).await;
    assert!(cluster.framework(&id).await.is_some());
    back.offer(&cluster).await;

    // Gone for good: removed when the timeout runs out.
    drop(back);
    cluster.until_disconnected(&id).await;
    cluster.step(Duration::from_secs(29)).await;
    assert!(cluster.framework(&id).await.is_some());
    cluster.step(Duration::from_secs(1)).await;
    assert!(cluster.framework(&id).await.is_none());
    assert_eq!(cluster.state().await["completed_frameworks"][0]["id"], id.value.as_str());
}

/// A master that learnt of a framework from a reregistering agent (as after a master
/// failover): the framework subscribes over HTTP with its id, is connected and active, and
/// gets offers for what its task leaves free; the agent learns its new info and empty pid.
#[tokio::test]
async fn a_framework_recovered_from_an_agent_subscribes_over_http() {
    let cluster = Cluster::start().await;
    let agent = cluster.spawn(&libprocess::id::generate("slave"));
    let agent_id = SlaveId { value: "previous-master-S3".into() };
    let id = FrameworkId { value: "previous-master-0007".into() };
    let info = FrameworkInfo { id: Some(id.clone()), name: "http-framework".into(), ..framework_info(&[ROLE]) };
    let mut reported = mesos::proto::Task {
        name: "t1".into(),
        task_id: TaskId { value: "t1".into() },
        framework_id: id.clone(),
        slave_id: agent_id.clone(),
        resources: mesos::resources::Resources::parse("cpus:1;mem:128", "*").unwrap().to_vec(),
        ..Default::default()
    };
    reported.set_state(TaskState::TaskRunning);
    let reregistration = mesos::internal::ReregisterSlaveMessage {
        slave: mesos::proto::SlaveInfo {
            id: Some(agent_id.clone()),
            ..agent_info("host1", "cpus:2;mem:1024;disk:1024")
        },
        tasks: vec![reported],
        frameworks: vec![info],
        version: Some("1.12.0".into()),
        agent_capabilities: common::agent_capabilities(),
        ..Default::default()
    };
    cluster.send(&agent, &reregistration);
    cluster.settle().await;
    let framework = cluster.framework(&id).await.expect("recovered");
    assert!(!framework.connected && !framework.active);
    // Not subscribed yet: calls are refused.
    let early = HttpScheduler { id: id.clone(), stream_id: Uuid::random().to_string(), events: Subscription::dead() };
    assert_answer(&early.post(&cluster, &early.call(CallType::Revive)).await, 403, "Framework is not subscribed");

    let mut scheduler = HttpScheduler::resubscribe(&cluster, &v1_info(), &id).await;
    assert_eq!(scheduler.id, id);
    let framework = cluster.framework(&id).await.unwrap();
    assert!(framework.connected && framework.active && framework.pid.is_null());
    let offer = scheduler.offer(&cluster).await;
    let cpus = offer.resources.iter().find(|r| r.name == "cpus").and_then(|r| r.scalar.as_ref()).unwrap().value;
    assert_eq!(cpus, 1.0, "the reported task keeps its share");
    let update = agent.update_frameworks().last().cloned().expect("UpdateFrameworkMessage");
    assert_eq!((update.framework_id, update.pid.as_deref()), (id.clone(), Some("@0.0.0.0:0")));
    assert_eq!(cluster.state().await["frameworks"][0]["recovered"], false);
}

impl Subscription {
    /// A subscription whose stream is already over (for a scheduler that only calls).
    fn dead() -> Subscription {
        Subscription {
            status: 200,
            headers: Headers::new(),
            records: None,
            decoder: Decoder::default(),
            queued: VecDeque::new(),
            protobuf: false,
        }
    }
}

// ----- status codes -----

type Read = Result<Option<Entry>, mesos::state::StorageError>;

/// Storage whose reads never complete: the master never recovers.
struct Stalled {
    inner: InMemoryStorage,
    pending: std::sync::Mutex<Vec<Promise<Read>>>,
}

impl Storage for Stalled {
    fn get(&self, _name: &str) -> StorageFuture<Option<Entry>> {
        let promise = Promise::new();
        let future: Future<_> = promise.future();
        self.pending.lock().unwrap().push(promise);
        future
    }
    fn set(&self, entry: Entry, uuid: Uuid) -> StorageFuture<bool> {
        self.inner.set(entry, uuid)
    }
    fn expunge(&self, entry: Entry) -> StorageFuture<bool> {
        self.inner.expunge(entry)
    }
    fn names(&self) -> StorageFuture<std::collections::BTreeSet<String>> {
        self.inner.names()
    }
}

#[tokio::test]
async fn a_master_that_has_not_recovered_answers_503() {
    let lp = common::instance().await;
    let storage = Stalled { inner: InMemoryStorage::new(), pending: Default::default() };
    let cluster = Cluster::over(&lp, State::new(Arc::new(storage)), common::flags(&[]));
    cluster.settle().await;
    let response =
        send(&cluster, post(SCHEDULER, &[("Content-Type", APPLICATION_JSON)], subscribe_json(&v1_info(), None))).await;
    assert_answer(&response, 503, "Master has not finished recovery");
    // Before anything else is looked at.
    let response = send(&cluster, ClientRequest::get(SCHEDULER)).await;
    assert_eq!(response.status.0, 503);
}

#[tokio::test]
async fn every_refusal_has_its_status_and_text() {
    let cluster = Cluster::start().await;
    cluster.lp.set_delegate(Some(PROCESS_ID));
    let json_headers = [("Content-Type", APPLICATION_JSON)];
    let scheduler = HttpScheduler::subscribe(&cluster, &v1_info()).await;
    let revive = mesos::json::to_v1_string(&scheduler.call(CallType::Revive));

    // 405 with `Allow`.
    let response = send(&cluster, ClientRequest::get(SCHEDULER)).await;
    assert_answer(&response, 405, "405 Method Not Allowed. Expecting one of { 'POST' }, but received 'GET'.");
    assert_eq!(response.headers.get("Allow"), Some("POST"));
    let put = ClientRequest { method: "PUT".into(), ..post(SCHEDULER, &json_headers, revive.clone()) };
    assert_eq!(send(&cluster, put).await.status.0, 405);

    // 400/415 on the content type.
    let response = send(&cluster, post(SCHEDULER, &[], revive.clone())).await;
    assert_answer(&response, 400, "Expecting 'Content-Type' to be present");
    let response = send(&cluster, post(SCHEDULER, &[("Content-Type", "text/plain")], revive.clone())).await;
    assert_answer(&response, 415, "Expecting 'Content-Type' of application/json or application/x-protobuf");
    let charset = [("Content-Type", "application/json; charset=utf-8")];
    assert_eq!(send(&cluster, post(SCHEDULER, &charset, revive.clone())).await.status.0, 415);

    // 400 on the body.
    let response = send(&cluster, post(SCHEDULER, &json_headers, "{\"type\":")).await;
    assert_eq!(response.status.0, 400);
    assert!(body(&response).starts_with("Failed to parse body into JSON: "), "{}", body(&response));
    let response = send(&cluster, post(SCHEDULER, &json_headers, "[1, 2]")).await;
    assert_eq!(response.status.0, 400);
    assert!(body(&response).starts_with("Failed to convert JSON into Call protobuf: "), "{}", body(&response));
    let bytes = scheduler.call(CallType::Revive).encode_to_vec();
    let protobuf = [("Content-Type", APPLICATION_PROTOBUF)];
    let response = send(&cluster, post(SCHEDULER, &protobuf, bytes[..bytes.len() - 3].to_vec())).await;
    assert_answer(&response, 400, "Failed to parse body into Call protobuf");
    let kill_without_task = json!({"framework_id": {"value": scheduler.id.value}, "type": "KILL", "kill": {}});
    let response = send(&cluster, post(SCHEDULER, &json_headers, kill_without_task.to_string())).await;
    assert_eq!(response.status.0, 400);

    // 400 on validation.
    let cases = [
        (json!({"framework_id": {"value": "x"}}), "Expecting 'type' to be present"),
        (json!({"type": "NO_SUCH_CALL"}), "Expecting 'type' to be present"),
        (json!({"type": "SUBSCRIBE"}), "Expecting 'subscribe' to be present"),
        (json!({"type": "REVIVE"}), "Expecting 'framework_id' to be present"),
        (json!({"type": "ACCEPT", "framework_id": {"value": "x"}}), "Expecting 'accept' to be present"),
        (
            json!({"type": "SUBSCRIBE", "framework_id": {"value": "x"}, "subscribe": {"framework_info": v1_info()}}),
            "'framework_id' differs from 'subscribe.framework_info.id'",
        ),
        (
            json!({"type": "ACKNOWLEDGE", "framework_id": {"value": "x"}, "acknowledge": {
                "agent_id": {"value": "a"}, "task_id": {"value": "t"}, "uuid": "AAEC"}}),
            "Not a valid UUID",
        ),
        (
            json!({"type": "ACKNOWLEDGE", "framework_id": {"value": "x"}, "acknowledge": {
                "agent_id": {"value": "a"}, "task_id": {"value": "t"}, "uuid": "AAAAAAAAAAAAAAAAAAAAAA=="}}),
            "Not a valid UUID",
        ),
        (
            json!({"type": "UPDATE_FRAMEWORK", "framework_id": {"value": "x"}, "update_framework": {"framework_info": v1_info()}}),
            "'framework_id' differs from 'update_framework.framework_info.id'",
        ),
    ];
    for (call, text) in cases {
        let response = send(&cluster, post(SCHEDULER, &json_headers, call.to_string())).await;
        assert_answer(&response, 400, &format!("Failed to validate scheduler::Call: {text}"));
    }

    // 406 and 400 for SUBSCRIBE only.
    let subscribe = subscribe_json(&v1_info(), None);
    let response = send(
        &cluster,
        post(SCHEDULER, &[("Content-Type", APPLICATION_JSON), ("Accept", "text/html")], subscribe.clone()),
    )
    .await;
    assert_answer(&response, 406, "Expecting 'Accept' to allow 'application/x-protobuf' or 'application/json'");
    let response = send(
        &cluster,
        post(SCHEDULER, &[("Content-Type", APPLICATION_JSON), ("Accept", "application/json;q=0")], subscribe.clone()),
    )
    .await;
    assert_eq!(response.status.0, 406);
    let response = send(
        &cluster,
        post(SCHEDULER, &[("Content-Type", APPLICATION_JSON), (MESOS_STREAM_ID, &scheduler.stream_id)], subscribe),
    )
    .await;
    assert_answer(&response, 400, "Subscribe calls should not include the 'Mesos-Stream-Id' header");
    let response = send(
        &cluster,
        post(
            SCHEDULER,
            &[("Content-Type", APPLICATION_JSON), ("Accept", "text/html"), (MESOS_STREAM_ID, &scheduler.stream_id)],
            revive.clone(),
        ),
    )
    .await;
    assert_answer(&response, 202, "");

    // 400 and 403 on the framework and its connection.
    let unknown = HttpScheduler {
        id: FrameworkId { value: "unknown".into() },
        stream_id: scheduler.stream_id.clone(),
        events: Subscription::dead(),
    };
    assert_answer(&unknown.post(&cluster, &unknown.call(CallType::Revive)).await, 400, "Framework cannot be found");
    let (_driver, v0_id) = cluster.subscribed(framework_info(&[ROLE])).await;
    let v0 = HttpScheduler { id: v0_id, stream_id: scheduler.stream_id.clone(), events: Subscription::dead() };
    assert_answer(&v0.post(&cluster, &v0.call(CallType::Revive)).await, 403, "Framework is not connected via HTTP");
    let response = send(&cluster, post(SCHEDULER, &json_headers, revive.clone())).await;
    assert_answer(&response, 400, "All non-subscribe calls should include the 'Mesos-Stream-Id' header");
    let stale =
        HttpScheduler { id: scheduler.id.clone(), stream_id: Uuid::random().to_string(), events: Subscription::dead() };
    let response = stale.post(&cluster, &stale.call(CallType::Revive)).await;
    assert_eq!(response.status.0, 400);
    assert!(body(&response)
        .starts_with(&format!("The stream ID '{}' included in this request didn't match", stale.stream_id)));

    // 501 for UNKNOWN; 202 for calls this master cannot act on yet.
    assert_answer(&scheduler.post(&cluster, &scheduler.call(CallType::Unknown)).await, 501, "501 Not Implemented.");
    let accept_inverse = Call {
        accept_inverse_offers: Some(scall::AcceptInverseOffers { inverse_offer_ids: vec![], filters: None }),
        ..scheduler.call(CallType::AcceptInverseOffers)
    };
    scheduler.accepted(&cluster, &accept_inverse).await;
    let decline_inverse = Call {
        decline_inverse_offers: Some(scall::DeclineInverseOffers { inverse_offer_ids: vec![], filters: None }),
        ..scheduler.call(CallType::DeclineInverseOffers)
    };
    scheduler.accepted(&cluster, &decline_inverse).await;
    let reconcile_operations = Call {
        reconcile_operations: Some(scall::ReconcileOperations { operations: vec![] }),
        ..scheduler.call(CallType::ReconcileOperations)
    };
    scheduler.accepted(&cluster, &reconcile_operations).await;

    // UPDATE_FRAMEWORK: 200 with an empty body, 400 with C++'s text for a refused change.
    let mut info = v1_info();
    info["id"] = json!({"value": scheduler.id.value});
    info["name"] = json!("renamed");
    let update = json!({"framework_id": {"value": scheduler.id.value}, "type": "UPDATE_FRAMEWORK", "update_framework": {"framework_info": info}});
    assert_answer(&scheduler.post_json(&cluster, &update.to_string()).await, 200, "");
    assert_eq!(cluster.framework(&scheduler.id).await.unwrap().name, "renamed");
    let mut info = info.clone();
    info["user"] = json!("root-wannabe");
    let update = json!({"framework_id": {"value": scheduler.id.value}, "type": "UPDATE_FRAMEWORK", "update_framework": {"framework_info": info}});
    assert_answer(
        &scheduler.post_json(&cluster, &update.to_string()).await,
        400,
        "FrameworkInfo update is not valid: Updating 'FrameworkInfo.user' is unsupported; attempted to update from 'user' to 'root-wannabe'",
    );

    // The delegate serves `/api/v1/scheduler` too.
    let headers = [("Content-Type", APPLICATION_JSON), (MESOS_STREAM_ID, scheduler.stream_id.as_str())];
    assert_answer(&send(&cluster, post("/api/v1/scheduler", &headers, revive)).await, 202, "");
    assert!(cluster.framework(&scheduler.id).await.unwrap().connected);
}

#[tokio::test]
async fn refused_subscriptions_are_one_error_event_on_a_200_stream() {
    let cluster = Cluster::start().await;
    let cases = [
        (
            json!({"user": "u", "name": "n", "roles": ["a"]}),
            "'FrameworkInfo.roles' must not be set when the framework is not MULTI_ROLE capable",
        ),
        (
            json!({"user": "u", "name": "n", "role": "/bad"}),
            "'FrameworkInfo.role' is not a valid role: Role '/bad' cannot start with a slash",
        ),
        (
            json!({"user": "u", "name": "n", "failover_timeout": 1e300}),
            "The framework failover_timeout (1e+300) is invalid",
        ),
    ];
    for (info, text) in cases {
        let mut events = Subscription::open(&cluster, APPLICATION_JSON, None, subscribe_json(&info, None)).await;
        assert_eq!(events.status, 200, "{info}");
        let event = events.next_json().await.unwrap();
        assert_eq!(event["type"], "ERROR", "{event}");
        // `mesos::resources::validate_role` writes "role" where C++ writes "Role".
        let message = event["error"]["message"].as_str().unwrap();
        assert!(message.eq_ignore_ascii_case(text), "{message}");
        assert!(events.ended().await.is_empty());
    }
    let suppressed = json!({
        "type": "SUBSCRIBE",
        "subscribe": {"framework_info": v1_info(), "suppressed_roles": ["elsewhere"]},
    });
    let mut events = Subscription::open(&cluster, APPLICATION_JSON, None, suppressed.to_string()).await;
    let error = events.expect(EventType::Error).await.error.unwrap();
    assert_eq!(error.message, "Suppressed roles {\"elsewhere\"} are not contained in the set of roles");
    assert!(events.ended().await.is_empty());
    assert!(cluster.frameworks().await.is_empty());

    // A framework id this master does not know is taken as a framework to recover.
    let mut events =
        Subscription::open(&cluster, APPLICATION_JSON, None, subscribe_json(&v1_info(), Some("from-before"))).await;
    let subscribed = events.expect(EventType::Subscribed).await.subscribed.unwrap();
    assert_eq!(subscribed.framework_id.value, "from-before");
    events.expect(EventType::Heartbeat).await;
    assert!(cluster.framework(&subscribed.framework_id).await.unwrap().connected);
}

// ----- hostile input -----

#[tokio::test]
async fn hostile_input_is_refused_and_leaves_the_master_intact() {
    let cluster = Cluster::start().await;
    let (agent, agent_id) = cluster.agent().await;
    let mut victim = HttpScheduler::subscribe(&cluster, &v1_info()).await;
    let attacker = HttpScheduler::subscribe(&cluster, &v1_info()).await;
    let offer = victim.offer(&cluster).await;
    let json_headers = [("Content-Type", APPLICATION_JSON)];

    // Garbage in every form.
    let bodies: Vec<Vec<u8>> = vec![
        b"".to_vec(),
        b"null".to_vec(),
        b"\"SUBSCRIBE\"".to_vec(),
        vec![0xff, 0xfe, 0x00, 0x80],
        b"{\"type\": \"SUBSCRIBE\", \"subscribe\": {\"framework_info\": 7}}".to_vec(),
        b"{\"type\": 3.5}".to_vec(),
        format!("{}{}", "[".repeat(10_000), "]".repeat(10_000)).into_bytes(),
        format!("{{\"type\":\"REVIVE\",\"framework_id\":{{\"value\":\"{}\"}}}}", "x".repeat(2 << 20)).into_bytes(),
    ];
    for body in bodies {
        let response = send(&cluster, post(SCHEDULER, &json_headers, body)).await;
        assert_eq!(response.status.0 / 100, 4, "{:?}", response.status);
    }
    let protobuf = [("Content-Type", APPLICATION_PROTOBUF)];
    for body in
        [vec![0x08], vec![0x12, 0xff, 0xff, 0xff, 0xff, 0x0f], vec![0xff; 64], b"{\"type\":\"REVIVE\"}".to_vec()]
    {
        let response = send(&cluster, post(SCHEDULER, &protobuf, body)).await;
        assert_eq!(response.status.0 / 100, 4, "{:?}", response.status);
    }

    // A huge body is refused (or the connection dropped), never a crash.
    let huge = vec![b' '; 16 << 20];
    let address: SocketAddr = cluster.lp.address().into();
    let request = post(SCHEDULER, &json_headers, huge);
    if let Ok(Ok(response)) = tokio::time::timeout(common::WAIT, client::request(address, &request)).await {
        assert_eq!(response.status.0 / 100, 4, "{:?}", response.status);
    }

    // The victim launches with its offer.
    let t1 = task("t1", &agent_id, "cpus:1;mem:128");
    victim.accepted(&cluster, &common::accept(&victim.id, vec![offer.id.clone()], vec![t1], 5.0)).await;
    cluster.settle().await;
    assert_eq!(cluster.tasks().await.len(), 1);

    // The attacker cannot act for the victim: with its own stream id it is a mismatch.
    for kind in [CallType::Teardown, CallType::Suppress] {
        assert_eq!(attacker.post(&cluster, &victim.call(kind)).await.status.0, 400);
    }
    let kill = Call {
        kill: Some(scall::Kill { task_id: TaskId { value: "t1".into() }, slave_id: None, kill_policy: None }),
        ..victim.call(CallType::Kill)
    };
    assert_eq!(attacker.post(&cluster, &kill).await.status.0, 400);
    // Under its own id, the victim's task and the spent offer are out of its reach.
    let kill = Call { framework_id: Some(attacker.id.clone()), ..kill };
    attacker.accepted(&cluster, &kill).await;
    let stolen = task("stolen", &agent_id, "cpus:1;mem:1");
    attacker.accepted(&cluster, &common::accept(&attacker.id, vec![offer.id.clone()], vec![stolen], 5.0)).await;
    let acknowledge = Call {
        acknowledge: Some(scall::Acknowledge {
            slave_id: agent_id.clone(),
            task_id: TaskId { value: "t1".into() },
            uuid: Uuid::random().as_bytes().to_vec(),
        }),
        ..attacker.call(CallType::Acknowledge)
    };
    attacker.accepted(&cluster, &acknowledge).await;
    cluster.settle().await;
    let tasks = cluster.tasks().await;
    assert_eq!(tasks.len(), 1);
    assert_eq!((tasks[0].task_id.value.as_str(), &tasks[0].framework_id), ("t1", &victim.id));
    assert!(agent.kills().is_empty());

    // Everything still works.
    let frameworks = cluster.frameworks().await;
    assert_eq!(frameworks.len(), 2);
    assert!(frameworks.iter().all(|f| f.connected));
    let state = cluster.state().await;
    assert_eq!(state["frameworks"].as_array().unwrap().len(), 2);
    victim.accepted(&cluster, &victim.call(CallType::Revive)).await;
    cluster.step(HEARTBEAT).await;
    victim.events.until_heartbeat().await;
}
