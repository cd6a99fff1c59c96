//! The master's agent flow driven end to end on a paused clock: the real master, allocator and registrar (in-memory storage) in one instance, and fake agents played by libprocess processes; registration, retries, health checking and unreachability, reregistration, disconnection, unregistration, version and input checks, recovery; upstream `MasterTest.{IgnoreOldAgentRegistration,IgnoreOldAgentReregistration}` and `PartitionTest.PartitionedSlaveReregistration` (agent part) ported by name.

mod common;

use std::collections::BTreeSet;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{agent_info, flags, framework_info, instance, within, Cluster, Fake, MockLimiter, ROLE};
use libprocess::{Future, Message, Promise};
use master::master::{master_info, Version};
use master::registrar::Registrar;
use master::registry_operations::Operation;
use mesos::internal::{
    LostSlaveMessage, RegisterSlaveMessage, ReregisterSlaveMessage, ShutdownMessage, SlaveRegisteredMessage,
    UnregisterSlaveMessage,
};
use mesos::proto::{SlaveId, SlaveInfo, TimeInfo};
use mesos::state::{Entry, InMemoryStorage, State, Storage, StorageFuture, Uuid};

const PING_TIMEOUT: Duration = Duration::from_secs(15);

fn slave_info(hostname: &str) -> SlaveInfo {
    SlaveInfo { checkpoint: Some(true), ..agent_info(hostname, "cpus:2;mem:1024") }
}

fn register_message(version: &str) -> RegisterSlaveMessage {
    RegisterSlaveMessage { slave: slave_info("agent1"), version: Some(version.into()), ..Default::default() }
}

fn reregister_message(id: &SlaveId, version: &str) -> ReregisterSlaveMessage {
    let mut slave = slave_info("agent1");
    slave.id = Some(id.clone());
    ReregisterSlaveMessage { slave, version: Some(version.into()), ..Default::default() }
}

/// Starts allocator, registrar and master over `state` without waiting for recovery.
fn start_over(lp: &libprocess::Libprocess, state: State) -> Cluster {
    Cluster::over(lp, state, flags(&[]))
}

impl Cluster {
    /// A fake agent that answers pings until a test clears its `answer`.
    fn agent(&self) -> Fake {
        let agent = self.spawn(&libprocess::id::generate("slave"));
        agent.answer.store(true, Ordering::SeqCst);
        agent
    }

    /// Registers `agent` and returns its id.
    async fn register(&self, agent: &Fake) -> SlaveId {
        self.send(agent, &register_message("1.12.0"));
        self.settle().await;
        agent.agent_registered().last().expect("registered").slave_id.clone()
    }
}

#[tokio::test]
async fn first_registration_gets_an_id_in_the_master_format() {
    let cluster = Cluster::start().await;
    let agent = cluster.agent();
    let id = cluster.register(&agent).await;

    assert_eq!(id.value, format!("{}-S0", cluster.master_id));
    let registered = agent.agent_registered();
    assert_eq!(registered.len(), 1);
    let connection = registered[0].connection.expect("connection");
    assert_eq!(connection.total_ping_timeout_seconds, Some(75.0));

    let agents = cluster.agents().await;
    assert_eq!(agents.len(), 1);
    assert_eq!(agents[0].id, id);
    assert_eq!(&agents[0].pid, agent.upid());
    assert!(agents[0].connected && agents[0].active);
    assert!(agents[0].observer.id.starts_with("slave-observer("));

    // The observer pinged at once, as connected, and took the pong itself.
    let pings = agent.heard.pings.lock().unwrap().clone();
    assert_eq!(pings, vec![(agents[0].observer.clone(), true)]);

    // A second agent gets the next id.
    let other = cluster.agent();
    let second = cluster.register(&other).await;
    assert_eq!(second.value, format!("{}-S1", cluster.master_id));
}

#[tokio::test]
async fn master_info_has_the_upstream_layout() {
    let cluster = Cluster::start().await;
    let info = within(cluster.master.info()).await.unwrap();
    assert_eq!(info.ip, u32::from_ne_bytes([127, 0, 0, 1]));
    assert_eq!(info.ip, 16_777_343);
    assert_eq!(info.port, u32::from(cluster.lp.address().port()));
    assert_eq!(info.pid.as_deref(), Some(cluster.master_pid.to_string().as_str()));
    assert_eq!(cluster.master_pid.id.as_ref(), "master");
    assert_eq!(info.id.len(), 36);
}

