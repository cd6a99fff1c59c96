//! The operator event stream's subscribers (child module of `master.rs`): the SUBSCRIBE streams of `/api/v1`, oldest first and at most `--max_operator_event_stream_subscribers`, each with its heartbeat; events encoded once per content type and sent to every subscriber; mirrors `Master::Subscribers` and `Master::Subscribers::Subscriber` in `src/master/master.{hpp,cpp}` and `createTaskAdded`, `createTaskUpdated`, `createAgentRemoved`, `createFrameworkRemoved` in `src/common/protobuf_utils.cpp`.
//!
//! The master calls one method of [`Subscribers`] at each place C++ sends an event; the
//! events that carry a model of an agent or a framework are built in `operator.rs`, which
//! reads the master's books. Nothing is built while nobody listens.
//!
//! No authorization yet: every subscriber sees every event (C++ filters by the
//! subscriber's approvers).

use std::collections::VecDeque;

use libprocess::metrics::PushGauge;
use libprocess::{Context, Timer};
use mesos::api::{serialize, ContentType, Stream};
use mesos::proto::master::event::{AgentRemoved, FrameworkRemoved, TaskAdded, TaskUpdated, Type as EventType};
use mesos::proto::master::Event;
use mesos::proto::{FrameworkId, FrameworkInfo, SlaveId, Task, TaskState, TaskStatus};

use super::Master;
use crate::constants::DEFAULT_HEARTBEAT_INTERVAL;

/// The name of the gauge that counts the subscribers.
pub const SUBSCRIBERS_GAUGE: &str = "master/operator_event_stream_subscribers";

/// One SUBSCRIBE stream.
#[derive(Debug)]
struct Subscriber {
    /// Ours, to find it again from its timer and its close watch.
    id: u64,
    stream: Stream,
    heartbeat: Option<Timer>,
    /// Dropped with the subscriber: ends the task that watches for the client going away,
    /// which holds a sender of the stream and would keep it open.
    _evicted: tokio::sync::oneshot::Sender<()>,
}

/// The master's operator event subscribers (C++ `Master::Subscribers`).
#[derive(Debug)]
pub(crate) struct Subscribers {
    /// Oldest first.
    subscribed: VecDeque<Subscriber>,
    max: usize,
    next_id: u64,
    gauge: Option<PushGauge>,
}

impl Subscribers {
    /// No subscriber yet, at most `max` at a time.
    pub(crate) fn new(max: usize) -> Subscribers {
        Subscribers { subscribed: VecDeque::new(), max, next_id: 0, gauge: None }
    }

    /// Publishes the subscriber count as `master/operator_event_stream_subscribers`.
    pub(super) fn register_gauge(&mut self, ctx: &Context<Master>) {
        let gauge = ctx.libprocess().metrics().push_gauge(SUBSCRIBERS_GAUGE);
        gauge.set(self.subscribed.len() as f64);
        self.gauge = Some(gauge);
    }

    /// Whether any stream listens; events are not even built otherwise.
    pub(crate) fn is_empty(&self) -> bool {
        self.subscribed.is_empty()
    }

    fn count_changed(&self) {
        if let Some(gauge) = &self.gauge {
            gauge.set(self.subscribed.len() as f64);
        }
    }

    /// Adds `stream` (its SUBSCRIBED and first HEARTBEAT already sent): heartbeats every
    /// 15 s from now on, and out of the list when its client goes away. Past the cap, the
    /// oldest subscriber is closed (C++ `BoundedHashMap` evicts it).
    pub(super) fn add(&mut self, ctx: &mut Context<Master>, stream: Stream) {
        let id = self.next_id;
        self.next_id += 1;
        let (evicted, on_eviction) = tokio::sync::oneshot::channel::<()>();
        let closed = stream.closed();
        let client_left = mesos::operator::spawn_future(async move {
            tokio::select! {
                () = closed => true,
                _ = on_eviction => false,
            }
        });
        ctx.defer(client_left, move |master: &mut Master, ctx, left| {
            if left.unwrap_or(false) {
                master.operator.events.remove(ctx, id);
            }
        });
        let heartbeat = Some(arm_heartbeat(ctx, id));
        self.subscribed.push_back(Subscriber { id, stream, heartbeat, _evicted: evicted });
        while self.subscribed.len() > self.max {
            if let Some(oldest) = self.subscribed.pop_front() {
                tracing::info!(subscriber = %oldest.stream.id, "closing the oldest operator event stream: too many subscribers");
                if let Some(timer) = oldest.heartbeat {
                    ctx.cancel(timer);
                }
                // Dropping the stream ends its response.
            }
        }
        self.count_changed();
    }

