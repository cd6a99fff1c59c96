//! The v1 executor HTTP API of the agent (child module of `slave.rs`): `POST /slave(N)/api/v1/executor`, its checks and status codes, `SUBSCRIBE` (a RecordIO event stream, heartbeats, unacknowledged updates replayed), `UPDATE`, `MESSAGE`, `HEARTBEAT`; and an executor's connection, a libprocess pid or an HTTP stream, through which every message to an executor goes (v0 messages become v1 events on a stream); mirrors `Http::executor` in `src/slave/http.cpp`, `Slave::subscribe` in `src/slave/slave.cpp`, `Executor::send` in `src/slave/slave.hpp`, the executor `evolve`s of `src/internal/evolve.cpp` and `validateExecutorCall` in `src/common/validation.cpp`.
//!
//! No authentication yet (`--authenticate_http_executors`): the 401 and 403-by-claims steps
//! of the handler are skipped. The agent does not watch a stream for its end: an executor's
//! liveness is its container's, as in C++.

use libprocess::http::{Request, Response, Status};
use libprocess::{Context, Future, ProtobufMessage, UPID};
use mesos::api::{self, ContentType, Stream};
use mesos::internal::{
    ExecutorRegisteredMessage, ExecutorToFrameworkMessage, FrameworkToExecutorMessage, KillTaskMessage,
    RunTaskGroupMessage, RunTaskMessage, ShutdownExecutorMessage, StatusUpdate, StatusUpdateAcknowledgementMessage,
};
use mesos::proto::executor::{call, event, Call, Event};
use mesos::proto::task_status::{Reason, Source};
use mesos::proto::{ExecutorId, FrameworkId, SlaveId, TaskState, TaskStatus};

use super::executors::{Executor, ExecutorState};
use super::{create_status_update, Slave, State};
use crate::constants::DEFAULT_EXECUTOR_HEARTBEAT_INTERVAL;

const EXECUTOR_HELP: &str = "The v1 executor HTTP API: SUBSCRIBE opens the executor's event stream; \
                             UPDATE, MESSAGE and HEARTBEAT are answered 202 Accepted.";

/// How the agent reaches an executor (C++ `Executor::pid` and `Executor::http`).
#[derive(Clone, Debug, Default)]
pub(crate) enum Connection {
    /// Not registered or subscribed yet.
    #[default]
    None,
    /// A v0 executor, registered with `RegisterExecutorMessage`.
    Pid(UPID),
    /// A v1 executor's `SUBSCRIBE` stream.
    Http(Stream),
}

/// A v0 message to an executor and the v1 event it becomes on an HTTP stream (C++
/// `evolve`).
pub(crate) trait ToExecutor: ProtobufMessage {
    fn evolve(&self) -> Event;
}

