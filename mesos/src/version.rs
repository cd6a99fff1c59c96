//! The Mesos version, the build stamp and the `version` process serving `/version`; mirrors `src/common/build.{hpp,cpp}` and `src/version/version.{hpp,cpp}`.
//!
//! The stamp comes from `build.rs` (see there for when it is taken). Git fields are left out:
//! upstream only includes them when built from a git checkout, and clients treat them as
//! optional.

use libprocess::http::{Request, Response};
use libprocess::{Context, Future, Libprocess, Process, SpawnError, PID};

use crate::json::Writer;

/// The release this implementation speaks for (C++ `MESOS_VERSION`). Clients parse it as
/// `<major>.<minor>.<patch>`, so it carries no suffix.
pub const MESOS_VERSION: &str = "1.12.0";

/// When the crate was built, as `YYYY-MM-DD HH:MM:SS UTC` (C++ `build::DATE`).
pub const BUILD_DATE: &str = env!("MESOS_BUILD_DATE");

/// The user who built it (C++ `build::USER`); empty if unknown.
pub const BUILD_USER: &str = env!("MESOS_BUILD_USER");

/// When the crate was built, in seconds since the epoch (C++ `build::TIME`, a double).
pub fn build_time() -> f64 {
    env!("MESOS_BUILD_TIME").parse::<u64>().map_or(0.0, |seconds| seconds as f64)
}

/// The version fields shared by `/version` and the `/state` endpoints: `version`,
/// `build_date`, `build_time`, `build_user`, written into an open object.
pub fn write_version_fields(w: &mut Writer) {
    w.key_ident("version");
    w.str(MESOS_VERSION);
    w.key_ident("build_date");
    w.str(BUILD_DATE);
    w.key_ident("build_time");
    w.f64(build_time());
    w.key_ident("build_user");
    w.str(BUILD_USER);
}

/// The `/version` document (C++ `internal::version()`).
pub fn version_json() -> String {
    let mut w = Writer::new();
    w.begin_object();
    write_version_fields(&mut w);
    w.end_object();
    w.into_string()
}

/// The process that serves `/version` (C++ `VersionProcess`); every Mesos program spawns one.
#[derive(Debug, Default)]
pub struct VersionProcess;

/// The fixed id of [`VersionProcess`].
pub const VERSION_PROCESS_ID: &str = "version";

impl VersionProcess {
    /// Spawns the process as `version` in `lp`.
    pub fn spawn(lp: &Libprocess) -> Result<PID<VersionProcess>, SpawnError> {
        lp.spawn(VERSION_PROCESS_ID, VersionProcess)
    }
}

impl Process for VersionProcess {
    fn initialize(&mut self, ctx: &mut Context<Self>) {
        ctx.route(
            "/",
            "Provides version information: `version`, `build_date`, `build_time` (seconds since \
             the epoch) and `build_user`, as a JSON object. Query parameters: `jsonp`.",
            |_: &mut Self, _ctx, request: Request| {
                let jsonp = request.url.query.get("jsonp").map(String::as_str);
                Future::ready(Response::json_text(version_json(), jsonp))
            },
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_version_is_three_numbers() {
        let parts: Vec<&str> = MESOS_VERSION.split('.').collect();
        assert_eq!(parts.len(), 3);
        assert!(parts.iter().all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit())));
    }

    #[test]
    fn the_document_has_every_field() {
        let value: serde_json::Value = serde_json::from_str(&version_json()).unwrap();
        assert_eq!(value["version"], MESOS_VERSION);
        assert_eq!(value["build_date"], BUILD_DATE);
        assert_eq!(value["build_user"], BUILD_USER);
        assert!(value["build_time"].as_f64().is_some_and(|t| t > 0.0));
        // The date and the time are the same instant.
        let seconds = build_time() as u64;
        let (hour, minute, second) = (seconds / 3600 % 24, seconds / 60 % 60, seconds % 60);
        assert!(BUILD_DATE.contains(&format!("{hour:02}:{minute:02}:{second:02}")), "{BUILD_DATE} vs {seconds}");
    }
}
