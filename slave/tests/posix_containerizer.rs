//! The POSIX containerizer with real processes: launch, exit statuses, output files, environment, working directory, kill and destroy of whole process groups, waits, pid checkpoints, usage, the fetcher (local files, HTTP from a loopback server, archives, output files, errors), user switching when root, and cgroups v2 when available (a fake hierarchy otherwise).
//!
//! C++ tests ported by name: `MesosContainerizerTest.{Launch,Destroy}`,
//! `MesosContainerizerExecuteTest.{IoRedirection,ROOT_UNPRIVILEGED_USER_SandboxFileOwnership}`,
//! `MesosContainerizerDestroyTest.{DestroyWhileFetching,DestroyUnknownContainer}`,
//! `MesosContainerizerWaitTest.WaitUnknownContainer`, `MesosLauncherStatusTest.ExecutorPIDTest`
//! (as the pid checkpoint), and `FetcherTest.{FileURI,AbsoluteFilePath,RelativeFilePath,
//! NonExistingFile,MalformedURI,NoExtractNotExecutable,NoExtractExecutable,ExtractNotExecutable,
//! ExtractTar,ExtractGzipFile,UNZIP_ExtractFile,UseCustomOutputFile,CustomOutputFileSubdirectory,
//! AbsoluteCustomSubdirectoryFails,LogSuccessToStderr,LogFailureToStderr,OSNetUriTest,InvalidUser}`.

use std::collections::BTreeMap;
use std::io::Write;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use libprocess::Future;
use mesos::proto::command_info::Uri;
use mesos::proto::environment::Variable;
use mesos::proto::{CommandInfo, ContainerId, Environment, ExecutorId, ExecutorInfo, Resource};
use mesos::resources::Resources;
use slave::containerizer::posix::fetcher::FetcherOptions;
use slave::containerizer::posix::{cgroups2, proc, PosixContainerizer, PosixOptions, HOST_DEFAULT_PATH};
use slave::containerizer::{ContainerConfig, ContainerTermination, Containerizer, ContainerizerError, LaunchResult};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const WAIT: Duration = Duration::from_secs(10);

async fn within<T: Send + 'static>(future: Future<T>) -> T {
    tokio::time::timeout(WAIT, future).await.expect("in time").expect("not failed")
}

fn init_logging() {
    let _ = tracing_subscriber::fmt()
        .with_test_writer()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .try_init();
}

fn containerizer() -> PosixContainerizer {
    init_logging();
    PosixContainerizer::new(PosixOptions::default()).expect("containerizer")
}

fn container_id() -> ContainerId {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    ContainerId {
        value: format!("c{}-{}", std::process::id(), NEXT.fetch_add(1, Ordering::Relaxed)),
        ..ContainerId::default()
    }
}

fn resources(text: &str) -> Vec<Resource> {
    Resources::parse(text, "*").unwrap().to_vec()
}

fn shell(command: &str) -> CommandInfo {
    CommandInfo { value: Some(command.into()), shell: Some(true), ..CommandInfo::default() }
}

fn config(sandbox: &Path, command: CommandInfo) -> ContainerConfig {
    ContainerConfig {
        executor_info: Some(ExecutorInfo {
            executor_id: ExecutorId { value: "executor".into() },
            command: Some(command.clone()),
            ..ExecutorInfo::default()
        }),
        command_info: command,
        resources: resources("cpus:1;mem:64"),
        directory: sandbox.to_path_buf(),
        ..ContainerConfig::default()
    }
}

/// Launches `command` in `sandbox` and expects success.
async fn start(containerizer: &PosixContainerizer, sandbox: &Path, command: CommandInfo) -> ContainerId {
    let id = container_id();
    let launched = containerizer.launch(id.clone(), config(sandbox, command), BTreeMap::new(), None);
    assert_eq!(within(launched).await.expect("launched"), LaunchResult::Success);
    id
}

async fn status_of(containerizer: &PosixContainerizer, id: &ContainerId) -> i32 {
    let termination = within(containerizer.wait(id.clone())).await.expect("known container");
    termination.status.expect("a status")
}

fn read(path: impl AsRef<Path>) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}

