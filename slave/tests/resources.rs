//! The agent's total resources and attributes: `ContainerizerResourcesTest.*` ported by name, the detection rules at their boundaries, `--default_role`, JSON `--resources`, bad input, and property tests (`Containerizer::resources` in `src/slave/containerizer/containerizer.cpp`).

use mesos::bytes::Bytes;
use mesos::proto::value::Type;
use mesos::resources::{reservation_role, Resources, ResourcesError};
use proptest::prelude::*;
use slave::flags::SlaveFlags;
use slave::resources::{
    agent_resources, cpus_to_offer, disk_to_offer, mem_to_offer, parse_attributes, AgentResourcesError, Machine,
};

const GB: u64 = 1024 * 1024 * 1024;
const MB: u64 = 1024 * 1024;

/// A machine with 8 CPUs, 16 GB of memory and a 100 GB disk.
fn machine() -> Machine {
    Machine::new(8, Bytes::gigabytes(16), Bytes::gigabytes(100))
}

/// A machine on which nothing could be detected.
fn unknown_machine() -> Machine {
    Machine { cpus: Err("no sysconf".into()), memory: Err("no sysinfo".into()), disk: Err("no statvfs".into()) }
}

fn total(text: Option<&str>, role: &str, machine: &Machine) -> Resources {
    agent_resources(text, role, machine).unwrap_or_else(|error| panic!("{text:?}: {error}"))
}

fn parse(text: &str) -> Resources {
    Resources::parse(text, "*").unwrap()
}

// Mirrors `ContainerizerResourcesTest.AutoResources`: names that merely contain `cpus`,
// `mem`, `disk` or `ports` do not turn detection off (MESOS-6821).
#[test]
fn containerizer_resources_test_auto_resources() {
    let resources = total(
        Some("my.cpus:1000;cpus-suffix:3;memory(mem):1024;things:{mem,disk,ports};diskports:[30000-35000]"),
        "*",
        &machine(),
    );
    assert_eq!(resources.cpus(), Some(8.0));
    assert_eq!(resources.mem(), Some(15 * 1024));
    assert_eq!(resources.disk(), Some(95 * 1024));
    assert_eq!(resources.ports(), parse("ports:[31000-32000]").ports());
    assert_eq!(resources.get_scalar("my.cpus").map(|s| s.value), Some(1000.0));
}

// Mirrors `ContainerizerResourcesTest.AutoResourcesZero`: naming a resource with zero turns
// its detection off.
#[test]
fn containerizer_resources_test_auto_resources_zero() {
    let resources = total(Some("cpus:0;mem(*):0;disk:0;ports:[]"), "*", &machine());
    assert_eq!(resources.cpus(), None);
    assert_eq!(resources.mem(), None);
    assert_eq!(resources.disk(), None);
    assert_eq!(resources.ports(), None);
    assert!(resources.is_empty());
}

// Mirrors `ContainerizerResourcesTest.AutoResourcesNonZero`.
#[test]
fn containerizer_resources_test_auto_resources_non_zero() {
    let resources = total(Some("cpus:2;mem(*):1024;disk:4096;ports:[30000-35000]"), "*", &machine());
    assert_eq!(resources.cpus(), Some(2.0));
    assert_eq!(resources.mem(), Some(1024));
    assert_eq!(resources.disk(), Some(4096));
    assert_eq!(resources, parse("cpus:2;mem:1024;disk:4096;ports:[30000-35000]"));
}

#[test]
fn nothing_given_is_everything_detected_in_upstreams_order() {
    let resources = total(None, "*", &machine());
    assert_eq!(resources.to_string(), "cpus:8; mem:15360; disk:97280; ports:[31000-32000]");
    assert_eq!(total(Some(""), "*", &machine()), resources);
}

#[test]
fn detection_failures_fall_back_to_the_defaults() {
    let resources = total(None, "*", &unknown_machine());
    assert_eq!(resources.to_string(), "cpus:1; mem:1024; disk:10240; ports:[31000-32000]");
}

