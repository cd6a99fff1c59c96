//! The DRF sorter, ported case by case from the C++ `DRFSorterTest` and (DRF side of) `CommonSorterTest` tests in `src/tests/sorter_tests.cpp`, plus error cases and property tests.

use std::collections::HashSet;

use master::allocator::sorter::{DrfSorter, Sorter, SorterError};
use master::resource_quantities::ResourceQuantities;
use mesos::proto::resource::disk_info::Persistence;
use mesos::proto::resource::{DiskInfo, RevocableInfo, SharedInfo};
use mesos::proto::volume::Mode;
use mesos::proto::{Resource, SlaveId, Volume};
use mesos::resources::Resources;
use proptest::prelude::*;

// ----- helpers -----

fn agent(id: &str) -> SlaveId {
    SlaveId { value: id.to_owned() }
}

fn q(text: &str) -> ResourceQuantities {
    ResourceQuantities::parse(text).unwrap()
}

fn r(text: &str) -> Resources {
    Resources::parse(text, "*").unwrap()
}

fn resource(name: &str, value: &str, role: &str) -> Resource {
    Resources::parse_resource(name, value, role).unwrap()
}

/// A persistent volume `disk(role):size` (C++ `createDiskResource`).
fn disk_volume(size: &str, role: &str, id: &str, path: &str, shared: bool) -> Resource {
    let mut disk = resource("disk", size, role);
    disk.disk = Some(Box::new(DiskInfo {
        persistence: Some(Persistence { id: id.to_owned(), principal: None }),
        volume: Some(Volume { mode: Mode::Rw as i32, container_path: path.to_owned(), ..Default::default() }),
        ..Default::default()
    }));
    if shared {
        disk.shared = Some(SharedInfo {});
    }
    disk
}

/// The allocation after a CREATE of an unreserved `volume` (C++ `Resources::apply(CREATE)`):
/// the plain disk it is carved from is replaced by the volume.
fn create_volume(allocation: &Resources, volume: &Resource) -> Resources {
    let mut plain = volume.clone();
    plain.disk = None;
    let result = allocation - &Resources::from(plain);
    assert!(allocation.contains(&result), "no disk to carve {volume:?} from");
    result + Resources::from(volume.clone())
}

fn add_active(sorter: &mut DrfSorter, client: &str) {
    sorter.add(client).unwrap();
    sorter.activate(client).unwrap();
}

fn alloc(sorter: &mut DrfSorter, client: &str, agent: &SlaveId, resources: &str) {
    sorter.allocated(client, agent, &r(resources)).unwrap();
}

fn sorted(mut clients: Vec<String>) -> Vec<String> {
    clients.sort();
    clients
}

// ----- C++ DRFSorterTest / CommonSorterTest cases -----

/// The `DRFSorterTest.DRF` scenario with every client renamed by `name` (C++ `DRF`,
/// `ShallowHierarchy` and `DeepHierarchy` run the same steps on differently nested names).
fn drf_scenario(name: impl Fn(&str) -> String) {
    let n = |c: &str| name(c);
    let mut sorter = DrfSorter::default();
    let slave = agent("agentId");
    sorter.add_slave(&slave, q("cpus:100;mem:100")).unwrap();
    assert!(sorter.sort().is_empty());

    add_active(&mut sorter, &n("a"));
    alloc(&mut sorter, &n("a"), &slave, "cpus:5;mem:5");
    add_active(&mut sorter, &n("b"));
    alloc(&mut sorter, &n("b"), &slave, "cpus:6;mem:6");
    // Shares: a = .05, b = .06.
    assert_eq!(sorter.sort(), [n("a"), n("b")]);

    add_active(&mut sorter, &n("c"));
    alloc(&mut sorter, &n("c"), &slave, "cpus:1;mem:1");
    add_active(&mut sorter, &n("d"));
    alloc(&mut sorter, &n("d"), &slave, "cpus:3;mem:1");
    // Shares: a = .05, b = .06, c = .01, d = .03.
    assert_eq!(sorter.sort(), [n("c"), n("d"), n("a"), n("b")]);

    sorter.remove(&n("a")).unwrap();
    sorter.unallocated(&n("b"), &slave, &r("cpus:4;mem:4")).unwrap();
    // Shares: b = .02, c = .01, d = .03.
    assert_eq!(sorter.sort(), [n("c"), n("b"), n("d")]);

    add_active(&mut sorter, &n("e"));
    alloc(&mut sorter, &n("e"), &slave, "cpus:1;mem:5");
    sorter.remove_slave(&slave).unwrap();
    sorter.add_slave(&slave, q("cpus:50;mem:100")).unwrap();
    // Shares: b = .04, c = .02, d = .06, e = .05.
    assert_eq!(sorter.sort(), [n("c"), n("b"), n("e"), n("d")]);

    sorter.remove_slave(&slave).unwrap();
    sorter.add_slave(&slave, q("cpus:50;mem:200")).unwrap();
    add_active(&mut sorter, &n("f"));
    alloc(&mut sorter, &n("f"), &slave, "cpus:5;mem:1");
    alloc(&mut sorter, &n("c"), &slave, "cpus:0;mem:15");
    // Shares: b = .04, c = .08, d = .06, e = .025, f = .1.
    assert_eq!(sorter.sort(), [n("e"), n("b"), n("d"), n("c"), n("f")]);

    assert!(sorter.contains(&n("b")));
    assert!(!sorter.contains(&n("a")));
    assert_eq!(sorter.count(), 5);

    sorter.deactivate(&n("d")).unwrap();
    assert!(sorter.contains(&n("d")));
    assert_eq!(sorter.sort(), [n("e"), n("b"), n("c"), n("f")]);
    assert_eq!(sorter.count(), 5);

    sorter.activate(&n("d")).unwrap();
    assert_eq!(sorter.sort(), [n("e"), n("b"), n("d"), n("c"), n("f")]);
}

/// C++ `DRFSorterTest.DRF`.
#[test]
fn drf() {
    drf_scenario(|c| c.to_owned());
}

/// C++ `DRFSorterTest.WDRF`.
#[test]
fn wdrf() {
    let mut sorter = DrfSorter::default();
    let slave = agent("agentId");
    sorter.add_slave(&slave, q("cpus:100;mem:100")).unwrap();

    add_active(&mut sorter, "a");
    alloc(&mut sorter, "a", &slave, "cpus:5;mem:5");
    add_active(&mut sorter, "b");
    sorter.update_weight("b", 2.0).unwrap();
    alloc(&mut sorter, "b", &slave, "cpus:6;mem:6");
    // Shares: a = .05, b = .03.
    assert_eq!(sorter.sort(), ["b", "a"]);

    add_active(&mut sorter, "c");
    alloc(&mut sorter, "c", &slave, "cpus:4;mem:4");
    // Shares: a = .05, b = .03, c = .04.
    assert_eq!(sorter.sort(), ["b", "c", "a"]);

    add_active(&mut sorter, "d");
    sorter.update_weight("d", 10.0).unwrap();
    alloc(&mut sorter, "d", &slave, "cpus:10;mem:20");
    // Shares: a = .05, b = .03, c = .04, d = .02.
    assert_eq!(sorter.sort(), ["d", "b", "c", "a"]);

    sorter.remove("b").unwrap();
    assert_eq!(sorter.sort(), ["d", "c", "a"]);

    alloc(&mut sorter, "d", &slave, "cpus:10;mem:25");
    // Shares: a = .05, c = .04, d = .045.
    assert_eq!(sorter.sort(), ["c", "d", "a"]);

    add_active(&mut sorter, "e");
    sorter.update_weight("e", 0.1).unwrap();
    alloc(&mut sorter, "e", &slave, "cpus:1;mem:1");
    // Shares: a = .05, c = .04, d = .045, e = .1.
    assert_eq!(sorter.sort(), ["c", "d", "a", "e"]);

    sorter.remove("a").unwrap();
    assert_eq!(sorter.sort(), ["c", "d", "e"]);
}

