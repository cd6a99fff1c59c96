//! The agent's command-line flags (`--master=10.0.0.1:5050`, `MESOS_WORK_DIR=/var/lib/mesos`) with upstream's names, aliases and defaults; mirrors `src/slave/flags.cpp` (plus `src/logging/flags.cpp`, which C++ `slave::Flags` inherits) and the flag checks of `src/slave/main.cpp`, `Containerizer::create`, `MesosContainerizer::create` and `Slave::initialize`.
//!
//! Every flag a default Linux build of the C++ agent declares is declared here, so a command
//! line written for it parses. Not all of them do anything yet. A flag outside
//! [`SUPPORTED_FLAGS`] that is given (on the command line or as `MESOS_*`) with a value other
//! than its default makes [`SlaveFlags::load`] fail with
//! `Flag '--<name>' is not supported yet by this agent`; nothing is silently ignored. Giving
//! such a flag its default value is accepted, since the agent then behaves as asked. Some
//! supported flags take only some of upstream's values (`--launcher=posix`,
//! `--containerizers=mesos`, the `posix/*` and `cgroups/*` cpu and memory isolators, a
//! `--master` that is not a ZooKeeper URL); another known value is refused with
//! [`SlaveFlagsError::UnsupportedValue`].
//!
//! Left out, as a default `./configure` leaves them out upstream: the SSL flags
//! (`--jwt_secret_key`, `--authenticate_http_executors`), and those of the port-mapping,
//! network-ports, XFS and seccomp isolators.
//!
//! Defaults that differ from a C++ agent on the same machine: `--launcher` is `posix` (C++
//! picks `linux` when it runs as root with cgroups). Defaults that depend on the machine, as in
//! C++: the `--appc_store_dir`, `--docker_store_dir` and `--fetcher_cache_dir` trees sit under
//! `$TMPDIR` (or `/tmp`), and `--runtime_dir` is `/var/run/mesos` if `/var/run` is readable
//! and writable, else `<tmp>/mesos/runtime`.
//!
//! Checks: the flag validators of `flags.cpp` run during the load, except the one of
//! `--cgroups_limit_swap`, which looks at the machine's cgroup mounts (the flag is refused as
//! unsupported anyway); [`SlaveFlags::validate`] then applies, in upstream's order, what
//! `main.cpp`, the containerizer factories and `Slave::initialize` check at start-up. Checks of
//! flags that can only hold their default here (modules, domain sockets, credentials, the
//! reconfiguration policy) are not ported.

use std::collections::BTreeSet;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use mesos::attributes::Attributes;
use mesos::bytes::Bytes;
use mesos::field;
use mesos::flags::{read_file, FlagValue, Flags, FlagsError, LoadOptions, SecurePathOrValue, Warning};
use mesos::resources::Resources;
use serde_json::{Map, Value};

use crate::constants::*;
use crate::resources::{self, Machine};

/// The environment prefix of agent flags (`MESOS_PORT` sets `--port`).
pub const ENVIRONMENT_PREFIX: &str = "MESOS_";

/// Default of `--port` (the default of `SlaveInfo.port`).
pub const DEFAULT_PORT: u16 = 5051;

/// Default of `--launcher_dir`: upstream's `PKGLIBEXECDIR` with the default install prefix.
pub const DEFAULT_LAUNCHER_DIR: &str = "/usr/local/libexec/mesos";

/// Default of `--isolation` (non-Windows).
pub const DEFAULT_ISOLATION: &str = "posix/cpu,posix/mem";

/// Default of `--launcher` here; see the module doc.
pub const DEFAULT_LAUNCHER: &str = "posix";

/// Longest path of a unix domain socket, plus one (`DOMAIN_SOCKET_MAX_PATH_LENGTH`).
const DOMAIN_SOCKET_MAX_PATH_LENGTH: usize = 108;

/// The flags this agent acts on (see the module doc); any other flag must keep its default.
pub const SUPPORTED_FLAGS: &[&str] = &[
    "advertise_ip",
    "advertise_port",
    "attributes",
    "containerizers",
    "default_role",
    "disk_watch_interval",
    "executor_registration_timeout",
    "executor_reregistration_timeout",
    "executor_shutdown_grace_period",
    "frameworks_home",
    "gc_delay",
    "gc_disk_headroom",
    "help",
    "hostname",
    "hostname_lookup",
    "http_command_executor",
    "initialize_driver_logging",
    "ip",
    "isolation",
    "launcher",
    "launcher_dir",
    "logbufsecs",
    "logging_level",
    "master",
    "port",
    "quiet",
    "recover",
    "recovery_timeout",
    "registration_backoff_factor",
    "resources",
    "strict",
    "switch_user",
    "version",
    "work_dir",
];

/// The isolators this agent accepts in `--isolation`, after the deprecated names are
/// replaced. `filesystem/posix` is what upstream adds when no filesystem isolator is named.
pub const SUPPORTED_ISOLATORS: &[&str] = &["cgroups/cpu", "cgroups/mem", "filesystem/posix", "posix/cpu", "posix/mem"];

/// The isolators a default Linux build of the C++ agent knows (the built-in creators of
/// `MesosContainerizer::create`, plus the ones it always adds).
const UPSTREAM_ISOLATORS: &[&str] = &[
    "appc/runtime",
    "cgroups/all",
    "cgroups/blkio",
    "cgroups/cpu",
    "cgroups/cpuset",
    "cgroups/devices",
    "cgroups/hugetlb",
    "cgroups/mem",
    "cgroups/net_cls",
    "cgroups/net_prio",
    "cgroups/perf_event",
    "cgroups/pids",
    "disk/du",
    "docker/runtime",
    "docker/volume",
    "environment_secret",
    "filesystem/linux",
    "filesystem/posix",
    "filesystem/shared",
    "gpu/nvidia",
    "linux/capabilities",
    "linux/devices",
    "linux/nnp",
    "namespaces/ipc",
    "namespaces/pid",
    "network/cni",
    "posix/cpu",
    "posix/mem",
    "posix/rlimits",
    "volume/csi",
    "volume/host_path",
    "volume/image",
    "volume/sandbox_path",
    "volume/secret",
];

/// Deprecated isolator names and what upstream replaces them with (Linux).
const DEPRECATED_ISOLATORS: &[(&str, &[&str])] = &[
    ("cgroups", &["cgroups/cpu", "cgroups/mem"]),
    ("posix/disk", &["disk/du"]),
    ("process", &["posix/cpu", "posix/mem"]),
];

/// Prefix of the errors of `Containerizer::create` as `main.cpp` prints them.
const CONTAINERIZER_ERROR: &str = "Failed to create a containerizer: ";

/// Prefix of the errors of `MesosContainerizer::create`, wrapped by `Containerizer::create`.
const MESOS_CONTAINERIZER_ERROR: &str = "Failed to create a containerizer: Could not create MesosContainerizer: ";

/// Why the agent's flags were refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SlaveFlagsError {
    /// The flags framework refused the input (unknown flag, bad value, missing `--work_dir`,
    /// a validator of `flags.cpp`).
    #[error(transparent)]
    Load(#[from] FlagsError),
    /// A flag this agent does not implement was given a non-default value; the name is the
    /// spelling used (`slave_subsystems` for the alias of `agent_subsystems`).
    #[error("Flag '--{0}' is not supported yet by this agent")]
    Unsupported(String),
    /// A supported flag was given a value upstream accepts and this agent does not implement
    /// (`--launcher=linux`, one isolator of `--isolation`).
    #[error("Value '{value}' of flag '--{flag}' is not supported yet by this agent")]
    UnsupportedValue {
        /// The flag's name.
        flag: String,
        /// The value, or the part of it (one isolator) that is not supported.
        value: String,
    },
    /// `--master` is a ZooKeeper URL (not echoed: it may hold a password).
    #[error("Flag '--master' with a ZooKeeper URL is not supported yet by this agent; give the master's host:port")]
    ZooKeeper,
    /// A start-up check of `main.cpp`, the containerizer factories or `Slave::initialize`
    /// failed.
    #[error("{0}")]
    Invalid(String),
}

