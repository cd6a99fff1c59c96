//! The example programs as built binaries: `--help` prints each one's usage with its own flags and exits 0, an unknown flag exits 1 with the usage on stderr. (Having integration tests also makes `cargo test --workspace` build these programs, which the root package's end-to-end tests run.)

use std::process::Command;

fn run(program: &str, args: &[&str]) -> (Option<i32>, String, String) {
    let output = Command::new(program).args(args).env_clear().output().expect("the program runs");
    (
        output.status.code(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

const PROGRAMS: [(&str, &str); 7] = [
    (env!("CARGO_BIN_EXE_test-framework"), "--num_tasks"),
    (env!("CARGO_BIN_EXE_test-http-framework"), "--num_tasks"),
    (env!("CARGO_BIN_EXE_no-executor-framework"), "--task_resources"),
    (env!("CARGO_BIN_EXE_mesos-execute"), "--kill_after"),
    (env!("CARGO_BIN_EXE_long-lived-framework"), "--instances"),
    (env!("CARGO_BIN_EXE_least-loaded-framework"), "--min_agents"),
    (env!("CARGO_BIN_EXE_mesos-local"), "--num_slaves"),
];

#[test]
fn help_prints_each_programs_own_flags() {
    for (program, flag) in PROGRAMS {
        let (code, stdout, _) = run(program, &["--help"]);
        assert_eq!(code, Some(0), "{program}");
        assert!(stdout.contains(flag), "{program} --help lacks {flag}:\n{stdout}");
    }
}

#[test]
fn an_unknown_flag_is_refused() {
    for (program, _) in PROGRAMS {
        let (code, _, stderr) = run(program, &["--no_such_flag=1"]);
        assert_eq!(code, Some(1), "{program}: {stderr}");
        assert!(stderr.contains("no_such_flag"), "{program}: {stderr}");
    }
}
