//! Logging set-up of a Mesos daemon (master, agent) from `--quiet` and `--logging_level` onto `tracing`; mirrors `logging::initialize` in `src/logging/logging.cpp`.
//!
//! glog's knobs map onto one `tracing_subscriber::EnvFilter` writing to stderr:
//!
//! - `--logging_level=INFO|WARNING|ERROR` is the lowest level shown (`info`, `warn`, `error`);
//! - `RUST_LOG`, when set and not empty, replaces that level with its own directives (for
//!   example `RUST_LOG=master=debug,libprocess=info`), which glog has no equivalent for;
//! - `--quiet` shows nothing, whatever `RUST_LOG` says: without `--log_dir` (not supported
//!   yet) C++ then drops everything below `FATAL`, and these daemons have no fatal log level.
//!   Errors that stop the program are still printed to stderr by the program itself.
//!
//! Lines carry no colours unless stderr is a terminal, so that log files and tests read plain
//! text.

use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;

/// The variable whose directives replace `--logging_level`.
pub const RUST_LOG: &str = "RUST_LOG";

/// Why logging could not be set up as asked.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LoggingError {
    /// `--logging_level` is not one of glog's three names (the flags check this first).
    #[error(
        "'{0}' is not a valid logging level. Possible values for 'logging_level' flag are: 'INFO', 'WARNING', 'ERROR'."
    )]
    Level(String),
    /// Another subscriber was installed first (only possible when embedded in a test).
    #[error("a global tracing subscriber is already installed")]
    AlreadyInitialized,
}

/// The `tracing` level of a glog severity name.
pub fn level_directive(logging_level: &str) -> Result<&'static str, LoggingError> {
    match logging_level {
        "INFO" => Ok("info"),
        "WARNING" => Ok("warn"),
        "ERROR" => Ok("error"),
        other => Err(LoggingError::Level(other.to_string())),
    }
}

/// The filter directives for these settings (see the module doc for the precedence);
/// `rust_log` is the value of `RUST_LOG`, if set.
pub fn filter_directives(quiet: bool, logging_level: &str, rust_log: Option<&str>) -> Result<String, LoggingError> {
    let level = level_directive(logging_level)?;
    if quiet {
        return Ok("off".to_string());
    }
    match rust_log.map(str::trim) {
        Some(directives) if !directives.is_empty() => Ok(directives.to_string()),
        _ => Ok(level.to_string()),
    }
}

/// Installs the stderr subscriber. Returns a warning to log once it is up when `RUST_LOG`
/// could not be parsed; `--logging_level` alone is used then.
pub fn initialize(quiet: bool, logging_level: &str, rust_log: Option<&str>) -> Result<Option<String>, LoggingError> {
    let directives = filter_directives(quiet, logging_level, rust_log)?;
    let (filter, warning) = match EnvFilter::try_new(&directives) {
        Ok(filter) => (filter, None),
        Err(error) => {
            let level = level_directive(logging_level)?;
            let warning = format!("ignoring {RUST_LOG}='{directives}': {error}; logging at {logging_level}");
            (EnvFilter::new(level), Some(warning))
        }
    };
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .try_init()
        .map_err(|_| LoggingError::AlreadyInitialized)?;
    Ok(warning)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn glog_levels_map_onto_tracing_levels() {
        assert_eq!(filter_directives(false, "INFO", None).unwrap(), "info");
        assert_eq!(filter_directives(false, "WARNING", None).unwrap(), "warn");
        assert_eq!(filter_directives(false, "ERROR", None).unwrap(), "error");
        assert_eq!(
            filter_directives(false, "DEBUG", None).unwrap_err().to_string(),
            "'DEBUG' is not a valid logging level. Possible values for 'logging_level' flag are: 'INFO', 'WARNING', \
             'ERROR'."
        );
    }

    #[test]
    fn rust_log_replaces_the_level_unless_empty() {
        assert_eq!(filter_directives(false, "ERROR", Some("master=debug")).unwrap(), "master=debug");
        assert_eq!(filter_directives(false, "WARNING", Some("  ")).unwrap(), "warn");
    }

    #[test]
    fn quiet_silences_everything() {
        assert_eq!(filter_directives(true, "INFO", None).unwrap(), "off");
        assert_eq!(filter_directives(true, "INFO", Some("trace")).unwrap(), "off");
        assert!(filter_directives(true, "LOUD", None).is_err(), "the level is still checked");
    }
}
