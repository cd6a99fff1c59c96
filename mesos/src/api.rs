//! Plumbing shared by the v1 HTTP APIs of master and agent: media types and their negotiation, decoding a call from a request body, encoding an event, and the RecordIO event stream of a subscriber; mirrors `ContentType`, `serialize`, `deserialize` and `StreamingHttpConnection` in `src/common/http.hpp` and the request checks at the top of `Master::Http::scheduler`/`api` in `src/master/http.cpp`.

// The `Err` of the request checks is the HTTP answer itself, made once per refused request;
// boxing it would only add an allocation to every caller.
#![allow(clippy::result_large_err)]

use bytes::Bytes;
use libprocess::http::{Request, Response, Status};
use libprocess::ProtobufMessage;
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::time::Duration;
use tokio::sync::mpsc::UnboundedSender;
use tokio::sync::watch;

use crate::json::{self, Json, Reader, Writer};
use crate::recordio;
use crate::state::Uuid;

pub const APPLICATION_JSON: &str = "application/json";
pub const APPLICATION_PROTOBUF: &str = "application/x-protobuf";
pub const APPLICATION_RECORDIO: &str = "application/recordio";

/// The header that carries a scheduler subscription's stream id.
pub const MESOS_STREAM_ID: &str = "Mesos-Stream-Id";

/// How a call or an event is encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ContentType {
    /// v1 JSON (the `asV1Protobuf` renaming applied), compact.
    Json,
    Protobuf,
}

impl ContentType {
    pub fn media_type(self) -> &'static str {
        match self {
            ContentType::Json => APPLICATION_JSON,
            ContentType::Protobuf => APPLICATION_PROTOBUF,
        }
    }

    /// The request's `Content-Type`: `400` when absent, `415` when neither JSON nor protobuf.
    /// As in C++, the comparison is exact (no parameters such as `charset`).
    pub fn of_request(request: &Request) -> Result<ContentType, Response> {
        match request.headers.get("Content-Type") {
            None => Err(Response::bad_request("Expecting 'Content-Type' to be present")),
            Some(APPLICATION_JSON) => Ok(ContentType::Json),
            Some(APPLICATION_PROTOBUF) => Ok(ContentType::Protobuf),
            Some(_) => Err(unsupported_media_type(&format!(
                "Expecting 'Content-Type' of {APPLICATION_JSON} or {APPLICATION_PROTOBUF}"
            ))),
        }
    }

    /// What the response may be encoded as by the request's `Accept`, JSON first; `406` when
    /// neither.
    pub fn accepted(request: &Request) -> Result<ContentType, Response> {
        if request.accepts_media_type(APPLICATION_JSON) {
            Ok(ContentType::Json)
        } else if request.accepts_media_type(APPLICATION_PROTOBUF) {
            Ok(ContentType::Protobuf)
        } else {
            Err(not_acceptable(&format!(
                "Expecting 'Accept' to allow '{APPLICATION_PROTOBUF}' or '{APPLICATION_JSON}'"
            )))
        }
    }
}

/// A `405` naming the allowed methods (`process::http::MethodNotAllowed`).
pub fn method_not_allowed(allowed: &[&str], method: &str) -> Response {
    let list = allowed.iter().map(|m| format!("'{m}'")).collect::<Vec<_>>().join(", ");
    let mut response = Response::with_message(
        Status::METHOD_NOT_ALLOWED,
        format!("405 Method Not Allowed. Expecting one of {{ {list} }}, but received '{method}'."),
    );
    response.headers.set("Allow", allowed.join(", "));
    response
}

pub fn unsupported_media_type(message: &str) -> Response {
    Response::with_message(Status::UNSUPPORTED_MEDIA_TYPE, message)
}

pub fn not_acceptable(message: &str) -> Response {
    Response::with_message(Status::NOT_ACCEPTABLE, message)
}

