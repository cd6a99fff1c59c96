//! The `mesos-executor` program, the command executor the agent runs for a task given as a command (C++ `src/launcher/executor.cpp` `main`); the work is in `slave::launcher::executor`.
//!
//! Flags: `--launcher_dir` (accepted, as the agent passes it) and `--help`; any other flag is
//! refused. The executor reads its configuration from the `MESOS_*` variables the agent sets.

use std::sync::Arc;
use std::time::Duration;

use libprocess::{Config, Libprocess};
use mesos::exec::{ExecutorDriver, MesosExecutorDriver, Status};
use slave::launcher::executor::CommandExecutor;

// The system allocator, not mimalloc as the daemons: one executor per task runs on every
// agent, and mimalloc's 2 MiB transparent huge pages made each one 12.7 MB resident instead
// of 5 MB (`benches/agent_launch.rs`), while an executor allocates little.

const USAGE: &str = "Usage: mesos-executor [--launcher_dir=<dir>]\n\nRuns the command of the task the agent sends, \
                     reading its configuration from the MESOS_* environment the agent sets.";

fn main() {
    for argument in std::env::args().skip(1) {
        if argument == "--help" || argument == "-h" {
            println!("{USAGE}");
            return;
        }
        if !argument.starts_with("--launcher_dir=") {
            eprintln!("Failed to load flags: unknown flag '{argument}'\n\n{USAGE}");
            std::process::exit(1);
        }
    }
    let environment: Vec<(String, String)> = std::env::vars().collect();
    let level = environment
        .iter()
        .find(|(name, _)| name == "MESOS_LOGGING_LEVEL")
        .map_or("INFO".to_string(), |(_, value)| value.clone());
    let rust_log = environment.iter().find(|(name, _)| name == "RUST_LOG").map(|(_, value)| value.clone());
    let _ = mesos::logging::initialize(false, &level, rust_log.as_deref());

    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("Failed to start the runtime: {error}");
            std::process::exit(1);
        }
    };
    let config =
        match Config::from_vars(environment.iter().filter(|(name, _)| name.starts_with("LIBPROCESS_")).cloned()) {
            Ok(config) => config,
            Err(error) => {
                eprintln!("{error}");
                std::process::exit(1);
            }
        };
    let lp = match runtime.block_on(Libprocess::initialize(config)) {
        Ok(lp) => lp,
        Err(error) => {
            eprintln!("Failed to initialize libprocess: {error}");
            std::process::exit(1);
        }
    };
    let grace = environment
        .iter()
        .find(|(name, _)| name == "MESOS_EXECUTOR_SHUTDOWN_GRACE_PERIOD")
        .and_then(|(_, value)| libprocess::duration::parse(value).ok())
        .unwrap_or(Duration::from_secs(5));
    let executor = CommandExecutor::new(runtime.handle().clone(), grace);
    let driver = Arc::new(MesosExecutorDriver::new(&lp, executor.clone(), environment));
    executor.set_driver(&driver);
    let status = driver.run();
    drop(driver);
    runtime.block_on(lp.shutdown());
    std::process::exit(if status == Status::DriverStopped { 0 } else { 1 });
}
