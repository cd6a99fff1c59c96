//! Incremental HTTP/1.1 request decoder for inbound connections; mirrors
//! `3rdparty/libprocess/src/decoder.hpp` (`StreamingRequestDecoder`/`DataDecoder`), which
//! drive http-parser 2.6.2 built in lenient mode (`HTTP_PARSER_STRICT=0`).
//!
//! One [`RequestDecoder`] lives as long as its connection: pipelined requests come out one
//! per `decode` call, and a request split across reads at any byte is resumed where it
//! stopped. Unlike the C++ streaming decoder the body is collected before the request is
//! handed out, which is what libprocess does anyway for messages (`LP/src/process.cpp`
//! § `parse` reads the whole pipe) and for routes without request streaming.
//!
//! Deliberate points of leniency and strictness, relative to http-parser, are listed on
//! [`RequestDecoder`].

use std::io::Read;
use std::ops::Range;

use bytes::{Buf, Bytes, BytesMut};
use tokio_util::codec::Decoder;

use crate::http::{decode_query, Headers, Request, Url};

/// Upper bound on the request line plus headers (http-parser's `HTTP_MAX_HEADER_SIZE`).
pub const MAX_HEAD_BYTES: usize = 80 * 1024;

/// The methods http-parser 2.6.2 knows (`HTTP_METHOD_MAP`); it rejects every other token,
/// so an unknown method closes the connection in C++ and must here as well.
const METHODS: [&str; 33] = [
    "DELETE",
    "GET",
    "HEAD",
    "POST",
    "PUT",
    "CONNECT",
    "OPTIONS",
    "TRACE",
    "COPY",
    "LOCK",
    "MKCOL",
    "MOVE",
    "PROPFIND",
    "PROPPATCH",
    "SEARCH",
    "UNLOCK",
    "BIND",
    "REBIND",
    "UNBIND",
    "ACL",
    "REPORT",
    "MKACTIVITY",
    "CHECKOUT",
    "MERGE",
    "M-SEARCH",
    "NOTIFY",
    "SUBSCRIBE",
    "UNSUBSCRIBE",
    "PATCH",
    "PURGE",
    "MKCALENDAR",
    "LINK",
    "UNLINK",
];

/// Longest entry of [`METHODS`] (`UNSUBSCRIBE`), which bounds the early method check.
const LONGEST_METHOD: usize = 11;

/// Why a connection's byte stream could not be decoded. Every variant means the
/// connection is closed without a response, as libprocess does on a decoder failure
/// (`LP/src/process.cpp` § `internal::receive`); details go to the `debug` log.
#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    #[error("request line and headers exceed the size limit")]
    HeadTooLarge,
    #[error("malformed request line")]
    BadRequestLine,
    #[error("malformed header line")]
    BadHeader,
    #[error("malformed chunked body")]
    BadChunk,
    #[error("invalid Content-Length")]
    BadContentLength,
    #[error("invalid request target: {0}")]
    BadUrl(String),
    #[error("invalid query string: {0}")]
    BadQuery(String),
    #[error("cannot inflate gzip body: {0}")]
    Gzip(String),
    #[error("trailers after a chunked body are not supported")]
    Trailers,
    #[error("connection ended in the middle of a request")]
    Truncated,
    #[error("decoder already failed on this connection")]
    Poisoned,
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

/// Decodes HTTP requests from a connection's bytes; see the module docs.
///
/// Lenient like http-parser 2.6.2 in non-strict mode: empty lines before a request are
/// skipped, a bare LF ends any line, obsolete header folding is accepted, header names may
/// carry spaces before the colon, header values and the target may hold bytes >= 0x80
/// (text that is not UTF-8 is stored lossily, as `Request` holds `String`s).
/// Stricter than it where its leniency is merely sloppy: `HTTP/` must be spelled out, a
/// request line without a version (HTTP/0.9) is refused, a CR must be followed by LF, and
/// the two bytes after chunk data must be a line end.
#[derive(Debug)]
pub struct RequestDecoder {
    max_head: usize,
    state: State,
    poisoned: bool,
}

#[derive(Debug)]
enum State {
    /// Looking for the blank line that ends the head. The offsets are into the caller's
    /// buffer, which only grows until the head is split off, so they stay valid between
    /// calls and spare a rescan of what was already searched.
    Head {
        line_start: usize,
        scanned: usize,
        request_line: Option<RequestLine>,
    },
    Body(Box<Pending>),
}

impl State {
    fn fresh() -> State {
        State::Head { line_start: 0, scanned: 0, request_line: None }
    }
}

#[derive(Debug)]
struct RequestLine {
    method: &'static str,
    target: Range<usize>,
    version: (u8, u8),
}

/// A request whose head is decoded and whose body is still arriving.
#[derive(Debug)]
struct Pending {
    request: Request,
    gzip: bool,
    body: BodyParts,
    framing: Framing,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Framing {
    Length(usize),
    /// Waiting for a chunk-size line; `scanned` bytes of it were already searched for LF.
    ChunkSize {
        scanned: usize,
    },
    ChunkData(usize),
    ChunkDataEnd,
    /// After the zero chunk only an empty line may follow: libprocess rejects trailers.
    TrailerEnd,
}

/// Collects body pieces so that the common single-piece body (a `Content-Length` body, or
/// the one chunk libprocess's `MessageEncoder` writes) is handed out without a copy.
#[derive(Debug, Default)]
enum BodyParts {
    #[default]
    Empty,
    One(Bytes),
    Many(BytesMut),
}

impl BodyParts {
    fn push(&mut self, piece: Bytes) {
        *self = match std::mem::take(self) {
            BodyParts::Empty => BodyParts::One(piece),
            BodyParts::One(first) => {
                let mut joined = BytesMut::with_capacity(first.len() + piece.len());
                joined.extend_from_slice(&first);
                joined.extend_from_slice(&piece);
                BodyParts::Many(joined)
            }
            BodyParts::Many(mut joined) => {
                joined.extend_from_slice(&piece);
                BodyParts::Many(joined)
            }
        };
    }

    fn finish(self) -> Bytes {
        match self {
            BodyParts::Empty => Bytes::new(),
            BodyParts::One(bytes) => bytes,
            BodyParts::Many(joined) => joined.freeze(),
        }
    }
}

impl Default for RequestDecoder {
    fn default() -> Self {
        RequestDecoder::new()
    }
}

impl RequestDecoder {
    /// A decoder with http-parser's head limit, [`MAX_HEAD_BYTES`].
    pub fn new() -> Self {
        RequestDecoder::with_max_head(MAX_HEAD_BYTES)
    }

    /// A decoder whose request line plus headers (including the blank line) may take at
    /// most `bytes` bytes.
    pub fn with_max_head(bytes: usize) -> Self {
        RequestDecoder { max_head: bytes, state: State::fresh(), poisoned: false }
    }

    /// Whether no part of a request has been consumed or seen yet, i.e. whether the
    /// connection may end here cleanly.
    fn is_between_requests(&self, buf: &BytesMut) -> bool {
        matches!(self.state, State::Head { .. }) && buf.is_empty()
    }

    fn decode_inner(&mut self, buf: &mut BytesMut) -> Result<Option<Request>, DecodeError> {
        loop {
            match &mut self.state {
                State::Head { .. } => match self.scan_head(buf)? {
                    None => return Ok(None),
                    Some((head_end, line)) => {
                        let head = buf.split_to(head_end);
                        let pending = parse_head(&head, &line)?;
                        self.state = State::Body(Box::new(pending));
                    }
                },
                State::Body(pending) => {
                    if !advance_body(pending, buf, self.max_head)? {
                        return Ok(None);
                    }
                    let state = std::mem::replace(&mut self.state, State::fresh());
                    if let State::Body(pending) = state {
                        return finish(*pending).map(Some);
                    }
                }
            }
        }
    }

