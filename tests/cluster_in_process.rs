//! The real master and the real agent in one libprocess instance on a paused clock, with a scheduler played by a test process and executors run by the real v0 executor driver inside the same instance (a containerizer that starts drivers instead of OS processes): registration, an offer, a launch, status updates through the agent's status update manager to the scheduler, acknowledgements back, a kill, and a framework's teardown.

mod common;

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::within;
use libprocess::{Bytes, Context, Future, Libprocess, Process, Promise, ProtobufMessage, PID, UPID};
use master::allocator::Allocator;
use master::flags::MasterFlags;
use master::master::{master_info, Master, MasterHandle};
use master::registrar::Registrar;
use mesos::detector::{create_master_info, StandaloneMasterDetector};
use mesos::exec::{Executor, ExecutorDriver, MesosExecutorDriver};
use mesos::internal::{FrameworkRegisteredMessage, ResourceOffersMessage, StatusUpdateMessage};
use mesos::proto::offer::operation::{Launch, Type as OperationType};
use mesos::proto::offer::Operation;
use mesos::proto::scheduler::call::{Accept, Acknowledge, Kill, Subscribe, Type as CallType};
use mesos::proto::scheduler::Call;
use mesos::proto::{
    CommandInfo, ContainerId, ExecutorInfo, Filters, FrameworkId, FrameworkInfo, Resource, ResourceStatistics,
    SlaveInfo, TaskId, TaskInfo, TaskState, TaskStatus,
};
use mesos::resources::Resources;
use mesos::state::{InMemoryStorage, State};
use slave::containerizer::{ContainerConfig, ContainerTermination, Containerizer, ContainerizerError, LaunchResult};
use slave::slave::{Options, Slave, SlaveHandle};
use slave::status_update_manager::TaskStatusUpdateManager;

// ----- executors inside the instance -----

/// Runs each task until killed, or finishes it at once if its command is `true`.
struct TestExecutor;

impl TestExecutor {
    fn status(task_id: &TaskId, state: TaskState) -> TaskStatus {
        TaskStatus { task_id: task_id.clone(), state: state as i32, ..TaskStatus::default() }
    }
}

impl Executor for TestExecutor {
    fn registered(&mut self, _: &dyn ExecutorDriver, _: &ExecutorInfo, _: &FrameworkInfo, _: &SlaveInfo) {}
    fn reregistered(&mut self, _: &dyn ExecutorDriver, _: &SlaveInfo) {}
    fn disconnected(&mut self, _: &dyn ExecutorDriver) {}
    fn launch_task(&mut self, driver: &dyn ExecutorDriver, task: &TaskInfo) {
        driver.send_status_update(Self::status(&task.task_id, TaskState::TaskRunning));
        let command = task.command.as_ref().and_then(|c| c.value.as_deref());
        if command == Some("true") {
            driver.send_status_update(Self::status(&task.task_id, TaskState::TaskFinished));
        }
    }
    fn kill_task(&mut self, driver: &dyn ExecutorDriver, task_id: &TaskId) {
        driver.send_status_update(Self::status(task_id, TaskState::TaskKilled));
    }
    fn framework_message(&mut self, _: &dyn ExecutorDriver, _: &[u8]) {}
    fn shutdown(&mut self, driver: &dyn ExecutorDriver) {
        driver.stop();
    }
    fn error(&mut self, _: &dyn ExecutorDriver, _: &str) {}
}

#[derive(Default)]
struct Running {
    drivers: HashMap<String, Arc<MesosExecutorDriver>>,
    waiting: HashMap<String, Vec<Promise<Option<ContainerTermination>>>>,
    ended: HashMap<String, ContainerTermination>,
}

/// Starts an executor driver with the agent's environment for each container.
#[derive(Clone)]
struct DriverContainerizer {
    lp: Libprocess,
    running: Arc<Mutex<Running>>,
}

impl DriverContainerizer {
    fn end(&self, container: &str, termination: ContainerTermination) {
        let waiting = {
            let mut running = self.running.lock().unwrap();
            running.drivers.remove(container);
            running.ended.insert(container.to_string(), termination.clone());
            running.waiting.remove(container).unwrap_or_default()
        };
        for promise in waiting {
            promise.set(Some(termination.clone()));
        }
    }
}

