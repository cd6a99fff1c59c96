//! The changes the master makes to its registry (`Operation`): admit, update, mark unreachable/reachable/gone, remove, prune, update weights; mirrors `src/master/registry_operations.{hpp,cpp}` and `RegistryOperation` in `src/master/registrar.hpp`.
//!
//! An operation is plain data; [`Operation::perform`] applies it to a registry and reports
//! whether it changed anything, or why it cannot apply. It does no I/O, so the registrar
//! can apply a whole batch to a copy of the registry and store the result once.

use std::collections::HashSet;

use mesos::internal::registry;
use mesos::internal::Registry;
use mesos::proto::{SlaveId, SlaveInfo, TimeInfo, WeightInfo};
use mesos::resources::{downgrade_resources, upgrade_resources, ResourcesError};

/// One change to the registry, applied by the registrar in the order received.
#[derive(Clone, Debug, PartialEq)]
pub enum Operation {
    /// A new agent registered (`AdmitSlave`): append it to the admitted agents. Fails if
    /// its id is already admitted.
    AdmitSlave(SlaveInfo),
    /// An admitted agent reregistered with a changed `SlaveInfo` (`UpdateSlave`): replace
    /// it. Changes nothing if equal; fails if the agent is not admitted.
    UpdateSlave(SlaveInfo),
    /// An admitted agent failed health checks (`MarkSlaveUnreachable`): move it to the
    /// unreachable list with `unreachable_time`. Fails if it is not admitted.
    MarkSlaveUnreachable { info: SlaveInfo, unreachable_time: TimeInfo },
    /// An agent the master does not have as admitted reregistered (`MarkSlaveReachable`):
    /// take it out of the unreachable list, if there, and admit it. Changes nothing if it
    /// is admitted already; admits agents found in neither list (pruned, or unknown).
    MarkSlaveReachable(SlaveInfo),
    /// An admitted agent unregistered or was replaced (`RemoveSlave`): delete it, leaving
    /// no trace. Fails if it is not admitted.
    RemoveSlave(SlaveInfo),
    /// The operator declared an agent gone (`MarkSlaveGone`): delete it from the admitted
    /// or unreachable list and add it to the gone list with `gone_time`. Fails if it is
    /// already gone or in neither list.
    MarkSlaveGone { id: SlaveId, gone_time: TimeInfo },
    /// Registry garbage collection (`Prune`): drop these ids from the unreachable and gone
    /// lists. Ids not present are skipped.
    Prune { unreachable: HashSet<SlaveId>, gone: HashSet<SlaveId> },
    /// The operator changed role weights (`UpdateWeights`, `src/master/weights.cpp`): set
    /// each role's weight, replacing the stored entry of that role or appending one.
    UpdateWeights(Vec<WeightInfo>),
}

