//! The `Process` trait, the per-process `Context` (C++ `ProcessBase`), and the loop that runs a process; mirrors `3rdparty/libprocess/include/process/process.hpp`, `dispatch.hpp`, `defer.hpp`, `delay.hpp` and `ProcessManager::resume` in `src/process.cpp`.

use std::any::Any;
use std::borrow::Cow;
use std::collections::BTreeMap;
use std::future::poll_fn;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use rustc_hash::FxHashMap;

use crate::clock::{Clock, Time, Timer};
use crate::future::{Failure, Future, Outcome, Promise};
use crate::http::{Request, Response};
use crate::mailbox::Pop;
use crate::manager::ProcessCell;
use crate::message::{DispatchFn, Event, HttpEvent, Message};
use crate::pid::{PID, UPID};
use crate::protobuf::{self, ProtobufMessage};
use crate::Libprocess;

/// An actor. Implement the hooks you need; install message handlers and HTTP routes from
/// [`Process::initialize`] through the [`Context`].
///
/// A process handles one event at a time, so its state needs no locks. Events from one
/// sender are handled in the order they were sent.
pub trait Process: Send + Sized + 'static {
    /// Runs inside the process before any event (C++ `initialize`).
    fn initialize(&mut self, _ctx: &mut Context<Self>) {}

    /// Runs inside the process after its last event (C++ `finalize`).
    fn finalize(&mut self, _ctx: &mut Context<Self>) {}

    /// A process this one linked to has terminated, or the connection to it broke
    /// (C++ `exited`).
    fn exited(&mut self, _ctx: &mut Context<Self>, _pid: UPID) {}

    /// A message for which no handler or delegate is installed. libprocess drops these
    /// silently; override to see them (C++ overrides `visit(const MessageEvent&)`).
    fn unhandled(&mut self, _ctx: &mut Context<Self>, message: Message) {
        tracing::trace!(name = %message.name, from = %message.from, "dropping message without handler");
    }
}

type MessageHandler<P> = Box<dyn FnMut(&mut P, &mut Context<P>, Message) + Send>;
type HttpHandler<P> = Box<dyn FnMut(&mut P, &mut Context<P>, Request) -> Future<Response> + Send>;

enum Install<P> {
    Message(Box<str>, MessageHandler<P>),
    Route(String, HttpHandler<P>),
    Delegate(Box<str>, UPID),
}

/// How [`Context::link_with`] treats an existing connection (C++ `RemoteConnection`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RemoteConnection {
    /// Use the persistent connection to that address if there is one.
    Reuse,
    /// Replace the persistent connection with a new one, without `exited` events; queued
    /// messages move to the new connection. Used to escape half-open connections.
    Reconnect,
}

/// A process's view of the runtime while it handles an event: its own address, and the
/// calls of C++ `ProcessBase` (`send`, `link`, `install`, `route`, `delay`, `defer`, ...).
pub struct Context<P> {
    pid: PID<P>,
    lp: Libprocess,
    installs: Vec<Install<P>>,
    /// Local processes this one sent to recently: a repeat send goes straight to the
    /// mailbox without the process-table look-up. A stale entry (its process gone) fails to
    /// enqueue and is replaced from the table.
    recent: Vec<(Arc<str>, Arc<ProcessCell>)>,
}

/// How many local targets a process remembers for fast sends.
const RECENT_TARGETS: usize = 8;

impl<P: Process> Context<P> {
    /// This process's typed address.
    pub fn pid(&self) -> &PID<P> {
        &self.pid
    }

    /// This process's address (C++ `self()`).
    pub fn upid(&self) -> &UPID {
        &self.pid.upid
    }

    /// The instance this process runs in.
    pub fn libprocess(&self) -> &Libprocess {
        &self.lp
    }

    pub fn clock(&self) -> &Clock {
        self.lp.clock()
    }

    /// The events of each kind waiting in this process's mailbox behind the current one
    /// (C++ `ProcessBase::eventCount<MessageEvent>()` and the like).
    pub fn queued_events(&self) -> QueuedEvents {
        match self.pid.cell.upgrade() {
            // SAFETY: as in `queued_dispatches`.
            Some(cell) => unsafe { cell.queued_events() },
            None => QueuedEvents::default(),
        }
    }

