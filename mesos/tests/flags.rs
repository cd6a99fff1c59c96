//! Flags loading as a Mesos user sees it: stout's `flags_tests.cpp` cases by name, then the
//! details of command lines, environment, files and value formats.

use std::path::PathBuf;
use std::time::Duration;

use mesos::field;
use mesos::flags::{Bytes, Flags, FlagsError, LoadOptions, SecurePathOrValue, Warning};
use proptest::prelude::*;

/// stout's `TestFlagsBase`.
#[derive(Default)]
struct TestFlags {
    name1: String,
    name2: i32,
    name3: bool,
    name4: Option<bool>,
    name5: Option<bool>,
}

fn add_test_flags<T: 'static>(
    flags: &mut Flags<T>,
    access: fn(&T) -> &TestFlags,
    access_mut: fn(&mut T) -> &mut TestFlags,
) {
    // Field accessors through the wrapper, so structs that extend `TestFlags` reuse this.
    macro_rules! sub {
        ($f:ident) => {
            (move |t: &T| &access(t).$f, move |t: &mut T| &mut access_mut(t).$f)
        };
    }
    flags.add(sub!(name1), "name1", "Set name1").default("ben folds".to_string());
    flags.add(sub!(name2), "name2", "Set name2").default(42);
    flags.add(sub!(name3), "name3", "Set name3").default(false);
    flags.add_optional(sub!(name4), "name4", "Set name4");
    flags.add_optional(sub!(name5), "name5", "Set name5");
}

fn test_flags() -> Flags<TestFlags> {
    let mut flags = Flags::new(TestFlags::default());
    add_test_flags(&mut flags, |t| t, |t| t);
    flags
}

/// Options that read `environment` instead of the process's.
fn env(prefix: &str, environment: &[(&str, &str)]) -> LoadOptions {
    LoadOptions {
        prefix: Some(prefix.to_string()),
        environment: Some(environment.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()),
        ..Default::default()
    }
}

fn no_env() -> LoadOptions {
    env("FLAGSTEST_", &[])
}

fn argv(args: &[&str]) -> Vec<String> {
    std::iter::once("/path/to/program").chain(args.iter().copied()).map(str::to_string).collect()
}

fn error_text<T: 'static>(flags: &mut Flags<T>, args: &[&str]) -> String {
    flags.load_from(&argv(args), &no_env()).unwrap_err().to_string()
}

fn assert_test_values(flags: &Flags<TestFlags>) {
    assert_eq!(flags.name1, "billy joel");
    assert_eq!(flags.name2, 43);
    assert!(!flags.name3);
    assert_eq!(flags.name4, Some(false));
    assert_eq!(flags.name5, Some(true));
}

