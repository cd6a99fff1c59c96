//! The `Resources` collection: arithmetic, containment, validation, parsing and reservation handling of `Resource` protos; mirrors `src/common/resources.cpp` (`include/mesos/resources.hpp`), with the role checks of `src/common/roles.cpp` and the format conversions of `src/common/resources_utils.cpp`.
//!
//! A [`Resources`] holds only valid, non-empty resources in the post-reservation-refinement
//! format (reservations as the `reservations` stack, no `role`/`reservation` field), with
//! every pair of "addable" resources merged into one entry. Adding an invalid or empty
//! resource is a no-op, as in C++; a resource given in the pre-refinement format is upgraded
//! on the way in (C++ would abort on it).
//!
//! Shared resources (persistent volumes with `shared` set) are counted as in C++: adding the
//! same shared volume twice keeps one entry with a count of two, subtracting lowers the count,
//! and containment compares counts. Iteration yields each shared entry once;
//! [`Resources::count`] gives its count.
//!
//! Not ported: operations (`apply`, `ResourceConversion`), `find`, `shrink`,
//! `ResourceQuantities`/`ResourceLimits`, and reservation ancestors.

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::ops::{Add, AddAssign, Sub, SubAssign};
use std::sync::Arc;

use crate::proto::resource::disk_info::source::Type as SourceType;
use crate::proto::resource::disk_info::Source;
use crate::proto::resource::reservation_info::Type as ReservationType;
use crate::proto::resource::{AllocationInfo, DiskInfo, ReservationInfo};
use crate::proto::value::{Ranges, Scalar, Set, Type};
use crate::proto::{Labels, Resource};
use crate::values::{self, MesosValue, ValueError};

/// Why resources could not be parsed, validated or converted.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ResourcesError {
    /// The value of one `name:value` pair did not parse.
    #[error("failed to parse resource '{name}' value '{value}': {source}")]
    Value {
        /// The resource name.
        name: String,
        /// The value text as given.
        value: String,
        /// What was wrong with it.
        #[source]
        source: ValueError,
    },
    /// The value parsed as text, which resources cannot hold.
    #[error("bad type for resource '{name}' value '{value}': resources cannot be TEXT")]
    TextValue {
        /// The resource name.
        name: String,
        /// The value text as given.
        value: String,
    },
    /// A `;`-separated token is not one `name:value` pair.
    #[error("bad value for resources, missing or extra ':' in '{0}'")]
    BadPair(String),
    /// A `name(role)` has unbalanced parentheses.
    #[error("bad value for resources, mismatched parentheses in '{0}'")]
    MismatchedParentheses(String),
    /// An element of the JSON array form of `--resources` is not a `Resource` object.
    #[error("Some JSON resources were not formatted properly: {0}")]
    Json(String),
    /// [`Resources::validate`] refused a resource.
    #[error("invalid resource '{name}': {reason}")]
    Invalid {
        /// The resource name (empty if that is what is wrong).
        name: String,
        /// The rule it breaks.
        reason: String,
    },
    /// The resources are valid but not allowed on a command line (same name with two types,
    /// persistent volumes, revocable resources, dynamic reservations).
    #[error("{0}")]
    CommandLine(String),
    /// A resource with refined reservations cannot be expressed in the pre-refinement format.
    #[error("cannot downgrade resource '{0}': it has refined reservations")]
    RefinedReservations(String),
    /// The conversion needs the post-refinement format, but `role` or `reservation` is set.
    #[error("resource '{0}' is already in the pre-reservation-refinement format")]
    AlreadyPreRefinement(String),
    /// The pre-refinement resource is unreserved (`role` `*`) yet has a `reservation`.
    #[error("resource '{0}' has role \"*\" and a reservation")]
    StarReservation(String),
    /// [`Resources::pop_reservation`] on an unreserved resource.
    #[error("resource '{0}' has no reservation to pop")]
    NotReserved(String),
    /// [`Resources::allocations`] on a resource without `allocation_info.role`.
    #[error("resource '{0}' is not allocated")]
    NotAllocated(String),
}

fn invalid(resource: &Resource, reason: impl Into<String>) -> ResourcesError {
    ResourcesError::Invalid { name: resource.name.clone(), reason: reason.into() }
}

// ===== Roles (`src/common/roles.cpp`) =====

/// Checks a role name: `*`, or `/`-separated components that are not empty, `.`, `..` or
/// `*`, do not start with `-`, and contain no whitespace or DEL.
pub fn validate_role(role: &str) -> Result<(), String> {
    if role == "*" {
        return Ok(());
    }
    if role.starts_with('/') {
        return Err(format!("role '{role}' cannot start with a slash"));
    }
    if role.ends_with('/') {
        return Err(format!("role '{role}' cannot end with a slash"));
    }
    if role.contains("//") {
        return Err(format!("role '{role}' cannot contain two adjacent slashes"));
    }
    if role.is_empty() {
        return Err("role names cannot be the empty string".into());
    }
    for component in role.split('/') {
        match component {
            "." | ".." | "*" => return Err(format!("role '{role}' cannot include '{component}' as a component")),
            _ if component.starts_with('-') => {
                return Err(format!("role component '{component}' is invalid because it starts with a dash"))
            }
            _ if component.contains(['\t', '\n', '\x0b', '\x0c', '\r', ' ', '\x7f']) => {
                return Err(format!(
                    "role component '{component}' is invalid because it contains backspace or whitespace"
                ))
            }
            _ => {}
        }
    }
    Ok(())
}

/// Whether `child` is strictly below `parent` in the role tree (`a/b` under `a`, not `ab`).
pub fn is_strict_subrole_of(child: &str, parent: &str) -> bool {
    child.len() > parent.len() && child.as_bytes()[parent.len()] == b'/' && child.starts_with(parent)
}

// ===== Equality of resource metadata =====

/// Labels are equal regardless of order.
fn labels_eq(left: &Labels, right: &Labels) -> bool {
    left.labels.len() == right.labels.len()
        && left.labels.iter().all(|l| right.labels.contains(l))
        && right.labels.iter().all(|r| left.labels.contains(r))
}

fn option_eq<T>(left: &Option<T>, right: &Option<T>, eq: impl Fn(&T, &T) -> bool) -> bool {
    match (left, right) {
        (None, None) => true,
        (Some(l), Some(r)) => eq(l, r),
        _ => false,
    }
}

/// `ReservationInfo` equality: an unset `type`/`role` equals its default; labels compare
/// regardless of order.
pub fn reservation_eq(left: &ReservationInfo, right: &ReservationInfo) -> bool {
    left.r#type() == right.r#type()
        && left.role() == right.role()
        && left.principal == right.principal
        && option_eq(&left.labels, &right.labels, labels_eq)
}

fn source_eq(left: &Source, right: &Source) -> bool {
    left.r#type == right.r#type
        && left.path == right.path
        && left.mount == right.mount
        && left.vendor == right.vendor
        && left.id == right.id
        && option_eq(&left.metadata, &right.metadata, labels_eq)
        && left.profile == right.profile
}

