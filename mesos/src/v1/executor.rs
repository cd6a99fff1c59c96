//! The v1 executor library: [`Mesos`] connects to the agent's `/api/v1/executor` over two kept-alive HTTP connections, sends the executor's calls, decodes the `SUBSCRIBE` event stream and hands its events to [`Callbacks`], reconnecting with a random backoff while a checkpointing executor waits for its agent; mirrors `mesos::v1::executor::Mesos` in `include/mesos/v1/executor.hpp` and `MesosProcess`/`ShutdownProcess` in `src/executor/executor.cpp`.
//!
//! The process `executor(N)` goes `DISCONNECTED` → `CONNECTING` (both connections opened) →
//! `CONNECTED` (the `connected` callback; the executor now sends `SUBSCRIBE`) →
//! `SUBSCRIBING` → `SUBSCRIBED` (a `200 OK` stream). A call is dropped with a warning when it
//! fails [`validate_executor_call`], when it is a `SUBSCRIBE` outside `CONNECTED`, or another
//! call outside `SUBSCRIBED`. Losing the agent calls `disconnected` (once per connection);
//! then a checkpointing executor reconnects after random delays of at most
//! `MESOS_SUBSCRIPTION_BACKOFF_MAX` until `MESOS_RECOVERY_TIMEOUT` runs out, and any other
//! executor is shut down: a `SHUTDOWN` event is injected and, unless `MESOS_LOCAL` is set, the
//! process group is killed after `MESOS_EXECUTOR_SHUTDOWN_GRACE_PERIOD`. A `HEARTBEAT` call goes
//! out every 30 minutes while connected.
//!
//! Differences from C++, where C++ would end the OS process or relies on what our HTTP client
//! lacks:
//! - A bad environment is an [`EnvironmentError`] from [`Mesos::new`] (C++ `EXIT`s).
//! - Callbacks run one at a time on the process's thread (C++ runs them serialized on other
//!   threads); each `received` carries the events decoded so far, usually one.
//! - C++ learns of a broken connection from `Connection::disconnected()`; here a failed
//!   request or the end of the event stream tells it. An idle connection that breaks before
//!   `SUBSCRIBE` is noticed when `SUBSCRIBE` is sent.
//! - `MESOS_AGENT_ENDPOINT` (`ip:port`, the delegate's `/api/v1/executor`) is used when
//!   `MESOS_SLAVE_PID` is absent; C++ requires the pid. No domain sockets, no TLS.

use std::collections::{BTreeMap, VecDeque};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use libprocess::http::client::{ClientError, ClientRequest, Connection};
use libprocess::http::{Body, Response, Status};
use libprocess::{Context, Libprocess, Process, Timer, PID, UPID};
use tokio::sync::{mpsc, oneshot};

use crate::api::{self, ContentType};
use crate::exec::process::{kill_process_group, KillProcessGroup, ShutdownProcess};
use crate::json::{Json, Reader};
use crate::proto::executor::{call, event, Call, Event};
use crate::proto::{ExecutorId, FrameworkId};
use crate::validation::{executor_call_type, validate_executor_call};

/// How often a connected library sends `HEARTBEAT` (C++ `DEFAULT_HEARTBEAT_CALL_INTERVAL`).
pub const DEFAULT_HEARTBEAT_CALL_INTERVAL: Duration = Duration::from_secs(30 * 60);

/// The prefix of the library's process: `executor(N)`.
pub const PROCESS_ID_PREFIX: &str = "executor";

/// The prefix of the process that kills the process group after a shutdown.
pub const SHUTDOWN_PROCESS_ID_PREFIX: &str = "__shutdown_executor__";

/// The longest event accepted from the agent (a guard against a hostile peer; C++ has none).
const MAX_EVENT_BYTES: u64 = 256 * 1024 * 1024;