/// C++ `DRFSorterTest.UpdateWeight`.
#[test]
fn update_weight() {
    let mut sorter = DrfSorter::default();
    let slave = agent("agentId");
    sorter.add_slave(&slave, q("cpus:100;mem:100")).unwrap();
    add_active(&mut sorter, "a");
    alloc(&mut sorter, "a", &slave, "cpus:5;mem:5");
    add_active(&mut sorter, "b");
    alloc(&mut sorter, "b", &slave, "cpus:6;mem:6");
    // Shares: a = .05, b = .06.
    assert_eq!(sorter.sort(), ["a", "b"]);

    // Doubling b's weight flips the order: b = .03.
    sorter.update_weight("b", 2.0).unwrap();
    assert_eq!(sorter.sort(), ["b", "a"]);
}

/// C++ `DRFSorterTest.AllocationCountTieBreak`: equal shares are ordered by the number of
/// allocations, which neither unallocation nor deactivation resets.
#[test]
fn allocation_count_tie_break() {
    let mut sorter = DrfSorter::default();
    let slave = agent("agentId");
    sorter.add_slave(&slave, q("cpus:100;mem:100")).unwrap();
    for c in ["a", "b", "c", "d", "e"] {
        sorter.add(c).unwrap();
    }
    for c in ["a", "b", "c", "d", "e"] {
        sorter.activate(c).unwrap();
    }
    alloc(&mut sorter, "a", &slave, "cpus:3;mem:3");
    alloc(&mut sorter, "b", &slave, "cpus:3;mem:3");
    alloc(&mut sorter, "c", &slave, "cpus:1;mem:1");
    alloc(&mut sorter, "c", &slave, "cpus:1;mem:1");
    alloc(&mut sorter, "c", &slave, "cpus:1;mem:1");
    alloc(&mut sorter, "d", &slave, "cpus:2;mem:2");
    alloc(&mut sorter, "d", &slave, "cpus:1;mem:1");
    alloc(&mut sorter, "e", &slave, "cpus:3;mem:3");
    // Counts: a, b, e = 1; d = 2; c = 3.
    assert_eq!(sorter.sort(), ["a", "b", "e", "d", "c"]);

    sorter.unallocated("c", &slave, &r("cpus:3;mem:3")).unwrap();
    assert_eq!(sorter.sort(), ["c", "a", "b", "e", "d"]);

    alloc(&mut sorter, "c", &slave, "cpus:3;mem:3");
    // c = 4.
    assert_eq!(sorter.sort(), ["a", "b", "e", "d", "c"]);

    sorter.deactivate("c").unwrap();
    sorter.activate("c").unwrap();
    assert_eq!(sorter.sort(), ["a", "b", "e", "d", "c"]);

    sorter.unallocated("c", &slave, &r("cpus:3;mem:3")).unwrap();
    alloc(&mut sorter, "c", &slave, "cpus:3;mem:3");
    // c = 5.
    assert_eq!(sorter.sort(), ["a", "b", "e", "d", "c"]);

    // Allocations to an inactive client count too.
    sorter.deactivate("a").unwrap();
    sorter.unallocated("a", &slave, &r("cpus:1;mem:3")).unwrap();
    alloc(&mut sorter, "a", &slave, "cpus:1;mem:3");
    assert_eq!(sorter.sort(), ["b", "e", "d", "c"]);

    sorter.activate("a").unwrap();
    // a, d = 2.
    assert_eq!(sorter.sort(), ["b", "e", "a", "d", "c"]);
}

/// C++ `DRFSorterTest.ShallowHierarchy`: disjoint branches behave like the flat `DRF` case.
#[test]
fn shallow_hierarchy() {
    drf_scenario(|c| format!("{c}/{c}"));
}

/// C++ `DRFSorterTest.DeepHierarchy`: clients at different depths in disjoint branches.
#[test]
fn deep_hierarchy() {
    let depth = |c: &str| match c {
        "a" => 5,
        "b" => 4,
        "c" => 3,
        "d" | "f" => 2,
        _ => 6,
    };
    drf_scenario(|c| vec![c; depth(c)].join("/"));
}

/// C++ `DRFSorterTest.HierarchicalAllocation`.
#[test]
fn hierarchical_allocation() {
    let mut sorter = DrfSorter::default();
    let slave = agent("agentId");
    sorter.add_slave(&slave, q("cpus:100;mem:100")).unwrap();
    sorter.add("a").unwrap();
    sorter.add("b/c").unwrap();
    sorter.add("b/d").unwrap();
    sorter.activate("a").unwrap();
    sorter.activate("b/c").unwrap();
    sorter.activate("b/d").unwrap();

    assert_eq!(sorter.count(), 3);
    assert!(sorter.contains("a"));
    assert!(!sorter.contains("b"));
    assert!(sorter.contains("b/c"));
    assert!(sorter.contains("b/d"));
    assert_eq!(sorter.sort(), ["a", "b/c", "b/d"]);

    let a = r("cpus:6;mem:6");
    sorter.allocated("a", &slave, &a).unwrap();
    // Shares: a = .06, b/c = 0, b/d = 0.
    assert_eq!(sorter.sort(), ["b/c", "b/d", "a"]);

    let c = r("cpus:4;mem:4");
    sorter.allocated("b/c", &slave, &c).unwrap();
    let d = r("cpus:3;mem:3");
    sorter.allocated("b/d", &slave, &d).unwrap();
    // Shares: a = .06, b = .07 (b/d = .03, b/c = .04).
    assert_eq!(sorter.sort(), ["a", "b/d", "b/c"]);

    assert_eq!(sorter.allocation_on("a", &slave).unwrap(), a);
    assert_eq!(sorter.allocation_on("b/c", &slave).unwrap(), c);
    assert_eq!(sorter.allocation_on("b/d", &slave).unwrap(), d);
    assert_eq!(sorter.allocation_scalar_quantities("a").unwrap(), &ResourceQuantities::from_scalar_resources(&a));
    assert_eq!(sorter.allocation_scalar_quantities("b/c").unwrap(), &ResourceQuantities::from_scalar_resources(&c));
    assert_eq!(sorter.allocation_scalar_quantities("b/d").unwrap(), &ResourceQuantities::from_scalar_resources(&d));
    assert_eq!(
        sorter.total_allocation_scalar_quantities(),
        &ResourceQuantities::from_scalar_resources(&(&(&a + &c) + &d))
    );

    alloc(&mut sorter, "a", &slave, "cpus:2;mem:2");
    // Shares: b = .07 (b/d = .03, b/c = .04), a = .08.
    assert_eq!(sorter.sort(), ["b/d", "b/c", "a"]);

    add_active(&mut sorter, "b/e/f");
    assert!(!sorter.contains("b/e"));
    assert!(sorter.contains("b/e/f"));
    assert_eq!(sorter.sort(), ["b/e/f", "b/d", "b/c", "a"]);

    let f = r("cpus:3.5;mem:3.5");
    sorter.allocated("b/e/f", &slave, &f).unwrap();
    // Shares: a = .08, b = .105 (b/d = .03, b/e = .035, b/c = .04).
    assert_eq!(sorter.sort(), ["a", "b/d", "b/e/f", "b/c"]);

    // Removing a client updates the shares of its subtree.
    sorter.remove("b/e/f").unwrap();
    assert!(!sorter.contains("b/e/f"));
    assert_eq!(sorter.count(), 3);
    assert_eq!(sorter.sort(), ["b/d", "b/c", "a"]);

    // So does updating a client.
    sorter.update("b/c", &slave, &c, &r("cpus:1;mem:1")).unwrap();
    assert_eq!(sorter.sort(), ["b/c", "b/d", "a"]);

    add_active(&mut sorter, "b/e/f");
    sorter.allocated("b/e/f", &slave, &f).unwrap();
    assert_eq!(sorter.sort(), ["b/c", "b/d", "b/e/f", "a"]);
    assert_eq!(sorter.count(), 4);
}

