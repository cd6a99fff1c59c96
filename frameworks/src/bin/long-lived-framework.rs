//! The `long-lived-framework` program; the work is in `frameworks::long_lived_framework`.

fn main() {
    if let Some(code) = frameworks::local::run_helper_program() {
        std::process::exit(code);
    }
    let code = frameworks::long_lived_framework::main(frameworks::program::argv(), frameworks::program::environment());
    std::process::exit(code);
}
