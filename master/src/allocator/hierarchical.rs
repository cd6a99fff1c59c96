//! The hierarchical DRF allocator actor and its handle; mirrors `src/master/allocator/mesos/hierarchical.{hpp,cpp}` (`HierarchicalAllocatorProcess`), `src/master/allocator/mesos/allocator.hpp` (`MesosAllocator`) and the `Allocator` interface in `include/mesos/allocator/allocator.hpp`.
//!
//! The master owns an [`Allocator`]; each call dispatches into the
//! [`HierarchicalAllocatorProcess`] and returns at once, as the C++ `void` methods do. Offers
//! come back through the offer callback.
//!
//! Allocation runs every `allocation_interval` over all agents, and on events (a framework
//! added or activated, offers revived: all agents; an agent added or changed: that agent).
//! Event-triggered runs are batched: `generate_offers` unions the agents into the candidate
//! set and schedules one pending run (C++ `generateOffers` / `_generateOffers`). Resources
//! coming back (decline, rescind) wait for the next run.
//!
//! An allocation run has two stages (C++ `__generateOffers`). The first offers to roles
//! with unsatisfied quota guarantees, in role-sorter order, only what helps toward the
//! guarantees (plus the role's reservations, non-scalars, revocable resources, and extra
//! unreserved scalars within limits and spare headroom). The second offers to every role.
//! Throughout, unreserved scalars are held back so that the guarantees not yet satisfied
//! (the required headroom) can still be met from what is unallocated, and no role is offered
//! beyond its quota limits. Quota is consumed by reservations (allocated or not) and by
//! unreserved non-revocable resources offered or allocated, subroles included; only
//! top-level roles may have quota, as the master enforces.
//!
//! The offers are C++'s; the work is not always. Per agent and role, what may be offered is
//! worked out once per set of framework capabilities rather than per framework; a refused-offer
//! filter remembers its answer while the agent's available resources stay the same; and an
//! agent whose role's frameworks were offered nothing is not asked about again until the
//! agent, the role's frameworks or anything else relevant changes (any call but recovering
//! resources, or a filter expiring). Frameworks declining an agent for long cost nothing.
//!
//! Not here yet (see ARCHITECTURE.md): recovery after failover (`recover`, pause until
//! agents re-register), maintenance and inverse offers (`updateUnavailability`,
//! `updateInverseOffer`, `getInverseOfferStatuses`), resource providers
//! (`addResourceProvider`, `updateAvailable`), resource conversions in `update_allocation`,
//! offer constraints, the `/offer_constraints_debug` endpoint, per-framework metrics.
//!
//! Caller mistakes C++ CHECK-fails on (an unknown framework or agent, adding one twice,
//! handing back resources that were never offered) are an [`AllocatorError`], logged at
//! `warn` with the state left unchanged.

use std::cell::Cell;
use std::collections::hash_map::RandomState;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::hash::{BuildHasher, Hasher};
use std::sync::atomic::{AtomicU64, Ordering as AtomicOrdering};
use std::sync::Arc;
use std::time::Duration;

use libprocess::{Context, Libprocess, Process, SpawnError, Time, PID};
use mesos::attributes::Attributes;
use mesos::proto::framework_info::capability::Type as FrameworkCapability;
use mesos::proto::slave_info::capability::Type as SlaveCapability;
use mesos::proto::value::Type as ValueType;
use mesos::proto::{slave_info, Filters, FrameworkId, FrameworkInfo, Resource, SlaveId, SlaveInfo, WeightInfo};
use mesos::resources::{self as res, Resources};
use mesos::values::MesosValue;

use super::metrics::{Metrics, RoleMetrics};
use super::role_tree::RoleTree;
use super::sorter::{DrfSorter, Sorter};
use super::{
    AllocatorError, FastMap, FrameworkOptions, InverseOfferCallback, OfferCallback, OfferMap, Options,
    MAX_REFUSE_DURATION,
};
use crate::quota::Quota;
use crate::resource_quantities::{shrink_resources, shrink_resources_to_limits, ResourceQuantities};

/// The id prefix of the allocator process (C++ `ID::generate("hierarchical-allocator")`).
pub const PROCESS_ID_PREFIX: &str = "hierarchical-allocator";

/// The framework capabilities the allocator looks at (C++ `protobuf::framework::Capabilities`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct FrameworkCapabilities {
    revocable_resources: bool,
    gpu_resources: bool,
    shared_resources: bool,
    multi_role: bool,
    reservation_refinement: bool,
    region_aware: bool,
}

impl FrameworkCapabilities {
    fn of(info: &FrameworkInfo) -> FrameworkCapabilities {
        let mut caps = FrameworkCapabilities::default();
        for capability in &info.capabilities {
            match capability.r#type() {
                FrameworkCapability::RevocableResources => caps.revocable_resources = true,
                FrameworkCapability::GpuResources => caps.gpu_resources = true,
                FrameworkCapability::SharedResources => caps.shared_resources = true,
                FrameworkCapability::MultiRole => caps.multi_role = true,
                FrameworkCapability::ReservationRefinement => caps.reservation_refinement = true,
                FrameworkCapability::RegionAware => caps.region_aware = true,
                _ => {}
            }
        }
        caps
    }
}

/// The agent capabilities the allocator looks at (C++ `protobuf::slave::Capabilities`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct SlaveCapabilities {
    multi_role: bool,
    hierarchical_role: bool,
    reservation_refinement: bool,
    resource_provider: bool,
}

impl SlaveCapabilities {
    fn of(capabilities: &[slave_info::Capability]) -> SlaveCapabilities {
        let mut caps = SlaveCapabilities::default();
        for capability in capabilities {
            match capability.r#type() {
                SlaveCapability::MultiRole => caps.multi_role = true,
                SlaveCapability::HierarchicalRole => caps.hierarchical_role = true,
                SlaveCapability::ReservationRefinement => caps.reservation_refinement = true,
                SlaveCapability::ResourceProvider => caps.resource_provider = true,
                _ => {}
            }
        }
        caps
    }
}

/// The roles a framework subscribes to (C++ `protobuf::framework::getRoles`): `roles` for a
/// `MULTI_ROLE` framework, else the single `role` (default `*`).
fn framework_roles(info: &FrameworkInfo) -> BTreeSet<String> {
    if FrameworkCapabilities::of(info).multi_role {
        info.roles.iter().cloned().collect()
    } else {
        BTreeSet::from([info.role().to_owned()])
    }
}

/// Per-role minimum allocatable quantities from `FrameworkInfo.offer_filters` (C++
/// `unpackFrameworkOfferFilters`). A role whose filter has `min_allocatable_resources` set,
/// even to an empty list, overrides the global minimum.
fn unpack_offer_filters(info: &FrameworkInfo) -> HashMap<String, Vec<ResourceQuantities>> {
    let mut result = HashMap::new();
    for (role, filters) in &info.offer_filters {
        if let Some(min) = &filters.min_allocatable_resources {
            let alternatives = min
                .quantities
                .iter()
                .map(|q| {
                    let mut quantities = ResourceQuantities::new();
                    for (name, scalar) in &q.quantities {
                        quantities.add_quantity(name, *scalar);
                    }
                    quantities
                })
                .collect();
            result.insert(role.clone(), alternatives);
        }
    }
    result
}

/// Whether `resources` hold at least `quantities` (C++ `Resources::contains(const
/// ResourceQuantities&)`): scalars by value, sets by item count, ranges by element count.
fn contains_quantities(resources: &Resources, quantities: &ResourceQuantities) -> bool {
    quantities.iter().all(|(name, quantity)| {
        let mut remaining = quantity.value;
        for resource in resources.iter().filter(|r| r.name == name) {
            remaining -= match resource.r#type() {
                ValueType::Scalar => resource.scalar.as_ref().map_or(0.0, |s| s.value),
                ValueType::Set => resource.set.as_ref().map_or(0, |s| s.item.len()) as f64,
                ValueType::Ranges => {
                    resource.ranges.as_ref().map_or(0.0, |r| r.range.iter().map(|r| (r.end - r.begin + 1) as f64).sum())
                }
                _ => 0.0,
            };
            if remaining <= 0.0 {
                break;
            }
        }
        remaining <= 0.0
    })
}

/// A refused-offer filter (C++ `RefusedOfferFilter`): a later offer is filtered while the
/// refused resources contain it. The id stands in for C++'s `weak_ptr` identity, so a
/// late expiry of a filter already removed finds nothing.
#[derive(Debug)]
struct OfferFilter {
    id: u64,
    resources: Resources,
    /// The last answer, for the offer identified by the key (see [`OfferKey`]): a framework
    /// that declined an agent for long is asked again at every run with the same offer.
    last: Cell<Option<(OfferKey, bool)>>,
}

impl OfferFilter {
    fn new(id: u64, resources: Resources) -> OfferFilter {
        OfferFilter { id, resources, last: Cell::new(None) }
    }

    fn filter(&self, resources: &Resources, key: Option<OfferKey>) -> bool {
        if let (Some(key), Some((last_key, answer))) = (key, self.last.get()) {
            if key == last_key {
                return answer;
            }
        }
        let answer = self.resources.contains(resources);
        if let Some(key) = key {
            self.last.set(Some((key, answer)));
        }
        answer
    }
}

/// Identifies an offer that is everything the agent has for the role as stripped for the
/// framework's capabilities: the agent's `generation` (which changes with what it has
/// available) and the capabilities. A filter (per role and agent) that answered for a key
/// answers the same for it again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct OfferKey {
    generation: u64,
    strip: StripKey,
}

/// Source of [`Slave::generation`]: unique across agents and allocators, so a key never
/// matches another agent's state.
static GENERATIONS: AtomicU64 = AtomicU64::new(1);

fn next_generation() -> u64 {
    GENERATIONS.fetch_add(1, AtomicOrdering::Relaxed)
}

/// What the allocator knows of a framework (C++ `internal::Framework`).
struct Framework {
    id: FrameworkId,
    roles: BTreeSet<String>,
    suppressed_roles: BTreeSet<String>,
    capabilities: FrameworkCapabilities,
    /// Filters per role and agent: they apply to the role the resources were offered to.
    offer_filters: FastMap<String, FastMap<SlaveId, Vec<OfferFilter>>>,
    active: bool,
    min_allocatable_resources: HashMap<String, Vec<ResourceQuantities>>,
}

/// What the allocator knows of an agent (C++ `internal::Slave`). `available` is kept equal
/// to `total` minus what is offered or allocated (shared resources always stay available).
struct Slave {
    info: SlaveInfo,
    capabilities: SlaveCapabilities,
    activated: bool,
    /// Resources actually used by tasks, so `remove_slave` can forget them.
    total_allocated: Resources,
    total: Resources,
    /// Per framework; their sum is what C++ keeps as `offeredOrAllocated`, worked out only
    /// where needed (rarely), so an offer or a recovery changes one sum, not two.
    offered_or_allocated: FastMap<FrameworkId, Resources>,
    available: Resources,
    /// Whether what is offered or allocated fits in `total` (it may not after the total
    /// shrank): then `available` can follow offers and recoveries by subtracting and adding
    /// them, which gives what working out `total` minus the rest anew would.
    within_total: bool,
    /// Changes whenever `available` does.
    generation: u64,
    shared: Resources,
    has_gpu: bool,
    /// Recently refused resources, so that the many filters refusing the same resources on
    /// this agent share one copy of them.
    refusals: Vec<Resources>,
    /// Roles whose frameworks the second stage offered nothing from this agent, and when:
    /// until the agent, the role's frameworks or anything else changes, asking them again
    /// gives the same answer (see `offer_to_role`).
    quiet: FastMap<Arc<str>, Quiet>,
}