/// C++ `DRFSorterTest.HierarchicalIterationOrder`: a client with children (`d` and `d/e`)
/// competes with them as the virtual leaf `d/.`.
#[test]
fn hierarchical_iteration_order() {
    let mut sorter = DrfSorter::default();
    let slave = agent("agentId");
    sorter.add_slave(&slave, q("cpus:100;mem:100")).unwrap();
    for c in ["a/b", "c", "d", "d/e"] {
        sorter.add(c).unwrap();
    }
    for c in ["a/b", "c", "d", "d/e"] {
        sorter.activate(c).unwrap();
    }
    assert_eq!(sorter.sort(), ["a/b", "c", "d", "d/e"]);

    alloc(&mut sorter, "c", &slave, "cpus:8;mem:8");
    assert_eq!(sorter.sort(), ["a/b", "d", "d/e", "c"]);

    alloc(&mut sorter, "d", &slave, "cpus:3;mem:3");
    alloc(&mut sorter, "d/e", &slave, "cpus:2;mem:2");
    assert_eq!(sorter.sort(), ["a/b", "d/e", "d", "c"]);

    alloc(&mut sorter, "a/b", &slave, "cpus:6;mem:6");
    assert_eq!(sorter.sort(), ["d/e", "d", "a/b", "c"]);
}

/// C++ `DRFSorterTest.AddChildToLeaf`.
#[test]
fn add_child_to_leaf() {
    let mut sorter = DrfSorter::default();
    let slave = agent("agentId");
    sorter.add_slave(&slave, q("cpus:100;mem:100")).unwrap();
    add_active(&mut sorter, "a");
    alloc(&mut sorter, "a", &slave, "cpus:10;mem:10");
    add_active(&mut sorter, "b");
    alloc(&mut sorter, "b", &slave, "cpus:6;mem:6");
    assert_eq!(sorter.sort(), ["b", "a"]);

    // Now subtree `a` competes with `b`, and inside it `a` competes with `a/c`.
    add_active(&mut sorter, "a/c");
    alloc(&mut sorter, "a/c", &slave, "cpus:5;mem:5");
    assert_eq!(sorter.sort(), ["b", "a/c", "a"]);

    // Without client `a` its subtree holds less than `b`.
    sorter.remove("a").unwrap();
    assert!(!sorter.contains("a"));
    assert_eq!(sorter.sort(), ["a/c", "b"]);

    add_active(&mut sorter, "a");
    alloc(&mut sorter, "a", &slave, "cpus:10;mem:10");
    assert!(sorter.contains("a"));
    assert_eq!(sorter.sort(), ["b", "a/c", "a"]);

    // The virtual leaf `a/.` has weight 1 against `a/c`.
    sorter.update_weight("a/c", 0.2).unwrap();
    assert_eq!(sorter.sort(), ["b", "a", "a/c"]);

    // `a`'s weight applies to the subtree against `b`, not to `a` against `a/c`.
    sorter.update_weight("a", 3.0).unwrap();
    assert_eq!(sorter.sort(), ["a", "a/c", "b"]);

    sorter.update_weight("a/c", 1.0).unwrap();
    assert_eq!(sorter.sort(), ["a/c", "a", "b"]);
}

/// C++ `DRFSorterTest.AddChildToInternal`.
#[test]
fn add_child_to_internal() {
    let mut sorter = DrfSorter::default();
    let slave = agent("agentId");
    sorter.add_slave(&slave, q("cpus:100;mem:100")).unwrap();
    add_active(&mut sorter, "x/a");
    alloc(&mut sorter, "x/a", &slave, "cpus:10;mem:10");
    add_active(&mut sorter, "x/b");
    alloc(&mut sorter, "x/b", &slave, "cpus:6;mem:6");
    assert_eq!(sorter.sort(), ["x/b", "x/a"]);

    add_active(&mut sorter, "x");
    alloc(&mut sorter, "x", &slave, "cpus:7;mem:7");
    assert_eq!(sorter.sort(), ["x/b", "x", "x/a"]);

    add_active(&mut sorter, "z");
    alloc(&mut sorter, "z", &slave, "cpus:20;mem:20");
    assert_eq!(sorter.sort(), ["z", "x/b", "x", "x/a"]);

    sorter.remove("x").unwrap();
    assert_eq!(sorter.sort(), ["x/b", "x/a", "z"]);
}

/// C++ `DRFSorterTest.AddChildToInactiveLeaf`.
#[test]
fn add_child_to_inactive_leaf() {
    let mut sorter = DrfSorter::default();
    let slave = agent("agentId");
    sorter.add_slave(&slave, q("cpus:100;mem:100")).unwrap();
    add_active(&mut sorter, "a");
    alloc(&mut sorter, "a", &slave, "cpus:10;mem:10");
    add_active(&mut sorter, "b");
    alloc(&mut sorter, "b", &slave, "cpus:6;mem:6");
    sorter.deactivate("a").unwrap();
    assert_eq!(sorter.sort(), ["b"]);

    add_active(&mut sorter, "a/c");
    alloc(&mut sorter, "a/c", &slave, "cpus:5;mem:5");
    assert_eq!(sorter.sort(), ["b", "a/c"]);
}

/// C++ `CommonSorterTest.RemoveLeafCollapseParent` (DRF instance).
#[test]
fn remove_leaf_collapse_parent() {
    let mut sorter = DrfSorter::default();
    let slave = agent("agentId");
    sorter.add_slave(&slave, q("cpus:100;mem:100")).unwrap();
    add_active(&mut sorter, "a");
    alloc(&mut sorter, "a", &slave, "cpus:10;mem:10");
    add_active(&mut sorter, "b");
    alloc(&mut sorter, "b", &slave, "cpus:6;mem:6");
    add_active(&mut sorter, "a/c");
    alloc(&mut sorter, "a/c", &slave, "cpus:5;mem:5");
    assert_eq!(sorted(sorter.sort()), ["a", "a/c", "b"]);

    sorter.remove("a/c").unwrap();
    assert_eq!(sorted(sorter.sort()), ["a", "b"]);
    // `a` is a plain leaf again and keeps its own allocation.
    assert_eq!(sorter.allocation_on("a", &slave).unwrap(), r("cpus:10;mem:10"));
    assert_eq!(sorter.sort(), ["b", "a"]);
}

/// C++ `CommonSorterTest.RemoveLeafCollapseParentInactive` (DRF instance): folding the
/// virtual leaf back keeps it inactive.
#[test]
fn remove_leaf_collapse_parent_inactive() {
    let mut sorter = DrfSorter::default();
    let slave = agent("agentId");
    sorter.add_slave(&slave, q("cpus:100;mem:100")).unwrap();
    add_active(&mut sorter, "a");
    alloc(&mut sorter, "a", &slave, "cpus:10;mem:10");
    add_active(&mut sorter, "b");
    alloc(&mut sorter, "b", &slave, "cpus:6;mem:6");
    add_active(&mut sorter, "a/c");
    alloc(&mut sorter, "a/c", &slave, "cpus:5;mem:5");
    sorter.deactivate("a").unwrap();
    assert_eq!(sorted(sorter.sort()), ["a/c", "b"]);

    sorter.remove("a/c").unwrap();
    assert_eq!(sorter.sort(), ["b"]);
    sorter.activate("a").unwrap();
    assert_eq!(sorter.sort(), ["b", "a"]);
}

