//! The agent's recovery after a restart (child module of `slave.rs`): the checkpointed state read back and checked against the agent's `SlaveInfo`, frameworks, executors and tasks rebuilt, the status update manager and the containerizer recovered, v0 executors asked to reconnect and HTTP ones awaited, the ones that do not come back within `--executor_reregistration_timeout` killed, then detection (or, with `--recover=cleanup`, every executor shut down and the agent gone); mirrors `Slave::{recover,_recover,__recover,recoverFramework,reregisterExecutor,_reregisterExecutor,reregisterExecutorTimeout}`, `Framework::recoverExecutor` and `Executor::recoverTask` in `src/slave/slave.cpp`, and `compatibility::equal` in `src/slave/compatibility.cpp`.
//!
//! The order is C++'s: `state::recover` → books → task status update manager → containerizer
//! → executors (each container waited on, v0 executors sent `ReconnectExecutorMessage`) →
//! after the reregistration timeout, `__recover` (boot id checkpointed, detection started).
//! Only then does the agent reregister with the master under its recovered id, reporting
//! the recovered frameworks, executors and tasks; the manager resends the updates the
//! master had not acknowledged once the agent is registered again.
//!
//! Differences from C++:
//!
//! * The meta tree is read on the agent's own thread, once, before anything else runs (C++
//!   reads it with `async`); nothing else is waiting for the agent at that point.
//! * A recovery failure (C++ `EXIT(EXIT_FAILURE)` in `__recover`) logs C++'s text and ends
//!   the agent process, which ends `mesos-agent` with status 1; in a test's instance the
//!   other processes live on.
//! * The `SlaveInfo`s of an incompatible restart are shown as JSON (C++ prints the
//!   protobuf text format).
//! * `--reconfiguration_policy` is only `equal`; `--executor_reregistration_retry_interval`
//!   is not supported (one `ReconnectExecutorMessage` per executor, and a second
//!   `ReregisterExecutorMessage` from a running executor shuts it down).
//! * There is no garbage collection: old runs and old agents' directories stay.
//! * The resource checkpoints and operations are not recovered, and allocation roles are
//!   not injected into resources checkpointed before multi-role frameworks.

use libprocess::{Context, Outcome, UPID};
use mesos::internal::{
    ExecutorReregisteredMessage, ReconnectExecutorMessage, ReregisterExecutorMessage, ShutdownExecutorMessage,
};
use mesos::proto::task_status::{Reason, Source};
use mesos::proto::{ExecutorId, FrameworkId, SlaveInfo, TaskId, TaskState};
use std::collections::{HashMap, HashSet, VecDeque};

use super::executor_http::Connection;
use super::executors::{allocated_resources, Executor, ExecutorState};
use super::{create_status_update, Framework, RecoverMode, Slave, State};
use crate::containerizer::{recoverable_containers, ContainerTermination, ContainerizerError};
use crate::state::{FrameworkState, SlaveState};
use crate::status_update_manager::{is_terminal_state, RecoveredTask, StatusUpdateError};

/// Where the agent is in its recovery (C++ `Slave::RecoveryInfo`).
#[derive(Debug, Default)]
pub(crate) struct RecoveryInfo {
    /// The containerizer has recovered: HTTP executors may subscribe (C++ `reconnect`).
    pub(crate) reconnect: bool,
    /// Recovered executors that never said how they talk (neither `libprocess.pid` nor
    /// `http.marker`), by framework and executor id: they cannot be reconnected (C++ marks
    /// them with an empty pid).
    unknown_connection: HashSet<(String, String)>,
}

