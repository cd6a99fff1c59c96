//! The agent's total resources and attributes: `--resources` (text or JSON) under `--default_role`, with cpus, mem, disk and ports filled in when not given, and `--attributes`; mirrors `Containerizer::resources` in `src/slave/containerizer/containerizer.cpp` and the attribute parsing of `Slave::initialize` in `src/slave/slave.cpp`.
//!
//! What is filled in, for each of `cpus`, `mem`, `disk`, `ports` that `--resources` does not
//! name at all (`cpus:0` names it, and so does `cpus(role):2`: detection is then off, as
//! upstream):
//!
//! | name | value | if detection fails |
//! | --- | --- | --- |
//! | `cpus` | the online CPUs | 1 |
//! | `mem` (MB, truncated) | total memory minus 1 GB if it is at least 2 GB, else half of it | 1024 |
//! | `disk` (MB, truncated) | size of the filesystem holding `--work_dir` minus 5 GB if it is at least 10 GB, else half of it | 10240 |
//! | `ports` | `[31000-32000]` | — |
//!
//! all reserved to `--default_role` (unreserved for `*`). GPUs are never detected: upstream
//! only does that with the `gpu/nvidia` isolator, and passes `gpus` of `--resources` through
//! unchanged otherwise (moving them to the front, which is kept here).
//!
//! The rules take the machine's facts as a [`Machine`] value, so tests choose them;
//! [`Machine::detect`] reads the real ones (`sysconf`, `sysinfo`, `statvfs`).

use std::path::Path;

use mesos::attributes::{Attributes, AttributesError};
use mesos::bytes::Bytes;
use mesos::proto::Resource;
use mesos::resources::{validate_role, Resources, ResourcesError};

use crate::constants::{DEFAULT_CPUS, DEFAULT_DISK, DEFAULT_MEM, DEFAULT_PORTS};

/// Why the agent's resources could not be worked out.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum AgentResourcesError {
    /// `--default_role` is not a valid role (C++ does not check it, and then drops every
    /// resource that would get it).
    #[error("Invalid value '{role}' for --default_role: {reason}")]
    DefaultRole {
        /// The flag's value.
        role: String,
        /// Why it is not a role.
        reason: String,
    },
    /// `--resources` did not parse, or holds an invalid resource or one a command line may
    /// not give.
    #[error(transparent)]
    Resources(#[from] ResourcesError),
}

/// What the machine offers, as detected (or chosen by a test); an `Err` holds why detection
/// failed, for the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Machine {
    /// Online CPUs (`os::cpus()`).
    pub cpus: Result<u64, String>,
    /// Total memory (`os::memory().total`).
    pub memory: Result<Bytes, String>,
    /// Size of the filesystem holding the work directory (`fs::size(work_dir)`).
    pub disk: Result<Bytes, String>,
}

impl Machine {
    /// A machine with these facts.
    pub fn new(cpus: u64, memory: Bytes, disk: Bytes) -> Machine {
        Machine { cpus: Ok(cpus), memory: Ok(memory), disk: Ok(disk) }
    }

    /// This machine, with the disk of the filesystem that holds `work_dir` (which should
    /// exist: the agent creates it first).
    pub fn detect(work_dir: &Path) -> Machine {
        Machine { cpus: online_cpus(), memory: total_memory(), disk: filesystem_size(work_dir) }
    }
}

fn last_os_error() -> String {
    std::io::Error::last_os_error().to_string()
}

/// The number of online CPUs (`sysconf(_SC_NPROCESSORS_ONLN)`).
pub fn online_cpus() -> Result<u64, String> {
    // SAFETY: `sysconf` takes no pointers.
    let cpus = unsafe { libc::sysconf(libc::_SC_NPROCESSORS_ONLN) };
    u64::try_from(cpus).map_err(|_| last_os_error())
}

/// The machine's total memory (`sysinfo`: `totalram * mem_unit`).
#[cfg(target_os = "linux")]
pub fn total_memory() -> Result<Bytes, String> {
    // SAFETY: `sysinfo` only writes into the zeroed struct we own.
    let mut info: libc::sysinfo = unsafe { std::mem::zeroed() };
    if unsafe { libc::sysinfo(&mut info) } != 0 {
        return Err(last_os_error());
    }
    Ok(Bytes::new((info.totalram as u64).wrapping_mul(u64::from(info.mem_unit))))
}

/// The machine's total memory; only read on Linux so far.
#[cfg(not(target_os = "linux"))]
pub fn total_memory() -> Result<Bytes, String> {
    Err("reading the total memory is not implemented on this platform".to_string())
}

/// The size of the filesystem holding `path` (`statvfs`: `f_frsize * f_blocks`).
pub fn filesystem_size(path: &Path) -> Result<Bytes, String> {
    use std::os::unix::ffi::OsStrExt;
    let path = std::ffi::CString::new(path.as_os_str().as_bytes()).map_err(|error| error.to_string())?;
    // SAFETY: `path` is NUL-terminated and outlives the call; `statvfs` only writes into the
    // zeroed struct we own.
    let mut buffer: libc::statvfs = unsafe { std::mem::zeroed() };
    if unsafe { libc::statvfs(path.as_ptr(), &mut buffer) } != 0 {
        return Err(last_os_error());
    }
    #[allow(clippy::unnecessary_cast)] // The field types differ between platforms.
    let (fragment, blocks) = (buffer.f_frsize as u64, buffer.f_blocks as u64);
    Ok(Bytes::new(fragment.wrapping_mul(blocks)))
}