#[test]
fn memory_keeps_one_gigabyte_from_two_up_and_half_below() {
    let mem = |bytes: u64| mem_to_offer(&Ok(Bytes::new(bytes))).bytes();
    assert_eq!(mem(16 * GB), 15 * GB);
    assert_eq!(mem(2 * GB), GB);
    assert_eq!(mem(2 * GB - 1), GB - 1);
    assert_eq!(mem(GB), GB / 2);
    assert_eq!(mem(0), 0);
    assert_eq!(mem_to_offer(&Err("x".into())), Bytes::gigabytes(1));
    // Offered in whole megabytes, rounded down.
    let offered = |bytes: u64| total(None, "*", &Machine::new(1, Bytes::new(bytes), Bytes::gigabytes(20))).mem();
    assert_eq!(offered(2 * GB - 1), Some(1023));
    assert_eq!(offered(2 * GB + MB - 1), Some(1024));
    // Less than 2 MB of memory offers none at all.
    assert_eq!(offered(MB), None);
}

#[test]
fn disk_keeps_five_gigabytes_from_ten_up_and_half_below() {
    let disk = |bytes: u64| disk_to_offer(&Ok(Bytes::new(bytes))).bytes();
    assert_eq!(disk(100 * GB), 95 * GB);
    assert_eq!(disk(10 * GB), 5 * GB);
    assert_eq!(disk(10 * GB - 2), 5 * GB - 1);
    assert_eq!(disk(8 * GB), 4 * GB);
    assert_eq!(disk_to_offer(&Err("x".into())), Bytes::gigabytes(10));
    let offered = |bytes: u64| total(None, "*", &Machine::new(1, Bytes::gigabytes(4), Bytes::new(bytes))).disk();
    assert_eq!(offered(10 * GB - 2), Some(5119));
    assert_eq!(offered(3 * MB), Some(1));
}

#[test]
fn cpus_are_the_online_cpus() {
    assert_eq!(cpus_to_offer(&Ok(64)), 64.0);
    assert_eq!(cpus_to_offer(&Err("x".into())), 1.0);
    assert_eq!(total(None, "*", &Machine::new(3, Bytes::gigabytes(4), Bytes::gigabytes(20))).cpus(), Some(3.0));
}

#[test]
fn the_default_role_reserves_what_is_given_without_a_role_and_what_is_detected() {
    let resources = total(Some("cpus:2;mem(*):512;disk(ops):100"), "dev", &machine());
    let role_of = |name: &str| -> Vec<Option<String>> {
        resources.get(name).iter().map(|r| reservation_role(r).map(str::to_string)).collect()
    };
    assert_eq!(role_of("cpus"), [Some("dev".to_string())]);
    // `(*)` is explicitly unreserved.
    assert_eq!(role_of("mem"), [None]);
    assert_eq!(role_of("disk"), [Some("ops".to_string())]);
    // Detected: ports only, since cpus, mem and disk were named.
    assert_eq!(role_of("ports"), [Some("dev".to_string())]);
    assert_eq!(resources.len(), 4);

    let detected = total(None, "dev", &machine());
    assert!(detected.iter().all(|r| reservation_role(r) == Some("dev")));
    assert_eq!(detected.to_string(), "cpus(reservations: [(STATIC,dev)]):8; mem(reservations: [(STATIC,dev)]):15360; disk(reservations: [(STATIC,dev)]):97280; ports(reservations: [(STATIC,dev)]):[31000-32000]");
}

#[test]
fn a_name_given_for_any_role_turns_its_detection_off() {
    let resources = total(Some("cpus(ops):2;ports(web):[8000-8100]"), "*", &machine());
    assert_eq!(resources.cpus(), Some(2.0));
    assert!(resources.unreserved().cpus().is_none());
    assert_eq!(resources.ports().unwrap().range.len(), 1);
    assert_eq!(resources.mem(), Some(15 * 1024));
}