/// C++ `DRFSorterTest.ChangeWeightOnSubtree`: weights set before the nodes exist.
#[test]
fn change_weight_on_subtree() {
    let mut sorter = DrfSorter::default();
    let slave = agent("agentId");
    sorter.add_slave(&slave, q("cpus:100;mem:100")).unwrap();
    sorter.update_weight("b", 3.0).unwrap();
    sorter.update_weight("a", 2.0).unwrap();
    sorter.add("a/x").unwrap();
    sorter.add("b/y").unwrap();
    sorter.activate("a/x").unwrap();
    sorter.activate("b/y").unwrap();
    assert_eq!(sorter.sort(), ["a/x", "b/y"]);

    alloc(&mut sorter, "a/x", &slave, "cpus:10;mem:10");
    alloc(&mut sorter, "b/y", &slave, "cpus:10;mem:10");
    assert_eq!(sorter.sort(), ["b/y", "a/x"]);

    add_active(&mut sorter, "b/z");
    alloc(&mut sorter, "b/z", &slave, "cpus:5;mem:5");
    assert_eq!(sorter.sort(), ["b/z", "b/y", "a/x"]);

    add_active(&mut sorter, "b");
    alloc(&mut sorter, "b", &slave, "cpus:4;mem:4");
    assert_eq!(sorter.sort(), ["a/x", "b", "b/z", "b/y"]);

    add_active(&mut sorter, "a/zz");
    alloc(&mut sorter, "a/zz", &slave, "cpus:2;mem:2");
    assert_eq!(sorter.sort(), ["a/zz", "a/x", "b", "b/z", "b/y"]);
}

/// C++ `DRFSorterTest.SplitResourceShares`: a resource split over several objects (two
/// volumes) counts in full.
#[test]
fn split_resource_shares() {
    let mut sorter = DrfSorter::default();
    let slave = agent("agentId");
    sorter.add("a").unwrap();
    sorter.add("b").unwrap();
    sorter.activate("a").unwrap();
    sorter.activate("b").unwrap();

    let disk1 = disk_volume("5", "*", "ID2", "data", false);
    let disk2 = disk_volume("5", "*", "ID2", "data", false);
    sorter.add_slave(&slave, q("cpus:100;mem:100;disk:100")).unwrap();

    alloc(&mut sorter, "a", &slave, "cpus:9;mem:9;disk:9");
    let b = r("cpus:9;mem:9") + Resources::from(disk1) + Resources::from(disk2);
    sorter.allocated("b", &slave, &b).unwrap();
    assert_eq!(sorter.sort(), ["a", "b"]);
}

/// C++ `CommonSorterTest.UpdateAllocation` (DRF instance).
#[test]
fn update_allocation() {
    let mut sorter = DrfSorter::default();
    let mut slave = agent("agentId");
    sorter.add("a").unwrap();
    sorter.add("b").unwrap();
    sorter.activate("a").unwrap();
    sorter.activate("b").unwrap();
    sorter.add_slave(&slave, q("cpus:10;mem:10;disk:10")).unwrap();
    alloc(&mut sorter, "a", &slave, "cpus:10;mem:10;disk:10");

    let volume = disk_volume("5", "*", "ID", "data", false);
    let old = sorter.allocation_on("a", &slave).unwrap();
    let new = create_volume(&old, &volume);
    sorter.update("a", &slave, &old, &new).unwrap();

    let allocation = sorter.allocation("a").unwrap();
    assert_eq!(allocation.len(), 1);
    assert_eq!(allocation[&slave], new);
    assert_eq!(sorter.allocation_on("a", &slave).unwrap(), new);
    assert_eq!(sorter.allocation_scalar_quantities("a").unwrap(), &q("cpus:10;mem:10;disk:10"));
    assert_eq!(sorter.total_allocation_scalar_quantities(), &q("cpus:10;mem:10;disk:10"));

    // An allocation can be updated to nothing. (The C++ test renames `slaveId` here where it
    // meant `slaveId2`, so the allocation goes to an agent with an empty id; so does ours.)
    let c = r("cpus:10;mem:10;disk:10");
    let slave2 = agent("");
    slave.value = "agentId2".into();
    add_active(&mut sorter, "c");
    sorter.add_slave(&slave, ResourceQuantities::from_scalar_resources(&c)).unwrap();
    sorter.allocated("c", &slave2, &c).unwrap();
    sorter.update("c", &slave2, &c, &Resources::new()).unwrap();
    assert!(sorter.allocation("c").unwrap().is_empty());
}

/// C++ `CommonSorterTest.UpdateAllocationNestedClient` (DRF instance).
#[test]
fn update_allocation_nested_client() {
    let mut sorter = DrfSorter::default();
    let slave = agent("agentId");
    sorter.add("a/x").unwrap();
    sorter.add("b/y").unwrap();
    sorter.activate("a/x").unwrap();
    sorter.activate("b/y").unwrap();
    sorter.add_slave(&slave, q("cpus:10;mem:10;disk:10")).unwrap();
    alloc(&mut sorter, "a/x", &slave, "cpus:10;mem:10;disk:10");

    let volume = disk_volume("5", "*", "ID", "data", false);
    let old = sorter.allocation_on("a/x", &slave).unwrap();
    let new = create_volume(&old, &volume);
    sorter.update("a/x", &slave, &old, &new).unwrap();

    let allocation = sorter.allocation("a/x").unwrap();
    assert_eq!(allocation.len(), 1);
    assert_eq!(allocation[&slave], new);
    assert_eq!(sorter.allocation_on("a/x", &slave).unwrap(), new);
    assert_eq!(sorter.allocation_scalar_quantities("a/x").unwrap(), &q("cpus:10;mem:10;disk:10"));
    assert_eq!(sorter.total_allocation_scalar_quantities(), &q("cpus:10;mem:10;disk:10"));
}

/// C++ `CommonSorterTest.AllocationForInactiveClient` (DRF instance).
#[test]
fn allocation_for_inactive_client() {
    let mut sorter = DrfSorter::default();
    let slave = agent("agentId");
    sorter.add_slave(&slave, q("cpus:10;mem:10")).unwrap();
    sorter.add("a").unwrap();
    sorter.add("b").unwrap();
    sorter.activate("b").unwrap();
    alloc(&mut sorter, "a", &slave, "cpus:2;mem:2");
    alloc(&mut sorter, "b", &slave, "cpus:3;mem:3");

    let a = sorter.allocation("a").unwrap();
    assert_eq!(a.len(), 1);
    assert_eq!(a[&slave], r("cpus:2;mem:2"));
    assert_eq!(sorter.allocation_scalar_quantities("a").unwrap(), &q("cpus:2;mem:2"));
    let b = sorter.allocation("b").unwrap();
    assert_eq!(b.len(), 1);
    assert_eq!(b[&slave], r("cpus:3;mem:3"));
    assert_eq!(sorter.allocation_scalar_quantities("b").unwrap(), &q("cpus:3;mem:3"));
    assert_eq!(sorter.total_allocation_scalar_quantities(), &q("cpus:5;mem:5"));
}

/// C++ `CommonSorterTest.MultipleSlaves` (DRF instance).
#[test]
fn multiple_slaves() {
    let mut sorter = DrfSorter::default();
    let (slave_a, slave_b) = (agent("agentA"), agent("agentB"));
    add_active(&mut sorter, "framework");
    let resources = r("cpus:2;mem:512;ports:[31000-32000]");
    let quantities = ResourceQuantities::from_scalar_resources(&resources.scalars());
    sorter.add_slave(&slave_a, quantities.clone()).unwrap();
    sorter.add_slave(&slave_b, quantities.clone()).unwrap();
    sorter.allocated("framework", &slave_a, &resources).unwrap();
    sorter.allocated("framework", &slave_b, &resources).unwrap();

    assert_eq!(sorter.allocation("framework").unwrap().len(), 2);
    assert_eq!(sorter.allocation_on("framework", &slave_a).unwrap(), resources);
    assert_eq!(sorter.allocation_on("framework", &slave_b).unwrap(), resources);
    assert_eq!(sorter.allocation_scalar_quantities("framework").unwrap(), &(&quantities + &quantities));
    assert_eq!(sorter.total_allocation_scalar_quantities(), &(&quantities + &quantities));
}