/// When a role's frameworks were last offered nothing from an agent: the agent's
/// generation, the role's framework sorter membership, and the allocator's epoch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Quiet {
    generation: u64,
    membership: u64,
    epoch: u64,
}

impl Slave {
    fn new(
        info: SlaveInfo,
        capabilities: SlaveCapabilities,
        total: Resources,
        used: &HashMap<FrameworkId, Resources>,
    ) -> Slave {
        let mut total_allocated = Resources::new();
        let mut offered_or_allocated = FastMap::default();
        for (framework_id, resources) in used {
            if !resources.is_empty() {
                total_allocated += resources;
                offered_or_allocated.insert(framework_id.clone(), resources.clone());
            }
        }
        let mut slave = Slave {
            info,
            capabilities,
            activated: true,
            total_allocated,
            shared: total.shared(),
            has_gpu: total.gpus().unwrap_or(0.0) > 0.0,
            total,
            offered_or_allocated,
            available: Resources::new(),
            within_total: true,
            generation: 0,
            refusals: Vec::new(),
            quiet: FastMap::default(),
        };
        slave.update_available();
        slave
    }

    fn update_total(&mut self, total: Resources) {
        self.shared = total.shared();
        self.has_gpu = total.gpus().unwrap_or(0.0) > 0.0;
        self.total = total;
        self.update_available();
    }

    /// Takes back resources offered or allocated to a framework (C++ `increaseAvailable`).
    /// The caller has checked that the framework holds them.
    fn increase_available(&mut self, framework_id: &FrameworkId, resources: &Resources) {
        if resources.is_empty() {
            return;
        }
        if let Some(held) = self.offered_or_allocated.get_mut(framework_id) {
            *held -= resources;
            if held.is_empty() {
                self.offered_or_allocated.remove(framework_id);
            }
        }
        if self.shared.is_empty() && self.within_total {
            // The mirror of `decrease_available`: what comes back was taken out of `total`.
            let mut unallocated = resources.clone();
            unallocated.unallocate();
            self.available += &unallocated;
            self.generation = next_generation();
        } else {
            self.update_available();
        }
    }

    /// Records resources as offered or allocated to a framework (C++ `decreaseAvailable`).
    /// `unallocated` are the same resources without allocation info.
    fn decrease_available(&mut self, framework_id: &FrameworkId, resources: &Resources, unallocated: &Resources) {
        if resources.is_empty() {
            return;
        }
        if self.shared.is_empty() {
            // What is offered came out of `available`, so taking it off gives what a fresh
            // `total - used` would, for less work on this hot path.
            self.available -= unallocated;
        }
        self.add_offered_or_allocated(framework_id, resources);
    }

    /// [`Slave::decrease_available`] for an offer of `unallocated` to `role`, returning the
    /// offer allocated to the role. The resources leave `available` before they are
    /// allocated: an offer is usually everything the agent has, whose entries `available`
    /// then no longer shares, so `allocate` changes them in place instead of copying each.
    fn offer(&mut self, framework_id: &FrameworkId, mut unallocated: Resources, role: &str) -> Resources {
        if unallocated.is_empty() {
            unallocated.allocate(role);
            return unallocated;
        }
        if self.shared.is_empty() {
            self.available -= &unallocated;
        }
        let mut resources = unallocated;
        resources.allocate(role);
        self.add_offered_or_allocated(framework_id, &resources);
        resources
    }

    /// The bookkeeping of [`Slave::decrease_available`] once `available` is dealt with.
    fn add_offered_or_allocated(&mut self, framework_id: &FrameworkId, resources: &Resources) {
        match self.offered_or_allocated.get_mut(framework_id) {
            Some(held) => *held += resources,
            None => {
                self.offered_or_allocated.insert(framework_id.clone(), resources.clone());
            }
        }
        if self.shared.is_empty() {
            self.generation = next_generation();
        } else {
            self.update_available();
        }
    }

    fn holds(&self, framework_id: &FrameworkId, resources: &Resources) -> bool {
        self.offered_or_allocated.get(framework_id).is_some_and(|held| held.contains(resources))
    }

    /// All that is offered or allocated on the agent (C++ `offeredOrAllocated`).
    fn offered_or_allocated_total(&self) -> Resources {
        let mut total = Resources::new();
        for held in self.offered_or_allocated.values() {
            total += held;
        }
        total
    }

    fn update_available(&mut self) {
        let mut used = self.offered_or_allocated_total();
        used.unallocate();
        self.within_total = self.total.contains(&used);
        self.available = if self.shared.is_empty() {
            &self.total - &used
        } else {
            &(&self.total.non_shared() - &used.non_shared()) + &self.shared
        };
        self.generation = next_generation();
    }

    /// `refused` itself, or an equal copy refused recently (sharing its storage).
    fn intern_refusal(&mut self, refused: Resources) -> Resources {
        const KEPT: usize = 4;
        if let Some(known) = self.refusals.iter().find(|known| **known == refused) {
            return known.clone();
        }
        if self.refusals.len() == KEPT {
            self.refusals.remove(0);
        }
        self.refusals.push(refused.clone());
        refused
    }
}

/// A small seedable PRNG (splitmix64) for the agent shuffle; `std::random_shuffle` in C++.
struct Shuffler(u64);

impl Default for Shuffler {
    fn default() -> Shuffler {
        Shuffler::new(None)
    }
}

impl Shuffler {
    fn new(seed: Option<u64>) -> Shuffler {
        Shuffler(seed.unwrap_or_else(|| RandomState::new().build_hasher().finish()))
    }

    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Fisher-Yates.
    fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            let j = (self.next() % (i as u64 + 1)) as usize;
            items.swap(i, j);
        }
    }
}

/// The allocator actor (C++ `HierarchicalAllocatorProcess<DRFSorter, DRFSorter>`). Reach it
/// through [`Allocator`].
#[derive(Default)]
pub struct HierarchicalAllocatorProcess {
    initialized: bool,
    options: Options,
    offer_callback: Option<OfferCallback>,
    /// Kept for the interface; nothing calls it until maintenance is implemented.
    _inverse_offer_callback: Option<InverseOfferCallback>,
    paused: bool,
    /// By framework id (the string, so that the sorters' answers look frameworks up as is).
    frameworks: FastMap<String, Framework>,
    slaves: FastMap<SlaveId, Slave>,
    role_sorter: DrfSorter,
    /// One sorter per role over the frameworks tracked under it.
    framework_sorters: FastMap<String, DrfSorter>,
    /// Quota, weights, reservations and consumption per role, and the frameworks tracked
    /// under each role: subscribed, or still holding resources allocated to it. A role is in
    /// the role sorter exactly while it has tracked frameworks.
    role_tree: RoleTree,
    total_scalar_quantities: ResourceQuantities,
    /// Agents the pending allocation run covers (C++ `allocationCandidates`).
    allocation_candidates: HashSet<SlaveId>,
    /// An allocation run is queued (C++ `offerGeneration` pending).
    run_pending: bool,
    /// When the pending run was requested, for the latency metric.
    run_requested_at: Option<Time>,
    /// The periodic timer fired and waits for the pending run to finish before re-arming
    /// (C++ `loop` waits for `generateOffers`' future).
    tick_waiting: bool,
    whitelist: Option<HashSet<String>>,
    /// Decides the agent order of each run, and which of several same-named resources a
    /// quota cut-down takes.
    shuffler: Shuffler,
    next_filter_id: u64,
    /// Registered when the actor starts, removed when it ends.
    metrics: Option<Metrics>,
    /// Advanced by [`HierarchicalAllocatorProcess::changed`].
    epoch: u64,
}

impl Process for HierarchicalAllocatorProcess {
    /// Registers the metrics, which exist (reading zero) before `initialize` as in C++.
    fn initialize(&mut self, ctx: &mut Context<Self>) {
        let lp = ctx.libprocess().clone();
        self.metrics = Some(Metrics::new(&lp, ctx.pid()));
        self.role_tree = RoleTree::new(Some(Box::new(RoleMetrics::new(&lp, ctx.pid()))));
    }

    fn finalize(&mut self, _ctx: &mut Context<Self>) {
        // Dropping them unregisters them.
        self.metrics = None;
        self.role_tree = RoleTree::default();
    }
}

type Outcome = Result<(), AllocatorError>;

impl HierarchicalAllocatorProcess {
    /// Marks that something other than an agent's available resources or a sorter's
    /// membership changed, which may let an offer through where there was none: the
    /// memories of agents with nothing for a role ([`Slave::quiet`]) are forgotten.
    fn changed(&mut self) {
        self.epoch += 1;
    }

    fn check_initialized(&self) -> Outcome {
        if self.initialized {
            Ok(())
        } else {
            Err(AllocatorError::NotInitialized)
        }
    }

    fn framework(&self, id: &FrameworkId) -> Result<&Framework, AllocatorError> {
        self.frameworks.get(&id.value).ok_or_else(|| AllocatorError::UnknownFramework(id.value.clone()))
    }

    fn framework_mut(&mut self, id: &FrameworkId) -> Result<&mut Framework, AllocatorError> {
        self.frameworks.get_mut(&id.value).ok_or_else(|| AllocatorError::UnknownFramework(id.value.clone()))
    }

    fn slave(&self, id: &SlaveId) -> Result<&Slave, AllocatorError> {
        self.slaves.get(id).ok_or_else(|| AllocatorError::UnknownSlave(id.value.clone()))
    }

    fn framework_sorter(&mut self, role: &str) -> Result<&mut DrfSorter, AllocatorError> {
        self.framework_sorters
            .get_mut(role)
            .ok_or_else(|| AllocatorError::Sorter(super::sorter::SorterError::UnknownClient(role.to_owned())))
    }

    /// C++ `initialize`: stores the options and callbacks and starts the periodic loop.
    pub fn initialize(
        &mut self,
        ctx: &mut Context<Self>,
        options: Options,
        offer_callback: OfferCallback,
        inverse_offer_callback: Option<InverseOfferCallback>,
    ) -> Outcome {
        if self.initialized {
            return Err(AllocatorError::AlreadyInitialized);
        }
        // Nothing asks the role sorter for a role's resources, only for quantities.
        self.role_sorter = DrfSorter::without_client_resources(options.fairness_exclude_resource_names.clone());
        self.shuffler = Shuffler::new(options.shuffle_seed);
        self.options = options;
        self.offer_callback = Some(offer_callback);
        self._inverse_offer_callback = inverse_offer_callback;
        self.initialized = true;
        self.paused = false;
        tracing::debug!("initialized hierarchical allocator process");
        self.schedule_periodic_run(ctx);
        Ok(())
    }

    fn schedule_periodic_run(&self, ctx: &mut Context<Self>) {
        ctx.delay(self.options.allocation_interval, |this: &mut Self, ctx| {
            this.generate_offers(ctx, None);
            if this.run_pending {
                this.tick_waiting = true;
            } else {
                this.schedule_periodic_run(ctx);
            }
        });
    }

