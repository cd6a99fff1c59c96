//! `PosixContainerizer`: the Mesos containerizer with the POSIX launcher and the `posix/cpu`, `posix/mem` isolators (optionally cgroups v2), running each executor as a plain process in its own session; mirrors `MesosContainerizerProcess::{launch,_launch,fetch,wait,destroy,kill,usage,update,containers,reap,reaped}` in `src/slave/containerizer/mesos/containerizer.cpp`.
//!
//! A container goes `Launching` (cgroup, fetch, fork) -> `Running` (a pid, reaped by tokio)
//! -> `Ended` (its termination). As in C++, the end of the executor's process ends the
//! container: whatever is left of its session and process group is killed, and every
//! `wait` completes with the raw `waitpid` status (`exit code << 8`, or the signal).
//!
//! Where this differs from C++:
//!
//! * C++ forgets a container once it has ended, so a `wait` that comes later gets `None`.
//!   Here the termination is kept until `destroy` (or [`PosixContainerizer::forget`]) so
//!   that the agent's `wait`, issued when the launch completes, cannot miss a command that
//!   ended first; at most [`PosixOptions::max_retained_terminations`] are kept, oldest
//!   dropped first.
//! * A launch that fails before anything runs (fetch, cgroup, destroyed while fetching)
//!   ends the container at once with no status, rather than when the agent destroys it.
//! * The fetch happens before the fork (C++ forks the launch helper first and lets it wait
//!   on a pipe while fetching), so a failed fetch leaves no process behind and the pid is
//!   checkpointed once the command runs.
//! * There is no launch helper: the pid is the command's own, and `kill` signals it (C++
//!   signals the helper, which forwards the signal to the command).
//! * Nested containers and container images are not supported.
//! * Recovery ([`Containerizer::recover`]) adopts the executors of a previous agent run by
//!   their checkpointed `forked.pid`. They are not this process's children, so they cannot
//!   be reaped and their exit status is lost: their end is watched through a pidfd (or by
//!   polling `/proc`), and their termination has no status. C++ also keeps each
//!   container's pid under `--runtime_dir` and destroys the containers found there that
//!   the agent's state does not name (orphans, such as the executors of frameworks that do
//!   not checkpoint); there is no runtime directory here yet, so such executors are left
//!   to end by themselves (the executor libraries shut down an executor of a framework
//!   that does not checkpoint as soon as they lose their agent).
//!
//! Users, as C++: with `config.user` and the agent running as root, the sandbox and
//! everything fetched into it are handed to the user and the process switches to it
//! (`setgid`, `setgroups` with the user's group list, `setuid`) unless it is the effective
//! user already. An agent that is not root cannot run a container as anyone else: the
//! launch fails with a fetch error, because giving the sandbox's `stdout`/`stderr` to that
//! user fails, as in C++ `FetcherProcess::run`. An unknown user fails the same way.
//!
//! Everything that touches the disk or `/proc` runs on tokio's blocking pool; the actor
//! that calls in only locks a table and gets a [`Future`].

pub mod cgroups2;
pub mod download;
pub mod fetcher;
pub mod isolators;
pub mod launcher;
pub mod proc;

use std::collections::{BTreeMap, HashMap};
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use libprocess::{Future, Promise};
use mesos::proto::container_info::Type as ContainerType;
use mesos::proto::environment::variable::Type as VariableType;
use mesos::proto::{CommandInfo, ContainerId, Resource, ResourceStatistics};
use parking_lot::Mutex;
use tokio::runtime::Handle;
use tokio::sync::watch;

use super::{ContainerConfig, ContainerState, ContainerTermination, Containerizer, ContainerizerError, LaunchResult};
use fetcher::{FetcherOptions, Owner};
use launcher::{Forked, LaunchSpec};

/// How often the process of an adopted container is looked for when the kernel gives no
/// pidfd (C++ libprocess polls a pid that is not its child at most every second).
pub const REAP_POLL_INTERVAL: std::time::Duration = std::time::Duration::from_millis(100);

/// The `PATH` given to a command whose environment has none (C++ `os::host_default_path`).
pub const HOST_DEFAULT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// How the containerizer is set up.
#[derive(Clone, Debug)]
pub struct PosixOptions {
    pub fetcher: FetcherOptions,
    /// Put each container in its own cgroup v2 with `cpu.max` and `memory.max` from its
    /// resources, if the hierarchy allows it (off by default; without it resources are
    /// measured, not limited).
    pub cgroups: bool,
    /// The cgroup under which containers' cgroups are made (`--cgroups_root`).
    pub cgroups_root: String,
    /// How many ended containers' terminations are kept for late `wait`s.
    pub max_retained_terminations: usize,
}

