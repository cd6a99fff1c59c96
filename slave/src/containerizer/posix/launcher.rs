//! Starting a container's process and killing all of it: the child gets its own session (so its pid names its session and process group), joins its cgroup, enters the sandbox, switches user, and execs the command; `killtree` stops, signals and resumes every process of the tree, its groups and its sessions; mirrors `SubprocessLauncher::{fork,destroy}` in `src/slave/containerizer/mesos/launcher.cpp`, the steps of `MesosContainerizerLaunch::execute` in `src/slave/containerizer/mesos/launch.cpp`, and `os::killtree` in `3rdparty/stout/include/stout/os/posix/killtree.hpp`.
//!
//! C++ forks the `mesos-containerizer launch` helper, which does these steps and then
//! execs (or forks and waits for) the command. Here the steps run in the forked child
//! itself (`pre_exec`), so the container's pid is the command's. A step that fails in the
//! child ends the container as the helper's `exitWithStatus(EXIT_FAILURE)` does: status
//! `1 << 8`, with the helper's message in the sandbox's `stderr`. The child reports which
//! step it reached through a close-on-exec pipe, one byte per step, so the parent can name
//! the failed step.

use std::collections::{BTreeMap, HashSet, VecDeque};
use std::ffi::CString;
use std::io::{self, Write};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::OpenOptionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::Stdio;

use super::proc;

/// A user to run as (C++ `os::getuid`, `os::getgid`, `os::getgrouplist`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UserIds {
    pub name: String,
    pub uid: u32,
    pub gid: u32,
    /// Supplementary groups (the primary group included, as `getgrouplist` lists it).
    pub groups: Vec<u32>,
}

/// Looks `name` up in the user database.
pub fn lookup_user(name: &str) -> Result<UserIds, String> {
    let c_name = CString::new(name).map_err(|_| format!("Failed to get the uid of user '{name}': not found"))?;
    let mut buffer = vec![0u8; 16 * 1024];
    // SAFETY: `getpwnam_r` writes into `entry` and `buffer`, both ours and large enough
    // (it reports ERANGE otherwise, and we grow the buffer).
    let (uid, gid) = loop {
        let mut entry: libc::passwd = unsafe { std::mem::zeroed() };
        let mut result: *mut libc::passwd = std::ptr::null_mut();
        let code = unsafe {
            libc::getpwnam_r(c_name.as_ptr(), &mut entry, buffer.as_mut_ptr().cast(), buffer.len(), &mut result)
        };
        if code == libc::ERANGE && buffer.len() < (1 << 22) {
            buffer.resize(buffer.len() * 4, 0);
            continue;
        }
        if code != 0 {
            return Err(format!("Failed to get the uid of user '{name}': {}", strerror(code)));
        }
        if result.is_null() {
            return Err(format!("Failed to get the uid of user '{name}': not found"));
        }
        break (entry.pw_uid, entry.pw_gid);
    };
    let mut count: libc::c_int = 64;
    let groups = loop {
        let mut groups = vec![0 as libc::gid_t; count as usize];
        let before = count;
        // SAFETY: `groups` holds `count` entries; on too small a buffer `getgrouplist`
        // returns -1 and sets `count` to the size needed.
        let found = unsafe { libc::getgrouplist(c_name.as_ptr(), gid, groups.as_mut_ptr(), &mut count) };
        if found >= 0 {
            groups.truncate(count.max(0) as usize);
            break groups;
        }
        if count <= before {
            count = before * 2;
        }
        if count > 65536 {
            return Err(format!("Failed to get the supplementary gids of user '{name}'"));
        }
    };
    Ok(UserIds { name: name.to_string(), uid, gid, groups })
}

/// An I/O error's text without Rust's ` (os error N)` suffix.
pub fn error_text(error: &io::Error) -> String {
    error.raw_os_error().map(strerror).unwrap_or_else(|| error.to_string())
}

/// The effective uid of this process.
pub fn effective_uid() -> u32 {
    // SAFETY: `geteuid` cannot fail.
    unsafe { libc::geteuid() }
}

