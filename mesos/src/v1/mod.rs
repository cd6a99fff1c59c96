//! The v1 HTTP API client libraries for frameworks and executors written against the HTTP APIs rather than the libprocess drivers; mirrors `include/mesos/v1/scheduler.hpp` and `include/mesos/v1/executor.hpp`.
//!
//! The v1 protobufs are wire-identical to the v0 ones this crate compiles (only names differ,
//! `slave` becoming `agent`), so these libraries speak in the v0 Rust types and do the v1
//! renaming at the JSON boundary ([`crate::json`]).

pub mod executor;
pub mod scheduler;