/// `DiskInfo` equality: the source and the persistence id. The `volume` (how a task mounts
/// the disk) and the persistence principal are not part of the resource's identity.
pub fn disk_eq(left: &DiskInfo, right: &DiskInfo) -> bool {
    option_eq(&left.source, &right.source, source_eq)
        && option_eq(&left.persistence, &right.persistence, |l, r| l.id == r.id)
}

/// Everything but the value: name, type, allocation, reservations, disk, revocable,
/// provider and shared.
fn same_metadata(left: &Resource, right: &Resource) -> bool {
    // Entries share their resources, so the same one often meets itself.
    if std::ptr::eq(left, right) {
        return true;
    }
    left.name == right.name
        && left.r#type == right.r#type
        && left.allocation_info == right.allocation_info
        && left.reservations.len() == right.reservations.len()
        && left.reservations.iter().zip(&right.reservations).all(|(l, r)| reservation_eq(l, r))
        && option_eq(&left.disk, &right.disk, |l, r| disk_eq(l, r))
        && left.revocable.is_some() == right.revocable.is_some()
        && left.provider_id == right.provider_id
        && left.shared.is_some() == right.shared.is_some()
}

fn scalar_of(resource: &Resource) -> Scalar {
    resource.scalar.unwrap_or_default()
}

/// Mesos equality of two resources: same metadata and Mesos-equal values (C++ `operator==`).
pub fn resource_eq(left: &Resource, right: &Resource) -> bool {
    if std::ptr::eq(left, right) {
        return true;
    }
    if !same_metadata(left, right) {
        return false;
    }
    match left.r#type() {
        Type::Scalar => scalar_of(left).mesos_eq(&scalar_of(right)),
        // An absent value is empty.
        Type::Ranges => match (&left.ranges, &right.ranges) {
            (Some(l), Some(r)) => l.mesos_eq(r),
            (Some(v), None) | (None, Some(v)) => v.range.is_empty(),
            (None, None) => true,
        },
        Type::Set => match (&left.set, &right.set) {
            (Some(l), Some(r)) => l.mesos_eq(r),
            (Some(v), None) | (None, Some(v)) => v.item.is_empty(),
            (None, None) => true,
        },
        Type::Text => false,
    }
}

/// Whether a disk source rules out combining the two resources. Exclusive disks (`MOUNT`,
/// `BLOCK`, and `RAW` with an id) never add up; they subtract only when identical.
fn disk_combinable(left: &Resource, right: &Resource, adding: bool) -> bool {
    let Some(disk) = &left.disk else { return true };
    if let Some(source) = &disk.source {
        match source.r#type() {
            SourceType::Path => {}
            SourceType::Mount | SourceType::Block => {
                if adding || !resource_eq(left, right) {
                    return false;
                }
            }
            SourceType::Raw => {
                if source.id.is_some() && (adding || !resource_eq(left, right)) {
                    return false;
                }
            }
            // Validation refuses an UNKNOWN source, so this is only reachable with
            // unvalidated input; refusing to combine is the safe answer.
            SourceType::Unknown => return false,
        }
    }
    // Two persistent volumes are distinct disks even with the same id (non-shared ones
    // only come from one agent); they subtract only when identical.
    if disk.persistence.is_some() && (adding || !resource_eq(left, right)) {
        return false;
    }
    true
}

/// C++ `internal::addable`: whether `left + right` is one valid resource.
pub fn addable(left: &Resource, right: &Resource) -> bool {
    if left.shared.is_some() != right.shared.is_some() {
        return false;
    }
    if left.shared.is_some() {
        return resource_eq(left, right);
    }
    same_metadata(left, right) && disk_combinable(left, right, true)
}

/// C++ `internal::subtractable`: whether `left - right` is one valid resource. Sets always
/// subtract (`{1,2} - {2,3}` is `{1}`) even though `left` does not contain `right`.
pub fn subtractable(left: &Resource, right: &Resource) -> bool {
    if left.shared.is_some() != right.shared.is_some() {
        return false;
    }
    if left.shared.is_some() {
        return resource_eq(left, right);
    }
    same_metadata(left, right) && disk_combinable(left, right, false)
}

/// Whether `left` contains `right` (both non-shared, or compared as single copies).
pub fn resource_contains(left: &Resource, right: &Resource) -> bool {
    if !subtractable(left, right) {
        return false;
    }
    match left.r#type() {
        Type::Scalar => scalar_of(right).mesos_le(&scalar_of(left)),
        // An absent value is empty: contained in anything, containing only emptiness.
        Type::Ranges => match (&right.ranges, &left.ranges) {
            (None, _) => true,
            (Some(r), None) => r.range.is_empty(),
            (Some(r), Some(l)) => r.mesos_le(l),
        },
        Type::Set => match (&right.set, &left.set) {
            (None, _) => true,
            (Some(r), None) => r.item.is_empty(),
            (Some(r), Some(l)) => r.mesos_le(l),
        },
        Type::Text => false,
    }
}

fn add_values(left: &mut Resource, right: &Resource) {
    combine_values(left, right, true);
}

fn subtract_values(left: &mut Resource, right: &Resource) {
    combine_values(left, right, false);
}

/// Adds `right`'s value to `left`'s (`add`) or takes it away. An absent value is empty: the
/// right-hand value is borrowed, never copied, and an absent one changes nothing but making
/// the left value present.
fn combine_values(left: &mut Resource, right: &Resource, add: bool) {
    match left.r#type() {
        Type::Scalar => {
            let (left, right) = (left.scalar.get_or_insert_with(Scalar::default), scalar_of(right));
            if add {
                *left += &right;
            } else {
                *left -= &right;
            }
        }
        Type::Ranges => {
            let left = left.ranges.get_or_insert_with(Ranges::default);
            match &right.ranges {
                Some(right) if add => *left += right,
                Some(right) => *left -= right,
                None => {}
            }
        }
        Type::Set => {
            let left = left.set.get_or_insert_with(Set::default);
            match &right.set {
                Some(right) if add => *left += right,
                Some(right) => *left -= right,
                None => {}
            }
        }
        Type::Text => {}
    }
}

// ===== Predicates on one resource (post-refinement format) =====

/// Whether the value is zero or empty (a TEXT resource is never empty, and never valid).
pub fn is_empty_resource(resource: &Resource) -> bool {
    match resource.r#type() {
        Type::Scalar => values::to_fixed(scalar_of(resource).value) == 0,
        Type::Ranges => resource.ranges.as_ref().is_none_or(|r| r.range.is_empty()),
        Type::Set => resource.set.as_ref().is_none_or(|s| s.item.is_empty()),
        Type::Text => false,
    }
}

/// A disk with a persistence id.
pub fn is_persistent_volume(resource: &Resource) -> bool {
    resource.disk.as_ref().is_some_and(|d| d.persistence.is_some())
}

/// No reservation at all.
pub fn is_unreserved(resource: &Resource) -> bool {
    resource.reservations.is_empty()
}

/// Reserved, and (if `role` is given) to exactly that role (the last reservation's role).
pub fn is_reserved(resource: &Resource, role: Option<&str>) -> bool {
    match reservation_role(resource) {
        None => false,
        Some(reserved) => role.is_none_or(|r| r == reserved),
    }
}

