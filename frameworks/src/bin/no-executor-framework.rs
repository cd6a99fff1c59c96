//! The `no-executor-framework` program (C++ `src/examples/no_executor_framework.cpp`); the work is in `frameworks::no_executor_framework`.

fn main() {
    if let Some(code) = frameworks::local::run_helper_program() {
        std::process::exit(code);
    }
    let code = frameworks::no_executor_framework::main(frameworks::program::argv(), frameworks::program::environment());
    std::process::exit(code);
}
