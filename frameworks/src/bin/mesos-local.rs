//! The `mesos-local` program (C++ `src/local/main.cpp`); the work is in `frameworks::mesos_local`.

fn main() {
    if let Some(code) = frameworks::local::run_helper_program() {
        std::process::exit(code);
    }
    let code = frameworks::mesos_local::main(frameworks::program::argv(), frameworks::program::environment());
    std::process::exit(code);
}
