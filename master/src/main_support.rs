//! The `mesos-master` program: flags, logging, libprocess, registry storage, allocator, registrar and master put together and run until a signal; mirrors `src/master/main.cpp`.
//!
//! `src/main.rs` only hands the process's arguments and environment to [`main`]; everything
//! else is here so that the mapping from flags to the running pieces can be unit tested.
//!
//! The steps follow `main.cpp`: load the flags (`--help` and `--version` answer before load
//! errors are looked at), set up logging, log the flag warnings and the build, derive the
//! libprocess [`Config`] from `--ip`/`--port`/`--advertise_*` (what C++ does by setting
//! `LIBPROCESS_*` variables), start libprocess, then the allocator, the registry storage,
//! the registrar and the master. This master runs standalone: it appoints itself leader, so
//! `--zk` is refused rather than ignored.
//!
//! Registry storage: `--registry=in_memory` keeps it in memory. `--registry=replicated_log`
//! (upstream's default) keeps it in [`REGISTRY_DIRECTORY`] under `--work_dir`, through the
//! crash-safe [`DirectoryStorage`]. That is a durable store for a single master, not
//! upstream's replicated log (which needs no more than a quorum of masters' disks); a
//! restart over the same `--work_dir` recovers the agents admitted before. An advisory lock
//! on [`REGISTRY_LOCK`] keeps two masters off one directory.
//!
//! Exit: 0 after `--help`/`--version`; 1 when the flags or the start-up fail (after a message
//! on stderr, as C++ `EXIT(EXIT_FAILURE)`) or the master stops on its own (a fatal registry
//! error). On SIGTERM or SIGINT the master logs it, shuts libprocess down, then dies of the
//! same signal with its default action, as C++'s SIGTERM handler does, so a supervisor sees
//! the signal in the exit status.

use std::fmt;
use std::fs::{File, OpenOptions};
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use libprocess::config::ConfigError;
use libprocess::{Config, InitializeError, Libprocess, SpawnError};
use mesos::flags::{Flags, Warning};
use mesos::state::{DirectoryStorage, InMemoryStorage, State, Storage, StorageError};

use crate::allocator::Allocator;
use crate::flags::{MasterFlags, MasterFlagsError};
use crate::master::{master_info, Master, MasterError, MESOS_VERSION};
use crate::registrar::Registrar;
use mesos::daemon::{
    die_of, libprocess_config as libprocess_config_of, print_stdout, reverse_lookup, DaemonError, NetworkFlags,
};
use mesos::logging::{self, LoggingError};

/// The program's name in usage and error messages.
pub const PROGRAM: &str = "mesos-master";

/// The directory under `--work_dir` that holds the registry with `--registry=replicated_log`.
/// Upstream's replicated log lives in `<work_dir>/replicated_log`; a different name keeps
/// the two formats apart.
pub const REGISTRY_DIRECTORY: &str = "registry";

/// The lock file under `--work_dir`, held while a master uses [`REGISTRY_DIRECTORY`].
pub const REGISTRY_LOCK: &str = "registry.lock";

/// How long a shutdown may take before the program exits anyway.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

