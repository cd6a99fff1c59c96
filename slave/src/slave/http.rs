//! The agent's read-only HTTP endpoints (child module of `slave.rs`): `/slave(N)/state`, `flags`, `health`, `monitor/statistics` and `containers`, each also without the prefix through the delegate; mirrors `src/slave/http.cpp` (`Http::{state,flags,health,statistics,containers}` with `ExecutorWriter` and `FrameworkWriter`).
//!
//! Everything is visible (no authorizer yet). `/state` answers 503 while the agent recovers.

use libprocess::http::{Request, Response, Status};
use libprocess::{Context, Future};
use mesos::http::{
    enum_name, write_attributes, write_capabilities, write_command, write_labels, write_resources, write_task,
};
use mesos::json::Writer;
use mesos::proto::slave_info::capability::Type as AgentCapability;
use mesos::proto::{ExecutorId, FrameworkId, ResourceStatistics, TaskInfo};
use mesos::resources::{convert_resource_format, ResourceFormat, Resources};

use super::executors::Executor;
use super::{Framework, Slave, State};

const STATE_HELP: &str = "Information about the state of the Agent: its resources, frameworks, executors and tasks.";
const FLAGS_HELP: &str = "Exposes the agent's flag configuration.";
const HEALTH_HELP: &str = "Health check of the Agent: 200 OK while it runs.";
const STATISTICS_HELP: &str = "Retrieve resource monitoring information: the usage of each executor's container.";
const CONTAINERS_HELP: &str = "Retrieve container status and usage information.";

/// Installs the routes (the route part of `Slave::initialize`).
pub(super) fn install_routes(ctx: &mut Context<Slave>) {
    ctx.route("/state", STATE_HELP, |slave, ctx, request: Request| {
        if slave.state == State::Recovering {
            return Future::ready(Response::with_message(
                Status::SERVICE_UNAVAILABLE,
                "Agent has not finished recovery",
            ));
        }
        let pid = ctx.pid().upid().to_string();
        let mut w = Writer::new();
        slave.write_state(&mut w, &pid);
        json(&request, w.into_string())
    });
    ctx.route("/flags", FLAGS_HELP, |slave, _ctx, request: Request| {
        let mut w = Writer::new();
        w.begin_object();
        w.key_ident("flags");
        slave.write_flags(&mut w);
        w.end_object();
        json(&request, w.into_string())
    });
    ctx.route("/health", HEALTH_HELP, |_slave, _ctx, _request| Future::ready(Response::empty(Status::OK)));
    ctx.route("/monitor/statistics", STATISTICS_HELP, |slave, _ctx, request: Request| {
        let jsonp = request.url.query.get("jsonp").cloned();
        slave.usages().map(move |usages| {
            let mut w = Writer::new();
            w.begin_array();
            for usage in usages {
                let Some(statistics) = usage.statistics else { continue };
                w.begin_object();
                usage_fields(&mut w, &usage.framework_id, &usage.executor_id, &usage.name, &usage.source);
                w.key_ident("statistics");
                w.message(&statistics);
                w.end_object();
            }
            w.end_array();
            Response::json_text(w.into_string(), jsonp.as_deref())
        })
    });
    ctx.route("/containers", CONTAINERS_HELP, |slave, _ctx, request: Request| {
        let jsonp = request.url.query.get("jsonp").cloned();
        slave.usages().map(move |usages| {
            let mut w = Writer::new();
            w.begin_array();
            for usage in usages {
                w.begin_object();
                usage_fields(&mut w, &usage.framework_id, &usage.executor_id, &usage.name, &usage.source);
                w.key_ident("container_id");
                w.str(&usage.container_id);
                if let Some(statistics) = &usage.statistics {
                    w.key_ident("statistics");
                    w.message(statistics);
                }
                w.end_object();
            }
            w.end_array();
            Response::json_text(w.into_string(), jsonp.as_deref())
        })
    });
}

fn json(request: &Request, text: String) -> Future<Response> {
    Future::ready(Response::json_text(text, request.url.query.get("jsonp").map(String::as_str)))
}

fn usage_fields(w: &mut Writer, framework_id: &FrameworkId, executor_id: &ExecutorId, name: &str, source: &str) {
    w.key_ident("framework_id");
    w.str(&framework_id.value);
    w.key_ident("executor_id");
    w.str(&executor_id.value);
    w.key_ident("executor_name");
    w.str(name);
    w.key_ident("source");
    w.str(source);
}

/// One running executor's container and its usage, if the containerizer told it.
pub(super) struct Usage {
    pub(super) framework_id: FrameworkId,
    pub(super) executor_id: ExecutorId,
    pub(super) name: String,
    source: String,
    pub(super) container_id: String,
    pub(super) statistics: Option<ResourceStatistics>,
}