/// The role of the innermost (last) reservation, `None` when unreserved.
pub fn reservation_role(resource: &Resource) -> Option<&str> {
    resource.reservations.last().map(|r| r.role())
}

/// Whether the innermost reservation is dynamic.
pub fn is_dynamically_reserved(resource: &Resource) -> bool {
    resource.reservations.last().is_some_and(|r| r.r#type() == ReservationType::Dynamic)
}

/// Whether `role` may be offered the resource: unreserved, reserved to it, or reserved to
/// one of its ancestors.
pub fn is_allocatable_to(resource: &Resource, role: &str) -> bool {
    match reservation_role(resource) {
        None => true,
        Some(reserved) => role == reserved || is_strict_subrole_of(role, reserved),
    }
}

/// More than one reservation on the stack.
pub fn has_refined_reservations(resource: &Resource) -> bool {
    resource.reservations.len() > 1
}

/// `revocable` is set.
pub fn is_revocable(resource: &Resource) -> bool {
    resource.revocable.is_some()
}

/// `shared` is set.
pub fn is_shared(resource: &Resource) -> bool {
    resource.shared.is_some()
}

// ===== Format conversion (`src/common/resources_utils.cpp`) =====

/// The reservation encodings of `Resource` (see `convertResourceFormat`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResourceFormat {
    /// `role` plus an optional `reservation` (principal and labels), for pre-1.4 peers.
    PreReservationRefinement,
    /// The `reservations` stack only; what Mesos uses internally.
    PostReservationRefinement,
    /// Both encodings at once, as the HTTP endpoints show resources.
    Endpoint,
}

