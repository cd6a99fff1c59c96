//! The hierarchical allocator benchmarks; mirrors `HierarchicalAllocator_BENCHMARK_Test.{DeclineOffers,SuppressOffers}` in `src/tests/hierarchical_allocator_tests.cpp` and `BENCHMARK_HierarchicalAllocator_WithQuotaParam.LargeAndSmallQuota` in `src/tests/hierarchical_allocator_benchmarks.cpp`.
//!
//! `cargo bench --bench allocator -- [filter] [--quick] [--rounds=N]`
//!
//! Only benchmarks whose name contains `filter` run, or just the one whose name (or the
//! part after its last `.`, say `DeclineOffers/1`) is `filter`. `--quick` runs the smallest parameters
//! of each benchmark, and `DeclineOffers` for a few rounds only; that is how CI smoke-runs
//! this file. `--rounds=N` caps the rounds of `DeclineOffers` (C++ runs twice as many
//! rounds as there are frameworks).
//!
//! Each benchmark prints a gtest-style `[ RUN      ]` header with the C++ parameter index and
//! then the lines its C++ counterpart prints, in the same format (stout's durations), so the
//! two outputs can be compared. Each runs the real allocator actor in a fresh [`Libprocess`]
//! instance on a paused clock: an allocation run is a clock advance by the allocation
//! interval followed by a settle, timed together as in C++. `DeclineOffers` and
//! `SuppressOffers` also print the mean time of a round, which C++ leaves to the reader.

/// As in the `mesos-master` binary.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant};

use libprocess::duration::format;
use libprocess::{Config, Libprocess};
use master::allocator::{parse_min_allocatable_resources, Allocator, Options, DEFAULT_MIN_ALLOCATABLE_RESOURCES};
use master::quota::Quota;
use master::resource_quantities::{ResourceLimits, ResourceQuantities};
use mesos::proto::framework_info::capability::Type as FrameworkCapability;
use mesos::proto::slave_info::capability::Type as SlaveCapability;
use mesos::proto::{framework_info, slave_info, Filters, FrameworkId, FrameworkInfo, SlaveId, SlaveInfo};
use mesos::resources::Resources;
use parking_lot::Mutex;

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(std::thread::available_parallelism().map_or(1, |n| n.get()))
        .enable_all()
        .build()
        .expect("failed to build the tokio runtime");

    // `cargo bench` passes `--bench`; unknown flags are ignored likewise.
    let args: Vec<String> = std::env::args().skip(1).collect();
    let quick = args.iter().any(|a| a == "--quick");
    let rounds = args.iter().find_map(|a| a.strip_prefix("--rounds=")).and_then(|n| n.parse::<usize>().ok());
    let settings = Settings { quick, rounds: if quick { Some(rounds.unwrap_or(4)) } else { rounds } };
    let filter = args.iter().find(|a| !a.starts_with('-')).cloned().unwrap_or_default();

    runtime.block_on(async {
        let all = benchmarks();
        // A full name (or its tail after the last `.`) selects that benchmark alone.
        let exact = |b: &Benchmark| b.name == filter || b.name.rsplit('.').next() == Some(filter.as_str());
        let any_exact = all.iter().any(exact);
        let selected = all.into_iter().filter(|b| if any_exact { exact(b) } else { b.name.contains(filter.as_str()) });
        for benchmark in selected {
            if settings.quick && !benchmark.smallest {
                continue;
            }
            println!("[ RUN      ] {}", benchmark.name);
            let watch = Instant::now();
            let config = Config { ip: Some(std::net::Ipv4Addr::LOCALHOST), ..Config::default() };
            let lp = Libprocess::initialize(config).await.expect("failed to initialize libprocess");
            (benchmark.run)(lp.clone(), settings).await;
            lp.shutdown().await;
            println!("[       OK ] {} ({} ms)", benchmark.name, watch.elapsed().as_millis());
        }
    });
}

#[derive(Clone, Copy)]
struct Settings {
    quick: bool,
    /// At most this many `DeclineOffers` rounds.
    rounds: Option<usize>,
}

type BenchmarkFuture = Pin<Box<dyn Future<Output = ()>>>;

struct Benchmark {
    name: String,
    /// Run by `--quick`.
    smallest: bool,
    run: Box<dyn Fn(Libprocess, Settings) -> BenchmarkFuture>,
}

/// The C++ parameter lists: `SlaveAndFrameworkCount` combines agent counts with framework
/// counts (the gtest index is `agent_index * 8 + framework_index`); `QuotaParam` combines
/// the sorters `drf`, `random` with three sizes.
const AGENT_COUNTS: [usize; 6] = [1000, 5000, 10000, 20000, 30000, 50000];
const FRAMEWORK_COUNTS: [usize; 8] = [1, 50, 100, 200, 500, 1000, 3000, 6000];