/// `strerror` text for an errno, without Rust's ` (os error N)` suffix (stout's
/// `ErrnoError` text).
pub fn strerror(errno: i32) -> String {
    if errno == 0 {
        return "Unknown error".into();
    }
    let text = io::Error::from_raw_os_error(errno).to_string();
    match text.rfind(" (os error ") {
        Some(end) => text[..end].to_string(),
        None => text,
    }
}

/// Everything needed to start the container's process.
#[derive(Clone, Debug)]
pub struct LaunchSpec {
    /// What to exec: a path, or a name looked up in the environment's `PATH`.
    pub program: PathBuf,
    /// The whole argument vector, `argv[0]` included.
    pub argv: Vec<String>,
    /// The complete environment (nothing is inherited from the agent).
    pub environment: BTreeMap<String, String>,
    pub working_directory: PathBuf,
    /// Appended to (created 0644 if missing).
    pub stdout: PathBuf,
    pub stderr: PathBuf,
    /// Switch to this user before exec.
    pub user: Option<UserIds>,
    /// Join this cgroup (its `cgroup.procs`) before exec.
    pub cgroup: Option<PathBuf>,
}

/// How a fork went.
#[derive(Debug)]
pub enum Forked {
    /// The command runs.
    Running(tokio::process::Child),
    /// The child failed before the exec; it has been reaped. The container ends with
    /// status `1 << 8` and `message` (also written to `stderr`).
    Failed { message: String },
}

/// The steps the child reports, in order.
mod stage {
    pub const SETSID: u8 = 1;
    pub const CGROUP: u8 = 2;
    pub const CHDIR: u8 = 3;
    pub const SETGID: u8 = 4;
    pub const SETGROUPS: u8 = 5;
    pub const SETUID: u8 = 6;
    pub const EXEC: u8 = 7;
}

/// The raw wait status of a process that exited with `EXIT_FAILURE` (C++ `W_EXITCODE(1, 0)`).
pub const EXIT_FAILURE_STATUS: i32 = 1 << 8;

