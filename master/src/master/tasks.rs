//! The master's task flows: ACCEPT (LAUNCH) and its legacy `LaunchTasksMessage`, status updates from agents, acknowledgements, KILL and reconciliation; mirrors `Master::accept`/`_accept`/`addTask`/`statusUpdate`/`forward`/`updateTask`/`removeTask`/`acknowledge`/`kill`/`reconcile` in `src/master/master.cpp`, `validation::offer` and `validation::task` in `src/master/validation.cpp`, and `createStatusUpdate`/`isTerminalState` in `src/common/protobuf_utils.cpp`.
//!
//! Tasks live in their framework's `tasks` map; an agent's tasks are those whose `slave_id`
//! names it. Not done yet: LAUNCH_GROUP and the resource operations (RESERVE, UNRESERVE,
//! CREATE, DESTROY, GROW/SHRINK_VOLUME, CREATE/DESTROY_DISK), which are logged and dropped;
//! authorization; executor consistency with an existing executor of the same id; check,
//! health check, kill policy, command and container validation; resource limits; shared
//! resources; tasks of removed or unreachable agents; kills re-sent on reregistration.

use libprocess::{Context, UPID};
use mesos::internal::{
    KillTaskMessage, LaunchTasksMessage, ReconcileTasksMessage, RunTaskGroupMessage, RunTaskMessage, StatusUpdate,
    StatusUpdateAcknowledgementMessage, StatusUpdateMessage,
};
use mesos::proto::offer::operation::{LaunchGroup, Type as OperationType};
use mesos::proto::resource::AllocationInfo;
use mesos::proto::scheduler::call::{reconcile, Accept, Acknowledge, Decline, Kill, Reconcile};
use mesos::proto::task_status::{Reason, Source};
use mesos::proto::{
    ExecutorId, ExecutorInfo, FrameworkId, OfferId, Resource, SlaveId, Task, TaskGroupInfo, TaskId, TaskInfo,
    TaskState, TaskStatus, TimeInfo,
};
use mesos::resources::Resources;
use mesos::state::Uuid;

use super::Master;
use crate::framework;

/// Why a task of a LAUNCH is refused (C++ `validation::task::validate`); the text is C++'s
/// and goes to the framework as the `TASK_ERROR` message.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum TaskError {
    #[error("{0}")]
    InvalidId(String),
    #[error("Task has duplicate ID: {0}")]
    DuplicateId(String),
    #[error("Task uses invalid agent {task} while agent {agent} is expected")]
    WrongAgent { task: String, agent: String },
    #[error("Task uses no resources")]
    NoResources,
    #[error("Task uses invalid resources: {0}")]
    InvalidResources(String),
    #[error("Task mixes revocable and non-revocable resources: {0}")]
    MixedRevocable(String),
    #[error("Task should have at least one (but not both) of CommandInfo or ExecutorInfo present")]
    CommandXorExecutor,
    #[error("'ExecutorInfo.framework_id' must be set")]
    ExecutorWithoutFramework,
    #[error("ExecutorInfo has an invalid FrameworkID (Actual: {actual} vs Expected: {expected})")]
    ExecutorFramework { actual: String, expected: String },
    #[error("'ExecutorInfo.type' must be 'CUSTOM'")]
    ExecutorNotCustom,
    #[error("'ExecutorInfo.command' must be set")]
    ExecutorWithoutCommand,
    #[error("Total resources {total} required by task and its executor is more than available {available}")]
    TooMuch { total: String, available: String },
    #[error("Task '{task}' is invalid: {error}")]
    InGroup { task: String, error: Box<TaskError> },
    #[error("'TaskInfo.executor' must be set")]
    GroupTaskWithoutExecutor,
    #[error("Docker ContainerInfo is not supported on the task")]
    DockerTask,
    #[error("Resource limits may only be set for tasks within a task group when the 'share_cgroups' field is set to 'false'.")]
    GroupLimits,
    #[error("'ExecutorInfo.type' must be set")]
    ExecutorTypeUnset,
    #[error("Unknown executor type")]
    ExecutorTypeUnknown,
    #[error("Docker ContainerInfo is not supported on the executor")]
    DockerExecutor,
    #[error("The `ExecutorInfo` of task '{task}' is different from executor '{executor}'")]
    DifferentExecutor { task: String, executor: String },
    #[error("Executor '{executor}' uses less CPUs ({cpus}) than the minimum required (0.01)")]
    ExecutorCpus { executor: String, cpus: String },
    #[error("Executor '{executor}' uses less memory ({mem}) than the minimum required (32MB)")]
    ExecutorMem { executor: String, mem: String },
    #[error("Executor '{0}' uses no disk")]
    ExecutorDisk(String),
    #[error("Total resources {total} required by task group and its executor are more than available {available}")]
    GroupTooMuch { total: String, available: String },
}

/// Why ACCEPT's offer ids are refused (C++ `validation::offer::validate`).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum OfferError {
    #[error("No offers specified")]
    NoOffers,
    #[error("Duplicate offer {0} in offer list")]
    Duplicate(String),
    #[error("Offer {0} is no longer valid")]
    NoLongerValid(String),
    #[error("Offer {offer} has invalid framework {actual} while framework {expected} is expected")]
    OtherFramework { offer: String, actual: String, expected: String },
    #[error("Aggregated offers must be allocated to the same role. Offer {offer} uses role '{role} but another is using role '{other}")]
    MixedRoles { offer: String, role: String, other: String },
    #[error("Aggregated offers must belong to one single agent. Offer {offer} uses agent {agent} and agent {other}")]
    MixedAgents { offer: String, agent: String, other: String },
}

/// C++ `protobuf::isTerminalState(TaskState)`.
pub fn is_terminal(state: TaskState) -> bool {
    mesos::protobuf_utils::is_terminal_state(state)
}

/// What C++ `protobuf::createStatusUpdate` fills in for a master-generated update: no uuid,
/// so the driver never acknowledges it.
struct MasterUpdate {
    framework_id: FrameworkId,
    slave_id: Option<SlaveId>,
    task_id: TaskId,
    state: TaskState,
    message: String,
    reason: Reason,
    executor_id: Option<ExecutorId>,
    unreachable_time: Option<TimeInfo>,
}

