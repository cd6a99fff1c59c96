//! The `mesos-slave` program: the old name of `mesos-agent`, which C++ Mesos still installs; the same program.

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    let code = slave::main_support::main(std::env::args_os().collect(), std::env::vars_os().collect());
    std::process::exit(code);
}