/// Forks the container's process (C++ `SubprocessLauncher::fork` with the `SETSID` child
/// hook, and the launch helper's steps). Must run inside a tokio runtime (the child is
/// reaped by tokio) and off the actors' threads. An `Err` means no child ran at all (the
/// output files could not be opened, or `fork` itself failed).
pub fn fork(spec: &LaunchSpec) -> Result<Forked, String> {
    let open = |path: &Path| {
        std::fs::OpenOptions::new()
            .append(true)
            .create(true)
            .mode(0o644)
            .open(path)
            .map_err(|error| format!("Failed to open '{}': {error}", path.display()))
    };
    let stdout = open(&spec.stdout)?;
    let stderr = open(&spec.stderr)?;
    let mut stderr_for_errors = stderr.try_clone().map_err(|error| format!("Failed to duplicate stderr: {error}"))?;

    let cgroup_procs = match &spec.cgroup {
        Some(cgroup) => {
            let path = cgroup.join("cgroup.procs");
            Some(
                std::fs::OpenOptions::new()
                    .write(true)
                    .open(&path)
                    .map_err(|error| format!("Failed to open '{}': {error}", path.display()))?,
            )
        }
        None => None,
    };
    let working_directory = CString::new(spec.working_directory.as_os_str().as_bytes())
        .map_err(|_| "The working directory holds a NUL byte".to_string())?;

    let (stage_read, stage_write) = stage_pipe().map_err(|error| format!("Failed to create a pipe: {error}"))?;

    let mut command = std::process::Command::new(&spec.program);
    if let Some((first, rest)) = spec.argv.split_first() {
        command.arg0(first).args(rest);
    }
    command.env_clear().envs(&spec.environment).stdin(Stdio::null()).stdout(stdout).stderr(stderr);

    let stage_fd = stage_write.as_raw_fd();
    let procs_fd = cgroup_procs.as_ref().map(|f| f.as_raw_fd());
    let user = spec.user.clone();
    // SAFETY: the closure runs in the forked child before exec and only makes
    // async-signal-safe system calls on memory prepared before the fork.
    unsafe {
        command.pre_exec(move || {
            let report = |step: u8| {
                libc::write(stage_fd, (&step as *const u8).cast(), 1);
            };
            report(stage::SETSID);
            if libc::setsid() == -1 {
                return Err(io::Error::last_os_error());
            }
            if let Some(fd) = procs_fd {
                report(stage::CGROUP);
                if libc::write(fd, b"0".as_ptr().cast(), 1) == -1 {
                    return Err(io::Error::last_os_error());
                }
            }
            report(stage::CHDIR);
            if libc::chdir(working_directory.as_ptr()) == -1 {
                return Err(io::Error::last_os_error());
            }
            if let Some(user) = &user {
                report(stage::SETGID);
                if libc::setgid(user.gid) == -1 {
                    return Err(io::Error::last_os_error());
                }
                report(stage::SETGROUPS);
                if libc::setgroups(user.groups.len() as _, user.groups.as_ptr()) == -1 {
                    return Err(io::Error::last_os_error());
                }
                report(stage::SETUID);
                if libc::setuid(user.uid) == -1 {
                    return Err(io::Error::last_os_error());
                }
            }
            report(stage::EXEC);
            Ok(())
        });
    }

    let spawned = tokio::process::Command::from(command).spawn();
    drop(stage_write);
    drop(cgroup_procs);
    match spawned {
        Ok(child) => Ok(Forked::Running(child)),
        Err(error) => {
            let Some(step) = last_stage(&stage_read) else {
                return Err(format!("Failed to fork a child process: {error}"));
            };
            let reason = error_text(&error);
            let message = match step {
                stage::SETSID => format!("Failed to put the process in its own session: {reason}"),
                stage::CGROUP => format!(
                    "Failed to assign the process to cgroup '{}': {reason}",
                    spec.cgroup.as_deref().unwrap_or(Path::new("")).display()
                ),
                stage::CHDIR => format!(
                    "Failed to chdir into current working directory '{}': {reason}",
                    spec.working_directory.display()
                ),
                stage::SETGID => format!("Failed to set gid to {}: {reason}", spec.user.as_ref().map_or(0, |u| u.gid)),
                stage::SETGROUPS => format!("Failed to set supplementary gids: {reason}"),
                stage::SETUID => format!("Failed to set uid to {}: {reason}", spec.user.as_ref().map_or(0, |u| u.uid)),
                _ => format!("Failed to execute '{}': {reason}", spec.program.display()),
            };
            // Best effort: the message is also in the launch's result.
            let _ = writeln!(stderr_for_errors, "{message}");
            Ok(Forked::Failed { message })
        }
    }
}

fn stage_pipe() -> io::Result<(OwnedFd, OwnedFd)> {
    let mut fds = [0; 2];
    // SAFETY: `pipe2` fills both descriptors, which we then own.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC | libc::O_NONBLOCK) } == -1 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: both are fresh descriptors owned by nobody else.
    Ok(unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) })
}

/// The last step the child reported, if it got as far as reporting one.
fn last_stage(read: &OwnedFd) -> Option<u8> {
    let mut buffer = [0u8; 16];
    let mut last = None;
    loop {
        // SAFETY: reads into our own buffer from our own (non-blocking) descriptor.
        let n = unsafe { libc::read(read.as_raw_fd(), buffer.as_mut_ptr().cast(), buffer.len()) };
        if n <= 0 {
            return last;
        }
        last = Some(buffer[n as usize - 1]);
    }
}

/// Sends `signal` to every process of the tree rooted at `pid` and, with `groups` and
/// `sessions`, to every process of the groups and sessions met on the way; each is stopped
/// first so it cannot fork a child that escapes, and continued afterwards. If `pid` has
/// ended, starts from the processes of the group and session it led (C++ `os::killtree`).
/// Returns the pids signalled.
///
/// Not upstream: the agent's own process, group and session are never entered, whatever
/// the table says.
pub fn killtree(pid: i32, signal: i32, groups: bool, sessions: bool) -> io::Result<Vec<i32>> {
    walk_and_signal(pid, true, signal, groups, sessions)
}