/// C++ `compatibility::equal`: the `SlaveInfo` of the previous run and this one must be
/// equal (C++ `operator==(SlaveInfo, SlaveInfo)`: hostname, resources, attributes, id,
/// checkpoint, port, domain), else the error C++ reports.
pub fn compatible(previous: &SlaveInfo, current: &SlaveInfo) -> Result<(), String> {
    let resources = |info: &SlaveInfo| info.resources.iter().cloned().collect::<mesos::resources::Resources>();
    let attributes = |info: &SlaveInfo| info.attributes.iter().cloned().collect::<mesos::attributes::Attributes>();
    let equal = previous.hostname == current.hostname
        && resources(previous) == resources(current)
        && attributes(previous) == attributes(current)
        && previous.id == current.id
        && previous.checkpoint.unwrap_or(false) == current.checkpoint.unwrap_or(false)
        && previous.port() == current.port()
        && previous.domain == current.domain;
    if equal {
        return Ok(());
    }
    let rule = "\n------------------------------------------------------------";
    Err([
        "Incompatible agent info detected. ".to_string(),
        rule.to_string(),
        format!("Old agent info:\n{}", mesos::json::to_string(previous)),
        rule.to_string(),
        format!("New agent info:\n{}", mesos::json::to_string(current)),
        rule.to_string(),
    ]
    .join("\n"))
}

/// The tasks whose status update logs the manager replays (the walk of C++
/// `TaskStatusUpdateManagerProcess::recover`): those of each executor's latest run, unless
/// that run completed or the executor's info is missing.
pub fn recovered_tasks(state: &SlaveState) -> Vec<RecoveredTask> {
    let mut tasks = Vec::new();
    for framework in state.frameworks.values() {
        for executor in framework.executors.values() {
            let (Some(_), Some(latest)) = (&executor.info, &executor.latest) else { continue };
            let Some(run) = executor.runs.get(&latest.value) else { continue };
            if run.completed {
                continue;
            }
            for task in run.tasks.values() {
                if task.updates.is_empty() {
                    continue;
                }
                tasks.push(RecoveredTask {
                    framework_id: framework.id.clone(),
                    executor_id: executor.id.clone(),
                    container_id: latest.clone(),
                    task_id: task.id.clone(),
                });
            }
        }
    }
    tasks.sort_by(|a, b| (&a.framework_id.value, &a.task_id.value).cmp(&(&b.framework_id.value, &b.task_id.value)));
    tasks
}

/// TASK_GONE for a partition-aware framework, TASK_LOST otherwise (what C++ reports for a
/// task whose executor the agent had to kill after its restart).
fn gone_or_lost(framework: &Framework) -> TaskState {
    if framework.partition_aware() {
        TaskState::TaskGone
    } else {
        TaskState::TaskLost
    }
}

impl Slave {
    /// C++ `Slave::initialize`'s last step and `Slave::recover`: reads the meta tree, rebuilds
    /// the books of a compatible previous run, then recovers the status update manager and
    /// the containerizer before reconnecting executors.
    pub(super) fn start_recovery(&mut self, ctx: &mut Context<Self>) {
        self.state = State::Recovering;
        let meta = crate::paths::meta_root_dir(&self.options.work_dir);
        let state = match crate::state::recover(&meta, self.options.strict) {
            Ok(state) => state,
            Err(error) => return self.recovery_failed(ctx, &error.to_string()),
        };
        tracing::info!("Finished recovering checkpointed state from '{}', beginning agent recovery", meta.display());
        let slave_state = match self.recover_books(ctx, state) {
            Ok(slave_state) => slave_state,
            Err(error) => return self.recovery_failed(ctx, &error),
        };
        let (tasks, containers) = match &slave_state {
            Some(state) => (recovered_tasks(state), recoverable_containers(state, &self.options.work_dir)),
            None => (Vec::new(), Vec::new()),
        };
        let recovered = self.task_status_update_manager.recover(self.slave_id(), tasks);
        ctx.defer(recovered, move |this: &mut Self, ctx, outcome: Outcome<Result<(), StatusUpdateError>>| {
            match outcome {
                Ok(Ok(())) => {}
                Ok(Err(error)) => return this.recovery_failed(ctx, &error.to_string()),
                Err(failure) => return this.recovery_failed(ctx, &failure.to_string()),
            }
            let recovered = this.containerizer.recover(containers);
            ctx.defer(
                recovered,
                |this: &mut Self, ctx, outcome: Outcome<Result<(), ContainerizerError>>| match outcome {
                    Ok(Ok(())) => this.recover_executors(ctx),
                    Ok(Err(error)) => this.recovery_failed(ctx, &error.to_string()),
                    Err(failure) => this.recovery_failed(ctx, &failure.to_string()),
                },
            );
        });
    }