impl Containerizer for DriverContainerizer {
    fn launch(
        &self,
        container_id: ContainerId,
        _config: ContainerConfig,
        environment: BTreeMap<String, String>,
        _pid: Option<std::path::PathBuf>,
    ) -> Future<Result<LaunchResult, ContainerizerError>> {
        let driver = MesosExecutorDriver::new(&self.lp, TestExecutor, environment).with_process_group_kill(|| {});
        let driver = Arc::new(driver);
        driver.start();
        self.running.lock().unwrap().drivers.insert(container_id.value.clone(), driver);
        Future::ready(Ok(LaunchResult::Success))
    }

    fn wait(&self, container_id: ContainerId) -> Future<Option<ContainerTermination>> {
        let mut running = self.running.lock().unwrap();
        if let Some(ended) = running.ended.get(&container_id.value) {
            return Future::ready(Some(ended.clone()));
        }
        if !running.drivers.contains_key(&container_id.value) {
            return Future::ready(None);
        }
        let promise = Promise::new();
        let future = promise.future();
        running.waiting.entry(container_id.value).or_default().push(promise);
        future
    }

    fn destroy(&self, container_id: ContainerId) -> Future<Option<ContainerTermination>> {
        let driver = self.running.lock().unwrap().drivers.get(&container_id.value).cloned();
        if let Some(driver) = driver {
            driver.stop();
        }
        let termination = ContainerTermination { status: Some(9), ..ContainerTermination::default() };
        self.end(&container_id.value, termination.clone());
        Future::ready(Some(termination))
    }

    fn kill(&self, _container_id: ContainerId, _signal: i32) -> Future<bool> {
        Future::ready(true)
    }

    fn usage(&self, _container_id: ContainerId) -> Future<Result<ResourceStatistics, ContainerizerError>> {
        Future::ready(Ok(ResourceStatistics::default()))
    }

    fn update(&self, _container_id: ContainerId, _resources: Vec<Resource>) -> Future<Result<(), ContainerizerError>> {
        Future::ready(Ok(()))
    }

    fn containers(&self) -> Future<Vec<ContainerId>> {
        let running = self.running.lock().unwrap();
        Future::ready(
            running.drivers.keys().map(|id| ContainerId { value: id.clone(), ..ContainerId::default() }).collect(),
        )
    }
}

// ----- the scheduler -----

type Heard = Arc<Mutex<Vec<(UPID, String, Bytes)>>>;

struct Scheduler {
    heard: Heard,
}

impl Process for Scheduler {
    fn initialize(&mut self, ctx: &mut Context<Self>) {
        for name in [
            libprocess::protobuf::type_name::<FrameworkRegisteredMessage>(),
            libprocess::protobuf::type_name::<ResourceOffersMessage>(),
            libprocess::protobuf::type_name::<StatusUpdateMessage>(),
        ] {
            ctx.install(name, move |this: &mut Scheduler, _ctx, from: &UPID, body: Bytes| {
                this.heard.lock().unwrap().push((from.clone(), name.to_string(), body));
            });
        }
    }
}

struct Cluster {
    lp: Libprocess,
    master: MasterHandle,
    agent: SlaveHandle,
    scheduler: PID<Scheduler>,
    heard: Heard,
    containerizer: DriverContainerizer,
    _work_dir: tempfile::TempDir,
}

