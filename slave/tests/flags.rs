//! The agent's flags: upstream defaults, `MESOS_*` variables, a C++ agent's command line, unsupported flags and values refused, validators and start-up checks, the `/flags` view and `--help` (`src/slave/flags.cpp`, `src/slave/main.cpp`).

use std::time::Duration;

use mesos::bytes::Bytes;
use mesos::flags::FlagsError;
use slave::flags::{LoadedFlags, SlaveFlags, SlaveFlagsError, SUPPORTED_FLAGS};

/// Loads `args` after the program name with the given environment (never the process's).
fn load(args: &[&str], environment: &[(&str, &str)]) -> Result<LoadedFlags, SlaveFlagsError> {
    let argv: Vec<&str> = std::iter::once("mesos-agent").chain(args.iter().copied()).collect();
    let environment = environment.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    SlaveFlags::load(&argv, Some(environment))
}

/// The smallest command line that passes the start-up checks, plus `args`.
fn load_ok(args: &[&str]) -> LoadedFlags {
    let mut all = vec!["--master=127.0.0.1:5050", "--work_dir=/var/lib/mesos"];
    all.extend_from_slice(args);
    load(&all, &[]).unwrap_or_else(|error| panic!("{all:?}: {error}"))
}

/// The error of the smallest valid command line plus `args`.
fn refused(args: &[&str]) -> String {
    let mut all = vec!["--master=127.0.0.1:5050", "--work_dir=/var/lib/mesos"];
    all.extend_from_slice(args);
    match load(&all, &[]) {
        Ok(_) => panic!("{all:?} was accepted"),
        Err(error) => error.to_string(),
    }
}

