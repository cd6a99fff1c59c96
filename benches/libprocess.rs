//! The libprocess benchmarks; mirrors `3rdparty/libprocess/src/tests/benchmarks.cpp` (and `benchmarks.proto`).
//!
//! `cargo bench --bench libprocess -- [filter] [--quick]`
//!
//! Only benchmarks whose name contains `filter` run, or just the one named `filter` exactly.
//! `--quick` divides every count and time by about 100, so the whole file runs in seconds;
//! that is how CI smoke-runs it.
//!
//! Each benchmark prints a gtest-style `[ RUN      ]` header and then the lines its C++
//! counterpart prints, in the same format, so the two outputs can be diffed. Each runs in a
//! fresh [`Libprocess`] instance on `127.0.0.1`, inside one multi-thread tokio runtime with a
//! worker per CPU.
//!
//! `ClientServerTcp/*` has no C++ counterpart (fact sheet §10 notes that no libprocess
//! benchmark sends messages over real sockets): it runs the `ClientServer` server in a second
//! OS process, a copy of this binary started with [`SERVER_ENV`] set. The MPSC queue and the
//! metrics benchmarks are not ported.

use std::collections::HashSet;
use std::future::Future;
use std::io::{BufRead, BufReader, Write};
use std::net::{Ipv4Addr, SocketAddrV4};
use std::pin::Pin;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use libprocess::duration;
use libprocess::http::{Request, Response};
use libprocess::{Config, Context, Libprocess, Process, Promise, UPID};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::Notify;

/// When set, this binary runs only a `ClientServer` server, for `ClientServerTcp` in the
/// parent OS process.
const SERVER_ENV: &str = "LIBPROCESS_BENCH_SERVER";

fn main() {
    let cpus = cpus();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(cpus)
        .enable_all()
        .build()
        .expect("failed to build the tokio runtime");

    if std::env::var_os(SERVER_ENV).is_some() {
        runtime.block_on(serve_for_parent());
        return;
    }

    // `cargo bench` passes `--bench`; other flags than `--quick` are ignored likewise.
    let args: Vec<String> = std::env::args().skip(1).collect();
    let scale = Scale { quick: args.iter().any(|a| a == "--quick") };
    let filter = args.iter().find(|a| !a.starts_with('-')).cloned().unwrap_or_default();

    runtime.block_on(async {
        let exact = BENCHMARKS.iter().any(|b| b.name == filter);
        let selected =
            BENCHMARKS.iter().filter(|b| if exact { b.name == filter } else { b.name.contains(filter.as_str()) });
        for benchmark in selected {
            println!("[ RUN      ] {}", benchmark.name);
            let watch = Instant::now();
            let lp = Libprocess::initialize(config()).await.expect("failed to initialize libprocess");
            (benchmark.run)(lp.clone(), scale).await;
            lp.shutdown().await;
            println!("[       OK ] {} ({} ms)", benchmark.name, watch.elapsed().as_millis());
        }
    });
}

type BenchmarkFuture = Pin<Box<dyn Future<Output = ()>>>;

struct Benchmark {
    name: &'static str,
    run: fn(Libprocess, Scale) -> BenchmarkFuture,
}

/// In the order of the C++ file, with the TCP variants after their in-process original.
const BENCHMARKS: &[Benchmark] = &[
    Benchmark {
        name: "ProcessTest.Process_BENCHMARK_ClientServer",
        run: |lp, scale| Box::pin(client_server(lp, scale)),
    },
    Benchmark {
        name: "ProcessTest.Process_BENCHMARK_ClientServerTcp/3B",
        run: |lp, scale| Box::pin(client_server_tcp(lp, scale, "3B")),
    },
    Benchmark {
        name: "ProcessTest.Process_BENCHMARK_ClientServerTcp/1KB",
        run: |lp, scale| Box::pin(client_server_tcp(lp, scale, "1KB")),
    },
    Benchmark {
        name: "ProcessTest.Process_BENCHMARK_LargeNumberOfLinks",
        run: |lp, scale| Box::pin(large_number_of_links(lp, scale)),
    },
    Benchmark {
        name: "ProcessTest.Process_BENCHMARK_ThroughputPerformance",
        run: |lp, scale| Box::pin(throughput_performance(lp, scale)),
    },
    Benchmark {
        name: "ProcessTest.Process_BENCHMARK_DispatchDefer",
        run: |lp, scale| Box::pin(dispatch_defer(lp, scale)),
    },
    Benchmark {
        name: "ProcessTest.Process_BENCHMARK_ProtobufInstallHandler",
        run: |lp, scale| Box::pin(protobuf_install_handler(lp, scale)),
    },
];

