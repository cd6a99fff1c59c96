//! The files service `files` (`/files/browse`, `/files/read`, `/files/download`, `/files/debug`) over real files and directories attached under virtual paths, and the `Files` handle; mirrors `src/files/files.{hpp,cpp}`, with `protobuf::createFileInfo` (`src/common/protobuf_utils.cpp`), the `FileInfo` model (`src/common/http.cpp`) and the MIME table (`3rdparty/libprocess/src/mime.cpp`).
//!
//! Masters and agents each spawn one [`FilesProcess`] under the fixed id `files`. Callers
//! reach it through [`Files`], a cheap clonable handle: `attach(real, virtual)` exposes a file
//! or directory, `detach(virtual)` hides it again. A virtual path resolves through the
//! longest attached prefix (whole segments), the rest is appended to the real path, and the
//! result is canonicalized and must stay inside the attached directory.
//!
//! # Where the disk is touched
//!
//! The actor owns the table of attachments and nothing else. A request is parsed and
//! matched against the table inside the actor, without any system call; resolving the
//! result (`stat`, `realpath`), listing, reading and downloading run on tokio's blocking
//! pool, so a slow disk or a huge directory never stalls the actor. `attach` does its
//! `realpath` and `access` inside the actor, as C++ does: two system calls, and it keeps
//! `attach` and a later `detach` in the order they were asked for.
//!
//! Reads are capped at [`READ_PAGES`] pages per request. A download of a file up to
//! [`WHOLE_DOWNLOAD_LIMIT`] bytes is read at once and sent with a `Content-Length`, as C++'s
//! `sendfile` response is; a bigger one is streamed as a chunked body, read
//! [`DOWNLOAD_CHUNK`] bytes at a time with at most [`DOWNLOAD_WINDOW`] chunks written but not
//! yet sent, so memory stays bounded whatever the file's size and the client's speed. The
//! stream stops at the size the file had when it was opened (a growing log ends); a read
//! error midway ends the body early, which is logged, since the status has been sent.
//!
//! # Where this differs from C++
//!
//! - The containment check compares whole path components: C++ compares strings, so a
//!   symlink from `/sandbox` into `/sandbox2` passed there and is refused here.
//! - Virtual paths are normalized the same way on attach, detach and lookup (repeated and
//!   trailing `/` dropped), so `detach("/a/")` removes what `attach(.., "/a")` added.
//! - File names and data that are not UTF-8 are written with U+FFFD in their place (C++
//!   writes the raw bytes into the JSON text). Such a file cannot be asked for by name:
//!   libprocess closes the connection of a query that does not decode to UTF-8.
//! - A read cut short by `length` or the page cap does not end inside a UTF-8 character when
//!   it can help it: up to three trailing bytes of an incomplete character are left for the
//!   next read, so a client that advances by the data's length sees every character whole.
//! - No authentication realm or authorization callbacks yet (C++'s `authorized` argument of
//!   `attach` and the `/files/debug` authorizer), so there are no 401 or 403 answers.

use std::collections::BTreeMap;
use std::ffi::{CStr, CString, OsStr, OsString};
use std::fs::{self, File};
use std::io::{self, Seek, SeekFrom};
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::os::unix::fs::{FileExt, MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use bytes::Bytes;
use libprocess::http::{Request, Response, Status};
use libprocess::{Context, Future, Libprocess, Process, Promise, SpawnError, PID};
use tokio::sync::mpsc::UnboundedSender;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::json::Writer;
use crate::proto::{FileInfo, TimeInfo};

/// The fixed id of [`FilesProcess`] (C++ `FilesProcess` is spawned as `files`).
pub const PROCESS_ID: &str = "files";

/// A read returns at most this many pages (C++ caps `_read` at `os::pagesize() * 16`).
pub const READ_PAGES: usize = 16;

/// Files up to this size are downloaded as one body with a `Content-Length`; bigger ones
/// are streamed.
pub const WHOLE_DOWNLOAD_LIMIT: u64 = 1 << 20;

/// The size of one chunk of a streamed download.
pub const DOWNLOAD_CHUNK: usize = 64 * 1024;

/// How many chunks of one streamed download may be read ahead of the socket.
pub const DOWNLOAD_WINDOW: usize = 16;

/// The body of every 400 for a missing or empty `path` parameter.
const MISSING_PATH: &str = "Expecting 'path=value' in query.\n";

const BROWSE_HELP: &str = "Returns a file listing for a directory: a JSON array, sorted by name, of objects with \
     `path` (virtual), `nlink`, `size`, `mtime` (seconds), `mode` (as `ls -l` shows it), `uid` and `gid` (names). \
     Query parameters: `path` (the virtual path of the directory, required), `jsonp`.";
const READ_HELP: &str = "Reads data from a file: `{\"data\": ..., \"offset\": ...}`. Query parameters: `path` \
     (required), `offset` (absent or -1: answer the file's size as the offset, with no data), `length` (absent or \
     -1: to the end of the file); a read returns at most 16 pages, so clients loop. `jsonp`.";
const DOWNLOAD_HELP: &str = "Returns the raw contents of a file as an attachment, typed by its extension. Query \
     parameters: `path` (required).";
const DEBUG_HELP: &str = "Returns the attached virtual paths and the real path behind each, as a JSON object.";

/// Why `attach` refused a path; the texts are C++'s failure messages.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum AttachError {
    /// The real path does not exist or cannot be canonicalized.
    #[error("Failed to get realpath of '{path}': {reason}")]
    Realpath { path: String, reason: String },
    /// This OS process may not read the real path.
    #[error("Failed to access '{path}': {reason}")]
    Access { path: String, reason: String },
}

