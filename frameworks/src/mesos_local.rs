//! The `mesos-local` program: a master and `--num_slaves` agents in one process, listening on `--ip`:`--port`, until SIGTERM or SIGINT; mirrors `src/local/main.cpp`.
//!
//! As C++, the program's own flags are `--work_dir`, `--num_slaves`, `--port` (5050),
//! `--ip` and the logging flags, read from the command line and `MESOS_*` variables, and the
//! master and agents read theirs from `MESOS_*` variables. C++ ignores any other flag on
//! the command line; here `--name=value` is handed to the master and the agents as if it
//! were `MESOS_NAME=value`, and a flag neither knows is an error.

use std::collections::BTreeMap;

use mesos::daemon::NetworkFlags;
use mesos::field;
use mesos::flags::{Flags, LoadOptions};

use crate::local::{LocalCluster, LocalFlags};

/// The program's name in its usage.
pub const PROGRAM: &str = "mesos-local";

/// `mesos-local`'s flags (C++ `local::Flags` plus `main.cpp`'s `port` and `ip`).
#[derive(Clone, Debug, Default)]
pub struct MesosLocalFlags {
    pub work_dir: Option<String>,
    pub num_slaves: i32,
    pub port: u16,
    pub ip: Option<String>,
    pub quiet: bool,
    pub logging_level: String,
    pub log_dir: Option<String>,
    pub logbufsecs: i32,
    pub initialize_driver_logging: bool,
    pub external_log_file: Option<String>,
}

impl MesosLocalFlags {
    pub fn declare() -> Flags<MesosLocalFlags> {
        let mut f = Flags::new(MesosLocalFlags::default());
        mesos::declare_logging_flags!(&mut f);
        crate::declare_local_flags!(&mut f);
        f.add(field!(port), "port", "Port to listen on").default(5050);
        f.add_optional(field!(ip), "ip", "IP address to listen on");
        f.set_usage_message(&format!(
            "Usage: {PROGRAM} [...]\n\nLaunches an in-memory cluster within a single process."
        ));
        f
    }
}

/// Splits the command line into `mesos-local`'s own arguments and the `MESOS_*` variables
/// the others become.
fn split_arguments(flags: &Flags<MesosLocalFlags>, argv: &[String]) -> (Vec<String>, BTreeMap<String, String>) {
    let mut own = Vec::new();
    let mut forwarded = BTreeMap::new();
    for (index, argument) in argv.iter().enumerate() {
        let Some(flag) = argument.strip_prefix("--").filter(|_| index > 0) else {
            own.push(argument.clone());
            continue;
        };
        let (name, value) = match flag.split_once('=') {
            Some((name, value)) => (name.to_string(), value.to_string()),
            None => match flag.strip_prefix("no-") {
                Some(name) => (name.to_string(), "false".to_string()),
                None => (flag.to_string(), "true".to_string()),
            },
        };
        let base = name.strip_prefix("no-").unwrap_or(&name);
        if name == "help" || flags.get(base).is_some() {
            own.push(argument.clone());
        } else {
            forwarded.insert(format!("MESOS_{}", name.to_ascii_uppercase()), value);
        }
    }
    (own, forwarded)
}

