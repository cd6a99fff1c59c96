//! The allocator's tree of roles: quota, weight, tracked frameworks, reservations and what each role subtree is offered or allocated; mirrors `Role`, `RoleTree` and `ScalarResourceTotals` in `src/master/allocator/mesos/hierarchical.{hpp,cpp}`.
//!
//! A role is in the tree while it has a non-default quota or weight, tracked frameworks,
//! reservations, or a descendant with any of these; the root (path `""`) is always there.
//! Every quantity a role keeps covers its whole subtree, so a change is applied to the role
//! and all its ancestors.
//!
//! The tree is a plain data structure. Where C++ CHECK-fails (a role or framework tracked
//! twice, resources untracked that were never tracked) the call returns a
//! [`RoleTreeError`] and changes nothing. Roles coming and going, and changes of a role's
//! consumed quota, are reported to an optional [`RoleObserver`] (the allocator's metrics).
//!
//! Divergence: C++ also reports the root's consumed quota, which publishes metrics with an
//! empty role name (`quota/roles//resources/...`); the root is not reported here.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::Arc;

use mesos::proto::value::Type as ValueType;
use mesos::proto::{FrameworkId, Resource, SlaveId};
use mesos::resources::Resources;

use crate::constants::DEFAULT_QUOTA;
use crate::quota::Quota;
use crate::resource_quantities::ResourceQuantities;

use super::hierarchical::RoleParts;
use super::sorter::drf::DEFAULT_WEIGHT;
use super::FastMap;

/// A refused change of the role tree; the tree is unchanged.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum RoleTreeError {
    /// The role is not in the tree.
    #[error("role '{0}' is not tracked")]
    UnknownRole(String),
    /// The framework is already tracked under the role.
    #[error("framework {framework} is already tracked under role '{role}'")]
    FrameworkTracked {
        /// The framework id.
        framework: String,
        /// The role.
        role: String,
    },
    /// The framework is not tracked under the role.
    #[error("framework {framework} is not tracked under role '{role}'")]
    FrameworkNotTracked {
        /// The framework id.
        framework: String,
        /// The role.
        role: String,
    },
    /// Resources to untrack were not tracked, or are not allocated to a role.
    #[error("role '{role}' does not hold {resources}")]
    NotTracked {
        /// The role (empty if the resources carry no allocation role).
        role: String,
        /// The resources.
        resources: String,
    },
}

/// Who hears about roles coming and going and about consumed quota (the allocator's metrics).
pub trait RoleObserver: Send {
    /// A role entered the tree.
    fn role_added(&mut self, role: &str);
    /// A role left the tree.
    fn role_removed(&mut self, role: &str);
    /// What a role consumes against its quota changed.
    fn consumed_changed(&mut self, role: &str, consumed: &ResourceQuantities);
}

/// Scalar resources summed across agents, kept per agent so that a shared resource held
/// several times counts once (C++ `ScalarResourceTotals`). Per agent, non-shared scalars are
/// kept as quantities (their sum is exact) and shared ones as resources.
#[derive(Debug, Clone, Default)]
pub struct ScalarResourceTotals {
    agents: FastMap<SlaveId, AgentScalars>,
    total: ResourceQuantities,
}

#[derive(Debug, Clone, Default)]
struct AgentScalars {
    non_shared: ResourceQuantities,
    shared: Resources,
}

/// The scalars of some resources that pass a test, ready to be added to totals.
#[derive(Debug, Clone, Default)]
struct ScalarParts {
    non_shared: ResourceQuantities,
    shared: Resources,
}

impl ScalarParts {
    fn of(resources: &Resources, keep: impl Fn(&Resource) -> bool) -> ScalarParts {
        let mut parts = ScalarParts::default();
        for resource in resources.iter().filter(|r| r.r#type() == ValueType::Scalar && keep(r)) {
            if mesos::resources::is_shared(resource) {
                // Once per copy, so subtraction finds the copies it takes away.
                for _ in 0..resources.count(resource) {
                    parts.shared.add_resource(resource);
                }
            } else {
                parts.non_shared.add_quantity(&resource.name, resource.scalar.unwrap_or_default());
            }
        }
        parts
    }

    fn is_empty(&self) -> bool {
        self.non_shared.is_empty() && self.shared.is_empty()
    }
}