/// Converts one resource between the reservation formats.
pub fn convert_resource_format(resource: &mut Resource, format: ResourceFormat) -> Result<(), ResourcesError> {
    match format {
        ResourceFormat::PreReservationRefinement | ResourceFormat::Endpoint => {
            if resource.role.is_some() || resource.reservation.is_some() {
                return Err(ResourcesError::AlreadyPreRefinement(resource.name.clone()));
            }
            match resource.reservations.len() {
                0 => resource.role = Some("*".into()),
                1 => {
                    let source = resource.reservations[0].clone();
                    if source.r#type() == ReservationType::Dynamic {
                        resource.reservation = Some(ReservationInfo {
                            principal: source.principal.clone(),
                            labels: source.labels.clone(),
                            ..ReservationInfo::default()
                        });
                    }
                    resource.role = Some(source.role().to_owned());
                    if format == ResourceFormat::PreReservationRefinement {
                        resource.reservations.clear();
                    }
                }
                _ if format == ResourceFormat::PreReservationRefinement => {
                    return Err(ResourcesError::RefinedReservations(resource.name.clone()));
                }
                // The endpoint format keeps the refined stack and sets no `role`.
                _ => {}
            }
        }
        ResourceFormat::PostReservationRefinement => {
            if !resource.reservations.is_empty() {
                // Already post-refinement, or the endpoint format: drop the old fields.
                resource.role = None;
                resource.reservation = None;
                return Ok(());
            }
            if resource.role() == "*" {
                if resource.reservation.is_some() {
                    return Err(ResourcesError::StarReservation(resource.name.clone()));
                }
                resource.role = None;
                return Ok(());
            }
            let role = resource.role.take();
            let reservation = match resource.reservation.take() {
                None => ReservationInfo { r#type: Some(ReservationType::Static as i32), ..ReservationInfo::default() },
                Some(old) => ReservationInfo { r#type: Some(ReservationType::Dynamic as i32), ..old },
            };
            resource.reservations.push(ReservationInfo { role, ..reservation });
        }
    }
    Ok(())
}

/// Converts resources received from a peer to the post-refinement format
/// (`upgradeResources`). On error, no resource has been changed.
pub fn upgrade_resources(resources: &mut [Resource]) -> Result<(), ResourcesError> {
    convert_all(resources, ResourceFormat::PostReservationRefinement)
}

/// Converts resources for a peer without `RESERVATION_REFINEMENT` (`downgradeResources`).
/// Fails if any resource has refined reservations; then no resource has been changed.
pub fn downgrade_resources(resources: &mut [Resource]) -> Result<(), ResourcesError> {
    convert_all(resources, ResourceFormat::PreReservationRefinement)
}

fn convert_all(resources: &mut [Resource], format: ResourceFormat) -> Result<(), ResourcesError> {
    // Convert copies first so that a failure half-way leaves the input untouched (C++ leaves
    // the resources before the failing one converted).
    let mut converted = resources.to_vec();
    for resource in &mut converted {
        convert_resource_format(resource, format)?;
    }
    resources.clone_from_slice(&converted);
    Ok(())
}

// ===== Resources =====

/// One entry of a [`Resources`]: a resource, and for a shared one how many copies.
///
/// The resource is shared between copies of the entry and copied on write: a `Resource` is
/// over a kilobyte, and most operations (filters, sums, the allocator's bookkeeping) copy
/// entries without changing them.
#[derive(Debug, Clone)]
struct Entry {
    resource: Arc<Resource>,
    /// `Some` exactly when the resource is shared. It can be negative transiently while
    /// subtracting (the entry is then removed), as in C++.
    shared_count: Option<i64>,
}

impl Entry {
    fn new(resource: Resource) -> Entry {
        let shared_count = resource.shared.is_some().then_some(1);
        Entry { resource: Arc::new(resource), shared_count }
    }

    fn is_empty(&self) -> bool {
        self.shared_count == Some(0) || is_empty_resource(&self.resource)
    }

    fn contains(&self, that: &Entry) -> bool {
        match (self.shared_count, that.shared_count) {
            (Some(mine), Some(theirs)) => mine >= theirs && resource_eq(&self.resource, &that.resource),
            (None, None) => resource_contains(&self.resource, &that.resource),
            _ => false,
        }
    }

    /// Assumes `addable(self, that)`.
    fn add(&mut self, that: &Entry) {
        match (&mut self.shared_count, that.shared_count) {
            (Some(mine), Some(theirs)) => *mine = mine.saturating_add(theirs),
            _ => add_values(Arc::make_mut(&mut self.resource), &that.resource),
        }
    }

    /// Assumes `subtractable(self, that)`.
    fn subtract(&mut self, that: &Entry) {
        match (&mut self.shared_count, that.shared_count) {
            (Some(mine), Some(theirs)) => *mine = mine.saturating_sub(theirs),
            _ => subtract_values(Arc::make_mut(&mut self.resource), &that.resource),
        }
    }

    /// Subtracting more than there was leaves a negative scalar or count; such an entry
    /// is dropped rather than kept as a debt.
    fn is_negative(&self) -> bool {
        self.shared_count.is_some_and(|c| c < 0)
            || (self.resource.r#type() == Type::Scalar && scalar_of(&self.resource).value < 0.0)
    }
}

/// A collection of resources with Mesos arithmetic. See the module docs for its invariants.
///
/// `==` is Mesos equality: each side contains the other, regardless of order.
#[derive(Debug, Clone, Default)]
pub struct Resources {
    entries: Vec<Entry>,
}

impl Resources {
    /// No resources.
    pub fn new() -> Resources {
        Resources::default()
    }

    /// Whether there are no resources.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The number of distinct entries (a shared volume counts once whatever its count).
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// The resources, each entry once.
    pub fn iter(&self) -> impl Iterator<Item = &Resource> + '_ {
        self.entries.iter().map(|e| &*e.resource)
    }

    /// The resources as protobufs (post-refinement format), each entry once.
    pub fn to_vec(&self) -> Vec<Resource> {
        self.iter().cloned().collect()
    }

    /// How many copies of `resource` there are: the count for a shared one, 1 or 0 else.
    pub fn count(&self, resource: &Resource) -> usize {
        self.entries
            .iter()
            .find(|e| resource_eq(&e.resource, resource))
            .map_or(0, |e| e.shared_count.map_or(1, |c| usize::try_from(c).unwrap_or(0)))
    }

    fn add_entry(&mut self, that: Entry) {
        self.add_entry_near(that, usize::MAX);
    }

    /// Adds `that`, trying the entry at `hint` first: collections built alike keep their
    /// entries in the same order, and at most one entry can take `that` (entries that could
    /// be added together are merged).
    fn add_entry_near(&mut self, that: Entry, hint: usize) {
        if that.is_empty() {
            return;
        }
        match self.addable_index(&that, hint) {
            Some(i) => self.entries[i].add(&that),
            None => self.entries.push(that),
        }
    }

    /// [`Resources::add_entry_near`] for a borrowed entry, copied only if it is kept as a
    /// new entry: most additions merge into an existing one, and a copy would cost two
    /// atomic reference count updates for nothing.
    fn add_entry_ref_near(&mut self, that: &Entry, hint: usize) {
        if that.is_empty() {
            return;
        }
        match self.addable_index(that, hint) {
            Some(i) => self.entries[i].add(that),
            None => self.entries.push(that.clone()),
        }
    }

    /// The entry `that` can be added to, trying the one at `hint` first.
    fn addable_index(&self, that: &Entry, hint: usize) -> Option<usize> {
        if self.entries.get(hint).is_some_and(|e| addable(&e.resource, &that.resource)) {
            return Some(hint);
        }
        self.entries.iter().position(|e| addable(&e.resource, &that.resource))
    }

    fn subtract_entry(&mut self, that: &Entry) {
        self.subtract_entry_near(that, usize::MAX);
    }

    /// Subtracts `that`, trying the entry at `hint` first (see [`Resources::add_entry_near`];
    /// entries that can both take `that` are identical).
    fn subtract_entry_near(&mut self, that: &Entry, hint: usize) {
        if that.is_empty() {
            return;
        }
        let at_hint = self.entries.get(hint).is_some_and(|e| subtractable(&e.resource, &that.resource));
        let index = if at_hint {
            Some(hint)
        } else {
            self.entries.iter().position(|e| subtractable(&e.resource, &that.resource))
        };
        if let Some(i) = index {
            // Taking away all of a non-shared entry (say, a whole offer) removes it without
            // working out the difference.
            let entry = &self.entries[i];
            if entry.shared_count.is_none()
                && (Arc::ptr_eq(&entry.resource, &that.resource) || resource_eq(&entry.resource, &that.resource))
            {
                self.entries.swap_remove(i);
                return;
            }
            self.entries[i].subtract(that);
            if self.entries[i].is_negative() || self.entries[i].is_empty() {
                self.entries.swap_remove(i);
            }
        }
    }

    /// Prepares a single resource for the collection: upgraded to the post-refinement format
    /// and validated, or `None` if it cannot be held (the C++ `+=`/`-=` silently skip those).
    fn admit(resource: &Resource) -> Option<Entry> {
        let mut resource = resource.clone();
        convert_resource_format(&mut resource, ResourceFormat::PostReservationRefinement).ok()?;
        Resources::validate(&resource).ok()?;
        Some(Entry::new(resource))
    }

    /// Adds one resource; an invalid or empty one is ignored (C++ `operator+=(Resource)`).
    pub fn add_resource(&mut self, resource: &Resource) {
        if let Some(entry) = Resources::admit(resource) {
            self.add_entry(entry);
        }
    }

    /// Subtracts one resource; an invalid one, or one matching nothing, changes nothing.
    pub fn subtract_resource(&mut self, resource: &Resource) {
        if let Some(entry) = Resources::admit(resource) {
            self.subtract_entry(&entry);
        }
    }

    /// Whether every resource of `that` is in `self`.
    pub fn contains(&self, that: &Resources) -> bool {
        // Copied only once a persistent volume must be taken out.
        let mut remaining = Cow::Borrowed(self);
        for (index, entry) in that.entries.iter().enumerate() {
            // Collections built alike keep their entries in the same order: try the entry at
            // the same place first.
            let same_place = remaining.entries.get(index).is_some_and(|e| e.contains(entry));
            if !same_place && !remaining.entries.iter().any(|e| e.contains(entry)) {
                return false;
            }
            // A persistent volume is consumed by the match: two identical volumes in `that`
            // need two in `self`.
            if is_persistent_volume(&entry.resource) {
                remaining.to_mut().subtract_entry(entry);
            }
        }
        true
    }

    /// Whether `resource` (which must be valid) is in `self`. An invalid resource such as
    /// `cpus:-1` is never contained.
    pub fn contains_resource(&self, resource: &Resource) -> bool {
        Resources::admit(resource).is_some_and(|entry| self.entries.iter().any(|e| e.contains(&entry)))
    }

    /// The resources for which `predicate` holds.
    pub fn filter(&self, predicate: impl Fn(&Resource) -> bool) -> Resources {
        Resources { entries: self.entries.iter().filter(|e| predicate(&e.resource)).cloned().collect() }
    }

    /// Reserved resources: all of them, or those whose innermost reservation is to `role`.
    pub fn reserved(&self, role: Option<&str>) -> Resources {
        self.filter(|r| is_reserved(r, role))
    }

    /// Unreserved resources.
    pub fn unreserved(&self) -> Resources {
        self.filter(is_unreserved)
    }

    /// Reserved resources grouped by the role of their innermost reservation.
    pub fn reservations(&self) -> BTreeMap<String, Resources> {
        let mut result: BTreeMap<String, Resources> = BTreeMap::new();
        for entry in &self.entries {
            if let Some(role) = reservation_role(&entry.resource) {
                result.entry(role.to_owned()).or_default().add_entry(entry.clone());
            }
        }
        result
    }

    /// What `role` may be offered: unreserved resources and reservations to it or its ancestors.
    pub fn allocatable_to(&self, role: &str) -> Resources {
        self.filter(|r| is_allocatable_to(r, role))
    }

    /// Persistent volumes.
    pub fn persistent_volumes(&self) -> Resources {
        self.filter(is_persistent_volume)
    }

    /// Revocable resources.
    pub fn revocable(&self) -> Resources {
        self.filter(is_revocable)
    }

    /// Non-revocable resources.
    pub fn non_revocable(&self) -> Resources {
        self.filter(|r| !is_revocable(r))
    }

    /// Shared resources.
    pub fn shared(&self) -> Resources {
        self.filter(is_shared)
    }

    /// Non-shared resources.
    pub fn non_shared(&self) -> Resources {
        self.filter(|r| !is_shared(r))
    }

    /// Sets `allocation_info.role` on every resource.
    pub fn allocate(&mut self, role: &str) {
        let uniform = self.uniformly_allocated();
        for entry in &mut self.entries {
            let current = entry.resource.allocation_info.as_ref().and_then(|a| a.role.as_deref());
            if current != Some(role) {
                Arc::make_mut(&mut entry.resource).allocation_info =
                    Some(AllocationInfo { role: Some(role.to_owned()) });
            }
        }
        if !uniform {
            self.remerge();
        }
    }

    /// Clears `allocation_info` on every resource.
    pub fn unallocate(&mut self) {
        let uniform = self.uniformly_allocated();
        for entry in &mut self.entries {
            if entry.resource.allocation_info.is_some() {
                Arc::make_mut(&mut entry.resource).allocation_info = None;
            }
        }
        if !uniform {
            self.remerge();
        }
    }

    /// Whether every entry has the same `allocation_info`. Entries are kept merged, so two
    /// that differ in nothing else would be one; giving all of them one allocation then makes
    /// no two mergeable, and [`Resources::remerge`] can be skipped.
    fn uniformly_allocated(&self) -> bool {
        let mut infos = self.entries.iter().map(|e| &e.resource.allocation_info);
        infos.next().is_none_or(|first| infos.all(|info| info == first))
    }

    /// Re-adds every entry, so entries that became addable (say, the same cpus allocated to
    /// two roles, then unallocated) merge again. C++ leaves them apart; merging keeps `len`
    /// and `count` meaningful and changes no total.
    fn remerge(&mut self) {
        let entries = std::mem::take(&mut self.entries);
        for entry in entries {
            self.add_entry(entry);
        }
    }

    /// The resources grouped by allocation role; fails if one is not allocated.
    pub fn allocations(&self) -> Result<BTreeMap<String, Resources>, ResourcesError> {
        let mut result: BTreeMap<String, Resources> = BTreeMap::new();
        for entry in &self.entries {
            let role = entry
                .resource
                .allocation_info
                .as_ref()
                .and_then(|a| a.role.clone())
                .ok_or_else(|| ResourcesError::NotAllocated(entry.resource.name.clone()))?;
            result.entry(role).or_default().add_entry(entry.clone());
        }
        Ok(result)
    }

    /// Pushes `reservation` onto every resource's stack (reserving or refining a
    /// reservation). Fails, changing nothing, if a result would be invalid (say, a refinement
    /// to a role that is not a sub-role of the current one).
    pub fn push_reservation(&self, reservation: &ReservationInfo) -> Result<Resources, ResourcesError> {
        let mut result = Resources::new();
        for entry in &self.entries {
            let mut entry = entry.clone();
            Arc::make_mut(&mut entry.resource).reservations.push(reservation.clone());
            Resources::validate(&entry.resource)?;
            result.add_entry(entry);
        }
        Ok(result)
    }

    /// Pops the innermost reservation of every resource; fails if one is unreserved.
    pub fn pop_reservation(&self) -> Result<Resources, ResourcesError> {
        let mut result = Resources::new();
        for entry in &self.entries {
            let mut entry = entry.clone();
            if Arc::make_mut(&mut entry.resource).reservations.pop().is_none() {
                return Err(ResourcesError::NotReserved(entry.resource.name.clone()));
            }
            result.add_entry(entry);
        }
        Ok(result)
    }

    /// The same resources with all reservations removed.
    pub fn to_unreserved(&self) -> Resources {
        let mut result = Resources::new();
        for entry in &self.entries {
            let mut entry = entry.clone();
            if !entry.resource.reservations.is_empty() {
                Arc::make_mut(&mut entry.resource).reservations.clear();
            }
            result.add_entry(entry);
        }
        result
    }

    /// Where `targets` can be taken from in `self` whatever their reservations (C++
    /// `Resources::find`): each target is looked for first among resources reserved to its
    /// role (if it is reserved), then among unreserved ones, then anywhere, and may be split
    /// across several. The result carries the reservations of the resources it came from;
    /// `None` if some target cannot be covered.
    pub fn find(&self, targets: &Resources) -> Option<Resources> {
        let mut total = Resources::new();
        for target in targets.iter() {
            total += self.find_resource(target)?;
        }
        Some(total)
    }

    /// [`Resources::find`] for one target.
    fn find_resource(&self, target: &Resource) -> Option<Resources> {
        let mut found = Resources::new();
        let mut total = self.clone();
        let mut remaining = Resources::from(target.clone()).to_unreserved();
        let target_role = reservation_role(target).map(str::to_owned);
        let in_target_role = |r: &Resource| is_reserved(r, target_role.as_deref());
        let mut predicates: Vec<&dyn Fn(&Resource) -> bool> = Vec::new();
        if target_role.is_some() {
            predicates.push(&in_target_role);
        }
        predicates.push(&is_unreserved);
        predicates.push(&|_| true);

        for predicate in predicates {
            for candidate in total.filter(predicate).iter() {
                let unreserved = Resources::from(candidate.clone()).to_unreserved();
                if unreserved.contains(&remaining) {
                    for resource in remaining.iter() {
                        let mut resource = resource.clone();
                        resource.reservations = candidate.reservations.clone();
                        found += &resource;
                    }
                    return Some(found);
                }
                if remaining.contains(&unreserved) {
                    // Part of the target: take it and go on with the next kind of candidate.
                    found += candidate;
                    total -= candidate;
                    remaining -= &unreserved;
                    break;
                }
            }
        }
        None
    }

    /// The pre-1.4 `flatten(role, reservation)`: every resource unreserved, then reserved
    /// with `reservation` if given. (Current Mesos spells this `toUnreserved` plus
    /// `pushReservation`.)
    pub fn flatten(&self, reservation: Option<&ReservationInfo>) -> Result<Resources, ResourcesError> {
        let unreserved = self.to_unreserved();
        match reservation {
            None => Ok(unreserved),
            Some(reservation) => unreserved.push_reservation(reservation),
        }
    }

    /// Only the scalars, with nothing but name, type and value (reservations, disk,
    /// allocation and so on stripped), merged by name.
    pub fn create_stripped_scalar_quantity(&self) -> Resources {
        let mut result = Resources::new();
        for resource in self.iter().filter(|r| r.r#type() == Type::Scalar) {
            let stripped = Resource {
                name: resource.name.clone(),
                r#type: Type::Scalar as i32,
                scalar: resource.scalar,
                ..Resource::default()
            };
            result.add_entry(Entry::new(stripped));
        }
        result
    }

    /// The resources named `name`.
    pub fn get(&self, name: &str) -> Resources {
        self.filter(|r| r.name == name)
    }

    /// The scalar resources.
    pub fn scalars(&self) -> Resources {
        self.filter(|r| r.r#type() == Type::Scalar)
    }

    /// The sum of the scalar resources named `name`, `None` if there are none.
    pub fn get_scalar(&self, name: &str) -> Option<Scalar> {
        self.iter().filter(|r| r.name == name && r.r#type() == Type::Scalar).fold(None, |total, r| {
            let mut total = total.unwrap_or_default();
            total += &scalar_of(r);
            Some(total)
        })
    }

    /// The union of the ranges resources named `name`, `None` if there are none.
    pub fn get_ranges(&self, name: &str) -> Option<Ranges> {
        self.iter().filter(|r| r.name == name && r.r#type() == Type::Ranges).fold(None, |total, r| {
            let mut total: Ranges = total.unwrap_or_default();
            total += &r.ranges.clone().unwrap_or_default();
            Some(total)
        })
    }

    /// The union of the set resources named `name`, `None` if there are none.
    pub fn get_set(&self, name: &str) -> Option<Set> {
        self.iter().filter(|r| r.name == name && r.r#type() == Type::Set).fold(None, |total, r| {
            let mut total: Set = total.unwrap_or_default();
            total += &r.set.clone().unwrap_or_default();
            Some(total)
        })
    }

    /// The distinct resource names.
    pub fn names(&self) -> BTreeSet<String> {
        self.iter().map(|r| r.name.clone()).collect()
    }

    /// The value type of each name (the last one seen if a name has several).
    pub fn types(&self) -> BTreeMap<String, Type> {
        self.iter().map(|r| (r.name.clone(), r.r#type())).collect()
    }

    /// Total `cpus`.
    pub fn cpus(&self) -> Option<f64> {
        self.get_scalar("cpus").map(|s| s.value)
    }

    /// Total `gpus`.
    pub fn gpus(&self) -> Option<f64> {
        self.get_scalar("gpus").map(|s| s.value)
    }

    /// Total `mem` in whole megabytes (the fraction is truncated, as C++'s `Megabytes` cast does).
    pub fn mem(&self) -> Option<u64> {
        self.get_scalar("mem").map(|s| s.value as u64)
    }

    /// Total `disk` in whole megabytes (truncated like [`Resources::mem`]).
    pub fn disk(&self) -> Option<u64> {
        self.get_scalar("disk").map(|s| s.value as u64)
    }

    /// All `ports`.
    pub fn ports(&self) -> Option<Ranges> {
        self.get_ranges("ports")
    }

    /// All `ephemeral_ports`.
    pub fn ephemeral_ports(&self) -> Option<Ranges> {
        self.get_ranges("ephemeral_ports")
    }

    // ----- Validation -----

    /// Checks one resource: a name; a value matching its type (a scalar that is finite,
    /// not negative and not a non-zero amount that rounds to zero; ranges not inverted and
    /// not overlapping; a set without duplicates; never TEXT); disk info only on `disk`
    /// with a consistent source; well-formed reservations in either format; `shared` only on
    /// persistent volumes.
    pub fn validate(resource: &Resource) -> Result<(), ResourcesError> {
        validate_resource(resource).map_err(|reason| invalid(resource, reason))
    }

    /// Checks every resource, stopping at the first invalid one.
    pub fn validate_all(resources: &[Resource]) -> Result<(), ResourcesError> {
        resources.iter().try_for_each(Resources::validate)
    }

    // ----- Parsing -----

    /// Parses one `name` and value text into a resource, statically reserved to `role`
    /// unless it is `*` (C++ `Resources::parse(name, value, role)`). The resource is not
    /// validated.
    pub fn parse_resource(name: &str, value: &str, role: &str) -> Result<Resource, ResourcesError> {
        let parsed = values::parse(value).map_err(|source| ResourcesError::Value {
            name: name.to_owned(),
            value: value.to_owned(),
            source,
        })?;
        let mut resource = Resource { name: name.to_owned(), r#type: parsed.r#type, ..Resource::default() };
        if role != "*" {
            resource.reservations.push(ReservationInfo {
                r#type: Some(ReservationType::Static as i32),
                role: Some(role.to_owned()),
                ..ReservationInfo::default()
            });
        }
        match parsed.r#type() {
            Type::Scalar => resource.scalar = parsed.scalar,
            Type::Ranges => resource.ranges = parsed.ranges,
            Type::Set => resource.set = parsed.set,
            Type::Text => return Err(ResourcesError::TextValue { name: name.to_owned(), value: value.to_owned() }),
        }
        Ok(resource)
    }

    /// Parses the agent's `--resources` text, `name(role):value;...`, into unvalidated
    /// resources (C++ `fromSimpleString`). A name without `(role)` gets `default_role`.
    pub fn from_simple_string(text: &str, default_role: &str) -> Result<Vec<Resource>, ResourcesError> {
        let mut resources = Vec::new();
        for token in values::tokenize(text, &[';']) {
            let pair: Vec<&str> = values::tokenize(token, &[':']).collect();
            let [key, value] = pair[..] else {
                return Err(ResourcesError::BadPair(token.to_owned()));
            };
            let trim = |s: &str| s.trim_matches([' ', '\t', '\n', '\r']).to_owned();
            let (name, role) = match key.find('(') {
                None => (trim(key), default_role.to_owned()),
                Some(open) => match key.find(')') {
                    Some(close) if close > open => (trim(&key[..open]), trim(&key[open + 1..close])),
                    _ => return Err(ResourcesError::MismatchedParentheses(token.to_owned())),
                },
            };
            resources.push(Resources::parse_resource(&name, value, &role)?);
        }
        Ok(resources)
    }

    /// Reads the JSON array form of `--resources`: each element a `Resource` object in the
    /// protobuf JSON mapping (C++ `fromJSON`). An element with neither `role` nor
    /// `reservations` gets `default_role`; every element is then converted to the
    /// post-refinement format. Empty and invalid resources are kept; the result is not
    /// validated.
    ///
    /// Where C++ aborts (a `CHECK` in `upgradeResource`) on an element with `role` `*` and a
    /// `reservation`, this returns [`ResourcesError::StarReservation`].
    pub fn from_json(array: &[serde_json::Value], default_role: &str) -> Result<Vec<Resource>, ResourcesError> {
        let mut resources = Vec::with_capacity(array.len());
        for element in array {
            let mut resource = <Resource as crate::json::Json>::read_json(element, &crate::json::Reader::V0)
                .map_err(|error| ResourcesError::Json(error.to_string()))?;
            if resource.role.is_none() && resource.reservations.is_empty() {
                resource.role = Some(default_role.to_owned());
            }
            convert_resource_format(&mut resource, ResourceFormat::PostReservationRefinement)?;
            resources.push(resource);
        }
        Ok(resources)
    }

    /// Reads `--resources` in either form, unvalidated (C++ `fromString`): text that is a
    /// JSON array is read by [`Resources::from_json`]; anything else, including other JSON,
    /// by [`Resources::from_simple_string`].
    pub fn from_string(text: &str, default_role: &str) -> Result<Vec<Resource>, ResourcesError> {
        match serde_json::from_str::<serde_json::Value>(text) {
            Ok(serde_json::Value::Array(array)) => Resources::from_json(&array, default_role),
            _ => Resources::from_simple_string(text, default_role),
        }
    }

    /// Parses `--resources` text, `name(role):value;...` or a JSON array of `Resource`
    /// objects, into validated resources (C++ `Resources::parse(text, defaultRole)`;
    /// `default_role` is usually `*`). Zero amounts (`gpus:0`) are dropped.
    pub fn parse(text: &str, default_role: &str) -> Result<Resources, ResourcesError> {
        let mut result = Resources::new();
        for resource in Resources::from_string(text, default_role)? {
            Resources::validate(&resource)?;
            result.add_entry(Entry::new(resource));
        }
        validate_command_line(&result)?;
        Ok(result)
    }
}

/// What a command line may not specify, and one type per name.
fn validate_command_line(resources: &Resources) -> Result<(), ResourcesError> {
    let mut types: BTreeMap<&str, i32> = BTreeMap::new();
    for resource in resources.iter() {
        if is_persistent_volume(resource) {
            return Err(ResourcesError::CommandLine(
                "persistent volumes cannot be specified at the command line".into(),
            ));
        }
        if is_revocable(resource) {
            return Err(ResourcesError::CommandLine(
                "revocable resources cannot be specified at the command line".into(),
            ));
        }
        if is_dynamically_reserved(resource) {
            return Err(ResourcesError::CommandLine(
                "dynamic reservations cannot be specified at the command line".into(),
            ));
        }
        if *types.entry(&resource.name).or_insert(resource.r#type) != resource.r#type {
            return Err(ResourcesError::CommandLine(format!(
                "resources with the same name ('{}') but different types are not allowed",
                resource.name
            )));
        }
    }
    Ok(())
}

fn validate_resource(resource: &Resource) -> Result<(), String> {
    if resource.name.is_empty() {
        return Err("empty resource name".into());
    }
    let kind = Type::try_from(resource.r#type).map_err(|_| "invalid resource type".to_owned())?;
    let (has_scalar, has_ranges, has_set) =
        (resource.scalar.is_some(), resource.ranges.is_some(), resource.set.is_some());
    match kind {
        Type::Scalar => {
            if !has_scalar || has_ranges || has_set {
                return Err("invalid scalar resource".into());
            }
            let value = scalar_of(resource).value;
            // Beyond C++: NaN, infinities and values too large for the fixed-point form are
            // refused explicitly (C++ refuses them only through `llround` returning
            // `LLONG_MIN` on x86).
            if !values::fits_fixed(value) {
                return Err("invalid scalar resource: value is not finite or too large".into());
            }
            // Negative values, and positive ones so small they round to zero.
            if value != 0.0 && values::to_fixed(value) <= 0 {
                return Err("invalid scalar resource: value <= 0".into());
            }
        }
        Type::Ranges => {
            if has_scalar || !has_ranges || has_set {
                return Err("invalid ranges resource".into());
            }
            let ranges = &resource.ranges.as_ref().map(|r| r.range.as_slice()).unwrap_or_default();
            for (i, range) in ranges.iter().enumerate() {
                if range.begin > range.end {
                    return Err("invalid ranges resource: begin > end".into());
                }
                // Beyond C++, whose check only catches a later range starting inside an
                // earlier one: any two ranges sharing a number overlap.
                if ranges[i + 1..].iter().any(|other| other.begin <= range.end && range.begin <= other.end) {
                    return Err("invalid ranges resource: overlapping ranges".into());
                }
            }
        }
        Type::Set => {
            if has_scalar || has_ranges || !has_set {
                return Err("invalid set resource".into());
            }
            let items = &resource.set.as_ref().map(|s| s.item.as_slice()).unwrap_or_default();
            if items.iter().enumerate().any(|(i, item)| items[i + 1..].contains(item)) {
                return Err("invalid set resource: duplicated elements".into());
            }
        }
        Type::Text => return Err("unsupported resource type".into()),
    }

    if let Some(disk) = &resource.disk {
        if resource.name != "disk" {
            return Err(format!("DiskInfo should not be set for {} resource", resource.name));
        }
        if let Some(source) = &disk.source {
            match SourceType::try_from(source.r#type).unwrap_or(SourceType::Unknown) {
                SourceType::Path | SourceType::Mount => {}
                kind @ (SourceType::Block | SourceType::Raw) => {
                    if source.mount.is_some() {
                        return Err(format!("mount should not be set for {} disk source", kind.as_str_name()));
                    }
                    if source.path.is_some() {
                        return Err(format!("path should not be set for {} disk source", kind.as_str_name()));
                    }
                }
                SourceType::Unknown => return Err("unsupported 'DiskInfo.Source.Type'".into()),
            }
        }
    }

    validate_reservations(resource)?;

    if resource.shared.is_some() {
        if resource.name != "disk" {
            return Err(format!("resource {} cannot be shared", resource.name));
        }
        if !is_persistent_volume(resource) {
            return Err("only persistent volumes can be shared".into());
        }
    }
    Ok(())
}

fn validate_reservations(resource: &Resource) -> Result<(), String> {
    if resource.reservations.is_empty() {
        // The pre-refinement format.
        validate_role(resource.role())?;
        if let Some(reservation) = &resource.reservation {
            if reservation.r#type.is_some() {
                return Err(
                    "'Resource.ReservationInfo.type' must not be set for the 'Resource.reservation' field".into()
                );
            }
            if reservation.role.is_some() {
                return Err(
                    "'Resource.ReservationInfo.role' must not be set for the 'Resource.reservation' field".into()
                );
            }
            if resource.role() == "*" {
                return Err("invalid reservation: role \"*\" cannot be dynamically reserved".into());
            }
        }
        return Ok(());
    }

    for reservation in &resource.reservations {
        if reservation.r#type.is_none() {
            return Err("invalid reservation: 'Resource.ReservationInfo.type' field must be set".into());
        }
        let Some(role) = &reservation.role else {
            return Err("invalid reservation: 'Resource.ReservationInfo.role' field must be set".into());
        };
        validate_role(role)?;
        if role == "*" {
            return Err("invalid reservation: role \"*\" cannot be reserved".into());
        }
    }

    // Each refinement is dynamic and to a strict sub-role of the one below it.
    for pair in resource.reservations.windows(2) {
        if pair[1].r#type() == ReservationType::Static {
            return Err("invalid refined reservation: a refined reservation cannot be STATIC".into());
        }
        if !is_strict_subrole_of(pair[1].role(), pair[0].role()) {
            return Err(format!(
                "invalid refined reservation: role '{}' is not a refinement of '{}'",
                pair[1].role(),
                pair[0].role()
            ));
        }
    }

    // The endpoint format: the old fields may be present with a single reservation, if
    // they say the same thing.
    if let [reservation] = resource.reservations.as_slice() {
        if resource.role.is_some() && resource.role() != reservation.role() {
            return Err(format!(
                "invalid resource format: 'Resource.role' '{}' does not match the role '{}' in 'Resource.reservations'",
                resource.role(),
                reservation.role()
            ));
        }
        match reservation.r#type() {
            ReservationType::Static => {
                if resource.reservation.is_some() {
                    return Err("invalid resource format: 'Resource.reservation' must not be set if the single \
                                reservation in 'Resource.reservations' is STATIC"
                        .into());
                }
            }
            ReservationType::Dynamic => {
                if resource.role.is_some() != resource.reservation.is_some() {
                    return Err("invalid resource format: 'Resource.role' and 'Resource.reservation' must be both \
                                set or both not set if the single reservation in 'Resource.reservations' is DYNAMIC"
                        .into());
                }
                if let Some(old) = &resource.reservation {
                    // C++ compares the principal and labels through their getters, so
                    // unset equals empty here.
                    if old.principal() != reservation.principal() {
                        return Err(format!(
                            "invalid resource format: 'Resource.reservation.principal' '{}' does not match the \
                             principal '{}' in 'Resource.reservations'",
                            old.principal(),
                            reservation.principal()
                        ));
                    }
                    if !labels_eq(
                        &old.labels.clone().unwrap_or_default(),
                        &reservation.labels.clone().unwrap_or_default(),
                    ) {
                        return Err("invalid resource format: 'Resource.reservation.labels' do not match the labels \
                                    in 'Resource.reservations'"
                            .into());
                    }
                }
            }
            ReservationType::Unknown => return Err("unsupported 'Resource.ReservationInfo.Type'".into()),
        }
    } else {
        if resource.role.is_some() {
            return Err("invalid resource format: 'Resource.role' must not be set if there is more than one \
                        reservation in 'Resource.reservations'"
                .into());
        }
        if resource.reservation.is_some() {
            return Err("invalid resource format: 'Resource.reservation' must not be set if there is more than one \
                        reservation in 'Resource.reservations'"
                .into());
        }
    }
    Ok(())
}

