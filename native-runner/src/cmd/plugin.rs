//! `fsession-lab conformance-plugin [MEM] [OPTIONS...]`: the bpf_conformance plugin protocol.
//!
//! The runner starts the plugin once per test with the memory (hex bytes, present only when the
//! test has memory) as the first argument, then its own options; the program arrives on stdin as
//! hex text. On success r0 is printed in hex and the exit code is 0; on error the message goes to
//! stderr and the exit code is 1.

use super::CmdResult;
use fsession_core::conformance::parse_hex_bytes;
use fsession_core::isa::split_slots;
use std::io::Read;
use std::process::ExitCode;

/// Arguments of `conformance-plugin`.
#[derive(clap::Args)]
pub struct Args {
    /// Memory as hex, then options (`--elf`, `--help`); a first argument starting with `--` is an
    /// option, so the memory may be absent.
    #[arg(allow_hyphen_values = true, trailing_var_arg = true)]
    rest: Vec<String>,
}

fn fail(msg: impl std::fmt::Display) -> CmdResult {
    eprintln!("{msg}");
    Ok(ExitCode::FAILURE)
}

/// Runs one test.
pub fn run(args: Args) -> CmdResult {
    let mut rest = args.rest.as_slice();
    let mut mem = Vec::new();
    if let Some(first) = rest.first() {
        if !first.starts_with("--") {
            mem = match parse_hex_bytes(first) {
                Ok(m) => m,
                Err(e) => return fail(format!("bad memory argument: {e}")),
            };
            rest = &rest[1..];
        }
    }
    let mut i = 0;
    let mut engine = super::conformance::Engine::Interp;
    let mut profile_name = "linux-6.18".to_string();
    while i < rest.len() {
        match rest[i].as_str() {
            "--engine" => {
                let v = rest.get(i + 1).map(String::as_str).unwrap_or("");
                engine = match <super::conformance::Engine as clap::ValueEnum>::from_str(v, false) {
                    Ok(e) => e,
                    Err(_) => return fail(format!("unknown engine '{v}' (interp, jit, jit-emu)")),
                };
                i += 1;
            }
            "--profile" => {
                profile_name = rest.get(i + 1).cloned().unwrap_or_default();
                i += 1;
            }
            "--help" | "-h" => {
                println!("usage: fsession-lab conformance-plugin [MEM] [--elf false] [--engine interp|jit|jit-emu] [--profile NAME]\n  reads the program as hex text on stdin, prints r0 in hex");
                return Ok(ExitCode::SUCCESS);
            }
            "--elf" => {
                let v = rest.get(i + 1).map(String::as_str).unwrap_or("true");
                if v != "false" {
                    return fail("ELF input is not supported; run the suite without --elf");
                }
                i += 1;
            }
            other => return fail(format!("unknown option {other}")),
        }
        i += 1;
    }
    let mut input = String::new();
    if let Err(e) = std::io::stdin().read_to_string(&mut input) {
        return fail(format!("cannot read stdin: {e}"));
    }
    let bytes = match parse_hex_bytes(&input) {
        Ok(b) => b,
        Err(e) => return fail(format!("bad program text: {e}")),
    };
    let Some(insns) = split_slots(&bytes) else {
        return fail(format!("program length {} is not a multiple of 8", bytes.len()));
    };
    let profile = match super::profiles::load(&profile_name, None) {
        Ok(p) => p,
        Err(e) => return fail(e),
    };
    match super::conformance::run_engine(engine, &insns, mem, &profile) {
        Ok(r0) => {
            println!("{r0:x}");
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => fail(e),
    }
}
