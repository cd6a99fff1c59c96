//! The v1 scheduler library: [`Mesos`] finds the leading master, keeps two HTTP connections to its `/api/v1/scheduler` (one for the `SUBSCRIBE` event stream, one for the other calls), and hands the framework the events through [`Callbacks`]; mirrors `mesos::v1::scheduler::Mesos` in `include/mesos/v1/scheduler.hpp` and `MesosProcess` in `src/scheduler/scheduler.cpp`, with the flags of `src/scheduler/flags.hpp`.
//!
//! As in C++, the library does not subscribe by itself: after `connected`, the framework
//! sends `SUBSCRIBE` (and retries it if no `SUBSCRIBED` comes); every other call is sent only
//! once subscribed, with the stream's `Mesos-Stream-Id`, and dropped (logged) otherwise.
//! A broken connection, the end of the event stream or an undecodable stream gives
//! `disconnected`, and the library detects the master again and reconnects after a random
//! delay of at most `connection_delay_max` (`MESOS_CONNECTION_DELAY_MAX`, 500 ms).
//! Unexpected answers to calls become `ERROR` events made by the library.
//!
//! Callbacks run one at a time on the library's process; they may call the [`MesosHandle`]
//! they are given (its calls are queued to the process, never run inline).
//!
//! Differences from C++: no authentication (C++ adds HTTP basic credentials); `zk://`
//! masters are refused as the v0 driver refuses them.

use std::collections::{BTreeMap, VecDeque};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use libprocess::http::client::{ClientRequest, Connection};
use libprocess::http::{Body, Response, Status};
use libprocess::{Context, Future, Libprocess, Process, Promise, PID};
use tokio::sync::mpsc::UnboundedSender;

use crate::api::{self, ContentType, MESOS_STREAM_ID};
use crate::detector::MasterDetector;
use crate::json::{Json, Reader};
use crate::proto::scheduler::{call, event, Call, Event, Response as CallResponse};
use crate::proto::MasterInfo;
use crate::recordio;
use crate::state::Uuid;

/// C++ `DEFAULT_CONNECTION_DELAY_MAX`.
pub const DEFAULT_CONNECTION_DELAY_MAX: Duration = Duration::from_millis(500);
/// The environment variable of `--connection_delay_max` (the library loads `MESOS_*`).
pub const MESOS_CONNECTION_DELAY_MAX: &str = "MESOS_CONNECTION_DELAY_MAX";
/// The largest event record accepted from the master.
const MAX_EVENT_BYTES: u64 = 1 << 30;

/// What the framework is told (C++ passes `std::function`s).
pub trait Callbacks: Send + 'static {
    /// Both connections to a master are up: time to send `SUBSCRIBE`.
    fn connected(&mut self, mesos: &MesosHandle);
    /// The connections broke; the library reconnects by itself.
    fn disconnected(&mut self, mesos: &MesosHandle);
    /// Events, in the order they arrived.
    fn received(&mut self, mesos: &MesosHandle, events: VecDeque<Event>);
}

/// The answer to [`MesosHandle::call`] (C++ `APIResult`): the HTTP status, a decoded body for
/// `200 OK`, or the error text for any status but `200` and `202`.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiResult {
    pub status_code: u16,
    pub response: Option<CallResponse>,
    pub error: Option<String>,
}

/// The library's flags, read from `MESOS_*` variables.
#[derive(Debug, Clone)]
pub struct Flags {
    pub connection_delay_max: Duration,
}

impl Default for Flags {
    fn default() -> Flags {
        Flags { connection_delay_max: DEFAULT_CONNECTION_DELAY_MAX }
    }
}

impl Flags {
    /// Reads the flags from `environment`; the error text is stout's.
    pub fn from_env(environment: &BTreeMap<String, String>) -> Result<Flags, String> {
        let mut flags = Flags::default();
        if let Some(value) = environment.get(MESOS_CONNECTION_DELAY_MAX) {
            flags.connection_delay_max = libprocess::duration::parse(value).map_err(|reason| {
                format!("Failed to load flag 'connection_delay_max': Failed to load value '{value}': {reason}")
            })?;
        }
        Ok(flags)
    }
}

