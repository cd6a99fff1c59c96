//! The files service over real TCP: `FilesTest.{AttachTest,DetachTest,ReadTest,ResolveTest,QueryWithEncodedSequence,BrowseTest,DownloadTest,DebugTest}` ported by name, the read rules at their edges, listings of every file type, streamed downloads, traversal and symlink escapes refused, hostile queries, and the `Files` handle's own calls.

use std::net::SocketAddrV4;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{symlink, MetadataExt};
use std::path::PathBuf;
use std::time::Duration;

use libprocess::{Config, Libprocess};
use mesos::files::{AttachError, Files, FilesError, Names, DOWNLOAD_CHUNK, READ_PAGES, WHOLE_DOWNLOAD_LIMIT};
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const WAIT: Duration = Duration::from_secs(20);

async fn within<F: std::future::Future>(future: F) -> F::Output {
    tokio::time::timeout(WAIT, future).await.expect("timed out")
}

// ----- a minimal HTTP client -----

#[derive(Debug)]
struct Reply {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Reply {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    fn text(&self) -> &str {
        std::str::from_utf8(&self.body).expect("a UTF-8 body")
    }

    fn json(&self) -> Value {
        assert_eq!(self.status, 200, "{}", String::from_utf8_lossy(&self.body));
        assert_eq!(self.header("Content-Type"), Some("application/json"));
        serde_json::from_slice(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text()))
    }

    /// Asserts the status and the exact body.
    fn expect(&self, status: u16, body: &str) {
        assert_eq!((self.status, self.text()), (status, body));
    }
}

/// `GET target` on a fresh connection that the server closes after answering; a chunked
/// body is put back together.
async fn get(address: SocketAddrV4, target: &str) -> Reply {
    within(async {
        let mut stream = TcpStream::connect(address).await.expect("connects");
        let request = format!("GET {target} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n");
        stream.write_all(request.as_bytes()).await.expect("writes");
        let mut bytes = Vec::new();
        stream.read_to_end(&mut bytes).await.expect("reads");
        let end = bytes.windows(4).position(|w| w == b"\r\n\r\n").expect("a complete head");
        let head = String::from_utf8(bytes[..end].to_vec()).expect("a UTF-8 head");
        let mut lines = head.split("\r\n");
        let status = lines.next().and_then(|l| l.split(' ').nth(1)).and_then(|s| s.parse().ok()).expect("status");
        let headers: Vec<(String, String)> = lines
            .filter_map(|l| l.split_once(':'))
            .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
            .collect();
        let mut body = bytes[end + 4..].to_vec();
        let chunked = headers
            .iter()
            .any(|(k, v)| k.eq_ignore_ascii_case("Transfer-Encoding") && v.eq_ignore_ascii_case("chunked"));
        if chunked {
            body = dechunk(&body);
        }
        Reply { status, headers, body }
    })
    .await
}

fn dechunk(mut raw: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let line_end = raw.windows(2).position(|w| w == b"\r\n").expect("a chunk size line");
        let size = usize::from_str_radix(std::str::from_utf8(&raw[..line_end]).unwrap().trim(), 16).unwrap();
        raw = &raw[line_end + 2..];
        if size == 0 {
            return out;
        }
        out.extend_from_slice(&raw[..size]);
        assert_eq!(&raw[size..size + 2], b"\r\n");
        raw = &raw[size + 2..];
    }
}

// ----- the fixture -----

/// A libprocess instance on 127.0.0.1 running the files process, and a temporary
/// directory (canonical, so expected real paths match) to attach from.
struct Fixture {
    lp: Libprocess,
    files: Files,
    dir: tempfile::TempDir,
    root: PathBuf,
}

impl Fixture {
    async fn start() -> Fixture {
        let config = Config { ip: Some(std::net::Ipv4Addr::LOCALHOST), ..Config::default() };
        let lp = Libprocess::initialize(config).await.expect("libprocess starts");
        let files = Files::spawn(&lp).expect("files spawns");
        let dir = tempfile::tempdir().expect("a temporary directory");
        let root = dir.path().canonicalize().expect("canonical");
        Fixture { lp, files, dir, root }
    }

    fn path(&self, relative: &str) -> PathBuf {
        self.root.join(relative)
    }

    fn write(&self, relative: &str, data: impl AsRef<[u8]>) {
        std::fs::write(self.path(relative), data).expect("writes");
    }

