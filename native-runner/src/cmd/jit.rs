//! `fsession-lab jit FILE`: a program as the kernel's JIT compiles it, listed as `bpftool prog
//! dump jited linum` shows it (each BPF instruction after the verifier's rewrites, then its x86).

use super::{CmdError, CmdResult};
use fsession_core::asm::{assemble, Syntax};
use fsession_core::jit::render_listing;
use fsession_core::jit::run::compile_listing;
use std::path::PathBuf;
use std::process::ExitCode;

/// Arguments of `jit`.
#[derive(clap::Args)]
pub struct Args {
    /// The program (text).
    pub file: PathBuf,
    /// Its syntax.
    #[arg(long, default_value = "kernel")]
    pub syntax: Syntax,
    /// The kernel profile whose JIT compiles it (name or file).
    #[arg(long, default_value = "linux-6.18")]
    pub profile: String,
    /// Print the image as JSON (subprograms, bytes, each instruction's BPF slot and role).
    #[arg(long)]
    pub json: bool,
}

/// Compiles and lists the program.
pub fn run(a: Args) -> CmdResult {
    let text = std::fs::read_to_string(&a.file).map_err(|source| CmdError::Read {
        path: a.file.clone(),
        source,
    })?;
    let insns = assemble(&text, a.syntax).map_err(|error| CmdError::Assemble {
        input: a.file.display().to_string(),
        error,
    })?;
    let profile = super::profiles::load(&a.profile, None)?;
    match compile_listing(&insns, &profile) {
        Ok((fixed, image)) => {
            if a.json {
                println!("{}", serde_json::to_string_pretty(&image)?);
            } else {
                print!("{}", render_listing(&image, &fixed));
            }
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => {
            eprintln!("{}: {e}", a.file.display());
            Ok(ExitCode::FAILURE)
        }
    }
}
