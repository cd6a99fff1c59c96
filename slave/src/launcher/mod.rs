//! Programs the agent launches for its tasks (mirrors `src/launcher/`): the command executor.

pub mod executor;
