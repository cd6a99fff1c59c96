//! A small HTTP/1.1 client for the fetcher: `GET` a URL into a file, following redirects, with a stall timeout; mirrors `net::download` in `3rdparty/stout/include/stout/net.hpp` (libcurl there).
//!
//! Plain `http://` only: the workspace carries no TLS library, so `https://` (and `ftp://`,
//! `ftps://`) URIs fail with a clear error instead of being fetched. As with libcurl's
//! `CURLOPT_FOLLOWLOCATION`, redirects are followed; a final status other than 200 is an
//! error naming the code (C++ "received HTTP return code"). The stall timeout plays
//! libcurl's low-speed limit (`--fetcher_stall_timeout`): no byte for that long fails the
//! download.

use std::path::Path;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

/// Redirects followed before giving up.
const MAX_REDIRECTS: usize = 20;
/// Longest status or header line accepted.
const MAX_LINE: u64 = 16 * 1024;
/// Most header lines accepted in one response.
const MAX_HEADERS: usize = 256;

/// A parsed `http://` URL.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Url {
    pub host: String,
    pub port: u16,
    /// Path and query, percent-encoded where the request line needs it.
    pub target: String,
}

impl Url {
    /// The `Host` header: the host (bracketed if IPv6) and the port unless it is 80.
    fn host_header(&self) -> String {
        let host = if self.host.contains(':') { format!("[{}]", self.host) } else { self.host.clone() };
        if self.port == 80 {
            host
        } else {
            format!("{host}:{}", self.port)
        }
    }
}

/// Parses `uri`; only `http://` is accepted.
pub fn parse_url(uri: &str) -> Result<Url, String> {
    let lower = uri.to_ascii_lowercase();
    let rest = if lower.starts_with("http://") {
        &uri["http://".len()..]
    } else if lower.starts_with("https://") || lower.starts_with("ftps://") {
        return Err("HTTPS and FTPS are not supported: this build has no TLS library".into());
    } else if lower.starts_with("ftp://") {
        return Err("FTP is not supported".into());
    } else {
        return Err(format!("Not an HTTP URI: '{uri}'"));
    };
    let rest = rest.split('#').next().unwrap_or_default();
    let end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, path) = rest.split_at(end);
    if authority.contains('@') {
        return Err("Credentials in URIs are not supported".into());
    }
    let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
        let close = v6.find(']').ok_or_else(|| format!("Malformed host in '{uri}'"))?;
        let after = &v6[close + 1..];
        let port = match after.strip_prefix(':') {
            Some(port) => Some(port),
            None if after.is_empty() => None,
            None => return Err(format!("Malformed host in '{uri}'")),
        };
        (v6[..close].to_string(), port)
    } else {
        match authority.rsplit_once(':') {
            Some((host, port)) => (host.to_string(), Some(port)),
            None => (authority.to_string(), None),
        }
    };
    if host.is_empty() {
        return Err(format!("Missing host in '{uri}'"));
    }
    let port = match port {
        None | Some("") => 80,
        Some(port) => port.parse::<u16>().map_err(|_| format!("Bad port in '{uri}'"))?,
    };
    let target = if path.is_empty() {
        "/".to_string()
    } else if path.starts_with('?') {
        format!("/{path}")
    } else {
        path.to_string()
    };
    Ok(Url { host, port, target: encode_target(&target) })
}

