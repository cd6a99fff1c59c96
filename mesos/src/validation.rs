//! Checks of calls shared by the agent and the libraries that send them; mirrors `src/common/validation.cpp` (`validateExecutorCall`, `validateCheckStatusInfo`).

use crate::proto::check_info::Type as CheckType;
use crate::proto::executor::{call, Call};
use crate::proto::task_status::Source;
use crate::proto::{TaskState, TaskStatus};

/// C++ `id::UUID::fromBytes`: sixteen bytes of a known UUID version.
fn valid_uuid(bytes: &[u8]) -> bool {
    bytes.len() == 16 && (1..=5).contains(&(bytes[6] >> 4))
}

/// The `type` of an executor call, `None` when absent or not a known one (C++ protobuf keeps
/// an unknown enum value aside, so `has_type()` is false).
pub fn executor_call_type(call: &Call) -> Option<call::Type> {
    call.r#type.and_then(|t| call::Type::try_from(t).ok())
}

/// C++ `common::validation::validateExecutorCall` (the required fields are checked when the
/// call is decoded).
pub fn validate_executor_call(call: &Call) -> Result<(), String> {
    let Some(kind) = executor_call_type(call) else {
        return Err("Expecting 'type' to be present".into());
    };
    match kind {
        call::Type::Subscribe => {
            if call.subscribe.is_none() {
                return Err("Expecting 'subscribe' to be present".into());
            }
        }
        call::Type::Update => {
            let Some(update) = &call.update else {
                return Err("Expecting 'update' to be present".into());
            };
            validate_update_status(call, &update.status)?;
        }
        call::Type::Message => {
            if call.message.is_none() {
                return Err("Expecting 'message' to be present".into());
            }
        }
        call::Type::Heartbeat | call::Type::Unknown => {}
    }
    Ok(())
}

fn validate_update_status(call: &Call, status: &TaskStatus) -> Result<(), String> {
    let Some(uuid) = &status.uuid else {
        return Err("Expecting 'uuid' to be present".into());
    };
    if !valid_uuid(uuid) {
        return Err("Not a valid UUID".into());
    }
    let (executor, framework) = (&call.executor_id.value, &call.framework_id.value);
    if let Some(id) = &status.executor_id {
        if &id.value != executor {
            return Err(format!(
                "ExecutorID in Call: {executor} does not match ExecutorID in TaskStatus: {}",
                id.value
            ));
        }
    }
    if status.source() != Source::Executor {
        return Err(format!(
            "Received Call from executor {executor} of framework {framework} with invalid source, expecting 'SOURCE_EXECUTOR'"
        ));
    }
    if status.state() == TaskState::TaskStaging {
        return Err(format!(
            "Received TASK_STAGING from executor {executor} of framework {framework} which is not allowed"
        ));
    }
    if let Some(check) = &status.check_status {
        // C++ `validateCheckStatusInfo`.
        match check.r#type.map(CheckType::try_from) {
            None | Some(Err(_)) => return Err("CheckStatusInfo must specify 'type'".into()),
            Some(Ok(CheckType::Command)) if check.command.is_none() => {
                return Err("Expecting 'command' to be set for COMMAND check's status".into())
            }
            Some(Ok(CheckType::Http)) if check.http.is_none() => {
                return Err("Expecting 'http' to be set for HTTP check's status".into())
            }
            Some(Ok(CheckType::Tcp)) if check.tcp.is_none() => {
                return Err("Expecting 'tcp' to be set for TCP check's status".into())
            }
            Some(Ok(CheckType::Unknown)) => return Err("'UNKNOWN' is not a valid check's status type".into()),
            Some(Ok(_)) => {}
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::{CheckStatusInfo, ExecutorId, FrameworkId, TaskId};

    fn update_call(status: TaskStatus) -> Call {
        Call {
            executor_id: ExecutorId { value: "E".into() },
            framework_id: FrameworkId { value: "F".into() },
            r#type: Some(call::Type::Update as i32),
            update: Some(call::Update { status }),
            ..Call::default()
        }
    }

    fn status() -> TaskStatus {
        TaskStatus {
            task_id: TaskId { value: "T".into() },
            state: TaskState::TaskRunning as i32,
            source: Some(Source::Executor as i32),
            uuid: Some(crate::state::Uuid::random().as_bytes().to_vec()),
            ..TaskStatus::default()
        }
    }

    #[test]
    fn updates_are_validated_as_cpp_does() {
        assert_eq!(validate_executor_call(&update_call(status())), Ok(()));
        let no_uuid = TaskStatus { uuid: None, ..status() };
        assert_eq!(validate_executor_call(&update_call(no_uuid)).unwrap_err(), "Expecting 'uuid' to be present");
        let short = TaskStatus { uuid: Some(vec![1; 15]), ..status() };
        assert_eq!(validate_executor_call(&update_call(short)).unwrap_err(), "Not a valid UUID");
        let versionless = TaskStatus { uuid: Some(vec![0; 16]), ..status() };
        assert_eq!(validate_executor_call(&update_call(versionless)).unwrap_err(), "Not a valid UUID");
        let other = TaskStatus { executor_id: Some(ExecutorId { value: "X".into() }), ..status() };
        assert_eq!(
            validate_executor_call(&update_call(other)).unwrap_err(),
            "ExecutorID in Call: E does not match ExecutorID in TaskStatus: X"
        );
        let sourceless = TaskStatus { source: None, ..status() };
        assert_eq!(
            validate_executor_call(&update_call(sourceless)).unwrap_err(),
            "Received Call from executor E of framework F with invalid source, expecting 'SOURCE_EXECUTOR'"
        );
        let staging = TaskStatus { state: TaskState::TaskStaging as i32, ..status() };
        assert_eq!(
            validate_executor_call(&update_call(staging)).unwrap_err(),
            "Received TASK_STAGING from executor E of framework F which is not allowed"
        );
        let check = TaskStatus {
            check_status: Some(CheckStatusInfo { r#type: Some(CheckType::Http as i32), ..CheckStatusInfo::default() }),
            ..status()
        };
        assert_eq!(
            validate_executor_call(&update_call(check)).unwrap_err(),
            "Expecting 'http' to be set for HTTP check's status"
        );
    }

    #[test]
    fn calls_need_a_type_and_their_part() {
        let mut call = update_call(status());
        call.r#type = None;
        assert_eq!(validate_executor_call(&call).unwrap_err(), "Expecting 'type' to be present");
        call.r#type = Some(77);
        assert_eq!(validate_executor_call(&call).unwrap_err(), "Expecting 'type' to be present");
        call.r#type = Some(call::Type::Subscribe as i32);
        assert_eq!(validate_executor_call(&call).unwrap_err(), "Expecting 'subscribe' to be present");
        call.r#type = Some(call::Type::Message as i32);
        assert_eq!(validate_executor_call(&call).unwrap_err(), "Expecting 'message' to be present");
        call.r#type = Some(call::Type::Heartbeat as i32);
        assert_eq!(validate_executor_call(&call), Ok(()));
    }
}
