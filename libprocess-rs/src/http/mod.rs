//! HTTP requests, responses, status codes and helpers; mirrors `3rdparty/libprocess/include/process/http.hpp` and `src/http.cpp`.
//!
//! These are the types that cross the boundary between the inbound connection code
//! (`http_proxy`), the decoder, the encoder and the processes' route handlers.

pub mod client;
mod headers;
mod status;

pub use headers::Headers;
pub use status::{reason_phrase, Status};

use std::collections::BTreeMap;
use std::fmt;
use std::net::SocketAddr;

use bytes::Bytes;

use crate::future::Future;

/// The parsed request target, as `http::URL` in C++ keeps it for a server.
///
/// `path` is the raw path from the request line: it is *not* percent-decoded, because
/// libprocess decodes only the first segment when it derives a message's `to`
/// (`LP/src/process.cpp` § `parse`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Url {
    pub path: String,
    /// Query parameters, percent-decoded (`+` becomes a space). A key given twice keeps
    /// the last value, like the C++ `hashmap`.
    pub query: BTreeMap<String, String>,
    pub fragment: Option<String>,
}

/// An HTTP request received by this libprocess instance.
#[derive(Clone, Debug, Default)]
pub struct Request {
    /// The method exactly as sent (`GET`, `POST`, ...).
    pub method: String,
    pub url: Url,
    pub headers: Headers,
    /// The whole body; already inflated when `Content-Encoding: gzip` was sent.
    pub body: Bytes,
    /// `(major, minor)` from the request line.
    pub version: (u8, u8),
    /// http-parser's keep-alive rule: HTTP/1.1 unless `Connection: close`, HTTP/1.0 only
    /// with `Connection: keep-alive`.
    pub keep_alive: bool,
    /// The peer's socket address, when the request came over a socket.
    pub client: Option<SocketAddr>,
}

impl Request {
    /// Whether the client accepts `encoding` (`LP/src/http.cpp` § `Request::acceptsEncoding`):
    /// an `Accept-Encoding` entry equal to it or `*` with a quality above zero.
    pub fn accepts_encoding(&self, encoding: &str) -> bool {
        let Some(value) = self.headers.get("Accept-Encoding") else {
            return false;
        };
        for item in value.split(',') {
            let mut parts = item.split(';');
            let name = parts.next().unwrap_or("").trim();
            if !(name.eq_ignore_ascii_case(encoding) || name == "*") {
                continue;
            }
            let mut quality = 1.0_f64;
            for param in parts {
                let param = param.trim();
                if let Some(q) = param.strip_prefix("q=") {
                    quality = q.trim().parse().unwrap_or(0.0);
                }
            }
            if quality > 0.0 {
                return true;
            }
        }
        false
    }

    /// Whether the client accepts `media_type` (`type/subtype`) by its `Accept` header
    /// (`LP/src/http.cpp` § `Request::acceptsMediaType`).
    pub fn accepts_media_type(&self, media_type: &str) -> bool {
        accepts_media_type(self.headers.get("Accept"), media_type)
    }

    /// As [`Request::accepts_media_type`], by the header `name` (the agent's
    /// `Message-Accept`, for example).
    pub fn accepts_media_type_in(&self, name: &str, media_type: &str) -> bool {
        accepts_media_type(self.headers.get(name), media_type)
    }
}

/// `Request::_acceptsMediaType`: a missing header accepts everything; otherwise the entries
/// (blanks removed) are searched for `type/subtype`, then `type/*`, then `*/*`, and the first
/// match decides: accepted unless its `q` value is a number that is not above zero.
fn accepts_media_type(header: Option<&str>, media_type: &str) -> bool {
    let parts: Vec<&str> = media_type.split('/').filter(|p| !p.is_empty()).collect();
    if parts.len() != 2 {
        return false;
    }
    let Some(header) = header else {
        return true;
    };
    let header: String = header.chars().filter(|c| !matches!(c, ' ' | '\t' | '\n')).collect();
    let wildcard = format!("{}/*", parts[0]);
    for candidate in [media_type, wildcard.as_str(), "*/*"] {
        for entry in header.split(',').filter(|e| !e.is_empty()) {
            let mut tokens = entry.split(';').filter(|t| !t.is_empty());
            let Some(name) = tokens.next() else { continue };
            if !name.eq_ignore_ascii_case(candidate) {
                continue;
            }
            // stout's `strings::pairs` keeps every `q=` value; one well-formed value decides.
            let qs: Vec<&str> = tokens.filter_map(|t| t.strip_prefix("q=")).collect();
            if qs.len() != 1 {
                return true;
            }
            return qs[0].parse::<f64>().is_ok_and(|q| q > 0.0);
        }
    }
    false
}