/// Percent-encodes the bytes a request line cannot carry (spaces, controls, non-ASCII and
/// a few delimiters); existing `%XX` escapes are kept.
fn encode_target(target: &str) -> String {
    let mut out = String::with_capacity(target.len());
    for byte in target.bytes() {
        let keep =
            byte.is_ascii_graphic() && !matches!(byte, b'"' | b'<' | b'>' | b'\\' | b'^' | b'`' | b'{' | b'|' | b'}');
        if keep {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// Resolves a `Location` header against the URL it came from.
fn resolve(base: &Url, location: &str) -> Result<Url, String> {
    let lower = location.to_ascii_lowercase();
    if lower.starts_with("http://") || lower.starts_with("https://") || lower.starts_with("ftp") {
        return parse_url(location);
    }
    if let Some(rest) = location.strip_prefix("//") {
        return parse_url(&format!("http://{rest}"));
    }
    let target = if location.starts_with('/') {
        location.to_string()
    } else {
        let path = base.target.split('?').next().unwrap_or("/");
        let dir = &path[..path.rfind('/').map_or(0, |i| i + 1)];
        format!("{}{location}", if dir.is_empty() { "/" } else { dir })
    };
    Ok(Url { host: base.host.clone(), port: base.port, target: encode_target(&target) })
}

/// Downloads `uri` into `destination` (created or truncated once a 200 arrives).
pub async fn download(uri: &str, destination: &Path, stall_timeout: Duration) -> Result<(), String> {
    let mut url = parse_url(uri).map_err(|error| format!("Error downloading resource: {error}"))?;
    for _ in 0..=MAX_REDIRECTS {
        match get(&url, destination, stall_timeout).await? {
            Outcome::Done => return Ok(()),
            Outcome::Redirect(location) => {
                url = resolve(&url, &location).map_err(|error| format!("Error downloading resource: {error}"))?;
            }
        }
    }
    Err(format!("Error downloading resource: more than {MAX_REDIRECTS} redirects"))
}

enum Outcome {
    Done,
    Redirect(String),
}

async fn stalled<T>(stall: Duration, work: impl std::future::Future<Output = std::io::Result<T>>) -> Result<T, String> {
    match tokio::time::timeout(stall, work).await {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(error)) => Err(format!("Error downloading resource: {error}")),
        Err(_) => Err(format!(
            "Error downloading resource: Operation too slow: nothing transferred in the last {}",
            libprocess::duration::format(stall)
        )),
    }
}

async fn get(url: &Url, destination: &Path, stall: Duration) -> Result<Outcome, String> {
    let stream = stalled(stall, TcpStream::connect((url.host.as_str(), url.port))).await?;
    let mut reader = BufReader::new(stream);
    let request = format!(
        "GET {} HTTP/1.1\r\nHost: {}\r\nUser-Agent: mesos-fetcher\r\nAccept: */*\r\nConnection: close\r\n\r\n",
        url.target,
        url.host_header()
    );
    stalled(stall, reader.get_mut().write_all(request.as_bytes())).await?;

    // Skip interim (1xx) responses.
    let head = loop {
        let head = read_head(&mut reader, stall).await?;
        if !(100..200).contains(&head.code) {
            break head;
        }
    };
    if matches!(head.code, 301 | 302 | 303 | 307 | 308) {
        if let Some(location) = head.header("location") {
            return Ok(Outcome::Redirect(location.to_string()));
        }
    }
    if head.code != 200 {
        return Err(format!("Error downloading resource, received HTTP return code {}", head.code));
    }

    let mut file = tokio::fs::File::create(destination)
        .await
        .map_err(|error| format!("Failed to create '{}': {error}", destination.display()))?;
    let chunked = head.header("transfer-encoding").is_some_and(|v| v.to_ascii_lowercase().contains("chunked"));
    if chunked {
        loop {
            let line = read_line(&mut reader, stall).await?.ok_or("Error downloading resource: truncated chunk")?;
            let size = line.split(';').next().unwrap_or_default().trim();
            let size = u64::from_str_radix(size, 16)
                .map_err(|_| format!("Error downloading resource: bad chunk size '{size}'"))?;
            if size == 0 {
                break;
            }
            copy(&mut reader, &mut file, Some(size), stall).await?;
            read_line(&mut reader, stall).await?;
        }
    } else {
        let length = match head.header("content-length") {
            Some(value) => Some(
                value
                    .trim()
                    .parse::<u64>()
                    .map_err(|_| format!("Error downloading resource: bad Content-Length '{value}'"))?,
            ),
            None => None,
        };
        copy(&mut reader, &mut file, length, stall).await?;
    }
    file.flush().await.map_err(|error| format!("Failed to write '{}': {error}", destination.display()))?;
    Ok(Outcome::Done)
}

struct Head {
    code: u16,
    headers: Vec<(String, String)>,
}

impl Head {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
}

async fn read_line<R: AsyncRead + Unpin>(reader: &mut BufReader<R>, stall: Duration) -> Result<Option<String>, String> {
    let mut line = String::new();
    let read = stalled(stall, (&mut *reader).take(MAX_LINE).read_line(&mut line)).await?;
    if read == 0 {
        return Ok(None);
    }
    if !line.ends_with('\n') {
        return Err("Error downloading resource: response line too long or truncated".into());
    }
    Ok(Some(line.trim_end_matches(['\r', '\n']).to_string()))
}

async fn read_head<R: AsyncRead + Unpin>(reader: &mut BufReader<R>, stall: Duration) -> Result<Head, String> {
    let status = read_line(reader, stall).await?.ok_or("Error downloading resource: empty reply from server")?;
    let mut parts = status.split_ascii_whitespace();
    let version = parts.next().unwrap_or_default();
    let code = parts.next().and_then(|c| c.parse::<u16>().ok());
    let Some(code) = code.filter(|_| version.starts_with("HTTP/")) else {
        return Err(format!("Error downloading resource: bad status line '{status}'"));
    };
    let mut headers = Vec::new();
    loop {
        let line = read_line(reader, stall).await?.ok_or("Error downloading resource: truncated headers")?;
        if line.is_empty() {
            break;
        }
        if headers.len() == MAX_HEADERS {
            return Err("Error downloading resource: too many headers".into());
        }
        if let Some((name, value)) = line.split_once(':') {
            headers.push((name.trim().to_string(), value.trim().to_string()));
        }
    }
    Ok(Head { code, headers })
}

/// Copies `length` bytes (or everything up to the end of the stream) into `file`.
async fn copy<R: AsyncRead + Unpin>(
    reader: &mut BufReader<R>,
    file: &mut tokio::fs::File,
    length: Option<u64>,
    stall: Duration,
) -> Result<(), String> {
    let mut remaining = length;
    let mut buffer = vec![0u8; 64 * 1024];
    loop {
        let want = match remaining {
            Some(0) => return Ok(()),
            Some(n) => n.min(buffer.len() as u64) as usize,
            None => buffer.len(),
        };
        let read = stalled(stall, reader.read(&mut buffer[..want])).await?;
        if read == 0 {
            return match remaining {
                None => Ok(()),
                Some(n) => Err(format!("Error downloading resource: connection closed with {n} bytes missing")),
            };
        }
        file.write_all(&buffer[..read]).await.map_err(|error| format!("Failed to write the download: {error}"))?;
        if let Some(n) = remaining.as_mut() {
            *n -= read as u64;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_urls() {
        let url = parse_url("http://example.com/a/b.tar.gz?x=1#frag").unwrap();
        assert_eq!(url, Url { host: "example.com".into(), port: 80, target: "/a/b.tar.gz?x=1".into() });
        assert_eq!(url.host_header(), "example.com");
        let url = parse_url("HTTP://127.0.0.1:8080").unwrap();
        assert_eq!((url.port, url.target.as_str(), url.host_header().as_str()), (8080, "/", "127.0.0.1:8080"));
        let url = parse_url("http://[::1]:81/x y").unwrap();
        assert_eq!((url.host.as_str(), url.port, url.target.as_str()), ("::1", 81, "/x%20y"));
        assert_eq!(url.host_header(), "[::1]:81");
        assert_eq!(parse_url("http://h?q").unwrap().target, "/?q");
    }

    #[test]
    fn refuses_what_it_cannot_fetch() {
        for (uri, text) in [
            ("https://example.com/x", "no TLS"),
            ("ftp://example.com/x", "FTP"),
            ("hdfs://x/y", "Not an HTTP URI"),
            ("http://user:pw@h/x", "Credentials"),
            ("http:///x", "Missing host"),
            ("http://h:99999/x", "Bad port"),
            ("http://[::1/x", "Malformed host"),
        ] {
            let error = parse_url(uri).unwrap_err();
            assert!(error.contains(text), "{uri}: {error}");
        }
    }

    #[test]
    fn resolves_redirects() {
        let base = parse_url("http://h:81/dir/file?q").unwrap();
        assert_eq!(resolve(&base, "/abs").unwrap().target, "/abs");
        assert_eq!(resolve(&base, "other").unwrap().target, "/dir/other");
        assert_eq!(resolve(&base, "other").unwrap().port, 81);
        assert_eq!(resolve(&base, "//x/y").unwrap().host, "x");
        assert_eq!(resolve(&base, "http://z:82/w").unwrap(), Url { host: "z".into(), port: 82, target: "/w".into() });
    }
}