/// Full-size parameters, or about 1/100 of them with `--quick`.
#[derive(Clone, Copy)]
struct Scale {
    quick: bool,
}

impl Scale {
    fn count(self, full: usize) -> usize {
        if self.quick {
            (full / 100).max(1)
        } else {
            full
        }
    }

    fn time(self, full: Duration) -> Duration {
        if self.quick {
            full / 100
        } else {
            full
        }
    }
}

fn cpus() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

fn config() -> Config {
    Config { ip: Some(Ipv4Addr::LOCALHOST), ..Config::default() }
}

/// Terminates each process (dropping what it still has queued, as C++ `terminate` does by
/// default) and waits for it to finish.
async fn terminate_all<'a>(lp: &Libprocess, pids: impl IntoIterator<Item = &'a UPID>) {
    for pid in pids {
        lp.terminate(pid, true);
        let _ = lp.wait(pid).await;
    }
}

// ClientServer.

/// The parameters of one `/run` request.
struct Run {
    server: UPID,
    message_size: usize,
    requests: usize,
    concurrency: usize,
}

impl Run {
    fn from_request(request: &Request) -> Result<Run, String> {
        let parameter = |name: &str| {
            request.url.query.get(name).map(String::as_str).ok_or_else(|| format!("Missing '{name}' parameter"))
        };
        let (server, message_size, requests, concurrency) =
            (parameter("server")?, parameter("messageSize")?, parameter("requests")?, parameter("concurrency")?);
        let number = |name: &str, text: &str| text.parse::<usize>().map_err(|e| format!("Invalid '{name}': {e}"));
        Ok(Run {
            server: server.parse().map_err(|e| format!("Invalid 'server': {e}"))?,
            message_size: parse_bytes(message_size).map_err(|e| format!("Invalid 'messageSize': {e}"))?,
            requests: number("requests", requests)?,
            concurrency: number("concurrency", concurrency)?,
        })
    }
}

/// The client side of the ping-pong game: `GET /<id>/run?...` sends `requests` pings to the
/// server, `concurrency` at a time, and answers with the time that took.
#[derive(Default)]
struct ClientProcess {
    server: UPID,
    message: Bytes,
    requests: usize,
    responses: usize,
    total_requests: usize,
    started: Option<Instant>,
    done: Option<Promise<Duration>>,
}

impl Process for ClientProcess {
    fn initialize(&mut self, ctx: &mut Context<Self>) {
        ctx.install("pong", Self::pong);
        ctx.route("/run", "", Self::run);
    }
}

impl ClientProcess {
    fn run(&mut self, ctx: &mut Context<Self>, request: Request) -> libprocess::Future<Response> {
        if self.done.is_some() {
            return libprocess::Future::ready(Response::bad_request("A run is already in progress"));
        }
        let run = match Run::from_request(&request) {
            Ok(run) => run,
            Err(message) => return libprocess::Future::ready(Response::bad_request(message)),
        };
        ctx.link(&run.server);
        self.server = run.server;
        self.message = Bytes::from(vec![b'1'; run.message_size]);
        self.total_requests = run.requests;
        let concurrency = run.concurrency.min(run.requests);

        let promise = Promise::new();
        let elapsed = promise.future();
        self.done = Some(promise);
        self.started = Some(Instant::now());
        while self.requests < concurrency {
            self.ping(ctx);
        }
        elapsed.map(|elapsed| Response::ok(duration::format(elapsed)))
    }

