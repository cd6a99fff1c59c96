//! Scalar resource quantities and limits by name, `cpus:4;mem:512` with no other metadata; mirrors `ResourceQuantities` and `ResourceLimits` in `include/mesos/resource_quantities.hpp` and `src/common/resource_quantities.cpp`, and `shrinkResources` in `src/common/resources_utils.cpp`.
//!
//! The types belong beside `Resources` in the `mesos` crate; they live here until that crate
//! grows them, because the allocator is their first user.
//!
//! Invariants of [`ResourceQuantities`], as in C++: entries are sorted by name, names are
//! unique, and every quantity is strictly positive (adding zero is a no-op; subtracting down
//! to zero or below removes the entry). [`ResourceLimits`] differ in what absence means: an
//! absent name has no limit (infinity), so zero limits are kept. Arithmetic and comparison go
//! through the `mesos` crate's fixed-point `Scalar` operators, so sums match C++ to the
//! thousandth.

use std::borrow::Cow;
use std::cmp::Ordering;
use std::fmt;
use std::ops::{Add, AddAssign, Sub, SubAssign};

use mesos::proto::value::{Scalar, Type};
use mesos::proto::Resource;
use mesos::resources::Resources;
use mesos::values::{self, MesosValue};

/// Why a quantities text such as `cpus:1;mem:2` could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QuantitiesError {
    /// A `;`-separated token is not exactly `name:value`.
    #[error("failed to parse '{0}': missing or extra ':'")]
    BadToken(String),
    /// The value is not a valid Mesos value.
    #[error("failed to parse '{text}' to quantity: {source}")]
    BadValue {
        /// The value text.
        text: String,
        /// What the value parser said.
        source: values::ValueError,
    },
    /// The value parsed, but not as a scalar.
    #[error("failed to parse '{0}' to quantity: only scalar values are allowed")]
    NotScalar(String),
    /// The scalar is negative (unreachable while the value parser reads `-1` as text, as
    /// C++'s does; kept because C++ checks it too).
    #[error("failed to parse '{0}' to quantity: negative values are not allowed")]
    Negative(String),
    /// A limits text names a resource twice.
    #[error("failed to parse '{0}' to limit: duplicate names are not allowed")]
    DuplicateLimit(String),
}

/// A resource name, without an allocation for the first-class names.
type Name = Cow<'static, str>;

/// `name` as a [`Name`]: the first-class names (those the allocator sees on every agent)
/// are static, so building quantities of them allocates nothing per name.
fn name_of(name: &str) -> Name {
    const KNOWN: [&str; 5] = ["cpus", "disk", "gpus", "mem", "ports"];
    match KNOWN.iter().find(|known| **known == name) {
        Some(known) => Cow::Borrowed(known),
        None => Cow::Owned(name.to_owned()),
    }
}

/// Positive scalar quantities keyed by resource name, sorted by name.
///
/// Each quantity is kept in the fixed-point form C++'s `Scalar` operators convert to and from
/// at every step (`values::to_fixed`): a sum or comparison here is then integer arithmetic,
/// with the same answers, since a value made by `from_fixed` converts back to the same
/// thousandths.
#[derive(Debug, Clone, Default)]
pub struct ResourceQuantities {
    quantities: Vec<(Name, i64)>,
}

impl ResourceQuantities {
    /// No quantities.
    pub const fn new() -> ResourceQuantities {
        ResourceQuantities { quantities: Vec::new() }
    }

