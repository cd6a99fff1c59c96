//! The `least-loaded-framework` program; the work is in `frameworks::least_loaded_framework`.

fn main() {
    if let Some(code) = frameworks::local::run_helper_program() {
        std::process::exit(code);
    }
    let code =
        frameworks::least_loaded_framework::main(frameworks::program::argv(), frameworks::program::environment());
    std::process::exit(code);
}
