//! The "summary" JSON of the legacy GET endpoints (`/state`, `/tasks`, `/frameworks`, ...) shared by the master and the agent: resources, attributes, labels, tasks, executors, master and agent infos, offers and capabilities written by hand rather than protobuf-shaped; mirrors the `json(...)` writers of `src/common/http.cpp`.
//!
//! Everything writes into a [`Writer`]. Functions named `write_*` write one whole value;
//! those named `*_fields` write keys into an object the caller has opened, so that callers can
//! add their own keys (the master appends `slave_id` to an executor, for example).
//!
//! Where C++ reads an unset field through its getter, these writers use the proto default as
//! well (`""` for strings, `0` for numbers), so the same keys are always present.
//!
//! # Divergences from C++
//!
//! - In a resources summary C++ writes hash-map order; here `cpus`, `gpus`, `mem`, `disk`
//!   come first, then the other scalars, ranges and sets, each group sorted by name.
//! - A task without resources gets `"role":""` (C++ reads past the end of the list).

use std::borrow::Cow;

use crate::json::{JsonEnum, Writer};
use crate::proto::value::{Ranges, Scalar, Set, Type};
use crate::proto::{
    Attribute, CommandInfo, ContainerStatus, DomainInfo, ExecutorInfo, Labels, MasterInfo, NetworkInfo, Offer,
    Resource, SlaveInfo, Task, TaskState, TaskStatus,
};
use crate::resources::{addable, is_empty_resource, Resources};

/// The name of enum value `value`, or `""` for a value the enum does not declare (C++
/// `<Enum>_Name`).
pub fn enum_name<E: JsonEnum>(value: i32) -> &'static str {
    E::json_name(value, false).unwrap_or("")
}

/// The scalars every summary carries, zero when absent, in the order they are written.
const STANDARD_SCALARS: [&str; 4] = ["cpus", "gpus", "mem", "disk"];

/// A resources summary: `{"cpus":..,"gpus":..,"mem":..,"disk":..,<other>:..}`. Scalars are
/// summed as doubles, ranges written as `"[a-b, c-d]"`, sets as `"{x, y}"`; revocable
/// resources are keyed `<name>_revocable`.
pub fn write_resources<'a>(w: &mut Writer, resources: impl IntoIterator<Item = &'a Resource>) {
    let mut summary = Summary::default();
    for resource in resources {
        summary.add(resource, resource.scalar.map_or(0.0, |s| s.value));
    }
    summary.write(w);
}

/// The summary of the sum of `resources` (C++ `json(Resources::sum(...))`): alike resources
/// (same name and metadata) are added first, in fixed point as `Resources` adds them, then
/// summarized. Scalars are merged on the stack; anything else goes through a `Resources`.
pub fn write_resources_sum<'a>(w: &mut Writer, resources: impl IntoIterator<Item = &'a Resource>) {
    const INLINE: usize = 16;
    let mut merged: [Option<(&Resource, Scalar)>; INLINE] = [None; INLINE];
    let mut count = 0;
    let mut resources = resources.into_iter();
    while let Some(resource) = resources.next() {
        let scalar = match (resource.r#type(), resource.scalar) {
            (Type::Scalar, Some(scalar)) if resource.shared.is_none() => scalar,
            _ => return write_sum_slowly(w, &merged, resource, resources),
        };
        if is_empty_resource(resource) {
            continue;
        }
        match merged[..count].iter_mut().flatten().find(|(first, _)| addable(first, resource)) {
            Some((_, sum)) => *sum += &scalar,
            None if count < INLINE => {
                merged[count] = Some((resource, scalar));
                count += 1;
            }
            None => return write_sum_slowly(w, &merged, resource, resources),
        }
    }
    let mut summary = Summary::default();
    for (resource, sum) in merged.iter().flatten() {
        summary.add(resource, sum.value);
    }
    summary.write(w);
}

/// [`write_resources_sum`] through a `Resources`: what was merged so far, `next`, the rest.
fn write_sum_slowly<'a>(
    w: &mut Writer,
    merged: &[Option<(&Resource, Scalar)>],
    next: &'a Resource,
    rest: impl Iterator<Item = &'a Resource>,
) {
    let mut sum = Resources::new();
    for (resource, scalar) in merged.iter().flatten() {
        sum += &Resource { scalar: Some(*scalar), ..(*resource).clone() };
    }
    for resource in std::iter::once(next).chain(rest) {
        sum += resource;
    }
    write_resources(w, sum.iter());
}

