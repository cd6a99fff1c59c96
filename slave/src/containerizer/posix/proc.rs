//! The process table as Linux's `/proc/<pid>/stat` shows it: one process's fields, every process, and the tree under a pid; mirrors `3rdparty/stout/include/stout/proc.hpp` (`proc::status`, `proc::pids`) and `os::process`/`os::processes`/`os::pstree` in `3rdparty/stout/include/stout/os/{linux,pstree}.hpp`.
//!
//! Parsing is a plain function of the file's text so it can be tested on sample lines;
//! only [`process`] and [`processes`] read the file system.

use std::collections::{HashMap, VecDeque};
use std::io;
use std::path::Path;

/// The fields of `/proc/<pid>/stat` the containerizer uses (C++ `proc::ProcessStatus`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProcessStat {
    pub pid: i32,
    /// The executable's name, without the parentheses around it.
    pub comm: String,
    /// `R`, `S`, `D`, `Z`, `T`, ...
    pub state: char,
    pub ppid: i32,
    /// The process group.
    pub pgrp: i32,
    /// The session.
    pub session: i32,
    /// User time in clock ticks.
    pub utime: u64,
    /// System time in clock ticks.
    pub stime: u64,
    pub num_threads: u64,
    /// Resident set size in pages.
    pub rss: u64,
}

impl ProcessStat {
    pub fn is_zombie(&self) -> bool {
        self.state == 'Z'
    }
}

/// Why a `stat` line did not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("Failed to parse /proc stat line: {0}")]
pub struct ParseError(pub String);

/// Parses the single line of `/proc/<pid>/stat`.
///
/// The command name sits in parentheses and may itself hold spaces and parentheses, so it
/// runs from the first `(` to the *last* `)`; the other fields are split on spaces after it.
pub fn parse_stat(text: &str) -> Result<ProcessStat, ParseError> {
    let text = text.trim_end();
    let open = text.find('(').ok_or_else(|| ParseError("no '(' before the command name".into()))?;
    let close = text.rfind(')').ok_or_else(|| ParseError("no ')' after the command name".into()))?;
    if close < open {
        return Err(ParseError("')' before '('".into()));
    }
    let pid = parse_field::<i32>(text[..open].trim(), "pid")?;
    let comm = text[open + 1..close].to_string();
    // Fields 3.. of proc(5), so index 0 here is field 3 (`state`).
    let rest: Vec<&str> = text[close + 1..].split_ascii_whitespace().collect();
    let field = |index: usize, name: &str| -> Result<&str, ParseError> {
        rest.get(index).copied().ok_or_else(|| ParseError(format!("missing field '{name}'")))
    };
    let state = field(0, "state")?.chars().next().ok_or_else(|| ParseError("empty state".into()))?;
    Ok(ProcessStat {
        pid,
        comm,
        state,
        ppid: parse_field(field(1, "ppid")?, "ppid")?,
        pgrp: parse_field(field(2, "pgrp")?, "pgrp")?,
        session: parse_field(field(3, "session")?, "session")?,
        utime: parse_field(field(11, "utime")?, "utime")?,
        stime: parse_field(field(12, "stime")?, "stime")?,
        num_threads: parse_field(field(17, "num_threads")?, "num_threads")?,
        // The kernel prints `rss` signed; a negative value (never seen in practice) counts as 0.
        rss: parse_field::<i64>(field(21, "rss")?, "rss")?.max(0) as u64,
    })
}

fn parse_field<T: std::str::FromStr>(text: &str, name: &str) -> Result<T, ParseError> {
    text.parse().map_err(|_| ParseError(format!("bad '{name}' value '{text}'")))
}

/// The process `pid`, or `None` if it does not exist (any more).
pub fn process(pid: i32) -> io::Result<Option<ProcessStat>> {
    read_stat(&Path::new("/proc").join(pid.to_string()).join("stat"))
}

fn read_stat(path: &Path) -> io::Result<Option<ProcessStat>> {
    match std::fs::read_to_string(path) {
        Ok(text) => parse_stat(&text).map(Some).map_err(|error| io::Error::new(io::ErrorKind::InvalidData, error)),
        // The process ended between listing and reading.
        Err(error) if matches!(error.kind(), io::ErrorKind::NotFound) || error.raw_os_error() == Some(libc::ESRCH) => {
            Ok(None)
        }
        Err(error) => Err(error),
    }
}

/// Every process in `/proc` (C++ `os::processes`); processes that end while being read are
/// left out.
pub fn processes() -> io::Result<Vec<ProcessStat>> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc")? {
        let entry = entry?;
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        if name.is_empty() || !name.bytes().all(|b| b.is_ascii_digit()) {
            continue;
        }
        if let Some(stat) = read_stat(&entry.path().join("stat"))? {
            found.push(stat);
        }
    }
    Ok(found)
}

