//! The command executor (`mesos-executor`'s logic) on the real v0 driver against a fake agent, with real task processes: the updates of a command that succeeds, fails or is killed, the wait-status messages, a second task refused, and `TASK_KILLING` for frameworks that can handle it (the flows of `src/tests/command_executor_tests.cpp`).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use libprocess::{Bytes, Config, Context, Libprocess, Process, ProtobufMessage, PID, UPID};
use mesos::exec::{ExecutorDriver, MesosExecutorDriver, Status};
use mesos::internal::{
    ExecutorRegisteredMessage, KillTaskMessage, RegisterExecutorMessage, RunTaskMessage,
    StatusUpdateAcknowledgementMessage, StatusUpdateMessage,
};
use mesos::proto::framework_info::capability::Type as FrameworkCapability;
use mesos::proto::framework_info::Capability;
use mesos::proto::{
    CommandInfo, ExecutorId, ExecutorInfo, FrameworkId, FrameworkInfo, SlaveId, SlaveInfo, TaskId, TaskInfo, TaskState,
};
use slave::launcher::executor::CommandExecutor;

type Heard = Arc<Mutex<Vec<(UPID, String, Bytes)>>>;

struct Agent {
    heard: Heard,
}

impl Process for Agent {
    fn initialize(&mut self, ctx: &mut Context<Self>) {
        for name in [
            libprocess::protobuf::type_name::<RegisterExecutorMessage>(),
            libprocess::protobuf::type_name::<StatusUpdateMessage>(),
        ] {
            ctx.install(name, move |this: &mut Agent, ctx, from: &UPID, body: Bytes| {
                this.heard.lock().unwrap().push((from.clone(), name.to_string(), body.clone()));
                // Acknowledge updates at once, as the agent does once it has them.
                if name == libprocess::protobuf::type_name::<StatusUpdateMessage>() {
                    let message = <StatusUpdateMessage as prost::Message>::decode(body).unwrap();
                    let ack = StatusUpdateAcknowledgementMessage {
                        slave_id: SlaveId { value: "S0".into() },
                        framework_id: message.update.framework_id.clone(),
                        task_id: message.update.status.task_id.clone(),
                        uuid: message.update.uuid.clone().unwrap(),
                    };
                    ctx.send_protobuf(from, &ack);
                }
            });
        }
    }
}

struct Setup {
    lp: Libprocess,
    agent: PID<Agent>,
    heard: Heard,
    driver: Arc<MesosExecutorDriver>,
    _sandbox: tempfile::TempDir,
}

