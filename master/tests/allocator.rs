//! The hierarchical DRF allocator actor on a paused clock: `HierarchicalAllocatorTest` cases (quota and metrics ones included) from `src/tests/hierarchical_allocator_tests.cpp` ported by name, plus batching, refuse_seconds edge cases and refused calls.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::sync::mpsc;
use std::time::Duration;

use libprocess::{Config, Libprocess};
use master::allocator::{parse_min_allocatable_resources, Allocator, Options, DEFAULT_MIN_ALLOCATABLE_RESOURCES};
use master::constants::DEFAULT_QUOTA;
use master::quota::Quota;
use master::resource_quantities::{ResourceLimits, ResourceQuantities};
use mesos::attributes::Attributes;
use mesos::proto::framework_info::capability::Type as FrameworkCapability;
use mesos::proto::resource::disk_info::source::Type as SourceType;
use mesos::proto::resource::{disk_info, reservation_info, DiskInfo, ReservationInfo};
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
        Fixture::with_options(|options| options.allocation_interval = interval).await
    }

    /// The C++ fixture's options (default interval, `MIN_CPUS`/`MIN_MEM` minimum, a fixed
    /// shuffle seed), changed by `change`.
    async fn with_options(change: impl FnOnce(&mut Options)) -> Fixture {
        let config = Config { ip: Some(std::net::Ipv4Addr::LOCALHOST), ..Config::default() };
        let lp = Libprocess::initialize(config).await.expect("libprocess starts");
        lp.clock().pause();
        let allocator = Allocator::create(&lp).expect("allocator spawns");
        let (tx, allocations) = mpsc::channel();
        let mut options = Options {
            min_allocatable_resources: Some(
                parse_min_allocatable_resources(DEFAULT_MIN_ALLOCATABLE_RESOURCES).unwrap(),
            ),
            shuffle_seed: Some(42),
            ..Options::default()
        };
        change(&mut options);
        let interval = options.allocation_interval;
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

    /// The instance's metrics (C++ `Metrics()`), after settling.
    async fn metrics(&self) -> BTreeMap<String, f64> {
        self.settle().await;
        self.lp.metrics().snapshot(None).await
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

/// C++ works out what an agent has available anew at every recovery (`updateAvailable`):
/// after its total shrinks below what is allocated, resources handed back first fill the
/// shortfall, and only what exceeds it is offered again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recovery_on_a_shrunk_agent_offers_only_what_the_new_total_leaves() {
    let mut t = Fixture::new().await;
    let agent = t.slave_info("cpus:4;mem:1024");
    t.add_slave(&agent, HashMap::new());
    let framework = t.framework_info(&["role1"], &[]);
    t.add_framework(&framework);
    let offered = t.next().await.resources["role1"][&sid(&agent)].clone();
    assert_eq!(offered, allocated(&total(&agent), "role1"));

    // The agent now has 2 cpus, while all 4 are offered.
    t.allocator.update_slave(sid(&agent), agent.clone(), Some(res("cpus:2;mem:1024")), None);
    t.tick().await;
    t.expect_none().await;

    // Two cpus come back: with 4 held on a total of 2, nothing is available yet.
    t.allocator.recover_resources(fid(&framework), sid(&agent), allocated(&res("cpus:2"), "role1"), None, false);
    t.tick().await;
    t.expect_none().await;

    // The rest comes back: the whole new total is offered; handed back once more, it is
    // offered again, as it is.
    let new_total = res("cpus:2;mem:1024");
    for _ in 0..2 {
        t.allocator.recover_resources(fid(&framework), sid(&agent), allocated(&new_total, "role1"), None, false);
        t.tick().await;
        assert_eq!(t.next().await, expected(&framework, "role1", &agent, &new_total));
    }
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

// ----- quota (C++ `createQuota`, `HierarchicalAllocatorTest.Quota*`) -----

/// C++ `createQuota(guarantees, limits)`.
fn quota(guarantees: &str, limits: &str) -> Quota {
    Quota { guarantees: ResourceQuantities::parse(guarantees).unwrap(), limits: ResourceLimits::parse(limits).unwrap() }
}

/// C++ `createQuota(resources)`: the same quantities guaranteed and as the limit.
fn create_quota(resources: &str) -> Quota {
    quota(resources, resources)
}

fn res(text: &str) -> Resources {
    Resources::parse(text, "*").unwrap()
}

/// A `disk` resource of `mb` with a `MOUNT` source (C++ `createDiskResource(...,
/// createDiskSourceMount())`): it cannot be cut into smaller pieces.
fn mount_disk(mb: u64) -> Resources {
    let mut disk = res(&format!("disk:{mb}")).to_vec().remove(0);
    disk.disk = Some(Box::new(DiskInfo {
        persistence: None,
        volume: None,
        source: Some(disk_info::Source { r#type: SourceType::Mount as i32, ..Default::default() }),
    }));
    Resources::from(disk)
}

/// The sum of one allocation's resources in `role` over all agents.
fn sum_in_role(allocation: &Allocation, role: &str) -> Resources {
    let mut sum = Resources::new();
    for resources in allocation.resources[role].values() {
        sum += resources;
    }
    sum
}

const QUOTA_ROLE: &str = "quota-role";
const NO_QUOTA_ROLE: &str = "no-quota-role";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hierarchical_allocator_test_quota_provides_guarantee() {
    let mut t = Fixture::new().await;
    let framework1 = t.framework_info(&[QUOTA_ROLE], &[]);
    t.add_framework(&framework1);
    t.allocator.update_quota(QUOTA_ROLE, create_quota("cpus:2;mem:1024"));
    let framework2 = t.framework_info(&[NO_QUOTA_ROLE], &[]);
    t.add_framework(&framework2);
    t.expect_none().await;

    // framework1 is the only framework in the only role with unsatisfied quota.
    let agent1 = t.slave_info("cpus:1;mem:512;disk:0");
    t.add_slave(&agent1, HashMap::new());
    assert_eq!(t.next().await, expected(&framework1, QUOTA_ROLE, &agent1, &total(&agent1)));
    let agent2 = t.slave_info("cpus:1;mem:512;disk:0");
    t.add_slave(&agent2, HashMap::new());
    let allocation = t.next().await;
    assert_eq!(allocation, expected(&framework1, QUOTA_ROLE, &agent2, &total(&agent2)));

    // framework1 declines agent2 for two intervals: framework2 must not get it, or it might
    // not be there for framework1 when the filter expires.
    let timeout = t.interval * 2;
    let offered = allocation.resources[QUOTA_ROLE][&sid(&agent2)].clone();
    t.allocator.recover_resources(fid(&framework1), sid(&agent2), offered, refuse(timeout.as_secs_f64()), false);
    t.tick().await;
    t.expect_none().await;

    // Once the filter expired the quota role gets it back.
    t.tick().await;
    assert_eq!(t.next().await, expected(&framework1, QUOTA_ROLE, &agent2, &total(&agent2)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hierarchical_allocator_test_quota_provides_limit() {
    // Quota on `*` (a regression test for MESOS-3938).
    let mut t = Fixture::new().await;
    let framework1 = t.framework_info(&["*"], &[]);
    t.add_framework(&framework1);
    t.allocator.update_quota("*", quota("", "cpus:0;mem:0;disk:0"));

    // A zero limit: nothing for `*`.
    let agent1 = t.slave_info("cpus:2;mem:1024;disk:1024");
    t.add_slave(&agent1, HashMap::new());
    t.expect_none().await;

    let framework2 = t.framework_info(&[NO_QUOTA_ROLE], &[]);
    t.add_framework(&framework2);
    assert_eq!(t.next().await, expected(&framework2, NO_QUOTA_ROLE, &agent1, &total(&agent1)));

    // With a limit of half an agent, the next agent is chopped in two.
    t.allocator.update_quota("*", quota("", "cpus:1;mem:512;disk:512"));
    let agent2 = t.slave_info("cpus:2;mem:1024;disk:1024");
    t.add_slave(&agent2, HashMap::new());
    let half = res("cpus:1;mem:512;disk:512");
    let mut got = vec![t.next().await, t.next().await];
    got.sort_by(|a, b| a.framework_id.value.cmp(&b.framework_id.value));
    assert_eq!(got, [expected(&framework1, "*", &agent2, &half), expected(&framework2, NO_QUOTA_ROLE, &agent2, &half)]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hierarchical_allocator_test_remove_quota() {
    let mut t = Fixture::new().await;
    t.allocator.update_quota(QUOTA_ROLE, create_quota("cpus:2;mem:1024"));
    let framework1 = t.framework_info(&[QUOTA_ROLE], &[]);
    t.add_framework(&framework1);
    let framework2 = t.framework_info(&[NO_QUOTA_ROLE], &[]);
    t.add_framework(&framework2);

    // framework1 uses the whole cluster as its quota.
    let agent1 = t.slave_info("cpus:1;mem:512;disk:0");
    t.add_slave(&agent1, HashMap::from([(fid(&framework1), allocated(&total(&agent1), QUOTA_ROLE))]));
    let agent2 = t.slave_info("cpus:1;mem:512;disk:0");
    t.add_slave(&agent2, HashMap::from([(fid(&framework1), allocated(&total(&agent2), QUOTA_ROLE))]));

    // Without quota, what framework1 releases goes to framework2 for fairness.
    t.allocator.update_quota(QUOTA_ROLE, DEFAULT_QUOTA);
    t.expect_none().await;
    t.allocator.recover_resources(fid(&framework1), sid(&agent1), allocated(&total(&agent1), QUOTA_ROLE), None, false);
    t.tick().await;
    assert_eq!(t.next().await, expected(&framework2, NO_QUOTA_ROLE, &agent1, &total(&agent1)));

    let metrics = t.metrics().await;
    for name in ["cpus", "mem"] {
        let metric = format!("allocator/mesos/quota/roles/{QUOTA_ROLE}/resources/{name}/offered_or_allocated");
        assert!(!metrics.contains_key(&metric), "{metric}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hierarchical_allocator_test_multiple_frameworks_in_role_with_quota() {
    let mut t = Fixture::new().await;
    let framework1a = t.framework_info(&[QUOTA_ROLE], &[]);
    t.add_framework(&framework1a);
    t.allocator.update_quota(QUOTA_ROLE, create_quota("cpus:4;mem:2048"));
    let framework2 = t.framework_info(&[NO_QUOTA_ROLE], &[]);
    t.add_framework(&framework2);
    t.expect_none().await;

    let agent1 = t.slave_info("cpus:1;mem:512;disk:0");
    t.add_slave(&agent1, HashMap::new());
    assert_eq!(t.next().await, expected(&framework1a, QUOTA_ROLE, &agent1, &total(&agent1)));

    // framework1b has share 0 in the role with unsatisfied quota: all of agent2.
    let framework1b = t.framework_info(&[QUOTA_ROLE], &[]);
    t.add_framework(&framework1b);
    let agent2 = t.slave_info("cpus:2;mem:1024;disk:0");
    t.add_slave(&agent2, HashMap::new());
    assert_eq!(t.next().await, expected(&framework1b, QUOTA_ROLE, &agent2, &total(&agent2)));

    // framework1a (share 1/3) before framework1b (2/3).
    let agent3 = t.slave_info("cpus:1;mem:512;disk:0");
    t.add_slave(&agent3, HashMap::new());
    assert_eq!(t.next().await, expected(&framework1a, QUOTA_ROLE, &agent3, &total(&agent3)));

    // What framework1a declines goes to framework1b, in the same role.
    t.allocator.recover_resources(
        fid(&framework1a),
        sid(&agent3),
        allocated(&total(&agent3), QUOTA_ROLE),
        refuse(5.0),
        false,
    );
    t.tick().await;
    assert_eq!(t.next().await, expected(&framework1b, QUOTA_ROLE, &agent3, &total(&agent3)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hierarchical_allocator_test_quota_allocation_granularity() {
    let mut t = Fixture::new().await;
    let framework1 = t.framework_info(&[QUOTA_ROLE], &[]);
    t.add_framework(&framework1);
    t.allocator.update_quota(QUOTA_ROLE, create_quota("cpus:0.5;mem:200"));

    // Exactly the quota, though the agent has more.
    let agent = t.slave_info("cpus:1;mem:512;disk:0");
    t.add_slave(&agent, HashMap::new());
    assert_eq!(t.next().await, expected(&framework1, QUOTA_ROLE, &agent, &res("cpus:0.5;mem:200")));

    // The rest goes to the non-quota role.
    let framework2 = t.framework_info(&[NO_QUOTA_ROLE], &[]);
    t.add_framework(&framework2);
    assert_eq!(
        t.next().await,
        expected(&framework2, NO_QUOTA_ROLE, &agent, &(&total(&agent) - &res("cpus:0.5;mem:200")))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hierarchical_allocator_test_quota_allocation_granularity_unchoppable_resource() {
    let mut t = Fixture::new().await;
    t.allocator.update_quota(QUOTA_ROLE, create_quota("cpus:2;mem:2048;disk:150"));
    let agent_resources = &res("cpus:0.5;mem:512") + &mount_disk(100);
    let agent1 = SlaveInfo { resources: agent_resources.to_vec(), ..t.slave_info("cpus:1") };
    t.add_slave(&agent1, HashMap::new());
    let framework = t.framework_info(&[QUOTA_ROLE], &[]);
    t.add_framework(&framework);
    assert_eq!(t.next().await, expected(&framework, QUOTA_ROLE, &agent1, &total(&agent1)));

    // 50 disk of the guarantee is left, and a 100 MOUNT disk cannot be cut to it.
    let agent2 = SlaveInfo { resources: agent_resources.to_vec(), ..t.slave_info("cpus:1") };
    t.add_slave(&agent2, HashMap::new());
    assert_eq!(t.next().await, expected(&framework, QUOTA_ROLE, &agent2, &(&total(&agent2) - &mount_disk(100))));

    // A plain disk can be cut: exactly what is left of the quota.
    let agent3 = t.slave_info("cpus:2;mem:2048;disk:150");
    t.add_slave(&agent3, HashMap::new());
    assert_eq!(t.next().await, expected(&framework, QUOTA_ROLE, &agent3, &res("cpus:1;mem:1024;disk:50")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hierarchical_allocator_test_quota_allocation_multiple_disk() {
    // A regression test for MESOS-9692: both disks make up the quota, in one offer.
    let mut t = Fixture::new().await;
    t.allocator.update_quota(QUOTA_ROLE, create_quota("cpus:1;mem:512;disk:100"));
    let agent_resources = &res("cpus:1;mem:512;disk:50") + &mount_disk(50);
    let agent1 = SlaveInfo { resources: agent_resources.to_vec(), ..t.slave_info("cpus:1") };
    t.add_slave(&agent1, HashMap::new());
    let framework = t.framework_info(&[QUOTA_ROLE], &[]);
    t.add_framework(&framework);
    assert_eq!(t.next().await, expected(&framework, QUOTA_ROLE, &agent1, &total(&agent1)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hierarchical_allocator_test_quota_role_allocate_non_quota_resource() {
    let mut t = Fixture::new().await;
    let quota1 = create_quota("cpus:2");
    t.allocator.update_quota("quota-role-1", quota1.clone());
    let agent1 = t.slave_info("cpus:1;mem:1024;ports:[31000-32000]");
    t.add_slave(&agent1, HashMap::new());
    let framework = t.framework_info(&["quota-role-1"], &[]);
    t.add_framework(&framework);
    // Memory and ports come along: no other role needs them held back.
    assert_eq!(t.next().await, expected(&framework, "quota-role-1", &agent1, &total(&agent1)));

    // Now memory is held back for quota-role-2's guarantee.
    t.allocator.update_quota("quota-role-2", create_quota("mem:1024"));
    let agent2 = t.slave_info("cpus:1;mem:1024;ports:[31000-32000]");
    t.add_slave(&agent2, HashMap::new());
    assert_eq!(t.next().await, expected(&framework, "quota-role-1", &agent2, &(&total(&agent2) - &res("mem:1024"))));

    // quota-role-1 reached its limit on cpus; it gets what it has no limit for.
    let agent3 = t.slave_info("cpus:1;mem:1024;ports:[31000-32000]");
    t.add_slave(&agent3, HashMap::new());
    let non_quota = total(&agent3).filter(|r| quota1.guarantees.get(&r.name).value == 0.0);
    assert_eq!(t.next().await, expected(&framework, "quota-role-1", &agent3, &non_quota));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hierarchical_allocator_test_drf_with_quota() {
    let mut t = Fixture::new().await;
    let quota_resources = "cpus:0.25;mem:128";
    t.allocator.update_quota(QUOTA_ROLE, create_quota(quota_resources));
    let framework1 = t.framework_info(&[QUOTA_ROLE], &[]);
    t.add_framework(&framework1);
    let framework2 = t.framework_info(&[NO_QUOTA_ROLE], &[]);
    t.add_framework(&framework2);
    t.expect_none().await;

    let metrics = t.metrics().await;
    let metric = |name: &str, kind: &str| format!("allocator/mesos/quota/roles/{QUOTA_ROLE}/resources/{name}/{kind}");
    assert_eq!(metrics[&metric("cpus", "guarantee")], 0.25);
    assert_eq!(metrics[&metric("cpus", "limit")], 0.25);
    assert_eq!(metrics[&metric("mem", "guarantee")], 128.0);
    assert_eq!(metrics[&metric("mem", "limit")], 128.0);

    // framework1 already uses its quota: the rest of agent1 goes to framework2 (share 0).
    let agent1 = t.slave_info("cpus:1;mem:512;disk:0");
    t.add_slave(&agent1, HashMap::from([(fid(&framework1), allocated(&res(quota_resources), QUOTA_ROLE))]));
    assert_eq!(
        t.next().await,
        expected(&framework2, NO_QUOTA_ROLE, &agent1, &(&total(&agent1) - &res(quota_resources)))
    );

    let metrics = t.metrics().await;
    assert_eq!(metrics[&metric("cpus", "offered_or_allocated")], 0.25);
    assert_eq!(metrics[&metric("mem", "offered_or_allocated")], 128.0);
    assert!(!metrics.contains_key(&metric("disk", "offered_or_allocated")));

    // framework1 has the smaller allocation, but its quota is met: framework2 gets agent2.
    let agent2 = t.slave_info("cpus:1;mem:512;disk:0");
    t.add_slave(&agent2, HashMap::new());
    assert_eq!(t.next().await, expected(&framework2, NO_QUOTA_ROLE, &agent2, &total(&agent2)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hierarchical_allocator_test_quota_against_starvation() {
    let mut t = Fixture::new().await;
    let framework1 = t.framework_info(&[QUOTA_ROLE], &[]);
    t.add_framework(&framework1);
    let framework2 = t.framework_info(&[NO_QUOTA_ROLE], &[]);
    t.add_framework(&framework2);
    let agent1 = t.slave_info("cpus:1;mem:512;disk:0");
    t.add_slave(&agent1, HashMap::from([(fid(&framework1), allocated(&total(&agent1), QUOTA_ROLE))]));
    let agent2 = t.slave_info("cpus:1;mem:512;disk:0");
    t.add_slave(&agent2, HashMap::new());
    assert_eq!(t.next().await, expected(&framework2, NO_QUOTA_ROLE, &agent2, &total(&agent2)));

    // framework2 keeps declining with no filter and keeps getting agent2 back (share 0).
    let offered = allocated(&total(&agent2), NO_QUOTA_ROLE);
    t.allocator.recover_resources(fid(&framework2), sid(&agent2), offered.clone(), refuse(0.0), false);
    t.tick().await;
    assert_eq!(t.next().await, expected(&framework2, NO_QUOTA_ROLE, &agent2, &total(&agent2)));
    t.allocator.recover_resources(fid(&framework2), sid(&agent2), offered, refuse(0.0), false);

    // Quota for the starving role ends the circulation.
    t.allocator.update_quota(QUOTA_ROLE, create_quota("cpus:2;mem:1024"));
    t.tick().await;
    assert_eq!(t.next().await, expected(&framework1, QUOTA_ROLE, &agent2, &total(&agent2)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hierarchical_allocator_test_quota_absent_framework_whole_agent() {
    let mut t = Fixture::new().await;
    // Quota for a role without frameworks.
    t.allocator.update_quota(QUOTA_ROLE, create_quota("cpus:2;mem:1024"));
    let framework = t.framework_info(&[NO_QUOTA_ROLE], &[]);
    t.add_framework(&framework);
    t.expect_none().await;

    // The first agent is set aside for the guarantee.
    let agent1 = t.slave_info("cpus:2;mem:1024");
    t.add_slave(&agent1, HashMap::new());
    t.expect_none().await;

    // Of two identical agents, one is offered and the other set aside.
    let agent2 = t.slave_info("cpus:2;mem:1024");
    t.add_slave(&agent2, HashMap::new());
    let allocation = t.next().await;
    assert_eq!(allocation.framework_id, fid(&framework));
    assert_eq!(allocation.resources.len(), 1);
    assert_eq!(sum_in_role(&allocation, NO_QUOTA_ROLE), allocated(&res("cpus:2;mem:1024"), NO_QUOTA_ROLE));
    t.expect_none().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hierarchical_allocator_test_multi_quota_absent_frameworks() {
    let mut t = Fixture::new().await;
    let agent = t.slave_info("cpus:2;mem:2048;disk:0");
    t.add_slave(&agent, HashMap::new());
    t.allocator.update_quota("quota-role-1", create_quota("cpus:1;mem:1024"));
    t.allocator.update_quota("quota-role-2", create_quota("cpus:2;mem:2048"));

    // quota-role-1 has no frameworks: nothing is held back from quota-role-2 for it.
    let framework = t.framework_info(&["quota-role-2"], &[]);
    t.add_framework(&framework);
    assert_eq!(t.next().await, expected(&framework, "quota-role-2", &agent, &total(&agent)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hierarchical_allocator_test_multi_quota_with_frameworks() {
    let mut t = Fixture::new().await;
    t.allocator.update_quota("quota-role-1", create_quota("cpus:1;mem:200"));
    t.allocator.update_quota("quota-role-2", create_quota("cpus:2;mem:2000"));
    let framework1 = t.framework_info(&["quota-role-1"], &[]);
    t.add_framework(&framework1);
    let framework2 = t.framework_info(&["quota-role-2"], &[]);
    t.add_framework(&framework2);
    t.expect_none().await;

    let agent1 = t.slave_info("cpus:1;mem:1024;disk:0");
    t.add_slave(&agent1, HashMap::from([(fid(&framework1), allocated(&total(&agent1), "quota-role-1"))]));
    let agent2 = t.slave_info("cpus:1;mem:1024;disk:0");
    t.add_slave(&agent2, HashMap::from([(fid(&framework2), allocated(&total(&agent2), "quota-role-2"))]));

    // quota-role-1 is satisfied; quota-role-2 gets what it still lacks from agent3.
    let agent3 = t.slave_info("cpus:2;mem:2048");
    t.add_slave(&agent3, HashMap::new());
    assert_eq!(
        t.next().await,
        expected(&framework2, "quota-role-2", &agent3, &(&res("cpus:2;mem:2000") - &total(&agent2)))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hierarchical_allocator_test_reservation_within_quota() {
    let mut t = Fixture::new().await;
    t.allocator.update_quota(QUOTA_ROLE, create_quota("cpus:2;mem:256"));
    let framework1 = t.framework_info(&[QUOTA_ROLE], &[]);
    t.add_framework(&framework1);
    let framework2 = t.framework_info(&["non-quota-role"], &[]);
    t.add_framework(&framework2);
    t.expect_none().await;

    // The reserved memory counts toward framework1's quota and share.
    let agent1 = t.slave_info(&format!("cpus:8;mem({QUOTA_ROLE}):256"));
    let used = allocated(&res(&format!("cpus:2;mem({QUOTA_ROLE}):256")), QUOTA_ROLE);
    t.add_slave(&agent1, HashMap::from([(fid(&framework1), used)]));
    assert_eq!(t.next().await, expected(&framework2, "non-quota-role", &agent1, &res("cpus:6")));

    let agent2 = t.slave_info("cpus:4");
    t.add_slave(&agent2, HashMap::new());
    assert_eq!(t.next().await, expected(&framework2, "non-quota-role", &agent2, &total(&agent2)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hierarchical_allocator_test_quota_set_aside_reserved_resources() {
    // 8 cpus; quota-role has quota for 4, no-quota-role has 4 reserved. The 4 unreserved
    // cpus must not be offered to no-quota-role.
    let mut t = Fixture::new().await;
    let agent1 = t.slave_info("cpus:4;mem:512;disk:0");
    t.add_slave(&agent1, HashMap::new());
    let agent2 = t.slave_info("cpus:4;mem:512;disk:0");
    t.add_slave(&agent2, HashMap::new());

    // C++ reserves agent2's resources with `updateAvailable`, which updates the agent's total;
    // here the same total comes through `update_slave`.
    let reserved = res("cpus:4;mem:512").push_reservation(&dynamic_reservation(NO_QUOTA_ROLE, "ops")).unwrap();
    t.allocator.update_slave(sid(&agent2), agent2.clone(), Some(reserved.clone()), None);

    let framework1 = t.framework_info(&[QUOTA_ROLE], &[]);
    t.add_framework(&framework1);
    // The run `add_framework` triggers is queued behind this call, so it sees the quota.
    t.allocator.update_quota(QUOTA_ROLE, create_quota("cpus:4;mem:512"));
    assert_eq!(t.next().await, expected(&framework1, QUOTA_ROLE, &agent1, &res("cpus:4;mem:512")));

    let long = refuse((t.interval * 10).as_secs_f64());
    t.allocator.recover_resources(
        fid(&framework1),
        sid(&agent1),
        allocated(&res("cpus:4;mem:512"), QUOTA_ROLE),
        long,
        false,
    );
    t.tick().await;
    t.expect_none().await;

    // no-quota-role gets its reservation ...
    let framework2 = t.framework_info(&[NO_QUOTA_ROLE], &[]);
    t.add_framework(&framework2);
    assert_eq!(t.next().await, expected(&framework2, NO_QUOTA_ROLE, &agent2, &reserved));

    // ... and, once it declined that too, not agent1's resources held back for the quota.
    t.allocator.recover_resources(fid(&framework2), sid(&agent2), allocated(&reserved, NO_QUOTA_ROLE), long, false);
    t.tick().await;
    t.expect_none().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hierarchical_allocator_test_disproportionate_quota_vs_allocation() {
    let mut t = Fixture::new().await;
    t.allocator.update_quota(QUOTA_ROLE, create_quota("cpus:4;mem:1024"));
    let framework = t.framework_info(&[QUOTA_ROLE], &[]);
    t.add_framework(&framework);

    // The first agent meets the memory guarantee and half the cpus.
    let agent1 = t.slave_info("cpus:2;mem:1024");
    t.add_slave(&agent1, HashMap::new());
    assert_eq!(t.next().await, expected(&framework, QUOTA_ROLE, &agent1, &total(&agent1)));

    // From the second only the cpus still guaranteed.
    let agent2 = t.slave_info("cpus:2;mem:1024");
    t.add_slave(&agent2, HashMap::new());
    assert_eq!(t.next().await, expected(&framework, QUOTA_ROLE, &agent2, &(&res("cpus:4;mem:1024") - &total(&agent1))));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hierarchical_allocator_test_quota_with_ancestor_reservations() {
    let mut t = Fixture::new().await;
    t.allocator.update_quota(QUOTA_ROLE, create_quota("cpus:1;mem:1024"));
    // Reserved for the parent role `a`, offered to its child `a/b`.
    let agent1 = t.slave_info("cpus(a):1;mem(a):1024");
    t.add_slave(&agent1, HashMap::new());
    let framework1 = t.framework_info(&["a/b"], &[]);
    t.add_framework(&framework1);
    assert_eq!(t.next().await, expected(&framework1, "a/b", &agent1, &total(&agent1)));

    let framework2 = t.framework_info(&[NO_QUOTA_ROLE], &[]);
    t.add_framework(&framework2);
    t.expect_none().await;

    // Available headroom (cpus:2;mem:2048) minus required (cpus:1;mem:1024) leaves one of
    // the two identical agents for framework2.
    let agent2 = t.slave_info("cpus:1;mem:1024");
    t.add_slave(&agent2, HashMap::new());
    let agent3 = t.slave_info("cpus:1;mem:1024");
    t.add_slave(&agent3, HashMap::new());
    let allocation = t.next().await;
    assert_eq!(allocation.framework_id, fid(&framework2));
    assert_eq!(allocation.resources.len(), 1);
    assert_eq!(sum_in_role(&allocation, NO_QUOTA_ROLE), allocated(&res("cpus:1;mem:1024"), NO_QUOTA_ROLE));
    t.expect_none().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hierarchical_allocator_test_quota_with_nested_role_reservation() {
    // A subrole's reservation counts toward the parent's consumed quota (MESOS-9688).
    let mut t = Fixture::new().await;
    t.allocator.update_quota("a", create_quota("cpus:2;mem:200"));
    let agent1 = t.slave_info("cpus(a/b):1;mem(a/b):100");
    t.add_slave(&agent1, HashMap::new());
    let agent2 = t.slave_info("cpus:10;mem:1000");
    t.add_slave(&agent2, HashMap::new());
    let framework1 = t.framework_info(&["a"], &[]);
    t.add_framework(&framework1);
    assert_eq!(t.next().await, expected(&framework1, "a", &agent2, &res("cpus:1;mem:100")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hierarchical_allocator_test_quota_with_nested_role_allocation() {
    let mut t = Fixture::new().await;
    let framework1 = t.framework_info(&["a/b"], &[]);
    t.add_framework(&framework1);
    let agent1 = t.slave_info("cpus:1;mem:1024");
    t.add_slave(&agent1, HashMap::new());
    assert_eq!(t.next().await, expected(&framework1, "a/b", &agent1, &total(&agent1)));
    t.allocator.update_quota("a", create_quota("cpus:1;mem:1024"));

    // `a` reached its limit through `a/b`; subroles are not held to the parent's quota, so
    // `a/b` gets agent2 although `a` and framework2 have lower shares.
    let framework2 = t.framework_info(&["a"], &[]);
    t.add_framework(&framework2);
    let agent2 = t.slave_info("cpus:1;mem:1024");
    t.add_slave(&agent2, HashMap::new());
    assert_eq!(t.next().await, expected(&framework1, "a/b", &agent2, &total(&agent2)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hierarchical_allocator_test_quota_headroom_with_nested_role_allocation() {
    let mut t = Fixture::new().await;
    let framework1 = t.framework_info(&["a/b"], &[]);
    t.add_framework(&framework1);
    let agent1 = t.slave_info("cpus:1;mem:100");
    t.add_slave(&agent1, HashMap::new());
    assert_eq!(t.next().await, expected(&framework1, "a/b", &agent1, &total(&agent1)));
    let framework2 = t.framework_info(&["a"], &[]);
    t.add_framework(&framework2);
    let agent2 = t.slave_info("cpus:1;mem:100");
    t.add_slave(&agent2, HashMap::new());
    assert_eq!(t.next().await, expected(&framework2, "a", &agent2, &total(&agent2)));

    // agent3 is held back for quota-role, which has no framework.
    t.allocator.update_quota(QUOTA_ROLE, create_quota("cpus:1;mem:100"));
    let agent3 = t.slave_info("cpus:1;mem:100");
    t.add_slave(&agent3, HashMap::new());
    t.expect_none().await;

    // With agent4 there is enough headroom: exactly one of the two is offered.
    let agent4 = t.slave_info("cpus:1;mem:100");
    t.add_slave(&agent4, HashMap::new());
    let allocation = t.next().await;
    assert!(allocation.framework_id == fid(&framework1) || allocation.framework_id == fid(&framework2));
    t.expect_none().await;
}

/// C++ `createDynamicReservationInfo`.
fn dynamic_reservation(role: &str, principal: &str) -> ReservationInfo {
    ReservationInfo {
        r#type: Some(reservation_info::Type::Dynamic as i32),
        role: Some(role.to_owned()),
        principal: Some(principal.to_owned()),
        labels: None,
    }
}

fn static_reservation(role: &str) -> ReservationInfo {
    ReservationInfo {
        r#type: Some(reservation_info::Type::Static as i32),
        role: Some(role.to_owned()),
        principal: None,
        labels: None,
    }
}

/// `HierarchicalAllocatorTestWithReservations` runs with both kinds of reservation.
fn both_reservations(role: &str) -> [ReservationInfo; 2] {
    [dynamic_reservation(role, "principal"), static_reservation(role)]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hierarchical_allocator_test_with_reservations_reservation_unallocated() {
    for reservation in both_reservations(QUOTA_ROLE) {
        let mut t = Fixture::new().await;
        let reserved = res("cpus:1;mem:1024").push_reservation(&reservation).unwrap();
        let agent1 = SlaveInfo { resources: reserved.to_vec(), ..t.slave_info("cpus:1") };
        t.add_slave(&agent1, HashMap::new());
        t.allocator.update_quota(QUOTA_ROLE, create_quota("cpus:1;mem:1024"));
        let framework1 = t.framework_info(&[QUOTA_ROLE], &[]);
        t.add_framework(&framework1);
        assert_eq!(t.next().await, expected(&framework1, QUOTA_ROLE, &agent1, &reserved));

        // Declined for a day, the reservation still counts toward the quota (and its limit).
        t.allocator.recover_resources(
            fid(&framework1),
            sid(&agent1),
            allocated(&reserved, QUOTA_ROLE),
            refuse(86400.0),
            false,
        );
        let agent2 = t.slave_info("cpus:1;mem:1024");
        t.add_slave(&agent2, HashMap::new());
        t.expect_none().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hierarchical_allocator_test_with_reservations_reservation_allocated() {
    for reservation in both_reservations(QUOTA_ROLE) {
        let mut t = Fixture::new().await;
        let reserved = res("cpus:1;mem:1024").push_reservation(&reservation).unwrap();
        let agent1 = SlaveInfo { resources: reserved.to_vec(), ..t.slave_info("cpus:1") };
        t.add_slave(&agent1, HashMap::new());
        t.allocator.update_quota(QUOTA_ROLE, create_quota("cpus:2;mem:2048"));
        let framework1 = t.framework_info(&[QUOTA_ROLE], &[]);
        t.add_framework(&framework1);
        assert_eq!(t.next().await, expected(&framework1, QUOTA_ROLE, &agent1, &reserved));

        let agent2 = t.slave_info("cpus:1;mem:1024");
        t.add_slave(&agent2, HashMap::new());
        assert_eq!(t.next().await, expected(&framework1, QUOTA_ROLE, &agent2, &total(&agent2)));

        // The quota is met, partly by the allocated reservation.
        let agent3 = t.slave_info("cpus:1;mem:1024");
        t.add_slave(&agent3, HashMap::new());
        t.expect_none().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hierarchical_allocator_test_with_reservations_non_quota_role_reservation_with_quota_role() {
    // A non-quota role gets its reservation next to a role with unsatisfied quota (MESOS-8293).
    for reservation in both_reservations("non-quota-role") {
        let mut t = Fixture::new().await;
        let unreserved = res("cpus:2;mem:2048");
        let reserved = unreserved.push_reservation(&reservation).unwrap();
        let agent1 = SlaveInfo { resources: (&unreserved + &reserved).to_vec(), ..t.slave_info("cpus:1") };
        t.add_slave(&agent1, HashMap::new());
        t.allocator.update_quota(QUOTA_ROLE, create_quota("cpus:2;mem:2048"));
        let framework1 = t.framework_info(&[QUOTA_ROLE], &[]);
        t.add_framework(&framework1);
        assert_eq!(t.next().await, expected(&framework1, QUOTA_ROLE, &agent1, &unreserved));
        t.allocator.recover_resources(
            fid(&framework1),
            sid(&agent1),
            allocated(&unreserved, QUOTA_ROLE),
            refuse(86400.0),
            false,
        );

        let framework2 = t.framework_info(&["non-quota-role"], &[]);
        t.add_framework(&framework2);
        assert_eq!(t.next().await, expected(&framework2, "non-quota-role", &agent1, &reserved));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hierarchical_allocator_test_with_reservations_shared_allocated_resource_quota_accounting() {
    // A shared volume offered twice counts once against the quota limit.
    for reservation in both_reservations(QUOTA_ROLE) {
        let mut t = Fixture::new().await;
        t.allocator.update_quota(QUOTA_ROLE, create_quota("cpus:3;mem:2048;disk:100"));
        let reserved = res("cpus:2;mem:1024;disk:50").push_reservation(&reservation).unwrap();
        let agent1 = SlaveInfo { resources: reserved.to_vec(), ..t.slave_info("cpus:1") };
        t.add_slave(&agent1, HashMap::new());
        let framework = t.framework_info(&[QUOTA_ROLE], &[FrameworkCapability::SharedResources]);
        t.add_framework(&framework);
        let allocation = t.next().await;
        assert_eq!(allocation, expected(&framework, QUOTA_ROLE, &agent1, &reserved));

        // CREATE a shared volume from the reserved disk.
        let disk = res("disk:50").push_reservation(&reservation).unwrap();
        let mut volume = disk.to_vec().remove(0);
        volume.disk = Some(Box::new(DiskInfo {
            persistence: Some(disk_info::Persistence { id: "id1".into(), principal: None }),
            volume: None,
            source: None,
        }));
        volume.shared = Some(Default::default());
        let volume = Resources::from(volume);
        let offered = allocation.resources[QUOTA_ROLE][&sid(&agent1)].clone();
        let updated = &(&offered - &allocated(&disk, QUOTA_ROLE)) + &allocated(&volume, QUOTA_ROLE);
        t.allocator.update_allocation(fid(&framework), sid(&agent1), offered, updated);

        // Half of the cpus and memory come back and are offered again, with the volume.
        let recover = res("cpus:1;mem:512").push_reservation(&reservation).unwrap();
        t.allocator.recover_resources(fid(&framework), sid(&agent1), allocated(&recover, QUOTA_ROLE), None, false);
        t.tick().await;
        assert_eq!(t.next().await, expected(&framework, QUOTA_ROLE, &agent1, &(&recover + &volume)));

        // Consumed: cpus:2;mem:1024;disk:50, the volume once. agent2 fills the quota ...
        let agent2 = t.slave_info("cpus:1;mem:1024;disk:50");
        t.add_slave(&agent2, HashMap::new());
        assert_eq!(t.next().await, expected(&framework, QUOTA_ROLE, &agent2, &total(&agent2)));

        // ... and nothing more is offered.
        let agent3 = t.slave_info("cpus:0.5;mem:512;disk:50");
        t.add_slave(&agent3, HashMap::new());
        t.expect_none().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hierarchical_allocator_test_quota_accounting_reserve_allocated_resources() {
    let mut t = Fixture::new().await;
    t.allocator.update_quota(QUOTA_ROLE, create_quota("cpus:10;mem:1024"));
    let framework = t.framework_info(&[QUOTA_ROLE], &[]);
    t.add_framework(&framework);
    let agent_resources = res("cpus:5;mem:512");
    let agent1 = t.slave_info("cpus:5;mem:512");
    t.add_slave(&agent1, HashMap::new());
    let allocation = t.next().await;
    assert_eq!(allocation, expected(&framework, QUOTA_ROLE, &agent1, &agent_resources));

    // Reserving what it was offered does not change what the role consumes.
    let offered = allocation.resources[QUOTA_ROLE][&sid(&agent1)].clone();
    let reserved = offered.push_reservation(&dynamic_reservation(QUOTA_ROLE, "principal")).unwrap();
    t.allocator.update_allocation(fid(&framework), sid(&agent1), offered, reserved);

    // agent2 is twice agent1 (C++ passes agent1's resources as its total): half of it is
    // left of the quota.
    let agent2 = SlaveInfo { resources: (&agent_resources + &agent_resources).to_vec(), ..t.slave_info("cpus:1") };
    t.allocator.add_slave(sid(&agent2), agent2.clone(), agent_capabilities(), agent_resources.clone(), HashMap::new());
    assert_eq!(t.next().await, expected(&framework, QUOTA_ROLE, &agent2, &agent_resources));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hierarchical_allocator_test_quota_accounting_unreserve_allocated_resources() {
    let mut t = Fixture::new().await;
    t.allocator.update_quota(QUOTA_ROLE, create_quota("cpus:1;mem:1024"));
    let framework = t.framework_info(&[QUOTA_ROLE], &[]);
    t.add_framework(&framework);
    let agent1 = t.slave_info(&format!("cpus({QUOTA_ROLE}):1;mem({QUOTA_ROLE}):1024"));
    t.add_slave(&agent1, HashMap::new());
    assert_eq!(t.next().await, expected(&framework, QUOTA_ROLE, &agent1, &total(&agent1)));

    // The quota is met by agent1's reservation.
    let agent2 = t.slave_info("cpus:1;mem:1024");
    t.add_slave(&agent2, HashMap::new());
    t.expect_none().await;

    // Unreserving the allocated reservation does not change the allocated quantities.
    let reserved = allocated(&total(&agent1), QUOTA_ROLE);
    t.allocator.update_allocation(fid(&framework), sid(&agent1), reserved.clone(), reserved.to_unreserved());
    t.tick().await;
    t.expect_none().await;
}

// ----- metrics (`HierarchicalAllocatorTest.*Metrics*`) -----

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hierarchical_allocator_test_resource_metrics() {
    let mut t = Fixture::new().await;
    let agent = t.slave_info("cpus:2;mem:1024;disk:0");
    t.add_slave(&agent, HashMap::new());
    let check = |metrics: &BTreeMap<String, f64>, expected: [(&str, f64); 6]| {
        for (name, value) in expected {
            assert_eq!(metrics[&format!("allocator/mesos/resources/{name}")], value, "{name}");
        }
    };
    check(
        &t.metrics().await,
        [
            ("cpus/total", 2.0),
            ("mem/total", 1024.0),
            ("disk/total", 0.0),
            ("cpus/offered_or_allocated", 0.0),
            ("mem/offered_or_allocated", 0.0),
            ("disk/offered_or_allocated", 0.0),
        ],
    );

    let framework = t.framework_info(&["role1"], &[]);
    t.add_framework(&framework);
    t.settle().await;
    check(
        &t.metrics().await,
        [
            ("cpus/total", 2.0),
            ("mem/total", 1024.0),
            ("disk/total", 0.0),
            ("cpus/offered_or_allocated", 2.0),
            ("mem/offered_or_allocated", 1024.0),
            ("disk/offered_or_allocated", 0.0),
        ],
    );

    t.allocator.remove_slave(sid(&agent));
    check(
        &t.metrics().await,
        [
            ("cpus/total", 0.0),
            ("mem/total", 0.0),
            ("disk/total", 0.0),
            ("cpus/offered_or_allocated", 0.0),
            ("mem/offered_or_allocated", 0.0),
            ("disk/offered_or_allocated", 0.0),
        ],
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hierarchical_allocator_test_quota_metrics() {
    let t = Fixture::new().await;
    let key = |name: &str, kind: &str| format!("allocator/mesos/quota/roles/role/resources/{name}/{kind}");
    let metrics = t.metrics().await;
    for (name, kind) in [("cpus", "guarantee"), ("cpus", "limit"), ("mem", "guarantee"), ("mem", "limit")] {
        assert!(!metrics.contains_key(&key(name, kind)));
    }

    // One cpu guaranteed without a cpu limit; 1024 mem limit without a guarantee.
    t.allocator.update_quota("role", quota("cpus:1", "mem:1024"));
    let metrics = t.metrics().await;
    assert_eq!(metrics[&key("cpus", "guarantee")], 1.0);
    assert!(!metrics.contains_key(&key("cpus", "limit")));
    assert!(!metrics.contains_key(&key("mem", "guarantee")));
    assert_eq!(metrics[&key("mem", "limit")], 1024.0);

    t.allocator.update_quota("role", quota("cpus:2", "mem:1024"));
    assert_eq!(t.metrics().await[&key("cpus", "guarantee")], 2.0);

    t.allocator.update_quota("role", quota("", ""));
    let metrics = t.metrics().await;
    for (name, kind) in [("cpus", "guarantee"), ("cpus", "limit"), ("mem", "guarantee"), ("mem", "limit")] {
        assert!(!metrics.contains_key(&key(name, kind)));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hierarchical_allocator_test_resource_metrics_uninitialized() {
    // The metrics exist, reading zero, before `initialize`.
    let config = Config { ip: Some(std::net::Ipv4Addr::LOCALHOST), ..Config::default() };
    let lp = Libprocess::initialize(config).await.expect("libprocess starts");
    let _allocator = Allocator::create(&lp).expect("allocator spawns");
    tokio::time::timeout(WAIT, lp.settle()).await.expect("settles");
    let metrics = lp.metrics().snapshot(None).await;
    for name in ["cpus", "mem", "disk"] {
        assert_eq!(metrics[&format!("allocator/mesos/resources/{name}/total")], 0.0);
        assert_eq!(metrics[&format!("allocator/mesos/resources/{name}/offered_or_allocated")], 0.0);
    }
    assert_eq!(metrics["allocator/mesos/allocation_runs"], 0.0);
    assert!(metrics.contains_key("allocator/mesos/event_queue_dispatches"));
    assert!(metrics.contains_key("allocator/event_queue_dispatches"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hierarchical_allocator_test_allocation_runs_metric() {
    let mut t = Fixture::new().await;
    assert_eq!(t.metrics().await["allocator/mesos/allocation_runs"], 0.0);
    let agent = t.slave_info("cpus:2;mem:1024;disk:0");
    t.add_slave(&agent, HashMap::new());
    t.settle().await;
    let framework = t.framework_info(&["role"], &[]);
    t.add_framework(&framework);
    // One run for the agent, one for the framework.
    assert_eq!(t.metrics().await["allocator/mesos/allocation_runs"], 2.0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hierarchical_allocator_test_allocation_run_timer_and_latency_metrics() {
    // C++ `AllocationRunTimerMetrics` and `AllocationRunLatencyMetrics`, without the checks
    // on measured durations (the clock is paused).
    let mut t = Fixture::new().await;
    let statistics = ["count", "min", "max", "p50", "p90", "p95", "p99", "p999", "p9999"];
    let metrics = t.metrics().await;
    for timer in ["allocation_run_ms", "allocation_run_latency_ms"] {
        assert!(!metrics.contains_key(&format!("allocator/mesos/{timer}")));
        for statistic in statistics {
            assert!(!metrics.contains_key(&format!("allocator/mesos/{timer}/{statistic}")));
        }
    }
    let agent = t.slave_info("cpus:2;mem:1024;disk:0");
    t.add_slave(&agent, HashMap::new());
    t.settle().await;
    let framework = t.framework_info(&["role1"], &[]);
    t.add_framework(&framework);
    t.next().await;
    let metrics = t.metrics().await;
    for timer in ["allocation_run_ms", "allocation_run_latency_ms"] {
        assert!(metrics[&format!("allocator/mesos/{timer}")] >= 0.0);
        assert_eq!(metrics[&format!("allocator/mesos/{timer}/count")], 2.0);
        for statistic in statistics {
            assert!(metrics.contains_key(&format!("allocator/mesos/{timer}/{statistic}")), "{timer}/{statistic}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hierarchical_allocator_test_active_offer_filters_metrics() {
    let mut t = Fixture::new().await;
    let agent = t.slave_info("cpus:2;mem:1024;disk:0");
    t.add_slave(&agent, HashMap::new());
    let long = refuse((t.interval * 100).as_secs_f64());
    let active = |metrics: &BTreeMap<String, f64>, role: &str| {
        metrics[&format!("allocator/mesos/offer_filters/roles/{role}/active")]
    };

    let framework1 = t.framework_info(&["roleA"], &[]);
    t.add_framework(&framework1);
    let allocation = t.next().await;
    assert_eq!(allocation, expected(&framework1, "roleA", &agent, &total(&agent)));
    t.allocator.recover_resources(
        fid(&framework1),
        sid(&agent),
        allocation.resources["roleA"][&sid(&agent)].clone(),
        long,
        false,
    );
    assert_eq!(active(&t.metrics().await, "roleA"), 1.0);

    let framework2 = t.framework_info(&["roleB"], &[]);
    t.add_framework(&framework2);
    let allocation = t.next().await;
    assert_eq!(allocation, expected(&framework2, "roleB", &agent, &total(&agent)));
    t.allocator.recover_resources(
        fid(&framework2),
        sid(&agent),
        allocation.resources["roleB"][&sid(&agent)].clone(),
        long,
        false,
    );
    let metrics = t.metrics().await;
    assert_eq!((active(&metrics, "roleA"), active(&metrics, "roleB")), (1.0, 1.0));

    let framework3 = t.framework_info(&["roleA"], &[]);
    t.add_framework(&framework3);
    let allocation = t.next().await;
    assert_eq!(allocation, expected(&framework3, "roleA", &agent, &total(&agent)));
    t.allocator.recover_resources(
        fid(&framework3),
        sid(&agent),
        allocation.resources["roleA"][&sid(&agent)].clone(),
        long,
        false,
    );
    let metrics = t.metrics().await;
    assert_eq!((active(&metrics, "roleA"), active(&metrics, "roleB")), (2.0, 1.0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hierarchical_allocator_test_dominant_share_metrics() {
    let mut t = Fixture::new().await;
    let share = |metrics: &BTreeMap<String, f64>, role: &str| {
        metrics.get(&format!("allocator/mesos/roles/{role}/shares/dominant")).copied()
    };
    let agent1 = t.slave_info("cpus:1;mem:1024");
    t.add_slave(&agent1, HashMap::new());
    let framework1 = t.framework_info(&["roleA"], &[]);
    t.add_framework(&framework1);
    assert_eq!(share(&t.metrics().await, "roleA"), Some(1.0));

    // Declined: share 0.
    let allocation = t.next().await;
    t.allocator.recover_resources(
        allocation.framework_id.clone(),
        sid(&agent1),
        allocation.resources["roleA"][&sid(&agent1)].clone(),
        None,
        false,
    );
    assert_eq!(share(&t.metrics().await, "roleA"), Some(0.0));

    // framework1's implicit filter is still there: framework2 gets everything.
    let framework2 = t.framework_info(&["roleB"], &[]);
    t.add_framework(&framework2);
    let metrics = t.metrics().await;
    assert_eq!((share(&metrics, "roleA"), share(&metrics, "roleB")), (Some(0.0), Some(1.0)));

    let agent2 = t.slave_info("cpus:1;mem:1024");
    t.add_slave(&agent2, HashMap::new());
    let metrics = t.metrics().await;
    assert_eq!((share(&metrics, "roleA"), share(&metrics, "roleB")), (Some(0.5), Some(0.5)));

    // The gauge goes with the role's last framework.
    t.allocator.remove_framework(fid(&framework2));
    let metrics = t.metrics().await;
    assert_eq!((share(&metrics, "roleA"), share(&metrics, "roleB")), (Some(0.5), None));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hierarchical_allocator_test_dominant_share_metrics_with_fairness_exclusion() {
    let mut t = Fixture::with_options(|options| {
        options.fairness_exclude_resource_names = Some(HashSet::from(["gpus".to_owned()]));
    })
    .await;
    let share =
        |metrics: &BTreeMap<String, f64>, role: &str| metrics[&format!("allocator/mesos/roles/{role}/shares/dominant")];
    let agent1 = t.slave_info("cpus:1;mem:1024;gpus:1");
    t.add_slave(&agent1, HashMap::new());
    let framework1 = t.framework_info(&["roleA"], &[FrameworkCapability::GpuResources]);
    t.add_framework(&framework1);
    assert_eq!(share(&t.metrics().await, "roleA"), 1.0);

    // framework2 has the lower share: framework1's gpus do not count.
    let framework2 = t.framework_info(&["roleB"], &[]);
    t.add_framework(&framework2);
    let agent2 = t.slave_info("cpus:3;mem:3072");
    t.add_slave(&agent2, HashMap::new());
    let metrics = t.metrics().await;
    assert_eq!((share(&metrics, "roleA"), share(&metrics, "roleB")), (0.25, 0.75));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn quota_on_nested_or_invalid_roles_is_refused() {
    let mut t = Fixture::new().await;
    t.allocator.update_quota("a/b", create_quota("cpus:1"));
    t.allocator.update_quota("", create_quota("cpus:1"));
    let metrics = t.metrics().await;
    assert!(!metrics.keys().any(|k| k.starts_with("allocator/mesos/quota/")));

    // Nothing is held back for them.
    let framework = t.framework_info(&["other"], &[]);
    t.add_framework(&framework);
    let agent = t.slave_info("cpus:1;mem:512");
    t.add_slave(&agent, HashMap::new());
    assert_eq!(t.next().await, expected(&framework, "other", &agent, &total(&agent)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn consumed_quota_metrics_follow_tasks_and_reservations() {
    let mut t = Fixture::new().await;
    let consumed = |metrics: &BTreeMap<String, f64>, name: &str| {
        metrics.get(&format!("allocator/mesos/quota/roles/{QUOTA_ROLE}/resources/{name}/consumed")).copied()
    };
    t.allocator.update_quota(QUOTA_ROLE, create_quota("cpus:4;mem:1024"));
    let framework = t.framework_info(&[QUOTA_ROLE], &[]);
    t.add_framework(&framework);
    let agent = t.slave_info(&format!("cpus:2;mem:512;disk({QUOTA_ROLE}):10"));
    t.add_slave(&agent, HashMap::new());
    let allocation = t.next().await;
    // Offers do not count as consumed; the reservation does.
    let metrics = t.metrics().await;
    assert_eq!((consumed(&metrics, "cpus"), consumed(&metrics, "disk")), (None, Some(10.0)));

    // Tasks launched on one cpu.
    let used = allocated(&res("cpus:1"), QUOTA_ROLE);
    t.allocator.transition_offered_to_allocated(sid(&agent), used.clone());
    assert_eq!(consumed(&t.metrics().await, "cpus"), Some(1.0));
    t.allocator.recover_resources(fid(&framework), sid(&agent), used, None, true);
    assert_eq!(consumed(&t.metrics().await, "cpus"), None);
    assert!(allocation.resources[QUOTA_ROLE].contains_key(&sid(&agent)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_agents_are_offered_again_once_anything_relevant_changes() {
    // Runs with nothing new for an agent skip asking frameworks that refused it; each of
    // these changes must still bring the offer back.
    let mut t = Fixture::new().await;
    let agent = t.slave_info("cpus:2;mem:1024");
    t.add_slave(&agent, HashMap::new());
    let f1 = t.framework_info(&["role1"], &[]);
    let f2 = t.framework_info(&["role1"], &[]);
    t.add_framework(&f1);
    let offer = |t: &Fixture, f: &FrameworkInfo, seconds: f64| {
        t.allocator.recover_resources(fid(f), sid(&agent), allocated(&total(&agent), "role1"), refuse(seconds), false);
    };
    assert_eq!(t.next().await, expected(&f1, "role1", &agent, &total(&agent)));
    offer(&t, &f1, 1000.0);
    t.add_framework(&f2);
    assert_eq!(t.next().await, expected(&f2, "role1", &agent, &total(&agent)));
    offer(&t, &f2, 10.0);
    for _ in 0..3 {
        t.tick().await;
        t.expect_none().await;
    }

    // A new framework in the role.
    let f3 = t.framework_info(&["role1"], &[]);
    t.add_framework(&f3);
    assert_eq!(t.next().await, expected(&f3, "role1", &agent, &total(&agent)));
    offer(&t, &f3, 1000.0);
    t.tick().await;
    t.expect_none().await;

    // A revive.
    t.allocator.revive_offers(fid(&f1), BTreeSet::new());
    assert_eq!(t.next().await, expected(&f1, "role1", &agent, &total(&agent)));
    offer(&t, &f1, 1000.0);
    t.tick().await;
    t.expect_none().await;

    // A filter expiring: f2's 10 s, taken at about 4 s.
    for _ in 0..5 {
        t.tick().await;
    }
    assert_eq!(t.next().await, expected(&f2, "role1", &agent, &total(&agent)));
    offer(&t, &f2, 1000.0);
    t.tick().await;
    t.expect_none().await;

    // The agent's attributes changing (its filters go).
    let mut changed = agent.clone();
    changed.attributes = Attributes::parse("rack:1").unwrap().to_vec();
    t.allocator.update_slave(sid(&agent), changed, None, None);
    let allocation = t.next().await;
    assert_eq!(allocation.resources["role1"][&sid(&agent)], allocated(&total(&agent), "role1"));
}