fn event_of(kind: event::Type) -> Event {
    Event { r#type: Some(kind as i32), ..Event::default() }
}

impl ToExecutor for ExecutorRegisteredMessage {
    fn evolve(&self) -> Event {
        Event {
            subscribed: Some(event::Subscribed {
                executor_info: self.executor_info.clone(),
                framework_info: self.framework_info.clone(),
                slave_info: self.slave_info.clone(),
                container_id: None,
            }),
            ..event_of(event::Type::Subscribed)
        }
    }
}

impl ToExecutor for RunTaskMessage {
    fn evolve(&self) -> Event {
        Event { launch: Some(event::Launch { task: self.task.clone() }), ..event_of(event::Type::Launch) }
    }
}

impl ToExecutor for RunTaskGroupMessage {
    fn evolve(&self) -> Event {
        Event {
            launch_group: Some(event::LaunchGroup { task_group: self.task_group.clone() }),
            ..event_of(event::Type::LaunchGroup)
        }
    }
}

impl ToExecutor for KillTaskMessage {
    fn evolve(&self) -> Event {
        Event {
            kill: Some(event::Kill { task_id: self.task_id.clone(), kill_policy: self.kill_policy }),
            ..event_of(event::Type::Kill)
        }
    }
}

impl ToExecutor for FrameworkToExecutorMessage {
    fn evolve(&self) -> Event {
        Event { message: Some(event::Message { data: self.data.clone() }), ..event_of(event::Type::Message) }
    }
}

impl ToExecutor for ShutdownExecutorMessage {
    fn evolve(&self) -> Event {
        event_of(event::Type::Shutdown)
    }
}

impl ToExecutor for StatusUpdateAcknowledgementMessage {
    fn evolve(&self) -> Event {
        Event {
            acknowledged: Some(event::Acknowledged { task_id: self.task_id.clone(), uuid: self.uuid.clone() }),
            ..event_of(event::Type::Acknowledged)
        }
    }
}

impl Executor {
    /// Sends `message` to the executor by whichever API it uses (C++ `Executor::send`).
    pub(crate) fn send<M: ToExecutor>(&self, ctx: &mut Context<Slave>, message: &M) {
        self.warn_if_disconnected();
        match &self.connection {
            Connection::Http(stream) => {
                if !stream.send(&message.evolve()) {
                    tracing::warn!("Unable to send event to executor '{}': connection closed", self.id.value);
                }
            }
            Connection::Pid(pid) => ctx.send_protobuf(pid, message),
            Connection::None => {
                tracing::warn!("Unable to send event to executor '{}': unknown connection type", self.id.value)
            }
        }
    }

    /// Sends a v1 event that has no v0 message (`SUBSCRIBED` with the container id); only
    /// an HTTP executor can get one.
    pub(crate) fn send_event(&self, event: &Event) {
        self.warn_if_disconnected();
        match &self.connection {
            Connection::Http(stream) => {
                if !stream.send(event) {
                    tracing::warn!("Unable to send event to executor '{}': connection closed", self.id.value);
                }
            }
            _ => {
                tracing::warn!("Unable to send a v1 event to executor '{}': it is not an HTTP executor", self.id.value)
            }
        }
    }

    fn warn_if_disconnected(&self) {
        if matches!(self.state, ExecutorState::Registering | ExecutorState::Terminated) {
            tracing::warn!(
                "Attempting to send message to disconnected executor '{}' in state {:?}",
                self.id.value,
                self.state
            );
        }
    }
}

/// Installs `/api/v1/executor` (the executor part of `Slave::initialize`'s routes).
pub(super) fn install_routes(ctx: &mut Context<Slave>) {
    ctx.route("/api/v1/executor", EXECUTOR_HELP, |slave, ctx, request: Request| {
        Future::ready(slave.executor_api(ctx, request))
    });
}

/// A `202 Accepted` without a body.
fn accepted() -> Response {
    Response::empty(Status::ACCEPTED)
}

/// The `type` of a call, `None` when absent or not one the agent knows.
fn call_type(call: &Call) -> Option<call::Type> {
    call.r#type.and_then(|t| call::Type::try_from(t).ok())
}

/// C++ `protobuf::createStatusUpdate(frameworkId, status, slaveId)`: an executor's status
/// wrapped in an update for this agent.
fn update_of(framework_id: &FrameworkId, mut status: TaskStatus, slave_id: &SlaveId) -> StatusUpdate {
    if status.slave_id.is_none() {
        status.slave_id = Some(slave_id.clone());
    }
    let timestamp = status.timestamp.unwrap_or_else(|| {
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0.0, |d| d.as_secs_f64())
    });
    StatusUpdate {
        framework_id: framework_id.clone(),
        executor_id: status.executor_id.clone(),
        slave_id: Some(slave_id.clone()),
        uuid: status.uuid.clone(),
        status,
        timestamp,
        latest_state: None,
    }
}

