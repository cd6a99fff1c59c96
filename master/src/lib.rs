//! The Mesos master (mirrors `src/master/`): the allocator, the registrar, the master actor's agent, framework and task flows, and the `mesos-master` program's start-up.

pub mod allocator;
pub mod constants;
pub mod evolve;
pub mod flags;
pub mod framework;
pub mod main_support;
pub mod master;
pub mod metrics;
pub mod quota;
pub mod rate_limiter;
pub mod registrar;
pub mod registry_operations;
pub mod resource_quantities;
pub mod slave_observer;