    fn mkdir(&self, relative: &str) {
        std::fs::create_dir_all(self.path(relative)).expect("mkdir");
    }

    async fn attach(&self, relative: &str, virtual_path: &str) {
        within(self.files.attach(self.path(relative), virtual_path)).await.expect("not discarded").expect("attaches");
    }

    async fn get(&self, target: &str) -> Reply {
        get(self.lp.address(), target).await
    }

    async fn stop(self) {
        self.lp.shutdown().await;
        drop(self.dir);
    }
}

/// The exact `/files/read` body C++ writes (keys in byte order).
fn read_body(offset: u64, data: &str) -> String {
    format!("{{\"data\":{},\"offset\":{offset}}}", serde_json::to_string(data).unwrap())
}

fn page_size() -> usize {
    // SAFETY: `sysconf` only reads a system constant.
    unsafe { libc::sysconf(libc::_SC_PAGESIZE) as usize }
}

// ----- FilesTest, ported by name -----

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn attach_test() {
    let f = Fixture::start().await;
    f.write("file", "body");
    f.mkdir("dir");
    f.attach("file", "myname").await; // A file.
    f.attach("dir", "mydir").await; // A directory.
    f.attach("file", "myname").await; // Again.
    f.write("file2", "body");
    f.attach("file2", "myname").await; // Replaced.

    let missing = f.path("missing");
    let error = within(f.files.attach(&missing, "somename")).await.unwrap().unwrap_err();
    assert_eq!(
        error,
        AttachError::Realpath { path: missing.display().to_string(), reason: "No such file or directory".into() }
    );
    assert_eq!(
        error.to_string(),
        format!("Failed to get realpath of '{}': No such file or directory", missing.display())
    );
    // A path through a file is missing too.
    let through = f.path("file/below");
    assert!(matches!(within(f.files.attach(&through, "x")).await.unwrap(), Err(AttachError::Realpath { .. })));
    // A `file://` URI is a path.
    let uri = format!("file://{}", f.path("dir").display());
    within(f.files.attach(uri, "file:///uri/")).await.unwrap().expect("a URI attaches");

    let debug = within(f.files.debug()).await.unwrap();
    assert_eq!(debug.get("myname"), Some(&f.path("file2")));
    assert_eq!(debug.get("mydir"), Some(&f.path("dir")));
    assert_eq!(debug.get("/uri"), Some(&f.path("dir")));
    assert!(!debug.contains_key("somename"));
    f.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn detach_test() {
    let f = Fixture::start().await;
    f.write("file", "body");
    f.attach("file", "myname").await;
    f.get("/files/read?path=myname&offset=0").await.expect(200, &read_body(0, "body"));

    f.files.detach("myname");
    f.files.detach("myname");
    f.get("/files/read?path=myname&offset=0").await.expect(404, "");
    assert!(within(f.files.debug()).await.unwrap().is_empty());

    // A trailing slash names the same attachment.
    f.mkdir("dir");
    f.attach("dir", "/dir").await;
    f.files.detach("/dir/");
    f.get("/files/browse?path=/dir").await.expect(404, "");
    f.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn read_test() {
    let f = Fixture::start().await;
    f.get("/files/read").await.expect(400, "Expecting 'path=value' in query.\n");
    f.get("/files/read?path=").await.expect(400, "Expecting 'path=value' in query.\n");
    f.get("/files/read?path=none&offset=hello")
        .await
        .expect(400, "Failed to parse offset: Failed to convert 'hello' to number.\n");
    f.get("/files/read?path=none&length=hello")
        .await
        .expect(400, "Failed to parse length: Failed to convert 'hello' to number.\n");

    f.write("file", "body");
    f.attach("file", "/myname").await;
    f.attach("file", "myname").await;

    f.get("/files/read?path=/myname&offset=0").await.expect(200, &read_body(0, "body"));
    f.get("/files/read?path=myname&offset=0").await.expect(200, &read_body(0, "body"));
    // `length=-1` reads to the end, as no length does.
    f.get("/files/read?path=/myname&length=-1&offset=0").await.expect(200, &read_body(0, "body"));
    f.get("/files/read?path=/myname&length=-2").await.expect(400, "Negative length provided: -2.\n");
    f.get("/files/read?path=/myname&offset=0&length=2").await.expect(200, &read_body(0, "bo"));
    f.get("/files/read?path=missing").await.expect(404, "");
    f.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resolve_test() {
    let f = Fixture::start().await;
    f.mkdir("1/2");
    f.write("1/two", "two");
    f.write("1/2/three", "three");

    f.attach("1", "one").await;
    f.attach("1", "/one/").await;
    f.attach("1/2", "two").await;
    f.attach("1/2", "one/two").await;

    let three = read_body(0, "three");
    for path in ["one/2/three", "/one/2/three", "two/three", "one/two/three", "%2Fone%2F2%2Fthree", "one%2Ftwo%2Fthree"]
    {
        f.get(&format!("/files/read?path={path}&offset=0")).await.expect(200, &three);
    }

    // Directories cannot be read.
    for path in ["one/2", "one", "one/", "one/two/"] {
        f.get(&format!("/files/read?path={path}")).await.expect(400, "Cannot read a directory.\n");
    }

    // Out of the attached directory and back in through another name: refused.
    let reply = f.get("/files/read?path=two/../two").await;
    reply.expect(400, &format!("'{}/../two' is inaccessible.\n", f.path("1/2").display()));
    f.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn query_with_encoded_sequence() {
    let f = Fixture::start().await;
    // A file whose name holds a percent-encoded sequence literally: it must be decoded once.
    f.write("foo%3Abar", "body");
    within(f.files.attach(&f.root, "/")).await.unwrap().unwrap();
    f.get("/files/read?path=/foo%253Abar&offset=0").await.expect(200, &read_body(0, "body"));
    f.get("/files/read?path=/foo%3Abar&offset=0").await.expect(404, "");
    f.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn browse_test() {
    let f = Fixture::start().await;
    f.mkdir("1/2");
    f.mkdir("1/3");
    f.write("1/two", "two");
    f.write("1/three", "three");
    f.mkdir("2");
    f.attach("1", "one").await;

    let mut names = Names::default();
    let expected: Vec<Value> = ["2", "3", "three", "two"]
        .iter()
        .map(|entry| {
            let metadata = std::fs::metadata(f.path(&format!("1/{entry}"))).unwrap();
            let kind = if metadata.is_dir() { 'd' } else { '-' };
            json!({
                "path": format!("one/{entry}"),
                "nlink": metadata.nlink(),
                "size": metadata.size(),
                "mtime": metadata.mtime() as f64,
                "mode": format!("{kind}{}", permissions(metadata.mode())),
                "uid": names.user(metadata.uid()),
                "gid": names.group(metadata.gid()),
            })
        })
        .collect();

    for path in ["one/", "one%2F", "one"] {
        let listing = f.get(&format!("/files/browse?path={path}")).await.json();
        assert_eq!(listing, Value::Array(expected.clone()), "{path}");
    }

    // The bytes as C++ writes them: keys in byte order, `mtime` a double.
    let reply = f.get("/files/browse?path=one").await;
    let first = &expected[0];
    let text = format!(
        "[{{\"gid\":{},\"mode\":{},\"mtime\":{}.0,\"nlink\":{},\"path\":\"one/2\",\"size\":{},\"uid\":{}}},",
        first["gid"],
        first["mode"],
        first["mtime"].as_f64().unwrap() as i64,
        first["nlink"],
        first["size"],
        first["uid"]
    );
    assert!(reply.text().starts_with(&text), "{} vs {text}", reply.text());

    // Empty listing.
    f.get("/files/browse?path=one/2").await.expect(200, "[]");
    // Missing directory.
    f.get("/files/browse?path=missing").await.expect(404, "");
    f.get("/files/browse?path=one/missing").await.expect(404, "");
    f.get("/files/browse").await.expect(400, "Expecting 'path=value' in query.\n");
    // A file lists as empty, as in C++.
    f.get("/files/browse?path=one/two").await.expect(200, "[]");

    // JSONP.
    let reply = f.get("/files/browse?path=one/2&jsonp=cb").await;
    assert_eq!(reply.header("Content-Type"), Some("text/javascript"));
    assert_eq!(reply.text(), "cb([])");
    f.stop().await;
}

/// The nine permission characters of `mode`.
fn permissions(mode: u32) -> String {
    (0..9).rev().map(|bit| if mode >> bit & 1 == 1 { "xwr".as_bytes()[bit % 3] as char } else { '-' }).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn download_test() {
    let f = Fixture::start().await;
    // A one-pixel black GIF.
    let gif: &[u8] = &[
        0x47, 0x49, 0x46, 0x38, 0x37, 0x61, 0x01, 0x00, 0x01, 0x00, 0x91, 0x00, 0x00, 0xff, 0xff, 0xff, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x2c, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x01, 0x00, 0x01, 0x02,
        0x02, 0x4c, 0x01, 0x00, 0x3b, 0x00,
    ];
    f.write("binary", "no file extension");
    f.write("black.gif", gif);
    f.attach("binary", "binary").await;
    f.attach("black.gif", "black.gif").await;

    let reply = f.get("/files/download?path=binary").await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.header("Content-Type"), Some("application/octet-stream"));
    assert_eq!(reply.header("Content-Disposition"), Some("attachment; filename=binary"));
    assert_eq!(reply.header("Content-Length"), Some("17"));
    assert_eq!(reply.body, b"no file extension");

    let reply = f.get("/files/download?path=black.gif").await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.header("Content-Type"), Some("image/gif"));
    assert_eq!(reply.header("Content-Disposition"), Some("attachment; filename=black.gif"));
    assert_eq!(reply.body, gif);

    // The name saved is the real file's, not the virtual one.
    f.attach("black.gif", "/sandbox/picture").await;
    let reply = f.get("/files/download?path=/sandbox/picture").await;
    assert_eq!(reply.header("Content-Disposition"), Some("attachment; filename=black.gif"));

    f.mkdir("dir");
    f.write("dir/stdout", "out\n");
    f.attach("dir", "/dir").await;
    f.get("/files/download?path=/dir").await.expect(400, "Cannot download a directory.\n");
    f.get("/files/download?path=/dir/").await.expect(400, "Cannot download a directory.\n");
    f.get("/files/download?path=/dir/stdout").await.expect(200, "out\n");
    f.get("/files/download?path=/dir/missing").await.expect(404, "404 Not Found.");
    f.get("/files/download?path=/nothing").await.expect(404, "404 Not Found.");
    f.get("/files/download").await.expect(400, "Expecting 'path=value' in query.\n");
    f.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn debug_test() {
    let f = Fixture::start().await;
    f.get("/files/debug").await.expect(200, "{}");
    f.mkdir("real-path-1");
    f.mkdir("real-path-2");
    f.attach("real-path-1", "virtual-path-1").await;
    f.attach("real-path-2", "virtual-path-2").await;
    let expected = json!({
        "virtual-path-1": f.path("real-path-1").display().to_string(),
        "virtual-path-2": f.path("real-path-2").display().to_string(),
    });
    let reply = f.get("/files/debug").await;
    assert_eq!(reply.text(), serde_json::to_string(&expected).unwrap());
    let reply = f.get("/files/debug?jsonp=f").await;
    assert_eq!(reply.header("Content-Type"), Some("text/javascript"));
    assert_eq!(reply.text(), format!("f({})", serde_json::to_string(&expected).unwrap()));
    f.stop().await;
}

// ----- the read rules at their edges -----

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn read_offsets_and_lengths() {
    let f = Fixture::start().await;
    f.write("log", "0123456789");
    f.write("empty", "");
    f.attach("log", "/log").await;
    f.attach("empty", "/empty").await;

    // No offset, or -1: the size and no data, whatever the length.
    f.get("/files/read?path=/log").await.expect(200, &read_body(10, ""));
    f.get("/files/read?path=/log&offset=-1").await.expect(200, &read_body(10, ""));
    f.get("/files/read?path=/log&offset=-1&length=5").await.expect(200, &read_body(10, ""));
    f.get("/files/read?path=/empty").await.expect(200, &read_body(0, ""));
    f.get("/files/read?path=/log&offset=-2").await.expect(400, "Negative offset provided: -2.\n");

    // From an offset; the offset is echoed.
    f.get("/files/read?path=/log&offset=3").await.expect(200, &read_body(3, "3456789"));
    f.get("/files/read?path=/log&offset=3&length=4").await.expect(200, &read_body(3, "3456"));
    f.get("/files/read?path=/log&offset=3&length=100").await.expect(200, &read_body(3, "3456789"));
    f.get("/files/read?path=/log&offset=3&length=0").await.expect(200, &read_body(3, ""));
    f.get("/files/read?path=/log&offset=0x2&length=0X3").await.expect(200, &read_body(2, "234"));
    f.get("/files/read?path=/log&offset=%2B1&length=1").await.expect(200, &read_body(1, "1"));

    // At and past the end: the requested offset and no data.
    f.get("/files/read?path=/log&offset=10").await.expect(200, &read_body(10, ""));
    f.get("/files/read?path=/log&offset=11&length=5").await.expect(200, &read_body(11, ""));
    f.get("/files/read?path=/log&offset=9223372036854775807").await.expect(200, &read_body(i64::MAX as u64, ""));
    f.get("/files/read?path=/empty&offset=0").await.expect(200, &read_body(0, ""));

    // Numbers that do not fit, or are not numbers.
    f.get("/files/read?path=/log&offset=9223372036854775808")
        .await
        .expect(400, "Failed to parse offset: Failed to convert '9223372036854775808' to number.\n");
    f.get("/files/read?path=/log&offset=-9223372036854775808")
        .await
        .expect(400, "Negative offset provided: -9223372036854775808.\n");
    f.get("/files/read?path=/log&length=-3").await.expect(400, "Negative length provided: -3.\n");
    f.get("/files/read?path=/log&offset=1.5")
        .await
        .expect(400, "Failed to parse offset: Failed to convert '1.5' to number.\n");
    f.get("/files/read?path=/log&offset=%201")
        .await
        .expect(400, "Failed to parse offset: Failed to convert ' 1' to number.\n");
    f.get("/files/read?path=/log&offset=")
        .await
        .expect(400, "Failed to parse offset: Failed to convert '' to number.\n");
    // The path is checked first, then the offset, then the length.
    f.get("/files/read?offset=x&length=y").await.expect(400, "Expecting 'path=value' in query.\n");
    f.get("/files/read?path=/log&offset=x&length=y")
        .await
        .expect(400, "Failed to parse offset: Failed to convert 'x' to number.\n");
    // Unparsable numbers win over a missing file; the file is looked up last.
    f.get("/files/read?path=/nothing&length=-5").await.expect(400, "Negative length provided: -5.\n");
    f.get("/files/read?path=/nothing&offset=0").await.expect(404, "");

    // JSONP.
    let reply = f.get("/files/read?path=/log&offset=0&length=2&jsonp=pailer").await;
    assert_eq!(reply.header("Content-Type"), Some("text/javascript"));
    assert_eq!(reply.text(), format!("pailer({})", read_body(0, "01")));
    f.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reads_are_capped_at_sixteen_pages() {
    let f = Fixture::start().await;
    let cap = page_size() * READ_PAGES;
    let data: Vec<u8> = (0..cap * 3 + 123).map(|i| b'a' + (i % 26) as u8).collect();
    f.write("big", &data);
    f.attach("big", "/big").await;
    let text = |range: std::ops::Range<usize>| String::from_utf8(data[range].to_vec()).unwrap();

    f.get("/files/read?path=/big&offset=0").await.expect(200, &read_body(0, &text(0..cap)));
    let huge = format!("/files/read?path=/big&offset=5&length={}", cap * 2);
    f.get(&huge).await.expect(200, &read_body(5, &text(5..5 + cap)));
    let tail = cap * 3;
    f.get(&format!("/files/read?path=/big&offset={tail}"))
        .await
        .expect(200, &read_body(tail as u64, &text(tail..data.len())));

    // A client that loops gets the whole file back.
    let mut offset = 0;
    let mut back = String::new();
    loop {
        let reply = f.get(&format!("/files/read?path=/big&offset={offset}")).await.json();
        let chunk = reply["data"].as_str().unwrap().to_string();
        if chunk.is_empty() {
            break;
        }
        assert!(chunk.len() <= cap);
        offset += chunk.len();
        back.push_str(&chunk);
    }
    assert_eq!(back.as_bytes(), &data[..]);
    f.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reads_of_text_that_is_not_ascii() {
    let f = Fixture::start().await;
    f.write("utf8", "a€b\"\\\n\t\u{1}");
    f.write("latin1", [b'o', 0xff, b'k']);
    f.attach("utf8", "/utf8").await;
    f.attach("latin1", "/latin1").await;

    f.get("/files/read?path=/utf8&offset=0").await.expect(200, &read_body(0, "a€b\"\\\n\t\u{1}"));
    // A length that cuts the euro sign leaves it for the next read.
    f.get("/files/read?path=/utf8&offset=0&length=3").await.expect(200, &read_body(0, "a"));
    f.get("/files/read?path=/utf8&offset=1&length=3").await.expect(200, &read_body(1, "€"));
    // Bytes that are not UTF-8 arrive as U+FFFD; the JSON stays valid.
    let reply = f.get("/files/read?path=/latin1&offset=0").await.json();
    assert_eq!(reply, json!({"data": "o\u{FFFD}k", "offset": 0}));
    f.stop().await;
}

// ----- listings of every kind of file -----

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn browse_shows_each_file_type_and_odd_names() {
    let f = Fixture::start().await;
    f.mkdir("box/sub");
    f.write("box/file", "12345");
    symlink(f.path("box/file"), f.path("box/link")).unwrap();
    symlink(f.path("box/nowhere"), f.path("box/dangling")).unwrap();
    let fifo = std::ffi::CString::new(f.path("box/fifo").as_os_str().as_bytes()).unwrap();
    // SAFETY: a valid NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(fifo.as_ptr(), 0o600) }, 0);
    let _socket = std::os::unix::net::UnixListener::bind(f.path("box/socket")).unwrap();
    let odd = std::ffi::OsStr::from_bytes(b"odd\xffname");
    std::fs::write(f.path("box").join(odd), "x").unwrap();
    std::fs::write(f.path("box/with \"quotes\" & spaces"), "x").unwrap();
    f.attach("box", "/box/").await;

    let listing = f.get("/files/browse?path=/box/").await.json();
    let entries: Vec<(String, String)> = listing
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            let object = e.as_object().unwrap();
            let keys: Vec<&str> = object.keys().map(String::as_str).collect();
            assert_eq!(keys, ["gid", "mode", "mtime", "nlink", "path", "size", "uid"]);
            (e["path"].as_str().unwrap().to_string(), e["mode"].as_str().unwrap()[..1].to_string())
        })
        .collect();
    // Sorted by name; the dangling link is left out; links show their target.
    let expected = [
        ("/box/fifo", "p"),
        ("/box/file", "-"),
        ("/box/link", "-"),
        ("/box/odd\u{FFFD}name", "-"),
        ("/box/socket", "s"),
        ("/box/sub", "d"),
        ("/box/with \"quotes\" & spaces", "-"),
    ];
    let expected: Vec<(String, String)> = expected.iter().map(|(p, m)| (p.to_string(), m.to_string())).collect();
    assert_eq!(entries, expected);
    let link = &listing.as_array().unwrap()[2];
    assert_eq!(link["size"], 5);

    // A FIFO without a writer is not waited on.
    let reply = f.get("/files/read?path=/box/fifo&offset=0").await;
    assert_eq!(reply.status, 500, "{}", reply.text());
    assert!(reply.text().starts_with("Failed to open file at '"), "{}", reply.text());
    // A name with spaces and quotes, percent-encoded.
    f.get("/files/read?path=/box/with%20%22quotes%22%20%26%20spaces&offset=0").await.expect(200, &read_body(0, "x"));
    f.stop().await;
}

// ----- downloads -----

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn big_downloads_are_streamed() {
    let f = Fixture::start().await;
    let size = WHOLE_DOWNLOAD_LIMIT as usize * 3 + DOWNLOAD_CHUNK / 2 + 7;
    let data: Vec<u8> = (0..size).map(|i| (i * 7 % 251) as u8).collect();
    f.write("big.tar", &data);
    f.attach("big.tar", "/big.tar").await;
    let reply = f.get("/files/download?path=/big.tar").await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.header("Transfer-Encoding"), Some("chunked"));
    assert_eq!(reply.header("Content-Length"), None);
    assert_eq!(reply.header("Content-Type"), Some("application/x-tar"));
    assert_eq!(reply.header("Content-Disposition"), Some("attachment; filename=big.tar"));
    assert!(reply.body == data, "{} bytes back of {size}", reply.body.len());

    // At the limit it is still one body.
    f.write("limit", vec![b'x'; WHOLE_DOWNLOAD_LIMIT as usize]);
    f.attach("limit", "/limit").await;
    let reply = f.get("/files/download?path=/limit").await;
    assert_eq!(reply.header("Content-Length"), Some(WHOLE_DOWNLOAD_LIMIT.to_string().as_str()));
    assert_eq!(reply.body.len(), WHOLE_DOWNLOAD_LIMIT as usize);

    // A client that goes away mid-stream does not stop the service.
    let mut stream = TcpStream::connect(f.lp.address()).await.unwrap();
    stream.write_all(b"GET /files/download?path=/big.tar HTTP/1.1\r\nHost: x\r\n\r\n").await.unwrap();
    let mut some = [0u8; 1024];
    let _ = within(stream.read(&mut some)).await.unwrap();
    drop(stream);
    f.get("/files/read?path=/limit&offset=0&length=1").await.expect(200, &read_body(0, "x"));
    f.stop().await;
}

// ----- escapes -----

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn traversal_and_symlink_escapes_are_refused() {
    let f = Fixture::start().await;
    f.mkdir("sandbox/inner");
    f.mkdir("sandbox2");
    f.write("secret", "secret");
    f.write("sandbox2/secret", "secret");
    f.write("sandbox/inner/ok", "ok");
    symlink(f.path("secret"), f.path("sandbox/escape")).unwrap();
    symlink(f.root.clone(), f.path("sandbox/up")).unwrap();
    symlink(f.path("sandbox2/secret"), f.path("sandbox/sibling")).unwrap();
    symlink(f.path("sandbox/inner/ok"), f.path("sandbox/inside")).unwrap();
    f.attach("sandbox", "/sandbox").await;
    let sandbox = f.path("sandbox");
    let inaccessible = |rest: &str| format!("'{}/{rest}' is inaccessible.\n", sandbox.display());

    for (path, rest) in [
        ("/sandbox/../secret", "../secret"),
        ("/sandbox/inner/../../secret", "inner/../../secret"),
        ("/sandbox/%2E%2E/secret", "../secret"),
        ("/sandbox/escape", "escape"),
        ("/sandbox/up/secret", "up/secret"),
        // A directory whose name starts with the attached one's is still outside it.
        ("/sandbox/sibling", "sibling"),
    ] {
        f.get(&format!("/files/read?path={path}&offset=0")).await.expect(400, &inaccessible(rest));
        f.get(&format!("/files/download?path={path}")).await.expect(400, &inaccessible(rest));
    }
    f.get("/files/browse?path=/sandbox/up").await.expect(400, &inaccessible("up"));
    f.get("/files/browse?path=/sandbox/..").await.expect(400, &inaccessible(".."));
    // Deep enough to reach `/`: outside as well.
    let deep = "/sandbox/".to_string() + &"../".repeat(40) + "etc/passwd";
    let reply = f.get(&format!("/files/read?path={deep}")).await;
    assert_eq!(reply.status, 400, "{}", reply.text());
    // Outside and missing: not found, as in C++.
    f.get("/files/read?path=/sandbox/../missing").await.expect(404, "");

    // Links and `..` that stay inside are fine.
    f.get("/files/read?path=/sandbox/inside&offset=0").await.expect(200, &read_body(0, "ok"));
    f.get("/files/read?path=/sandbox/inner/../inner/ok&offset=0").await.expect(200, &read_body(0, "ok"));
    // A path that is not on the table at all.
    f.get("/files/read?path=/../sandbox/inner/ok").await.expect(404, "");
    // A file attached alone has nothing below it.
    f.attach("secret", "/secret").await;
    f.get("/files/read?path=/secret/x").await.expect(404, "");
    f.get("/files/read?path=/secret&offset=0").await.expect(200, &read_body(0, "secret"));
    f.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_queries_get_clear_answers() {
    let f = Fixture::start().await;
    f.mkdir("sandbox");
    f.write("sandbox/stdout", "hello");
    f.attach("sandbox", "/sandbox").await;

    // A NUL byte cannot name a file.
    let reply = f.get("/files/read?path=/sandbox/std%00out&offset=0").await;
    assert_eq!(reply.status, 400, "{}", reply.text());
    let reply = f.get("/files/download?path=/sandbox/std%00out").await;
    assert_eq!(reply.status, 400, "{}", reply.text());
    // Not UTF-8 once decoded, or a broken escape: libprocess closes the connection without
    // an answer, as C++'s decoder does.
    for target in ["/files/read?path=/sandbox/%FF", "/files/browse?path=%zz"] {
        let mut stream = TcpStream::connect(f.lp.address()).await.unwrap();
        stream.write_all(format!("GET {target} HTTP/1.1\r\nHost: x\r\n\r\n").as_bytes()).await.unwrap();
        let mut bytes = Vec::new();
        within(stream.read_to_end(&mut bytes)).await.unwrap();
        assert!(bytes.is_empty(), "{target}: {}", String::from_utf8_lossy(&bytes));
    }

    for (target, status) in [
        ("/files/read?path=/sandbox/stdout&offset=99999999999999999999999", 400),
        ("/files/read?path=/sandbox/stdout&length=-99999999999999999999", 400),
        ("/files/read?path=/sandbox/stdout&offset=0&length=9223372036854775807", 200),
        ("/files/read?path=////&offset=0", 404),
        ("/files/read?path=/&offset=0", 404),
        ("/files/browse?path=.", 404),
        ("/files/browse?path=..", 404),
        ("/files/browse?path=/sandbox/stdout/..", 404),
        ("/files/download?path=/sandbox/stdout/", 200),
        ("/files/download?path=file:///sandbox/stdout", 200),
        ("/files/browse?path=/sandbox&path=/nothing", 404),
        ("/files/debug?path=/anything", 200),
        ("/files/unknown?path=/sandbox", 404),
    ] {
        let reply = f.get(target).await;
        assert_eq!(reply.status, status, "{target}: {}", String::from_utf8_lossy(&reply.body));
    }
    // Still serving.
    f.get("/files/read?path=/sandbox/stdout&offset=0").await.expect(200, &read_body(0, "hello"));
    f.stop().await;
}

// ----- the handle's own calls -----

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_handle_browses_and_reads() {
    let f = Fixture::start().await;
    f.mkdir("sandbox/dir");
    f.write("sandbox/stdout", "0123456789");
    f.attach("sandbox", "/frameworks/f/executors/e/runs/latest").await;
    let files = f.files.clone();

    let listing = within(files.browse("/frameworks/f/executors/e/runs/latest")).await.unwrap().unwrap();
    let paths: Vec<&str> = listing.iter().map(|i| i.path.as_str()).collect();
    assert_eq!(paths, ["/frameworks/f/executors/e/runs/latest/dir", "/frameworks/f/executors/e/runs/latest/stdout"]);
    assert_eq!(listing[1].size, Some(10));

    let read = within(files.read(2, Some(3), "/frameworks/f/executors/e/runs/latest/stdout")).await.unwrap().unwrap();
    assert_eq!((read.size, read.data.as_slice()), (10, &b"234"[..]));
    let read = within(files.read(20, None, "/frameworks/f/executors/e/runs/latest/stdout")).await.unwrap().unwrap();
    assert_eq!((read.size, read.data.len()), (10, 0));

    let missing = within(files.read(0, None, "/frameworks/f/executors/e/runs/latest/nothing")).await.unwrap();
    assert_eq!(missing, Err(FilesError::NotFound));
    let directory = within(files.read(0, None, "/frameworks/f/executors/e/runs/latest/dir")).await.unwrap();
    assert_eq!(directory, Err(FilesError::Invalid("Cannot read a directory".into())));
    assert_eq!(within(files.browse("/elsewhere")).await.unwrap(), Err(FilesError::NotFound));
    f.stop().await;
}

/// The three names the agent gives an executor's sandbox (mesos-http.md §5.2) all reach it,
/// and detaching them hides it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_executor_sandbox_under_its_three_names() {
    let f = Fixture::start().await;
    let work_dir = f.path("work");
    let run = "slaves/S0/frameworks/F0/executors/E0/runs";
    let real = work_dir.join(format!("{run}/C0"));
    std::fs::create_dir_all(&real).unwrap();
    std::fs::write(real.join("stdout"), "task output").unwrap();
    symlink(&real, work_dir.join(format!("{run}/latest"))).unwrap();

    let names = [
        real.display().to_string(),
        work_dir.join(format!("{run}/latest")).display().to_string(),
        "/frameworks/F0/executors/E0/runs/latest".to_string(),
    ];
    for name in &names {
        within(f.files.attach(&real, name.as_str())).await.unwrap().unwrap();
    }
    for name in &names {
        let target = format!("/files/read?path={}/stdout&offset=0", libprocess::http::encode(name));
        f.get(&target).await.expect(200, &read_body(0, "task output"));
    }
    for name in &names {
        f.files.detach(name.as_str());
    }
    for name in &names {
        let target = format!("/files/read?path={}/stdout&offset=0", libprocess::http::encode(name));
        f.get(&target).await.expect(404, "");
    }
    f.stop().await;
}