/// What the library reads from the environment the agent gives its executors.
#[derive(Clone, Debug, PartialEq)]
pub struct Environment {
    /// `MESOS_LOCAL` is set: a shutdown ends only this process, not the process group.
    pub local: bool,
    /// The agent's address.
    pub agent: SocketAddr,
    /// The request path of the executor API (`/slave(1)/api/v1/executor`).
    pub path: String,
    /// `MESOS_FRAMEWORK_ID` and `MESOS_EXECUTOR_ID`, for the executor's calls (the library
    /// itself does not need them).
    pub framework_id: Option<FrameworkId>,
    pub executor_id: Option<ExecutorId>,
    /// `MESOS_CHECKPOINT` is `1`.
    pub checkpoint: bool,
    /// `MESOS_RECOVERY_TIMEOUT`, required when checkpointing.
    pub recovery_timeout: Option<Duration>,
    /// `MESOS_SUBSCRIPTION_BACKOFF_MAX`, required when checkpointing.
    pub max_backoff: Option<Duration>,
    /// `MESOS_EXECUTOR_SHUTDOWN_GRACE_PERIOD`.
    pub shutdown_grace_period: Duration,
    /// `MESOS_EXECUTOR_AUTHENTICATION_TOKEN`, sent as a bearer token.
    pub authentication_token: Option<String>,
}

/// Why the environment cannot start the library (C++'s texts, which it prints before
/// exiting).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum EnvironmentError {
    #[error("Expecting '{0}' to be set in the environment")]
    Missing(&'static str),
    #[error("Failed to parse {name} '{value}'")]
    Address { name: &'static str, value: String },
    #[error("Failed to parse {name} '{value}': {reason}")]
    Duration { name: &'static str, value: String, reason: String },
}

impl Environment {
    /// Reads the variables in C++'s order, so the first problem reported is C++'s.
    pub fn from_map(env: &BTreeMap<String, String>) -> Result<Environment, EnvironmentError> {
        let local = env.contains_key("MESOS_LOCAL");
        let (agent, path) = match (env.get("MESOS_SLAVE_PID"), env.get("MESOS_AGENT_ENDPOINT")) {
            (Some(value), _) => match value.parse::<UPID>() {
                Ok(pid) if pid.is_valid() => (SocketAddr::V4(pid.address()), format!("/{}/api/v1/executor", pid.id)),
                _ => return Err(EnvironmentError::Address { name: "MESOS_SLAVE_PID", value: value.clone() }),
            },
            (None, Some(value)) => match value.parse::<SocketAddr>() {
                Ok(address) => (address, "/api/v1/executor".to_string()),
                Err(_) => return Err(EnvironmentError::Address { name: "MESOS_AGENT_ENDPOINT", value: value.clone() }),
            },
            (None, None) => return Err(EnvironmentError::Missing("MESOS_SLAVE_PID")),
        };
        let authentication_token = env.get("MESOS_EXECUTOR_AUTHENTICATION_TOKEN").cloned();
        let duration = |name: &'static str| -> Result<Duration, EnvironmentError> {
            let value = env.get(name).ok_or(EnvironmentError::Missing(name))?;
            libprocess::duration::parse(value).map_err(|reason| EnvironmentError::Duration {
                name,
                value: value.clone(),
                reason,
            })
        };
        let checkpoint = env.get("MESOS_CHECKPOINT").is_some_and(|value| value == "1");
        let (recovery_timeout, max_backoff) = if checkpoint {
            (Some(duration("MESOS_RECOVERY_TIMEOUT")?), Some(duration("MESOS_SUBSCRIPTION_BACKOFF_MAX")?))
        } else {
            (None, None)
        };
        let shutdown_grace_period = duration("MESOS_EXECUTOR_SHUTDOWN_GRACE_PERIOD")?;
        Ok(Environment {
            local,
            agent,
            path,
            framework_id: env.get("MESOS_FRAMEWORK_ID").map(|value| FrameworkId { value: value.clone() }),
            executor_id: env.get("MESOS_EXECUTOR_ID").map(|value| ExecutorId { value: value.clone() }),
            checkpoint,
            recovery_timeout,
            max_backoff,
            shutdown_grace_period,
            authentication_token,
        })
    }
}

/// The executor's side of the library (C++ passes three functions). Each runs on the
/// library's process; none may block.
pub trait Callbacks: Send + 'static {
    /// Both connections to the agent are up: time to `SUBSCRIBE`.
    fn connected(&mut self, mesos: &Handle);
    /// The agent was lost.
    fn disconnected(&mut self, mesos: &Handle);
    /// Events from the agent, in order (and locally made `ERROR` and `SHUTDOWN` events).
    fn received(&mut self, mesos: &Handle, events: VecDeque<Event>);
}