#[test]
fn defaults_match_upstream() {
    let flags = SlaveFlags::declare();
    assert_eq!(flags.port, 5051);
    assert_eq!(flags.isolation, "posix/cpu,posix/mem");
    assert_eq!(flags.launcher, "posix");
    assert_eq!(flags.containerizers, "mesos");
    assert_eq!(flags.default_role, "*");
    assert_eq!(flags.recover, "reconnect");
    assert_eq!(flags.reconfiguration_policy, "equal");
    assert!(flags.strict && flags.hostname_lookup && flags.switch_user && !flags.http_command_executor);
    assert_eq!(flags.executor_registration_timeout, Duration::from_secs(60));
    assert_eq!(flags.executor_reregistration_timeout, Duration::from_secs(2));
    assert_eq!(flags.executor_shutdown_grace_period, Duration::from_secs(5));
    assert_eq!(flags.recovery_timeout, Duration::from_secs(15 * 60));
    assert_eq!(flags.registration_backoff_factor, Duration::from_secs(1));
    assert_eq!(flags.authentication_backoff_factor, Duration::from_secs(1));
    assert_eq!(flags.authentication_timeout_min, Duration::from_secs(5));
    assert_eq!(flags.authentication_timeout_max, Duration::from_secs(60));
    assert_eq!(flags.gc_delay, Duration::from_secs(7 * 24 * 3600));
    assert_eq!(flags.gc_disk_headroom, 0.1);
    assert_eq!(flags.disk_watch_interval, Duration::from_secs(60));
    assert_eq!(flags.http_heartbeat_interval, Duration::from_secs(30));
    assert_eq!(flags.zk_session_timeout, Duration::from_secs(10));
    assert_eq!(flags.docker_remove_delay, Duration::from_secs(6 * 3600));
    assert_eq!(flags.docker_stop_timeout, Duration::ZERO);
    assert_eq!(flags.fetcher_cache_size, Bytes::gigabytes(2));
    assert_eq!(flags.fetcher_stall_timeout, Duration::from_secs(60));
    assert_eq!(flags.cgroups_destroy_timeout, Duration::from_secs(60));
    assert_eq!(flags.perf_interval, Duration::from_secs(60));
    assert_eq!(flags.perf_duration, Duration::from_secs(10));
    assert_eq!(flags.container_disk_watch_interval, Duration::from_secs(15));
    assert_eq!(flags.oversubscribed_resources_interval, Duration::from_secs(15));
    assert_eq!(flags.qos_correction_interval_min, Duration::ZERO);
    assert_eq!(flags.max_completed_executors_per_framework, 150);
    assert_eq!(flags.frameworks_home, "");
    assert_eq!(flags.launcher_dir, "/usr/local/libexec/mesos");
    assert_eq!(flags.sandbox_directory, "/mnt/mesos/sandbox");
    assert_eq!(flags.docker_socket, "/var/run/docker.sock");
    assert_eq!(flags.docker, "docker");
    assert_eq!(flags.docker_registry, "https://registry-1.docker.io");
    assert_eq!(flags.docker_volume_checkpoint_dir, "/var/run/mesos/isolators/docker/volume");
    assert_eq!(flags.appc_simple_discovery_uri_prefix, "http://");
    assert_eq!(flags.cgroups_hierarchy, "/sys/fs/cgroup");
    assert_eq!(flags.cgroups_root, "mesos");
    assert_eq!(flags.systemd_runtime_directory, "/run/systemd/system");
    assert_eq!(flags.authenticatee, "crammd5");
    assert_eq!(flags.authorizer, "local");
    assert!(flags.docker_kill_orphans && flags.systemd_enable_support && flags.revocable_cpu_low_priority);
    assert!(flags.network_cni_metrics && !flags.network_cni_root_dir_persist && !flags.cgroups_enable_cfs);
    assert_eq!(flags.logging_level, "INFO");
    assert!(!flags.quiet && flags.initialize_driver_logging);
    assert_eq!(flags.logbufsecs, 0);
    // Under `$TMPDIR` (or `/tmp`), as upstream.
    let temp = std::env::var("TMPDIR").unwrap_or_else(|_| "/tmp".into());
    let temp = temp.trim_end_matches('/');
    assert_eq!(flags.fetcher_cache_dir, format!("{temp}/mesos/fetch"));
    assert_eq!(flags.docker_store_dir, format!("{temp}/mesos/store/docker"));
    assert_eq!(flags.appc_store_dir, format!("{temp}/mesos/store/appc"));
    assert!(
        flags.runtime_dir == "/var/run/mesos" || flags.runtime_dir == format!("{temp}/mesos/runtime"),
        "{}",
        flags.runtime_dir
    );
    assert!(flags.master.is_none() && flags.resources.is_none() && flags.attributes.is_none());
    assert!(flags.hostname.is_none() && flags.ip.is_none() && flags.executor_reregistration_retry_interval.is_none());
}

#[test]
fn work_dir_and_master_are_required() {
    // stout's own check (`--work_dir` has no default), during the load.
    assert_eq!(
        load(&["--master=127.0.0.1:5050"], &[]).err().unwrap().to_string(),
        "Flag 'work_dir' is required, but it was not provided"
    );
    // `main.cpp`'s, after it.
    assert_eq!(
        load(&["--work_dir=/var/lib/mesos"], &[]).err().unwrap().to_string(),
        "Missing required option `--master` or `--master_detector`"
    );
    // Only reachable through `validate` on hand-made values: the loader refuses
    // `--master_detector` as unsupported first.
    assert_eq!(
        refused(&["--master_detector=org_apache_mesos_Detector"]),
        "Flag '--master_detector' is not supported yet by this agent"
    );
    let mut flags = load_ok(&[]).flags.into_values();
    flags.master_detector = Some("org_apache_mesos_Detector".into());
    assert_eq!(
        flags.validate().unwrap_err().to_string(),
        "Only one of `--master` or `--master_detector` should be specified"
    );
    flags.master = None;
    assert!(flags.validate().is_ok());
}