/// Decodes a call of type `M` (named `what` in errors, e.g. `Call`) from a request body:
/// protobuf with its required fields checked, or v1 JSON read into the v0 type (C++
/// parses the v1 type and `devolve`s it). Errors are `400`s with the C++ texts.
pub fn decode_call<M: ProtobufMessage + Json>(
    content_type: ContentType,
    body: &[u8],
    what: &str,
) -> Result<M, Response> {
    match content_type {
        ContentType::Protobuf => libprocess::protobuf::decode_checked::<M>(body)
            .map_err(|_| Response::bad_request(format!("Failed to parse body into {what} protobuf"))),
        ContentType::Json => {
            let text = std::str::from_utf8(body)
                .map_err(|e| Response::bad_request(format!("Failed to parse body into JSON: {e}")))?;
            let value: serde_json::Value = serde_json::from_str(text)
                .map_err(|e| Response::bad_request(format!("Failed to parse body into JSON: {e}")))?;
            M::read_json(&value, &Reader::v1())
                .map_err(|e| Response::bad_request(format!("Failed to convert JSON into {what} protobuf: {e}")))
        }
    }
}

/// The checks of the operator APIs (`/api/v1` of master and agent) after the method, in
/// C++'s order (`Master::Http::api`, `Http::api` of the agent): `Content-Type`, the body as a
/// `what` (e.g. `master::Call`), `validate` (a `400` naming `what`), then `Accept`. The call,
/// what `validate` made of it, and the answer's content type.
pub fn operator_call<M: ProtobufMessage + Json, K>(
    request: &Request,
    what: &str,
    validate: impl FnOnce(&M) -> Result<K, String>,
) -> Result<(M, K, ContentType), Response> {
    let content_type = ContentType::of_request(request)?;
    let call: M = decode_call(content_type, &request.body, "Call")?;
    let kind = validate(&call).map_err(|error| Response::bad_request(format!("Failed to validate {what}: {error}")))?;
    let accept = ContentType::accepted(request)?;
    Ok((call, kind, accept))
}

/// `message` encoded as `content_type` (v1 JSON, or protobuf bytes, which v0 and v1 share).
pub fn serialize<M: prost::Message + Json>(content_type: ContentType, message: &M) -> Bytes {
    match content_type {
        ContentType::Json => Bytes::from(json::to_v1_string(message)),
        ContentType::Protobuf => Bytes::from(message.encode_to_vec()),
    }
}

/// A synchronous answer: `200 OK` with `message` in the negotiated type.
pub fn ok<M: prost::Message + Json>(content_type: ContentType, message: &M) -> Response {
    let mut response = Response::ok(serialize(content_type, message));
    response.headers.set("Content-Type", content_type.media_type());
    response
}

/// v1 JSON written by a hand-made writer (see [`Writer::v1`]), as a `200 OK` answer.
pub fn ok_json(w: Writer) -> Response {
    let mut response = Response::ok(w.into_string());
    response.headers.set("Content-Type", APPLICATION_JSON);
    response
}

/// A `200 OK` whose JSON body is sent while `writer` writes it ([`Writer::streaming`]),
/// chunked: the answer for documents too large to build whole first (`/master/state` and
/// `GET_STATE` of a large cluster are hundreds of MB). With `jsonp`, the body is wrapped in
/// `callback(...)` as `text/javascript`, as [`Response::json_text`] does. The response ends
/// when the writer is [`Writer::finish`]ed; a writer dropped unfinished ends it without
/// the JSONP tail, leaving a document the client cannot parse rather than a wrong one.
///
/// At most [`STREAM_WINDOW`] bytes are in flight (handed on and not yet written to the
/// socket): past that the writer waits for its client, so that the chunks come back to
/// their pool and are used again instead of fresh memory being taken for the whole document.
/// It waits [`STREAM_STALL_LIMIT`] at most in all, so that a slow client cannot hold up the
/// process writing (the rest then queues up, as a whole document would).
pub fn streamed_json(jsonp: Option<&str>, v1: bool) -> (Response, Writer) {
    let content_type = if jsonp.is_some() { "text/javascript" } else { APPLICATION_JSON };
    let (response, mut body) = streamed(content_type);
    if let Some(callback) = jsonp {
        body.send(format!("{callback}(").into_bytes());
    }
    (response, Writer::streaming(v1, ResponseSink { body, jsonp: jsonp.is_some() }))
}

/// Whether a large answer to `request` may be streamed. HTTP/1.0 has no chunked encoding,
/// and a client that accepts gzip gets a large body gzipped, as from C++ (the connection
/// compresses a whole body, off the process that wrote it); both get every answer whole.
pub fn may_stream(request: &Request) -> bool {
    request.version >= (1, 1) && !request.accepts_encoding("gzip")
}