/// Sends calls through a running library; cheap to clone.
#[derive(Clone)]
pub struct Handle {
    pid: PID<MesosProcess>,
}

impl Handle {
    /// Sends `call` to the agent (C++ `Mesos::send`); see the module doc for when it is
    /// dropped.
    pub fn send(&self, call: Call) {
        self.pid.dispatch_void(move |this, ctx| this.send(ctx, call));
    }

    /// The library's process.
    pub fn upid(&self) -> &UPID {
        self.pid.upid()
    }
}

/// The library (C++ `mesos::v1::executor::Mesos`); dropping it ends its process.
pub struct Mesos {
    handle: Handle,
    lp: Libprocess,
}

impl Mesos {
    /// Starts the library in `lp` for `callbacks`, speaking `content_type`, configured from
    /// `environment` (pass `std::env::vars()`).
    pub fn new(
        lp: &Libprocess,
        content_type: ContentType,
        callbacks: impl Callbacks,
        environment: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Mesos, EnvironmentError> {
        Mesos::with_process_group_kill(lp, content_type, callbacks, environment, Arc::new(kill_process_group))
    }

    /// As [`Mesos::new`], with `kill` run where the process group would be killed after a
    /// shutdown's grace period (tests watch it instead of dying).
    pub fn with_process_group_kill(
        lp: &Libprocess,
        content_type: ContentType,
        callbacks: impl Callbacks,
        environment: impl IntoIterator<Item = (String, String)>,
        kill: KillProcessGroup,
    ) -> Result<Mesos, EnvironmentError> {
        let environment: BTreeMap<String, String> = environment.into_iter().collect();
        let environment = Environment::from_map(&environment)?;
        if !lp.is_running(crate::version::VERSION_PROCESS_ID) {
            let _ = crate::version::VersionProcess::spawn(lp);
        }
        tracing::info!("Version: {}", crate::version::MESOS_VERSION);
        tracing::info!("Using URL http://{}{} for the executor API endpoint", environment.agent, environment.path);
        let process = MesosProcess {
            environment,
            content_type,
            callbacks: Box::new(callbacks),
            kill,
            handle: None,
            state: State::Disconnected,
            connection: 0,
            connections: None,
            subscribed: None,
            recovery_timer: None,
            events: VecDeque::new(),
        };
        let pid = lp
            .spawn(libprocess::id::generate(PROCESS_ID_PREFIX), process)
            .map_err(|_| EnvironmentError::Missing("a free process id"))?;
        Ok(Mesos { handle: Handle { pid }, lp: lp.clone() })
    }

    pub fn send(&self, call: Call) {
        self.handle.send(call);
    }

    pub fn handle(&self) -> Handle {
        self.handle.clone()
    }
}

impl Drop for Mesos {
    fn drop(&mut self) {
        self.lp.terminate(self.handle.pid.upid(), true);
    }
}

/// C++ `MesosProcess::State`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    Disconnected,
    Connecting,
    Connected,
    Subscribing,
    Subscribed,
}

/// A request for the non-subscribe connection's task.
type Outgoing = (ClientRequest, Call);

