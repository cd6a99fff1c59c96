//! The `mesos-executor` program, the command executor the agent runs for a task given as a command (C++ `src/launcher/executor.cpp` `main`); the work is in `slave::launcher::executor::main`.
//!
//! Flags: `--launcher_dir` (accepted, as the agent passes it) and `--help`; any other flag is
//! refused. The executor reads its configuration from the `MESOS_*` variables the agent sets.

// The system allocator, not mimalloc as the daemons: one executor per task runs on every
// agent, and mimalloc's 2 MiB transparent huge pages made each one 12.7 MB resident instead
// of 5 MB (`benches/agent_launch.rs`), while an executor allocates little.

fn main() {
    let code = slave::launcher::executor::main(std::env::args().skip(1).collect(), std::env::vars().collect());
    std::process::exit(code);
}
