//! `fsession-lab kat`: the executor's known-answer rows, in the executor and on this machine's
//! CPU; any difference from a row's expectations fails, naming the row.

use super::CmdResult;
use fsession_core::x86exec::kat::{compare, rows, run_emulated, Mismatch, Row, EMULATED};
use std::process::ExitCode;

/// Arguments of `kat`.
#[derive(clap::Args)]
pub struct Args {
    /// Print every row, not only the failing ones.
    #[arg(short, long)]
    verbose: bool,
}

/// The rows on hardware (x86-64 only).
#[cfg(target_arch = "x86_64")]
fn on_cpu(row: &Row) -> Result<Vec<Mismatch>, String> {
    let (b, out) = fsession_runner::native::kat::run_row(row).map_err(|e| e.to_string())?;
    Ok(compare(row, b, &out))
}

#[cfg(not(target_arch = "x86_64"))]
fn on_cpu(_: &Row) -> Result<Vec<Mismatch>, String> {
    Err(format!(
        "not run: this machine is {}, the rows are x86-64",
        std::env::consts::ARCH
    ))
}

/// Runs `kat`.
pub fn run(a: Args) -> CmdResult {
    let rows = rows();
    let (mut failed, mut cpu_ran) = (0usize, 0usize);
    for (i, row) in rows.iter().enumerate() {
        let emu = compare(row, EMULATED, &run_emulated(row, EMULATED));
        let cpu = on_cpu(row);
        let cpu_ok = matches!(&cpu, Ok(m) if m.is_empty());
        cpu_ran += usize::from(cpu.is_ok());
        if !emu.is_empty() || cpu.as_ref().is_ok_and(|m| !m.is_empty()) {
            failed += 1;
        }
        if a.verbose || !emu.is_empty() || (cpu.is_ok() && !cpu_ok) {
            println!("row {i:>3} {:<28} {}", row.hex, row.text);
            for m in &emu {
                println!("      executor: {m}");
            }
            match &cpu {
                Ok(ms) => ms.iter().for_each(|m| println!("      cpu: {m}")),
                Err(e) => println!("      cpu: {e}"),
            }
        }
    }
    println!(
        "{} rows: {} as written in the executor and on the CPU{}, {failed} failing",
        rows.len(),
        rows.len() - failed,
        if cpu_ran == rows.len() { "" } else { " (CPU not run)" }
    );
    Ok(if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
