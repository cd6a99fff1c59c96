//! The v1 executor HTTP API side of the command executor (`MESOS_HTTP_COMMAND_EXECUTOR=1`) and of the default executor: subscribes (every second until subscribed, with the tasks and the updates not yet acknowledged), turns events into the executor's [`TaskLogic`], sends its updates as `UPDATE` calls kept until `ACKNOWLEDGED`, and ends when the logic says so or once every update is acknowledged after [`HttpExecutor::finish`]; mirrors the v1 parts of `CommandExecutor` in `src/launcher/executor.cpp` (`connected`, `disconnected`, `received`, `doReliableRegistration`, `forward`, `selfTerminate`) and of `DefaultExecutor` in `src/launcher/default_executor.cpp` (`_shutdown`).

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::time::Duration;

use mesos::proto::executor::{call, event, Call, Event};
use mesos::proto::{ExecutorId, FrameworkId, KillPolicy, TaskGroupInfo, TaskId, TaskInfo, TaskStatus};
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

/// What an executor on the v1 API does with the agent's events; [`HttpExecutor`] does the
/// rest (subscription, updates kept until acknowledged, the exit). The command executor
/// and the default executor each implement it.
pub trait TaskLogic: Send + Sync + 'static {
    /// `SUBSCRIBED`.
    fn subscribed(&self, subscribed: &event::Subscribed);
    /// `LAUNCH`.
    fn launch(&self, task: &TaskInfo);
    /// `LAUNCH_GROUP`.
    fn launch_group(&self, task_group: &TaskGroupInfo);
    /// `KILL`, with the kill's own policy.
    fn kill(&self, task_id: &TaskId, policy: Option<&KillPolicy>);
    /// `SHUTDOWN`.
    fn shutdown(&self);
    /// The connection to the agent was lost.
    fn disconnected(&self) {}
    /// The tasks `SUBSCRIBE` names as not acknowledged.
    fn unacknowledged_tasks(&self) -> Vec<TaskInfo>;
    /// An update was acknowledged, `left` others are not yet: whether the executor is done
    /// and exits with status 0.
    fn acknowledged(&self, status: &TaskStatus, left: usize) -> bool;
}

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
    /// Bumped at each connection, so the retry loop of an older one stops.
    connection: u64,
    /// All tasks are over: exit once no update is left unacknowledged.
    finishing: bool,
}

/// The v1 side of an executor: a [`Transport`] for its updates and the library's
/// [`Callbacks`]. The program ends when it sends an exit code on `exit`.
pub struct HttpExecutor {
    logic: OnceLock<Arc<dyn TaskLogic>>,
    framework_id: FrameworkId,
    executor_id: ExecutorId,
    runtime: tokio::runtime::Handle,
    mesos: OnceLock<Handle>,
    books: Mutex<Books>,
    exit: UnboundedSender<i32>,
}

impl HttpExecutor {
    /// The v1 side of the command executor `executor`, for the executor `executor_id` of
    /// `framework_id`; the executor's updates go through it from now on.
    pub fn new(
        executor: CommandExecutor,
        framework_id: FrameworkId,
        executor_id: ExecutorId,
        runtime: tokio::runtime::Handle,
        exit: UnboundedSender<i32>,
    ) -> Arc<HttpExecutor> {
        let this = HttpExecutor::with_logic(framework_id, executor_id, runtime, exit);
        executor.set_transport(this.clone());
        this.set_logic(Arc::new(CommandTasks { executor, task: Mutex::new((None, false)) }));
        this
    }

    /// The v1 side of an executor whose logic is given later with [`HttpExecutor::set_logic`].
    pub fn with_logic(
        framework_id: FrameworkId,
        executor_id: ExecutorId,
        runtime: tokio::runtime::Handle,
        exit: UnboundedSender<i32>,
    ) -> Arc<HttpExecutor> {
        Arc::new(HttpExecutor {
            logic: OnceLock::new(),
            framework_id,
            executor_id,
            runtime,
            mesos: OnceLock::new(),
            books: Mutex::new(Books {
                state: State::Disconnected,
                unacknowledged: Vec::new(),
                connection: 0,
                finishing: false,
            }),
            exit,
        })
    }

    /// What the executor does with events (set once).
    pub fn set_logic(&self, logic: Arc<dyn TaskLogic>) {
        let _ = self.logic.set(logic);
    }

