//! The v0 executor driver (`MesosExecutorDriver`, `executor(N)`) against a fake agent process in the same instance, on a paused clock: registration, tasks, kills, status updates and acknowledgements, framework messages, shutdown and the grace period, the agent's loss with and without checkpointing, reconnection, the environment, driver statuses, bad input; upstream `SlaveRecoveryTest.{ReconnectExecutor,RecoveryTimeout}` and `SlaveTest.{DisconnectedExecutorDropsMessages,ExecutorShutdownGracePeriod}` ported by name (executor side).

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use libprocess::{Config, Context, Libprocess, Message, Process, UPID};
use mesos::exec::environment::{
    EnvironmentError, DEFAULT_EXECUTOR_SHUTDOWN_GRACE_PERIOD, MESOS_CHECKPOINT, MESOS_DIRECTORY, MESOS_EXECUTOR_ID,
    MESOS_EXECUTOR_SHUTDOWN_GRACE_PERIOD, MESOS_FRAMEWORK_ID, MESOS_LOCAL, MESOS_RECOVERY_TIMEOUT, MESOS_SLAVE_ID,
    MESOS_SLAVE_PID, RECOVERY_TIMEOUT,
};
use mesos::exec::{Executor, ExecutorDriver, MesosExecutorDriver, Status};
use mesos::internal::{
    ExecutorRegisteredMessage, ExecutorReregisteredMessage, ExecutorToFrameworkMessage, FrameworkToExecutorMessage,
    KillTaskMessage, ReconnectExecutorMessage, RegisterExecutorMessage, ReregisterExecutorMessage, RunTaskMessage,
    ShutdownExecutorMessage, StatusUpdateAcknowledgementMessage, StatusUpdateMessage,
};
use mesos::proto::{
    ExecutorId, ExecutorInfo, FrameworkId, FrameworkInfo, KillPolicy, SlaveId, SlaveInfo, TaskId, TaskInfo, TaskState,
    TaskStatus,
};

const WAIT: Duration = Duration::from_secs(10);
const AGENT_ID: &str = "slave(1)";
const SLAVE_ID: &str = "20240101-000000-0-S0";
const FRAMEWORK_ID: &str = "20240101-000000-0-0000";
const EXECUTOR_ID: &str = "default";

async fn within<F: std::future::Future>(future: F) -> F::Output {
    tokio::time::timeout(WAIT, future).await.expect("timed out")
}

/// An instance on 127.0.0.1 with its clock paused.
async fn instance() -> Libprocess {
    let config = Config { ip: Some(std::net::Ipv4Addr::LOCALHOST), ..Config::default() };
    let lp = Libprocess::initialize(config).await.expect("libprocess starts");
    lp.clock().pause();
    lp
}

// ----- the fake agent -----

type Log<T> = Arc<Mutex<Vec<T>>>;

/// What the fake agent heard from executors, with the senders.
#[derive(Clone, Default)]
struct Heard {
    registers: Log<(UPID, RegisterExecutorMessage)>,
    reregisters: Log<(UPID, ReregisterExecutorMessage)>,
    updates: Log<(UPID, StatusUpdateMessage)>,
    to_framework: Log<(UPID, ExecutorToFrameworkMessage)>,
}

impl Heard {
    fn registers(&self) -> Vec<(UPID, RegisterExecutorMessage)> {
        self.registers.lock().unwrap().clone()
    }

    fn reregisters(&self) -> Vec<(UPID, ReregisterExecutorMessage)> {
        self.reregisters.lock().unwrap().clone()
    }

    fn updates(&self) -> Vec<StatusUpdateMessage> {
        self.updates.lock().unwrap().iter().map(|(_, m)| m.clone()).collect()
    }

    fn to_framework(&self) -> Vec<ExecutorToFrameworkMessage> {
        self.to_framework.lock().unwrap().iter().map(|(_, m)| m.clone()).collect()
    }
}

/// Plays the agent: keeps what executors send it and answers nothing.
struct FakeAgent {
    heard: Heard,
}

impl Process for FakeAgent {
    fn initialize(&mut self, ctx: &mut Context<Self>) {
        ctx.install_protobuf(|this: &mut Self, _, from, m: RegisterExecutorMessage| {
            this.heard.registers.lock().unwrap().push((from.clone(), m))
        });
        ctx.install_protobuf(|this: &mut Self, _, from, m: ReregisterExecutorMessage| {
            this.heard.reregisters.lock().unwrap().push((from.clone(), m))
        });
        ctx.install_protobuf(|this: &mut Self, _, from, m: StatusUpdateMessage| {
            this.heard.updates.lock().unwrap().push((from.clone(), m))
        });
        ctx.install_protobuf(|this: &mut Self, _, from, m: ExecutorToFrameworkMessage| {
            this.heard.to_framework.lock().unwrap().push((from.clone(), m))
        });
    }
}

// ----- the recording executor -----

/// One executor callback, with what it was given. A test log: the size of its variants does
/// not matter.
#[derive(Clone, Debug, PartialEq)]
#[allow(clippy::large_enum_variant)]
enum Call {
    Registered { executor_info: ExecutorInfo, framework_info: FrameworkInfo, slave_info: SlaveInfo },
    Reregistered(SlaveInfo),
    Disconnected,
    LaunchTask(TaskInfo),
    KillTask(TaskId),
    FrameworkMessage(Vec<u8>),
    Shutdown,
    Error(String),
}

/// Runs inside a callback, after it is recorded, with the driver the callback got.
type Hook = Box<dyn FnMut(&dyn ExecutorDriver, &Call) + Send>;

struct Recorder {
    calls: Log<Call>,
    hook: Option<Hook>,
}

