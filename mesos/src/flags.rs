//! Declarative command-line flags loaded from `--name=value` arguments and `PREFIX_NAME` environment variables; mirrors `3rdparty/stout/include/stout/flags/flags.hpp`, `flags/parse.hpp`, `flags/fetch.hpp`.
//!
//! A component writes a plain struct and registers its fields on a [`Flags`], which owns the
//! struct and dereferences to it:
//!
//! ```
//! use std::time::Duration;
//! use mesos::field;
//! use mesos::flags::Flags;
//!
//! #[derive(Default)]
//! struct MasterFlags {
//!     port: u16,
//!     work_dir: Option<String>,
//!     agent_ping_timeout: Duration,
//! }
//!
//! let mut flags = Flags::new(MasterFlags::default());
//! flags.add(field!(port), "port", "Port to listen on.").default(5050);
//! flags.add_optional(field!(work_dir), "work_dir", "Where to store the registry.");
//! flags
//!     .add(field!(agent_ping_timeout), "agent_ping_timeout", "How long to wait for a pong.")
//!     .deprecated_alias("slave_ping_timeout")
//!     .default(Duration::from_secs(15))
//!     .validate(|timeout| {
//!         if timeout.is_zero() { Err("Invalid `--agent_ping_timeout`".into()) } else { Ok(()) }
//!     });
//!
//! let loaded = flags
//!     .load_from(&["mesos-master", "--slave_ping_timeout=5secs"], &Default::default())
//!     .unwrap();
//! assert_eq!(flags.port, 5050);
//! assert_eq!(flags.agent_ping_timeout, Duration::from_secs(5));
//! assert_eq!(loaded.warnings[0].message, "Loaded deprecated flag 'slave_ping_timeout'");
//! // `/master/flags` shows the name the user typed.
//! assert!(flags.to_pairs().contains(&("slave_ping_timeout".into(), "5secs".into())));
//! ```
//!
//! What stout does, and so do we:
//! * Only `--name=value` carries a value; `--name value` sets a boolean `name` (or fails for
//!   a non-boolean one) and `value` is a positional argument. `--no-name` sets a boolean to
//!   false; booleans accept `true`, `false`, `1`, `0`. Names are lower-cased; values are not.
//! * Arguments not starting with `--` are skipped (returned in [`Loaded::remaining`]), and
//!   everything after a bare `--` too.
//! * From the environment, `PREFIX_NAME` and `PREFIX_name` both set `name` (the prefix itself
//!   is case-sensitive). Variables naming no known flag are ignored. A command-line value
//!   replaces an environment value of the *same spelling*; the same flag reached through two
//!   spellings (name and alias, or `--no-x` and `PREFIX_X`) is a duplicate.
//! * All values are applied in sorted order of the spelling used, then every flag is checked
//!   (required, then its validator) in sorted order of flag name; the first error wins.
//! * A value `file://<path>` is replaced by the file's whole contents (not trimmed) before it
//!   is parsed, except for [`PathBuf`] flags, which keep the path.
//! * Loading twice into the same [`Flags`] makes every flag loaded before a duplicate.

use std::collections::BTreeMap;
use std::fmt;
use std::ops::{Deref, DerefMut};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

pub use crate::bytes::Bytes;

/// Builds the accessor pair [`Flags::add`] and [`Flags::add_optional`] take for a field of the
/// flags struct: `field!(port)` is `(|f| &f.port, |f| &mut f.port)`.
#[macro_export]
macro_rules! field {
    ($field:ident) => {
        (|flags| &flags.$field, |flags| &mut flags.$field)
    };
}

/// Declares `logging::Flags` (which every Mesos daemon's flags inherit) on `$flags`, a
/// `Flags<T>` whose `T` has the fields `quiet`, `logging_level`, `log_dir`, `logbufsecs`,
/// `initialize_driver_logging` and `external_log_file` (C++ `src/logging/flags.cpp`).
#[macro_export]
macro_rules! declare_logging_flags {
    ($flags:expr) => {{
        let f = $flags;
        f.add($crate::field!(quiet), "quiet", "Do not log to stderr.").default(false);
        f.add(
            $crate::field!(logging_level),
            "logging_level",
            "Lowest level logged: `INFO`, `WARNING` or `ERROR`. With `--quiet` it applies to the \
             `--log_dir` files only.",
        )
        .default("INFO".to_string());
        f.add_optional(
            $crate::field!(log_dir),
            "log_dir",
            "Directory for log files (shown in the web UI). Unset: no log files. stderr logging is \
             unaffected.",
        );
        f.add($crate::field!(logbufsecs), "logbufsecs", "Longest time, in seconds, logs may stay buffered.").default(0);
        f.add(
            $crate::field!(initialize_driver_logging),
            "initialize_driver_logging",
            "Set up logging for the scheduler and executor drivers (v0 APIs only) the way the \
             daemon's own is.",
        )
        .default(true);
        f.add_optional(
            $crate::field!(external_log_file),
            "external_log_file",
            "Log file written by something else (syslog, journald) to show in the web UI and HTTP \
             API; overrides `--log_dir` there.",
        );
    }};
}