    /// Searches for the end of the head, resuming where the previous call stopped. Returns
    /// the head's length (through the blank line) and its parsed request line.
    fn scan_head(&mut self, buf: &mut BytesMut) -> Result<Option<(usize, RequestLine)>, DecodeError> {
        let max_head = self.max_head;
        let State::Head { line_start, scanned, request_line } = &mut self.state else {
            return Ok(None);
        };

        // A caller that shrank the buffer behind our back would make the saved offsets
        // point past its end; starting over is always correct, merely slower.
        if *scanned > buf.len() || *line_start > *scanned {
            *line_start = 0;
            *scanned = 0;
            *request_line = None;
        }

        if *scanned == 0 {
            // http-parser skips CR and LF before a request line (keep-alive clients send a
            // stray CRLF after a body). Dropping them at once keeps them out of the head.
            let blank = buf.iter().take_while(|&&b| b == b'\r' || b == b'\n').count();
            buf.advance(blank);
            if buf.is_empty() {
                return Ok(None);
            }
        }
        if request_line.is_none() && *scanned <= LONGEST_METHOD {
            // Garbage on the connection is refused on its first bytes, as http-parser's
            // byte-by-byte method match does, instead of after a whole head arrived.
            check_method_prefix(&buf[..buf.len().min(LONGEST_METHOD + 1)])?;
        }

        // A blank line ending past `max_head` would be refused anyway, so bytes beyond the
        // limit are never searched however much the peer has sent.
        let searchable = buf.len().min(max_head);
        let mut pos = (*scanned).min(searchable);
        while let Some(offset) = memchr::memchr(b'\n', &buf[pos..searchable]) {
            let lf = pos + offset;
            let line = &buf[*line_start..lf];
            if request_line.is_none() {
                *request_line = Some(parse_request_line(buf, *line_start..lf)?);
            } else if line.is_empty() || line == b"\r" {
                let head_end = lf + 1;
                let line = request_line.take().ok_or(DecodeError::BadRequestLine)?;
                *line_start = 0;
                *scanned = 0;
                return Ok(Some((head_end, line)));
            }
            *line_start = lf + 1;
            pos = lf + 1;
        }
        *scanned = searchable;

        // The whole buffer is head so far: past the limit it can never become valid, and
        // waiting for the blank line would let a peer make us buffer without bound.
        if buf.len() > max_head {
            tracing::debug!(buffered = buf.len(), max_head, "request head too large");
            return Err(DecodeError::HeadTooLarge);
        }
        Ok(None)
    }
}

impl Decoder for RequestDecoder {
    type Item = Request;
    type Error = DecodeError;

    fn decode(&mut self, buf: &mut BytesMut) -> Result<Option<Request>, DecodeError> {
        if self.poisoned {
            return Err(DecodeError::Poisoned);
        }
        let result = self.decode_inner(buf);
        if result.is_err() {
            self.poisoned = true;
            self.state = State::fresh();
        }
        result
    }

    fn decode_eof(&mut self, buf: &mut BytesMut) -> Result<Option<Request>, DecodeError> {
        if let Some(request) = self.decode(buf)? {
            return Ok(Some(request));
        }
        // tokio-util's default only notices leftover bytes; a request whose head was already
        // consumed but whose body never came would vanish silently.
        if self.is_between_requests(buf) {
            Ok(None)
        } else {
            self.poisoned = true;
            self.state = State::fresh();
            Err(DecodeError::Truncated)
        }
    }
}

/// Fails unless `start` (the first bytes of a request) can still begin `METHOD SP`.
fn check_method_prefix(start: &[u8]) -> Result<(), DecodeError> {
    let (token, complete) = match start.iter().position(|&b| b == b' ') {
        Some(space) => (&start[..space], true),
        None => (start, false),
    };
    let known = METHODS.iter().any(|m| {
        let m = m.as_bytes();
        if complete {
            m == token
        } else {
            m.starts_with(token)
        }
    });
    if known {
        Ok(())
    } else {
        tracing::debug!(start = %String::from_utf8_lossy(start), "unknown method");
        Err(DecodeError::BadRequestLine)
    }
}

/// Parses `METHOD SP+ target SP+ HTTP/major.minor` in `buf[line]` (the LF excluded).
fn parse_request_line(buf: &[u8], line: Range<usize>) -> Result<RequestLine, DecodeError> {
    let bad = |why: &'static str| {
        tracing::debug!(
            line = %String::from_utf8_lossy(&buf[line.clone()]),
            why,
            "bad request line"
        );
        DecodeError::BadRequestLine
    };
    let text = strip_cr(&buf[line.clone()]);

    let space = text.iter().position(|&b| b == b' ').ok_or_else(|| bad("no target"))?;
    let method = METHODS.iter().find(|m| m.as_bytes() == &text[..space]).ok_or_else(|| bad("unknown method"))?;

    // http-parser lets any number of spaces separate the three parts.
    let target_start = space + skip_spaces(&text[space..]);
    let target_len = text[target_start..].iter().position(|&b| b == b' ');
    // Without a version http-parser would assume HTTP/0.9, which no libprocess peer speaks.
    let target_len = target_len.ok_or_else(|| bad("no HTTP version"))?;
    let target = target_start..target_start + target_len;
    if let Some(&b) = text[target.clone()].iter().find(|&&b| !is_url_byte(b)) {
        tracing::debug!(byte = b, "forbidden byte in request target");
        return Err(DecodeError::BadUrl(format!("forbidden byte 0x{b:02x}")));
    }

    let version_start = target.end + skip_spaces(&text[target.end..]);
    let version =
        text[version_start..].strip_prefix(b"HTTP/").and_then(parse_version).ok_or_else(|| bad("bad HTTP version"))?;

    let offset = line.start;
    Ok(RequestLine { method, target: offset + target.start..offset + target.end, version })
}

/// `major.minor` as http-parser takes it (a major of 1-9 first, at most three digits
/// each), limited further to what fits `Request::version`.
fn parse_version(text: &[u8]) -> Option<(u8, u8)> {
    let dot = text.iter().position(|&b| b == b'.')?;
    let (major, minor) = (&text[..dot], &text[dot + 1..]);
    let number = |digits: &[u8]| -> Option<u8> {
        if digits.is_empty() || digits.len() > 3 || !digits.iter().all(u8::is_ascii_digit) {
            return None;
        }
        let value = digits.iter().fold(0u32, |n, d| n * 10 + u32::from(d - b'0'));
        u8::try_from(value).ok()
    };
    let major_value = number(major)?;
    if major.first() == Some(&b'0') {
        return None;
    }
    Some((major_value, number(minor)?))
}

fn skip_spaces(text: &[u8]) -> usize {
    text.iter().take_while(|&&b| b == b' ').count()
}

fn strip_cr(line: &[u8]) -> &[u8] {
    line.strip_suffix(b"\r").unwrap_or(line)
}

/// http-parser's lenient `IS_URL_CHAR`, plus `?` and `#`, which it handles as delimiters.
fn is_url_byte(b: u8) -> bool {
    matches!(b, 0x21..=0x7e | 0x80..=0xff | b'\t' | 0x0c)
}

/// RFC 7230 `tchar`; the same set as http-parser's `tokens` table.
fn is_token_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// http-parser's `IS_HEADER_CHAR` minus the line ends, which never reach a value here.
fn is_value_byte(b: u8) -> bool {
    b == b'\t' || (b >= 0x20 && b != 0x7f)
}

fn trim_blanks(mut s: &[u8]) -> &[u8] {
    while let [b' ' | b'\t', rest @ ..] = s {
        s = rest;
    }
    while let [rest @ .., b' ' | b'\t'] = s {
        s = rest;
    }
    s
}

/// What the header lines say about framing and persistence, gathered per line like
/// http-parser's flags: several `Connection` lines all count.
#[derive(Default)]
struct HeadFlags {
    close: bool,
    keep_alive: bool,
    chunked: bool,
    content_length: Option<u64>,
}

impl HeadFlags {
    fn note(&mut self, name: &str, value: &str) -> Result<(), DecodeError> {
        if name.eq_ignore_ascii_case("Connection") || name.eq_ignore_ascii_case("Proxy-Connection") {
            // http-parser also honours `Proxy-Connection`.
            for token in value.split(',').map(|t| t.trim_matches([' ', '\t'])) {
                self.close |= token.eq_ignore_ascii_case("close");
                self.keep_alive |= token.eq_ignore_ascii_case("keep-alive");
            }
        } else if name.eq_ignore_ascii_case("Transfer-Encoding") {
            self.chunked |= value.split(',').any(|t| t.trim_matches([' ', '\t']).eq_ignore_ascii_case("chunked"));
        } else if name.eq_ignore_ascii_case("Content-Length") {
            // Two lengths are how requests get smuggled past a proxy; http-parser refuses
            // them (`HPE_UNEXPECTED_CONTENT_LENGTH`) rather than letting the last one win.
            if self.content_length.is_some() {
                tracing::debug!("duplicate Content-Length");
                return Err(DecodeError::BadContentLength);
            }
            self.content_length = Some(parse_content_length(value)?);
        }
        Ok(())
    }
}

fn parse_content_length(value: &str) -> Result<u64, DecodeError> {
    let bad = || {
        tracing::debug!(value, "bad Content-Length");
        DecodeError::BadContentLength
    };
    if value.is_empty() || !value.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    value.parse::<u64>().map_err(|_| bad())
}

/// `bytes` as text: borrowed when valid UTF-8 (the usual case, checked quickly), otherwise
/// with invalid sequences replaced.
fn text(bytes: &[u8]) -> std::borrow::Cow<'_, str> {
    match std::str::from_utf8(bytes) {
        Ok(s) => std::borrow::Cow::Borrowed(s),
        Err(_) => String::from_utf8_lossy(bytes),
    }
}