#[test]
fn supported_flags_load() {
    let loaded = load_ok(&[
        "--ip=10.0.0.2",
        "--port=5052",
        "--advertise_ip=192.0.2.7",
        "--advertise_port=15051",
        "--hostname=agent1.example",
        "--no-hostname_lookup",
        "--resources=cpus:4;mem:8192;disk:100000;ports:[31000-32000]",
        "--attributes=rack:r1;zone:west;level:10",
        "--isolation=cgroups/cpu,cgroups/mem",
        "--launcher=posix",
        "--containerizers=mesos",
        "--executor_registration_timeout=5mins",
        "--executor_shutdown_grace_period=10secs",
        "--executor_reregistration_timeout=15secs",
        "--recovery_timeout=1hrs",
        "--recover=cleanup",
        "--no-strict",
        "--registration_backoff_factor=1mins",
        "--default_role=ops",
        "--no-switch_user",
        "--http_command_executor",
        "--gc_delay=2days",
        "--gc_disk_headroom=0.2",
        "--disk_watch_interval=30secs",
        "--frameworks_home=/opt/frameworks",
        "--launcher_dir=/opt/mesos/libexec",
        "--quiet",
        "--logging_level=WARNING",
        "--logbufsecs=5",
        "--no-initialize_driver_logging",
    ]);
    let flags = &loaded.flags;
    assert_eq!(flags.ip.as_deref(), Some("10.0.0.2"));
    assert_eq!(flags.port, 5052);
    assert_eq!(flags.advertise_port.as_deref(), Some("15051"));
    assert_eq!(flags.hostname.as_deref(), Some("agent1.example"));
    assert!(!flags.hostname_lookup && !flags.strict && !flags.switch_user && flags.http_command_executor);
    assert_eq!(flags.executor_registration_timeout, Duration::from_secs(300));
    assert_eq!(flags.executor_shutdown_grace_period, Duration::from_secs(10));
    assert_eq!(flags.executor_reregistration_timeout, Duration::from_secs(15));
    assert_eq!(flags.recovery_timeout, Duration::from_secs(3600));
    assert_eq!(flags.recover, "cleanup");
    assert_eq!(flags.registration_backoff_factor, Duration::from_secs(60));
    assert_eq!(flags.gc_delay, Duration::from_secs(2 * 86400));
    assert_eq!(flags.disk_watch_interval, Duration::from_secs(30));
    assert_eq!(flags.master_address(), Some(("127.0.0.1".to_string(), 5050)));
    let isolation = flags.isolation().unwrap();
    assert_eq!(isolation.isolators.into_iter().collect::<Vec<_>>(), ["cgroups/cpu", "cgroups/mem"]);
    // Everything under the default role, as given.
    let resources = flags.parsed_resources().unwrap();
    assert_eq!(
        resources,
        mesos::resources::Resources::parse("cpus:4;mem:8192;disk:100000;ports:[31000-32000]", "ops").unwrap()
    );
    assert!(resources.iter().all(|r| mesos::resources::reservation_role(r) == Some("ops")));
    assert_eq!(flags.parsed_attributes().unwrap().len(), 3);
    assert!(loaded.warnings.is_empty());
}