#[tokio::test]
async fn lost_acknowledgement_then_retry_gets_the_same_id() {
    let cluster = Cluster::start().await;
    let agent = cluster.agent();
    let dropped = cluster.lp.filters().drop_protobuf::<SlaveRegisteredMessage>(None, Some(agent.upid()));
    cluster.send(&agent, &register_message("1.12.0"));
    cluster.settle().await;
    let first = within(dropped).await.expect("first acknowledgement dropped");
    assert!(agent.agent_registered().is_empty());

    cluster.send(&agent, &register_message("1.12.0"));
    cluster.settle().await;
    let registered = agent.agent_registered();
    assert_eq!(registered.len(), 1);
    assert_eq!(registered[0].slave_id, first.slave_id);
    assert_eq!(cluster.agents().await.len(), 1);
}

#[tokio::test]
async fn retry_while_admission_is_in_flight_is_ignored() {
    let cluster = Cluster::start().await;
    let agent = cluster.agent();
    cluster.send(&agent, &register_message("1.12.0"));
    cluster.send(&agent, &register_message("1.12.0"));
    cluster.settle().await;
    assert_eq!(agent.agent_registered().len(), 1);
    assert_eq!(cluster.agents().await.len(), 1);
}

/// Upstream `PartitionTest.PartitionedSlaveReregistration`, agent part: an agent that stops
/// answering pings is marked unreachable after `max_agent_ping_timeouts` pings, and is let
/// back in when it reregisters.
#[tokio::test]
async fn partitioned_slave_reregistration() {
    let cluster = Cluster::start().await;
    let agent = cluster.agent();
    // Partitioned from the start: not even the first ping is answered.
    agent.answer.store(false, Ordering::SeqCst);
    let id = cluster.register(&agent).await;

    for _ in 0..4 {
        cluster.step(PING_TIMEOUT).await;
    }
    assert_eq!(cluster.agents().await.len(), 1, "not yet after four missed pings");
    cluster.step(PING_TIMEOUT).await;
    assert!(cluster.agents().await.is_empty());
    assert_eq!(cluster.unreachable().await, vec![id.clone()]);
    assert!(agent.shutdowns().is_empty(), "nothing is sent to an unreachable agent");

    // The observer is gone: no more pings.
    let pings = agent.heard.pings.lock().unwrap().len();
    cluster.step(PING_TIMEOUT).await;
    assert_eq!(agent.heard.pings.lock().unwrap().len(), pings);

    agent.answer.store(true, Ordering::SeqCst);
    cluster.send(&agent, &reregister_message(&id, "1.12.0"));
    cluster.settle().await;
    let reregistered = agent.agent_reregistered();
    assert_eq!(reregistered.len(), 1);
    assert_eq!(reregistered[0].slave_id, id);
    assert!(cluster.unreachable().await.is_empty());
    let agents = cluster.agents().await;
    assert_eq!(agents.len(), 1);
    assert!(agents[0].connected);

    // Healthy again: answered pings keep it registered.
    for _ in 0..6 {
        cluster.step(PING_TIMEOUT).await;
    }
    assert_eq!(cluster.agents().await.len(), 1);
}

#[tokio::test]
async fn known_agent_reregistration_gets_slave_reregistered() {
    let cluster = Cluster::start().await;
    let agent = cluster.agent();
    let id = cluster.register(&agent).await;
    cluster.send(&agent, &reregister_message(&id, "1.12.0"));
    cluster.settle().await;
    let reregistered = agent.agent_reregistered();
    assert_eq!(reregistered.len(), 1);
    assert_eq!(reregistered[0].slave_id, id);
    assert_eq!(reregistered[0].connection.unwrap().total_ping_timeout_seconds, Some(75.0));
    assert_eq!(cluster.agents().await.len(), 1);
}