impl Default for PosixOptions {
    fn default() -> PosixOptions {
        PosixOptions {
            fetcher: FetcherOptions::default(),
            cgroups: false,
            cgroups_root: cgroups2::DEFAULT_ROOT_NAME.to_string(),
            max_retained_terminations: 1000,
        }
    }
}

/// The Mesos containerizer with POSIX isolation (see the module documentation).
#[derive(Clone)]
pub struct PosixContainerizer {
    shared: Arc<Shared>,
}

struct Shared {
    runtime: Handle,
    fetcher: FetcherOptions,
    cgroups: Option<cgroups2::Hierarchy>,
    retain: usize,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    containers: HashMap<String, Container>,
    /// Orders ended containers, to drop the oldest.
    ended: u64,
}

enum Phase {
    /// Preparing, fetching or forking: no process yet.
    Launching,
    /// The executor's process. `reaped` once tokio has collected it: its pid may then
    /// belong to someone else and is never signalled again.
    Running { pid: i32, reaped: bool },
    /// Over; kept for `wait` until destroyed or forgotten.
    Ended { termination: ContainerTermination, order: u64 },
}

struct Container {
    id: ContainerId,
    phase: Phase,
    resources: Vec<Resource>,
    /// `destroy` was called: the container is removed when it ends.
    destroying: bool,
    /// Wakes a fetch in progress when the container is destroyed.
    cancel: watch::Sender<bool>,
    waiters: Vec<Promise<Option<ContainerTermination>>>,
    cgroup: Option<PathBuf>,
    /// The `memory.max` in force in the cgroup.
    memory_max: Option<u64>,
}

impl PosixContainerizer {
    /// A containerizer that runs its work on the current tokio runtime; with
    /// `options.cgroups`, it looks for a usable cgroup v2 hierarchy and logs (once) that it
    /// falls back to POSIX isolation if there is none.
    pub fn new(options: PosixOptions) -> Result<PosixContainerizer, ContainerizerError> {
        let cgroups = if options.cgroups {
            match cgroups2::detect(&options.cgroups_root) {
                Ok(hierarchy) => {
                    tracing::info!(
                        "Using cgroups v2 isolation: containers get cgroups under '{}' with cpu.max and memory.max",
                        hierarchy.cgroup("").display()
                    );
                    Some(hierarchy)
                }
                Err(reason) => {
                    tracing::warn!(
                        "cgroups v2 isolation is not available ({reason}); falling back to POSIX isolation: resource \
                         usage is measured, not limited"
                    );
                    None
                }
            }
        } else {
            tracing::info!("Using POSIX isolation: resource usage is measured, not limited");
            None
        };
        PosixContainerizer::with_cgroups(options, cgroups)
    }

    /// A containerizer using `cgroups` (already set up) instead of detecting a hierarchy.
    pub fn with_cgroups(
        options: PosixOptions,
        cgroups: Option<cgroups2::Hierarchy>,
    ) -> Result<PosixContainerizer, ContainerizerError> {
        let runtime = Handle::try_current().map_err(|_| {
            ContainerizerError::Other("The POSIX containerizer must be created inside a tokio runtime".into())
        })?;
        Ok(PosixContainerizer {
            shared: Arc::new(Shared {
                runtime,
                fetcher: options.fetcher,
                cgroups,
                retain: options.max_retained_terminations,
                state: Mutex::new(State::default()),
            }),
        })
    }

    /// Whether containers get cgroups.
    pub fn uses_cgroups(&self) -> bool {
        self.shared.cgroups.is_some()
    }

    /// Drops an ended container's termination; `false` if the container is unknown or
    /// still running.
    pub fn forget(&self, container_id: &ContainerId) -> bool {
        let mut state = self.shared.state.lock();
        let key = key(container_id);
        if matches!(state.containers.get(&key), Some(Container { phase: Phase::Ended { .. }, .. })) {
            state.containers.remove(&key);
            true
        } else {
            false
        }
    }

    /// The pid of a running container.
    pub fn pid(&self, container_id: &ContainerId) -> Option<i32> {
        match self.shared.state.lock().containers.get(&key(container_id))?.phase {
            Phase::Running { pid, reaped: false } => Some(pid),
            _ => None,
        }
    }
}

fn key(container_id: &ContainerId) -> String {
    container_id.value.clone()
}

/// The command's environment (C++ `_launch`): the agent's variables, then `MESOS_SANDBOX`,
/// then the command's own (secrets left out), each later one winning; `PATH` defaults to
/// [`HOST_DEFAULT_PATH`]. Nothing is inherited from the agent's own environment.
pub fn container_environment(
    agent: &BTreeMap<String, String>,
    sandbox: &Path,
    command: &CommandInfo,
) -> BTreeMap<String, String> {
    let mut environment = agent.clone();
    environment.insert("MESOS_SANDBOX".into(), sandbox.to_string_lossy().into_owned());
    for variable in command.environment.iter().flat_map(|e| &e.variables) {
        if variable.r#type() != VariableType::Secret {
            environment.insert(variable.name.clone(), variable.value.clone().unwrap_or_default());
        }
    }
    environment.entry("PATH".into()).or_insert_with(|| HOST_DEFAULT_PATH.into());
    environment
}

