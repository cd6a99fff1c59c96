//! Command-task launches on one real agent: the agent actor, the POSIX containerizer and the `mesos-executor` program, timed from `RunTaskMessage` to `TASK_RUNNING`, with the memory each executor costs; no C++ counterpart.
//!
//! `cargo build --release -p mesos-agent --bins && cargo bench --bench agent_launch [-- --quick | --tasks=N | --checkpoint | --env=NAME=VALUE | --launcher_dir=DIR]`
//!
//! `cargo bench` builds the bench targets and the root package's programs, not the agent's:
//! `mesos-executor` must be built first (the first command above; `.ci/run` does so). It is
//! looked for next to this benchmark's executable (`target/release/`, the benchmark running
//! from `target/release/deps/`), or in `--launcher_dir=DIR`; if it is missing the benchmark
//! says how to build it and exits with status 2.
//!
//! One round per task count (10, 50 and 100; `--quick`: 3; `--tasks=N`: N), each in a fresh
//! [`Libprocess`] instance on `127.0.0.1` with a fresh work directory:
//!
//! 1. The real agent actor (`slave(1)`) with the real [`PosixContainerizer`] runs in this
//!    process; a fake master (`master`) in the same instance answers its registration.
//! 2. The master sends N `RunTaskMessage`s at once, each a command task `sleep 600` of one
//!    framework, and acknowledges every `StatusUpdateMessage` the agent forwards (the agent
//!    forwards a task's next update only after the previous one is acknowledged, so
//!    `TASK_STARTING` is acknowledged before `TASK_RUNNING` comes). Printed: the time from
//!    the first send to the last `TASK_RUNNING` (tasks/s), and the p50/p99 of each task's
//!    time from its `RunTaskMessage` to its `TASK_RUNNING` arriving at the master (nearest
//!    rank; queueing behind the other launches included, as the launches are concurrent).
//! 3. With the N tasks running, the resident memory (`VmRSS`, its anonymous part `RssAnon`
//!    from `/proc/<pid>/status`, and the part of that in transparent huge pages,
//!    `AnonHugePages` from `smaps_rollup`) and the threads of every executor, found by the
//!    pids the containerizer reports for its containers (the tasks' `sleep`s are not
//!    counted); and this process's own `VmRSS` before the launches and with the tasks
//!    running. This process holds the agent, the containerizer and the fake master (whose
//!    part is a few bookkeeping entries per task); the growth is an estimate: memory freed
//!    by an earlier round is reused, and in the first round one-time costs (the blocking
//!    pool's threads that fork and read `/proc`) dominate at small N.
//! 4. A `KillTaskMessage` for every task; the time until every `TASK_KILLED` arrived, and
//!    until every container ended and no process is left in any executor's session (the
//!    command executor stops one second after its task's terminal update).
//!
//! `--checkpoint` makes the framework checkpoint (each update is then written and synced
//! to the task's update log, and the containers' pids to the meta directory). `--env` (may
//! be repeated) puts a variable in the tasks' `CommandInfo` environment, which the command
//! executor runs with too (the agent gives its executors none of its own). The agent does
//! not switch user (`--no-switch_user`).
//!
//! The RSS figures depend on the kernel's transparent huge pages (the mode is printed with
//! the setup): mimalloc, the global allocator of `mesos-executor` and of this benchmark,
//! asks for huge pages for its arenas, so with the mode `madvise` or `always` a process's
//! first allocations occupy whole 2 MiB pages. `--env=MIMALLOC_ALLOW_THP=0` turns that off
//! in the executors, `MIMALLOC_ALLOW_THP=0` in this benchmark's environment in the agent's
//! process (on the machine measured here, `madvise`, an executor's mean RSS went from
//! 12.7 MB to 5.3 MB).
//!
//! No process outlives the benchmark: a guard that runs even when the benchmark fails (or
//! gets SIGINT/SIGTERM) kills every child process of this one with its process groups and
//! session, and whatever is left in the sessions of the executors seen.