/// The first flag, by the name it was given under, that `flags` loaded with a value other
/// than its default in `defaults` and that is not in `supported`: how a daemon refuses what
/// it does not implement yet without refusing command lines that spell out defaults.
pub fn first_unsupported<T>(flags: &Flags<T>, defaults: &Flags<T>, supported: &[&str]) -> Option<String> {
    for info in flags.iter() {
        if !info.loaded || supported.contains(&info.name.value.as_str()) {
            continue;
        }
        let default = defaults.get(&info.name.value).and_then(|flag| flag.value);
        if info.value != default {
            return Some(info.effective_name.value.clone());
        }
    }
    None
}

/// Why loading flags failed. The messages are stout's, word for word.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FlagsError {
    /// `name` is neither a flag nor an alias; `via` is the `no-` spelling if one was used.
    #[error("Failed to load unknown flag '{name}'{}", via.as_ref().map(|v| format!(" via '{v}'")).unwrap_or_default())]
    Unknown { name: String, via: Option<String> },
    /// The flag was already set by this or an earlier load, under `loaded_name`.
    #[error("Flag '{name}' is already loaded via name '{loaded_name}'")]
    Duplicate { name: String, loaded_name: String },
    /// `--no-name` for a flag that is not a boolean.
    #[error("Failed to load non-boolean flag '{name}' via '{via}'")]
    NegatedNonBoolean { name: String, via: String },
    /// `--name` without `=value` for a flag that is not a boolean.
    #[error("Failed to load non-boolean flag '{name}': Missing value")]
    MissingValue { name: String },
    /// `--no-name=value`.
    #[error("Failed to load boolean flag '{name}' via '{via}' with value '{value}'")]
    NegatedBooleanWithValue { name: String, via: String, value: String },
    /// The value did not parse (or its `file://` could not be read).
    #[error("Failed to load flag '{name}': Failed to load value '{value}': {reason}")]
    InvalidValue { name: String, value: String, reason: String },
    /// A flag with neither a default nor an `Option` type was not given.
    #[error("Flag '{name}' is required, but it was not provided")]
    MissingRequired { name: String },
    /// A validator's message, unchanged.
    #[error("{0}")]
    Invalid(String),
}

/// A flag name or alias; a deprecated one produces a warning when it is used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Name {
    pub value: String,
    pub deprecated: bool,
}

/// Something worth logging that did not stop the load.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Warning {
    pub message: String,
}

/// The result of a successful load.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Loaded {
    /// `Loaded deprecated flag '...'` for each deprecated spelling used.
    pub warnings: Vec<Warning>,
    /// The command-line arguments that are not flags (without the program name), in order:
    /// those not starting with `--`, and all after a bare `--`. This is what stout's
    /// `load(prefix, &argc, &argv)` leaves in `argv`.
    pub remaining: Vec<String>,
}

/// Where the environment comes from and what to tolerate.
#[derive(Debug, Clone, Default)]
pub struct LoadOptions {
    /// Read flags from variables starting with this (`MESOS_`); `None` reads none.
    pub prefix: Option<String>,
    /// Skip unknown flags instead of failing.
    pub unknowns: bool,
    /// Let a later value of a flag replace an earlier one instead of failing.
    pub duplicates: bool,
    /// The variables to read instead of the process environment (tests).
    pub environment: Option<Vec<(String, String)>>,
}

impl LoadOptions {
    /// stout's defaults with environment prefix `prefix`.
    pub fn with_prefix(prefix: &str) -> Self {
        LoadOptions { prefix: Some(prefix.to_string()), ..Default::default() }
    }
}

/// A type a flag can have: how its text parses and prints (stout `flags::parse`,
/// `flags::fetch` and `stringify`).
pub trait FlagValue: Sized {
    /// Booleans may be given as `--name` and `--no-name`.
    const BOOLEAN: bool = false;

    /// Parses the value text (stout `flags::parse<T>`).
    fn parse(text: &str) -> Result<Self, String>;

    /// Prints the value as `/flags` shows it (stout `stringify`).
    fn stringify(&self) -> String;

    /// Resolves `file://<path>` to the file's contents, then parses (stout `flags::fetch<T>`).
    fn fetch(value: &str) -> Result<Self, String> {
        match value.strip_prefix("file://") {
            Some(path) => Self::parse(&read_file(path)?),
            None => Self::parse(value),
        }
    }
}

/// stout `os::read` with its error wording: `Error reading file '<path>': <strerror>`. Flag
/// types of other crates that read files themselves (stout's JSON flags take a bare
/// `/path`) use it for the same wording.
pub fn read_file(path: &str) -> Result<String, String> {
    std::fs::read(path).map(|bytes| String::from_utf8_lossy(&bytes).into_owned()).map_err(|error| {
        let text = error.to_string();
        // Rust appends " (os error N)" to strerror's text; C++ does not.
        let text = match text.rfind(" (os error ") {
            Some(at) if text.ends_with(')') => text[..at].to_string(),
            _ => text,
        };
        format!("Error reading file '{path}': {text}")
    })
}

