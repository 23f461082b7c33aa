//! A scenario's programs as JIT images at the executor's addresses: each program (after the
//! fixups, its maps relocated as the executor places them, then the verifier's rewrites the JIT
//! relies on) compiled for its `bpf_func` address under the scenario's profile. One home for the
//! playground's JIT listings and the executor's images (`emu::jit`).

pub use super::load::Compiled;
use super::load::{compile_loaded, Site};
use super::run::JitRunError;
use super::Subprog;
use crate::emu::run::{relocate_maps, RelocError, MAP_BASE, MAP_STRIDE};
use crate::isa::Insn;
use crate::kernel::miscfix::MiscFixError;
use crate::kernel::profile::Profile;
use crate::scenario::CheckReport;
use crate::tramp::build::Placement;

/// Where helper calls go: helper `id` at `HELPER_BASE + 16 * id`, in rel32 reach of the images
/// (`bpf_func` of program i is `func_base + i * 0x800`).
pub const HELPER_BASE: u64 = 0xffff_ffff_9ff0_0000;
/// Room for one program's images at its `bpf_func`.
pub const IMAGE_ROOM: u64 = 0x800;

/// The address helper `id` is called at.
pub fn helper_addr(id: i32) -> u64 {
    HELPER_BASE.wrapping_add(16 * id as u64)
}

/// Compiles a fixed program for `bpf_func` = `at`: the rewrites, calls of the helpers `known`
/// accepts at [`helper_addr`], the subprograms sharing [`IMAGE_ROOM`] (an image that outgrows
/// its share is refused). Returns the program the JIT compiled.
pub fn compile_at(
    insns: &[Insn],
    profile: &Profile,
    at: u64,
    return_thunk: u64,
    known: impl Fn(i32) -> bool,
) -> Compiled {
    let share = |n: usize| IMAGE_ROOM / n.max(1) as u64 / 16 * 16;
    let site = Site {
        images: |subs: &[Subprog]| (0..subs.len() as u64).map(|j| at + j * share(subs.len())).collect(),
        helper: |id| known(id).then(|| helper_addr(id)),
        call_base: HELPER_BASE,
        return_thunk: Some(return_thunk),
        indirect_thunk_array: None,
    };
    let (fixed, image) = compile_loaded(insns, profile, site)?;
    let room = share(image.funcs.len());
    if let Some(f) = image.funcs.iter().find(|f| f.bytes.len() as u64 > room) {
        return Err(JitRunError::ImageRoom {
            func: f.index,
            len: f.bytes.len(),
            room,
        });
    }
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
                |_| true,
            ),
            Err(RelocError::Decode(e)) => Err(JitRunError::Fixup(MiscFixError::Decode(e))),
            Err(RelocError::NoMap { index, map }) => Err(JitRunError::UnknownMap { index, map }),
        };
        out.push((i, r));
    }
    out
}