/// The program and argument vector for `command` (C++ launch helper): a shell command is
/// `sh -c <value>`; otherwise `value` is executed with `arguments` as the whole argument
/// vector (`arguments[0]` being `argv[0]`; just `value` if there are none). A relative
/// program found executable in the sandbox is taken from there (C++ `os::which(executable,
/// working_directory)`), else it is looked up in the environment's `PATH`.
pub fn command_line(command: &CommandInfo, sandbox: &Path) -> (PathBuf, Vec<String>) {
    let value = command.value.clone().unwrap_or_default();
    let (program, argv) = if command.shell() {
        ("sh".to_string(), vec!["sh".to_string(), "-c".to_string(), value])
    } else if command.arguments.is_empty() {
        (value.clone(), vec![value])
    } else {
        (value, command.arguments.clone())
    };
    let mut program = PathBuf::from(program);
    if !program.is_absolute() && !program.as_os_str().is_empty() {
        let candidate = sandbox.join(&program);
        if is_executable_file(&candidate) {
            program = candidate;
        }
    }
    (program, argv)
}

fn is_executable_file(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

fn now_secs() -> f64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs_f64()).unwrap_or_default()
}

/// What the launch prepared on the blocking pool.
struct Prepared {
    /// The user to switch to (`None`: stay who we are).
    switch_to: Option<launcher::UserIds>,
    /// Who gets the sandbox's files.
    owner: Option<Owner>,
    cgroup: Option<PathBuf>,
    memory_max: Option<u64>,
}

impl Shared {
    /// Runs `f` on the blocking pool.
    async fn blocking<T: Send + 'static>(
        &self,
        f: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, ContainerizerError> {
        self.runtime
            .spawn_blocking(f)
            .await
            .map_err(|error| ContainerizerError::Other(format!("A containerizer worker failed: {error}")))
    }

    /// C++ `launch` → `prepare` → `fetch` → `_launch`, then the fork.
    async fn launch_container(
        self: Arc<Self>,
        key: String,
        config: ContainerConfig,
        environment: BTreeMap<String, String>,
        pid_checkpoint_path: Option<PathBuf>,
        cancel: watch::Receiver<bool>,
    ) -> Result<LaunchResult, ContainerizerError> {
        match self.clone().launch_steps(&key, config, environment, pid_checkpoint_path, cancel).await {
            Ok(result) => Ok(result),
            Err(LaunchFailure::BeforeFork(error)) => {
                tracing::error!("Failed to launch container {key}: {error}");
                self.finish(&key, ContainerTermination::default());
                Err(error)
            }
            Err(LaunchFailure::AfterFork(error)) => {
                // The process runs: it ends through `destroy`, as in C++.
                tracing::error!("Failed to launch container {key}: {error}");
                Err(error)
            }
        }
    }

