//! Task groups end to end: `mesos-master` and two `mesos-agent`s as separate OS processes, the agent running `mesos-default-executor` from its launcher directory. A framework on the v0 scheduler driver in the test's instance accepts an offer with `LAUNCH_GROUP` and sees both tasks of the group run and finish, the master's `/state` listing them; `mesos-execute --task_group` runs a group to `TASK_FINISHED` (exit 0), and a group with a failing task sees its sibling killed (exit 1).

mod common;

use std::collections::BTreeMap;
use std::sync::mpsc;

use common::daemons::ProcessCluster as Cluster;
use common::scheduler::{next, Event, Forward};
use mesos::proto::executor_info::Type as ExecutorType;
use mesos::proto::offer::operation::{LaunchGroup, Type as OperationType};
use mesos::proto::offer::Operation;
use mesos::proto::{CommandInfo, ExecutorId, ExecutorInfo, FrameworkInfo, TaskGroupInfo, TaskId, TaskInfo, TaskState};
use mesos::resources::Resources;
use mesos::sched::{MesosSchedulerDriver, SchedulerDriver, Status};

fn allocated(text: &str) -> Vec<mesos::proto::Resource> {
    let mut resources = Resources::parse(text, "*").unwrap();
    resources.allocate("*");
    resources.to_vec()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_framework_launches_a_task_group_and_both_tasks_finish() {
    let cluster = Cluster::start().await;
    let lp = common::instance().await;
    let (sender, events) = mpsc::channel();
    let framework = FrameworkInfo { name: "task groups".into(), user: String::new(), ..FrameworkInfo::default() };
    let driver = MesosSchedulerDriver::new(&lp, Forward(sender), framework, &cluster.address, true, BTreeMap::new());
    assert_eq!(driver.start(), Status::DriverRunning);
    let framework_id =
        next(&events, "the registration", |e| if let Event::Registered(id) = e { Some(id) } else { None }).await;
    let offer = next(&events, "an offer", |e| if let Event::Offers(o) = e { o.into_iter().next() } else { None }).await;

    let executor = ExecutorInfo {
        r#type: Some(ExecutorType::Default as i32),
        executor_id: ExecutorId { value: "default".into() },
        framework_id: Some(framework_id.clone()),
        resources: allocated("cpus:0.1;mem:32;disk:32"),
        ..ExecutorInfo::default()
    };
    let task = |id: &str, command: &str| TaskInfo {
        name: id.into(),
        task_id: TaskId { value: id.into() },
        slave_id: offer.slave_id.clone(),
        resources: allocated("cpus:0.5;mem:64"),
        command: Some(CommandInfo { value: Some(command.into()), ..CommandInfo::default() }),
        ..TaskInfo::default()
    };
    let group = TaskGroupInfo { tasks: vec![task("first", "echo first"), task("second", "sleep 0.5; echo second")] };
    let operation = Operation {
        r#type: Some(OperationType::LaunchGroup as i32),
        launch_group: Some(LaunchGroup { executor, task_group: group }),
        ..Operation::default()
    };
    driver.accept_offers(vec![offer.id.clone()], vec![operation], Default::default());

    let mut states: BTreeMap<String, Vec<TaskState>> = BTreeMap::new();
    while !["first", "second"].iter().all(|id| states.get(*id).is_some_and(|s| s.contains(&TaskState::TaskFinished))) {
        let status =
            next(&events, "the tasks' updates", |e| if let Event::Update(s) = e { Some(s) } else { None }).await;
        assert!(
            !mesos::protobuf_utils::is_terminal_state(status.state()) || status.state() == TaskState::TaskFinished,
            "{status:?}"
        );
        assert_eq!(status.executor_id.as_ref().map(|e| e.value.as_str()), Some("default"));
        states.entry(status.task_id.value.clone()).or_default().push(status.state());
    }
    for (id, states) in &states {
        assert_eq!(states, &[TaskState::TaskStarting, TaskState::TaskRunning, TaskState::TaskFinished], "{id}");
    }

    // The master's books: both tasks finished in the one executor.
    let state = cluster
        .wait_for_state("both tasks finished", |s| {
            let tasks = s["frameworks"][0]["completed_tasks"].as_array().cloned().unwrap_or_default();
            tasks.len() == 2 && tasks.iter().all(|t| t["state"] == "TASK_FINISHED")
        })
        .await;
    let tasks = state["frameworks"][0]["completed_tasks"].as_array().unwrap();
    assert!(tasks.iter().all(|t| t["executor_id"] == "default"), "{tasks:?}");
    driver.stop(false);
    drop(driver);
    lp.shutdown().await;
}

fn group_json(tasks: &[(&str, &str)]) -> String {
    let tasks: Vec<String> = tasks
        .iter()
        .map(|(id, command)| {
            format!(
                r#"{{"name":"{id}","task_id":{{"value":"{id}"}},"agent_id":{{"value":""}},
                "resources":[{{"name":"cpus","type":"SCALAR","scalar":{{"value":0.2}}}},
                             {{"name":"mem","type":"SCALAR","scalar":{{"value":32}}}}],
                "command":{{"value":"{command}"}}}}"#
            )
        })
        .collect();
    format!(r#"{{"tasks":[{}]}}"#, tasks.join(","))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mesos_execute_runs_a_task_group_and_a_failing_task_kills_its_sibling() {
    let cluster = Cluster::start().await;
    let json = group_json(&[("a", "echo a"), ("b", "echo b")]);
    let (code, output) = cluster.run("mesos-execute", &[&format!("--task_group={json}")]).await;
    assert_eq!(code, Some(0), "{output}");
    assert!(output.contains("Submitted task group with tasks [ a, b ] to agent '"), "{output}");
    for id in ["a", "b"] {
        assert!(output.contains(&format!("Received status update TASK_RUNNING for task '{id}'")), "{output}");
        assert!(output.contains(&format!("Received status update TASK_FINISHED for task '{id}'")), "{output}");
    }

    let json = group_json(&[("fails", "sleep 0.3; exit 3"), ("sleeps", "sleep 100")]);
    let (code, output) = cluster.run("mesos-execute", &[&format!("--task_group={json}")]).await;
    assert_eq!(code, Some(1), "{output}");
    assert!(output.contains("Received status update TASK_FAILED for task 'fails'"), "{output}");
    assert!(output.contains("  message: 'Command exited with status 3'"), "{output}");
    assert!(output.contains("Received status update TASK_KILLED for task 'sleeps'"), "{output}");
}
