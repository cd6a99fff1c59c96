//! The agent's constants: timeouts, backoffs, resource defaults and names, with C++'s names; mirrors `src/slave/constants.hpp` and `src/slave/constants.cpp`.
//!
//! Values that are only defaults of flags keep their `DEFAULT_` names. The master's ping
//! constants are repeated here, since the agent crate must not depend on the master crate;
//! the unit test pins them to upstream's values.

use std::time::Duration;

use mesos::bytes::Bytes;
use mesos::proto::slave_info::{capability, Capability};

const MINUTE: u64 = 60;
const HOUR: u64 = 60 * MINUTE;
const WEEK: u64 = 7 * 24 * HOUR;

/// Default of `--executor_registration_timeout`: how long a launched executor has to
/// register before the agent gives up on it (`EXECUTOR_REGISTRATION_TIMEOUT`).
pub const EXECUTOR_REGISTRATION_TIMEOUT: Duration = Duration::from_secs(MINUTE);

/// Default of `--executor_reregistration_timeout`: how long executors have to reregister
/// with a recovering agent (`EXECUTOR_REREGISTRATION_TIMEOUT`).
pub const EXECUTOR_REREGISTRATION_TIMEOUT: Duration = Duration::from_secs(2);

/// The largest `--executor_reregistration_timeout` accepted
/// (`MAX_EXECUTOR_REREGISTRATION_TIMEOUT`). Recovery ends only after this timeout, so it
/// must stay well below the master's agent reregistration timeout (10 minutes).
pub const MAX_EXECUTOR_REREGISTRATION_TIMEOUT: Duration = Duration::from_secs(15);

/// Default of `--executor_shutdown_grace_period`: time an executor gets to exit after a
/// shutdown before its container is destroyed (`DEFAULT_EXECUTOR_SHUTDOWN_GRACE_PERIOD`).
pub const DEFAULT_EXECUTOR_SHUTDOWN_GRACE_PERIOD: Duration = Duration::from_secs(5);

/// Interval of heartbeats to HTTP executors (`DEFAULT_EXECUTOR_HEARTBEAT_INTERVAL`; thirty
/// minutes upstream, and declared without a user there).
pub const DEFAULT_EXECUTOR_HEARTBEAT_INTERVAL: Duration = Duration::from_secs(30 * MINUTE);

/// Default of `--recovery_timeout`: how long executors of a checkpointing framework wait
/// for a restarted agent before they exit (`RECOVERY_TIMEOUT`).
pub const RECOVERY_TIMEOUT: Duration = Duration::from_secs(15 * MINUTE);

/// First retry interval of an unacknowledged status update, and the interval after every
/// acknowledgement or resume (`STATUS_UPDATE_RETRY_INTERVAL_MIN`).
pub const STATUS_UPDATE_RETRY_INTERVAL_MIN: Duration = Duration::from_secs(10);

/// Cap of the doubling retry interval of an unacknowledged status update
/// (`STATUS_UPDATE_RETRY_INTERVAL_MAX`).
pub const STATUS_UPDATE_RETRY_INTERVAL_MAX: Duration = Duration::from_secs(10 * MINUTE);

/// Default of `--registration_backoff_factor`: the first (re)registration attempt is made
/// after a random delay in `[0, factor]` (`DEFAULT_REGISTRATION_BACKOFF_FACTOR`).
pub const DEFAULT_REGISTRATION_BACKOFF_FACTOR: Duration = Duration::from_secs(1);

/// Cap of the (re)registration backoff, and the largest `--registration_backoff_factor`
/// accepted (`REGISTER_RETRY_INTERVAL_MAX`).
pub const REGISTER_RETRY_INTERVAL_MAX: Duration = Duration::from_secs(MINUTE);

/// Default of `--authentication_backoff_factor` (`DEFAULT_AUTHENTICATION_BACKOFF_FACTOR`).
pub const DEFAULT_AUTHENTICATION_BACKOFF_FACTOR: Duration = Duration::from_secs(1);

/// Default of `--authentication_timeout_min` (`DEFAULT_AUTHENTICATION_TIMEOUT_MIN`).
pub const DEFAULT_AUTHENTICATION_TIMEOUT_MIN: Duration = Duration::from_secs(5);

/// Default of `--authentication_timeout_max` (`DEFAULT_AUTHENTICATION_TIMEOUT_MAX`).
pub const DEFAULT_AUTHENTICATION_TIMEOUT_MAX: Duration = Duration::from_secs(MINUTE);

/// Default of `--gc_delay`: the longest a finished sandbox is kept (`GC_DELAY`).
pub const GC_DELAY: Duration = Duration::from_secs(WEEK);

/// Default of `--disk_watch_interval`: how often disk usage is checked to shorten the
/// garbage collection delay (`DISK_WATCH_INTERVAL`).
pub const DISK_WATCH_INTERVAL: Duration = Duration::from_secs(MINUTE);

/// Default of `--gc_disk_headroom`: share of the disk kept free by garbage collection
/// (`GC_DISK_HEADROOM`).
pub const GC_DISK_HEADROOM: f64 = 0.1;

