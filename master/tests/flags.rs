//! The master's flags: upstream defaults, aliases, `MESOS_*` variables, unsupported flags, start-up checks, the `/flags` view and `--help` (`src/master/flags.cpp`, `src/master/main.cpp`).

use std::time::Duration;

use master::flags::{MasterFlags, MasterFlagsError, SUPPORTED_FLAGS};
use mesos::bytes::Bytes;
use mesos::flags::FlagsError;

/// Loads `args` after the program name with the given environment (never the process's).
fn load(args: &[&str], environment: &[(&str, &str)]) -> Result<master::flags::LoadedFlags, MasterFlagsError> {
    let argv: Vec<&str> = std::iter::once("mesos-master").chain(args.iter().copied()).collect();
    let environment = environment.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    MasterFlags::load(&argv, Some(environment))
}

/// The smallest command line that passes the start-up checks.
fn load_ok(args: &[&str]) -> master::flags::LoadedFlags {
    let mut all = vec!["--registry=in_memory"];
    all.extend_from_slice(args);
    load(&all, &[]).unwrap_or_else(|error| panic!("{error}"))
}

fn invalid(args: &[&str]) -> String {
    match load(args, &[]) {
        Ok(_) => panic!("{args:?} was accepted"),
        Err(error) => error.to_string(),
    }
}

#[test]
fn defaults_match_upstream() {
    let flags = MasterFlags::declare();
    assert_eq!(flags.port, 5050);
    assert_eq!(flags.registry, "replicated_log");
    assert_eq!(flags.allocation_interval, Duration::from_secs(1));
    assert_eq!(flags.agent_ping_timeout, Duration::from_secs(15));
    assert_eq!(flags.max_agent_ping_timeouts, 5);
    assert_eq!(flags.agent_reregister_timeout, Duration::from_secs(600));
    assert_eq!(flags.registry_fetch_timeout, Duration::from_secs(60));
    assert_eq!(flags.registry_store_timeout, Duration::from_secs(20));
    assert_eq!(flags.zk_session_timeout, Duration::from_secs(10));
    assert_eq!(flags.recovery_agent_removal_limit, "100%");
    assert_eq!(flags.min_allocatable_resources, "cpus:0.01|mem:32");
    assert_eq!(flags.role_sorter, "drf");
    assert_eq!(flags.framework_sorter, "drf");
    assert_eq!(flags.allocator, "hierarchical");
    assert_eq!(flags.authenticators, "crammd5");
    assert_eq!(flags.authorizers, "local");
    assert_eq!(flags.http_authenticators, "basic");
    assert_eq!(flags.max_completed_frameworks, 50);
    assert_eq!(flags.max_completed_tasks_per_framework, 1000);
    assert_eq!(flags.max_unreachable_tasks_per_framework, 1000);
    assert_eq!(flags.max_operator_event_stream_subscribers, 1000);
    assert_eq!(flags.registry_gc_interval, Duration::from_secs(15 * 60));
    assert_eq!(flags.registry_max_agent_age, Duration::from_secs(14 * 24 * 3600));
    assert_eq!(flags.registry_max_agent_count, 102_400);
    assert_eq!(flags.allocator_recovery_timeout, Duration::from_secs(600));
    assert_eq!(flags.allocator_agent_recovery_factor, 0.8);
    assert_eq!(flags.authentication_v0_timeout, Duration::from_secs(15));
    assert_eq!(flags.offer_constraints_re2_max_mem, Bytes::new(4096));
    assert_eq!(flags.offer_constraints_re2_max_program_size, 100);
    assert_eq!(flags.logging_level, "INFO");
    assert!(flags.hostname_lookup && flags.root_submissions && flags.log_auto_initialize);
    assert!(flags.filter_gpu_resources && flags.publish_per_framework_metrics && flags.initialize_driver_logging);
    assert!(!flags.quiet && !flags.authenticate_agents && !flags.authenticate_frameworks && !flags.registry_strict);
    assert_eq!(flags.logbufsecs, 0);
    assert!(flags.work_dir.is_none() && flags.zk.is_none() && flags.quorum.is_none() && flags.offer_timeout.is_none());
}

