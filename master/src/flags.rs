//! The master's command-line flags (`--port=5050`, `MESOS_PORT=5050`) with upstream's names, aliases and defaults; mirrors `src/master/flags.cpp` (plus `src/logging/flags.cpp`, which C++ `master::Flags` inherits) and the flag checks of `src/master/main.cpp` and `Master::initialize`.
//!
//! Every flag upstream declares is declared here, so a command line written for the C++
//! master parses. Not all of them do anything yet. A flag outside [`SUPPORTED_FLAGS`] that is
//! given (on the command line or as `MESOS_*`) with a value other than its default makes
//! [`MasterFlags::load`] fail with `Flag '--<name>' is not supported yet by this master`;
//! nothing is silently ignored. Giving such a flag its default value is accepted, since the
//! master then behaves as asked.
//!
//! Supported: `--help`, `--version`, `--ip`, `--port`, `--advertise_ip`, `--advertise_port`,
//! `--hostname`, `--hostname_lookup`, `--work_dir`, `--registry`, `--registry_fetch_timeout`,
//! `--registry_store_timeout`, `--registry_strict` (only `false`, as upstream),
//! `--allocation_interval`, `--agent_ping_timeout`, `--max_agent_ping_timeouts`,
//! `--agent_reregister_timeout`, `--roles`, `--weights`, `--cluster`,
//! `--min_allocatable_resources`, `--fair_sharing_excluded_resource_names`, `--zk` and
//! `--quorum` (recognized and checked; leader election is the master's business, and the
//! `mesos-master` program refuses `--zk` while the master runs standalone only), and the
//! logging flags `--quiet`, `--logging_level`, `--logbufsecs` and `--initialize_driver_logging`
//! (the last two change nothing here: logs are not buffered, and the master runs no driver).
//!
//! Left out: `--max_executors_per_agent`, which upstream only declares when built with the
//! port-mapping isolator.
//!
//! Checks: the flag validators of `flags.cpp` run during the load (`--agent_ping_timeout` in
//! 1secs..=15mins, `--max_agent_ping_timeouts` >= 1, `--registry_strict` false); then
//! [`MasterFlags::validate`] applies what `main.cpp` and `Master::initialize` check at start-up
//! (`--logging_level`, `--registry` and its `--work_dir`/`--quorum` needs, the `--zk` URL,
//! `--agent_reregister_timeout` >= 10mins, `--recovery_agent_removal_limit`, `--offer_timeout`,
//! `--roles`, `--weights`, `--min_allocatable_resources`, and the pairs that exclude each
//! other). Upstream has no minimum for `--registry_store_timeout`.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

use mesos::bytes::Bytes;
use mesos::field;
use mesos::flags::{FlagValue, Flags, FlagsError, LoadOptions, SecurePathOrValue, Warning};
use mesos::resources::validate_role;
use mesos::weights::parse_weights;

use crate::allocator::{self, parse_min_allocatable_resources};
use crate::constants::*;
use crate::registrar::{RegistrarFlags, DEFAULT_REGISTRY_FETCH_TIMEOUT, DEFAULT_REGISTRY_STORE_TIMEOUT};
use crate::resource_quantities::ResourceQuantities;

/// The environment prefix of master flags (`MESOS_PORT` sets `--port`).
pub const ENVIRONMENT_PREFIX: &str = "MESOS_";

/// Default of `--registry`.
pub const DEFAULT_REGISTRY: &str = "replicated_log";

/// Default of `--webui_dir`: upstream's `PKGDATADIR "/webui"` with the default install prefix.
pub const DEFAULT_WEBUI_DIR: &str = "/usr/local/share/mesos/webui";

/// The flags this master acts on (see the module doc); any other flag must keep its default.
pub const SUPPORTED_FLAGS: &[&str] = &[
    "advertise_ip",
    "advertise_port",
    "agent_ping_timeout",
    "agent_removal_rate_limit",
    "agent_reregister_timeout",
    "allocation_interval",
    "cluster",
    "fair_sharing_excluded_resource_names",
    "help",
    "hostname",
    "hostname_lookup",
    "initialize_driver_logging",
    "ip",
    "logbufsecs",
    "logging_level",
    "max_agent_ping_timeouts",
    "max_operator_event_stream_subscribers",
    "min_allocatable_resources",
    "offer_timeout",
    "port",
    "quiet",
    "quorum",
    "recovery_agent_removal_limit",
    "registry",
    "registry_fetch_timeout",
    "registry_store_timeout",
    "registry_strict",
    "roles",
    "version",
    "weights",
    "work_dir",
    "zk",
];