/// Why `mesos-master` did not start, or stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    /// The flags did not load (unknown flag, bad value, unsupported flag); C++ points at
    /// `--help` after these.
    #[error("{0}\n\nSee `mesos-master --help` for a list of supported flags.")]
    Flags(MasterFlagsError),
    /// A start-up check failed (`EXIT(EXIT_FAILURE) << ...` in C++).
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
    #[error("Failed to create work directory '{}': {source}", path.display())]
    WorkDir { path: PathBuf, source: std::io::Error },
    #[error("Failed to lock '{}' (is another master using this --work_dir?): {source}", path.display())]
    Lock { path: PathBuf, source: std::io::Error },
    #[error("Failed to open the registry storage: {0}")]
    Storage(#[from] StorageError),
    #[error("Failed to spawn a process: {0}")]
    Spawn(#[from] SpawnError),
    #[error("Failed to start the master: {0}")]
    Master(#[from] MasterError),
    #[error("Failed to get hostname: {0}")]
    Hostname(String),
    #[error("Failed to install signal handlers: {0}")]
    Signals(std::io::Error),
    #[error("Failed to start the runtime: {0}")]
    Runtime(std::io::Error),
}

impl From<MasterFlagsError> for StartupError {
    fn from(error: MasterFlagsError) -> StartupError {
        match error {
            MasterFlagsError::Invalid(message) => StartupError::Invalid(message),
            other => StartupError::Flags(other),
        }
    }
}

/// What the command line asks for.
pub enum Command {
    /// Print this usage on stdout and exit 0.
    Help(String),
    /// Print this version line on stdout and exit 0.
    Version(String),
    /// Run a master.
    Run(Box<Startup>),
}

/// Where the registry is kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RegistryStorage {
    /// `--registry=in_memory`: lost when the master stops.
    InMemory,
    /// `--registry=replicated_log`: a [`DirectoryStorage`] in `<work_dir>/registry`.
    Directory { work_dir: PathBuf },
}

impl RegistryStorage {
    /// The registry's directory, if it has one.
    pub fn directory(&self) -> Option<PathBuf> {
        match self {
            RegistryStorage::InMemory => None,
            RegistryStorage::Directory { work_dir } => Some(work_dir.join(REGISTRY_DIRECTORY)),
        }
    }
}

impl fmt::Display for RegistryStorage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RegistryStorage::InMemory => f.write_str("in memory"),
            RegistryStorage::Directory { work_dir } => {
                write!(f, "in directory '{}'", work_dir.join(REGISTRY_DIRECTORY).display())
            }
        }
    }
}

/// Everything a run needs, worked out from the command line and the environment without
/// touching the network or the disk.
pub struct Startup {
    /// The loaded flags (they print themselves as `--name="value"` for the start-up log).
    pub flags: Flags<MasterFlags>,
    /// Deprecated spellings used, to log once logging is up.
    pub warnings: Vec<Warning>,
    /// How libprocess binds and advertises itself.
    pub config: Config,
    pub registry: RegistryStorage,
    /// The value of `RUST_LOG`, if set.
    pub rust_log: Option<String>,
}

/// Reads the command line (program name first) and the environment (`MESOS_*` flags,
/// `LIBPROCESS_*` settings, `RUST_LOG`).
pub fn parse(argv: &[String], environment: &[(String, String)]) -> Result<Command, StartupError> {
    let loaded = MasterFlags::load(argv, Some(environment.to_vec()))?;
    let mut flags = loaded.flags;
    if flags.help() {
        // C++ prints the usage under the program's own name; so does `Flags::usage` after a
        // load, but a bare `argv` has none.
        if argv.is_empty() {
            flags.set_program_name(PROGRAM);
        }
        return Ok(Command::Help(flags.usage(None)));
    }
    if flags.version {
        return Ok(Command::Version(format!("mesos {MESOS_VERSION}")));
    }
    if flags.zk.is_some() {
        // Recognized by the flags, but this master has no leader election: it always runs
        // as a standalone leader, which is not what `--zk` asks for.
        return Err(StartupError::Flags(MasterFlagsError::Unsupported("zk".into())));
    }
    let config = libprocess_config(&flags, environment)?;
    let registry = registry_storage(&flags)?;
    let rust_log = environment.iter().find(|(name, _)| name == logging::RUST_LOG).map(|(_, value)| value.clone());
    Ok(Command::Run(Box::new(Startup { flags, warnings: loaded.warnings, config, registry, rust_log })))
}

/// The libprocess settings from the network flags over `LIBPROCESS_*` (see
/// [`mesos::daemon::libprocess_config`]).
pub fn libprocess_config(flags: &MasterFlags, environment: &[(String, String)]) -> Result<Config, StartupError> {
    let network = NetworkFlags {
        ip: flags.ip.as_deref(),
        port: flags.port,
        advertise_ip: flags.advertise_ip.as_deref(),
        advertise_port: flags.advertise_port.as_deref(),
    };
    libprocess_config_of(network, environment).map_err(|error| match error {
        DaemonError::Invalid(message) => StartupError::Invalid(message),
        DaemonError::Config(error) => StartupError::LibprocessConfig(error),
    })
}

