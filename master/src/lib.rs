//! The Mesos master (mirrors `src/master/`): so far the allocator's building blocks.

pub mod allocator;
pub mod constants;
pub mod flags;
pub mod rate_limiter;
pub mod registrar;
pub mod registry_operations;
pub mod resource_quantities;
pub mod slave_observer;