/// As in the `mesos-agent` binary.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::collections::{BTreeSet, HashMap, HashSet};
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use libprocess::{Config, Context, Libprocess, Process, UPID};
use mesos::detector::{create_master_info, StandaloneMasterDetector};
use mesos::internal::{
    KillTaskMessage, MasterSlaveConnection, RegisterSlaveMessage, RunTaskMessage, SlaveRegisteredMessage,
    StatusUpdateAcknowledgementMessage, StatusUpdateMessage,
};
use mesos::proto::environment::Variable;
use mesos::proto::{
    CommandInfo, Environment, FrameworkId, FrameworkInfo, SlaveId, SlaveInfo, TaskId, TaskInfo, TaskState,
};
use mesos::resources::Resources;
use slave::containerizer::posix::{launcher, proc, PosixContainerizer, PosixOptions};
use slave::containerizer::Containerizer;
use slave::slave::{Options, Slave, SlaveHandle, State};
use slave::status_update_manager::TaskStatusUpdateManager;
use tokio::sync::mpsc;

/// The executor program the agent runs for command tasks.
const EXECUTOR: &str = "mesos-executor";

/// The task: it stays `TASK_RUNNING` until killed.
const COMMAND: &str = "sleep 600";

/// Bounds on the waits; only a hang reaches them.
const LAUNCH_TIMEOUT: Duration = Duration::from_secs(180);
const KILL_TIMEOUT: Duration = Duration::from_secs(60);

#[derive(Clone, Debug)]
struct Settings {
    counts: Vec<usize>,
    checkpoint: bool,
    launcher_dir: PathBuf,
    /// Variables of the tasks' environment, which their executors run with too.
    environment: Vec<(String, String)>,
}

fn main() {
    // `cargo bench` passes `--bench`; unknown flags are ignored likewise.
    let args: Vec<String> = std::env::args().skip(1).collect();
    let quick = args.iter().any(|arg| arg == "--quick");
    let tasks = args.iter().find_map(|arg| arg.strip_prefix("--tasks=")?.parse::<usize>().ok());
    let counts = match tasks {
        Some(n) => vec![n.max(1)],
        None if quick => vec![3],
        None => vec![10, 50, 100],
    };
    let launcher_dir = match args.iter().find_map(|arg| arg.strip_prefix("--launcher_dir=")) {
        Some(dir) => PathBuf::from(dir),
        None => default_launcher_dir(),
    };
    if !launcher_dir.join(EXECUTOR).is_file() {
        eprintln!(
            "{EXECUTOR} is not built in {}.\n`cargo bench` does not build the agent's programs: run\n    cargo build \
             --release -p mesos-agent --bins\nfirst (or pass --launcher_dir=<dir holding {EXECUTOR}>).",
            launcher_dir.display()
        );
        std::process::exit(2);
    }
    let environment = args
        .iter()
        .filter_map(|arg| arg.strip_prefix("--env=")?.split_once('='))
        .map(|(name, value)| (name.to_string(), value.to_string()))
        .collect();
    let checkpoint = args.iter().any(|arg| arg == "--checkpoint");
    let settings = Settings { counts, checkpoint, launcher_dir, environment };

    // The agent hands `LIBPROCESS_IP` to its executors, which then bind and advertise
    // loopback like the agent (without it they would advertise the host name's address).
    // Set before any thread exists.
    std::env::set_var("LIBPROCESS_IP", Ipv4Addr::LOCALHOST.to_string());

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(std::thread::available_parallelism().map_or(1, |n| n.get()))
        .enable_all()
        .build()
        .expect("failed to build the tokio runtime");
    let interrupted = runtime.block_on(async {
        use tokio::signal::unix::{signal, SignalKind};
        let mut terminate = signal(SignalKind::terminate()).expect("a SIGTERM handler");
        let mut interrupt = signal(SignalKind::interrupt()).expect("a SIGINT handler");
        // A signal drops the rounds, and with them the guard that kills the executors.
        tokio::select! {
            _ = run(&settings) => false,
            _ = terminate.recv() => true,
            _ = interrupt.recv() => true,
        }
    });
    if interrupted {
        eprintln!("interrupted; the executors were killed");
        std::process::exit(130);
    }
}