    /// C++ `addFramework`.
    pub fn add_framework(
        &mut self,
        ctx: &mut Context<Self>,
        framework_id: FrameworkId,
        info: FrameworkInfo,
        used: HashMap<SlaveId, Resources>,
        active: bool,
        options: FrameworkOptions,
    ) -> Outcome {
        self.check_initialized()?;
        self.changed();
        if self.frameworks.contains_key(&framework_id.value) {
            return Err(AllocatorError::FrameworkExists(framework_id.value));
        }
        if info.id.as_ref() != Some(&framework_id) {
            return Err(AllocatorError::IdMismatch {
                given: framework_id.value,
                inside: info.id.map(|id| id.value).unwrap_or_default(),
            });
        }
        let framework = Framework {
            id: framework_id.clone(),
            roles: framework_roles(&info),
            suppressed_roles: options.suppressed_roles,
            capabilities: FrameworkCapabilities::of(&info),
            offer_filters: FastMap::default(),
            active,
            min_allocatable_resources: unpack_offer_filters(&info),
        };
        let roles: Vec<(String, bool)> =
            framework.roles.iter().map(|r| (r.clone(), framework.suppressed_roles.contains(r))).collect();
        self.frameworks.insert(framework_id.value.clone(), framework);

        for (role, suppressed) in roles {
            self.track_framework_under_role(&framework_id, &role)?;
            let sorter = self.framework_sorter(&role)?;
            if suppressed {
                sorter.deactivate(&framework_id.value)?;
            } else {
                sorter.activate(&framework_id.value)?;
            }
        }

        for (slave_id, resources) in used {
            // The master may name agents the allocator has not been told about yet.
            if !self.slaves.contains_key(&slave_id) {
                continue;
            }
            self.track_allocated_resources(&slave_id, &framework_id, &resources)?;
            self.role_tree.track_allocated(&slave_id, &resources)?;
        }

        tracing::info!(framework = %framework_id.value, "added framework");
        if active {
            self.generate_offers(ctx, None);
        } else {
            self.deactivate_framework(ctx, framework_id)?;
        }
        Ok(())
    }

    /// C++ `removeFramework`: frees everything offered or allocated to the framework.
    pub fn remove_framework(&mut self, _ctx: &mut Context<Self>, framework_id: FrameworkId) -> Outcome {
        self.check_initialized()?;
        self.changed();
        self.framework(&framework_id)?;
        let held: Vec<(SlaveId, Resources)> = self
            .slaves
            .iter()
            .filter_map(|(id, slave)| slave.offered_or_allocated.get(&framework_id).map(|r| (id.clone(), r.clone())))
            .collect();
        for (slave_id, resources) in held {
            self.untrack_allocated_resources(&slave_id, &framework_id, &resources)?;
            if let Some(slave) = self.slaves.get_mut(&slave_id) {
                slave.increase_available(&framework_id, &resources);
            }
        }
        let roles: Vec<String> = self.framework(&framework_id)?.roles.iter().cloned().collect();
        for role in roles {
            if !self.try_untrack_framework_under_role(&framework_id, &role)? {
                tracing::warn!(framework = %framework_id.value, role, "framework still holds resources in role");
            }
        }
        self.frameworks.remove(&framework_id.value);
        tracing::info!(framework = %framework_id.value, "removed framework");
        Ok(())
    }

    /// C++ `activateFramework`: offers again in every role not suppressed.
    pub fn activate_framework(&mut self, ctx: &mut Context<Self>, framework_id: FrameworkId) -> Outcome {
        self.check_initialized()?;
        self.changed();
        let framework = self.framework_mut(&framework_id)?;
        framework.active = true;
        let roles: Vec<String> = framework.roles.difference(&framework.suppressed_roles).cloned().collect();
        for role in roles {
            self.framework_sorter(&role)?.activate(&framework_id.value)?;
        }
        tracing::info!(framework = %framework_id.value, "activated framework");
        self.generate_offers(ctx, None);
        Ok(())
    }

    /// C++ `deactivateFramework`: no more offers; the allocation stays recorded; all filters
    /// are dropped.
    pub fn deactivate_framework(&mut self, _ctx: &mut Context<Self>, framework_id: FrameworkId) -> Outcome {
        self.check_initialized()?;
        self.changed();
        let roles: Vec<String> = self.framework(&framework_id)?.roles.iter().cloned().collect();
        for role in roles {
            self.framework_sorter(&role)?.deactivate(&framework_id.value)?;
        }
        let framework = self.framework_mut(&framework_id)?;
        framework.active = false;
        framework.offer_filters.clear();
        tracing::info!(framework = %framework_id.value, "deactivated framework");
        Ok(())
    }

    /// C++ `updateFramework`: new roles, capabilities, offer filters and suppressed roles.
    pub fn update_framework(
        &mut self,
        _ctx: &mut Context<Self>,
        framework_id: FrameworkId,
        info: FrameworkInfo,
        options: FrameworkOptions,
    ) -> Outcome {
        self.check_initialized()?;
        self.changed();
        let framework = self.framework(&framework_id)?;
        let old_roles = framework.roles.clone();
        let new_roles = framework_roles(&info);
        let old_suppressed = framework.suppressed_roles.clone();

        for role in new_roles.difference(&old_roles) {
            // A framework can leave a role while still holding resources in it, so it may be
            // tracked there already.
            if !self.is_framework_tracked_under_role(&framework_id, role) {
                self.track_framework_under_role(&framework_id, role)?;
            }
            self.framework_sorter(role)?.activate(&framework_id.value)?;
        }
        for role in old_roles.difference(&new_roles) {
            self.framework_sorter(role)?.deactivate(&framework_id.value)?;
            self.try_untrack_framework_under_role(&framework_id, role)?;
            let framework = self.framework_mut(&framework_id)?;
            framework.offer_filters.remove(role);
            framework.suppressed_roles.remove(role);
        }

        let framework = self.framework_mut(&framework_id)?;
        framework.roles = new_roles.clone();
        framework.capabilities = FrameworkCapabilities::of(&info);
        framework.min_allocatable_resources = unpack_offer_filters(&info);

        let to_suppress: BTreeSet<String> = options.suppressed_roles.difference(&old_suppressed).cloned().collect();
        let to_revive: BTreeSet<String> =
            old_suppressed.difference(&options.suppressed_roles).filter(|r| new_roles.contains(*r)).cloned().collect();
        self.suppress_roles(&framework_id, &to_suppress)?;
        self.revive_roles(&framework_id, &to_revive)?;
        Ok(())
    }

    /// C++ `addSlave`. `used` is what frameworks already run there; frameworks not yet added
    /// are not tracked in the sorters until the master adds them.
    pub fn add_slave(
        &mut self,
        ctx: &mut Context<Self>,
        slave_id: SlaveId,
        info: SlaveInfo,
        capabilities: Vec<slave_info::Capability>,
        total: Resources,
        used: HashMap<FrameworkId, Resources>,
    ) -> Outcome {
        self.check_initialized()?;
        self.changed();
        if self.slaves.contains_key(&slave_id) {
            return Err(AllocatorError::SlaveExists(slave_id.value));
        }
        if info.id.as_ref() != Some(&slave_id) {
            return Err(AllocatorError::IdMismatch {
                given: slave_id.value,
                inside: info.id.map(|id| id.value).unwrap_or_default(),
            });
        }
        let quantities = ResourceQuantities::from_scalar_resources(&total.scalars());
        let reserved = total.reserved(None);
        let slave = Slave::new(info, SlaveCapabilities::of(&capabilities), total, &used);
        let described = format!("{} ({}) with {}", slave_id.value, slave.info.hostname, slave.total);
        self.slaves.insert(slave_id.clone(), slave);

        self.role_tree.track_reservations(&reserved);
        self.total_scalar_quantities += &quantities;
        self.role_sorter.add_slave(&slave_id, quantities.clone())?;
        for sorter in self.framework_sorters.values_mut() {
            sorter.add_slave(&slave_id, quantities.clone())?;
        }
        for (framework_id, allocation) in &used {
            // A framework the master has not added yet is tracked once it is (C++ leaves the
            // same window open).
            if self.frameworks.contains_key(&framework_id.value) {
                self.track_allocated_resources(&slave_id, framework_id, allocation)?;
                self.role_tree.track_allocated(&slave_id, allocation)?;
            }
        }
        tracing::info!(agent = %described, "added agent");
        self.generate_offers(ctx, Some(HashSet::from([slave_id])));
        Ok(())
    }

    /// C++ `removeSlave`: forgets the agent and every filter for it.
    pub fn remove_slave(&mut self, _ctx: &mut Context<Self>, slave_id: SlaveId) -> Outcome {
        self.check_initialized()?;
        self.changed();
        let slave = self.slave(&slave_id)?;
        let held: Vec<(FrameworkId, Resources)> =
            slave.offered_or_allocated.iter().map(|(f, r)| (f.clone(), r.clone())).collect();
        let in_use = slave.total_allocated.clone();
        let reserved = slave.total.reserved(None);
        // Untracking offers may take roles out of the tree, so what tasks use goes first.
        if let Err(error) = self.role_tree.untrack_allocated(&slave_id, &in_use) {
            tracing::warn!(%error, agent = %slave_id.value, "resources used on the removed agent were not tracked");
        }
        for (framework_id, resources) in held {
            self.untrack_allocated_resources(&slave_id, &framework_id, &resources)?;
        }
        self.role_sorter.remove_slave(&slave_id)?;
        for sorter in self.framework_sorters.values_mut() {
            sorter.remove_slave(&slave_id)?;
        }
        if let Err(error) = self.role_tree.untrack_reservations(&reserved) {
            tracing::warn!(%error, agent = %slave_id.value, "reservations on the removed agent were not tracked");
        }
        if let Some(slave) = self.slaves.remove(&slave_id) {
            self.total_scalar_quantities -= &ResourceQuantities::from_scalar_resources(&slave.total.scalars());
        }
        self.allocation_candidates.remove(&slave_id);
        self.remove_filters(&slave_id);
        tracing::info!(agent = %slave_id.value, "removed agent");
        Ok(())
    }

    /// C++ `updateSlave`: a new `SlaveInfo`, and optionally a new total or capabilities.
    /// Changed attributes drop every filter for the agent; any change triggers a run for it.
    pub fn update_slave(
        &mut self,
        ctx: &mut Context<Self>,
        slave_id: SlaveId,
        info: SlaveInfo,
        total: Option<Resources>,
        capabilities: Option<Vec<slave_info::Capability>>,
    ) -> Outcome {
        self.check_initialized()?;
        self.changed();
        if info.id.as_ref() != Some(&slave_id) {
            return Err(AllocatorError::IdMismatch {
                given: slave_id.value,
                inside: info.id.map(|id| id.value).unwrap_or_default(),
            });
        }
        let slave = self.slave(&slave_id)?;
        let mut updated = false;
        let old_attributes: Attributes = slave.info.attributes.iter().cloned().collect();
        let new_attributes: Attributes = info.attributes.iter().cloned().collect();
        if old_attributes != new_attributes {
            updated = true;
            self.remove_filters(&slave_id);
        }
        let slave =
            self.slaves.get_mut(&slave_id).ok_or_else(|| AllocatorError::UnknownSlave(slave_id.value.clone()))?;
        if slave.info != info {
            updated = true;
            slave.info = info;
        }
        if let Some(capabilities) = capabilities {
            let new = SlaveCapabilities::of(&capabilities);
            if new != slave.capabilities {
                updated = true;
                slave.capabilities = new;
                tracing::info!(agent = %slave_id.value, "agent updated with new capabilities");
            }
        }
        if let Some(total) = total {
            tracing::info!(agent = %slave_id.value, total = %total, "agent updated with total resources");
            updated = self.update_slave_total(&slave_id, total)? || updated;
        }
        if updated {
            self.generate_offers(ctx, Some(HashSet::from([slave_id])));
        }
        Ok(())
    }

