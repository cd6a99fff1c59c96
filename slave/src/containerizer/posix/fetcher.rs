//! The fetcher: puts a command's URIs into its sandbox before it starts (local paths copied, `http://` downloaded, `executable` made executable, archives extracted, `output_file` honoured), logging to the sandbox's `stderr`; mirrors `src/slave/containerizer/fetcher.cpp` (`Fetcher::{basename,validateUri,validateOutputFile,uriToLocalPath,isNetUri}`, `FetcherProcess::run`) and the `mesos-fetcher` program `src/launcher/fetcher.cpp`.
//!
//! C++ runs `mesos-fetcher` as a child process, as the task's user. Here the fetch runs in
//! the agent (disk work on tokio's blocking pool, downloads on its I/O threads) and the
//! containerizer hands the results to the user afterwards (`chown` of the sandbox). There
//! is no fetcher cache: every URI is fetched as if `cache` were false (C++
//! `fetchBypassingCache`). Archives: `.tar`, `.tgz`, `.tar.gz` and bare `.gz` are
//! extracted; `.zip`, `.tbz2`, `.tar.bz2`, `.txz`, `.tar.xz` fail with a clear error (C++
//! uses libarchive). Hadoop (`hdfs://`, ...), FTP and HTTPS URIs are refused likewise.

use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Component, Path, PathBuf};
use std::time::Duration;

use mesos::proto::command_info::Uri;
use mesos::proto::CommandInfo;

use super::download;

/// The fetcher's settings (C++ agent flags).
#[derive(Clone, Debug)]
pub struct FetcherOptions {
    /// Prefix of relative local URIs (`--frameworks_home`).
    pub frameworks_home: Option<PathBuf>,
    /// A download with no byte for this long fails (`--fetcher_stall_timeout`).
    pub stall_timeout: Duration,
}

impl Default for FetcherOptions {
    fn default() -> FetcherOptions {
        // `DEFAULT_FETCHER_STALL_TIMEOUT` in `src/slave/constants.hpp`.
        FetcherOptions { frameworks_home: None, stall_timeout: Duration::from_secs(60) }
    }
}

/// Who the fetched files (and `stdout`/`stderr`) belong to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Owner {
    pub name: String,
    pub uid: u32,
    pub gid: u32,
}

/// The file name a URI is fetched to (C++ `Fetcher::basename`): what follows the last `/`
/// of the path after `scheme://`, or the path's last component. URIs are treated as paths,
/// so a query string stays in the name, as upstream.
pub fn basename(uri: &str) -> Result<String, String> {
    if uri.contains(['\\', '\'', '\0']) {
        return Err("Illegal characters in URI".into());
    }
    let name = match uri.find("://") {
        Some(index) if index > 1 => {
            let path = &uri[index + 3..];
            match path.find('/') {
                Some(slash) if path.len() > slash + 1 => path[path.rfind('/').map_or(0, |i| i + 1)..].to_string(),
                _ => return Err(format!("Malformed URI (missing path): {uri}")),
            }
        }
        _ => path_basename(uri),
    };
    // Not upstream: a name that is empty, `.`, `..` or `/` would point at a directory.
    if matches!(name.as_str(), "" | "." | ".." | "/") {
        return Err(format!("Malformed URI (missing file name): {uri}"));
    }
    Ok(name)
}

/// stout's `Path::basename`: the last component, ignoring trailing slashes (`.` for an
/// empty path, `/` for the root).
fn path_basename(path: &str) -> String {
    if path.is_empty() {
        return ".".into();
    }
    let trimmed = path.trim_end_matches('/');
    if trimmed.is_empty() {
        return "/".into();
    }
    trimmed[trimmed.rfind('/').map_or(0, |i| i + 1)..].to_string()
}

/// stout's `Path::dirname`: everything before the last component (`.` if none).
fn path_dirname(path: &str) -> String {
    let trimmed = path.trim_end_matches('/');
    match trimmed.rfind('/') {
        None => ".".into(),
        Some(0) => "/".into(),
        Some(i) => trimmed[..i].trim_end_matches('/').to_string(),
    }
}

/// C++ `Fetcher::validateOutputFile`, plus (not upstream, where it is a TODO) a refusal of
/// `..` components, which would leave the sandbox.
pub fn validate_output_file(path: &str) -> Result<(), String> {
    if path.is_empty() {
        return Err("URI output file path is empty".into());
    }
    if path.starts_with('/') || Path::new(path).components().any(|c| c == Component::ParentDir) {
        return Err("URI output file must be within the sandbox directory".into());
    }
    Ok(())
}

/// Every URI and output file of `command` (C++ `validateUris`).
pub fn validate_uris(command: &CommandInfo) -> Result<(), String> {
    for uri in &command.uris {
        basename(&uri.value)?;
        if let Some(output) = &uri.output_file {
            validate_output_file(output)?;
        }
    }
    Ok(())
}

