//! The master's read-only HTTP endpoints asked over real TCP while the real master, allocator and registrar run on a paused clock with a fake agent and fake schedulers: `/master/state` through a task's life, `state-summary`, `frameworks`, `slaves`, `tasks` (paging and order), `roles`, `flags`, `health`, `redirect`, `/version`, the delegate (`/state`) and JSONP.

mod common;

use std::net::SocketAddrV4;

use common::{accept, acknowledge, agent_info, agent_update, call, framework_info, task, within, Cluster, Fake, ROLE};
use master::master::PROCESS_ID;
use mesos::internal::StatusUpdate;
use mesos::proto::scheduler::call::Type as CallType;
use mesos::proto::{FrameworkId, FrameworkInfo, SlaveId, SlaveInfo, TaskInfo, TaskState};
use mesos::version::VersionProcess;
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

// ----- a minimal HTTP client -----

/// One HTTP answer.
#[derive(Debug)]
struct Reply {
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
}

impl Reply {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    fn json(&self) -> Value {
        assert_eq!(self.status, 200, "{}", self.body);
        assert_eq!(self.header("Content-Type"), Some("application/json"));
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }
}

/// `GET path` on a fresh connection that the server closes after answering.
async fn get(address: SocketAddrV4, path: &str) -> Reply {
    within(async {
        let mut stream = TcpStream::connect(address).await.expect("connects");
        let request = format!("GET {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n");
        stream.write_all(request.as_bytes()).await.expect("writes");
        let mut bytes = Vec::new();
        stream.read_to_end(&mut bytes).await.expect("reads");
        let end = bytes.windows(4).position(|w| w == b"\r\n\r\n").expect("a complete head");
        let head = std::str::from_utf8(&bytes[..end]).expect("UTF-8 head");
        let mut lines = head.split("\r\n");
        let status = lines.next().and_then(|l| l.split(' ').nth(1)).and_then(|s| s.parse().ok()).expect("status");
        let headers: Vec<(String, String)> = lines
            .filter_map(|l| l.split_once(':'))
            .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
            .collect();
        let chunked = headers.iter().any(|(k, v)| k.eq_ignore_ascii_case("Transfer-Encoding") && v == "chunked");
        let body = if chunked { common::dechunk(&bytes[end + 4..]) } else { bytes[end + 4..].to_vec() };
        Reply { status, headers, body: String::from_utf8(body).expect("UTF-8 body") }
    })
    .await
}
// ----- the cluster -----

/// A master (and the `version` process, as `main` spawns it) with `--weights=web=2.5`,
/// `--cluster` and `--log_dir`, serving `/state` & co. through the delegate.
async fn start() -> Cluster {
    let mut flags = common::flags(&["--weights=web=2.5", "--cluster=testing"]);
    flags.log_dir = Some("/var/log/mesos".into());
    let cluster = Cluster::start_with(flags).await;
    VersionProcess::spawn(&cluster.lp).expect("version spawns");
    cluster.lp.set_delegate(Some(PROCESS_ID));
    cluster.settle().await;
    cluster
}

impl Cluster {
    async fn get(&self, path: &str) -> Reply {
        get(self.lp.address(), path).await
    }

    async fn json(&self, path: &str) -> Value {
        self.get(path).await.json()
    }

    /// Registers an agent with an `ops` reservation, ports and attributes.
    async fn agent(&self, hostname: &str) -> (Fake, SlaveId) {
        let resources = "cpus:2;mem:1024;disk:4096;ports:[31000-32000];cpus(ops):1";
        let attributes = mesos::attributes::Attributes::parse("rack:r1;level:3").unwrap();
        let slave = SlaveInfo { attributes: attributes.to_vec(), ..agent_info(hostname, resources) };
        self.register_agent(slave).await
    }

    /// SUBSCRIBEs a MULTI_ROLE scheduler in `web` and waits for its first offer.
    async fn scheduler(&self, name: &str) -> (Fake, FrameworkId) {
        self.subscribed(FrameworkInfo { name: name.into(), ..framework_info(&[ROLE]) }).await
    }