    /// C++ `activateSlave`.
    pub fn activate_slave(&mut self, _ctx: &mut Context<Self>, slave_id: SlaveId) -> Outcome {
        self.check_initialized()?;
        self.changed();
        self.slaves.get_mut(&slave_id).ok_or_else(|| AllocatorError::UnknownSlave(slave_id.value.clone()))?.activated =
            true;
        tracing::info!(agent = %slave_id.value, "agent reactivated");
        Ok(())
    }

    /// C++ `deactivateSlave`: no offers from it until it is activated again.
    pub fn deactivate_slave(&mut self, _ctx: &mut Context<Self>, slave_id: SlaveId) -> Outcome {
        self.check_initialized()?;
        self.changed();
        self.slaves.get_mut(&slave_id).ok_or_else(|| AllocatorError::UnknownSlave(slave_id.value.clone()))?.activated =
            false;
        tracing::info!(agent = %slave_id.value, "agent deactivated");
        Ok(())
    }

    /// C++ `updateWhitelist`: `None` offers every agent; otherwise only agents whose hostname
    /// is listed.
    pub fn update_whitelist(&mut self, _ctx: &mut Context<Self>, whitelist: Option<HashSet<String>>) -> Outcome {
        self.check_initialized()?;
        self.changed();
        match &whitelist {
            Some(list) if list.is_empty() => tracing::warn!("whitelist is empty, no offers will be made"),
            Some(_) => tracing::info!("updated agent whitelist"),
            None => tracing::info!("advertising offers for all agents"),
        }
        self.whitelist = whitelist;
        Ok(())
    }

    /// C++ `requestResources`: logged, nothing else (as in C++).
    pub fn request_resources(&mut self, _ctx: &mut Context<Self>, framework_id: FrameworkId) -> Outcome {
        self.check_initialized()?;
        tracing::info!(framework = %framework_id.value, "received resource request");
        Ok(())
    }

    /// C++ `updateAllocation` without resource conversions: replaces `offered` (resources
    /// offered or allocated to the framework on the agent, in one role) by `updated`, e.g.
    /// after a reservation or volume was made from them. The agent's total takes the same
    /// change, with allocation info stripped.
    pub fn update_allocation(
        &mut self,
        _ctx: &mut Context<Self>,
        framework_id: FrameworkId,
        slave_id: SlaveId,
        offered: Resources,
        updated: Resources,
    ) -> Outcome {
        self.check_initialized()?;
        self.changed();
        self.framework(&framework_id)?;
        let role = single_role(&offered)?;
        if single_role(&updated)? != role {
            return Err(AllocatorError::NotSingleRole(updated.to_string()));
        }
        let slave = self.slave(&slave_id)?;
        if !slave.holds(&framework_id, &offered) {
            return Err(AllocatorError::NotOfferedOrAllocated {
                agent: slave_id.value,
                resources: offered.to_string(),
            });
        }
        let mut old_unallocated = offered.clone();
        old_unallocated.unallocate();
        let mut new_unallocated = updated.clone();
        new_unallocated.unallocate();
        let new_total = &(&slave.total - &old_unallocated) + &new_unallocated;

        let slave =
            self.slaves.get_mut(&slave_id).ok_or_else(|| AllocatorError::UnknownSlave(slave_id.value.clone()))?;
        slave.increase_available(&framework_id, &offered);
        slave.decrease_available(&framework_id, &updated, &new_unallocated);
        self.role_tree.untrack_offered_or_allocated(&slave_id, &offered)?;
        self.role_tree.track_offered_or_allocated(&slave_id, &updated)?;
        self.framework_sorter(&role)?.update(&framework_id.value, &slave_id, &offered, &updated)?;
        self.role_sorter.update(&role, &slave_id, &offered, &updated)?;
        self.update_slave_total(&slave_id, new_total)?;
        tracing::info!(framework = %framework_id.value, agent = %slave_id.value, from = %offered, to = %updated,
            "updated allocation");
        Ok(())
    }

    /// C++ `transitionOfferedToAllocated`: tasks now use these offered resources.
    pub fn transition_offered_to_allocated(
        &mut self,
        _ctx: &mut Context<Self>,
        slave_id: SlaveId,
        resources: Resources,
    ) -> Outcome {
        self.slaves
            .get_mut(&slave_id)
            .ok_or_else(|| AllocatorError::UnknownSlave(slave_id.value.clone()))?
            .total_allocated += &resources;
        self.role_tree.track_allocated(&slave_id, &resources)?;
        Ok(())
    }

    /// C++ `recoverResources`: resources offered or allocated to a framework come back
    /// (decline, rescind, task end). With `filters`, the framework will not be offered them
    /// (or any subset) on this agent in this role for `refuse_seconds`.
    pub fn recover_resources(
        &mut self,
        ctx: &mut Context<Self>,
        framework_id: FrameworkId,
        slave_id: SlaveId,
        resources: Resources,
        filters: Option<Filters>,
        is_allocated: bool,
    ) -> Outcome {
        self.check_initialized()?;
        if resources.is_empty() {
            return Ok(());
        }
        if is_allocated {
            if let Some(slave) = self.slaves.get_mut(&slave_id) {
                if slave.total_allocated.contains(&resources) {
                    slave.total_allocated -= &resources;
                    self.role_tree.untrack_allocated(&slave_id, &resources)?;
                } else {
                    tracing::warn!(agent = %slave_id.value, resources = %resources, "recovered resources were not allocated");
                }
            }
        }
        // The framework or agent may be gone already: `Master::offer` was dispatched before the
        // allocator heard of the removal, which recovered everything.
        if !self.frameworks.contains_key(&framework_id.value) || !self.slaves.contains_key(&slave_id) {
            return Ok(());
        }
        let role = single_role(&resources)?;
        let slave = self.slave(&slave_id)?;
        if !slave.holds(&framework_id, &resources) {
            return Err(AllocatorError::NotOfferedOrAllocated {
                agent: slave_id.value,
                resources: resources.to_string(),
            });
        }
        if let Some(slave) = self.slaves.get_mut(&slave_id) {
            slave.increase_available(&framework_id, &resources);
        }
        tracing::debug!(agent = %slave_id.value, framework = %framework_id.value, resources = %resources, "recovered resources");
        if self.framework_sorter(&role)?.contains(&framework_id.value) {
            self.untrack_allocated_resources(&slave_id, &framework_id, &resources)?;
        }

        let Some(filters) = filters else { return Ok(()) };
        let timeout = refuse_timeout(&filters);
        if timeout.is_zero() {
            return Ok(());
        }
        // The filter must outlive the next allocation run for this agent (MESOS-4302).
        let timeout = timeout.max(self.options.allocation_interval);
        let mut unallocated = resources;
        unallocated.unallocate();
        let unallocated = match self.slaves.get_mut(&slave_id) {
            Some(slave) => slave.intern_refusal(unallocated),
            None => unallocated,
        };
        let id = self.next_filter_id;
        self.next_filter_id += 1;
        tracing::debug!(framework = %framework_id.value, agent = %slave_id.value, ?timeout, "framework filtered agent");
        if let Some(framework) = self.frameworks.get_mut(&framework_id.value) {
            framework
                .offer_filters
                .entry(role.clone())
                .or_default()
                .entry(slave_id.clone())
                .or_default()
                .push(OfferFilter::new(id, unallocated));
        }
        // Timer -> dispatch -> dispatch, as C++'s `after` -> `defer(expire)` -> `_expire`, so a
        // periodic run due at the same instant goes first.
        ctx.delay(timeout, move |_this: &mut Self, ctx| {
            ctx.pid().dispatch_void(move |this, _ctx| this.expire_filter(&framework_id, &role, &slave_id, id));
        });
        Ok(())
    }

    /// C++ `_expire`: removes a filter unless it is gone already (revive, deactivation,
    /// removal).
    fn expire_filter(&mut self, framework_id: &FrameworkId, role: &str, slave_id: &SlaveId, id: u64) {
        // A filter going away may let an offer through that was refused.
        self.changed();
        let Some(framework) = self.frameworks.get_mut(&framework_id.value) else { return };
        let Some(role_filters) = framework.offer_filters.get_mut(role) else { return };
        let Some(agent_filters) = role_filters.get_mut(slave_id) else { return };
        agent_filters.retain(|f| f.id != id);
        if agent_filters.is_empty() {
            role_filters.remove(slave_id);
        }
        if role_filters.is_empty() {
            framework.offer_filters.remove(role);
        }
    }

    /// C++ `suppressOffers`: no offers for `roles` (all the framework's roles if empty).
    pub fn suppress_offers(
        &mut self,
        _ctx: &mut Context<Self>,
        framework_id: FrameworkId,
        roles: BTreeSet<String>,
    ) -> Outcome {
        self.check_initialized()?;
        self.changed();
        let framework = self.framework(&framework_id)?;
        let roles = if roles.is_empty() { framework.roles.clone() } else { roles };
        self.suppress_roles(&framework_id, &roles)
    }

    fn suppress_roles(&mut self, framework_id: &FrameworkId, roles: &BTreeSet<String>) -> Outcome {
        self.check_roles_tracked(framework_id, roles)?;
        for role in roles {
            self.framework_sorter(role)?.deactivate(&framework_id.value)?;
            self.framework_mut(framework_id)?.suppressed_roles.insert(role.clone());
        }
        tracing::info!(framework = %framework_id.value, ?roles, "suppressed offers for roles");
        Ok(())
    }

    /// C++ `reviveOffers`: unsuppresses `roles` (all the framework's roles if empty), clears
    /// their filters and runs an allocation over all agents.
    pub fn revive_offers(
        &mut self,
        ctx: &mut Context<Self>,
        framework_id: FrameworkId,
        roles: BTreeSet<String>,
    ) -> Outcome {
        self.check_initialized()?;
        self.changed();
        let framework = self.framework(&framework_id)?;
        let roles = if roles.is_empty() { framework.roles.clone() } else { roles };
        self.revive_roles(&framework_id, &roles)?;
        self.generate_offers(ctx, None);
        Ok(())
    }

    fn revive_roles(&mut self, framework_id: &FrameworkId, roles: &BTreeSet<String>) -> Outcome {
        self.check_roles_tracked(framework_id, roles)?;
        let framework = self.framework_mut(framework_id)?;
        for role in roles {
            framework.offer_filters.remove(role);
        }
        for role in roles {
            self.framework_sorter(role)?.activate(&framework_id.value)?;
            self.framework_mut(framework_id)?.suppressed_roles.remove(role);
        }
        tracing::info!(framework = %framework_id.value, ?roles, "unsuppressed offers and cleared filters for roles");
        Ok(())
    }

    /// C++ would CHECK-fail on a role without a framework sorter; refuse the whole call.
    fn check_roles_tracked(&self, framework_id: &FrameworkId, roles: &BTreeSet<String>) -> Outcome {
        match roles.iter().find(|role| !self.is_framework_tracked_under_role(framework_id, role)) {
            Some(role) => {
                Err(AllocatorError::UnknownRole { framework: framework_id.value.clone(), role: role.clone() })
            }
            None => Ok(()),
        }
    }

