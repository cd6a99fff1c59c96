//! The master's framework flow driven end to end on a paused clock: the real master, allocator and registrar (in-memory storage), a fake agent registered through the real flow, and fake schedulers played by libprocess processes; subscription (Call and legacy messages), offers, decline filters, revive, suppress, disconnection and failover, teardown, and bad input.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use libprocess::{Config, Context, Libprocess, Process, PID, UPID};
use master::allocator::Allocator;
use master::flags::MasterFlags;
use master::master::{master_info, Master, MasterHandle};
use master::registrar::Registrar;
use mesos::internal::{
    FrameworkErrorMessage, FrameworkRegisteredMessage, FrameworkReregisteredMessage, RegisterFrameworkMessage,
    RegisterSlaveMessage, RescindResourceOfferMessage, ResourceOffersMessage, ShutdownFrameworkMessage,
    SlaveRegisteredMessage, UnregisterFrameworkMessage,
};
use mesos::proto::framework_info::capability::Type as Capability;
use mesos::proto::framework_info::Capability as CapabilityInfo;
use mesos::proto::scheduler::call::{Decline, Revive, Subscribe, Suppress, Type as CallType};
use mesos::proto::scheduler::Call;
use mesos::proto::slave_info::capability::Type as AgentCapabilityType;
use mesos::proto::slave_info::Capability as AgentCapability;
use mesos::proto::{Filters, FrameworkId, FrameworkInfo, SlaveId, SlaveInfo};
use mesos::resources::Resources;
use mesos::state::{InMemoryStorage, State};

const WAIT: Duration = Duration::from_secs(10);
const ROLE: &str = "web";
const INTERVAL: Duration = Duration::from_secs(1);

async fn within<F: std::future::Future>(future: F) -> F::Output {
    tokio::time::timeout(WAIT, future).await.expect("timed out")
}

/// Everything a fake process heard, by message name.
#[derive(Clone, Default)]
struct Heard {
    registered: Arc<Mutex<Vec<FrameworkRegisteredMessage>>>,
    reregistered: Arc<Mutex<Vec<FrameworkReregisteredMessage>>>,
    offers: Arc<Mutex<Vec<ResourceOffersMessage>>>,
    rescinds: Arc<Mutex<Vec<RescindResourceOfferMessage>>>,
    errors: Arc<Mutex<Vec<FrameworkErrorMessage>>>,
    agent_registered: Arc<Mutex<Vec<SlaveRegisteredMessage>>>,
    shutdowns: Arc<Mutex<Vec<ShutdownFrameworkMessage>>>,
}

/// Plays a scheduler driver or an agent: only records.
struct Recorder {
    heard: Heard,
}

impl Process for Recorder {
    fn initialize(&mut self, ctx: &mut Context<Self>) {
        ctx.install_protobuf(|this: &mut Self, _ctx, _from, m: FrameworkRegisteredMessage| {
            this.heard.registered.lock().unwrap().push(m)
        });
        ctx.install_protobuf(|this: &mut Self, _ctx, _from, m: FrameworkReregisteredMessage| {
            this.heard.reregistered.lock().unwrap().push(m)
        });
        ctx.install_protobuf(|this: &mut Self, _ctx, _from, m: ResourceOffersMessage| {
            this.heard.offers.lock().unwrap().push(m)
        });
        ctx.install_protobuf(|this: &mut Self, _ctx, _from, m: RescindResourceOfferMessage| {
            this.heard.rescinds.lock().unwrap().push(m)
        });
        ctx.install_protobuf(|this: &mut Self, _ctx, _from, m: FrameworkErrorMessage| {
            this.heard.errors.lock().unwrap().push(m)
        });
        ctx.install_protobuf(|this: &mut Self, _ctx, _from, m: SlaveRegisteredMessage| {
            this.heard.agent_registered.lock().unwrap().push(m)
        });
        ctx.install_protobuf(|this: &mut Self, _ctx, _from, m: ShutdownFrameworkMessage| {
            this.heard.shutdowns.lock().unwrap().push(m)
        });
    }
}

struct Fake {
    pid: PID<Recorder>,
    heard: Heard,
}

