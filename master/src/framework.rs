//! The master's framework bookkeeping and the checks on what schedulers send; mirrors `Framework` in `src/master/master.hpp` and `validation::framework` / `validation::scheduler::call` in `src/master/validation.cpp`.

use std::collections::{BTreeSet, HashMap, HashSet, VecDeque};
use std::time::Duration;

use libprocess::{Context, Timer, UPID};
use mesos::api::Stream;
use mesos::http::write_task;
use mesos::proto::framework_info::capability::Type as Capability;
use mesos::proto::scheduler::call::Type as CallType;
use mesos::proto::scheduler::Call;
use mesos::proto::{ExecutorId, ExecutorInfo, FrameworkInfo, Offer, OfferId, SlaveId, Task, TaskId, TaskState};
use mesos::resources::Resources;

use crate::evolve::Evolve;
use crate::master::Master;

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
    /// The timeout as C++ `stringify(double)` prints it (`%g`).
    #[error("The framework failover_timeout ({}) is invalid", mesos::flags::FlagValue::stringify(.0))]
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
    #[error("Not a valid UUID")]
    InvalidUuid,
    #[error("'framework_id' differs from 'subscribe.framework_info.id'")]
    IdMismatch,
    #[error("'framework_id' differs from 'update_framework.framework_info.id'")]
    UpdateIdMismatch,
    #[error("Changing framework's principal is not allowed.")]
    PrincipalChanged,
    #[error("Updating 'FrameworkInfo.user' is unsupported; attempted to update from '{0}' to '{1}'")]
    UserChanged(String, String),
    #[error("Updating 'FrameworkInfo.checkpoint' is unsupported; attempted to update from '{0}' to '{1}'")]
    CheckpointChanged(bool, bool),
}

/// The fields a framework may not change by resubscribing or `UPDATE_FRAMEWORK` (C++
/// `validation::framework::validateUpdate`).
pub fn validate_update(old: &FrameworkInfo, new: &FrameworkInfo) -> Result<(), FrameworkError> {
    if old.principal != new.principal {
        tracing::warn!(
            framework = ?old.id.as_ref().map(|id| &id.value),
            old = old.principal.as_deref().unwrap_or("<NONE>"),
            new = new.principal.as_deref().unwrap_or("<NONE>"),
            "framework tried to change its principal"
        );
        return Err(FrameworkError::PrincipalChanged);
    }
    if old.user != new.user {
        return Err(FrameworkError::UserChanged(old.user.clone(), new.user.clone()));
    }
    if old.checkpoint() != new.checkpoint() {
        return Err(FrameworkError::CheckpointChanged(old.checkpoint(), new.checkpoint()));
    }
    Ok(())
}

/// A task the master keeps, in a framework's `tasks` or `completed_tasks` (C++ `Task` in
/// `Framework::tasks` and `completedTasks`), with its encodings for the state endpoints.
///
/// Its JSON for the GET endpoints, its v1 JSON and its protobuf encoding (for the operator
/// API's `GET_STATE`, `GET_TASKS` and SUBSCRIBED) are written when the task is added and
/// again after each change, and copied into each answer after. Tasks are most of a large
/// state document, and copying them is several times faster than writing them anew, on the
/// first request as on the others: C++ writes every task for every request, which is most
/// of the 3 to 10 s its large state answers take. The price is memory, about 2 KB a task,
/// and a few microseconds a change. A task changes only through [`TaskRecord::update`],
/// which keeps the encodings true to it.
#[derive(Debug)]
pub(crate) struct TaskRecord {
    task: Task,
    /// `mesos::http::write_task` of `task`.
    pub(crate) json: Box<str>,
    /// `task` as v1 JSON.
    v1_json: Box<str>,
    /// `task` encoded (v0 and v1 share it).
    protobuf: Box<[u8]>,
}

impl TaskRecord {
    pub(crate) fn new(task: Task) -> TaskRecord {
        let (json, v1_json, protobuf) = Self::encode(&task);
        TaskRecord { task, json, v1_json, protobuf }
    }

    fn encode(task: &Task) -> (Box<str>, Box<str>, Box<[u8]>) {
        let json = mesos::json::boxed(false, |w| write_task(w, task));
        let v1_json = mesos::json::boxed(true, |w| w.message(task));
        (json, v1_json, prost::Message::encode_to_vec(task).into_boxed_slice())
    }