    /// C++ `updateWeights`. No allocation is triggered; the next run sees the weights.
    pub fn update_weights(&mut self, _ctx: &mut Context<Self>, weights: Vec<WeightInfo>) -> Outcome {
        self.check_initialized()?;
        self.changed();
        if let Some(w) = weights.iter().find(|w| w.role.is_none()) {
            return Err(AllocatorError::WeightWithoutRole(w.weight));
        }
        for w in &weights {
            self.role_sorter.update_weight(w.role(), w.weight)?;
            self.role_tree.update_weight(w.role(), w.weight);
        }
        Ok(())
    }

    /// C++ `updateQuota`: the role's guarantees and limits (the default quota removes them).
    /// No allocation is triggered; the next run sees the quota. Only valid top-level roles
    /// may have quota.
    pub fn update_quota(&mut self, _ctx: &mut Context<Self>, role: String, quota: Quota) -> Outcome {
        self.check_initialized()?;
        self.changed();
        if role.contains('/') || res::validate_role(&role).is_err() {
            return Err(AllocatorError::InvalidQuotaRole(role));
        }
        tracing::info!(role, %quota, "updated quota");
        if let Some(metrics) = &mut self.metrics {
            metrics.update_quota(&role, &quota);
        }
        self.role_tree.update_quota(&role, quota);
        Ok(())
    }

    /// C++ `pause`: allocation runs are skipped until `resume`.
    pub fn pause(&mut self, _ctx: &mut Context<Self>) {
        if !self.paused {
            tracing::debug!("allocation paused");
            self.paused = true;
        }
    }

    /// C++ `resume`.
    pub fn resume(&mut self, _ctx: &mut Context<Self>) {
        if self.paused {
            tracing::debug!("allocation resumed");
            self.paused = false;
        }
    }

    /// C++ `generateOffers`: adds agents (all if `None`) to the candidates and queues one run
    /// unless one is queued already.
    fn generate_offers(&mut self, ctx: &mut Context<Self>, slave_ids: Option<HashSet<SlaveId>>) {
        if self.paused {
            tracing::trace!("skipped allocation because the allocator is paused");
            return;
        }
        match slave_ids {
            Some(ids) => self.allocation_candidates.extend(ids),
            None => self.allocation_candidates.extend(self.slaves.keys().cloned()),
        }
        if !self.run_pending {
            self.run_pending = true;
            self.run_requested_at = Some(ctx.now());
            ctx.pid().dispatch_void(|this: &mut Self, ctx| this.run_allocation(ctx));
        }
    }

    /// C++ `_generateOffers`.
    fn run_allocation(&mut self, ctx: &mut Context<Self>) {
        self.run_pending = false;
        let now = ctx.now();
        if let (Some(metrics), Some(requested)) = (&self.metrics, self.run_requested_at.take()) {
            metrics.allocation_run_latency.record(now.saturating_since(requested));
        }
        if !self.paused {
            if let Some(metrics) = &self.metrics {
                metrics.allocation_runs.increment();
            }
            let started = std::time::Instant::now();
            let candidates = self.allocation_candidates.len();
            self.allocate();
            let elapsed = started.elapsed();
            if let Some(metrics) = &self.metrics {
                metrics.allocation_run.record(elapsed);
            }
            tracing::debug!(agents = candidates, ?elapsed, "performed allocation");
            self.allocation_candidates.clear();
        }
        if self.tick_waiting {
            self.tick_waiting = false;
            self.schedule_periodic_run(ctx);
        }
    }

    /// C++ `__generateOffers`: both stages over the candidate agents, then one offer
    /// callback per framework. See the module docs for the stages.
    fn allocate(&mut self) {
        let mut slave_ids: Vec<SlaveId> = self
            .allocation_candidates
            .iter()
            .filter(|id| self.slaves.get(*id).is_some_and(|s| s.activated && self.is_whitelisted(s)))
            .cloned()
            .collect();
        // Hash order is not reproducible; sort first so the seed alone decides the order.
        slave_ids.sort_unstable_by(|a, b| a.value.cmp(&b.value));
        self.shuffler.shuffle(&mut slave_ids);

        let mut run = AllocationRun::default();

        // Quota consumed so far by the top-level roles with a non-default quota.
        let mut log_headroom = false;
        for child in self.role_tree.root().children() {
            let Some(role) = self.role_tree.get(child) else { continue };
            if !role.quota().is_default() {
                log_headroom = true;
                run.consumed_quota.insert(child.to_owned(), role.quota_offered_or_consumed());
            }
        }
        // Unreserved scalars to hold back so that every guarantee can still be met: the sum
        // over roles of what their guarantees exceed their consumption by. Reservations
        // beyond a guarantee leave nothing to hold back for it.
        for child in self.role_tree.root().children() {
            let Some(role) = self.role_tree.get(child) else { continue };
            if let Some(consumed) = run.consumed_quota.get(child) {
                run.required_headroom += &(&role.quota().guarantees - consumed);
            }
        }
        // What can serve as headroom: the unallocated unreserved non-revocable scalars, i.e.
        // the total minus what is allocated, minus unallocated reservations, minus unallocated
        // revocable resources. It is only read while some headroom is required, and the
        // requirement only shrinks during a run.
        if log_headroom || !run.required_headroom.is_empty() {
            let mut available = self.total_scalar_quantities.clone();
            available -= self.role_sorter.total_allocation_scalar_quantities();
            let root = self.role_tree.root();
            available -=
                &(root.reservation_scalar_quantities() - root.offered_or_allocated_reserved_scalar_quantities());
            for slave in self.slaves.values() {
                available -= &ResourceQuantities::from_scalar_resources(&slave.available.revocable().scalars());
            }
            run.available_headroom = available;
        }
        if log_headroom {
            tracing::info!(required = %run.required_headroom, available = %run.available_headroom,
                "before allocation, quota headroom");
        }

        // Stage 1: roles with unsatisfied guarantees first. Holding back headroom alone does
        // not secure a guarantee (a framework's filters or capabilities may rule out what was
        // held back), so these roles get the first pick of every agent. (Only top-level roles
        // have quota, and a satisfied guarantee stays satisfied during the run.)
        let unsatisfied = run.consumed_quota.keys().any(|role| self.has_unsatisfied_guarantees(&run, role));
        for slave_id in slave_ids.iter().filter(|_| unsatisfied) {
            for role in self.role_sorter.sort_clients().iter() {
                if self.slaves.get(slave_id).is_none_or(|s| s.available.is_empty()) {
                    break;
                }
                if self.has_unsatisfied_guarantees(&run, role) {
                    self.offer_to_role(&mut run, slave_id, role, Stage::Guarantees);
                }
            }
        }

        // Stage 2: everyone, within limits and the headroom. A second shuffle spreads the
        // first stage's preference for the agents at the front.
        self.shuffler.shuffle(&mut slave_ids);
        for slave_id in &slave_ids {
            for role in self.role_sorter.sort_clients().iter() {
                if self.slaves.get(slave_id).is_none_or(|s| s.available.is_empty()) {
                    break;
                }
                self.offer_to_role(&mut run, slave_id, role, Stage::Everyone);
            }
        }

        if log_headroom {
            tracing::info!(required = %run.required_headroom, held_back = %run.held_back,
                agents = run.held_back_agents, "after allocation, quota headroom");
        }
        if run.offerable.is_empty() {
            tracing::trace!("no allocations performed");
            return;
        }
        if let Some(callback) = &self.offer_callback {
            for (framework_id, offers) in run.offerable {
                callback(&framework_id, offers);
            }
        }
    }

    /// Whether a role takes part in the first stage: it has frameworks, and guarantees its
    /// consumption does not cover yet.
    fn has_unsatisfied_guarantees(&self, run: &AllocationRun, role: &str) -> bool {
        let Some(node) = self.role_tree.get(role) else { return false };
        let guarantees = &node.quota().guarantees;
        if guarantees.is_empty() || node.frameworks().is_empty() {
            return false;
        }
        run.consumed_quota.get(role).is_none_or(|consumed| !consumed.contains(guarantees))
    }

    /// One stage's offers of one agent to the frameworks of one role, in the role's DRF
    /// order. Until an offer is made, what a framework would get depends on the framework
    /// only through the capabilities that strip resources, so it is worked out once per such
    /// set of capabilities, and again after each offer.
    fn offer_to_role(&mut self, run: &mut AllocationRun, slave_id: &SlaveId, role: &str, stage: Stage) {
        let quota = self.role_tree.quota(role);
        if stage == Stage::Everyone {
            let Some(slave) = self.slaves.get(slave_id) else { return };
            if at_limits_here(&slave.available, role, &quota, run.consumed_quota.get(role)) {
                return;
            }
        }
        let Some(framework_sorter) = self.framework_sorters.get_mut(role) else { return };
        let order = framework_sorter.sort_clients();
        // An agent left as it was, with the same frameworks asked in the same circumstances,
        // gets the same answers: frameworks that refused it (say, declining for long) are
        // not asked again and again. The circumstances: the second stage, no quota cut (no
        // limits, no headroom to hold back), no shared resources offered from it this run.
        let stamp = (stage == Stage::Everyone
            && quota.limits.is_empty()
            && run.required_headroom.is_empty()
            && !run.offered_shared.contains_key(slave_id))
        .then(|| self.slaves.get(slave_id))
        .flatten()
        .map(|slave| Quiet {
            generation: slave.generation,
            membership: framework_sorter.membership(),
            epoch: self.epoch,
        });
        if let Some(stamp) = stamp {
            if self.slaves.get(slave_id).and_then(|s| s.quiet.get(role)) == Some(&stamp) {
                return;
            }
        }
        let mut offered = false;
        let mut unsatisfied = match stage {
            Stage::Guarantees => &quota.guarantees - run.consumed_quota.get(role).unwrap_or(&ResourceQuantities::new()),
            Stage::Everyone => ResourceQuantities::new(),
        };
        let mut cache: Option<OfferCache> = None;

        for framework_value in order.iter() {
            if stage == Stage::Guarantees && unsatisfied.is_empty() {
                break;
            }
            let (Some(framework), Some(slave)) = (self.frameworks.get(&**framework_value), self.slaves.get(slave_id))
            else {
                continue;
            };
            // Shared resources go into one offer per run at most.
            let current = cache.get_or_insert_with(|| {
                let mut available = slave.available.allocatable_to(role);
                if let Some(shared) = run.offered_shared.get(slave_id) {
                    available -= shared;
                }
                OfferCache { available, available_allocatable: None, candidates: Vec::new() }
            });
            if current.available.is_empty() {
                break;
            }
            if !self.allocatable_cached(&current.available, role, framework, &mut current.available_allocatable)
                || !self.is_capable_of_receiving_agent(framework, slave)
            {
                continue;
            }
            let key = StripKey::of(framework.capabilities);
            let index = match current.candidates.iter().position(|(k, _)| *k == key) {
                Some(index) => index,
                None => {
                    let stripped = strip_incapable_resources(&current.available, framework.capabilities);
                    let candidate = match stage {
                        Stage::Guarantees => {
                            guarantees_candidate(&mut self.shuffler, run, role, &quota, &unsatisfied, &stripped)
                        }
                        Stage::Everyone => Some(everyone_candidate(&mut self.shuffler, run, role, &quota, stripped)),
                    };
                    current.candidates.push((key, candidate));
                    current.candidates.len() - 1
                }
            };
            let Some(candidate) = &mut current.candidates[index].1 else { continue };
            // Shared resources offered earlier in this run make the offer depend on the run.
            let offer_key = (candidate.whole && !run.offered_shared.contains_key(slave_id))
                .then_some(OfferKey { generation: slave.generation, strip: key });
            if !self.allocatable_cached(&candidate.to_offer, role, framework, &mut candidate.allocatable)
                || is_filtered(framework, role, slave, &candidate.to_offer, offer_key)
            {
                continue;
            }

            let Some(candidate) = current.candidates.swap_remove(index).1 else { continue };
            // What the agent has left is about to change.
            cache = None;
            let Candidate { to_offer: taken, guaranteed, increase, held_back, .. } = candidate;
            if let Some(held_back) = held_back {
                run.held_back += &held_back;
                run.held_back_agents += 1;
            }
            let framework_id = framework.id.clone();
            let to_offer = match self.slaves.get_mut(slave_id) {
                Some(slave) => slave.offer(&framework_id, taken, role),
                None => {
                    let mut to_offer = taken;
                    to_offer.allocate(role);
                    to_offer
                }
            };
            tracing::trace!(agent = %slave_id.value, role, framework = %framework_id.value, offer = %to_offer,
                ?stage, "offering");
            let shared = to_offer.shared();
            if !shared.is_empty() {
                *run.offered_shared.entry(slave_id.clone()).or_default() += &shared;
            }

            // The role's consumption (and its ancestors') grows by the unreserved
            // non-revocable scalars offered.
            if stage == Stage::Guarantees || !quota.is_default() {
                for path in role_and_ancestors(role) {
                    *run.consumed_quota.entry(path.to_owned()).or_default() += &increase;
                }
            }
            if stage == Stage::Guarantees {
                unsatisfied -= &increase;
                run.required_headroom -= &guaranteed;
            }
            run.available_headroom -= &increase;

            if let Err(error) = self.track_allocated_resources(slave_id, &framework_id, &to_offer) {
                tracing::warn!(%error, "allocator bookkeeping failed while offering");
            }
            let by_agent = run.offerable.entry(framework_id).or_default().entry(role.to_owned()).or_default();
            match by_agent.get_mut(slave_id) {
                Some(offered) => *offered += &to_offer,
                None => {
                    by_agent.insert(slave_id.clone(), to_offer);
                }
            }
            offered = true;
        }
        if let (Some(stamp), false) = (stamp, offered) {
            if let Some(slave) = self.slaves.get_mut(slave_id) {
                slave.quiet.insert(Arc::from(role), stamp);
            }
        }
    }

