//! The master's read-only HTTP endpoints (`/master/state`, `state-summary`, `frameworks`, `slaves`, `tasks`, `roles`, `flags`, `health`, `redirect`), written as JSON straight from the master's books (child module of `master.rs`); mirrors `src/master/http.cpp` and `src/master/readonly_handler.cpp`.
//!
//! Each handler runs inside the master process, so it reads a consistent state without
//! copying it. A small document is written whole into one pooled `String` with [`Writer`]
//! and sent with a `Content-Length`, as C++ does. A large one (`/master/state` of a big
//! cluster is hundreds of MB) is streamed: the chunked response goes back at once and the
//! master writes the document in its next turn, a 1 MB chunk at a time, each sent while the
//! next is written ([`document`]). C++ batches identical concurrent requests and renders
//! them on worker threads while the master waits; here long arrays are shared out to every
//! core ([`segments`]), the master waiting for them.
//!
//! This master is standalone, so it is always the leader: no endpoint redirects, and
//! `elected_time` is the instant it started (C++ sets it when the contender elects it,
//! which standalone is at once).
//!
//! Not done yet: authentication and authorization (everything is visible, as C++ without an
//! authorizer), `drain_info` and deactivation of agents (no maintenance), quota (no quota:
//! every role's `guarantee` and `limit` are empty), weights changed through the registry
//! (`/master/roles` shows `--weights`), `offer_constraints` (always `{}`), and the git fields
//! of the version.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::net::Ipv4Addr;

use libprocess::http::{Request, Response, Status};
use libprocess::{Context, Future};
use mesos::buffers::BufferPool;
use mesos::http::{
    executor_fields, slave_info_fields, write_capabilities, write_domain, write_labels, write_master_info, write_offer,
    write_quantities, write_resources, write_resources_sum, write_slave_info, write_task_array,
};
use mesos::json::Writer;
use mesos::proto::framework_info::capability::Type as FrameworkCapability;
use mesos::proto::master_info::capability::Type as MasterCapability;
use mesos::proto::slave_info::capability::Type as AgentCapability;
use mesos::proto::{Resource, Task, TaskState};
use mesos::resources::{convert_resource_format, is_strict_subrole_of, reservation_role, ResourceFormat, Resources};
use mesos::segments;

use super::{Master, MasterHandle, Slave, PROCESS_ID};
use crate::constants::{DEFAULT_WEIGHT, TASK_LIMIT};
use crate::framework::{self, Framework, TaskRecord};
use crate::resource_quantities::ResourceQuantities;

/// Installs the HTTP routes, in C++'s order (the route part of `Master::initialize`).
pub(super) fn install_routes(ctx: &mut Context<Master>) {
    ctx.route("/frameworks", FRAMEWORKS_HELP, |master, ctx, request: Request| {
        let filter = request.url.query.get("framework_id").cloned();
        let bound = master.state_size_bound();
        document(master, ctx, &request, bound, move |master, _pid, w| master.write_frameworks(w, filter.as_ref()))
    });
    ctx.route("/flags", FLAGS_HELP, |master, _ctx, request: Request| {
        let text = render(0, |w| {
            w.begin_object();
            w.key_ident("flags");
            master.write_flags(w);
            w.end_object();
        });
        json(&request, text)
    });
    ctx.route("/health", HEALTH_HELP, |_master, _ctx, _request| Future::ready(Response::empty(Status::OK)));
    // C++ serves the version only at `/version` (the `version` process); a master answering
    // `/master/version` too is asked for, and no Mesos client depends on its absence.
    ctx.route("/version", VERSION_HELP, |_master, _ctx, request: Request| {
        Future::ready(Response::json_text(
            mesos::version::version_json(),
            request.url.query.get("jsonp").map(String::as_str),
        ))
    });
    ctx.route("/redirect", REDIRECT_HELP, |master, _ctx, request: Request| Future::ready(master.redirect(&request)));
    ctx.route("/roles", ROLES_HELP, |master, _ctx, request: Request| {
        let text = render(0, |w| master.write_roles(w));
        json(&request, text)
    });
    ctx.route("/slaves", SLAVES_HELP, |master, ctx, request: Request| {
        let filter = request.url.query.get("slave_id").cloned();
        let bound = master.slaves_size_bound();
        document(master, ctx, &request, bound, move |master, _pid, w| master.write_slaves(w, filter.as_ref()))
    });
    ctx.route("/state", STATE_HELP, move |master, ctx, request: Request| {
        let bound = master.state_size_bound();
        document(master, ctx, &request, bound, |master, pid, w| master.write_state(w, pid))
    });
    ctx.route("/state-summary", STATE_SUMMARY_HELP, |master, _ctx, request: Request| {
        let text = render(0, |w| master.write_state_summary(w));
        json(&request, text)
    });
    ctx.route("/tasks", TASKS_HELP, |master, _ctx, request: Request| {
        let query = TasksQuery::parse(&request.url.query);
        let text = render(0, |w| master.write_tasks(w, &query));
        json(&request, text)
    });
}

