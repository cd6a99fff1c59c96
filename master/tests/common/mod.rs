//! Fixtures shared by the `master` crate's integration tests: a bounded wait, a paused instance, a `Cluster` (the real master, allocator and registrar over in-memory storage) with fake agents and schedulers (`Fake`, a `Recorder` process that keeps what it hears), and builders of the scheduler calls and agent messages the tests send.
// Every test binary compiles this module on its own and uses only part of it.
#![allow(dead_code)]

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use libprocess::{Config, Context, Future, Libprocess, Process, Promise, ProtobufMessage, PID, UPID};
use master::allocator::Allocator;
use master::flags::MasterFlags;
use master::master::{master_info, AgentSnapshot, Master, MasterHandle};
use master::rate_limiter::{CancelAcquire, Limiter};
use master::registrar::Registrar;
use mesos::internal::{
    ExecutorToFrameworkMessage, ExitedExecutorMessage, FrameworkErrorMessage, FrameworkRegisteredMessage,
    FrameworkReregisteredMessage, FrameworkToExecutorMessage, KillTaskMessage, LostSlaveMessage, PingSlaveMessage,
    PongSlaveMessage, RegisterSlaveMessage, RescindResourceOfferMessage, ResourceOffersMessage, RunTaskGroupMessage,
    RunTaskMessage, ShutdownExecutorMessage, ShutdownFrameworkMessage, ShutdownMessage, SlaveRegisteredMessage,
    SlaveReregisteredMessage, StatusUpdate, StatusUpdateAcknowledgementMessage, StatusUpdateMessage,
};
use mesos::proto::framework_info::capability::Type as Capability;
use mesos::proto::framework_info::Capability as CapabilityInfo;
use mesos::proto::offer::operation::{Launch, Type as OperationType};
use mesos::proto::offer::Operation;
use mesos::proto::scheduler::call::{Accept, Acknowledge, Subscribe, Type as CallType};
use mesos::proto::scheduler::Call;
use mesos::proto::slave_info::capability::Type as AgentCapabilityType;
use mesos::proto::slave_info::Capability as AgentCapability;
use mesos::proto::task_status::Source;
use mesos::proto::{
    CommandInfo, Filters, FrameworkId, FrameworkInfo, Offer, OfferId, SlaveId, SlaveInfo, Task, TaskId, TaskInfo,
    TaskState, TaskStatus,
};
use mesos::resources::Resources;
use mesos::state::{InMemoryStorage, State, Uuid};

/// How long a test waits for something that should happen promptly.
pub const WAIT: Duration = Duration::from_secs(10);
/// The role the fake schedulers subscribe to.
pub const ROLE: &str = "web";
/// The default `--allocation_interval`, by which tests step the clock.
pub const INTERVAL: Duration = Duration::from_secs(1);

/// Awaits `future` for at most [`WAIT`].
pub async fn within<F: std::future::Future>(future: F) -> F::Output {
    tokio::time::timeout(WAIT, future).await.expect("timed out")
}

/// An instance on 127.0.0.1 with its clock paused.
pub async fn instance() -> Libprocess {
    let config = Config { ip: Some(std::net::Ipv4Addr::LOCALHOST), ..Config::default() };
    let lp = Libprocess::initialize(config).await.expect("libprocess starts");
    lp.clock().pause();
    lp
}

/// The master's flags for an in-memory registry, with `extra` arguments.
pub fn flags(extra: &[&str]) -> MasterFlags {
    let argv: Vec<&str> = ["mesos-master", "--registry=in_memory"].iter().chain(extra).copied().collect();
    let loaded = MasterFlags::load(&argv, Some(Vec::new())).expect("flags load");
    (*loaded.flags).clone()
}

// ----- fake peers -----

type Log<T> = Arc<Mutex<Vec<T>>>;

