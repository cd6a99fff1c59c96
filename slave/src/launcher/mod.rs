//! Programs the agent launches for its tasks (mirrors `src/launcher/`): the command executor (v0 driver or v1 HTTP API) and the default executor of task groups, sharing the running of a task's command.

pub mod default_executor;
pub mod executor;
pub mod executor_http;
pub mod task;

/// An executor program's runtime and libprocess instance, configured from the
/// `LIBPROCESS_*` variables of `environment` (C++ executors get theirs implicitly); the
/// error says which step failed.
pub(crate) fn start_instance(
    environment: &[(String, String)],
) -> Result<(tokio::runtime::Runtime, libprocess::Libprocess), String> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|error| format!("Failed to start the runtime: {error}"))?;
    let variables = environment.iter().filter(|(name, _)| name.starts_with("LIBPROCESS_")).cloned();
    let config = libprocess::Config::from_vars(variables).map_err(|error| error.to_string())?;
    let lp = runtime
        .block_on(libprocess::Libprocess::initialize(config))
        .map_err(|error| format!("Failed to initialize libprocess: {error}"))?;
    Ok((runtime, lp))
}
