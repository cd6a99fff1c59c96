//! Outbound connections and the link table; mirrors `SocketManager` in `3rdparty/libprocess/src/process.cpp` (`send`, `link`, `next`, `close`, `exited`).
//!
//! Per remote `ip:port` there is at most one *persistent* connection (made by `link`) and one
//! *temporary* one (made by a `send` when no connection exists). Every local process shares
//! them. A temporary connection is closed as soon as its queue drains. When a persistent
//! connection breaks, every process linked to any UPID at that address gets `exited`.
//!
//! Messages are encoded straight into the connection's pending buffer by the sender; the
//! connection's writer task swaps the buffer out and writes it in one call, so a burst of
//! messages costs one `write` (fact sheet §3, "Per-socket FIFO queue").

use std::net::SocketAddrV4;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use bytes::BytesMut;
use parking_lot::Mutex;
use rustc_hash::{FxHashMap, FxHashSet};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::Notify;

use crate::encoder::encode_message;
use crate::message::{Event, Message};
use crate::pid::UPID;
use crate::process::RemoteConnection;
use crate::Libprocess;

/// Size of the buffer outbound connections read (and discard) responses into.
const READ_BUFFER_BYTES: usize = 80 * 1024;

struct Queue {
    buf: BytesMut,
    closed: bool,
}

/// One outbound TCP connection and the bytes waiting to go out on it.
struct Conn {
    id: u64,
    address: SocketAddrV4,
    persistent: bool,
    queue: Mutex<Queue>,
    wake: Notify,
}

impl Conn {
    fn new(id: u64, address: SocketAddrV4, persistent: bool) -> Arc<Conn> {
        Arc::new(Conn {
            id,
            address,
            persistent,
            queue: Mutex::new(Queue { buf: BytesMut::new(), closed: false }),
            wake: Notify::new(),
        })
    }
}

#[derive(Default)]
struct State {
    persists: FxHashMap<SocketAddrV4, Arc<Conn>>,
    temps: FxHashMap<SocketAddrV4, Arc<Conn>>,
    /// linkee -> the local processes linked to it.
    linkers: FxHashMap<UPID, FxHashSet<UPID>>,
    /// local linker -> the processes it linked to.
    linkees: FxHashMap<UPID, FxHashSet<UPID>>,
    /// remote address -> the linkees at that address.
    remotes: FxHashMap<SocketAddrV4, FxHashSet<UPID>>,
}

/// The outbound side of an instance's networking.
#[derive(Default)]
pub(crate) struct SocketManager {
    state: Mutex<State>,
    next_id: AtomicU64,
}

impl SocketManager {
    /// Queues `message` on the connection to its target's address, opening a temporary
    /// connection if there is none.
    pub(crate) fn send(&self, lp: &Libprocess, message: Message) {
        let address = message.to.address();
        loop {
            let conn = {
                let mut state = self.state.lock();
                if let Some(conn) = state.persists.get(&address).or_else(|| state.temps.get(&address)) {
                    conn.clone()
                } else {
                    let conn = Conn::new(self.next_id.fetch_add(1, Ordering::Relaxed), address, false);
                    state.temps.insert(address, conn.clone());
                    lp.spawn_task(run_connection(lp.clone(), conn.clone()));
                    conn
                }
            };
            let mut queue = conn.queue.lock();
            if queue.closed {
                // Disposed or failed between the look-up and now; the next round finds or
                // makes a live connection, as a C++ send after a close would.
                continue;
            }
            let was_empty = queue.buf.is_empty();
            encode_message(&message, &mut queue.buf);
            drop(queue);
            if was_empty {
                conn.wake.notify_one();
            }
            return;
        }
    }

    /// Records that `linker` (local) is linked to `to` and makes sure a persistent
    /// connection to a remote `to` exists (C++ `SocketManager::link`).
    pub(crate) fn link(&self, lp: &Libprocess, linker: &UPID, to: &UPID, mode: RemoteConnection) {
        let local = to.address() == lp.address();
        let mut state = self.state.lock();
        if local {
            // Checked under the link lock: a linkee that terminates concurrently either is
            // already gone from the table (immediate event) or finds this link in cleanup.
            if !lp.is_running(&to.id) {
                drop(state);
                lp.deliver(linker, Event::Exited(Box::new(to.clone())));
                return;
            }
        } else {
            let address = to.address();
            match (state.persists.get(&address).cloned(), mode) {
                (None, _) => {
                    let conn = Conn::new(self.next_id.fetch_add(1, Ordering::Relaxed), address, true);
                    state.persists.insert(address, conn.clone());
                    lp.spawn_task(run_connection(lp.clone(), conn));
                }
                (Some(old), RemoteConnection::Reconnect) => {
                    let conn = Conn::new(self.next_id.fetch_add(1, Ordering::Relaxed), address, true);
                    {
                        let mut old_queue = old.queue.lock();
                        old_queue.closed = true;
                        conn.queue.lock().buf = std::mem::take(&mut old_queue.buf);
                    }
                    old.wake.notify_one();
                    state.persists.insert(address, conn.clone());
                    lp.spawn_task(run_connection(lp.clone(), conn));
                }
                (Some(_), RemoteConnection::Reuse) => {}
            }
            state.remotes.entry(address).or_default().insert(to.clone());
        }
        state.linkers.entry(to.clone()).or_default().insert(linker.clone());
        state.linkees.entry(linker.clone()).or_default().insert(to.clone());
    }