impl Slave {
    /// `POST /api/v1/executor` (C++ `Http::executor`): the checks in C++'s order, then the
    /// call.
    fn executor_api(&mut self, ctx: &mut Context<Self>, request: Request) -> Response {
        // Recovered HTTP executors may subscribe once the containerizer has recovered.
        if !self.recovery.reconnect {
            return Response::with_message(Status::SERVICE_UNAVAILABLE, "Agent has not finished recovery");
        }
        if request.method != "POST" {
            return api::method_not_allowed(&["POST"], &request.method);
        }
        let content_type = match ContentType::of_request(&request) {
            Ok(content_type) => content_type,
            Err(response) => return response,
        };
        let call: Call = match api::decode_call(content_type, &request.body, "Call") {
            Ok(call) => call,
            Err(response) => return response,
        };
        if let Err(error) = mesos::validation::validate_executor_call(&call) {
            return Response::bad_request(format!("Failed to validate Executor::Call: {error}"));
        }
        let kind = call_type(&call).unwrap_or(call::Type::Unknown);
        let mut accept = ContentType::Json;
        match kind {
            call::Type::Subscribe => match ContentType::accepted(&request) {
                Ok(content_type) => accept = content_type,
                Err(response) => return response,
            },
            // The library sends heartbeats with placeholder ids, so nothing else is looked at.
            call::Type::Heartbeat => return accepted(),
            _ if self.state == State::Recovering => {
                return Response::with_message(Status::SERVICE_UNAVAILABLE, "Agent has not finished recovery")
            }
            _ => {}
        }
        let Some(framework) = self.frameworks.get(&call.framework_id) else {
            return Response::bad_request("Framework cannot be found");
        };
        let Some(executor) = framework.executors.get(&call.executor_id) else {
            return Response::bad_request("Executor cannot be found");
        };
        if executor.state == ExecutorState::Registering && kind != call::Type::Subscribe {
            return Response::with_message(Status::FORBIDDEN, "Executor is not subscribed");
        }
        match kind {
            call::Type::Subscribe => {
                let (stream, response) = Stream::open(accept);
                let subscribe = call.subscribe.unwrap_or_default();
                self.subscribe(ctx, stream, subscribe, &call.framework_id, &call.executor_id);
                response
            }
            call::Type::Update => {
                let status = call.update.map(|u| u.status).unwrap_or_default();
                let update = update_of(&call.framework_id, status, &self.slave_id());
                self.status_update_from(ctx, update, super::executors::UpdateSender::Http);
                accepted()
            }
            call::Type::Message => {
                let message = ExecutorToFrameworkMessage {
                    slave_id: self.slave_id(),
                    framework_id: call.framework_id.clone(),
                    executor_id: call.executor_id.clone(),
                    data: call.message.map(|m| m.data).unwrap_or_default(),
                };
                let agent = ctx.pid().upid().clone();
                self.executor_message(ctx, &agent, message);
                accepted()
            }
            call::Type::Heartbeat => accepted(),
            call::Type::Unknown => {
                tracing::warn!("Received 'UNKNOWN' call");
                Response::status_text(Status::NOT_IMPLEMENTED)
            }
        }
    }

