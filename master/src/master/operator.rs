//! The master's v1 operator API, `POST /master/api/v1` (child module of `master.rs`): the request checks, the read calls (health, flags, version, metrics, logging level, files, state, agents, frameworks, executors, tasks, roles, weights, master, quota, maintenance, operations), TEARDOWN, SUBSCRIBE, and the models of agents and frameworks that the answers and the events share; mirrors `Master::Http::api` and its `get*` handlers in `src/master/http.cpp`, `Master::ReadOnlyHandler::{jsonify,serialize}Get*` and `subscribe` in `src/master/readonly_handler.cpp`, `createAgentResponse` in `src/common/protobuf_utils.cpp` and `model(Framework)` in `src/master/http.cpp`.
//!
//! Each call is answered inside the master, so it reads one consistent state. The four
//! lists of `GET_STATE` (and of `GET_TASKS`, ..., and SUBSCRIBED) are written straight from
//! the books, as C++ does since 1.10: JSON through a v1 [`Writer`], protobuf by encoding each
//! element where it lies and framing the lists by hand ([`Pb`]); long lists are shared out
//! to several threads ([`mesos::operator`]). Both encodings give exactly what the generated
//! `Response` would.
//!
//! As C++'s jsonify writers do, the JSON of those four lists always carries its arrays, even
//! empty (`"tasks":[]`); the small answers are protobuf JSON, which leaves empty lists out.
//!
//! Not done yet: authorization (everything is visible, as C++ without an authorizer); the
//! write calls other than TEARDOWN (each a `501` naming it); SET_LOGGING_LEVEL; weights
//! changed through the registry (`GET_WEIGHTS` shows `--weights`, as `/master/roles` does).

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicUsize, Ordering};

use libprocess::http::{Request, Response, Status};
use libprocess::{Context, Future};
use mesos::api::ChunkedBody;
use mesos::api::{self, ContentType, Stream};
use mesos::buffers::BufferPool;
use mesos::buffers::CHUNKS;
use mesos::files::Files;
use mesos::json::Writer;
use mesos::json::CHUNK_SIZE;
use mesos::operator::{encode_repeated, field_len, write_json_array, write_message_array, ProtobufBuilder};
use mesos::proto::master::call::Type as CallType;
use mesos::proto::master::event::{FrameworkAdded, FrameworkUpdated, Type as EventType};
use mesos::proto::master::response::get_agents::Agent;
use mesos::proto::master::response::get_executors::Executor;
use mesos::proto::master::response::get_frameworks::Framework as FrameworkModel;
use mesos::proto::master::response::{
    GetFlags, GetHealth, GetLoggingLevel, GetMaintenanceSchedule, GetMaintenanceStatus, GetMaster, GetMetrics,
    GetOperations, GetQuota, GetRoles, GetVersion, GetWeights, ListFiles, ReadFile, Type as ResponseType,
};
use mesos::proto::master::{Call, Event, Response as ApiResponse};
use mesos::proto::scheduler::OfferConstraints;
use mesos::proto::{value, ExecutorInfo, Resource, Role, SlaveId, SlaveInfo, Task, TimeInfo, WeightInfo};
use mesos::resources::{convert_resource_format, ResourceFormat};

use super::subscribers::{heartbeat_event, Subscribers};
use super::{Master, MasterHandle, Slave};
use crate::constants::{DEFAULT_HEARTBEAT_INTERVAL, DEFAULT_WEIGHT};
use crate::framework::{Framework, TaskRecord};

const API_HELP: &str = "The v1 operator API: POST a `mesos.master.Call` (`{\"type\":\"GET_STATE\"}`) as JSON or \
     protobuf; the answer comes in the type `Accept` asks for (JSON first). SUBSCRIBE opens a stream of RecordIO \
     events.";

/// What the operator API keeps in the master.
#[derive(Debug)]
pub(crate) struct Operator {
    /// The SUBSCRIBE streams.
    pub(crate) events: Subscribers,
    /// The files service, for LIST_FILES and READ_FILE.
    files: Option<Files>,
}

impl Operator {
    /// At most `max_subscribers` event streams at a time.
    pub(crate) fn new(max_subscribers: usize) -> Operator {
        Operator { events: Subscribers::new(max_subscribers), files: None }
    }
}

/// Installs `/api/v1` and the subscriber gauge (from `Master::initialize`).
pub(super) fn install(master: &mut Master, ctx: &mut Context<Master>) {
    master.operator.events.register_gauge(ctx);
    ctx.route("/api/v1", API_HELP, |master: &mut Master, ctx, request: Request| master.api(ctx, request));
}

impl MasterHandle {
    /// Lets LIST_FILES and READ_FILE browse `files` (the instance's files service).
    pub fn set_files(&self, files: Files) {
        self.pid.dispatch_void(move |master, _ctx| master.operator.files = Some(files));
    }

    /// Renders the v1 `GET_STATE` answer inside the master and returns its size in bytes:
    /// for the benchmark that times the generation without HTTP. Not an API.
    #[doc(hidden)]
    pub fn render_v1_state_for_benchmark(&self, protobuf: bool) -> Future<usize> {
        self.pid.dispatch(move |master, _ctx| {
            let content_type = if protobuf { ContentType::Protobuf } else { ContentType::Json };
            master.state_answer(content_type)
        })
    }
}

