//! `mesos-execute`: runs one command (or the task given as JSON by `--task`, or the task group of `--task_group` through the default executor) on the cluster, prints its status updates and exits with its outcome; mirrors `src/cli/execute.cpp`.
//!
//! C++ is a v1 scheduler speaking the HTTP scheduler API; this one drives the v0
//! [`MesosSchedulerDriver`], because our master does not serve the v1 scheduler API yet.
//! What the user sees is the same: the flags (read from the command line only, as C++), the
//! `FrameworkInfo` (`mesos-execute instance`, the single `--role`, capabilities
//! `RESERVATION_REFINEMENT`, `TASK_KILLING_STATE`, `REVOCABLE_RESOURCES`, plus
//! `PARTITION_AWARE` unless `--no-partition_aware`), the task (id and name `--name`), and
//! the lines printed on stdout. Status updates are acknowledged explicitly, as C++ does.
//!
//! Differences from C++:
//! - The exit code is the task's outcome: 0 when it ends `TASK_FINISHED` (every task of a
//!   group), 1 otherwise. C++ returns `EXIT_SUCCESS` once the tasks are terminal, whatever
//!   their states.
//! - The tasks of a group take their resources from what the ones before them left of the
//!   offer (C++ looks each up in the whole offer).
//! - Flags for what this cluster cannot run yet are declared (so `--help` lists them) but
//!   refused when given a value other than their default: `--networks`,
//!   `--volumes`, `--appc_image`, `--docker_image`, `--containerizer` other than `mesos`,
//!   `--tty`, `--rlimits`, `--effective_capabilities`, `--bounding_capabilities` and the
//!   HDFS upload (`--package`, `--hadoop`, `--hdfs`, `--overwrite`). `--secret` is refused
//!   too: the driver cannot authenticate yet.
//! - `--content_type` is checked as in C++ but changes nothing: the v0 driver speaks
//!   libprocess messages.
//! - C++ also suppresses offers after declining one too small for the task, after which it
//!   would wait for ever; here offers are only suppressed once the task is launched.
//! - Logging is set up as C++ does without flags (INFO on stderr); `RUST_LOG` overrides it.

use std::collections::BTreeMap;
use std::sync::{Arc, OnceLock, Weak};
use std::time::Duration;

use master::flags::NameSet;
use mesos::flags::{FlagValue, Flags};
use mesos::json::{Json, JsonEnum, Reader};
use mesos::proto::executor_info::Type as ExecutorType;
use mesos::proto::framework_info::{capability::Type as CapabilityType, Capability};
use mesos::proto::offer::operation::{Launch, LaunchGroup, Type as OperationType};
use mesos::proto::offer::Operation;
use mesos::proto::resource::{reservation_info::Type as ReservationType, ReservationInfo};
use mesos::proto::task_status::{Reason, Source};
use mesos::proto::{
    check_info, environment, CheckStatusInfo, CommandInfo, Environment, ExecutorId, ExecutorInfo, FrameworkId,
    FrameworkInfo, MasterInfo, Offer, OfferId, SlaveId, TaskGroupInfo, TaskId, TaskInfo, TaskState, TaskStatus,
};
use mesos::resources::Resources;
use mesos::sched::{MesosSchedulerDriver, Scheduler, SchedulerDriver};
use parking_lot::Mutex;
use slave::flags::JsonObject;

use crate::program::{self, Program};

/// The name the framework registers under.
pub const FRAMEWORK_NAME: &str = "mesos-execute instance";
/// Default of `--resources`.
pub const DEFAULT_RESOURCES: &str = "cpus:1;mem:128";
/// Default of `--containerizer`, the only one supported.
pub const DEFAULT_CONTAINERIZER: &str = "mesos";
/// Default of `--content_type`.
pub const DEFAULT_CONTENT_TYPE: &str = "protobuf";

/// The flags this program acts on; every other one must keep its default.
pub const SUPPORTED_FLAGS: &[&str] = &[
    "checkpoint",
    "command",
    "content_type",
    "env",
    "framework_capabilities",
    "help",
    "kill_after",
    "master",
    "name",
    "partition_aware",
    "principal",
    "resources",
    "role",
    "shell",
    "task",
    "task_group",
];

/// A `TaskInfo` given as v1 JSON, inline or in a file (`file:///path` or `/path`), as C++
/// reads `--task`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct TaskFlag(pub TaskInfo);

impl FlagValue for TaskFlag {
    fn parse(text: &str) -> Result<Self, String> {
        let JsonObject(object) = JsonObject::parse(text)?;
        TaskInfo::read_json(&serde_json::Value::Object(object), &Reader::V1).map(TaskFlag).map_err(|e| e.to_string())
    }

    fn stringify(&self) -> String {
        mesos::json::to_v1_string(&self.0)
    }
}

/// A `TaskGroupInfo` given as v1 JSON, inline or in a file, as C++ reads `--task_group`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct TaskGroupFlag(pub TaskGroupInfo);

impl FlagValue for TaskGroupFlag {
    fn parse(text: &str) -> Result<Self, String> {
        let JsonObject(object) = JsonObject::parse(text)?;
        TaskGroupInfo::read_json(&serde_json::Value::Object(object), &Reader::V1)
            .map(TaskGroupFlag)
            .map_err(|e| e.to_string())
    }

    fn stringify(&self) -> String {
        mesos::json::to_v1_string(&self.0)
    }
}