const CONVERT_ERROR: &str = "Failed to convert into required type";

impl FlagValue for bool {
    const BOOLEAN: bool = true;

    fn parse(text: &str) -> Result<Self, String> {
        match text {
            "true" | "1" => Ok(true),
            "false" | "0" => Ok(false),
            _ => Err("Expecting a boolean (e.g., true or false)".to_string()),
        }
    }

    fn stringify(&self) -> String {
        self.to_string()
    }
}

impl FlagValue for String {
    fn parse(text: &str) -> Result<Self, String> {
        Ok(text.to_string())
    }

    fn stringify(&self) -> String {
        self.clone()
    }
}

/// C++ `isspace` in the C locale, which `operator>>` skips before a number.
fn skip_c_space(text: &str) -> &str {
    text.trim_start_matches([' ', '\t', '\n', '\x0b', '\x0c', '\r'])
}

/// An integer as `std::istringstream >> T` reads it, where the whole text must be consumed:
/// leading white space, an optional sign, decimal digits, nothing after. Out of range fails.
/// For unsigned types a `-` negates modulo 2^n (`-1` is the maximum), as libstdc++ does.
fn parse_integer(text: &str, min: i128, max: i128) -> Result<i128, String> {
    let text = skip_c_space(text);
    let (negative, digits) = match text.as_bytes().first() {
        Some(b'-') => (true, &text[1..]),
        Some(b'+') => (false, &text[1..]),
        _ => (false, text),
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(CONVERT_ERROR.to_string());
    }
    let magnitude: i128 = digits.parse().map_err(|_| CONVERT_ERROR.to_string())?;
    if min < 0 {
        let value = if negative { -magnitude } else { magnitude };
        if value < min || value > max {
            return Err(CONVERT_ERROR.to_string());
        }
        Ok(value)
    } else {
        if magnitude > max {
            return Err(CONVERT_ERROR.to_string());
        }
        // Wrap into [0, max] as unsigned negation does.
        Ok(if negative && magnitude != 0 { max + 1 - magnitude } else { magnitude })
    }
}

macro_rules! integer_flag_value {
    ($($t:ty),*) => {$(
        impl FlagValue for $t {
            fn parse(text: &str) -> Result<Self, String> {
                parse_integer(text, <$t>::MIN as i128, <$t>::MAX as i128).map(|v| v as $t)
            }

            fn stringify(&self) -> String {
                self.to_string()
            }
        }
    )*};
}

integer_flag_value!(i16, u16, i32, u32, i64, u64, isize, usize);

impl FlagValue for f64 {
    /// As `operator>>` reads a double: leading white space, then
    /// `[+-]digits[.digits][(e|E)[+-]digits]` and nothing after; no `inf`, `nan` or hex.
    fn parse(text: &str) -> Result<Self, String> {
        let text = skip_c_space(text);
        let bytes = text.as_bytes();
        let mut at = 0;
        if matches!(bytes.first(), Some(b'+' | b'-')) {
            at += 1;
        }
        let integer = bytes[at..].iter().take_while(|b| b.is_ascii_digit()).count();
        at += integer;
        let mut fraction = 0;
        if bytes.get(at) == Some(&b'.') {
            at += 1;
            fraction = bytes[at..].iter().take_while(|b| b.is_ascii_digit()).count();
            at += fraction;
        }
        if integer + fraction == 0 {
            return Err(CONVERT_ERROR.to_string());
        }
        if matches!(bytes.get(at), Some(b'e' | b'E')) {
            at += 1;
            if matches!(bytes.get(at), Some(b'+' | b'-')) {
                at += 1;
            }
            let exponent = bytes[at..].iter().take_while(|b| b.is_ascii_digit()).count();
            if exponent == 0 {
                return Err(CONVERT_ERROR.to_string());
            }
            at += exponent;
        }
        if at != bytes.len() {
            return Err(CONVERT_ERROR.to_string());
        }
        match text.parse::<f64>() {
            Ok(value) if value.is_finite() => Ok(value),
            _ => Err(CONVERT_ERROR.to_string()),
        }
    }

    /// As `std::ostream` prints a double by default (`%g`, 6 significant digits).
    fn stringify(&self) -> String {
        format_g(*self, 6)
    }
}