/// Why the master's flags were refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MasterFlagsError {
    /// The flags framework refused the input (unknown flag, bad value, a validator of
    /// `flags.cpp`).
    #[error(transparent)]
    Load(#[from] FlagsError),
    /// A flag this master does not implement was given a non-default value; the name is the
    /// spelling used (`authenticate_slaves` for the alias of `authenticate_agents`).
    #[error("Flag '--{0}' is not supported yet by this master")]
    Unsupported(String),
    /// A start-up check of `main.cpp` or `Master::initialize` failed.
    #[error("{0}")]
    Invalid(String),
}

/// A comma-separated set of names with no repeats (stout's `std::set<std::string>` flag),
/// shown in `/flags` as `{ a, b }`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NameSet(pub BTreeSet<String>);

impl FlagValue for NameSet {
    fn parse(text: &str) -> Result<Self, String> {
        let mut names = BTreeSet::new();
        for token in text.split(',').filter(|token| !token.is_empty()) {
            if !names.insert(token.to_string()) {
                return Err(format!("Duplicate token '{token}'"));
            }
        }
        Ok(NameSet(names))
    }

    fn stringify(&self) -> String {
        let names: Vec<&str> = self.0.iter().map(String::as_str).collect();
        format!("{{ {} }}", names.join(", "))
    }
}

/// The master's flag values; field names are the flag names (C++ `master::Flags` and
/// `logging::Flags`). Load them with [`MasterFlags::load`].
#[derive(Debug, Clone, Default)]
pub struct MasterFlags {
    pub version: bool,
    pub hostname: Option<String>,
    pub hostname_lookup: bool,
    pub root_submissions: bool,
    pub work_dir: Option<String>,
    pub registry: String,
    pub quorum: Option<i32>,
    pub zk_session_timeout: Duration,
    pub registry_strict: bool,
    pub registry_fetch_timeout: Duration,
    pub registry_store_timeout: Duration,
    pub log_auto_initialize: bool,
    pub agent_reregister_timeout: Duration,
    pub recovery_agent_removal_limit: String,
    pub agent_removal_rate_limit: Option<String>,
    pub webui_dir: String,
    pub whitelist: Option<PathBuf>,
    pub role_sorter: String,
    pub framework_sorter: String,
    pub allocation_interval: Duration,
    pub cluster: Option<String>,
    pub roles: Option<String>,
    pub weights: Option<String>,
    pub authenticate_frameworks: bool,
    pub authenticate_agents: bool,
    pub authentication_v0_timeout: Duration,
    pub authenticate_http_readonly: bool,
    pub authenticate_http_readwrite: bool,
    pub authenticate_http_frameworks: bool,
    pub credentials: Option<PathBuf>,
    /// JSON `ACLs`, kept as text until authorization exists.
    pub acls: Option<String>,
    /// JSON `Firewall`, kept as text.
    pub firewall_rules: Option<String>,
    /// JSON `RateLimits`, kept as text.
    pub rate_limits: Option<String>,
    pub offer_timeout: Option<Duration>,
    /// JSON `Modules`, kept as text.
    pub modules: Option<String>,
    pub modules_dir: Option<String>,
    pub authenticators: String,
    pub allocator: String,
    pub allocator_agent_recovery_factor: f64,
    pub allocator_recovery_timeout: Duration,
    pub fair_sharing_excluded_resource_names: Option<NameSet>,
    pub filter_gpu_resources: bool,
    pub min_allocatable_resources: String,
    pub hooks: Option<String>,
    pub agent_ping_timeout: Duration,
    pub max_agent_ping_timeouts: usize,
    pub authorizers: String,
    pub http_authenticators: String,
    pub http_framework_authenticators: Option<String>,
    pub max_operator_event_stream_subscribers: usize,
    pub max_completed_frameworks: usize,
    pub max_completed_tasks_per_framework: usize,
    pub max_unreachable_tasks_per_framework: usize,
    pub master_contender: Option<String>,
    pub master_detector: Option<String>,
    pub registry_gc_interval: Duration,
    pub registry_max_agent_age: Duration,
    pub registry_max_agent_count: usize,
    pub ip: Option<String>,
    pub port: u16,
    pub advertise_ip: Option<String>,
    pub advertise_port: Option<String>,
    pub memory_profiling: bool,
    pub zk: Option<SecurePathOrValue>,
    pub ip_discovery_command: Option<String>,
    pub require_agent_domain: bool,
    pub publish_per_framework_metrics: bool,
    /// JSON `DomainInfo`, kept as text.
    pub domain: Option<String>,
    pub offer_constraints_re2_max_mem: Bytes,
    pub offer_constraints_re2_max_program_size: i32,
    // `logging::Flags`.
    pub quiet: bool,
    pub logging_level: String,
    pub log_dir: Option<String>,
    pub logbufsecs: i32,
    pub initialize_driver_logging: bool,
    pub external_log_file: Option<String>,
}