/// The id of the default executor a task group runs in (C++'s).
pub const DEFAULT_EXECUTOR_ID: &str = "default-executor";
/// The default executor's own resources (C++'s).
pub const DEFAULT_EXECUTOR_RESOURCES: &str = "cpus:0.1;mem:32;disk:32";

/// What to run: one task, or a task group.
#[derive(Clone, Debug, PartialEq)]
pub enum Work {
    Task(Box<TaskInfo>),
    Group(TaskGroupInfo),
}

impl Work {
    pub fn tasks(&self) -> &[TaskInfo] {
        match self {
            Work::Task(task) => std::slice::from_ref(task.as_ref()),
            Work::Group(group) => &group.tasks,
        }
    }
}

/// Environment variables given as a JSON object of strings (C++'s
/// `hashmap<string, string>` flag); the keys come out sorted.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EnvironmentFlag(pub BTreeMap<String, String>);

impl FlagValue for EnvironmentFlag {
    fn parse(text: &str) -> Result<Self, String> {
        let object = JsonObject::parse(text)?;
        let mut variables = BTreeMap::new();
        for (name, value) in &object.0 {
            let serde_json::Value::String(value) = value else {
                return Err(format!("The value of key '{name}' in '{}' is not a string", object.stringify()));
            };
            variables.insert(name.clone(), value.clone());
        }
        Ok(EnvironmentFlag(variables))
    }

    fn stringify(&self) -> String {
        serde_json::Value::Object(
            self.0.iter().map(|(name, value)| (name.clone(), serde_json::Value::String(value.clone()))).collect(),
        )
        .to_string()
    }
}

/// The flags of `mesos-execute`, named as in C++ (`env` is `environment` there too).
#[derive(Clone, Debug, Default)]
pub struct ExecuteFlags {
    pub master: String,
    pub task: Option<TaskFlag>,
    pub task_group: Option<TaskGroupFlag>,
    pub name: Option<String>,
    pub shell: bool,
    pub command: Option<String>,
    pub environment: Option<EnvironmentFlag>,
    pub resources: String,
    pub hadoop: String,
    pub hdfs: String,
    pub package: Option<String>,
    pub overwrite: bool,
    pub checkpoint: bool,
    pub appc_image: Option<String>,
    pub docker_image: Option<String>,
    pub framework_capabilities: Option<NameSet>,
    pub containerizer: String,
    pub effective_capabilities: Option<String>,
    pub bounding_capabilities: Option<String>,
    pub rlimits: Option<String>,
    pub role: String,
    pub kill_after: Option<Duration>,
    pub networks: Option<String>,
    pub principal: Option<String>,
    pub secret: Option<String>,
    pub volumes: Option<String>,
    pub content_type: String,
    pub tty: bool,
    pub partition_aware: bool,
}

/// Appended to the help of the flags that are declared but refused.
const UNSUPPORTED: &str = "Not supported yet: refused unless left at its default.";

impl ExecuteFlags {
    /// The declarations, with C++'s names and defaults.
    pub fn declare() -> Flags<ExecuteFlags> {
        use mesos::field;
        let mut f = Flags::new(ExecuteFlags::default());
        f.add(field!(master), "master", "Mesos master (e.g., IP:PORT), or `local` for a cluster in this process.");
        f.add_optional(
            field!(task),
            "task",
            "A `TaskInfo` as v1 JSON, or the path of a file holding it (`file:///path` or\n\
             `/path`). `agent_id` need not be set. Excludes `--name`, `--command`, `--env`.",
        );
        f.add_optional(
            field!(task_group),
            "task_group",
            "A `TaskGroupInfo` as v1 JSON, or the path of a file holding it (`file:///path`\n\
             or `/path`). Its tasks run in the default executor. `agent_id` need not be set.\n\
             Excludes `--task`, `--name`, `--command`, `--env`.",
        );
        f.add_optional(field!(name), "name", "Name for the command.");
        f.add(
            field!(shell),
            "shell",
            "Determine the command is a shell or not. If not, 'command' will be\n\
             treated as executable value and arguments (TODO).",
        )
        .default(true);
        f.add_optional(field!(command), "command", "Command to launch.");
        f.add_optional(
            field!(environment),
            "env",
            "Shell command environment variables: a JSON object of names to values\n\
             (i.e., {\"name1\": \"value1\"}), or the path of a file holding it.",
        );
        f.add(field!(resources), "resources", "Resources for the command.").default(DEFAULT_RESOURCES.to_string());
        f.add(field!(hadoop), "hadoop", &format!("Path to 'hadoop' script. {UNSUPPORTED}"))
            .default("hadoop".to_string());
        f.add(field!(hdfs), "hdfs", &format!("The ip:port of the NameNode service. {UNSUPPORTED}"))
            .default("localhost:9000".to_string());
        f.add_optional(field!(package), "package", &format!("Package to upload into HDFS. {UNSUPPORTED}"));
        f.add(field!(overwrite), "overwrite", &format!("Overwrite the package in HDFS. {UNSUPPORTED}")).default(false);
        f.add(field!(checkpoint), "checkpoint", "Enable checkpointing for the framework.").default(false);
        f.add_optional(field!(appc_image), "appc_image", &format!("Appc image name. {UNSUPPORTED}"));
        f.add_optional(field!(docker_image), "docker_image", &format!("Docker image name. {UNSUPPORTED}"));
        f.add_optional(
            field!(framework_capabilities),
            "framework_capabilities",
            "Comma-separated list of optional framework capabilities to enable.\n\
             RESERVATION_REFINEMENT and TASK_KILLING_STATE are always enabled.\n\
             PARTITION_AWARE is enabled unless --no-partition-aware is specified.",
        );
        f.add(
            field!(containerizer),
            "containerizer",
            "Containerizer to be used (i.e., docker, mesos). Only `mesos` is supported yet.",
        )
        .default(DEFAULT_CONTAINERIZER.to_string());
        f.add_optional(
            field!(effective_capabilities),
            "effective_capabilities",
            &format!("Effective system capabilities of the command, as JSON. {UNSUPPORTED}"),
        );
        f.add_optional(
            field!(bounding_capabilities),
            "bounding_capabilities",
            &format!("Bounding set of system capabilities of the command, as JSON. {UNSUPPORTED}"),
        );
        f.add_optional(field!(rlimits), "rlimits", &format!("Resource limits of the command, as JSON. {UNSUPPORTED}"));
        f.add(field!(role), "role", "Role to use when registering.").default("*".to_string());
        f.add_optional(
            field!(kill_after),
            "kill_after",
            "Specifies a delay after which the task is killed\n(e.g., 10secs, 2mins, etc).",
        );
        f.add_optional(
            field!(networks),
            "networks",
            &format!("Comma-separated list of networks that the container will join. {UNSUPPORTED}"),
        );
        f.add_optional(field!(principal), "principal", "The principal to use for framework authentication.");
        f.add_optional(
            field!(secret),
            "secret",
            "The secret to use for framework authentication. Not supported yet: the driver\n\
             cannot authenticate.",
        );
        f.add_optional(field!(volumes), "volumes", &format!("Volumes of the container, as JSON. {UNSUPPORTED}"));
        f.add(
            field!(content_type),
            "content_type",
            "The content type to use for scheduler protocol messages. 'json'\n\
             and 'protobuf' are valid choices.",
        )
        .default(DEFAULT_CONTENT_TYPE.to_string());
        f.add(field!(tty), "tty", &format!("Attach a TTY to the task being launched. {UNSUPPORTED}")).default(false);
        f.add(field!(partition_aware), "partition_aware", "Enable partition-awareness for the framework.")
            .default(true);
        f
    }
}