impl Cluster {
    async fn start() -> Cluster {
        let lp = common::instance().await;
        lp.clock().pause();
        let flags = MasterFlags::load(&["mesos-master", "--registry=in_memory"], Some(Vec::new())).unwrap().flags;
        let flags: MasterFlags = (*flags).clone();
        let allocator = Allocator::create(&lp).unwrap();
        let registrar =
            Registrar::new(&lp, flags.registrar_flags(), State::new(Arc::new(InMemoryStorage::new()))).unwrap();
        let info = master_info(lp.address(), &flags);
        let master = Master::spawn(&lp, Master::new(flags, allocator, registrar, info)).unwrap();
        lp.settle().await;
        assert!(within(master.recovered()).await.unwrap());

        let work_dir = tempfile::tempdir().unwrap();
        let containerizer = DriverContainerizer { lp: lp.clone(), running: Arc::default() };
        let detector = Arc::new(StandaloneMasterDetector::new(Some(create_master_info(master.pid().upid()))));
        let info = SlaveInfo {
            hostname: "agent.example".into(),
            port: Some(i32::from(lp.address().port())),
            resources: Resources::parse("cpus:4;mem:4096;disk:1024", "*").unwrap().to_vec(),
            checkpoint: Some(true),
            ..SlaveInfo::default()
        };
        let manager = TaskStatusUpdateManager::create(&lp, work_dir.path()).unwrap();
        let slave = Slave::new(
            info,
            Options::new(work_dir.path().to_path_buf()),
            detector,
            Arc::new(containerizer.clone()),
            manager,
        );
        let agent = SlaveHandle::spawn(&lp, slave).unwrap();
        let heard: Heard = Arc::default();
        let scheduler = lp.spawn("scheduler(1)", Scheduler { heard: heard.clone() }).unwrap();
        let cluster = Cluster { lp, master, agent, scheduler, heard, containerizer, _work_dir: work_dir };
        // The agent registers within its backoff.
        within(cluster.lp.settle()).await;
        cluster.step(Duration::from_secs(1)).await;
        assert!(within(cluster.agent.slave_id()).await.unwrap().is_some(), "the agent registered");
        cluster
    }

    async fn step(&self, by: Duration) {
        self.lp.clock().advance(by);
        within(self.lp.settle()).await;
    }

    fn all<M: ProtobufMessage>(&self) -> Vec<(UPID, M)> {
        let name = libprocess::protobuf::type_name::<M>();
        let heard = self.heard.lock().unwrap();
        heard.iter().filter(|(_, n, _)| n == name).map(|(f, _, b)| (f.clone(), M::decode(b.clone()).unwrap())).collect()
    }

    fn call(&self, call: &Call) {
        self.lp.post_protobuf(self.scheduler.upid(), self.master.pid().upid(), call);
    }

    async fn subscribe(&self) -> FrameworkId {
        let info = FrameworkInfo {
            user: "user".into(),
            name: "in-process".into(),
            roles: vec!["*".into()],
            capabilities: vec![mesos::proto::framework_info::Capability {
                r#type: Some(mesos::proto::framework_info::capability::Type::MultiRole as i32),
            }],
            checkpoint: Some(true),
            ..FrameworkInfo::default()
        };
        self.call(&Call {
            r#type: Some(CallType::Subscribe as i32),
            subscribe: Some(Subscribe { framework_info: info, ..Subscribe::default() }),
            ..Call::default()
        });
        within(self.lp.settle()).await;
        self.all::<FrameworkRegisteredMessage>().last().expect("registered").1.framework_id.clone()
    }

    /// Launches `task` running `command` on the first offer.
    async fn launch(&self, framework_id: &FrameworkId, task: &str, command: &str) {
        self.step(Duration::from_secs(1)).await;
        let offers = self.all::<ResourceOffersMessage>();
        let offer = offers.last().and_then(|(_, m)| m.offers.first().cloned()).expect("an offer");
        let mut resources = Resources::parse("cpus:1;mem:128", "*").unwrap();
        resources.allocate("*");
        let task = TaskInfo {
            name: task.into(),
            task_id: TaskId { value: task.into() },
            slave_id: offer.slave_id.clone(),
            resources: resources.to_vec(),
            command: Some(CommandInfo { value: Some(command.into()), ..CommandInfo::default() }),
            ..TaskInfo::default()
        };
        let launch = Operation {
            r#type: Some(OperationType::Launch as i32),
            launch: Some(Launch { task_infos: vec![task] }),
            ..Operation::default()
        };
        self.call(&Call {
            framework_id: Some(framework_id.clone()),
            r#type: Some(CallType::Accept as i32),
            accept: Some(Accept {
                offer_ids: vec![offer.id],
                operations: vec![launch],
                filters: Some(Filters { refuse_seconds: Some(1.0) }),
            }),
            ..Call::default()
        });
        within(self.lp.settle()).await;
    }

