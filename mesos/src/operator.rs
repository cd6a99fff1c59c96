//! What the master's and the agent's v1 operator APIs (`POST /api/v1`) share: the answers to the calls both serve (health, flags, version, metrics, logging level, files), the `501` of a call not served, and the writing of long lists of protobufs on several threads, as JSON or as protobuf; mirrors `getHealth`, `getFlags`, `getVersion`, `getMetrics`, `getLoggingLevel`, `listFiles`, `readFile` of `Master::Http` in `src/master/http.cpp` and `Http` in `src/slave/http.cpp`, and `jsonify`/`serialize` of `src/master/readonly_handler.cpp`.
//!
//! The big answers (`GET_STATE` of a large cluster) are written straight from the
//! component's books, never built as a `Response` message first: JSON through
//! [`Writer`](crate::json::Writer), protobuf by encoding each element where it lies and
//! framing the lists by hand. Both give the bytes the generated types would give.

use std::time::Duration;

use bytes::Bytes;
use libprocess::http::{Response, Status};
use libprocess::{Future, Libprocess, Promise};
use prost::encoding::{encode_key, encode_varint, encoded_len_varint, key_len, WireType};

use crate::buffers::BufferPool;
use crate::files::{Files, FilesError, ReadResult};
use crate::json::{Json, Writer};
use crate::proto::{DurationInfo, FileInfo, Flag, Metric, VersionInfo};

/// The glog verbosity both daemons report (`FLAGS_v`): logging here is set by
/// `--logging_level`/`RUST_LOG`, and there is no verbose level to raise.
pub const LOGGING_LEVEL: u32 = 0;

/// `GET_VERSION` (C++ `version()` in `src/version/version.cpp` as a `VersionInfo`).
pub fn version_info() -> VersionInfo {
    VersionInfo {
        version: crate::version::MESOS_VERSION.to_string(),
        build_date: Some(crate::version::BUILD_DATE.to_string()),
        build_time: Some(crate::version::build_time()),
        build_user: Some(crate::version::BUILD_USER.to_string()),
        git_sha: None,
        git_branch: None,
        git_tag: None,
    }
}

/// `GET_FLAGS`: the flags as the `/flags` endpoint shows them, in the same order.
pub fn flags(pairs: Vec<(String, String)>) -> Vec<Flag> {
    pairs.into_iter().map(|(name, value)| Flag { name, value: Some(value) }).collect()
}

/// `GET_METRICS`: a snapshot of the instance's metrics, pulled gauges waited for at most
/// `timeout` (C++ `process::metrics::snapshot(timeout)`), in name order.
pub fn metrics(lp: &Libprocess, timeout: Option<&DurationInfo>) -> Future<Vec<Metric>> {
    let timeout = timeout.map(|t| Duration::from_nanos(u64::try_from(t.nanoseconds).unwrap_or(0)));
    let lp = lp.clone();
    spawn_future(async move {
        let values = lp.metrics().snapshot(timeout).await;
        values.into_iter().map(|(name, value)| Metric { name, value: Some(value) }).collect()
    })
}

/// Runs `task` on the tokio runtime and returns its result as a libprocess future, so that
/// a handler can answer later without holding its process.
pub fn spawn_future<T: Send + 'static>(task: impl std::future::Future<Output = T> + Send + 'static) -> Future<T> {
    let promise = Promise::new();
    let future = promise.future();
    tokio::spawn(async move { promise.set(task.await) });
    future
}

/// `LIST_FILES` (C++ `listFiles`): the entries under a virtual path; the files service's
/// errors as `400`, `404` or `500`.
// The error is the answer to send, as in `api.rs`; it is built once per failed call.
#[allow(clippy::result_large_err)]
pub fn list_files(files: &Files, path: &str) -> Future<Result<Vec<FileInfo>, Response>> {
    files.browse(path).map(|result| result.map_err(|error| files_error(&error)))
}

/// `READ_FILE` (C++ `readFile`): `length` bytes (all when `None`) from `offset`.
#[allow(clippy::result_large_err)]
pub fn read_file(files: &Files, path: &str, offset: u64, length: Option<u64>) -> Future<Result<ReadResult, Response>> {
    files.read(offset, length, path).map(|result| result.map_err(|error| files_error(&error)))
}

fn files_error(error: &FilesError) -> Response {
    match error {
        FilesError::Invalid(message) => Response::bad_request(message.clone()),
        FilesError::NotFound => Response::with_message(Status::NOT_FOUND, ""),
        FilesError::Unknown(message) => Response::internal_server_error(message.clone()),
    }
}

/// The `501` of a call this daemon does not serve (yet): C++ answers `NotImplemented` for
/// `UNKNOWN`; here every call not served says which it is.
pub fn not_implemented(call: &str, daemon: &str) -> Response {
    Response::with_message(Status::NOT_IMPLEMENTED, format!("Call {call} is not supported by this {daemon} yet"))
}

/// `503` while the daemon recovers (C++ `ServiceUnavailable`).
pub fn service_unavailable(message: &str) -> Response {
    Response::with_message(Status::SERVICE_UNAVAILABLE, message)
}

// ----- long lists on several threads -----

/// Lists shorter than this are written on the calling thread alone.
const PARALLEL_MINIMUM: usize = 2_000;

/// The buffers parts are written into, kept for the next answer (fresh memory costs a
/// page fault per page on first write; see [`crate::buffers`]).
static PARTS: BufferPool = BufferPool::new(16);

