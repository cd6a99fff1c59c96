//! The master's framework bookkeeping and the checks on what schedulers send; mirrors `Framework` in `src/master/master.hpp` and `validation::framework` / `validation::scheduler::call` in `src/master/validation.cpp`.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::time::Duration;

use libprocess::UPID;
use mesos::proto::framework_info::capability::Type as Capability;
use mesos::proto::scheduler::call::Type as CallType;
use mesos::proto::scheduler::Call;
use mesos::proto::{FrameworkInfo, OfferId, Task, TaskId};

/// Why a framework's subscription or a scheduler call is refused.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum FrameworkError {
    #[error("'FrameworkInfo.role' must not be set when the framework is MULTI_ROLE capable")]
    RoleWithMultiRole,
    #[error("'FrameworkInfo.roles' must not be set when the framework is not MULTI_ROLE capable")]
    RolesWithoutMultiRole,
    #[error("'FrameworkInfo.roles' contains duplicate items: {0:?}")]
    DuplicateRoles(BTreeSet<String>),
    #[error("'FrameworkInfo.roles' contains invalid role: {0}")]
    InvalidRoles(String),
    #[error("'FrameworkInfo.role' is not a valid role: {0}")]
    InvalidRole(String),
    #[error("invalid framework id '{0}'")]
    InvalidId(String),
    #[error("The framework failover_timeout ({0}) is invalid")]
    InvalidFailoverTimeout(f64),
    #[error("Roles {0:?} are not present in the master's --roles")]
    NotWhitelisted(BTreeSet<String>),
    #[error("User 'root' is not allowed to run frameworks without --root_submissions set")]
    RootSubmission,
    #[error("Framework has been removed")]
    Removed,
    #[error("Suppressed roles {0:?} are not contained in the set of roles")]
    SuppressedRoles(BTreeSet<String>),
    #[error("Expecting 'type' to be present")]
    MissingType,
    #[error("Expecting '{0}' to be present")]
    Missing(&'static str),
    #[error("'framework_id' differs from 'subscribe.framework_info.id'")]
    IdMismatch,
}

/// A subscribed framework as the master tracks it (C++ `Framework`). Only PID (v0 driver)
/// frameworks exist so far.
#[derive(Debug)]
pub(crate) struct Framework {
    pub(crate) info: FrameworkInfo,
    pub(crate) pid: UPID,
    /// The link to the scheduler is up (C++ `connected()`).
    pub(crate) connected: bool,
    /// Offers are made to it (C++ `active()`).
    pub(crate) active: bool,
    /// Its outstanding offers.
    pub(crate) offers: HashSet<OfferId>,
    /// Bumped at each resubscription. C++ keeps `reregisteredTime` and a failover timer
    /// compares it; a counter says the same without two resubscriptions at one paused
    /// instant looking alike.
    pub(crate) generation: u64,
    /// Its tasks the master launched and has not removed (C++ `Framework::tasks`).
    pub(crate) tasks: HashMap<TaskId, Task>,
}

/// What tests and endpoints see of one framework.
#[derive(Clone, Debug, PartialEq)]
pub struct FrameworkSnapshot {
    pub id: String,
    pub name: String,
    pub pid: UPID,
    pub connected: bool,
    pub active: bool,
    pub offers: usize,
}

