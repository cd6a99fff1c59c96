//! The protobuf <-> JSON mapping of Mesos (field names verbatim, enums by name, bytes in base64, defaults emitted) and its v0 -> v1 renaming; mirrors `3rdparty/stout/include/stout/protobuf.hpp` (`JSON::Protobuf`, `protobuf::parse`), `3rdparty/stout/include/stout/jsonify.hpp` (the rapidjson writer) and `asV1Protobuf` in `src/common/http.cpp`.
//!
//! prost has no reflection, so `build.rs` generates a [`Json`] impl for every message and a
//! [`JsonEnum`] impl for every enum from the descriptors (`$OUT_DIR/json.rs`). The generated
//! code calls the helpers here.
//!
//! # Output
//!
//! [`Writer`] writes JSON text straight into a `String` (no value tree), compact, with keys
//! in field-declaration order. Singular fields are written when set; an unset `optional`
//! field with an explicit `[default = ...]` is written with its default unless the field is
//! deprecated upstream (in our `.proto` files: a leading comment that starts with
//! `Deprecated upstream`, e.g. `FrameworkInfo.role`, `Resource.role`). Required fields are
//! always written (prost always holds them). Empty repeated fields are omitted; maps are
//! objects with stringified keys. Doubles follow rapidjson's `Writer::Double`: shortest
//! round-trip digits, integral values keep `.0`, exponent form outside `1e-7 < |x| < 1e21`
//! (`1e21`, `1e-7`, `1.5e300`), and the bare tokens `NaN`, `Infinity`, `-Infinity`. Enum
//! numbers that the enum does not declare count as unset, as they would in C++ proto2.
//! [`Writer::v1`] applies the renaming of `asV1Protobuf`: `slave` -> `agent` in field
//! names and `SLAVE` -> `AGENT` in enum value names (map keys and string values are data
//! and stay as they are).
//!
//! # Input
//!
//! [`Json::read_json`] follows `protobuf::parse`: the value must be an object; unknown keys
//! are ignored; `null` is absence; numeric fields take numbers or numeric text, doubles also
//! `"Infinity"`/`"-Infinity"`, bools also `"true"`/`"false"`; an unknown enum name drops an
//! optional or repeated field and fails a required one; bytes must be base64 (stout's
//! lenient decoder: whitespace skipped, input ends at the first `=`); an array is only
//! valid for a repeated field, where nested arrays flatten and a single value counts as one
//! element, as in C++; map fields take objects. Missing required fields are then reported
//! as `Missing required fields: a, b.c, d[0].e` (protobuf's `InitializationErrorString`
//! paths: the message's own fields in declaration order, then its set sub-messages by
//! field number). [`Reader::v1`] reads v1 JSON into v0 types (`agent_id` -> `slave_id`,
//! `SOURCE_AGENT` -> `SOURCE_SLAVE`), what `devolve()` does after a v1 parse in C++.
//!
//! # Divergences from C++
//!
//! - Doubles use Rust's shortest round-trip digits; rapidjson's Grisu2 is round-trip but in
//!   rare cases not shortest, so a few values may print with different digits.
//! - Out-of-range numbers for integer fields are converted with Rust `as` casts (saturating
//!   from floating point) where C++ uses `static_cast` (undefined for out-of-range floats).
//! - Map entries are written in key order (`BTreeMap`); C++ writes them in the order of its
//!   map's repeated view.

use std::fmt::Write as _;

use serde_json::{Map, Value};

/// A protobuf message with the Mesos JSON mapping. Implemented for every generated message
/// by `build.rs`.
pub trait Json: Sized {
    /// Appends this message as a JSON object.
    fn write_json(&self, w: &mut Writer);

    /// Reads the fields of `object` into a new message, adding the required fields that
    /// stay unset (and those of its sub-messages) to `missing`. The building block of
    /// [`Json::read_json`], which callers should use.
    fn read_object(object: &Map<String, Value>, r: &Reader, missing: &mut Missing) -> Result<Self, JsonError>;

    /// Parses `value` as this message (`protobuf::parse<T>(JSON::Value)`).
    fn read_json(value: &Value, r: &Reader) -> Result<Self, JsonError> {
        let Value::Object(object) = value else {
            return Err(JsonError::NotAnObject);
        };
        let mut missing = Missing::default();
        let message = Self::read_object(object, r, &mut missing)?;
        if missing.is_empty() {
            Ok(message)
        } else {
            Err(JsonError::MissingRequired(missing.paths()))
        }
    }
}

/// A protobuf enum with the names of its values. Implemented for every generated enum by
/// `build.rs`.
pub trait JsonEnum {
    /// The name of `value` (v1-renamed if `v1`), or `None` if the enum does not declare it.
    fn json_name(value: i32, v1: bool) -> Option<&'static str>;
    /// The number of the value named `name` (a v1 name if `v1`).
    fn from_json_name(name: &str, v1: bool) -> Option<i32>;
}

/// `message` as v0 JSON text (`jsonify(JSON::Protobuf(message))`).
pub fn to_string<M: Json>(message: &M) -> String {
    let mut w = Writer::new();
    message.write_json(&mut w);
    w.into_string()
}