/// `root` and all its descendants in `table`, breadth first, root first (the processes of
/// C++ `os::pstree(root)`); empty if `root` is not in the table.
pub fn tree(root: i32, table: &[ProcessStat]) -> Vec<&ProcessStat> {
    let mut children: HashMap<i32, Vec<&ProcessStat>> = HashMap::new();
    let mut by_pid: HashMap<i32, &ProcessStat> = HashMap::new();
    for process in table {
        by_pid.insert(process.pid, process);
        // The idle task (pid 0) parents init and kthreadd; never walk from it to them.
        if process.pid != process.ppid {
            children.entry(process.ppid).or_default().push(process);
        }
    }
    let Some(first) = by_pid.get(&root) else { return Vec::new() };
    let mut found = Vec::new();
    let mut queue = VecDeque::from([*first]);
    let mut seen = std::collections::HashSet::new();
    while let Some(process) = queue.pop_front() {
        if !seen.insert(process.pid) {
            continue;
        }
        found.push(process);
        if let Some(kids) = children.get(&process.pid) {
            queue.extend(kids.iter().copied());
        }
    }
    found
}

/// Clock ticks per second (`sysconf(_SC_CLK_TCK)`), for `utime`/`stime`.
pub fn ticks_per_second() -> u64 {
    // SAFETY: `sysconf` only reads a configuration value.
    let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if ticks > 0 {
        ticks as u64
    } else {
        100
    }
}

/// The page size in bytes, for `rss`.
pub fn page_size() -> u64 {
    // SAFETY: `sysconf` only reads a configuration value.
    let size = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    if size > 0 {
        size as u64
    } else {
        4096
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SLEEP: &str = "4242 (sleep) S 4241 4241 4241 0 -1 4194304 98 0 0 0 3 1 0 0 20 0 1 0 \
                         123456 2260992 203 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0";

    #[test]
    fn parses_a_stat_line() {
        let stat = parse_stat(SLEEP).unwrap();
        assert_eq!(
            stat,
            ProcessStat {
                pid: 4242,
                comm: "sleep".into(),
                state: 'S',
                ppid: 4241,
                pgrp: 4241,
                session: 4241,
                utime: 3,
                stime: 1,
                num_threads: 1,
                rss: 203,
            }
        );
        assert!(!stat.is_zombie());
    }

    #[test]
    fn command_names_may_hold_spaces_and_parentheses() {
        let line = "77 (a (b) c) Z 1 77 70 0 -1 0 0 0 0 0 10 20 0 0 20 0 4 0 1 0 0 0";
        let stat = parse_stat(line).unwrap();
        assert_eq!(stat.comm, "a (b) c");
        assert_eq!((stat.state, stat.ppid, stat.pgrp, stat.session), ('Z', 1, 77, 70));
        assert_eq!((stat.utime, stat.stime, stat.num_threads, stat.rss), (10, 20, 4, 0));
        assert!(stat.is_zombie());
    }

    #[test]
    fn bad_lines_are_errors_not_panics() {
        for line in ["", "12", "12 (x", "x (sh) S 1 1 1", "12 (sh) S 1 1", "12 (sh) S a 1 1 0 0 0 0 0 0 0 0 0 0"] {
            assert!(parse_stat(line).is_err(), "{line:?}");
        }
        assert!(parse_stat(") 1 (").is_err());
    }

    #[test]
    fn reads_this_process() {
        let me = process(std::process::id() as i32).unwrap().expect("this process exists");
        assert_eq!(me.pid, std::process::id() as i32);
        assert!(me.rss > 0);
        assert!(me.num_threads >= 1);
        assert!(processes().unwrap().iter().any(|p| p.pid == me.pid));
        assert_eq!(process(i32::MAX).unwrap(), None);
    }

    fn stat(pid: i32, ppid: i32) -> ProcessStat {
        ProcessStat {
            pid,
            comm: "p".into(),
            state: 'S',
            ppid,
            pgrp: pid,
            session: pid,
            utime: 0,
            stime: 0,
            num_threads: 1,
            rss: 0,
        }
    }

    #[test]
    fn the_tree_under_a_pid() {
        let table = vec![stat(0, 0), stat(1, 0), stat(10, 1), stat(11, 10), stat(12, 10), stat(13, 11), stat(20, 1)];
        let pids: Vec<i32> = tree(10, &table).iter().map(|p| p.pid).collect();
        assert_eq!(pids, vec![10, 11, 12, 13]);
        assert!(tree(99, &table).is_empty());
        assert_eq!(tree(0, &table).len(), 7);
    }
}
