//! Task groups on the agent: the real agent actor with a fake master over real TCP, first with a fake containerizer on a paused clock and the executor played by the test (the `DEFAULT` executor's command, the group queued until `SUBSCRIBE` then sent as one `LAUNCH_GROUP`, updates forwarded, a kill of a queued task killing its group, kills relayed, the executor's end failing the group's tasks, `/state`, a v0 executor sent the group as an executor event), then the real `mesos-default-executor` through the POSIX containerizer with real child processes (a group of two tasks to `TASK_FINISHED` with their output in `tasks/<id>/stdout`, a failing task killing its sibling, a kill of one task killing the group); the flows of `src/tests/default_executor_tests.cpp` and the task-group cases of `src/tests/slave_tests.cpp`.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use libprocess::http::client::{ClientRequest, Connection};
use libprocess::http::{Body, Status};
use libprocess::{Bytes, Libprocess, ProtobufMessage, UPID};
use mesos::api::ContentType;
use mesos::internal::{
    ExecutorRegisteredMessage, ExitedExecutorMessage, KillTaskMessage, RegisterExecutorMessage, RunTaskGroupMessage,
    SlaveRegisteredMessage, StatusUpdateAcknowledgementMessage, StatusUpdateMessage,
};
use mesos::proto::executor::{call, event, Call, Event};
use mesos::proto::executor_info::Type as ExecutorType;
use mesos::proto::task_status::{Reason, Source};
use mesos::proto::{
    CommandInfo, ContainerId, ExecutorId, ExecutorInfo, FrameworkId, FrameworkInfo, SlaveId, TaskGroupInfo, TaskId,
    TaskInfo, TaskState, TaskStatus,
};
use mesos::resources::Resources;
use mesos::state::Uuid;
use slave::containerizer::{ContainerConfig, ContainerTermination};
use slave::slave::{Options, SlaveHandle, State};

mod common;

use common::{eventually, init_logging, name, within, Fake, FakeContainerizer};

fn names_of_master() -> Vec<&'static str> {
    vec![
        name::<mesos::internal::RegisterSlaveMessage>(),
        name::<StatusUpdateMessage>(),
        name::<ExitedExecutorMessage>(),
        name::<mesos::internal::UpdateSlaveMessage>(),
    ]
}

// ----- the pieces of a task group -----

fn framework_info() -> FrameworkInfo {
    FrameworkInfo {
        user: String::new(),
        name: "framework".into(),
        id: Some(FrameworkId { value: "F0".into() }),
        ..FrameworkInfo::default()
    }
}

/// The default executor a framework gives (as `mesos-execute` does).
fn default_executor() -> ExecutorInfo {
    ExecutorInfo {
        r#type: Some(ExecutorType::Default as i32),
        executor_id: ExecutorId { value: "default-executor".into() },
        framework_id: Some(FrameworkId { value: "F0".into() }),
        resources: Resources::parse("cpus:0.1;mem:32;disk:32", "*").unwrap().to_vec(),
        ..ExecutorInfo::default()
    }
}

fn task(id: &str, command: &str, slave_id: &SlaveId) -> TaskInfo {
    TaskInfo {
        name: id.into(),
        task_id: TaskId { value: id.into() },
        slave_id: slave_id.clone(),
        resources: Resources::parse("cpus:0.5;mem:64", "*").unwrap().to_vec(),
        command: Some(CommandInfo { value: Some(command.into()), ..CommandInfo::default() }),
        executor: Some(default_executor()),
        ..TaskInfo::default()
    }
}

fn run_task_group(tasks: Vec<TaskInfo>, executor: ExecutorInfo) -> RunTaskGroupMessage {
    RunTaskGroupMessage {
        framework: framework_info(),
        executor,
        task_group: TaskGroupInfo { tasks },
        resource_version_uuids: Vec::new(),
        launch_executor: Some(true),
    }
}

fn states_of(updates: &[StatusUpdateMessage], task: &str) -> Vec<TaskState> {
    updates
        .iter()
        .filter(|m| m.update.status.task_id.value == task)
        .map(|m| TaskState::try_from(m.update.status.state).unwrap())
        .collect()
}

fn update_of(updates: &[StatusUpdateMessage], task: &str, state: TaskState) -> TaskStatus {
    updates
        .iter()
        .map(|m| &m.update.status)
        .find(|s| s.task_id.value == task && s.state == state as i32)
        .unwrap_or_else(|| panic!("no {} update of {task}", state.as_str_name()))
        .clone()
}

