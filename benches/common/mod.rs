//! The large cluster the master benchmarks measure, built through the master's real message flows (shared by `master_state.rs` and `operator_state.rs`); mirrors the setup of `MasterStateQuery_BENCHMARK_Test` in `src/tests/master_benchmarks.cpp`.
//!
//! Fake agents reregister with running tasks of five frameworks (which the master recovers
//! from their reports), five fake schedulers subscribe as those frameworks (with their role
//! suppressed, so no offers are made), then the agents report some of the tasks
//! `TASK_FINISHED` and the schedulers acknowledge every update, which moves those tasks to
//! the frameworks' completed tasks. Each task carries ten labels, as in C++.
// Each benchmark binary compiles this module on its own and uses only part of it.
#![allow(dead_code)]

use std::net::Ipv4Addr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use libprocess::{duration, Config, Context, Libprocess, Process, UPID};
use master::allocator::Allocator;
use master::flags::MasterFlags;
use master::master::{master_info, Master, MasterHandle, PROCESS_ID};
use master::registrar::Registrar;
use mesos::internal::{
    FrameworkRegisteredMessage, PingSlaveMessage, PongSlaveMessage, ReregisterSlaveMessage, SlaveReregisteredMessage,
    StatusUpdate, StatusUpdateAcknowledgementMessage, StatusUpdateMessage,
};
use mesos::proto::scheduler::call::{Acknowledge, Subscribe, Type as CallType};
use mesos::proto::scheduler::Call;
use mesos::proto::task_status::Source;
use mesos::proto::{
    FrameworkId, FrameworkInfo, Label, Labels, Resource, SlaveId, SlaveInfo, Task, TaskId, TaskState, TaskStatus,
};
use mesos::resources::Resources;
use mesos::state::{InMemoryStorage, State, Uuid};
use mesos::version::VersionProcess;

/// The arguments both benchmarks take: `--quick` (100 agents), `--agents=N`,
/// `--completed=N` (per framework and agent), `--renders=N`, `--pause=S`,
/// `--stream-over=BYTES`.
pub fn shape_from_args(args: &[String]) -> Shape {
    let quick = args.iter().any(|arg| arg == "--quick");
    let agents = args.iter().find_map(|arg| arg.strip_prefix("--agents=")?.parse().ok());
    let agents = agents.unwrap_or(if quick { 100 } else { 20_000 });
    let completed = args.iter().find_map(|arg| arg.strip_prefix("--completed=")?.parse().ok()).unwrap_or(2);
    let renders = args.iter().find_map(|arg| arg.strip_prefix("--renders=")?.parse().ok()).unwrap_or(3);
    let pause = args.iter().find_map(|arg| arg.strip_prefix("--pause=")?.parse().ok()).unwrap_or(0);
    let stream_over = args.iter().find_map(|arg| arg.strip_prefix("--stream-over=")?.parse().ok());
    let stream_over = stream_over.or(quick.then_some(0));
    Shape {
        agents,
        frameworks: 5,
        running_per_framework: 2,
        completed_per_framework: completed,
        renders,
        pause,
        stream_over,
    }
}

/// A multi-threaded runtime with a worker per core, as the daemons run.
pub fn runtime() -> tokio::runtime::Runtime {
    let workers = std::thread::available_parallelism().map_or(1, |n| n.get());
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(workers)
        .enable_all()
        .build()
        .expect("failed to build the tokio runtime")
}

