//! The real `mesos-master` binary as a child OS process, driven over TCP by a fake agent and a fake scheduler (processes of the test's own libprocess instance speaking v0 messages only): registration, pings, subscription, an offer, a launch, status updates and their acknowledgements; a restart over the durable registry; refused flags; signals.
//!
//! Nothing here reads the clock for an assertion: every wait is for a message or a log line,
//! bounded by a generous timeout that only turns a hang into a failure. A failed test kills
//! its child and prints the child's stderr.

mod common;

use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::process::{ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{acknowledge, agent_capabilities, agent_info, agent_update, framework_info, subscribe_call};
use libprocess::{Config, Context, Libprocess, Process, ProtobufMessage, PID, UPID};
use master::main_support::REGISTRY_DIRECTORY;
use master::registrar::REGISTRY;
use mesos::internal::{
    FrameworkRegisteredMessage, PingSlaveMessage, PongSlaveMessage, RegisterSlaveMessage, Registry,
    ReregisterSlaveMessage, ResourceOffersMessage, RunTaskMessage, SlaveRegisteredMessage, SlaveReregisteredMessage,
    StatusUpdateAcknowledgementMessage, StatusUpdateMessage,
};
use mesos::proto::offer::operation::{Launch, Type as OperationType};
use mesos::proto::offer::Operation;
use mesos::proto::scheduler::call::{Accept, Type as CallType};
use mesos::proto::scheduler::Call;
use mesos::proto::{CommandInfo, FrameworkId, FrameworkInfo, Offer, SlaveId, TaskId, TaskInfo, TaskState};
use mesos::resources::Resources;
use mesos::state::{DirectoryStorage, State};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};
use tokio::sync::{mpsc, Notify};

/// The bound on every wait; only a hang reaches it.
const WAIT: Duration = Duration::from_secs(30);

/// How often a fake agent repeats its (re)registration until answered, as a real agent
/// does: the master drops everything until its registry is recovered.
const RETRY: Duration = Duration::from_millis(250);

const ROLE: &str = "e2e";

fn binary() -> &'static str {
    env!("CARGO_BIN_EXE_mesos-master")
}

async fn within<F: std::future::Future>(what: &str, future: F) -> F::Output {
    match tokio::time::timeout(WAIT, future).await {
        Ok(output) => output,
        Err(_) => panic!("timed out waiting for {what}"),
    }
}

// ---------------------------------------------------------------------------------------------
// The child process.

/// The stderr lines of a child so far; `closed` once its stderr reached end of file.
#[derive(Default)]
struct Log {
    lines: Mutex<(Vec<String>, bool)>,
    changed: Notify,
}

impl Log {
    fn text(&self) -> String {
        self.lines.lock().unwrap().0.join("\n")
    }

    /// Waits for a line for which `pick` says something, looking at old lines first.
    async fn wait_for<T>(&self, what: &str, pick: impl Fn(&str) -> Option<T>) -> T {
        let search = async {
            loop {
                let notified = self.changed.notified();
                {
                    let lines = self.lines.lock().unwrap();
                    if let Some(found) = lines.0.iter().find_map(|line| pick(line)) {
                        return found;
                    }
                    if lines.1 {
                        panic!("mesos-master closed stderr before logging {what}");
                    }
                }
                notified.await;
            }
        };
        within(what, search).await
    }
}

/// A running `mesos-master`. Dropping it kills the child, and when a test fails also prints
/// what the child logged.
struct MasterProcess {
    child: Child,
    log: Arc<Log>,
    /// `master@127.0.0.1:<port>`, from its "started on" log line.
    pid: UPID,
}

