//! The `echo` example as a separate OS process: a raw socket peer pings it by the fact sheet's bytes, and a linked instance hears `exited` when the process is killed.

mod common;

use std::path::PathBuf;
use std::process::Stdio;

use common::{instance, message_bytes, read_message, read_response, within, RawPeer};
use libprocess::{Context, Process, UPID};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio::process::{Child, Command};
use tokio::sync::mpsc;

/// `cargo test` builds the examples next to the test binaries' `deps` directory.
fn echo_binary() -> PathBuf {
    let mut path = std::env::current_exe().expect("test binary path");
    path.pop();
    if path.ends_with("deps") {
        path.pop();
    }
    path.join("examples").join("echo")
}

async fn start_echo() -> (Child, UPID) {
    let mut child = Command::new(echo_binary())
        .args(["--ip", "127.0.0.1", "--port", "0"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("the echo example is built by cargo test");
    let stdout = child.stdout.take().expect("stdout");
    let mut line = String::new();
    within(BufReader::new(stdout).read_line(&mut line)).await.expect("echo prints its UPID");
    let upid: UPID = line.trim().parse().expect("a UPID");
    assert_eq!(&*upid.id, "echo");
    (child, upid)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn echo_answers_ping_with_pong_to_the_sender() {
    let (_child, echo) = start_echo().await;
    let peer = RawPeer::bind().await;
    let me = peer.upid("tester");

    let mut inbound = TcpStream::connect(echo.address()).await.unwrap();
    for (i, body) in [&b"first"[..], b"", b"third"].iter().enumerate() {
        // Alternate header forms: both, legacy User-Agent only, Libprocess-From only.
        let (ua, from) = [(true, true), (true, false), (false, true)][i];
        inbound.write_all(&message_bytes("echo", "ping", &me.to_string(), body, ua, from)).await.unwrap();
    }
    let mut buf = Vec::new();
    for _ in 0..3 {
        assert_eq!(within(read_response(&mut inbound, &mut buf)).await.unwrap().status, 202);
    }

    // The echo answers on a temporary connection, which libprocess closes whenever its queue
    // drains; the pongs may therefore come over one connection or several, one after another.
    let mut messages = Vec::new();
    while messages.len() < 3 {
        let mut conn = peer.accept().await;
        let mut buf = Vec::new();
        while let Some(message) = within(read_message(&mut conn, &mut buf)).await {
            messages.push(message);
        }
    }
    for ((head, body, _), expected) in messages.into_iter().zip([&b"first"[..], b"", b"third"]) {
        assert!(head.starts_with("POST /tester/pong HTTP/1.1\r\n"), "{head}");
        assert!(head.contains(&format!("Libprocess-From: {echo}\r\n")), "{head}");
        assert_eq!(body, expected);
        if expected.is_empty() {
            assert!(!head.contains("Transfer-Encoding"), "an empty body has no framing: {head}");
        }
    }
}

struct Linker {
    target: UPID,
    events: mpsc::UnboundedSender<(String, UPID)>,
}

impl Process for Linker {
    fn initialize(&mut self, ctx: &mut Context<Self>) {
        ctx.link(&self.target);
        ctx.send(&self.target, "ping", &b"hello"[..]);
        ctx.install("pong", |this: &mut Self, _, from, _| {
            let _ = this.events.send(("pong".into(), from.clone()));
        });
    }

    fn exited(&mut self, _ctx: &mut Context<Self>, pid: UPID) {
        let _ = self.events.send(("exited".into(), pid));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killing_the_echo_process_exits_its_remote_linker() {
    let (mut child, echo) = start_echo().await;
    let lp = instance().await;
    let (tx, mut rx) = mpsc::unbounded_channel();
    lp.spawn("linker", Linker { target: echo.clone(), events: tx }).unwrap();
    assert_eq!(within(rx.recv()).await.unwrap(), ("pong".to_string(), echo.clone()));

    child.start_kill().unwrap();
    let _ = child.wait().await;
    assert_eq!(within(rx.recv()).await.unwrap(), ("exited".to_string(), echo));
}
