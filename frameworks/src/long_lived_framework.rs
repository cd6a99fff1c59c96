//! `long-lived-framework`: a service scheduler that keeps `--instances` copies of a command running and launches a new copy whenever one ends, until stopped by SIGTERM or SIGINT; named after `src/examples/long_lived_framework.cpp`, which keeps one long-lived executor per agent busy with short tasks instead.
//!
//! Instance `i` runs as task `<name>-<i>-<generation>`: a replacement gets the next
//! generation, so every launch has a fresh task id. A replacement waits for the next offer
//! that fits. Each change is printed: `Launched instance 1 as task 'service-1-0' on agent
//! '...'`, `Instance 1 (task 'service-1-0') is TASK_RUNNING`, `Instance 1 ended with
//! TASK_KILLED; relaunching`.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use mesos::proto::{
    CommandInfo, ExecutorId, FrameworkId, MasterInfo, Offer, OfferId, SlaveId, TaskId, TaskInfo, TaskStatus,
};
use mesos::resources::Resources;
use mesos::sched::{MesosSchedulerDriver, Scheduler, SchedulerDriver};

use crate::program::{self, Program};

crate::example_flags!(
    /// The service framework's flags.
    LongLivedFlags {
        pub instances: i32,
        pub command: String,
        pub task_resources: String,
        pub name: String,
    }
);

impl LongLivedFlags {
    pub fn declare() -> mesos::flags::Flags<LongLivedFlags> {
        let mut f = mesos::flags::Flags::new(LongLivedFlags::default());
        crate::declare_example_flags!(&mut f);
        f.add(mesos::field!(instances), "instances", "How many copies of the command to keep running.").default(2);
        f.add(mesos::field!(command), "command", "The shell command each instance runs.")
            .default("sleep 1000".to_string());
        f.add(mesos::field!(task_resources), "task_resources", "The resources of each instance.")
            .default("cpus:0.1;mem:32".to_string());
        f.add(mesos::field!(name), "name", "The service's name: the prefix of its task ids.")
            .default("service".to_string());
        f
    }
}

/// What an instance is doing.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Instance {
    /// Waiting for an offer.
    Pending,
    /// Launched as this task; not ended yet.
    Launched(String),
}

/// The service scheduler.
pub struct ServiceScheduler {
    name: String,
    command: String,
    resources: Resources,
    role: String,
    instances: Vec<Instance>,
    /// How many times each instance was launched.
    generations: Vec<u32>,
}

impl ServiceScheduler {
    pub fn new(name: &str, command: &str, resources: Resources, role: &str, instances: usize) -> ServiceScheduler {
        let mut resources = resources;
        resources.allocate(role);
        ServiceScheduler {
            name: name.to_string(),
            command: command.to_string(),
            resources,
            role: role.to_string(),
            instances: vec![Instance::Pending; instances],
            generations: vec![0; instances],
        }
    }

    /// The instance a task id belongs to, if it is the instance's current task.
    fn instance_of(&self, task_id: &str) -> Option<usize> {
        self.instances.iter().position(|instance| matches!(instance, Instance::Launched(id) if id == task_id))
    }
}

impl Scheduler for ServiceScheduler {
    fn registered(&mut self, _: &dyn SchedulerDriver, framework_id: &FrameworkId, _: &MasterInfo) {
        println!("Registered with ID {} in role {}", framework_id.value, self.role);
    }

    fn reregistered(&mut self, driver: &dyn SchedulerDriver, _: &MasterInfo) {
        println!("Re-registered");
        // Learn of instances that ended while disconnected.
        driver.reconcile_tasks(Vec::new());
    }

    fn disconnected(&mut self, _: &dyn SchedulerDriver) {
        println!("Disconnected");
    }

    fn resource_offers(&mut self, driver: &dyn SchedulerDriver, offers: &[Offer]) {
        for offer in offers {
            let mut remaining: Resources = offer.resources.iter().cloned().collect();
            let mut tasks = Vec::new();
            for index in 0..self.instances.len() {
                if self.instances[index] != Instance::Pending || !remaining.contains(&self.resources) {
                    continue;
                }
                let task_id = format!("{}-{index}-{}", self.name, self.generations[index]);
                self.generations[index] += 1;
                remaining -= &self.resources;
                println!("Launched instance {index} as task '{task_id}' on agent '{}'", offer.slave_id.value);
                self.instances[index] = Instance::Launched(task_id.clone());
                tasks.push(TaskInfo {
                    name: format!("{} instance {index}", self.name),
                    task_id: TaskId { value: task_id },
                    slave_id: offer.slave_id.clone(),
                    resources: self.resources.to_vec(),
                    command: Some(CommandInfo {
                        value: Some(self.command.clone()),
                        shell: Some(true),
                        ..CommandInfo::default()
                    }),
                    ..TaskInfo::default()
                });
            }
            if tasks.is_empty() {
                driver.decline_offer(offer.id.clone(), Default::default());
            } else {
                driver.launch_tasks(vec![offer.id.clone()], tasks, Default::default());
            }
        }
    }

