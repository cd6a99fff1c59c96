//! The hierarchical weighted DRF (dominant resource fairness) sorter; mirrors `DRFSorter` in `src/master/allocator/mesos/sorter/drf/sorter.cpp` and `sorter.hpp`.
//!
//! # The tree
//!
//! Client paths `a/b/c` form a tree under a nameless root. Clients are leaves; a path that is
//! a prefix of another client's path is an internal node. When a client is also the parent of
//! other clients (`a` and `a/b`), the client lives in a *virtual leaf* named `.` under the
//! internal node `a`, so `a`'s own allocation competes with `a/b` as a sibling while the
//! whole `a` subtree competes with `a`'s siblings. Removing the last child of such a node
//! folds the virtual leaf back into it.
//!
//! Every node holds the allocation of its whole subtree (the root holds everyone's), so the
//! share of an internal node is the share of its subtree.
//!
//! # Order
//!
//! Within each parent, children are ordered by ascending share, then by fewer allocation
//! events (`allocated` calls, never decreased by `unallocated`), then by path. The share is
//! the largest allocated/total ratio over the scalar resource names in the pool (minus the
//! fairness exclusions), divided by the node's weight. `sort()` lists the active leaves in
//! pre-order. Children vectors keep active leaves and internal nodes first, inactive leaves
//! last; the active prefix is kept sorted unless the tree is marked dirty, in which case the
//! next `sort()` recomputes every share. `allocated` keeps a clean tree clean by moving the
//! touched nodes into place; every other change just marks it dirty.
//!
//! # Divergences from C++
//!
//! - `update_weight` refreshes the cached weight of the node at that path even when the
//!   node is internal only (not itself a client). C++ refreshes only client nodes, so there a
//!   weight change on such a node is ignored until the node is rebuilt, which contradicts the
//!   interface's promise that a weight applies to the whole subtree.
//! - Weights must be finite and positive; C++ leaves that to the master's validation.
//! - An allocation that leaves a client with nothing on an agent keeps no empty entry for
//!   that agent (C++ can keep one after `allocated` with empty resources).
//! - Internal nodes keep quantities (and shared resources, to count each once) rather than
//!   all resources per agent: only clients' allocations are ever asked for, and this halves
//!   the work of each allocation in the allocator's two sorters.
//! - No metrics of its own: C++ optionally exports per-client dominant shares from the
//!   sorter; here the allocator publishes them through [`DrfSorter::share`].

use std::cmp::Ordering;
use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering as AtomicOrdering};
use std::sync::Arc;

use mesos::proto::SlaveId;
use mesos::resources::Resources;

use super::{Sorter, SorterError};
use crate::allocator::FastMap;
use crate::resource_quantities::ResourceQuantities;

/// The weight of a path nobody set a weight for (C++ `DEFAULT_WEIGHT`).
pub const DEFAULT_WEIGHT: f64 = 1.0;

/// The name of a virtual leaf (see the module docs).
const VIRTUAL_LEAF: &str = ".";

type NodeId = usize;

const ROOT: NodeId = 0;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    ActiveLeaf,
    InactiveLeaf,
    Internal,
}

/// What a node's subtree holds.
#[derive(Debug, Clone, Default)]
struct Allocation {
    /// How many times resources were allocated into this subtree; the tie-break between
    /// equal shares. It survives deactivation and is not persisted across failovers.
    count: u64,
    /// Per agent, the resources held; shared resources keep one copy per allocation. An
    /// internal node keeps only the shared ones (to count each once); only a client's
    /// resources are ever asked for.
    resources: FastMap<SlaveId, Resources>,
    /// The scalar quantities held, each shared resource counted once however many copies
    /// are held, since sharing is about identity, not amount.
    totals: ResourceQuantities,
}

impl Allocation {
    fn held_mut(&mut self, agent: &SlaveId) -> &mut Resources {
        if !self.resources.contains_key(agent) {
            self.resources.insert(agent.clone(), Resources::new());
        }
        self.resources.get_mut(agent).expect("inserted above")
    }