    /// Launches `tasks` (`(id, resources)`) on the scheduler's last offer; the rest of the
    /// offer is refused for an hour.
    async fn launch(&self, scheduler: &Fake, id: &FrameworkId, agent_id: &SlaveId, tasks: &[(&str, &str)]) {
        let offer = scheduler.last_offer();
        let tasks = tasks.iter().map(|(task, resources)| task_info(task, agent_id, resources)).collect();
        self.send(scheduler, &accept(id, vec![offer.id], tasks, 3600.0));
        self.settle().await;
    }

    /// The agent reports `state` for `task` at `timestamp`; returns the update.
    async fn update(
        &self,
        agent: &Fake,
        framework: &FrameworkId,
        agent_id: &SlaveId,
        task: &str,
        state: TaskState,
        timestamp: f64,
    ) -> StatusUpdate {
        let mut message = agent_update(framework, agent.upid(), agent_id, task, state);
        message.update.status.timestamp = Some(timestamp);
        message.update.timestamp = timestamp;
        self.send(agent, &message);
        self.settle().await;
        message.update
    }

    async fn acknowledge(&self, scheduler: &Fake, id: &FrameworkId, update: &StatusUpdate) {
        self.send(scheduler, &acknowledge(id, update));
        self.settle().await;
    }
}

/// A command task named `task <id>`.
fn task_info(id: &str, agent: &SlaveId, resources: &str) -> TaskInfo {
    TaskInfo { name: format!("task {id}"), ..task(id, agent, resources) }
}

/// The `cpus`, `gpus`, `mem`, `disk` of a resources summary.
fn standard(summary: &Value) -> [f64; 4] {
    ["cpus", "gpus", "mem", "disk"].map(|name| summary[name].as_f64().unwrap_or_else(|| panic!("{name} in {summary}")))
}

fn ids(values: &Value) -> Vec<&str> {
    values.as_array().expect("an array").iter().map(|v| v["id"].as_str().expect("an id")).collect()
}

// ----- tests -----

