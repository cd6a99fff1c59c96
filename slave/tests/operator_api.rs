//! The agent's v1 operator API (`POST /slave(1)/api/v1`) over real TCP while the real agent runs on a paused clock with a fake master, a fake containerizer and a fake executor: the request checks and their status codes, the read calls as v1 JSON and as protobuf, and the tasks of a command task as it is queued, launched and finished.

use std::collections::BTreeMap;
use std::net::SocketAddrV4;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use libprocess::{Bytes, Context, Future, Libprocess, Process, ProtobufMessage, PID, UPID};
use mesos::internal::{
    MasterSlaveConnection, RegisterExecutorMessage, RunTaskMessage, SlaveRegisteredMessage, StatusUpdate,
    StatusUpdateMessage,
};
use mesos::proto::agent::call::Type as CallType;
use mesos::proto::agent::response::Type as ResponseType;
use mesos::proto::agent::{Call, Response as ApiResponse};
use mesos::proto::{
    CommandInfo, ContainerId, ExecutorId, FrameworkId, FrameworkInfo, Resource, ResourceStatistics, SlaveId, TaskId,
    TaskInfo, TaskState, TaskStatus,
};
use mesos::resources::Resources;
use mesos::state::Uuid;
use prost::Message;
use serde_json::{json, Value};
use slave::containerizer::{ContainerConfig, ContainerTermination, Containerizer, ContainerizerError, LaunchResult};
use slave::slave::{Options, SlaveHandle, State};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

mod common;

use common::within;

// ----- fakes -----

/// A process that ignores what it hears (the master and the executor need not record here).
struct Quiet;

impl Process for Quiet {
    fn initialize(&mut self, ctx: &mut Context<Self>) {
        ctx.install("mesos.internal.StatusUpdateMessage", |_: &mut Quiet, _ctx, _from: &UPID, _body: Bytes| {});
    }
}

/// The containers launched, with the environment each was given.
type Launched = Arc<Mutex<Vec<(ContainerId, BTreeMap<String, String>)>>>;

/// Launches nothing; every container runs until destroyed.
#[derive(Clone, Default)]
struct FakeContainerizer {
    launched: Launched,
    /// The waits, kept pending (a dropped promise would fail them).
    waiting: Arc<Mutex<Vec<libprocess::Promise<Option<ContainerTermination>>>>>,
}

impl Containerizer for FakeContainerizer {
    fn launch(
        &self,
        container_id: ContainerId,
        _config: ContainerConfig,
        environment: BTreeMap<String, String>,
        _pid_checkpoint_path: Option<std::path::PathBuf>,
    ) -> Future<Result<LaunchResult, ContainerizerError>> {
        self.launched.lock().unwrap().push((container_id, environment));
        Future::ready(Ok(LaunchResult::Success))
    }

    fn wait(&self, _container_id: ContainerId) -> Future<Option<ContainerTermination>> {
        // Never ends by itself.
        let promise = libprocess::Promise::new();
        let future = promise.future();
        self.waiting.lock().unwrap().push(promise);
        future
    }

    fn destroy(&self, _container_id: ContainerId) -> Future<Option<ContainerTermination>> {
        Future::ready(Some(ContainerTermination { status: Some(9), ..ContainerTermination::default() }))
    }

    fn kill(&self, _container_id: ContainerId, _signal: i32) -> Future<bool> {
        Future::ready(true)
    }

    fn usage(&self, _container_id: ContainerId) -> Future<Result<ResourceStatistics, ContainerizerError>> {
        Future::ready(Ok(ResourceStatistics { timestamp: 7.0, cpus_limit: Some(1.1), ..ResourceStatistics::default() }))
    }

    fn update(&self, _container_id: ContainerId, _resources: Vec<Resource>) -> Future<Result<(), ContainerizerError>> {
        Future::ready(Ok(()))
    }

    fn containers(&self) -> Future<Vec<ContainerId>> {
        Future::ready(self.launched.lock().unwrap().iter().map(|(id, _)| id.clone()).collect())
    }
}