/// Why a browse or read failed (C++ `FilesError`), with the status each answers.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum FilesError {
    /// Bad input, such as a path that escapes its attachment or a directory to read: 400.
    #[error("{0}")]
    Invalid(String),
    /// Nothing is attached or on disk at the path: 404.
    #[error("Not found")]
    NotFound,
    /// Anything else, such as a file that cannot be opened: 500.
    #[error("{0}")]
    Unknown(String),
}

impl FilesError {
    /// The HTTP answer: C++'s status with the message and a newline as the body (an empty
    /// body for 404, as C++ sends `NotFound(message)` with no message).
    pub fn response(&self) -> Response {
        match self {
            FilesError::Invalid(message) => Response::bad_request(format!("{message}.\n")),
            FilesError::NotFound => Response::with_message(Status::NOT_FOUND, ""),
            FilesError::Unknown(message) => Response::internal_server_error(format!("{message}.\n")),
        }
    }
}

/// What a read returned: the file's size when it was read, and the bytes.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ReadResult {
    pub size: u64,
    pub data: Vec<u8>,
}

// ----- the handle -----

/// The handle to the `files` process (C++ `Files`). Clones share the process.
#[derive(Clone, Debug)]
pub struct Files {
    pid: PID<FilesProcess>,
}

impl Files {
    /// Spawns the process as `files` in `lp`.
    pub fn spawn(lp: &Libprocess) -> Result<Files, SpawnError> {
        lp.spawn(PROCESS_ID, FilesProcess::default()).map(|pid| Files { pid })
    }

    pub fn pid(&self) -> &PID<FilesProcess> {
        &self.pid
    }

    /// Exposes the file or directory `path` (a `file://` prefix is allowed) under
    /// `virtual_path`, replacing what was there. The real path is canonicalized now, so a
    /// symlink is followed once, at attach time.
    pub fn attach(&self, path: impl Into<PathBuf>, virtual_path: impl Into<String>) -> Future<Result<(), AttachError>> {
        let (path, virtual_path) = (path.into(), virtual_path.into());
        self.pid.dispatch(move |files, _| files.attach(&path, &virtual_path))
    }

    /// Hides `virtual_path` again; nothing happens if it is not attached.
    pub fn detach(&self, virtual_path: impl Into<String>) {
        let virtual_path = virtual_path.into();
        self.pid.dispatch_void(move |files, _| files.detach(&virtual_path));
    }

    /// The entries of the directory at `path`, sorted by name (C++ `Files::browse`); a file
    /// lists as empty, as in C++.
    pub fn browse(&self, path: impl Into<String>) -> Future<Result<Vec<FileInfo>, FilesError>> {
        let path = path.into();
        self.pid.dispatch_future(move |files, _| {
            let target = files.target(&path);
            blocking(move || browse(&path, target))
        })
    }

    /// Up to `length` bytes (all when `None`, at most [`READ_PAGES`] pages either way) of the
    /// file at `path` from `offset`, with the file's size (C++ `Files::read`).
    pub fn read(
        &self,
        offset: u64,
        length: Option<u64>,
        path: impl Into<String>,
    ) -> Future<Result<ReadResult, FilesError>> {
        let path = path.into();
        self.pid.dispatch_future(move |files, _| {
            let target = files.target(&path);
            blocking(move || read(target, offset, length))
        })
    }

    /// The attached virtual paths and their real paths, as `/files/debug` shows them.
    pub fn debug(&self) -> Future<BTreeMap<String, PathBuf>> {
        self.pid.dispatch(|files, _| files.paths.clone())
    }
}

// ----- the process -----

/// The `files` process: the table of attachments and the four endpoints.
#[derive(Debug, Default)]
pub struct FilesProcess {
    /// Normalized virtual path (see [`normalize`]) to the canonical real path.
    paths: BTreeMap<String, PathBuf>,
}

/// Where a virtual path lands, found from the table alone: the real path attached at the
/// longest matching prefix, and the rest of the virtual path.
#[derive(Clone, Debug)]
struct Target {
    root: PathBuf,
    suffix: String,
}

impl FilesProcess {
    fn attach(&mut self, path: &Path, virtual_path: &str) -> Result<(), AttachError> {
        let path = from_uri_path(path);
        let shown = path.to_string_lossy().into_owned();
        let real = fs::canonicalize(&path).map_err(|error| AttachError::Realpath {
            path: shown.clone(),
            reason: if is_missing(&error) { "No such file or directory".to_string() } else { os_error_text(&error) },
        })?;
        readable(&real).map_err(|reason| AttachError::Access { path: shown, reason })?;
        let key = normalize(virtual_path);
        tracing::debug!(real = %real.display(), virtual_path = %key, "attached");
        self.paths.insert(key, real);
        Ok(())
    }

    fn detach(&mut self, virtual_path: &str) {
        self.paths.remove(&normalize(virtual_path));
    }

    /// The longest attached prefix of `virtual_path`, by whole segments (C++ `resolve`,
    /// the part that needs no disk). A relative path never matches the root `/`.
    fn target(&self, virtual_path: &str) -> Option<Target> {
        let normalized = normalize(virtual_path);
        let mut prefix = normalized.as_str();
        loop {
            if let Some(root) = self.paths.get(prefix) {
                let suffix = normalized[prefix.len()..].trim_start_matches('/');
                return Some(Target { root: root.clone(), suffix: suffix.to_string() });
            }
            prefix = &prefix[..prefix.rfind('/')?];
        }
    }
}