    /// Changes the task through `change`; its encodings are made again.
    pub(crate) fn update<R>(&mut self, change: impl FnOnce(&mut Task) -> R) -> R {
        let result = change(&mut self.task);
        (self.json, self.v1_json, self.protobuf) = Self::encode(&self.task);
        result
    }

    pub(crate) fn task(&self) -> &Task {
        &self.task
    }

    pub(crate) fn into_task(self) -> Task {
        self.task
    }

    pub(crate) fn v1_json(&self) -> &str {
        &self.v1_json
    }

    pub(crate) fn protobuf(&self) -> &[u8] {
        &self.protobuf
    }
}

impl std::ops::Deref for TaskRecord {
    type Target = Task;

    fn deref(&self) -> &Task {
        &self.task
    }
}

/// How the master reaches a framework's scheduler (C++ `Framework::pid_` and `http_`).
#[derive(Debug)]
pub(crate) enum Connection {
    /// Not known yet (a framework recovered from an agent's report), or no longer (an HTTP
    /// scheduler whose stream ended).
    None,
    /// A v0 driver's libprocess pid. It is kept while the framework is disconnected, as C++
    /// keeps `pid_`.
    Pid(UPID),
    /// An HTTP scheduler's event stream.
    Http(HttpConnection),
}

/// A subscribed HTTP scheduler (C++ `StreamingHttpConnection<v1::scheduler::Event>` and the
/// framework's `heartbeater`).
#[derive(Debug)]
pub(crate) struct HttpConnection {
    pub(crate) stream: Stream,
    /// The next `HEARTBEAT`.
    pub(crate) heartbeat: Option<Timer>,
}

/// A framework as the master tracks it (C++ `Framework` in `master.hpp`, bookkeeping in
/// `framework.cpp`), whichever API its scheduler uses. A framework the master learnt of
/// from a reregistering agent, and that has not subscribed since, is `recovered`: it has no
/// connection yet.
#[derive(Debug)]
pub(crate) struct Framework {
    pub(crate) info: FrameworkInfo,
    /// How its scheduler is reached.
    pub(crate) connection: Connection,
    /// Known from an agent's report only (C++ state `RECOVERED`).
    pub(crate) recovered: bool,
    /// The scheduler is there: a v0 driver's link is up, or an HTTP scheduler's stream open
    /// (C++ `connected()`).
    pub(crate) connected: bool,
    /// Offers are made to it (C++ `active()`).
    pub(crate) active: bool,
    /// Its outstanding offers.
    pub(crate) offers: HashSet<OfferId>,
    /// Bumped at each resubscription. C++ keeps `reregisteredTime` and a failover timer
    /// compares it; a counter says the same without two resubscriptions at one paused
    /// instant looking alike.
    pub(crate) generation: u64,
    /// Its tasks the master launched or an agent reported and the master has not removed,
    /// terminal but unacknowledged ones included (C++ `Framework::tasks`).
    pub(crate) tasks: HashMap<TaskId, TaskRecord>,
    /// Removed tasks, oldest first, at most `--max_completed_tasks_per_framework`.
    pub(crate) completed_tasks: VecDeque<TaskRecord>,
    /// Tasks on unreachable agents, oldest first, at most
    /// `--max_unreachable_tasks_per_framework` (C++ `unreachableTasks`).
    pub(crate) unreachable_tasks: VecDeque<Task>,
    /// Its executors, per agent.
    pub(crate) executors: HashMap<SlaveId, HashMap<ExecutorId, ExecutorInfo>>,
    /// What its non-terminal tasks and executors use, per agent and in total.
    pub(crate) used_resources: HashMap<SlaveId, Resources>,
    pub(crate) total_used_resources: Resources,
    /// What its outstanding offers hold, per agent and in total.
    pub(crate) offered_resources: HashMap<SlaveId, Resources>,
    pub(crate) total_offered_resources: Resources,
    /// Seconds since the epoch (C++ `registeredTime`, `reregisteredTime`, `unregisteredTime`).
    pub(crate) registered_time: f64,
    pub(crate) reregistered_time: f64,
    pub(crate) unregistered_time: Option<f64>,
}