    /// The part of C++ `Slave::recover` that decides on the agent id and rebuilds frameworks,
    /// executors and tasks. `Ok(None)`: nothing to recover, the agent registers afresh.
    fn recover_books(
        &mut self,
        ctx: &mut Context<Self>,
        state: crate::state::State,
    ) -> Result<Option<SlaveState>, String> {
        let Some(slave_state) = state.slave else { return Ok(None) };
        let Some(previous) = slave_state.info.clone() else { return Ok(None) };
        if slave_state.errors > 0 {
            tracing::warn!("Errors encountered during agent recovery: {}", slave_state.errors);
            for _ in 0..slave_state.errors {
                self.metrics.increment("recovery_errors");
            }
        }
        // The previous id goes into this run's info so that both compare equal when nothing
        // else changed; it is dropped again if it cannot be reused.
        self.info.id = previous.id.clone().or_else(|| Some(slave_state.id.clone()));
        match compatible(&previous, &self.info) {
            Ok(()) => {
                let mut frameworks: Vec<&FrameworkState> = slave_state.frameworks.values().collect();
                frameworks.sort_by(|a, b| a.id.value.cmp(&b.id.value));
                for framework in frameworks {
                    self.recover_framework(ctx, framework);
                }
                Ok(Some(slave_state))
            }
            Err(error) if state.rebooted => {
                tracing::warn!("Falling back to recover as a new agent due to error: {error}");
                self.info.id = None;
                // Removing `latest` makes the decision stick across another restart.
                let latest = crate::paths::latest_slave_path(&crate::paths::meta_root_dir(&self.options.work_dir));
                if let Err(error) = std::fs::remove_file(&latest) {
                    if error.kind() != std::io::ErrorKind::NotFound {
                        return Err(format!("Failed to remove latest symlink '{}': {error}", latest.display()));
                    }
                }
                Ok(None)
            }
            Err(error) => Err(error),
        }
    }

    /// C++ `Slave::recoverFramework`: a checkpointing framework with executors comes back
    /// with its info and scheduler pid (the empty UPID of an HTTP framework is none); one
    /// left without executors is removed again.
    fn recover_framework(&mut self, ctx: &mut Context<Self>, state: &FrameworkState) {
        tracing::info!("Recovering framework {}", state.id.value);
        if state.executors.is_empty() {
            return;
        }
        let (Some(info), Some(pid)) = (&state.info, &state.pid) else { return };
        let mut info = info.clone();
        // Agents of 0.22 and before did not put the id into the checkpointed info.
        let recheckpoint = info.id.is_none();
        if recheckpoint {
            info.id = Some(state.id.clone());
        }
        if info.checkpoint != Some(true) {
            tracing::warn!("Skipping recovery of framework {}: it does not checkpoint", state.id.value);
            return;
        }
        let pid = (*pid != UPID::default()).then(|| pid.clone());
        self.frameworks.insert(
            state.id.clone(),
            Framework {
                info,
                pid,
                terminating: false,
                executors: HashMap::new(),
                completed_executors: VecDeque::new(),
            },
        );
        if recheckpoint {
            self.checkpoint_framework(&state.id);
        }
        let mut executors: Vec<_> = state.executors.values().collect();
        executors.sort_by(|a, b| a.id.value.cmp(&b.id.value));
        for executor in executors {
            self.recover_executor(ctx, &state.id, executor);
        }
        if self.frameworks.get(&state.id).is_some_and(|f| f.executors.is_empty()) {
            self.remove_framework(ctx, &state.id);
        }
    }