    /// How many dispatches wait in this process's mailbox behind the current event (C++
    /// `ProcessBase::eventCount<DispatchEvent>()`), e.g. for a queue-length metric.
    pub fn queued_dispatches(&self) -> usize {
        match self.pid.cell.upgrade() {
            // SAFETY: a `Context` is only lent to the process's own handlers, which run on
            // the task that consumes the mailbox, and never while that task pops.
            Some(cell) => unsafe { cell.queued_dispatches() },
            None => 0,
        }
    }

    pub fn now(&self) -> Time {
        self.lp.clock().now()
    }

    /// Sends a message from this process (C++ `ProcessBase::send`). Local targets get it
    /// through their mailbox, remote ones over this instance's connection to their address.
    pub fn send(&mut self, to: &UPID, name: impl Into<Cow<'static, str>>, body: impl Into<Bytes>) {
        let message = Message { name: name.into(), from: self.pid.upid.clone(), to: to.clone(), body: body.into() };
        if to.is_null() || to.address() != self.lp.address() {
            self.lp.send(message);
            return;
        }
        let event = Event::Message(message);
        let event = match self.recent.iter().position(|(id, _)| Arc::ptr_eq(id, &to.id) || **id == *to.id) {
            Some(index) => match self.recent[index].1.try_enqueue(event) {
                Ok(()) => return,
                Err(event) => {
                    self.recent.swap_remove(index);
                    event
                }
            },
            None => event,
        };
        match self.lp.process(&to.id) {
            Some(cell) => {
                if cell.try_enqueue(event).is_ok() {
                    if self.recent.len() == RECENT_TARGETS {
                        self.recent.swap_remove(0);
                    }
                    self.recent.push((to.id.clone(), cell));
                }
            }
            None => tracing::trace!("Dropping message for unknown local process {}", to),
        }
    }

    /// Sends a protobuf named by its full type name; a message missing a required field is
    /// logged and not sent (C++ `ProtobufProcess::send`).
    pub fn send_protobuf<M: ProtobufMessage>(&mut self, to: &UPID, message: &M) {
        if let Some(body) = protobuf::encode_checked(message, to) {
            self.send(to, protobuf::type_name::<M>(), body);
        }
    }

    /// Links to `to`: [`Process::exited`] runs once when it terminates (local) or when the
    /// connection to its address breaks (remote). Linking twice gives one event.
    pub fn link(&self, to: &UPID) {
        self.link_with(to, RemoteConnection::Reuse);
    }

    /// [`Context::link`] with a choice of what to do with an existing connection.
    pub fn link_with(&self, to: &UPID, mode: RemoteConnection) {
        self.lp.link(&self.pid.upid, to, mode);
    }

    /// Installs a handler for messages named `name` (C++ `install(name, &T::handler)`).
    /// The handler gets the sender and the body; to answer, send to the sender (there is no
    /// stashed `reply` target: the handler already holds `from`).
    pub fn install<F>(&mut self, name: impl Into<String>, mut handler: F)
    where
        F: FnMut(&mut P, &mut Context<P>, &UPID, Bytes) + Send + 'static,
    {
        let handler: MessageHandler<P> = Box::new(move |p, ctx, message: Message| {
            let body = message.body;
            handler(p, ctx, &message.from, body)
        });
        self.installs.push(Install::Message(name.into().into_boxed_str(), handler));
    }

    /// Installs a handler that receives the whole [`Message`].
    pub fn install_message<F>(&mut self, name: impl Into<String>, mut handler: F)
    where
        F: FnMut(&mut P, &mut Context<P>, Message) + Send + 'static,
    {
        let handler: MessageHandler<P> = Box::new(move |p, ctx, message: Message| handler(p, ctx, message));
        self.installs.push(Install::Message(name.into().into_boxed_str(), handler));
    }

    /// Installs a handler for protobuf `M`, named by its full type name (C++
    /// `ProtobufProcess::install<M>`). Bodies that do not parse or lack a required field are
    /// logged with their sender and dropped; the handler is not called.
    pub fn install_protobuf<M, F>(&mut self, mut handler: F)
    where
        M: ProtobufMessage,
        F: FnMut(&mut P, &mut Context<P>, &UPID, M) + Send + 'static,
    {
        let name = protobuf::type_name::<M>();
        let handler: MessageHandler<P> =
            Box::new(move |p, ctx, message| match protobuf::decode_checked::<M>(&message.body) {
                Ok(decoded) => handler(p, ctx, &message.from, decoded),
                Err(error) => tracing::warn!(
                    "Dropping message '{}' from {} to {}: {}",
                    message.name,
                    message.from,
                    message.to,
                    error
                ),
            });
        self.installs.push(Install::Message(name.into(), handler));
    }