/// Flags after a successful [`MasterFlags::load`].
pub struct LoadedFlags {
    /// The values (through `Deref`), the declarations for `usage()` and `to_pairs()`.
    pub flags: Flags<MasterFlags>,
    /// To log once logging is up, as `main.cpp` does: deprecated spellings used.
    pub warnings: Vec<Warning>,
}

impl MasterFlags {
    /// All master flags with upstream's defaults, not loaded yet (C++ `master::Flags()`).
    pub fn declare() -> Flags<MasterFlags> {
        let mut f = Flags::new(MasterFlags::default());
        declare_logging(&mut f);

        f.add(field!(version), "version", "Print the version and exit.").default(false);
        f.add_optional(
            field!(hostname),
            "hostname",
            "Hostname to advertise (also in ZooKeeper). Unset: looked up from the advertised IP, \
             or the IP itself with `--no-hostname_lookup`.",
        );
        f.add(
            field!(hostname_lookup),
            "hostname_lookup",
            "Resolve the hostname when `--hostname` is not given; if false, use the IP address.",
        )
        .default(true);
        f.add(field!(root_submissions), "root_submissions", "Whether frameworks may run as root.").default(true);
        f.add_optional(
            field!(work_dir),
            "work_dir",
            "Directory for the master's persistent state: with `--registry=replicated_log` the \
             registry, in `<work_dir>/registry`. Avoid directories that get cleaned, such as \
             `/tmp`. Example: `/var/lib/mesos/master`.",
        );
        f.add(
            field!(registry),
            "registry",
            "Where the registry is kept: `replicated_log` (needs `--work_dir`) or `in_memory` \
             (lost on restart; for tests). Here `replicated_log` is a durable store for one \
             master in `<work_dir>/registry`, not a replicated log: a restart over the same \
             `--work_dir` recovers the agents admitted before, but there is no quorum of \
             replicas.",
        )
        .default(DEFAULT_REGISTRY.to_string());
        f.add_optional(
            field!(quorum),
            "quorum",
            "Replicated-log quorum size; must be a majority of the masters. Needed with `--zk`, \
             not in standalone mode.",
        );
        f.add(field!(zk_session_timeout), "zk_session_timeout", "Session timeout of the ZooKeeper client.")
            .default(ZOOKEEPER_SESSION_TIMEOUT);
        f.add(
            field!(registry_strict),
            "registry_strict",
            "Disabled: would make the master act on the registry's contents. Only `false` is \
             accepted; the flag is to be removed.",
        )
        .default(false)
        .validate(|strict| {
            if *strict {
                Err("Support for '--registry_strict' has been disabled and will be removed in a future version \
                     of Mesos"
                    .into())
            } else {
                Ok(())
            }
        });
        f.add(
            field!(registry_fetch_timeout),
            "registry_fetch_timeout",
            "How long reading the registry may take before it counts as failed.",
        )
        .default(DEFAULT_REGISTRY_FETCH_TIMEOUT);
        f.add(
            field!(registry_store_timeout),
            "registry_store_timeout",
            "How long writing the registry may take before it counts as failed.",
        )
        .default(DEFAULT_REGISTRY_STORE_TIMEOUT);
        f.add(
            field!(log_auto_initialize),
            "log_auto_initialize",
            "Initialize the registry's replicated log on first use; if false, an operator must \
             initialize it by hand.",
        )
        .default(true);
        f.add(
            field!(agent_reregister_timeout),
            "agent_reregister_timeout",
            &format!(
                "How long a disconnected agent (or every agent, after a leader election) has to \
                 reregister before it is marked unreachable; its non-partition-aware tasks are \
                 killed if it comes back. At least {}.",
                MIN_AGENT_REREGISTER_TIMEOUT.stringify()
            ),
        )
        .deprecated_alias("slave_reregister_timeout")
        .default(MIN_AGENT_REREGISTER_TIMEOUT);
        f.add(
            field!(recovery_agent_removal_limit),
            "recovery_agent_removal_limit",
            "After a failover, the largest share of agents (0%-100%) that may be removed for not \
             reregistering in time; beyond it the master fails over instead, so a person can look.",
        )
        .deprecated_alias("recovery_slave_removal_limit")
        .default(format!("{}%", (RECOVERY_AGENT_REMOVAL_PERCENT_LIMIT * 100.0).stringify()));
        f.add_optional(
            field!(agent_removal_rate_limit),
            "agent_removal_rate_limit",
            "Most agents removed per time for failing health checks, as `<count>/<duration>` \
             (`1/10mins`). Unset: no limit.",
        )
        .deprecated_alias("slave_removal_rate_limit");
        f.add(field!(webui_dir), "webui_dir", "Directory of the web UI's files.")
            .default(DEFAULT_WEBUI_DIR.to_string());
        f.add_optional(
            field!(whitelist),
            "whitelist",
            "File listing the agents (one per line) whose resources are offered; re-read as it \
             changes. Unset: all agents.",
        );
        f.add(
            field!(role_sorter),
            "role_sorter",
            "How resources are shared between roles up to quota guarantees and limits: `drf` or \
             `random`.",
        )
        .deprecated_alias("user_sorter")
        .default("drf".to_string());
        f.add(
            field!(framework_sorter),
            "framework_sorter",
            "How a role's resources are shared between its frameworks; same choices as \
             `--role_sorter`.",
        )
        .default("drf".to_string());
        f.add(
            field!(allocation_interval),
            "allocation_interval",
            "Time between periodic batch allocations (`500ms`, `1secs`, ...).",
        )
        .default(DEFAULT_ALLOCATION_INTERVAL);
        f.add_optional(field!(cluster), "cluster", "Cluster name shown in the web UI.");
        f.add_optional(
            field!(roles),
            "roles",
            "Deprecated: comma-separated roles frameworks may use. Unset: any valid role.",
        );
        f.add_optional(
            field!(weights),
            "weights",
            "Deprecated (use the `/weights` endpoint): `role=weight,...`, the relative shares of \
             the roles.",
        );
        f.add(
            field!(authenticate_frameworks),
            "authenticate_frameworks",
            "Only let authenticated (v0) frameworks register; see `--authenticate_http_frameworks` \
             for HTTP ones.",
        )
        .deprecated_alias("authenticate")
        .default(false);
        f.add(field!(authenticate_agents), "authenticate_agents", "Only let authenticated agents register.")
            .deprecated_alias("authenticate_slaves")
            .default(false);
        f.add(
            field!(authentication_v0_timeout),
            "authentication_v0_timeout",
            "How long a v0 framework or agent may take to authenticate; not used by the HTTP \
             APIs.",
        )
        .default(DEFAULT_AUTHENTICATION_V0_TIMEOUT);
        f.add(
            field!(authenticate_http_readwrite),
            "authenticate_http_readwrite",
            "Require authentication on read-write HTTP endpoints that support it.",
        )
        .deprecated_alias("authenticate_http")
        .default(false);
        f.add(
            field!(authenticate_http_readonly),
            "authenticate_http_readonly",
            "Require authentication on read-only HTTP endpoints that support it.",
        )
        .default(false);
        f.add(
            field!(authenticate_http_frameworks),
            "authenticate_http_frameworks",
            "Require authentication from HTTP frameworks.",
        )
        .default(false);
        f.add_optional(
            field!(credentials),
            "credentials",
            "JSON file (`/path` or `file:///path`) of `{\"credentials\": [{\"principal\", \"secret\"}]}`.",
        );
        f.add_optional(
            field!(acls),
            "acls",
            "ACLs (see `acls.proto`) as JSON text or a file; ignored unless `--authorizers` is \
             the default `local`.",
        );
        f.add_optional(
            field!(firewall_rules),
            "firewall_rules",
            "Endpoint firewall rules (the `Firewall` message) as JSON text or a file, e.g. \
             `disabled_endpoints`.",
        );
        f.add_optional(
            field!(rate_limits),
            "rate_limits",
            "Per-principal framework rate limits (the `RateLimits` message) as JSON text or a \
             file.",
        );
        f.add_optional(
            field!(offer_timeout),
            "offer_timeout",
            "Rescind an offer not used within this time. Unset: offers never expire.",
        );
        f.add_optional(
            field!(modules),
            "modules",
            "Modules to load, as JSON text or a file (the `Modules` message). Excludes \
             `--modules_dir`.",
        );
        f.add_optional(
            field!(modules_dir),
            "modules_dir",
            "Directory of module manifests, read in name order. Excludes `--modules`.",
        );
        f.add(
            field!(authenticators),
            "authenticators",
            &format!("Authenticator of frameworks and agents: `{DEFAULT_AUTHENTICATOR}` or one from a module."),
        )
        .default(DEFAULT_AUTHENTICATOR.to_string());
        f.add(
            field!(allocator),
            "allocator",
            &format!("Allocator to use: `{DEFAULT_ALLOCATOR}` or one from a module."),
        )
        .default(DEFAULT_ALLOCATOR.to_string());
        f.add(
            field!(allocator_agent_recovery_factor),
            "allocator_agent_recovery_factor",
            "Share of known agents that must reregister after a leader election before offers \
             resume.",
        )
        .default(DEFAULT_ALLOCATOR_AGENT_RECOVERY_FACTOR);
        f.add(
            field!(allocator_recovery_timeout),
            "allocator_recovery_timeout",
            "Longest wait for agents after a leader election before offers resume.",
        )
        .default(DEFAULT_ALLOCATOR_RECOVERY_TIMEOUT);
        f.add_optional(
            field!(fair_sharing_excluded_resource_names),
            "fair_sharing_excluded_resource_names",
            "Comma-separated resource names (such as `gpus`) left out of fair-share \
             computations (MESOS-5377).",
        );
        f.add(
            field!(filter_gpu_resources),
            "filter_gpu_resources",
            "Offer agents with GPUs only to frameworks with the `GPU_RESOURCES` capability \
             (MESOS-7576).",
        )
        .default(true);
        f.add(
            field!(min_allocatable_resources),
            "min_allocatable_resources",
            "Smallest offerable resources: alternatives split by `|`, each a `;`-separated list \
             of `name:quantity` that must all be met (ranges and sets count their items). E.g. \
             `disk:1|cpus:1;mem:32;ports:1`.",
        )
        .default(format!(
            "cpus:{}|mem:{}",
            MIN_CPUS.stringify(),
            (MIN_MEM.bytes() as f64 / Bytes::MEGABYTES as f64).stringify()
        ));
        f.add_optional(field!(hooks), "hooks", "Comma-separated hook modules to install.");
        f.add(
            field!(agent_ping_timeout),
            "agent_ping_timeout",
            "How long an agent has to answer a ping. Keep `agent_ping_timeout` times \
             `max_agent_ping_timeouts` above the ZooKeeper session timeout.",
        )
        .deprecated_alias("slave_ping_timeout")
        .default(DEFAULT_AGENT_PING_TIMEOUT)
        .validate(|timeout| {
            let (least, most) = (Duration::from_secs(1), Duration::from_secs(15 * 60));
            if *timeout < least || *timeout > most {
                Err(format!(
                    "Expected `--agent_ping_timeout` to be between {} and {}",
                    least.stringify(),
                    most.stringify()
                ))
            } else {
                Ok(())
            }
        });
        f.add(
            field!(max_agent_ping_timeouts),
            "max_agent_ping_timeouts",
            "Unanswered pings in a row after which an agent is marked unreachable.",
        )
        .deprecated_alias("max_slave_ping_timeouts")
        .default(DEFAULT_MAX_AGENT_PING_TIMEOUTS)
        .validate(|count| {
            if *count < 1 {
                Err("Expected `--max_agent_ping_timeouts` to be at least 1".into())
            } else {
                Ok(())
            }
        });
        f.add(
            field!(authorizers),
            "authorizers",
            &format!(
                "Authorizer to use: `{DEFAULT_AUTHORIZER}` (driven by `--acls`) or one from a module; \
                 only one."
            ),
        )
        .default(DEFAULT_AUTHORIZER.to_string());
        f.add(
            field!(http_authenticators),
            "http_authenticators",
            &format!(
                "HTTP authenticator of endpoints: `{DEFAULT_BASIC_HTTP_AUTHENTICATOR}` or one from a module; only one."
            ),
        )
        .default(DEFAULT_BASIC_HTTP_AUTHENTICATOR.to_string());
        f.add_optional(
            field!(http_framework_authenticators),
            "http_framework_authenticators",
            "HTTP authenticator of HTTP frameworks (`basic` or a module); goes with \
             `--authenticate_http_frameworks`.",
        );
        f.add(
            field!(max_operator_event_stream_subscribers),
            "max_operator_event_stream_subscribers",
            "Most open subscriptions to the operator event stream; beyond it the oldest are \
             closed.",
        )
        .default(DEFAULT_MAX_OPERATOR_EVENT_STREAM_SUBSCRIBERS);
        f.add(
            field!(max_completed_frameworks),
            "max_completed_frameworks",
            "How many completed frameworks are kept in memory.",
        )
        .default(DEFAULT_MAX_COMPLETED_FRAMEWORKS);
        f.add(
            field!(max_completed_tasks_per_framework),
            "max_completed_tasks_per_framework",
            "How many completed tasks of each framework are kept in memory.",
        )
        .default(DEFAULT_MAX_COMPLETED_TASKS_PER_FRAMEWORK);
        f.add(
            field!(max_unreachable_tasks_per_framework),
            "max_unreachable_tasks_per_framework",
            "How many unreachable tasks of each framework are kept in memory.",
        )
        .default(DEFAULT_MAX_UNREACHABLE_TASKS_PER_FRAMEWORK);
        f.add_optional(
            field!(master_contender),
            "master_contender",
            "Module symbol of the leader contender; needs `--master_detector`, excludes `--zk`.",
        );
        f.add_optional(
            field!(master_detector),
            "master_detector",
            "Module symbol of the leader detector; needs `--master_contender`, excludes `--zk`.",
        );
        f.add(
            field!(registry_gc_interval),
            "registry_gc_interval",
            "How often the leader prunes unreachable and gone agents from the registry.",
        )
        .default(DEFAULT_REGISTRY_GC_INTERVAL);
        f.add(
            field!(registry_max_agent_age),
            "registry_max_agent_age",
            "How long the registry remembers an unreachable or gone agent (connected agents are \
             always kept).",
        )
        .default(DEFAULT_REGISTRY_MAX_AGENT_AGE);
        f.add(
            field!(registry_max_agent_count),
            "registry_max_agent_count",
            "How many unreachable or gone agents the registry remembers at most.",
        )
        .default(DEFAULT_REGISTRY_MAX_AGENT_COUNT);
        f.add_optional(field!(ip), "ip", "IP address to listen on. Excludes `--ip_discovery_command`.");
        f.add(field!(port), "port", "Port to listen on.").default(5050);
        f.add_optional(
            field!(advertise_ip),
            "advertise_ip",
            "IP address others should use to reach this master; not bound to.",
        );
        f.add_optional(
            field!(advertise_port),
            "advertise_port",
            "Port others should use (with `--advertise_ip`) to reach this master; not bound to.",
        );
        f.add(
            field!(memory_profiling),
            "memory_profiling",
            "Expose libprocess's jemalloc memory profiling (needs jemalloc loaded).",
        )
        .default(false);
        f.add_optional(
            field!(zk),
            "zk",
            "ZooKeeper URL for leader election: `zk://[user:password@]host:port,.../path`, or \
             `file:///path` holding one. Not needed for a single master.",
        );
        f.add_optional(
            field!(ip_discovery_command),
            "ip_discovery_command",
            "Command whose output is the IP address to bind to. Excludes `--ip`.",
        );
        f.add(
            field!(require_agent_domain),
            "require_agent_domain",
            "Only let agents with a configured domain register.",
        )
        .default(false);
        f.add(
            field!(publish_per_framework_metrics),
            "publish_per_framework_metrics",
            "Publish detailed metrics for every active framework.",
        )
        .default(true);
        f.add_optional(
            field!(domain),
            "domain",
            "This master's fault domain (region and zone) as JSON text or a file; all masters \
             share one region.",
        );
        f.add(
            field!(offer_constraints_re2_max_mem),
            "offer_constraints_re2_max_mem",
            "Memory limit of each RE2 regular expression in offer constraints.",
        )
        .default(DEFAULT_OFFER_CONSTRAINTS_RE2_MAX_MEM);
        f.add(
            field!(offer_constraints_re2_max_program_size),
            "offer_constraints_re2_max_program_size",
            "Program size limit of each RE2 regular expression in offer constraints.",
        )
        .default(DEFAULT_OFFER_CONSTRAINTS_RE2_MAX_PROGRAM_SIZE);
        f
    }