/// Decodes the whole head (`head` ends with the blank line) into a request awaiting its body.
fn parse_head(head: &[u8], line: &RequestLine) -> Result<Pending, DecodeError> {
    let target = head.get(line.target.clone()).ok_or(DecodeError::BadRequestLine)?;
    let url = parse_target(target)?;

    // Folding needs the previous header still open, so headers are collected before
    // being stored (where the last of a repeated name wins). Values are borrowed from the
    // head unless a folded line forced a copy.
    let mut fields: Vec<(&[u8], std::borrow::Cow<[u8]>)> = Vec::new();
    let mut start = 0;
    let mut lines = std::iter::from_fn(move || {
        if start > head.len() {
            return None;
        }
        let end = memchr::memchr(b'\n', &head[start..]).map_or(head.len(), |i| start + i);
        let line = &head[start..end];
        start = end + 1;
        Some(line)
    })
    .map(strip_cr);
    lines.next(); // The request line, already parsed.
    for raw in lines {
        if raw.is_empty() {
            break;
        }
        if matches!(raw.first(), Some(b' ' | b'\t')) {
            let continuation = trim_blanks(raw);
            check_value(continuation)?;
            let Some((_, value)) = fields.last_mut() else {
                tracing::debug!("continuation line before any header");
                return Err(DecodeError::BadHeader);
            };
            if !continuation.is_empty() {
                let value = value.to_mut();
                if !value.is_empty() {
                    value.push(b' ');
                }
                value.extend_from_slice(continuation);
            }
            continue;
        }
        let Some(colon) = memchr::memchr(b':', raw) else {
            tracing::debug!(line = %String::from_utf8_lossy(raw), "header without colon");
            return Err(DecodeError::BadHeader);
        };
        // Lenient http-parser lets spaces into names; trailing ones are dropped so that
        // `Content-Length : 5` still means what it says.
        let name = trim_blanks(&raw[..colon]);
        if name.is_empty() || !name.iter().all(|&b| is_token_byte(b) || b == b' ') {
            tracing::debug!(line = %String::from_utf8_lossy(raw), "bad header name");
            return Err(DecodeError::BadHeader);
        }
        let value = trim_blanks(&raw[colon + 1..]);
        check_value(value)?;
        fields.push((name, std::borrow::Cow::Borrowed(value)));
    }

    let mut flags = HeadFlags::default();
    let mut headers = Headers::with_capacity(head.len(), fields.len());
    for (name, value) in &fields {
        let name = text(name);
        let value = text(value);
        flags.note(&name, &value)?;
        headers.set(&*name, &*value);
    }

    let framing = if flags.chunked {
        Framing::ChunkSize { scanned: 0 }
    } else {
        match flags.content_length {
            Some(length) => Framing::Length(usize::try_from(length).map_err(|_| DecodeError::BadContentLength)?),
            // A request never runs until EOF: without framing headers it has no body.
            None => Framing::Length(0),
        }
    };

    let (major, minor) = line.version;
    // `http_should_keep_alive`: only a version with both numbers non-zero is treated as
    // HTTP/1.1, so HTTP/1.0 (and 2.0) need an explicit keep-alive.
    let keep_alive = if major > 0 && minor > 0 { !flags.close } else { flags.keep_alive };
    let gzip = headers.get("Content-Encoding") == Some("gzip");

    let request = Request {
        method: line.method.to_string(),
        url,
        headers,
        body: Bytes::new(),
        version: line.version,
        keep_alive,
        client: None,
    };
    Ok(Pending { request, gzip, body: BodyParts::Empty, framing })
}

fn check_value(value: &[u8]) -> Result<(), DecodeError> {
    match value.iter().find(|&&b| !is_value_byte(b)) {
        None => Ok(()),
        Some(&b) => {
            tracing::debug!(byte = b, "control character in header value");
            Err(DecodeError::BadHeader)
        }
    }
}

/// Splits a request target the way `http_parser_parse_url` does for libprocess.
fn parse_target(target: &[u8]) -> Result<Url, DecodeError> {
    let rest = match absolute_form_rest(target) {
        Some(Ok(rest)) => rest,
        Some(Err(e)) => return Err(e),
        // Origin form, `*`, or something odd like `foo`: the caller answers 400 for a path
        // without a leading slash, so it is kept rather than refused here.
        None => target,
    };

    let path_end = rest.iter().position(|&b| b == b'?' || b == b'#').unwrap_or(rest.len());
    let path = text(&rest[..path_end]).into_owned();
    let mut rest = &rest[path_end..];

    let mut query_text: &[u8] = b"";
    if let Some(after) = rest.strip_prefix(b"?") {
        let end = after.iter().position(|&b| b == b'#').unwrap_or(after.len());
        query_text = &after[..end];
        rest = &after[end..];
    }
    // http-parser reports no fragment for a bare `#`.
    let fragment = rest.strip_prefix(b"#").filter(|f| !f.is_empty()).map(|f| String::from_utf8_lossy(f).into_owned());

    let query = decode_query(&text(query_text)).map_err(|e| {
        tracing::debug!(error = %e, "bad query string");
        DecodeError::BadQuery(e)
    })?;
    Ok(Url { path, query, fragment })
}

/// For `scheme://authority/rest`, the part from the path on; `None` if `target` is not in
/// absolute form.
fn absolute_form_rest(target: &[u8]) -> Option<Result<&[u8], DecodeError>> {
    let scheme_len = target.iter().take_while(|b| b.is_ascii_alphabetic()).count();
    if scheme_len == 0 {
        return None;
    }
    let after_scheme = target[scheme_len..].strip_prefix(b"://")?;
    let authority_len =
        after_scheme.iter().position(|&b| matches!(b, b'/' | b'?' | b'#')).unwrap_or(after_scheme.len());
    if authority_len == 0 {
        // `http_parser_parse_url` requires a host whenever a scheme is given.
        return Some(Err(DecodeError::BadUrl("absolute URL without host".to_string())));
    }
    Some(Ok(&after_scheme[authority_len..]))
}

/// Consumes body bytes from `buf`; returns whether the body is complete.
fn advance_body(pending: &mut Pending, buf: &mut BytesMut, max_line: usize) -> Result<bool, DecodeError> {
    loop {
        match pending.framing {
            Framing::Length(length) => {
                if buf.len() < length {
                    return Ok(false);
                }
                if length > 0 {
                    pending.body.push(buf.split_to(length).freeze());
                }
                return Ok(true);
            }
            Framing::ChunkSize { scanned } => {
                let start = scanned.min(buf.len());
                let Some(offset) = buf[start..].iter().position(|&b| b == b'\n') else {
                    // http-parser counts chunk-size lines against the header limit too; an
                    // endless chunk extension must not buffer forever.
                    if buf.len() > max_line {
                        tracing::debug!(buffered = buf.len(), "chunk-size line too long");
                        return Err(DecodeError::BadChunk);
                    }
                    pending.framing = Framing::ChunkSize { scanned: buf.len() };
                    return Ok(false);
                };
                let lf = start + offset;
                let size = parse_chunk_size(strip_cr(&buf[..lf]))?;
                buf.advance(lf + 1);
                pending.framing = if size == 0 { Framing::TrailerEnd } else { Framing::ChunkData(size) };
            }
            Framing::ChunkData(size) => {
                if buf.len() < size {
                    return Ok(false);
                }
                pending.body.push(buf.split_to(size).freeze());
                pending.framing = Framing::ChunkDataEnd;
            }
            Framing::ChunkDataEnd => match line_end(buf) {
                LineEnd::Incomplete => return Ok(false),
                LineEnd::Found(n) => {
                    buf.advance(n);
                    pending.framing = Framing::ChunkSize { scanned: 0 };
                }
                LineEnd::Other => {
                    tracing::debug!("chunk data not followed by CRLF");
                    return Err(DecodeError::BadChunk);
                }
            },
            Framing::TrailerEnd => match line_end(buf) {
                LineEnd::Incomplete => return Ok(false),
                LineEnd::Found(n) => {
                    buf.advance(n);
                    return Ok(true);
                }
                LineEnd::Other if buf.first() == Some(&b'\r') => {
                    tracing::debug!("CR without LF after last chunk");
                    return Err(DecodeError::BadChunk);
                }
                LineEnd::Other => {
                    tracing::debug!("trailer after last chunk");
                    return Err(DecodeError::Trailers);
                }
            },
        }
    }
}

enum LineEnd {
    Incomplete,
    Found(usize),
    Other,
}

/// Whether `buf` starts with CRLF or a bare LF.
fn line_end(buf: &[u8]) -> LineEnd {
    match buf {
        [] | [b'\r'] => LineEnd::Incomplete,
        [b'\n', ..] => LineEnd::Found(1),
        [b'\r', b'\n', ..] => LineEnd::Found(2),
        _ => LineEnd::Other,
    }
}

