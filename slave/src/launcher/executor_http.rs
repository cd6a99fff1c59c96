//! The command executor on the v1 executor HTTP API (`MESOS_HTTP_COMMAND_EXECUTOR=1`): subscribes (every second until subscribed, with the task and the updates not yet acknowledged), turns events into the task logic of [`CommandExecutor`], sends its updates as `UPDATE` calls kept until `ACKNOWLEDGED`, and ends once the terminal update is acknowledged; mirrors the v1 parts of `CommandExecutor` in `src/launcher/executor.cpp` (`connected`, `disconnected`, `received`, `doReliableRegistration`, `forward`, `selfTerminate`).

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::time::Duration;

use mesos::proto::executor::{call, event, Call, Event};
use mesos::proto::{ExecutorId, FrameworkId, TaskInfo, TaskStatus};
use mesos::protobuf_utils::is_terminal_state;
use mesos::state::Uuid;
use mesos::v1::executor::{Callbacks, Handle};
use tokio::sync::mpsc::UnboundedSender;

use super::executor::{CommandExecutor, Transport};

/// How often `SUBSCRIBE` is sent until the agent answers (C++ `doReliableRegistration`).
pub const SUBSCRIBE_RETRY_INTERVAL: Duration = Duration::from_secs(1);

/// How long the executor waits for the acknowledgement of its terminal update before it
/// gives up and exits with status 1 (C++ `selfTerminate`'s fail-safe).
pub const TERMINAL_ACK_TIMEOUT: Duration = Duration::from_secs(60);

/// C++ `CommandExecutor::State`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    Disconnected,
    Connected,
    Subscribed,
}

struct Books {
    state: State,
    /// Updates not acknowledged yet, oldest first, by uuid (C++ `unacknowledgedUpdates`).
    unacknowledged: Vec<(Vec<u8>, call::Update)>,
    /// The task, once launched, and whether any of its updates was acknowledged.
    task: Option<TaskInfo>,
    task_acknowledged: bool,
    /// Bumped at each connection, so the retry loop of an older one stops.
    connection: u64,
}

/// The v1 side of the command executor: a [`Transport`] for its updates and the library's
/// [`Callbacks`]. The program ends when it sends an exit code on `exit`.
pub struct HttpExecutor {
    executor: CommandExecutor,
    framework_id: FrameworkId,
    executor_id: ExecutorId,
    runtime: tokio::runtime::Handle,
    mesos: OnceLock<Handle>,
    books: Mutex<Books>,
    exit: UnboundedSender<i32>,
}

impl HttpExecutor {
    /// The v1 side of `executor`, for the executor `executor_id` of `framework_id`; the
    /// executor's updates go through it from now on.
    pub fn new(
        executor: CommandExecutor,
        framework_id: FrameworkId,
        executor_id: ExecutorId,
        runtime: tokio::runtime::Handle,
        exit: UnboundedSender<i32>,
    ) -> Arc<HttpExecutor> {
        let this = Arc::new(HttpExecutor {
            executor: executor.clone(),
            framework_id,
            executor_id,
            runtime,
            mesos: OnceLock::new(),
            books: Mutex::new(Books {
                state: State::Disconnected,
                unacknowledged: Vec::new(),
                task: None,
                task_acknowledged: false,
                connection: 0,
            }),
            exit,
        });
        executor.set_transport(this.clone());
        this
    }

    fn books(&self) -> std::sync::MutexGuard<'_, Books> {
        self.books.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn call(&self, kind: call::Type) -> Call {
        Call {
            r#type: Some(kind as i32),
            framework_id: self.framework_id.clone(),
            executor_id: self.executor_id.clone(),
            ..Call::default()
        }
    }

    /// The `SUBSCRIBE` call: the updates not acknowledged, and the task unless one of its
    /// updates was.
    fn subscribe_call(&self) -> Call {
        let books = self.books();
        let mut subscribe = call::Subscribe {
            unacknowledged_updates: books.unacknowledged.iter().map(|(_, update)| update.clone()).collect(),
            ..call::Subscribe::default()
        };
        if let (Some(task), false) = (&books.task, books.task_acknowledged) {
            subscribe.unacknowledged_tasks.push(task.clone());
        }
        Call { subscribe: Some(subscribe), ..self.call(call::Type::Subscribe) }
    }

    /// C++ `doReliableRegistration`: `SUBSCRIBE` now and every second while connected and
    /// not subscribed.
    fn subscribe_reliably(self: &Arc<Self>, mesos: Handle) {
        let connection = self.books().connection;
        let this = self.clone();
        self.runtime.spawn(async move {
            loop {
                {
                    let books = this.books();
                    if books.connection != connection || books.state != State::Connected {
                        return;
                    }
                }
                mesos.send(this.subscribe_call());
                tokio::time::sleep(SUBSCRIBE_RETRY_INTERVAL).await;
            }
        });
    }

