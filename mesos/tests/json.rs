//! The protobuf <-> JSON mapping on real Mesos messages: output byte for byte (defaults, base64, doubles, maps, v1 renaming) and input as `protobuf::parse` takes it (numeric strings, unknown keys and enums, required fields), plus a no-panic property test.

use std::collections::BTreeMap;

use mesos::json::{self, Json, JsonError, Reader, Writer};
use mesos::proto::resource::reservation_info::Type as ReservationType;
use mesos::proto::resource::ReservationInfo;
use mesos::proto::scheduler::{self, attribute_constraint as ac};
use mesos::proto::value::{self, Range, Ranges, Scalar, Set};
use mesos::proto::{self, task_status, Resource, TaskState};
use proptest::prelude::*;
use serde_json::{json, Value};

// ----- helpers -----

fn parse<M: Json>(value: Value) -> Result<M, JsonError> {
    M::read_json(&value, &Reader::V0)
}

fn parse_v1<M: Json>(value: Value) -> Result<M, JsonError> {
    M::read_json(&value, &Reader::V1)
}

fn f64_text(value: f64) -> String {
    let mut out = String::new();
    json::write_f64(&mut out, value);
    out
}

fn task_status() -> proto::TaskStatus {
    proto::TaskStatus {
        task_id: proto::TaskId { value: "t1".into() },
        state: TaskState::TaskRunning as i32,
        source: Some(task_status::Source::Slave as i32),
        slave_id: Some(proto::SlaveId { value: "s1".into() }),
        timestamp: Some(1_700_000_000.5),
        uuid: Some(vec![0xfb, 0xff, 0x00, 0x10]),
        ..Default::default()
    }
}

fn scalar_resource(name: &str, value: f64) -> Resource {
    Resource {
        name: name.into(),
        r#type: value::Type::Scalar as i32,
        scalar: Some(Scalar { value }),
        ..Default::default()
    }
}

// ----- output -----

#[test]
fn task_status_output() {
    assert_eq!(
        json::to_string(&task_status()),
        r#"{"task_id":{"value":"t1"},"state":"TASK_RUNNING","source":"SOURCE_SLAVE","slave_id":{"value":"s1"},"timestamp":1700000000.5,"uuid":"+/8AEA=="}"#
    );
}

#[test]
fn task_status_v1_renames_fields_and_enum_values() {
    let status = proto::TaskStatus {
        reason: Some(task_status::Reason::SlaveRemoved as i32),
        message: Some("slave_id stays in values".into()),
        ..task_status()
    };
    assert_eq!(
        json::to_v1_string(&status),
        r#"{"task_id":{"value":"t1"},"state":"TASK_RUNNING","message":"slave_id stays in values","source":"SOURCE_AGENT","reason":"REASON_AGENT_REMOVED","agent_id":{"value":"s1"},"timestamp":1700000000.5,"uuid":"+/8AEA=="}"#
    );
}