    async fn launch_steps(
        self: Arc<Self>,
        key: &str,
        config: ContainerConfig,
        environment: BTreeMap<String, String>,
        pid_checkpoint_path: Option<PathBuf>,
        mut cancel: watch::Receiver<bool>,
    ) -> Result<LaunchResult, LaunchFailure> {
        let sandbox = config.directory.clone();

        let (user, resources, hierarchy, cgroup_key) =
            (config.user.clone(), config.resources.clone(), self.cgroups.clone(), key.to_string());
        let sandbox_dir = sandbox.clone();
        let prepared = self
            .blocking(move || prepare(user.as_deref(), &sandbox_dir, hierarchy.as_ref(), &cgroup_key, &resources))
            .await
            .and_then(|prepared| prepared)
            .map_err(LaunchFailure::BeforeFork)?;
        {
            let mut state = self.state.lock();
            if let Some(container) = state.containers.get_mut(key) {
                container.cgroup = prepared.cgroup.clone();
                container.memory_max = prepared.memory_max;
            }
        }
        let cleanup_cgroup = |cgroup: &Option<PathBuf>| {
            if let Some(cgroup) = cgroup.clone() {
                self.runtime.spawn_blocking(move || cgroups2::destroy(&cgroup));
            }
        };

        let fetched = tokio::select! {
            fetched = fetcher::fetch(&config.command_info, &sandbox, prepared.owner.as_ref(), &self.fetcher) => {
                fetched.map_err(ContainerizerError::Fetch)
            }
            _ = cancel.wait_for(|cancelled| *cancelled) => {
                Err(ContainerizerError::Launch("Container destroyed during fetching".into()))
            }
        };
        if let Err(error) = fetched {
            cleanup_cgroup(&prepared.cgroup);
            return Err(LaunchFailure::BeforeFork(error));
        }
        if self.state.lock().containers.get(key).is_none_or(|c| c.destroying) {
            cleanup_cgroup(&prepared.cgroup);
            return Err(LaunchFailure::BeforeFork(ContainerizerError::Launch(
                "Container is being destroyed during fetching".into(),
            )));
        }

        if config.command_info.value.is_none() {
            // The launch helper's check (C++ exits with `EXIT_FAILURE`).
            let message = if config.command_info.shell() {
                "Shell command is not specified"
            } else {
                "Executable path is not specified"
            };
            let stderr = sandbox.join(fetcher::STDERR);
            let _ = self
                .blocking(move || {
                    use std::io::Write;
                    let file = std::fs::OpenOptions::new().append(true).create(true).open(stderr);
                    file.and_then(|mut file| writeln!(file, "{message}"))
                })
                .await;
            tracing::warn!("Container {key} failed to start its command: {message}");
            cleanup_cgroup(&prepared.cgroup);
            self.finish(
                key,
                ContainerTermination { status: Some(launcher::EXIT_FAILURE_STATUS), ..ContainerTermination::default() },
            );
            return Ok(LaunchResult::Success);
        }

        let (program, argv) = command_line(&config.command_info, &sandbox);
        let spec = LaunchSpec {
            program,
            argv,
            environment: container_environment(&environment, &sandbox, &config.command_info),
            working_directory: sandbox.clone(),
            stdout: sandbox.join(fetcher::STDOUT),
            stderr: sandbox.join(fetcher::STDERR),
            user: prepared.switch_to.clone(),
            cgroup: prepared.cgroup.clone(),
        };
        let forked = self
            .blocking(move || {
                let forked = launcher::fork(&spec)?;
                let checkpointed = match (&forked, &pid_checkpoint_path) {
                    (Forked::Running(child), Some(path)) => {
                        let pid = child.id().unwrap_or_default();
                        tracing::info!("Checkpointing container's forked pid {pid} to '{}'", path.display());
                        mesos::protobuf_io::checkpoint(path, pid.to_string().as_bytes()).map_err(|e| e.to_string())
                    }
                    _ => Ok(()),
                };
                Ok::<_, String>((forked, checkpointed))
            })
            .await
            .map_err(LaunchFailure::BeforeFork)?;
        let (forked, checkpointed) = match forked {
            Ok(forked) => forked,
            Err(error) => {
                cleanup_cgroup(&prepared.cgroup);
                return Err(LaunchFailure::BeforeFork(ContainerizerError::Launch(format!("Failed to fork: {error}"))));
            }
        };

        let child = match forked {
            Forked::Failed { message } => {
                tracing::warn!("Container {key} failed to start its command: {message}");
                cleanup_cgroup(&prepared.cgroup);
                self.finish(
                    key,
                    ContainerTermination {
                        status: Some(launcher::EXIT_FAILURE_STATUS),
                        ..ContainerTermination::default()
                    },
                );
                return Ok(LaunchResult::Success);
            }
            Forked::Running(child) => child,
        };
        let pid = child.id().map(|pid| pid as i32).unwrap_or_default();
        tracing::info!("Forked child with pid '{pid}' for container '{key}'");
        let destroying = {
            let mut state = self.state.lock();
            match state.containers.get_mut(key) {
                Some(container) => {
                    container.phase = Phase::Running { pid, reaped: false };
                    container.destroying
                }
                None => true,
            }
        };
        self.runtime.spawn(self.clone().reap(key.to_string(), pid, child));
        if destroying {
            self.runtime.spawn_blocking(move || kill_container(pid));
        }
        checkpointed.map_err(|error| {
            LaunchFailure::AfterFork(ContainerizerError::Launch(format!(
                "Could not checkpoint container's pid: {error}"
            )))
        })?;
        Ok(LaunchResult::Success)
    }

    /// C++ `reap` and `reaped`: waits for the executor's process, kills what is left of its
    /// session and group (and cgroup), and ends the container with the wait status.
    async fn reap(self: Arc<Self>, key: String, pid: i32, mut child: tokio::process::Child) {
        let status = match child.wait().await {
            Ok(status) => Some(status.into_raw()),
            Err(error) => {
                tracing::warn!("Failed to reap the process {pid} of container {key}: {error}");
                None
            }
        };
        let cgroup = {
            let mut state = self.state.lock();
            state.containers.get_mut(&key).and_then(|container| {
                if let Phase::Running { reaped, .. } = &mut container.phase {
                    *reaped = true;
                }
                container.cgroup.clone()
            })
        };
        tracing::info!("Container {key} has exited");
        let _ = self
            .blocking(move || {
                // The pid is gone: this reaches what is left of the group and session it led.
                if let Err(error) = launcher::kill_leftovers(pid, libc::SIGKILL) {
                    tracing::warn!("Failed to kill the processes left by {pid}: {error}");
                }
                if let Some(cgroup) = cgroup {
                    cgroups2::destroy(&cgroup);
                }
            })
            .await;
        self.finish(&key, ContainerTermination { status, ..ContainerTermination::default() });
    }