/// The two connections (C++ `Connections`): the subscribe one until `SUBSCRIBE` takes it,
/// and a task that sends the other calls over the other one, in order.
struct Connections {
    subscribe: Option<Connection>,
    calls: mpsc::UnboundedSender<Outgoing>,
}

struct MesosProcess {
    environment: Environment,
    content_type: ContentType,
    callbacks: Box<dyn Callbacks>,
    kill: KillProcessGroup,
    handle: Option<Handle>,
    state: State,
    /// Names the current connection attempt; anything from an older one is ignored (C++
    /// `connectionId`).
    connection: u64,
    connections: Option<Connections>,
    /// Ends the task reading the event stream when dropped.
    subscribed: Option<oneshot::Sender<()>>,
    recovery_timer: Option<Timer>,
    /// Events not yet handed to `received`.
    events: VecDeque<Event>,
}

impl Process for MesosProcess {
    /// C++ `MesosProcess::initialize`: connect, and start the heartbeat timer.
    fn initialize(&mut self, ctx: &mut Context<Self>) {
        self.handle = Some(Handle { pid: ctx.pid().clone() });
        self.connect(ctx);
        self.heartbeat(ctx);
    }

    fn finalize(&mut self, _ctx: &mut Context<Self>) {
        self.disconnect();
    }
}

impl MesosProcess {
    fn handle(&self) -> Handle {
        self.handle.clone().expect("set in initialize")
    }

    /// C++ `MesosProcess::send`.
    fn send(&mut self, ctx: &mut Context<Self>, call: Call) {
        let kind = executor_call_type(&call).unwrap_or(call::Type::Unknown);
        if let Err(error) = validate_executor_call(&call) {
            return drop_call(kind, &error);
        }
        if kind == call::Type::Subscribe && self.state != State::Connected {
            return drop_call(kind, &format!("Executor is in state {:?}", self.state));
        }
        if kind != call::Type::Subscribe && self.state != State::Subscribed {
            return drop_call(kind, &format!("Executor is in state {:?}", self.state));
        }
        let Some(connections) = self.connections.as_mut() else {
            return drop_call(kind, "not connected");
        };
        tracing::debug!("Sending {} call to {}{}", kind.as_str_name(), self.environment.agent, self.environment.path);
        let media_type = self.content_type.media_type();
        let mut request =
            ClientRequest::post(&self.environment.path, media_type, api::serialize(self.content_type, &call))
                .header("Accept", media_type);
        if let Some(token) = &self.environment.authentication_token {
            request = request.header("Authorization", &format!("Bearer {token}"));
        }
        let connection = self.connection;
        if kind == call::Type::Subscribe {
            self.state = State::Subscribing;
            let subscribe = connections.subscribe.take();
            let (stop, stopped) = oneshot::channel();
            self.subscribed = Some(stop);
            let pid = ctx.pid().clone();
            let (agent, content_type) = (self.environment.agent, self.content_type);
            tokio::spawn(async move {
                let connected = match subscribe {
                    Some(connection) => Ok(connection),
                    // An earlier `SUBSCRIBE` used it up (its answer was not a stream).
                    None => Connection::connect(agent).await,
                };
                let response = match connected {
                    Ok(connection) => connection.stream(&request).await,
                    Err(error) => Err(error),
                };
                read_stream(pid, connection, call, response, content_type, stopped).await;
            });
        } else if connections.calls.send((request, call)).is_err() {
            tracing::warn!("Dropping {} call: the connection is gone", kind.as_str_name());
        }
    }

    /// C++ `MesosProcess::connect`: both connections, then `connected`.
    fn connect(&mut self, ctx: &mut Context<Self>) {
        self.connection += 1;
        self.state = State::Connecting;
        let connection = self.connection;
        let agent = self.environment.agent;
        let pid = ctx.pid().clone();
        tokio::spawn(async move {
            let first = Connection::connect(agent).await;
            let second = Connection::connect(agent).await;
            pid.dispatch_void(move |this, ctx| this.connected(ctx, connection, first, second));
        });
    }