#[test]
fn framework_info_defaults_but_not_deprecated_role() {
    let info = proto::FrameworkInfo { user: "root".into(), name: "x".into(), ..Default::default() };
    assert_eq!(json::to_string(&info), r#"{"user":"root","name":"x","failover_timeout":0.0,"checkpoint":false}"#);

    // Set, the deprecated field is written like any other.
    let info = proto::FrameworkInfo { role: Some("web".into()), roles: vec!["a".into(), "b".into()], ..info };
    assert_eq!(
        json::to_string(&info),
        r#"{"user":"root","name":"x","failover_timeout":0.0,"checkpoint":false,"role":"web","roles":["a","b"]}"#
    );
}

#[test]
fn filters_default() {
    assert_eq!(json::to_string(&proto::Filters::default()), r#"{"refuse_seconds":5.0}"#);
    assert_eq!(json::to_string(&proto::Filters { refuse_seconds: Some(0.25) }), r#"{"refuse_seconds":0.25}"#);
}

#[test]
fn resource_shapes() {
    assert_eq!(
        json::to_string(&scalar_resource("cpus", 1.0)),
        r#"{"name":"cpus","type":"SCALAR","scalar":{"value":1.0}}"#
    );

    let ports = Resource {
        name: "ports".into(),
        r#type: value::Type::Ranges as i32,
        ranges: Some(Ranges { range: vec![Range { begin: 31000, end: 32000 }, Range { begin: 5, end: 5 }] }),
        ..Default::default()
    };
    assert_eq!(
        json::to_string(&ports),
        r#"{"name":"ports","type":"RANGES","ranges":{"range":[{"begin":31000,"end":32000},{"begin":5,"end":5}]}}"#
    );

    let set = Resource {
        name: "disks".into(),
        r#type: value::Type::Set as i32,
        set: Some(Set { item: vec!["a".into(), "b".into()] }),
        role: Some("*".into()),
        reservations: vec![ReservationInfo {
            r#type: Some(ReservationType::Dynamic as i32),
            role: Some("r".into()),
            principal: Some("p".into()),
            labels: None,
        }],
        ..Default::default()
    };
    assert_eq!(
        json::to_string(&set),
        r#"{"name":"disks","type":"SET","set":{"item":["a","b"]},"role":"*","reservations":[{"type":"DYNAMIC","role":"r","principal":"p"}]}"#
    );

    // An empty repeated field inside a set sub-message is omitted, not `[]`.
    let empty = Resource { set: Some(Set::default()), ..set };
    assert!(json::to_string(&empty).contains(r#""set":{},"#));
}

#[test]
fn map_field_and_non_finite_doubles() {
    let mut limits = BTreeMap::new();
    limits.insert("mem".to_string(), Scalar { value: 64.0 });
    limits.insert("cpus".to_string(), Scalar { value: f64::INFINITY });
    let task = proto::TaskInfo {
        name: "t".into(),
        task_id: proto::TaskId { value: "t1".into() },
        slave_id: proto::SlaveId { value: "s1".into() },
        resources: vec![scalar_resource("cpus", 0.1)],
        limits,
        ..Default::default()
    };
    assert_eq!(
        json::to_string(&task),
        r#"{"name":"t","task_id":{"value":"t1"},"slave_id":{"value":"s1"},"resources":[{"name":"cpus","type":"SCALAR","scalar":{"value":0.1}}],"limits":{"cpus":{"value":Infinity},"mem":{"value":64.0}}}"#
    );
    assert!(json::to_v1_string(&task).contains(r#""agent_id":{"value":"s1"}"#));
}

#[test]
fn oneof_output_and_input() {
    let constraint = scheduler::AttributeConstraint {
        selector: ac::Selector { selector: Some(ac::selector::Selector::AttributeName("rack".into())) },
        predicate: ac::Predicate {
            predicate: Some(ac::predicate::Predicate::TextEquals(ac::predicate::TextEquals { value: "r1".into() })),
        },
    };
    let text = json::to_string(&constraint);
    assert_eq!(text, r#"{"selector":{"attribute_name":"rack"},"predicate":{"text_equals":{"value":"r1"}}}"#);
    let back: scheduler::AttributeConstraint = json::from_str(&text, &Reader::V0).unwrap();
    assert_eq!(back, constraint);

    let pseudo: ac::Selector = parse(json!({"pseudoattribute_type": "HOSTNAME"})).unwrap();
    assert_eq!(pseudo.selector, Some(ac::selector::Selector::PseudoattributeType(1)));
    assert_eq!(json::to_string(&pseudo), r#"{"pseudoattribute_type":"HOSTNAME"}"#);
}

#[test]
fn undeclared_enum_numbers_count_as_unset() {
    let status = proto::TaskStatus { state: 999, source: Some(999), ..task_status() };
    let text = json::to_string(&status);
    assert!(!text.contains("state") && !text.contains("source"), "{text}");
}

#[test]
fn strings_are_escaped_as_rapidjson_does() {
    let id = proto::TaskId { value: "a\"b\\c\n\t\u{1}\u{7f}/é".into() };
    assert_eq!(json::to_string(&id), "{\"value\":\"a\\\"b\\\\c\\n\\t\\u0001\u{7f}/é\"}");
}

#[test]
fn doubles_as_rapidjson_writes_them() {
    let cases: &[(f64, &str)] = &[
        (1.0, "1.0"),
        (15.0, "15.0"),
        (1024.0, "1024.0"),
        (0.1, "0.1"),
        (-2.5, "-2.5"),
        (0.0, "0.0"),
        (-0.0, "-0.0"),
        (123456.789, "123456.789"),
        (1e20, "100000000000000000000.0"),
        (1e21, "1e21"),
        (1.5e21, "1.5e21"),
        (1e-6, "0.000001"),
        (1.5e-6, "0.0000015"),
        (1e-7, "1e-7"),
        (1.25e-7, "1.25e-7"),
        (1e100, "1e100"),
        (1.7976931348623157e308, "1.7976931348623157e308"),
        (5e-324, "5e-324"),
        (f64::NAN, "NaN"),
        (f64::INFINITY, "Infinity"),
        (f64::NEG_INFINITY, "-Infinity"),
    ];
    for &(value, text) in cases {
        assert_eq!(f64_text(value), text, "{value:e}");
    }
}

#[test]
fn writer_for_hand_written_documents() {
    let mut w = Writer::new();
    w.begin_object();
    w.key("frameworks");
    w.begin_array();
    w.message(&proto::FrameworkId { value: "f".into() });
    w.message(&proto::FrameworkId { value: "g".into() });
    w.end_array();
    w.key("n");
    w.u64(3);
    w.key("empty");
    w.begin_object();
    w.end_object();
    w.end_object();
    assert_eq!(w.into_string(), r#"{"frameworks":[{"value":"f"},{"value":"g"}],"n":3,"empty":{}}"#);
}

#[test]
fn base64_matches_stout() {
    assert_eq!(json::base64_encode(b""), "");
    assert_eq!(json::base64_encode(b"f"), "Zg==");
    assert_eq!(json::base64_encode(b"fo"), "Zm8=");
    assert_eq!(json::base64_encode(b"foo"), "Zm9v");
    assert_eq!(json::base64_decode("Zm9v").unwrap(), b"foo");
    assert_eq!(json::base64_decode("Zm8=").unwrap(), b"fo");
    // Lenient like stout: whitespace skipped, no padding needed, input ends at `=`.
    assert_eq!(json::base64_decode("Zm 9v\nYg").unwrap(), b"foob");
    assert_eq!(json::base64_decode("Zg==garbage!").unwrap(), b"f");
    assert_eq!(json::base64_decode("Zm9v!").unwrap_err(), "Invalid character '!'");
}

// ----- input -----

#[test]
fn pymesos_subscribe_call() {
    let call: scheduler::Call = json::from_str(
        r#"{"type":"SUBSCRIBE","subscribe":{"framework_info":{"user":"root","name":"x"}}}"#,
        &Reader::V1,
    )
    .unwrap();
    assert_eq!(call.r#type(), scheduler::call::Type::Subscribe);
    let subscribe = call.subscribe.unwrap();
    assert_eq!(subscribe.framework_info.user, "root");
    assert_eq!(subscribe.framework_info.name, "x");
    assert_eq!(subscribe.framework_info.failover_timeout, None);
}

#[test]
fn numeric_and_boolean_strings() {
    let info: proto::FrameworkInfo = parse(json!({
        "user": "u", "name": "n", "failover_timeout": "3.5", "checkpoint": "true"
    }))
    .unwrap();
    assert_eq!(info.failover_timeout, Some(3.5));
    assert_eq!(info.checkpoint, Some(true));

    let range: Range = parse(json!({"begin": "31000", "end": 32000})).unwrap();
    assert_eq!(range, Range { begin: 31000, end: 32000 });

    let scalar: Scalar = parse(json!({"value": "Infinity"})).unwrap();
    assert_eq!(scalar.value, f64::INFINITY);
    let scalar: Scalar = parse(json!({"value": "-Infinity"})).unwrap();
    assert_eq!(scalar.value, f64::NEG_INFINITY);

    assert_eq!(
        parse::<Range>(json!({"begin": "x", "end": 1})).unwrap_err().to_string(),
        "Failed to parse 'x' as a JSON number for field 'begin'"
    );
    assert_eq!(
        parse::<proto::Filters>(json!({"refuse_seconds": true})).unwrap_err().to_string(),
        "Not expecting a JSON boolean for field 'refuse_seconds'"
    );
    assert_eq!(
        parse::<proto::FrameworkInfo>(json!({"user": "u", "name": "n", "checkpoint": "yes"})).unwrap_err().to_string(),
        "Failed to parse 'yes' as a JSON boolean for field 'checkpoint'"
    );
}

#[test]
fn unknown_keys_and_nulls_are_ignored() {
    let id: proto::TaskId = parse(json!({"value": "t", "extra": [1, 2, {"x": null}], "agent_id": 5})).unwrap();
    assert_eq!(id.value, "t");
    let status: proto::TaskStatus =
        parse(json!({"task_id": {"value": "t"}, "state": "TASK_FAILED", "message": null, "timestamp": null})).unwrap();
    assert_eq!(status.message, None);
    assert_eq!(status.timestamp, None);
}

#[test]
fn unknown_enum_names() {
    // Optional: dropped.
    let status: proto::TaskStatus =
        parse(json!({"task_id": {"value": "t"}, "state": "TASK_FAILED", "source": "SOURCE_NOWHERE"})).unwrap();
    assert_eq!(status.source, None);
    // Repeated: the element is dropped.
    let info: proto::FrameworkInfo = parse(json!({
        "user": "u", "name": "n",
        "capabilities": [{"type": "MULTI_ROLE"}, {"type": "TIME_TRAVEL"}]
    }))
    .unwrap();
    assert_eq!(info.capabilities.len(), 2);
    assert_eq!(info.capabilities[1].r#type, None);
    // Required: an error.
    assert_eq!(
        parse::<proto::TaskStatus>(json!({"task_id": {"value": "t"}, "state": "TASK_BORED"})).unwrap_err(),
        JsonError::UnknownEnum("TASK_BORED".into())
    );
    assert_eq!(
        parse::<proto::TaskStatus>(json!({"task_id": {"value": "t"}, "state": 1})).unwrap_err().to_string(),
        "Not expecting a JSON number for field 'state'"
    );
}

#[test]
fn bad_base64_is_an_error() {
    let error = parse::<proto::TaskStatus>(json!({"task_id": {"value": "t"}, "state": "TASK_FAILED", "uuid": "a*b"}))
        .unwrap_err();
    assert_eq!(error.to_string(), "Failed to base64 decode bytes field 'uuid': Invalid character '*'");
}

#[test]
fn missing_required_fields() {
    assert_eq!(parse::<proto::TaskId>(json!({})).unwrap_err().to_string(), "Missing required fields: value");

    let error = parse::<scheduler::Call>(json!({"type": "SUBSCRIBE", "subscribe": {"framework_info": {"name": "x"}}}))
        .unwrap_err();
    assert_eq!(error.to_string(), "Missing required fields: subscribe.framework_info.user");

    // Own fields first (declaration order), then set sub-messages by field number, with
    // indices for repeated fields and `[i].value.` for map values.
    let error = parse::<proto::TaskInfo>(json!({
        "limits": {"cpus": {}, "mem": {"value": 1}},
        "resources": [{"name": "cpus", "type": "SCALAR"}, {"scalar": {}}],
        "task_id": {},
    }))
    .unwrap_err();
    assert_eq!(
        error,
        JsonError::MissingRequired(vec![
            "name".into(),
            "slave_id".into(),
            "task_id.value".into(),
            "resources[1].name".into(),
            "resources[1].type".into(),
            "resources[1].scalar.value".into(),
            "limits[0].value.value".into(),
        ])
    );

    // Parsing v1 JSON, the paths have v1 names.
    let error =
        parse_v1::<proto::TaskInfo>(json!({"name": "t", "task_id": {"value": "t"}, "agent_id": {}})).unwrap_err();
    assert_eq!(error.to_string(), "Missing required fields: agent_id.value");

    assert_eq!(parse::<proto::TaskId>(json!([])).unwrap_err().to_string(), "Expecting a JSON object");
}

#[test]
fn arrays_only_for_repeated_fields() {
    assert_eq!(
        parse::<proto::TaskId>(json!({"value": ["a"]})).unwrap_err().to_string(),
        "Not expecting a JSON array for field 'value'"
    );
    // As in C++, a single value counts as one element and nested arrays flatten.
    let info: proto::FrameworkInfo = parse(json!({"user": "u", "name": "n", "roles": "a"})).unwrap();
    assert_eq!(info.roles, vec!["a".to_string()]);
    let info: proto::FrameworkInfo = parse(json!({"user": "u", "name": "n", "roles": [["a", null], "b"]})).unwrap();
    assert_eq!(info.roles, vec!["a".to_string(), "b".to_string()]);
    assert_eq!(
        parse::<proto::TaskInfo>(json!({"name": "t", "limits": "x"})).unwrap_err().to_string(),
        "Not expecting a JSON string for field 'limits'"
    );
}

#[test]
fn v1_input_renames_to_v0() {
    let status: proto::TaskStatus = parse_v1(json!({
        "task_id": {"value": "t"}, "state": "TASK_LOST", "agent_id": {"value": "a1"},
        "source": "SOURCE_AGENT", "reason": "REASON_AGENT_REMOVED"
    }))
    .unwrap();
    assert_eq!(status.slave_id, Some(proto::SlaveId { value: "a1".into() }));
    assert_eq!(status.source(), task_status::Source::Slave);
    assert_eq!(status.reason(), task_status::Reason::SlaveRemoved);

    // v0 spellings are unknown in v1 JSON, and v1 spellings in v0 JSON.
    let status: proto::TaskStatus = parse_v1(
        json!({"task_id": {"value": "t"}, "state": "TASK_LOST", "slave_id": {"value": "a1"}, "source": "SOURCE_SLAVE"}),
    )
    .unwrap();
    assert_eq!((status.slave_id, status.source), (None, None));
    let status: proto::TaskStatus =
        parse(json!({"task_id": {"value": "t"}, "state": "TASK_LOST", "agent_id": {"value": "a1"}})).unwrap();
    assert_eq!(status.slave_id, None);
}

#[test]
fn round_trips() {
    let status = proto::TaskStatus { data: Some(vec![0, 1, 2, 255]), healthy: Some(false), ..task_status() };
    for (text, reader) in [(json::to_string(&status), Reader::V0), (json::to_v1_string(&status), Reader::V1)] {
        let back: proto::TaskStatus = json::from_str(&text, &reader).unwrap();
        assert_eq!(back, status);
    }

    let mut limits = BTreeMap::new();
    limits.insert("cpus".to_string(), Scalar { value: 2.5 });
    let task = proto::TaskInfo {
        name: "t".into(),
        task_id: proto::TaskId { value: "t1".into() },
        slave_id: proto::SlaveId { value: "s1".into() },
        resources: vec![scalar_resource("mem", 128.0)],
        limits,
        data: Some(b"payload".to_vec()),
        ..Default::default()
    };
    let back: proto::TaskInfo = json::from_str(&json::to_string(&task), &Reader::V0).unwrap();
    assert_eq!(back, task);

    // Defaults come back as set values: the JSON carried them.
    let back: proto::Filters = json::from_str(&json::to_string(&proto::Filters::default()), &Reader::V0).unwrap();
    assert_eq!(back.refuse_seconds, Some(5.0));
}

fn arbitrary_json() -> impl Strategy<Value = Value> {
    let names = prop::sample::select(vec![
        "value",
        "task_id",
        "state",
        "source",
        "uuid",
        "timestamp",
        "slave_id",
        "agent_id",
        "name",
        "type",
        "scalar",
        "ranges",
        "range",
        "begin",
        "end",
        "set",
        "item",
        "limits",
        "resources",
        "reservations",
        "role",
        "labels",
        "labels",
        "key",
        "framework_info",
        "subscribe",
        "user",
        "roles",
        "capabilities",
        "failover_timeout",
        "checkpoint",
        "x",
    ]);
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        prop::sample::select(vec![
            "TASK_RUNNING",
            "SCALAR",
            "SUBSCRIBE",
            "Infinity",
            "-Infinity",
            "true",
            "5",
            "-1",
            "1e400",
            "Zm9v",
            "!!",
            "",
            "SOURCE_AGENT",
            "NaN",
        ])
        .prop_map(Value::from),
        ".*".prop_map(Value::String),
    ];
    leaf.prop_recursive(6, 64, 6, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::vec((names.clone(), inner), 0..6)
                .prop_map(|entries| Value::Object(entries.into_iter().map(|(k, v)| (k.to_string(), v)).collect())),
        ]
    })
}

proptest! {
    #[test]
    fn random_json_never_panics_the_reader(value in arbitrary_json(), v1 in any::<bool>()) {
        let reader = Reader { v1 };
        let _ = scheduler::Call::read_json(&value, &reader);
        let _ = proto::TaskInfo::read_json(&value, &reader);
        let _ = proto::TaskStatus::read_json(&value, &reader);
        let _ = proto::FrameworkInfo::read_json(&value, &reader);
        if let Ok(resource) = Resource::read_json(&value, &reader) {
            // Whatever was read writes and reads back to the same message.
            let text = if v1 { json::to_v1_string(&resource) } else { json::to_string(&resource) };
            // Bare `Infinity` is not JSON (rapidjson writes it all the same).
            prop_assume!(!text.contains("Infinity"));
            let back: Resource = json::from_str(&text, &reader).unwrap();
            prop_assert_eq!(back, resource);
        }
    }

    #[test]
    fn doubles_round_trip(value in any::<f64>().prop_filter("finite", |v| v.is_finite())) {
        let text = f64_text(value);
        prop_assert_eq!(text.parse::<f64>().unwrap().to_bits(), value.to_bits());
    }
}
