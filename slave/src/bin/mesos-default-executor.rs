//! The `mesos-default-executor` program, the executor the agent runs for task groups (C++ `src/launcher/default_executor.cpp` `main`); the work is in `slave::launcher::default_executor::main`.
//!
//! Flags: `--launcher_dir` (accepted, as the agent passes it) and `--help`; any other flag is
//! refused. The executor reads its configuration from the `MESOS_*` variables the agent sets.

// The system allocator, as `mesos-executor`: one runs per task group on every agent.

fn main() {
    let code = slave::launcher::default_executor::main(std::env::args().skip(1).collect(), std::env::vars().collect());
    std::process::exit(code);
}