    fn forget_if_empty(&mut self, agent: &SlaveId) {
        if self.resources.get(agent).is_some_and(Resources::is_empty) {
            self.resources.remove(agent);
        }
    }

    /// `quantities` are those of `to_add` when it holds no shared resource (the caller
    /// computes them once for a whole chain of nodes); `None` makes this work them out.
    /// `leaf`: whether the node is a client, which keeps all resources.
    fn add(&mut self, agent: &SlaveId, to_add: &Resources, quantities: Option<&ResourceQuantities>, leaf: bool) {
        self.count += 1;
        if let Some(quantities) = quantities {
            self.totals += quantities;
            if leaf {
                // One lookup where the agent is known (the usual case): `held_mut` and
                // `forget_if_empty` would take three.
                match self.resources.get_mut(agent) {
                    Some(held) => {
                        *held += to_add;
                        if held.is_empty() {
                            self.resources.remove(agent);
                        }
                    }
                    None => {
                        let mut held = Resources::new();
                        held += to_add;
                        if !held.is_empty() {
                            self.resources.insert(agent.clone(), held);
                        }
                    }
                }
            }
            return;
        }
        let held = self.held_mut(agent);
        let shared = to_add.shared();
        let shared_to_add = shared.filter(|r| !held.contains_resource(r));
        *held += if leaf { to_add } else { &shared };
        self.totals += &ResourceQuantities::from_scalar_resources(&(to_add.non_shared() + shared_to_add));
        self.forget_if_empty(agent);
    }

    /// Whether `resources` are all held on `agent` (for clients).
    fn holds(&self, agent: &SlaveId, resources: &Resources) -> bool {
        match self.resources.get(agent) {
            Some(held) => held.contains(resources),
            None => resources.is_empty(),
        }
    }

    /// Assumes the node holds `to_remove`; `quantities` and `leaf` as for
    /// [`Allocation::add`].
    fn subtract(
        &mut self,
        agent: &SlaveId,
        to_remove: &Resources,
        quantities: Option<&ResourceQuantities>,
        leaf: bool,
    ) {
        if let Some(quantities) = quantities {
            self.totals -= quantities;
            if leaf {
                if let Some(held) = self.resources.get_mut(agent) {
                    *held -= to_remove;
                    if held.is_empty() {
                        self.resources.remove(agent);
                    }
                }
            }
            return;
        }
        let shared = to_remove.shared();
        let held = self.held_mut(agent);
        *held -= if leaf { to_remove } else { &shared };
        // A shared resource leaves the quantities only with its last copy.
        let shared_to_remove = shared.filter(|r| !held.contains_resource(r));
        self.totals -= &ResourceQuantities::from_scalar_resources(&(to_remove.non_shared() + shared_to_remove));
        self.forget_if_empty(agent);
    }

    /// Assumes the node holds `old`.
    fn update(&mut self, agent: &SlaveId, old: &Resources, new: &Resources, leaf: bool) {
        let held = self.held_mut(agent);
        if leaf {
            *held -= old;
            *held += new;
        } else {
            *held -= &old.shared();
            *held += &new.shared();
        }
        // Allocations can be updated to nothing (MESOS-9015).
        self.forget_if_empty(agent);
        self.totals -= &ResourceQuantities::from_scalar_resources(old);
        self.totals += &ResourceQuantities::from_scalar_resources(new);
    }

    /// Drops what only a client keeps: the node became internal.
    fn keep_shared_only(&mut self) {
        for held in self.resources.values_mut() {
            *held = held.shared();
        }
        self.resources.retain(|_, held| !held.is_empty());
    }
}

/// The quantities of `resources` if none is shared: then they are the same for every node
/// the resources are added to or taken from.
fn plain_quantities(resources: &Resources) -> Option<ResourceQuantities> {
    if resources.iter().any(mesos::resources::is_shared) {
        None
    } else {
        Some(ResourceQuantities::from_scalar_resources(resources))
    }
}