#[tokio::test]
async fn disconnected_agent_reregisters_from_a_new_pid() {
    let cluster = Cluster::start().await;
    let old = cluster.agent();
    let id = cluster.register(&old).await;

    cluster.lp.terminate(old.upid(), true);
    cluster.settle().await;
    let agents = cluster.agents().await;
    assert!(!agents[0].connected && !agents[0].active);

    // The restarted agent comes back at a new pid on the same host.
    let new = cluster.agent();
    cluster.send(&new, &reregister_message(&id, "1.12.0"));
    cluster.settle().await;
    assert_eq!(new.agent_reregistered().len(), 1);
    let agents = cluster.agents().await;
    assert_eq!(agents.len(), 1);
    assert_eq!(&agents[0].pid, new.upid());
    assert!(agents[0].connected && agents[0].active);
}

/// A disconnected agent that the observer cannot declare unhealthy (the limit is too high)
/// is marked unreachable once `--agent_reregister_timeout` passes.
#[tokio::test]
async fn disconnected_agent_is_unreachable_after_the_reregister_timeout() {
    let lp = instance().await;
    let mut flags = flags(&[]);
    flags.max_agent_ping_timeouts = 1000;
    let cluster = Cluster::over(&lp, State::new(Arc::new(InMemoryStorage::new())), flags);
    cluster.settle().await;
    let agent = cluster.agent();
    let id = cluster.register(&agent).await;
    cluster.lp.terminate(agent.upid(), true);
    cluster.settle().await;

    let timeout = Duration::from_secs(600);
    let mut waited = Duration::ZERO;
    while waited + PING_TIMEOUT < timeout {
        cluster.step(PING_TIMEOUT).await;
        waited += PING_TIMEOUT;
    }
    assert_eq!(cluster.agents().await.len(), 1, "not before the timeout");
    cluster.step(timeout - waited).await;
    assert!(cluster.agents().await.is_empty());
    assert_eq!(cluster.unreachable().await, vec![id]);
}

#[tokio::test]
async fn reregistration_from_another_hostname_is_shut_down() {
    let cluster = Cluster::start().await;
    let agent = cluster.agent();
    let id = cluster.register(&agent).await;
    let mut message = reregister_message(&id, "1.12.0");
    message.slave.hostname = "elsewhere".into();
    cluster.send(&agent, &message);
    cluster.settle().await;
    assert!(agent.agent_reregistered().is_empty());
    assert_eq!(
        agent.shutdowns(),
        vec![ShutdownMessage { message: Some("Agent attempted to reregister with different IP / hostname".into()) }]
    );
}

#[tokio::test]
async fn unregister_removes_the_agent() {
    let cluster = Cluster::start().await;
    let agent = cluster.agent();
    let id = cluster.register(&agent).await;

    // Only the agent itself may unregister it.
    let stranger = cluster.agent();
    cluster.send(&stranger, &UnregisterSlaveMessage { slave_id: id.clone() });
    cluster.settle().await;
    assert_eq!(cluster.agents().await.len(), 1);

    cluster.send(&agent, &UnregisterSlaveMessage { slave_id: id.clone() });
    cluster.settle().await;
    assert!(cluster.agents().await.is_empty());
    assert!(cluster.unreachable().await.is_empty());

    // The observer is gone.
    let pings = agent.heard.pings.lock().unwrap().len();
    cluster.step(PING_TIMEOUT).await;
    assert_eq!(agent.heard.pings.lock().unwrap().len(), pings);
}

/// Upstream `MasterTest.IgnoreOldAgentRegistration`.
#[tokio::test]
async fn ignore_old_agent_registration() {
    let cluster = Cluster::start().await;
    let agent = cluster.agent();
    for version in ["0.28.0", "1.0.0-rc1", "bogus", ""] {
        cluster.send(&agent, &register_message(version));
    }
    cluster.send(&agent, &RegisterSlaveMessage { version: None, ..register_message("") });
    cluster.settle().await;
    assert!(agent.agent_registered().is_empty());
    assert!(agent.shutdowns().is_empty(), "the agent is ignored, not shut down");
    assert!(cluster.agents().await.is_empty());

    // Nothing is left in flight: a good version registers at once.
    cluster.register(&agent).await;
}

/// Upstream `MasterTest.IgnoreOldAgentReregistration`.
#[tokio::test]
async fn ignore_old_agent_reregistration() {
    let cluster = Cluster::start().await;
    let agent = cluster.agent();
    let id = cluster.register(&agent).await;
    cluster.send(&agent, &reregister_message(&id, "0.28.0"));
    cluster.settle().await;
    assert!(agent.agent_reregistered().is_empty());
    cluster.send(&agent, &reregister_message(&id, "1.0.0"));
    cluster.settle().await;
    assert_eq!(agent.agent_reregistered().len(), 1);
}

