//! The built-in processes every instance spawns: `__processes__`, `system` and `help`; mirrors `ProcessManager::__processes__` in `3rdparty/libprocess/src/process.cpp`, `include/process/system.hpp` and `src/help.cpp`.

use serde_json::{json, Map, Value};

use crate::future::{Future, Promise};
use crate::http::{Request, Response};
use crate::message::Event;
use crate::metrics::{cpus_total, read_loadavg, read_meminfo};
use crate::process::{Context, Process};

/// Serves `GET /__processes__`: every process with its queued events.
///
/// As in C++, each process describes its own queue (only a mailbox's consumer may walk it),
/// so the answer lists what was queued behind the request; a process that is terminating
/// is left out.
pub(crate) struct ProcessesProcess;

impl Process for ProcessesProcess {
    fn initialize(&mut self, ctx: &mut Context<Self>) {
        ctx.route("/", "Lists the running processes and their queued events.", |_, ctx, request| {
            let jsonp = request.url.query.get("jsonp").cloned();
            let mut answers = Vec::new();
            for cell in ctx.libprocess().processes() {
                let promise = Promise::new();
                let future = promise.future();
                if cell.enqueue(Event::Inspect(promise)) {
                    answers.push((cell.pid.id.clone(), future));
                }
            }
            let response = Promise::new();
            let future = response.future();
            ctx.libprocess().spawn_task(async move {
                let mut processes = Vec::new();
                for (id, answer) in answers {
                    if let Ok(events) = answer.await {
                        processes.push(json!({"id": &*id, "events": events}));
                    }
                }
                response.set(Response::json(&Value::Array(processes), jsonp.as_deref()));
            });
            future
        });
    }
}

/// Serves `GET /system/stats.json`.
pub(crate) struct SystemProcess;

impl Process for SystemProcess {
    fn initialize(&mut self, ctx: &mut Context<Self>) {
        ctx.route("/stats.json", "Shows local system metrics.", |_, _, request| {
            let mut object = Map::new();
            if let Some(load) = read_loadavg() {
                object.insert("avg_load_1min".into(), json!(load[0]));
                object.insert("avg_load_5min".into(), json!(load[1]));
                object.insert("avg_load_15min".into(), json!(load[2]));
            }
            object.insert("cpus_total".into(), json!(cpus_total()));
            if let Some(total) = read_meminfo("MemTotal:") {
                object.insert("mem_total_bytes".into(), json!(total as u64));
            }
            if let Some(free) = read_meminfo("MemFree:") {
                object.insert("mem_free_bytes".into(), json!(free as u64));
            }
            Future::ready(Response::json(&Value::Object(object), request.url.query.get("jsonp").map(String::as_str)))
        });
    }
}

/// Serves `/help`, `/help/<id>` and `/help/<id>/<endpoint>`, in JSON with `?format=json`
/// and Markdown otherwise.
pub(crate) struct HelpProcess;

impl HelpProcess {
    fn help(&mut self, ctx: &mut Context<Self>, request: Request) -> Future<Response> {
        let mut entries = ctx.libprocess().help().snapshot();
        entries.remove("help");
        entries.remove("__processes__");
        let segments: Vec<&str> = request.url.path.split('/').filter(|s| !s.is_empty()).skip(1).collect();

        if request.url.query.get("format").map(String::as_str) == Some("json") {
            let processes: Vec<Value> = entries
                .iter()
                .map(|(id, endpoints)| {
                    let endpoints: Vec<Value> = endpoints
                        .iter()
                        .map(|(name, text)| json!({"name": format!("/{name}"), "text": text}))
                        .collect();
                    json!({"id": id, "endpoints": endpoints})
                })
                .collect();
            return Future::ready(Response::json(&json!({ "processes": processes }), None));
        }

        let mut text = String::new();
        match segments.as_slice() {
            [] => {
                text.push_str("## HELP\n\n");
                for (id, endpoints) in &entries {
                    for name in endpoints.keys() {
                        text.push_str(&format!("> [/{id}/{name}](/help/{id}/{name})\n"));
                    }
                }
            }
            [id] => match entries.get(*id) {
                Some(endpoints) => {
                    text.push_str(&format!("## /{id}\n\n"));
                    for name in endpoints.keys() {
                        text.push_str(&format!("> [/{id}/{name}](/help/{id}/{name})\n"));
                    }
                }
                None => return Future::ready(Response::bad_request(format!("No help available for '/{id}'.\n"))),
            },
            [id, rest @ ..] => {
                let name = rest.join("/");
                match entries.get(*id).and_then(|e| e.get(&name)) {
                    Some(help) => text.push_str(&format!("### /{id}/{name} ###\n{help}\n")),
                    None => {
                        return Future::ready(Response::bad_request(format!("No help available for '/{id}/{name}'.\n")))
                    }
                }
            }
        }
        let mut response = Response::ok(text);
        response.headers.set("Content-Type", "text/x-markdown");
        Future::ready(response)
    }
}

impl HelpProcess {
    pub(crate) fn route_id(ctx: &mut Context<Self>, id: &str) {
        ctx.route(&format!("/{id}"), &format!("Help for {id}."), Self::help);
    }
}

impl Process for HelpProcess {
    fn initialize(&mut self, ctx: &mut Context<Self>) {
        ctx.route("/", "Describes the HTTP endpoints of every process.", Self::help);
        // Processes that routed endpoints before `help` existed.
        for id in ctx.libprocess().help().ids() {
            if id != "help" {
                Self::route_id(ctx, &id);
            }
        }
    }
}