/// C++ `CommonSorterTest.MultipleSlavesUpdateAllocation` (DRF instance).
#[test]
fn multiple_slaves_update_allocation() {
    let mut sorter = DrfSorter::default();
    let (slave_a, slave_b) = (agent("agentA"), agent("agentB"));
    add_active(&mut sorter, "framework");
    let resources = r("cpus:2;mem:512;disk:10;ports:[31000-32000]");
    let quantities = ResourceQuantities::from_scalar_resources(&resources.scalars());
    sorter.add_slave(&slave_a, quantities.clone()).unwrap();
    sorter.add_slave(&slave_b, quantities.clone()).unwrap();
    sorter.allocated("framework", &slave_a, &resources).unwrap();
    sorter.allocated("framework", &slave_b, &resources).unwrap();

    let volume = disk_volume("5", "*", "ID", "data", false);
    let new = create_volume(&resources, &volume);
    sorter.update("framework", &slave_a, &resources, &new).unwrap();
    sorter.update("framework", &slave_b, &resources, &new).unwrap();

    assert_eq!(sorter.allocation("framework").unwrap().len(), 2);
    assert_eq!(sorter.allocation_on("framework", &slave_a).unwrap(), new);
    assert_eq!(sorter.allocation_on("framework", &slave_b).unwrap(), new);
    assert_eq!(sorter.allocation_scalar_quantities("framework").unwrap(), &(&quantities + &quantities));
    assert_eq!(sorter.total_allocation_scalar_quantities(), &(&quantities + &quantities));
}

/// C++ `DRFSorterTest.UpdateTotal`.
#[test]
fn update_total() {
    let mut sorter = DrfSorter::default();
    let slave = agent("agentId");
    sorter.add("a").unwrap();
    sorter.add("b").unwrap();
    sorter.activate("a").unwrap();
    sorter.activate("b").unwrap();
    sorter.add_slave(&slave, q("cpus:10;mem:100")).unwrap();
    // a = .2 (cpus), b = .1 (cpus).
    alloc(&mut sorter, "a", &slave, "cpus:2;mem:1");
    alloc(&mut sorter, "b", &slave, "cpus:1;mem:2");
    assert_eq!(sorter.sort(), ["b", "a"]);

    sorter.remove_slave(&slave).unwrap();
    sorter.add_slave(&slave, q("cpus:100;mem:10")).unwrap();
    // a = .1 (mem), b = .2 (mem).
    assert_eq!(sorter.sort(), ["a", "b"]);
}

/// C++ `DRFSorterTest.MultipleSlavesUpdateTotal`.
#[test]
fn multiple_slaves_update_total() {
    let mut sorter = DrfSorter::default();
    let (slave_a, slave_b) = (agent("agentA"), agent("agentB"));
    sorter.add("a").unwrap();
    sorter.add("b").unwrap();
    sorter.activate("a").unwrap();
    sorter.activate("b").unwrap();
    sorter.add_slave(&slave_a, q("cpus:5;mem:50")).unwrap();
    sorter.add_slave(&slave_b, q("cpus:5;mem:50")).unwrap();
    alloc(&mut sorter, "a", &slave_a, "cpus:2;mem:1");
    alloc(&mut sorter, "b", &slave_b, "cpus:1;mem:3");
    assert_eq!(sorter.sort(), ["b", "a"]);

    sorter.remove_slave(&slave_a).unwrap();
    sorter.add_slave(&slave_a, q("cpus:95;mem:50")).unwrap();
    // a = .02 (cpus), b = .03 (mem).
    assert_eq!(sorter.sort(), ["a", "b"]);
}

/// C++ `DRFSorterTest.RemoveResources`.
#[test]
fn remove_resources() {
    let mut sorter = DrfSorter::default();
    let slave = agent("agentId");
    sorter.add("a").unwrap();
    sorter.add("b").unwrap();
    sorter.activate("a").unwrap();
    sorter.activate("b").unwrap();
    let total = Resources::from(resource("cpus", "10", "*"));
    sorter.add_slave(&slave, ResourceQuantities::from_scalar_resources(&total)).unwrap();
    let for_a = Resources::from(resource("cpus", "6", "*"));
    sorter.allocated("a", &slave, &for_a).unwrap();
    sorter.allocated("b", &slave, &Resources::from(resource("cpus", "4", "*"))).unwrap();
    assert_eq!(sorter.sort(), ["b", "a"]);

    let removed = Resources::from(resource("cpus", "5", "*"));
    sorter.remove_slave(&slave).unwrap();
    sorter.add_slave(&slave, ResourceQuantities::from_scalar_resources(&(&total - &removed))).unwrap();
    sorter.update("a", &slave, &for_a, &(&for_a - &removed)).unwrap();
    // a = .2, b = .8.
    assert_eq!(sorter.sort(), ["a", "b"]);
}

/// C++ `DRFSorterTest.RevocableResources`: revocable resources count in the pool and in
/// shares like any other of the same name.
#[test]
fn revocable_resources() {
    let mut sorter = DrfSorter::default();
    let slave = agent("agentId");
    sorter.add("a").unwrap();
    sorter.add("b").unwrap();
    sorter.activate("a").unwrap();
    sorter.activate("b").unwrap();

    let revocable = |value: &str| {
        let mut cpus = resource("cpus", value, "*");
        cpus.revocable = Some(RevocableInfo {});
        Resources::from(cpus)
    };
    let total = r("cpus:10;mem:100") + revocable("10");
    sorter.add_slave(&slave, ResourceQuantities::from_scalar_resources(&total)).unwrap();

    // a = 2/20 cpus = .1; b = 10/20 cpus = .5.
    let a = r("cpus:2;mem:1");
    sorter.allocated("a", &slave, &a).unwrap();
    let b = r("cpus:1;mem:1") + revocable("9");
    sorter.allocated("b", &slave, &b).unwrap();

    assert_eq!(sorter.allocation_on("a", &slave).unwrap(), a);
    assert_eq!(sorter.allocation_on("b", &slave).unwrap(), b);
    assert_eq!(sorter.sort(), ["a", "b"]);
}

/// C++ `DRFSorterTest.SharedResources`.
#[test]
fn shared_resources() {
    let mut sorter = DrfSorter::default();
    let slave = agent("agentId");
    let shared_disk = disk_volume("100", "role1", "id1", "path1", true);
    let total =
        Resources::parse("cpus:100;mem:100;disk(role1):900", "*").unwrap() + Resources::from(shared_disk.clone());
    sorter.add_slave(&slave, ResourceQuantities::from_scalar_resources(&total)).unwrap();

    add_active(&mut sorter, "a");
    let a = r("cpus:5;mem:5") + Resources::from(shared_disk.clone());
    sorter.allocated("a", &slave, &a).unwrap();
    add_active(&mut sorter, "b");
    alloc(&mut sorter, "b", &slave, "cpus:6;mem:6");
    // a = .1 (disk), b = .06 (cpus).
    assert_eq!(sorter.sort(), ["b", "a"]);

    add_active(&mut sorter, "c");
    let c = r("cpus:1;mem:1") + Resources::from(shared_disk.clone());
    sorter.allocated("c", &slave, &c).unwrap();
    // a = c = .1 (the same volume), b = .06.
    assert_eq!(sorter.sort(), ["b", "a", "c"]);

    sorter.remove("a").unwrap();
    sorter.unallocated("b", &slave, &r("cpus:4;mem:4")).unwrap();
    // b = .02, c = .1.
    assert_eq!(sorter.sort(), ["b", "c"]);

    add_active(&mut sorter, "d");
    let d = r("cpus:1;mem:5") + Resources::from(shared_disk);
    sorter.allocated("d", &slave, &d).unwrap();
    assert_eq!(sorter.sort(), ["b", "c", "d"]);

    assert!(sorter.contains("b"));
    assert!(!sorter.contains("a"));
    assert_eq!(sorter.count(), 3);
}

