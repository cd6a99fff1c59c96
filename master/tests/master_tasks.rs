//! The master's task flows driven end to end on a paused clock: the real master, allocator and registrar (in-memory storage), a fake agent registered through the real flow, and a fake scheduler; ACCEPT(LAUNCH) and legacy `LaunchTasksMessage`, status updates and acknowledgements, task removal, invalid tasks and offers, KILL and reconciliation.

mod common;

use std::time::Duration;

use common::{
    accept, acknowledge, agent_capabilities, agent_info, agent_update, call, framework_info, subscribe_call, task,
    within, Cluster, Fake, INTERVAL, ROLE,
};
use libprocess::UPID;
use mesos::internal::{
    ExecutorToFrameworkMessage, ExitedExecutorMessage, KillTaskMessage, LaunchTasksMessage, ReconcileTasksMessage,
    ReregisterSlaveMessage, UnregisterSlaveMessage,
};
use mesos::proto::framework_info::capability::Type as Capability;
use mesos::proto::framework_info::Capability as CapabilityInfo;
use mesos::proto::offer::operation::Type as OperationType;
use mesos::proto::offer::Operation;
use mesos::proto::scheduler::call::{reconcile, Accept, Kill, Reconcile, Type as CallType};
use mesos::proto::scheduler::Call;
use mesos::proto::task_status::{Reason, Source};
use mesos::proto::{Filters, FrameworkId, FrameworkInfo, OfferId, SlaveId, SlaveInfo, TaskId, TaskInfo, TaskState};
use mesos::resources::Resources;

/// What `Cluster::agent` registers with.
const AGENT_RESOURCES: &str = "cpus:2;mem:1024;disk:1024";

impl Cluster {
    /// Registers an agent with `AGENT_RESOURCES` through the real flow.
    async fn agent(&self) -> (Fake, SlaveId) {
        self.register_agent(agent_info("agent1", AGENT_RESOURCES)).await
    }

