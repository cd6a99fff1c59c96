//! The v0 scheduler driver (`MesosSchedulerDriver`, `scheduler-<uuid>`) against a fake master and a fake agent in the same instance, on a paused clock: subscription content and its retry backoff, registration, offers, the calls' content, implicit and explicit acknowledgements, framework messages straight to agents, rescinds, lost agents and executors, errors, stop and abort, master changes, driver statuses, foreign and undecodable messages; upstream `MesosSchedulerDriverTest.{RegistrationWithZeroFailoverTime,DropAckIfStopCalledBeforeAbort,ExplicitAcknowledgements,ExplicitAcknowledgementsMasterGeneratedUpdate,ReregisterAfterSuppress,ExplicitAcknowledgementsUnsetSlaveID,RegisterWithSuppressedRole,SuppressSingleRole,ReviveSingleRole}` ported by name (driver side; `MetricsEndpoint` not yet).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use libprocess::{Config, Context, Libprocess, Process, UPID};
use mesos::detector::{create_master_info, StandaloneMasterDetector};
use mesos::internal::{
    DeactivateFrameworkMessage, ExecutorToFrameworkMessage, ExitedExecutorMessage, FrameworkErrorMessage,
    FrameworkRegisteredMessage, FrameworkReregisteredMessage, FrameworkToExecutorMessage, LostSlaveMessage,
    RescindResourceOfferMessage, ResourceOffersMessage, StatusUpdate, StatusUpdateMessage,
};
use mesos::proto::scheduler::{call, Call, OfferConstraints};
use mesos::proto::{
    framework_info, offer, task_status, ExecutorId, Filters, FrameworkId, FrameworkInfo, MasterInfo, Offer, OfferId,
    SlaveId, TaskId, TaskInfo, TaskState, TaskStatus,
};
use mesos::sched::{MesosSchedulerDriver, Scheduler, SchedulerDriver, Status};

const WAIT: Duration = Duration::from_secs(10);
const FRAMEWORK_ID: &str = "20240101-000000-0-0000";
const SLAVE_ID: &str = "20240101-000000-0-S0";

async fn within<F: std::future::Future>(future: F) -> F::Output {
    tokio::time::timeout(WAIT, future).await.expect("timed out")
}

async fn instance() -> Libprocess {
    let config = Config { ip: Some(std::net::Ipv4Addr::LOCALHOST), ..Config::default() };
    let lp = Libprocess::initialize(config).await.expect("libprocess starts");
    lp.clock().pause();
    lp
}

type Log<T> = Arc<Mutex<Vec<T>>>;

/// Plays the master: keeps every `Call` and `DeactivateFrameworkMessage`, answers nothing.
struct FakeMaster {
    calls: Log<(UPID, Call)>,
    deactivates: Log<DeactivateFrameworkMessage>,
}

impl Process for FakeMaster {
    fn initialize(&mut self, ctx: &mut Context<Self>) {
        ctx.install_protobuf(|this: &mut Self, _, from, m: Call| this.calls.lock().unwrap().push((from.clone(), m)));
        ctx.install_protobuf(|this: &mut Self, _, _, m: DeactivateFrameworkMessage| {
            this.deactivates.lock().unwrap().push(m)
        });
    }
}

/// Plays an agent: keeps framework messages sent straight to it.
struct FakeAgent {
    messages: Log<FrameworkToExecutorMessage>,
}

impl Process for FakeAgent {
    fn initialize(&mut self, ctx: &mut Context<Self>) {
        ctx.install_protobuf(|this: &mut Self, _, _, m: FrameworkToExecutorMessage| {
            this.messages.lock().unwrap().push(m)
        });
    }
}

/// One scheduler callback, with what it was given.
#[derive(Clone, Debug, PartialEq)]
#[allow(clippy::large_enum_variant)]
enum Cb {
    Registered(FrameworkId, MasterInfo),
    Reregistered(MasterInfo),
    Disconnected,
    Offers(Vec<Offer>),
    Rescinded(OfferId),
    Update(TaskStatus),
    Message(ExecutorId, SlaveId, Vec<u8>),
    SlaveLost(SlaveId),
    ExecutorLost(ExecutorId, SlaveId, i32),
    Error(String),
}

type Hook = Box<dyn FnMut(&dyn SchedulerDriver, &Cb) + Send>;

struct Recorder {
    log: Log<Cb>,
    hook: Option<Hook>,
}

impl Recorder {
    fn record(&mut self, driver: &dyn SchedulerDriver, cb: Cb) {
        self.log.lock().unwrap().push(cb.clone());
        if let Some(hook) = self.hook.as_mut() {
            hook(driver, &cb);
        }
    }
}

impl Scheduler for Recorder {
    fn registered(&mut self, driver: &dyn SchedulerDriver, framework_id: &FrameworkId, master_info: &MasterInfo) {
        self.record(driver, Cb::Registered(framework_id.clone(), master_info.clone()));
    }
    fn reregistered(&mut self, driver: &dyn SchedulerDriver, master_info: &MasterInfo) {
        self.record(driver, Cb::Reregistered(master_info.clone()));
    }
    fn disconnected(&mut self, driver: &dyn SchedulerDriver) {
        self.record(driver, Cb::Disconnected);
    }
    fn resource_offers(&mut self, driver: &dyn SchedulerDriver, offers: &[Offer]) {
        self.record(driver, Cb::Offers(offers.to_vec()));
    }
    fn offer_rescinded(&mut self, driver: &dyn SchedulerDriver, offer_id: &OfferId) {
        self.record(driver, Cb::Rescinded(offer_id.clone()));
    }
    fn status_update(&mut self, driver: &dyn SchedulerDriver, status: &TaskStatus) {
        self.record(driver, Cb::Update(status.clone()));
    }
    fn framework_message(&mut self, driver: &dyn SchedulerDriver, e: &ExecutorId, s: &SlaveId, data: &[u8]) {
        self.record(driver, Cb::Message(e.clone(), s.clone(), data.to_vec()));
    }
    fn slave_lost(&mut self, driver: &dyn SchedulerDriver, slave_id: &SlaveId) {
        self.record(driver, Cb::SlaveLost(slave_id.clone()));
    }
    fn executor_lost(&mut self, driver: &dyn SchedulerDriver, e: &ExecutorId, s: &SlaveId, status: i32) {
        self.record(driver, Cb::ExecutorLost(e.clone(), s.clone(), status));
    }
    fn error(&mut self, driver: &dyn SchedulerDriver, message: &str) {
        self.record(driver, Cb::Error(message.to_string()));
    }
}

