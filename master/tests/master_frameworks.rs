//! The master's framework flow driven end to end on a paused clock: the real master, allocator and registrar (in-memory storage), a fake agent registered through the real flow, and fake schedulers played by libprocess processes; subscription (Call and legacy messages), offers, decline filters, revive, suppress, disconnection and failover, teardown, and bad input.

mod common;

use common::{agent_info, call, framework_info, subscribe_call, within, Cluster, Fake, INTERVAL, ROLE};
use mesos::internal::{
    RegisterFrameworkMessage, RescindResourceOfferMessage, ResourceOffersMessage, ShutdownFrameworkMessage,
    UnregisterFrameworkMessage,
};
use mesos::proto::scheduler::call::{Decline, Revive, Suppress, Type as CallType};
use mesos::proto::scheduler::Call;
use mesos::proto::{Filters, FrameworkId, FrameworkInfo, SlaveId};
use mesos::resources::Resources;

impl Cluster {
    /// Registers an agent with `cpus:2;mem:1024` through the real flow.
    async fn agent(&self) -> (Fake, SlaveId) {
        self.register_agent(agent_info("agent1", "cpus:2;mem:1024")).await
    }
}

fn decline(id: &FrameworkId, offers: &ResourceOffersMessage, refuse_seconds: f64) -> Call {
    Call {
        decline: Some(Decline {
            offer_ids: offers.offers.iter().map(|o| o.id.clone()).collect(),
            filters: Some(Filters { refuse_seconds: Some(refuse_seconds) }),
        }),
        ..call(id, CallType::Decline)
    }
}

#[tokio::test]
async fn subscribe_is_answered_and_the_agent_is_offered() {
    let cluster = Cluster::start().await;
    let (agent, agent_id) = cluster.agent().await;
    let scheduler = cluster.spawn_scheduler();
    let id = cluster.subscribe(&scheduler, framework_info(&[ROLE])).await;

    assert_eq!(id.value, format!("{}-0000", cluster.master_id));
    let registered = scheduler.registered();
    assert_eq!(registered.len(), 1);
    assert_eq!(registered[0].master_info.id, cluster.master_id);
    assert_eq!(registered[0].master_info.pid.as_deref(), Some(cluster.master_pid.to_string().as_str()));

    // Adding the framework ran an allocation; the next periodic run offers nothing new.
    cluster.step(INTERVAL).await;
    let offers = scheduler.offers();
    assert_eq!(offers.len(), 1);
    let message = &offers[0];
    assert_eq!(message.offers.len(), 1);
    assert_eq!(message.pids, vec![agent.upid().to_string()]);
    let offer = &message.offers[0];
    assert_eq!(offer.id.value, format!("{}-O0", cluster.master_id));
    assert_eq!(offer.framework_id, id);
    assert_eq!(offer.slave_id, agent_id);
    assert_eq!(offer.hostname, "agent1");
    assert_eq!(offer.allocation_info.as_ref().and_then(|a| a.role.as_deref()), Some("web"));
    let url = offer.url.as_ref().expect("url");
    assert_eq!(url.path.as_deref(), Some(format!("/{}", agent.upid().id).as_str()));
    assert_eq!(url.address.port, i32::from(agent.upid().port));
    let resources: Resources = offer.resources.iter().cloned().collect();
    let mut expected = Resources::parse("cpus:2;mem:1024", "*").unwrap();
    expected.allocate("web");
    assert_eq!(resources, expected);
    assert!(offer.resources.iter().all(|r| r.allocation_info.as_ref().and_then(|a| a.role.as_deref()) == Some("web")));

    assert_eq!(cluster.offer_count().await, 1);
    let frameworks = cluster.frameworks().await;
    assert_eq!(frameworks.len(), 1);
    assert!(frameworks[0].connected && frameworks[0].active);
    assert_eq!(frameworks[0].offers, 1);

    // A retried SUBSCRIBE from the same pid gets the same id again.
    cluster.send(&scheduler, &subscribe_call(framework_info(&[ROLE]), None, false));
    cluster.settle().await;
    assert_eq!(scheduler.registered().len(), 2);
    assert_eq!(scheduler.registered()[1].framework_id, id);
    assert_eq!(cluster.frameworks().await.len(), 1);
}

