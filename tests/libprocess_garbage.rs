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

/// Requests that get past the decoder and exercise classification and routing: a method,
/// a path made of odd pieces, a random set of headers (both libprocess forms, bad UPIDs,
/// body framings) and a body.
fn requests() -> impl Strategy<Value = Vec<u8>> {
    let method = prop_oneof![Just("GET"), Just("POST"), Just("PUT"), Just("DELETE")];
    let segment = prop_oneof![
        Just("sink".to_string()),
        Just("data".to_string()),
        Just("%zz".to_string()),
        Just("%28x%29".to_string()),
        Just("..".to_string()),
        Just("".to_string()),
        Just("metrics".to_string()),
        Just("snapshot".to_string()),
        Just("__processes__".to_string()),
        Just("help".to_string()),
        Just("nobody".to_string()),
        "[a-z(){}%+]{0,8}",
    ];
    let path = proptest::collection::vec(segment, 0..4).prop_map(|s| format!("/{}", s.join("/")));
    let header = prop_oneof![
        Just("Libprocess-From: x@1.2.3.4:5".to_string()),
        Just("Libprocess-From: @@::".to_string()),
        Just("Libprocess-From:".to_string()),
        Just("User-Agent: libprocess/".to_string()),
        Just("User-Agent: libprocess/y@127.0.0.1:99999".to_string()),
        Just("Connection: close".to_string()),
        Just("Accept-Encoding: gzip".to_string()),
        "X-[a-z]{1,4}: [ -~]{0,12}",
    ];
    let headers = proptest::collection::vec(header, 0..5);
    let body = proptest::collection::vec(any::<u8>(), 0..64);
    let query = prop_oneof![Just(""), Just("?jsonp=cb"), Just("?timeout=xyz"), Just("?timeout=1secs"), Just("?%zz")];
    (method, path, query, headers, body).prop_map(|(method, path, query, headers, body)| {
        let mut out = format!("{method} {path}{query} HTTP/1.1\r\n");
        for header in headers {
            out.push_str(&header);
            out.push_str("\r\n");
        }
        out.push_str(&format!("Content-Length: {}\r\n\r\n", body.len()));
        let mut bytes = out.into_bytes();
        bytes.extend_from_slice(&body);
        bytes
    })
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
    let mut runner = TestRunner::new(Config { cases: 300, ..Config::default() });
    let strategy = prop_oneof![
        1 => proptest::collection::vec(any::<u8>(), 0..512),
        4 => requests(),
        1 => proptest::collection::vec(requests(), 2..4).prop_map(|pipeline| pipeline.concat()),
    ];
    let mut inputs = Vec::new();
    for _ in 0..300 {
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