    /// From a protobuf map such as `QuotaConfig.guarantees` (C++ `ResourceQuantities(const
    /// Map<string, Value::Scalar>&)`); zero entries are dropped, negative ones ignored.
    pub fn from_map<'a>(map: impl IntoIterator<Item = (&'a String, &'a Scalar)>) -> ResourceQuantities {
        let mut result = ResourceQuantities::new();
        for (name, scalar) in map {
            result.add_quantity(name, *scalar);
        }
        result
    }

    /// The quantity of one scalar resource (C++ `fromScalarResource`); empty for a
    /// non-scalar.
    pub fn from_scalar_resource(resource: &Resource) -> ResourceQuantities {
        let mut result = ResourceQuantities::new();
        if resource.r#type() == Type::Scalar {
            if let Some(scalar) = resource.scalar {
                result.add_quantity(&resource.name, scalar);
            }
        }
        result
    }

    /// Parses `name:value;...` (C++ `fromString`). Zero quantities are dropped, repeated
    /// names are summed, names are trimmed.
    pub fn parse(text: &str) -> Result<ResourceQuantities, QuantitiesError> {
        let mut result = ResourceQuantities::new();
        for token in text.split(';').filter(|t| !t.is_empty()) {
            let pair: Vec<&str> = token.split(':').filter(|p| !p.is_empty()).collect();
            let [name, value] = pair[..] else {
                return Err(QuantitiesError::BadToken(token.to_owned()));
            };
            let parsed =
                values::parse(value).map_err(|source| QuantitiesError::BadValue { text: value.to_owned(), source })?;
            let scalar = match (parsed.r#type(), parsed.scalar) {
                (Type::Scalar, Some(scalar)) => scalar,
                _ => return Err(QuantitiesError::NotScalar(value.to_owned())),
            };
            if scalar.value < 0.0 {
                return Err(QuantitiesError::Negative(value.to_owned()));
            }
            result.add_quantity(name.trim(), scalar);
        }
        Ok(result)
    }

    /// The quantities of the scalar resources in `resources`, summed by name (C++
    /// `fromScalarResources`). C++ requires every resource to be a scalar; non-scalars are
    /// skipped here instead.
    ///
    /// A shared resource counts once however many copies `resources` holds, as in C++
    /// (quantities describe amounts, not identities).
    pub fn from_scalar_resources(resources: &Resources) -> ResourceQuantities {
        let mut result = ResourceQuantities::new();
        for resource in resources.iter().filter(|r| r.r#type() == Type::Scalar) {
            if let Some(scalar) = resource.scalar {
                if scalar.value > 0.0 {
                    result.add_quantity(&resource.name, scalar);
                }
            }
        }
        result
    }

    /// The quantities of `resources` by name (C++ `fromResources`): a scalar counts its
    /// value, a set its items, ranges the numbers they cover.
    pub fn from_resources<'a>(resources: impl IntoIterator<Item = &'a Resource>) -> ResourceQuantities {
        let mut result = ResourceQuantities::new();
        for resource in resources {
            let amount = match resource.r#type() {
                Type::Scalar => resource.scalar.map_or(0.0, |s| s.value),
                Type::Set => resource.set.as_ref().map_or(0, |s| s.item.len()) as f64,
                Type::Ranges => resource
                    .ranges
                    .iter()
                    .flat_map(|r| &r.range)
                    .map(|r| r.end.saturating_sub(r.begin).saturating_add(1) as f64)
                    .sum(),
                Type::Text => continue,
            };
            result.add_quantity(&resource.name, Scalar { value: amount });
        }
        result
    }

    /// The quantity named `name`, zero if absent.
    pub fn get(&self, name: &str) -> Scalar {
        match self.position(name) {
            Ok(i) => scalar(self.quantities[i].1),
            Err(_) => Scalar::default(),
        }
    }

    /// Whether there are no quantities.
    pub fn is_empty(&self) -> bool {
        self.quantities.is_empty()
    }

    /// The number of resource names.
    pub fn len(&self) -> usize {
        self.quantities.len()
    }

    /// The `(name, quantity)` pairs in name order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, Scalar)> + '_ {
        self.quantities.iter().map(|(name, fixed)| (&**name, scalar(*fixed)))
    }

    /// Whether every quantity of `that` is at most the same-named quantity here.
    pub fn contains(&self, that: &ResourceQuantities) -> bool {
        that.quantities.iter().all(|(name, fixed)| *fixed <= self.position(name).map_or(0, |i| self.quantities[i].1))
    }

    /// Adds `scalar` of `name`; zero is ignored. A negative `scalar` (C++ CHECK-fails) is
    /// ignored too.
    pub fn add_quantity(&mut self, name: &str, scalar: Scalar) {
        let fixed = values::to_fixed(scalar.value);
        if fixed <= 0 {
            return;
        }
        match self.position(name) {
            Ok(i) => self.quantities[i].1 = self.quantities[i].1.saturating_add(fixed),
            Err(i) => self.quantities.insert(i, (name_of(name), fixed)),
        }
    }

    /// Where `name` is, or would go. A quantities list holds a handful of names, so a scan
    /// beats a binary search here: most lookups end at the first or second entry, and the
    /// first-class names, static strings, are often the very string asked for.
    fn position(&self, name: &str) -> Result<usize, usize> {
        self.position_from(0, name)
    }

    /// [`Self::position`], knowing that `name` does not sort before entry `start`.
    fn position_from(&self, start: usize, name: &str) -> Result<usize, usize> {
        for (i, (known, _)) in self.quantities.iter().enumerate().skip(start) {
            match compare_names(known, name) {
                Ordering::Less => {}
                Ordering::Equal => return Ok(i),
                Ordering::Greater => return Err(i),
            }
        }
        Err(self.quantities.len())
    }
}

