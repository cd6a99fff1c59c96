//! End-to-end launch throughput and latency on a local cluster: a framework on the v0 scheduler driver runs short command tasks through the real master, allocator, agents, POSIX containerizer and `mesos-executor` processes; no C++ counterpart (run the same shape against C++ `mesos-local` to compare).
//!
//! `cargo build --release -p mesos-agent --bins && cargo bench --bench framework_launch [-- --quick | --tasks=N | --agents=N]`
//!
//! Default: 1,000 tasks on 10 agents (`--quick`: 50 tasks on 2 agents). Everything runs in
//! this process's libprocess instance (`frameworks::local::LocalCluster`) except the
//! executors, which are `mesos-executor` processes found next to this benchmark
//! (`target/release/`, as `agent_launch` does); each agent offers 2 CPUs and 4 GB, each task
//! takes `cpus:0.1;mem:16` (plus the command executor's `cpus:0.1;mem:32`), so 10 tasks run
//! at once per agent and later ones wait for resources to come back. The task is `true`.
//!
//! Printed: tasks per second from the framework's registration to the last
//! `TASK_FINISHED`, and the p50/p99 (nearest rank) of each task's time from the ACCEPT
//! that launched it to its `TASK_RUNNING` and to its `TASK_FINISHED` reaching the
//! scheduler; also how many offers were used.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use frameworks::local::{LocalCluster, LocalFlags};
use libprocess::{Config, Libprocess};
use mesos::proto::{
    CommandInfo, ExecutorId, FrameworkId, FrameworkInfo, MasterInfo, Offer, OfferId, SlaveId, TaskId, TaskInfo,
    TaskState, TaskStatus,
};
use mesos::resources::Resources;
use mesos::sched::{MesosSchedulerDriver, Scheduler, SchedulerDriver, Status};

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

const EXECUTOR: &str = "mesos-executor";

#[derive(Default)]
struct Times {
    registered: Option<Instant>,
    accepted: HashMap<String, Instant>,
    running: HashMap<String, Duration>,
    finished: HashMap<String, Duration>,
    failed: Vec<String>,
    offers_used: usize,
}

struct Launcher {
    total: usize,
    launched: usize,
    done: usize,
    resources: Resources,
    times: Arc<Mutex<Times>>,
}

impl Scheduler for Launcher {
    fn registered(&mut self, _: &dyn SchedulerDriver, _: &FrameworkId, _: &MasterInfo) {
        self.times.lock().unwrap().registered = Some(Instant::now());
    }
    fn reregistered(&mut self, _: &dyn SchedulerDriver, _: &MasterInfo) {}
    fn disconnected(&mut self, _: &dyn SchedulerDriver) {}
    fn resource_offers(&mut self, driver: &dyn SchedulerDriver, offers: &[Offer]) {
        for offer in offers {
            let mut remaining: Resources = offer.resources.iter().cloned().collect();
            // Room for the command executor too.
            let mut needed = self.resources.clone();
            // (Offers to a framework without MULTI_ROLE carry no allocation info.)
            needed += &Resources::parse("cpus:0.1;mem:32", "*").unwrap();
            let mut tasks = Vec::new();
            while self.launched < self.total && remaining.contains(&needed) {
                remaining -= &needed;
                let id = format!("task-{}", self.launched);
                self.launched += 1;
                tasks.push(TaskInfo {
                    name: id.clone(),
                    task_id: TaskId { value: id },
                    slave_id: offer.slave_id.clone(),
                    resources: self.resources.to_vec(),
                    command: Some(CommandInfo { value: Some("true".into()), ..CommandInfo::default() }),
                    ..TaskInfo::default()
                });
            }
            if tasks.is_empty() {
                driver.decline_offer(offer.id.clone(), Default::default());
                continue;
            }
            let now = Instant::now();
            {
                let mut times = self.times.lock().unwrap();
                times.offers_used += 1;
                for task in &tasks {
                    times.accepted.insert(task.task_id.value.clone(), now);
                }
            }
            driver.launch_tasks(vec![offer.id.clone()], tasks, Default::default());
        }
    }
    fn offer_rescinded(&mut self, _: &dyn SchedulerDriver, _: &OfferId) {}
    fn status_update(&mut self, driver: &dyn SchedulerDriver, status: &TaskStatus) {
        let now = Instant::now();
        let mut times = self.times.lock().unwrap();
        let id = status.task_id.value.clone();
        let Some(accepted) = times.accepted.get(&id).copied() else { return };
        match status.state() {
            TaskState::TaskRunning => {
                times.running.insert(id, now - accepted);
            }
            TaskState::TaskFinished => {
                times.finished.insert(id, now - accepted);
                self.done += 1;
            }
            state if mesos::protobuf_utils::is_terminal_state(state) => {
                times.failed.push(format!("{id}: {} {}", state.as_str_name(), status.message.as_deref().unwrap_or("")));
                self.done += 1;
            }
            _ => {}
        }
        if self.done == self.total {
            driver.stop(false);
        }
    }
    fn framework_message(&mut self, _: &dyn SchedulerDriver, _: &ExecutorId, _: &SlaveId, _: &[u8]) {}
    fn slave_lost(&mut self, _: &dyn SchedulerDriver, _: &SlaveId) {}
    fn executor_lost(&mut self, _: &dyn SchedulerDriver, _: &ExecutorId, _: &SlaveId, _: i32) {}
    fn error(&mut self, _: &dyn SchedulerDriver, message: &str) {
        eprintln!("framework error: {message}");
    }
}

