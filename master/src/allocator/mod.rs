//! The master's resource allocator (mirrors `src/master/allocator/` and the interface in `include/mesos/allocator/allocator.hpp`): its options, callbacks and errors; the hierarchical DRF actor; the sorters.
//!
//! The master talks to the allocator only through the [`Allocator`] handle, which dispatches
//! each call into the [`HierarchicalAllocatorProcess`] actor (C++ `MesosAllocator` in front of
//! `HierarchicalAllocatorProcess`). Offers leave the allocator through the [`OfferCallback`]
//! given to [`Allocator::initialize`].

pub mod hierarchical;
pub(crate) mod metrics;
pub mod role_tree;
pub mod sorter;

use std::collections::{BTreeSet, HashMap, HashSet};
use std::time::Duration;

use mesos::proto::{DomainInfo, FrameworkId, SlaveId, Unavailability};
use mesos::resources::Resources;

use crate::resource_quantities::{QuantitiesError, ResourceQuantities};

pub use hierarchical::{Allocator, HierarchicalAllocatorProcess};

pub use crate::constants::DEFAULT_ALLOCATION_INTERVAL;

/// `--min_allocatable_resources`'s default: `cpus:` `MIN_CPUS` (0.01) `|mem:` `MIN_MEM` (32 MB)
/// in `src/master/flags.cpp` and `src/master/constants.hpp`.
pub const DEFAULT_MIN_ALLOCATABLE_RESOURCES: &str = "cpus:0.01|mem:32";

/// The longest offer filter: a larger `refuse_seconds` is cut to 365 days
/// (`recoverResources` in `hierarchical.cpp`).
pub const MAX_REFUSE_DURATION: Duration = Duration::from_secs(365 * 24 * 60 * 60);

/// The window of the `allocation_run_ms` and `allocation_run_latency_ms` timers
/// (`src/master/allocator/mesos/metrics.cpp`).
pub const ALLOCATION_RUN_METRIC_WINDOW: Duration = Duration::from_secs(60 * 60);

/// What the allocator is configured with (C++ `mesos::allocator::Options`).
#[derive(Debug, Clone)]
pub struct Options {
    /// Time between periodic allocation runs over all agents (`--allocation_interval`).
    pub allocation_interval: Duration,
    /// Resource names left out of DRF shares (`--fair_sharing_excluded_resource_names`).
    pub fairness_exclude_resource_names: Option<HashSet<String>>,
    /// Offer agents with GPUs only to `GPU_RESOURCES` frameworks (`--filter_gpu_resources`).
    pub filter_gpu_resources: bool,
    /// The master's domain; agents in another region go only to `REGION_AWARE` frameworks.
    pub domain: Option<DomainInfo>,
    /// An offer must contain at least one of these sets of quantities
    /// (`--min_allocatable_resources`, parsed by [`parse_min_allocatable_resources`]). `None`
    /// or an empty list: anything non-empty may be offered. The C++ `Options` default is
    /// `None`; the master always passes the parsed flag.
    pub min_allocatable_resources: Option<Vec<ResourceQuantities>>,
    /// Seed of the agent shuffle each allocation run. C++ uses `std::random_shuffle`; `None`
    /// seeds from the OS, tests pass a value to replay an order.
    pub shuffle_seed: Option<u64>,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            allocation_interval: DEFAULT_ALLOCATION_INTERVAL,
            fairness_exclude_resource_names: None,
            filter_gpu_resources: true,
            domain: None,
            min_allocatable_resources: None,
            shuffle_seed: None,
        }
    }
}

/// Parses `--min_allocatable_resources`: `|`-separated alternatives, each `name:qty;...`
/// (as `Master::initialize` does before creating the allocator). Empty alternatives are
/// skipped, as stout's `tokenize` does.
pub fn parse_min_allocatable_resources(text: &str) -> Result<Vec<ResourceQuantities>, QuantitiesError> {
    let mut result = Vec::new();
    for token in text.split('|').filter(|t| !t.is_empty()) {
        let quantities = ResourceQuantities::parse(token)?;
        for (name, _) in quantities.iter() {
            if !matches!(name, "cpus" | "mem" | "disk" | "ports" | "gpus") {
                tracing::warn!(name, "non-first-class resource is configured as part of min_allocatable_resources");
            }
        }
        result.push(quantities);
    }
    Ok(result)
}

