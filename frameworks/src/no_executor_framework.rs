//! `no-executor-framework`: runs `--command` as command tasks (no executor of its own: the agent's command executor runs them), as many as offers allow or `--num_tasks`, and fails if any ends otherwise than finished; mirrors `src/examples/no_executor_framework.cpp`.
//!
//! Differences from C++: where C++ exits the process (`EXIT(EXIT_FAILURE)` once every task
//! ended and some did not finish, `LOG(FATAL)` on a framework message) the driver is
//! aborted and `main` returns 1. With `--master=local` C++ also gives the master an ACL
//! letting any principal register in `--role`; our master has no ACLs yet and lets anyone
//! register, so none is set.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use mesos::proto::framework_info::capability::Type as CapabilityType;
use mesos::proto::offer::operation::{Launch, Type as OperationType};
use mesos::proto::offer::Operation;
use mesos::proto::resource::RevocableInfo;
use mesos::proto::{
    CommandInfo, ExecutorId, FrameworkId, MasterInfo, Offer, OfferId, SlaveId, TaskId, TaskInfo, TaskState, TaskStatus,
};
use mesos::resources::Resources;
use mesos::sched::{MesosSchedulerDriver, Scheduler, SchedulerDriver, Status};
use parking_lot::Mutex;

use crate::program::{self, Program};

pub const FRAMEWORK_NAME: &str = "No Executor Framework";
/// Default of `--command`.
pub const DEFAULT_COMMAND: &str = "echo hello";
/// Default of `--task_resources`.
pub const DEFAULT_TASK_RESOURCES: &str = "cpus:0.1;mem:32;disk:32";

crate::example_flags!(
    /// The framework's flags: the examples' ones and its own.
    NoExecutorFlags {
        pub command: String,
        pub task_resources: String,
        pub task_revocable_resources: Option<String>,
        pub num_tasks: Option<usize>,
    }
);

impl NoExecutorFlags {
    pub fn declare() -> mesos::flags::Flags<NoExecutorFlags> {
        use mesos::field;
        let mut f = mesos::flags::Flags::new(NoExecutorFlags::default());
        crate::declare_example_flags!(&mut f);
        f.add(field!(command), "command", "The command to run for each task.").default(DEFAULT_COMMAND.to_string());
        f.add(field!(task_resources), "task_resources", "The resources that the task uses.")
            .default(DEFAULT_TASK_RESOURCES.to_string());
        f.add_optional(
            field!(task_revocable_resources),
            "task_revocable_resources",
            "The revocable resources that the task uses.",
        );
        f.add_optional(
            field!(num_tasks),
            "num_tasks",
            "Optionally, the number of tasks to run to completion before exiting.\n\
             If unset, as many tasks as possible will be launched.",
        );
        f
    }
}

/// The resources of one task: `--task_resources` plus `--task_revocable_resources` made
/// revocable, allocated to `role`.
pub fn task_resources(flags: &NoExecutorFlags, role: &str) -> Result<Resources, String> {
    let mut resources =
        Resources::parse(&flags.task_resources, "*").map_err(|error| format!("Invalid '--task_resources': {error}"))?;
    if let Some(revocable) = &flags.task_revocable_resources {
        let revocable = Resources::parse(revocable, "*")
            .map_err(|error| format!("Invalid '--task_revocable_resources': {error}"))?;
        for mut resource in revocable.iter().cloned() {
            resource.revocable = Some(RevocableInfo::default());
            resources += &resource;
        }
    }
    resources.allocate(role);
    Ok(resources)
}

/// How the tasks ended, for `main`.
#[derive(Debug, Default)]
pub struct Tally {
    pub launched: usize,
    pub finished: usize,
    pub terminated: usize,
    /// Set when the program must exit with a failure.
    pub failed: bool,
}

/// C++ `NoExecutorScheduler`.
pub struct NoExecutorScheduler {
    command: String,
    task_resources: Resources,
    total: Option<usize>,
    active: BTreeSet<String>,
    tally: Arc<Mutex<Tally>>,
}

impl NoExecutorScheduler {
    pub fn new(
        command: &str,
        task_resources: Resources,
        total: Option<usize>,
        tally: Arc<Mutex<Tally>>,
    ) -> NoExecutorScheduler {
        NoExecutorScheduler { command: command.to_string(), task_resources, total, active: BTreeSet::new(), tally }
    }

    /// The tasks that fit in `offer`, numbered on from those already launched.
    pub fn tasks_for(&mut self, offer: &Offer) -> Vec<TaskInfo> {
        let mut remaining: Resources = offer.resources.iter().cloned().collect();
        let mut tally = self.tally.lock();
        let mut tasks = Vec::new();
        while remaining.contains(&self.task_resources) && self.total.is_none_or(|total| tally.launched < total) {
            let id = tally.launched.to_string();
            tasks.push(TaskInfo {
                name: self.command.clone(),
                task_id: TaskId { value: id.clone() },
                slave_id: offer.slave_id.clone(),
                resources: self.task_resources.to_vec(),
                command: Some(CommandInfo {
                    shell: Some(true),
                    value: Some(self.command.clone()),
                    ..CommandInfo::default()
                }),
                ..TaskInfo::default()
            });
            remaining -= &self.task_resources;
            self.active.insert(id);
            tally.launched += 1;
        }
        tasks
    }
}

