//! The master's `--weights` flag, `role=weight,role=weight`; mirrors the weights parsing in `Master::initialize` (`src/master/master.cpp`).

use std::collections::{BTreeMap, BTreeSet};

use crate::values;

/// Why a `--weights` text was refused. C++ exits the master with the same complaints.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WeightsError {
    /// A `,`-separated token is not one `role=weight` pair.
    #[error("invalid weight '{0}': --weights should be of the form 'role=weight,role=weight'")]
    BadPair(String),
    /// The role is not in the master's `--roles` whitelist.
    #[error("invalid weight '{token}': {role} is not a valid role")]
    UnknownRole {
        /// The offending `role=weight` token.
        token: String,
        /// Its role.
        role: String,
    },
    /// The weight is not a finite number greater than zero.
    #[error("invalid weight '{0}': weights must be positive")]
    NotPositive(String),
}

/// Parses `role=weight,...` into weights by role; a role given twice keeps its last weight.
///
/// As in C++, roles are only checked against `role_whitelist` when there is one (the
/// deprecated `--roles` flag); the weight must be positive. C++ reads the weight with `atof`,
/// which takes a numeric prefix (`2x` is 2) and reads a non-number as 0 (refused as not
/// positive) and `nan` as NaN (accepted!). Here the whole weight must be a number
/// (surrounding whitespace aside), and NaN and infinities are refused as not positive.
pub fn parse_weights(
    text: &str,
    role_whitelist: Option<&BTreeSet<String>>,
) -> Result<BTreeMap<String, f64>, WeightsError> {
    let mut weights = BTreeMap::new();
    for token in values::tokenize(text, &[',']) {
        let pair: Vec<&str> = values::tokenize(token, &['=']).collect();
        let [role, weight] = pair[..] else {
            return Err(WeightsError::BadPair(token.to_owned()));
        };
        if role_whitelist.is_some_and(|roles| !roles.contains(role)) {
            return Err(WeightsError::UnknownRole { token: token.to_owned(), role: role.to_owned() });
        }
        match weight.trim().parse::<f64>() {
            Ok(weight) if weight.is_finite() && weight > 0.0 => {
                weights.insert(role.to_owned(), weight);
            }
            _ => return Err(WeightsError::NotPositive(token.to_owned())),
        }
    }
    Ok(weights)
}
