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
        .out_dir(&out)
        .compile_fds(fds.clone())
        .expect("prost-build failed");

    let schemas = generate_schemas(&fds);
    std::fs::write(out.join("schemas.rs"), schemas).expect("writing schemas.rs");
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
