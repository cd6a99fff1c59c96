//! The master's `/master/state` under a large cluster; mirrors the v0 part of `MasterStateQuery_BENCHMARK_Test.GetState` in `src/tests/master_benchmarks.cpp`.
//!
//! `cargo bench --bench master_state [-- --quick | --agents=N | --completed=N | --renders=N | --pause=S]`
//!
//! The state is built through the master's real message flows, as C++ does: fake agents
//! reregister with running tasks of five frameworks (which the master recovers from their
//! reports), five fake schedulers subscribe as those frameworks (with their role suppressed, so
//! no offers are made), then the agents report half of the tasks `TASK_FINISHED` and the
//! schedulers acknowledge every update, which moves those tasks to the frameworks' completed
//! tasks. Each task carries ten labels, as in C++.
//!
//! Full size: 20,000 agents, 200,000 running and 200,000 completed tasks (so
//! `--max_completed_tasks_per_framework` is raised to 40,000). C++ sends its completed tasks in
//! the agents' `completed_frameworks`, of frameworks the master does not know, so its master
//! drops them and its `/state` holds only the running ones; this one serializes both.
//! `--completed=0` gives the state C++ ends up with (200,000 running tasks only). `--quick`
//! uses 100 agents; `--agents=N` and `--completed=N` (per framework and agent) change the
//! shape, `--renders=N` the number of JSON-only timings, `--pause=S` waits S seconds before
//! the requests (to attach a profiler).
//!
//! Prints C++'s lines (`Test setup: ...`, `v0 '/state' response took ...`), then the size of
//! the document and the time to generate the JSON alone, inside the master, without HTTP.
//!
//! The client scans the body as it arrives (counting task states) rather than keeping it.
//! The first request is the slowest: the master writes its document into memory it never
//! touched before, and a first write to a page costs a fault and a page of zeroes (on the
//! virtual machine measured here, about 0.8 ms per MB). The master renders into pooled
//! buffers (`mesos::buffers`), so the second and third requests time the rendering and the
//! transfer alone.

/// As in the `mesos-master` binary.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::net::{Ipv4Addr, SocketAddrV4};
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
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// The cluster's shape (C++ parameters `(20000, 5, 2, 5, 2)`).
#[derive(Clone, Copy, Debug)]
struct Shape {
    agents: usize,
    frameworks: usize,
    running_per_framework: usize,
    completed_per_framework: usize,
    /// How many times the JSON is generated without HTTP.
    renders: usize,
    /// Seconds to wait between the setup and the requests.
    pause: u64,
}

impl Shape {
    fn running(&self) -> usize {
        self.agents * self.frameworks * self.running_per_framework
    }

    fn completed(&self) -> usize {
        self.agents * self.frameworks * self.completed_per_framework
    }
}

/// How long setup steps may take before the benchmark gives up.
const SETUP_TIMEOUT: Duration = Duration::from_secs(600);

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let quick = args.iter().any(|arg| arg == "--quick");
    let agents = args.iter().find_map(|arg| arg.strip_prefix("--agents=")?.parse().ok());
    let agents = agents.unwrap_or(if quick { 100 } else { 20_000 });
    let completed = args.iter().find_map(|arg| arg.strip_prefix("--completed=")?.parse().ok()).unwrap_or(2);
    let renders = args.iter().find_map(|arg| arg.strip_prefix("--renders=")?.parse().ok()).unwrap_or(3);
    let pause = args.iter().find_map(|arg| arg.strip_prefix("--pause=")?.parse().ok()).unwrap_or(0);
    let shape =
        Shape { agents, frameworks: 5, running_per_framework: 2, completed_per_framework: completed, renders, pause };
    let workers = std::thread::available_parallelism().map_or(1, |n| n.get());
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(workers)
        .enable_all()
        .build()
        .expect("failed to build the tokio runtime");
    let name = "AgentFrameworkTaskCount/MasterStateQuery_BENCHMARK_Test.GetState";
    println!("[ RUN      ] {name}");
    let watch = Instant::now();
    runtime.block_on(get_state(shape));
    println!("[       OK ] {name} ({} ms)", watch.elapsed().as_millis());
}

async fn get_state(shape: Shape) {
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

    // As C++ does, the master is quiet before the clock starts.
    lp.settle().await;
    if shape.pause > 0 {
        // Time to attach a profiler to the requests alone.
        eprintln!("(pausing {}s)", shape.pause);
        tokio::time::sleep(Duration::from_secs(shape.pause)).await;
    }

    let mut size = 0;
    for _ in 0..3 {
        let watch = Instant::now();
        let scan = get(lp.address(), "/master/state").await;
        let elapsed = watch.elapsed();
        println!("v0 '/state' response took {}", duration::format(elapsed));
        scan.check(shape);
        size = scan.size;
    }
    println!("v0 '/state' response size: {size} bytes");
    for _ in 0..shape.renders {
        let watch = Instant::now();
        let rendered = master.render_state_for_benchmark().await.expect("the master renders its state");
        println!("v0 '/state' JSON generation took {}", duration::format(watch.elapsed()));
        assert!(rendered > 0);
    }
    lp.shutdown().await;
}