/// C's `%.{precision}g`.
fn format_g(value: f64, precision: usize) -> String {
    if value == 0.0 {
        return if value.is_sign_negative() { "-0".into() } else { "0".into() };
    }
    if !value.is_finite() {
        return if value.is_nan() {
            "nan".into()
        } else if value > 0.0 {
            "inf".into()
        } else {
            "-inf".into()
        };
    }
    let precision = precision.max(1);
    // The exponent after rounding to `precision` digits decides the style.
    let scientific = format!("{:.*e}", precision - 1, value);
    let (mantissa, exponent) = scientific.split_once('e').unwrap_or((&scientific, "0"));
    let exponent: i32 = exponent.parse().unwrap_or(0);
    let trim = |text: &str| -> String {
        if text.contains('.') {
            text.trim_end_matches('0').trim_end_matches('.').to_string()
        } else {
            text.to_string()
        }
    };
    if exponent < -4 || exponent >= precision as i32 {
        let sign = if exponent < 0 { '-' } else { '+' };
        format!("{}e{}{:02}", trim(mantissa), sign, exponent.abs())
    } else {
        let decimals = (precision as i32 - 1 - exponent).max(0) as usize;
        trim(&format!("{value:.decimals$}"))
    }
}

impl FlagValue for Duration {
    /// stout `Duration::parse`: digits and dots, then one of `ns`, `us`, `ms`, `secs`,
    /// `mins`, `hrs`, `days`, `weeks`; no sign, no space, at most `int64_t` nanoseconds.
    fn parse(text: &str) -> Result<Self, String> {
        let split = text.bytes().take_while(|b| b.is_ascii_digit() || *b == b'.').count();
        if split == text.len() {
            return Err(format!("Invalid duration '{text}'"));
        }
        let (number, unit) = text.split_at(split);
        let value: f64 = number.parse().map_err(|_| format!("Failed to convert '{number}' to number"))?;
        let factor: f64 = match unit {
            "ns" => 1.0,
            "us" => 1e3,
            "ms" => 1e6,
            "secs" => 1e9,
            "mins" => 60e9,
            "hrs" => 3600e9,
            "days" => 86400e9,
            "weeks" => 604800e9,
            _ => {
                return Err(format!(
                    "Unknown duration unit '{unit}'; supported units are 'ns', 'us', 'ms', 'secs', 'mins', \
                     'hrs', 'days', and 'weeks'"
                ))
            }
        };
        let nanos = value * factor;
        if nanos > i64::MAX as f64 {
            return Err(
                "Argument out of the range that a Duration can represent due to int64_t's size limit".to_string()
            );
        }
        Ok(Duration::from_nanos(nanos as u64))
    }

    fn stringify(&self) -> String {
        libprocess::duration::format(*self)
    }
}

impl FlagValue for Bytes {
    fn parse(text: &str) -> Result<Self, String> {
        Bytes::parse(text)
    }

    fn stringify(&self) -> String {
        self.to_string()
    }
}

impl FlagValue for PathBuf {
    /// stout `Path`: a leading `file://` is dropped and the file is not read.
    fn parse(text: &str) -> Result<Self, String> {
        Ok(PathBuf::from(text.strip_prefix("file://").unwrap_or(text)))
    }

    fn stringify(&self) -> String {
        self.to_string_lossy().into_owned()
    }

    fn fetch(value: &str) -> Result<Self, String> {
        Self::parse(value)
    }
}

/// A secret given inline or as `file://<path>`; prints as the path when it came from a file
/// so `/flags` does not show the secret (stout `SecurePathOrValue`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SecurePathOrValue {
    pub path: Option<PathBuf>,
    pub value: String,
}

impl FlagValue for SecurePathOrValue {
    fn parse(text: &str) -> Result<Self, String> {
        match text.strip_prefix("file://") {
            Some(path) => Ok(SecurePathOrValue { path: Some(PathBuf::from(path)), value: read_file(path)? }),
            None => Ok(SecurePathOrValue { path: None, value: text.to_string() }),
        }
    }

    fn stringify(&self) -> String {
        match &self.path {
            Some(path) => path.to_string_lossy().into_owned(),
            None => self.value.clone(),
        }
    }

    fn fetch(value: &str) -> Result<Self, String> {
        Self::parse(value)
    }
}

/// The flags struct plus the built-in `--help`; registered closures work on this.
struct State<T> {
    help: bool,
    values: T,
}

type LoadFn<T> = Box<dyn Fn(&mut State<T>, &str) -> Result<(), String> + Send + Sync>;
type StringifyFn<T> = Box<dyn Fn(&State<T>) -> Option<String> + Send + Sync>;
type ValidateFn<T> = Box<dyn Fn(&State<T>) -> Result<(), String> + Send + Sync>;
type Getter<T, F> = Arc<dyn Fn(&State<T>) -> &F + Send + Sync>;
type Setter<T, F> = Arc<dyn Fn(&mut State<T>) -> &mut F + Send + Sync>;

/// How the help line ends: `(default: x)` for flags with a plain type (an empty `x` when
/// required), nothing for `Option` flags.
enum HelpDefault {
    Text(String),
    Optional,
}

struct Flag<T> {
    name: Name,
    alias: Option<Name>,
    /// The spelling the user set it with, once loaded.
    loaded_name: Option<Name>,
    help: String,
    default: HelpDefault,
    boolean: bool,
    required: bool,
    load: LoadFn<T>,
    stringify: StringifyFn<T>,
    validate: Option<ValidateFn<T>>,
}

