//! The `mesos-agent` program (also `mesos-slave`): flags, logging, libprocess, master detection, containerizer, task status update manager and agent put together and run until a signal; mirrors `src/slave/main.cpp`.
//!
//! The steps follow `main.cpp`: load the flags (`--help` and `--version` answer first), set
//! up logging, log the flag warnings and the build, derive the libprocess settings from
//! `--ip`/`--port`/`--advertise_*`, start libprocess, create the containerizer, the
//! detector (`--master=host:port`, `master@host:port`, or `file://` holding either) and the
//! agent, whose resources are `--resources` with the rest detected on this machine.
//!
//! The containerizer is the POSIX one (`--launcher=posix`, `--isolation` of `posix/*` or
//! `cgroups/*`).
//!
//! Exit: 0 after `--help`/`--version`; 1 when the flags or the start-up fail (a message on
//! stderr) or the agent stops on its own (asked to by the master); on SIGTERM or SIGINT the
//! agent shuts libprocess down and dies of the same signal.

use std::net::{Ipv4Addr, SocketAddrV4, ToSocketAddrs};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use libprocess::config::ConfigError;
use libprocess::{Config, InitializeError, Libprocess, SpawnError, UPID};
use mesos::daemon::{die_of, print_stdout, reverse_lookup, DaemonError, NetworkFlags};
use mesos::detector::{create_master_info, StandaloneMasterDetector};
use mesos::flags::{Flags, Warning};
use mesos::logging::{self, LoggingError};
use mesos::proto::SlaveInfo;
use mesos::version::MESOS_VERSION;

use crate::containerizer::posix::fetcher::FetcherOptions;
use crate::containerizer::posix::{PosixContainerizer, PosixOptions};
use crate::containerizer::Containerizer;
use crate::flags::{SlaveFlags, SlaveFlagsError};
use crate::resources::Machine;
use crate::slave::{Options, RecoverMode, Slave, SlaveHandle};
use crate::status_update_manager::TaskStatusUpdateManager;

/// The program's name in usage and error messages.
pub const PROGRAM: &str = "mesos-agent";

/// How long a shutdown may take before the program exits anyway.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