    /// SUBSCRIBEs a new scheduler (PARTITION_AWARE if asked) and waits for its first offer.
    async fn scheduler(&self, partition_aware: bool) -> (Fake, FrameworkId) {
        let mut info = framework_info(&[ROLE]);
        if partition_aware {
            info.capabilities.push(CapabilityInfo { r#type: Some(Capability::PartitionAware as i32) });
        }
        let (scheduler, id) = self.subscribed(info).await;
        assert!(!scheduler.offers().is_empty(), "no offer after subscription");
        (scheduler, id)
    }
}

fn allocated(text: &str) -> Resources {
    let mut resources = Resources::parse(text, "*").unwrap();
    resources.allocate(ROLE);
    resources
}

#[tokio::test]
async fn launch_update_acknowledge_and_finish() {
    let cluster = Cluster::start().await;
    let (agent, agent_id) = cluster.agent().await;
    let (scheduler, id) = cluster.scheduler(false).await;
    let offer = scheduler.last_offer();

    cluster
        .send(&scheduler, &accept(&id, vec![offer.id.clone()], vec![task("t1", &agent_id, "cpus:1;mem:128")], 3600.0));
    cluster.settle().await;

    let runs = agent.run_tasks();
    assert_eq!(runs.len(), 1);
    let (from, run) = &runs[0];
    assert_eq!(*from, cluster.master_pid);
    assert_eq!(run.task.task_id.value, "t1");
    assert_eq!(run.framework.id.as_ref(), Some(&id));
    assert_eq!(run.pid.as_deref(), Some(scheduler.upid().to_string().as_str()));
    assert_eq!(run.launch_executor, Some(true));
    assert!(run.framework_id.is_none());
    // The master gave the task the offer's allocation.
    let resources: Resources = run.task.resources.iter().cloned().collect();
    assert_eq!(resources, allocated("cpus:1;mem:128"));
    let tasks = cluster.tasks().await;
    assert_eq!(tasks.len(), 1);
    assert_eq!(tasks[0].state(), TaskState::TaskStaging);
    assert_eq!(tasks[0].slave_id, agent_id);
    assert!(scheduler.updates().is_empty());
    assert_eq!(cluster.offer_count().await, 0);

    // RUNNING goes to the scheduler with the agent's pid to acknowledge to.
    let running = agent_update(&id, agent.upid(), &agent_id, "t1", TaskState::TaskRunning);
    cluster.send(&agent, &running);
    cluster.settle().await;
    let updates = scheduler.heard.updates.lock().unwrap().clone();
    assert_eq!(updates.len(), 1);
    assert_eq!(updates[0].0, cluster.master_pid);
    assert_eq!(updates[0].1.pid.as_deref(), Some(agent.upid().to_string().as_str()));
    assert_eq!(updates[0].1.update, running.update);
    let tasks = cluster.tasks().await;
    assert_eq!(tasks[0].state(), TaskState::TaskRunning);
    assert_eq!(tasks[0].status_update_state(), TaskState::TaskRunning);

    cluster.send(&scheduler, &acknowledge(&id, &running.update));
    cluster.settle().await;
    let acks = agent.acks();
    assert_eq!(acks.len(), 1);
    assert_eq!(Some(&acks[0].uuid), running.update.uuid.as_ref());
    assert_eq!(acks[0].framework_id, id);
    assert_eq!(acks[0].task_id.value, "t1");
    assert_eq!(cluster.tasks().await.len(), 1);

    // The leftover was refused for an hour; only the finished task's resources bring an offer.
    cluster.step(INTERVAL).await;
    assert_eq!(scheduler.offers().len(), 1);
    let finished = agent_update(&id, agent.upid(), &agent_id, "t1", TaskState::TaskFinished);
    cluster.send(&agent, &finished);
    cluster.settle().await;
    assert_eq!(scheduler.updates().len(), 2);
    assert_eq!(cluster.tasks().await[0].state(), TaskState::TaskFinished);
    cluster.send(&scheduler, &acknowledge(&id, &finished.update));
    cluster.settle().await;
    assert_eq!(agent.acks().len(), 2);
    assert!(cluster.tasks().await.is_empty(), "acknowledged terminal task not removed");

    cluster.step(INTERVAL).await;
    assert_eq!(scheduler.offers().len(), 2);
    let offered: Resources = scheduler.last_offer().resources.iter().cloned().collect();
    assert_eq!(offered, allocated(AGENT_RESOURCES));
}

#[tokio::test]
async fn a_task_exceeding_the_offer_gets_task_error() {
    let cluster = Cluster::start().await;
    let (agent, agent_id) = cluster.agent().await;
    let (scheduler, id) = cluster.scheduler(false).await;
    let offer = scheduler.last_offer();
    let tasks = vec![task("big", &agent_id, "cpus:3;mem:128"), task("empty", &agent_id, "cpus:0")];

    cluster.send(&scheduler, &accept(&id, vec![offer.id], tasks, 0.0));
    cluster.settle().await;

    assert!(agent.run_tasks().is_empty());
    let updates = scheduler.updates();
    assert_eq!(updates.len(), 2);
    for message in &updates {
        let status = &message.update.status;
        assert_eq!(status.state(), TaskState::TaskError);
        assert_eq!(status.reason(), Reason::TaskInvalid);
        assert_eq!(status.source(), Source::Master);
        assert!(message.update.uuid.is_none() && status.uuid.is_none());
        assert_eq!(message.pid.as_deref(), Some(UPID::empty().to_string().as_str()));
    }
    let message = updates[0].update.status.message();
    assert!(message.starts_with("Total resources cpus(allocated: web):3"), "{message}");
    assert!(message.contains("required by task and its executor is more than available"), "{message}");
    // A zero quantity parses to no resource at all.
    assert_eq!(updates[1].update.status.message(), "Task uses no resources");
    assert!(cluster.tasks().await.is_empty());
}

#[tokio::test]
async fn unknown_and_reused_offers_get_the_invalid_offers_reaction() {
    let cluster = Cluster::start().await;
    let (agent, agent_id) = cluster.agent().await;
    let (scheduler, id) = cluster.scheduler(false).await;
    let offer = scheduler.last_offer();

    let unknown = OfferId { value: "no-such-offer".into() };
    cluster.send(&scheduler, &accept(&id, vec![unknown], vec![task("a", &agent_id, "cpus:1")], 0.0));
    cluster.settle().await;
    let updates = scheduler.updates();
    assert_eq!(updates.len(), 1);
    let status = &updates[0].update.status;
    assert_eq!(status.state(), TaskState::TaskLost);
    assert_eq!(status.reason(), Reason::InvalidOffers);
    assert_eq!(status.message(), "Task launched with invalid offers: Offer no-such-offer is no longer valid");
    // The real offer is untouched.
    assert_eq!(cluster.offer_count().await, 1);

    cluster.send(&scheduler, &accept(&id, vec![offer.id.clone()], vec![task("b", &agent_id, "cpus:1")], 0.0));
    cluster.send(&scheduler, &accept(&id, vec![offer.id.clone()], vec![task("c", &agent_id, "cpus:1")], 0.0));
    cluster.settle().await;
    assert_eq!(agent.run_tasks().len(), 1);
    let updates = scheduler.updates();
    assert_eq!(updates.len(), 2);
    assert_eq!(updates[1].update.status.task_id.value, "c");
    assert_eq!(updates[1].update.status.reason(), Reason::InvalidOffers);
    assert_eq!(
        updates[1].update.status.message(),
        format!("Task launched with invalid offers: Offer {} is no longer valid", offer.id.value)
    );

    // A PARTITION_AWARE framework gets TASK_DROPPED; duplicates in one call are refused too.
    let (aware, aware_id) = cluster.scheduler(true).await;
    let duplicate = vec![offer.id.clone(), offer.id.clone()];
    cluster.send(&aware, &accept(&aware_id, duplicate, vec![task("d", &agent_id, "cpus:1")], 0.0));
    cluster.settle().await;
    let updates = aware.updates();
    assert_eq!(updates.len(), 1);
    assert_eq!(updates[0].update.status.state(), TaskState::TaskDropped);
    assert_eq!(
        updates[0].update.status.message(),
        format!("Task launched with invalid offers: Duplicate offer {} in offer list", offer.id.value)
    );
}

/// Launches `t1` on the first offer and reports it RUNNING.
async fn running_task(cluster: &Cluster, agent: &Fake, agent_id: &SlaveId, scheduler: &Fake, id: &FrameworkId) {
    let offer = scheduler.last_offer();
    cluster.send(scheduler, &accept(id, vec![offer.id], vec![task("t1", agent_id, "cpus:1;mem:128")], 0.0));
    cluster.settle().await;
    cluster.send(agent, &agent_update(id, agent.upid(), agent_id, "t1", TaskState::TaskRunning));
    cluster.settle().await;
}

#[tokio::test]
async fn kill_goes_to_the_agent_and_unknown_tasks_are_reconciled() {
    let cluster = Cluster::start().await;
    let (agent, agent_id) = cluster.agent().await;
    let (scheduler, id) = cluster.scheduler(false).await;
    running_task(&cluster, &agent, &agent_id, &scheduler, &id).await;

    let kill = Call {
        kill: Some(Kill { task_id: TaskId { value: "t1".into() }, slave_id: None, kill_policy: None }),
        ..call(&id, CallType::Kill)
    };
    cluster.send(&scheduler, &kill);
    cluster.settle().await;
    let kills = agent.kills();
    assert_eq!(kills.len(), 1);
    assert_eq!(kills[0].framework_id, id);
    assert_eq!(kills[0].task_id.value, "t1");

    // Legacy KillTaskMessage for an unknown task: answered like an explicit reconciliation.
    let legacy =
        KillTaskMessage { framework_id: id.clone(), task_id: TaskId { value: "nope".into() }, kill_policy: None };
    cluster.send(&scheduler, &legacy);
    cluster.settle().await;
    assert_eq!(agent.kills().len(), 1);
    let update = scheduler.updates().last().cloned().expect("update");
    assert_eq!(update.update.status.task_id.value, "nope");
    assert_eq!(update.update.status.state(), TaskState::TaskLost);
    assert_eq!(update.update.status.reason(), Reason::Reconciliation);
    assert_eq!(update.update.status.message(), "Reconciliation: Task is unknown");
    assert!(update.pid.is_none() && update.update.uuid.is_none());
}

#[tokio::test]
async fn explicit_and_implicit_reconciliation() {
    let cluster = Cluster::start().await;
    let (agent, agent_id) = cluster.agent().await;
    let (scheduler, id) = cluster.scheduler(true).await;
    running_task(&cluster, &agent, &agent_id, &scheduler, &id).await;
    let before = scheduler.updates().len();

    let asked = vec![
        reconcile::Task { task_id: TaskId { value: "t1".into() }, slave_id: None },
        reconcile::Task { task_id: TaskId { value: "ghost".into() }, slave_id: Some(agent_id.clone()) },
        reconcile::Task { task_id: TaskId { value: "nowhere".into() }, slave_id: None },
    ];
    let explicit = Call { reconcile: Some(Reconcile { tasks: asked }), ..call(&id, CallType::Reconcile) };
    cluster.send(&scheduler, &explicit);
    cluster.settle().await;
    let updates = scheduler.updates()[before..].to_vec();
    assert_eq!(updates.len(), 3);
    let states: Vec<TaskState> = updates.iter().map(|u| u.update.status.state()).collect();
    assert_eq!(states, vec![TaskState::TaskRunning, TaskState::TaskGone, TaskState::TaskUnknown]);
    assert_eq!(updates[0].update.status.message(), "Reconciliation: Latest task state");
    assert_eq!(updates[1].update.status.message(), "Reconciliation: Task is unknown to the agent");
    for update in &updates {
        assert_eq!(update.update.status.reason(), Reason::Reconciliation);
        assert_eq!(update.update.status.source(), Source::Master);
        assert!(update.pid.is_none() && update.update.uuid.is_none());
    }

    // Implicit through the legacy message: every task the master knows.
    let legacy = ReconcileTasksMessage { framework_id: id.clone(), statuses: Vec::new(), framework: None };
    cluster.send(&scheduler, &legacy);
    cluster.settle().await;
    let updates = scheduler.updates();
    assert_eq!(updates.len(), before + 4);
    let last = &updates[before + 3].update;
    assert_eq!(last.status.task_id.value, "t1");
    assert_eq!(last.status.state(), TaskState::TaskRunning);
    assert_eq!(last.slave_id.as_ref(), Some(&agent_id));
}

#[tokio::test]
async fn bad_status_updates_are_dropped() {
    let cluster = Cluster::start().await;
    let (agent, agent_id) = cluster.agent().await;
    let (scheduler, id) = cluster.scheduler(false).await;
    let offer = scheduler.last_offer();
    cluster.send(&scheduler, &accept(&id, vec![offer.id], vec![task("t1", &agent_id, "cpus:1")], 0.0));
    cluster.settle().await;

    // From a process that is no agent, naming an agent the master does not know.
    let stranger = cluster.spawn("stranger");
    let mut update =
        agent_update(&id, stranger.upid(), &SlaveId { value: "unknown-S9".into() }, "t1", TaskState::TaskRunning);
    update.update.status.slave_id = update.update.slave_id.clone();
    cluster.send(&stranger, &update);
    // Without the pid to acknowledge to, and with a uuid that is not one.
    let mut no_pid = agent_update(&id, agent.upid(), &agent_id, "t1", TaskState::TaskRunning);
    no_pid.pid = None;
    cluster.send(&agent, &no_pid);
    let mut bad_uuid = agent_update(&id, agent.upid(), &agent_id, "t1", TaskState::TaskRunning);
    bad_uuid.update.uuid = Some(vec![1, 2, 3]);
    cluster.send(&agent, &bad_uuid);
    cluster.settle().await;

    assert!(scheduler.updates().is_empty());
    assert_eq!(cluster.tasks().await[0].state(), TaskState::TaskStaging);
}

#[tokio::test]
async fn legacy_launch_tasks_message_launches() {
    let cluster = Cluster::start().await;
    let (agent, agent_id) = cluster.agent().await;
    let (scheduler, id) = cluster.scheduler(false).await;
    let offer = scheduler.last_offer();

    let message = LaunchTasksMessage {
        framework_id: id.clone(),
        tasks: vec![task("t1", &agent_id, "cpus:1;mem:64")],
        filters: Filters::default(),
        offer_ids: vec![offer.id],
    };
    cluster.send(&scheduler, &message);
    cluster.settle().await;
    let runs = agent.run_tasks();
    assert_eq!(runs.len(), 1);
    assert_eq!(runs[0].1.task.task_id.value, "t1");
    assert_eq!(cluster.tasks().await.len(), 1);

    // Another framework's pid may not launch on its behalf.
    let other = cluster.spawn("other");
    cluster.send(
        &other,
        &LaunchTasksMessage {
            framework_id: id,
            tasks: vec![task("t2", &agent_id, "cpus:1")],
            filters: Filters::default(),
            offer_ids: Vec::new(),
        },
    );
    cluster.settle().await;
    assert_eq!(agent.run_tasks().len(), 1);
}

/// The `ReregisterSlaveMessage` of the fake agent from `Cluster::agent`, reporting `tasks`
/// of `framework`.
fn reregistration(
    agent_id: &SlaveId,
    framework: &FrameworkInfo,
    tasks: Vec<mesos::proto::Task>,
) -> ReregisterSlaveMessage {
    let slave = SlaveInfo { id: Some(agent_id.clone()), ..agent_info("agent1", AGENT_RESOURCES) };
    ReregisterSlaveMessage {
        slave,
        tasks,
        frameworks: vec![framework.clone()],
        version: Some("1.12.0".into()),
        agent_capabilities: agent_capabilities(),
        ..Default::default()
    }
}

/// Task `t1` as a reregistering agent reports it: running, with the framework's allocation.
fn reported_task(framework: &FrameworkId, agent: &SlaveId) -> mesos::proto::Task {
    let mut task = mesos::proto::Task {
        name: "t1".into(),
        task_id: TaskId { value: "t1".into() },
        framework_id: framework.clone(),
        slave_id: agent.clone(),
        resources: allocated("cpus:1;mem:128").to_vec(),
        ..Default::default()
    };
    task.set_state(TaskState::TaskRunning);
    task
}

/// The framework as the agent would report it.
async fn reported_framework(cluster: &Cluster, id: &FrameworkId) -> FrameworkInfo {
    let tasks = cluster.tasks().await;
    assert!(tasks.iter().all(|t| t.framework_id == *id));
    let mut framework = FrameworkInfo { id: Some(id.clone()), ..framework_info(&[ROLE]) };
    framework.capabilities.push(CapabilityInfo { r#type: Some(Capability::PartitionAware as i32) });
    framework
}

#[tokio::test]
async fn an_unregistered_agent_takes_its_tasks_with_it() {
    let cluster = Cluster::start().await;
    let (agent, agent_id) = cluster.agent().await;
    let (scheduler, id) = cluster.scheduler(true).await;
    running_task(&cluster, &agent, &agent_id, &scheduler, &id).await;

    cluster.send(&agent, &UnregisterSlaveMessage { slave_id: agent_id.clone() });
    cluster.settle().await;

    // C++ `_removeSlave`: TASK_LOST even for a partition-aware framework, from the master,
    // unacknowledgeable; then the agent is reported lost.
    let update = scheduler.updates().last().cloned().expect("update");
    assert_eq!(update.update.status.task_id.value, "t1");
    assert_eq!(update.update.status.state(), TaskState::TaskLost);
    assert_eq!(update.update.status.reason(), Reason::SlaveRemoved);
    assert_eq!(update.update.status.source(), Source::Master);
    assert!(update.update.status.message().starts_with("Agent agent1 removed: "));
    assert!(update.update.uuid.is_none());
    let lost = scheduler.heard.lost.lock().unwrap().clone();
    assert_eq!(lost.len(), 1);
    assert_eq!(lost[0].slave_id, agent_id);
    assert!(cluster.tasks().await.is_empty());
    assert!(cluster.agents().await.is_empty());
}

#[tokio::test]
async fn tasks_of_an_unreachable_agent_are_unreachable_then_come_back() {
    let cluster = Cluster::start().await;
    let (agent, agent_id) = cluster.agent().await;
    let (scheduler, id) = cluster.scheduler(true).await;
    running_task(&cluster, &agent, &agent_id, &scheduler, &id).await;

    // The fake agent never answers pings: after `--max_agent_ping_timeouts` (5) missed
    // pings of `--agent_ping_timeout` (15 s) it is marked unreachable.
    for _ in 0..6 {
        cluster.step(Duration::from_secs(15)).await;
    }
    assert_eq!(cluster.unreachable().await, vec![agent_id.clone()]);
    let update = scheduler.updates().last().cloned().expect("update");
    assert_eq!(update.update.status.state(), TaskState::TaskUnreachable);
    assert_eq!(update.update.status.reason(), Reason::SlaveRemoved);
    assert!(update.update.status.unreachable_time.is_some());
    assert_eq!(scheduler.heard.lost.lock().unwrap().len(), 1);
    assert!(cluster.tasks().await.is_empty());

    // The agent comes back with its task still running: the framework hears of it and
    // the master tracks it again.
    let framework = reported_framework(&cluster, &id).await;
    cluster.send(&agent, &reregistration(&agent_id, &framework, vec![reported_task(&id, &agent_id)]));
    cluster.settle().await;
    assert_eq!(agent.agent_reregistered().len(), 1);
    let update = scheduler.updates().last().cloned().expect("update");
    assert_eq!(update.update.status.task_id.value, "t1");
    assert_eq!(update.update.status.state(), TaskState::TaskRunning);
    assert_eq!(update.update.status.reason(), Reason::SlaveReregistered);
    assert_eq!(update.update.status.message(), "Unreachable agent re-reregistered");
    let tasks = cluster.tasks().await;
    assert_eq!(tasks.len(), 1);
    assert_eq!(tasks[0].state(), TaskState::TaskRunning);
    assert!(cluster.unreachable().await.is_empty());
}

#[tokio::test]
async fn a_known_agent_that_forgot_a_task_is_asked_to_reconcile_it() {
    let cluster = Cluster::start().await;
    let (agent, agent_id) = cluster.agent().await;
    let (scheduler, id) = cluster.scheduler(true).await;
    running_task(&cluster, &agent, &agent_id, &scheduler, &id).await;

    let framework = reported_framework(&cluster, &id).await;
    cluster.send(&agent, &reregistration(&agent_id, &framework, Vec::new()));
    cluster.settle().await;
    let reregistered = agent.agent_reregistered();
    assert_eq!(reregistered.len(), 1);
    let reconciliations = &reregistered[0].reconciliations;
    assert_eq!(reconciliations.len(), 1);
    assert_eq!(reconciliations[0].framework_id, id);
    assert_eq!(reconciliations[0].framework.as_ref().and_then(|f| f.id.clone()), Some(id.clone()));
    let status = &reconciliations[0].statuses[0];
    assert_eq!(status.task_id.value, "t1");
    assert_eq!(status.state(), TaskState::TaskRunning);
    assert_eq!(status.reason(), Reason::Reconciliation);
    assert_eq!(status.source(), Source::Master);
    // The master keeps the task until the agent answers.
    assert_eq!(cluster.tasks().await.len(), 1);
}

#[tokio::test]
async fn teardown_kills_the_tasks_and_shuts_the_framework_down_on_agents() {
    let cluster = Cluster::start().await;
    let (agent, agent_id) = cluster.agent().await;
    let (scheduler, id) = cluster.scheduler(false).await;
    running_task(&cluster, &agent, &agent_id, &scheduler, &id).await;

    cluster.send(&scheduler, &call(&id, CallType::Teardown));
    cluster.settle().await;
    let shutdowns = agent.heard.shutdown_frameworks.lock().unwrap().clone();
    assert_eq!(shutdowns.len(), 1);
    assert_eq!(shutdowns[0].framework_id, id);
    assert!(cluster.tasks().await.is_empty());
    assert!(cluster.frameworks().await.is_empty());

    // The freed resources are offered to the next framework.
    let (next, _) = cluster.scheduler(false).await;
    let offered: Resources = next.last_offer().resources.iter().cloned().collect();
    assert_eq!(offered, allocated(AGENT_RESOURCES));
}

#[tokio::test]
async fn a_framework_known_only_from_an_agent_is_recovered_until_it_subscribes() {
    let cluster = Cluster::start().await;
    let agent = cluster.spawn(&libprocess::id::generate("slave"));
    let agent_id = SlaveId { value: "previous-master-S3".into() };
    let id = FrameworkId { value: "previous-master-0007".into() };
    let framework = FrameworkInfo { id: Some(id.clone()), ..framework_info(&[ROLE]) };
    cluster.send(&agent, &reregistration(&agent_id, &framework, vec![reported_task(&id, &agent_id)]));
    cluster.settle().await;
    assert_eq!(agent.agent_reregistered().len(), 1);
    let frameworks = cluster.frameworks().await;
    assert_eq!(frameworks.len(), 1);
    assert!(!frameworks[0].connected && !frameworks[0].active);
    assert_eq!(cluster.tasks().await.len(), 1);

    // Its scheduler subscribes with its id: a v0 driver hears "registered" and gets offers
    // for what the task leaves free.
    let scheduler = cluster.spawn_scheduler();
    cluster.send(&scheduler, &subscribe_call(framework, Some(id.clone()), false));
    cluster.settle().await;
    let registered = scheduler.registered();
    assert_eq!(registered.len(), 1);
    assert_eq!(registered[0].framework_id, id);
    let offered: Resources = scheduler.last_offer().resources.iter().cloned().collect();
    assert_eq!(offered, allocated("cpus:1;mem:896;disk:1024"));
}

/// A `DEFAULT` executor for task groups, as the C++ tests build one.
fn default_executor(framework_id: &FrameworkId) -> mesos::proto::ExecutorInfo {
    let mut executor = mesos::proto::ExecutorInfo {
        executor_id: mesos::proto::ExecutorId { value: "default".into() },
        framework_id: Some(framework_id.clone()),
        resources: Resources::parse("cpus:0.1;mem:32;disk:32", "*").unwrap().to_vec(),
        ..Default::default()
    };
    executor.set_type(mesos::proto::executor_info::Type::Default);
    executor
}

fn launch_group(id: &FrameworkId, offer: OfferId, executor: mesos::proto::ExecutorInfo, tasks: Vec<TaskInfo>) -> Call {
    let operation = Operation {
        r#type: Some(OperationType::LaunchGroup as i32),
        launch_group: Some(mesos::proto::offer::operation::LaunchGroup {
            executor,
            task_group: mesos::proto::TaskGroupInfo { tasks },
        }),
        ..Default::default()
    };
    Call {
        accept: Some(Accept { offer_ids: vec![offer], operations: vec![operation], filters: None }),
        ..call(id, CallType::Accept)
    }
}

fn group_task(id: &str, agent: &SlaveId) -> TaskInfo {
    TaskInfo { command: None, ..task(id, agent, "cpus:0.5;mem:64") }
}

#[tokio::test]
async fn launch_group_sends_one_run_task_group_message() {
    let cluster = Cluster::start().await;
    let (agent, agent_id) = cluster.agent().await;
    let (scheduler, id) = cluster.scheduler(false).await;
    let offer = scheduler.last_offer();
    let tasks = vec![group_task("a", &agent_id), group_task("b", &agent_id)];
    cluster.send(&scheduler, &launch_group(&id, offer.id, default_executor(&id), tasks));
    cluster.settle().await;

    let groups = agent.heard.run_task_groups.lock().unwrap().clone();
    assert_eq!(groups.len(), 1);
    assert_eq!(groups[0].executor.executor_id.value, "default");
    assert_eq!(groups[0].launch_executor, Some(true));
    assert_eq!(groups[0].framework.id.as_ref(), Some(&id));
    let names: Vec<&str> = groups[0].task_group.tasks.iter().map(|t| t.task_id.value.as_str()).collect();
    assert_eq!(names, ["a", "b"]);
    // Tasks and the executor carry the offer's allocation.
    let executor: Resources = groups[0].executor.resources.iter().cloned().collect();
    assert_eq!(executor, allocated("cpus:0.1;mem:32;disk:32"));
    let mut tasks = cluster.tasks().await;
    tasks.sort_by(|a, b| a.task_id.value.cmp(&b.task_id.value));
    assert_eq!(tasks.len(), 2);
    assert!(tasks.iter().all(|t| t.executor_id.as_ref().map(|e| e.value.as_str()) == Some("default")));
    assert!(scheduler.updates().is_empty());
    assert!(agent.run_tasks().is_empty());
}

#[tokio::test]
async fn an_invalid_task_group_gets_task_error_for_every_task() {
    let cluster = Cluster::start().await;
    let (agent, agent_id) = cluster.agent().await;
    let (scheduler, id) = cluster.scheduler(false).await;
    let offer = scheduler.last_offer();
    let mut executor = default_executor(&id);
    executor.r#type = None;
    let tasks = vec![group_task("a", &agent_id), group_task("b", &agent_id)];
    cluster.send(&scheduler, &launch_group(&id, offer.id, executor, tasks));
    cluster.settle().await;

    assert!(agent.heard.run_task_groups.lock().unwrap().is_empty());
    let updates = scheduler.updates();
    assert_eq!(updates.len(), 2);
    for (update, task) in updates.iter().zip(["a", "b"]) {
        assert_eq!(update.update.status.task_id.value, task);
        assert_eq!(update.update.status.state(), TaskState::TaskError);
        assert_eq!(update.update.status.reason(), Reason::TaskGroupInvalid);
        assert_eq!(update.update.status.message(), "'ExecutorInfo.type' must be set");
    }
    assert!(cluster.tasks().await.is_empty());

    // A task with another executor than the group's is named in the error. The declined
    // resources come back after the default 5 s filter.
    let first = scheduler.last_offer();
    cluster.step(Duration::from_secs(6)).await;
    cluster.step(INTERVAL).await;
    let next = scheduler.last_offer();
    assert_ne!(next.id, first.id);
    let mut bad = group_task("c", &agent_id);
    bad.executor = Some(mesos::proto::ExecutorInfo {
        executor_id: mesos::proto::ExecutorId { value: "other".into() },
        ..default_executor(&id)
    });
    cluster.send(&scheduler, &launch_group(&id, next.id, default_executor(&id), vec![bad]));
    cluster.settle().await;
    let update = scheduler.updates().last().cloned().unwrap();
    assert_eq!(update.update.status.message(), "The `ExecutorInfo` of task 'c' is different from executor 'default'");
}

#[tokio::test]
async fn framework_messages_shutdown_and_exited_executors() {
    let cluster = Cluster::start().await;
    let (agent, agent_id) = cluster.agent().await;
    let (scheduler, id) = cluster.scheduler(false).await;
    let offer = scheduler.last_offer();
    cluster.send(&scheduler, &launch_group(&id, offer.id, default_executor(&id), vec![group_task("a", &agent_id)]));
    cluster.settle().await;
    let executor_id = mesos::proto::ExecutorId { value: "default".into() };

    // MESSAGE goes to the agent as FrameworkToExecutorMessage.
    let message = Call {
        message: Some(mesos::proto::scheduler::call::Message {
            slave_id: agent_id.clone(),
            executor_id: executor_id.clone(),
            data: b"hello".to_vec(),
        }),
        ..call(&id, CallType::Message)
    };
    cluster.send(&scheduler, &message);
    cluster.settle().await;
    let sent = agent.heard.to_executor.lock().unwrap().clone();
    assert_eq!(sent.len(), 1);
    assert_eq!((&sent[0].framework_id, &sent[0].executor_id, &sent[0].data[..]), (&id, &executor_id, &b"hello"[..]));

    // The executor's answer comes back through the master.
    let answer = ExecutorToFrameworkMessage {
        slave_id: agent_id.clone(),
        framework_id: id.clone(),
        executor_id: executor_id.clone(),
        data: b"world".to_vec(),
    };
    cluster.send(&agent, &answer);
    cluster.settle().await;
    assert_eq!(scheduler.heard.to_framework.lock().unwrap().clone(), vec![answer]);

    // SHUTDOWN reaches the agent.
    let shutdown = Call {
        shutdown: Some(mesos::proto::scheduler::call::Shutdown {
            executor_id: executor_id.clone(),
            slave_id: agent_id.clone(),
        }),
        ..call(&id, CallType::Shutdown)
    };
    cluster.send(&scheduler, &shutdown);
    cluster.settle().await;
    let shutdowns = agent.heard.shutdown_executors.lock().unwrap().clone();
    assert_eq!(shutdowns.len(), 1);
    assert_eq!(shutdowns[0].executor_id.as_ref(), Some(&executor_id));

    // The agent reports the executor gone: the framework hears it, a second report of the
    // same executor is ignored.
    let exited = ExitedExecutorMessage { slave_id: agent_id.clone(), framework_id: id.clone(), executor_id, status: 0 };
    cluster.send(&agent, &exited);
    cluster.send(&agent, &exited);
    cluster.settle().await;
    assert_eq!(scheduler.heard.exited_executors.lock().unwrap().clone(), vec![exited]);
}

#[tokio::test]
async fn master_metrics_follow_agents_frameworks_and_tasks() {
    let cluster = Cluster::start().await;
    let (agent, agent_id) = cluster.agent().await;
    let (scheduler, id) = cluster.scheduler(false).await;
    running_task(&cluster, &agent, &agent_id, &scheduler, &id).await;
    cluster.step(Duration::from_secs(30)).await;

    let snapshot = within(cluster.lp.metrics().snapshot(None)).await;
    let metric = |name: &str| *snapshot.get(name).unwrap_or_else(|| panic!("no metric {name}"));
    assert_eq!(metric("master/slaves_connected"), 1.0);
    assert_eq!(metric("master/slaves_active"), 1.0);
    assert_eq!(metric("master/slaves_disconnected"), 0.0);
    assert_eq!(metric("master/frameworks_connected"), 1.0);
    assert_eq!(metric("master/frameworks_active"), 1.0);
    assert_eq!(metric("master/tasks_running"), 1.0);
    assert_eq!(metric("master/tasks_staging"), 0.0);
    assert_eq!(metric("master/cpus_total"), 2.0);
    assert_eq!(metric("master/cpus_used"), 1.0);
    assert_eq!(metric("master/cpus_percent"), 0.5);
    assert_eq!(metric("master/mem_used"), 128.0);
    assert_eq!(metric("master/elected"), 1.0);
    assert!(metric("master/uptime_secs") >= 30.0);
    // No message or request waits in an idle master's mailbox; the snapshot's own gauge
    // reads are dispatches queued there (as in C++, where each gauge is a deferred call).
    assert_eq!(metric("master/event_queue_messages"), 0.0);
    assert_eq!(metric("master/event_queue_http_requests"), 0.0);
    assert!(metric("master/event_queue_dispatches") < 100.0);
    assert_eq!(metric("master/messages_register_slave"), 1.0);
    assert_eq!(metric("master/slave_registrations"), 1.0);
    assert_eq!(metric("master/messages_register_framework"), 1.0);
    assert_eq!(metric("master/messages_launch_tasks"), 1.0);
    assert_eq!(metric("master/messages_status_update"), 1.0);
    assert_eq!(metric("master/valid_status_updates"), 1.0);

    // A finished task counts under its terminal state and its (state, source, reason).
    let mut finished = agent_update(&id, agent.upid(), &agent_id, "t1", TaskState::TaskFinished);
    finished.update.status.set_reason(Reason::CommandExecutorFailed);
    cluster.send(&agent, &finished);
    cluster.settle().await;
    let snapshot = within(cluster.lp.metrics().snapshot(None)).await;
    assert_eq!(snapshot["master/tasks_finished"], 1.0);
    assert_eq!(snapshot["master/tasks_running"], 0.0);
    assert_eq!(snapshot["master/cpus_used"], 0.0);
    assert_eq!(snapshot["master/task_finished/source_executor/reason_command_executor_failed"], 1.0);

    // The agent leaves: one removal, for the reason "unregistered".
    cluster.send(&agent, &UnregisterSlaveMessage { slave_id: agent_id });
    cluster.settle().await;
    let snapshot = within(cluster.lp.metrics().snapshot(None)).await;
    assert_eq!(snapshot["master/slave_removals"], 1.0);
    assert_eq!(snapshot["master/slave_removals/reason_unregistered"], 1.0);
    assert_eq!(snapshot["master/slaves_connected"], 0.0);
}