/// Everything a fake process heard, by message, with the sender where a test checks it.
#[derive(Clone, Default)]
pub struct Heard {
    // Scheduler side.
    pub registered: Log<FrameworkRegisteredMessage>,
    pub reregistered: Log<FrameworkReregisteredMessage>,
    pub offers: Log<ResourceOffersMessage>,
    pub rescinds: Log<RescindResourceOfferMessage>,
    pub errors: Log<FrameworkErrorMessage>,
    pub updates: Log<(UPID, StatusUpdateMessage)>,
    pub lost: Log<LostSlaveMessage>,
    pub to_framework: Log<ExecutorToFrameworkMessage>,
    pub exited_executors: Log<ExitedExecutorMessage>,
    // Agent side.
    pub agent_registered: Log<SlaveRegisteredMessage>,
    pub agent_reregistered: Log<SlaveReregisteredMessage>,
    pub shutdowns: Log<ShutdownMessage>,
    pub pings: Log<(UPID, bool)>,
    pub run_tasks: Log<(UPID, RunTaskMessage)>,
    pub run_task_groups: Log<RunTaskGroupMessage>,
    pub acks: Log<StatusUpdateAcknowledgementMessage>,
    pub kills: Log<KillTaskMessage>,
    pub shutdown_frameworks: Log<ShutdownFrameworkMessage>,
    pub to_executor: Log<FrameworkToExecutorMessage>,
    pub shutdown_executors: Log<ShutdownExecutorMessage>,
    pub update_frameworks: Log<mesos::internal::UpdateFrameworkMessage>,
}

/// Plays a scheduler driver or an agent: records what it hears, and answers pings only
/// while `answer` is set.
pub struct Recorder {
    heard: Heard,
    answer: Arc<AtomicBool>,
}

/// Installs a handler that appends each `M` to the log `pick` names.
fn record<M: ProtobufMessage>(ctx: &mut Context<Recorder>, pick: fn(&Heard) -> &Log<M>) {
    ctx.install_protobuf(move |this: &mut Recorder, _ctx, _from, m: M| pick(&this.heard).lock().unwrap().push(m));
}

/// Like [`record`], with the sender.
fn record_from<M: ProtobufMessage>(ctx: &mut Context<Recorder>, pick: fn(&Heard) -> &Log<(UPID, M)>) {
    ctx.install_protobuf(move |this: &mut Recorder, _ctx, from: &UPID, m: M| {
        pick(&this.heard).lock().unwrap().push((from.clone(), m))
    });
}

impl Process for Recorder {
    fn initialize(&mut self, ctx: &mut Context<Self>) {
        record(ctx, |h| &h.registered);
        record(ctx, |h| &h.reregistered);
        record(ctx, |h| &h.offers);
        record(ctx, |h| &h.rescinds);
        record(ctx, |h| &h.errors);
        record_from(ctx, |h| &h.updates);
        record(ctx, |h| &h.lost);
        record(ctx, |h| &h.to_framework);
        record(ctx, |h| &h.exited_executors);
        record(ctx, |h| &h.agent_registered);
        record(ctx, |h| &h.agent_reregistered);
        record(ctx, |h| &h.shutdowns);
        // As `Slave::ping` does, the pong goes to the ping's sender.
        ctx.install_protobuf(|this: &mut Self, ctx, from, ping: PingSlaveMessage| {
            this.heard.pings.lock().unwrap().push((from.clone(), ping.connected));
            if this.answer.load(Ordering::SeqCst) {
                ctx.send_protobuf(from, &PongSlaveMessage {});
            }
        });
        record_from(ctx, |h| &h.run_tasks);
        record(ctx, |h| &h.run_task_groups);
        record(ctx, |h| &h.acks);
        record(ctx, |h| &h.kills);
        record(ctx, |h| &h.shutdown_frameworks);
        record(ctx, |h| &h.to_executor);
        record(ctx, |h| &h.shutdown_executors);
        record(ctx, |h| &h.update_frameworks);
    }
}

/// A fake agent or scheduler: a [`Recorder`] and what it heard.
pub struct Fake {
    pub pid: PID<Recorder>,
    pub heard: Heard,
    /// Whether it answers pings; off unless a test turns it on.
    pub answer: Arc<AtomicBool>,
}

fn copy<T: Clone>(log: &Log<T>) -> Vec<T> {
    log.lock().unwrap().clone()
}

