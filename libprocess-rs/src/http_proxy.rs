//! Inbound connections: decode requests, deliver libprocess messages, route HTTP requests to processes, and answer in pipeline order; mirrors `3rdparty/libprocess/src/http_proxy.cpp` (`HttpProxy`) and `ProcessManager::handle` / `internal::receive` in `src/process.cpp`.
//!
//! Inbound connections only ever carry requests in and responses out; replies to messages
//! go out on this instance's own outbound connection to the sender's advertised address.
//! They are never closed for being idle: a peer reads the close of its connection to us as
//! our death (fact sheet §3, §4).

use std::net::SocketAddr;

use bytes::{Bytes, BytesMut};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::OwnedWriteHalf;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_util::codec::Decoder;

use crate::decoder::RequestDecoder;
use crate::encoder::{encode_accepted, encode_chunk, encode_chunk_head, encode_head, encode_response};
use crate::future::Future;
use crate::http::{self, Body, Request, Response, Status};
use crate::message::{Event, HttpEvent, Message};
use crate::pid::UPID;
use crate::process::response_for;
use crate::Libprocess;

const READ_BUFFER_BYTES: usize = 80 * 1024;

/// Accepts connections until the instance stops.
pub(crate) async fn accept_loop(lp: Libprocess, listener: TcpListener) {
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            _ = lp.stopped() => return,
        };
        match accepted {
            Ok((stream, peer)) => {
                let _ = stream.set_nodelay(true);
                lp.spawn_task(serve(lp.clone(), stream, peer));
            }
            Err(error) => {
                // Typically EMFILE; back off briefly instead of spinning.
                tracing::warn!("Failed to accept a connection: {}", error);
                tokio::time::sleep(std::time::Duration::from_millis(10)).await;
            }
        }
    }
}

/// A response slot, kept in request order.
enum Pending {
    /// Bytes ready to write (the `202`s of delivered messages, errors).
    Ready { bytes: Bytes, close: bool },
    /// A route handler's response, still to come.
    Waiting { future: Future<Response>, accepts_gzip: bool, keep_alive: bool },
}

async fn serve(lp: Libprocess, stream: TcpStream, peer: SocketAddr) {
    let stopping = lp.clone();
    let lp_stopped = stopping.stopped();
    let (mut reader, writer) = stream.into_split();
    let (tx, rx) = mpsc::unbounded_channel::<Pending>();
    // Set when the peer's side of the connection ends: a streaming response then stops, as
    // C++ `HttpProxy` discards its pipe readers when the socket closes (the handler sees the
    // pipe's reader closed).
    let (read_closed, read_closed_rx) = tokio::sync::watch::channel(false);
    let write = write_responses(writer, rx, read_closed_rx);

    let read = async move {
        let mut decoder = RequestDecoder::new();
        let mut buf = BytesMut::with_capacity(READ_BUFFER_BYTES);
        loop {
            if buf.capacity() - buf.len() < 4096 {
                buf.reserve(READ_BUFFER_BYTES);
            }
            match reader.read_buf(&mut buf).await {
                Ok(0) => {
                    let _ = read_closed.send(true);
                    return;
                }
                Ok(_) => {}
                Err(error) => {
                    tracing::debug!("Read from {} failed: {}", peer, error);
                    let _ = read_closed.send(true);
                    return;
                }
            }
            // One buffer may hold many pipelined requests; their answers are coalesced by the
            // writer.
            let mut batch = Vec::new();
            loop {
                match decoder.decode(&mut buf) {
                    Ok(Some(mut request)) => {
                        request.client = Some(peer);
                        batch.push(handle(&lp, request));
                    }
                    Ok(None) => break,
                    Err(error) => {
                        tracing::warn!("Closing connection from {}: malformed request: {}", peer, error);
                        // Answers to the requests before the bad one still go out.
                        for pending in batch {
                            let _ = tx.send(pending);
                        }
                        return;
                    }
                }
            }
            for pending in batch {
                if tx.send(pending).is_err() {
                    return;
                }
            }
        }
    };

    // The reader ends on EOF or a bad request; the writer then finishes what was asked
    // before it and closes. A shutdown of the instance closes the connection at once, so
    // peers see it as this instance dying.
    tokio::select! {
        _ = async { tokio::join!(read, write) } => {}
        _ = lp_stopped => {}
    }
}

async fn write_responses(
    mut writer: OwnedWriteHalf,
    mut rx: mpsc::UnboundedReceiver<Pending>,
    mut read_closed: tokio::sync::watch::Receiver<bool>,
) {
    let mut out = BytesMut::with_capacity(4096);
    while let Some(mut pending) = rx.recv().await {
        // Answer this request and every further one that is already queued, then write the
        // lot at once; a pipelined burst of messages costs one write for all its `202`s.
        loop {
            match append_response(pending, &mut out, &mut writer, &mut read_closed).await {
                Appended::More => {}
                Appended::Close => {
                    let _ = writer.write_all(&out).await;
                    let _ = writer.shutdown().await;
                    return;
                }
                Appended::Broken => return,
            }
            if out.len() >= 256 * 1024 {
                break;
            }
            match rx.try_recv() {
                Ok(next) => pending = next,
                Err(_) => break,
            }
        }
        if !out.is_empty() {
            if writer.write_all(&out).await.is_err() {
                return;
            }
            out.clear();
        }
    }
}

