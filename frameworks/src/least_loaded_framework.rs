//! `least-loaded-framework`: runs `--num_tasks` command tasks, placing each on the agent whose load (the largest of its CPU and memory shares in use) is lowest once the task is added; a resource-aware placement with no C++ example to mirror (the C++ examples take offers in the order they come).
//!
//! An agent's total is what it offers plus what this framework runs there, so the load is
//! the framework's own view: right when it is the only one using the agents. Offers that
//! arrive together are placed together: each task goes, in turn, to the offer whose agent
//! would then be least loaded; offers left with no task are declined.

use std::collections::{BTreeMap, HashMap};

use mesos::proto::{
    CommandInfo, ExecutorId, FrameworkId, MasterInfo, Offer, OfferId, SlaveId, TaskId, TaskInfo, TaskState, TaskStatus,
};
use mesos::resources::Resources;
use mesos::sched::{MesosSchedulerDriver, Scheduler, SchedulerDriver, Status};

use crate::program::{self, Program};

crate::example_flags!(
    /// The least-loaded framework's flags.
    LeastLoadedFlags {
        pub num_tasks: i32,
        pub command: String,
        pub task_resources: String,
        pub min_agents: i32,
    }
);

impl LeastLoadedFlags {
    pub fn declare() -> mesos::flags::Flags<LeastLoadedFlags> {
        let mut f = mesos::flags::Flags::new(LeastLoadedFlags::default());
        crate::declare_example_flags!(&mut f);
        f.add(mesos::field!(num_tasks), "num_tasks", "How many tasks to run.").default(10);
        f.add(mesos::field!(command), "command", "The shell command each task runs.").default("sleep 1".to_string());
        f.add(mesos::field!(task_resources), "task_resources", "The resources of each task.")
            .default("cpus:0.5;mem:64".to_string());
        f.add(
            mesos::field!(min_agents),
            "min_agents",
            "Hold offers until this many agents have offered, so the first tasks are not all \
             placed on the agents that happened to register first.",
        )
        .default(1);
        f
    }
}

/// An agent's load with `used` in use out of `total`: the larger of the CPU and memory
/// shares (a resource the agent lacks does not count).
pub fn load(used: &Resources, total: &Resources) -> f64 {
    let share = |used: Option<f64>, total: Option<f64>| match (used, total) {
        (Some(used), Some(total)) if total > 0.0 => used / total,
        _ => 0.0,
    };
    share(used.cpus(), total.cpus()).max(share(used.mem().map(|m| m as f64), total.mem().map(|m| m as f64)))
}

/// The index of the offer to place a task needing `task` on: among the `candidates`
/// (available, used by this framework) that can hold it, the one whose agent's load after
/// the placement is lowest; ties go to the first.
pub fn least_loaded(candidates: &[(Resources, Resources)], task: &Resources) -> Option<usize> {
    let mut best: Option<(usize, f64)> = None;
    for (index, (available, used)) in candidates.iter().enumerate() {
        if !available.contains(task) {
            continue;
        }
        let total = available.clone() + used.clone();
        let after = load(&(used.clone() + task.clone()), &total);
        if best.is_none_or(|(_, lowest)| after < lowest) {
            best = Some((index, after));
        }
    }
    best.map(|(index, _)| index)
}

/// The scheduler.
pub struct LeastLoadedScheduler {
    command: String,
    resources: Resources,
    total: usize,
    launched: usize,
    finished: usize,
    /// What this framework's unfinished tasks use, by agent.
    used: HashMap<String, Resources>,
    /// The agent of each unfinished task.
    agents: HashMap<String, String>,
    /// Offers held until `min_agents` agents have offered.
    held: Vec<Offer>,
    min_agents: usize,
}

impl LeastLoadedScheduler {
    pub fn new(
        command: &str,
        resources: Resources,
        role: &str,
        total: usize,
        min_agents: usize,
    ) -> LeastLoadedScheduler {
        let mut resources = resources;
        resources.allocate(role);
        LeastLoadedScheduler {
            command: command.to_string(),
            resources,
            total,
            launched: 0,
            finished: 0,
            used: HashMap::new(),
            agents: HashMap::new(),
            held: Vec::new(),
            min_agents,
        }
    }
}

impl Scheduler for LeastLoadedScheduler {
    fn registered(&mut self, _: &dyn SchedulerDriver, framework_id: &FrameworkId, _: &MasterInfo) {
        println!("Registered with ID {}", framework_id.value);
    }

    fn reregistered(&mut self, _: &dyn SchedulerDriver, _: &MasterInfo) {}

    fn disconnected(&mut self, _: &dyn SchedulerDriver) {}