// ----- fixtures -----

fn framework_id() -> FrameworkId {
    FrameworkId { value: FRAMEWORK_ID.into() }
}

fn slave_id() -> SlaveId {
    SlaveId { value: SLAVE_ID.into() }
}

fn framework_info() -> FrameworkInfo {
    FrameworkInfo {
        user: "user".into(),
        name: "framework".into(),
        hostname: Some("scheduler.example".into()),
        roles: vec!["a".into(), "b".into()],
        ..Default::default()
    }
}

fn offer(id: &str) -> Offer {
    Offer {
        id: OfferId { value: id.into() },
        framework_id: framework_id(),
        slave_id: slave_id(),
        hostname: "agent.example".into(),
        ..Default::default()
    }
}

fn task(id: &str) -> TaskInfo {
    TaskInfo { name: id.into(), task_id: TaskId { value: id.into() }, slave_id: slave_id(), ..Default::default() }
}

fn filters(seconds: f64) -> Filters {
    Filters { refuse_seconds: Some(seconds) }
}

fn update(task_id: &str, uuid: Option<Vec<u8>>, pid: Option<String>) -> StatusUpdateMessage {
    let mut status = TaskStatus {
        task_id: TaskId { value: task_id.into() },
        slave_id: Some(slave_id()),
        uuid: uuid.clone(),
        ..Default::default()
    };
    status.set_state(TaskState::TaskRunning);
    StatusUpdateMessage {
        update: StatusUpdate {
            framework_id: framework_id(),
            slave_id: Some(slave_id()),
            status,
            timestamp: 1.0,
            uuid,
            ..Default::default()
        },
        pid,
    }
}

const UUID: [u8; 16] = [7; 16];

struct Setup {
    lp: Libprocess,
    master: UPID,
    agent: UPID,
    detector: Arc<StandaloneMasterDetector>,
    calls: Log<(UPID, Call)>,
    deactivates: Log<DeactivateFrameworkMessage>,
    agent_messages: Log<FrameworkToExecutorMessage>,
    log: Log<Cb>,
    driver: MesosSchedulerDriver,
}

struct Options {
    framework: FrameworkInfo,
    implicit: bool,
    hook: Option<Hook>,
    /// Use the `host:port` string constructor instead of an injected detector.
    by_string: bool,
    env: Vec<(String, String)>,
}

impl Default for Options {
    fn default() -> Options {
        Options { framework: framework_info(), implicit: true, hook: None, by_string: false, env: Vec::new() }
    }
}

async fn setup_with(options: Options) -> Setup {
    let lp = instance().await;
    let calls: Log<(UPID, Call)> = Arc::default();
    let deactivates: Log<DeactivateFrameworkMessage> = Arc::default();
    let master = lp
        .spawn("master", FakeMaster { calls: calls.clone(), deactivates: deactivates.clone() })
        .unwrap()
        .upid()
        .clone();
    let agent_messages: Log<FrameworkToExecutorMessage> = Arc::default();
    let agent = lp.spawn("slave(1)", FakeAgent { messages: agent_messages.clone() }).unwrap().upid().clone();
    let detector = Arc::new(StandaloneMasterDetector::new(Some(create_master_info(&master))));
    let log: Log<Cb> = Arc::default();
    let recorder = Recorder { log: log.clone(), hook: options.hook };
    let driver = if options.by_string {
        let address = master.address().to_string();
        MesosSchedulerDriver::new(&lp, recorder, options.framework, &address, options.implicit, options.env)
    } else {
        MesosSchedulerDriver::with_detector(
            &lp,
            recorder,
            options.framework,
            detector.clone(),
            options.implicit,
            options.env,
        )
    }
    .with_backoff_random(|| 1.0);
    Setup { lp, master, agent, detector, calls, deactivates, agent_messages, log, driver }
}

async fn setup() -> Setup {
    setup_with(Options::default()).await
}

impl Setup {
    async fn settle(&self) {
        within(self.lp.settle()).await;
    }

    async fn step(&self, d: Duration) {
        self.lp.clock().advance(d);
        self.settle().await;
    }

    fn calls(&self) -> Vec<Call> {
        self.calls.lock().unwrap().iter().map(|(_, c)| c.clone()).collect()
    }