/// A document that may be large (`/master/state`, `/master/frameworks`, `/master/slaves`),
/// expected to take at most `size_bound` bytes. A small one is written whole into a pooled
/// buffer and sent with a `Content-Length`, as C++ sends every document; so is any one for
/// a client that cannot take it streamed ([`mesos::api::may_stream`]). A large one is
/// streamed: the response (a chunked pipe) goes back at once, and the document is written
/// in the master's next turn, chunk by chunk, each sent as soon as it is full. The client
/// then receives while the master writes, and the master touches a few MB of reused chunks
/// instead of hundreds of MB of fresh memory. The document is the state of that one turn,
/// as consistent as one written now; C++ likewise answers from a later turn when it batches
/// requests.
fn document(
    master: &Master,
    ctx: &mut Context<Master>,
    request: &Request,
    size_bound: usize,
    write: impl FnOnce(&Master, &str, &mut Writer) + Send + 'static,
) -> Future<Response> {
    let pid = ctx.upid().to_string();
    if size_bound < master.stream_minimum || !mesos::api::may_stream(request) {
        let text = render(size_bound, |w| write(master, &pid, w));
        return json(request, text);
    }
    let (response, mut w) = mesos::api::streamed_json(request.url.query.get("jsonp").map(String::as_str), false);
    ctx.pid().dispatch_void(move |master: &mut Master, _ctx| {
        write(master, &pid, &mut w);
        w.finish();
    });
    Future::ready(response)
}

impl MasterHandle {
    /// Streams documents expected to be larger than `bytes` (for tests, which use small
    /// clusters; see [`crate::constants::STREAMED_DOCUMENT_MINIMUM`]).
    #[doc(hidden)]
    pub fn stream_documents_over(&self, bytes: usize) -> Future<()> {
        self.pid.dispatch(move |master, _ctx| master.stream_minimum = bytes)
    }

    /// Renders `/master/state` inside the master, as a large one is sent (streamed, a chunk
    /// at a time) but with each chunk dropped at once, and returns its size in bytes: for the
    /// benchmark that times the JSON generation without HTTP. Not an API.
    #[doc(hidden)]
    pub fn render_state_for_benchmark(&self) -> Future<usize> {
        self.pid.dispatch(move |master, ctx| {
            let pid = ctx.upid().to_string();
            mesos::json::measure_streamed(false, |w| master.write_state(w, &pid))
        })
    }
}

/// Guesses of the size of an agent and of a task in `/master/state`, to cut long arrays
/// into segments of about one chunk ([`segments`]).
const AGENT_SIZE: usize = 1500;
const TASK_SIZE: usize = 600;

/// The buffers documents are rendered into: a `/master/state` of a large cluster is
/// hundreds of MB, and writing it into pages touched before is much faster than into fresh
/// ones. Two, so that a small document rendered while a big one is being sent does not
/// evict it.
static DOCUMENTS: BufferPool = BufferPool::new(2);

/// Renders one document into a buffer of at least `capacity` bytes to start with.
fn render(capacity: usize, write: impl FnOnce(&mut Writer)) -> String {
    let mut w = Writer::with_buffer(DOCUMENTS.take(capacity), false);
    write(&mut w);
    w.into_string()
}

/// `200 OK` with `text` as `application/json`, or wrapped for `?jsonp=` (C++ `OK(json, jsonp)`).
/// The buffer goes back to [`DOCUMENTS`] once the body has been sent.
fn json(request: &Request, text: String) -> Future<Response> {
    let response = match request.url.query.get("jsonp") {
        Some(callback) => Response::json_text(text, Some(callback)),
        None => Response::json_text_bytes(DOCUMENTS.into_bytes(text)),
    };
    Future::ready(response)
}

/// Whether an optional `?<kind>_id=` filter lets `id` through (C++ `IDAcceptor`).
fn accepts(filter: Option<&String>, id: &str) -> bool {
    filter.is_none_or(|wanted| wanted == id)
}

/// The query of `/master/tasks`.
#[derive(Debug)]
struct TasksQuery {
    limit: usize,
    offset: usize,
    ascending: bool,
    framework_id: Option<String>,
    task_id: Option<String>,
}

impl TasksQuery {
    /// As C++ reads it: `limit` and `offset` that do not parse as an `int` fall back to their
    /// defaults (100 and 0), and a negative one wraps to a huge `size_t`; only `order=asc`
    /// sorts ascending.
    fn parse(query: &BTreeMap<String, String>) -> TasksQuery {
        let number = |key: &str, default: usize| query.get(key).and_then(|text| numify_int(text)).map_or(default, wrap);
        TasksQuery {
            limit: number("limit", TASK_LIMIT),
            offset: number("offset", 0),
            ascending: query.get("order").is_some_and(|order| order == "asc"),
            framework_id: query.get("framework_id").cloned(),
            task_id: query.get("task_id").cloned(),
        }
    }
}

/// An `int` converted to `size_t` as C++ does, negative values modulo 2^64.
fn wrap(value: i32) -> usize {
    value as isize as usize
}

