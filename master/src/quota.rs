//! A role's quota as the allocator sees it: guaranteed quantities and limits; mirrors `Quota` in `include/mesos/quota/quota.hpp` and its constructors in `src/master/quota.cpp`.
//!
//! The operator API carries quota as `QuotaConfig` (since 1.9: separate guarantees and limits)
//! or the older `QuotaInfo`/`QuotaRequest` (a guarantee that is also the limit). The default
//! quota, [`crate::constants::DEFAULT_QUOTA`], guarantees nothing and limits nothing.

use std::fmt;

use mesos::proto::quota::{QuotaConfig, QuotaInfo, QuotaRequest};
use mesos::proto::Resource;

use crate::resource_quantities::{ResourceLimits, ResourceQuantities};

/// Guarantees and limits of one role (C++ `mesos::Quota`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Quota {
    /// Quantities the role is entitled to, held back from other roles until it uses them.
    pub guarantees: ResourceQuantities,
    /// Upper bounds on what the role (with its subroles) may consume; absent names are
    /// unlimited.
    pub limits: ResourceLimits,
}

impl Quota {
    /// No guarantees and no limits.
    pub const fn new() -> Quota {
        Quota { guarantees: ResourceQuantities::new(), limits: ResourceLimits::new() }
    }

    /// From a `QuotaConfig` (C++ `Quota(const QuotaConfig&)`).
    pub fn from_config(config: &QuotaConfig) -> Quota {
        Quota {
            guarantees: ResourceQuantities::from_map(&config.guarantees),
            limits: ResourceLimits::from_map(&config.limits),
        }
    }

    /// From a pre-1.9 `QuotaInfo`: the guarantee doubles as the limit.
    pub fn from_info(info: &QuotaInfo) -> Quota {
        Quota::from_guarantee(&info.guarantee)
    }

    /// From a pre-1.9 `QuotaRequest`: the guarantee doubles as the limit.
    pub fn from_request(request: &QuotaRequest) -> Quota {
        Quota::from_guarantee(&request.guarantee)
    }

    fn from_guarantee(guarantee: &[Resource]) -> Quota {
        let mut guarantees = ResourceQuantities::new();
        for resource in guarantee {
            guarantees += &ResourceQuantities::from_scalar_resource(resource);
        }
        // As with a protobuf map, a repeated name keeps the last value as its limit.
        let limits: Vec<(String, mesos::proto::value::Scalar)> =
            guarantee.iter().map(|r| (r.name.clone(), r.scalar.unwrap_or_default())).collect();
        Quota { guarantees, limits: ResourceLimits::from_map(limits.iter().map(|(n, s)| (n, s))) }
    }

    /// Whether this is the default quota (nothing guaranteed, nothing limited).
    pub fn is_default(&self) -> bool {
        self.guarantees.is_empty() && self.limits.is_empty()
    }
}

impl fmt::Display for Quota {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "guarantees: {} limits: {}", self.guarantees, self.limits)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mesos::proto::value::Scalar;
    use mesos::resources::Resources;

    #[test]
    fn legacy_guarantee_is_also_the_limit() {
        let guarantee = Resources::parse("cpus:2;mem:512;ports:[1-2]", "*").unwrap().to_vec();
        let quota = Quota::from_info(&QuotaInfo { role: Some("r".into()), principal: None, guarantee });
        assert_eq!(quota.guarantees, ResourceQuantities::parse("cpus:2;mem:512").unwrap());
        assert_eq!(quota.limits.get("cpus"), Some(Scalar { value: 2.0 }));
        assert_eq!(quota.limits.get("mem"), Some(Scalar { value: 512.0 }));
    }

    #[test]
    fn config_keeps_zero_limits() {
        let config = QuotaConfig {
            role: "r".into(),
            guarantees: [("cpus".to_owned(), Scalar { value: 0.0 })].into(),
            limits: [("cpus".to_owned(), Scalar { value: 0.0 })].into(),
        };
        let quota = Quota::from_config(&config);
        assert!(quota.guarantees.is_empty());
        assert_eq!(quota.limits.get("cpus"), Some(Scalar { value: 0.0 }));
        assert!(!quota.is_default());
        assert!(Quota::new().is_default());
        assert_eq!(Quota::new().to_string(), "guarantees: {} limits: {}");
    }
}
