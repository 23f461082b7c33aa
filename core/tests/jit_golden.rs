//! Golden files: the JIT listing (`fsession-lab jit`) of every example program under the two
//! captured kernels' profiles, in core/tests/golden/jit/. Run with `BLESS=1` to rewrite them
//! after an intended change, then review the diff.

use fsession_core::asm::{assemble, Syntax};
use fsession_core::jit::render_listing;
use fsession_core::jit::run::compile_listing;
use fsession_core::kernel::profile::Profile;
use std::path::PathBuf;

#[test]
fn example_programs_jit_listings_match_golden_files() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let bless = std::env::var("BLESS").is_ok_and(|v| v == "1");
    let dir = root.join("tests/golden/jit");
    std::fs::create_dir_all(&dir).unwrap();
    let mut failures = vec![];
    let mut n = 0;
    let mut files: Vec<PathBuf> = std::fs::read_dir(root.join("../examples/programs"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "bpf"))
        .collect();
    files.sort();
    for path in files {
        let name = path.file_stem().unwrap().to_string_lossy().into_owned();
        let insns = assemble(&std::fs::read_to_string(&path).unwrap(), Syntax::Kernel).unwrap();
        for profile in ["linux-6.12", "linux-6.18"] {
            let p = Profile::by_name(profile).unwrap();
            let (fixed, image) = compile_listing(&insns, &p).unwrap_or_else(|e| panic!("{name}: {e}"));
            let got = render_listing(&image, &fixed);
            let golden = dir.join(format!("{name}.{profile}.txt"));
            n += 1;
            if bless {
                std::fs::write(&golden, &got).unwrap();
                continue;
            }
            match std::fs::read_to_string(&golden) {
                Ok(want) if want == got => {}
                Ok(want) => {
                    let line = want
                        .lines()
                        .zip(got.lines())
                        .position(|(a, b)| a != b)
                        .map_or(0, |i| i + 1);
                    failures.push(format!(
                        "{}: differs at line {line} (BLESS=1 to accept)",
                        golden.display()
                    ));
                }
                Err(_) => failures.push(format!("{}: missing (run with BLESS=1)", golden.display())),
            }
        }
    }
    assert!(n >= 4, "{n}");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