impl Fake {
    pub fn upid(&self) -> &UPID {
        self.pid.upid()
    }
    pub fn registered(&self) -> Vec<FrameworkRegisteredMessage> {
        copy(&self.heard.registered)
    }
    pub fn reregistered(&self) -> Vec<FrameworkReregisteredMessage> {
        copy(&self.heard.reregistered)
    }
    pub fn offers(&self) -> Vec<ResourceOffersMessage> {
        copy(&self.heard.offers)
    }
    /// The first offer of the last `ResourceOffersMessage`.
    pub fn last_offer(&self) -> Offer {
        self.offers().last().and_then(|m| m.offers.first().cloned()).expect("offered")
    }
    pub fn rescinds(&self) -> Vec<RescindResourceOfferMessage> {
        copy(&self.heard.rescinds)
    }
    /// The texts of the `FrameworkErrorMessage`s.
    pub fn errors(&self) -> Vec<String> {
        self.heard.errors.lock().unwrap().iter().map(|e| e.message.clone()).collect()
    }
    /// The status updates, without their senders.
    pub fn updates(&self) -> Vec<StatusUpdateMessage> {
        self.heard.updates.lock().unwrap().iter().map(|(_, m)| m.clone()).collect()
    }
    pub fn lost(&self) -> Vec<LostSlaveMessage> {
        copy(&self.heard.lost)
    }
    pub fn agent_registered(&self) -> Vec<SlaveRegisteredMessage> {
        copy(&self.heard.agent_registered)
    }
    pub fn agent_reregistered(&self) -> Vec<SlaveReregisteredMessage> {
        copy(&self.heard.agent_reregistered)
    }
    pub fn shutdowns(&self) -> Vec<ShutdownMessage> {
        copy(&self.heard.shutdowns)
    }
    pub fn run_tasks(&self) -> Vec<(UPID, RunTaskMessage)> {
        copy(&self.heard.run_tasks)
    }
    pub fn acks(&self) -> Vec<StatusUpdateAcknowledgementMessage> {
        copy(&self.heard.acks)
    }
    pub fn update_frameworks(&self) -> Vec<mesos::internal::UpdateFrameworkMessage> {
        copy(&self.heard.update_frameworks)
    }
    pub fn kills(&self) -> Vec<KillTaskMessage> {
        copy(&self.heard.kills)
    }
}

// ----- the cluster -----

/// The real master, allocator and registrar in one instance, and the fakes around them.
pub struct Cluster {
    pub lp: Libprocess,
    pub master: MasterHandle,
    pub master_pid: UPID,
    pub master_id: String,
}

impl Cluster {
    /// A recovered master with default flags on a fresh paused instance.
    pub async fn start() -> Cluster {
        Cluster::start_with(flags(&[])).await
    }

    /// A recovered master with `flags` on a fresh paused instance.
    pub async fn start_with(flags: MasterFlags) -> Cluster {
        assert_eq!(flags.allocation_interval, INTERVAL);
        let lp = instance().await;
        let cluster = Cluster::over(&lp, State::new(Arc::new(InMemoryStorage::new())), flags);
        cluster.settle().await;
        assert!(within(cluster.master.recovered()).await.unwrap(), "the master recovered");
        cluster
    }

    /// Spawns allocator, registrar and master in `lp` over `state`, without waiting for
    /// recovery.
    pub fn over(lp: &Libprocess, state: State, flags: MasterFlags) -> Cluster {
        Cluster::limited_over(lp, state, flags, None)
    }

    /// [`Cluster::over`], with `limiter` pacing agent removals if given.
    pub fn limited_over(
        lp: &Libprocess,
        state: State,
        flags: MasterFlags,
        limiter: Option<Arc<dyn Limiter>>,
    ) -> Cluster {
        let allocator = Allocator::create(lp).expect("allocator spawns");
        let registrar = Registrar::new(lp, flags.registrar_flags(), state).expect("registrar spawns");
        let info = master_info(lp.address(), &flags);
        let master_id = info.id.clone();
        let mut master = Master::new(flags, allocator, registrar, info);
        if let Some(limiter) = limiter {
            master = master.with_removal_limiter(limiter);
        }
        let master = Master::spawn(lp, master).expect("master spawns");
        let master_pid = master.pid().upid().clone();
        Cluster { lp: lp.clone(), master, master_pid, master_id }
    }

    /// A fake process with the id `id`, not answering pings.
    pub fn spawn(&self, id: &str) -> Fake {
        let heard = Heard::default();
        let answer = Arc::new(AtomicBool::new(false));
        let recorder = Recorder { heard: heard.clone(), answer: answer.clone() };
        let pid = self.lp.spawn(id.to_string(), recorder).expect("fake spawns");
        Fake { pid, heard, answer }
    }