/// Where the library is in its life with the current master (C++ `MesosProcess::State`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    Disconnected,
    Connecting,
    Connected,
    Subscribing,
    Subscribed,
}

/// A way to reach the library's process: what callbacks get, and what [`Mesos`] derefs to.
#[derive(Clone)]
pub struct MesosHandle {
    pid: PID<MesosProcess>,
}

impl MesosHandle {
    /// Sends `call` to the master (C++ `Mesos::send`); dropped with a log line unless the
    /// library is connected (for `SUBSCRIBE`) or subscribed (for the rest).
    pub fn send(&self, call: Call) {
        self.pid.dispatch_void(move |process, ctx| process.send(ctx, call));
    }

    /// Sends a call other than `SUBSCRIBE` and returns the master's answer (C++
    /// `Mesos::call`); fails if the call is invalid, the library is not subscribed, or the
    /// request could not be made.
    pub fn call(&self, call: Call) -> Future<ApiResult> {
        self.pid.dispatch_future(move |process, ctx| process.call(ctx, call))
    }

    /// Drops the connections and connects anew (C++ `Mesos::reconnect`): `disconnected`,
    /// then `connected` again. Ignored while disconnected.
    pub fn reconnect(&self) {
        self.pid.dispatch_void(|process, ctx| process.reconnect(ctx));
    }

    /// The library's state.
    pub fn state(&self) -> Future<State> {
        self.pid.dispatch(|process, _| process.state)
    }
}

/// The library (C++ `mesos::v1::scheduler::Mesos`). Dropping it closes the connections,
/// ends the process and, for `master = "local"`, stops the local cluster.
pub struct Mesos {
    handle: MesosHandle,
    lp: Libprocess,
    local: bool,
}

impl std::ops::Deref for Mesos {
    type Target = MesosHandle;
    fn deref(&self) -> &MesosHandle {
        &self.handle
    }
}

impl Drop for Mesos {
    fn drop(&mut self) {
        self.lp.terminate(self.handle.pid.upid(), true);
        if self.local {
            crate::local::shutdown(&self.lp);
        }
    }
}

impl Mesos {
    /// Starts the library on `lp` for `master` (`host:port`, `master@host:port`,
    /// `file://path`, or `local` to launch a local cluster in this process), encoding calls
    /// and reading events as `content_type`. `environment` supplies the `MESOS_*` flags.
    pub fn new(
        lp: &Libprocess,
        master: &str,
        content_type: ContentType,
        callbacks: impl Callbacks,
        environment: &BTreeMap<String, String>,
    ) -> Result<Mesos, String> {
        let flags = Flags::from_env(environment)?;
        let local = master == crate::sched::LOCAL;
        let detector: Arc<dyn MasterDetector> = if local {
            let pid = crate::local::launch(lp, environment)
                .map_err(|error| format!("Failed to launch a local cluster: {error}"))?;
            Arc::new(crate::detector::StandaloneMasterDetector::new(Some(crate::detector::create_master_info(&pid))))
        } else {
            crate::sched::create_detector(master)
                .map_err(|error| format!("Failed to create a master detector: {error}"))?
        };
        Mesos::with_detector(lp, detector, content_type, callbacks, flags).map(|mut mesos| {
            mesos.local = local;
            mesos
        })
    }

    /// As [`Mesos::new`] with a given detector (C++'s testing constructor).
    pub fn with_detector(
        lp: &Libprocess,
        detector: Arc<dyn MasterDetector>,
        content_type: ContentType,
        callbacks: impl Callbacks,
        flags: Flags,
    ) -> Result<Mesos, String> {
        let process = MesosProcess {
            state: State::Disconnected,
            content_type,
            callbacks: Box::new(callbacks),
            detector,
            detection: 0,
            flags,
            master: None,
            connection_id: None,
            connections: None,
            stream_id: None,
            handle: None,
        };
        let id = format!("scheduler-{}", Uuid::random());
        let pid = lp.spawn(id, process).map_err(|error| error.to_string())?;
        Ok(Mesos { handle: MesosHandle { pid }, lp: lp.clone(), local: false })
    }
}