    /// The end of an adopted container's process (C++ `reap` of a pid that is not a
    /// child): the agent that forked it is gone, so nobody here can `waitpid` it and its
    /// exit status is lost (the termination has none). Its end is learnt from a pidfd,
    /// which becomes readable when the process exits, else by polling `/proc/<pid>` (a
    /// zombie counts as ended). A pid reused by another process after the executor ended
    /// while no agent ran is taken for the executor, as in C++.
    async fn watch(self: Arc<Self>, key: String, pid: i32) {
        if let Err(error) = wait_for_exit(pid).await {
            tracing::warn!("Failed to watch the process {pid} of container {key}: {error}; polling it");
            while process_alive(pid) {
                tokio::time::sleep(REAP_POLL_INTERVAL).await;
            }
        }
        if let Some(container) = self.state.lock().containers.get_mut(&key) {
            if let Phase::Running { reaped, .. } = &mut container.phase {
                *reaped = true;
            }
        }
        tracing::info!("Container {key} has exited");
        let _ = self
            .blocking(move || {
                if let Err(error) = launcher::kill_leftovers(pid, libc::SIGKILL) {
                    tracing::warn!("Failed to kill the processes left by {pid}: {error}");
                }
            })
            .await;
        self.finish(&key, ContainerTermination::default());
    }

    /// Ends the container: completes every waiter, then removes it if it was destroyed or
    /// keeps its termination.
    fn finish(&self, key: &str, termination: ContainerTermination) {
        let waiters = {
            let mut state = self.state.lock();
            let order = state.ended;
            let Some(container) = state.containers.get_mut(key) else { return };
            let waiters = std::mem::take(&mut container.waiters);
            if container.destroying {
                state.containers.remove(key);
            } else {
                container.phase = Phase::Ended { termination: termination.clone(), order };
                state.ended += 1;
                state.trim(self.retain);
            }
            waiters
        };
        for waiter in waiters {
            waiter.set(Some(termination.clone()));
        }
    }
}

impl State {
    /// Drops the oldest ended containers beyond `retain`.
    fn trim(&mut self, retain: usize) {
        loop {
            let ended = self.containers.iter().filter_map(|(key, c)| match c.phase {
                Phase::Ended { order, .. } => Some((order, key)),
                _ => None,
            });
            let (count, oldest) = ended.fold((0usize, None::<(u64, &String)>), |(n, oldest), (order, key)| {
                (n + 1, if oldest.is_none_or(|(o, _)| order < o) { Some((order, key)) } else { oldest })
            });
            match oldest {
                Some((_, key)) if count > retain => {
                    let key = key.clone();
                    self.containers.remove(&key);
                }
                _ => return,
            }
        }
    }
}

/// Completes when `pid` has exited, through a pidfd (Linux 5.3 and later); an error when
/// there is no pidfd to be had (the caller polls instead). A pid that no longer exists has
/// exited.
async fn wait_for_exit(pid: i32) -> std::io::Result<()> {
    use std::os::fd::{FromRawFd, OwnedFd};
    // SAFETY: `pidfd_open` takes a pid and flags and returns a new descriptor or -1.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) };
    if fd < 0 {
        let error = std::io::Error::last_os_error();
        return if error.raw_os_error() == Some(libc::ESRCH) { Ok(()) } else { Err(error) };
    }
    // SAFETY: `fd` was just opened and is owned by nothing else.
    let fd = unsafe { OwnedFd::from_raw_fd(fd as i32) };
    // SAFETY: an `OwnedFd` holds its open descriptor until dropped, with the `AsyncFd`.
    let fd = unsafe { tokio::io::unix::AsyncFd::register_with_interest(fd, tokio::io::Interest::READABLE) }
        .map_err(|error| error.into_parts().1)?;
    let _ready = fd.readable().await?;
    Ok(())
}

/// Whether `pid` is a live process (it exists and is not a zombie).
pub fn process_alive(pid: i32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        // The state follows the parenthesised command name, which may hold spaces.
        Ok(stat) => stat.rsplit_once(')').and_then(|(_, rest)| rest.trim_start().chars().next()) != Some('Z'),
        // SAFETY: signal 0 only checks that the process exists.
        Err(_) => unsafe { libc::kill(pid, 0) == 0 },
    }
}