/// What a packaged C++ agent is started with (an init script joining `/etc/mesos-slave/*`,
/// plus defaults spelled out): every flag a default Linux build declares parses, and those
/// this agent does not implement are accepted at their default values.
#[test]
fn a_cpp_agent_command_line_loads() {
    let loaded = load(
        &[
            "--master=master@10.0.0.1:5050",
            "--work_dir=/var/lib/mesos",
            "--logging_level=INFO",
            "--port=5051",
            "--ip=10.0.0.2",
            "--hostname=agent-2.dc1",
            "--containerizers=mesos",
            "--isolation=posix/cpu,posix/mem",
            "--launcher=posix",
            "--resources=[{\"name\":\"cpus\",\"type\":\"SCALAR\",\"scalar\":{\"value\":8}}]",
            "--attributes=rack:r2\nos:centos7",
            "--executor_registration_timeout=1mins",
            "--executor_shutdown_grace_period=5secs",
            "--recover=reconnect",
            "--strict=true",
            "--switch_user=true",
            "--gc_delay=1weeks",
            "--disk_watch_interval=1mins",
            "--docker_kill_orphans",
            "--cgroups_root=mesos",
            "--cgroups_hierarchy=/sys/fs/cgroup",
            "--no-cgroups_enable_cfs",
            "--systemd_enable_support",
            "--systemd_runtime_directory=/run/systemd/system",
            "--docker=docker",
            "--docker_remove_delay=6hrs",
            "--docker_socket=/var/run/docker.sock",
            "--docker_stop_timeout=0ns",
            "--sandbox_directory=/mnt/mesos/sandbox",
            "--fetcher_cache_size=2GB",
            "--max_completed_executors_per_framework=150",
            "--oversubscribed_resources_interval=15secs",
            "--qos_correction_interval_min=0ns",
            "--reconfiguration_policy=equal",
            "--authenticatee=crammd5",
            "--authorizer=local",
            "--no-authenticate_http_readonly",
            "--no-authenticate_http_readwrite",
            "--no-http_executor_domain_sockets",
            "--zk_session_timeout=10secs",
            "--launcher_dir=/usr/local/libexec/mesos",
            "--frameworks_home=",
            "--no-memory_profiling",
            "--no-quiet",
            "--logbufsecs=0",
            "--http_heartbeat_interval=30secs",
            "--registration_backoff_factor=1secs",
            "--perf_interval=1mins",
        ],
        &[],
    )
    .unwrap_or_else(|error| panic!("{error}"));
    let flags = &loaded.flags;
    assert_eq!(flags.master_address(), Some(("10.0.0.1".to_string(), 5050)));
    assert_eq!(flags.parsed_resources().unwrap().cpus(), Some(8.0));
    assert_eq!(flags.parsed_attributes().unwrap().len(), 2);
    assert!(loaded.warnings.is_empty());
}

#[test]
fn environment_variables_set_flags_and_the_command_line_wins() {
    let loaded = load(
        &["--port=5053"],
        &[
            ("MESOS_MASTER", "10.0.0.1:5050"),
            ("MESOS_work_dir", "/srv/mesos"),
            ("MESOS_PORT", "6000"),
            ("MESOS_EXECUTOR_REGISTRATION_TIMEOUT", "2mins"),
            ("MESOS_NO-SWITCH_USER", ""),
            ("MESOS_UNKNOWN_THING", "ignored"),
            ("LIBPROCESS_PORT", "1"),
            ("WORK_DIR", "/ignored"),
        ],
    )
    .unwrap_or_else(|error| panic!("{error}"));
    let flags = &loaded.flags;
    assert_eq!(flags.port, 5053);
    assert_eq!(flags.work_dir, "/srv/mesos");
    assert_eq!(flags.master_address(), Some(("10.0.0.1".to_string(), 5050)));
    assert_eq!(flags.executor_registration_timeout, Duration::from_secs(120));
    assert!(!flags.switch_user);

    // `MESOS_<NAME>` and `--<name>` together is fine (the command line wins); two spellings
    // of one flag are a duplicate.
    let error = load(
        &["--master=10.0.0.1:5050", "--work_dir=/a", "--agent_subsystems=cpu"],
        &[("MESOS_SLAVE_SUBSYSTEMS", "memory")],
    )
    .err()
    .unwrap();
    assert!(error.to_string().contains("already loaded"), "{error}");
}

#[test]
fn unsupported_flags_are_refused_by_the_name_used() {
    assert_eq!(
        refused(&["--docker_mesos_image=mesos/agent"]),
        "Flag '--docker_mesos_image' is not supported yet by this agent"
    );
    assert_eq!(refused(&["--cgroups_enable_cfs"]), "Flag '--cgroups_enable_cfs' is not supported yet by this agent");
    assert_eq!(refused(&["--slave_subsystems=memory"]), "Flag '--slave_subsystems' is not supported yet by this agent");
    assert_eq!(refused(&["--log_dir=/var/log/mesos"]), "Flag '--log_dir' is not supported yet by this agent");
    assert_eq!(
        refused(&["--credential=/etc/mesos/credential"]),
        "Flag '--credential' is not supported yet by this agent"
    );
    assert_eq!(
        refused(&["--zk_session_timeout=20secs"]),
        "Flag '--zk_session_timeout' is not supported yet by this agent"
    );
    let error = load(
        &["--master=10.0.0.1:5050", "--work_dir=/a"],
        &[("MESOS_RESOURCE_ESTIMATOR", "org_apache_mesos_FixedResourceEstimator")],
    )
    .err()
    .unwrap();
    assert_eq!(error, SlaveFlagsError::Unsupported("resource_estimator".into()));
    // Their default values ask for nothing missing.
    let loaded = load_ok(&["--no-cgroups_enable_cfs", "--docker_remove_delay=6hrs", "--reconfiguration_policy=equal"]);
    assert!(!loaded.flags.cgroups_enable_cfs);
}