    /// Forwards messages named `name` to `to`, keeping their sender (C++ `delegate`).
    pub fn delegate(&mut self, name: impl Into<String>, to: UPID) {
        self.installs.push(Install::Delegate(name.into().into_boxed_str(), to));
    }

    /// Serves HTTP requests for `/<id><path>` (C++ `route`). `path` starts with `/` and does
    /// not end with one; `/` is the process root. Requests for `/<id><path>/more` reach
    /// this route when no longer route matches. `help` is shown by `/help`.
    pub fn route<F>(&mut self, path: &str, help: &str, handler: F)
    where
        F: FnMut(&mut P, &mut Context<P>, Request) -> Future<Response> + Send + 'static,
    {
        let name = path.trim_matches('/').to_string();
        self.lp.help().add(&self.pid.upid.id, &name, help);
        self.installs.push(Install::Route(name, Box::new(handler)));
    }

    /// Runs `f` inside this process after `d` on this instance's clock (C++ `delay`).
    pub fn delay<F>(&self, d: Duration, f: F) -> Timer
    where
        F: FnOnce(&mut P, &mut Context<P>) + Send + 'static,
    {
        let pid = self.pid.clone();
        self.lp.clock().timer(d, move || pid.dispatch_void(f))
    }

    /// Cancels a timer from [`Context::delay`]; returns whether it had not fired.
    pub fn cancel(&self, timer: Timer) -> bool {
        self.lp.clock().cancel(timer)
    }

    /// Continues inside this process once `future` completes (C++ `.onAny(defer(self(), f))`).
    /// If this process has terminated by then, `f` is not run.
    pub fn defer<T, F>(&self, future: Future<T>, f: F)
    where
        T: Send + 'static,
        F: FnOnce(&mut P, &mut Context<P>, Outcome<T>) + Send + 'static,
    {
        let pid = self.pid.clone();
        future.on_any(move |outcome| pid.dispatch_void(move |p, ctx| f(p, ctx, outcome)));
    }

    /// Terminates this process once the current event is handled; events still queued are
    /// dropped (C++ `terminate(self())`).
    pub fn terminate(&self) {
        self.lp.terminate(&self.pid.upid, true);
    }

    /// Spawns another process in this instance.
    pub fn spawn<Q: Process>(&self, id: impl Into<String>, process: Q) -> Result<PID<Q>, crate::SpawnError> {
        self.lp.spawn(id, process)
    }
}

impl<P: Process> PID<P> {
    /// Runs `f` inside the process and returns a future of its result (C++ `dispatch`).
    /// The future fails with [`Failure::Discarded`] if the process is gone before `f` runs.
    pub fn dispatch<R, F>(&self, f: F) -> Future<R>
    where
        R: Send + 'static,
        F: FnOnce(&mut P, &mut Context<P>) -> R + Send + 'static,
    {
        let promise = Promise::new();
        let future = promise.future();
        let run: DispatchFn = Box::new(move |any: &mut dyn Any| {
            if let Some(runner) = any.downcast_mut::<Runner<P>>() {
                let result = f(&mut runner.process, &mut runner.ctx);
                promise.set(result);
            }
        });
        if let Some(cell) = self.cell.upgrade() {
            cell.enqueue(Event::Dispatch(run));
        }
        future
    }

    /// Like [`PID::dispatch`] for a function that itself returns a future; the result
    /// completes when that future does.
    pub fn dispatch_future<R, F>(&self, f: F) -> Future<R>
    where
        R: Send + 'static,
        F: FnOnce(&mut P, &mut Context<P>) -> Future<R> + Send + 'static,
    {
        let promise = Promise::new();
        let future = promise.future();
        self.dispatch_void(move |p, ctx| promise.associate(f(p, ctx)));
        future
    }

    /// Runs `f` inside the process without a result to wait for (C++ `dispatch` of a
    /// `void` method). Nothing happens if the process is gone.
    pub fn dispatch_void<F>(&self, f: F)
    where
        F: FnOnce(&mut P, &mut Context<P>) + Send + 'static,
    {
        let run: DispatchFn = Box::new(move |any: &mut dyn Any| {
            if let Some(runner) = any.downcast_mut::<Runner<P>>() {
                f(&mut runner.process, &mut runner.ctx);
            }
        });
        if let Some(cell) = self.cell.upgrade() {
            cell.enqueue(Event::Dispatch(run));
        }
    }