// ----- the agent with a fake containerizer, the executor played by the test -----

struct Cluster {
    lp: Libprocess,
    master: Fake,
    agent: SlaveHandle,
    containerizer: FakeContainerizer,
    slave_id: SlaveId,
    launcher_dir: tempfile::TempDir,
    _work_dir: tempfile::TempDir,
}

impl Cluster {
    /// A registered agent (`S0`) on a paused clock, its launcher directory holding a
    /// `mesos-default-executor`.
    async fn start() -> Cluster {
        init_logging();
        let lp = common::loopback_instance().await;
        lp.clock().pause();
        let master = Fake::spawn(&lp, "master", names_of_master());
        let work_dir = tempfile::tempdir().unwrap();
        let launcher_dir = tempfile::tempdir().unwrap();
        std::fs::write(launcher_dir.path().join("mesos-default-executor"), b"").unwrap();
        let containerizer = FakeContainerizer::default();
        let info = common::agent_info(&lp, None);
        let mut options = Options::new(work_dir.path().to_path_buf());
        options.launcher_dir = launcher_dir.path().to_path_buf();
        let slave = common::agent(&lp, master.upid(), info, options, Arc::new(containerizer.clone()));
        let agent = SlaveHandle::spawn(&lp, slave).unwrap();
        lp.settle().await;
        lp.clock().advance(Duration::from_secs(1));
        lp.settle().await;
        let slave_id = SlaveId { value: "S0".into() };
        let cluster = Cluster { lp, master, agent, containerizer, slave_id, launcher_dir, _work_dir: work_dir };
        cluster.send_from_master(&SlaveRegisteredMessage { slave_id: cluster.slave_id.clone(), connection: None });
        cluster.lp.settle().await;
        assert_eq!(within(cluster.agent.state()).await.unwrap(), State::Running);
        cluster
    }

    fn agent_pid(&self) -> UPID {
        self.agent.pid.upid().clone()
    }

    fn send_from_master<M: ProtobufMessage>(&self, message: &M) {
        self.lp.post_protobuf(self.master.upid(), &self.agent_pid(), message);
    }

    /// Sends a group of two sleeping tasks `a` and `b`; the executor's container and
    /// environment.
    async fn run_group(&self) -> (ContainerId, ContainerConfig, BTreeMap<String, String>) {
        let tasks = vec![task("a", "sleep 1000", &self.slave_id), task("b", "sleep 1000", &self.slave_id)];
        self.send_from_master(&run_task_group(tasks, default_executor()));
        self.lp.settle().await;
        self.containerizer.launched().last().cloned().expect("launched")
    }

    fn updates(&self) -> Vec<StatusUpdateMessage> {
        self.master.messages::<StatusUpdateMessage>()
    }

    async fn get(&self, path: &str) -> serde_json::Value {
        let address = std::net::SocketAddr::V4(self.lp.address());
        let request = ClientRequest::get(format!("/{}{path}", self.agent_pid().id));
        let response = within(libprocess::http::client::request(address, &request)).await.expect("answered");
        assert_eq!(response.status, Status::OK);
        let Body::Bytes(body) = response.body else { panic!("not a whole body") };
        serde_json::from_slice(&body).unwrap()
    }

    /// `SUBSCRIBE` as the executor of `environment`: its event stream.
    async fn subscribe(&self, environment: &BTreeMap<String, String>) -> Events {
        let call = Call { subscribe: Some(call::Subscribe::default()), ..call_of(environment, call::Type::Subscribe) };
        let content_type = ContentType::Protobuf;
        let path = format!("/{}/api/v1/executor", self.agent_pid().id);
        let request = ClientRequest::post(path, content_type.media_type(), mesos::api::serialize(content_type, &call))
            .header("Accept", content_type.media_type());
        let connection = within(Connection::connect(std::net::SocketAddr::V4(self.lp.address()))).await.unwrap();
        let response = within(connection.stream(&request)).await.expect("subscribed");
        assert_eq!(response.status, Status::OK);
        let Body::Pipe(chunks) = response.body else { panic!("not a stream") };
        Events { chunks, decoder: mesos::recordio::Decoder::default(), records: Vec::new() }
    }

