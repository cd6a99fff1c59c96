//! The `mesos-agent` program (C++ `src/slave/main.cpp`); the work is in `slave::main_support`.

/// As in `mesos-master`: the agent allocates and frees small protobufs at a high rate.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    let code = slave::main_support::main(std::env::args_os().collect(), std::env::vars_os().collect());
    std::process::exit(code);
}