/// Adds `resources` to the entry for `key`.
fn add_to<K: Eq + std::hash::Hash + Clone>(map: &mut HashMap<K, Resources>, key: &K, resources: &Resources) {
    *map.entry(key.clone()).or_default() += resources.clone();
}

/// Takes `resources` from the entry for `key`, dropping it once empty.
fn take_from<K: Eq + std::hash::Hash>(map: &mut HashMap<K, Resources>, key: &K, resources: &Resources) {
    if let Some(held) = map.get_mut(key) {
        *held -= resources;
        if held.is_empty() {
            map.remove(key);
        }
    }
}

/// Whether a task in `state` holds its resources (neither terminal nor unreachable).
pub(crate) fn holds_resources(state: TaskState) -> bool {
    !crate::master::is_terminal(state) && state != TaskState::TaskUnreachable
}

impl Framework {
    /// A framework that just subscribed (over `connection`) or was recovered from an
    /// agent's report ([`Connection::None`]).
    pub(crate) fn new(info: FrameworkInfo, connection: Connection, recovered: bool, now: f64) -> Framework {
        Framework {
            info,
            connection,
            recovered,
            connected: !recovered,
            active: !recovered,
            offers: HashSet::new(),
            generation: 0,
            tasks: HashMap::new(),
            completed_tasks: VecDeque::new(),
            unreachable_tasks: VecDeque::new(),
            executors: HashMap::new(),
            used_resources: HashMap::new(),
            total_used_resources: Resources::new(),
            offered_resources: HashMap::new(),
            total_offered_resources: Resources::new(),
            registered_time: now,
            reregistered_time: now,
            unregistered_time: None,
        }
    }

    /// Its v0 driver's pid, if it has one (C++ `pid()`).
    pub(crate) fn pid(&self) -> Option<&UPID> {
        match &self.connection {
            Connection::Pid(pid) => Some(pid),
            _ => None,
        }
    }

    /// Whether `from` is its v0 driver (C++ `framework->pid() == from`).
    pub(crate) fn is_pid(&self, from: &UPID) -> bool {
        self.pid() == Some(from)
    }

    /// Its HTTP scheduler's stream, if it has one (C++ `http()`).
    pub(crate) fn http(&self) -> Option<&Stream> {
        match &self.connection {
            Connection::Http(http) => Some(&http.stream),
            _ => None,
        }
    }

    /// The pid the agents are told for this framework: an HTTP framework's is the empty
    /// one (C++ `pid().getOrElse(UPID())`).
    pub(crate) fn pid_or_empty(&self) -> UPID {
        self.pid().cloned().unwrap_or_else(UPID::empty)
    }

    /// Sends `message` to the scheduler (C++ `Framework::send`): as it is to a v0 driver, as
    /// its [`Evolve`]d event on an HTTP scheduler's stream. As in C++, a disconnected
    /// framework is still sent to (a one-way partition may leave a v0 driver listening).
    pub(crate) fn send<M: Evolve>(&self, ctx: &mut Context<Master>, message: &M) {
        if !self.connected {
            tracing::warn!(framework = %self.id_text(), message = libprocess::protobuf::type_name::<M>(), "sending to a disconnected framework");
        }
        match &self.connection {
            Connection::Pid(pid) => ctx.send_protobuf(pid, message),
            Connection::Http(http) => {
                if !http.stream.send(&message.evolve()) {
                    tracing::warn!(framework = %self.id_text(), message = libprocess::protobuf::type_name::<M>(), "cannot send to framework: connection closed");
                }
            }
            Connection::None => {
                tracing::warn!(framework = %self.id_text(), message = libprocess::protobuf::type_name::<M>(), "cannot send to framework: recovered but not resubscribed")
            }
        }
    }

    /// Its id as text, for logs.
    pub(crate) fn id_text(&self) -> &str {
        self.info.id.as_ref().map_or("", |id| id.value.as_str())
    }

    /// C++ `Framework::disconnect`: the connection's state goes. An HTTP scheduler's stream
    /// is closed and its heartbeats stop; a v0 driver's pid is kept. Returns the heartbeat
    /// timer to cancel.
    pub(crate) fn disconnect(&mut self) -> Option<Timer> {
        self.connected = false;
        match std::mem::replace(&mut self.connection, Connection::None) {
            Connection::Http(http) => {
                http.stream.close();
                http.heartbeat
            }
            other => {
                self.connection = other;
                None
            }
        }
    }

