//! Master detection: who the leading master is, and a future that completes when that changes; the standalone detector of a `--master=ip:port` flag. Mirrors `src/master/detector/detector.hpp`, `standalone.{hpp,cpp}` and `createMasterInfo` in `src/common/protobuf_utils.cpp`.
//!
//! [`MasterDetector`] is the seam for ZooKeeper: a `zk://` detector will implement the same
//! trait. Agents and scheduler drivers ask `detect(previous)`: the future completes at once
//! if the leader differs from `previous`, else when it next changes.

use std::net::SocketAddrV4;

use libprocess::{Future, Promise, UPID};
use parking_lot::Mutex;

use crate::proto::{Address, MasterInfo};
use crate::state::Uuid;

/// Tells who leads (C++ `MasterDetector`).
pub trait MasterDetector: Send + Sync + 'static {
    /// The leader, once it is not `previous` (`None`: no leader).
    fn detect(&self, previous: Option<&MasterInfo>) -> Future<Option<MasterInfo>>;
}

/// A detector told the leader by its owner (C++ `StandaloneMasterDetector`): made from
/// `--master=ip:port`, and appointed anew by tests.
#[derive(Default)]
pub struct StandaloneMasterDetector {
    inner: Mutex<Standalone>,
}

#[derive(Default)]
struct Standalone {
    leader: Option<MasterInfo>,
    waiting: Vec<Promise<Option<MasterInfo>>>,
}

impl StandaloneMasterDetector {
    /// A detector whose leader is `leader` (C++ `StandaloneMasterDetector(const UPID&)`).
    pub fn new(leader: Option<MasterInfo>) -> StandaloneMasterDetector {
        StandaloneMasterDetector { inner: Mutex::new(Standalone { leader, waiting: Vec::new() }) }
    }

    /// Makes `leader` the leader and wakes every waiting `detect` (C++ `appoint`).
    pub fn appoint(&self, leader: Option<MasterInfo>) {
        let waiting = {
            let mut inner = self.inner.lock();
            inner.leader = leader.clone();
            std::mem::take(&mut inner.waiting)
        };
        for promise in waiting {
            promise.set(leader.clone());
        }
    }
}

impl MasterDetector for StandaloneMasterDetector {
    fn detect(&self, previous: Option<&MasterInfo>) -> Future<Option<MasterInfo>> {
        let mut inner = self.inner.lock();
        if inner.leader.as_ref() != previous {
            return Future::ready(inner.leader.clone());
        }
        let promise = Promise::new();
        let future = promise.future();
        inner.waiting.push(promise);
        future
    }
}

/// The `MasterInfo` of the master at `pid` as a detector that only knows its address makes
/// it (C++ `protobuf::createMasterInfo`): a fresh id, the deprecated `ip` in network byte
/// order, `address`, `pid`. No hostname: C++ sets one only when a reverse lookup succeeds.
pub fn create_master_info(pid: &UPID) -> MasterInfo {
    let address: SocketAddrV4 = pid.address();
    MasterInfo {
        id: format!("{pid}-{}", Uuid::random()),
        ip: u32::from_ne_bytes(address.ip().octets()),
        port: u32::from(address.port()),
        pid: Some(pid.to_string()),
        address: Some(Address { ip: Some(address.ip().to_string()), port: i32::from(address.port()), hostname: None }),
        ..MasterInfo::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(port: u16) -> MasterInfo {
        create_master_info(&UPID::new("master", SocketAddrV4::new(std::net::Ipv4Addr::LOCALHOST, port)))
    }

    #[test]
    fn detect_answers_at_once_when_the_leader_differs_and_later_when_it_changes() {
        let first = info(5050);
        let detector = StandaloneMasterDetector::new(Some(first.clone()));
        let now = detector.detect(None);
        assert!(now.is_ready());
        assert_eq!(now.try_take().and_then(Result::ok), Some(Some(first.clone())));

        let later = detector.detect(Some(&first));
        assert!(!later.is_ready());
        let second = info(5051);
        detector.appoint(Some(second.clone()));
        assert_eq!(later.try_take().and_then(Result::ok), Some(Some(second)));
    }

    #[test]
    fn master_info_carries_the_pid_and_address() {
        let master = info(5050);
        assert_eq!(master.pid.as_deref(), Some("master@127.0.0.1:5050"));
        assert!(master.id.starts_with("master@127.0.0.1:5050-"));
        assert_eq!(master.port, 5050);
        assert_eq!(master.ip, u32::from_ne_bytes([127, 0, 0, 1]));
        let address = master.address.unwrap();
        assert_eq!((address.ip.as_deref(), address.port), (Some("127.0.0.1"), 5050));
    }
}