/// [`killtree`] for a leader that has been reaped: starts from the processes of the group
/// and session `leader` led and never from a process that may since have been given its
/// pid (C++ reaches this case through `killtree` after `reap`).
pub fn kill_leftovers(leader: i32, signal: i32) -> io::Result<Vec<i32>> {
    walk_and_signal(leader, false, signal, true, true)
}

fn walk_and_signal(pid: i32, from_root: bool, signal: i32, groups: bool, sessions: bool) -> io::Result<Vec<i32>> {
    let own_pid = std::process::id() as i32;
    let own = proc::process(own_pid)?;
    let mut visited_groups: HashSet<i32> = own.iter().map(|p| p.pgrp).collect();
    let mut visited_sessions: HashSet<i32> = own.iter().map(|p| p.session).collect();

    let table = proc::processes()?;
    let mut queue = VecDeque::new();
    match table.iter().find(|p| p.pid == pid).filter(|_| from_root) {
        None => {
            for process in &table {
                let in_group = groups && process.pgrp == pid && !visited_groups.contains(&pid);
                let in_session = sessions && process.session == pid && !visited_sessions.contains(&pid);
                if in_group || in_session {
                    queue.push_back(process.pid);
                }
            }
            if queue.is_empty() {
                return Ok(Vec::new());
            }
        }
        Some(root) => {
            queue.push_back(pid);
            // Never walk up the tree into the parent's group or session.
            if let Some(parent) = table.iter().find(|p| p.pid == root.ppid) {
                visited_groups.insert(parent.pgrp);
                visited_sessions.insert(parent.session);
            }
        }
    }

    let mut visited = Vec::new();
    let mut seen = HashSet::new();
    while let Some(next) = queue.pop_front() {
        if next <= 1 || next == own_pid || !seen.insert(next) {
            continue;
        }
        let Some(process) = proc::process(next)? else { continue };
        // SAFETY: a plain signal to a process of the container.
        unsafe { libc::kill(next, libc::SIGSTOP) };
        visited.push(next);
        // The process cannot fork any more: its children are all in the table now.
        let table = proc::processes()?;
        queue.extend(table.iter().filter(|p| p.ppid == next).map(|p| p.pid));
        if groups && visited_groups.insert(process.pgrp) {
            queue.extend(table.iter().filter(|p| p.pgrp == process.pgrp).map(|p| p.pid));
        }
        if sessions && visited_sessions.insert(process.session) {
            queue.extend(table.iter().filter(|p| p.session == process.session).map(|p| p.pid));
        }
    }
    for &pid in &visited {
        // SAFETY: as above.
        unsafe { libc::kill(pid, signal) };
    }
    for &pid in &visited {
        // SAFETY: as above.
        unsafe { libc::kill(pid, libc::SIGCONT) };
    }
    Ok(visited)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strerror_drops_the_os_error_suffix() {
        assert_eq!(strerror(libc::ENOENT), "No such file or directory");
        assert_eq!(strerror(libc::EPERM), "Operation not permitted");
    }

    #[test]
    fn looks_up_root() {
        let root = lookup_user("root").unwrap();
        assert_eq!((root.uid, root.gid), (0, 0));
        assert!(root.groups.contains(&0));
        assert!(lookup_user("no-such-user-here").unwrap_err().contains("not found"));
        assert!(lookup_user("nul\0byte").is_err());
    }

    #[test]
    fn killtree_of_nothing_signals_nothing() {
        // A pid no process has, nor leads a group or session.
        assert_eq!(killtree(i32::MAX - 1, libc::SIGKILL, true, true).unwrap(), Vec::<i32>::new());
        assert_eq!(kill_leftovers(i32::MAX - 1, libc::SIGKILL).unwrap(), Vec::<i32>::new());
    }

    #[test]
    fn kill_leftovers_never_starts_from_a_live_process_with_the_pid() {
        // Our own pid leads no group or session of ours, and is never signalled anyway.
        let me = std::process::id() as i32;
        assert_eq!(kill_leftovers(me, 0).unwrap(), Vec::<i32>::new());
    }
}
