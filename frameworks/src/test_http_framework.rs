//! `test-http-framework`: the test framework written against the v1 scheduler HTTP API (the `mesos::v1::scheduler` library, protobuf content) with an executor on the v1 executor HTTP API: `--num_tasks` tasks (default 5, C++'s fixed count) of 1 CPU and 128 MB, each acknowledged explicitly, `TEARDOWN` once all finished; mirrors `src/examples/test_http_framework.cpp` and `src/examples/test_http_executor.cpp`.
//!
//! The executor is this very program started as `test-http-executor` (see
//! [`crate::local::run_helper_program`]); `MESOS_HELPER_DIR` selects a separate binary
//! instead, as in C++.

use std::collections::{BTreeMap, VecDeque};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc};
use std::time::Duration;

use mesos::api::ContentType;
use mesos::proto::executor::{
    call as executor_call, event as executor_event, Call as ExecutorCall, Event as ExecutorEvent,
};
use mesos::proto::framework_info::capability::Type as CapabilityType;
use mesos::proto::scheduler::{call, event, Call, Event};
use mesos::proto::{
    offer, ExecutorId, ExecutorInfo, FrameworkId, FrameworkInfo, Offer, TaskInfo, TaskState, TaskStatus,
};
use mesos::v1::executor::{Callbacks as ExecutorCallbacks, Handle as ExecutorHandle};
use mesos::v1::scheduler::{Callbacks, Mesos, MesosHandle};

use crate::program::{self, Program};
use crate::test_framework::launch_from;

/// The executor's program name.
pub const EXECUTOR_BINARY: &str = "test-http-executor";
pub const EXECUTOR_NAME: &str = "Test Executor (Rust)";
pub const FRAMEWORK_NAME: &str = "Event Call Scheduler using libprocess (Rust)";
/// How often `SUBSCRIBE` is sent until `SUBSCRIBED` comes (C++ `doReliableRegistration`).
const SUBSCRIBE_RETRY: Duration = Duration::from_secs(1);
/// How long the closing `TEARDOWN` may take.
const TEARDOWN_WAIT: Duration = Duration::from_secs(5);

crate::example_flags!(
    /// The HTTP test framework's flags.
    TestHttpFrameworkFlags {
        pub num_tasks: i32,
    }
);

impl TestHttpFrameworkFlags {
    pub fn declare() -> mesos::flags::Flags<TestHttpFrameworkFlags> {
        let mut f = mesos::flags::Flags::new(TestHttpFrameworkFlags::default());
        crate::declare_example_flags!(&mut f);
        f.add(mesos::field!(num_tasks), "num_tasks", "How many tasks to run.")
            .default(crate::test_framework::DEFAULT_TASKS);
        f
    }
}

/// How the scheduler ended.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// Every task finished.
    Finished(FrameworkId),
    /// A task ended otherwise (C++ exits with `EXIT_FAILURE`).
    Failed(String),
    /// The master sent `ERROR` (C++ terminates the scheduler and exits with success).
    Error(String),
}

/// C++ `HTTPScheduler`.
pub struct HttpScheduler {
    framework: FrameworkInfo,
    role: String,
    executor: ExecutorInfo,
    /// Set once `SUBSCRIBED` arrived on the current connection; the retry loop watches it.
    subscribed: Arc<AtomicBool>,
    launched: i32,
    finished: i32,
    total: i32,
    done: mpsc::Sender<Outcome>,
}

impl HttpScheduler {
    pub fn new(
        framework: FrameworkInfo,
        executor: ExecutorInfo,
        total: i32,
        done: mpsc::Sender<Outcome>,
    ) -> HttpScheduler {
        let role = framework.roles.first().cloned().unwrap_or_else(|| "*".to_string());
        HttpScheduler {
            framework,
            role,
            executor,
            subscribed: Arc::new(AtomicBool::new(false)),
            launched: 0,
            finished: 0,
            total,
            done,
        }
    }

