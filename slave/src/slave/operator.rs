//! The agent's v1 operator API, `POST /slave(N)/api/v1` (child module of `slave.rs`): the request checks, and the read calls health, flags, version, metrics, logging level, files, state, frameworks, executors, tasks, agent and containers; mirrors `Http::api`, `Http::_api` and the `get*`, `listFiles`, `readFile` handlers of `src/slave/http.cpp` and `validation::agent::call::validate` in `src/slave/validation.cpp`.
//!
//! The agent's books are small, so each answer is built as a `mesos.agent.Response` and
//! encoded whole (protobuf JSON with v1 names, or protobuf). The agent never redirects, and
//! answers `503` while it recovers.
//!
//! Not done yet: authorization (everything is visible); the container calls (LAUNCH, WAIT,
//! KILL, REMOVE, the nested and attach variants), resource providers, SET_LOGGING_LEVEL and
//! PRUNE_IMAGES, each a `501` naming it; streaming requests (`application/recordio`) also
//! get a `501`. GET_CONTAINERS lists the executors' containers with their usage, without
//! `container_status`.

use libprocess::http::{Request, Response, Status};
use libprocess::{Context, Future};
use mesos::api::{self, ContentType, APPLICATION_RECORDIO};
use mesos::proto::agent::call::Type as CallType;
use mesos::proto::agent::response::get_containers::Container;
use mesos::proto::agent::response::get_executors::Executor as ExecutorModel;
use mesos::proto::agent::response::get_frameworks::Framework as FrameworkModel;
use mesos::proto::agent::response::{
    GetAgent, GetContainers, GetExecutors, GetFlags, GetFrameworks, GetHealth, GetLoggingLevel, GetMetrics,
    GetOperations, GetResourceProviders, GetState, GetTasks, GetVersion, ListFiles, ReadFile, Type as ResponseType,
};
use mesos::proto::agent::{Call, Response as ApiResponse};
use mesos::proto::{ContainerId, TaskState};

use super::{Framework, Slave, State};

const API_HELP: &str = "The v1 operator API of the agent: POST a `mesos.agent.Call` (`{\"type\":\"GET_STATE\"}`) as \
     JSON or protobuf; the answer comes in the type `Accept` asks for (JSON first).";

/// Installs `/api/v1` (the route part of `Slave::initialize`).
pub(super) fn install_routes(ctx: &mut Context<Slave>) {
    ctx.route("/api/v1", API_HELP, |slave: &mut Slave, ctx, request: Request| slave.api(ctx, request));
}

/// C++ `validation::agent::call::validate`: a type, and the arguments of calls that take
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
        CallType::LaunchNestedContainer => present(call.launch_nested_container.is_some(), "launch_nested_container"),
        CallType::WaitNestedContainer => present(call.wait_nested_container.is_some(), "wait_nested_container"),
        CallType::KillNestedContainer => present(call.kill_nested_container.is_some(), "kill_nested_container"),
        CallType::RemoveNestedContainer => present(call.remove_nested_container.is_some(), "remove_nested_container"),
        CallType::LaunchNestedContainerSession => {
            present(call.launch_nested_container_session.is_some(), "launch_nested_container_session")
        }
        CallType::AttachContainerInput => present(call.attach_container_input.is_some(), "attach_container_input"),
        CallType::AttachContainerOutput => present(call.attach_container_output.is_some(), "attach_container_output"),
        CallType::LaunchContainer => present(call.launch_container.is_some(), "launch_container"),
        CallType::WaitContainer => present(call.wait_container.is_some(), "wait_container"),
        CallType::KillContainer => present(call.kill_container.is_some(), "kill_container"),
        CallType::RemoveContainer => present(call.remove_container.is_some(), "remove_container"),
        CallType::AddResourceProviderConfig => {
            present(call.add_resource_provider_config.is_some(), "add_resource_provider_config")
        }
        CallType::UpdateResourceProviderConfig => {
            present(call.update_resource_provider_config.is_some(), "update_resource_provider_config")
        }
        CallType::RemoveResourceProviderConfig => {
            present(call.remove_resource_provider_config.is_some(), "remove_resource_provider_config")
        }
        CallType::MarkResourceProviderGone => {
            present(call.mark_resource_provider_gone.is_some(), "mark_resource_provider_gone")
        }
        _ => Ok(kind),
    }
}

