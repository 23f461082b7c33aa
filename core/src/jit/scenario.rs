//! A scenario's programs as JIT images at the executor's addresses: each program (after the
//! fixups, its maps relocated as the executor places them, then the verifier's rewrites the JIT
//! relies on) compiled for its `bpf_func` address under the scenario's profile. One home for the
//! playground's JIT listings and the executor's images (`emu::jit`).

use super::run::JitRunError;
use super::{compile, subprogs, Addresses, JitImage, JitInput, BPF_FUNC_TAIL_CALL};
use crate::emu::run::{relocate_maps, MAP_BASE, MAP_STRIDE};
use crate::isa::{decode_program_internal, Insn, Instr};
use crate::kernel::miscfix::{misc_fixups, MiscFixError};
use crate::kernel::profile::Profile;
use crate::scenario::CheckReport;
use crate::tramp::build::Placement;
use std::collections::BTreeMap;

/// Where helper calls go: helper `id` at `HELPER_BASE + 16 * id`, in rel32 reach of the images
/// (`bpf_func` of program i is `func_base + i * 0x800`).
pub const HELPER_BASE: u64 = 0xffff_ffff_9ff0_0000;
/// Room for one program's images at its `bpf_func`.
pub const IMAGE_ROOM: u64 = 0x800;

/// The address helper `id` is called at.
pub fn helper_addr(id: i32) -> u64 {
    HELPER_BASE.wrapping_add(16 * id as u64)
}

/// A compiled program: the program the JIT compiled (after the rewrites) and its image.
pub type Compiled = Result<(Vec<Insn>, JitImage), JitRunError>;

/// Compiles a fixed program for `bpf_func` = `at`: the rewrites, helper calls at
/// [`helper_addr`], subprograms within [`IMAGE_ROOM`]. Returns the program the JIT compiled.
pub fn compile_at(insns: &[Insn], profile: &Profile, at: u64, return_thunk: u64) -> Compiled {
    let fixed = misc_fixups(insns).map_err(JitRunError::Fixup)?;
    let decoded = decode_program_internal(&fixed).map_err(|e| JitRunError::Fixup(MiscFixError::Decode(e)))?;
    let calls: BTreeMap<usize, u64> = decoded
        .iter()
        .filter_map(|(slot, i)| match i {
            Instr::CallHelper(id) if *id != BPF_FUNC_TAIL_CALL => Some((*slot, helper_addr(*id))),
            _ => None,
        })
        .collect();
    let subs = subprogs(&fixed).map_err(JitRunError::Jit)?;
    let per = IMAGE_ROOM / subs.len().max(1) as u64 / 16 * 16;
    let addrs = Addresses {
        images: (0..subs.len() as u64).map(|j| at + j * per).collect(),
        call_base: HELPER_BASE,
        calls,
        return_thunk: Some(return_thunk),
        ..Addresses::default()
    };
    let input = JitInput {
        insns: &fixed,
        stack_depths: None,
    };
    let image = compile(&input, profile, &addrs).map_err(JitRunError::Jit)?;
    Ok((fixed, image))
}

/// The JIT image of each loaded program of a checked scenario (by its index in the scenario),
/// at the placement's addresses, with the executor's map addresses.
pub fn program_images(report: &CheckReport, place: &Placement) -> Vec<(usize, Compiled)> {
    let mut out = Vec::new();
    for (i, p) in report.programs.iter().enumerate() {
        let (Some(f), Some(Ok(_))) = (&p.fixed, &p.verified) else {
            continue;
        };
        let relocated = relocate_maps(&f.insns, |m| u64::try_from(m).ok().map(|k| MAP_BASE + k * MAP_STRIDE));
        let r = match relocated {
            Ok(insns) => compile_at(
                &insns,
                &report.profile,
                place.program(i).bpf_func,
                place.symbols.return_thunk,
            ),
            Err(crate::emu::run::RelocError::Decode(e)) => Err(JitRunError::Fixup(MiscFixError::Decode(e))),
            Err(crate::emu::run::RelocError::NoMap { index, map }) => Err(JitRunError::UnknownMap { index, map }),
        };
        out.push((i, r));
    }
    out
}