impl MasterUpdate {
    fn build(self, now_secs: f64) -> StatusUpdate {
        let mut status = TaskStatus {
            task_id: self.task_id,
            slave_id: self.slave_id.clone(),
            message: Some(self.message),
            timestamp: Some(now_secs),
            unreachable_time: self.unreachable_time,
            ..Default::default()
        };
        status.set_state(self.state);
        status.set_source(Source::Master);
        status.set_reason(self.reason);
        StatusUpdate {
            framework_id: self.framework_id,
            executor_id: self.executor_id,
            slave_id: self.slave_id,
            status,
            timestamp: now_secs,
            uuid: None,
            latest_state: None,
        }
    }
}

/// C++ `common::validation::validateTaskID`.
fn validate_task_id(id: &TaskId) -> Result<(), TaskError> {
    let value = &id.value;
    if value.is_empty() {
        return Err(TaskError::InvalidId("ID must not be empty".into()));
    }
    if value.len() > 255 {
        return Err(TaskError::InvalidId("ID must not be greater than 255 characters".into()));
    }
    if value == "." || value == ".." {
        return Err(TaskError::InvalidId("'.' and '..' are reserved".into()));
    }
    if value.chars().any(|c| c.is_control() || c == '/' || c == '\\') {
        return Err(TaskError::InvalidId(format!("'{value}' contains invalid characters")));
    }
    Ok(())
}

/// The text form of a resource set in error messages (C++ `stringify(Resources)`).
fn describe(resources: &Resources) -> String {
    resources.to_string()
}

/// C++ `validation::task::validate` (the parts listed in the module comment): `known` says
/// whether the framework already has a task with this id, `executor_known` whether the
/// agent already runs the task's executor.
pub fn validate_task(
    task: &TaskInfo,
    framework_id: &FrameworkId,
    known: bool,
    slave_id: &SlaveId,
    executor_known: bool,
    available: &Resources,
) -> Result<(), TaskError> {
    validate_task_id(&task.task_id)?;
    if known {
        return Err(TaskError::DuplicateId(task.task_id.value.clone()));
    }
    if task.slave_id != *slave_id {
        return Err(TaskError::WrongAgent { task: task.slave_id.value.clone(), agent: slave_id.value.clone() });
    }
    if task.resources.is_empty() {
        return Err(TaskError::NoResources);
    }
    Resources::validate_all(&task.resources).map_err(|e| TaskError::InvalidResources(e.to_string()))?;
    let resources: Resources = task.resources.iter().cloned().collect();
    if !resources.revocable().is_empty() && resources.revocable() != resources {
        return Err(TaskError::MixedRevocable(describe(&resources)));
    }
    if task.executor.is_some() == task.command.is_some() {
        return Err(TaskError::CommandXorExecutor);
    }
    let mut total = resources;
    if let Some(executor) = &task.executor {
        let Some(id) = &executor.framework_id else { return Err(TaskError::ExecutorWithoutFramework) };
        if id != framework_id {
            return Err(TaskError::ExecutorFramework {
                actual: id.value.clone(),
                expected: framework_id.value.clone(),
            });
        }
        if executor.r#type.is_some() && executor.r#type() != mesos::proto::executor_info::Type::Custom {
            return Err(TaskError::ExecutorNotCustom);
        }
        if executor.command.is_none() {
            return Err(TaskError::ExecutorWithoutCommand);
        }
        Resources::validate_all(&executor.resources).map_err(|e| TaskError::InvalidResources(e.to_string()))?;
        if !executor_known {
            total += executor.resources.iter().cloned().collect::<Resources>();
        }
    }
    if !available.contains(&total) {
        return Err(TaskError::TooMuch { total: describe(&total), available: describe(available) });
    }
    Ok(())
}

/// C++ `validation::task::group::validate`: every task (with `known` telling which ids the
/// framework already uses), then the group's executor (a `DEFAULT` or `CUSTOM` one with at
/// least `MIN_CPUS`, `MIN_MEM` and some disk, the one every task names), then whether the
/// tasks and (if `executor_known` is false) the executor fit in `available`.
pub fn validate_task_group(
    group: &TaskGroupInfo,
    executor: &ExecutorInfo,
    framework_id: &FrameworkId,
    known: impl Fn(&TaskId) -> bool,
    slave_id: &SlaveId,
    executor_known: bool,
    available: &Resources,
) -> Result<(), TaskError> {
    let docker = |container: &Option<mesos::proto::ContainerInfo>| {
        container.as_ref().is_some_and(|c| c.r#type() == mesos::proto::container_info::Type::Docker)
    };
    for task in &group.tasks {
        let checked = (|| {
            validate_task_id(&task.task_id)?;
            if known(&task.task_id) {
                return Err(TaskError::DuplicateId(task.task_id.value.clone()));
            }
            if task.slave_id != *slave_id {
                return Err(TaskError::WrongAgent { task: task.slave_id.value.clone(), agent: slave_id.value.clone() });
            }
            if task.resources.is_empty() {
                return Err(TaskError::NoResources);
            }
            Resources::validate_all(&task.resources).map_err(|e| TaskError::InvalidResources(e.to_string()))?;
            let resources: Resources = task.resources.iter().cloned().collect();
            if !resources.revocable().is_empty() && resources.revocable() != resources {
                return Err(TaskError::MixedRevocable(describe(&resources)));
            }
            if task.executor.is_none() {
                return Err(TaskError::GroupTaskWithoutExecutor);
            }
            if docker(&task.container) {
                return Err(TaskError::DockerTask);
            }
            let shares_cgroups = task
                .container
                .as_ref()
                .and_then(|c| c.linux_info.as_ref())
                .is_none_or(|l| l.share_cgroups.unwrap_or(true));
            if !task.limits.is_empty() && shares_cgroups {
                return Err(TaskError::GroupLimits);
            }
            Ok(())
        })();
        checked.map_err(|error| TaskError::InGroup { task: task.task_id.value.clone(), error: Box::new(error) })?;
    }
    let name = executor.executor_id.value.clone();
    let Some(id) = &executor.framework_id else { return Err(TaskError::ExecutorWithoutFramework) };
    if id != framework_id {
        return Err(TaskError::ExecutorFramework { actual: id.value.clone(), expected: framework_id.value.clone() });
    }
    Resources::validate_all(&executor.resources).map_err(|e| TaskError::InvalidResources(e.to_string()))?;
    match executor.r#type {
        None => return Err(TaskError::ExecutorTypeUnset),
        Some(_) if executor.r#type() == mesos::proto::executor_info::Type::Unknown => {
            return Err(TaskError::ExecutorTypeUnknown)
        }
        Some(_) => {}
    }
    if docker(&executor.container) {
        return Err(TaskError::DockerExecutor);
    }
    if let Some(task) = group.tasks.iter().find(|t| t.executor.as_ref().is_some_and(|e| e != executor)) {
        return Err(TaskError::DifferentExecutor { task: task.task_id.value.clone(), executor: name });
    }
    let executor_resources: Resources = executor.resources.iter().cloned().collect();
    match executor_resources.cpus() {
        Some(cpus) if cpus >= crate::constants::MIN_CPUS => {}
        cpus => {
            let cpus = cpus.map_or_else(|| "None".to_owned(), |c| c.to_string());
            return Err(TaskError::ExecutorCpus { executor: name, cpus });
        }
    }
    let mem = executor_resources.get_scalar("mem").map(|s| s.value);
    match mem {
        Some(mb) if mb >= 32.0 => {}
        mem => {
            let mem = mem.map_or_else(|| "None".to_owned(), |mb| mesos::bytes::Bytes::megabytes(mb as u64).to_string());
            return Err(TaskError::ExecutorMem { executor: name, mem });
        }
    }
    if executor_resources.disk().is_none() {
        return Err(TaskError::ExecutorDisk(name));
    }
    let mut total: Resources = group.tasks.iter().flat_map(|t| t.resources.iter().cloned()).collect();
    if !executor_known {
        total += executor_resources;
    }
    if !available.contains(&total) {
        return Err(TaskError::GroupTooMuch { total: describe(&total), available: describe(available) });
    }
    Ok(())
}