// ===== Conversions and operators =====

impl From<Resource> for Resources {
    /// A collection of one resource; empty if it is invalid or zero.
    fn from(resource: Resource) -> Resources {
        let mut result = Resources::new();
        result.add_resource(&resource);
        result
    }
}

impl FromIterator<Resource> for Resources {
    /// Adds every resource, skipping invalid and zero ones.
    fn from_iter<I: IntoIterator<Item = Resource>>(iter: I) -> Resources {
        let mut result = Resources::new();
        for resource in iter {
            result.add_resource(&resource);
        }
        result
    }
}

impl PartialEq for Resources {
    fn eq(&self, other: &Resources) -> bool {
        self.contains(other) && other.contains(self)
    }
}

impl AddAssign<&Resources> for Resources {
    fn add_assign(&mut self, that: &Resources) {
        for (index, entry) in that.entries.iter().enumerate() {
            self.add_entry_ref_near(entry, index);
        }
    }
}

impl AddAssign<Resources> for Resources {
    fn add_assign(&mut self, that: Resources) {
        for (index, entry) in that.entries.into_iter().enumerate() {
            self.add_entry_near(entry, index);
        }
    }
}

impl AddAssign<&Resource> for Resources {
    fn add_assign(&mut self, that: &Resource) {
        self.add_resource(that);
    }
}