/// Complete bodies at least this long are written to the socket on their own rather than
/// copied into the connection's buffer.
const DIRECT_WRITE_MINIMUM: usize = 64 * 1024;

enum Appended {
    More,
    Close,
    Broken,
}

/// Appends the response for `pending` to `out`; a streaming response is written through
/// to its end here, since later responses must wait for it.
async fn append_response(
    pending: Pending,
    out: &mut BytesMut,
    writer: &mut OwnedWriteHalf,
    read_closed: &mut tokio::sync::watch::Receiver<bool>,
) -> Appended {
    match pending {
        Pending::Ready { bytes, close } => {
            out.extend_from_slice(&bytes);
            if close {
                Appended::Close
            } else {
                Appended::More
            }
        }
        Pending::Waiting { future, accepts_gzip, keep_alive } => {
            let mut response = response_for(future.await);
            let close = !keep_alive || response.headers.get("Connection") == Some("close");
            if let Some(body) = encode_head(&mut response, accepts_gzip, out) {
                if body.len() < DIRECT_WRITE_MINIMUM {
                    out.extend_from_slice(&body);
                } else {
                    // Written from the handler's own buffer: copying a large document
                    // (`/master/state` of a big cluster is hundreds of MB) would cost as
                    // much as producing it.
                    if writer.write_all(out).await.is_err() || writer.write_all(&body).await.is_err() {
                        return Appended::Broken;
                    }
                    out.clear();
                }
            }
            if let Body::Pipe(mut chunks) = response.body {
                if writer.write_all(out).await.is_err() {
                    return Appended::Broken;
                }
                out.clear();
                loop {
                    let chunk = tokio::select! {
                        chunk = chunks.recv() => chunk,
                        // The peer went away: dropping `chunks` tells the producer.
                        _ = read_closed.wait_for(|closed| *closed) => return Appended::Broken,
                    };
                    let Some(chunk) = chunk else { break };
                    if chunk.is_empty() {
                        continue;
                    }
                    if chunk.len() < DIRECT_WRITE_MINIMUM {
                        encode_chunk(&chunk, out);
                        if writer.write_all(out).await.is_err() {
                            return Appended::Broken;
                        }
                    } else {
                        // Written from its own buffer, between its size line and its CRLF:
                        // a streamed document's chunks are a MB each.
                        encode_chunk_head(chunk.len(), out);
                        let written = async {
                            writer.write_all(out).await?;
                            writer.write_all(&chunk).await?;
                            writer.write_all(b"\r\n").await
                        };
                        if written.await.is_err() {
                            return Appended::Broken;
                        }
                    }
                    out.clear();
                }
                encode_chunk(&[], out);
            }
            if close {
                Appended::Close
            } else {
                Appended::More
            }
        }
    }
}

fn ready(response: Response, keep_alive: bool) -> Pending {
    let mut response = response;
    let mut out = BytesMut::new();
    encode_response(&mut response, false, &mut out);
    Pending::Ready { bytes: out.freeze(), close: !keep_alive }
}

/// Whether `request` is a libprocess message: a `POST` with `Libprocess-From` or a
/// `User-Agent` starting with `libprocess/` (`LP/src/process.cpp` § `libprocess(Request*)`).
pub(crate) fn is_message(request: &Request) -> bool {
    request.method == "POST"
        && (request.headers.contains("Libprocess-From")
            || request.headers.get("User-Agent").is_some_and(|ua| ua.starts_with("libprocess/")))
}

/// The sender of a message request: `Libprocess-From` (trimmed) wins, else the text after
/// `libprocess/` in `User-Agent`. An unparsable value yields the empty UPID; the message is
/// still delivered (`LP/src/process.cpp` § `parse`).
pub(crate) fn message_sender(request: &Request) -> UPID {
    if let Some(from) = request.headers.get("Libprocess-From") {
        return UPID::parse_lenient(from.trim());
    }
    if let Some(agent) = request.headers.get("User-Agent") {
        if let Some(index) = agent.find("libprocess/") {
            return UPID::parse_lenient(&agent[index + "libprocess/".len()..]);
        }
    }
    UPID::empty()
}

/// Splits a message path `/<to>/<name>` into the decoded target id and the raw name.
pub(crate) fn message_target(path: &str) -> Result<(String, String), String> {
    let rest = &path[1..];
    let (to, name) = match rest.find('/') {
        Some(index) => (&rest[..index], &rest[index + 1..]),
        None => (rest, ""),
    };
    Ok((http::decode(to).map_err(|e| format!("Failed to decode URL path: {e}"))?, name.to_string()))
}