    /// Gauge `resources/<name>/total` (C++ `_resources_total`).
    pub(crate) fn resources_total(&self, name: &str) -> f64 {
        self.total_scalar_quantities.get(name).value
    }

    /// Gauge `resources/<name>/offered_or_allocated` (C++ `_resources_offered_or_allocated`).
    pub(crate) fn resources_offered_or_allocated(&self, name: &str) -> f64 {
        let mut sum = 0.0;
        for slave in self.slaves.values() {
            if slave.shared.is_empty() {
                let held = slave.offered_or_allocated.values().filter_map(|held| held.get_scalar(name));
                sum += held.map(|s| s.value).sum::<f64>();
            } else if let Some(scalar) = slave.offered_or_allocated_total().get_scalar(name) {
                // A shared resource held by several frameworks counts once.
                sum += scalar.value;
            }
        }
        sum
    }

    /// Gauge `quota/roles/<role>/resources/<name>/offered_or_allocated` (C++
    /// `_quota_offered_or_allocated`): what the role sorter holds for the role.
    pub(crate) fn quota_offered_or_allocated(&self, role: &str, name: &str) -> f64 {
        self.role_sorter.allocation_scalar_quantities(role).map_or(0.0, |q| q.get(name).value)
    }

    /// Gauge `offer_filters/roles/<role>/active` (C++ `_offer_filters_active`).
    pub(crate) fn offer_filters_active(&self, role: &str) -> f64 {
        self.frameworks
            .values()
            .filter_map(|f| f.offer_filters.get(role))
            .flat_map(|by_agent| by_agent.values())
            .map(|filters| filters.len() as f64)
            .sum()
    }

    /// Gauge `roles/<role>/shares/dominant`; zero once the role left the sorter.
    pub(crate) fn dominant_share(&mut self, role: &str) -> f64 {
        self.role_sorter.share(role).unwrap_or(0.0)
    }

    fn is_whitelisted(&self, slave: &Slave) -> bool {
        self.whitelist.as_ref().is_none_or(|list| list.contains(&slave.info.hostname))
    }

    /// C++ `allocatable`: non-empty, and containing one of the minimum quantity sets (the
    /// framework's own for the role if it set one).
    fn allocatable(&self, resources: &Resources, role: &str, framework: &Framework) -> bool {
        if resources.is_empty() {
            return false;
        }
        let minimum = framework.min_allocatable_resources.get(role).or(self.options.min_allocatable_resources.as_ref());
        allocatable_under(resources, minimum)
    }

    /// [`Self::allocatable`] for the frameworks that set no minimum of their own for `role`,
    /// worked out once in `answer`.
    fn allocatable_cached(
        &self,
        resources: &Resources,
        role: &str,
        framework: &Framework,
        answer: &mut Option<bool>,
    ) -> bool {
        if !framework.min_allocatable_resources.is_empty() && framework.min_allocatable_resources.contains_key(role) {
            return self.allocatable(resources, role, framework);
        }
        *answer.get_or_insert_with(|| {
            !resources.is_empty() && allocatable_under(resources, self.options.min_allocatable_resources.as_ref())
        })
    }

    /// C++ `isCapableOfReceivingAgent`: GPU agents only to GPU frameworks (if configured),
    /// agents in another region only to region-aware frameworks.
    fn is_capable_of_receiving_agent(&self, framework: &Framework, slave: &Slave) -> bool {
        if self.options.filter_gpu_resources && !framework.capabilities.gpu_resources && slave.has_gpu {
            return false;
        }
        framework.capabilities.region_aware || !self.is_remote_slave(slave)
    }

    /// C++ `isRemoteSlave`: the agent's fault-domain region differs from the master's. An
    /// agent with a region under a master without one counts as remote (C++ CHECK-fails).
    fn is_remote_slave(&self, slave: &Slave) -> bool {
        let Some(agent_region) = slave.info.domain.as_ref().and_then(|d| d.fault_domain.as_ref()).map(|f| &f.region)
        else {
            return false;
        };
        match self.options.domain.as_ref().and_then(|d| d.fault_domain.as_ref()) {
            Some(master) => master.region != *agent_region,
            None => true,
        }
    }

    /// C++ `removeFilters(slaveId)`.
    fn remove_filters(&mut self, slave_id: &SlaveId) {
        for framework in self.frameworks.values_mut() {
            for filters in framework.offer_filters.values_mut() {
                filters.remove(slave_id);
            }
            framework.offer_filters.retain(|_, filters| !filters.is_empty());
        }
        tracing::info!(agent = %slave_id.value, "removed all filters for agent");
    }

    fn is_framework_tracked_under_role(&self, framework_id: &FrameworkId, role: &str) -> bool {
        self.role_tree.get(role).is_some_and(|r| r.frameworks().contains(framework_id))
    }

    fn role_has_frameworks(&self, role: &str) -> bool {
        self.role_tree.get(role).is_some_and(|r| !r.frameworks().is_empty())
    }

    /// C++ `trackFrameworkUnderRole`: the first framework of a role brings the role into the
    /// role sorter and creates its framework sorter.
    fn track_framework_under_role(&mut self, framework_id: &FrameworkId, role: &str) -> Outcome {
        if !self.role_has_frameworks(role) {
            let mut sorter = DrfSorter::new(self.options.fairness_exclude_resource_names.clone());
            for (slave_id, slave) in &self.slaves {
                sorter.add_slave(slave_id, ResourceQuantities::from_scalar_resources(&slave.total.scalars()))?;
            }
            self.role_sorter.add(role)?;
            self.role_sorter.activate(role)?;
            self.framework_sorters.insert(role.to_owned(), sorter);
            if let Some(metrics) = &mut self.metrics {
                metrics.add_dominant_share(role);
            }
        }
        self.role_tree.track_framework(framework_id, role)?;
        self.framework_sorter(role)?.add(&framework_id.value)?;
        Ok(())
    }

    /// C++ `tryUntrackFrameworkUnderRole`: only once the framework holds nothing in the role;
    /// the last framework takes the role out of the role sorter.
    fn try_untrack_framework_under_role(
        &mut self,
        framework_id: &FrameworkId,
        role: &str,
    ) -> Result<bool, AllocatorError> {
        let sorter = self.framework_sorter(role)?;
        if !sorter.allocation(&framework_id.value)?.is_empty() {
            return Ok(false);
        }
        self.role_tree.untrack_framework(framework_id, role)?;
        self.framework_sorter(role)?.remove(&framework_id.value)?;
        if !self.role_has_frameworks(role) {
            self.role_sorter.remove(role)?;
            self.framework_sorters.remove(role);
            if let Some(metrics) = &mut self.metrics {
                metrics.remove_dominant_share(role);
            }
        }
        Ok(true)
    }

    /// C++ `trackAllocatedResources`: records offered or allocated resources in the role
    /// tree and the sorters, tracking the framework under roles it holds resources in
    /// without subscribing.
    fn track_allocated_resources(
        &mut self,
        slave_id: &SlaveId,
        framework_id: &FrameworkId,
        allocated: &Resources,
    ) -> Outcome {
        for (role, allocation) in by_allocation_role(allocated)?.iter() {
            if !self.is_framework_tracked_under_role(framework_id, role) {
                self.track_framework_under_role(framework_id, role)?;
            }
            self.role_tree.track_offered_or_allocated(slave_id, allocation)?;
            self.role_sorter.allocated(role, slave_id, allocation)?;
            self.framework_sorter(role)?.allocated(&framework_id.value, slave_id, allocation)?;
        }
        Ok(())
    }

    /// C++ `untrackAllocatedResources`.
    fn untrack_allocated_resources(
        &mut self,
        slave_id: &SlaveId,
        framework_id: &FrameworkId,
        allocated: &Resources,
    ) -> Outcome {
        for (role, allocation) in by_allocation_role(allocated)?.iter() {
            self.framework_sorter(role)?.unallocated(&framework_id.value, slave_id, allocation)?;
            self.role_sorter.unallocated(role, slave_id, allocation)?;
            self.role_tree.untrack_offered_or_allocated(slave_id, allocation)?;
            if !self.framework(framework_id)?.roles.contains(role) {
                self.try_untrack_framework_under_role(framework_id, role)?;
            }
        }
        Ok(())
    }