impl MasterProcess {
    /// Starts the binary on a free port of 127.0.0.1 with `flags` and no inherited
    /// `MESOS_*`/`LIBPROCESS_*` variables, and waits until it listens.
    async fn start(flags: &[&str]) -> MasterProcess {
        let mut child = Command::new(binary())
            .args(["--ip=127.0.0.1", "--port=0"])
            .args(flags)
            .env_clear()
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("cargo builds mesos-master for this test");
        let log = Arc::new(Log::default());
        let stderr = child.stderr.take().expect("stderr is piped");
        let reader_log = log.clone();
        tokio::spawn(async move {
            let mut lines = BufReader::new(stderr).lines();
            while let Ok(Some(line)) = lines.next_line().await {
                reader_log.lines.lock().unwrap().0.push(line);
                reader_log.changed.notify_one();
            }
            reader_log.lines.lock().unwrap().1 = true;
            reader_log.changed.notify_one();
        });
        let mut master = MasterProcess { child, log, pid: UPID::default() };
        let address = master
            .log
            .wait_for("the 'started on' line", |line| {
                let (_, rest) = line.split_once(" started on ")?;
                rest.split_whitespace().next().map(str::to_string)
            })
            .await;
        master.pid = format!("master@{address}").parse().expect("a master UPID");
        master
    }

    /// Sends `signal` and waits for the child to end.
    async fn stop(&mut self, signal: i32) -> ExitStatus {
        let pid = self.child.id().expect("still running") as i32;
        // SAFETY: `pid` is our own child, not yet reaped, so it names no other process.
        assert_eq!(unsafe { libc::kill(pid, signal) }, 0, "kill({pid}, {signal})");
        within("mesos-master to exit", self.child.wait()).await.expect("wait for mesos-master")
    }
}

impl Drop for MasterProcess {
    fn drop(&mut self) {
        let _ = self.child.start_kill();
        if std::thread::panicking() {
            eprintln!("--- mesos-master stderr ---\n{}\n---", self.log.text());
        }
    }
}

/// Runs the binary to completion with `args` and `env`: (status, stdout, stderr).
async fn run_to_exit(args: &[&str], env: &[(&str, &str)]) -> (ExitStatus, String, String) {
    let output = Command::new(binary())
        .args(args)
        .env_clear()
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .kill_on_drop(true)
        .output();
    let output = within("mesos-master to exit", output).await.expect("mesos-master runs");
    let text = |bytes: &[u8]| String::from_utf8_lossy(bytes).into_owned();
    (output.status, text(&output.stdout), text(&output.stderr))
}

// ---------------------------------------------------------------------------------------------
// The fakes: one process type that reports what it hears and answers pings.

#[derive(Debug)]
#[allow(clippy::large_enum_variant, reason = "a few messages per test; boxing buys nothing")]
enum Heard {
    SlaveRegistered(SlaveRegisteredMessage),
    SlaveReregistered(SlaveReregisteredMessage),
    Ping,
    FrameworkRegistered(FrameworkRegisteredMessage),
    Offers(UPID, ResourceOffersMessage),
    RunTask(UPID, RunTaskMessage),
    Update(UPID, StatusUpdateMessage),
    Acknowledgement(UPID, StatusUpdateAcknowledgementMessage),
}

struct Reporter {
    heard: mpsc::UnboundedSender<Heard>,
}

impl Reporter {
    fn report(&self, heard: Heard) {
        // The receiver only goes away when the test is over.
        let _ = self.heard.send(heard);
    }
}