    /// Runs `f` inside the process with a function that hands messages straight to the
    /// process's handlers, synchronously, bypassing the mailbox and the filters, as C++
    /// `ProcessBase::consume(MessageEvent&&)` does when called directly. Meant for
    /// benchmarks of handler dispatch (`ProtobufInstallHandler`).
    pub fn consume<F>(&self, f: F) -> Future<()>
    where
        F: FnOnce(&mut dyn FnMut(Message)) + Send + 'static,
    {
        let promise = Promise::new();
        let future = promise.future();
        let run: DispatchFn = Box::new(move |any: &mut dyn Any| {
            if let Some(runner) = any.downcast_mut::<Runner<P>>() {
                let mut consume = |message: Message| runner.consume_message(message);
                f(&mut consume);
                promise.set(());
            }
        });
        if let Some(cell) = self.cell.upgrade() {
            cell.enqueue(Event::Dispatch(run));
        }
        future
    }

    /// Whether the process is still running.
    pub fn is_alive(&self) -> bool {
        self.cell.upgrade().is_some_and(|cell| !cell.is_closed())
    }
}

/// What a process owns while it runs: its state, its context and its handler tables.
pub(crate) struct Runner<P: Process> {
    process: P,
    ctx: Context<P>,
    handlers: FxHashMap<Box<str>, MessageHandler<P>>,
    delegates: FxHashMap<Box<str>, UPID>,
    routes: BTreeMap<String, HttpHandler<P>>,
}

impl<P: Process> Runner<P> {
    pub(crate) fn new(process: P, pid: PID<P>, lp: Libprocess) -> Runner<P> {
        Runner {
            process,
            ctx: Context { pid, lp, installs: Vec::new(), recent: Vec::new() },
            handlers: FxHashMap::default(),
            delegates: FxHashMap::default(),
            routes: BTreeMap::new(),
        }
    }

    fn apply_installs(&mut self) {
        for install in self.ctx.installs.drain(..) {
            match install {
                Install::Message(name, handler) => {
                    self.handlers.insert(name, handler);
                }
                Install::Delegate(name, to) => {
                    self.delegates.insert(name, to);
                }
                Install::Route(name, handler) => {
                    self.routes.insert(name, handler);
                }
            }
        }
    }

    fn consume(&mut self, event: Event) {
        match event {
            Event::Message(message) => self.consume_message(message),
            Event::Dispatch(f) => f(self as &mut dyn Any),
            Event::Http(http) => self.consume_http(*http),
            Event::Exited(pid) => self.process.exited(&mut self.ctx, *pid),
            Event::Terminate | Event::Inspect(_) => {}
        }
        if !self.ctx.installs.is_empty() {
            self.apply_installs();
        }
    }

    /// Handlers by name, then delegates, then `unhandled` (C++ `consume(MessageEvent&&)`).
    fn consume_message(&mut self, message: Message) {
        if let Some(handler) = self.handlers.get_mut(&*message.name) {
            handler(&mut self.process, &mut self.ctx, message);
        } else if let Some(to) = self.delegates.get(&*message.name) {
            let forwarded = Message { to: to.clone(), ..message };
            self.ctx.lp.send(forwarded);
        } else {
            self.process.unhandled(&mut self.ctx, message);
        }
    }

    /// Longest-prefix route match on the endpoint name: `a/b/c`, then `a/b`, then `a`.
    fn consume_http(&mut self, http: HttpEvent) {
        let HttpEvent { request, endpoint, response } = http;
        let mut name: &str = &endpoint;
        loop {
            if let Some(handler) = self.routes.get_mut(name) {
                let future = handler(&mut self.process, &mut self.ctx, request);
                response.associate(future);
                return;
            }
            match name.rfind('/') {
                Some(index) => name = &name[..index],
                None => break,
            }
        }
        response.set(Response::not_found());
    }
}

/// How many events of each kind wait in a process's mailbox (see
/// [`Context::queued_events`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct QueuedEvents {
    pub messages: usize,
    pub dispatches: usize,
    pub http_requests: usize,
}