/// What a response carries after its headers.
pub enum Body {
    /// No body at all (`Response::NONE`): `Content-Length: 0` is added.
    None,
    /// A complete body (`Response::BODY`).
    Bytes(Bytes),
    /// A streamed body (`Response::PIPE`): each chunk is written as one HTTP chunk, the
    /// stream ends when the sender is dropped. The v1 APIs use this for event streams.
    Pipe(tokio::sync::mpsc::UnboundedReceiver<Bytes>),
}

impl fmt::Debug for Body {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Body::None => f.write_str("None"),
            Body::Bytes(b) => write!(f, "Bytes({} bytes)", b.len()),
            Body::Pipe(_) => f.write_str("Pipe"),
        }
    }
}

/// An HTTP response produced by a route handler or by libprocess itself.
#[derive(Debug)]
pub struct Response {
    pub status: Status,
    pub headers: Headers,
    pub body: Body,
}

impl Response {
    /// A response with `status` and a body.
    pub fn new(status: Status, body: impl Into<Bytes>) -> Response {
        Response { status, headers: Headers::new(), body: Body::Bytes(body.into()) }
    }

    /// A response with `status` and no body.
    pub fn empty(status: Status) -> Response {
        Response { status, headers: Headers::new(), body: Body::None }
    }

    /// `200 OK` with a plain body.
    pub fn ok(body: impl Into<Bytes>) -> Response {
        Response::new(Status::OK, body)
    }

    /// `200 OK` with a JSON body; with `jsonp` set the body becomes `cb(<json>)` (no trailing
    /// `;`) and the type `text/javascript` (`LP/src/http.cpp` § `OK::OK(const JSON::Value&, jsonp)`).
    pub fn json(value: &serde_json::Value, jsonp: Option<&str>) -> Response {
        let text = serde_json::to_string(value).unwrap_or_else(|_| "null".to_string());
        Response::json_text(text, jsonp)
    }

    /// `200 OK` with already-serialized JSON text as `application/json` (no JSONP).
    pub fn json_text_bytes(text: Bytes) -> Response {
        let mut response = Response::ok(text);
        response.headers.set("Content-Type", "application/json");
        response
    }

    /// Like [`Response::json`] for already-serialized JSON text.
    pub fn json_text(text: String, jsonp: Option<&str>) -> Response {
        let mut response;
        match jsonp {
            Some(callback) => {
                let mut body = String::with_capacity(callback.len() + text.len() + 2);
                body.push_str(callback);
                body.push('(');
                body.push_str(&text);
                body.push(')');
                response = Response::ok(body);
                response.headers.set("Content-Type", "text/javascript");
            }
            None => {
                response = Response::ok(text);
                response.headers.set("Content-Type", "application/json");
            }
        }
        response
    }

    /// A response whose body is the status line's reason and a period, with
    /// `text/plain; charset=utf-8`, as libprocess's `NotFound()` & co. produce
    /// (`404 Not Found.`).
    pub fn status_text(status: Status) -> Response {
        let mut response = Response::new(status, format!("{}.", status));
        response.headers.set("Content-Type", "text/plain; charset=utf-8");
        response
    }

    /// A response with `status` and an explanatory plain-text body.
    pub fn with_message(status: Status, message: impl Into<String>) -> Response {
        let mut response = Response::new(status, message.into());
        response.headers.set("Content-Type", "text/plain; charset=utf-8");
        response
    }

    /// `404 Not Found` with the libprocess body `404 Not Found.`.
    pub fn not_found() -> Response {
        Response::status_text(Status::NOT_FOUND)
    }

    /// `400 Bad Request` with a message body.
    pub fn bad_request(message: impl Into<String>) -> Response {
        Response::with_message(Status::BAD_REQUEST, message)
    }

    /// `500 Internal Server Error` with a message body.
    pub fn internal_server_error(message: impl Into<String>) -> Response {
        Response::with_message(Status::INTERNAL_SERVER_ERROR, message)
    }