impl ScalarResourceTotals {
    fn add(&mut self, agent: &SlaveId, parts: &ScalarParts) {
        if parts.is_empty() {
            return;
        }
        let held = match self.agents.get_mut(agent) {
            Some(held) => held,
            None => self.agents.entry(agent.clone()).or_default(),
        };
        held.non_shared += &parts.non_shared;
        self.total += &parts.non_shared;
        if !parts.shared.is_empty() {
            self.total -= &ResourceQuantities::from_scalar_resources(&held.shared);
            held.shared += &parts.shared;
            self.total += &ResourceQuantities::from_scalar_resources(&held.shared);
        }
    }

    fn holds(&self, agent: &SlaveId, parts: &ScalarParts) -> bool {
        if parts.is_empty() {
            return true;
        }
        self.agents
            .get(agent)
            .is_some_and(|held| held.non_shared.contains(&parts.non_shared) && held.shared.contains(&parts.shared))
    }

    /// The caller checked [`Self::holds`].
    fn subtract(&mut self, agent: &SlaveId, parts: &ScalarParts) {
        if parts.is_empty() {
            return;
        }
        let Some(held) = self.agents.get_mut(agent) else { return };
        held.non_shared -= &parts.non_shared;
        self.total -= &parts.non_shared;
        if !parts.shared.is_empty() {
            self.total -= &ResourceQuantities::from_scalar_resources(&held.shared);
            held.shared -= &parts.shared;
            self.total += &ResourceQuantities::from_scalar_resources(&held.shared);
        }
        if held.non_shared.is_empty() && held.shared.is_empty() {
            self.agents.remove(agent);
        }
    }

    /// Nothing held anywhere.
    pub fn is_empty(&self) -> bool {
        self.agents.is_empty()
    }

    /// The summed quantities.
    pub fn quantities(&self) -> &ResourceQuantities {
        &self.total
    }
}

/// One role of the tree (C++ `Role`). All quantities include the role's subroles.
#[derive(Debug, Clone)]
pub struct Role {
    path: String,
    children: BTreeSet<String>,
    /// Shared, so that an allocation run can hold on to it cheaply.
    quota: Arc<Quota>,
    weight: f64,
    /// Frameworks subscribed to the role, or holding resources allocated to it.
    frameworks: HashSet<FrameworkId>,
    offered_or_allocated_unreserved_non_revocable: ScalarResourceTotals,
    offered_or_allocated_reserved: ScalarResourceTotals,
    /// Reservations on all agents (allocated or not), subroles' included; scalars only.
    reservation_scalar_quantities: ResourceQuantities,
    /// Unreserved non-revocable resources tasks actually use.
    allocated_unreserved_non_revocable: ScalarResourceTotals,
}

impl Role {
    fn new(path: &str) -> Role {
        Role {
            path: path.to_owned(),
            children: BTreeSet::new(),
            quota: Arc::new(DEFAULT_QUOTA),
            weight: DEFAULT_WEIGHT,
            frameworks: HashSet::new(),
            offered_or_allocated_unreserved_non_revocable: ScalarResourceTotals::default(),
            offered_or_allocated_reserved: ScalarResourceTotals::default(),
            reservation_scalar_quantities: ResourceQuantities::new(),
            allocated_unreserved_non_revocable: ScalarResourceTotals::default(),
        }
    }

    /// The role's path, `a/b/c` (empty for the root).
    pub fn path(&self) -> &str {
        &self.path
    }