fn start_master(lp: &Libprocess, shape: Shape) -> MasterHandle {
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
struct Counters {
    reregistered: AtomicUsize,
    subscribed: AtomicUsize,
    acknowledged: AtomicUsize,
}

/// Waits until `counter` reaches `target`.
async fn wait_for(what: &str, counter: &AtomicUsize, target: usize) {
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

fn framework_id(index: usize) -> FrameworkId {
    FrameworkId { value: format!("framework{index}") }
}

/// C++ `DEFAULT_FRAMEWORK_INFO` with an id.
fn framework_info(index: usize) -> FrameworkInfo {
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
fn task_id(agent: usize, framework: usize, j: usize) -> TaskId {
    TaskId { value: format!("task-{agent}-{framework}-{j}") }
}

fn labels() -> Labels {
    Labels { labels: (0..10).map(|i| Label { key: format!("key{i}"), value: Some(format!("value{i}")) }).collect() }
}

/// Reregisters every agent with its tasks, all running (C++ `TestSlaveProcess`).
async fn reregister_agents(
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
async fn subscribe_schedulers(lp: &Libprocess, master: &MasterHandle, shape: Shape, counters: &Arc<Counters>) {
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
async fn finish_tasks(lp: &Libprocess, master: &MasterHandle, shape: Shape, agents: &[UPID], counters: &Arc<Counters>) {
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

/// What the client learnt of a `/master/state` body while reading it.
#[derive(Default)]
struct Scan {
    size: usize,
    first: Option<u8>,
    last: Option<u8>,
    running: usize,
    completed: usize,
}

impl Scan {
    /// The document holds every task once, in the expected state.
    fn check(&self, shape: Shape) {
        assert_eq!((self.first, self.last), (Some(b'{'), Some(b'}')), "a JSON object");
        assert_eq!((self.running, self.completed), (shape.running(), shape.completed()), "tasks in /master/state");
    }
}

/// Reads past the task states in a document, window by window.
struct TaskStates {
    finder: memchr::memmem::Finder<'static>,
    /// The end of the previous window, where a task state may begin.
    tail: Vec<u8>,
}

impl TaskStates {
    const PREFIX: &'static [u8] = br#""state":"TASK_"#;
    const RUNNING: &'static [u8] = br#""state":"TASK_RUNNING","resources""#;
    const FINISHED: &'static [u8] = br#""state":"TASK_FINISHED","resources""#;

    fn new() -> TaskStates {
        TaskStates { finder: memchr::memmem::Finder::new(Self::PREFIX), tail: Vec::new() }
    }

    /// Counts the task states that begin in `chunk`, or in the kept tail before it; with
    /// `last`, those of the very end too.
    fn feed(&mut self, chunk: &[u8], last: bool, scan: &mut Scan) {
        let keep = Self::FINISHED.len() - 1;
        if chunk.len() < 2 * keep {
            // Rare and small: joined to the tail.
            let mut window = std::mem::take(&mut self.tail);
            window.extend_from_slice(chunk);
            let end = if last { window.len() } else { window.len().saturating_sub(keep) };
            self.count(&window, end, scan);
            self.tail = window[end..].to_vec();
            return;
        }
        // States that begin in the tail (shorter than a state) end within `keep` bytes.
        if !self.tail.is_empty() {
            let mut joint = std::mem::take(&mut self.tail);
            let begun = joint.len();
            joint.extend_from_slice(&chunk[..keep]);
            self.count(&joint, begun, scan);
        }
        // A state that begins in the last `keep` bytes may not be whole yet: it is counted
        // with the next chunk.
        let end = if last { chunk.len() } else { chunk.len() - keep };
        self.count(chunk, end, scan);
        self.tail = chunk[end..].to_vec();
    }

    /// Counts the states of `window` that begin before `end`.
    fn count(&self, window: &[u8], end: usize, scan: &mut Scan) {
        for at in self.finder.find_iter(window).take_while(|&at| at < end) {
            let rest = &window[at..];
            if rest.starts_with(Self::RUNNING) {
                scan.running += 1;
            } else if rest.starts_with(Self::FINISHED) {
                scan.completed += 1;
            }
        }
    }
}

/// A plain `GET` on a fresh connection, expecting `200 OK`. The body is scanned as it
/// arrives rather than kept, as a streaming consumer would: kept, it would be 240 MB of
/// fresh client memory whose first touch (page faults and zeroing) costs about as much as
/// the master's whole rendering on a virtual machine, and the time is meant to be the
/// master's.
async fn get(address: SocketAddrV4, path: &str) -> Scan {
    let mut stream = TcpStream::connect(address).await.expect("connects");
    let request = format!("GET {path} HTTP/1.1\r\nHost: {address}\r\n\r\n");
    stream.write_all(request.as_bytes()).await.expect("writes");
    let mut buffer = Vec::with_capacity(64 * 1024);
    let head_end = loop {
        if let Some(end) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
            break end;
        }
        let mut chunk = [0u8; 8192];
        let n = stream.read(&mut chunk).await.expect("reads");
        assert!(n > 0, "connection closed before the headers");
        buffer.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buffer[..head_end]).into_owned();
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    let length: usize = head
        .lines()
        .find_map(|line| {
            let (name, value) = line.split_once(':')?;
            name.eq_ignore_ascii_case("Content-Length").then(|| value.trim().parse().ok()).flatten()
        })
        .expect("a Content-Length");

    let mut scan = Scan::default();
    let mut states = TaskStates::new();
    let mut chunk = buffer.split_off(head_end + 4);
    chunk.reserve(1 << 20);
    loop {
        scan.first = scan.first.or(chunk.first().copied());
        scan.last = chunk.last().copied().or(scan.last);
        scan.size += chunk.len();
        assert!(scan.size <= length, "more body than Content-Length");
        let last = scan.size == length;
        states.feed(&chunk, last, &mut scan);
        if last {
            return scan;
        }
        chunk.clear();
        let n = stream.read_buf(&mut chunk).await.expect("reads the body");
        assert!(n > 0, "connection closed in the body");
    }
}