/// A JSON object given inline or (deprecated upstream) as an absolute path to a file holding
/// it; `file://` works as for every flag. Stands in for the protobuf-typed flags (`--acls`,
/// `--domain`, ...) and `JSON::Object` ones (`--executor_environment_variables`), whose
/// messages are not read yet. Shown in `/flags` as compact JSON with sorted keys, as stout
/// prints a `JSON::Object`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct JsonObject(pub Map<String, Value>);

impl FlagValue for JsonObject {
    fn parse(text: &str) -> Result<Self, String> {
        // stout reads a bare absolute path too, for compatibility with old command lines.
        let owned;
        let text = if text.starts_with('/') {
            owned = read_file(text)?;
            owned.as_str()
        } else {
            text
        };
        match serde_json::from_str::<Value>(text) {
            Ok(Value::Object(object)) => Ok(JsonObject(object)),
            Ok(_) => Err("Unexpected JSON type parsed".to_string()),
            Err(error) => Err(format!("Failed to parse JSON: {error}")),
        }
    }

    fn stringify(&self) -> String {
        sorted(&Value::Object(self.0.clone())).to_string()
    }
}

/// `value` with the keys of every object in sorted order (stout's objects are `std::map`s).
fn sorted(value: &Value) -> Value {
    match value {
        Value::Object(object) => {
            let mut keys: Vec<&String> = object.keys().collect();
            keys.sort();
            Value::Object(keys.into_iter().map(|key| (key.clone(), sorted(&object[key]))).collect())
        }
        Value::Array(items) => Value::Array(items.iter().map(sorted).collect()),
        other => other.clone(),
    }
}

/// A comma-separated list of unsigned numbers (stout's `std::vector<unsigned int>` flag),
/// shown as `[ 0, 1 ]`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UintList(pub Vec<u32>);

impl FlagValue for UintList {
    fn parse(text: &str) -> Result<Self, String> {
        text.split(',').filter(|token| !token.is_empty()).map(u32::parse).collect::<Result<_, _>>().map(UintList)
    }

    fn stringify(&self) -> String {
        let items: Vec<String> = self.0.iter().map(u32::to_string).collect();
        format!("[ {} ]", items.join(", "))
    }
}

/// The agent's flag values; field names are the flag names (C++ `slave::Flags` and
/// `logging::Flags`). Load them with [`SlaveFlags::load`].
#[derive(Debug, Clone, Default)]
pub struct SlaveFlags {
    pub version: bool,
    pub hostname: Option<String>,
    pub hostname_lookup: bool,
    pub resources: Option<String>,
    pub resource_provider_config_dir: Option<String>,
    pub csi_plugin_config_dir: Option<String>,
    pub disk_profile_adaptor: Option<String>,
    pub isolation: String,
    pub launcher: String,
    pub image_providers: Option<String>,
    pub image_provisioner_backend: Option<String>,
    pub image_gc_config: Option<JsonObject>,
    pub appc_simple_discovery_uri_prefix: String,
    pub appc_store_dir: String,
    pub docker_registry: String,
    pub docker_store_dir: String,
    pub docker_volume_checkpoint_dir: String,
    pub docker_volume_chown: bool,
    pub docker_ignore_runtime: bool,
    pub default_role: String,
    pub attributes: Option<String>,
    pub fetcher_cache_size: Bytes,
    pub fetcher_cache_dir: String,
    pub fetcher_stall_timeout: Duration,
    pub work_dir: String,
    pub runtime_dir: String,
    pub launcher_dir: String,
    pub hadoop_home: Option<String>,
    pub max_completed_executors_per_framework: usize,
    pub switch_user: bool,
    pub volume_gid_range: Option<String>,
    pub http_heartbeat_interval: Duration,
    pub frameworks_home: String,
    pub registration_backoff_factor: Duration,
    pub authentication_backoff_factor: Duration,
    pub authentication_timeout_min: Duration,
    pub authentication_timeout_max: Duration,
    pub executor_environment_variables: Option<JsonObject>,
    pub executor_registration_timeout: Duration,
    pub executor_reregistration_timeout: Duration,
    pub executor_reregistration_retry_interval: Option<Duration>,
    pub executor_shutdown_grace_period: Duration,
    pub gc_delay: Duration,
    pub gc_disk_headroom: f64,
    pub gc_non_executor_container_sandboxes: bool,
    pub disk_watch_interval: Duration,
    pub container_logger: Option<String>,
    pub reconfiguration_policy: String,
    pub recover: String,
    pub recovery_timeout: Duration,
    pub strict: bool,
    // Linux only upstream.
    pub cgroups_destroy_timeout: Duration,
    pub cgroups_hierarchy: String,
    pub cgroups_root: String,
    pub cgroups_enable_cfs: bool,
    pub cgroups_limit_swap: bool,
    pub cgroups_cpu_enable_pids_and_tids_count: bool,
    pub cgroups_net_cls_primary_handle: Option<String>,
    pub cgroups_net_cls_secondary_handles: Option<String>,
    pub allowed_devices: Option<JsonObject>,
    pub agent_subsystems: Option<String>,
    pub host_path_volume_force_creation: Option<String>,
    pub nvidia_gpu_devices: Option<UintList>,
    pub perf_events: Option<String>,
    pub perf_interval: Duration,
    pub perf_duration: Duration,
    pub revocable_cpu_low_priority: bool,
    pub systemd_enable_support: bool,
    pub systemd_runtime_directory: String,
    pub effective_capabilities: Option<JsonObject>,
    pub bounding_capabilities: Option<JsonObject>,
    pub default_container_shm_size: Option<Bytes>,
    pub disallow_sharing_agent_ipc_namespace: bool,
    pub disallow_sharing_agent_pid_namespace: bool,
    // All platforms again.
    pub agent_features: Option<JsonObject>,
    pub firewall_rules: Option<JsonObject>,
    pub credential: Option<PathBuf>,
    pub acls: Option<JsonObject>,
    pub containerizers: String,
    pub docker: String,
    pub docker_remove_delay: Duration,
    pub docker_kill_orphans: bool,
    pub docker_mesos_image: Option<String>,
    pub docker_socket: String,
    pub docker_config: Option<JsonObject>,
    pub sandbox_directory: String,
    pub domain_socket_location: Option<String>,
    pub default_container_dns: Option<JsonObject>,
    pub default_container_info: Option<JsonObject>,
    pub docker_stop_timeout: Duration,
    pub network_cni_plugins_dir: Option<String>,
    pub network_cni_config_dir: Option<String>,
    pub network_cni_root_dir_persist: bool,
    pub network_cni_metrics: bool,
    pub container_disk_watch_interval: Duration,
    pub enforce_container_disk_quota: bool,
    pub modules: Option<JsonObject>,
    pub modules_dir: Option<String>,
    pub authenticatee: String,
    pub authorizer: String,
    pub http_authenticators: Option<String>,
    pub authenticate_http_readwrite: bool,
    pub authenticate_http_readonly: bool,
    pub http_executor_domain_sockets: bool,
    pub http_credentials: Option<PathBuf>,
    pub hooks: Option<String>,
    pub secret_resolver: Option<String>,
    pub resource_estimator: Option<String>,
    pub qos_controller: Option<String>,
    pub qos_correction_interval_min: Duration,
    pub oversubscribed_resources_interval: Duration,
    pub master_detector: Option<String>,
    pub http_command_executor: bool,
    pub ip: Option<String>,
    pub ip6: Option<String>,
    pub port: u16,
    pub advertise_ip: Option<String>,
    pub advertise_port: Option<String>,
    pub master: Option<SecurePathOrValue>,
    pub zk_session_timeout: Duration,
    pub ip_discovery_command: Option<String>,
    pub ip6_discovery_command: Option<String>,
    pub memory_profiling: bool,
    pub domain: Option<JsonObject>,
    // `logging::Flags`.
    pub quiet: bool,
    pub logging_level: String,
    pub log_dir: Option<String>,
    pub logbufsecs: i32,
    pub initialize_driver_logging: bool,
    pub external_log_file: Option<String>,
}