impl Setup {
    async fn start(capabilities: &[FrameworkCapability]) -> Setup {
        let config = Config { ip: Some(std::net::Ipv4Addr::LOCALHOST), ..Config::default() };
        let lp = Libprocess::initialize(config).await.unwrap();
        let heard: Heard = Arc::default();
        let agent = lp.spawn("slave(1)", Agent { heard: heard.clone() }).unwrap();
        let sandbox = tempfile::tempdir().unwrap();
        let environment: BTreeMap<String, String> = [
            ("MESOS_SLAVE_PID", agent.upid().to_string()),
            ("MESOS_SLAVE_ID", "S0".to_string()),
            ("MESOS_FRAMEWORK_ID", "F0".to_string()),
            ("MESOS_EXECUTOR_ID", "t1".to_string()),
            ("MESOS_DIRECTORY", sandbox.path().display().to_string()),
            ("MESOS_CHECKPOINT", "0".to_string()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
        let executor = CommandExecutor::new(tokio::runtime::Handle::current(), Duration::from_secs(5));
        // The group kill after a shutdown would hit the test runner: it is replaced.
        let driver =
            Arc::new(MesosExecutorDriver::new(&lp, executor.clone(), environment).with_process_group_kill(|| {}));
        executor.set_driver(&driver);
        assert_eq!(driver.start(), Status::DriverRunning);
        let setup = Setup { lp, agent, heard, driver, _sandbox: sandbox };
        let executor_pid = setup.wait_for::<RegisterExecutorMessage>(1).await[0].0.clone();
        let framework = FrameworkInfo {
            user: "user".into(),
            name: "framework".into(),
            id: Some(FrameworkId { value: "F0".into() }),
            capabilities: capabilities.iter().map(|c| Capability { r#type: Some(*c as i32) }).collect(),
            ..FrameworkInfo::default()
        };
        let registered = ExecutorRegisteredMessage {
            executor_info: ExecutorInfo { executor_id: ExecutorId { value: "t1".into() }, ..ExecutorInfo::default() },
            framework_id: FrameworkId { value: "F0".into() },
            framework_info: framework,
            slave_id: SlaveId { value: "S0".into() },
            slave_info: SlaveInfo { hostname: "agent".into(), ..SlaveInfo::default() },
        };
        setup.lp.post_protobuf(setup.agent.upid(), &executor_pid, &registered);
        setup
    }

    fn executor_pid(&self) -> UPID {
        self.all::<RegisterExecutorMessage>()[0].0.clone()
    }

    fn all<M: ProtobufMessage>(&self) -> Vec<(UPID, M)> {
        let name = libprocess::protobuf::type_name::<M>();
        self.heard
            .lock()
            .unwrap()
            .iter()
            .filter(|(_, n, _)| n == name)
            .map(|(from, _, body)| (from.clone(), M::decode(body.clone()).unwrap()))
            .collect()
    }

    /// Waits (in real time: real processes run) until `count` messages `M` arrived.
    async fn wait_for<M: ProtobufMessage>(&self, count: usize) -> Vec<(UPID, M)> {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        loop {
            let all = self.all::<M>();
            if all.len() >= count {
                return all;
            }
            assert!(tokio::time::Instant::now() < deadline, "waited too long for {count} messages");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    fn run(&self, task: &str, command: CommandInfo) {
        let task = TaskInfo {
            name: task.into(),
            task_id: TaskId { value: task.into() },
            slave_id: SlaveId { value: "S0".into() },
            command: Some(command),
            ..TaskInfo::default()
        };
        let message = RunTaskMessage {
            framework_id: None,
            framework: FrameworkInfo { user: "user".into(), name: "framework".into(), ..FrameworkInfo::default() },
            task,
            resource_version_uuids: Vec::new(),
            pid: Some(String::new()),
            launch_executor: None,
        };
        self.lp.post_protobuf(self.agent.upid(), &self.executor_pid(), &message);
    }

    async fn updates(&self, count: usize) -> Vec<(TaskState, Option<String>)> {
        self.wait_for::<StatusUpdateMessage>(count)
            .await
            .into_iter()
            .map(|(_, m)| (TaskState::try_from(m.update.status.state).unwrap(), m.update.status.message.clone()))
            .collect()
    }
}

fn shell(command: &str) -> CommandInfo {
    CommandInfo { value: Some(command.into()), shell: Some(true), ..CommandInfo::default() }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_command_that_succeeds_is_starting_running_then_finished_and_the_executor_stops() {
    let setup = Setup::start(&[]).await;
    setup.run("t1", shell("echo hello; exit 0"));
    let updates = setup.updates(3).await;
    assert_eq!(
        updates,
        [
            (TaskState::TaskStarting, None),
            (TaskState::TaskRunning, None),
            (TaskState::TaskFinished, Some("Command exited with status 0".into())),
        ]
    );
    let sent = setup.all::<StatusUpdateMessage>();
    let status = &sent[0].1.update.status;
    assert_eq!(status.source, Some(mesos::proto::task_status::Source::Executor as i32));
    assert_eq!(status.executor_id.as_ref().map(|e| e.value.as_str()), Some("t1"));
    // A second after its terminal update the executor stops its driver.
    let driver = setup.driver.clone();
    let status = tokio::time::timeout(Duration::from_secs(10), tokio::task::spawn_blocking(move || driver.join()))
        .await
        .expect("the driver stops")
        .unwrap();
    assert_eq!(status, Status::DriverStopped);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_command_that_fails_says_its_exit_status() {
    let setup = Setup::start(&[]).await;
    setup.run("t1", shell("exit 3"));
    let updates = setup.updates(3).await;
    assert_eq!(updates[2], (TaskState::TaskFailed, Some("Command exited with status 3".into())));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_executable_with_arguments_runs_without_a_shell() {
    let setup = Setup::start(&[]).await;
    let command = CommandInfo {
        value: Some("/bin/sh".into()),
        shell: Some(false),
        arguments: vec!["sh".into(), "-c".into(), "test \"$0\" = sh && exit 4".into()],
        ..CommandInfo::default()
    };
    setup.run("t1", command);
    let updates = setup.updates(3).await;
    assert_eq!(updates[2], (TaskState::TaskFailed, Some("Command exited with status 4".into())));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_command_is_killed_and_killing_is_sent_to_capable_frameworks() {
    let setup = Setup::start(&[FrameworkCapability::TaskKillingState]).await;
    setup.run("t1", shell("sleep 60"));
    setup.updates(2).await;
    let kill = KillTaskMessage {
        framework_id: FrameworkId { value: "F0".into() },
        task_id: TaskId { value: "t1".into() },
        kill_policy: None,
    };
    setup.lp.post_protobuf(setup.agent.upid(), &setup.executor_pid(), &kill);
    let updates = setup.updates(4).await;
    assert_eq!(updates[2], (TaskState::TaskKilling, None));
    assert_eq!(updates[3], (TaskState::TaskKilled, Some("Command terminated with signal Terminated".into())));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_command_that_ignores_sigterm_is_killed_after_the_grace_period() {
    let setup = Setup::start(&[]).await;
    let command =
        CommandInfo { value: Some("trap '' TERM; sleep 60".into()), shell: Some(true), ..CommandInfo::default() };
    let task = TaskInfo {
        name: "t1".into(),
        task_id: TaskId { value: "t1".into() },
        slave_id: SlaveId { value: "S0".into() },
        command: Some(command),
        kill_policy: Some(mesos::proto::KillPolicy {
            grace_period: Some(mesos::proto::DurationInfo { nanoseconds: 200_000_000 }),
        }),
        ..TaskInfo::default()
    };
    let message = RunTaskMessage {
        framework_id: None,
        framework: FrameworkInfo { user: "user".into(), name: "framework".into(), ..FrameworkInfo::default() },
        task,
        resource_version_uuids: Vec::new(),
        pid: Some(String::new()),
        launch_executor: None,
    };
    setup.lp.post_protobuf(setup.agent.upid(), &setup.executor_pid(), &message);
    setup.updates(2).await;
    // Give the shell time to install its trap.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let kill = KillTaskMessage {
        framework_id: FrameworkId { value: "F0".into() },
        task_id: TaskId { value: "t1".into() },
        kill_policy: None,
    };
    setup.lp.post_protobuf(setup.agent.upid(), &setup.executor_pid(), &kill);
    let updates = setup.updates(3).await;
    // No TASK_KILLING for a framework without the capability.
    assert_eq!(updates[2], (TaskState::TaskKilled, Some("Command terminated with signal Killed".into())));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_task_is_refused() {
    let setup = Setup::start(&[]).await;
    setup.run("t1", shell("sleep 60"));
    setup.updates(2).await;
    setup.run("t2", shell("true"));
    let updates = setup.wait_for::<StatusUpdateMessage>(3).await;
    let status = &updates[2].1.update.status;
    assert_eq!(status.task_id.value, "t2");
    assert_eq!(status.state, TaskState::TaskFailed as i32);
    assert_eq!(status.message.as_deref(), Some("Attempted to run multiple tasks using a \"command\" executor"));
    // Clean up the first task.
    let kill = KillTaskMessage {
        framework_id: FrameworkId { value: "F0".into() },
        task_id: TaskId { value: "t1".into() },
        kill_policy: None,
    };
    setup.lp.post_protobuf(setup.agent.upid(), &setup.executor_pid(), &kill);
    setup.updates(4).await;
}