#[derive(Debug, Clone)]
struct Node {
    /// The edge label from the parent; `.` for a virtual leaf, empty for the root.
    name: String,
    /// The full path, `.` included for a virtual leaf; empty for the root.
    path: String,
    /// The client a leaf stands for (its path, or its parent's for a virtual leaf), shared
    /// with every `sort_clients` answer.
    client: Arc<str>,
    /// The last computed share; meaningless for the root and inactive leaves.
    share: f64,
    /// The weight, looked up from the sorter's weights on first use.
    weight: Option<f64>,
    kind: Kind,
    parent: Option<NodeId>,
    /// Active leaves and internal nodes (sorted unless the sorter is dirty), then inactive
    /// leaves.
    children: Vec<NodeId>,
    allocation: Allocation,
}

impl Node {
    fn is_leaf(&self) -> bool {
        self.kind != Kind::Internal
    }
}

/// The DRF sorter. See the module docs.
#[derive(Debug, Clone)]
pub struct DrfSorter {
    /// Resource names that do not count toward shares (`--fair_sharing_excluded_resource_names`).
    fairness_exclude_resource_names: Option<HashSet<String>>,
    /// Whether shares must be recomputed and children re-sorted at the next `sort()`.
    dirty: bool,
    /// Node storage; `ROOT` is always slot 0. Freed slots are listed in `free`.
    nodes: Vec<Node>,
    free: Vec<NodeId>,
    /// Client path (without the trailing `.`) to its leaf.
    clients: FastMap<String, NodeId>,
    /// Weights by path, including paths not in the tree (yet).
    weights: HashMap<String, f64>,
    /// The pool: the sum of the agents' quantities, and each agent's, to take it out again.
    totals: ResourceQuantities,
    agent_totals: FastMap<SlaveId, ResourceQuantities>,
    /// The positive pool totals of the names that count toward shares, sorted by name:
    /// `totals` minus the exclusions, as `f64`, kept up to date to make shares cheap.
    share_totals: Vec<(String, f64)>,
    /// The last `sort_clients` answer, until anything changes but a client's position in a
    /// flat tree (see `moves`).
    sorted: Option<Arc<[Arc<str>]>>,
    /// Moves `(from, to)` of clients in the root's children since `sorted` was made; they
    /// are the same in `sorted` while the root has only leaves (`flat`).
    moves: Vec<(usize, usize)>,
    /// Whether every child of the root is a leaf.
    flat: bool,
    /// Whether clients keep their resources per agent (see
    /// [`DrfSorter::without_client_resources`]).
    client_resources: bool,
    /// Changes whenever the set of clients or of active ones does; unique across sorters.
    membership: u64,
}

/// Source of [`DrfSorter::membership`] values.
static MEMBERSHIPS: AtomicU64 = AtomicU64::new(1);

fn next_membership() -> u64 {
    MEMBERSHIPS.fetch_add(1, AtomicOrdering::Relaxed)
}

impl Default for DrfSorter {
    fn default() -> DrfSorter {
        DrfSorter::new(None)
    }
}

impl DrfSorter {
    /// An empty sorter. Resources named in `fairness_exclude_resource_names` do not count
    /// toward shares (C++ `initialize`).
    pub fn new(fairness_exclude_resource_names: Option<HashSet<String>>) -> DrfSorter {
        let root = Node {
            name: String::new(),
            path: String::new(),
            client: Arc::from(""),
            share: 0.0,
            weight: None,
            kind: Kind::Internal,
            parent: None,
            children: Vec::new(),
            allocation: Allocation::default(),
        };
        DrfSorter {
            fairness_exclude_resource_names,
            dirty: false,
            nodes: vec![root],
            free: Vec::new(),
            clients: FastMap::default(),
            weights: HashMap::new(),
            totals: ResourceQuantities::new(),
            agent_totals: FastMap::default(),
            share_totals: Vec::new(),
            sorted: None,
            moves: Vec::new(),
            flat: true,
            client_resources: true,
            membership: next_membership(),
        }
    }

    /// A value that changes whenever clients are added or removed, or activated or
    /// deactivated, and that no other sorter ever has: who may be offered to is the same
    /// while it is.
    pub fn membership(&self) -> u64 {
        self.membership
    }