/// Why the program stops before registering. C++ prints the usage with some of these.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SetupError {
    /// Printed with the usage.
    #[error("{0}")]
    Usage(String),
    /// Printed alone.
    #[error("{0}")]
    Fatal(String),
}

/// The checks of C++ `main` on the loaded flags, then the framework and the task or task
/// group to run.
pub fn setup(flags: &Flags<ExecuteFlags>) -> Result<(FrameworkInfo, Work), SetupError> {
    if flags.secret.is_some() {
        return Err(SetupError::Fatal("Framework authentication is not supported yet".to_string()));
    }
    if let Some(name) = mesos::flags::first_unsupported(flags, &ExecuteFlags::declare(), SUPPORTED_FLAGS) {
        return Err(SetupError::Fatal(format!("Flag '--{name}' is not supported yet by mesos-execute")));
    }
    if flags.task.is_some() && flags.task_group.is_some() {
        return Err(SetupError::Usage(
            "Either task or task group should be set but not both. Provide either '--task' OR '--task_group'"
                .to_string(),
        ));
    }
    if flags.task.is_none() && flags.task_group.is_none() {
        if flags.name.is_none() {
            return Err(SetupError::Usage("Missing required option --name".to_string()));
        }
        if flags.shell && flags.command.is_none() {
            return Err(SetupError::Usage("Missing required option --command".to_string()));
        }
    } else if flags.name.is_some() || flags.command.is_some() || flags.environment.is_some() {
        return Err(SetupError::Usage(
            "'--name, --command, --env, --appc_image, --docker_image, --volumes' can only be set when both \
             '--task' and '--task_group' are not set"
                .to_string(),
        ));
    }
    if !matches!(flags.content_type.as_str(), "json" | "application/json" | "protobuf" | "application/x-protobuf") {
        return Err(SetupError::Fatal(format!("Invalid content type '{}'", flags.content_type)));
    }
    let framework = framework_info(flags)?;
    let work = match (&flags.task, &flags.task_group) {
        (Some(TaskFlag(task)), _) => Work::Task(Box::new(task.clone())),
        (None, Some(TaskGroupFlag(group))) => Work::Group(group.clone()),
        (None, None) => Work::Task(Box::new(task_info(flags)?)),
    };
    Ok((framework, work))
}