/// A resources summary being added up.
#[derive(Default)]
struct Summary<'a> {
    standard: [f64; 4],
    // Other names are rare: small vectors searched linearly, allocated only when used.
    scalars: Vec<(Cow<'a, str>, f64)>,
    ranges: Vec<(Cow<'a, str>, Ranges)>,
    sets: Vec<(Cow<'a, str>, Set)>,
}

impl<'a> Summary<'a> {
    /// Adds `resource`, a scalar counting as `scalar`.
    fn add(&mut self, resource: &'a Resource, scalar: f64) {
        let revocable = resource.revocable.is_some();
        let kind = resource.r#type();
        if kind == Type::Scalar && !revocable {
            if let Some(slot) = STANDARD_SCALARS.iter().position(|name| *name == resource.name) {
                self.standard[slot] += scalar;
                return;
            }
        }
        let name: Cow<'a, str> =
            if revocable { Cow::Owned(format!("{}_revocable", resource.name)) } else { Cow::Borrowed(&resource.name) };
        match kind {
            Type::Scalar => match self.scalars.iter_mut().find(|(n, _)| *n == name) {
                Some((_, sum)) => *sum += scalar,
                None => self.scalars.push((name, scalar)),
            },
            Type::Ranges => {
                let value = resource.ranges.clone().unwrap_or_default();
                match self.ranges.iter_mut().find(|(n, _)| *n == name) {
                    Some((_, sum)) => *sum += &value,
                    None => {
                        let mut first = Ranges::default();
                        first += &value;
                        self.ranges.push((name, first));
                    }
                }
            }
            Type::Set => {
                let value = resource.set.clone().unwrap_or_default();
                match self.sets.iter_mut().find(|(n, _)| *n == name) {
                    Some((_, sum)) => *sum += &value,
                    None => {
                        let mut first = Set::default();
                        first += &value;
                        self.sets.push((name, first));
                    }
                }
            }
            Type::Text => {}
        }
    }

    fn write(mut self, w: &mut Writer) {
        self.scalars.sort_by(|a, b| a.0.cmp(&b.0));
        self.ranges.sort_by(|a, b| a.0.cmp(&b.0));
        self.sets.sort_by(|a, b| a.0.cmp(&b.0));
        w.begin_object();
        for (name, value) in STANDARD_SCALARS.into_iter().zip(self.standard) {
            w.key_ident(name);
            w.f64(value);
        }
        for (name, value) in &self.scalars {
            w.key(name);
            w.f64(*value);
        }
        for (name, value) in &self.ranges {
            w.key(name);
            w.str(&value.to_string());
        }
        for (name, value) in &self.sets {
            w.key(name);
            w.str(&value.to_string());
        }
        w.end_object();
    }
}

/// Named quantities as an object of numbers (C++ `json(ResourceQuantities)`).
pub fn write_quantities<'a>(w: &mut Writer, quantities: impl IntoIterator<Item = (&'a str, f64)>) {
    w.begin_object();
    for (name, value) in quantities {
        w.key(name);
        w.f64(value);
    }
    w.end_object();
}

/// Attributes as `{name: value}`: scalars as numbers, ranges, sets and text as strings.
pub fn write_attributes(w: &mut Writer, attributes: &[Attribute]) {
    w.begin_object();
    for attribute in attributes {
        w.key(&attribute.name);
        match attribute.r#type() {
            Type::Scalar => w.f64(attribute.scalar.map_or(0.0, |s| s.value)),
            Type::Ranges => w.str(&attribute.ranges.clone().unwrap_or_default().to_string()),
            Type::Set => w.str(&attribute.set.clone().unwrap_or_default().to_string()),
            Type::Text => w.str(attribute.text.as_ref().map_or("", |t| t.value.as_str())),
        }
    }
    w.end_object();
}

/// Labels as a bare array of `{"key":..,"value":..}`.
pub fn write_labels(w: &mut Writer, labels: &Labels) {
    w.begin_array();
    for label in &labels.labels {
        w.message(label);
    }
    w.end_array();
}

/// Capabilities as an array of their type names (`["MULTI_ROLE"]`).
pub fn write_capabilities<E: JsonEnum>(w: &mut Writer, types: impl IntoIterator<Item = i32>) {
    w.begin_array();
    for kind in types {
        w.str(enum_name::<E>(kind));
    }
    w.end_array();
}

