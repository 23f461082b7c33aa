//! JIT images run by the x86-64 executor ([`crate::x86exec`]), in the conformance environment:
//! r1 = the input memory, r2 = its length, helper 5 = identity (the suite's one helper). The
//! program goes through the verifier's division rewrites ([`crate::kernel::miscfix`]) and the JIT
//! exactly as the kernel would load it; the executor then runs the image's bytes.

use super::load::{compile_loaded, Compiled, Site};
use super::{JitError, JitImage};
use crate::isa::Insn;
use crate::kernel::miscfix::MiscFixError;
use crate::kernel::profile::Profile;
use crate::x86exec::{AreaKind, ExecError, ExecErrorKind, Gpr, Machine, Perms, Space};
use thiserror::Error;

/// Where the images go (the kernel's module area).
pub const IMAGE_BASE: u64 = 0xffff_ffff_c000_0000;
/// Distance between subprogram images.
pub const IMAGE_STRIDE: u64 = 0x1_0000;
/// `__bpf_call_base` and the helpers' code.
pub const HELPER_BASE: u64 = 0xffff_ffff_8100_0000;
/// The input memory: where the interpreter's conformance environment has it, so that programs
/// that return addresses agree.
pub const MEM_BASE: u64 = crate::interp::MEM_BASE;
/// The kernel stack the program runs on.
pub const STACK_BASE: u64 = 0xffff_c900_0000_0000;
/// Its size.
pub const STACK_SIZE: usize = 16 * 1024;
/// The return address the run ends at.
pub const CALLER: u64 = 0xffff_ffff_8200_0000;
/// Executed x86 instructions before a run is given up.
pub const STEP_BUDGET: u64 = 20_000_000;

/// Helpers of the conformance environment, as native code: (id, x86 bytes).
pub const CONFORMANCE_HELPERS: [(i32, &[u8]); 1] = [
    // 5: identity, `mov rax, rdi; ret`.
    (5, &[0x48, 0x89, 0xf8, 0xc3]),
];

/// Why a program did not run to its exit.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum JitRunError {
    /// The verifier's rewrites refused it.
    #[error("{0}")]
    Fixup(MiscFixError),
    /// A helper the environment does not have (the verifier refuses an unknown helper).
    #[error("insn {index}: invalid func unknown#{id} (EINVAL)")]
    UnknownHelper {
        /// The call.
        index: usize,
        /// The helper id.
        id: i32,
    },
    /// The JIT refused it.
    #[error("{0}")]
    Jit(JitError),
    /// A map the program loads is not in the scenario.
    #[error("insn {index}: no map {map}")]
    UnknownMap {
        /// The `lddw`.
        index: usize,
        /// The map's index or fd.
        map: i32,
    },
    /// A subprogram's image does not fit the room its place gives it.
    #[error("the image of subprogram {func} ({len} bytes) does not fit its {room} bytes")]
    ImageRoom {
        /// The subprogram.
        func: usize,
        /// Its image's length.
        len: usize,
        /// The room.
        room: u64,
    },
    /// The image faulted or did not return.
    #[error("{0}")]
    Exec(ExecError),
}

/// A finished run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JitRun {
    /// r0 (rax) at the return.
    pub r0: u64,
    /// The input memory afterwards.
    pub mem: Vec<u8>,
    /// x86 instructions executed.
    pub steps: u64,
    /// The image that ran.
    pub image: JitImage,
}

/// Compiles a conformance program for the environment: rewrites, helper addresses, images.
pub fn compile_conformance(insns: &[Insn], profile: &Profile) -> Compiled {
    compile_here(insns, profile, |id| {
        CONFORMANCE_HELPERS.iter().position(|(h, _)| *h == id).map(helper_addr)
    })
}

/// Compiles any program as the kernel would load it, for a listing: the rewrites, then the JIT
/// with images from [`IMAGE_BASE`], [`IMAGE_STRIDE`] apart, and helper `id` at `HELPER_BASE + 16 * id` (the model has no
/// kernel symbol table; the `call` bytes depend on these addresses, nothing else does).
pub fn compile_listing(insns: &[Insn], profile: &Profile) -> Compiled {
    compile_here(insns, profile, |id| {
        u64::try_from(id).ok().map(|id| HELPER_BASE + 16 * id)
    })
}

fn compile_here(insns: &[Insn], profile: &Profile, helper: impl Fn(i32) -> Option<u64>) -> Compiled {
    let site = Site {
        images: |subs: &[super::Subprog]| (0..subs.len() as u64).map(|k| IMAGE_BASE + k * IMAGE_STRIDE).collect(),
        helper,
        call_base: HELPER_BASE,
        return_thunk: Some(HELPER_BASE + 0xff0),
        indirect_thunk_array: Some(HELPER_BASE + 0x800),
    };
    compile_loaded(insns, profile, site)
}

fn helper_addr(k: usize) -> u64 {
    HELPER_BASE + 0x10 * k as u64
}

/// The helpers' code area: each helper at its slot, the return thunk (`ret`) at 0xff0.
fn helper_area() -> Vec<u8> {
    let mut code = vec![0xcc; 0x1000];
    for (k, (_, bytes)) in CONFORMANCE_HELPERS.iter().enumerate() {
        let at = 0x10 * k;
        code[at..at + bytes.len()].copy_from_slice(bytes);
    }
    code[0xff0] = 0xc3;
    code
}

/// Runs a conformance program (`-- mem` as `mem`) as its JIT image in the executor.
pub fn run_conformance(insns: &[Insn], mem: Vec<u8>, profile: &Profile) -> Result<JitRun, JitRunError> {
    let (_, image) = compile_conformance(insns, profile)?;
    let mut space = Space::default();
    for f in &image.funcs {
        space.map(AreaKind::Code, f.addr, f.bytes.clone(), Perms::RX);
    }
    space.map(AreaKind::Code, HELPER_BASE, helper_area(), Perms::RX);
    space.map(AreaKind::Stack, STACK_BASE, vec![0; STACK_SIZE], Perms::RW);
    let len = mem.len() as u64;
    let base = if mem.is_empty() { 0 } else { MEM_BASE };
    if !mem.is_empty() {
        space.map(AreaKind::Scratch, MEM_BASE, mem, Perms::RW);
    }
    let mut m = Machine::new(space);
    let sp = STACK_BASE + STACK_SIZE as u64 - 8;
    m.mem
        .write(sp, 8, CALLER)
        .map_err(|_| JitRunError::Exec(m.error(sp, ExecErrorKind::NotExecutable)))?;
    m.cpu.set(Gpr::RSP, sp);
    m.cpu.set(Gpr::RDI, base);
    m.cpu.set(Gpr::RSI, len);
    m.cpu.rip = image.funcs[0].addr;
    let mut steps = 0u64;
    while m.cpu.rip != CALLER {
        if steps >= STEP_BUDGET {
            return Err(JitRunError::Exec(m.error(m.cpu.rip, ExecErrorKind::Budget { steps })));
        }
        m.step().map_err(JitRunError::Exec)?;
        steps += 1;
    }
    let mem = m
        .mem
        .area(&AreaKind::Scratch)
        .map(|a| a.bytes.clone())
        .unwrap_or_default();
    Ok(JitRun {
        r0: m.cpu.get(Gpr::RAX),
        mem,
        steps,
        image,
    })
}
