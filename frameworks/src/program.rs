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
    /// from the `LIBPROCESS_*` variables of `environment`.
    pub fn start(quiet: bool, logging_level: &str, environment: &[(String, String)]) -> Result<Program, String> {
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

/// The process's environment as pairs.
pub fn environment() -> Vec<(String, String)> {
    std::env::vars().collect()
}

/// The process's command line.
pub fn argv() -> Vec<String> {
    std::env::args().collect()
}