#[tokio::test]
async fn undecodable_registration_is_dropped() {
    let cluster = Cluster::start().await;
    let agent = cluster.agent();
    for body in [&b"\xff\xff\xff"[..], b"", b"\x0a\x02\x0a"] {
        cluster.lp.send(Message {
            name: "mesos.internal.RegisterSlaveMessage".into(),
            from: agent.upid().clone(),
            to: cluster.master_pid.clone(),
            body: body.to_vec().into(),
        });
    }
    cluster.settle().await;
    assert!(agent.agent_registered().is_empty());
    assert!(cluster.lp.is_running("master"));
    cluster.register(&agent).await;
}

#[tokio::test]
async fn invalid_resources_are_dropped() {
    let cluster = Cluster::start().await;
    let agent = cluster.agent();
    let mut message = register_message("1.12.0");
    message.slave.resources[0].name = String::new();
    cluster.send(&agent, &message);
    let mut message = register_message("1.12.0");
    message.slave.checkpoint = Some(false);
    message.checkpointed_resources = message.slave.resources.clone();
    cluster.send(&agent, &message);
    cluster.settle().await;
    assert!(agent.agent_registered().is_empty());
    assert!(cluster.agents().await.is_empty());
}

/// Storage whose first `get` waits for a gate: holds registry recovery.
struct Gated {
    inner: Arc<InMemoryStorage>,
    gate: Mutex<Option<Future<()>>>,
}

impl Storage for Gated {
    fn get(&self, name: &str) -> StorageFuture<Option<Entry>> {
        let gate = self.gate.lock().unwrap().take();
        match gate {
            Some(gate) => {
                let inner = self.inner.clone();
                let name = name.to_string();
                gate.then(move |()| inner.get(&name))
            }
            None => self.inner.get(name),
        }
    }
    fn set(&self, entry: Entry, uuid: Uuid) -> StorageFuture<bool> {
        self.inner.set(entry, uuid)
    }
    fn expunge(&self, entry: Entry) -> StorageFuture<bool> {
        self.inner.expunge(entry)
    }
    fn names(&self) -> StorageFuture<BTreeSet<String>> {
        self.inner.names()
    }
}

#[tokio::test]
async fn registration_before_recovery_is_ignored() {
    let lp = instance().await;
    let gate = Promise::new();
    let storage = Gated { inner: Arc::new(InMemoryStorage::new()), gate: Mutex::new(Some(gate.future())) };
    let cluster = start_over(&lp, State::new(Arc::new(storage)));
    cluster.settle().await;
    assert!(!within(cluster.master.recovered()).await.unwrap());

    let agent = cluster.agent();
    cluster.send(&agent, &register_message("1.12.0"));
    cluster.settle().await;
    assert!(agent.agent_registered().is_empty());

    gate.set(());
    cluster.settle().await;
    assert!(within(cluster.master.recovered()).await.unwrap());
    assert!(agent.agent_registered().is_empty(), "the early message was dropped, not queued");
    assert!(cluster.agents().await.is_empty());
    cluster.register(&agent).await;
}

/// A master restarted over the same registry: an admitted agent reregisters without a new
/// admission; a gone agent is told to shut down.
#[tokio::test]
async fn recovered_agent_reregisters_and_gone_agent_is_shut_down() {
    let lp = instance().await;
    let recovered_id = SlaveId { value: "previous-S0".into() };
    let gone_id = SlaveId { value: "previous-S1".into() };
    let mut operations = admissions(&[&recovered_id, &gone_id]);
    operations.push(Operation::MarkSlaveGone { id: gone_id.clone(), gone_time: TimeInfo { nanoseconds: 1 } });
    let state = previous_registry(&lp, operations).await;
    let cluster = start_over(&lp, state);
    cluster.settle().await;
    assert!(within(cluster.master.recovered()).await.unwrap());
    assert!(cluster.agents().await.is_empty(), "recovered agents wait for reregistration");

    let agent = cluster.agent();
    cluster.send(&agent, &reregister_message(&recovered_id, "1.12.0"));
    cluster.settle().await;
    assert_eq!(agent.agent_reregistered().len(), 1);
    assert_eq!(cluster.agents().await[0].id, recovered_id);

    let gone = cluster.agent();
    cluster.send(&gone, &reregister_message(&gone_id, "1.12.0"));
    cluster.settle().await;
    assert!(gone.agent_reregistered().is_empty());
    assert_eq!(gone.shutdowns(), vec![ShutdownMessage { message: Some("Agent has been marked gone".into()) }]);
}

