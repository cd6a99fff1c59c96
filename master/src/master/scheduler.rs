//! The v1 scheduler HTTP API, `POST /master/api/v1/scheduler` (child module of `master.rs`): the request checks in C++'s order and status codes, SUBSCRIBE over a RecordIO event stream (first subscription, resubscription and failover from a v0 driver or another stream, frameworks unknown to this master), heartbeats, the stream's end disconnecting the framework, and the other calls handed to the flows v0 drivers use; mirrors `Master::Http::scheduler` in `src/master/http.cpp`, the HTTP overloads of `Master::{subscribe,_subscribe,failoverFramework,exited}` and `connectAndActivateRecoveredFramework` in `src/master/master.cpp`, and `Framework::heartbeat` in `src/master/framework.cpp`.
//!
//! The handler runs inside the master, so a call acts on the state the checks saw. Events
//! reach the stream through [`Framework::send`], which turns each v0 message into its
//! `Event` (see [`crate::evolve`]). A task on the runtime waits for the stream's end and
//! tells the master; the master acts only if that stream is still the framework's.
//!
//! Not done yet: authentication and authorization (no `401`/`403` for principals), the
//! leader redirect (a standalone master always leads), offer constraints (accepted and
//! ignored), and the inverse-offer and operation calls, which answer `202` and are dropped
//! with a log line, as C++ drops those it cannot match.

use libprocess::http::{Request, Response, Status};
use libprocess::{Context, Future};
use mesos::api::{self, ContentType, Stream, MESOS_STREAM_ID};
use mesos::internal::{FrameworkErrorMessage, FrameworkRegisteredMessage, FrameworkReregisteredMessage};
use mesos::proto::scheduler::call::{Subscribe, Type as CallType};
use mesos::proto::scheduler::Call;
use mesos::proto::FrameworkId;
use mesos::state::Uuid;

use super::{now_secs, Master};
use crate::allocator::FrameworkOptions;
use crate::constants::DEFAULT_HEARTBEAT_INTERVAL;
use crate::evolve::{self, Evolve};
use crate::framework::{self, Connection, Framework, HttpConnection};

const SCHEDULER_HELP: &str = "Endpoint for schedulers to make calls against the master.\n\
    Accepts only POST requests with a JSON or protobuf `Call` body; SUBSCRIBE answers with \
    a RecordIO stream of events, other calls with `202 Accepted`.";

/// Installs `/api/v1/scheduler` (its line of C++ `Master::initialize`).
pub(super) fn install_route(ctx: &mut Context<Master>) {
    ctx.route("/api/v1/scheduler", SCHEDULER_HELP, |master, ctx, request: Request| {
        Future::ready(master.scheduler_call(ctx, request))
    });
}

/// `403 Forbidden` with a message (C++ `Forbidden(body)`).
fn forbidden(message: &str) -> Response {
    Response::with_message(Status::FORBIDDEN, message)
}

impl Master {
    /// `POST /master/api/v1/scheduler` (C++ `Master::Http::scheduler`), checks in C++'s
    /// order: recovery, method, content type, body, validation, `Accept` (SUBSCRIBE and
    /// RECONCILE_OPERATIONS only), then SUBSCRIBE, or the framework, its connection and the
    /// stream id, then the call.
    fn scheduler_call(&mut self, ctx: &mut Context<Self>, request: Request) -> Response {
        // A standalone master is the leader from its start: no redirect.
        if !self.recovered {
            return Response::with_message(Status::SERVICE_UNAVAILABLE, "Master has not finished recovery");
        }
        if request.method != "POST" {
            return api::method_not_allowed(&["POST"], &request.method);
        }
        let content_type = match ContentType::of_request(&request) {
            Ok(content_type) => content_type,
            Err(response) => return response,
        };
        let call: Call = match api::decode_call(content_type, &request.body, "Call") {
            Ok(call) => call,
            Err(response) => return response,
        };
        let kind = match framework::validate_call(&call) {
            Ok(kind) => kind,
            Err(error) => return Response::bad_request(format!("Failed to validate scheduler::Call: {error}")),
        };
        let mut accept = ContentType::Json;
        if matches!(kind, CallType::Subscribe | CallType::ReconcileOperations) {
            accept = match ContentType::accepted(&request) {
                Ok(accept) => accept,
                Err(response) => return response,
            };
        }
        if kind == CallType::Subscribe {
            if request.headers.contains(MESOS_STREAM_ID) {
                return Response::bad_request("Subscribe calls should not include the 'Mesos-Stream-Id' header");
            }
            let Some(subscribe) = call.subscribe else {
                return Response::bad_request("Expecting 'subscribe' to be present");
            };
            let (stream, mut response) = Stream::open(accept);
            response.headers.set(MESOS_STREAM_ID, stream.id.to_string());
            self.subscribe_http(ctx, stream, subscribe);
            return response;
        }

        let id = call.framework_id.clone().unwrap_or_default();
        let Some(framework) = self.frameworks.get(&id) else {
            return Response::bad_request("Framework cannot be found");
        };
        if !framework.connected {
            return forbidden("Framework is not subscribed");
        }
        let Some(stream) = framework.http() else {
            return forbidden("Framework is not connected via HTTP");
        };
        let Some(stream_id) = request.headers.get(MESOS_STREAM_ID) else {
            return Response::bad_request("All non-subscribe calls should include the 'Mesos-Stream-Id' header");
        };
        if stream_id != stream.id.to_string() {
            return Response::bad_request(format!(
                "The stream ID '{stream_id}' included in this request didn't match the stream ID currently \
                 associated with framework ID {}",
                id.value
            ));
        }

        let accepted = Response::empty(Status::ACCEPTED);
        match kind {
            // C++ removes the framework straight away here (no `teardown`, no counter).
            CallType::Teardown => {
                tracing::info!(framework = %id.value, "processing TEARDOWN call");
                self.remove_framework(ctx, &id);
            }
            CallType::UpdateFramework => {
                let Some(update) = call.update_framework else { return accepted };
                return match self.update_framework_call(ctx, &id, update) {
                    Ok(()) => Response::empty(Status::OK),
                    Err(message) => Response::bad_request(message),
                };
            }
            CallType::AcceptInverseOffers
            | CallType::DeclineInverseOffers
            | CallType::AcknowledgeOperationStatus
            | CallType::ReconcileOperations => {
                // This master makes no inverse offers and runs no operations with a status,
                // so there is nothing such a call could name.
                tracing::warn!(framework = %id.value, call = ?kind, "ignoring call: not supported yet");
            }
            CallType::Unknown => {
                tracing::warn!(framework = %id.value, "received 'UNKNOWN' call");
                return Response::status_text(Status::NOT_IMPLEMENTED);
            }
            CallType::Subscribe => {}
            _ => {
                self.framework_call(ctx, &id, kind, call);
            }
        }
        accepted
    }

