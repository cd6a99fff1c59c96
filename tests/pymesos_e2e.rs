//! Interop with a real Python Mesos client: a pymesos 0.3.15 scheduler (`tests/pymesos/scheduler.py`, in a venv made by `tests/pymesos/setup-venv.sh`) subscribes to `mesos-master` over the v1 scheduler HTTP API, launches a command task on a `mesos-agent`, sees `TASK_RUNNING` and `TASK_FINISHED`, acknowledges both and tears the framework down.

mod common;

use std::path::{Path, PathBuf};

use common::daemons::{programs, Daemon, ProcessCluster};

/// The pymesos virtual environment under the target directory, made on first use.
fn venv() -> PathBuf {
    let venv = programs().parent().expect("the profile directory has a parent").join("pymesos-venv");
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/pymesos/setup-venv.sh");
    let output = std::process::Command::new("bash").arg(&script).arg(&venv).output().expect("bash runs");
    assert!(
        output.status.success(),
        "setting up the pymesos venv failed:\n{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    venv
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pymesos_scheduler_runs_a_command_task_to_finished() {
    let python = venv().join("bin/python");
    let cluster = ProcessCluster::start().await;
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/pymesos/scheduler.py");
    let args = [script.display().to_string(), cluster.address.clone(), "echo hello from pymesos".into(), "15".into()];
    let mut scheduler = Daemon::start_program("pymesos scheduler", &python, &args, &[]);
    let code = scheduler.exit_code().await;
    scheduler.log.wait_for("the end of the output", |_| Some(())).await;
    let output = scheduler.log.text();
    assert_eq!(code, Some(0), "the scheduler failed:\n{output}");
    let position = |needle: &str| {
        output.find(needle).unwrap_or_else(|| panic!("'{needle}' is not in the scheduler's output:\n{output}"))
    };
    // In order: subscribed, launched, running (acknowledged), finished (acknowledged), torn down.
    let steps = [
        position("registered "),
        position("launched pymesos-task-1"),
        position("update pymesos-task-1 TASK_RUNNING"),
        position("acknowledged TASK_RUNNING"),
        position("update pymesos-task-1 TASK_FINISHED"),
        position("acknowledged TASK_FINISHED"),
        position("torn down"),
    ];
    assert!(steps.windows(2).all(|w| w[0] < w[1]), "steps out of order:\n{output}");

    // TEARDOWN removed the framework; its task is among the completed ones, finished.
    let state = cluster
        .wait_for_state("the framework to be torn down", |s| {
            s["frameworks"].as_array().is_some_and(|f| f.is_empty())
                && s["completed_frameworks"].as_array().is_some_and(|f| f.len() == 1)
        })
        .await;
    let framework = &state["completed_frameworks"][0];
    assert_eq!(framework["name"], "pymesos-interop");
    assert!(framework.get("pid").is_none(), "an HTTP framework has no pid: {framework}");
    let task = &framework["completed_tasks"][0];
    assert_eq!(task["id"], "pymesos-task-1");
    assert_eq!(task["state"], "TASK_FINISHED");
}
