//! Compiles `proto/` into Rust with a pure-Rust toolchain (protox parses, prost-build
//! generates; no system `protoc`), then derives from the same descriptors a
//! `libprocess::protobuf::Schema` and a `libprocess::ProtobufMessage` impl for every message
//! type, written to `$OUT_DIR/schemas.rs`.
//!
//! prost cannot tell an absent proto2 `required` scalar from a default one, so libprocess
//! checks presence on the wire bytes against these schemas. A schema lists the message's
//! required field numbers and, in `nested`, only those message-typed fields (singular,
//! repeated or map values) whose type has a required field somewhere below it: subtrees that
//! cannot fail are never walked.
//!
//! From the same descriptors it writes `$OUT_DIR/json.rs`: a `crate::json::Json` impl per
//! message (the Mesos JSON mapping, field by field) and a `crate::json::JsonEnum` impl per
//! enum; see `generate_json`.
//!
//! It also stamps the build (`MESOS_BUILD_DATE`, `MESOS_BUILD_TIME`, `MESOS_BUILD_USER`, read
//! by `src/version.rs`), as upstream's build system defines `BUILD_DATE`/`BUILD_TIME`/
//! `BUILD_USER`. The stamp is taken when this script runs (the proto files changed, or a clean
//! build), not on every compile, so incremental builds stay incremental; `SOURCE_DATE_EPOCH`
//! pins it for reproducible builds.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt::Write as _;
use std::path::PathBuf;

use heck::{ToShoutySnakeCase, ToSnakeCase, ToUpperCamelCase};
use prost_types::field_descriptor_proto::{Label, Type};
use prost_types::{DescriptorProto, FileDescriptorSet};

/// The proto files, relative to `proto/` (which is also the import root, so imports read
/// `import "mesos/mesos.proto";` as upstream).
const PROTOS: &[&str] = &[
    "mesos/mesos.proto",
    "mesos/scheduler/scheduler.proto",
    "mesos/executor/executor.proto",
    "messages/messages.proto",
    "mesos/state/state.proto",
    "mesos/quota/quota.proto",
    "mesos/maintenance/maintenance.proto",
    "master/registry.proto",
    "mesos/master/master.proto",
    "mesos/agent/agent.proto",
];

/// The Rust module that holds the top-level package `mesos`; sub-packages nest under it.
const ROOT_PACKAGE: &str = "mesos";
const ROOT_MODULE: &str = "crate::proto";

fn main() {
    let manifest = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("CARGO_MANIFEST_DIR"));
    let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("OUT_DIR"));
    let root = manifest.join("proto");
    println!("cargo:rerun-if-changed={}", root.display());
    for proto in PROTOS {
        println!("cargo:rerun-if-changed={}", root.join(proto).display());
    }

    let fds = match protox::compile(PROTOS, [&root]) {
        Ok(fds) => fds,
        Err(error) => panic!("compiling the .proto files failed: {error:?}"),
    };

    prost_build::Config::new()
        .enable_type_names()
        // Deterministic encoding of map fields (`TaskInfo.limits`, ...).
        .btree_map(["."])
        // `DiskInfo` is most of a `Resource` laid out inline (about 900 of 1160 bytes), and
        // most resources have none; boxed, resources are a quarter the size, which the
        // allocator's bookkeeping feels on every offer.
        .boxed(".mesos.Resource.disk")
        .out_dir(&out)
        .compile_fds(fds.clone())
        .expect("prost-build failed");

    let schemas = generate_schemas(&fds);
    std::fs::write(out.join("schemas.rs"), schemas).expect("writing schemas.rs");

    let json = generate_json(&fds);
    std::fs::write(out.join("json.rs"), json).expect("writing json.rs");

    stamp_build();
}

/// Passes the build's date, time and user to the crate as compile-time variables.
fn stamp_build() {
    println!("cargo:rerun-if-env-changed=SOURCE_DATE_EPOCH");
    let pinned = std::env::var("SOURCE_DATE_EPOCH").ok().and_then(|text| text.trim().parse::<u64>().ok());
    let seconds = pinned.unwrap_or_else(|| {
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
    });
    let user = std::env::var("USER").or_else(|_| std::env::var("USERNAME")).unwrap_or_default();
    println!("cargo:rustc-env=MESOS_BUILD_TIME={seconds}");
    println!("cargo:rustc-env=MESOS_BUILD_DATE={}", utc_date_time(seconds));
    println!("cargo:rustc-env=MESOS_BUILD_USER={user}");
}