#[test]
fn unsupported_values_of_supported_flags_are_refused() {
    assert_eq!(refused(&["--launcher=linux"]), "Value 'linux' of flag '--launcher' is not supported yet by this agent");
    assert_eq!(
        refused(&["--containerizers=mesos,docker"]),
        "Value 'docker' of flag '--containerizers' is not supported yet by this agent"
    );
    assert_eq!(
        refused(&["--isolation=filesystem/linux,docker/runtime"]),
        "Value 'docker/runtime' of flag '--isolation' is not supported yet by this agent"
    );
    assert_eq!(
        refused(&["--isolation=posix/cpu,posix/mem,disk/du"]),
        "Value 'disk/du' of flag '--isolation' is not supported yet by this agent"
    );
    // A ZooKeeper URL is refused without being echoed (it may hold a password).
    let error = load(&["--master=zk://user:secret@10.0.0.1:2181/mesos", "--work_dir=/a"], &[]).err().unwrap();
    assert_eq!(error, SlaveFlagsError::ZooKeeper);
    assert!(!error.to_string().contains("secret"));
}

#[test]
fn containerizer_checks_use_upstreams_words() {
    assert_eq!(
        refused(&["--launcher=windows"]),
        "Failed to create a containerizer: Could not create MesosContainerizer: Failed to create launcher: Unknown \
         or unsupported launcher: windows"
    );
    assert_eq!(
        refused(&["--containerizers=mesos,mesos"]),
        "Failed to create a containerizer: Duplicate entries found in --containerizer flag 'mesos,mesos'"
    );
    assert_eq!(
        refused(&["--containerizers=mesos,"]),
        "Failed to create a containerizer: Unknown or unsupported containerizer: "
    );
    assert_eq!(
        refused(&["--containerizers=rkt"]),
        "Failed to create a containerizer: Unknown or unsupported containerizer: rkt"
    );
    assert_eq!(
        refused(&["--isolation=posix/cpu,posix/mem,posix/cpu"]),
        "Failed to create a containerizer: Could not create MesosContainerizer: Duplicate entries found in \
         --isolation flag '[ posix/cpu, posix/mem, posix/cpu ]'"
    );
    assert_eq!(
        refused(&["--isolation=filesystem/posix,filesystem/linux"]),
        "Failed to create a containerizer: Could not create MesosContainerizer: Using multiple filesystem \
         isolators simultaneously is disallowed"
    );
    assert_eq!(
        refused(&["--isolation=posix/cpu,magic/isolator"]),
        "Failed to create a containerizer: Could not create MesosContainerizer: Unknown or unsupported isolator \
         'magic/isolator'"
    );
    // The launcher is checked before the isolators, as upstream.
    assert_eq!(
        refused(&["--isolation=magic/isolator", "--launcher=foo"]),
        "Failed to create a containerizer: Could not create MesosContainerizer: Failed to create launcher: Unknown \
         or unsupported launcher: foo"
    );
    // Empty entries are skipped; the implicit filesystem isolator may be named.
    let loaded = load_ok(&["--isolation=posix/cpu,,posix/mem,filesystem/posix,"]);
    assert_eq!(loaded.flags.isolation().unwrap().isolators.len(), 3);
}

