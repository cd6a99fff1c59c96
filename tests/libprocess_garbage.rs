//! Hostile input over real sockets: random bytes and mutated requests never take an instance down; it keeps delivering messages and serving HTTP afterwards.

mod common;

use common::{get, instance, message_bytes, read_response, within};
use libprocess::{Context, Process, UPID};
use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::{Config, TestRunner};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

struct Sink;

impl Process for Sink {
    fn initialize(&mut self, ctx: &mut Context<Self>) {
        ctx.install("data", |_: &mut Self, _, _: &UPID, _| {});
    }
}

/// Pieces that make requests interesting for the classifier and router.
fn fragments() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        Just(b"POST ".to_vec()),
        Just(b"GET ".to_vec()),
        Just(b"/sink/data".to_vec()),
        Just(b"/%zz/".to_vec()),
        Just(b"/..".to_vec()),
        Just(b"/".to_vec()),
        Just(b" HTTP/1.1\r\n".to_vec()),
        Just(b"Libprocess-From: x@1.2.3.4:5\r\n".to_vec()),
        Just(b"Libprocess-From: @@::\r\n".to_vec()),
        Just(b"User-Agent: libprocess/\r\n".to_vec()),
        Just(b"Transfer-Encoding: chunked\r\n".to_vec()),
        Just(b"Content-Length: 3\r\n".to_vec()),
        Just(b"Content-Encoding: gzip\r\n".to_vec()),
        Just(b"\r\n".to_vec()),
        Just(b"5\r\nhello\r\n0\r\n\r\n".to_vec()),
        proptest::collection::vec(any::<u8>(), 0..16),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn random_and_mutated_requests_never_take_the_instance_down() {
    // A panic in a connection task would not stop the instance, so count them: this test is
    // alone in its binary, so the process-wide hook sees only its own panics.
    static PANICS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let default_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        PANICS.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        default_hook(info);
    }));

    let lp = instance().await;
    lp.spawn("sink", Sink).unwrap();
    let address = lp.address();

    // Generate the inputs up front (proptest's runner is synchronous).
    let mut runner = TestRunner::new(Config { cases: 200, ..Config::default() });
    let strategy = prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..512),
        proptest::collection::vec(fragments(), 0..12).prop_map(|parts| parts.concat()),
    ];
    let mut inputs = Vec::new();
    for _ in 0..200 {
        let input: Vec<u8> = strategy.new_tree(&mut runner).expect("a value").current();
        inputs.push(input);
    }

    for input in inputs {
        let Ok(mut stream) = TcpStream::connect(address).await else { continue };
        let _ = stream.write_all(&input).await;
        let _ = stream.shutdown().await;
        // Whatever comes back (nothing, an error status, a close), take it and move on.
        let mut sink = Vec::new();
        let _ = tokio::time::timeout(std::time::Duration::from_millis(200), stream.read_to_end(&mut sink)).await;
    }

    // Still alive: HTTP works and a well-formed message is accepted.
    assert_eq!(get(address, "/__processes__").await.status, 200);
    let mut stream = TcpStream::connect(address).await.unwrap();
    stream.write_all(&message_bytes("sink", "data", "p@127.0.0.1:1", b"ok", true, true)).await.unwrap();
    let mut buf = Vec::new();
    assert_eq!(within(read_response(&mut stream, &mut buf)).await.unwrap().status, 202);
    assert_eq!(PANICS.load(std::sync::atomic::Ordering::SeqCst), 0, "bad input caused a panic");
}