/// Flags after a successful [`SlaveFlags::load`].
pub struct LoadedFlags {
    /// The values (through `Deref`), the declarations for `usage()` and `to_pairs()`.
    pub flags: Flags<SlaveFlags>,
    /// To log once logging is up, as `main.cpp` and the containerizer do: deprecated flag
    /// spellings and deprecated isolator names used.
    pub warnings: Vec<Warning>,
}

/// `--isolation` after the checks of `MesosContainerizer::create`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Isolation {
    /// The isolators named, deprecated names replaced; nothing added.
    pub isolators: BTreeSet<String>,
    /// One per deprecated name used.
    pub warnings: Vec<Warning>,
}

/// stout `os::temp()`: `$TMPDIR`, or `/tmp`.
fn temp_dir() -> PathBuf {
    std::env::var_os("TMPDIR").map(PathBuf::from).unwrap_or_else(|| PathBuf::from("/tmp"))
}

fn under_temp(parts: &[&str]) -> String {
    let mut path = temp_dir();
    path.extend(parts);
    path.to_string_lossy().into_owned()
}

/// Whether this process may read and write `path` (`access(R_OK | W_OK)`).
fn accessible(path: &Path) -> bool {
    use std::os::unix::ffi::OsStrExt;
    let Ok(path) = std::ffi::CString::new(path.as_os_str().as_bytes()) else { return false };
    // SAFETY: `path` is a valid NUL-terminated string that outlives the call.
    unsafe { libc::access(path.as_ptr(), libc::R_OK | libc::W_OK) == 0 }
}

/// The default of `--runtime_dir` (see the module doc).
pub fn default_runtime_dir() -> String {
    let prefix = Path::new("/var/run");
    if accessible(prefix) {
        prefix.join("mesos").to_string_lossy().into_owned()
    } else {
        under_temp(&["mesos", "runtime"])
    }
}