impl SubAssign<&Resources> for Resources {
    fn sub_assign(&mut self, that: &Resources) {
        for (index, entry) in that.entries.iter().enumerate() {
            self.subtract_entry_near(entry, index);
        }
    }
}

impl SubAssign<&Resource> for Resources {
    fn sub_assign(&mut self, that: &Resource) {
        self.subtract_resource(that);
    }
}

impl Add<&Resources> for &Resources {
    type Output = Resources;
    fn add(self, that: &Resources) -> Resources {
        let mut result = self.clone();
        result += that;
        result
    }
}

impl Add for Resources {
    type Output = Resources;
    fn add(mut self, that: Resources) -> Resources {
        self += that;
        self
    }
}

impl Sub<&Resources> for &Resources {
    type Output = Resources;
    fn sub(self, that: &Resources) -> Resources {
        let mut result = self.clone();
        result -= that;
        result
    }
}

impl Sub for Resources {
    type Output = Resources;
    fn sub(mut self, that: Resources) -> Resources {
        self -= &that;
        self
    }
}

// ===== Printing =====

fn write_labels(f: &mut fmt::Formatter<'_>, labels: &Labels) -> fmt::Result {
    f.write_str("{")?;
    for (i, label) in labels.labels.iter().enumerate() {
        if i > 0 {
            f.write_str(", ")?;
        }
        f.write_str(&label.key)?;
        if let Some(value) = &label.value {
            write!(f, ": {value}")?;
        }
    }
    f.write_str("}")
}

