//! The master's constants: timeouts, limits, defaults and names shared by the master, its allocator and registrar; mirrors `src/master/constants.hpp` and `src/master/constants.cpp`.
//!
//! Names are C++'s. Values that are only flag defaults keep their `DEFAULT_` names and are
//! what [`crate::flags`] declares.

use std::time::Duration;

use mesos::bytes::Bytes;
use mesos::proto::master_info::{capability, Capability};

use crate::quota::Quota;

const MINUTE: u64 = 60;
const WEEK: u64 = 7 * 24 * 60 * MINUTE;

/// The most outstanding offers one framework may hold (`MAX_OFFERS_PER_FRAMEWORK`,
/// `constants.hpp`; declared upstream but not enforced anywhere).
pub const MAX_OFFERS_PER_FRAMEWORK: usize = 50;

/// The quota of a role nobody set one for: no guarantees, no limits (`DEFAULT_QUOTA`,
/// `constants.hpp`). Setting it removes a role's quota.
pub const DEFAULT_QUOTA: Quota = Quota::new();

/// The smallest number of cpus worth offering (`MIN_CPUS`, `constants.hpp`); the `cpus` part
/// of the `--min_allocatable_resources` default.
pub const MIN_CPUS: f64 = 0.01;

/// The smallest amount of memory worth offering (`MIN_MEM`, `constants.hpp`); the `mem` part
/// of the `--min_allocatable_resources` default.
pub const MIN_MEM: Bytes = Bytes::megabytes(32);

/// Default of `--authentication_v0_timeout`: how long a v0 framework or agent may take to
/// authenticate before the master cancels it (`DEFAULT_AUTHENTICATION_V0_TIMEOUT`).
pub const DEFAULT_AUTHENTICATION_V0_TIMEOUT: Duration = Duration::from_secs(15);

/// Interval of the `HEARTBEAT` events on a v1 (HTTP) scheduler's stream and on the operator
/// API's event stream (`DEFAULT_HEARTBEAT_INTERVAL`); schedulers also get it as
/// `heartbeat_interval_seconds` in `SUBSCRIBED`.
pub const DEFAULT_HEARTBEAT_INTERVAL: Duration = Duration::from_secs(15);

/// Default of `--agent_ping_timeout`: how long the master waits for an agent's `PONG`
/// (`DEFAULT_AGENT_PING_TIMEOUT`). Agents derive their own "master is gone" timer from this
/// value and [`DEFAULT_MAX_AGENT_PING_TIMEOUTS`].
pub const DEFAULT_AGENT_PING_TIMEOUT: Duration = Duration::from_secs(15);

/// Default of `--max_agent_ping_timeouts`: missed pongs before an agent is marked unreachable
/// (`DEFAULT_MAX_AGENT_PING_TIMEOUTS`).
pub const DEFAULT_MAX_AGENT_PING_TIMEOUTS: usize = 5;

/// The least `--agent_reregister_timeout` the master accepts, and its default
/// (`MIN_AGENT_REREGISTER_TIMEOUT`): agents bound their reregistration backoff by it.
pub const MIN_AGENT_REREGISTER_TIMEOUT: Duration = Duration::from_secs(10 * MINUTE);

/// Default share of agents (1.0 is all) that may be removed after a failover when they do
/// not reregister in time (`RECOVERY_AGENT_REMOVAL_PERCENT_LIMIT`); printed as `100%` for
/// `--recovery_agent_removal_limit`.
pub const RECOVERY_AGENT_REMOVAL_PERCENT_LIMIT: f64 = 1.0;

/// How many removed agents the master remembers (`MAX_REMOVED_SLAVES`).
pub const MAX_REMOVED_SLAVES: usize = 100_000;

/// Default of `--max_operator_event_stream_subscribers`
/// (`DEFAULT_MAX_OPERATOR_EVENT_STREAM_SUBSCRIBERS`).
pub const DEFAULT_MAX_OPERATOR_EVENT_STREAM_SUBSCRIBERS: usize = 1000;

/// Default of `--max_completed_frameworks` (`DEFAULT_MAX_COMPLETED_FRAMEWORKS`).
pub const DEFAULT_MAX_COMPLETED_FRAMEWORKS: usize = 50;

/// Default of `--max_completed_tasks_per_framework`
/// (`DEFAULT_MAX_COMPLETED_TASKS_PER_FRAMEWORK`).
pub const DEFAULT_MAX_COMPLETED_TASKS_PER_FRAMEWORK: usize = 1000;