    /// C++ `updateSlaveTotal`: whether the total changed.
    fn update_slave_total(&mut self, slave_id: &SlaveId, total: Resources) -> Result<bool, AllocatorError> {
        let slave =
            self.slaves.get_mut(slave_id).ok_or_else(|| AllocatorError::UnknownSlave(slave_id.value.clone()))?;
        if slave.total == total {
            return Ok(false);
        }
        let old = ResourceQuantities::from_scalar_resources(&slave.total.scalars());
        let new = ResourceQuantities::from_scalar_resources(&total.scalars());
        let old_reserved = slave.total.reserved(None);
        let new_reserved = total.reserved(None);
        slave.update_total(total);
        if let Err(error) = self.role_tree.untrack_reservations(&old_reserved) {
            tracing::warn!(%error, agent = %slave_id.value, "reservations of the old total were not tracked");
        }
        self.role_tree.track_reservations(&new_reserved);
        self.total_scalar_quantities -= &old;
        self.total_scalar_quantities += &new;
        self.role_sorter.remove_slave(slave_id)?;
        self.role_sorter.add_slave(slave_id, new.clone())?;
        for sorter in self.framework_sorters.values_mut() {
            sorter.remove_slave(slave_id)?;
            sorter.add_slave(slave_id, new.clone())?;
        }
        Ok(true)
    }
}

/// Which stage of an allocation run is offering.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    /// Roles with unsatisfied quota guarantees, toward those guarantees.
    Guarantees,
    /// Every role.
    Everyone,
}

/// The state of one allocation run (the locals of C++ `__generateOffers`).
#[derive(Default)]
struct AllocationRun {
    /// What each framework is offered, by role and agent.
    offerable: FastMap<FrameworkId, OfferMap>,
    /// Shared resources offered on each agent this run (offered once per run).
    offered_shared: FastMap<SlaveId, Resources>,
    /// Consumed quota of the top-level roles with a quota, and of the roles offered to
    /// since (C++ `rolesConsumedQuota`).
    consumed_quota: FastMap<String, ResourceQuantities>,
    required_headroom: ResourceQuantities,
    available_headroom: ResourceQuantities,
    /// What the second stage held back for headroom, and from how many offers.
    held_back: ResourceQuantities,
    held_back_agents: usize,
}

/// What one agent has for one role in one stage, while nothing is offered from it.
#[derive(Default)]
struct OfferCache {
    /// The agent's resources the role may use, minus shared ones offered already.
    available: Resources,
    /// Whether `available` is allocatable under the global minimum, once asked.
    available_allocatable: Option<bool>,
    /// The offer for frameworks with these capabilities; `None` where the first stage has
    /// nothing toward the guarantees.
    candidates: Vec<(StripKey, Option<Candidate>)>,
}

/// The framework capabilities that change what may be offered (C++
/// `stripIncapableResources`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct StripKey {
    shared: bool,
    revocable: bool,
    refinement: bool,
}

impl StripKey {
    fn of(caps: FrameworkCapabilities) -> StripKey {
        StripKey {
            shared: caps.shared_resources,
            revocable: caps.revocable_resources,
            refinement: caps.reservation_refinement,
        }
    }
}

/// A prospective offer.
struct Candidate {
    /// Unallocated resources to offer.
    to_offer: Resources,
    /// The part of the unreserved non-revocable scalars that goes toward guarantees (first
    /// stage only).
    guaranteed: ResourceQuantities,
    /// All unreserved non-revocable scalars offered: the growth of consumed quota.
    increase: ResourceQuantities,
    /// Scalars the second stage held back for headroom.
    held_back: Option<ResourceQuantities>,
    /// Whether this is everything the role may have on the agent (stripped for the
    /// framework), nothing cut for quota.
    whole: bool,
    /// Whether `to_offer` is allocatable under the global minimum, once asked.
    allocatable: Option<bool>,
}

/// Unreserved non-revocable scalars: what quota is made of.
fn is_quota_resource(resource: &Resource) -> bool {
    resource.r#type() == ValueType::Scalar && res::is_unreserved(resource) && !res::is_revocable(resource)
}

/// The first stage's offer from `available` (already stripped for the framework) to `role`:
/// unreserved non-revocable scalars toward the unsatisfied guarantees (none: no offer); the
/// role's reservations, non-scalars and revocable resources; and further unreserved scalars
/// within the role's limits and the spare headroom. A role being given something toward its
/// guarantees may thus burst beyond them up to its limits in the same offer, which keeps
/// offers less fragmented.
fn guarantees_candidate(
    shuffler: &mut Shuffler,
    run: &AllocationRun,
    role: &str,
    quota: &Quota,
    unsatisfied: &ResourceQuantities,
    available: &Resources,
) -> Option<Candidate> {
    let quota_resources = available.filter(is_quota_resource);
    let towards = shrink_resources(&quota_resources, unsatisfied.clone(), |v| shuffler.shuffle(v));
    if towards.is_empty() {
        return None;
    }
    let guaranteed = ResourceQuantities::from_scalar_resources(&towards);
    let mut to_offer = &towards
        + &available
            .filter(|r| res::is_reserved(r, Some(role)) || r.r#type() != ValueType::Scalar || res::is_revocable(r));
    let mut additional = &quota_resources - &towards;
    if !quota.limits.is_empty() {
        let consumed = run.consumed_quota.get(role).cloned().unwrap_or_default();
        let room = &(&quota.limits - &consumed) - &guaranteed;
        additional = shrink_resources_to_limits(&additional, &room, |v| shuffler.shuffle(v));
    }
    if !run.required_headroom.is_empty() && !additional.is_empty() {
        // The guarantees offered come out of both the available and the required headroom,
        // so the surplus is the same before and after.
        let surplus = &run.available_headroom - &run.required_headroom;
        additional = shrink_resources(&additional, surplus, |v| shuffler.shuffle(v));
    }
    to_offer += &additional;
    let increase = &guaranteed + &ResourceQuantities::from_scalar_resources(&additional);
    Some(Candidate { to_offer, guaranteed, increase, held_back: None, whole: false, allocatable: None })
}

/// The second stage's offer from `available` (already stripped for the framework) to
/// `role`: all reservations (ancestors' included), non-scalars and revocable resources, and
/// the unreserved non-revocable scalars within the role's limits and the spare headroom.
fn everyone_candidate(
    shuffler: &mut Shuffler,
    run: &AllocationRun,
    role: &str,
    quota: &Quota,
    available: Resources,
) -> Candidate {
    if quota.limits.is_empty() && run.required_headroom.is_empty() {
        // Nothing to cut: everything is offered.
        let mut increase = ResourceQuantities::new();
        for resource in available.iter().filter(|r| is_quota_resource(r)) {
            increase.add_quantity(&resource.name, resource.scalar.unwrap_or_default());
        }
        return Candidate {
            to_offer: available,
            guaranteed: ResourceQuantities::new(),
            increase,
            held_back: None,
            whole: true,
            allocatable: None,
        };
    }
    let mut to_offer =
        available.filter(|r| res::is_reserved(r, None) || r.r#type() != ValueType::Scalar || res::is_revocable(r));
    let mut additional = available.filter(is_quota_resource);
    if !quota.limits.is_empty() {
        let consumed = run.consumed_quota.get(role).cloned().unwrap_or_default();
        additional = shrink_resources_to_limits(&additional, &(&quota.limits - &consumed), |v| shuffler.shuffle(v));
    }
    let mut held_back = None;
    if !run.required_headroom.is_empty() && !additional.is_empty() {
        let surplus = &run.available_headroom - &run.required_headroom;
        let shrunk = shrink_resources(&additional, surplus, |v| shuffler.shuffle(v));
        if shrunk != additional {
            held_back = Some(ResourceQuantities::from_scalar_resources(&(&additional - &shrunk)));
            additional = shrunk;
        }
    }
    to_offer += &additional;
    Candidate {
        to_offer,
        guaranteed: ResourceQuantities::new(),
        increase: ResourceQuantities::from_scalar_resources(&additional),
        held_back,
        whole: false,
        allocatable: None,
    }
}

/// Whether `resources` contain one of the minimum alternatives (none, or an empty list:
/// anything does).
fn allocatable_under(resources: &Resources, minimum: Option<&Vec<ResourceQuantities>>) -> bool {
    match minimum {
        None => true,
        Some(alternatives) if alternatives.is_empty() => true,
        Some(alternatives) => alternatives.iter().any(|q| contains_quantities(resources, q)),
    }
}

/// Whether the second stage has nothing for `role` on an agent with `available`: every
/// resource the role may use there is an unreserved non-revocable scalar its limits leave no
/// room for. (Anything else, or room, and the frameworks must be asked.)
fn at_limits_here(available: &Resources, role: &str, quota: &Quota, consumed: Option<&ResourceQuantities>) -> bool {
    if quota.limits.is_empty() {
        return false;
    }
    available.iter().filter(|r| res::is_allocatable_to(r, role)).all(|r| {
        is_quota_resource(r)
            && quota.limits.get(&r.name).is_some_and(|limit| {
                let used = consumed.map(|c| c.get(&r.name)).unwrap_or_default();
                limit.mesos_le(&used)
            })
    })
}

/// `a/b/c`, `a/b`, `a` for `a/b/c` (C++ `roles::ancestors` plus the role itself).
fn role_and_ancestors(role: &str) -> impl Iterator<Item = &str> {
    std::iter::successors(Some(role), |current| current.rfind('/').map(|i| &current[..i]))
}

/// The allocation role every resource carries, if they all carry the same one; `None` for
/// no resources, no allocation role, or several. The common case of one role spares
/// `Resources::allocations` and its copies.
pub(crate) fn sole_allocation_role(resources: &Resources) -> Option<&str> {
    let mut roles = resources.iter().map(|r| r.allocation_info.as_ref().and_then(|a| a.role.as_deref()));
    let first = roles.next()??;
    roles.all(|role| role == Some(first)).then_some(first)
}

/// Resources split by allocation role, without copies in the usual case of one role.
pub(crate) enum RoleParts<'r> {
    One(&'r str, &'r Resources),
    Many(BTreeMap<String, Resources>),
}

impl<'r> RoleParts<'r> {
    /// Fails if a resource carries no allocation role.
    pub(crate) fn of(resources: &'r Resources) -> Result<RoleParts<'r>, res::ResourcesError> {
        match sole_allocation_role(resources) {
            Some(role) => Ok(RoleParts::One(role, resources)),
            None => resources.allocations().map(RoleParts::Many),
        }
    }

    /// The `(role, resources)` parts.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (&str, &Resources)> + '_ {
        let (one, many) = match self {
            RoleParts::One(role, resources) => (Some((*role, *resources)), None),
            RoleParts::Many(parts) => (None, Some(parts.iter().map(|(role, part)| (role.as_str(), part)))),
        };
        one.into_iter().chain(many.into_iter().flatten())
    }
}

/// `resources` split by allocation role.
fn by_allocation_role(resources: &Resources) -> Result<RoleParts<'_>, AllocatorError> {
    RoleParts::of(resources).map_err(|_| AllocatorError::NotSingleRole(resources.to_string()))
}

/// The one role `resources` are allocated to.
fn single_role(resources: &Resources) -> Result<String, AllocatorError> {
    if let Some(role) = sole_allocation_role(resources) {
        return Ok(role.to_owned());
    }
    let allocations = resources.allocations().map_err(|_| AllocatorError::NotSingleRole(resources.to_string()))?;
    match allocations.into_keys().collect::<Vec<_>>().as_slice() {
        [role] => Ok(role.clone()),
        _ => Err(AllocatorError::NotSingleRole(resources.to_string())),
    }
}

