//! The master's v1 operator API (`POST /master/api/v1`) over real TCP while the real master, allocator and registrar run on a paused clock with fake agents and schedulers: the request checks and their status codes, the read calls as v1 JSON and as protobuf, GET_STATE and its parts through a task's launch, TEARDOWN, and SUBSCRIBE (SUBSCRIBED, the first HEARTBEAT, every event type, heartbeats every 15 s, the subscriber cap and its gauge, a closed client dropped).

mod common;

use std::net::SocketAddrV4;
use std::time::Duration;

use common::{accept, agent_info, agent_update, framework_info, subscribe_call, task, within, Cluster, Fake, ROLE};
use mesos::internal::UnregisterSlaveMessage;
use mesos::proto::master::event::Type as EventType;
use mesos::proto::master::response::Type as ResponseType;
use mesos::proto::master::{Call, Event, Response as ApiResponse};
use mesos::proto::{FrameworkId, SlaveId, TaskState};
use prost::Message;
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

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

    fn protobuf(&self) -> ApiResponse {
        assert_eq!(self.status, 200, "{}", self.text());
        assert_eq!(self.header("Content-Type"), Some("application/x-protobuf"));
        ApiResponse::decode(self.body.as_slice()).expect("a master::Response")
    }
}

fn request(method: &str, address: SocketAddrV4, headers: &[(&str, &str)], body: &[u8]) -> Vec<u8> {
    let mut head = format!("{method} /master/api/v1 HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n");
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str(&format!("Content-Length: {}\r\n\r\n", body.len()));
    let mut bytes = head.into_bytes();
    bytes.extend_from_slice(body);
    bytes
}

fn parse_head(head: &str) -> (u16, Vec<(String, String)>) {
    let mut lines = head.split("\r\n");
    let status = lines.next().and_then(|l| l.split(' ').nth(1)).and_then(|s| s.parse().ok()).expect("status");
    let headers =
        lines.filter_map(|l| l.split_once(':')).map(|(k, v)| (k.trim().to_string(), v.trim().to_string())).collect();
    (status, headers)
}

/// One request on a fresh connection that the server closes after answering.
async fn send(method: &str, address: SocketAddrV4, headers: &[(&str, &str)], body: &[u8]) -> Reply {
    within(async {
        let mut stream = TcpStream::connect(address).await.expect("connects");
        stream.write_all(&request(method, address, headers, body)).await.expect("writes");
        let mut bytes = Vec::new();
        stream.read_to_end(&mut bytes).await.expect("reads");
        let end = bytes.windows(4).position(|w| w == b"\r\n\r\n").expect("a complete head");
        let (status, headers) = parse_head(std::str::from_utf8(&bytes[..end]).expect("UTF-8 head"));
        let chunked = headers.iter().any(|(k, v)| k.eq_ignore_ascii_case("Transfer-Encoding") && v == "chunked");
        let body = if chunked { common::dechunk(&bytes[end + 4..]) } else { bytes[end + 4..].to_vec() };
        Reply { status, headers, body }
    })
    .await
}

/// A JSON call answered in JSON.
async fn call_json(address: SocketAddrV4, body: Value) -> Reply {
    send("POST", address, &[("Content-Type", "application/json")], body.to_string().as_bytes()).await
}

/// A protobuf call answered in protobuf.
async fn call_protobuf(address: SocketAddrV4, call: &Call) -> Reply {
    let headers = [("Content-Type", "application/x-protobuf"), ("Accept", "application/x-protobuf")];
    send("POST", address, &headers, &call.encode_to_vec()).await
}