impl Process for FilesProcess {
    fn initialize(&mut self, ctx: &mut Context<Self>) {
        ctx.route("/browse", BROWSE_HELP, |files: &mut Self, _ctx, request: Request| {
            log_request(&request);
            let Some(path) = required_path(&request) else {
                return Future::ready(Response::bad_request(MISSING_PATH));
            };
            let jsonp = request.url.query.get("jsonp").cloned();
            let target = files.target(&path);
            blocking(move || match browse(&path, target) {
                Ok(listing) => {
                    let mut w = Writer::new();
                    w.begin_array();
                    for info in &listing {
                        write_file_info(&mut w, info);
                    }
                    w.end_array();
                    Response::json_text(w.into_string(), jsonp.as_deref())
                }
                Err(error) => error.response(),
            })
        });
        ctx.route("/read", READ_HELP, |files: &mut Self, _ctx, request: Request| {
            log_request(&request);
            let query = match ReadQuery::parse(&request) {
                Ok(query) => query,
                Err(body) => return Future::ready(Response::bad_request(body)),
            };
            let target = files.target(&query.path);
            blocking(move || {
                let (offset, length) = match query.offset {
                    // Only the size is wanted: read nothing (C++ reads with offset and length 0).
                    None => (0, Some(0)),
                    Some(offset) => (offset, query.length),
                };
                match read(target, offset, length) {
                    Ok(result) => {
                        let mut w = Writer::new();
                        // Keys in byte order, as stout's `JSON::Object` (a `std::map`) writes them.
                        w.begin_object();
                        w.key_ident("data");
                        w.str(&String::from_utf8_lossy(&result.data));
                        w.key_ident("offset");
                        w.u64(query.offset.unwrap_or(result.size));
                        w.end_object();
                        Response::json_text(w.into_string(), query.jsonp.as_deref())
                    }
                    Err(error) => error.response(),
                }
            })
        });
        ctx.route("/download", DOWNLOAD_HELP, |files: &mut Self, _ctx, request: Request| {
            log_request(&request);
            let Some(path) = required_path(&request) else {
                return Future::ready(Response::bad_request(MISSING_PATH));
            };
            let target = files.target(&path);
            let runtime = tokio::runtime::Handle::try_current().ok();
            blocking(move || match download(target) {
                Ok(Download::Whole { name, data }) => attachment(Response::ok(data), &name),
                Ok(Download::Stream { name, file, size }) => {
                    let Some(runtime) = runtime else {
                        return Response::internal_server_error("No runtime to stream the file from.\n");
                    };
                    let (response, chunks) = Response::pipe();
                    runtime.spawn(stream(file, size, chunks));
                    attachment(response, &name)
                }
                Err(response) => *response,
            })
        });
        ctx.route("/debug", DEBUG_HELP, |files: &mut Self, _ctx, request: Request| {
            log_request(&request);
            let mut w = Writer::new();
            w.begin_object();
            for (virtual_path, real) in &files.paths {
                w.key(virtual_path);
                w.str(&real.to_string_lossy());
            }
            w.end_object();
            let jsonp = request.url.query.get("jsonp").map(String::as_str);
            Future::ready(Response::json_text(w.into_string(), jsonp))
        });
    }
}

/// The `path` parameter, if given and not empty.
fn required_path(request: &Request) -> Option<String> {
    request.url.query.get("path").filter(|path| !path.is_empty()).cloned()
}

/// Logs a request as C++ `logRequest` does.
fn log_request(request: &Request) {
    let query: Vec<String> = request.url.query.iter().map(|(k, v)| format!("{k}={v}")).collect();
    let query = if query.is_empty() { String::new() } else { format!("?{}", query.join("&")) };
    match request.client {
        Some(client) => tracing::info!("HTTP {} for {}{} from {}", request.method, request.url.path, query, client),
        None => tracing::info!("HTTP {} for {}{}", request.method, request.url.path, query),
    }
}

// ----- resolution -----

/// `path` without a `file://` prefix (stout `path::from_uri`).
fn from_uri(path: &str) -> &str {
    path.strip_prefix("file://").unwrap_or(path)
}

fn from_uri_path(path: &Path) -> PathBuf {
    let bytes = path.as_os_str().as_bytes();
    PathBuf::from(OsStr::from_bytes(bytes.strip_prefix(b"file://").unwrap_or(bytes)))
}

/// A virtual path as the table keys it: without a `file://` prefix, empty segments or a
/// trailing `/`; a leading `/` kept, so `/` itself becomes the empty string.
fn normalize(virtual_path: &str) -> String {
    let path = from_uri(virtual_path);
    let absolute = path.starts_with('/');
    let mut out = String::with_capacity(path.len());
    for segment in path.split('/').filter(|s| !s.is_empty()) {
        if absolute || !out.is_empty() {
            out.push('/');
        }
        out.push_str(segment);
    }
    out
}

/// The real path behind `target` (C++ `resolve`, the part on disk): `Ok(None)` when there
/// is nothing there, an `Invalid` error when the canonical path leaves the attached
/// directory or cannot be worked out.
fn resolve(target: &Target) -> Result<Option<PathBuf>, FilesError> {
    let root = &target.root;
    if !root.is_dir() {
        // An attached file has nothing below it.
        return Ok(target.suffix.is_empty().then(|| root.clone()));
    }
    let mut joined = root.as_os_str().as_bytes().to_vec();
    if joined.last() == Some(&b'/') {
        joined.pop();
    }
    joined.push(b'/');
    joined.extend_from_slice(target.suffix.as_bytes());
    let joined = PathBuf::from(OsString::from_vec(joined));
    match fs::canonicalize(&joined) {
        Err(error) if is_missing(&error) => Ok(None),
        Err(error) => Err(FilesError::Invalid(format!(
            "Failed to determine canonical path of '{}': {}",
            joined.display(),
            os_error_text(&error)
        ))),
        Ok(real) if !real.starts_with(root) => {
            Err(FilesError::Invalid(format!("'{}' is inaccessible", joined.display())))
        }
        Ok(real) => Ok(Some(real)),
    }
}

