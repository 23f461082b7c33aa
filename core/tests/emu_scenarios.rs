//! Every example scenario runs in the executor and meets its expectations, exactly as it does
//! on hardware (`fsession-lab validate`).

use fsession_core::emu::run::{run, EmuOptions};
use fsession_core::kernel::profile::Profile;
use fsession_core::scenario::Scenario;

mod common;
use common::examples;

#[test]
fn every_example_meets_its_expectations_in_the_executor() {
    let mut ran = 0;
    for (name, text) in examples() {
        let s = Scenario::parse(&text).unwrap();
        let p = Profile::by_name(&s.profile).unwrap();
        let r = match run(&s, &text, &p, EmuOptions::default()) {
            Ok(r) => r,
            Err(e) => panic!("{name}: {e}"),
        };
        let problems: Vec<String> = r.problems.iter().map(|p| p.to_string()).collect();
        assert!(problems.is_empty(), "{name}:\n  {}", problems.join("\n  "));
        ran += 1;
    }
    assert!(ran >= 10);
}