    fn pong(&mut self, ctx: &mut Context<Self>, _from: &UPID, _body: Bytes) {
        self.responses += 1;
        if self.responses == self.total_requests {
            if let (Some(done), Some(started)) = (self.done.take(), self.started) {
                done.set(started.elapsed());
            }
        } else if self.requests < self.total_requests {
            self.ping(ctx);
        }
    }

    fn ping(&mut self, ctx: &mut Context<Self>) {
        ctx.send(&self.server, "ping", self.message.clone());
        self.requests += 1;
    }
}

/// The server side of the ping-pong game: echoes each `ping` body back as a `pong`, and
/// links to every client it hears from.
#[derive(Default)]
struct ServerProcess {
    links: HashSet<UPID>,
}

impl Process for ServerProcess {
    fn initialize(&mut self, ctx: &mut Context<Self>) {
        ctx.install("ping", Self::ping);
    }
}

impl ServerProcess {
    fn ping(&mut self, ctx: &mut Context<Self>, from: &UPID, body: Bytes) {
        if !self.links.contains(from) {
            ctx.link(from);
            self.links.insert(from.clone());
        }
        ctx.send(from, "pong", body);
    }
}

async fn client_server(lp: Libprocess, scale: Scale) {
    let server = lp.spawn("", ServerProcess::default()).expect("failed to spawn the server");
    run_clients(&lp, scale, server.upid(), "3B").await;
    terminate_all(&lp, [server.upid()]).await;
}

/// `ClientServer` with the server in another OS process, so that pings and pongs cross
/// loopback TCP through both instances' socket code.
async fn client_server_tcp(lp: Libprocess, scale: Scale, message_size: &'static str) {
    let server = tokio::task::spawn_blocking(ServerChild::start)
        .await
        .expect("starting the server process panicked")
        .expect("failed to start the server process");
    run_clients(&lp, scale, &server.upid, message_size).await;
    tokio::task::spawn_blocking(move || server.stop()).await.expect("stopping the server process panicked");
}

/// Starts 8 clients against `server` through their `/run` endpoints, over real HTTP, and
/// prints each client's rate and the overall one.
async fn run_clients(lp: &Libprocess, scale: Scale, server: &UPID, message_size: &str) {
    let requests = scale.count(10_000);
    let concurrency = 250;
    let clients: Vec<UPID> = (0..8)
        .map(|_| lp.spawn("", ClientProcess::default()).expect("failed to spawn a client").upid().clone())
        .collect();

    let query = format!(
        "server={}&requests={requests}&concurrency={concurrency}&messageSize={message_size}",
        libprocess::http::encode(&server.to_string())
    );

    let watch = Instant::now();
    let gets: Vec<_> = clients
        .iter()
        .map(|client| {
            let target = format!("/{}/run?{query}", libprocess::http::encode(&client.id));
            tokio::spawn(http_get(lp.bound_address(), target))
        })
        .collect();
    let mut bodies = Vec::with_capacity(gets.len());
    for get in gets {
        let (status, body) = get.await.expect("an HTTP client task panicked").expect("GET /run failed");
        assert_eq!(status, 200, "GET /run answered {status}: {body}");
        bodies.push(body);
    }
    let elapsed = watch.elapsed();

    for (i, body) in bodies.iter().enumerate() {
        let client_elapsed = duration::parse(body).expect("/run answered something else than a duration");
        let throughput = requests as f64 / client_elapsed.as_secs_f64();
        println!("Client {i}: {} rpcs / sec", ostream_double(throughput));
    }
    let throughput = (requests * clients.len()) as f64 / elapsed.as_secs_f64();
    println!("Estimated Total: {} rpcs / sec", ostream_double(throughput));

    terminate_all(lp, &clients).await;
}

/// The server half of `ClientServerTcp`, in a child OS process.
struct ServerChild {
    child: Child,
    upid: UPID,
}