/// A `200 OK` of `content_type` whose body is sent, chunked, as the returned [`ChunkedBody`]
/// is given it; the response ends when that is dropped. For protobuf answers too large to
/// build whole first; see [`streamed_json`] for the in-flight window.
pub fn streamed(content_type: &str) -> (Response, ChunkedBody) {
    let (mut response, sender) = Response::pipe();
    response.headers.set("Content-Type", content_type);
    let window = Arc::new(Window { in_flight: Mutex::new(0), freed: Condvar::new() });
    (response, ChunkedBody { sender, window, stalled: Duration::ZERO })
}

/// The most bytes of a streamed document in flight at once.
pub const STREAM_WINDOW: usize = 8 << 20;

/// The longest a streamed document's writer waits for its client, in all.
pub const STREAM_STALL_LIMIT: Duration = Duration::from_secs(1);

/// The body of a streamed answer, fed a buffer at a time; each buffer (preferably one of
/// [`crate::buffers::CHUNKS`], where it goes back once written to the socket) is one HTTP
/// chunk.
pub struct ChunkedBody {
    sender: UnboundedSender<Bytes>,
    window: Arc<Window>,
    /// How long the writer has waited for the client so far.
    stalled: Duration,
}

/// A streamed JSON document's way into its response.
struct ResponseSink {
    body: ChunkedBody,
    jsonp: bool,
}

/// The bytes of one streamed document in flight.
struct Window {
    in_flight: Mutex<usize>,
    freed: Condvar,
}

impl Window {
    fn in_flight(&self) -> std::sync::MutexGuard<'_, usize> {
        self.in_flight.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// A chunk on its way to the socket: back to its pool, and out of the window, once dropped.
struct InFlight {
    bytes: Vec<u8>,
    window: Arc<Window>,
}

impl AsRef<[u8]> for InFlight {
    fn as_ref(&self) -> &[u8] {
        &self.bytes
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        let length = self.bytes.len();
        crate::buffers::CHUNKS.give_bytes(std::mem::take(&mut self.bytes));
        *self.window.in_flight() -= length;
        self.window.freed.notify_all();
    }
}

impl ChunkedBody {
    /// Sends `bytes` as the next chunk, once the window has room for it (see
    /// [`streamed_json`]). A client gone away has dropped the receiver: the chunk then
    /// comes straight back.
    pub fn send(&mut self, bytes: Vec<u8>) {
        if bytes.is_empty() {
            crate::buffers::CHUNKS.give_bytes(bytes);
            return;
        }
        let length = bytes.len();
        self.wait_for_room(length);
        *self.window.in_flight() += length;
        let chunk = InFlight { bytes, window: Arc::clone(&self.window) };
        let _ = self.sender.send(Bytes::from_owner(chunk));
    }

    /// Waits, within the stall limit, until `length` more bytes fit in the window. Only on a
    /// multi-threaded runtime, through `block_in_place` (the connection's writer runs on
    /// another thread meanwhile); a single-threaded one could not send while this waits.
    fn wait_for_room(&mut self, length: usize) {
        let full = |in_flight: usize| in_flight > 0 && in_flight + length > STREAM_WINDOW;
        if self.stalled >= STREAM_STALL_LIMIT || !full(*self.window.in_flight()) {
            return;
        }
        let multi_threaded = tokio::runtime::Handle::try_current()
            .is_ok_and(|handle| handle.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread);
        if !multi_threaded {
            return;
        }
        let budget = STREAM_STALL_LIMIT - self.stalled;
        let window = &self.window;
        let started = std::time::Instant::now();
        tokio::task::block_in_place(|| {
            let mut in_flight = window.in_flight();
            while full(*in_flight) {
                let Some(left) = budget.checked_sub(started.elapsed()) else { break };
                in_flight = window.freed.wait_timeout(in_flight, left).unwrap_or_else(PoisonError::into_inner).0;
            }
        });
        self.stalled += started.elapsed();
    }
}

impl json::ChunkSink for ResponseSink {
    fn chunk(&mut self, text: String) {
        self.body.send(text.into_bytes());
    }

