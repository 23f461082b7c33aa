//! Runs every bpf_conformance `.data` file in ../shared/conformance/tests (or
//! `$FSESSION_CONFORMANCE_DIR`) through the interpreter: all must pass.

use fsession_core::conformance::{parse_data, Outcome};
use std::path::PathBuf;

fn suite_dir() -> PathBuf {
    if let Ok(d) = std::env::var("FSESSION_CONFORMANCE_DIR") {
        return PathBuf::from(d);
    }
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/conformance/tests")
}

#[test]
fn every_conformance_file_passes() {
    let dir = suite_dir();
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("conformance suite not found at {}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "data"))
        .collect();
    files.sort();
    assert!(
        files.len() >= 209,
        "expected at least 209 files in {}, found {}",
        dir.display(),
        files.len()
    );
    let mut failures = Vec::new();
    let mut skipped = Vec::new();
    for f in &files {
        let text = std::fs::read_to_string(f).unwrap();
        let name = f.file_name().unwrap().to_string_lossy().to_string();
        match parse_data(&text).map(|tc| tc.run()) {
            Ok(Outcome::Pass) => {}
            Ok(Outcome::Skip(r)) => skipped.push(format!("{name}: {r}")),
            Ok(Outcome::Fail(r)) => failures.push(format!("{name}: {r}")),
            Ok(Outcome::Known(k)) => failures.push(format!("{name}: the interpreter has no known differences: {k}")),
            Err(e) => failures.push(format!("{name}: parse: {e}")),
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} failed:\n{}",
        failures.len(),
        files.len(),
        failures.join("\n")
    );
    assert!(skipped.is_empty(), "skipped:\n{}", skipped.join("\n"));
}