/// The two connections to the master: the subscribe one (taken by `SUBSCRIBE`) and a
/// queue feeding the other one, which a task drains in order.
struct Connections {
    subscribe: Option<Connection>,
    calls: UnboundedSender<(ClientRequest, Promise<Result<Response, String>>)>,
    /// Dropping this ends the event reader (and closes the subscribe connection).
    events: Option<tokio::sync::oneshot::Sender<()>>,
}

/// The process behind [`Mesos`] (C++ `MesosProcess`).
pub struct MesosProcess {
    state: State,
    content_type: ContentType,
    callbacks: Box<dyn Callbacks>,
    detector: Arc<dyn MasterDetector>,
    /// Bumped to forget a pending detection (C++ discards the detection future).
    detection: u64,
    flags: Flags,
    /// The master's scheduler endpoint address and path.
    master: Option<(SocketAddr, String)>,
    /// Identifies the current connection attempt; answers for older ones are ignored.
    connection_id: Option<Uuid>,
    connections: Option<Connections>,
    stream_id: Option<String>,
    handle: Option<MesosHandle>,
}

impl Process for MesosProcess {
    fn initialize(&mut self, ctx: &mut Context<Self>) {
        self.handle = Some(MesosHandle { pid: ctx.pid().clone() });
        self.start_detection(ctx, None);
    }

    fn finalize(&mut self, _ctx: &mut Context<Self>) {
        self.disconnect();
    }
}

impl MesosProcess {
    fn handle(&self) -> MesosHandle {
        self.handle.clone().expect("set in initialize")
    }

    fn start_detection(&mut self, ctx: &mut Context<Self>, previous: Option<MasterInfo>) {
        self.detection += 1;
        let detection = self.detection;
        let detected = self.detector.detect(previous.as_ref());
        ctx.defer(detected, move |this: &mut Self, ctx, outcome| {
            if this.detection == detection {
                this.detected(ctx, outcome.map_err(|failure| failure.to_string()));
            }
        });
    }

    /// C++ `MesosProcess::detected`: a (new) leading master or none; the old connections
    /// go, and a connection attempt is scheduled after a random delay.
    fn detected(&mut self, ctx: &mut Context<Self>, master: Result<Option<MasterInfo>, String>) {
        let master = match master {
            Ok(master) => master,
            Err(failure) => {
                self.error(ctx, &format!("Failed to detect a master: {failure}"));
                return;
            }
        };
        if matches!(self.state, State::Connected | State::Subscribing | State::Subscribed) {
            let handle = self.handle();
            self.callbacks.disconnected(&handle);
        }
        self.disconnect();
        self.master = None;
        match master.as_ref().and_then(|info| info.pid.as_deref()).and_then(|pid| pid.parse::<libprocess::UPID>().ok())
        {
            Some(pid) => {
                self.master = Some((SocketAddr::V4(pid.address()), format!("/{}/api/v1/scheduler", pid.id)));
                tracing::info!("New master detected at {pid}");
                let connection_id = Uuid::random();
                self.connection_id = Some(connection_id);
                let fraction =
                    f64::from(u32::from_le_bytes(connection_id.as_bytes()[..4].try_into().unwrap_or_default()))
                        / f64::from(u32::MAX);
                let delay = self.flags.connection_delay_max.mul_f64(fraction);
                tracing::debug!("Waiting for {delay:?} before initiating a (re-)connection attempt with the master");
                ctx.delay(delay, move |this: &mut Self, ctx| this.connect(ctx, connection_id));
            }
            None => tracing::info!("Lost leading master"),
        }
        self.start_detection(ctx, master);
    }

    /// C++ `MesosProcess::connect`: opens both connections.
    fn connect(&mut self, ctx: &mut Context<Self>, connection_id: Uuid) {
        if self.connection_id != Some(connection_id) || self.state != State::Disconnected {
            return;
        }
        let Some((address, _)) = self.master.clone() else { return };
        self.state = State::Connecting;
        let pid = ctx.pid().clone();
        ctx.libprocess().runtime().spawn(async move {
            let both = tokio::try_join!(Connection::connect(address), Connection::connect(address));
            let both = both.map_err(|error| error.to_string());
            pid.dispatch_void(move |this, ctx| this.connected(ctx, connection_id, both));
        });
    }