/// The local path of a `file://` URI or of a URI without a scheme (C++
/// `Fetcher::uriToLocalPath`); `None` for other schemes.
pub fn local_path(uri: &str, frameworks_home: Option<&Path>) -> Result<Option<PathBuf>, String> {
    let file_uri = uri.starts_with("file://");
    if !file_uri && uri.contains("://") {
        return Ok(None);
    }
    let path = uri.strip_prefix("file://").unwrap_or(uri);
    let path = path.strip_prefix("localhost").unwrap_or(path);
    if path.starts_with('/') {
        return Ok(Some(PathBuf::from(path)));
    }
    if file_uri {
        return Err("File URI only supports absolute paths".into());
    }
    match frameworks_home {
        Some(home) if !home.as_os_str().is_empty() => Ok(Some(home.join(path))),
        _ => Err("A relative path was passed for the resource but the Mesos framework home was not specified. \
                  Please either provide this config option or avoid using a relative path"
            .into()),
    }
}

/// Whether a URI is one C++ hands to libcurl (C++ `Fetcher::isNetUri`).
pub fn is_net_uri(uri: &str) -> bool {
    ["http://", "https://", "ftp://", "ftps://"].iter().any(|scheme| uri.starts_with(scheme))
}

/// The sandbox's output files, as the fetcher makes them before fetching.
pub const STDOUT: &str = "stdout";
pub const STDERR: &str = "stderr";

/// Fetches every URI of `command` into `sandbox`. Creates (truncating) the sandbox's
/// `stdout` and `stderr` first and gives them, and at the end everything fetched, to
/// `owner`. The error is the text for `ContainerizerError::Fetch`.
pub async fn fetch(
    command: &CommandInfo,
    sandbox: &Path,
    owner: Option<&Owner>,
    options: &FetcherOptions,
) -> Result<(), String> {
    validate_uris(command).map_err(|error| format!("Could not fetch: {error}"))?;

    let (sandbox_dir, owner_copy) = (sandbox.to_path_buf(), owner.cloned());
    let log = blocking(move || create_output_files(&sandbox_dir, owner_copy.as_ref())).await??;
    if command.uris.is_empty() {
        return Ok(());
    }
    let log = Log(log);
    for uri in &command.uris {
        log.line(&format!("Fetching URI '{}'", uri.value));
        match fetch_uri(uri, sandbox, options, &log).await {
            Ok(path) => log.line(&format!("Fetched '{}' to '{}'", uri.value, path.display())),
            Err(error) => {
                let message = format!("Failed to fetch '{}': {error}", uri.value);
                log.line(&message);
                return Err(message);
            }
        }
    }
    log.line(&format!("Successfully fetched all URIs into '{}'", sandbox.display()));
    if let Some(owner) = owner.cloned() {
        let sandbox = sandbox.to_path_buf();
        blocking(move || chown_recursive(&sandbox, &owner)).await??;
    }
    Ok(())
}

/// The fetcher's log lines, appended to the sandbox's `stderr` (C++ `mesos-fetcher` logs
/// there through glog).
struct Log(std::fs::File);

impl Log {
    fn line(&self, text: &str) {
        tracing::info!("{text}");
        // Best effort, as a log is.
        let _ = writeln!(&self.0, "{text}");
    }
}

async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> Result<T, String> {
    tokio::task::spawn_blocking(f).await.map_err(|error| format!("The fetcher's worker failed: {error}"))
}

/// Creates (truncating) `stdout` and `stderr` with mode 0644 and hands them to `owner`
/// (C++ `FetcherProcess::run`); returns `stderr` opened for appending the fetch log.
fn create_output_files(sandbox: &Path, owner: Option<&Owner>) -> Result<std::fs::File, String> {
    for name in [STDOUT, STDERR] {
        let path = sandbox.join(name);
        std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o644)
            .open(&path)
            .map_err(|error| format!("Failed to create '{name}' file: {error}"))?;
        if let Some(owner) = owner {
            chown(&path, owner)?;
        }
    }
    // Appended to from now on, as the container's own writes are.
    std::fs::OpenOptions::new()
        .append(true)
        .open(sandbox.join(STDERR))
        .map_err(|error| format!("Failed to open 'stderr': {error}"))
}

fn chown(path: &Path, owner: &Owner) -> Result<(), String> {
    std::os::unix::fs::lchown(path, Some(owner.uid), Some(owner.gid)).map_err(|error| {
        format!(
            "Failed to chown '{}' to user '{}' : {}",
            path.display(),
            owner.name,
            super::launcher::error_text(&error)
        )
    })
}

