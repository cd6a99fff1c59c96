//! Optional cgroup v2 isolation for the POSIX containerizer: finding a usable unified hierarchy, one cgroup per container under `<mount>/mesos`, `cpu.max`/`cpu.weight` and `memory.max`/`memory.low` from the container's resources; mirrors `src/linux/cgroups2.cpp` and the `cpu`/`memory` controllers of `src/slave/containerizer/mesos/isolators/cgroups2/` (`controllers/{cpu,memory}.cpp`, `constants.hpp`).
//!
//! Unlike C++ there is no separate isolator process and no `leaf` child cgroup: the
//! container's cgroup holds its processes directly, and the child joins it itself (writes
//! `0` to `cgroup.procs`) before it execs, so nothing it starts can escape. CPU bandwidth
//! is always enforced as C++ does with `--cgroups_enable_cfs` (quota = the `cpus` request).
//!
//! Every function takes the hierarchy's path, so the tests drive them on a plain directory
//! laid out like cgroupfs.

use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use mesos::proto::Resource;
use mesos::resources::Resources;

/// Where the unified hierarchy is mounted (C++ `cgroups2::MOUNT_POINT`).
pub const MOUNT_POINT: &str = "/sys/fs/cgroup";
/// The cgroup under which containers' cgroups are made (C++ `--cgroups_root` default).
pub const DEFAULT_ROOT_NAME: &str = "mesos";
/// `statfs` magic of cgroup2 (Linux `CGROUP2_SUPER_MAGIC`).
const CGROUP2_SUPER_MAGIC: i64 = 0x6367_7270;

/// The CFS period written to `cpu.max` (C++ `CGROUPS2_CPU_CFS_PERIOD`, 100 ms).
pub const CPU_CFS_PERIOD_US: u64 = 100_000;
/// The smallest quota written to `cpu.max` (C++ `CGROUPS2_MIN_CPU_CFS_QUOTA`, 1 ms).
pub const MIN_CPU_CFS_QUOTA_US: u64 = 1_000;
/// `cpu.weight` per requested CPU (C++ `CGROUPS2_CPU_WEIGHT_PER_CPU`).
pub const CPU_WEIGHT_PER_CPU: u64 = 100;
/// The kernel's smallest `cpu.weight` (C++ `CGROUPS2_MIN_CPU_WEIGHT`).
pub const MIN_CPU_WEIGHT: u64 = 1;
/// The smallest memory limit (C++ `CGROUPS2_MIN_MEMORY`, 32 MB).
pub const MIN_MEMORY_BYTES: u64 = 32 << 20;

/// The controllers a container's cgroup needs.
const CONTROLLERS: [&str; 2] = ["cpu", "memory"];

/// A usable cgroup v2 hierarchy with the `cpu` and `memory` controllers delegated to
/// `<mount>/<root name>`.
#[derive(Clone, Debug)]
pub struct Hierarchy {
    base: PathBuf,
}

/// Finds the unified hierarchy at [`MOUNT_POINT`] and prepares `<mount>/<root_name>`; the
/// error says why it cannot be used.
pub fn detect(root_name: &str) -> Result<Hierarchy, String> {
    let mount = Path::new(MOUNT_POINT);
    let c_path = std::ffi::CString::new(MOUNT_POINT).map_err(|e| e.to_string())?;
    // SAFETY: `statfs` fills the zeroed struct we own; the path is NUL-terminated.
    let mut fs: libc::statfs = unsafe { std::mem::zeroed() };
    if unsafe { libc::statfs(c_path.as_ptr(), &mut fs) } != 0 {
        return Err(format!("'{MOUNT_POINT}' is not mounted: {}", io::Error::last_os_error()));
    }
    #[allow(clippy::unnecessary_cast)]
    if fs.f_type as i64 != CGROUP2_SUPER_MAGIC {
        return Err(format!("'{MOUNT_POINT}' is not a cgroup v2 (unified) hierarchy"));
    }
    Hierarchy::open(mount, root_name)
}

impl Hierarchy {
    /// Checks that `mount` offers the `cpu` and `memory` controllers and is writable,
    /// enables both for its children and for those of `<mount>/<root_name>` (made if
    /// missing).
    pub fn open(mount: &Path, root_name: &str) -> Result<Hierarchy, String> {
        let controllers_file = mount.join("cgroup.controllers");
        let available = std::fs::read_to_string(&controllers_file)
            .map_err(|error| format!("cannot read '{}': {error}", controllers_file.display()))?;
        let available: Vec<&str> = available.split_ascii_whitespace().collect();
        let missing: Vec<&str> = CONTROLLERS.iter().copied().filter(|c| !available.contains(c)).collect();
        if !missing.is_empty() {
            return Err(format!(
                "the hierarchy at '{}' lacks the {} controller(s) (it has: {})",
                mount.display(),
                missing.join(", "),
                available.join(" ")
            ));
        }
        for path in [mount.to_path_buf(), mount.join("cgroup.subtree_control")] {
            if let Err(error) = access_writable(&path) {
                return Err(format!("'{}' is not writable: {error}", path.display()));
            }
        }
        enable_controllers(mount)?;
        let base = mount.join(root_name);
        std::fs::create_dir_all(&base).map_err(|error| format!("cannot create '{}': {error}", base.display()))?;
        enable_controllers(&base)?;
        Ok(Hierarchy { base })
    }

