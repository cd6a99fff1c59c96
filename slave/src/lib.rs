//! The Mesos agent (mirrors `src/slave/`): its flags, its total resources, its constants, the layout of its work directory, the containerizer interface, the task status update manager and the agent actor.
//!
//! The status update stream is a plain data structure that does its own checkpointing and
//! tells its caller what to forward and when to retry; the status update manager actor
//! drives the streams of every task, and the agent actor drives the manager and the
//! containerizer.

pub mod constants;
pub mod containerizer;
pub mod flags;
pub mod launcher;
pub mod main_support;
pub mod metrics;
pub mod paths;
pub mod resources;
pub mod slave;
pub mod state;
pub mod status_update_manager;