    /// C++ `Slave::subscribe` for an HTTP executor: an earlier stream is closed, the
    /// executor runs, heartbeats start, the updates it did not see acknowledged are handled
    /// again, staging tasks it does not know are dropped, then `SUBSCRIBED` and its queued
    /// tasks follow. An agent, framework or executor on its way out answers `SHUTDOWN`.
    fn subscribe(
        &mut self,
        ctx: &mut Context<Self>,
        stream: Stream,
        subscribe: call::Subscribe,
        framework_id: &FrameworkId,
        executor_id: &ExecutorId,
    ) {
        tracing::info!(
            "Received Subscribe request for HTTP executor '{}' of framework {}",
            executor_id.value,
            framework_id.value
        );
        let shutdown = |why: &str| {
            tracing::warn!("Shutting down executor '{}' of framework {} {why}", executor_id.value, framework_id.value);
            stream.send(&ShutdownExecutorMessage::default().evolve());
            stream.close();
        };
        if self.state == State::Terminating {
            return shutdown("as the agent is terminating");
        }
        let slave_id = self.slave_id();
        let meta = crate::paths::meta_root_dir(&self.options.work_dir);
        let Some(framework) = self.frameworks.get_mut(framework_id) else { return };
        if framework.terminating {
            return shutdown("as the framework is terminating");
        }
        let partition_aware = framework.partition_aware();
        let checkpoint = framework.info.checkpoint == Some(true);
        let Some(executor) = framework.executors.get_mut(executor_id) else { return };
        if matches!(executor.state, ExecutorState::Terminating | ExecutorState::Terminated) {
            return shutdown(&format!("because it is in unexpected state {:?}", executor.state));
        }
        if let Connection::Http(old) = &executor.connection {
            tracing::warn!("Closing already existing HTTP connection from executor '{}'", executor_id.value);
            old.close();
        }
        executor.state = ExecutorState::Running;
        executor.connection = Connection::Http(stream.clone());
        let container_id = executor.container_id.clone();
        let (fid, eid) = (framework_id.clone(), executor_id.clone());
        ctx.delay(DEFAULT_EXECUTOR_HEARTBEAT_INTERVAL, move |this: &mut Self, _ctx| {
            this.heartbeat_executor(_ctx, fid, eid, stream)
        });
        if checkpoint {
            let path =
                crate::paths::executor_http_marker_path(&meta, &slave_id, framework_id, executor_id, &container_id);
            tracing::info!(
                "Creating a marker file for HTTP based executor '{}' at '{}'",
                executor_id.value,
                path.display()
            );
            if let Err(error) = mesos::protobuf_io::checkpoint(&path, b"") {
                tracing::error!("Failed to create the HTTP marker '{}': {error}", path.display());
            }
        }

        // The manager may have some of these already (the agent went before it acknowledged
        // them); it drops duplicates.
        for update in subscribe.unacknowledged_updates {
            let update = update_of(framework_id, update.status, &slave_id);
            self.status_update_from(ctx, update, super::executors::UpdateSender::Http);
        }

        let unacknowledged: Vec<_> = subscribe.unacknowledged_tasks.iter().map(|t| &t.task_id).collect();
        let staging: Vec<_> = self
            .frameworks
            .get(framework_id)
            .and_then(|f| f.executors.get(executor_id))
            .map(|e| {
                e.launched_tasks
                    .values()
                    .filter(|t| t.state == TaskState::TaskStaging as i32 && !unacknowledged.contains(&&t.task_id))
                    .map(|t| t.task_id.clone())
                    .collect()
            })
            .unwrap_or_default();
        for task_id in staging {
            let state = if partition_aware { TaskState::TaskDropped } else { TaskState::TaskLost };
            tracing::info!(
                "Transitioning STAGED task {} to {} because it is unknown to the executor '{}'",
                task_id.value,
                state.as_str_name(),
                executor_id.value
            );
            let update = create_status_update(
                framework_id,
                &slave_id,
                &task_id,
                state,
                Source::Slave,
                Some("Task launched during agent restart"),
                Some(Reason::SlaveRestarted),
                Some(executor_id),
            );
            self.status_update(ctx, update, None);
        }

        let Some(framework) = self.frameworks.get(framework_id) else { return };
        let Some(executor) = framework.executors.get(executor_id) else { return };
        if !executor.ever_sent_task && executor.queued_tasks.is_empty() {
            tracing::warn!(
                "Shutting down executor '{}' because it has never been sent a task and all of its queued tasks \
                 have been killed before delivery",
                executor_id.value
            );
            self.shutdown_executor(ctx, framework_id, executor_id);
            return;
        }
        let subscribed = Event {
            subscribed: Some(event::Subscribed {
                executor_info: executor.info.clone(),
                framework_info: framework.info.clone(),
                slave_info: self.info.clone(),
                container_id: Some(executor.container_id.clone()),
            }),
            ..event_of(event::Type::Subscribed)
        };
        executor.send_event(&subscribed);
        self.send_queued_tasks(ctx, framework_id, executor_id);
    }

    /// A `HEARTBEAT` on an executor's stream every `DEFAULT_EXECUTOR_HEARTBEAT_INTERVAL`
    /// while that stream is the executor's (C++ `ResponseHeartbeater`).
    fn heartbeat_executor(&mut self, ctx: &mut Context<Self>, fid: FrameworkId, eid: ExecutorId, stream: Stream) {
        let current = self
            .frameworks
            .get(&fid)
            .and_then(|f| f.executors.get(&eid))
            .is_some_and(|e| matches!(&e.connection, Connection::Http(s) if s.same(&stream)));
        if !current || stream.is_closed() {
            return;
        }
        stream.send(&event_of(event::Type::Heartbeat));
        ctx.delay(DEFAULT_EXECUTOR_HEARTBEAT_INTERVAL, move |this: &mut Self, ctx| {
            this.heartbeat_executor(ctx, fid, eid, stream)
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mesos::proto::TaskId;

    #[test]
    fn v0_messages_become_their_v1_events() {
        let ack = StatusUpdateAcknowledgementMessage {
            task_id: TaskId { value: "T".into() },
            uuid: vec![7; 16],
            ..StatusUpdateAcknowledgementMessage::default()
        };
        let event = ack.evolve();
        assert_eq!(event.r#type(), event::Type::Acknowledged);
        assert_eq!(event.acknowledged.unwrap().uuid, vec![7; 16]);
        assert_eq!(ShutdownExecutorMessage::default().evolve().r#type(), event::Type::Shutdown);
        let json = mesos::json::to_v1_string(
            &FrameworkToExecutorMessage { data: b"hi".to_vec(), ..Default::default() }.evolve(),
        );
        assert_eq!(json, r#"{"type":"MESSAGE","message":{"data":"aGk="}}"#);
    }
}