/// `message` as v1 JSON text (`jsonify(asV1Protobuf(message))`).
pub fn to_v1_string<M: Json>(message: &M) -> String {
    let mut w = Writer::v1();
    message.write_json(&mut w);
    w.into_string()
}

/// What `write` writes (v1 JSON if `v1`), in an allocation of its exact size: for text kept
/// for a long time, such as a task's JSON kept for the state endpoints. It is written into
/// a buffer of this thread's that is used again each time, so that a string growing as it
/// is written does not copy itself from allocation to allocation.
pub fn boxed(v1: bool, write: impl FnOnce(&mut Writer)) -> Box<str> {
    thread_local! {
        static SCRATCH: std::cell::Cell<String> = const { std::cell::Cell::new(String::new()) };
    }
    let mut scratch = SCRATCH.take();
    scratch.clear();
    let mut w = Writer::with_buffer(scratch, v1);
    write(&mut w);
    let text = w.into_string();
    let kept = Box::from(text.as_str());
    SCRATCH.set(text);
    kept
}

/// The size of what `write` writes through a streaming writer whose chunks are dropped as
/// they come (back to their pool): the cost of writing a streamed document without sending
/// it, for benchmarks.
pub fn measure_streamed(v1: bool, write: impl FnOnce(&mut Writer)) -> usize {
    let size = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counted = std::sync::Arc::clone(&size);
    let mut w = Writer::streaming(v1, move |text: String| {
        counted.fetch_add(text.len(), std::sync::atomic::Ordering::Relaxed);
        crate::buffers::CHUNKS.give(text);
    });
    write(&mut w);
    w.finish();
    size.load(std::sync::atomic::Ordering::Relaxed)
}

/// Parses JSON text as `M`; text that is not JSON is [`JsonError::Syntax`].
pub fn from_str<M: Json>(text: &str, r: &Reader) -> Result<M, JsonError> {
    let value: Value = serde_json::from_str(text).map_err(|e| JsonError::Syntax(e.to_string()))?;
    M::read_json(&value, r)
}

/// Why JSON could not be read as a message. The texts are stout's.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JsonError {
    #[error("{0}")]
    Syntax(String),
    #[error("Expecting a JSON object")]
    NotAnObject,
    #[error("Not expecting a JSON {kind} for field '{field}'")]
    UnexpectedKind { kind: &'static str, field: String },
    #[error("Failed to parse '{text}' as a JSON number for field '{field}'")]
    BadNumber { text: String, field: String },
    #[error("Failed to parse '{text}' as a JSON boolean for field '{field}'")]
    BadBoolean { text: String, field: String },
    #[error("Failed to find enum for '{0}'")]
    UnknownEnum(String),
    #[error("Failed to base64 decode bytes field '{field}': {reason}")]
    Base64 { field: String, reason: String },
    /// The paths of the unset required fields.
    #[error("Missing required fields: {}", .0.join(", "))]
    MissingRequired(Vec<String>),
}

// ----- output -----

/// A compact JSON text writer. Generated code and hand-written endpoint writers append to
/// it; commas are placed automatically.
///
/// A writer made by [`Writer::streaming`] holds one chunk of the document at a time: once
/// its text reaches [`CHUNK_SIZE`] it hands it to its sink at the next object or raw value
/// and goes on in a fresh pooled buffer, so a document of hundreds of MB can be sent while
/// it is written, from a few MB of memory that is used again and again.
#[derive(Debug)]
pub struct Writer {
    out: String,
    /// Whether the next value or key needs a `,` before it.
    comma: bool,
    v1: bool,
    /// The length at which `out` goes to the sink (never, without one).
    limit: usize,
    sink: Option<Sink>,
}

/// The size of the chunks a streaming [`Writer`] hands on.
pub const CHUNK_SIZE: usize = 1 << 20;

/// Where a streaming [`Writer`]'s chunks go, in order.
pub trait ChunkSink: Send {
    /// The next piece of the document.
    fn chunk(&mut self, text: String);
    /// The document is complete; not called for a writer dropped unfinished.
    fn end(&mut self) {}
}

impl<F: FnMut(String) + Send> ChunkSink for F {
    fn chunk(&mut self, text: String) {
        self(text)
    }
}

struct Sink(Box<dyn ChunkSink>);

impl std::fmt::Debug for Sink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Sink")
    }
}

impl Default for Writer {
    fn default() -> Self {
        Writer::with_buffer(String::new(), false)
    }
}

impl Writer {
    /// A writer of v0 JSON.
    pub fn new() -> Self {
        Self::default()
    }

    /// A writer that applies the v0 -> v1 renaming (`asV1Protobuf`).
    pub fn v1() -> Self {
        Writer::with_buffer(String::new(), true)
    }

    /// A writer that appends to `out` (to reuse a buffer).
    pub fn with_buffer(out: String, v1: bool) -> Self {
        Writer { out, comma: false, v1, limit: usize::MAX, sink: None }
    }