    /// C++ `Framework::recoverExecutor` and `Executor::recoverTask`: the latest run becomes
    /// the executor (registering again), its tasks launched with the state their updates
    /// give; a run that had completed goes straight to the completed executors.
    fn recover_executor(
        &mut self,
        ctx: &mut Context<Self>,
        framework_id: &FrameworkId,
        state: &crate::state::ExecutorState,
    ) {
        tracing::info!("Recovering executor '{}' of framework {}", state.id.value, framework_id.value);
        let (Some(info), Some(latest)) = (&state.info, &state.latest) else {
            tracing::warn!(
                "Skipping recovery of executor '{}' of framework {} because its latest run or executor info cannot \
                 be recovered",
                state.id.value,
                framework_id.value
            );
            return;
        };
        let Some(run) = state.runs.get(&latest.value) else {
            tracing::warn!("Cannot find latest run {} for executor '{}'", latest.value, state.id.value);
            return;
        };
        let slave_id = self.slave_id();
        let directory =
            crate::paths::executor_run_path(&self.options.work_dir, &slave_id, framework_id, &state.id, latest);
        let connection = match (run.http, &run.libprocess_pid) {
            (Some(false), Some(pid)) => Connection::Pid(pid.clone()),
            (Some(true), _) => Connection::None,
            _ => {
                self.recovery.unknown_connection.insert((framework_id.value.clone(), state.id.value.clone()));
                Connection::None
            }
        };
        let mut executor = Executor {
            id: state.id.clone(),
            info: info.clone(),
            framework_id: framework_id.clone(),
            container_id: latest.clone(),
            directory,
            state: ExecutorState::Registering,
            connection,
            command_executor: state.generated_for_command_task,
            checkpoint: true,
            queued_tasks: Vec::new(),
            queued_task_groups: Vec::new(),
            launched_tasks: HashMap::new(),
            terminated_tasks: HashMap::new(),
            completed_tasks: VecDeque::new(),
            pending_termination: None,
            ever_sent_task: false,
        };
        let mut tasks: Vec<_> = run.tasks.values().collect();
        tasks.sort_by(|a, b| a.id.value.cmp(&b.id.value));
        for task in tasks {
            let Some(recovered) = &task.info else {
                tracing::warn!("Skipping recovery of task {} because its info cannot be recovered", task.id.value);
                continue;
            };
            executor.launched_tasks.insert(task.id.clone(), recovered.clone());
            for update in &task.updates {
                executor.update_task_state(update);
                let state = TaskState::try_from(update.status.state).unwrap_or(TaskState::TaskLost);
                if is_terminal_state(state) {
                    let acknowledged = update
                        .uuid
                        .as_deref()
                        .and_then(|uuid| mesos::state::Uuid::from_bytes(uuid).ok())
                        .is_some_and(|uuid| task.acks.contains(&uuid));
                    if acknowledged {
                        executor.complete_task(&task.id);
                    }
                    break;
                }
            }
        }
        executor.ever_sent_task = !executor.launched_tasks.is_empty()
            || !executor.terminated_tasks.is_empty()
            || !executor.completed_tasks.is_empty();
        if let Some(files) = &self.files {
            for path in self.sandbox_virtual_paths(framework_id, &executor) {
                let attached = files.attach(executor.directory.clone(), path.clone());
                attached.on_any(move |outcome| {
                    if let Ok(Err(error)) = outcome {
                        tracing::warn!("Failed to attach '{path}' to the files service: {error}");
                    }
                });
            }
        }
        let completed = run.completed;
        if completed {
            // Terminated, and every update acknowledged, in the previous run.
            self.metrics.increment("executors_terminated");
            executor.state = ExecutorState::Terminated;
            let launched: Vec<_> = executor.launched_tasks.drain().collect();
            executor.terminated_tasks.extend(launched);
        }
        let Some(framework) = self.frameworks.get_mut(framework_id) else { return };
        framework.executors.insert(state.id.clone(), executor);
        if completed {
            self.remove_executor(ctx, framework_id, &state.id);
        }
    }