    /// The task states the scheduler heard, in order, with the sender of each update.
    fn updates(&self) -> Vec<(UPID, StatusUpdateMessage)> {
        self.all::<StatusUpdateMessage>()
    }

    fn states(&self) -> Vec<TaskState> {
        self.updates().iter().map(|(_, m)| TaskState::try_from(m.update.status.state).unwrap()).collect()
    }

    fn acknowledge(&self, framework_id: &FrameworkId, message: &StatusUpdateMessage) {
        let status = &message.update.status;
        self.call(&Call {
            framework_id: Some(framework_id.clone()),
            r#type: Some(CallType::Acknowledge as i32),
            acknowledge: Some(Acknowledge {
                slave_id: status.slave_id.clone().unwrap(),
                task_id: status.task_id.clone(),
                uuid: status.uuid.clone().unwrap(),
            }),
            ..Call::default()
        });
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_task_runs_on_the_real_agent_and_its_updates_reach_the_scheduler_in_order() {
    let cluster = Cluster::start().await;
    let framework_id = cluster.subscribe().await;
    cluster.launch(&framework_id, "t1", "true").await;

    // The agent sends one update at a time: RUNNING first, FINISHED after its ack.
    assert_eq!(cluster.states(), [TaskState::TaskRunning]);
    let (from, running) = cluster.updates()[0].clone();
    assert_eq!(running.pid.as_deref(), Some(cluster.agent.pid.upid().to_string().as_str()));
    assert_eq!(from, *cluster.master.pid().upid());
    assert_eq!(running.update.status.source, Some(mesos::proto::task_status::Source::Executor as i32));

    // Unacknowledged, the update is sent again after 10 s.
    cluster.step(Duration::from_secs(10)).await;
    assert_eq!(cluster.states(), [TaskState::TaskRunning, TaskState::TaskRunning]);

    cluster.acknowledge(&framework_id, &running);
    within(cluster.lp.settle()).await;
    assert_eq!(cluster.states(), [TaskState::TaskRunning, TaskState::TaskRunning, TaskState::TaskFinished]);
    let finished = cluster.updates()[2].1.clone();
    cluster.acknowledge(&framework_id, &finished);
    within(cluster.lp.settle()).await;

    // The master moved the task to its completed ones, and the agent completed it too.
    assert!(within(cluster.master.tasks()).await.unwrap().is_empty());
    let tasks = within(cluster.agent.tasks()).await.unwrap();
    assert_eq!(tasks.len(), 1);
    assert_eq!(tasks[0].state, TaskState::TaskFinished as i32);
    // No more retries once acknowledged.
    cluster.step(Duration::from_secs(600)).await;
    assert_eq!(cluster.states().len(), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kill_from_the_scheduler_reaches_the_executor_and_teardown_shuts_it_down() {
    let cluster = Cluster::start().await;
    let framework_id = cluster.subscribe().await;
    cluster.launch(&framework_id, "t1", "sleep 1000").await;
    assert_eq!(cluster.states(), [TaskState::TaskRunning]);
    let running = cluster.updates()[0].1.clone();
    cluster.acknowledge(&framework_id, &running);
    within(cluster.lp.settle()).await;

    cluster.call(&Call {
        framework_id: Some(framework_id.clone()),
        r#type: Some(CallType::Kill as i32),
        kill: Some(Kill { task_id: TaskId { value: "t1".into() }, ..Kill::default() }),
        ..Call::default()
    });
    within(cluster.lp.settle()).await;
    assert_eq!(cluster.states(), [TaskState::TaskRunning, TaskState::TaskKilled]);
    let killed = cluster.updates()[1].1.clone();
    cluster.acknowledge(&framework_id, &killed);
    within(cluster.lp.settle()).await;

    // Teardown: the agent shuts the executor down; its container ends after the grace.
    cluster.call(&Call {
        framework_id: Some(framework_id.clone()),
        r#type: Some(CallType::Teardown as i32),
        ..Call::default()
    });
    within(cluster.lp.settle()).await;
    cluster.step(Duration::from_secs(5)).await;
    assert!(within(cluster.agent.executors()).await.unwrap().is_empty(), "the executor is gone");
    assert!(cluster.containerizer.running.lock().unwrap().drivers.is_empty());
}

// ----- the scheduler driver against the real master and agent -----

/// Launches one `true` task on the first offer and records the states it hears.
struct OneTask {
    launched: bool,
    states: Arc<Mutex<Vec<TaskState>>>,
}

impl mesos::sched::Scheduler for OneTask {
    fn registered(&mut self, _: &dyn mesos::sched::SchedulerDriver, _: &FrameworkId, _: &mesos::proto::MasterInfo) {}
    fn reregistered(&mut self, _: &dyn mesos::sched::SchedulerDriver, _: &mesos::proto::MasterInfo) {}
    fn disconnected(&mut self, _: &dyn mesos::sched::SchedulerDriver) {}
    fn resource_offers(&mut self, driver: &dyn mesos::sched::SchedulerDriver, offers: &[mesos::proto::Offer]) {
        for offer in offers {
            if self.launched {
                driver.decline_offer(offer.id.clone(), Filters::default());
                continue;
            }
            self.launched = true;
            let mut resources = Resources::parse("cpus:1;mem:128", "*").unwrap();
            resources.allocate("*");
            let task = TaskInfo {
                name: "driven".into(),
                task_id: TaskId { value: "driven".into() },
                slave_id: offer.slave_id.clone(),
                resources: resources.to_vec(),
                command: Some(CommandInfo { value: Some("true".into()), ..CommandInfo::default() }),
                ..TaskInfo::default()
            };
            driver.launch_tasks(vec![offer.id.clone()], vec![task], Filters::default());
        }
    }
    fn offer_rescinded(&mut self, _: &dyn mesos::sched::SchedulerDriver, _: &mesos::proto::OfferId) {}
    fn status_update(&mut self, driver: &dyn mesos::sched::SchedulerDriver, status: &TaskStatus) {
        let state = TaskState::try_from(status.state).unwrap();
        self.states.lock().unwrap().push(state);
        if state == TaskState::TaskFinished {
            driver.stop(false);
        }
    }
    fn framework_message(
        &mut self,
        _: &dyn mesos::sched::SchedulerDriver,
        _: &mesos::proto::ExecutorId,
        _: &mesos::proto::SlaveId,
        _: &[u8],
    ) {
    }
    fn slave_lost(&mut self, _: &dyn mesos::sched::SchedulerDriver, _: &mesos::proto::SlaveId) {}
    fn executor_lost(
        &mut self,
        _: &dyn mesos::sched::SchedulerDriver,
        _: &mesos::proto::ExecutorId,
        _: &mesos::proto::SlaveId,
        _: i32,
    ) {
    }
    fn error(&mut self, _: &dyn mesos::sched::SchedulerDriver, _: &str) {}
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_v0_scheduler_driver_runs_a_task_to_finished_with_implicit_acknowledgements() {
    use mesos::sched::{MesosSchedulerDriver, SchedulerDriver};
    let cluster = Cluster::start().await;
    let states = Arc::new(Mutex::new(Vec::new()));
    let framework = FrameworkInfo { user: "user".into(), name: "driven".into(), ..FrameworkInfo::default() };
    let detector = Arc::new(StandaloneMasterDetector::new(Some(create_master_info(cluster.master.pid().upid()))));
    let driver = MesosSchedulerDriver::with_detector(
        &cluster.lp,
        OneTask { launched: false, states: states.clone() },
        framework,
        detector,
        true,
        Vec::new(),
    );
    assert_eq!(driver.start(), mesos::proto::Status::DriverRunning);
    within(cluster.lp.settle()).await;
    // Registration, then an allocation run.
    cluster.step(Duration::from_secs(1)).await;
    cluster.step(Duration::from_secs(1)).await;
    assert_eq!(*states.lock().unwrap(), [TaskState::TaskRunning, TaskState::TaskFinished]);
    // Every update was acknowledged (implicitly): the master completed the task, and the
    // agent's status update manager retries nothing.
    assert!(within(cluster.master.tasks()).await.unwrap().is_empty());
    cluster.step(Duration::from_secs(60)).await;
    assert_eq!(states.lock().unwrap().len(), 2);
    assert_eq!(driver.status(), mesos::proto::Status::DriverStopped);
}
