//! What the v0 executor driver reads from the environment the agent gives its executor (`MESOS_SLAVE_PID`, ids, sandbox, checkpointing, timeouts); mirrors `MesosExecutorDriver::start` in `src/exec/exec.cpp` and the two defaults it takes from `src/slave/constants.hpp`.
//!
//! The agent writes these variables in `Slave::executorEnvironment`. The driver reads only the
//! ones below; `MESOS_AGENT_ENDPOINT`, `MESOS_HTTP_COMMAND_EXECUTOR` and
//! `MESOS_SUBSCRIPTION_BACKOFF_MAX` are for HTTP executors and are ignored here, as C++ ignores
//! them.

use std::collections::BTreeMap;
use std::time::Duration;

use libprocess::UPID;

use crate::proto::{ExecutorId, FrameworkId, SlaveId};

/// How long an executor has between `ShutdownExecutorMessage` (or losing a non-checkpointing
/// agent) and its process group being killed, when `MESOS_EXECUTOR_SHUTDOWN_GRACE_PERIOD` is
/// unset (C++ `DEFAULT_EXECUTOR_SHUTDOWN_GRACE_PERIOD`, `src/slave/constants.hpp`). Agents
/// before 0.28.0 did not export the variable.
pub const DEFAULT_EXECUTOR_SHUTDOWN_GRACE_PERIOD: Duration = Duration::from_secs(5);

/// How long a checkpointing executor waits for its agent to come back, when
/// `MESOS_RECOVERY_TIMEOUT` is unset (C++ `RECOVERY_TIMEOUT`, `src/slave/constants.hpp`; the
/// agent's `--recovery_timeout` default).
pub const RECOVERY_TIMEOUT: Duration = Duration::from_secs(15 * 60);

/// The agent's UPID (`slave(1)@ip:port`). Required.
pub const MESOS_SLAVE_PID: &str = "MESOS_SLAVE_PID";
/// The agent's id. Required.
pub const MESOS_SLAVE_ID: &str = "MESOS_SLAVE_ID";
/// The framework's id. Required.
pub const MESOS_FRAMEWORK_ID: &str = "MESOS_FRAMEWORK_ID";
/// This executor's id. Required.
pub const MESOS_EXECUTOR_ID: &str = "MESOS_EXECUTOR_ID";
/// The sandbox directory on the host. Required, though the driver does nothing with it.
pub const MESOS_DIRECTORY: &str = "MESOS_DIRECTORY";
/// Present (whatever its value) when the executor runs inside the agent's OS process, as the
/// C++ tests' `TestContainerizer` runs it: shutting down then ends only the driver's process
/// instead of killing the process group.
pub const MESOS_LOCAL: &str = "MESOS_LOCAL";
/// `1` when the framework checkpoints; any other value or none means it does not.
pub const MESOS_CHECKPOINT: &str = "MESOS_CHECKPOINT";
/// Duration text (`15mins`); read only when checkpointing.
pub const MESOS_RECOVERY_TIMEOUT: &str = "MESOS_RECOVERY_TIMEOUT";
/// Duration text (`5secs`); optional.
pub const MESOS_EXECUTOR_SHUTDOWN_GRACE_PERIOD: &str = "MESOS_EXECUTOR_SHUTDOWN_GRACE_PERIOD";