/// The message C++ logs for a task in `status`: an error for `TASK_LOST`, `TASK_KILLED`
/// and `TASK_FAILED`, `None` (an informational line) otherwise.
pub fn unexpected_state_message(status: &TaskStatus) -> Option<String> {
    let state = status.state();
    if !matches!(state, TaskState::TaskLost | TaskState::TaskKilled | TaskState::TaskFailed) {
        return None;
    }
    let reason = status.reason.map(|_| format!(" with reason {}", status.reason().as_str_name())).unwrap_or_default();
    Some(format!(
        "Task '{}' is in unexpected state {}{reason} from source {} with message '{}'",
        status.task_id.value,
        state.as_str_name(),
        status.source().as_str_name(),
        status.message.as_deref().unwrap_or("")
    ))
}

impl Scheduler for NoExecutorScheduler {
    fn registered(&mut self, _: &dyn SchedulerDriver, framework_id: &FrameworkId, master: &MasterInfo) {
        tracing::info!("Registered with master {} and got framework ID {}", master.id, framework_id.value);
    }

    fn reregistered(&mut self, _: &dyn SchedulerDriver, master: &MasterInfo) {
        tracing::info!("Reregistered with master {}", master.id);
    }

    fn disconnected(&mut self, _: &dyn SchedulerDriver) {
        tracing::info!("Disconnected!");
    }

    fn resource_offers(&mut self, driver: &dyn SchedulerDriver, offers: &[Offer]) {
        for offer in offers {
            let resources: Resources = offer.resources.iter().cloned().collect();
            tracing::info!(
                "Received offer {} from agent {} ({}) with {resources}",
                offer.id.value,
                offer.slave_id.value,
                offer.hostname
            );
            let tasks = self.tasks_for(offer);
            // As C++: a launch of no tasks when none fits, which declines the offer.
            let launch = Operation {
                r#type: Some(OperationType::Launch as i32),
                launch: Some(Launch { task_infos: tasks }),
                ..Operation::default()
            };
            driver.accept_offers(vec![offer.id.clone()], vec![launch], Default::default());
        }
    }

    fn offer_rescinded(&mut self, _: &dyn SchedulerDriver, offer_id: &OfferId) {
        tracing::info!("Offer {} has been rescinded", offer_id.value);
    }

    fn status_update(&mut self, driver: &dyn SchedulerDriver, status: &TaskStatus) {
        let id = &status.task_id.value;
        let state = status.state();
        if !self.active.contains(id) {
            tracing::warn!("Unknown task '{id}' is in state {}", state.as_str_name());
            return;
        }
        match unexpected_state_message(status) {
            Some(message) => tracing::error!("{message}"),
            None => tracing::info!("Task '{id}' is in state {}", state.as_str_name()),
        }
        let mut tally = self.tally.lock();
        if mesos::protobuf_utils::is_terminal_state(state) {
            if state == TaskState::TaskFinished {
                tally.finished += 1;
            }
            tally.terminated += 1;
            self.active.remove(id);
        }
        if self.total == Some(tally.terminated) {
            let abnormal = tally.terminated - tally.finished;
            if abnormal > 0 {
                eprintln!("Failed to complete successfully: {abnormal} of {} terminated abnormally", tally.terminated);
                tally.failed = true;
                driver.abort();
            } else {
                driver.stop(false);
            }
        }
    }

    fn framework_message(
        &mut self,
        driver: &dyn SchedulerDriver,
        executor_id: &ExecutorId,
        slave_id: &SlaveId,
        data: &[u8],
    ) {
        tracing::error!(
            "Received framework message from executor '{}' on agent {}: '{}'",
            executor_id.value,
            slave_id.value,
            String::from_utf8_lossy(data)
        );
        self.tally.lock().failed = true;
        driver.abort();
    }

    fn slave_lost(&mut self, _: &dyn SchedulerDriver, slave_id: &SlaveId) {
        tracing::info!("Lost agent {}", slave_id.value);
    }

    fn executor_lost(&mut self, _: &dyn SchedulerDriver, executor_id: &ExecutorId, slave_id: &SlaveId, status: i32) {
        tracing::info!(
            "Lost executor '{}' on agent {}, {}",
            executor_id.value,
            slave_id.value,
            slave::launcher::executor::describe_wait_status(status)
        );
    }

    fn error(&mut self, _: &dyn SchedulerDriver, message: &str) {
        tracing::error!("{message}");
    }
}

/// The program (C++ `main` of `no_executor_framework.cpp`): 0 once `--num_tasks` tasks all
/// finished, 1 otherwise.
pub fn main(argv: Vec<String>, environment: Vec<(String, String)>) -> i32 {
    let mut flags = NoExecutorFlags::declare();
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
    let status = run(&program, &flags, environment.into_iter().collect());
    program.shutdown();
    status
}