/// The `Scalar` for thousandths.
fn scalar(fixed: i64) -> Scalar {
    Scalar { value: values::from_fixed(fixed) }
}

/// `str` ordering, with a shortcut for the same string and a byte loop rather than a
/// `memcmp` call for the short names resources have.
fn compare_names(left: &str, right: &str) -> Ordering {
    if std::ptr::eq(left, right) {
        return Ordering::Equal;
    }
    for (l, r) in left.bytes().zip(right.bytes()) {
        if l != r {
            return l.cmp(&r);
        }
    }
    left.len().cmp(&right.len())
}

impl PartialEq for ResourceQuantities {
    /// Same names and fixed-point-equal quantities.
    fn eq(&self, other: &ResourceQuantities) -> bool {
        self.quantities.len() == other.quantities.len()
            && self.quantities.iter().zip(&other.quantities).all(|(l, r)| l.0 == r.0 && l.1 == r.1)
    }
}

impl AddAssign<&ResourceQuantities> for ResourceQuantities {
    fn add_assign(&mut self, that: &ResourceQuantities) {
        // Both lists are sorted by name: each name of `that` is looked for from where the
        // previous one was found (usually at the same index, for lists of the same names).
        let mut cursor = 0;
        for (name, fixed) in &that.quantities {
            match self.position_from(cursor, name) {
                Ok(i) => {
                    self.quantities[i].1 = self.quantities[i].1.saturating_add(*fixed);
                    cursor = i + 1;
                }
                Err(i) => {
                    self.quantities.insert(i, (name.clone(), *fixed));
                    cursor = i + 1;
                }
            }
        }
    }
}

impl SubAssign<&ResourceQuantities> for ResourceQuantities {
    /// Subtracts per name; a quantity that would reach zero or below is removed, and names
    /// absent here are ignored.
    fn sub_assign(&mut self, that: &ResourceQuantities) {
        // As in `add_assign`, each search starts where the previous name was.
        let mut cursor = 0;
        for (name, fixed) in &that.quantities {
            match self.position_from(cursor, name) {
                Ok(i) => {
                    if self.quantities[i].1 <= *fixed {
                        self.quantities.remove(i);
                        cursor = i;
                    } else {
                        self.quantities[i].1 -= fixed;
                        cursor = i + 1;
                    }
                }
                Err(i) => cursor = i,
            }
        }
    }
}

impl Add<&ResourceQuantities> for &ResourceQuantities {
    type Output = ResourceQuantities;
    fn add(self, that: &ResourceQuantities) -> ResourceQuantities {
        let mut result = self.clone();
        result += that;
        result
    }
}

impl Sub<&ResourceQuantities> for &ResourceQuantities {
    type Output = ResourceQuantities;
    fn sub(self, that: &ResourceQuantities) -> ResourceQuantities {
        let mut result = self.clone();
        result -= that;
        result
    }
}

impl fmt::Display for ResourceQuantities {
    /// `cpus:1; mem:2`, or `{}` when empty, as C++ prints it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.quantities.is_empty() {
            return f.write_str("{}");
        }
        for (i, (name, fixed)) in self.quantities.iter().enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            write!(f, "{name}:{}", scalar(*fixed))?;
        }
        Ok(())
    }
}

/// Per-name upper bounds, sorted by name (C++ `ResourceLimits`). An absent name is
/// unlimited; a present one may be zero. Values are finite and non-negative.
#[derive(Debug, Clone, Default)]
pub struct ResourceLimits {
    limits: Vec<(String, Scalar)>,
}

