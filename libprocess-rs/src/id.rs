//! Process id generation, `prefix(N)`; mirrors `3rdparty/libprocess/include/process/id.hpp` and `ID::generate` in `src/process.cpp`.

use std::collections::HashMap;
use std::sync::OnceLock;

use parking_lot::Mutex;

/// Returns `prefix(N)` with a per-prefix counter that starts at 1 and is shared by the
/// whole OS process, as the C++ counter is. An empty prefix yields `(1)`, `(2)`, ...
pub fn generate(prefix: &str) -> String {
    static COUNTERS: OnceLock<Mutex<HashMap<String, u64>>> = OnceLock::new();
    let mut counters = COUNTERS.get_or_init(|| Mutex::new(HashMap::new())).lock();
    let counter = counters.entry(prefix.to_string()).or_insert(0);
    *counter += 1;
    format!("{prefix}({counter})")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_per_prefix() {
        assert_eq!(generate("id-test-a"), "id-test-a(1)");
        assert_eq!(generate("id-test-a"), "id-test-a(2)");
        assert_eq!(generate("id-test-b"), "id-test-b(1)");
        assert!(generate("").starts_with('('));
    }
}
