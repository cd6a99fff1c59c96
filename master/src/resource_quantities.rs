//! Scalar resource quantities by name, `cpus:4;mem:512` with no other metadata; mirrors `ResourceQuantities` in `include/mesos/resource_quantities.hpp` and `src/common/resource_quantities.cpp`.
//!
//! The type belongs beside `Resources` in the `mesos` crate; it lives here until that crate
//! grows it, because the DRF sorter is its first user.
//!
//! Invariants, as in C++: entries are sorted by name, names are unique, and every quantity is
//! strictly positive (adding zero is a no-op; subtracting down to zero or below removes the
//! entry). Arithmetic and comparison go through the `mesos` crate's fixed-point `Scalar`
//! operators, so sums match C++ to the thousandth.

use std::cmp::Ordering;
use std::fmt;
use std::ops::{Add, AddAssign, Sub, SubAssign};

use mesos::proto::value::{Scalar, Type};
use mesos::proto::Resource;
use mesos::resources::Resources;
use mesos::values::{self, compare_scalars, MesosValue};

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
}

/// Positive scalar quantities keyed by resource name, sorted by name.
#[derive(Debug, Clone, Default)]
pub struct ResourceQuantities {
    quantities: Vec<(String, Scalar)>,
}

impl ResourceQuantities {
    /// No quantities.
    pub fn new() -> ResourceQuantities {
        ResourceQuantities::default()
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
            Ok(i) => self.quantities[i].1,
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
        self.quantities.iter().map(|(name, scalar)| (name.as_str(), *scalar))
    }

    /// Whether every quantity of `that` is at most the same-named quantity here.
    pub fn contains(&self, that: &ResourceQuantities) -> bool {
        that.quantities.iter().all(|(name, scalar)| scalar.mesos_le(&self.get(name)))
    }

    /// Adds `scalar` of `name`; zero is ignored. A negative `scalar` (C++ CHECK-fails) is
    /// ignored too.
    pub fn add_quantity(&mut self, name: &str, scalar: Scalar) {
        if compare_scalars(&scalar, &Scalar::default()) != Ordering::Greater {
            return;
        }
        match self.position(name) {
            Ok(i) => self.quantities[i].1 += &scalar,
            Err(i) => self.quantities.insert(i, (name.to_owned(), scalar)),
        }
    }

    fn position(&self, name: &str) -> Result<usize, usize> {
        self.quantities.binary_search_by(|(n, _)| n.as_str().cmp(name))
    }
}

impl PartialEq for ResourceQuantities {
    /// Same names and fixed-point-equal quantities.
    fn eq(&self, other: &ResourceQuantities) -> bool {
        self.quantities.len() == other.quantities.len()
            && self.quantities.iter().zip(&other.quantities).all(|(l, r)| l.0 == r.0 && l.1.mesos_eq(&r.1))
    }
}

impl AddAssign<&ResourceQuantities> for ResourceQuantities {
    fn add_assign(&mut self, that: &ResourceQuantities) {
        for (name, scalar) in &that.quantities {
            self.add_quantity(name, *scalar);
        }
    }
}

impl SubAssign<&ResourceQuantities> for ResourceQuantities {
    /// Subtracts per name; a quantity that would reach zero or below is removed, and names
    /// absent here are ignored.
    fn sub_assign(&mut self, that: &ResourceQuantities) {
        for (name, scalar) in &that.quantities {
            if let Ok(i) = self.position(name) {
                if self.quantities[i].1.mesos_le(scalar) {
                    self.quantities.remove(i);
                } else {
                    self.quantities[i].1 -= scalar;
                }
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
        for (i, (name, scalar)) in self.quantities.iter().enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            write!(f, "{name}:{scalar}")?;
        }
        Ok(())
    }
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
}
