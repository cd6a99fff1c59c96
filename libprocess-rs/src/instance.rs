//! `Libprocess`: one running instance of the library (what `process::initialize()` sets up for a C++ OS process): listener, process table, clock, sockets, metrics; mirrors `initialize`, `ProcessManager::{spawn, deliver, terminate, wait, cleanup}` in `3rdparty/libprocess/src/process.cpp`.
//!
//! Unlike C++, an instance is a value rather than a global, so a test can run two of them
//! in one OS process and have them talk over real TCP.

use std::collections::BTreeMap;
use std::net::{Ipv4Addr, SocketAddrV4};
use std::sync::Arc;

use parking_lot::RwLock;
use tokio::net::{TcpListener, TcpSocket};
use tokio_util::sync::CancellationToken;

use crate::builtins::{HelpProcess, ProcessesProcess, SystemProcess};
use crate::clock::{Clock, Work};
use crate::config::Config;
use crate::filter::Filters;
use crate::future::Future;
use crate::http::Response;
use crate::manager::{ProcessCell, ProcessTable};
use crate::message::{Event, Message};
use crate::metrics::{Metrics, MetricsProcess};
use crate::pid::{PID, UPID};
use crate::process::{run, Process, RemoteConnection, Runner};
use crate::socket_manager::SocketManager;

/// Why an instance could not start.
#[derive(Debug, thiserror::Error)]
pub enum InitializeError {
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
    #[error("Failed to bind to {address}: {source}")]
    Bind { address: SocketAddrV4, source: std::io::Error },
    #[error("Failed to determine the IP address to advertise: {0}")]
    Advertise(String),
    #[error("libprocess must be initialized from within a tokio runtime")]
    NoRuntime,
}

/// Why a process could not be spawned.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SpawnError {
    #[error("a process with id '{0}' is already running")]
    DuplicateId(String),
}

/// The endpoints (and their help texts) installed by each process, for `/help`.
///
/// Like C++ `Help::add`, the first endpoint of a process also gives the `help` process a
/// route `/<id>`, so that `/help/<id>/<endpoint>` reaches it by longest-prefix match.
#[derive(Default)]
pub(crate) struct Help {
    entries: RwLock<BTreeMap<String, BTreeMap<String, String>>>,
    process: std::sync::OnceLock<PID<HelpProcess>>,
}

impl Help {
    pub(crate) fn add(&self, id: &str, endpoint: &str, text: &str) {
        let new_id = {
            let mut entries = self.entries.write();
            let new_id = !entries.contains_key(id);
            entries.entry(id.to_string()).or_default().insert(endpoint.to_string(), text.to_string());
            new_id
        };
        if new_id && id != "help" {
            if let Some(pid) = self.process.get() {
                let id = id.to_string();
                pid.dispatch_void(move |_, ctx| HelpProcess::route_id(ctx, &id));
            }
        }
    }

    pub(crate) fn ids(&self) -> Vec<String> {
        self.entries.read().keys().cloned().collect()
    }

    pub(crate) fn set_process(&self, pid: PID<HelpProcess>) {
        let _ = self.process.set(pid);
    }

    pub(crate) fn remove_process(&self, id: &str) {
        self.entries.write().remove(id);
    }

    pub(crate) fn snapshot(&self) -> BTreeMap<String, BTreeMap<String, String>> {
        self.entries.read().clone()
    }
}

struct Inner {
    address: SocketAddrV4,
    bound: SocketAddrV4,
    config: Config,
    processes: ProcessTable,
    work: Arc<Work>,
    clock: Clock,
    sockets: SocketManager,
    filters: Filters,
    metrics: Metrics,
    help: Help,
    delegate: RwLock<Option<String>>,
    disabled_endpoints: RwLock<Vec<String>>,
    runtime: tokio::runtime::Handle,
    stop: CancellationToken,
}

/// A handle to a running libprocess instance. Cheap to clone.
#[derive(Clone)]
pub struct Libprocess {
    inner: Arc<Inner>,
}