/// `hex-size [(';' | SP) ignored-extension]`, as http-parser reads chunk-size lines.
fn parse_chunk_size(line: &[u8]) -> Result<usize, DecodeError> {
    let digits = line.iter().take_while(|b| b.is_ascii_hexdigit()).count();
    let bad = |why: &'static str| {
        tracing::debug!(line = %String::from_utf8_lossy(line), why, "bad chunk-size line");
        DecodeError::BadChunk
    };
    if digits == 0 {
        return Err(bad("no hex digits"));
    }
    if !matches!(line.get(digits), None | Some(b';' | b' ')) {
        return Err(bad("junk after chunk size"));
    }
    let mut size: usize = 0;
    for &b in &line[..digits] {
        let digit = (b as char).to_digit(16).ok_or_else(|| bad("not hex"))?;
        size = size
            .checked_mul(16)
            .and_then(|s| s.checked_add(digit as usize))
            .ok_or_else(|| bad("chunk size overflows"))?;
    }
    Ok(size)
}

/// Completes a request whose body has fully arrived.
fn finish(pending: Pending) -> Result<Request, DecodeError> {
    let Pending { mut request, gzip, body, .. } = pending;
    let body = body.finish();
    request.body = if gzip {
        let inflated = gunzip(&body)?;
        // `DataDecoder` rewrites the length so that it describes the body handed out.
        request.headers.set("Content-Length", inflated.len().to_string());
        inflated
    } else {
        body
    };
    Ok(request)
}