/// `YYYY-MM-DD HH:MM:SS UTC` for seconds since the epoch (the CMake build's `BUILD_DATE`).
fn utc_date_time(seconds: u64) -> String {
    let days = (seconds / 86_400) as i64;
    let of_day = seconds % 86_400;
    // Days to a proleptic Gregorian date, counting in 400-year eras that start on March 1st
    // so that the leap day ends each year.
    let shifted = days + 719_468;
    let era = shifted.div_euclid(146_097);
    let day_of_era = shifted.rem_euclid(146_097);
    let year_of_era = (day_of_era - day_of_era / 1_460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_index = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_index + 2) / 5 + 1;
    let month = if month_index < 10 { month_index + 3 } else { month_index - 9 };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02} UTC", of_day / 3_600, of_day / 60 % 60, of_day % 60)
}

/// One message type (nested types and map entries included) as seen by the schema generator.
struct Message {
    /// Package, e.g. `mesos.internal`.
    package: String,
    /// Names from the outermost message inwards, e.g. `["Call", "Subscribe"]`.
    path: Vec<String>,
    /// Map entries have no Rust type of their own, only a schema.
    map_entry: bool,
    required: Vec<u32>,
    /// `(field number, fully qualified type name with a leading dot)` of message fields.
    message_fields: Vec<(u32, String)>,
}

impl Message {
    fn full_name(&self) -> String {
        format!("{}.{}", self.package, self.path.join("."))
    }

    /// The Rust path prost-build gives this type (using prost-build's own name rules:
    /// heck's UpperCamel for types, snake_case for the modules of nesting messages).
    fn rust_path(&self) -> String {
        let mut path = package_module(&self.package);
        for outer in &self.path[..self.path.len() - 1] {
            path.push_str("::");
            path.push_str(&sanitize(outer.to_snake_case()));
        }
        path.push_str("::");
        path.push_str(&sanitize(self.path[self.path.len() - 1].to_upper_camel_case()));
        path
    }

    /// The name of this type's schema static: the full name in SHOUTY_SNAKE_CASE.
    fn static_name(&self) -> String {
        self.full_name().split('.').map(|part| part.to_shouty_snake_case()).collect::<Vec<_>>().join("_")
    }
}

/// `mesos` -> `crate::proto`, `mesos.internal` -> `crate::proto::internal`.
fn package_module(package: &str) -> String {
    let rest = package.strip_prefix(ROOT_PACKAGE).unwrap_or_else(|| panic!("package {package} is outside `mesos`"));
    let mut module = ROOT_MODULE.to_string();
    for part in rest.split('.').filter(|p| !p.is_empty()) {
        module.push_str("::");
        module.push_str(&sanitize(part.to_snake_case()));
    }
    module
}

/// prost-build's keyword handling for identifiers.
fn sanitize(ident: String) -> String {
    match ident.as_str() {
        "as" | "break" | "const" | "continue" | "else" | "enum" | "false" | "fn" | "for" | "if" | "impl" | "in"
        | "let" | "loop" | "match" | "mod" | "move" | "mut" | "pub" | "ref" | "return" | "static" | "struct"
        | "trait" | "true" | "type" | "unsafe" | "use" | "where" | "while" | "dyn" | "abstract" | "become" | "box"
        | "do" | "final" | "macro" | "override" | "priv" | "typeof" | "unsized" | "virtual" | "yield" | "async"
        | "await" | "try" | "gen" => format!("r#{ident}"),
        "_" | "super" | "self" | "Self" | "extern" | "crate" => format!("{ident}_"),
        _ => ident,
    }
}

fn collect(package: &str, outer: &[String], message: &DescriptorProto, into: &mut Vec<Message>) {
    let mut path = outer.to_vec();
    path.push(message.name().to_string());
    let mut required = Vec::new();
    let mut message_fields = Vec::new();
    for field in &message.field {
        let number = u32::try_from(field.number()).expect("field numbers are positive");
        if field.label() == Label::Required {
            required.push(number);
        }
        if matches!(field.r#type(), Type::Message | Type::Group) {
            message_fields.push((number, field.type_name().to_string()));
        }
    }
    for nested in &message.nested_type {
        collect(package, &path, nested, into);
    }
    let map_entry = message.options.as_ref().is_some_and(|o| o.map_entry());
    into.push(Message { package: package.to_string(), path, map_entry, required, message_fields });
}