    /// The paths of the role's children.
    pub fn children(&self) -> impl Iterator<Item = &str> + '_ {
        self.children.iter().map(String::as_str)
    }

    /// The role's quota.
    pub fn quota(&self) -> &Quota {
        &self.quota
    }

    /// The role's weight.
    pub fn weight(&self) -> f64 {
        self.weight
    }

    /// The frameworks tracked under the role.
    pub fn frameworks(&self) -> &HashSet<FrameworkId> {
        &self.frameworks
    }

    /// Reserved scalar quantities, allocated or not (C++ `reservationScalarQuantities`).
    pub fn reservation_scalar_quantities(&self) -> &ResourceQuantities {
        &self.reservation_scalar_quantities
    }

    /// Reserved scalar quantities offered or allocated.
    pub fn offered_or_allocated_reserved_scalar_quantities(&self) -> &ResourceQuantities {
        self.offered_or_allocated_reserved.quantities()
    }

    /// What counts against quota while offers are being made: unreserved non-revocable
    /// resources offered or allocated, plus all reservations (C++ `quotaOfferedOrConsumed`).
    pub fn quota_offered_or_consumed(&self) -> ResourceQuantities {
        self.offered_or_allocated_unreserved_non_revocable.quantities() + &self.reservation_scalar_quantities
    }

    /// What the role consumes: unreserved non-revocable resources used by tasks, plus all
    /// reservations (C++ `quotaConsumed`).
    pub fn quota_consumed(&self) -> ResourceQuantities {
        self.allocated_unreserved_non_revocable.quantities() + &self.reservation_scalar_quantities
    }

    fn is_empty(&self) -> bool {
        self.children.is_empty()
            && self.frameworks.is_empty()
            && self.reservation_scalar_quantities.is_empty()
            && self.quota.is_default()
            && self.weight == DEFAULT_WEIGHT
    }
}

/// The parent path of a non-root role: `a/b` for `a/b/c`, the root (`""`) for `a`.
fn parent_path(path: &str) -> &str {
    path.rfind('/').map_or("", |i| &path[..i])
}

/// The tree (C++ `RoleTree`).
pub struct RoleTree {
    root: Role,
    roles: FastMap<String, Role>,
    observer: Option<Box<dyn RoleObserver>>,
}

impl Default for RoleTree {
    fn default() -> RoleTree {
        RoleTree::new(None)
    }
}

impl RoleTree {
    /// An empty tree reporting to `observer`.
    pub fn new(observer: Option<Box<dyn RoleObserver>>) -> RoleTree {
        RoleTree { root: Role::new(""), roles: FastMap::default(), observer }
    }

    /// The root; its quantities cover every role.
    pub fn root(&self) -> &Role {
        &self.root
    }

    /// A tracked role.
    pub fn get(&self, role: &str) -> Option<&Role> {
        self.roles.get(role)
    }

    /// All tracked roles by path (the root excluded).
    pub fn roles(&self) -> &FastMap<String, Role> {
        &self.roles
    }

    /// The quota of `role`, the default one if it is not tracked.
    pub fn quota(&self, role: &str) -> Arc<Quota> {
        match self.roles.get(role) {
            Some(r) => r.quota.clone(),
            None => Arc::new(DEFAULT_QUOTA),
        }
    }

    fn node_mut(&mut self, path: &str) -> Option<&mut Role> {
        if path.is_empty() {
            Some(&mut self.root)
        } else {
            self.roles.get_mut(path)
        }
    }

    /// The role at `path`, created with any missing ancestors (C++ `operator[]`).
    fn ensure(&mut self, path: &str) -> &mut Role {
        if !self.roles.contains_key(path) {
            let mut missing = vec![path];
            let mut current = parent_path(path);
            while !current.is_empty() && !self.roles.contains_key(current) {
                missing.push(current);
                current = parent_path(current);
            }
            for new in missing.into_iter().rev() {
                if let Some(parent) = self.node_mut(parent_path(new)) {
                    parent.children.insert(new.to_owned());
                }
                self.roles.insert(new.to_owned(), Role::new(new));
                if let Some(observer) = &mut self.observer {
                    observer.role_added(new);
                }
            }
        }
        self.roles.get_mut(path).expect("the role was just inserted")
    }

    /// Removes `role` and then its ancestors for as long as they are empty (C++
    /// `tryRemove`); whether `role` itself went.
    fn try_remove(&mut self, role: &str) -> bool {
        let mut current = role.to_owned();
        let mut removed_any = false;
        while !current.is_empty() {
            match self.roles.get(&current) {
                Some(node) if node.is_empty() => {}
                _ => break,
            }
            self.roles.remove(&current);
            let parent = parent_path(&current).to_owned();
            if let Some(parent) = self.node_mut(&parent) {
                parent.children.remove(&current);
            }
            if let Some(observer) = &mut self.observer {
                observer.role_removed(&current);
            }
            removed_any = true;
            current = parent;
        }
        removed_any
    }

    /// The paths of `role` and its ancestors, the root (`""`) last.
    fn chain(role: &str) -> impl Iterator<Item = &str> {
        std::iter::successors(Some(role), |current| if current.is_empty() { None } else { Some(parent_path(current)) })
    }