fn default_launcher_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("the benchmark's own path");
    exe.parent().and_then(Path::parent).map(Path::to_path_buf).unwrap_or_default()
}

fn percentile(values: &mut [Duration], p: f64) -> Duration {
    values.sort();
    if values.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((p * values.len() as f64).ceil() as usize).clamp(1, values.len());
    values[rank - 1]
}

fn ms(d: Duration) -> String {
    format!("{:.1}ms", d.as_secs_f64() * 1e3)
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let quick = args.iter().any(|arg| arg == "--quick");
    let flag = |name: &str| args.iter().find_map(|arg| arg.strip_prefix(name)?.parse::<usize>().ok());
    let tasks = flag("--tasks=").unwrap_or(if quick { 50 } else { 1000 });
    let agents = flag("--agents=").unwrap_or(if quick { 2 } else { 10 });
    let launcher_dir = default_launcher_dir();
    if !launcher_dir.join(EXECUTOR).is_file() {
        eprintln!(
            "{EXECUTOR} is not built in {}.\n`cargo bench` does not build the agent's programs: run\n    cargo build \
             --release -p mesos-agent --bins\nfirst.",
            launcher_dir.display()
        );
        std::process::exit(2);
    }
    let rust_log = std::env::var("RUST_LOG").ok();
    let _ = mesos::logging::initialize(false, "WARNING", rust_log.as_deref());
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    let config = Config { ip: Some(std::net::Ipv4Addr::LOCALHOST), port: 0, ..Config::default() };
    let lp = runtime.block_on(Libprocess::initialize(config)).expect("libprocess starts");
    let environment: BTreeMap<String, String> = [
        ("MESOS_LAUNCHER_DIR", launcher_dir.display().to_string()),
        ("MESOS_RESOURCES", "cpus:2;mem:4096;disk:4096;ports:[31000-32000]".into()),
        ("MESOS_HOSTNAME", "localhost".into()),
        ("MESOS_REGISTRATION_BACKOFF_FACTOR", "10ms".into()),
        ("MESOS_SWITCH_USER", "false".into()),
        // Not the 1 s default: the benchmark measures launches, not the batching of offers.
        ("MESOS_ALLOCATION_INTERVAL", "50ms".into()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    let local = LocalFlags { work_dir: None, num_slaves: agents as i32 };
    let cluster = LocalCluster::launch_with(&lp, &local, &environment).expect("the local cluster starts");
    // Wait for every agent before the framework subscribes, so the first offers cover all.
    let state_url = format!("{}", cluster.master.address());
    runtime.block_on(async {
        for _ in 0..500 {
            if registered_agents(&state_url).await >= agents {
                return;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        panic!("the agents did not register");
    });

    let times = Arc::new(Mutex::new(Times::default()));
    let resources = Resources::parse("cpus:0.1;mem:16", "*").unwrap();
    let scheduler = Launcher { total: tasks, launched: 0, done: 0, resources, times: times.clone() };
    let framework = FrameworkInfo { name: "framework_launch".into(), ..FrameworkInfo::default() };
    let master = format!("{}", cluster.master);
    let driver = MesosSchedulerDriver::new(&lp, scheduler, framework, &master, true, BTreeMap::new());
    let status = driver.run();
    let end = Instant::now();
    assert_eq!(status, Status::DriverStopped);

    let times = times.lock().unwrap();
    let elapsed = end - times.registered.expect("registered");
    let mut running: Vec<Duration> = times.running.values().copied().collect();
    let mut finished: Vec<Duration> = times.finished.values().copied().collect();
    println!(
        "framework_launch: {tasks} tasks on {agents} agents: {:.1} tasks/s ({} from registration to the last \
         terminal update, {} offers used)",
        tasks as f64 / elapsed.as_secs_f64(),
        ms(elapsed),
        times.offers_used
    );
    println!(
        "  ACCEPT -> TASK_RUNNING:  p50 {}  p99 {}   ACCEPT -> TASK_FINISHED: p50 {}  p99 {}",
        ms(percentile(&mut running, 0.50)),
        ms(percentile(&mut running, 0.99)),
        ms(percentile(&mut finished, 0.50)),
        ms(percentile(&mut finished, 0.99)),
    );
    if !times.failed.is_empty() {
        eprintln!("{} task(s) did not finish, e.g. {}", times.failed.len(), times.failed[0]);
        std::process::exit(1);
    }
    drop(driver);
    cluster.shutdown();
    runtime.block_on(async {
        let _ = tokio::time::timeout(Duration::from_secs(5), lp.shutdown()).await;
    });
}

/// `activated_slaves` from the master's `/state`.
async fn registered_agents(address: &str) -> usize {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let Ok(mut stream) = tokio::net::TcpStream::connect(address).await else { return 0 };
    let request = format!("GET /master/state HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n");
    if stream.write_all(request.as_bytes()).await.is_err() {
        return 0;
    }
    let mut response = Vec::new();
    let _ = stream.read_to_end(&mut response).await;
    let text = String::from_utf8_lossy(&response);
    let Some((_, body)) = text.split_once("\r\n\r\n") else { return 0 };
    serde_json::from_str::<serde_json::Value>(body)
        .ok()
        .and_then(|state| state["activated_slaves"].as_f64())
        .map_or(0, |n| n as usize)
}