/// An instance with a recovered master holding the cluster of `shape`, quiet (settled),
/// after the optional `--pause`.
/// The fake agents' UPIDs come back too, in agent order (`agent<N>`).
pub async fn build(shape: Shape) -> (Libprocess, MasterHandle, Vec<UPID>) {
    let lp = Libprocess::initialize(Config { ip: Some(Ipv4Addr::LOCALHOST), ..Config::default() })
        .await
        .expect("failed to initialize libprocess");
    let master = start_master(&lp, shape);
    // Messages are dropped until the registry is recovered.
    while !master.recovered().await.expect("the master runs") {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let counters = Arc::new(Counters::default());

    println!(
        "Test setup: {} agents with a total of {} running tasks and {} completed tasks",
        shape.agents,
        shape.running(),
        shape.completed()
    );
    let setup = Instant::now();
    let agents = reregister_agents(&lp, &master, shape, &counters).await;
    subscribe_schedulers(&lp, &master, shape, &counters).await;
    finish_tasks(&lp, &master, shape, &agents, &counters).await;
    eprintln!("(setup took {})", duration::format(setup.elapsed()));

    if let Some(bytes) = shape.stream_over {
        master.stream_documents_over(bytes).await.expect("the master takes the threshold");
    }
    // As C++ does, the master is quiet before the clock starts.
    lp.settle().await;
    if shape.pause > 0 {
        // Time to attach a profiler to the requests alone.
        eprintln!("(pausing {}s)", shape.pause);
        tokio::time::sleep(Duration::from_secs(shape.pause)).await;
    }
    (lp, master, agents)
}

/// The cluster's shape (C++ parameters `(20000, 5, 2, 5, 2)`).
#[derive(Clone, Copy, Debug)]
pub struct Shape {
    pub agents: usize,
    pub frameworks: usize,
    pub running_per_framework: usize,
    pub completed_per_framework: usize,
    /// How many times the JSON is generated without HTTP.
    pub renders: usize,
    /// Seconds to wait between the setup and the requests.
    pub pause: u64,
    /// Documents expected to be larger than this are streamed (chunked); the master's own
    /// threshold when `None`. `--quick` streams every document, so that the smoke run
    /// checks the streamed answers too.
    pub stream_over: Option<usize>,
}

impl Shape {
    pub fn running(&self) -> usize {
        self.agents * self.frameworks * self.running_per_framework
    }

    pub fn completed(&self) -> usize {
        self.agents * self.frameworks * self.completed_per_framework
    }
}

/// How long setup steps may take before the benchmark gives up.
const SETUP_TIMEOUT: Duration = Duration::from_secs(600);

pub fn start_master(lp: &Libprocess, shape: Shape) -> MasterHandle {
    // No periodic allocation runs during the measurement.
    let argv = ["mesos-master", "--registry=in_memory", "--allocation_interval=1hrs"];
    let loaded = MasterFlags::load(&argv, Some(Vec::new())).expect("master flags");
    let mut flags = (*loaded.flags).clone();
    flags.max_completed_tasks_per_framework = shape.agents * shape.completed_per_framework;
    let allocator = Allocator::create(lp).expect("allocator spawns");
    let registrar = Registrar::new(lp, flags.registrar_flags(), State::new(Arc::new(InMemoryStorage::new())))
        .expect("registrar spawns");
    let info = master_info(lp.address(), &flags);
    let master = Master::spawn(lp, Master::new(flags, allocator, registrar, info)).expect("master spawns");
    VersionProcess::spawn(lp).expect("version spawns");
    lp.set_delegate(Some(PROCESS_ID));
    master
}

#[derive(Default)]
pub struct Counters {
    reregistered: AtomicUsize,
    subscribed: AtomicUsize,
    acknowledged: AtomicUsize,
}

/// Waits until `counter` reaches `target`.
pub async fn wait_for(what: &str, counter: &AtomicUsize, target: usize) {
    let deadline = Instant::now() + SETUP_TIMEOUT;
    while counter.load(Ordering::Acquire) < target {
        assert!(
            Instant::now() < deadline,
            "{what}: {} of {target} after {SETUP_TIMEOUT:?}",
            counter.load(Ordering::Acquire)
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A fake agent: answers pings, counts reregistrations and acknowledgements.
struct FakeAgent {
    counters: Arc<Counters>,
}

impl Process for FakeAgent {
    fn initialize(&mut self, ctx: &mut Context<Self>) {
        ctx.install_protobuf(|this: &mut Self, _ctx, _from, _m: SlaveReregisteredMessage| {
            this.counters.reregistered.fetch_add(1, Ordering::AcqRel);
        });
        ctx.install_protobuf(|_this: &mut Self, ctx, from: &UPID, _m: PingSlaveMessage| {
            ctx.send_protobuf(from, &PongSlaveMessage {});
        });
        ctx.install_protobuf(|this: &mut Self, _ctx, _from, _m: StatusUpdateAcknowledgementMessage| {
            this.counters.acknowledged.fetch_add(1, Ordering::AcqRel);
        });
    }
}

/// A fake scheduler driver: acknowledges every status update.
struct FakeScheduler {
    framework_id: FrameworkId,
    counters: Arc<Counters>,
}

impl Process for FakeScheduler {
    fn initialize(&mut self, ctx: &mut Context<Self>) {
        ctx.install_protobuf(|this: &mut Self, _ctx, _from, _m: FrameworkRegisteredMessage| {
            this.counters.subscribed.fetch_add(1, Ordering::AcqRel);
        });
        ctx.install_protobuf(|this: &mut Self, ctx, from: &UPID, m: StatusUpdateMessage| {
            let update = m.update;
            let acknowledge = Call {
                framework_id: Some(this.framework_id.clone()),
                r#type: Some(CallType::Acknowledge as i32),
                acknowledge: Some(Acknowledge {
                    slave_id: update.slave_id.unwrap_or_default(),
                    task_id: update.status.task_id,
                    uuid: update.uuid.unwrap_or_default(),
                }),
                ..Default::default()
            };
            ctx.send_protobuf(from, &acknowledge);
        });
    }
}

pub fn framework_id(index: usize) -> FrameworkId {
    FrameworkId { value: format!("framework{index}") }
}

/// C++ `DEFAULT_FRAMEWORK_INFO` with an id.
pub fn framework_info(index: usize) -> FrameworkInfo {
    FrameworkInfo {
        user: "user".into(),
        name: "default".into(),
        id: Some(framework_id(index)),
        principal: Some("test-principal".into()),
        ..Default::default()
    }
}

/// The id of the `j`th task of framework `f` on agent `a`; the completing ones come after the
/// running ones.
pub fn task_id(agent: usize, framework: usize, j: usize) -> TaskId {
    TaskId { value: format!("task-{agent}-{framework}-{j}") }
}

pub fn labels() -> Labels {
    Labels { labels: (0..10).map(|i| Label { key: format!("key{i}"), value: Some(format!("value{i}")) }).collect() }
}

/// Reregisters every agent with its tasks, all running (C++ `TestSlaveProcess`).
pub async fn reregister_agents(
    lp: &Libprocess,
    master: &MasterHandle,
    shape: Shape,
    counters: &Arc<Counters>,
) -> Vec<UPID> {
    let resources: Vec<Resource> = Resources::parse("cpus:20;mem:10240", "*").expect("resources").to_vec();
    let task_resources: Vec<Resource> = Resources::parse("cpus:0.1;mem:5", "*").expect("resources").to_vec();
    let labels = labels();
    let frameworks: Vec<FrameworkInfo> = (0..shape.frameworks).map(framework_info).collect();
    let per_framework = shape.running_per_framework + shape.completed_per_framework;
    let mut agents = Vec::with_capacity(shape.agents);
    for a in 0..shape.agents {
        let pid = lp
            .spawn(libprocess::id::generate("test-slave"), FakeAgent { counters: counters.clone() })
            .expect("agent spawns");
        let slave_id = SlaveId { value: format!("agent{a}") };
        let mut tasks = Vec::with_capacity(shape.frameworks * per_framework);
        for f in 0..shape.frameworks {
            for j in 0..per_framework {
                let mut task = Task {
                    name: "test-task".into(),
                    task_id: task_id(a, f, j),
                    framework_id: framework_id(f),
                    slave_id: slave_id.clone(),
                    resources: task_resources.clone(),
                    labels: Some(labels.clone()),
                    ..Default::default()
                };
                task.set_state(TaskState::TaskRunning);
                tasks.push(task);
            }
        }
        let message = ReregisterSlaveMessage {
            slave: SlaveInfo {
                hostname: slave_id.value.clone(),
                resources: resources.clone(),
                id: Some(slave_id),
                ..Default::default()
            },
            tasks,
            frameworks: frameworks.clone(),
            version: Some(mesos::version::MESOS_VERSION.into()),
            ..Default::default()
        };
        lp.post_protobuf(pid.upid(), master.pid().upid(), &message);
        agents.push(pid.upid().clone());
    }
    wait_for("agents reregistered", &counters.reregistered, shape.agents).await;
    agents
}

/// Subscribes one scheduler per framework, its role suppressed.
pub async fn subscribe_schedulers(lp: &Libprocess, master: &MasterHandle, shape: Shape, counters: &Arc<Counters>) {
    for f in 0..shape.frameworks {
        let scheduler = FakeScheduler { framework_id: framework_id(f), counters: counters.clone() };
        let pid = lp.spawn(libprocess::id::generate("scheduler"), scheduler).expect("scheduler spawns");
        let subscribe = Call {
            framework_id: Some(framework_id(f)),
            r#type: Some(CallType::Subscribe as i32),
            subscribe: Some(Subscribe {
                framework_info: framework_info(f),
                suppressed_roles: vec!["*".into()],
                ..Default::default()
            }),
            ..Default::default()
        };
        lp.post_protobuf(pid.upid(), master.pid().upid(), &subscribe);
    }
    wait_for("schedulers subscribed", &counters.subscribed, shape.frameworks).await;
}

/// Every agent reports its completing tasks finished; the schedulers acknowledge.
pub async fn finish_tasks(
    lp: &Libprocess,
    master: &MasterHandle,
    shape: Shape,
    agents: &[UPID],
    counters: &Arc<Counters>,
) {
    for (a, agent) in agents.iter().enumerate() {
        let slave_id = SlaveId { value: format!("agent{a}") };
        for f in 0..shape.frameworks {
            for j in shape.running_per_framework..shape.running_per_framework + shape.completed_per_framework {
                let uuid = Uuid::random().as_bytes().to_vec();
                let mut status = TaskStatus {
                    task_id: task_id(a, f, j),
                    slave_id: Some(slave_id.clone()),
                    uuid: Some(uuid.clone()),
                    timestamp: Some(1_700_000_000.0 + a as f64),
                    ..Default::default()
                };
                status.set_state(TaskState::TaskFinished);
                status.set_source(Source::Executor);
                let update = StatusUpdate {
                    framework_id: framework_id(f),
                    executor_id: None,
                    slave_id: Some(slave_id.clone()),
                    status,
                    timestamp: 1_700_000_000.0 + a as f64,
                    uuid: Some(uuid),
                    latest_state: None,
                };
                let message = StatusUpdateMessage { update, pid: Some(agent.to_string()) };
                lp.post_protobuf(agent, master.pid().upid(), &message);
            }
        }
    }
    wait_for("status updates acknowledged", &counters.acknowledged, shape.completed()).await;
}

/// Reads the body of an HTTP answer whose head is `head`, with `Content-Length` or chunked,
/// handing the data to `data` piece by piece as it arrives; `pending` holds what was read
/// past the head. Returns the body's size.
pub async fn read_body(
    stream: &mut tokio::net::TcpStream,
    head: &str,
    pending: Vec<u8>,
    mut data: impl FnMut(&[u8]),
) -> usize {
    let header = |name: &str| {
        head.lines().find_map(|line| {
            let (key, value) = line.split_once(':')?;
            key.trim().eq_ignore_ascii_case(name).then(|| value.trim().to_string())
        })
    };
    let mut input = Input { buffer: pending, start: 0 };
    if header("Transfer-Encoding").is_some_and(|value| value.eq_ignore_ascii_case("chunked")) {
        let mut size = 0;
        loop {
            let line_end = loop {
                if let Some(at) = memchr::memmem::find(input.available(), b"\r\n") {
                    break at;
                }
                input.more(stream).await;
            };
            let text = std::str::from_utf8(&input.available()[..line_end]).expect("a chunk size line");
            let length = usize::from_str_radix(text.split(';').next().unwrap_or("").trim(), 16).expect("hex size");
            input.consume(line_end + 2);
            if length == 0 {
                return size;
            }
            // The chunk's data, as it arrives, then its CRLF.
            let mut left = length;
            while left > 0 {
                if input.available().is_empty() {
                    input.more(stream).await;
                }
                let take = left.min(input.available().len());
                data(&input.available()[..take]);
                input.consume(take);
                left -= take;
            }
            while input.available().len() < 2 {
                input.more(stream).await;
            }
            assert_eq!(&input.available()[..2], b"\r\n", "a chunk ends with CRLF");
            input.consume(2);
            size += length;
        }
    }
    let length: usize =
        header("Content-Length").expect("a Content-Length or a chunked body").parse().expect("a length");
    let mut size = 0;
    loop {
        let take = (length - size).min(input.available().len());
        if take > 0 {
            data(&input.available()[..take]);
            size += take;
            input.consume(take);
        }
        if size == length {
            return size;
        }
        input.more(stream).await;
    }
}

/// Bytes read from a connection and not used yet: `buffer[start..]`.
struct Input {
    buffer: Vec<u8>,
    start: usize,
}

impl Input {
    fn available(&self) -> &[u8] {
        &self.buffer[self.start..]
    }

    fn consume(&mut self, n: usize) {
        self.start += n;
        if self.start == self.buffer.len() {
            self.buffer.clear();
            self.start = 0;
        }
    }

    /// Reads more. It is called when what is left is short (part of a line at most), so
    /// moving that to the front costs little.
    async fn more(&mut self, stream: &mut tokio::net::TcpStream) {
        use tokio::io::AsyncReadExt;
        if self.start > 0 {
            self.buffer.drain(..self.start);
            self.start = 0;
        }
        if self.buffer.capacity() - self.buffer.len() < 64 * 1024 {
            self.buffer.reserve(1 << 20);
        }
        let n = stream.read_buf(&mut self.buffer).await.expect("reads the body");
        assert!(n > 0, "connection closed in the body");
    }
}