/// C++ `DRFSorterTest.SameDominantSharedResourcesAcrossClients`.
#[test]
fn same_dominant_shared_resources_across_clients() {
    let mut sorter = DrfSorter::default();
    let slave = agent("agentId");
    let shared_disk = disk_volume("900", "role1", "id1", "path1", true);
    let total =
        Resources::parse("cpus:100;mem:100;disk(role1):100", "*").unwrap() + Resources::from(shared_disk.clone());
    sorter.add_slave(&slave, ResourceQuantities::from_scalar_resources(&total)).unwrap();

    add_active(&mut sorter, "b");
    sorter.allocated("b", &slave, &(r("cpus:5;mem:20") + Resources::from(shared_disk.clone()))).unwrap();
    add_active(&mut sorter, "c");
    sorter.allocated("c", &slave, &(r("cpus:10;mem:6") + Resources::from(shared_disk.clone()))).unwrap();
    // Both .9 (disk): the tie goes by name.
    assert_eq!(sorter.sort(), ["b", "c"]);

    add_active(&mut sorter, "a");
    sorter.allocated("a", &slave, &(r("cpus:50;mem:40") + Resources::from(shared_disk))).unwrap();
    assert_eq!(sorter.sort(), ["a", "b", "c"]);
}

/// C++ `DRFSorterTest.SameSharedResourcesSameClient`: more copies of a shared volume do not
/// raise the share.
#[test]
fn same_shared_resources_same_client() {
    let mut sorter = DrfSorter::default();
    let slave = agent("agentId");
    let shared_disk = disk_volume("50", "role1", "id1", "path1", true);
    let total =
        Resources::parse("cpus:100;mem:100;disk(role1):950", "*").unwrap() + Resources::from(shared_disk.clone());
    sorter.add_slave(&slave, ResourceQuantities::from_scalar_resources(&total)).unwrap();

    add_active(&mut sorter, "a");
    sorter.allocated("a", &slave, &(r("cpus:2;mem:2") + Resources::from(shared_disk.clone()))).unwrap();
    add_active(&mut sorter, "b");
    alloc(&mut sorter, "b", &slave, "cpus:6;mem:6");
    // a = .05 (disk), b = .06 (cpus).
    assert_eq!(sorter.sort(), ["a", "b"]);

    let mut more = Resources::from(shared_disk.clone());
    more += &shared_disk;
    more += &shared_disk;
    sorter.allocated("a", &slave, &more).unwrap();
    assert_eq!(sorter.sort(), ["a", "b"]);
}

/// C++ `DRFSorterTest.SharedResourcesUnallocated`: a shared volume leaves the share with its
/// last copy.
#[test]
fn shared_resources_unallocated() {
    let mut sorter = DrfSorter::default();
    let slave = agent("agentId");
    let shared_disk = disk_volume("100", "role1", "id1", "path1", true);
    let total =
        Resources::parse("cpus:100;mem:100;disk(role1):900", "*").unwrap() + Resources::from(shared_disk.clone());
    sorter.add_slave(&slave, ResourceQuantities::from_scalar_resources(&total)).unwrap();

    add_active(&mut sorter, "a");
    let mut a = r("cpus:2;mem:2");
    a += &shared_disk;
    a += &shared_disk;
    a += &shared_disk;
    sorter.allocated("a", &slave, &a).unwrap();
    add_active(&mut sorter, "b");
    alloc(&mut sorter, "b", &slave, "cpus:6;mem:6");
    // a = .1 (disk), b = .06.
    assert_eq!(sorter.sort(), ["b", "a"]);

    sorter.unallocated("a", &slave, &Resources::from(shared_disk.clone())).unwrap();
    assert_eq!(sorter.sort(), ["b", "a"]);

    let mut rest = Resources::from(shared_disk.clone());
    rest += &shared_disk;
    sorter.unallocated("a", &slave, &rest).unwrap();
    // a = .02, b = .06.
    assert_eq!(sorter.sort(), ["a", "b"]);
}

// ----- beyond the C++ tests -----

/// `--fair_sharing_excluded_resource_names`: excluded names do not count toward shares.
#[test]
fn fairness_exclusions() {
    let excluded: HashSet<String> = ["gpus".to_owned()].into();
    let mut sorter = DrfSorter::new(Some(excluded));
    let slave = agent("agentId");
    sorter.add_slave(&slave, q("cpus:100;gpus:4")).unwrap();
    add_active(&mut sorter, "a");
    add_active(&mut sorter, "b");
    alloc(&mut sorter, "a", &slave, "cpus:1;gpus:4");
    alloc(&mut sorter, "b", &slave, "cpus:2");
    assert_eq!(sorter.sort(), ["a", "b"]);

    let mut plain = DrfSorter::default();
    plain.add_slave(&slave, q("cpus:100;gpus:4")).unwrap();
    add_active(&mut plain, "a");
    add_active(&mut plain, "b");
    alloc(&mut plain, "a", &slave, "cpus:1;gpus:4");
    alloc(&mut plain, "b", &slave, "cpus:2");
    assert_eq!(plain.sort(), ["b", "a"]);
}

/// A weight set on a path that is internal only (no client `a`) takes effect even after the
/// node's weight was first used. C++ ignores such an update until the node is rebuilt.
#[test]
fn update_weight_on_internal_node() {
    let mut sorter = DrfSorter::default();
    let slave = agent("agentId");
    sorter.add_slave(&slave, q("cpus:100")).unwrap();
    add_active(&mut sorter, "a/x");
    add_active(&mut sorter, "b/y");
    alloc(&mut sorter, "a/x", &slave, "cpus:10");
    alloc(&mut sorter, "b/y", &slave, "cpus:6");
    assert_eq!(sorter.sort(), ["b/y", "a/x"]);
    sorter.update_weight("a", 2.0).unwrap();
    assert_eq!(sorter.sort(), ["a/x", "b/y"]);
}

/// Caller mistakes are refused with an error, and the sorter is left as it was.
#[test]
fn errors_leave_the_sorter_unchanged() {
    let mut sorter = DrfSorter::default();
    let slave = agent("agentId");
    assert_eq!(sorter.remove("a"), Err(SorterError::UnknownClient("a".into())));
    assert_eq!(sorter.activate("a"), Err(SorterError::UnknownClient("a".into())));
    assert_eq!(sorter.deactivate("a"), Err(SorterError::UnknownClient("a".into())));
    assert!(sorter.allocation("a").is_err());
    assert!(sorter.allocation_on("a", &slave).is_err());
    assert!(sorter.allocation_scalar_quantities("a").is_err());
    assert!(sorter.allocated("a", &slave, &r("cpus:1")).is_err());
    for bad in ["", "a//b", "/a", "a/", ".", "a/."] {
        assert_eq!(sorter.add(bad), Err(SorterError::InvalidClientPath(bad.into())), "{bad:?}");
    }

    sorter.add_slave(&slave, q("cpus:10")).unwrap();
    assert_eq!(sorter.add_slave(&slave, q("cpus:1")), Err(SorterError::AgentExists("agentId".into())));
    assert_eq!(sorter.remove_slave(&agent("other")), Err(SorterError::UnknownAgent("other".into())));
    assert_eq!(sorter.total_scalar_quantities(), &q("cpus:10"));

    add_active(&mut sorter, "a");
    assert_eq!(sorter.add("a"), Err(SorterError::ClientExists("a".into())));
    add_active(&mut sorter, "a/b");
    // `a` is internal now, but still a client: adding it again is refused too.
    assert_eq!(sorter.add("a"), Err(SorterError::ClientExists("a".into())));
    assert!(!sorter.contains("a/."));

    alloc(&mut sorter, "a", &slave, "cpus:2");
    assert!(matches!(sorter.unallocated("a", &slave, &r("cpus:3")), Err(SorterError::NotAllocated { .. })));
    assert!(matches!(sorter.unallocated("a", &agent("other"), &r("cpus:1")), Err(SorterError::NotAllocated { .. })));
    assert!(matches!(sorter.update("a", &slave, &r("mem:1"), &r("cpus:1")), Err(SorterError::NotAllocated { .. })));
    assert_eq!(sorter.allocation_on("a", &slave).unwrap(), r("cpus:2"));
    assert_eq!(sorter.total_allocation_scalar_quantities(), &q("cpus:2"));

    for bad in [0.0, -1.0, f64::NAN, f64::INFINITY] {
        assert!(matches!(sorter.update_weight("a", bad), Err(SorterError::InvalidWeight { .. })));
    }
    assert_eq!(sorter.sort(), ["a/b", "a"]);
}