/// Resolves `target`, with `None` (nothing attached) and nothing on disk both `NotFound`.
fn resolve_existing(target: Option<Target>) -> Result<PathBuf, FilesError> {
    resolve(&target.ok_or(FilesError::NotFound)?)?.ok_or(FilesError::NotFound)
}

// ----- browse -----

/// The listing of `requested` (C++ `FilesProcess::browse`): one `FileInfo` per entry that
/// can be `stat`ed (symlinks followed), named `<requested>/<entry>`, sorted by name.
fn browse(requested: &str, target: Option<Target>) -> Result<Vec<FileInfo>, FilesError> {
    let resolved = resolve_existing(target)?;
    let base = from_uri(requested);
    let base = base.strip_suffix('/').unwrap_or(base);
    let Ok(entries) = fs::read_dir(&resolved) else {
        // A file, or a directory that cannot be listed: an empty listing, as in C++.
        return Ok(Vec::new());
    };
    let mut names = Names::default();
    let mut files: Vec<(OsString, FileInfo)> = Vec::new();
    for entry in entries.map_while(Result::ok) {
        let name = entry.file_name();
        let full = resolved.join(&name);
        let metadata = match fs::metadata(&full) {
            Ok(metadata) => metadata,
            Err(error) => {
                tracing::warn!("Found {} in ls but stat failed: {}", full.display(), error);
                continue;
            }
        };
        let path = format!("{base}/{}", name.to_string_lossy());
        let info = file_info(path, &metadata, &mut names);
        files.push((name, info));
    }
    files.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
    Ok(files.into_iter().map(|(_, info)| info).collect())
}

/// The `FileInfo` of one entry (C++ `protobuf::createFileInfo`): owner and group by name
/// when the system knows them, else by number.
pub fn file_info(path: String, metadata: &fs::Metadata, names: &mut Names) -> FileInfo {
    FileInfo {
        path,
        // The protobuf field is 32 bits; C++ narrows the same way.
        nlink: Some(metadata.nlink() as i32),
        size: Some(metadata.size()),
        mtime: Some(TimeInfo { nanoseconds: metadata.mtime().saturating_mul(1_000_000_000) }),
        mode: Some(metadata.mode()),
        uid: Some(names.user(metadata.uid())),
        gid: Some(names.group(metadata.gid())),
    }
}

/// Writes the `/files/browse` object of `info` (C++ `model(const FileInfo&)`): keys in byte
/// order as stout writes them, `mtime` in seconds as a double, `mode` as `ls -l` shows it.
pub fn write_file_info(w: &mut Writer, info: &FileInfo) {
    let mtime = info.mtime.as_ref().map_or(0, |t| t.nanoseconds);
    w.begin_object();
    w.key_ident("gid");
    w.str(info.gid());
    w.key_ident("mode");
    w.str(&mode_string(info.mode()));
    w.key_ident("mtime");
    w.f64(mtime as f64 / 1e9);
    w.key_ident("nlink");
    w.i64(i64::from(info.nlink()));
    w.key_ident("path");
    w.str(&info.path);
    w.key_ident("size");
    w.u64(info.size());
    w.key_ident("uid");
    w.str(info.uid());
    w.end_object();
}

/// `mode` as ten characters: the type (`-`, `d`, `c`, `b`, `p`, `l`, `s`; `-` for anything
/// else), then read, write and execute for owner, group and others. Set-id and sticky bits
/// are not shown, as in C++.
pub fn mode_string(mode: u32) -> String {
    let kind = match mode & libc::S_IFMT {
        libc::S_IFDIR => 'd',
        libc::S_IFCHR => 'c',
        libc::S_IFBLK => 'b',
        libc::S_IFIFO => 'p',
        libc::S_IFLNK => 'l',
        libc::S_IFSOCK => 's',
        _ => '-',
    };
    let mut out = String::with_capacity(10);
    out.push(kind);
    for shift in [6, 3, 0] {
        let bits = (mode >> shift) & 0o7;
        out.push(if bits & 0o4 != 0 { 'r' } else { '-' });
        out.push(if bits & 0o2 != 0 { 'w' } else { '-' });
        out.push(if bits & 0o1 != 0 { 'x' } else { '-' });
    }
    out
}

/// User and group names looked up once per id during one listing.
#[derive(Debug, Default)]
pub struct Names {
    users: BTreeMap<u32, String>,
    groups: BTreeMap<u32, String>,
}

impl Names {
    /// The name of user `uid`, or the number as text.
    pub fn user(&mut self, uid: u32) -> String {
        self.users.entry(uid).or_insert_with(|| user_name(uid).unwrap_or_else(|| uid.to_string())).clone()
    }

    /// The name of group `gid`, or the number as text.
    pub fn group(&mut self, gid: u32) -> String {
        self.groups.entry(gid).or_insert_with(|| group_name(gid).unwrap_or_else(|| gid.to_string())).clone()
    }
}

/// How large the buffer of `getpwuid_r`/`getgrgid_r` may grow (a group with many members
/// needs a big one).
const MAX_NAME_BUFFER: usize = 1 << 20;

fn user_name(uid: u32) -> Option<String> {
    let mut buffer = vec![0u8; 1024];
    loop {
        // SAFETY: `passwd` is plain data; zeroes are a valid value to be overwritten.
        let mut entry: libc::passwd = unsafe { std::mem::zeroed() };
        let mut found: *mut libc::passwd = std::ptr::null_mut();
        // SAFETY: every pointer is valid for the call and `buffer.len()` is its size.
        let rc = unsafe { libc::getpwuid_r(uid, &mut entry, buffer.as_mut_ptr().cast(), buffer.len(), &mut found) };
        if rc == libc::ERANGE && buffer.len() < MAX_NAME_BUFFER {
            buffer.resize(buffer.len() * 2, 0);
            continue;
        }
        if rc != 0 || found.is_null() || entry.pw_name.is_null() {
            return None;
        }
        // SAFETY: on success `pw_name` points to a NUL-terminated string inside `buffer`.
        return Some(unsafe { CStr::from_ptr(entry.pw_name) }.to_string_lossy().into_owned());
    }
}