    /// Applies `f` to `role` and each of its ancestors, the root included.
    fn for_chain(&mut self, role: &str, mut f: impl FnMut(&mut Role)) {
        for path in RoleTree::chain(role) {
            if let Some(node) = self.node_mut(path) {
                f(node);
            }
        }
    }

    fn report_consumed(&mut self, role: &str) {
        let Some(observer) = &mut self.observer else { return };
        for path in RoleTree::chain(role).filter(|p| !p.is_empty()) {
            if let Some(node) = self.roles.get(path) {
                observer.consumed_changed(path, &node.quota_consumed());
            }
        }
    }

    /// Counts reserved scalars against their reservation roles (created as needed).
    pub fn track_reservations(&mut self, resources: &Resources) {
        for resource in resources.scalars().iter() {
            let Some(role) = mesos::resources::reservation_role(resource) else { continue };
            let quantities = ResourceQuantities::from_scalar_resource(resource);
            self.ensure(role);
            self.for_chain(role, |node| node.reservation_scalar_quantities += &quantities);
            self.report_consumed(role);
        }
    }

    /// The reverse of [`Self::track_reservations`]; roles left empty go.
    pub fn untrack_reservations(&mut self, resources: &Resources) -> Result<(), RoleTreeError> {
        let scalars = resources.scalars();
        let mut by_role: HashMap<&str, ResourceQuantities> = HashMap::new();
        for resource in scalars.iter() {
            if let Some(role) = mesos::resources::reservation_role(resource) {
                *by_role.entry(role).or_default() += &ResourceQuantities::from_scalar_resource(resource);
            }
        }
        for (role, quantities) in &by_role {
            if !self.roles.get(*role).is_some_and(|r| r.reservation_scalar_quantities.contains(quantities)) {
                return Err(RoleTreeError::NotTracked { role: role.to_string(), resources: quantities.to_string() });
            }
        }
        for (role, quantities) in by_role {
            self.for_chain(role, |node| node.reservation_scalar_quantities -= &quantities);
            self.report_consumed(role);
            self.try_remove(role);
        }
        Ok(())
    }