struct Agent {
    lp: Libprocess,
    master: PID<Quiet>,
    handle: SlaveHandle,
    containerizer: FakeContainerizer,
    _work_dir: tempfile::TempDir,
}

impl Agent {
    /// A registered agent `S0` with the files service.
    async fn start() -> Agent {
        let lp = common::loopback_instance().await;
        lp.clock().pause();
        let master = lp.spawn("master", Quiet).unwrap();
        let work_dir = tempfile::tempdir().unwrap();
        let containerizer = FakeContainerizer::default();
        let info = common::agent_info(&lp, Some(true));
        let mut options = Options::new(work_dir.path().to_path_buf());
        options.flags = vec![("work_dir".into(), work_dir.path().display().to_string())];
        let files = mesos::files::Files::spawn(&lp).unwrap();
        let slave =
            common::agent(&lp, master.upid(), info, options, Arc::new(containerizer.clone())).with_files(files.clone());
        let handle = SlaveHandle::spawn(&lp, slave).unwrap();
        lp.settle().await;
        let agent = Agent { lp, master, handle, containerizer, _work_dir: work_dir };
        agent.lp.clock().advance(Duration::from_secs(1));
        agent.lp.settle().await;
        let connection = MasterSlaveConnection { total_ping_timeout_seconds: Some(75.0) };
        let registered =
            SlaveRegisteredMessage { slave_id: SlaveId { value: "S0".into() }, connection: Some(connection) };
        agent.send(agent.master.upid(), &registered);
        agent.lp.settle().await;
        assert_eq!(within(agent.handle.state()).await.unwrap(), State::Running);
        agent
    }

    fn send<M: ProtobufMessage>(&self, from: &UPID, message: &M) {
        self.lp.post_protobuf(from, self.handle.pid.upid(), message);
    }

    fn path(&self) -> String {
        format!("/{}/api/v1", self.handle.pid.upid().id)
    }

    /// A command task `id` of framework `F0`, queued until its executor registers.
    async fn run_task(&self, id: &str) {
        let task = TaskInfo {
            name: id.into(),
            task_id: TaskId { value: id.into() },
            slave_id: SlaveId { value: "S0".into() },
            resources: Resources::parse("cpus:1;mem:128", "*").unwrap().to_vec(),
            command: Some(CommandInfo { value: Some("sleep 1".into()), ..CommandInfo::default() }),
            ..TaskInfo::default()
        };
        let framework = FrameworkInfo {
            user: String::new(),
            name: "framework".into(),
            id: Some(FrameworkId { value: "F0".into() }),
            checkpoint: Some(true),
            ..FrameworkInfo::default()
        };
        let message = RunTaskMessage {
            framework_id: None,
            framework,
            task,
            resource_version_uuids: Vec::new(),
            pid: Some(self.master.upid().to_string()),
            launch_executor: Some(true),
        };
        self.send(self.master.upid(), &message);
        self.lp.settle().await;
    }

    /// A fake executor registered for the container launched last.
    async fn register_executor(&self) -> PID<Quiet> {
        let (_, environment) = self.containerizer.launched.lock().unwrap().last().cloned().expect("launched");
        let executor = self.lp.spawn("executor(1)", Quiet).unwrap();
        let register = RegisterExecutorMessage {
            framework_id: FrameworkId { value: environment["MESOS_FRAMEWORK_ID"].clone() },
            executor_id: ExecutorId { value: environment["MESOS_EXECUTOR_ID"].clone() },
        };
        self.lp.post_protobuf(executor.upid(), self.handle.pid.upid(), &register);
        self.lp.settle().await;
        executor
    }