/// The program; returns the exit code (after a signal: 0, as C++'s `wait` returns).
pub fn main(argv: Vec<String>, environment: Vec<(String, String)>) -> i32 {
    let mut flags = MesosLocalFlags::declare();
    let (own, forwarded) = split_arguments(&flags, &argv);
    let (master_flags, agent_flags) = (master::flags::MasterFlags::declare(), slave::flags::SlaveFlags::declare());
    for name in forwarded.keys() {
        let flag = name.trim_start_matches("MESOS_").to_ascii_lowercase();
        if master_flags.get(&flag).is_none() && agent_flags.get(&flag).is_none() {
            eprintln!("{}", flags.usage(Some(&format!("Failed to load unknown flag '{flag}'"))));
            return 1;
        }
    }
    let options =
        LoadOptions { prefix: Some("MESOS_".into()), environment: Some(environment.clone()), ..LoadOptions::default() };
    let loaded = flags.load_from(&own, &options);
    if flags.help() {
        println!("{}", flags.usage(None));
        return 0;
    }
    if let Err(error) = loaded {
        eprintln!("{}", flags.usage(Some(&error.to_string())));
        return 1;
    }
    let network = NetworkFlags { ip: flags.ip.as_deref(), port: flags.port, advertise_ip: None, advertise_port: None };
    let config = match mesos::daemon::libprocess_config(network, &environment) {
        Ok(config) => config,
        Err(error) => {
            eprintln!("{error}");
            return 1;
        }
    };
    let rust_log = environment.iter().find(|(name, _)| name == "RUST_LOG").map(|(_, value)| value.as_str());
    if let Err(error) = mesos::logging::initialize(flags.quiet, &flags.logging_level, rust_log) {
        eprintln!("{error}");
        return 1;
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("Failed to start the runtime: {error}");
            return 1;
        }
    };
    let mut cluster_environment: BTreeMap<String, String> = environment.into_iter().collect();
    cluster_environment.extend(forwarded);
    runtime.block_on(async move {
        use tokio::signal::unix::{signal, SignalKind};
        let (Ok(mut terminate), Ok(mut interrupt)) = (signal(SignalKind::terminate()), signal(SignalKind::interrupt()))
        else {
            eprintln!("Failed to install the signal handlers");
            return 1;
        };
        let lp = match libprocess::Libprocess::initialize(config).await {
            Ok(lp) => lp,
            Err(error) => {
                eprintln!("Failed to initialize libprocess: {error}");
                return 1;
            }
        };
        let local = LocalFlags { work_dir: flags.work_dir.clone(), num_slaves: flags.num_slaves };
        let code = match LocalCluster::launch_with(&lp, &local, &cluster_environment) {
            Ok(cluster) => {
                println!("Local cluster: master at {}, {} agent(s)", cluster.master, cluster.agents.len());
                let code = tokio::select! {
                    _ = terminate.recv() => { tracing::warn!("Received signal SIGTERM; exiting"); 0 }
                    _ = interrupt.recv() => { tracing::warn!("Received signal SIGINT; exiting"); 0 }
                    _ = cluster.wait() => { tracing::error!("The master process terminated"); 1 }
                };
                cluster.shutdown();
                code
            }
            Err(error) => {
                eprintln!("{error}");
                1
            }
        };
        let _ = tokio::time::timeout(std::time::Duration::from_secs(5), lp.shutdown()).await;
        code
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn own_flags_stay_and_others_become_mesos_variables() {
        let flags = MesosLocalFlags::declare();
        let (own, forwarded) = split_arguments(
            &flags,
            &strings(&[
                "mesos-local",
                "--num_slaves=3",
                "--port=5051",
                "--resources=cpus:4",
                "--no-hostname_lookup",
                "--quiet",
            ]),
        );
        assert_eq!(own, strings(&["mesos-local", "--num_slaves=3", "--port=5051", "--quiet"]));
        assert_eq!(forwarded.get("MESOS_RESOURCES").map(String::as_str), Some("cpus:4"));
        assert_eq!(forwarded.get("MESOS_HOSTNAME_LOOKUP").map(String::as_str), Some("false"));
        assert_eq!(forwarded.len(), 2);
    }

    #[test]
    fn defaults_are_those_of_cpp() {
        let mut flags = MesosLocalFlags::declare();
        flags
            .load_from(&["mesos-local"], &LoadOptions { environment: Some(Vec::new()), ..LoadOptions::default() })
            .unwrap();
        assert_eq!(flags.port, 5050);
        assert_eq!(flags.num_slaves, 1);
        assert_eq!(flags.ip, None);
    }
}
