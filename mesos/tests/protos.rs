//! The generated protobuf layer as a peer sees it: wire names, field numbers on the wire, required-field checks and declared defaults.

use libprocess::protobuf::{decode_checked, encode_checked, type_name, ProtobufError};
use libprocess::{ProtobufMessage, UPID};
use mesos::internal;
use mesos::proto::{self, executor, scheduler};

// ----- helpers -----

fn encode<M: prost::Message>(message: &M) -> Vec<u8> {
    message.encode_to_vec()
}

fn framework_id(value: &str) -> proto::FrameworkId {
    proto::FrameworkId { value: value.into() }
}

fn slave_id(value: &str) -> proto::SlaveId {
    proto::SlaveId { value: value.into() }
}

fn task_id(value: &str) -> proto::TaskId {
    proto::TaskId { value: value.into() }
}

fn slave_info(hostname: &str) -> proto::SlaveInfo {
    proto::SlaveInfo { hostname: hostname.into(), checkpoint: Some(true), ..Default::default() }
}

fn framework_info() -> proto::FrameworkInfo {
    proto::FrameworkInfo { user: "root".into(), name: "test".into(), ..Default::default() }
}

fn status_update() -> internal::StatusUpdate {
    let uuid = vec![7u8; 16];
    internal::StatusUpdate {
        framework_id: framework_id("f1"),
        executor_id: Some(proto::ExecutorId { value: "e1".into() }),
        slave_id: Some(slave_id("s1")),
        status: proto::TaskStatus {
            task_id: task_id("t1"),
            state: proto::TaskState::TaskRunning as i32,
            source: Some(proto::task_status::Source::Executor as i32),
            uuid: Some(uuid.clone()),
            ..Default::default()
        },
        timestamp: 1_700_000_000.5,
        uuid: Some(uuid),
        latest_state: None,
    }
}

fn upid() -> UPID {
    "master@127.0.0.1:5050".parse().expect("a valid UPID")
}

/// The top-level fields of `bytes` as `(number, whole field bytes with its key)`.
fn fields(mut bytes: &[u8]) -> Vec<(u32, Vec<u8>)> {
    fn varint(bytes: &mut &[u8]) -> u64 {
        let mut value = 0u64;
        for shift in (0..64).step_by(7) {
            let byte = bytes[0];
            *bytes = &bytes[1..];
            value |= u64::from(byte & 0x7f) << shift;
            if byte & 0x80 == 0 {
                break;
            }
        }
        value
    }
    let mut out = Vec::new();
    while !bytes.is_empty() {
        let start = bytes;
        let key = varint(&mut bytes);
        match key & 7 {
            0 => {
                varint(&mut bytes);
            }
            1 => bytes = &bytes[8..],
            2 => {
                let len = varint(&mut bytes) as usize;
                bytes = &bytes[len..];
            }
            5 => bytes = &bytes[4..],
            other => panic!("unexpected wire type {other}"),
        }
        let used = start.len() - bytes.len();
        out.push(((key >> 3) as u32, start[..used].to_vec()));
    }
    out
}

/// The field numbers of the top-level fields of `bytes`, in wire order.
fn numbers(bytes: &[u8]) -> Vec<u32> {
    fields(bytes).into_iter().map(|(n, _)| n).collect()
}

/// The whole bytes (key included) of the first top-level field `number` in `bytes`.
fn field(bytes: &[u8], number: u32) -> Vec<u8> {
    fields(bytes).into_iter().find(|(n, _)| *n == number).unwrap_or_else(|| panic!("no field {number}")).1
}

/// `bytes` without any occurrence of top-level field `number`, as a peer that never set it
/// would send them.
fn without_field(bytes: &[u8], number: u32) -> Vec<u8> {
    fields(bytes).into_iter().filter(|(n, _)| *n != number).flat_map(|(_, b)| b).collect()
}

