//! The task status update manager actor: every task's stream, sending their heads to the master through the agent, retrying on a timer, pausing while the agent has no master, recovery and cleanup; mirrors `TaskStatusUpdateManagerProcess` and `TaskStatusUpdateManager` in `src/slave/task_status_update_manager.cpp`.
//!
//! The agent hands in updates with [`TaskStatusUpdateManager::update`] and the scheduler's
//! acknowledgements with [`TaskStatusUpdateManager::acknowledgement`]; the manager calls the
//! `forward` function it was initialized with (C++ `Slave::forward`) for every update that is
//! to go to the master, first or again. Each send arms a timer; when one fires, every stream
//! whose head is due is sent again with its interval doubled.

use std::collections::HashMap;
use std::path::PathBuf;

use libprocess::{Context, Future, Libprocess, Process, SpawnError, PID};
use mesos::internal::StatusUpdate;
use mesos::proto::{ContainerId, ExecutorId, FrameworkId, SlaveId, TaskId};
use mesos::state::Uuid;

use super::{describe_update, AckOutcome, Forward, StatusUpdateError, TaskStatusUpdateStream, UpdateOutcome};
use crate::paths::task_updates_path;
use crate::state::recover_task_updates;

/// The prefix of the actor's id (C++ `ID::generate("task-status-update-manager")`).
pub const PROCESS_ID_PREFIX: &str = "task-status-update-manager";

/// Where a checkpointing framework's update is logged: the run of the executor the task
/// belongs to.
#[derive(Clone, Debug, PartialEq)]
pub struct CheckpointAt {
    pub executor_id: ExecutorId,
    pub container_id: ContainerId,
}

/// A task whose `task.updates` is to be recovered: one of the latest, not completed, run of
/// its executor (the agent's recovery finds them; C++ walks `SlaveState`).
#[derive(Clone, Debug, PartialEq)]
pub struct RecoveredTask {
    pub framework_id: FrameworkId,
    pub executor_id: ExecutorId,
    pub container_id: ContainerId,
    pub task_id: TaskId,
}

/// Sends an update to the master (C++ `Slave::forward`).
pub type ForwardFn = Box<dyn FnMut(StatusUpdate) + Send>;

/// The actor (C++ `TaskStatusUpdateManagerProcess`).
pub struct TaskStatusUpdateManagerProcess {
    /// The agent's meta directory (C++ `paths::getMetaRootDir(flags.work_dir)`).
    meta_root: PathBuf,
    paused: bool,
    forward: Option<ForwardFn>,
    streams: HashMap<FrameworkId, HashMap<TaskId, TaskStatusUpdateStream>>,
}

impl Process for TaskStatusUpdateManagerProcess {}

impl TaskStatusUpdateManagerProcess {
    /// C++ `initialize(forward)`.
    fn initialize_forward(&mut self, forward: ForwardFn) {
        self.forward = Some(forward);
    }

    /// C++ `pause`.
    fn pause(&mut self) {
        tracing::info!("Pausing sending task status updates");
        self.paused = true;
    }

    /// C++ `resume`: every stream's head goes out again, with a fresh first interval.
    fn resume(&mut self, ctx: &mut Context<Self>) {
        tracing::info!("Resuming sending task status updates");
        self.paused = false;
        let now = ctx.now();
        let mut sends = Vec::new();
        for stream in self.streams.values_mut().flat_map(HashMap::values_mut) {
            if let Some(head) = stream.pending().front() {
                tracing::warn!("Resending task status update {}", describe_update(head));
            }
            sends.extend(stream.forward(now));
        }
        for send in sends {
            self.send(ctx, send);
        }
    }

    /// C++ `_update`: the update is checkpointed and queued in its task's stream (made if
    /// need be); if it is the only pending one and sending is not paused, it goes out now.
    fn update(
        &mut self,
        ctx: &mut Context<Self>,
        update: StatusUpdate,
        slave_id: &SlaveId,
        checkpoint: Option<CheckpointAt>,
    ) -> Result<(), StatusUpdateError> {
        tracing::info!("Received task status update {}", describe_update(&update));
        let framework_id = update.framework_id.clone();
        let task_id = update.status.task_id.clone();
        let checkpointed = checkpoint.is_some();
        let streams = self.streams.entry(framework_id.clone()).or_default();
        if !streams.contains_key(&task_id) {
            tracing::debug!(
                "Creating StatusUpdate stream for task {} of framework {}",
                task_id.value,
                framework_id.value
            );
            let path = checkpoint.map(|at| {
                task_updates_path(&self.meta_root, slave_id, &framework_id, &at.executor_id, &at.container_id, &task_id)
            });
            match TaskStatusUpdateStream::new(framework_id.clone(), task_id.clone(), path) {
                Ok(stream) => {
                    streams.insert(task_id.clone(), stream);
                }
                Err(error) => {
                    if streams.is_empty() {
                        self.streams.remove(&framework_id);
                    }
                    return Err(error);
                }
            }
        }
        let Some(stream) = streams.get_mut(&task_id) else { return Ok(()) };
        // A duplicate is not an error, so that the agent acknowledges it to the executor again.
        let outcome = stream.update(update, checkpointed)?;
        let send = match outcome {
            UpdateOutcome::Queued { head: true } if !self.paused => stream.forward(ctx.now()),
            _ => None,
        };
        if let Some(send) = send {
            self.send(ctx, send);
        }
        Ok(())
    }