/// Gives `path` and everything under it to `owner` (C++ `os::chown(user, path, true)`);
/// symbolic links are changed themselves, never followed.
pub fn chown_recursive(path: &Path, owner: &Owner) -> Result<(), String> {
    chown(path, owner)?;
    let metadata = std::fs::symlink_metadata(path).map_err(|error| format!("{}: {error}", path.display()))?;
    if metadata.is_dir() {
        let entries = std::fs::read_dir(path).map_err(|error| format!("{}: {error}", path.display()))?;
        for entry in entries {
            let entry = entry.map_err(|error| format!("{}: {error}", path.display()))?;
            chown_recursive(&entry.path(), owner)?;
        }
    }
    Ok(())
}

/// One URI straight into the sandbox (C++ `fetchBypassingCache`); returns the file made.
async fn fetch_uri(uri: &Uri, sandbox: &Path, options: &FetcherOptions, log: &Log) -> Result<PathBuf, String> {
    if let Some(output) = &uri.output_file {
        let dirname = path_dirname(output);
        if dirname != "." {
            let dir = sandbox.join(&dirname);
            blocking(move || std::fs::create_dir_all(&dir))
                .await?
                .map_err(|error| format!("Unable to create subdirectory {dirname} in sandbox: {error}"))?;
        }
    }
    let name = match &uri.output_file {
        Some(output) => output.clone(),
        None => basename(&uri.value)?,
    };
    let path = sandbox.join(name);
    download(&uri.value, &path, options).await?;
    if uri.executable() {
        let target = path.clone();
        blocking(move || std::fs::set_permissions(&target, std::fs::Permissions::from_mode(0o755)))
            .await?
            .map_err(|error| format!("Failed to chmod executable '{}': {error}", path.display()))?;
    } else if uri.extract() {
        let (source, destination) = (path.clone(), sandbox.to_path_buf());
        if !blocking(move || extract(&source, &destination)).await?? {
            log.line(&format!(
                "Copying instead of extracting resource from URI with 'extract' flag, because it does not seem to be an \
                 archive: {}",
                uri.value
            ));
        }
    }
    Ok(path)
}

/// C++ `download`: a local copy, or an HTTP download.
async fn download(uri: &str, destination: &Path, options: &FetcherOptions) -> Result<(), String> {
    let uri = uri.trim_start();
    basename(uri)?;
    if let Some(source) = local_path(uri, options.frameworks_home.as_deref())? {
        let destination = destination.to_path_buf();
        return blocking(move || copy_file(&source, &destination)).await?;
    }
    if is_net_uri(uri) {
        return download::download(uri, destination, options.stall_timeout).await;
    }
    Err(format!(
        "Unsupported URI '{uri}': only local paths, file:// and http:// URIs can be fetched (no Hadoop client)"
    ))
}

/// C++ `os::copyfile`: one regular file (symbolic links followed) to a path that is not a
/// directory.
fn copy_file(source: &Path, destination: &Path) -> Result<(), String> {
    if source.is_dir() || source.as_os_str().to_string_lossy().ends_with('/') {
        return Err("`source` was a directory".into());
    }
    if destination.is_dir() {
        return Err("`destination` was a directory".into());
    }
    std::fs::copy(source, destination)
        .map(|_| ())
        .map_err(|error| format!("Failed to copy '{}' to '{}': {error}", source.display(), destination.display()))
}