    /// SUBSCRIBE over HTTP (C++ `Master::subscribe(StreamingHttpConnection, ...)` and
    /// `_subscribe`). A refusal is one `ERROR` event on the stream, which is then closed.
    fn subscribe_http(&mut self, ctx: &mut Context<Self>, stream: Stream, subscribe: Subscribe) {
        let mut info = subscribe.framework_info;
        let id = info.id.clone().filter(|id| !id.value.is_empty());
        self.metrics.increment(if id.is_some() {
            "messages_reregister_framework"
        } else {
            "messages_register_framework"
        });
        tracing::info!(name = %info.name, stream = %stream.id, "received subscription request for HTTP framework");
        let refuse = |error: String| {
            tracing::info!(name = %info.name, "refusing subscription of framework: {error}");
            stream.send(&FrameworkErrorMessage { message: error }.evolve());
            stream.close();
        };
        if let Err(error) = self.validate_framework(&info) {
            return refuse(error.to_string());
        }
        let suppressed_roles = subscribe.suppressed_roles.into_iter().collect();
        if let Err(error) = framework::validate_suppressed_roles(&info, &suppressed_roles) {
            return refuse(error.to_string());
        }
        let options = FrameworkOptions { suppressed_roles };
        tracing::info!(name = %info.name, checkpoint = info.checkpoint(), "subscribing framework");

        let Some(id) = id else {
            let id = self.new_framework_id();
            info.id = Some(id.clone());
            let connection = Connection::Http(HttpConnection { stream: stream.clone(), heartbeat: None });
            self.add_framework(ctx, info, connection, options);
            self.watch_stream(ctx, id.clone(), &stream);
            let message = FrameworkRegisteredMessage { framework_id: id.clone(), master_info: self.info.clone() };
            self.send_to(ctx, &id, &message);
            return self.heartbeat(ctx, &id);
        };

        let Some(framework) = self.frameworks.get_mut(&id) else {
            // Unknown here (C++ `recoverFramework`, as after a master failover with no agent
            // reporting it): added under its id, and answered as C++ answers a recovered
            // framework's first subscription.
            tracing::info!(framework = %id.value, "subscribing HTTP framework unknown to this master");
            let connection = Connection::Http(HttpConnection { stream: stream.clone(), heartbeat: None });
            self.add_framework(ctx, info, connection, options);
            self.watch_stream(ctx, id.clone(), &stream);
            let message = FrameworkReregisteredMessage { framework_id: id.clone(), master_info: self.info.clone() };
            self.send_to(ctx, &id, &message);
            self.heartbeat(ctx, &id);
            return self.send_framework_updates(ctx, &id);
        };
        // C++ `preserveImmutableFields`, then `validateUpdate`.
        if info.user != framework.info.user {
            tracing::warn!(framework = %id.value, user = %info.user, "cannot update 'FrameworkInfo.user'; see MESOS-703");
            info.user = framework.info.user.clone();
        }
        if info.checkpoint() != framework.info.checkpoint() {
            tracing::warn!(framework = %id.value, "cannot update 'FrameworkInfo.checkpoint'; see MESOS-703");
            info.checkpoint = framework.info.checkpoint;
        }
        if let Err(error) = framework::validate_update(&framework.info, &info) {
            stream.send(&FrameworkErrorMessage { message: error.to_string() }.evolve());
            stream.close();
            return;
        }
        framework.info = info.clone();
        framework.generation += 1;
        let now = now_secs(ctx);
        framework.reregistered_time = now;
        let recovered = framework.recovered;
        self.allocator.update_framework(id.clone(), info, options);
        if recovered {
            // C++ `connectAndActivateRecoveredFramework`.
            tracing::info!(framework = %id.value, "recovered framework subscribed over HTTP");
            if let Some(framework) = self.frameworks.get_mut(&id) {
                framework.recovered = false;
                framework.registered_time = now;
            }
            self.replace_connection(
                ctx,
                &id,
                Connection::Http(HttpConnection { stream: stream.clone(), heartbeat: None }),
            );
            self.watch_stream(ctx, id.clone(), &stream);
            if let Some(framework) = self.frameworks.get_mut(&id) {
                framework.active = true;
            }
            self.allocator.activate_framework(id.clone());
            let message = FrameworkReregisteredMessage { framework_id: id.clone(), master_info: self.info.clone() };
            self.send_to(ctx, &id, &message);
        } else {
            // C++ `failoverFramework(Framework*, StreamingHttpConnection)`: whatever was
            // connected before (a v0 driver or another stream) is told and let go, always
            // (MESOS-4712).
            tracing::info!(framework = %id.value, "framework failed over to an HTTP scheduler");
            if let Some(framework) = self.frameworks.get(&id).filter(|f| f.connected) {
                framework.send(ctx, &FrameworkErrorMessage { message: "Framework failed over".into() });
            }
            self.replace_connection(
                ctx,
                &id,
                Connection::Http(HttpConnection { stream: stream.clone(), heartbeat: None }),
            );
            self.watch_stream(ctx, id.clone(), &stream);
            self.failover_framework_connected(ctx, &id);
        }
        self.heartbeat(ctx, &id);
        self.send_framework_updates(ctx, &id);
    }

