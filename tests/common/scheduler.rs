//! A scheduler for the end-to-end tests: `Forward` hands the v0 driver's registrations, offers and status updates to the test over a channel, and `next` waits for the one a test wants.

use std::sync::mpsc;
use std::time::Duration;

use mesos::proto::{ExecutorId, FrameworkId, MasterInfo, Offer, OfferId, SlaveId, TaskStatus};
use mesos::sched::{Scheduler, SchedulerDriver};

use super::daemons::within;

/// What the driver told the scheduler.
#[derive(Debug)]
pub enum Event {
    Registered(FrameworkId),
    Offers(Vec<Offer>),
    Update(Box<TaskStatus>),
}

/// A scheduler that forwards every [`Event`]; the other callbacks do nothing.
pub struct Forward(pub mpsc::Sender<Event>);

impl Scheduler for Forward {
    fn registered(&mut self, _: &dyn SchedulerDriver, id: &FrameworkId, _: &MasterInfo) {
        let _ = self.0.send(Event::Registered(id.clone()));
    }
    fn reregistered(&mut self, _: &dyn SchedulerDriver, _: &MasterInfo) {}
    fn disconnected(&mut self, _: &dyn SchedulerDriver) {}
    fn resource_offers(&mut self, _: &dyn SchedulerDriver, offers: &[Offer]) {
        let _ = self.0.send(Event::Offers(offers.to_vec()));
    }
    fn offer_rescinded(&mut self, _: &dyn SchedulerDriver, _: &OfferId) {}
    fn status_update(&mut self, _: &dyn SchedulerDriver, status: &TaskStatus) {
        let _ = self.0.send(Event::Update(Box::new(status.clone())));
    }
    fn framework_message(&mut self, _: &dyn SchedulerDriver, _: &ExecutorId, _: &SlaveId, _: &[u8]) {}
    fn slave_lost(&mut self, _: &dyn SchedulerDriver, _: &SlaveId) {}
    fn executor_lost(&mut self, _: &dyn SchedulerDriver, _: &ExecutorId, _: &SlaveId, _: i32) {}
    fn error(&mut self, _: &dyn SchedulerDriver, _: &str) {}
}

/// The next event `pick` accepts; others are skipped.
pub async fn next<T>(events: &mpsc::Receiver<Event>, what: &str, pick: impl Fn(Event) -> Option<T>) -> T {
    within(what, async {
        loop {
            match events.try_recv() {
                Ok(event) => {
                    if let Some(found) = pick(event) {
                        return found;
                    }
                }
                Err(mpsc::TryRecvError::Empty) => tokio::time::sleep(Duration::from_millis(20)).await,
                Err(mpsc::TryRecvError::Disconnected) => panic!("the driver is gone while waiting for {what}"),
            }
        }
    })
    .await
}