    /// C++ `Slave::_recover`: every recovered executor's container is waited on; with
    /// `--recover=reconnect` v0 executors are asked to reconnect and HTTP ones are awaited,
    /// and those still registering after `--executor_reregistration_timeout` are killed;
    /// with `cleanup` they are all shut down.
    fn recover_executors(&mut self, ctx: &mut Context<Self>) {
        tracing::info!("Recovering executors");
        self.recovery.reconnect = true;
        let mode = self.options.recover;
        let slave_id = self.slave_id();
        let mut executors: Vec<(FrameworkId, ExecutorId)> = self
            .frameworks
            .iter()
            .flat_map(|(fid, f)| f.executors.keys().map(move |eid| (fid.clone(), eid.clone())))
            .collect();
        executors.sort_by(|a, b| (&a.0.value, &a.1.value).cmp(&(&b.0.value, &b.1.value)));
        for (framework_id, executor_id) in executors {
            let Some(executor) = self.frameworks.get(&framework_id).and_then(|f| f.executors.get(&executor_id)) else {
                continue;
            };
            let container_id = executor.container_id.clone();
            let connection = executor.connection.clone();
            let waited = self.containerizer.wait(container_id.clone());
            let (fid, eid, cid) = (framework_id.clone(), executor_id.clone(), container_id.clone());
            ctx.defer(waited, move |this: &mut Self, ctx, termination| {
                this.executor_terminated(ctx, &fid, &eid, &cid, termination.ok().flatten())
            });
            let unknown =
                self.recovery.unknown_connection.contains(&(framework_id.value.clone(), executor_id.value.clone()));
            let describe = format!("'{}' of framework {}", executor_id.value, framework_id.value);
            match (mode, connection, unknown) {
                (RecoverMode::Reconnect, Connection::Pid(pid), _) => {
                    tracing::info!("Sending reconnect request to executor {describe}");
                    ctx.send_protobuf(&pid, &ReconnectExecutorMessage { slave_id: slave_id.clone() });
                }
                (RecoverMode::Reconnect, _, false) => tracing::info!("Waiting for executor {describe} to subscribe"),
                (RecoverMode::Reconnect, _, true) => tracing::info!(
                    "Unable to reconnect to executor {describe} because no pid or http checkpoint file was found"
                ),
                (RecoverMode::Cleanup, _, false) => {
                    tracing::info!("Sending shutdown to executor {describe}");
                    self.shutdown_executor(ctx, &framework_id, &executor_id);
                }
                (RecoverMode::Cleanup, _, true) => {
                    tracing::info!("Killing executor {describe} because no pid or http checkpoint file was found");
                    drop(self.containerizer.destroy(container_id));
                }
            }
        }
        if !self.frameworks.is_empty() && mode == RecoverMode::Reconnect {
            // The agent registers once the executors had their chance (C++ MESOS-7539).
            ctx.delay(self.options.executor_reregistration_timeout, |this: &mut Self, ctx| {
                this.reregister_executor_timeout(ctx)
            });
        } else {
            self.finish_recovery(ctx);
        }
    }

    /// C++ `Slave::reregisterExecutorTimeout`: executors that have not reregistered are
    /// killed; their tasks end `TASK_GONE` (`TASK_LOST` for frameworks that are not
    /// partition-aware) with `REASON_EXECUTOR_REREGISTRATION_TIMEOUT`. Then recovery ends.
    fn reregister_executor_timeout(&mut self, ctx: &mut Context<Self>) {
        tracing::info!("Cleaning up un-reregistered executors");
        let timeout = libprocess::duration::format(self.options.executor_reregistration_timeout);
        let mut destroy = Vec::new();
        for framework in self.frameworks.values_mut() {
            let state = gone_or_lost(framework);
            for executor in framework.executors.values_mut() {
                if executor.state != ExecutorState::Registering {
                    continue;
                }
                tracing::info!(
                    "Killing un-reregistered executor '{}' of framework {}",
                    executor.id.value,
                    executor.framework_id.value
                );
                executor.state = ExecutorState::Terminating;
                executor.pending_termination = Some(ContainerTermination {
                    state: Some(state),
                    reason: Some(Reason::ExecutorReregistrationTimeout),
                    message: Some(format!("Executor did not reregister within {timeout}")),
                    ..ContainerTermination::default()
                });
                destroy.push(executor.container_id.clone());
            }
        }
        for container_id in destroy {
            drop(self.containerizer.destroy(container_id));
        }
        if self.state == State::Recovering {
            self.finish_recovery(ctx);
        }
    }