/// A fault domain: `{"fault_domain":{"region":{"name":..},"zone":{"name":..}}}`, or `{}`.
pub fn write_domain(w: &mut Writer, domain: &DomainInfo) {
    w.begin_object();
    if let Some(fault_domain) = &domain.fault_domain {
        w.key_ident("fault_domain");
        w.begin_object();
        w.key_ident("region");
        w.begin_object();
        w.key_ident("name");
        w.str(&fault_domain.region.name);
        w.end_object();
        w.key_ident("zone");
        w.begin_object();
        w.key_ident("name");
        w.str(&fault_domain.zone.name);
        w.end_object();
        w.end_object();
    }
    w.end_object();
}

/// A command: `shell`?, `value`?, `argv`, `environment`? (protobuf), `uris`.
pub fn write_command(w: &mut Writer, command: &CommandInfo) {
    w.begin_object();
    if let Some(shell) = command.shell {
        w.key_ident("shell");
        w.bool(shell);
    }
    if let Some(value) = &command.value {
        w.key_ident("value");
        w.str(value);
    }
    w.key_ident("argv");
    w.begin_array();
    for argument in &command.arguments {
        w.str(argument);
    }
    w.end_array();
    if let Some(environment) = &command.environment {
        w.key_ident("environment");
        w.message(environment);
    }
    w.key_ident("uris");
    w.begin_array();
    for uri in &command.uris {
        w.begin_object();
        w.key_ident("value");
        w.str(&uri.value);
        w.key_ident("executable");
        w.bool(uri.executable());
        w.end_object();
    }
    w.end_array();
    w.end_object();
}

/// An executor's keys: `executor_id`, `name`, `framework_id`, `command`, `resources`,
/// `role` (when it has resources), `labels`?, `type`?.
pub fn executor_fields(w: &mut Writer, executor: &ExecutorInfo) {
    w.key_ident("executor_id");
    w.str(&executor.executor_id.value);
    w.key_ident("name");
    w.str(executor.name());
    w.key_ident("framework_id");
    w.str(executor.framework_id.as_ref().map_or("", |id| id.value.as_str()));
    w.key_ident("command");
    write_command(w, executor.command.as_ref().unwrap_or(&CommandInfo::default()));
    w.key_ident("resources");
    write_resources(w, &executor.resources);
    if let Some(first) = executor.resources.first() {
        w.key_ident("role");
        w.str(allocation_role(first));
    }
    if let Some(labels) = &executor.labels {
        w.key_ident("labels");
        write_labels(w, labels);
    }
    if let Some(kind) = executor.r#type {
        w.key_ident("type");
        w.str(enum_name::<crate::proto::executor_info::Type>(kind));
    }
}

/// The role a resource is allocated to, `""` if none.
fn allocation_role(resource: &Resource) -> &str {
    resource.allocation_info.as_ref().and_then(|a| a.role.as_deref()).unwrap_or("")
}

/// A master: `{"id","pid","port","hostname","domain"?}` (the `leader_info` of `/state`).
pub fn write_master_info(w: &mut Writer, info: &MasterInfo) {
    w.begin_object();
    w.key_ident("id");
    w.str(&info.id);
    w.key_ident("pid");
    w.str(info.pid());
    w.key_ident("port");
    w.u64(u64::from(info.port));
    w.key_ident("hostname");
    w.str(info.hostname());
    if let Some(domain) = &info.domain {
        w.key_ident("domain");
        write_domain(w, domain);
    }
    w.end_object();
}

/// An agent's keys: `id`, `hostname`, `port`, `attributes`, `domain`?.
pub fn slave_info_fields(w: &mut Writer, info: &SlaveInfo) {
    w.key_ident("id");
    w.str(info.id.as_ref().map_or("", |id| id.value.as_str()));
    w.key_ident("hostname");
    w.str(&info.hostname);
    w.key_ident("port");
    w.i64(i64::from(info.port()));
    w.key_ident("attributes");
    write_attributes(w, &info.attributes);
    if let Some(domain) = &info.domain {
        w.key_ident("domain");
        write_domain(w, domain);
    }
}