impl Process for Reporter {
    fn initialize(&mut self, ctx: &mut Context<Self>) {
        ctx.install_protobuf(|this: &mut Self, _ctx, _from, m: SlaveRegisteredMessage| {
            this.report(Heard::SlaveRegistered(m))
        });
        ctx.install_protobuf(|this: &mut Self, _ctx, _from, m: SlaveReregisteredMessage| {
            this.report(Heard::SlaveReregistered(m))
        });
        // The agent side of the health check: the pong goes to the observer that pinged.
        ctx.install_protobuf(|this: &mut Self, ctx, from: &UPID, _m: PingSlaveMessage| {
            ctx.send_protobuf(from, &PongSlaveMessage {});
            this.report(Heard::Ping)
        });
        ctx.install_protobuf(|this: &mut Self, _ctx, _from, m: FrameworkRegisteredMessage| {
            this.report(Heard::FrameworkRegistered(m))
        });
        ctx.install_protobuf(|this: &mut Self, _ctx, from: &UPID, m: ResourceOffersMessage| {
            this.report(Heard::Offers(from.clone(), m))
        });
        ctx.install_protobuf(|this: &mut Self, _ctx, from: &UPID, m: RunTaskMessage| {
            this.report(Heard::RunTask(from.clone(), m))
        });
        ctx.install_protobuf(|this: &mut Self, _ctx, from: &UPID, m: StatusUpdateMessage| {
            this.report(Heard::Update(from.clone(), m))
        });
        ctx.install_protobuf(|this: &mut Self, _ctx, from: &UPID, m: StatusUpdateAcknowledgementMessage| {
            this.report(Heard::Acknowledgement(from.clone(), m))
        });
    }
}

/// A fake agent or scheduler in the test's libprocess instance.
struct Fake {
    lp: Libprocess,
    pid: PID<Reporter>,
    heard: mpsc::UnboundedReceiver<Heard>,
}

impl Fake {
    fn spawn(lp: &Libprocess, id: &str) -> Fake {
        let (tx, heard) = mpsc::unbounded_channel();
        let pid = lp.spawn(libprocess::id::generate(id), Reporter { heard: tx }).expect("fake spawns");
        Fake { lp: lp.clone(), pid, heard }
    }

    fn upid(&self) -> &UPID {
        self.pid.upid()
    }

    /// Sends `message` from this fake to `to` over TCP.
    fn send<M: ProtobufMessage>(&self, to: &UPID, message: &M) {
        self.lp.post_protobuf(self.upid(), to, message);
    }

    /// The next message `pick` accepts; others (pings, repeated answers) are passed over.
    async fn next<T>(&mut self, what: &str, pick: impl Fn(Heard) -> Option<T>) -> T {
        let heard = &mut self.heard;
        let search = async {
            loop {
                let message = heard.recv().await.expect("the fake process is alive");
                if let Some(found) = pick(message) {
                    return found;
                }
            }
        };
        within(what, search).await
    }

    /// Like [`Fake::next`], but sends `message` to `to` again every [`RETRY`] until the
    /// answer comes.
    async fn ask<M: ProtobufMessage, T>(
        &mut self,
        what: &str,
        to: &UPID,
        message: &M,
        pick: impl Fn(Heard) -> Option<T>,
    ) -> T {
        let search = async {
            loop {
                self.send(to, message);
                let deadline = tokio::time::sleep(RETRY);
                tokio::pin!(deadline);
                loop {
                    tokio::select! {
                        heard = self.heard.recv() => {
                            if let Some(found) = pick(heard.expect("the fake process is alive")) {
                                return found;
                            }
                        }
                        _ = &mut deadline => break,
                    }
                }
            }
        };
        within(what, search).await
    }
}

async fn test_instance() -> Libprocess {
    let config = Config { ip: Some(std::net::Ipv4Addr::LOCALHOST), ..Config::default() };
    Libprocess::initialize(config).await.expect("the test's libprocess starts")
}

/// Registers `agent` (retrying until answered) and returns the id the master gave it.
async fn register(agent: &mut Fake, master: &UPID) -> SlaveId {
    let message = RegisterSlaveMessage {
        slave: agent_info("e2e-agent", "cpus:2;mem:1024"),
        version: Some("1.12.0".into()),
        agent_capabilities: agent_capabilities(),
        ..Default::default()
    };
    let registered = agent
        .ask("SlaveRegisteredMessage", master, &message, |heard| match heard {
            Heard::SlaveRegistered(m) => Some(m),
            _ => None,
        })
        .await;
    registered.slave_id
}