    /// C++ `MesosProcess::connected`.
    fn connected(
        &mut self,
        ctx: &mut Context<Self>,
        connection_id: Uuid,
        connections: Result<(Connection, Connection), String>,
    ) {
        if self.connection_id != Some(connection_id) || self.state != State::Connecting {
            return;
        }
        let (subscribe, calls) = match connections {
            Ok(both) => both,
            Err(failure) => return self.disconnected(ctx, connection_id, &failure),
        };
        tracing::debug!("Connected with the master at {:?}", self.master);
        self.state = State::Connected;
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<(ClientRequest, Promise<Result<Response, String>>)>();
        let pid = ctx.pid().clone();
        ctx.libprocess().runtime().spawn(async move {
            let mut connection = calls;
            while let Some((request, promise)) = rx.recv().await {
                match connection.send(&request).await {
                    Ok(response) => promise.set(Ok(response)),
                    Err(error) => {
                        promise.set(Err(error.to_string()));
                        pid.dispatch_void(move |this, ctx| {
                            this.disconnected(ctx, connection_id, "Non-subscribe connection interrupted")
                        });
                        return;
                    }
                }
            }
        });
        self.connections = Some(Connections { subscribe: Some(subscribe), calls: tx, events: None });
        let handle = self.handle();
        self.callbacks.connected(&handle);
    }

    /// C++ `MesosProcess::disconnected`: forget this connection and detect the master anew.
    fn disconnected(&mut self, ctx: &mut Context<Self>, connection_id: Uuid, failure: &str) {
        if self.connection_id != Some(connection_id) {
            tracing::debug!("Ignoring disconnection attempt from stale connection");
            return;
        }
        tracing::info!("Disconnected from the master: {failure}");
        self.detected(ctx, Ok(None));
    }

    /// C++ `MesosProcess::disconnect`.
    fn disconnect(&mut self) {
        self.connections = None;
        self.state = State::Disconnected;
        self.connection_id = None;
        self.stream_id = None;
    }

    fn reconnect(&mut self, ctx: &mut Context<Self>) {
        if self.state == State::Disconnected {
            tracing::debug!("Ignoring reconnect request from scheduler since we are disconnected");
            return;
        }
        if let Some(connection_id) = self.connection_id {
            self.disconnected(ctx, connection_id, "Received reconnect request from scheduler");
        }
    }

    fn request(&self, call: &Call) -> Option<ClientRequest> {
        let (_, path) = self.master.as_ref()?;
        let media = self.content_type.media_type();
        Some(ClientRequest::post(path.clone(), media, api::serialize(self.content_type, call)).header("Accept", media))
    }

    /// C++ `MesosProcess::send` and `_send`.
    fn send(&mut self, ctx: &mut Context<Self>, call: Call) {
        let kind = call.r#type();
        if let Err(error) = validate(&call) {
            tracing::warn!("Dropping {kind:?}: {error}");
            return;
        }
        let subscribing = kind == call::Type::Subscribe;
        if (subscribing && self.state != State::Connected) || (!subscribing && self.state != State::Subscribed) {
            tracing::warn!("Dropping {kind:?}: Scheduler is in state {:?}", self.state);
            return;
        }
        let (Some(connection_id), Some(mut request)) = (self.connection_id, self.request(&call)) else { return };
        let Some(connections) = self.connections.as_mut() else {
            tracing::warn!("Dropping {kind:?}: Connection to master interrupted");
            return;
        };
        if subscribing {
            let Some(connection) = connections.subscribe.take() else { return };
            self.state = State::Subscribing;
            let pid = ctx.pid().clone();
            ctx.libprocess().runtime().spawn(async move {
                let response = connection.stream(&request).await.map_err(|error| error.to_string());
                pid.dispatch_void(move |this, ctx| this.subscribe_answered(ctx, connection_id, response));
            });
            return;
        }
        if let Some(stream_id) = &self.stream_id {
            request.headers.set(MESOS_STREAM_ID, stream_id);
        }
        let promise = Promise::new();
        let answered = promise.future();
        let _ = connections.calls.send((request, promise));
        ctx.defer(answered, move |this: &mut Self, ctx, outcome| {
            let response = outcome.map_err(|failure| failure.to_string()).and_then(|r| r);
            this.call_answered(ctx, connection_id, kind, response);
        });
    }