/// C++ `validation::master::call::validate`: a type, and the arguments of calls that take
/// some.
fn validate(call: &Call) -> Result<CallType, String> {
    let Some(kind) = call.r#type.and_then(|t| CallType::try_from(t).ok()) else {
        return Err("Expecting 'type' to be present".into());
    };
    let present =
        |present: bool, name: &str| if present { Ok(kind) } else { Err(format!("Expecting '{name}' to be present")) };
    match kind {
        CallType::GetMetrics => present(call.get_metrics.is_some(), "get_metrics"),
        CallType::SetLoggingLevel => present(call.set_logging_level.is_some(), "set_logging_level"),
        CallType::ListFiles => present(call.list_files.is_some(), "list_files"),
        CallType::ReadFile => present(call.read_file.is_some(), "read_file"),
        CallType::UpdateWeights => present(call.update_weights.is_some(), "update_weights"),
        CallType::ReserveResources => present(call.reserve_resources.is_some(), "reserve_resources"),
        CallType::UnreserveResources => present(call.unreserve_resources.is_some(), "unreserve_resources"),
        CallType::CreateVolumes => present(call.create_volumes.is_some(), "create_volumes"),
        CallType::DestroyVolumes => present(call.destroy_volumes.is_some(), "destroy_volumes"),
        CallType::GrowVolume => present(call.grow_volume.is_some(), "grow_volume"),
        CallType::ShrinkVolume => present(call.shrink_volume.is_some(), "shrink_volume"),
        CallType::UpdateMaintenanceSchedule => {
            present(call.update_maintenance_schedule.is_some(), "update_maintenance_schedule")
        }
        CallType::StartMaintenance => present(call.start_maintenance.is_some(), "start_maintenance"),
        CallType::StopMaintenance => present(call.stop_maintenance.is_some(), "stop_maintenance"),
        CallType::DrainAgent => present(call.drain_agent.is_some(), "drain_agent"),
        CallType::DeactivateAgent => present(call.deactivate_agent.is_some(), "deactivate_agent"),
        CallType::ReactivateAgent => present(call.reactivate_agent.is_some(), "reactivate_agent"),
        CallType::UpdateQuota => present(call.update_quota.is_some(), "update_quota"),
        CallType::SetQuota => present(call.set_quota.is_some(), "set_quota"),
        CallType::RemoveQuota => present(call.remove_quota.is_some(), "remove_quota"),
        CallType::Teardown => present(call.teardown.is_some(), "teardown"),
        CallType::MarkAgentGone => present(call.mark_agent_gone.is_some(), "mark_agent_gone"),
        _ => Ok(kind),
    }
}

/// A synchronous answer of `kind` built by `fill`.
fn answer(accept: ContentType, kind: ResponseType, fill: impl FnOnce(&mut ApiResponse)) -> Response {
    let mut response = ApiResponse { r#type: Some(kind as i32), ..Default::default() };
    fill(&mut response);
    api::ok(accept, &response)
}

/// Seconds since the epoch as a `TimeInfo`.
fn time_info(seconds: f64) -> TimeInfo {
    TimeInfo { nanoseconds: (seconds * 1e9) as i64 }
}

/// `resources` in the endpoint format (C++ `convertResourceFormat(ENDPOINT)`).
fn endpoint_resources<'a>(resources: impl IntoIterator<Item = &'a Resource>) -> Vec<Resource> {
    resources
        .into_iter()
        .map(|resource| {
            let mut resource = resource.clone();
            // Stored resources are post-refinement, which always converts.
            let _ = convert_resource_format(&mut resource, ResourceFormat::Endpoint);
            resource
        })
        .collect()
}

