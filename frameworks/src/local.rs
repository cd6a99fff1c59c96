//! A whole cluster inside one process: a master with an in-memory registry and `--num_slaves` agents, each in its own directory under a work directory, all in one libprocess instance; mirrors `src/local/local.{hpp,cpp}` and `src/local/flags.hpp`.
//!
//! As in C++, the master's flags and each agent's flags are read from the `MESOS_*`
//! variables, except the directories: the master works in `<work_dir>/master`, agent `i` in
//! `<work_dir>/agents/<i>/work`. The registry is always in
//! memory (C++ honours `--registry=replicated_log` here too; a local cluster is for trying
//! things out). Without `--work_dir` a fresh temporary directory is used and removed at
//! [`LocalCluster::shutdown`] (C++ defaults to `/tmp/mesos/work` and keeps it).
//!
//! Executors: an agent runs `mesos-executor` (and `mesos-default-executor` for task groups)
//! from its `--launcher_dir`. Unless `MESOS_LAUNCHER_DIR` is set, the local cluster's
//! launcher directory holds `mesos-executor` and `mesos-default-executor` links to the
//! running program, which therefore must call [`run_helper_program`] first thing in `main`
//! (every program of this crate does): the link's name makes it start as that executor. So `cargo run --bin test-framework --
//! --master=local` needs no other binary to be built.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use libprocess::{Libprocess, UPID};
use master::flags::MasterFlags;
use mesos::detector::{create_master_info, StandaloneMasterDetector};
use mesos::flags::{Flags, LoadOptions};
use mesos::state::InMemoryStorage;
use parking_lot::Mutex;
use slave::flags::SlaveFlags;
use slave::resources::Machine;

/// The name the agent runs the command executor under (its `--launcher_dir` entry).
pub const MESOS_EXECUTOR: &str = "mesos-executor";

/// The name the agent runs the default executor of task groups under.
pub const MESOS_DEFAULT_EXECUTOR: &str = "mesos-default-executor";

/// The local cluster's own flags (C++ `local::Flags`); the master's and the agents' come
/// from the environment.
#[derive(Clone, Debug, Default)]
pub struct LocalFlags {
    /// `--work_dir`: the root of the master's and agents' directories.
    pub work_dir: Option<String>,
    /// `--num_slaves`: how many agents to start.
    pub num_slaves: i32,
}

impl LocalFlags {
    /// The declarations, with C++'s names and defaults (`work_dir` has none here: a fresh
    /// temporary directory).
    pub fn declare() -> Flags<LocalFlags> {
        let mut f = Flags::new(LocalFlags::default());
        crate::declare_local_flags!(&mut f);
        f
    }
}

/// Declares `--work_dir` and `--num_slaves` on `$flags`, a `Flags<T>` whose `T` has the
/// fields of [`LocalFlags`] (`mesos-local` adds its own flags to these).
#[macro_export]
macro_rules! declare_local_flags {
    ($flags:expr) => {{
        let f = $flags;
        f.add_optional(
            mesos::field!(work_dir),
            "work_dir",
            "Root of the cluster's directories: `master` for the master, `agents/<i>/work` for \
             agent i. Unset: a new temporary directory, removed when the cluster stops.",
        );
        f.add(mesos::field!(num_slaves), "num_slaves", "Number of agents to launch for local cluster").default(1);
    }};
}

/// Why a local cluster did not start.
#[derive(Debug, thiserror::Error)]
pub enum LocalError {
    #[error("Can only launch one local cluster at a time")]
    AlreadyRunning,
    #[error("Failed to load the local cluster's flags: {0}")]
    Flags(String),
    #[error("Failed to start a local cluster while loading master flags from the environment: {0}")]
    MasterFlags(String),
    #[error("Failed to start a local cluster while loading agent flags from the environment: {0}")]
    AgentFlags(String),
    #[error("Failed to create the directory '{}': {source}", path.display())]
    Directory { path: PathBuf, source: std::io::Error },
    #[error("Failed to start the master: {0}")]
    Master(String),
    #[error("Failed to start agent {index}: {message}")]
    Agent { index: i32, message: String },
}

/// A running local cluster.
pub struct LocalCluster {
    lp: Libprocess,
    /// The master's pid.
    pub master: UPID,
    /// The agents' pids, `slave(1)` first.
    pub agents: Vec<UPID>,
    /// The root of the cluster's directories.
    pub work_dir: PathBuf,
    /// Set when `work_dir` is temporary: removed when dropped.
    temporary: Option<tempfile::TempDir>,
}