fn launch_call(framework: &FrameworkId, offer: &Offer, task: TaskInfo) -> Call {
    let launch = Operation {
        r#type: Some(OperationType::Launch as i32),
        launch: Some(Launch { task_infos: vec![task] }),
        ..Default::default()
    };
    Call {
        framework_id: Some(framework.clone()),
        r#type: Some(CallType::Accept as i32),
        accept: Some(Accept { offer_ids: vec![offer.id.clone()], operations: vec![launch], filters: None }),
        ..Default::default()
    }
}

/// The agent reports `state`; the scheduler gets it from the master and acknowledges it;
/// the agent gets the acknowledgement from the master.
async fn update_round_trip(
    master: &UPID,
    agent: &mut Fake,
    agent_id: &SlaveId,
    scheduler: &mut Fake,
    framework: &FrameworkId,
    task: &TaskId,
    state: TaskState,
) {
    let sent = agent_update(framework, agent.upid(), agent_id, &task.value, state);
    agent.send(master, &sent);

    let (from, forwarded) = scheduler
        .next("the forwarded StatusUpdateMessage", |heard| match heard {
            Heard::Update(from, m) => Some((from, m)),
            _ => None,
        })
        .await;
    assert_eq!(from, *master);
    assert_eq!(forwarded.update, sent.update);
    assert_eq!(forwarded.update.status.state(), state);
    assert_eq!(forwarded.pid.as_deref(), Some(agent.upid().to_string().as_str()), "acknowledge to the agent");

    scheduler.send(master, &acknowledge(framework, &forwarded.update));
    let (from, ack) = agent
        .next("StatusUpdateAcknowledgementMessage", |heard| match heard {
            Heard::Acknowledgement(from, m) => Some((from, m)),
            _ => None,
        })
        .await;
    assert_eq!(from, *master);
    assert_eq!(ack.slave_id, *agent_id);
    assert_eq!(ack.framework_id, *framework);
    assert_eq!(ack.task_id, *task);
    assert_eq!(Some(&ack.uuid), sent.update.uuid.as_ref());
}