    /// C++ `MesosProcess::__send` for `SUBSCRIBE`: a `200` starts the event stream.
    fn subscribe_answered(&mut self, ctx: &mut Context<Self>, connection_id: Uuid, response: Result<Response, String>) {
        if self.connection_id != Some(connection_id) {
            return;
        }
        let response = match response {
            Ok(response) => response,
            Err(failure) => {
                tracing::error!("Request for call type SUBSCRIBE failed: {failure}");
                return self.disconnected(ctx, connection_id, &failure);
            }
        };
        if response.status != Status::OK {
            self.state = State::Connected;
            // The connection was given to the stream; a new one is made for a retry.
            let pid = ctx.pid().clone();
            let status = response.status;
            ctx.libprocess().runtime().spawn(async move {
                let body = collect(response.body).await;
                pid.dispatch_void(move |this, ctx| this.subscribe_refused(ctx, connection_id, status, body));
            });
            return;
        }
        let Some(stream_id) = response.headers.get(MESOS_STREAM_ID).map(str::to_string) else {
            return self.disconnected(ctx, connection_id, "Missing 'Mesos-Stream-Id' header in the response");
        };
        let Body::Pipe(mut chunks) = response.body else {
            return self.disconnected(ctx, connection_id, "The SUBSCRIBE response is not a stream");
        };
        self.state = State::Subscribed;
        self.stream_id = Some(stream_id);
        let (stop, mut stopped) = tokio::sync::oneshot::channel::<()>();
        if let Some(connections) = self.connections.as_mut() {
            connections.events = Some(stop);
        }
        let content_type = self.content_type;
        let pid = ctx.pid().clone();
        ctx.libprocess().runtime().spawn(async move {
            let mut decoder = recordio::Decoder::new(MAX_EVENT_BYTES);
            let failure = loop {
                let chunk = tokio::select! {
                    chunk = chunks.recv() => chunk,
                    _ = &mut stopped => return,
                };
                let Some(chunk) = chunk else {
                    break "End-Of-File received from master. The master closed the event stream".to_string();
                };
                let records = match decoder.decode(&chunk) {
                    Ok(records) => records,
                    Err(error) => break format!("Failed to decode the stream of events: {error}"),
                };
                if records.is_empty() {
                    continue;
                }
                let events: Vec<Result<Event, String>> =
                    records.iter().map(|record| decode_event(content_type, record)).collect();
                pid.dispatch_void(move |this, ctx| this.received(ctx, connection_id, events));
            };
            pid.dispatch_void(move |this, ctx| this.disconnected(ctx, connection_id, &failure));
        });
    }

    /// A refused `SUBSCRIBE` (C++ `__send` after a non-`200`): back to connected, with a new
    /// subscribe connection; an unexpected status is an `ERROR` event.
    fn subscribe_refused(&mut self, ctx: &mut Context<Self>, connection_id: Uuid, status: Status, body: String) {
        if self.connection_id != Some(connection_id) {
            return;
        }
        self.report(ctx, call::Type::Subscribe, status, &body);
        let Some((address, _)) = self.master.clone() else { return };
        let pid = ctx.pid().clone();
        ctx.libprocess().runtime().spawn(async move {
            let connection = Connection::connect(address).await.map_err(|error| error.to_string());
            pid.dispatch_void(move |this, ctx| match connection {
                Ok(connection) if this.connection_id == Some(connection_id) => {
                    if let Some(connections) = this.connections.as_mut() {
                        connections.subscribe = Some(connection);
                    }
                }
                Ok(_) => {}
                Err(failure) => this.disconnected(ctx, connection_id, &failure),
            });
        });
    }