impl ResourceLimits {
    /// No limits at all.
    pub const fn new() -> ResourceLimits {
        ResourceLimits { limits: Vec::new() }
    }

    /// Parses `name:value;...` (C++ `fromString`): zero values are kept, a repeated name is
    /// an error, names are trimmed.
    pub fn parse(text: &str) -> Result<ResourceLimits, QuantitiesError> {
        let mut result = ResourceLimits::new();
        for token in text.split(';').filter(|t| !t.is_empty()) {
            let pair: Vec<&str> = token.split(':').filter(|p| !p.is_empty()).collect();
            let [name, value] = pair[..] else {
                return Err(QuantitiesError::BadToken(token.to_owned()));
            };
            let parsed =
                values::parse(value).map_err(|source| QuantitiesError::BadValue { text: value.to_owned(), source })?;
            let scalar = match (parsed.r#type(), parsed.scalar) {
                (Type::Scalar, Some(scalar)) => scalar,
                _ => return Err(QuantitiesError::NotScalar(value.to_owned())),
            };
            if scalar.value < 0.0 || !scalar.value.is_finite() {
                return Err(QuantitiesError::Negative(value.to_owned()));
            }
            let name = name.trim();
            if result.get(name).is_some() {
                return Err(QuantitiesError::DuplicateLimit(value.to_owned()));
            }
            result.set(name, scalar);
        }
        Ok(result)
    }

    /// From a protobuf map such as `QuotaConfig.limits`. Negative or non-finite values (the
    /// master refuses them) are read as zero.
    pub fn from_map<'a>(map: impl IntoIterator<Item = (&'a String, &'a Scalar)>) -> ResourceLimits {
        let mut result = ResourceLimits::new();
        for (name, scalar) in map {
            let value = if scalar.value.is_finite() && scalar.value > 0.0 { scalar.value } else { 0.0 };
            result.set(name, Scalar { value });
        }
        result
    }

    /// The limit of `name`; `None` means unlimited.
    pub fn get(&self, name: &str) -> Option<Scalar> {
        self.position(name).ok().map(|i| self.limits[i].1)
    }

    /// Whether nothing is limited.
    pub fn is_empty(&self) -> bool {
        self.limits.is_empty()
    }

    /// The number of limited names.
    pub fn len(&self) -> usize {
        self.limits.len()
    }

    /// The `(name, limit)` pairs in name order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, Scalar)> + '_ {
        self.limits.iter().map(|(name, scalar)| (name.as_str(), *scalar))
    }

    /// Whether every limit of `that` is within ours (C++ `contains(const ResourceLimits&)`):
    /// a name we limit must be limited in `that` at most as high.
    pub fn contains(&self, that: &ResourceLimits) -> bool {
        self.limits.iter().all(|(name, mine)| that.get(name).is_some_and(|theirs| theirs.mesos_le(mine)))
    }

    /// Whether `quantities` fit under the limits.
    pub fn contains_quantities(&self, quantities: &ResourceQuantities) -> bool {
        quantities.iter().all(|(name, quantity)| self.get(name).is_none_or(|limit| quantity.mesos_le(&limit)))
    }

    /// Sets the limit of `name`, replacing any.
    fn set(&mut self, name: &str, scalar: Scalar) {
        match self.position(name) {
            Ok(i) => self.limits[i].1 = scalar,
            Err(i) => self.limits.insert(i, (name.to_owned(), scalar)),
        }
    }

    fn position(&self, name: &str) -> Result<usize, usize> {
        self.limits.binary_search_by(|(n, _)| n.as_str().cmp(name))
    }
}

impl PartialEq for ResourceLimits {
    fn eq(&self, other: &ResourceLimits) -> bool {
        self.limits.len() == other.limits.len()
            && self.limits.iter().zip(&other.limits).all(|(l, r)| l.0 == r.0 && l.1.mesos_eq(&r.1))
    }
}