/// A synchronous answer of `kind` built by `fill`.
fn answer(accept: ContentType, kind: ResponseType, fill: impl FnOnce(&mut ApiResponse)) -> Response {
    let mut response = ApiResponse { r#type: Some(kind as i32), ..Default::default() };
    fill(&mut response);
    api::ok(accept, &response)
}

/// Every framework the agent knows: running ones, then completed ones.
fn all_frameworks(slave: &Slave) -> impl Iterator<Item = &Framework> {
    slave.frameworks.values().chain(slave.completed_frameworks.iter())
}

impl Slave {
    /// `POST /api/v1` (C++ `Http::api`).
    fn api(&mut self, ctx: &mut Context<Slave>, request: Request) -> Future<Response> {
        if self.state == State::Recovering {
            return Future::ready(mesos::operator::service_unavailable("Agent has not finished recovery"));
        }
        if request.method != "POST" {
            return Future::ready(api::method_not_allowed(&["POST"], &request.method));
        }
        if request.headers.get("Content-Type") == Some(APPLICATION_RECORDIO) {
            return Future::ready(Response::with_message(
                Status::NOT_IMPLEMENTED,
                "Streaming requests (ATTACH_CONTAINER_INPUT) are not supported by this agent yet",
            ));
        }
        let (call, kind, accept) = match api::operator_call::<Call, _>(&request, "agent::Call", validate) {
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
                r.get_flags = Some(GetFlags { flags: mesos::operator::flags(self.options.flags.clone()) });
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
            CallType::GetState => ready(answer(accept, ResponseType::GetState, |r| {
                r.get_state = Some(GetState {
                    get_tasks: Some(self.get_tasks()),
                    get_executors: Some(self.get_executors()),
                    get_frameworks: Some(self.get_frameworks()),
                });
            })),
            CallType::GetFrameworks => ready(answer(accept, ResponseType::GetFrameworks, |r| {
                r.get_frameworks = Some(self.get_frameworks());
            })),
            CallType::GetExecutors => ready(answer(accept, ResponseType::GetExecutors, |r| {
                r.get_executors = Some(self.get_executors());
            })),
            CallType::GetTasks => ready(answer(accept, ResponseType::GetTasks, |r| {
                r.get_tasks = Some(self.get_tasks());
            })),
            CallType::GetAgent => ready(answer(accept, ResponseType::GetAgent, |r| {
                r.get_agent = Some(GetAgent {
                    slave_info: Some(self.info.clone()),
                    drain_config: None,
                    estimated_drain_start_time: None,
                });
            })),
            CallType::GetContainers => self.get_containers(accept),
            // No operations or resource providers on this agent: the answers are empty.
            CallType::GetOperations => ready(answer(accept, ResponseType::GetOperations, |r| {
                r.get_operations = Some(GetOperations { operations: Vec::new() });
            })),
            CallType::GetResourceProviders => ready(answer(accept, ResponseType::GetResourceProviders, |r| {
                r.get_resource_providers = Some(GetResourceProviders { resource_providers: Vec::new() });
            })),
            other => ready(mesos::operator::not_implemented(other.as_str_name(), "agent")),
        }
    }

    /// LIST_FILES (C++ `Http::listFiles`).
    fn list_files(&self, accept: ContentType, path: String) -> Future<Response> {
        let Some(files) = &self.files else {
            return Future::ready(mesos::operator::not_implemented("LIST_FILES", "agent (no files service)"));
        };
        mesos::operator::list_files(files, &path).map(move |result| match result {
            Ok(file_infos) => {
                answer(accept, ResponseType::ListFiles, |r| r.list_files = Some(ListFiles { file_infos }))
            }
            Err(response) => response,
        })
    }

    /// READ_FILE (C++ `Http::readFile`).
    fn read_file(&self, accept: ContentType, read: mesos::proto::agent::call::ReadFile) -> Future<Response> {
        let Some(files) = &self.files else {
            return Future::ready(mesos::operator::not_implemented("READ_FILE", "agent (no files service)"));
        };
        mesos::operator::read_file(files, &read.path, read.offset, read.length).map(move |result| match result {
            Ok(read) => answer(accept, ResponseType::ReadFile, |r| {
                r.read_file = Some(ReadFile { size: read.size, data: read.data });
            }),
            Err(response) => response,
        })
    }

    /// GET_FRAMEWORKS (C++ `Http::_getFrameworks`).
    fn get_frameworks(&self) -> GetFrameworks {
        let model = |framework: &Framework| FrameworkModel { framework_info: framework.info.clone() };
        GetFrameworks {
            frameworks: self.frameworks.values().map(model).collect(),
            completed_frameworks: self.completed_frameworks.iter().map(model).collect(),
        }
    }

    /// GET_EXECUTORS (C++ `Http::_getExecutors`): of running and completed frameworks.
    fn get_executors(&self) -> GetExecutors {
        let mut answer = GetExecutors::default();
        for framework in all_frameworks(self) {
            for executor in framework.executors.values() {
                answer.executors.push(ExecutorModel { executor_info: executor.info.clone() });
            }
            for executor in &framework.completed_executors {
                answer.completed_executors.push(ExecutorModel { executor_info: executor.info.clone() });
            }
        }
        answer
    }

    /// GET_TASKS (C++ `Http::_getTasks`): queued tasks as `TASK_STAGING` tasks, then
    /// launched, terminated and completed ones, of every executor. Tasks are handed to their
    /// executor's queue on arrival here, so none is pending.
    fn get_tasks(&self) -> GetTasks {
        let mut answer = GetTasks::default();
        for framework in all_frameworks(self) {
            let framework_id = framework.info.id.clone().unwrap_or_default();
            for executor in framework.executors.values().chain(framework.completed_executors.iter()) {
                for task in &executor.queued_tasks {
                    answer.queued_tasks.push(mesos::protobuf_utils::create_task(
                        task,
                        TaskState::TaskStaging,
                        &framework_id,
                        &task.slave_id,
                        Some(executor.id.clone()),
                    ));
                }
                answer.launched_tasks.extend(executor.launched_tasks.values().cloned());
                answer.terminated_tasks.extend(executor.terminated_tasks.values().cloned());
                answer.completed_tasks.extend(executor.completed_tasks.iter().cloned());
            }
        }
        answer
    }

    /// GET_CONTAINERS (C++ `Http::getContainers`): each running executor's container with
    /// its usage.
    fn get_containers(&self, accept: ContentType) -> Future<Response> {
        self.usages().map(move |usages| {
            let containers = usages
                .into_iter()
                .map(|usage| Container {
                    framework_id: Some(usage.framework_id),
                    executor_id: Some(usage.executor_id),
                    executor_name: Some(usage.name),
                    container_id: ContainerId { value: usage.container_id, parent: None },
                    container_status: None,
                    resource_statistics: usage.statistics,
                })
                .collect();
            answer(accept, ResponseType::GetContainers, |r| r.get_containers = Some(GetContainers { containers }))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validation_wants_a_type_and_the_arguments() {
        assert_eq!(validate(&Call::default()).unwrap_err(), "Expecting 'type' to be present");
        let call = Call { r#type: Some(CallType::ReadFile as i32), ..Default::default() };
        assert_eq!(validate(&call).unwrap_err(), "Expecting 'read_file' to be present");
        let call = Call { r#type: Some(CallType::GetContainers as i32), ..Default::default() };
        assert_eq!(validate(&call).unwrap(), CallType::GetContainers);
    }
}