    /// `(name, value)` of every flag that has a value, sorted by name: what `/master/flags`
    /// and `/master/state` show, values in stout's formats. Only the values are kept after
    /// loading, so a flag loaded under a deprecated alias is shown under its own name here
    /// (C++ shows the alias).
    pub fn to_pairs(&self) -> Vec<(String, String)> {
        let mut flags = Self::declare();
        *flags.values_mut() = self.clone();
        flags.to_pairs()
    }

    /// Loads `MESOS_*` variables (from `environment`, or the process environment if `None`)
    /// and `argv` (program name first), refuses unsupported flags, then runs
    /// [`MasterFlags::validate`].
    ///
    /// With `--help` or `--version` the result is `Ok` even if loading failed, as `main.cpp`
    /// prints the usage or version before it looks at load errors; the caller checks
    /// `flags.help()` and `flags.version` first.
    pub fn load<S: AsRef<str>>(
        argv: &[S],
        environment: Option<Vec<(String, String)>>,
    ) -> Result<LoadedFlags, MasterFlagsError> {
        let mut flags = Self::declare();
        let options = LoadOptions { prefix: Some(ENVIRONMENT_PREFIX.to_string()), environment, ..Default::default() };
        let loaded = flags.load_from(argv, &options);
        if flags.help() || flags.version {
            let warnings = loaded.map(|loaded| loaded.warnings).unwrap_or_default();
            return Ok(LoadedFlags { flags, warnings });
        }
        let loaded = loaded?;
        check_supported(&flags)?;
        flags.validate().map_err(MasterFlagsError::Invalid)?;
        Ok(LoadedFlags { flags, warnings: loaded.warnings })
    }