impl Recorder {
    fn record(&mut self, driver: &dyn ExecutorDriver, call: Call) {
        self.calls.lock().unwrap().push(call.clone());
        if let Some(hook) = self.hook.as_mut() {
            hook(driver, &call);
        }
    }
}

impl Executor for Recorder {
    fn registered(
        &mut self,
        driver: &dyn ExecutorDriver,
        executor_info: &ExecutorInfo,
        framework_info: &FrameworkInfo,
        slave_info: &SlaveInfo,
    ) {
        let call = Call::Registered {
            executor_info: executor_info.clone(),
            framework_info: framework_info.clone(),
            slave_info: slave_info.clone(),
        };
        self.record(driver, call);
    }

    fn reregistered(&mut self, driver: &dyn ExecutorDriver, slave_info: &SlaveInfo) {
        self.record(driver, Call::Reregistered(slave_info.clone()));
    }

    fn disconnected(&mut self, driver: &dyn ExecutorDriver) {
        self.record(driver, Call::Disconnected);
    }

    fn launch_task(&mut self, driver: &dyn ExecutorDriver, task: &TaskInfo) {
        self.record(driver, Call::LaunchTask(task.clone()));
    }

    fn kill_task(&mut self, driver: &dyn ExecutorDriver, task_id: &TaskId) {
        self.record(driver, Call::KillTask(task_id.clone()));
    }

    fn framework_message(&mut self, driver: &dyn ExecutorDriver, data: &[u8]) {
        self.record(driver, Call::FrameworkMessage(data.to_vec()));
    }

    fn shutdown(&mut self, driver: &dyn ExecutorDriver) {
        self.record(driver, Call::Shutdown);
    }

    fn error(&mut self, driver: &dyn ExecutorDriver, message: &str) {
        self.record(driver, Call::Error(message.to_string()));
    }
}

// ----- fixtures -----

fn slave_id() -> SlaveId {
    SlaveId { value: SLAVE_ID.into() }
}

fn framework_id() -> FrameworkId {
    FrameworkId { value: FRAMEWORK_ID.into() }
}

fn executor_id() -> ExecutorId {
    ExecutorId { value: EXECUTOR_ID.into() }
}

fn slave_info() -> SlaveInfo {
    SlaveInfo { hostname: "agent.example".into(), id: Some(slave_id()), ..Default::default() }
}

fn framework_info() -> FrameworkInfo {
    FrameworkInfo { user: "user".into(), name: "framework".into(), id: Some(framework_id()), ..Default::default() }
}

fn executor_info() -> ExecutorInfo {
    ExecutorInfo {
        executor_id: executor_id(),
        framework_id: Some(framework_id()),
        data: Some(b"from the scheduler".to_vec()),
        ..Default::default()
    }
}

fn task(id: &str) -> TaskInfo {
    TaskInfo {
        name: format!("task {id}"),
        task_id: TaskId { value: id.into() },
        slave_id: slave_id(),
        executor: Some(executor_info()),
        ..Default::default()
    }
}

fn status(task_id: &str, state: TaskState) -> TaskStatus {
    let mut status = TaskStatus { task_id: TaskId { value: task_id.into() }, ..Default::default() };
    status.set_state(state);
    status
}

fn registered() -> ExecutorRegisteredMessage {
    ExecutorRegisteredMessage {
        executor_info: executor_info(),
        framework_id: framework_id(),
        framework_info: framework_info(),
        slave_id: slave_id(),
        slave_info: slave_info(),
    }
}

fn reregistered() -> ExecutorReregisteredMessage {
    ExecutorReregisteredMessage { slave_id: slave_id(), slave_info: slave_info() }
}

fn run_task(id: &str) -> RunTaskMessage {
    RunTaskMessage {
        framework: framework_info(),
        task: task(id),
        pid: Some("scheduler-1@127.0.0.1:1".into()),
        ..Default::default()
    }
}

fn acknowledgement(update: &StatusUpdateMessage) -> StatusUpdateAcknowledgementMessage {
    StatusUpdateAcknowledgementMessage {
        slave_id: slave_id(),
        framework_id: framework_id(),
        task_id: update.update.status.task_id.clone(),
        uuid: update.update.uuid.clone().unwrap(),
    }
}

fn to_executor(data: &[u8]) -> FrameworkToExecutorMessage {
    FrameworkToExecutorMessage {
        slave_id: slave_id(),
        framework_id: framework_id(),
        executor_id: executor_id(),
        data: data.to_vec(),
    }
}