/// The life of one process: `initialize`, events until terminated, `finalize`, clean-up.
pub(crate) async fn run<P: Process>(cell: Arc<ProcessCell>, mut runner: Runner<P>) {
    let lp = runner.ctx.lp.clone();
    // Whatever happens below (a panic in a callback that escapes `guard`, or the task
    // being cancelled with its runtime), the process must leave the table, close its
    // mailbox and count its work as done; otherwise `wait` and `settle` would hang on it.
    let mut life = Life { cell: cell.clone(), lp: lp.clone(), unreported: 0, ended: false };

    let mut alive = guard(
        || {
            runner.process.initialize(&mut runner.ctx);
            runner.apply_installs();
        },
        &cell.pid,
    );
    cell.work().done(1);

    // Finished events are reported once per stretch of work rather than one by one; a late
    // `done` only makes `settle` wait a little longer.
    'running: while alive {
        // SAFETY: this task is the mailbox's only consumer until `Life::end` closes it.
        poll_fn(|cx| unsafe { cell.poll_ready(cx) }).await;
        loop {
            if life.unreported >= 256 {
                // Let other processes on this worker run, whatever the last events were.
                life.report();
                tokio::task::yield_now().await;
            }
            // SAFETY: as above.
            let event = match unsafe { cell.pop() } {
                Pop::Event(event) => event,
                Pop::Empty => break,
                Pop::Inconsistent => {
                    // A sender is between two instructions of its push; let it finish.
                    life.report();
                    tokio::task::yield_now().await;
                    continue;
                }
            };
            life.unreported += 1;
            if matches!(event, Event::Terminate) {
                break 'running;
            }
            let filtered =
                lp.filters().active() && guarded(|| lp.filters().drops(&event, &cell.pid), &cell.pid).unwrap_or(true);
            if cell.is_terminating() || filtered {
                // Dropping discards the event's promises: their callbacks run here.
                guard(move || drop(event), &cell.pid);
                continue;
            }
            if let Event::Inspect(promise) = event {
                // SAFETY: as above.
                let events = unsafe { cell.events_json() };
                guard(move || promise.set(events), &cell.pid);
                continue;
            }
            alive = guard(|| runner.consume(event), &cell.pid);
            if !alive {
                break 'running;
            }
        }
        life.report();
    }

    guard(|| runner.process.finalize(&mut runner.ctx), &cell.pid);
    life.end();
    drop(runner);
}

/// The end-of-life duties of a running process, done exactly once: by `end`, or by `drop`
/// when the task unwinds or is cancelled first.
struct Life {
    cell: Arc<ProcessCell>,
    lp: Libprocess,
    /// Events taken from the mailbox but not yet counted as done.
    unreported: u64,
    ended: bool,
}

impl Life {
    fn report(&mut self) {
        self.cell.work().done(self.unreported);
        self.unreported = 0;
    }

    /// Leaves the table (linkers hear `exited`), closes the mailbox and drops what was
    /// still queued, counting everything as done.
    fn end(&mut self) {
        if std::mem::replace(&mut self.ended, true) {
            return;
        }
        let cell = self.cell.clone();
        guard(|| self.lp.cleanup(&cell), &cell.pid);
        // SAFETY: the consumer (this task, or its remains) closes the mailbox once.
        let rest = unsafe { cell.close() };
        let dropped = rest.len() as u64;
        guard(move || drop(rest), &cell.pid);
        // The last events (the terminate among them) count as done only now: a `settle`
        // that returns must find the process gone from the table and its mailbox closed.
        cell.work().done(dropped + std::mem::take(&mut self.unreported));
    }
}

impl Drop for Life {
    fn drop(&mut self) {
        self.end();
    }
}

/// Like [`guard`] for a piece that returns a value; `None` if it panicked.
fn guarded<T>(f: impl FnOnce() -> T, pid: &UPID) -> Option<T> {
    let mut out = None;
    guard(|| out = Some(f()), pid);
    out
}

/// Runs a piece of a process; a panic is logged and ends the process instead of leaving
/// it half-dead in the table.
fn guard(f: impl FnOnce(), pid: &UPID) -> bool {
    match std::panic::catch_unwind(AssertUnwindSafe(f)) {
        Ok(()) => true,
        Err(panic) => {
            let what = panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic".to_string());
            tracing::error!("Process {} panicked and is terminated: {}", pid, what);
            false
        }
    }
}

/// Turns a handler's outcome into the response libprocess sends: a failed future becomes a
/// `500` whose body is the failure text, a discarded one a plain `500`.
pub(crate) fn response_for(outcome: Outcome<Response>) -> Response {
    match outcome {
        Ok(response) => response,
        Err(Failure::Failed(message)) => Response::internal_server_error(message),
        Err(Failure::Discarded) => Response::empty(crate::http::Status::INTERNAL_SERVER_ERROR),
    }
}
