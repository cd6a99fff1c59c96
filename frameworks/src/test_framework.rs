//! `test-framework`: runs `--num_tasks` tasks (default 5, as C++), each taking 1 CPU and 128 MB, with its own executor, stops once all finished and aborts on a task that is lost, killed or failed; mirrors `src/examples/test_framework.cpp` and `src/examples/test_executor.cpp`.
//!
//! The executor is this very program started as `test-executor` (see
//! [`crate::local::run_helper_program`]); C++ runs a separate `test-executor` binary,
//! which `MESOS_HELPER_DIR` still selects when set.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use mesos::exec::{Executor, ExecutorDriver, MesosExecutorDriver};
use mesos::proto::framework_info::capability::Type as CapabilityType;
use mesos::proto::resource::{reservation_info::Type as ReservationType, ReservationInfo};
use mesos::proto::{
    CommandInfo, ExecutorId, ExecutorInfo, FrameworkId, FrameworkInfo, MasterInfo, Offer, OfferId, SlaveId, SlaveInfo,
    TaskId, TaskInfo, TaskState, TaskStatus,
};
use mesos::resources::Resources;
use mesos::sched::{MesosSchedulerDriver, Scheduler, SchedulerDriver, Status};

use crate::program::{self, Program};

/// The executor's program name.
pub const EXECUTOR_BINARY: &str = "test-executor";
pub const EXECUTOR_NAME: &str = "Test Executor (Rust)";
pub const FRAMEWORK_NAME: &str = "Test Framework (Rust)";
pub const CPUS_PER_TASK: f64 = 1.0;
pub const MEM_PER_TASK: f64 = 128.0;
/// C++'s fixed number of tasks, the default of `--num_tasks`.
pub const DEFAULT_TASKS: i32 = 5;

crate::example_flags!(
    /// The test framework's flags.
    TestFrameworkFlags {
        pub num_tasks: i32,
    }
);

impl TestFrameworkFlags {
    pub fn declare() -> mesos::flags::Flags<TestFrameworkFlags> {
        let mut f = mesos::flags::Flags::new(TestFrameworkFlags::default());
        crate::declare_example_flags!(&mut f);
        f.add(mesos::field!(num_tasks), "num_tasks", "How many tasks to run.").default(DEFAULT_TASKS);
        f
    }
}

/// C++ `TestScheduler`.
pub struct TestScheduler {
    implicit_acknowledgements: bool,
    executor: ExecutorInfo,
    role: String,
    launched: i32,
    finished: i32,
    total: i32,
}

impl TestScheduler {
    pub fn new(implicit_acknowledgements: bool, executor: ExecutorInfo, role: &str, total: i32) -> TestScheduler {
        TestScheduler { implicit_acknowledgements, executor, role: role.to_string(), launched: 0, finished: 0, total }
    }
}

/// The resources of one task (1 CPU, 128 MB) allocated to `role` out of `remaining`:
/// unreserved, or statically reserved for the role when the role is not `*` (C++
/// `Resources::find` in `test_framework.cpp` and `test_http_framework.cpp`).
pub fn task_resources(role: &str, remaining: &Resources) -> Option<Resources> {
    let mut wanted = Resources::parse(&format!("cpus:{CPUS_PER_TASK};mem:{MEM_PER_TASK}"), "*").ok()?;
    wanted.allocate(role);
    if remaining.contains(&wanted) {
        return Some(wanted);
    }
    if role == "*" {
        return None;
    }
    let reservation = ReservationInfo {
        r#type: Some(ReservationType::Static as i32),
        role: Some(role.to_string()),
        ..ReservationInfo::default()
    };
    let reserved = wanted.push_reservation(&reservation).ok()?;
    remaining.contains(&reserved).then_some(reserved)
}

