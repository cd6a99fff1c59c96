//! An HTTP/1.1 client: a kept-alive connection that sends requests in order and reads whole or streamed (chunked) responses; mirrors `process::http::Connection`, `http::connect`, `http::request` and `http::streaming` in `3rdparty/libprocess/include/process/http.hpp` and `src/http.cpp`.
//!
//! The Mesos v1 clients use it: a scheduler keeps one connection for its `SUBSCRIBE`
//! stream and another for its calls, as the C++ scheduler library does.

use std::io;
use std::net::SocketAddr;

use bytes::{Buf, Bytes, BytesMut};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::mpsc;

use super::{Body, Headers, Response, Status};

/// The longest response head read (status line and headers).
const MAX_HEAD_BYTES: usize = 64 * 1024;
/// The longest chunk-size line read.
const MAX_CHUNK_LINE: usize = 1024;

/// A request to send: `path` is the request target (path and query, already encoded).
#[derive(Debug, Clone)]
pub struct ClientRequest {
    pub method: String,
    pub path: String,
    pub headers: Headers,
    pub body: Bytes,
}

impl ClientRequest {
    pub fn get(path: impl Into<String>) -> ClientRequest {
        ClientRequest { method: "GET".into(), path: path.into(), headers: Headers::new(), body: Bytes::new() }
    }

    /// A `POST` of `body` with `Content-Type: content_type`.
    pub fn post(path: impl Into<String>, content_type: &str, body: impl Into<Bytes>) -> ClientRequest {
        let mut headers = Headers::new();
        headers.set("Content-Type", content_type);
        ClientRequest { method: "POST".into(), path: path.into(), headers, body: body.into() }
    }

    /// Adds a header.
    pub fn header(mut self, name: &str, value: &str) -> ClientRequest {
        self.headers.set(name, value);
        self
    }
}

/// One connection to an HTTP server.
#[derive(Debug)]
pub struct Connection {
    stream: TcpStream,
    peer: SocketAddr,
    /// Bytes read past the last response.
    buf: BytesMut,
}

/// Why a request failed.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("{0}")]
    Io(#[from] io::Error),
    #[error("Malformed response: {0}")]
    Malformed(String),
    #[error("Disconnected")]
    Disconnected,
}

impl Connection {
    /// Connects to `peer` (`http::connect`).
    pub async fn connect(peer: SocketAddr) -> Result<Connection, ClientError> {
        let stream = TcpStream::connect(peer).await?;
        let _ = stream.set_nodelay(true);
        Ok(Connection { stream, peer, buf: BytesMut::with_capacity(8 * 1024) })
    }

    pub fn peer(&self) -> SocketAddr {
        self.peer
    }

    /// Sends `request` and reads the whole response.
    pub async fn send(&mut self, request: &ClientRequest) -> Result<Response, ClientError> {
        self.write_request(request).await?;
        let (status, headers, framing) = self.read_head().await?;
        let body = match framing {
            Framing::Length(n) => {
                self.fill(n).await?;
                self.buf.split_to(n).freeze()
            }
            Framing::Chunked => {
                let mut body = BytesMut::new();
                while let Some(chunk) = self.read_chunk().await? {
                    body.extend_from_slice(&chunk);
                }
                body.freeze()
            }
            Framing::UntilClose => {
                loop {
                    if self.read_more().await? == 0 {
                        break;
                    }
                }
                self.buf.split().freeze()
            }
        };
        Ok(Response { status, headers, body: Body::Bytes(body) })
    }

    /// Sends `request` and returns the response as soon as its head is read; its body is a
    /// [`Body::Pipe`] fed as data arrives (one item per HTTP chunk for a chunked body) and
    /// ends when the server ends it or the connection breaks. Dropping the body's receiver
    /// closes the connection (`http::streaming::request`).
    pub async fn stream(mut self, request: &ClientRequest) -> Result<Response, ClientError> {
        self.write_request(request).await?;
        let (status, headers, framing) = self.read_head().await?;
        let (tx, rx) = mpsc::unbounded_channel();
        tokio::spawn(async move {
            let feed = async {
                match framing {
                    Framing::Chunked => {
                        while let Ok(Some(chunk)) = self.read_chunk().await {
                            if tx.send(chunk).is_err() {
                                return;
                            }
                        }
                    }
                    Framing::Length(mut left) => {
                        while left > 0 {
                            if self.buf.is_empty() && !matches!(self.read_more().await, Ok(n) if n > 0) {
                                return;
                            }
                            let n = left.min(self.buf.len());
                            left -= n;
                            if tx.send(self.buf.split_to(n).freeze()).is_err() {
                                return;
                            }
                        }
                    }
                    Framing::UntilClose => loop {
                        if !self.buf.is_empty() && tx.send(self.buf.split().freeze()).is_err() {
                            return;
                        }
                        if !matches!(self.read_more().await, Ok(n) if n > 0) {
                            return;
                        }
                    },
                }
            };
            tokio::select! {
                _ = feed => {}
                _ = tx.closed() => {}
            }
        });
        Ok(Response { status, headers, body: Body::Pipe(rx) })
    }

