//! `run`, `validate` and the child side on machines other than x86-64: the generated code is
//! x86-64 machine code, so they say so instead of running it.

use super::run_args::{RunArgs, ValidateArgs};
use super::{CmdError, CmdResult};
use std::path::Path;

fn needs_x86_64(command: &'static str) -> CmdResult {
    Err(CmdError::NeedsX86_64 {
        command,
        arch: std::env::consts::ARCH,
    })
}

/// `run`.
pub fn run(_: RunArgs) -> CmdResult {
    needs_x86_64("run")
}

/// `validate`: in the executor (the default here); hw and both need x86-64.
pub fn validate(a: ValidateArgs) -> CmdResult {
    use super::emu_side::{self, Engine};
    if a.engine.unwrap_or_else(Engine::default_here) != Engine::Emu {
        return needs_x86_64("validate --engine hw|both");
    }
    let mut paths = a.paths.clone();
    if paths.is_empty() && a.random == 0 {
        paths.push(std::path::PathBuf::from("examples/scenarios"));
    }
    let mut files = emu_side::scenario_files(paths)?;
    if a.random > 0 {
        files.extend(emu_side::write_random(a.random, a.seed)?.1);
    }
    let (passed, failed) = emu_side::validate_in_executor(&files, a.flags.profile.as_deref(), !a.flags.interp);
    println!("{passed} passed, {failed} failed in the executor");
    Ok(if failed == 0 {
        std::process::ExitCode::SUCCESS
    } else {
        std::process::ExitCode::FAILURE
    })
}

/// `__exec`.
pub fn exec_child(_: &Path, _: Option<&str>, _: bool, _: bool) -> CmdResult {
    needs_x86_64("__exec")
}
