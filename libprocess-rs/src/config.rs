//! `LIBPROCESS_*` environment configuration and the advertised-address rules; mirrors `internal::Flags` and `initialize` in `3rdparty/libprocess/src/process.cpp`.

use std::collections::BTreeMap;
use std::net::Ipv4Addr;
use std::time::Duration;

/// A `<requests>/<duration>` rate limit (`10/1secs`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RateLimit {
    pub permits: u64,
    pub duration: Duration,
}

impl RateLimit {
    pub fn parse(text: &str) -> Result<RateLimit, String> {
        let (permits, duration) = text
            .split_once('/')
            .ok_or_else(|| format!("Invalid rate limit '{text}': expected <requests>/<duration>"))?;
        let permits: u64 =
            permits.trim().parse().map_err(|_| format!("Invalid request count in rate limit '{text}'"))?;
        let duration = crate::duration::parse(duration)?;
        if permits == 0 || duration.is_zero() {
            return Err(format!("Rate limit '{text}' must allow at least one request per non-zero duration"));
        }
        Ok(RateLimit { permits, duration })
    }
}

/// How an instance binds and advertises itself, and the other libprocess knobs.
#[derive(Clone, Debug)]
pub struct Config {
    /// `LIBPROCESS_IP`: the IPv4 address to bind; `0.0.0.0` when unset.
    pub ip: Option<Ipv4Addr>,
    /// `LIBPROCESS_PORT`: the port to bind; 0 picks an ephemeral port.
    pub port: u16,
    /// `LIBPROCESS_ADVERTISE_IP`: put in every local UPID instead of the bound IP.
    pub advertise_ip: Option<Ipv4Addr>,
    /// `LIBPROCESS_ADVERTISE_PORT`: put in every local UPID instead of the bound port.
    pub advertise_port: Option<u16>,
    /// `LIBPROCESS_REQUIRE_PEER_ADDRESS_IP_MATCH`: refuse messages whose `from` IP differs
    /// from the socket peer's.
    pub require_peer_address_ip_match: bool,
    /// `LIBPROCESS_METRICS_SNAPSHOT_ENDPOINT_RATE_LIMIT`: default 2 requests per second;
    /// `None` (the variable set to an empty string) disables the limit.
    pub metrics_snapshot_rate_limit: Option<RateLimit>,
    /// `LIBPROCESS_NUM_WORKER_THREADS`, used by binaries that build their own runtime.
    pub num_worker_threads: Option<usize>,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            ip: None,
            port: 0,
            advertise_ip: None,
            advertise_port: None,
            require_peer_address_ip_match: false,
            metrics_snapshot_rate_limit: Some(RateLimit { permits: 2, duration: Duration::from_secs(1) }),
            num_worker_threads: None,
        }
    }
}

/// A bad `LIBPROCESS_*` value; C++ refuses to start on these.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("Invalid value for LIBPROCESS_{name}: {message}")]
pub struct ConfigError {
    pub name: String,
    pub message: String,
}

impl Config {
    /// Reads the `LIBPROCESS_*` variables of this OS process.
    pub fn from_env() -> Result<Config, ConfigError> {
        Config::from_vars(std::env::vars())
    }