/// C++ `createAgentResponse`: a registered agent as GET_AGENTS and AGENT_ADDED show it.
fn agent_model(slave: &Slave) -> Agent {
    let used = &slave.used_total;
    Agent {
        agent_info: slave.info.clone(),
        active: slave.active,
        // No operator deactivation (maintenance) yet.
        deactivated: Some(false),
        version: slave.version.clone(),
        pid: Some(slave.pid.to_string()),
        registered_time: Some(time_info(slave.registered_time)),
        reregistered_time: slave.reregistered_time.map(time_info),
        total_resources: endpoint_resources(&slave.info.resources),
        allocated_resources: endpoint_resources(used.iter()),
        offered_resources: endpoint_resources(slave.offered_resources.iter()),
        capabilities: slave
            .capabilities
            .iter()
            .map(|&kind| mesos::proto::slave_info::Capability { r#type: Some(kind) })
            .collect(),
        resource_providers: Vec::new(),
        drain_info: None,
        estimated_drain_start_time: None,
    }
}

/// One element of a protobuf answer under construction: bytes already encoded, a
/// repeated message field of bodies already encoded (tasks keep theirs), or a
/// length-delimited field around other elements. Lengths are known before anything is
/// copied, so the answer is written once, into a buffer of its exact size or as a stream.
enum Pb<'a> {
    Bytes(Vec<u8>),
    Bodies(u32, Vec<&'a [u8]>),
    Field(u32, Vec<Pb<'a>>),
}

impl Pb<'_> {
    fn len(&self) -> usize {
        match self {
            Pb::Bytes(bytes) => bytes.len(),
            Pb::Bodies(tag, bodies) => bodies.iter().map(|body| field_len(*tag, body.len())).sum(),
            Pb::Field(tag, children) => field_len(*tag, children.iter().map(Pb::len).sum()),
        }
    }

    fn write(&self, out: &mut ProtobufBuilder) {
        match self {
            Pb::Bytes(bytes) => out.raw(bytes),
            Pb::Bodies(tag, bodies) => {
                for body in bodies {
                    out.message_bytes(*tag, body);
                }
            }
            Pb::Field(tag, children) => {
                out.header(*tag, children.iter().map(Pb::len).sum());
                for child in children {
                    child.write(out);
                }
            }
        }
    }

    /// Repeated message field `tag` of `messages`, encoded on several threads when long.
    fn repeated<M: prost::Message + Sync>(tag: u32, messages: &[&M]) -> Vec<Pb<'static>> {
        encode_repeated(tag, messages).into_iter().map(Pb::Bytes).collect()
    }
}

/// The protobuf answer made of `type` and `elements`, written into a pooled buffer of its
/// size; the elements' pooled parts go back to their pool.
fn assemble(kind: u64, elements: Vec<Pb>) -> Vec<u8> {
    let total = 1 + prost::encoding::encoded_len_varint(kind) + elements.iter().map(Pb::len).sum::<usize>();
    let mut out = ProtobufBuilder::with_buffer(ANSWERS.take_bytes(total));
    out.varint(1, kind);
    for element in &elements {
        element.write(&mut out);
    }
    recycle(elements);
    out.into_vec()
}

/// The `Response` type answering `kind` (one of the state calls), the field of `Response`
/// that carries it, and that field's JSON key.
fn state_part_kind(kind: CallType) -> (ResponseType, u32, &'static str) {
    match kind {
        CallType::GetAgents => (ResponseType::GetAgents, 10, "get_agents"),
        CallType::GetFrameworks => (ResponseType::GetFrameworks, 11, "get_frameworks"),
        CallType::GetExecutors => (ResponseType::GetExecutors, 12, "get_executors"),
        CallType::GetTasks => (ResponseType::GetTasks, 13, "get_tasks"),
        _ => (ResponseType::GetState, 9, "get_state"),
    }
}

/// Streams `element`: everything goes through `out` and is sent a chunk (about 1 MB) at a
/// time, so that the answer takes a few reused chunks in flight rather than a buffer of its
/// size.
fn send_pb(element: Pb, out: &mut ProtobufBuilder, body: &mut ChunkedBody) {
    let flush_if_full = |out: &mut ProtobufBuilder, body: &mut ChunkedBody| {
        if out.len() >= CHUNK_SIZE {
            let full = std::mem::replace(out, ProtobufBuilder::with_buffer(CHUNKS.take_bytes(2 * CHUNK_SIZE)));
            body.send(full.into_vec());
        }
    };
    match element {
        Pb::Field(tag, children) => {
            out.header(tag, children.iter().map(Pb::len).sum());
            for child in children {
                send_pb(child, out, body);
            }
        }
        Pb::Bodies(tag, bodies) => {
            for message in bodies {
                out.message_bytes(tag, message);
                flush_if_full(out, body);
            }
        }
        Pb::Bytes(bytes) => {
            for piece in bytes.chunks(CHUNK_SIZE) {
                out.raw(piece);
                flush_if_full(out, body);
            }
            mesos::operator::give_back_bytes([bytes]);
        }
    }
}

/// Hands the encoded parts of `elements` back to their pool.
fn recycle(elements: Vec<Pb>) {
    for element in elements {
        match element {
            Pb::Bytes(bytes) => mesos::operator::give_back_bytes([bytes]),
            Pb::Bodies(..) => {}
            Pb::Field(_, children) => recycle(children),
        }
    }
}

/// The buffers large answers (GET_STATE of a big cluster is hundreds of MB) are written
/// into, kept for the next answer: fresh memory costs a page fault and a zeroed page per
/// 4 KB on its first write (see `mesos::buffers`).
static ANSWERS: BufferPool = BufferPool::new(2);

/// About the size of a task in v1 JSON, to cut task arrays into segments.
const V1_TASK_SIZE: usize = 900;

/// The size of the last JSON answer of each kind, to size the next one's buffer.
static LAST_JSON_SIZE: AtomicUsize = AtomicUsize::new(0);

/// An answer's bytes (from [`ANSWERS`], where they return once sent) as a `200 OK` of
/// `content_type`.
fn ok_bytes(content_type: ContentType, bytes: Vec<u8>) -> Response {
    let mut response = Response::ok(ANSWERS.vec_into_bytes(bytes));
    response.headers.set("Content-Type", content_type.media_type());
    response
}

/// The tasks of GET_TASKS: of subscribed frameworks, then of completed ones.
struct TaskLists<'a> {
    tasks: Vec<&'a TaskRecord>,
    unreachable: Vec<&'a Task>,
    completed: Vec<&'a TaskRecord>,
}