fn generate_schemas(fds: &FileDescriptorSet) -> String {
    let mut messages = Vec::new();
    for file in &fds.file {
        for message in &file.message_type {
            collect(file.package(), &[], message, &mut messages);
        }
    }
    let index: HashMap<String, usize> =
        messages.iter().enumerate().map(|(i, m)| (format!(".{}", m.full_name()), i)).collect();
    let field_type = |name: &str| -> usize {
        *index.get(name).unwrap_or_else(|| panic!("message type {name} is not among the compiled files"))
    };

    // A type needs checking if it has a required field or a message field whose type does;
    // iterate to a fixed point so that recursive types (`ContainerID.parent`) settle.
    let mut needs_check: Vec<bool> = messages.iter().map(|m| !m.required.is_empty()).collect();
    loop {
        let mut changed = false;
        for (i, message) in messages.iter().enumerate() {
            if !needs_check[i] && message.message_fields.iter().any(|(_, t)| needs_check[field_type(t)]) {
                needs_check[i] = true;
                changed = true;
            }
        }
        if !changed {
            break;
        }
    }

    let mut statics: BTreeMap<String, usize> = BTreeMap::new();
    let mut seen_paths = HashSet::new();
    for (i, message) in messages.iter().enumerate() {
        assert!(seen_paths.insert(message.full_name()), "duplicate message {}", message.full_name());
        if needs_check[i] {
            if let Some(other) = statics.insert(message.static_name(), i) {
                panic!(
                    "schema static name {} is shared by {} and {}",
                    message.static_name(),
                    messages[other].full_name(),
                    message.full_name()
                );
            }
        }
    }

    let mut out = String::new();
    out.push_str("// Generated by mesos/build.rs from the descriptors of proto/: one schema per message type\n");
    out.push_str("// that has a required field somewhere below it, and a ProtobufMessage impl per type.\n\n");
    out.push_str("use libprocess::protobuf::Schema;\n\n");
    for &i in statics.values() {
        let message = &messages[i];
        let mut nested: Vec<(u32, String)> = message
            .message_fields
            .iter()
            .filter(|(_, t)| needs_check[field_type(t)])
            .map(|(number, t)| (*number, messages[field_type(t)].static_name()))
            .collect();
        nested.sort();
        let nested: Vec<String> = nested.iter().map(|(number, name)| format!("({number}, &{name})")).collect();
        let mut required = message.required.clone();
        required.sort_unstable();
        let required: Vec<String> = required.iter().map(u32::to_string).collect();
        writeln!(out, "/// `{}`", message.full_name()).unwrap();
        writeln!(
            out,
            "static {}: Schema = Schema {{ required: &[{}], nested: &[{}] }};",
            message.static_name(),
            required.join(", "),
            nested.join(", ")
        )
        .unwrap();
    }
    out.push('\n');
    for (i, message) in messages.iter().enumerate() {
        if message.map_entry {
            continue;
        }
        if needs_check[i] {
            writeln!(
                out,
                "impl libprocess::ProtobufMessage for {} {{\n    fn schema() -> &'static Schema {{\n        &{}\n    }}\n}}",
                message.rust_path(),
                message.static_name()
            )
            .unwrap();
        } else {
            writeln!(out, "impl libprocess::ProtobufMessage for {} {{}}", message.rust_path()).unwrap();
        }
    }
    out
}

// ----- the JSON mapping (`crate::json`) -----

/// An enum type as seen by the JSON generator.
struct JsonEnumType {
    rust_path: String,
    /// `(name, number)` in declaration order.
    values: Vec<(String, i32)>,
}

/// A message type as seen by the JSON generator.
struct JsonMessage {
    package: String,
    path: Vec<String>,
    map_entry: bool,
    fields: Vec<prost_types::FieldDescriptorProto>,
    /// Per field: its leading comment starts with `Deprecated upstream` (our `.proto` files
    /// note upstream's `deprecated` option in a comment; see mesos.proto's header).
    deprecated: Vec<bool>,
    oneofs: Vec<String>,
}