#[test]
fn deprecated_isolator_names_are_replaced_with_a_warning() {
    let loaded = load_ok(&["--isolation=process,cgroups"]);
    let isolators: Vec<String> = loaded.flags.isolation().unwrap().isolators.into_iter().collect();
    assert_eq!(isolators, ["cgroups/cpu", "cgroups/mem", "posix/cpu", "posix/mem"]);
    let warnings: Vec<&str> = loaded.warnings.iter().map(|w| w.message.as_str()).collect();
    assert_eq!(
        warnings,
        [
            "The 'cgroups' isolation flag is deprecated, please update your flags to \
             '--isolation=cgroups/cpu,cgroups/mem'.",
            "The 'process' isolation flag is deprecated, please update your flags to \
             '--isolation=posix/cpu,posix/mem'.",
        ]
    );
    // `posix/disk` becomes `disk/du`, which is not implemented here.
    assert_eq!(
        refused(&["--isolation=posix/disk"]),
        "Value 'disk/du' of flag '--isolation' is not supported yet by this agent"
    );
}

#[test]
fn validators_of_flags_cpp_run_during_the_load() {
    assert_eq!(
        refused(&["--executor_reregistration_timeout=16secs"]),
        "Expected `--executor_reregistration_timeout` to be not more than 15secs"
    );
    assert_eq!(
        refused(&["--executor_environment_variables={\"PATH\": \"/bin\", \"N\": 1}"]),
        "`executor_environment_variables` must only contain string values"
    );
    assert_eq!(
        refused(&["--agent_features={\"capabilities\": [{\"type\": \"MULTI_ROLE\"}]}"]),
        "At least the following agent features need to be enabled: MULTI_ROLE, HIERARCHICAL_ROLE, \
         RESERVATION_REFINEMENT, AGENT_OPERATION_FEEDBACK, RESOURCE_PROVIDER, AGENT_DRAINING, and \
         TASK_RESOURCE_LIMITS"
    );
    assert_eq!(refused(&["--domain={\"fault_domain\": null}"]), "`domain` must define `fault_domain`");
    let long = format!("--domain_socket_location=/{}", "s".repeat(107));
    assert_eq!(refused(&[&long]), "Domain socket location cannot be longer than 108 characters.");
    // Valid values of these unsupported flags pass the validators, then are refused as
    // unsupported.
    assert_eq!(
        refused(&["--executor_environment_variables={\"PATH\": \"/bin\"}"]),
        "Flag '--executor_environment_variables' is not supported yet by this agent"
    );
    let features = r#"--agent_features={"capabilities": [{"type": "MULTI_ROLE"}, {"type": "HIERARCHICAL_ROLE"},
        {"type": "RESERVATION_REFINEMENT"}, {"type": "AGENT_OPERATION_FEEDBACK"}, {"type": "RESOURCE_PROVIDER"},
        {"type": "AGENT_DRAINING"}, {"type": "TASK_RESOURCE_LIMITS"}]}"#;
    assert_eq!(refused(&[features]), "Flag '--agent_features' is not supported yet by this agent");
    let domain = r#"--domain={"fault_domain": {"region": {"name": "r"}, "zone": {"name": "z"}}}"#;
    assert_eq!(refused(&[domain]), "Flag '--domain' is not supported yet by this agent");
    // JSON flags must be JSON objects.
    assert!(refused(&["--acls=[]"]).ends_with("Unexpected JSON type parsed"));
    assert!(refused(&["--firewall_rules={"]).contains("Failed to parse JSON"));
}