impl SlaveFlags {
    /// All agent flags with upstream's defaults, not loaded yet (C++ `slave::Flags()`).
    pub fn declare() -> Flags<SlaveFlags> {
        let mut f = Flags::new(SlaveFlags::default());
        declare_logging(&mut f);

        f.add_optional(
            field!(hostname),
            "hostname",
            "Hostname this agent reports. Unset: looked up from the advertised IP, or the IP \
             itself with `--no-hostname_lookup`.",
        );
        f.add(
            field!(hostname_lookup),
            "hostname_lookup",
            "Resolve the hostname when `--hostname` is not given; if false, use the IP address.",
        )
        .default(true);
        f.add(field!(version), "version", "Print the version and exit.").default(false);
        f.add_optional(
            field!(resources),
            "resources",
            "The agent's total resources, as `name(role):value;...` (`cpus:8;mem:16384;\
             ports(web):[8000-8100]`), or as a JSON array of `Resource` objects, inline or in \
             a `file://` file. A name left out is detected on the machine (cpus, mem, disk) or \
             given its default (ports `[31000-32000]`); `name:0` turns detection off.",
        );
        f.add_optional(
            field!(resource_provider_config_dir),
            "resource_provider_config_dir",
            "Directory of local resource provider configurations, one JSON \
             `ResourceProviderInfo` per file.",
        );
        f.add_optional(
            field!(csi_plugin_config_dir),
            "csi_plugin_config_dir",
            "Directory of CSI plugin configurations, one JSON `CSIPluginInfo` (managed or \
             unmanaged plugin) per file.",
        );
        f.add_optional(
            field!(disk_profile_adaptor),
            "disk_profile_adaptor",
            "Module that turns disk profiles into CSI inputs for storage resource providers. \
             Unset: only pre-existing volumes are offered.",
        );
        f.add(
            field!(isolation),
            "isolation",
            "Comma-separated isolators of the Mesos containerizer. Here: `posix/cpu`, \
             `posix/mem`, `cgroups/cpu`, `cgroups/mem` (and the deprecated `process` and \
             `cgroups` for the pairs).",
        )
        .default(DEFAULT_ISOLATION.to_string());
        f.add(
            field!(launcher),
            "launcher",
            "How the Mesos containerizer starts processes: `posix` here (upstream also has \
             `linux`, for cgroups and namespaces).",
        )
        .default(DEFAULT_LAUNCHER.to_string());
        f.add_optional(
            field!(image_providers),
            "image_providers",
            "Comma-separated container image providers (`APPC`, `DOCKER`).",
        );
        f.add_optional(
            field!(image_provisioner_backend),
            "image_provisioner_backend",
            "How container root filesystems are built from images: `aufs`, `bind`, `copy` or \
             `overlay`.",
        );
        f.add_optional(
            field!(image_gc_config),
            "image_gc_config",
            "Automatic garbage collection of container images, as a JSON `ImageGcConfig` (text \
             or file). Unset: images are only collected through the operator API.",
        );
        f.add(
            field!(appc_simple_discovery_uri_prefix),
            "appc_simple_discovery_uri_prefix",
            "URI prefix for the simple discovery of appc images.",
        )
        .default("http://".to_string());
        f.add(field!(appc_store_dir), "appc_store_dir", "Where the appc provisioner keeps images.")
            .default(under_temp(&["mesos", "store", "appc"]));
        f.add(
            field!(docker_registry),
            "docker_registry",
            "Where the Mesos containerizer pulls Docker images from: a registry URL, or a local \
             directory or HDFS URI of `docker save` archives.",
        )
        .default("https://registry-1.docker.io".to_string());
        f.add(field!(docker_store_dir), "docker_store_dir", "Where the Docker provisioner keeps images.")
            .default(under_temp(&["mesos", "store", "docker"]));
        f.add(
            field!(docker_volume_checkpoint_dir),
            "docker_volume_checkpoint_dir",
            "Where the docker volumes each container uses are checkpointed.",
        )
        .default("/var/run/mesos/isolators/docker/volume".to_string());
        f.add(
            field!(docker_volume_chown),
            "docker_volume_chown",
            "Give a docker volume's mount point (not recursively) to the container's user.",
        )
        .default(false);
        f.add(
            field!(docker_ignore_runtime),
            "docker_ignore_runtime",
            "Ignore the runtime settings of Docker images (`WORKDIR`, `ENV`, `CMD`, ...).",
        )
        .default(false);
        f.add(
            field!(default_role),
            "default_role",
            "Role of the resources in `--resources` that name none, and of detected resources.",
        )
        .default("*".to_string());
        f.add_optional(
            field!(attributes),
            "attributes",
            "Attributes of this machine, `name:value;...` (`rack:r1;level:10;keys:[1000-1500]`).",
        );
        f.add(field!(fetcher_cache_size), "fetcher_cache_size", "Size of the fetcher cache.")
            .default(DEFAULT_FETCHER_CACHE_SIZE);
        f.add(
            field!(fetcher_cache_dir),
            "fetcher_cache_dir",
            "Directory of the fetcher cache, emptied when the agent starts; best on its own \
             volume.",
        )
        .default(under_temp(&["mesos", "fetch"]));
        f.add(
            field!(fetcher_stall_timeout),
            "fetcher_stall_timeout",
            "How long a network download may go below one byte per second before the fetcher \
             gives up on it (not HDFS).",
        )
        .default(DEFAULT_FETCHER_STALL_TIMEOUT);
        f.add(
            field!(work_dir),
            "work_dir",
            "The agent's work directory: sandboxes, and the checkpointed state it recovers \
             from. Required. Avoid directories that get cleaned, such as `/tmp`. Example: \
             `/var/lib/mesos/agent`.",
        );
        f.add(
            field!(runtime_dir),
            "runtime_dir",
            "Directory of data the agent keeps across its own restarts but not across reboots. \
             Example: `/var/run/mesos`.",
        )
        .default(default_runtime_dir());
        f.add(
            field!(launcher_dir),
            "launcher_dir",
            "Directory of the Mesos programs the agent runs (fetcher, containerizer, executors).",
        )
        .default(DEFAULT_LAUNCHER_DIR.to_string());
        f.add_optional(
            field!(hadoop_home),
            "hadoop_home",
            "Hadoop installation used to fetch from HDFS. Unset: `HADOOP_HOME`, or `hadoop` on \
             the `PATH`.",
        );
        f.add(
            field!(max_completed_executors_per_framework),
            "max_completed_executors_per_framework",
            "How many completed executors of each framework are kept in memory.",
        )
        .default(DEFAULT_MAX_COMPLETED_EXECUTORS_PER_FRAMEWORK);
        f.add(
            field!(switch_user),
            "switch_user",
            "Run tasks as the user of their framework (needs `setuid` and the user on this \
             machine); if false, as the agent's own user.",
        )
        .default(true);
        f.add_optional(
            field!(volume_gid_range),
            "volume_gid_range",
            "Group ids (`[10000-20000]`) to own shared persistent volumes and parent sandbox \
             volumes used by tasks of non-root users.",
        );
        f.add(
            field!(http_heartbeat_interval),
            "http_heartbeat_interval",
            "Heartbeat interval on the agent API's long-lived responses (attached container \
             output and nested container sessions).",
        )
        .default(DEFAULT_HTTP_HEARTBEAT_INTERVAL);
        f.add(field!(frameworks_home), "frameworks_home", "Directory put in front of relative executor URIs.")
            .default(String::new());
        f.add(
            field!(registration_backoff_factor),
            "registration_backoff_factor",
            &format!(
                "The first (re)registration with a new master is tried after a random delay in \
                 `[0, factor]`; each retry doubles the bound, up to {}.",
                REGISTER_RETRY_INTERVAL_MAX.stringify()
            ),
        )
        .default(DEFAULT_REGISTRATION_BACKOFF_FACTOR);
        f.add(
            field!(authentication_backoff_factor),
            "authentication_backoff_factor",
            "An authentication attempt times out after a random time in `[min, min + \
             factor * 2^n]`, `n` the failures so far.",
        )
        .default(DEFAULT_AUTHENTICATION_BACKOFF_FACTOR);
        f.add(
            field!(authentication_timeout_min),
            "authentication_timeout_min",
            "Shortest wait before an authentication attempt is retried.",
        )
        .default(DEFAULT_AUTHENTICATION_TIMEOUT_MIN);
        f.add(
            field!(authentication_timeout_max),
            "authentication_timeout_max",
            "Longest wait before an authentication attempt is retried.",
        )
        .default(DEFAULT_AUTHENTICATION_TIMEOUT_MAX);
        f.add_optional(
            field!(executor_environment_variables),
            "executor_environment_variables",
            "Environment of executors (and so of their tasks), as a JSON object of strings. \
             Unset: executors get no environment beyond Mesos' own variables.",
        )
        .validate(|object| match object {
            Some(object) if object.0.values().any(|value| !value.is_string()) => {
                Err("`executor_environment_variables` must only contain string values".into())
            }
            _ => Ok(()),
        });
        f.add(
            field!(executor_registration_timeout),
            "executor_registration_timeout",
            "How long a launched executor has to register before it counts as hung and is shut \
             down.",
        )
        .default(EXECUTOR_REGISTRATION_TIMEOUT);
        f.add(
            field!(executor_reregistration_timeout),
            "executor_reregistration_timeout",
            &format!(
                "How long executors have to reregister with a restarted agent before they count \
                 as gone; the agent reregisters with the master only after it. At most {}.",
                MAX_EXECUTOR_REREGISTRATION_TIMEOUT.stringify()
            ),
        )
        .default(EXECUTOR_REREGISTRATION_TIMEOUT)
        .validate(|timeout| {
            if *timeout > MAX_EXECUTOR_REREGISTRATION_TIMEOUT {
                Err(format!(
                    "Expected `--executor_reregistration_timeout` to be not more than {}",
                    MAX_EXECUTOR_REREGISTRATION_TIMEOUT.stringify()
                ))
            } else {
                Ok(())
            }
        });
        f.add_optional(
            field!(executor_reregistration_retry_interval),
            "executor_reregistration_retry_interval",
            "During recovery, resend the reconnect message to v0 executors at this interval, for \
             executors built with Mesos before 1.1.2 that do not re-link (MESOS-5332). Unset: \
             sent once.",
        );
        f.add(
            field!(executor_shutdown_grace_period),
            "executor_shutdown_grace_period",
            "Default time an executor gets to exit after a shutdown \
             (`ExecutorInfo.shutdown_grace_period` overrides it); it may get less.",
        )
        .default(DEFAULT_EXECUTOR_SHUTDOWN_GRACE_PERIOD);
        f.add(
            field!(gc_delay),
            "gc_delay",
            "Longest time a finished executor's directories are kept; less when the disk fills \
             up (see `--gc_disk_headroom`).",
        )
        .default(GC_DELAY);
        f.add(
            field!(gc_disk_headroom),
            "gc_disk_headroom",
            "Share of the disk garbage collection tries to keep free, in [0, 1]: directories \
             older than `gc_delay * max(0, 1 - headroom - disk usage)` are removed at every \
             `--disk_watch_interval`.",
        )
        .default(GC_DISK_HEADROOM);
        f.add(
            field!(gc_non_executor_container_sandboxes),
            "gc_non_executor_container_sandboxes",
            "Garbage-collect the sandboxes of containers started through LAUNCH_CONTAINER and \
             LAUNCH_NESTED_CONTAINER when they end.",
        )
        .default(false);
        f.add(
            field!(disk_watch_interval),
            "disk_watch_interval",
            "How often the disk usage is checked to speed up garbage collection.",
        )
        .default(DISK_WATCH_INTERVAL);
        f.add_optional(
            field!(container_logger),
            "container_logger",
            "Module that takes executors' and tasks' stdout and stderr. Unset: the `stdout` and \
             `stderr` files of the sandbox.",
        );
        f.add(
            field!(recover),
            "recover",
            "What to do with the executors of a previous run: `reconnect` to them, or \
             `cleanup` (kill them and exit; for incompatible upgrades).",
        )
        .default("reconnect".to_string());
        f.add(
            field!(recovery_timeout),
            "recovery_timeout",
            "How long executors wait for a restarted agent before they exit. Best near the \
             master's `--agent_reregister_timeout` for frameworks that are not partition-aware.",
        )
        .default(RECOVERY_TIMEOUT);
        f.add(
            field!(reconfiguration_policy),
            "reconfiguration_policy",
            "Which changes of the agent's resources, attributes and domain a restart over old \
             state accepts: `equal` (none) or `additive` (additions only).",
        )
        .default("equal".to_string());
        f.add(
            field!(strict),
            "strict",
            "Treat every recovery error as fatal; if false, skip what cannot be recovered and \
             keep the rest.",
        )
        .default(true);

        // Linux only upstream.
        f.add(
            field!(cgroups_destroy_timeout),
            "cgroups_destroy_timeout",
            "How long destroying a container's cgroups may take before the destroy fails.",
        )
        .default(Duration::from_secs(60));
        f.add(field!(cgroups_hierarchy), "cgroups_hierarchy", "Where the cgroup hierarchies are mounted.")
            .default("/sys/fs/cgroup".to_string());
        f.add(field!(cgroups_root), "cgroups_root", "Name of the agent's root cgroup.").default("mesos".to_string());
        f.add(
            field!(cgroups_enable_cfs),
            "cgroups_enable_cfs",
            "Hard-limit containers' CPU with CFS bandwidth control.",
        )
        .default(false);
        f.add(
            field!(cgroups_limit_swap),
            "cgroups_limit_swap",
            "Limit memory plus swap instead of memory alone (cgroups v1 only).",
        )
        .default(false);
        f.add(
            field!(cgroups_cpu_enable_pids_and_tids_count),
            "cgroups_cpu_enable_pids_and_tids_count",
            "Count the processes and threads in each container.",
        )
        .default(false);
        f.add_optional(
            field!(cgroups_net_cls_primary_handle),
            "cgroups_net_cls_primary_handle",
            "Non-zero 16-bit primary handle (`0xAAAA`) of the net_cls cgroup.",
        );
        f.add_optional(
            field!(cgroups_net_cls_secondary_handles),
            "cgroups_net_cls_secondary_handles",
            "Range `0xAAAA,0xBBBB` of secondary handles under the primary one.",
        );
        f.add_optional(
            field!(allowed_devices),
            "allowed_devices",
            "Devices the `cgroups/devices` isolator allows besides the usual terminal, null, \
             zero and random devices, as a JSON `DeviceWhitelist`.",
        );
        f.add_optional(
            field!(agent_subsystems),
            "agent_subsystems",
            "Comma-separated cgroup subsystems (`memory,cpuacct`) to run the agent itself in, \
             for monitoring; no limits are set.",
        )
        .deprecated_alias("slave_subsystems");
        f.add_optional(
            field!(host_path_volume_force_creation),
            "host_path_volume_force_creation",
            "Colon-separated directories under which `volume/host_path` may create missing \
             directories.",
        );
        f.add_optional(
            field!(nvidia_gpu_devices),
            "nvidia_gpu_devices",
            "Comma-separated NVML indices of the GPUs to offer when `--resources` has `gpus` \
             and `--isolation` has `gpu/nvidia`.",
        );
        f.add_optional(
            field!(perf_events),
            "perf_events",
            "Comma-separated perf events to sample in each container (`perf_event` isolator).",
        );
        f.add(field!(perf_interval), "perf_interval", "Time between the starts of two perf samples.")
            .default(Duration::from_secs(60));
        f.add(field!(perf_duration), "perf_duration", "Length of one perf sample; less than `--perf_interval`.")
            .default(Duration::from_secs(10));
        f.add(
            field!(revocable_cpu_low_priority),
            "revocable_cpu_low_priority",
            "Run containers on revocable CPU at a lower priority (`cgroups/cpu`).",
        )
        .default(true);
        f.add(
            field!(systemd_enable_support),
            "systemd_enable_support",
            "Use systemd when the agent runs as a systemd unit (executors outlive agent \
             restarts).",
        )
        .default(true);
        f.add(field!(systemd_runtime_directory), "systemd_runtime_directory", "systemd's runtime directory.")
            .default("/run/systemd/system".to_string());
        f.add_optional(
            field!(effective_capabilities),
            "effective_capabilities",
            "Linux capabilities given to tasks by default, as a JSON `CapabilityInfo` \
             (`linux/capabilities` isolator). Unset: all.",
        )
        .deprecated_alias("allowed_capabilities");
        f.add_optional(
            field!(bounding_capabilities),
            "bounding_capabilities",
            "Most Linux capabilities a task may get, as a JSON `CapabilityInfo` \
             (`linux/capabilities` isolator). Unset: all.",
        );
        f.add_optional(
            field!(default_container_shm_size),
            "default_container_shm_size",
            "Size of `/dev/shm` of containers with their own and no `shm_size` \
             (`namespaces/ipc` isolator).",
        );
        f.add(
            field!(disallow_sharing_agent_ipc_namespace),
            "disallow_sharing_agent_ipc_namespace",
            "Give every top-level container its own IPC namespace and `/dev/shm`, refusing \
             those that ask to share the agent's (`namespaces/ipc` isolator).",
        )
        .default(false);
        f.add(
            field!(disallow_sharing_agent_pid_namespace),
            "disallow_sharing_agent_pid_namespace",
            "Give every top-level container its own pid namespace, refusing those that ask to \
             share the agent's (`namespaces/pid` isolator).",
        )
        .default(false);

        f.add_optional(
            field!(agent_features),
            "agent_features",
            "The agent capabilities to advertise, as a JSON `SlaveCapabilities`; MULTI_ROLE, \
             HIERARCHICAL_ROLE, RESERVATION_REFINEMENT, AGENT_OPERATION_FEEDBACK, \
             RESOURCE_PROVIDER, AGENT_DRAINING and TASK_RESOURCE_LIMITS are required.",
        )
        .validate(|features| match features {
            Some(features) => check_agent_features(features),
            None => Ok(()),
        });
        f.add_optional(
            field!(firewall_rules),
            "firewall_rules",
            "Endpoint firewall rules (the `Firewall` message) as JSON text or a file, e.g. \
             `disabled_endpoints`.",
        );
        f.add_optional(
            field!(credential),
            "credential",
            "JSON file (`/path` or `file:///path`) with the `principal` and `secret` this agent \
             authenticates to the master with.",
        );
        f.add_optional(
            field!(acls),
            "acls",
            "ACLs (see `acls.proto`) as JSON text or a file; ignored unless `--authorizer` is \
             the default `local`.",
        );
        f.add(
            field!(containerizers),
            "containerizers",
            "Comma-separated containerizers, tried in order: `mesos` here (upstream also has \
             `docker`).",
        )
        .default("mesos".to_string());
        f.add(field!(docker), "docker", "Path of the docker program used by the Docker containerizer.")
            .default("docker".to_string());
        f.add(
            field!(docker_remove_delay),
            "docker_remove_delay",
            "How long a terminated Docker container is kept before `docker rm`.",
        )
        .default(DOCKER_REMOVE_DELAY);
        f.add(
            field!(docker_kill_orphans),
            "docker_kill_orphans",
            "Kill Docker containers this agent does not know; turn off when several agents \
             share a machine.",
        )
        .default(true);
        f.add_optional(
            field!(docker_mesos_image),
            "docker_mesos_image",
            "Docker image this agent runs in; executors then run in Docker containers too, so \
             that they survive agent restarts.",
        );
        f.add(
            field!(docker_socket),
            "docker_socket",
            "Socket of the Docker daemon, as seen from the agent's image when it runs in one.",
        )
        .default(DEFAULT_DOCKER_HOST_RESOURCE.to_string());
        f.add_optional(
            field!(docker_config),
            "docker_config",
            "Default Docker config (`~/.docker/config.json` format), as JSON text or a file.",
        );
        f.add(field!(sandbox_directory), "sandbox_directory", "Where a container sees its sandbox mapped.")
            .default("/mnt/mesos/sandbox".to_string());
        f.add_optional(
            field!(domain_socket_location),
            "domain_socket_location",
            "Path of the unix socket executors reach the agent on (with \
             `--http_executor_domain_sockets`), or `systemd:<name>` for one passed by systemd. \
             Shorter than 108 characters. Unset: `<runtime_dir>/agent.sock`.",
        )
        .validate(|location| match location {
            Some(location) if location.len() >= DOMAIN_SOCKET_MAX_PATH_LENGTH => {
                Err("Domain socket location cannot be longer than 108 characters.".into())
            }
            _ => Ok(()),
        });
        f.add_optional(
            field!(default_container_dns),
            "default_container_dns",
            "Default DNS settings of CNI and CNM networks, as a JSON `ContainerDNSInfo`.",
        );
        f.add_optional(
            field!(default_container_info),
            "default_container_info",
            "JSON `ContainerInfo` given to executors that come without one.",
        );
        f.add(
            field!(docker_stop_timeout),
            "docker_stop_timeout",
            "Deprecated (use kill policies): how long `docker stop` waits before it kills.",
        )
        .default(Duration::ZERO);
        f.add_optional(
            field!(network_cni_plugins_dir),
            "network_cni_plugins_dir",
            "Search path of CNI plugin programs (`network/cni` isolator).",
        );
        f.add_optional(
            field!(network_cni_config_dir),
            "network_cni_config_dir",
            "Directory of CNI network configurations, one JSON file per network.",
        );
        f.add(
            field!(network_cni_root_dir_persist),
            "network_cni_root_dir_persist",
            "Keep the CNI root directory across reboots.",
        )
        .default(false);
        f.add(field!(network_cni_metrics), "network_cni_metrics", "Publish the network metrics of the CNI isolator.")
            .default(true);
        f.add(
            field!(container_disk_watch_interval),
            "container_disk_watch_interval",
            "Time between disk quota checks of containers (`disk/du`).",
        )
        .default(Duration::from_secs(15));
        f.add(
            field!(enforce_container_disk_quota),
            "enforce_container_disk_quota",
            "Enforce containers' disk quotas (`disk/du`).",
        )
        .default(false);
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
            field!(authenticatee),
            "authenticatee",
            &format!("How the agent authenticates to the master: `{DEFAULT_AUTHENTICATEE}` or a module."),
        )
        .default(DEFAULT_AUTHENTICATEE.to_string());
        f.add(
            field!(authorizer),
            "authorizer",
            &format!("Authorizer: `{DEFAULT_AUTHORIZER}` (driven by `--acls`) or a module."),
        )
        .default(DEFAULT_AUTHORIZER.to_string());
        f.add_optional(
            field!(http_authenticators),
            "http_authenticators",
            "HTTP authenticator of the endpoints: `basic` or a module.",
        );
        f.add(
            field!(authenticate_http_readwrite),
            "authenticate_http_readwrite",
            "Require authentication on read-write HTTP endpoints that support it.",
        )
        .default(false);
        f.add(
            field!(authenticate_http_readonly),
            "authenticate_http_readonly",
            "Require authentication on read-only HTTP endpoints that support it.",
        )
        .default(false);
        f.add(
            field!(http_executor_domain_sockets),
            "http_executor_domain_sockets",
            "Offer executors a unix socket to reach the agent instead of TCP.",
        )
        .default(false);
        f.add_optional(
            field!(http_credentials),
            "http_credentials",
            "JSON file (`/path` or `file:///path`) of `{\"credentials\": [{\"principal\", \
             \"secret\"}]}` for the HTTP endpoints.",
        );
        f.add_optional(field!(hooks), "hooks", "Comma-separated hook modules to install.");
        f.add_optional(
            field!(secret_resolver),
            "secret_resolver",
            "Module resolving environment and file secrets. Unset: value secrets only; \
             references are errors.",
        );
        f.add_optional(
            field!(resource_estimator),
            "resource_estimator",
            "Module estimating oversubscribable resources.",
        );
        f.add_optional(field!(qos_controller), "qos_controller", "Module of the oversubscription QoS controller.");
        f.add(
            field!(qos_correction_interval_min),
            "qos_correction_interval_min",
            "Shortest time between two QoS corrections.",
        )
        .default(Duration::ZERO);
        f.add(
            field!(oversubscribed_resources_interval),
            "oversubscribed_resources_interval",
            "How often the master is told the oversubscribed resources.",
        )
        .default(Duration::from_secs(15));
        f.add_optional(
            field!(master_detector),
            "master_detector",
            "Module symbol of the master detector. Excludes `--master`.",
        );
        f.add(
            field!(http_command_executor),
            "http_command_executor",
            "Have the command executor use the HTTP executor API instead of the v0 driver \
             (experimental upstream).",
        )
        .default(false);
        f.add_optional(field!(ip), "ip", "IP address to listen on. Excludes `--ip_discovery_command`.");
        f.add_optional(
            field!(ip6),
            "ip6",
            "IPv6 address advertised for containers on the host network (not listened on). \
             Excludes `--ip6_discovery_command`.",
        );
        f.add(field!(port), "port", "Port to listen on.").default(DEFAULT_PORT);
        f.add_optional(
            field!(advertise_ip),
            "advertise_ip",
            "IP address others should use to reach this agent; not bound to.",
        );
        f.add_optional(
            field!(advertise_port),
            "advertise_port",
            "Port others should use (with `--advertise_ip`) to reach this agent; not bound to.",
        );
        f.add_optional(
            field!(master),
            "master",
            "The master: `host:port`, `zk://[user:password@]host:port,.../path`, or \
             `file:///path` of a file holding one of them. Required unless \
             `--master_detector` is given.",
        );
        f.add(field!(zk_session_timeout), "zk_session_timeout", "Session timeout of the ZooKeeper client.")
            .default(Duration::from_secs(10));
        f.add_optional(
            field!(ip_discovery_command),
            "ip_discovery_command",
            "Command whose output is the IP address to bind to. Excludes `--ip`.",
        );
        f.add_optional(
            field!(ip6_discovery_command),
            "ip6_discovery_command",
            "Command whose output is the IPv6 address to advertise. Excludes `--ip6`.",
        );
        f.add(
            field!(memory_profiling),
            "memory_profiling",
            "Expose libprocess's jemalloc memory profiling (needs jemalloc loaded).",
        )
        .default(false);
        f.add_optional(
            field!(domain),
            "domain",
            "This agent's fault domain (region and zone) as JSON text or a file; agents in \
             another region than the master are offered only to region-aware frameworks.",
        )
        .validate(|domain| match domain {
            Some(domain) if domain.0.get("fault_domain").is_none_or(Value::is_null) => {
                Err("`domain` must define `fault_domain`".into())
            }
            _ => Ok(()),
        });
        f
    }

    /// `(name, value)` of every flag that has a value, sorted by name: what `/slave(1)/flags`
    /// and `/slave(1)/state` show, values in stout's formats. Only the values are kept after
    /// loading, so a flag loaded under a deprecated alias is shown under its own name here
    /// (C++ shows the alias); [`Flags::to_pairs`] on [`LoadedFlags::flags`] keeps it.
    pub fn to_pairs(&self) -> Vec<(String, String)> {
        let mut flags = Self::declare();
        *flags.values_mut() = self.clone();
        flags.to_pairs()
    }

    /// Loads `MESOS_*` variables (from `environment`, or the process environment if `None`)
    /// and `argv` (program name first), refuses unsupported flags, then runs
    /// [`SlaveFlags::validate`].
    ///
    /// With `--help` or `--version` the result is `Ok` even if loading failed, as `main.cpp`
    /// prints the usage or version before it looks at load errors; the caller checks
    /// `flags.help()` and `flags.version` first.
    pub fn load<S: AsRef<str>>(
        argv: &[S],
        environment: Option<Vec<(String, String)>>,
    ) -> Result<LoadedFlags, SlaveFlagsError> {
        let mut flags = Self::declare();
        let options = LoadOptions { prefix: Some(ENVIRONMENT_PREFIX.to_string()), environment, ..Default::default() };
        let loaded = flags.load_from(argv, &options);
        if flags.help() || flags.version {
            let warnings = loaded.map(|loaded| loaded.warnings).unwrap_or_default();
            return Ok(LoadedFlags { flags, warnings });
        }
        let mut warnings = loaded?.warnings;
        check_supported(&flags)?;
        warnings.extend(flags.validate()?);
        Ok(LoadedFlags { flags, warnings })
    }

    /// The start-up checks of `main.cpp`, `logging::initialize`, the containerizer factories
    /// (`Containerizer::create`, `MesosContainerizer::create`), `MasterDetector::create` and
    /// `Slave::initialize`, in that order, with their complaints. Returns the warnings of
    /// deprecated isolator names.
    ///
    /// Beyond C++: `--default_role` is checked (C++ silently drops every detected resource
    /// when it is not a valid role, and registers without them), and the `--resources` and
    /// `--attributes` texts are parsed here so that a bad one stops the agent before it
    /// starts anything (C++ aborts on bad attributes).
    pub fn validate(&self) -> Result<Vec<Warning>, SlaveFlagsError> {
        let invalid = |message: String| SlaveFlagsError::Invalid(message);
        if !matches!(self.logging_level.as_str(), "INFO" | "WARNING" | "ERROR") {
            return Err(invalid(format!(
                "'{}' is not a valid logging level. Possible values for 'logging_level' flag are: 'INFO', \
                 'WARNING', 'ERROR'.",
                self.logging_level
            )));
        }
        match (&self.master, &self.master_detector) {
            (None, None) => return Err(invalid("Missing required option `--master` or `--master_detector`".into())),
            (Some(_), Some(_)) => {
                return Err(invalid("Only one of `--master` or `--master_detector` should be specified".into()))
            }
            _ => {}
        }
        if self.ip.is_some() && self.ip_discovery_command.is_some() {
            return Err(invalid("Only one of `--ip` or `--ip_discovery_command` should be specified".into()));
        }
        if self.ip6.is_some() && self.ip6_discovery_command.is_some() {
            return Err(invalid("Only one of `--ip6` or `--ip6_discovery_command` should be specified".into()));
        }
        // What libprocess refuses when `main.cpp` hands these over as `LIBPROCESS_*`.
        for (name, ip) in [("ip", &self.ip), ("advertise_ip", &self.advertise_ip)] {
            if let Some(ip) = ip {
                if ip.parse::<IpAddr>().is_err() {
                    return Err(invalid(format!("Invalid value '{ip}' for --{name}: not an IP address")));
                }
            }
        }
        if let Some(port) = &self.advertise_port {
            if port.parse::<u16>().is_err() {
                return Err(invalid(format!("Invalid value '{port}' for --advertise_port: not a port number")));
            }
        }

        let isolation = self.check_containerizers()?;
        self.check_master()?;

        if self.registration_backoff_factor > REGISTER_RETRY_INTERVAL_MAX {
            return Err(invalid(format!(
                "Invalid value '{}' for --registration_backoff_factor: Must be less than {}",
                self.registration_backoff_factor.stringify(),
                REGISTER_RETRY_INTERVAL_MAX.stringify()
            )));
        }
        if !(0.0..=1.0).contains(&self.gc_disk_headroom) {
            return Err(invalid(format!(
                "Invalid value '{}' for --gc_disk_headroom. Must be between 0.0 and 1.0",
                self.gc_disk_headroom.stringify()
            )));
        }
        self.parsed_resources().map_err(|error| invalid(format!("Failed to determine agent resources: {error}")))?;
        self.parsed_attributes().map_err(|error| invalid(format!("Failed to parse --attributes: {error}")))?;
        if self.recover != "reconnect" && self.recover != "cleanup" {
            return Err(invalid(format!(
                "Unknown option for 'recover' flag {}. Please run the agent with '--help' to see the valid options",
                self.recover
            )));
        }
        Ok(isolation.warnings)
    }

    /// `--containerizers`, `--isolation` and `--launcher` as `Containerizer::create` and
    /// `MesosContainerizer::create` check them (duplicates, unknown names, several
    /// filesystem or network isolators), then against what this agent implements.
    fn check_containerizers(&self) -> Result<Isolation, SlaveFlagsError> {
        let names: Vec<&str> = self.containerizers.split(',').collect();
        let unique: BTreeSet<&str> = names.iter().copied().collect();
        if unique.len() != names.len() {
            return Err(SlaveFlagsError::Invalid(format!(
                "{CONTAINERIZER_ERROR}Duplicate entries found in --containerizer flag '{}'",
                self.containerizers
            )));
        }
        // C++ creates them in name order and stops at the first failure.
        let mut isolation = Isolation::default();
        for name in &unique {
            match *name {
                "mesos" => {
                    // `MesosContainerizer::create`: the isolation checks, the launcher, then
                    // each isolator.
                    isolation = self.isolation()?;
                    self.check_launcher()?;
                    check_isolators(&isolation)?;
                }
                "docker" => {
                    return Err(SlaveFlagsError::UnsupportedValue {
                        flag: "containerizers".into(),
                        value: "docker".into(),
                    })
                }
                other => {
                    return Err(SlaveFlagsError::Invalid(format!(
                        "{CONTAINERIZER_ERROR}Unknown or unsupported containerizer: {other}"
                    )))
                }
            }
        }
        Ok(isolation)
    }

    /// `--launcher`: `linux` and `posix` are upstream's on Linux; only `posix` is here.
    fn check_launcher(&self) -> Result<(), SlaveFlagsError> {
        match self.launcher.as_str() {
            "posix" => Ok(()),
            "linux" => Err(SlaveFlagsError::UnsupportedValue { flag: "launcher".into(), value: "linux".into() }),
            other => Err(SlaveFlagsError::Invalid(format!(
                "{MESOS_CONTAINERIZER_ERROR}Failed to create launcher: Unknown or unsupported launcher: {other}"
            ))),
        }
    }

    /// The isolators `--isolation` names, as `MesosContainerizer::create` reads them: empty
    /// entries skipped, duplicates refused, deprecated names replaced (with a warning), at
    /// most one `filesystem/*` and one `network/*` isolator. Whether this agent implements
    /// them is checked by [`SlaveFlags::validate`].
    pub fn isolation(&self) -> Result<Isolation, SlaveFlagsError> {
        let tokens: Vec<&str> = self.isolation.split(',').filter(|token| !token.is_empty()).collect();
        let mut isolators: BTreeSet<String> = tokens.iter().map(|token| token.to_string()).collect();
        if isolators.len() != tokens.len() {
            return Err(SlaveFlagsError::Invalid(format!(
                "{MESOS_CONTAINERIZER_ERROR}Duplicate entries found in --isolation flag '[ {} ]'",
                tokens.join(", ")
            )));
        }
        let mut warnings = Vec::new();
        for (name, replacements) in DEPRECATED_ISOLATORS {
            if isolators.remove(*name) {
                warnings.push(Warning {
                    message: format!(
                        "The '{name}' isolation flag is deprecated, please update your flags to '--isolation={}'.",
                        replacements.join(",")
                    ),
                });
                isolators.extend(replacements.iter().map(|isolator| isolator.to_string()));
            }
        }
        if isolators.iter().filter(|isolator| isolator.starts_with("filesystem/")).count() > 1 {
            return Err(SlaveFlagsError::Invalid(format!(
                "{MESOS_CONTAINERIZER_ERROR}Using multiple filesystem isolators simultaneously is disallowed"
            )));
        }
        let networks = isolators
            .iter()
            .filter(|isolator| isolator.starts_with("network/") && *isolator != "network/ports")
            .count();
        if networks > 1 {
            return Err(SlaveFlagsError::Invalid(format!(
                "{MESOS_CONTAINERIZER_ERROR}Using multiple network isolators simultaneously is disallowed"
            )));
        }
        Ok(Isolation { isolators, warnings })
    }

    /// `--master` as `MasterDetector::create` reads it, short of resolving the host: a
    /// ZooKeeper URL is refused, anything else must be `[master@]host:port`.
    fn check_master(&self) -> Result<(), SlaveFlagsError> {
        let Some(master) = &self.master else { return Ok(()) };
        let text = master.value.trim();
        if text.starts_with("zk://") {
            return Err(SlaveFlagsError::ZooKeeper);
        }
        if self.master_address().is_none() {
            return Err(SlaveFlagsError::Invalid(format!(
                "Failed to create a master detector: Failed to parse '{}'",
                master.value
            )));
        }
        Ok(())
    }

    /// The master's host and port from `--master` (`host:port` or `master@host:port`, after
    /// a `file://` value has been read and trimmed); `None` without `--master`, for a
    /// ZooKeeper URL, or if it does not parse.
    pub fn master_address(&self) -> Option<(String, u16)> {
        let text = self.master.as_ref()?.value.trim();
        let address = text.strip_prefix("master@").unwrap_or(text);
        let (host, port) = address.rsplit_once(':')?;
        let port: u16 = port.parse().ok()?;
        if host.is_empty() || host.contains(['@', '/', ' ']) {
            return None;
        }
        Some((host.to_string(), port))
    }

    /// `--resources` parsed and validated with `--default_role`, nothing detected yet.
    pub fn parsed_resources(&self) -> Result<Resources, resources::AgentResourcesError> {
        resources::parse_resources(self.resources.as_deref(), &self.default_role)
    }

    /// `--attributes` parsed (empty without the flag).
    pub fn parsed_attributes(&self) -> Result<Attributes, mesos::attributes::AttributesError> {
        resources::parse_attributes(self.attributes.as_deref())
    }

    /// The agent's total resources: `--resources` with what it leaves out detected on
    /// `machine` (C++ `Containerizer::resources(flags)`).
    pub fn total_resources(&self, machine: &Machine) -> Result<Resources, resources::AgentResourcesError> {
        resources::agent_resources(self.resources.as_deref(), &self.default_role, machine)
    }
}