fn group_name(gid: u32) -> Option<String> {
    let mut buffer = vec![0u8; 1024];
    loop {
        // SAFETY: `group` is plain data; zeroes are a valid value to be overwritten.
        let mut entry: libc::group = unsafe { std::mem::zeroed() };
        let mut found: *mut libc::group = std::ptr::null_mut();
        // SAFETY: every pointer is valid for the call and `buffer.len()` is its size.
        let rc = unsafe { libc::getgrgid_r(gid, &mut entry, buffer.as_mut_ptr().cast(), buffer.len(), &mut found) };
        if rc == libc::ERANGE && buffer.len() < MAX_NAME_BUFFER {
            buffer.resize(buffer.len() * 2, 0);
            continue;
        }
        if rc != 0 || found.is_null() || entry.gr_name.is_null() {
            return None;
        }
        // SAFETY: on success `gr_name` points to a NUL-terminated string inside `buffer`.
        return Some(unsafe { CStr::from_ptr(entry.gr_name) }.to_string_lossy().into_owned());
    }
}

// ----- read -----

/// The parameters of `/files/read`, checked in C++'s order: `path`, `offset`, `length`.
#[derive(Debug)]
struct ReadQuery {
    path: String,
    /// `None` for an absent offset or `-1`: only the size is wanted.
    offset: Option<u64>,
    /// `None` for an absent length or `-1`: to the end of the file.
    length: Option<u64>,
    jsonp: Option<String>,
}

impl ReadQuery {
    /// The query, or the body of the 400 that refuses it.
    fn parse(request: &Request) -> Result<ReadQuery, String> {
        let query = &request.url.query;
        let path = required_path(request).ok_or_else(|| MISSING_PATH.to_string())?;
        let offset = match query.get("offset") {
            None => None,
            Some(text) => match numify(text) {
                Err(error) => return Err(format!("Failed to parse offset: {error}.\n")),
                Ok(n) if n < -1 => return Err(format!("Negative offset provided: {n}.\n")),
                Ok(-1) => None,
                Ok(n) => Some(n as u64),
            },
        };
        let length = match query.get("length") {
            None => None,
            Some(text) => match numify(text) {
                Err(error) => return Err(format!("Failed to parse length: {error}.\n")),
                Ok(n) if n < -1 => return Err(format!("Negative length provided: {n}.\n")),
                Ok(-1) => None,
                Ok(n) => Some(n as u64),
            },
        };
        Ok(ReadQuery { path, offset, length, jsonp: query.get("jsonp").cloned() })
    }
}

/// Parses a signed 64-bit number as stout's `numify<off_t>` does: decimal with an optional
/// sign, or hexadecimal after `0x`/`0X`/`-0x`/`-0X` (no fractions or exponents); nothing
/// else, not even spaces. The error is stout's text.
fn numify(text: &str) -> Result<i64, String> {
    if let Ok(n) = text.parse::<i64>() {
        return Ok(n);
    }
    let error = || format!("Failed to convert '{text}' to number");
    let (negative, unsigned) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let digits = unsigned.strip_prefix("0x").or_else(|| unsigned.strip_prefix("0X")).ok_or_else(error)?;
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(error());
    }
    let magnitude = i64::from_str_radix(digits, 16).map_err(|_| error())?;
    Ok(if negative { -magnitude } else { magnitude })
}

/// The most one read returns: [`READ_PAGES`] of this machine's pages.
fn read_cap() -> u64 {
    // SAFETY: `sysconf` only reads a system constant.
    let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    let page = if page > 0 { page as u64 } else { 4096 };
    page * READ_PAGES as u64
}

/// C++ `FilesProcess::_read`: resolve, refuse directories, then read from `offset`.
fn read(target: Option<Target>, offset: u64, length: Option<u64>) -> Result<ReadResult, FilesError> {
    let resolved = resolve_existing(target)?;
    if resolved.is_dir() {
        return Err(FilesError::Invalid("Cannot read a directory".to_string()));
    }
    let failed = |what: &str, error: &io::Error| {
        let message = format!("Failed to {what} file at '{}': {}", resolved.display(), os_error_text(error));
        tracing::warn!("{message}");
        FilesError::Unknown(message)
    };
    let mut file = open(&resolved).map_err(|e| failed("open", &e))?;
    let size = file.seek(SeekFrom::End(0)).map_err(|e| failed("open", &e))?;
    if offset >= size {
        return Ok(ReadResult { size, data: Vec::new() });
    }
    let length = length.unwrap_or(size - offset);
    if length == 0 {
        return Ok(ReadResult { size, data: Vec::new() });
    }
    let length = length.min(read_cap()).min(size - offset);
    let data = read_at(&file, offset, length as usize).map_err(|e| failed("read", &e))?;
    let whole = offset + (data.len() as u64) >= size;
    Ok(ReadResult { size, data: if whole { data } else { without_torn_character(data) } })
}

/// Opens `path` for reading without blocking on a FIFO that has no writer.
fn open(path: &Path) -> io::Result<File> {
    fs::OpenOptions::new().read(true).custom_flags(libc::O_NONBLOCK).open(path)
}

/// Up to `length` bytes from `offset`; fewer at the end of the file.
fn read_at(file: &File, offset: u64, length: usize) -> io::Result<Vec<u8>> {
    let mut data = vec![0u8; length];
    let mut filled = 0;
    while filled < length {
        match file.read_at(&mut data[filled..], offset + filled as u64) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
            Err(error) => return Err(error),
        }
    }
    data.truncate(filled);
    Ok(data)
}