    /// C++ `MesosProcess::connected`.
    fn connected(
        &mut self,
        ctx: &mut Context<Self>,
        connection: u64,
        subscribe: Result<Connection, ClientError>,
        calls: Result<Connection, ClientError>,
    ) {
        if connection != self.connection {
            tracing::debug!("Ignoring connection attempt from stale connection");
            return;
        }
        let (subscribe, calls) = match (subscribe, calls) {
            (Ok(subscribe), Ok(calls)) => (subscribe, calls),
            (Err(error), _) => return self.disconnected(ctx, connection, &error.to_string()),
            (_, Err(error)) => return self.disconnected(ctx, connection, &error.to_string()),
        };
        tracing::debug!("Connected with the agent");
        self.state = State::Connected;
        let (sender, mut outgoing) = mpsc::unbounded_channel::<Outgoing>();
        let pid = ctx.pid().clone();
        tokio::spawn(async move {
            let mut calls = calls;
            while let Some((request, call)) = outgoing.recv().await {
                let response = calls.send(&request).await;
                let broken = response.is_err();
                pid.dispatch_void(move |this, ctx| this.sent(ctx, connection, call, response));
                if broken {
                    break;
                }
            }
        });
        self.connections = Some(Connections { subscribe: Some(subscribe), calls: sender });
        if let Some(timer) = self.recovery_timer.take() {
            ctx.cancel(timer);
        }
        let handle = self.handle();
        self.callbacks.connected(&handle);
    }

    /// C++ `MesosProcess::disconnected`.
    fn disconnected(&mut self, ctx: &mut Context<Self>, connection: u64, failure: &str) {
        if connection != self.connection {
            tracing::debug!("Ignoring disconnection attempt from stale connection");
            return;
        }
        tracing::debug!("Disconnected from agent: {failure}");
        let connected = matches!(self.state, State::Connected | State::Subscribing | State::Subscribed);
        if connected {
            let handle = self.handle();
            self.callbacks.disconnected(&handle);
        }
        self.disconnect();
        if self.recovery_timer.is_some() {
            // A failed reconnection attempt: the recovery timer runs since the first loss.
            return;
        }
        match (self.environment.checkpoint, connected, self.environment.recovery_timeout) {
            (true, true, Some(timeout)) => {
                let failure = failure.to_string();
                self.recovery_timer =
                    Some(ctx.delay(timeout, move |this: &mut Self, ctx| this.recovery_timed_out(ctx, &failure)));
                self.backoff(ctx);
            }
            _ => {
                tracing::info!("Disconnected from agent: {failure}; Shutting down");
                self.shutdown(ctx);
            }
        }
    }

    /// C++ `MesosProcess::backoff`: a new connection attempt now and another after a random
    /// delay of at most `MESOS_SUBSCRIPTION_BACKOFF_MAX`, until one succeeds.
    fn backoff(&mut self, ctx: &mut Context<Self>) {
        if matches!(self.state, State::Connected | State::Subscribing | State::Subscribed) {
            return;
        }
        let max = self.environment.max_backoff.unwrap_or_default();
        let delay = max.mul_f64(crate::sched::process::random_fraction());
        tracing::debug!("Will retry connecting with the agent again in {}", libprocess::duration::format(delay));
        self.connect(ctx);
        ctx.delay(delay, |this: &mut Self, ctx| this.backoff(ctx));
    }

    /// C++ `MesosProcess::_recoveryTimeout`.
    fn recovery_timed_out(&mut self, ctx: &mut Context<Self>, failure: &str) {
        if self.recovery_timer.take().is_none() {
            return;
        }
        tracing::info!(
            "Recovery timeout of {} exceeded following the first connection failure: {failure}; Shutting down",
            libprocess::duration::format(self.environment.recovery_timeout.unwrap_or_default())
        );
        self.shutdown(ctx);
    }