/// The tree folds away completely: removing every client leaves an empty sorter whose
/// totals are zero, and node slots are reused.
#[test]
fn removing_everything_empties_the_tree() {
    let mut sorter = DrfSorter::default();
    let slave = agent("agentId");
    sorter.add_slave(&slave, q("cpus:10")).unwrap();
    for round in 0..3 {
        for c in ["a", "a/b", "a/b/c", "d/e/f", "d"] {
            add_active(&mut sorter, c);
            alloc(&mut sorter, c, &slave, "cpus:1");
        }
        assert_eq!(sorter.count(), 5, "round {round}");
        assert_eq!(sorted(sorter.sort()), ["a", "a/b", "a/b/c", "d", "d/e/f"]);
        for c in ["a/b", "d", "a", "d/e/f", "a/b/c"] {
            sorter.remove(c).unwrap();
        }
        assert_eq!(sorter.count(), 0);
        assert!(sorter.sort().is_empty());
        assert!(sorter.total_allocation_scalar_quantities().is_empty());
    }
}

// ----- property tests -----

#[derive(Debug, Clone)]
enum Op {
    Add(usize),
    Remove(usize),
    Activate(usize),
    Deactivate(usize),
    Allocate(usize, u32),
    Unallocate(usize),
    Weight(usize, u8),
    Sort,
}

/// A small universe of nested names, so clients are often parents of one another.
const NAMES: [&str; 8] = ["a", "a/b", "a/b/c", "a/d", "e", "e/f", "g/h", "g"];

/// Clients of a flat sorter (no internal nodes but the root).
const FLAT: [&str; 6] = ["f0", "f1", "f2", "f3", "f4", "f5"];

fn op() -> impl Strategy<Value = Op> {
    let name = 0..NAMES.len();
    prop_oneof![
        3 => name.clone().prop_map(Op::Add),
        1 => name.clone().prop_map(Op::Remove),
        2 => name.clone().prop_map(Op::Activate),
        1 => name.clone().prop_map(Op::Deactivate),
        4 => (name.clone(), 1..20u32).prop_map(|(n, c)| Op::Allocate(n, c)),
        1 => name.clone().prop_map(Op::Unallocate),
        1 => (name, 1..5u8).prop_map(|(n, w)| Op::Weight(n, w)),
        2 => Just(Op::Sort),
    ]
}

/// A sorter built from scratch in one go from the same state: the reference for the
/// incrementally maintained order.
fn rebuilt(
    active: &HashSet<&str>,
    present: &[&str],
    allocated: &[(String, Resources)],
    weights: &[(String, f64)],
) -> DrfSorter {
    let slave = agent("agentId");
    let mut sorter = DrfSorter::default();
    sorter.add_slave(&slave, q("cpus:100;mem:1000")).unwrap();
    for (path, weight) in weights {
        sorter.update_weight(path, *weight).unwrap();
    }
    for c in present {
        sorter.add(c).unwrap();
        if active.contains(c) {
            sorter.activate(c).unwrap();
        }
    }
    for (c, res) in allocated {
        sorter.allocated(c, &slave, res).unwrap();
    }
    sorter
}

