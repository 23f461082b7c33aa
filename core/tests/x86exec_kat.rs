//! The executor's known-answer rows: each row's bytes decode to its text, and executing them
//! gives exactly the expected registers, flags, memory and control flow. The native runner runs
//! the same rows on the CPU (`fsession-lab kat`, in scripts/test-all).

use fsession_core::tramp::listing::{AsmSyntax, X86Format};
use fsession_core::x86exec::kat::{compare, rows, run_emulated, EMULATED};
use iced_x86::{Decoder, DecoderOptions};

#[test]
fn every_row_decodes_to_its_text_and_executes_as_written() {
    let mut fmt = X86Format::new();
    let mut failures = vec![];
    let rows = rows();
    for (i, row) in rows.iter().enumerate() {
        let bytes = row.bytes();
        let mut d = Decoder::with_ip(64, &bytes, 0, DecoderOptions::NONE);
        let ins = d.decode();
        assert_eq!(
            ins.len(),
            bytes.len(),
            "row {i} `{}`: one instruction of all its bytes",
            row.hex
        );
        let text = fmt.text(&ins, AsmSyntax::Intel);
        if text != row.text {
            failures.push(format!(
                "row {i} `{}`: text `{text}`, table says `{}`",
                row.hex, row.text
            ));
        }
        let out = run_emulated(row, EMULATED);
        for m in compare(row, EMULATED, &out) {
            failures.push(format!("row {i} `{}` ({}): {m}", row.hex, row.text));
        }
    }
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert!(rows.len() >= 100, "{} rows", rows.len());
}

/// A mismatch is reported: the comparison is not vacuous.
#[test]
fn a_wrong_expectation_is_caught() {
    let mut row = rows().into_iter().find(|r| r.text == "add rax, rbx").unwrap();
    row.out_regs[0].1 = fsession_core::x86exec::kat::Val::Imm(0);
    let out = run_emulated(&row, EMULATED);
    assert_eq!(compare(&row, EMULATED, &out).len(), 1);
}