fn param_index(agents: usize, frameworks: usize) -> usize {
    let a = AGENT_COUNTS.iter().position(|&n| n == agents).unwrap_or(0);
    let f = FRAMEWORK_COUNTS.iter().position(|&n| n == frameworks).unwrap_or(0);
    a * FRAMEWORK_COUNTS.len() + f
}

fn benchmarks() -> Vec<Benchmark> {
    let mut all = Vec::new();
    for (i, (agents, frameworks)) in
        [(1000, 50), (1000, 100), (5000, 500), (10000, 1000), (10000, 3000)].into_iter().enumerate()
    {
        all.push(Benchmark {
            name: format!(
                "SlaveAndFrameworkCount/HierarchicalAllocator_BENCHMARK_Test.DeclineOffers/{}",
                param_index(agents, frameworks)
            ),
            smallest: i == 0,
            run: Box::new(move |lp, settings| Box::pin(decline_offers(lp, settings, agents, frameworks))),
        });
    }
    for (i, (agents, frameworks)) in [(1000, 1), (1000, 50)].into_iter().enumerate() {
        all.push(Benchmark {
            name: format!(
                "SlaveAndFrameworkCount/HierarchicalAllocator_BENCHMARK_Test.SuppressOffers/{}",
                param_index(agents, frameworks)
            ),
            smallest: i == 0,
            run: Box::new(move |lp, _| Box::pin(suppress_offers(lp, agents, frameworks))),
        });
    }
    for (index, (small, large)) in [(25, 5), (250, 50)].into_iter().enumerate() {
        all.push(Benchmark {
            name: format!("QuotaParam/BENCHMARK_HierarchicalAllocator_WithQuotaParam.LargeAndSmallQuota/{index}"),
            smallest: index == 0,
            run: Box::new(move |lp, _| Box::pin(large_and_small_quota(lp, small, large, 1))),
        });
    }
    all
}

/// One offer, as the C++ benchmarks record them.
struct OfferedResources {
    framework_id: FrameworkId,
    slave_id: SlaveId,
    resources: Resources,
}

type Offers = Arc<Mutex<Vec<OfferedResources>>>;

/// Creates and initializes the allocator with the C++ test fixture's options (default
/// interval, `MIN_CPUS`/`MIN_MEM` minimum); offers are collected in the returned list.
fn allocator(lp: &Libprocess) -> (Allocator, Offers, Duration) {
    lp.clock().pause();
    let allocator = Allocator::create(lp).expect("allocator spawns");
    let offers: Offers = Arc::default();
    let sink = offers.clone();
    let options = Options {
        min_allocatable_resources: Some(
            parse_min_allocatable_resources(DEFAULT_MIN_ALLOCATABLE_RESOURCES).expect("valid default"),
        ),
        ..Options::default()
    };
    let interval = options.allocation_interval;
    allocator.initialize(
        options,
        Box::new(move |framework_id, resources| {
            let mut offers = sink.lock();
            for by_agent in resources.into_values() {
                for (slave_id, resources) in by_agent {
                    offers.push(OfferedResources { framework_id: framework_id.clone(), slave_id, resources });
                }
            }
        }),
        None,
    );
    (allocator, offers, interval)
}