    /// A writer that hands its text to `sink` a chunk of about [`CHUNK_SIZE`] bytes at a
    /// time, in order, the rest when [`Writer::finish`]ed. The chunks are buffers of
    /// [`crate::buffers::CHUNKS`]; the sink should give them back once done with them
    /// (e.g. by sending them as [`crate::buffers::BufferPool::into_bytes`]).
    pub fn streaming(v1: bool, sink: impl ChunkSink + 'static) -> Self {
        Writer {
            out: crate::buffers::CHUNKS.take(CHUNK_SIZE + CHUNK_SIZE / 8),
            comma: false,
            v1,
            limit: CHUNK_SIZE,
            sink: Some(Sink(Box::new(sink))),
        }
    }

    /// Whether this writer hands its text on as it goes.
    pub fn is_streaming(&self) -> bool {
        self.sink.is_some()
    }

    /// Hands what is left to the sink of a streaming writer (which is then dropped); a
    /// writer without one keeps its text, which is returned.
    pub fn finish(mut self) -> String {
        match self.sink.take() {
            Some(mut sink) => {
                if !self.out.is_empty() {
                    sink.0.chunk(std::mem::take(&mut self.out));
                }
                sink.0.end();
                String::new()
            }
            None => std::mem::take(&mut self.out),
        }
    }

    /// Hands the text so far on once it has reached the chunk size.
    #[inline]
    fn flush_if_full(&mut self) {
        if self.out.len() >= self.limit {
            self.pass_on();
        }
    }

    #[cold]
    fn pass_on(&mut self) {
        if let Some(sink) = &mut self.sink {
            if !self.out.is_empty() {
                let next = crate::buffers::CHUNKS.take(CHUNK_SIZE + CHUNK_SIZE / 8);
                sink.0.chunk(std::mem::replace(&mut self.out, next));
            }
        }
    }

    /// A piece of the current array written elsewhere (by [`crate::segments`]): elements
    /// separated by commas, with the comma before its first element when elements came
    /// before it (see [`Writer::follow_elements`]), in a buffer of [`crate::buffers::CHUNKS`].
    /// A streaming writer hands it on as it is; any other copies it and gives the buffer
    /// back.
    pub fn part(&mut self, text: String) {
        if text.is_empty() {
            crate::buffers::CHUNKS.give(text);
            return;
        }
        self.comma = true;
        if self.sink.is_some() {
            self.pass_on();
            if let Some(sink) = &mut self.sink {
                sink.0.chunk(text);
            }
        } else {
            self.out.push_str(&text);
            crate::buffers::CHUNKS.give(text);
        }
    }

    /// Whether the next value or key will be preceded by a comma.
    pub fn needs_separator(&self) -> bool {
        self.comma
    }

    /// Makes this (empty) writer write the continuation of a list that already has
    /// elements: its first value or key comes after a comma.
    pub fn follow_elements(&mut self) {
        self.comma = true;
    }

    pub fn is_v1(&self) -> bool {
        self.v1
    }

    pub fn as_str(&self) -> &str {
        &self.out
    }

    /// The text written (of a writer that is not streaming; see [`Writer::finish`]).
    pub fn into_string(self) -> String {
        self.finish()
    }

    #[inline]
    fn separate(&mut self) {
        if self.comma {
            self.out.push(',');
        }
    }

    #[inline]
    pub fn begin_object(&mut self) {
        self.flush_if_full();
        self.separate();
        self.out.push('{');
        self.comma = false;
    }

    #[inline]
    pub fn end_object(&mut self) {
        self.out.push('}');
        self.comma = true;
    }

    #[inline]
    pub fn begin_array(&mut self) {
        self.separate();
        self.out.push('[');
        self.comma = false;
    }

    #[inline]
    pub fn end_array(&mut self) {
        self.out.push(']');
        self.comma = true;
    }

    /// A key that needs no escaping, such as a protobuf field name or a fixed key of a
    /// hand-written document; written as is.
    #[inline]
    pub fn key_ident(&mut self, name: &'static str) {
        debug_assert!(!has_escapes(name.as_bytes()), "{name:?} needs escaping");
        self.separate();
        self.out.reserve(name.len() + 3);
        self.out.push('"');
        self.out.push_str(name);
        self.out.push_str("\":");
        self.comma = false;
    }

    /// An object key; the value follows.
    #[inline]
    pub fn key(&mut self, name: &str) {
        self.separate();
        write_escaped(&mut self.out, name);
        self.out.push(':');
        self.comma = false;
    }

    /// A field name that `asV1Protobuf` renames (`slave_id` / `agent_id`).
    #[inline]
    pub fn key_v1(&mut self, v0: &'static str, v1: &'static str) {
        let name = if self.v1 { v1 } else { v0 };
        self.key_ident(name);
    }

    /// An integer map key, stringified as `jsonify` does.
    pub fn key_i64(&mut self, key: i64) {
        self.separate();
        self.out.push('"');
        write_i64(&mut self.out, key);
        self.out.push_str("\":");
        self.comma = false;
    }