    /// C++ `MesosProcess::__send` for the other calls.
    fn call_answered(
        &mut self,
        ctx: &mut Context<Self>,
        connection_id: Uuid,
        kind: call::Type,
        response: Result<Response, String>,
    ) {
        if self.connection_id != Some(connection_id) {
            return;
        }
        match response {
            Err(failure) => tracing::error!("Request for call type {kind:?} failed: {failure}"),
            Ok(response) if response.status == Status::ACCEPTED || response.status == Status::OK => {}
            Ok(response) => {
                let body = body_text(&response.body);
                self.report(ctx, kind, response.status, &body);
            }
        }
    }

    /// What C++ does with an answer other than `200`/`202`: logs `503`, `404` and `307`
    /// (a master that is not ready or not leading), turns the rest into an `ERROR` event.
    fn report(&mut self, ctx: &mut Context<Self>, kind: call::Type, status: Status, body: &str) {
        let text = format!("{} {}", status.0, libprocess::http::reason_phrase(status.0));
        if status == Status::SERVICE_UNAVAILABLE || status == Status::NOT_FOUND || status == Status::TEMPORARY_REDIRECT
        {
            tracing::warn!("Received '{text}' ({body}) for {kind:?}");
            return;
        }
        self.error(ctx, &format!("Received unexpected '{text}' ({body}) for {}", call_type_name(kind)));
    }

    /// C++ `MesosProcess::call` and `__call`.
    fn call(&mut self, ctx: &mut Context<Self>, call: Call) -> Future<ApiResult> {
        if let Err(error) = validate(&call) {
            return Future::failed(error);
        }
        let kind = call.r#type();
        if kind == call::Type::Subscribe {
            return Future::failed("This method doesn't support SUBSCRIBE calls");
        }
        if self.state != State::Subscribed {
            return Future::failed(format!("Cannot perform calls until subscribed. Current state: {:?}", self.state));
        }
        let Some(mut request) = self.request(&call) else { return Future::failed("No master") };
        let Some(connections) = self.connections.as_ref() else {
            return Future::failed("Connection to master interrupted");
        };
        if let Some(stream_id) = &self.stream_id {
            request.headers.set(MESOS_STREAM_ID, stream_id);
        }
        let promise = Promise::new();
        let answered = promise.future();
        let _ = connections.calls.send((request, promise));
        let content_type = self.content_type;
        let _ = ctx;
        answered.then(move |response| match response {
            Err(failure) => Future::failed(failure),
            Ok(response) => {
                let status_code = response.status.0;
                let body = match &response.body {
                    Body::Bytes(bytes) => bytes.clone(),
                    _ => Bytes::new(),
                };
                if response.status == Status::ACCEPTED {
                    Future::ready(ApiResult { status_code, response: None, error: None })
                } else if response.status == Status::OK {
                    if body.is_empty() {
                        return Future::ready(ApiResult { status_code, response: None, error: None });
                    }
                    match decode::<CallResponse>(content_type, &body) {
                        Ok(decoded) => Future::ready(ApiResult { status_code, response: Some(decoded), error: None }),
                        Err(error) => Future::failed(format!(
                            "Failed to deserialize the response '{status_code}' ({}): {error}",
                            String::from_utf8_lossy(&body)
                        )),
                    }
                } else {
                    let text = format!("{} {}", status_code, libprocess::http::reason_phrase(status_code));
                    let error = format!("Received unexpected '{text}' ({})", String::from_utf8_lossy(&body));
                    Future::ready(ApiResult { status_code, response: None, error: Some(error) })
                }
            }
        })
    }

    /// Events off the stream (C++ `_read` and `receive`); undecodable ones become `ERROR`s.
    fn received(&mut self, ctx: &mut Context<Self>, connection_id: Uuid, events: Vec<Result<Event, String>>) {
        if self.connection_id != Some(connection_id) || self.state != State::Subscribed {
            tracing::debug!("Ignoring events from an old or unsubscribed connection");
            return;
        }
        let events: VecDeque<Event> = events
            .into_iter()
            .map(|event| event.unwrap_or_else(|error| error_event(&format!("Failed to de-serialize event: {error}"))))
            .collect();
        let _ = ctx;
        let handle = self.handle();
        self.callbacks.received(&handle, events);
    }