#[test]
fn start_up_checks_use_upstreams_words() {
    assert_eq!(
        refused(&["--registration_backoff_factor=2mins"]),
        "Invalid value '2mins' for --registration_backoff_factor: Must be less than 1mins"
    );
    assert_eq!(
        refused(&["--gc_disk_headroom=1.5"]),
        "Invalid value '1.5' for --gc_disk_headroom. Must be between 0.0 and 1.0"
    );
    assert_eq!(
        refused(&["--gc_disk_headroom=-0.1"]),
        "Invalid value '-0.1' for --gc_disk_headroom. Must be between 0.0 and 1.0"
    );
    assert_eq!(
        refused(&["--recover=restart"]),
        "Unknown option for 'recover' flag restart. Please run the agent with '--help' to see the valid options"
    );
    assert_eq!(
        refused(&["--logging_level=DEBUG"]),
        "'DEBUG' is not a valid logging level. Possible values for 'logging_level' flag are: 'INFO', 'WARNING', \
         'ERROR'."
    );
    // The discovery commands are unsupported, so these pairs are only reachable through
    // `validate` on hand-made values.
    let mut flags = load_ok(&["--ip=10.0.0.2"]).flags.into_values();
    flags.ip_discovery_command = Some("hostname -i".into());
    assert_eq!(
        flags.validate().unwrap_err().to_string(),
        "Only one of `--ip` or `--ip_discovery_command` should be specified"
    );
    flags.ip_discovery_command = None;
    flags.ip6 = Some("::1".into());
    flags.ip6_discovery_command = Some("true".into());
    assert_eq!(
        flags.validate().unwrap_err().to_string(),
        "Only one of `--ip6` or `--ip6_discovery_command` should be specified"
    );
    assert_eq!(refused(&["--ip=agent.example"]), "Invalid value 'agent.example' for --ip: not an IP address");
    assert_eq!(refused(&["--advertise_port=70000"]), "Invalid value '70000' for --advertise_port: not a port number");
    // The master's address, short of resolving it.
    let bad_master = |master: &str| {
        let flag = format!("--master={master}");
        load(&[&flag, "--work_dir=/a"], &[]).err().unwrap().to_string()
    };
    assert_eq!(bad_master("10.0.0.1"), "Failed to create a master detector: Failed to parse '10.0.0.1'");
    assert_eq!(bad_master("10.0.0.1:http"), "Failed to create a master detector: Failed to parse '10.0.0.1:http'");
    assert_eq!(bad_master(":5050"), "Failed to create a master detector: Failed to parse ':5050'");
    // Resources and attributes, refused before the agent starts anything.
    assert!(refused(&["--resources=cpus:two"]).starts_with("Failed to determine agent resources: "));
    assert_eq!(
        refused(&["--default_role=-ops"]),
        "Failed to determine agent resources: Invalid value '-ops' for --default_role: role component '-ops' is \
         invalid because it starts with a dash"
    );
    assert!(refused(&["--attributes=rack"]).starts_with("Failed to parse --attributes: "));
    assert!(refused(&["--attributes=disks:{a,b}"]).starts_with("Failed to parse --attributes: "));
    // The boundaries themselves are fine.
    load_ok(&[
        "--registration_backoff_factor=1mins",
        "--gc_disk_headroom=1",
        "--executor_reregistration_timeout=15secs",
    ]);
    load_ok(&["--gc_disk_headroom=0"]);
}

#[test]
fn bad_values_are_refused_by_the_flags_framework() {
    let error = refused(&["--port=http"]);
    assert!(error.starts_with("Failed to load flag 'port': Failed to load value 'http'"), "{error}");
    assert!(matches!(
        load(&["--master=a:1", "--work_dir=/a", "--bogus=1"], &[]),
        Err(SlaveFlagsError::Load(FlagsError::Unknown { .. }))
    ));
    let error = refused(&["--executor_registration_timeout=5"]);
    assert!(error.contains("Invalid duration '5'"), "{error}");
    let error = refused(&["--fetcher_cache_size=2G"]);
    assert!(error.contains("Unknown bytes unit 'G'"), "{error}");
    assert!(refused(&["--nvidia_gpu_devices=0,x"]).contains("Failed to load flag 'nvidia_gpu_devices'"));
    let error = load(&["--master", "--work_dir=/a"], &[]).err().unwrap().to_string();
    assert_eq!(error, "Failed to load non-boolean flag 'master': Missing value");
}