    /// A sorter that keeps no per-agent resources for its clients, only what shares need
    /// (quantities, and shared resources to count each once): `allocation` and
    /// `allocation_on` answer nothing, and `unallocated` and `update` trust the caller to
    /// hand back what it allocated. The allocator's role sorter is one: nothing asks it for a
    /// role's resources, and the agent's own bookkeeping checks what comes back.
    pub fn without_client_resources(fairness_exclude_resource_names: Option<HashSet<String>>) -> DrfSorter {
        DrfSorter { client_resources: false, ..DrfSorter::new(fairness_exclude_resource_names) }
    }

    /// Takes a removed client's allocation out of an ancestor's.
    fn take_out(&mut self, node: NodeId, leaf: &Allocation) {
        if self.client_resources {
            for (agent, resources) in &leaf.resources {
                self.nodes[node].allocation.subtract(agent, resources, None, false);
            }
            return;
        }
        // The client kept only its shared resources: its quantities go, except for shared
        // resources some other client in the subtree still holds.
        let allocation = &mut self.nodes[node].allocation;
        let mut kept = ResourceQuantities::new();
        for (agent, shared) in &leaf.resources {
            if let Some(held) = allocation.resources.get_mut(agent) {
                *held -= shared;
                for resource in shared.iter().filter(|r| held.contains_resource(r)) {
                    kept += &ResourceQuantities::from_scalar_resource(resource);
                }
                if held.is_empty() {
                    allocation.resources.remove(agent);
                }
            }
        }
        allocation.totals -= &(&leaf.totals - &kept);
    }

    /// Whether a node keeps all its resources per agent (a client, unless this sorter keeps
    /// none for clients).
    fn keeps_resources(&self, id: NodeId) -> bool {
        self.client_resources && self.nodes[id].is_leaf()
    }

    /// The pool: the sum of every agent's quantities.
    pub fn total_scalar_quantities(&self) -> &ResourceQuantities {
        &self.totals
    }

    /// A client's current weighted dominant share, computed afresh (what C++ publishes as
    /// the `shares/dominant` metric).
    pub fn share(&mut self, client: &str) -> Result<f64, SorterError> {
        let id = self.find(client)?;
        Ok(self.calculate_share(id))
    }

    // ----- tree plumbing -----

    fn new_node(&mut self, name: &str, kind: Kind, parent: NodeId) -> NodeId {
        let path = if parent == ROOT { name.to_owned() } else { format!("{}/{}", self.nodes[parent].path, name) };
        let client: Arc<str> =
            if name == VIRTUAL_LEAF { Arc::from(self.nodes[parent].path.as_str()) } else { Arc::from(path.as_str()) };
        let node = Node {
            name: name.to_owned(),
            path,
            client,
            share: 0.0,
            weight: None,
            kind,
            parent: Some(parent),
            children: Vec::new(),
            allocation: Allocation::default(),
        };
        match self.free.pop() {
            Some(id) => {
                self.nodes[id] = node;
                id
            }
            None => {
                self.nodes.push(node);
                self.nodes.len() - 1
            }
        }
    }

    fn free_node(&mut self, id: NodeId) {
        let node = &mut self.nodes[id];
        node.children = Vec::new();
        node.allocation = Allocation::default();
        node.parent = None;
        self.free.push(id);
    }

    /// Inserts `child` into `parent`'s children: inactive leaves at the end, others at the
    /// front (the caller restores the order, usually by marking the tree dirty).
    fn add_child(&mut self, parent: NodeId, child: NodeId) {
        if self.nodes[child].kind == Kind::InactiveLeaf {
            self.nodes[parent].children.push(child);
        } else {
            self.nodes[parent].children.insert(0, child);
        }
    }

    fn remove_child(&mut self, parent: NodeId, child: NodeId) {
        let children = &mut self.nodes[parent].children;
        if let Some(i) = children.iter().position(|&c| c == child) {
            children.remove(i);
        }
    }