/// The cpus to offer: the online CPUs, or `DEFAULT_CPUS` if they could not be counted.
pub fn cpus_to_offer(detected: &Result<u64, String>) -> f64 {
    match detected {
        Ok(cpus) => *cpus as f64,
        Err(error) => {
            tracing::warn!("Could not count the CPUs ({error}); offering {DEFAULT_CPUS}");
            DEFAULT_CPUS
        }
    }
}

/// The memory to offer: total minus 1 GB from 2 GB up, half below; `DEFAULT_MEM` if the
/// total is unknown.
pub fn mem_to_offer(total: &Result<Bytes, String>) -> Bytes {
    match total {
        Ok(total) if *total >= Bytes::gigabytes(2) => *total - Bytes::gigabytes(1),
        Ok(total) => Bytes::new(total.bytes() / 2),
        Err(error) => {
            tracing::warn!("Could not read the total memory ({error}); offering {DEFAULT_MEM}");
            DEFAULT_MEM
        }
    }
}

/// The disk to offer: the filesystem's size minus 5 GB from 10 GB up, half below;
/// `DEFAULT_DISK` if the size is unknown.
pub fn disk_to_offer(total: &Result<Bytes, String>) -> Bytes {
    match total {
        Ok(total) if *total >= Bytes::gigabytes(10) => *total - Bytes::gigabytes(5),
        Ok(total) => Bytes::new(total.bytes() / 2),
        Err(error) => {
            tracing::warn!(
                "Could not read the size of the work directory's filesystem ({error}); offering {DEFAULT_DISK}"
            );
            DEFAULT_DISK
        }
    }
}

/// `--resources` (absent: none) parsed and validated under `default_role`, which must be a
/// valid role.
pub fn parse_resources(text: Option<&str>, default_role: &str) -> Result<Resources, AgentResourcesError> {
    validate_role(default_role)
        .map_err(|reason| AgentResourcesError::DefaultRole { role: default_role.to_string(), reason })?;
    Ok(Resources::parse(text.unwrap_or(""), default_role)?)
}

/// The agent's total resources: `--resources` plus the detected or default cpus, mem, disk
/// and ports it does not name (C++ `Containerizer::resources`).
pub fn agent_resources(
    text: Option<&str>,
    default_role: &str,
    machine: &Machine,
) -> Result<Resources, AgentResourcesError> {
    let text = text.unwrap_or("");
    let mut resources = parse_resources(Some(text), default_role)?;

    // `Resources` drops zero amounts, so whether a name was given at all is read from the
    // unmerged list.
    let named: Vec<String> = Resources::from_string(text, default_role)?.into_iter().map(|r| r.name).collect();
    let given = |name: &str| named.iter().any(|n| n == name);

    let add = |resources: &mut Resources, name: &str, value: &str| -> Result<(), AgentResourcesError> {
        let resource = Resources::parse_resource(name, value, default_role)?;
        Resources::validate(&resource)?;
        *resources += Resources::from(resource);
        Ok(())
    };

    if !given("cpus") {
        add(&mut resources, "cpus", &cpus_to_offer(&machine.cpus).to_string())?;
    }
    // Upstream rebuilds the list with the `gpus` first.
    let is_gpus = |resource: &Resource| resource.name == "gpus";
    resources = resources.filter(is_gpus) + resources.filter(|resource| !is_gpus(resource));
    if !given("mem") {
        let mem = mem_to_offer(&machine.memory);
        add(&mut resources, "mem", &(mem.bytes() / Bytes::MEGABYTES).to_string())?;
    }
    if !given("disk") {
        let disk = disk_to_offer(&machine.disk);
        add(&mut resources, "disk", &(disk.bytes() / Bytes::MEGABYTES).to_string())?;
    }
    if !given("ports") {
        add(&mut resources, "ports", DEFAULT_PORTS)?;
    }
    Ok(resources)
}

/// `--attributes` (absent: none) parsed; where C++ aborts on a bad text, this is an error.
pub fn parse_attributes(text: Option<&str>) -> Result<Attributes, AttributesError> {
    match text {
        Some(text) => Attributes::parse(text),
        None => Ok(Attributes::default()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_real_machine_can_be_read() {
        let machine = Machine::detect(Path::new("/"));
        assert!(machine.cpus.as_ref().is_ok_and(|cpus| *cpus >= 1), "{machine:?}");
        assert!(machine.disk.as_ref().is_ok_and(|disk| disk.bytes() > 0), "{machine:?}");
        #[cfg(target_os = "linux")]
        assert!(machine.memory.as_ref().is_ok_and(|memory| memory.bytes() > 0), "{machine:?}");
        assert!(filesystem_size(Path::new("/nonexistent/work/dir")).is_err());
        assert!(filesystem_size(Path::new("nul\0byte")).is_err());
    }
}