/// The registry storage `--registry` asks for (`MasterFlags::validate` has already refused
/// other values and a missing `--work_dir`).
pub fn registry_storage(flags: &MasterFlags) -> Result<RegistryStorage, StartupError> {
    match flags.registry.as_str() {
        "in_memory" => Ok(RegistryStorage::InMemory),
        "replicated_log" | "log_storage" => match &flags.work_dir {
            Some(work_dir) => Ok(RegistryStorage::Directory { work_dir: PathBuf::from(work_dir) }),
            None => Err(StartupError::Invalid("--work_dir needed for replicated log based registry".into())),
        },
        other => Err(StartupError::Invalid(format!("'{other}' is not a supported option for registry persistence"))),
    }
}

/// The opened registry storage, and the lock that keeps it ours.
struct OpenedStorage {
    storage: Arc<dyn Storage>,
    _lock: Option<File>,
}

/// Creates `--work_dir`, takes its lock, and opens the registry directory (C++ creates the
/// work directory in `main` before the log opens its replica).
fn open_storage(registry: &RegistryStorage) -> Result<OpenedStorage, StartupError> {
    let RegistryStorage::Directory { work_dir } = registry else {
        return Ok(OpenedStorage { storage: Arc::new(InMemoryStorage::new()), _lock: None });
    };
    std::fs::create_dir_all(work_dir).map_err(|source| StartupError::WorkDir { path: work_dir.clone(), source })?;
    let lock = lock_file(&work_dir.join(REGISTRY_LOCK))?;
    let storage = DirectoryStorage::open(work_dir.join(REGISTRY_DIRECTORY))?;
    Ok(OpenedStorage { storage: Arc::new(storage), _lock: Some(lock) })
}

/// Opens `path` and takes an exclusive advisory lock on it without waiting; the lock lasts
/// as long as the returned file is open (the OS releases it if the program dies).
fn lock_file(path: &Path) -> Result<File, StartupError> {
    use std::os::fd::AsRawFd;
    let failed = |source| StartupError::Lock { path: path.to_path_buf(), source };
    let file = OpenOptions::new().create(true).truncate(false).write(true).open(path).map_err(failed)?;
    // SAFETY: the descriptor belongs to `file`, which is open for the duration of the call.
    let rc = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
    if rc != 0 {
        return Err(failed(std::io::Error::last_os_error()));
    }
    Ok(file)
}

/// The hostname `--hostname_lookup` asks for: the name of `ip` by reverse lookup (stout
/// `net::getHostname`, which yields the address's text when there is no name), or `None`
/// when `--hostname` is given or the lookup is off (the IP is used then).
fn looked_up_hostname(flags: &MasterFlags, ip: Ipv4Addr) -> Result<Option<String>, StartupError> {
    if flags.hostname.is_some() || !flags.hostname_lookup {
        return Ok(None);
    }
    reverse_lookup(ip).map(Some).map_err(StartupError::Hostname)
}

/// Spawns the allocator, the registrar over `storage` and the master (C++ `main.cpp` from
/// the allocator's creation to `spawn(master)`); `hostname` is the looked-up name, if any.
/// Shared by `mesos-master` and the local cluster.
pub fn spawn_master(
    lp: &Libprocess,
    flags: &MasterFlags,
    storage: Arc<dyn Storage>,
    hostname: Option<String>,
) -> Result<crate::master::MasterHandle, StartupError> {
    let allocator = Allocator::create(lp)?;
    tracing::info!("Using '{}' allocator", flags.allocator);
    let registrar = Registrar::new(lp, flags.registrar_flags(), State::new(storage))?;
    let mut info = master_info(lp.address(), flags);
    if let Some(hostname) = hostname {
        info.hostname = Some(hostname.clone());
        if let Some(address) = info.address.as_mut() {
            address.hostname = Some(hostname);
        }
    }
    let id = info.id.clone();
    let shown_hostname = info.hostname.clone().unwrap_or_default();
    let master = Master::spawn(lp, Master::new(flags.clone(), allocator, registrar, info))?;
    tracing::info!("Master {id} ({shown_hostname}) started on {}", lp.address());
    Ok(master)
}

/// How a run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// Stopped by this signal (SIGTERM or SIGINT).
    Signal(i32),
    /// The master process ended by itself (it does so only on a fatal error).
    MasterTerminated,
}

