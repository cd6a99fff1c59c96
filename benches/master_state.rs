//! The master's `/master/state` under a large cluster; mirrors the v0 part of `MasterStateQuery_BENCHMARK_Test.GetState` in `src/tests/master_benchmarks.cpp`.
//!
//! `cargo bench --bench master_state [-- --quick | --agents=N | --completed=N | --renders=N | --pause=S]`
//!
//! The state is built through the master's real message flows, as C++ does: fake agents
//! reregister with running tasks of five frameworks (which the master recovers from their
//! reports), five fake schedulers subscribe as those frameworks (with their role suppressed, so
//! no offers are made), then the agents report half of the tasks `TASK_FINISHED` and the
//! schedulers acknowledge every update, which moves those tasks to the frameworks' completed
//! tasks. Each task carries ten labels, as in C++.
//!
//! Full size: 20,000 agents, 200,000 running and 200,000 completed tasks (so
//! `--max_completed_tasks_per_framework` is raised to 40,000). C++ sends its completed tasks in
//! the agents' `completed_frameworks`, of frameworks the master does not know, so its master
//! drops them and its `/state` holds only the running ones; this one serializes both.
//! `--completed=0` gives the state C++ ends up with (200,000 running tasks only). `--quick`
//! uses 100 agents; `--agents=N` and `--completed=N` (per framework and agent) change the
//! shape, `--renders=N` the number of JSON-only timings, `--pause=S` waits S seconds before
//! the requests (to attach a profiler).
//!
//! Prints C++'s lines (`Test setup: ...`, `v0 '/state' response took ...`), then the size of
//! the document and the time to generate the JSON alone, inside the master, without HTTP.
//!
//! The client scans the body as it arrives (counting task states) rather than keeping it.
//! A document this large is streamed: the master answers at once with a chunked response
//! and writes the document in its next turn, 1 MB at a time, each chunk sent while the next
//! is written; tasks keep their JSON up to date, so writing them is copying them. The JSON
//! generation lines time that writing alone, with each chunk dropped as it comes.
//! `--stream-over=BYTES` changes the size above which documents are streamed (`--quick`
//! streams them all, so that the smoke run checks the streamed path).
//!
//! The cluster is built by `common/` (shared with `operator_state.rs`).

/// As in the `mesos-master` binary.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

mod common;

use std::net::SocketAddrV4;
use std::time::Instant;

use common::Shape;
use libprocess::duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let shape = common::shape_from_args(&args);
    let runtime = common::runtime();
    let name = "AgentFrameworkTaskCount/MasterStateQuery_BENCHMARK_Test.GetState";
    println!("[ RUN      ] {name}");
    let watch = Instant::now();
    runtime.block_on(get_state(shape));
    println!("[       OK ] {name} ({} ms)", watch.elapsed().as_millis());
}

async fn get_state(shape: Shape) {
    let (lp, master, _agents) = common::build(shape).await;
    let mut size = 0;
    for _ in 0..3 {
        let watch = Instant::now();
        let scan = get(lp.address(), "/master/state").await;
        let elapsed = watch.elapsed();
        println!("v0 '/state' response took {}", duration::format(elapsed));
        scan.check(shape);
        size = scan.size;
    }
    println!("v0 '/state' response size: {size} bytes");
    for _ in 0..shape.renders {
        let watch = Instant::now();
        let rendered = master.render_state_for_benchmark().await.expect("the master renders its state");
        println!("v0 '/state' JSON generation took {}", duration::format(watch.elapsed()));
        assert!(rendered > 0);
    }
    lp.shutdown().await;
}

/// What the client learnt of a `/master/state` body while reading it.
#[derive(Default)]
struct Scan {
    size: usize,
    first: Option<u8>,
    last: Option<u8>,
    running: usize,
    completed: usize,
}