    /// C++ `Framework::addTask`: a task that is not terminal uses its resources.
    pub(crate) fn add_task(&mut self, task: Task) {
        if !crate::master::is_terminal(task.state()) {
            let resources: Resources = task.resources.iter().cloned().collect();
            self.total_used_resources += resources.clone();
            add_to(&mut self.used_resources, &task.slave_id, &resources);
        }
        self.tasks.insert(task.task_id.clone(), TaskRecord::new(task));
    }

    /// C++ `Framework::recoverResources(Task*)`: the task reached a terminal or unreachable
    /// state.
    pub(crate) fn recover_task_resources(&mut self, task: &Task) {
        let resources: Resources = task.resources.iter().cloned().collect();
        self.total_used_resources -= &resources;
        take_from(&mut self.used_resources, &task.slave_id, &resources);
    }

    /// C++ `Framework::removeTask`: out of `tasks`, into the unreachable or completed list.
    pub(crate) fn remove_task(&mut self, task_id: &TaskId, unreachable: bool, limits: (usize, usize)) -> Option<Task> {
        let record = self.tasks.remove(task_id)?;
        let task = record.task().clone();
        if holds_resources(task.state()) {
            self.recover_task_resources(&task);
        }
        if unreachable {
            self.add_unreachable_task(record.into_task(), limits.1);
        } else {
            // Its encodings are those of its last state: they move with it.
            self.add_completed_record(record, limits.0);
        }
        Some(task)
    }

    /// C++ `Framework::addCompletedTask`, bounded as C++'s circular buffer.
    pub(crate) fn add_completed_task(&mut self, task: Task, limit: usize) {
        if limit > 0 {
            self.add_completed_record(TaskRecord::new(task), limit);
        }
    }

    fn add_completed_record(&mut self, record: TaskRecord, limit: usize) {
        if limit == 0 {
            return;
        }
        if self.completed_tasks.len() >= limit {
            self.completed_tasks.pop_front();
        }
        self.completed_tasks.push_back(record);
    }

    /// C++ `Framework::addUnreachableTask`, bounded as C++'s `BoundedHashMap`.
    pub(crate) fn add_unreachable_task(&mut self, task: Task, limit: usize) {
        self.unreachable_tasks.retain(|t| t.task_id != task.task_id);
        if limit == 0 {
            return;
        }
        if self.unreachable_tasks.len() >= limit {
            self.unreachable_tasks.pop_front();
        }
        self.unreachable_tasks.push_back(task);
    }

    /// Removes and returns an unreachable task.
    pub(crate) fn take_unreachable_task(&mut self, task_id: &TaskId) -> Option<Task> {
        let index = self.unreachable_tasks.iter().position(|t| t.task_id == *task_id)?;
        self.unreachable_tasks.remove(index)
    }

    /// C++ `Framework::addOffer`.
    pub(crate) fn add_offer(&mut self, offer: &Offer) {
        let resources: Resources = offer.resources.iter().cloned().collect();
        self.offers.insert(offer.id.clone());
        self.total_offered_resources += resources.clone();
        add_to(&mut self.offered_resources, &offer.slave_id, &resources);
    }

    /// C++ `Framework::removeOffer`.
    pub(crate) fn remove_offer(&mut self, offer: &Offer) {
        if !self.offers.remove(&offer.id) {
            return;
        }
        let resources: Resources = offer.resources.iter().cloned().collect();
        self.total_offered_resources -= &resources;
        take_from(&mut self.offered_resources, &offer.slave_id, &resources);
    }

    /// C++ `Framework::addExecutor`.
    pub(crate) fn add_executor(&mut self, slave_id: &SlaveId, executor: ExecutorInfo) {
        let resources: Resources = executor.resources.iter().cloned().collect();
        self.total_used_resources += resources.clone();
        add_to(&mut self.used_resources, slave_id, &resources);
        self.executors.entry(slave_id.clone()).or_default().insert(executor.executor_id.clone(), executor);
    }