/// How long a decline filters: `refuse_seconds` (default 5 s), cut to 365 days; negative or
/// unrepresentable values give the default; zero means no filter.
fn refuse_timeout(filters: &Filters) -> Duration {
    let default = Duration::from_secs_f64(Filters::default().refuse_seconds());
    let seconds = filters.refuse_seconds();
    if seconds > MAX_REFUSE_DURATION.as_secs_f64() {
        tracing::warn!(seconds, "using 365 days for the offer filter because refuse_seconds is too big");
        MAX_REFUSE_DURATION
    } else if seconds < 0.0 {
        tracing::warn!(seconds, "using the default refuse_seconds because the value is negative");
        default
    } else {
        Duration::try_from_secs_f64(seconds).unwrap_or_else(|_| {
            tracing::warn!(seconds, "using the default refuse_seconds because the value is invalid");
            default
        })
    }
}

/// C++ `isFiltered`: implicit filters for capability mismatches, then the framework's
/// refused-offer filters for this role and agent.
/// `key` identifies `resources` when they are everything the agent has for the role (see
/// [`OfferKey`]).
fn is_filtered(framework: &Framework, role: &str, slave: &Slave, resources: &Resources, key: Option<OfferKey>) -> bool {
    if framework.capabilities.multi_role && !slave.capabilities.multi_role {
        tracing::warn!(framework = %framework.id.value, agent = %slave.info.hostname,
            "implicitly filtering agent: framework is MULTI_ROLE capable but the agent is not");
        return true;
    }
    if !slave.capabilities.hierarchical_role && role.contains('/') {
        tracing::warn!(role, agent = %slave.info.hostname,
            "implicitly filtering agent: role is hierarchical but the agent is not HIERARCHICAL_ROLE capable");
        return true;
    }
    let Some(slave_id) = slave.info.id.as_ref() else { return false };
    framework
        .offer_filters
        .get(role)
        .and_then(|filters| filters.get(slave_id))
        .is_some_and(|filters| filters.iter().any(|f| f.filter(resources, key)))
}

/// C++ `stripIncapableResources`: drops shared, revocable and refined-reservation resources
/// for frameworks without the matching capability.
fn strip_incapable_resources(resources: &Resources, caps: FrameworkCapabilities) -> Resources {
    resources.filter(|r: &Resource| {
        (caps.shared_resources || !res::is_shared(r))
            && (caps.revocable_resources || !res::is_revocable(r))
            && (caps.reservation_refinement || !res::has_refined_reservations(r))
    })
}

/// The allocator as the master sees it (C++ `Allocator`, implemented by `MesosAllocator`):
/// each call dispatches into the actor and returns at once; refused calls are logged there.
#[derive(Clone)]
pub struct Allocator {
    pid: PID<HierarchicalAllocatorProcess>,
}

impl Allocator {
    /// Spawns the actor (C++ `HierarchicalDRFAllocator::create`); call
    /// [`Allocator::initialize`] next.
    pub fn create(lp: &Libprocess) -> Result<Allocator, SpawnError> {
        let pid = lp.spawn(libprocess::id::generate(PROCESS_ID_PREFIX), HierarchicalAllocatorProcess::default())?;
        Ok(Allocator { pid })
    }

    /// The actor's address.
    pub fn pid(&self) -> &PID<HierarchicalAllocatorProcess> {
        &self.pid
    }

    fn call(
        &self,
        what: &'static str,
        f: impl FnOnce(&mut HierarchicalAllocatorProcess, &mut Context<HierarchicalAllocatorProcess>) -> Outcome
            + Send
            + 'static,
    ) {
        self.pid.dispatch_void(move |this, ctx| {
            if let Err(error) = f(this, ctx) {
                tracing::warn!(call = what, %error, "allocator refused a call");
            }
        });
    }

    /// Stores the options and callbacks and starts the periodic allocation loop.
    pub fn initialize(
        &self,
        options: Options,
        offer_callback: OfferCallback,
        inverse_offer_callback: Option<InverseOfferCallback>,
    ) {
        self.call("initialize", move |p, ctx| p.initialize(ctx, options, offer_callback, inverse_offer_callback));
    }

    /// Adds a framework with what it already uses per agent; if `active`, runs an allocation.
    pub fn add_framework(
        &self,
        framework_id: FrameworkId,
        info: FrameworkInfo,
        used: HashMap<SlaveId, Resources>,
        active: bool,
        options: FrameworkOptions,
    ) {
        self.call("add_framework", move |p, ctx| p.add_framework(ctx, framework_id, info, used, active, options));
    }

    /// Removes a framework and frees what it was offered or allocated.
    pub fn remove_framework(&self, framework_id: FrameworkId) {
        self.call("remove_framework", move |p, ctx| p.remove_framework(ctx, framework_id));
    }

    /// Offers to the framework again.
    pub fn activate_framework(&self, framework_id: FrameworkId) {
        self.call("activate_framework", move |p, ctx| p.activate_framework(ctx, framework_id));
    }

    /// Stops offering to the framework and drops its filters.
    pub fn deactivate_framework(&self, framework_id: FrameworkId) {
        self.call("deactivate_framework", move |p, ctx| p.deactivate_framework(ctx, framework_id));
    }

    /// Applies a new `FrameworkInfo` and suppressed roles.
    pub fn update_framework(&self, framework_id: FrameworkId, info: FrameworkInfo, options: FrameworkOptions) {
        self.call("update_framework", move |p, ctx| p.update_framework(ctx, framework_id, info, options));
    }

    /// Adds an agent with what frameworks already use there; runs an allocation for it.
    pub fn add_slave(
        &self,
        slave_id: SlaveId,
        info: SlaveInfo,
        capabilities: Vec<slave_info::Capability>,
        total: Resources,
        used: HashMap<FrameworkId, Resources>,
    ) {
        self.call("add_slave", move |p, ctx| p.add_slave(ctx, slave_id, info, capabilities, total, used));
    }

    /// Removes an agent and its filters.
    pub fn remove_slave(&self, slave_id: SlaveId) {
        self.call("remove_slave", move |p, ctx| p.remove_slave(ctx, slave_id));
    }

    /// Updates an agent's info, and optionally its total and capabilities.
    pub fn update_slave(
        &self,
        slave_id: SlaveId,
        info: SlaveInfo,
        total: Option<Resources>,
        capabilities: Option<Vec<slave_info::Capability>>,
    ) {
        self.call("update_slave", move |p, ctx| p.update_slave(ctx, slave_id, info, total, capabilities));
    }

    /// Offers the agent's resources again.
    pub fn activate_slave(&self, slave_id: SlaveId) {
        self.call("activate_slave", move |p, ctx| p.activate_slave(ctx, slave_id));
    }

    /// Stops offering the agent's resources.
    pub fn deactivate_slave(&self, slave_id: SlaveId) {
        self.call("deactivate_slave", move |p, ctx| p.deactivate_slave(ctx, slave_id));
    }

    /// Restricts offers to agents with these hostnames (`None`: all agents).
    pub fn update_whitelist(&self, whitelist: Option<HashSet<String>>) {
        self.call("update_whitelist", move |p, ctx| p.update_whitelist(ctx, whitelist));
    }

    /// Logged only, as in C++.
    pub fn request_resources(&self, framework_id: FrameworkId) {
        self.call("request_resources", move |p, ctx| p.request_resources(ctx, framework_id));
    }

    /// Replaces offered resources by what an operation made of them.
    pub fn update_allocation(
        &self,
        framework_id: FrameworkId,
        slave_id: SlaveId,
        offered: Resources,
        updated: Resources,
    ) {
        self.call("update_allocation", move |p, ctx| {
            p.update_allocation(ctx, framework_id, slave_id, offered, updated)
        });
    }

    /// Marks offered resources as used by tasks.
    pub fn transition_offered_to_allocated(&self, slave_id: SlaveId, resources: Resources) {
        self.call("transition_offered_to_allocated", move |p, ctx| {
            p.transition_offered_to_allocated(ctx, slave_id, resources)
        });
    }

    /// Takes resources back from a framework, filtering them for `refuse_seconds` if
    /// `filters` is given.
    pub fn recover_resources(
        &self,
        framework_id: FrameworkId,
        slave_id: SlaveId,
        resources: Resources,
        filters: Option<Filters>,
        is_allocated: bool,
    ) {
        self.call("recover_resources", move |p, ctx| {
            p.recover_resources(ctx, framework_id, slave_id, resources, filters, is_allocated)
        });
    }

    /// Stops offers to the framework in `roles` (all its roles if empty).
    pub fn suppress_offers(&self, framework_id: FrameworkId, roles: BTreeSet<String>) {
        self.call("suppress_offers", move |p, ctx| p.suppress_offers(ctx, framework_id, roles));
    }

    /// Resumes offers in `roles` (all if empty), clears their filters, runs an allocation.
    pub fn revive_offers(&self, framework_id: FrameworkId, roles: BTreeSet<String>) {
        self.call("revive_offers", move |p, ctx| p.revive_offers(ctx, framework_id, roles));
    }

    /// Sets role weights.
    pub fn update_weights(&self, weights: Vec<WeightInfo>) {
        self.call("update_weights", move |p, ctx| p.update_weights(ctx, weights));
    }

    /// Sets a top-level role's quota; [`crate::constants::DEFAULT_QUOTA`] removes it.
    pub fn update_quota(&self, role: impl Into<String>, quota: Quota) {
        let role = role.into();
        self.call("update_quota", move |p, ctx| p.update_quota(ctx, role, quota));
    }

    /// Skips allocation runs until [`Allocator::resume`].
    pub fn pause(&self) {
        self.pid.dispatch_void(|p, ctx| p.pause(ctx));
    }

    /// Resumes allocation runs.
    pub fn resume(&self) {
        self.pid.dispatch_void(|p, ctx| p.resume(ctx));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuse_timeout_follows_cpp() {
        let f = |s: f64| refuse_timeout(&Filters { refuse_seconds: Some(s) });
        assert_eq!(refuse_timeout(&Filters::default()), Duration::from_secs(5));
        assert_eq!(f(0.0), Duration::ZERO);
        assert_eq!(f(-1.0), Duration::from_secs(5));
        assert_eq!(f(1e12), MAX_REFUSE_DURATION);
        assert_eq!(f(f64::NAN), Duration::from_secs(5));
        assert_eq!(f(2.5), Duration::from_millis(2500));
    }

    #[test]
    fn shuffler_is_a_seeded_permutation() {
        let mut a: Vec<u32> = (0..20).collect();
        let mut b = a.clone();
        Shuffler::new(Some(7)).shuffle(&mut a);
        Shuffler::new(Some(7)).shuffle(&mut b);
        assert_eq!(a, b);
        let mut sorted = a.clone();
        sorted.sort();
        assert_eq!(sorted, (0..20).collect::<Vec<_>>());
        assert_ne!(a, (0..20).collect::<Vec<_>>());
    }

    #[test]
    fn contains_quantities_counts_ranges_and_sets() {
        let resources = Resources::parse("cpus:1;mem:32;ports:[1-5]", "*").unwrap();
        let q = |t: &str| ResourceQuantities::parse(t).unwrap();
        assert!(contains_quantities(&resources, &q("cpus:1;mem:32")));
        assert!(contains_quantities(&resources, &q("ports:5")));
        assert!(!contains_quantities(&resources, &q("ports:6")));
        assert!(!contains_quantities(&resources, &q("disk:1")));
    }
}