/// Splits `items` into up to one part per core and hands each to `write` on its own
/// thread (the first on this one), with a buffer made by `new` for that part to append to;
/// the parts come back in order.
pub fn in_parts<T: Sync, B: Send>(
    items: &[T],
    new: impl Fn(&[T]) -> B + Sync,
    write: impl Fn(&[T], &mut B) + Sync,
) -> Vec<B> {
    let threads = crate::segments::cores().min(items.len() / PARALLEL_MINIMUM).max(1);
    let run = |part: &[T]| {
        let mut buffer = new(part);
        write(part, &mut buffer);
        buffer
    };
    if threads == 1 {
        return vec![run(items)];
    }
    let chunk = items.len().div_ceil(threads);
    let run = &run;
    std::thread::scope(|scope| {
        let mut parts = items.chunks(chunk);
        let first = parts.next().unwrap_or_default();
        let helpers: Vec<_> =
            parts.map(|part| (part, std::thread::Builder::new().spawn_scoped(scope, move || run(part)).ok())).collect();
        let mut out = vec![run(first)];
        for (part, helper) in helpers {
            out.push(match helper {
                Some(helper) => helper.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic)),
                // A part whose thread could not start is written here, in its turn.
                None => run(part),
            });
        }
        out
    })
}

/// Returns buffers of [`encode_repeated`] to the pool.
pub fn give_back_bytes(parts: impl IntoIterator<Item = Vec<u8>>) {
    for part in parts {
        PARTS.give_bytes(part);
    }
}

/// A JSON array of `items`, each written by `write`, on every core when long
/// ([`crate::segments`]); `item_size` guesses an item's size in bytes.
pub fn write_json_array<T: Sync>(
    w: &mut Writer,
    items: &[T],
    item_size: usize,
    write: impl Fn(&mut Writer, &T) + Sync,
) {
    crate::segments::write_array(w, items, item_size, |w, run| {
        for item in run {
            write(w, item);
        }
    });
}

/// A JSON array of protobuf messages (v1 names in a v1 writer).
pub fn write_message_array<M: Json + Sync>(w: &mut Writer, messages: &[&M], item_size: usize) {
    write_json_array(w, messages, item_size, |w, message| w.message(*message));
}

/// Protobuf bytes assembled from parts: fields appended in order, with length-delimited
/// fields framed around bytes already encoded.
#[derive(Debug, Default)]
pub struct ProtobufBuilder {
    buffer: Vec<u8>,
}

impl ProtobufBuilder {
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty builder with room for `capacity` bytes.
    pub fn with_capacity(capacity: usize) -> Self {
        ProtobufBuilder { buffer: Vec::with_capacity(capacity) }
    }

    /// A builder appending to `buffer` (emptied first), e.g. one from a [`BufferPool`].
    pub fn with_buffer(mut buffer: Vec<u8>) -> Self {
        buffer.clear();
        ProtobufBuilder { buffer }
    }

    /// The encoded length of what has been appended.
    pub fn len(&self) -> usize {
        self.buffer.len()
    }

    pub fn is_empty(&self) -> bool {
        self.buffer.is_empty()
    }

    /// An enum or other varint field.
    pub fn varint(&mut self, tag: u32, value: u64) {
        encode_key(tag, WireType::Varint, &mut self.buffer);
        encode_varint(value, &mut self.buffer);
    }

    /// A `double` field.
    pub fn double(&mut self, tag: u32, value: f64) {
        encode_key(tag, WireType::SixtyFourBit, &mut self.buffer);
        self.buffer.extend_from_slice(&value.to_le_bytes());
    }

    /// A message field whose body is `body`.
    pub fn message_bytes(&mut self, tag: u32, body: &[u8]) {
        self.header(tag, body.len());
        self.buffer.extend_from_slice(body);
    }

    /// A message field whose body is made of `parts`, in order.
    pub fn message_parts<P: AsRef<[u8]>>(&mut self, tag: u32, parts: &[P]) {
        let length = parts.iter().map(|p| p.as_ref().len()).sum();
        self.header(tag, length);
        for part in parts {
            self.buffer.extend_from_slice(part.as_ref());
        }
    }

    /// A message field holding `message`.
    pub fn message<M: prost::Message>(&mut self, tag: u32, message: &M) {
        prost::encoding::message::encode(tag, message, &mut self.buffer);
    }

    /// The key and length of a length-delimited field of `length` bytes whose body the
    /// caller appends next (with [`ProtobufBuilder::raw`]).
    pub fn header(&mut self, tag: u32, length: usize) {
        encode_key(tag, WireType::LengthDelimited, &mut self.buffer);
        encode_varint(length as u64, &mut self.buffer);
    }

    /// Bytes already encoded.
    pub fn raw(&mut self, bytes: &[u8]) {
        self.buffer.extend_from_slice(bytes);
    }

    pub fn into_bytes(self) -> Bytes {
        Bytes::from(self.buffer)
    }

    pub fn into_vec(self) -> Vec<u8> {
        self.buffer
    }
}

/// The size of a length-delimited field of `length` bytes under `tag`.
pub fn field_len(tag: u32, length: usize) -> usize {
    key_len(tag) + encoded_len_varint(length as u64) + length
}

/// A repeated message field of `messages` under `tag`, encoded on several threads when
/// long; the parts come back in order.
/// The parts are pooled buffers: hand them back with [`give_back_bytes`] once copied.
pub fn encode_repeated<M: prost::Message + Sync>(tag: u32, messages: &[&M]) -> Vec<Vec<u8>> {
    in_parts(
        messages,
        |part| PARTS.take_bytes(part.iter().map(|message| field_len(tag, message.encoded_len())).sum()),
        |part, bytes| {
            for message in part {
                prost::encoding::message::encode(tag, *message, bytes);
            }
        },
    )
}