    /// C++ `Slave::__recover` once recovery succeeded: the boot id is checkpointed, then the
    /// agent looks for its master (`reconnect`) or, with `cleanup`, goes once its executors
    /// are gone.
    fn finish_recovery(&mut self, ctx: &mut Context<Self>) {
        tracing::info!("Finished recovery");
        self.checkpoint_boot_id();
        match self.options.recover {
            RecoverMode::Reconnect => {
                self.state = State::Disconnected;
                self.start_detection(ctx, None);
            }
            RecoverMode::Cleanup => {
                self.state = State::Terminating;
                if self.frameworks.is_empty() {
                    ctx.terminate();
                }
            }
        }
    }

    /// C++ `Slave::__recover` when recovery failed: C++'s advice is logged and the agent
    /// ends (`mesos-agent` then exits with status 1).
    fn recovery_failed(&mut self, ctx: &mut Context<Self>, error: &str) {
        let latest = crate::paths::latest_slave_path(&crate::paths::meta_root_dir(&self.options.work_dir));
        tracing::error!(
            "Failed to perform recovery: {error}\n\
             If recovery failed due to a change in configuration and you want to\n\
             keep the current agent id, you might want to change the\n\
             `--reconfiguration_policy` flag to a more permissive value.\n\
             \n\
             To restart this agent with a new agent id instead, do as follows:\n\
             rm -f {}\n\
             This ensures that the agent does not recover old live executors.\n\
             \n\
             Finally, restart the agent.",
            latest.display()
        );
        self.state = State::Terminating;
        ctx.terminate();
    }