/// Tasks `Task <n>` with `executor` for as many of the `total` tasks not `launched` yet as
/// `offer` holds, printed as C++'s examples print them (`resourceOffers` of
/// `test_framework.cpp` and `test_http_framework.cpp`).
pub fn launch_from(
    offer: &Offer,
    role: &str,
    executor: &ExecutorInfo,
    launched: &mut i32,
    total: i32,
) -> Vec<TaskInfo> {
    let mut remaining = offer.resources.iter().cloned().collect::<Resources>();
    println!("Received offer {} with {remaining}", offer.id.value);
    let mut tasks = Vec::new();
    while *launched < total {
        let Some(resources) = task_resources(role, &remaining) else { break };
        let id = *launched;
        *launched += 1;
        println!("Launching task {id} using offer {}", offer.id.value);
        remaining -= &resources;
        tasks.push(TaskInfo {
            name: format!("Task {id}"),
            task_id: TaskId { value: id.to_string() },
            slave_id: offer.slave_id.clone(),
            executor: Some(executor.clone()),
            resources: resources.to_vec(),
            ..TaskInfo::default()
        });
    }
    tasks
}

impl Scheduler for TestScheduler {
    fn registered(&mut self, _: &dyn SchedulerDriver, _: &FrameworkId, _: &MasterInfo) {
        println!("Registered!");
    }

    fn reregistered(&mut self, _: &dyn SchedulerDriver, _: &MasterInfo) {}

    fn disconnected(&mut self, _: &dyn SchedulerDriver) {}

    fn resource_offers(&mut self, driver: &dyn SchedulerDriver, offers: &[Offer]) {
        for offer in offers {
            let tasks = launch_from(offer, &self.role, &self.executor, &mut self.launched, self.total);
            driver.launch_tasks(vec![offer.id.clone()], tasks, Default::default());
        }
    }

    fn offer_rescinded(&mut self, _: &dyn SchedulerDriver, _: &OfferId) {}

    fn status_update(&mut self, driver: &dyn SchedulerDriver, status: &TaskStatus) {
        let state = status.state();
        println!("Task {} is in state {}", status.task_id.value, state.as_str_name());
        if state == TaskState::TaskFinished {
            self.finished += 1;
        }
        if matches!(state, TaskState::TaskLost | TaskState::TaskKilled | TaskState::TaskFailed) {
            println!(
                "Aborting because task {} is in unexpected state {} with reason {} from source {} with message '{}'",
                status.task_id.value,
                state.as_str_name(),
                status.reason().as_str_name(),
                status.source().as_str_name(),
                status.message.as_deref().unwrap_or("")
            );
            driver.abort();
        }
        if !self.implicit_acknowledgements {
            driver.acknowledge_status_update(status.clone());
        }
        if self.finished == self.total {
            driver.stop(false);
        }
    }

    fn framework_message(&mut self, _: &dyn SchedulerDriver, _: &ExecutorId, _: &SlaveId, _: &[u8]) {}

    fn slave_lost(&mut self, _: &dyn SchedulerDriver, _: &SlaveId) {}

    fn executor_lost(&mut self, _: &dyn SchedulerDriver, _: &ExecutorId, _: &SlaveId, _: i32) {}

    fn error(&mut self, _: &dyn SchedulerDriver, message: &str) {
        println!("{message}");
    }
}

/// The executor every task runs in: `MESOS_HELPER_DIR/test-executor` when that variable is
/// set (as C++), this program under the name `test-executor` otherwise.
pub fn executor_info(environment: &BTreeMap<String, String>) -> Result<ExecutorInfo, String> {
    helper_executor_info(environment, EXECUTOR_BINARY, EXECUTOR_NAME)
}

/// An executor `default` running the helper program `binary`: `MESOS_HELPER_DIR/<binary>`
/// when that variable is set (as C++), this program under the name `binary` otherwise.
pub fn helper_executor_info(
    environment: &BTreeMap<String, String>,
    binary: &str,
    name: &str,
) -> Result<ExecutorInfo, String> {
    let command = match environment.get("MESOS_HELPER_DIR") {
        Some(dir) => CommandInfo {
            value: Some(PathBuf::from(dir).join(binary).to_string_lossy().into_owned()),
            ..CommandInfo::default()
        },
        None => {
            let program = std::env::current_exe().map_err(|error| format!("Failed to find this program: {error}"))?;
            CommandInfo {
                value: Some(program.to_string_lossy().into_owned()),
                shell: Some(false),
                arguments: vec![binary.to_string()],
                ..CommandInfo::default()
            }
        }
    };
    Ok(ExecutorInfo {
        executor_id: ExecutorId { value: "default".into() },
        command: Some(command),
        name: Some(name.to_string()),
        ..ExecutorInfo::default()
    })
}