/// C++ `protobuf::injectAllocationInfo`: resources without an allocation get the offer's.
fn inject_allocation(resources: &mut [Resource], allocation: &AllocationInfo) {
    for resource in resources {
        if resource.allocation_info.is_none() {
            resource.allocation_info = Some(allocation.clone());
        }
    }
}

/// The task flows.
impl Master {
    /// Seconds since the epoch on the master's clock, as status update timestamps carry.
    /// C++ `validation::offer::validate`, in C++'s order.
    fn validate_offers(&self, ids: &[OfferId], framework_id: &FrameworkId) -> Result<(), OfferError> {
        if ids.is_empty() {
            return Err(OfferError::NoOffers);
        }
        let mut seen = std::collections::HashSet::new();
        for id in ids {
            if !seen.insert(id) {
                return Err(OfferError::Duplicate(id.value.clone()));
            }
        }
        let mut offers = Vec::new();
        for id in ids {
            let offer = self.offers.get(id).ok_or_else(|| OfferError::NoLongerValid(id.value.clone()))?;
            offers.push(offer);
        }
        for offer in &offers {
            if offer.framework_id != *framework_id {
                return Err(OfferError::OtherFramework {
                    offer: offer.id.value.clone(),
                    actual: offer.framework_id.value.clone(),
                    expected: framework_id.value.clone(),
                });
            }
        }
        let role =
            |o: &mesos::proto::Offer| o.allocation_info.as_ref().map(|a| a.role().to_owned()).unwrap_or_default();
        if let Some(first) = offers.first() {
            for offer in &offers {
                if role(offer) != role(first) {
                    return Err(OfferError::MixedRoles {
                        offer: offer.id.value.clone(),
                        role: role(offer),
                        other: role(first),
                    });
                }
            }
            for offer in &offers {
                if offer.slave_id != first.slave_id {
                    return Err(OfferError::MixedAgents {
                        offer: offer.id.value.clone(),
                        agent: offer.slave_id.value.clone(),
                        other: first.slave_id.value.clone(),
                    });
                }
            }
        }
        Ok(())
    }

