//! The `mesos-execute` program (C++ `src/cli/execute.cpp`); the work is in `frameworks::execute`.

fn main() {
    if let Some(code) = frameworks::local::run_helper_program() {
        std::process::exit(code);
    }
    let code = frameworks::execute::main(frameworks::program::argv(), frameworks::program::environment());
    std::process::exit(code);
}