/// Why the environment cannot start a driver. The texts are C++'s, which it prints before
/// exiting the OS process with status 1.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum EnvironmentError {
    /// A required variable is absent.
    #[error("Expecting '{0}' to be set in the environment")]
    Missing(&'static str),
    /// `MESOS_SLAVE_PID` is not a valid UPID (C++ fails a `CHECK` here).
    #[error("Cannot parse MESOS_SLAVE_PID '{0}'")]
    SlavePid(String),
    /// A duration variable does not parse.
    #[error("Failed to parse value '{value}' of '{name}': {reason}")]
    Duration { name: &'static str, value: String, reason: String },
}

/// The driver's configuration, as read from the environment.
#[derive(Clone, Debug, PartialEq)]
pub struct ExecutorEnvironment {
    /// `MESOS_LOCAL` is set.
    pub local: bool,
    pub slave: UPID,
    pub slave_id: SlaveId,
    pub framework_id: FrameworkId,
    pub executor_id: ExecutorId,
    pub directory: String,
    pub checkpoint: bool,
    /// [`RECOVERY_TIMEOUT`] unless checkpointing and `MESOS_RECOVERY_TIMEOUT` is set.
    pub recovery_timeout: Duration,
    pub shutdown_grace_period: Duration,
}

impl ExecutorEnvironment {
    /// Reads the variables in the order C++ does, so the first problem reported is the one
    /// C++ would report.
    pub fn from_map(env: &BTreeMap<String, String>) -> Result<ExecutorEnvironment, EnvironmentError> {
        let required = |name: &'static str| env.get(name).ok_or(EnvironmentError::Missing(name));

        let local = env.contains_key(MESOS_LOCAL);

        let pid = required(MESOS_SLAVE_PID)?;
        let slave = match pid.parse::<UPID>() {
            Ok(slave) if slave.is_valid() => slave,
            _ => return Err(EnvironmentError::SlavePid(pid.clone())),
        };
        let slave_id = SlaveId { value: required(MESOS_SLAVE_ID)?.clone() };
        let framework_id = FrameworkId { value: required(MESOS_FRAMEWORK_ID)?.clone() };
        let executor_id = ExecutorId { value: required(MESOS_EXECUTOR_ID)?.clone() };
        let directory = required(MESOS_DIRECTORY)?.clone();

        let duration = |name: &'static str, default: Duration| match env.get(name) {
            None => Ok(default),
            Some(value) => libprocess::duration::parse(value).map_err(|reason| EnvironmentError::Duration {
                name,
                value: value.clone(),
                reason,
            }),
        };
        let shutdown_grace_period =
            duration(MESOS_EXECUTOR_SHUTDOWN_GRACE_PERIOD, DEFAULT_EXECUTOR_SHUTDOWN_GRACE_PERIOD)?;
        let checkpoint = env.get(MESOS_CHECKPOINT).is_some_and(|value| value == "1");
        let recovery_timeout =
            if checkpoint { duration(MESOS_RECOVERY_TIMEOUT, RECOVERY_TIMEOUT)? } else { RECOVERY_TIMEOUT };

        Ok(ExecutorEnvironment {
            local,
            slave,
            slave_id,
            framework_id,
            executor_id,
            directory,
            checkpoint,
            recovery_timeout,
            shutdown_grace_period,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    const BASE: [(&str, &str); 5] = [
        (MESOS_SLAVE_PID, "slave(1)@127.0.0.1:5051"),
        (MESOS_SLAVE_ID, "S0"),
        (MESOS_FRAMEWORK_ID, "F0"),
        (MESOS_EXECUTOR_ID, "E0"),
        (MESOS_DIRECTORY, "/tmp/sandbox"),
    ];

    #[test]
    fn defaults_pinned() {
        assert_eq!(DEFAULT_EXECUTOR_SHUTDOWN_GRACE_PERIOD, Duration::from_secs(5));
        assert_eq!(RECOVERY_TIMEOUT, Duration::from_secs(900));
        let parsed = ExecutorEnvironment::from_map(&env(&BASE)).unwrap();
        assert!(!parsed.local && !parsed.checkpoint);
        assert_eq!(parsed.slave.to_string(), "slave(1)@127.0.0.1:5051");
        assert_eq!(parsed.shutdown_grace_period, DEFAULT_EXECUTOR_SHUTDOWN_GRACE_PERIOD);
        assert_eq!(parsed.recovery_timeout, RECOVERY_TIMEOUT);
    }

    #[test]
    fn recovery_timeout_only_read_when_checkpointing() {
        let mut vars = env(&BASE);
        vars.insert(MESOS_RECOVERY_TIMEOUT.into(), "bogus".into());
        assert_eq!(ExecutorEnvironment::from_map(&vars).unwrap().recovery_timeout, RECOVERY_TIMEOUT);
        vars.insert(MESOS_CHECKPOINT.into(), "true".into());
        assert!(!ExecutorEnvironment::from_map(&vars).unwrap().checkpoint, "only \"1\" turns checkpointing on");
        vars.insert(MESOS_CHECKPOINT.into(), "1".into());
        assert!(matches!(
            ExecutorEnvironment::from_map(&vars),
            Err(EnvironmentError::Duration { name: MESOS_RECOVERY_TIMEOUT, .. })
        ));
        vars.insert(MESOS_RECOVERY_TIMEOUT.into(), "2mins".into());
        assert_eq!(ExecutorEnvironment::from_map(&vars).unwrap().recovery_timeout, Duration::from_secs(120));
    }

    #[test]
    fn local_is_presence() {
        let mut vars = env(&BASE);
        vars.insert(MESOS_LOCAL.into(), String::new());
        assert!(ExecutorEnvironment::from_map(&vars).unwrap().local);
    }

    #[test]
    fn invalid_slave_pids_are_refused() {
        for bad in ["", "slave(1)", "@127.0.0.1:5051", "slave(1)@0.0.0.0:5051", "slave(1)@127.0.0.1:0"] {
            let mut vars = env(&BASE);
            vars.insert(MESOS_SLAVE_PID.into(), bad.into());
            assert_eq!(
                ExecutorEnvironment::from_map(&vars),
                Err(EnvironmentError::SlavePid(bad.into())),
                "{bad:?} is accepted"
            );
        }
    }
}