    fn call(&self, kind: call::Type) -> Call {
        Call { framework_id: self.framework.id.clone(), r#type: Some(kind as i32), ..Call::default() }
    }

    /// C++ `resourceOffers`: as many tasks as fit in each offer, the rest declined by the
    /// `ACCEPT` itself.
    fn resource_offers(&mut self, mesos: &MesosHandle, offers: &[Offer]) {
        for offer in offers {
            let tasks = launch_from(offer, &self.role, &self.executor, &mut self.launched, self.total);
            let mut accept = self.call(call::Type::Accept);
            accept.accept = Some(call::Accept {
                offer_ids: vec![offer.id.clone()],
                operations: vec![offer::Operation {
                    r#type: Some(offer::operation::Type::Launch as i32),
                    launch: Some(offer::operation::Launch { task_infos: tasks }),
                    ..offer::Operation::default()
                }],
                filters: None,
            });
            mesos.send(accept);
        }
    }

    /// C++ `statusUpdate`: acknowledges, counts finished tasks, fails on a lost, killed or
    /// failed one.
    fn status_update(&mut self, mesos: &MesosHandle, status: &TaskStatus) {
        let state = status.state();
        match &status.message {
            Some(message) => {
                println!("Task {} is in state {} with message '{message}'", status.task_id.value, state.as_str_name())
            }
            None => println!("Task {} is in state {}", status.task_id.value, state.as_str_name()),
        }
        if let Some(uuid) = &status.uuid {
            let mut acknowledge = self.call(call::Type::Acknowledge);
            acknowledge.acknowledge = Some(call::Acknowledge {
                slave_id: status.slave_id.clone().unwrap_or_default(),
                task_id: status.task_id.clone(),
                uuid: uuid.clone(),
            });
            mesos.send(acknowledge);
        }
        if state == TaskState::TaskFinished {
            self.finished += 1;
        }
        if matches!(state, TaskState::TaskLost | TaskState::TaskKilled | TaskState::TaskFailed) {
            let _ = self.done.send(Outcome::Failed(format!(
                "Exiting because task {} is in unexpected state {} with reason {} from source {} with message '{}'",
                status.task_id.value,
                state.as_str_name(),
                status.reason().as_str_name(),
                status.source().as_str_name(),
                status.message.as_deref().unwrap_or("")
            )));
        }
        if self.finished == self.total {
            if let Some(id) = self.framework.id.clone() {
                let _ = self.done.send(Outcome::Finished(id));
            }
        }
    }
}

impl Callbacks for HttpScheduler {
    /// C++ `connected`, then `doReliableRegistration` every second until subscribed.
    fn connected(&mut self, mesos: &MesosHandle) {
        let subscribed = Arc::new(AtomicBool::new(false));
        self.subscribed = subscribed.clone();
        let mesos = mesos.clone();
        let framework = self.framework.clone();
        tokio::spawn(async move {
            while !subscribed.load(Ordering::SeqCst) {
                mesos.send(Call {
                    framework_id: framework.id.clone(),
                    r#type: Some(call::Type::Subscribe as i32),
                    subscribe: Some(call::Subscribe { framework_info: framework.clone(), ..Default::default() }),
                    ..Call::default()
                });
                tokio::time::sleep(SUBSCRIBE_RETRY).await;
            }
        });
    }

    fn disconnected(&mut self, _mesos: &MesosHandle) {
        // Ends the retry loop of the old connection; `connected` starts a new one.
        self.subscribed.store(true, Ordering::SeqCst);
    }

    fn received(&mut self, mesos: &MesosHandle, events: VecDeque<Event>) {
        for event in events {
            match event.r#type() {
                event::Type::Subscribed => {
                    println!("\nReceived a SUBSCRIBED event");
                    if let Some(subscribed) = &event.subscribed {
                        self.framework.id = Some(subscribed.framework_id.clone());
                        self.subscribed.store(true, Ordering::SeqCst);
                        println!("Subscribed with ID {}", subscribed.framework_id.value);
                    }
                }
                event::Type::Offers => {
                    println!("\nReceived an OFFERS event");
                    let offers = event.offers.map(|o| o.offers).unwrap_or_default();
                    self.resource_offers(mesos, &offers);
                }
                event::Type::InverseOffers => println!("\nReceived an INVERSE_OFFERS event"),
                event::Type::Rescind => println!("\nReceived a RESCIND event"),
                event::Type::RescindInverseOffer => println!("\nReceived a RESCIND_INVERSE_OFFER event"),
                event::Type::Update => {
                    println!("\nReceived an UPDATE event");
                    if let Some(update) = &event.update {
                        self.status_update(mesos, &update.status);
                    }
                }
                event::Type::UpdateOperationStatus => {}
                event::Type::Message => println!("\nReceived a MESSAGE event"),
                event::Type::Failure => {
                    println!("\nReceived a FAILURE event");
                    if let Some(failure) = &event.failure {
                        match (&failure.executor_id, &failure.slave_id) {
                            (Some(executor), agent) => println!(
                                "Executor '{}' terminated{}{}",
                                executor.value,
                                agent.as_ref().map(|a| format!(" on Agent '{}'", a.value)).unwrap_or_default(),
                                failure.status.map(|s| format!(", and exited with status {s}")).unwrap_or_default()
                            ),
                            (None, Some(agent)) => println!("Agent '{}' terminated", agent.value),
                            (None, None) => {}
                        }
                    }
                }
                event::Type::Error => {
                    let message = event.error.map(|e| e.message).unwrap_or_default();
                    println!("\nReceived an ERROR event: {message}");
                    let _ = self.done.send(Outcome::Error(message));
                }
                event::Type::Heartbeat => println!("\nReceived a HEARTBEAT event"),
                event::Type::Unknown => tracing::warn!("Received an UNKNOWN event and ignored"),
            }
        }
    }
}