    fn resource_offers(&mut self, driver: &dyn SchedulerDriver, offers: &[Offer]) {
        self.held.extend(offers.iter().cloned());
        let agents: std::collections::HashSet<&str> =
            self.held.iter().map(|offer| offer.slave_id.value.as_str()).collect();
        if agents.len() < self.min_agents {
            println!("Holding offers from {} agent(s) until {} have offered", agents.len(), self.min_agents);
            return;
        }
        // Placed together from now on.
        self.min_agents = 0;
        let offers = std::mem::take(&mut self.held);
        let offers = offers.as_slice();
        let mut candidates: Vec<(Resources, Resources)> = offers
            .iter()
            .map(|offer| {
                let available: Resources = offer.resources.iter().cloned().collect();
                let used = self.used.get(&offer.slave_id.value).cloned().unwrap_or_default();
                (available, used)
            })
            .collect();
        let mut tasks: Vec<Vec<TaskInfo>> = vec![Vec::new(); offers.len()];
        while self.launched < self.total {
            let Some(index) = least_loaded(&candidates, &self.resources) else { break };
            let offer = &offers[index];
            let (available, used) = &mut candidates[index];
            *available -= &self.resources;
            *used += &self.resources;
            let id = self.launched;
            self.launched += 1;
            println!(
                "Placing task {id} on agent '{}' (load after placement: {:.2})",
                offer.slave_id.value,
                load(used, &(available.clone() + used.clone()))
            );
            tasks[index].push(TaskInfo {
                name: format!("Task {id}"),
                task_id: TaskId { value: id.to_string() },
                slave_id: offer.slave_id.clone(),
                resources: self.resources.to_vec(),
                command: Some(CommandInfo {
                    value: Some(self.command.clone()),
                    shell: Some(true),
                    ..Default::default()
                }),
                ..TaskInfo::default()
            });
            self.agents.insert(id.to_string(), offer.slave_id.value.clone());
            *self.used.entry(offer.slave_id.value.clone()).or_default() += &self.resources;
        }
        for (offer, tasks) in offers.iter().zip(tasks) {
            if tasks.is_empty() {
                driver.decline_offer(offer.id.clone(), Default::default());
            } else {
                driver.launch_tasks(vec![offer.id.clone()], tasks, Default::default());
            }
        }
    }

    fn offer_rescinded(&mut self, _: &dyn SchedulerDriver, offer_id: &OfferId) {
        self.held.retain(|offer| &offer.id != offer_id);
    }

    fn status_update(&mut self, driver: &dyn SchedulerDriver, status: &TaskStatus) {
        let state = status.state();
        println!("Task {} is in state {}", status.task_id.value, state.as_str_name());
        if !mesos::protobuf_utils::is_terminal_state(state) {
            return;
        }
        if let Some(agent) = self.agents.remove(&status.task_id.value) {
            if let Some(used) = self.used.get_mut(&agent) {
                *used -= &self.resources;
            }
        }
        if state != TaskState::TaskFinished {
            println!("Aborting because task {} is in unexpected state {}", status.task_id.value, state.as_str_name());
            driver.abort();
            return;
        }
        self.finished += 1;
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

/// The program: 0 once every task finished, 1 otherwise.
pub fn main(argv: Vec<String>, environment: Vec<(String, String)>) -> i32 {
    let mut flags = LeastLoadedFlags::declare();
    if let Err(code) = program::load_flags(&mut flags, &argv, crate::flags::ENVIRONMENT_PREFIX, &environment) {
        return code;
    }
    let resources = match program::parse_resources("task_resources", &flags.task_resources) {
        Ok(resources) => resources,
        Err(code) => return code,
    };
    let total = match program::count("num_tasks", flags.num_tasks) {
        Ok(total) => total,
        Err(code) => return code,
    };
    let program = match Program::start_scheduler(&flags.master, flags.quiet, &flags.logging_level, &environment) {
        Ok(program) => program,
        Err(code) => return code,
    };
    let framework = program::framework_info(
        "Least Loaded Framework (Rust)",
        &flags.principal,
        &flags.role,
        flags.checkpoint,
        &[mesos::proto::framework_info::capability::Type::MultiRole],
    );
    let min_agents = usize::try_from(flags.min_agents).unwrap_or(0);
    let scheduler = LeastLoadedScheduler::new(&flags.command, resources, &flags.role, total, min_agents);
    let environment: BTreeMap<String, String> = environment.into_iter().collect();
    let driver = MesosSchedulerDriver::new(&program.lp, scheduler, framework, &flags.master, true, environment);
    let status = if driver.run() == Status::DriverStopped { 0 } else { 1 };
    drop(driver);
    program.shutdown();
    status
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(text: &str) -> Resources {
        Resources::parse(text, "*").unwrap()
    }

    #[test]
    fn load_is_the_dominant_share() {
        assert_eq!(load(&r("cpus:1;mem:100"), &r("cpus:4;mem:200")), 0.5);
        assert_eq!(load(&r("cpus:3;mem:10"), &r("cpus:4;mem:200")), 0.75);
        assert_eq!(load(&Resources::new(), &r("cpus:4;mem:200")), 0.0);
    }

    #[test]
    fn the_agent_least_loaded_after_placement_wins() {
        let task = r("cpus:1;mem:64");
        // Agent 0: 4 CPUs, 2 in use by us. Agent 1: 8 CPUs, 3 in use. Agent 2: idle but too small.
        let candidates = vec![
            (r("cpus:2;mem:1024"), r("cpus:2;mem:128")),
            (r("cpus:5;mem:1024"), r("cpus:3;mem:192")),
            (r("cpus:0.5;mem:1024"), Resources::new()),
        ];
        // After placement: agent 0 at 3/4 = 0.75, agent 1 at 4/8 = 0.5.
        assert_eq!(least_loaded(&candidates, &task), Some(1));
        // Memory can dominate: agent 1 short of memory becomes the worse choice.
        let candidates = vec![(r("cpus:2;mem:1024"), r("cpus:2;mem:128")), (r("cpus:5;mem:70"), r("cpus:3;mem:900"))];
        assert_eq!(least_loaded(&candidates, &task), Some(0));
        assert_eq!(least_loaded(&[(r("cpus:0.5;mem:32"), Resources::new())], &task), None);
    }

    #[test]
    fn equal_agents_fill_evenly() {
        let task = r("cpus:1;mem:64");
        let mut candidates = vec![(r("cpus:4;mem:1024"), Resources::new()), (r("cpus:4;mem:1024"), Resources::new())];
        let mut placed = [0, 0];
        for _ in 0..6 {
            let index = least_loaded(&candidates, &task).unwrap();
            candidates[index].0 -= &task;
            candidates[index].1 += &task;
            placed[index] += 1;
        }
        assert_eq!(placed, [3, 3]);
    }
}