impl Libprocess {
    /// Starts an instance configured from the `LIBPROCESS_*` environment.
    pub async fn from_env() -> Result<Libprocess, InitializeError> {
        Libprocess::initialize(Config::from_env()?).await
    }

    /// Binds the listener, works out the advertised address, and spawns the built-in
    /// processes (`metrics`, `__processes__`, `system`, `help`).
    ///
    /// The advertised address follows C++ `initialize`: bind first, then apply
    /// `advertise_ip`/`advertise_port`; if the IP is still `0.0.0.0`, use the first IPv4
    /// address of this host's name.
    pub async fn initialize(config: Config) -> Result<Libprocess, InitializeError> {
        let runtime = tokio::runtime::Handle::try_current().map_err(|_| InitializeError::NoRuntime)?;
        let bind_to = SocketAddrV4::new(config.ip.unwrap_or(Ipv4Addr::UNSPECIFIED), config.port);
        let listener = bind(bind_to).map_err(|source| InitializeError::Bind { address: bind_to, source })?;
        let bound = match listener.local_addr() {
            Ok(std::net::SocketAddr::V4(v4)) => v4,
            Ok(other) => return Err(InitializeError::Advertise(format!("bound to non-IPv4 address {other}"))),
            Err(e) => return Err(InitializeError::Bind { address: bind_to, source: e }),
        };

        let mut ip = config.advertise_ip.unwrap_or(*bound.ip());
        let port = config.advertise_port.unwrap_or(bound.port());
        if ip.is_unspecified() {
            ip = hostname_ip().map_err(InitializeError::Advertise)?;
        }
        let address = SocketAddrV4::new(ip, port);

        let work = Arc::new(Work::default());
        let clock = Clock::new(work.clone());
        let inner = Inner {
            address,
            bound,
            processes: ProcessTable::default(),
            work,
            metrics: Metrics::new(clock.clone()),
            clock,
            sockets: SocketManager::default(),
            filters: Filters::default(),
            help: Help::default(),
            delegate: RwLock::new(None),
            disabled_endpoints: RwLock::new(Vec::new()),
            runtime,
            stop: CancellationToken::new(),
            config,
        };
        let lp = Libprocess { inner: Arc::new(inner) };

        lp.spawn_task(lp.inner.clock.clone().run_timers_until(lp.inner.stop.clone()));
        lp.spawn_task(crate::http_proxy::accept_loop(lp.clone(), listener));

        crate::metrics::register_system(lp.metrics());
        let limit = lp.inner.config.metrics_snapshot_rate_limit;
        // These ids are free in a new instance.
        let _ = lp.spawn("metrics", MetricsProcess::new(limit));
        let _ = lp.spawn("__processes__", ProcessesProcess);
        let _ = lp.spawn("system", SystemProcess);
        if let Ok(pid) = lp.spawn("help", HelpProcess) {
            lp.inner.help.set_process(pid);
        }
        tracing::info!("libprocess is initialized on {} (bound to {})", address, bound);
        Ok(lp)
    }

    /// The advertised address, put in every local UPID.
    pub fn address(&self) -> SocketAddrV4 {
        self.inner.address
    }

    /// The address the listener is bound to.
    pub fn bound_address(&self) -> SocketAddrV4 {
        self.inner.bound
    }

    pub fn config(&self) -> &Config {
        &self.inner.config
    }

    pub fn clock(&self) -> &Clock {
        &self.inner.clock
    }

    /// The test filters of this instance.
    pub fn filters(&self) -> &Filters {
        &self.inner.filters
    }

    pub fn metrics(&self) -> &Metrics {
        &self.inner.metrics
    }

    pub(crate) fn help(&self) -> &Help {
        &self.inner.help
    }

    pub(crate) fn sockets(&self) -> &SocketManager {
        &self.inner.sockets
    }

    /// Waits until nothing is queued or running and no timer is due (`Clock::settle`).
    pub async fn settle(&self) {
        self.inner.clock.settle().await
    }