impl LocalCluster {
    /// Starts the cluster in `lp` (C++ `local::launch`): the local flags and the master's
    /// and agents' flags from the `MESOS_*` variables of `environment`. Returns once every
    /// actor is spawned; the agents then register by themselves.
    pub fn launch(lp: &Libprocess, environment: &BTreeMap<String, String>) -> Result<LocalCluster, LocalError> {
        let mut local = LocalFlags::declare();
        let options = LoadOptions {
            prefix: Some("MESOS_".to_string()),
            environment: Some(environment.iter().map(|(k, v)| (k.clone(), v.clone())).collect()),
            ..LoadOptions::default()
        };
        local
            .load_values(std::iter::empty::<(String, Option<String>)>(), &options)
            .map_err(|e| LocalError::Flags(e.to_string()))?;
        Self::launch_with(lp, &local, environment)
    }

    /// As [`LocalCluster::launch`], with the local flags given.
    pub fn launch_with(
        lp: &Libprocess,
        local: &LocalFlags,
        environment: &BTreeMap<String, String>,
    ) -> Result<LocalCluster, LocalError> {
        // The containerizers start their reapers on the instance's runtime, whichever
        // thread asks for the cluster.
        let _runtime = lp.runtime().enter();
        let variables: Vec<(String, String)> = environment
            .iter()
            .filter(|(name, _)| name.starts_with("MESOS_"))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        let (work_dir, temporary) = match &local.work_dir {
            Some(dir) => (PathBuf::from(dir), None),
            None => {
                let temporary = tempfile::Builder::new()
                    .prefix("mesos-local-")
                    .tempdir()
                    .map_err(|source| LocalError::Directory { path: std::env::temp_dir(), source })?;
                (temporary.path().to_path_buf(), Some(temporary))
            }
        };

        let master_dir = work_dir.join("master");
        create_dir(&master_dir)?;
        let argv = [
            "mesos-local".to_string(),
            format!("--work_dir={}", master_dir.display()),
            "--registry=in_memory".to_string(),
        ];
        let master_flags = MasterFlags::load(&argv, Some(variables.clone()))
            .map_err(|e| LocalError::MasterFlags(e.to_string()))?
            .flags;
        let master = master::main_support::spawn_master(lp, &master_flags, Arc::new(InMemoryStorage::new()), None)
            .map_err(|e| LocalError::Master(e.to_string()))?;
        let master_pid = master.pid().upid().clone();
        // C++ `process::initialize("master")`: `/state` reaches `/master/state`.
        lp.set_delegate(Some(master::master::PROCESS_ID));
        if !lp.is_running(mesos::version::VERSION_PROCESS_ID) {
            let _ = mesos::version::VersionProcess::spawn(lp);
        }
        let files = mesos::files::Files::spawn(lp).map_err(|e| LocalError::Master(e.to_string()))?;

        let launcher_dir = match environment.get("MESOS_LAUNCHER_DIR") {
            Some(dir) => PathBuf::from(dir),
            None => link_launcher_dir(&work_dir.join("libexec"))?,
        };
        let mut agents = Vec::new();
        let mut cluster =
            LocalCluster { lp: lp.clone(), master: master_pid.clone(), agents: Vec::new(), work_dir, temporary };
        for index in 0..local.num_slaves {
            let root = cluster.work_dir.join("agents").join(index.to_string());
            // C++ also sets `--runtime_dir` and `--fetcher_cache_dir` to `run` and `fetch`
            // beside it; this agent keeps no runtime directory and its fetcher no cache.
            let work = root.join("work");
            create_dir(&work)?;
            let argv = [
                "mesos-local".to_string(),
                format!("--work_dir={}", work.display()),
                format!("--launcher_dir={}", launcher_dir.display()),
                format!("--master={}", master_pid.address()),
            ];
            let agent_error = |message: String| LocalError::Agent { index, message };
            let flags = match SlaveFlags::load(&argv, Some(variables.clone())) {
                Ok(loaded) => loaded.flags,
                Err(error) => {
                    cluster.shutdown();
                    return Err(LocalError::AgentFlags(error.to_string()));
                }
            };
            let info = slave::main_support::slave_info(&flags, lp.address(), &Machine::detect(&work))
                .map_err(|e| agent_error(e.to_string()));
            let detector = Arc::new(StandaloneMasterDetector::new(Some(create_master_info(&master_pid))));
            let spawned = info.and_then(|info| {
                slave::main_support::spawn_agent(lp, &flags, info, detector, files.clone())
                    .map_err(|e| agent_error(e.to_string()))
            });
            match spawned {
                Ok(agent) => agents.push(agent.pid.upid().clone()),
                Err(error) => {
                    cluster.agents = agents;
                    cluster.shutdown();
                    return Err(error);
                }
            }
        }
        cluster.agents = agents;
        tracing::info!(
            "Local cluster started: master {} and {} agent(s) in '{}'",
            cluster.master,
            cluster.agents.len(),
            cluster.work_dir.display()
        );
        Ok(cluster)
    }