    /// Forgets subscriber `id` (its client went away).
    fn remove(&mut self, ctx: &mut Context<Master>, id: u64) {
        if let Some(index) = self.subscribed.iter().position(|s| s.id == id) {
            if let Some(subscriber) = self.subscribed.remove(index) {
                tracing::info!(subscriber = %subscriber.stream.id, "operator event stream closed by its client");
                if let Some(timer) = subscriber.heartbeat {
                    ctx.cancel(timer);
                }
            }
            self.count_changed();
        }
    }

    /// The heartbeat of subscriber `id` is due: one HEARTBEAT, and the next in 15 s.
    fn heartbeat(&mut self, ctx: &mut Context<Master>, id: u64) {
        let Some(subscriber) = self.subscribed.iter_mut().find(|s| s.id == id) else { return };
        subscriber.stream.send(&heartbeat_event());
        subscriber.heartbeat = Some(arm_heartbeat(ctx, id));
    }

    /// Sends `event` to every subscriber, encoded once per content type (C++
    /// `Subscribers::send`).
    pub(crate) fn send(&self, event: &Event) {
        if self.subscribed.is_empty() {
            return;
        }
        tracing::debug!(event = ?event.r#type(), subscribers = self.subscribed.len(), "notifying operator subscribers");
        let mut json = None;
        let mut protobuf = None;
        for subscriber in &self.subscribed {
            let content_type = subscriber.stream.content_type;
            let slot = match content_type {
                ContentType::Json => &mut json,
                ContentType::Protobuf => &mut protobuf,
            };
            let bytes = slot.get_or_insert_with(|| serialize(content_type, event));
            subscriber.stream.send_serialized(bytes);
        }
    }

    /// TASK_ADDED (C++ `Framework::addTask`).
    pub(crate) fn task_added(&self, task: &Task) {
        if self.is_empty() {
            return;
        }
        self.send(&Event {
            r#type: Some(EventType::TaskAdded as i32),
            task_added: Some(TaskAdded { task: task.clone() }),
            ..Default::default()
        });
    }

    /// TASK_UPDATED (C++ `Master::updateTask`): the status just recorded, and the task's
    /// latest state.
    pub(crate) fn task_updated(&self, framework_id: &FrameworkId, status: &TaskStatus, state: TaskState) {
        if self.is_empty() {
            return;
        }
        self.send(&Event {
            r#type: Some(EventType::TaskUpdated as i32),
            task_updated: Some(TaskUpdated {
                framework_id: framework_id.clone(),
                status: status.clone(),
                state: state as i32,
            }),
            ..Default::default()
        });
    }

    /// AGENT_REMOVED (C++ `Master::__removeSlave`, after removal or unreachability).
    pub(crate) fn agent_removed(&self, id: &SlaveId) {
        if self.is_empty() {
            return;
        }
        self.send(&Event {
            r#type: Some(EventType::AgentRemoved as i32),
            agent_removed: Some(AgentRemoved { agent_id: id.clone() }),
            ..Default::default()
        });
    }

    /// FRAMEWORK_REMOVED (C++ `Master::removeFramework`).
    pub(crate) fn framework_removed(&self, info: &FrameworkInfo) {
        if self.is_empty() {
            return;
        }
        self.send(&Event {
            r#type: Some(EventType::FrameworkRemoved as i32),
            framework_removed: Some(FrameworkRemoved { framework_info: info.clone() }),
            ..Default::default()
        });
    }
}

/// Whether `status` reports a (health) check result, which subscribers hear of even when
/// the task's state did not change.
pub(super) fn is_check_update(status: &TaskStatus) -> bool {
    use mesos::proto::task_status::Reason;
    matches!(status.reason(), Reason::TaskCheckStatusUpdated | Reason::TaskHealthCheckStatusUpdated)
        && status.reason.is_some()
}

/// A HEARTBEAT event.
pub(super) fn heartbeat_event() -> Event {
    Event { r#type: Some(EventType::Heartbeat as i32), ..Default::default() }
}

fn arm_heartbeat(ctx: &Context<Master>, id: u64) -> Timer {
    ctx.delay(DEFAULT_HEARTBEAT_INTERVAL, move |master: &mut Master, ctx| master.operator.events.heartbeat(ctx, id))
}