    /// C++ `MesosProcess::disconnect`: both connections and the event stream go.
    fn disconnect(&mut self) {
        self.connections = None;
        self.subscribed = None;
        self.state = State::Disconnected;
        self.connection += 1;
    }

    /// C++ `MesosProcess::_send`: the agent's answer to a call.
    fn sent(&mut self, ctx: &mut Context<Self>, connection: u64, call: Call, response: Result<Response, ClientError>) {
        if connection != self.connection {
            return;
        }
        let kind = executor_call_type(&call).unwrap_or(call::Type::Unknown);
        let response = match response {
            Ok(response) => response,
            Err(error) => {
                tracing::error!("Request for call type {} failed: {error}", kind.as_str_name());
                // C++ hears of the broken connection from the connection itself.
                return self.disconnected(
                    ctx,
                    connection,
                    &format!("Request for call type {} failed: {error}", kind.as_str_name()),
                );
            }
        };
        if response.status == Status::OK {
            if kind == call::Type::Subscribe {
                self.state = State::Subscribed;
            } else {
                tracing::error!("Unexpected '200 OK' for {}", kind.as_str_name());
            }
            return;
        }
        if response.status == Status::ACCEPTED {
            return;
        }
        if kind == call::Type::Subscribe {
            // The executor may subscribe again (the agent may not be ready yet).
            self.state = State::Connected;
            self.subscribed = None;
        }
        let body = match &response.body {
            Body::Bytes(bytes) => String::from_utf8_lossy(bytes).into_owned(),
            _ => String::new(),
        };
        if response.status == Status::SERVICE_UNAVAILABLE || response.status == Status::NOT_FOUND {
            tracing::warn!("Received '{}' ({body}) for {}", response.status, kind.as_str_name());
            return;
        }
        let message = format!("Received unexpected '{}' ({body}) for {}", response.status, kind.as_str_name());
        self.receive(ctx, error_event(message), true);
    }

    /// An event of the current stream, or its end (C++ `MesosProcess::_read`).
    fn read(&mut self, ctx: &mut Context<Self>, connection: u64, outcome: ReadOutcome) {
        if connection != self.connection || self.state != State::Subscribed {
            tracing::debug!("Ignoring event from old stale connection");
            return;
        }
        match outcome {
            ReadOutcome::Event(event) => self.receive(ctx, *event, false),
            ReadOutcome::Undecodable(error) => {
                self.receive(ctx, error_event(format!("Failed to de-serialize event: {error}")), true)
            }
            ReadOutcome::Failed(error) => {
                tracing::error!("Failed to decode the stream of events: {error}");
                self.disconnected(ctx, connection, &error);
            }
            ReadOutcome::End => {
                let error = "End-Of-File received from agent. The agent closed the event stream";
                tracing::error!("{error}");
                self.disconnected(ctx, connection, error);
            }
        }
    }

    /// C++ `MesosProcess::receive`: the event goes to `received`; a `SHUTDOWN` also starts
    /// the end of the executor.
    fn receive(&mut self, ctx: &mut Context<Self>, event: Event, locally_injected: bool) {
        let kind = event.r#type();
        if !locally_injected && self.state != State::Subscribed {
            tracing::warn!("Ignoring {} event because we're no longer subscribed", kind.as_str_name());
            return;
        }
        self.events.push_back(event);
        let events = std::mem::take(&mut self.events);
        let handle = self.handle();
        self.callbacks.received(&handle, events);
        if kind == event::Type::Shutdown {
            self.shutting_down(ctx);
        }
    }

