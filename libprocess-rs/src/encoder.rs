//! Byte encoders for outbound libprocess messages and for HTTP responses; mirrors `3rdparty/libprocess/src/encoder.hpp` (`MessageEncoder`, `HttpResponseEncoder`).

use std::cell::RefCell;
use std::io::Write;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::{BufMut, Bytes, BytesMut};

use crate::http::{Body, Response};
use crate::message::Message;

/// Appends `message` as C++ libprocess writes it (fact sheet §2):
///
/// ```text
/// POST /<to.id>/<name> HTTP/1.1
/// User-Agent: libprocess/<from>
/// Libprocess-From: <from>
/// Connection: Keep-Alive
/// Host: <to.ip>:<to.port>
/// Transfer-Encoding: chunked        (only with a body)
///
/// <hex len>\r\n<body>\r\n0\r\n\r\n  (only with a body)
/// ```
///
/// The `Host` value follows the post-1.11 baseline (`ip:port`); released 1.x peers send it
/// empty and every libprocess ignores it.
pub fn encode_message(message: &Message, out: &mut BytesMut) {
    let from = &message.from;
    let to = &message.to;
    out.reserve(192 + message.name.len() + 2 * from.id.len() + to.id.len() + message.body.len());
    out.put_slice(b"POST /");
    if !to.id.is_empty() {
        out.put_slice(to.id.as_bytes());
        out.put_u8(b'/');
    }
    out.put_slice(message.name.as_bytes());
    out.put_slice(b" HTTP/1.1\r\nUser-Agent: libprocess/");
    write_upid(from, out);
    out.put_slice(b"\r\nLibprocess-From: ");
    write_upid(from, out);
    out.put_slice(b"\r\nConnection: Keep-Alive\r\nHost: ");
    write_address(to.ip, to.port, out);
    out.put_slice(b"\r\n");
    if message.body.is_empty() {
        out.put_slice(b"\r\n");
    } else {
        out.put_slice(b"Transfer-Encoding: chunked\r\n\r\n");
        write_hex(message.body.len(), out);
        out.put_slice(b"\r\n");
        out.put_slice(&message.body);
        out.put_slice(b"\r\n0\r\n\r\n");
    }
}

fn write_upid(pid: &crate::pid::UPID, out: &mut BytesMut) {
    out.put_slice(pid.id.as_bytes());
    out.put_u8(b'@');
    write_address(pid.ip, pid.port, out);
}

fn write_address(ip: std::net::Ipv4Addr, port: u16, out: &mut BytesMut) {
    let mut first = true;
    for octet in ip.octets() {
        if !first {
            out.put_u8(b'.');
        }
        first = false;
        write_decimal(octet as u64, out);
    }
    out.put_u8(b':');
    write_decimal(port as u64, out);
}