    pub fn key_u64(&mut self, key: u64) {
        self.separate();
        self.out.push('"');
        write_u64(&mut self.out, key);
        self.out.push_str("\":");
        self.comma = false;
    }

    pub fn key_bool(&mut self, key: bool) {
        self.key(if key { "true" } else { "false" });
    }

    #[inline]
    pub fn str(&mut self, value: &str) {
        self.separate();
        write_escaped(&mut self.out, value);
        self.comma = true;
    }

    /// A `bytes` value: a base64 string.
    pub fn bytes(&mut self, value: &[u8]) {
        self.separate();
        self.out.push('"');
        base64_encode_into(&mut self.out, value);
        self.out.push('"');
        self.comma = true;
    }

    #[inline]
    pub fn bool(&mut self, value: bool) {
        self.separate();
        self.out.push_str(if value { "true" } else { "false" });
        self.comma = true;
    }

    #[inline]
    pub fn i64(&mut self, value: i64) {
        self.separate();
        write_i64(&mut self.out, value);
        self.comma = true;
    }

    #[inline]
    pub fn u64(&mut self, value: u64) {
        self.separate();
        write_u64(&mut self.out, value);
        self.comma = true;
    }

    /// A double as rapidjson writes it (see [`write_f64`]).
    #[inline]
    pub fn f64(&mut self, value: f64) {
        self.separate();
        write_f64(&mut self.out, value);
        self.comma = true;
    }

    #[inline]
    pub fn null(&mut self) {
        self.separate();
        self.out.push_str("null");
        self.comma = true;
    }

    /// An enum value by name (v1-renamed in a v1 writer); `false` and nothing written if
    /// the enum does not declare `value`.
    pub fn enum_value<E: JsonEnum>(&mut self, value: i32) -> bool {
        match E::json_name(value, self.v1) {
            Some(name) => {
                self.str(name);
                true
            }
            None => false,
        }
    }

    #[inline]
    pub fn message<M: Json>(&mut self, message: &M) {
        message.write_json(self);
    }

    /// Already-encoded JSON text as one value.
    #[inline]
    pub fn raw(&mut self, json: &str) {
        self.flush_if_full();
        self.separate();
        self.out.push_str(json);
        self.comma = true;
    }
}

/// A JSON string literal with rapidjson's escapes: `"` and `\`, the short forms of
/// `\b \f \n \r \t`, `\u00XX` (upper-case hex) for other control characters; everything
/// else, non-ASCII included, as is.
#[inline]
pub fn write_escaped(out: &mut String, value: &str) {
    let bytes = value.as_bytes();
    out.reserve(bytes.len() + 2);
    out.push('"');
    if has_escapes(bytes) {
        write_escaped_slowly(out, value);
    } else {
        out.push_str(value);
    }
    out.push('"');
}

/// Whether any byte needs an escape, eight bytes at a time: most strings need none, and most
/// are short, where a byte loop costs more than the copy.
fn has_escapes(bytes: &[u8]) -> bool {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGHS: u64 = 0x8080_8080_8080_8080;
    // A high bit set in each byte of `word` that is below `n` (for `n` <= 0x80); a byte
    // with its own high bit set never counts.
    let below = |word: u64, n: u8| word.wrapping_sub(ONES * u64::from(n)) & !word & HIGHS;
    let equal = |word: u64, c: u8| below(word ^ (ONES * u64::from(c)), 1);
    let check = |word: u64| below(word, 0x20) | equal(word, b'"') | equal(word, b'\\') != 0;
    let word_at = |at: usize| {
        let mut word = [0u8; 8];
        word.copy_from_slice(&bytes[at..at + 8]);
        u64::from_le_bytes(word)
    };
    if bytes.len() < 8 {
        // Shifted in through a register (a copy to a stack buffer would stall the load
        // that follows it), over a background of spaces, which need no escape.
        let word = bytes.iter().rev().fold(u64::from_le_bytes([b' '; 8]), |word, &byte| word << 8 | u64::from(byte));
        return check(word);
    }
    let mut found = false;
    for at in (0..bytes.len() - 7).step_by(8) {
        found |= check(word_at(at));
    }
    // The last eight bytes, overlapping the words already checked.
    found | check(word_at(bytes.len() - 8))
}

#[inline]
fn needs_escape(byte: u8) -> bool {
    byte < 0x20 || byte == b'"' || byte == b'\\'
}

/// The body of a string literal that has something to escape.
fn write_escaped_slowly(out: &mut String, value: &str) {
    let bytes = value.as_bytes();
    let mut start = 0;
    for (i, &byte) in bytes.iter().enumerate() {
        if !needs_escape(byte) {
            continue;
        }
        // Escaped bytes are ASCII, so `i` is a character boundary.
        out.push_str(&value[start..i]);
        match byte {
            b'"' => out.push_str("\\\""),
            b'\\' => out.push_str("\\\\"),
            b'\n' => out.push_str("\\n"),
            b'\r' => out.push_str("\\r"),
            b'\t' => out.push_str("\\t"),
            0x08 => out.push_str("\\b"),
            0x0c => out.push_str("\\f"),
            _ => {
                const HEX: &[u8; 16] = b"0123456789ABCDEF";
                out.push_str("\\u00");
                out.push(char::from(HEX[usize::from(byte >> 4)]));
                out.push(char::from(HEX[usize::from(byte & 0xf)]));
            }
        }
        start = i + 1;
    }
    out.push_str(&value[start..]);
}