    /// The start-up checks of `main.cpp`, `logging::initialize` and `Master::initialize`, in
    /// that order, with their complaints.
    pub fn validate(&self) -> Result<(), String> {
        if !matches!(self.logging_level.as_str(), "INFO" | "WARNING" | "ERROR") {
            return Err(format!(
                "'{}' is not a valid logging level. Possible values for 'logging_level' flag are: 'INFO', \
                 'WARNING', 'ERROR'.",
                self.logging_level
            ));
        }
        if self.ip.is_some() && self.ip_discovery_command.is_some() {
            return Err("Only one of `--ip` or `--ip_discovery_command` should be specified".into());
        }
        for (name, ip) in [("ip", &self.ip), ("advertise_ip", &self.advertise_ip)] {
            if let Some(ip) = ip {
                if ip.parse::<IpAddr>().is_err() {
                    return Err(format!("Invalid value '{ip}' for --{name}: not an IP address"));
                }
            }
        }
        if let Some(port) = &self.advertise_port {
            if port.parse::<u16>().is_err() {
                return Err(format!("Invalid value '{port}' for --advertise_port: not a port number"));
            }
        }
        if self.zk.is_none() {
            if self.master_contender.is_some() != self.master_detector.is_some() {
                return Err("Both --master_contender and --master_detector should be specified or omitted.".into());
            }
        } else if self.master_contender.is_some() || self.master_detector.is_some() {
            return Err("Only one of --zk or the --master_contender/--master_detector pair should be specified.".into());
        }
        if self.modules.is_some() && self.modules_dir.is_some() {
            return Err("Only one of --modules or --modules_dir should be specified".into());
        }
        match self.registry.as_str() {
            "in_memory" => {}
            // `log_storage` is the name `replicated_log` had before 0.19; upstream still takes it.
            "replicated_log" | "log_storage" => {
                if self.work_dir.is_none() {
                    return Err("--work_dir needed for replicated log based registry".into());
                }
                if self.zk.is_some() && self.quorum.is_none() {
                    return Err(
                        "Need to specify --quorum for replicated log based registry when using ZooKeeper".into()
                    );
                }
            }
            other => return Err(format!("'{other}' is not a supported option for registry persistence")),
        }
        if let Some(zk) = &self.zk {
            if !zk.value.trim().starts_with("zk://") {
                return Err("Error parsing ZooKeeper URL: Expecting 'zk://' at the beginning of the URL".into());
            }
        }
        if self.agent_reregister_timeout < MIN_AGENT_REREGISTER_TIMEOUT {
            return Err(format!(
                "Invalid value '{}' for --agent_reregister_timeout: Must be at least {}",
                self.agent_reregister_timeout.stringify(),
                MIN_AGENT_REREGISTER_TIMEOUT.stringify()
            ));
        }
        self.recovery_agent_removal_limit()?;
        self.agent_removal_rate()?;
        self.role_whitelist()?;
        self.weights()?;
        if let Some(timeout) = self.offer_timeout {
            if timeout.is_zero() {
                return Err(format!(
                    "Invalid value '{}' for --offer_timeout: Must be greater than zero",
                    timeout.stringify()
                ));
            }
        }
        self.min_allocatable_resources()?;
        Ok(())
    }