/// A registry (over in-memory storage) as a master that ran before would leave it: recovered
/// once, then changed by `operations`, each of which must succeed.
async fn previous_registry(lp: &libprocess::Libprocess, operations: Vec<Operation>) -> State {
    let state = State::new(Arc::new(InMemoryStorage::new()));
    let previous = Registrar::new(lp, flags(&[]).registrar_flags(), state.clone()).unwrap();
    let recovered = previous.recover(master_info(lp.address(), &flags(&[])));
    within(lp.settle()).await;
    within(recovered).await.unwrap();
    for operation in operations {
        let applied = previous.apply(operation);
        within(lp.settle()).await;
        assert!(within(applied).await.unwrap());
    }
    state
}

/// Admissions of agents with `ids`, under the hostname `reregister_message` gives.
fn admissions(ids: &[&SlaveId]) -> Vec<Operation> {
    ids.iter()
        .map(|id| {
            let mut info = slave_info("agent1");
            info.id = Some((*id).clone());
            Operation::AdmitSlave(info)
        })
        .collect()
}

/// A registry in which agents with `ids` were admitted.
async fn registry_admitting(lp: &libprocess::Libprocess, ids: &[&SlaveId]) -> State {
    previous_registry(lp, admissions(ids)).await
}

/// The instance's metric `name`.
async fn metric(cluster: &Cluster, name: &str) -> f64 {
    cluster.settle().await;
    cluster.lp.metrics().snapshot(None).await.get(name).copied().unwrap_or_else(|| panic!("no metric {name}"))
}

/// A master restarted over a registry that admitted `id`, its removals paced by a mock
/// limiter, with a subscribed scheduler.
async fn recovered_with_mock_limiter(id: &SlaveId) -> (Cluster, Arc<MockLimiter>, Fake) {
    let lp = instance().await;
    let state = registry_admitting(&lp, &[id]).await;
    let limiter = Arc::new(MockLimiter::default());
    let cluster = Cluster::limited_over(&lp, state, flags(&[]), Some(limiter.clone()));
    cluster.settle().await;
    assert!(within(cluster.master.recovered()).await.unwrap());
    let (scheduler, _) = cluster.subscribed(framework_info(&[ROLE])).await;
    (cluster, limiter, scheduler)
}

/// Upstream `MasterTest.RateLimitRecoveredSlaveRemoval`: an agent recovered from the
/// registry that does not reregister within `--agent_reregister_timeout` is marked
/// unreachable, and frameworks hear it is lost, only once the removal limiter allows.
#[tokio::test]
async fn rate_limit_recovered_slave_removal() {
    let id = SlaveId { value: "previous-S0".into() };
    let (cluster, limiter, scheduler) = recovered_with_mock_limiter(&id).await;

    cluster.step(Duration::from_secs(600) - Duration::from_secs(1)).await;
    assert_eq!(limiter.acquired.load(Ordering::SeqCst), 0, "not before the timeout");
    cluster.step(Duration::from_secs(1)).await;
    assert_eq!(limiter.acquired.load(Ordering::SeqCst), 1);
    assert!(scheduler.lost().is_empty(), "waits for the permit");
    assert!(cluster.unreachable().await.is_empty());

    limiter.take().set(());
    cluster.settle().await;
    assert_eq!(scheduler.lost(), vec![LostSlaveMessage { slave_id: id.clone() }]);
    assert_eq!(cluster.unreachable().await, vec![id]);
    assert_eq!(metric(&cluster, "master/recovery_slave_removals").await, 1.0);
    assert_eq!(metric(&cluster, "master/slave_removals/reason_unhealthy").await, 1.0);
}