/// Per-framework options that are not part of `FrameworkInfo` (C++ `FrameworkOptions`).
/// Offer constraints are not supported yet.
#[derive(Debug, Clone, Default)]
pub struct FrameworkOptions {
    /// Roles the allocator must not offer to until they are revived.
    pub suppressed_roles: BTreeSet<String>,
}

/// Resources that an agent's maintenance makes unavailable (C++ `UnavailableResources`).
#[derive(Debug, Clone, PartialEq)]
pub struct UnavailableResources {
    /// The resources affected.
    pub resources: Resources,
    /// When they become unavailable.
    pub unavailability: Unavailability,
}

/// A hash map with a fast, non-randomized hasher, for the allocator's hot maps (keys are
/// master-made ids and role names, as in C++, which hashes them with `std::hash`).
pub type FastMap<K, V> = HashMap<K, V, rustc_hash::FxBuildHasher>;

/// Offers for one framework: role -> agent -> resources, each stamped with its role's
/// `allocation_info`.
pub type OfferMap = HashMap<String, HashMap<SlaveId, Resources>>;

/// How offers leave the allocator (C++ `offerCallback`): the master passes a closure that
/// dispatches into itself.
pub type OfferCallback = Box<dyn Fn(&FrameworkId, OfferMap) + Send>;

/// How inverse offers leave the allocator (C++ `inverseOfferCallback`).
pub type InverseOfferCallback = Box<dyn Fn(&FrameworkId, HashMap<SlaveId, UnavailableResources>) + Send>;

/// A call the allocator refused. Where C++ CHECK-fails (and aborts the master) the actor logs
/// one of these and leaves its state unchanged.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum AllocatorError {
    /// A call arrived before `initialize` (C++ `CHECK(initialized)`).
    #[error("the allocator is not initialized")]
    NotInitialized,
    /// `initialize` was called twice.
    #[error("the allocator is already initialized")]
    AlreadyInitialized,
    /// `add_framework` of a framework already added.
    #[error("framework {0} is already added")]
    FrameworkExists(String),
    /// The framework is not known to the allocator.
    #[error("unknown framework {0}")]
    UnknownFramework(String),
    /// `add_slave` of an agent already added.
    #[error("agent {0} is already added")]
    SlaveExists(String),
    /// The agent is not known to the allocator.
    #[error("unknown agent {0}")]
    UnknownSlave(String),
    /// The id argument and the id inside the info differ (C++ `CHECK_EQ`).
    #[error("id {given} does not match the id {inside} in the info")]
    IdMismatch {
        /// The id passed as an argument.
        given: String,
        /// The id inside the info (empty if absent).
        inside: String,
    },
    /// Resources handed back or updated were not allocated to exactly one role.
    #[error("resources {0} are not allocated to exactly one role")]
    NotSingleRole(String),
    /// Resources handed back were not offered or allocated on that agent.
    #[error("agent {agent} has not offered or allocated {resources}")]
    NotOfferedOrAllocated {
        /// The agent id.
        agent: String,
        /// The resources.
        resources: String,
    },
    /// The role is not one the framework is tracked under (e.g. suppressing a role the
    /// framework is not subscribed to).
    #[error("framework {framework} is not tracked under role '{role}'")]
    UnknownRole {
        /// The framework id.
        framework: String,
        /// The role.
        role: String,
    },
    /// A weight without a role (C++ `CHECK(weightInfo.has_role())`).
    #[error("weight {0} has no role")]
    WeightWithoutRole(f64),
    /// Quota for a role that is not a valid top-level role (the master allows quota on
    /// top-level roles only, and C++ would CHECK-fail enforcing a nested role's limits).
    #[error("quota can only be set on a valid top-level role, not '{0}'")]
    InvalidQuotaRole(String),
    /// A sorter refused an update: the allocator's own bookkeeping is inconsistent.
    #[error("sorter: {0}")]
    Sorter(#[from] sorter::SorterError),
    /// The role tree refused an update: the allocator's own bookkeeping is inconsistent, or
    /// the caller handed back resources it was never given.
    #[error("role tree: {0}")]
    RoleTree(#[from] role_tree::RoleTreeError),
}