/// stout's `numify<int>`: decimal with an optional sign, or hexadecimal with a `0x` (or
/// `-0x`) prefix; nothing else, not even surrounding spaces.
fn numify_int(text: &str) -> Option<i32> {
    let (negative, digits) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text.strip_prefix('+').unwrap_or(text)),
    };
    let hex = digits.strip_prefix("0x").or_else(|| digits.strip_prefix("0X"));
    if let Some(hex) = hex {
        if hex.is_empty() || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        let magnitude = i64::from_str_radix(hex, 16).ok()?;
        let value = if negative { -magnitude } else { magnitude };
        return i32::try_from(value).ok();
    }
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

/// Task counts by state, for `/master/state-summary` (C++ `TaskStateSummary`).
#[derive(Default, Clone, Copy)]
struct TaskCounts {
    staging: usize,
    starting: usize,
    running: usize,
    killing: usize,
    finished: usize,
    killed: usize,
    failed: usize,
    lost: usize,
    error: usize,
    unreachable: usize,
}

impl TaskCounts {
    fn count(&mut self, state: TaskState) {
        let slot = match state {
            TaskState::TaskStaging => &mut self.staging,
            TaskState::TaskStarting => &mut self.starting,
            TaskState::TaskRunning => &mut self.running,
            TaskState::TaskKilling => &mut self.killing,
            TaskState::TaskFinished => &mut self.finished,
            TaskState::TaskKilled => &mut self.killed,
            TaskState::TaskFailed => &mut self.failed,
            TaskState::TaskLost => &mut self.lost,
            TaskState::TaskError => &mut self.error,
            TaskState::TaskUnreachable => &mut self.unreachable,
            // Counted by C++ but not shown.
            _ => return,
        };
        *slot += 1;
    }

    /// The `TASK_*` keys, into an open object.
    fn write_fields(&self, w: &mut Writer) {
        let counts = [
            ("TASK_STAGING", self.staging),
            ("TASK_STARTING", self.starting),
            ("TASK_RUNNING", self.running),
            ("TASK_KILLING", self.killing),
            ("TASK_FINISHED", self.finished),
            ("TASK_KILLED", self.killed),
            ("TASK_FAILED", self.failed),
            ("TASK_LOST", self.lost),
            ("TASK_ERROR", self.error),
            ("TASK_UNREACHABLE", self.unreachable),
        ];
        for (key, count) in counts {
            w.key_ident(key);
            w.u64(count as u64);
        }
    }
}

/// The tasks a framework knows of: active, unreachable, then completed.
fn all_tasks(framework: &Framework) -> impl Iterator<Item = &Task> + '_ {
    let active = framework.tasks.values().map(TaskRecord::task);
    let completed = framework.completed_tasks.iter().map(TaskRecord::task);
    active.chain(framework.unreachable_tasks.iter()).chain(completed)
}

/// Whether `resource` is allocated to `role` or one of its subroles (C++
/// `allocatedToRoleSubtree`).
fn allocated_to_subtree(resource: &Resource, role: &str) -> bool {
    let allocated = resource.allocation_info.as_ref().and_then(|a| a.role.as_deref());
    allocated.is_some_and(|r| r == role || is_strict_subrole_of(r, role))
}

/// Whether `resource` is reserved to `role` or one of its subroles (C++
/// `reservedToRoleSubtree`).
fn reserved_to_subtree(resource: &Resource, role: &str) -> bool {
    reservation_role(resource).is_some_and(|r| r == role || is_strict_subrole_of(r, role))
}

/// `role` and its ancestors (`a/b/c`, `a/b`, `a`) into `known`.
fn insert_with_ancestors(known: &mut BTreeSet<String>, role: &str) {
    let mut role = role;
    loop {
        if !known.insert(role.to_owned()) {
            // Its ancestors are in already.
            return;
        }
        match role.rfind('/') {
            Some(index) => role = &role[..index],
            None => return,
        }
    }
}

/// Writes resources in the endpoint format, as protobuf JSON (the `*_full` arrays).
fn write_full_resources<'a>(w: &mut Writer, resources: impl IntoIterator<Item = &'a Resource>) {
    w.begin_array();
    for resource in resources {
        let mut resource = resource.clone();
        // Stored resources are post-refinement, which always converts.
        if convert_resource_format(&mut resource, ResourceFormat::Endpoint).is_err() {
            tracing::warn!(resource = %resource.name, "cannot show a resource in the endpoint format");
        }
        w.message(&resource);
    }
    w.end_array();
}

impl Slave {
    /// What its frameworks use there, summed (C++ `Resources::sum(usedResources)`).
    fn total_used_resources(&self) -> Resources {
        self.used_total.clone()
    }
}

impl Master {
    /// Registered agents by id, for a stable output order.
    fn sorted_slaves(&self) -> Vec<&Slave> {
        let mut slaves: Vec<&Slave> = self.slaves.registered.values().collect();
        slaves.sort_unstable_by(|a, b| slave_id(a).cmp(slave_id(b)));
        slaves
    }

    /// Subscribed frameworks by id.
    fn sorted_frameworks(&self) -> Vec<&Framework> {
        let mut frameworks: Vec<&Framework> = self.frameworks.values().collect();
        frameworks.sort_unstable_by(|a, b| framework_id(a).cmp(framework_id(b)));
        frameworks
    }

