//! The hierarchical DRF allocator actor on a paused clock: `HierarchicalAllocatorTest` cases from `src/tests/hierarchical_allocator_tests.cpp` ported by name, plus batching, refuse_seconds edge cases and refused calls.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::mpsc;
use std::time::Duration;

use libprocess::{Config, Libprocess};
use master::allocator::{parse_min_allocatable_resources, Allocator, Options, DEFAULT_MIN_ALLOCATABLE_RESOURCES};
use mesos::attributes::Attributes;
use mesos::proto::framework_info::capability::Type as FrameworkCapability;
use mesos::proto::slave_info::capability::Type as SlaveCapability;
use mesos::proto::{framework_info, slave_info, Filters, FrameworkId, FrameworkInfo, SlaveId, SlaveInfo, WeightInfo};
use mesos::resources::Resources;

const WAIT: Duration = Duration::from_secs(10);

/// One offer callback invocation (C++ test `Allocation`).
#[derive(Debug, Clone, PartialEq)]
struct Allocation {
    framework_id: FrameworkId,
    resources: HashMap<String, HashMap<SlaveId, Resources>>,
}

/// The C++ test fixture (`HierarchicalAllocatorTestBase`): a paused instance, the allocator,
/// and the offers it made so far.
struct Fixture {
    lp: Libprocess,
    allocator: Allocator,
    allocations: mpsc::Receiver<Allocation>,
    interval: Duration,
    next_slave: u32,
    next_framework: u32,
}

impl Fixture {
    async fn new() -> Fixture {
        Fixture::with_interval(master::allocator::DEFAULT_ALLOCATION_INTERVAL).await
    }

    async fn with_interval(interval: Duration) -> Fixture {
        let config = Config { ip: Some(std::net::Ipv4Addr::LOCALHOST), ..Config::default() };
        let lp = Libprocess::initialize(config).await.expect("libprocess starts");
        lp.clock().pause();
        let allocator = Allocator::create(&lp).expect("allocator spawns");
        let (tx, allocations) = mpsc::channel();
        let options = Options {
            allocation_interval: interval,
            min_allocatable_resources: Some(
                parse_min_allocatable_resources(DEFAULT_MIN_ALLOCATABLE_RESOURCES).unwrap(),
            ),
            shuffle_seed: Some(42),
            ..Options::default()
        };
        allocator.initialize(
            options,
            Box::new(move |framework_id, resources| {
                let _ = tx.send(Allocation { framework_id: framework_id.clone(), resources });
            }),
            None,
        );
        let fixture = Fixture { lp, allocator, allocations, interval, next_slave: 1, next_framework: 1 };
        // The periodic timer starts when `initialize` runs, so let it run before any advance.
        fixture.settle().await;
        fixture
    }

    async fn settle(&self) {
        tokio::time::timeout(WAIT, self.lp.settle()).await.expect("settles");
    }

    /// Settles first: calls are dispatched asynchronously, and C++'s per-process paused
    /// clock would have them happen before the advance.
    async fn advance(&self, d: Duration) {
        self.settle().await;
        self.lp.clock().advance(d);
        self.settle().await;
    }

    /// Advances by one allocation interval.
    async fn tick(&self) {
        self.advance(self.interval).await;
    }

    /// The next offer; settles first. Panics if there is none.
    async fn next(&self) -> Allocation {
        self.settle().await;
        self.allocations.try_recv().expect("an allocation")
    }

    /// Settles and checks that no offer was made.
    async fn expect_none(&self) {
        self.settle().await;
        if let Ok(allocation) = self.allocations.try_recv() {
            panic!("unexpected allocation {allocation:?}");
        }
    }

    fn slave_info(&mut self, resources: &str) -> SlaveInfo {
        let id = format!("agent{}", self.next_slave);
        self.next_slave += 1;
        SlaveInfo {
            hostname: id.clone(),
            id: Some(SlaveId { value: id }),
            resources: Resources::parse(resources, "*").unwrap().to_vec(),
            ..SlaveInfo::default()
        }
    }