    async fn write_request(&mut self, request: &ClientRequest) -> Result<(), ClientError> {
        let mut head = String::with_capacity(256);
        head.push_str(&request.method);
        head.push(' ');
        head.push_str(if request.path.is_empty() { "/" } else { &request.path });
        head.push_str(" HTTP/1.1\r\n");
        if !request.headers.contains("Host") {
            head.push_str(&format!("Host: {}\r\n", self.peer));
        }
        for (name, value) in request.headers.iter() {
            if name.eq_ignore_ascii_case("Content-Length") {
                continue;
            }
            head.push_str(name);
            head.push_str(": ");
            head.push_str(value);
            head.push_str("\r\n");
        }
        if !request.body.is_empty() || request.method == "POST" || request.method == "PUT" {
            head.push_str(&format!("Content-Length: {}\r\n", request.body.len()));
        }
        head.push_str("\r\n");
        let mut out = BytesMut::with_capacity(head.len() + request.body.len());
        out.extend_from_slice(head.as_bytes());
        out.extend_from_slice(&request.body);
        self.stream.write_all(&out).await?;
        Ok(())
    }

    /// Reads more bytes into the buffer; 0 at end of stream.
    async fn read_more(&mut self) -> Result<usize, ClientError> {
        if self.buf.capacity() - self.buf.len() < 4096 {
            self.buf.reserve(64 * 1024);
        }
        Ok(self.stream.read_buf(&mut self.buf).await?)
    }

    /// Reads until the buffer holds at least `n` bytes.
    async fn fill(&mut self, n: usize) -> Result<(), ClientError> {
        while self.buf.len() < n {
            if self.read_more().await? == 0 {
                return Err(ClientError::Disconnected);
            }
        }
        Ok(())
    }

    /// Reads a line ending in CRLF (returned without it), of at most `max` bytes.
    async fn read_line(&mut self, max: usize) -> Result<String, ClientError> {
        loop {
            if let Some(end) = self.buf.windows(2).position(|w| w == b"\r\n") {
                let line = String::from_utf8_lossy(&self.buf[..end]).into_owned();
                self.buf.advance(end + 2);
                return Ok(line);
            }
            if self.buf.len() > max {
                return Err(ClientError::Malformed("line too long".into()));
            }
            if self.read_more().await? == 0 {
                return Err(ClientError::Disconnected);
            }
        }
    }

    async fn read_head(&mut self) -> Result<(Status, Headers, Framing), ClientError> {
        let end = loop {
            if let Some(end) = find(&self.buf, b"\r\n\r\n") {
                break end;
            }
            if self.buf.len() > MAX_HEAD_BYTES {
                return Err(ClientError::Malformed("response head too long".into()));
            }
            if self.read_more().await? == 0 {
                return Err(ClientError::Disconnected);
            }
        };
        let head = self.buf.split_to(end + 4);
        let text = String::from_utf8_lossy(&head[..end]).into_owned();
        let mut lines = text.split("\r\n");
        let status_line = lines.next().unwrap_or("");
        let mut parts = status_line.splitn(3, ' ');
        let version = parts.next().unwrap_or("");
        if !version.starts_with("HTTP/1.") {
            return Err(ClientError::Malformed(format!("bad status line '{status_line}'")));
        }
        let code: u16 = parts
            .next()
            .and_then(|c| c.parse().ok())
            .ok_or_else(|| ClientError::Malformed(format!("bad status line '{status_line}'")))?;
        let mut headers = Headers::new();
        for line in lines {
            let Some((name, value)) = line.split_once(':') else {
                return Err(ClientError::Malformed(format!("bad header line '{line}'")));
            };
            headers.set(name.trim(), value.trim());
        }
        let chunked = headers.get("Transfer-Encoding").is_some_and(|v| v.eq_ignore_ascii_case("chunked"));
        let framing = if chunked {
            Framing::Chunked
        } else if let Some(length) = headers.get("Content-Length") {
            Framing::Length(length.trim().parse().map_err(|_| ClientError::Malformed("bad Content-Length".into()))?)
        } else if code == 204 || code == 304 || (100..200).contains(&code) {
            Framing::Length(0)
        } else {
            Framing::UntilClose
        };
        Ok((Status(code), headers, framing))
    }

