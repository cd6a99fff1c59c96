//! Helpers shared by the integration tests: an instance on loopback, a raw HTTP client and a raw libprocess peer that follows only the fact sheet.
#![allow(dead_code)]

use std::net::SocketAddrV4;
use std::time::Duration;

use libprocess::{Config, Libprocess};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

pub mod daemons;
pub mod scheduler;

/// How long a test waits for something that should happen promptly.
pub const WAIT: Duration = Duration::from_secs(10);

/// A fresh instance bound to an ephemeral port on 127.0.0.1.
pub async fn instance() -> Libprocess {
    instance_with(Config::default()).await
}

pub async fn instance_with(config: Config) -> Libprocess {
    let config = Config { ip: Some(std::net::Ipv4Addr::LOCALHOST), ..config };
    Libprocess::initialize(config).await.expect("libprocess starts")
}

/// Awaits `future` for at most [`WAIT`].
pub async fn within<F: std::future::Future>(future: F) -> F::Output {
    tokio::time::timeout(WAIT, future).await.expect("timed out")
}

/// A parsed HTTP response.
#[derive(Debug)]
pub struct RawResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl RawResponse {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// Reads one HTTP response from `stream`, keeping extra bytes in `buf`. `None` on EOF before
/// a complete response.
pub async fn read_response(stream: &mut TcpStream, buf: &mut Vec<u8>) -> Option<RawResponse> {
    loop {
        if let Some(end) = find(buf, b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..end]).into_owned();
            let mut lines = head.split("\r\n");
            let status: u16 = lines.next()?.split(' ').nth(1)?.parse().ok()?;
            let headers: Vec<(String, String)> = lines
                .filter_map(|l| l.split_once(':').map(|(k, v)| (k.trim().to_string(), v.trim().to_string())))
                .collect();
            let chunked = headers
                .iter()
                .any(|(k, v)| k.eq_ignore_ascii_case("Transfer-Encoding") && v.eq_ignore_ascii_case("chunked"));
            let length: Option<usize> = headers
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case("Content-Length"))
                .and_then(|(_, v)| v.parse().ok());
            let mut rest = buf[end + 4..].to_vec();
            let body = if chunked {
                let mut body = Vec::new();
                loop {
                    while find(&rest, b"\r\n").is_none() {
                        if !fill(stream, &mut rest).await {
                            return None;
                        }
                    }
                    let line_end = find(&rest, b"\r\n")?;
                    let size = usize::from_str_radix(String::from_utf8_lossy(&rest[..line_end]).trim(), 16).ok()?;
                    while rest.len() < line_end + 2 + size + 2 {
                        if !fill(stream, &mut rest).await {
                            return None;
                        }
                    }
                    body.extend_from_slice(&rest[line_end + 2..line_end + 2 + size]);
                    rest.drain(..line_end + 2 + size + 2);
                    if size == 0 {
                        break;
                    }
                }
                body
            } else {
                let length = length.unwrap_or(0);
                while rest.len() < length {
                    if !fill(stream, &mut rest).await {
                        return None;
                    }
                }
                rest.drain(..length).collect()
            };
            *buf = rest;
            return Some(RawResponse { status, headers, body });
        }
        if !fill(stream, buf).await {
            return None;
        }
    }
}

async fn fill(stream: &mut TcpStream, buf: &mut Vec<u8>) -> bool {
    let mut chunk = [0u8; 8192];
    match stream.read(&mut chunk).await {
        Ok(0) | Err(_) => false,
        Ok(n) => {
            buf.extend_from_slice(&chunk[..n]);
            true
        }
    }
}

pub fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// Sends one raw request on a new connection and reads one response.
pub async fn request(address: SocketAddrV4, raw: &[u8]) -> RawResponse {
    let mut stream = TcpStream::connect(address).await.expect("connect");
    stream.write_all(raw).await.expect("write");
    let mut buf = Vec::new();
    within(read_response(&mut stream, &mut buf)).await.expect("a response")
}

/// `GET path` with `Connection: close` on a new connection.
pub async fn get(address: SocketAddrV4, path: &str) -> RawResponse {
    request(address, format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").as_bytes()).await
}

/// A libprocess message as the fact sheet's template spells it (released 1.x form, empty
/// `Host:`), optionally without one of the two sender headers.
pub fn message_bytes(
    to_id: &str,
    name: &str,
    from: &str,
    body: &[u8],
    user_agent: bool,
    libprocess_from: bool,
) -> Vec<u8> {
    let mut out = format!("POST /{to_id}/{name} HTTP/1.1\r\n");
    if user_agent {
        out.push_str(&format!("User-Agent: libprocess/{from}\r\n"));
    }
    if libprocess_from {
        out.push_str(&format!("Libprocess-From: {from}\r\n"));
    }
    out.push_str("Connection: Keep-Alive\r\nHost: \r\n");
    let mut bytes = out.into_bytes();
    if body.is_empty() {
        bytes.extend_from_slice(b"\r\n");
    } else {
        bytes.extend_from_slice(format!("Transfer-Encoding: chunked\r\n\r\n{:x}\r\n", body.len()).as_bytes());
        bytes.extend_from_slice(body);
        bytes.extend_from_slice(b"\r\n0\r\n\r\n");
    }
    bytes
}

/// A plain TCP listener that plays a remote libprocess instance.
pub struct RawPeer {
    pub listener: TcpListener,
    pub address: SocketAddrV4,
}

impl RawPeer {
    pub async fn bind() -> RawPeer {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let address = match listener.local_addr().expect("addr") {
            std::net::SocketAddr::V4(a) => a,
            _ => unreachable!("bound to IPv4"),
        };
        RawPeer { listener, address }
    }

    pub fn upid(&self, id: &str) -> libprocess::UPID {
        libprocess::UPID::new(id, self.address)
    }

    pub async fn accept(&self) -> TcpStream {
        within(self.listener.accept()).await.expect("accept").0
    }
}

/// Reads one request's head and body (chunked or none) from a raw connection; returns the
/// raw bytes of the request and its parts.
pub async fn read_message(stream: &mut TcpStream, buf: &mut Vec<u8>) -> Option<(String, Vec<u8>, Vec<u8>)> {
    loop {
        if let Some(end) = find(buf, b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..end + 4]).into_owned();
            let chunked = head.contains("Transfer-Encoding: chunked");
            let mut consumed = end + 4;
            let mut body = Vec::new();
            if chunked {
                loop {
                    while find(&buf[consumed..], b"\r\n").is_none() {
                        if !fill(stream, buf).await {
                            return None;
                        }
                    }
                    let line_end = consumed + find(&buf[consumed..], b"\r\n")?;
                    let size =
                        usize::from_str_radix(std::str::from_utf8(&buf[consumed..line_end]).ok()?.trim(), 16).ok()?;
                    while buf.len() < line_end + 2 + size + 2 {
                        if !fill(stream, buf).await {
                            return None;
                        }
                    }
                    body.extend_from_slice(&buf[line_end + 2..line_end + 2 + size]);
                    consumed = line_end + 2 + size + 2;
                    if size == 0 {
                        break;
                    }
                }
            }
            let raw: Vec<u8> = buf.drain(..consumed).collect();
            return Some((head, body, raw));
        }
        if !fill(stream, buf).await {
            return None;
        }
    }
}