/// `data` without the start of a UTF-8 character cut off at its end, if what precedes it is
/// not empty; bytes that could never be UTF-8 are kept.
fn without_torn_character(mut data: Vec<u8>) -> Vec<u8> {
    // The last character starts within the last four bytes; find its lead byte.
    let Some(back) = data.iter().rev().take(4).position(|&b| b & 0b1100_0000 != 0b1000_0000) else {
        return data;
    };
    let lead_at = data.len() - 1 - back;
    let needed = match data[lead_at] {
        b if b & 0b1110_0000 == 0b1100_0000 => 2,
        b if b & 0b1111_0000 == 0b1110_0000 => 3,
        b if b & 0b1111_1000 == 0b1111_0000 => 4,
        _ => return data,
    };
    if data.len() - lead_at < needed && lead_at > 0 {
        data.truncate(lead_at);
    }
    data
}

// ----- download -----

/// A file ready to be sent.
enum Download {
    Whole { name: String, data: Vec<u8> },
    Stream { name: String, file: File, size: u64 },
}

/// C++ `FilesProcess::_download`: resolve, refuse directories, open; small files read now.
/// The error is the answer to send instead.
fn download(target: Option<Target>) -> Result<Download, Box<Response>> {
    let resolved = match target.map(|target| resolve(&target)) {
        Some(Ok(Some(resolved))) => resolved,
        None | Some(Ok(None)) => return Err(Box::new(Response::not_found())),
        Some(Err(error)) => return Err(Box::new(error.response())),
    };
    if resolved.is_dir() {
        return Err(Box::new(Response::bad_request("Cannot download a directory.\n")));
    }
    let name = resolved.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let failed = |error: io::Error| {
        if is_missing(&error) {
            return Box::new(Response::not_found());
        }
        let message = format!("Failed to send file at '{}': {}", resolved.display(), os_error_text(&error));
        tracing::warn!("{message}");
        Box::new(Response::internal_server_error(format!("{message}.\n")))
    };
    let mut file = open(&resolved).map_err(failed)?;
    let size = file.seek(SeekFrom::End(0)).map_err(failed)?;
    if size > WHOLE_DOWNLOAD_LIMIT {
        return Ok(Download::Stream { name, file, size });
    }
    let data = read_at(&file, 0, size as usize).map_err(failed)?;
    Ok(Download::Whole { name, data })
}

/// Adds the download headers: the type from the extension, the file name to save as.
fn attachment(mut response: Response, name: &str) -> Response {
    response.headers.set("Content-Type", mime_type(name).unwrap_or("application/octet-stream"));
    // Control characters would break the header; C++ writes the name as it is.
    let name: String = name.chars().map(|c| if c.is_control() { '_' } else { c }).collect();
    response.headers.set("Content-Disposition", format!("attachment; filename={name}"));
    response
}

/// One chunk of a streamed download; its permit goes back to the window when libprocess has
/// written the chunk and drops it.
struct Chunk {
    data: Vec<u8>,
    _permit: OwnedSemaphorePermit,
}

impl AsRef<[u8]> for Chunk {
    fn as_ref(&self) -> &[u8] {
        &self.data
    }
}

/// Feeds `size` bytes of `file` into a streamed body, [`DOWNLOAD_WINDOW`] chunks ahead of
/// the socket at most; stops when the client goes away.
async fn stream(file: File, size: u64, chunks: UnboundedSender<Bytes>) {
    let file = Arc::new(file);
    let window = Arc::new(Semaphore::new(DOWNLOAD_WINDOW));
    let mut offset = 0u64;
    while offset < size {
        let permit = tokio::select! {
            permit = Arc::clone(&window).acquire_owned() => match permit {
                Ok(permit) => permit,
                Err(_) => return,
            },
            () = chunks.closed() => return,
        };
        let length = (size - offset).min(DOWNLOAD_CHUNK as u64) as usize;
        let reader = Arc::clone(&file);
        let data = match tokio::task::spawn_blocking(move || read_at(&reader, offset, length)).await {
            Ok(Ok(data)) if !data.is_empty() => data,
            Ok(Ok(_)) => {
                tracing::warn!("File shrank to {offset} bytes while being downloaded ({size} expected)");
                return;
            }
            Ok(Err(error)) => {
                tracing::warn!("Failed to read a downloaded file at offset {offset}: {error}");
                return;
            }
            Err(error) => {
                tracing::warn!("Failed to read a downloaded file at offset {offset}: {error}");
                return;
            }
        };
        offset += data.len() as u64;
        if chunks.send(Bytes::from_owner(Chunk { data, _permit: permit })).is_err() {
            return;
        }
    }
}