enum LaunchFailure {
    /// Nothing runs: the container ends at once.
    BeforeFork(ContainerizerError),
    /// The process runs; the caller destroys the container.
    AfterFork(ContainerizerError),
}

/// The blocking part of the launch: who to run as, the sandbox's owner, the cgroup.
fn prepare(
    user: Option<&str>,
    sandbox: &Path,
    cgroups: Option<&cgroups2::Hierarchy>,
    key: &str,
    resources: &[Resource],
) -> Result<Prepared, ContainerizerError> {
    let (switch_to, owner) = match user {
        None => (None, None),
        Some(name) => {
            // C++ fails the fetch here (the fetcher cannot `chown` the sandbox's output
            // files to an unknown user).
            let ids = launcher::lookup_user(name).map_err(ContainerizerError::Fetch)?;
            let owner = Owner { name: ids.name.clone(), uid: ids.uid, gid: ids.gid };
            // The launch helper does not switch when the user is already the effective one.
            let euid = launcher::effective_uid();
            if euid == 0 && ids.uid != euid {
                std::os::unix::fs::chown(sandbox, Some(ids.uid), Some(ids.gid)).map_err(|error| {
                    ContainerizerError::Prepare(format!(
                        "Failed to chown the sandbox '{}' to user '{name}': {error}",
                        sandbox.display()
                    ))
                })?;
            }
            ((ids.uid != euid).then_some(ids), Some(owner))
        }
    };
    let (cgroup, memory_max) = match cgroups {
        Some(hierarchy) => {
            let cgroup = hierarchy.create(key).map_err(ContainerizerError::Prepare)?;
            let memory_max = cgroups2::update(&cgroup, resources, None).map_err(|error| {
                cgroups2::destroy(&cgroup);
                ContainerizerError::Prepare(error)
            })?;
            (Some(cgroup), memory_max)
        }
        None => (None, None),
    };
    Ok(Prepared { switch_to, owner, cgroup, memory_max })
}

/// C++ `SubprocessLauncher::destroy`: SIGKILL to the tree, group and session of `pid`.
fn kill_container(pid: i32) {
    match launcher::killtree(pid, libc::SIGKILL, true, true) {
        Ok(killed) => tracing::debug!("Killed {killed:?} of the container led by {pid}"),
        Err(error) => tracing::warn!("Failed to kill the container led by {pid}: {error}"),
    }
}