impl JsonMessage {
    fn as_message(&self) -> Message {
        Message {
            package: self.package.clone(),
            path: self.path.clone(),
            map_entry: self.map_entry,
            required: Vec::new(),
            message_fields: Vec::new(),
        }
    }

    /// The module prost-build puts this message's nested types (and oneof enums) in.
    fn child_module(&self) -> String {
        let mut path = package_module(&self.package);
        for part in &self.path {
            path.push_str("::");
            path.push_str(&sanitize(part.to_snake_case()));
        }
        path
    }
}

fn collect_json(
    package: &str,
    outer: &[String],
    message: &DescriptorProto,
    location: &[i32],
    comments: &HashMap<Vec<i32>, String>,
    messages: &mut BTreeMap<String, JsonMessage>,
    enums: &mut BTreeMap<String, JsonEnumType>,
) {
    let mut path = outer.to_vec();
    path.push(message.name().to_string());
    let full_name = format!(".{}.{}", package, path.join("."));
    for (i, nested) in message.nested_type.iter().enumerate() {
        let mut nested_location = location.to_vec();
        nested_location.extend([3, i32::try_from(i).expect("few nested types")]);
        collect_json(package, &path, nested, &nested_location, comments, messages, enums);
    }
    for nested in &message.enum_type {
        collect_enum(package, &path, nested, enums);
    }
    let deprecated = (0..message.field.len())
        .map(|i| {
            let mut field_location = location.to_vec();
            field_location.extend([2, i32::try_from(i).expect("few fields")]);
            comments.get(&field_location).is_some_and(|c| c.trim_start().starts_with("Deprecated upstream"))
        })
        .collect();
    messages.insert(
        full_name,
        JsonMessage {
            package: package.to_string(),
            path,
            map_entry: message.options.as_ref().is_some_and(|o| o.map_entry()),
            fields: message.field.clone(),
            deprecated,
            oneofs: message.oneof_decl.iter().map(|o| o.name().to_string()).collect(),
        },
    );
}

fn collect_enum(
    package: &str,
    outer: &[String],
    descriptor: &prost_types::EnumDescriptorProto,
    enums: &mut BTreeMap<String, JsonEnumType>,
) {
    let mut path = outer.to_vec();
    path.push(descriptor.name().to_string());
    let as_message = Message {
        package: package.to_string(),
        path: path.clone(),
        map_entry: false,
        required: Vec::new(),
        message_fields: Vec::new(),
    };
    enums.insert(
        format!(".{}.{}", package, path.join(".")),
        JsonEnumType {
            rust_path: as_message.rust_path(),
            values: descriptor.value.iter().map(|v| (v.name().to_string(), v.number())).collect(),
        },
    );
}

/// The v1 spelling of a field name (`lowerSlaveToAgent`) or enum value name
/// (`upperSlaveToAgent`).
fn v1_field_name(name: &str) -> String {
    name.replace("slave", "agent")
}

fn v1_enum_name(name: &str) -> String {
    name.replace("SLAVE", "AGENT")
}

/// Code for one field's names: the key writer, the match pattern on `(key, r.v1)`, and an
/// expression for the `&'static str` name under the reader's options.
struct FieldNames {
    write_key: String,
    pattern: String,
    name_expr: String,
}

fn field_names(name: &str) -> FieldNames {
    let v1 = v1_field_name(name);
    if v1 == name {
        FieldNames {
            write_key: format!("w.key_ident({name:?});"),
            pattern: format!("({name:?}, _)"),
            name_expr: format!("{name:?}"),
        }
    } else {
        FieldNames {
            write_key: format!("w.key_v1({name:?}, {v1:?});"),
            pattern: format!("({name:?}, false) | ({v1:?}, true)"),
            name_expr: format!("(if r.v1 {{ {v1:?} }} else {{ {name:?} }})"),
        }
    }
}