    /// Splits allocated resources by allocation role, checking every role is tracked.
    fn by_allocation_role<'r>(&self, resources: &'r Resources) -> Result<RoleParts<'r>, RoleTreeError> {
        let parts = RoleParts::of(resources)
            .map_err(|_| RoleTreeError::NotTracked { role: String::new(), resources: resources.to_string() })?;
        if let Some((role, _)) = parts.iter().find(|(role, _)| !self.roles.contains_key(*role)) {
            return Err(RoleTreeError::UnknownRole(role.to_owned()));
        }
        Ok(parts)
    }

    /// Records unreserved non-revocable scalars as used by tasks (C++ `trackAllocated`).
    pub fn track_allocated(&mut self, agent: &SlaveId, resources: &Resources) -> Result<(), RoleTreeError> {
        for (role, part) in self.by_allocation_role(resources)?.iter() {
            let parts = ScalarParts::of(part, is_unreserved_non_revocable);
            if parts.is_empty() {
                continue;
            }
            self.for_chain(role, |node| node.allocated_unreserved_non_revocable.add(agent, &parts));
            self.report_consumed(role);
        }
        Ok(())
    }

    /// The reverse of [`Self::track_allocated`].
    pub fn untrack_allocated(&mut self, agent: &SlaveId, resources: &Resources) -> Result<(), RoleTreeError> {
        let split = self.by_allocation_role(resources)?;
        let mut all = Vec::new();
        for (role, part) in split.iter() {
            let parts = ScalarParts::of(part, is_unreserved_non_revocable);
            if !self.roles.get(role).is_some_and(|r| r.allocated_unreserved_non_revocable.holds(agent, &parts)) {
                return Err(RoleTreeError::NotTracked { role: role.to_owned(), resources: part.to_string() });
            }
            all.push((role, parts));
        }
        for (role, parts) in all.into_iter().filter(|(_, parts)| !parts.is_empty()) {
            self.for_chain(role, |node| node.allocated_unreserved_non_revocable.subtract(agent, &parts));
            self.report_consumed(role);
        }
        Ok(())
    }

    /// Tracks a framework under a role, creating the role as needed.
    pub fn track_framework(&mut self, framework: &FrameworkId, role: &str) -> Result<(), RoleTreeError> {
        if self.roles.get(role).is_some_and(|r| r.frameworks.contains(framework)) {
            return Err(RoleTreeError::FrameworkTracked { framework: framework.value.clone(), role: role.to_owned() });
        }
        self.ensure(role).frameworks.insert(framework.clone());
        Ok(())
    }

    /// Stops tracking a framework under a role; the role goes if left empty.
    pub fn untrack_framework(&mut self, framework: &FrameworkId, role: &str) -> Result<(), RoleTreeError> {
        let removed = self.roles.get_mut(role).is_some_and(|r| r.frameworks.remove(framework));
        if !removed {
            return Err(RoleTreeError::FrameworkNotTracked {
                framework: framework.value.clone(),
                role: role.to_owned(),
            });
        }
        self.try_remove(role);
        Ok(())
    }

    /// Sets a role's quota; the default quota may let the role go.
    pub fn update_quota(&mut self, role: &str, quota: Quota) {
        self.ensure(role).quota = Arc::new(quota);
        self.try_remove(role);
    }

    /// Sets a role's weight; the default weight may let the role go.
    pub fn update_weight(&mut self, role: &str, weight: f64) {
        self.ensure(role).weight = weight;
        self.try_remove(role);
    }

    /// Records resources offered or allocated, by allocation role (C++
    /// `trackOfferedOrAllocated`).
    pub fn track_offered_or_allocated(&mut self, agent: &SlaveId, resources: &Resources) -> Result<(), RoleTreeError> {
        for (role, part) in self.by_allocation_role(resources)?.iter() {
            let reserved = ScalarParts::of(part, |r| mesos::resources::is_reserved(r, None));
            let unreserved = ScalarParts::of(part, is_unreserved_non_revocable);
            self.for_chain(role, |node| {
                node.offered_or_allocated_reserved.add(agent, &reserved);
                node.offered_or_allocated_unreserved_non_revocable.add(agent, &unreserved);
            });
        }
        Ok(())
    }

    /// The reverse of [`Self::track_offered_or_allocated`].
    pub fn untrack_offered_or_allocated(
        &mut self,
        agent: &SlaveId,
        resources: &Resources,
    ) -> Result<(), RoleTreeError> {
        let split = self.by_allocation_role(resources)?;
        let mut all = Vec::new();
        for (role, part) in split.iter() {
            let reserved = ScalarParts::of(part, |r| mesos::resources::is_reserved(r, None));
            let unreserved = ScalarParts::of(part, is_unreserved_non_revocable);
            let held = self.roles.get(role).is_some_and(|r| {
                r.offered_or_allocated_reserved.holds(agent, &reserved)
                    && r.offered_or_allocated_unreserved_non_revocable.holds(agent, &unreserved)
            });
            if !held {
                return Err(RoleTreeError::NotTracked { role: role.to_owned(), resources: part.to_string() });
            }
            all.push((role, reserved, unreserved));
        }
        for (role, reserved, unreserved) in all {
            self.for_chain(role, |node| {
                node.offered_or_allocated_reserved.subtract(agent, &reserved);
                node.offered_or_allocated_unreserved_non_revocable.subtract(agent, &unreserved);
            });
        }
        Ok(())
    }
}