/// C++'s `FrameworkInfo`. The user is left empty for the driver to fill in.
fn framework_info(flags: &ExecuteFlags) -> Result<FrameworkInfo, SetupError> {
    let mut capabilities = vec![
        CapabilityType::ReservationRefinement,
        CapabilityType::TaskKillingState,
        CapabilityType::RevocableResources,
    ];
    if flags.partition_aware {
        capabilities.push(CapabilityType::PartitionAware);
    }
    for name in flags.framework_capabilities.iter().flat_map(|set| set.0.iter()) {
        let Some(capability) = CapabilityType::from_str_name(name).filter(|c| *c != CapabilityType::Unknown) else {
            return Err(SetupError::Fatal(format!(
                "Flags '--framework_capabilities' specifies an unknown capability '{name}'"
            )));
        };
        if capability != CapabilityType::GpuResources {
            return Err(SetupError::Fatal(format!(
                "Flags '--framework_capabilities' specifies an unsupported capability '{name}'"
            )));
        }
        capabilities.push(capability);
    }
    Ok(FrameworkInfo {
        user: String::new(),
        name: FRAMEWORK_NAME.to_string(),
        role: Some(flags.role.clone()),
        checkpoint: Some(flags.checkpoint),
        principal: flags.principal.clone(),
        capabilities: capabilities.into_iter().map(|c| Capability { r#type: Some(c as i32) }).collect(),
        ..FrameworkInfo::default()
    })
}

/// The task C++ builds from `--name`, `--resources`, `--shell`, `--command` and `--env`.
fn task_info(flags: &ExecuteFlags) -> Result<TaskInfo, SetupError> {
    let name = flags.name.clone().unwrap_or_default();
    let resources = Resources::parse(&flags.resources, "*")
        .map_err(|error| SetupError::Fatal(format!("Failed to parse resources '{}': {error}", flags.resources)))?;
    let mut command = if flags.shell {
        CommandInfo { shell: Some(true), value: flags.command.clone(), ..CommandInfo::default() }
    } else {
        // As C++: without a shell the command is not used (yet).
        CommandInfo { shell: Some(false), ..CommandInfo::default() }
    };
    if let Some(EnvironmentFlag(variables)) = &flags.environment {
        command.environment = Some(Environment {
            variables: variables
                .iter()
                .map(|(name, value)| environment::Variable {
                    name: name.clone(),
                    value: Some(value.clone()),
                    ..environment::Variable::default()
                })
                .collect(),
        });
    }
    Ok(TaskInfo {
        name: name.clone(),
        task_id: TaskId { value: name },
        resources: resources.to_vec(),
        command: Some(command),
        ..TaskInfo::default()
    })
}

/// `task` placed on `offer` if the offer holds its resources, whatever their reservations:
/// those reserved to `role` first (unless `role` is `*`), then unreserved ones. `None` if
/// the offer is too small.
pub fn task_for_offer(task: &TaskInfo, role: &str, offer: &Offer) -> Option<TaskInfo> {
    let mut offered: Resources = offer.resources.iter().cloned().collect();
    offered.unallocate();
    let required: Resources = task.resources.iter().cloned().collect();
    if !offered.to_unreserved().contains(&required) {
        return None;
    }
    let wanted = if role == "*" {
        required
    } else {
        let reservation = ReservationInfo {
            r#type: Some(ReservationType::Static as i32),
            role: Some(role.to_string()),
            ..ReservationInfo::default()
        };
        required.push_reservation(&reservation).ok()?
    };
    let resources = offered.find(&wanted)?;
    Some(TaskInfo { slave_id: offer.slave_id.clone(), resources: resources.to_vec(), ..task.clone() })
}

/// The v1 name of an enum value, as C++ prints the v1 enums (`SOURCE_AGENT`).
fn v1_name<E: JsonEnum>(value: i32) -> String {
    E::json_name(value, true).map_or_else(|| value.to_string(), str::to_string)
}

/// C++ `operator<<` for `CheckStatusInfo`.
fn check_status_text(check: &CheckStatusInfo) -> String {
    let mut text = String::new();
    match check.r#type() {
        check_info::Type::Command => {
            if let Some(command) = &check.command {
                text.push_str("COMMAND");
                if let Some(code) = command.exit_code {
                    text.push_str(&format!(" exit code {code}"));
                }
            }
        }
        check_info::Type::Http => {
            if let Some(http) = &check.http {
                text.push_str("HTTP");
                if let Some(code) = http.status_code {
                    text.push_str(&format!(" status code {code}"));
                }
            }
        }
        check_info::Type::Tcp => {
            if let Some(tcp) = &check.tcp {
                text.push_str("TCP");
                match tcp.succeeded {
                    Some(true) => text.push_str(" connection success"),
                    Some(false) => text.push_str(" connection failure"),
                    None => {}
                }
            }
        }
        check_info::Type::Unknown => text.push_str("UNKNOWN"),
    }
    text
}

/// The lines C++ prints for a status update: the state, then what the status carries.
pub fn status_update_lines(status: &TaskStatus) -> Vec<String> {
    let mut lines = vec![format!(
        "Received status update {} for task '{}'",
        v1_name::<TaskState>(status.state),
        status.task_id.value
    )];
    if let Some(message) = &status.message {
        lines.push(format!("  message: '{message}'"));
    }
    if let Some(source) = status.source {
        lines.push(format!("  source: {}", v1_name::<Source>(source)));
    }
    if let Some(reason) = status.reason {
        lines.push(format!("  reason: {}", v1_name::<Reason>(reason)));
    }
    if let Some(healthy) = status.healthy {
        // C++ streams the bool without `boolalpha`.
        lines.push(format!("  healthy?: {}", u8::from(healthy)));
    }
    if let Some(check) = &status.check_status {
        lines.push(format!("  check status: {}", check_status_text(check)));
    }
    if let Some(limitation) = status.limitation.as_ref().filter(|l| !l.resources.is_empty()) {
        let resources: Resources = limitation.resources.iter().cloned().collect();
        lines.push(format!("  resource limit violation: {resources}"));
    }
    lines
}

/// The exit code for the task's last state: 0 for `TASK_FINISHED`, 1 otherwise (none
/// included: the program stopped before the task ended).
pub fn exit_code(outcome: Option<TaskState>) -> i32 {
    if outcome == Some(TaskState::TaskFinished) {
        0
    } else {
        1
    }
}

/// What the scheduler reports to `main`.
#[derive(Debug, Default)]
pub struct Outcome {
    /// The task's terminal state, once reached; for a group, `TASK_FINISHED` when every
    /// task finished, else the first other terminal state.
    pub state: Option<TaskState>,
}

/// The task group placed on `offer`, each task taking its resources from what the tasks
/// before it left; `None` if the offer is too small.
pub fn task_group_for_offer(group: &TaskGroupInfo, role: &str, offer: &Offer) -> Option<TaskGroupInfo> {
    let mut left = offer.clone();
    let mut tasks = Vec::new();
    for task in &group.tasks {
        let placed = task_for_offer(task, role, &left)?;
        let mut remaining: Resources = left.resources.iter().cloned().collect();
        remaining -= &placed.resources.iter().cloned().collect::<Resources>();
        left.resources = remaining.to_vec();
        tasks.push(placed);
    }
    Some(TaskGroupInfo { tasks })
}

/// The `LAUNCH_GROUP` of `group` in the default executor (C++'s executor: `DEFAULT`, id
/// `default-executor`, `cpus:0.1;mem:32;disk:32`).
pub fn launch_group(group: TaskGroupInfo, framework_id: Option<FrameworkId>) -> Operation {
    let executor = ExecutorInfo {
        r#type: Some(ExecutorType::Default as i32),
        executor_id: ExecutorId { value: DEFAULT_EXECUTOR_ID.to_string() },
        framework_id,
        resources: Resources::parse(DEFAULT_EXECUTOR_RESOURCES, "*").map(|r| r.to_vec()).unwrap_or_default(),
        ..ExecutorInfo::default()
    };
    Operation {
        r#type: Some(OperationType::LaunchGroup as i32),
        launch_group: Some(LaunchGroup { executor, task_group: group }),
        ..Operation::default()
    }
}

/// stout's rendering of a list of task ids: `[ a, b ]`.
fn task_ids(tasks: &[TaskInfo]) -> String {
    let ids: Vec<&str> = tasks.iter().map(|task| task.task_id.value.as_str()).collect();
    format!("[ {} ]", ids.join(", "))
}

/// A way to reach the driver from a timer (the callbacks get it only while they run).
pub type DriverSlot = Arc<OnceLock<Weak<MesosSchedulerDriver>>>;

/// C++ `CommandScheduler`.
pub struct CommandScheduler {
    role: String,
    work: Work,
    kill_after: Option<Duration>,
    launched: bool,
    framework_id: Option<FrameworkId>,
    /// The terminal state of each task that ended, in order.
    terminated: Vec<(TaskId, TaskState)>,
    outcome: Arc<Mutex<Outcome>>,
    driver: DriverSlot,
    clock: libprocess::Clock,
}

impl CommandScheduler {
    pub fn new(
        role: &str,
        work: Work,
        kill_after: Option<Duration>,
        outcome: Arc<Mutex<Outcome>>,
        driver: DriverSlot,
        clock: libprocess::Clock,
    ) -> CommandScheduler {
        CommandScheduler {
            role: role.to_string(),
            work,
            kill_after,
            launched: false,
            framework_id: None,
            terminated: Vec::new(),
            outcome,
            driver,
            clock,
        }
    }

    /// The operation running the work on `offer`, and the line that says so; `None` if the
    /// offer is too small.
    fn launch_on(&self, offer: &Offer) -> Option<(Operation, String)> {
        let agent = &offer.slave_id.value;
        match &self.work {
            Work::Task(task) => {
                let task = task_for_offer(task, &self.role, offer)?;
                let line = format!("Submitted task '{}' to agent '{agent}'", task.name);
                let launch = Operation {
                    r#type: Some(OperationType::Launch as i32),
                    launch: Some(Launch { task_infos: vec![task] }),
                    ..Operation::default()
                };
                Some((launch, line))
            }
            Work::Group(group) => {
                let group = task_group_for_offer(group, &self.role, offer)?;
                let line = format!("Submitted task group with tasks {} to agent '{agent}'", task_ids(&group.tasks));
                Some((launch_group(group, self.framework_id.clone()), line))
            }
        }
    }

    /// Asks, `kill_after` from now, to kill the task (C++ `killTask`).
    fn schedule_kill(&self, delay: Duration, task_id: TaskId, agent_id: SlaveId) {
        let driver = self.driver.clone();
        let _timer = self.clock.timer(delay, move || {
            let Some(driver) = driver.get().and_then(Weak::upgrade) else { return };
            println!("Asked to kill task '{}' on agent '{}'", task_id.value, agent_id.value);
            driver.kill_task(task_id);
        });
    }
}

impl Scheduler for CommandScheduler {
    fn registered(&mut self, _: &dyn SchedulerDriver, framework_id: &FrameworkId, _: &MasterInfo) {
        println!("Subscribed with ID {}", framework_id.value);
        self.framework_id = Some(framework_id.clone());
    }

    fn reregistered(&mut self, _: &dyn SchedulerDriver, _: &MasterInfo) {}

    fn disconnected(&mut self, _: &dyn SchedulerDriver) {}

    fn resource_offers(&mut self, driver: &dyn SchedulerDriver, offers: &[Offer]) {
        for offer in offers {
            let launch = if self.launched { None } else { self.launch_on(offer) };
            match launch {
                Some((launch, line)) => {
                    driver.accept_offers(vec![offer.id.clone()], vec![launch], Default::default());
                    println!("{line}");
                    self.launched = true;
                }
                None => {
                    driver.decline_offer(offer.id.clone(), Default::default());
                    if self.launched {
                        driver.suppress_offers();
                    }
                }
            }
        }
    }

    fn offer_rescinded(&mut self, _: &dyn SchedulerDriver, _: &OfferId) {}

    fn status_update(&mut self, driver: &dyn SchedulerDriver, status: &TaskStatus) {
        for line in status_update_lines(status) {
            println!("{line}");
        }
        if status.uuid.is_some() {
            driver.acknowledge_status_update(status.clone());
        }
        let state = status.state();
        if let (Some(delay), TaskState::TaskRunning) = (self.kill_after, state) {
            self.schedule_kill(delay, status.task_id.clone(), status.slave_id.clone().unwrap_or_default());
        }
        if mesos::protobuf_utils::is_terminal_state(state) {
            if !self.terminated.iter().any(|(id, _)| id == &status.task_id) {
                self.terminated.push((status.task_id.clone(), state));
            }
            if self.terminated.len() >= self.work.tasks().len() {
                let unfinished = self.terminated.iter().map(|(_, s)| *s).find(|s| *s != TaskState::TaskFinished);
                self.outcome.lock().state = Some(unfinished.unwrap_or(TaskState::TaskFinished));
                driver.stop(false);
            }
        }
    }

    fn framework_message(&mut self, _: &dyn SchedulerDriver, _: &ExecutorId, _: &SlaveId, _: &[u8]) {}

    fn slave_lost(&mut self, _: &dyn SchedulerDriver, _: &SlaveId) {}

    fn executor_lost(&mut self, _: &dyn SchedulerDriver, _: &ExecutorId, _: &SlaveId, _: i32) {}

    fn error(&mut self, driver: &dyn SchedulerDriver, message: &str) {
        eprintln!("Received an ERROR event: {message}");
        driver.abort();
    }
}

/// The program (C++ `main` of `execute.cpp`): 0 when the task finished, 1 otherwise.
pub fn main(argv: Vec<String>, environment: Vec<(String, String)>) -> i32 {
    let mut flags = ExecuteFlags::declare();
    // As C++: the command line only, no `MESOS_*` variables.
    if let Err(code) = program::load_flags(&mut flags, &argv, "", &[]) {
        return code;
    }
    let (framework, work) = match setup(&flags) {
        Ok(setup) => setup,
        Err(SetupError::Usage(message)) => {
            eprintln!("{}", flags.usage(Some(&message)));
            return 1;
        }
        Err(SetupError::Fatal(message)) => {
            eprintln!("{message}");
            return 1;
        }
    };
    let program = match Program::start_scheduler(&flags.master, false, "INFO", &environment) {
        Ok(program) => program,
        Err(code) => return code,
    };
    let outcome = Arc::new(Mutex::new(Outcome::default()));
    let slot = DriverSlot::default();
    let scheduler = CommandScheduler::new(
        &flags.role,
        work,
        flags.kill_after,
        outcome.clone(),
        slot.clone(),
        program.lp.clock().clone(),
    );
    let driver =
        Arc::new(MesosSchedulerDriver::new(&program.lp, scheduler, framework, &flags.master, false, environment));
    let _ = slot.set(Arc::downgrade(&driver));
    driver.run();
    driver.stop(false);
    drop(driver);
    program.shutdown();
    let state = outcome.lock().state;
    exit_code(state)
}

#[cfg(test)]
mod tests {
    use super::*;
    use mesos::proto::{check_status_info, TaskResourceLimitation};

    fn load(args: &[&str]) -> Result<Flags<ExecuteFlags>, String> {
        let mut flags = ExecuteFlags::declare();
        let argv: Vec<String> =
            std::iter::once("mesos-execute").chain(args.iter().copied()).map(String::from).collect();
        flags.load_from(&argv, &Default::default()).map_err(|e| e.to_string())?;
        Ok(flags)
    }

    fn setup_of(args: &[&str]) -> Result<(FrameworkInfo, TaskInfo), SetupError> {
        setup(&load(args).expect("flags load")).map(|(framework, work)| match work {
            Work::Task(task) => (framework, *task),
            Work::Group(_) => panic!("a task group"),
        })
    }

    #[test]
    fn defaults_are_cpp_ones() {
        let flags = load(&["--master=m:5050"]).unwrap();
        assert_eq!(flags.resources, "cpus:1;mem:128");
        assert_eq!(flags.role, "*");
        assert!(flags.shell);
        assert!(flags.partition_aware);
        assert!(!flags.checkpoint);
        assert_eq!(flags.containerizer, "mesos");
        assert_eq!(flags.content_type, "protobuf");
        assert!(load(&[]).unwrap_err().contains("'master' is required"));
    }

    #[test]
    fn command_task_from_flags() {
        let (framework, task) =
            setup_of(&["--master=m:5050", "--name=hello", "--command=echo hi", "--env={\"B\":\"2\",\"A\":\"1\"}"])
                .unwrap();
        assert_eq!(framework.name, FRAMEWORK_NAME);
        assert_eq!(framework.role.as_deref(), Some("*"));
        assert!(framework.roles.is_empty());
        let types: Vec<CapabilityType> = framework.capabilities.iter().map(|c| c.r#type()).collect();
        assert_eq!(
            types,
            [
                CapabilityType::ReservationRefinement,
                CapabilityType::TaskKillingState,
                CapabilityType::RevocableResources,
                CapabilityType::PartitionAware
            ]
        );
        assert_eq!(task.task_id.value, "hello");
        assert_eq!(task.name, "hello");
        let command = task.command.unwrap();
        assert_eq!(command.value.as_deref(), Some("echo hi"));
        assert_eq!(command.shell, Some(true));
        let names: Vec<&str> =
            command.environment.as_ref().unwrap().variables.iter().map(|v| v.name.as_str()).collect();
        assert_eq!(names, ["A", "B"]);
        let resources: Resources = task.resources.into_iter().collect();
        assert_eq!(resources, Resources::parse("cpus:1;mem:128", "*").unwrap());
    }

    #[test]
    fn missing_name_or_command_is_a_usage_error() {
        assert_eq!(
            setup_of(&["--master=m:5050", "--command=true"]).unwrap_err(),
            SetupError::Usage("Missing required option --name".into())
        );
        assert_eq!(
            setup_of(&["--master=m:5050", "--name=x"]).unwrap_err(),
            SetupError::Usage("Missing required option --command".into())
        );
        // Without a shell the command is not needed (nor used), as in C++.
        assert!(setup_of(&["--master=m:5050", "--name=x", "--no-shell"]).is_ok());
    }

    #[test]
    fn unsupported_flags_are_refused_unless_default() {
        let refused = |flag: &str| match setup_of(&["--master=m:5050", "--name=x", "--command=true", flag]) {
            Err(SetupError::Fatal(message)) => message,
            other => panic!("{flag}: {other:?}"),
        };
        assert_eq!(refused("--docker_image=busybox"), "Flag '--docker_image' is not supported yet by mesos-execute");
        assert_eq!(refused("--containerizer=docker"), "Flag '--containerizer' is not supported yet by mesos-execute");
        assert_eq!(refused("--tty"), "Flag '--tty' is not supported yet by mesos-execute");
        assert_eq!(refused("--networks=net1"), "Flag '--networks' is not supported yet by mesos-execute");
        assert_eq!(refused("--content_type=xml"), "Invalid content type 'xml'");
        assert_eq!(refused("--secret=s"), "Framework authentication is not supported yet");
        // Defaults spelled out are fine.
        assert!(setup_of(&["--master=m:5050", "--name=x", "--command=true", "--containerizer=mesos"]).is_ok());
        assert!(setup_of(&["--master=m:5050", "--name=x", "--command=true", "--content_type=json"]).is_ok());
    }

    #[test]
    fn framework_capabilities_accept_only_gpu_resources() {
        let fatal = |value: &str| {
            setup_of(&["--master=m:5050", "--name=x", "--command=true", &format!("--framework_capabilities={value}")])
        };
        let (framework, _) = fatal("GPU_RESOURCES").unwrap();
        assert!(framework.capabilities.iter().any(|c| c.r#type() == CapabilityType::GpuResources));
        assert_eq!(
            fatal("NOPE").unwrap_err(),
            SetupError::Fatal("Flags '--framework_capabilities' specifies an unknown capability 'NOPE'".into())
        );
        assert_eq!(
            fatal("GPU_RESOURCES,MULTI_ROLE").unwrap_err(),
            SetupError::Fatal(
                "Flags '--framework_capabilities' specifies an unsupported capability 'MULTI_ROLE'".into()
            )
        );
        let (framework, _) =
            setup_of(&["--master=m:5050", "--name=x", "--command=true", "--no-partition_aware"]).unwrap();
        assert!(!framework.capabilities.iter().any(|c| c.r#type() == CapabilityType::PartitionAware));
    }

    #[test]
    fn env_values_must_be_strings() {
        let error = load(&["--master=m", "--env={\"A\":1}"]).unwrap_err();
        assert!(error.contains("The value of key 'A' in '{\"A\":1}' is not a string"), "{error}");
        assert!(load(&["--master=m", "--env=[]"]).is_err());
    }

    #[test]
    fn bad_resources_are_fatal() {
        match setup_of(&["--master=m", "--name=x", "--command=true", "--resources=cpus:abc"]) {
            Err(SetupError::Fatal(message)) => assert!(message.starts_with("Failed to parse resources 'cpus:abc': ")),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn task_flag_is_v1_json_and_excludes_name() {
        let json = r#"{"name":"t","task_id":{"value":"id1"},"agent_id":{"value":""},
            "resources":[{"name":"cpus","type":"SCALAR","scalar":{"value":0.1}}],
            "command":{"value":"sleep 1"}}"#;
        let (_, task) = setup_of(&["--master=m", &format!("--task={json}")]).unwrap();
        assert_eq!(task.task_id.value, "id1");
        assert_eq!(task.name, "t");
        assert_eq!(task.command.unwrap().value.as_deref(), Some("sleep 1"));

        let file = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(file.path(), json).unwrap();
        let (_, task) = setup_of(&["--master=m", &format!("--task=file://{}", file.path().display())]).unwrap();
        assert_eq!(task.task_id.value, "id1");

        assert!(matches!(
            setup_of(&["--master=m", &format!("--task={json}"), "--name=x"]),
            Err(SetupError::Usage(message)) if message.contains("can only be set when both '--task'")
        ));
        // `agent_id` is required by the message, as in C++.
        let error = load(&["--master=m", r#"--task={"name":"t","task_id":{"value":"i"}}"#]).unwrap_err();
        assert!(error.contains("Missing required fields: agent_id"), "{error}");
    }

    #[test]
    fn task_group_flag_is_v1_json_and_excludes_task_and_name() {
        let json = r#"{"tasks":[
            {"name":"a","task_id":{"value":"a"},"agent_id":{"value":""},
             "resources":[{"name":"cpus","type":"SCALAR","scalar":{"value":0.5}}],"command":{"value":"true"}},
            {"name":"b","task_id":{"value":"b"},"agent_id":{"value":""},
             "resources":[{"name":"cpus","type":"SCALAR","scalar":{"value":0.5}}],"command":{"value":"true"}}]}"#;
        let (_, work) = setup(&load(&["--master=m", &format!("--task_group={json}")]).unwrap()).unwrap();
        let Work::Group(group) = work else { panic!("not a group") };
        let ids: Vec<&str> = group.tasks.iter().map(|t| t.task_id.value.as_str()).collect();
        assert_eq!(ids, ["a", "b"]);
        let task = r#"{"name":"t","task_id":{"value":"t"},"agent_id":{"value":""}}"#;
        assert_eq!(
            setup(&load(&["--master=m", &format!("--task_group={json}"), &format!("--task={task}")]).unwrap()),
            Err(SetupError::Usage(
                "Either task or task group should be set but not both. Provide either '--task' OR '--task_group'"
                    .into()
            ))
        );
        assert!(matches!(
            setup(&load(&["--master=m", &format!("--task_group={json}"), "--command=true"]).unwrap()),
            Err(SetupError::Usage(message)) if message.contains("can only be set when both '--task'")
        ));

        // Placed on an offer, each task takes its own share; the executor is the default one.
        let placed = task_group_for_offer(&group, "*", &offer("cpus:1;mem:1024")).unwrap();
        assert!(placed.tasks.iter().all(|t| t.slave_id.value == "a1"));
        assert!(task_group_for_offer(&group, "*", &offer("cpus:0.75;mem:1024")).is_none());
        let operation = launch_group(placed, Some(FrameworkId { value: "F".into() }));
        assert_eq!(operation.r#type(), OperationType::LaunchGroup);
        let executor = operation.launch_group.unwrap().executor;
        assert_eq!(executor.r#type(), ExecutorType::Default);
        assert_eq!(executor.executor_id.value, "default-executor");
        let resources: Resources = executor.resources.into_iter().collect();
        assert_eq!(resources, Resources::parse("cpus:0.1;mem:32;disk:32", "*").unwrap());
    }

    fn offer(resources: &str) -> Offer {
        Offer {
            id: OfferId { value: "o1".into() },
            slave_id: SlaveId { value: "a1".into() },
            resources: Resources::parse(resources, "*").unwrap().to_vec(),
            ..Offer::default()
        }
    }

    #[test]
    fn task_takes_its_resources_from_a_big_enough_offer() {
        let task = task_info(&load(&["--master=m", "--name=x", "--command=true"]).unwrap()).unwrap();
        assert!(task_for_offer(&task, "*", &offer("cpus:0.5;mem:1024")).is_none());
        let placed = task_for_offer(&task, "*", &offer("cpus:4;mem:1024;disk:10")).unwrap();
        assert_eq!(placed.slave_id.value, "a1");
        let resources: Resources = placed.resources.into_iter().collect();
        assert_eq!(resources, Resources::parse("cpus:1;mem:128", "*").unwrap());

        // With a role, reserved resources go first, unreserved ones make up the rest.
        let placed = task_for_offer(&task, "web", &offer("cpus(web):0.5;mem(web):512;cpus:4;mem:1024")).unwrap();
        let resources: Resources = placed.resources.into_iter().collect();
        assert_eq!(resources, Resources::parse("cpus(web):0.5;cpus:0.5;mem(web):128", "*").unwrap());
    }

    #[test]
    fn status_lines_as_cpp_prints_them() {
        let mut status = TaskStatus {
            task_id: TaskId { value: "hello".into() },
            state: TaskState::TaskRunning as i32,
            ..TaskStatus::default()
        };
        assert_eq!(status_update_lines(&status), ["Received status update TASK_RUNNING for task 'hello'"]);

        status.state = TaskState::TaskFailed as i32;
        status.message = Some("Command exited with status 3".into());
        status.source = Some(Source::Slave as i32);
        status.reason = Some(Reason::SlaveRemoved as i32);
        status.healthy = Some(false);
        status.check_status = Some(CheckStatusInfo {
            r#type: Some(check_info::Type::Command as i32),
            command: Some(check_status_info::Command { exit_code: Some(1) }),
            ..CheckStatusInfo::default()
        });
        status.limitation =
            Some(TaskResourceLimitation { resources: Resources::parse("mem:64", "*").unwrap().to_vec() });
        assert_eq!(
            status_update_lines(&status),
            [
                "Received status update TASK_FAILED for task 'hello'",
                "  message: 'Command exited with status 3'",
                "  source: SOURCE_AGENT",
                "  reason: REASON_AGENT_REMOVED",
                "  healthy?: 0",
                "  check status: COMMAND exit code 1",
                "  resource limit violation: mem:64",
            ]
        );
    }

    #[test]
    fn exit_code_is_the_task_outcome() {
        assert_eq!(exit_code(Some(TaskState::TaskFinished)), 0);
        assert_eq!(exit_code(Some(TaskState::TaskFailed)), 1);
        assert_eq!(exit_code(Some(TaskState::TaskKilled)), 1);
        assert_eq!(exit_code(None), 1);
    }
}