/// The program (C++ `main` of `test_http_framework.cpp`): 0 once every task finished (or,
/// as in C++, after an `ERROR` event), 1 when a task ended otherwise or on bad flags.
pub fn main(argv: Vec<String>, environment: Vec<(String, String)>) -> i32 {
    let mut flags = TestHttpFrameworkFlags::declare();
    if let Err(code) = program::load_flags(&mut flags, &argv, crate::flags::ENVIRONMENT_PREFIX, &environment) {
        return code;
    }
    if flags.authenticate {
        eprintln!("Framework authentication is not supported yet");
        return 1;
    }
    let program = match Program::start_scheduler(&flags.master, flags.quiet, &flags.logging_level, &environment) {
        Ok(program) => program,
        Err(code) => return code,
    };
    let mut environment: BTreeMap<String, String> = environment.into_iter().collect();
    let executor = match crate::test_framework::helper_executor_info(&environment, EXECUTOR_BINARY, EXECUTOR_NAME) {
        Ok(executor) => executor,
        Err(error) => {
            eprintln!("{error}");
            return 1;
        }
    };
    let mut framework = program::framework_info(
        FRAMEWORK_NAME,
        &flags.principal,
        &flags.role,
        flags.checkpoint,
        &[CapabilityType::MultiRole, CapabilityType::ReservationRefinement],
    );
    mesos::sched::fill_missing_framework_info_fields(&mut framework);
    if flags.master == mesos::sched::LOCAL {
        environment.insert("MESOS_ROLES".into(), flags.role.clone());
        environment.insert("MESOS_DEFAULT_ROLE".into(), flags.role.clone());
    }
    let (done, outcome) = mpsc::channel();
    let scheduler = HttpScheduler::new(framework, executor, flags.num_tasks, done);
    let mesos = {
        let _runtime = program.runtime.enter();
        Mesos::new(&program.lp, &flags.master, ContentType::Protobuf, scheduler, &environment)
    };
    let mesos = match mesos {
        Ok(mesos) => mesos,
        Err(error) => {
            eprintln!("{error}");
            return 1;
        }
    };
    let code = match outcome.recv() {
        Ok(Outcome::Finished(id)) => {
            // C++ `finalize`: the framework tears itself down.
            let teardown =
                Call { framework_id: Some(id), r#type: Some(call::Type::Teardown as i32), ..Call::default() };
            let answered = mesos.call(teardown);
            let _ = program.runtime.block_on(async { tokio::time::timeout(TEARDOWN_WAIT, answered).await });
            0
        }
        Ok(Outcome::Failed(message)) => {
            eprintln!("{message}");
            1
        }
        Ok(Outcome::Error(_)) => 0,
        Err(_) => 1,
    };
    drop(mesos);
    program.shutdown();
    code
}

/// Unacknowledged updates by uuid, in the order they were sent.
type Updates = Arc<parking_lot::Mutex<Vec<(Vec<u8>, executor_call::Update)>>>;

/// C++ `TestExecutor` of `test_http_executor.cpp`: each task is reported running, then
/// finished; updates and tasks are kept until acknowledged and offered again at each
/// `SUBSCRIBE`.
pub struct HttpExecutor {
    framework_id: FrameworkId,
    executor_id: ExecutorId,
    /// Set once subscribed on the current connection; the retry loop watches it.
    subscribed: Arc<AtomicBool>,
    /// Unacknowledged updates by uuid, and tasks, in order.
    updates: Updates,
    tasks: Arc<parking_lot::Mutex<Vec<TaskInfo>>>,
    done: mpsc::Sender<()>,
}

impl HttpExecutor {
    fn call(&self, kind: executor_call::Type) -> ExecutorCall {
        ExecutorCall {
            framework_id: self.framework_id.clone(),
            executor_id: self.executor_id.clone(),
            r#type: Some(kind as i32),
            ..ExecutorCall::default()
        }
    }

    /// C++ `sendStatusUpdate`.
    fn send_status_update(&self, mesos: &ExecutorHandle, task: &TaskInfo, state: TaskState) {
        let uuid = mesos::state::Uuid::random().as_bytes().to_vec();
        let status = TaskStatus {
            task_id: task.task_id.clone(),
            executor_id: Some(self.executor_id.clone()),
            state: state as i32,
            source: Some(mesos::proto::task_status::Source::Executor as i32),
            uuid: Some(uuid.clone()),
            ..TaskStatus::default()
        };
        let update = executor_call::Update { status };
        self.updates.lock().push((uuid, update.clone()));
        let mut call = self.call(executor_call::Type::Update);
        call.update = Some(update);
        mesos.send(call);
    }
}

impl ExecutorCallbacks for HttpExecutor {
    /// C++ `connected`, then `doReliableRegistration` every second until subscribed.
    fn connected(&mut self, mesos: &ExecutorHandle) {
        let subscribed = Arc::new(AtomicBool::new(false));
        self.subscribed = subscribed.clone();
        let (mesos, updates, tasks, subscribe) =
            (mesos.clone(), self.updates.clone(), self.tasks.clone(), self.call(executor_call::Type::Subscribe));
        tokio::spawn(async move {
            while !subscribed.load(Ordering::SeqCst) {
                let mut call = subscribe.clone();
                call.subscribe = Some(executor_call::Subscribe {
                    unacknowledged_updates: updates.lock().iter().map(|(_, update)| update.clone()).collect(),
                    unacknowledged_tasks: tasks.lock().clone(),
                });
                mesos.send(call);
                tokio::time::sleep(SUBSCRIBE_RETRY).await;
            }
        });
    }

    fn disconnected(&mut self, _mesos: &ExecutorHandle) {
        self.subscribed.store(true, Ordering::SeqCst);
    }

    fn received(&mut self, mesos: &ExecutorHandle, events: VecDeque<ExecutorEvent>) {
        for event in events {
            match event.r#type() {
                executor_event::Type::Subscribed => {
                    println!("Received a SUBSCRIBED event");
                    self.subscribed.store(true, Ordering::SeqCst);
                }
                executor_event::Type::Launch => {
                    let Some(launch) = event.launch else { continue };
                    let task = launch.task;
                    self.tasks.lock().push(task.clone());
                    println!("Starting task {}", task.task_id.value);
                    self.send_status_update(mesos, &task, TaskState::TaskRunning);
                    println!("Finishing task {}", task.task_id.value);
                    self.send_status_update(mesos, &task, TaskState::TaskFinished);
                }
                executor_event::Type::LaunchGroup => println!("Received a LAUNCH_GROUP event"),
                executor_event::Type::Kill => println!("Received a KILL event"),
                executor_event::Type::Acknowledged => {
                    println!("Received an ACKNOWLEDGED event");
                    if let Some(acknowledged) = event.acknowledged {
                        self.updates.lock().retain(|(uuid, _)| *uuid != acknowledged.uuid);
                        self.tasks.lock().retain(|task| task.task_id != acknowledged.task_id);
                    }
                }
                executor_event::Type::Message => println!("Received a MESSAGE event"),
                executor_event::Type::Shutdown => {
                    // C++ waits for the library to kill its process group after the grace
                    // period; this executor has nothing to clean up and ends at once.
                    println!("Received a SHUTDOWN event");
                    let _ = self.done.send(());
                }
                executor_event::Type::Error => println!("Received an ERROR event"),
                executor_event::Type::Heartbeat => {}
                executor_event::Type::Unknown => tracing::warn!("Received an UNKNOWN event and ignored"),
            }
        }
    }
}