#[tokio::test]
async fn decline_filters_the_agent_until_refuse_seconds_pass() {
    let cluster = Cluster::start().await;
    let (_agent, _) = cluster.agent().await;
    let scheduler = cluster.spawn_scheduler();
    let id = cluster.subscribe(&scheduler, framework_info(&[ROLE])).await;
    let first = scheduler.offers().last().cloned().expect("offered");

    cluster.send(&scheduler, &decline(&id, &first, 10.0));
    cluster.settle().await;
    assert_eq!(cluster.offer_count().await, 0);

    for _ in 0..9 {
        cluster.step(INTERVAL).await;
        assert_eq!(scheduler.offers().len(), 1, "offered again before the filter expired");
    }
    cluster.step(INTERVAL).await;
    cluster.step(INTERVAL).await;
    assert_eq!(scheduler.offers().len(), 2);

    // An unknown offer id is ignored.
    cluster.send(&scheduler, &decline(&id, &first, 10.0));
    cluster.settle().await;
    assert_eq!(cluster.offer_count().await, 1);
}

#[tokio::test]
async fn revive_clears_filters_and_suppress_stops_offers() {
    let cluster = Cluster::start().await;
    let (_agent, _) = cluster.agent().await;
    let scheduler = cluster.spawn_scheduler();
    let id = cluster.subscribe(&scheduler, framework_info(&[ROLE])).await;
    let first = scheduler.offers().last().cloned().expect("offered");

    cluster.send(&scheduler, &decline(&id, &first, 3600.0));
    cluster.step(INTERVAL).await;
    assert_eq!(scheduler.offers().len(), 1);

    cluster.send(&scheduler, &call(&id, CallType::Revive));
    cluster.settle().await;
    let offers = scheduler.offers();
    assert_eq!(offers.len(), 2);

    cluster.send(&scheduler, &call(&id, CallType::Suppress));
    cluster.send(&scheduler, &decline(&id, &offers[1], 0.0));
    for _ in 0..5 {
        cluster.step(INTERVAL).await;
    }
    assert_eq!(scheduler.offers().len(), 2, "offered while suppressed");

    // A role the framework is not subscribed to drops the whole call.
    let revive_other = Call { revive: Some(Revive { roles: vec!["other".into()] }), ..call(&id, CallType::Revive) };
    cluster.send(&scheduler, &revive_other);
    cluster.step(INTERVAL).await;
    assert_eq!(scheduler.offers().len(), 2);

    let revive_web = Call { revive: Some(Revive { roles: vec!["web".into()] }), ..call(&id, CallType::Revive) };
    cluster.send(&scheduler, &revive_web);
    cluster.settle().await;
    assert_eq!(scheduler.offers().len(), 3);

    let suppress_web = Call { suppress: Some(Suppress { roles: vec!["web".into()] }), ..call(&id, CallType::Suppress) };
    cluster.send(&scheduler, &suppress_web);
    cluster.send(&scheduler, &decline(&id, &scheduler.offers()[2], 0.0));
    cluster.step(INTERVAL).await;
    assert_eq!(scheduler.offers().len(), 3);
}