impl Fake {
    fn upid(&self) -> &UPID {
        self.pid.upid()
    }
    fn registered(&self) -> Vec<FrameworkRegisteredMessage> {
        self.heard.registered.lock().unwrap().clone()
    }
    fn reregistered(&self) -> Vec<FrameworkReregisteredMessage> {
        self.heard.reregistered.lock().unwrap().clone()
    }
    fn offers(&self) -> Vec<ResourceOffersMessage> {
        self.heard.offers.lock().unwrap().clone()
    }
    fn rescinds(&self) -> Vec<RescindResourceOfferMessage> {
        self.heard.rescinds.lock().unwrap().clone()
    }
    fn errors(&self) -> Vec<String> {
        self.heard.errors.lock().unwrap().iter().map(|e| e.message.clone()).collect()
    }
}

struct Cluster {
    lp: Libprocess,
    master: MasterHandle,
    master_pid: UPID,
    master_id: String,
}

impl Cluster {
    async fn start() -> Cluster {
        let config = Config { ip: Some(std::net::Ipv4Addr::LOCALHOST), ..Config::default() };
        let lp = Libprocess::initialize(config).await.expect("libprocess starts");
        lp.clock().pause();
        let loaded = MasterFlags::load(&["mesos-master", "--registry=in_memory"], Some(Vec::new())).expect("flags");
        let flags = (*loaded.flags).clone();
        assert_eq!(flags.allocation_interval, INTERVAL);
        let allocator = Allocator::create(&lp).expect("allocator spawns");
        let state = State::new(Arc::new(InMemoryStorage::new()));
        let registrar = Registrar::new(&lp, flags.registrar_flags(), state).expect("registrar spawns");
        let info = master_info(lp.address(), &flags);
        let master_id = info.id.clone();
        let master = Master::spawn(&lp, Master::new(flags, allocator, registrar, info)).expect("master spawns");
        let master_pid = master.pid().upid().clone();
        let cluster = Cluster { lp, master, master_pid, master_id };
        cluster.settle().await;
        cluster
    }

    fn spawn(&self, id: &str) -> Fake {
        let heard = Heard::default();
        let pid = self.lp.spawn(id.to_string(), Recorder { heard: heard.clone() }).expect("fake spawns");
        Fake { pid, heard }
    }

    fn scheduler(&self) -> Fake {
        self.spawn(&libprocess::id::generate("scheduler"))
    }

    fn send<M: libprocess::ProtobufMessage>(&self, from: &Fake, message: &M) {
        self.lp.post_protobuf(from.upid(), &self.master_pid, message);
    }

    async fn settle(&self) {
        within(self.lp.settle()).await;
    }

    async fn step(&self, d: Duration) {
        self.lp.clock().advance(d);
        self.settle().await;
    }

