//! JIT images on this CPU. The model's JIT compiles the program at the address of one code
//! region that also holds the helpers' shims (a tail jump where the stack is already aligned,
//! a realigning call elsewhere) and the thunks the image jumps to, so every rel32 reaches; the region becomes read+execute (never writable and executable at
//! once), and a forked child calls the image as the kernel calls `bpf_func`: a C call with the
//! arguments in rdi and rsi. A program that faults ends the child, not the runner.

use super::codegen::{shim, CodegenError};
use super::mem::{CodeRegion, MemError, Shared};
use fsession_core::isa::Insn;
use fsession_core::jit::load::{compile_rewritten, image_room, images_from, rewrite, Site};
use fsession_core::jit::run::JitRunError;
use fsession_core::jit::{JitImage, INDIRECT_THUNK_SIZE};
use fsession_core::kernel::profile::Profile;

/// Why a program did not run to its exit on this CPU.
#[derive(Debug, thiserror::Error)]
pub enum NativeJitError {
    /// Rewrites, helpers or the JIT refused it (as in the executor).
    #[error("{0}")]
    Prepare(JitRunError),
    /// The code region.
    #[error(transparent)]
    Memory(#[from] MemError),
    /// A shim.
    #[error(transparent)]
    Codegen(#[from] CodegenError),
    /// The shared result page.
    #[error("mmap of the shared page failed: {0}")]
    Shared(std::io::Error),
    /// `fork` failed.
    #[error("fork failed: {0}")]
    Fork(std::io::Error),
    /// The image ended the child with a signal.
    #[error("the JIT image raised signal {signal}")]
    Signal {
        /// The signal.
        signal: i32,
    },
    /// The child ended otherwise.
    #[error("the child ended with wait status {status:#x}")]
    Child {
        /// `waitpid`'s status.
        status: i32,
    },
}

/// Helper 5 of the conformance environment: identity.
extern "C" fn helper_identity(a: u64) -> u64 {
    a
}

/// The conformance environment's helpers, as native functions (kernel semantics).
fn conformance_helpers() -> [(i32, u64); 1] {
    [(5, helper_identity as extern "C" fn(u64) -> u64 as usize as u64)]
}

/// Region layout: helper shims, the retpoline thunks, the return thunk, then the images.
const SHIM_STRIDE: u64 = 0x40;
const THUNKS: u64 = 0x800;
const RETURN_THUNK: u64 = 0xff0;
const IMAGES: u64 = 0x1000;

/// A compiled program in its executable region (kept mapped while the image is in use).
pub struct NativeImage {
    _region: CodeRegion,
    /// The image (addresses are this process's).
    pub image: JitImage,
}

/// `jmp reg` for each of the 16 registers, 32 bytes apart (`__x86_indirect_thunk_array`).
fn thunks() -> Vec<u8> {
    let mut v = vec![0xcc; 16 * INDIRECT_THUNK_SIZE as usize];
    for r in 0..16u8 {
        let at = r as usize * INDIRECT_THUNK_SIZE as usize;
        let code: Vec<u8> = if r < 8 {
            vec![0xff, 0xe0 + r]
        } else {
            vec![0x41, 0xff, 0xe0 + (r - 8)]
        };
        v[at..at + code.len()].copy_from_slice(&code);
    }
    v
}

/// Compiles a conformance program (after the verifier's rewrites) into executable memory.
pub fn compile_conformance(insns: &[Insn], profile: &Profile) -> Result<NativeImage, NativeJitError> {
    let fixed = rewrite(insns).map_err(NativeJitError::Prepare)?;
    let room = image_room(&fixed).map_err(NativeJitError::Prepare)?;
    let mut region = CodeRegion::new((IMAGES + room) as usize)?;
    let base = region.addr();
    let helpers = conformance_helpers();
    let site = Site {
        images: images_from(base + IMAGES),
        helper: |id| {
            helpers
                .iter()
                .position(|(h, _)| *h == id)
                .map(|k| base + SHIM_STRIDE * k as u64)
        },
        call_base: base,
        return_thunk: Some(base + RETURN_THUNK),
        indirect_thunk_array: Some(base + THUNKS),
    };
    let image = compile_rewritten(&fixed, profile, site).map_err(NativeJitError::Prepare)?;
    for (k, (_, f)) in helpers.iter().enumerate() {
        let ip = base + SHIM_STRIDE * k as u64;
        region.write((ip - base) as usize, &shim(ip, *f)?)?;
    }
    region.write(THUNKS as usize, &thunks())?;
    region.write(RETURN_THUNK as usize, &[0xc3])?;
    for f in &image.funcs {
        region.write((f.addr - base) as usize, &f.bytes)?;
    }
    region.make_executable()?;
    Ok(NativeImage { _region: region, image })
}

impl NativeImage {
    /// The main program's entry.
    pub fn entry(&self) -> u64 {
        self.image.funcs[0].addr
    }

    /// Calls the image in this process with `mem` as r1 and its length as r2, returning r0
    /// (benchmarks: no fork per call).
    ///
    /// # Safety
    ///
    /// The program must not fault: its memory accesses stay inside `mem` and its own stack
    /// (for instance, a program the conformance suite or the interpreter ran cleanly on the same
    /// memory).
    pub unsafe fn call(&self, mem: &mut [u8]) -> u64 {
        let arg = if mem.is_empty() { 0 } else { mem.as_mut_ptr() as u64 };
        // SAFETY: the image follows the C ABI of `bpf_func`; the caller guarantees it does not
        // fault.
        let f: extern "C" fn(u64, u64) -> u64 = unsafe { std::mem::transmute(self.entry() as *const ()) };
        f(arg, mem.len() as u64)
    }
}

/// Runs a compiled image with `mem` as r1 (and its length as r2) in a child process: r0 and the
/// memory afterwards.
pub fn run(img: &NativeImage, mem: &[u8]) -> Result<(u64, Vec<u8>), NativeJitError> {
    let page = 4096 + mem.len().div_ceil(4096) * 4096;
    let mut shared = Shared::new(page).map_err(NativeJitError::Shared)?;
    shared.bytes()[4096..4096 + mem.len()].copy_from_slice(mem);
    let data = shared.addr();
    let arg = if mem.is_empty() { 0 } else { data + 4096 };
    let entry = img.entry();
    // SAFETY: fork in this single-purpose call; the child only calls the image and _exits.
    let pid = unsafe { libc::fork() };
    if pid < 0 {
        return Err(NativeJitError::Fork(std::io::Error::last_os_error()));
    }
    if pid == 0 {
        // SAFETY: `entry` is a JIT image the model compiled for this region, called with the
        // kernel's convention for `bpf_func` (C ABI, ctx in rdi); it returns r0 in rax, or
        // faults, which ends the child.
        let f: extern "C" fn(u64, u64) -> u64 = unsafe { std::mem::transmute(entry as *const ()) };
        let r0 = f(arg, mem.len() as u64);
        // SAFETY: the shared page is mapped in the child too; the first 8 bytes hold r0.
        unsafe {
            std::ptr::write_volatile(data as *mut u64, r0);
            std::ptr::write_volatile((data + 8) as *mut u64, 1);
            libc::_exit(0)
        };
    }
    let mut status = 0;
    // SAFETY: waiting for the child just forked.
    unsafe { libc::waitpid(pid, &mut status, 0) };
    if libc::WIFSIGNALED(status) {
        return Err(NativeJitError::Signal {
            signal: libc::WTERMSIG(status),
        });
    }
    let bytes = shared.bytes();
    let done = u64::from_le_bytes(bytes[8..16].try_into().unwrap_or([0; 8]));
    if !libc::WIFEXITED(status) || libc::WEXITSTATUS(status) != 0 || done != 1 {
        return Err(NativeJitError::Child { status });
    }
    let r0 = u64::from_le_bytes(bytes[0..8].try_into().unwrap_or([0; 8]));
    Ok((r0, bytes[4096..4096 + mem.len()].to_vec()))
}

/// Compiles and runs a conformance program on this CPU.
pub fn run_conformance(insns: &[Insn], mem: &[u8], profile: &Profile) -> Result<(u64, Vec<u8>), NativeJitError> {
    run(&compile_conformance(insns, profile)?, mem)
}