// ---------------------------------------------------------------------------------------------
// The tests.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_task_runs_and_finishes_through_the_real_binary() {
    let lp = test_instance().await;
    let mut master = MasterProcess::start(&["--registry=in_memory", "--agent_ping_timeout=1secs"]).await;
    let master_pid = master.pid.clone();

    let mut agent = Fake::spawn(&lp, "slave");
    let agent_id = register(&mut agent, &master_pid).await;
    assert!(agent_id.value.contains("-S"), "an agent id in the master's format: {}", agent_id.value);
    // Health checks reach the agent, which answers.
    agent.next("PingSlaveMessage", |heard| matches!(heard, Heard::Ping).then_some(())).await;

    let mut scheduler = Fake::spawn(&lp, "scheduler");
    let info = FrameworkInfo { user: "e2e".into(), name: "e2e framework".into(), ..framework_info(&[ROLE]) };
    scheduler.send(&master_pid, &subscribe_call(info, None, false));
    let registered = scheduler
        .next("FrameworkRegisteredMessage", |heard| match heard {
            Heard::FrameworkRegistered(m) => Some(m),
            _ => None,
        })
        .await;
    let framework = registered.framework_id.clone();
    assert_eq!(registered.master_info.pid.as_deref(), Some(master_pid.to_string().as_str()));

    let (from, offers) = scheduler
        .next("ResourceOffersMessage", |heard| match heard {
            Heard::Offers(from, m) => Some((from, m)),
            _ => None,
        })
        .await;
    assert_eq!(from, master_pid);
    let offer = offers.offers.first().cloned().expect("one offer");
    assert_eq!(offer.slave_id, agent_id);
    assert_eq!(offer.framework_id, framework);
    assert_eq!(offers.pids, vec![agent.upid().to_string()]);
    let mut offered: Resources = offer.resources.iter().cloned().collect();
    offered.unallocate();
    assert_eq!(offered, Resources::parse("cpus:2;mem:1024", "*").unwrap());

    let task_id = TaskId { value: "e2e-task".into() };
    let task = TaskInfo {
        name: "e2e task".into(),
        task_id: task_id.clone(),
        slave_id: agent_id.clone(),
        resources: Resources::parse("cpus:1;mem:128", "*").unwrap().to_vec(),
        command: Some(CommandInfo { value: Some("true".into()), ..Default::default() }),
        ..Default::default()
    };
    scheduler.send(&master_pid, &launch_call(&framework, &offer, task));
    let (from, run) = agent
        .next("RunTaskMessage", |heard| match heard {
            Heard::RunTask(from, m) => Some((from, m)),
            _ => None,
        })
        .await;
    assert_eq!(from, master_pid);
    assert_eq!(run.task.task_id, task_id);
    assert_eq!(run.task.slave_id, agent_id);
    assert_eq!(run.framework.id.as_ref(), Some(&framework));
    assert_eq!(run.pid.as_deref(), Some(scheduler.upid().to_string().as_str()));

    for state in [TaskState::TaskRunning, TaskState::TaskFinished] {
        update_round_trip(&master_pid, &mut agent, &agent_id, &mut scheduler, &framework, &task_id, state).await;
    }

    // What the web UI and CLI read: `/state` (delegated to `/master/state`), `/version`.
    let address = format!("{}:{}", master_pid.ip, master_pid.port);
    let state = http_get(&address, "/state").await;
    let state: serde_json::Value = serde_json::from_str(&state).expect("/state is JSON");
    assert_eq!(state["pid"], master_pid.to_string());
    assert_eq!(state["slaves"][0]["id"], agent_id.value.as_str());
    let completed = &state["frameworks"][0]["completed_tasks"];
    assert_eq!(completed[0]["id"], "e2e-task");
    assert_eq!(completed[0]["state"], "TASK_FINISHED");
    let version = http_get(&address, "/version").await;
    let version: serde_json::Value = serde_json::from_str(&version).expect("/version is JSON");
    assert_eq!(version["version"], "1.12.0");

    let status = master.stop(libc::SIGTERM).await;
    assert_eq!(status.signal(), Some(libc::SIGTERM), "dies of SIGTERM as C++ does: {status:?}");
    master.log.wait_for("the SIGTERM line", |line| line.contains("Received signal SIGTERM").then_some(())).await;
    lp.shutdown().await;
}

