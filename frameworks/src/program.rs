//! What the example programs share: loading their flags (usage on `--help` or an error, as stout does), logging, and a libprocess instance configured from `LIBPROCESS_*` (C++ gets one implicitly from the driver).

use std::time::Duration;

use libprocess::{Config, Libprocess};
use mesos::flags::{Flags, LoadOptions};

/// How long the instance may take to shut down at exit.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// Loads `flags` from `argv` (program name first) and the `prefix` variables of
/// `environment`. `Err(code)` when the program should exit at once: 0 after printing the
/// usage for `--help`, 1 after printing the error and the usage on stderr.
pub fn load_flags<T: 'static>(
    flags: &mut Flags<T>,
    argv: &[String],
    prefix: &str,
    environment: &[(String, String)],
) -> Result<(), i32> {
    let options = LoadOptions {
        prefix: Some(prefix.to_string()),
        environment: Some(environment.to_vec()),
        ..LoadOptions::default()
    };
    let loaded = flags.load_from(argv, &options);
    if flags.help() {
        println!("{}", flags.usage(None));
        return Err(0);
    }
    match loaded {
        Ok(loaded) => {
            if let Some(extra) = loaded.remaining.first() {
                eprintln!("{}", flags.usage(Some(&format!("Unexpected argument '{extra}'"))));
                return Err(1);
            }
            Ok(())
        }
        Err(error) => {
            eprintln!("{}", flags.usage(Some(&error.to_string())));
            Err(1)
        }
    }
}

/// A program's runtime and libprocess instance.
pub struct Program {
    pub runtime: tokio::runtime::Runtime,
    pub lp: Libprocess,
}

impl Program {
    /// Sets up logging (`RUST_LOG` overrides the level) and starts a libprocess instance
    /// from the `LIBPROCESS_*` variables of `environment`; on failure the reason is printed
    /// on stderr and the exit code returned.
    pub fn start(quiet: bool, logging_level: &str, environment: &[(String, String)]) -> Result<Program, i32> {
        Self::try_start(quiet, logging_level, environment).map_err(|error| {
            eprintln!("{error}");
            1
        })
    }

    /// [`Program::start`] for a scheduler of `master`: `local` also installs the local
    /// cluster, which the driver then launches in this program's instance.
    pub fn start_scheduler(
        master: &str,
        quiet: bool,
        logging_level: &str,
        environment: &[(String, String)],
    ) -> Result<Program, i32> {
        let program = Self::start(quiet, logging_level, environment)?;
        if master == mesos::sched::LOCAL {
            crate::local::install();
        }
        Ok(program)
    }

    fn try_start(quiet: bool, logging_level: &str, environment: &[(String, String)]) -> Result<Program, String> {
        let rust_log = environment.iter().find(|(name, _)| name == "RUST_LOG").map(|(_, value)| value.as_str());
        mesos::logging::initialize(quiet, logging_level, rust_log).map_err(|error| error.to_string())?;
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .map_err(|error| format!("Failed to start the runtime: {error}"))?;
        let config = Config::from_vars(environment.iter().filter(|(name, _)| name.starts_with("LIBPROCESS_")).cloned())
            .map_err(|error| error.to_string())?;
        let lp = runtime
            .block_on(Libprocess::initialize(config))
            .map_err(|error| format!("Failed to initialize libprocess: {error}"))?;
        Ok(Program { runtime, lp })
    }

    /// Shuts the instance down, waiting at most a few seconds.
    pub fn shutdown(self) {
        let lp = self.lp;
        self.runtime.block_on(async move {
            let _ = tokio::time::timeout(SHUTDOWN_GRACE, lp.shutdown()).await;
        });
    }
}

/// The `FrameworkInfo` of an example: the user left for the driver to fill in, one role.
pub fn framework_info(
    name: &str,
    principal: &str,
    role: &str,
    checkpoint: bool,
    capabilities: &[mesos::proto::framework_info::capability::Type],
) -> mesos::proto::FrameworkInfo {
    mesos::proto::FrameworkInfo {
        user: String::new(),
        name: name.to_string(),
        principal: Some(principal.to_string()),
        roles: vec![role.to_string()],
        capabilities: capabilities
            .iter()
            .map(|c| mesos::proto::framework_info::Capability { r#type: Some(*c as i32) })
            .collect(),
        checkpoint: Some(checkpoint),
        ..mesos::proto::FrameworkInfo::default()
    }
}

/// A resources flag's value; on failure the reason is printed and the exit code returned.
pub fn parse_resources(flag: &str, text: &str) -> Result<mesos::resources::Resources, i32> {
    mesos::resources::Resources::parse(text, "*").map_err(|error| {
        eprintln!("Invalid --{flag} '{text}': {error}");
        1
    })
}

/// A count flag's value; a negative one is printed as an error and the exit code returned.
pub fn count(flag: &str, value: i32) -> Result<usize, i32> {
    usize::try_from(value).map_err(|_| {
        eprintln!("--{flag} must not be negative");
        1
    })
}

/// The process's environment as pairs.
pub fn environment() -> Vec<(String, String)> {
    std::env::vars().collect()
}

/// The process's command line.
pub fn argv() -> Vec<String> {
    std::env::args().collect()
}