/// Default of `--http_heartbeat_interval`: heartbeats on the agent's streaming HTTP
/// responses (a flag default in `src/slave/flags.cpp`, not a named constant upstream).
pub const DEFAULT_HTTP_HEARTBEAT_INTERVAL: Duration = Duration::from_secs(30);

/// Completed frameworks kept in memory (`MAX_COMPLETED_FRAMEWORKS`).
pub const MAX_COMPLETED_FRAMEWORKS: usize = 50;

/// Default of `--max_completed_executors_per_framework`
/// (`DEFAULT_MAX_COMPLETED_EXECUTORS_PER_FRAMEWORK`).
pub const DEFAULT_MAX_COMPLETED_EXECUTORS_PER_FRAMEWORK: usize = 150;

/// Longest container id: the longest directory name AUFS allows (`MAX_CONTAINER_ID_LENGTH`).
pub const MAX_CONTAINER_ID_LENGTH: usize = 242;

/// Completed tasks kept in memory per executor (`MAX_COMPLETED_TASKS_PER_EXECUTOR`).
pub const MAX_COMPLETED_TASKS_PER_EXECUTOR: usize = 200;

/// Cpus offered when the host's cannot be found (`DEFAULT_CPUS`).
pub const DEFAULT_CPUS: f64 = 1.0;

/// Memory offered when the host's cannot be found (`DEFAULT_MEM`).
pub const DEFAULT_MEM: Bytes = Bytes::gigabytes(1);

/// Disk offered when the host's cannot be found (`DEFAULT_DISK`).
pub const DEFAULT_DISK: Bytes = Bytes::gigabytes(10);

/// Ports offered unless `--resources` names some (`DEFAULT_PORTS`).
pub const DEFAULT_PORTS: &str = "[31000-32000]";

/// Cpus added for the command executor of a task launched without one
/// (`DEFAULT_EXECUTOR_CPUS`).
pub const DEFAULT_EXECUTOR_CPUS: f64 = 0.1;

/// Memory added for the command executor of a task launched without one
/// (`DEFAULT_EXECUTOR_MEM`).
pub const DEFAULT_EXECUTOR_MEM: Bytes = Bytes::megabytes(32);

/// The master's `DEFAULT_AGENT_PING_TIMEOUT` (`src/master/constants.hpp`), repeated here
/// because the agent derives [`default_master_ping_timeout`] from it.
pub const MASTER_DEFAULT_AGENT_PING_TIMEOUT: Duration = Duration::from_secs(15);

/// The master's `DEFAULT_MAX_AGENT_PING_TIMEOUTS` (`src/master/constants.hpp`), repeated
/// here for [`default_master_ping_timeout`].
pub const MASTER_DEFAULT_MAX_AGENT_PING_TIMEOUTS: u32 = 5;

/// How long the agent goes without a ping before it looks for a (new) master, when the
/// master's `SlaveRegisteredMessage` carries no `connection` (`DEFAULT_MASTER_PING_TIMEOUT()`):
/// 15 s times 5, 75 s.
pub const fn default_master_ping_timeout() -> Duration {
    Duration::from_secs(MASTER_DEFAULT_AGENT_PING_TIMEOUT.as_secs() * MASTER_DEFAULT_MAX_AGENT_PING_TIMEOUTS as u64)
}

/// How long a removed docker container is kept (`DOCKER_REMOVE_DELAY`).
pub const DOCKER_REMOVE_DELAY: Duration = Duration::from_secs(6 * HOUR);

/// Default of `--fetcher_cache_size` (`DEFAULT_FETCHER_CACHE_SIZE`).
pub const DEFAULT_FETCHER_CACHE_SIZE: Bytes = Bytes::gigabytes(2);

/// Default of `--fetcher_stall_timeout` (`DEFAULT_FETCHER_STALL_TIMEOUT`).
pub const DEFAULT_FETCHER_STALL_TIMEOUT: Duration = Duration::from_secs(MINUTE);

/// Default of `--docker_socket`: where the docker daemon listens (`DEFAULT_DOCKER_HOST_RESOURCE`,
/// the non-Windows value).
pub const DEFAULT_DOCKER_HOST_RESOURCE: &str = "/var/run/docker.sock";

/// Default of `--authenticatee` (`DEFAULT_AUTHENTICATEE`).
pub const DEFAULT_AUTHENTICATEE: &str = "crammd5";

/// Default of `--authorizer` (`DEFAULT_AUTHORIZER`).
pub const DEFAULT_AUTHORIZER: &str = "local";

/// HTTP authentication realm of the agent's read-only endpoints
/// (`READONLY_HTTP_AUTHENTICATION_REALM`).
pub const READONLY_HTTP_AUTHENTICATION_REALM: &str = "mesos-agent-readonly";

/// HTTP authentication realm of the agent's read-write endpoints
/// (`READWRITE_HTTP_AUTHENTICATION_REALM`).
pub const READWRITE_HTTP_AUTHENTICATION_REALM: &str = "mesos-agent-readwrite";

