//! The v0 messages the master sends schedulers, turned into the `mesos.scheduler.Event` an HTTP (v1) scheduler gets instead; mirrors the scheduler-event part of `src/internal/evolve.cpp`.
//!
//! Our `mesos::proto::scheduler::Event` is wire-identical to `mesos.v1.scheduler.Event` and
//! the JSON layer renames `slave` to `agent`, so "evolving" is only the change of shape; the
//! v0 → v1 renaming happens when the event is serialized.

use libprocess::{ProtobufMessage, UPID};
use mesos::internal::{
    ExecutorToFrameworkMessage, ExitedExecutorMessage, FrameworkErrorMessage, FrameworkRegisteredMessage,
    FrameworkReregisteredMessage, LostSlaveMessage, RescindResourceOfferMessage, ResourceOffersMessage,
    StatusUpdateMessage,
};
use mesos::proto::scheduler::event::{self, Type};
use mesos::proto::scheduler::Event;
use mesos::proto::{FrameworkId, MasterInfo};

use crate::constants::DEFAULT_HEARTBEAT_INTERVAL;

/// A message the master sends a scheduler: a v0 driver gets it as it is, an HTTP scheduler
/// as the [`Event`] this returns (C++ `evolve(const ...Message&)`).
pub trait Evolve: ProtobufMessage {
    fn evolve(&self) -> Event;
}

