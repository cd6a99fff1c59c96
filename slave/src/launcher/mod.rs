//! Programs the agent launches for its tasks (mirrors `src/launcher/`): the command executor (v0 driver or v1 HTTP API).

pub mod executor;
pub mod executor_http;
