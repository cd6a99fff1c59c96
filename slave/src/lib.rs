//! The Mesos agent (mirrors `src/slave/`): its flags, its total resources, its constants, the layout of its work directory, and the task status update streams.
//!
//! No actor lives here yet. The status update stream is a plain data structure that does
//! its own checkpointing and tells its caller what to forward and when to retry; the
//! status update manager actor and the agent will drive it.

pub mod constants;
pub mod flags;
pub mod paths;
pub mod resources;
pub mod state;
pub mod status_update_manager;
