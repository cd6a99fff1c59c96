//! The Mesos agent (mirrors `src/slave/`): its constants, the layout of its work directory, and the task status update manager.
//!
//! The status update stream is a plain data structure that does its own checkpointing and
//! tells its caller what to forward and when to retry; the status update manager actor
//! drives the streams of every task. The agent actor itself is not written yet.

pub mod constants;
pub mod containerizer;
pub mod paths;
pub mod slave;
pub mod state;
pub mod status_update_manager;
