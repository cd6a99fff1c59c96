//! Length-prefixed protobuf records on files and streams, and atomic checkpoint files; mirrors stout's `protobuf::{write,read,append}` (`3rdparty/stout/include/stout/protobuf.hpp`) and `state::checkpoint` (`src/slave/state.hpp`).
//!
//! A record is the message's size as a 4-byte unsigned integer in the machine's byte order
//! (little-endian on x86 and arm64), followed by the serialized message. The agent keeps
//! every checkpointed protobuf in this form: single-message files (`slave.info`,
//! `task.info`, ...) and append-only logs (`task.updates`). Files written by C++ agents on
//! the same machine read back here, and the reverse.
//!
//! An append-only log can end in a partial record when the writer died mid-write.
//! [`RecordReader`] reports that as [`ProtobufIoError::Truncated`] and keeps
//! [`RecordReader::offset`] at the end of the last whole record, so the caller can cut the
//! file there (what C++ recovery does with `ignorePartial` and `undoFailed`).
//!
//! Required fields are checked both ways, as C++ protobuf does. A record whose message lacks
//! one is refused when read; before a write the check is only a safeguard, since prost
//! always encodes `required` fields.

use std::fs::{self, File, OpenOptions};
use std::io::{self, ErrorKind, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use libprocess::protobuf::{check_required, decode_checked, type_name, ProtobufError};
use libprocess::ProtobufMessage;

/// Bytes of the size prefix.
pub const SIZE_PREFIX_LEN: usize = 4;

/// Why a record could not be written or read.
#[derive(Debug, thiserror::Error)]
pub enum ProtobufIoError {
    /// The operating system refused an operation on a stream.
    #[error("Failed to {operation}: {source}")]
    Io {
        operation: &'static str,
        #[source]
        source: io::Error,
    },
    /// The operating system refused an operation on a file.
    #[error("Failed to {operation} '{}': {source}", path.display())]
    File {
        operation: &'static str,
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    /// A message to write lacks a required field (C++: `... is required but not initialized`).
    #[error("'{type_name}' cannot be written: {error}")]
    Uninitialized { type_name: &'static str, error: ProtobufError },
    /// A message does not fit the 4-byte size prefix.
    #[error("'{type_name}' of {size} bytes is too large for a record")]
    TooLarge { type_name: &'static str, size: usize },
    /// The stream ended inside the record that starts at `offset` (a partial write).
    #[error(
        "Record at offset {offset} is truncated: hit EOF after {available} of {needed} bytes, possible corruption"
    )]
    Truncated { offset: u64, needed: u64, available: u64 },
    /// The record at `offset` is whole but is not a valid message of the expected type.
    #[error("Failed to deserialize '{type_name}' at offset {offset}: {error}")]
    Decode { type_name: &'static str, offset: u64, error: ProtobufError },
}

impl ProtobufIoError {
    /// Whether this is a partial trailing record, which a reader of an append-only log may
    /// drop, rather than damage.
    pub fn is_truncated(&self) -> bool {
        matches!(self, ProtobufIoError::Truncated { .. })
    }
}

/// `message` as one record: its size prefix, then its bytes.
pub fn encode_record<M: ProtobufMessage>(message: &M) -> Result<Vec<u8>, ProtobufIoError> {
    let size = message.encoded_len();
    let prefix = u32::try_from(size).map_err(|_| ProtobufIoError::TooLarge { type_name: type_name::<M>(), size })?;
    let mut record = Vec::with_capacity(SIZE_PREFIX_LEN + size);
    record.extend_from_slice(&prefix.to_ne_bytes());
    message.encode(&mut record).map_err(|error| ProtobufIoError::Io {
        operation: "serialize message",
        source: io::Error::other(error.to_string()),
    })?;
    check_required(&record[SIZE_PREFIX_LEN..], M::schema())
        .map_err(|error| ProtobufIoError::Uninitialized { type_name: type_name::<M>(), error })?;
    Ok(record)
}

/// Writes `message` as one record. C++ writes the prefix and the message with two system
/// calls; here both go out in one `write_all`, which on an `O_APPEND` file makes a torn
/// record less likely (though a crash can still leave one).
pub fn write_record<M: ProtobufMessage, W: Write + ?Sized>(writer: &mut W, message: &M) -> Result<(), ProtobufIoError> {
    let record = encode_record(message)?;
    writer.write_all(&record).map_err(|source| ProtobufIoError::Io { operation: "write record", source })
}

/// Reads records one after another from a stream (C++ `protobuf::read(fd, ...)` in a loop).
///
/// After an error the underlying stream's position is inside the failed record; read no
/// further. [`RecordReader::offset`] still names where that record starts.
pub struct RecordReader<R> {
    inner: R,
    offset: u64,
}

impl<R: Read> RecordReader<R> {
    pub fn new(inner: R) -> RecordReader<R> {
        RecordReader { inner, offset: 0 }
    }

    /// Bytes consumed by the whole records read so far: where the next record starts, or
    /// where a failed one started.
    pub fn offset(&self) -> u64 {
        self.offset
    }

    pub fn into_inner(self) -> R {
        self.inner
    }

    /// The next message; `Ok(None)` at a clean end (no byte after the last record).
    pub fn read<M: ProtobufMessage>(&mut self) -> Result<Option<M>, ProtobufIoError> {
        let start = self.offset;
        let mut prefix = [0u8; SIZE_PREFIX_LEN];
        let got = read_full(&mut self.inner, &mut prefix)?;
        if got == 0 {
            return Ok(None);
        }
        if got < SIZE_PREFIX_LEN {
            return Err(ProtobufIoError::Truncated {
                offset: start,
                needed: SIZE_PREFIX_LEN as u64,
                available: got as u64,
            });
        }
        let size = u32::from_ne_bytes(prefix) as u64;
        // The size may be garbage: grow the buffer as bytes arrive instead of trusting it.
        let mut body = Vec::with_capacity(size.min(64 * 1024) as usize);
        (&mut self.inner)
            .take(size)
            .read_to_end(&mut body)
            .map_err(|source| ProtobufIoError::Io { operation: "read message", source })?;
        if (body.len() as u64) < size {
            return Err(ProtobufIoError::Truncated {
                offset: start,
                needed: SIZE_PREFIX_LEN as u64 + size,
                available: (SIZE_PREFIX_LEN + body.len()) as u64,
            });
        }
        let message = decode_checked::<M>(&body).map_err(|error| ProtobufIoError::Decode {
            type_name: type_name::<M>(),
            offset: start,
            error,
        })?;
        self.offset = start + SIZE_PREFIX_LEN as u64 + size;
        Ok(Some(message))
    }
}

/// Fills `buf` unless the stream ends first; returns the bytes read.
fn read_full<R: Read>(reader: &mut R, buf: &mut [u8]) -> Result<usize, ProtobufIoError> {
    let mut filled = 0;
    while filled < buf.len() {
        match reader.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(error) if error.kind() == ErrorKind::Interrupted => continue,
            Err(source) => return Err(ProtobufIoError::Io { operation: "read size", source }),
        }
    }
    Ok(filled)
}

/// The first record of the file at `path`; `None` if the file is empty (C++
/// `protobuf::read(path)`, which the agent's `state::read` uses for single-message files).
/// Bytes after the first record are not looked at.
pub fn read_file<M: ProtobufMessage>(path: &Path) -> Result<Option<M>, ProtobufIoError> {
    let file = File::open(path).map_err(|source| file_error("open", path, source))?;
    RecordReader::new(io::BufReader::new(file)).read()
}

/// Appends `message` as one record to the file at `path`, creating it (mode 0644) if needed,
/// and syncs it if `sync` (C++ `protobuf::append`).
pub fn append_file<M: ProtobufMessage>(path: &Path, message: &M, sync: bool) -> Result<(), ProtobufIoError> {
    let record = encode_record(message)?;
    let mut file = open_append(path)?;
    file.write_all(&record).map_err(|source| file_error("write", path, source))?;
    if sync {
        file.sync_all().map_err(|source| file_error("sync", path, source))?;
    }
    Ok(())
}

/// Opens `path` for appending records, creating it with mode 0644 if needed, as the
/// agent's status update streams do.
pub fn open_append(path: &Path) -> Result<File, ProtobufIoError> {
    let mut options = OpenOptions::new();
    options.create(true).append(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o644);
    }
    options.open(path).map_err(|source| file_error("open", path, source))
}

/// Writes `message` as a single-record file at `path`, atomically (see [`checkpoint`]).
pub fn checkpoint_message<M: ProtobufMessage>(path: &Path, message: &M) -> Result<(), ProtobufIoError> {
    checkpoint(path, &encode_record(message)?)
}

/// Replaces the file at `path` with `contents` so that a crash leaves either the old or the
/// new file, never a mix (C++ `slave::state::checkpoint`): creates the parent directories,
/// writes a temporary file next to `path` (same file system, so the rename is atomic),
/// syncs it, renames it over `path`, and syncs the directory.
///
/// Upstream syncs only on request; here a checkpoint is always durable. A crash can leave
/// the temporary file (`.<name>.tmp-<pid>-<n>`) behind; readers look only at their own
/// file names, so it is harmless.
pub fn checkpoint(path: &Path, contents: &[u8]) -> Result<(), ProtobufIoError> {
    static COUNTER: AtomicU64 = AtomicU64::new(0);

    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    fs::create_dir_all(dir).map_err(|source| file_error("create directory", dir, source))?;
    let name = path.file_name().map(|name| name.to_string_lossy().into_owned()).unwrap_or_default();

    let (tmp, mut file) = loop {
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let tmp = dir.join(format!(".{name}.tmp-{}-{n}", std::process::id()));
        match OpenOptions::new().write(true).create_new(true).open(&tmp) {
            Ok(file) => break (tmp, file),
            Err(error) if error.kind() == ErrorKind::AlreadyExists => continue,
            Err(source) => return Err(file_error("create temporary file", &tmp, source)),
        }
    };

    let written = file
        .write_all(contents)
        .map_err(|source| file_error("write", &tmp, source))
        .and_then(|()| file.sync_all().map_err(|source| file_error("sync", &tmp, source)));
    drop(file);
    if let Err(error) =
        written.and_then(|()| fs::rename(&tmp, path).map_err(|source| file_error("rename", &tmp, source)))
    {
        // Best effort: the write already failed.
        let _ = fs::remove_file(&tmp);
        return Err(error);
    }
    File::open(dir).and_then(|dir| dir.sync_all()).map_err(|source| file_error("sync directory", dir, source))
}

fn file_error(operation: &'static str, path: &Path, source: io::Error) -> ProtobufIoError {
    ProtobufIoError::File { operation, path: path.to_path_buf(), source }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::{FrameworkId, TaskId};

    fn id(value: &str) -> FrameworkId {
        FrameworkId { value: value.to_string() }
    }

    #[test]
    fn a_record_is_a_native_endian_size_then_the_message() {
        let record = encode_record(&id("f")).unwrap();
        // `FrameworkID{value: "f"}` is field 1, length 1, 'f'.
        assert_eq!(record, [3u32.to_ne_bytes().as_slice(), &[0x0a, 0x01, b'f']].concat());
    }

    #[test]
    fn records_read_back_in_order_and_end_cleanly() {
        let mut bytes = Vec::new();
        for value in ["a", "bb", ""] {
            write_record(&mut bytes, &TaskId { value: value.to_string() }).unwrap();
        }
        let mut reader = RecordReader::new(bytes.as_slice());
        let mut values = Vec::new();
        while let Some(task) = reader.read::<TaskId>().unwrap() {
            values.push(task.value);
        }
        assert_eq!(values, ["a", "bb", ""]);
        assert_eq!(reader.offset(), bytes.len() as u64);
    }

    #[test]
    fn a_torn_record_is_reported_at_its_start_whatever_byte_it_ends_at() {
        let mut bytes = Vec::new();
        write_record(&mut bytes, &id("first")).unwrap();
        let whole = bytes.len();
        write_record(&mut bytes, &id("second")).unwrap();
        for cut in whole + 1..bytes.len() {
            let mut reader = RecordReader::new(&bytes[..cut]);
            assert_eq!(reader.read::<FrameworkId>().unwrap().unwrap().value, "first");
            let error = reader.read::<FrameworkId>().unwrap_err();
            assert!(error.is_truncated(), "cut at {cut}: {error}");
            assert_eq!(reader.offset(), whole as u64);
        }
    }

    #[test]
    fn a_huge_size_prefix_is_truncation_not_an_allocation() {
        let mut bytes = u32::MAX.to_ne_bytes().to_vec();
        bytes.extend_from_slice(b"abc");
        let error = RecordReader::new(bytes.as_slice()).read::<FrameworkId>().unwrap_err();
        assert!(matches!(error, ProtobufIoError::Truncated { offset: 0, available: 7, .. }), "{error}");
    }

    #[test]
    fn garbage_and_missing_required_fields_are_decode_errors() {
        // A whole record whose body is not protobuf (field 0 is invalid).
        let mut bytes = 2u32.to_ne_bytes().to_vec();
        bytes.extend_from_slice(&[0x00, 0x00]);
        let error = RecordReader::new(bytes.as_slice()).read::<FrameworkId>().unwrap_err();
        assert!(matches!(error, ProtobufIoError::Decode { offset: 0, .. }), "{error}");

        // An empty body is a `FrameworkID` without its required `value`.
        let bytes = 0u32.to_ne_bytes();
        let error = RecordReader::new(bytes.as_slice()).read::<FrameworkId>().unwrap_err();
        assert!(matches!(error, ProtobufIoError::Decode { .. }), "{error}");
    }

    #[test]
    fn checkpoint_replaces_the_file_and_leaves_no_temporary_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a/b/framework.info");
        checkpoint_message(&path, &id("one")).unwrap();
        checkpoint_message(&path, &id("two")).unwrap();
        assert_eq!(read_file::<FrameworkId>(&path).unwrap().unwrap().value, "two");
        let names: Vec<String> = fs::read_dir(path.parent().unwrap())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        assert_eq!(names, ["framework.info"]);

        checkpoint(&dir.path().join("boot_id"), b"1234\n").unwrap();
        assert_eq!(fs::read(dir.path().join("boot_id")).unwrap(), b"1234\n");
    }

    #[test]
    fn an_empty_file_reads_as_none_and_append_adds_records() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log");
        File::create(&path).unwrap();
        assert!(read_file::<FrameworkId>(&path).unwrap().is_none());
        append_file(&path, &id("x"), false).unwrap();
        append_file(&path, &id("y"), true).unwrap();
        let mut reader = RecordReader::new(File::open(&path).unwrap());
        assert_eq!(reader.read::<FrameworkId>().unwrap().unwrap().value, "x");
        assert_eq!(reader.read::<FrameworkId>().unwrap().unwrap().value, "y");
        assert!(reader.read::<FrameworkId>().unwrap().is_none());
        assert!(matches!(read_file::<FrameworkId>(&dir.path().join("absent")), Err(ProtobufIoError::File { .. })));
    }
}