    /// `--recovery_agent_removal_limit` as a fraction in `[0, 1]`.
    pub fn recovery_agent_removal_limit(&self) -> Result<f64, String> {
        let text = &self.recovery_agent_removal_limit;
        let invalid = |why: &str| format!("Invalid value '{text}' for --recovery_agent_removal_percent_limit: {why}");
        let Some(number) = text.strip_suffix('%') else {
            return Err(invalid("missing '%'"));
        };
        let percent = f64::parse(number).map_err(|error| invalid(&error))?;
        if !(0.0..=100.0).contains(&percent) {
            return Err(invalid("Must be within [0%-100%]"));
        }
        Ok(percent / 100.0)
    }

    /// `--agent_removal_rate_limit` as permits per duration, `None` without the flag. C++
    /// parses it in `main` and exits on a bad value with these messages; a rate C++'s
    /// `RateLimiter` would CHECK-fail on (no permits, a zero duration) is refused here too.
    pub fn agent_removal_rate(&self) -> Result<Option<(u32, Duration)>, String> {
        let Some(text) = &self.agent_removal_rate_limit else { return Ok(None) };
        let invalid = |why: Option<&str>| {
            let mut message =
                format!("Invalid agent_removal_rate_limit: {text}. Format is <Number of agents>/<Duration>");
            if let Some(why) = why {
                message.push_str(": ");
                message.push_str(why);
            }
            message
        };
        // stout `strings::tokenize` drops empty tokens.
        let tokens: Vec<&str> = text.split('/').filter(|t| !t.is_empty()).collect();
        let [permits, duration] = tokens[..] else { return Err(invalid(None)) };
        let permits: i32 =
            permits.parse().map_err(|_| invalid(Some(&format!("Failed to convert '{permits}' to number"))))?;
        let duration = Duration::parse(duration).map_err(|error| invalid(Some(&error)))?;
        let permits = u32::try_from(permits).ok().filter(|p| *p > 0);
        match permits {
            Some(permits) if !duration.is_zero() => Ok(Some((permits, duration))),
            _ => Err(invalid(Some("the rate must be positive"))),
        }
    }