fn write_u64(out: &mut String, mut value: u64) {
    let mut digits = [0u8; 20];
    let mut i = digits.len();
    loop {
        i -= 1;
        digits[i] = b'0' + (value % 10) as u8;
        value /= 10;
        if value == 0 {
            break;
        }
    }
    for &d in &digits[i..] {
        out.push(char::from(d));
    }
}

fn write_i64(out: &mut String, value: i64) {
    if value < 0 {
        out.push('-');
    }
    write_u64(out, value.unsigned_abs());
}

/// A fixed stack buffer for `{:e}` formatting (a double needs at most 24 bytes).
struct StackBuf {
    bytes: [u8; 40],
    len: usize,
}

impl std::fmt::Write for StackBuf {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        let end = self.len + s.len();
        if end > self.bytes.len() {
            return Err(std::fmt::Error);
        }
        self.bytes[self.len..end].copy_from_slice(s.as_bytes());
        self.len = end;
        Ok(())
    }
}

/// Appends `value` as rapidjson's `Writer::Double` (with `kWriteNanAndInfFlag`) does:
/// `dtoa` + `Prettify` over the shortest round-trip digits. With the digits `d` (n of them)
/// and `value = d * 10^k`, `kk = n + k`:
/// - `0 <= k && kk <= 21`: `d` then `k` zeros then `.0` (`1.0`, `1e20` as `100000000000000000000.0`);
/// - `0 < kk <= 21`: `d` with a point inside (`12.34`);
/// - `-6 < kk <= 0`: `0.` then `-kk` zeros then `d` (`1e-6` as `0.000001`);
/// - otherwise exponent form without `+` and without `.0`: `1e21`, `1e-7`, `1.234e33`.
///
/// Zero is `0.0` / `-0.0`; non-finite values are `NaN`, `Infinity`, `-Infinity`.
pub fn write_f64(out: &mut String, value: f64) {
    if value.is_nan() {
        out.push_str("NaN");
        return;
    }
    if value.is_infinite() {
        out.push_str(if value > 0.0 { "Infinity" } else { "-Infinity" });
        return;
    }
    if value == 0.0 {
        out.push_str(if value.is_sign_negative() { "-0.0" } else { "0.0" });
        return;
    }
    if value < 0.0 {
        out.push('-');
    }
    if !write_thousandths(out, value.abs()) {
        write_shortest(out, value.abs());
    }
}

/// The general path of [`write_f64`], for a positive finite `value`.
fn write_shortest(out: &mut String, value: f64) {
    // `{:e}` gives the shortest round-trip digits as `d.ddde<exp>`.
    let mut buf = StackBuf { bytes: [0; 40], len: 0 };
    if write!(buf, "{value:e}").is_err() {
        // Unreachable: a double's `{:e}` form is at most 24 bytes.
        let _ = write!(out, "{value}");
        return;
    }
    let text = &buf.bytes[..buf.len];
    let e = text.iter().position(|&b| b == b'e').unwrap_or(text.len());
    let mut digits = [0u8; 24];
    let mut n = 0;
    for &b in &text[..e] {
        if b != b'.' {
            digits[n] = b;
            n += 1;
        }
    }
    let digits = &digits[..n];
    let exp: i32 = std::str::from_utf8(&text[(e + 1).min(text.len())..]).ok().and_then(|s| s.parse().ok()).unwrap_or(0);
    let n = n as i32;
    let kk = exp + 1;
    let k = kk - n;
    let push_digits = |out: &mut String, d: &[u8]| {
        for &b in d {
            out.push(char::from(b));
        }
    };
    if 0 <= k && kk <= 21 {
        push_digits(out, digits);
        for _ in 0..k {
            out.push('0');
        }
        out.push_str(".0");
    } else if 0 < kk && kk <= 21 {
        let point = kk as usize;
        push_digits(out, &digits[..point]);
        out.push('.');
        push_digits(out, &digits[point..]);
    } else if -6 < kk && kk <= 0 {
        out.push_str("0.");
        for _ in 0..-kk {
            out.push('0');
        }
        push_digits(out, digits);
    } else {
        push_digits(out, &digits[..1]);
        if digits.len() > 1 {
            out.push('.');
            push_digits(out, &digits[1..]);
        }
        out.push('e');
        write_i64(out, i64::from(kk - 1));
    }
}