    /// An `UPDATE` from the executor of `environment`.
    async fn update(&self, environment: &BTreeMap<String, String>, task: &str, state: TaskState) {
        let status = TaskStatus {
            task_id: TaskId { value: task.into() },
            state: state as i32,
            source: Some(Source::Executor as i32),
            uuid: Some(Uuid::random().as_bytes().to_vec()),
            timestamp: Some(1.0),
            ..TaskStatus::default()
        };
        let call = Call { update: Some(call::Update { status }), ..call_of(environment, call::Type::Update) };
        let content_type = ContentType::Protobuf;
        let path = format!("/{}/api/v1/executor", self.agent_pid().id);
        let request = ClientRequest::post(path, content_type.media_type(), mesos::api::serialize(content_type, &call));
        let address = std::net::SocketAddr::V4(self.lp.address());
        let response = within(libprocess::http::client::request(address, &request)).await.expect("answered");
        assert_eq!(response.status, Status::ACCEPTED);
        self.lp.settle().await;
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

/// The event stream of a subscribed executor.
struct Events {
    chunks: tokio::sync::mpsc::UnboundedReceiver<Bytes>,
    decoder: mesos::recordio::Decoder,
    records: Vec<Bytes>,
}

impl Events {
    async fn next(&mut self) -> Event {
        while self.records.is_empty() {
            let chunk = within(self.chunks.recv()).await.expect("an event");
            self.records.extend(self.decoder.decode(&chunk).expect("RecordIO"));
            self.records.reverse();
        }
        let record = self.records.pop().unwrap();
        mesos::v1::executor::decode_event(ContentType::Protobuf, &record).expect("an event")
    }

    /// The next event other than `ACKNOWLEDGED` (the agent acknowledges each update).
    async fn next_not_acknowledged(&mut self) -> Event {
        loop {
            let event = self.next().await;
            if event.r#type() != event::Type::Acknowledged {
                return event;
            }
        }
    }
}

#[tokio::test]
async fn a_task_group_runs_the_default_executor_and_reaches_it_as_one_launch_group() {
    let cluster = Cluster::start().await;
    let (container_id, config, environment) = cluster.run_group().await;

    // The executor is the framework's, run as `mesos-default-executor` from the launcher
    // directory, its container sized for the executor and both tasks.
    let launched = config.executor_info.clone().unwrap();
    assert_eq!(launched.executor_id.value, "default-executor");
    let command = &config.command_info;
    assert_eq!(command.shell, Some(false));
    let program = std::fs::canonicalize(cluster.launcher_dir.path().join("mesos-default-executor")).unwrap();
    assert_eq!(command.value.as_deref(), Some(program.to_str().unwrap()));
    assert_eq!(
        command.arguments,
        ["mesos-default-executor".to_string(), format!("--launcher_dir={}", cluster.launcher_dir.path().display())]
    );
    assert!(config.task_info.is_none());
    let resources: Resources = config.resources.iter().cloned().collect();
    assert_eq!(resources.cpus(), Some(1.1));
    assert_eq!(environment["MESOS_EXECUTOR_ID"], "default-executor");
    assert_eq!(environment["MESOS_SANDBOX"], config.directory.to_string_lossy());

    // Queued until the executor subscribes: both tasks are staging.
    let tasks = within(cluster.agent.tasks()).await.unwrap();
    assert_eq!(tasks.len(), 2);
    assert!(tasks.iter().all(|t| t.state == TaskState::TaskStaging as i32));
    let state = cluster.get("/state").await;
    let executor = &state["frameworks"][0]["executors"][0];
    assert_eq!(executor["id"], "default-executor");
    assert_eq!(executor["queued_tasks"].as_array().unwrap().len(), 2);

    let mut events = cluster.subscribe(&environment).await;
    let subscribed = events.next().await;
    assert_eq!(subscribed.r#type(), event::Type::Subscribed);
    let subscribed = subscribed.subscribed.unwrap();
    assert_eq!(subscribed.container_id.as_ref(), Some(&container_id));
    // The executor is told of itself as the framework gave it, without the agent's command.
    assert!(subscribed.executor_info.command.is_none());
    assert_eq!(subscribed.executor_info.r#type, Some(ExecutorType::Default as i32));
    let launch = events.next().await;
    assert_eq!(launch.r#type(), event::Type::LaunchGroup);
    let group = launch.launch_group.unwrap().task_group;
    let ids: Vec<&str> = group.tasks.iter().map(|t| t.task_id.value.as_str()).collect();
    assert_eq!(ids, ["a", "b"]);

    let state = cluster.get("/state").await;
    let executor = &state["frameworks"][0]["executors"][0];
    assert!(executor["queued_tasks"].as_array().unwrap().is_empty());
    assert_eq!(executor["tasks"].as_array().unwrap().len(), 2);
    assert!(executor["tasks"].as_array().unwrap().iter().all(|t| t["state"] == "TASK_STAGING"));

    // The executor's updates go to the master; the tasks take their states.
    cluster.update(&environment, "a", TaskState::TaskStarting).await;
    cluster.update(&environment, "b", TaskState::TaskStarting).await;
    cluster.update(&environment, "a", TaskState::TaskRunning).await;
    let updates = cluster.updates();
    assert_eq!(states_of(&updates, "a"), [TaskState::TaskStarting]);
    let state = cluster.get("/state").await;
    let tasks = state["frameworks"][0]["executors"][0]["tasks"].as_array().unwrap().clone();
    let state_of = |id: &str| tasks.iter().find(|t| t["id"] == id).unwrap()["state"].clone();
    assert_eq!(state_of("a"), "TASK_RUNNING");
    assert_eq!(state_of("b"), "TASK_STARTING");
    cluster.lp.shutdown().await;
}

#[tokio::test]
async fn killing_a_queued_task_kills_its_whole_group_and_the_idle_executor_goes() {
    let cluster = Cluster::start().await;
    let (_, _, environment) = cluster.run_group().await;
    cluster.send_from_master(&KillTaskMessage {
        framework_id: FrameworkId { value: "F0".into() },
        task_id: TaskId { value: "b".into() },
        kill_policy: None,
    });
    cluster.lp.settle().await;
    let updates = cluster.updates();
    for task in ["a", "b"] {
        let killed = update_of(&updates, task, TaskState::TaskKilled);
        assert_eq!(killed.reason, Some(Reason::TaskKilledDuringLaunch as i32));
        assert_eq!(killed.source, Some(Source::Slave as i32));
        assert_eq!(
            killed.message.as_deref(),
            Some("A task within the task group was killed before delivery to the executor")
        );
    }
    // The executor, never sent a task, is shut down when it subscribes.
    let mut events = cluster.subscribe(&environment).await;
    assert_eq!(events.next().await.r#type(), event::Type::Shutdown);
    cluster.lp.shutdown().await;
}

#[tokio::test]
async fn kills_of_launched_tasks_go_to_the_executor_and_its_end_fails_the_rest() {
    let cluster = Cluster::start().await;
    let (container_id, _, environment) = cluster.run_group().await;
    let mut events = cluster.subscribe(&environment).await;
    assert_eq!(events.next().await.r#type(), event::Type::Subscribed);
    assert_eq!(events.next().await.r#type(), event::Type::LaunchGroup);
    cluster.update(&environment, "a", TaskState::TaskRunning).await;

    cluster.send_from_master(&KillTaskMessage {
        framework_id: FrameworkId { value: "F0".into() },
        task_id: TaskId { value: "a".into() },
        kill_policy: None,
    });
    cluster.lp.settle().await;
    let kill = events.next_not_acknowledged().await;
    assert_eq!(kill.r#type(), event::Type::Kill);
    assert_eq!(kill.kill.unwrap().task_id.value, "a");

    // The executor reports `a` killed, then its container ends: `b` fails for it.
    cluster.update(&environment, "a", TaskState::TaskKilled).await;
    cluster
        .containerizer
        .end(&container_id, ContainerTermination { status: Some(0), ..ContainerTermination::default() });
    cluster.lp.settle().await;
    // The master has not acknowledged `a`'s RUNNING yet, so its KILLED waits in the agent.
    let updates = cluster.updates();
    assert_eq!(states_of(&updates, "a"), [TaskState::TaskRunning]);
    let tasks = within(cluster.agent.tasks()).await.unwrap();
    let a = tasks.iter().find(|t| t.task_id.value == "a").unwrap();
    assert_eq!(a.state, TaskState::TaskKilled as i32);
    let failed = update_of(&updates, "b", TaskState::TaskFailed);
    assert_eq!(failed.source, Some(Source::Slave as i32));
    assert_eq!(failed.reason, Some(Reason::ExecutorTerminated as i32));
    let exited = cluster.master.messages::<ExitedExecutorMessage>();
    assert_eq!(exited.len(), 1);
    assert_eq!(exited[0].executor_id.value, "default-executor");
    cluster.lp.shutdown().await;
}

#[tokio::test]
async fn a_v0_executor_is_sent_the_group_as_an_executor_event_it_cannot_take() {
    let cluster = Cluster::start().await;
    let custom = ExecutorInfo {
        r#type: Some(mesos::proto::executor_info::Type::Custom as i32),
        executor_id: ExecutorId { value: "custom".into() },
        framework_id: Some(FrameworkId { value: "F0".into() }),
        command: Some(CommandInfo { value: Some("./my-executor".into()), ..CommandInfo::default() }),
        resources: Resources::parse("cpus:0.1;mem:32", "*").unwrap().to_vec(),
        ..ExecutorInfo::default()
    };
    let mut one = task("a", "sleep 1000", &cluster.slave_id);
    one.executor = Some(custom.clone());
    cluster.send_from_master(&run_task_group(vec![one], custom));
    cluster.lp.settle().await;
    let (_, config, _) = cluster.containerizer.launched().last().cloned().unwrap();
    assert_eq!(config.command_info.value.as_deref(), Some("./my-executor"));

    let executor = Fake::spawn(&cluster.lp, "executor", vec![name::<ExecutorRegisteredMessage>(), name::<Event>()]);
    let register = RegisterExecutorMessage {
        framework_id: FrameworkId { value: "F0".into() },
        executor_id: ExecutorId { value: "custom".into() },
    };
    cluster.lp.post_protobuf(executor.upid(), &cluster.agent_pid(), &register);
    cluster.lp.settle().await;
    assert_eq!(executor.messages::<ExecutorRegisteredMessage>().len(), 1);
    let events = executor.messages::<Event>();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].r#type(), event::Type::LaunchGroup);
    let tasks = within(cluster.agent.tasks()).await.unwrap();
    assert_eq!(tasks.len(), 1);
    assert_eq!(tasks[0].state, TaskState::TaskStaging as i32);
    cluster.lp.shutdown().await;
}

// ----- the real default executor -----

/// An agent with the POSIX containerizer and the built programs as its launcher
/// directory, registered with a fake master that acknowledges every update.
struct RealCluster {
    lp: Libprocess,
    master: Fake,
    agent: SlaveHandle,
    slave_id: SlaveId,
    work_dir: tempfile::TempDir,
}

impl RealCluster {
    async fn start() -> RealCluster {
        init_logging();
        let lp = common::loopback_instance().await;
        let master = Fake::spawn(&lp, "master", names_of_master());
        let work_dir = tempfile::tempdir().unwrap();
        let containerizer =
            slave::containerizer::posix::PosixContainerizer::new(slave::containerizer::posix::PosixOptions::default())
                .unwrap();
        let info = common::agent_info(&lp, None);
        let mut options = Options::new(work_dir.path().to_path_buf());
        options.switch_user = false;
        options.launcher_dir =
            std::path::Path::new(env!("CARGO_BIN_EXE_mesos-default-executor")).parent().unwrap().to_path_buf();
        let agent =
            SlaveHandle::spawn(&lp, common::agent(&lp, master.upid(), info, options, Arc::new(containerizer))).unwrap();
        let registrations = || master.messages::<mesos::internal::RegisterSlaveMessage>().len();
        eventually("the registration", || registrations() > 0).await;
        let slave_id = SlaveId { value: "S0".into() };
        lp.post_protobuf(
            master.upid(),
            agent.pid.upid(),
            &SlaveRegisteredMessage { slave_id: slave_id.clone(), connection: None },
        );
        within(async {
            while agent.state().await.unwrap() != State::Running {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        })
        .await;
        RealCluster { lp, master, agent, slave_id, work_dir }
    }

    /// Runs `tasks` as one group, acknowledging every update as it comes, until each task
    /// is terminal and the executor has gone; the updates.
    async fn run(&self, tasks: Vec<TaskInfo>, kill: Option<(&str, TaskState)>) -> Vec<StatusUpdateMessage> {
        let ids: Vec<String> = tasks.iter().map(|t| t.task_id.value.clone()).collect();
        let agent_pid = self.agent.pid.upid().clone();
        self.lp.post_protobuf(self.master.upid(), &agent_pid, &run_task_group(tasks, default_executor()));
        let mut acknowledged = 0;
        let mut kill = kill;
        eventually("every task to end", || {
            let updates = self.master.messages::<StatusUpdateMessage>();
            for message in &updates[acknowledged..] {
                self.lp.post_protobuf(
                    self.master.upid(),
                    &agent_pid,
                    &StatusUpdateAcknowledgementMessage {
                        slave_id: self.slave_id.clone(),
                        framework_id: message.update.framework_id.clone(),
                        task_id: message.update.status.task_id.clone(),
                        uuid: message.update.uuid.clone().unwrap(),
                    },
                );
                if let Some((task, when)) = kill {
                    if message.update.status.task_id.value == task && message.update.status.state == when as i32 {
                        let kill_task = KillTaskMessage {
                            framework_id: FrameworkId { value: "F0".into() },
                            task_id: TaskId { value: task.into() },
                            kill_policy: None,
                        };
                        self.lp.post_protobuf(self.master.upid(), &agent_pid, &kill_task);
                        kill = None;
                    }
                }
            }
            acknowledged = updates.len();
            ids.iter()
                .all(|id| states_of(&updates, id).last().is_some_and(|s| mesos::protobuf_utils::is_terminal_state(*s)))
        })
        .await;
        // The executor ends by itself once its updates are acknowledged.
        within(async {
            while !self.agent.executors().await.unwrap().is_empty() {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        })
        .await;
        self.master.messages::<StatusUpdateMessage>()
    }

    /// The executor's sandbox (its only run).
    fn sandbox(&self) -> PathBuf {
        let runs = self.work_dir.path().join("slaves/S0/frameworks/F0/executors/default-executor/runs");
        std::fs::read_dir(runs).unwrap().flatten().find(|e| e.file_name() != "latest").unwrap().path()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_default_executor_runs_a_group_of_two_tasks_to_finished() {
    let cluster = RealCluster::start().await;
    let tasks = vec![
        task("one", "echo hello from one; echo \"sandbox $MESOS_SANDBOX\"", &cluster.slave_id),
        task("two", "sleep 0.3; echo hello from two", &cluster.slave_id),
    ];
    let updates = cluster.run(tasks, None).await;
    for task in ["one", "two"] {
        assert_eq!(
            states_of(&updates, task),
            [TaskState::TaskStarting, TaskState::TaskRunning, TaskState::TaskFinished],
            "{task}"
        );
        let finished = update_of(&updates, task, TaskState::TaskFinished);
        assert_eq!(finished.message.as_deref(), Some("Command exited with status 0"));
        assert_eq!(finished.source, Some(Source::Executor as i32));
        assert_eq!(finished.executor_id.as_ref().unwrap().value, "default-executor");
        // Each task's child container id names the executor's container as its parent.
        let container = finished.container_status.as_ref().and_then(|c| c.container_id.as_ref()).unwrap();
        assert!(container.parent.is_some());
    }
    // Each task's output is in its own sandbox, `tasks/<id>`, which is its `MESOS_SANDBOX`.
    let sandbox = cluster.sandbox();
    let one = std::fs::read_to_string(sandbox.join("tasks/one/stdout")).unwrap();
    assert!(one.contains("hello from one"), "{one}");
    let two = std::fs::read_to_string(sandbox.join("tasks/two/stdout")).unwrap();
    assert!(two.contains("hello from two"), "{two}");
    let line = one.lines().find_map(|l| l.strip_prefix("sandbox ")).unwrap();
    assert_eq!(std::fs::canonicalize(line).unwrap(), std::fs::canonicalize(sandbox.join("tasks/one")).unwrap());
    assert!(sandbox.join("tasks/one/stderr").exists());
    cluster.lp.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_task_kills_the_rest_of_its_group() {
    let cluster = RealCluster::start().await;
    let tasks =
        vec![task("fails", "sleep 0.3; exit 3", &cluster.slave_id), task("sleeps", "sleep 1000", &cluster.slave_id)];
    let updates = cluster.run(tasks, None).await;
    let failed = update_of(&updates, "fails", TaskState::TaskFailed);
    assert_eq!(failed.message.as_deref(), Some("Command exited with status 3"));
    assert_eq!(states_of(&updates, "sleeps"), [TaskState::TaskStarting, TaskState::TaskRunning, TaskState::TaskKilled]);
    let killed = update_of(&updates, "sleeps", TaskState::TaskKilled);
    assert_eq!(killed.message.as_deref(), Some("Command terminated with signal Terminated"));
    cluster.lp.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killing_one_task_of_a_running_group_kills_the_group() {
    let cluster = RealCluster::start().await;
    let tasks = vec![task("first", "sleep 1000", &cluster.slave_id), task("second", "sleep 1000", &cluster.slave_id)];
    let updates = cluster.run(tasks, Some(("first", TaskState::TaskRunning))).await;
    assert_eq!(states_of(&updates, "first"), [TaskState::TaskStarting, TaskState::TaskRunning, TaskState::TaskKilled]);
    assert_eq!(states_of(&updates, "second").last(), Some(&TaskState::TaskKilled));
    cluster.lp.shutdown().await;
}