/// `bytes` with the length-delimited field `number` replaced by one holding `payload`.
fn with_field(bytes: &[u8], number: u32, payload: &[u8]) -> Vec<u8> {
    let mut out = without_field(bytes, number);
    for mut value in [u64::from(number << 3 | 2), payload.len() as u64] {
        while value >= 0x80 {
            out.push(value as u8 | 0x80);
            value >>= 7;
        }
        out.push(value as u8);
    }
    out.extend_from_slice(payload);
    out
}

fn is_missing_required<M: std::fmt::Debug>(result: Result<M, ProtobufError>) -> bool {
    matches!(result, Err(ProtobufError::MissingRequired(_)))
}

// ----- (a) wire names -----

#[test]
fn wire_names_are_full_type_names() {
    assert_eq!(type_name::<internal::RegisterSlaveMessage>(), "mesos.internal.RegisterSlaveMessage");
    assert_eq!(type_name::<internal::PingSlaveMessage>(), "mesos.internal.PingSlaveMessage");
    assert_eq!(type_name::<internal::StatusUpdateMessage>(), "mesos.internal.StatusUpdateMessage");
    assert_eq!(type_name::<internal::AuthenticateMessage>(), "mesos.internal.AuthenticateMessage");
    assert_eq!(type_name::<internal::archive::Framework>(), "mesos.internal.Archive.Framework");
    assert_eq!(type_name::<scheduler::Call>(), "mesos.scheduler.Call");
    assert_eq!(type_name::<scheduler::call::Subscribe>(), "mesos.scheduler.Call.Subscribe");
    assert_eq!(type_name::<executor::Event>(), "mesos.executor.Event");
    assert_eq!(type_name::<proto::FrameworkId>(), "mesos.FrameworkID");
    assert_eq!(type_name::<proto::Uuid>(), "mesos.UUID");
    assert_eq!(type_name::<proto::resource::ReservationInfo>(), "mesos.Resource.ReservationInfo");
    // The short path and the full path name the same type.
    assert_eq!(type_name::<mesos::proto::internal::ShutdownMessage>(), type_name::<internal::ShutdownMessage>());
}

// ----- (b) field numbers on the wire -----

#[test]
fn ping_slave_message_connected_is_field_1() {
    assert_eq!(encode(&internal::PingSlaveMessage { connected: true }), [0x08, 0x01]);
    assert_eq!(encode(&internal::PongSlaveMessage {}), [] as [u8; 0]);
}

#[test]
fn framework_error_message_is_field_2() {
    assert_eq!(encode(&internal::FrameworkErrorMessage { message: "x".into() }), [0x12, 0x01, b'x']);
}

#[test]
fn executor_registered_message_numbering_starts_at_2() {
    let message = internal::ExecutorRegisteredMessage {
        executor_info: proto::ExecutorInfo {
            executor_id: proto::ExecutorId { value: "e".into() },
            ..Default::default()
        },
        framework_id: framework_id("f"),
        framework_info: framework_info(),
        slave_id: slave_id("s"),
        slave_info: slave_info("h"),
    };
    let bytes = encode(&message);
    assert_eq!(numbers(&bytes), [2, 3, 4, 5, 6]);
    // executor_info comes first: key (2 << 3) | 2, holding ExecutorInfo { executor_id { "e" } }.
    assert_eq!(field(&bytes, 2), [0x12, 0x05, 0x0a, 0x03, 0x0a, 0x01, b'e']);
}

#[test]
fn reregister_framework_message_framework_is_field_2_failover_3() {
    let message = internal::ReregisterFrameworkMessage { framework: framework_info(), failover: true };
    let bytes = encode(&message);
    assert_eq!(bytes[0], 0x12);
    assert_eq!(numbers(&bytes), [2, 3]);
    assert_eq!(field(&bytes, 3), [0x18, 0x01]);
}