    /// A local process terminated: drop its own links and tell its linkers
    /// (C++ `SocketManager::exited(ProcessBase*)`).
    pub(crate) fn exited_process(&self, lp: &Libprocess, pid: &UPID) {
        let linkers = {
            let mut state = self.state.lock();
            let state = &mut *state;
            if let Some(linkees) = state.linkees.remove(pid) {
                for linkee in linkees {
                    if let Some(linkers) = state.linkers.get_mut(&linkee) {
                        linkers.remove(pid);
                        if linkers.is_empty() {
                            state.linkers.remove(&linkee);
                            let address = linkee.address();
                            if let Some(remotes) = state.remotes.get_mut(&address) {
                                remotes.remove(&linkee);
                                if remotes.is_empty() {
                                    state.remotes.remove(&address);
                                }
                            }
                        }
                    }
                }
            }
            let linkers = state.linkers.remove(pid).unwrap_or_default();
            for linker in &linkers {
                if let Some(linkees) = state.linkees.get_mut(linker) {
                    linkees.remove(pid);
                    if linkees.is_empty() {
                        state.linkees.remove(linker);
                    }
                }
            }
            linkers
        };
        for linker in linkers {
            lp.deliver(&linker, Event::Exited(Box::new(pid.clone())));
        }
    }

    /// Tears down `conn`: drops what it still had queued and, if it was the persistent
    /// connection of its address, sends `exited` for every linked UPID there
    /// (C++ `SocketManager::close` + `exited(const Address&)`).
    fn close(&self, lp: &Libprocess, conn: &Arc<Conn>) {
        let mut events = Vec::new();
        {
            let mut state = self.state.lock();
            {
                let mut queue = conn.queue.lock();
                if !queue.buf.is_empty() {
                    tracing::warn!("Dropping {} queued bytes for {}", queue.buf.len(), conn.address);
                }
                queue.closed = true;
                queue.buf = BytesMut::new();
            }
            let address = conn.address;
            if state.persists.get(&address).is_some_and(|c| c.id == conn.id) {
                state.persists.remove(&address);
                let state = &mut *state;
                if let Some(linkees) = state.remotes.remove(&address) {
                    for linkee in linkees {
                        for linker in state.linkers.remove(&linkee).unwrap_or_default() {
                            if let Some(set) = state.linkees.get_mut(&linker) {
                                set.remove(&linkee);
                                if set.is_empty() {
                                    state.linkees.remove(&linker);
                                }
                            }
                            events.push((linker, linkee.clone()));
                        }
                    }
                }
            } else if state.temps.get(&address).is_some_and(|c| c.id == conn.id) {
                state.temps.remove(&address);
            }
        }
        for (linker, linkee) in events {
            lp.deliver(&linker, Event::Exited(Box::new(linkee)));
        }
    }

    /// Closes a temporary connection whose queue has drained; false if more arrived.
    fn dispose(&self, conn: &Arc<Conn>) -> bool {
        let mut state = self.state.lock();
        let mut queue = conn.queue.lock();
        if !queue.buf.is_empty() {
            return false;
        }
        queue.closed = true;
        drop(queue);
        if state.temps.get(&conn.address).is_some_and(|c| c.id == conn.id) {
            state.temps.remove(&conn.address);
        }
        true
    }

    /// Number of outbound connections, persistent and temporary (for tests and stats).
    pub(crate) fn connection_count(&self) -> (usize, usize) {
        let state = self.state.lock();
        (state.persists.len(), state.temps.len())
    }
}

enum Ending {
    /// The peer closed or the socket failed: a real close, with `exited` if persistent.
    Broken,
    /// A temporary connection drained, or a reconnect replaced this one.
    Retired,
}

/// Connects, then writes queued bytes until the connection is retired or breaks. Responses
/// are read and discarded: libprocess senders never look at them.
async fn run_connection(lp: Libprocess, conn: Arc<Conn>) {
    let stream = match TcpStream::connect(conn.address).await {
        Ok(stream) => stream,
        Err(error) => {
            tracing::warn!("Failed to connect to {}: {}", conn.address, error);
            lp.sockets().close(&lp, &conn);
            return;
        }
    };
    let (mut reader, mut writer) = stream.into_split();

    let discard = async {
        let mut buf = vec![0u8; READ_BUFFER_BYTES];
        loop {
            match reader.read(&mut buf).await {
                Ok(0) | Err(_) => return Ending::Broken,
                Ok(_) => {}
            }
        }
    };

    let write = async {
        let mut out = BytesMut::new();
        loop {
            let woken = conn.wake.notified();
            {
                let mut queue = conn.queue.lock();
                if queue.closed {
                    return Ending::Retired;
                }
                if !queue.buf.is_empty() {
                    std::mem::swap(&mut queue.buf, &mut out);
                }
            }
            if out.is_empty() {
                if !conn.persistent && lp.sockets().dispose(&conn) {
                    return Ending::Retired;
                }
                woken.await;
                continue;
            }
            if let Err(error) = writer.write_all(&out).await {
                tracing::warn!("Failed to write to {}: {}", conn.address, error);
                return Ending::Broken;
            }
            out.clear();
        }
    };

    let ending = tokio::select! {
        ending = discard => ending,
        ending = write => ending,
        _ = lp.stopped() => Ending::Retired,
    };
    match ending {
        Ending::Broken => lp.sockets().close(&lp, &conn),
        Ending::Retired => {
            let _ = writer.shutdown().await;
            // A retired temporary/replaced connection is already out of the tables; a
            // persistent one retired by shutdown needs no events.
        }
    }
}