fn event(kind: Type) -> Event {
    Event { r#type: Some(kind as i32), ..Default::default() }
}

/// `SUBSCRIBED`, for a first subscription and a resubscription alike.
fn subscribed(framework_id: &FrameworkId, master_info: &MasterInfo) -> Event {
    Event {
        subscribed: Some(event::Subscribed {
            framework_id: framework_id.clone(),
            heartbeat_interval_seconds: Some(DEFAULT_HEARTBEAT_INTERVAL.as_secs_f64()),
            master_info: Some(master_info.clone()),
        }),
        ..event(Type::Subscribed)
    }
}

/// The `HEARTBEAT` event (C++ `Framework::heartbeat`).
pub fn heartbeat() -> Event {
    event(Type::Heartbeat)
}

impl Evolve for FrameworkRegisteredMessage {
    fn evolve(&self) -> Event {
        subscribed(&self.framework_id, &self.master_info)
    }
}

impl Evolve for FrameworkReregisteredMessage {
    fn evolve(&self) -> Event {
        subscribed(&self.framework_id, &self.master_info)
    }
}

impl Evolve for ResourceOffersMessage {
    /// The agents' pids stay behind: an HTTP scheduler has no use for them.
    fn evolve(&self) -> Event {
        Event { offers: Some(event::Offers { offers: self.offers.clone() }), ..event(Type::Offers) }
    }
}

impl Evolve for RescindResourceOfferMessage {
    fn evolve(&self) -> Event {
        Event { rescind: Some(event::Rescind { offer_id: self.offer_id.clone() }), ..event(Type::Rescind) }
    }
}

impl Evolve for StatusUpdateMessage {
    /// The status with the update's agent, executor and timestamp. It keeps a uuid only if
    /// the update has one and names an acknowledgee (`pid`): updates the master makes up
    /// (reconciliation, removals) carry none and must not be acknowledged.
    fn evolve(&self) -> Event {
        let update = &self.update;
        let mut status = update.status.clone();
        if let Some(slave_id) = &update.slave_id {
            status.slave_id = Some(slave_id.clone());
        }
        if let Some(executor_id) = &update.executor_id {
            status.executor_id = Some(executor_id.clone());
        }
        status.timestamp = Some(update.timestamp);
        let acknowledgee = self.pid.as_deref().map(UPID::parse_lenient).unwrap_or_else(UPID::empty);
        status.uuid = match &update.uuid {
            Some(uuid) if !uuid.is_empty() && !acknowledgee.is_null() => Some(uuid.clone()),
            _ => None,
        };
        Event { update: Some(event::Update { status }), ..event(Type::Update) }
    }
}

impl Evolve for ExecutorToFrameworkMessage {
    fn evolve(&self) -> Event {
        Event {
            message: Some(event::Message {
                slave_id: self.slave_id.clone(),
                executor_id: self.executor_id.clone(),
                data: self.data.clone(),
            }),
            ..event(Type::Message)
        }
    }
}

impl Evolve for LostSlaveMessage {
    fn evolve(&self) -> Event {
        Event {
            failure: Some(event::Failure { slave_id: Some(self.slave_id.clone()), ..Default::default() }),
            ..event(Type::Failure)
        }
    }
}

impl Evolve for ExitedExecutorMessage {
    fn evolve(&self) -> Event {
        Event {
            failure: Some(event::Failure {
                slave_id: Some(self.slave_id.clone()),
                executor_id: Some(self.executor_id.clone()),
                status: Some(self.status),
            }),
            ..event(Type::Failure)
        }
    }
}

impl Evolve for FrameworkErrorMessage {
    fn evolve(&self) -> Event {
        Event { error: Some(event::Error { message: self.message.clone() }), ..event(Type::Error) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mesos::internal::StatusUpdate;
    use mesos::proto::{ExecutorId, SlaveId, TaskId, TaskStatus};

    fn update(uuid: Option<Vec<u8>>, pid: Option<&str>) -> StatusUpdateMessage {
        StatusUpdateMessage {
            update: StatusUpdate {
                framework_id: FrameworkId { value: "f".into() },
                executor_id: Some(ExecutorId { value: "e".into() }),
                slave_id: Some(SlaveId { value: "s".into() }),
                status: TaskStatus {
                    task_id: TaskId { value: "t".into() },
                    uuid: Some(vec![9; 16]),
                    ..Default::default()
                },
                timestamp: 12.5,
                uuid,
                latest_state: None,
            },
            pid: pid.map(str::to_owned),
        }
    }

    #[test]
    fn an_update_keeps_its_uuid_only_with_an_acknowledgee() {
        let acked = update(Some(vec![1; 16]), Some("slave(1)@127.0.0.1:5051")).evolve();
        assert_eq!(acked.r#type(), Type::Update);
        let status = acked.update.unwrap().status;
        assert_eq!(status.uuid, Some(vec![1; 16]), "the update's uuid, not the status's");
        assert_eq!(status.slave_id.unwrap().value, "s");
        assert_eq!(status.executor_id.unwrap().value, "e");
        assert_eq!(status.timestamp, Some(12.5));
        for (uuid, pid) in
            [(None, Some("slave(1)@127.0.0.1:5051")), (Some(vec![]), Some("a@1.2.3.4:5")), (Some(vec![1; 16]), None)]
        {
            assert_eq!(update(uuid, pid).evolve().update.unwrap().status.uuid, None);
        }
        let empty_pid = UPID::empty().to_string();
        assert_eq!(update(Some(vec![1; 16]), Some(&empty_pid)).evolve().update.unwrap().status.uuid, None);
    }

    #[test]
    fn subscriptions_carry_the_heartbeat_interval_and_v1_json_names() {
        let message = FrameworkRegisteredMessage {
            framework_id: FrameworkId { value: "f".into() },
            master_info: MasterInfo { id: "m".into(), ip: 1, port: 5050, ..Default::default() },
        };
        let json = mesos::json::to_v1_string(&message.evolve());
        assert!(json.starts_with(r#"{"type":"SUBSCRIBED","subscribed":{"framework_id":{"value":"f"},"heartbeat_interval_seconds":15.0,"master_info":{"#), "{json}");
        let lost = mesos::json::to_v1_string(&LostSlaveMessage { slave_id: SlaveId { value: "s".into() } }.evolve());
        assert_eq!(lost, r#"{"type":"FAILURE","failure":{"agent_id":{"value":"s"}}}"#);
        let error =
            mesos::json::to_v1_string(&FrameworkErrorMessage { message: "Framework failed over".into() }.evolve());
        assert_eq!(error, r#"{"type":"ERROR","error":{"message":"Framework failed over"}}"#);
        assert_eq!(mesos::json::to_v1_string(&heartbeat()), r#"{"type":"HEARTBEAT"}"#);
    }
}