#[test]
fn v0_call_subscribe_has_force_2_and_suppressed_roles_3() {
    let subscribe = scheduler::call::Subscribe {
        framework_info: framework_info(),
        force: Some(true),
        suppressed_roles: vec!["r".into()],
        offer_constraints: Some(scheduler::OfferConstraints::default()),
    };
    let bytes = encode(&subscribe);
    assert_eq!(numbers(&bytes), [1, 2, 3, 4]);
    assert_eq!(bytes[0], 0x0a);
    assert_eq!(field(&bytes, 2), [0x10, 0x01]);
    assert_eq!(field(&bytes, 3), [0x1a, 0x01, b'r']);
    assert_eq!(field(&bytes, 4), [0x22, 0x00]);
}

#[test]
fn scheduler_call_fields_and_types() {
    let call = scheduler::Call { r#type: Some(scheduler::call::Type::Subscribe as i32), ..Default::default() };
    assert_eq!(encode(&call), [0x10, 0x01]);
    // revive = 15 -> key 0x7a; suppress = 16 -> key 0x82 0x01; update_framework = 19 -> 0x9a 0x01.
    let revive = scheduler::Call { revive: Some(Default::default()), ..Default::default() };
    assert_eq!(encode(&revive), [0x7a, 0x00]);
    let suppress = scheduler::Call { suppress: Some(Default::default()), ..Default::default() };
    assert_eq!(encode(&suppress), [0x82, 0x01, 0x00]);
    let update = scheduler::Call {
        update_framework: Some(scheduler::call::UpdateFramework {
            framework_info: framework_info(),
            suppressed_roles: vec![],
            offer_constraints: None,
        }),
        ..Default::default()
    };
    // UpdateFramework { framework_info (1) { user (1) "root", name (2) "test" } }.
    let mut expected = vec![0x9a, 0x01, 0x0e, 0x0a, 0x0c, 0x0a, 0x04];
    expected.extend_from_slice(b"root");
    expected.extend_from_slice(&[0x12, 0x04]);
    expected.extend_from_slice(b"test");
    assert_eq!(encode(&update), expected);
    assert_eq!(scheduler::call::Type::Suppress as i32, 12);
    assert_eq!(scheduler::call::Type::AcceptInverseOffers as i32, 13);
    assert_eq!(scheduler::call::Type::UpdateFramework as i32, 17);
    assert_eq!(scheduler::event::Type::Heartbeat as i32, 8);
    assert_eq!(scheduler::event::Type::UpdateOperationStatus as i32, 11);
}

#[test]
fn task_state_numbers() {
    use proto::TaskState::*;
    let expected = [
        (TaskStarting, 0, "TASK_STARTING"),
        (TaskRunning, 1, "TASK_RUNNING"),
        (TaskFinished, 2, "TASK_FINISHED"),
        (TaskFailed, 3, "TASK_FAILED"),
        (TaskKilled, 4, "TASK_KILLED"),
        (TaskLost, 5, "TASK_LOST"),
        (TaskStaging, 6, "TASK_STAGING"),
        (TaskError, 7, "TASK_ERROR"),
        (TaskKilling, 8, "TASK_KILLING"),
        (TaskDropped, 9, "TASK_DROPPED"),
        (TaskUnreachable, 10, "TASK_UNREACHABLE"),
        (TaskGone, 11, "TASK_GONE"),
        (TaskGoneByOperator, 12, "TASK_GONE_BY_OPERATOR"),
        (TaskUnknown, 13, "TASK_UNKNOWN"),
    ];
    for (state, number, name) in expected {
        assert_eq!(state as i32, number, "{state:?}");
        assert_eq!(state.as_str_name(), name);
    }
    // TaskStatus.state is field 2: TASK_STAGING on the wire is 0x10 0x06.
    let status = proto::TaskStatus { state: TaskStaging as i32, ..Default::default() };
    assert_eq!(field(&encode(&status), 2), [0x10, 0x06]);
}

#[test]
fn task_status_reason_and_source_numbers() {
    use proto::task_status::{Reason, Source};
    assert_eq!(Source::Master as i32, 0);
    assert_eq!(Source::Slave as i32, 1);
    assert_eq!(Source::Executor as i32, 2);
    assert_eq!(Source::Executor.as_str_name(), "SOURCE_EXECUTOR");
    assert_eq!(Reason::CommandExecutorFailed as i32, 0);
    assert_eq!(Reason::ContainerLimitationMemory as i32, 8);
    assert_eq!(Reason::Reconciliation as i32, 9);
    assert_eq!(Reason::SlaveRemoved as i32, 11);
    assert_eq!(Reason::ExecutorRegistrationTimeout as i32, 23);
    assert_eq!(Reason::SlaveDraining as i32, 34);
    assert_eq!(Reason::SlaveDraining.as_str_name(), "REASON_SLAVE_DRAINING");
}

#[test]
fn status_update_message_update_1_pid_2() {
    let message = internal::StatusUpdateMessage { update: status_update(), pid: Some("p".into()) };
    let bytes = encode(&message);
    assert_eq!(bytes[0], 0x0a);
    assert_eq!(numbers(&bytes), [1, 2]);
    assert_eq!(field(&bytes, 2), [0x12, 0x01, b'p']);
}

#[test]
fn status_update_timestamp_is_double_field_5() {
    let update = internal::StatusUpdate { timestamp: 1.0, ..Default::default() };
    let mut expected = vec![0x29];
    expected.extend_from_slice(&1.0f64.to_le_bytes());
    assert_eq!(field(&encode(&update), 5), expected);
    assert_eq!(numbers(&encode(&status_update())), [1, 2, 3, 4, 5, 6]);
}

#[test]
fn launch_tasks_message_tasks_3_filters_5_offer_ids_6() {
    let message = internal::LaunchTasksMessage {
        framework_id: framework_id("f"),
        tasks: vec![proto::TaskInfo::default()],
        filters: proto::Filters { refuse_seconds: None },
        offer_ids: vec![proto::OfferId { value: "o".into() }],
    };
    let bytes = encode(&message);
    assert_eq!(numbers(&bytes), [1, 3, 5, 6]);
    assert_eq!(field(&bytes, 5), [0x2a, 0x00]);
    assert_eq!(field(&bytes, 6), [0x32, 0x03, 0x0a, 0x01, b'o']);
}

#[test]
fn resource_offers_message_pids_is_field_2() {
    let message = internal::ResourceOffersMessage { offers: vec![], pids: vec!["slave(1)@1.2.3.4:5051".into()] };
    let bytes = encode(&message);
    assert_eq!(bytes[0], 0x12);
    assert_eq!(&bytes[2..], b"slave(1)@1.2.3.4:5051");
}

#[test]
fn register_and_reregister_slave_numbering() {
    let register = internal::RegisterSlaveMessage {
        slave: slave_info("h"),
        version: Some("1.12.0".into()),
        checkpointed_resources: vec![],
        agent_capabilities: vec![proto::slave_info::Capability {
            r#type: Some(proto::slave_info::capability::Type::MultiRole as i32),
        }],
        resource_version_uuid: Some(proto::Uuid { value: vec![1; 16] }),
    };
    let bytes = encode(&register);
    assert_eq!(numbers(&bytes), [1, 2, 4, 5]);
    // Field 4, holding Capability { type (1) = MULTI_ROLE (1) }.
    assert_eq!(field(&bytes, 4), [0x22, 0x02, 0x08, 0x01]);

    let reregister = internal::ReregisterSlaveMessage {
        slave: slave_info("h"),
        frameworks: vec![framework_info()],
        agent_capabilities: register.agent_capabilities.clone(),
        version: Some("1.12.0".into()),
        ..Default::default()
    };
    assert_eq!(numbers(&encode(&reregister)), [2, 6, 8, 9]);
}

#[test]
fn slave_registered_and_reregistered_connection_numbers() {
    let connection = Some(internal::MasterSlaveConnection { total_ping_timeout_seconds: Some(75.0) });
    let registered = internal::SlaveRegisteredMessage { slave_id: slave_id("s"), connection };
    assert_eq!(numbers(&encode(&registered)), [1, 2]);
    let reregistered =
        internal::SlaveReregisteredMessage { slave_id: slave_id("s"), reconciliations: vec![], connection };
    assert_eq!(numbers(&encode(&reregistered)), [1, 3]);
}

#[test]
fn run_task_message_numbering() {
    let message = internal::RunTaskMessage {
        framework_id: None,
        framework: framework_info(),
        task: proto::TaskInfo::default(),
        resource_version_uuids: vec![],
        pid: Some("scheduler@1.2.3.4:1".into()),
        launch_executor: Some(true),
    };
    assert_eq!(numbers(&encode(&message)), [2, 3, 4, 6]);
}

#[test]
fn acknowledgement_uuid_is_field_4_and_bytes_pass_unchanged() {
    let ack = internal::StatusUpdateAcknowledgementMessage {
        slave_id: slave_id("s"),
        framework_id: framework_id("f"),
        task_id: task_id("t"),
        uuid: vec![0xff, 0x00, 0x80],
    };
    let bytes = encode(&ack);
    assert_eq!(numbers(&bytes), [1, 2, 3, 4]);
    assert_eq!(field(&bytes, 4), [0x22, 0x03, 0xff, 0x00, 0x80]);
}

#[test]
fn master_and_slave_info_ports() {
    // MasterInfo.port is a required uint32 (field 3) declared with default 5050.
    let master = proto::MasterInfo { id: "m".into(), ip: 0x0100007f, ..Default::default() };
    assert_eq!(master.port, 5050);
    let bytes = encode(&master);
    // ip = field 2 (the network-order address read as a number), port = field 3.
    assert_eq!(numbers(&bytes), [1, 2, 3]);
    assert_eq!(field(&bytes, 3), [0x18, 0xba, 0x27]);
    let slave = proto::SlaveInfo { hostname: String::new(), port: Some(5051), ..Default::default() };
    assert_eq!(encode(&slave), [0x0a, 0x00, 0x40, 0xbb, 0x27]);
}

#[test]
fn framework_info_capabilities_10_roles_12_offer_filters_13() {
    use proto::framework_info::{capability::Type, Capability};
    assert_eq!(Type::PartitionAware as i32, 5);
    assert_eq!(Type::MultiRole as i32, 6);
    assert_eq!(Type::RegionAware as i32, 8);
    let info = proto::FrameworkInfo {
        capabilities: vec![Capability { r#type: Some(Type::MultiRole as i32) }],
        roles: vec!["r".into()],
        offer_filters: [("r".to_string(), proto::OfferFilters { min_allocatable_resources: Some(Default::default()) })]
            .into(),
        ..framework_info()
    };
    let bytes = encode(&info);
    assert_eq!(numbers(&bytes), [1, 2, 10, 12, 13]);
    assert_eq!(field(&bytes, 10), [0x52, 0x02, 0x08, 0x06]);
    assert_eq!(field(&bytes, 12), [0x62, 0x01, b'r']);
    // A map entry: key (1) "r", value (2) OfferFilters { min_allocatable_resources (1) {} }.
    assert_eq!(field(&bytes, 13), [0x6a, 0x07, 0x0a, 0x01, b'r', 0x12, 0x02, 0x0a, 0x00]);
}

#[test]
fn task_info_limits_is_a_map_field_15() {
    let task = proto::TaskInfo {
        limits: [("cpus".to_string(), proto::value::Scalar { value: 1.0 })].into(),
        ..Default::default()
    };
    let mut expected = vec![0x7a, 0x11, 0x0a, 0x04];
    expected.extend_from_slice(b"cpus");
    expected.extend_from_slice(&[0x12, 0x09, 0x09]);
    expected.extend_from_slice(&1.0f64.to_le_bytes());
    assert_eq!(field(&encode(&task), 15), expected);
}

#[test]
fn resource_reservations_13_and_reservation_type_4() {
    use proto::resource::{reservation_info::Type, ReservationInfo};
    let resource = proto::Resource {
        name: "cpus".into(),
        r#type: proto::value::Type::Scalar as i32,
        scalar: Some(proto::value::Scalar { value: 1.0 }),
        reservations: vec![ReservationInfo { r#type: Some(Type::Dynamic as i32), ..Default::default() }],
        ..Default::default()
    };
    let bytes = encode(&resource);
    assert_eq!(numbers(&bytes), [1, 2, 3, 13]);
    assert_eq!(field(&bytes, 13), [0x6a, 0x02, 0x20, 0x02]);
}

#[test]
fn executor_call_message_data_is_field_2() {
    let message = executor::call::Message { data: b"d".to_vec() };
    assert_eq!(encode(&message), [0x12, 0x01, b'd']);
}

#[test]
fn agent_capability_and_operation_numbers() {
    use proto::slave_info::capability::Type;
    assert_eq!(Type::MultiRole as i32, 1);
    assert_eq!(Type::HierarchicalRole as i32, 2);
    assert_eq!(Type::ReservationRefinement as i32, 3);
    assert_eq!(Type::ResourceProvider as i32, 4);
    assert_eq!(Type::TaskResourceLimits as i32, 8);
    assert_eq!(proto::OperationState::OperationPending as i32, 1);
    assert_eq!(proto::OperationState::OperationUnknown as i32, 9);
    assert_eq!(proto::offer::operation::Type::LaunchGroup as i32, 6);
    assert_eq!(proto::offer::operation::Type::GrowVolume as i32, 11);
}

#[test]
fn authentication_messages() {
    let start = internal::AuthenticationStartMessage { mechanism: "CRAM-MD5".into(), data: Some(vec![1]) };
    assert_eq!(numbers(&encode(&start)), [1, 2]);
    assert_eq!(encode(&internal::AuthenticationErrorMessage { error: Some("e".into()) }), [0x0a, 0x01, b'e']);
}

#[test]
fn decodes_bytes_a_cpp_peer_would_send() {
    // KillTaskMessage { framework_id { value: "f" }, task_id { value: "t" } }.
    let bytes = [0x0a, 0x03, 0x0a, 0x01, b'f', 0x12, 0x03, 0x0a, 0x01, b't'];
    let message: internal::KillTaskMessage = decode_checked(&bytes).expect("valid");
    assert_eq!(message.framework_id, framework_id("f"));
    assert_eq!(message.task_id, task_id("t"));
    assert_eq!(message.kill_policy, None);
}

// ----- (c) required fields -----

#[test]
fn register_slave_without_hostname_is_rejected() {
    // SlaveInfo { port: 5051 } without hostname (field 1), inside field 1 of the message.
    let bytes = [0x0a, 0x03, 0x40, 0xbb, 0x27];
    assert!(is_missing_required(decode_checked::<internal::RegisterSlaveMessage>(&bytes)));

    // The same, built from a complete message by dropping the hostname.
    let complete = encode(&internal::RegisterSlaveMessage { slave: slave_info("h"), ..Default::default() });
    assert!(decode_checked::<internal::RegisterSlaveMessage>(&complete).is_ok());
    let slave = without_field(&encode(&slave_info("h")), 1);
    let bytes = with_field(&complete, 1, &slave);
    assert!(is_missing_required(decode_checked::<internal::RegisterSlaveMessage>(&bytes)));

    // No SlaveInfo at all.
    let register = internal::RegisterSlaveMessage { version: Some("1.12.0".into()), ..Default::default() };
    let bytes = without_field(&encode(&register), 1);
    assert_eq!(numbers(&bytes), [2]);
    assert!(is_missing_required(decode_checked::<internal::RegisterSlaveMessage>(&bytes)));
}

#[test]
fn register_slave_with_incomplete_resource_is_rejected() {
    // A checkpointed resource (repeated field 3) without its required `type` (field 2).
    let resource = without_field(&encode(&proto::Resource { name: "cpus".into(), ..Default::default() }), 2);
    let mut bytes = encode(&internal::RegisterSlaveMessage { slave: slave_info("h"), ..Default::default() });
    bytes.extend_from_slice(&[0x1a, resource.len() as u8]);
    bytes.extend_from_slice(&resource);
    assert!(is_missing_required(decode_checked::<internal::RegisterSlaveMessage>(&bytes)));
}

#[test]
fn status_update_without_timestamp_is_rejected() {
    let bytes = without_field(&encode(&status_update()), 5);
    assert!(is_missing_required(decode_checked::<internal::StatusUpdate>(&bytes)));

    // The same update inside a StatusUpdateMessage (one level deeper).
    let message = with_field(&encode(&internal::StatusUpdateMessage::default()), 1, &bytes);
    assert!(is_missing_required(decode_checked::<internal::StatusUpdateMessage>(&message)));
}

#[test]
fn status_update_message_with_status_lacking_task_id_is_rejected() {
    // StatusUpdateMessage.update (1) -> StatusUpdate.status (4) -> TaskStatus.task_id (1).
    let wrap = |status: &[u8]| {
        let update = with_field(&encode(&status_update()), 4, status);
        with_field(&encode(&internal::StatusUpdateMessage::default()), 1, &update)
    };
    let status = encode(&status_update().status);
    assert!(decode_checked::<internal::StatusUpdateMessage>(&wrap(&status)).is_ok());
    let status = without_field(&status, 1);
    assert!(is_missing_required(decode_checked::<internal::StatusUpdateMessage>(&wrap(&status))));
}

#[test]
fn complete_messages_round_trip() {
    let message = internal::StatusUpdateMessage { update: status_update(), pid: Some("slave(1)@1.2.3.4:5051".into()) };
    let bytes = encode_checked(&message, &upid()).expect("complete");
    assert_eq!(decode_checked::<internal::StatusUpdateMessage>(&bytes).expect("decodes"), message);

    let register = internal::RegisterSlaveMessage {
        slave: slave_info("agent.example.com"),
        version: Some("1.12.0".into()),
        checkpointed_resources: vec![proto::Resource {
            name: "disk".into(),
            r#type: proto::value::Type::Scalar as i32,
            scalar: Some(proto::value::Scalar { value: 1024.0 }),
            ..Default::default()
        }],
        ..Default::default()
    };
    let bytes = encode_checked(&register, &upid()).expect("complete");
    assert_eq!(decode_checked::<internal::RegisterSlaveMessage>(&bytes).expect("decodes"), register);

    // A message with no required fields anywhere.
    assert_eq!(decode_checked::<internal::PongSlaveMessage>(&[]).expect("empty"), internal::PongSlaveMessage {});
}

#[test]
fn map_values_are_checked() {
    // TaskInfo with name, task_id, slave_id, plus limits {"cpus": Scalar {}} lacking `value`.
    let task =
        proto::TaskInfo { name: "t".into(), task_id: task_id("t"), slave_id: slave_id("s"), ..Default::default() };
    let mut bytes = encode(&task);
    assert!(decode_checked::<proto::TaskInfo>(&bytes).is_ok());
    bytes.extend_from_slice(&[0x7a, 0x08, 0x0a, 0x04, b'c', b'p', b'u', b's', 0x12, 0x00]);
    assert!(is_missing_required(decode_checked::<proto::TaskInfo>(&bytes)));
}

#[test]
fn recursive_container_ids_are_checked() {
    // ContainerID { value "c", parent { value "p", parent { } } }: the innermost lacks `value`.
    let ok = [0x0a, 0x01, b'c', 0x12, 0x03, 0x0a, 0x01, b'p'];
    assert!(decode_checked::<proto::ContainerId>(&ok).is_ok());
    let bad = [0x0a, 0x01, b'c', 0x12, 0x05, 0x0a, 0x01, b'p', 0x12, 0x00];
    assert!(is_missing_required(decode_checked::<proto::ContainerId>(&bad)));
}

#[test]
fn prost_always_writes_required_fields() {
    // prost 0.14 keeps required fields as plain values and always encodes them, so what we
    // send never lacks one (an unset one goes out as its default value); the schema check
    // is what catches peers that leave one out.
    let register = internal::RegisterSlaveMessage::default();
    let bytes = encode_checked(&register, &upid()).expect("nothing can be missing");
    // slave (1) = SlaveInfo { hostname (1) = "" }.
    assert_eq!(bytes.as_ref(), [0x0a, 0x02, 0x0a, 0x00]);
}

#[test]
fn schemas_only_walk_what_can_fail() {
    // Filters has no required field anywhere; Call.Subscribe needs framework_info (field 1)
    // and walks offer_constraints (4), whose AttributeConstraint has required fields.
    let filters = <proto::Filters as ProtobufMessage>::schema();
    assert!(filters.required.is_empty() && filters.nested.is_empty());
    let subscribe = <scheduler::call::Subscribe as ProtobufMessage>::schema();
    assert_eq!(subscribe.required, [1]);
    assert_eq!(subscribe.nested.iter().map(|(n, _)| *n).collect::<Vec<_>>(), [1, 4]);
    assert_eq!(<internal::PingSlaveMessage as ProtobufMessage>::schema().required, [1]);
    // Call: only message fields that can fail are walked (all of its sub-messages but
    // Revive (15) and Suppress (16), which hold only strings).
    let call = <scheduler::Call as ProtobufMessage>::schema();
    let walked: Vec<u32> = call.nested.iter().map(|(n, _)| *n).collect();
    assert!(walked.contains(&3) && !walked.contains(&15) && !walked.contains(&16), "{walked:?}");
}

// ----- (d) declared defaults -----

#[test]
fn declared_defaults() {
    assert_eq!(proto::Filters::default().refuse_seconds(), 5.0);
    let framework = proto::FrameworkInfo::default();
    assert_eq!(framework.failover_timeout(), 0.0);
    assert!(!framework.checkpoint());
    assert_eq!(framework.role(), "*");
    assert!(proto::CommandInfo::default().shell());
    assert!(proto::command_info::Uri::default().extract());
    let slave = proto::SlaveInfo::default();
    assert_eq!(slave.port(), 5051);
    assert!(!slave.checkpoint());
    assert_eq!(proto::MasterInfo::default().port, 5050);
    assert_eq!(proto::Resource::default().role(), "*");

    let health = proto::HealthCheck::default();
    assert_eq!(health.delay_seconds(), 15.0);
    assert_eq!(health.interval_seconds(), 10.0);
    assert_eq!(health.timeout_seconds(), 20.0);
    assert_eq!(health.consecutive_failures(), 3);
    assert_eq!(health.grace_period_seconds(), 10.0);
    assert_eq!(proto::health_check::HttpCheckInfo::default().protocol(), proto::network_info::Protocol::IPv4);
    let check = proto::CheckInfo::default();
    assert_eq!((check.delay_seconds(), check.interval_seconds(), check.timeout_seconds()), (15.0, 10.0, 20.0));

    assert_eq!(proto::environment::Variable::default().r#type(), proto::environment::variable::Type::Value);
    assert!(proto::Image::default().cached());
    let docker = proto::container_info::DockerInfo::default();
    assert_eq!(docker.network(), proto::container_info::docker_info::Network::Host);
    assert!(!docker.privileged());
    assert_eq!(proto::network_info::IpAddress::default().protocol(), proto::network_info::Protocol::IPv4);
    assert_eq!(proto::CsiPluginInfo::default().name(), "default");
    assert!(proto::LinuxInfo::default().share_cgroups());
    assert!(!proto::DrainConfig::default().mark_gone());
    assert!(!internal::TaskHealthStatus::default().kill_task());
}

#[test]
fn enum_fields_default_to_the_first_declared_value() {
    // proto2: an unset enum reads as the first value declared, which for TaskState is
    // TASK_STAGING (6), not the value numbered 0.
    assert_eq!(internal::StatusUpdate::default().latest_state(), proto::TaskState::TaskStaging);
    assert_eq!(proto::TaskStatus::default().state(), proto::TaskState::TaskStaging);
    assert_eq!(proto::Volume::default().mode(), proto::volume::Mode::Rw);
    assert_eq!(proto::ContainerInfo::default().r#type(), proto::container_info::Type::Docker);
}