/// The body of `GET <path>` from `address`, which must answer 200.
async fn http_get(address: &str, path: &str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = within("connect", tokio::net::TcpStream::connect(address)).await.expect("connects");
    let request = format!("GET {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.expect("request written");
    let mut response = Vec::new();
    within("the response", stream.read_to_end(&mut response)).await.expect("response read");
    let response = String::from_utf8(response).expect("UTF-8 response");
    assert!(response.starts_with("HTTP/1.1 200"), "GET {path}: {response}");
    let (_, body) = response.split_once("\r\n\r\n").expect("a head and a body");
    body.to_owned()
}

/// Reads the registry a stopped master left in `work_dir`.
async fn registry_in(work_dir: &Path) -> Registry {
    let storage = DirectoryStorage::open(work_dir.join(REGISTRY_DIRECTORY)).expect("registry directory opens");
    let state = State::new(Arc::new(storage));
    let variable = within("the registry", state.fetch(REGISTRY)).await.expect("fetched").expect("readable");
    <Registry as prost::Message>::decode(variable.value()).expect("a Registry")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admitted_agent_is_recovered_after_a_restart_over_the_same_work_dir() {
    let lp = test_instance().await;
    let work_dir = tempfile::tempdir().expect("a temporary directory");
    let work_dir_flag = format!("--work_dir={}", work_dir.path().display());
    let flags = ["--registry=replicated_log", work_dir_flag.as_str()];

    let mut first = MasterProcess::start(&flags).await;
    let mut agent = Fake::spawn(&lp, "slave");
    let agent_id = register(&mut agent, &first.pid).await;
    let status = first.stop(libc::SIGTERM).await;
    assert_eq!(status.signal(), Some(libc::SIGTERM), "{status:?}");

    // The admission is on disk.
    let registry = registry_in(work_dir.path()).await;
    let admitted: Vec<&SlaveId> =
        registry.slaves.iter().flat_map(|s| &s.slaves).filter_map(|s| s.info.id.as_ref()).collect();
    assert_eq!(admitted, vec![&agent_id]);

    // A new master over the same directory recovers the agent, which reregisters under its
    // id with the new master. (The log lines checked are the master actor's own; they show
    // that the agent took the recovered path rather than a fresh admission.)
    let mut second = MasterProcess::start(&flags).await;
    assert_ne!(second.pid, first.pid, "a new port");
    second
        .log
        .wait_for("the recovery line", |line| (line.contains("recovered") && line.contains("agents=1")).then_some(()))
        .await;
    let mut info = agent_info("e2e-agent", "cpus:2;mem:1024");
    info.id = Some(agent_id.clone());
    let reregister = ReregisterSlaveMessage {
        slave: info,
        version: Some("1.12.0".into()),
        agent_capabilities: agent_capabilities(),
        ..Default::default()
    };
    let reregistered = agent
        .ask("SlaveReregisteredMessage", &second.pid, &reregister, |heard| match heard {
            Heard::SlaveReregistered(m) => Some(m),
            _ => None,
        })
        .await;
    assert_eq!(reregistered.slave_id, agent_id);
    second
        .log
        .wait_for("the reregistration line", |line| line.contains("reregistering agent recovered").then_some(()))
        .await;

    second.stop(libc::SIGTERM).await;
    lp.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_flags_exit_1_with_the_reason_on_stderr() {
    let (status, _, stderr) = run_to_exit(&["--registry=in_memory", "--no_such_flag=1"], &[]).await;
    assert_eq!(status.code(), Some(1), "{status:?}");
    assert!(stderr.contains("Failed to load unknown flag 'no_such_flag'"), "{stderr}");
    assert!(stderr.contains("See `mesos-master --help` for a list of supported flags."), "{stderr}");

    let (status, _, stderr) = run_to_exit(&["--registry=in_memory", "--log_dir=/var/log/mesos"], &[]).await;
    assert_eq!(status.code(), Some(1), "{status:?}");
    assert!(stderr.contains("Flag '--log_dir' is not supported yet by this master"), "{stderr}");

    let (status, _, stderr) = run_to_exit(&[], &[("MESOS_REGISTRY", "in_memory"), ("MESOS_PORT", "fifty")]).await;
    assert_eq!(status.code(), Some(1), "{status:?}");
    assert!(stderr.contains("Failed to load flag 'port'"), "{stderr}");

    // The upstream default registry needs a work directory.
    let (status, _, stderr) = run_to_exit(&[], &[]).await;
    assert_eq!(status.code(), Some(1), "{status:?}");
    assert!(stderr.contains("--work_dir needed for replicated log based registry"), "{stderr}");

    let (status, stdout, _) = run_to_exit(&["--help"], &[]).await;
    assert_eq!(status.code(), Some(0), "{status:?}");
    assert!(stdout.starts_with("Usage: mesos-master [options]"), "{stdout}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigint_stops_the_master() {
    let mut master = MasterProcess::start(&["--registry=in_memory"]).await;
    let status = master.stop(libc::SIGINT).await;
    assert_eq!(status.signal(), Some(libc::SIGINT), "{status:?}");
    master.log.wait_for("the SIGINT line", |line| line.contains("Received signal SIGINT").then_some(())).await;
}