/// Inflates a whole gzip body with the checks of stout's `gzip::Decompressor` as the
/// streaming decoder uses it: the stream must end, and nothing may follow it.
fn gunzip(body: &[u8]) -> Result<Bytes, DecodeError> {
    if body.is_empty() {
        // The C++ decompressor never reaches its end without input and fails the request.
        return Err(DecodeError::Gzip("empty body".to_string()));
    }
    let mut decoder = flate2::bufread::GzDecoder::new(body);
    let mut inflated = Vec::new();
    decoder.read_to_end(&mut inflated).map_err(|e| DecodeError::Gzip(e.to_string()))?;
    if !decoder.get_ref().is_empty() {
        return Err(DecodeError::Gzip("data after the end of the gzip stream".to_string()));
    }
    Ok(Bytes::from(inflated))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    const MESSAGE: &[u8] = b"POST /master/mesos.internal.RegisterSlaveMessage HTTP/1.1\r\n\
User-Agent: libprocess/slave(1)@10.0.0.5:5051\r\n\
Libprocess-From: slave(1)@10.0.0.5:5051\r\n\
Connection: Keep-Alive\r\n\
Host: \r\n\
Transfer-Encoding: chunked\r\n\
\r\n\
3\r\nabc\r\n0\r\n\r\n";

    const EMPTY_MESSAGE: &[u8] = b"POST /master/mesos.internal.PingSlaveMessage HTTP/1.1\r\n\
User-Agent: libprocess/slave(1)@10.0.0.5:5051\r\n\
Libprocess-From: slave(1)@10.0.0.5:5051\r\n\
Connection: Keep-Alive\r\n\
Host: \r\n\
\r\n";

    const GET_WITH_QUERY: &[u8] =
        b"GET /metrics/snapshot?timeout=5secs&jsonp=cb HTTP/1.1\r\nHost: 10.0.0.1:5050\r\n\r\n";

    const POST_WITH_LENGTH: &[u8] = b"POST /master/api/v1 HTTP/1.1\r\n\
Content-Type: application/json\r\n\
Content-Length: 11\r\n\
\r\n\
{\"a\":\"b c\"}";

    /// What two decodes must agree on (`Request` itself has no `PartialEq`).
    type Summary = (String, Url, Vec<(String, String)>, Bytes, (u8, u8), bool);

    fn summary(r: &Request) -> Summary {
        let headers = r.headers.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        (r.method.clone(), r.url.clone(), headers, r.body.clone(), r.version, r.keep_alive)
    }

    /// Decodes everything in `bytes` handed over at once.
    fn decode_all(bytes: &[u8]) -> Result<Vec<Request>, DecodeError> {
        decode_in_pieces(bytes, &[bytes.len().max(1)])
    }

    /// Feeds `bytes` in pieces of the sizes in `cuts` (cycled), decoding after each piece.
    fn decode_in_pieces(bytes: &[u8], cuts: &[usize]) -> Result<Vec<Request>, DecodeError> {
        let mut decoder = RequestDecoder::new();
        let mut buf = BytesMut::new();
        let mut out = Vec::new();
        let mut rest = bytes;
        let mut sizes = cuts.iter().copied().filter(|&n| n > 0).cycle();
        while !rest.is_empty() {
            let n = sizes.next().unwrap_or(1).min(rest.len());
            buf.extend_from_slice(&rest[..n]);
            rest = &rest[n..];
            while let Some(request) = decoder.decode(&mut buf)? {
                out.push(request);
            }
        }
        if let Some(request) = decoder.decode_eof(&mut buf)? {
            out.push(request);
        }
        Ok(out)
    }

    fn one(bytes: &[u8]) -> Request {
        let mut all = decode_all(bytes).expect("valid request");
        assert_eq!(all.len(), 1, "expected exactly one request");
        all.remove(0)
    }

    fn error_of(bytes: &[u8]) -> DecodeError {
        match decode_all(bytes) {
            Ok(requests) => panic!("expected an error, decoded {} requests", requests.len()),
            Err(e) => e,
        }
    }

    fn gzip(data: &[u8]) -> Vec<u8> {
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        encoder.write_all(data).expect("in-memory write");
        encoder.finish().expect("in-memory write")
    }

    #[test]
    fn libprocess_message_with_chunked_body() {
        let r = one(MESSAGE);
        assert_eq!(r.method, "POST");
        assert_eq!(r.url.path, "/master/mesos.internal.RegisterSlaveMessage");
        assert!(r.url.query.is_empty());
        assert_eq!(r.url.fragment, None);
        assert_eq!(r.version, (1, 1));
        assert!(r.keep_alive);
        assert_eq!(r.client, None);
        assert_eq!(r.headers.get("user-agent"), Some("libprocess/slave(1)@10.0.0.5:5051"));
        assert_eq!(r.headers.get("Libprocess-From"), Some("slave(1)@10.0.0.5:5051"));
        assert_eq!(r.headers.get("Host"), Some(""));
        assert_eq!(r.headers.get("Transfer-Encoding"), Some("chunked"));
        assert_eq!(r.headers.len(), 5);
        assert_eq!(&r.body[..], b"abc");
    }

    #[test]
    fn libprocess_message_with_empty_body() {
        let r = one(EMPTY_MESSAGE);
        assert_eq!(r.url.path, "/master/mesos.internal.PingSlaveMessage");
        assert_eq!(r.headers.get("Host"), Some(""));
        assert!(r.body.is_empty());
        assert!(r.keep_alive);
    }

    #[test]
    fn message_returned_as_soon_as_complete_and_bytes_consumed_exactly() {
        let mut decoder = RequestDecoder::new();
        let mut buf = BytesMut::from(MESSAGE);
        buf.extend_from_slice(b"GET /");
        let r = decoder.decode(&mut buf).expect("valid").expect("complete");
        assert_eq!(&r.body[..], b"abc");
        assert_eq!(&buf[..], b"GET /");
        assert!(decoder.decode(&mut buf).expect("still valid").is_none());
    }

    #[test]
    fn libprocess_from_only_form() {
        let r = one(b"POST /reply HTTP/1.1\r\nLibprocess-From: (1)@127.0.0.1:4000\r\nContent-Length: 2\r\n\r\nhi");
        assert_eq!(r.url.path, "/reply");
        assert_eq!(r.headers.get("Libprocess-From"), Some("(1)@127.0.0.1:4000"));
        assert_eq!(r.headers.get("User-Agent"), None);
        assert_eq!(&r.body[..], b"hi");
    }

    #[test]
    fn user_agent_only_form() {
        let r = one(b"POST /master/ping HTTP/1.1\r\nUser-Agent: libprocess/scheduler-1@10.0.0.9:1234\r\n\r\n");
        assert_eq!(r.headers.get("User-Agent"), Some("libprocess/scheduler-1@10.0.0.9:1234"));
        assert_eq!(r.headers.get("Libprocess-From"), None);
        assert!(r.body.is_empty());
    }

    fn pipeline() -> Vec<u8> {
        [MESSAGE, GET_WITH_QUERY, POST_WITH_LENGTH].concat()
    }

    #[test]
    fn pipelined_requests_come_out_in_order() {
        let all = decode_all(&pipeline()).expect("valid pipeline");
        assert_eq!(all.len(), 3);
        assert_eq!(all[0].url.path, "/master/mesos.internal.RegisterSlaveMessage");
        assert_eq!(&all[0].body[..], b"abc");
        assert_eq!(all[1].method, "GET");
        assert_eq!(all[1].url.path, "/metrics/snapshot");
        assert_eq!(all[1].url.query.get("timeout").map(String::as_str), Some("5secs"));
        assert_eq!(all[1].url.query.get("jsonp").map(String::as_str), Some("cb"));
        assert!(all[1].body.is_empty());
        assert_eq!(all[2].url.path, "/master/api/v1");
        assert_eq!(&all[2].body[..], b"{\"a\":\"b c\"}");
    }

    #[test]
    fn split_at_every_byte_boundary_gives_identical_results() {
        let bytes = pipeline();
        let expected: Vec<Summary> = decode_all(&bytes).expect("valid").iter().map(summary).collect();
        for split in 0..=bytes.len() {
            let mut decoder = RequestDecoder::new();
            let mut buf = BytesMut::from(&bytes[..split]);
            let mut got = Vec::new();
            while let Some(r) = decoder.decode(&mut buf).expect("valid prefix") {
                got.push(summary(&r));
            }
            buf.extend_from_slice(&bytes[split..]);
            while let Some(r) = decoder.decode(&mut buf).expect("valid") {
                got.push(summary(&r));
            }
            assert!(buf.is_empty(), "split {split}: bytes left over");
            assert_eq!(got, expected, "split at byte {split}");
        }
    }

    #[test]
    fn byte_by_byte_feeding_gives_identical_results() {
        let bytes = pipeline();
        let expected: Vec<Summary> = decode_all(&bytes).expect("valid").iter().map(summary).collect();
        let got: Vec<Summary> = decode_in_pieces(&bytes, &[1]).expect("valid").iter().map(summary).collect();
        assert_eq!(got, expected);
    }

    #[test]
    fn head_search_resumes_instead_of_rescanning() {
        let mut decoder = RequestDecoder::new();
        let mut buf = BytesMut::from(&b"GET / HTTP/1.1\r\nHost: a\r\nX-Long: "[..]);
        assert!(decoder.decode(&mut buf).expect("valid").is_none());
        match &decoder.state {
            State::Head { scanned, line_start, request_line } => {
                assert_eq!(*scanned, buf.len());
                assert_eq!(*line_start, 25);
                assert!(request_line.is_some());
            }
            State::Body(_) => panic!("head is not complete"),
        }
    }

    #[test]
    fn content_length_body_is_not_copied() {
        let mut decoder = RequestDecoder::new();
        let mut buf = BytesMut::from(POST_WITH_LENGTH);
        let body_at = buf.as_ptr() as usize + POST_WITH_LENGTH.len() - 11;
        let r = decoder.decode(&mut buf).expect("valid").expect("complete");
        assert_eq!(r.body.as_ptr() as usize, body_at);
    }

    #[test]
    fn single_chunk_body_is_not_copied() {
        let mut decoder = RequestDecoder::new();
        let mut buf = BytesMut::from(MESSAGE);
        let body_at = buf.as_ptr() as usize + MESSAGE.len() - b"abc\r\n0\r\n\r\n".len();
        let r = decoder.decode(&mut buf).expect("valid").expect("complete");
        assert_eq!(r.body.as_ptr() as usize, body_at);
    }

    #[test]
    fn multi_chunk_body_with_extensions() {
        let r = one(b"POST /p HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n\
5;name=value\r\nhello\r\n\
1 ; spaced\r\n \r\n\
A\r\n0123456789\r\n\
000\r\n\r\n");
        assert_eq!(&r.body[..], b"hello 0123456789");
    }

    #[test]
    fn chunk_size_is_hex_in_either_case() {
        let body = vec![b'x'; 0x1af];
        let mut bytes = b"POST /p HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n1aF\r\n".to_vec();
        bytes.extend_from_slice(&body);
        bytes.extend_from_slice(b"\r\n0\r\n\r\n");
        assert_eq!(&one(&bytes).body[..], &body[..]);
    }

    #[test]
    fn chunked_takes_precedence_over_content_length() {
        let r =
            one(b"POST /p HTTP/1.1\r\nContent-Length: 100\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n");
        assert_eq!(&r.body[..], b"ok");
    }

    #[test]
    fn transfer_encoding_match_is_case_insensitive_and_token_based() {
        let r = one(b"POST /p HTTP/1.1\r\nTransfer-Encoding: CHUNKED\r\n\r\n1\r\nz\r\n0\r\n\r\n");
        assert_eq!(&r.body[..], b"z");
        let r = one(b"POST /p HTTP/1.1\r\nTransfer-Encoding: gzip, Chunked\r\n\r\n1\r\nz\r\n0\r\n\r\n");
        assert_eq!(&r.body[..], b"z");
        // Not chunked: no body, and the next bytes are the next request.
        let all = decode_all(b"POST /p HTTP/1.1\r\nTransfer-Encoding: identity\r\n\r\nGET /q HTTP/1.1\r\n\r\n")
            .expect("valid");
        assert_eq!(all.len(), 2);
        assert!(all[0].body.is_empty());
        assert_eq!(all[1].url.path, "/q");
    }

    #[test]
    fn gzip_body_with_content_length_is_inflated() {
        let plain = b"a message body that is compressed on the wire".repeat(20);
        let packed = gzip(&plain);
        let mut bytes =
            format!("POST /master/m HTTP/1.1\r\nContent-Encoding: gzip\r\nContent-Length: {}\r\n\r\n", packed.len())
                .into_bytes();
        bytes.extend_from_slice(&packed);
        let r = one(&bytes);
        assert_eq!(&r.body[..], &plain[..]);
        assert_eq!(r.headers.get("Content-Length"), Some(plain.len().to_string().as_str()));
        assert_eq!(r.headers.get("Content-Encoding"), Some("gzip"));
    }

    #[test]
    fn gzip_body_split_over_chunks_is_inflated() {
        let plain = b"0123456789".repeat(50);
        let packed = gzip(&plain);
        let (first, second) = packed.split_at(packed.len() / 2);
        let mut bytes = b"POST /m HTTP/1.1\r\nContent-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n".to_vec();
        for piece in [first, second] {
            bytes.extend_from_slice(format!("{:x}\r\n", piece.len()).as_bytes());
            bytes.extend_from_slice(piece);
            bytes.extend_from_slice(b"\r\n");
        }
        bytes.extend_from_slice(b"0\r\n\r\n");
        let r = one(&bytes);
        assert_eq!(&r.body[..], &plain[..]);
    }

    #[test]
    fn gzip_failures_are_errors() {
        let corrupt = b"POST /m HTTP/1.1\r\nContent-Encoding: gzip\r\nContent-Length: 5\r\n\r\nnot z";
        assert!(matches!(error_of(corrupt), DecodeError::Gzip(_)));

        let empty = b"POST /m HTTP/1.1\r\nContent-Encoding: gzip\r\n\r\n";
        assert!(matches!(error_of(empty), DecodeError::Gzip(_)));

        let mut truncated = gzip(b"hello world");
        truncated.truncate(truncated.len() - 4);
        let mut bytes =
            format!("POST /m HTTP/1.1\r\nContent-Encoding: gzip\r\nContent-Length: {}\r\n\r\n", truncated.len())
                .into_bytes();
        bytes.extend_from_slice(&truncated);
        assert!(matches!(error_of(&bytes), DecodeError::Gzip(_)));

        let mut trailing = gzip(b"hello world");
        trailing.extend_from_slice(b"junk");
        let mut bytes =
            format!("POST /m HTTP/1.1\r\nContent-Encoding: gzip\r\nContent-Length: {}\r\n\r\n", trailing.len())
                .into_bytes();
        bytes.extend_from_slice(&trailing);
        assert!(matches!(error_of(&bytes), DecodeError::Gzip(_)));
    }

    #[test]
    fn other_content_encodings_are_left_alone() {
        let r = one(b"POST /m HTTP/1.1\r\nContent-Encoding: GZIP\r\nContent-Length: 3\r\n\r\nraw");
        assert_eq!(&r.body[..], b"raw");
    }

    /// A head of exactly `total` bytes (blank line included).
    fn head_of_size(total: usize) -> Vec<u8> {
        let start = b"GET / HTTP/1.1\r\nX-Pad: ";
        let end = b"\r\n\r\n";
        let mut head = start.to_vec();
        head.resize(total - end.len(), b'p');
        head.extend_from_slice(end);
        assert_eq!(head.len(), total);
        head
    }

    #[test]
    fn head_exactly_at_the_limit_is_accepted() {
        let r = one(&head_of_size(MAX_HEAD_BYTES));
        assert_eq!(r.headers.get("X-Pad").map(str::len), Some(MAX_HEAD_BYTES - 27));
    }

    #[test]
    fn head_one_byte_over_the_limit_is_rejected() {
        assert!(matches!(error_of(&head_of_size(MAX_HEAD_BYTES + 1)), DecodeError::HeadTooLarge));
    }

    #[test]
    fn oversize_head_fails_while_still_streaming() {
        let mut decoder = RequestDecoder::new();
        let mut buf = BytesMut::from(&b"GET / HTTP/1.1\r\n"[..]);
        let line = b"X-Filler: 0123456789012345678901234567890123456789\r\n";
        let mut failed_at = None;
        for _ in 0..(81 * 1024 / line.len() + 1) {
            buf.extend_from_slice(line);
            match decoder.decode(&mut buf) {
                Ok(None) => assert!(buf.len() <= MAX_HEAD_BYTES),
                Ok(Some(_)) => panic!("a head without its blank line cannot complete"),
                Err(DecodeError::HeadTooLarge) => {
                    failed_at = Some(buf.len());
                    break;
                }
                Err(e) => panic!("unexpected error {e}"),
            }
        }
        let failed_at = failed_at.expect("the limit must trip before the blank line");
        assert!(failed_at > MAX_HEAD_BYTES && failed_at <= MAX_HEAD_BYTES + line.len());
    }

    #[test]
    fn oversize_head_in_one_buffer_fails() {
        let mut bytes = b"GET / HTTP/1.1\r\nX-Big: ".to_vec();
        bytes.resize(81 * 1024, b'a');
        assert!(matches!(error_of(&bytes), DecodeError::HeadTooLarge));
    }

    #[test]
    fn custom_head_limit() {
        let mut decoder = RequestDecoder::with_max_head(64);
        let mut buf = BytesMut::from(&head_of_size(64)[..]);
        assert!(decoder.decode(&mut buf).expect("fits").is_some());
        let mut decoder = RequestDecoder::with_max_head(64);
        let mut buf = BytesMut::from(&head_of_size(65)[..]);
        assert!(matches!(decoder.decode(&mut buf), Err(DecodeError::HeadTooLarge)));
    }

    #[test]
    fn endless_chunk_extension_is_refused() {
        let mut decoder = RequestDecoder::with_max_head(128);
        let mut buf = BytesMut::from(&b"POST /p HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5;"[..]);
        assert!(decoder.decode(&mut buf).expect("valid so far").is_none());
        buf.extend_from_slice(&[b'e'; 200]);
        assert!(matches!(decoder.decode(&mut buf), Err(DecodeError::BadChunk)));
    }

    #[test]
    fn trailers_are_rejected() {
        let bytes = b"POST /p HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n1\r\na\r\n0\r\nX-Trailer: 1\r\n\r\n";
        assert!(matches!(error_of(bytes), DecodeError::Trailers));
        let mut decoder = RequestDecoder::new();
        let mut buf = BytesMut::from(&bytes[..bytes.len() - 16]);
        assert!(decoder.decode(&mut buf).expect("valid so far").is_none());
        buf.extend_from_slice(&bytes[bytes.len() - 16..]);
        assert!(matches!(decoder.decode(&mut buf), Err(DecodeError::Trailers)));
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        let cases: &[&[u8]] = &[
            b"\0",
            b"\0\0\0\0GET / HTTP/1.1\r\n\r\n",
            b"\xff\xfe\xfd",
            b"get / HTTP/1.1\r\n\r\n",
            b"FOO / HTTP/1.1\r\n\r\n",
            b"GET\t/ HTTP/1.1\r\n\r\n",
            b"GET / HTTP/1.1\r\nNoColonHere\r\n\r\n",
            b"GET / HTTP/1.1\r\n: no name\r\n\r\n",
            b"GET / HTTP/1.1\r\nBad(Name): x\r\n\r\n",
            b"GET / HTTP/1.1\r\nX: a\0b\r\n\r\n",
            b"GET / HTTP/1.1\r\nX: a\rb\r\n\r\n",
            b"GET /\0 HTTP/1.1\r\n\r\n",
            b"GET / HTTP/1.1\r\n\rX\r\n\r\n",
            b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
            b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n\r\n",
            b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n-1\r\n",
            b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3x\r\n",
            b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffffff\r\n",
            b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nabc\r\n",
            b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n1\r\na\r\n0\r\n\rX",
            b"POST / HTTP/1.1\r\nContent-Length: -1\r\n\r\n",
            b"POST / HTTP/1.1\r\nContent-Length: abc\r\n\r\n",
            b"POST / HTTP/1.1\r\nContent-Length: 1 2\r\n\r\n",
            b"POST / HTTP/1.1\r\nContent-Length:\r\n\r\n",
            b"POST / HTTP/1.1\r\nContent-Length: 99999999999999999999999\r\n\r\n",
            b"POST / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\nx",
        ];
        for case in cases {
            assert!(decode_all(case).is_err(), "accepted {:?}", String::from_utf8_lossy(case));
        }
    }

    #[test]
    fn garbage_fails_on_its_first_bytes() {
        for start in [&b"\0"[..], b"X", b"GETT", b"POSTER", b"get", b"\x16\x03\x01"] {
            let mut decoder = RequestDecoder::new();
            let mut buf = BytesMut::from(start);
            assert!(matches!(decoder.decode(&mut buf), Err(DecodeError::BadRequestLine)), "{start:?}");
        }
        let mut decoder = RequestDecoder::new();
        let mut buf = BytesMut::from(&b"M-SEA"[..]);
        assert!(decoder.decode(&mut buf).expect("a method prefix").is_none());
    }

    #[test]
    fn specific_error_kinds() {
        assert!(matches!(error_of(b"GET / HTTP/1.1\r\nNoColon\r\n\r\n"), DecodeError::BadHeader));
        assert!(matches!(error_of(b"POST / HTTP/1.1\r\nContent-Length: -5\r\n\r\n"), DecodeError::BadContentLength));
        assert!(matches!(
            error_of(b"POST / HTTP/1.1\r\nContent-Length: 18446744073709551616\r\n\r\n"),
            DecodeError::BadContentLength
        ));
        assert!(matches!(
            error_of(b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n"),
            DecodeError::BadChunk
        ));
        assert!(matches!(
            error_of(b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffffff\r\n"),
            DecodeError::BadChunk
        ));
        assert!(matches!(error_of(b"GET /a\x7f HTTP/1.1\r\n\r\n"), DecodeError::BadUrl(_)));
        assert!(matches!(error_of(b"GET / HTTP/1.1 \r\n\r\n"), DecodeError::BadRequestLine));
    }

    #[test]
    fn random_looking_bytes_do_not_panic() {
        let mut state = 0x2545_f491_4f6c_dd1d_u64;
        for _ in 0..200 {
            let bytes: Vec<u8> = (0..300)
                .map(|_| {
                    state ^= state << 13;
                    state ^= state >> 7;
                    state ^= state << 17;
                    state as u8
                })
                .collect();
            let _ = decode_all(&bytes);
        }
    }

    #[test]
    fn http11_keep_alive_rules() {
        assert!(one(b"GET / HTTP/1.1\r\n\r\n").keep_alive);
        assert!(!one(b"GET / HTTP/1.1\r\nConnection: close\r\n\r\n").keep_alive);
        assert!(!one(b"GET / HTTP/1.1\r\nConnection: CLOSE\r\n\r\n").keep_alive);
        assert!(!one(b"GET / HTTP/1.1\r\nConnection: TE, close\r\n\r\n").keep_alive);
        assert!(one(b"GET / HTTP/1.1\r\nConnection: closed\r\n\r\n").keep_alive);
        assert!(one(b"GET / HTTP/1.1\r\nConnection: Keep-Alive\r\n\r\n").keep_alive);
    }

    #[test]
    fn http10_keep_alive_rules() {
        let r = one(b"GET / HTTP/1.0\r\n\r\n");
        assert_eq!(r.version, (1, 0));
        assert!(!r.keep_alive);
        assert!(one(b"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n").keep_alive);
        assert!(one(b"GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n").keep_alive);
        assert!(one(b"GET / HTTP/1.0\r\nConnection: foo, KEEP-ALIVE\r\n\r\n").keep_alive);
        assert!(!one(b"GET / HTTP/1.0\r\nConnection: close\r\n\r\n").keep_alive);
        assert!(!one(b"GET / HTTP/1.0\r\nConnection: keep-alive-ish\r\n\r\n").keep_alive);
    }

    #[test]
    fn versions() {
        let r = one(b"GET / HTTP/2.0\r\n\r\n");
        assert_eq!(r.version, (2, 0));
        assert!(!r.keep_alive, "http-parser applies the 1.0 rule unless both numbers are non-zero");
        assert_eq!(one(b"GET / HTTP/1.12\r\n\r\n").version, (1, 12));
        for bad in [
            &b"GET /\r\n\r\n"[..],
            b"GET / \r\n\r\n",
            b"GET / HTTP/\r\n\r\n",
            b"GET / HTTP/1\r\n\r\n",
            b"GET / HTTP/1.\r\n\r\n",
            b"GET / HTTP/0.9\r\n\r\n",
            b"GET / HTTP/1.1000\r\n\r\n",
            b"GET / HTTP/256.1\r\n\r\n",
            b"GET / HTXP/1.1\r\n\r\n",
            b"GET / HTTP/1.1x\r\n\r\n",
        ] {
            assert!(matches!(error_of(bad), DecodeError::BadRequestLine), "{:?}", String::from_utf8_lossy(bad));
        }
    }

    #[test]
    fn extra_spaces_in_request_line_are_tolerated() {
        let r = one(b"GET   /x   HTTP/1.1\r\n\r\n");
        assert_eq!(r.url.path, "/x");
    }

    #[test]
    fn every_known_method_is_accepted() {
        for method in METHODS {
            let r = one(format!("{method} /x HTTP/1.1\r\n\r\n").as_bytes());
            assert_eq!(r.method, method);
        }
    }

    #[test]
    fn query_is_decoded() {
        let r = one(b"GET /p?a=1&b=x%20y&c=u+v&flag&a=2;d=%2B HTTP/1.1\r\n\r\n");
        let q = &r.url.query;
        assert_eq!(q.get("a").map(String::as_str), Some("2"));
        assert_eq!(q.get("b").map(String::as_str), Some("x y"));
        assert_eq!(q.get("c").map(String::as_str), Some("u v"));
        assert_eq!(q.get("flag").map(String::as_str), Some(""));
        assert_eq!(q.get("d").map(String::as_str), Some("+"));
        assert_eq!(r.url.path, "/p");
    }

    #[test]
    fn bad_percent_escape_in_query_is_an_error() {
        assert!(matches!(error_of(b"GET /p?a=%zz HTTP/1.1\r\n\r\n"), DecodeError::BadQuery(_)));
        assert!(matches!(error_of(b"GET /p?a=%2 HTTP/1.1\r\n\r\n"), DecodeError::BadQuery(_)));
        // Detected when the head completes, before the body is awaited.
        let mut decoder = RequestDecoder::new();
        let mut buf = BytesMut::from(&b"POST /p?%g HTTP/1.1\r\nContent-Length: 10\r\n\r\n"[..]);
        assert!(matches!(decoder.decode(&mut buf), Err(DecodeError::BadQuery(_))));
    }

    #[test]
    fn path_is_kept_raw() {
        let r = one(b"POST /slave%281%29/x%2Fy HTTP/1.1\r\n\r\n");
        assert_eq!(r.url.path, "/slave%281%29/x%2Fy");
        let r = one(b"GET /a+b/%zz HTTP/1.1\r\n\r\n");
        assert_eq!(r.url.path, "/a+b/%zz");
    }

    #[test]
    fn fragment_is_kept_raw() {
        let r = one(b"GET /p?q=1#frag%20?x#y HTTP/1.1\r\n\r\n");
        assert_eq!(r.url.path, "/p");
        assert_eq!(r.url.query.get("q").map(String::as_str), Some("1"));
        assert_eq!(r.url.fragment.as_deref(), Some("frag%20?x#y"));
        let r = one(b"GET /p#only HTTP/1.1\r\n\r\n");
        assert_eq!(r.url.fragment.as_deref(), Some("only"));
        assert!(r.url.query.is_empty());
        assert_eq!(one(b"GET /p# HTTP/1.1\r\n\r\n").url.fragment, None);
        assert!(one(b"GET /p? HTTP/1.1\r\n\r\n").url.query.is_empty());
    }

    #[test]
    fn absolute_form_target_keeps_only_the_path() {
        let r = one(b"GET http://10.0.0.1:5050/master/state?jsonp=f HTTP/1.1\r\n\r\n");
        assert_eq!(r.url.path, "/master/state");
        assert_eq!(r.url.query.get("jsonp").map(String::as_str), Some("f"));
        let r = one(b"GET http://host:80 HTTP/1.1\r\n\r\n");
        assert_eq!(r.url.path, "");
        let r = one(b"GET https://user@host?x=1 HTTP/1.1\r\n\r\n");
        assert_eq!(r.url.path, "");
        assert_eq!(r.url.query.get("x").map(String::as_str), Some("1"));
        assert!(matches!(error_of(b"GET http:///x HTTP/1.1\r\n\r\n"), DecodeError::BadUrl(_)));
    }

    #[test]
    fn targets_without_leading_slash_are_stored_for_the_caller() {
        assert_eq!(one(b"OPTIONS * HTTP/1.1\r\n\r\n").url.path, "*");
        assert_eq!(one(b"GET foo HTTP/1.1\r\n\r\n").url.path, "foo");
        assert_eq!(one(b"GET foo:bar?a=b HTTP/1.1\r\n\r\n").url.path, "foo:bar");
    }

    #[test]
    fn bare_lf_line_endings_are_tolerated() {
        let r = one(b"POST /p HTTP/1.1\nHost: x\nTransfer-Encoding: chunked\n\n3\nabc\n2;e\nde\n0\n\n");
        assert_eq!(&r.body[..], b"abcde");
        assert_eq!(r.headers.get("Host"), Some("x"));
        let r = one(b"GET /q HTTP/1.0\r\nA: 1\n\r\n");
        assert_eq!(r.headers.get("A"), Some("1"));
        let r = one(b"GET /q HTTP/1.1\nA: 1\r\n\n");
        assert_eq!(r.headers.get("A"), Some("1"));
    }

    #[test]
    fn empty_lines_before_a_request_are_skipped() {
        let all = decode_all(b"\r\n\r\n\nGET /a HTTP/1.1\r\n\r\n\r\nGET /b HTTP/1.1\r\n\r\n\r\n").expect("valid");
        assert_eq!(all.len(), 2);
        assert_eq!(all[1].url.path, "/b");
        let mut decoder = RequestDecoder::new();
        let mut buf = BytesMut::from(&b"\r\n\r\n"[..]);
        assert!(decoder.decode(&mut buf).expect("nothing yet").is_none());
        assert!(buf.is_empty(), "blank lines are not buffered");
    }

    #[test]
    fn header_values_are_trimmed_and_may_be_empty() {
        let r = one(b"GET / HTTP/1.1\r\nA:   spaced\t \r\nB:\r\nC: \t\r\nD:x\r\n\r\n");
        assert_eq!(r.headers.get("A"), Some("spaced"));
        assert_eq!(r.headers.get("B"), Some(""));
        assert_eq!(r.headers.get("C"), Some(""));
        assert_eq!(r.headers.get("D"), Some("x"));
    }

    #[test]
    fn header_value_keeps_inner_colons_and_high_bytes() {
        let r = one(b"GET / HTTP/1.1\r\nLibprocess-From: a@1.2.3.4:5\r\nX: caf\xc3\xa9\r\n\r\n");
        assert_eq!(r.headers.get("Libprocess-From"), Some("a@1.2.3.4:5"));
        assert_eq!(r.headers.get("X"), Some("café"));
    }

    #[test]
    fn duplicate_headers_last_one_wins() {
        let r = one(b"GET / HTTP/1.1\r\nX-A: 1\r\nx-a: 2\r\nX-B: 3\r\n\r\n");
        assert_eq!(r.headers.get("X-A"), Some("2"));
        assert_eq!(r.headers.len(), 2);
    }

    #[test]
    fn obsolete_line_folding_is_joined_with_a_space() {
        let r = one(b"GET / HTTP/1.1\r\nX-A: one\r\n   two  \r\n\tthree\r\nX-B:\r\n b\r\n\r\n");
        assert_eq!(r.headers.get("X-A"), Some("one two three"));
        assert_eq!(r.headers.get("X-B"), Some("b"));
        assert!(matches!(error_of(b"GET / HTTP/1.1\r\n folded: nothing\r\n\r\n"), DecodeError::BadHeader));
    }

    #[test]
    fn folded_connection_header_counts() {
        assert!(!one(b"GET / HTTP/1.1\r\nConnection: te,\r\n close\r\n\r\n").keep_alive);
    }

    #[test]
    fn space_before_colon_is_dropped_from_the_name() {
        let r = one(b"POST / HTTP/1.1\r\nContent-Length : 2\r\n\r\nok");
        assert_eq!(&r.body[..], b"ok");
        assert_eq!(r.headers.get("Content-Length"), Some("2"));
    }

    #[test]
    fn content_length_zero_and_absent_mean_no_body() {
        let all =
            decode_all(b"POST /a HTTP/1.1\r\nContent-Length: 0\r\n\r\nPOST /b HTTP/1.1\r\n\r\nGET /c HTTP/1.1\r\n\r\n")
                .expect("valid");
        assert_eq!(all.len(), 3);
        assert!(all.iter().all(|r| r.body.is_empty()));
        assert_eq!(one(b"POST /a HTTP/1.1\r\nContent-Length: 007\r\n\r\n1234567").body.len(), 7);
    }

    #[test]
    fn errors_poison_the_decoder() {
        let mut decoder = RequestDecoder::new();
        let mut buf = BytesMut::from(&b"BAD / HTTP/1.1\r\n\r\n"[..]);
        assert!(decoder.decode(&mut buf).is_err());
        let mut fresh = BytesMut::from(&b"GET / HTTP/1.1\r\n\r\n"[..]);
        assert!(matches!(decoder.decode(&mut fresh), Err(DecodeError::Poisoned)));
        assert!(matches!(decoder.decode_eof(&mut fresh), Err(DecodeError::Poisoned)));
    }

    #[test]
    fn end_of_stream() {
        // Clean end between requests.
        let mut decoder = RequestDecoder::new();
        let mut buf = BytesMut::from(GET_WITH_QUERY);
        assert!(decoder.decode_eof(&mut buf).expect("valid").is_some());
        assert!(decoder.decode_eof(&mut buf).expect("clean end").is_none());

        // Blank lines only.
        let mut decoder = RequestDecoder::new();
        let mut buf = BytesMut::from(&b"\r\n"[..]);
        assert!(decoder.decode_eof(&mut buf).expect("clean end").is_none());

        // In the head.
        let mut decoder = RequestDecoder::new();
        let mut buf = BytesMut::from(&b"GET / HTT"[..]);
        assert!(matches!(decoder.decode_eof(&mut buf), Err(DecodeError::Truncated)));

        // In the body, after every byte already received was consumed.
        let mut decoder = RequestDecoder::new();
        let mut buf = BytesMut::from(&b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n1\r\na\r\n"[..]);
        assert!(decoder.decode(&mut buf).expect("valid so far").is_none());
        assert!(buf.is_empty());
        assert!(matches!(decoder.decode_eof(&mut buf), Err(DecodeError::Truncated)));
    }

    #[test]
    fn shrunken_buffer_does_not_panic() {
        let mut decoder = RequestDecoder::new();
        let mut buf = BytesMut::from(&b"GET / HTTP/1.1\r\nHost: abcdef"[..]);
        assert!(decoder.decode(&mut buf).expect("valid so far").is_none());
        buf.clear();
        buf.extend_from_slice(b"GET /z HTTP/1.1\r\n\r\n");
        let r = decoder.decode(&mut buf).expect("valid").expect("complete");
        assert_eq!(r.url.path, "/z");
    }

    mod props {
        use super::*;
        use proptest::prelude::*;

        #[derive(Debug, Clone)]
        enum Framing {
            Nothing,
            Length,
            /// Chunk sizes (the last one takes the remainder) and whether to add extensions.
            Chunked(Vec<usize>, bool),
        }

        #[derive(Debug, Clone)]
        struct Spec {
            method: &'static str,
            path: String,
            query: Vec<(String, String)>,
            fragment: Option<String>,
            minor: u8,
            connection: Option<&'static str>,
            headers: Vec<(String, String)>,
            body: Vec<u8>,
            gzip: bool,
            framing: Framing,
            bare_lf: bool,
        }

        impl Spec {
            fn wire_body(&self) -> Vec<u8> {
                if self.gzip {
                    gzip(&self.body)
                } else {
                    self.body.clone()
                }
            }

            fn encode(&self) -> Vec<u8> {
                let eol = if self.bare_lf { "\n" } else { "\r\n" };
                let mut target = self.path.clone();
                if !self.query.is_empty() {
                    let pairs: Vec<String> = self
                        .query
                        .iter()
                        .map(|(k, v)| format!("{}={}", crate::http::encode(k), crate::http::encode(v)))
                        .collect();
                    target.push('?');
                    target.push_str(&pairs.join("&"));
                }
                if let Some(f) = &self.fragment {
                    target.push('#');
                    target.push_str(f);
                }
                let mut out = format!("{} {} HTTP/1.{}{eol}", self.method, target, self.minor);
                for (k, v) in &self.headers {
                    out.push_str(&format!("{k}: {v}{eol}"));
                }
                if let Some(c) = self.connection {
                    out.push_str(&format!("Connection: {c}{eol}"));
                }
                if self.gzip {
                    out.push_str(&format!("Content-Encoding: gzip{eol}"));
                }
                let body = self.wire_body();
                let mut out = out.into_bytes();
                match &self.framing {
                    Framing::Nothing if body.is_empty() => {
                        out.extend_from_slice(eol.as_bytes());
                    }
                    Framing::Nothing | Framing::Length => {
                        out.extend_from_slice(format!("Content-Length: {}{eol}{eol}", body.len()).as_bytes());
                        out.extend_from_slice(&body);
                    }
                    Framing::Chunked(sizes, extensions) => {
                        out.extend_from_slice(format!("Transfer-Encoding: chunked{eol}{eol}").as_bytes());
                        let mut rest = &body[..];
                        let mut sizes = sizes.iter();
                        while !rest.is_empty() {
                            let n = sizes.next().copied().unwrap_or(rest.len()).clamp(1, rest.len());
                            let ext = if *extensions { ";x=y" } else { "" };
                            out.extend_from_slice(format!("{n:x}{ext}{eol}").as_bytes());
                            out.extend_from_slice(&rest[..n]);
                            out.extend_from_slice(eol.as_bytes());
                            rest = &rest[n..];
                        }
                        out.extend_from_slice(format!("0{eol}{eol}").as_bytes());
                    }
                }
                out
            }

            fn check(&self, r: &Request) {
                assert_eq!(r.method, self.method);
                assert_eq!(r.url.path, self.path);
                let mut query = std::collections::BTreeMap::new();
                for (k, v) in &self.query {
                    query.insert(k.clone(), v.clone());
                }
                assert_eq!(r.url.query, query);
                assert_eq!(r.url.fragment, self.fragment);
                assert_eq!(r.version, (1, self.minor));
                let keep_alive = match (self.minor, self.connection) {
                    (1, Some("close")) => false,
                    (1, _) => true,
                    (_, c) => c == Some("keep-alive"),
                };
                assert_eq!(r.keep_alive, keep_alive);
                let mut expected = Headers::new();
                for (k, v) in &self.headers {
                    expected.set(k.clone(), v.clone());
                }
                for (k, v) in expected.iter() {
                    assert_eq!(r.headers.get(k), Some(v), "header {k}");
                }
                assert_eq!(&r.body[..], &self.body[..]);
                assert_eq!(r.client, None);
            }
        }

        fn spec() -> impl Strategy<Value = Spec> {
            let method = prop::sample::select(METHODS.to_vec());
            let path = "(/[a-zA-Z0-9._~()%+-]{0,8}){1,4}";
            let query = prop::collection::vec(("[a-z]{1,4}", "[ -~]{0,6}"), 0..4);
            let fragment = prop::option::of("[a-zA-Z0-9/?#%]{1,6}");
            let connection = prop::option::of(prop::sample::select(vec!["close", "keep-alive", "Upgrade-ish"]));
            let headers = prop::collection::vec(("X-[A-Za-z0-9-]{1,8}", "([!-~]([ -~]{0,10}[!-~])?)?"), 0..5);
            let body = prop::collection::vec(any::<u8>(), 0..300);
            let framing = prop_oneof![
                Just(Framing::Nothing),
                Just(Framing::Length),
                (prop::collection::vec(1usize..80, 0..6), any::<bool>())
                    .prop_map(|(sizes, ext)| Framing::Chunked(sizes, ext)),
            ];
            (
                (method, path, query, fragment, 0u8..2, connection),
                (headers, body, any::<bool>(), framing, any::<bool>()),
            )
                .prop_map(
                    |((method, path, query, fragment, minor, connection), (headers, body, gzip, framing, bare_lf))| {
                        Spec { method, path, query, fragment, minor, connection, headers, body, gzip, framing, bare_lf }
                    },
                )
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(256))]

            #[test]
            fn random_bytes_never_panic(
                bytes in prop::collection::vec(any::<u8>(), 0..600),
                cuts in prop::collection::vec(1usize..50, 1..20),
            ) {
                let _ = decode_in_pieces(&bytes, &cuts);
            }

            #[test]
            fn random_bytes_after_a_valid_start_never_panic(
                start in prop::sample::select(vec![
                    &b"GET / HTTP/1.1\r\n"[..],
                    b"POST /m HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n",
                    b"POST /m HTTP/1.1\r\nContent-Encoding: gzip\r\nContent-Length: 20\r\n\r\n",
                ]),
                tail in prop::collection::vec(any::<u8>(), 0..300),
                cuts in prop::collection::vec(1usize..50, 1..20),
            ) {
                let _ = decode_in_pieces(&[start, &tail[..]].concat(), &cuts);
            }

            #[test]
            fn mutated_valid_requests_never_panic(
                spec in spec(),
                flips in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..6),
                cuts in prop::collection::vec(1usize..50, 1..20),
            ) {
                let mut bytes = spec.encode();
                for (at, byte) in flips {
                    let i = at.index(bytes.len());
                    bytes[i] = byte;
                }
                let _ = decode_in_pieces(&bytes, &cuts);
            }

            #[test]
            fn valid_requests_round_trip_in_random_pieces(
                specs in prop::collection::vec(spec(), 1..4),
                cuts in prop::collection::vec(1usize..64, 1..30),
            ) {
                let bytes: Vec<u8> = specs.iter().flat_map(|s| s.encode()).collect();
                let decoded = decode_in_pieces(&bytes, &cuts)
                    .map_err(|e| TestCaseError::fail(format!("{e}")))?;
                prop_assert_eq!(decoded.len(), specs.len());
                for (spec, request) in specs.iter().zip(&decoded) {
                    spec.check(request);
                }
                let whole: Vec<Summary> = decode_all(&bytes)
                    .map_err(|e| TestCaseError::fail(format!("{e}")))?
                    .iter()
                    .map(summary)
                    .collect();
                let pieces: Vec<Summary> = decoded.iter().map(summary).collect();
                prop_assert_eq!(whole, pieces);
            }
        }
    }
}