/// Why `mesos-agent` did not start.
#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error("{0}\n\nSee `mesos-agent --help` for a list of supported flags.")]
    Flags(SlaveFlagsError),
    #[error("{0}")]
    Invalid(String),
    #[error("Argument {0:?} is not valid UTF-8")]
    NonUnicodeArgument(std::ffi::OsString),
    #[error(transparent)]
    Logging(#[from] LoggingError),
    #[error(transparent)]
    LibprocessConfig(#[from] ConfigError),
    #[error("Failed to initialize libprocess: {0}")]
    Libprocess(#[from] InitializeError),
    #[error("Failed to spawn a process: {0}")]
    Spawn(#[from] SpawnError),
    #[error("Failed to create a master detector: {0}")]
    Detector(String),
    #[error("Failed to create a containerizer: {0}")]
    Containerizer(String),
    #[error("Failed to determine agent resources: {0}")]
    Resources(String),
    #[error("Failed to get hostname: {0}")]
    Hostname(String),
    #[error("Failed to create the work directory '{}': {source}", path.display())]
    WorkDir { path: PathBuf, source: std::io::Error },
    #[error("Failed to install signal handlers: {0}")]
    Signals(std::io::Error),
    #[error("Failed to start the runtime: {0}")]
    Runtime(std::io::Error),
}

impl From<SlaveFlagsError> for StartupError {
    fn from(error: SlaveFlagsError) -> StartupError {
        match error {
            SlaveFlagsError::Invalid(message) => StartupError::Invalid(message),
            other => StartupError::Flags(other),
        }
    }
}

impl From<DaemonError> for StartupError {
    fn from(error: DaemonError) -> StartupError {
        match error {
            DaemonError::Invalid(message) => StartupError::Invalid(message),
            DaemonError::Config(error) => StartupError::LibprocessConfig(error),
        }
    }
}

/// What the command line asks for.
pub enum Command {
    Help(String),
    Version(String),
    Run(Box<Startup>),
}

/// Everything a run needs, worked out without touching the network or the disk.
pub struct Startup {
    pub flags: Flags<SlaveFlags>,
    pub warnings: Vec<Warning>,
    pub config: Config,
    /// The master's host and port from `--master`.
    pub master: (String, u16),
    pub rust_log: Option<String>,
}

/// Reads the command line (program name first) and the environment.
pub fn parse(argv: &[String], environment: &[(String, String)]) -> Result<Command, StartupError> {
    let loaded = SlaveFlags::load(argv, Some(environment.to_vec()))?;
    let mut flags = loaded.flags;
    if flags.help() {
        if argv.is_empty() {
            flags.set_program_name(PROGRAM);
        }
        return Ok(Command::Help(flags.usage(None)));
    }
    if flags.version {
        return Ok(Command::Version(format!("mesos {MESOS_VERSION}")));
    }
    let master = flags
        .master_address()
        .ok_or_else(|| StartupError::Invalid("Expecting --master as host:port or master@host:port".into()))?;
    let network = NetworkFlags {
        ip: flags.ip.as_deref(),
        port: flags.port,
        advertise_ip: flags.advertise_ip.as_deref(),
        advertise_port: flags.advertise_port.as_deref(),
    };
    let config = mesos::daemon::libprocess_config(network, environment)?;
    let rust_log = environment.iter().find(|(name, _)| name == logging::RUST_LOG).map(|(_, value)| value.clone());
    Ok(Command::Run(Box::new(Startup { flags, warnings: loaded.warnings, config, master, rust_log })))
}

/// The master's agent-facing pid from its host and port (C++ `StandaloneMasterDetector`
/// made from `--master`), resolving a name to its first IPv4 address.
pub fn master_pid(host: &str, port: u16) -> Result<UPID, StartupError> {
    let ip = match host.parse::<Ipv4Addr>() {
        Ok(ip) => ip,
        Err(_) => (host, port)
            .to_socket_addrs()
            .map_err(|error| StartupError::Detector(format!("Failed to resolve '{host}': {error}")))?
            .find_map(|address| match address {
                std::net::SocketAddr::V4(v4) => Some(*v4.ip()),
                std::net::SocketAddr::V6(_) => None,
            })
            .ok_or_else(|| StartupError::Detector(format!("No IPv4 address for '{host}'")))?,
    };
    Ok(UPID::new("master", SocketAddrV4::new(ip, port)))
}

/// The agent's `SlaveInfo` before registration (C++ `Slave::initialize`): hostname
/// (`--hostname`, else the reverse lookup of the bound IP, else the IP), port, resources,
/// attributes, `checkpoint`.
pub fn slave_info(flags: &SlaveFlags, address: SocketAddrV4, machine: &Machine) -> Result<SlaveInfo, StartupError> {
    let resources = flags.total_resources(machine).map_err(|error| StartupError::Resources(error.to_string()))?;
    let attributes = flags.parsed_attributes().map_err(|error| StartupError::Invalid(error.to_string()))?;
    let hostname = match &flags.hostname {
        Some(hostname) => hostname.clone(),
        None if flags.hostname_lookup => reverse_lookup(*address.ip()).map_err(StartupError::Hostname)?,
        None => address.ip().to_string(),
    };
    Ok(SlaveInfo {
        hostname,
        port: Some(i32::from(address.port())),
        resources: resources.to_vec(),
        attributes: attributes.to_vec(),
        checkpoint: Some(true),
        ..SlaveInfo::default()
    })
}

/// The actor's settings from the flags.
pub fn options(flags: &SlaveFlags) -> Options {
    Options {
        work_dir: PathBuf::from(&flags.work_dir),
        launcher_dir: PathBuf::from(&flags.launcher_dir),
        registration_backoff_factor: flags.registration_backoff_factor,
        executor_registration_timeout: flags.executor_registration_timeout,
        executor_shutdown_grace_period: flags.executor_shutdown_grace_period,
        executor_reregistration_timeout: flags.executor_reregistration_timeout,
        recovery_timeout: flags.recovery_timeout,
        // `validate` refused any other value.
        recover: RecoverMode::parse(&flags.recover).unwrap_or(RecoverMode::Reconnect),
        strict: flags.strict,
        http_command_executor: flags.http_command_executor,
        switch_user: flags.switch_user,
        gc_delay: flags.gc_delay,
        flags: flags.to_pairs(),
    }
}

/// How a run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    Signal(i32),
    /// The agent ended by itself (the master told it to shut down).
    AgentTerminated,
}

/// Runs an agent until a signal arrives or the agent ends; logging is already up.
pub async fn run(startup: Startup) -> Result<Exit, StartupError> {
    use tokio::signal::unix::{signal, SignalKind};

    let Startup { flags, warnings, config, master, rust_log: _ } = startup;
    for warning in &warnings {
        tracing::warn!("{}", warning.message);
    }
    tracing::info!("Build: mesos-rs {}", env!("CARGO_PKG_VERSION"));
    tracing::info!("Version: {MESOS_VERSION}");
    let mut terminate = signal(SignalKind::terminate()).map_err(StartupError::Signals)?;
    let mut interrupt = signal(SignalKind::interrupt()).map_err(StartupError::Signals)?;

    let work_dir = PathBuf::from(&flags.work_dir);
    std::fs::create_dir_all(&work_dir).map_err(|source| StartupError::WorkDir { path: work_dir.clone(), source })?;
    let lp = Libprocess::initialize(config).await?;
    let result = start_and_wait(&lp, &flags, &master, &work_dir, &mut terminate, &mut interrupt).await;
    if tokio::time::timeout(SHUTDOWN_GRACE, lp.shutdown()).await.is_err() {
        tracing::warn!("libprocess did not shut down within {SHUTDOWN_GRACE:?}; exiting anyway");
    }
    result
}

async fn start_and_wait(
    lp: &Libprocess,
    flags: &Flags<SlaveFlags>,
    master: &(String, u16),
    work_dir: &Path,
    terminate: &mut tokio::signal::unix::Signal,
    interrupt: &mut tokio::signal::unix::Signal,
) -> Result<Exit, StartupError> {
    let (host, port) = master.clone();
    let master = tokio::task::spawn_blocking(move || master_pid(&host, port))
        .await
        .map_err(|error| StartupError::Detector(error.to_string()))??;
    let detector = Arc::new(StandaloneMasterDetector::new(Some(create_master_info(&master))));
    // `/files/*`: the executors' sandboxes are attached as they are made.
    let files = mesos::files::Files::spawn(lp)?;
    let address = lp.address();
    let flags_for_info = (**flags).clone();
    let work = work_dir.to_path_buf();
    let info = tokio::task::spawn_blocking(move || slave_info(&flags_for_info, address, &Machine::detect(&work)))
        .await
        .map_err(|error| StartupError::Resources(error.to_string()))??;
    let agent = spawn_agent(lp, flags, info, detector, files)?;
    // `/state` reaches `/slave(1)/state`, `/version` is served.
    lp.set_delegate(Some(&agent.pid.upid().id));
    mesos::version::VersionProcess::spawn(lp)?;
    tracing::info!("Master is {master}");
    tracing::info!("Flags at startup: {flags}");

    let ended = lp.wait(agent.pid.upid());
    let exit = tokio::select! {
        _ = terminate.recv() => {
            tracing::warn!("Received signal SIGTERM; exiting");
            Exit::Signal(libc::SIGTERM)
        }
        _ = interrupt.recv() => {
            tracing::warn!("Received signal SIGINT; exiting");
            Exit::Signal(libc::SIGINT)
        }
        _ = ended => {
            tracing::warn!("The agent process terminated");
            Exit::AgentTerminated
        }
    };
    Ok(exit)
}

/// Spawns an agent described by `info` (see [`slave_info`]) that finds its master through
/// `detector`: its containerizer, status update manager and actor (C++ `main.cpp` from the
/// containerizer's creation to `spawn(slave)`), with sandboxes attached to `files`. Shared
/// by `mesos-agent` and the local cluster.
pub fn spawn_agent(
    lp: &Libprocess,
    flags: &SlaveFlags,
    info: SlaveInfo,
    detector: Arc<dyn mesos::detector::MasterDetector>,
    files: mesos::files::Files,
) -> Result<SlaveHandle, StartupError> {
    let containerizer = create_containerizer(flags)?;
    let manager = TaskStatusUpdateManager::create(lp, Path::new(&flags.work_dir))?;
    let hostname = info.hostname.clone();
    let slave = Slave::new(info, options(flags), detector, containerizer, manager).with_files(files);
    let agent = SlaveHandle::spawn(lp, slave)?;
    tracing::info!("Agent {} ({hostname}) started on {}", agent.pid.upid(), lp.address());
    Ok(agent)
}

/// The containerizer `--containerizers=mesos` with `--launcher=posix` and `--isolation`
/// asks for (C++ `Containerizer::create`): cgroups v2 limits when a `cgroups/*` isolator is
/// named and the hierarchy allows it, POSIX isolation otherwise.
fn create_containerizer(flags: &SlaveFlags) -> Result<Arc<dyn Containerizer>, StartupError> {
    let isolation = flags.isolation().map_err(StartupError::from)?;
    for warning in &isolation.warnings {
        tracing::warn!("{}", warning.message);
    }
    let options = PosixOptions {
        fetcher: FetcherOptions {
            frameworks_home: Some(PathBuf::from(&flags.frameworks_home)).filter(|home| !home.as_os_str().is_empty()),
            stall_timeout: flags.fetcher_stall_timeout,
        },
        cgroups: isolation.isolators.iter().any(|isolator| isolator.starts_with("cgroups/")),
        cgroups_root: flags.cgroups_root.clone(),
        ..PosixOptions::default()
    };
    let containerizer =
        PosixContainerizer::new(options).map_err(|error| StartupError::Containerizer(error.to_string()))?;
    Ok(Arc::new(containerizer))
}

/// The whole program: returns the exit code, or does not return when it ends by a signal.
pub fn main(argv: Vec<std::ffi::OsString>, environment: Vec<(std::ffi::OsString, std::ffi::OsString)>) -> i32 {
    match main_inner(argv, environment) {
        Ok(Some(Exit::Signal(signal))) => die_of(signal),
        Ok(Some(Exit::AgentTerminated)) => 1,
        Ok(None) => 0,
        Err(error) => {
            eprintln!("{error}");
            1
        }
    }
}

fn main_inner(
    argv: Vec<std::ffi::OsString>,
    environment: Vec<(std::ffi::OsString, std::ffi::OsString)>,
) -> Result<Option<Exit>, StartupError> {
    let (argv, environment) =
        mesos::daemon::text_arguments(argv, environment).map_err(StartupError::NonUnicodeArgument)?;
    let startup = match parse(&argv, &environment)? {
        Command::Help(usage) => {
            print_stdout(&usage);
            return Ok(None);
        }
        Command::Version(version) => {
            print_stdout(&version);
            return Ok(None);
        }
        Command::Run(startup) => startup,
    };
    if let Some(warning) =
        logging::initialize(startup.flags.quiet, &startup.flags.logging_level, startup.rust_log.as_deref())?
    {
        tracing::warn!("{warning}");
    }
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().map_err(StartupError::Runtime)?;
    let exit = runtime.block_on(run(*startup));
    runtime.shutdown_timeout(SHUTDOWN_GRACE);
    exit.map(Some)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Vec<String> {
        std::iter::once(PROGRAM).chain(list.iter().copied()).map(String::from).collect()
    }

    fn startup(list: &[&str]) -> Startup {
        match parse(&args(list), &[]) {
            Ok(Command::Run(startup)) => *startup,
            Ok(_) => panic!("not a run"),
            Err(error) => panic!("refused: {error}"),
        }
    }

    #[test]
    fn the_master_flag_and_network_flags_are_read() {
        let run = startup(&["--master=master@10.0.0.1:5050", "--work_dir=/tmp/w", "--port=5052", "--ip=127.0.0.1"]);
        assert_eq!(run.master, ("10.0.0.1".to_string(), 5050));
        assert_eq!(run.config.port, 5052);
        assert_eq!(run.config.ip, Some(Ipv4Addr::LOCALHOST));
        let pid = master_pid("10.0.0.1", 5050).unwrap();
        assert_eq!(pid.to_string(), "master@10.0.0.1:5050");
    }

    #[test]
    fn help_and_version_answer_without_other_flags() {
        assert!(matches!(parse(&args(&["--help"]), &[]), Ok(Command::Help(usage)) if usage.contains("--work_dir")));
        assert!(matches!(parse(&args(&["--version"]), &[]), Ok(Command::Version(v)) if v == "mesos 1.12.0"));
    }

    #[test]
    fn slave_info_has_the_hostname_port_and_resources() {
        let run = startup(&[
            "--master=127.0.0.1:5050",
            "--work_dir=/tmp/w",
            "--hostname=agent.example",
            "--resources=cpus:3;mem:2048;disk:100;ports:[1-2]",
            "--attributes=rack:r1",
        ]);
        let machine = Machine::new(8, mesos::bytes::Bytes::gigabytes(16), mesos::bytes::Bytes::gigabytes(100));
        let info = slave_info(&run.flags, SocketAddrV4::new(Ipv4Addr::LOCALHOST, 5051), &machine).unwrap();
        assert_eq!(info.hostname, "agent.example");
        assert_eq!(info.port, Some(5051));
        let resources: mesos::resources::Resources = info.resources.iter().cloned().collect();
        assert_eq!(resources.to_string(), "cpus:3; mem:2048; disk:100; ports:[1-2]");
        assert_eq!(info.attributes.len(), 1);
        assert_eq!(info.checkpoint, Some(true));
    }

    #[test]
    fn a_missing_master_is_refused() {
        let refused = parse(&args(&["--work_dir=/tmp/w"]), &[]);
        assert!(refused.is_err());
    }
}