fn call_of(kind: mesos::proto::master::call::Type) -> Call {
    Call { r#type: Some(kind as i32), ..Default::default() }
}

/// A SUBSCRIBE stream, read record by record.
struct EventStream {
    stream: TcpStream,
    status: u16,
    headers: Vec<(String, String)>,
    /// Bytes read but not yet decoded.
    buffer: Vec<u8>,
    /// The body so far, de-chunked.
    body: Vec<u8>,
    ended: bool,
}

impl EventStream {
    async fn open(address: SocketAddrV4, accept: &str) -> EventStream {
        let mut stream = within(TcpStream::connect(address)).await.expect("connects");
        let body = json!({"type": "SUBSCRIBE"}).to_string();
        let bytes =
            request("POST", address, &[("Content-Type", "application/json"), ("Accept", accept)], body.as_bytes());
        stream.write_all(&bytes).await.expect("writes");
        let mut buffer = Vec::new();
        let end = loop {
            if let Some(end) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
                break end;
            }
            let mut chunk = [0u8; 4096];
            let n = within(stream.read(&mut chunk)).await.expect("reads");
            assert!(n > 0, "closed before the head");
            buffer.extend_from_slice(&chunk[..n]);
        };
        let (status, headers) = parse_head(std::str::from_utf8(&buffer[..end]).expect("UTF-8 head"));
        let buffer = buffer.split_off(end + 4);
        EventStream { stream, status, headers, buffer, body: Vec::new(), ended: false }
    }

    fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    /// Moves whole chunks from `buffer` to `body`.
    fn dechunk(&mut self) {
        loop {
            let Some(line_end) = self.buffer.windows(2).position(|w| w == b"\r\n") else { return };
            let size_text = std::str::from_utf8(&self.buffer[..line_end]).expect("chunk size");
            let size = usize::from_str_radix(size_text.trim(), 16).expect("hex chunk size");
            if size == 0 {
                self.ended = true;
                self.buffer.clear();
                return;
            }
            let start = line_end + 2;
            if self.buffer.len() < start + size + 2 {
                return;
            }
            self.body.extend_from_slice(&self.buffer[start..start + size]);
            self.buffer.drain(..start + size + 2);
        }
    }

    /// The next whole RecordIO record in `body`, if any.
    fn take_record(&mut self) -> Option<Vec<u8>> {
        let newline = self.body.iter().position(|&b| b == b'\n')?;
        let length: usize = std::str::from_utf8(&self.body[..newline]).ok()?.parse().expect("record length");
        if self.body.len() < newline + 1 + length {
            return None;
        }
        let record = self.body[newline + 1..newline + 1 + length].to_vec();
        self.body.drain(..newline + 1 + length);
        Some(record)
    }

    /// The next record within `wait`, `None` if none came (or the stream ended).
    async fn next_within(&mut self, wait: Duration) -> Option<Vec<u8>> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            self.dechunk();
            if let Some(record) = self.take_record() {
                return Some(record);
            }
            if self.ended {
                return None;
            }
            let mut chunk = [0u8; 65536];
            match tokio::time::timeout_at(deadline, self.stream.read(&mut chunk)).await {
                Ok(Ok(0)) | Ok(Err(_)) => {
                    self.ended = true;
                    return None;
                }
                Ok(Ok(n)) => self.buffer.extend_from_slice(&chunk[..n]),
                Err(_) => return None,
            }
        }
    }

    /// The next record as JSON, which must come.
    async fn next_json(&mut self) -> Value {
        let record = self.next_within(common::WAIT).await.expect("an event");
        serde_json::from_slice(&record).expect("a JSON event")
    }

    /// The next events until one of type `kind`, which is returned.
    async fn until(&mut self, kind: &str) -> Value {
        loop {
            let event = self.next_json().await;
            if event["type"] == kind {
                return event;
            }
            assert_ne!(event["type"], "SUBSCRIBED", "unexpected {event}");
        }
    }

    /// Whether the server ended the stream (zero chunk or closed connection) within a while.
    async fn ends(&mut self) -> bool {
        while self.next_within(Duration::from_secs(5)).await.is_some() {}
        self.ended
    }
}

// ----- helpers over the cluster -----

async fn metric(cluster: &Cluster, name: &str) -> f64 {
    let reply = call_json(cluster.lp.address(), json!({"type": "GET_METRICS", "get_metrics": {}})).await;
    let body = reply.json();
    let metrics = body["get_metrics"]["metrics"].as_array().expect("metrics").clone();
    metrics.iter().find(|m| m["name"] == name).and_then(|m| m["value"].as_f64()).unwrap_or_else(|| panic!("{name}"))
}

/// An agent, a framework, and a task launched on the agent and reported RUNNING.
struct Launched {
    agent: Fake,
    agent_id: SlaveId,
    scheduler: Fake,
    framework_id: FrameworkId,
}

async fn launch(cluster: &Cluster) -> Launched {
    let (agent, agent_id) = cluster.register_agent(agent_info("host1", "cpus:4;mem:1024;ports:[31000-32000]")).await;
    let (scheduler, framework_id) = cluster.subscribed(framework_info(&[ROLE])).await;
    cluster.step(common::INTERVAL).await;
    let offer = scheduler.last_offer();
    cluster.send(
        &scheduler,
        &accept(&framework_id, vec![offer.id.clone()], vec![task("t1", &agent_id, "cpus:1;mem:128")], 5.0),
    );
    cluster.settle().await;
    assert_eq!(agent.run_tasks().len(), 1, "the task reached the agent");
    cluster.send(&agent, &agent_update(&framework_id, agent.upid(), &agent_id, "t1", TaskState::TaskRunning));
    cluster.settle().await;
    Launched { agent, agent_id, scheduler, framework_id }
}