    /// ACCEPT (C++ `Master::accept`, then `_accept` at once as there is no authorization).
    pub(super) fn accept(&mut self, ctx: &mut Context<Self>, framework_id: &FrameworkId, mut accept: Accept) {
        // C++ `Master::accept`: `ExecutorInfo.framework_id` came into the API later, so a
        // launched task's executor without it gets the framework's (the v0 driver and
        // C++'s example frameworks leave it out).
        for operation in &mut accept.operations {
            if operation.r#type() != OperationType::Launch {
                continue;
            }
            for task in operation.launch.iter_mut().flat_map(|launch| &mut launch.task_infos) {
                if let Some(executor) = task.executor.as_mut().filter(|executor| executor.framework_id.is_none()) {
                    executor.framework_id = Some(framework_id.clone());
                }
            }
        }
        for operation in &accept.operations {
            if operation.r#type() == OperationType::Launch {
                let launches = operation.launch.as_ref().is_some_and(|l| !l.task_infos.is_empty());
                self.metrics.increment(if launches { "messages_launch_tasks" } else { "messages_decline_offers" });
            }
        }
        let Some(framework) = self.frameworks.get(framework_id) else { return };
        let partition_aware = framework::partition_aware(&framework.info);
        if let Err(error) = self.validate_offers(&accept.offer_ids, framework_id) {
            for id in &accept.offer_ids {
                if self.offers.contains_key(id) {
                    self.remove_offer(ctx, id, false, None);
                } else {
                    tracing::warn!(framework = %framework_id.value, offer = %id.value, "ignoring accept of offer: no longer valid");
                }
            }
            tracing::warn!(framework = %framework_id.value, %error, "ACCEPT call used invalid offers");
            let state = if partition_aware { TaskState::TaskDropped } else { TaskState::TaskLost };
            for operation in &accept.operations {
                let tasks: Vec<&TaskInfo> = match operation.r#type() {
                    OperationType::Launch => operation.launch.iter().flat_map(|l| &l.task_infos).collect(),
                    OperationType::LaunchGroup => {
                        operation.launch_group.iter().flat_map(|l| &l.task_group.tasks).collect()
                    }
                    other => {
                        tracing::warn!(framework = %framework_id.value, operation = ?other, "dropping operation attempted with invalid offers: {error}");
                        continue;
                    }
                };
                for task in tasks {
                    let update = MasterUpdate {
                        framework_id: framework_id.clone(),
                        slave_id: Some(task.slave_id.clone()),
                        task_id: task.task_id.clone(),
                        state,
                        message: format!("Task launched with invalid offers: {error}"),
                        reason: Reason::InvalidOffers,
                        executor_id: None,
                        unreachable_time: None,
                    };
                    self.forward(ctx, update.build(super::now_secs(ctx)), &UPID::empty(), framework_id);
                }
            }
            return;
        }

        // Validated: every offer exists, and all are on one agent with one role.
        let Some(first) = accept.offer_ids.first().and_then(|id| self.offers.get(id)) else { return };
        let slave_id = first.slave_id.clone();
        let allocation = first.allocation_info.clone().unwrap_or_default();
        let mut offered = Resources::new();
        for id in &accept.offer_ids {
            if let Some(offer) = self.take_offer(id) {
                offered += offer.resources.iter().cloned().collect::<Resources>();
            }
        }
        let filters = accept.filters.unwrap_or_default();
        let slave = self.slaves.registered.get(&slave_id);
        if !slave.is_some_and(|s| s.connected) {
            // C++ `_accept`: the agent is gone or disconnected (offers are rescinded when
            // that happens, so this is defensive).
            let (reason, message) = match slave {
                None => (Reason::SlaveRemoved, "Agent removed"),
                Some(_) => (Reason::SlaveDisconnected, "Agent disconnected"),
            };
            let state = if partition_aware { TaskState::TaskDropped } else { TaskState::TaskLost };
            let tasks: Vec<TaskInfo> =
                accept.operations.iter().flat_map(|o| o.launch.iter().flat_map(|l| l.task_infos.clone())).collect();
            for task in tasks {
                let update = MasterUpdate {
                    framework_id: framework_id.clone(),
                    slave_id: Some(task.slave_id.clone()),
                    task_id: task.task_id.clone(),
                    state,
                    message: message.into(),
                    reason,
                    executor_id: None,
                    unreachable_time: None,
                };
                self.forward(ctx, update.build(super::now_secs(ctx)), &UPID::empty(), framework_id);
            }
            self.allocator.recover_resources(framework_id.clone(), slave_id, offered, None, false);
            return;
        }

        let mut remaining = offered.clone();
        let mut launched = Resources::new();
        for mut operation in accept.operations {
            match operation.r#type() {
                OperationType::Launch => {
                    let tasks = operation.launch.take().map(|l| l.task_infos).unwrap_or_default();
                    for mut task in tasks {
                        inject_allocation(&mut task.resources, &allocation);
                        if let Some(executor) = &mut task.executor {
                            inject_allocation(&mut executor.resources, &allocation);
                        }
                        if let Some(consumed) = self.launch_task(ctx, framework_id, &slave_id, task, &remaining) {
                            remaining -= &consumed;
                            launched += consumed;
                        }
                    }
                }
                OperationType::LaunchGroup => {
                    let Some(mut group) = operation.launch_group.take() else { continue };
                    inject_allocation(&mut group.executor.resources, &allocation);
                    for task in &mut group.task_group.tasks {
                        // C++ `Master::accept`: each task names the group's executor, so that
                        // endpoints can find it.
                        if task.executor.is_none() {
                            task.executor = Some(group.executor.clone());
                        }
                        inject_allocation(&mut task.resources, &allocation);
                        if let Some(executor) = &mut task.executor {
                            inject_allocation(&mut executor.resources, &allocation);
                        }
                    }
                    if let Some(consumed) = self.launch_group(ctx, framework_id, &slave_id, group, &remaining) {
                        remaining -= &consumed;
                        launched += consumed;
                    }
                }
                OperationType::Unknown => tracing::warn!(framework = %framework_id.value, "ignoring unknown operation"),
                other => {
                    tracing::warn!(framework = %framework_id.value, operation = ?other, "dropping offer operation: not supported yet")
                }
            }
        }
        if !remaining.is_empty() {
            self.allocator.recover_resources(framework_id.clone(), slave_id.clone(), remaining, Some(filters), false);
        }
        if !launched.is_empty() {
            self.allocator.transition_offered_to_allocated(slave_id, launched);
        }
    }

    /// One task of a LAUNCH (C++ `_accept`, `case LAUNCH`): validated, added, sent to the
    /// agent. Returns what it consumed of `available`, or `None` after a `TASK_ERROR`.
    fn launch_task(
        &mut self,
        ctx: &mut Context<Self>,
        framework_id: &FrameworkId,
        slave_id: &SlaveId,
        task: TaskInfo,
        available: &Resources,
    ) -> Option<Resources> {
        let framework = self.frameworks.get(framework_id)?;
        let slave = self.slaves.registered.get(slave_id)?;
        let executor_known =
            task.executor.as_ref().is_some_and(|executor| slave.has_executor(framework_id, &executor.executor_id));
        let known = framework.tasks.contains_key(&task.task_id);
        if let Err(error) = validate_task(&task, framework_id, known, slave_id, executor_known, available) {
            tracing::warn!(framework = %framework_id.value, task = %task.task_id.value, %error, "refusing task");
            let update = MasterUpdate {
                framework_id: framework_id.clone(),
                slave_id: Some(task.slave_id.clone()),
                task_id: task.task_id.clone(),
                state: TaskState::TaskError,
                message: error.to_string(),
                reason: Reason::TaskInvalid,
                executor_id: None,
                unreachable_time: None,
            };
            self.forward(ctx, update.build(super::now_secs(ctx)), &UPID::empty(), framework_id);
            return None;
        }
        let mut consumed: Resources = task.resources.iter().cloned().collect();
        let launch_executor = match &task.executor {
            Some(executor) if !executor_known => {
                consumed += executor.resources.iter().cloned().collect::<Resources>();
                self.add_executor(slave_id, framework_id, executor.clone());
                true
            }
            Some(_) => false,
            None => true,
        };
        let record = task_record(&task, framework_id, slave_id, task.executor.as_ref().map(|e| e.executor_id.clone()));
        tracing::info!(framework = %framework_id.value, task = %task.task_id.value, agent = %slave_id.value, "adding task");
        self.add_task(record);
        let framework = self.frameworks.get(framework_id)?;
        let message = RunTaskMessage {
            framework_id: None,
            framework: framework.info.clone(),
            task,
            resource_version_uuids: Vec::new(),
            pid: Some(framework.pid_or_empty().to_string()),
            launch_executor: Some(launch_executor),
        };
        let slave = self.slaves.registered.get(slave_id)?;
        ctx.send_protobuf(&slave.pid, &message);
        Some(consumed)
    }

    /// One LAUNCH_GROUP (C++ `_accept`, `case LAUNCH_GROUP`): validated as a whole (every
    /// task gets `TASK_ERROR` with `REASON_TASK_GROUP_INVALID` otherwise), added, sent to the
    /// agent in one `RunTaskGroupMessage`. Returns what it consumed of `available`.
    fn launch_group(
        &mut self,
        ctx: &mut Context<Self>,
        framework_id: &FrameworkId,
        slave_id: &SlaveId,
        launch: LaunchGroup,
        available: &Resources,
    ) -> Option<Resources> {
        let LaunchGroup { executor, task_group } = launch;
        let framework = self.frameworks.get(framework_id)?;
        let slave = self.slaves.registered.get(slave_id)?;
        let executor_known = slave.has_executor(framework_id, &executor.executor_id);
        let known = |id: &TaskId| framework.tasks.contains_key(id);
        let checked =
            validate_task_group(&task_group, &executor, framework_id, known, slave_id, executor_known, available);
        if let Err(error) = checked {
            tracing::warn!(framework = %framework_id.value, %error, "refusing task group");
            for task in &task_group.tasks {
                let update = MasterUpdate {
                    framework_id: framework_id.clone(),
                    slave_id: Some(task.slave_id.clone()),
                    task_id: task.task_id.clone(),
                    state: TaskState::TaskError,
                    message: error.to_string(),
                    reason: Reason::TaskGroupInvalid,
                    executor_id: None,
                    unreachable_time: None,
                };
                self.forward(ctx, update.build(super::now_secs(ctx)), &UPID::empty(), framework_id);
            }
            return None;
        }
        let mut consumed = Resources::new();
        if !executor_known {
            consumed += executor.resources.iter().cloned().collect::<Resources>();
            self.add_executor(slave_id, framework_id, executor.clone());
        }
        for task in &task_group.tasks {
            consumed += task.resources.iter().cloned().collect::<Resources>();
            self.add_task(task_record(task, framework_id, slave_id, Some(executor.executor_id.clone())));
        }
        let ids: Vec<&str> = task_group.tasks.iter().map(|t| t.task_id.value.as_str()).collect();
        tracing::info!(framework = %framework_id.value, agent = %slave_id.value, tasks = ?ids, executor = %executor.executor_id.value, new_executor = !executor_known, "launching task group");
        let framework = self.frameworks.get(framework_id)?;
        let message = RunTaskGroupMessage {
            framework: framework.info.clone(),
            executor,
            task_group,
            resource_version_uuids: Vec::new(),
            launch_executor: Some(!executor_known),
        };
        let slave = self.slaves.registered.get(slave_id)?;
        ctx.send_protobuf(&slave.pid, &message);
        Some(consumed)
    }

    /// `LaunchTasksMessage` (C++ `Master::launchTasks`): ACCEPT with one LAUNCH, or DECLINE
    /// when it has no tasks.
    pub(super) fn launch_tasks_message(&mut self, ctx: &mut Context<Self>, from: &UPID, message: LaunchTasksMessage) {
        let id = message.framework_id;
        if !self.sent_by_framework("mesos.internal.LaunchTasksMessage", &id, from) {
            return;
        }
        if message.tasks.is_empty() {
            let decline = Decline { offer_ids: message.offer_ids, filters: Some(message.filters) };
            return self.decline(ctx, &id, decline);
        }
        let operation = mesos::proto::offer::Operation {
            r#type: Some(OperationType::Launch as i32),
            launch: Some(mesos::proto::offer::operation::Launch { task_infos: message.tasks }),
            ..Default::default()
        };
        let accept =
            Accept { offer_ids: message.offer_ids, operations: vec![operation], filters: Some(message.filters) };
        self.accept(ctx, &id, accept);
    }

    /// C++ `Master::forward`: records what was sent for acknowledgeable updates and sends
    /// `StatusUpdateMessage{update, pid = acknowledgee}` to the framework.
    pub(super) fn forward(
        &mut self,
        ctx: &mut Context<Self>,
        update: StatusUpdate,
        acknowledgee: &UPID,
        framework_id: &FrameworkId,
    ) {
        self.mark_forwarded(framework_id, &update);
        self.send_update(ctx, update, acknowledgee, framework_id);
    }

    /// The recording half of [`Master::forward`], for a task whose update is sent.
    fn mark_forwarded(&mut self, framework_id: &FrameworkId, update: &StatusUpdate) {
        let task = self.frameworks.get_mut(framework_id).and_then(|f| f.tasks.get_mut(&update.status.task_id));
        if let (Some(task), Some(_)) = (task, &update.uuid) {
            task.update(|task| note_forwarded(task, update));
        }
    }

    /// The sending half of [`Master::forward`].
    fn send_update(
        &mut self,
        ctx: &mut Context<Self>,
        update: StatusUpdate,
        acknowledgee: &UPID,
        framework_id: &FrameworkId,
    ) {
        let Some(framework) = self.frameworks.get_mut(framework_id) else { return };
        tracing::info!(framework = %framework_id.value, task = %update.status.task_id.value, state = ?update.status.state(), "sending status update");
        let message = StatusUpdateMessage { update, pid: Some(acknowledgee.to_string()) };
        framework.send(ctx, &message);
    }

    /// `StatusUpdateMessage` from an agent (C++ `Master::statusUpdate`). As in C++, the
    /// sender is not compared with the agent's pid: the update names its agent.
    pub(super) fn status_update(&mut self, ctx: &mut Context<Self>, from: &UPID, message: StatusUpdateMessage) {
        if !self.accepting("mesos.internal.StatusUpdateMessage", from) {
            return;
        }
        let update = message.update;
        // C++ CHECKs a non-empty pid; bad input is dropped here.
        let pid = match message.pid.as_deref().map(str::parse::<UPID>) {
            Some(Ok(pid)) if pid != UPID::empty() => pid,
            _ => {
                tracing::warn!(%from, "ignoring status update without a valid 'pid'");
                self.metrics.increment("invalid_status_updates");
                return;
            }
        };
        let Some(slave_id) = update.slave_id.clone() else {
            tracing::warn!(%from, "ignoring status update without an agent id");
            self.metrics.increment("invalid_status_updates");
            return;
        };
        if !self.slaves.registered.contains_key(&slave_id) {
            tracing::warn!(%from, agent = %slave_id.value, "ignoring status update from unknown agent");
            self.metrics.increment("invalid_status_updates");
            return;
        }
        if let Err(error) = Uuid::from_bytes(update.uuid.as_deref().unwrap_or_default()) {
            tracing::warn!(%from, agent = %slave_id.value, %error, "ignoring status update");
            self.metrics.increment("invalid_status_updates");
            return;
        }
        if update.status.uuid.is_none() {
            tracing::warn!(%from, agent = %slave_id.value, "ignoring status update without 'status.uuid'");
            self.metrics.increment("invalid_status_updates");
            return;
        }
        let framework_id = update.framework_id.clone();
        let connected = self.frameworks.get(&framework_id).is_some_and(|f| f.connected);
        // Sent now, recorded below with the rest of the update (one change of the task, so
        // its encodings are made once).
        if connected {
            self.send_update(ctx, update.clone(), &pid, &framework_id);
        } else {
            tracing::warn!(framework = %framework_id.value, agent = %slave_id.value, "received status update for an unknown or disconnected framework");
        }
        let on_agent = self
            .frameworks
            .get(&framework_id)
            .and_then(|f| f.tasks.get(&update.status.task_id))
            .is_some_and(|t| t.slave_id == slave_id);
        if !on_agent {
            if connected {
                self.mark_forwarded(&framework_id, &update);
            }
            tracing::warn!(framework = %framework_id.value, task = %update.status.task_id.value, "could not look up task for status update");
            self.metrics.increment("invalid_status_updates");
            return;
        }
        self.update_task(&framework_id, &update, connected);
        self.metrics.increment(if connected { "valid_status_updates" } else { "invalid_status_updates" });
    }

    /// C++ `Master::updateTask`: the newest state wins (`latest_state` if the agent sent
    /// one); the first move to a terminal or unreachable state frees the resources.
    /// With `forwarded`, the update was just sent to the framework, which [`Master::forward`]
    /// records on the task; it is recorded here, in the same change.
    fn update_task(&mut self, framework_id: &FrameworkId, update: &StatusUpdate, forwarded: bool) {
        let Some(record) = self.frameworks.get_mut(framework_id).and_then(|f| f.tasks.get_mut(&update.status.task_id))
        else {
            return;
        };
        let new_state = update.latest_state.and_then(|s| TaskState::try_from(s).ok()).unwrap_or(update.status.state());
        let terminal_or_unreachable = |s: TaskState| is_terminal(s) || s == TaskState::TaskUnreachable;
        let (transitioned, same_state) = record.update(|task| {
            let transitioned = !terminal_or_unreachable(task.state()) && terminal_or_unreachable(new_state);
            if !is_terminal(task.state()) {
                task.set_state(new_state);
            }
            let same_state = task.statuses.last().is_some_and(|s| s.state == update.status.state);
            if same_state {
                task.statuses.pop();
            }
            let mut status = update.status.clone();
            status.data = None;
            task.statuses.push(status);
            if forwarded {
                note_forwarded(task, update);
            }
            (transitioned, same_state)
        });
        let task = record.task();
        // C++ tells subscribers of each new state, and of every check status update.
        if !same_state || super::subscribers::is_check_update(&update.status) {
            self.operator.events.task_updated(framework_id, &update.status, task.state());
        }
        if transitioned {
            let status = &update.status;
            self.metrics.task_terminated(
                status.state(),
                status.source.map(|_| status.source()),
                status.reason.map(|_| status.reason()),
            );
            let task = task.clone();
            if let Some(framework) = self.frameworks.get_mut(framework_id) {
                framework.recover_task_resources(&task);
            }
            if let Some(slave) = self.slaves.registered.get_mut(&task.slave_id) {
                slave.release(framework_id, &task.resources);
                if is_terminal(new_state) {
                    slave.killed_tasks.remove(&(framework_id.clone(), task.task_id.clone()));
                }
            }
            let resources: Resources = task.resources.iter().cloned().collect();
            self.allocator.recover_resources(framework_id.clone(), task.slave_id, resources, None, true);
        }
    }

    /// An update the master makes for one of its tasks (C++ `createStatusUpdate` with
    /// `SOURCE_MASTER`, then `updateTask`), forwarded if `forward` and the framework is
    /// connected (C++ drops it with a log line otherwise).
    #[allow(clippy::too_many_arguments)]
    pub(super) fn master_task_update(
        &mut self,
        ctx: &mut Context<Self>,
        framework_id: &FrameworkId,
        task_id: &TaskId,
        state: TaskState,
        message: &str,
        reason: Reason,
        unreachable_time: Option<TimeInfo>,
        forward: bool,
    ) {
        let Some(framework) = self.frameworks.get(framework_id) else { return };
        let Some(task) = framework.tasks.get(task_id) else { return };
        let connected = framework.connected;
        let update = MasterUpdate {
            framework_id: framework_id.clone(),
            slave_id: Some(task.slave_id.clone()),
            task_id: task_id.clone(),
            state,
            message: message.to_owned(),
            reason,
            executor_id: task.executor_id.clone(),
            unreachable_time,
        }
        .build(super::now_secs(ctx));
        self.update_task(framework_id, &update, false);
        if !forward {
            return;
        }
        if connected {
            self.forward(ctx, update, &UPID::empty(), framework_id);
        } else {
            tracing::warn!(framework = %framework_id.value, task = %task_id.value, state = ?state, "dropping update for a disconnected framework: {message}");
        }
    }

    /// The update announcing a task of an agent that was unknown or unreachable (C++
    /// `__reregisterSlave`: `REASON_SLAVE_REREGISTERED`, the task's own state).
    pub(super) fn reregistered_task_update(&self, task: &Task, message: &str, now: f64) -> StatusUpdate {
        MasterUpdate {
            framework_id: task.framework_id.clone(),
            slave_id: Some(task.slave_id.clone()),
            task_id: task.task_id.clone(),
            state: task.state(),
            message: message.to_owned(),
            reason: Reason::SlaveReregistered,
            executor_id: task.executor_id.clone(),
            unreachable_time: None,
        }
        .build(now)
    }

    /// C++ `Master::addTask`: into the framework's and the agent's books.
    pub(super) fn add_task(&mut self, task: Task) {
        if let Some(slave) = self.slaves.registered.get_mut(&task.slave_id) {
            slave.add_task(&task);
        }
        self.operator.events.task_added(&task);
        if let Some(framework) = self.frameworks.get_mut(&task.framework_id) {
            framework.add_task(task);
        }
    }

    /// C++ `Master::addExecutor`.
    pub(super) fn add_executor(&mut self, slave_id: &SlaveId, framework_id: &FrameworkId, executor: ExecutorInfo) {
        if let Some(framework) = self.frameworks.get_mut(framework_id) {
            framework.add_executor(slave_id, executor.clone());
        }
        if let Some(slave) = self.slaves.registered.get_mut(slave_id) {
            slave.add_executor(framework_id, executor);
        }
    }

    /// C++ `Master::removeExecutor`: its resources go back to the allocator.
    pub(super) fn remove_executor(&mut self, slave_id: &SlaveId, framework_id: &FrameworkId, executor_id: &ExecutorId) {
        let Some(executor) =
            self.slaves.registered.get_mut(slave_id).and_then(|s| s.remove_executor(framework_id, executor_id))
        else {
            return;
        };
        tracing::info!(framework = %framework_id.value, agent = %slave_id.value, executor = %executor_id.value, "removing executor");
        let resources: Resources = executor.resources.iter().cloned().collect();
        self.allocator.recover_resources(framework_id.clone(), slave_id.clone(), resources, None, true);
        if let Some(framework) = self.frameworks.get_mut(framework_id) {
            framework.remove_executor(slave_id, executor_id);
        }
    }

    /// C++ `Master::removeTask`: out of the framework (into its completed or, if
    /// `unreachable`, unreachable tasks) and the agent; a task that still held resources
    /// gives them back first.
    pub(super) fn remove_task(&mut self, framework_id: &FrameworkId, task_id: &TaskId, unreachable: bool) {
        let limits = (self.flags.max_completed_tasks_per_framework, self.flags.max_unreachable_tasks_per_framework);
        let Some(framework) = self.frameworks.get_mut(framework_id) else { return };
        let Some(task) = framework.remove_task(task_id, unreachable, limits) else { return };
        tracing::info!(framework = %framework_id.value, task = %task_id.value, state = ?task.state(), "removing task");
        if crate::framework::holds_resources(task.state()) {
            let resources: Resources = task.resources.iter().cloned().collect();
            self.allocator.recover_resources(framework_id.clone(), task.slave_id.clone(), resources, None, true);
        }
        if unreachable {
            let ids = self.slaves.unreachable_tasks.entry(task.slave_id.clone()).or_default();
            ids.entry(framework_id.clone()).or_default().push(task_id.clone());
        }
        if let Some(slave) = self.slaves.registered.get_mut(&task.slave_id) {
            slave.remove_task(&task);
        }
    }

    /// `StatusUpdateAcknowledgementMessage` from a scheduler (C++
    /// `Master::statusUpdateAcknowledgement`): ACKNOWLEDGE from the framework's pid only.
    pub(super) fn status_update_acknowledgement(
        &mut self,
        ctx: &mut Context<Self>,
        from: &UPID,
        message: StatusUpdateAcknowledgementMessage,
    ) {
        let id = message.framework_id;
        if !self.sent_by_framework("mesos.internal.StatusUpdateAcknowledgementMessage", &id, from) {
            return;
        }
        let acknowledge = Acknowledge { slave_id: message.slave_id, task_id: message.task_id, uuid: message.uuid };
        self.acknowledge(ctx, &id, acknowledge);
    }

    /// ACKNOWLEDGE (C++ `Master::acknowledge`): the terminal update of a task being
    /// acknowledged removes it; the acknowledgement goes on to the agent.
    pub(super) fn acknowledge(
        &mut self,
        ctx: &mut Context<Self>,
        framework_id: &FrameworkId,
        acknowledge: Acknowledge,
    ) {
        self.metrics.increment("messages_status_update_acknowledgement");
        // C++ validates the uuid with the call (`validation::scheduler::call::validate`).
        let Ok(uuid) = Uuid::from_bytes(&acknowledge.uuid) else {
            tracing::warn!(framework = %framework_id.value, "dropping ACKNOWLEDGE call: 'uuid' is not a valid UUID");
            self.metrics.increment("invalid_status_update_acknowledgements");
            return;
        };
        let slave_id = acknowledge.slave_id;
        let Some(slave) = self.slaves.registered.get(&slave_id) else {
            tracing::warn!(framework = %framework_id.value, agent = %slave_id.value, "cannot send status update acknowledgement: agent is not registered");
            self.metrics.increment("invalid_status_update_acknowledgements");
            return;
        };
        if !slave.connected {
            tracing::warn!(framework = %framework_id.value, agent = %slave_id.value, "cannot send status update acknowledgement: agent is disconnected");
            self.metrics.increment("invalid_status_update_acknowledgements");
            return;
        }
        let agent = slave.pid.clone();
        let task = self
            .frameworks
            .get(framework_id)
            .and_then(|f| f.tasks.get(&acknowledge.task_id))
            .filter(|t| t.slave_id == slave_id);
        if let Some(task) = task {
            let (Some(state), Some(sent)) = (task.status_update_state, task.status_update_uuid.as_deref()) else {
                tracing::warn!(framework = %framework_id.value, task = %acknowledge.task_id.value, "ignoring status update acknowledgement: the update was not sent by this master");
                self.metrics.increment("invalid_status_update_acknowledgements");
                return;
            };
            let terminal = TaskState::try_from(state).is_ok_and(is_terminal);
            if terminal && sent == uuid.as_bytes() {
                self.remove_task(framework_id, &acknowledge.task_id, false);
            }
        }
        let message = StatusUpdateAcknowledgementMessage {
            slave_id,
            framework_id: framework_id.clone(),
            task_id: acknowledge.task_id,
            uuid: acknowledge.uuid,
        };
        ctx.send_protobuf(&agent, &message);
        self.metrics.increment("valid_status_update_acknowledgements");
    }

    /// `KillTaskMessage` (C++ `Master::killTask`): KILL from the framework's pid only.
    pub(super) fn kill_task_message(&mut self, ctx: &mut Context<Self>, from: &UPID, message: KillTaskMessage) {
        let id = message.framework_id;
        if !self.sent_by_framework("mesos.internal.KillTaskMessage", &id, from) {
            return;
        }
        self.kill(ctx, &id, Kill { task_id: message.task_id, slave_id: None, kill_policy: None });
    }

    /// KILL (C++ `Master::kill`): an unknown task is reconciled instead.
    pub(super) fn kill(&mut self, ctx: &mut Context<Self>, framework_id: &FrameworkId, kill: Kill) {
        self.metrics.increment("messages_kill_task");
        tracing::info!(framework = %framework_id.value, task = %kill.task_id.value, "processing KILL call");
        let Some(task) = self.frameworks.get(framework_id).and_then(|f| f.tasks.get(&kill.task_id)) else {
            tracing::warn!(framework = %framework_id.value, task = %kill.task_id.value, "cannot kill unknown task; performing reconciliation");
            let task = reconcile::Task { task_id: kill.task_id, slave_id: kill.slave_id };
            return self.reconcile(ctx, framework_id, Reconcile { tasks: vec![task] });
        };
        if kill.slave_id.as_ref().is_some_and(|s| *s != task.slave_id) {
            tracing::warn!(framework = %framework_id.value, task = %kill.task_id.value, "cannot kill task: it belongs to a different agent");
            return;
        }
        let Some(slave) = self.slaves.registered.get_mut(&task.slave_id) else { return };
        if !slave.connected {
            tracing::warn!(framework = %framework_id.value, task = %kill.task_id.value, "cannot kill task: the agent is disconnected");
            return;
        }
        slave.killed_tasks.insert((framework_id.clone(), kill.task_id.clone()));
        let message = KillTaskMessage {
            framework_id: framework_id.clone(),
            task_id: kill.task_id,
            kill_policy: kill.kill_policy,
        };
        ctx.send_protobuf(&slave.pid, &message);
    }

    /// `ReconcileTasksMessage` (C++ `Master::reconcileTasks`): RECONCILE from the
    /// framework's pid only.
    pub(super) fn reconcile_tasks_message(
        &mut self,
        ctx: &mut Context<Self>,
        from: &UPID,
        message: ReconcileTasksMessage,
    ) {
        if !self.accepting("mesos.internal.ReconcileTasksMessage", from) {
            return;
        }
        let id = message.framework_id;
        let Some(framework) = self.frameworks.get(&id) else { return };
        if !framework.is_pid(from) {
            return;
        }
        let tasks = message
            .statuses
            .into_iter()
            .map(|status| reconcile::Task { task_id: status.task_id, slave_id: status.slave_id })
            .collect();
        self.reconcile(ctx, &id, Reconcile { tasks });
    }

    /// The master's view of a known task for reconciliation: the state last forwarded to
    /// the framework, else the current one.
    fn latest(framework_id: &FrameworkId, task: &Task) -> MasterUpdate {
        let state = task.status_update_state.and_then(|s| TaskState::try_from(s).ok()).unwrap_or(task.state());
        MasterUpdate {
            framework_id: framework_id.clone(),
            slave_id: Some(task.slave_id.clone()),
            task_id: task.task_id.clone(),
            state,
            message: "Reconciliation: Latest task state".into(),
            reason: Reason::Reconciliation,
            executor_id: task.executor_id.clone(),
            unreachable_time: None,
        }
    }

    /// RECONCILE (C++ `Master::reconcile`): implicit (no tasks) answers every task of the
    /// framework; explicit answers each task asked about. No uuid, no `pid`.
    pub(super) fn reconcile(&mut self, ctx: &mut Context<Self>, framework_id: &FrameworkId, reconcile: Reconcile) {
        self.metrics.increment("messages_reconcile_tasks");
        let Some(framework) = self.frameworks.get(framework_id) else { return };
        let partition_aware = framework::partition_aware(&framework.info);
        let mut updates = Vec::new();
        if reconcile.tasks.is_empty() {
            tracing::info!(framework = %framework_id.value, "performing implicit task state reconciliation");
            let mut tasks: Vec<&Task> = framework.tasks.values().map(|t| t.task()).collect();
            tasks.sort_by(|a, b| a.task_id.value.cmp(&b.task_id.value));
            updates.extend(tasks.into_iter().map(|t| Self::latest(framework_id, t)));
        } else {
            tracing::info!(framework = %framework_id.value, tasks = reconcile.tasks.len(), "performing explicit task state reconciliation");
            let pick = |aware: TaskState| if partition_aware { aware } else { TaskState::TaskLost };
            for asked in reconcile.tasks {
                let slave_id = asked.slave_id;
                let unknown = |state: TaskState, message: &str, unreachable_time: Option<TimeInfo>| MasterUpdate {
                    framework_id: framework_id.clone(),
                    slave_id: slave_id.clone(),
                    task_id: asked.task_id.clone(),
                    state,
                    message: message.into(),
                    reason: Reason::Reconciliation,
                    executor_id: None,
                    unreachable_time,
                };
                let update = if let Some(task) = framework.tasks.get(&asked.task_id) {
                    Self::latest(framework_id, task)
                } else if slave_id
                    .as_ref()
                    .map_or(!self.slaves.recovered.is_empty(), |s| self.slaves.recovered.contains_key(s))
                {
                    // The agent may still reregister with the task: no answer yet.
                    continue;
                } else if slave_id.as_ref().is_some_and(|s| self.slaves.registered.contains_key(s)) {
                    unknown(pick(TaskState::TaskGone), "Reconciliation: Task is unknown to the agent", None)
                } else if let Some(time) = slave_id.as_ref().and_then(|s| self.slaves.unreachable.get(s)) {
                    unknown(pick(TaskState::TaskUnreachable), "Reconciliation: Task is unreachable", Some(*time))
                } else if slave_id.as_ref().is_some_and(|s| self.slaves.gone.contains_key(s)) {
                    unknown(pick(TaskState::TaskGoneByOperator), "Reconciliation: Task is gone", None)
                } else {
                    unknown(pick(TaskState::TaskUnknown), "Reconciliation: Task is unknown", None)
                };
                updates.push(update);
            }
        }
        let now = super::now_secs(ctx);
        for update in updates {
            let message = StatusUpdateMessage { update: update.build(now), pid: None };
            framework.send(ctx, &message);
        }
    }
}