    /// C++ `Framework::removeExecutor`.
    pub(crate) fn remove_executor(&mut self, slave_id: &SlaveId, executor_id: &ExecutorId) {
        let Some(executors) = self.executors.get_mut(slave_id) else { return };
        let Some(executor) = executors.remove(executor_id) else { return };
        if executors.is_empty() {
            self.executors.remove(slave_id);
        }
        let resources: Resources = executor.resources.iter().cloned().collect();
        self.total_used_resources -= &resources;
        take_from(&mut self.used_resources, slave_id, &resources);
    }
}

/// What tests and endpoints see of one framework.
#[derive(Clone, Debug, PartialEq)]
pub struct FrameworkSnapshot {
    pub id: String,
    pub name: String,
    /// The v0 driver's pid; empty for an HTTP framework or one without a scheduler yet.
    pub pid: UPID,
    /// The HTTP scheduler's `Mesos-Stream-Id`, while it is subscribed.
    pub stream_id: Option<String>,
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

/// stout's `id::UUID::fromBytes`: 16 bytes of an RFC 4122 version (1 to 5), as boost reads it.
fn valid_uuid(bytes: &[u8]) -> Result<(), FrameworkError> {
    match bytes {
        [_, _, _, _, _, _, version, ..] if bytes.len() == 16 && (1..=5).contains(&(version >> 4)) => Ok(()),
        _ => Err(FrameworkError::InvalidUuid),
    }
}

/// C++ `validation::scheduler::call::validate` (without a principal: no authentication yet).
/// Required fields were checked when the call was decoded. A `type` this build does not know
/// counts as absent, as protobuf leaves an unknown enum value unset.
pub fn validate_call(call: &Call) -> Result<CallType, FrameworkError> {
    let Some(kind) = call.r#type.and_then(|kind| CallType::try_from(kind).ok()) else {
        return Err(FrameworkError::MissingType);
    };
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
        CallType::Acknowledge => {
            let Some(acknowledge) = &call.acknowledge else { return Err(FrameworkError::Missing("acknowledge")) };
            valid_uuid(&acknowledge.uuid)?;
            None
        }
        CallType::AcknowledgeOperationStatus => {
            let Some(acknowledge) = &call.acknowledge_operation_status else {
                return Err(FrameworkError::Missing("acknowledge_operation_status"));
            };
            valid_uuid(&acknowledge.uuid)?;
            acknowledge.slave_id.is_none().then_some("agent_id")
        }
        CallType::ReconcileOperations => call.reconcile_operations.is_none().then_some("reconcile_operations"),
        CallType::Reconcile => call.reconcile.is_none().then_some("reconcile"),
        CallType::Message => call.message.is_none().then_some("message"),
        CallType::Request => call.request.is_none().then_some("request"),
        CallType::UpdateFramework => {
            let Some(update) = &call.update_framework else { return Err(FrameworkError::Missing("update_framework")) };
            if update.framework_info.id != call.framework_id {
                return Err(FrameworkError::UpdateIdMismatch);
            }
            None
        }
        _ => None,
    };
    match missing {
        Some(field) => Err(FrameworkError::Missing(field)),
        None => Ok(kind),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mesos::json::Writer;
    use mesos::proto::TaskState;

    #[test]
    fn a_task_record_keeps_its_encodings_true_to_the_task() {
        let mut task = Task { name: "web".into(), ..Default::default() };
        task.task_id.value = "t1".into();
        task.set_state(TaskState::TaskStaging);
        let mut record = TaskRecord::new(task);
        assert!(record.json.contains(r#""state":"TASK_STAGING""#), "{}", record.json);
        assert!(record.v1_json().contains(r#""state":"TASK_STAGING""#));
        let staging = record.protobuf().to_vec();

        let state = record.update(|task| {
            task.set_state(TaskState::TaskRunning);
            task.state()
        });
        assert_eq!(state, TaskState::TaskRunning);
        let mut w = Writer::new();
        write_task(&mut w, record.task());
        assert_eq!(&*record.json, w.into_string());
        assert_eq!(record.v1_json(), mesos::json::to_v1_string(record.task()));
        assert_eq!(record.protobuf(), prost::Message::encode_to_vec(record.task()).as_slice());
        assert_ne!(record.protobuf(), staging.as_slice());
    }
}