impl ServerChild {
    /// Runs this binary again in server mode and reads the server's UPID from its stdout.
    fn start() -> std::io::Result<ServerChild> {
        let child = Command::new(std::env::current_exe()?)
            .env(SERVER_ENV, "1")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()?;
        let mut server = ServerChild { upid: UPID::empty(), child };
        let stdout = server.child.stdout.take().ok_or_else(|| std::io::Error::other("no stdout pipe"))?;
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line)?;
        server.upid = line
            .trim()
            .parse()
            .map_err(|e| std::io::Error::other(format!("the server process printed '{}': {e}", line.trim())))?;
        Ok(server)
    }

    /// Closes the child's stdin, which makes it shut down, and kills it if it has not
    /// exited shortly after.
    fn stop(mut self) {
        drop(self.child.stdin.take());
        let deadline = Instant::now() + Duration::from_secs(2);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        eprintln!("The server process did not exit; killing it");
    }
}

impl Drop for ServerChild {
    fn drop(&mut self) {
        // Fails harmlessly when the child has exited and been reaped already.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Server mode: one `ServerProcess` named `server`, until the parent closes our stdin (which
/// also happens when the parent dies).
async fn serve_for_parent() {
    let lp = Libprocess::initialize(config()).await.expect("failed to initialize libprocess");
    let server = lp.spawn("server", ServerProcess::default()).expect("failed to spawn the server");
    let mut stdout = std::io::stdout();
    writeln!(stdout, "{}", server.upid()).expect("failed to print the server's UPID");
    stdout.flush().expect("failed to print the server's UPID");
    let _ = tokio::task::spawn_blocking(|| std::io::copy(&mut std::io::stdin(), &mut std::io::sink())).await;
    lp.shutdown().await;
}

/// A bare `GET` with `Connection: close`; returns the status code and the body.
async fn http_get(address: SocketAddrV4, target: String) -> std::io::Result<(u16, String)> {
    let mut stream = TcpStream::connect(address).await?;
    let request = format!("GET {target} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await?;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).await?;

    let malformed = || std::io::Error::other(format!("malformed response: {:?}", String::from_utf8_lossy(&raw)));
    let end = raw.windows(4).position(|w| w == b"\r\n\r\n").ok_or_else(malformed)?;
    let head = std::str::from_utf8(&raw[..end]).map_err(|_| malformed())?;
    let status = head.split(' ').nth(1).and_then(|code| code.parse().ok()).ok_or_else(malformed)?;
    let mut body = &raw[end + 4..];
    let length = head.lines().find_map(|line| {
        let (name, value) = line.split_once(':')?;
        name.eq_ignore_ascii_case("Content-Length").then(|| value.trim().parse::<usize>().ok())?
    });
    if let Some(length) = length {
        body = body.get(..length).ok_or_else(malformed)?;
    }
    Ok((status, String::from_utf8_lossy(body).into_owned()))
}

/// Parses stout's `Bytes` text: a whole number and `B`, `KB`, `MB` or `GB` (powers of 1024).
fn parse_bytes(text: &str) -> Result<usize, String> {
    let split = text.find(|c: char| !c.is_ascii_digit()).unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let number: usize = number.parse().map_err(|_| format!("'{text}' does not start with a number"))?;
    let multiplier = match unit {
        "B" => 1,
        "KB" => 1 << 10,
        "MB" => 1 << 20,
        "GB" => 1 << 30,
        _ => return Err(format!("unknown unit in '{text}'")),
    };
    number.checked_mul(multiplier).ok_or_else(|| format!("'{text}' is too large"))
}

// LargeNumberOfLinks.

struct Linkee;

impl Process for Linkee {}

struct Linker {
    to: UPID,
}

impl Process for Linker {
    fn initialize(&mut self, ctx: &mut Context<Self>) {
        ctx.link(&self.to);
    }
}

struct Ephemeral;

impl Process for Ephemeral {}

/// The cost of spawn, dispatch and exit while the link table is large (MESOS-2182).
async fn large_number_of_links(lp: Libprocess, scale: Scale) {
    let links = scale.count(5000);
    let iterations = scale.count(10_000);

    let mut processes = Vec::with_capacity(2 * links);
    for _ in 0..links {
        let linkee = lp.spawn("", Linkee).expect("failed to spawn a linkee").upid().clone();
        let linker = lp.spawn("", Linker { to: linkee.clone() }).expect("failed to spawn a linker").upid().clone();
        processes.push(linkee);
        processes.push(linker);
    }
    // Unlike C++, start the clock only once every link is in the table: the `initialize`s
    // that make them run asynchronously and would otherwise be timed too.
    lp.settle().await;

    let mut ephemerals = Vec::with_capacity(iterations);
    let watch = Instant::now();
    for _ in 0..iterations {
        let pid = lp.spawn("", Ephemeral).expect("failed to spawn an ephemeral process");
        // It terminates itself, so that `wait` below also waits for the dispatch to run.
        pid.dispatch_void(|_, ctx| ctx.terminate());
        ephemerals.push(pid.upid().clone());
    }
    for pid in &ephemerals {
        let _ = lp.wait(pid).await;
    }
    println!("Elapsed: {}", duration::format(watch.elapsed()));

    terminate_all(&lp, &processes).await;
}

// ThroughputPerformance.

/// Opens once `count` decrements have happened (C++ `CountDownLatch`); more are ignored.
struct CountDownLatch {
    count: AtomicUsize,
    triggered: Notify,
}

impl CountDownLatch {
    fn new(count: usize) -> CountDownLatch {
        CountDownLatch { count: AtomicUsize::new(count), triggered: Notify::new() }
    }

    fn decrement(&self) {
        if self.count.fetch_update(Ordering::AcqRel, Ordering::Acquire, |c| c.checked_sub(1)) == Ok(1) {
            // Stores a permit when nobody waits yet.
            self.triggered.notify_one();
        }
    }

    async fn triggered(&self) {
        if self.count.load(Ordering::Acquire) > 0 {
            self.triggered.notified().await;
        }
    }
}

/// Answers every `ping` with an empty `pong`.
struct Destination;

impl Process for Destination {
    fn initialize(&mut self, ctx: &mut Context<Self>) {
        ctx.install("ping", |_: &mut Self, ctx: &mut Context<Self>, from: &UPID, _body: Bytes| {
            ctx.send(from, "pong", Bytes::new());
        });
    }
}

/// On `run`, sends up to 1000 pings; then one more per pong until `repeat` are sent.
struct Client {
    destination: UPID,
    latch: Arc<CountDownLatch>,
    repeat: usize,
    sent: usize,
    received: usize,
}

impl Process for Client {
    fn initialize(&mut self, ctx: &mut Context<Self>) {
        ctx.install("run", Self::run);
        ctx.install("pong", Self::pong);
    }
}

impl Client {
    fn run(&mut self, ctx: &mut Context<Self>, _from: &UPID, _body: Bytes) {
        for _ in 0..self.repeat.min(1000) {
            self.ping(ctx);
        }
    }

    fn pong(&mut self, ctx: &mut Context<Self>, _from: &UPID, _body: Bytes) {
        self.received += 1;
        if self.sent < self.repeat {
            self.ping(ctx);
        } else if self.received >= self.repeat {
            self.latch.decrement();
        }
    }

    fn ping(&mut self, ctx: &mut Context<Self>) {
        ctx.send(&self.destination, "ping", Bytes::new());
        self.sent += 1;
    }
}

/// Message throughput of client/destination pairs, inspired by Akka's
/// `TellThroughputPerformanceSpec`.
async fn throughput_performance(lp: Libprocess, scale: Scale) {
    let repeat = scale.count(30_000 * 500);
    // C++ `process::workers()`.
    let clients_count = cpus().max(8);
    // As in C++, the clock stops when all but one client are done.
    let latch = Arc::new(CountDownLatch::new(clients_count - 1));
    let repeat_per_client = repeat / clients_count;

    let mut destinations = Vec::with_capacity(clients_count);
    let mut clients = Vec::with_capacity(clients_count);
    for _ in 0..clients_count {
        let destination = lp.spawn("", Destination).expect("failed to spawn a destination").upid().clone();
        let client = Client {
            destination: destination.clone(),
            latch: latch.clone(),
            repeat: repeat_per_client,
            sent: 0,
            received: 0,
        };
        clients.push(lp.spawn("", client).expect("failed to spawn a client").upid().clone());
        destinations.push(destination);
    }

    let watch = Instant::now();
    for client in &clients {
        lp.post(client, "run", Bytes::new());
    }
    latch.triggered().await;
    let elapsed = watch.elapsed();

    println!("Estimated Total: {:.6}", repeat as f64 / elapsed.as_secs_f64());

    terminate_all(&lp, &clients).await;
    terminate_all(&lp, &destinations).await;
}

// DispatchDefer.

/// What the dispatch/defer chain carries from one step to the next.
trait Payload: Send + 'static {
    /// Hands the payload on to the next continuation.
    fn pass_on(self) -> Self;
}

/// A payload that moves: passing it on copies nothing.
struct Movable {
    _data: Vec<i32>,
}

impl Payload for Movable {
    fn pass_on(self) -> Self {
        self
    }
}

/// A payload that can only be copied, like a C++ protobuf message: each step copies it.
#[derive(Clone)]
struct Copyable {
    _data: Vec<i32>,
}

impl Payload for Copyable {
    fn pass_on(self) -> Self {
        self.clone()
    }
}

struct DispatchProcess {
    count: usize,
    repeat: usize,
    done: Option<Promise<()>>,
}

impl Process for DispatchProcess {}

impl DispatchProcess {
    /// One step: dispatch a no-op to ourselves and, once it has run, come back here with
    /// the payload (C++ `dispatch(self(), ...).then(defer(self(), handler, data))`).
    fn handler<T: Payload>(&mut self, ctx: &mut Context<Self>, data: T) {
        self.count += 1;
        if self.count >= self.repeat {
            if let Some(done) = self.done.take() {
                done.set(());
            }
            return;
        }
        let data = data.pass_on();
        let noop = ctx.pid().dispatch(|_, _| ());
        ctx.defer(noop, move |process, ctx, outcome| {
            if outcome.is_ok() {
                process.handler(ctx, data);
            }
        });
    }
}

async fn dispatch_defer(lp: Libprocess, scale: Scale) {
    let repeats = scale.count(100_000);
    dispatch_defer_run(&lp, "Movable", repeats, Movable { _data: vec![42; 10240] }).await;
    dispatch_defer_run(&lp, "Copyable", repeats, Copyable { _data: vec![42; 10240] }).await;
}

async fn dispatch_defer_run<T: Payload>(lp: &Libprocess, name: &str, repeats: usize, data: T) {
    let promise = Promise::new();
    let done = promise.future();
    let process = DispatchProcess { count: 0, repeat: repeats, done: Some(promise) };
    let pid = lp.spawn("", process).expect("failed to spawn the dispatch process");

    let watch = Instant::now();
    pid.dispatch_void(move |process, ctx| process.handler(ctx, data));
    done.await.expect("the dispatch process stopped before the last step");
    println!("{name} elapsed: {}", duration::format(watch.elapsed()));

    terminate_all(lp, [pid.upid()]).await;
}

// ProtobufInstallHandler.

/// `benchmarks.proto`, written out by hand.
mod proto {
    /// `tests.Message`: a tree of messages, each with a few integers.
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct Message {
        /// proto2 `repeated int32 payload = 1;`, which is not packed.
        #[prost(int32, repeated, packed = "false", tag = "1")]
        pub payload: Vec<i32>,
        #[prost(message, repeated, tag = "2")]
        pub submessages: Vec<Message>,
    }

    impl prost::Name for Message {
        const NAME: &'static str = "Message";
        const PACKAGE: &'static str = "tests";
    }

    impl libprocess::ProtobufMessage for Message {}

    impl Message {
        /// A tree of `1 + submessages` nodes, each with the payload `[1, 1]`, filled level by
        /// level with up to 4 children per node. In that breadth-first numbering (the root is
        /// 0) the children of node `i` are `4i + 1 ..= 4i + 4`.
        pub fn tree(submessages: usize) -> Message {
            fn node(i: usize, last: usize) -> Message {
                let children = (4 * i + 1)..=(4 * i + 4).min(last);
                Message { payload: vec![1, 1], submessages: children.map(|child| node(child, last)).collect() }
            }
            node(0, submessages)
        }
    }
}

/// Counts the messages it handles; the handler does nothing else.
struct ProtobufInstallHandlerProcess {
    handled: Arc<AtomicU64>,
}

impl Process for ProtobufInstallHandlerProcess {
    fn initialize(&mut self, ctx: &mut Context<Self>) {
        ctx.install_protobuf(Self::handle);
    }
}

impl ProtobufInstallHandlerProcess {
    fn handle(&mut self, _ctx: &mut Context<Self>, _from: &UPID, _message: proto::Message) {
        self.handled.fetch_add(1, Ordering::Release);
    }
}

/// The cost of handing a protobuf message to an installed handler: name look-up, decoding
/// with the required-field check, and the call. Like C++, which calls `consume()` directly,
/// the messages go straight to the handler table (`PID::consume`), not through the mailbox.
async fn protobuf_install_handler(lp: Libprocess, scale: Scale) {
    let handled = Arc::new(AtomicU64::new(0));
    let process = ProtobufInstallHandlerProcess { handled: handled.clone() };
    let pid = lp.spawn("", process).expect("failed to spawn the protobuf process");
    let window = scale.time(Duration::from_secs(1));

    for submessages in [0, 1, 5, 10, 50, 100, 500, 1000, 5000, 10000] {
        let message = proto::Message::tree(submessages);
        let size = prost::Message::encoded_len(&message);
        let body = Bytes::from(prost::Message::encode_to_vec(&message));
        let to = pid.upid().clone();

        let start = handled.load(Ordering::Acquire);
        let elapsed = Arc::new(parking_lot::Mutex::new(Duration::ZERO));
        let out = elapsed.clone();
        pid.consume(move |consume| {
            let name = libprocess::protobuf::type_name::<proto::Message>();
            let watch = Instant::now();
            while watch.elapsed() < window {
                for _ in 0..64 {
                    consume(libprocess::Message::new(name, UPID::empty(), to.clone(), body.clone()));
                }
            }
            *out.lock() = watch.elapsed();
        })
        .await
        .expect("the protobuf process is alive");
        let count = handled.load(Ordering::Acquire) - start;
        let messages_per_second = count as f64 / elapsed.lock().as_secs_f64();
        println!("Size: {size:>5} bytes, throughput: {messages_per_second:>9.0} messages/s");
    }

    terminate_all(&lp, [pid.upid()]).await;
}

// Output.

/// A `double` the way `std::cout << x` prints it by default: `%g` with 6 significant
/// digits (`52345.7`, `1.23457e+06`).
fn ostream_double(x: f64) -> String {
    if !x.is_finite() {
        return if x.is_nan() {
            "nan"
        } else if x > 0.0 {
            "inf"
        } else {
            "-inf"
        }
        .to_string();
    }
    if x == 0.0 {
        return "0".to_string();
    }
    let scientific = format!("{x:.5e}");
    let (mantissa, exponent) = scientific.split_once('e').expect("`{:e}` output has an exponent");
    let exponent: i32 = exponent.parse().expect("`{:e}` output has a numeric exponent");
    if !(-4..6).contains(&exponent) {
        let sign = if exponent < 0 { '-' } else { '+' };
        format!("{}e{sign}{:02}", trim_fraction(mantissa), exponent.abs())
    } else {
        let decimals = (5 - exponent) as usize;
        trim_fraction(&format!("{x:.decimals$}")).to_string()
    }
}

fn trim_fraction(number: &str) -> &str {
    if number.contains('.') {
        number.trim_end_matches('0').trim_end_matches('.')
    } else {
        number
    }
}