fn is_unreserved_non_revocable(resource: &Resource) -> bool {
    mesos::resources::is_unreserved(resource) && !mesos::resources::is_revocable(resource)
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use super::*;

    fn r(text: &str) -> Resources {
        Resources::parse(text, "*").unwrap()
    }

    fn allocated(text: &str, role: &str) -> Resources {
        let mut resources = r(text);
        resources.allocate(role);
        resources
    }

    fn q(text: &str) -> ResourceQuantities {
        ResourceQuantities::parse(text).unwrap()
    }

    #[derive(Default)]
    struct Log(Arc<Mutex<Vec<String>>>);

    impl RoleObserver for Log {
        fn role_added(&mut self, role: &str) {
            self.0.lock().unwrap().push(format!("+{role}"));
        }
        fn role_removed(&mut self, role: &str) {
            self.0.lock().unwrap().push(format!("-{role}"));
        }
        fn consumed_changed(&mut self, role: &str, consumed: &ResourceQuantities) {
            self.0.lock().unwrap().push(format!("{role}={consumed}"));
        }
    }

    #[test]
    fn roles_come_with_their_ancestors_and_go_when_empty() {
        let log = Arc::new(Mutex::new(Vec::new()));
        let mut tree = RoleTree::new(Some(Box::new(Log(log.clone()))));
        let framework = FrameworkId { value: "f".into() };
        tree.track_framework(&framework, "a/b/c").unwrap();
        assert_eq!(*log.lock().unwrap(), ["+a", "+a/b", "+a/b/c"]);
        assert_eq!(tree.root().children().collect::<Vec<_>>(), ["a"]);
        assert!(tree.track_framework(&framework, "a/b/c").is_err());

        tree.update_weight("a", 2.0);
        tree.untrack_framework(&framework, "a/b/c").unwrap();
        // `a` keeps its weight, so only `a/b/c` and `a/b` go.
        assert_eq!(log.lock().unwrap()[3..], ["-a/b/c", "-a/b"]);
        assert!(tree.get("a").is_some());
        tree.update_weight("a", DEFAULT_WEIGHT);
        assert!(tree.get("a").is_none());
        assert!(tree.untrack_framework(&framework, "a").is_err());
    }

    #[test]
    fn reservations_and_allocations_count_up_the_tree() {
        let mut tree = RoleTree::default();
        let agent = SlaveId { value: "s1".into() };
        tree.track_reservations(&Resources::parse("cpus(a/b):1;mem(a/b):100;cpus:5", "*").unwrap());
        assert_eq!(tree.get("a").unwrap().reservation_scalar_quantities(), &q("cpus:1;mem:100"));
        assert_eq!(tree.root().reservation_scalar_quantities(), &q("cpus:1;mem:100"));

        let framework = FrameworkId { value: "f".into() };
        tree.track_framework(&framework, "a").unwrap();
        tree.track_offered_or_allocated(&agent, &allocated("cpus:2;mem:10;ports:[1-3]", "a")).unwrap();
        assert_eq!(tree.get("a").unwrap().quota_offered_or_consumed(), q("cpus:3;mem:110"));
        assert!(tree.untrack_offered_or_allocated(&agent, &allocated("cpus:3", "a")).is_err());
        tree.untrack_offered_or_allocated(&agent, &allocated("cpus:2;mem:10", "a")).unwrap();
        assert_eq!(tree.get("a").unwrap().quota_offered_or_consumed(), q("cpus:1;mem:100"));

        tree.track_allocated(&agent, &allocated("cpus:1", "a")).unwrap();
        assert_eq!(tree.get("a").unwrap().quota_consumed(), q("cpus:2;mem:100"));
        assert!(tree.track_allocated(&agent, &allocated("cpus:1", "zzz")).is_err());

        assert!(tree.untrack_reservations(&Resources::parse("cpus(a/b):2", "*").unwrap()).is_err());
        tree.untrack_reservations(&Resources::parse("cpus(a/b):1;mem(a/b):100", "*").unwrap()).unwrap();
        assert!(tree.get("a/b").is_none());
        assert!(tree.root().reservation_scalar_quantities().is_empty());
    }

    #[test]
    fn shared_resources_count_once() {
        let mut totals = ScalarResourceTotals::default();
        let agent = SlaveId { value: "s1".into() };
        let mut volume = r("disk(role):10").to_vec().remove(0);
        volume.shared = Some(Default::default());
        volume.disk = Some(Box::new(mesos::proto::resource::DiskInfo {
            persistence: Some(mesos::proto::resource::disk_info::Persistence { id: "v".into(), principal: None }),
            volume: None,
            source: None,
        }));
        let volume = &Resources::from(volume) + &r("cpus:1");
        let parts = ScalarParts::of(&volume, |_| true);
        totals.add(&agent, &parts);
        totals.add(&agent, &parts);
        assert_eq!(totals.quantities(), &q("cpus:2;disk:10"));
        assert!(totals.holds(&agent, &parts));
        totals.subtract(&agent, &parts);
        assert_eq!(totals.quantities(), &q("cpus:1;disk:10"));
        totals.subtract(&agent, &parts);
        assert!(totals.is_empty());
        assert!(!totals.holds(&agent, &parts));
    }
}
