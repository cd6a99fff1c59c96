//! Process addresses: `UPID` (untyped) and `PID<P>` (typed); mirrors `3rdparty/libprocess/include/process/pid.hpp` and `src/pid.cpp`.

use std::cmp::Ordering;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::marker::PhantomData;
use std::net::{Ipv4Addr, SocketAddrV4, ToSocketAddrs};
use std::str::FromStr;
use std::sync::{Arc, Weak};

use crate::manager::ProcessCell;

/// The address of a process: `id@ip:port` (fact sheet §1).
///
/// Equality, hashing and ordering use `(id, ip, port)`. C++ also keeps the hostname a UPID
/// was parsed from (`UPID::host`), used only for TLS hostname validation; we have no TLS
/// yet and leave it out, since every message carries two UPIDs and their size is cache
/// traffic.
#[derive(Clone)]
pub struct UPID {
    pub id: Arc<str>,
    pub ip: Ipv4Addr,
    pub port: u16,
}

impl UPID {
    /// A UPID for `id` at `address`.
    pub fn new(id: impl Into<Arc<str>>, address: SocketAddrV4) -> UPID {
        UPID { id: id.into(), ip: *address.ip(), port: address.port() }
    }

    /// The empty UPID `@0.0.0.0:0`.
    pub fn empty() -> UPID {
        UPID { id: Arc::from(""), ip: Ipv4Addr::UNSPECIFIED, port: 0 }
    }

    /// `ip:port` of this UPID.
    pub fn address(&self) -> SocketAddrV4 {
        SocketAddrV4::new(self.ip, self.port)
    }

    /// C++ `operator bool`: id non-empty, ip not `0.0.0.0` and port non-zero.
    pub fn is_valid(&self) -> bool {
        !self.id.is_empty() && !self.ip.is_unspecified() && self.port != 0
    }

    /// C++ `operator!`: id empty, ip `0.0.0.0` and port zero. This is *not* the negation of
    /// [`UPID::is_valid`]: `@1.2.3.4:5050` is neither valid nor null, and libprocess still
    /// sends to it (`LP/src/process.cpp` § `ProcessBase::send`).
    pub fn is_null(&self) -> bool {
        self.id.is_empty() && self.ip.is_unspecified() && self.port == 0
    }

    /// Parses `id@host:port` as `LP/src/pid.cpp` § `operator>>` does; any failure yields the
    /// empty UPID (use [`str::parse`] to see the failure instead).
    pub fn parse_lenient(s: &str) -> UPID {
        s.parse().unwrap_or_else(|_| UPID::empty())
    }
}

impl Default for UPID {
    fn default() -> UPID {
        UPID::empty()
    }
}

impl fmt::Display for UPID {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}@{}:{}", self.id, self.ip, self.port)
    }
}

impl fmt::Debug for UPID {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl PartialEq for UPID {
    fn eq(&self, other: &UPID) -> bool {
        self.port == other.port && self.ip == other.ip && self.id == other.id
    }
}

impl Eq for UPID {}

impl Hash for UPID {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.id.hash(state);
        self.ip.hash(state);
        self.port.hash(state);
    }
}

impl PartialOrd for UPID {
    fn partial_cmp(&self, other: &UPID) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// Address first, then id, like the C++ `operator<`.
impl Ord for UPID {
    fn cmp(&self, other: &UPID) -> Ordering {
        (self.ip, self.port).cmp(&(other.ip, other.port)).then_with(|| self.id.cmp(&other.id))
    }
}

/// Why a UPID could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseUpidError {
    #[error("missing '@' in UPID '{0}'")]
    MissingAt(String),
    #[error("missing ':' after the host in UPID '{0}'")]
    MissingColon(String),
    #[error("failed to resolve host '{0}' to an IPv4 address")]
    Resolve(String),
    #[error("missing port digits in UPID '{0}'")]
    BadPort(String),
}

impl FromStr for UPID {
    type Err = ParseUpidError;

    /// The C++ stream extraction reads one whitespace-delimited token; the id is everything
    /// before the first `@`, the host runs to the first `:` after it, and the port is read
    /// like `%hu` (leading digits, trailing junk ignored, wrapping modulo 2^16).
    fn from_str(s: &str) -> Result<UPID, ParseUpidError> {
        let token = s.split_whitespace().next().unwrap_or("");
        let (id, rest) = token.split_once('@').ok_or_else(|| ParseUpidError::MissingAt(token.to_string()))?;
        let (host, port_text) = rest.split_once(':').ok_or_else(|| ParseUpidError::MissingColon(token.to_string()))?;

        let digits: &str = {
            let end = port_text.find(|c: char| !c.is_ascii_digit()).unwrap_or(port_text.len());
            &port_text[..end]
        };
        if digits.is_empty() {
            return Err(ParseUpidError::BadPort(token.to_string()));
        }
        // `%hu` stores the value converted to unsigned short, so large numbers wrap.
        let port = digits.bytes().fold(0u16, |acc, d| acc.wrapping_mul(10).wrapping_add((d - b'0') as u16));

        let ip = match host.parse::<Ipv4Addr>() {
            Ok(ip) => ip,
            Err(_) => resolve_ipv4(host)?,
        };

        Ok(UPID { id: Arc::from(id), ip, port })
    }
}

