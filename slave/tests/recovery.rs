//! Agent recovery after a restart, with real processes on the real clock: an agent (its own libprocess instance, the POSIX containerizer, the real `mesos-executor`) runs a command task for a fake master, its instance is shut down, and a new agent starts on the same `--work_dir` and port: it reregisters under the same id with the task, the executor reregisters (v0) or resubscribes (HTTP), an unacknowledged update is resent, the task finishes; an executor that does not come back within `--executor_reregistration_timeout` is killed and its task lost; a framework that does not checkpoint leaves nothing to recover; `--recover=cleanup` kills the executors and ends the agent; an incompatible `SlaveInfo` ends it (the flows of `src/tests/slave_recovery_tests.cpp`).

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use libprocess::{Config, Libprocess, ProtobufMessage, UPID};
use mesos::detector::{create_master_info, StandaloneMasterDetector};
use mesos::internal::{
    ExitedExecutorMessage, PongSlaveMessage, ReconcileTasksMessage, RegisterSlaveMessage, ReregisterSlaveMessage,
    RunTaskMessage, SlaveRegisteredMessage, SlaveReregisteredMessage, StatusUpdateAcknowledgementMessage,
    StatusUpdateMessage, UpdateSlaveMessage,
};
use mesos::proto::task_status::Reason;
use mesos::proto::{
    CommandInfo, ExecutorId, FrameworkId, FrameworkInfo, SlaveId, SlaveInfo, TaskId, TaskInfo, TaskState, TaskStatus,
};
use mesos::resources::Resources;
use slave::containerizer::posix::{process_alive, PosixContainerizer, PosixOptions};
use slave::containerizer::Containerizer;
use slave::slave::{Options, RecoverMode, Slave, SlaveHandle, State};
use slave::status_update_manager::TaskStatusUpdateManager;

mod common;

use common::{eventually, Fake};

// ----- the fake master, in its own instance -----

struct Master {
    lp: Libprocess,
    recorder: Fake,
    /// How many of the updates heard were acknowledged (see [`acknowledged`]).
    acked: Mutex<usize>,
}

impl Master {
    async fn start() -> Master {
        common::init_logging();
        let lp = Libprocess::initialize(localhost(0)).await.expect("libprocess starts");
        let names = vec![
            libprocess::protobuf::type_name::<RegisterSlaveMessage>(),
            libprocess::protobuf::type_name::<ReregisterSlaveMessage>(),
            libprocess::protobuf::type_name::<PongSlaveMessage>(),
            libprocess::protobuf::type_name::<StatusUpdateMessage>(),
            libprocess::protobuf::type_name::<ExitedExecutorMessage>(),
            libprocess::protobuf::type_name::<UpdateSlaveMessage>(),
        ];
        let recorder = Fake::spawn(&lp, "master", names);
        Master { lp, recorder, acked: Mutex::new(0) }
    }

    fn upid(&self) -> &UPID {
        self.recorder.upid()
    }

    fn all<M: ProtobufMessage>(&self) -> Vec<(UPID, M)> {
        self.recorder.all::<M>()
    }

    fn messages<M: ProtobufMessage>(&self) -> Vec<M> {
        self.recorder.messages::<M>()
    }

    fn updates(&self) -> Vec<StatusUpdateMessage> {
        self.messages::<StatusUpdateMessage>()
    }

    fn send<M: ProtobufMessage>(&self, to: &UPID, message: &M) {
        self.lp.post_protobuf(self.upid(), to, message);
    }

    fn acknowledge(&self, agent: &UPID, update: &StatusUpdateMessage) {
        let update = &update.update;
        self.send(
            agent,
            &StatusUpdateAcknowledgementMessage {
                slave_id: update.slave_id.clone().unwrap(),
                framework_id: update.framework_id.clone(),
                task_id: update.status.task_id.clone(),
                uuid: update.uuid.clone().unwrap(),
            },
        );
    }
}

fn localhost(port: u16) -> Config {
    Config { ip: Some(std::net::Ipv4Addr::LOCALHOST), port, ..Config::default() }
}

// ----- one run of the agent -----

/// An instance on `port`, retried for a while: the previous run's listener may not be
/// closed yet when its instance's shutdown returns.
async fn bind(port: u16) -> Libprocess {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        match Libprocess::initialize(localhost(port)).await {
            Ok(lp) => return lp,
            Err(error) if port != 0 && tokio::time::Instant::now() < deadline => {
                tracing::info!("Binding port {port} again: {error}");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            Err(error) => panic!("libprocess starts: {error}"),
        }
    }
}

