//! The `test-http-framework` program (C++ `src/examples/test_http_framework.cpp`); the work is in `frameworks::test_http_framework`.

fn main() {
    if let Some(code) = frameworks::local::run_helper_program() {
        std::process::exit(code);
    }
    let code = frameworks::test_http_framework::main(frameworks::program::argv(), frameworks::program::environment());
    std::process::exit(code);
}