    /// Re-inserts a node whose kind changed so the children invariant holds.
    fn reposition(&mut self, id: NodeId) {
        if let Some(parent) = self.nodes[id].parent {
            self.remove_child(parent, id);
            self.add_child(parent, id);
        }
    }

    fn find(&self, client: &str) -> Result<NodeId, SorterError> {
        self.clients.get(client).copied().ok_or_else(|| SorterError::UnknownClient(client.to_owned()))
    }

    /// The node whose path is `path` (virtual leaves aside), internal or not.
    fn find_path(&self, path: &str) -> Option<NodeId> {
        let mut current = ROOT;
        for token in path.split('/') {
            current = *self.nodes[current].children.iter().find(|&&c| self.nodes[c].name == token)?;
        }
        Some(current)
    }

    // ----- shares -----

    fn weight(&mut self, id: NodeId) -> f64 {
        if let Some(weight) = self.nodes[id].weight {
            return weight;
        }
        let weight = self.weights.get(&self.nodes[id].path).copied().unwrap_or(DEFAULT_WEIGHT);
        self.nodes[id].weight = Some(weight);
        weight
    }

    fn calculate_share(&mut self, id: NodeId) -> f64 {
        let weight = self.weight(id);
        // Both lists are sorted by name, so one merge pass finds the matching pairs.
        let mut share = 0.0_f64;
        let mut allocated = self.nodes[id].allocation.totals.iter().peekable();
        for (name, total) in &self.share_totals {
            while allocated.next_if(|(n, _)| *n < name.as_str()).is_some() {}
            if let Some((_, quantity)) = allocated.next_if(|(n, _)| *n == name.as_str()) {
                share = share.max(quantity.value / total);
            }
        }
        share / weight
    }

    fn compare(&self, left: NodeId, right: NodeId) -> Ordering {
        let (l, r) = (&self.nodes[left], &self.nodes[right]);
        l.share.total_cmp(&r.share).then(l.allocation.count.cmp(&r.allocation.count)).then_with(|| l.path.cmp(&r.path))
    }

    fn refresh_share_totals(&mut self) {
        let excluded = self.fairness_exclude_resource_names.as_ref();
        self.share_totals = self
            .totals
            .iter()
            .filter(|(name, total)| !excluded.is_some_and(|e| e.contains(*name)) && total.value > 0.0)
            .map(|(name, total)| (name.to_owned(), total.value))
            .collect();
    }

    /// Recomputes the shares of `node`'s active children, sorts them, and recurses.
    fn sort_tree(&mut self, node: NodeId) {
        let mut children = std::mem::take(&mut self.nodes[node].children);
        let active = children.iter().position(|&c| self.nodes[c].kind == Kind::InactiveLeaf).unwrap_or(children.len());
        for &child in &children[..active] {
            let share = self.calculate_share(child);
            self.nodes[child].share = share;
        }
        children[..active].sort_unstable_by(|&l, &r| self.compare(l, r));
        self.nodes[node].children = children;
        for i in 0..active {
            let child = self.nodes[node].children[i];
            if self.nodes[child].kind == Kind::Internal {
                self.sort_tree(child);
            }
        }
    }

    /// Moves `id` within its parent's active prefix to where its (fresh) share puts it;
    /// where from and to, if it moved. The other active children stay sorted, so the place
    /// is found by binary search: with many clients of equal share (say, a thousand
    /// frameworks each given one agent), a client moves past hundreds of them at once.
    /// `compare` is a total order (paths are unique), so the place is the one a step-by-step
    /// bubble would reach.
    fn bubble(&mut self, id: NodeId) -> Option<(usize, usize)> {
        let parent = self.nodes[id].parent?;
        let mut children = std::mem::take(&mut self.nodes[parent].children);
        let mut moved = None;
        if let Some(from) = children.iter().position(|&c| c == id) {
            let to = if from > 0 && self.compare(id, children[from - 1]) == Ordering::Less {
                // Left, after every earlier child that sorts before it.
                children[..from].partition_point(|&c| self.compare(c, id) == Ordering::Less)
            } else {
                // Right, past every later active child that sorts before it (inactive
                // leaves come last, so the predicate holds for a prefix).
                from + children[from + 1..].partition_point(|&c| {
                    self.nodes[c].kind != Kind::InactiveLeaf && self.compare(c, id) == Ordering::Less
                })
            };
            if to < from {
                children[to..=from].rotate_right(1);
            } else if to > from {
                children[from..=to].rotate_left(1);
            }
            moved = (to != from).then_some((from, to));
        }
        self.nodes[parent].children = children;
        moved
    }

