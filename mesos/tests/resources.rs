//! Resources, values, attributes and weights maths, ported case by case from the C++ tests `src/tests/resources_tests.cpp`, `values_tests.cpp` and `attributes_tests.cpp`, plus property tests.

use mesos::attributes::Attributes;
use mesos::proto::resource::reservation_info::Type as ReservationType;
use mesos::proto::resource::{DiskInfo, ReservationInfo, SharedInfo};
use mesos::proto::value::{Ranges, Scalar, Set, Type};
use mesos::proto::{Label, Labels, Resource};
use mesos::resources::{self, downgrade_resources, upgrade_resources, DisplayResource, Resources, ResourcesError};
use mesos::values::{self, MesosValue, ValueError};
use mesos::weights::parse_weights;
use proptest::prelude::*;

// ----- helpers (the C++ test helpers of the same names) -----

fn parse(text: &str) -> Resources {
    Resources::parse(text, "*").unwrap_or_else(|e| panic!("parse {text:?}: {e}"))
}

fn resource(name: &str, value: &str, role: &str) -> Resource {
    Resources::parse_resource(name, value, role).unwrap()
}

fn ranges_of(text: &str) -> Ranges {
    values::parse(text).unwrap().ranges.unwrap()
}

fn set_of(text: &str) -> Set {
    values::parse(text).unwrap().set.unwrap()
}