/// The fast path of [`write_f64`] for a positive `value` that is a whole number of
/// thousandths below 10^12 (resource quantities, times in milliseconds): its digits are
/// written straight; returns `false`, writing nothing, for other values.
///
/// Such a value is the double nearest to a decimal of at most 15 significant digits (the
/// division below is correctly rounded), and no two such decimals share a double, so that
/// decimal, without trailing zeros, is the shortest round-trip text the general path would
/// find; rapidjson's layout of it is the plain `int.frac` form (`12.0`, `0.5`, `0.001`).
fn write_thousandths(out: &mut String, value: f64) -> bool {
    // The caller has ruled out NaN.
    if value >= 1e12 {
        return false;
    }
    let thousandths = (value * 1000.0).round();
    if thousandths < 1.0 || thousandths / 1000.0 != value {
        return false;
    }
    // Exact: below 10^15 < 2^53.
    let thousandths = thousandths as u64;
    write_u64(out, thousandths / 1000);
    out.push('.');
    let fraction = thousandths % 1000;
    let digits = [fraction / 100, fraction / 10 % 10, fraction % 10].map(|d| char::from(b'0' + d as u8));
    // Trailing zeros go, but one digit always stays (`12.0`).
    let keep = digits.iter().rposition(|&d| d != '0').map_or(1, |last| last + 1);
    for &digit in &digits[..keep] {
        out.push(digit);
    }
    true
}

// ----- base64 (stout's `base64::encode` / `base64::decode`) -----

const BASE64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Standard base64 with padding.
pub fn base64_encode(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    base64_encode_into(&mut out, bytes);
    out
}

fn base64_encode_into(out: &mut String, bytes: &[u8]) {
    let mut chunks = bytes.chunks_exact(3);
    for chunk in &mut chunks {
        let n = u32::from(chunk[0]) << 16 | u32::from(chunk[1]) << 8 | u32::from(chunk[2]);
        for shift in [18, 12, 6, 0] {
            out.push(char::from(BASE64[(n >> shift & 0x3f) as usize]));
        }
    }
    match *chunks.remainder() {
        [a] => {
            let n = u32::from(a) << 16;
            out.push(char::from(BASE64[(n >> 18 & 0x3f) as usize]));
            out.push(char::from(BASE64[(n >> 12 & 0x3f) as usize]));
            out.push_str("==");
        }
        [a, b] => {
            let n = u32::from(a) << 16 | u32::from(b) << 8;
            out.push(char::from(BASE64[(n >> 18 & 0x3f) as usize]));
            out.push(char::from(BASE64[(n >> 12 & 0x3f) as usize]));
            out.push(char::from(BASE64[(n >> 6 & 0x3f) as usize]));
            out.push('=');
        }
        _ => {}
    }
}

/// Decodes base64 as stout does: ASCII whitespace is skipped, the first `=` ends the
/// input (padding is not validated), any other character outside the alphabet is an error
/// (`Invalid character 'c'`), and a trailing partial group yields its whole bytes.
pub fn base64_decode(text: &str) -> Result<Vec<u8>, String> {
    let mut out = Vec::with_capacity(text.len() / 4 * 3);
    let mut group = [0u8; 4];
    let mut i = 0;
    for c in text.chars() {
        let sextet = match c {
            '=' => break,
            ' ' | '\t' | '\n' | '\x0b' | '\x0c' | '\r' => continue,
            'A'..='Z' => c as u8 - b'A',
            'a'..='z' => c as u8 - b'a' + 26,
            '0'..='9' => c as u8 - b'0' + 52,
            '+' => 62,
            '/' => 63,
            _ => return Err(format!("Invalid character '{c}'")),
        };
        group[i] = sextet;
        i += 1;
        if i == 4 {
            out.push(group[0] << 2 | group[1] >> 4);
            out.push(group[1] << 4 | group[2] >> 2);
            out.push(group[2] << 6 | group[3]);
            i = 0;
        }
    }
    if i > 1 {
        group[i..].fill(0);
        let bytes = [group[0] << 2 | group[1] >> 4, group[1] << 4 | group[2] >> 2];
        out.extend_from_slice(&bytes[..i - 1]);
    }
    Ok(out)
}

// ----- input -----

/// Options for reading JSON.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Reader {
    /// Read v1 JSON into v0 types: field names with `agent` for `slave`, enum value names
    /// with `AGENT` for `SLAVE`.
    pub v1: bool,
}

impl Reader {
    pub const V0: Reader = Reader { v1: false };
    pub const V1: Reader = Reader { v1: true };

    pub fn v0() -> Self {
        Self::V0
    }

    pub fn v1() -> Self {
        Self::V1
    }
}