    fn refresh_flat(&mut self) {
        self.flat = self.nodes[ROOT].children.iter().all(|&c| self.nodes[c].is_leaf());
    }

    fn collect_active(&self, node: NodeId, out: &mut Vec<Arc<str>>) {
        for &child in &self.nodes[node].children {
            match self.nodes[child].kind {
                Kind::ActiveLeaf => out.push(self.nodes[child].client.clone()),
                Kind::InactiveLeaf => return,
                Kind::Internal => self.collect_active(child, out),
            }
        }
    }

    fn not_allocated(client: &str, agent: &SlaveId, resources: &Resources) -> SorterError {
        SorterError::NotAllocated {
            client: client.to_owned(),
            agent: agent.value.clone(),
            resources: resources.to_string(),
        }
    }
}

impl Sorter for DrfSorter {
    fn add(&mut self, client: &str) -> Result<(), SorterError> {
        self.sorted = None;
        self.membership = next_membership();
        let tokens: Vec<&str> = client.split('/').collect();
        if tokens.iter().any(|t| t.is_empty() || *t == VIRTUAL_LEAF) {
            return Err(SorterError::InvalidClientPath(client.to_owned()));
        }
        if self.clients.contains_key(client) {
            return Err(SorterError::ClientExists(client.to_owned()));
        }

        // Walk down the existing part of the path (`mkdir -p`). It ends in one of three ways:
        // the path is used up at an internal node, which gets a virtual leaf for the client;
        // a leaf is reached with tokens left, which becomes internal and gets a virtual leaf
        // carrying its client and allocation; or the next token has no child yet.
        let mut current = ROOT;
        let mut next = 0;
        loop {
            if next == tokens.len() {
                let leaf = self.new_node(VIRTUAL_LEAF, Kind::InactiveLeaf, current);
                self.add_child(current, leaf);
                current = leaf;
                break;
            }
            if self.nodes[current].is_leaf() {
                let old_kind = self.nodes[current].kind;
                self.nodes[current].kind = Kind::Internal;
                self.reposition(current);
                let leaf = self.new_node(VIRTUAL_LEAF, old_kind, current);
                self.nodes[leaf].allocation = self.nodes[current].allocation.clone();
                self.nodes[current].allocation.keep_shared_only();
                self.add_child(current, leaf);
                self.clients.insert(self.nodes[current].path.clone(), leaf);
                break;
            }
            let token = tokens[next];
            match self.nodes[current].children.iter().find(|&&c| self.nodes[c].name == token) {
                Some(&child) => {
                    current = child;
                    next += 1;
                }
                None => break,
            }
        }
        // Create the rest of the path: internal nodes, then the client's leaf.
        for (i, token) in tokens.iter().enumerate().skip(next) {
            let kind = if i + 1 == tokens.len() { Kind::InactiveLeaf } else { Kind::Internal };
            let child = self.new_node(token, kind, current);
            self.add_child(current, child);
            current = child;
        }
        self.clients.insert(client.to_owned(), current);
        self.dirty = true;
        self.refresh_flat();
        Ok(())
    }