struct AgentRun {
    lp: Libprocess,
    handle: SlaveHandle,
    containerizer: PosixContainerizer,
}

impl AgentRun {
    /// An agent `slave(1)` on `port` (0: any) over `work_dir`, detecting `master`.
    async fn start(work_dir: &Path, port: u16, master: &UPID, configure: impl FnOnce(&mut Options)) -> AgentRun {
        let lp = bind(port).await;
        let detector = Arc::new(StandaloneMasterDetector::new(Some(create_master_info(master))));
        let manager = TaskStatusUpdateManager::create(&lp, work_dir).unwrap();
        let containerizer = PosixContainerizer::new(PosixOptions::default()).unwrap();
        let mut options = Options::new(work_dir.to_path_buf());
        options.switch_user = false;
        options.launcher_dir = Path::new(env!("CARGO_BIN_EXE_mesos-executor")).parent().unwrap().to_path_buf();
        configure(&mut options);
        let info = agent_info(lp.address().port(), "cpus:2;mem:1024");
        let slave = Slave::new(info, options, detector, Arc::new(containerizer.clone()), manager);
        // As in a restarted `mesos-agent`, the agent is `slave(1)` again: HTTP executors
        // reach it by that name.
        let pid = lp.spawn("slave(1)", slave).expect("spawns");
        AgentRun { lp, handle: SlaveHandle { pid }, containerizer }
    }

    fn upid(&self) -> UPID {
        self.handle.pid.upid().clone()
    }

    fn port(&self) -> u16 {
        self.lp.address().port()
    }

    /// The agent process goes with its instance (`mesos-agent` stopping); its executors live on.
    async fn stop(self) {
        self.lp.shutdown().await;
    }

    async fn state(&self) -> State {
        within(self.handle.state()).await.unwrap()
    }
}

fn agent_info(port: u16, resources: &str) -> SlaveInfo {
    SlaveInfo {
        hostname: "agent.example".into(),
        port: Some(i32::from(port)),
        resources: Resources::parse(resources, "*").unwrap().to_vec(),
        checkpoint: Some(true),
        ..SlaveInfo::default()
    }
}

fn framework(id: &str, checkpoint: bool) -> FrameworkInfo {
    FrameworkInfo {
        user: String::new(),
        name: "framework".into(),
        id: Some(FrameworkId { value: id.into() }),
        checkpoint: Some(checkpoint),
        ..FrameworkInfo::default()
    }
}

const WAIT: Duration = Duration::from_secs(30);

async fn within<F: std::future::Future>(future: F) -> F::Output {
    tokio::time::timeout(WAIT, future).await.expect("in time")
}

fn state_of(update: &StatusUpdateMessage) -> TaskState {
    TaskState::try_from(update.update.status.state).unwrap()
}

fn slave_id() -> SlaveId {
    SlaveId { value: "S0".into() }
}