impl<T> Flag<T> {
    fn effective_name(&self) -> &Name {
        self.loaded_name.as_ref().unwrap_or(&self.name)
    }

    /// The help text with stout's default suffix.
    fn full_help(&self) -> String {
        match &self.default {
            HelpDefault::Optional => self.help.clone(),
            HelpDefault::Text(text) => {
                let ends_with_newline = self.help.ends_with(['\n', '\r']);
                let separator = if self.help.is_empty() || ends_with_newline { "" } else { " " };
                format!("{}{separator}(default: {text})", self.help)
            }
        }
    }
}

/// A read-only view of one registered flag.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlagInfo<'a> {
    pub name: &'a Name,
    pub alias: Option<&'a Name>,
    /// The spelling the flag was loaded with, or its name if it was not loaded.
    pub effective_name: &'a Name,
    /// Whether a load set this flag.
    pub loaded: bool,
    /// The help text, with `(default: ...)` appended as `--help` shows it.
    pub help: String,
    pub boolean: bool,
    pub required: bool,
    /// The current value in stout's text form; `None` for an unset `Option` flag.
    pub value: Option<String>,
}

/// A set of flags over the struct `T` that holds their values (stout `FlagsBase`).
pub struct Flags<T> {
    state: State<T>,
    program_name: String,
    usage_message: Option<String>,
    /// By name; iteration order is stout's (`std::map`).
    flags: BTreeMap<String, Flag<T>>,
    /// Alias to name.
    aliases: BTreeMap<String, String>,
}

impl<T: 'static> Flags<T> {
    /// Flags over `values`, with the built-in `--help`.
    pub fn new(values: T) -> Self {
        let mut flags = Flags {
            state: State { help: false, values },
            program_name: String::new(),
            usage_message: None,
            flags: BTreeMap::new(),
            aliases: BTreeMap::new(),
        };
        let getter: Getter<T, bool> = Arc::new(|state| &state.help);
        let setter: Setter<T, bool> = Arc::new(|state| &mut state.help);
        flags.register(getter, setter, "help", "Prints this help message").default(false);
        flags
    }

    /// Declares a flag of a plain type: required unless [`FlagSpec::default`] gives it a
    /// default. `field` is the accessor pair [`field!`] makes.
    ///
    /// # Panics
    /// On a declaration error, as stout exits: a duplicate name, or one starting with `no-`.
    pub fn add<V, G, M>(&mut self, field: (G, M), name: &str, help: &str) -> FlagSpec<'_, T, V>
    where
        V: FlagValue + 'static,
        G: Fn(&T) -> &V + Send + Sync + 'static,
        M: Fn(&mut T) -> &mut V + Send + Sync + 'static,
    {
        let (get, get_mut) = field;
        self.register(
            Arc::new(move |state| get(&state.values)),
            Arc::new(move |state| get_mut(&mut state.values)),
            name,
            help,
        )
    }

    fn register<V: FlagValue + 'static>(
        &mut self,
        getter: Getter<T, V>,
        setter: Setter<T, V>,
        name: &str,
        help: &str,
    ) -> FlagSpec<'_, T, V> {
        let load_setter = setter.clone();
        let stringify_getter = getter.clone();
        let flag = Flag {
            name: Name { value: name.to_string(), deprecated: false },
            alias: None,
            loaded_name: None,
            help: help.to_string(),
            default: HelpDefault::Text(String::new()),
            boolean: V::BOOLEAN,
            required: true,
            load: Box::new(move |state, text| {
                *load_setter(state) = V::fetch(text)?;
                Ok(())
            }),
            stringify: Box::new(move |state| Some(stringify_getter(state).stringify())),
            validate: None,
        };
        self.insert(flag);
        FlagSpec { flags: self, name: name.to_string(), getter, setter }
    }

    /// Declares a flag of type `Option<V>`: never required, `None` until given, and left out
    /// of [`Flags::to_pairs`] while unset.
    ///
    /// # Panics
    /// As [`Flags::add`].
    pub fn add_optional<V, G, M>(&mut self, field: (G, M), name: &str, help: &str) -> FlagSpec<'_, T, Option<V>>
    where
        V: FlagValue + 'static,
        G: Fn(&T) -> &Option<V> + Send + Sync + 'static,
        M: Fn(&mut T) -> &mut Option<V> + Send + Sync + 'static,
    {
        let (get, get_mut) = field;
        let getter: Getter<T, Option<V>> = Arc::new(move |state| get(&state.values));
        let setter: Setter<T, Option<V>> = Arc::new(move |state| get_mut(&mut state.values));
        let load_setter = setter.clone();
        let stringify_getter = getter.clone();
        let flag = Flag {
            name: Name { value: name.to_string(), deprecated: false },
            alias: None,
            loaded_name: None,
            help: help.to_string(),
            default: HelpDefault::Optional,
            boolean: V::BOOLEAN,
            required: false,
            load: Box::new(move |state, text| {
                *load_setter(state) = Some(V::fetch(text)?);
                Ok(())
            }),
            stringify: Box::new(move |state| stringify_getter(state).as_ref().map(V::stringify)),
            validate: None,
        };
        self.insert(flag);
        FlagSpec { flags: self, name: name.to_string(), getter, setter }
    }

    fn insert(&mut self, flag: Flag<T>) {
        self.check_new_name(&flag.name.value);
        self.flags.insert(flag.name.value.clone(), flag);
    }

    fn check_new_name(&self, name: &str) {
        // stout only compares against flag names; aliases are checked too here, since a
        // clash with one is as much a declaration mistake.
        if self.flags.contains_key(name) || self.aliases.contains_key(name) {
            panic!("Attempted to add duplicate flag '{name}'");
        }
        if name.starts_with("no-") {
            panic!("Attempted to add flag '{name}' that starts with the reserved 'no-' prefix");
        }
    }

    fn set_alias(&mut self, name: &str, alias: Name) {
        if alias.value == name {
            panic!("Attempted to add flag '{name}' with an alias that is same as the flag name");
        }
        let flag = self.flags.get(name).expect("flag is registered");
        if flag.alias.is_some() {
            panic!("Attempted to add a second alias to flag '{name}'");
        }
        self.check_new_name(&alias.value);
        self.aliases.insert(alias.value.clone(), name.to_string());
        self.flags.get_mut(name).expect("flag is registered").alias = Some(alias);
    }
}

