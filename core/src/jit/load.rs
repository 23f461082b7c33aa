//! A program compiled as the kernel loads it: the verifier's rewrites the JIT relies on
//! ([`crate::kernel::miscfix`]), then the JIT at the caller's addresses. The one path every user
//! of the JIT takes (the conformance environment, listings, a scenario's programs in the
//! executor, the playground, the native runner).

use super::analysis::Subprog;
use super::run::JitRunError;
use super::{compile, subprogs, Addresses, JitImage, JitInput, BPF_FUNC_TAIL_CALL};
use crate::isa::{decode_program_internal, Insn, Instr};
use crate::kernel::miscfix::{misc_fixups, MiscFixError};
use crate::kernel::profile::Profile;
use std::collections::BTreeMap;

/// A compiled program: the program the JIT compiled (after the rewrites) and its image.
pub type Compiled = Result<(Vec<Insn>, JitImage), JitRunError>;

/// Where a loaded program's code goes and what it calls.
pub struct Site<I, H> {
    /// The image address of each subprogram.
    pub images: I,
    /// The address a call of helper `id` goes to, if the helper exists.
    pub helper: H,
    /// `__bpf_call_base`.
    pub call_base: u64,
    /// `x86_return_thunk`.
    pub return_thunk: Option<u64>,
    /// `__x86_indirect_thunk_array`.
    pub indirect_thunk_array: Option<u64>,
}

/// Compiles `insns` (a program after the verifier's fixups) at `site`: [`rewrite`], then
/// [`compile_rewritten`].
pub fn compile_loaded<I, H>(insns: &[Insn], profile: &Profile, site: Site<I, H>) -> Compiled
where
    I: FnOnce(&[Subprog]) -> Vec<u64>,
    H: Fn(i32) -> Option<u64>,
{
    let fixed = rewrite(insns)?;
    let image = compile_rewritten(&fixed, profile, site)?;
    Ok((fixed, image))
}

/// The verifier's rewrites the JIT relies on: what the JIT compiles.
pub fn rewrite(insns: &[Insn]) -> Result<Vec<Insn>, JitRunError> {
    misc_fixups(insns).map_err(JitRunError::Fixup)
}

/// Compiles a program already through [`rewrite`] at `site`.
pub fn compile_rewritten<I, H>(fixed: &[Insn], profile: &Profile, site: Site<I, H>) -> Result<JitImage, JitRunError>
where
    I: FnOnce(&[Subprog]) -> Vec<u64>,
    H: Fn(i32) -> Option<u64>,
{
    let decoded = decode_program_internal(fixed).map_err(|e| JitRunError::Fixup(MiscFixError::Decode(e)))?;
    let mut calls = BTreeMap::new();
    for (index, instr) in &decoded {
        match instr {
            Instr::CallHelper(id) if *id != BPF_FUNC_TAIL_CALL => {
                let at = (site.helper)(*id).ok_or(JitRunError::UnknownHelper { index: *index, id: *id })?;
                calls.insert(*index, at);
            }
            _ => {}
        }
    }
    let subs = subprogs(fixed).map_err(JitRunError::Jit)?;
    let addrs = Addresses {
        images: (site.images)(&subs),
        call_base: site.call_base,
        calls,
        return_thunk: site.return_thunk,
        indirect_thunk_array: site.indirect_thunk_array,
        ..Addresses::default()
    };
    let input = JitInput {
        insns: fixed,
        stack_depths: None,
    };
    compile(&input, profile, &addrs).map_err(JitRunError::Jit)
}

/// The most bytes one subprogram's image can take: `BPF_MAX_INSN_SIZE` (128) per instruction
/// slot and as much again for the prologue.
pub fn max_image_len(sub: &Subprog) -> u64 {
    (sub.end - sub.start + 1) as u64 * 128
}

/// The room [`images_from`] gives a rewritten program's images.
pub fn image_room(fixed: &[Insn]) -> Result<u64, JitRunError> {
    let subs = subprogs(fixed).map_err(JitRunError::Jit)?;
    Ok(subs.iter().map(|s| max_image_len(s).div_ceil(64) * 64).sum())
}

/// Subprogram images one after the other from `base`, each with room for its largest image
/// (rounded to 64 bytes).
pub fn images_from(base: u64) -> impl FnOnce(&[Subprog]) -> Vec<u64> {
    move |subs| {
        let mut at = base;
        subs.iter()
            .map(|s| {
                let here = at;
                at += max_image_len(s).div_ceil(64) * 64;
                here
            })
            .collect()
    }
}