    /// A fake scheduler, not subscribed yet.
    pub fn spawn_scheduler(&self) -> Fake {
        self.spawn(&libprocess::id::generate("scheduler"))
    }

    /// Sends `message` from `from` to the master.
    pub fn send<M: ProtobufMessage>(&self, from: &Fake, message: &M) {
        self.lp.post_protobuf(from.upid(), &self.master_pid, message);
    }

    pub async fn settle(&self) {
        within(self.lp.settle()).await;
    }

    /// Advances the clock by `d` and settles.
    pub async fn step(&self, d: Duration) {
        self.lp.clock().advance(d);
        self.settle().await;
    }

    /// Registers a fake agent with `slave` through the real flow (version 1.12.0, MULTI_ROLE)
    /// and returns it with its id.
    pub async fn register_agent(&self, slave: SlaveInfo) -> (Fake, SlaveId) {
        let agent = self.spawn(&libprocess::id::generate("slave"));
        let message = RegisterSlaveMessage {
            slave,
            version: Some("1.12.0".into()),
            agent_capabilities: agent_capabilities(),
            ..Default::default()
        };
        self.send(&agent, &message);
        self.settle().await;
        let id = agent.agent_registered().last().expect("agent registered").slave_id.clone();
        (agent, id)
    }

    /// SUBSCRIBEs `scheduler` and returns the framework id it was given.
    pub async fn subscribe(&self, scheduler: &Fake, info: FrameworkInfo) -> FrameworkId {
        self.send(scheduler, &subscribe_call(info, None, false));
        self.settle().await;
        scheduler.registered().last().expect("registered").framework_id.clone()
    }

    /// A new fake scheduler SUBSCRIBEd with `info`, and its framework id.
    pub async fn subscribed(&self, info: FrameworkInfo) -> (Fake, FrameworkId) {
        let scheduler = self.spawn_scheduler();
        let id = self.subscribe(&scheduler, info).await;
        (scheduler, id)
    }

    pub async fn agents(&self) -> Vec<AgentSnapshot> {
        within(self.master.agents()).await.unwrap()
    }

    pub async fn unreachable(&self) -> Vec<SlaveId> {
        within(self.master.unreachable()).await.unwrap()
    }

    pub async fn frameworks(&self) -> Vec<master::framework::FrameworkSnapshot> {
        within(self.master.frameworks()).await.unwrap()
    }

    pub async fn offer_count(&self) -> usize {
        within(self.master.offers()).await.unwrap()
    }

    pub async fn tasks(&self) -> Vec<Task> {
        within(self.master.tasks()).await.unwrap()
    }
}

// ----- messages and calls -----

/// An agent `hostname` with unreserved `resources`.
pub fn agent_info(hostname: &str, resources: &str) -> SlaveInfo {
    let resources = Resources::parse(resources, "*").expect("resources parse");
    SlaveInfo { hostname: hostname.into(), resources: resources.to_vec(), ..Default::default() }
}

