//! HTTP served by processes over real sockets: routing, the delegate, built-in endpoints, metrics, keep-alive, pipelining, streaming, gzip and bad requests.

mod common;

use std::time::Duration;

use bytes::Bytes;
use common::{get, instance, instance_with, read_response, request, within};
use libprocess::http::{Request, Response};
use libprocess::{Config, Context, Future, Process};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// A process with a few routes, like the master's.
struct Web;

impl Process for Web {
    fn initialize(&mut self, ctx: &mut Context<Self>) {
        ctx.route("/state", "The state.", |_, _, request: Request| {
            let jsonp = request.url.query.get("jsonp").cloned();
            Future::ready(Response::json(&serde_json::json!({"ok": true}), jsonp.as_deref()))
        });
        ctx.route("/files", "Files.", |_, _, request: Request| Future::ready(Response::ok(request.url.path)));
        ctx.route("/files/read", "Read.", |_, _, _| Future::ready(Response::ok("read")));
        ctx.route("/", "Root.", |_, _, _| Future::ready(Response::ok("root")));
        ctx.route("/echo", "Echoes the body of a POST.", |_, _, request: Request| {
            Future::ready(Response::ok(request.body))
        });
        ctx.route("/big", "A large body.", |_, _, _| Future::ready(Response::ok(vec![b'x'; 64 * 1024])));
        ctx.route("/fail", "A failing handler.", |_, _, _| Future::failed("it broke"));
        ctx.route("/stream", "A streamed body.", |_, _, _| {
            let (response, tx) = Response::pipe();
            tokio::spawn(async move {
                for part in ["one", "two", "three"] {
                    let _ = tx.send(Bytes::from(part));
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
            });
            Future::ready(response)
        });
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn routes_match_by_longest_prefix() {
    let lp = instance().await;
    lp.spawn("web", Web).unwrap();
    let a = lp.address();
    assert_eq!(get(a, "/web/state").await.text(), r#"{"ok":true}"#);
    assert_eq!(get(a, "/web/state").await.header("Content-Type"), Some("application/json"));
    assert_eq!(get(a, "/web/state/").await.status, 200, "a trailing slash is tolerated");
    assert_eq!(get(a, "/web/files/read").await.text(), "read");
    assert_eq!(get(a, "/web/files/browse/deep").await.text(), "/web/files/browse/deep");
    assert_eq!(get(a, "/web").await.text(), "root");
    assert_eq!(get(a, "/web/nothing").await.status, 404);
    let missing = get(a, "/nobody/state").await;
    assert_eq!((missing.status, missing.text()), (404, "404 Not Found.".to_string()));
    assert_eq!(get(a, "/web/state?jsonp=cb").await.text(), r#"cb({"ok":true})"#);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_handler_gives_500_with_the_failure_text() {
    let lp = instance().await;
    lp.spawn("web", Web).unwrap();
    let response = get(lp.address(), "/web/fail").await;
    assert_eq!((response.status, response.text()), (500, "it broke".to_string()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_delegate_serves_paths_that_name_no_process() {
    let lp = instance().await;
    lp.spawn("master", Web).unwrap();
    lp.set_delegate(Some("master"));
    let a = lp.address();
    assert_eq!(get(a, "/state").await.text(), r#"{"ok":true}"#);
    assert_eq!(get(a, "/").await.text(), "root");
    // A live process still owns its own paths.
    assert_eq!(get(a, "/metrics/snapshot").await.status, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_paths_are_refused() {
    let lp = instance().await;
    lp.spawn("web", Web).unwrap();
    let a = lp.address();
    let response = request(a, b"GET web/state HTTP/1.1\r\nConnection: close\r\n\r\n").await;
    assert_eq!(response.status, 400);
    assert_eq!(get(a, "/web/../web/state").await.status, 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn disabled_endpoints_get_403() {
    let lp = instance().await;
    lp.spawn("web", Web).unwrap();
    lp.disable_endpoints(["/web/state".to_string()]);
    let response = get(lp.address(), "/web/state").await;
    assert_eq!(response.status, 403);
    assert_eq!(response.text(), "Endpoint '/web/state' is disabled");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn processes_endpoint_lists_every_process() {
    let lp = instance().await;
    lp.spawn("web", Web).unwrap();
    let response = get(lp.address(), "/__processes__").await;
    let value: serde_json::Value = serde_json::from_slice(&response.body).unwrap();
    let ids: Vec<&str> = value.as_array().unwrap().iter().map(|p| p["id"].as_str().unwrap()).collect();
    for id in ["web", "metrics", "__processes__", "system", "help"] {
        assert!(ids.contains(&id), "{id} in {ids:?}");
    }
    assert!(value[0]["events"].is_array());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn help_and_system_stats_are_served() {
    let lp = instance().await;
    lp.spawn("web", Web).unwrap();
    // `web` installs its routes (and so its help) in its first turn, and the help process
    // routes `/help/web` in a turn of its own after that.
    lp.settle().await;
    let help = get(lp.address(), "/help?format=json").await;
    let value: serde_json::Value = serde_json::from_slice(&help.body).unwrap();
    let web = value["processes"].as_array().unwrap().iter().find(|p| p["id"] == "web").unwrap();
    assert!(web["endpoints"].as_array().unwrap().iter().any(|e| e["name"] == "/state"));
    assert_eq!(get(lp.address(), "/help/web/state").await.status, 200);
    // A known process with an unknown endpoint is a bad request; an unknown process has no
    // help route at all (C++ `Help::add` routes `/<id>` per process).
    assert_eq!(get(lp.address(), "/help/web/nothing").await.status, 400);
    assert_eq!(get(lp.address(), "/help/nobody").await.status, 404);

    let stats = get(lp.address(), "/system/stats.json").await;
    let value: serde_json::Value = serde_json::from_slice(&stats.body).unwrap();
    assert!(value["cpus_total"].as_u64().unwrap() >= 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_snapshot_is_a_sorted_object_of_doubles() {
    let lp = instance().await;
    let counter = lp.metrics().counter("test/events");
    counter.add(8);
    lp.metrics().push_gauge("test/ratio").set(0.5);
    let timer = lp.metrics().timer("test/run_ms", Some(Duration::from_secs(3600)));
    timer.record(Duration::from_millis(4));
    timer.record(Duration::from_millis(2));
    let response = get(lp.address(), "/metrics/snapshot").await;
    let text = response.text();
    assert!(text.contains(r#""test/events":8.0"#), "{text}");
    assert!(text.contains(r#""test/ratio":0.5"#), "{text}");
    assert!(text.contains(r#""test/run_ms":2.0"#), "{text}");
    assert!(text.contains(r#""test/run_ms/count":2.0"#), "{text}");
    assert!(text.contains(r#""test/run_ms/max":4.0"#), "{text}");
    assert!(text.contains(r#""system/cpus_total":"#), "{text}");
    let value: serde_json::Value = serde_json::from_str(&text).unwrap();
    let keys: Vec<&String> = value.as_object().unwrap().keys().collect();
    let mut sorted = keys.clone();
    sorted.sort();
    assert_eq!(keys, sorted);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_snapshot_is_rate_limited_on_the_instance_clock() {
    let config = Config {
        metrics_snapshot_rate_limit: Some(libprocess::config::RateLimit::parse("1/1secs").unwrap()),
        ..Config::default()
    };
    let lp = instance_with(config).await;
    lp.clock().pause();
    assert_eq!(get(lp.address(), "/metrics/snapshot").await.status, 200);

    // The second request in the same second waits (not rejected) until time moves.
    let address = lp.address();
    let second = tokio::spawn(async move { get(address, "/metrics/snapshot").await });
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(!second.is_finished());
    lp.clock().advance(Duration::from_secs(1));
    assert_eq!(within(second).await.unwrap().status, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pipelined_requests_are_answered_in_order_on_a_kept_alive_connection() {
    let lp = instance().await;
    lp.spawn("web", Web).unwrap();
    let mut stream = TcpStream::connect(lp.address()).await.unwrap();
    // A slow-ish streamed response first: later answers must wait for it.
    let mut pipeline = Vec::new();
    pipeline.extend_from_slice(b"GET /web/stream HTTP/1.1\r\nHost: x\r\n\r\n");
    pipeline.extend_from_slice(&common::message_bytes("web", "nothing", "peer@127.0.0.1:1", b"", true, true));
    pipeline.extend_from_slice(b"POST /web/echo HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello");
    pipeline.extend_from_slice(b"GET /web/files/read HTTP/1.1\r\n\r\n");
    stream.write_all(&pipeline).await.unwrap();

    let mut buf = Vec::new();
    let streamed = within(read_response(&mut stream, &mut buf)).await.unwrap();
    assert_eq!(streamed.header("Transfer-Encoding"), Some("chunked"));
    assert_eq!(streamed.text(), "onetwothree");
    let accepted = within(read_response(&mut stream, &mut buf)).await.unwrap();
    assert_eq!(accepted.status, 202);
    assert_eq!(accepted.header("Content-Length"), Some("0"));
    assert!(accepted.header("Date").is_some());
    assert_eq!(within(read_response(&mut stream, &mut buf)).await.unwrap().text(), "hello");
    assert_eq!(within(read_response(&mut stream, &mut buf)).await.unwrap().text(), "read");

    // Still open afterwards.
    stream.write_all(b"GET /web/state HTTP/1.1\r\n\r\n").await.unwrap();
    assert_eq!(within(read_response(&mut stream, &mut buf)).await.unwrap().status, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_large_body_written_on_its_own_keeps_its_place_in_the_pipeline() {
    let lp = instance().await;
    lp.spawn("web", Web).unwrap();
    let mut stream = TcpStream::connect(lp.address()).await.unwrap();
    let pipeline = b"GET /web/state HTTP/1.1\r\n\r\nGET /web/big HTTP/1.1\r\n\r\nPOST /web/echo HTTP/1.1\r\nContent-Length: 2\r\n\r\nok";
    stream.write_all(pipeline).await.unwrap();
    let mut buf = Vec::new();
    assert_eq!(within(read_response(&mut stream, &mut buf)).await.unwrap().status, 200);
    let big = within(read_response(&mut stream, &mut buf)).await.unwrap();
    assert_eq!(big.header("Content-Length"), Some("65536"));
    assert!(big.body.len() == 64 * 1024 && big.body.iter().all(|&b| b == b'x'));
    assert_eq!(within(read_response(&mut stream, &mut buf)).await.unwrap().text(), "ok");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_1_0_without_keep_alive_is_closed_after_the_answer() {
    let lp = instance().await;
    lp.spawn("web", Web).unwrap();
    let mut stream = TcpStream::connect(lp.address()).await.unwrap();
    stream.write_all(b"GET /web/state HTTP/1.0\r\n\r\n").await.unwrap();
    let mut buf = Vec::new();
    let response = within(read_response(&mut stream, &mut buf)).await.unwrap();
    assert_eq!(response.status, 200);
    let mut rest = Vec::new();
    assert_eq!(within(stream.read_to_end(&mut rest)).await.unwrap(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn large_bodies_are_gzipped_for_clients_that_accept_it() {
    let lp = instance().await;
    lp.spawn("web", Web).unwrap();
    let response =
        request(lp.address(), b"GET /web/big HTTP/1.1\r\nAccept-Encoding: gzip\r\nConnection: close\r\n\r\n").await;
    assert_eq!(response.header("Content-Encoding"), Some("gzip"));
    let mut inflated = Vec::new();
    std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(&response.body[..]), &mut inflated).unwrap();
    assert_eq!(inflated.len(), 64 * 1024);
    let plain = get(lp.address(), "/web/big").await;
    assert_eq!(plain.header("Content-Encoding"), None);
    assert_eq!(plain.body.len(), 64 * 1024);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_malformed_request_closes_only_its_own_connection() {
    let lp = instance().await;
    lp.spawn("web", Web).unwrap();
    let mut good = TcpStream::connect(lp.address()).await.unwrap();
    let mut bad = TcpStream::connect(lp.address()).await.unwrap();

    bad.write_all(b"\x00\x01garbage that is not HTTP\r\n\r\n").await.unwrap();
    let mut rest = Vec::new();
    assert_eq!(within(bad.read_to_end(&mut rest)).await.unwrap(), 0, "closed without a response");

    let mut huge = TcpStream::connect(lp.address()).await.unwrap();
    let mut head = b"GET /web/state HTTP/1.1\r\n".to_vec();
    while head.len() < 90 * 1024 {
        head.extend_from_slice(
            b"X-Filler: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n",
        );
    }
    let _ = huge.write_all(&head).await;
    let mut rest = Vec::new();
    let closed = within(huge.read_to_end(&mut rest)).await;
    assert!(closed.is_err() || rest.is_empty(), "oversized head closes the connection without a response");

    good.write_all(b"GET /web/state HTTP/1.1\r\n\r\n").await.unwrap();
    let mut buf = Vec::new();
    assert_eq!(within(read_response(&mut good, &mut buf)).await.unwrap().status, 200);
}

/// A process whose stream never ends on its own and that reports when its reader goes away.
struct Streamer {
    reader_gone: Option<tokio::sync::oneshot::Sender<()>>,
}

impl Process for Streamer {
    fn initialize(&mut self, ctx: &mut Context<Self>) {
        ctx.route("/events", "An endless stream.", |me: &mut Streamer, _, _| {
            let (response, tx) = Response::pipe();
            let _ = tx.send(Bytes::from_static(b"first"));
            let reader_gone = me.reader_gone.take();
            tokio::spawn(async move {
                tx.closed().await;
                if let Some(reader_gone) = reader_gone {
                    let _ = reader_gone.send(());
                }
            });
            Future::ready(response)
        });
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stream_ends_when_its_client_closes_the_connection() {
    let lp = instance().await;
    let (reader_gone, gone) = tokio::sync::oneshot::channel();
    lp.spawn("streamer", Streamer { reader_gone: Some(reader_gone) }).unwrap();
    let mut stream = TcpStream::connect(lp.address()).await.unwrap();
    stream.write_all(b"GET /streamer/events HTTP/1.1\r\nConnection: close\r\n\r\n").await.unwrap();
    let mut buf = vec![0u8; 1024];
    let mut seen = Vec::new();
    while !String::from_utf8_lossy(&seen).contains("first") {
        let n = within(stream.read(&mut buf)).await.unwrap();
        assert!(n > 0, "the stream ended early");
        seen.extend_from_slice(&buf[..n]);
    }
    // Nothing is written after the first chunk, so only the read side can notice.
    drop(stream);
    within(gone).await.expect("the producer learns that the reader is gone");
}