#[tokio::test]
async fn legacy_registration_works_and_hides_allocation_info() {
    let cluster = Cluster::start().await;
    let (_agent, _) = cluster.agent().await;
    let scheduler = cluster.spawn_scheduler();
    let info = FrameworkInfo { user: "user".into(), name: "legacy".into(), ..Default::default() };
    cluster.send(&scheduler, &RegisterFrameworkMessage { framework: info.clone() });
    cluster.settle().await;
    let id = scheduler.registered().last().expect("registered").framework_id.clone();
    assert_eq!(id.value, format!("{}-0000", cluster.master_id));

    let offers = scheduler.offers();
    assert_eq!(offers.len(), 1);
    let offer = &offers[0].offers[0];
    assert!(offer.allocation_info.is_none());
    assert!(offer.resources.iter().all(|r| r.allocation_info.is_none()));

    // Registering with an id set is refused.
    let other = cluster.spawn_scheduler();
    let with_id = FrameworkInfo { id: Some(id.clone()), ..info };
    cluster.send(&other, &RegisterFrameworkMessage { framework: with_id });
    cluster.settle().await;
    assert_eq!(other.errors(), vec!["Registering with 'id' already set".to_string()]);

    // Unregistering from another pid is ignored; from the framework it tears it down.
    cluster.send(&other, &UnregisterFrameworkMessage { framework_id: id.clone() });
    cluster.settle().await;
    assert_eq!(cluster.frameworks().await.len(), 1);
    cluster.send(&scheduler, &UnregisterFrameworkMessage { framework_id: id });
    cluster.settle().await;
    assert!(cluster.frameworks().await.is_empty());
    assert_eq!(cluster.offer_count().await, 0);
}

#[tokio::test]
async fn invalid_framework_info_is_refused_with_an_error() {
    let cluster = Cluster::start().await;
    let scheduler = cluster.spawn_scheduler();
    let mut info = framework_info(&[ROLE]);
    info.role = Some("web".into());
    cluster.send(&scheduler, &subscribe_call(info, None, false));
    let legacy = FrameworkInfo { roles: vec!["web".into()], ..framework_info(&[]) };
    let legacy = FrameworkInfo { capabilities: Vec::new(), ..legacy };
    cluster.send(&scheduler, &subscribe_call(legacy, None, false));
    cluster.settle().await;
    assert_eq!(
        scheduler.errors(),
        vec![
            "'FrameworkInfo.role' must not be set when the framework is MULTI_ROLE capable".to_string(),
            "'FrameworkInfo.roles' must not be set when the framework is not MULTI_ROLE capable".to_string(),
        ]
    );
    assert!(cluster.frameworks().await.is_empty());
}

#[tokio::test]
async fn calls_from_other_pids_and_undecodable_calls_are_dropped() {
    let cluster = Cluster::start().await;
    let (_agent, _) = cluster.agent().await;
    let scheduler = cluster.spawn_scheduler();
    let id = cluster.subscribe(&scheduler, framework_info(&[ROLE])).await;

    let stranger = cluster.spawn_scheduler();
    cluster.send(&stranger, &call(&id, CallType::Teardown));
    let unknown = FrameworkId { value: "no-such-framework".into() };
    cluster.send(&stranger, &call(&unknown, CallType::Teardown));
    // No `type`, and a DECLINE without `decline`: invalid, dropped.
    cluster.send(&scheduler, &Call { framework_id: Some(id.clone()), ..Default::default() });
    cluster.send(&scheduler, &call(&id, CallType::Decline));
    // Bytes that are no protobuf at all.
    cluster.lp.post(&cluster.master_pid, "mesos.scheduler.Call", &b"\xff\xff\xff"[..]);
    cluster.settle().await;

    let frameworks = cluster.frameworks().await;
    assert_eq!(frameworks.len(), 1);
    assert!(frameworks[0].active);
    assert_eq!(cluster.offer_count().await, 1);
    assert!(stranger.errors().is_empty());
    assert!(within(cluster.master.recovered()).await.unwrap(), "the master survived");
}

#[tokio::test]
async fn a_disconnected_framework_is_removed_after_its_failover_timeout() {
    let cluster = Cluster::start().await;
    let (_agent, _) = cluster.agent().await;
    let scheduler = cluster.spawn_scheduler();
    let info = FrameworkInfo { failover_timeout: Some(5.0), ..framework_info(&[ROLE]) };
    let id = cluster.subscribe(&scheduler, info).await;
    assert_eq!(cluster.offer_count().await, 1);

    cluster.lp.terminate(scheduler.upid(), true);
    cluster.settle().await;
    let frameworks = cluster.frameworks().await;
    assert!(!frameworks[0].connected && !frameworks[0].active);
    assert_eq!(cluster.offer_count().await, 0, "the offer was rescinded");

    for _ in 0..4 {
        cluster.step(INTERVAL).await;
    }
    assert_eq!(cluster.frameworks().await.len(), 1);
    cluster.step(INTERVAL).await;
    assert!(cluster.frameworks().await.is_empty());

    // Its id is archived: subscribing with it is refused.
    let again = cluster.spawn_scheduler();
    cluster.send(&again, &subscribe_call(framework_info(&[ROLE]), Some(id), true));
    cluster.settle().await;
    assert_eq!(again.errors(), vec!["Framework has been removed".to_string()]);

    // The resources are free for another framework.
    let other = cluster.spawn_scheduler();
    cluster.subscribe(&other, framework_info(&[ROLE])).await;
    assert_eq!(other.offers().len(), 1);
}