    /// A generous guess at the size of `/master/state`, to reserve its buffer at once: the
    /// document can be hundreds of MB, and growing it by doubling copies it again and again.
    /// Reserved memory that is never written is never touched, so guessing high costs
    /// little.
    pub(super) fn state_size_bound(&self) -> usize {
        const PER_TASK: usize = 1024;
        const PER_AGENT: usize = 4096;
        const PER_FRAMEWORK: usize = 16 * 1024;
        let frameworks = self.frameworks.values().chain(&self.completed_frameworks);
        let tasks: usize = frameworks
            .map(|f| PER_FRAMEWORK + PER_TASK * (f.tasks.len() + f.unreachable_tasks.len() + f.completed_tasks.len()))
            .sum();
        64 * 1024 + tasks + PER_AGENT * (self.slaves.registered.len() + self.slaves.recovered.len())
    }

    /// A generous guess at the size of `/master/slaves`.
    fn slaves_size_bound(&self) -> usize {
        const PER_AGENT: usize = 4096;
        64 * 1024 + PER_AGENT * (self.slaves.registered.len() + self.slaves.recovered.len())
    }

    /// `/master/state` (C++ `ReadOnlyHandler::state`).
    fn write_state(&self, w: &mut Writer, pid: &str) {
        w.begin_object();
        mesos::version::write_version_fields(w);
        w.key_ident("start_time");
        w.f64(self.start_time);
        if let Some(elected) = self.elected_time {
            w.key_ident("elected_time");
            w.f64(elected);
        }
        w.key_ident("id");
        w.str(&self.info.id);
        w.key_ident("pid");
        w.str(pid);
        w.key_ident("hostname");
        w.str(self.info.hostname());
        w.key_ident("capabilities");
        write_capabilities::<MasterCapability>(w, self.info.capabilities.iter().map(|c| c.r#type.unwrap_or_default()));
        let active = self.slaves.registered.values().filter(|slave| slave.active).count();
        let inactive = self.slaves.registered.len() - active;
        w.key_ident("activated_slaves");
        w.f64(active as f64);
        w.key_ident("deactivated_slaves");
        w.f64(inactive as f64);
        w.key_ident("unreachable_slaves");
        w.f64(self.slaves.unreachable.len() as f64);
        if let Some(domain) = &self.info.domain {
            w.key_ident("domain");
            write_domain(w, domain);
        }
        // The leader is this master.
        w.key_ident("leader");
        w.str(self.info.pid());
        w.key_ident("leader_info");
        write_master_info(w, &self.info);
        if let Some(cluster) = &self.flags.cluster {
            w.key_ident("cluster");
            w.str(cluster);
        }
        if let Some(log_dir) = &self.flags.log_dir {
            w.key_ident("log_dir");
            w.str(log_dir);
        }
        if let Some(external_log_file) = &self.flags.external_log_file {
            w.key_ident("external_log_file");
            w.str(external_log_file);
        }
        w.key_ident("flags");
        self.write_flags(w);

        w.key_ident("slaves");
        segments::write_array(w, &self.sorted_slaves(), AGENT_SIZE, |w, run| {
            for slave in run {
                w.begin_object();
                Self::slave_fields(w, slave);
                w.end_object();
            }
        });
        w.key_ident("recovered_slaves");
        self.write_recovered_slaves(w, None);
        w.key_ident("frameworks");
        w.begin_array();
        for framework in self.sorted_frameworks() {
            self.write_full_framework(w, framework);
        }
        w.end_array();
        w.key_ident("completed_frameworks");
        w.begin_array();
        for framework in &self.completed_frameworks {
            self.write_full_framework(w, framework);
        }
        w.end_array();
        // Both are gone from Mesos; kept empty for old clients.
        w.key_ident("orphan_tasks");
        w.raw("[]");
        w.key_ident("unregistered_frameworks");
        w.raw("[]");
        w.end_object();
    }

    /// The flags as `{name: "value"}` (C++ `Http::__flags`).
    fn write_flags(&self, w: &mut Writer) {
        w.begin_object();
        for (name, value) in self.flags.to_pairs() {
            w.key(&name);
            w.str(&value);
        }
        w.end_object();
    }

    /// An agent's keys (C++ `SlaveWriter`).
    fn slave_fields(w: &mut Writer, slave: &Slave) {
        slave_info_fields(w, &slave.info);
        w.key_ident("pid");
        w.str(&slave.pid.to_string());
        w.key_ident("registered_time");
        w.f64(slave.registered_time);
        if let Some(reregistered_time) = slave.reregistered_time {
            w.key_ident("reregistered_time");
            w.f64(reregistered_time);
        }
        // One `Resources` for the total, then filters: with tens of thousands of agents the
        // copies `reservations()` and `unreserved()` make cost more than the writing.
        let total = slave.total_resources();
        w.key_ident("resources");
        write_resources(w, total.iter());
        w.key_ident("used_resources");
        write_resources_sum(w, slave.used_resources.values().flat_map(Resources::iter));
        w.key_ident("offered_resources");
        write_resources(w, slave.offered_resources.iter());
        w.key_ident("reserved_resources");
        w.begin_object();
        let mut roles: Vec<&str> = total.iter().filter_map(reservation_role).collect();
        roles.sort_unstable();
        roles.dedup();
        for role in roles {
            w.key(role);
            write_resources(w, total.iter().filter(|r| reservation_role(r) == Some(role)));
        }
        w.end_object();
        w.key_ident("unreserved_resources");
        write_resources(w, total.iter().filter(|r| reservation_role(r).is_none()));
        w.key_ident("active");
        w.bool(slave.active);
        // No operator deactivation (maintenance) yet.
        w.key_ident("deactivated");
        w.bool(false);
        w.key_ident("version");
        w.str(&slave.version);
        w.key_ident("capabilities");
        write_capabilities::<AgentCapability>(w, slave.capabilities.iter().copied());
    }

    /// `recovered_slaves`: agents admitted in the registry that have not reregistered.
    fn write_recovered_slaves(&self, w: &mut Writer, filter: Option<&String>) {
        let mut recovered: Vec<_> = self.slaves.recovered.iter().filter(|(id, _)| accepts(filter, &id.value)).collect();
        recovered.sort_unstable_by(|a, b| a.0.value.cmp(&b.0.value));
        w.begin_array();
        for (_, info) in recovered {
            write_slave_info(w, info);
        }
        w.end_array();
    }

    /// A framework's summary keys (C++ `json(Summary<Framework>)`).
    fn framework_summary_fields(&self, w: &mut Writer, framework: &Framework) {
        w.key_ident("id");
        w.str(framework_id(framework));
        w.key_ident("name");
        w.str(&framework.info.name);
        // Only a v0 driver has a pid: not an HTTP scheduler, nor a framework recovered from
        // an agent until it subscribes.
        if let Some(pid) = framework.pid() {
            w.key_ident("pid");
            w.str(&pid.to_string());
        }
        w.key_ident("used_resources");
        write_resources(w, framework.total_used_resources.iter());
        w.key_ident("offered_resources");
        write_resources(w, framework.total_offered_resources.iter());
        w.key_ident("capabilities");
        write_capabilities::<FrameworkCapability>(
            w,
            framework.info.capabilities.iter().map(|c| c.r#type.unwrap_or_default()),
        );
        w.key_ident("hostname");
        w.str(framework.info.hostname());
        w.key_ident("webui_url");
        w.str(framework.info.webui_url());
        w.key_ident("active");
        w.bool(framework.active);
        w.key_ident("connected");
        w.bool(framework.connected);
        w.key_ident("recovered");
        w.bool(framework.recovered);
    }

    /// A framework with its tasks, offers and executors (C++ `FullFrameworkWriter`).
    fn write_full_framework(&self, w: &mut Writer, framework: &Framework) {
        let info = &framework.info;
        w.begin_object();
        self.framework_summary_fields(w, framework);
        w.key_ident("user");
        w.str(&info.user);
        w.key_ident("failover_timeout");
        w.f64(info.failover_timeout());
        w.key_ident("checkpoint");
        w.bool(info.checkpoint());
        w.key_ident("registered_time");
        w.f64(framework.registered_time);
        w.key_ident("unregistered_time");
        w.f64(framework.unregistered_time.unwrap_or(0.0));
        if let Some(principal) = &info.principal {
            w.key_ident("principal");
            w.str(principal);
        }
        w.key_ident("resources");
        let held = framework.total_used_resources.clone() + framework.total_offered_resources.clone();
        write_resources(w, held.iter());
        if framework.reregistered_time != framework.registered_time {
            w.key_ident("reregistered_time");
            w.f64(framework.reregistered_time);
        }
        if framework::multi_role(info) {
            w.key_ident("roles");
            w.begin_array();
            for role in &info.roles {
                w.str(role);
            }
            w.end_array();
        } else {
            w.key_ident("role");
            w.str(info.role());
        }
        w.key_ident("tasks");
        // Tasks keep their JSON up to date (`TaskRecord`): it is copied.
        let active: Vec<_> = framework.tasks.values().collect();
        segments::write_array(w, &active, TASK_SIZE, |w, run| {
            for task in run {
                w.raw(&task.json);
            }
        });
        w.key_ident("unreachable_tasks");
        write_task_array(w, &framework.unreachable_tasks.iter().collect::<Vec<_>>());
        w.key_ident("completed_tasks");
        let completed: Vec<_> = framework.completed_tasks.iter().collect();
        segments::write_array(w, &completed, TASK_SIZE, |w, run| {
            for task in run {
                w.raw(&task.json);
            }
        });
        w.key_ident("offers");
        w.begin_array();
        for offer in framework.offers.iter().filter_map(|id| self.offers.get(id)) {
            write_offer(w, offer);
        }
        w.end_array();
        w.key_ident("executors");
        w.begin_array();
        for (slave_id, executors) in &framework.executors {
            for executor in executors.values() {
                w.begin_object();
                executor_fields(w, executor);
                w.key_ident("slave_id");
                w.str(&slave_id.value);
                w.end_object();
            }
        }
        w.end_array();
        if let Some(labels) = &info.labels {
            w.key_ident("labels");
            write_labels(w, labels);
        }
        // No offer constraints yet: the protobuf JSON of an empty `OfferConstraints`.
        w.key_ident("offer_constraints");
        w.raw("{}");
        w.end_object();
    }

    /// `/master/state-summary` (C++ `ReadOnlyHandler::stateSummary`): agents and subscribed
    /// frameworks with task counts by state, and which agents run which frameworks.
    fn write_state_summary(&self, w: &mut Writer) {
        let mut by_slave: HashMap<&str, (TaskCounts, BTreeSet<&str>)> = HashMap::new();
        let mut by_framework: HashMap<&str, (TaskCounts, BTreeSet<&str>)> = HashMap::new();
        for framework in self.frameworks.values() {
            let id = framework_id(framework);
            let (framework_counts, slaves) = by_framework.entry(id).or_default();
            for task in all_tasks(framework) {
                framework_counts.count(task.state());
                slaves.insert(&task.slave_id.value);
                let (slave_counts, frameworks) = by_slave.entry(&task.slave_id.value).or_default();
                slave_counts.count(task.state());
                frameworks.insert(id);
            }
        }

        w.begin_object();
        w.key_ident("hostname");
        w.str(self.info.hostname());
        if let Some(cluster) = &self.flags.cluster {
            w.key_ident("cluster");
            w.str(cluster);
        }
        w.key_ident("slaves");
        w.begin_array();
        for slave in self.sorted_slaves() {
            w.begin_object();
            Self::slave_fields(w, slave);
            let (counts, frameworks) = by_slave.get(slave_id(slave)).cloned().unwrap_or_default();
            counts.write_fields(w);
            w.key_ident("framework_ids");
            w.begin_array();
            for id in frameworks {
                w.str(id);
            }
            w.end_array();
            w.end_object();
        }
        w.end_array();
        w.key_ident("frameworks");
        w.begin_array();
        for framework in self.sorted_frameworks() {
            w.begin_object();
            self.framework_summary_fields(w, framework);
            let (counts, slaves) = by_framework.get(framework_id(framework)).cloned().unwrap_or_default();
            counts.write_fields(w);
            w.key_ident("slave_ids");
            w.begin_array();
            for id in slaves {
                w.str(id);
            }
            w.end_array();
            w.end_object();
        }
        w.end_array();
        w.end_object();
    }

    /// `/master/frameworks` (C++ `ReadOnlyHandler::frameworks`).
    fn write_frameworks(&self, w: &mut Writer, filter: Option<&String>) {
        w.begin_object();
        w.key_ident("frameworks");
        w.begin_array();
        for framework in self.sorted_frameworks() {
            if accepts(filter, framework_id(framework)) {
                self.write_full_framework(w, framework);
            }
        }
        w.end_array();
        w.key_ident("completed_frameworks");
        w.begin_array();
        for framework in &self.completed_frameworks {
            if accepts(filter, framework_id(framework)) {
                self.write_full_framework(w, framework);
            }
        }
        w.end_array();
        w.key_ident("unregistered_frameworks");
        w.raw("[]");
        w.end_object();
    }

    /// `/master/slaves` (C++ `SlavesWriter`): the agents with their resources in full too.
    fn write_slaves(&self, w: &mut Writer, filter: Option<&String>) {
        w.begin_object();
        w.key_ident("slaves");
        w.begin_array();
        for slave in self.sorted_slaves() {
            if !accepts(filter, slave_id(slave)) {
                continue;
            }
            w.begin_object();
            Self::slave_fields(w, slave);
            let total = slave.total_resources();
            w.key_ident("reserved_resources_full");
            w.begin_object();
            for (role, reserved) in total.reservations() {
                w.key(&role);
                write_full_resources(w, reserved.iter());
            }
            w.end_object();
            w.key_ident("unreserved_resources_full");
            write_full_resources(w, total.unreserved().iter());
            w.key_ident("used_resources_full");
            write_full_resources(w, slave.total_used_resources().iter());
            w.key_ident("offered_resources_full");
            write_full_resources(w, slave.offered_resources.iter());
            w.end_object();
        }
        w.end_array();
        w.key_ident("recovered_slaves");
        self.write_recovered_slaves(w, filter);
        w.end_object();
    }

    /// `/master/tasks` (C++ `ReadOnlyHandler::tasks`): the tasks of subscribed and completed
    /// frameworks, sorted by their first status's time (tasks without one sort first
    /// ascending, last descending), then paged.
    fn write_tasks(&self, w: &mut Writer, query: &TasksQuery) {
        let frameworks = self.sorted_frameworks().into_iter().chain(self.completed_frameworks.iter());
        let mut tasks: Vec<&Task> = frameworks
            .filter(|framework| accepts(query.framework_id.as_ref(), framework_id(framework)))
            .flat_map(all_tasks)
            .filter(|task| accepts(query.task_id.as_ref(), &task.task_id.value))
            .collect();
        let started = |task: &Task| task.statuses.first().map(|status| status.timestamp());
        tasks.sort_by(|a, b| {
            let order = match (started(a), started(b)) {
                (Some(a), Some(b)) => a.partial_cmp(&b).unwrap_or(std::cmp::Ordering::Equal),
                (a, b) => a.is_some().cmp(&b.is_some()),
            };
            if query.ascending {
                order
            } else {
                order.reverse()
            }
        });
        let end = query.offset.wrapping_add(query.limit).min(tasks.len());
        w.begin_object();
        w.key_ident("tasks");
        write_task_array(w, tasks.get(query.offset..end).unwrap_or_default());
        w.end_object();
    }

    /// Every known role (C++ `Master::knownRoles`) and the frameworks tracked under each:
    /// those subscribed to it and those holding resources allocated to it (C++
    /// `Role::frameworks`); shared with the operator API's `GET_ROLES`.
    pub(super) fn known_roles(&self) -> (BTreeSet<String>, BTreeMap<String, BTreeSet<&str>>) {
        let weights = self.flags.weights().unwrap_or_default();
        let mut tracked: BTreeMap<String, BTreeSet<&str>> = BTreeMap::new();
        for framework in self.frameworks.values() {
            let id = framework_id(framework);
            let allocated = framework
                .total_used_resources
                .iter()
                .chain(framework.total_offered_resources.iter())
                .filter_map(|r| r.allocation_info.as_ref().and_then(|a| a.role.clone()));
            for role in framework::roles(&framework.info).into_iter().chain(allocated) {
                tracked.entry(role).or_default().insert(id);
            }
        }
        let mut known = BTreeSet::new();
        match self.flags.role_whitelist().ok().flatten() {
            Some(whitelist) => whitelist.iter().for_each(|role| insert_with_ancestors(&mut known, role)),
            None => {
                for role in tracked.keys().chain(weights.keys()) {
                    insert_with_ancestors(&mut known, role);
                }
                for slave in self.slaves.registered.values() {
                    for role in slave.total_resources().reservations().keys() {
                        insert_with_ancestors(&mut known, role);
                    }
                }
            }
        }
        (known, tracked)
    }

    /// `/master/roles` (C++ `ReadOnlyHandler::roles`): every known role with its weight,
    /// quota and resources.
    fn write_roles(&self, w: &mut Writer) {
        let weights = self.flags.weights().unwrap_or_default();
        let (known, tracked) = self.known_roles();
        let totals: Vec<Resources> = self.slaves.registered.values().map(Slave::total_resources).collect();

        w.begin_object();
        w.key_ident("roles");
        w.begin_array();
        for role in &known {
            let allocated = self.quantities_of_frameworks(|f| &f.total_used_resources, role);
            let offered = self.quantities_of_frameworks(|f| &f.total_offered_resources, role);
            let mut reserved = ResourceQuantities::new();
            // C++ `RoleResourceBreakdown::consumedQuota`: allocations plus reservations
            // nobody uses yet.
            let mut consumed = allocated.clone();
            for (slave, total) in self.slaves.registered.values().zip(&totals) {
                let on_slave =
                    ResourceQuantities::from_resources(total.iter().filter(|r| reserved_to_subtree(r, role)));
                let used = ResourceQuantities::from_resources(
                    slave.used_resources.values().flat_map(Resources::iter).filter(|r| reserved_to_subtree(r, role)),
                );
                consumed += &(&on_slave - &used);
                reserved += &on_slave;
            }
            w.begin_object();
            w.key_ident("name");
            w.str(role);
            w.key_ident("weight");
            w.f64(weights.get(role).copied().unwrap_or(DEFAULT_WEIGHT));
            w.key_ident("quota");
            w.begin_object();
            w.key_ident("role");
            w.str(role);
            w.key_ident("guarantee");
            w.raw("{}");
            w.key_ident("limit");
            w.raw("{}");
            w.key_ident("consumed");
            write_quantity_object(w, &consumed);
            w.end_object();
            w.key_ident("resources");
            write_quantity_object(w, &(&allocated + &offered));
            w.key_ident("allocated");
            write_quantity_object(w, &allocated);
            w.key_ident("offered");
            write_quantity_object(w, &offered);
            w.key_ident("reserved");
            write_quantity_object(w, &reserved);
            w.key_ident("frameworks");
            w.begin_array();
            for id in tracked.get(role).into_iter().flatten() {
                w.str(id);
            }
            w.end_array();
            w.end_object();
        }
        w.end_array();
        w.end_object();
    }

    /// The quantities that subscribed frameworks hold in `held` for `role`'s subtree.
    pub(super) fn quantities_of_frameworks(
        &self,
        held: impl Fn(&Framework) -> &Resources,
        role: &str,
    ) -> ResourceQuantities {
        let mut result = ResourceQuantities::new();
        for framework in self.frameworks.values() {
            result +=
                &ResourceQuantities::from_resources(held(framework).iter().filter(|r| allocated_to_subtree(r, role)));
        }
        result
    }

    /// `/master/redirect` (C++ `Http::redirect`): this master is the leader, so the answer
    /// is `307` to its own root, `//<hostname>:<port>`; deeper paths are refused to avoid
    /// redirect loops.
    fn redirect(&self, request: &Request) -> Response {
        let hostname = match &self.info.hostname {
            Some(hostname) => hostname.clone(),
            // C++ resolves the address to a name here; the address serves as well.
            None => Ipv4Addr::from(self.info.ip.to_ne_bytes()).to_string(),
        };
        let path = request.url.path.as_str();
        let prefixed = format!("/{PROCESS_ID}/redirect");
        if path == "/redirect" || path == prefixed {
            let mut response = Response::empty(Status::TEMPORARY_REDIRECT);
            response.headers.set("Location", format!("//{hostname}:{}", self.info.port));
            return response;
        }
        Response::not_found()
    }
}

/// A quantities object, names in order.
fn write_quantity_object(w: &mut Writer, quantities: &ResourceQuantities) {
    write_quantities(w, quantities.iter().map(|(name, scalar)| (name, scalar.value)));
}

fn slave_id(slave: &Slave) -> &str {
    slave.info.id.as_ref().map_or("", |id| id.value.as_str())
}

fn framework_id(framework: &Framework) -> &str {
    framework.info.id.as_ref().map_or("", |id| id.value.as_str())
}

const FRAMEWORKS_HELP: &str = "Shows the subscribed and the completed frameworks with their tasks, offers and \
     executors, as a JSON object. Query parameters: `framework_id` (only that framework), `jsonp`.";

const FLAGS_HELP: &str = "Shows the master's flags as a JSON object of flag name to value (all values are strings). \
     Query parameters: `jsonp`.";

const HEALTH_HELP: &str = "Answers 200 OK with an empty body while the master is healthy; a slow answer is a sign of \
     poor health.";

const VERSION_HELP: &str = "The same document as `/version`: `version`, `build_date`, `build_time` (seconds since \
     the epoch) and `build_user`. Query parameters: `jsonp`.";

const REDIRECT_HELP: &str = "Redirects (307) to the leading master's web UI: `Location: //<hostname>:<port>`. \
     Paths below it answer 404, to avoid redirect loops.";

const ROLES_HELP: &str = "Shows every known role (whitelisted, subscribed to, holding allocations or reservations, \
     or with a weight, and their ancestors) with its weight, quota and allocated, offered and reserved resources, \
     and the frameworks tracked under it. Query parameters: `jsonp`.";

const SLAVES_HELP: &str = "Shows the registered agents, including their total, reserved, used and offered resources \
     in full protobuf form, and the agents recovered from the registry that have not reregistered yet. Query \
     parameters: `slave_id` (only that agent), `jsonp`.";

const STATE_HELP: &str = "Shows the state of the master as a JSON object: version and build, start and election \
     times, leader, flags, agents, frameworks with their tasks, offers and executors, and completed frameworks. \
     Query parameters: `jsonp`.";

const STATE_SUMMARY_HELP: &str = "Summarizes the agents and the subscribed frameworks: each with its task counts by \
     state and the frameworks it runs (or the agents it runs on), as a JSON object. Query parameters: `jsonp`.";

const TASKS_HELP: &str = "Lists the tasks of subscribed and completed frameworks, sorted by the time of their first \
     status. Query parameters: `framework_id`, `task_id`, `limit` (default 100), `offset` (default 0), `order` \
     (`asc`, otherwise descending), `jsonp`.";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numify_follows_stout() {
        assert_eq!(numify_int("12"), Some(12));
        assert_eq!(numify_int("+12"), Some(12));
        assert_eq!(numify_int("-3"), Some(-3));
        assert_eq!(numify_int("0x1f"), Some(31));
        assert_eq!(numify_int("-0X10"), Some(-16));
        for bad in ["", "abc", " 1", "1 ", "1.5", "0x", "2147483648", "--1", "-", "0x1g"] {
            assert_eq!(numify_int(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn tasks_query_falls_back_to_defaults() {
        let query = |pairs: &[(&str, &str)]| {
            TasksQuery::parse(&pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect())
        };
        let q = query(&[("limit", "abc"), ("offset", "x"), ("order", "ASC")]);
        assert_eq!((q.limit, q.offset, q.ascending), (TASK_LIMIT, 0, false));
        let q = query(&[("limit", "5"), ("offset", "2"), ("order", "asc")]);
        assert_eq!((q.limit, q.offset, q.ascending), (5, 2, true));
        assert_eq!(query(&[("limit", "-1")]).limit, usize::MAX);
    }

    #[test]
    fn roles_come_with_their_ancestors() {
        let mut known = BTreeSet::new();
        insert_with_ancestors(&mut known, "a/b/c");
        insert_with_ancestors(&mut known, "a/d");
        insert_with_ancestors(&mut known, "*");
        assert_eq!(known.into_iter().collect::<Vec<_>>(), ["*", "a", "a/b", "a/b/c", "a/d"]);
    }

    #[test]
    fn the_master_reports_the_crate_version() {
        assert_eq!(super::super::MESOS_VERSION, mesos::version::MESOS_VERSION);
    }
}
