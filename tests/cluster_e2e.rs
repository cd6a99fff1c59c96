//! `mesos-master` and `mesos-agent` as separate OS processes on loopback, with a framework played by a process of the test's own libprocess instance speaking v0 messages: the agent registers, the framework is offered its resources, a command task runs through `mesos-executor` to `TASK_FINISHED` (every update acknowledged), its output is in its sandbox; a failing command gives `TASK_FAILED`, a killed one `TASK_KILLED` with its whole process group gone.
//!
//! The programs are the ones `cargo test --workspace` builds next to this test's own
//! executable (`target/<profile>/`). Every wait is for a message or a log line, bounded by a
//! generous timeout that only turns a hang into a failure; a failed test prints the
//! daemons' logs.

mod common;

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::daemons::{get, programs, within, Daemon};

use libprocess::{Bytes, Context, Libprocess, Process, ProtobufMessage, PID, UPID};
use mesos::internal::{FrameworkRegisteredMessage, ResourceOffersMessage, StatusUpdateMessage};
use mesos::proto::framework_info::capability::Type as FrameworkCapability;
use mesos::proto::framework_info::Capability;
use mesos::proto::offer::operation::{Launch, Type as OperationType};
use mesos::proto::offer::Operation;
use mesos::proto::scheduler::call::{Accept, Acknowledge, Kill, Subscribe, Type as CallType};
use mesos::proto::scheduler::Call;
use mesos::proto::{CommandInfo, Filters, FrameworkId, FrameworkInfo, Offer, TaskId, TaskInfo, TaskState};
use mesos::resources::Resources;
use tokio::sync::Notify;

// ---------------------------------------------------------------------------------------------
// The framework.

type Heard = Arc<(Mutex<Vec<(UPID, String, Bytes)>>, Notify)>;

struct Framework {
    heard: Heard,
}

impl Process for Framework {
    fn initialize(&mut self, ctx: &mut Context<Self>) {
        for name in [
            libprocess::protobuf::type_name::<FrameworkRegisteredMessage>(),
            libprocess::protobuf::type_name::<ResourceOffersMessage>(),
            libprocess::protobuf::type_name::<StatusUpdateMessage>(),
        ] {
            ctx.install(name, move |this: &mut Framework, _ctx, from: &UPID, body: Bytes| {
                this.heard.0.lock().unwrap().push((from.clone(), name.to_string(), body));
                this.heard.1.notify_waiters();
            });
        }
    }
}

struct Cluster {
    lp: Libprocess,
    _master: Daemon,
    _agent: Daemon,
    master_pid: UPID,
    agent_address: String,
    framework: PID<Framework>,
    heard: Heard,
    framework_id: FrameworkId,
    _work_dir: tempfile::TempDir,
}

impl Cluster {
    async fn start() -> Cluster {
        let work_dir = tempfile::tempdir().unwrap();
        let programs = programs();
        let master =
            Daemon::start("mesos-master", &["--ip=127.0.0.1".into(), "--port=0".into(), "--registry=in_memory".into()]);
        let master_address = master.address().await;
        let agent = Daemon::start(
            "mesos-agent",
            &[
                format!("--master={master_address}"),
                "--ip=127.0.0.1".into(),
                "--port=0".into(),
                format!("--work_dir={}", work_dir.path().display()),
                format!("--launcher_dir={}", programs.display()),
                "--resources=cpus:2;mem:1024;disk:1024;ports:[31000-31100]".into(),
                "--hostname=localhost".into(),
                "--registration_backoff_factor=10ms".into(),
            ],
        );
        let agent_address = agent.address().await;
        let lp = common::instance().await;
        let heard: Heard = Arc::default();
        let framework = lp.spawn("scheduler(1)", Framework { heard: heard.clone() }).unwrap();
        let master_pid: UPID = format!("master@{master_address}").parse().unwrap();
        let mut cluster = Cluster {
            lp,
            _master: master,
            _agent: agent,
            master_pid,
            agent_address,
            framework,
            heard,
            framework_id: FrameworkId::default(),
            _work_dir: work_dir,
        };
        cluster.subscribe().await;
        cluster
    }

    fn all<M: ProtobufMessage>(&self) -> Vec<(UPID, M)> {
        let name = libprocess::protobuf::type_name::<M>();
        let heard = self.heard.0.lock().unwrap();
        heard.iter().filter(|(_, n, _)| n == name).map(|(f, _, b)| (f.clone(), M::decode(b.clone()).unwrap())).collect()
    }

    /// Waits until `pick` finds something in what the framework heard.
    async fn wait<T>(&self, what: &str, pick: impl Fn(&Cluster) -> Option<T>) -> T {
        within(what, async {
            loop {
                let notified = self.heard.1.notified();
                tokio::pin!(notified);
                notified.as_mut().enable();
                if let Some(found) = pick(self) {
                    return found;
                }
                notified.await;
            }
        })
        .await
    }

    fn call(&self, call: &Call) {
        self.lp.post_protobuf(self.framework.upid(), &self.master_pid, call);
    }

