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

/// `validate`.
pub fn validate(_: ValidateArgs) -> CmdResult {
    needs_x86_64("validate")
}

/// `__exec`.
pub fn exec_child(_: &Path, _: Option<&str>, _: bool) -> CmdResult {
    needs_x86_64("__exec")
}