impl Master {
    /// `POST /api/v1` (C++ `Master::Http::api`).
    fn api(&mut self, ctx: &mut Context<Master>, request: Request) -> Future<Response> {
        // This standalone master is always the leader: no redirect.
        if !self.recovered {
            return Future::ready(mesos::operator::service_unavailable("Master has not finished recovery"));
        }
        if request.method != "POST" {
            return Future::ready(api::method_not_allowed(&["POST"], &request.method));
        }
        let (call, kind, accept) = match api::operator_call::<Call, _>(&request, "master::Call", validate) {
            Ok(checked) => checked,
            Err(response) => return Future::ready(response),
        };
        tracing::info!("Processing call {}", kind.as_str_name());
        let ready = Future::ready;
        match kind {
            CallType::Unknown => ready(Response::empty(Status::NOT_IMPLEMENTED)),
            CallType::GetHealth => ready(answer(accept, ResponseType::GetHealth, |r| {
                r.get_health = Some(GetHealth { healthy: true });
            })),
            CallType::GetFlags => ready(answer(accept, ResponseType::GetFlags, |r| {
                r.get_flags = Some(GetFlags { flags: mesos::operator::flags(self.flags.to_pairs()) });
            })),
            CallType::GetVersion => ready(answer(accept, ResponseType::GetVersion, |r| {
                r.get_version = Some(GetVersion { version_info: mesos::operator::version_info() });
            })),
            CallType::GetMetrics => {
                let timeout = call.get_metrics.as_ref().and_then(|m| m.timeout.as_ref());
                mesos::operator::metrics(ctx.libprocess(), timeout).map(move |metrics| {
                    answer(accept, ResponseType::GetMetrics, |r| r.get_metrics = Some(GetMetrics { metrics }))
                })
            }
            CallType::GetLoggingLevel => ready(answer(accept, ResponseType::GetLoggingLevel, |r| {
                r.get_logging_level = Some(GetLoggingLevel { level: mesos::operator::LOGGING_LEVEL });
            })),
            CallType::ListFiles => self.list_files(accept, call.list_files.map(|l| l.path).unwrap_or_default()),
            CallType::ReadFile => self.read_file(accept, call.read_file.unwrap_or_default()),
            CallType::GetState
            | CallType::GetAgents
            | CallType::GetFrameworks
            | CallType::GetExecutors
            | CallType::GetTasks => self.state_part(ctx, kind, accept, api::may_stream(&request)),
            CallType::GetRoles => ready(answer(accept, ResponseType::GetRoles, |r| {
                r.get_roles = Some(GetRoles { roles: self.roles() });
            })),
            CallType::GetWeights => ready(answer(accept, ResponseType::GetWeights, |r| {
                let weights = self.flags.weights().unwrap_or_default();
                let weight_infos =
                    weights.into_iter().map(|(role, weight)| WeightInfo { weight, role: Some(role) }).collect();
                r.get_weights = Some(GetWeights { weight_infos });
            })),
            CallType::GetMaster => ready(answer(accept, ResponseType::GetMaster, |r| {
                r.get_master = Some(GetMaster {
                    master_info: Some(self.info.clone()),
                    start_time: Some(self.start_time),
                    elected_time: self.elected_time,
                });
            })),
            // No maintenance, quota or operations yet: the answers are empty, and true.
            CallType::GetMaintenanceStatus => ready(answer(accept, ResponseType::GetMaintenanceStatus, |r| {
                r.get_maintenance_status = Some(GetMaintenanceStatus { status: Default::default() });
            })),
            CallType::GetMaintenanceSchedule => ready(answer(accept, ResponseType::GetMaintenanceSchedule, |r| {
                r.get_maintenance_schedule = Some(GetMaintenanceSchedule { schedule: Default::default() });
            })),
            CallType::GetQuota => ready(answer(accept, ResponseType::GetQuota, |r| {
                r.get_quota = Some(GetQuota { status: Default::default() });
            })),
            CallType::GetOperations => ready(answer(accept, ResponseType::GetOperations, |r| {
                r.get_operations = Some(GetOperations { operations: Vec::new() });
            })),
            CallType::Subscribe => ready(self.operator_subscribe(ctx, accept)),
            CallType::Teardown => {
                let id = call.teardown.map(|t| t.framework_id).unwrap_or_default();
                ready(self.operator_teardown(ctx, &id))
            }
            other => ready(mesos::operator::not_implemented(other.as_str_name(), "master")),
        }
    }

    /// LIST_FILES (C++ `Master::Http::listFiles`).
    fn list_files(&self, accept: ContentType, path: String) -> Future<Response> {
        let Some(files) = &self.operator.files else {
            return Future::ready(mesos::operator::not_implemented("LIST_FILES", "master (no files service)"));
        };
        mesos::operator::list_files(files, &path).map(move |result| match result {
            Ok(file_infos) => {
                answer(accept, ResponseType::ListFiles, |r| r.list_files = Some(ListFiles { file_infos }))
            }
            Err(response) => response,
        })
    }