impl SubAssign<&ResourceQuantities> for ResourceLimits {
    /// Lowers each finite limit by the quantity of the same name, not below zero; unlimited
    /// names stay unlimited.
    fn sub_assign(&mut self, quantities: &ResourceQuantities) {
        for (name, limit) in &mut self.limits {
            let quantity = quantities.get(name);
            if limit.mesos_le(&quantity) {
                *limit = Scalar::default();
            } else {
                *limit -= &quantity;
            }
        }
    }
}

impl Sub<&ResourceQuantities> for &ResourceLimits {
    type Output = ResourceLimits;
    fn sub(self, quantities: &ResourceQuantities) -> ResourceLimits {
        let mut result = self.clone();
        result -= quantities;
        result
    }
}

impl fmt::Display for ResourceLimits {
    /// `cpus:1; mem:0`, or `{}` when empty, as C++ prints it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.limits.is_empty() {
            return f.write_str("{}");
        }
        for (i, (name, scalar)) in self.limits.iter().enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            write!(f, "{name}:{scalar}")?;
        }
        Ok(())
    }
}

/// Cuts one scalar resource down to `target` if it is larger (C++ `Resources::shrink`).
/// Fails, leaving it unchanged, for a disk that cannot be divided (a `MOUNT` or `BLOCK`
/// source, a persistent volume).
fn shrink(resource: &mut Resource, target: Scalar) -> bool {
    let current = resource.scalar.unwrap_or_default();
    if current.mesos_le(&target) {
        return true;
    }
    if resource.disk.is_some() {
        let mut smaller = resource.clone();
        smaller.scalar = Some(target);
        if mesos::resources::resource_contains(resource, &smaller) {
            *resource = smaller;
            return true;
        }
        return false;
    }
    resource.scalar = Some(target);
    true
}

/// The part of `resources` that fits in `target` (C++ `shrinkResources` with
/// `ResourceQuantities`): resources named nowhere in `target` are dropped, larger ones are
/// cut down where they can be. The resources are visited in the order `shuffle` leaves them
/// in, so that which of two same-named resources gets cut is not always the same.
pub fn shrink_resources(
    resources: &Resources,
    mut target: ResourceQuantities,
    shuffle: impl FnOnce(&mut [Resource]),
) -> Resources {
    let mut result = Resources::new();
    if target.is_empty() {
        return result;
    }
    // Nothing to cut: all scalars, all within the target.
    if resources.iter().all(|r| r.r#type() == Type::Scalar)
        && target.contains(&ResourceQuantities::from_scalar_resources(resources))
    {
        return resources.clone();
    }
    let mut candidates = resources.to_vec();
    shuffle(&mut candidates);
    for mut resource in candidates {
        let wanted = target.get(&resource.name);
        if wanted.value <= 0.0 || resource.r#type() != Type::Scalar {
            continue;
        }
        if shrink(&mut resource, wanted) {
            target -= &ResourceQuantities::from_scalar_resource(&resource);
            result.add_resource(&resource);
        }
    }
    result
}