/// Code that writes the value behind the reference `v` (preceded by `key`, which may be
/// empty for array elements). Enums write nothing, key included, for an undeclared number.
fn write_value(field: &prost_types::FieldDescriptorProto, key: &str, enums: &BTreeMap<String, JsonEnumType>) -> String {
    let value = match field.r#type() {
        Type::Double => "w.f64(*v);".to_string(),
        Type::Float => "w.f64(f64::from(*v));".to_string(),
        Type::Int32 | Type::Sint32 | Type::Sfixed32 => "w.i64(i64::from(*v));".to_string(),
        Type::Int64 | Type::Sint64 | Type::Sfixed64 => "w.i64(*v);".to_string(),
        Type::Uint32 | Type::Fixed32 => "w.u64(u64::from(*v));".to_string(),
        Type::Uint64 | Type::Fixed64 => "w.u64(*v);".to_string(),
        Type::Bool => "w.bool(*v);".to_string(),
        Type::String => "w.str(v);".to_string(),
        Type::Bytes => "w.bytes(v);".to_string(),
        Type::Message | Type::Group => "v.write_json(w);".to_string(),
        Type::Enum => {
            let e = &enums[field.type_name()].rust_path;
            return format!(
                "if let Some(name) = <{e} as crate::json::JsonEnum>::json_name(*v, w.is_v1()) {{ {key} w.str(name); }}"
            );
        }
    };
    format!("{key} {value}")
}

/// An expression of type `Result<Option<T>, JsonError>` reading a scalar or enum field's
/// value from `value` (a `&Value`), naming the field `field` in errors.
fn read_scalar(
    field: &prost_types::FieldDescriptorProto,
    field_name: &str,
    required: bool,
    enums: &BTreeMap<String, JsonEnumType>,
) -> String {
    let reader = match field.r#type() {
        Type::Double => "read_f64",
        Type::Float => "read_f32",
        Type::Int32 | Type::Sint32 | Type::Sfixed32 => "read_i32",
        Type::Int64 | Type::Sint64 | Type::Sfixed64 => "read_i64",
        Type::Uint32 | Type::Fixed32 => "read_u32",
        Type::Uint64 | Type::Fixed64 => "read_u64",
        Type::Bool => "read_bool",
        Type::String => "read_string",
        Type::Bytes => "read_bytes",
        Type::Enum => {
            let e = &enums[field.type_name()].rust_path;
            return format!("crate::json::read_enum::<{e}>(value, {field_name}, {required}, r)");
        }
        Type::Message | Type::Group => unreachable!("not a scalar"),
    };
    format!("crate::json::{reader}(value, {field_name})")
}

