//! `DirectoryStorage`: one file per entry in a local directory, replaced atomically and synced (the durable single-master backend, in the role of `src/state/leveldb.cpp`).
//!
//! Each entry is the serialized `Entry` in a file named after the entry (bytes outside
//! `[A-Za-z0-9_-]` as `%XX`, so names with `/` stay flat and no file name contains a dot).
//! A write goes to `<file>.tmp`, is synced, renamed over the file, and the directory is
//! synced, so after a crash the file holds either the old or the new entry, never a mix. A
//! `.tmp` file left by a crash is ignored by every read and deleted when the directory is
//! opened.
//!
//! The version check and the write happen under one lock, so compare-and-swap is atomic
//! among the users of one `DirectoryStorage` (like LevelDB, which one process opens at a
//! time). Two `DirectoryStorage`s must not share a directory. All file work runs on tokio's
//! blocking pool.

use std::collections::BTreeSet;
use std::fs;
use std::io::{ErrorKind, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use prost::Message as _;

use super::{run_blocking, Entry, Storage, StorageError, StorageFuture, Uuid};

const TMP_SUFFIX: &str = ".tmp";

#[derive(Clone)]
pub struct DirectoryStorage {
    inner: Arc<Inner>,
}

struct Inner {
    dir: PathBuf,
    /// Held across each read-compare-write so that compare-and-swap is atomic.
    lock: Mutex<()>,
}

fn io<'a>(operation: &'static str, path: &'a Path) -> impl FnOnce(std::io::Error) -> StorageError + 'a {
    move |source| StorageError::Io { operation, path: path.to_path_buf(), source }
}

impl DirectoryStorage {
    /// Opens (creating it if needed) the directory `dir` and deletes temporary files left
    /// by an interrupted write. Runs on the caller's thread: call it at start-up, before
    /// the actors that use it run.
    pub fn open(dir: impl Into<PathBuf>) -> Result<DirectoryStorage, StorageError> {
        let dir = dir.into();
        fs::create_dir_all(&dir).map_err(io("Creating directory", &dir))?;
        for entry in fs::read_dir(&dir).map_err(io("Listing directory", &dir))? {
            let entry = entry.map_err(io("Listing directory", &dir))?;
            if entry.file_name().to_string_lossy().ends_with(TMP_SUFFIX) {
                let path = entry.path();
                tracing::warn!(path = %path.display(), "removing temporary file left by an interrupted write");
                fs::remove_file(&path).map_err(io("Removing", &path))?;
            }
        }
        Ok(DirectoryStorage { inner: Arc::new(Inner { dir, lock: Mutex::new(()) }) })
    }

    pub fn dir(&self) -> &Path {
        &self.inner.dir
    }

    /// The file that holds entry `name`.
    pub fn path_of(&self, name: &str) -> PathBuf {
        self.inner.dir.join(encode(name))
    }
}

/// `name` as a file name: `[A-Za-z0-9_-]` kept, every other byte as `%XX`.
fn encode(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for byte in name.bytes() {
        if byte.is_ascii_alphanumeric() || byte == b'_' || byte == b'-' {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    // The empty name still needs a file name distinct from every other.
    if out.is_empty() {
        out.push('%');
    }
    out
}

/// The inverse of [`encode`]; `None` for a file name [`encode`] cannot have produced.
fn decode(file: &str) -> Option<String> {
    if file == "%" {
        return Some(String::new());
    }
    let bytes = file.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' => {
                let hex = file.get(i + 1..i + 3)?;
                out.push(u8::from_str_radix(hex, 16).ok()?);
                i += 3;
            }
            b if b.is_ascii_alphanumeric() || b == b'_' || b == b'-' => {
                out.push(b);
                i += 1;
            }
            _ => return None,
        }
    }
    String::from_utf8(out).ok()
}