#[tokio::test]
async fn resubscribing_before_the_failover_timeout_keeps_the_framework() {
    let cluster = Cluster::start().await;
    let (_agent, _) = cluster.agent().await;
    let scheduler = cluster.spawn_scheduler();
    let scheduler_id = scheduler.upid().id.to_string();
    let info = FrameworkInfo { failover_timeout: Some(5.0), ..framework_info(&[ROLE]) };
    let id = cluster.subscribe(&scheduler, info.clone()).await;

    cluster.lp.terminate(scheduler.upid(), true);
    cluster.settle().await;
    cluster.step(INTERVAL * 2).await;

    // The driver restarted at the same pid, without failover: reregistered.
    let restarted = cluster.spawn(&scheduler_id);
    cluster.send(&restarted, &subscribe_call(info.clone(), Some(id.clone()), false));
    cluster.settle().await;
    assert_eq!(restarted.reregistered().len(), 1);
    assert_eq!(restarted.reregistered()[0].framework_id, id);
    cluster.step(INTERVAL * 10).await;
    let frameworks = cluster.frameworks().await;
    assert_eq!(frameworks.len(), 1);
    assert!(frameworks[0].connected && frameworks[0].active);
    assert_eq!(restarted.offers().len(), 1);

    // A new scheduler instance must force; without it, it is refused.
    let newcomer = cluster.spawn_scheduler();
    cluster.send(&newcomer, &subscribe_call(info.clone(), Some(id.clone()), false));
    cluster.settle().await;
    assert_eq!(newcomer.errors(), vec!["Framework failed over".to_string()]);

    // With force it takes over: registered (not reregistered), the old one is told, the
    // offer goes back silently and is made again to the new pid.
    cluster.send(&newcomer, &subscribe_call(info, Some(id.clone()), true));
    cluster.settle().await;
    assert_eq!(newcomer.registered().len(), 1);
    assert_eq!(newcomer.registered()[0].framework_id, id);
    assert_eq!(restarted.errors(), vec!["Framework failed over".to_string()]);
    assert!(restarted.rescinds().is_empty());
    cluster.step(INTERVAL).await;
    assert_eq!(newcomer.offers().len(), 1);
    assert_eq!(&cluster.frameworks().await[0].pid, newcomer.upid());
}

#[tokio::test]
async fn teardown_removes_the_framework_and_recovers_its_offers() {
    let cluster = Cluster::start().await;
    let (agent, _) = cluster.agent().await;
    let scheduler = cluster.spawn_scheduler();
    let id = cluster.subscribe(&scheduler, framework_info(&[ROLE])).await;
    assert_eq!(cluster.offer_count().await, 1);

    cluster.send(&scheduler, &call(&id, CallType::Teardown));
    cluster.settle().await;
    assert!(cluster.frameworks().await.is_empty());
    assert_eq!(cluster.offer_count().await, 0);
    assert!(scheduler.rescinds().is_empty(), "teardown discards offers silently");
    let shutdowns = agent.heard.shutdown_frameworks.lock().unwrap().clone();
    assert_eq!(shutdowns, vec![ShutdownFrameworkMessage { framework_id: id }]);

    let other = cluster.spawn_scheduler();
    cluster.subscribe(&other, framework_info(&[ROLE])).await;
    assert_eq!(other.offers().len(), 1, "the resources were recovered");
}

