//! Golden test of the kernel text syntax against real kernel output: every `*.input.txt` and
//! `*.xlated.txt` in ../shared/kernel-oracle/jit (captured from Linux 6.18) lists each slot as
//! `N: (code) TEXT ; ... [bytes]`. The assembler must turn the texts into exactly those bytes,
//! and the numbered disassembler must print exactly those texts.

use fsession_core::asm::{assemble, disassemble_numbered, Syntax};
use fsession_core::isa::{encode, split_slots};
use std::path::PathBuf;

fn oracle_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/kernel-oracle/jit")
}

/// (text after the `N: (cc) ` prefix, slot bytes) per line.
fn parse_listing(text: &str) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let after_code = line
            .split_once(") ")
            .map(|(_, r)| r)
            .unwrap_or_else(|| panic!("no '(cc) ' in {line}"));
        let insn_text = after_code.split(" ;").next().unwrap().trim_end().to_string();
        let comment = line
            .split_once(" ;")
            .map(|(_, c)| c)
            .unwrap_or_else(|| panic!("no ';' in {line}"));
        let hex = comment
            .split('[')
            .nth(1)
            .and_then(|r| r.split(']').next())
            .unwrap_or_else(|| panic!("no bytes in {line}"));
        let bytes = (0..hex.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
            .collect();
        out.push((insn_text, bytes));
    }
    out
}

#[test]
fn kernel_syntax_matches_real_kernel_listings() {
    let dir = oracle_dir();
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("kernel oracle not found at {}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| {
            let n = p.file_name().unwrap().to_string_lossy();
            n.ends_with(".xlated.txt") || n.ends_with(".input.txt")
        })
        .collect();
    files.sort();
    assert!(files.len() >= 8, "expected the oracle listings, found {}", files.len());
    let mut lines_checked = 0;
    for f in &files {
        let rows = parse_listing(&std::fs::read_to_string(f).unwrap());
        let want: Vec<u8> = rows.iter().flat_map(|(_, b)| b.clone()).collect();
        let source: String = rows.iter().map(|(t, _)| format!("{t}\n")).collect();
        let got = assemble(&source, Syntax::Kernel).unwrap_or_else(|e| panic!("{}: {e}", f.display()));
        assert_eq!(encode(&got), want, "{}: assembled bytes differ", f.display());
        let slots = split_slots(&want).unwrap();
        let listing = disassemble_numbered(&slots, Syntax::Kernel).unwrap();
        let printed: Vec<&str> = listing.lines().map(|l| l.split_once(") ").unwrap().1).collect();
        let expected: Vec<&str> = rows.iter().map(|(t, _)| t.as_str()).collect();
        assert_eq!(printed, expected, "{}: printed text differs", f.display());
        lines_checked += rows.len();
    }
    assert!(lines_checked > 100, "only {lines_checked} lines checked");
}
