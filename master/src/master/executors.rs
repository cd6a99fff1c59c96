//! The master's executor-facing flows: framework messages both ways (MESSAGE and the legacy `FrameworkToExecutorMessage`, `ExecutorToFrameworkMessage` from agents), SHUTDOWN of an executor, an agent's `ExitedExecutorMessage`, and the REQUEST / `ReviveOffersMessage` calls that only reach the allocator; mirrors `Master::message`, `schedulerMessage`, `executorMessage`, `shutdown`, `exitedExecutor`, `request`, `resourceRequest` and `reviveOffers` in `src/master/master.cpp`.

use libprocess::{Context, UPID};
use mesos::internal::{
    ExecutorToFrameworkMessage, ExitedExecutorMessage, FrameworkToExecutorMessage, ResourceRequestMessage,
    ReviveOffersMessage, ShutdownExecutorMessage,
};
use mesos::proto::scheduler::call::{Message, Revive, Shutdown};
use mesos::proto::FrameworkId;

use super::Master;

impl Master {
    /// MESSAGE (C++ `Master::message`): to the executor through its agent, if the agent is
    /// registered and connected.
    pub(super) fn message(&mut self, ctx: &mut Context<Self>, framework_id: &FrameworkId, message: Message) {
        self.metrics.increment("messages_framework_to_executor");
        let Some(slave) = self.slaves.registered.get(&message.slave_id) else {
            tracing::warn!(framework = %framework_id.value, agent = %message.slave_id.value, "cannot send framework message: agent is not registered");
            self.metrics.increment("invalid_framework_to_executor_messages");
            return;
        };
        if !slave.connected {
            tracing::warn!(framework = %framework_id.value, agent = %message.slave_id.value, "cannot send framework message: agent is disconnected");
            self.metrics.increment("invalid_framework_to_executor_messages");
            return;
        }
        tracing::info!(framework = %framework_id.value, agent = %message.slave_id.value, "processing MESSAGE call");
        let forwarded = FrameworkToExecutorMessage {
            slave_id: message.slave_id,
            framework_id: framework_id.clone(),
            executor_id: message.executor_id,
            data: message.data,
        };
        ctx.send_protobuf(&slave.pid, &forwarded);
        self.metrics.increment("valid_framework_to_executor_messages");
    }

    /// `FrameworkToExecutorMessage` from a scheduler (C++ `Master::schedulerMessage`):
    /// MESSAGE from the framework's pid only.
    pub(super) fn framework_to_executor_message(
        &mut self,
        ctx: &mut Context<Self>,
        from: &UPID,
        message: FrameworkToExecutorMessage,
    ) {
        let id = message.framework_id;
        if !self.sent_by_framework("mesos.internal.FrameworkToExecutorMessage", &id, from) {
            return;
        }
        let call = Message { slave_id: message.slave_id, executor_id: message.executor_id, data: message.data };
        self.message(ctx, &id, call);
    }

    /// `ExecutorToFrameworkMessage` relayed by an agent (C++ `Master::executorMessage`): on
    /// to the framework if the agent is registered and the framework connected.
    pub(super) fn executor_to_framework_message(
        &mut self,
        ctx: &mut Context<Self>,
        from: &UPID,
        message: ExecutorToFrameworkMessage,
    ) {
        if !self.accepting("mesos.internal.ExecutorToFrameworkMessage", from) {
            return;
        }
        let (framework_id, executor_id) = (&message.framework_id, &message.executor_id);
        if !self.slaves.registered.contains_key(&message.slave_id) {
            tracing::warn!(%from, agent = %message.slave_id.value, executor = %executor_id.value, "ignoring executor message from an unknown agent");
            self.metrics.increment("invalid_executor_to_framework_messages");
            return;
        }
        let Some(framework) = self.frameworks.get(framework_id) else {
            tracing::warn!(framework = %framework_id.value, executor = %executor_id.value, "not forwarding executor message: the framework is unknown");
            self.metrics.increment("invalid_executor_to_framework_messages");
            return;
        };
        if !framework.connected {
            tracing::warn!(framework = %framework_id.value, executor = %executor_id.value, "not forwarding executor message: the framework is disconnected");
            self.metrics.increment("invalid_executor_to_framework_messages");
            return;
        }
        framework.send(ctx, &message);
        self.metrics.increment("valid_executor_to_framework_messages");
    }