/// The `test-http-executor` program: 1 when its environment lacks the agent-given ids.
pub fn executor_main() -> i32 {
    let environment = program::environment();
    let variable = |name: &str| environment.iter().find(|(n, _)| n == name).map(|(_, value)| value.clone());
    let (Some(framework_id), Some(executor_id)) = (variable("MESOS_FRAMEWORK_ID"), variable("MESOS_EXECUTOR_ID"))
    else {
        eprintln!("Expecting 'MESOS_FRAMEWORK_ID' and 'MESOS_EXECUTOR_ID' to be set in the environment");
        return 1;
    };
    let level = variable("MESOS_LOGGING_LEVEL").unwrap_or_else(|| "INFO".to_string());
    let program = match Program::start(false, &level, &environment) {
        Ok(program) => program,
        Err(code) => return code,
    };
    let (done, shutdown) = mpsc::channel();
    let executor = HttpExecutor {
        framework_id: FrameworkId { value: framework_id },
        executor_id: ExecutorId { value: executor_id },
        subscribed: Arc::new(AtomicBool::new(false)),
        updates: Arc::default(),
        tasks: Arc::default(),
        done,
    };
    let mesos = {
        let _runtime = program.runtime.enter();
        mesos::v1::executor::Mesos::new(&program.lp, ContentType::Protobuf, executor, environment)
    };
    let mesos = match mesos {
        Ok(mesos) => mesos,
        Err(error) => {
            eprintln!("{error}");
            return 1;
        }
    };
    let _ = shutdown.recv();
    drop(mesos);
    program.shutdown();
    0
}
