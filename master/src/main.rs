//! The `mesos-master` program (C++ `src/master/main.cpp`); the work is in `master::main_support`.

/// The allocator of the whole program: the master allocates and frees small protobufs and
/// resource lists at a high rate, where mimalloc measures well ahead of glibc's malloc.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    let code = master::main_support::main(std::env::args_os().collect(), std::env::vars_os().collect());
    std::process::exit(code);
}