/// The program (C++ `main` of `test_framework.cpp`): exit code 0 once every task finished,
/// 1 otherwise.
pub fn main(argv: Vec<String>, environment: Vec<(String, String)>) -> i32 {
    let mut flags = TestFrameworkFlags::declare();
    if let Err(code) = program::load_flags(&mut flags, &argv, crate::flags::ENVIRONMENT_PREFIX, &environment) {
        return code;
    }
    let program = match Program::start_scheduler(&flags.master, flags.quiet, &flags.logging_level, &environment) {
        Ok(program) => program,
        Err(code) => return code,
    };
    let mut environment: BTreeMap<String, String> = environment.into_iter().collect();
    let executor = match executor_info(&environment) {
        Ok(executor) => executor,
        Err(error) => {
            eprintln!("{error}");
            return 1;
        }
    };
    let framework = program::framework_info(
        FRAMEWORK_NAME,
        &flags.principal,
        &flags.role,
        flags.checkpoint,
        &[CapabilityType::MultiRole, CapabilityType::ReservationRefinement],
    );
    let implicit_acknowledgements = !environment.contains_key("MESOS_EXPLICIT_ACKNOWLEDGEMENTS");
    if !implicit_acknowledgements {
        println!("Enabling explicit acknowledgements for status updates");
    }
    if flags.master == mesos::sched::LOCAL {
        // As C++: the local master knows the role and the agents offer to it.
        environment.insert("MESOS_ROLES".into(), flags.role.clone());
        environment.insert("MESOS_DEFAULT_ROLE".into(), flags.role.clone());
    }
    if flags.authenticate {
        eprintln!("Framework authentication is not supported yet");
        return 1;
    }
    let scheduler = TestScheduler::new(implicit_acknowledgements, executor, &flags.role, flags.num_tasks);
    let driver = MesosSchedulerDriver::new(
        &program.lp,
        scheduler,
        framework,
        &flags.master,
        implicit_acknowledgements,
        environment,
    );
    let status = if driver.run() == Status::DriverStopped { 0 } else { 1 };
    driver.stop(false);
    drop(driver);
    program.shutdown();
    status
}

/// C++ `TestExecutor`: each task is reported running, then finished.
pub struct TestExecutor;

impl Executor for TestExecutor {
    fn registered(&mut self, _: &dyn ExecutorDriver, _: &ExecutorInfo, _: &FrameworkInfo, slave: &SlaveInfo) {
        println!("Registered executor on {}", slave.hostname);
    }

    fn reregistered(&mut self, _: &dyn ExecutorDriver, slave: &SlaveInfo) {
        println!("Re-registered executor on {}", slave.hostname);
    }

    fn disconnected(&mut self, _: &dyn ExecutorDriver) {}

    fn launch_task(&mut self, driver: &dyn ExecutorDriver, task: &TaskInfo) {
        println!("Starting task {}", task.task_id.value);
        let status = |state: TaskState| TaskStatus {
            task_id: task.task_id.clone(),
            state: state as i32,
            ..TaskStatus::default()
        };
        driver.send_status_update(status(TaskState::TaskRunning));
        println!("Finishing task {}", task.task_id.value);
        driver.send_status_update(status(TaskState::TaskFinished));
    }

    fn kill_task(&mut self, _: &dyn ExecutorDriver, _: &TaskId) {}

    fn framework_message(&mut self, _: &dyn ExecutorDriver, _: &[u8]) {}

    fn shutdown(&mut self, _: &dyn ExecutorDriver) {}

    fn error(&mut self, _: &dyn ExecutorDriver, _: &str) {}
}

/// The `test-executor` program: 0 when its driver stopped, 1 otherwise.
pub fn executor_main() -> i32 {
    let environment = program::environment();
    let level = environment
        .iter()
        .find(|(name, _)| name == "MESOS_LOGGING_LEVEL")
        .map_or("INFO".to_string(), |(_, value)| value.clone());
    let program = match Program::start(false, &level, &environment) {
        Ok(program) => program,
        Err(code) => return code,
    };
    let driver = Arc::new(MesosExecutorDriver::new(&program.lp, TestExecutor, environment));
    let status = mesos::exec::ExecutorDriver::run(&*driver);
    drop(driver);
    program.shutdown();
    if status == mesos::exec::Status::DriverStopped {
        0
    } else {
        1
    }
}