    /// SHUTDOWN (C++ `Master::shutdown`): asks the agent to shut one executor down.
    pub(super) fn shutdown_executor(
        &mut self,
        ctx: &mut Context<Self>,
        framework_id: &FrameworkId,
        shutdown: Shutdown,
    ) {
        let Some(slave) = self.slaves.registered.get(&shutdown.slave_id) else {
            tracing::warn!(framework = %framework_id.value, agent = %shutdown.slave_id.value, executor = %shutdown.executor_id.value, "unable to shut down executor of an unknown agent");
            return;
        };
        tracing::info!(framework = %framework_id.value, agent = %shutdown.slave_id.value, executor = %shutdown.executor_id.value, "processing SHUTDOWN call");
        let message = ShutdownExecutorMessage {
            executor_id: Some(shutdown.executor_id),
            framework_id: Some(framework_id.clone()),
        };
        ctx.send_protobuf(&slave.pid, &message);
    }

    /// `ExitedExecutorMessage` from an agent (C++ `Master::exitedExecutor`): the executor's
    /// resources go back, and a connected framework hears of it.
    pub(super) fn exited_executor(&mut self, ctx: &mut Context<Self>, from: &UPID, message: ExitedExecutorMessage) {
        if !self.accepting("mesos.internal.ExitedExecutorMessage", from) {
            return;
        }
        let (slave_id, framework_id, executor_id) = (&message.slave_id, &message.framework_id, &message.executor_id);
        let Some(slave) = self.slaves.registered.get(slave_id) else {
            tracing::warn!(%from, agent = %slave_id.value, executor = %executor_id.value, "ignoring exited executor on an unknown agent");
            return;
        };
        if !slave.has_executor(framework_id, executor_id) {
            tracing::warn!(agent = %slave_id.value, framework = %framework_id.value, executor = %executor_id.value, "ignoring unknown exited executor");
            return;
        }
        tracing::info!(agent = %slave_id.value, framework = %framework_id.value, executor = %executor_id.value, status = message.status, "executor exited");
        self.remove_executor(slave_id, framework_id, executor_id);
        match self.frameworks.get(framework_id) {
            Some(framework) if framework.connected => framework.send(ctx, &message),
            _ => {
                tracing::warn!(framework = %framework_id.value, executor = %executor_id.value, "not forwarding exited executor message: the framework is unknown or disconnected")
            }
        }
    }

    /// REQUEST (C++ `Master::request`): the allocator is told (and, as in C++, ignores the
    /// requests themselves).
    pub(super) fn request(&mut self, framework_id: &FrameworkId) {
        self.metrics.increment("messages_resource_request");
        tracing::info!(framework = %framework_id.value, "processing REQUEST call");
        self.allocator.request_resources(framework_id.clone());
    }

    /// `ResourceRequestMessage` (C++ `Master::resourceRequest`): REQUEST from the
    /// framework's pid only.
    pub(super) fn resource_request_message(
        &mut self,
        _ctx: &mut Context<Self>,
        from: &UPID,
        message: ResourceRequestMessage,
    ) {
        let id = message.framework_id;
        if self.sent_by_framework("mesos.internal.ResourceRequestMessage", &id, from) {
            self.request(&id);
        }
    }

    /// `ReviveOffersMessage` (C++ `Master::reviveOffers`): REVIVE from the framework's pid
    /// only.
    pub(super) fn revive_offers_message(
        &mut self,
        _ctx: &mut Context<Self>,
        from: &UPID,
        message: ReviveOffersMessage,
    ) {
        let id = message.framework_id;
        if self.sent_by_framework("mesos.internal.ReviveOffersMessage", &id, from) {
            self.revive(&id, Revive { roles: message.roles });
        }
    }
}