    /// The next chunk of a chunked body; `None` after the last (trailers skipped).
    async fn read_chunk(&mut self) -> Result<Option<Bytes>, ClientError> {
        let line = self.read_line(MAX_CHUNK_LINE).await?;
        let size = line.split(';').next().unwrap_or("").trim();
        let size =
            usize::from_str_radix(size, 16).map_err(|_| ClientError::Malformed(format!("bad chunk size '{size}'")))?;
        if size == 0 {
            loop {
                if self.read_line(MAX_HEAD_BYTES).await?.is_empty() {
                    return Ok(None);
                }
            }
        }
        self.fill(size + 2).await?;
        let chunk = self.buf.split_to(size).freeze();
        if &self.buf[..2] != b"\r\n" {
            return Err(ClientError::Malformed("chunk not followed by CRLF".into()));
        }
        self.buf.advance(2);
        Ok(Some(chunk))
    }
}

enum Framing {
    Length(usize),
    Chunked,
    UntilClose,
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// One request on a new connection (`http::request`).
pub async fn request(peer: SocketAddr, request: &ClientRequest) -> Result<Response, ClientError> {
    Connection::connect(peer).await?.send(request).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::net::TcpListener;

    /// A server that answers each connection with `reply` after reading one request head.
    async fn server(reply: &'static [u8]) -> SocketAddr {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        tokio::spawn(async move {
            while let Ok((mut socket, _)) = listener.accept().await {
                tokio::spawn(async move {
                    let mut seen = Vec::new();
                    let mut buf = [0u8; 1024];
                    while find(&seen, b"\r\n\r\n").is_none() {
                        match socket.read(&mut buf).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => seen.extend_from_slice(&buf[..n]),
                        }
                    }
                    let _ = socket.write_all(reply).await;
                    let mut rest = [0u8; 16];
                    let _ = socket.read(&mut rest).await;
                });
            }
        });
        address
    }

    #[tokio::test]
    async fn reads_a_sized_body() {
        let peer = server(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX-A: b\r\n\r\nhello").await;
        let response = request(peer, &ClientRequest::get("/x")).await.unwrap();
        assert_eq!(response.status, Status::OK);
        assert_eq!(response.headers.get("x-a"), Some("b"));
        let Body::Bytes(body) = response.body else { panic!() };
        assert_eq!(&body[..], b"hello");
    }

    #[tokio::test]
    async fn reads_a_chunked_body_whole_and_streamed() {
        const REPLY: &[u8] =
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\none\r\n5;x=y\r\nthree\r\n0\r\n\r\n";
        let peer = server(REPLY).await;
        let response = request(peer, &ClientRequest::get("/")).await.unwrap();
        let Body::Bytes(body) = response.body else { panic!() };
        assert_eq!(&body[..], b"onethree");

        let connection = Connection::connect(peer).await.unwrap();
        let response = connection.stream(&ClientRequest::post("/s", "application/json", "{}")).await.unwrap();
        let Body::Pipe(mut chunks) = response.body else { panic!() };
        assert_eq!(&chunks.recv().await.unwrap()[..], b"one");
        assert_eq!(&chunks.recv().await.unwrap()[..], b"three");
        assert!(chunks.recv().await.is_none());
    }

    #[tokio::test]
    async fn garbage_is_an_error_not_a_panic() {
        let peer = server(b"SMTP ready\r\n\r\n").await;
        assert!(matches!(request(peer, &ClientRequest::get("/")).await, Err(ClientError::Malformed(_))));
        let peer = server(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n").await;
        assert!(matches!(request(peer, &ClientRequest::get("/")).await, Err(ClientError::Malformed(_))));
        let peer = server(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc").await;
        // The server half-reads then the test ends its connection: a cut body is an error.
        let result =
            tokio::time::timeout(std::time::Duration::from_millis(200), request(peer, &ClientRequest::get("/"))).await;
        assert!(!matches!(result, Ok(Ok(_))));
    }
}