/// Answers one request (C++ `ProcessManager::handle`).
fn handle(lp: &Libprocess, mut request: Request) -> Pending {
    let keep_alive = request.keep_alive;
    if !request.url.path.starts_with('/') {
        return ready(Response::bad_request("Request URL path must start with '/'"), keep_alive);
    }

    if is_message(&request) {
        let from = message_sender(&request);
        let (to, name) = match message_target(&request.url.path) {
            Ok(target) => target,
            Err(error) => return ready(Response::internal_server_error(error), keep_alive),
        };
        if lp.config().require_peer_address_ip_match {
            let peer_ip = request.client.map(|c| c.ip());
            if peer_ip != Some(std::net::IpAddr::V4(from.ip)) {
                let text = format!(
                    "UPID IP address validation failed: Message from {} was sent from IP {}",
                    from,
                    request.client.map(|c| c.to_string()).unwrap_or_default()
                );
                return ready(Response::bad_request(text), keep_alive);
            }
        }
        let to = UPID::new(to, lp.address());
        let message = Message { name: name.into(), from, to: to.clone(), body: request.body };
        if lp.deliver(&to, Event::Message(message)) {
            let mut out = BytesMut::with_capacity(80);
            encode_accepted(&mut out);
            return Pending::Ready { bytes: out.freeze(), close: !keep_alive };
        }
        tracing::debug!("Failed to deliver libprocess message to {}", request.url.path);
        return ready(Response::not_found(), keep_alive);
    }

    if request.url.path.contains("/..") {
        return ready(Response::not_found(), keep_alive);
    }

    // Delegate rewrite: `/` and paths whose first segment is not a live process go to the
    // delegate, so `/state` reaches `/master/state`.
    let delegate = lp.delegate();
    let first = request.url.path.split('/').find(|s| !s.is_empty()).map(str::to_string);
    let mut receiver = match &first {
        None => match &delegate {
            Some(d) => {
                request.url.path = format!("/{d}");
                Some(d.clone())
            }
            None => None,
        },
        Some(segment) => http::decode(segment).ok(),
    };
    if !receiver.as_deref().is_some_and(|id| lp.is_running(id)) {
        if let Some(d) = &delegate {
            request.url.path = format!("/{d}{}", request.url.path);
            receiver = Some(d.clone());
        }
    }

    if let Some(rejection) = lp.firewall_rejects(&request.url.path) {
        return ready(rejection, keep_alive);
    }

    let Some(receiver) = receiver else {
        return ready(Response::not_found(), keep_alive);
    };
    let Some(cell) = lp.process(&receiver) else {
        return ready(Response::not_found(), keep_alive);
    };

    let mut segments = request.url.path.split('/').filter(|s| !s.is_empty());
    segments.next();
    let endpoint = segments.collect::<Vec<_>>().join("/");
    let accepts_gzip = request.accepts_encoding("gzip");
    let promise = crate::future::Promise::new();
    let future = promise.future();
    if !cell.enqueue(Event::Http(Box::new(HttpEvent { request, endpoint, response: promise }))) {
        return ready(Response::empty(Status::INTERNAL_SERVER_ERROR), keep_alive);
    }
    Pending::Waiting { future, accepts_gzip, keep_alive }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(method: &str, path: &str, headers: &[(&str, &str)]) -> Request {
        let mut r = Request { method: method.into(), keep_alive: true, ..Request::default() };
        r.url.path = path.into();
        for (k, v) in headers {
            r.headers.set(*k, *v);
        }
        r
    }

    #[test]
    fn classification_needs_post_and_a_libprocess_header() {
        assert!(is_message(&request("POST", "/a/b", &[("Libprocess-From", "x@1.2.3.4:5")])));
        assert!(is_message(&request("POST", "/a/b", &[("User-Agent", "libprocess/x@1.2.3.4:5")])));
        assert!(is_message(&request("POST", "/a/b", &[("libprocess-from", "x@1.2.3.4:5")])));
        assert!(!is_message(&request("GET", "/a/b", &[("Libprocess-From", "x@1.2.3.4:5")])));
        assert!(!is_message(&request("POST", "/a/b", &[("User-Agent", "curl/8")])));
    }

    #[test]
    fn sender_prefers_libprocess_from() {
        let r =
            request("POST", "/a/b", &[("User-Agent", "libprocess/u@1.1.1.1:1"), ("Libprocess-From", "  f@2.2.2.2:2 ")]);
        assert_eq!(message_sender(&r).to_string(), "f@2.2.2.2:2");
        let r = request("POST", "/a/b", &[("User-Agent", "libprocess/u@1.1.1.1:1")]);
        assert_eq!(message_sender(&r).to_string(), "u@1.1.1.1:1");
        let r = request("POST", "/a/b", &[("Libprocess-From", "garbage")]);
        assert!(message_sender(&r).is_null());
    }

    #[test]
    fn target_is_decoded_name_is_raw() {
        assert_eq!(message_target("/slave%281%29/a%20b").unwrap(), ("slave(1)".to_string(), "a%20b".to_string()));
        assert_eq!(message_target("/reply").unwrap(), ("reply".to_string(), String::new()));
        assert_eq!(message_target("/x/a/b").unwrap(), ("x".to_string(), "a/b".to_string()));
        assert!(message_target("/bad%zz/name").is_err());
    }
}