/// Finishes declaring one flag: alias, default, validator.
pub struct FlagSpec<'a, T, F> {
    flags: &'a mut Flags<T>,
    name: String,
    getter: Getter<T, F>,
    setter: Setter<T, F>,
}

impl<T: 'static, F: 'static> FlagSpec<'_, T, F> {
    /// A second name for the flag (`--slave_ping_timeout` for `--agent_ping_timeout`).
    pub fn alias(self, alias: &str) -> Self {
        self.flags.set_alias(&self.name, Name { value: alias.to_string(), deprecated: false });
        self
    }

    /// An alias whose use adds the warning `Loaded deprecated flag '<alias>'` (stout
    /// `flags::DeprecatedName`).
    pub fn deprecated_alias(self, alias: &str) -> Self {
        self.flags.set_alias(&self.name, Name { value: alias.to_string(), deprecated: true });
        self
    }

    /// Checks the value after every load, whether or not the flag was given; the message of
    /// an `Err` is the load's error as is.
    pub fn validate(self, validate: impl Fn(&F) -> Result<(), String> + Send + Sync + 'static) -> Self {
        let getter = self.getter.clone();
        let flag = self.flags.flags.get_mut(&self.name).expect("flag is registered");
        flag.validate = Some(Box::new(move |state| validate(getter(state))));
        self
    }
}

impl<T: 'static, V: FlagValue + 'static> FlagSpec<'_, T, V> {
    /// Sets the field to `value` now, makes the flag optional, and shows the value in the
    /// help as `(default: ...)`.
    pub fn default(self, value: V) -> Self {
        let text = value.stringify();
        *(self.setter)(&mut self.flags.state) = value;
        let flag = self.flags.flags.get_mut(&self.name).expect("flag is registered");
        flag.required = false;
        flag.default = HelpDefault::Text(text);
        self
    }
}

/// Name to the values given for it, in the order given (stout's `Multimap`).
type Values = BTreeMap<String, Vec<Option<String>>>;