// ----- the request checks -----

#[tokio::test]
async fn bad_requests_get_their_status_codes() {
    let cluster = Cluster::start().await;
    let address = cluster.lp.address();

    let reply = send("GET", address, &[], b"").await;
    assert_eq!(reply.status, 405);
    assert_eq!(reply.header("Allow"), Some("POST"));
    assert!(reply.text().contains("Expecting one of { 'POST' }, but received 'GET'"), "{}", reply.text());

    let reply = send("POST", address, &[], b"{}").await;
    assert_eq!((reply.status, reply.text().as_str()), (400, "Expecting 'Content-Type' to be present"));

    let reply = send("POST", address, &[("Content-Type", "text/plain")], b"{}").await;
    assert_eq!(reply.status, 415);

    let reply = send("POST", address, &[("Content-Type", "application/json")], b"{\"type\":").await;
    assert_eq!(reply.status, 400);
    assert!(reply.text().starts_with("Failed to parse body into JSON"), "{}", reply.text());

    let reply = send("POST", address, &[("Content-Type", "application/json")], b"[1,2]").await;
    assert_eq!(reply.status, 400);

    let reply = send("POST", address, &[("Content-Type", "application/x-protobuf")], &[0xff, 0xff, 0xff, 0x01]).await;
    assert_eq!((reply.status, reply.text().as_str()), (400, "Failed to parse body into Call protobuf"));

    let reply = call_json(address, json!({})).await;
    assert_eq!(
        (reply.status, reply.text().as_str()),
        (400, "Failed to validate master::Call: Expecting 'type' to be present")
    );
    let reply = call_json(address, json!({"type": "NO_SUCH_CALL"})).await;
    assert_eq!(reply.status, 400, "an unknown type name is dropped, so no type: {}", reply.text());
    let reply = call_json(address, json!({"type": "GET_METRICS"})).await;
    assert_eq!(
        (reply.status, reply.text().as_str()),
        (400, "Failed to validate master::Call: Expecting 'get_metrics' to be present")
    );
    let reply = call_json(address, json!({"type": "READ_FILE", "read_file": {"path": "/x"}})).await;
    assert_eq!(reply.status, 400, "a missing required field: {}", reply.text());

    let headers = [("Content-Type", "application/json"), ("Accept", "text/html")];
    let reply = send("POST", address, &headers, br#"{"type":"GET_HEALTH"}"#).await;
    assert_eq!(reply.status, 406);

    let reply = call_json(address, json!({"type": "UNKNOWN"})).await;
    assert_eq!(reply.status, 501);
    let reply = call_json(address, json!({"type": "DRAIN_AGENT", "drain_agent": {"agent_id": {"value": "a"}}})).await;
    assert_eq!((reply.status, reply.text().as_str()), (501, "Call DRAIN_AGENT is not supported by this master yet"));
    let reply = call_json(
        address,
        json!({"type": "SET_LOGGING_LEVEL", "set_logging_level": {"level": 1, "duration": {"nanoseconds": 1}}}),
    )
    .await;
    assert_eq!(reply.status, 501);

    // The master took none of it badly.
    assert_eq!(call_json(address, json!({"type": "GET_HEALTH"})).await.status, 200);
}

#[tokio::test]
async fn the_prefix_less_path_reaches_the_api_through_the_delegate() {
    let cluster = Cluster::start().await;
    cluster.lp.set_delegate(Some(master::master::PROCESS_ID));
    let address = cluster.lp.address();
    let reply = within(async {
        let mut stream = TcpStream::connect(address).await.unwrap();
        let body = br#"{"type":"GET_HEALTH"}"#;
        let head = format!(
            "POST /api/v1 HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
            body.len()
        );
        stream.write_all(head.as_bytes()).await.unwrap();
        stream.write_all(body).await.unwrap();
        let mut bytes = Vec::new();
        stream.read_to_end(&mut bytes).await.unwrap();
        String::from_utf8(bytes).unwrap()
    })
    .await;
    assert!(reply.starts_with("HTTP/1.1 200"), "{reply}");
    assert!(reply.ends_with(r#"{"type":"GET_HEALTH","get_health":{"healthy":true}}"#), "{reply}");
}

// ----- the read calls -----

#[tokio::test]
async fn small_read_calls_answer_in_json_and_protobuf() {
    let cluster = Cluster::start_with(common::flags(&["--weights=web=2.5"])).await;
    let address = cluster.lp.address();

    let health = call_json(address, json!({"type": "GET_HEALTH"})).await;
    assert_eq!(health.json(), json!({"type": "GET_HEALTH", "get_health": {"healthy": true}}));
    let health = call_protobuf(address, &call_of(mesos::proto::master::call::Type::GetHealth)).await.protobuf();
    assert_eq!(health.r#type(), ResponseType::GetHealth);
    assert!(health.get_health.unwrap().healthy);

    let version = call_json(address, json!({"type": "GET_VERSION"})).await.json();
    assert_eq!(version["type"], "GET_VERSION");
    assert_eq!(version["get_version"]["version_info"]["version"], "1.12.0");
    assert!(version["get_version"]["version_info"]["build_time"].is_number());

    let flags = call_json(address, json!({"type": "GET_FLAGS"})).await.json();
    let flags = flags["get_flags"]["flags"].as_array().unwrap().clone();
    assert!(flags.contains(&json!({"name": "registry", "value": "in_memory"})), "{flags:?}");
    assert!(flags.contains(&json!({"name": "max_operator_event_stream_subscribers", "value": "1000"})));

    assert_eq!(metric(&cluster, "master/operator_event_stream_subscribers").await, 0.0);
    assert!(metric(&cluster, "master/uptime_secs").await >= 0.0);

    let level = call_json(address, json!({"type": "GET_LOGGING_LEVEL"})).await.json();
    assert_eq!(level, json!({"type": "GET_LOGGING_LEVEL", "get_logging_level": {"level": 0}}));

    let master = call_json(address, json!({"type": "GET_MASTER"})).await.json();
    assert_eq!(master["get_master"]["master_info"]["id"], cluster.master_id.as_str());
    assert_eq!(master["get_master"]["master_info"]["port"], address.port());
    assert!(master["get_master"]["start_time"].as_f64().is_some());
    assert!(master["get_master"]["elected_time"].as_f64().is_some());

    let weights = call_json(address, json!({"type": "GET_WEIGHTS"})).await.json();
    assert_eq!(weights["get_weights"]["weight_infos"], json!([{"weight": 2.5, "role": "web"}]));

    let roles = call_json(address, json!({"type": "GET_ROLES"})).await.json();
    assert_eq!(roles["get_roles"]["roles"], json!([{"name": "web", "weight": 2.5}]));

    for (kind, key) in [
        ("GET_QUOTA", "get_quota"),
        ("GET_OPERATIONS", "get_operations"),
        ("GET_MAINTENANCE_STATUS", "get_maintenance_status"),
        ("GET_MAINTENANCE_SCHEDULE", "get_maintenance_schedule"),
    ] {
        let body = call_json(address, json!({ "type": kind })).await.json();
        assert_eq!(body["type"], kind);
        assert!(body[key].is_object(), "{body}");
    }
}

#[tokio::test]
async fn files_are_listed_and_read_through_the_files_service() {
    let cluster = Cluster::start().await;
    let address = cluster.lp.address();
    let reply = call_json(address, json!({"type": "LIST_FILES", "list_files": {"path": "/logs"}})).await;
    assert_eq!(reply.status, 501, "no files service yet: {}", reply.text());

    let files = mesos::files::Files::spawn(&cluster.lp).expect("files spawns");
    cluster.master.set_files(files.clone());
    let dir = std::env::temp_dir().join(format!("operator-api-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("master.log"), b"hello operator").unwrap();
    within(files.attach(&dir, "/logs")).await.unwrap().expect("attached");

    let listed = call_json(address, json!({"type": "LIST_FILES", "list_files": {"path": "/logs"}})).await.json();
    let infos = listed["list_files"]["file_infos"].as_array().unwrap().clone();
    assert_eq!(infos.len(), 1);
    assert_eq!(infos[0]["path"], "/logs/master.log");
    assert_eq!(infos[0]["size"], 14);
    assert!(infos[0]["mode"].is_number(), "mode is numeric in v1: {}", infos[0]);

    let read = call_json(
        address,
        json!({"type": "READ_FILE", "read_file": {"path": "/logs/master.log", "offset": 6, "length": 3}}),
    )
    .await
    .json();
    assert_eq!(read["read_file"]["size"], 14);
    assert_eq!(read["read_file"]["data"], mesos::json::base64_encode(b"ope"));

    let missing = call_json(address, json!({"type": "LIST_FILES", "list_files": {"path": "/nothing"}})).await;
    assert_eq!(missing.status, 404);
    std::fs::remove_dir_all(&dir).ok();
}

#[tokio::test]
async fn get_state_shows_a_launched_task_with_v1_names() {
    let cluster = Cluster::start().await;
    let address = cluster.lp.address();

    let empty = call_json(address, json!({"type": "GET_STATE"})).await.json();
    assert_eq!(
        empty,
        json!({"type": "GET_STATE", "get_state": {
            "get_tasks": {"tasks": [], "unreachable_tasks": [], "completed_tasks": []},
            "get_executors": {"executors": []},
            "get_frameworks": {"frameworks": [], "completed_frameworks": []},
            "get_agents": {"agents": [], "recovered_agents": []},
        }})
    );

    let launched = launch(&cluster).await;
    let state = call_json(address, json!({"type": "GET_STATE"})).await.json();
    let state = &state["get_state"];

    let agents = state["get_agents"]["agents"].as_array().unwrap();
    assert_eq!(agents.len(), 1);
    let agent = &agents[0];
    assert_eq!(agent["agent_info"]["id"]["value"], launched.agent_id.value.as_str());
    assert_eq!(agent["agent_info"]["hostname"], "host1");
    assert_eq!(agent["active"], true);
    assert_eq!(agent["version"], "1.12.0");
    assert!(agent["registered_time"]["nanoseconds"].is_i64());
    assert!(agent["capabilities"].as_array().unwrap().contains(&json!({"type": "MULTI_ROLE"})));
    let total = agent["total_resources"].as_array().unwrap();
    let cpus = total.iter().find(|r| r["name"] == "cpus").unwrap();
    assert_eq!(cpus["role"], "*", "endpoint format: {cpus}");
    assert_eq!(cpus["scalar"]["value"], 4.0);
    let allocated = agent["allocated_resources"].as_array().unwrap();
    assert!(allocated.iter().any(|r| r["name"] == "cpus" && r["scalar"]["value"] == 1.0), "{allocated:?}");
    assert!(agent.get("slave_info").is_none() && agent["agent_info"].get("slave_id").is_none());

    let frameworks = state["get_frameworks"]["frameworks"].as_array().unwrap();
    assert_eq!(frameworks.len(), 1);
    let framework = &frameworks[0];
    assert_eq!(framework["framework_info"]["id"]["value"], launched.framework_id.value.as_str());
    assert_eq!(framework["framework_info"]["name"], "framework");
    assert_eq!((framework["active"].clone(), framework["connected"].clone()), (json!(true), json!(true)));
    assert_eq!(framework["recovered"], false);
    assert!(framework["registered_time"]["nanoseconds"].is_i64());
    assert!(framework["allocated_resources"].as_array().unwrap().iter().any(|r| r["name"] == "cpus"));

    let tasks = state["get_tasks"]["tasks"].as_array().unwrap();
    assert_eq!(tasks.len(), 1);
    let task = &tasks[0];
    assert_eq!(task["task_id"]["value"], "t1");
    assert_eq!(task["agent_id"]["value"], launched.agent_id.value.as_str());
    assert!(task.get("slave_id").is_none());
    assert_eq!(task["framework_id"]["value"], launched.framework_id.value.as_str());
    assert_eq!(task["state"], "TASK_RUNNING");
    assert_eq!(task["statuses"][0]["state"], "TASK_RUNNING");
    assert_eq!(task["statuses"][0]["source"], "SOURCE_EXECUTOR");
    assert!(state["get_executors"]["executors"].as_array().unwrap().is_empty(), "a command task has no executor here");

    // Each part alone is the same as in GET_STATE.
    for (kind, key) in [
        ("GET_TASKS", "get_tasks"),
        ("GET_AGENTS", "get_agents"),
        ("GET_FRAMEWORKS", "get_frameworks"),
        ("GET_EXECUTORS", "get_executors"),
    ] {
        let part = call_json(address, json!({ "type": kind })).await.json();
        assert_eq!(part["type"], kind);
        assert_eq!(part[key], state[key], "{kind}");
    }

    // Protobuf: the same state, decoded by the generated types.
    let answer = call_protobuf(address, &call_of(mesos::proto::master::call::Type::GetState)).await.protobuf();
    assert_eq!(answer.r#type(), ResponseType::GetState);
    let state = answer.get_state.unwrap();
    let tasks = state.get_tasks.unwrap();
    assert_eq!(tasks.tasks.len(), 1);
    assert_eq!(tasks.tasks[0].state(), TaskState::TaskRunning);
    assert_eq!(tasks.tasks[0].slave_id, launched.agent_id);
    let agents = state.get_agents.unwrap();
    assert_eq!(agents.agents[0].agent_info.hostname, "host1");
    assert_eq!(agents.agents[0].pid.as_deref(), Some(launched.agent.upid().to_string().as_str()));
    let frameworks = state.get_frameworks.unwrap();
    assert_eq!(frameworks.frameworks[0].framework_info.id.as_ref(), Some(&launched.framework_id));
    assert!(state.get_executors.is_some());

    let tasks = call_protobuf(address, &call_of(mesos::proto::master::call::Type::GetTasks)).await.protobuf();
    assert_eq!(tasks.r#type(), ResponseType::GetTasks);
    assert_eq!(tasks.get_tasks.unwrap().tasks[0].task_id.value, "t1");

    // The role now has the framework and what it holds.
    let roles = call_json(address, json!({"type": "GET_ROLES"})).await.json();
    let web = roles["get_roles"]["roles"].as_array().unwrap().iter().find(|r| r["name"] == ROLE).unwrap().clone();
    assert_eq!(web["frameworks"], json!([{"value": launched.framework_id.value}]));
    assert!(web["resources"].as_array().unwrap().iter().any(|r| r["name"] == "cpus"));
    drop(launched.scheduler);
}

#[tokio::test]
async fn a_large_state_is_streamed_chunked_in_json_and_in_protobuf_and_is_the_same_answer() {
    let cluster = Cluster::start().await;
    let address = cluster.lp.address();
    let launched = launch(&cluster).await;
    let kinds = ["GET_STATE", "GET_TASKS", "GET_AGENTS", "GET_FRAMEWORKS", "GET_EXECUTORS"];
    let ask = |kind: &'static str| async move {
        let json = call_json(address, json!({ "type": kind })).await;
        let protobuf = mesos::proto::master::call::Type::from_str_name(kind).expect("a call type");
        (json, call_protobuf(address, &call_of(protobuf)).await)
    };
    let mut whole = Vec::new();
    for kind in kinds {
        let (json, protobuf) = ask(kind).await;
        assert!(json.header("Content-Length").is_some() && protobuf.header("Content-Length").is_some());
        whole.push((json, protobuf));
    }

    // Every answer counts as large now.
    cluster.master.stream_documents_over(0).await.expect("the master takes the threshold");
    for (kind, (json, protobuf)) in kinds.into_iter().zip(whole) {
        let (streamed_json, streamed_protobuf) = ask(kind).await;
        for (streamed, whole) in [(&streamed_json, &json), (&streamed_protobuf, &protobuf)] {
            assert_eq!(streamed.status, 200, "{kind}");
            assert_eq!(streamed.header("Transfer-Encoding"), Some("chunked"), "{kind}");
            assert_eq!(streamed.header("Content-Type"), whole.header("Content-Type"), "{kind}");
            assert_eq!(streamed.body, whole.body, "{kind}");
        }
    }
    let state = call_protobuf(address, &call_of(mesos::proto::master::call::Type::GetState)).await.protobuf();
    assert_eq!(state.get_state.unwrap().get_tasks.unwrap().tasks[0].task_id.value, "t1");
    drop(launched.scheduler);
}

#[tokio::test]
async fn teardown_removes_the_framework() {
    let cluster = Cluster::start().await;
    let address = cluster.lp.address();
    let launched = launch(&cluster).await;

    let reply = call_json(address, json!({"type": "TEARDOWN", "teardown": {"framework_id": {"value": "nope"}}})).await;
    assert_eq!((reply.status, reply.text().as_str()), (400, "No framework found with specified ID"));

    let id = launched.framework_id.value.clone();
    let reply = call_json(address, json!({"type": "TEARDOWN", "teardown": {"framework_id": {"value": id}}})).await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    assert!(reply.body.is_empty());
    cluster.settle().await;
    assert!(cluster.frameworks().await.is_empty());
    let frameworks = call_json(address, json!({"type": "GET_FRAMEWORKS"})).await.json();
    let completed = frameworks["get_frameworks"]["completed_frameworks"].as_array().unwrap();
    assert_eq!(completed[0]["framework_info"]["id"]["value"], id.as_str());
    assert_eq!(completed[0]["active"], false);
    assert!(completed[0]["unregistered_time"]["nanoseconds"].is_i64());
    let tasks = call_json(address, json!({"type": "GET_TASKS"})).await.json();
    assert_eq!(tasks["get_tasks"]["completed_tasks"][0]["state"], "TASK_KILLED");
}

// ----- SUBSCRIBE -----

#[tokio::test]
async fn subscribe_streams_the_state_then_every_event() {
    let cluster = Cluster::start().await;
    let address = cluster.lp.address();
    let mut events = EventStream::open(address, "application/json").await;
    assert_eq!(events.status, 200);
    assert_eq!(events.header("Content-Type"), Some("application/json"));
    assert_eq!(events.header("Transfer-Encoding"), Some("chunked"));

    let subscribed = events.next_json().await;
    assert_eq!(subscribed["type"], "SUBSCRIBED");
    assert_eq!(subscribed["subscribed"]["heartbeat_interval_seconds"], 15.0);
    assert_eq!(subscribed["subscribed"]["get_state"]["get_agents"]["agents"], json!([]));
    assert_eq!(events.next_json().await, json!({"type": "HEARTBEAT"}));
    cluster.settle().await;
    assert_eq!(metric(&cluster, "master/operator_event_stream_subscribers").await, 1.0);

    let (agent, agent_id) = cluster.register_agent(agent_info("host1", "cpus:4;mem:1024")).await;
    let added = events.next_json().await;
    assert_eq!(added["type"], "AGENT_ADDED");
    assert_eq!(added["agent_added"]["agent"]["agent_info"]["id"]["value"], agent_id.value.as_str());
    assert_eq!(added["agent_added"]["agent"]["agent_info"]["hostname"], "host1");

    let (scheduler, framework_id) = cluster.subscribed(framework_info(&[ROLE])).await;
    let added = events.next_json().await;
    assert_eq!(added["type"], "FRAMEWORK_ADDED");
    assert_eq!(added["framework_added"]["framework"]["framework_info"]["id"]["value"], framework_id.value.as_str());
    assert_eq!(added["framework_added"]["framework"]["connected"], true);

    cluster.step(common::INTERVAL).await;
    let offer = scheduler.last_offer();
    cluster.send(
        &scheduler,
        &accept(&framework_id, vec![offer.id.clone()], vec![task("t1", &agent_id, "cpus:1;mem:64")], 5.0),
    );
    cluster.settle().await;
    let added = events.next_json().await;
    assert_eq!(added["type"], "TASK_ADDED");
    assert_eq!(added["task_added"]["task"]["task_id"]["value"], "t1");
    assert_eq!(added["task_added"]["task"]["state"], "TASK_STAGING");
    assert_eq!(added["task_added"]["task"]["agent_id"]["value"], agent_id.value.as_str());

    cluster.send(&agent, &agent_update(&framework_id, agent.upid(), &agent_id, "t1", TaskState::TaskRunning));
    cluster.settle().await;
    let updated = events.next_json().await;
    assert_eq!(updated["type"], "TASK_UPDATED");
    assert_eq!(updated["task_updated"]["framework_id"]["value"], framework_id.value.as_str());
    assert_eq!(updated["task_updated"]["state"], "TASK_RUNNING");
    assert_eq!(updated["task_updated"]["status"]["state"], "TASK_RUNNING");
    assert_eq!(updated["task_updated"]["status"]["agent_id"]["value"], agent_id.value.as_str());
    assert_eq!(updated["task_updated"]["status"]["source"], "SOURCE_EXECUTOR");

    // The same state again is recorded without an event.
    cluster.send(&agent, &agent_update(&framework_id, agent.upid(), &agent_id, "t1", TaskState::TaskRunning));
    cluster.settle().await;
    assert!(events.next_within(Duration::from_millis(300)).await.is_none());

    // The scheduler resubscribes: FRAMEWORK_UPDATED.
    let mut info = framework_info(&[ROLE]);
    info.id = Some(framework_id.clone());
    cluster.send(&scheduler, &subscribe_call(info, Some(framework_id.clone()), false));
    cluster.settle().await;
    let updated = events.until("FRAMEWORK_UPDATED").await;
    assert_eq!(updated["framework_updated"]["framework"]["framework_info"]["id"]["value"], framework_id.value.as_str());

    // The operator tears it down: its task is killed, then FRAMEWORK_REMOVED.
    let reply =
        call_json(address, json!({"type": "TEARDOWN", "teardown": {"framework_id": {"value": framework_id.value}}}))
            .await;
    assert_eq!(reply.status, 200);
    cluster.settle().await;
    let killed = events.next_json().await;
    assert_eq!(killed["type"], "TASK_UPDATED");
    assert_eq!(killed["task_updated"]["state"], "TASK_KILLED");
    assert_eq!(killed["task_updated"]["status"]["source"], "SOURCE_MASTER");
    let removed = events.until("FRAMEWORK_REMOVED").await;
    assert_eq!(removed["framework_removed"]["framework_info"]["id"]["value"], framework_id.value.as_str());

    // The agent leaves: AGENT_REMOVED.
    cluster.send(&agent, &UnregisterSlaveMessage { slave_id: agent_id.clone() });
    cluster.settle().await;
    let removed = events.until("AGENT_REMOVED").await;
    assert_eq!(removed["agent_removed"]["agent_id"]["value"], agent_id.value.as_str());
}

#[tokio::test]
async fn subscribe_in_protobuf_decodes_as_master_events() {
    let cluster = Cluster::start().await;
    let launched = launch(&cluster).await;
    let mut events = EventStream::open(cluster.lp.address(), "application/x-protobuf").await;
    assert_eq!(events.header("Content-Type"), Some("application/x-protobuf"));
    let record = events.next_within(common::WAIT).await.expect("SUBSCRIBED");
    let subscribed = Event::decode(record.as_slice()).expect("an Event");
    assert_eq!(subscribed.r#type(), EventType::Subscribed);
    let subscribed = subscribed.subscribed.unwrap();
    assert_eq!(subscribed.heartbeat_interval_seconds, Some(15.0));
    let state = subscribed.get_state.unwrap();
    assert_eq!(state.get_tasks.unwrap().tasks[0].task_id.value, "t1");
    assert_eq!(state.get_agents.unwrap().agents[0].agent_info.id.as_ref(), Some(&launched.agent_id));
    let record = events.next_within(common::WAIT).await.expect("HEARTBEAT");
    assert_eq!(Event::decode(record.as_slice()).unwrap().r#type(), EventType::Heartbeat);

    cluster.send(
        &launched.agent,
        &agent_update(&launched.framework_id, launched.agent.upid(), &launched.agent_id, "t1", TaskState::TaskFinished),
    );
    cluster.settle().await;
    let record = events.next_within(common::WAIT).await.expect("TASK_UPDATED");
    let updated = Event::decode(record.as_slice()).unwrap();
    assert_eq!(updated.r#type(), EventType::TaskUpdated);
    assert_eq!(updated.task_updated.unwrap().state(), TaskState::TaskFinished);
}

#[tokio::test]
async fn heartbeats_come_every_15_seconds_of_the_master_clock() {
    let cluster = Cluster::start().await;
    let mut events = EventStream::open(cluster.lp.address(), "application/json").await;
    assert_eq!(events.next_json().await["type"], "SUBSCRIBED");
    assert_eq!(events.next_json().await["type"], "HEARTBEAT");
    cluster.settle().await;

    cluster.step(Duration::from_secs(14)).await;
    assert!(events.next_within(Duration::from_millis(300)).await.is_none(), "nothing before 15 s");
    cluster.step(Duration::from_secs(1)).await;
    assert_eq!(events.next_json().await, json!({"type": "HEARTBEAT"}));
    cluster.step(Duration::from_secs(15)).await;
    assert_eq!(events.next_json().await, json!({"type": "HEARTBEAT"}));
    assert!(events.next_within(Duration::from_millis(300)).await.is_none(), "one per interval");
}

#[tokio::test]
async fn the_oldest_subscriber_goes_past_the_cap_and_closed_clients_are_dropped() {
    let cluster = Cluster::start_with(common::flags(&["--max_operator_event_stream_subscribers=2"])).await;
    let address = cluster.lp.address();
    let mut first = EventStream::open(address, "application/json").await;
    assert_eq!(first.next_json().await["type"], "SUBSCRIBED");
    cluster.settle().await;
    let mut second = EventStream::open(address, "application/json").await;
    assert_eq!(second.next_json().await["type"], "SUBSCRIBED");
    cluster.settle().await;
    assert_eq!(metric(&cluster, "master/operator_event_stream_subscribers").await, 2.0);

    let mut third = EventStream::open(address, "application/json").await;
    assert_eq!(third.next_json().await["type"], "SUBSCRIBED");
    cluster.settle().await;
    assert!(first.ends().await, "the oldest stream was closed");
    assert_eq!(metric(&cluster, "master/operator_event_stream_subscribers").await, 2.0);

    // The others still hear events.
    cluster.register_agent(agent_info("host1", "cpus:1;mem:128")).await;
    assert_eq!(second.until("AGENT_ADDED").await["type"], "AGENT_ADDED");
    assert_eq!(third.until("AGENT_ADDED").await["type"], "AGENT_ADDED");

    // A client that goes away is forgotten.
    drop(second);
    let deadline = tokio::time::Instant::now() + common::WAIT;
    loop {
        cluster.settle().await;
        if metric(&cluster, "master/operator_event_stream_subscribers").await == 1.0 {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "the closed stream was never dropped");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    cluster.register_agent(agent_info("host2", "cpus:1;mem:128")).await;
    assert_eq!(third.until("AGENT_ADDED").await["agent_added"]["agent"]["agent_info"]["hostname"], "host2");
}
