//! Protobuf messages over libprocess: wire names from the type, proto2 `required` checks on encode and decode; mirrors `3rdparty/libprocess/include/process/protobuf.hpp`.
//!
//! prost represents a proto2 `required` field as a plain value (scalars and, since prost
//! 0.14, sub-messages too), so after decoding we cannot tell "absent" from "default". We
//! therefore check presence on the *wire bytes* against a [`Schema`] that lists each
//! message's required field numbers and which fields hold sub-messages to check
//! recursively: a body from a peer that lacks a required field is refused, as C++ protobuf
//! refuses it. The same check runs on the bytes we are about to send; for prost-generated
//! types it can only fire when a type keeps a required sub-message as `Option` (hand-written
//! types may), since prost always writes required fields, defaults included. Code
//! generators (the `mesos` crate's build script) emit the schemas; hand-written messages can
//! implement [`ProtobufMessage`] with an empty schema.

use std::any::TypeId;
use std::cell::RefCell;
use std::collections::HashMap;

use bytes::Bytes;

use crate::pid::UPID;

/// Which fields of a message must be present, and where its sub-messages are.
#[derive(Debug)]
pub struct Schema {
    /// Field numbers of proto2 `required` fields.
    pub required: &'static [u32],
    /// `(field number, schema)` for fields of message type (singular or repeated) whose
    /// own required fields must be checked too.
    pub nested: &'static [(u32, &'static Schema)],
}

impl Schema {
    /// A message with no required fields anywhere.
    pub const EMPTY: Schema = Schema { required: &[], nested: &[] };
}

/// A protobuf message libprocess can send and install handlers for. The wire name is the
/// full type name from [`prost::Name`] (`mesos.internal.RegisterSlaveMessage`).
pub trait ProtobufMessage: prost::Message + prost::Name + Default + Send + 'static {
    /// The required-field schema of this message type.
    fn schema() -> &'static Schema {
        &Schema::EMPTY
    }
}

/// The full protobuf type name of `M`, computed once per type and thread.
pub fn type_name<M: prost::Name + 'static>() -> &'static str {
    thread_local! {
        static NAMES: RefCell<HashMap<TypeId, &'static str>> = RefCell::new(HashMap::new());
    }
    NAMES.with(|names| {
        *names.borrow_mut().entry(TypeId::of::<M>()).or_insert_with(|| Box::leak(M::full_name().into_boxed_str()))
    })
}

/// Why a protobuf body was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProtobufError {
    #[error("failed to parse protobuf: {0}")]
    Decode(String),
    #[error("missing required field '{0}'")]
    MissingRequired(String),
    #[error("malformed protobuf wire data")]
    Malformed,
}

/// Decodes `bytes` as `M` after checking its required fields.
pub fn decode_checked<M: ProtobufMessage>(bytes: &[u8]) -> Result<M, ProtobufError> {
    check_required(bytes, M::schema())?;
    M::decode(bytes).map_err(|e| ProtobufError::Decode(e.to_string()))
}

/// Encodes `message`; returns `None` (and logs, naming `to`) when a required field is unset.
pub fn encode_checked<M: ProtobufMessage>(message: &M, to: &UPID) -> Option<Bytes> {
    let bytes = message.encode_to_vec();
    match check_required(&bytes, M::schema()) {
        Ok(()) => Some(Bytes::from(bytes)),
        Err(error) => {
            tracing::error!("Not sending '{}' to {}: {}", type_name::<M>(), to, error);
            None
        }
    }
}

/// Checks that every required field of `schema` occurs in `bytes`, recursively.
pub fn check_required(bytes: &[u8], schema: &Schema) -> Result<(), ProtobufError> {
    if schema.required.is_empty() && schema.nested.is_empty() {
        return Ok(());
    }
    check_message(bytes, schema, 0)
}

const MAX_DEPTH: u32 = 100;

fn check_message(mut bytes: &[u8], schema: &Schema, depth: u32) -> Result<(), ProtobufError> {
    if depth > MAX_DEPTH {
        return Err(ProtobufError::Malformed);
    }
    // Required fields are few; a bitmask over their positions in `schema.required` suffices
    // for up to 64 of them, which no Mesos message comes near.
    let mut seen: u64 = 0;
    while !bytes.is_empty() {
        let key = read_varint(&mut bytes)?;
        let field = (key >> 3) as u32;
        let wire_type = (key & 7) as u8;
        if field == 0 {
            return Err(ProtobufError::Malformed);
        }
        if let Some(position) = schema.required.iter().position(|&f| f == field) {
            if position < 64 {
                seen |= 1 << position;
            }
        }
        match wire_type {
            0 => {
                read_varint(&mut bytes)?;
            }
            1 => bytes = bytes.get(8..).ok_or(ProtobufError::Malformed)?,
            2 => {
                let len = usize::try_from(read_varint(&mut bytes)?).map_err(|_| ProtobufError::Malformed)?;
                let value = bytes.get(..len).ok_or(ProtobufError::Malformed)?;
                if let Some((_, nested)) = schema.nested.iter().find(|(f, _)| *f == field) {
                    check_message(value, nested, depth + 1)?;
                }
                bytes = &bytes[len..];
            }
            3 => skip_group(&mut bytes, field, depth)?,
            5 => bytes = bytes.get(4..).ok_or(ProtobufError::Malformed)?,
            _ => return Err(ProtobufError::Malformed),
        }
    }
    for (position, &field) in schema.required.iter().enumerate().take(64) {
        if seen & (1 << position) == 0 {
            return Err(ProtobufError::MissingRequired(format!("field {field}")));
        }
    }
    Ok(())
}