/// C++ `AGENT_CAPABILITIES()`.
fn agent_capabilities() -> Vec<slave_info::Capability> {
    [SlaveCapability::MultiRole, SlaveCapability::HierarchicalRole, SlaveCapability::ReservationRefinement]
        .iter()
        .map(|t| slave_info::Capability { r#type: Some(*t as i32) })
        .collect()
}

fn capabilities(types: &[FrameworkCapability]) -> Vec<framework_info::Capability> {
    types.iter().map(|t| framework_info::Capability { r#type: Some(*t as i32) }).collect()
}

/// The C++ fixture's `createFrameworkInfo({role})`: MULTI_ROLE, named and identified
/// `framework<N>`.
fn framework_info(n: usize, role: &str) -> FrameworkInfo {
    let name = format!("framework{n}");
    FrameworkInfo {
        user: "user".into(),
        name: name.clone(),
        id: Some(FrameworkId { value: name }),
        roles: vec![role.to_owned()],
        capabilities: capabilities(&[FrameworkCapability::MultiRole]),
        ..FrameworkInfo::default()
    }
}

/// The C++ fixture's `createSlaveInfo`: `agent<N>`.
fn slave_info(name: String, resources: &Resources) -> SlaveInfo {
    SlaveInfo {
        hostname: name.clone(),
        id: Some(SlaveId { value: name }),
        resources: resources.to_vec(),
        ..SlaveInfo::default()
    }
}

fn parse(text: &str) -> Resources {
    Resources::parse(text, "*").expect("valid resources")
}

/// `ports` in 16 ranges as C++ `fragment(createRange(31000, 32000), 16)` makes them: 15
/// single ports every other value from 31000, then the rest up to 32000.
fn fragmented_ports() -> Resources {
    let mut ranges: Vec<String> = (0..15).map(|i| format!("{0}-{0}", 31000 + 2 * i)).collect();
    ranges.push("31030-32000".to_owned());
    parse(&format!("ports:[{}]", ranges.join(",")))
}

async fn timed_settle(lp: &Libprocess, advance: Option<Duration>) -> Duration {
    let watch = Instant::now();
    if let Some(d) = advance {
        lp.clock().advance(d);
    }
    lp.settle().await;
    watch.elapsed()
}

/// Adds `framework_count` frameworks in role `*`, then `agent_count` agents of
/// `cpus:24;mem:4096;disk:4096;ports:[31000-32000]` each already running `used` plus
/// fragmented ports for one of the frameworks (round robin), printing the C++ lines.
async fn add_frameworks_and_agents(
    lp: &Libprocess,
    allocator: &Allocator,
    framework_count: usize,
    agent_count: usize,
    used: &str,
) -> Vec<FrameworkInfo> {
    let watch = Instant::now();
    let frameworks: Vec<FrameworkInfo> = (0..framework_count).map(|i| framework_info(i + 1, "*")).collect();
    for framework in &frameworks {
        let id = framework.id.clone().unwrap_or_default();
        allocator.add_framework(id, framework.clone(), HashMap::new(), true, Default::default());
    }
    lp.settle().await;
    println!("Added {framework_count} frameworks in {}", format(watch.elapsed()));

    let agent_resources = parse("cpus:24;mem:4096;disk:4096;ports:[31000-32000]");
    let mut used = &parse(used) + &fragmented_ports();
    used.allocate("*");
    let watch = Instant::now();
    for i in 0..agent_count {
        let agent = slave_info(format!("agent{}", i + 1), &agent_resources);
        let id = agent.id.clone().unwrap_or_default();
        let framework = frameworks[i % framework_count].id.clone().unwrap_or_default();
        allocator.add_slave(
            id,
            agent,
            agent_capabilities(),
            agent_resources.clone(),
            HashMap::from([(framework, used.clone())]),
        );
    }
    lp.settle().await;
    println!("Added {agent_count} agents in {}", format(watch.elapsed()));
    frameworks
}

/// Frameworks with a fixed amount of work decline everything further, for (practically)
/// ever; each round is one allocation run that must skip the refused agents.
async fn decline_offers(lp: Libprocess, settings: Settings, agent_count: usize, framework_count: usize) {
    println!("Using {agent_count} agents and {framework_count} frameworks");
    let (allocator, offers, interval) = allocator(&lp);

    // 16 tasks on each agent, one cpu and a port each.
    add_frameworks_and_agents(&lp, &allocator, framework_count, agent_count, "cpus:16;mem:2014;disk:1024").await;

    let rounds = settings.rounds.map_or(framework_count * 2, |cap| cap.min(framework_count * 2));
    let forever = Filters { refuse_seconds: Some(f64::from(i32::MAX)) };
    let mut declined = 0;
    let mut total = Duration::ZERO;
    // Swapped with the list the callback fills, and emptied, so both keep their capacity
    // as C++'s `offers.clear()` does.
    let mut previous: Vec<OfferedResources> = Vec::new();
    for round in 0..rounds {
        std::mem::swap(&mut previous, &mut *offers.lock());
        for offer in &previous {
            allocator.recover_resources(
                offer.framework_id.clone(),
                offer.slave_id.clone(),
                offer.resources.clone(),
                Some(forever),
                false,
            );
        }
        declined += previous.len();
        previous.clear();
        lp.settle().await;

        let elapsed = timed_settle(&lp, Some(interval)).await;
        total += elapsed;
        println!(
            "round {round} allocate() took {} to make {} offers after filtering {declined} offers",
            format(elapsed),
            offers.lock().len()
        );
    }
    if rounds > 0 {
        println!("mean of {rounds} rounds: {}", format(total / rounds as u32));
    }
}

/// More frameworks suppress offers before each of five allocation runs.
async fn suppress_offers(lp: Libprocess, agent_count: usize, framework_count: usize) {
    println!("Using {agent_count} agents and {framework_count} frameworks");
    let (allocator, offers, interval) = allocator(&lp);

    let frameworks =
        add_frameworks_and_agents(&lp, &allocator, framework_count, agent_count, "cpus:16;mem:1024;disk:1024").await;

    // As in C++, `framework_count % 5` frameworks are never suppressed.
    let allocations = 5;
    let mut suppressed = 0;
    let mut total = Duration::ZERO;
    // As in `decline_offers`.
    let mut previous: Vec<OfferedResources> = Vec::new();
    for _ in 0..allocations {
        // No filters: this measures suppression alone.
        std::mem::swap(&mut previous, &mut *offers.lock());
        for offer in previous.drain(..) {
            allocator.recover_resources(offer.framework_id, offer.slave_id, offer.resources, None, false);
        }
        lp.settle().await;
        for _ in 0..framework_count / allocations {
            allocator.suppress_offers(frameworks[suppressed].id.clone().unwrap_or_default(), Default::default());
            suppressed += 1;
        }
        lp.settle().await;

        let elapsed = timed_settle(&lp, Some(interval)).await;
        total += elapsed;
        println!(
            "allocate() took {} to make {} offers with {suppressed} out of {framework_count} frameworks suppressing offers",
            format(elapsed),
            offers.lock().len()
        );
    }
    println!("mean of {allocations} allocations: {}", format(total / allocations as u32));
}

/// C++ `createQuota(resources)`: guaranteed and limited alike.
fn create_quota(resources: &str) -> Quota {
    Quota {
        guarantees: ResourceQuantities::parse(resources).expect("valid quantities"),
        limits: ResourceLimits::parse(resources).expect("valid limits"),
    }
}

/// Roles with small quota (half an agent: agents get chopped) and large quota (two
/// agents: roles get chopped); one allocation run satisfies them all.
async fn large_and_small_quota(lp: Libprocess, small_roles: usize, large_roles: usize, frameworks_per_role: usize) {
    let (allocator, offers, interval) = allocator(&lp);
    let agent_count = small_roles / 5 + large_roles * 5;

    // C++ `initializeCluster`: agents, then frameworks while allocation is paused.
    let agent_resources = parse("cpus:2;mem:2048;disk:2048");
    let watch = Instant::now();
    for i in 0..agent_count {
        let agent = slave_info(format!("agent-{i}"), &agent_resources);
        let id = agent.id.clone().unwrap_or_default();
        allocator.add_slave(id, agent, agent_capabilities(), agent_resources.clone(), HashMap::new());
    }
    lp.settle().await;
    println!("Added {agent_count} agents in {}", format(watch.elapsed()));

    allocator.pause();
    let watch = Instant::now();
    let mut roles = Vec::new();
    let profiles = (0..small_roles)
        .map(|i| (format!("framework_small_{i}"), format!("smallQuotaRole{i}"), "cpus:1;mem:1024;disk:1024"))
        .chain(
            (0..large_roles)
                .map(|i| (format!("framework_large_{i}"), format!("largeQuotaRole{i}"), "cpus:4;mem:4096;disk:4096")),
        );
    let mut framework_count = 0;
    for (profile, role, quota) in profiles {
        for i in 0..frameworks_per_role {
            let name = format!("{profile}-{i}");
            // C++ `DEFAULT_FRAMEWORK_INFO` with the profile's name and roles.
            let info = FrameworkInfo {
                user: "user".into(),
                name: name.clone(),
                id: Some(FrameworkId { value: name.clone() }),
                roles: vec![role.clone()],
                capabilities: capabilities(&[
                    FrameworkCapability::MultiRole,
                    FrameworkCapability::ReservationRefinement,
                ]),
                ..FrameworkInfo::default()
            };
            allocator.add_framework(FrameworkId { value: name }, info, HashMap::new(), true, Default::default());
            framework_count += 1;
        }
        roles.push((role, quota));
    }
    lp.settle().await;
    println!("Added {framework_count} frameworks in {}", format(watch.elapsed()));
    allocator.resume();

    let role_count = small_roles + large_roles;
    println!(
        "Benchmark setup: {agent_count} agents, {role_count} roles, {} frameworks, with drf sorter",
        role_count * frameworks_per_role
    );

    allocator.pause();
    for (role, quota) in &roles {
        allocator.update_quota(role.clone(), create_quota(quota));
    }
    allocator.resume();
    lp.settle().await;

    let elapsed = timed_settle(&lp, Some(interval)).await;
    let made = std::mem::take(&mut *offers.lock()).len();
    println!("Made {made} allocations in {}", format(elapsed));

    let elapsed = timed_settle(&lp, Some(interval)).await;
    let more = offers.lock().len();
    if more != 0 {
        println!("Unexpected: the second run made {more} allocations");
    }
    println!("Made 0 allocation in {}", format(elapsed));
}
