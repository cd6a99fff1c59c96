//! Programs the agent launches for its tasks (mirrors `src/launcher/`): the command executor (v0 driver or v1 HTTP API) and the default executor of task groups, sharing the running of a task's command.

pub mod default_executor;
pub mod executor;
pub mod executor_http;
pub mod task;