/// An agent as one object (the `recovered_slaves` entries).
pub fn write_slave_info(w: &mut Writer, info: &SlaveInfo) {
    w.begin_object();
    slave_info_fields(w, info);
    w.end_object();
}

/// An offer: `id`, `framework_id`, `allocation_info` (protobuf), `slave_id`, `resources`.
pub fn write_offer(w: &mut Writer, offer: &Offer) {
    w.begin_object();
    w.key_ident("id");
    w.str(&offer.id.value);
    w.key_ident("framework_id");
    w.str(&offer.framework_id.value);
    w.key_ident("allocation_info");
    match &offer.allocation_info {
        Some(allocation) => w.message(allocation),
        None => w.raw("{}"),
    }
    w.key_ident("slave_id");
    w.str(&offer.slave_id.value);
    w.key_ident("resources");
    write_resources(w, &offer.resources);
    w.end_object();
}

/// A task (C++ `json(Task)`): ids, `state`, `resources`, `limits`?, `role`, `statuses`,
/// `user`?, `labels`?, and `discovery`?, `container`?, `health_check`? as protobuf JSON.
pub fn write_task(w: &mut Writer, task: &Task) {
    w.begin_object();
    w.key_ident("id");
    w.str(&task.task_id.value);
    w.key_ident("name");
    w.str(&task.name);
    w.key_ident("framework_id");
    w.str(&task.framework_id.value);
    w.key_ident("executor_id");
    w.str(task.executor_id.as_ref().map_or("", |id| id.value.as_str()));
    w.key_ident("slave_id");
    w.str(&task.slave_id.value);
    w.key_ident("state");
    w.str(enum_name::<TaskState>(task.state));
    w.key_ident("resources");
    write_resources(w, &task.resources);
    if !task.limits.is_empty() {
        w.key_ident("limits");
        write_quantities(w, task.limits.iter().map(|(name, scalar)| (name.as_str(), scalar.value)));
    }
    w.key_ident("role");
    w.str(task.resources.first().map_or("", allocation_role));
    w.key_ident("statuses");
    w.begin_array();
    for status in &task.statuses {
        write_task_status(w, status);
    }
    w.end_array();
    if let Some(user) = &task.user {
        w.key_ident("user");
        w.str(user);
    }
    if let Some(labels) = &task.labels {
        w.key_ident("labels");
        write_labels(w, labels);
    }
    if let Some(discovery) = &task.discovery {
        w.key_ident("discovery");
        w.message(discovery);
    }
    if let Some(container) = &task.container {
        w.key_ident("container");
        w.message(container);
    }
    if let Some(health_check) = &task.health_check {
        w.key_ident("health_check");
        w.message(health_check);
    }
    w.end_object();
}

/// About the size of a task in `/master/state`, to cut task arrays into segments.
const TASK_SIZE: usize = 600;

/// An array of tasks, a long one written on every core ([`crate::segments`]).
pub fn write_task_array(w: &mut Writer, tasks: &[&Task]) {
    crate::segments::write_array(w, tasks, TASK_SIZE, write_task_run);
}

/// Tasks one after the other, each warming the caches for the one two places ahead.
fn write_task_run(w: &mut Writer, tasks: &[&Task]) {
    for (i, task) in tasks.iter().enumerate() {
        if let Some(ahead) = tasks.get(i + 2) {
            warm(ahead);
        }
        write_task(w, task);
    }
}

/// Reads one byte of each string of `task` that [`write_task`] reads. The loads are
/// independent, so their cache misses overlap each other and the writing of the task
/// before, instead of stalling one by one inside it.
fn warm(task: &Task) {
    let mut seen = 0u8;
    let mut touch = |text: &str| seen ^= text.as_bytes().first().copied().unwrap_or(0);
    touch(&task.name);
    touch(&task.task_id.value);
    touch(&task.framework_id.value);
    touch(&task.slave_id.value);
    for resource in &task.resources {
        touch(&resource.name);
        touch(allocation_role(resource));
    }
    for label in task.labels.iter().flat_map(|labels| &labels.labels) {
        touch(&label.key);
        touch(label.value.as_deref().unwrap_or_default());
    }
    for status in &task.statuses {
        seen ^= status.state as u8;
    }
    std::hint::black_box(seen);
}