fn skip_group(bytes: &mut &[u8], group: u32, depth: u32) -> Result<(), ProtobufError> {
    if depth > MAX_DEPTH {
        return Err(ProtobufError::Malformed);
    }
    loop {
        let key = read_varint(bytes)?;
        let field = (key >> 3) as u32;
        match (key & 7) as u8 {
            0 => {
                read_varint(bytes)?;
            }
            1 => *bytes = bytes.get(8..).ok_or(ProtobufError::Malformed)?,
            2 => {
                let len = usize::try_from(read_varint(bytes)?).map_err(|_| ProtobufError::Malformed)?;
                *bytes = bytes.get(len..).ok_or(ProtobufError::Malformed)?;
            }
            3 => skip_group(bytes, field, depth + 1)?,
            4 if field == group => return Ok(()),
            5 => *bytes = bytes.get(4..).ok_or(ProtobufError::Malformed)?,
            _ => return Err(ProtobufError::Malformed),
        }
    }
}

fn read_varint(bytes: &mut &[u8]) -> Result<u64, ProtobufError> {
    let mut value: u64 = 0;
    for i in 0..10 {
        let (&byte, rest) = bytes.split_first().ok_or(ProtobufError::Malformed)?;
        *bytes = rest;
        value |= ((byte & 0x7f) as u64) << (7 * i);
        if byte & 0x80 == 0 {
            return Ok(value);
        }
    }
    Err(ProtobufError::Malformed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use prost::Message as _;

    #[derive(Clone, PartialEq, prost::Message)]
    struct Inner {
        #[prost(string, required, tag = "1")]
        value: String,
    }

    #[derive(Clone, PartialEq, prost::Message)]
    struct Outer {
        #[prost(uint64, required, tag = "1")]
        id: u64,
        #[prost(message, optional, tag = "2")]
        inner: Option<Inner>,
        #[prost(message, repeated, tag = "3")]
        items: Vec<Inner>,
    }

    impl prost::Name for Outer {
        const NAME: &'static str = "Outer";
        const PACKAGE: &'static str = "tests";
    }

    static INNER: Schema = Schema { required: &[1], nested: &[] };
    static OUTER: Schema = Schema { required: &[1], nested: &[(2, &INNER), (3, &INNER)] };

    impl ProtobufMessage for Outer {
        fn schema() -> &'static Schema {
            &OUTER
        }
    }

    #[test]
    fn name_is_full_type_name() {
        assert_eq!(type_name::<Outer>(), "tests.Outer");
    }

    #[test]
    fn required_present_passes() {
        let m = Outer { id: 0, inner: Some(Inner { value: String::new() }), items: vec![Inner { value: "x".into() }] };
        let bytes = m.encode_to_vec();
        assert_eq!(decode_checked::<Outer>(&bytes).unwrap(), m);
    }

    #[test]
    fn missing_required_fails_on_decode() {
        // Field 2 only: the required field 1 is absent.
        let bytes = Inner { value: "x".into() }.encode_to_vec();
        let mut outer_only_inner = vec![0x12, bytes.len() as u8];
        outer_only_inner.extend_from_slice(&bytes);
        assert!(matches!(decode_checked::<Outer>(&outer_only_inner), Err(ProtobufError::MissingRequired(_))));

        // A nested message missing its required field.
        let bytes = [0x08, 0x01, 0x12, 0x00];
        assert!(matches!(decode_checked::<Outer>(&bytes), Err(ProtobufError::MissingRequired(_))));
    }

    #[test]
    fn truncated_and_garbage_are_errors() {
        let m = Outer { id: 300, inner: Some(Inner { value: "hello".into() }), items: vec![] };
        let bytes = m.encode_to_vec();
        // Bytes 0..3 are field 1 (id = 300); every cut inside a field must fail. A cut at
        // the boundary after it is a complete, valid message without field 2.
        assert!(decode_checked::<Outer>(&bytes[..3]).is_ok());
        for cut in (1..3).chain(4..bytes.len()) {
            assert!(decode_checked::<Outer>(&bytes[..cut]).is_err(), "cut at {cut}");
        }
        assert!(decode_checked::<Outer>(&[0xff; 12]).is_err());
        assert!(decode_checked::<Outer>(&[0x0f]).is_err());
    }

    proptest::proptest! {
        #[test]
        fn checker_never_panics(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..256)) {
            let _ = check_required(&bytes, &OUTER);
        }
    }
}