/// MULTI_ROLE, as real agents have: a MULTI_ROLE framework is only offered such agents.
pub fn agent_capabilities() -> Vec<AgentCapability> {
    vec![AgentCapability { r#type: Some(AgentCapabilityType::MultiRole as i32) }]
}

/// A MULTI_ROLE framework in `roles`.
pub fn framework_info(roles: &[&str]) -> FrameworkInfo {
    FrameworkInfo {
        user: "user".into(),
        name: "framework".into(),
        roles: roles.iter().map(|r| r.to_string()).collect(),
        capabilities: vec![CapabilityInfo { r#type: Some(Capability::MultiRole as i32) }],
        ..Default::default()
    }
}

/// SUBSCRIBE with `info`, as framework `id` if given.
pub fn subscribe_call(info: FrameworkInfo, id: Option<FrameworkId>, force: bool) -> Call {
    let mut info = info;
    info.id = id.clone();
    Call {
        framework_id: id,
        r#type: Some(CallType::Subscribe as i32),
        subscribe: Some(Subscribe { framework_info: info, force: Some(force), ..Default::default() }),
        ..Default::default()
    }
}

/// A call of `kind` from framework `id`, without its body.
pub fn call(id: &FrameworkId, kind: CallType) -> Call {
    Call { framework_id: Some(id.clone()), r#type: Some(kind as i32), ..Default::default() }
}

/// A command task `id` (also its name) on `agent`.
pub fn task(id: &str, agent: &SlaveId, resources: &str) -> TaskInfo {
    TaskInfo {
        name: id.into(),
        task_id: TaskId { value: id.into() },
        slave_id: agent.clone(),
        resources: Resources::parse(resources, "*").expect("resources parse").to_vec(),
        command: Some(CommandInfo { value: Some("sleep 1000".into()), ..Default::default() }),
        ..Default::default()
    }
}

/// ACCEPT of `offers` with one LAUNCH of `tasks`; what is left is refused for
/// `refuse_seconds`.
pub fn accept(id: &FrameworkId, offers: Vec<OfferId>, tasks: Vec<TaskInfo>, refuse_seconds: f64) -> Call {
    let launch = Operation {
        r#type: Some(OperationType::Launch as i32),
        launch: Some(Launch { task_infos: tasks }),
        ..Default::default()
    };
    Call {
        accept: Some(Accept {
            offer_ids: offers,
            operations: vec![launch],
            filters: Some(Filters { refuse_seconds: Some(refuse_seconds) }),
        }),
        ..call(id, CallType::Accept)
    }
}

/// What an agent's status update manager sends the master when `task` reaches `state`;
/// acknowledgements go to `agent`.
pub fn agent_update(
    framework: &FrameworkId,
    agent: &UPID,
    agent_id: &SlaveId,
    task: &str,
    state: TaskState,
) -> StatusUpdateMessage {
    let uuid = Uuid::random().as_bytes().to_vec();
    let mut status = TaskStatus {
        task_id: TaskId { value: task.into() },
        slave_id: Some(agent_id.clone()),
        uuid: Some(uuid.clone()),
        ..Default::default()
    };
    status.set_state(state);
    status.set_source(Source::Executor);
    let update = StatusUpdate {
        framework_id: framework.clone(),
        executor_id: None,
        slave_id: Some(agent_id.clone()),
        status,
        timestamp: 1.0,
        uuid: Some(uuid),
        latest_state: None,
    };
    StatusUpdateMessage { update, pid: Some(agent.to_string()) }
}

/// ACKNOWLEDGE of `update`.
pub fn acknowledge(id: &FrameworkId, update: &StatusUpdate) -> Call {
    Call {
        acknowledge: Some(Acknowledge {
            slave_id: update.slave_id.clone().expect("agent id"),
            task_id: update.status.task_id.clone(),
            uuid: update.uuid.clone().expect("uuid"),
        }),
        ..call(id, CallType::Acknowledge)
    }
}

/// The data of a whole chunked HTTP body (`Transfer-Encoding: chunked`), checked for its
/// framing: size lines, CRLFs and the closing zero-length chunk.
pub fn dechunk(mut body: &[u8]) -> Vec<u8> {
    let mut data = Vec::new();
    loop {
        let line_end = body.windows(2).position(|w| w == b"\r\n").expect("a chunk size line");
        let size = std::str::from_utf8(&body[..line_end]).expect("ASCII size");
        let size = usize::from_str_radix(size, 16).unwrap_or_else(|_| panic!("a hex chunk size, not {size:?}"));
        body = &body[line_end + 2..];
        if size == 0 {
            assert_eq!(body, b"\r\n", "the body ends after its last chunk");
            return data;
        }
        data.extend_from_slice(&body[..size]);
        assert_eq!(&body[size..size + 2], b"\r\n", "a chunk ends with CRLF");
        body = &body[size + 2..];
    }
}

/// Upstream's `MockRateLimiter`: hands out one promise per `acquire` and records cancels.
#[derive(Default)]
pub struct MockLimiter {
    pub promises: Mutex<Vec<Promise<()>>>,
    pub acquired: AtomicUsize,
    pub canceled: Arc<AtomicUsize>,
}

impl Limiter for MockLimiter {
    fn acquire(&self) -> (Future<()>, CancelAcquire) {
        self.acquired.fetch_add(1, Ordering::SeqCst);
        let promise = Promise::new();
        let future = promise.future();
        self.promises.lock().unwrap().push(promise);
        let canceled = self.canceled.clone();
        (future, CancelAcquire::new(move || _ = canceled.fetch_add(1, Ordering::SeqCst)))
    }
}

impl MockLimiter {
    /// The oldest request's promise: set it to grant the permit.
    pub fn take(&self) -> Promise<()> {
        self.promises.lock().unwrap().remove(0)
    }
}