#[tokio::test]
async fn removing_the_agent_rescinds_its_offers() {
    let cluster = Cluster::start().await;
    let (agent, agent_id) = cluster.agent().await;
    let scheduler = cluster.spawn_scheduler();
    cluster.subscribe(&scheduler, framework_info(&[ROLE])).await;
    let offer = scheduler.offers()[0].offers[0].id.clone();

    cluster.send(&agent, &mesos::internal::UnregisterSlaveMessage { slave_id: agent_id });
    cluster.settle().await;
    assert_eq!(scheduler.rescinds(), vec![RescindResourceOfferMessage { offer_id: offer }]);
    assert_eq!(cluster.offer_count().await, 0);
    assert_eq!(cluster.frameworks().await[0].offers, 0);
}

#[tokio::test]
async fn an_offer_left_unanswered_is_rescinded_after_offer_timeout() {
    // `MasterTest.OfferTimeout`: the offer is rescinded when `--offer_timeout` passes and its
    // resources are offered again.
    let cluster = Cluster::start_with(common::flags(&["--offer_timeout=30secs"])).await;
    let (_agent, _) = cluster.agent().await;
    let scheduler = cluster.spawn_scheduler();
    cluster.subscribe(&scheduler, framework_info(&[ROLE])).await;
    let offer = scheduler.offers()[0].offers[0].id.clone();

    cluster.step(std::time::Duration::from_secs(29)).await;
    assert!(scheduler.rescinds().is_empty(), "rescinded before the timeout");
    assert_eq!(cluster.offer_count().await, 1);
    cluster.step(std::time::Duration::from_secs(1)).await;
    assert_eq!(scheduler.rescinds(), vec![RescindResourceOfferMessage { offer_id: offer.clone() }]);
    // The next allocation offers the resources again, under a new id.
    cluster.step(INTERVAL).await;
    let offers = scheduler.offers();
    assert_eq!(offers.len(), 2);
    assert_ne!(offers[1].offers[0].id, offer);

    // A declined offer's timer finds nothing when it fires.
    let id = offers[1].offers[0].framework_id.clone();
    cluster.send(&scheduler, &decline(&id, &offers[1], 1000.0));
    cluster.settle().await;
    cluster.step(std::time::Duration::from_secs(30)).await;
    assert_eq!(scheduler.rescinds().len(), 1);
}

fn update_framework(id: &FrameworkId, info: FrameworkInfo, suppressed: &[&str]) -> Call {
    Call {
        update_framework: Some(mesos::proto::scheduler::call::UpdateFramework {
            framework_info: info,
            suppressed_roles: suppressed.iter().map(|r| r.to_string()).collect(),
            offer_constraints: None,
        }),
        ..call(id, CallType::UpdateFramework)
    }
}