/// Records a master-made state on a task that is no longer tracked live (C++ `updateTask`
/// on an unreachable task of a removed framework): the state and a status saying why.
pub(super) fn record_master_status(task: &mut Task, state: TaskState, message: &str, now: f64) {
    task.set_state(state);
    let mut status = TaskStatus {
        task_id: task.task_id.clone(),
        slave_id: Some(task.slave_id.clone()),
        message: Some(message.to_owned()),
        timestamp: Some(now),
        ..Default::default()
    };
    status.set_state(state);
    status.set_source(Source::Master);
    status.set_reason(Reason::FrameworkRemoved);
    task.statuses.push(status);
}

/// The master's record of a task it launches (C++ `protobuf::createTask` in `TASK_STAGING`).
fn task_record(
    task: &TaskInfo,
    framework_id: &FrameworkId,
    slave_id: &SlaveId,
    executor_id: Option<ExecutorId>,
) -> Task {
    mesos::protobuf_utils::create_task(task, TaskState::TaskStaging, framework_id, slave_id, executor_id)
}

/// What C++ `Master::forward` records on a task for an acknowledgeable update: the state
/// and uuid of the update the framework is to acknowledge.
fn note_forwarded(task: &mut Task, update: &StatusUpdate) {
    if let Some(uuid) = &update.uuid {
        task.status_update_state = Some(update.status.state);
        task.status_update_uuid = update.status.uuid.clone().or_else(|| Some(uuid.clone()));
    }
}
