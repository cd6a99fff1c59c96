//! The allocator's sorters: which client (role or framework) to offer to next; mirrors the `Sorter` interface in `src/master/allocator/mesos/sorter/sorter.hpp`.
//!
//! The allocator keeps one sorter over roles and one per role over its frameworks, and
//! walks `sort()`'s answer every allocation cycle. A sorter is a plain data structure: no
//! actor, no clock, no I/O, so it can be tested and benchmarked alone.
//!
//! Where C++ CHECK-fails on a caller mistake (an unknown client, adding a client twice,
//! returning resources that were never allocated), these methods return a [`SorterError`]
//! and leave the sorter unchanged.

pub mod drf;

use std::sync::Arc;

use mesos::proto::SlaveId;
use mesos::resources::Resources;

use super::FastMap;
use crate::resource_quantities::ResourceQuantities;

pub use drf::DrfSorter;

/// A caller mistake the sorter refused; the sorter is unchanged.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SorterError {
    /// A client path is empty or has an empty or `.` component (`a//b`, `a/.`); `.` is the
    /// sorter's own name for the leaf of a client that also has children.
    #[error("invalid client path '{0}'")]
    InvalidClientPath(String),
    /// `add` of a client the sorter already has.
    #[error("client '{0}' is already in the sorter")]
    ClientExists(String),
    /// The client is not in the sorter (internal nodes of the tree are not clients).
    #[error("unknown client '{0}'")]
    UnknownClient(String),
    /// `add_slave` of an agent already added.
    #[error("agent {0} is already in the sorter's total")]
    AgentExists(String),
    /// `remove_slave` of an agent never added.
    #[error("unknown agent {0}")]
    UnknownAgent(String),
    /// `unallocated` or `update` named resources the client does not hold on that agent.
    #[error("client '{client}' does not hold {resources} on agent {agent}")]
    NotAllocated {
        /// The client path.
        client: String,
        /// The agent id.
        agent: String,
        /// The resources that were not found.
        resources: String,
    },
    /// A weight that is not a finite positive number.
    #[error("invalid weight {weight} for '{path}'")]
    InvalidWeight {
        /// The path the weight was for.
        path: String,
        /// The refused weight.
        weight: f64,
    },
}

/// The operations the allocator needs from a sorter (C++ `Sorter`). Clients are `/`-separated
/// paths (`a/b/c`); weights apply to whole subtrees.
pub trait Sorter {
    /// Adds an inactive client (C++ `add`).
    fn add(&mut self, client: &str) -> Result<(), SorterError>;

    /// Removes a client and its allocation (C++ `remove`).
    fn remove(&mut self, client: &str) -> Result<(), SorterError>;

    /// Makes the client appear in `sort()`; a no-op if it is already active.
    fn activate(&mut self, client: &str) -> Result<(), SorterError>;

    /// Hides the client from `sort()`; a no-op if it is already inactive.
    fn deactivate(&mut self, client: &str) -> Result<(), SorterError>;

    /// Sets the weight of the node at `path` (default 1.0), for nodes there now or later.
    fn update_weight(&mut self, path: &str, weight: f64) -> Result<(), SorterError>;

    /// Records `resources` on `agent` as allocated to `client` (C++ `allocated`).
    fn allocated(&mut self, client: &str, agent: &SlaveId, resources: &Resources) -> Result<(), SorterError>;

    /// Replaces part of a client's allocation on an agent, e.g. after a volume is created
    /// (C++ `update`).
    fn update(
        &mut self,
        client: &str,
        agent: &SlaveId,
        old_allocation: &Resources,
        new_allocation: &Resources,
    ) -> Result<(), SorterError>;

    /// Records `resources` on `agent` as no longer allocated to `client` (C++ `unallocated`).
    fn unallocated(&mut self, client: &str, agent: &SlaveId, resources: &Resources) -> Result<(), SorterError>;

    /// The client's allocation per agent.
    fn allocation(&self, client: &str) -> Result<&FastMap<SlaveId, Resources>, SorterError>;

    /// The client's allocation on one agent (empty if none).
    fn allocation_on(&self, client: &str, agent: &SlaveId) -> Result<Resources, SorterError>;

    /// The scalar quantities allocated to the client (C++ `allocationScalarQuantities(client)`).
    fn allocation_scalar_quantities(&self, client: &str) -> Result<&ResourceQuantities, SorterError>;

    /// The scalar quantities allocated to all clients (C++ `allocationScalarQuantities()`).
    fn total_allocation_scalar_quantities(&self) -> &ResourceQuantities;

    /// Adds an agent's scalar quantities to the pool shares are measured against. An agent's
    /// total is changed by `remove_slave` then `add_slave`.
    fn add_slave(&mut self, agent: &SlaveId, quantities: ResourceQuantities) -> Result<(), SorterError>;

    /// Takes an agent's quantities out of the pool.
    fn remove_slave(&mut self, agent: &SlaveId) -> Result<(), SorterError>;

    /// The active clients, in the order they should be offered to.
    fn sort(&mut self) -> Vec<String>;

    /// The same order as [`Sorter::sort`], shared: the answer is kept until the sorter
    /// changes, so asking again (as the allocator does for every agent) costs nothing.
    fn sort_clients(&mut self) -> Arc<[Arc<str>]>;

    /// Whether the client is in the sorter, active or not.
    fn contains(&self, client: &str) -> bool;

    /// How many clients, active or not.
    fn count(&self) -> usize;
}
