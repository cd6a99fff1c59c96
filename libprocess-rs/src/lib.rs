//! libprocess-rs: a Rust port of libprocess, the actor library under Apache Mesos, byte-compatible with C++ libprocess on the wire; mirrors `3rdparty/libprocess/include/process/`.
//!
//! The concepts keep their C++ names: a [`Process`] is an actor with an address ([`UPID`],
//! `id@ip:port`); it is [`Libprocess::spawn`]ed, handles messages it [`Context::install`]s
//! handlers for, serves HTTP [`Context::route`]s, [`Context::link`]s to other processes to
//! learn when they exit, and runs code later with [`Context::delay`] or when a [`Future`]
//! completes with [`Context::defer`]. [`PID::dispatch`] runs a closure inside a process.
//! Tests control time through the [`Clock`] (pause, advance, settle) and intercept
//! messages through [`Filters`].
//!
//! Code map (each module names the C++ file it mirrors in its first line):
//! `pid`, `id`, `message`, `future`, `clock`, `process`, `manager`, `mailbox`, `instance`,
//! `socket_manager`, `http_proxy`, `encoder`, `decoder`, `http`, `protobuf`, `metrics`,
//! `filter`, `config`, `duration`, `builtins`.

mod builtins;
pub mod clock;
pub mod config;
pub mod decoder;
pub mod duration;
pub mod encoder;
pub mod filter;
pub mod future;
pub mod http;
mod http_proxy;
pub mod id;
mod instance;
mod mailbox;
mod manager;
pub mod message;
pub mod metrics;
pub mod pid;
mod process;
pub mod protobuf;
mod socket_manager;

pub use clock::{Clock, Time, Timer};
pub use config::Config;
pub use filter::{Filters, MessageMatcher};
pub use future::{Failure, Future, Outcome, Promise};
pub use instance::{InitializeError, Libprocess, SpawnError};
pub use message::Message;
pub use pid::{PID, UPID};
pub use process::{Context, Process, QueuedEvents, RemoteConnection};
pub use protobuf::ProtobufMessage;

/// Re-exported so handlers can name body types without a direct dependency.
pub use bytes::Bytes;
