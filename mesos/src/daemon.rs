//! What the daemons' `main.cpp` files share (master and agent): the libprocess settings from `--ip`/`--port`/`--advertise_*` over `LIBPROCESS_*`, the reverse lookup of `--hostname_lookup`, printing `--help` on stdout, and dying of the signal that stopped the daemon; mirrors the common parts of `src/master/main.cpp` and `src/slave/main.cpp`.

use std::net::{IpAddr, Ipv4Addr};

use libprocess::config::ConfigError;
use libprocess::Config;

/// The flags that place a daemon on the network.
#[derive(Clone, Copy, Debug)]
pub struct NetworkFlags<'a> {
    /// `--ip`.
    pub ip: Option<&'a str>,
    /// `--port`.
    pub port: u16,
    /// `--advertise_ip`.
    pub advertise_ip: Option<&'a str>,
    /// `--advertise_port`.
    pub advertise_port: Option<&'a str>,
}

/// Why the network flags do not make a libprocess configuration.
#[derive(Debug, thiserror::Error)]
pub enum DaemonError {
    #[error("{0}")]
    Invalid(String),
    #[error(transparent)]
    Config(#[from] ConfigError),
}

/// The libprocess settings: `LIBPROCESS_*` from `environment`, overridden as `main.cpp`
/// overrides those variables: `--ip` and `--advertise_ip`/`--advertise_port` when given,
/// `--port` always (its default included).
pub fn libprocess_config(flags: NetworkFlags<'_>, environment: &[(String, String)]) -> Result<Config, DaemonError> {
    let overridden = |name: &str| match name {
        "ip" => flags.ip.is_some(),
        "port" => true,
        "advertise_ip" => flags.advertise_ip.is_some(),
        "advertise_port" => flags.advertise_port.is_some(),
        _ => false,
    };
    // A variable the flags replace is not read, so a bad value there does not matter (C++
    // overwrites it before libprocess reads it).
    let kept = environment.iter().filter(|(name, _)| match name.strip_prefix("LIBPROCESS_") {
        Some(rest) => !overridden(&rest.to_ascii_lowercase()),
        None => false,
    });
    let mut config = Config::from_vars(kept.cloned())?;
    if let Some(ip) = flags.ip {
        config.ip = Some(ipv4("ip", ip)?);
    }
    config.port = flags.port;
    if let Some(ip) = flags.advertise_ip {
        config.advertise_ip = Some(ipv4("advertise_ip", ip)?);
    }
    if let Some(port) = flags.advertise_port {
        match port.trim().parse::<u16>() {
            Ok(port) if port != 0 => config.advertise_port = Some(port),
            _ => {
                return Err(DaemonError::Invalid(format!(
                    "Invalid value '{port}' for --advertise_port: must be a port between 1 and 65535"
                )))
            }
        }
    }
    Ok(config)
}

/// An IPv4 address flag; libprocess here speaks IPv4 only.
pub fn ipv4(name: &str, text: &str) -> Result<Ipv4Addr, DaemonError> {
    match text.trim().parse::<IpAddr>() {
        Ok(IpAddr::V4(ip)) => Ok(ip),
        Ok(IpAddr::V6(_)) => {
            Err(DaemonError::Invalid(format!("Invalid value '{text}' for --{name}: IPv6 is not supported yet")))
        }
        Err(_) => Err(DaemonError::Invalid(format!("Invalid value '{text}' for --{name}: not an IP address"))),
    }
}

/// `getnameinfo` on an IPv4 address.
pub fn reverse_lookup(ip: Ipv4Addr) -> Result<String, String> {
    use std::ffi::CStr;
    // NI_MAXHOST.
    let mut host = [0 as libc::c_char; 1025];
    // SAFETY: an all-zero `sockaddr_in` is a valid value; the fields that matter are set
    // below.
    let mut address: libc::sockaddr_in = unsafe { std::mem::zeroed() };
    address.sin_family = libc::AF_INET as libc::sa_family_t;
    address.sin_addr = libc::in_addr { s_addr: u32::from_ne_bytes(ip.octets()) };
    let length = std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t;
    // SAFETY: `address` is a valid `sockaddr_in` of `length` bytes; `host` is writable for
    // its whole length, which is what is passed; no service buffer is asked for.
    let rc = unsafe {
        libc::getnameinfo(
            (&address as *const libc::sockaddr_in).cast::<libc::sockaddr>(),
            length,
            host.as_mut_ptr(),
            host.len() as libc::socklen_t,
            std::ptr::null_mut(),
            0,
            0,
        )
    };
    if rc != 0 {
        // SAFETY: `gai_strerror` returns a static NUL-terminated string for any code.
        let reason = unsafe { CStr::from_ptr(libc::gai_strerror(rc)) };
        return Err(reason.to_string_lossy().into_owned());
    }
    // SAFETY: on success `getnameinfo` wrote a NUL-terminated name into `host`.
    let name = unsafe { CStr::from_ptr(host.as_ptr()) };
    Ok(name.to_string_lossy().into_owned())
}

/// Prints `text` and a newline on stdout; a closed stdout (`mesos-master --help | head`) is
/// not an error worth reporting.
pub fn print_stdout(text: &str) {
    use std::io::Write;
    let mut stdout = std::io::stdout().lock();
    let _ = writeln!(stdout, "{text}").and_then(|()| stdout.flush());
}

/// Restores the default action of `signal` and raises it, so the program ends as killed by
/// it (as C++'s SIGTERM handler does); returns the shell's code for that signal if it
/// somehow survives.
pub fn die_of(signal: i32) -> i32 {
    // SAFETY: resetting a disposition to the default and raising a signal have no memory
    // effects on this program.
    unsafe {
        libc::signal(signal, libc::SIG_DFL);
        libc::raise(signal);
    }
    128 + signal
}

/// A command line and an environment as text.
pub type TextArguments = (Vec<String>, Vec<(String, String)>);

/// The command line and environment as text: an argument that is not UTF-8 is an error;
/// variables that are not text are skipped, as they name nothing a daemon reads.
pub fn text_arguments(
    argv: Vec<std::ffi::OsString>,
    environment: Vec<(std::ffi::OsString, std::ffi::OsString)>,
) -> Result<TextArguments, std::ffi::OsString> {
    let argv = argv.into_iter().map(std::ffi::OsString::into_string).collect::<Result<Vec<_>, _>>()?;
    let environment = environment
        .into_iter()
        .filter_map(|(name, value)| Some((name.into_string().ok()?, value.into_string().ok()?)))
        .collect();
    Ok((argv, environment))
}
