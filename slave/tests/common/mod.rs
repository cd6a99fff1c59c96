//! Helpers shared by the agent's integration tests: a fake peer (master, scheduler or executor) that records every message of the kinds it is told, a containerizer that runs nothing, bounded waits, and the parts of an agent started in the test's instance.
#![allow(dead_code)]

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use libprocess::{Bytes, Config, Context, Future, Libprocess, Process, Promise, ProtobufMessage, PID, UPID};
use mesos::detector::{create_master_info, StandaloneMasterDetector};
use mesos::proto::{ContainerId, Resource, ResourceStatistics, SlaveInfo};
use mesos::resources::Resources;
use slave::containerizer::{ContainerConfig, ContainerTermination, Containerizer, ContainerizerError, LaunchResult};
use slave::slave::{Options, Slave};
use slave::status_update_manager::TaskStatusUpdateManager;

// ----- bounded waits -----

/// How long a test waits for something that should happen promptly.
pub const WAIT: Duration = Duration::from_secs(10);

/// Awaits `future` for at most [`WAIT`].
pub async fn within<F: std::future::Future>(future: F) -> F::Output {
    tokio::time::timeout(WAIT, future).await.expect("in time")
}

/// Polls `check` on the real clock until it holds, for at most 30 seconds.
pub async fn eventually(what: &str, mut check: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while !check() {
        assert!(tokio::time::Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Logs to the test's output, filtered by `RUST_LOG`.
pub fn init_logging() {
    let _ = tracing_subscriber::fmt()
        .with_test_writer()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .try_init();
}

// ----- a peer that records every message it hears -----

pub type Heard = Arc<Mutex<Vec<(UPID, String, Bytes)>>>;

/// Plays the master (or a scheduler, or an executor): keeps every message of the named kinds.
pub struct Peer {
    names: Vec<&'static str>,
    heard: Heard,
}

impl Process for Peer {
    fn initialize(&mut self, ctx: &mut Context<Self>) {
        for name in self.names.clone() {
            ctx.install(name, move |this: &mut Peer, _ctx, from: &UPID, body: Bytes| {
                this.heard.lock().unwrap().push((from.clone(), name.to_string(), body));
            });
        }
    }
}

pub struct Fake {
    pub pid: PID<Peer>,
    pub heard: Heard,
}

impl Fake {
    pub fn spawn(lp: &Libprocess, id: &str, names: Vec<&'static str>) -> Fake {
        let heard: Heard = Arc::default();
        let pid = lp.spawn(id, Peer { names, heard: heard.clone() }).expect("spawns");
        Fake { pid, heard }
    }

    pub fn upid(&self) -> &UPID {
        self.pid.upid()
    }

    /// Every `M` heard so far, with its sender.
    pub fn all<M: ProtobufMessage>(&self) -> Vec<(UPID, M)> {
        let name = name::<M>();
        self.heard
            .lock()
            .unwrap()
            .iter()
            .filter(|(_, n, _)| n == name)
            .map(|(from, _, body)| (from.clone(), M::decode(body.clone()).expect("decodes")))
            .collect()
    }

    pub fn messages<M: ProtobufMessage>(&self) -> Vec<M> {
        self.all::<M>().into_iter().map(|(_, m)| m).collect()
    }
}

/// The message name of `M`.
pub fn name<M: ProtobufMessage>() -> &'static str {
    libprocess::protobuf::type_name::<M>()
}

// ----- a containerizer that runs nothing -----

/// A launched container: its id, its config and the environment it was given.
pub type Launch = (ContainerId, ContainerConfig, BTreeMap<String, String>);

#[derive(Default)]
pub struct Containers {
    launched: Vec<Launch>,
    waiting: HashMap<String, Vec<Promise<Option<ContainerTermination>>>>,
    ended: HashMap<String, ContainerTermination>,
    destroyed: Vec<ContainerId>,
    killed: Vec<(ContainerId, i32)>,
}

/// Records launches; a container ends when the test says so, or when destroyed.
#[derive(Clone, Default)]
pub struct FakeContainerizer {
    containers: Arc<Mutex<Containers>>,
}

impl FakeContainerizer {
    pub fn launched(&self) -> Vec<Launch> {
        self.containers.lock().unwrap().launched.clone()
    }

    pub fn destroyed(&self) -> Vec<ContainerId> {
        self.containers.lock().unwrap().destroyed.clone()
    }

    /// Ends `container` as if its executor exited with `status`.
    pub fn end(&self, container: &ContainerId, termination: ContainerTermination) {
        let waiting = {
            let mut containers = self.containers.lock().unwrap();
            containers.ended.insert(container.value.clone(), termination.clone());
            containers.waiting.remove(&container.value).unwrap_or_default()
        };
        for promise in waiting {
            promise.set(Some(termination.clone()));
        }
    }
}

impl Containerizer for FakeContainerizer {
    fn launch(
        &self,
        container_id: ContainerId,
        config: ContainerConfig,
        environment: BTreeMap<String, String>,
        _pid_checkpoint_path: Option<std::path::PathBuf>,
    ) -> Future<Result<LaunchResult, ContainerizerError>> {
        self.containers.lock().unwrap().launched.push((container_id, config, environment));
        Future::ready(Ok(LaunchResult::Success))
    }

    fn wait(&self, container_id: ContainerId) -> Future<Option<ContainerTermination>> {
        let mut containers = self.containers.lock().unwrap();
        if let Some(ended) = containers.ended.get(&container_id.value) {
            return Future::ready(Some(ended.clone()));
        }
        if !containers.launched.iter().any(|(id, _, _)| id == &container_id) {
            return Future::ready(None);
        }
        let promise = Promise::new();
        let future = promise.future();
        containers.waiting.entry(container_id.value.clone()).or_default().push(promise);
        future
    }

    fn destroy(&self, container_id: ContainerId) -> Future<Option<ContainerTermination>> {
        self.containers.lock().unwrap().destroyed.push(container_id.clone());
        // Killed by a signal, as a destroyed container is.
        let termination = ContainerTermination { status: Some(9), ..ContainerTermination::default() };
        self.end(&container_id, termination.clone());
        Future::ready(Some(termination))
    }

    fn kill(&self, container_id: ContainerId, signal: i32) -> Future<bool> {
        self.containers.lock().unwrap().killed.push((container_id, signal));
        Future::ready(true)
    }

    fn usage(&self, _container_id: ContainerId) -> Future<Result<ResourceStatistics, ContainerizerError>> {
        Future::ready(Ok(ResourceStatistics::default()))
    }

    fn update(&self, _container_id: ContainerId, _resources: Vec<Resource>) -> Future<Result<(), ContainerizerError>> {
        Future::ready(Ok(()))
    }

    fn containers(&self) -> Future<Vec<ContainerId>> {
        Future::ready(self.containers.lock().unwrap().launched.iter().map(|(id, _, _)| id.clone()).collect())
    }
}

// ----- the agent -----

/// An instance on an ephemeral port of 127.0.0.1.
pub async fn loopback_instance() -> Libprocess {
    let config = Config { ip: Some(std::net::Ipv4Addr::LOCALHOST), ..Config::default() };
    Libprocess::initialize(config).await.expect("libprocess starts")
}

/// The agent `agent.example` on `lp`'s port with `cpus:2;mem:1024`.
pub fn agent_info(lp: &Libprocess, checkpoint: Option<bool>) -> SlaveInfo {
    SlaveInfo {
        hostname: "agent.example".into(),
        port: Some(i32::from(lp.address().port())),
        resources: Resources::parse("cpus:2;mem:1024", "*").unwrap().to_vec(),
        checkpoint,
        ..SlaveInfo::default()
    }
}

/// An agent of `info` whose detector names `master`, its status update manager in
/// `options.work_dir`; not spawned yet.
pub fn agent(
    lp: &Libprocess,
    master: &UPID,
    info: SlaveInfo,
    options: Options,
    containerizer: Arc<dyn Containerizer>,
) -> Slave {
    let detector = Arc::new(StandaloneMasterDetector::new(Some(create_master_info(master))));
    let manager = TaskStatusUpdateManager::create(lp, &options.work_dir).unwrap();
    Slave::new(info, options, detector, containerizer, manager)
}