/// How a sub-message is reached from its parent, for the paths of missing fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Segment {
    /// `name.`
    Field(&'static str),
    /// `name[index].`
    Element(&'static str, usize),
    /// `name[index].value.` (protobuf sees a map as repeated entries).
    MapValue(&'static str, usize),
}

/// The required fields left unset in a message being read, as a tree.
#[derive(Debug, Default)]
pub struct Missing {
    own: Vec<&'static str>,
    /// `(field number, index, how, below)`, ordered by number and index when rendered.
    nested: Vec<(u32, usize, Segment, Missing)>,
}

impl Missing {
    pub fn is_empty(&self) -> bool {
        self.own.is_empty() && self.nested.is_empty()
    }

    /// A required field of this message is unset.
    pub fn field(&mut self, name: &'static str) {
        self.own.push(name);
    }

    /// What is missing below the sub-message in field `number` reached by `segment`.
    pub fn nest(&mut self, number: u32, segment: Segment, below: Missing) {
        if !below.is_empty() {
            let index = match segment {
                Segment::Field(_) => 0,
                Segment::Element(_, i) | Segment::MapValue(_, i) => i,
            };
            self.nested.push((number, index, segment, below));
        }
    }

    /// The paths, as protobuf's `FindInitializationErrors` lists them.
    pub fn paths(mut self) -> Vec<String> {
        let mut out = Vec::new();
        self.render("", &mut out);
        out
    }

    fn render(&mut self, prefix: &str, out: &mut Vec<String>) {
        for name in &self.own {
            out.push(format!("{prefix}{name}"));
        }
        self.nested.sort_by_key(|(number, index, _, _)| (*number, *index));
        for (_, _, segment, below) in &mut self.nested {
            let prefix = match *segment {
                Segment::Field(name) => format!("{prefix}{name}."),
                Segment::Element(name, i) => format!("{prefix}{name}[{i}]."),
                Segment::MapValue(name, i) => format!("{prefix}{name}[{i}].value."),
            };
            below.render(&prefix, out);
        }
    }
}

fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

fn unexpected(value: &Value, field: &str) -> JsonError {
    JsonError::UnexpectedKind { kind: kind(value), field: field.to_string() }
}

/// A sub-message value: an object, or `None` for `null`.
pub fn read_object<'a>(value: &'a Value, field: &str) -> Result<Option<&'a Map<String, Value>>, JsonError> {
    match value {
        Value::Object(object) => Ok(Some(object)),
        Value::Null => Ok(None),
        other => Err(unexpected(other, field)),
    }
}

/// Reads one element of a repeated field: the element's value and the index it would take
/// to `Ok(Some(element))`, or `Ok(None)` to skip it.
pub type ElementReader<'a, T> = dyn FnMut(&Value, usize) -> Result<Option<T>, JsonError> + 'a;

/// A repeated field: every element of an array (nested arrays flatten, `null`s are
/// skipped), or a single non-array value as one element.
pub fn read_repeated<T>(value: &Value, out: &mut Vec<T>, read: &mut ElementReader<'_, T>) -> Result<(), JsonError> {
    match value {
        Value::Null => Ok(()),
        Value::Array(values) => {
            for value in values {
                read_repeated(value, out, read)?;
            }
            Ok(())
        }
        value => {
            if let Some(element) = read(value, out.len())? {
                out.push(element);
            }
            Ok(())
        }
    }
}

/// A map field: every `(key, value, entry index)` of an object; arrays of objects flatten
/// as for repeated fields; `null` is an empty map.
pub fn read_map(
    value: &Value,
    field: &str,
    read: &mut dyn FnMut(&str, &Value, usize) -> Result<(), JsonError>,
) -> Result<(), JsonError> {
    let mut index = 0;
    read_map_inner(value, field, read, &mut index)
}

fn read_map_inner(
    value: &Value,
    field: &str,
    read: &mut dyn FnMut(&str, &Value, usize) -> Result<(), JsonError>,
    index: &mut usize,
) -> Result<(), JsonError> {
    match value {
        Value::Null => Ok(()),
        Value::Array(values) => {
            for value in values {
                read_map_inner(value, field, read, index)?;
            }
            Ok(())
        }
        Value::Object(object) => {
            for (key, value) in object {
                read(key, value, *index)?;
                *index += 1;
            }
            Ok(())
        }
        other => Err(unexpected(other, field)),
    }
}

/// A number, or numeric text (`JSON::parse<JSON::Number>`).
fn number(value: &Value, field: &str) -> Result<Option<serde_json::Number>, JsonError> {
    match value {
        Value::Null => Ok(None),
        Value::Number(number) => Ok(Some(number.clone())),
        Value::String(text) => match serde_json::from_str::<Value>(text) {
            Ok(Value::Number(number)) => Ok(Some(number)),
            _ => Err(JsonError::BadNumber { text: text.clone(), field: field.to_string() }),
        },
        other => Err(unexpected(other, field)),
    }
}