/// Resolves `host` to its first IPv4 address, as libprocess's `net::getIP(host, AF_INET)`.
pub(crate) fn resolve_ipv4(host: &str) -> Result<Ipv4Addr, ParseUpidError> {
    if host.is_empty() {
        return Err(ParseUpidError::Resolve(host.to_string()));
    }
    let addresses = (host, 0u16).to_socket_addrs().map_err(|_| ParseUpidError::Resolve(host.to_string()))?;
    for address in addresses {
        if let std::net::SocketAddr::V4(v4) = address {
            return Ok(*v4.ip());
        }
    }
    Err(ParseUpidError::Resolve(host.to_string()))
}

/// A typed process address: a [`UPID`] that also knows the process type, so that
/// [`PID::dispatch`](crate::PID::dispatch) can run methods of `P` inside the process.
///
/// It holds a weak reference to the local process, so dispatching needs no table look-up;
/// once the process has terminated, dispatches are discarded.
pub struct PID<P> {
    pub(crate) upid: UPID,
    pub(crate) cell: Weak<ProcessCell>,
    _process: PhantomData<fn() -> P>,
}

impl<P> PID<P> {
    pub(crate) fn from_cell(upid: UPID, cell: Weak<ProcessCell>) -> PID<P> {
        PID { upid, cell, _process: PhantomData }
    }

    /// The untyped address.
    pub fn upid(&self) -> &UPID {
        &self.upid
    }

    pub fn id(&self) -> &str {
        &self.upid.id
    }
}

impl<P> Clone for PID<P> {
    fn clone(&self) -> PID<P> {
        PID { upid: self.upid.clone(), cell: self.cell.clone(), _process: PhantomData }
    }
}

impl<P> fmt::Display for PID<P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.upid, f)
    }
}

impl<P> fmt::Debug for PID<P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.upid, f)
    }
}

impl<P> PartialEq for PID<P> {
    fn eq(&self, other: &PID<P>) -> bool {
        self.upid == other.upid
    }
}

impl<P> Eq for PID<P> {}

impl<P> From<PID<P>> for UPID {
    fn from(pid: PID<P>) -> UPID {
        pid.upid
    }
}

impl<P> From<&PID<P>> for UPID {
    fn from(pid: &PID<P>) -> UPID {
        pid.upid.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prints_id_ip_port() {
        let pid = UPID::new("master", SocketAddrV4::new(Ipv4Addr::new(10, 0, 0, 1), 5050));
        assert_eq!(pid.to_string(), "master@10.0.0.1:5050");
        assert_eq!(UPID::empty().to_string(), "@0.0.0.0:0");
    }

    #[test]
    fn parses_first_at_then_first_colon() {
        let pid: UPID = "slave(1)@10.0.0.5:5051".parse().unwrap();
        assert_eq!(&*pid.id, "slave(1)");
        assert_eq!(pid.ip, Ipv4Addr::new(10, 0, 0, 5));
        assert_eq!(pid.port, 5051);

        // The id ends at the first '@'; the host may not contain '@' then.
        assert!("a@b@1.2.3.4:1".parse::<UPID>().is_err());
        // Leading blanks skipped, anything after the first blank ignored.
        let pid: UPID = "  x@127.0.0.1:80 trailing".parse().unwrap();
        assert_eq!(pid.to_string(), "x@127.0.0.1:80");
        // Trailing junk after the port digits is tolerated.
        assert_eq!("x@127.0.0.1:80abc".parse::<UPID>().unwrap().port, 80);
        // An empty id is allowed.
        assert_eq!("@127.0.0.1:1".parse::<UPID>().unwrap().to_string(), "@127.0.0.1:1");
    }

    #[test]
    fn parse_failures_give_empty() {
        for bad in [
            "",
            "master",
            "master@10.0.0.1",
            "master@10.0.0.1:",
            "m@:5050",
            "m@[::1]:5050",
            "m@no-such-host.invalid:5050",
        ] {
            assert!(bad.parse::<UPID>().is_err(), "{bad} should not parse");
            assert!(UPID::parse_lenient(bad).is_null());
        }
    }

    #[test]
    fn hostnames_resolve() {
        let pid: UPID = "m@localhost:5050".parse().unwrap();
        assert_eq!(pid.ip, Ipv4Addr::LOCALHOST);
        assert_eq!(pid, "m@127.0.0.1:5050".parse::<UPID>().unwrap());
    }

    #[test]
    fn valid_and_null_are_not_opposites() {
        assert!(UPID::empty().is_null());
        assert!(!UPID::empty().is_valid());
        let partial: UPID = "@1.2.3.4:5050".parse().unwrap();
        assert!(!partial.is_null());
        assert!(!partial.is_valid());
        let full: UPID = "m@1.2.3.4:5050".parse().unwrap();
        assert!(full.is_valid() && !full.is_null());
    }

    #[test]
    fn ordering_is_address_then_id() {
        let a: UPID = "z@1.1.1.1:1".parse().unwrap();
        let b: UPID = "a@1.1.1.1:2".parse().unwrap();
        assert!(a < b);
    }
}