/// Formats a resource as C++ `operator<<` does, e.g.
/// `cpus(allocated: r)(reservations: [(STATIC,r)]){REV}:2`.
pub struct DisplayResource<'a>(pub &'a Resource);

impl fmt::Display for DisplayResource<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let r = self.0;
        f.write_str(&r.name)?;
        if let Some(allocation) = &r.allocation_info {
            write!(f, "(allocated: {})", allocation.role())?;
        }
        if !r.reservations.is_empty() {
            f.write_str("(reservations: [")?;
            for (i, reservation) in r.reservations.iter().enumerate() {
                if i > 0 {
                    f.write_str(",")?;
                }
                write!(f, "({},{}", reservation.r#type().as_str_name(), reservation.role())?;
                if let Some(principal) = &reservation.principal {
                    write!(f, ",{principal}")?;
                }
                if let Some(labels) = &reservation.labels {
                    f.write_str(",")?;
                    write_labels(f, labels)?;
                }
                f.write_str(")")?;
            }
            f.write_str("])")?;
        }
        if let Some(disk) = &r.disk {
            f.write_str("[")?;
            if let Some(source) = &disk.source {
                let kind = SourceType::try_from(source.r#type).unwrap_or(SourceType::Unknown);
                f.write_str(kind.as_str_name())?;
                let root = match kind {
                    SourceType::Mount => source.mount.as_ref().and_then(|m| m.root.as_ref()),
                    SourceType::Path => source.path.as_ref().and_then(|p| p.root.as_ref()),
                    _ => None,
                };
                if source.id.is_some() || source.profile.is_some() {
                    write!(f, "({},{},{})", source.vendor(), source.id(), source.profile())?;
                } else if let Some(root) = root {
                    write!(f, ":{root}")?;
                }
            }
            if let Some(persistence) = &disk.persistence {
                if disk.source.is_some() {
                    f.write_str(",")?;
                }
                f.write_str(&persistence.id)?;
            }
            f.write_str("]")?;
        }
        if r.revocable.is_some() {
            f.write_str("{REV}")?;
        }
        if r.shared.is_some() {
            f.write_str("<SHARED>")?;
        }
        f.write_str(":")?;
        match r.r#type() {
            Type::Scalar => write!(f, "{}", scalar_of(r)),
            Type::Ranges => write!(f, "{}", r.ranges.clone().unwrap_or_default()),
            Type::Set => write!(f, "{}", r.set.clone().unwrap_or_default()),
            Type::Text => f.write_str("<text>"),
        }
    }
}

impl fmt::Display for Resources {
    /// `cpus:2; mem:1024`, or `{}` when empty; a shared entry is followed by `<count>`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.entries.is_empty() {
            return f.write_str("{}");
        }
        for (i, entry) in self.entries.iter().enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            write!(f, "{}", DisplayResource(&entry.resource))?;
            if let Some(count) = entry.shared_count {
                write!(f, "<{count}>")?;
            }
        }
        Ok(())
    }
}