    /// Names the process that serves HTTP paths whose first segment is not a process id,
    /// and `/` (C++ `initialize(delegate)`): `master` makes `/state` mean `/master/state`.
    pub fn set_delegate(&self, id: Option<&str>) {
        *self.inner.delegate.write() = id.map(str::to_string);
    }

    pub(crate) fn delegate(&self) -> Option<String> {
        self.inner.delegate.read().clone()
    }

    /// Answers HTTP requests for exactly these paths with `403` (the
    /// `DisabledEndpointsFirewallRule`). Messages are not affected.
    pub fn disable_endpoints(&self, paths: impl IntoIterator<Item = String>) {
        self.inner.disabled_endpoints.write().extend(paths);
    }

    pub(crate) fn firewall_rejects(&self, path: &str) -> Option<Response> {
        let disabled = self.inner.disabled_endpoints.read();
        disabled
            .iter()
            .any(|p| p == path)
            .then(|| Response::with_message(crate::http::Status::FORBIDDEN, format!("Endpoint '{path}' is disabled")))
    }

    /// Spawns `process` under `id` (an empty id gets a generated `(N)`). Fails when a live
    /// process already has the id (C++ returns an empty UPID then).
    pub fn spawn<P: Process>(&self, id: impl Into<String>, process: P) -> Result<PID<P>, SpawnError> {
        let mut id = id.into();
        if id.is_empty() {
            id = crate::id::generate("");
        }
        let upid = UPID::new(id.clone(), self.inner.address);
        let cell = Arc::new(ProcessCell::new(upid.clone(), self.inner.work.clone()));
        if !self.inner.processes.insert(cell.clone()) {
            return Err(SpawnError::DuplicateId(id));
        }
        let pid = PID::from_cell(upid, Arc::downgrade(&cell));
        let runner = Runner::new(process, pid.clone(), self.clone());
        // Counts `initialize` as pending work, so `settle` waits for it.
        self.inner.work.add(1);
        self.spawn_task(run(cell, runner));
        Ok(pid)
    }

    /// Asks process `pid` to terminate. With `inject` the terminate jumps the queue and the
    /// events before it are dropped; without it they are handled first.
    pub fn terminate(&self, pid: &UPID, inject: bool) {
        if pid.address() != self.inner.address {
            return;
        }
        if let Some(cell) = self.inner.processes.get(&pid.id) {
            if inject {
                // The mailbox is FIFO, so rather than jumping the queue the terminate makes
                // the process drop everything until it reaches it.
                cell.terminating.store(true, std::sync::atomic::Ordering::Release);
            }
            cell.enqueue(Event::Terminate);
        }
    }

    /// Completes once `pid` has terminated; at once if it is not running here.
    pub fn wait(&self, pid: &UPID) -> Future<()> {
        match self.process(&pid.id) {
            Some(cell) if pid.address() == self.inner.address => cell.wait(),
            _ => Future::ready(()),
        }
    }

    /// Sends `message` (C++ `transport`): straight into the mailbox when its target lives in
    /// this instance, over TCP otherwise. Messages to the null UPID are dropped.
    pub fn send(&self, message: Message) {
        if message.to.is_null() {
            return;
        }
        if message.to.address() == self.inner.address {
            let to = message.to.clone();
            if !self.deliver(&to, Event::Message(message)) {
                tracing::trace!("Dropping message for unknown local process {}", to);
            }
        } else {
            self.inner.sockets.send(self, message);
        }
    }

    /// Sends from no process: `from` is the empty UPID (C++ `post(to, name, body)`).
    pub fn post(&self, to: &UPID, name: impl Into<std::borrow::Cow<'static, str>>, body: impl Into<bytes::Bytes>) {
        self.send(Message { name: name.into(), from: UPID::empty(), to: to.clone(), body: body.into() });
    }