    /// The executor reports `state` for task `id`.
    async fn update(&self, executor: &PID<Quiet>, id: &str, state: TaskState) {
        let uuid = Uuid::random().as_bytes().to_vec();
        let slave_id = SlaveId { value: "S0".into() };
        let update = StatusUpdate {
            framework_id: FrameworkId { value: "F0".into() },
            executor_id: Some(ExecutorId { value: id.into() }),
            slave_id: Some(slave_id.clone()),
            status: TaskStatus {
                task_id: TaskId { value: id.into() },
                state: state as i32,
                slave_id: Some(slave_id),
                timestamp: Some(1.0),
                uuid: Some(uuid.clone()),
                ..TaskStatus::default()
            },
            timestamp: 1.0,
            uuid: Some(uuid),
            latest_state: None,
        };
        let message = StatusUpdateMessage { update, pid: Some(executor.upid().to_string()) };
        self.lp.post_protobuf(executor.upid(), self.handle.pid.upid(), &message);
        self.lp.settle().await;
    }
}

// ----- a minimal HTTP client -----

#[derive(Debug)]
struct Reply {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Reply {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    fn json(&self) -> Value {
        assert_eq!(self.status, 200, "{}", self.text());
        assert_eq!(self.header("Content-Type"), Some("application/json"));
        serde_json::from_slice(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text()))
    }
}