impl Containerizer for PosixContainerizer {
    fn launch(
        &self,
        container_id: ContainerId,
        config: ContainerConfig,
        environment: BTreeMap<String, String>,
        pid_checkpoint_path: Option<PathBuf>,
    ) -> Future<Result<LaunchResult, ContainerizerError>> {
        if container_id.parent.is_some() {
            tracing::warn!("Nested container {} is not supported by the POSIX containerizer", container_id.value);
            return Future::ready(Ok(LaunchResult::NotSupported));
        }
        if let Some(info) = &config.container_info {
            if info.r#type() != ContainerType::Mesos {
                return Future::ready(Ok(LaunchResult::NotSupported));
            }
            if info.mesos.as_ref().is_some_and(|mesos| mesos.image.is_some()) {
                return Future::ready(Err(ContainerizerError::Prepare(
                    "Container images are not supported by the POSIX containerizer".into(),
                )));
            }
        }
        let key = key(&container_id);
        let (cancel, cancelled) = watch::channel(false);
        {
            let mut state = self.shared.state.lock();
            if state.containers.contains_key(&key) {
                return Future::ready(Ok(LaunchResult::AlreadyLaunched));
            }
            tracing::info!("Starting container {key}");
            state.containers.insert(
                key.clone(),
                Container {
                    id: container_id,
                    phase: Phase::Launching,
                    resources: config.resources.clone(),
                    destroying: false,
                    cancel,
                    waiters: Vec::new(),
                    cgroup: None,
                    memory_max: None,
                },
            );
        }
        let promise = Promise::new();
        let future = promise.future();
        let shared = self.shared.clone();
        self.shared.runtime.spawn(async move {
            promise.set(shared.launch_container(key, config, environment, pid_checkpoint_path, cancelled).await);
        });
        future
    }

    fn wait(&self, container_id: ContainerId) -> Future<Option<ContainerTermination>> {
        let mut state = self.shared.state.lock();
        let Some(container) = state.containers.get_mut(&key(&container_id)) else { return Future::ready(None) };
        if let Phase::Ended { termination, .. } = &container.phase {
            return Future::ready(Some(termination.clone()));
        }
        let promise = Promise::new();
        let future = promise.future();
        container.waiters.push(promise);
        future
    }

    fn destroy(&self, container_id: ContainerId) -> Future<Option<ContainerTermination>> {
        let key = key(&container_id);
        let mut state = self.shared.state.lock();
        let Some(container) = state.containers.get_mut(&key) else {
            tracing::warn!("Attempted to destroy unknown container {key}");
            return Future::ready(None);
        };
        let kill = match &container.phase {
            Phase::Ended { termination, .. } => {
                let termination = termination.clone();
                state.containers.remove(&key);
                return Future::ready(Some(termination));
            }
            Phase::Launching => {
                // Wakes a fetch in progress; a fork about to happen sees `destroying`.
                let _ = container.cancel.send(true);
                None
            }
            Phase::Running { pid, reaped } => (!*reaped && !container.destroying).then_some(*pid),
        };
        if !container.destroying {
            tracing::info!("Destroying container {key}");
        }
        container.destroying = true;
        let promise = Promise::new();
        let future = promise.future();
        container.waiters.push(promise);
        drop(state);
        if let Some(pid) = kill {
            self.shared.runtime.spawn_blocking(move || kill_container(pid));
        }
        future
    }

    fn kill(&self, container_id: ContainerId, signal: i32) -> Future<bool> {
        let key = key(&container_id);
        let pid = {
            let state = self.shared.state.lock();
            match state.containers.get(&key).map(|c| &c.phase) {
                None | Some(Phase::Ended { .. }) => {
                    tracing::warn!("Attempted to kill unknown container {key}");
                    return Future::ready(false);
                }
                // It is ending already.
                Some(Phase::Running { reaped: true, .. }) => return Future::ready(true),
                Some(Phase::Running { pid, .. }) => Some(*pid),
                Some(Phase::Launching) => None,
            }
        };
        let Some(pid) = pid else {
            // C++: a container without a pid yet is destroyed instead.
            tracing::warn!("Unable to find the pid for container {key}, destroying it");
            drop(self.destroy(container_id));
            return Future::ready(true);
        };
        tracing::info!("Sending signal {signal} to container {key}");
        // SAFETY: a plain signal to the container's unreaped process.
        if unsafe { libc::kill(pid, signal) } != 0 {
            let error = std::io::Error::last_os_error();
            return Future::failed(format!("Unable to send signal to container: {}", launcher::error_text(&error)));
        }
        Future::ready(true)
    }

    fn usage(&self, container_id: ContainerId) -> Future<Result<ResourceStatistics, ContainerizerError>> {
        let key = key(&container_id);
        let (pid, resources, cfs) = {
            let state = self.shared.state.lock();
            let Some(container) = state.containers.get(&key) else {
                return Future::ready(Err(ContainerizerError::UnknownContainer(key)));
            };
            let pid = match container.phase {
                Phase::Ended { .. } => return Future::ready(Err(ContainerizerError::UnknownContainer(key))),
                Phase::Running { pid, reaped: false } => Some(pid),
                _ => None,
            };
            (pid, container.resources.clone(), container.cgroup.is_some())
        };
        let Some(pid) = pid else {
            return Future::ready(Ok(isolators::statistics(now_secs(), None, &resources, cfs)));
        };
        let promise = Promise::new();
        let future = promise.future();
        self.shared.runtime.spawn_blocking(move || {
            let usage = match proc::processes() {
                Ok(table) => isolators::tree_usage(pid, &table, proc::ticks_per_second(), proc::page_size()),
                Err(error) => {
                    tracing::warn!("Skipping resource statistic for container {key} because: {error}");
                    None
                }
            };
            promise.set(Ok(isolators::statistics(now_secs(), usage.as_ref(), &resources, cfs)));
        });
        future
    }

    fn update(&self, container_id: ContainerId, resources: Vec<Resource>) -> Future<Result<(), ContainerizerError>> {
        let key = key(&container_id);
        let (cgroup, memory_max) = {
            let mut state = self.shared.state.lock();
            let Some(container) = state.containers.get_mut(&key) else {
                tracing::warn!("Ignoring update for unknown container {key}");
                return Future::ready(Ok(()));
            };
            if container.destroying || matches!(container.phase, Phase::Ended { .. }) {
                tracing::warn!("Ignoring update for currently being destroyed container {key}");
                return Future::ready(Ok(()));
            }
            container.resources = resources.clone();
            (container.cgroup.clone(), container.memory_max)
        };
        let Some(cgroup) = cgroup else { return Future::ready(Ok(())) };
        let promise = Promise::new();
        let future = promise.future();
        let shared = self.shared.clone();
        self.shared.runtime.spawn_blocking(move || {
            let result = cgroups2::update(&cgroup, &resources, memory_max).map(|memory_max| {
                if let Some(container) = shared.state.lock().containers.get_mut(&key) {
                    container.memory_max = memory_max;
                }
            });
            promise.set(result.map_err(ContainerizerError::Other));
        });
        future
    }

    fn containers(&self) -> Future<Vec<ContainerId>> {
        let state = self.shared.state.lock();
        let mut ids: Vec<ContainerId> = state
            .containers
            .values()
            .filter(|c| !matches!(c.phase, Phase::Ended { .. }))
            .map(|c| c.id.clone())
            .collect();
        ids.sort_by(|a, b| a.value.cmp(&b.value));
        Future::ready(ids)
    }

    /// C++ `MesosContainerizerProcess::recover` with the POSIX launcher: each container of
    /// the previous run is taken as running with its checkpointed pid and watched until
    /// that process ends (see `watch`); one whose process is gone ends at once. No
    /// cgroup is recovered, and there is no runtime directory to find orphans in (see the
    /// module documentation).
    fn recover(&self, containers: Vec<ContainerState>) -> Future<Result<(), ContainerizerError>> {
        for recovered in containers {
            let key = key(&recovered.container_id);
            let (cancel, _) = watch::channel(false);
            {
                let mut state = self.shared.state.lock();
                if state.containers.contains_key(&key) {
                    tracing::warn!("Skipping recovery of container {key}: it is known already");
                    continue;
                }
                tracing::info!("Recovering container {key} with pid {}", recovered.pid);
                state.containers.insert(
                    key.clone(),
                    Container {
                        id: recovered.container_id.clone(),
                        phase: Phase::Running { pid: recovered.pid, reaped: false },
                        resources: recovered.executor_info.map(|info| info.resources).unwrap_or_default(),
                        destroying: false,
                        cancel,
                        waiters: Vec::new(),
                        cgroup: None,
                        memory_max: None,
                    },
                );
            }
            self.shared.runtime.spawn(self.shared.clone().watch(key, recovered.pid));
        }
        Future::ready(Ok(()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mesos::proto::environment::Variable;
    use mesos::proto::Environment;

    fn variable(name: &str, value: &str, kind: VariableType) -> Variable {
        Variable { name: name.into(), value: Some(value.into()), r#type: Some(kind as i32), ..Variable::default() }
    }

    #[test]
    fn the_commands_environment_wins_over_the_agents() {
        let agent: BTreeMap<String, String> =
            [("MESOS_SLAVE_ID", "S1"), ("SHARED", "agent"), ("MESOS_SANDBOX", "ignored")]
                .into_iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect();
        let command = CommandInfo {
            environment: Some(Environment {
                variables: vec![
                    variable("SHARED", "command", VariableType::Value),
                    variable("TOKEN", "secret", VariableType::Secret),
                    variable("OWN", "1", VariableType::Value),
                ],
            }),
            ..CommandInfo::default()
        };
        let environment = container_environment(&agent, Path::new("/sandbox"), &command);
        assert_eq!(environment["SHARED"], "command");
        assert_eq!(environment["OWN"], "1");
        assert_eq!(environment["MESOS_SLAVE_ID"], "S1");
        assert_eq!(environment["MESOS_SANDBOX"], "/sandbox");
        assert_eq!(environment["PATH"], HOST_DEFAULT_PATH);
        assert!(!environment.contains_key("TOKEN"));

        let with_path = CommandInfo {
            environment: Some(Environment { variables: vec![variable("PATH", "/opt/bin", VariableType::Value)] }),
            ..CommandInfo::default()
        };
        assert_eq!(container_environment(&BTreeMap::new(), Path::new("/s"), &with_path)["PATH"], "/opt/bin");
    }

    #[test]
    fn command_lines_as_the_launch_helper_builds_them() {
        let dir = tempfile::tempdir().unwrap();
        let shell = CommandInfo { value: Some("echo hi".into()), ..CommandInfo::default() };
        assert_eq!(
            command_line(&shell, dir.path()),
            (PathBuf::from("sh"), vec!["sh".into(), "-c".into(), "echo hi".into()])
        );

        let exec = CommandInfo {
            shell: Some(false),
            value: Some("/bin/echo".into()),
            arguments: vec!["echo".into(), "a b".into()],
            ..CommandInfo::default()
        };
        assert_eq!(command_line(&exec, dir.path()), (PathBuf::from("/bin/echo"), vec!["echo".into(), "a b".into()]));

        let bare = CommandInfo { shell: Some(false), value: Some("true".into()), ..CommandInfo::default() };
        assert_eq!(command_line(&bare, dir.path()), (PathBuf::from("true"), vec!["true".into()]));

        // An executable in the sandbox is preferred to `PATH`.
        use std::os::unix::fs::PermissionsExt;
        let local = dir.path().join("true");
        std::fs::write(&local, "#!/bin/sh\n").unwrap();
        std::fs::set_permissions(&local, std::fs::Permissions::from_mode(0o755)).unwrap();
        assert_eq!(command_line(&bare, dir.path()).0, local);
    }
}