    /// The `--roles` whitelist plus `*` (always allowed), or `None` without `--roles`
    /// (C++ `roleWhitelist`).
    pub fn role_whitelist(&self) -> Result<Option<BTreeSet<String>>, String> {
        let Some(roles) = &self.roles else { return Ok(None) };
        let mut whitelist = BTreeSet::new();
        for role in roles.split(',').filter(|role| !role.is_empty()) {
            validate_role(role).map_err(|error| format!("Failed to parse roles: {error}"))?;
            whitelist.insert(role.to_string());
        }
        whitelist.insert("*".to_string());
        Ok(Some(whitelist))
    }

    /// `--weights` by role (empty without the flag), checked against the role whitelist.
    pub fn weights(&self) -> Result<BTreeMap<String, f64>, String> {
        let Some(weights) = &self.weights else { return Ok(BTreeMap::new()) };
        let whitelist = self.role_whitelist()?;
        parse_weights(weights, whitelist.as_ref()).map_err(|error| error.to_string())
    }

    /// `--min_allocatable_resources`, parsed.
    pub fn min_allocatable_resources(&self) -> Result<Vec<ResourceQuantities>, String> {
        parse_min_allocatable_resources(&self.min_allocatable_resources).map_err(|error| {
            format!("Error parsing min_allocatable_resources '{}': {error}", self.min_allocatable_resources)
        })
    }