/// A status: `state`, `timestamp`, `labels`?, `container_status`?, `healthy`?.
pub fn write_task_status(w: &mut Writer, status: &TaskStatus) {
    w.begin_object();
    w.key_ident("state");
    w.str(enum_name::<TaskState>(status.state));
    w.key_ident("timestamp");
    w.f64(status.timestamp());
    if let Some(labels) = &status.labels {
        w.key_ident("labels");
        write_labels(w, labels);
    }
    if let Some(container_status) = &status.container_status {
        w.key_ident("container_status");
        write_container_status(w, container_status);
    }
    if let Some(healthy) = status.healthy {
        w.key_ident("healthy");
        w.bool(healthy);
    }
    w.end_object();
}

/// `container_id`? and `cgroup_info`? as protobuf JSON, `network_infos` when there are any.
fn write_container_status(w: &mut Writer, status: &ContainerStatus) {
    w.begin_object();
    if let Some(container_id) = &status.container_id {
        w.key_ident("container_id");
        w.message(container_id);
    }
    if !status.network_infos.is_empty() {
        w.key_ident("network_infos");
        w.begin_array();
        for info in &status.network_infos {
            write_network_info(w, info);
        }
        w.end_array();
    }
    if let Some(cgroup_info) = &status.cgroup_info {
        w.key_ident("cgroup_info");
        w.message(cgroup_info);
    }
    w.end_object();
}