#[test]
fn supported_flags_load() {
    let loaded = load_ok(&[
        "--ip=127.0.0.1",
        "--port=5051",
        "--advertise_ip=10.0.0.1",
        "--advertise_port=6000",
        "--hostname=master.example",
        "--work_dir=/var/lib/mesos",
        "--allocation_interval=500ms",
        "--agent_ping_timeout=2secs",
        "--max_agent_ping_timeouts=3",
        "--agent_reregister_timeout=20mins",
        "--roles=a,b",
        "--weights=a=2,b=0.5",
        "--cluster=test",
        "--quiet",
        "--logging_level=WARNING",
        "--min_allocatable_resources=cpus:1;mem:64|disk:10",
        "--fair_sharing_excluded_resource_names=gpus,fpgas",
        "--zk=zk://127.0.0.1:2181/mesos",
        "--quorum=1",
    ]);
    let flags = &loaded.flags;
    assert_eq!(flags.ip.as_deref(), Some("127.0.0.1"));
    assert_eq!(flags.port, 5051);
    assert_eq!(flags.advertise_port.as_deref(), Some("6000"));
    assert_eq!(flags.allocation_interval, Duration::from_millis(500));
    assert_eq!(flags.agent_ping_timeout, Duration::from_secs(2));
    assert_eq!(flags.max_agent_ping_timeouts, 3);
    assert_eq!(flags.agent_reregister_timeout, Duration::from_secs(1200));
    assert!(flags.quiet);
    assert_eq!(flags.zk.as_ref().unwrap().value, "zk://127.0.0.1:2181/mesos");
    assert_eq!(flags.quorum, Some(1));

    let whitelist = flags.role_whitelist().unwrap().unwrap();
    assert_eq!(whitelist.into_iter().collect::<Vec<_>>(), ["*", "a", "b"]);
    let weights = flags.weights().unwrap();
    assert_eq!((weights["a"], weights["b"]), (2.0, 0.5));
    assert_eq!(flags.min_allocatable_resources().unwrap().len(), 2);

    let options = flags.allocator_options().unwrap();
    assert_eq!(options.allocation_interval, Duration::from_millis(500));
    let excluded = options.fairness_exclude_resource_names.unwrap();
    assert!(excluded.contains("gpus") && excluded.contains("fpgas"));
    assert!(loaded.warnings.is_empty());
}

#[test]
fn deprecated_aliases_load_with_a_warning() {
    let loaded =
        load_ok(&["--slave_ping_timeout=5secs", "--max_slave_ping_timeouts=2", "--slave_reregister_timeout=15mins"]);
    assert_eq!(loaded.flags.agent_ping_timeout, Duration::from_secs(5));
    assert_eq!(loaded.flags.max_agent_ping_timeouts, 2);
    assert_eq!(loaded.flags.agent_reregister_timeout, Duration::from_secs(900));
    let warnings: Vec<&str> = loaded.warnings.iter().map(|w| w.message.as_str()).collect();
    assert_eq!(
        warnings,
        [
            "Loaded deprecated flag 'max_slave_ping_timeouts'",
            "Loaded deprecated flag 'slave_ping_timeout'",
            "Loaded deprecated flag 'slave_reregister_timeout'",
        ]
    );
    // `/flags` shows the spelling used.
    let pairs = loaded.flags.to_pairs();
    assert!(pairs.contains(&("slave_ping_timeout".into(), "5secs".into())));

    // A name and its alias together are a duplicate.
    let error = invalid(&["--registry=in_memory", "--agent_ping_timeout=5secs", "--slave_ping_timeout=6secs"]);
    assert!(error.contains("already loaded"), "{error}");
}

#[test]
fn environment_variables_set_flags_and_the_command_line_wins() {
    let loaded = load(
        &["--port=5052"],
        &[
            ("MESOS_REGISTRY", "in_memory"),
            ("MESOS_PORT", "6000"),
            ("MESOS_ALLOCATION_INTERVAL", "2secs"),
            ("MESOS_slave_ping_timeout", "3secs"),
            ("MESOS_UNKNOWN_THING", "ignored"),
            ("LIBPROCESS_PORT", "1"),
        ],
    )
    .unwrap();
    assert_eq!(loaded.flags.port, 5052);
    assert_eq!(loaded.flags.registry, "in_memory");
    assert_eq!(loaded.flags.allocation_interval, Duration::from_secs(2));
    assert_eq!(loaded.flags.agent_ping_timeout, Duration::from_secs(3));
    assert_eq!(loaded.warnings.len(), 1);
}