    /// Registers an agent with `cpus:2;mem:1024` through the real flow.
    async fn agent(&self) -> (Fake, SlaveId) {
        let agent = self.spawn(&libprocess::id::generate("slave"));
        let resources = Resources::parse("cpus:2;mem:1024", "*").expect("resources parse");
        let slave = SlaveInfo { hostname: "agent1".into(), resources: resources.to_vec(), ..Default::default() };
        // A MULTI_ROLE framework is only offered MULTI_ROLE agents, as real agents are.
        let capabilities = vec![AgentCapability { r#type: Some(AgentCapabilityType::MultiRole as i32) }];
        let message = RegisterSlaveMessage {
            slave,
            version: Some("1.12.0".into()),
            agent_capabilities: capabilities,
            ..Default::default()
        };
        self.send(&agent, &message);
        self.settle().await;
        let id = agent.heard.agent_registered.lock().unwrap().last().expect("agent registered").slave_id.clone();
        (agent, id)
    }

    async fn frameworks(&self) -> Vec<master::framework::FrameworkSnapshot> {
        within(self.master.frameworks()).await.unwrap()
    }

    async fn offer_count(&self) -> usize {
        within(self.master.offers()).await.unwrap()
    }

    /// SUBSCRIBEs `scheduler` and returns the framework id it was given.
    async fn subscribe(&self, scheduler: &Fake, info: FrameworkInfo) -> FrameworkId {
        self.send(scheduler, &subscribe_call(info, None, false));
        self.settle().await;
        scheduler.registered().last().expect("registered").framework_id.clone()
    }
}

fn framework_info(roles: &[&str]) -> FrameworkInfo {
    FrameworkInfo {
        user: "user".into(),
        name: "framework".into(),
        roles: roles.iter().map(|r| r.to_string()).collect(),
        capabilities: vec![CapabilityInfo { r#type: Some(Capability::MultiRole as i32) }],
        ..Default::default()
    }
}

fn subscribe_call(info: FrameworkInfo, id: Option<FrameworkId>, force: bool) -> Call {
    let mut info = info;
    info.id = id.clone();
    Call {
        framework_id: id,
        r#type: Some(CallType::Subscribe as i32),
        subscribe: Some(Subscribe { framework_info: info, force: Some(force), ..Default::default() }),
        ..Default::default()
    }
}

fn call(id: &FrameworkId, kind: CallType) -> Call {
    Call { framework_id: Some(id.clone()), r#type: Some(kind as i32), ..Default::default() }
}

fn decline(id: &FrameworkId, offers: &ResourceOffersMessage, refuse_seconds: f64) -> Call {
    Call {
        decline: Some(Decline {
            offer_ids: offers.offers.iter().map(|o| o.id.clone()).collect(),
            filters: Some(Filters { refuse_seconds: Some(refuse_seconds) }),
        }),
        ..call(id, CallType::Decline)
    }
}

#[tokio::test]
async fn subscribe_is_answered_and_the_agent_is_offered() {
    let cluster = Cluster::start().await;
    let (agent, agent_id) = cluster.agent().await;
    let scheduler = cluster.scheduler();
    let id = cluster.subscribe(&scheduler, framework_info(&[ROLE])).await;

    assert_eq!(id.value, format!("{}-0000", cluster.master_id));
    let registered = scheduler.registered();
    assert_eq!(registered.len(), 1);
    assert_eq!(registered[0].master_info.id, cluster.master_id);
    assert_eq!(registered[0].master_info.pid.as_deref(), Some(cluster.master_pid.to_string().as_str()));

    // Adding the framework ran an allocation; the next periodic run offers nothing new.
    cluster.step(INTERVAL).await;
    let offers = scheduler.offers();
    assert_eq!(offers.len(), 1);
    let message = &offers[0];
    assert_eq!(message.offers.len(), 1);
    assert_eq!(message.pids, vec![agent.upid().to_string()]);
    let offer = &message.offers[0];
    assert_eq!(offer.id.value, format!("{}-O0", cluster.master_id));
    assert_eq!(offer.framework_id, id);
    assert_eq!(offer.slave_id, agent_id);
    assert_eq!(offer.hostname, "agent1");
    assert_eq!(offer.allocation_info.as_ref().and_then(|a| a.role.as_deref()), Some("web"));
    let url = offer.url.as_ref().expect("url");
    assert_eq!(url.path.as_deref(), Some(format!("/{}", agent.upid().id).as_str()));
    assert_eq!(url.address.port, i32::from(agent.upid().port));
    let resources: Resources = offer.resources.iter().cloned().collect();
    let mut expected = Resources::parse("cpus:2;mem:1024", "*").unwrap();
    expected.allocate("web");
    assert_eq!(resources, expected);
    assert!(offer.resources.iter().all(|r| r.allocation_info.as_ref().and_then(|a| a.role.as_deref()) == Some("web")));

    assert_eq!(cluster.offer_count().await, 1);
    let frameworks = cluster.frameworks().await;
    assert_eq!(frameworks.len(), 1);
    assert!(frameworks[0].connected && frameworks[0].active);
    assert_eq!(frameworks[0].offers, 1);

    // A retried SUBSCRIBE from the same pid gets the same id again.
    cluster.send(&scheduler, &subscribe_call(framework_info(&[ROLE]), None, false));
    cluster.settle().await;
    assert_eq!(scheduler.registered().len(), 2);
    assert_eq!(scheduler.registered()[1].framework_id, id);
    assert_eq!(cluster.frameworks().await.len(), 1);
}

#[tokio::test]
async fn decline_filters_the_agent_until_refuse_seconds_pass() {
    let cluster = Cluster::start().await;
    let (_agent, _) = cluster.agent().await;
    let scheduler = cluster.scheduler();
    let id = cluster.subscribe(&scheduler, framework_info(&[ROLE])).await;
    let first = scheduler.offers().last().cloned().expect("offered");

    cluster.send(&scheduler, &decline(&id, &first, 10.0));
    cluster.settle().await;
    assert_eq!(cluster.offer_count().await, 0);

    for _ in 0..9 {
        cluster.step(INTERVAL).await;
        assert_eq!(scheduler.offers().len(), 1, "offered again before the filter expired");
    }
    cluster.step(INTERVAL).await;
    cluster.step(INTERVAL).await;
    assert_eq!(scheduler.offers().len(), 2);

    // An unknown offer id is ignored.
    cluster.send(&scheduler, &decline(&id, &first, 10.0));
    cluster.settle().await;
    assert_eq!(cluster.offer_count().await, 1);
}

#[tokio::test]
async fn revive_clears_filters_and_suppress_stops_offers() {
    let cluster = Cluster::start().await;
    let (_agent, _) = cluster.agent().await;
    let scheduler = cluster.scheduler();
    let id = cluster.subscribe(&scheduler, framework_info(&[ROLE])).await;
    let first = scheduler.offers().last().cloned().expect("offered");

    cluster.send(&scheduler, &decline(&id, &first, 3600.0));
    cluster.step(INTERVAL).await;
    assert_eq!(scheduler.offers().len(), 1);

    cluster.send(&scheduler, &call(&id, CallType::Revive));
    cluster.settle().await;
    let offers = scheduler.offers();
    assert_eq!(offers.len(), 2);

    cluster.send(&scheduler, &call(&id, CallType::Suppress));
    cluster.send(&scheduler, &decline(&id, &offers[1], 0.0));
    for _ in 0..5 {
        cluster.step(INTERVAL).await;
    }
    assert_eq!(scheduler.offers().len(), 2, "offered while suppressed");

    // A role the framework is not subscribed to drops the whole call.
    let revive_other = Call { revive: Some(Revive { roles: vec!["other".into()] }), ..call(&id, CallType::Revive) };
    cluster.send(&scheduler, &revive_other);
    cluster.step(INTERVAL).await;
    assert_eq!(scheduler.offers().len(), 2);

    let revive_web = Call { revive: Some(Revive { roles: vec!["web".into()] }), ..call(&id, CallType::Revive) };
    cluster.send(&scheduler, &revive_web);
    cluster.settle().await;
    assert_eq!(scheduler.offers().len(), 3);

    let suppress_web = Call { suppress: Some(Suppress { roles: vec!["web".into()] }), ..call(&id, CallType::Suppress) };
    cluster.send(&scheduler, &suppress_web);
    cluster.send(&scheduler, &decline(&id, &scheduler.offers()[2], 0.0));
    cluster.step(INTERVAL).await;
    assert_eq!(scheduler.offers().len(), 3);
}

#[tokio::test]
async fn legacy_registration_works_and_hides_allocation_info() {
    let cluster = Cluster::start().await;
    let (_agent, _) = cluster.agent().await;
    let scheduler = cluster.scheduler();
    let info = FrameworkInfo { user: "user".into(), name: "legacy".into(), ..Default::default() };
    cluster.send(&scheduler, &RegisterFrameworkMessage { framework: info.clone() });
    cluster.settle().await;
    let id = scheduler.registered().last().expect("registered").framework_id.clone();
    assert_eq!(id.value, format!("{}-0000", cluster.master_id));

    let offers = scheduler.offers();
    assert_eq!(offers.len(), 1);
    let offer = &offers[0].offers[0];
    assert!(offer.allocation_info.is_none());
    assert!(offer.resources.iter().all(|r| r.allocation_info.is_none()));

    // Registering with an id set is refused.
    let other = cluster.scheduler();
    let with_id = FrameworkInfo { id: Some(id.clone()), ..info };
    cluster.send(&other, &RegisterFrameworkMessage { framework: with_id });
    cluster.settle().await;
    assert_eq!(other.errors(), vec!["Registering with 'id' already set".to_string()]);

    // Unregistering from another pid is ignored; from the framework it tears it down.
    cluster.send(&other, &UnregisterFrameworkMessage { framework_id: id.clone() });
    cluster.settle().await;
    assert_eq!(cluster.frameworks().await.len(), 1);
    cluster.send(&scheduler, &UnregisterFrameworkMessage { framework_id: id });
    cluster.settle().await;
    assert!(cluster.frameworks().await.is_empty());
    assert_eq!(cluster.offer_count().await, 0);
}

#[tokio::test]
async fn invalid_framework_info_is_refused_with_an_error() {
    let cluster = Cluster::start().await;
    let scheduler = cluster.scheduler();
    let mut info = framework_info(&[ROLE]);
    info.role = Some("web".into());
    cluster.send(&scheduler, &subscribe_call(info, None, false));
    let legacy = FrameworkInfo { roles: vec!["web".into()], ..framework_info(&[]) };
    let legacy = FrameworkInfo { capabilities: Vec::new(), ..legacy };
    cluster.send(&scheduler, &subscribe_call(legacy, None, false));
    cluster.settle().await;
    assert_eq!(
        scheduler.errors(),
        vec![
            "'FrameworkInfo.role' must not be set when the framework is MULTI_ROLE capable".to_string(),
            "'FrameworkInfo.roles' must not be set when the framework is not MULTI_ROLE capable".to_string(),
        ]
    );
    assert!(cluster.frameworks().await.is_empty());
}

#[tokio::test]
async fn calls_from_other_pids_and_undecodable_calls_are_dropped() {
    let cluster = Cluster::start().await;
    let (_agent, _) = cluster.agent().await;
    let scheduler = cluster.scheduler();
    let id = cluster.subscribe(&scheduler, framework_info(&[ROLE])).await;

    let stranger = cluster.scheduler();
    cluster.send(&stranger, &call(&id, CallType::Teardown));
    let unknown = FrameworkId { value: "no-such-framework".into() };
    cluster.send(&stranger, &call(&unknown, CallType::Teardown));
    // No `type`, and a DECLINE without `decline`: invalid, dropped.
    cluster.send(&scheduler, &Call { framework_id: Some(id.clone()), ..Default::default() });
    cluster.send(&scheduler, &call(&id, CallType::Decline));
    // Bytes that are no protobuf at all.
    cluster.lp.post(&cluster.master_pid, "mesos.scheduler.Call", &b"\xff\xff\xff"[..]);
    cluster.settle().await;

    let frameworks = cluster.frameworks().await;
    assert_eq!(frameworks.len(), 1);
    assert!(frameworks[0].active);
    assert_eq!(cluster.offer_count().await, 1);
    assert!(stranger.errors().is_empty());
    assert!(within(cluster.master.recovered()).await.unwrap(), "the master survived");
}

#[tokio::test]
async fn a_disconnected_framework_is_removed_after_its_failover_timeout() {
    let cluster = Cluster::start().await;
    let (_agent, _) = cluster.agent().await;
    let scheduler = cluster.scheduler();
    let info = FrameworkInfo { failover_timeout: Some(5.0), ..framework_info(&[ROLE]) };
    let id = cluster.subscribe(&scheduler, info).await;
    assert_eq!(cluster.offer_count().await, 1);

    cluster.lp.terminate(scheduler.upid(), true);
    cluster.settle().await;
    let frameworks = cluster.frameworks().await;
    assert!(!frameworks[0].connected && !frameworks[0].active);
    assert_eq!(cluster.offer_count().await, 0, "the offer was rescinded");

    for _ in 0..4 {
        cluster.step(INTERVAL).await;
    }
    assert_eq!(cluster.frameworks().await.len(), 1);
    cluster.step(INTERVAL).await;
    assert!(cluster.frameworks().await.is_empty());

    // Its id is archived: subscribing with it is refused.
    let again = cluster.scheduler();
    cluster.send(&again, &subscribe_call(framework_info(&[ROLE]), Some(id), true));
    cluster.settle().await;
    assert_eq!(again.errors(), vec!["Framework has been removed".to_string()]);

    // The resources are free for another framework.
    let other = cluster.scheduler();
    cluster.subscribe(&other, framework_info(&[ROLE])).await;
    assert_eq!(other.offers().len(), 1);
}

#[tokio::test]
async fn resubscribing_before_the_failover_timeout_keeps_the_framework() {
    let cluster = Cluster::start().await;
    let (_agent, _) = cluster.agent().await;
    let scheduler = cluster.scheduler();
    let scheduler_id = scheduler.upid().id.to_string();
    let info = FrameworkInfo { failover_timeout: Some(5.0), ..framework_info(&[ROLE]) };
    let id = cluster.subscribe(&scheduler, info.clone()).await;

    cluster.lp.terminate(scheduler.upid(), true);
    cluster.settle().await;
    cluster.step(INTERVAL * 2).await;

    // The driver restarted at the same pid, without failover: reregistered.
    let restarted = cluster.spawn(&scheduler_id);
    cluster.send(&restarted, &subscribe_call(info.clone(), Some(id.clone()), false));
    cluster.settle().await;
    assert_eq!(restarted.reregistered().len(), 1);
    assert_eq!(restarted.reregistered()[0].framework_id, id);
    cluster.step(INTERVAL * 10).await;
    let frameworks = cluster.frameworks().await;
    assert_eq!(frameworks.len(), 1);
    assert!(frameworks[0].connected && frameworks[0].active);
    assert_eq!(restarted.offers().len(), 1);

    // A new scheduler instance must force; without it, it is refused.
    let newcomer = cluster.scheduler();
    cluster.send(&newcomer, &subscribe_call(info.clone(), Some(id.clone()), false));
    cluster.settle().await;
    assert_eq!(newcomer.errors(), vec!["Framework failed over".to_string()]);

    // With force it takes over: registered (not reregistered), the old one is told, the
    // offer goes back silently and is made again to the new pid.
    cluster.send(&newcomer, &subscribe_call(info, Some(id.clone()), true));
    cluster.settle().await;
    assert_eq!(newcomer.registered().len(), 1);
    assert_eq!(newcomer.registered()[0].framework_id, id);
    assert_eq!(restarted.errors(), vec!["Framework failed over".to_string()]);
    assert!(restarted.rescinds().is_empty());
    cluster.step(INTERVAL).await;
    assert_eq!(newcomer.offers().len(), 1);
    assert_eq!(&cluster.frameworks().await[0].pid, newcomer.upid());
}

#[tokio::test]
async fn teardown_removes_the_framework_and_recovers_its_offers() {
    let cluster = Cluster::start().await;
    let (agent, _) = cluster.agent().await;
    let scheduler = cluster.scheduler();
    let id = cluster.subscribe(&scheduler, framework_info(&[ROLE])).await;
    assert_eq!(cluster.offer_count().await, 1);

    cluster.send(&scheduler, &call(&id, CallType::Teardown));
    cluster.settle().await;
    assert!(cluster.frameworks().await.is_empty());
    assert_eq!(cluster.offer_count().await, 0);
    assert!(scheduler.rescinds().is_empty(), "teardown discards offers silently");
    let shutdowns = agent.heard.shutdowns.lock().unwrap().clone();
    assert_eq!(shutdowns, vec![ShutdownFrameworkMessage { framework_id: id }]);

    let other = cluster.scheduler();
    cluster.subscribe(&other, framework_info(&[ROLE])).await;
    assert_eq!(other.offers().len(), 1, "the resources were recovered");
}

#[tokio::test]
async fn removing_the_agent_rescinds_its_offers() {
    let cluster = Cluster::start().await;
    let (agent, agent_id) = cluster.agent().await;
    let scheduler = cluster.scheduler();
    cluster.subscribe(&scheduler, framework_info(&[ROLE])).await;
    let offer = scheduler.offers()[0].offers[0].id.clone();

    cluster.send(&agent, &mesos::internal::UnregisterSlaveMessage { slave_id: agent_id });
    cluster.settle().await;
    assert_eq!(scheduler.rescinds(), vec![RescindResourceOfferMessage { offer_id: offer }]);
    assert_eq!(cluster.offer_count().await, 0);
    assert_eq!(cluster.frameworks().await[0].offers, 0);
}
