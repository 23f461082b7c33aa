//! Helpers shared by the integration tests (each test crate uses some of them).
#![allow(dead_code)]

use fsession_core::kernel::profile::Profile;
use fsession_core::scenario::{check, CheckReport, Scenario};
use fsession_core::tramp::build::{spec_for, Placement};
use fsession_core::tramp::{encode, Encoded};
use std::path::PathBuf;

/// Every example scenario: (file name, text), sorted.
pub fn examples() -> Vec<(String, String)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../examples/scenarios");
    let mut v: Vec<(String, String)> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .map(|p| {
            (
                p.file_name().unwrap().to_string_lossy().into_owned(),
                std::fs::read_to_string(&p).unwrap(),
            )
        })
        .collect();
    v.sort();
    assert!(v.len() >= 8, "examples missing");
    v
}

/// An example checked under `profile` and its trampoline encoded at the default placement.
pub fn encoded_example(file: &str, profile: &str) -> (Scenario, CheckReport, Encoded, Placement) {
    let text = std::fs::read_to_string(
        PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("../examples/scenarios")
            .join(file),
    )
    .unwrap();
    let s = Scenario::parse(&text).unwrap();
    let report = check(&s, &text, &Profile::by_name(profile).unwrap()).unwrap();
    let place = Placement::default();
    let enc = encode(&spec_for(&report, &place)).unwrap();
    (s, report, enc, place)
}