/// `target/<profile>/`: this benchmark runs from `target/<profile>/deps/`.
fn default_launcher_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("the benchmark's own path");
    exe.parent().and_then(Path::parent).map(Path::to_path_buf).unwrap_or_default()
}

async fn run(settings: &Settings) {
    for (index, &count) in settings.counts.iter().enumerate() {
        let name = format!("TaskCount/AgentLaunch_BENCHMARK_Test.CommandTasks/{index}");
        println!("[ RUN      ] {name}");
        let watch = Instant::now();
        round(settings, count).await;
        println!("[       OK ] {name} ({} ms)", watch.elapsed().as_millis());
    }
}

// ---------------------------------------------------------------------------------------------
// The fake master.

/// What the fake master tells the benchmark.
enum Event {
    Registered,
    Update { task: String, state: TaskState, message: Option<String>, at: Instant },
}

/// Registers the agent as `slave_id` and acknowledges every status update at once.
struct FakeMaster {
    slave_id: SlaveId,
    events: mpsc::UnboundedSender<Event>,
}

impl Process for FakeMaster {
    fn initialize(&mut self, ctx: &mut Context<Self>) {
        ctx.install_protobuf(|this: &mut Self, ctx, from: &UPID, _message: RegisterSlaveMessage| {
            // No pings are sent: a long ping timeout keeps the agent registered.
            let connection = MasterSlaveConnection { total_ping_timeout_seconds: Some(3600.0) };
            let registered = SlaveRegisteredMessage { slave_id: this.slave_id.clone(), connection: Some(connection) };
            ctx.send_protobuf(from, &registered);
            let _ = this.events.send(Event::Registered);
        });
        ctx.install_protobuf(|this: &mut Self, ctx, from: &UPID, message: StatusUpdateMessage| {
            let at = Instant::now();
            let update = message.update;
            if let Some(uuid) = update.uuid.clone() {
                let ack = StatusUpdateAcknowledgementMessage {
                    slave_id: this.slave_id.clone(),
                    framework_id: update.framework_id.clone(),
                    task_id: update.status.task_id.clone(),
                    uuid,
                };
                ctx.send_protobuf(from, &ack);
            }
            let state = TaskState::try_from(update.status.state).unwrap_or(TaskState::TaskLost);
            let event = Event::Update { task: update.status.task_id.value, state, message: update.status.message, at };
            let _ = this.events.send(event);
        });
    }
}

// ---------------------------------------------------------------------------------------------
// No process left behind.

/// Kills, when dropped, every child process of this one (the executors the containerizer
/// forked) with the groups and sessions they lead, and whatever is left in the sessions
/// of the executors seen (their tasks run in groups of their own within them).
struct Reaper {
    sessions: Mutex<HashSet<i32>>,
}

impl Reaper {
    fn new() -> Reaper {
        Reaper { sessions: Mutex::new(HashSet::new()) }
    }

    fn watch(&self, pid: i32) {
        self.sessions.lock().unwrap_or_else(std::sync::PoisonError::into_inner).insert(pid);
    }

    /// The live processes still in the sessions seen.
    fn survivors(&self) -> Vec<i32> {
        let sessions = self.sessions.lock().unwrap_or_else(std::sync::PoisonError::into_inner).clone();
        let table = proc::processes().unwrap_or_default();
        // A zombie is dead already; one whose parent died waits for init to reap it.
        table.iter().filter(|p| sessions.contains(&p.session) && !p.is_zombie()).map(|p| p.pid).collect()
    }
}

impl Drop for Reaper {
    fn drop(&mut self) {
        let own = std::process::id() as i32;
        let mut sessions = std::mem::take(self.sessions.get_mut().unwrap_or_else(std::sync::PoisonError::into_inner));
        let Ok(table) = proc::processes() else { return };
        // The executors lead their sessions; their tasks run in those sessions.
        sessions.extend(table.iter().filter(|p| p.ppid == own).map(|p| p.pid));
        // Zombies are dead already (a killed task's whose parent died waits for init).
        let live: BTreeSet<i32> = table
            .iter()
            .filter(|p| !p.is_zombie() && (p.ppid == own || sessions.contains(&p.session)))
            .map(|p| p.pid)
            .collect();
        if live.is_empty() {
            return;
        }
        for child in table.iter().filter(|p| p.ppid == own && !p.is_zombie()) {
            // Never this process's own group or session (`killtree` skips them).
            let _ = launcher::killtree(child.pid, libc::SIGKILL, true, true);
        }
        for leader in sessions {
            let _ = launcher::kill_leftovers(leader, libc::SIGKILL);
        }
        eprintln!("killed {} leftover processes: {live:?}", live.len());
    }
}