/// Runs a master until a signal arrives or the master ends; logging is already up. Call it
/// inside a tokio runtime.
pub async fn run(startup: Startup) -> Result<Exit, StartupError> {
    use tokio::signal::unix::{signal, SignalKind};

    let Startup { flags, warnings, config, registry, rust_log: _ } = startup;
    for warning in &warnings {
        tracing::warn!("{}", warning.message);
    }
    tracing::info!("Build: mesos-rs {}", env!("CARGO_PKG_VERSION"));
    tracing::info!("Version: {MESOS_VERSION}");

    // Installed before anything listens, so no signal finds the default action meanwhile.
    let mut terminate = signal(SignalKind::terminate()).map_err(StartupError::Signals)?;
    let mut interrupt = signal(SignalKind::interrupt()).map_err(StartupError::Signals)?;

    let lp = Libprocess::initialize(config).await?;
    // Held (with its lock) until libprocess is down, so no registry write outlives the lock.
    let mut storage = None;
    let result = start_and_wait(&lp, &flags, &registry, &mut storage, &mut terminate, &mut interrupt).await;
    if tokio::time::timeout(SHUTDOWN_GRACE, lp.shutdown()).await.is_err() {
        tracing::warn!("libprocess did not shut down within {SHUTDOWN_GRACE:?}; exiting anyway");
    }
    drop(storage);
    result
}

async fn start_and_wait(
    lp: &Libprocess,
    flags: &Flags<MasterFlags>,
    registry: &RegistryStorage,
    storage: &mut Option<OpenedStorage>,
    terminate: &mut tokio::signal::unix::Signal,
    interrupt: &mut tokio::signal::unix::Signal,
) -> Result<Exit, StartupError> {
    let opened = storage.insert(open_storage(registry)?);
    tracing::info!("Keeping the registry {registry}");
    let storage = opened.storage.clone();

    let ip = *lp.address().ip();
    let flags_for_lookup = (**flags).clone();
    let hostname = tokio::task::spawn_blocking(move || looked_up_hostname(&flags_for_lookup, ip))
        .await
        .map_err(|error| StartupError::Hostname(error.to_string()))??;
    let master = spawn_master(lp, flags, storage, hostname)?;
    // As C++ `process::initialize(..., "master")` and the `VersionProcess` main.cpp spawns:
    // `/state` reaches `/master/state`, `/version` is served.
    lp.set_delegate(Some(crate::master::PROCESS_ID));
    mesos::version::VersionProcess::spawn(lp)?;
    // `/files/*`, as C++ `main.cpp` starts it (nothing is attached: no `--log_dir` yet).
    let files = mesos::files::Files::spawn(lp)?;
    master.set_files(files);
    tracing::info!("Flags at startup: {flags}");
    if lp.address().ip().is_loopback() {
        tracing::warn!(
            "Master bound to loopback interface! Cannot communicate with remote schedulers or agents. You might \
             want to set '--ip' flag to a routable IP address."
        );
    }

    let ended = lp.wait(master.pid().upid());
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
            tracing::error!("The master process terminated");
            Exit::MasterTerminated
        }
    };
    Ok(exit)
}