fn static_reservation(role: &str) -> ReservationInfo {
    ReservationInfo { r#type: Some(ReservationType::Static as i32), role: Some(role.into()), ..Default::default() }
}

fn dynamic_reservation(role: &str, principal: &str, labels: Option<Labels>) -> ReservationInfo {
    ReservationInfo {
        r#type: Some(ReservationType::Dynamic as i32),
        role: Some(role.into()),
        principal: Some(principal.into()),
        labels,
    }
}

fn labels(key: &str, value: &str) -> Labels {
    Labels { labels: vec![Label { key: key.into(), value: Some(value.into()) }] }
}

fn reserved(name: &str, value: &str, reservation: Option<ReservationInfo>) -> Resources {
    let mut r = resource(name, value, "*");
    r.reservations.extend(reservation);
    Resources::from(r)
}

fn persistent_volume(size: &str, id: &str, shared: bool) -> Resource {
    let mut r = resource("disk", size, "*");
    r.disk = Some(Box::new(DiskInfo {
        persistence: Some(mesos::proto::resource::disk_info::Persistence { id: id.into(), principal: None }),
        ..Default::default()
    }));
    if shared {
        r.shared = Some(SharedInfo {});
    }
    r
}

// ===== resources_tests.cpp =====

// Mirrors `ResourcesTest.Parsing`.
#[test]
fn resources_test_parsing() {
    let cpus = resource("cpus", "45.55", "*");
    assert_eq!(cpus.r#type(), Type::Scalar);
    assert_eq!(cpus.scalar.as_ref().unwrap().value, 45.55);

    let ports = resource("ports", "[10000-20000, 30000-50000]", "*");
    assert_eq!(ports.r#type(), Type::Ranges);
    assert_eq!(ports.ranges.as_ref().unwrap().range.len(), 2);

    let disks = resource("disks", "{sda1}", "*");
    assert_eq!(disks.r#type(), Type::Set);
    assert_eq!(disks.set.as_ref().unwrap().item, vec!["sda1"]);

    let r1 = parse("cpus:45.55;ports:[10000-20000, 30000-50000];disks:{sda1}");
    let mut r2 = Resources::new();
    r2 += &cpus;
    r2 += &ports;
    r2 += &disks;
    assert_eq!(r1, r2);
}

// Mirrors `ResourcesTest.ParsingWithRoles`.
#[test]
fn resources_test_parsing_with_roles() {
    let parse1 = parse("cpus(role1):2;mem(role1):3");
    let mut cpus = resource("cpus", "2", "*");
    cpus.reservations.push(static_reservation("role1"));
    let mut mem = resource("mem", "3", "*");
    mem.reservations.push(static_reservation("role1"));
    assert_eq!(parse1, [cpus, mem].into_iter().collect());

    let parse2 = parse("cpus(role1):2.5;ports(role2):[0-100]");
    let mut cpus2 = resource("cpus", "2.5", "*");
    cpus2.reservations.push(static_reservation("role1"));
    let mut ports = resource("ports", "[0-100]", "*");
    ports.reservations.push(static_reservation("role2"));
    assert_eq!(parse2, [ports, cpus2].into_iter().collect());

    let parse3 = Resources::parse("cpus:2.5;ports(role2):[0-100]", "role1").unwrap();
    assert_eq!(parse2, parse3);

    // `(*)` is explicitly unreserved even with another default role.
    assert_eq!(Resources::parse("cpus(*):2", "role1").unwrap(), parse("cpus:2"));
}

// Mirrors `ResourcesTest.ParseError`, plus malformed texts of our own.
#[test]
fn resources_test_parse_error() {
    assert!(matches!(Resources::parse("cpus(role1)", "*"), Err(ResourcesError::BadPair(_))));
    assert!(matches!(Resources::parse("cpus(role1:1", "*"), Err(ResourcesError::MismatchedParentheses(_))));
    assert!(matches!(Resources::parse("cpus)(role1:1", "*"), Err(ResourcesError::MismatchedParentheses(_))));
    assert!(matches!(Resources::parse("foo(role1):1;foo(role2):[0-1]", "*"), Err(ResourcesError::CommandLine(_))));

    // Negative numbers parse as text, which resources refuse.
    assert!(matches!(Resources::parse("cpus:-1", "*"), Err(ResourcesError::TextValue { .. })));
    assert!(matches!(Resources::parse("cpus:nan", "*"), Err(ResourcesError::TextValue { .. })));
    assert!(matches!(Resources::parse("cpus:1e400", "*"), Err(ResourcesError::TextValue { .. })));
    assert!(matches!(Resources::parse("cpus:1e300", "*"), Err(ResourcesError::Invalid { .. })));
    assert!(matches!(Resources::parse("ports:[5-1]", "*"), Err(ResourcesError::Invalid { .. })));
    assert!(matches!(Resources::parse("ports:[1-99999999999999999999]", "*"), Err(ResourcesError::Value { .. })));
    assert!(matches!(Resources::parse("cpus(/a):1", "*"), Err(ResourcesError::Invalid { .. })));
    assert!(matches!(Resources::parse("cpus():1", "*"), Err(ResourcesError::Invalid { .. })));
    assert!(matches!(Resources::parse(":1", "*"), Err(ResourcesError::BadPair(_))));
    assert!(matches!(Resources::parse("(r):1", "*"), Err(ResourcesError::Invalid { .. })));
    assert!(matches!(Resources::parse("disks:{a,a}", "*"), Err(ResourcesError::Invalid { .. })));
}

// Mirrors `ResourcesTest.ParsingFromJSON`.
#[test]
fn resources_test_parsing_from_json() {
    // Resources written as JSON read back equal.
    let resources = parse("cpus:2;mem:3");
    let array: Vec<String> = resources.iter().map(mesos::json::to_string).collect();
    let text = format!("[{}]", array.join(","));
    assert_eq!(Resources::parse(&text, "*").unwrap(), resources);

    // With newlines, as a file would hold it.
    let cpus = Resources::parse(
        r#"[
  {
    "name": "cpus",
    "type": "SCALAR",
    "scalar": {
      "value": 45.55
    }
  }
]"#,
        "*",
    )
    .unwrap();
    assert_eq!(cpus.len(), 1);
    let cpu = cpus.iter().next().unwrap().clone();
    assert_eq!(cpu.r#type(), Type::Scalar);
    assert_eq!(cpu.scalar.as_ref().unwrap().value, 45.55);

    let ports = Resources::parse(
        r#"[{"name": "ports", "type": "RANGES", "ranges": {"range": [{"begin": 10000, "end": 20000}, {"begin": 30000, "end": 50000}]}}]"#,
        "*",
    )
    .unwrap();
    let port = ports.iter().next().unwrap().clone();
    assert_eq!(port.r#type(), Type::Ranges);
    assert_eq!(port.ranges.as_ref().unwrap().range.len(), 2);

    let pandas =
        Resources::parse(r#"[{"name": "pandas", "type": "SET", "set": {"item": ["lun_lun", "yang_yang"]}}]"#, "*")
            .unwrap();
    let panda = pandas.iter().next().unwrap().clone();
    assert_eq!(panda.r#type(), Type::Set);
    assert_eq!(panda.name, "pandas");
    assert_eq!(panda.set.as_ref().unwrap().item.len(), 2);

    let all = Resources::parse(
        r#"[
          {"name": "cpus", "type": "SCALAR", "scalar": {"value": 45.55}},
          {"name": "ports", "type": "RANGES",
           "ranges": {"range": [{"begin": 10000, "end": 20000}, {"begin": 30000, "end": 50000}]}},
          {"name": "pandas", "type": "SET", "set": {"item": ["lun_lun", "yang_yang"]}}
        ]"#,
        "*",
    )
    .unwrap();
    let expected: Resources = [cpu, port, panda].into_iter().collect();
    assert_eq!(all, expected);
}

// Mirrors `ResourcesTest.ParsingFromJSONWithRoles`, plus the default role and the
// pre-refinement `role` field.
#[test]
fn resources_test_parsing_from_json_with_roles() {
    let cpus = |value: f64, role: &str| {
        let text = format!(
            r#"[{{"name": "cpus", "type": "SCALAR", "scalar": {{"value": {value}}},
                 "reservations": [{{"type": "STATIC", "role": "{role}"}}]}}]"#
        );
        Resources::parse(&text, "*").unwrap().iter().next().unwrap().clone()
    };
    let cpus1 = cpus(45.55, "role1");
    assert_eq!(cpus1.scalar.as_ref().unwrap().value, 45.55);
    assert_eq!(resources::reservation_role(&cpus1), Some("role1"));
    let cpus2 = cpus(54.44, "role2");

    let mut total = Resources::from(cpus2);
    total += &cpus1;
    total += &cpus1;
    assert!(total.contains(&Resources::from(cpus1.clone())));
    assert_eq!(total.cpus(), Some(145.54));
    for r in total.iter() {
        let expected = if resources::reservation_role(r) == Some("role1") { 91.1 } else { 54.44 };
        assert_eq!(r.scalar.as_ref().unwrap().value, expected);
    }

    let mixed = Resources::parse(
        r#"[{"name": "ports", "type": "RANGES",
             "ranges": {"range": [{"begin": 10000, "end": 20000}, {"begin": 30000, "end": 50000}]},
             "reservations": [{"type": "STATIC", "role": "role1"}]},
            {"name": "pandas", "type": "SET", "set": {"item": ["lun_lun", "yang_yang"]},
             "reservations": [{"type": "STATIC", "role": "panda_liason"}]}]"#,
        "*",
    )
    .unwrap();
    for r in mixed.iter() {
        if resources::reservation_role(r) == Some("role1") {
            assert_eq!(r.r#type(), Type::Ranges);
            assert_eq!(r.ranges.as_ref().unwrap().range.len(), 2);
        } else {
            assert_eq!(r.r#type(), Type::Set);
            assert_eq!(r.set.as_ref().unwrap().item.len(), 2);
        }
    }

    // Without `role` or `reservations` an element gets the default role, statically; the
    // old `role` field is upgraded; `*` stays unreserved.
    let defaulted = Resources::parse(r#"[{"name": "cpus", "type": "SCALAR", "scalar": {"value": 1}}]"#, "dev").unwrap();
    assert_eq!(defaulted, Resources::parse("cpus(dev):1", "*").unwrap());
    let old = Resources::parse(r#"[{"name": "mem", "type": "SCALAR", "scalar": {"value": 8}, "role": "ops"}]"#, "dev")
        .unwrap();
    assert_eq!(old, Resources::parse("mem(ops):8", "*").unwrap());
    let star =
        Resources::parse(r#"[{"name": "mem", "type": "SCALAR", "scalar": {"value": 8}, "role": "*"}]"#, "dev").unwrap();
    assert_eq!(star, Resources::parse("mem:8", "*").unwrap());
}

// Mirrors `ResourcesTest.ParsingFromJSONError`, plus the cases C++ gets wrong or aborts on.
#[test]
fn resources_test_parsing_from_json_error() {
    let sad = r#"{"name": "sad_pandas", "type": "SET", "set": {"item": ["bai_yun", "gao_gao"]}}"#;
    let happy = r#"{"name": "happy_pandas", "type": "SET", "set": {"item": ["yun_zi", "xiao_liwu"]}}"#;
    // A single object: not an array, so read (and refused) as `name:value` text.
    assert!(Resources::parse(sad, "*").is_err());
    // A missing comma between the elements, or in a set's items: not JSON either.
    assert!(Resources::parse(&format!("[{sad} {happy}]"), "*").is_err());
    let broken = r#"[{"name": "happy_pandas", "type": "SET", "set": {"item": ["yun_zi" "xiao_liwu"]}}]"#;
    assert!(Resources::parse(broken, "*").is_err());
    // An array of arrays.
    assert_eq!(
        Resources::parse(&format!("[[{sad}, {happy}]]"), "*"),
        Err(ResourcesError::Json("Expecting a JSON object".into()))
    );
    // Missing required fields and unknown enum names.
    assert_eq!(
        Resources::parse(r#"[{"name": "cpus", "scalar": {"value": 1}}]"#, "*").unwrap_err().to_string(),
        "Some JSON resources were not formatted properly: Missing required fields: type"
    );
    assert!(matches!(
        Resources::parse(r#"[{"name": "cpus", "type": "NUMBER", "scalar": {"value": 1}}]"#, "*"),
        Err(ResourcesError::Json(_))
    ));
    // Invalid resources are refused, not dropped.
    assert!(matches!(
        Resources::parse(r#"[{"name": "cpus", "type": "SCALAR", "scalar": {"value": -1}}]"#, "*"),
        Err(ResourcesError::Invalid { .. })
    ));
    assert!(matches!(
        Resources::parse(r#"[{"name": "cpus", "type": "SCALAR", "scalar": {"value": 1}}]"#, "-bad"),
        Err(ResourcesError::Invalid { .. })
    ));
    // What a command line may not say, in JSON too.
    assert!(matches!(
        Resources::parse(
            r#"[{"name": "cpus", "type": "SCALAR", "scalar": {"value": 1}, "role": "ops", "reservation": {"principal": "p"}}]"#,
            "*"
        ),
        Err(ResourcesError::CommandLine(_))
    ));
    assert!(matches!(
        Resources::parse(r#"[{"name": "cpus", "type": "SCALAR", "scalar": {"value": 1}, "revocable": {}}]"#, "*"),
        Err(ResourcesError::CommandLine(_))
    ));
    // C++ aborts on this one (a `CHECK` in `upgradeResource`).
    assert!(matches!(
        Resources::parse(
            r#"[{"name": "cpus", "type": "SCALAR", "scalar": {"value": 1}, "role": "*", "reservation": {}}]"#,
            "*"
        ),
        Err(ResourcesError::StarReservation(_))
    ));
    // An empty array is no resources.
    assert!(Resources::parse("[]", "*").unwrap().is_empty());
}

// Mirrors `ResourcesTest.Printing`.
#[test]
fn resources_test_printing() {
    let r = parse("cpus:45.55;ports:[10000-20000, 30000-50000];disks:{sda1}");
    assert_eq!(r.to_string(), "cpus:45.55; ports:[10000-20000, 30000-50000]; disks:{sda1}");
    assert_eq!(Resources::new().to_string(), "{}");
}

// Mirrors `ResourcesTest.PrintingScalarPrecision`.
#[test]
fn resources_test_printing_scalar_precision() {
    let show = |v: f64| {
        let mut r = resource("cpus", "1", "*");
        r.scalar = Some(Scalar { value: v });
        DisplayResource(&r).to_string()
    };
    assert_eq!(show(1.234), "cpus:1.234");
    assert_eq!(show(1.2345), "cpus:1.235");
    assert_eq!(show(1.2344), "cpus:1.234");
    assert_eq!(show(1.1), "cpus:1.1");
    assert_eq!(show(1000001.0), "cpus:1000001");
    assert_eq!(show(99999999999.9994), "cpus:99999999999.999");
}

// Mirrors `ResourcesTest.InitializedIsEmpty` and `ResourcesTest.BadResourcesNotAllocatable`.
#[test]
fn resources_test_bad_resources_not_allocatable() {
    assert!(Resources::new().is_empty());
    let mut cpus = Resource { r#type: Type::Scalar as i32, scalar: Some(Scalar { value: 1.0 }), ..Default::default() };
    let mut r = Resources::new();
    r += &cpus;
    assert!(r.is_empty(), "a nameless resource is invalid");
    cpus.name = "cpus".into();
    cpus.scalar = Some(Scalar { value: 0.0 });
    r += &cpus;
    assert!(r.is_empty(), "a zero resource is dropped");
}

// Mirrors `ResourcesTest.ScalarEquals`.
#[test]
fn resources_test_scalar_equals() {
    let r1: Resources = [resource("cpus", "3", "*"), resource("mem", "3072", "*")].into_iter().collect();
    let r2: Resources = [resource("mem", "3072", "*"), resource("cpus", "3", "*")].into_iter().collect();
    assert!(!r1.is_empty());
    assert_eq!(r1, r2);
    assert_ne!(Resources::from(resource("cpus", "3", "role1")), Resources::from(resource("cpus", "3", "role2")));
}

// Mirrors `ResourcesTest.ScalarSubset` and `ResourcesTest.ScalarSubset2`.
#[test]
fn resources_test_scalar_subset() {
    let r1 = parse("cpus:1;mem:3072");
    let r2 = parse("cpus:1;mem:4096");
    assert!(r2.contains(&r1));
    assert!(!r1.contains(&r2));

    let r1 = Resources::from(resource("cpus", "1", "role1"));
    let r2 = Resources::from(resource("cpus", "1", "role2"));
    let r3 = Resources::from(resource("cpus", "3", "role1"));
    assert!(!r2.contains(&r1));
    assert!(!r1.contains(&r2));
    assert!(!r1.contains(&r3));
    assert!(!r2.contains(&r3));
    assert!(!r3.contains(&r2));
    assert!(r3.contains(&r1));
}

// Mirrors `ResourcesTest.ScalarAddition`.
#[test]
fn resources_test_scalar_addition() {
    let r1 = parse("cpus:1;mem:5");
    let r2 = parse("cpus:2;mem:10");
    let sum = &r1 + &r2;
    assert_eq!(sum.len(), 2);
    assert_eq!(sum.get_scalar("cpus").unwrap().value, 3.0);
    assert_eq!(sum.get_scalar("mem").unwrap().value, 15.0);
    assert_eq!(sum, r1.clone() + r2.clone());
    let mut r = r1;
    r += &r2;
    assert_eq!(r, sum);
}

// Mirrors `ResourcesTest.ScalarAddition2`.
#[test]
fn resources_test_scalar_addition2() {
    let r1 = Resources::from(resource("cpus", "1", "role1")) + Resources::from(resource("cpus", "3", "role2"));
    let r2 = Resources::from(resource("cpus", "5", "role1"));
    let sum = &r1 + &r2;
    assert_eq!(sum.len(), 2);
    assert_eq!(sum.cpus(), Some(9.0));
    assert_eq!(sum, parse("cpus(role1):6;cpus(role2):3"));
}

// Mirrors `ResourcesTest.ScalarSubtraction` and `ResourcesTest.ScalarSubtraction2`.
#[test]
fn resources_test_scalar_subtraction() {
    let r1 = parse("cpus:50;mem:4096");
    let r2 = parse("cpus:0.5;mem:1024");
    let diff = &r1 - &r2;
    assert_eq!(diff.get_scalar("cpus").unwrap().value, 49.5);
    assert_eq!(diff.get_scalar("mem").unwrap().value, 3072.0);
    assert!((&r1 - &r1).is_empty());

    let r1 = parse("cpus(role1):5;cpus(role2):3");
    let diff = &r1 - &parse("cpus(role1):1");
    assert_eq!(diff.len(), 2);
    assert_eq!(diff.cpus(), Some(7.0));
    assert_eq!(diff, parse("cpus(role1):4;cpus(role2):3"));
}

// Mirrors `ResourcesTest.RangesEquals`.
#[test]
fn resources_test_ranges_equals() {
    assert_eq!(parse("ports:[20-40]"), parse("ports:[20-30, 31-39, 40-40]"));
}

// Mirrors `ResourcesTest.RangesSubset`.
#[test]
fn resources_test_ranges_subset() {
    let ports1 = resource("ports", "[2-2, 4-5]", "*");
    let ports2 = resource("ports", "[1-10]", "*");
    let ports3 = resource("ports", "[2-3]", "*");
    let ports4 = resource("ports", "[1-2, 4-6]", "*");
    let ports5 = resource("ports", "[1-4, 5-5]", "*");
    assert_eq!(ports1.ranges.as_ref().unwrap().range.len(), 2);
    assert_eq!(ports5.ranges.as_ref().unwrap().range.len(), 1, "parsing coalesces");
    let [r1, r2, r3, r4, r5] = [ports1, ports2, ports3, ports4, ports5].map(Resources::from);
    assert!(r2.contains(&r1));
    assert!(!r1.contains(&r2));
    assert!(!r3.contains(&r1));
    assert!(!r1.contains(&r3));
    assert!(r2.contains(&r3));
    assert!(!r3.contains(&r2));
    assert!(r4.contains(&r1));
    assert!(r2.contains(&r4));
    assert!(r5.contains(&r1));
    assert!(!r1.contains(&r5));
}

// Mirrors `ResourcesTest.RangesAddition` through `RangesAddition4`.
#[test]
fn resources_test_ranges_addition() {
    let cases = [
        ("[20000-40000]", "[30000-50000, 10000-20000]", "[10000-50000]"),
        ("[1-10, 5-30, 50-60]", "[1-65, 70-80]", "[1-65, 70-80]"),
        ("[1-2]", "[3-4]", "[1-4]"),
        ("[7-8]", "[5-6]", "[5-8]"),
        ("[1-4, 9-10, 20-22, 26-30]", "[5-8, 23-25]", "[1-10, 20-30]"),
    ];
    for (a, b, sum) in cases {
        let mut r = Resources::from(resource("ports", a, "*"));
        r += &resource("ports", b, "*");
        assert!(r.get_ranges("ports").unwrap().mesos_eq(&ranges_of(sum)), "{a} + {b}");
        assert_eq!(r.len(), 1);
    }
    // `RangesAddition3`: adding whole collections coalesces across them.
    let r1 = parse("ports:[1-2]") + parse("ports:[3-4]");
    let r2 = parse("ports:[7-8]") + parse("ports:[5-6]") + r1;
    assert_eq!(r2.get_ranges("ports").unwrap().range, ranges_of("[1-8]").range);
}

// Mirrors `ResourcesTest.RangesSubtraction` through `RangesSubtraction6`.
#[test]
fn resources_test_ranges_subtraction() {
    let cases = [
        ("[20000-40000]", "[10000-20000, 30000-50000]", "[20001-29999]"),
        ("[50000-60000]", "[50000-50001]", "[50002-60000]"),
        ("[50000-60000]", "[50000-50000]", "[50001-60000]"),
        ("[1-10, 20-30, 40-50]", "[2-9, 15-45, 48-50]", "[1-1, 10-10, 46-47]"),
        ("[1-10]", "[11-20]", "[1-10]"),
    ];
    for (a, b, diff) in cases {
        let mut r = Resources::from(resource("ports", a, "*"));
        r -= &resource("ports", b, "*");
        assert!(r.get_ranges("ports").unwrap().mesos_eq(&ranges_of(diff)), "{a} - {b}");
    }

    // `RangesSubtraction3`.
    let free = parse("ports:[50000-60000]") - (parse("") + parse("ports:[50000-50001]"));
    assert!(free.get_ranges("ports").unwrap().mesos_eq(&ranges_of("[50002-60000]")));

    // `RangesSubtraction4`.
    let mut offered = Resources::new();
    offered += &parse("ports:[50000-60000]");
    offered -= &parse("ports:[50000-60000]");
    assert!(offered.is_empty());
    assert_eq!(offered.get_ranges("ports"), None);
}

// Mirrors `ResourcesTest.SetEquals`, `SetSubset`, `SetAddition` and `SetSubtraction`.
#[test]
fn resources_test_set_operations() {
    assert_eq!(parse("disks:{sda1}"), parse("disks:{sda1}"));

    let r1 = parse("disks:{sda1,sda2}");
    let r2 = parse("disks:{sda1,sda3,sda4,sda2}");
    assert!(r2.contains(&r1));
    assert!(!r1.contains(&r2));

    let sum = parse("disks:{sda1,sda2,sda3}") + parse("disks:{sda1,sda2,sda3,sda4}");
    assert_eq!(sum.get_set("disks").unwrap().item.len(), 4);

    let diff = parse("disks:{sda1,sda2,sda3,sda4}") - parse("disks:{sda2,sda3,sda4}");
    assert_eq!(diff.get_set("disks").unwrap().item, vec!["sda1"]);
}

// Mirrors `ResourcesTest.EmptyUnequal` and `ResourcesTest.AbsentResources`.
#[test]
fn resources_test_empty_unequal() {
    assert_ne!(parse(""), parse("cpus:2"));
    assert_eq!(parse("gpus:0").len(), 0);
}

// Mirrors `ResourcesTest.Reservations`.
#[test]
fn resources_test_reservations() {
    let unreserved = parse("cpus:1;mem:2;disk:4");
    let role1 = parse("cpus(role1):2;mem(role1):4;disk(role1):8");
    let role2 = parse("cpus(role2):4;mem(role2):8;disk(role2):6");
    let all = &(&unreserved + &role1) + &role2;

    let by_role = all.reservations();
    assert_eq!(by_role.len(), 2);
    assert_eq!(by_role["role1"], role1);
    assert_eq!(by_role["role2"], role2);
    assert_eq!(all.reserved(Some("role1")), role1);
    assert_eq!(all.reserved(Some("role2")), role2);
    assert_eq!(all.reserved(Some("*")), Resources::new());
    assert_eq!(all.unreserved(), unreserved);
    assert_eq!(all.reserved(None), &role1 + &role2);
}

// Mirrors `ResourcesTest.HierarchicalReservations`.
#[test]
fn resources_test_hierarchical_reservations() {
    let unreserved = parse("cpus:1;mem:2;disk:4");
    let grandfather = parse("cpus(a):2;mem(a):4;disk(a):8");
    let father = parse("cpus(a/bx):4;mem(a/bx):8;disk(a/bx):16");
    let uncle = parse("cpus(a/b):4;mem(a/b):8;disk(a/b):16");
    let child = parse("cpus(a/bx/c):8;mem(a/bx/c):16;disk(a/bx/c):32");
    let family = [&grandfather, &father, &uncle, &child].into_iter().fold(unreserved.clone(), |acc, r| &acc + r);

    assert_eq!(family.allocatable_to("*"), unreserved);
    assert_eq!(family.allocatable_to("a"), &grandfather + &unreserved);
    assert_eq!(family.allocatable_to("a/bx"), &(&grandfather + &father) + &unreserved);
    assert_eq!(family.allocatable_to("a/bx/c"), &(&(&grandfather + &father) + &child) + &unreserved);
}

// Mirrors `ResourcesTest.ToUnreserved` and `ResourcesOperationTest.FlattenResources`.
#[test]
fn resources_test_to_unreserved_and_flatten() {
    let resources = parse("cpus(role1):1;mem(role2):512;disk:1024");
    assert_eq!(resources.to_unreserved(), parse("cpus:1;mem:512;disk:1024"));

    let unreserved_cpus = parse("cpus:1");
    let reservation = dynamic_reservation("role", "principal", None);
    let reserved_cpus = unreserved_cpus.push_reservation(&reservation).unwrap();
    assert!(resources::is_dynamically_reserved(reserved_cpus.iter().next().unwrap()));
    assert_eq!(reserved_cpus.pop_reservation().unwrap(), unreserved_cpus);
    assert_eq!(parse("cpus(other):1").flatten(Some(&reservation)).unwrap(), reserved_cpus);
    assert_eq!(reserved_cpus.flatten(None).unwrap(), unreserved_cpus);

    // Refining to a role outside the current one, or popping nothing, is an error.
    let refine = dynamic_reservation("elsewhere", "p", None);
    assert!(reserved_cpus.push_reservation(&refine).is_err());
    assert!(matches!(unreserved_cpus.pop_reservation(), Err(ResourcesError::NotReserved(_))));
    let refine = dynamic_reservation("role/sub", "p", None);
    let refined = reserved_cpus.push_reservation(&refine).unwrap();
    assert_eq!(resources::reservation_role(refined.iter().next().unwrap()), Some("role/sub"));
}

// Mirrors `ResourcesTest.Get`, `Names` and `Types`.
#[test]
fn resources_test_get_names_types() {
    let cpus = parse("cpus(role1):2;cpus:4");
    let mem = parse("mem(role1):10;mem:10");
    assert_eq!((&cpus + &mem).get("cpus"), cpus);
    assert_eq!((&cpus + &mem).get("mem"), mem);

    let r = parse("cpus(role1):2;cpus:4;mem(role1):10;mem:10");
    assert_eq!(r.names().into_iter().collect::<Vec<_>>(), vec!["cpus", "mem"]);

    let r = parse("cpus(role1):2;cpus:4;ports:[1-10];ports:[11-20]");
    let types = r.types();
    assert_eq!(types.len(), 2);
    assert_eq!(types["cpus"], Type::Scalar);
    assert_eq!(types["ports"], Type::Ranges);
    assert_eq!(r.ports().unwrap().range, ranges_of("[1-20]").range);
}

// Mirrors `ResourcesTest.PrecisionSimple`, `PrecisionLost`, `PrecisionRounding` and `VerySmallValue`.
#[test]
fn resources_test_precision() {
    let cpu = parse("cpus:1.001");
    assert_eq!(cpu.cpus(), Some(1.001));
    let r1 = &(&(&(&cpu + &cpu) + &cpu) - &cpu) - &cpu;
    assert_eq!(r1, cpu);
    assert_eq!(r1.cpus(), Some(1.001));
    let zero = parse("cpus:0");
    assert_eq!(&cpu - &zero, cpu);
    assert_eq!(&cpu + &zero, cpu);

    let lost = parse("cpus:1.5011");
    let r = &(&(&(&lost + &lost) + &lost) - &lost) - &lost;
    assert_eq!(r, lost);
    assert_eq!(r.cpus(), Some(1.501));

    let rounded = parse("cpus:1.5015");
    let r = &(&(&(&rounded + &rounded) + &rounded) - &rounded) - &rounded;
    assert_eq!(r.cpus(), Some(1.502));

    assert!(matches!(Resources::parse("cpus:0.00001", "*"), Err(ResourcesError::Invalid { .. })));
}

// Mirrors `ResourcesTest.PrecisionManyOps` and `PrecisionManyConsecutiveOps` (fewer rounds).
#[test]
fn resources_test_precision_many_ops() {
    let start = parse("cpus:1.001");
    let mut current = start.clone();
    for _ in 0..2500 {
        let next = &(&(&(&current + &current) + &current) - &current) - &current;
        assert_eq!(next.cpus(), Some(1.001));
        current = next;
    }
    for _ in 0..10_000 {
        current += &start;
    }
    for _ in 0..10_000 {
        current -= &start;
    }
    assert_eq!(current, start);
}

// Mirrors `ResourcesTest.ScalarAdditionPrecision`'s intent (0.1 + 0.2 is exactly 0.3).
#[test]
fn resources_test_scalar_addition_precision() {
    let sum = parse("cpus:0.1") + parse("cpus:0.2");
    assert_eq!(sum.cpus(), Some(0.3));
    assert_eq!(sum, parse("cpus:0.3"));
    assert_eq!(parse("mem:1024.9").mem(), Some(1024), "megabytes are truncated");
    assert_eq!(parse("disk:2048").disk(), Some(2048));
}

// Mirrors `ReservedResourcesTest.Validation` and `ReservedResourcesTest.Equals`.
#[test]
fn reserved_resources_test_validation_and_equals() {
    let with = |reservation| {
        let mut r = resource("cpus", "8", "*");
        r.reservations.extend(reservation);
        r
    };
    assert!(Resources::validate(&with(None)).is_ok());
    assert!(Resources::validate(&with(Some(static_reservation("role")))).is_ok());
    assert!(Resources::validate(&with(Some(dynamic_reservation("role", "principal2", None)))).is_ok());
    assert!(Resources::validate(&with(Some(dynamic_reservation("role", "p", Some(labels("foo", "bar")))))).is_ok());

    let unique = [
        reserved("cpus", "8", None),
        reserved("cpus", "8", Some(static_reservation("role1"))),
        reserved("cpus", "8", Some(static_reservation("role2"))),
        reserved("cpus", "8", Some(dynamic_reservation("role1", "principal1", None))),
        reserved("cpus", "8", Some(dynamic_reservation("role1", "principal2", None))),
        reserved("cpus", "8", Some(dynamic_reservation("role2", "principal1", None))),
        reserved("cpus", "8", Some(dynamic_reservation("role1", "principal2", Some(labels("foo", "bar"))))),
        reserved("cpus", "8", Some(dynamic_reservation("role1", "principal2", Some(labels("foo", "baz"))))),
    ];
    for (i, left) in unique.iter().enumerate() {
        for (j, right) in unique.iter().enumerate() {
            assert_eq!(i == j, left == right, "{left} vs {right}");
        }
    }
}

// Mirrors `ReservedResourcesTest.AdditionStaticallyReserved`, the three
// `AdditionDynamicallyReserved*` tests, `ReservedResourcesTest.Subtraction` and `Contains`.
#[test]
fn reserved_resources_test_arithmetic() {
    let role = Some(static_reservation("role"));
    assert_eq!(
        reserved("cpus", "8", role.clone()) + reserved("cpus", "4", role.clone()),
        reserved("cpus", "12", role.clone())
    );

    let dynamic = Some(dynamic_reservation("role", "principal", Some(labels("foo", "bar"))));
    assert_eq!(
        reserved("cpus", "8", dynamic.clone()) + reserved("cpus", "4", dynamic.clone()),
        reserved("cpus", "12", dynamic.clone())
    );

    let other = Some(dynamic_reservation("role", "principal", Some(labels("foo", "baz"))));
    let r1 = reserved("cpus", "6", dynamic.clone());
    let r2 = reserved("cpus", "6", other.clone());
    let sum = &r1 + &r2;
    assert_eq!(sum.len(), 2);
    assert_ne!(sum, &r1 + &r1);

    // Subtraction.
    let s = reserved("cpus", "8", role.clone());
    let d = reserved("cpus", "8", dynamic.clone());
    assert!((&s - &s).is_empty());
    assert_eq!(&s - &d, s);
    assert_eq!(&d - &s, d);
    let total = &s + &d;
    let expected = reserved("cpus", "6", role.clone()) + reserved("cpus", "4", dynamic.clone());
    assert_eq!(&(&total - &reserved("cpus", "2", role.clone())) - &reserved("cpus", "4", dynamic.clone()), expected);

    // Contains.
    let r2 = reserved("cpus", "12", Some(dynamic_reservation("role", "principal", None)));
    assert!(!s.contains(&r2));
    assert!(!r2.contains(&s));
    assert!((&s + &r2).contains(&s));
    assert!(!s.contains(&(&s + &r2)));
}

// Mirrors `DiskResourcesTest.Addition`, `Subtraction` and `Contains` for persistent volumes,
// and `SharedResourcesTest.ScalarAdditionShared`/`ScalarSubtractionShared`.
#[test]
fn disk_resources_test_persistent_volumes() {
    let v1 = Resources::from(persistent_volume("10", "1", false));
    let v2 = Resources::from(persistent_volume("10", "2", false));
    let both = &v1 + &v2;
    assert_eq!(both.len(), 2);
    // Two copies of the same non-shared volume do not merge, and containment consumes them.
    let twice = &v1 + &v1;
    assert_eq!(twice.len(), 2);
    assert!(!v1.contains(&twice));
    assert!(twice.contains(&v1));
    assert_eq!(&both - &v1, v2);

    let shared = persistent_volume("10", "s", true);
    let one = Resources::from(shared.clone());
    let two = &one + &one;
    assert_eq!(two.len(), 1);
    assert_eq!(two.count(&shared), 2);
    assert!(two.contains(&one));
    assert!(!one.contains(&two));
    assert_eq!(&two - &one, one);
    assert!((&one - &two).is_empty(), "a negative shared count is dropped");
    assert!(two.to_string().ends_with("<SHARED>:10<2>"));

    // `shared` is only for persistent volumes.
    let mut bad = resource("cpus", "1", "*");
    bad.shared = Some(SharedInfo {});
    assert!(Resources::validate(&bad).is_err());
}

// Mirrors `RevocableResourceTest.Equals`, `Addition` and `Filter`.
#[test]
fn revocable_resource_test() {
    let mut rev = resource("cpus", "1", "*");
    rev.revocable = Some(Default::default());
    let revocable = Resources::from(rev);
    let plain = parse("cpus:1");
    assert_ne!(revocable, plain);
    let all = &revocable + &plain;
    assert_eq!(all.len(), 2);
    assert_eq!(all.revocable(), revocable);
    assert_eq!(all.non_revocable(), plain);
    assert_eq!(all.cpus(), Some(2.0));
}

// Mirrors `ResourceFormatTest.PreReservationRefinement`, `PostReservationRefinement` and `Endpoint`.
#[test]
fn resource_format_test_validation() {
    let mut pre = resource("cpus", "555.5", "*");
    assert!(Resources::validate(&pre).is_ok());
    pre.role = Some("foo".into());
    assert!(Resources::validate(&pre).is_ok());
    pre.reservation = Some(ReservationInfo { principal: Some("principal1".into()), ..Default::default() });
    assert!(Resources::validate(&pre).is_ok());

    let mut post = resource("cpus", "555.5", "*");
    post.reservations.push(ReservationInfo {
        r#type: Some(ReservationType::Static as i32),
        role: Some("foo".into()),
        principal: Some("principal1".into()),
        labels: None,
    });
    assert!(Resources::validate(&post).is_ok());
    let mut refined = dynamic_reservation("foo/bar", "principal2", None);
    refined.r#type = Some(ReservationType::Static as i32);
    post.reservations.push(refined);
    assert!(Resources::validate(&post).is_err(), "a refinement cannot be static");
    post.reservations[1].r#type = Some(ReservationType::Dynamic as i32);
    assert!(Resources::validate(&post).is_ok());

    let mut endpoint = resource("cpus", "555.5", "*");
    endpoint.role = Some("r1".into());
    endpoint.reservation = Some(ReservationInfo { principal: Some("principal1".into()), ..Default::default() });
    endpoint.reservations.push(dynamic_reservation("r1", "principal1", None));
    assert!(Resources::validate(&endpoint).is_ok());
    endpoint.reservations[0].role = Some("r2".into());
    assert!(Resources::validate(&endpoint).is_err());
    endpoint.reservations[0].role = Some("r1".into());
    endpoint.reservation.as_mut().unwrap().principal = Some("principal2".into());
    assert!(Resources::validate(&endpoint).is_err());
    endpoint.reservation.as_mut().unwrap().principal = Some("principal1".into());
    endpoint.reservations.push(dynamic_reservation("r1/r2", "principal1", None));
    assert!(Resources::validate(&endpoint).is_err(), "no old fields with refinements");
}

// Mirrors `ResourceFormatTest.DowngradeWithResourcesWithoutRefinedReservations` and
// `DowngradeWithResourcesWithRefinedReservations`, with `upgradeResources` round trips.
#[test]
fn resource_format_test_downgrade_and_upgrade() {
    let unreserved = resource("cpus", "555.5", "*");
    let mut statically = unreserved.clone();
    statically.reservations.push(static_reservation("foo"));
    let mut dynamically = unreserved.clone();
    dynamically.reservations.push(dynamic_reservation("foo", "principal", Some(labels("a", "b"))));

    let post = vec![unreserved, statically, dynamically];
    let mut converted = post.clone();
    downgrade_resources(&mut converted).unwrap();
    assert_eq!(converted[0].role.as_deref(), Some("*"));
    assert_eq!(converted[1].role.as_deref(), Some("foo"));
    assert!(converted[1].reservation.is_none());
    assert_eq!(converted[2].role.as_deref(), Some("foo"));
    let old = converted[2].reservation.as_ref().unwrap();
    assert_eq!(old.principal.as_deref(), Some("principal"));
    assert!(old.r#type.is_none() && old.role.is_none());
    assert!(converted.iter().all(|r| r.reservations.is_empty()));
    assert!(Resources::validate_all(&converted).is_ok());

    upgrade_resources(&mut converted).unwrap();
    assert_eq!(converted, post);

    // A refined reservation cannot be downgraded, and nothing is converted then.
    let mut refined = post.clone();
    refined[2].reservations.push(dynamic_reservation("foo/bar", "principal", None));
    let before = refined.clone();
    assert!(matches!(downgrade_resources(&mut refined), Err(ResourcesError::RefinedReservations(_))));
    assert_eq!(refined, before);

    // Pre-refinement resources added to a collection are upgraded on the way in.
    let mut pre = resource("cpus", "1", "*");
    pre.role = Some("foo".into());
    assert_eq!(Resources::from(pre), parse("cpus(foo):1"));
}

// Mirrors `AllocatedResourcesTest.Equality`, `Contains`, `Addition`, `Subtraction` and `Allocations`.
#[test]
fn allocated_resources_test() {
    let mut cpus1 = parse("cpus:1");
    let mut cpus2 = parse("cpus:1");
    cpus1.allocate("role1");
    cpus2.allocate("role2");
    assert_ne!(cpus1, cpus2);
    assert!((&cpus1 + &cpus2).contains(&cpus1));
    assert_eq!((&cpus1 + &cpus2).len(), 2);
    assert_eq!((&cpus1 + &cpus2).cpus(), Some(2.0));
    assert!((&cpus1 - &cpus1).is_empty());
    assert_eq!(&cpus1 - &cpus2, cpus1);

    let allocations = (&cpus1 + &cpus2).allocations().unwrap();
    assert_eq!(allocations.len(), 2);
    assert_eq!(allocations["role1"], cpus1);
    assert!(matches!(parse("cpus:1").allocations(), Err(ResourcesError::NotAllocated(_))));

    let mut both = &cpus1 + &cpus2;
    both.unallocate();
    assert_eq!(both, parse("cpus:2"));
    assert_eq!(both.len(), 1);
    assert!(both.iter().all(|r| r.allocation_info.is_none()));
}

// ===== values_tests.cpp =====

// Mirrors `ValuesTest.ValidInput`.
#[test]
fn values_test_valid_input() {
    let v = values::parse("45.55").unwrap();
    assert_eq!(v.r#type(), Type::Scalar);
    assert_eq!(v.scalar.unwrap().value, 45.55);

    let v = values::parse("[10000-20000, 30000-50000]").unwrap();
    assert_eq!(v.ranges.unwrap().range, values::ranges(&[(10000, 20000), (30000, 50000)]).range);

    let v = values::parse("{sda1, sda2}").unwrap();
    assert_eq!(v.set.unwrap().item, vec!["sda1", "sda2"]);

    for text in ["123abc,s", "inf", "-inf", "infinity", "-infinity", "nan", "-nan", "-1"] {
        let v = values::parse(text).unwrap();
        assert_eq!(v.r#type(), Type::Text, "{text}");
        assert_eq!(v.text.unwrap().value, text);
    }
}

// Mirrors `ValuesTest.InvalidInput`.
#[test]
fn values_test_invalid_input() {
    assert!(matches!(values::parse("{aa,b}}"), Err(ValueError::MismatchedBrackets(_))));
    assert!(matches!(values::parse("[1-2]]"), Err(ValueError::MismatchedBrackets(_))));
    assert!(matches!(values::parse("[1-2b]"), Err(ValueError::BadRangeBound(_))));
    assert_eq!(values::parse("  "), Err(ValueError::Empty));
    assert!(matches!(values::parse("7.63918e-313"), Err(ValueError::Subnormal(_))));
    assert!(matches!(values::parse("-7.63918e-313"), Err(ValueError::Subnormal(_))));
    assert!(matches!(values::parse("[1-2-3]"), Err(ValueError::UnpairedRangeBound(_))));
    assert!(matches!(values::parse("a[1-2]"), Err(ValueError::UnexpectedBracket { bracket: '[', .. })));
    assert!(matches!(values::parse("a{b}"), Err(ValueError::UnexpectedBracket { bracket: '{', .. })));
}

// Mirrors `ValuesTest.SetSubtraction`.
#[test]
fn values_test_set_subtraction() {
    let mut set1 = set_of("{sda1, sda2, sda3}");
    set1 -= &set_of("{sda2, sda3}");
    assert!(set1.mesos_eq(&set_of("{sda1}")));
    let mut set3 = set_of("{sda4}");
    set3 -= &set1;
    assert!(set3.mesos_eq(&set_of("{sda4}")));
    // Unlike C++'s positional comparison, set equality ignores order.
    assert!(set_of("{a,b}").mesos_eq(&set_of("{b,a}")));
}

// Mirrors `ValuesTest.RangesParse`, `RangesCoalesce` and `RangesCoalesceParse`.
#[test]
fn values_test_ranges_coalesce() {
    assert_eq!(ranges_of("[1-10]").range, values::ranges(&[(1, 10)]).range);

    let mut r = values::ranges(&[(1, 4), (3, 5), (7, 8), (8, 10)]);
    values::coalesce(&mut r);
    assert_eq!(r.range, values::ranges(&[(1, 5), (7, 10)]).range);

    assert_eq!(ranges_of("[1-4, 3-5, 7-8, 8-10]").range.len(), 2);
    assert_eq!(ranges_of("[1-2, 3-4]").range, values::ranges(&[(1, 4)]).range);
    assert_eq!(ranges_of("[5-9, 1-1, 2-4]").range, values::ranges(&[(1, 9)]).range);
    assert_eq!(ranges_of("[1-1, 3-3]").range.len(), 2);
    let mut top = values::ranges(&[(u64::MAX - 1, u64::MAX), (5, u64::MAX)]);
    values::coalesce(&mut top);
    assert_eq!(top.range, values::ranges(&[(5, u64::MAX)]).range);
}

// Mirrors `ValuesTest.RangesAddition`.
#[test]
fn values_test_ranges_addition() {
    let cases = [
        ("[3-8]", "[4-10]", "[3-10]"),
        ("[3-8]", "[1-4]", "[1-8]"),
        ("[2-3]", "[1-4]", "[1-4]"),
        ("[2-3]", "[4-6]", "[2-6]"),
        ("[3-5]", "[1-2]", "[1-5]"),
        ("[3-5, 7-8]", "[6-6]", "[3-8]"),
        ("[1-4, 9-10, 20-22, 26-30]", "[5-8, 23-25]", "[1-10, 20-30]"),
    ];
    for (a, b, sum) in cases {
        assert_eq!((&ranges_of(a) + &ranges_of(b)).range, ranges_of(sum).range, "{a} + {b}");
    }
}

// Mirrors `ValuesTest.RangesSubtraction`.
#[test]
fn values_test_ranges_subtraction() {
    let cases = [
        ("[]", "[1-10]", "[]"),
        ("[3-8]", "[]", "[3-8]"),
        ("[3-8]", "[1-10]", "[]"),
        ("[3-8]", "[3-5]", "[6-8]"),
        ("[3-8]", "[5-8]", "[3-4]"),
        ("[3-8]", "[5-6]", "[3-4, 7-8]"),
        ("[3-8]", "[1-3]", "[4-8]"),
        ("[3-8]", "[5-10]", "[3-4]"),
        ("[3-8]", "[9-10]", "[3-8]"),
        ("[3-8]", "[1-2]", "[3-8]"),
        ("[1-10]", "[2-3, 5-5, 7-8]", "[1-1, 4-4, 6-6, 9-10]"),
    ];
    for (a, b, diff) in cases {
        assert!((&ranges_of(a) - &ranges_of(b)).mesos_eq(&ranges_of(diff)), "{a} - {b}");
    }
}

// Scalars compare and add in fixed point (C++ `convertToFixed`).
#[test]
fn values_test_scalar_fixed_point() {
    let a = values::scalar(0.1);
    let b = values::scalar(0.2);
    assert_eq!((&a + &b).value, 0.3);
    assert!(values::scalar(1.0004).mesos_eq(&values::scalar(1.0)));
    assert!(!values::scalar(1.0005).mesos_eq(&values::scalar(1.0)));
    assert!(values::scalar(1.0).mesos_le(&values::scalar(1.0004)));
    assert_eq!(values::scalar(2.5).to_string(), "2.5");
}

// ===== attributes_tests.cpp =====

// Mirrors `AttributesTest.Parsing`.
#[test]
fn attributes_test_parsing() {
    let a = Attributes::parse("cpus:45.55;ports:[10000-20000, 30000-50000];rack:rack1,rack2").unwrap();
    let list = a.to_vec();
    assert_eq!(list[0].r#type(), Type::Scalar);
    assert_eq!(list[0].name, "cpus");
    assert_eq!(list[0].scalar.as_ref().unwrap().value, 45.55);
    assert_eq!(list[1].r#type(), Type::Ranges);
    assert_eq!(list[1].ranges.as_ref().unwrap().range, values::ranges(&[(10000, 20000), (30000, 50000)]).range);
    assert_eq!(list[2].r#type(), Type::Text);
    assert_eq!(list[2].text.as_ref().unwrap().value, "rack1,rack2");

    let b = Attributes::parse("attr1:foo:bar;attr2:baz:qux:").unwrap();
    assert_eq!(b.get_text("attr1").unwrap().value, "foo:bar");
    assert_eq!(b.get_text("attr2").unwrap().value, "baz:qux:");

    let c = Attributes::parse("rack:r1;zone:z1;level:10;ports:[1-10]").unwrap();
    assert_eq!(c.get_scalar("level").unwrap().value, 10.0);
    assert_eq!(c.get_ranges("ports").unwrap().range, values::ranges(&[(1, 10)]).range);
    assert!(c.get_scalar("rack").is_none());
    assert!(c.iter().all(Attributes::is_valid));

    // C++ aborts the agent on these; here they are errors.
    assert!(Attributes::parse("rack").is_err());
    assert!(Attributes::parse(":r1").is_err());
    assert!(Attributes::parse("rack:").is_err());
    assert!(Attributes::parse("disks:{a,b}").is_err());
    assert!(Attributes::parse("ports:[1-2]]").is_err());
}

// Mirrors `AttributesTest.Equality`.
#[test]
fn attributes_test_equality() {
    let a = Attributes::parse("cpus:45.55;ports:[10000-20000, 30000-50000];rack:rack1,rack2").unwrap();
    assert_eq!(a, Attributes::parse("cpus:45.55;ports:[10000-20000,30000-50000];rack:rack1,rack2").unwrap());
    assert_eq!(Attributes::parse("").unwrap(), Attributes::parse("").unwrap());
    assert_ne!(a, Attributes::parse("").unwrap());
    assert_ne!(a, Attributes::parse("cpus:45.55;ports:45.55;rack:45.55").unwrap());
    assert_eq!(
        Attributes::parse("rack:rack1;dedicated:customer1;dedicated:customer2").unwrap(),
        Attributes::parse("dedicated:customer2;dedicated:customer1;rack:rack1").unwrap()
    );
}

// ===== --weights (master.cpp) =====

#[test]
fn master_weights_flag() {
    let weights = parse_weights("role1=2.5,role2=1", None).unwrap();
    assert_eq!(weights.len(), 2);
    assert_eq!(weights["role1"], 2.5);
    assert_eq!(weights["role2"], 1.0);
    assert_eq!(parse_weights("r=1,r=3", None).unwrap()["r"], 3.0);
    assert!(parse_weights("", None).unwrap().is_empty());
    for bad in ["role1", "role1=1=2", "role1=0", "role1=-1", "role1=abc", "role1=nan", "role1=inf"] {
        assert!(parse_weights(bad, None).is_err(), "{bad}");
    }
    let whitelist = ["role1".to_owned()].into_iter().collect();
    assert!(parse_weights("role1=1", Some(&whitelist)).is_ok());
    assert!(parse_weights("role2=1", Some(&whitelist)).is_err());
}

// C++ `ResourcesTest.Find`: the target's role first, then unreserved, then any role.
#[test]
fn find() {
    let resources = parse("cpus(role1):2;mem(role1):10;cpus:4;mem:20");
    let found = resources.find(&parse("cpus(role1):3;mem(role1):15"));
    assert_eq!(found, Some(parse("cpus(role1):2;mem(role1):10;cpus:1;mem:5")));

    let resources = parse("cpus(role1):1;mem(role1):5;cpus(role2):2;mem(role2):8;cpus:1;mem:7");
    let found = resources.find(&parse("cpus(role1):3;mem(role1):15"));
    assert_eq!(found, Some(parse("cpus(role1):1;mem(role1):5;cpus:1;mem:7;cpus(role2):1;mem(role2):3")));

    let resources = parse("cpus(role1):5;mem(role1):5;cpus:5;mem:5");
    let found = resources.find(&parse("cpus:6;mem:6"));
    assert_eq!(found, Some(parse("cpus:5;mem:5;cpus(role1):1;mem(role1):1")));

    let resources = parse("cpus(role1):1;mem(role1):1");
    assert_eq!(resources.find(&parse("cpus(role1):2;mem(role1):2")), None);
}

// ===== Properties =====

fn arb_ranges() -> impl Strategy<Value = Ranges> {
    prop::collection::vec((0u64..200, 0u64..20), 0..6)
        .prop_map(|spans| values::ranges(&spans.into_iter().map(|(b, len)| (b, b + len)).collect::<Vec<_>>()))
}

fn arb_set() -> impl Strategy<Value = Set> {
    prop::collection::btree_set("[a-e]", 0..5).prop_map(|items| Set { item: items.into_iter().collect() })
}

proptest! {
    // `a + b - b == a` for scalars (in fixed point), disjoint ranges and disjoint sets.
    #[test]
    fn scalar_add_then_subtract_is_identity(a in 0.0f64..1e9, b in 0.0f64..1e9) {
        let (a, b) = (values::scalar(a), values::scalar(b));
        prop_assert!((&(&a + &b) - &b).mesos_eq(&a));
    }

    #[test]
    fn ranges_add_then_subtract_leaves_what_was_not_shared(a in arb_ranges(), b in arb_ranges()) {
        let sum = &a + &b;
        prop_assert!(a.mesos_le(&sum) && b.mesos_le(&sum));
        // Subtracting `b` leaves exactly the part of `a` outside `b`.
        let rest = &sum - &b;
        prop_assert!((&rest + &b).mesos_eq(&sum));
        prop_assert!((&(&a - &b) + &b).mesos_eq(&sum));
        prop_assert!(values::ranges_size(&rest) + values::ranges_size(&b) == values::ranges_size(&sum));
    }

    #[test]
    fn sets_add_then_subtract(a in arb_set(), b in arb_set()) {
        let only_a = &a - &b;
        prop_assert!((&(&only_a + &b) - &b).mesos_eq(&only_a));
        prop_assert!(a.mesos_le(&(&a + &b)));
    }

    #[test]
    fn resources_add_then_subtract_is_identity(a in 0u32..100_000, b in 0u32..100_000, p in arb_ranges(), q in arb_ranges()) {
        let ra = Resources::parse(&format!("cpus:{}.{:03}", a / 1000, a % 1000), "*").unwrap()
            + Resources::from(Resource { name: "ports".into(), r#type: Type::Ranges as i32, ranges: Some({ let mut p = p; values::coalesce(&mut p); p }), ..Default::default() });
        let q_only = { let mut q = &q - &ra.ports().unwrap_or_default(); values::coalesce(&mut q); q };
        let rb = Resources::parse(&format!("cpus(r):{}", b), "*").unwrap()
            + Resources::from(Resource { name: "ports".into(), r#type: Type::Ranges as i32, ranges: Some(q_only), ..Default::default() });
        prop_assert_eq!(&(&ra + &rb) - &rb, ra);
    }

    // Parsing never panics, whatever the text.
    #[test]
    fn parsing_never_panics(text in "\\PC{0,40}") {
        let _ = values::parse(&text);
        let _ = Resources::parse(&text, "*");
        let _ = Attributes::parse(&text);
        let _ = parse_weights(&text, None);
    }

    #[test]
    fn parsing_resource_shaped_text_never_panics(text in "[a-z()*/:;\\[\\]{},.0-9e+-]{0,40}") {
        if let Ok(r) = Resources::parse(&text, "*") {
            // Whatever parsed is valid and prints.
            prop_assert!(Resources::validate_all(&r.to_vec()).is_ok());
            let _ = r.to_string();
        }
    }
}