/// Extensions (without the dot) and their MIME types, sorted for a binary search; the table
/// of `3rdparty/libprocess/src/mime.cpp` (Python's `mimetypes` of its day).
const MIME_TYPES: &[(&str, &str)] = &[
    ("a", "application/octet-stream"),
    ("ai", "application/postscript"),
    ("aif", "audio/x-aiff"),
    ("aifc", "audio/x-aiff"),
    ("aiff", "audio/x-aiff"),
    ("au", "audio/basic"),
    ("avi", "video/x-msvideo"),
    ("bat", "text/plain"),
    ("bcpio", "application/x-bcpio"),
    ("bin", "application/octet-stream"),
    ("bmp", "image/x-ms-bmp"),
    ("c", "text/plain"),
    ("cdf", "application/x-netcdf"),
    ("cpio", "application/x-cpio"),
    ("csh", "application/x-csh"),
    ("css", "text/css"),
    ("dll", "application/octet-stream"),
    ("doc", "application/msword"),
    ("dot", "application/msword"),
    ("dvi", "application/x-dvi"),
    ("eml", "message/rfc822"),
    ("eps", "application/postscript"),
    ("etx", "text/x-setext"),
    ("exe", "application/octet-stream"),
    ("gif", "image/gif"),
    ("gtar", "application/x-gtar"),
    ("h", "text/plain"),
    ("hdf", "application/x-hdf"),
    ("htm", "text/html"),
    ("html", "text/html"),
    ("ief", "image/ief"),
    ("jpe", "image/jpeg"),
    ("jpeg", "image/jpeg"),
    ("jpg", "image/jpeg"),
    ("js", "application/x-javascript"),
    ("ksh", "text/plain"),
    ("latex", "application/x-latex"),
    ("m1v", "video/mpeg"),
    ("man", "application/x-troff-man"),
    ("me", "application/x-troff-me"),
    ("mht", "message/rfc822"),
    ("mhtml", "message/rfc822"),
    ("mif", "application/x-mif"),
    ("mov", "video/quicktime"),
    ("movie", "video/x-sgi-movie"),
    ("mp2", "audio/mpeg"),
    ("mp3", "audio/mpeg"),
    ("mp4", "video/mp4"),
    ("mpa", "video/mpeg"),
    ("mpe", "video/mpeg"),
    ("mpeg", "video/mpeg"),
    ("mpg", "video/mpeg"),
    ("ms", "application/x-troff-ms"),
    ("nc", "application/x-netcdf"),
    ("nws", "message/rfc822"),
    ("o", "application/octet-stream"),
    ("obj", "application/octet-stream"),
    ("oda", "application/oda"),
    ("p12", "application/x-pkcs12"),
    ("p7c", "application/pkcs7-mime"),
    ("pbm", "image/x-portable-bitmap"),
    ("pdf", "application/pdf"),
    ("pfx", "application/x-pkcs12"),
    ("pgm", "image/x-portable-graymap"),
    ("pl", "text/plain"),
    ("png", "image/png"),
    ("pnm", "image/x-portable-anymap"),
    ("pot", "application/vnd.ms-powerpoint"),
    ("ppa", "application/vnd.ms-powerpoint"),
    ("ppm", "image/x-portable-pixmap"),
    ("pps", "application/vnd.ms-powerpoint"),
    ("ppt", "application/vnd.ms-powerpoint"),
    ("ps", "application/postscript"),
    ("pwz", "application/vnd.ms-powerpoint"),
    ("py", "text/x-python"),
    ("pyc", "application/x-python-code"),
    ("pyo", "application/x-python-code"),
    ("qt", "video/quicktime"),
    ("ra", "audio/x-pn-realaudio"),
    ("ram", "application/x-pn-realaudio"),
    ("ras", "image/x-cmu-raster"),
    ("rdf", "application/xml"),
    ("rgb", "image/x-rgb"),
    ("roff", "application/x-troff"),
    ("rtx", "text/richtext"),
    ("sgm", "text/x-sgml"),
    ("sgml", "text/x-sgml"),
    ("sh", "application/x-sh"),
    ("shar", "application/x-shar"),
    ("snd", "audio/basic"),
    ("so", "application/octet-stream"),
    ("src", "application/x-wais-source"),
    ("sv4cpio", "application/x-sv4cpio"),
    ("sv4crc", "application/x-sv4crc"),
    ("swf", "application/x-shockwave-flash"),
    ("t", "application/x-troff"),
    ("tar", "application/x-tar"),
    ("tcl", "application/x-tcl"),
    ("tex", "application/x-tex"),
    ("texi", "application/x-texinfo"),
    ("texinfo", "application/x-texinfo"),
    ("tif", "image/tiff"),
    ("tiff", "image/tiff"),
    ("tr", "application/x-troff"),
    ("tsv", "text/tab-separated-values"),
    ("txt", "text/plain"),
    ("ustar", "application/x-ustar"),
    ("vcf", "text/x-vcard"),
    ("wav", "audio/x-wav"),
    ("wiz", "application/msword"),
    ("wsdl", "application/xml"),
    ("xbm", "image/x-xbitmap"),
    ("xlb", "application/vnd.ms-excel"),
    ("xls", "application/vnd.ms-excel"),
    ("xml", "text/xml"),
    ("xpdl", "application/xml"),
    ("xpm", "image/x-xpixmap"),
    ("xsl", "application/xml"),
    ("xwd", "image/x-xwindowdump"),
    ("zip", "application/zip"),
];

/// The MIME type of a file named `name`, by the text after its last `.` (case-sensitive,
/// as in C++; a leading dot counts, so `.gif` is a GIF).
pub fn mime_type(name: &str) -> Option<&'static str> {
    if name == "." || name == ".." {
        return None;
    }
    let (_, extension) = name.rsplit_once('.')?;
    MIME_TYPES.binary_search_by(|(e, _)| (*e).cmp(extension)).ok().map(|i| MIME_TYPES[i].1)
}

// ----- system helpers -----

/// Runs `f` on tokio's blocking pool; the future completes with its result (or fails as
/// discarded if it panics). Without a runtime `f` runs at once.
fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> Future<T> {
    match tokio::runtime::Handle::try_current() {
        Ok(runtime) => {
            let promise = Promise::new();
            let future = promise.future();
            runtime.spawn_blocking(move || promise.set(f()));
            future
        }
        Err(_) => Future::ready(f()),
    }
}

/// Whether `error` means "nothing there" (stout's `realpath` answers `None` for these).
fn is_missing(error: &io::Error) -> bool {
    matches!(error.raw_os_error(), Some(libc::ENOENT | libc::ENOTDIR))
}

/// The system's text for `error`, without Rust's ` (os error N)` suffix.
fn os_error_text(error: &io::Error) -> String {
    let text = error.to_string();
    match text.rfind(" (os error ") {
        Some(at) => text[..at].to_string(),
        None => text,
    }
}