    /// Sends `message` to framework `id`, if known.
    fn send_to<M: Evolve>(&self, ctx: &mut Context<Self>, id: &FrameworkId, message: &M) {
        if let Some(framework) = self.frameworks.get(id) {
            framework.send(ctx, message);
        }
    }

    /// Tells the master when `stream` ends (C++ `http.closed().onAny(defer(self(),
    /// &Self::exited, id, http))`). The waiting task holds no strong reference to the
    /// stream, so a closed or dropped stream lets it finish.
    fn watch_stream(&self, ctx: &mut Context<Self>, id: FrameworkId, stream: &Stream) {
        let closed = stream.closed();
        let stream_id = stream.id;
        let master = ctx.pid().clone();
        ctx.libprocess().runtime().spawn(async move {
            closed.await;
            master.dispatch_void(move |this: &mut Master, ctx| this.stream_closed(ctx, id, stream_id));
        });
    }

    /// C++ `Master::exited(const FrameworkID&, const StreamingHttpConnection&)`: the
    /// scheduler's stream ended; the framework is disconnected only if that stream is still
    /// its own (not after a resubscription, which closed the old stream itself).
    fn stream_closed(&mut self, ctx: &mut Context<Self>, id: FrameworkId, stream_id: Uuid) {
        let Some(framework) = self.frameworks.get(&id) else { return };
        if framework.http().is_some_and(|stream| stream.id == stream_id) {
            self.framework_exited(ctx, id);
        } else {
            tracing::info!(framework = %id.value, "ignoring disconnection of framework: it has already reconnected");
        }
    }

    /// C++ `Framework::heartbeat` and `ResponseHeartbeaterProcess::heartbeat`: a
    /// `HEARTBEAT` now and every `DEFAULT_HEARTBEAT_INTERVAL` after, while the stream is the
    /// framework's (its timer is cancelled when the connection goes).
    fn heartbeat(&mut self, ctx: &mut Context<Self>, id: &FrameworkId) {
        let Some(framework) = self.frameworks.get_mut(id) else { return };
        let Connection::Http(http) = &mut framework.connection else { return };
        if !http.stream.is_closed() {
            tracing::trace!(framework = %id.value, "sending heartbeat");
            http.stream.send(&evolve::heartbeat());
        }
        let (id, stream_id) = (id.clone(), http.stream.id);
        let next = ctx.delay(DEFAULT_HEARTBEAT_INTERVAL, move |this: &mut Master, ctx| {
            let current = this.frameworks.get(&id).and_then(Framework::http).is_some_and(|s| s.id == stream_id);
            if current {
                this.heartbeat(ctx, &id);
            }
        });
        http.heartbeat = Some(next);
    }
}