    /// READ_FILE (C++ `Master::Http::readFile`).
    fn read_file(&self, accept: ContentType, read: mesos::proto::master::call::ReadFile) -> Future<Response> {
        let Some(files) = &self.operator.files else {
            return Future::ready(mesos::operator::not_implemented("READ_FILE", "master (no files service)"));
        };
        mesos::operator::read_file(files, &read.path, read.offset, read.length).map(move |result| match result {
            Ok(read) => answer(accept, ResponseType::ReadFile, |r| {
                r.read_file = Some(ReadFile { size: read.size, data: read.data });
            }),
            Err(response) => response,
        })
    }

    /// TEARDOWN (C++ `Master::Http::teardown`): the framework is removed; `400` if the
    /// master does not know it.
    fn operator_teardown(&mut self, ctx: &mut Context<Master>, id: &mesos::proto::FrameworkId) -> Response {
        if !self.frameworks.contains_key(id) {
            return Response::bad_request("No framework found with specified ID");
        }
        tracing::info!(framework = %id.value, "processing TEARDOWN operator call");
        self.remove_framework(ctx, id);
        Response::empty(Status::OK)
    }

    /// GET_ROLES (C++ `Master::Http::getRoles`): every known role with its weight, the
    /// frameworks tracked under it, and what they are allocated and offered there.
    fn roles(&self) -> Vec<Role> {
        let weights = self.flags.weights().unwrap_or_default();
        let (known, tracked) = self.known_roles();
        known
            .iter()
            .map(|role| {
                let held = &self.quantities_of_frameworks(|f| &f.total_used_resources, role)
                    + &self.quantities_of_frameworks(|f| &f.total_offered_resources, role);
                let resources = held
                    .iter()
                    .map(|(name, scalar)| Resource {
                        name: name.to_string(),
                        r#type: value::Type::Scalar as i32,
                        scalar: Some(value::Scalar { value: scalar.value }),
                        ..Default::default()
                    })
                    .collect();
                let frameworks: BTreeSet<&str> = tracked.get(role).cloned().unwrap_or_default();
                Role {
                    name: role.clone(),
                    weight: weights.get(role).copied().unwrap_or(DEFAULT_WEIGHT),
                    frameworks: frameworks
                        .into_iter()
                        .map(|id| mesos::proto::FrameworkId { value: id.to_string() })
                        .collect(),
                    resources,
                }
            })
            .collect()
    }

    // ----- the models -----

    /// C++ `model(Framework)`: a framework as GET_FRAMEWORKS and the framework events show
    /// it.
    fn framework_model(&self, framework: &Framework) -> FrameworkModel {
        let nonzero = |seconds: f64| (seconds != 0.0).then(|| time_info(seconds));
        let mut offers: Vec<_> = framework.offers.iter().filter_map(|id| self.offers.get(id).cloned()).collect();
        offers.sort_by(|a, b| a.id.value.cmp(&b.id.value));
        FrameworkModel {
            framework_info: framework.info.clone(),
            active: framework.active,
            connected: framework.connected,
            recovered: framework.recovered,
            registered_time: nonzero(framework.registered_time),
            reregistered_time: nonzero(framework.reregistered_time),
            unregistered_time: framework.unregistered_time.and_then(nonzero),
            offers,
            inverse_offers: Vec::new(),
            allocated_resources: endpoint_resources(framework.total_used_resources.iter()),
            offered_resources: endpoint_resources(framework.total_offered_resources.iter()),
            // No offer constraints yet.
            offer_constraints: Some(OfferConstraints::default()),
        }
    }

    /// Subscribed frameworks by id.
    fn frameworks_by_id(&self) -> Vec<&Framework> {
        let mut frameworks: Vec<&Framework> = self.frameworks.values().collect();
        frameworks.sort_unstable_by(|a, b| framework_id(a).cmp(framework_id(b)));
        frameworks
    }

    /// Subscribed frameworks by id, then the completed ones oldest first.
    fn all_frameworks(&self) -> Vec<&Framework> {
        let mut frameworks = self.frameworks_by_id();
        frameworks.extend(self.completed_frameworks.iter());
        frameworks
    }

    fn agent_models(&self) -> Vec<Agent> {
        let mut slaves: Vec<&Slave> = self.slaves.registered.values().collect();
        slaves.sort_unstable_by(|a, b| slave_id(a).cmp(slave_id(b)));
        slaves.into_iter().map(agent_model).collect()
    }

    fn recovered_agents(&self) -> Vec<&SlaveInfo> {
        let mut recovered: Vec<(&SlaveId, &SlaveInfo)> = self.slaves.recovered.iter().collect();
        recovered.sort_unstable_by(|a, b| a.0.value.cmp(&b.0.value));
        recovered.into_iter().map(|(_, info)| info).collect()
    }