    /// The cgroup of a container: `<mount>/<root name>/<container id>`.
    pub fn cgroup(&self, container_id: &str) -> PathBuf {
        self.base.join(container_id)
    }

    /// Makes the container's cgroup.
    pub fn create(&self, container_id: &str) -> Result<PathBuf, String> {
        let path = self.cgroup(container_id);
        match std::fs::create_dir(&path) {
            Ok(()) => Ok(path),
            Err(error) if error.kind() == io::ErrorKind::AlreadyExists => Ok(path),
            Err(error) => Err(format!("Failed to create cgroup '{}': {error}", path.display())),
        }
    }
}

fn access_writable(path: &Path) -> io::Result<()> {
    use std::os::unix::ffi::OsStrExt;
    let c_path = std::ffi::CString::new(path.as_os_str().as_bytes())?;
    // SAFETY: the path is NUL-terminated and outlives the call.
    if unsafe { libc::access(c_path.as_ptr(), libc::W_OK) } == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// Adds `+cpu +memory` to `cgroup.subtree_control` unless both are already there.
fn enable_controllers(cgroup: &Path) -> Result<(), String> {
    let file = cgroup.join("cgroup.subtree_control");
    let current = std::fs::read_to_string(&file).unwrap_or_default();
    let enabled: Vec<&str> = current.split_ascii_whitespace().map(|c| c.trim_start_matches('+')).collect();
    if CONTROLLERS.iter().all(|c| enabled.contains(c)) {
        return Ok(());
    }
    let line: Vec<String> = CONTROLLERS.iter().map(|c| format!("+{c}")).collect();
    write(&file, &line.join(" "))
}

fn write(file: &Path, value: &str) -> Result<(), String> {
    std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .open(file)
        .and_then(|mut f| f.write_all(value.as_bytes()))
        .map_err(|error| format!("Failed to write '{value}' to '{}': {error}", file.display()))
}

/// `cpu.max` for a CPU request: `<quota> <period>`, the quota being the request's share of
/// the period, at least 1 ms (C++ `CpuControllerProcess::update`, case "limit = request").
pub fn cpu_max(cpus: f64) -> String {
    let quota = (cpus.max(0.0) * CPU_CFS_PERIOD_US as f64) as u64;
    format!("{} {CPU_CFS_PERIOD_US}", quota.max(MIN_CPU_CFS_QUOTA_US))
}

/// `cpu.weight` for a CPU request (100 per CPU, at least 1).
pub fn cpu_weight(cpus: f64) -> u64 {
    ((CPU_WEIGHT_PER_CPU as f64 * cpus.max(0.0)) as u64).clamp(MIN_CPU_WEIGHT, 10_000)
}

/// The memory limit for a `mem` request in megabytes (at least 32 MB).
pub fn memory_limit(mem_mb: u64) -> u64 {
    mem_mb.saturating_mul(1 << 20).max(MIN_MEMORY_BYTES)
}

/// Writes the limits for `resources` into `cgroup` and returns the hard memory limit now in
/// force. As C++ does, `memory.max` is written the first time and afterwards only raised, so
/// an update never provokes an OOM kill by lowering it under current usage; `memory.low`
/// always follows the request.
pub fn update(cgroup: &Path, resources: &[Resource], memory_max: Option<u64>) -> Result<Option<u64>, String> {
    let resources: Resources = resources.iter().cloned().collect();
    if let Some(cpus) = resources.cpus() {
        write(&cgroup.join("cpu.weight"), &cpu_weight(cpus).to_string())?;
        write(&cgroup.join("cpu.max"), &cpu_max(cpus))?;
    }
    let mut hard = memory_max;
    if let Some(mem) = resources.mem() {
        let limit = memory_limit(mem);
        write(&cgroup.join("memory.low"), &limit.to_string())?;
        if memory_max.is_none_or(|current| limit > current) {
            write(&cgroup.join("memory.max"), &limit.to_string())?;
            hard = Some(limit);
        }
    }
    Ok(hard)
}

/// The pids in the cgroup's `cgroup.procs`.
pub fn pids(cgroup: &Path) -> Vec<i32> {
    std::fs::read_to_string(cgroup.join("cgroup.procs"))
        .unwrap_or_default()
        .split_ascii_whitespace()
        .filter_map(|pid| pid.parse().ok())
        .filter(|pid: &i32| *pid > 0)
        .collect()
}

/// Kills what is left in the cgroup and removes it; waits a little for the kernel to let
/// go of exiting processes. Best effort: failures are logged.
pub fn destroy(cgroup: &Path) {
    for attempt in 0..50 {
        for pid in pids(cgroup) {
            // SAFETY: a plain signal to a pid read from the container's own cgroup.
            unsafe { libc::kill(pid, libc::SIGKILL) };
        }
        match std::fs::remove_dir(cgroup) {
            Ok(()) => return,
            Err(error) if error.kind() == io::ErrorKind::NotFound => return,
            Err(error) if attempt == 49 => {
                tracing::warn!("Failed to remove cgroup '{}': {error}", cgroup.display());
            }
            Err(_) => std::thread::sleep(Duration::from_millis(10)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A directory shaped like a cgroup2 mount offering `controllers`.
    fn fake_mount(controllers: &str) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("cgroup.controllers"), controllers).unwrap();
        std::fs::write(dir.path().join("cgroup.subtree_control"), "").unwrap();
        dir
    }

    #[test]
    fn open_enables_cpu_and_memory_for_the_root_cgroup() {
        let mount = fake_mount("cpuset cpu io memory hugetlb pids rdma misc\n");
        let hierarchy = Hierarchy::open(mount.path(), "mesos").unwrap();
        let subtree = std::fs::read_to_string(mount.path().join("cgroup.subtree_control")).unwrap();
        assert_eq!(subtree, "+cpu +memory");
        let base = mount.path().join("mesos");
        assert_eq!(std::fs::read_to_string(base.join("cgroup.subtree_control")).unwrap(), "+cpu +memory");
        assert_eq!(hierarchy.cgroup("c1"), base.join("c1"));
        assert_eq!(hierarchy.create("c1").unwrap(), base.join("c1"));
        assert!(base.join("c1").is_dir());
        // Already enabled (as cgroupfs lists them, without `+`): left alone.
        std::fs::write(mount.path().join("cgroup.subtree_control"), "cpu memory pids\n").unwrap();
        Hierarchy::open(mount.path(), "mesos").unwrap();
        assert_eq!(std::fs::read_to_string(mount.path().join("cgroup.subtree_control")).unwrap(), "cpu memory pids\n");
    }

    #[test]
    fn open_refuses_a_hierarchy_without_the_controllers() {
        let mount = fake_mount("cpuset io pids\n");
        let error = Hierarchy::open(mount.path(), "mesos").unwrap_err();
        assert!(error.contains("lacks the cpu, memory controller(s)"), "{error}");
        let error = Hierarchy::open(&mount.path().join("absent"), "mesos").unwrap_err();
        assert!(error.contains("cannot read"), "{error}");
    }

    #[test]
    fn limits_follow_cpp() {
        assert_eq!(cpu_max(1.0), "100000 100000");
        assert_eq!(cpu_max(0.5), "50000 100000");
        assert_eq!(cpu_max(0.001), "1000 100000");
        assert_eq!(cpu_weight(2.5), 250);
        assert_eq!(cpu_weight(0.001), 1);
        assert_eq!(memory_limit(64), 64 << 20);
        assert_eq!(memory_limit(1), 32 << 20);
    }

    #[test]
    fn update_writes_the_files_and_only_raises_memory_max() {
        let dir = tempfile::tempdir().unwrap();
        let cgroup = dir.path();
        let read = |file: &str| std::fs::read_to_string(cgroup.join(file)).unwrap();
        let resources = Resources::parse("cpus:0.5;mem:128", "*").unwrap().to_vec();
        let hard = update(cgroup, &resources, None).unwrap();
        assert_eq!(hard, Some(128 << 20));
        assert_eq!(read("cpu.max"), "50000 100000");
        assert_eq!(read("cpu.weight"), "50");
        assert_eq!(read("memory.max"), (128u64 << 20).to_string());
        assert_eq!(read("memory.low"), (128u64 << 20).to_string());

        let smaller = Resources::parse("cpus:2;mem:64", "*").unwrap().to_vec();
        assert_eq!(update(cgroup, &smaller, hard).unwrap(), Some(128 << 20));
        assert_eq!(read("cpu.max"), "200000 100000");
        assert_eq!(read("memory.max"), (128u64 << 20).to_string());
        assert_eq!(read("memory.low"), (64u64 << 20).to_string());

        let bigger = Resources::parse("mem:256", "*").unwrap().to_vec();
        assert_eq!(update(cgroup, &bigger, Some(128 << 20)).unwrap(), Some(256 << 20));
        assert_eq!(read("memory.max"), (256u64 << 20).to_string());
    }

    #[test]
    fn pids_skips_garbage() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("cgroup.procs"), "12\nx\n0\n34\n").unwrap();
        assert_eq!(pids(dir.path()), vec![12, 34]);
        assert!(pids(&dir.path().join("gone")).is_empty());
    }
}