impl<T: 'static> Flags<T> {
    /// Loads `PREFIX_*` variables, then the command line `argv` (whose first element is the
    /// program name), with stout's defaults: unknown flags and duplicates are errors
    /// (stout `load(prefix, argc, argv)`).
    pub fn load<S: AsRef<str>>(&mut self, prefix: Option<&str>, argv: &[S]) -> Result<Loaded, FlagsError> {
        let options = LoadOptions { prefix: prefix.map(str::to_string), ..Default::default() };
        self.load_from(argv, &options)
    }

    /// As [`Flags::load`] with explicit options.
    pub fn load_from<S: AsRef<str>>(&mut self, argv: &[S], options: &LoadOptions) -> Result<Loaded, FlagsError> {
        self.program_name = argv.first().map(|arg| basename(arg.as_ref())).unwrap_or_default();
        let mut values = Values::new();
        let mut remaining = Vec::new();
        let mut args = argv.iter().skip(1).map(AsRef::as_ref);
        while let Some(original) = args.next() {
            let arg = original.trim_matches([' ', '\t', '\n', '\r']);
            if arg == "--" {
                remaining.extend(args.by_ref().map(str::to_string));
                break;
            }
            let Some(flag) = arg.strip_prefix("--") else {
                remaining.push(original.to_string());
                continue;
            };
            let (name, value) = match flag.split_once('=') {
                Some((name, value)) => (name, Some(value.to_string())),
                None => (flag, None),
            };
            values.entry(name.to_ascii_lowercase()).or_default().push(value);
        }
        let warnings = self.load_values_from(values, options)?;
        Ok(Loaded { warnings, remaining })
    }

    /// Loads only the `prefix` environment variables (stout `load(prefix)`).
    pub fn load_environment(&mut self, prefix: &str) -> Result<Vec<Warning>, FlagsError> {
        self.load_values(std::iter::empty::<(String, Option<String>)>(), &LoadOptions::with_prefix(prefix))
    }

    /// Loads `name -> value` pairs, where `None` is a bare `--name`, plus the environment
    /// if `options.prefix` is set; a pair replaces an environment value of the same name
    /// (stout `load(map, unknowns, prefix)`).
    pub fn load_values<K, V>(
        &mut self,
        values: impl IntoIterator<Item = (K, Option<V>)>,
        options: &LoadOptions,
    ) -> Result<Vec<Warning>, FlagsError>
    where
        K: Into<String>,
        V: Into<String>,
    {
        let mut map = Values::new();
        for (name, value) in values {
            map.entry(name.into()).or_default().push(value.map(Into::into));
        }
        self.load_values_from(map, options)
    }

    /// The `prefix` variables that name a known flag (or `no-` and one), by lower-cased name
    /// (stout `FlagsBase::extract`). Of `P_NAME` and `P_name` the latter wins, as it sorts last.
    fn extract(&self, prefix: &str, environment: Option<&[(String, String)]>) -> BTreeMap<String, String> {
        let sorted: BTreeMap<String, String> = match environment {
            Some(pairs) => pairs.iter().cloned().collect(),
            None => std::env::vars_os()
                .map(|(key, value)| (key.to_string_lossy().into_owned(), value.to_string_lossy().into_owned()))
                .collect(),
        };
        let mut values = BTreeMap::new();
        for (key, value) in sorted {
            let Some(name) = key.strip_prefix(prefix) else { continue };
            let name = name.to_ascii_lowercase();
            let flag_name = name.strip_prefix("no-").unwrap_or(&name);
            if self.flags.contains_key(flag_name) || self.aliases.contains_key(flag_name) {
                values.insert(name, value);
            }
        }
        values
    }

    fn load_values_from(&mut self, mut values: Values, options: &LoadOptions) -> Result<Vec<Warning>, FlagsError> {
        if let Some(prefix) = &options.prefix {
            for (name, value) in self.extract(prefix, options.environment.as_deref()) {
                values.entry(name).or_insert_with(|| vec![Some(value)]);
            }
        }

        let mut warnings = Vec::new();
        for (name, given) in &values {
            let negated = name.starts_with("no-");
            let flag_name = if negated { &name[3..] } else { name.as_str() };
            let key = self.aliases.get(flag_name).map(String::as_str).unwrap_or(flag_name);
            let Some(flag) = self.flags.get_mut(key) else {
                if options.unknowns {
                    continue;
                }
                let via = negated.then(|| name.clone());
                return Err(FlagsError::Unknown { name: flag_name.to_string(), via });
            };
            let via_alias = key != flag_name;

            for value in given {
                if !options.duplicates {
                    if let Some(loaded) = &flag.loaded_name {
                        return Err(FlagsError::Duplicate {
                            name: flag_name.to_string(),
                            loaded_name: loaded.value.clone(),
                        });
                    }
                }

                let text = if !flag.boolean {
                    if negated {
                        return Err(FlagsError::NegatedNonBoolean { name: flag_name.to_string(), via: name.clone() });
                    }
                    match value {
                        Some(value) => value.clone(),
                        None => return Err(FlagsError::MissingValue { name: flag_name.to_string() }),
                    }
                } else {
                    match value.as_deref() {
                        None | Some("") => (if negated { "false" } else { "true" }).to_string(),
                        Some(value) if !negated => value.to_string(),
                        Some(value) => {
                            return Err(FlagsError::NegatedBooleanWithValue {
                                name: flag_name.to_string(),
                                via: name.clone(),
                                value: value.to_string(),
                            })
                        }
                    }
                };

                (flag.load)(&mut self.state, &text).map_err(|reason| FlagsError::InvalidValue {
                    name: flag_name.to_string(),
                    value: text.clone(),
                    reason,
                })?;

                let loaded =
                    if via_alias { flag.alias.clone().expect("alias is registered") } else { flag.name.clone() };
                if loaded.deprecated {
                    warnings.push(Warning { message: format!("Loaded deprecated flag '{flag_name}'") });
                }
                flag.loaded_name = Some(loaded);
            }
        }

        for flag in self.flags.values() {
            if flag.required && flag.loaded_name.is_none() {
                return Err(FlagsError::MissingRequired { name: flag.name.value.clone() });
            }
            if let Some(validate) = &flag.validate {
                validate(&self.state).map_err(FlagsError::Invalid)?;
            }
        }

        Ok(warnings)
    }
}

impl<T> Flags<T> {
    /// Whether `--help` was given.
    pub fn help(&self) -> bool {
        self.state.help
    }