    fn remove(&mut self, client: &str) -> Result<(), SorterError> {
        self.sorted = None;
        self.membership = next_membership();
        let mut current = self.find(client)?;
        self.clients.remove(client);
        let leaf_allocation = std::mem::take(&mut self.nodes[current].allocation);

        // Take the leaf's allocation out of every ancestor, drop nodes left without
        // children, and fold a node left with only its virtual leaf back into a leaf.
        while let Some(parent) = self.nodes[current].parent {
            self.take_out(parent, &leaf_allocation);
            let children = &self.nodes[current].children;
            let only_child = if children.len() == 1 { Some(children[0]) } else { None };
            if children.is_empty() {
                self.remove_child(parent, current);
                self.free_node(current);
            } else if let Some(only) = only_child {
                if self.nodes[only].name == VIRTUAL_LEAF {
                    self.nodes[current].kind = self.nodes[only].kind;
                    self.nodes[current].children.clear();
                    // The client's resources come back to the node it is again.
                    self.nodes[current].allocation.resources =
                        std::mem::take(&mut self.nodes[only].allocation.resources);
                    self.free_node(only);
                    self.reposition(current);
                    self.clients.insert(self.nodes[current].path.clone(), current);
                }
            }
            current = parent;
        }
        self.dirty = true;
        self.refresh_flat();
        Ok(())
    }

    fn activate(&mut self, client: &str) -> Result<(), SorterError> {
        self.sorted = None;
        self.membership = next_membership();
        let id = self.find(client)?;
        if self.nodes[id].kind == Kind::InactiveLeaf {
            self.nodes[id].kind = Kind::ActiveLeaf;
            self.reposition(id);
            // Its share may be stale, and it now sits first among its siblings.
            self.dirty = true;
        }
        Ok(())
    }

    fn deactivate(&mut self, client: &str) -> Result<(), SorterError> {
        self.sorted = None;
        self.membership = next_membership();
        let id = self.find(client)?;
        if self.nodes[id].kind == Kind::ActiveLeaf {
            // Moving it behind the active prefix leaves that prefix sorted.
            self.nodes[id].kind = Kind::InactiveLeaf;
            self.reposition(id);
        }
        Ok(())
    }

    fn update_weight(&mut self, path: &str, weight: f64) -> Result<(), SorterError> {
        self.sorted = None;
        if !(weight.is_finite() && weight > 0.0) {
            return Err(SorterError::InvalidWeight { path: path.to_owned(), weight });
        }
        self.weights.insert(path.to_owned(), weight);
        if let Some(id) = self.find_path(path) {
            self.nodes[id].weight = Some(weight);
        }
        self.dirty = true;
        Ok(())
    }

    fn allocated(&mut self, client: &str, agent: &SlaveId, resources: &Resources) -> Result<(), SorterError> {
        let leaf = self.find(client)?;
        // In a flat, clean tree the order changes by the client's move among the root's
        // children, which the sorted list can follow without being rebuilt.
        let follow = !self.dirty && self.flat && self.nodes[leaf].kind == Kind::ActiveLeaf && self.sorted.is_some();
        // (An inactive client of a flat tree moves nothing that is sorted.)
        let unmoved = self.flat && self.nodes[leaf].kind == Kind::InactiveLeaf;
        if !(follow || unmoved) {
            self.sorted = None;
        }
        let quantities = plain_quantities(resources);
        // The leaf, then each ancestor up to the root.
        let mut next = Some(leaf);
        while let Some(id) = next {
            next = self.nodes[id].parent;
            let is_leaf = self.keeps_resources(id);
            self.nodes[id].allocation.add(agent, resources, quantities.as_ref(), is_leaf);
            // A clean tree stays clean: recompute this node's share and move it into place
            // among its siblings. Inactive leaves are not ordered.
            if id != ROOT && !self.dirty && self.nodes[id].kind != Kind::InactiveLeaf {
                let share = self.calculate_share(id);
                self.nodes[id].share = share;
                let moved = self.bubble(id);
                if follow && id == leaf {
                    if let Some(moved) = moved {
                        self.moves.push(moved);
                    }
                }
            }
        }
        Ok(())
    }

