//! Keeps the project's conventions true: every source module opens with a `//!` line, and ARCHITECTURE.md's code map names every module.

use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Every `.rs` file under the crates' `src/` directories.
fn modules() -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut stack = vec![root()];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else { continue };
        for entry in entries.flatten() {
            let path = entry.path();
            let name = entry.file_name().to_string_lossy().into_owned();
            if path.is_dir() {
                if !matches!(name.as_str(), "target" | ".git" | "tests" | "benches" | "examples") {
                    stack.push(path);
                }
            } else if name.ends_with(".rs") && path.components().any(|c| c.as_os_str() == "src") {
                found.push(path);
            }
        }
    }
    found.sort();
    found
}

fn relative(path: &Path) -> String {
    path.strip_prefix(root()).unwrap_or(path).to_string_lossy().into_owned()
}

#[test]
fn every_module_starts_with_a_doc_line() {
    let missing: Vec<String> = modules()
        .into_iter()
        .filter(|path| !std::fs::read_to_string(path).unwrap_or_default().starts_with("//!"))
        .map(|path| relative(&path))
        .collect();
    assert!(missing.is_empty(), "modules without an opening //! line: {missing:?}");
}

#[test]
fn the_code_map_names_every_module() {
    let map = std::fs::read_to_string(root().join("ARCHITECTURE.md")).expect("ARCHITECTURE.md");
    let missing: Vec<String> = modules()
        .into_iter()
        .filter(|path| {
            let name = path.file_name().unwrap_or_default().to_string_lossy().into_owned();
            // `lib.rs` and the root package's `src/lib.rs` are the crates themselves;
            // `mod.rs` is named by its directory.
            if name == "lib.rs" {
                return false;
            }
            let key = if name == "mod.rs" {
                format!("{}/", path.parent().and_then(|p| p.file_name()).unwrap_or_default().to_string_lossy())
            } else {
                name
            };
            // Named in code spans, with or without a leading path (`src/flags.rs`).
            !map.contains(&format!("{key}`"))
        })
        .map(|path| relative(&path))
        .collect();
    assert!(missing.is_empty(), "modules missing from ARCHITECTURE.md's code map: {missing:?}");
}

#[test]
fn no_ignored_tests_without_a_reason() {
    let mut offenders = Vec::new();
    for dir in ["tests", "libprocess-rs/src", "benches"] {
        let Ok(entries) = std::fs::read_dir(root().join(dir)) else { continue };
        for entry in entries.flatten() {
            let text = std::fs::read_to_string(entry.path()).unwrap_or_default();
            for (n, line) in text.lines().enumerate() {
                let line = line.trim();
                if line.starts_with("#[ignore]") {
                    offenders.push(format!("{}:{}", relative(&entry.path()), n + 1));
                }
            }
        }
    }
    assert!(offenders.is_empty(), "#[ignore] needs a reason (#[ignore = \"...\"]): {offenders:?}");
}