proptest! {
    /// `sort()` returns exactly the active clients, each once, and the sorter's answers agree
    /// with a simple model of which clients exist and what they hold.
    #[test]
    fn sort_returns_exactly_the_active_clients(ops in proptest::collection::vec(op(), 1..80)) {
        let slave = agent("agentId");
        let mut sorter = DrfSorter::default();
        sorter.add_slave(&slave, q("cpus:100;mem:1000")).unwrap();
        let mut present: Vec<&str> = Vec::new();
        let mut active: HashSet<&str> = HashSet::new();
        let mut held: std::collections::HashMap<&str, u32> = Default::default();
        for op in ops {
            match op {
                Op::Add(n) => {
                    let c = NAMES[n];
                    let result = sorter.add(c);
                    prop_assert_eq!(result.is_ok(), !present.contains(&c));
                    if result.is_ok() { present.push(c); }
                }
                Op::Remove(n) => {
                    let c = NAMES[n];
                    prop_assert_eq!(sorter.remove(c).is_ok(), present.contains(&c));
                    present.retain(|p| *p != c);
                    active.remove(c);
                    held.remove(c);
                }
                Op::Activate(n) => {
                    let c = NAMES[n];
                    if sorter.activate(c).is_ok() { active.insert(c); }
                }
                Op::Deactivate(n) => {
                    let c = NAMES[n];
                    if sorter.deactivate(c).is_ok() { active.remove(c); }
                }
                Op::Allocate(n, cpus) => {
                    let c = NAMES[n];
                    let res = r(&format!("cpus:{};mem:{}", f64::from(cpus) / 10.0, cpus));
                    if sorter.allocated(c, &slave, &res).is_ok() { *held.entry(c).or_default() += cpus; }
                }
                Op::Unallocate(n) => {
                    let c = NAMES[n];
                    if let Some(cpus) = held.remove(c) {
                        let res = r(&format!("cpus:{};mem:{}", f64::from(cpus) / 10.0, cpus));
                        sorter.unallocated(c, &slave, &res).unwrap();
                    }
                }
                Op::Weight(n, w) => sorter.update_weight(NAMES[n], f64::from(w)).unwrap(),
                Op::Sort => {}
            }
            let mut order = sorter.sort();
            order.sort();
            let mut expected: Vec<String> = active.iter().map(|c| c.to_string()).collect();
            expected.sort();
            prop_assert_eq!(order, expected);
            prop_assert_eq!(sorter.count(), present.len());
            let total: u32 = held.values().sum();
            prop_assert_eq!(sorter.total_allocation_scalar_quantities().get("mem").value, f64::from(total));
        }
    }

    /// A sorter that keeps no per-agent resources for its clients orders and counts exactly
    /// as one that does.
    #[test]
    fn quantities_only_sorter_agrees_with_the_full_one(ops in proptest::collection::vec(op(), 1..80)) {
        let slave = agent("agentId");
        let mut full = DrfSorter::default();
        let mut lean = DrfSorter::without_client_resources(None);
        for sorter in [&mut full, &mut lean] {
            sorter.add_slave(&slave, q("cpus:100;mem:1000")).unwrap();
        }
        let mut held: std::collections::HashMap<&str, u32> = Default::default();
        for op in ops {
            let mut outcomes = Vec::new();
            for sorter in [&mut full, &mut lean] {
                let outcome = match op {
                    Op::Add(n) => sorter.add(NAMES[n]).is_ok(),
                    Op::Remove(n) => sorter.remove(NAMES[n]).is_ok(),
                    Op::Activate(n) => sorter.activate(NAMES[n]).is_ok(),
                    Op::Deactivate(n) => sorter.deactivate(NAMES[n]).is_ok(),
                    Op::Allocate(n, cpus) => {
                        let res = r(&format!("cpus:{};mem:{}", f64::from(cpus) / 10.0, cpus));
                        sorter.allocated(NAMES[n], &slave, &res).is_ok()
                    }
                    Op::Unallocate(n) => match held.get(NAMES[n]) {
                        Some(&cpus) => {
                            let res = r(&format!("cpus:{};mem:{}", f64::from(cpus) / 10.0, cpus));
                            sorter.unallocated(NAMES[n], &slave, &res).is_ok()
                        }
                        None => false,
                    },
                    Op::Weight(n, w) => sorter.update_weight(NAMES[n], f64::from(w)).is_ok(),
                    Op::Sort => true,
                };
                outcomes.push(outcome);
            }
            prop_assert_eq!(outcomes[0], outcomes[1]);
            match op {
                Op::Allocate(n, cpus) if outcomes[0] => *held.entry(NAMES[n]).or_default() += cpus,
                Op::Unallocate(n) | Op::Remove(n) if outcomes[0] => { held.remove(NAMES[n]); }
                _ => {}
            }
            prop_assert_eq!(full.sort(), lean.sort());
            prop_assert_eq!(full.total_allocation_scalar_quantities(), lean.total_allocation_scalar_quantities());
            for name in NAMES {
                if let (Ok(a), Ok(b)) = (full.allocation_scalar_quantities(name), lean.allocation_scalar_quantities(name)) {
                    prop_assert_eq!(a, b);
                }
            }
        }
    }

    /// In a flat sorter the shared sorted list follows the clients' moves as allocations
    /// come in, whether the previous list is still held (it is then rebuilt) or not (it is
    /// then updated in place), and equals the order of a sorter built afresh.
    #[test]
    fn flat_sorted_list_follows_allocations(
        allocations in proptest::collection::vec((0..FLAT.len(), 1..30u32, any::<bool>()), 1..60),
        inactive in 0..FLAT.len(),
    ) {
        let slave = agent("agentId");
        let active: HashSet<&str> = FLAT.iter().copied().filter(|c| *c != FLAT[inactive]).collect();
        let mut sorter = rebuilt(&active, &FLAT, &[], &[]);
        let mut done: Vec<(String, Resources)> = Vec::new();
        let mut held = Some(sorter.sort_clients());
        for (n, amount, keep) in allocations {
            if !keep {
                held = None;
            }
            let res = r(&format!("cpus:{};mem:{}", f64::from(amount) / 10.0, amount * 7));
            sorter.allocated(FLAT[n], &slave, &res).unwrap();
            done.push((FLAT[n].to_owned(), res));
            let got = sorter.sort_clients();
            let reference = rebuilt(&active, &FLAT, &done, &[]).sort();
            prop_assert_eq!(got.iter().map(|c| c.to_string()).collect::<Vec<_>>(), reference);
            if keep {
                held = Some(got);
            }
        }
        drop(held);
    }

    /// The order kept up to date by `allocated` on a clean tree equals the order of a
    /// sorter that recomputes everything, and allocating to a client never moves it earlier.
    #[test]
    fn incremental_order_matches_full_resort(
        allocations in proptest::collection::vec((0..NAMES.len(), 1..30u32), 1..40),
        weights in proptest::collection::vec((0..NAMES.len(), 1..4u8), 0..4),
    ) {
        let slave = agent("agentId");
        let present: Vec<&str> = NAMES.to_vec();
        let active: HashSet<&str> = NAMES.iter().copied().filter(|c| *c != "e").collect();
        let weights: Vec<(String, f64)> = weights.iter().map(|&(n, w)| (NAMES[n].to_owned(), f64::from(w))).collect();
        let mut sorter = rebuilt(&active, &present, &[], &weights);
        let mut done: Vec<(String, Resources)> = Vec::new();
        sorter.sort();
        for (n, amount) in allocations {
            let c = NAMES[n];
            let res = r(&format!("cpus:{};mem:{}", f64::from(amount) / 10.0, amount * 3));
            let before = sorter.sort();
            sorter.allocated(c, &slave, &res).unwrap();
            done.push((c.to_owned(), res));
            let after = sorter.sort();
            if let (Some(old), Some(new)) = (before.iter().position(|x| x == c), after.iter().position(|x| x == c)) {
                // Only this client's share and those of its ancestors grew, so whoever was
                // ahead of it still is.
                let overtaken = before[..old].iter().filter(|x| !after[..new].contains(x)).count();
                prop_assert_eq!(overtaken, 0, "{} moved ahead of someone: {:?} -> {:?}", c, before, after);
            }
            let mut reference = rebuilt(&active, &present, &done, &weights);
            // The reference's allocation counts differ (one per `allocated` call is the same
            // here, since it replays the same calls), so the orders must match exactly.
            prop_assert_eq!(after, reference.sort());
        }
    }
}

/// Internal nodes count a shared volume once for their whole subtree, through allocations,
/// removals, leaf-to-parent conversions and folds back (the root's quantities are the
/// sorter's total allocation).
#[test]
fn shared_resources_in_nested_clients_count_once_per_subtree() {
    shared_nested(DrfSorter::default(), true);
    shared_nested(DrfSorter::without_client_resources(None), false);
}

fn shared_nested(mut sorter: DrfSorter, keeps_resources: bool) {
    let slave = agent("agentId");
    let shared_disk = Resources::from(disk_volume("100", "role1", "id1", "path1", true));
    let total = r("cpus:10;mem:10") + shared_disk.clone();
    sorter.add_slave(&slave, ResourceQuantities::from_scalar_resources(&total)).unwrap();

    add_active(&mut sorter, "a");
    sorter.allocated("a", &slave, &(r("cpus:1") + shared_disk.clone())).unwrap();
    // `a` becomes a parent; its allocation moves to its virtual leaf.
    add_active(&mut sorter, "a/x");
    sorter.allocated("a/x", &slave, &(r("cpus:2") + shared_disk.clone())).unwrap();
    add_active(&mut sorter, "b/y");
    sorter.allocated("b/y", &slave, &shared_disk).unwrap();
    assert_eq!(sorter.total_allocation_scalar_quantities(), &q("cpus:3;disk:100"));
    if keeps_resources {
        assert_eq!(sorter.allocation_on("a", &slave).unwrap(), r("cpus:1") + shared_disk.clone());
    }

    sorter.unallocated("a", &slave, &shared_disk).unwrap();
    sorter.unallocated("b/y", &slave, &shared_disk).unwrap();
    assert_eq!(sorter.total_allocation_scalar_quantities(), &q("cpus:3;disk:100"));

    // Removing `a/x` folds `a` back into a leaf that still holds its own cpus.
    sorter.remove("a/x").unwrap();
    assert_eq!(sorter.total_allocation_scalar_quantities(), &q("cpus:1"));
    assert_eq!(sorter.allocation_scalar_quantities("a").unwrap(), &q("cpus:1"));
    if keeps_resources {
        assert_eq!(sorter.allocation_on("a", &slave).unwrap(), r("cpus:1"));
    }
    sorter.unallocated("a", &slave, &r("cpus:1")).unwrap();
    assert!(sorter.total_allocation_scalar_quantities().is_empty());
    assert!(sorter.allocation("a").unwrap().is_empty());

    // A client removed while holding a shared volume another client holds too.
    add_active(&mut sorter, "c/1");
    add_active(&mut sorter, "c/2");
    sorter.allocated("c/1", &slave, &(r("cpus:1") + shared_disk.clone())).unwrap();
    sorter.allocated("c/2", &slave, &shared_disk).unwrap();
    sorter.remove("c/1").unwrap();
    assert_eq!(sorter.total_allocation_scalar_quantities(), &q("disk:100"));
    sorter.remove("c/2").unwrap();
    assert!(sorter.total_allocation_scalar_quantities().is_empty());
}