impl Slave {
    /// The usage of every running executor's container (C++ `ResourceMonitor::usages`).
    pub(super) fn usages(&self) -> Future<Vec<Usage>> {
        let mut pending: Vec<(Usage, Future<Option<ResourceStatistics>>)> = Vec::new();
        for framework in self.frameworks.values() {
            for executor in framework.executors.values() {
                let usage = Usage {
                    framework_id: framework.info.id.clone().unwrap_or_default(),
                    executor_id: executor.id.clone(),
                    name: executor.info.name.clone().unwrap_or_default(),
                    source: executor.info.source.clone().unwrap_or_default(),
                    container_id: executor.container_id.value.clone(),
                    statistics: None,
                };
                let statistics = self.containerizer.usage(executor.container_id.clone()).map(Result::ok);
                pending.push((usage, statistics));
            }
        }
        collect(pending)
    }

    /// `/state` (C++ `Http::state`).
    fn write_state(&self, w: &mut Writer, pid: &str) {
        w.begin_object();
        mesos::version::write_version_fields(w);
        w.key_ident("start_time");
        w.f64(self.start_time);
        w.key_ident("id");
        w.str(self.info.id.as_ref().map_or("", |id| id.value.as_str()));
        w.key_ident("pid");
        w.str(pid);
        w.key_ident("hostname");
        w.str(&self.info.hostname);
        w.key_ident("capabilities");
        write_capabilities::<AgentCapability>(
            w,
            crate::constants::agent_capabilities().iter().filter_map(|capability| capability.r#type),
        );
        if let Some(domain) = &self.info.domain {
            w.key_ident("domain");
            mesos::http::write_domain(w, domain);
        }
        let total: Resources = self.info.resources.iter().cloned().collect();
        w.key_ident("resources");
        write_resources(w, total.iter());
        let reservations = total.reservations();
        w.key_ident("reserved_resources");
        w.begin_object();
        for (role, resources) in &reservations {
            w.key(role);
            write_resources(w, resources.iter());
        }
        w.end_object();
        w.key_ident("unreserved_resources");
        write_resources(w, total.unreserved().iter());
        w.key_ident("reserved_resources_full");
        w.begin_object();
        for (role, resources) in &reservations {
            w.key(role);
            write_full(w, resources);
        }
        w.end_object();
        w.key_ident("unreserved_resources_full");
        write_full(w, &total.unreserved());

        let mut allocated = Resources::new();
        for framework in self.frameworks.values() {
            for executor in framework.executors.values() {
                allocated += &allocated_resources_of(executor);
            }
        }
        w.key_ident("reserved_resources_allocated");
        w.begin_object();
        for (role, resources) in &allocated.reservations() {
            w.key(role);
            write_resources(w, resources.iter());
        }
        w.end_object();
        w.key_ident("unreserved_resources_allocated");
        write_resources(w, allocated.unreserved().iter());
        w.key_ident("resource_providers");
        w.begin_array();
        w.end_array();
        w.key_ident("attributes");
        write_attributes(w, &self.info.attributes);
        if let Some(master) = &self.master {
            w.key_ident("master_hostname");
            w.str(&master.address().ip().to_string());
        }
        w.key_ident("flags");
        self.write_flags(w);
        w.key_ident("frameworks");
        w.begin_array();
        for framework in self.frameworks.values() {
            write_framework(w, framework);
        }
        w.end_array();
        w.key_ident("completed_frameworks");
        w.begin_array();
        for framework in &self.completed_frameworks {
            write_framework(w, framework);
        }
        w.end_array();
        w.end_object();
    }

    fn write_flags(&self, w: &mut Writer) {
        w.begin_object();
        for (name, value) in &self.options.flags {
            w.key(name);
            w.str(value);
        }
        w.end_object();
    }
}

/// Waits for every usage, in order.
fn collect(pending: Vec<(Usage, Future<Option<ResourceStatistics>>)>) -> Future<Vec<Usage>> {
    let mut all: Future<Vec<Usage>> = Future::ready(Vec::new());
    for (mut usage, statistics) in pending {
        all = all.then(move |mut done| {
            statistics.map(move |statistics| {
                usage.statistics = statistics;
                done.push(usage);
                done
            })
        });
    }
    all
}

/// Resources in the endpoint format (the `*_full` arrays).
fn write_full(w: &mut Writer, resources: &Resources) {
    w.begin_array();
    for resource in resources.iter() {
        let mut resource = resource.clone();
        if convert_resource_format(&mut resource, ResourceFormat::Endpoint).is_err() {
            tracing::warn!(resource = %resource.name, "cannot show a resource in the endpoint format");
        }
        w.message(&resource);
    }
    w.end_array();
}

/// What the executor and its queued and launched tasks hold (C++ `allocatedResources`).
pub(super) fn allocated_resources_of(executor: &Executor) -> Resources {
    let mut resources: Resources = executor.info.resources.iter().cloned().collect();
    for task in &executor.queued_tasks {
        for resource in &task.resources {
            resources += resource;
        }
    }
    for task in executor.launched_tasks.values() {
        for resource in &task.resources {
            resources += resource;
        }
    }
    resources
}

/// C++ `FrameworkWriter`.
fn write_framework(w: &mut Writer, framework: &Framework) {
    let info = &framework.info;
    w.begin_object();
    w.key_ident("id");
    w.str(info.id.as_ref().map_or("", |id| id.value.as_str()));
    w.key_ident("name");
    w.str(&info.name);
    w.key_ident("user");
    w.str(&info.user);
    w.key_ident("failover_timeout");
    w.f64(info.failover_timeout.unwrap_or(0.0));
    w.key_ident("checkpoint");
    w.bool(info.checkpoint.unwrap_or(false));
    w.key_ident("hostname");
    w.str(info.hostname.as_deref().unwrap_or(""));
    if let Some(principal) = &info.principal {
        w.key_ident("principal");
        w.str(principal);
    }
    let multi_role = info
        .capabilities
        .iter()
        .any(|c| c.r#type == Some(mesos::proto::framework_info::capability::Type::MultiRole as i32));
    if multi_role {
        w.key_ident("roles");
        w.begin_array();
        for role in &info.roles {
            w.str(role);
        }
        w.end_array();
    } else {
        w.key_ident("role");
        w.str(info.role.as_deref().unwrap_or("*"));
    }
    w.key_ident("executors");
    w.begin_array();
    for executor in framework.executors.values() {
        write_executor(w, executor);
    }
    w.end_array();
    w.key_ident("completed_executors");
    w.begin_array();
    for executor in &framework.completed_executors {
        write_executor(w, executor);
    }
    w.end_array();
    w.end_object();
}

/// C++ `ExecutorWriter`.
fn write_executor(w: &mut Writer, executor: &Executor) {
    w.begin_object();
    w.key_ident("id");
    w.str(&executor.id.value);
    w.key_ident("name");
    w.str(executor.info.name.as_deref().unwrap_or(""));
    w.key_ident("source");
    w.str(executor.info.source.as_deref().unwrap_or(""));
    w.key_ident("container");
    w.str(&executor.container_id.value);
    w.key_ident("directory");
    w.str(&executor.directory.to_string_lossy());
    w.key_ident("resources");
    write_resources(w, allocated_resources_of(executor).iter());
    if let Some(first) = executor.info.resources.first() {
        w.key_ident("role");
        w.str(first.allocation_info.as_ref().and_then(|a| a.role.as_deref()).unwrap_or(""));
    }
    if let Some(labels) = &executor.info.labels {
        w.key_ident("labels");
        write_labels(w, labels);
    }
    if let Some(kind) = executor.info.r#type {
        w.key_ident("type");
        w.str(enum_name::<mesos::proto::executor_info::Type>(kind));
    }
    w.key_ident("tasks");
    w.begin_array();
    for task in executor.launched_tasks.values() {
        write_task(w, task);
    }
    w.end_array();
    w.key_ident("queued_tasks");
    w.begin_array();
    for task in &executor.queued_tasks {
        write_task_info(w, task);
    }
    w.end_array();
    w.key_ident("completed_tasks");
    w.begin_array();
    for task in executor.completed_tasks.iter().chain(executor.terminated_tasks.values()) {
        write_task(w, task);
    }
    w.end_array();
    w.end_object();
}

/// A queued task (C++ `json(JSON::ObjectWriter*, const TaskInfo&)` in `src/slave/http.cpp`).
fn write_task_info(w: &mut Writer, task: &TaskInfo) {
    w.begin_object();
    w.key_ident("id");
    w.str(&task.task_id.value);
    w.key_ident("name");
    w.str(&task.name);
    w.key_ident("slave_id");
    w.str(&task.slave_id.value);
    w.key_ident("resources");
    write_resources(w, &task.resources);
    w.key_ident("role");
    w.str(
        task.resources.first().and_then(|r| r.allocation_info.as_ref()).and_then(|a| a.role.as_deref()).unwrap_or(""),
    );
    if let Some(command) = &task.command {
        w.key_ident("command");
        write_command(w, command);
    }
    if let Some(executor) = &task.executor {
        w.key_ident("executor_id");
        w.str(&executor.executor_id.value);
    }
    if let Some(discovery) = &task.discovery {
        w.key_ident("discovery");
        w.message(discovery);
    }
    w.end_object();
}