/// Upstream `MasterTest.CancelRecoveredSlaveRemoval`: an agent that reregisters while its
/// removal waits for a permit stays; the permit, when it comes, removes nothing.
#[tokio::test]
async fn cancel_recovered_slave_removal() {
    let id = SlaveId { value: "previous-S0".into() };
    let (cluster, limiter, scheduler) = recovered_with_mock_limiter(&id).await;
    cluster.step(Duration::from_secs(600)).await;
    assert_eq!(limiter.acquired.load(Ordering::SeqCst), 1);

    let agent = cluster.agent();
    cluster.send(&agent, &reregister_message(&id, "1.12.0"));
    cluster.settle().await;
    assert_eq!(agent.agent_reregistered().len(), 1);

    limiter.take().set(());
    cluster.settle().await;
    assert!(scheduler.lost().is_empty());
    assert!(cluster.unreachable().await.is_empty());
    assert_eq!(cluster.agents().await[0].id, id);
    assert_eq!(metric(&cluster, "master/recovery_slave_removals").await, 0.0);
}

/// C++ `recoveredSlavesTimeout` exits the master when more of the recovered agents are
/// missing than `--recovery_agent_removal_limit` allows; at the limit, the missing ones are
/// marked unreachable (at once, with no rate limit).
#[tokio::test]
async fn recovered_agents_missing_beyond_the_removal_limit_stop_the_master() {
    let lp = instance().await;
    let (first, second) = (SlaveId { value: "previous-S0".into() }, SlaveId { value: "previous-S1".into() });

    // Both missing: 100% > 50%.
    let state = registry_admitting(&lp, &[&first, &second]).await;
    let cluster = Cluster::over(&lp, state, flags(&["--recovery_agent_removal_limit=50%"]));
    cluster.settle().await;
    let ended = lp.wait(&cluster.master_pid);
    cluster.step(Duration::from_secs(600)).await;
    within(ended).await.expect("the master terminates");
    assert!(cluster.master.recovered().await.is_err(), "the master is gone");

    // One of two missing: 50% is within the limit.
    let lp = instance().await;
    let state = registry_admitting(&lp, &[&first, &second]).await;
    let cluster = Cluster::over(&lp, state, flags(&["--recovery_agent_removal_limit=50%"]));
    cluster.settle().await;
    let agent = cluster.agent();
    cluster.send(&agent, &reregister_message(&first, "1.12.0"));
    cluster.settle().await;
    assert_eq!(agent.agent_reregistered().len(), 1);
    cluster.step(Duration::from_secs(600)).await;
    assert!(within(cluster.master.recovered()).await.unwrap());
    assert_eq!(cluster.unreachable().await, vec![second]);
    assert_eq!(cluster.agents().await[0].id, first);
}

/// Upstream `MasterTest.AgentRestartNoReregisterRateLimit`: a disconnected agent that does
/// not come back within `--agent_reregister_timeout` waits for a removal permit too.
#[tokio::test]
async fn agent_restart_no_reregister_rate_limit() {
    let lp = instance().await;
    let mut flags = flags(&[]);
    flags.max_agent_ping_timeouts = 1000;
    let limiter = Arc::new(MockLimiter::default());
    let cluster =
        Cluster::limited_over(&lp, State::new(Arc::new(InMemoryStorage::new())), flags, Some(limiter.clone()));
    cluster.settle().await;
    let agent = cluster.agent();
    let id = cluster.register(&agent).await;
    cluster.lp.terminate(agent.upid(), true);
    cluster.settle().await;

    let mut waited = Duration::ZERO;
    while waited < Duration::from_secs(600) {
        cluster.step(PING_TIMEOUT).await;
        waited += PING_TIMEOUT;
    }
    assert_eq!(limiter.acquired.load(Ordering::SeqCst), 1);
    assert_eq!(metric(&cluster, "master/slave_unreachable_scheduled").await, 1.0);
    assert_eq!(cluster.agents().await.len(), 1, "waits for the permit");

    limiter.take().set(());
    cluster.settle().await;
    assert!(cluster.agents().await.is_empty());
    assert_eq!(cluster.unreachable().await, vec![id]);
    assert_eq!(metric(&cluster, "master/slave_unreachable_completed").await, 1.0);
}

