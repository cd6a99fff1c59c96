//! Messages and the events a process consumes; mirrors `3rdparty/libprocess/include/process/message.hpp` and `event.hpp`.

use std::any::Any;
use std::borrow::Cow;
use std::fmt;

use bytes::Bytes;

use crate::future::Promise;
use crate::http::{Request, Response};
use crate::pid::UPID;

/// A named message with an opaque body, the unit libprocess sends between processes.
#[derive(Clone, PartialEq, Eq)]
pub struct Message {
    /// For protobuf messages, the full protobuf type name (`mesos.internal.PingSlaveMessage`).
    pub name: Cow<'static, str>,
    /// The sender's advertised UPID, or the empty UPID for an anonymous `post`.
    pub from: UPID,
    pub to: UPID,
    pub body: Bytes,
}

impl Message {
    pub fn new(name: impl Into<Cow<'static, str>>, from: UPID, to: UPID, body: impl Into<Bytes>) -> Message {
        Message { name: name.into(), from, to, body: body.into() }
    }
}

impl fmt::Debug for Message {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Message('{}' from {} to {}, {} bytes)", self.name, self.from, self.to, self.body.len())
    }
}

/// A closure run inside a process; the argument is the process's runner, downcast by the
/// code that created the closure (see `process::Runner`).
pub(crate) type DispatchFn = Box<dyn FnOnce(&mut dyn Any) + Send>;

/// An HTTP request routed to a process, with the promise its response completes.
pub(crate) struct HttpEvent {
    pub request: Request,
    /// The endpoint name: the path without `/<id>` and without leading/trailing `/`.
    pub endpoint: String,
    pub response: Promise<Response>,
}

/// Everything a process mailbox can hold (`LP/include/process/event.hpp`).
pub(crate) enum Event {
    /// Inline: the mailbox node that carries the event is the message's only allocation.
    Message(Message),
    Dispatch(DispatchFn),
    /// Boxed: requests are large and rare next to messages, and every queued event pays
    /// for the largest variant.
    Http(Box<HttpEvent>),
    /// Boxed, like messages, to keep every queue slot small (24 bytes).
    Exited(Box<UPID>),
    Terminate,
    /// Asks the process to describe its own queue (for `/__processes__`): only a mailbox's
    /// consumer may walk it.
    Inspect(Promise<Vec<serde_json::Value>>),
}

impl Event {
    /// The JSON shape `/__processes__` shows for a queued event
    /// (`LP/include/process/event.hpp` § `Event::operator JSON::Object`).
    pub(crate) fn to_json(&self) -> serde_json::Value {
        use serde_json::json;
        match self {
            Event::Message(m) => json!({
                "type": "MESSAGE",
                "name": m.name,
                "from": m.from.to_string(),
                "to": m.to.to_string(),
                "body": String::from_utf8_lossy(&m.body),
            }),
            Event::Http(h) => json!({
                "type": "HTTP",
                "method": h.request.method,
                "url": h.request.url.path,
            }),
            Event::Dispatch(_) => json!({"type": "DISPATCH"}),
            Event::Exited(_) => json!({"type": "EXITED"}),
            Event::Terminate => json!({"type": "TERMINATE"}),
            Event::Inspect(_) => json!({"type": "DISPATCH"}),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_fit_in_two_cache_lines() {
        // An event travels between cores inside its mailbox node; every line is traffic.
        assert!(std::mem::size_of::<Event>() <= 112, "Event is {} bytes", std::mem::size_of::<Event>());
    }
}