    fn end(&mut self) {
        if self.jsonp {
            self.body.send(b")".to_vec());
        }
    }
}

/// The event stream of one subscriber (a scheduler, an executor, an operator): records
/// written into a streaming (`PIPE`) response. Sending after the client went away, or after
/// [`Stream::close`], is a no-op that returns `false`. Clones share the stream, as copies of
/// C++'s `StreamingHttpConnection` share their pipe's writer: closing one closes them all.
#[derive(Debug, Clone)]
pub struct Stream {
    shared: Arc<Shared>,
    pub content_type: ContentType,
    /// The id given to the client (`Mesos-Stream-Id` for schedulers).
    pub id: Uuid,
}

#[derive(Debug)]
struct Shared {
    /// The only strong sender of the response's pipe; taken by `close`, which ends the
    /// response once no `closed` future holds a clone any more.
    writer: Mutex<Option<UnboundedSender<Bytes>>>,
    /// Turns `true` on `close`, so that `closed` futures let go of their sender.
    closing: watch::Sender<bool>,
}

impl Shared {
    fn writer(&self) -> std::sync::MutexGuard<'_, Option<UnboundedSender<Bytes>>> {
        self.writer.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Stream {
    /// A new stream and the `200 OK` streaming response that carries it, with its
    /// `Content-Type` set to `content_type`.
    pub fn open(content_type: ContentType) -> (Stream, Response) {
        let (mut response, writer) = Response::pipe();
        response.headers.set("Content-Type", content_type.media_type());
        let shared = Shared { writer: Mutex::new(Some(writer)), closing: watch::channel(false).0 };
        (Stream { shared: Arc::new(shared), content_type, id: Uuid::random() }, response)
    }

    /// Writes `event` as one record.
    pub fn send<M: prost::Message + Json>(&self, event: &M) -> bool {
        self.send_serialized(&serialize(self.content_type, event))
    }

    /// Writes an already encoded event as one record.
    pub fn send_serialized(&self, event: &[u8]) -> bool {
        match self.shared.writer().as_ref() {
            Some(writer) => writer.send(recordio::encode(event)).is_ok(),
            None => false,
        }
    }

    /// Ends the response (its last chunk is written after the records already sent); `false`
    /// if it had ended already (C++ `StreamingHttpConnection::close`).
    pub fn close(&self) -> bool {
        let writer = self.shared.writer().take();
        self.shared.closing.send_replace(true);
        writer.is_some_and(|w| !w.is_closed())
    }

    /// Whether the stream has ended: the client went away or it was closed.
    pub fn is_closed(&self) -> bool {
        self.shared.writer().as_ref().is_none_or(UnboundedSender::is_closed)
    }

    /// Resolves when the stream ends: the client goes away (the HTTP connection closed) or
    /// the stream is closed (C++ `StreamingHttpConnection::closed`).
    pub fn closed(&self) -> impl std::future::Future<Output = ()> + Send + 'static {
        // Subscribed before the writer is looked at, so a `close` in between is seen.
        let mut closing = self.shared.closing.subscribe();
        let weak = self.shared.writer().as_ref().map(UnboundedSender::downgrade);
        async move {
            let Some(writer) = weak.and_then(|w| w.upgrade()) else { return };
            tokio::select! {
                () = writer.closed() => {}
                // `close` was called, or every clone of the stream is gone.
                _ = closing.changed() => {}
            }
        }
    }