    /// C++ `CommandExecutor::received`.
    fn handle(&self, event: Event) {
        let kind = event.r#type();
        tracing::info!("Received {} event", kind.as_str_name());
        match kind {
            event::Type::Subscribed => {
                let Some(subscribed) = event.subscribed else { return };
                tracing::info!("Subscribed executor on {}", subscribed.slave_info.hostname);
                self.executor.registered(&subscribed.executor_info, &subscribed.framework_info);
                self.books().state = State::Subscribed;
            }
            event::Type::Launch => {
                let Some(launch) = event.launch else { return };
                self.books().task = Some(launch.task.clone());
                self.executor.launch(&launch.task);
            }
            event::Type::LaunchGroup => {
                // Task groups go to the default executor, never to this one.
                tracing::error!("LAUNCH_GROUP event is not supported");
                self.executor.shutdown();
            }
            event::Type::Kill => {
                let Some(kill) = event.kill else { return };
                self.executor.kill_task(&kill.task_id, kill.kill_policy.as_ref());
            }
            event::Type::Acknowledged => {
                let Some(acknowledged) = event.acknowledged else { return };
                self.acknowledged(&acknowledged.uuid);
            }
            event::Type::Shutdown => self.executor.shutdown(),
            event::Type::Error => {
                tracing::error!("Error: {}", event.error.map(|e| e.message).unwrap_or_default())
            }
            event::Type::Message | event::Type::Heartbeat => {}
            event::Type::Unknown => tracing::warn!("Received an UNKNOWN event and ignored"),
        }
    }

    /// An `ACKNOWLEDGED`: the update is forgotten; the acknowledgement of the terminal one
    /// ends the executor.
    fn acknowledged(&self, uuid: &[u8]) {
        let mut books = self.books();
        let Some(position) = books.unacknowledged.iter().position(|(id, _)| id == uuid) else {
            let text = Uuid::from_bytes(uuid).map_or_else(|_| format!("{uuid:?}"), |u| u.to_string());
            tracing::warn!("Received acknowledgement {text} for unknown status update");
            return;
        };
        let (_, update) = books.unacknowledged.remove(position);
        books.task_acknowledged = true;
        drop(books);
        if update.status.state.try_into().is_ok_and(is_terminal_state) {
            tracing::info!("The terminal status update was acknowledged; exiting");
            let _ = self.exit.send(0);
        }
    }
}

impl Transport for HttpExecutor {
    /// C++ `CommandExecutor::forward`: an `UPDATE` with a fresh uuid, kept until
    /// acknowledged.
    fn update(&self, mut status: TaskStatus) {
        let uuid = Uuid::random().as_bytes().to_vec();
        status.uuid = Some(uuid.clone());
        if status.timestamp.is_none() {
            let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH);
            status.timestamp = Some(now.map_or(0.0, |d| d.as_secs_f64()));
        }
        let update = call::Update { status };
        self.books().unacknowledged.push((uuid, update.clone()));
        let call = Call { update: Some(update), ..self.call(call::Type::Update) };
        match self.mesos.get() {
            Some(mesos) => mesos.send(call),
            None => tracing::warn!("Dropping an update: the library is not running"),
        }
    }

    fn terminal_update_sent(&self) {
        let exit = self.exit.clone();
        self.runtime.spawn(async move {
            tokio::time::sleep(TERMINAL_ACK_TIMEOUT).await;
            tracing::error!("Did not receive ACK for the terminal status update from the agent");
            let _ = exit.send(1);
        });
    }

    fn stop(&self) {
        let _ = self.exit.send(0);
    }
}

/// The library's callbacks, handed to [`mesos::v1::executor::Mesos::new`].
pub struct HttpCallbacks(pub Arc<HttpExecutor>);

impl Callbacks for HttpCallbacks {
    fn connected(&mut self, mesos: &Handle) {
        let _ = self.0.mesos.set(mesos.clone());
        {
            let mut books = self.0.books();
            books.state = State::Connected;
            books.connection += 1;
        }
        self.0.subscribe_reliably(mesos.clone());
    }

    fn disconnected(&mut self, _mesos: &Handle) {
        self.0.books().state = State::Disconnected;
    }

    fn received(&mut self, mesos: &Handle, events: VecDeque<Event>) {
        let _ = self.0.mesos.set(mesos.clone());
        for event in events {
            self.0.handle(event);
        }
    }
}