fn run(program: &Program, flags: &NoExecutorFlags, mut environment: BTreeMap<String, String>) -> i32 {
    let mut capabilities = vec![CapabilityType::MultiRole, CapabilityType::ReservationRefinement];
    if flags.task_revocable_resources.is_some() {
        capabilities.push(CapabilityType::RevocableResources);
    }
    let framework =
        program::framework_info(FRAMEWORK_NAME, &flags.principal, &flags.role, flags.checkpoint, &capabilities);
    let resources = match task_resources(flags, &flags.role) {
        Ok(resources) => resources,
        Err(error) => {
            eprintln!("{error}");
            return 1;
        }
    };
    if flags.master == mesos::sched::LOCAL {
        environment.insert("MESOS_ROLES".into(), flags.role.clone());
        environment.insert("MESOS_AUTHENTICATE_FRAMEWORKS".into(), flags.authenticate.to_string());
    }
    let tally = Arc::new(Mutex::new(Tally::default()));
    let scheduler = NoExecutorScheduler::new(&flags.command, resources, flags.num_tasks, tally.clone());
    let driver = MesosSchedulerDriver::new(&program.lp, scheduler, framework, &flags.master, true, environment);
    let status = driver.run();
    driver.stop(false);
    drop(driver);
    if status == Status::DriverStopped && !tally.lock().failed {
        0
    } else {
        1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(args: &[&str]) -> mesos::flags::Flags<NoExecutorFlags> {
        let mut flags = NoExecutorFlags::declare();
        let argv: Vec<String> =
            std::iter::once("no-executor-framework").chain(args.iter().copied()).map(String::from).collect();
        flags.load_from(&argv, &Default::default()).expect("flags load");
        flags
    }

    #[test]
    fn defaults_are_cpp_ones() {
        let flags = load(&["--master=m:5050"]);
        assert_eq!(flags.command, "echo hello");
        assert_eq!(flags.task_resources, "cpus:0.1;mem:32;disk:32");
        assert_eq!(flags.num_tasks, None);
        assert_eq!(flags.principal, "test");
        assert_eq!(flags.role, "*");
    }

    #[test]
    fn task_resources_are_allocated_and_revocable_ones_marked() {
        let flags = load(&["--master=m", "--task_resources=cpus:1", "--task_revocable_resources=mem:10"]);
        let resources = task_resources(&flags, "web").unwrap();
        assert_eq!(resources.revocable().to_string(), "mem(allocated: web){REV}:10");
        assert_eq!(resources.non_revocable().to_string(), "cpus(allocated: web):1");

        let flags = load(&["--master=m", "--task_resources=cpus:x"]);
        assert!(task_resources(&flags, "*").unwrap_err().starts_with("Invalid '--task_resources': "));
    }

    #[test]
    fn offers_are_filled_up_to_num_tasks() {
        let flags = load(&["--master=m", "--task_resources=cpus:1;mem:10", "--num_tasks=3"]);
        let resources = task_resources(&flags, "*").unwrap();
        let tally = Arc::new(Mutex::new(Tally::default()));
        let mut scheduler = NoExecutorScheduler::new("true", resources.clone(), flags.num_tasks, tally.clone());
        let mut offered = Resources::parse("cpus:2.5;mem:100", "*").unwrap();
        offered.allocate("*");
        let offer = Offer { resources: offered.to_vec(), ..Offer::default() };

        let ids = |tasks: Vec<TaskInfo>| tasks.into_iter().map(|t| t.task_id.value).collect::<Vec<_>>();
        assert_eq!(ids(scheduler.tasks_for(&offer)), ["0", "1"]);
        assert_eq!(ids(scheduler.tasks_for(&offer)), ["2"]);
        assert!(scheduler.tasks_for(&offer).is_empty());
        assert_eq!(tally.lock().launched, 3);

        let unlimited = NoExecutorScheduler::new("true", resources, None, Arc::default()).tasks_for(&offer);
        let task = &unlimited[0];
        assert_eq!(unlimited.len(), 2);
        assert_eq!(task.name, "true");
        assert_eq!(task.command.as_ref().unwrap().shell, Some(true));
    }

    #[test]
    fn unexpected_states_are_described() {
        let mut status = TaskStatus {
            task_id: TaskId { value: "4".into() },
            state: TaskState::TaskFinished as i32,
            ..TaskStatus::default()
        };
        assert_eq!(unexpected_state_message(&status), None);
        status.state = TaskState::TaskFailed as i32;
        status.source = Some(mesos::proto::task_status::Source::Slave as i32);
        status.message = Some("boom".into());
        assert_eq!(
            unexpected_state_message(&status).unwrap(),
            "Task '4' is in unexpected state TASK_FAILED from source SOURCE_SLAVE with message 'boom'"
        );
        status.reason = Some(mesos::proto::task_status::Reason::CommandExecutorFailed as i32);
        assert!(unexpected_state_message(&status).unwrap().contains(" with reason REASON_COMMAND_EXECUTOR_FAILED "));
    }
}