    /// Reads `LIBPROCESS_*` entries from `vars`. Names are case-insensitive after the
    /// prefix and unknown names are ignored, as stout's flags loader does.
    pub fn from_vars(vars: impl IntoIterator<Item = (String, String)>) -> Result<Config, ConfigError> {
        let mut values = BTreeMap::new();
        for (key, value) in vars {
            if let Some(name) = key.strip_prefix("LIBPROCESS_") {
                values.insert(name.to_ascii_lowercase(), value);
            }
        }
        let error = |name: &str, message: String| ConfigError { name: name.to_ascii_uppercase(), message };
        let ip = |name: &str, values: &BTreeMap<String, String>| -> Result<Option<Ipv4Addr>, ConfigError> {
            match values.get(name) {
                None => Ok(None),
                Some(v) => v.trim().parse().map(Some).map_err(|_| error(name, format!("'{v}' is not an IPv4 address"))),
            }
        };

        let mut config =
            Config { ip: ip("ip", &values)?, advertise_ip: ip("advertise_ip", &values)?, ..Config::default() };
        if let Some(v) = values.get("port") {
            config.port = v.trim().parse().map_err(|_| error("port", format!("'{v}' is not a port (0-65535)")))?;
        }
        if let Some(v) = values.get("advertise_port") {
            let port: u16 = v.trim().parse().map_err(|_| error("advertise_port", format!("'{v}' is not a port")))?;
            if port == 0 {
                return Err(error("advertise_port", "must be between 1 and 65535".to_string()));
            }
            config.advertise_port = Some(port);
        }
        if let Some(v) = values.get("require_peer_address_ip_match") {
            config.require_peer_address_ip_match =
                parse_bool(v).map_err(|m| error("require_peer_address_ip_match", m))?;
        }
        if let Some(v) = values.get("metrics_snapshot_endpoint_rate_limit") {
            config.metrics_snapshot_rate_limit = if v.is_empty() {
                None
            } else {
                Some(RateLimit::parse(v).map_err(|m| error("metrics_snapshot_endpoint_rate_limit", m))?)
            };
        }
        if let Some(v) = values.get("num_worker_threads") {
            // C++ warns and falls back to the default on a bad value.
            match v.trim().parse::<usize>() {
                Ok(n) if (1..=1024).contains(&n) => config.num_worker_threads = Some(n),
                _ => tracing::warn!("Ignoring LIBPROCESS_NUM_WORKER_THREADS='{}': expected 1 to 1024", v),
            }
        }
        Ok(config)
    }
}

/// stout's boolean flag syntax: `true`/`false`/`1`/`0`; an empty value means true.
pub fn parse_bool(value: &str) -> Result<bool, String> {
    match value.trim() {
        "" | "true" | "1" => Ok(true),
        "false" | "0" => Ok(false),
        other => Err(format!("'{other}' is not a boolean")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn reads_addresses_case_insensitively() {
        let c = Config::from_vars(vars(&[
            ("LIBPROCESS_IP", "127.0.0.1"),
            ("LIBPROCESS_port", "5050"),
            ("LIBPROCESS_ADVERTISE_IP", "10.1.2.3"),
            ("LIBPROCESS_ADVERTISE_PORT", "6060"),
            ("LIBPROCESS_UNKNOWN", "whatever"),
        ]))
        .unwrap();
        assert_eq!(c.ip, Some(Ipv4Addr::LOCALHOST));
        assert_eq!(c.port, 5050);
        assert_eq!(c.advertise_ip, Some(Ipv4Addr::new(10, 1, 2, 3)));
        assert_eq!(c.advertise_port, Some(6060));
    }

    #[test]
    fn rejects_bad_values() {
        assert!(Config::from_vars(vars(&[("LIBPROCESS_IP", "::1")])).is_err());
        assert!(Config::from_vars(vars(&[("LIBPROCESS_PORT", "70000")])).is_err());
        assert!(Config::from_vars(vars(&[("LIBPROCESS_ADVERTISE_PORT", "0")])).is_err());
        assert!(Config::from_vars(vars(&[("LIBPROCESS_REQUIRE_PEER_ADDRESS_IP_MATCH", "maybe")])).is_err());
    }

    #[test]
    fn rate_limit_forms() {
        let c = Config::from_vars(vars(&[])).unwrap();
        assert_eq!(c.metrics_snapshot_rate_limit, Some(RateLimit { permits: 2, duration: Duration::from_secs(1) }));
        let c = Config::from_vars(vars(&[("LIBPROCESS_METRICS_SNAPSHOT_ENDPOINT_RATE_LIMIT", "10/1secs")])).unwrap();
        assert_eq!(c.metrics_snapshot_rate_limit, Some(RateLimit { permits: 10, duration: Duration::from_secs(1) }));
        let c = Config::from_vars(vars(&[("LIBPROCESS_METRICS_SNAPSHOT_ENDPOINT_RATE_LIMIT", "")])).unwrap();
        assert_eq!(c.metrics_snapshot_rate_limit, None);
        assert!(Config::from_vars(vars(&[("LIBPROCESS_METRICS_SNAPSHOT_ENDPOINT_RATE_LIMIT", "x/1secs")])).is_err());
    }

    #[test]
    fn booleans() {
        assert_eq!(parse_bool(""), Ok(true));
        assert_eq!(parse_bool("1"), Ok(true));
        assert_eq!(parse_bool("false"), Ok(false));
        assert!(parse_bool("yes").is_err());
    }
}