fn generate_json(fds: &FileDescriptorSet) -> String {
    let mut messages = BTreeMap::new();
    let mut enums = BTreeMap::new();
    for file in &fds.file {
        let mut comments = HashMap::new();
        if let Some(info) = &file.source_code_info {
            for location in &info.location {
                if let Some(comment) = &location.leading_comments {
                    comments.insert(location.path.clone(), comment.clone());
                }
            }
        }
        for (i, message) in file.message_type.iter().enumerate() {
            let location = [4, i32::try_from(i).expect("few messages")];
            collect_json(file.package(), &[], message, &location, &comments, &mut messages, &mut enums);
        }
        for descriptor in &file.enum_type {
            collect_enum(file.package(), &[], descriptor, &mut enums);
        }
    }

    let mut out = String::new();
    out.push_str("// Generated by mesos/build.rs from the descriptors of proto/: the Mesos JSON mapping,\n");
    out.push_str("// a `crate::json::Json` impl per message and a `crate::json::JsonEnum` impl per enum.\n\n");
    out.push_str("use crate::json::Json as _;\n\n");

    for e in enums.values() {
        let mut seen = HashSet::new();
        let mut to_name = String::new();
        let mut from_name = String::new();
        for (name, number) in &e.values {
            let v1 = v1_enum_name(name);
            if seen.insert(*number) {
                if v1 == *name {
                    writeln!(to_name, "            {number} => Some({name:?}),").unwrap();
                } else {
                    writeln!(to_name, "            {number} => Some(if v1 {{ {v1:?} }} else {{ {name:?} }}),").unwrap();
                }
            }
            if v1 == *name {
                writeln!(from_name, "            ({name:?}, _) => Some({number}),").unwrap();
            } else {
                writeln!(from_name, "            ({name:?}, false) | ({v1:?}, true) => Some({number}),").unwrap();
            }
        }
        writeln!(
            out,
            "impl crate::json::JsonEnum for {} {{\n    fn json_name(value: i32, v1: bool) -> Option<&'static str> {{\n        match value {{\n{to_name}            _ => None,\n        }}\n    }}\n\n    fn from_json_name(name: &str, v1: bool) -> Option<i32> {{\n        match (name, v1) {{\n{from_name}            _ => None,\n        }}\n    }}\n}}\n",
            e.rust_path
        )
        .unwrap();
    }

    for message in messages.values() {
        if message.map_entry {
            continue;
        }
        let rust_path = message.as_message().rust_path();
        let mut write = String::new();
        let mut read = String::new();
        let mut has = String::new();
        let mut check = String::new();
        for (field, &deprecated) in message.fields.iter().zip(&message.deprecated) {
            let name = field.name();
            let ident = sanitize(name.to_snake_case());
            let number = field.number();
            let names = field_names(name);
            let key = &names.write_key;
            let name_expr = &names.name_expr;
            let is_message = matches!(field.r#type(), Type::Message | Type::Group);
            let map_entry = if is_message { messages.get(field.type_name()).filter(|m| m.map_entry) } else { None };
            let required = field.label() == Label::Required;
            let message_path = |type_name: &str| messages[type_name].as_message().rust_path();

            // ----- output -----
            if let Some(entry) = map_entry {
                let key_field = &entry.fields[0];
                let value_field = &entry.fields[1];
                let write_map_key = match key_field.r#type() {
                    Type::String => "w.key(k);",
                    Type::Int32 | Type::Sint32 | Type::Sfixed32 => "w.key_i64(i64::from(*k));",
                    Type::Int64 | Type::Sint64 | Type::Sfixed64 => "w.key_i64(*k);",
                    Type::Uint32 | Type::Fixed32 => "w.key_u64(u64::from(*k));",
                    Type::Uint64 | Type::Fixed64 => "w.key_u64(*k);",
                    Type::Bool => "w.key_bool(*k);",
                    other => panic!("map key type {other:?} of {name}"),
                };
                writeln!(
                    write,
                    "        if !self.{ident}.is_empty() {{ {key} w.begin_object(); for (k, v) in &self.{ident} {{ {} }} w.end_object(); }}",
                    write_value(value_field, write_map_key, &enums)
                )
                .unwrap();
            } else if field.label() == Label::Repeated {
                let guard = if field.r#type() == Type::Enum {
                    let e = &enums[field.type_name()].rust_path;
                    format!(
                        "self.{ident}.iter().any(|v| <{e} as crate::json::JsonEnum>::json_name(*v, false).is_some())"
                    )
                } else {
                    format!("!self.{ident}.is_empty()")
                };
                writeln!(
                    write,
                    "        if {guard} {{ {key} w.begin_array(); for v in &self.{ident} {{ {} }} w.end_array(); }}",
                    write_value(field, "", &enums)
                )
                .unwrap();
            } else if let Some(oneof) = field.oneof_index {
                let oneof_name = &message.oneofs[usize::try_from(oneof).expect("oneof index")];
                let oneof_ident = sanitize(oneof_name.to_snake_case());
                let variant = format!(
                    "{}::{}::{}",
                    message.child_module(),
                    sanitize(oneof_name.to_upper_camel_case()),
                    name.to_upper_camel_case()
                );
                writeln!(
                    write,
                    "        if let Some({variant}(v)) = &self.{oneof_ident} {{ {} }}",
                    write_value(field, key, &enums)
                )
                .unwrap();
            } else if required {
                writeln!(write, "        {{ let v = &self.{ident}; {} }}", write_value(field, key, &enums)).unwrap();
            } else if field.default_value.is_some() && !deprecated {
                // Unset, it is written with its declared default: the prost getter's value.
                let getter = if field.r#type() == Type::Enum {
                    format!("&(self.{ident}() as i32)")
                } else {
                    format!("&self.{ident}()")
                };
                writeln!(write, "        {{ let v = {getter}; {} }}", write_value(field, key, &enums)).unwrap();
            } else {
                writeln!(write, "        if let Some(v) = &self.{ident} {{ {} }}", write_value(field, key, &enums))
                    .unwrap();
            }

            // ----- input -----
            let pattern = &names.pattern;
            if let Some(entry) = map_entry {
                let key_field = &entry.fields[0];
                let value_field = &entry.fields[1];
                let parse_key = if key_field.r#type() == Type::String {
                    "k.to_string()".to_string()
                } else {
                    format!(
                        "{}?.unwrap_or_default()",
                        read_scalar(key_field, "\"key\"", false, &enums)
                            .replace("(value,", "(&crate::json::map_key(k),")
                    )
                };
                let parse_value = match value_field.r#type() {
                    Type::Message | Type::Group => {
                        let t = message_path(value_field.type_name());
                        format!(
                            "match crate::json::read_object(value, \"value\")? {{ Some(o) => {{ let mut sub = crate::json::Missing::default(); let m = <{t} as crate::json::Json>::read_object(o, r, &mut sub)?; missing.nest({number}, crate::json::Segment::MapValue({name_expr}, index), sub); m }} None => {t}::default() }}"
                        )
                    }
                    Type::Enum => {
                        let first = enums[value_field.type_name()].values.first().map_or(0, |(_, n)| *n);
                        format!("{}?.unwrap_or({first})", read_scalar(value_field, "\"value\"", false, &enums))
                    }
                    _ => format!("{}?.unwrap_or_default()", read_scalar(value_field, "\"value\"", false, &enums)),
                };
                writeln!(
                    read,
                    "                {pattern} => crate::json::read_map(value, key, &mut |k, value, index| {{ let k = {parse_key}; let v = {parse_value}; message.{ident}.insert(k, v); Ok(()) }})?,"
                )
                .unwrap();
                continue;
            }
            if field.label() == Label::Repeated {
                let element = if is_message {
                    let t = message_path(field.type_name());
                    format!(
                        "match crate::json::read_object(value, key)? {{ Some(o) => {{ let mut sub = crate::json::Missing::default(); let m = <{t} as crate::json::Json>::read_object(o, r, &mut sub)?; missing.nest({number}, crate::json::Segment::Element({name_expr}, index), sub); Ok(Some(m)) }} None => Ok(None) }}"
                    )
                } else {
                    read_scalar(field, "key", false, &enums)
                };
                writeln!(
                    read,
                    "                {pattern} => crate::json::read_repeated(value, &mut message.{ident}, &mut |value, index| {{ let _ = index; {element} }})?,"
                )
                .unwrap();
                continue;
            }
            let assign = if let Some(oneof) = field.oneof_index {
                let oneof_name = &message.oneofs[usize::try_from(oneof).expect("oneof index")];
                let oneof_ident = sanitize(oneof_name.to_snake_case());
                let variant = format!(
                    "{}::{}::{}",
                    message.child_module(),
                    sanitize(oneof_name.to_upper_camel_case()),
                    name.to_upper_camel_case()
                );
                let x = if is_message { "x.into()" } else { "x" };
                format!("message.{oneof_ident} = Some({variant}({x}));")
            } else if required {
                writeln!(has, "        let mut has_{number} = false;").unwrap();
                writeln!(check, "        if !has_{number} {{ missing.field({name_expr}); }}").unwrap();
                format!("message.{ident} = x; has_{number} = true;")
            } else if is_message {
                format!("message.{ident} = Some(x.into());")
            } else {
                format!("message.{ident} = Some(x);")
            };
            let value_expr = if is_message {
                let t = message_path(field.type_name());
                format!(
                    "match crate::json::read_object(value, key)? {{ Some(o) => {{ let mut sub = crate::json::Missing::default(); let m = <{t} as crate::json::Json>::read_object(o, r, &mut sub)?; missing.nest({number}, crate::json::Segment::Field({name_expr}), sub); Some(m) }} None => None }}"
                )
            } else {
                format!("{}?", read_scalar(field, "key", required, &enums))
            };
            writeln!(read, "                {pattern} => if let Some(x) = {value_expr} {{ {assign} }},").unwrap();
        }
        writeln!(
            out,
            "impl crate::json::Json for {rust_path} {{\n    fn write_json(&self, w: &mut crate::json::Writer) {{\n        w.begin_object();\n{write}        w.end_object();\n    }}\n\n    fn read_object(object: &serde_json::Map<String, serde_json::Value>, r: &crate::json::Reader, missing: &mut crate::json::Missing) -> Result<Self, crate::json::JsonError> {{\n        let mut message = Self::default();\n{has}        for (key, value) in object {{\n            match (key.as_str(), r.v1) {{\n{read}                _ => {{}}\n            }}\n        }}\n{check}        Ok(message)\n    }}\n}}\n"
        )
        .unwrap();
    }
    out
}