    /// Sends a protobuf with `from` as the claimed sender (C++ `post(from, to, msg)`).
    pub fn post_protobuf<M: crate::ProtobufMessage>(&self, from: &UPID, to: &UPID, message: &M) {
        if let Some(body) = crate::protobuf::encode_checked(message, to) {
            self.send(Message {
                name: crate::protobuf::type_name::<M>().into(),
                from: from.clone(),
                to: to.clone(),
                body,
            });
        }
    }

    /// Links `linker` (a local process) to `to`.
    pub(crate) fn link(&self, linker: &UPID, to: &UPID, mode: RemoteConnection) {
        if to.is_null() {
            return;
        }
        self.inner.sockets.link(self, linker, to, mode);
    }

    /// Puts `event` in the mailbox of local process `to`; false if there is no such process.
    pub(crate) fn deliver(&self, to: &UPID, event: Event) -> bool {
        // Enqueued outside the table's lock: a send can drop events (and so run discard
        // callbacks) when it races the target's end.
        match self.inner.processes.get(&to.id) {
            Some(cell) => cell.enqueue(event),
            None => false,
        }
    }

    pub(crate) fn process(&self, id: &str) -> Option<Arc<ProcessCell>> {
        self.inner.processes.get(id)
    }

    /// Whether a process with `id` is running here.
    pub fn is_running(&self, id: &str) -> bool {
        self.inner.processes.get(id).is_some_and(|c| !c.is_closed())
    }

    pub(crate) fn processes(&self) -> Vec<Arc<ProcessCell>> {
        self.inner.processes.all()
    }

    /// After a process's `finalize`: forget it and tell its linkers (C++ `cleanup`).
    pub(crate) fn cleanup(&self, cell: &Arc<ProcessCell>) {
        self.inner.processes.remove(cell);
        self.inner.help.remove_process(&cell.pid.id);
        self.inner.sockets.exited_process(self, &cell.pid);
    }

    /// Number of (persistent, temporary) outbound connections.
    pub fn outbound_connections(&self) -> (usize, usize) {
        self.inner.sockets.connection_count()
    }

    /// The runtime the instance runs on.
    pub fn runtime(&self) -> &tokio::runtime::Handle {
        &self.inner.runtime
    }

    pub(crate) fn spawn_task<F>(&self, future: F)
    where
        F: std::future::Future<Output = ()> + Send + 'static,
    {
        self.inner.runtime.spawn(future);
    }

    /// Completes when the instance is being shut down.
    pub(crate) async fn stopped(&self) {
        self.inner.stop.cancelled().await
    }

    /// Stops the instance: closes the listener and every connection, and terminates every
    /// process. Peers see our connections close, as if this OS process had died.
    pub async fn shutdown(&self) {
        self.inner.stop.cancel();
        let cells = self.inner.processes.all();
        for cell in &cells {
            self.terminate(&cell.pid, true);
        }
        for cell in cells {
            let _ = cell.wait().await;
        }
    }
}

fn bind(address: SocketAddrV4) -> std::io::Result<TcpListener> {
    let socket = TcpSocket::new_v4()?;
    socket.set_reuseaddr(true)?;
    socket.bind(address.into())?;
    // C++ asks for a backlog of 500000; the kernel caps it at somaxconn.
    socket.listen(65535)
}

/// The first IPv4 address of this host's name (C++ resolves `gethostname()`).
fn hostname_ip() -> Result<Ipv4Addr, String> {
    let mut buf = [0u8; 256];
    // SAFETY: `buf` is valid for `buf.len()` bytes and gethostname NUL-terminates on success.
    let rc = unsafe { libc::gethostname(buf.as_mut_ptr() as *mut libc::c_char, buf.len()) };
    if rc != 0 {
        return Err("gethostname failed".to_string());
    }
    let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
    let name = String::from_utf8_lossy(&buf[..end]).to_string();
    crate::pid::resolve_ipv4(&name).map_err(|e| format!("{e} (hostname '{name}'); set LIBPROCESS_IP"))
}