#[tokio::test]
async fn update_framework_replaces_the_info_rescinds_left_roles_and_tells_the_agents() {
    let cluster = Cluster::start().await;
    let (agent, _) = cluster.agent().await;
    let scheduler = cluster.spawn_scheduler();
    let id = cluster.subscribe(&scheduler, framework_info(&[ROLE])).await;
    let offer = scheduler.offers()[0].offers[0].id.clone();

    // Leaving the offered role for another: its offer is rescinded, the agent hears of the
    // new info, and the next offers are for the new role.
    let mut info = framework_info(&["other"]);
    info.id = Some(id.clone());
    info.name = "renamed".into();
    cluster.send(&scheduler, &update_framework(&id, info.clone(), &[]));
    cluster.settle().await;
    assert!(scheduler.errors().is_empty(), "{:?}", scheduler.errors());
    assert_eq!(scheduler.rescinds(), vec![RescindResourceOfferMessage { offer_id: offer }]);
    let updates = agent.update_frameworks();
    assert_eq!(updates.len(), 1);
    assert_eq!(updates[0].framework_id, id);
    assert_eq!(updates[0].pid.as_deref(), Some(scheduler.upid().to_string().as_str()));
    assert_eq!(updates[0].framework_info.as_ref().map(|i| i.name.as_str()), Some("renamed"));
    cluster.step(INTERVAL).await;
    let last = scheduler.last_offer();
    assert_eq!(last.allocation_info.and_then(|a| a.role), Some("other".to_string()));

    // The same info again changes nothing the agents need to hear; suppressing the role
    // stops offers once the outstanding one is declined.
    cluster.send(&scheduler, &update_framework(&id, info.clone(), &["other"]));
    cluster.settle().await;
    assert_eq!(agent.update_frameworks().len(), 1);
    let offers = scheduler.offers();
    cluster.send(&scheduler, &decline(&id, offers.last().unwrap(), 0.0));
    cluster.settle().await;
    for _ in 0..3 {
        cluster.step(INTERVAL).await;
    }
    assert_eq!(scheduler.offers().len(), offers.len(), "a suppressed role is not offered");

    // Immutable fields and invalid infos are refused with C++'s texts.
    let mut changed_user = info.clone();
    changed_user.user = "someone-else".into();
    cluster.send(&scheduler, &update_framework(&id, changed_user, &[]));
    let mut bad_suppressed = info.clone();
    bad_suppressed.name = "again".into();
    cluster.send(&scheduler, &update_framework(&id, bad_suppressed, &["web"]));
    cluster.settle().await;
    assert_eq!(
        scheduler.errors(),
        vec![
            "FrameworkInfo update is not valid: Updating 'FrameworkInfo.user' is unsupported; attempted to update \
             from 'user' to 'someone-else'"
                .to_string(),
            "'UpdateFramework' call is not valid: Suppressed roles {\"web\"} are not contained in the set of roles"
                .to_string(),
        ]
    );
    assert_eq!(cluster.frameworks().await[0].offers, 0);
    assert_eq!(agent.update_frameworks().len(), 1, "refused updates change nothing");

    // A call whose info names another framework is dropped as invalid.
    let mut other = info;
    other.id = Some(FrameworkId { value: "someone-else".into() });
    cluster.send(&scheduler, &update_framework(&id, other, &[]));
    cluster.settle().await;
    assert_eq!(scheduler.errors().len(), 2);
}

#[tokio::test]
async fn resubscribing_keeps_user_and_checkpoint_refuses_a_new_principal_and_tells_the_agents() {
    let cluster = Cluster::start().await;
    let (agent, _) = cluster.agent().await;
    let scheduler = cluster.spawn_scheduler();
    let info = FrameworkInfo { principal: Some("alice".into()), ..framework_info(&[ROLE]) };
    let id = cluster.subscribe(&scheduler, info.clone()).await;
    assert!(agent.update_frameworks().is_empty(), "a first subscription tells the agents nothing");

    // `MasterTest.UpdateFrameworkInfoOnResubscribe`-like: a new name is taken, a new user
    // and checkpoint setting are not (MESOS-703), and the agents hear the result.
    let changed =
        FrameworkInfo { name: "renamed".into(), user: "mallory".into(), checkpoint: Some(true), ..info.clone() };
    cluster.send(&scheduler, &subscribe_call(changed, Some(id.clone()), false));
    cluster.settle().await;
    assert_eq!(scheduler.reregistered().len(), 1);
    let updates = agent.update_frameworks();
    assert_eq!(updates.len(), 1);
    let sent = updates[0].framework_info.clone().unwrap();
    assert_eq!(sent.name, "renamed");
    assert_eq!(sent.user, "user");
    assert!(!sent.checkpoint());
    assert_eq!(updates[0].pid.as_deref(), Some(scheduler.upid().to_string().as_str()));

    // A new principal is refused before anything changes.
    let thief = FrameworkInfo { principal: Some("bob".into()), ..info };
    cluster.send(&scheduler, &subscribe_call(thief, Some(id), false));
    cluster.settle().await;
    assert_eq!(scheduler.errors(), vec!["Changing framework's principal is not allowed.".to_string()]);
    assert_eq!(agent.update_frameworks().len(), 1);
    assert_eq!(cluster.frameworks().await[0].name, "renamed");
}
