//! libprocess over real TCP: a plain socket plays the remote peer in both directions; two instances link to each other; connection rules (temporary vs persistent, failure, reconnect) hold.

mod common;

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use common::{find, instance, message_bytes, read_message, read_response, within, RawPeer};
use libprocess::{Context, Libprocess, Process, RemoteConnection, UPID};
use parking_lot::Mutex;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::mpsc;

/// Forwards every message and exited event it sees to the test.
struct Probe {
    events: mpsc::UnboundedSender<(String, UPID, Bytes)>,
    link: Vec<(UPID, RemoteConnection)>,
}

impl Process for Probe {
    fn initialize(&mut self, ctx: &mut Context<Self>) {
        for (to, mode) in &self.link {
            ctx.link_with(to, *mode);
        }
        for name in ["ping", "pong", "data"] {
            ctx.install(name, move |this: &mut Self, ctx, from, body| {
                let _ = this.events.send((name.to_string(), from.clone(), body.clone()));
                if name == "ping" {
                    ctx.send(from, "pong", body);
                }
            });
        }
        ctx.install("link", |this: &mut Self, ctx, _, body| {
            let to = UPID::parse_lenient(&String::from_utf8_lossy(&body));
            ctx.link(&to);
            let _ = this.events.send(("linked".into(), to, Bytes::new()));
        });
        ctx.install("relink", |this: &mut Self, ctx, _, body| {
            let to = UPID::parse_lenient(&String::from_utf8_lossy(&body));
            ctx.link_with(&to, RemoteConnection::Reconnect);
            let _ = this.events.send(("relinked".into(), to, Bytes::new()));
        });
        ctx.install("send", |_: &mut Self, ctx, _, body| {
            let text = String::from_utf8_lossy(&body).into_owned();
            let (to, payload) = text.split_once(' ').unwrap_or((&text, ""));
            ctx.send(&UPID::parse_lenient(to), "data", payload.as_bytes().to_vec());
        });
    }

    fn exited(&mut self, _ctx: &mut Context<Self>, pid: UPID) {
        let _ = self.events.send(("exited".into(), pid, Bytes::new()));
    }
}

fn probe(
    lp: &Libprocess,
    id: &str,
    link: Vec<(UPID, RemoteConnection)>,
) -> mpsc::UnboundedReceiver<(String, UPID, Bytes)> {
    let (tx, rx) = mpsc::unbounded_channel();
    lp.spawn(id, Probe { events: tx, link }).unwrap();
    rx
}