/// HTTP authentication realm of HTTP executors (`EXECUTOR_HTTP_AUTHENTICATION_REALM`).
pub const EXECUTOR_HTTP_AUTHENTICATION_REALM: &str = "mesos-agent-executor";

/// HTTP authentication realm of HTTP resource providers
/// (`RESOURCE_PROVIDER_HTTP_AUTHENTICATION_REALM`).
pub const RESOURCE_PROVIDER_HTTP_AUTHENTICATION_REALM: &str = "mesos-agent-resource-provider";

/// File name of the agent's executor socket, when enabled (`AGENT_EXECUTORS_SOCKET_FILENAME`).
pub const AGENT_EXECUTORS_SOCKET_FILENAME: &str = "agent.sock";

/// Program name of the default executor (`MESOS_DEFAULT_EXECUTOR`).
pub const MESOS_DEFAULT_EXECUTOR: &str = "mesos-default-executor";

/// Program name of the command executor (`MESOS_EXECUTOR`).
pub const MESOS_EXECUTOR: &str = "mesos-executor";

/// Where the agent's log appears under the `/files` endpoint (`AGENT_LOG_VIRTUAL_PATH`).
pub const AGENT_LOG_VIRTUAL_PATH: &str = "/slave/log";

/// The capabilities the agent puts in its `SlaveInfo` (`AGENT_CAPABILITIES()`,
/// `constants.cpp`), in C++'s order.
pub fn agent_capabilities() -> Vec<Capability> {
    use capability::Type;
    [
        Type::HierarchicalRole,
        Type::MultiRole,
        Type::ReservationRefinement,
        Type::ResourceProvider,
        Type::ResizeVolume,
        Type::AgentOperationFeedback,
        Type::AgentDraining,
        Type::TaskResourceLimits,
    ]
    .into_iter()
    .map(|kind| Capability { r#type: Some(kind as i32) })
    .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Values other programs see or depend on: retry cadences, timeouts executors are told,
    /// resource overheads the master accounts for, realms in HTTP challenges.
    #[test]
    fn values_match_upstream() {
        assert_eq!(STATUS_UPDATE_RETRY_INTERVAL_MIN, Duration::from_secs(10));
        assert_eq!(STATUS_UPDATE_RETRY_INTERVAL_MAX, Duration::from_secs(600));
        assert_eq!(EXECUTOR_REGISTRATION_TIMEOUT, Duration::from_secs(60));
        assert_eq!(EXECUTOR_REREGISTRATION_TIMEOUT, Duration::from_secs(2));
        assert_eq!(MAX_EXECUTOR_REREGISTRATION_TIMEOUT, Duration::from_secs(15));
        assert_eq!(DEFAULT_EXECUTOR_SHUTDOWN_GRACE_PERIOD, Duration::from_secs(5));
        assert_eq!(RECOVERY_TIMEOUT, Duration::from_secs(900));
        assert_eq!(DEFAULT_REGISTRATION_BACKOFF_FACTOR, Duration::from_secs(1));
        assert_eq!(REGISTER_RETRY_INTERVAL_MAX, Duration::from_secs(60));
        assert_eq!(MASTER_DEFAULT_AGENT_PING_TIMEOUT, Duration::from_secs(15));
        assert_eq!(MASTER_DEFAULT_MAX_AGENT_PING_TIMEOUTS, 5);
        assert_eq!(default_master_ping_timeout(), Duration::from_secs(75));
        assert_eq!(GC_DELAY, Duration::from_secs(604_800));
        assert_eq!(DISK_WATCH_INTERVAL, Duration::from_secs(60));
        assert_eq!(DEFAULT_HTTP_HEARTBEAT_INTERVAL, Duration::from_secs(30));
        assert_eq!(DEFAULT_EXECUTOR_HEARTBEAT_INTERVAL, Duration::from_secs(1800));
        assert_eq!(DEFAULT_EXECUTOR_CPUS, 0.1);
        assert_eq!(DEFAULT_EXECUTOR_MEM.bytes(), 32 * 1024 * 1024);
        assert_eq!(DEFAULT_MEM.bytes(), 1024 * 1024 * 1024);
        assert_eq!(DEFAULT_DISK.bytes(), 10 * 1024 * 1024 * 1024);
        assert_eq!(DEFAULT_PORTS, "[31000-32000]");
        assert_eq!(READONLY_HTTP_AUTHENTICATION_REALM, "mesos-agent-readonly");
        assert_eq!(READWRITE_HTTP_AUTHENTICATION_REALM, "mesos-agent-readwrite");
        assert_eq!(EXECUTOR_HTTP_AUTHENTICATION_REALM, "mesos-agent-executor");
    }

    #[test]
    fn capabilities_are_the_eight_of_upstream_in_order() {
        let types: Vec<i32> = agent_capabilities().iter().map(|c| c.r#type.unwrap_or_default()).collect();
        // The enum numbers of `SlaveInfo.Capability.Type`, in `AGENT_CAPABILITIES()`'s order.
        assert_eq!(types, vec![2, 1, 3, 4, 5, 6, 7, 8]);
    }
}