    /// C++ `acknowledgement`: `Ok(true)` while the task's stream goes on, `Ok(false)` once a
    /// terminal update was acknowledged and the stream is gone.
    fn acknowledgement(
        &mut self,
        ctx: &mut Context<Self>,
        task_id: &TaskId,
        framework_id: &FrameworkId,
        uuid: Uuid,
    ) -> Result<bool, StatusUpdateError> {
        tracing::info!(
            "Received task status update acknowledgement (UUID: {uuid}) for task {} of framework {}",
            task_id.value,
            framework_id.value
        );
        // Recovery not done yet, or the stream was cleaned up.
        let Some(stream) = self.streams.get_mut(framework_id).and_then(|streams| streams.get_mut(task_id)) else {
            return Err(StatusUpdateError::UnknownStream {
                task: task_id.value.clone(),
                framework: framework_id.value.clone(),
            });
        };
        match stream.acknowledgement(uuid)? {
            // C++ fails both with the same text.
            AckOutcome::Duplicate | AckOutcome::Unexpected { .. } => Err(StatusUpdateError::DuplicateAcknowledgement),
            AckOutcome::Acknowledged { terminated: true } => {
                self.cleanup_stream(task_id, framework_id);
                Ok(false)
            }
            AckOutcome::Acknowledged { terminated: false } => {
                let send = if self.paused { None } else { stream.forward(ctx.now()) };
                if let Some(send) = send {
                    self.send(ctx, send);
                }
                Ok(true)
            }
        }
    }

    /// C++ `timeout`: every stream whose head is due is sent again, unless paused.
    fn timeout(&mut self, ctx: &mut Context<Self>) {
        if self.paused {
            return;
        }
        let now = ctx.now();
        let sends: Vec<Forward> =
            self.streams.values_mut().flat_map(HashMap::values_mut).filter_map(|stream| stream.timeout(now)).collect();
        for send in sends {
            self.send(ctx, send);
        }
    }

    /// C++ `recover`: each task's log is replayed into a stream; tasks without any update
    /// get none, and streams that come back terminated are dropped. Pending updates go out
    /// on the next `resume`.
    fn recover(&mut self, slave_id: &SlaveId, tasks: Vec<RecoveredTask>) -> Result<(), StatusUpdateError> {
        tracing::info!("Recovering task status update manager");
        for task in tasks {
            let path = task_updates_path(
                &self.meta_root,
                slave_id,
                &task.framework_id,
                &task.executor_id,
                &task.container_id,
                &task.task_id,
            );
            let logged = match recover_task_updates(&path, true) {
                Ok(logged) => logged,
                Err(error) => {
                    return Err(StatusUpdateError::Recovery {
                        task: task.task_id.value.clone(),
                        framework: task.framework_id.value.clone(),
                        reason: error.to_string(),
                    })
                }
            };
            if logged.updates.is_empty() {
                // The executor never got the task, or the agent died before any update.
                tracing::warn!(
                    "No status updates found for task {} of framework {}",
                    task.task_id.value,
                    task.framework_id.value
                );
                continue;
            }
            let mut stream = TaskStatusUpdateStream::new(task.framework_id.clone(), task.task_id.clone(), Some(path))?;
            stream.replay(&logged.updates, &logged.acks).map_err(|error| StatusUpdateError::Recovery {
                task: task.task_id.value.clone(),
                framework: task.framework_id.value.clone(),
                reason: error.to_string(),
            })?;
            if !stream.terminated() {
                self.streams.entry(task.framework_id).or_default().insert(task.task_id, stream);
            }
        }
        Ok(())
    }

    /// C++ `cleanup`: the framework's streams go, pending updates and all.
    fn cleanup(&mut self, framework_id: &FrameworkId) {
        tracing::info!("Closing task status update streams for framework {}", framework_id.value);
        self.streams.remove(framework_id);
    }

    fn cleanup_stream(&mut self, task_id: &TaskId, framework_id: &FrameworkId) {
        tracing::debug!(
            "Cleaning up status update stream for task {} of framework {}",
            task_id.value,
            framework_id.value
        );
        if let Some(streams) = self.streams.get_mut(framework_id) {
            streams.remove(task_id);
            if streams.is_empty() {
                self.streams.remove(framework_id);
            }
        }
    }