/// The part of `resources` within `limits` (C++ `shrinkResources` with `ResourceLimits`):
/// unlimited names are kept whole, limited ones cut down where they can be.
pub fn shrink_resources_to_limits(
    resources: &Resources,
    limits: &ResourceLimits,
    shuffle: impl FnOnce(&mut [Resource]),
) -> Resources {
    if limits.is_empty() {
        return resources.clone();
    }
    let limited = |r: &Resource| limits.get(&r.name).is_some();
    let scalars_only = resources.iter().filter(|r| limited(r)).all(|r| r.r#type() == Type::Scalar);
    // Nothing to cut: the limited resources are scalars within their limits.
    if scalars_only && limits.contains_quantities(&ResourceQuantities::from_scalar_resources(resources)) {
        return resources.clone();
    }
    // Nothing left under any limit that applies: only the unlimited resources stay.
    if resources.iter().filter(|r| limited(r)).all(|r| limits.get(&r.name).is_some_and(|l| l.value <= 0.0)) {
        return resources.filter(|r| !limited(r));
    }
    let mut remaining = limits.clone();
    let mut candidates = resources.to_vec();
    shuffle(&mut candidates);
    let mut result = Resources::new();
    for mut resource in candidates {
        let Some(limit) = remaining.get(&resource.name) else {
            result.add_resource(&resource);
            continue;
        };
        if resource.r#type() != Type::Scalar {
            continue;
        }
        if shrink(&mut resource, limit) {
            remaining -= &ResourceQuantities::from_scalar_resource(&resource);
            result.add_resource(&resource);
        }
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(text: &str) -> ResourceQuantities {
        ResourceQuantities::parse(text).unwrap()
    }

    #[test]
    fn parse_sorts_sums_and_drops_zero() {
        let parsed = q("mem:2;cpus:1;disk:0;cpus:0.5");
        assert_eq!(
            parsed.iter().map(|(n, s)| (n.to_owned(), s.value)).collect::<Vec<_>>(),
            [("cpus".to_owned(), 1.5), ("mem".to_owned(), 2.0)]
        );
        assert_eq!(parsed.to_string(), "cpus:1.5; mem:2");
        assert_eq!(ResourceQuantities::new().to_string(), "{}");
    }

    #[test]
    fn parse_errors() {
        assert!(matches!(ResourceQuantities::parse("cpus"), Err(QuantitiesError::BadToken(_))));
        assert!(matches!(ResourceQuantities::parse("cpus:1:2"), Err(QuantitiesError::BadToken(_))));
        // The value parser reads a negative number as text, as C++ does.
        assert!(matches!(ResourceQuantities::parse("cpus:-1"), Err(QuantitiesError::NotScalar(_))));
        assert!(matches!(ResourceQuantities::parse("ports:[1-2]"), Err(QuantitiesError::NotScalar(_))));
    }

    #[test]
    fn subtraction_removes_exhausted_names() {
        let mut left = q("cpus:1;mem:2");
        left -= &q("cpus:1.5;mem:0.5;disk:3");
        assert_eq!(left, q("mem:1.5"));
        assert!(q("cpus:1;mem:2").contains(&q("mem:2")));
        assert!(!q("cpus:1;mem:2").contains(&q("disk:1")));
        assert_eq!(&q("cpus:0.1") + &q("cpus:0.2"), q("cpus:0.3"));
    }

    fn r(text: &str) -> Resources {
        Resources::parse(text, "*").unwrap()
    }

    #[test]
    fn limits_keep_zero_and_refuse_duplicates() {
        let limits = ResourceLimits::parse("mem:0;cpus:2").unwrap();
        assert_eq!(limits.get("mem"), Some(Scalar { value: 0.0 }));
        assert_eq!(limits.get("disk"), None);
        assert_eq!(limits.to_string(), "cpus:2; mem:0");
        assert!(matches!(ResourceLimits::parse("cpus:1;cpus:2"), Err(QuantitiesError::DuplicateLimit(_))));
        assert_eq!(ResourceLimits::new().to_string(), "{}");
    }

    #[test]
    fn limits_arithmetic_follows_cpp() {
        let limits = ResourceLimits::parse("cpus:2;mem:10").unwrap();
        let left = &limits - &q("cpus:3;mem:4;disk:7");
        assert_eq!(left, ResourceLimits::parse("cpus:0;mem:6").unwrap());
        assert!(limits.contains_quantities(&q("cpus:2;disk:1000")));
        assert!(!limits.contains_quantities(&q("cpus:2.5")));
        // Fewer limits contain more: `[]` contains everything, `[cpus:1]` not `[mem:1]`.
        assert!(ResourceLimits::new().contains(&limits));
        assert!(!limits.contains(&ResourceLimits::new()));
        assert!(ResourceLimits::parse("cpus:3").unwrap().contains(&limits));
    }

    #[test]
    fn shrink_cuts_scalars_and_drops_the_rest() {
        let keep = |v: &mut [Resource]| v.sort_by(|a, b| a.name.cmp(&b.name));
        let shrunk = shrink_resources(&r("cpus:4;mem:512;disk:10"), q("cpus:1.5;mem:1024"), keep);
        assert_eq!(shrunk, r("cpus:1.5;mem:512"));
        assert!(shrink_resources(&r("cpus:4"), ResourceQuantities::new(), keep).is_empty());
        let limited = shrink_resources_to_limits(
            &r("cpus:4;mem:512;disk:10"),
            &ResourceLimits::parse("cpus:1;disk:0").unwrap(),
            keep,
        );
        assert_eq!(limited, r("cpus:1;mem:512"));
    }
}
