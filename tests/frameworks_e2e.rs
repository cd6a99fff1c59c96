//! The example frameworks and the scheduler driver against `mesos-master` and two `mesos-agent`s as separate OS processes: `test-framework`, `mesos-execute` and `no-executor-framework` reach `TASK_FINISHED`, a failing command `TASK_FAILED` (and a failing exit code), a killed one `TASK_KILLED`; a framework that disconnects and comes back within its failover timeout keeps its task and reconciles it, one that does not has it killed; `long-lived-framework` brings a killed instance back.

mod common;

use std::collections::BTreeMap;
use std::sync::mpsc;
use std::time::Duration;

use common::daemons::{within, Daemon, ProcessCluster as Cluster};
use common::scheduler::{Event, Forward};
use libprocess::Libprocess;
use mesos::proto::{CommandInfo, FrameworkInfo, TaskId, TaskInfo, TaskState, TaskStatus};
use mesos::resources::Resources;
use mesos::sched::{MesosSchedulerDriver, SchedulerDriver, Status};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn test_http_framework_runs_its_tasks_over_the_v1_scheduler_and_executor_apis() {
    let cluster = Cluster::start().await;
    let (code, output) = cluster.run("test-http-framework", &["--num_tasks=4"]).await;
    assert_eq!(code, Some(0), "{output}");
    assert!(output.contains("Received a SUBSCRIBED event"), "{output}");
    for task in 0..4 {
        assert!(output.contains(&format!("Task {task} is in state TASK_RUNNING")), "{output}");
        assert!(output.contains(&format!("Task {task} is in state TASK_FINISHED")), "{output}");
    }
    // It tore itself down; as an HTTP framework it has no pid, and its executors (on the
    // executor HTTP API) ran on both agents.
    let state = cluster
        .wait_for_state("the framework torn down", |s| {
            s["completed_frameworks"].as_array().is_some_and(|f| f.len() == 1)
        })
        .await;
    let framework = &state["completed_frameworks"][0];
    assert!(framework.get("pid").is_none(), "{framework}");
    let tasks = framework["completed_tasks"].as_array().unwrap();
    assert_eq!(tasks.len(), 4, "{framework}");
    assert!(tasks.iter().all(|t| t["state"] == "TASK_FINISHED"), "{framework}");
    let agents: std::collections::BTreeSet<&str> = tasks.iter().map(|t| t["slave_id"].as_str().unwrap()).collect();
    assert_eq!(agents.len(), 2, "{framework}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn test_framework_and_mesos_execute_run_their_tasks_to_finished() {
    let cluster = Cluster::start().await;
    let (code, output) = cluster.run("test-framework", &["--num_tasks=4"]).await;
    assert_eq!(code, Some(0), "{output}");
    for task in 0..4 {
        assert!(output.contains(&format!("Task {task} is in state TASK_FINISHED")), "{output}");
    }
    // Its tasks ran on both agents: 4 tasks of 1 CPU on agents of 2 CPUs.
    let state = cluster.state().await;
    let framework = &state["completed_frameworks"][0];
    let agents: std::collections::BTreeSet<&str> =
        framework["completed_tasks"].as_array().unwrap().iter().map(|t| t["slave_id"].as_str().unwrap()).collect();
    assert_eq!(agents.len(), 2, "{framework}");

    let (code, output) = cluster.run("mesos-execute", &["--name=hello", "--command=echo hello"]).await;
    assert_eq!(code, Some(0), "{output}");
    assert!(output.contains("Received status update TASK_RUNNING for task 'hello'"), "{output}");
    assert!(output.contains("Received status update TASK_FINISHED for task 'hello'"), "{output}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mesos_execute_reports_a_failing_command_as_failed_and_a_killed_one_as_killed() {
    let cluster = Cluster::start().await;
    let (code, output) = cluster.run("mesos-execute", &["--name=failing", "--command=exit 3"]).await;
    assert_ne!(code, Some(0), "{output}");
    assert!(output.contains("Received status update TASK_FAILED for task 'failing'"), "{output}");
    assert!(output.contains("Command exited with status 3"), "{output}");

    let (code, output) =
        cluster.run("mesos-execute", &["--name=sleeper", "--command=sleep 100", "--kill_after=1secs"]).await;
    assert_ne!(code, Some(0), "{output}");
    assert!(output.contains("Received status update TASK_KILLED for task 'sleeper'"), "{output}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_executor_framework_runs_command_tasks_and_fails_if_one_fails() {
    let cluster = Cluster::start().await;
    let (code, output) = cluster.run("no-executor-framework", &["--num_tasks=3", "--command=true"]).await;
    assert_eq!(code, Some(0), "{output}");
    for task in 0..3 {
        assert!(output.contains(&format!("Task '{task}' is in state TASK_FINISHED")), "{output}");
    }

    let (code, output) = cluster.run("no-executor-framework", &["--num_tasks=2", "--command=exit 1"]).await;
    assert_eq!(code, Some(1), "{output}");
    assert!(output.contains("Failed to complete successfully: 2 of 2 terminated abnormally"), "{output}");
}

// ----- failover, with the scheduler driver in this test's own instances -----

/// A scheduler driver in an instance of its own, so that shutting the instance down breaks
/// its connection to the master as a crashed scheduler's would.
struct Driver {
    lp: Libprocess,
    driver: MesosSchedulerDriver,
    events: mpsc::Receiver<Event>,
}

impl Driver {
    async fn start(cluster: &Cluster, framework: FrameworkInfo) -> Driver {
        let lp = common::instance().await;
        let (sender, events) = mpsc::channel();
        let driver =
            MesosSchedulerDriver::new(&lp, Forward(sender), framework, &cluster.address, true, BTreeMap::new());
        assert_eq!(driver.start(), Status::DriverRunning);
        Driver { lp, driver, events }
    }

    /// The next event `pick` accepts; others are skipped.
    async fn next<T: Send + 'static>(&self, what: &str, pick: impl Fn(Event) -> Option<T>) -> T {
        common::scheduler::next(&self.events, what, pick).await
    }

    /// Launches `sleep 100` as task `id` on the first offer; returns once it runs.
    async fn launch_sleeper(&self, id: &str) {
        let offer = self.next("an offer", |e| if let Event::Offers(o) = e { o.into_iter().next() } else { None }).await;
        let mut resources = Resources::parse("cpus:0.5;mem:64", "*").unwrap();
        resources.allocate("*");
        let task = TaskInfo {
            name: id.to_string(),
            task_id: TaskId { value: id.to_string() },
            slave_id: offer.slave_id.clone(),
            resources: resources.to_vec(),
            command: Some(CommandInfo { value: Some("sleep 100".into()), ..CommandInfo::default() }),
            ..TaskInfo::default()
        };
        self.driver.launch_tasks(vec![offer.id.clone()], vec![task], Default::default());
        self.next("TASK_RUNNING", |e| match e {
            Event::Update(s) if s.state() == TaskState::TaskRunning => Some(()),
            Event::Update(s) if mesos::protobuf_utils::is_terminal_state(s.state()) => panic!("task ended: {s:?}"),
            _ => None,
        })
        .await;
    }

    /// Ends the instance without telling the master anything (no teardown).
    async fn crash(self) {
        self.driver.stop(true);
        drop(self.driver);
        self.lp.shutdown().await;
    }
}

fn framework(failover_timeout: f64) -> FrameworkInfo {
    FrameworkInfo {
        name: "failover".into(),
        user: String::new(),
        failover_timeout: Some(failover_timeout),
        ..FrameworkInfo::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_framework_back_within_its_failover_timeout_keeps_its_task_and_reconciles_it() {
    let cluster = Cluster::start().await;
    let first = Driver::start(&cluster, framework(60.0)).await;
    let id = first.next("registration", |e| if let Event::Registered(id) = e { Some(id) } else { None }).await;
    first.launch_sleeper("kept").await;
    first.crash().await;
    cluster.wait_for_state("the framework deactivated", |s| s["frameworks"][0]["active"] == false).await;

    let mut info = framework(60.0);
    info.id = Some(id.clone());
    let second = Driver::start(&cluster, info).await;
    let again = second.next("re-registration", |e| if let Event::Registered(id) = e { Some(id) } else { None }).await;
    assert_eq!(again, id, "the framework keeps its id");

    // Implicit reconciliation: the master reports the running task.
    second.driver.reconcile_tasks(Vec::new());
    let status = second.next("the reconciled task", |e| if let Event::Update(s) = e { Some(*s) } else { None }).await;
    assert_eq!(status.task_id.value, "kept");
    assert_eq!(status.state(), TaskState::TaskRunning);
    assert_eq!(status.reason(), mesos::proto::task_status::Reason::Reconciliation);

    // Explicit reconciliation of a task the master never heard of, on a known agent.
    let agent = status.slave_id.clone();
    second.driver.reconcile_tasks(vec![TaskStatus {
        task_id: TaskId { value: "never-launched".into() },
        slave_id: agent,
        state: TaskState::TaskStaging as i32,
        ..TaskStatus::default()
    }]);
    let status =
        second.next("the unknown task's state", |e| if let Event::Update(s) = e { Some(*s) } else { None }).await;
    assert_eq!(status.task_id.value, "never-launched");
    assert_eq!(status.state(), TaskState::TaskLost);

    let state = cluster.state().await;
    assert_eq!(state["frameworks"][0]["active"], true);
    assert_eq!(state["frameworks"][0]["tasks"][0]["state"], "TASK_RUNNING");
    second.crash().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_framework_gone_past_its_failover_timeout_has_its_task_killed() {
    let cluster = Cluster::start().await;
    let first = Driver::start(&cluster, framework(1.0)).await;
    first.next("registration", |e| if let Event::Registered(id) = e { Some(id) } else { None }).await;
    first.launch_sleeper("doomed").await;
    first.crash().await;
    let state = cluster
        .wait_for_state("the framework removed", |s| {
            s["frameworks"].as_array().is_some_and(|f| f.is_empty())
                && s["completed_frameworks"][0]["completed_tasks"][0]["state"] == "TASK_KILLED"
        })
        .await;
    assert_eq!(state["completed_frameworks"][0]["completed_tasks"][0]["id"], "doomed");
    let _ = &cluster.master;
}

// ----- the long-lived framework -----

/// Pids of processes whose command line is exactly `command`.
fn processes_running(command: &str) -> Vec<i32> {
    let mut pids = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<i32>() else { continue };
        let Ok(cmdline) = std::fs::read(entry.path().join("cmdline")) else { continue };
        let words: Vec<String> = cmdline
            .split(|b| *b == 0)
            .filter(|w| !w.is_empty())
            .map(|w| String::from_utf8_lossy(w).into_owned())
            .collect();
        if words.join(" ") == command {
            pids.push(pid);
        }
    }
    pids
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_long_lived_framework_brings_a_killed_instance_back() {
    let cluster = Cluster::start().await;
    // A duration no other test uses, to find this framework's processes.
    let command = "sleep 987.25";
    let mut service = Daemon::start(
        "long-lived-framework",
        &[format!("--master={}", cluster.address), "--instances=2".into(), format!("--command={command}")],
    );
    for instance in 0..2 {
        service
            .log
            .wait_for("both instances running", |line| {
                line.contains(&format!("Instance {instance} (task 'service-{instance}-0') is TASK_RUNNING"))
                    .then_some(())
            })
            .await;
    }
    // `TASK_RUNNING` comes once the shell is forked; it may not have exec'd `sleep` yet.
    let sleepers = within("both sleepers", async {
        loop {
            let sleepers = processes_running(command);
            if sleepers.len() == 2 {
                return sleepers;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await;
    unsafe { libc::kill(sleepers[0], libc::SIGKILL) };
    let relaunched = service
        .log
        .wait_for("a relaunch", |line| {
            let rest = line.strip_prefix("Launched instance ")?;
            rest.contains("-1' on agent").then(|| rest.split_whitespace().next().unwrap().to_string())
        })
        .await;
    service
        .log
        .wait_for("the new instance running", |line| {
            (line.contains(&format!("Instance {relaunched} (task 'service-{relaunched}-1') is TASK_RUNNING")))
                .then_some(())
        })
        .await;
    let state = cluster
        .wait_for_state("two running tasks", |s| {
            s["frameworks"][0]["tasks"]
                .as_array()
                .is_some_and(|t| t.len() == 2 && t.iter().all(|t| t["state"] == "TASK_RUNNING"))
        })
        .await;
    assert_eq!(state["frameworks"][0]["completed_tasks"].as_array().map(Vec::len), Some(1));
    unsafe { libc::kill(service.child.id().unwrap() as i32, libc::SIGTERM) };
    assert_eq!(service.exit_code().await, Some(0), "{}", service.log.text());
}