/// Registers the first run as `S0`.
async fn register(master: &Master, agent: &AgentRun) {
    eventually("the registration", || !master.messages::<RegisterSlaveMessage>().is_empty()).await;
    master.send(&agent.upid(), &SlaveRegisteredMessage { slave_id: slave_id(), connection: None });
    let deadline = tokio::time::Instant::now() + WAIT;
    while agent.state().await != State::Running {
        assert!(tokio::time::Instant::now() < deadline, "the agent runs");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Sends the command task `task` (`command`) of `framework`.
fn run_task(master: &Master, agent: &AgentRun, framework: FrameworkInfo, task: &str, command: &str) {
    let task = TaskInfo {
        name: task.into(),
        task_id: TaskId { value: task.into() },
        slave_id: slave_id(),
        resources: Resources::parse("cpus:0.5;mem:64", "*").unwrap().to_vec(),
        command: Some(CommandInfo { value: Some(command.into()), ..CommandInfo::default() }),
        ..TaskInfo::default()
    };
    let run = RunTaskMessage {
        framework_id: None,
        framework,
        task,
        resource_version_uuids: Vec::new(),
        pid: None,
        launch_executor: Some(true),
    };
    master.send(&agent.upid(), &run);
}

/// The pid the agent checkpointed for executor `task` of `framework` (written, with an
/// fsync, right after the fork; the executor may have run its task by then).
async fn forked_pid(work_dir: &Path, framework: &str, task: &str) -> i32 {
    let meta = slave::paths::meta_root_dir(work_dir);
    let executor = slave::paths::executor_path(
        &meta,
        &slave_id(),
        &FrameworkId { value: framework.into() },
        &ExecutorId { value: task.into() },
    );
    let path = executor.join("runs/latest/pids/forked.pid");
    eventually("forked.pid", || std::fs::read_to_string(&path).is_ok_and(|pid| !pid.is_empty())).await;
    std::fs::read_to_string(&path).unwrap().trim().parse().unwrap()
}

/// Acknowledges, to `agent`, every update the master heard and has not acknowledged yet,
/// as they come, up to the first of `task` in `state`, which it returns. Updates resent
/// after a restart are acknowledged again (a duplicate acknowledgement is only logged).
async fn acknowledged(master: &Master, agent: &UPID, task: &str, state: TaskState) -> StatusUpdateMessage {
    let mut found = None;
    eventually(&format!("{task} in {}", state.as_str_name()), || {
        let updates = master.updates();
        let mut acked = master.acked.lock().unwrap();
        while *acked < updates.len() {
            let update = &updates[*acked];
            master.acknowledge(agent, update);
            *acked += 1;
            if update.update.status.task_id.value == task && state_of(update) == state {
                found = Some(update.clone());
                return true;
            }
        }
        false
    })
    .await;
    found.unwrap()
}

/// Waits for the reregistration of the second run, and answers it.
/// A first run of the agent, registered, with the command task `t1` of the checkpointing
/// framework `F0` running `command`, its `TASK_RUNNING` acknowledged; the run, its port
/// and the executor's pid.
async fn running_t1(
    master: &Master,
    work_dir: &Path,
    command: &str,
    configure: impl FnOnce(&mut Options),
) -> (AgentRun, u16, i32) {
    let first = AgentRun::start(work_dir, 0, master.upid(), configure).await;
    let port = first.port();
    register(master, &first).await;
    run_task(master, &first, framework("F0", true), "t1", command);
    acknowledged(master, &first.upid(), "t1", TaskState::TaskStarting).await;
    acknowledged(master, &first.upid(), "t1", TaskState::TaskRunning).await;
    let executor_pid = forked_pid(work_dir, "F0", "t1").await;
    (first, port, executor_pid)
}

async fn reregistered(
    master: &Master,
    agent: &AgentRun,
    reconciliations: Vec<ReconcileTasksMessage>,
) -> ReregisterSlaveMessage {
    eventually("the reregistration", || !master.messages::<ReregisterSlaveMessage>().is_empty()).await;
    let (from, message) = master.all::<ReregisterSlaveMessage>().remove(0);
    assert_eq!(from, agent.upid());
    master.send(&from, &SlaveReregisteredMessage { slave_id: slave_id(), reconciliations, connection: None });
    message
}

// ----- the tests -----

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restarted_agent_reregisters_and_its_v0_executor_finishes_the_task() {
    let master = Master::start().await;
    let work_dir = tempfile::tempdir().unwrap();
    let first = AgentRun::start(work_dir.path(), 0, master.upid(), |_| {}).await;
    let port = first.port();
    register(&master, &first).await;
    run_task(&master, &first, framework("F0", true), "t1", "sleep 4");
    acknowledged(&master, &first.upid(), "t1", TaskState::TaskStarting).await;
    // TASK_RUNNING stays unacknowledged across the restart.
    eventually("TASK_RUNNING", || master.updates().iter().any(|u| state_of(u) == TaskState::TaskRunning)).await;
    let running = master.updates().into_iter().find(|u| state_of(u) == TaskState::TaskRunning).unwrap();
    let executor_pid = forked_pid(work_dir.path(), "F0", "t1").await;
    first.stop().await;
    assert!(process_alive(executor_pid), "a checkpointing framework's executor outlives its agent");

    let heard_before = master.updates().len();
    let second = AgentRun::start(work_dir.path(), port, master.upid(), |_| {}).await;
    assert!(master.messages::<RegisterSlaveMessage>().len() == 1, "no registration as a new agent");
    let message = reregistered(&master, &second, Vec::new()).await;
    assert_eq!(message.slave.id, Some(slave_id()), "the same agent id");
    assert_eq!(message.frameworks.iter().map(|f| f.id.clone().unwrap().value).collect::<Vec<_>>(), ["F0"]);
    let task = message.tasks.iter().find(|t| t.task_id.value == "t1").expect("the task is reported");
    assert_eq!(task.state, TaskState::TaskRunning as i32);
    assert!(message.executor_infos.is_empty(), "command executors are not reported");

    // The unacknowledged TASK_RUNNING goes to the master again, with its uuid.
    eventually("TASK_RUNNING resent", || {
        master.updates()[heard_before..].iter().any(|u| state_of(u) == TaskState::TaskRunning)
    })
    .await;
    let resent =
        master.updates()[heard_before..].iter().find(|u| state_of(u) == TaskState::TaskRunning).cloned().unwrap();
    assert_eq!(resent.update.uuid, running.update.uuid);
    assert_eq!(resent.pid.as_deref(), Some(second.upid().to_string().as_str()));

    // The executor reregistered: the task ends as the command does.
    let finished = acknowledged(&master, &second.upid(), "t1", TaskState::TaskFinished).await;
    assert_eq!(finished.update.status.message.as_deref(), Some("Command exited with status 0"));
    assert!(!master.updates().iter().any(|u| state_of(u) == TaskState::TaskLost), "nothing lost");
    let deadline = tokio::time::Instant::now() + WAIT;
    while !within(second.handle.executors()).await.unwrap().is_empty() {
        assert!(tokio::time::Instant::now() < deadline, "the executor goes");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    eventually("the executor's exit", || !process_alive(executor_pid)).await;
    second.stop().await;
    master.lp.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_http_executor_resubscribes_with_the_restarted_agent() {
    let master = Master::start().await;
    let work_dir = tempfile::tempdir().unwrap();
    // The executor retries at most every second (its backoff is the first run's timeout),
    // well within the second run's two. Calls other than `SUBSCRIBE` get `503` while the
    // agent recovers, so the task ends after that.
    let (first, port, executor_pid) = running_t1(&master, work_dir.path(), "sleep 6", |options| {
        options.http_command_executor = true;
        options.executor_reregistration_timeout = Duration::from_secs(1);
    })
    .await;
    first.stop().await;

    let second = AgentRun::start(work_dir.path(), port, master.upid(), |_| {}).await;
    let message = reregistered(&master, &second, Vec::new()).await;
    assert_eq!(message.slave.id, Some(slave_id()));
    assert!(message.tasks.iter().any(|t| t.task_id.value == "t1" && t.state == TaskState::TaskRunning as i32));
    acknowledged(&master, &second.upid(), "t1", TaskState::TaskFinished).await;
    assert!(!master.updates().iter().any(|u| state_of(u) == TaskState::TaskLost), "nothing lost");
    eventually("the executor's exit", || !process_alive(executor_pid)).await;
    second.stop().await;
    master.lp.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_executor_that_does_not_reregister_is_killed_and_its_task_lost() {
    let master = Master::start().await;
    let work_dir = tempfile::tempdir().unwrap();
    let (first, port, executor_pid) = running_t1(&master, work_dir.path(), "sleep 60", |_| {}).await;
    // A stopped executor cannot answer `ReconnectExecutorMessage`.
    // SAFETY: a signal to the executor this test's agent launched.
    assert_eq!(unsafe { libc::kill(executor_pid, libc::SIGSTOP) }, 0);
    first.stop().await;

    let second = AgentRun::start(work_dir.path(), port, master.upid(), |_| {}).await;
    eventually("the executor killed", || !process_alive(executor_pid)).await;
    reregistered(&master, &second, Vec::new()).await;
    let lost = acknowledged(&master, &second.upid(), "t1", TaskState::TaskLost).await;
    let status: &TaskStatus = &lost.update.status;
    assert_eq!(status.reason, Some(Reason::ExecutorReregistrationTimeout as i32));
    assert_eq!(status.message.as_deref(), Some("Executor did not reregister within 2secs"));
    second.stop().await;
    master.lp.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_framework_that_does_not_checkpoint_leaves_nothing_to_recover() {
    let master = Master::start().await;
    let work_dir = tempfile::tempdir().unwrap();
    let first = AgentRun::start(work_dir.path(), 0, master.upid(), |_| {}).await;
    let port = first.port();
    register(&master, &first).await;
    run_task(&master, &first, framework("F1", false), "t2", "sleep 60");
    acknowledged(&master, &first.upid(), "t2", TaskState::TaskStarting).await;
    acknowledged(&master, &first.upid(), "t2", TaskState::TaskRunning).await;
    assert_eq!(within(first.handle.executors()).await.unwrap().len(), 1);
    let containers = within(first.containerizer.containers()).await.unwrap();
    let executor_pid = first.containerizer.pid(&containers[0]).expect("the executor runs");
    first.stop().await;
    // Its executor shuts down as soon as it loses its agent.
    eventually("the executor's exit", || !process_alive(executor_pid)).await;

    let second = AgentRun::start(work_dir.path(), port, master.upid(), |_| {}).await;
    let reconciliation = ReconcileTasksMessage {
        framework_id: FrameworkId { value: "F1".into() },
        statuses: vec![TaskStatus {
            task_id: TaskId { value: "t2".into() },
            state: TaskState::TaskRunning as i32,
            ..TaskStatus::default()
        }],
        framework: Some(framework("F1", false)),
    };
    let message = reregistered(&master, &second, vec![reconciliation]).await;
    assert!(message.frameworks.is_empty() && message.tasks.is_empty(), "nothing recovered: {message:?}");
    // The master's task is unknown here.
    let lost = acknowledged(&master, &second.upid(), "t2", TaskState::TaskLost).await;
    assert_eq!(lost.update.status.reason, Some(Reason::Reconciliation as i32));
    second.stop().await;
    master.lp.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recover_cleanup_kills_the_executors_and_ends_the_agent() {
    let master = Master::start().await;
    let work_dir = tempfile::tempdir().unwrap();
    let (first, port, executor_pid) = running_t1(&master, work_dir.path(), "sleep 60", |_| {}).await;
    first.stop().await;

    let second = AgentRun::start(work_dir.path(), port, master.upid(), |options| {
        options.recover = RecoverMode::Cleanup;
    })
    .await;
    within(second.lp.wait(&second.upid())).await.unwrap();
    assert!(!process_alive(executor_pid), "the executor is gone");
    assert_eq!(master.messages::<RegisterSlaveMessage>().len(), 1, "only the first run registered");
    assert!(master.messages::<ReregisterSlaveMessage>().is_empty());
    second.stop().await;
    master.lp.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_incompatible_agent_info_fails_recovery() {
    let master = Master::start().await;
    let work_dir = tempfile::tempdir().unwrap();
    let (first, port, executor_pid) = running_t1(&master, work_dir.path(), "sleep 60", |_| {}).await;
    first.stop().await;

    // The same work directory with other resources.
    let lp = bind(port).await;
    let detector = Arc::new(StandaloneMasterDetector::new(Some(create_master_info(master.upid()))));
    let manager = TaskStatusUpdateManager::create(&lp, work_dir.path()).unwrap();
    let containerizer = PosixContainerizer::new(PosixOptions::default()).unwrap();
    let slave = Slave::new(
        agent_info(port, "cpus:4;mem:1024"),
        Options::new(work_dir.path().to_path_buf()),
        detector,
        Arc::new(containerizer),
        manager,
    );
    let pid = lp.spawn("slave(1)", slave).unwrap();
    within(lp.wait(pid.upid())).await.unwrap();
    assert!(master.messages::<ReregisterSlaveMessage>().is_empty(), "no reregistration");
    assert!(process_alive(executor_pid), "the executor is left alone");
    // SAFETY: the executor this test launched.
    unsafe { libc::kill(executor_pid, libc::SIGKILL) };
    lp.shutdown().await;
    master.lp.shutdown().await;
}

#[test]
fn slave_infos_compare_as_cpp_does() {
    let info = agent_info(5051, "cpus:2;mem:1024");
    assert!(slave::slave::compatible(&info, &info.clone()).is_ok());
    // Resources compare as resources, whatever their order.
    let reordered = SlaveInfo { resources: info.resources.iter().rev().cloned().collect(), ..info.clone() };
    assert!(slave::slave::compatible(&info, &reordered).is_ok());
    let more = agent_info(5051, "cpus:3;mem:1024");
    let error = slave::slave::compatible(&info, &more).unwrap_err();
    assert!(error.starts_with("Incompatible agent info detected. \n"), "{error}");
    assert!(error.contains("Old agent info:\n") && error.contains("New agent info:\n"), "{error}");
    let other_port = agent_info(5052, "cpus:2;mem:1024");
    assert!(slave::slave::compatible(&info, &other_port).is_err());
}