#[test]
fn unsupported_flags_are_refused_by_the_name_used() {
    assert_eq!(
        invalid(&["--registry=in_memory", "--authenticate_agents"]),
        "Flag '--authenticate_agents' is not supported yet by this master"
    );
    assert_eq!(
        invalid(&["--registry=in_memory", "--authenticate_slaves=true"]),
        "Flag '--authenticate_slaves' is not supported yet by this master"
    );
    assert_eq!(
        invalid(&["--registry=in_memory", "--offer_constraints_re2_max_mem=8KB"]),
        "Flag '--offer_constraints_re2_max_mem' is not supported yet by this master"
    );
    // Supported now, under either name.
    assert_eq!(
        load_ok(&["--slave_removal_rate_limit=1/1mins"]).flags.agent_removal_rate_limit.as_deref(),
        Some("1/1mins")
    );
    let error = load(&["--registry=in_memory"], &[("MESOS_WEBUI_DIR", "/srv/webui")]).err().unwrap();
    assert_eq!(error, MasterFlagsError::Unsupported("webui_dir".into()));
    // The default value of an unsupported flag asks for nothing we lack.
    let loaded = load_ok(&["--no-authenticate_agents", "--allocator=hierarchical", "--role_sorter=drf"]);
    assert!(!loaded.flags.authenticate_agents);
}

#[test]
fn bad_values_are_refused() {
    let error = invalid(&["--port=http"]);
    assert!(error.starts_with("Failed to load flag 'port': Failed to load value 'http'"), "{error}");
    assert!(matches!(load(&["--bogus=1"], &[]), Err(MasterFlagsError::Load(FlagsError::Unknown { .. }))));
    assert_eq!(
        invalid(&["--registry=in_memory", "--agent_ping_timeout=500ms"]),
        "Expected `--agent_ping_timeout` to be between 1secs and 15mins"
    );
    assert_eq!(
        invalid(&["--registry=in_memory", "--agent_ping_timeout=16mins"]),
        "Expected `--agent_ping_timeout` to be between 1secs and 15mins"
    );
    assert_eq!(
        invalid(&["--registry=in_memory", "--max_agent_ping_timeouts=0"]),
        "Expected `--max_agent_ping_timeouts` to be at least 1"
    );
    assert_eq!(
        invalid(&["--registry=in_memory", "--agent_reregister_timeout=5mins"]),
        "Invalid value '5mins' for --agent_reregister_timeout: Must be at least 10mins"
    );
    assert!(invalid(&["--registry=in_memory", "--registry_strict"]).contains("'--registry_strict' has been disabled"));
    assert_eq!(invalid(&["--registry=leveldb"]), "'leveldb' is not a supported option for registry persistence");
    assert_eq!(invalid(&[]), "--work_dir needed for replicated log based registry");
    assert_eq!(
        invalid(&["--work_dir=/tmp/x", "--zk=zk://h:2181/mesos"]),
        "Need to specify --quorum for replicated log based registry when using ZooKeeper"
    );
    assert!(invalid(&["--registry=in_memory", "--zk=h:2181/mesos"]).contains("Expecting 'zk://'"));
    assert!(
        invalid(&["--registry=in_memory", "--logging_level=DEBUG"]).contains("'DEBUG' is not a valid logging level")
    );
    assert!(invalid(&["--registry=in_memory", "--roles=a,-b"]).starts_with("Failed to parse roles"));
    assert!(invalid(&["--registry=in_memory", "--roles=a", "--weights=b=2"]).contains("b is not a valid role"));
    assert!(invalid(&["--registry=in_memory", "--weights=a=0"]).contains("weights must be positive"));
    assert!(invalid(&["--registry=in_memory", "--weights=a"]).contains("role=weight"));
    assert!(invalid(&["--registry=in_memory", "--min_allocatable_resources=cpus:x"])
        .starts_with("Error parsing min_allocatable_resources 'cpus:x'"));
    assert!(invalid(&["--registry=in_memory", "--fair_sharing_excluded_resource_names=gpus,gpus"])
        .contains("Duplicate token 'gpus'"));
    assert!(invalid(&["--registry=in_memory", "--ip=localhost"]).contains("not an IP address"));
    assert!(invalid(&["--registry=in_memory", "--advertise_port=70000"]).contains("not a port number"));
    // Replicated log with a work directory and no ZooKeeper is fine.
    assert!(load(&["--work_dir=/tmp/x"], &[]).is_ok());
}