async fn send(method: &str, address: SocketAddrV4, path: &str, headers: &[(&str, &str)], body: &[u8]) -> Reply {
    within(async {
        let mut stream = TcpStream::connect(address).await.expect("connects");
        let mut head = format!("{method} {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n");
        for (name, value) in headers {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
        head.push_str(&format!("Content-Length: {}\r\n\r\n", body.len()));
        stream.write_all(head.as_bytes()).await.expect("writes");
        stream.write_all(body).await.expect("writes");
        let mut bytes = Vec::new();
        stream.read_to_end(&mut bytes).await.expect("reads");
        let end = bytes.windows(4).position(|w| w == b"\r\n\r\n").expect("a complete head");
        let head = std::str::from_utf8(&bytes[..end]).expect("UTF-8 head");
        let mut lines = head.split("\r\n");
        let status = lines.next().and_then(|l| l.split(' ').nth(1)).and_then(|s| s.parse().ok()).expect("status");
        let headers = lines
            .filter_map(|l| l.split_once(':'))
            .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
            .collect();
        Reply { status, headers, body: bytes[end + 4..].to_vec() }
    })
    .await
}

impl Agent {
    async fn call_json(&self, body: Value) -> Reply {
        send(
            "POST",
            self.lp.address(),
            &self.path(),
            &[("Content-Type", "application/json")],
            body.to_string().as_bytes(),
        )
        .await
    }

    async fn call_protobuf(&self, kind: CallType) -> ApiResponse {
        let call = Call { r#type: Some(kind as i32), ..Default::default() };
        let headers = [("Content-Type", "application/x-protobuf"), ("Accept", "application/x-protobuf")];
        let reply = send("POST", self.lp.address(), &self.path(), &headers, &call.encode_to_vec()).await;
        assert_eq!(reply.status, 200, "{}", reply.text());
        assert_eq!(reply.header("Content-Type"), Some("application/x-protobuf"));
        ApiResponse::decode(reply.body.as_slice()).expect("an agent::Response")
    }
}

// ----- the tests -----

#[tokio::test]
async fn bad_requests_get_their_status_codes() {
    let agent = Agent::start().await;
    let address = agent.lp.address();
    let path = agent.path();

    let reply = send("GET", address, &path, &[], b"").await;
    assert_eq!((reply.status, reply.header("Allow")), (405, Some("POST")));
    let reply = send("POST", address, &path, &[], b"{}").await;
    assert_eq!((reply.status, reply.text().as_str()), (400, "Expecting 'Content-Type' to be present"));
    let reply = send("POST", address, &path, &[("Content-Type", "text/xml")], b"{}").await;
    assert_eq!(reply.status, 415);
    let reply = send("POST", address, &path, &[("Content-Type", "application/json")], b"not json").await;
    assert_eq!(reply.status, 400);
    let reply = send("POST", address, &path, &[("Content-Type", "application/x-protobuf")], &[0x0a, 0xff]).await;
    assert_eq!((reply.status, reply.text().as_str()), (400, "Failed to parse body into Call protobuf"));
    let reply = agent.call_json(json!({})).await;
    assert_eq!(
        (reply.status, reply.text().as_str()),
        (400, "Failed to validate agent::Call: Expecting 'type' to be present")
    );
    let reply = agent.call_json(json!({"type": "LIST_FILES"})).await;
    assert_eq!(
        (reply.status, reply.text().as_str()),
        (400, "Failed to validate agent::Call: Expecting 'list_files' to be present")
    );
    let headers = [("Content-Type", "application/json"), ("Accept", "application/xml")];
    let reply = send("POST", address, &path, &headers, br#"{"type":"GET_HEALTH"}"#).await;
    assert_eq!(reply.status, 406);
    let reply = agent.call_json(json!({"type": "UNKNOWN"})).await;
    assert_eq!(reply.status, 501);
    let reply =
        agent.call_json(json!({"type": "KILL_CONTAINER", "kill_container": {"container_id": {"value": "c"}}})).await;
    assert_eq!((reply.status, reply.text().as_str()), (501, "Call KILL_CONTAINER is not supported by this agent yet"));
    let headers = [("Content-Type", "application/recordio"), ("Message-Content-Type", "application/json")];
    let reply = send("POST", address, &path, &headers, b"").await;
    assert_eq!(reply.status, 501);

    assert_eq!(agent.call_json(json!({"type": "GET_HEALTH"})).await.status, 200, "still serving");
}

#[tokio::test]
async fn small_read_calls_answer_in_json_and_protobuf() {
    let agent = Agent::start().await;
    assert_eq!(
        agent.call_json(json!({"type": "GET_HEALTH"})).await.json(),
        json!({"type": "GET_HEALTH", "get_health": {"healthy": true}})
    );
    let health = agent.call_protobuf(CallType::GetHealth).await;
    assert_eq!(health.r#type(), ResponseType::GetHealth);
    assert!(health.get_health.unwrap().healthy);

    let version = agent.call_json(json!({"type": "GET_VERSION"})).await.json();
    assert_eq!(version["get_version"]["version_info"]["version"], "1.12.0");
    let flags = agent.call_json(json!({"type": "GET_FLAGS"})).await.json();
    assert_eq!(flags["get_flags"]["flags"][0]["name"], "work_dir");
    let level = agent.call_json(json!({"type": "GET_LOGGING_LEVEL"})).await.json();
    assert_eq!(level["get_logging_level"]["level"], 0);
    let metrics = agent
        .call_json(json!({"type": "GET_METRICS", "get_metrics": {"timeout": {"nanoseconds": 1000000000}}}))
        .await
        .json();
    let metrics = metrics["get_metrics"]["metrics"].as_array().unwrap().clone();
    assert!(metrics.iter().any(|m| m["name"] == "slave/registered" && m["value"] == 1.0), "{metrics:?}");

    let got = agent.call_json(json!({"type": "GET_AGENT"})).await.json();
    assert_eq!(got["type"], "GET_AGENT");
    assert_eq!(got["get_agent"]["agent_info"]["hostname"], "agent.example");
    assert_eq!(got["get_agent"]["agent_info"]["id"]["value"], "S0");
    assert!(got["get_agent"].get("slave_info").is_none(), "v1 names");
    let got = agent.call_protobuf(CallType::GetAgent).await;
    assert_eq!(got.get_agent.unwrap().slave_info.unwrap().hostname, "agent.example");

    let empty = agent.call_json(json!({"type": "GET_STATE"})).await.json();
    assert_eq!(
        empty,
        json!({"type": "GET_STATE", "get_state": {"get_tasks": {}, "get_executors": {}, "get_frameworks": {}}})
    );
    for kind in ["GET_OPERATIONS", "GET_RESOURCE_PROVIDERS"] {
        assert_eq!(agent.call_json(json!({ "type": kind })).await.json()["type"], kind);
    }
}

#[tokio::test]
async fn a_command_task_moves_through_the_task_lists() {
    let agent = Agent::start().await;
    agent.run_task("t1").await;

    let tasks = agent.call_json(json!({"type": "GET_TASKS"})).await.json();
    let queued = &tasks["get_tasks"]["queued_tasks"];
    assert_eq!(queued.as_array().map(Vec::len), Some(1), "{tasks}");
    assert_eq!(queued[0]["task_id"]["value"], "t1");
    assert_eq!(queued[0]["state"], "TASK_STAGING");
    assert_eq!(queued[0]["agent_id"]["value"], "S0");
    assert_eq!(queued[0]["framework_id"]["value"], "F0");
    assert!(tasks["get_tasks"].get("launched_tasks").is_none());

    let frameworks = agent.call_json(json!({"type": "GET_FRAMEWORKS"})).await.json();
    assert_eq!(frameworks["get_frameworks"]["frameworks"][0]["framework_info"]["id"]["value"], "F0");
    let executors = agent.call_json(json!({"type": "GET_EXECUTORS"})).await.json();
    let executor = &executors["get_executors"]["executors"][0]["executor_info"];
    assert_eq!(executor["executor_id"]["value"], "t1");
    assert_eq!(executor["framework_id"]["value"], "F0");

    let executor = agent.register_executor().await;
    let tasks = agent.call_json(json!({"type": "GET_TASKS"})).await.json();
    assert_eq!(tasks["get_tasks"]["launched_tasks"][0]["task_id"]["value"], "t1");
    assert!(tasks["get_tasks"].get("queued_tasks").is_none());

    agent.update(&executor, "t1", TaskState::TaskRunning).await;
    let state = agent.call_json(json!({"type": "GET_STATE"})).await.json();
    let launched = &state["get_state"]["get_tasks"]["launched_tasks"][0];
    assert_eq!(launched["state"], "TASK_RUNNING");
    assert_eq!(launched["statuses"][0]["agent_id"]["value"], "S0");
    assert_eq!(state["get_state"]["get_frameworks"]["frameworks"][0]["framework_info"]["name"], "framework");
    assert_eq!(state["get_state"]["get_executors"]["executors"][0]["executor_info"]["executor_id"]["value"], "t1");

    let answer = agent.call_protobuf(CallType::GetState).await;
    assert_eq!(answer.r#type(), ResponseType::GetState);
    let tasks = answer.get_state.unwrap().get_tasks.unwrap();
    assert_eq!(tasks.launched_tasks[0].state(), TaskState::TaskRunning);

    let containers = agent.call_json(json!({"type": "GET_CONTAINERS"})).await.json();
    let container = &containers["get_containers"]["containers"][0];
    assert_eq!(container["framework_id"]["value"], "F0");
    assert_eq!(container["executor_id"]["value"], "t1");
    assert!(container["container_id"]["value"].as_str().is_some_and(|v| !v.is_empty()));
    assert_eq!(container["resource_statistics"]["timestamp"], 7.0);

    // The executor's sandbox through the files service.
    let legacy = send("GET", agent.lp.address(), &format!("/{}/state", agent.handle.pid.upid().id), &[], b"").await;
    let legacy: Value = serde_json::from_slice(&legacy.body).unwrap_or_else(|e| panic!("{e}: {}", legacy.text()));
    let directory = legacy["frameworks"][0]["executors"][0]["directory"].as_str().unwrap().to_string();
    std::fs::write(format!("{directory}/stdout"), b"out there").unwrap();
    let listed = agent.call_json(json!({"type": "LIST_FILES", "list_files": {"path": directory}})).await.json();
    let paths: Vec<&str> =
        listed["list_files"]["file_infos"].as_array().unwrap().iter().filter_map(|f| f["path"].as_str()).collect();
    assert!(paths.iter().any(|p| p.ends_with("/stdout")), "{paths:?}");
    let read = agent
        .call_json(json!({"type": "READ_FILE", "read_file": {"path": format!("{directory}/stdout"), "offset": 0}}))
        .await
        .json();
    assert_eq!(read["read_file"]["size"], 9);
    assert_eq!(read["read_file"]["data"], mesos::json::base64_encode(b"out there"));
    let missing =
        agent.call_json(json!({"type": "READ_FILE", "read_file": {"path": "/no/such/file", "offset": 0}})).await;
    assert_eq!(missing.status, 404);
}
