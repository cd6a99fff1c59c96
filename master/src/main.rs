//! The `mesos-master` program (C++ `src/master/main.cpp`); the work is in `master::main_support`.

fn main() {
    let code = master::main_support::main(std::env::args_os().collect(), std::env::vars_os().collect());
    std::process::exit(code);
}
