//! Golden files: the full `show` text (frame, annotated listing with bytes, what each program
//! sees, contract) of every example scenario, in core/tests/golden/. Run with `BLESS=1` to
//! rewrite them after an intended change, then review the diff.

use fsession_core::kernel::profile::Profile;
use fsession_core::scenario::Scenario;
use fsession_core::show::{render, show};
use fsession_core::tramp::build::Placement;
use fsession_core::tramp::listing::AsmSyntax;
use std::path::PathBuf;

#[test]
fn example_listings_match_golden_files() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let bless = std::env::var("BLESS").is_ok_and(|v| v == "1");
    let mut names = vec![];
    let mut failures = vec![];
    for e in std::fs::read_dir(root.join("../examples/scenarios")).unwrap() {
        let path = e.unwrap().path();
        if path.extension().is_none_or(|x| x != "toml") {
            continue;
        }
        let name = path.file_stem().unwrap().to_string_lossy().into_owned();
        let text = std::fs::read_to_string(&path).unwrap();
        let s = Scenario::parse(&text).unwrap();
        let prof = Profile::by_name(&s.profile).unwrap();
        let r = show(&s, &text, &prof, &Placement::default(), AsmSyntax::Intel).unwrap();
        let got = render(&r, true);
        let golden = root.join("tests/golden").join(format!("{name}.txt"));
        if bless {
            std::fs::write(&golden, &got).unwrap();
        } else {
            match std::fs::read_to_string(&golden) {
                Ok(want) if want == got => {}
                Ok(want) => {
                    let line = want
                        .lines()
                        .zip(got.lines())
                        .position(|(a, b)| a != b)
                        .map(|i| i + 1)
                        .unwrap_or(0);
                    failures.push(format!(
                        "{name}: differs from {} at line {line} (run with BLESS=1 to accept)",
                        golden.display()
                    ));
                }
                Err(_) => failures.push(format!(
                    "{name}: no golden file {} (run with BLESS=1)",
                    golden.display()
                )),
            }
        }
        names.push(name);
    }
    assert!(names.len() >= 8);
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