macro_rules! integer_reader {
    ($(#[$doc:meta])* $name:ident, $ty:ty) => {
        $(#[$doc])*
        pub fn $name(value: &Value, field: &str) -> Result<Option<$ty>, JsonError> {
            Ok(number(value, field)?.map(|n| {
                if let Some(i) = n.as_i64() {
                    i as $ty
                } else if let Some(u) = n.as_u64() {
                    u as $ty
                } else {
                    n.as_f64().unwrap_or(0.0) as $ty
                }
            }))
        }
    };
}

integer_reader!(
    /// An `int32`/`sint32`/`sfixed32` field.
    read_i32,
    i32
);
integer_reader!(
    /// An `int64`/`sint64`/`sfixed64` field.
    read_i64,
    i64
);
integer_reader!(
    /// A `uint32`/`fixed32` field.
    read_u32,
    u32
);
integer_reader!(
    /// A `uint64`/`fixed64` field.
    read_u64,
    u64
);

/// A `double` field: a number, numeric text, `"Infinity"` or `"-Infinity"`.
pub fn read_f64(value: &Value, field: &str) -> Result<Option<f64>, JsonError> {
    match value {
        Value::String(text) if text == "Infinity" => Ok(Some(f64::INFINITY)),
        Value::String(text) if text == "-Infinity" => Ok(Some(f64::NEG_INFINITY)),
        value => Ok(number(value, field)?.map(|n| {
            if let Some(i) = n.as_i64() {
                i as f64
            } else if let Some(u) = n.as_u64() {
                u as f64
            } else {
                n.as_f64().unwrap_or(0.0)
            }
        })),
    }
}

/// A `float` field.
pub fn read_f32(value: &Value, field: &str) -> Result<Option<f32>, JsonError> {
    Ok(read_f64(value, field)?.map(|v| v as f32))
}

/// A `bool` field: `true`/`false` or the text `"true"`/`"false"`.
pub fn read_bool(value: &Value, field: &str) -> Result<Option<bool>, JsonError> {
    match value {
        Value::Null => Ok(None),
        Value::Bool(b) => Ok(Some(*b)),
        Value::String(text) => match serde_json::from_str::<Value>(text) {
            Ok(Value::Bool(b)) => Ok(Some(b)),
            _ => Err(JsonError::BadBoolean { text: text.clone(), field: field.to_string() }),
        },
        other => Err(unexpected(other, field)),
    }
}

/// A `string` field.
pub fn read_string(value: &Value, field: &str) -> Result<Option<String>, JsonError> {
    match value {
        Value::Null => Ok(None),
        Value::String(text) => Ok(Some(text.clone())),
        other => Err(unexpected(other, field)),
    }
}

/// A `bytes` field: base64 text.
pub fn read_bytes(value: &Value, field: &str) -> Result<Option<Vec<u8>>, JsonError> {
    match value {
        Value::Null => Ok(None),
        Value::String(text) => {
            base64_decode(text).map(Some).map_err(|reason| JsonError::Base64 { field: field.to_string(), reason })
        }
        other => Err(unexpected(other, field)),
    }
}

/// An enum field: a value name. An unknown name is `None` (the field stays unset) unless
/// the field is `required`, where it is an error.
pub fn read_enum<E: JsonEnum>(
    value: &Value,
    field: &str,
    required: bool,
    r: &Reader,
) -> Result<Option<i32>, JsonError> {
    match value {
        Value::Null => Ok(None),
        Value::String(name) => match E::from_json_name(name, r.v1) {
            Some(number) => Ok(Some(number)),
            None if required => Err(JsonError::UnknownEnum(name.clone())),
            None => Ok(None),
        },
        other => Err(unexpected(other, field)),
    }
}

/// A map key given as text, parsed as the key type (`int32` keys from `"5"`, ...).
pub fn map_key(key: &str) -> Value {
    Value::String(key.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn fast(value: f64) -> Option<String> {
        let mut out = String::new();
        write_thousandths(&mut out, value).then_some(out)
    }

    fn general(value: f64) -> String {
        let mut out = String::new();
        write_shortest(&mut out, value);
        out
    }

    #[test]
    fn thousandths_print_as_the_general_path_does() {
        for value in [0.001, 0.1, 0.5, 1.0, 1.5, 2.25, 10.0, 100.125, 1024.0, 999_999_999_999.999, 123_456.789, 5.05] {
            assert_eq!(fast(value).as_deref(), Some(general(value).as_str()), "{value}");
        }
        // Left to the general path.
        for value in [0.0005, 1e12, 1e-7, 0.1 + 0.2, 1_700_000_000.123_456, 1e21] {
            assert_eq!(fast(value), None, "{value}");
        }
    }

    #[test]
    fn escaping_matches_rapidjson() {
        let mut out = String::new();
        write_escaped(&mut out, "plain");
        write_escaped(&mut out, "a\"b\\c\n\r\t\u{8}\u{c}\u{1}\u{1f}é");
        assert_eq!(out, "\"plain\"\"a\\\"b\\\\c\\n\\r\\t\\b\\f\\u0001\\u001Fé\"");
    }

    proptest! {
        #[test]
        fn the_word_scan_finds_what_a_byte_scan_finds(bytes in proptest::collection::vec(any::<u8>(), 0..40)) {
            prop_assert_eq!(has_escapes(&bytes), bytes.iter().any(|&b| needs_escape(b)));
        }

        #[test]
        fn the_fast_path_agrees_with_the_general_one(thousandths in 1u64..1_000_000_000_000_000) {
            let value = thousandths as f64 / 1000.0;
            if let Some(text) = fast(value) {
                prop_assert_eq!(text, general(value));
            }
        }

        #[test]
        fn any_double_the_fast_path_takes_prints_the_same(value in 0.0f64..1e13) {
            if let Some(text) = fast(value) {
                prop_assert_eq!(text, general(value));
            }
        }
    }
}