/// Whether `info` declares `MULTI_ROLE`.
pub(crate) fn multi_role(info: &FrameworkInfo) -> bool {
    info.capabilities.iter().any(|c| c.r#type() == Capability::MultiRole)
}

/// Whether `info` declares `PARTITION_AWARE` (C++ `capabilities.partitionAware`).
pub(crate) fn partition_aware(info: &FrameworkInfo) -> bool {
    info.capabilities.iter().any(|c| c.r#type() == Capability::PartitionAware)
}

/// The roles a framework subscribes to (C++ `protobuf::framework::getRoles`).
pub(crate) fn roles(info: &FrameworkInfo) -> BTreeSet<String> {
    if multi_role(info) {
        info.roles.iter().cloned().collect()
    } else {
        BTreeSet::from([info.role().to_owned()])
    }
}

/// `FrameworkInfo.failover_timeout` as a delay; negative means at once. Only called on
/// validated infos.
pub(crate) fn failover_timeout(info: &FrameworkInfo) -> Duration {
    Duration::try_from_secs_f64(info.failover_timeout().max(0.0)).unwrap_or(Duration::MAX)
}

/// C++ `common::validation::validateID`.
fn validate_id(value: &str) -> bool {
    !(value.is_empty()
        || value.len() > 255
        || value == "."
        || value == ".."
        || value.chars().any(|c| c.is_control() || c == '/' || c == '\\'))
}

/// C++ `validation::framework::validate`: roles, id and failover timeout (offer filters are
/// checked by the allocator when it unpacks them).
pub fn validate(info: &FrameworkInfo) -> Result<(), FrameworkError> {
    if multi_role(info) {
        if info.role.is_some() {
            return Err(FrameworkError::RoleWithMultiRole);
        }
        let mut seen = BTreeSet::new();
        let duplicates: BTreeSet<String> = info.roles.iter().filter(|r| !seen.insert(*r)).cloned().collect();
        if !duplicates.is_empty() {
            return Err(FrameworkError::DuplicateRoles(duplicates));
        }
        for role in &info.roles {
            mesos::resources::validate_role(role).map_err(FrameworkError::InvalidRoles)?;
        }
    } else {
        if !info.roles.is_empty() {
            return Err(FrameworkError::RolesWithoutMultiRole);
        }
        mesos::resources::validate_role(info.role()).map_err(FrameworkError::InvalidRole)?;
    }
    if let Some(id) = info.id.as_ref().filter(|id| !id.value.is_empty()) {
        if !validate_id(&id.value) {
            return Err(FrameworkError::InvalidId(id.value.clone()));
        }
    }
    // stout's `Duration::create` fails when the nanoseconds overflow an `int64`.
    let timeout = info.failover_timeout();
    if !timeout.is_finite() || (timeout * 1e9).abs() >= i64::MAX as f64 {
        return Err(FrameworkError::InvalidFailoverTimeout(timeout));
    }
    Ok(())
}

/// C++ `validation::framework::validateSuppressedRoles`.
pub fn validate_suppressed_roles(info: &FrameworkInfo, suppressed: &BTreeSet<String>) -> Result<(), FrameworkError> {
    let invalid: BTreeSet<String> = suppressed.difference(&roles(info)).cloned().collect();
    if invalid.is_empty() {
        Ok(())
    } else {
        Err(FrameworkError::SuppressedRoles(invalid))
    }
}

/// C++ `validation::scheduler::call::validate` (without a principal: no authentication yet).
pub fn validate_call(call: &Call) -> Result<CallType, FrameworkError> {
    let Some(kind) = call.r#type else { return Err(FrameworkError::MissingType) };
    let kind = CallType::try_from(kind).unwrap_or(CallType::Unknown);
    if kind == CallType::Subscribe {
        let subscribe = call.subscribe.as_ref().ok_or(FrameworkError::Missing("subscribe"))?;
        let info_id = subscribe.framework_info.id.clone().unwrap_or_default();
        if info_id != call.framework_id.clone().unwrap_or_default() {
            return Err(FrameworkError::IdMismatch);
        }
        return Ok(kind);
    }
    if call.framework_id.is_none() {
        return Err(FrameworkError::Missing("framework_id"));
    }
    let missing = match kind {
        CallType::Accept => call.accept.is_none().then_some("accept"),
        CallType::Decline => call.decline.is_none().then_some("decline"),
        CallType::AcceptInverseOffers => call.accept_inverse_offers.is_none().then_some("accept_inverse_offers"),
        CallType::DeclineInverseOffers => call.decline_inverse_offers.is_none().then_some("decline_inverse_offers"),
        CallType::Kill => call.kill.is_none().then_some("kill"),
        CallType::Shutdown => call.shutdown.is_none().then_some("shutdown"),
        CallType::Acknowledge => call.acknowledge.is_none().then_some("acknowledge"),
        CallType::Reconcile => call.reconcile.is_none().then_some("reconcile"),
        CallType::Message => call.message.is_none().then_some("message"),
        CallType::Request => call.request.is_none().then_some("request"),
        _ => None,
    };
    match missing {
        Some(field) => Err(FrameworkError::Missing(field)),
        None => Ok(kind),
    }
}