/// Refuses an isolator upstream does not know, or one this agent does not implement.
fn check_isolators(isolation: &Isolation) -> Result<(), SlaveFlagsError> {
    for isolator in &isolation.isolators {
        if SUPPORTED_ISOLATORS.contains(&isolator.as_str()) {
            continue;
        }
        return Err(if UPSTREAM_ISOLATORS.contains(&isolator.as_str()) {
            SlaveFlagsError::UnsupportedValue { flag: "isolation".into(), value: isolator.clone() }
        } else {
            SlaveFlagsError::Invalid(format!("{MESOS_CONTAINERIZER_ERROR}Unknown or unsupported isolator '{isolator}'"))
        });
    }
    Ok(())
}

/// The validator of `--agent_features`: every capability the agent cannot do without must be
/// listed (unknown names are dropped, as a protobuf parse drops them).
fn check_agent_features(features: &JsonObject) -> Result<(), String> {
    const REQUIRED: [&str; 7] = [
        "MULTI_ROLE",
        "HIERARCHICAL_ROLE",
        "RESERVATION_REFINEMENT",
        "AGENT_OPERATION_FEEDBACK",
        "RESOURCE_PROVIDER",
        "AGENT_DRAINING",
        "TASK_RESOURCE_LIMITS",
    ];
    let listed: BTreeSet<&str> = match features.0.get("capabilities") {
        // A single object counts as a list of one, as stout's protobuf parse reads it.
        Some(Value::Array(items)) => items.iter().collect::<Vec<_>>(),
        Some(item @ Value::Object(_)) => vec![item],
        _ => Vec::new(),
    }
    .into_iter()
    .filter_map(|item| item.get("type").and_then(Value::as_str))
    .collect();
    if REQUIRED.iter().all(|name| listed.contains(name)) {
        Ok(())
    } else {
        Err("At least the following agent features need to be enabled: MULTI_ROLE, HIERARCHICAL_ROLE, \
             RESERVATION_REFINEMENT, AGENT_OPERATION_FEEDBACK, RESOURCE_PROVIDER, AGENT_DRAINING, and \
             TASK_RESOURCE_LIMITS"
            .into())
    }
}