    fn executor_models(&self) -> Vec<Executor> {
        let mut executors = Vec::new();
        for framework in self.all_frameworks() {
            let mut by_agent: Vec<(&SlaveId, &std::collections::HashMap<_, ExecutorInfo>)> =
                framework.executors.iter().collect();
            by_agent.sort_unstable_by(|a, b| a.0.value.cmp(&b.0.value));
            for (slave_id, infos) in by_agent {
                for info in infos.values() {
                    executors.push(Executor { executor_info: info.clone(), slave_id: slave_id.clone() });
                }
            }
        }
        executors
    }

    fn task_lists(&self) -> TaskLists<'_> {
        let frameworks = self.all_frameworks();
        let mut lists = TaskLists { tasks: Vec::new(), unreachable: Vec::new(), completed: Vec::new() };
        for framework in frameworks {
            lists.tasks.extend(framework.tasks.values());
            lists.unreachable.extend(framework.unreachable_tasks.iter());
            lists.completed.extend(framework.completed_tasks.iter());
        }
        lists
    }

    // ----- GET_STATE and its parts -----

    /// The answer to GET_STATE, GET_AGENTS, GET_FRAMEWORKS, GET_EXECUTORS or GET_TASKS: whole
    /// for a small cluster; for a large one streamed (chunked), written in the master's next
    /// turn as `/master/state` is (see `http.rs`). A protobuf answer needs every length before
    /// its first byte, so it is encoded whole in that turn, but its parts are sent as they
    /// are rather than copied into one buffer.
    fn state_part(
        &self,
        ctx: &mut Context<Master>,
        kind: CallType,
        accept: ContentType,
        chunked: bool,
    ) -> Future<Response> {
        // v1 JSON is about 1.5 times the size of `/master/state`, protobuf half of it.
        let bound = self.state_size_bound();
        let expected = if accept == ContentType::Json { bound / 2 * 3 } else { bound / 2 };
        if expected < self.stream_minimum || !chunked {
            return Future::ready(self.state_part_answer(kind, accept));
        }
        match accept {
            ContentType::Json => {
                let (response, mut w) = api::streamed_json(None, true);
                ctx.pid().dispatch_void(move |master: &mut Master, _ctx| {
                    master.write_state_part(&mut w, kind);
                    w.finish();
                });
                Future::ready(response)
            }
            ContentType::Protobuf => {
                let (response, mut stream) = api::streamed(accept.media_type());
                ctx.pid().dispatch_void(move |master: &mut Master, _ctx| {
                    let (response_type, tag, body) = master.encode_state_part(kind);
                    let mut out = ProtobufBuilder::with_buffer(CHUNKS.take_bytes(2 * CHUNK_SIZE));
                    out.varint(1, response_type as u64);
                    send_pb(Pb::Field(tag, body), &mut out, &mut stream);
                    stream.send(out.into_vec());
                });
                Future::ready(response)
            }
        }
    }

    /// The answer to GET_STATE, GET_AGENTS, GET_FRAMEWORKS, GET_EXECUTORS or GET_TASKS, whole.
    fn state_part_answer(&self, kind: CallType, accept: ContentType) -> Response {
        match accept {
            ContentType::Json => {
                let estimate = LAST_JSON_SIZE.load(Ordering::Relaxed) / 8 * 9;
                let mut w = Writer::with_buffer(ANSWERS.take(estimate), true);
                self.write_state_part(&mut w, kind);
                let text = w.into_string();
                if kind == CallType::GetState {
                    LAST_JSON_SIZE.store(text.len(), Ordering::Relaxed);
                }
                ok_bytes(accept, text.into_bytes())
            }
            ContentType::Protobuf => {
                let (response_type, tag, body) = self.encode_state_part(kind);
                ok_bytes(accept, assemble(response_type as u64, vec![Pb::Field(tag, body)]))
            }
        }
    }

    /// The `Response` of `kind` as v1 JSON: its type and the part of the state asked for.
    fn write_state_part(&self, w: &mut Writer, kind: CallType) {
        let (response_type, _, key) = state_part_kind(kind);
        w.begin_object();
        w.key_ident("type");
        w.str(response_type.as_str_name());
        w.key_ident(key);
        match response_type {
            ResponseType::GetAgents => self.write_get_agents(w),
            ResponseType::GetFrameworks => self.write_get_frameworks(w),
            ResponseType::GetExecutors => self.write_get_executors(w),
            ResponseType::GetTasks => self.write_get_tasks(w),
            _ => self.write_get_state(w),
        }
        w.end_object();
    }

    /// The `Response` type of `kind`, the field that carries its answer, and that answer's
    /// encoded parts.
    fn encode_state_part(&self, kind: CallType) -> (ResponseType, u32, Vec<Pb<'_>>) {
        let (response_type, tag, _) = state_part_kind(kind);
        let body = match response_type {
            ResponseType::GetAgents => self.encode_get_agents(),
            ResponseType::GetFrameworks => self.encode_get_frameworks(),
            ResponseType::GetExecutors => self.encode_get_executors(),
            ResponseType::GetTasks => self.encode_get_tasks(),
            _ => self.encode_get_state(),
        };
        (response_type, tag, body)
    }

    /// The size of the whole GET_STATE answer, written as a large one is sent (streamed, a
    /// chunk at a time) but with each chunk dropped at once (for the benchmark).
    fn state_answer(&self, content_type: ContentType) -> usize {
        match content_type {
            ContentType::Json => mesos::json::measure_streamed(true, |w| self.write_state_part(w, CallType::GetState)),
            ContentType::Protobuf => {
                let (response_type, tag, body) = self.encode_state_part(CallType::GetState);
                let element = Pb::Field(tag, body);
                let size = 1 + prost::encoding::encoded_len_varint(response_type as u64) + element.len();
                // The response is dropped: each chunk comes back as soon as it is sent.
                let (response, mut stream) = api::streamed(content_type.media_type());
                drop(response);
                let mut out = ProtobufBuilder::with_buffer(CHUNKS.take_bytes(2 * CHUNK_SIZE));
                out.varint(1, response_type as u64);
                send_pb(element, &mut out, &mut stream);
                stream.send(out.into_vec());
                size
            }
        }
    }

    /// `GetState` as v1 JSON (C++ `jsonifyGetState`).
    fn write_get_state(&self, w: &mut Writer) {
        w.begin_object();
        w.key_ident("get_tasks");
        self.write_get_tasks(w);
        w.key_ident("get_executors");
        self.write_get_executors(w);
        w.key_ident("get_frameworks");
        self.write_get_frameworks(w);
        w.key_ident("get_agents");
        self.write_get_agents(w);
        w.end_object();
    }

    fn write_get_tasks(&self, w: &mut Writer) {
        let lists = self.task_lists();
        w.begin_object();
        w.key_ident("tasks");
        // Tasks keep their v1 JSON once made (`TaskRecord`): it is copied.
        write_json_array(w, &lists.tasks, V1_TASK_SIZE, |w, task| w.raw(task.v1_json()));
        w.key_ident("unreachable_tasks");
        write_message_array(w, &lists.unreachable, V1_TASK_SIZE);
        w.key_ident("completed_tasks");
        // Completed tasks never change: their v1 JSON is made once and copied after.
        write_json_array(w, &lists.completed, V1_TASK_SIZE, |w, task| w.raw(task.v1_json()));
        w.end_object();
    }

    fn write_get_executors(&self, w: &mut Writer) {
        let executors = self.executor_models();
        w.begin_object();
        w.key_ident("executors");
        write_json_array(w, &executors, 400, |w, executor| w.message(executor));
        w.end_object();
    }

    fn write_get_frameworks(&self, w: &mut Writer) {
        w.begin_object();
        w.key_ident("frameworks");
        w.begin_array();
        for framework in self.frameworks_by_id() {
            w.message(&self.framework_model(framework));
        }
        w.end_array();
        w.key_ident("completed_frameworks");
        w.begin_array();
        for framework in &self.completed_frameworks {
            w.message(&self.framework_model(framework));
        }
        w.end_array();
        w.end_object();
    }

    fn write_get_agents(&self, w: &mut Writer) {
        let agents = self.agent_models();
        w.begin_object();
        w.key_ident("agents");
        write_json_array(w, &agents, 2000, |w, agent| w.message(agent));
        w.key_ident("recovered_agents");
        write_message_array(w, &self.recovered_agents(), 600);
        w.end_object();
    }

    /// `GetState` as protobuf (C++ `serializeGetState`): its four fields.
    fn encode_get_state(&self) -> Vec<Pb<'_>> {
        vec![
            Pb::Field(1, self.encode_get_tasks()),
            Pb::Field(2, self.encode_get_executors()),
            Pb::Field(3, self.encode_get_frameworks()),
            Pb::Field(4, self.encode_get_agents()),
        ]
    }

    fn encode_get_tasks(&self) -> Vec<Pb<'_>> {
        let lists = self.task_lists();
        // Tasks keep their encoding (`TaskRecord`): it is framed as it is.
        let mut out = vec![
            Pb::Bodies(2, lists.tasks.iter().map(|task| task.protobuf()).collect()),
            Pb::Bodies(3, lists.completed.iter().map(|task| task.protobuf()).collect()),
        ];
        out.extend(Pb::repeated(5, &lists.unreachable));
        out
    }

    fn encode_get_executors(&self) -> Vec<Pb<'_>> {
        let executors = self.executor_models();
        Pb::repeated(1, &executors.iter().collect::<Vec<_>>())
    }

    fn encode_get_frameworks(&self) -> Vec<Pb<'_>> {
        let mut out = ProtobufBuilder::new();
        for framework in self.frameworks_by_id() {
            out.message(1, &self.framework_model(framework));
        }
        for framework in &self.completed_frameworks {
            out.message(2, &self.framework_model(framework));
        }
        vec![Pb::Bytes(out.into_vec())]
    }

    fn encode_get_agents(&self) -> Vec<Pb<'_>> {
        let agents = self.agent_models();
        let mut out = Pb::repeated(1, &agents.iter().collect::<Vec<_>>());
        out.extend(Pb::repeated(2, &self.recovered_agents()));
        out
    }

    // ----- SUBSCRIBE and the events built from the books -----

    /// SUBSCRIBE (C++ `ReadOnlyHandler::subscribe` and `Master::subscribe`): a stream that
    /// starts with SUBSCRIBED (the whole state and the heartbeat interval) and a HEARTBEAT.
    fn operator_subscribe(&mut self, ctx: &mut Context<Master>, accept: ContentType) -> Response {
        let (stream, response) = Stream::open(accept);
        let interval = DEFAULT_HEARTBEAT_INTERVAL.as_secs_f64();
        let subscribed = match accept {
            ContentType::Json => {
                let mut w = Writer::v1();
                w.begin_object();
                w.key_ident("type");
                w.str(EventType::Subscribed.as_str_name());
                w.key_ident("subscribed");
                w.begin_object();
                w.key_ident("get_state");
                self.write_get_state(&mut w);
                w.key_ident("heartbeat_interval_seconds");
                w.f64(interval);
                w.end_object();
                w.end_object();
                w.into_string().into_bytes()
            }
            ContentType::Protobuf => {
                let mut seconds = ProtobufBuilder::new();
                seconds.double(2, interval);
                let subscribed =
                    Pb::Field(2, vec![Pb::Field(1, self.encode_get_state()), Pb::Bytes(seconds.into_vec())]);
                assemble(EventType::Subscribed as u64, vec![subscribed])
            }
        };
        stream.send_serialized(&subscribed);
        stream.send(&heartbeat_event());
        tracing::info!(subscriber = %stream.id, "added an operator event stream subscriber");
        self.operator.events.add(ctx, stream);
        response
    }

    /// AGENT_ADDED (C++ `Master::addSlave`).
    pub(super) fn publish_agent_added(&self, id: &SlaveId) {
        if self.operator.events.is_empty() {
            return;
        }
        let Some(slave) = self.slaves.registered.get(id) else { return };
        self.operator.events.send(&Event {
            r#type: Some(EventType::AgentAdded as i32),
            agent_added: Some(mesos::proto::master::event::AgentAdded { agent: agent_model(slave) }),
            ..Default::default()
        });
    }

    /// FRAMEWORK_ADDED (C++ `Master::_subscribe`, `recoverFramework`).
    pub(super) fn publish_framework_added(&self, id: &mesos::proto::FrameworkId) {
        if self.operator.events.is_empty() {
            return;
        }
        let Some(framework) = self.frameworks.get(id) else { return };
        self.operator.events.send(&Event {
            r#type: Some(EventType::FrameworkAdded as i32),
            framework_added: Some(FrameworkAdded { framework: self.framework_model(framework) }),
            ..Default::default()
        });
    }

    /// FRAMEWORK_UPDATED (C++ `Master::sendFrameworkUpdates`).
    pub(super) fn publish_framework_updated(&self, id: &mesos::proto::FrameworkId) {
        if self.operator.events.is_empty() {
            return;
        }
        let Some(framework) = self.frameworks.get(id) else { return };
        self.operator.events.send(&Event {
            r#type: Some(EventType::FrameworkUpdated as i32),
            framework_updated: Some(FrameworkUpdated { framework: self.framework_model(framework) }),
            ..Default::default()
        });
    }
}