    fn calls_of(&self, t: call::Type) -> Vec<Call> {
        self.calls().into_iter().filter(|c| c.r#type() == t).collect()
    }

    fn log(&self) -> Vec<Cb> {
        self.log.lock().unwrap().clone()
    }

    /// Starts the driver; returns its UPID, learned from the first SUBSCRIBE.
    async fn start(&self) -> UPID {
        assert_eq!(self.driver.start(), Status::DriverRunning);
        self.settle().await;
        let calls = self.calls.lock().unwrap().clone();
        assert!(!calls.is_empty(), "no SUBSCRIBE");
        calls[0].0.clone()
    }

    async fn send_as_master<M: libprocess::ProtobufMessage>(&self, scheduler: &UPID, message: &M) {
        self.lp.post_protobuf(&self.master, scheduler, message);
        self.settle().await;
    }

    /// Starts the driver and has the master accept it.
    async fn register(&self) -> UPID {
        let scheduler = self.start().await;
        let registered =
            FrameworkRegisteredMessage { framework_id: framework_id(), master_info: create_master_info(&self.master) };
        self.send_as_master(&scheduler, &registered).await;
        self.calls.lock().unwrap().clear();
        scheduler
    }

    /// Offers `id` with the agent's UPID.
    async fn offer(&self, scheduler: &UPID, id: &str) {
        let message = ResourceOffersMessage { offers: vec![offer(id)], pids: vec![self.agent.to_string()] };
        self.send_as_master(scheduler, &message).await;
    }
}

// ----- subscription -----

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn subscribe_without_an_id_carries_the_framework_info() {
    let s = setup().await;
    let scheduler = s.start().await;
    assert!(scheduler.id.starts_with("scheduler-"), "{scheduler}");
    assert_eq!(&*scheduler.id, s.driver.process_id());
    let calls = s.calls();
    assert_eq!(calls.len(), 1);
    let call = &calls[0];
    assert_eq!(call.r#type(), call::Type::Subscribe);
    assert_eq!(call.framework_id, None);
    let subscribe = call.subscribe.clone().unwrap();
    assert_eq!(subscribe.framework_info, framework_info());
    assert_eq!(subscribe.force, None);
    assert!(subscribe.suppressed_roles.is_empty());
    assert_eq!(subscribe.offer_constraints, Some(OfferConstraints::default()), "C++ always sets it");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn subscribe_with_an_id_forces_failover_until_registered() {
    let framework = FrameworkInfo { id: Some(framework_id()), ..framework_info() };
    let s = setup_with(Options { framework, ..Options::default() }).await;
    let scheduler = s.start().await;
    let call = s.calls()[0].clone();
    assert_eq!(call.framework_id, Some(framework_id()));
    assert_eq!(call.subscribe.unwrap().force, Some(true));

    // Still forced on a retry.
    s.step(Duration::from_secs(2)).await;
    assert_eq!(s.calls()[1].subscribe.clone().unwrap().force, Some(true));

    let registered =
        FrameworkRegisteredMessage { framework_id: framework_id(), master_info: create_master_info(&s.master) };
    s.send_as_master(&scheduler, &registered).await;
    assert!(matches!(s.log()[0], Cb::Registered(..)));

    // A new master: resubscription without force.
    s.calls.lock().unwrap().clear();
    s.detector.appoint(Some(create_master_info(&s.master)));
    s.settle().await;
    assert_eq!(s.log()[1], Cb::Disconnected);
    let call = s.calls()[0].clone();
    assert_eq!(call.r#type(), call::Type::Subscribe);
    assert_eq!(call.subscribe.unwrap().force, Some(false));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn registration_retries_with_a_doubling_backoff_capped_at_a_minute() {
    let s = setup().await;
    s.start().await;
    // Random part pinned at 1: retries 2, 4, 8, 16, 32, 60, 60 s apart.
    let mut expected = 1;
    for gap in [2u64, 4, 8, 16, 32, 60, 60] {
        s.step(Duration::from_millis(gap * 1000 - 1)).await;
        assert_eq!(s.calls_of(call::Type::Subscribe).len(), expected, "early retry before {gap}s");
        s.step(Duration::from_millis(1)).await;
        expected += 1;
        assert_eq!(s.calls_of(call::Type::Subscribe).len(), expected, "no retry after {gap}s");
    }
    // Registered: no more retries.
    let scheduler = s.calls.lock().unwrap()[0].0.clone();
    let registered =
        FrameworkRegisteredMessage { framework_id: framework_id(), master_info: create_master_info(&s.master) };
    s.send_as_master(&scheduler, &registered).await;
    s.step(Duration::from_secs(600)).await;
    assert_eq!(s.calls_of(call::Type::Subscribe).len(), expected);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn registration_backoff_bounded_by_a_tenth_of_the_failover_timeout() {
    let framework = FrameworkInfo { failover_timeout: Some(50.0), ..framework_info() };
    let env = vec![("MESOS_REGISTRATION_BACKOFF_FACTOR".to_string(), "1secs".to_string())];
    let s = setup_with(Options { framework, env, ..Options::default() }).await;
    s.start().await;
    let mut expected = 1;
    for gap in [1u64, 2, 4, 5, 5] {
        s.step(Duration::from_millis(gap * 1000 - 1)).await;
        assert_eq!(s.calls_of(call::Type::Subscribe).len(), expected);
        s.step(Duration::from_millis(1)).await;
        expected += 1;
        assert_eq!(s.calls_of(call::Type::Subscribe).len(), expected, "after {gap}s");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn master_given_as_host_port() {
    let s = setup_with(Options { by_string: true, ..Options::default() }).await;
    let scheduler = s.start().await;
    assert!(scheduler.id.starts_with("scheduler-"));
    assert_eq!(s.calls_of(call::Type::Subscribe).len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unusable_master_or_flags_abort_start_with_an_error() {
    let lp = instance().await;
    let log: Log<Cb> = Arc::default();
    let driver = MesosSchedulerDriver::new(
        &lp,
        Recorder { log: log.clone(), hook: None },
        framework_info(),
        "local",
        true,
        Vec::new(),
    );
    assert_eq!(driver.start(), Status::DriverAborted);
    assert_eq!(driver.status(), Status::DriverAborted);
    assert!(
        matches!(&log.lock().unwrap()[0], Cb::Error(m) if m.starts_with("Failed to launch a local cluster: no local cluster is linked"))
    );
    assert_eq!(driver.join(), Status::DriverAborted, "nothing to wait for");

    let log: Log<Cb> = Arc::default();
    let env = vec![("MESOS_REGISTRATION_BACKOFF_FACTOR".to_string(), "x".to_string())];
    let driver = MesosSchedulerDriver::new(
        &lp,
        Recorder { log: log.clone(), hook: None },
        framework_info(),
        "127.0.0.1:5050",
        true,
        env,
    );
    assert_eq!(driver.start(), Status::DriverAborted);
    assert!(matches!(&log.lock().unwrap()[0], Cb::Error(m) if m.contains("registration_backoff_factor")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn registered_callback_and_duplicates_ignored() {
    let s = setup().await;
    let scheduler = s.start().await;
    let info = create_master_info(&s.master);
    let registered = FrameworkRegisteredMessage { framework_id: framework_id(), master_info: info.clone() };
    s.send_as_master(&scheduler, &registered).await;
    s.send_as_master(&scheduler, &registered).await;
    assert_eq!(s.log(), vec![Cb::Registered(framework_id(), info)]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reregistered_callback_for_a_known_id() {
    let framework = FrameworkInfo { id: Some(framework_id()), ..framework_info() };
    let s = setup_with(Options { framework, ..Options::default() }).await;
    let scheduler = s.start().await;
    let info = create_master_info(&s.master);
    // Another id: dropped (a C++ CHECK).
    let other =
        FrameworkReregisteredMessage { framework_id: FrameworkId { value: "x".into() }, master_info: info.clone() };
    s.send_as_master(&scheduler, &other).await;
    assert!(s.log().is_empty());
    let message = FrameworkReregisteredMessage { framework_id: framework_id(), master_info: info.clone() };
    s.send_as_master(&scheduler, &message).await;
    assert_eq!(s.log(), vec![Cb::Reregistered(info)]);
}

// ----- offers and the calls -----

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn offers_callback() {
    let s = setup().await;
    let scheduler = s.register().await;
    s.offer(&scheduler, "o1").await;
    assert_eq!(s.log()[1], Cb::Offers(vec![offer("o1")]));
    // An empty offers message calls nothing.
    s.send_as_master(&scheduler, &ResourceOffersMessage::default()).await;
    assert_eq!(s.log().len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn launch_tasks_is_accept_with_launch() {
    let s = setup().await;
    let scheduler = s.register().await;
    s.offer(&scheduler, "o1").await;
    assert_eq!(
        s.driver.launch_tasks(vec![OfferId { value: "o1".into() }], vec![task("t1")], filters(7.0)),
        Status::DriverRunning
    );
    s.settle().await;
    let calls = s.calls();
    assert_eq!(calls.len(), 1);
    assert_eq!(calls[0].framework_id, Some(framework_id()));
    assert_eq!(calls[0].r#type(), call::Type::Accept);
    let accept = calls[0].accept.clone().unwrap();
    assert_eq!(accept.offer_ids, vec![OfferId { value: "o1".into() }]);
    assert_eq!(accept.filters, Some(filters(7.0)));
    assert_eq!(accept.operations.len(), 1);
    assert_eq!(accept.operations[0].r#type(), offer::operation::Type::Launch);
    assert_eq!(accept.operations[0].launch.clone().unwrap().task_infos, vec![task("t1")]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn accept_offers_sends_the_operations() {
    let s = setup().await;
    s.register().await;
    let reserve = offer::Operation { r#type: Some(offer::operation::Type::Reserve as i32), ..Default::default() };
    s.driver.accept_offers(vec![OfferId { value: "unknown".into() }], vec![reserve.clone()], Filters::default());
    s.settle().await;
    let accept = s.calls()[0].accept.clone().unwrap();
    assert_eq!(accept.operations, vec![reserve]);
    assert_eq!(accept.filters, Some(Filters::default()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn accept_with_an_operation_id_aborts_the_driver() {
    let s = setup().await;
    s.register().await;
    let operation = offer::Operation {
        r#type: Some(offer::operation::Type::Reserve as i32),
        id: Some(mesos::proto::OperationId { value: "op".into() }),
        ..Default::default()
    };
    s.driver.accept_offers(vec![OfferId { value: "o".into() }], vec![operation], Filters::default());
    s.settle().await;
    assert!(s.calls_of(call::Type::Accept).is_empty());
    assert_eq!(s.driver.status(), Status::DriverAborted);
    assert!(
        matches!(s.log().last().unwrap(), Cb::Error(m) if m.starts_with("An offer operation's 'id' field was set"))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn decline_offer_with_filters() {
    let s = setup().await;
    let scheduler = s.register().await;
    s.offer(&scheduler, "o1").await;
    s.driver.decline_offer(OfferId { value: "o1".into() }, filters(3600.0));
    s.settle().await;
    let call = s.calls()[0].clone();
    assert_eq!(call.r#type(), call::Type::Decline);
    assert_eq!(call.framework_id, Some(framework_id()));
    let decline = call.decline.unwrap();
    assert_eq!(decline.offer_ids, vec![OfferId { value: "o1".into() }]);
    assert_eq!(decline.filters, Some(filters(3600.0)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_reconcile_request_revive_suppress_calls() {
    let s = setup().await;
    s.register().await;
    s.driver.kill_task(TaskId { value: "t1".into() });
    let mut with_agent =
        TaskStatus { task_id: TaskId { value: "t2".into() }, slave_id: Some(slave_id()), ..Default::default() };
    with_agent.set_state(TaskState::TaskRunning);
    s.driver
        .reconcile_tasks(vec![with_agent, TaskStatus { task_id: TaskId { value: "t3".into() }, ..Default::default() }]);
    s.driver.reconcile_tasks(Vec::new());
    s.driver.request_resources(vec![mesos::proto::Request { slave_id: Some(slave_id()), ..Default::default() }]);
    s.driver.revive_offers();
    s.driver.revive_offers_for_roles(vec!["a".into()]);
    assert_eq!(s.driver.revive_offers_for_roles(Vec::new()), Status::DriverRunning);
    s.driver.suppress_offers();
    s.driver.suppress_offers_for_roles(vec!["b".into()]);
    assert_eq!(s.driver.suppress_offers_for_roles(Vec::new()), Status::DriverRunning);
    s.settle().await;

    let calls = s.calls();
    let types: Vec<_> = calls.iter().map(|c| c.r#type()).collect();
    use call::Type::*;
    assert_eq!(types, vec![Kill, Reconcile, Reconcile, Request, Revive, Revive, Suppress, Suppress]);
    assert!(calls.iter().all(|c| c.framework_id == Some(framework_id())));
    assert_eq!(
        calls[0].kill.clone().unwrap(),
        call::Kill { task_id: TaskId { value: "t1".into() }, ..Default::default() }
    );
    assert_eq!(
        calls[1].reconcile.clone().unwrap().tasks,
        vec![
            call::reconcile::Task { task_id: TaskId { value: "t2".into() }, slave_id: Some(slave_id()) },
            call::reconcile::Task { task_id: TaskId { value: "t3".into() }, slave_id: None },
        ]
    );
    assert_eq!(calls[2].reconcile.clone().unwrap().tasks, vec![], "implicit reconciliation");
    assert_eq!(calls[3].request.clone().unwrap().requests.len(), 1);
    assert_eq!(calls[4].revive, None, "all roles: no `revive`");
    assert_eq!(calls[5].revive.clone().unwrap().roles, vec!["a".to_string()]);
    assert_eq!(calls[6].suppress, None);
    assert_eq!(calls[7].suppress.clone().unwrap().roles, vec!["b".to_string()]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn calls_before_registration_send_nothing() {
    let s = setup().await;
    s.start().await;
    s.calls.lock().unwrap().clear();
    s.driver.kill_task(TaskId { value: "t1".into() });
    s.driver.reconcile_tasks(Vec::new());
    s.driver.decline_offer(OfferId { value: "o".into() }, Filters::default());
    s.driver.send_framework_message(ExecutorId { value: "e".into() }, slave_id(), b"hi".to_vec());
    s.driver.request_resources(Vec::new());
    assert_eq!(s.driver.revive_offers(), Status::DriverRunning);
    s.settle().await;
    assert!(s.calls().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn launch_while_disconnected_reports_tasks_lost() {
    let s = setup().await;
    s.start().await;
    s.calls.lock().unwrap().clear();
    s.driver.launch_tasks(vec![OfferId { value: "o".into() }], vec![task("t1")], Filters::default());
    s.settle().await;
    assert!(s.calls().is_empty());
    let Cb::Update(status) = s.log()[0].clone() else { panic!("{:?}", s.log()) };
    assert_eq!(status.task_id.value, "t1");
    assert_eq!(status.state(), TaskState::TaskLost);
    assert_eq!(status.source(), task_status::Source::Master);
    assert_eq!(status.reason(), task_status::Reason::MasterDisconnected);
    assert_eq!(status.message.as_deref(), Some("Master disconnected"));
    assert_eq!(status.uuid, None);

    // Partition-aware frameworks get TASK_DROPPED.
    let mut framework = framework_info();
    let mut capability = framework_info::Capability::default();
    capability.set_type(framework_info::capability::Type::PartitionAware);
    framework.capabilities.push(capability);
    let s = setup_with(Options { framework, ..Options::default() }).await;
    s.start().await;
    s.driver.launch_tasks(vec![OfferId { value: "o".into() }], vec![task("t1")], Filters::default());
    s.settle().await;
    let Cb::Update(status) = s.log()[0].clone() else { panic!() };
    assert_eq!(status.state(), TaskState::TaskDropped);
}

// ----- status updates -----

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn implicit_acknowledgement_of_an_agent_update() {
    let s = setup().await;
    let scheduler = s.register().await;
    s.send_as_master(&scheduler, &update("t1", Some(UUID.to_vec()), Some(s.agent.to_string()))).await;
    let Cb::Update(status) = s.log()[1].clone() else { panic!() };
    assert_eq!(status.uuid, Some(UUID.to_vec()));
    let calls = s.calls();
    assert_eq!(calls.len(), 1);
    assert_eq!(calls[0].r#type(), call::Type::Acknowledge);
    assert_eq!(calls[0].framework_id, Some(framework_id()));
    assert_eq!(
        calls[0].acknowledge.clone().unwrap(),
        call::Acknowledge { slave_id: slave_id(), task_id: TaskId { value: "t1".into() }, uuid: UUID.to_vec() }
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn master_generated_updates_are_not_acknowledged() {
    let s = setup().await;
    let scheduler = s.register().await;
    // No uuid, no agent pid (C++ `UPID()` printed).
    s.send_as_master(&scheduler, &update("t1", None, Some("@0.0.0.0:0".into()))).await;
    s.send_as_master(&scheduler, &update("t2", None, None)).await;
    assert_eq!(s.log().len(), 3);
    assert!(s.calls().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn update_with_uuid_but_no_agent_pid_is_passed_without_uuid() {
    // C++: the uuid is cleared for the callback, but the update is still acknowledged.
    let s = setup().await;
    let scheduler = s.register().await;
    s.send_as_master(&scheduler, &update("t1", Some(UUID.to_vec()), None)).await;
    let Cb::Update(status) = s.log()[1].clone() else { panic!() };
    assert_eq!(status.uuid, None);
    assert_eq!(s.calls_of(call::Type::Acknowledge).len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn explicit_acknowledgements() {
    let s = setup_with(Options { implicit: false, ..Options::default() }).await;
    let scheduler = s.register().await;
    s.send_as_master(&scheduler, &update("t1", Some(UUID.to_vec()), Some(s.agent.to_string()))).await;
    assert!(s.calls().is_empty(), "no implicit ack");
    let Cb::Update(status) = s.log()[1].clone() else { panic!() };
    assert_eq!(s.driver.acknowledge_status_update(status.clone()), Status::DriverRunning);
    // No uuid: nothing to acknowledge.
    s.driver.acknowledge_status_update(TaskStatus { uuid: None, ..status });
    s.settle().await;
    let calls = s.calls();
    assert_eq!(calls.len(), 1);
    assert_eq!(
        calls[0].acknowledge.clone().unwrap(),
        call::Acknowledge { slave_id: slave_id(), task_id: TaskId { value: "t1".into() }, uuid: UUID.to_vec() }
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn explicit_acknowledgement_with_implicit_mode_aborts() {
    let s = setup().await;
    s.register().await;
    s.driver.acknowledge_status_update(TaskStatus::default());
    s.settle().await;
    assert_eq!(s.driver.status(), Status::DriverAborted);
    assert!(
        matches!(s.log().last().unwrap(), Cb::Error(m) if m == "Cannot call acknowledgeStatusUpdate: Implicit acknowledgements are enabled")
    );
    assert!(s.calls_of(call::Type::Acknowledge).is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn drop_ack_if_stop_called_before_abort() {
    let hook: Hook = Box::new(|driver, cb| {
        if matches!(cb, Cb::Update(_)) {
            driver.stop(true);
        }
    });
    let s = setup_with(Options { hook: Some(hook), ..Options::default() }).await;
    let scheduler = s.register().await;
    s.send_as_master(&scheduler, &update("t1", Some(UUID.to_vec()), Some(s.agent.to_string()))).await;
    assert!(s.calls().is_empty());
    assert_eq!(s.driver.status(), Status::DriverStopped);
}

// ----- framework messages, rescinds, losses, errors -----

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn framework_message_goes_straight_to_the_agent_of_a_launch() {
    let s = setup().await;
    let scheduler = s.register().await;
    let executor = ExecutorId { value: "e".into() };
    // Before any launch: through the master.
    s.driver.send_framework_message(executor.clone(), slave_id(), b"one".to_vec());
    s.settle().await;
    let calls = s.calls();
    assert_eq!(calls[0].r#type(), call::Type::Message);
    assert_eq!(
        calls[0].message.clone().unwrap(),
        call::Message { slave_id: slave_id(), executor_id: executor.clone(), data: b"one".to_vec() }
    );

    s.offer(&scheduler, "o1").await;
    s.driver.launch_tasks(vec![OfferId { value: "o1".into() }], vec![task("t1")], Filters::default());
    s.driver.send_framework_message(executor.clone(), slave_id(), b"two".to_vec());
    s.settle().await;
    assert_eq!(s.calls_of(call::Type::Message).len(), 1);
    assert_eq!(
        s.agent_messages.lock().unwrap().clone(),
        vec![FrameworkToExecutorMessage {
            slave_id: slave_id(),
            framework_id: framework_id(),
            executor_id: executor.clone(),
            data: b"two".to_vec()
        }]
    );

    // The agent lost: back through the master.
    s.send_as_master(&scheduler, &LostSlaveMessage { slave_id: slave_id() }).await;
    assert_eq!(s.log().last().unwrap(), &Cb::SlaveLost(slave_id()));
    s.driver.send_framework_message(executor, slave_id(), b"three".to_vec());
    s.settle().await;
    assert_eq!(s.calls_of(call::Type::Message).len(), 2);
    assert_eq!(s.agent_messages.lock().unwrap().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn executor_messages_are_taken_from_agents() {
    let s = setup().await;
    let scheduler = s.register().await;
    let message = ExecutorToFrameworkMessage {
        slave_id: slave_id(),
        framework_id: framework_id(),
        executor_id: ExecutorId { value: "e".into() },
        data: b"hello".to_vec(),
    };
    s.lp.post_protobuf(&s.agent, &scheduler, &message);
    s.settle().await;
    assert_eq!(s.log()[1], Cb::Message(ExecutorId { value: "e".into() }, slave_id(), b"hello".to_vec()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rescind_lost_slave_and_exited_executor_callbacks() {
    let s = setup().await;
    let scheduler = s.register().await;
    s.offer(&scheduler, "o1").await;
    s.send_as_master(&scheduler, &RescindResourceOfferMessage { offer_id: OfferId { value: "o1".into() } }).await;
    s.send_as_master(&scheduler, &LostSlaveMessage { slave_id: slave_id() }).await;
    let exited = ExitedExecutorMessage {
        slave_id: slave_id(),
        framework_id: framework_id(),
        executor_id: ExecutorId { value: "e".into() },
        status: 256,
    };
    s.send_as_master(&scheduler, &exited).await;
    assert_eq!(
        s.log()[2..],
        [
            Cb::Rescinded(OfferId { value: "o1".into() }),
            Cb::SlaveLost(slave_id()),
            Cb::ExecutorLost(ExecutorId { value: "e".into() }, slave_id(), 256),
        ]
    );
    // A rescinded offer is unknown: a launch on it does not learn the agent's UPID.
    s.driver.launch_tasks(vec![OfferId { value: "o1".into() }], vec![task("t1")], Filters::default());
    s.driver.send_framework_message(ExecutorId { value: "e".into() }, slave_id(), b"x".to_vec());
    s.settle().await;
    assert_eq!(s.calls_of(call::Type::Message).len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn framework_error_aborts_then_calls_error() {
    let s = setup().await;
    let scheduler = s.register().await;
    s.send_as_master(&scheduler, &FrameworkErrorMessage { message: "Framework failed over".into() }).await;
    assert_eq!(s.log().last().unwrap(), &Cb::Error("Framework failed over".into()));
    assert_eq!(s.driver.status(), Status::DriverAborted);
    assert_eq!(
        s.deactivates.lock().unwrap().clone(),
        vec![DeactivateFrameworkMessage { framework_id: framework_id() }]
    );
    assert_eq!(s.driver.join(), Status::DriverAborted);
    // Aborted: every later event is ignored and calls return the status.
    s.offer(&scheduler, "o1").await;
    assert_eq!(s.log().len(), 2);
    assert_eq!(s.driver.kill_task(TaskId { value: "t".into() }), Status::DriverAborted);
    assert_eq!(s.driver.stop(false), Status::DriverAborted);
    assert_eq!(s.driver.status(), Status::DriverStopped);
}

// ----- stop, abort, statuses -----

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stop_without_failover_sends_teardown() {
    let s = setup().await;
    let scheduler = s.register().await;
    assert_eq!(s.driver.stop(false), Status::DriverStopped);
    assert_eq!(s.driver.join(), Status::DriverStopped);
    s.settle().await;
    let calls = s.calls();
    assert_eq!(calls.len(), 1);
    assert_eq!(calls[0].r#type(), call::Type::Teardown);
    assert_eq!(calls[0].framework_id, Some(framework_id()));
    assert!(!s.lp.is_running(&scheduler.id));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stop_with_failover_sends_nothing() {
    let s = setup().await;
    let scheduler = s.register().await;
    assert_eq!(s.driver.stop(true), Status::DriverStopped);
    assert_eq!(s.driver.join_async().await, Status::DriverStopped);
    s.settle().await;
    assert!(s.calls().is_empty());
    assert!(s.deactivates.lock().unwrap().is_empty());
    assert!(!s.lp.is_running(&scheduler.id));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stop_before_registration_sends_nothing_and_ends_retries() {
    let s = setup().await;
    s.start().await;
    s.calls.lock().unwrap().clear();
    s.driver.stop(false);
    s.step(Duration::from_secs(120)).await;
    assert!(s.calls().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn abort_deactivates_and_keeps_the_process() {
    let s = setup().await;
    let scheduler = s.register().await;
    assert_eq!(s.driver.abort(), Status::DriverAborted);
    assert_eq!(s.driver.join(), Status::DriverAborted);
    s.settle().await;
    assert_eq!(
        s.deactivates.lock().unwrap().clone(),
        vec![DeactivateFrameworkMessage { framework_id: framework_id() }]
    );
    assert!(s.lp.is_running(&scheduler.id));
    assert_eq!(s.driver.abort(), Status::DriverAborted);
    assert_eq!(s.driver.stop(false), Status::DriverAborted);
    s.settle().await;
    // As in C++: abort leaves the driver connected, so a later `stop(false)` tears down.
    assert_eq!(s.calls_of(call::Type::Teardown).len(), 1);
    assert!(!s.lp.is_running(&scheduler.id));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn statuses_in_each_state() {
    let s = setup().await;
    let d = &s.driver;
    assert_eq!(d.status(), Status::DriverNotStarted);
    assert_eq!(d.kill_task(TaskId::default()), Status::DriverNotStarted);
    assert_eq!(d.stop(false), Status::DriverNotStarted);
    assert_eq!(d.abort(), Status::DriverNotStarted);
    assert_eq!(d.join(), Status::DriverNotStarted);
    assert_eq!(d.start(), Status::DriverRunning);
    assert_eq!(d.start(), Status::DriverRunning);
    assert_eq!(d.decline_offer(OfferId::default(), Filters::default()), Status::DriverRunning);
    assert_eq!(d.stop(true), Status::DriverStopped);
    assert_eq!(d.stop(true), Status::DriverStopped);
    assert_eq!(d.abort(), Status::DriverStopped);
    assert_eq!(d.start(), Status::DriverStopped);
    assert_eq!(d.join(), Status::DriverStopped);
    assert_eq!(d.revive_offers(), Status::DriverStopped);
    assert_eq!(d.update_framework(framework_info(), Vec::new(), OfferConstraints::default()), Status::DriverStopped);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_returns_when_a_callback_stops_the_driver() {
    let hook: Hook = Box::new(|driver, cb| {
        if matches!(cb, Cb::Registered(..)) {
            driver.stop(false);
        }
    });
    let s = Arc::new(setup_with(Options { hook: Some(hook), ..Options::default() }).await);
    let runner = {
        let s = s.clone();
        tokio::task::spawn_blocking(move || s.driver.run())
    };
    // Wait for the SUBSCRIBE, then register the driver.
    for _ in 0..100 {
        s.settle().await;
        if !s.calls().is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let scheduler = s.calls.lock().unwrap()[0].0.clone();
    let registered =
        FrameworkRegisteredMessage { framework_id: framework_id(), master_info: create_master_info(&s.master) };
    s.send_as_master(&scheduler, &registered).await;
    assert_eq!(within(runner).await.unwrap(), Status::DriverStopped);
    assert_eq!(s.calls_of(call::Type::Teardown).len(), 1);
}

// ----- update framework -----

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn suppress_while_disconnected_is_sent_as_update_framework_on_registration() {
    let s = setup().await;
    let scheduler = s.start().await;
    s.driver.suppress_offers_for_roles(vec!["a".into()]);
    s.settle().await;
    assert!(s.calls_of(call::Type::Suppress).is_empty());
    // A retry carries the new suppressed roles.
    s.step(Duration::from_secs(2)).await;
    assert_eq!(s.calls_of(call::Type::Subscribe)[1].subscribe.clone().unwrap().suppressed_roles, vec!["a".to_string()]);
    let registered =
        FrameworkRegisteredMessage { framework_id: framework_id(), master_info: create_master_info(&s.master) };
    s.send_as_master(&scheduler, &registered).await;
    let updates = s.calls_of(call::Type::UpdateFramework);
    assert_eq!(updates.len(), 1);
    let update = updates[0].update_framework.clone().unwrap();
    assert_eq!(update.suppressed_roles, vec!["a".to_string()]);
    assert_eq!(update.framework_info.id, Some(framework_id()));
    assert_eq!(updates[0].framework_id, Some(framework_id()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn update_framework_rules() {
    // Before registration: an error.
    let s = setup().await;
    s.start().await;
    s.driver.update_framework(framework_info(), Vec::new(), OfferConstraints::default());
    s.settle().await;
    assert_eq!(
        s.log().last().unwrap(),
        &Cb::Error(
            "MesosSchedulerDriver::updateFramework() must not be called prior to registration with the master".into()
        )
    );
    assert_eq!(s.driver.status(), Status::DriverAborted);

    // Registered: sent at once with the new info and roles.
    let s = setup().await;
    s.register().await;
    let mut info = framework_info();
    info.id = Some(framework_id());
    info.name = "renamed".into();
    s.driver.update_framework(info.clone(), vec!["b".into()], OfferConstraints::default());
    s.settle().await;
    let update = s.calls_of(call::Type::UpdateFramework)[0].update_framework.clone().unwrap();
    assert_eq!(update.framework_info, info);
    assert_eq!(update.suppressed_roles, vec!["b".to_string()]);
    assert_eq!(update.offer_constraints, Some(OfferConstraints::default()));

    // Duplicate roles (a C++ CHECK): aborted.
    s.driver.update_framework(info, vec!["b".into(), "b".into()], OfferConstraints::default());
    s.settle().await;
    assert_eq!(s.driver.status(), Status::DriverAborted);
    assert!(matches!(s.log().last().unwrap(), Cb::Error(m) if m.starts_with("Invalid suppressed role list")));
}

// ----- master changes and bad input -----

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn new_master_disconnects_and_resubscribes_there() {
    let s = setup().await;
    let scheduler = s.register().await;
    let calls: Log<(UPID, Call)> = Arc::default();
    let deactivates: Log<DeactivateFrameworkMessage> = Arc::default();
    let second = s.lp.spawn("master2", FakeMaster { calls: calls.clone(), deactivates }).unwrap().upid().clone();
    s.detector.appoint(Some(create_master_info(&second)));
    s.settle().await;
    assert_eq!(s.log().last().unwrap(), &Cb::Disconnected);
    let subscribes = calls.lock().unwrap().clone();
    assert_eq!(subscribes.len(), 1);
    assert_eq!(subscribes[0].1.framework_id, Some(framework_id()), "the id learned at registration");
    assert_eq!(subscribes[0].1.subscribe.clone().unwrap().force, Some(false));

    // The old master is no longer listened to.
    s.offer(&scheduler, "o1").await;
    let registered =
        FrameworkReregisteredMessage { framework_id: framework_id(), master_info: create_master_info(&s.master) };
    s.send_as_master(&scheduler, &registered).await;
    assert_eq!(s.log().len(), 2);
    // The new one is.
    let info = create_master_info(&second);
    s.lp.post_protobuf(
        &second,
        &scheduler,
        &FrameworkReregisteredMessage { framework_id: framework_id(), master_info: info.clone() },
    );
    s.settle().await;
    assert_eq!(s.log().last().unwrap(), &Cb::Reregistered(info));

    // No master: disconnected, nothing sent.
    s.detector.appoint(None);
    s.settle().await;
    assert_eq!(s.log().last().unwrap(), &Cb::Disconnected);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn messages_from_other_pids_are_ignored() {
    let s = setup().await;
    let scheduler = s.start().await;
    let stranger = s.agent.clone();
    let info = create_master_info(&s.master);
    s.lp.post_protobuf(
        &stranger,
        &scheduler,
        &FrameworkRegisteredMessage { framework_id: framework_id(), master_info: info },
    );
    s.settle().await;
    assert!(s.log().is_empty());
    let scheduler = {
        let registered =
            FrameworkRegisteredMessage { framework_id: framework_id(), master_info: create_master_info(&s.master) };
        s.send_as_master(&scheduler, &registered).await;
        scheduler
    };
    s.lp.post_protobuf(
        &stranger,
        &scheduler,
        &ResourceOffersMessage { offers: vec![offer("o")], pids: vec![s.agent.to_string()] },
    );
    s.lp.post_protobuf(&stranger, &scheduler, &RescindResourceOfferMessage { offer_id: OfferId { value: "o".into() } });
    s.lp.post_protobuf(&stranger, &scheduler, &update("t", Some(UUID.to_vec()), Some(s.agent.to_string())));
    s.lp.post_protobuf(&stranger, &scheduler, &LostSlaveMessage { slave_id: slave_id() });
    s.lp.post_protobuf(
        &stranger,
        &scheduler,
        &ExitedExecutorMessage {
            slave_id: slave_id(),
            framework_id: framework_id(),
            executor_id: ExecutorId::default(),
            status: 0,
        },
    );
    s.settle().await;
    assert_eq!(s.log().len(), 1, "{:?}", s.log());
    assert!(s.calls.lock().unwrap().len() == 1, "no acknowledgement");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn undecodable_and_mismatched_messages_are_dropped() {
    let s = setup().await;
    let scheduler = s.register().await;
    for name in [
        "mesos.internal.ResourceOffersMessage",
        "mesos.internal.StatusUpdateMessage",
        "mesos.internal.FrameworkErrorMessage",
        "mesos.internal.FrameworkRegisteredMessage",
    ] {
        s.lp.send(libprocess::Message {
            name: name.into(),
            from: s.master.clone(),
            to: scheduler.clone(),
            body: bytes::Bytes::from_static(b"\xff\xff\xff garbage"),
        });
    }
    // Offers and pids of different counts (a C++ CHECK).
    s.send_as_master(&scheduler, &ResourceOffersMessage { offers: vec![offer("o")], pids: vec![] }).await;
    // An update for another framework (a C++ CHECK).
    let mut other = update("t", Some(UUID.to_vec()), Some(s.agent.to_string()));
    other.update.framework_id = FrameworkId { value: "other".into() };
    s.send_as_master(&scheduler, &other).await;
    s.settle().await;
    assert_eq!(s.log().len(), 1);
    assert!(s.calls().is_empty());
    assert_eq!(s.driver.status(), Status::DriverRunning);
    assert!(s.lp.is_running(&scheduler.id));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropping_the_driver_ends_its_process() {
    let s = setup().await;
    let scheduler = s.register().await;
    let Setup { lp, driver, .. } = s;
    drop(driver);
    within(lp.wait(&scheduler)).await.unwrap();
    assert!(!lp.is_running(&scheduler.id));
}

// ----- upstream `MesosSchedulerDriverTest` cases (driver side) -----

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn registration_with_zero_failover_time() {
    // A zero failover timeout does not bound the backoff to zero.
    let framework = FrameworkInfo { failover_timeout: Some(0.0), ..framework_info() };
    let s = setup_with(Options { framework, ..Options::default() }).await;
    s.start().await;
    s.step(Duration::from_millis(1999)).await;
    assert_eq!(s.calls_of(call::Type::Subscribe).len(), 1);
    s.step(Duration::from_millis(1)).await;
    assert_eq!(s.calls_of(call::Type::Subscribe).len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn explicit_acknowledgements_master_generated_update() {
    let s = setup_with(Options { implicit: false, ..Options::default() }).await;
    let scheduler = s.register().await;
    s.send_as_master(&scheduler, &update("t1", None, None)).await;
    let Cb::Update(status) = s.log()[1].clone() else { panic!() };
    assert_eq!(status.uuid, None);
    s.driver.acknowledge_status_update(status);
    s.settle().await;
    assert!(s.calls_of(call::Type::Acknowledge).is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn explicit_acknowledgements_unset_slave_id() {
    let s = setup_with(Options { implicit: false, ..Options::default() }).await;
    s.register().await;
    let status = TaskStatus {
        task_id: TaskId { value: "t1".into() },
        uuid: Some(UUID.to_vec()),
        slave_id: None,
        ..Default::default()
    };
    assert_eq!(s.driver.acknowledge_status_update(status), Status::DriverRunning);
    s.settle().await;
    assert!(s.calls_of(call::Type::Acknowledge).is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn register_with_suppressed_role() {
    let s = setup().await;
    let Setup { lp, detector, calls, log, .. } = &s;
    let driver = MesosSchedulerDriver::with_detector(
        lp,
        Recorder { log: log.clone(), hook: None },
        framework_info(),
        detector.clone(),
        true,
        Vec::new(),
    )
    .with_suppressed_roles(vec!["b".into()]);
    assert_eq!(driver.start(), Status::DriverRunning);
    s.settle().await;
    let subscribe = calls.lock().unwrap()[0].1.subscribe.clone().unwrap();
    assert_eq!(subscribe.suppressed_roles, vec!["b".to_string()]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reregister_after_suppress() {
    let s = setup().await;
    s.register().await;
    s.driver.suppress_offers();
    s.settle().await;
    assert_eq!(s.calls_of(call::Type::Suppress).len(), 1);
    // A new master: the resubscription carries every role of the framework as suppressed.
    s.detector.appoint(Some(create_master_info(&s.master)));
    s.settle().await;
    let subscribe = s.calls_of(call::Type::Subscribe)[0].subscribe.clone().unwrap();
    assert_eq!(subscribe.suppressed_roles, vec!["a".to_string(), "b".to_string()]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn suppress_single_role_then_revive_single_role() {
    let s = setup().await;
    s.register().await;
    s.driver.suppress_offers_for_roles(vec!["a".into()]);
    s.driver.revive_offers_for_roles(vec!["a".into()]);
    s.driver.suppress_offers_for_roles(vec!["b".into()]);
    s.settle().await;
    s.detector.appoint(Some(create_master_info(&s.master)));
    s.settle().await;
    let subscribe = s.calls_of(call::Type::Subscribe)[0].subscribe.clone().unwrap();
    assert_eq!(subscribe.suppressed_roles, vec!["b".to_string()]);
}