#[test]
fn master_and_resources_can_come_from_files() {
    let dir = tempfile::tempdir().unwrap();
    let master = dir.path().join("master");
    std::fs::write(&master, "10.1.2.3:5050\n").unwrap();
    let resources = dir.path().join("resources.json");
    std::fs::write(&resources, r#"[{"name": "mem", "type": "SCALAR", "scalar": {"value": 2048}}]"#).unwrap();
    let master_flag = format!("--master=file://{}", master.display());
    let resources_flag = format!("--resources=file://{}", resources.display());
    let loaded = load(&[&master_flag, &resources_flag, "--work_dir=/a"], &[]).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(loaded.flags.master_address(), Some(("10.1.2.3".to_string(), 5050)));
    assert_eq!(loaded.flags.parsed_resources().unwrap().mem(), Some(2048));
    // `/flags` shows the master's file, not its contents (which may hold a password).
    assert!(loaded.flags.to_pairs().contains(&("master".into(), master.display().to_string())));
}

#[test]
fn flags_endpoint_pairs_use_stout_formats() {
    let loaded = load_ok(&["--executor_shutdown_grace_period=90secs"]);
    let pairs = loaded.flags.values().to_pairs();
    for (name, value) in [
        ("executor_registration_timeout", "1mins"),
        ("executor_reregistration_timeout", "2secs"),
        ("executor_shutdown_grace_period", "90secs"),
        ("recovery_timeout", "15mins"),
        ("registration_backoff_factor", "1secs"),
        ("gc_delay", "1weeks"),
        ("gc_disk_headroom", "0.1"),
        ("disk_watch_interval", "1mins"),
        ("docker_remove_delay", "6hrs"),
        ("docker_stop_timeout", "0ns"),
        ("fetcher_cache_size", "2GB"),
        ("port", "5051"),
        ("master", "127.0.0.1:5050"),
        ("work_dir", "/var/lib/mesos"),
        ("default_role", "*"),
        ("isolation", "posix/cpu,posix/mem"),
        ("launcher", "posix"),
        ("containerizers", "mesos"),
        ("recover", "reconnect"),
        ("strict", "true"),
        ("switch_user", "true"),
        ("http_command_executor", "false"),
        ("frameworks_home", ""),
        ("max_completed_executors_per_framework", "150"),
        ("logging_level", "INFO"),
    ] {
        assert!(pairs.contains(&(name.into(), value.into())), "{name}={value} not in {pairs:?}");
    }
    // Unset optional flags are not shown.
    assert!(!pairs.iter().any(|(name, _)| name == "resources" || name == "hostname" || name == "attributes"));
    // Pairs come sorted by name, as stout's `std::map` iterates.
    let names: Vec<&String> = pairs.iter().map(|(name, _)| name).collect();
    assert!(names.windows(2).all(|w| w[0] < w[1]));
    // A deprecated alias shows under the spelling used in the loaded declarations (the
    // flags framework alone: the flag itself is not supported).
    let mut flags = SlaveFlags::declare();
    flags.load_from(&["mesos-agent", "--slave_subsystems=cpu", "--work_dir=/a"], &Default::default()).unwrap();
    assert!(flags.to_pairs().contains(&("slave_subsystems".into(), "cpu".into())));
    assert!(flags.values().to_pairs().contains(&("agent_subsystems".into(), "cpu".into())));
}

#[test]
fn help_mentions_every_flag_and_loads_despite_errors() {
    // As in stout, values are applied in name order and the first error stops the load, so
    // `--help` survives a bad `--port` (applied after it) but not an unknown `--bogus`.
    assert!(load(&["--help", "--bogus"], &[]).is_err());
    let loaded = load(&["--help", "--port=http"], &[]).unwrap();
    assert!(loaded.flags.help());
    let usage = loaded.flags.usage(None);
    assert!(usage.starts_with("Usage: mesos-agent [options]"), "{usage}");
    let names: Vec<String> = loaded.flags.iter().map(|flag| flag.name.value.clone()).collect();
    // A default Linux build declares 124 agent flags and 6 logging flags; `--help` is the 131st.
    assert_eq!(names.len(), 131, "{names:?}");
    for name in &names {
        assert!(usage.contains(&format!("--{name}=")) || usage.contains(&format!("--[no-]{name}")), "{name}");
    }
    for name in SUPPORTED_FLAGS {
        assert!(names.iter().any(|n| n == name), "{name}");
    }
    assert!(usage.contains("--agent_subsystems=VALUE, --slave_subsystems=VALUE"));
    assert!(usage.contains("(default: 5051)"));
    // `--version` needs neither `--master` nor `--work_dir`.
    assert!(load(&["--version"], &[]).unwrap().flags.version);
}
