//! The seam through which a scheduler driver given `master = "local"` starts a cluster inside its own process; mirrors the interface of `src/local/local.hpp` (`local::launch`), whose implementation lives in the `mesos-frameworks` crate because it needs the master and the agent.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use libprocess::{Libprocess, UPID};

/// A local cluster implementation (C++ `local::launch` and `local::shutdown`).
#[derive(Clone, Copy, Debug)]
pub struct Launcher {
    /// Starts a master and its agents in `lp`, configured from `environment` (the `MESOS_*`
    /// variables of the driver's environment), and returns the master's pid. The agents
    /// may still be starting when it returns; they register by themselves.
    pub launch: fn(lp: &Libprocess, environment: &BTreeMap<String, String>) -> Result<UPID, String>,
    /// Stops the cluster `launch` started in `lp`, if any.
    pub shutdown: fn(lp: &Libprocess),
}

static LAUNCHER: OnceLock<Launcher> = OnceLock::new();

/// Installs the local-cluster launcher; the first one installed stays. Returns whether this
/// one was installed.
pub fn set_launcher(launcher: Launcher) -> bool {
    LAUNCHER.set(launcher).is_ok()
}

/// Launches the local cluster, if a launcher is installed (C++ `local::launch`).
pub fn launch(lp: &Libprocess, environment: &BTreeMap<String, String>) -> Result<UPID, String> {
    match LAUNCHER.get() {
        Some(launcher) => (launcher.launch)(lp, environment),
        None => Err("no local cluster is linked into this program: call \
                     `frameworks::local::install()` before starting a driver with master 'local'"
            .to_string()),
    }
}

/// Stops the local cluster of `lp` (C++ `local::shutdown`).
pub fn shutdown(lp: &Libprocess) {
    if let Some(launcher) = LAUNCHER.get() {
        (launcher.shutdown)(lp);
    }
}
