//! `slave::state::recover` on meta trees built by hand: every field of a whole tree, missing files that end a level quietly, damaged files in strict and non-strict mode, torn status update logs, the missing or dangling `latest` symlinks, and reboot detection (the cases of `src/tests/slave_recovery_tests.cpp` and `state_tests.cpp` that need no running agent).

use std::fs;
use std::path::{Path, PathBuf};

use libprocess::UPID;
use mesos::internal::status_update_record::Type as RecordType;
use mesos::internal::{StatusUpdate, StatusUpdateRecord};
use mesos::proto::{
    CommandInfo, ContainerId, ExecutorId, ExecutorInfo, FrameworkId, FrameworkInfo, SlaveId, SlaveInfo, Task, TaskId,
    TaskState as State, TaskStatus,
};
use mesos::protobuf_io::{append_file, checkpoint, checkpoint_message};
use mesos::state::Uuid;
use slave::paths;
use slave::state::{recover_with_boot_id, StateError};

const BOOT: &str = "7d5b1b7e-0000-4000-8000-000000000001";

fn s0() -> SlaveId {
    SlaveId { value: "S0".into() }
}
fn f0() -> FrameworkId {
    FrameworkId { value: "F0".into() }
}
fn f1() -> FrameworkId {
    FrameworkId { value: "F1".into() }
}
fn e0() -> ExecutorId {
    ExecutorId { value: "E0".into() }
}
fn e1() -> ExecutorId {
    ExecutorId { value: "E1".into() }
}
fn container(value: &str) -> ContainerId {
    ContainerId { value: value.into(), parent: None }
}
fn t0() -> TaskId {
    TaskId { value: "T0".into() }
}

fn slave_info() -> SlaveInfo {
    SlaveInfo { hostname: "agent.example".into(), id: Some(s0()), ..SlaveInfo::default() }
}

fn framework_info(id: FrameworkId) -> FrameworkInfo {
    FrameworkInfo { user: "u".into(), name: "f".into(), id: Some(id), checkpoint: Some(true), ..Default::default() }
}

fn executor_info(id: ExecutorId, name: &str, command: &str) -> ExecutorInfo {
    ExecutorInfo {
        executor_id: id,
        name: Some(name.into()),
        command: Some(CommandInfo { value: Some(command.into()), ..CommandInfo::default() }),
        ..ExecutorInfo::default()
    }
}

fn task() -> Task {
    Task {
        name: "t".into(),
        task_id: t0(),
        framework_id: f0(),
        executor_id: Some(e0()),
        slave_id: s0(),
        state: State::TaskStaging as i32,
        ..Task::default()
    }
}

fn update(state: State) -> StatusUpdate {
    StatusUpdate {
        framework_id: f0(),
        executor_id: Some(e0()),
        slave_id: Some(s0()),
        status: TaskStatus { task_id: t0(), state: state as i32, ..Default::default() },
        timestamp: 1.0,
        uuid: Some(Uuid::random().as_bytes().to_vec()),
        latest_state: None,
    }
}

fn uuid(update: &StatusUpdate) -> Uuid {
    Uuid::from_bytes(update.uuid.as_deref().unwrap()).unwrap()
}

/// A meta tree as an agent leaves it:
///
/// - `S0` (latest) with `slave.info`;
/// - `F0` (libprocess scheduler) with executor `E0`: an old completed run `C1` of an HTTP
///   executor, and the latest run `C2` with both pids and task `T0` (running, then
///   finished; the running update acknowledged);
/// - `F1` (HTTP scheduler) with executor `E1`, whose only run `C3` has no pids and
///   which has no `executor.info`.
struct Tree {
    _dir: tempfile::TempDir,
    meta: PathBuf,
    running: StatusUpdate,
    finished: StatusUpdate,
}