fn write_decimal(mut n: u64, out: &mut BytesMut) {
    let mut digits = [0u8; 20];
    let mut i = digits.len();
    loop {
        i -= 1;
        digits[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.put_slice(&digits[i..]);
}

fn write_hex(mut n: usize, out: &mut BytesMut) {
    let mut digits = [0u8; 16];
    let mut i = digits.len();
    loop {
        i -= 1;
        digits[i] = b"0123456789abcdef"[n & 0xf];
        n >>= 4;
        if n == 0 {
            break;
        }
    }
    out.put_slice(&digits[i..]);
}

/// The `Date` header value for now, cached per second per thread.
pub(crate) fn http_date() -> String {
    thread_local! {
        static CACHE: RefCell<(u64, String)> = const { RefCell::new((u64::MAX, String::new())) };
    }
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default().as_secs();
    CACHE.with(|cache| {
        let mut cache = cache.borrow_mut();
        if cache.0 != now {
            *cache = (now, httpdate::fmt_http_date(UNIX_EPOCH + Duration::from_secs(now)));
        }
        cache.1.clone()
    })
}

/// Bodies at least this long are gzip-compressed for clients that accept it
/// (`LP/src/encoder.hpp` § `HttpResponseEncoder::encode`).
pub const GZIP_MINIMUM_BODY_LENGTH: usize = 1024;

/// Appends the status line and headers of `response` and, for a complete body, the body.
///
/// libprocess always writes `HTTP/1.1`, adds `Date`, and adds `Content-Length` for
/// bodies unless already present. Streaming (`Body::Pipe`) responses get
/// `Transfer-Encoding: chunked` and only their head is written here; the chunks follow
/// through [`encode_chunk`].
pub fn encode_response(response: &mut Response, accepts_gzip: bool, out: &mut BytesMut) {
    if let Some(body) = encode_head(response, accepts_gzip, out) {
        out.put_slice(&body);
    }
}

/// [`encode_response`] without copying a complete body: it is returned instead, to be written
/// after `out` (large bodies then go to the socket straight from the handler's buffer).
pub fn encode_head(response: &mut Response, accepts_gzip: bool, out: &mut BytesMut) -> Option<Bytes> {
    if let Body::Bytes(body) = &response.body {
        if accepts_gzip && body.len() >= GZIP_MINIMUM_BODY_LENGTH && !response.headers.contains("Content-Encoding") {
            let mut encoder =
                flate2::write::GzEncoder::new(Vec::with_capacity(body.len() / 4), flate2::Compression::default());
            if encoder.write_all(body).is_ok() {
                if let Ok(compressed) = encoder.finish() {
                    response.body = Body::Bytes(compressed.into());
                    response.headers.set("Content-Encoding", "gzip");
                }
            }
        }
    }

    out.put_slice(b"HTTP/1.1 ");
    write_decimal(response.status.0 as u64, out);
    out.put_u8(b' ');
    out.put_slice(crate::http::reason_phrase(response.status.0).as_bytes());
    out.put_slice(b"\r\n");
    if !response.headers.contains("Date") {
        out.put_slice(b"Date: ");
        out.put_slice(http_date().as_bytes());
        out.put_slice(b"\r\n");
    }
    let is_pipe = matches!(response.body, Body::Pipe(_));
    for (name, value) in response.headers.iter() {
        if is_pipe && (name.eq_ignore_ascii_case("Content-Length") || name.eq_ignore_ascii_case("Transfer-Encoding")) {
            continue;
        }
        out.put_slice(name.as_bytes());
        out.put_slice(b": ");
        out.put_slice(value.as_bytes());
        out.put_slice(b"\r\n");
    }
    match &response.body {
        Body::None => {
            if !response.headers.contains("Content-Length") {
                out.put_slice(b"Content-Length: 0\r\n");
            }
            out.put_slice(b"\r\n");
        }
        Body::Bytes(body) => {
            if !response.headers.contains("Content-Length") {
                out.put_slice(b"Content-Length: ");
                write_decimal(body.len() as u64, out);
                out.put_slice(b"\r\n");
            }
            out.put_slice(b"\r\n");
            return Some(body.clone());
        }
        Body::Pipe(_) => out.put_slice(b"Transfer-Encoding: chunked\r\n\r\n"),
    }
    None
}

/// Appends one HTTP chunk; an empty `data` writes the terminating zero chunk.
pub fn encode_chunk(data: &[u8], out: &mut BytesMut) {
    write_hex(data.len(), out);
    out.put_slice(b"\r\n");
    out.put_slice(data);
    out.put_slice(b"\r\n");
}

/// The size line that opens a chunk of `length` bytes; the data and a CRLF follow.
pub(crate) fn encode_chunk_head(length: usize, out: &mut BytesMut) {
    write_hex(length, out);
    out.put_slice(b"\r\n");
}

/// The exact bytes of the `202 Accepted` answer to a delivered message, minus the date.
pub(crate) fn encode_accepted(out: &mut BytesMut) {
    out.put_slice(b"HTTP/1.1 202 Accepted\r\nDate: ");
    out.put_slice(http_date().as_bytes());
    out.put_slice(b"\r\nContent-Length: 0\r\n\r\n");
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::Status;
    use crate::pid::UPID;

    fn upid(s: &str) -> UPID {
        s.parse().unwrap()
    }

    #[test]
    fn message_with_body_golden_bytes() {
        let message = Message::new(
            "mesos.internal.RegisterSlaveMessage",
            upid("slave(1)@10.0.0.5:5051"),
            upid("master@10.0.0.1:5050"),
            &b"0123456789abcdefg"[..],
        );
        let mut out = BytesMut::new();
        encode_message(&message, &mut out);
        assert_eq!(
            &out[..],
            &b"POST /master/mesos.internal.RegisterSlaveMessage HTTP/1.1\r\n\
User-Agent: libprocess/slave(1)@10.0.0.5:5051\r\n\
Libprocess-From: slave(1)@10.0.0.5:5051\r\n\
Connection: Keep-Alive\r\n\
Host: 10.0.0.1:5050\r\n\
Transfer-Encoding: chunked\r\n\
\r\n\
11\r\n\
0123456789abcdefg\r\n\
0\r\n\
\r\n"[..]
        );
    }

    #[test]
    fn message_without_body_golden_bytes() {
        let message =
            Message::new("ping", upid("client(1)@127.0.0.1:40000"), upid("echo@127.0.0.1:5055"), bytes::Bytes::new());
        let mut out = BytesMut::new();
        encode_message(&message, &mut out);
        assert_eq!(
            &out[..],
            &b"POST /echo/ping HTTP/1.1\r\n\
User-Agent: libprocess/client(1)@127.0.0.1:40000\r\n\
Libprocess-From: client(1)@127.0.0.1:40000\r\n\
Connection: Keep-Alive\r\n\
Host: 127.0.0.1:5055\r\n\
\r\n"[..]
        );
    }

    #[test]
    fn empty_target_id_and_anonymous_sender() {
        let message = Message::new("reply", UPID::empty(), upid("@127.0.0.1:1"), bytes::Bytes::new());
        let mut out = BytesMut::new();
        encode_message(&message, &mut out);
        assert!(out.starts_with(b"POST /reply HTTP/1.1\r\nUser-Agent: libprocess/@0.0.0.0:0\r\n"));
    }

    #[test]
    fn chunk_length_is_lowercase_hex() {
        let body = vec![b'x'; 0xabc];
        let message = Message::new("m", upid("a@1.2.3.4:1"), upid("b@1.2.3.4:2"), body);
        let mut out = BytesMut::new();
        encode_message(&message, &mut out);
        let text = String::from_utf8_lossy(&out);
        assert!(text.contains("\r\n\r\nabc\r\nxxx"));
    }

    #[test]
    fn response_adds_date_and_content_length() {
        let mut response = Response::empty(Status::ACCEPTED);
        let mut out = BytesMut::new();
        encode_response(&mut response, false, &mut out);
        let text = String::from_utf8(out.to_vec()).unwrap();
        assert!(text.starts_with("HTTP/1.1 202 Accepted\r\nDate: "));
        assert!(text.ends_with("GMT\r\nContent-Length: 0\r\n\r\n"));

        let mut accepted = BytesMut::new();
        encode_accepted(&mut accepted);
        assert_eq!(accepted.len(), text.len());
    }

    #[test]
    fn large_bodies_are_gzipped_on_request() {
        let mut response = Response::ok(vec![b'a'; 4096]);
        let mut out = BytesMut::new();
        encode_response(&mut response, true, &mut out);
        let text = String::from_utf8_lossy(&out);
        assert!(text.contains("Content-Encoding: gzip\r\n"));
        assert!(out.len() < 1024);

        let mut small = Response::ok(vec![b'a'; 100]);
        let mut out = BytesMut::new();
        encode_response(&mut small, true, &mut out);
        assert!(!String::from_utf8_lossy(&out).contains("gzip"));
    }
}
