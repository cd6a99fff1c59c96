//! The Mesos master (mirrors `src/master/`): the allocator, the registrar, and the master actor's agent, framework and task flows.

pub mod allocator;
pub mod constants;
pub mod flags;
pub mod framework;
pub mod master;
pub mod quota;
pub mod rate_limiter;
pub mod registrar;
pub mod registry_operations;
pub mod resource_quantities;
pub mod slave_observer;