impl Inner {
    fn read(&self, name: &str) -> Result<Option<Entry>, StorageError> {
        let path = self.dir.join(encode(name));
        let bytes = match fs::read(&path) {
            Ok(bytes) => bytes,
            Err(error) if error.kind() == ErrorKind::NotFound => return Ok(None),
            Err(source) => return Err(StorageError::Io { operation: "Reading", path, source }),
        };
        let corrupt = |reason: String| StorageError::Corrupt { path: path.clone(), reason };
        let entry = Entry::decode(bytes.as_slice()).map_err(|error| corrupt(error.to_string()))?;
        if entry.name != name {
            return Err(corrupt(format!("it names entry '{}'", entry.name)));
        }
        Uuid::from_bytes(&entry.uuid).map_err(|error| corrupt(error.to_string()))?;
        Ok(Some(entry))
    }

    /// Replaces the file of `entry` atomically: temporary file, sync, rename, sync the
    /// directory.
    fn write(&self, entry: &Entry) -> Result<(), StorageError> {
        let path = self.dir.join(encode(&entry.name));
        let tmp = self.dir.join(format!("{}{TMP_SUFFIX}", encode(&entry.name)));
        let mut file = fs::File::create(&tmp).map_err(io("Creating", &tmp))?;
        file.write_all(&entry.encode_to_vec()).map_err(io("Writing", &tmp))?;
        file.sync_all().map_err(io("Syncing", &tmp))?;
        drop(file);
        fs::rename(&tmp, &path).map_err(io("Renaming", &tmp))?;
        self.sync_dir()
    }

    fn sync_dir(&self) -> Result<(), StorageError> {
        fs::File::open(&self.dir).and_then(|dir| dir.sync_all()).map_err(io("Syncing directory", &self.dir))
    }

    fn locked(&self) -> std::sync::MutexGuard<'_, ()> {
        // The lock guards no data, only the order of file operations.
        self.lock.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl Storage for DirectoryStorage {
    fn get(&self, name: &str) -> StorageFuture<Option<Entry>> {
        let inner = self.inner.clone();
        let name = name.to_string();
        run_blocking(move || {
            let _guard = inner.locked();
            inner.read(&name)
        })
    }

    fn set(&self, entry: Entry, uuid: Uuid) -> StorageFuture<bool> {
        let inner = self.inner.clone();
        run_blocking(move || {
            let _guard = inner.locked();
            if inner.read(&entry.name)?.is_some_and(|current| current.uuid != uuid.as_bytes()) {
                return Ok(false);
            }
            inner.write(&entry)?;
            Ok(true)
        })
    }

    fn expunge(&self, entry: Entry) -> StorageFuture<bool> {
        let inner = self.inner.clone();
        run_blocking(move || {
            let _guard = inner.locked();
            match inner.read(&entry.name)? {
                Some(current) if current.uuid == entry.uuid => {}
                _ => return Ok(false),
            }
            let path = inner.dir.join(encode(&entry.name));
            fs::remove_file(&path).map_err(io("Removing", &path))?;
            inner.sync_dir()?;
            Ok(true)
        })
    }

    fn names(&self) -> StorageFuture<BTreeSet<String>> {
        let inner = self.inner.clone();
        run_blocking(move || {
            let _guard = inner.locked();
            let mut names = BTreeSet::new();
            for entry in fs::read_dir(&inner.dir).map_err(io("Listing directory", &inner.dir))? {
                let entry = entry.map_err(io("Listing directory", &inner.dir))?;
                // Temporary files contain a dot, which `decode` rejects.
                if let Some(name) = entry.file_name().to_str().and_then(decode) {
                    names.insert(name);
                }
            }
            Ok(names)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_round_trip_and_never_contain_a_dot() {
        for name in ["registry", "registrar/registry", "", "a.b", "%", "ünï", "-_09AZaz"] {
            let file = encode(name);
            assert!(!file.contains('.') && !file.contains('/'), "{file}");
            assert_eq!(decode(&file).as_deref(), Some(name));
        }
        assert_eq!(decode("registry.tmp"), None);
        assert_eq!(decode("%G0"), None);
        assert_eq!(decode("%4"), None);
    }
}