    /// The allocator's options from these flags (`Master::initialize`).
    pub fn allocator_options(&self) -> Result<allocator::Options, String> {
        Ok(allocator::Options {
            allocation_interval: self.allocation_interval,
            fairness_exclude_resource_names: self
                .fair_sharing_excluded_resource_names
                .as_ref()
                .map(|names| names.0.iter().cloned().collect::<HashSet<_>>()),
            filter_gpu_resources: self.filter_gpu_resources,
            min_allocatable_resources: Some(self.min_allocatable_resources()?),
            ..Default::default()
        })
    }

    /// The registrar's flags.
    pub fn registrar_flags(&self) -> RegistrarFlags {
        RegistrarFlags {
            registry_fetch_timeout: self.registry_fetch_timeout,
            registry_store_timeout: self.registry_store_timeout,
        }
    }
}

/// `logging::Flags`, which every Mesos daemon's flags inherit.
fn declare_logging(f: &mut Flags<MasterFlags>) {
    mesos::declare_logging_flags!(f);
}

/// Fails on the first flag, by name, that is loaded with a non-default value and is not in
/// [`SUPPORTED_FLAGS`].
fn check_supported(flags: &Flags<MasterFlags>) -> Result<(), MasterFlagsError> {
    match mesos::flags::first_unsupported(flags, &MasterFlags::declare(), SUPPORTED_FLAGS) {
        Some(name) => Err(MasterFlagsError::Unsupported(name)),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_supported_flag_is_declared() {
        let flags = MasterFlags::declare();
        for name in SUPPORTED_FLAGS {
            assert!(flags.get(name).is_some_and(|flag| flag.name.value == *name), "{name}");
        }
    }

    #[test]
    fn name_set_parses_and_prints_like_stout() {
        let set = NameSet::parse("gpus,,fpgas").unwrap();
        assert_eq!(set.stringify(), "{ fpgas, gpus }");
        assert_eq!(NameSet::parse("a,a").unwrap_err(), "Duplicate token 'a'");
    }
}