#[tokio::test]
async fn state_follows_an_agent_a_framework_and_a_task_through_its_life() {
    let cluster = start().await;
    let (agent, agent_id) = cluster.agent("agent1").await;
    let (scheduler, id) = cluster.scheduler("web app").await;
    let info = within(cluster.master.info()).await.unwrap();

    let reply = cluster.get("/master/state").await;
    let state = reply.json();
    // Top level: what the web UI reads.
    assert_eq!(state["version"], "1.12.0");
    assert!(state["build_date"].is_string() && state["build_user"].is_string());
    assert!(state["build_time"].as_f64().is_some_and(|t| t > 0.0));
    assert!(state["start_time"].is_f64() && state["elected_time"].is_f64());
    assert_eq!(state["id"], info.id.as_str());
    assert_eq!(state["pid"], cluster.master_pid.to_string());
    assert_eq!(state["hostname"], info.hostname());
    assert_eq!(state["capabilities"], serde_json::json!(["AGENT_UPDATE", "AGENT_DRAINING", "QUOTA_V2"]));
    // Counts are doubles on the wire.
    assert!(reply.body.contains(r#""activated_slaves":1.0,"deactivated_slaves":0.0,"unreachable_slaves":0.0"#));
    assert_eq!(state["leader"], cluster.master_pid.to_string());
    assert_eq!(state["leader_info"]["hostname"], info.hostname());
    assert_eq!(state["leader_info"]["port"], cluster.lp.address().port());
    assert_eq!(state["leader_info"]["id"], info.id.as_str());
    assert_eq!(state["cluster"], "testing");
    assert_eq!(state["log_dir"], "/var/log/mesos");
    assert!(state.get("external_log_file").is_none());
    assert_eq!(state["flags"]["log_dir"], "/var/log/mesos");
    assert_eq!(state["flags"]["registry"], "in_memory");
    assert_eq!(state["orphan_tasks"], serde_json::json!([]));
    assert_eq!(state["unregistered_frameworks"], serde_json::json!([]));
    assert_eq!(state["recovered_slaves"], serde_json::json!([]));
    assert_eq!(state["completed_frameworks"], serde_json::json!([]));

    // The agent, with its whole offer outstanding.
    let slave = &state["slaves"][0];
    assert_eq!(slave["id"], agent_id.value.as_str());
    assert_eq!(slave["hostname"], "agent1");
    assert_eq!(slave["port"], 5051);
    assert_eq!(slave["pid"], agent.upid().to_string());
    assert_eq!(slave["attributes"], serde_json::json!({"rack": "r1", "level": 3.0}));
    assert_eq!(standard(&slave["resources"]), [3.0, 0.0, 1024.0, 4096.0]);
    assert_eq!(slave["resources"]["ports"], "[31000-32000]");
    assert_eq!(standard(&slave["reserved_resources"]["ops"]), [1.0, 0.0, 0.0, 0.0]);
    assert_eq!(standard(&slave["unreserved_resources"]), [2.0, 0.0, 1024.0, 4096.0]);
    assert_eq!(standard(&slave["offered_resources"]), [2.0, 0.0, 1024.0, 4096.0]);
    assert_eq!(standard(&slave["used_resources"]), [0.0; 4]);
    assert_eq!(slave["active"], true);
    assert_eq!(slave["deactivated"], false);
    assert_eq!(slave["version"], "1.12.0");
    assert_eq!(slave["capabilities"], serde_json::json!(["MULTI_ROLE"]));
    assert!(slave["registered_time"].is_f64());
    assert!(slave.get("reregistered_time").is_none());

    // The framework and its offer.
    let framework = &state["frameworks"][0];
    assert_eq!(framework["id"], id.value.as_str());
    assert_eq!(framework["name"], "web app");
    assert_eq!(framework["pid"], scheduler.upid().to_string());
    assert_eq!(framework["user"], "user");
    assert_eq!(framework["roles"], serde_json::json!([ROLE]));
    assert!(framework.get("role").is_none());
    assert_eq!(framework["capabilities"], serde_json::json!(["MULTI_ROLE"]));
    assert_eq!((&framework["hostname"], &framework["webui_url"]), (&Value::from(""), &Value::from("")));
    assert_eq!(
        (&framework["active"], &framework["connected"], &framework["recovered"]),
        (&true.into(), &true.into(), &false.into())
    );
    assert_eq!((framework["failover_timeout"].as_f64(), &framework["checkpoint"]), (Some(0.0), &false.into()));
    assert_eq!(framework["unregistered_time"].as_f64(), Some(0.0));
    assert_eq!(standard(&framework["offered_resources"]), [2.0, 0.0, 1024.0, 4096.0]);
    assert_eq!(standard(&framework["used_resources"]), [0.0; 4]);
    let offer = &framework["offers"][0];
    assert_eq!(offer["framework_id"], id.value.as_str());
    assert_eq!(offer["slave_id"], agent_id.value.as_str());
    assert_eq!(offer["allocation_info"]["role"], ROLE);
    assert_eq!(standard(&offer["resources"]), [2.0, 0.0, 1024.0, 4096.0]);
    assert_eq!(offer["resources"]["ports"], "[31000-32000]");
    for key in ["tasks", "unreachable_tasks", "completed_tasks", "executors"] {
        assert_eq!(framework[key], serde_json::json!([]), "{key}");
    }
    assert_eq!(framework["offer_constraints"], serde_json::json!({}));

    // Launched: the task uses resources, the rest of the offer went back.
    cluster.launch(&scheduler, &id, &agent_id, &[("t1", "cpus:1;mem:128")]).await;
    let state = cluster.json("/master/state").await;
    let (slave, framework) = (&state["slaves"][0], &state["frameworks"][0]);
    assert_eq!(standard(&slave["used_resources"]), [1.0, 0.0, 128.0, 0.0]);
    assert_eq!(standard(&slave["offered_resources"]), [0.0; 4]);
    assert_eq!(standard(&framework["used_resources"]), [1.0, 0.0, 128.0, 0.0]);
    assert_eq!(standard(&framework["resources"]), [1.0, 0.0, 128.0, 0.0]);
    assert_eq!(framework["offers"], serde_json::json!([]));
    let task = &framework["tasks"][0];
    assert_eq!(task["id"], "t1");
    assert_eq!(task["name"], "task t1");
    assert_eq!(task["framework_id"], id.value.as_str());
    assert_eq!(task["slave_id"], agent_id.value.as_str());
    assert_eq!(task["executor_id"], "");
    assert_eq!(task["state"], "TASK_STAGING");
    assert_eq!(task["role"], ROLE);
    assert_eq!(standard(&task["resources"]), [1.0, 0.0, 128.0, 0.0]);
    assert_eq!(task["statuses"], serde_json::json!([]));

    let running = cluster.update(&agent, &id, &agent_id, "t1", TaskState::TaskRunning, 100.5).await;
    let state = cluster.json("/master/state").await;
    let task = &state["frameworks"][0]["tasks"][0];
    assert_eq!(task["state"], "TASK_RUNNING");
    assert_eq!(task["statuses"], serde_json::json!([{"state": "TASK_RUNNING", "timestamp": 100.5}]));
    let summary = cluster.json("/master/state-summary").await;
    assert_eq!(summary["slaves"][0]["TASK_RUNNING"], 1);
    assert_eq!(summary["frameworks"][0]["TASK_RUNNING"], 1);

    // Finished and acknowledged: the task is completed and its resources are free.
    cluster.acknowledge(&scheduler, &id, &running).await;
    let finished = cluster.update(&agent, &id, &agent_id, "t1", TaskState::TaskFinished, 200.0).await;
    cluster.acknowledge(&scheduler, &id, &finished).await;
    let state = cluster.json("/master/state").await;
    let framework = &state["frameworks"][0];
    assert_eq!(framework["tasks"], serde_json::json!([]));
    let completed = &framework["completed_tasks"][0];
    assert_eq!(completed["id"], "t1");
    assert_eq!(completed["state"], "TASK_FINISHED");
    let states: Vec<&Value> = completed["statuses"].as_array().unwrap().iter().map(|s| &s["state"]).collect();
    assert_eq!(states, [&Value::from("TASK_RUNNING"), &Value::from("TASK_FINISHED")]);
    // Its JSON is written once, on completion, and has every key the live task had.
    let keys = |value: &Value| value.as_object().map(|o| o.keys().cloned().collect::<Vec<_>>());
    assert_eq!(keys(completed), keys(task));
    assert_eq!(completed["resources"], task["resources"]);
    assert_eq!(standard(&framework["used_resources"]), [0.0; 4]);
    assert_eq!(standard(&state["slaves"][0]["used_resources"]), [0.0; 4]);
}

#[tokio::test]
async fn state_summary_counts_tasks_by_state_and_maps_agents_to_frameworks() {
    let cluster = start().await;
    let (agent, agent_id) = cluster.agent("agent1").await;
    let (scheduler, id) = cluster.scheduler("counted").await;
    cluster.launch(&scheduler, &id, &agent_id, &[("a", "cpus:0.5"), ("b", "cpus:0.5"), ("c", "cpus:0.5")]).await;
    cluster.update(&agent, &id, &agent_id, "b", TaskState::TaskRunning, 1.0).await;
    let failed = cluster.update(&agent, &id, &agent_id, "c", TaskState::TaskFailed, 2.0).await;
    cluster.acknowledge(&scheduler, &id, &failed).await;

    let summary = cluster.json("/state-summary").await;
    assert_eq!(summary["hostname"], within(cluster.master.info()).await.unwrap().hostname());
    assert_eq!(summary["cluster"], "testing");
    let slave = &summary["slaves"][0];
    assert_eq!(slave["id"], agent_id.value.as_str());
    assert_eq!(standard(&slave["used_resources"]), [1.0, 0.0, 0.0, 0.0]);
    let counts = |entry: &Value| {
        ["TASK_STAGING", "TASK_STARTING", "TASK_RUNNING", "TASK_KILLING", "TASK_FINISHED", "TASK_KILLED", "TASK_FAILED"]
            .map(|key| entry[key].as_u64().unwrap_or_else(|| panic!("{key}")))
    };
    assert_eq!(counts(slave), [1, 0, 1, 0, 0, 0, 1]);
    for key in ["TASK_LOST", "TASK_ERROR", "TASK_UNREACHABLE"] {
        assert_eq!(slave[key], 0, "{key}");
    }
    assert_eq!(slave["framework_ids"], serde_json::json!([id.value]));
    let framework = &summary["frameworks"][0];
    assert_eq!(counts(framework), [1, 0, 1, 0, 0, 0, 1]);
    assert_eq!(framework["slave_ids"], serde_json::json!([agent_id.value]));
    assert_eq!(framework["name"], "counted");
    assert!(framework.get("tasks").is_none(), "a summary, not the full framework");
}

#[tokio::test]
async fn the_delegate_serves_state_without_the_prefix_and_jsonp_wraps_it() {
    let cluster = start().await;
    cluster.agent("agent1").await;
    cluster.scheduler("wrapped").await;

    let prefixed = cluster.get("/master/state").await;
    let bare = cluster.get("/state").await;
    let slashed = cluster.get("/master/state/").await;
    assert_eq!(bare.status, 200);
    assert_eq!(bare.body, prefixed.body);
    assert_eq!(slashed.body, prefixed.body);

    // As Angular asks: the callback is copied back exactly, with no trailing `;`.
    let wrapped = cluster.get("/master/state?jsonp=angular.callbacks._3").await;
    assert_eq!(wrapped.status, 200);
    assert_eq!(wrapped.header("Content-Type"), Some("text/javascript"));
    assert_eq!(wrapped.body, format!("angular.callbacks._3({})", prefixed.body));
    let flags = cluster.get("/flags?jsonp=cb&_=1700000000000").await;
    assert!(flags.body.starts_with("cb({\"flags\":{") && flags.body.ends_with("})"), "{}", flags.body);
}

#[tokio::test]
async fn a_large_document_is_streamed_chunked_and_is_the_same_document() {
    let cluster = start().await;
    let (_agent, agent_id) = cluster.agent("agent1").await;
    let (scheduler, id) = cluster.scheduler("streamed").await;
    cluster.launch(&scheduler, &id, &agent_id, &[("t1", "cpus:0.5"), ("t2", "cpus:0.5")]).await;
    let paths = ["/master/state", "/master/frameworks", "/master/slaves", "/state?jsonp=cb"];
    let mut whole = Vec::new();
    for path in paths {
        let reply = cluster.get(path).await;
        assert_eq!(reply.status, 200);
        assert!(reply.header("Content-Length").is_some() && reply.header("Transfer-Encoding").is_none());
        whole.push(reply);
    }

    // Every document counts as large now.
    cluster.master.stream_documents_over(0).await.expect("the master takes the threshold");
    for (path, whole) in paths.into_iter().zip(whole) {
        let streamed = cluster.get(path).await;
        assert_eq!(streamed.status, 200, "{path}");
        assert_eq!(streamed.header("Transfer-Encoding"), Some("chunked"), "{path}");
        assert_eq!(streamed.header("Content-Length"), None, "{path}");
        assert_eq!(streamed.header("Content-Type"), whole.header("Content-Type"), "{path}");
        assert_eq!(streamed.body, whole.body, "{path}");
    }
    let state = cluster.json("/master/state").await;
    assert_eq!(state["frameworks"][0]["tasks"].as_array().map(Vec::len), Some(2));

    // HTTP/1.0 has no chunked encoding: such a client gets the document whole.
    let address = cluster.lp.address();
    let old = within(async {
        let mut stream = TcpStream::connect(address).await.expect("connects");
        stream.write_all(b"GET /master/state HTTP/1.0\r\n\r\n").await.expect("writes");
        let mut bytes = Vec::new();
        stream.read_to_end(&mut bytes).await.expect("reads");
        String::from_utf8(bytes).expect("UTF-8")
    })
    .await;
    let (head, body) = old.split_once("\r\n\r\n").expect("a complete head");
    assert!(head.contains("Content-Length:") && !head.contains("chunked"), "{head}");
    assert_eq!(serde_json::from_str::<Value>(body).expect("JSON"), state);

    // A client that accepts gzip gets the whole document too, compressible by the connection.
    let gzip = within(async {
        let mut stream = TcpStream::connect(address).await.expect("connects");
        let request = "GET /master/state HTTP/1.1\r\nAccept-Encoding: gzip\r\nConnection: close\r\n\r\n";
        stream.write_all(request.as_bytes()).await.expect("writes");
        let mut bytes = Vec::new();
        stream.read_to_end(&mut bytes).await.expect("reads");
        bytes
    })
    .await;
    let end = gzip.windows(4).position(|w| w == b"\r\n\r\n").expect("a complete head");
    let head = String::from_utf8_lossy(&gzip[..end]);
    assert!(head.contains("Content-Length:") && !head.contains("chunked"), "{head}");
}

#[tokio::test]
async fn tasks_are_paged_and_sorted_by_their_first_status() {
    let cluster = start().await;
    let (agent, agent_id) = cluster.agent("agent1").await;
    let (scheduler, id) = cluster.scheduler("paged").await;
    let tasks = [("t1", "cpus:0.25"), ("t2", "cpus:0.25"), ("t3", "cpus:0.25"), ("t4", "cpus:0.25")];
    cluster.launch(&scheduler, &id, &agent_id, &tasks).await;
    cluster.update(&agent, &id, &agent_id, "t1", TaskState::TaskRunning, 10.0).await;
    cluster.update(&agent, &id, &agent_id, "t2", TaskState::TaskRunning, 30.0).await;
    let finished = cluster.update(&agent, &id, &agent_id, "t3", TaskState::TaskFinished, 20.0).await;
    cluster.acknowledge(&scheduler, &id, &finished).await;
    // `t4` has no status yet.

    let tasks = |path: &str| {
        let path = path.to_string();
        let cluster = &cluster;
        async move { cluster.json(&path).await["tasks"].clone() }
    };
    assert_eq!(ids(&tasks("/master/tasks").await), ["t2", "t3", "t1", "t4"]);
    assert_eq!(ids(&tasks("/master/tasks?order=asc").await), ["t4", "t1", "t3", "t2"]);
    assert_eq!(ids(&tasks("/master/tasks?limit=2&offset=1").await), ["t3", "t1"]);
    assert_eq!(ids(&tasks("/tasks?order=asc&offset=3").await), ["t2"]);
    assert_eq!(ids(&tasks("/master/tasks?offset=9").await), Vec::<&str>::new());
    assert_eq!(ids(&tasks("/master/tasks?task_id=t3").await), ["t3"]);
    assert_eq!(ids(&tasks(&format!("/master/tasks?framework_id={}&limit=1", id.value)).await), ["t2"]);
    assert_eq!(ids(&tasks("/master/tasks?framework_id=nobody").await), Vec::<&str>::new());
    // As in C++, numbers that do not parse fall back to the defaults.
    assert_eq!(ids(&tasks("/master/tasks?limit=abc&offset=x").await), ["t2", "t3", "t1", "t4"]);
    let task = &tasks("/master/tasks?task_id=t2").await[0];
    assert_eq!(task["state"], "TASK_RUNNING");
    assert_eq!(task["statuses"][0]["timestamp"], 30.0);
}

#[tokio::test]
async fn slaves_can_be_filtered_and_show_resources_in_full() {
    let cluster = start().await;
    let (_agent1, first) = cluster.agent("agent1").await;
    let (_agent2, second) = cluster.agent("agent2").await;

    let slaves = cluster.json("/master/slaves").await;
    assert_eq!(ids(&slaves["slaves"]).len(), 2);
    assert_eq!(slaves["recovered_slaves"], serde_json::json!([]));

    let only = cluster.json(&format!("/slaves?slave_id={}", second.value)).await;
    assert_eq!(ids(&only["slaves"]), [second.value.as_str()]);
    let slave = &only["slaves"][0];
    assert_eq!(slave["hostname"], "agent2");
    assert_eq!(standard(&slave["resources"]), [3.0, 0.0, 1024.0, 4096.0]);
    // The endpoint format: `role` set, and the reservation stack kept.
    let reserved = slave["reserved_resources_full"]["ops"].as_array().expect("ops reservations");
    assert_eq!(reserved.len(), 1);
    assert_eq!(reserved[0]["name"], "cpus");
    assert_eq!(reserved[0]["role"], "ops");
    assert_eq!(reserved[0]["reservations"], serde_json::json!([{"type": "STATIC", "role": "ops"}]));
    assert_eq!(reserved[0]["scalar"]["value"], 1.0);
    let unreserved = slave["unreserved_resources_full"].as_array().expect("unreserved");
    assert!(unreserved.iter().all(|r| r["role"] == "*" && r.get("reservations").is_none()));
    let names: Vec<&str> = unreserved.iter().map(|r| r["name"].as_str().unwrap()).collect();
    assert_eq!(names.len(), 4, "{names:?}");
    let ports = unreserved.iter().find(|r| r["name"] == "ports").expect("ports");
    assert_eq!(ports["ranges"]["range"], serde_json::json!([{"begin": 31000, "end": 32000}]));
    assert_eq!(slave["used_resources_full"], serde_json::json!([]));
    assert!(slave["offered_resources_full"].is_array());

    let none = cluster.json("/master/slaves?slave_id=unknown").await;
    assert_eq!(none["slaves"], serde_json::json!([]));
    assert_ne!(first, second);
}

#[tokio::test]
async fn roles_show_weights_allocations_reservations_and_frameworks() {
    let cluster = start().await;
    let (_agent, agent_id) = cluster.agent("agent1").await;
    let (scheduler, id) = cluster.scheduler("roled").await;
    cluster.launch(&scheduler, &id, &agent_id, &[("t1", "cpus:1;mem:256")]).await;

    let roles = cluster.json("/master/roles").await;
    let entries = roles["roles"].as_array().expect("roles");
    let names: Vec<&str> = entries.iter().map(|r| r["name"].as_str().unwrap()).collect();
    // `web` has a framework and a weight, `ops` a reservation.
    assert_eq!(names, ["ops", "web"]);
    let (ops, web) = (&entries[0], &entries[1]);
    assert_eq!(web["weight"], 2.5);
    assert_eq!(ops["weight"], 1.0);
    assert_eq!(web["frameworks"], serde_json::json!([id.value]));
    assert_eq!(ops["frameworks"], serde_json::json!([]));
    assert_eq!(web["allocated"], serde_json::json!({"cpus": 1.0, "mem": 256.0}));
    assert_eq!(web["resources"], serde_json::json!({"cpus": 1.0, "mem": 256.0}));
    assert_eq!(web["offered"], serde_json::json!({}));
    assert_eq!(web["reserved"], serde_json::json!({}));
    assert_eq!(ops["reserved"], serde_json::json!({"cpus": 1.0}));
    assert_eq!(ops["allocated"], serde_json::json!({}));
    assert_eq!(
        web["quota"],
        serde_json::json!({"role": "web", "guarantee": {}, "limit": {}, "consumed": {"cpus": 1.0, "mem": 256.0}})
    );
    // Reservations nobody uses count against the quota too.
    assert_eq!(ops["quota"]["consumed"], serde_json::json!({"cpus": 1.0}));
}

#[tokio::test]
async fn frameworks_can_be_filtered_and_a_torn_down_one_is_completed() {
    let cluster = start().await;
    cluster.agent("agent1").await;
    let (_first, first) = cluster.scheduler("first").await;
    let (second_scheduler, second) = cluster.scheduler("second").await;

    let all = cluster.json("/master/frameworks/").await;
    let mut listed = ids(&all["frameworks"]);
    listed.sort();
    let mut expected = vec![first.value.as_str(), second.value.as_str()];
    expected.sort();
    assert_eq!(listed, expected);
    assert_eq!(all["unregistered_frameworks"], serde_json::json!([]));

    cluster.send(&second_scheduler, &call(&second, CallType::Teardown));
    cluster.settle().await;
    let after = cluster.json("/frameworks").await;
    assert_eq!(ids(&after["frameworks"]), [first.value.as_str()]);
    assert_eq!(ids(&after["completed_frameworks"]), [second.value.as_str()]);
    let only = cluster.json(&format!("/master/frameworks?framework_id={}", second.value)).await;
    assert_eq!(only["frameworks"], serde_json::json!([]));
    assert_eq!(ids(&only["completed_frameworks"]), [second.value.as_str()]);
    let state = cluster.json("/master/state").await;
    assert_eq!(ids(&state["completed_frameworks"]), [second.value.as_str()]);
    assert_eq!(state["completed_frameworks"][0]["active"], false);
}

#[tokio::test]
async fn flags_health_version_and_redirect() {
    let cluster = start().await;

    let flags = cluster.json("/master/flags").await;
    let flags = flags["flags"].as_object().expect("flags");
    assert!(flags.values().all(Value::is_string));
    assert_eq!(flags["weights"], "web=2.5");
    assert_eq!(flags["cluster"], "testing");
    assert_eq!(flags["max_completed_frameworks"], "50");
    assert_eq!(flags["agent_reregister_timeout"], "10mins");
    assert_eq!(flags["authenticate_agents"], "false");
    assert!(flags.get("hostname").is_none(), "unset optional flags are left out");

    let health = cluster.get("/master/health").await;
    assert_eq!((health.status, health.body.as_str()), (200, ""));
    assert_eq!(health.header("Content-Length"), Some("0"));
    assert_eq!(cluster.get("/health").await.status, 200);

    let version = cluster.get("/version").await;
    let document = version.json();
    assert_eq!(document["version"], "1.12.0");
    assert!(document["build_date"].is_string() && document["build_user"].is_string());
    assert!(document["build_time"].is_f64());
    let object = document.as_object().unwrap();
    let mut keys: Vec<&str> = object.keys().map(String::as_str).collect();
    keys.sort();
    assert_eq!(keys, ["build_date", "build_time", "build_user", "version"]);
    let wrapped = cluster.get("/version?jsonp=v").await;
    assert_eq!(wrapped.body, format!("v({})", version.body));
    // C++ has no `/master/version`; here the master answers it with the same document.
    let at_master = cluster.get("/master/version?jsonp=v").await;
    assert_eq!(at_master.status, 200);
    assert_eq!(at_master.body, wrapped.body);

    let info = within(cluster.master.info()).await.unwrap();
    let location = format!("//{}:{}", info.hostname(), cluster.lp.address().port());
    for path in ["/master/redirect", "/redirect"] {
        let redirect = cluster.get(path).await;
        assert_eq!(redirect.status, 307, "{path}");
        assert_eq!(redirect.header("Location"), Some(location.as_str()), "{path}");
    }
    assert_eq!(cluster.get("/master/redirect/deeper").await.status, 404);
}