    /// A streaming `200 OK` response and the sender that feeds it.
    pub fn pipe() -> (Response, tokio::sync::mpsc::UnboundedSender<Bytes>) {
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
        (Response { status: Status::OK, headers: Headers::new(), body: Body::Pipe(rx) }, tx)
    }
}

/// What a route handler returns: a response now or later.
pub type ResponseFuture = Future<Response>;

/// Percent-decodes `s` as `LP/src/http.cpp` § `http::decode` does: `%XX` becomes the byte,
/// `+` becomes a space, and a `%` not followed by two hex digits is an error.
pub fn decode(s: &str) -> Result<String, String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' => {
                let hex = |b: u8| (b as char).to_digit(16);
                match (bytes.get(i + 1).copied().and_then(hex), bytes.get(i + 2).copied().and_then(hex)) {
                    (Some(hi), Some(lo)) => {
                        out.push((hi * 16 + lo) as u8);
                        i += 3;
                    }
                    _ => {
                        return Err(format!(
                            "Malformed % escape in '{s}': '{}'",
                            String::from_utf8_lossy(&bytes[i..bytes.len().min(i + 3)])
                        ))
                    }
                }
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8(out).map_err(|_| format!("Decoded '{s}' is not UTF-8"))
}

/// Percent-encodes `s` for use in a URL (`LP/src/http.cpp` § `http::encode`): everything but
/// unreserved characters becomes `%XX`.
pub fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Decodes a query string `a=1&b=2` into key/value pairs (`http::query::decode`).
pub fn decode_query(query: &str) -> Result<BTreeMap<String, String>, String> {
    let mut result = BTreeMap::new();
    for token in query.split(['&', ';']) {
        if token.is_empty() {
            continue;
        }
        let (key, value) = match token.split_once('=') {
            Some((k, v)) => (k, v),
            None => (token, ""),
        };
        result.insert(decode(key)?, decode(value)?);
    }
    Ok(result)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decode_percent_and_plus() {
        assert_eq!(decode("a%20b+c").unwrap(), "a b c");
        assert_eq!(decode("slave%281%29").unwrap(), "slave(1)");
        assert!(decode("bad%2").is_err());
        assert!(decode("bad%zz").is_err());
    }

    #[test]
    fn query_last_value_wins() {
        let q = decode_query("a=1&b=x%20y&a=2&flag").unwrap();
        assert_eq!(q.get("a").map(String::as_str), Some("2"));
        assert_eq!(q.get("b").map(String::as_str), Some("x y"));
        assert_eq!(q.get("flag").map(String::as_str), Some(""));
    }

    #[test]
    fn accepts_media_type_follows_libprocess() {
        let with = |accept: Option<&str>| {
            let mut request = Request::default();
            if let Some(accept) = accept {
                request.headers.set("Accept", accept);
            }
            request
        };
        assert!(with(None).accepts_media_type("application/json"));
        assert!(with(Some("application/json")).accepts_media_type("application/json"));
        assert!(!with(Some("application/json")).accepts_media_type("application/x-protobuf"));
        assert!(with(Some("application/*")).accepts_media_type("application/x-protobuf"));
        assert!(with(Some("text/html, */*;q=0.1")).accepts_media_type("application/json"));
        assert!(!with(Some("application/json;q=0, text/plain")).accepts_media_type("application/json"));
        // The exact type is tried before the wildcards, whatever the order in the header.
        assert!(!with(Some("*/*, application/json; q=0.0")).accepts_media_type("application/json"));
        assert!(with(Some("*/*, application/json; q=0.0")).accepts_media_type("application/x-protobuf"));
        assert!(with(Some("APPLICATION/JSON")).accepts_media_type("application/json"));
        assert!(!with(Some("")).accepts_media_type("application/json"));
        assert!(!with(None).accepts_media_type("json"));
    }

    #[test]
    fn accepts_gzip() {
        let mut r = Request::default();
        assert!(!r.accepts_encoding("gzip"));
        r.headers.set("Accept-Encoding", "deflate, gzip;q=0.5");
        assert!(r.accepts_encoding("gzip"));
        r.headers.set("Accept-Encoding", "gzip;q=0");
        assert!(!r.accepts_encoding("gzip"));
        r.headers.set("Accept-Encoding", "*");
        assert!(r.accepts_encoding("gzip"));
    }
}
