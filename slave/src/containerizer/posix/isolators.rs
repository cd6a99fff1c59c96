//! The `posix/cpu` and `posix/mem` isolators' usage (CPU times and RSS summed over the process tree) and the limits the containerizer adds from the container's resources; mirrors `src/slave/containerizer/mesos/isolators/posix.hpp`, `src/usage/usage.cpp` and `_usage` in `src/slave/containerizer/mesos/containerizer.cpp`.
//!
//! POSIX isolation enforces nothing: it only measures. Both functions here are pure; the
//! caller reads the process table ([`super::proc::processes`]) and the clock.

use mesos::proto::{Resource, ResourceStatistics};
use mesos::resources::Resources;

use super::proc::{self, ProcessStat};

/// What the processes of one tree use (C++ `mesos::internal::usage(pid, mem, cpus)`).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct TreeUsage {
    pub user_time_secs: f64,
    pub system_time_secs: f64,
    pub rss_bytes: u64,
    /// Processes in the tree (C++ posix isolation does not report this; cgroups does).
    pub processes: u32,
    /// Threads in the tree (likewise).
    pub threads: u32,
}

/// Sums the usage of `root` and its descendants in `table`; `None` if `root` is not there
/// (C++: "Failed to get usage: No process found at <pid>", and the isolator's statistic is
/// skipped).
pub fn tree_usage(root: i32, table: &[ProcessStat], ticks_per_second: u64, page_size: u64) -> Option<TreeUsage> {
    let tree = proc::tree(root, table);
    if tree.is_empty() {
        return None;
    }
    let ticks = ticks_per_second.max(1) as f64;
    let mut usage = TreeUsage::default();
    for process in tree {
        usage.user_time_secs += process.utime as f64 / ticks;
        usage.system_time_secs += process.stime as f64 / ticks;
        usage.rss_bytes += process.rss.saturating_mul(page_size);
        usage.processes += 1;
        usage.threads += u32::try_from(process.num_threads).unwrap_or(u32::MAX);
    }
    Some(usage)
}

/// The container's `ResourceStatistics` (C++ `_usage`): the timestamp, the measured usage if
/// any, and the limits taken from `resources`:
///
/// * `cpus_soft_limit` is the `cpus` request; `cpus_limit` is set only when CPU bandwidth is
///   enforced (`cfs`, here: the container has a cgroup with `cpu.max`), as C++ sets it only
///   with `--cgroups_enable_cfs` or an explicit limit;
/// * `mem_soft_limit_bytes` and `mem_limit_bytes` are both the `mem` request (C++ has no
///   separate memory limit without a `limits` map).
pub fn statistics(timestamp: f64, usage: Option<&TreeUsage>, resources: &[Resource], cfs: bool) -> ResourceStatistics {
    let mut statistics = ResourceStatistics { timestamp, ..ResourceStatistics::default() };
    if let Some(usage) = usage {
        statistics.cpus_user_time_secs = Some(usage.user_time_secs);
        statistics.cpus_system_time_secs = Some(usage.system_time_secs);
        statistics.mem_rss_bytes = Some(usage.rss_bytes);
        statistics.processes = Some(usage.processes);
        statistics.threads = Some(usage.threads);
    }
    let resources: Resources = resources.iter().cloned().collect();
    if let Some(cpus) = resources.cpus() {
        statistics.cpus_soft_limit = Some(cpus);
        if cfs {
            statistics.cpus_limit = Some(cpus);
        }
    }
    if let Some(mem) = resources.mem() {
        let bytes = mem.saturating_mul(1024 * 1024);
        statistics.mem_soft_limit_bytes = Some(bytes);
        statistics.mem_limit_bytes = Some(bytes);
    }
    statistics
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table() -> Vec<ProcessStat> {
        // The executor (100, a shell), its task (101) and the task's child (102); 200 is
        // someone else's.
        [
            "100 (sh) S 1 100 100 0 -1 0 0 0 0 0 150 50 0 0 20 0 1 0 1 0 300 0",
            "101 (worker) R 100 100 100 0 -1 0 0 0 0 0 250 25 0 0 20 0 8 0 1 0 1000 0",
            "102 (helper) S 101 100 100 0 -1 0 0 0 0 0 0 25 0 0 20 0 1 0 1 0 100 0",
            "200 (other) S 1 200 200 0 -1 0 0 0 0 0 9999 9999 0 0 20 0 3 0 1 0 9999 0",
        ]
        .iter()
        .map(|line| proc::parse_stat(line).unwrap())
        .collect()
    }

    #[test]
    fn sums_the_process_tree() {
        let usage = tree_usage(100, &table(), 100, 4096).unwrap();
        assert_eq!(
            usage,
            TreeUsage { user_time_secs: 4.0, system_time_secs: 1.0, rss_bytes: 1400 * 4096, processes: 3, threads: 10 }
        );
        let subtree = tree_usage(101, &table(), 100, 4096).unwrap();
        assert_eq!((subtree.processes, subtree.rss_bytes), (2, 1100 * 4096));
        assert_eq!(tree_usage(7, &table(), 100, 4096), None);
    }

    #[test]
    fn statistics_carry_usage_and_limits() {
        let usage = tree_usage(100, &table(), 100, 4096).unwrap();
        let resources = Resources::parse("cpus:1.5;mem:64;disk:10", "*").unwrap().to_vec();
        let statistics = statistics(1700000000.5, Some(&usage), &resources, false);
        assert_eq!(statistics.timestamp, 1700000000.5);
        assert_eq!(statistics.cpus_user_time_secs, Some(4.0));
        assert_eq!(statistics.cpus_system_time_secs, Some(1.0));
        assert_eq!(statistics.mem_rss_bytes, Some(1400 * 4096));
        assert_eq!((statistics.processes, statistics.threads), (Some(3), Some(10)));
        assert_eq!(statistics.cpus_soft_limit, Some(1.5));
        assert_eq!(statistics.cpus_limit, None);
        assert_eq!(statistics.mem_soft_limit_bytes, Some(64 << 20));
        assert_eq!(statistics.mem_limit_bytes, Some(64 << 20));

        let enforced = super::statistics(1.0, None, &resources, true);
        assert_eq!(enforced.cpus_limit, Some(1.5));
        assert_eq!(enforced.cpus_user_time_secs, None);
        assert_eq!(enforced.mem_rss_bytes, None);

        let bare = super::statistics(2.0, None, &[], false);
        assert_eq!(bare, ResourceStatistics { timestamp: 2.0, ..ResourceStatistics::default() });
    }
}
