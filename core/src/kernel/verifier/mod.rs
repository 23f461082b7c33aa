//! The verifier checks a user of fsession, fentry, fexit, fmod_ret and tp_btf meets: program
//! structure, registers and stack, ctx access, calls and their argument and return types, the
//! return code, and the side effects the trampoline depends on (`call_get_func_ip`,
//! `call_session_cookie`). Not the whole kernel verifier: a path-sensitive walk over register
//! types with constants tracked exactly, so bounded loops over constants terminate.
//!
//! Messages use the kernel's wording where known; every error names the instruction index and
//! the errno the load would fail with. A program is accepted whole or not at all.

mod calls;
mod cfg;
mod state;
mod walk;

use super::profile::Profile;
use super::program::{FuncModel, Program};
use crate::errno::Errno;
use serde::Serialize;
use std::collections::BTreeMap;
use thiserror::Error;

/// Maximum instructions in a program (`BPF_COMPLEXITY_LIMIT_INSNS` for privileged loaders).
pub const MAX_INSNS: usize = 1_000_000;
/// Maximum instructions processed along all paths before giving up.
pub const MAX_PROCESSED: usize = 1_000_000;

/// A rejected program.
#[derive(Clone, Debug, PartialEq, Eq, Error, Serialize, serde::Deserialize)]
#[error("insn {index}: {message} ({errno})")]
pub struct VerifierError {
    /// Instruction index.
    pub index: usize,
    /// Kernel-style message.
    pub message: String,
    /// What the load returns.
    pub errno: Errno,
}

impl VerifierError {
    pub(crate) fn new(index: usize, errno: Errno, message: impl Into<String>) -> Self {
        VerifierError {
            index,
            message: message.into(),
            errno,
        }
    }
}

/// A global data area or map a program may reference with `lddw` pseudo loads: by fd (src 1/2)
/// or by fd-array index (src 5/6), both taken as the index into the scenario's map list.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct MapDef {
    /// Name (`.bss`).
    pub name: String,
    /// Value size in bytes.
    pub value_size: u32,
}

/// What verification found out about an accepted program.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Verified {
    /// The program calls `bpf_get_func_ip` (the trampoline gets IP_ARG).
    pub call_get_func_ip: bool,
    /// The program calls `bpf_session_cookie` (it gets a cookie slot).
    pub call_session_cookie: bool,
    /// Deepest stack use of the main frame, in bytes.
    pub stack_depth: u32,
    /// Instructions processed along all explored paths.
    pub processed: usize,
}

/// Verifies a program against the traced function and the profile.
pub fn verify(
    prog: &Program,
    func: &FuncModel,
    profile: &Profile,
    maps: &BTreeMap<i32, MapDef>,
) -> Result<Verified, VerifierError> {
    let cfg = cfg::check(prog, profile)?;
    walk::Walker::new(prog, func, profile, maps, &cfg).run()
}