/// Whether this OS process may read `path` (C++ `os::access(path, R_OK)`).
fn readable(path: &Path) -> Result<(), String> {
    let c_path = CString::new(path.as_os_str().as_bytes()).map_err(|_| "path contains a NUL byte".to_string())?;
    // SAFETY: `c_path` is a valid NUL-terminated string for the duration of the call.
    if unsafe { libc::access(c_path.as_ptr(), libc::R_OK) } == 0 {
        return Ok(());
    }
    let error = io::Error::last_os_error();
    if error.raw_os_error() == Some(libc::EACCES) {
        Err("Access denied".to_string())
    } else {
        Err(os_error_text(&error))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_parse_as_stout_numify() {
        assert_eq!(numify("0"), Ok(0));
        assert_eq!(numify("-1"), Ok(-1));
        assert_eq!(numify("+7"), Ok(7));
        assert_eq!(numify("0x10"), Ok(16));
        assert_eq!(numify("0XfF"), Ok(255));
        assert_eq!(numify("-0x10"), Ok(-16));
        assert_eq!(numify("9223372036854775807"), Ok(i64::MAX));
        for bad in ["", "hello", " 1", "1 ", "1.5", "0x", "0x1.8", "0x1p3", "+0x10", "9223372036854775808", "--1"] {
            assert_eq!(numify(bad), Err(format!("Failed to convert '{bad}' to number")), "{bad:?}");
        }
    }

    #[test]
    fn virtual_paths_normalize() {
        assert_eq!(normalize("/one/"), "/one");
        assert_eq!(normalize("one"), "one");
        assert_eq!(normalize("one//two/"), "one/two");
        assert_eq!(normalize("/"), "");
        assert_eq!(normalize("file:///a/b"), "/a/b");
    }

    fn target(files: &FilesProcess, path: &str) -> Option<(String, String)> {
        files.target(path).map(|t| (t.root.to_string_lossy().into_owned(), t.suffix))
    }

    #[test]
    fn lookup_takes_the_longest_prefix_by_segments() {
        let mut files = FilesProcess::default();
        files.paths.insert("/a".into(), "/real/a".into());
        files.paths.insert("/a/b".into(), "/real/ab".into());
        files.paths.insert("rel".into(), "/real/rel".into());
        assert_eq!(target(&files, "/a/b/c/d"), Some(("/real/ab".into(), "c/d".into())));
        assert_eq!(target(&files, "/a/bc"), Some(("/real/a".into(), "bc".into())));
        assert_eq!(target(&files, "/a/"), Some(("/real/a".into(), String::new())));
        assert_eq!(target(&files, "rel/x"), Some(("/real/rel".into(), "x".into())));
        assert_eq!(target(&files, "/rel/x"), None);
        assert_eq!(target(&files, "/ab"), None);
        // The root catches every absolute path, never a relative one.
        files.paths.insert(String::new(), "/".into());
        assert_eq!(target(&files, "/ab"), Some(("/".into(), "ab".into())));
        assert_eq!(target(&files, "x/y"), None);
    }

    #[test]
    fn modes_print_as_ls_does() {
        assert_eq!(mode_string(libc::S_IFDIR | 0o755), "drwxr-xr-x");
        assert_eq!(mode_string(libc::S_IFREG | 0o640), "-rw-r-----");
        assert_eq!(mode_string(libc::S_IFLNK | 0o777), "lrwxrwxrwx");
        assert_eq!(mode_string(libc::S_IFCHR | 0o620), "crw--w----");
        assert_eq!(mode_string(libc::S_IFBLK | 0o660), "brw-rw----");
        assert_eq!(mode_string(libc::S_IFIFO | 0o644), "prw-r--r--");
        assert_eq!(mode_string(libc::S_IFSOCK | 0o4755), "srwxr-xr-x");
        assert_eq!(mode_string(0o1), "---------x");
    }

    #[test]
    fn mime_types_by_extension() {
        assert!(MIME_TYPES.windows(2).all(|w| w[0].0 < w[1].0), "sorted");
        assert_eq!(MIME_TYPES.len(), 120);
        assert_eq!(mime_type("black.gif"), Some("image/gif"));
        assert_eq!(mime_type("stdout.txt"), Some("text/plain"));
        assert_eq!(mime_type("a.tar.gz"), None);
        assert_eq!(mime_type("binary"), None);
        assert_eq!(mime_type("BLACK.GIF"), None);
        assert_eq!(mime_type(".gif"), Some("image/gif"));
        assert_eq!(mime_type(".."), None);
    }

    #[test]
    fn torn_characters_wait_for_the_next_read() {
        let euro = "€".as_bytes(); // three bytes
        assert_eq!(without_torn_character([b"ab", &euro[..1]].concat()), b"ab");
        assert_eq!(without_torn_character([b"ab", &euro[..2]].concat()), b"ab");
        assert_eq!(without_torn_character([b"ab", euro].concat()), [b"ab", euro].concat());
        // Nothing before it: kept, so the reader still moves on.
        assert_eq!(without_torn_character(euro[..2].to_vec()), euro[..2].to_vec());
        // Not UTF-8 at all: kept.
        assert_eq!(without_torn_character(vec![b'a', 0xff]), vec![b'a', 0xff]);
        assert_eq!(without_torn_character(vec![b'a', 0x80, 0x80, 0x80, 0x80]), vec![b'a', 0x80, 0x80, 0x80, 0x80]);
    }

    #[test]
    fn users_and_groups_fall_back_to_numbers() {
        let mut names = Names::default();
        assert_eq!(names.user(0), "root");
        assert_eq!(names.group(0), "root");
        assert_eq!(names.user(4_000_000_123), "4000000123");
        assert_eq!(names.group(4_000_000_123), "4000000123");
    }
}