    /// Stops the agents, then the master (C++ `local::shutdown`); a temporary work
    /// directory is removed. The agents tell the executors of frameworks that do not
    /// checkpoint to shut down.
    pub fn shutdown(self) {
        for agent in &self.agents {
            self.lp.terminate(agent, false);
        }
        self.lp.terminate(&self.master, false);
        drop(self.temporary);
    }

    /// Waits until the master ends (it only does on a fatal error or a shutdown).
    pub async fn wait(&self) {
        let _ = self.lp.wait(&self.master).await;
    }
}

fn create_dir(path: &Path) -> Result<(), LocalError> {
    std::fs::create_dir_all(path).map_err(|source| LocalError::Directory { path: path.to_path_buf(), source })
}

/// Makes `dir/mesos-executor` and `dir/mesos-default-executor` links to the running
/// program.
fn link_launcher_dir(dir: &Path) -> Result<PathBuf, LocalError> {
    create_dir(dir)?;
    let program =
        std::env::current_exe().map_err(|source| LocalError::Directory { path: dir.to_path_buf(), source })?;
    for name in [MESOS_EXECUTOR, MESOS_DEFAULT_EXECUTOR] {
        let link = dir.join(name);
        let _ = std::fs::remove_file(&link);
        std::os::unix::fs::symlink(&program, &link).map_err(|source| LocalError::Directory { path: link, source })?;
    }
    Ok(dir.to_path_buf())
}

/// If this program was started under the name of a helper program (the `mesos-executor`
/// or `mesos-default-executor` link of a local cluster, or `test-executor`), runs that
/// program and returns its exit code. Call it first thing in `main`.
pub fn run_helper_program() -> Option<i32> {
    let program = std::env::args_os().next()?;
    let name = Path::new(&program).file_name()?.to_string_lossy().into_owned();
    let arguments = || std::env::args().skip(1).collect::<Vec<String>>();
    match name.as_str() {
        MESOS_EXECUTOR => Some(slave::launcher::executor::main(arguments(), std::env::vars().collect())),
        MESOS_DEFAULT_EXECUTOR => {
            Some(slave::launcher::default_executor::main(arguments(), std::env::vars().collect()))
        }
        crate::test_framework::EXECUTOR_BINARY => Some(crate::test_framework::executor_main()),
        crate::test_http_framework::EXECUTOR_BINARY => Some(crate::test_http_framework::executor_main()),
        _ => None,
    }
}

/// The cluster a driver with `master = "local"` started.
static DRIVER_CLUSTER: Mutex<Option<LocalCluster>> = Mutex::new(None);

/// Lets scheduler drivers given `master = "local"` start a local cluster in their
/// instance (C++ links `local::launch` into every scheduler).
pub fn install() {
    mesos::local::set_launcher(mesos::local::Launcher { launch: launch_for_driver, shutdown: shutdown_for_driver });
}

fn launch_for_driver(lp: &Libprocess, environment: &BTreeMap<String, String>) -> Result<UPID, String> {
    let mut running = DRIVER_CLUSTER.lock();
    if running.is_some() {
        return Err(LocalError::AlreadyRunning.to_string());
    }
    let cluster = LocalCluster::launch(lp, environment).map_err(|e| e.to_string())?;
    let master = cluster.master.clone();
    *running = Some(cluster);
    Ok(master)
}

fn shutdown_for_driver(_lp: &Libprocess) {
    if let Some(cluster) = DRIVER_CLUSTER.lock().take() {
        cluster.shutdown();
    }
}
