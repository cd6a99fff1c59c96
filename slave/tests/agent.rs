//! The agent actor on a paused clock, against a fake master, a fake containerizer and a fake executor (all processes in one instance): registration and its retries, ping/pong and the ping timeout, a command task from `RunTaskMessage` to its acknowledged terminal update, kills, executor registration timeout and exit, framework shutdown, framework messages, reconciliation on reregistration, and messages from the wrong sender (the flows of `src/tests/slave_tests.cpp`).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use libprocess::{Bytes, Libprocess, ProtobufMessage, UPID};
use mesos::internal::{
    ExecutorRegisteredMessage, ExecutorToFrameworkMessage, ExitedExecutorMessage, FrameworkToExecutorMessage,
    KillTaskMessage, MasterSlaveConnection, PingSlaveMessage, PongSlaveMessage, ReconcileTasksMessage,
    RegisterExecutorMessage, RegisterSlaveMessage, ReregisterSlaveMessage, RunTaskMessage, ShutdownExecutorMessage,
    ShutdownFrameworkMessage, SlaveRegisteredMessage, SlaveReregisteredMessage, StatusUpdate,
    StatusUpdateAcknowledgementMessage, StatusUpdateMessage, UpdateFrameworkMessage, UpdateSlaveMessage,
};
use mesos::proto::task_status::{Reason, Source};
use mesos::proto::{
    CommandInfo, ExecutorId, ExecutorInfo, FrameworkId, FrameworkInfo, SlaveId, Task, TaskId, TaskInfo, TaskState,
    TaskStatus,
};
use mesos::resources::Resources;
use mesos::state::Uuid;
use slave::containerizer::ContainerTermination;
use slave::paths;
use slave::slave::{Options, SlaveHandle, State};

mod common;

use common::{within, Fake, FakeContainerizer};

fn names_of_master() -> Vec<&'static str> {
    vec![
        libprocess::protobuf::type_name::<RegisterSlaveMessage>(),
        libprocess::protobuf::type_name::<ReregisterSlaveMessage>(),
        libprocess::protobuf::type_name::<PongSlaveMessage>(),
        libprocess::protobuf::type_name::<StatusUpdateMessage>(),
        libprocess::protobuf::type_name::<ExitedExecutorMessage>(),
        libprocess::protobuf::type_name::<ExecutorToFrameworkMessage>(),
        libprocess::protobuf::type_name::<UpdateSlaveMessage>(),
    ]
}

fn names_of_executor() -> Vec<&'static str> {
    vec![
        libprocess::protobuf::type_name::<ExecutorRegisteredMessage>(),
        libprocess::protobuf::type_name::<RunTaskMessage>(),
        libprocess::protobuf::type_name::<KillTaskMessage>(),
        libprocess::protobuf::type_name::<StatusUpdateAcknowledgementMessage>(),
        libprocess::protobuf::type_name::<ShutdownExecutorMessage>(),
        libprocess::protobuf::type_name::<FrameworkToExecutorMessage>(),
    ]
}

// ----- the cluster -----

struct Cluster {
    lp: Libprocess,
    master: Fake,
    agent: SlaveHandle,
    containerizer: FakeContainerizer,
    work_dir: tempfile::TempDir,
}