    /// Whether `other` is this very stream.
    pub fn same(&self, other: &Stream) -> bool {
        Arc::ptr_eq(&self.shared, &other.shared)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::scheduler::{call, Call};

    fn request(content_type: Option<&str>, accept: Option<&str>) -> Request {
        let mut request = Request { method: "POST".into(), ..Default::default() };
        if let Some(value) = content_type {
            request.headers.set("Content-Type", value);
        }
        if let Some(value) = accept {
            request.headers.set("Accept", value);
        }
        request
    }

    #[test]
    fn content_types_are_matched_exactly() {
        assert_eq!(ContentType::of_request(&request(Some(APPLICATION_JSON), None)).unwrap(), ContentType::Json);
        assert_eq!(ContentType::of_request(&request(Some(APPLICATION_PROTOBUF), None)).unwrap(), ContentType::Protobuf);
        assert_eq!(ContentType::of_request(&request(None, None)).unwrap_err().status, Status::BAD_REQUEST);
        let charset = ContentType::of_request(&request(Some("application/json; charset=utf-8"), None));
        assert_eq!(charset.unwrap_err().status, Status::UNSUPPORTED_MEDIA_TYPE);
    }

    #[test]
    fn json_is_preferred_and_a_missing_accept_takes_it() {
        assert_eq!(ContentType::accepted(&request(None, None)).unwrap(), ContentType::Json);
        assert_eq!(
            ContentType::accepted(&request(None, Some("application/x-protobuf"))).unwrap(),
            ContentType::Protobuf
        );
        assert_eq!(
            ContentType::accepted(&request(None, Some("text/html"))).unwrap_err().status,
            Status::NOT_ACCEPTABLE
        );
    }

    #[test]
    fn calls_decode_from_v1_json_and_protobuf() {
        let json = br#"{"type":"KILL","framework_id":{"value":"f"},"kill":{"task_id":{"value":"t"},"agent_id":{"value":"a"}}}"#;
        let call: Call = decode_call(ContentType::Json, json, "Call").unwrap();
        assert_eq!(call.r#type(), call::Type::Kill);
        assert_eq!(call.kill.as_ref().unwrap().slave_id.as_ref().unwrap().value, "a");
        let bytes = prost::Message::encode_to_vec(&call);
        let again: Call = decode_call(ContentType::Protobuf, &bytes, "Call").unwrap();
        assert_eq!(again, call);

        let bad = decode_call::<Call>(ContentType::Json, b"{\"type\":", "Call").unwrap_err();
        assert_eq!(bad.status, Status::BAD_REQUEST);
        let missing = decode_call::<Call>(ContentType::Json, br#"{"type":"KILL","kill":{}}"#, "Call").unwrap_err();
        assert_eq!(missing.status, Status::BAD_REQUEST);
        let garbage = decode_call::<Call>(ContentType::Protobuf, &[0xff, 0xff, 0xff], "Call").unwrap_err();
        assert_eq!(garbage.status, Status::BAD_REQUEST);
    }

    #[test]
    fn a_405_names_the_allowed_methods() {
        let response = method_not_allowed(&["POST"], "GET");
        assert_eq!(response.status, Status::METHOD_NOT_ALLOWED);
        assert_eq!(response.headers.get("Allow"), Some("POST"));
    }

    #[tokio::test]
    async fn a_stream_writes_records_and_sees_its_reader_go() {
        let (stream, response) = Stream::open(ContentType::Json);
        assert_eq!(response.headers.get("Content-Type"), Some(APPLICATION_JSON));
        let libprocess::http::Body::Pipe(mut reader) = response.body else { panic!("not a stream") };
        let heartbeat = crate::proto::scheduler::Event {
            r#type: Some(crate::proto::scheduler::event::Type::Heartbeat as i32),
            ..Default::default()
        };
        assert!(stream.send(&heartbeat));
        assert_eq!(&reader.recv().await.unwrap()[..], b"20\n{\"type\":\"HEARTBEAT\"}");
        drop(reader);
        stream.closed().await;
        assert!(stream.is_closed());
        assert!(!stream.send(&heartbeat));
    }

    #[tokio::test]
    async fn closing_a_stream_ends_the_response_even_while_someone_waits_for_its_end() {
        let (stream, response) = Stream::open(ContentType::Json);
        let libprocess::http::Body::Pipe(mut reader) = response.body else { panic!("not a stream") };
        let waiter = tokio::spawn(stream.clone().closed());
        tokio::task::yield_now().await;
        let error = crate::proto::scheduler::Event {
            r#type: Some(crate::proto::scheduler::event::Type::Error as i32),
            ..Default::default()
        };
        assert!(stream.clone().send(&error));
        assert!(stream.close());
        assert!(!stream.close(), "closed once");
        assert!(stream.is_closed());
        assert!(!stream.send(&error));
        assert_eq!(&reader.recv().await.unwrap()[..], b"16\n{\"type\":\"ERROR\"}");
        assert!(reader.recv().await.is_none(), "the response ends");
        waiter.await.unwrap();
        stream.closed().await;
        let (other, _response) = Stream::open(ContentType::Json);
        assert!(stream.same(&stream.clone()) && !stream.same(&other));
    }
}