/// `logging::Flags`, which every Mesos daemon's flags inherit.
fn declare_logging(f: &mut Flags<SlaveFlags>) {
    mesos::declare_logging_flags!(f);
}

/// Fails on the first flag, by name, that is loaded with a non-default value and is not in
/// [`SUPPORTED_FLAGS`].
fn check_supported(flags: &Flags<SlaveFlags>) -> Result<(), SlaveFlagsError> {
    match mesos::flags::first_unsupported(flags, &SlaveFlags::declare(), SUPPORTED_FLAGS) {
        Some(name) => Err(SlaveFlagsError::Unsupported(name)),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_supported_flag_and_isolator_is_declared_upstream() {
        let flags = SlaveFlags::declare();
        for name in SUPPORTED_FLAGS {
            assert!(flags.get(name).is_some_and(|flag| flag.name.value == *name), "{name}");
        }
        for isolator in SUPPORTED_ISOLATORS {
            assert!(UPSTREAM_ISOLATORS.contains(isolator), "{isolator}");
        }
        for (_, replacements) in DEPRECATED_ISOLATORS {
            assert!(replacements.iter().all(|isolator| UPSTREAM_ISOLATORS.contains(isolator)));
        }
    }

    #[test]
    fn list_and_json_values_parse_and_print_like_stout() {
        let list = UintList::parse("0,1,,3").unwrap();
        assert_eq!(list.stringify(), "[ 0, 1, 3 ]");
        assert!(UintList::parse("0,x").is_err());

        let object = JsonObject::parse(r#"{"b": {"y": 1, "x": 2}, "a": "s"}"#).unwrap();
        assert_eq!(object.stringify(), r#"{"a":"s","b":{"x":2,"y":1}}"#);
        assert_eq!(JsonObject::parse("[1]").unwrap_err(), "Unexpected JSON type parsed");
        assert!(JsonObject::parse("{").unwrap_err().starts_with("Failed to parse JSON"));
        assert!(JsonObject::parse("/nonexistent/flag.json").unwrap_err().starts_with("Error reading file"));
    }
}
