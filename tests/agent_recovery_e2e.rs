//! Agent recovery across OS processes: `mesos-master` and `mesos-agent` as child processes, a checkpointing framework (the scheduler driver in this test's instance) runs `sleep 3`, the agent is SIGKILLed and started again on the same `--work_dir` and port; its executor lives on, reregisters with the new agent, the task reaches `TASK_FINISHED`, and the master still lists one agent under the same id (the flow of `SlaveRecoveryTest.ReconnectExecutor` and `.RecoverStatusUpdateManager` in `src/tests/slave_recovery_tests.cpp`).

mod common;

use std::collections::BTreeMap;
use std::sync::mpsc;
use std::time::Duration;

use common::daemons::{get, programs, within, Daemon};
use common::scheduler::{next, Event, Forward};
use mesos::proto::{CommandInfo, FrameworkInfo, TaskId, TaskInfo, TaskState};
use mesos::resources::Resources;
use mesos::sched::{MesosSchedulerDriver, SchedulerDriver, Status};

async fn master_state(address: &str) -> serde_json::Value {
    let (status, body) = get(address, "/master/state").await;
    assert_eq!(status, 200);
    serde_json::from_str(&body).unwrap()
}

async fn wait_for_state(address: &str, what: &str, check: impl Fn(&serde_json::Value) -> bool) -> serde_json::Value {
    within(what, async {
        loop {
            let state = master_state(address).await;
            if check(&state) {
                return state;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await
}

/// A port nobody listens on now (the agent must come back on the same one: it is part of
/// its `SlaveInfo`).
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sigkilled_agent_restarts_and_its_checkpointed_task_finishes() {
    let work_dir = tempfile::tempdir().unwrap();
    let master =
        Daemon::start("mesos-master", &["--ip=127.0.0.1".into(), "--port=0".into(), "--registry=in_memory".into()]);
    let address = master.address().await;
    let agent_args = vec![
        format!("--master={address}"),
        "--ip=127.0.0.1".into(),
        format!("--port={}", free_port()),
        format!("--work_dir={}", work_dir.path().display()),
        format!("--launcher_dir={}", programs().display()),
        "--resources=cpus:2;mem:1024;disk:1024;ports:[31000-31100]".into(),
        "--hostname=localhost".into(),
        "--registration_backoff_factor=10ms".into(),
    ];
    let mut agent = Daemon::start("mesos-agent", &agent_args);
    agent.address().await;
    let state = wait_for_state(&address, "the agent registered", |s| s["activated_slaves"] == 1.0).await;
    let agent_id = state["slaves"][0]["id"].as_str().unwrap().to_string();

    let lp = common::instance().await;
    let (sender, events) = mpsc::channel();
    let framework = FrameworkInfo {
        name: "checkpointing".into(),
        user: String::new(),
        checkpoint: Some(true),
        ..FrameworkInfo::default()
    };
    let driver = MesosSchedulerDriver::new(&lp, Forward(sender), framework, &address, true, BTreeMap::new());
    assert_eq!(driver.start(), Status::DriverRunning);
    let offer = next(&events, "an offer", |e| if let Event::Offers(o) = e { o.into_iter().next() } else { None }).await;
    let mut resources = Resources::parse("cpus:0.5;mem:64", "*").unwrap();
    resources.allocate("*");
    let task = TaskInfo {
        name: "survivor".into(),
        task_id: TaskId { value: "survivor".into() },
        slave_id: offer.slave_id.clone(),
        resources: resources.to_vec(),
        command: Some(CommandInfo { value: Some("sleep 3".into()), ..CommandInfo::default() }),
        ..TaskInfo::default()
    };
    driver.launch_tasks(vec![offer.id.clone()], vec![task], Default::default());
    next(&events, "TASK_RUNNING", |e| match e {
        Event::Update(s) if s.state() == TaskState::TaskRunning => Some(()),
        Event::Update(s) if mesos::protobuf_utils::is_terminal_state(s.state()) => panic!("task ended: {s:?}"),
        _ => None,
    })
    .await;

    // The agent dies without a word; its executor stays.
    agent.child.start_kill().unwrap();
    agent.exit_code().await;
    drop(agent);
    let agent = Daemon::start("mesos-agent", &agent_args);
    let status = next(&events, "the task's end", |e| match e {
        Event::Update(s) if mesos::protobuf_utils::is_terminal_state(s.state()) => Some(*s),
        _ => None,
    })
    .await;
    assert_eq!(status.state(), TaskState::TaskFinished, "{status:?}\n{}", agent.log.text());
    assert!(agent.log.text().contains("Sending reconnect request to executor"), "{}", agent.log.text());

    let state = wait_for_state(&address, "the agent back", |s| s["activated_slaves"] == 1.0).await;
    let slaves = state["slaves"].as_array().unwrap();
    assert_eq!(slaves.len(), 1, "{state}");
    assert_eq!(slaves[0]["id"], agent_id.as_str(), "the agent keeps its id");
    let completed = &state["frameworks"][0]["completed_tasks"];
    assert_eq!(completed[0]["state"], "TASK_FINISHED", "{state}");
    driver.stop(false);
    drop(driver);
    lp.shutdown().await;
    let _ = &master;
}