impl Cluster {
    /// An agent whose detector names a fake `master`; not registered yet.
    async fn start() -> Cluster {
        common::init_logging();
        let lp = common::loopback_instance().await;
        lp.clock().pause();
        let master = Fake::spawn(&lp, "master", names_of_master());
        let work_dir = tempfile::tempdir().unwrap();
        let containerizer = FakeContainerizer::default();
        let info = common::agent_info(&lp, Some(true));
        let options = Options::new(work_dir.path().to_path_buf());
        let slave = common::agent(&lp, master.upid(), info, options, Arc::new(containerizer.clone()));
        let agent = SlaveHandle::spawn(&lp, slave).unwrap();
        lp.settle().await;
        Cluster { lp, master, agent, containerizer, work_dir }
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

    fn send<M: ProtobufMessage>(&self, from: &UPID, message: &M) {
        self.lp.post_protobuf(from, &self.agent_pid(), message);
    }

    /// Registers the agent as `S0`.
    async fn register(&self) -> SlaveId {
        self.advance(Duration::from_secs(1)).await;
        assert!(!self.master.messages::<RegisterSlaveMessage>().is_empty(), "the agent registers");
        let id = SlaveId { value: "S0".into() };
        let connection = MasterSlaveConnection { total_ping_timeout_seconds: Some(75.0) };
        self.send(self.master.upid(), &SlaveRegisteredMessage { slave_id: id.clone(), connection: Some(connection) });
        self.settle().await;
        assert_eq!(within(self.agent.state()).await.unwrap(), State::Running);
        id
    }

    /// Sends a command task `task` of framework `F0`.
    fn run_task(&self, slave_id: &SlaveId, task: &str, scheduler: &UPID) -> TaskInfo {
        let task = TaskInfo {
            name: task.into(),
            task_id: TaskId { value: task.into() },
            slave_id: slave_id.clone(),
            resources: Resources::parse("cpus:1;mem:128", "*").unwrap().to_vec(),
            command: Some(CommandInfo { value: Some("sleep 1".into()), ..CommandInfo::default() }),
            ..TaskInfo::default()
        };
        let message = RunTaskMessage {
            framework_id: None,
            framework: framework_info(),
            task: task.clone(),
            resource_version_uuids: Vec::new(),
            pid: Some(scheduler.to_string()),
            launch_executor: Some(true),
        };
        self.send(self.master.upid(), &message);
        task
    }

    /// A fake executor registered for the container launched last, with the environment
    /// the agent gave it.
    async fn executor(&self, id: &str) -> (Fake, BTreeMap<String, String>) {
        let (_, _, environment) = self.containerizer.launched().last().cloned().expect("launched");
        let executor = Fake::spawn(&self.lp, id, names_of_executor());
        let register = RegisterExecutorMessage {
            framework_id: FrameworkId { value: environment["MESOS_FRAMEWORK_ID"].clone() },
            executor_id: ExecutorId { value: environment["MESOS_EXECUTOR_ID"].clone() },
        };
        let agent: UPID = environment["MESOS_SLAVE_PID"].parse().unwrap();
        self.lp.post_protobuf(executor.upid(), &agent, &register);
        self.settle().await;
        (executor, environment)
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

/// An update from the executor (C++ `ExecutorProcess::sendStatusUpdate`).
fn executor_update(slave_id: &SlaveId, task: &str, executor: &str, state: TaskState) -> StatusUpdate {
    let uuid = Uuid::random().as_bytes().to_vec();
    StatusUpdate {
        framework_id: FrameworkId { value: "F0".into() },
        executor_id: Some(ExecutorId { value: executor.into() }),
        slave_id: Some(slave_id.clone()),
        status: TaskStatus {
            task_id: TaskId { value: task.into() },
            state: state as i32,
            slave_id: Some(slave_id.clone()),
            timestamp: Some(1.0),
            uuid: Some(uuid.clone()),
            ..TaskStatus::default()
        },
        timestamp: 1.0,
        uuid: Some(uuid),
        latest_state: None,
    }
}

fn ack_for(slave_id: &SlaveId, update: &StatusUpdate) -> StatusUpdateAcknowledgementMessage {
    StatusUpdateAcknowledgementMessage {
        slave_id: slave_id.clone(),
        framework_id: update.framework_id.clone(),
        task_id: update.status.task_id.clone(),
        uuid: update.uuid.clone().unwrap(),
    }
}

fn states(updates: &[StatusUpdateMessage]) -> Vec<TaskState> {
    updates.iter().map(|m| TaskState::try_from(m.update.status.state).unwrap()).collect()
}

// ----- registration and health -----

#[tokio::test]
async fn the_agent_registers_with_its_info_and_retries_until_registered() {
    let cluster = Cluster::start().await;
    // The first attempt comes within `--registration_backoff_factor` (1 s).
    cluster.advance(Duration::from_secs(1)).await;
    let registrations = cluster.master.all::<RegisterSlaveMessage>();
    assert_eq!(registrations.len(), 1);
    let (from, message) = &registrations[0];
    assert_eq!(from, &cluster.agent_pid());
    assert!(from.id.starts_with("slave("), "{from}");
    assert!(message.slave.id.is_none(), "no id before registration");
    assert_eq!(message.slave.hostname, "agent.example");
    assert_eq!(message.version.as_deref(), Some("1.12.0"));
    assert!(!message.agent_capabilities.is_empty());
    assert_eq!(message.resource_version_uuid.as_ref().map(|u| u.value.len()), Some(16));

    // Unanswered, it tries again within the doubled backoff (2 s), and again (4 s).
    cluster.advance(Duration::from_secs(2)).await;
    cluster.advance(Duration::from_secs(4)).await;
    assert!(cluster.master.messages::<RegisterSlaveMessage>().len() >= 3);

    // Registered, it stops.
    let id = SlaveId { value: "S0".into() };
    cluster.send(cluster.master.upid(), &SlaveRegisteredMessage { slave_id: id.clone(), connection: None });
    cluster.settle().await;
    assert_eq!(within(cluster.agent.slave_id()).await.unwrap(), Some(id));
    let count = cluster.master.messages::<RegisterSlaveMessage>().len();
    cluster.advance(Duration::from_secs(60)).await;
    assert_eq!(cluster.master.messages::<RegisterSlaveMessage>().len(), count);
}

#[tokio::test]
async fn a_registration_from_another_pid_is_ignored() {
    let cluster = Cluster::start().await;
    cluster.advance(Duration::from_secs(1)).await;
    let impostor = Fake::spawn(&cluster.lp, "impostor", Vec::new());
    cluster
        .send(impostor.upid(), &SlaveRegisteredMessage { slave_id: SlaveId { value: "S9".into() }, connection: None });
    cluster.settle().await;
    assert_eq!(within(cluster.agent.state()).await.unwrap(), State::Disconnected);
    assert_eq!(within(cluster.agent.slave_id()).await.unwrap(), None);
}

#[tokio::test]
async fn pings_are_answered_and_their_absence_makes_the_agent_reregister() {
    let cluster = Cluster::start().await;
    let id = cluster.register().await;
    let observer =
        Fake::spawn(&cluster.lp, "slave-observer(1)", vec![libprocess::protobuf::type_name::<PongSlaveMessage>()]);
    cluster.send(observer.upid(), &PingSlaveMessage { connected: true });
    cluster.settle().await;
    assert_eq!(observer.messages::<PongSlaveMessage>().len(), 1, "the pong goes to the pinger");

    // Pings keep the agent registered ...
    cluster.advance(Duration::from_secs(70)).await;
    cluster.send(observer.upid(), &PingSlaveMessage { connected: true });
    cluster.advance(Duration::from_secs(70)).await;
    assert!(cluster.master.messages::<ReregisterSlaveMessage>().is_empty());
    // ... and 75 s without one make it detect the master again and reregister with its id.
    cluster.advance(Duration::from_secs(6)).await;
    cluster.advance(Duration::from_secs(2)).await;
    assert_eq!(within(cluster.agent.state()).await.unwrap(), State::Disconnected);
    let reregistrations = cluster.master.messages::<ReregisterSlaveMessage>();
    assert!(!reregistrations.is_empty());
    assert_eq!(reregistrations[0].slave.id.as_ref(), Some(&id));

    cluster.send(
        cluster.master.upid(),
        &SlaveReregisteredMessage { slave_id: id, reconciliations: Vec::new(), connection: None },
    );
    cluster.settle().await;
    assert_eq!(within(cluster.agent.state()).await.unwrap(), State::Running);
}

#[tokio::test]
async fn a_ping_saying_disconnected_forces_reregistration() {
    let cluster = Cluster::start().await;
    let id = cluster.register().await;
    let observer =
        Fake::spawn(&cluster.lp, "slave-observer(1)", vec![libprocess::protobuf::type_name::<PongSlaveMessage>()]);
    cluster.send(observer.upid(), &PingSlaveMessage { connected: false });
    cluster.settle().await;
    cluster.advance(Duration::from_secs(2)).await;
    let reregistrations = cluster.master.messages::<ReregisterSlaveMessage>();
    assert_eq!(reregistrations.first().and_then(|m| m.slave.id.clone()), Some(id));
}

// ----- tasks -----

#[tokio::test]
async fn a_command_task_runs_through_its_executor_to_an_acknowledged_end() {
    let cluster = Cluster::start().await;
    let id = cluster.register().await;
    let scheduler = Fake::spawn(&cluster.lp, "scheduler", Vec::new());
    cluster.run_task(&id, "t1", scheduler.upid());
    cluster.settle().await;

    // The executor generated for the command task runs in a container with the Mesos
    // environment and sandbox.
    let launched = cluster.containerizer.launched();
    assert_eq!(launched.len(), 1);
    let (container_id, config, environment) = &launched[0];
    let executor_info = config.executor_info.clone().unwrap();
    assert_eq!(executor_info.executor_id.value, "t1");
    assert_eq!(executor_info.name.as_deref(), Some("Command Executor (Task: t1) (Command: sh -c 'sleep 1')"));
    assert_eq!(executor_info.source.as_deref(), Some("t1"));
    let overhead: Resources = executor_info.resources.iter().cloned().collect();
    assert_eq!(overhead.to_string(), "cpus:0.1; mem:32");
    assert!(config.task_info.is_some());
    assert_eq!(environment["MESOS_SLAVE_PID"], cluster.agent_pid().to_string());
    assert_eq!(environment["MESOS_SLAVE_ID"], "S0");
    assert_eq!(environment["MESOS_FRAMEWORK_ID"], "F0");
    assert_eq!(environment["MESOS_EXECUTOR_ID"], "t1");
    assert_eq!(environment["MESOS_CHECKPOINT"], "1");
    assert_eq!(environment["MESOS_EXECUTOR_SHUTDOWN_GRACE_PERIOD"], "5secs");
    assert_eq!(environment["MESOS_RECOVERY_TIMEOUT"], "15mins");
    let sandbox = std::path::PathBuf::from(&environment["MESOS_DIRECTORY"]);
    assert!(sandbox.is_dir());
    assert!(sandbox.ends_with(format!("slaves/S0/frameworks/F0/executors/t1/runs/{}", container_id.value)));

    // Registered, the executor gets its info and then the task.
    let (executor, _) = cluster.executor("executor(1)").await;
    let registered = executor.messages::<ExecutorRegisteredMessage>();
    assert_eq!(registered.len(), 1);
    assert_eq!(registered[0].slave_id, id);
    assert_eq!(registered[0].framework_id.value, "F0");
    let runs = executor.messages::<RunTaskMessage>();
    assert_eq!(runs.len(), 1);
    assert_eq!(runs[0].task.task_id.value, "t1");
    assert_eq!(runs[0].pid.as_deref(), Some(scheduler.upid().to_string().as_str()));

    // Its update is acknowledged to it and forwarded to the master, with the agent's pid.
    let running = executor_update(&id, "t1", "t1", TaskState::TaskRunning);
    let message = StatusUpdateMessage { update: running.clone(), pid: Some(executor.upid().to_string()) };
    cluster.lp.post_protobuf(executor.upid(), &cluster.agent_pid(), &message);
    cluster.settle().await;
    let acks = executor.messages::<StatusUpdateAcknowledgementMessage>();
    assert_eq!(acks.len(), 1);
    assert_eq!(acks[0].uuid, running.uuid.clone().unwrap());
    let forwarded = cluster.master.messages::<StatusUpdateMessage>();
    assert_eq!(states(&forwarded), [TaskState::TaskRunning]);
    let update = &forwarded[0];
    assert_eq!(update.pid.as_deref(), Some(cluster.agent_pid().to_string().as_str()));
    assert_eq!(update.update.status.source, Some(Source::Executor as i32));
    assert_eq!(update.update.status.uuid, running.uuid);
    assert_eq!(update.update.latest_state, Some(TaskState::TaskRunning as i32));
    assert_eq!(update.update.status.executor_id.as_ref().map(|e| e.value.as_str()), Some("t1"));

    // The terminal update waits for the first one's acknowledgement.
    let finished = executor_update(&id, "t1", "t1", TaskState::TaskFinished);
    let message = StatusUpdateMessage { update: finished.clone(), pid: Some(executor.upid().to_string()) };
    cluster.lp.post_protobuf(executor.upid(), &cluster.agent_pid(), &message);
    cluster.settle().await;
    assert_eq!(cluster.master.messages::<StatusUpdateMessage>().len(), 1);
    cluster.send(cluster.master.upid(), &ack_for(&id, &running));
    cluster.settle().await;
    let forwarded = cluster.master.messages::<StatusUpdateMessage>();
    assert_eq!(states(&forwarded), [TaskState::TaskRunning, TaskState::TaskFinished]);

    // Once acknowledged, the task is completed.
    cluster.send(cluster.master.upid(), &ack_for(&id, &finished));
    cluster.settle().await;
    let tasks = within(cluster.agent.tasks()).await.unwrap();
    assert_eq!(tasks.len(), 1);
    assert_eq!(tasks[0].state, TaskState::TaskFinished as i32);

    // The command executor exits: no ExitedExecutorMessage for it, and it is gone.
    cluster.containerizer.end(container_id, ContainerTermination { status: Some(0), ..Default::default() });
    cluster.settle().await;
    assert!(cluster.master.messages::<ExitedExecutorMessage>().is_empty());
    assert!(within(cluster.agent.executors()).await.unwrap().is_empty());
}

/// The meta tree of a checkpointing framework after a launch: what C++ writes in
/// `Slave::{registered,run,__recover}`, `Framework::checkpointFramework`,
/// `Executor::{checkpointExecutor,checkpointTask}` and `Slave::registerExecutor`.
#[tokio::test]
async fn a_launch_checkpoints_the_framework_executor_and_task() {
    let cluster = Cluster::start().await;
    let meta = paths::meta_root_dir(cluster.work_dir.path());
    let boot_id = std::fs::read_to_string(paths::boot_id_path(&meta)).unwrap();
    assert_eq!(boot_id, slave::state::boot_id().unwrap());

    let id = cluster.register().await;
    assert_eq!(std::fs::read_link(paths::latest_slave_path(&meta)).unwrap(), paths::slave_path(&meta, &id));
    let scheduler = Fake::spawn(&cluster.lp, "scheduler", Vec::new());
    let task = cluster.run_task(&id, "t1", scheduler.upid());
    cluster.settle().await;

    let framework_id = FrameworkId { value: "F0".into() };
    let read = |path: std::path::PathBuf| std::fs::read_to_string(path).unwrap();
    let info: FrameworkInfo =
        mesos::protobuf_io::read_file(&paths::framework_info_path(&meta, &id, &framework_id)).unwrap().unwrap();
    assert_eq!(info, framework_info());
    assert_eq!(read(paths::framework_pid_path(&meta, &id, &framework_id)), scheduler.upid().to_string());

    let (container_id, config, _) = cluster.containerizer.launched()[0].clone();
    let executor_id = ExecutorId { value: "t1".into() };
    let info: ExecutorInfo =
        mesos::protobuf_io::read_file(&paths::executor_info_path(&meta, &id, &framework_id, &executor_id))
            .unwrap()
            .unwrap();
    assert_eq!(Some(info), config.executor_info);
    let generated = paths::executor_generated_for_command_task_path(&meta, &id, &framework_id, &executor_id);
    assert_eq!(read(generated), "1");
    assert_eq!(
        std::fs::read_link(paths::executor_latest_run_path(&meta, &id, &framework_id, &executor_id)).unwrap(),
        paths::executor_run_path(&meta, &id, &framework_id, &executor_id, &container_id)
    );
    // The task is checkpointed as it is queued for the registering executor.
    let path = paths::task_info_path(&meta, &id, &framework_id, &executor_id, &container_id, &task.task_id);
    let checkpointed: Task = mesos::protobuf_io::read_file(&path).unwrap().unwrap();
    assert_eq!(checkpointed.task_id, task.task_id);
    assert_eq!(checkpointed.state, TaskState::TaskStaging as i32);
    assert_eq!(checkpointed.framework_id, framework_id);
    // A command task names no executor (C++ `createTask`).
    assert_eq!(checkpointed.executor_id, None);
    assert_eq!(checkpointed.slave_id, id);
    assert_eq!(checkpointed.resources, task.resources);

    let (executor, _) = cluster.executor("executor(1)").await;
    let pid = paths::libprocess_pid_path(&meta, &id, &framework_id, &executor_id, &container_id);
    assert_eq!(read(pid), executor.upid().to_string());

    // An `UpdateFrameworkMessage` rewrites the pid; no pid is an HTTP scheduler's empty one.
    let update =
        UpdateFrameworkMessage { framework_id: framework_id.clone(), pid: Some(String::new()), framework_info: None };
    cluster.send(cluster.master.upid(), &update);
    cluster.settle().await;
    assert_eq!(read(paths::framework_pid_path(&meta, &id, &framework_id)), "@0.0.0.0:0");

    // What the agent wrote reads back whole (the update log is the manager's, tested apart).
    let state = slave::state::recover(&meta, true).unwrap();
    assert!(!state.rebooted);
    let agent = state.slave.unwrap();
    assert_eq!((agent.id.clone(), agent.errors), (id.clone(), 0));
    assert_eq!(agent.info.unwrap().id, Some(id));
    let framework = &agent.frameworks[&framework_id];
    assert_eq!(framework.info, Some(framework_info()));
    assert_eq!(framework.pid, Some(UPID::empty()));
    let recovered = &framework.executors[&executor_id];
    assert_eq!(recovered.info, config.executor_info);
    assert_eq!(recovered.latest, Some(container_id.clone()));
    assert!(recovered.generated_for_command_task);
    let run = &recovered.runs[&container_id.value];
    // The fake containerizer writes no `forked.pid`, so C++ reads no libprocess pid either.
    assert_eq!((run.forked_pid, run.libprocess_pid.clone(), run.completed), (None, None, false));
    assert_eq!(run.tasks[&task.task_id].info.as_ref().map(|t| t.state), Some(TaskState::TaskStaging as i32));
}

#[tokio::test]
async fn a_task_for_another_agent_or_from_another_pid_is_dropped() {
    let cluster = Cluster::start().await;
    let id = cluster.register().await;
    let scheduler = Fake::spawn(&cluster.lp, "scheduler", Vec::new());
    cluster.run_task(&SlaveId { value: "S-other".into() }, "t1", scheduler.upid());
    let impostor = Fake::spawn(&cluster.lp, "impostor", Vec::new());
    let message = RunTaskMessage {
        framework_id: None,
        framework: framework_info(),
        task: TaskInfo { task_id: TaskId { value: "t2".into() }, slave_id: id, ..TaskInfo::default() },
        resource_version_uuids: Vec::new(),
        pid: None,
        launch_executor: Some(true),
    };
    cluster.send(impostor.upid(), &message);
    cluster.settle().await;
    assert!(cluster.containerizer.launched().is_empty());
    assert!(within(cluster.agent.tasks()).await.unwrap().is_empty());
}

#[tokio::test]
async fn a_task_killed_before_its_executor_registers_is_killed_during_launch() {
    let cluster = Cluster::start().await;
    let id = cluster.register().await;
    let scheduler = Fake::spawn(&cluster.lp, "scheduler", Vec::new());
    cluster.run_task(&id, "t1", scheduler.upid());
    cluster.settle().await;
    let kill = KillTaskMessage {
        framework_id: FrameworkId { value: "F0".into() },
        task_id: TaskId { value: "t1".into() },
        kill_policy: None,
    };
    cluster.send(cluster.master.upid(), &kill);
    cluster.settle().await;
    let forwarded = cluster.master.messages::<StatusUpdateMessage>();
    assert_eq!(states(&forwarded), [TaskState::TaskKilled]);
    let status = &forwarded[0].update.status;
    assert_eq!(status.reason, Some(Reason::TaskKilledDuringLaunch as i32));
    assert_eq!(status.source, Some(Source::Slave as i32));

    // The executor that registers now has nothing to run: it is shut down.
    let (executor, _) = cluster.executor("executor(1)").await;
    assert_eq!(executor.messages::<ShutdownExecutorMessage>().len(), 1);
    assert!(executor.messages::<RunTaskMessage>().is_empty());
}

#[tokio::test]
async fn a_kill_of_a_launched_task_goes_to_its_executor() {
    let cluster = Cluster::start().await;
    let id = cluster.register().await;
    let scheduler = Fake::spawn(&cluster.lp, "scheduler", Vec::new());
    cluster.run_task(&id, "t1", scheduler.upid());
    cluster.settle().await;
    let (executor, _) = cluster.executor("executor(1)").await;
    let kill = KillTaskMessage {
        framework_id: FrameworkId { value: "F0".into() },
        task_id: TaskId { value: "t1".into() },
        kill_policy: None,
    };
    cluster.send(cluster.master.upid(), &kill);
    cluster.settle().await;
    assert_eq!(executor.messages::<KillTaskMessage>(), [kill]);

    // A kill for a task the agent does not know is answered TASK_LOST.
    let unknown = KillTaskMessage {
        framework_id: FrameworkId { value: "F0".into() },
        task_id: TaskId { value: "t9".into() },
        kill_policy: None,
    };
    cluster.send(cluster.master.upid(), &unknown);
    cluster.settle().await;
    let forwarded = cluster.master.messages::<StatusUpdateMessage>();
    assert_eq!(states(&forwarded), [TaskState::TaskLost]);
    assert_eq!(forwarded[0].update.status.reason, Some(Reason::ExecutorTerminated as i32));
}

#[tokio::test]
async fn an_executor_that_does_not_register_in_time_is_destroyed_and_its_task_failed() {
    let cluster = Cluster::start().await;
    let id = cluster.register().await;
    let scheduler = Fake::spawn(&cluster.lp, "scheduler", Vec::new());
    cluster.run_task(&id, "t1", scheduler.upid());
    cluster.settle().await;
    cluster.advance(Duration::from_secs(59)).await;
    assert!(cluster.containerizer.destroyed().is_empty());
    cluster.advance(Duration::from_secs(1)).await;
    assert_eq!(cluster.containerizer.destroyed().len(), 1);
    let forwarded = cluster.master.messages::<StatusUpdateMessage>();
    assert_eq!(states(&forwarded), [TaskState::TaskFailed]);
    let status = &forwarded[0].update.status;
    assert_eq!(status.reason, Some(Reason::ExecutorRegistrationTimeout as i32));
    assert_eq!(status.message.as_deref(), Some("Executor did not register within 1mins"));
}

/// A custom executor's exit is reported to the master, and its running tasks fail.
#[tokio::test]
async fn a_custom_executor_exit_fails_its_tasks_and_is_reported() {
    let cluster = Cluster::start().await;
    let id = cluster.register().await;
    let scheduler = Fake::spawn(&cluster.lp, "scheduler", Vec::new());
    let executor_info = ExecutorInfo {
        executor_id: ExecutorId { value: "custom".into() },
        framework_id: Some(FrameworkId { value: "F0".into() }),
        command: Some(CommandInfo { value: Some("./my-executor".into()), ..CommandInfo::default() }),
        ..ExecutorInfo::default()
    };
    let task = TaskInfo {
        name: "t1".into(),
        task_id: TaskId { value: "t1".into() },
        slave_id: id.clone(),
        executor: Some(executor_info),
        ..TaskInfo::default()
    };
    let message = RunTaskMessage {
        framework_id: None,
        framework: framework_info(),
        task,
        resource_version_uuids: Vec::new(),
        pid: Some(scheduler.upid().to_string()),
        launch_executor: Some(true),
    };
    cluster.send(cluster.master.upid(), &message);
    cluster.settle().await;
    let (executor, _) = cluster.executor("executor(1)").await;
    let running = executor_update(&id, "t1", "custom", TaskState::TaskRunning);
    cluster.lp.post_protobuf(
        executor.upid(),
        &cluster.agent_pid(),
        &StatusUpdateMessage { update: running.clone(), pid: Some(executor.upid().to_string()) },
    );
    cluster.settle().await;
    cluster.send(cluster.master.upid(), &ack_for(&id, &running));
    cluster.settle().await;

    let (container_id, _, _) = cluster.containerizer.launched()[0].clone();
    cluster.containerizer.end(&container_id, ContainerTermination { status: Some(256), ..Default::default() });
    cluster.settle().await;
    let exited = cluster.master.messages::<ExitedExecutorMessage>();
    assert_eq!(exited.len(), 1);
    assert_eq!((exited[0].executor_id.value.as_str(), exited[0].status), ("custom", 256));
    let forwarded = cluster.master.messages::<StatusUpdateMessage>();
    assert_eq!(states(&forwarded), [TaskState::TaskRunning, TaskState::TaskFailed]);
    let status = &forwarded[1].update.status;
    assert_eq!(status.reason, Some(Reason::ExecutorTerminated as i32));
    assert_eq!(status.message.as_deref(), Some("Executor terminated"));
}

#[tokio::test]
async fn shutting_a_framework_down_stops_its_executors_after_the_grace_period() {
    let cluster = Cluster::start().await;
    let id = cluster.register().await;
    let scheduler = Fake::spawn(&cluster.lp, "scheduler", Vec::new());
    cluster.run_task(&id, "t1", scheduler.upid());
    cluster.settle().await;
    let (executor, _) = cluster.executor("executor(1)").await;
    cluster.send(cluster.master.upid(), &ShutdownFrameworkMessage { framework_id: FrameworkId { value: "F0".into() } });
    cluster.settle().await;
    assert_eq!(executor.messages::<ShutdownExecutorMessage>().len(), 1);
    assert!(cluster.containerizer.destroyed().is_empty());
    cluster.advance(Duration::from_secs(5)).await;
    assert_eq!(cluster.containerizer.destroyed().len(), 1);
    // A terminating framework's tasks get no updates from the agent.
    assert!(cluster.master.messages::<StatusUpdateMessage>().is_empty());
    assert!(within(cluster.agent.executors()).await.unwrap().is_empty());
}

#[tokio::test]
async fn framework_messages_flow_both_ways() {
    let cluster = Cluster::start().await;
    let id = cluster.register().await;
    let scheduler =
        Fake::spawn(&cluster.lp, "scheduler", vec![libprocess::protobuf::type_name::<ExecutorToFrameworkMessage>()]);
    cluster.run_task(&id, "t1", scheduler.upid());
    cluster.settle().await;
    let (executor, _) = cluster.executor("executor(1)").await;

    let to_executor = FrameworkToExecutorMessage {
        slave_id: id.clone(),
        framework_id: FrameworkId { value: "F0".into() },
        executor_id: ExecutorId { value: "t1".into() },
        data: b"hello".to_vec(),
    };
    cluster.send(cluster.master.upid(), &to_executor);
    let to_framework = ExecutorToFrameworkMessage {
        slave_id: id,
        framework_id: FrameworkId { value: "F0".into() },
        executor_id: ExecutorId { value: "t1".into() },
        data: b"world".to_vec(),
    };
    cluster.lp.post_protobuf(executor.upid(), &cluster.agent_pid(), &to_framework);
    cluster.settle().await;
    assert_eq!(executor.messages::<FrameworkToExecutorMessage>(), [to_executor]);
    // Straight to the scheduler, whose pid came with the task.
    assert_eq!(scheduler.messages::<ExecutorToFrameworkMessage>(), [to_framework]);
    assert!(cluster.master.messages::<ExecutorToFrameworkMessage>().is_empty());
}

#[tokio::test]
async fn reregistration_reports_tasks_and_reconciles_the_unknown_ones() {
    let cluster = Cluster::start().await;
    let id = cluster.register().await;
    let scheduler = Fake::spawn(&cluster.lp, "scheduler", Vec::new());
    cluster.run_task(&id, "t1", scheduler.upid());
    cluster.settle().await;
    let observer = Fake::spawn(&cluster.lp, "slave-observer(1)", Vec::new());
    cluster.send(observer.upid(), &PingSlaveMessage { connected: false });
    cluster.settle().await;
    cluster.advance(Duration::from_secs(2)).await;
    let reregister = cluster.master.messages::<ReregisterSlaveMessage>();
    let message = reregister.first().expect("reregisters");
    assert_eq!(message.frameworks.iter().map(|f| f.id.clone().unwrap().value).collect::<Vec<_>>(), ["F0"]);
    assert_eq!(message.tasks.len(), 1);
    assert_eq!(message.tasks[0].state, TaskState::TaskStaging as i32);
    assert!(message.executor_infos.is_empty(), "command executors are not reported");

    // The master knows a task `t9` the agent does not: it becomes TASK_LOST.
    let reconcile = ReconcileTasksMessage {
        framework_id: FrameworkId { value: "F0".into() },
        statuses: vec![
            TaskStatus {
                task_id: TaskId { value: "t9".into() },
                state: TaskState::TaskRunning as i32,
                ..TaskStatus::default()
            },
            TaskStatus {
                task_id: TaskId { value: "t1".into() },
                state: TaskState::TaskStaging as i32,
                ..TaskStatus::default()
            },
        ],
        framework: Some(framework_info()),
    };
    cluster.send(
        cluster.master.upid(),
        &SlaveReregisteredMessage { slave_id: id, reconciliations: vec![reconcile], connection: None },
    );
    cluster.settle().await;
    let forwarded = cluster.master.messages::<StatusUpdateMessage>();
    assert_eq!(states(&forwarded), [TaskState::TaskLost]);
    assert_eq!(forwarded[0].update.status.task_id.value, "t9");
    assert_eq!(forwarded[0].update.status.reason, Some(Reason::Reconciliation as i32));
}

#[tokio::test]
async fn updates_wait_while_disconnected_and_go_out_on_reregistration() {
    let cluster = Cluster::start().await;
    let id = cluster.register().await;
    let scheduler = Fake::spawn(&cluster.lp, "scheduler", Vec::new());
    cluster.run_task(&id, "t1", scheduler.upid());
    cluster.settle().await;
    let (executor, _) = cluster.executor("executor(1)").await;
    // The master is lost (pings stop) ...
    cluster.advance(Duration::from_secs(76)).await;
    assert_eq!(within(cluster.agent.state()).await.unwrap(), State::Disconnected);
    // ... meanwhile the task runs: the executor is acknowledged, the master hears nothing.
    let running = executor_update(&id, "t1", "t1", TaskState::TaskRunning);
    cluster.lp.post_protobuf(
        executor.upid(),
        &cluster.agent_pid(),
        &StatusUpdateMessage { update: running, pid: Some(executor.upid().to_string()) },
    );
    cluster.settle().await;
    assert_eq!(executor.messages::<StatusUpdateAcknowledgementMessage>().len(), 1);
    assert!(cluster.master.messages::<StatusUpdateMessage>().is_empty());
    cluster.send(
        cluster.master.upid(),
        &SlaveReregisteredMessage { slave_id: id, reconciliations: Vec::new(), connection: None },
    );
    cluster.settle().await;
    assert_eq!(states(&cluster.master.messages::<StatusUpdateMessage>()), [TaskState::TaskRunning]);
}

// ----- HTTP -----

/// A GET over a fresh connection: the status code and the body.
async fn get(address: std::net::SocketAddrV4, path: &str) -> (u16, String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(address).await.unwrap();
    let request = format!("GET {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = Vec::new();
    stream.read_to_end(&mut response).await.unwrap();
    let text = String::from_utf8(response).unwrap();
    let (head, body) = text.split_once("\r\n\r\n").unwrap();
    let status = head.split(' ').nth(1).unwrap().parse().unwrap();
    (status, body.to_string())
}

#[tokio::test]
async fn state_shows_the_agent_its_frameworks_executors_and_tasks() {
    let cluster = Cluster::start().await;
    let id = cluster.register().await;
    let scheduler = Fake::spawn(&cluster.lp, "scheduler", Vec::new());
    cluster.run_task(&id, "t1", scheduler.upid());
    cluster.settle().await;
    let address = cluster.lp.address();
    let prefix = format!("/{}", cluster.agent_pid().id);

    // Queued until the executor registers.
    let (status, body) = within(get(address, &format!("{prefix}/state"))).await;
    assert_eq!(status, 200);
    let state: serde_json::Value = serde_json::from_str(&body).unwrap_or_else(|e| panic!("{e}: {body:.300}"));
    assert_eq!(state["id"], "S0");
    assert_eq!(state["pid"], cluster.agent_pid().to_string());
    assert_eq!(state["hostname"], "agent.example");
    assert_eq!(state["version"], "1.12.0");
    assert_eq!(state["resources"]["cpus"], 2.0);
    assert_eq!(state["resources"]["mem"], 1024.0);
    assert!(state["capabilities"].as_array().unwrap().contains(&serde_json::json!("MULTI_ROLE")));
    let framework = &state["frameworks"][0];
    assert_eq!(framework["id"], "F0");
    assert_eq!(framework["checkpoint"], true);
    let executor = &framework["executors"][0];
    assert_eq!(executor["id"], "t1");
    assert_eq!(executor["source"], "t1");
    assert!(executor["directory"].as_str().unwrap().contains("/slaves/S0/frameworks/F0/executors/t1/runs/"));
    assert_eq!(executor["queued_tasks"][0]["id"], "t1");
    assert_eq!(executor["tasks"], serde_json::json!([]));
    // The executor's overhead and the task's resources.
    assert!((executor["resources"]["cpus"].as_f64().unwrap() - 1.1).abs() < 1e-9);
    assert_eq!(state["unreserved_resources_allocated"]["mem"], 160.0);

    // Registered, the task is launched.
    let _executor = cluster.executor("executor(1)").await;
    let (_, body) = within(get(address, &format!("{prefix}/state"))).await;
    let state: serde_json::Value = serde_json::from_str(&body).unwrap();
    let executor = &state["frameworks"][0]["executors"][0];
    assert_eq!(executor["queued_tasks"], serde_json::json!([]));
    assert_eq!(executor["tasks"][0]["id"], "t1");
    assert_eq!(executor["tasks"][0]["state"], "TASK_STAGING");

    let (status, body) = within(get(address, &format!("{prefix}/health"))).await;
    assert_eq!((status, body.as_str()), (200, ""));
    let (status, body) = within(get(address, &format!("{prefix}/monitor/statistics"))).await;
    assert_eq!(status, 200);
    let statistics: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(statistics[0]["executor_id"], "t1");
    assert_eq!(statistics[0]["framework_id"], "F0");
    assert!(statistics[0]["statistics"]["timestamp"].is_number());
    let (status, body) = within(get(address, &format!("{prefix}/state?jsonp=cb"))).await;
    assert_eq!(status, 200);
    assert!(body.starts_with("cb(") && body.ends_with(')'));
}

// ----- bad input -----

#[tokio::test]
async fn garbage_from_the_master_or_an_executor_is_dropped_and_nothing_is_lost() {
    let cluster = Cluster::start().await;
    let id = cluster.register().await;
    let scheduler = Fake::spawn(&cluster.lp, "scheduler", Vec::new());
    cluster.run_task(&id, "t1", scheduler.upid());
    cluster.settle().await;
    let (executor, _) = cluster.executor("executor(1)").await;
    let send_raw = |from: &UPID, name: &'static str, body: &'static [u8]| {
        cluster.lp.send(libprocess::Message {
            name: name.into(),
            from: from.clone(),
            to: cluster.agent_pid(),
            body: Bytes::from_static(body),
        });
    };
    // Truncated and nonsensical bodies under real names, and an unknown name.
    let name = |n: &'static str| n;
    send_raw(cluster.master.upid(), name(libprocess::protobuf::type_name::<RunTaskMessage>()), b"\x0a\x05abc");
    send_raw(cluster.master.upid(), name(libprocess::protobuf::type_name::<KillTaskMessage>()), b"\xff\xff\xff");
    send_raw(executor.upid(), name(libprocess::protobuf::type_name::<StatusUpdateMessage>()), b"\x0a\x80");
    send_raw(executor.upid(), name(libprocess::protobuf::type_name::<RegisterExecutorMessage>()), b"");
    send_raw(cluster.master.upid(), "mesos.internal.NoSuchMessage", b"hello");
    // An update without a uuid, and one for another agent.
    let mut no_uuid = executor_update(&id, "t1", "t1", TaskState::TaskRunning);
    no_uuid.uuid = None;
    cluster.lp.post_protobuf(
        executor.upid(),
        &cluster.agent_pid(),
        &StatusUpdateMessage { update: no_uuid, pid: None },
    );
    let other_agent = executor_update(&SlaveId { value: "S-other".into() }, "t1", "t1", TaskState::TaskRunning);
    cluster.lp.post_protobuf(
        executor.upid(),
        &cluster.agent_pid(),
        &StatusUpdateMessage { update: other_agent, pid: None },
    );
    cluster.settle().await;
    assert!(cluster.master.messages::<StatusUpdateMessage>().is_empty(), "nothing invalid was forwarded");
    assert_eq!(within(cluster.agent.state()).await.unwrap(), State::Running);

    // The task and its executor are intact: a good update still goes through.
    let running = executor_update(&id, "t1", "t1", TaskState::TaskRunning);
    let message = StatusUpdateMessage { update: running, pid: Some(executor.upid().to_string()) };
    cluster.lp.post_protobuf(executor.upid(), &cluster.agent_pid(), &message);
    cluster.settle().await;
    assert_eq!(states(&cluster.master.messages::<StatusUpdateMessage>()), [TaskState::TaskRunning]);
    assert_eq!(within(cluster.agent.tasks()).await.unwrap().len(), 1);
}

// ----- resource versions -----

#[tokio::test]
async fn the_agent_reports_its_resource_version_and_drops_tasks_that_assume_another() {
    let cluster = Cluster::start().await;
    let id = cluster.register().await;
    let updates = cluster.master.messages::<UpdateSlaveMessage>();
    assert_eq!(updates.len(), 1, "an UpdateSlaveMessage follows the registration");
    let version = updates[0].resource_version_uuid.clone().expect("a resource version");
    let registered = cluster.master.messages::<RegisterSlaveMessage>();
    assert_eq!(registered[0].resource_version_uuid.as_ref(), Some(&version));
    assert_eq!(updates[0].slave_id, id);
    assert_eq!(updates[0].update_oversubscribed_resources, Some(false));

    let scheduler = Fake::spawn(&cluster.lp, "scheduler", Vec::new());
    let stale = mesos::internal::ResourceVersionUuid {
        resource_provider_id: None,
        uuid: mesos::proto::Uuid { value: Uuid::random().as_bytes().to_vec() },
    };
    let task = TaskInfo {
        name: "t1".into(),
        task_id: TaskId { value: "t1".into() },
        slave_id: id.clone(),
        resources: Resources::parse("cpus:1", "*").unwrap().to_vec(),
        command: Some(CommandInfo { value: Some("true".into()), ..CommandInfo::default() }),
        ..TaskInfo::default()
    };
    let run = |task: TaskInfo, versions| RunTaskMessage {
        framework_id: None,
        framework: framework_info(),
        task,
        resource_version_uuids: versions,
        pid: Some(scheduler.upid().to_string()),
        launch_executor: Some(true),
    };
    cluster.send(cluster.master.upid(), &run(task.clone(), vec![stale]));
    cluster.settle().await;
    let forwarded = cluster.master.messages::<StatusUpdateMessage>();
    assert_eq!(states(&forwarded), [TaskState::TaskLost]);
    assert_eq!(forwarded[0].update.status.reason, Some(Reason::InvalidOffers as i32));
    assert!(cluster.containerizer.launched().is_empty());

    // With the current version it launches.
    let current = mesos::internal::ResourceVersionUuid { resource_provider_id: None, uuid: version };
    let mut second = task;
    second.task_id = TaskId { value: "t2".into() };
    cluster.send(cluster.master.upid(), &run(second, vec![current]));
    cluster.settle().await;
    assert_eq!(cluster.containerizer.launched().len(), 1);
}

#[tokio::test]
async fn metrics_count_the_agents_tasks_executors_and_updates() {
    let cluster = Cluster::start().await;
    let id = cluster.register().await;
    let scheduler = Fake::spawn(&cluster.lp, "scheduler", Vec::new());
    cluster.run_task(&id, "t1", scheduler.upid());
    cluster.settle().await;
    let (executor, _) = cluster.executor("executor(1)").await;
    let running = executor_update(&id, "t1", "t1", TaskState::TaskRunning);
    cluster.lp.post_protobuf(
        executor.upid(),
        &cluster.agent_pid(),
        &StatusUpdateMessage { update: running, pid: Some(executor.upid().to_string()) },
    );
    let mut invalid = executor_update(&id, "t1", "t1", TaskState::TaskRunning);
    invalid.uuid = None;
    cluster.lp.post_protobuf(
        executor.upid(),
        &cluster.agent_pid(),
        &StatusUpdateMessage { update: invalid, pid: None },
    );
    cluster.settle().await;

    let (status, body) = within(get(cluster.lp.address(), "/metrics/snapshot")).await;
    assert_eq!(status, 200);
    let metrics: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(metrics["slave/registered"], 1.0);
    assert_eq!(metrics["slave/frameworks_active"], 1.0);
    assert_eq!(metrics["slave/tasks_running"], 1.0);
    assert_eq!(metrics["slave/tasks_staging"], 0.0);
    assert_eq!(metrics["slave/executors_running"], 1.0);
    assert_eq!(metrics["slave/valid_status_updates"], 1.0);
    assert_eq!(metrics["slave/invalid_status_updates"], 1.0);
    assert_eq!(metrics["slave/cpus_total"], 2.0);
    assert_eq!(metrics["slave/mem_total"], 1024.0);
    // The command executor's overhead and the task: cpus 0.1 + 1.
    assert!((metrics["slave/cpus_used"].as_f64().unwrap() - 1.1).abs() < 1e-9);
    assert!((metrics["slave/cpus_percent"].as_f64().unwrap() - 0.55).abs() < 1e-9);
    // As in C++, declared and never incremented.
    assert_eq!(metrics["slave/tasks_finished"], 0.0);
}