/// The whole program: returns the exit code, or does not return when it ends by a signal.
pub fn main(argv: Vec<std::ffi::OsString>, environment: Vec<(std::ffi::OsString, std::ffi::OsString)>) -> i32 {
    match main_inner(argv, environment) {
        Ok(Some(exit)) => match exit {
            Exit::Signal(signal) => die_of(signal),
            Exit::MasterTerminated => 1,
        },
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

    let mut runtime = tokio::runtime::Builder::new_multi_thread();
    if let Some(threads) = startup.config.num_worker_threads {
        runtime.worker_threads(threads);
    }
    let runtime = runtime.enable_all().build().map_err(StartupError::Runtime)?;
    let exit = runtime.block_on(run(*startup));
    // Blocking-pool work (a registry write) is finished or abandoned here, not waited for
    // forever.
    runtime.shutdown_timeout(SHUTDOWN_GRACE);
    exit.map(Some)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Vec<String> {
        std::iter::once(PROGRAM).chain(list.iter().copied()).map(String::from).collect()
    }

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs.iter().map(|(name, value)| (name.to_string(), value.to_string())).collect()
    }

    fn startup(list: &[&str], pairs: &[(&str, &str)]) -> Startup {
        match parse(&args(list), &env(pairs)) {
            Ok(Command::Run(startup)) => *startup,
            Ok(_) => panic!("not a run"),
            Err(error) => panic!("refused: {error}"),
        }
    }

    fn refusal(list: &[&str], pairs: &[(&str, &str)]) -> String {
        match parse(&args(list), &env(pairs)) {
            Err(error) => error.to_string(),
            Ok(_) => panic!("accepted {list:?}"),
        }
    }

    #[test]
    fn help_and_version_answer_even_with_bad_flags() {
        let Ok(Command::Help(usage)) = parse(&args(&["--help", "--nonsense"]), &[]) else { panic!("no help") };
        assert!(usage.starts_with("Usage: mesos-master [options]\n\n"), "{usage}");
        assert!(usage.contains("  --port=VALUE"));
        assert!(usage.contains("  --[no-]hostname_lookup"));
        let Ok(Command::Version(version)) = parse(&args(&["--version"]), &[]) else { panic!("no version") };
        assert_eq!(version, format!("mesos {MESOS_VERSION}"));
    }

    #[test]
    fn defaults_listen_on_5050_everywhere_with_the_durable_registry_under_work_dir() {
        let run = startup(&["--work_dir=/var/lib/mesos"], &[]);
        assert_eq!(run.config.ip, None);
        assert_eq!(run.config.port, 5050);
        assert_eq!(run.config.advertise_ip, None);
        assert_eq!(run.config.advertise_port, None);
        let work_dir = PathBuf::from("/var/lib/mesos");
        assert_eq!(run.registry, RegistryStorage::Directory { work_dir: work_dir.clone() });
        assert_eq!(run.registry.directory(), Some(work_dir.join("registry")));
        assert_eq!(run.rust_log, None);
    }

    #[test]
    fn address_flags_become_the_libprocess_config() {
        let run = startup(
            &["--registry=in_memory", "--ip=127.0.0.1", "--port=0", "--advertise_ip=10.0.0.7", "--advertise_port=6060"],
            &[],
        );
        assert_eq!(run.config.ip, Some(Ipv4Addr::LOCALHOST));
        assert_eq!(run.config.port, 0);
        assert_eq!(run.config.advertise_ip, Some(Ipv4Addr::new(10, 0, 0, 7)));
        assert_eq!(run.config.advertise_port, Some(6060));
        assert_eq!(run.registry, RegistryStorage::InMemory);
    }

    #[test]
    fn mesos_variables_set_flags_and_the_command_line_wins() {
        let vars = [("MESOS_REGISTRY", "in_memory"), ("MESOS_PORT", "6000"), ("MESOS_IP", "127.0.0.2")];
        let run = startup(&[], &vars);
        assert_eq!(run.config.port, 6000);
        assert_eq!(run.config.ip, Some(Ipv4Addr::new(127, 0, 0, 2)));
        let run = startup(&["--port=7000"], &vars);
        assert_eq!(run.config.port, 7000);
    }

    #[test]
    fn flags_override_libprocess_variables_as_main_cpp_does() {
        let vars = [
            ("LIBPROCESS_IP", "127.0.0.3"),
            ("LIBPROCESS_PORT", "9999"),
            ("LIBPROCESS_ADVERTISE_IP", "10.9.9.9"),
            ("LIBPROCESS_ADVERTISE_PORT", "9998"),
            ("LIBPROCESS_REQUIRE_PEER_ADDRESS_IP_MATCH", "true"),
        ];
        // Without the flags, the variables apply, except the port: `--port` has a default.
        let run = startup(&["--registry=in_memory"], &vars);
        assert_eq!(run.config.ip, Some(Ipv4Addr::new(127, 0, 0, 3)));
        assert_eq!(run.config.port, 5050);
        assert_eq!(run.config.advertise_ip, Some(Ipv4Addr::new(10, 9, 9, 9)));
        assert_eq!(run.config.advertise_port, Some(9998));
        assert!(run.config.require_peer_address_ip_match);
        let run = startup(
            &["--registry=in_memory", "--ip=127.0.0.4", "--advertise_ip=10.1.1.1", "--advertise_port=7070"],
            &vars,
        );
        assert_eq!(run.config.ip, Some(Ipv4Addr::new(127, 0, 0, 4)));
        assert_eq!(run.config.advertise_ip, Some(Ipv4Addr::new(10, 1, 1, 1)));
        assert_eq!(run.config.advertise_port, Some(7070));
        // A bad variable that a flag replaces is never read.
        let run = startup(&["--registry=in_memory", "--ip=127.0.0.1"], &[("LIBPROCESS_IP", "nonsense")]);
        assert_eq!(run.config.ip, Some(Ipv4Addr::LOCALHOST));
        let error = refusal(&["--registry=in_memory"], &[("LIBPROCESS_IP", "nonsense")]);
        assert!(error.contains("LIBPROCESS_IP"), "{error}");
    }

    #[test]
    fn rust_log_is_taken_from_the_environment() {
        let run = startup(&["--registry=in_memory"], &[("RUST_LOG", "master=debug")]);
        assert_eq!(run.rust_log.as_deref(), Some("master=debug"));
    }

    #[test]
    fn bad_and_unsupported_flags_are_refused_with_a_pointer_to_help() {
        let error = refusal(&["--registry=in_memory", "--no_such_flag=1"], &[]);
        assert_eq!(
            error,
            "Failed to load unknown flag 'no_such_flag'\n\nSee `mesos-master --help` for a list of supported flags."
        );
        for (flag, name) in [
            ("--ip_discovery_command=hostname -i", "ip_discovery_command"),
            ("--log_dir=/var/log/mesos", "log_dir"),
            ("--zk=zk://127.0.0.1:2181/mesos", "zk"),
            ("--authenticate_agents", "authenticate_agents"),
        ] {
            let error = refusal(&["--registry=in_memory", "--quorum=1", flag], &[]);
            assert!(error.starts_with(&format!("Flag '--{name}' is not supported yet by this master")), "{error}");
        }
        let error = refusal(&["--registry=in_memory", "--port=http"], &[]);
        assert!(error.starts_with("Failed to load flag 'port'"), "{error}");
    }

    #[test]
    fn start_up_checks_are_refused_with_their_message_only() {
        assert_eq!(refusal(&[], &[]), "--work_dir needed for replicated log based registry");
        assert_eq!(
            refusal(&["--registry=leveldb"], &[]),
            "'leveldb' is not a supported option for registry persistence"
        );
        assert!(refusal(&["--registry=in_memory", "--logging_level=DEBUG"], &[]).contains("not a valid logging level"));
        assert_eq!(
            refusal(&["--registry=in_memory", "--ip=::1"], &[]),
            "Invalid value '::1' for --ip: IPv6 is not supported yet"
        );
        assert_eq!(
            refusal(&["--registry=in_memory", "--advertise_port=0"], &[]),
            "Invalid value '0' for --advertise_port: must be a port between 1 and 65535"
        );
        assert!(refusal(&["--registry=in_memory", "--ip=somewhere"], &[]).contains("not an IP address"));
    }

    #[test]
    fn the_hostname_is_looked_up_only_when_asked() {
        let flags = |list: &[&str]| (*startup(list, &[]).flags).clone();
        let given = flags(&["--registry=in_memory", "--hostname=master.example"]);
        assert_eq!(looked_up_hostname(&given, Ipv4Addr::LOCALHOST).unwrap(), None);
        let off = flags(&["--registry=in_memory", "--no-hostname_lookup"]);
        assert_eq!(looked_up_hostname(&off, Ipv4Addr::LOCALHOST).unwrap(), None);
        let on = flags(&["--registry=in_memory"]);
        let name = looked_up_hostname(&on, Ipv4Addr::LOCALHOST).unwrap().expect("a name");
        assert!(!name.is_empty());
    }

    #[test]
    fn a_second_lock_on_one_work_dir_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let registry = RegistryStorage::Directory { work_dir: dir.path().join("work") };
        let first = open_storage(&registry).expect("first opens");
        let error = open_storage(&registry).err().expect("second refused").to_string();
        assert!(error.contains("is another master using this --work_dir?"), "{error}");
        drop(first);
        open_storage(&registry).expect("free again");
        assert!(dir.path().join("work").join(REGISTRY_DIRECTORY).is_dir());
    }
}