    /// `ReregisterExecutorMessage` from a v0 executor answering `ReconnectExecutorMessage`
    /// (C++ `Slave::reregisterExecutor`): a registering executor runs again, hears
    /// `ExecutorReregisteredMessage`, and its unacknowledged updates are handled (again);
    /// staging tasks it never got are dropped. Anything else is told to shut down.
    pub(super) fn reregister_executor(
        &mut self,
        ctx: &mut Context<Self>,
        from: &UPID,
        message: ReregisterExecutorMessage,
    ) {
        let ReregisterExecutorMessage { executor_id, framework_id, tasks, updates } = message;
        tracing::info!(
            "Received re-registration message from executor '{}' of framework {}",
            executor_id.value,
            framework_id.value
        );
        let refuse = |ctx: &mut Context<Self>, why: &str| {
            tracing::warn!("Shutting down executor '{}' of framework {} {why}", executor_id.value, framework_id.value);
            ctx.send_protobuf(from, &ShutdownExecutorMessage::default());
        };
        if self.state == State::Terminating {
            return refuse(ctx, "because the agent is terminating");
        }
        let Some(framework) = self.frameworks.get_mut(&framework_id) else {
            return refuse(ctx, "because the framework is unknown");
        };
        if framework.terminating {
            return refuse(ctx, "because the framework is terminating");
        }
        let partition_aware = framework.partition_aware();
        let Some(executor) = framework.executors.get_mut(&executor_id) else {
            return refuse(ctx, "because it is unknown");
        };
        if executor.state != ExecutorState::Registering {
            return refuse(ctx, &format!("because it is in unexpected state {:?}", executor.state));
        }
        executor.state = ExecutorState::Running;
        executor.connection = Connection::Pid(from.clone());
        let container_id = executor.container_id.clone();
        ctx.link(from);
        let reregistered = ExecutorReregisteredMessage { slave_id: self.slave_id(), slave_info: self.info.clone() };
        ctx.send_protobuf(from, &reregistered);

        // The manager may have some of these already (the agent died after checkpointing
        // an update but before acknowledging it to the executor); it drops duplicates.
        for update in updates {
            self.status_update(ctx, update, Some(from.clone()));
        }

        let Some(executor) = self.frameworks.get(&framework_id).and_then(|f| f.executors.get(&executor_id)) else {
            return;
        };
        let updated = self.containerizer.update(container_id.clone(), allocated_resources(executor).to_vec());
        let (fid, eid) = (framework_id.clone(), executor_id.clone());
        ctx.defer(updated, move |this: &mut Self, ctx, outcome| {
            this.reregister_executor_updated(ctx, &fid, &eid, &container_id, outcome)
        });

        // A staging task the executor does not hold unacknowledged never reached it: the
        // agent went before sending it.
        let unacknowledged: HashSet<&TaskId> = tasks.iter().map(|task| &task.task_id).collect();
        let staging: Vec<TaskId> = executor
            .launched_tasks
            .values()
            .filter(|task| task.state == TaskState::TaskStaging as i32 && !unacknowledged.contains(&task.task_id))
            .map(|task| task.task_id.clone())
            .collect();
        let slave_id = self.slave_id();
        for task_id in staging {
            let state = if partition_aware { TaskState::TaskDropped } else { TaskState::TaskLost };
            tracing::info!(
                "Transitioning STAGED task {} to {} because it is unknown to the executor '{}'",
                task_id.value,
                state.as_str_name(),
                executor_id.value
            );
            let update = create_status_update(
                &framework_id,
                &slave_id,
                &task_id,
                state,
                Source::Slave,
                Some("Task launched during agent restart"),
                Some(Reason::SlaveRestarted),
                Some(&executor_id),
            );
            self.status_update(ctx, update, None);
        }

        let idle = self
            .frameworks
            .get(&framework_id)
            .and_then(|f| f.executors.get(&executor_id))
            .is_some_and(|e| !e.ever_sent_task && e.queued_tasks.is_empty());
        if idle {
            tracing::warn!(
                "Shutting down reregistering executor '{}' of framework {} because it has no tasks to run and has \
                 never been sent a task",
                executor_id.value,
                framework_id.value
            );
            self.shutdown_executor(ctx, &framework_id, &executor_id);
        }
    }

    /// C++ `Slave::_reregisterExecutor`: a container whose resources could not be updated
    /// is destroyed, its tasks to end `TASK_GONE` (`TASK_LOST`) with
    /// `REASON_CONTAINER_UPDATE_FAILED`.
    fn reregister_executor_updated(
        &mut self,
        _ctx: &mut Context<Self>,
        framework_id: &FrameworkId,
        executor_id: &ExecutorId,
        container_id: &mesos::proto::ContainerId,
        outcome: Outcome<Result<(), ContainerizerError>>,
    ) {
        let failure = match outcome {
            Ok(Ok(())) => return,
            Ok(Err(error)) => error.to_string(),
            Err(failure) => failure.to_string(),
        };
        tracing::error!(
            "Failed to update resources for container {} of executor '{}' of framework {}, destroying container: \
             {failure}",
            container_id.value,
            executor_id.value,
            framework_id.value
        );
        drop(self.containerizer.destroy(container_id.clone()));
        let Some(framework) = self.frameworks.get_mut(framework_id) else { return };
        let state = gone_or_lost(framework);
        if let Some(executor) = framework.executors.get_mut(executor_id) {
            executor.pending_termination = Some(ContainerTermination {
                state: Some(state),
                reason: Some(Reason::ContainerUpdateFailed),
                message: Some(format!("Failed to update resources for container: {failure}")),
                ..ContainerTermination::default()
            });
        }
    }
}