    fn update(
        &mut self,
        client: &str,
        agent: &SlaveId,
        old_allocation: &Resources,
        new_allocation: &Resources,
    ) -> Result<(), SorterError> {
        self.sorted = None;
        let leaf = self.find(client)?;
        if self.client_resources && !self.nodes[leaf].allocation.holds(agent, old_allocation) {
            return Err(DrfSorter::not_allocated(client, agent, old_allocation));
        }
        // The leaf, then each ancestor up to the root.
        let mut next = Some(leaf);
        while let Some(id) = next {
            next = self.nodes[id].parent;
            let is_leaf = self.keeps_resources(id);
            self.nodes[id].allocation.update(agent, old_allocation, new_allocation, is_leaf);
        }
        // The quantities may have changed; C++ does not check, and neither do we.
        self.dirty = true;
        Ok(())
    }

    fn unallocated(&mut self, client: &str, agent: &SlaveId, resources: &Resources) -> Result<(), SorterError> {
        self.sorted = None;
        let leaf = self.find(client)?;
        if self.client_resources && !self.nodes[leaf].allocation.holds(agent, resources) {
            return Err(DrfSorter::not_allocated(client, agent, resources));
        }
        let quantities = plain_quantities(resources);
        // The leaf, then each ancestor up to the root.
        let mut next = Some(leaf);
        while let Some(id) = next {
            next = self.nodes[id].parent;
            let is_leaf = self.keeps_resources(id);
            self.nodes[id].allocation.subtract(agent, resources, quantities.as_ref(), is_leaf);
        }
        self.dirty = true;
        Ok(())
    }

    fn allocation(&self, client: &str) -> Result<&FastMap<SlaveId, Resources>, SorterError> {
        Ok(&self.nodes[self.find(client)?].allocation.resources)
    }

    fn allocation_on(&self, client: &str, agent: &SlaveId) -> Result<Resources, SorterError> {
        Ok(self.nodes[self.find(client)?].allocation.resources.get(agent).cloned().unwrap_or_default())
    }

    fn allocation_scalar_quantities(&self, client: &str) -> Result<&ResourceQuantities, SorterError> {
        Ok(&self.nodes[self.find(client)?].allocation.totals)
    }

    fn total_allocation_scalar_quantities(&self) -> &ResourceQuantities {
        &self.nodes[ROOT].allocation.totals
    }

    fn add_slave(&mut self, agent: &SlaveId, quantities: ResourceQuantities) -> Result<(), SorterError> {
        self.sorted = None;
        if self.agent_totals.contains_key(agent) {
            return Err(SorterError::AgentExists(agent.value.clone()));
        }
        self.totals += &quantities;
        self.agent_totals.insert(agent.clone(), quantities);
        self.refresh_share_totals();
        // Every share changes; recompute them once, at the next `sort()`.
        self.dirty = true;
        Ok(())
    }

    fn remove_slave(&mut self, agent: &SlaveId) -> Result<(), SorterError> {
        self.sorted = None;
        let quantities =
            self.agent_totals.remove(agent).ok_or_else(|| SorterError::UnknownAgent(agent.value.clone()))?;
        self.totals -= &quantities;
        self.refresh_share_totals();
        self.dirty = true;
        Ok(())
    }

    fn sort(&mut self) -> Vec<String> {
        self.sort_clients().iter().map(|client| client.to_string()).collect()
    }

    fn sort_clients(&mut self) -> Arc<[Arc<str>]> {
        if let Some(sorted) = &mut self.sorted {
            if self.moves.is_empty() {
                return sorted.clone();
            }
            // Nobody else holds the list: apply the clients' moves to it in place.
            if let Some(list) = Arc::get_mut(sorted) {
                for (from, to) in self.moves.drain(..) {
                    if from < to {
                        list[from..=to].rotate_left(1);
                    } else {
                        list[to..=from].rotate_right(1);
                    }
                }
                return sorted.clone();
            }
        }
        self.moves.clear();
        if self.dirty {
            self.sort_tree(ROOT);
            self.dirty = false;
        }
        let mut result = Vec::with_capacity(self.clients.len());
        self.collect_active(ROOT, &mut result);
        let sorted: Arc<[Arc<str>]> = result.into();
        self.sorted = Some(sorted.clone());
        sorted
    }

    fn contains(&self, client: &str) -> bool {
        self.clients.contains_key(client)
    }

    fn count(&self) -> usize {
        self.clients.len()
    }
}