/// Default of `--max_unreachable_tasks_per_framework`
/// (`DEFAULT_MAX_UNREACHABLE_TASKS_PER_FRAMEWORK`).
pub const DEFAULT_MAX_UNREACHABLE_TASKS_PER_FRAMEWORK: usize = 1000;

/// The least time the master waits for a framework to reregister before it adopts that
/// framework's operations (`MIN_WAIT_BEFORE_ORPHAN_OPERATION_ADOPTION`).
pub const MIN_WAIT_BEFORE_ORPHAN_OPERATION_ADOPTION: Duration = Duration::from_secs(10 * MINUTE);

/// How often the `--whitelist` file is re-read (`WHITELIST_WATCH_INTERVAL`).
pub const WHITELIST_WATCH_INTERVAL: Duration = Duration::from_secs(5);

/// The default `limit` of the `/master/tasks` endpoint (`TASK_LIMIT`).
pub const TASK_LIMIT: usize = 100;

/// Documents (`/master/state`, `GET_STATE`, ...) expected to be larger than this are sent
/// chunked while they are written instead of whole with a `Content-Length`; no C++
/// counterpart (C++ always builds the whole body first). Small ones keep C++'s framing.
pub const STREAMED_DOCUMENT_MINIMUM: usize = 8 * 1024 * 1024;

/// Default of `--registry_gc_interval` (`DEFAULT_REGISTRY_GC_INTERVAL`).
pub const DEFAULT_REGISTRY_GC_INTERVAL: Duration = Duration::from_secs(15 * MINUTE);

/// Default of `--registry_max_agent_age` (`DEFAULT_REGISTRY_MAX_AGENT_AGE`, two weeks).
pub const DEFAULT_REGISTRY_MAX_AGENT_AGE: Duration = Duration::from_secs(2 * WEEK);

/// Default of `--registry_max_agent_count` (`DEFAULT_REGISTRY_MAX_AGENT_COUNT`, 100 * 1024).
pub const DEFAULT_REGISTRY_MAX_AGENT_COUNT: usize = 100 * 1024;

/// ZooKeeper node label of a contender's binary `MasterInfo` (`MASTER_INFO_LABEL`; deprecated
/// upstream since 0.24 but still read by detectors).
pub const MASTER_INFO_LABEL: &str = "info";

/// ZooKeeper node label of a contender's JSON `MasterInfo` (`MASTER_INFO_JSON_LABEL`, since
/// 0.23): nodes are named `json.info_<sequence>`.
pub const MASTER_INFO_JSON_LABEL: &str = "json.info";

/// Default of `--zk_session_timeout` (`ZOOKEEPER_SESSION_TIMEOUT`).
pub const ZOOKEEPER_SESSION_TIMEOUT: Duration = Duration::from_secs(10);

/// Default of `--authenticators`, the CRAM-MD5 authenticator (`DEFAULT_AUTHENTICATOR`).
pub const DEFAULT_AUTHENTICATOR: &str = "crammd5";

/// Default of `--allocator` (`DEFAULT_ALLOCATOR`).
pub const DEFAULT_ALLOCATOR: &str = "hierarchical";

/// Default of `--allocation_interval` (`DEFAULT_ALLOCATION_INTERVAL`).
pub const DEFAULT_ALLOCATION_INTERVAL: Duration = Duration::from_secs(1);

/// Default of `--authorizers`, the ACL-based authorizer (`DEFAULT_AUTHORIZER`).
pub const DEFAULT_AUTHORIZER: &str = "local";

/// HTTP authentication realm of the master's read-only endpoints
/// (`READONLY_HTTP_AUTHENTICATION_REALM`); it appears in `WWW-Authenticate` challenges.
pub const READONLY_HTTP_AUTHENTICATION_REALM: &str = "mesos-master-readonly";

/// HTTP authentication realm of the master's read-write endpoints
/// (`READWRITE_HTTP_AUTHENTICATION_REALM`); libprocess's own endpoints use it too.
pub const READWRITE_HTTP_AUTHENTICATION_REALM: &str = "mesos-master-readwrite";

/// HTTP authentication realm of HTTP schedulers
/// (`DEFAULT_HTTP_FRAMEWORK_AUTHENTICATION_REALM`).
pub const DEFAULT_HTTP_FRAMEWORK_AUTHENTICATION_REALM: &str = "mesos-master-scheduler";

/// Default of `--http_authenticators` and the only HTTP authenticator without modules
/// (`DEFAULT_BASIC_HTTP_AUTHENTICATOR` in `src/common/http.hpp`).
pub const DEFAULT_BASIC_HTTP_AUTHENTICATOR: &str = "basic";