    /// An `ERROR` event made by the library (C++ `MesosProcess::error`).
    fn error(&mut self, _ctx: &mut Context<Self>, message: &str) {
        let handle = self.handle();
        self.callbacks.received(&handle, VecDeque::from([error_event(message)]));
    }
}

/// The library's checks before sending (C++ runs the master's `validation::scheduler::call`):
/// a type, `framework_id` on every call but `SUBSCRIBE`, and the call's sub-message.
fn validate(call: &Call) -> Result<(), String> {
    use call::Type;
    let Some(kind) = call.r#type.and_then(|t| Type::try_from(t).ok()) else {
        return Err("Expecting 'type' to be present".into());
    };
    if kind == Type::Subscribe {
        let Some(subscribe) = &call.subscribe else { return Err("Expecting 'subscribe' to be present".into()) };
        if call.framework_id.is_some() && call.framework_id != subscribe.framework_info.id {
            return Err("'framework_id' differs from 'subscribe.framework_info.id'".into());
        }
        return Ok(());
    }
    if call.framework_id.is_none() {
        return Err("Expecting 'framework_id' to be present".into());
    }
    let present = match kind {
        Type::Accept => call.accept.is_some(),
        Type::Decline => call.decline.is_some(),
        Type::AcceptInverseOffers => call.accept_inverse_offers.is_some(),
        Type::DeclineInverseOffers => call.decline_inverse_offers.is_some(),
        Type::Kill => call.kill.is_some(),
        Type::Shutdown => call.shutdown.is_some(),
        Type::Acknowledge => call.acknowledge.is_some(),
        Type::AcknowledgeOperationStatus => call.acknowledge_operation_status.is_some(),
        Type::Reconcile => call.reconcile.is_some(),
        Type::ReconcileOperations => call.reconcile_operations.is_some(),
        Type::Message => call.message.is_some(),
        Type::Request => call.request.is_some(),
        Type::UpdateFramework => call.update_framework.is_some(),
        _ => true,
    };
    if present {
        Ok(())
    } else {
        Err(format!("Expecting '{}' to be present", call_type_name(kind).to_lowercase()))
    }
}

fn call_type_name(kind: call::Type) -> &'static str {
    kind.as_str_name()
}

fn error_event(message: &str) -> Event {
    Event {
        r#type: Some(event::Type::Error as i32),
        error: Some(event::Error { message: message.to_string() }),
        ..Default::default()
    }
}

fn decode<M: libprocess::ProtobufMessage + Json>(content_type: ContentType, bytes: &[u8]) -> Result<M, String> {
    match content_type {
        ContentType::Protobuf => libprocess::protobuf::decode_checked::<M>(bytes).map_err(|e| e.to_string()),
        ContentType::Json => {
            let text = std::str::from_utf8(bytes).map_err(|e| e.to_string())?;
            crate::json::from_str::<M>(text, &Reader::v1()).map_err(|e| e.to_string())
        }
    }
}

fn decode_event(content_type: ContentType, record: &[u8]) -> Result<Event, String> {
    decode::<Event>(content_type, record)
}

fn body_text(body: &Body) -> String {
    match body {
        Body::Bytes(bytes) => String::from_utf8_lossy(bytes).into_owned(),
        _ => String::new(),
    }
}

/// The whole body of a response (a streamed one read to its end, at most 64 KB kept).
async fn collect(body: Body) -> String {
    match body {
        Body::Pipe(mut chunks) => {
            let mut all = BytesMut::new();
            while let Some(chunk) = chunks.recv().await {
                if all.len() < 64 * 1024 {
                    all.extend_from_slice(&chunk);
                }
            }
            String::from_utf8_lossy(&all).into_owned()
        }
        other => body_text(&other),
    }
}