fn slave_id(slave: &Slave) -> &str {
    slave.info.id.as_ref().map_or("", |id| id.value.as_str())
}

fn framework_id(framework: &Framework) -> &str {
    framework.info.id.as_ref().map_or("", |id| id.value.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;
    use prost::Message;

    #[test]
    fn validation_wants_a_type_and_the_arguments() {
        assert_eq!(validate(&Call::default()).unwrap_err(), "Expecting 'type' to be present");
        let call = Call { r#type: Some(CallType::GetMetrics as i32), ..Default::default() };
        assert_eq!(validate(&call).unwrap_err(), "Expecting 'get_metrics' to be present");
        let call = Call { r#type: Some(CallType::Teardown as i32), ..Default::default() };
        assert_eq!(validate(&call).unwrap_err(), "Expecting 'teardown' to be present");
        let call = Call { r#type: Some(999), ..Default::default() };
        assert!(validate(&call).is_err());
        let call = Call { r#type: Some(CallType::GetState as i32), ..Default::default() };
        assert_eq!(validate(&call).unwrap(), CallType::GetState);
    }

    #[test]
    fn hand_framed_protobuf_decodes_as_the_generated_type() {
        let task = Task { name: "t".into(), ..Default::default() };
        let tasks = vec![&task, &task];
        let body = vec![Pb::Field(1, Pb::repeated(2, &tasks)), Pb::Field(4, Vec::new())];
        let bytes = assemble(ResponseType::GetState as u64, vec![Pb::Field(9, body)]);
        let decoded = ApiResponse::decode(bytes.as_slice()).unwrap();
        assert_eq!(decoded.r#type(), ResponseType::GetState);
        let state = decoded.get_state.unwrap();
        assert_eq!(state.get_tasks.unwrap().tasks.len(), 2);
        assert!(state.get_agents.is_some());
        assert!(state.get_executors.is_none());
    }
}