/// The environment `Slave::executorEnvironment` gives, for an agent at `agent`, plus `extra`
/// (an empty value removes a variable).
fn environment(agent: &UPID, extra: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut vars: std::collections::BTreeMap<String, String> = [
        (MESOS_SLAVE_PID, agent.to_string()),
        (MESOS_SLAVE_ID, SLAVE_ID.to_string()),
        (MESOS_FRAMEWORK_ID, FRAMEWORK_ID.to_string()),
        (MESOS_EXECUTOR_ID, EXECUTOR_ID.to_string()),
        (MESOS_DIRECTORY, "/tmp/sandbox".to_string()),
        (MESOS_CHECKPOINT, "0".to_string()),
        (MESOS_EXECUTOR_SHUTDOWN_GRACE_PERIOD, "5secs".to_string()),
        ("MESOS_HTTP_COMMAND_EXECUTOR", "0".to_string()),
        ("MESOS_AGENT_ENDPOINT", agent.address().to_string()),
        ("LIBPROCESS_PORT", "0".to_string()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    for (name, value) in extra {
        if value.is_empty() {
            vars.remove(*name);
        } else {
            vars.insert(name.to_string(), value.to_string());
        }
    }
    vars.into_iter().collect()
}

/// A checkpointing framework's executor, as the agent configures it.
const CHECKPOINT: &[(&str, &str)] =
    &[(MESOS_CHECKPOINT, "1"), (MESOS_RECOVERY_TIMEOUT, "15mins"), ("MESOS_SUBSCRIPTION_BACKOFF_MAX", "2secs")];

struct Setup {
    lp: Libprocess,
    agent: UPID,
    heard: Heard,
    calls: Log<Call>,
    /// How many times `exec-shutdown(N)` would have killed the process group.
    kills: Arc<AtomicUsize>,
    driver: MesosExecutorDriver,
}

async fn setup_with(extra: &[(&str, &str)], hook: Option<Hook>) -> Setup {
    let lp = instance().await;
    let heard = Heard::default();
    let agent = lp.spawn(AGENT_ID, FakeAgent { heard: heard.clone() }).unwrap().upid().clone();
    let calls: Log<Call> = Arc::default();
    let kills = Arc::new(AtomicUsize::new(0));
    let counter = kills.clone();
    let recorder = Recorder { calls: calls.clone(), hook };
    let driver =
        MesosExecutorDriver::new(&lp, recorder, environment(&agent, extra)).with_process_group_kill(move || {
            counter.fetch_add(1, Ordering::SeqCst);
        });
    Setup { lp, agent, heard, calls, kills, driver }
}

async fn setup(extra: &[(&str, &str)]) -> Setup {
    setup_with(extra, None).await
}

impl Setup {
    async fn settle(&self) {
        within(self.lp.settle()).await;
    }

    async fn step(&self, d: Duration) {
        self.lp.clock().advance(d);
        self.settle().await;
    }

    /// Starts the driver and returns the executor's UPID, learned from its registration.
    async fn start(&self) -> UPID {
        assert_eq!(self.driver.start(), Status::DriverRunning);
        self.settle().await;
        let registers = self.heard.registers();
        assert_eq!(registers.len(), 1);
        registers[0].0.clone()
    }

    /// Starts the driver and has the agent accept its registration.
    async fn register(&self) -> UPID {
        let executor = self.start().await;
        self.send_as_agent(&executor, &registered()).await;
        executor
    }

    /// Delivers `message` to the executor as if the agent sent it.
    async fn send_as_agent<M: libprocess::ProtobufMessage>(&self, executor: &UPID, message: &M) {
        self.lp.post_protobuf(&self.agent, executor, message);
        self.settle().await;
    }

    /// Ends the agent process; the executor's link breaks.
    async fn agent_exits(&self) {
        self.lp.terminate(&self.agent, true);
        within(self.lp.wait(&self.agent)).await.unwrap();
        self.settle().await;
    }

    /// Brings the agent back under the same UPID.
    async fn agent_restarts(&self) {
        let pid = self.lp.spawn(AGENT_ID, FakeAgent { heard: self.heard.clone() }).unwrap();
        assert_eq!(pid.upid(), &self.agent);
        self.settle().await;
    }

    fn calls(&self) -> Vec<Call> {
        self.calls.lock().unwrap().clone()
    }

    fn shutdowns(&self) -> usize {
        self.calls().iter().filter(|c| **c == Call::Shutdown).count()
    }

    fn kills(&self) -> usize {
        self.kills.load(Ordering::SeqCst)
    }
}

// ----- registration -----

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn start_registers_once_with_the_agent() {
    let s = setup(&[]).await;
    let executor = s.start().await;
    assert!(executor.id.starts_with("executor(") && executor.id.ends_with(')'), "{executor}");
    assert_eq!(
        s.heard.registers()[0].1,
        RegisterExecutorMessage { framework_id: framework_id(), executor_id: executor_id() }
    );
    // No retry, however long the agent stays silent.
    s.step(Duration::from_secs(3600)).await;
    assert_eq!(s.heard.registers().len(), 1);
    assert!(s.calls().is_empty());
    assert_eq!(s.driver.start(), Status::DriverRunning, "a second start returns the status");
    assert_eq!(s.heard.registers().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn registered_and_reregistered_callbacks_get_the_agent_messages() {
    let s = setup(&[]).await;
    let executor = s.register().await;
    assert_eq!(
        s.calls(),
        vec![Call::Registered {
            executor_info: executor_info(),
            framework_info: framework_info(),
            slave_info: slave_info()
        }]
    );
    s.send_as_agent(&executor, &reregistered()).await;
    assert_eq!(s.calls()[1], Call::Reregistered(slave_info()));
    assert!(!s.calls().contains(&Call::Disconnected), "the C++ driver never calls disconnected");
}

// ----- tasks -----

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn launch_task_on_run_task_message() {
    let s = setup(&[]).await;
    let executor = s.register().await;
    s.send_as_agent(&executor, &run_task("t1")).await;
    s.send_as_agent(&executor, &run_task("t2")).await;
    assert_eq!(&s.calls()[1..], &[Call::LaunchTask(task("t1")), Call::LaunchTask(task("t2"))]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_task_before_registration_is_dropped() {
    let s = setup(&[]).await;
    let executor = s.start().await;
    s.send_as_agent(&executor, &run_task("t1")).await;
    assert!(s.calls().is_empty());
    // Not remembered either: a reconnect reports no task.
    s.send_as_agent(&executor, &ReconnectExecutorMessage { slave_id: slave_id() }).await;
    assert!(s.heard.reregisters()[0].1.tasks.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn duplicate_task_is_dropped() {
    let s = setup(&[]).await;
    let executor = s.register().await;
    s.send_as_agent(&executor, &run_task("t1")).await;
    s.send_as_agent(&executor, &run_task("t1")).await;
    assert_eq!(s.calls().len(), 2, "{:?}", s.calls());
    // The driver lives on.
    s.send_as_agent(&executor, &run_task("t2")).await;
    assert_eq!(s.calls()[2], Call::LaunchTask(task("t2")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_task_reaches_the_executor_even_while_disconnected() {
    let s = setup(&[]).await;
    let executor = s.start().await;
    let kill = KillTaskMessage {
        framework_id: framework_id(),
        task_id: TaskId { value: "t1".into() },
        kill_policy: Some(KillPolicy::default()),
    };
    s.send_as_agent(&executor, &kill).await;
    assert_eq!(s.calls(), vec![Call::KillTask(TaskId { value: "t1".into() })]);
    s.send_as_agent(&executor, &registered()).await;
    s.send_as_agent(&executor, &kill).await;
    assert_eq!(s.calls()[2], Call::KillTask(TaskId { value: "t1".into() }));
}

// ----- status updates -----

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_update_gets_a_fresh_uuid_timestamp_and_the_executor_pid() {
    let s = setup(&[]).await;
    let executor = s.register().await;
    s.step(Duration::from_secs(42)).await;
    let now = s.lp.clock().now().secs();

    assert_eq!(s.driver.send_status_update(status("t1", TaskState::TaskRunning)), Status::DriverRunning);
    assert_eq!(s.driver.send_status_update(status("t1", TaskState::TaskFinished)), Status::DriverRunning);
    s.settle().await;

    let senders: Vec<UPID> = s.heard.updates.lock().unwrap().iter().map(|(from, _)| from.clone()).collect();
    assert_eq!(senders, vec![executor.clone(), executor.clone()]);
    let updates = s.heard.updates();
    assert_eq!(updates.len(), 2);
    let mut uuids = BTreeSet::new();
    for (message, state) in updates.iter().zip([TaskState::TaskRunning, TaskState::TaskFinished]) {
        assert_eq!(message.pid.as_deref(), Some(executor.to_string().as_str()));
        let update = &message.update;
        assert_eq!(update.framework_id, framework_id());
        assert_eq!(update.executor_id, Some(executor_id()));
        assert_eq!(update.slave_id, Some(slave_id()));
        assert_eq!(update.timestamp, now);
        assert_eq!(update.latest_state, None);
        let uuid = update.uuid.clone().expect("a uuid");
        assert_eq!(uuid.len(), 16);
        assert_eq!(uuid[6] >> 4, 4, "a version 4 uuid");
        assert_eq!(update.status.uuid.as_ref(), Some(&uuid), "the status carries the update's uuid");
        assert!(uuids.insert(uuid), "each update gets its own uuid");
        assert_eq!(update.status.state(), state);
        assert_eq!(update.status.task_id.value, "t1");
        assert_eq!(update.status.slave_id, Some(slave_id()));
        assert_eq!(update.status.timestamp, Some(now));
        // The agent sets the source (SOURCE_EXECUTOR); the driver leaves it alone.
        assert_eq!(update.status.source, None);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_update_overwrites_the_executors_uuid_and_agent_id() {
    let s = setup(&[]).await;
    s.register().await;
    let mut given = status("t1", TaskState::TaskRunning);
    given.uuid = Some(vec![7; 16]);
    given.slave_id = Some(SlaveId { value: "someone-else".into() });
    given.message = Some("kept".into());
    s.driver.send_status_update(given);
    s.settle().await;
    let update = &s.heard.updates()[0].update;
    assert_ne!(update.status.uuid, Some(vec![7; 16]));
    assert_eq!(update.status.uuid, update.uuid);
    assert_eq!(update.status.slave_id, Some(slave_id()));
    assert_eq!(update.status.message.as_deref(), Some("kept"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn task_staging_update_is_sent_like_any_other() {
    // The driver's own TASK_STAGING check was removed upstream (the agent now refuses it).
    let s = setup(&[]).await;
    s.register().await;
    assert_eq!(s.driver.send_status_update(status("t1", TaskState::TaskStaging)), Status::DriverRunning);
    s.settle().await;
    assert_eq!(s.heard.updates()[0].update.status.state(), TaskState::TaskStaging);
    assert_eq!(s.driver.status(), Status::DriverRunning);
    assert!(s.calls().iter().all(|c| !matches!(c, Call::Error(_))));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_update_from_launch_task_callback() {
    let hook: Hook = Box::new(|driver, call| {
        if let Call::LaunchTask(task) = call {
            assert_eq!(
                driver.send_status_update(status(&task.task_id.value, TaskState::TaskRunning)),
                Status::DriverRunning
            );
        }
    });
    let s = setup_with(&[], Some(hook)).await;
    let executor = s.register().await;
    s.send_as_agent(&executor, &run_task("t1")).await;
    let updates = s.heard.updates();
    assert_eq!(updates.len(), 1);
    assert_eq!(updates[0].update.status.task_id.value, "t1");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_updates_are_sent_while_disconnected_and_kept() {
    let s = setup(CHECKPOINT).await;
    let executor = s.register().await;
    s.agent_exits().await;
    s.driver.send_status_update(status("t1", TaskState::TaskRunning));
    s.settle().await;
    s.agent_restarts().await;
    s.send_as_agent(&executor, &ReconnectExecutorMessage { slave_id: slave_id() }).await;
    let reregisters = s.heard.reregisters();
    assert_eq!(reregisters[0].1.updates.len(), 1);
    assert_eq!(reregisters[0].1.updates[0].status.state(), TaskState::TaskRunning);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledgement_drops_the_update_and_its_task() {
    let s = setup(CHECKPOINT).await;
    let executor = s.register().await;
    for id in ["t1", "t2", "t3"] {
        s.send_as_agent(&executor, &run_task(id)).await;
    }
    s.driver.send_status_update(status("t1", TaskState::TaskRunning));
    s.driver.send_status_update(status("t2", TaskState::TaskRunning));
    s.driver.send_status_update(status("t1", TaskState::TaskFinished));
    s.settle().await;
    let updates = s.heard.updates();
    s.send_as_agent(&executor, &acknowledgement(&updates[1])).await;

    s.agent_exits().await;
    s.agent_restarts().await;
    s.send_as_agent(&executor, &ReconnectExecutorMessage { slave_id: slave_id() }).await;
    let reregister = s.heard.reregisters()[0].1.clone();
    assert_eq!(reregister.executor_id, executor_id());
    assert_eq!(reregister.framework_id, framework_id());
    let left: Vec<_> = reregister.updates.iter().map(|u| (u.status.task_id.value.clone(), u.status.state())).collect();
    assert_eq!(left, vec![("t1".into(), TaskState::TaskRunning), ("t1".into(), TaskState::TaskFinished)]);
    assert_eq!(reregister.updates[0], updates[0].update);
    let tasks: Vec<_> = reregister.tasks.iter().map(|t| t.task_id.value.clone()).collect();
    assert_eq!(tasks, vec!["t1", "t3"], "the acknowledged task t2 is dropped, the others kept in order");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_malformed_or_disconnected_acknowledgements_are_ignored() {
    let s = setup(CHECKPOINT).await;
    let executor = s.register().await;
    s.send_as_agent(&executor, &run_task("t1")).await;
    s.driver.send_status_update(status("t1", TaskState::TaskRunning));
    s.settle().await;
    let update = s.heard.updates()[0].clone();

    let mut unknown = acknowledgement(&update);
    unknown.uuid = vec![9; 16];
    s.send_as_agent(&executor, &unknown).await;
    let mut malformed = acknowledgement(&update);
    malformed.uuid = vec![1, 2, 3];
    s.send_as_agent(&executor, &malformed).await;
    let mut impostor = acknowledgement(&update);
    impostor.task_id = TaskId { value: "t1".into() };
    s.lp.post_protobuf(&UPID::new("slave(2)", s.agent.address()), &executor, &impostor);
    s.settle().await;

    // Disconnected (link broken, not yet reregistered): the real one is ignored too.
    s.agent_exits().await;
    s.send_as_agent(&executor, &acknowledgement(&update)).await;

    s.agent_restarts().await;
    s.send_as_agent(&executor, &ReconnectExecutorMessage { slave_id: slave_id() }).await;
    let reregister = s.heard.reregisters()[0].1.clone();
    assert_eq!(reregister.updates, vec![update.update]);
    assert_eq!(reregister.tasks.len(), 1);
}

// ----- framework messages -----

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn framework_messages_both_ways() {
    let s = setup(&[]).await;
    let executor = s.start().await;
    // Dropped before registration.
    s.send_as_agent(&executor, &to_executor(b"early")).await;
    assert!(s.calls().is_empty());

    s.send_as_agent(&executor, &registered()).await;
    s.send_as_agent(&executor, &to_executor(b"hello executor")).await;
    assert_eq!(s.calls()[1], Call::FrameworkMessage(b"hello executor".to_vec()));

    assert_eq!(s.driver.send_framework_message(b"hello scheduler"), Status::DriverRunning);
    s.settle().await;
    assert_eq!(
        s.heard.to_framework(),
        vec![ExecutorToFrameworkMessage {
            slave_id: slave_id(),
            framework_id: framework_id(),
            executor_id: executor_id(),
            data: b"hello scheduler".to_vec(),
        }]
    );
    assert_eq!(s.heard.to_framework.lock().unwrap()[0].0, executor);
}

// ----- shutdown -----

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn executor_shutdown_grace_period() {
    // SlaveTest.ExecutorShutdownGracePeriod, executor side: the process group is killed once
    // `MESOS_EXECUTOR_SHUTDOWN_GRACE_PERIOD` has passed since the shutdown.
    let s = setup(&[(MESOS_EXECUTOR_SHUTDOWN_GRACE_PERIOD, "7secs")]).await;
    let executor = s.register().await;
    s.send_as_agent(&executor, &run_task("t1")).await;

    s.send_as_agent(&executor, &ShutdownExecutorMessage::default()).await;
    assert_eq!(s.shutdowns(), 1);
    assert_eq!(s.kills(), 0);

    s.step(Duration::from_secs(7) - Duration::from_millis(1)).await;
    assert_eq!(s.kills(), 0);
    s.step(Duration::from_millis(1)).await;
    assert_eq!(s.kills(), 1);

    // Aborted from the shutdown on: messages are ignored, the status is unchanged.
    s.send_as_agent(&executor, &run_task("t2")).await;
    s.send_as_agent(&executor, &ShutdownExecutorMessage::default()).await;
    assert_eq!(s.calls().len(), 3, "{:?}", s.calls());
    assert_eq!(s.driver.status(), Status::DriverRunning);
    assert!(s.lp.is_running(&executor.id), "a non-local executor's process waits to be killed");
    // Sends still go out.
    s.driver.send_framework_message(b"last words");
    s.settle().await;
    assert_eq!(s.heard.to_framework().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn default_shutdown_grace_period_is_five_seconds() {
    let s = setup(&[(MESOS_EXECUTOR_SHUTDOWN_GRACE_PERIOD, "")]).await;
    let executor = s.register().await;
    s.send_as_agent(&executor, &ShutdownExecutorMessage::default()).await;
    s.step(DEFAULT_EXECUTOR_SHUTDOWN_GRACE_PERIOD - Duration::from_millis(1)).await;
    assert_eq!(s.kills(), 0);
    s.step(Duration::from_millis(1)).await;
    assert_eq!(s.kills(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn local_shutdown_ends_the_process_without_killing() {
    let s = setup(&[(MESOS_LOCAL, "1")]).await;
    let executor = s.register().await;
    s.send_as_agent(&executor, &ShutdownExecutorMessage::default()).await;
    assert_eq!(s.shutdowns(), 1);
    within(s.lp.wait(&executor)).await.unwrap();
    s.step(Duration::from_secs(3600)).await;
    assert_eq!(s.kills(), 0);
    assert_eq!(s.driver.status(), Status::DriverRunning);
    assert_eq!(s.driver.stop(), Status::DriverStopped);
    assert_eq!(s.driver.join(), Status::DriverStopped);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_callback_may_stop_the_driver_and_wake_join() {
    let hook: Hook = Box::new(|driver, call| {
        if *call == Call::Shutdown {
            assert_eq!(driver.stop(), Status::DriverStopped);
        }
    });
    let s = Arc::new(setup_with(&[(MESOS_LOCAL, "1")], Some(hook)).await);
    let executor = s.register().await;
    let joiner = {
        let s = s.clone();
        tokio::spawn(async move { s.driver.join_async().await })
    };
    // Give the joiner time to start waiting (it returns at once if it starts after the stop).
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(!joiner.is_finished());
    s.send_as_agent(&executor, &ShutdownExecutorMessage::default()).await;
    // The local shutdown ended the process before the stop's dispatch ran; join wakes anyway.
    assert_eq!(within(joiner).await.unwrap(), Status::DriverStopped);
}

// ----- losing the agent -----

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn agent_exit_without_checkpointing_shuts_down_at_once() {
    let s = setup(&[]).await;
    s.register().await;
    s.agent_exits().await;
    assert_eq!(s.shutdowns(), 1);
    s.step(Duration::from_secs(5)).await;
    assert_eq!(s.kills(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn checkpointing_executor_not_yet_registered_shuts_down_at_once() {
    let s = setup(CHECKPOINT).await;
    s.start().await;
    s.agent_exits().await;
    assert_eq!(s.shutdowns(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reconnect_executor() {
    // SlaveRecoveryTest.ReconnectExecutor, executor side: updates the agent never took
    // (dropped on their way) come back in the reregistration.
    let s = setup(CHECKPOINT).await;
    let executor = s.register().await;
    s.send_as_agent(&executor, &run_task("t1")).await;
    s.lp.filters().drop_protobufs::<StatusUpdateMessage>(None, Some(&s.agent));
    s.driver.send_status_update(status("t1", TaskState::TaskStarting));
    s.driver.send_status_update(status("t1", TaskState::TaskRunning));
    s.settle().await;
    s.lp.filters().clear();
    assert!(s.heard.updates().is_empty());

    s.agent_exits().await;
    assert_eq!(s.shutdowns(), 0, "a checkpointing executor waits for its agent");
    s.step(RECOVERY_TIMEOUT / 2).await;
    s.agent_restarts().await;
    s.send_as_agent(&executor, &ReconnectExecutorMessage { slave_id: slave_id() }).await;

    let reregisters = s.heard.reregisters();
    assert_eq!(reregisters.len(), 1);
    assert_eq!(reregisters[0].0, executor);
    let reregister = &reregisters[0].1;
    assert_eq!(reregister.updates.len(), 2);
    assert_eq!(reregister.updates[0].status.task_id.value, "t1");
    assert_eq!(reregister.updates[0].status.state(), TaskState::TaskStarting);
    assert_eq!(reregister.tasks, vec![task("t1")]);

    s.send_as_agent(&executor, &reregistered()).await;
    assert_eq!(*s.calls().last().unwrap(), Call::Reregistered(slave_info()));
    // Reconnected: the recovery timeout passes harmlessly.
    s.step(RECOVERY_TIMEOUT).await;
    assert_eq!(s.shutdowns(), 0);
    assert_eq!(s.kills(), 0);
    // Connected again: tasks and acknowledgements are handled.
    s.send_as_agent(&executor, &run_task("t2")).await;
    assert_eq!(*s.calls().last().unwrap(), Call::LaunchTask(task("t2")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reconnect_from_a_new_agent_pid_moves_the_executor_there() {
    let s = setup(CHECKPOINT).await;
    let executor = s.register().await;
    s.agent_exits().await;
    let heard = Heard::default();
    let moved = s.lp.spawn("slave(7)", FakeAgent { heard: heard.clone() }).unwrap().upid().clone();
    s.lp.post_protobuf(&moved, &executor, &ReconnectExecutorMessage { slave_id: slave_id() });
    s.settle().await;
    assert_eq!(heard.reregisters().len(), 1);
    s.lp.post_protobuf(&moved, &executor, &reregistered());
    s.settle().await;
    assert_eq!(*s.calls().last().unwrap(), Call::Reregistered(slave_info()));
    s.driver.send_framework_message(b"to the new agent");
    s.settle().await;
    assert_eq!(heard.to_framework().len(), 1);
    // The old UPID is no longer the agent.
    s.send_as_agent(&executor, &run_task("t1")).await;
    assert!(!s.calls().iter().any(|c| matches!(c, Call::LaunchTask(_))));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recovery_timeout() {
    // SlaveRecoveryTest.RecoveryTimeout (disabled upstream because the agent's exit could not
    // reach the driver there), executor side: no reconnect within `MESOS_RECOVERY_TIMEOUT`
    // means a shutdown exactly then.
    let s = setup(&[(MESOS_CHECKPOINT, "1"), (MESOS_RECOVERY_TIMEOUT, "3mins")]).await;
    s.register().await;
    s.agent_exits().await;
    s.step(Duration::from_secs(180) - Duration::from_millis(1)).await;
    assert_eq!(s.shutdowns(), 0);
    s.step(Duration::from_millis(1)).await;
    assert_eq!(s.shutdowns(), 1);
    s.step(Duration::from_secs(5)).await;
    assert_eq!(s.kills(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn default_recovery_timeout_is_fifteen_minutes() {
    let s = setup(&[(MESOS_CHECKPOINT, "1")]).await;
    s.register().await;
    s.agent_exits().await;
    s.step(RECOVERY_TIMEOUT - Duration::from_millis(1)).await;
    assert_eq!(s.shutdowns(), 0);
    s.step(Duration::from_millis(1)).await;
    assert_eq!(s.shutdowns(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reconnect_without_reregistered_still_times_out() {
    let s = setup(CHECKPOINT).await;
    let executor = s.register().await;
    s.agent_exits().await;
    s.agent_restarts().await;
    s.send_as_agent(&executor, &ReconnectExecutorMessage { slave_id: slave_id() }).await;
    assert_eq!(s.heard.reregisters().len(), 1);
    s.step(RECOVERY_TIMEOUT).await;
    assert_eq!(s.shutdowns(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_old_recovery_timeout_does_not_end_a_later_disconnection() {
    let s = setup(CHECKPOINT).await;
    let executor = s.register().await;
    s.agent_exits().await;
    s.step(Duration::from_secs(600)).await;
    s.agent_restarts().await;
    s.send_as_agent(&executor, &ReconnectExecutorMessage { slave_id: slave_id() }).await;
    s.send_as_agent(&executor, &reregistered()).await;
    // The agent goes again, 10 minutes into the first timeout.
    s.agent_exits().await;
    s.step(Duration::from_secs(300)).await;
    assert_eq!(s.shutdowns(), 0, "the first timeout belongs to the first connection");
    s.step(Duration::from_secs(600)).await;
    assert_eq!(s.shutdowns(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn disconnected_executor_drops_messages() {
    // SlaveTest.DisconnectedExecutorDropsMessages: a checkpointing executor whose agent is
    // gone drops a `RunTaskMessage` (here spoofed from the agent's own UPID).
    let s = setup(CHECKPOINT).await;
    let executor = s.register().await;
    s.send_as_agent(&executor, &run_task("running")).await;
    s.agent_exits().await;
    s.send_as_agent(&executor, &run_task("dropped")).await;
    s.send_as_agent(&executor, &to_executor(b"dropped")).await;
    assert_eq!(s.calls().len(), 2, "{:?}", s.calls());
    assert_eq!(s.shutdowns(), 0);
}

// ----- the environment -----

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_environment_variable_aborts_the_driver() {
    for name in [MESOS_SLAVE_PID, MESOS_SLAVE_ID, MESOS_FRAMEWORK_ID, MESOS_EXECUTOR_ID, MESOS_DIRECTORY] {
        let s = setup(&[(name, "")]).await;
        assert_eq!(s.driver.start(), Status::DriverAborted, "{name}");
        s.settle().await;
        let text = format!("Expecting '{name}' to be set in the environment");
        assert_eq!(text, EnvironmentError::Missing(name).to_string());
        assert_eq!(s.calls(), vec![Call::Error(text)]);
        assert!(s.heard.registers().is_empty());
        assert_eq!(s.driver.start(), Status::DriverAborted);
        assert_eq!(s.driver.send_status_update(status("t1", TaskState::TaskRunning)), Status::DriverAborted);
        assert_eq!(s.driver.join(), Status::DriverAborted);
        assert_eq!(s.driver.stop(), Status::DriverAborted);
        assert_eq!(s.driver.status(), Status::DriverStopped);
        assert_eq!(s.calls().len(), 1);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unparsable_environment_aborts_the_driver() {
    let cases = [
        (MESOS_SLAVE_PID, "not-a-pid", "Cannot parse MESOS_SLAVE_PID 'not-a-pid'".to_string()),
        (
            MESOS_EXECUTOR_SHUTDOWN_GRACE_PERIOD,
            "5 parsecs",
            format!(
                "Failed to parse value '5 parsecs' of 'MESOS_EXECUTOR_SHUTDOWN_GRACE_PERIOD': {}",
                libprocess::duration::parse("5 parsecs").unwrap_err()
            ),
        ),
    ];
    for (name, value, text) in cases {
        let s = setup(&[(name, value)]).await;
        assert_eq!(s.driver.start(), Status::DriverAborted);
        assert_eq!(s.calls(), vec![Call::Error(text)]);
    }
    let s = setup(&[(MESOS_CHECKPOINT, "1"), (MESOS_RECOVERY_TIMEOUT, "soon")]).await;
    assert_eq!(s.driver.start(), Status::DriverAborted);
    assert!(
        matches!(&s.calls()[..], [Call::Error(text)] if text.starts_with("Failed to parse value 'soon' of 'MESOS_RECOVERY_TIMEOUT': ")),
        "{:?}",
        s.calls()
    );
}

// ----- driver statuses -----

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn calls_before_start_return_not_started() {
    let s = setup(&[]).await;
    assert_eq!(s.driver.stop(), Status::DriverNotStarted);
    assert_eq!(s.driver.abort(), Status::DriverNotStarted);
    assert_eq!(s.driver.join(), Status::DriverNotStarted);
    assert_eq!(s.driver.send_status_update(status("t1", TaskState::TaskRunning)), Status::DriverNotStarted);
    assert_eq!(s.driver.send_framework_message(b"x"), Status::DriverNotStarted);
    s.settle().await;
    assert!(s.heard.registers().is_empty());
    // Still startable.
    s.start().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stop_ends_the_process_and_later_calls_return_stopped() {
    let s = setup(&[]).await;
    let executor = s.register().await;
    assert_eq!(s.driver.stop(), Status::DriverStopped);
    within(s.lp.wait(&executor)).await.unwrap();
    assert_eq!(s.driver.status(), Status::DriverStopped);
    assert_eq!(s.driver.start(), Status::DriverStopped);
    assert_eq!(s.driver.stop(), Status::DriverStopped);
    assert_eq!(s.driver.abort(), Status::DriverStopped);
    assert_eq!(s.driver.join(), Status::DriverStopped);
    assert_eq!(s.driver.join_async().await, Status::DriverStopped);
    assert_eq!(s.driver.send_status_update(status("t1", TaskState::TaskRunning)), Status::DriverStopped);
    assert_eq!(s.driver.send_framework_message(b"x"), Status::DriverStopped);
    s.settle().await;
    assert!(s.heard.updates().is_empty() && s.heard.to_framework().is_empty());
    assert_eq!(s.shutdowns(), 0, "stopping is not a shutdown");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn abort_ignores_the_agent_and_stop_then_returns_aborted() {
    let s = setup(&[]).await;
    let executor = s.register().await;
    assert_eq!(s.driver.abort(), Status::DriverAborted);
    assert_eq!(s.driver.abort(), Status::DriverAborted);
    assert_eq!(s.driver.join(), Status::DriverAborted);
    assert_eq!(s.driver.join_async().await, Status::DriverAborted);
    assert_eq!(s.driver.start(), Status::DriverAborted);
    assert_eq!(s.driver.send_framework_message(b"x"), Status::DriverAborted);
    s.send_as_agent(&executor, &run_task("t1")).await;
    s.send_as_agent(&executor, &ShutdownExecutorMessage::default()).await;
    s.agent_exits().await;
    assert_eq!(s.calls().len(), 1, "{:?}", s.calls());
    assert!(s.lp.is_running(&executor.id), "abort leaves the process running");

    assert_eq!(s.driver.stop(), Status::DriverAborted);
    assert_eq!(s.driver.status(), Status::DriverStopped);
    within(s.lp.wait(&executor)).await.unwrap();
    assert_eq!(s.driver.stop(), Status::DriverStopped);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn join_blocks_until_stop_and_run_returns_its_status() {
    let s = Arc::new(setup(&[]).await);
    let runner = {
        let s = s.clone();
        tokio::task::spawn_blocking(move || s.driver.run())
    };
    // `run` started the driver; wait for the registration.
    within(async {
        while s.heard.registers().is_empty() {
            s.lp.settle().await;
            tokio::task::yield_now().await;
        }
    })
    .await;
    assert!(!runner.is_finished());
    let joiner = {
        let s = s.clone();
        async move { s.driver.join_async().await }
    };
    let joiner = tokio::spawn(joiner);
    assert_eq!(s.driver.stop(), Status::DriverStopped);
    assert_eq!(within(runner).await.unwrap(), Status::DriverStopped);
    assert_eq!(within(joiner).await.unwrap(), Status::DriverStopped);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sends_queued_before_abort_still_go_out() {
    let s = setup(&[]).await;
    s.register().await;
    s.driver.send_status_update(status("t1", TaskState::TaskRunning));
    assert_eq!(s.driver.abort(), Status::DriverAborted);
    s.settle().await;
    assert_eq!(s.heard.updates().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropping_the_driver_ends_its_process() {
    let s = setup(&[]).await;
    let executor = s.register().await;
    let Setup { lp, driver, .. } = s;
    drop(driver);
    within(lp.wait(&executor)).await.unwrap();
}

// ----- bad input -----

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn messages_from_other_processes_are_dropped() {
    let s = setup(&[]).await;
    let executor = s.start().await;
    let stranger = UPID::new("scheduler-1", s.agent.address());
    s.lp.post_protobuf(&stranger, &executor, &registered());
    s.lp.post_protobuf(&stranger, &executor, &ShutdownExecutorMessage::default());
    s.settle().await;
    assert!(s.calls().is_empty());
    s.send_as_agent(&executor, &registered()).await;
    s.lp.post_protobuf(&stranger, &executor, &run_task("t1"));
    s.lp.post_protobuf(&stranger, &executor, &to_executor(b"x"));
    s.lp.post_protobuf(
        &stranger,
        &executor,
        &KillTaskMessage { framework_id: framework_id(), task_id: TaskId { value: "t1".into() }, kill_policy: None },
    );
    s.lp.post_protobuf(&stranger, &executor, &reregistered());
    s.lp.post_protobuf(&UPID::empty(), &executor, &ShutdownExecutorMessage::default());
    s.settle().await;
    assert_eq!(s.calls().len(), 1, "{:?}", s.calls());
    assert_eq!(s.shutdowns(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn undecodable_messages_are_dropped() {
    let s = setup(&[]).await;
    let executor = s.start().await;
    for name in [
        "mesos.internal.ExecutorRegisteredMessage",
        "mesos.internal.RunTaskMessage",
        "mesos.internal.StatusUpdateAcknowledgementMessage",
        "mesos.internal.ReconnectExecutorMessage",
    ] {
        s.lp.send(Message {
            name: name.into(),
            from: s.agent.clone(),
            to: executor.clone(),
            body: libprocess::Bytes::from_static(b"\xff\xff\xff"),
        });
        // A well-formed body that lacks required fields.
        s.lp.send(Message { name: name.into(), from: s.agent.clone(), to: executor.clone(), body: Default::default() });
    }
    s.settle().await;
    assert!(s.calls().is_empty());
    assert!(s.heard.reregisters().is_empty());
    assert!(s.lp.is_running(&executor.id));
    s.send_as_agent(&executor, &registered()).await;
    assert_eq!(s.calls().len(), 1);
}