/// `--agent_removal_rate_limit` as `main.cpp` reads it, and the limiter it makes: at
/// `1/10mins`, of two recovered agents missing, the second is marked unreachable ten
/// minutes after the first.
#[tokio::test]
async fn agent_removal_rate_limit_paces_removals() {
    for (bad, why) in [
        ("1", "Invalid agent_removal_rate_limit: 1. Format is <Number of agents>/<Duration>"),
        ("x/1secs", "Invalid agent_removal_rate_limit: x/1secs. Format is <Number of agents>/<Duration>: Failed to convert 'x' to number"),
        ("1/1lightyear", "Invalid agent_removal_rate_limit: 1/1lightyear. Format is <Number of agents>/<Duration>"),
        ("0/1secs", "Invalid agent_removal_rate_limit: 0/1secs. Format is <Number of agents>/<Duration>: the rate must be positive"),
    ] {
        let argv = ["mesos-master", "--registry=in_memory", &format!("--agent_removal_rate_limit={bad}")];
        let error = master::flags::MasterFlags::load(&argv, Some(Vec::new())).map(|_| ()).unwrap_err().to_string();
        assert!(error.contains(why), "{bad}: {error}");
    }

    let lp = instance().await;
    let (first, second) = (SlaveId { value: "previous-S0".into() }, SlaveId { value: "previous-S1".into() });
    let state = registry_admitting(&lp, &[&first, &second]).await;
    let cluster = Cluster::over(&lp, state, flags(&["--agent_removal_rate_limit=1/10mins"]));
    cluster.settle().await;
    cluster.step(Duration::from_secs(600)).await;
    assert_eq!(cluster.unreachable().await.len(), 1, "the first at once");
    cluster.step(Duration::from_secs(599)).await;
    assert_eq!(cluster.unreachable().await.len(), 1, "the second waits its turn");
    cluster.step(Duration::from_secs(1)).await;
    let mut unreachable = cluster.unreachable().await;
    unreachable.sort_by(|a, b| a.value.cmp(&b.value));
    assert_eq!(unreachable, vec![first, second]);
}

/// The weights in the registry after recovery, by role.
async fn stored_weights(state: &State) -> Vec<(String, f64)> {
    let variable = within(state.fetch(master::registrar::REGISTRY)).await.unwrap().unwrap();
    let registry = <mesos::internal::Registry as prost::Message>::decode(variable.value()).unwrap();
    let mut weights: Vec<(String, f64)> =
        registry.weights.iter().map(|w| (w.info.role.clone().unwrap_or_default(), w.info.weight)).collect();
    weights.sort_by(|a, b| a.0.cmp(&b.0));
    weights
}

/// `Master::_recover`: `--weights` is stored in a registry without weights; on a restart the
/// registry's weights win over the flag.
#[tokio::test]
async fn weights_flag_is_stored_once_and_registry_weights_win() {
    let lp = instance().await;
    let state = State::new(Arc::new(InMemoryStorage::new()));
    let first = Cluster::over(&lp, state.clone(), flags(&["--weights=web=2,ops=0.5"]));
    first.settle().await;
    assert!(within(first.master.recovered()).await.unwrap());
    assert_eq!(stored_weights(&state).await, vec![("ops".to_string(), 0.5), ("web".to_string(), 2.0)]);
    within(first.master.terminate()).await.unwrap();

    let second = Cluster::over(&lp, state.clone(), flags(&["--weights=web=3"]));
    second.settle().await;
    assert!(within(second.master.recovered()).await.unwrap());
    assert_eq!(stored_weights(&state).await, vec![("ops".to_string(), 0.5), ("web".to_string(), 2.0)]);
}

#[test]
fn versions_compare_as_stout_does() {
    let v = |s: &str| Version::parse(s).unwrap();
    assert!(v("1.0.0") > v("1.0.0-rc1"));
    assert!(v("1.0.0") > v("0.28.2"));
    assert_eq!(v("1"), v("1.0.0"));
    assert_eq!(v("1.12.0+build"), v("1.12.0"));
    for bad in ["", "a.b.c", "1.2.3.4", "1..2", "1.0.0-", "-1.0.0"] {
        assert!(Version::parse(bad).is_err(), "{bad}");
    }
    assert!(Version::check_agent(Some("0.28.0")).is_err());
    assert!(Version::check_agent(None).is_err());
    assert!(Version::check_agent(Some("1.0.0")).is_ok());
}