/// Why an operation does not apply (C++ returns these as `Error`s, and the operation's
/// future becomes `false`).
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum OperationError {
    #[error("SlaveInfo is missing the 'id' field")]
    MissingId,
    #[error("Agent already admitted")]
    AlreadyAdmitted,
    #[error("Agent not yet admitted")]
    NotAdmitted,
    #[error("Failed to find agent {0}")]
    NotFound(String),
    #[error("Agent {0} already marked as gone")]
    AlreadyGone(String),
    #[error("Failed to convert the agent's resources: {0}")]
    Resources(#[from] ResourcesError),
}

/// The ids of the admitted agents, kept alongside a registry while a batch is applied so
/// that membership tests are not linear scans (C++'s `slaveIDs` accumulator).
pub type Admitted = HashSet<SlaveId>;

/// The admitted ids of `registry`.
pub fn admitted(registry: &Registry) -> Admitted {
    slaves(registry).iter().filter_map(|slave| slave.info.id.clone()).collect()
}

fn slaves(registry: &Registry) -> &[registry::Slave] {
    registry.slaves.as_ref().map_or(&[], |s| s.slaves.as_slice())
}

fn slaves_mut(registry: &mut Registry) -> &mut Vec<registry::Slave> {
    &mut registry.slaves.get_or_insert_with(Default::default).slaves
}

fn unreachable_mut(registry: &mut Registry) -> &mut Vec<registry::UnreachableSlave> {
    &mut registry.unreachable.get_or_insert_with(Default::default).slaves
}

fn gone_mut(registry: &mut Registry) -> &mut Vec<registry::GoneSlave> {
    &mut registry.gone.get_or_insert_with(Default::default).slaves
}

fn id_of(info: &SlaveInfo) -> Result<&SlaveId, OperationError> {
    info.id.as_ref().ok_or(OperationError::MissingId)
}

/// `info` with its resources in the pre-refinement format, so that older masters can read
/// the registry (C++ `downgradeResources` before every write of a `SlaveInfo`).
fn downgraded(info: &SlaveInfo) -> Result<SlaveInfo, OperationError> {
    let mut info = info.clone();
    downgrade_resources(&mut info.resources)?;
    Ok(info)
}

impl Operation {
    /// Applies the operation to `registry`, keeping `admitted` in step with its admitted
    /// agents: `Ok(true)` if it changed the registry, `Ok(false)` if there was nothing to
    /// change, an error (and no change) if it does not apply.
    pub fn perform(&self, registry: &mut Registry, admitted: &mut Admitted) -> Result<bool, OperationError> {
        match self {
            Operation::AdmitSlave(info) => {
                let id = id_of(info)?;
                if admitted.contains(id) {
                    return Err(OperationError::AlreadyAdmitted);
                }
                let info = downgraded(info)?;
                admitted.insert(id.clone());
                slaves_mut(registry).push(registry::Slave { info, ..Default::default() });
                Ok(true)
            }
            Operation::UpdateSlave(info) => {
                let id = id_of(info)?;
                if !admitted.contains(id) {
                    return Err(OperationError::NotAdmitted);
                }
                let slave = slaves_mut(registry)
                    .iter_mut()
                    .find(|slave| slave.info.id.as_ref() == Some(id))
                    .ok_or_else(|| OperationError::NotFound(id.value.clone()))?;
                // The registry holds the pre-refinement format; compare in the format the
                // master uses.
                let mut previous = slave.info.clone();
                upgrade_resources(&mut previous.resources)?;
                if previous == *info {
                    return Ok(false);
                }
                slave.info = downgraded(info)?;
                Ok(true)
            }
            Operation::MarkSlaveUnreachable { info, unreachable_time } => {
                let id = id_of(info)?;
                if !admitted.contains(id) {
                    return Err(OperationError::NotAdmitted);
                }
                let slaves = slaves_mut(registry);
                let index = slaves
                    .iter()
                    .position(|slave| slave.info.id.as_ref() == Some(id))
                    .ok_or_else(|| OperationError::NotFound(id.value.clone()))?;
                let slave = slaves.remove(index);
                admitted.remove(id);
                unreachable_mut(registry).push(registry::UnreachableSlave {
                    id: id.clone(),
                    timestamp: *unreachable_time,
                    drain_info: slave.drain_info,
                    deactivated: Some(slave.deactivated()),
                });
                Ok(true)
            }
            Operation::MarkSlaveReachable(info) => {
                let id = id_of(info)?;
                if admitted.contains(id) {
                    return Ok(false);
                }
                let info = downgraded(info)?;
                let mut reachable = registry::Slave { info, ..Default::default() };
                let unreachable = unreachable_mut(registry);
                match unreachable.iter().position(|slave| slave.id == *id) {
                    Some(index) => {
                        let slave = unreachable.remove(index);
                        reachable.drain_info = slave.drain_info;
                        reachable.deactivated = Some(slave.deactivated());
                    }
                    None => tracing::warn!(agent = %id.value, "allowing UNKNOWN agent to reregister"),
                }
                admitted.insert(id.clone());
                slaves_mut(registry).push(reachable);
                Ok(true)
            }
            Operation::RemoveSlave(info) => {
                let id = id_of(info)?;
                let slaves = slaves_mut(registry);
                let index = slaves
                    .iter()
                    .position(|slave| slave.info.id.as_ref() == Some(id))
                    .ok_or(OperationError::NotAdmitted)?;
                slaves.remove(index);
                admitted.remove(id);
                Ok(true)
            }
            Operation::MarkSlaveGone { id, gone_time } => {
                if registry.gone.as_ref().is_some_and(|gone| gone.slaves.iter().any(|slave| slave.id == *id)) {
                    return Err(OperationError::AlreadyGone(id.value.clone()));
                }
                let mut found = false;
                if admitted.remove(id) {
                    let slaves = slaves_mut(registry);
                    if let Some(index) = slaves.iter().position(|slave| slave.info.id.as_ref() == Some(id)) {
                        slaves.remove(index);
                    }
                    found = true;
                } else {
                    let unreachable = unreachable_mut(registry);
                    if let Some(index) = unreachable.iter().position(|slave| slave.id == *id) {
                        unreachable.remove(index);
                        found = true;
                    }
                }
                if !found {
                    return Err(OperationError::NotFound(id.value.clone()));
                }
                gone_mut(registry).push(registry::GoneSlave { id: id.clone(), timestamp: *gone_time });
                Ok(true)
            }
            Operation::Prune { unreachable, gone } => {
                let mut mutated = false;
                if let Some(list) = registry.unreachable.as_mut() {
                    let before = list.slaves.len();
                    list.slaves.retain(|slave| !unreachable.contains(&slave.id));
                    mutated |= list.slaves.len() != before;
                }
                if let Some(list) = registry.gone.as_mut() {
                    let before = list.slaves.len();
                    list.slaves.retain(|slave| !gone.contains(&slave.id));
                    mutated |= list.slaves.len() != before;
                }
                Ok(mutated)
            }
            Operation::UpdateWeights(weights) => {
                let mut mutated = false;
                for weight in weights {
                    match registry.weights.iter_mut().find(|stored| stored.info.role == weight.role) {
                        Some(stored) => {
                            if stored.info.weight != weight.weight {
                                stored.info = weight.clone();
                                mutated = true;
                            }
                        }
                        None => {
                            registry.weights.push(registry::Weight { info: weight.clone() });
                            mutated = true;
                        }
                    }
                }
                Ok(mutated)
            }
        }
    }
}