    fn logic(&self) -> Option<Arc<dyn TaskLogic>> {
        self.logic.get().cloned()
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

    /// The `SUBSCRIBE` call: the updates not acknowledged, and the tasks the logic names.
    fn subscribe_call(&self) -> Call {
        let unacknowledged_tasks = self.logic().map(|logic| logic.unacknowledged_tasks()).unwrap_or_default();
        let books = self.books();
        let subscribe = call::Subscribe {
            unacknowledged_updates: books.unacknowledged.iter().map(|(_, update)| update.clone()).collect(),
            unacknowledged_tasks,
        };
        Call { subscribe: Some(subscribe), ..self.call(call::Type::Subscribe) }
    }

    /// Whether the executor is subscribed to the agent.
    pub fn is_subscribed(&self) -> bool {
        self.books().state == State::Subscribed
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

    /// C++ `received` of both executors.
    fn handle(&self, event: Event) {
        let kind = event.r#type();
        tracing::info!("Received {} event", kind.as_str_name());
        let Some(logic) = self.logic() else { return };
        match kind {
            event::Type::Subscribed => {
                let Some(subscribed) = event.subscribed else { return };
                tracing::info!("Subscribed executor on {}", subscribed.slave_info.hostname);
                self.books().state = State::Subscribed;
                logic.subscribed(&subscribed);
            }
            event::Type::Launch => {
                let Some(launch) = event.launch else { return };
                logic.launch(&launch.task);
            }
            event::Type::LaunchGroup => {
                let Some(launch_group) = event.launch_group else { return };
                logic.launch_group(&launch_group.task_group);
            }
            event::Type::Kill => {
                let Some(kill) = event.kill else { return };
                logic.kill(&kill.task_id, kill.kill_policy.as_ref());
            }
            event::Type::Acknowledged => {
                let Some(acknowledged) = event.acknowledged else { return };
                self.acknowledged(&acknowledged.uuid);
            }
            event::Type::Shutdown => logic.shutdown(),
            event::Type::Error => {
                tracing::error!("Error: {}", event.error.map(|e| e.message).unwrap_or_default())
            }
            event::Type::Message | event::Type::Heartbeat => {}
            event::Type::Unknown => tracing::warn!("Received an UNKNOWN event and ignored"),
        }
    }

    /// An `ACKNOWLEDGED`: the update is forgotten; the logic says whether that ends the
    /// executor, as does the last acknowledgement once all tasks are over.
    fn acknowledged(&self, uuid: &[u8]) {
        let mut books = self.books();
        let Some(position) = books.unacknowledged.iter().position(|(id, _)| id == uuid) else {
            let text = Uuid::from_bytes(uuid).map_or_else(|_| format!("{uuid:?}"), |u| u.to_string());
            tracing::warn!("Received acknowledgement {text} for unknown status update");
            return;
        };
        let (_, update) = books.unacknowledged.remove(position);
        let left = books.unacknowledged.len();
        let finishing = books.finishing;
        drop(books);
        let done = self.logic().is_some_and(|logic| logic.acknowledged(&update.status, left));
        if done || (finishing && left == 0) {
            tracing::info!("The last status update was acknowledged; exiting");
            let _ = self.exit.send(0);
        }
    }

    /// All tasks are over (C++ `DefaultExecutor::_shutdown`): exit with status 0 now if
    /// every update was acknowledged, else once they are, or after 60 s at the latest.
    pub fn finish(&self) {
        let mut books = self.books();
        if books.unacknowledged.is_empty() {
            drop(books);
            let _ = self.exit.send(0);
            return;
        }
        if books.finishing {
            return;
        }
        books.finishing = true;
        drop(books);
        tracing::info!("Terminating after {TERMINAL_ACK_TIMEOUT:?}");
        let exit = self.exit.clone();
        self.runtime.spawn(async move {
            tokio::time::sleep(TERMINAL_ACK_TIMEOUT).await;
            let _ = exit.send(0);
        });
    }
}

/// The command executor's [`TaskLogic`]: its one task, and whether any of its updates was
/// acknowledged (C++ `TaskData`).
struct CommandTasks {
    executor: CommandExecutor,
    task: Mutex<(Option<TaskInfo>, bool)>,
}

impl CommandTasks {
    fn task(&self) -> std::sync::MutexGuard<'_, (Option<TaskInfo>, bool)> {
        self.task.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl TaskLogic for CommandTasks {
    fn subscribed(&self, subscribed: &event::Subscribed) {
        self.executor.registered(&subscribed.executor_info, &subscribed.framework_info);
    }

    fn launch(&self, task: &TaskInfo) {
        self.task().0 = Some(task.clone());
        self.executor.launch(task);
    }

    fn launch_group(&self, _task_group: &TaskGroupInfo) {
        // Task groups go to the default executor, never to this one.
        tracing::error!("LAUNCH_GROUP event is not supported");
        self.executor.shutdown();
    }

    fn kill(&self, task_id: &TaskId, policy: Option<&KillPolicy>) {
        self.executor.kill_task(task_id, policy);
    }

    fn shutdown(&self) {
        self.executor.shutdown();
    }

    fn unacknowledged_tasks(&self) -> Vec<TaskInfo> {
        match &*self.task() {
            (Some(task), false) => vec![task.clone()],
            _ => Vec::new(),
        }
    }

    /// The acknowledgement of the terminal update ends the executor.
    fn acknowledged(&self, status: &TaskStatus, _left: usize) -> bool {
        self.task().1 = true;
        status.state.try_into().is_ok_and(is_terminal_state)
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
        if let Some(logic) = self.0.logic() {
            logic.disconnected();
        }
    }

    fn received(&mut self, mesos: &Handle, events: VecDeque<Event>) {
        let _ = self.0.mesos.set(mesos.clone());
        for event in events {
            self.0.handle(event);
        }
    }
}