/// C++ `extract`: unpacks a recognised archive into `directory`; `Ok(false)` for a file that
/// is not one.
pub fn extract(source: &Path, directory: &Path) -> Result<bool, String> {
    let name = source.to_string_lossy();
    let failed = |error: &dyn std::fmt::Display| {
        format!("Failed to extract archive '{}' to '{}': {error}", source.display(), directory.display())
    };
    let open = || std::fs::File::open(source).map_err(|error| failed(&error));
    if name.ends_with(".tar") {
        tar::Archive::new(open()?).unpack(directory).map_err(|error| failed(&error))?;
        return Ok(true);
    }
    if name.ends_with(".tgz") || name.ends_with(".tar.gz") {
        let decoder = flate2::read::GzDecoder::new(open()?);
        tar::Archive::new(decoder).unpack(directory).map_err(|error| failed(&error))?;
        return Ok(true);
    }
    for (suffix, kind) in
        [(".tbz2", "bzip2"), (".tar.bz2", "bzip2"), (".txz", "xz"), (".tar.xz", "xz"), (".zip", "zip")]
    {
        if name.ends_with(suffix) {
            return Err(failed(&format!("{kind} archives are not supported by this fetcher")));
        }
    }
    if let Some(stem) = name.strip_suffix(".gz") {
        // A bare gzipped file (C++ runs `gunzip -d -c`).
        let target = directory.join(path_basename(stem));
        let failed = |error: &dyn std::fmt::Display| format!("Failed to extract '{}': {error}", source.display());
        let mut decoder = flate2::read::MultiGzDecoder::new(std::fs::File::open(source).map_err(|e| failed(&e))?);
        let mut output = std::fs::File::create(&target).map_err(|e| failed(&e))?;
        std::io::copy(&mut decoder, &mut output).map_err(|e| failed(&e))?;
        return Ok(true);
    }
    Ok(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basenames_as_cpp() {
        assert_eq!(basename("http://host/path/file.tar.gz").unwrap(), "file.tar.gz");
        assert_eq!(basename("hdfs://namenode:9000/a/b").unwrap(), "b");
        assert_eq!(basename("http://host/x?y=/z").unwrap(), "z");
        assert_eq!(basename("/tmp/dir/file").unwrap(), "file");
        assert_eq!(basename("relative/file/").unwrap(), "file");
        assert_eq!(basename("file").unwrap(), "file");
        assert_eq!(basename("file:///tmp/a").unwrap(), "a");
        assert_eq!(basename("http://host").unwrap_err(), "Malformed URI (missing path): http://host");
        assert_eq!(basename("http://host/").unwrap_err(), "Malformed URI (missing path): http://host/");
        assert_eq!(basename("/tmp/it's").unwrap_err(), "Illegal characters in URI");
        assert_eq!(basename("a\\b").unwrap_err(), "Illegal characters in URI");
        assert!(basename("http://host/dir/").unwrap_err().contains("missing file name"));
        assert!(basename("/").unwrap_err().contains("missing file name"));
        assert!(basename("..").unwrap_err().contains("missing file name"));
    }

    #[test]
    fn paths_as_stout() {
        assert_eq!(path_basename(""), ".");
        assert_eq!(path_basename("///"), "/");
        assert_eq!(path_basename("a/b//"), "b");
        assert_eq!(path_dirname("a/b"), "a");
        assert_eq!(path_dirname("b"), ".");
        assert_eq!(path_dirname("/b"), "/");
        assert_eq!(path_dirname("a//b/c"), "a//b");
    }

    #[test]
    fn output_files_stay_in_the_sandbox() {
        assert!(validate_output_file("sub/dir/file").is_ok());
        assert_eq!(validate_output_file("").unwrap_err(), "URI output file path is empty");
        assert_eq!(
            validate_output_file("/abs/file").unwrap_err(),
            "URI output file must be within the sandbox directory"
        );
        assert!(validate_output_file("../escape").is_err());
        assert!(validate_output_file("a/../../escape").is_err());
    }

    #[test]
    fn local_paths_as_cpp() {
        assert_eq!(local_path("/tmp/x", None).unwrap(), Some(PathBuf::from("/tmp/x")));
        assert_eq!(local_path("file:///tmp/x", None).unwrap(), Some(PathBuf::from("/tmp/x")));
        assert_eq!(local_path("file://localhost/tmp/x", None).unwrap(), Some(PathBuf::from("/tmp/x")));
        assert_eq!(local_path("http://h/x", None).unwrap(), None);
        assert_eq!(local_path("file://tmp/x", None).unwrap_err(), "File URI only supports absolute paths");
        assert!(local_path("rel/x", None).unwrap_err().starts_with("A relative path was passed"));
        assert_eq!(local_path("rel/x", Some(Path::new("/home/fw"))).unwrap(), Some(PathBuf::from("/home/fw/rel/x")));
        assert!(is_net_uri("http://h/x") && is_net_uri("ftps://h/x") && !is_net_uri("hdfs://h/x"));
    }

    #[test]
    fn extract_recognises_archives_by_name() {
        let dir = tempfile::tempdir().unwrap();
        let plain = dir.path().join("notes.txt");
        std::fs::write(&plain, "x").unwrap();
        assert_eq!(extract(&plain, dir.path()), Ok(false));
        let zip = dir.path().join("a.zip");
        std::fs::write(&zip, "PK").unwrap();
        assert!(extract(&zip, dir.path()).unwrap_err().contains("zip archives are not supported"));
        let bad = dir.path().join("bad.tar.gz");
        std::fs::write(&bad, "not gzip").unwrap();
        assert!(extract(&bad, dir.path()).unwrap_err().starts_with("Failed to extract archive"));

        let gz = dir.path().join("data.txt.gz");
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        encoder.write_all(b"hello gzip\n").unwrap();
        std::fs::write(&gz, encoder.finish().unwrap()).unwrap();
        let out = dir.path().join("out");
        std::fs::create_dir(&out).unwrap();
        assert_eq!(extract(&gz, &out), Ok(true));
        assert_eq!(std::fs::read_to_string(out.join("data.txt")).unwrap(), "hello gzip\n");
    }
}