impl Tree {
    fn new() -> Tree {
        let dir = tempfile::tempdir().unwrap();
        let meta = paths::meta_root_dir(dir.path());
        checkpoint(&paths::boot_id_path(&meta), BOOT.as_bytes()).unwrap();
        paths::create_slave_directory(&meta, &s0()).unwrap();
        checkpoint_message(&paths::slave_info_path(&meta, &s0()), &slave_info()).unwrap();

        checkpoint_message(&paths::framework_info_path(&meta, &s0(), &f0()), &framework_info(f0())).unwrap();
        checkpoint(&paths::framework_pid_path(&meta, &s0(), &f0()), b"scheduler(1)@127.0.0.1:5050").unwrap();
        let info = executor_info(e0(), "custom", "/bin/custom-executor");
        checkpoint_message(&paths::executor_info_path(&meta, &s0(), &f0(), &e0()), &info).unwrap();
        let generated = paths::executor_generated_for_command_task_path(&meta, &s0(), &f0(), &e0());
        checkpoint(&generated, b"0").unwrap();

        let c1 = container("C1");
        paths::create_executor_directory(&meta, &s0(), &f0(), &e0(), &c1).unwrap();
        checkpoint(&paths::forked_pid_path(&meta, &s0(), &f0(), &e0(), &c1), b"4000").unwrap();
        checkpoint(&paths::executor_http_marker_path(&meta, &s0(), &f0(), &e0(), &c1), b"").unwrap();
        checkpoint(&paths::executor_sentinel_path(&meta, &s0(), &f0(), &e0(), &c1), b"").unwrap();

        let c2 = container("C2");
        paths::create_executor_directory(&meta, &s0(), &f0(), &e0(), &c2).unwrap();
        checkpoint(&paths::forked_pid_path(&meta, &s0(), &f0(), &e0(), &c2), b"4242").unwrap();
        let libprocess = paths::libprocess_pid_path(&meta, &s0(), &f0(), &e0(), &c2);
        checkpoint(&libprocess, b"executor(1)@127.0.0.1:40000").unwrap();
        checkpoint_message(&paths::task_info_path(&meta, &s0(), &f0(), &e0(), &c2, &t0()), &task()).unwrap();
        let updates = paths::task_updates_path(&meta, &s0(), &f0(), &e0(), &c2, &t0());
        let (running, finished) = (update(State::TaskRunning), update(State::TaskFinished));
        for record in [
            StatusUpdateRecord { r#type: RecordType::Update as i32, update: Some(running.clone()), uuid: None },
            StatusUpdateRecord { r#type: RecordType::Update as i32, update: Some(finished.clone()), uuid: None },
            StatusUpdateRecord { r#type: RecordType::Ack as i32, update: None, uuid: running.uuid.clone() },
        ] {
            append_file(&updates, &record, false).unwrap();
        }

        checkpoint_message(&paths::framework_info_path(&meta, &s0(), &f1()), &framework_info(f1())).unwrap();
        checkpoint(&paths::framework_pid_path(&meta, &s0(), &f1()), b"@0.0.0.0:0").unwrap();
        paths::create_executor_directory(&meta, &s0(), &f1(), &e1(), &container("C3")).unwrap();

        Tree { _dir: dir, meta, running, finished }
    }

    fn run_path(&self, executor: &ExecutorId, run: &str) -> PathBuf {
        let framework = if executor == &e0() { f0() } else { f1() };
        paths::executor_run_path(&self.meta, &s0(), &framework, executor, &container(run))
    }
}

/// A whole record whose body is not protobuf.
fn damage(path: &Path) {
    let mut bytes = 2u32.to_ne_bytes().to_vec();
    bytes.extend_from_slice(&[0x00, 0x00]);
    fs::write(path, bytes).unwrap();
}

#[test]
fn a_whole_tree_recovers_every_field() {
    let tree = Tree::new();
    let state = recover_with_boot_id(&tree.meta, true, BOOT).unwrap();
    assert!(!state.rebooted);
    assert_eq!(state.errors, 0);
    let slave = state.slave.expect("the latest agent");
    assert_eq!(slave.id, s0());
    assert_eq!(slave.info, Some(slave_info()));
    assert_eq!(slave.drain_config, None);
    assert_eq!(slave.errors, 0);
    assert_eq!(slave.frameworks.len(), 2);

    let framework = &slave.frameworks[&f0()];
    assert_eq!(framework.id, f0());
    assert_eq!(framework.info, Some(framework_info(f0())));
    assert_eq!(framework.pid, Some("scheduler(1)@127.0.0.1:5050".parse::<UPID>().unwrap()));
    assert_eq!(framework.executors.len(), 1);
    let executor = &framework.executors[&e0()];
    assert_eq!(executor.id, e0());
    assert_eq!(executor.info, Some(executor_info(e0(), "custom", "/bin/custom-executor")));
    assert_eq!(executor.latest, Some(container("C2")));
    assert!(!executor.generated_for_command_task);
    assert_eq!(executor.errors, 0);
    let mut runs: Vec<&String> = executor.runs.keys().collect();
    runs.sort();
    assert_eq!(runs, ["C1", "C2"]);

    let old = &executor.runs["C1"];
    assert_eq!(old.id, container("C1"));
    assert!(old.completed);
    assert_eq!(old.forked_pid, Some(4000));
    assert_eq!(old.libprocess_pid, None);
    assert_eq!(old.http, Some(true));
    assert!(old.tasks.is_empty());

    let latest = &executor.runs["C2"];
    assert!(!latest.completed);
    assert_eq!(latest.forked_pid, Some(4242));
    assert_eq!(latest.libprocess_pid, Some("executor(1)@127.0.0.1:40000".parse::<UPID>().unwrap()));
    assert_eq!(latest.http, Some(false));
    assert_eq!(latest.errors, 0);
    let task_state = &latest.tasks[&t0()];
    assert_eq!(task_state.id, t0());
    assert_eq!(task_state.info, Some(task()));
    assert_eq!(task_state.updates, [tree.running.clone(), tree.finished.clone()]);
    assert_eq!(task_state.acks.iter().copied().collect::<Vec<_>>(), [uuid(&tree.running)]);
    assert_eq!(task_state.errors, 0);

    // An HTTP framework's pid is the empty UPID; an executor without `executor.info` keeps
    // its runs; a run the executor never registered in has no pids.
    let http = &slave.frameworks[&f1()];
    assert_eq!(http.pid, Some(UPID::empty()));
    let executor = &http.executors[&e1()];
    assert_eq!(executor.info, None);
    assert_eq!(executor.latest, Some(container("C3")));
    let run = &executor.runs["C3"];
    assert_eq!((run.forked_pid, run.libprocess_pid.clone(), run.http, run.completed), (None, None, None, false));
}

#[test]
fn nothing_to_recover_without_a_meta_root_or_a_latest_agent() {
    let dir = tempfile::tempdir().unwrap();
    let meta = paths::meta_root_dir(dir.path());
    let state = recover_with_boot_id(&meta, true, BOOT).unwrap();
    assert_eq!(state, slave::state::State::default());

    // The agent died before it registered: a boot id, no `slaves/latest`.
    checkpoint(&paths::boot_id_path(&meta), b"another boot").unwrap();
    fs::create_dir_all(paths::slave_path(&meta, &s0())).unwrap();
    let state = recover_with_boot_id(&meta, true, BOOT).unwrap();
    assert!(state.slave.is_none());
    assert!(state.rebooted);

    // An agent that registered but never wrote `slave.info`: its id, nothing else.
    paths::create_slave_directory(&meta, &s0()).unwrap();
    let slave = recover_with_boot_id(&meta, true, BOOT).unwrap().slave.unwrap();
    assert_eq!((slave.id, slave.info, slave.frameworks.len()), (s0(), None, 0));
}

#[test]
fn a_dangling_latest_agent_fails_even_when_not_strict() {
    let tree = Tree::new();
    fs::remove_dir_all(paths::slave_path(&tree.meta, &s0())).unwrap();
    for strict in [true, false] {
        let error = recover_with_boot_id(&tree.meta, strict, BOOT).unwrap_err();
        assert!(matches!(error, StateError::Latest { .. }), "{error}");
    }
}

#[test]
fn a_reboot_is_detected_and_drops_the_stale_pids() {
    let tree = Tree::new();
    // A trailing newline in the file does not count (C++ trims it).
    checkpoint(&paths::boot_id_path(&tree.meta), format!("{BOOT}\n").as_bytes()).unwrap();
    assert!(!recover_with_boot_id(&tree.meta, true, BOOT).unwrap().rebooted);

    let state = recover_with_boot_id(&tree.meta, true, "a-new-boot").unwrap();
    assert!(state.rebooted);
    let executor = &state.slave.unwrap().frameworks[&f0()].executors[&e0()];
    for name in ["C1", "C2"] {
        let run = &executor.runs[name];
        assert_eq!((run.forked_pid, run.libprocess_pid.clone(), run.http), (None, None, None), "{name}");
        assert!(!tree.run_path(&e0(), name).join("pids/forked.pid").exists(), "{name}: forked.pid removed");
    }
    // The tasks and the sentinel are still read.
    assert!(executor.runs["C1"].completed);
    assert_eq!(executor.runs["C2"].tasks[&t0()].updates.len(), 2);
    // The libprocess pid stays on disk; without `forked.pid` it is not read again.
    assert!(tree.run_path(&e0(), "C2").join("pids/libprocess.pid").exists());
    let state = recover_with_boot_id(&tree.meta, true, BOOT).unwrap();
    let run = &state.slave.unwrap().frameworks[&f0()].executors[&e0()].runs["C2"];
    assert_eq!((run.forked_pid, run.libprocess_pid.clone()), (None, None));
}

#[test]
fn a_damaged_file_fails_strict_recovery_and_is_counted_otherwise() {
    let tree = Tree::new();
    let task_info = paths::task_info_path(&tree.meta, &s0(), &f0(), &e0(), &container("C2"), &t0());
    damage(&task_info);

    let error = recover_with_boot_id(&tree.meta, true, BOOT).unwrap_err().to_string();
    assert!(error.starts_with("Failed to recover framework F0: Failed to recover executor 'E0': "), "{error}");
    assert!(error.contains("Failed to recover task T0: Failed to read task info from"), "{error}");

    // Non-strict: the task keeps its id only, and each level counts the error.
    let slave = recover_with_boot_id(&tree.meta, false, BOOT).unwrap().slave.unwrap();
    assert_eq!(slave.errors, 1);
    let framework = &slave.frameworks[&f0()];
    assert_eq!(framework.errors, 1);
    let executor = &framework.executors[&e0()];
    assert_eq!(executor.errors, 1);
    assert_eq!(executor.runs["C2"].errors, 1);
    let task = &executor.runs["C2"].tasks[&t0()];
    assert_eq!((task.info.clone(), task.updates.len(), task.errors), (None, 0, 1));
    // The rest of the tree is whole.
    assert_eq!(executor.runs["C2"].forked_pid, Some(4242));
    assert_eq!(slave.frameworks[&f1()].errors, 0);
}

#[test]
fn a_damaged_level_stops_below_it_in_non_strict_mode() {
    let tree = Tree::new();
    damage(&paths::framework_info_path(&tree.meta, &s0(), &f0()));
    let error = recover_with_boot_id(&tree.meta, true, BOOT).unwrap_err();
    assert!(error.to_string().contains("Failed to read framework info from"), "{error}");
    let slave = recover_with_boot_id(&tree.meta, false, BOOT).unwrap().slave.unwrap();
    let framework = &slave.frameworks[&f0()];
    assert_eq!((framework.info.clone(), framework.pid.clone(), framework.executors.len()), (None, None, 0));
    assert_eq!((framework.errors, slave.errors), (1, 1));

    damage(&paths::slave_info_path(&tree.meta, &s0()));
    let slave = recover_with_boot_id(&tree.meta, false, BOOT).unwrap().slave.unwrap();
    assert_eq!((slave.info, slave.frameworks.len(), slave.errors), (None, 0, 1));
}

#[test]
fn missing_files_end_their_level_quietly() {
    let tree = Tree::new();
    // Without `forked.pid` the libprocess pid is not read either.
    fs::remove_file(tree.run_path(&e0(), "C2").join("pids/forked.pid")).unwrap();
    // Without `runs/latest` the executor's info is not read.
    fs::remove_file(paths::executor_latest_run_path(&tree.meta, &s0(), &f1(), &e1())).unwrap();
    checkpoint_message(&paths::executor_info_path(&tree.meta, &s0(), &f1(), &e1()), &executor_info(e1(), "x", "y"))
        .unwrap();
    let slave = recover_with_boot_id(&tree.meta, true, BOOT).unwrap().slave.unwrap();
    let run = &slave.frameworks[&f0()].executors[&e0()].runs["C2"];
    assert_eq!((run.forked_pid, run.libprocess_pid.clone(), run.http), (None, None, None));
    assert_eq!(run.tasks[&t0()].updates.len(), 2);
    let executor = &slave.frameworks[&f1()].executors[&e1()];
    assert_eq!((executor.latest.clone(), executor.info.clone(), executor.runs.len()), (None, None, 1));
    assert_eq!(slave.errors, 0);

    // Without `framework.pid` the executors are not read; an empty file counts as missing.
    fs::write(paths::framework_pid_path(&tree.meta, &s0(), &f0()), b"").unwrap();
    let slave = recover_with_boot_id(&tree.meta, true, BOOT).unwrap().slave.unwrap();
    let framework = &slave.frameworks[&f0()];
    assert_eq!((framework.info.is_some(), framework.pid.clone(), framework.executors.len()), (true, None, 0));
    assert_eq!(slave.errors, 0);

    // Without `task.info` the task's updates are not read.
    let tree = Tree::new();
    fs::remove_file(paths::task_info_path(&tree.meta, &s0(), &f0(), &e0(), &container("C2"), &t0())).unwrap();
    let slave = recover_with_boot_id(&tree.meta, true, BOOT).unwrap().slave.unwrap();
    let task = &slave.frameworks[&f0()].executors[&e0()].runs["C2"].tasks[&t0()];
    assert_eq!((task.info.clone(), task.updates.len()), (None, 0));
}

#[test]
fn a_dangling_latest_run_is_skipped() {
    let tree = Tree::new();
    fs::remove_dir_all(tree.run_path(&e1(), "C3")).unwrap();
    let slave = recover_with_boot_id(&tree.meta, true, BOOT).unwrap().slave.unwrap();
    let executor = &slave.frameworks[&f1()].executors[&e1()];
    assert_eq!((executor.latest.clone(), executor.runs.len()), (None, 0));
}

#[test]
fn a_torn_update_log_is_cut_back_without_an_error() {
    let tree = Tree::new();
    let updates = paths::task_updates_path(&tree.meta, &s0(), &f0(), &e0(), &container("C2"), &t0());
    let whole = fs::metadata(&updates).unwrap().len();
    let mut bytes = fs::read(&updates).unwrap();
    bytes.extend_from_slice(&100u32.to_ne_bytes());
    bytes.extend_from_slice(b"partial");
    fs::write(&updates, bytes).unwrap();

    let slave = recover_with_boot_id(&tree.meta, true, BOOT).unwrap().slave.unwrap();
    let task = &slave.frameworks[&f0()].executors[&e0()].runs["C2"].tasks[&t0()];
    assert_eq!(task.updates, [tree.running.clone(), tree.finished.clone()]);
    assert_eq!(task.errors, 0);
    assert_eq!(fs::metadata(&updates).unwrap().len(), whole);
}

#[test]
fn unparsable_numbers_fail_even_when_not_strict() {
    let tree = Tree::new();
    // stout's `numify` takes no surrounding whitespace.
    let forked = tree.run_path(&e0(), "C2").join("pids/forked.pid");
    checkpoint(&forked, b"4242\n").unwrap();
    for strict in [true, false] {
        let error = recover_with_boot_id(&tree.meta, strict, BOOT).unwrap_err();
        assert!(error.to_string().contains("Failed to parse '4242\n'"), "{error}");
    }
    checkpoint(&forked, b"4242").unwrap();
    let generated = paths::executor_generated_for_command_task_path(&tree.meta, &s0(), &f0(), &e0());
    checkpoint(&generated, b"yes").unwrap();
    assert!(recover_with_boot_id(&tree.meta, false, BOOT).is_err());
}

#[test]
fn a_command_executor_is_recognised_with_or_without_the_marker_file() {
    let tree = Tree::new();
    let generated = paths::executor_generated_for_command_task_path(&tree.meta, &s0(), &f0(), &e0());
    checkpoint(&generated, b"1").unwrap();
    let recovered = |tree: &Tree| {
        recover_with_boot_id(&tree.meta, true, BOOT).unwrap().slave.unwrap().frameworks[&f0()].executors[&e0()]
            .generated_for_command_task
    };
    assert!(recovered(&tree));

    // Checkpoints of agents before 1.4 have no marker: C++ guesses from the command and name.
    fs::remove_file(&generated).unwrap();
    assert!(!recovered(&tree));
    let command =
        executor_info(e0(), "Command Executor (Task: T0) (Command: sh -c 'x')", "/usr/libexec/mesos-executor");
    checkpoint_message(&paths::executor_info_path(&tree.meta, &s0(), &f0(), &e0()), &command).unwrap();
    assert!(recovered(&tree));
}