/// Agents reporting a version older than this (`major`, `minor`, `patch`) may not register
/// (`MINIMUM_AGENT_VERSION`).
pub const MINIMUM_AGENT_VERSION: (u64, u64, u64) = (1, 0, 0);

/// Weight of a role without one (`DEFAULT_WEIGHT`).
pub const DEFAULT_WEIGHT: f64 = 1.0;

/// Default of `--offer_constraints_re2_max_mem` (`DEFAULT_OFFER_CONSTRAINTS_RE2_MAX_MEM`).
pub const DEFAULT_OFFER_CONSTRAINTS_RE2_MAX_MEM: Bytes = Bytes::new(4096);

/// Default of `--offer_constraints_re2_max_program_size`
/// (`DEFAULT_OFFER_CONSTRAINTS_RE2_MAX_PROGRAM_SIZE`).
pub const DEFAULT_OFFER_CONSTRAINTS_RE2_MAX_PROGRAM_SIZE: i32 = 100;

/// Default of `--allocator_recovery_timeout` (`DEFAULT_ALLOCATOR_RECOVERY_TIMEOUT` in
/// `include/mesos/allocator/allocator.hpp`).
pub const DEFAULT_ALLOCATOR_RECOVERY_TIMEOUT: Duration = Duration::from_secs(10 * MINUTE);

/// Default of `--allocator_agent_recovery_factor` (`DEFAULT_ALLOCATOR_AGENT_RECOVERY_FACTOR`
/// in `include/mesos/allocator/allocator.hpp`).
pub const DEFAULT_ALLOCATOR_AGENT_RECOVERY_FACTOR: f64 = 0.80;

/// The capabilities the master puts in its `MasterInfo` (`MASTER_CAPABILITIES()`,
/// `constants.cpp`), in C++'s order.
pub fn master_capabilities() -> Vec<Capability> {
    [capability::Type::AgentUpdate, capability::Type::AgentDraining, capability::Type::QuotaV2]
        .into_iter()
        .map(|kind| Capability { r#type: Some(kind as i32) })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Values other programs see: in messages, in `/state`, in HTTP challenges, in ZooKeeper,
    /// or in the timers agents derive from them.
    #[test]
    fn wire_visible_values_match_upstream() {
        assert_eq!(DEFAULT_AGENT_PING_TIMEOUT, Duration::from_secs(15));
        assert_eq!(DEFAULT_MAX_AGENT_PING_TIMEOUTS, 5);
        assert_eq!(MIN_AGENT_REREGISTER_TIMEOUT, Duration::from_secs(600));
        assert_eq!(DEFAULT_HEARTBEAT_INTERVAL, Duration::from_secs(15));
        assert_eq!(DEFAULT_AUTHENTICATION_V0_TIMEOUT, Duration::from_secs(15));
        assert_eq!(READONLY_HTTP_AUTHENTICATION_REALM, "mesos-master-readonly");
        assert_eq!(READWRITE_HTTP_AUTHENTICATION_REALM, "mesos-master-readwrite");
        assert_eq!(DEFAULT_HTTP_FRAMEWORK_AUTHENTICATION_REALM, "mesos-master-scheduler");
        assert_eq!(MASTER_INFO_LABEL, "info");
        assert_eq!(MASTER_INFO_JSON_LABEL, "json.info");
        assert_eq!(ZOOKEEPER_SESSION_TIMEOUT, Duration::from_secs(10));
        assert_eq!(MINIMUM_AGENT_VERSION, (1, 0, 0));
        assert_eq!(TASK_LIMIT, 100);
        assert_eq!(DEFAULT_WEIGHT, 1.0);
        assert_eq!(MIN_CPUS, 0.01);
        assert_eq!(MIN_MEM.bytes(), 32 * 1024 * 1024);
        assert_eq!(DEFAULT_ALLOCATION_INTERVAL, Duration::from_secs(1));
        assert_eq!(DEFAULT_REGISTRY_MAX_AGENT_AGE, Duration::from_secs(14 * 24 * 3600));
        assert_eq!(DEFAULT_REGISTRY_MAX_AGENT_COUNT, 102_400);
        assert_eq!(DEFAULT_OFFER_CONSTRAINTS_RE2_MAX_MEM.to_string(), "4KB");
    }

    #[test]
    fn capabilities_are_agent_update_agent_draining_quota_v2() {
        let types: Vec<i32> = master_capabilities().iter().map(|c| c.r#type.unwrap()).collect();
        // The enum numbers of `MasterInfo.Capability.Type`.
        assert_eq!(types, vec![1, 2, 3]);
    }
}