    /// C++ `forward`: hands the update to the agent and arms the retry timer.
    fn send(&mut self, ctx: &mut Context<Self>, send: Forward) {
        tracing::debug!("Forwarding task status update {} to the agent", describe_update(&send.update));
        match &mut self.forward {
            Some(forward) => forward(send.update),
            None => tracing::warn!("Dropping task status update: the manager was not initialized"),
        }
        ctx.delay(send.retry_after, |this: &mut Self, ctx| this.timeout(ctx));
    }

    /// The pending updates of every stream, by framework and task (for tests and the
    /// agent's state endpoint).
    fn pending(&self) -> Vec<(FrameworkId, TaskId, Vec<StatusUpdate>)> {
        let mut pending: Vec<_> = self
            .streams
            .iter()
            .flat_map(|(framework_id, streams)| {
                streams.iter().map(move |(task_id, stream)| {
                    (framework_id.clone(), task_id.clone(), stream.pending().iter().cloned().collect())
                })
            })
            .collect();
        pending.sort_by(|a, b| (&a.0.value, &a.1.value).cmp(&(&b.0.value, &b.1.value)));
        pending
    }
}

/// The handle the agent holds (C++ `TaskStatusUpdateManager`); cheap to clone.
#[derive(Clone)]
pub struct TaskStatusUpdateManager {
    pid: PID<TaskStatusUpdateManagerProcess>,
}

impl TaskStatusUpdateManager {
    /// Spawns the actor; `work_dir` is the agent's `--work_dir`, under whose meta directory
    /// checkpointed updates are logged.
    pub fn create(lp: &Libprocess, work_dir: &std::path::Path) -> Result<TaskStatusUpdateManager, SpawnError> {
        let process = TaskStatusUpdateManagerProcess {
            meta_root: crate::paths::meta_root_dir(work_dir),
            paused: false,
            forward: None,
            streams: HashMap::new(),
        };
        let pid = lp.spawn(libprocess::id::generate(PROCESS_ID_PREFIX), process)?;
        Ok(TaskStatusUpdateManager { pid })
    }

    pub fn pid(&self) -> &PID<TaskStatusUpdateManagerProcess> {
        &self.pid
    }

    /// Sets the function that sends updates to the master (C++ `initialize`).
    pub fn initialize(&self, forward: ForwardFn) {
        self.pid.dispatch_void(move |this, _| this.initialize_forward(forward));
    }

    /// Takes an update (C++ `update`): `checkpoint` names the executor run to log it under
    /// when the framework checkpoints. Completes once it is checkpointed and queued; then
    /// the agent acknowledges it to the executor. A duplicate completes as well.
    pub fn update(
        &self,
        update: StatusUpdate,
        slave_id: SlaveId,
        checkpoint: Option<CheckpointAt>,
    ) -> Future<Result<(), StatusUpdateError>> {
        self.pid.dispatch(move |this, ctx| this.update(ctx, update, &slave_id, checkpoint))
    }

    /// Takes the scheduler's acknowledgement (C++ `acknowledgement`): `Ok(false)` when it
    /// ended the task's stream (its terminal update was acknowledged).
    pub fn acknowledgement(
        &self,
        task_id: TaskId,
        framework_id: FrameworkId,
        uuid: Uuid,
    ) -> Future<Result<bool, StatusUpdateError>> {
        self.pid.dispatch(move |this, ctx| this.acknowledgement(ctx, &task_id, &framework_id, uuid))
    }

    /// Rebuilds the streams of recovered tasks (C++ `recover`).
    pub fn recover(&self, slave_id: SlaveId, tasks: Vec<RecoveredTask>) -> Future<Result<(), StatusUpdateError>> {
        self.pid.dispatch(move |this, _| this.recover(&slave_id, tasks))
    }

    /// Stops sending (the agent lost its master).
    pub fn pause(&self) {
        self.pid.dispatch_void(|this, _| this.pause());
    }

    /// Sends every stream's head again (the agent (re)registered).
    pub fn resume(&self) {
        self.pid.dispatch_void(|this, ctx| this.resume(ctx));
    }

    /// Drops a framework's streams (the framework is removed from the agent).
    pub fn cleanup(&self, framework_id: FrameworkId) {
        self.pid.dispatch_void(move |this, _| this.cleanup(&framework_id));
    }

    /// Every stream's pending updates, sorted by framework and task id.
    pub fn pending(&self) -> Future<Vec<(FrameworkId, TaskId, Vec<StatusUpdate>)>> {
        self.pid.dispatch(|this, _| this.pending())
    }
}