#[test]
fn flags_endpoint_pairs_use_stout_formats() {
    let loaded = load_ok(&["--allocation_interval=1secs"]);
    let pairs = loaded.flags.to_pairs();
    for (name, value) in [
        ("agent_ping_timeout", "15secs"),
        ("allocation_interval", "1secs"),
        ("agent_reregister_timeout", "10mins"),
        ("registry_fetch_timeout", "1mins"),
        ("registry_store_timeout", "20secs"),
        ("registry_max_agent_age", "2weeks"),
        ("max_agent_ping_timeouts", "5"),
        ("port", "5050"),
        ("registry", "in_memory"),
        ("recovery_agent_removal_limit", "100%"),
        ("min_allocatable_resources", "cpus:0.01|mem:32"),
        ("allocator_agent_recovery_factor", "0.8"),
        ("offer_constraints_re2_max_mem", "4KB"),
        ("hostname_lookup", "true"),
        ("quiet", "false"),
        ("logging_level", "INFO"),
    ] {
        assert!(pairs.contains(&(name.into(), value.into())), "{name}={value} not in {pairs:?}");
    }
    // Unset optional flags are not shown.
    assert!(!pairs.iter().any(|(name, _)| name == "work_dir" || name == "zk"));
    let loaded = load_ok(&["--fair_sharing_excluded_resource_names=gpus,fpgas"]);
    assert!(loaded
        .flags
        .to_pairs()
        .contains(&("fair_sharing_excluded_resource_names".into(), "{ fpgas, gpus }".into())));
}

#[test]
fn help_mentions_every_flag_and_loads_despite_errors() {
    // As in stout, values are applied in name order and the first error stops the load, so
    // `--help` survives a bad `--port` (applied after it) but not an unknown `--bogus`.
    assert!(load(&["--help", "--bogus"], &[]).is_err());
    let loaded = load(&["--help", "--port=http"], &[]).unwrap();
    assert!(loaded.flags.help());
    let usage = loaded.flags.usage(None);
    assert!(usage.starts_with("Usage: mesos-master [options]"), "{usage}");
    let names: Vec<String> = loaded.flags.iter().map(|flag| flag.name.value.clone()).collect();
    // Upstream declares 70 master flags and 6 logging flags; `--help` is the 77th.
    assert_eq!(names.len(), 77, "{names:?}");
    for name in &names {
        assert!(usage.contains(&format!("--{name}=")) || usage.contains(&format!("--[no-]{name}")), "{name}");
    }
    for name in SUPPORTED_FLAGS {
        assert!(names.iter().any(|n| n == name), "{name}");
    }
    assert!(usage.contains("(default: 15secs)"));
    assert!(load(&["--version"], &[]).unwrap().flags.version);
}

#[test]
fn zk_can_come_from_a_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("zk");
    std::fs::write(&path, "zk://10.0.0.1:2181,10.0.0.2:2181/mesos").unwrap();
    let zk = format!("--zk=file://{}", path.display());
    let loaded = load_ok(&[&zk]);
    let value = loaded.flags.zk.clone().unwrap();
    assert_eq!(value.value, "zk://10.0.0.1:2181,10.0.0.2:2181/mesos");
    // `/flags` shows the path, not the contents (which may hold a password).
    assert!(loaded.flags.to_pairs().contains(&("zk".into(), path.display().to_string())));
}