impl Scan {
    /// The document holds every task once, in the expected state.
    fn check(&self, shape: Shape) {
        assert_eq!((self.first, self.last), (Some(b'{'), Some(b'}')), "a JSON object");
        assert_eq!((self.running, self.completed), (shape.running(), shape.completed()), "tasks in /master/state");
    }
}

/// Reads past the task states in a document, window by window.
struct TaskStates {
    finder: memchr::memmem::Finder<'static>,
    /// The end of the previous window, where a task state may begin.
    tail: Vec<u8>,
}

impl TaskStates {
    const PREFIX: &'static [u8] = br#""state":"TASK_"#;
    const RUNNING: &'static [u8] = br#""state":"TASK_RUNNING","resources""#;
    const FINISHED: &'static [u8] = br#""state":"TASK_FINISHED","resources""#;

    fn new() -> TaskStates {
        TaskStates { finder: memchr::memmem::Finder::new(Self::PREFIX), tail: Vec::new() }
    }

    /// Counts the task states that begin in `chunk`, or in the kept tail before it; with
    /// `last`, those of the very end too.
    fn feed(&mut self, chunk: &[u8], last: bool, scan: &mut Scan) {
        let keep = Self::FINISHED.len() - 1;
        if chunk.len() < 2 * keep {
            // Rare and small: joined to the tail.
            let mut window = std::mem::take(&mut self.tail);
            window.extend_from_slice(chunk);
            let end = if last { window.len() } else { window.len().saturating_sub(keep) };
            self.count(&window, end, scan);
            self.tail = window[end..].to_vec();
            return;
        }
        // States that begin in the tail (shorter than a state) end within `keep` bytes.
        if !self.tail.is_empty() {
            let mut joint = std::mem::take(&mut self.tail);
            let begun = joint.len();
            joint.extend_from_slice(&chunk[..keep]);
            self.count(&joint, begun, scan);
        }
        // A state that begins in the last `keep` bytes may not be whole yet: it is counted
        // with the next chunk.
        let end = if last { chunk.len() } else { chunk.len() - keep };
        self.count(chunk, end, scan);
        self.tail = chunk[end..].to_vec();
    }

    /// Counts the states of `window` that begin before `end`.
    fn count(&self, window: &[u8], end: usize, scan: &mut Scan) {
        for at in self.finder.find_iter(window).take_while(|&at| at < end) {
            let rest = &window[at..];
            if rest.starts_with(Self::RUNNING) {
                scan.running += 1;
            } else if rest.starts_with(Self::FINISHED) {
                scan.completed += 1;
            }
        }
    }
}

/// A plain `GET` on a fresh connection, expecting `200 OK`, whole or chunked. The body is
/// scanned as it arrives rather than kept, as a streaming consumer would: kept, it would be 240 MB of
/// fresh client memory whose first touch (page faults and zeroing) costs about as much as
/// the master's whole rendering on a virtual machine, and the time is meant to be the
/// master's.
async fn get(address: SocketAddrV4, path: &str) -> Scan {
    let mut stream = TcpStream::connect(address).await.expect("connects");
    let request = format!("GET {path} HTTP/1.1\r\nHost: {address}\r\n\r\n");
    stream.write_all(request.as_bytes()).await.expect("writes");
    let mut buffer = Vec::with_capacity(64 * 1024);
    let head_end = loop {
        if let Some(end) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
            break end;
        }
        let mut chunk = [0u8; 8192];
        let n = stream.read(&mut chunk).await.expect("reads");
        assert!(n > 0, "connection closed before the headers");
        buffer.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buffer[..head_end]).into_owned();
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    let mut scan = Scan::default();
    let mut states = TaskStates::new();
    let rest = buffer.split_off(head_end + 4);
    let size = common::read_body(&mut stream, &head, rest, |piece| {
        scan.first = scan.first.or(piece.first().copied());
        scan.last = piece.last().copied().or(scan.last);
        states.feed(piece, false, &mut scan);
    })
    .await;
    states.feed(&[], true, &mut scan);
    scan.size = size;
    scan
}
