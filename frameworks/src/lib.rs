//! The local cluster and the example frameworks, with the plumbing their programs share (flags, logging, the libprocess instance); the C++ counterparts are `src/local/` and `src/examples/`.
//!
//! Each example is a module with its scheduler (and executor, where it has one) and a `main`
//! taking the command line, so tests and benchmarks drive the same code the programs in
//! `src/bin/` run.

pub mod execute;
pub mod flags;
pub mod least_loaded_framework;
pub mod local;
pub mod long_lived_framework;
pub mod mesos_local;
pub mod no_executor_framework;
pub mod program;
pub mod test_framework;
pub mod test_http_framework;
