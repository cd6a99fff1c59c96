//! The v1 operator API's `GET_STATE` (`POST /master/api/v1`) under a large cluster, in JSON and in protobuf, and the event rate one SUBSCRIBE stream sustains; mirrors the v1 part of `MasterStateQuery_BENCHMARK_Test.GetState` in `src/tests/master_benchmarks.cpp`.
//!
//! `cargo bench --bench operator_state [-- --quick | --agents=N | --completed=N | --renders=N | --events=N | --pause=S]`
//!
//! The cluster is the one `master_state.rs` measures (`common/`): 20,000 agents, 200,000
//! running and 200,000 completed tasks at full size, 100 agents with `--quick`. C++ 1.10 took
//! 5.7 s (protobuf) and 9.6 s (JSON) for this answer with 200,000 running tasks.
//!
//! Prints, per encoding, the time of each of three requests over HTTP (the client reads the
//! whole body into a buffer it touched before the clock started) and the answer's size,
//! then `--renders` timings of the answer generated inside the master without HTTP (written
//! as it is streamed, each chunk dropped as it comes). Then it opens one SUBSCRIBE stream (JSON),
//! times its SUBSCRIBED event, and has the fake agents send `--events` health-check status
//! updates for running tasks (each is recorded by the master and becomes one TASK_UPDATED);
//! the rate is the number of TASK_UPDATED events the client read, over the time from the first
//! update sent to the last event read.

/// As in the `mesos-master` binary.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

mod common;

use std::net::SocketAddrV4;
use std::time::{Duration, Instant};

use common::Shape;
use libprocess::{duration, Libprocess, UPID};
use master::master::MasterHandle;
use mesos::internal::{StatusUpdate, StatusUpdateMessage};
use mesos::proto::master::Response as ApiResponse;
use mesos::proto::task_status::{Reason, Source};
use mesos::proto::{SlaveId, TaskState, TaskStatus};
use mesos::state::Uuid;
use prost::Message;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let shape = common::shape_from_args(&args);
    let events = args.iter().find_map(|arg| arg.strip_prefix("--events=")?.parse().ok());
    let events = events.unwrap_or(shape.running().min(50_000));
    let runtime = common::runtime();
    let name = "AgentFrameworkTaskCount/MasterStateQuery_BENCHMARK_Test.GetStateV1";
    println!("[ RUN      ] {name}");
    let watch = Instant::now();
    runtime.block_on(run(shape, events));
    println!("[       OK ] {name} ({} ms)", watch.elapsed().as_millis());
}