    fn offer_rescinded(&mut self, _: &dyn SchedulerDriver, _: &OfferId) {}

    fn status_update(&mut self, driver: &dyn SchedulerDriver, status: &TaskStatus) {
        let Some(index) = self.instance_of(&status.task_id.value) else { return };
        let state = status.state();
        if mesos::protobuf_utils::is_terminal_state(state) {
            println!(
                "Instance {index} ended with {} ({}); relaunching",
                state.as_str_name(),
                status.message.as_deref().unwrap_or("no message")
            );
            self.instances[index] = Instance::Pending;
            // The resources it held come back in a later offer; ask for them now.
            driver.revive_offers();
        } else {
            println!("Instance {index} (task '{}') is {}", status.task_id.value, state.as_str_name());
        }
    }

    fn framework_message(&mut self, _: &dyn SchedulerDriver, _: &ExecutorId, _: &SlaveId, _: &[u8]) {}

    fn slave_lost(&mut self, _: &dyn SchedulerDriver, slave_id: &SlaveId) {
        println!("Agent lost: {}", slave_id.value);
    }

    fn executor_lost(&mut self, _: &dyn SchedulerDriver, _: &ExecutorId, _: &SlaveId, _: i32) {}

    fn error(&mut self, _: &dyn SchedulerDriver, message: &str) {
        println!("Error: {message}");
    }
}

/// The program: runs until SIGTERM or SIGINT (exit 0) or the driver aborts (exit 1).
pub fn main(argv: Vec<String>, environment: Vec<(String, String)>) -> i32 {
    let mut flags = LongLivedFlags::declare();
    if let Err(code) = program::load_flags(&mut flags, &argv, crate::flags::ENVIRONMENT_PREFIX, &environment) {
        return code;
    }
    let resources = match program::parse_resources("task_resources", &flags.task_resources) {
        Ok(resources) => resources,
        Err(code) => return code,
    };
    let instances = match program::count("instances", flags.instances) {
        Ok(instances) => instances,
        Err(code) => return code,
    };
    let program = match Program::start_scheduler(&flags.master, flags.quiet, &flags.logging_level, &environment) {
        Ok(program) => program,
        Err(code) => return code,
    };
    let framework = program::framework_info(
        "Long Lived Framework (Rust)",
        &flags.principal,
        &flags.role,
        flags.checkpoint,
        &[mesos::proto::framework_info::capability::Type::MultiRole],
    );
    let scheduler = ServiceScheduler::new(&flags.name, &flags.command, resources, &flags.role, instances);
    let environment: BTreeMap<String, String> = environment.into_iter().collect();
    let driver =
        Arc::new(MesosSchedulerDriver::new(&program.lp, scheduler, framework, &flags.master, true, environment));
    if driver.start() != mesos::sched::Status::DriverRunning {
        return 1;
    }
    // A signal stops the driver (failing over nothing: the tasks end with the framework).
    let stopped = Arc::new(AtomicBool::new(false));
    let waiter = {
        let driver = driver.clone();
        let stopped = stopped.clone();
        program.runtime.spawn(async move {
            use tokio::signal::unix::{signal, SignalKind};
            let (Ok(mut terminate), Ok(mut interrupt)) =
                (signal(SignalKind::terminate()), signal(SignalKind::interrupt()))
            else {
                return;
            };
            tokio::select! {
                _ = terminate.recv() => {}
                _ = interrupt.recv() => {}
            }
            stopped.store(true, Ordering::SeqCst);
            driver.stop(false);
        })
    };
    let status = driver.join();
    waiter.abort();
    // Let the teardown reach the master before the instance goes.
    std::thread::sleep(Duration::from_millis(200));
    drop(driver);
    program.shutdown();
    if stopped.load(Ordering::SeqCst) && status == mesos::sched::Status::DriverStopped {
        0
    } else {
        1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ended_instances_are_pending_again_and_others_are_not_touched() {
        let resources = Resources::parse("cpus:0.1;mem:32", "*").unwrap();
        let mut scheduler = ServiceScheduler::new("svc", "sleep 1", resources, "*", 2);
        scheduler.instances[0] = Instance::Launched("svc-0-0".into());
        scheduler.instances[1] = Instance::Launched("svc-1-0".into());
        assert_eq!(scheduler.instance_of("svc-1-0"), Some(1));
        assert_eq!(scheduler.instance_of("svc-1-1"), None, "a stale task id is not the instance's");
    }
}