// ---------------------------------------------------------------------------------------------
// A round.

fn framework_id() -> FrameworkId {
    FrameworkId { value: "agent-launch-bench-0000".into() }
}

fn task_name(index: usize) -> String {
    format!("task-{index}")
}

/// Launches `count` tasks on a fresh agent, measures, kills them, and checks that nothing
/// is left.
async fn round(settings: &Settings, count: usize) {
    println!(
        "Test setup: {count} command tasks (`{COMMAND}`) on one agent with the POSIX containerizer and {EXECUTOR}{}{}; \
         transparent huge pages: {}",
        if settings.checkpoint { ", checkpointing" } else { "" },
        settings.environment.iter().map(|(name, value)| format!(", {name}={value}")).collect::<String>(),
        transparent_huge_pages(),
    );
    let reaper = Reaper::new();
    let lp = Libprocess::initialize(Config { ip: Some(Ipv4Addr::LOCALHOST), ..Config::default() })
        .await
        .expect("failed to initialize libprocess");
    let work_dir = tempfile::tempdir().expect("a work directory");
    let slave_id = SlaveId { value: "agent-launch-bench-S0".into() };
    let (events, mut heard) = mpsc::unbounded_channel();
    let master = lp.spawn("master", FakeMaster { slave_id: slave_id.clone(), events }).expect("the fake master spawns");
    let containerizer = PosixContainerizer::new(PosixOptions::default()).expect("the POSIX containerizer");
    let agent = start_agent(&lp, settings, work_dir.path(), master.upid(), &containerizer);

    // Registration.
    within("the agent to register", LAUNCH_TIMEOUT, async {
        while !matches!(next(&mut heard).await, Event::Registered) {}
        while agent.state().await.expect("the agent runs") != State::Running {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    })
    .await;
    let before = Memory::of("self").unwrap_or_default();

    // Launch.
    let framework = FrameworkInfo {
        user: String::new(),
        name: "agent-launch-bench".into(),
        id: Some(framework_id()),
        checkpoint: Some(settings.checkpoint),
        ..FrameworkInfo::default()
    };
    let mut resources = Resources::parse("cpus:0.1;mem:32", "*").expect("task resources");
    resources.allocate("*");
    let resources = resources.to_vec();
    let environment = (!settings.environment.is_empty()).then(|| Environment {
        variables: settings
            .environment
            .iter()
            .map(|(name, value)| Variable { name: name.clone(), value: Some(value.clone()), ..Variable::default() })
            .collect(),
    });
    let agent_pid = agent.pid.upid().clone();
    let mut sent = HashMap::with_capacity(count);
    let start = Instant::now();
    for index in 0..count {
        let task = TaskInfo {
            name: task_name(index),
            task_id: TaskId { value: task_name(index) },
            slave_id: slave_id.clone(),
            resources: resources.clone(),
            command: Some(CommandInfo {
                value: Some(COMMAND.into()),
                environment: environment.clone(),
                ..CommandInfo::default()
            }),
            ..TaskInfo::default()
        };
        let message = RunTaskMessage {
            framework_id: None,
            framework: framework.clone(),
            task,
            resource_version_uuids: Vec::new(),
            pid: None,
            launch_executor: Some(true),
        };
        sent.insert(task_name(index), Instant::now());
        lp.post_protobuf(master.upid(), &agent_pid, &message);
    }
    let mut latencies = Vec::with_capacity(count);
    let mut running = HashSet::with_capacity(count);
    let mut last = start;
    within("every task to be TASK_RUNNING", LAUNCH_TIMEOUT, async {
        while running.len() < count {
            let Event::Update { task, state, message, at } = next(&mut heard).await else { continue };
            match state {
                TaskState::TaskStarting => {}
                TaskState::TaskRunning => {
                    let sent = sent.get(&task).unwrap_or_else(|| panic!("an update for unknown task {task}"));
                    if running.insert(task) {
                        latencies.push(at - *sent);
                        last = last.max(at);
                    }
                }
                other => panic!(
                    "task {task} went {} during the launch: {}",
                    other.as_str_name(),
                    message.unwrap_or_default()
                ),
            }
        }
    })
    .await;
    let elapsed = last - start;
    latencies.sort();
    println!(
        "Launched {count} tasks in {} ({:.1} tasks/s); TASK_RUNNING latency p50 {} p99 {}",
        short(elapsed),
        count as f64 / elapsed.as_secs_f64(),
        short(percentile(&latencies, 0.50)),
        short(percentile(&latencies, 0.99)),
    );

    // Memory, with every task running.
    let containers = containerizer.containers().await.expect("the containers");
    assert_eq!(containers.len(), count, "one container per task");
    let mut executors = Vec::with_capacity(count);
    for container in &containers {
        let pid = containerizer.pid(container).unwrap_or_else(|| panic!("container {} has a pid", container.value));
        reaper.watch(pid);
        let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default();
        assert_eq!(comm.trim_end(), EXECUTOR, "container {} runs {EXECUTOR}", container.value);
        executors.push(Memory::of(&pid.to_string()).unwrap_or_else(|| panic!("the memory of executor {pid}")));
    }
    let running = Memory::of("self").unwrap_or_default();
    let sum = |field: fn(&Memory) -> u64| executors.iter().map(field).sum::<u64>();
    let mean = |field: fn(&Memory) -> u64| sum(field) as f64 / count as f64;
    println!(
        "{EXECUTOR} RSS: mean {} over {count} executors (anonymous {}, in transparent huge pages {}; min {}, max {}; \
         {:.1} threads each)",
        megabytes(mean(|m| m.rss)),
        megabytes(mean(|m| m.anonymous)),
        megabytes(mean(|m| m.huge)),
        megabytes(executors.iter().map(|m| m.rss).min().unwrap_or(0) as f64),
        megabytes(executors.iter().map(|m| m.rss).max().unwrap_or(0) as f64),
        mean(|m| m.threads),
    );
    let growth = running.rss as f64 - before.rss as f64;
    println!(
        "Agent process RSS: {} before, {} with {count} tasks running ({}{:.0} KB per task; {} threads)",
        megabytes(before.rss as f64),
        megabytes(running.rss as f64),
        if growth >= 0.0 { "+" } else { "" },
        growth / count as f64,
        running.threads,
    );

    // Kill, and wait until nothing is left.
    let kill_start = Instant::now();
    for index in 0..count {
        let kill = KillTaskMessage {
            framework_id: framework_id(),
            task_id: TaskId { value: task_name(index) },
            kill_policy: None,
        };
        lp.post_protobuf(master.upid(), &agent_pid, &kill);
    }
    let mut killed = HashSet::with_capacity(count);
    within("every task to be TASK_KILLED", KILL_TIMEOUT, async {
        while killed.len() < count {
            let Event::Update { task, state, message, .. } = next(&mut heard).await else { continue };
            match state {
                TaskState::TaskKilled => {
                    killed.insert(task);
                }
                TaskState::TaskKilling | TaskState::TaskRunning | TaskState::TaskStarting => {}
                other => panic!("task {task} went {} on kill: {}", other.as_str_name(), message.unwrap_or_default()),
            }
        }
    })
    .await;
    let all_killed = kill_start.elapsed();
    within("every executor to exit", KILL_TIMEOUT, async {
        loop {
            let left = containerizer.containers().await.expect("the containers");
            if left.is_empty() && reaper.survivors().is_empty() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await;
    println!(
        "Killed {count} tasks in {} (every TASK_KILLED); every executor gone after {}",
        short(all_killed),
        short(kill_start.elapsed())
    );

    lp.shutdown().await;
    drop(reaper);
    drop(work_dir);
}

fn start_agent(
    lp: &Libprocess,
    settings: &Settings,
    work_dir: &Path,
    master: &UPID,
    containerizer: &PosixContainerizer,
) -> SlaveHandle {
    let detector = Arc::new(StandaloneMasterDetector::new(Some(create_master_info(master))));
    let manager = TaskStatusUpdateManager::create(lp, work_dir).expect("the status update manager");
    let info = SlaveInfo {
        hostname: "localhost".into(),
        port: Some(i32::from(lp.address().port())),
        resources: Resources::parse("cpus:64;mem:65536;disk:65536;ports:[31000-32000]", "*")
            .expect("agent resources")
            .to_vec(),
        checkpoint: Some(true),
        ..SlaveInfo::default()
    };
    let mut options = Options::new(work_dir.to_path_buf());
    options.launcher_dir = settings.launcher_dir.clone();
    // The first registration attempt comes within this (1 s by default).
    options.registration_backoff_factor = Duration::from_millis(10);
    options.switch_user = false;
    let containerizer: Arc<dyn Containerizer> = Arc::new(containerizer.clone());
    let slave = Slave::new(info, options, detector, containerizer, manager);
    SlaveHandle::spawn(lp, slave).expect("the agent spawns")
}

// ---------------------------------------------------------------------------------------------
// Helpers.

/// The fake master's next event.
async fn next(heard: &mut mpsc::UnboundedReceiver<Event>) -> Event {
    heard.recv().await.expect("the fake master runs")
}

async fn within<F: std::future::Future>(what: &str, limit: Duration, future: F) -> F::Output {
    match tokio::time::timeout(limit, future).await {
        Ok(output) => output,
        Err(_) => panic!("timed out after {limit:?} waiting for {what}"),
    }
}

/// The nearest-rank percentile `p` of sorted `values`.
fn percentile(values: &[Duration], p: f64) -> Duration {
    if values.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((p * values.len() as f64).ceil() as usize).clamp(1, values.len());
    values[rank - 1]
}

/// A duration with three significant digits or so: `850us`, `20.3ms`, `1.24secs`.
fn short(d: Duration) -> String {
    let secs = d.as_secs_f64();
    if secs < 0.001 {
        format!("{:.0}us", secs * 1e6)
    } else if secs < 1.0 {
        format!("{:.1}ms", secs * 1e3)
    } else {
        format!("{secs:.2}secs")
    }
}

/// Kibibytes as `3.1 MB` (stout's `MB` is 2^20 bytes).
fn megabytes(kb: f64) -> String {
    format!("{:.1} MB", kb / 1024.0)
}

/// What `/proc/<pid>/status` and `smaps_rollup` say of a process's memory, in kB.
#[derive(Clone, Copy, Debug, Default)]
struct Memory {
    rss: u64,
    anonymous: u64,
    /// Anonymous memory in transparent huge pages.
    huge: u64,
    threads: u64,
}

impl Memory {
    /// `pid` is a number or `self`.
    fn of(pid: &str) -> Option<Memory> {
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
        // Absent on kernels before 4.14.
        let rollup = std::fs::read_to_string(format!("/proc/{pid}/smaps_rollup")).unwrap_or_default();
        Some(Memory {
            rss: field(&status, "VmRSS:")?,
            anonymous: field(&status, "RssAnon:").unwrap_or(0),
            huge: field(&rollup, "AnonHugePages:").unwrap_or(0),
            threads: field(&status, "Threads:").unwrap_or(0),
        })
    }
}

/// The number after `name` on its line of a `/proc` file.
fn field(text: &str, name: &str) -> Option<u64> {
    let line = text.lines().find(|line| line.starts_with(name))?;
    line[name.len()..].split_whitespace().next()?.parse().ok()
}

/// The kernel's transparent huge page mode (the bracketed word of
/// `/sys/kernel/mm/transparent_hugepage/enabled`).
fn transparent_huge_pages() -> String {
    let text = std::fs::read_to_string("/sys/kernel/mm/transparent_hugepage/enabled").unwrap_or_default();
    text.split_once('[').and_then(|(_, rest)| rest.split_once(']')).map_or("unknown", |(mode, _)| mode).to_string()
}