    async fn subscribe(&mut self) {
        let info = FrameworkInfo {
            user: String::new(),
            name: "e2e".into(),
            roles: vec!["*".into()],
            capabilities: vec![Capability { r#type: Some(FrameworkCapability::MultiRole as i32) }],
            ..FrameworkInfo::default()
        };
        let subscribe = Call {
            r#type: Some(CallType::Subscribe as i32),
            subscribe: Some(Subscribe { framework_info: info, ..Subscribe::default() }),
            ..Call::default()
        };
        // The master drops calls until its registry is recovered: retry until registered.
        self.framework_id = within("the framework to register", async {
            loop {
                self.call(&subscribe);
                tokio::time::sleep(Duration::from_millis(100)).await;
                if let Some((_, registered)) = self.all::<FrameworkRegisteredMessage>().last() {
                    return registered.framework_id.clone();
                }
            }
        })
        .await;
    }

    /// The next offer that arrives after `seen` offers.
    async fn offer(&self, seen: usize) -> Offer {
        self.wait("an offer", |c| {
            let offers = c.all::<ResourceOffersMessage>();
            offers.get(seen).and_then(|(_, m)| m.offers.first().cloned())
        })
        .await
    }

    fn launch(&self, offer: &Offer, task: &str, command: &str) {
        self.launch_with(offer, task, CommandInfo { value: Some(command.into()), ..CommandInfo::default() });
    }

    fn launch_with(&self, offer: &Offer, task: &str, command: CommandInfo) {
        let mut resources = Resources::parse("cpus:0.5;mem:64", "*").unwrap();
        resources.allocate("*");
        let task = TaskInfo {
            name: task.into(),
            task_id: TaskId { value: task.into() },
            slave_id: offer.slave_id.clone(),
            resources: resources.to_vec(),
            command: Some(command),
            ..TaskInfo::default()
        };
        let launch = Operation {
            r#type: Some(OperationType::Launch as i32),
            launch: Some(Launch { task_infos: vec![task] }),
            ..Operation::default()
        };
        self.call(&Call {
            framework_id: Some(self.framework_id.clone()),
            r#type: Some(CallType::Accept as i32),
            accept: Some(Accept {
                offer_ids: vec![offer.id.clone()],
                operations: vec![launch],
                filters: Some(Filters { refuse_seconds: Some(0.0) }),
            }),
            ..Call::default()
        });
    }

    /// Waits for `task` to reach a terminal state, acknowledging every update; returns its
    /// states in order and the terminal update's message.
    async fn run_to_end(&self, task: &str) -> (Vec<TaskState>, Option<String>) {
        self.run_until(task, 0, |state| {
            matches!(
                state,
                TaskState::TaskFinished
                    | TaskState::TaskFailed
                    | TaskState::TaskKilled
                    | TaskState::TaskLost
                    | TaskState::TaskError
            )
        })
        .await
    }

    /// Acknowledges the updates of `task` past the first `acknowledged` ones as they come,
    /// until one is in a state `stop` accepts; returns all its states and that update's
    /// message.
    async fn run_until(
        &self,
        task: &str,
        acknowledged: usize,
        stop: impl Fn(TaskState) -> bool,
    ) -> (Vec<TaskState>, Option<String>) {
        let mut acknowledged = acknowledged;
        loop {
            let updates: Vec<StatusUpdateMessage> = self
                .wait("a status update", |c| {
                    let updates: Vec<StatusUpdateMessage> = c
                        .all::<StatusUpdateMessage>()
                        .into_iter()
                        .map(|(_, m)| m)
                        .filter(|m| m.update.status.task_id.value == task)
                        .collect();
                    (updates.len() > acknowledged).then_some(updates)
                })
                .await;
            for update in &updates[acknowledged..] {
                let status = &update.update.status;
                self.call(&Call {
                    framework_id: Some(self.framework_id.clone()),
                    r#type: Some(CallType::Acknowledge as i32),
                    acknowledge: Some(Acknowledge {
                        slave_id: status.slave_id.clone().unwrap(),
                        task_id: status.task_id.clone(),
                        uuid: status.uuid.clone().unwrap(),
                    }),
                    ..Call::default()
                });
            }
            acknowledged = updates.len();
            let last = updates.last().unwrap();
            let state = TaskState::try_from(last.update.status.state).unwrap();
            if stop(state) {
                let states = updates.iter().map(|m| TaskState::try_from(m.update.status.state).unwrap()).collect();
                return (states, last.update.status.message.clone());
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_command_task_runs_to_finished_and_its_output_is_in_its_sandbox() {
    let cluster = Cluster::start().await;
    let offer = cluster.offer(0).await;
    assert_eq!(offer.hostname, "localhost");
    cluster.launch(&offer, "hello", "echo hello from the task; echo to stderr >&2");
    let (states, message) = cluster.run_to_end("hello").await;
    assert_eq!(states, [TaskState::TaskStarting, TaskState::TaskRunning, TaskState::TaskFinished]);
    assert_eq!(message.as_deref(), Some("Command exited with status 0"));

    // The sandbox on disk, named as Mesos names it, holds the task's stdout and stderr.
    let directory = sandbox(&cluster, "hello").await;
    let shown = directory.display().to_string();
    assert!(shown.contains(&format!("/frameworks/{}/executors/hello/runs/", cluster.framework_id.value)), "{shown}");
    let stdout = std::fs::read_to_string(directory.join("stdout")).unwrap();
    assert!(stdout.contains("hello from the task"), "{stdout}");
    let stderr = std::fs::read_to_string(directory.join("stderr")).unwrap();
    assert!(stderr.contains("to stderr"), "{stderr}");

    // And through the agent's files service, under the sandbox's three names.
    let latest = format!("/frameworks/{}/executors/hello/runs/latest", cluster.framework_id.value);
    for path in [shown.clone(), latest] {
        let (status, body) = get(&cluster.agent_address, &format!("/files/read?path={path}/stdout&offset=0")).await;
        assert_eq!(status, 200, "{body}");
        let read: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(read["offset"], 0);
        assert!(read["data"].as_str().unwrap().contains("hello from the task"), "{body}");
    }
    let (status, body) = get(&cluster.agent_address, &format!("/files/browse?path={shown}")).await;
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("/stdout\""), "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_command_fails_and_a_killed_one_is_killed_with_its_process_group() {
    let cluster = Cluster::start().await;
    let offer = cluster.offer(0).await;
    cluster.launch(&offer, "fails", "exit 7");
    let (states, message) = cluster.run_to_end("fails").await;
    assert_eq!(states.last(), Some(&TaskState::TaskFailed));
    assert_eq!(message.as_deref(), Some("Command exited with status 7"));

    // A task whose shell starts a background child; both are gone after the kill.
    let offer = cluster.offer(1).await;
    cluster.launch(&offer, "killed", "sleep 300 & echo $! > child.pid; exec sleep 301");
    let (states, _) = cluster.run_until("killed", 0, |state| state == TaskState::TaskRunning).await;
    assert_eq!(states, [TaskState::TaskStarting, TaskState::TaskRunning]);
    let directory = sandbox(&cluster, "killed").await;
    let child: i32 = within("the task to write child.pid", async {
        loop {
            if let Some(pid) =
                std::fs::read_to_string(directory.join("child.pid")).ok().and_then(|t| t.trim().parse().ok())
            {
                return pid;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await;
    assert!(alive(child), "the background child runs");
    cluster.call(&Call {
        framework_id: Some(cluster.framework_id.clone()),
        r#type: Some(CallType::Kill as i32),
        kill: Some(Kill { task_id: TaskId { value: "killed".into() }, ..Kill::default() }),
        ..Call::default()
    });
    let (states, message) =
        cluster.run_until("killed", 2, |state| matches!(state, TaskState::TaskKilled | TaskState::TaskFailed)).await;
    assert_eq!(states.last(), Some(&TaskState::TaskKilled));
    assert!(message.unwrap_or_default().starts_with("Command terminated with signal"));
    // The background child, in the task's process group, is gone too.
    within("the background child to go", async {
        while alive(child) {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await;
}

/// Whether process `pid` exists and is not a zombie.
fn alive(pid: i32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => stat.rsplit_once(") ").is_none_or(|(_, rest)| !rest.starts_with('Z')),
        Err(_) => false,
    }
}

/// The sandbox of the executor of `task` (its id is the task's), from the agent's `/state`.
async fn sandbox(cluster: &Cluster, task: &str) -> PathBuf {
    let (status, body) = get(&cluster.agent_address, "/state").await;
    assert_eq!(status, 200, "{body}");
    let state: serde_json::Value = serde_json::from_str(&body).unwrap();
    let framework = &state["frameworks"][0];
    let executor = ["executors", "completed_executors"]
        .iter()
        .flat_map(|key| framework[*key].as_array().cloned().unwrap_or_default())
        .find(|executor| executor["id"] == task)
        .unwrap_or_else(|| panic!("executor {task} in /state: {body}"));
    PathBuf::from(executor["directory"].as_str().unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_fetch_fails_the_task_as_a_container_launch_failure() {
    let cluster = Cluster::start().await;
    let offer = cluster.offer(0).await;
    let command = CommandInfo {
        value: Some("cat input".into()),
        uris: vec![mesos::proto::command_info::Uri { value: "/no/such/input".into(), ..Default::default() }],
        ..CommandInfo::default()
    };
    cluster.launch_with(&offer, "unfetched", command);
    let updates = cluster.run_to_end("unfetched").await;
    assert_eq!(updates.0, [TaskState::TaskFailed]);
    let last = cluster
        .all::<StatusUpdateMessage>()
        .into_iter()
        .map(|(_, m)| m.update.status)
        .find(|status| status.task_id.value == "unfetched")
        .unwrap();
    assert_eq!(last.reason, Some(mesos::proto::task_status::Reason::ContainerLaunchFailed as i32));
    assert_eq!(last.source, Some(mesos::proto::task_status::Source::Slave as i32));
    let message = last.message.unwrap_or_default();
    assert!(message.starts_with("Failed to launch container: "), "{message}");
    assert!(message.contains("/no/such/input"), "{message}");
}