/// `groups`, `labels` (bare array), `ip_addresses`, `name`, `port_mappings`, each when set.
fn write_network_info(w: &mut Writer, info: &NetworkInfo) {
    w.begin_object();
    if !info.groups.is_empty() {
        w.key_ident("groups");
        w.begin_array();
        for group in &info.groups {
            w.str(group);
        }
        w.end_array();
    }
    if let Some(labels) = &info.labels {
        w.key_ident("labels");
        write_labels(w, labels);
    }
    if !info.ip_addresses.is_empty() {
        w.key_ident("ip_addresses");
        w.begin_array();
        for address in &info.ip_addresses {
            w.message(address);
        }
        w.end_array();
    }
    if let Some(name) = &info.name {
        w.key_ident("name");
        w.str(name);
    }
    if !info.port_mappings.is_empty() {
        w.key_ident("port_mappings");
        w.begin_array();
        for mapping in &info.port_mappings {
            w.message(mapping);
        }
        w.end_array();
    }
    w.end_object();
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::resource::{AllocationInfo, RevocableInfo};
    use crate::proto::{Label, TaskId};

    fn text(write: impl FnOnce(&mut Writer)) -> String {
        let mut w = Writer::new();
        write(&mut w);
        w.into_string()
    }

    #[test]
    fn a_summary_always_has_the_four_standard_scalars() {
        assert_eq!(text(|w| write_resources(w, &[])), r#"{"cpus":0.0,"gpus":0.0,"mem":0.0,"disk":0.0}"#);
    }

    #[test]
    fn a_summary_sums_by_name_and_formats_ranges_and_sets() {
        let mut resources =
            Resources::parse("cpus:1.5;mem:128;ports:[33000-34000];zones:{b,a};fpgas:2", "*").unwrap().to_vec();
        resources.extend(Resources::parse("ports:[31000-32000];cpus(web):0.5", "*").unwrap().to_vec());
        let mut revocable = Resources::parse("cpus:3", "*").unwrap().to_vec();
        revocable[0].revocable = Some(RevocableInfo::default());
        resources.extend(revocable);
        assert_eq!(
            text(|w| write_resources(w, &resources)),
            r#"{"cpus":2.0,"gpus":0.0,"mem":128.0,"disk":0.0,"cpus_revocable":3.0,"fpgas":2.0,"ports":"[31000-32000, 33000-34000]","zones":"{b, a}"}"#
        );
    }

    #[test]
    fn a_sum_merges_alike_resources_in_fixed_point_first() {
        let allocated = |text: &str, role: &str| {
            let mut resources = Resources::parse(text, "*").unwrap();
            resources.allocate(role);
            resources.to_vec()
        };
        // Ten tenths of one kind make exactly one, as `Resources` adds them; tenths of two
        // kinds are summed as doubles.
        let tenths: Vec<Resource> = (0..10).flat_map(|_| allocated("cpus:0.1", "a")).collect();
        assert_eq!(text(|w| write_resources_sum(w, &tenths)), r#"{"cpus":1.0,"gpus":0.0,"mem":0.0,"disk":0.0}"#);
        assert_eq!(
            text(|w| write_resources(w, &tenths)),
            r#"{"cpus":0.9999999999999999,"gpus":0.0,"mem":0.0,"disk":0.0}"#
        );
        let two: Vec<Resource> = allocated("cpus:0.1", "a").into_iter().chain(allocated("cpus:0.2", "b")).collect();
        assert_eq!(text(|w| write_resources_sum(w, &two)), text(|w| write_resources(w, &two)));
        // Ranges take the `Resources` path, with the same result.
        let mut mixed = allocated("cpus:0.1;ports:[1-2]", "a");
        mixed.extend(allocated("cpus:0.2;ports:[3-4]", "a"));
        let sum: Resources = mixed.iter().cloned().collect();
        assert_eq!(text(|w| write_resources_sum(w, &mixed)), text(|w| write_resources(w, sum.iter())));
        assert!(text(|w| write_resources_sum(w, &mixed)).contains(r#""ports":"[1-4]""#));
    }

    #[test]
    fn attributes_are_numbers_or_strings() {
        let mut attributes = crate::attributes::Attributes::parse("rack:r1;level:2.5;ports:[1-3]").unwrap().to_vec();
        // `--attributes` cannot give sets, but the protobuf can.
        let mut zones =
            Attribute { name: "zones".into(), set: Some(crate::values::set(&["x", "y"])), ..Default::default() };
        zones.set_type(Type::Set);
        attributes.push(zones);
        assert_eq!(
            text(|w| write_attributes(w, &attributes)),
            r#"{"rack":"r1","level":2.5,"ports":"[1-3]","zones":"{x, y}"}"#
        );
    }

    #[test]
    fn a_task_has_the_summary_shape() {
        let mut resources = Resources::parse("cpus:0.1;mem:5", "*").unwrap().to_vec();
        for resource in &mut resources {
            resource.allocation_info = Some(AllocationInfo { role: Some("web".into()) });
        }
        let mut status =
            TaskStatus { task_id: TaskId { value: "t".into() }, timestamp: Some(12.5), ..Default::default() };
        status.set_state(TaskState::TaskRunning);
        status.healthy = Some(true);
        let mut task = Task {
            name: "n".into(),
            task_id: TaskId { value: "t".into() },
            resources,
            statuses: vec![status],
            labels: Some(Labels { labels: vec![Label { key: "k".into(), value: Some("v".into()) }] }),
            ..Default::default()
        };
        task.framework_id.value = "f".into();
        task.slave_id.value = "s".into();
        task.set_state(TaskState::TaskRunning);
        assert_eq!(
            text(|w| write_task(w, &task)),
            r#"{"id":"t","name":"n","framework_id":"f","executor_id":"","slave_id":"s","state":"TASK_RUNNING","resources":{"cpus":0.1,"gpus":0.0,"mem":5.0,"disk":0.0},"role":"web","statuses":[{"state":"TASK_RUNNING","timestamp":12.5,"healthy":true}],"labels":[{"key":"k","value":"v"}]}"#
        );
    }

    #[test]
    fn a_long_task_list_written_in_parts_is_the_list_written_in_order() {
        let tasks: Vec<Task> = (0..(8 << 20) / TASK_SIZE + 7)
            .map(|i| {
                let mut task = Task { name: format!("task {i}"), ..Default::default() };
                task.task_id.value = i.to_string();
                task.set_state(TaskState::TaskRunning);
                task
            })
            .collect();
        let references: Vec<&Task> = tasks.iter().collect();
        let mut expected = String::from("[");
        for (i, task) in tasks.iter().enumerate() {
            if i > 0 {
                expected.push(',');
            }
            expected.push_str(&text(|w| write_task(w, task)));
        }
        expected.push(']');
        assert_eq!(text(|w| write_task_array(w, &references)), expected);
        assert_eq!(text(|w| write_task_array(w, &[])), "[]");
    }

    #[test]
    fn a_command_always_has_argv_and_uris() {
        assert_eq!(text(|w| write_command(w, &CommandInfo::default())), r#"{"argv":[],"uris":[]}"#);
    }

    #[test]
    fn unknown_enum_values_have_an_empty_name() {
        assert_eq!(enum_name::<TaskState>(1000), "");
        assert_eq!(enum_name::<TaskState>(TaskState::TaskFinished as i32), "TASK_FINISHED");
    }
}