async fn run(shape: Shape, events: usize) {
    // The client's buffer, touched before the cluster is built: the time is meant to be the
    // master's, not that of the client's first writes to fresh memory (or of growing it).
    let tasks = shape.running() + shape.completed();
    // (Filled with ones: a zeroed allocation of fresh memory is not written at all.)
    let mut buffer = vec![1u8; tasks * 1200 + shape.agents * 4096 + (1 << 20)];
    buffer.clear();
    let (lp, master, agents) = common::build(shape).await;
    for (label, accept) in [("JSON", "application/json"), ("protobuf", "application/x-protobuf")] {
        let mut size = 0;
        for _ in 0..3 {
            let watch = Instant::now();
            post(lp.address(), accept, br#"{"type":"GET_STATE"}"#, &mut buffer).await;
            let elapsed = watch.elapsed();
            println!("v1 'master::call::GetState' {label} response took {}", duration::format(elapsed));
            size = buffer.len();
        }
        check(shape, accept, &buffer);
        println!("v1 'master::call::GetState' {label} response size: {size} bytes");
        for _ in 0..shape.renders {
            let watch = Instant::now();
            let protobuf = accept.ends_with("protobuf");
            let rendered = master.render_v1_state_for_benchmark(protobuf).await.expect("the master renders");
            println!("v1 'master::call::GetState' {label} generation took {}", duration::format(watch.elapsed()));
            assert!(rendered > 0);
        }
    }
    drop(buffer);
    event_rate(&lp, &master, &agents, shape, events).await;
    lp.shutdown().await;
}

/// The answer holds every task once, in the expected state.
fn check(shape: Shape, accept: &str, body: &[u8]) {
    if accept.ends_with("protobuf") {
        let answer = ApiResponse::decode(body).expect("a master::Response");
        let tasks = answer.get_state.and_then(|s| s.get_tasks).expect("GET_STATE with tasks");
        assert_eq!(tasks.tasks.len(), shape.running(), "running tasks");
        assert_eq!(tasks.completed_tasks.len(), shape.completed(), "completed tasks");
        return;
    }
    assert_eq!((body.first(), body.last()), (Some(&b'{'), Some(&b'}')), "a JSON object");
    let count = |pattern: &[u8]| memchr::memmem::find_iter(body, pattern).count();
    assert_eq!(count(br#""state":"TASK_RUNNING","resources""#), shape.running(), "running tasks");
    assert_eq!(count(br#""state":"TASK_FINISHED","resources""#), shape.completed(), "completed tasks");
}

fn request(address: SocketAddrV4, accept: &str, body: &[u8]) -> Vec<u8> {
    let mut bytes = format!(
        "POST /master/api/v1 HTTP/1.1\r\nHost: {address}\r\nContent-Type: application/json\r\nAccept: {accept}\r\nContent-Length: {}\r\n\r\n",
        body.len()
    )
    .into_bytes();
    bytes.extend_from_slice(body);
    bytes
}

/// Reads the head of an answer; what came after it stays in `buffer`.
async fn read_head(stream: &mut TcpStream, buffer: &mut Vec<u8>) -> String {
    buffer.clear();
    loop {
        if let Some(end) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buffer[..end]).into_owned();
            buffer.drain(..end + 4);
            assert!(head.starts_with("HTTP/1.1 200"), "{head}");
            return head;
        }
        let mut chunk = [0u8; 8192];
        let n = stream.read(&mut chunk).await.expect("reads");
        assert!(n > 0, "connection closed before the headers");
        buffer.extend_from_slice(&chunk[..n]);
    }
}

/// One call on a fresh connection; the body (whole or chunked) ends up in `buffer` (reused
/// between calls so that the client does not time its own page faults).
async fn post(address: SocketAddrV4, accept: &str, body: &[u8], buffer: &mut Vec<u8>) {
    let mut stream = TcpStream::connect(address).await.expect("connects");
    stream.write_all(&request(address, accept, body)).await.expect("writes");
    let mut raw = Vec::new();
    let head = read_head(&mut stream, &mut raw).await;
    buffer.clear();
    common::read_body(&mut stream, &head, raw, |piece| buffer.extend_from_slice(piece)).await;
}

/// A SUBSCRIBE stream's body, de-chunked and split into RecordIO records.
struct Events {
    stream: TcpStream,
    raw: Vec<u8>,
    decoder: mesos::recordio::Decoder,
}

impl Events {
    /// Reads until at least one record is whole, and returns those read.
    async fn next(&mut self) -> Vec<bytes::Bytes> {
        loop {
            let mut records = Vec::new();
            // De-chunk what is whole.
            while let Some(line_end) = memchr::memmem::find(&self.raw, b"\r\n") {
                let size = usize::from_str_radix(std::str::from_utf8(&self.raw[..line_end]).expect("size"), 16)
                    .expect("hex chunk size");
                assert!(size > 0, "the stream ended");
                if self.raw.len() < line_end + 2 + size + 2 {
                    break;
                }
                records.extend(self.decoder.decode(&self.raw[line_end + 2..line_end + 2 + size]).expect("RecordIO"));
                self.raw.drain(..line_end + 2 + size + 2);
            }
            if !records.is_empty() {
                return records;
            }
            self.raw.reserve(1 << 20);
            let n = self.stream.read_buf(&mut self.raw).await.expect("reads the stream");
            assert!(n > 0, "the stream closed");
        }
    }
}

async fn event_rate(lp: &Libprocess, master: &MasterHandle, agents: &[UPID], shape: Shape, events: usize) {
    let address = lp.address();
    let watch = Instant::now();
    let mut stream = TcpStream::connect(address).await.expect("connects");
    stream.write_all(&request(address, "application/json", br#"{"type":"SUBSCRIBE"}"#)).await.expect("writes");
    let mut raw = Vec::new();
    read_head(&mut stream, &mut raw).await;
    let mut subscription = Events { stream, raw, decoder: mesos::recordio::Decoder::new(u64::MAX) };
    let mut first = subscription.next().await;
    println!("v1 SUBSCRIBED event ({} bytes) took {}", first[0].len(), duration::format(watch.elapsed()));
    assert!(first[0].starts_with(br#"{"type":"SUBSCRIBED""#));
    first.remove(0);
    lp.settle().await;

    // Health-check updates of running tasks: each is recorded and becomes a TASK_UPDATED.
    let watch = Instant::now();
    let per_agent = shape.frameworks * shape.running_per_framework;
    for i in 0..events {
        let round = i / shape.running().max(1);
        let slot = i % shape.running().max(1);
        let (a, rest) = (slot / per_agent, slot % per_agent);
        let (f, j) = (rest / shape.running_per_framework, rest % shape.running_per_framework);
        let slave_id = SlaveId { value: format!("agent{a}") };
        let uuid = Uuid::random().as_bytes().to_vec();
        let mut status = TaskStatus {
            task_id: common::task_id(a, f, j),
            slave_id: Some(slave_id.clone()),
            uuid: Some(uuid.clone()),
            healthy: Some(round.is_multiple_of(2)),
            timestamp: Some(1_800_000_000.0 + i as f64),
            ..Default::default()
        };
        status.set_state(TaskState::TaskRunning);
        status.set_source(Source::Executor);
        status.set_reason(Reason::TaskHealthCheckStatusUpdated);
        let update = StatusUpdate {
            framework_id: common::framework_id(f),
            executor_id: None,
            slave_id: Some(slave_id),
            status,
            timestamp: 1_800_000_000.0 + i as f64,
            uuid: Some(uuid),
            latest_state: None,
        };
        let agent = &agents[a];
        lp.post_protobuf(agent, master.pid().upid(), &StatusUpdateMessage { update, pid: Some(agent.to_string()) });
    }
    let mut seen = first.iter().filter(|r| r.starts_with(br#"{"type":"TASK_UPDATED""#)).count();
    let deadline = Instant::now() + Duration::from_secs(600);
    while seen < events {
        assert!(Instant::now() < deadline, "{seen} of {events} events after 10 minutes");
        let records = subscription.next().await;
        seen += records.iter().filter(|r| r.starts_with(br#"{"type":"TASK_UPDATED""#)).count();
    }
    let elapsed = watch.elapsed();
    println!(
        "v1 SUBSCRIBE stream: {events} TASK_UPDATED events in {} ({:.0} events/s)",
        duration::format(elapsed),
        events as f64 / elapsed.as_secs_f64()
    );
}