#[test]
fn gpus_are_not_detected_and_given_ones_move_to_the_front() {
    let resources = total(Some("mem:64;gpus:2;cpus:1"), "*", &machine());
    let names: Vec<&str> = resources.iter().map(|r| r.name.as_str()).collect();
    assert_eq!(names, ["gpus", "mem", "cpus", "disk", "ports"]);
    assert_eq!(total(None, "*", &machine()).gpus(), None);
}

#[test]
fn json_resources_are_read_and_the_rest_detected() {
    let json = r#"[
        {"name": "cpus", "type": "SCALAR", "scalar": {"value": 24}},
        {"name": "ports", "type": "RANGES", "ranges": {"range": [{"begin": 21000, "end": 24000}]},
         "reservations": [{"type": "STATIC", "role": "web"}]},
        {"name": "mem", "type": "SCALAR", "scalar": {"value": 0}}
    ]"#;
    let resources = total(Some(json), "*", &machine());
    assert_eq!(resources.cpus(), Some(24.0));
    // `mem` was named (with zero), so none is detected.
    assert_eq!(resources.mem(), None);
    assert_eq!(resources.disk(), Some(95 * 1024));
    let ports = resources.get("ports");
    assert_eq!(ports.len(), 1);
    assert_eq!(reservation_role(ports.iter().next().unwrap()), Some("web"));
    assert_eq!(resources.get("cpus").iter().next().unwrap().r#type(), Type::Scalar);

    // JSON elements without a role get the default role.
    let reserved = total(Some(r#"[{"name": "cpus", "type": "SCALAR", "scalar": {"value": 2}}]"#), "dev", &machine());
    assert_eq!(reservation_role(reserved.get("cpus").iter().next().unwrap()), Some("dev"));
}

#[test]
fn bad_input_is_an_error_not_a_panic() {
    let error = |text: Option<&str>, role: &str| agent_resources(text, role, &machine()).unwrap_err();
    assert_eq!(
        error(None, "-dev"),
        AgentResourcesError::DefaultRole {
            role: "-dev".into(),
            reason: "role component '-dev' is invalid because it starts with a dash".into()
        }
    );
    assert_eq!(
        error(None, "").to_string(),
        "Invalid value '' for --default_role: role names cannot be the empty string"
    );
    assert!(matches!(error(Some("cpus"), "*"), AgentResourcesError::Resources(ResourcesError::BadPair(_))));
    assert!(matches!(error(Some("cpus:fast"), "*"), AgentResourcesError::Resources(ResourcesError::TextValue { .. })));
    assert!(matches!(error(Some("cpus(-x):1"), "*"), AgentResourcesError::Resources(ResourcesError::Invalid { .. })));
    assert!(matches!(error(Some("ports:[5-1]"), "*"), AgentResourcesError::Resources(ResourcesError::Invalid { .. })));
    assert!(matches!(
        error(Some("mem:1;mem(ops):[1-2]"), "*"),
        AgentResourcesError::Resources(ResourcesError::CommandLine(_))
    ));
    assert!(matches!(
        error(Some(r#"[{"name": "cpus", "type": "SCALAR"}]"#), "*"),
        AgentResourcesError::Resources(ResourcesError::Invalid { .. })
    ));
    assert_eq!(
        error(Some("[[]]"), "*").to_string(),
        "Some JSON resources were not formatted properly: Expecting a JSON object"
    );
    let volume = r#"[{"name": "disk", "type": "SCALAR", "scalar": {"value": 10},
                      "disk": {"persistence": {"id": "v1"}, "volume": {"container_path": "v", "mode": "RW"}},
                      "reservations": [{"type": "STATIC", "role": "ops"}]}]"#;
    assert_eq!(error(Some(volume), "*").to_string(), "persistent volumes cannot be specified at the command line");
}

#[test]
fn attributes_use_the_shared_parser() {
    let attributes = parse_attributes(Some("rack:r1;level:10;keys:[1000-1500]\nos:centos:7")).unwrap();
    assert_eq!(attributes.len(), 4);
    assert_eq!(attributes.get_text("rack").map(|t| t.value.as_str()), Some("r1"));
    assert_eq!(attributes.get_scalar("level").map(|s| s.value), Some(10.0));
    assert_eq!(attributes.get_text("os").map(|t| t.value.as_str()), Some("centos:7"));
    assert!(parse_attributes(None).unwrap().is_empty());
    assert!(parse_attributes(Some("")).unwrap().is_empty());
    assert_eq!(parse_attributes(Some("rack:")).unwrap_err().to_string(), "invalid attribute key:value pair 'rack:'");
    assert!(parse_attributes(Some(":r1")).is_err());
    assert!(parse_attributes(Some("disks:{a,b}")).is_err());
}

#[test]
fn the_flags_compute_the_same_total() {
    let argv = [
        "mesos-agent",
        "--master=10.0.0.1:5050",
        "--work_dir=/var/lib/mesos",
        "--resources=cpus:2",
        "--default_role=dev",
    ];
    let loaded = SlaveFlags::load(&argv, Some(Vec::new())).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(loaded.flags.total_resources(&machine()).unwrap(), total(Some("cpus:2"), "dev", &machine()));
}

#[test]
fn the_real_machine_gives_every_resource() {
    let dir = tempfile::tempdir().unwrap();
    let machine = Machine::detect(dir.path());
    let resources = total(None, "*", &machine);
    assert!(resources.cpus().is_some_and(|cpus| cpus >= 1.0), "{machine:?}");
    assert!(resources.mem().is_some(), "{machine:?}");
    assert!(resources.disk().is_some(), "{machine:?}");
    assert_eq!(resources.ports(), parse("ports:[31000-32000]").ports());
    // A work directory that does not exist falls back to the default disk.
    let missing = Machine::detect(&dir.path().join("missing"));
    assert!(missing.disk.is_err());
    assert_eq!(total(None, "*", &missing).disk(), Some(10 * 1024));
}

proptest! {
    /// Whatever the machine, what is offered fits in it and nothing is left out.
    #[test]
    fn offers_fit_the_machine(cpus in 1u64..4096, memory in 0u64..(1 << 44), disk in 0u64..(1 << 50)) {
        let machine = Machine::new(cpus, Bytes::new(memory), Bytes::new(disk));
        let resources = total(None, "*", &machine);
        prop_assert_eq!(resources.cpus(), Some(cpus as f64));
        prop_assert!(resources.mem().unwrap_or(0) * MB <= memory);
        prop_assert!(resources.disk().unwrap_or(0) * MB <= disk);
        prop_assert!(resources.mem().unwrap_or(0) * MB + MB > mem_to_offer(&Ok(Bytes::new(memory))).bytes());
        prop_assert!(resources.ports().is_some());
    }

    /// Arbitrary `--resources` and `--default_role` texts never panic.
    #[test]
    fn any_text_is_a_result(text in "\\PC{0,40}", role in "[a-z*/ -]{0,6}") {
        let _ = agent_resources(Some(&text), &role, &machine());
    }

    /// Resource-shaped texts: when they parse, every name given keeps exactly its given
    /// amount, and only missing standard names are added.
    #[test]
    fn given_names_are_never_detected(
        given in proptest::collection::btree_set(prop_oneof!["cpus", "mem", "disk", "ports", "gpus"], 0..5),
    ) {
        let text: Vec<String> = given.iter().map(|name| {
            if name == "ports" { "ports:[1-2]".to_string() } else { format!("{name}:3") }
        }).collect();
        let resources = total(Some(&text.join(";")), "*", &machine());
        for name in ["cpus", "mem", "disk"] {
            let expected = if given.contains(name) { Some(3.0) } else { None };
            if expected.is_some() {
                prop_assert_eq!(resources.get_scalar(name).map(|s| s.value), expected);
            } else {
                prop_assert!(resources.get_scalar(name).is_some_and(|s| s.value > 3.0));
            }
        }
        let ports = if given.contains("ports") { "[1-2]" } else { "[31000-32000]" };
        prop_assert_eq!(resources.ports(), parse(&format!("ports:{ports}")).ports());
    }
}