/// Polls until `path` holds a pid.
async fn pid_in(path: &Path) -> i32 {
    let deadline = Instant::now() + WAIT;
    loop {
        if let Ok(pid) = read(path).trim().parse() {
            return pid;
        }
        assert!(Instant::now() < deadline, "no pid in {}", path.display());
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Whether `pid` has ended (gone, or a zombie nobody reaped yet).
fn ended(pid: i32) -> bool {
    !matches!(proc::process(pid), Ok(Some(process)) if !process.is_zombie())
}

async fn ends(pid: i32) {
    let deadline = Instant::now() + WAIT;
    while !ended(pid) {
        assert!(Instant::now() < deadline, "process {pid} still runs");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

// ----- launch, statuses, output -----

/// `MesosContainerizerTest.Launch`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn launch() {
    let containerizer = containerizer();
    let sandbox = tempfile::tempdir().unwrap();
    let id = launch_cmd(&containerizer, sandbox.path(), "exit 42").await;
    assert_eq!(status_of(&containerizer, &id).await, 42 << 8);
}

async fn launch_cmd(containerizer: &PosixContainerizer, sandbox: &Path, command: &str) -> ContainerId {
    start(containerizer, sandbox, shell(command)).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exit_statuses_are_raw_wait_statuses() {
    let containerizer = containerizer();
    let sandbox = tempfile::tempdir().unwrap();
    let ok = launch_cmd(&containerizer, sandbox.path(), "echo done").await;
    assert_eq!(status_of(&containerizer, &ok).await, 0);
    let three = launch_cmd(&containerizer, sandbox.path(), "exit 3").await;
    assert_eq!(status_of(&containerizer, &three).await, 3 << 8);
    let signalled = launch_cmd(&containerizer, sandbox.path(), "kill -TERM $$").await;
    assert_eq!(status_of(&containerizer, &signalled).await, libc::SIGTERM);
    // A missing command: the shell's 127.
    let missing = launch_cmd(&containerizer, sandbox.path(), "no-such-command-anywhere").await;
    assert_eq!(status_of(&containerizer, &missing).await, 127 << 8);
}

/// `MesosContainerizerExecuteTest.IoRedirection`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn io_redirection() {
    let containerizer = containerizer();
    let sandbox = tempfile::tempdir().unwrap();
    let id = launch_cmd(&containerizer, sandbox.path(), "(echo 'this is stderr' 1>&2) && echo 'this is stdout'").await;
    assert_eq!(status_of(&containerizer, &id).await, 0);
    assert!(read(sandbox.path().join("stderr")).contains("this is stderr"));
    assert_eq!(read(sandbox.path().join("stdout")), "this is stdout\n");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_environment_is_the_agents_plus_the_commands() {
    let containerizer = containerizer();
    let sandbox = tempfile::tempdir().unwrap();
    let mut command = shell("env");
    command.environment = Some(Environment {
        variables: vec![
            Variable { name: "SHARED".into(), value: Some("command".into()), ..Variable::default() },
            Variable { name: "OWN".into(), value: Some("mine".into()), ..Variable::default() },
        ],
    });
    let agent: BTreeMap<String, String> =
        [("MESOS_FRAMEWORK_ID", "F1"), ("SHARED", "agent"), ("MESOS_DIRECTORY", "/d")]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
    let id = container_id();
    let launched = containerizer.launch(id.clone(), config(sandbox.path(), command), agent, None);
    assert_eq!(within(launched).await.unwrap(), LaunchResult::Success);
    assert_eq!(status_of(&containerizer, &id).await, 0);
    let output = read(sandbox.path().join("stdout"));
    let lines: Vec<&str> = output.lines().collect();
    for expected in [
        "MESOS_FRAMEWORK_ID=F1".to_string(),
        "MESOS_DIRECTORY=/d".to_string(),
        "SHARED=command".to_string(),
        "OWN=mine".to_string(),
        format!("MESOS_SANDBOX={}", sandbox.path().display()),
        format!("PATH={HOST_DEFAULT_PATH}"),
    ] {
        assert!(lines.contains(&expected.as_str()), "{expected} missing from {lines:?}");
    }
    // Nothing of the agent's own environment (cargo gives the test its `CARGO_*`).
    assert!(std::env::var("CARGO_MANIFEST_DIR").is_ok());
    assert!(!lines.iter().any(|line| line.starts_with("CARGO_")), "{lines:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_working_directory_is_the_sandbox() {
    let containerizer = containerizer();
    let sandbox = tempfile::tempdir().unwrap();
    let id = launch_cmd(&containerizer, sandbox.path(), "pwd -P; touch created-here").await;
    assert_eq!(status_of(&containerizer, &id).await, 0);
    let expected = sandbox.path().canonicalize().unwrap();
    assert_eq!(read(sandbox.path().join("stdout")).trim(), expected.to_str().unwrap());
    assert!(sandbox.path().join("created-here").exists());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_command_without_a_shell_gets_its_arguments_as_argv() {
    let containerizer = containerizer();
    let sandbox = tempfile::tempdir().unwrap();
    let command = CommandInfo {
        shell: Some(false),
        value: Some("/bin/sh".into()),
        arguments: vec![
            "my-zeroth".into(),
            "-c".into(),
            "echo \"$0|$1\"; tr '\\0' ' ' < /proc/$$/cmdline".into(),
            "zero".into(),
            "one word".into(),
        ],
        ..CommandInfo::default()
    };
    let id = start(&containerizer, sandbox.path(), command).await;
    assert_eq!(status_of(&containerizer, &id).await, 0);
    let output = read(sandbox.path().join("stdout"));
    let (echoed, cmdline) = output.split_once('\n').unwrap();
    assert_eq!(echoed, "zero|one word");
    assert!(cmdline.starts_with("my-zeroth -c "), "{cmdline}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_executable_ends_the_container_with_exit_failure() {
    let containerizer = containerizer();
    let sandbox = tempfile::tempdir().unwrap();
    let command = CommandInfo {
        shell: Some(false),
        value: Some("/no/such/binary".into()),
        arguments: vec!["binary".into()],
        ..CommandInfo::default()
    };
    let id = start(&containerizer, sandbox.path(), command).await;
    assert_eq!(status_of(&containerizer, &id).await, 1 << 8);
    assert!(
        read(sandbox.path().join("stderr")).contains("Failed to execute '/no/such/binary': No such file or directory"),
        "{}",
        read(sandbox.path().join("stderr"))
    );
    assert!(within(containerizer.containers()).await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_command_without_a_value_ends_with_exit_failure() {
    let containerizer = containerizer();
    let sandbox = tempfile::tempdir().unwrap();
    let id = start(&containerizer, sandbox.path(), CommandInfo::default()).await;
    assert_eq!(status_of(&containerizer, &id).await, 1 << 8);
    assert!(read(sandbox.path().join("stderr")).contains("Shell command is not specified"));
    let id = start(&containerizer, sandbox.path(), CommandInfo { shell: Some(false), ..CommandInfo::default() }).await;
    assert_eq!(status_of(&containerizer, &id).await, 1 << 8);
    assert!(read(sandbox.path().join("stderr")).contains("Executable path is not specified"));
}

// ----- kill, destroy, wait -----

/// `MesosContainerizerTest.Destroy`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn destroy() {
    let containerizer = containerizer();
    let sandbox = tempfile::tempdir().unwrap();
    let id = launch_cmd(&containerizer, sandbox.path(), "sleep 1000").await;
    let started = Instant::now();
    let termination = within(containerizer.destroy(id.clone())).await.expect("known");
    assert_eq!(termination.status, Some(libc::SIGKILL));
    assert!(started.elapsed() < Duration::from_secs(5));
    // Destroyed: forgotten.
    assert_eq!(within(containerizer.wait(id.clone())).await, None);
    assert_eq!(within(containerizer.destroy(id)).await, None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn destroy_kills_the_whole_group_and_the_tree() {
    let containerizer = containerizer();
    let sandbox = tempfile::tempdir().unwrap();
    // A child in the group, and one that left for a session of its own (still a child).
    let id = launch_cmd(
        &containerizer,
        sandbox.path(),
        "sleep 60 & echo $! > child.pid; setsid sleep 61 & echo $! > escaped.pid; sleep 62",
    )
    .await;
    let child = pid_in(&sandbox.path().join("child.pid")).await;
    let escaped = pid_in(&sandbox.path().join("escaped.pid")).await;
    let leader = containerizer.pid(&id).expect("running");
    let waiter = containerizer.wait(id.clone());
    let termination = within(containerizer.destroy(id.clone())).await.expect("known");
    assert_eq!(termination.status, Some(libc::SIGKILL));
    assert_eq!(within(waiter).await, Some(termination));
    for pid in [leader, child, escaped] {
        ends(pid).await;
    }
    // Idempotent once gone.
    assert_eq!(within(containerizer.destroy(id)).await, None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn destroy_twice_while_running_gives_both_the_termination() {
    let containerizer = containerizer();
    let sandbox = tempfile::tempdir().unwrap();
    let id = launch_cmd(&containerizer, sandbox.path(), "sleep 60").await;
    let first = containerizer.destroy(id.clone());
    let second = containerizer.destroy(id.clone());
    let first = within(first).await.expect("known");
    assert_eq!(first.status, Some(libc::SIGKILL));
    assert_eq!(within(second).await, Some(first));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_with_sigkill_ends_the_executor_and_then_its_group() {
    let containerizer = containerizer();
    let sandbox = tempfile::tempdir().unwrap();
    let id = launch_cmd(&containerizer, sandbox.path(), "sleep 60 & echo $! > child.pid; wait").await;
    let child = pid_in(&sandbox.path().join("child.pid")).await;
    assert!(within(containerizer.kill(id.clone(), libc::SIGKILL)).await);
    assert_eq!(status_of(&containerizer, &id).await, libc::SIGKILL);
    // As C++ destroys a container whose executor exited: what is left is killed.
    ends(child).await;
    // Over: nothing to signal.
    assert!(!within(containerizer.kill(id, libc::SIGKILL)).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_sends_the_signal_to_the_executor() {
    let containerizer = containerizer();
    let sandbox = tempfile::tempdir().unwrap();
    let command = CommandInfo {
        shell: Some(false),
        value: Some("sleep".into()),
        arguments: vec!["sleep".into(), "60".into()],
        ..CommandInfo::default()
    };
    let id = start(&containerizer, sandbox.path(), command).await;
    assert!(within(containerizer.kill(id.clone(), libc::SIGTERM)).await);
    assert_eq!(status_of(&containerizer, &id).await, libc::SIGTERM);
    assert!(!within(containerizer.kill(container_id(), libc::SIGTERM)).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn what_the_executor_leaves_behind_is_killed_when_it_exits() {
    let containerizer = containerizer();
    let sandbox = tempfile::tempdir().unwrap();
    let id = launch_cmd(&containerizer, sandbox.path(), "sleep 60 & echo $! > child.pid; exit 7").await;
    let child = pid_in(&sandbox.path().join("child.pid")).await;
    assert_eq!(status_of(&containerizer, &id).await, 7 << 8);
    // Killed once the executor has gone, as C++ destroys the container then.
    ends(child).await;
}

/// `MesosContainerizerWaitTest.WaitUnknownContainer`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wait_unknown_container() {
    let containerizer = containerizer();
    assert_eq!(within(containerizer.wait(container_id())).await, None);
}

/// `MesosContainerizerDestroyTest.DestroyUnknownContainer`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn destroy_unknown_container() {
    let containerizer = containerizer();
    assert_eq!(within(containerizer.destroy(container_id())).await, None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wait_after_the_end_gets_the_kept_termination() {
    let containerizer = containerizer();
    let sandbox = tempfile::tempdir().unwrap();
    let id = launch_cmd(&containerizer, sandbox.path(), "exit 5").await;
    assert_eq!(status_of(&containerizer, &id).await, 5 << 8);
    // Again, after the end.
    assert_eq!(status_of(&containerizer, &id).await, 5 << 8);
    assert!(!within(containerizer.containers()).await.contains(&id));
    // `destroy` hands it over one last time and forgets it.
    let termination = within(containerizer.destroy(id.clone())).await;
    assert_eq!(termination, Some(ContainerTermination { status: Some(5 << 8), ..ContainerTermination::default() }));
    assert_eq!(within(containerizer.wait(id.clone())).await, None);

    let other = launch_cmd(&containerizer, sandbox.path(), "true").await;
    status_of(&containerizer, &other).await;
    assert!(containerizer.forget(&other));
    assert!(!containerizer.forget(&other));
    assert_eq!(within(containerizer.wait(other)).await, None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_so_many_terminations_are_kept() {
    init_logging();
    let options = PosixOptions { max_retained_terminations: 2, ..PosixOptions::default() };
    let containerizer = PosixContainerizer::new(options).unwrap();
    let sandbox = tempfile::tempdir().unwrap();
    let mut ids = Vec::new();
    for _ in 0..3 {
        let id = launch_cmd(&containerizer, sandbox.path(), "true").await;
        status_of(&containerizer, &id).await;
        ids.push(id);
    }
    assert_eq!(within(containerizer.wait(ids[0].clone())).await, None);
    assert!(within(containerizer.wait(ids[1].clone())).await.is_some());
    assert!(within(containerizer.wait(ids[2].clone())).await.is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_duplicate_launch_is_already_launched() {
    let containerizer = containerizer();
    let sandbox = tempfile::tempdir().unwrap();
    let id = launch_cmd(&containerizer, sandbox.path(), "sleep 60").await;
    let again = containerizer.launch(id.clone(), config(sandbox.path(), shell("true")), BTreeMap::new(), None);
    assert_eq!(within(again).await.unwrap(), LaunchResult::AlreadyLaunched);
    assert_eq!(within(containerizer.containers()).await, vec![id.clone()]);
    within(containerizer.destroy(id)).await;
    assert!(within(containerizer.containers()).await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn what_it_cannot_run_is_not_supported() {
    let containerizer = containerizer();
    let sandbox = tempfile::tempdir().unwrap();
    let mut docker = config(sandbox.path(), shell("true"));
    docker.container_info = Some(mesos::proto::ContainerInfo {
        r#type: mesos::proto::container_info::Type::Docker as i32,
        ..mesos::proto::ContainerInfo::default()
    });
    let launched = containerizer.launch(container_id(), docker, BTreeMap::new(), None);
    assert_eq!(within(launched).await.unwrap(), LaunchResult::NotSupported);
    let nested = ContainerId { value: "child".into(), parent: Some(Box::new(container_id())) };
    let launched = containerizer.launch(nested, config(sandbox.path(), shell("true")), BTreeMap::new(), None);
    assert_eq!(within(launched).await.unwrap(), LaunchResult::NotSupported);
}

/// `MesosLauncherStatusTest.ExecutorPIDTest`, through the agent's pid checkpoint.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_forked_pid_is_checkpointed() {
    let containerizer = containerizer();
    let sandbox = tempfile::tempdir().unwrap();
    let meta = tempfile::tempdir().unwrap();
    let pid_path = meta.path().join("runs/c/pids/forked.pid");
    let id = container_id();
    let launched = containerizer.launch(
        id.clone(),
        config(sandbox.path(), shell("echo $$; sleep 60")),
        BTreeMap::new(),
        Some(pid_path.clone()),
    );
    assert_eq!(within(launched).await.unwrap(), LaunchResult::Success);
    let pid: i32 = read(&pid_path).parse().expect("a pid, without a newline");
    assert_eq!(containerizer.pid(&id), Some(pid));
    assert_eq!(pid_in(&sandbox.path().join("stdout")).await, pid);
    assert_eq!(containerizer.pid(&container_id()), None);
    within(containerizer.destroy(id)).await;
}

// ----- usage and update -----

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn usage_of_a_running_container() {
    let containerizer = containerizer();
    let sandbox = tempfile::tempdir().unwrap();
    let id = launch_cmd(&containerizer, sandbox.path(), "sleep 60 & echo $! > child.pid; wait").await;
    pid_in(&sandbox.path().join("child.pid")).await;
    let statistics = within(containerizer.usage(id.clone())).await.expect("usage");
    assert!(statistics.timestamp > 1.0e9, "{statistics:?}");
    assert!(statistics.mem_rss_bytes.unwrap_or_default() > 0, "{statistics:?}");
    assert_eq!(statistics.processes, Some(2), "{statistics:?}");
    assert!(statistics.threads.unwrap_or_default() >= 2);
    assert!(statistics.cpus_user_time_secs.is_some() && statistics.cpus_system_time_secs.is_some());
    assert_eq!(statistics.cpus_soft_limit, Some(1.0));
    assert_eq!(statistics.cpus_limit, None);
    assert_eq!(statistics.mem_limit_bytes, Some(64 << 20));

    // `update` records the new limits (POSIX isolation enforces none).
    within(containerizer.update(id.clone(), resources("cpus:2;mem:128"))).await.expect("updated");
    let statistics = within(containerizer.usage(id.clone())).await.expect("usage");
    assert_eq!(statistics.cpus_soft_limit, Some(2.0));
    assert_eq!(statistics.mem_limit_bytes, Some(128 << 20));

    within(containerizer.destroy(id.clone())).await;
    match within(containerizer.usage(id.clone())).await {
        Err(ContainerizerError::UnknownContainer(unknown)) => assert_eq!(unknown, id.value),
        other => panic!("{other:?}"),
    }
    // Updates of unknown containers are ignored, as in C++.
    within(containerizer.update(id, resources("cpus:1"))).await.expect("ignored");
}

// ----- the fetcher -----

fn uri(value: &str) -> Uri {
    Uri { value: value.into(), ..Uri::default() }
}

fn with_uris(command: &str, uris: Vec<Uri>) -> CommandInfo {
    CommandInfo { uris, ..shell(command) }
}

async fn launch_err(containerizer: &PosixContainerizer, sandbox: &Path, command: CommandInfo) -> ContainerizerError {
    let id = container_id();
    let launched = containerizer.launch(id.clone(), config(sandbox, command), BTreeMap::new(), None);
    let error = within(launched).await.expect_err("the launch fails");
    // The container ended without running anything.
    assert_eq!(within(containerizer.wait(id.clone())).await, Some(ContainerTermination::default()));
    assert_eq!(within(containerizer.destroy(id)).await, Some(ContainerTermination::default()));
    error
}

fn fetch_message(error: ContainerizerError) -> String {
    match error {
        ContainerizerError::Fetch(message) => message,
        other => panic!("not a fetch error: {other:?}"),
    }
}

/// `FetcherTest.FileURI`, `FetcherTest.AbsoluteFilePath`, `FetcherTest.NoExtractNotExecutable`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn file_uri() {
    let containerizer = containerizer();
    let sandbox = tempfile::tempdir().unwrap();
    let source = tempfile::tempdir().unwrap();
    std::fs::write(source.path().join("test"), "file contents").unwrap();
    std::fs::write(source.path().join("plain"), "plain contents").unwrap();
    let uris = vec![
        uri(&format!("file://{}", source.path().join("test").display())),
        Uri { extract: Some(false), ..uri(&source.path().join("plain").display().to_string()) },
    ];
    let id = start(&containerizer, sandbox.path(), with_uris("cat test plain", uris)).await;
    assert_eq!(status_of(&containerizer, &id).await, 0);
    assert_eq!(read(sandbox.path().join("stdout")), "file contentsplain contents");
    let mode = std::fs::metadata(sandbox.path().join("plain")).unwrap().permissions().mode();
    assert_eq!(mode & 0o111, 0, "{mode:o}");
}

/// `FetcherTest.NoExtractExecutable`: a fetched script run as the command, found in the
/// sandbox.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_extract_executable() {
    let containerizer = containerizer();
    let sandbox = tempfile::tempdir().unwrap();
    let source = tempfile::tempdir().unwrap();
    let script = source.path().join("run.sh");
    std::fs::write(&script, "#!/bin/sh\necho \"ran with $1\"\n").unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o644)).unwrap();
    let command = CommandInfo {
        shell: Some(false),
        value: Some("run.sh".into()),
        arguments: vec!["run.sh".into(), "arg".into()],
        uris: vec![Uri { executable: Some(true), ..uri(&script.display().to_string()) }],
        ..CommandInfo::default()
    };
    let id = start(&containerizer, sandbox.path(), command).await;
    assert_eq!(status_of(&containerizer, &id).await, 0);
    assert_eq!(read(sandbox.path().join("stdout")), "ran with arg\n");
    let mode = std::fs::metadata(sandbox.path().join("run.sh")).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o755);
}

/// `FetcherTest.RelativeFilePath`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn relative_file_path() {
    init_logging();
    let home = tempfile::tempdir().unwrap();
    std::fs::create_dir(home.path().join("fw")).unwrap();
    std::fs::write(home.path().join("fw/data"), "relative").unwrap();
    let sandbox = tempfile::tempdir().unwrap();

    let without_home = containerizer();
    let error = fetch_message(launch_err(&without_home, sandbox.path(), with_uris("true", vec![uri("fw/data")])).await);
    assert!(error.contains("A relative path was passed for the resource"), "{error}");

    let options = PosixOptions {
        fetcher: FetcherOptions { frameworks_home: Some(home.path().to_path_buf()), ..FetcherOptions::default() },
        ..PosixOptions::default()
    };
    let with_home = PosixContainerizer::new(options).unwrap();
    let id = start(&with_home, sandbox.path(), with_uris("cat data", vec![uri("fw/data")])).await;
    assert_eq!(status_of(&with_home, &id).await, 0);
    assert_eq!(read(sandbox.path().join("stdout")), "relative");
}

/// `FetcherTest.NonExistingFile`, `FetcherTest.LogFailureToStderr`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn non_existing_file() {
    let containerizer = containerizer();
    let sandbox = tempfile::tempdir().unwrap();
    let missing = sandbox.path().join("does-not-exist");
    let error =
        launch_err(&containerizer, sandbox.path(), with_uris("true", vec![uri(&missing.display().to_string())])).await;
    let message = fetch_message(error);
    assert!(message.starts_with(&format!("Failed to fetch '{}'", missing.display())), "{message}");
    assert!(read(sandbox.path().join("stderr")).contains(&message));
}

/// `FetcherTest.MalformedURI`, `FetcherTest.AbsoluteCustomSubdirectoryFails`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_uri() {
    let containerizer = containerizer();
    let sandbox = tempfile::tempdir().unwrap();
    let error =
        fetch_message(launch_err(&containerizer, sandbox.path(), with_uris("true", vec![uri("http://host")])).await);
    assert_eq!(error, "Could not fetch: Malformed URI (missing path): http://host");

    let absolute = Uri { output_file: Some("/abs/out".into()), ..uri("/etc/hostname") };
    let error = fetch_message(launch_err(&containerizer, sandbox.path(), with_uris("true", vec![absolute])).await);
    assert_eq!(error, "Could not fetch: URI output file must be within the sandbox directory");

    for refused in ["hdfs://namenode/x", "https://127.0.0.1:1/x", "ftp://127.0.0.1:1/x"] {
        let error =
            fetch_message(launch_err(&containerizer, sandbox.path(), with_uris("true", vec![uri(refused)])).await);
        assert!(error.starts_with(&format!("Failed to fetch '{refused}'")), "{error}");
    }
}

/// `FetcherTest.UseCustomOutputFile`, `FetcherTest.CustomOutputFileSubdirectory`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn use_custom_output_file() {
    let containerizer = containerizer();
    let sandbox = tempfile::tempdir().unwrap();
    let source = tempfile::tempdir().unwrap();
    std::fs::write(source.path().join("original"), "renamed").unwrap();
    let source_path = source.path().join("original").display().to_string();
    let uris = vec![
        Uri { output_file: Some("custom".into()), ..uri(&source_path) },
        Uri { output_file: Some("sub/dir/custom".into()), ..uri(&source_path) },
    ];
    let id = start(&containerizer, sandbox.path(), with_uris("cat custom sub/dir/custom", uris)).await;
    assert_eq!(status_of(&containerizer, &id).await, 0);
    assert_eq!(read(sandbox.path().join("stdout")), "renamedrenamed");
    assert!(!sandbox.path().join("original").exists());
}

fn tar_gz(files: &[(&str, &str, u32)]) -> Vec<u8> {
    let encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    let mut builder = tar::Builder::new(encoder);
    for (name, contents, mode) in files {
        let mut header = tar::Header::new_gnu();
        header.set_size(contents.len() as u64);
        header.set_mode(*mode);
        header.set_cksum();
        builder.append_data(&mut header, name, contents.as_bytes()).unwrap();
    }
    builder.into_inner().unwrap().finish().unwrap()
}

/// `FetcherTest.ExtractNotExecutable`, `FetcherTest.ExtractTar`, `FetcherTest.ExtractGzipFile`,
/// `FetcherTest.UNZIP_ExtractFile` (refused here), `FetcherTest.LogSuccessToStderr`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn extract_archives() {
    let containerizer = containerizer();
    let sandbox = tempfile::tempdir().unwrap();
    let source = tempfile::tempdir().unwrap();
    std::fs::write(
        source.path().join("bundle.tar.gz"),
        tar_gz(&[("dir/hello", "#!/bin/sh\necho hello from tgz\n", 0o755)]),
    )
    .unwrap();
    let mut tar = tar::Builder::new(Vec::new());
    let mut header = tar::Header::new_gnu();
    header.set_size(4);
    header.set_mode(0o644);
    header.set_cksum();
    tar.append_data(&mut header, "plain-tar", &b"tar\n"[..]).unwrap();
    std::fs::write(source.path().join("bundle.tar"), tar.into_inner().unwrap()).unwrap();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(b"gunzipped\n").unwrap();
    std::fs::write(source.path().join("single.txt.gz"), gz.finish().unwrap()).unwrap();

    let uris = ["bundle.tar.gz", "bundle.tar", "single.txt.gz"]
        .iter()
        .map(|name| uri(&source.path().join(name).display().to_string()))
        .collect();
    let id = start(&containerizer, sandbox.path(), with_uris("./dir/hello; cat plain-tar single.txt", uris)).await;
    assert_eq!(status_of(&containerizer, &id).await, 0);
    assert_eq!(read(sandbox.path().join("stdout")), "hello from tgz\ntar\ngunzipped\n");
    // The archives stay next to what they held.
    assert!(sandbox.path().join("bundle.tar.gz").exists());
    let log = read(sandbox.path().join("stderr"));
    assert!(log.contains("Fetching URI '"), "{log}");
    assert!(log.contains(&format!("Successfully fetched all URIs into '{}'", sandbox.path().display())), "{log}");

    std::fs::write(source.path().join("archive.zip"), b"PK\x03\x04").unwrap();
    let zip = uri(&source.path().join("archive.zip").display().to_string());
    let error = fetch_message(launch_err(&containerizer, sandbox.path(), with_uris("true", vec![zip])).await);
    assert!(error.contains("zip archives are not supported"), "{error}");
}

/// Serves a few paths over HTTP/1.1 on loopback; each connection answers one request.
async fn http_server(tgz: Vec<u8>) -> std::net::SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let Ok((mut socket, _)) = listener.accept().await else { return };
            let tgz = tgz.clone();
            tokio::spawn(async move {
                let mut request = Vec::new();
                let mut buffer = [0u8; 1024];
                while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                    match socket.read(&mut buffer).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => request.extend_from_slice(&buffer[..n]),
                    }
                }
                let text = String::from_utf8_lossy(&request).into_owned();
                let path = text.split_whitespace().nth(1).unwrap_or("/").to_string();
                let reply: Vec<u8> = match path.as_str() {
                    "/file.txt" => b"HTTP/1.1 200 OK\r\nContent-Length: 12\r\n\r\nhello world\n".to_vec(),
                    "/chunked.txt" => b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n6\r\nchunk \r\n5;x=y\r\nparts\r\n0\r\n\r\n"
                        .to_vec(),
                    "/moved" => b"HTTP/1.1 302 Found\r\nLocation: /file.txt\r\nContent-Length: 0\r\n\r\n".to_vec(),
                    "/until-close.txt" => b"HTTP/1.0 200 OK\r\n\r\nno length\n".to_vec(),
                    "/hang" => {
                        tokio::time::sleep(Duration::from_secs(30)).await;
                        return;
                    }
                    "/bundle.tgz" => {
                        let mut reply = format!("HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n", tgz.len()).into_bytes();
                        reply.extend_from_slice(&tgz);
                        reply
                    }
                    _ => b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n".to_vec(),
                };
                let _ = socket.write_all(&reply).await;
                let _ = socket.shutdown().await;
            });
        }
    });
    address
}

/// `FetcherTest.OSNetUriTest`: HTTP downloads (length, chunked, until close, redirect, an
/// archive extracted) and a 404.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn os_net_uri_test() {
    let containerizer = containerizer();
    let address = http_server(tar_gz(&[("from-http", "extracted\n", 0o644)])).await;
    let sandbox = tempfile::tempdir().unwrap();
    let uris = vec![
        uri(&format!("http://{address}/file.txt")),
        uri(&format!("http://{address}/chunked.txt")),
        uri(&format!("http://{address}/until-close.txt")),
        Uri { output_file: Some("redirected.txt".into()), ..uri(&format!("http://{address}/moved")) },
        uri(&format!("http://{address}/bundle.tgz")),
    ];
    let id = start(
        &containerizer,
        sandbox.path(),
        with_uris("cat file.txt chunked.txt until-close.txt redirected.txt from-http", uris),
    )
    .await;
    assert_eq!(status_of(&containerizer, &id).await, 0);
    assert_eq!(read(sandbox.path().join("stdout")), "hello world\nchunk partsno length\nhello world\nextracted\n");

    let missing = format!("http://{address}/missing.txt");
    let error = fetch_message(launch_err(&containerizer, sandbox.path(), with_uris("true", vec![uri(&missing)])).await);
    assert_eq!(
        error,
        format!("Failed to fetch '{missing}': Error downloading resource, received HTTP return code 404")
    );
}

/// `--fetcher_stall_timeout`: a server that sends nothing fails the download.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_download_fails() {
    init_logging();
    let options = PosixOptions {
        fetcher: FetcherOptions { stall_timeout: Duration::from_millis(200), ..FetcherOptions::default() },
        ..PosixOptions::default()
    };
    let containerizer = PosixContainerizer::new(options).unwrap();
    let address = http_server(Vec::new()).await;
    let sandbox = tempfile::tempdir().unwrap();
    let hang = format!("http://{address}/hang");
    let error = fetch_message(launch_err(&containerizer, sandbox.path(), with_uris("true", vec![uri(&hang)])).await);
    assert!(error.contains("Operation too slow"), "{error}");
}

/// `MesosContainerizerDestroyTest.DestroyWhileFetching`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn destroy_while_fetching() {
    let containerizer = containerizer();
    let address = http_server(Vec::new()).await;
    let sandbox = tempfile::tempdir().unwrap();
    let id = container_id();
    let command = with_uris("touch ran", vec![uri(&format!("http://{address}/hang"))]);
    let launched = containerizer.launch(id.clone(), config(sandbox.path(), command), BTreeMap::new(), None);
    let waited = containerizer.wait(id.clone());
    // Let the fetch start.
    tokio::time::sleep(Duration::from_millis(100)).await;
    let started = Instant::now();
    let termination = within(containerizer.destroy(id.clone())).await;
    assert_eq!(termination, Some(ContainerTermination::default()));
    assert!(started.elapsed() < Duration::from_secs(5));
    assert_eq!(within(waited).await, Some(ContainerTermination::default()));
    match within(launched).await {
        Err(ContainerizerError::Launch(message)) => assert!(message.contains("destroyed during fetching"), "{message}"),
        other => panic!("{other:?}"),
    }
    assert!(!sandbox.path().join("ran").exists());
    assert_eq!(within(containerizer.wait(id)).await, None);
}

// ----- users -----

/// `FetcherTest.InvalidUser`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_user() {
    let containerizer = containerizer();
    let sandbox = tempfile::tempdir().unwrap();
    let id = container_id();
    let mut config = config(sandbox.path(), shell("true"));
    config.user = Some("mesos-no-such-user".into());
    let error = within(containerizer.launch(id, config, BTreeMap::new(), None)).await.expect_err("fails");
    let message = fetch_message(error);
    assert!(message.contains("mesos-no-such-user"), "{message}");
}

/// `MesosContainerizerExecuteTest.ROOT_UNPRIVILEGED_USER_SandboxFileOwnership`: as root, the
/// command runs as the user, who owns the sandbox's files. Skipped unless root with a
/// `nobody` user.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn root_unprivileged_user_sandbox_file_ownership() {
    // SAFETY: `geteuid` cannot fail.
    if unsafe { libc::geteuid() } != 0 {
        eprintln!("skipped: needs root");
        return;
    }
    let Ok(nobody) = slave::containerizer::posix::launcher::lookup_user("nobody") else {
        eprintln!("skipped: no user 'nobody'");
        return;
    };
    let containerizer = containerizer();
    // The user must be able to reach the sandbox.
    let parent = tempfile::tempdir().unwrap();
    std::fs::set_permissions(parent.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let sandbox = parent.path().join("sandbox");
    std::fs::create_dir(&sandbox).unwrap();
    let source = parent.path().join("fetched");
    std::fs::write(&source, "data").unwrap();

    let id = container_id();
    let mut config = config(&sandbox, with_uris("id -u; id -g; touch mine", vec![uri(&source.display().to_string())]));
    config.user = Some("nobody".into());
    assert_eq!(
        within(containerizer.launch(id.clone(), config, BTreeMap::new(), None)).await.unwrap(),
        LaunchResult::Success
    );
    assert_eq!(status_of(&containerizer, &id).await, 0, "{}", read(sandbox.join("stderr")));
    assert_eq!(read(sandbox.join("stdout")), format!("{}\n{}\n", nobody.uid, nobody.gid));
    for file in ["stdout", "stderr", "fetched", "mine", ""] {
        let owner = std::fs::metadata(sandbox.join(file)).unwrap().uid();
        assert_eq!(owner, nobody.uid, "owner of '{file}'");
    }
}

/// An agent that is not root cannot run a container as another user: as in C++, handing
/// the sandbox's output files to that user fails the fetch. Skipped as root.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_root_another_user_fails_the_launch() {
    // SAFETY: `geteuid` cannot fail.
    if unsafe { libc::geteuid() } == 0 {
        eprintln!("skipped: runs only without root");
        return;
    }
    let containerizer = containerizer();
    let sandbox = tempfile::tempdir().unwrap();
    let mut config = config(sandbox.path(), shell("touch ran"));
    config.user = Some("root".into());
    let error = within(containerizer.launch(container_id(), config, BTreeMap::new(), None)).await.expect_err("fails");
    let message = fetch_message(error);
    assert!(message.contains("Failed to chown") && message.contains("to user 'root'"), "{message}");
    assert!(!sandbox.path().join("ran").exists());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn running_as_oneself_needs_no_switch() {
    let containerizer = containerizer();
    let sandbox = tempfile::tempdir().unwrap();
    // SAFETY: `geteuid` cannot fail.
    let me = unsafe { libc::geteuid() };
    let Some(name) = read("/etc/passwd").lines().find_map(|line| {
        let fields: Vec<&str> = line.split(':').collect();
        (fields.get(2) == Some(&me.to_string().as_str())).then(|| fields[0].to_string())
    }) else {
        eprintln!("skipped: the current user is not in /etc/passwd");
        return;
    };
    let id = container_id();
    let mut config = config(sandbox.path(), shell("id -u"));
    config.user = Some(name);
    assert_eq!(
        within(containerizer.launch(id.clone(), config, BTreeMap::new(), None)).await.unwrap(),
        LaunchResult::Success
    );
    assert_eq!(status_of(&containerizer, &id).await, 0);
    assert_eq!(read(sandbox.path().join("stdout")), format!("{me}\n"));
}

// ----- cgroups v2 -----

/// A directory laid out like a cgroup2 mount stands in for the hierarchy: the container's
/// process writes itself into `cgroup.procs`, and the limits land in its files.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cgroups_v2_limits_on_a_fake_hierarchy() {
    init_logging();
    let mount = tempfile::tempdir().unwrap();
    std::fs::write(mount.path().join("cgroup.controllers"), "cpu io memory pids\n").unwrap();
    std::fs::write(mount.path().join("cgroup.subtree_control"), "").unwrap();
    let hierarchy = cgroups2::Hierarchy::open(mount.path(), "mesos").unwrap();
    let containerizer = PosixContainerizer::with_cgroups(PosixOptions::default(), Some(hierarchy.clone())).unwrap();
    assert!(containerizer.uses_cgroups());

    let sandbox = tempfile::tempdir().unwrap();
    // The kernel makes a cgroup's files; here the test does.
    let id = container_id();
    let cgroup = hierarchy.cgroup(&id.value);
    std::fs::create_dir(&cgroup).unwrap();
    std::fs::write(cgroup.join("cgroup.procs"), "").unwrap();
    let launched = containerizer.launch(id.clone(), config(sandbox.path(), shell("sleep 60")), BTreeMap::new(), None);
    assert_eq!(within(launched).await.unwrap(), LaunchResult::Success);
    assert_eq!(read(cgroup.join("cgroup.procs")), "0");
    assert_eq!(read(cgroup.join("cpu.max")), "100000 100000");
    assert_eq!(read(cgroup.join("memory.max")), (64u64 << 20).to_string());
    let statistics = within(containerizer.usage(id.clone())).await.unwrap();
    assert_eq!(statistics.cpus_limit, Some(1.0));

    within(containerizer.update(id.clone(), resources("cpus:0.5;mem:256"))).await.unwrap();
    assert_eq!(read(cgroup.join("cpu.max")), "50000 100000");
    assert_eq!(read(cgroup.join("memory.max")), (256u64 << 20).to_string());
    within(containerizer.destroy(id)).await;
}

/// With a real, writable cgroup v2 hierarchy the container lands in its own cgroup; without
/// one (the usual case in a sandbox) the containerizer falls back to POSIX isolation.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cgroups_v2_when_available() {
    init_logging();
    let root_name = format!("mesos-rs-test-{}", std::process::id());
    let options = PosixOptions { cgroups: true, cgroups_root: root_name.clone(), ..PosixOptions::default() };
    let containerizer = PosixContainerizer::new(options).unwrap();
    let base = PathBuf::from(cgroups2::MOUNT_POINT).join(&root_name);
    if !containerizer.uses_cgroups() {
        eprintln!("no usable cgroup v2 hierarchy: POSIX isolation");
        assert!(cgroups2::detect(&root_name).is_err());
        return;
    }
    let sandbox = tempfile::tempdir().unwrap();
    let id = launch_cmd(&containerizer, sandbox.path(), "cat /proc/self/cgroup; sleep 60").await;
    let pid = containerizer.pid(&id).unwrap();
    let cgroup = base.join(&id.value);
    let deadline = Instant::now() + WAIT;
    while !cgroups2::pids(&cgroup).contains(&pid) {
        assert!(Instant::now() < deadline, "{pid} not in {}", cgroup.display());
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(read(cgroup.join("cpu.max")).trim(), "100000 100000");
    within(containerizer.destroy(id)).await;
    assert!(!cgroup.exists());
    let _ = std::fs::remove_dir(&base);
}