fn scratch_file(name: &str, contents: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("mesos-flags-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, contents).unwrap();
    path
}

// ---- stout FlagsTest cases ----

#[test]
fn flags_test_load() {
    let mut flags = test_flags();
    let values = [
        ("name1", Some("billy joel")),
        ("name2", Some("43")),
        ("name3", Some("false")),
        ("no-name4", None),
        ("name5", None),
    ];
    flags.load_values(values, &LoadOptions::default()).unwrap();
    assert_test_values(&flags);
}

#[test]
fn flags_test_add() {
    #[derive(Default)]
    struct F {
        name1: Option<String>,
        name2: bool,
        name3: Option<String>,
        name4: Option<String>,
    }
    let mut flags = Flags::new(F::default());
    flags.add_optional(field!(name1), "name1", "Also set name1");
    flags.add(field!(name2), "name2", "Also set name2").default(true);
    flags.add_optional(field!(name3), "name3", "Also set name3");
    flags.add_optional(field!(name4), "name4", "Also set name4");

    let values = [("name1", Some("ben folds")), ("no-name2", None), ("name4", Some(""))];
    flags.load_values(values, &LoadOptions::default()).unwrap();
    assert_eq!(flags.name1.as_deref(), Some("ben folds"));
    assert!(!flags.name2);
    assert_eq!(flags.name3, None);
    assert_eq!(flags.name4.as_deref(), Some(""));
}

#[derive(Default)]
struct AliasFlags {
    name1: Option<String>,
    name2: bool,
    name3: String,
}

fn alias_flags() -> Flags<AliasFlags> {
    let mut flags = Flags::new(AliasFlags::default());
    flags.add_optional(field!(name1), "name1", "Also set name1").alias("alias1");
    flags.add(field!(name2), "name2", "Also set name2").alias("alias2").default(true);
    flags.add(field!(name3), "name3", "Also set name3").alias("alias3").default("value8".to_string());
    flags
}

#[test]
fn flags_test_alias() {
    let mut flags = alias_flags();
    let values = [("alias1", Some("foo")), ("no-alias2", None), ("alias3", Some("bar"))];
    let warnings = flags.load_values(values, &LoadOptions::default()).unwrap();
    assert!(warnings.is_empty());
    assert_eq!(flags.name1.as_deref(), Some("foo"));
    assert!(!flags.name2);
    assert_eq!(flags.name3, "bar");
}

#[test]
fn flags_test_flags_keeps_defaults_of_flags_not_given() {
    let flags = test_flags();
    assert_eq!(flags.name1, "ben folds");
    assert_eq!(flags.name2, 42);
    assert!(!flags.name3);
    assert_eq!(flags.name4, None);
    assert!(!flags.help());
}

#[test]
fn flags_test_load_from_environment() {
    let mut flags = test_flags();
    let options = env(
        "FLAGSTEST_",
        &[
            ("FLAGSTEST_name1", "billy joel"),
            ("FLAGSTEST_name2", "43"),
            ("FLAGSTEST_no-name3", ""),
            ("FLAGSTEST_no-name4", ""),
            ("FLAGSTEST_name5", ""),
        ],
    );
    let warnings = flags.load_values(std::iter::empty::<(&str, Option<&str>)>(), &options).unwrap();
    assert!(warnings.is_empty());
    assert_test_values(&flags);
}

#[test]
fn flags_test_load_from_process_environment() {
    // The only test that touches the real environment; its prefix is its own.
    std::env::set_var("FLAGSPROCESSTEST_NAME1", "billy joel");
    std::env::set_var("FLAGSPROCESSTEST_name2", "43");
    let mut flags = test_flags();
    flags.load_environment("FLAGSPROCESSTEST_").unwrap();
    assert_eq!(flags.name1, "billy joel");
    assert_eq!(flags.name2, 43);

    let mut flags = test_flags();
    flags.load(Some("FLAGSPROCESSTEST_"), &argv(&["--name2=44"])).unwrap();
    assert_eq!(flags.name1, "billy joel");
    assert_eq!(flags.name2, 44);
    std::env::remove_var("FLAGSPROCESSTEST_NAME1");
    std::env::remove_var("FLAGSPROCESSTEST_name2");
}

#[test]
fn flags_test_load_from_command_line() {
    let mut flags = test_flags();
    let loaded = flags
        .load_from(&argv(&["--name1=billy joel", "--name2=43", "--no-name3", "--no-name4", "--name5"]), &no_env())
        .unwrap();
    assert!(loaded.warnings.is_empty());
    assert!(loaded.remaining.is_empty());
    assert_test_values(&flags);
}

#[test]
fn flags_test_load_from_command_line_with_non_flags() {
    let mut flags = test_flags();
    let args = [
        "more",
        "--name1=billy joel",
        "stuff",
        "at",
        "--name2=43",
        "--no-name3",
        "--no-name4",
        "--name5",
        "the",
        "end",
    ];
    let loaded = flags.load_from(&argv(&args), &no_env()).unwrap();
    assert!(loaded.warnings.is_empty());
    assert_test_values(&flags);
    assert_eq!(loaded.remaining, ["more", "stuff", "at", "the", "end"]);
}

#[test]
fn flags_test_load_from_command_line_with_dash_dash() {
    let mut flags = test_flags();
    let args =
        ["more", "--name1=billy joel", "stuff", "at", "--name2=43", "--no-name3", "--", "--no-name4", "--name5", "the"];
    let loaded = flags.load_from(&argv(&args), &no_env()).unwrap();
    assert_eq!(flags.name1, "billy joel");
    assert_eq!(flags.name2, 43);
    assert!(!flags.name3);
    assert_eq!(flags.name4, None);
    assert_eq!(flags.name5, None);
    // stout `LoadFromCommandLineAndUpdateArgcArgv`: what is left of argv.
    assert_eq!(loaded.remaining, ["more", "stuff", "at", "--no-name4", "--name5", "the"]);
}

#[derive(Default)]
struct StringificationFlags {
    base: TestFlags,
    name6: Duration,
    name7: Option<bool>,
    name8: Option<bool>,
}

#[test]
fn flags_test_stringification() {
    let mut flags = Flags::new(StringificationFlags::default());
    add_test_flags(&mut flags, |t| &t.base, |t| &mut t.base);
    flags.add(field!(name6), "name6", "Also set name6").default(Duration::from_millis(42));
    flags.add_optional(field!(name7), "name7", "Optional name7");
    flags.add_optional(field!(name8), "name8", "Optional name8");

    let values = [("name2", Some("43")), ("no-name4", None), ("name5", None)];
    flags.load_values(values, &LoadOptions::default()).unwrap();

    let value = |name: &str| flags.get(name).unwrap().value;
    assert_eq!(value("name1").as_deref(), Some("ben folds"));
    assert_eq!(value("name2").as_deref(), Some("43"));
    assert_eq!(value("name3").as_deref(), Some("false"));
    assert_eq!(value("name4").as_deref(), Some("false"));
    assert_eq!(value("name5").as_deref(), Some("true"));
    assert_eq!(value("name6").as_deref(), Some("42ms"));
    assert_eq!(value("name7"), None);
    assert_eq!(value("name8"), None);
    assert_eq!(value("help").as_deref(), Some("false"));
}

#[test]
fn flags_test_effective_name() {
    #[derive(Default)]
    struct F {
        name1: Option<String>,
        name2: String,
    }
    let mut flags = Flags::new(F::default());
    flags.add_optional(field!(name1), "name1", "Also set name1").alias("alias1");
    flags.add(field!(name2), "name2", "Also set name2").alias("alias2").default("value7".to_string());
    flags.load_values([("alias1", Some("value6"))], &LoadOptions::default()).unwrap();

    assert_eq!(flags.get("name1").unwrap().effective_name.value, "alias1");
    assert_eq!(flags.get("name2").unwrap().effective_name.value, "name2");
    // The `/flags` endpoints list a flag under the spelling that set it.
    let pairs = flags.to_pairs();
    assert!(pairs.contains(&("alias1".to_string(), "value6".to_string())));
    assert!(pairs.contains(&("name2".to_string(), "value7".to_string())));
}

#[test]
fn flags_test_deprecation_warning() {
    #[derive(Default)]
    struct F {
        name: Option<String>,
    }
    let mut flags = Flags::new(F::default());
    flags.add_optional(field!(name), "name", "Also set name").deprecated_alias("alias");
    let warnings = flags.load_values([("alias", Some("value6"))], &LoadOptions::default()).unwrap();
    assert_eq!(warnings, [Warning { message: "Loaded deprecated flag 'alias'".to_string() }]);

    // The name itself gives no warning.
    let mut flags = Flags::new(F::default());
    flags.add_optional(field!(name), "name", "Also set name").deprecated_alias("alias");
    let warnings = flags.load_values([("name", Some("value6"))], &LoadOptions::default()).unwrap();
    assert!(warnings.is_empty());
}

#[test]
fn flags_test_duplicates_from_environment() {
    let environment = [("FLAGSTEST_name1", "ben folds"), ("FLAGSTEST_name2", "50")];

    // The command line overrides the environment.
    let mut flags = test_flags();
    let loaded = flags.load_from(&argv(&["--name1=billy joel"]), &env("FLAGSTEST_", &environment)).unwrap();
    assert!(loaded.warnings.is_empty());
    assert_eq!(flags.name1, "billy joel");
    assert_eq!(flags.name2, 50);

    // So does a map of values.
    let mut flags = test_flags();
    flags.load_values([("name1", Some("billy joel"))], &env("FLAGSTEST_", &environment)).unwrap();
    assert_eq!(flags.name1, "billy joel");
    assert_eq!(flags.name2, 50);

    let mut flags = test_flags();
    flags
        .load_values([("name1", Some("billy joel")), ("name2", Some("51"))], &env("FLAGSTEST_", &environment))
        .unwrap();
    assert_eq!(flags.name1, "billy joel");
    assert_eq!(flags.name2, 51);
}

#[test]
fn flags_test_duplicates_from_command_line() {
    let mut flags = test_flags();
    assert_eq!(
        error_text(&mut flags, &["--name1=billy joel", "--name1=ben folds"]),
        "Flag 'name1' is already loaded via name 'name1'"
    );
}

#[test]
fn flags_test_alias_duplicate_from_command_line() {
    let mut flags = alias_flags();
    // Sorted by spelling, `alias1` is applied first.
    assert_eq!(
        error_text(&mut flags, &["--name1=billy joel", "--alias1=ben folds"]),
        "Flag 'name1' is already loaded via name 'alias1'"
    );
}

#[derive(Default)]
struct ErrorFlags {
    base: TestFlags,
    name6: Option<i32>,
}

#[test]
fn flags_test_errors() {
    let mut flags = Flags::new(ErrorFlags::default());
    add_test_flags(&mut flags, |t| &t.base, |t| &mut t.base);
    flags.add_optional(field!(name6), "name6", "Also set name6");

    let mut expect = |arg: &str, message: &str| assert_eq!(error_text(&mut flags, &[arg]), message, "for {arg}");
    expect("--foo", "Failed to load unknown flag 'foo'");
    expect("--foo=value", "Failed to load unknown flag 'foo'");
    expect("--no-foo", "Failed to load unknown flag 'foo' via 'no-foo'");
    expect("--no-name3=value", "Failed to load boolean flag 'name3' via 'no-name3' with value 'value'");
    expect(
        "--name3=value",
        "Failed to load flag 'name3': Failed to load value 'value': Expecting a boolean (e.g., true or false)",
    );
    expect("--name1", "Failed to load non-boolean flag 'name1': Missing value");
    expect("--no-name2", "Failed to load non-boolean flag 'name2' via 'no-name2'");
    expect("--name6=", "Failed to load flag 'name6': Failed to load value '': Failed to convert into required type");
}

#[test]
fn flags_test_errors_are_typed() {
    let mut flags = test_flags();
    let error = flags.load_from(&argv(&["--no-foo"]), &no_env()).unwrap_err();
    assert_eq!(error, FlagsError::Unknown { name: "foo".into(), via: Some("no-foo".into()) });
}

#[test]
fn flags_test_missing_required_flag() {
    #[derive(Default)]
    struct F {
        base: TestFlags,
        required_flag: String,
    }
    let mut flags = Flags::new(F::default());
    add_test_flags(&mut flags, |t| &t.base, |t| &mut t.base);
    flags.add(field!(required_flag), "required_flag", "This flag is required and has no default value.");

    assert_eq!(error_text(&mut flags, &["--name1=name"]), "Flag 'required_flag' is required, but it was not provided");
    // Its help says so with an empty default, as stout prints it.
    assert_eq!(flags.get("required_flag").unwrap().help, "This flag is required and has no default value. (default: )");
}

#[test]
fn flags_test_validate() {
    #[derive(Default)]
    struct F {
        duration: Duration,
    }
    let mut flags = Flags::new(F::default());
    flags.add(field!(duration), "duration", "Duration to test validation").default(Duration::from_secs(10)).validate(
        |value| {
            if *value > Duration::from_secs(3600) {
                Err("Expected --duration to be less than 1 hour".to_string())
            } else {
                Ok(())
            }
        },
    );
    assert_eq!(error_text(&mut flags, &["--duration=2hrs"]), "Expected --duration to be less than 1 hour");
    // As in stout, a failed load keeps what it set: the next load still sees 2hrs.
    assert_eq!(flags.duration, Duration::from_secs(7200));
    assert!(flags.load_from(&argv(&[]), &no_env()).is_err());
}

#[derive(Default)]
struct UsageFlags {
    base: TestFlags,
    name6: Option<String>,
    name7: bool,
    name8: String,
}

#[test]
fn flags_test_usage() {
    let mut flags = Flags::new(UsageFlags::default());
    add_test_flags(&mut flags, |t| &t.base, |t| &mut t.base);
    flags.add_optional(field!(name6), "z6", "Also set name6").alias("a6");
    flags.add(field!(name7), "z7", "Also set name7").alias("a7").default(true);
    flags.add(field!(name8), "z8", "Also set name8").alias("a8").default("value8".to_string());

    assert_eq!(
        flags.usage(None),
        "Usage:  [options]\n\
         \n  --[no-]help                Prints this help message (default: false)\n  \
         --name1=VALUE              Set name1 (default: ben folds)\n  \
         --name2=VALUE              Set name2 (default: 42)\n  \
         --[no-]name3               Set name3 (default: false)\n  \
         --[no-]name4               Set name4\n  \
         --[no-]name5               Set name5\n  \
         --z6=VALUE, --a6=VALUE     Also set name6\n  \
         --[no-]z7, --[no-]a7       Also set name7 (default: true)\n  \
         --z8=VALUE, --a8=VALUE     Also set name8 (default: value8)\n"
    );
}

const TEST_FLAGS_LINES: &str = "  --[no-]help       Prints this help message (default: false)\n  \
     --name1=VALUE     Set name1 (default: ben folds)\n  \
     --name2=VALUE     Set name2 (default: 42)\n  \
     --[no-]name3      Set name3 (default: false)\n  \
     --[no-]name4      Set name4\n  \
     --[no-]name5      Set name5\n";

#[test]
fn flags_test_usage_message() {
    let mut flags = test_flags();
    flags.set_usage_message("This is a test");
    assert_eq!(flags.usage(None), format!("This is a test\n\n{TEST_FLAGS_LINES}"));
}

#[test]
fn flags_test_empty_usage() {
    let flags = Flags::new(());
    assert_eq!(flags.usage(None), "Usage:  [options]\n\n  --[no-]help     Prints this help message (default: false)\n");
}

#[test]
fn flags_test_program_name() {
    let mut flags = Flags::new(());
    flags.set_program_name("TestProgram");
    assert_eq!(
        flags.usage(None),
        "Usage: TestProgram [options]\n\n  --[no-]help     Prints this help message (default: false)\n"
    );
    // A load takes the base name of argv[0].
    flags.load_from(&["/usr/local/sbin/mesos-master"], &no_env()).unwrap();
    assert!(flags.usage(None).starts_with("Usage: mesos-master [options]\n\n"));
}

#[test]
fn flags_test_optional_message() {
    let flags = test_flags();
    assert_eq!(
        flags.usage(Some("Good news: this test passed!")),
        format!("Good news: this test passed!\n\nUsage:  [options]\n\n{TEST_FLAGS_LINES}")
    );
}

#[test]
fn flags_test_build_environment() {
    let mut flags = test_flags();
    flags.name4 = Some(true);
    let environment = flags.build_environment(Some("PREFIX_"));
    assert_eq!(environment["PREFIX_NAME1"], "ben folds");
    assert_eq!(environment["PREFIX_NAME2"], "42");
    assert_eq!(environment["PREFIX_NAME3"], "false");
    assert_eq!(environment["PREFIX_NAME4"], "true");
    assert!(!environment.contains_key("PREFIX_NAME5"));
}

#[test]
fn flags_test_duration() {
    #[derive(Default)]
    struct F {
        name1: Duration,
        name2: Option<Duration>,
    }
    let mut flags = Flags::new(F::default());
    flags.add(field!(name1), "name1", "Amount of time").default(Duration::from_millis(100));
    flags.add_optional(field!(name2), "name2", "Also some amount of time");
    flags.load_values([("name1", Some("2mins")), ("name2", Some("3hrs"))], &LoadOptions::default()).unwrap();
    assert_eq!(flags.name1, Duration::from_secs(120));
    assert_eq!(flags.name2, Some(Duration::from_secs(3 * 3600)));
    assert_eq!(flags.get("name1").unwrap().help, "Amount of time (default: 100ms)");
}

#[test]
fn flags_file_test_file_prefix() {
    #[derive(Default)]
    struct F {
        something: Option<String>,
    }
    let path = scratch_file("file", "testing");
    let mut flags = Flags::new(F::default());
    flags.add_optional(field!(something), "something", "arg to be loaded from file");
    flags.load_values([("something", Some(format!("file://{}", path.display())))], &LoadOptions::default()).unwrap();
    assert_eq!(flags.something.as_deref(), Some("testing"));
}

// ---- Beyond stout's own tests: what users of mesos-master and mesos-agent rely on ----

#[derive(Default)]
struct MasterFlags {
    port: u16,
    work_dir: Option<String>,
    agent_ping_timeout: Duration,
    max_agent_ping_timeouts: usize,
    authenticate_frameworks: bool,
    fetcher_cache_size: Bytes,
    gc_disk_headroom: f64,
    credentials: Option<PathBuf>,
    version: bool,
}

fn master_flags() -> Flags<MasterFlags> {
    let mut flags = Flags::new(MasterFlags::default());
    flags.add(field!(port), "port", "Port to listen on.").default(5050);
    flags.add_optional(field!(work_dir), "work_dir", "Path of the master work directory.");
    flags
        .add(field!(agent_ping_timeout), "agent_ping_timeout", "How long to wait for a ping.")
        .deprecated_alias("slave_ping_timeout")
        .default(Duration::from_secs(15));
    flags
        .add(field!(max_agent_ping_timeouts), "max_agent_ping_timeouts", "Missed pings before removal.")
        .deprecated_alias("max_slave_ping_timeouts")
        .default(5)
        .validate(|n| if *n < 1 { Err("Invalid value '0' for flag 'max_agent_ping_timeouts'".into()) } else { Ok(()) });
    flags
        .add(field!(authenticate_frameworks), "authenticate_frameworks", "Only authenticated frameworks.")
        .deprecated_alias("authenticate")
        .default(false);
    flags.add(field!(fetcher_cache_size), "fetcher_cache_size", "Fetcher cache size.").default(Bytes::gigabytes(2));
    flags.add(field!(gc_disk_headroom), "gc_disk_headroom", "Disk headroom.").default(0.1);
    flags.add_optional(field!(credentials), "credentials", "Path to a credentials file.");
    flags.add(field!(version), "version", "Show version and exit.").default(false);
    flags
}

fn load_master(args: &[&str], environment: &[(&str, &str)]) -> Result<Flags<MasterFlags>, FlagsError> {
    let mut flags = master_flags();
    flags.load_from(&argv(args), &env("MESOS_", environment))?;
    Ok(flags)
}

#[test]
fn flags_endpoint_shows_every_set_flag_in_stout_format() {
    let flags = load_master(&["--work_dir=/var/lib/mesos", "--slave_ping_timeout=90secs"], &[]).unwrap();
    assert_eq!(
        flags.to_pairs(),
        // In order of flag name: `agent_ping_timeout` shows as the alias that set it.
        [
            ("slave_ping_timeout", "90secs"),
            ("authenticate_frameworks", "false"),
            ("fetcher_cache_size", "2GB"),
            ("gc_disk_headroom", "0.1"),
            ("help", "false"),
            ("max_agent_ping_timeouts", "5"),
            ("port", "5050"),
            ("version", "false"),
            ("work_dir", "/var/lib/mesos"),
        ]
        .map(|(k, v)| (k.to_string(), v.to_string()))
    );
    assert_eq!(flags.agent_ping_timeout, Duration::from_secs(90));
    assert!(flags.to_string().starts_with("--slave_ping_timeout=\"90secs\" --authenticate_frameworks=\"false\" "));
}

#[test]
fn next_argument_is_never_taken_as_the_value() {
    let mut flags = test_flags();
    assert_eq!(error_text(&mut flags, &["--name1", "billy"]), "Failed to load non-boolean flag 'name1': Missing value");

    let mut flags = test_flags();
    let loaded = flags.load_from(&argv(&["--name3", "false"]), &no_env()).unwrap();
    assert!(flags.name3, "`--name3 false` sets name3 and leaves `false` as an argument");
    assert_eq!(loaded.remaining, ["false"]);
}

#[test]
fn booleans_accept_true_false_one_zero_and_nothing_else() {
    for (text, expected) in [("true", true), ("1", true), ("false", false), ("0", false), ("", true)] {
        let mut flags = test_flags();
        flags.load_from(&argv(&[&format!("--name3={text}")]), &no_env()).unwrap();
        assert_eq!(flags.name3, expected, "--name3={text}");
    }
    for text in ["yes", "TRUE", "True", "on", " true"] {
        let mut flags = test_flags();
        assert!(flags.load_from(&argv(&[&format!("--name3={text}")]), &no_env()).is_err(), "--name3={text}");
    }
}

#[test]
fn names_are_lower_cased_and_values_are_not() {
    let mut flags = test_flags();
    flags.load_from(&argv(&["--NAME1=Billy Joel", "--No-Name3", "  --name2=7  "]), &no_env()).unwrap();
    assert_eq!(flags.name1, "Billy Joel");
    assert!(!flags.name3);
    // Each argument is trimmed of white space first.
    assert_eq!(flags.name2, 7);
}

#[test]
fn environment_names_ignore_case_but_the_prefix_does_not() {
    let flags =
        load_master(&[], &[("MESOS_PORT", "6060"), ("MESOS_work_dir", "/tmp/w"), ("MESOS_Version", "1")]).unwrap();
    assert_eq!(flags.port, 6060);
    assert_eq!(flags.work_dir.as_deref(), Some("/tmp/w"));
    assert!(flags.version);

    // A lower-case prefix and unknown names are ignored, not errors.
    let flags = load_master(&[], &[("mesos_port", "6060"), ("MESOS_NO_SUCH_FLAG", "x"), ("MESOS_", "")]).unwrap();
    assert_eq!(flags.port, 5050);

    // Both spellings set: `MESOS_port` sorts after `MESOS_PORT` and wins.
    let flags = load_master(&[], &[("MESOS_port", "1"), ("MESOS_PORT", "2")]).unwrap();
    assert_eq!(flags.port, 1);
}

#[test]
fn environment_and_command_line_through_different_spellings_are_duplicates() {
    let error = load_master(&["--slave_ping_timeout=5secs"], &[("MESOS_AGENT_PING_TIMEOUT", "10secs")]).err().unwrap();
    assert_eq!(error.to_string(), "Flag 'slave_ping_timeout' is already loaded via name 'agent_ping_timeout'");

    let error = load_master(&["--no-version"], &[("MESOS_VERSION", "true")]).err().unwrap();
    assert_eq!(error.to_string(), "Flag 'version' is already loaded via name 'version'");

    // The same spelling: the command line replaces the environment.
    let flags = load_master(&["--agent_ping_timeout=5secs"], &[("MESOS_AGENT_PING_TIMEOUT", "10secs")]).unwrap();
    assert_eq!(flags.agent_ping_timeout, Duration::from_secs(5));
}

#[test]
fn environment_values_go_through_the_same_checks() {
    let error = load_master(&[], &[("MESOS_PORT", "")]).err().unwrap();
    assert_eq!(
        error.to_string(),
        "Failed to load flag 'port': Failed to load value '': Failed to convert into required type"
    );
    // An empty boolean variable means true; `PREFIX_no-name` works too.
    let flags = load_master(&[], &[("MESOS_VERSION", ""), ("MESOS_no-authenticate", "")]).unwrap();
    assert!(flags.version);
    assert!(!flags.authenticate_frameworks);
}

#[test]
fn unknowns_and_duplicates_can_be_allowed() {
    let mut flags = test_flags();
    let options = LoadOptions { unknowns: true, duplicates: true, ..no_env() };
    flags.load_from(&argv(&["--foo", "--no-bar", "--name2=1", "--name2=2"]), &options).unwrap();
    assert_eq!(flags.name2, 2, "the later value wins");
}

#[test]
fn loading_twice_makes_every_given_flag_a_duplicate() {
    let mut flags = test_flags();
    flags.load_from(&argv(&["--name2=1"]), &no_env()).unwrap();
    assert_eq!(error_text(&mut flags, &["--name2=2"]), "Flag 'name2' is already loaded via name 'name2'");
}

#[test]
fn errors_come_in_sorted_order_of_the_spelling() {
    let mut flags = test_flags();
    assert_eq!(error_text(&mut flags, &["--zzz", "--name2=x", "--aaa"]), "Failed to load unknown flag 'aaa'");
}

#[test]
fn help_flag_is_built_in() {
    let mut flags = test_flags();
    flags.load_from(&argv(&["--help"]), &no_env()).unwrap();
    assert!(flags.help());
    // `--help` is still recorded when a later check fails, so the binary can print usage.
    let mut flags = master_flags();
    let result = flags.load_from(&argv(&["--help", "--port=x"]), &no_env());
    assert!(result.is_err());
    assert!(flags.help());
}

#[test]
fn usage_wraps_multi_line_help_under_the_text_column() {
    #[derive(Default)]
    struct F {
        a: Option<String>,
        b: i32,
    }
    let mut flags = Flags::new(F::default());
    flags.add_optional(field!(a), "a", "First line.\nSecond line.");
    flags.add(field!(b), "b", "Ends with a newline.\n").default(3);
    // Width of `  --[no-]help` (13) plus 5.
    let indent = " ".repeat(18);
    assert_eq!(
        flags.usage(None),
        format!(
            "Usage:  [options]\n\n  \
             --a=VALUE       First line.\n{indent}Second line.\n  \
             --b=VALUE       Ends with a newline.\n{indent}(default: 3)\n  \
             --[no-]help     Prints this help message (default: false)\n"
        )
    );
}

#[test]
fn file_values_are_read_whole_except_for_paths() {
    let credentials = scratch_file("credentials", "{\"credentials\":[]}");
    let work_dir = scratch_file("work_dir", "/var/lib/mesos");
    let port = scratch_file("port", "6060\n");
    let flags = load_master(
        &[
            &format!("--credentials=file://{}", credentials.display()),
            &format!("--work_dir=file://{}", work_dir.display()),
        ],
        &[],
    )
    .unwrap();
    // A `Path` flag keeps the path (without `file://`) and does not read it.
    assert_eq!(flags.credentials.as_deref(), Some(credentials.as_path()));
    assert_eq!(flags.work_dir.as_deref(), Some("/var/lib/mesos"));

    // The contents are not trimmed, so a trailing newline breaks a number.
    let error = load_master(&[&format!("--port=file://{}", port.display())], &[]).err().unwrap();
    assert_eq!(
        error.to_string(),
        format!(
            "Failed to load flag 'port': Failed to load value 'file://{}': Failed to convert into required type",
            port.display()
        )
    );

    let error = load_master(&["--work_dir=file:///no/such/file"], &[]).err().unwrap();
    assert_eq!(
        error.to_string(),
        "Failed to load flag 'work_dir': Failed to load value 'file:///no/such/file': \
         Error reading file '/no/such/file': No such file or directory"
    );
}

#[test]
fn secure_path_or_value_hides_file_contents() {
    #[derive(Default)]
    struct F {
        secret: Option<SecurePathOrValue>,
    }
    let path = scratch_file("secret", "s3cret");
    let mut flags = Flags::new(F::default());
    flags.add_optional(field!(secret), "secret", "A secret.");
    flags.load_from(&argv(&[&format!("--secret=file://{}", path.display())]), &no_env()).unwrap();
    assert_eq!(flags.secret.as_ref().unwrap().value, "s3cret");
    assert_eq!(flags.get("secret").unwrap().value, Some(path.display().to_string()));
}

#[test]
fn integers_parse_as_istream_reads_them() {
    #[derive(Default)]
    struct F {
        i: Option<i32>,
        u: Option<u64>,
        p: Option<u16>,
    }
    let parse = |arg: &str| {
        let mut flags = Flags::new(F::default());
        flags.add_optional(field!(i), "i", "");
        flags.add_optional(field!(u), "u", "");
        flags.add_optional(field!(p), "p", "");
        flags.load_from(&argv(&[arg]), &no_env()).map(|_| (flags.i, flags.u, flags.p))
    };
    assert_eq!(parse("--i=-42"), Ok((Some(-42), None, None)));
    assert_eq!(parse("--i=+7"), Ok((Some(7), None, None)));
    assert_eq!(parse("--i=\t 5"), Ok((Some(5), None, None)), "leading white space is skipped");
    assert!(parse("--i=5 ").is_ok(), "the argument is trimmed before the value is cut");
    assert!(parse("--i=0x10").is_err());
    assert!(parse("--i=1.5").is_err());
    assert!(parse("--i=2147483648").is_err());
    assert_eq!(parse("--u=18446744073709551615"), Ok((None, Some(u64::MAX), None)));
    // libstdc++ reads a negative into an unsigned by wrapping it.
    assert_eq!(parse("--u=-1"), Ok((None, Some(u64::MAX), None)));
    assert_eq!(parse("--p=-1"), Ok((None, None, Some(65535))));
    assert!(parse("--p=65536").is_err());
}

#[test]
fn doubles_parse_and_print_like_iostreams() {
    #[derive(Default)]
    struct F {
        d: f64,
    }
    let load = |text: &str| {
        let mut flags = Flags::new(F::default());
        flags.add(field!(d), "d", "").default(0.0);
        flags.load_from(&argv(&[&format!("--d={text}")]), &no_env()).map(|_| flags.get("d").unwrap().value.unwrap())
    };
    assert_eq!(load("0.1").as_deref(), Ok("0.1"));
    assert_eq!(load("1e3").as_deref(), Ok("1000"));
    assert_eq!(load(".5").as_deref(), Ok("0.5"));
    assert_eq!(load("1234567").as_deref(), Ok("1.23457e+06"));
    assert_eq!(load("0.00001").as_deref(), Ok("1e-05"));
    assert_eq!(load("-2.5").as_deref(), Ok("-2.5"));
    for bad in ["inf", "nan", "1e", "0x1p3", "1.5.2", "", "1e400"] {
        assert!(load(bad).is_err(), "{bad}");
    }
}

#[test]
fn durations_and_bytes_use_stout_units_and_errors() {
    assert_eq!(
        load_master(&["--agent_ping_timeout=1.5mins"], &[]).unwrap().agent_ping_timeout,
        Duration::from_secs(90)
    );
    assert_eq!(load_master(&["--fetcher_cache_size=512mb"], &[]).unwrap().fetcher_cache_size, Bytes::megabytes(512));
    let error = |arg: &str| load_master(&[arg], &[]).err().unwrap().to_string();
    assert_eq!(
        error("--agent_ping_timeout=15"),
        "Failed to load flag 'agent_ping_timeout': Failed to load value '15': Invalid duration '15'"
    );
    assert_eq!(
        error("--agent_ping_timeout=15s"),
        "Failed to load flag 'agent_ping_timeout': Failed to load value '15s': Unknown duration unit 's'; \
         supported units are 'ns', 'us', 'ms', 'secs', 'mins', 'hrs', 'days', and 'weeks'"
    );
    assert_eq!(
        error("--agent_ping_timeout=-1secs"),
        "Failed to load flag 'agent_ping_timeout': Failed to load value '-1secs': Failed to convert '' to number"
    );
    assert_eq!(
        error("--fetcher_cache_size=1.5GB"),
        "Failed to load flag 'fetcher_cache_size': Failed to load value '1.5GB': Fractional bytes '1.5GB'"
    );
    assert_eq!(
        error("--fetcher_cache_size=2048"),
        "Failed to load flag 'fetcher_cache_size': Failed to load value '2048': Invalid bytes '2048'"
    );
}

#[test]
fn validators_run_even_for_flags_not_given() {
    let mut flags = master_flags();
    flags.max_agent_ping_timeouts = 0;
    let error = flags.load_from(&argv(&[]), &no_env()).unwrap_err();
    assert_eq!(error, FlagsError::Invalid("Invalid value '0' for flag 'max_agent_ping_timeouts'".into()));
}

#[test]
#[should_panic(expected = "Attempted to add duplicate flag 'port'")]
fn declaring_a_flag_twice_panics() {
    let mut flags = master_flags();
    flags.add(field!(port), "port", "again");
}

#[test]
#[should_panic(expected = "Attempted to add flag 'no-port' that starts with the reserved 'no-' prefix")]
fn declaring_a_no_prefixed_flag_panics() {
    let mut flags = Flags::new(MasterFlags::default());
    flags.add(field!(port), "no-port", "");
}

#[test]
#[should_panic(expected = "Attempted to add flag 'port' with an alias that is same as the flag name")]
fn declaring_an_alias_equal_to_the_name_panics() {
    let mut flags = Flags::new(MasterFlags::default());
    flags.add(field!(port), "port", "").alias("port");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn parsing_random_arguments_never_panics(
        args in proptest::collection::vec(
            prop_oneof![
                "--[a-z_]{0,12}(=.{0,12})?",
                "--no-[a-z_]{0,12}(=.{0,12})?",
                "--(port|work_dir|agent_ping_timeout|slave_ping_timeout|version|fetcher_cache_size|gc_disk_headroom|credentials)(=.{0,12})?",
                "--no-(version|authenticate|port)(=.{0,4})?",
                "\\PC{0,16}",
                Just("--".to_string()),
            ],
            0..8,
        ),
        environment in proptest::collection::vec(("MESOS_[A-Za-z_-]{0,12}", "\\PC{0,8}"), 0..4),
    ) {
        let mut flags = master_flags();
        let environment: Vec<(&str, &str)> = environment.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let _ = flags.load_from(&argv(&args), &env("MESOS_", &environment));
        let _ = flags.to_pairs();
        let _ = flags.usage(None);
    }
}