    /// The flag values.
    pub fn values(&self) -> &T {
        &self.state.values
    }

    /// The flag values, to change in place.
    pub fn values_mut(&mut self) -> &mut T {
        &mut self.state.values
    }

    /// The flag values, giving up the declarations.
    pub fn into_values(self) -> T {
        self.state.values
    }

    /// The program name used by [`Flags::usage`]; a load sets it to the base name of `argv[0]`.
    pub fn set_program_name(&mut self, name: &str) {
        self.program_name = name.to_string();
    }

    /// Replaces the `Usage: <program> [options]` line of [`Flags::usage`].
    pub fn set_usage_message(&mut self, message: &str) {
        self.usage_message = Some(message.to_string());
    }

    /// Every flag by name.
    pub fn iter(&self) -> impl Iterator<Item = FlagInfo<'_>> {
        self.flags.values().map(|flag| FlagInfo {
            name: &flag.name,
            alias: flag.alias.as_ref(),
            effective_name: flag.effective_name(),
            loaded: flag.loaded_name.is_some(),
            help: flag.full_help(),
            boolean: flag.boolean,
            required: flag.required,
            value: (flag.stringify)(&self.state),
        })
    }

    /// One flag, by name or alias.
    pub fn get(&self, name: &str) -> Option<FlagInfo<'_>> {
        let key = self.aliases.get(name).map(String::as_str).unwrap_or(name);
        self.iter().find(|info| info.name.value == key)
    }

    /// `(effective name, value)` of every flag that has a value, by flag name: what the
    /// `/flags` endpoints show. The effective name is the spelling that loaded the flag.
    pub fn to_pairs(&self) -> Vec<(String, String)> {
        self.flags
            .values()
            .filter_map(|flag| (flag.stringify)(&self.state).map(|value| (flag.effective_name().value.clone(), value)))
            .collect()
    }

    /// The variables that would reproduce these flags: `PREFIX` + upper-cased effective name
    /// (stout `buildEnvironment`).
    pub fn build_environment(&self, prefix: Option<&str>) -> BTreeMap<String, String> {
        self.to_pairs()
            .into_iter()
            .map(|(name, value)| (format!("{}{}", prefix.unwrap_or(""), name.to_ascii_uppercase()), value))
            .collect()
    }

    /// The `--help` text: `message` and a blank line if given, the usage line, a blank line,
    /// then one line per flag, help aligned five spaces after the widest name column.
    pub fn usage(&self, message: Option<&str>) -> String {
        const PAD: usize = 5;
        let mut usage = String::new();
        if let Some(message) = message {
            usage.push_str(message);
            usage.push_str("\n\n");
        }
        match &self.usage_message {
            Some(text) => {
                usage.push_str(text);
                usage.push_str("\n\n");
            }
            None => usage.push_str(&format!("Usage: {} [options]\n\n", self.program_name)),
        }

        let columns: Vec<(String, String)> = self
            .flags
            .values()
            .map(|flag| {
                let name = &flag.name.value;
                let mut column = if flag.boolean { format!("  --[no-]{name}") } else { format!("  --{name}=VALUE") };
                if let Some(alias) = &flag.alias {
                    let alias = &alias.value;
                    column += &if flag.boolean { format!(", --[no-]{alias}") } else { format!(", --{alias}=VALUE") };
                }
                (column, flag.full_help())
            })
            .collect();
        let width = columns.iter().map(|(column, _)| column.len()).max().unwrap_or(0);

        for (column, help) in columns {
            let mut lines = help.split(['\n', '\r']);
            let first = lines.next().unwrap_or("");
            usage.push_str(&format!("{column:<w$}{first}\n", w = width + PAD));
            for line in lines {
                usage.push_str(&format!("{:w$}{line}\n", "", w = width + PAD));
            }
        }
        usage
    }
}

impl<T> Deref for Flags<T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.state.values
    }
}

impl<T> DerefMut for Flags<T> {
    fn deref_mut(&mut self) -> &mut T {
        &mut self.state.values
    }
}

/// `--name="value"` for each flag with a value, space-separated (stout `operator<<`), as
/// Mesos logs its flags at startup.
impl<T> fmt::Display for Flags<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parts: Vec<String> =
            self.to_pairs().into_iter().map(|(name, value)| format!("--{name}=\"{value}\"")).collect();
        f.write_str(&parts.join(" "))
    }
}

impl<T> fmt::Debug for Flags<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.to_pairs()).finish()
    }
}

/// stout `Path(argv[0]).basename()`: a leading `file://` is dropped, then the last component
/// ignoring trailing slashes (`/` for `/`, `.` for an empty path).
fn basename(path: &str) -> String {
    let path = path.strip_prefix("file://").unwrap_or(path);
    if path.is_empty() {
        return ".".to_string();
    }
    let trimmed = path.trim_end_matches('/');
    if trimmed.is_empty() {
        return "/".to_string();
    }
    trimmed.rsplit('/').next().unwrap_or(trimmed).to_string()
}