    /// C++ `MesosProcess::shutdown`: a locally made `SHUTDOWN`.
    fn shutdown(&mut self, ctx: &mut Context<Self>) {
        self.receive(ctx, Event { r#type: Some(event::Type::Shutdown as i32), ..Event::default() }, true);
    }

    /// C++ `MesosProcess::_shutdown`: the process group dies after the grace period, or,
    /// local, this process ends once its queued events are handled.
    fn shutting_down(&mut self, ctx: &mut Context<Self>) {
        if self.environment.local {
            ctx.libprocess().terminate(ctx.upid(), false);
            return;
        }
        let killer = ShutdownProcess { grace_period: self.environment.shutdown_grace_period, kill: self.kill.clone() };
        if let Err(error) = ctx.spawn(libprocess::id::generate(SHUTDOWN_PROCESS_ID_PREFIX), killer) {
            tracing::error!("Failed to spawn the shutdown process: {error}");
        }
    }

    /// C++ `MesosProcess::heartbeat`: a `HEARTBEAT` call (with placeholder ids, which the
    /// agent does not look at) while connected, every 30 minutes.
    fn heartbeat(&mut self, ctx: &mut Context<Self>) {
        if self.connections.is_some() {
            let call = Call {
                r#type: Some(call::Type::Heartbeat as i32),
                executor_id: ExecutorId { value: "unused".into() },
                framework_id: FrameworkId { value: "unused".into() },
                ..Call::default()
            };
            self.send(ctx, call);
        }
        ctx.delay(DEFAULT_HEARTBEAT_CALL_INTERVAL, |this: &mut Self, ctx| this.heartbeat(ctx));
    }
}

fn drop_call(kind: call::Type, message: &str) {
    tracing::warn!("Dropping {}: {message}", kind.as_str_name());
}

fn error_event(message: String) -> Event {
    Event { r#type: Some(event::Type::Error as i32), error: Some(event::Error { message }), ..Event::default() }
}

/// What the reader of the event stream reports.
enum ReadOutcome {
    Event(Box<Event>),
    /// A record that is not an event; the stream goes on.
    Undecodable(String),
    /// The stream is broken (a bad record length).
    Failed(String),
    End,
}

/// Hands the `SUBSCRIBE` answer to the process, then, for a stream, each event in order,
/// until the stream ends or the process drops `stop`.
async fn read_stream(
    pid: PID<MesosProcess>,
    connection: u64,
    call: Call,
    response: Result<Response, ClientError>,
    content_type: ContentType,
    mut stop: oneshot::Receiver<()>,
) {
    let (response, mut chunks) = match response {
        Ok(mut response) if response.status == Status::OK => match std::mem::replace(&mut response.body, Body::None) {
            Body::Pipe(chunks) => (response, chunks),
            body => {
                response.body = body;
                pid.dispatch_void(move |this, ctx| this.sent(ctx, connection, call, Ok(response)));
                return;
            }
        },
        other => {
            let other = match other {
                // A refused `SUBSCRIBE`: its whole body, for the log.
                Ok(mut response) => {
                    if let Body::Pipe(mut chunks) = std::mem::replace(&mut response.body, Body::None) {
                        let mut body = Vec::new();
                        while let Some(chunk) = chunks.recv().await {
                            body.extend_from_slice(&chunk);
                        }
                        response.body = Body::Bytes(Bytes::from(body));
                    }
                    Ok(response)
                }
                Err(error) => Err(error),
            };
            pid.dispatch_void(move |this, ctx| this.sent(ctx, connection, call, other));
            return;
        }
    };
    pid.dispatch_void(move |this, ctx| this.sent(ctx, connection, call, Ok(response)));
    let mut decoder = crate::recordio::Decoder::new(MAX_EVENT_BYTES);
    let report = |outcome: ReadOutcome| pid.dispatch_void(move |this, ctx| this.read(ctx, connection, outcome));
    loop {
        let chunk = tokio::select! {
            chunk = chunks.recv() => chunk,
            _ = &mut stop => return,
        };
        let Some(chunk) = chunk else {
            report(ReadOutcome::End);
            return;
        };
        match decoder.decode(&chunk) {
            Ok(records) => {
                for record in records {
                    report(match decode_event(content_type, &record) {
                        Ok(event) => ReadOutcome::Event(Box::new(event)),
                        Err(error) => ReadOutcome::Undecodable(error),
                    });
                }
            }
            Err(error) => {
                report(ReadOutcome::Failed(error.to_string()));
                return;
            }
        }
    }
}

/// An event from its encoding (C++ `deserialize<Event>`).
pub fn decode_event(content_type: ContentType, record: &[u8]) -> Result<Event, String> {
    match content_type {
        ContentType::Protobuf => <Event as prost::Message>::decode(record).map_err(|e| e.to_string()),
        ContentType::Json => {
            let value: serde_json::Value = serde_json::from_slice(record).map_err(|e| e.to_string())?;
            Event::read_json(&value, &Reader::v1()).map_err(|e| e.to_string())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn the_environment_is_read_as_cpp_reads_it() {
        let base = [("MESOS_SLAVE_PID", "slave(1)@127.0.0.1:5051"), ("MESOS_EXECUTOR_SHUTDOWN_GRACE_PERIOD", "5secs")];
        let parsed = Environment::from_map(&env(&base)).unwrap();
        assert_eq!(parsed.agent.to_string(), "127.0.0.1:5051");
        assert_eq!(parsed.path, "/slave(1)/api/v1/executor");
        assert!(!parsed.checkpoint && !parsed.local);
        assert_eq!(parsed.shutdown_grace_period, Duration::from_secs(5));

        assert_eq!(Environment::from_map(&env(&[])), Err(EnvironmentError::Missing("MESOS_SLAVE_PID")));
        assert_eq!(
            Environment::from_map(&env(&base[..1])).unwrap_err().to_string(),
            "Expecting 'MESOS_EXECUTOR_SHUTDOWN_GRACE_PERIOD' to be set in the environment"
        );
        let endpoint =
            env(&[("MESOS_AGENT_ENDPOINT", "127.0.0.1:5051"), ("MESOS_EXECUTOR_SHUTDOWN_GRACE_PERIOD", "1secs")]);
        assert_eq!(Environment::from_map(&endpoint).unwrap().path, "/api/v1/executor");

        let mut checkpointing = env(&base);
        checkpointing.insert("MESOS_CHECKPOINT".into(), "1".into());
        assert_eq!(Environment::from_map(&checkpointing), Err(EnvironmentError::Missing("MESOS_RECOVERY_TIMEOUT")));
        checkpointing.insert("MESOS_RECOVERY_TIMEOUT".into(), "15mins".into());
        assert_eq!(
            Environment::from_map(&checkpointing),
            Err(EnvironmentError::Missing("MESOS_SUBSCRIPTION_BACKOFF_MAX"))
        );
        checkpointing.insert("MESOS_SUBSCRIPTION_BACKOFF_MAX".into(), "2secs".into());
        let parsed = Environment::from_map(&checkpointing).unwrap();
        assert_eq!(parsed.recovery_timeout, Some(Duration::from_secs(900)));
        assert_eq!(parsed.max_backoff, Some(Duration::from_secs(2)));

        let mut bad = env(&base);
        bad.insert("MESOS_SLAVE_PID".into(), "slave(1)".into());
        assert_eq!(Environment::from_map(&bad).unwrap_err().to_string(), "Failed to parse MESOS_SLAVE_PID 'slave(1)'");
    }

    #[test]
    fn events_decode_from_both_encodings() {
        let event = Event {
            r#type: Some(event::Type::Message as i32),
            message: Some(event::Message { data: b"hi".to_vec() }),
            ..Event::default()
        };
        for content_type in [ContentType::Json, ContentType::Protobuf] {
            assert_eq!(decode_event(content_type, &api::serialize(content_type, &event)).unwrap(), event);
        }
        assert!(decode_event(ContentType::Json, b"{").is_err());
    }
}