async fn next(rx: &mut mpsc::UnboundedReceiver<(String, UPID, Bytes)>) -> (String, UPID, Bytes) {
    within(rx.recv()).await.expect("an event")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_raw_peer_message_is_delivered_with_its_sender_and_answered_202() {
    let lp = instance().await;
    let mut events = probe(&lp, "probe", vec![]);
    let peer = RawPeer::bind().await;
    let from = peer.upid("peer");

    let mut stream = TcpStream::connect(lp.address()).await.unwrap();
    // Both header forms, and a Content-Length body, on one connection.
    let mut bytes = message_bytes("probe", "data", &from.to_string(), b"both", true, true);
    bytes.extend(message_bytes("probe", "data", &from.to_string(), b"legacy", true, false));
    bytes.extend(message_bytes("probe", "data", &from.to_string(), b"", false, true));
    bytes.extend_from_slice(
        format!("POST /probe/data HTTP/1.1\r\nLibprocess-From: {from}\r\nContent-Length: 6\r\n\r\nlength").as_bytes(),
    );
    stream.write_all(&bytes).await.unwrap();

    let mut buf = Vec::new();
    for _ in 0..4 {
        let response = within(read_response(&mut stream, &mut buf)).await.unwrap();
        assert_eq!(response.status, 202);
        assert_eq!(response.header("Content-Length"), Some("0"));
        assert!(response.body.is_empty());
    }
    for expected in [&b"both"[..], b"legacy", b"", b"length"] {
        let (name, sender, body) = next(&mut events).await;
        assert_eq!((name.as_str(), &sender, &body[..]), ("data", &from, expected));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_for_an_unknown_process_gets_404() {
    let lp = instance().await;
    let mut stream = TcpStream::connect(lp.address()).await.unwrap();
    stream.write_all(&message_bytes("nobody", "x", "p@127.0.0.1:1", b"", true, true)).await.unwrap();
    let mut buf = Vec::new();
    let response = within(read_response(&mut stream, &mut buf)).await.unwrap();
    assert_eq!((response.status, response.text()), (404, "404 Not Found.".to_string()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replies_go_to_the_senders_advertised_address_not_the_inbound_socket() {
    let lp = instance().await;
    let _events = probe(&lp, "probe", vec![]);
    let peer = RawPeer::bind().await;
    let from = peer.upid("peer");

    let mut inbound = TcpStream::connect(lp.address()).await.unwrap();
    inbound.write_all(&message_bytes("probe", "ping", &from.to_string(), b"abc", true, true)).await.unwrap();

    // The pong arrives on a connection the instance opened to the peer's listener.
    let mut outbound = peer.accept().await;
    let mut buf = Vec::new();
    let (head, body, raw) = within(read_message(&mut outbound, &mut buf)).await.unwrap();
    let me = format!("probe@{}", lp.address());
    assert_eq!(
        head,
        format!(
            "POST /peer/pong HTTP/1.1\r\nUser-Agent: libprocess/{me}\r\nLibprocess-From: {me}\r\n\
             Connection: Keep-Alive\r\nHost: {}\r\nTransfer-Encoding: chunked\r\n\r\n",
            peer.address
        )
    );
    assert_eq!(body, b"abc");
    assert!(raw.ends_with(b"3\r\nabc\r\n0\r\n\r\n"));

    // The inbound connection carries only the 202.
    let mut answer = Vec::new();
    let response = within(read_response(&mut inbound, &mut answer)).await.unwrap();
    assert_eq!(response.status, 202);
    let mut extra = [0u8; 64];
    let more = tokio::time::timeout(Duration::from_millis(200), inbound.read(&mut extra)).await;
    assert!(more.is_err(), "nothing else is written on the inbound socket");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unlinked_send_uses_a_temporary_connection_closed_once_drained() {
    let lp = instance().await;
    let _events = probe(&lp, "probe", vec![]);
    let peer = RawPeer::bind().await;
    lp.post(&UPID::new("probe", lp.address()), "send", format!("{} hello", peer.upid("sink")));

    let mut conn = peer.accept().await;
    let mut buf = Vec::new();
    let (head, body, _) = within(read_message(&mut conn, &mut buf)).await.unwrap();
    assert!(head.starts_with("POST /sink/data HTTP/1.1\r\n"));
    assert_eq!(body, b"hello");
    // A pre-1.4 peer never answers; the sender closes anyway once its queue is empty.
    let mut rest = Vec::new();
    assert_eq!(within(conn.read_to_end(&mut rest)).await.unwrap(), 0);
    for _ in 0..100 {
        if lp.outbound_connections() == (0, 0) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(lp.outbound_connections(), (0, 0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_connect_drops_the_queue_and_the_next_send_reconnects() {
    let lp = instance().await;
    let _events = probe(&lp, "probe", vec![]);
    // Reserve a port, then free it so nothing listens there.
    let port = {
        let peer = RawPeer::bind().await;
        peer.address.port()
    };
    let target = format!("sink@127.0.0.1:{port}");
    lp.post(&UPID::new("probe", lp.address()), "send", format!("{target} lost"));
    // Once the probe has handled "send", the temporary connection exists; wait for its
    // connect to fail.
    lp.clock().pause();
    within(lp.settle()).await;
    lp.clock().resume();
    for _ in 0..200 {
        if lp.outbound_connections() == (0, 0) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(lp.outbound_connections(), (0, 0), "the failed connection is gone");

    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await.unwrap();
    lp.post(&UPID::new("probe", lp.address()), "send", format!("{target} found"));
    let (mut conn, _) = within(listener.accept()).await.unwrap();
    let mut buf = Vec::new();
    let (_, body, _) = within(read_message(&mut conn, &mut buf)).await.unwrap();
    assert_eq!(body, b"found", "the queued message was dropped, not retried");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn links_share_one_persistent_connection_per_address_and_its_loss_exits_every_linked_upid() {
    let lp = instance().await;
    let peer = RawPeer::bind().await;
    let (x, y) = (peer.upid("x"), peer.upid("y"));
    let mut a = probe(&lp, "a", vec![(x.clone(), RemoteConnection::Reuse), (y.clone(), RemoteConnection::Reuse)]);
    let mut b = probe(&lp, "b", vec![(x.clone(), RemoteConnection::Reuse)]);

    // One connection for the address, made by the link, with nothing sent on it.
    let mut conn = peer.accept().await;
    let mut first = [0u8; 16];
    assert!(tokio::time::timeout(Duration::from_millis(200), conn.read(&mut first)).await.is_err());
    assert!(tokio::time::timeout(Duration::from_millis(200), peer.listener.accept()).await.is_err());
    assert_eq!(lp.outbound_connections(), (1, 0));

    // Messages from either process to either UPID use it (two senders: no order between them).
    lp.post(&UPID::new("a", lp.address()), "send", format!("{x} one"));
    lp.post(&UPID::new("b", lp.address()), "send", format!("{y} two"));
    let mut buf = Vec::new();
    let (_, body1, _) = within(read_message(&mut conn, &mut buf)).await.unwrap();
    let (_, body2, _) = within(read_message(&mut conn, &mut buf)).await.unwrap();
    let mut bodies = vec![body1, body2];
    bodies.sort();
    assert_eq!(bodies, vec![b"one".to_vec(), b"two".to_vec()]);

    // The peer "dies": every linker hears about every UPID it linked at that address.
    drop(conn);
    let mut a_exits = [next(&mut a).await, next(&mut a).await];
    a_exits.sort_by(|l, r| l.1.cmp(&r.1));
    assert_eq!(
        a_exits.iter().map(|e| (e.0.as_str(), e.1.clone())).collect::<Vec<_>>(),
        vec![("exited", x.clone()), ("exited", y.clone())]
    );
    let b_exit = next(&mut b).await;
    assert_eq!((b_exit.0.as_str(), b_exit.1), ("exited", x.clone()));
    assert_eq!(lp.outbound_connections(), (0, 0));

    // Relinking makes a new persistent connection.
    lp.post(&UPID::new("a", lp.address()), "link", x.to_string());
    assert_eq!(next(&mut a).await.0, "linked");
    let _conn = peer.accept().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn linking_to_an_address_nobody_listens_on_gives_exited() {
    let lp = instance().await;
    let port = RawPeer::bind().await.address.port();
    let ghost: UPID = format!("ghost@127.0.0.1:{port}").parse().unwrap();
    let mut events = probe(&lp, "a", vec![(ghost.clone(), RemoteConnection::Reuse)]);
    let (name, pid, _) = next(&mut events).await;
    assert_eq!((name.as_str(), pid), ("exited", ghost));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reconnect_replaces_the_connection_without_exited() {
    let lp = instance().await;
    let peer = RawPeer::bind().await;
    let x = peer.upid("x");
    let mut a = probe(&lp, "a", vec![(x.clone(), RemoteConnection::Reuse)]);
    let old = peer.accept().await;

    lp.post(&UPID::new("a", lp.address()), "relink", x.to_string());
    assert_eq!(next(&mut a).await.0, "relinked");
    let mut new = peer.accept().await;
    // The old connection is shut down by us...
    let mut old = old;
    let mut rest = Vec::new();
    assert_eq!(within(old.read_to_end(&mut rest)).await.unwrap(), 0);
    // ...and no exited event came of it; the link lives on the new connection.
    lp.post(&UPID::new("a", lp.address()), "send", format!("{x} after"));
    let mut buf = Vec::new();
    let (_, body, _) = within(read_message(&mut new, &mut buf)).await.unwrap();
    assert_eq!(body, b"after");
    assert!(tokio::time::timeout(Duration::from_millis(100), a.recv()).await.is_err());

    drop(new);
    assert_eq!(next(&mut a).await, ("exited".to_string(), x, Bytes::new()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_exchange_messages_and_a_dead_peer_exits_its_linkers() {
    let server = instance().await;
    let client = instance().await;
    let mut server_events = probe(&server, "server", vec![]);
    let server_pid = UPID::new("server", server.address());
    let mut client_events = probe(&client, "client", vec![(server_pid.clone(), RemoteConnection::Reuse)]);

    // ping from client to server over TCP; the server's probe answers with pong.
    client.post(&UPID::new("client", client.address()), "send", format!("{server_pid} hi"));
    let (name, from, body) = next(&mut server_events).await;
    assert_eq!((name.as_str(), from.id.as_ref(), &body[..]), ("data", "client", &b"hi"[..]));

    let client_pid = UPID::new("client", client.address());
    server.send(libprocess::Message::new("ping", client_pid.clone(), server_pid.clone(), &b"round"[..]));
    let (name, from, body) = next(&mut client_events).await;
    assert_eq!((name.as_str(), from, &body[..]), ("pong", server_pid.clone(), &b"round"[..]));

    // The server's instance dies; the client's link fires.
    server.shutdown().await;
    let (name, pid, _) = next(&mut client_events).await;
    assert_eq!((name.as_str(), pid), ("exited", server_pid));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_pipelined_messages_in_one_write_all_arrive_in_order() {
    let lp = instance().await;
    let mut events = probe(&lp, "probe", vec![]);
    let mut bytes = Vec::new();
    for i in 0..500 {
        bytes.extend(message_bytes("probe", "data", "p@127.0.0.1:1", i.to_string().as_bytes(), true, true));
    }
    let mut stream = TcpStream::connect(lp.address()).await.unwrap();
    stream.write_all(&bytes).await.unwrap();
    let mut buf = Vec::new();
    for _ in 0..500 {
        assert_eq!(within(read_response(&mut stream, &mut buf)).await.unwrap().status, 202);
    }
    for i in 0..500 {
        let (_, _, body) = next(&mut events).await;
        assert_eq!(&body[..], i.to_string().as_bytes());
    }
    assert!(find(&buf, b"HTTP").is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_inbound_connections_stay_open() {
    let lp = instance().await;
    let _events = probe(&lp, "probe", vec![]);
    let mut stream = TcpStream::connect(lp.address()).await.unwrap();
    stream.write_all(&message_bytes("probe", "data", "p@127.0.0.1:1", b"x", true, true)).await.unwrap();
    let mut buf = Vec::new();
    assert_eq!(within(read_response(&mut stream, &mut buf)).await.unwrap().status, 202);
    let mut byte = [0u8; 1];
    assert!(
        tokio::time::timeout(Duration::from_millis(1500), stream.read(&mut byte)).await.is_err(),
        "still open, nothing sent"
    );
    stream.write_all(&message_bytes("probe", "data", "p@127.0.0.1:1", b"y", true, true)).await.unwrap();
    assert_eq!(within(read_response(&mut stream, &mut buf)).await.unwrap().status, 202);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn peer_ip_match_is_enforced_when_configured() {
    let config = libprocess::Config { require_peer_address_ip_match: true, ..Default::default() };
    let lp = common::instance_with(config).await;
    let seen = Arc::new(Mutex::new(0));
    let _events = probe(&lp, "probe", vec![]);
    let _ = seen;
    let mut stream = TcpStream::connect(lp.address()).await.unwrap();
    stream.write_all(&message_bytes("probe", "data", "p@10.9.9.9:1", b"x", true, true)).await.unwrap();
    stream.write_all(&message_bytes("probe", "data", "p@127.0.0.1:1", b"y", true, true)).await.unwrap();
    let mut buf = Vec::new();
    let refused = within(read_response(&mut stream, &mut buf)).await.unwrap();
    assert_eq!(refused.status, 400);
    assert!(refused.text().starts_with("UPID IP address validation failed"));
    assert_eq!(within(read_response(&mut stream, &mut buf)).await.unwrap().status, 202);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn advertised_address_goes_in_upids_and_sends_to_it_stay_local() {
    // Nothing listens on the advertised address: it is what a NAT or port forward would
    // expose. Messages to it must still be delivered locally, without a socket.
    let advertised = std::net::SocketAddrV4::new(std::net::Ipv4Addr::new(127, 0, 0, 77), 6123);
    let config = libprocess::Config {
        advertise_ip: Some(*advertised.ip()),
        advertise_port: Some(advertised.port()),
        ..Default::default()
    };
    let lp = common::instance_with(config).await;
    assert_eq!(lp.address(), advertised);
    assert_ne!(lp.bound_address(), advertised);
    let mut events = probe(&lp, "probe", vec![]);
    assert_eq!(UPID::new("probe", lp.address()).to_string(), "probe@127.0.0.77:6123");

    let to = UPID::new("probe", advertised);
    lp.send(libprocess::Message::new("data", UPID::new("me", advertised), to, &b"local"[..]));
    let (_, from, body) = next(&mut events).await;
    assert_eq!((from.to_string(), &body[..]), ("me@127.0.0.77:6123".to_string(), &b"local"[..]));
    assert_eq!(lp.outbound_connections(), (0, 0), "no socket was used");

    // The listener is on the bound address.
    let mut stream = TcpStream::connect(lp.bound_address()).await.unwrap();
    stream.write_all(&message_bytes("probe", "data", "p@127.0.0.1:1", b"remote", true, true)).await.unwrap();
    let mut buf = Vec::new();
    assert_eq!(within(read_response(&mut stream, &mut buf)).await.unwrap().status, 202);
    assert_eq!(&next(&mut events).await.2[..], b"remote");
}