    /// A framework in `roles`, always MULTI_ROLE (as the C++ fixture injects it).
    fn framework_info(&mut self, roles: &[&str], capabilities: &[FrameworkCapability]) -> FrameworkInfo {
        let name = format!("framework{}", self.next_framework);
        self.next_framework += 1;
        let mut caps: Vec<framework_info::Capability> =
            capabilities.iter().map(|t| framework_info::Capability { r#type: Some(*t as i32) }).collect();
        if !capabilities.contains(&FrameworkCapability::MultiRole) {
            caps.push(framework_info::Capability { r#type: Some(FrameworkCapability::MultiRole as i32) });
        }
        FrameworkInfo {
            user: "user".into(),
            name: name.clone(),
            id: Some(FrameworkId { value: name }),
            roles: roles.iter().map(|r| r.to_string()).collect(),
            capabilities: caps,
            ..FrameworkInfo::default()
        }
    }

    fn add_slave(&self, info: &SlaveInfo, used: HashMap<FrameworkId, Resources>) {
        self.allocator.add_slave(sid(info), info.clone(), agent_capabilities(), total(info), used);
    }

    fn add_framework(&self, info: &FrameworkInfo) {
        self.allocator.add_framework(fid(info), info.clone(), HashMap::new(), true, Default::default());
    }
}

/// C++ `AGENT_CAPABILITIES()`.
fn agent_capabilities() -> Vec<slave_info::Capability> {
    [SlaveCapability::MultiRole, SlaveCapability::HierarchicalRole, SlaveCapability::ReservationRefinement]
        .iter()
        .map(|t| slave_info::Capability { r#type: Some(*t as i32) })
        .collect()
}

fn sid(info: &SlaveInfo) -> SlaveId {
    info.id.clone().unwrap()
}

fn fid(info: &FrameworkInfo) -> FrameworkId {
    info.id.clone().unwrap()
}

fn total(info: &SlaveInfo) -> Resources {
    info.resources.iter().cloned().collect()
}

/// C++ `allocatedResources`.
fn allocated(resources: &Resources, role: &str) -> Resources {
    let mut resources = resources.clone();
    resources.allocate(role);
    resources
}

/// The allocation the C++ tests build with `Allocation(framework, {{role, {{agent, res}}}})`;
/// resources are given unallocated and stamped with the role here.
fn expected(framework: &FrameworkInfo, role: &str, agent: &SlaveInfo, resources: &Resources) -> Allocation {
    Allocation {
        framework_id: fid(framework),
        resources: HashMap::from([(role.to_owned(), HashMap::from([(sid(agent), allocated(resources, role))]))]),
    }
}

fn refuse(seconds: f64) -> Option<Filters> {
    Some(Filters { refuse_seconds: Some(seconds) })
}

fn roles(names: &[&str]) -> BTreeSet<String> {
    names.iter().map(|r| r.to_string()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hierarchical_allocator_test_unreserved_drf() {
    let mut t = Fixture::new().await;

    // Cluster: cpus=2, mem=1024; framework1 alone gets all of slave1.
    let slave1 = t.slave_info("cpus:2;mem:1024;disk:0");
    t.add_slave(&slave1, HashMap::new());
    let framework1 = t.framework_info(&["role1"], &[]);
    t.add_framework(&framework1);
    assert_eq!(t.next().await, expected(&framework1, "role1", &slave1, &total(&slave1)));

    // role2 has the lower share (0 < 1), so it gets slave2.
    let framework2 = t.framework_info(&["role2"], &[]);
    t.add_framework(&framework2);
    t.expect_none().await;
    let slave2 = t.slave_info("cpus:1;mem:512;disk:0");
    t.add_slave(&slave2, HashMap::new());
    assert_eq!(t.next().await, expected(&framework2, "role2", &slave2, &total(&slave2)));

    // role1 share = 0.66, role2 share = 0.33: role2 gets slave3.
    let slave3 = t.slave_info("cpus:3;mem:2048;disk:0");
    t.add_slave(&slave3, HashMap::new());
    assert_eq!(t.next().await, expected(&framework2, "role2", &slave3, &total(&slave3)));

    // role1 share = 0.33 < role2 share = 0.71; within role1 framework3 has share 0.
    let framework3 = t.framework_info(&["role1"], &[]);
    t.add_framework(&framework3);
    t.expect_none().await;
    let slave4 = t.slave_info("cpus:4;mem:4096;disk:0");
    t.add_slave(&slave4, HashMap::new());
    assert_eq!(t.next().await, expected(&framework3, "role1", &slave4, &total(&slave4)));

    // role1 share = 0.67 > role2 share = 0.35.
    let framework4 = t.framework_info(&["role1"], &[]);
    t.add_framework(&framework4);
    t.expect_none().await;
    let slave5 = t.slave_info("cpus:1;mem:512;disk:0");
    t.add_slave(&slave5, HashMap::new());
    assert_eq!(t.next().await, expected(&framework2, "role2", &slave5, &total(&slave5)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hierarchical_allocator_test_offer_filter() {
    let mut t = Fixture::new().await;
    let framework = t.framework_info(&["role"], &[]);
    t.add_framework(&framework);
    let agent = t.slave_info("cpus:1;mem:512;disk:0");
    t.add_slave(&agent, HashMap::new());
    let allocation = t.next().await;
    assert_eq!(allocation, expected(&framework, "role", &agent, &total(&agent)));

    // Decline with a filter of two intervals.
    let offered = allocation.resources["role"][&sid(&agent)].clone();
    let timeout = t.interval * 2;
    t.allocator.recover_resources(fid(&framework), sid(&agent), offered, refuse(timeout.as_secs_f64()), false);
    t.settle().await;

    // Filtered in the next run ...
    t.tick().await;
    t.expect_none().await;

    // ... and offered again once the filter expired.
    t.tick().await;
    assert_eq!(t.next().await, expected(&framework, "role", &agent, &total(&agent)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hierarchical_allocator_test_small_offer_filter_timeout() {
    let mut t = Fixture::with_interval(Duration::from_secs(60)).await;
    let framework1 = t.framework_info(&["role"], &[]);
    t.add_framework(&framework1);
    let framework2 = t.framework_info(&["role"], &[]);
    t.add_framework(&framework2);

    // framework1 uses all of agent1, so framework2 has the lower share.
    let agent1 = t.slave_info("cpus:1;mem:512;disk:0");
    t.add_slave(&agent1, HashMap::from([(fid(&framework1), allocated(&total(&agent1), "role"))]));
    t.settle().await;
    let agent2 = t.slave_info("cpus:1;mem:512;disk:0");
    t.add_slave(&agent2, HashMap::new());
    let allocation = t.next().await;
    assert_eq!(allocation, expected(&framework2, "role", &agent2, &total(&agent2)));

    // A filter shorter than the interval lasts one interval: the periodic run at 60 s still
    // sees it, so framework1 gets agent2 although its share is larger.
    let filter_timeout = Duration::from_secs(1);
    let offered = allocation.resources["role"][&sid(&agent2)].clone();
    t.allocator.recover_resources(fid(&framework2), sid(&agent2), offered, refuse(filter_timeout.as_secs_f64()), false);
    t.advance(filter_timeout).await;
    t.tick().await;
    let allocation = t.next().await;
    assert_eq!(allocation, expected(&framework1, "role", &agent2, &total(&agent2)));

    // Once the filter is gone, framework2 gets agent2 back.
    let offered = allocation.resources["role"][&sid(&agent2)].clone();
    t.allocator.recover_resources(fid(&framework1), sid(&agent2), offered, None, false);
    t.tick().await;
    assert_eq!(t.next().await, expected(&framework2, "role", &agent2, &total(&agent2)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hierarchical_allocator_test_recover_resources() {
    let mut t = Fixture::new().await;
    let slave = t.slave_info("cpus(role1):1;mem(role1):200;cpus:1;mem:200;disk:0");
    t.add_slave(&slave, HashMap::new());
    let framework = t.framework_info(&["role1"], &[]);
    t.add_framework(&framework);
    let allocation = t.next().await;
    assert_eq!(allocation, expected(&framework, "role1", &slave, &total(&slave)));

    let offered = allocation.resources["role1"][&sid(&slave)].clone();
    let reserved = offered.reserved(Some("role1"));
    let unreserved = offered.unreserved();

    // Recover the reserved resources; they come back in the next run.
    t.allocator.recover_resources(fid(&framework), sid(&slave), reserved.clone(), None, false);
    t.tick().await;
    let mut reserved_plain = reserved.clone();
    reserved_plain.unallocate();
    assert_eq!(t.next().await, expected(&framework, "role1", &slave, &reserved_plain));

    // Same for the unreserved ones.
    t.allocator.recover_resources(fid(&framework), sid(&slave), unreserved.clone(), None, false);
    t.tick().await;
    let mut unreserved_plain = unreserved.clone();
    unreserved_plain.unallocate();
    assert_eq!(t.next().await, expected(&framework, "role1", &slave, &unreserved_plain));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hierarchical_allocator_test_allocatable() {
    // MIN_CPUS = 0.01, MIN_MEM = 32 MB.
    let mut t = Fixture::new().await;
    let framework = t.framework_info(&["role1"], &[]);
    t.add_framework(&framework);

    // Not enough of either.
    let slave1 = t.slave_info("cpus:0.005;mem:16;disk:128");
    t.add_slave(&slave1, HashMap::new());
    t.expect_none().await;

    // Enough cpus.
    let slave2 = t.slave_info("cpus:0.01;mem:16;disk:128");
    t.add_slave(&slave2, HashMap::new());
    assert_eq!(t.next().await, expected(&framework, "role1", &slave2, &total(&slave2)));

    // Enough memory.
    let slave3 = t.slave_info("cpus:0.005;mem:32;disk:128");
    t.add_slave(&slave3, HashMap::new());
    assert_eq!(t.next().await, expected(&framework, "role1", &slave3, &total(&slave3)));

    // Enough cpus only counting reserved and unreserved together.
    let slave4 = t.slave_info("cpus:0.015;mem:16;cpus(role1):0.015;mem(role1):16;disk:128");
    t.add_slave(&slave4, HashMap::new());
    assert_eq!(t.next().await, expected(&framework, "role1", &slave4, &total(&slave4)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hierarchical_allocator_test_update_allocation() {
    let mut t = Fixture::new().await;
    let slave = t.slave_info("cpus:100;mem:100;disk:100");
    t.add_slave(&slave, HashMap::new());
    let framework = t.framework_info(&["role1"], &[]);
    t.add_framework(&framework);
    let allocation = t.next().await;
    let offered = allocation.resources["role1"][&sid(&slave)].clone();

    // The master turned 5 of the offered cpus into a reservation for role1.
    let reserved = Resources::parse("cpus(role1):5", "*").unwrap();
    let unreserved_cpus = allocated(&Resources::parse("cpus:5", "*").unwrap(), "role1");
    let updated = &(&offered - &unreserved_cpus) + &allocated(&reserved, "role1");
    t.allocator.update_allocation(fid(&framework), sid(&slave), offered, updated.clone());
    t.settle().await;

    // Everything comes back; the next offer has the reserved cpus.
    t.allocator.recover_resources(fid(&framework), sid(&slave), updated.clone(), None, false);
    t.tick().await;
    let mut plain = updated;
    plain.unallocate();
    assert_eq!(t.next().await, expected(&framework, "role1", &slave, &plain));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hierarchical_allocator_test_deactivate_and_reactivate_framework() {
    let mut t = Fixture::new().await;
    let agent = t.slave_info("cpus:2;mem:1024;disk:0");
    t.add_slave(&agent, HashMap::new());
    let framework = t.framework_info(&["role1"], &[]);
    t.add_framework(&framework);
    assert_eq!(t.next().await, expected(&framework, "role1", &agent, &total(&agent)));

    t.allocator.recover_resources(fid(&framework), sid(&agent), allocated(&total(&agent), "role1"), None, false);
    t.allocator.suppress_offers(fid(&framework), BTreeSet::new());
    t.allocator.deactivate_framework(fid(&framework));
    t.tick().await;
    t.expect_none().await;

    t.allocator.activate_framework(fid(&framework));
    t.allocator.revive_offers(fid(&framework), BTreeSet::new());
    assert_eq!(t.next().await, expected(&framework, "role1", &agent, &total(&agent)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hierarchical_allocator_test_suppress_and_revive_offers() {
    let mut t = Fixture::new().await;
    let agent = t.slave_info("cpus:2;mem:1024;disk:0");
    t.add_slave(&agent, HashMap::new());
    let framework = t.framework_info(&["role1"], &[]);
    t.add_framework(&framework);
    assert_eq!(t.next().await, expected(&framework, "role1", &agent, &total(&agent)));

    // Reviving while everything is offered offers nothing new.
    t.allocator.revive_offers(fid(&framework), BTreeSet::new());
    t.expect_none().await;

    // Suppressed: the declined resources stay unoffered.
    t.allocator.recover_resources(fid(&framework), sid(&agent), allocated(&total(&agent), "role1"), None, false);
    t.allocator.suppress_offers(fid(&framework), BTreeSet::new());
    t.tick().await;
    t.expect_none().await;

    // Revive offers at once, without waiting for the interval.
    t.allocator.revive_offers(fid(&framework), BTreeSet::new());
    assert_eq!(t.next().await, expected(&framework, "role1", &agent, &total(&agent)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hierarchical_allocator_test_revive_offers() {
    let mut t = Fixture::new().await;
    let agent = t.slave_info("cpus:2;mem:1024;disk:0");
    t.add_slave(&agent, HashMap::new());
    let framework = t.framework_info(&["role1"], &[]);
    t.add_framework(&framework);
    assert_eq!(t.next().await, expected(&framework, "role1", &agent, &total(&agent)));

    t.allocator.recover_resources(
        fid(&framework),
        sid(&agent),
        allocated(&total(&agent), "role1"),
        refuse(1000.0),
        false,
    );
    t.tick().await;
    t.expect_none().await;

    // Revive clears the 1000 s filter.
    t.allocator.revive_offers(fid(&framework), BTreeSet::new());
    assert_eq!(t.next().await, expected(&framework, "role1", &agent, &total(&agent)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hierarchical_allocator_test_update_slave_capabilities() {
    let mut t = Fixture::new().await;
    // An agent without capabilities is not offered to a MULTI_ROLE framework.
    let agent = t.slave_info("cpus:1;mem:1;disk:1");
    t.allocator.add_slave(sid(&agent), agent.clone(), Vec::new(), total(&agent), HashMap::new());
    let framework = t.framework_info(&["role1"], &[]);
    t.add_framework(&framework);
    t.expect_none().await;

    // Once it reports MULTI_ROLE, the update triggers a run for it.
    t.allocator.update_slave(sid(&agent), agent.clone(), None, Some(agent_capabilities()));
    assert_eq!(t.next().await, expected(&framework, "role1", &agent, &total(&agent)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hierarchical_allocator_test_dont_offer_old_agent_to_multi_role_framework() {
    let mut t = Fixture::new().await;
    let framework = t.framework_info(&["foo"], &[FrameworkCapability::MultiRole]);
    t.add_framework(&framework);
    let agent = t.slave_info("cpus:2;mem:1024;disk:0");
    t.allocator.add_slave(sid(&agent), agent.clone(), Vec::new(), total(&agent), HashMap::new());
    t.tick().await;
    t.expect_none().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hierarchical_allocator_test_whitelist() {
    let mut t = Fixture::new().await;
    t.allocator.update_whitelist(Some(HashSet::from(["dummy-agent".to_owned()])));
    let slave = t.slave_info("cpus:2;mem:1024");
    t.add_slave(&slave, HashMap::new());
    let framework = t.framework_info(&["*"], &[]);
    t.add_framework(&framework);
    t.tick().await;
    t.expect_none().await;

    t.allocator.update_whitelist(Some(HashSet::from(["dummy-agent".to_owned(), slave.hostname.clone()])));
    t.tick().await;
    assert_eq!(t.next().await, expected(&framework, "*", &slave, &total(&slave)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hierarchical_allocator_test_remove_filters() {
    let mut t = Fixture::new().await;
    let framework = t.framework_info(&["role"], &[]);
    t.add_framework(&framework);
    let mut agent = t.slave_info("cpus:1;mem:512;disk:0");
    t.add_slave(&agent, HashMap::new());
    let allocation = t.next().await;
    let offered = allocation.resources["role"][&sid(&agent)].clone();
    let timeout = (t.interval * 2).as_secs_f64();
    t.allocator.recover_resources(fid(&framework), sid(&agent), offered, refuse(timeout), false);
    t.tick().await;
    t.expect_none().await;

    // New attributes drop the agent's filters and trigger a run for it.
    agent.attributes = Attributes::parse("foo:bar;baz:quux").unwrap().to_vec();
    t.allocator.update_slave(sid(&agent), agent.clone(), Some(total(&agent)), Some(agent_capabilities()));
    assert_eq!(t.next().await, expected(&framework, "role", &agent, &total(&agent)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hierarchical_allocator_test_coarse_grained() {
    // Two frameworks in two roles, two equal agents: each framework gets one whole agent.
    let mut t = Fixture::new().await;
    let slave1 = t.slave_info("cpus:2;mem:1024;disk:0");
    let slave2 = t.slave_info("cpus:2;mem:1024;disk:0");
    t.allocator.pause();
    t.add_slave(&slave1, HashMap::new());
    t.add_slave(&slave2, HashMap::new());
    let framework1 = t.framework_info(&["role1"], &[]);
    let framework2 = t.framework_info(&["role2"], &[]);
    t.add_framework(&framework1);
    t.add_framework(&framework2);
    t.allocator.resume();
    t.tick().await;

    let mut got: HashMap<FrameworkId, Vec<SlaveId>> = HashMap::new();
    for _ in 0..2 {
        let allocation = t.next().await;
        for agents in allocation.resources.values() {
            got.entry(allocation.framework_id.clone()).or_default().extend(agents.keys().cloned());
        }
    }
    t.expect_none().await;
    assert_eq!(got[&fid(&framework1)].len(), 1);
    assert_eq!(got[&fid(&framework2)].len(), 1);
    assert_ne!(got[&fid(&framework1)], got[&fid(&framework2)]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn remove_framework_frees_its_resources() {
    let mut t = Fixture::new().await;
    let agent = t.slave_info("cpus:2;mem:1024");
    t.add_slave(&agent, HashMap::new());
    let framework1 = t.framework_info(&["role1"], &[]);
    t.add_framework(&framework1);
    assert_eq!(t.next().await, expected(&framework1, "role1", &agent, &total(&agent)));

    let framework2 = t.framework_info(&["role2"], &[]);
    t.add_framework(&framework2);
    t.expect_none().await;
    t.allocator.remove_framework(fid(&framework1));
    t.tick().await;
    assert_eq!(t.next().await, expected(&framework2, "role2", &agent, &total(&agent)));

    // Late recovery for the removed framework is ignored (C++: "no work to do").
    t.allocator.recover_resources(fid(&framework1), sid(&agent), allocated(&total(&agent), "role1"), None, false);
    t.tick().await;
    t.expect_none().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn remove_and_deactivate_slave_stop_offers() {
    let mut t = Fixture::new().await;
    let agent1 = t.slave_info("cpus:2;mem:1024");
    let agent2 = t.slave_info("cpus:2;mem:1024");
    // Unknown yet: refused and ignored.
    t.allocator.deactivate_slave(sid(&agent1));
    t.add_slave(&agent1, HashMap::new());
    t.allocator.deactivate_slave(sid(&agent1));
    t.settle().await;
    let framework = t.framework_info(&["role1"], &[]);
    t.add_framework(&framework);
    t.expect_none().await;
    t.add_slave(&agent2, HashMap::new());
    assert_eq!(t.next().await, expected(&framework, "role1", &agent2, &total(&agent2)));

    t.allocator.remove_slave(sid(&agent2));
    t.allocator.activate_slave(sid(&agent1));
    t.tick().await;
    assert_eq!(t.next().await, expected(&framework, "role1", &agent1, &total(&agent1)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refuse_seconds_zero_installs_no_filter_and_default_is_five_seconds() {
    let mut t = Fixture::new().await;
    let agent = t.slave_info("cpus:2;mem:1024");
    t.add_slave(&agent, HashMap::new());
    let framework = t.framework_info(&["role1"], &[]);
    t.add_framework(&framework);
    let offered = t.next().await.resources["role1"][&sid(&agent)].clone();

    t.allocator.recover_resources(fid(&framework), sid(&agent), offered.clone(), refuse(0.0), false);
    t.tick().await;
    assert_eq!(t.next().await, expected(&framework, "role1", &agent, &total(&agent)));

    // The Filters default (5 s): filtered for four runs, offered in the fifth.
    t.allocator.recover_resources(fid(&framework), sid(&agent), offered.clone(), Some(Filters::default()), false);
    for _ in 0..4 {
        t.tick().await;
        t.expect_none().await;
    }
    t.tick().await;
    assert_eq!(t.next().await, expected(&framework, "role1", &agent, &total(&agent)));

    // Negative falls back to 5 s as well.
    t.allocator.recover_resources(fid(&framework), sid(&agent), offered, refuse(-3.0), false);
    t.advance(Duration::from_secs(4)).await;
    t.expect_none().await;
    t.tick().await;
    assert_eq!(t.next().await, expected(&framework, "role1", &agent, &total(&agent)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_filter_is_defeated_by_more_resources() {
    let mut t = Fixture::new().await;
    let agent = t.slave_info("cpus:2;mem:1024");
    t.add_slave(&agent, HashMap::new());
    let framework1 = t.framework_info(&["role1"], &[]);
    let framework2 = t.framework_info(&["role1"], &[]);
    t.add_framework(&framework1);
    let offered = t.next().await.resources["role1"][&sid(&agent)].clone();

    // framework1 declines half for a long time and keeps the rest.
    let half = allocated(&Resources::parse("cpus:1;mem:512", "*").unwrap(), "role1");
    t.allocator.recover_resources(fid(&framework1), sid(&agent), half.clone(), refuse(1000.0), false);
    t.tick().await;
    t.expect_none().await;

    // Once the rest comes back the offer is larger than the refused set: not filtered.
    t.allocator.recover_resources(fid(&framework1), sid(&agent), &offered - &half, None, false);
    t.add_framework(&framework2);
    let allocation = t.next().await;
    // framework2 has the lower share and is not filtered at all.
    assert_eq!(allocation, expected(&framework2, "role1", &agent, &total(&agent)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn event_triggered_runs_are_batched() {
    let mut t = Fixture::new().await;
    let framework = t.framework_info(&["role1"], &[]);
    t.add_framework(&framework);
    let agents: Vec<SlaveInfo> = (0..3).map(|_| t.slave_info("cpus:1;mem:64")).collect();
    // Three events in a row, before the run they trigger gets to go.
    t.allocator.pid().dispatch_void(move |p, ctx| {
        for agent in agents {
            let (id, total) = (sid(&agent), total(&agent));
            p.add_slave(ctx, id, agent, agent_capabilities(), total, HashMap::new()).unwrap();
        }
    });
    // One run, one callback covering all three agents.
    let allocation = t.next().await;
    assert_eq!(allocation.resources["role1"].len(), 3);
    t.expect_none().await;

    let snapshot = t.lp.metrics().snapshot(None).await;
    assert!(snapshot.contains_key("allocator/mesos/allocation_run_ms"));
    assert!(snapshot["allocator/mesos/allocation_runs"] >= 1.0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn weights_favour_the_heavier_role() {
    let mut t = Fixture::new().await;
    let framework1 = t.framework_info(&["light"], &[]);
    let framework2 = t.framework_info(&["heavy"], &[]);
    t.add_framework(&framework1);
    t.add_framework(&framework2);
    t.allocator.update_weights(vec![WeightInfo { weight: 3.0, role: Some("heavy".into()) }]);
    t.settle().await;

    // Each already holds one agent of the same size; heavy's share counts a third, so it
    // gets the next agent.
    let a1 = t.slave_info("cpus:1;mem:512");
    let a2 = t.slave_info("cpus:1;mem:512");
    t.add_slave(&a1, HashMap::from([(fid(&framework1), allocated(&total(&a1), "light"))]));
    t.add_slave(&a2, HashMap::from([(fid(&framework2), allocated(&total(&a2), "heavy"))]));
    t.settle().await;
    let a3 = t.slave_info("cpus:1;mem:512");
    t.add_slave(&a3, HashMap::new());
    assert_eq!(t.next().await, expected(&framework2, "heavy", &a3, &total(&a3)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_calls_are_ignored() {
    let mut t = Fixture::new().await;
    let ghost = FrameworkId { value: "ghost".into() };
    let nowhere = SlaveId { value: "nowhere".into() };
    t.allocator.activate_framework(ghost.clone());
    t.allocator.deactivate_framework(ghost.clone());
    t.allocator.remove_framework(ghost.clone());
    t.allocator.suppress_offers(ghost.clone(), BTreeSet::new());
    t.allocator.revive_offers(ghost.clone(), BTreeSet::new());
    t.allocator.remove_slave(nowhere.clone());
    t.allocator.activate_slave(nowhere.clone());
    t.allocator.update_weights(vec![WeightInfo { weight: 2.0, role: None }]);

    let agent = t.slave_info("cpus:2;mem:1024");
    t.add_slave(&agent, HashMap::new());
    t.add_slave(&agent, HashMap::new()); // twice
    let framework = t.framework_info(&["role1"], &[]);
    t.add_framework(&framework);
    t.add_framework(&framework); // twice
                                 // A role the framework is not in.
    t.allocator.suppress_offers(fid(&framework), roles(&["other"]));
    let allocation = t.next().await;
    assert_eq!(allocation, expected(&framework, "role1", &agent, &total(&agent)));

    // Recovering more than was offered is refused and changes nothing.
    let too_much = allocated(&Resources::parse("cpus:3;mem:1024", "*").unwrap(), "role1");
    t.allocator.recover_resources(fid(&framework), sid(&agent), too_much, None, false);
    t.tick().await;
    t.expect_none().await;
    assert!(t.allocator.pid().is_alive());
}
