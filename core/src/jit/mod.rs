//! The kernel's x86-64 BPF JIT (`bpf_int_jit_compile()`), byte for byte: a program after the
//! verifier's fixups becomes the image the kernel would run, one image per subprogram.
//!
//! Implemented from the behaviour the captured images show (`kernel-oracle/jit/`,
//! `kernel-oracle/linux-6.12/jit/`) and the documented rules of the JIT: the register mapping,
//! the prologue (ENDBR with IBT, the 5-byte patch site for trampolines, the tail-call counter,
//! the stack rounded up to 8, callee-saved registers as used), one translation per instruction
//! class, the epilogue and the return (return thunk, or `ret` with SLS `int3`), and the passes:
//! every jump starts with the size estimate of 64 bytes per instruction and shrinks from rel32 to
//! rel8 until the image size stops changing (padding instead of shrinking after 15 passes).
//!
//! Every x86 instruction is an iced-x86 `Instruction` with an explicit `Code`, encoded at its
//! final address; the one encoding iced cannot choose itself (the redundant REX of the 32-bit
//! `movsx` from a byte register) is marked on the instruction. [`compile`] decodes the finished
//! image again and checks each instruction against the one emitted.
//!
//! What the kernel refuses is a [`JitError`] with the instruction index; what the model does not
//! do (arena, private stacks, call-depth accounting) is `ENOTSUPP`, never a guess.

mod analysis;
mod emit;
mod error;
mod listing;
pub mod load;
mod passes;
mod regs;
pub mod run;
pub mod scenario;

pub use analysis::{stack_depths, subprogs, tail_call_key, Subprog};
pub use error::{JitError, JitErrorKind};
pub use listing::{jit_text, render_listing, role_note, JitRow};

use crate::isa::{Imm64Kind, Insn};
use crate::kernel::profile::Profile;
use serde::Serialize;
use std::collections::BTreeMap;

/// `BPF_FUNC_tail_call`: the xlated dump shows the kernel's `BPF_JMP | BPF_TAIL_CALL` as a call
/// of this helper, and the JIT input takes it in that form.
pub const BPF_FUNC_TAIL_CALL: i32 = 12;

/// How a tail call was resolved by the verifier.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum TailCall {
    /// Through the prog array at run time (`emit_bpf_tail_call_indirect()`).
    Indirect,
    /// A constant map and key: a poke site (`emit_bpf_tail_call_direct()`); `target` is the
    /// `bpf_func` of the program in that slot when the image was last poked, if any.
    Direct {
        /// `bpf_func` of the program in the slot, or `None` while the slot is empty.
        target: Option<u64>,
    },
}

/// The addresses an image depends on: where each subprogram's image is, where calls go, what
/// the pseudo `lddw` loads resolve to. The kernel knows them at JIT time; the model is told.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Addresses {
    /// Image address of each subprogram, in subprogram order (`jited_ksyms`).
    pub images: Vec<u64>,
    /// `__bpf_call_base`: a helper or kfunc call after fixups goes to `call_base + imm`.
    pub call_base: u64,
    /// Call targets by instruction index that override `call_base + imm` (the native runner's
    /// helper shims).
    pub calls: BTreeMap<usize, u64>,
    /// The value of each pseudo `lddw` (map pointers, map values, BTF ids), by instruction index.
    pub imm64: BTreeMap<usize, u64>,
    /// Tail calls by instruction index; absent ones are indirect.
    pub tail_calls: BTreeMap<usize, TailCall>,
    /// `x86_return_thunk` (profiles with the return thunk).
    pub return_thunk: Option<u64>,
    /// `__x86_indirect_thunk_array` (profiles with retpolines and indirect tail calls).
    pub indirect_thunk_array: Option<u64>,
}

/// Size of one `__x86_indirect_thunk_array` entry.
pub const INDIRECT_THUNK_SIZE: u64 = 32;

/// A program to compile: the instruction slots after the verifier's fixups.
#[derive(Clone, Debug)]
pub struct JitInput<'a> {
    /// The whole program (all subprograms), as `bpftool prog dump xlated` shows it.
    pub insns: &'a [Insn],
    /// Stack depth of each subprogram as the verifier computed it; `None`: derived from the
    /// program's own stack accesses ([`stack_depths`]).
    pub stack_depths: Option<Vec<u32>>,
}

/// What an x86 instruction of an image does for the program.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "role", rename_all = "snake_case")]
pub enum Role {
    /// `endbr64` at the entry (IBT).
    Endbr,
    /// The 5-byte nop a trampoline is attached at (`bpf_arch_text_poke()`).
    PatchSite,
    /// `xor rax, rax` (the tail-call counter of a main program) or the 3-byte nop in its place.
    TailCallInit,
    /// `push rbp; mov rbp, rsp`.
    Frame,
    /// `endbr64` where tail calls land (`X86_TAIL_CALL_OFFSET`).
    TailCallLanding,
    /// `sub rsp, stack` (the BPF stack, rounded up to 8).
    StackAlloc,
    /// The tail-call counter and its pointer pushed in the prologue.
    TailCallCounter,
    /// A callee-saved register pushed (`rbx`, `r13`, `r14`, `r15`) or popped.
    CalleeSaved,
    /// The translation of the BPF instruction.
    Body,
    /// A call: helper or kfunc (`__bpf_call_base + imm`) or a subprogram.
    Call {
        /// The called address.
        target: u64,
    },
    /// Part of a tail call's checks and jump.
    TailCall,
    /// The direct tail call's bypass jump (a jump to the fall-through while the slot is empty,
    /// a nop once poked).
    PokeBypass,
    /// The direct tail call's target site (a nop while the slot is empty, then the jump).
    PokeTarget,
    /// `leave`.
    Leave,
    /// `ret` or the jump to the return thunk.
    Return,
    /// The `int3` after `ret` (SLS).
    Int3,
    /// Nops that keep a jump from shrinking in the padding passes.
    Padding,
}

/// One x86 instruction of an image.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct JitInsn {
    /// Offset in the subprogram's image.
    pub offset: usize,
    /// Its bytes.
    pub bytes: Vec<u8>,
    /// The BPF instruction slot (program-wide index) it comes from; `None` for the prologue.
    pub bpf: Option<usize>,
    /// What it does.
    pub role: Role,
}

/// The image of one subprogram.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct JitFunc {
    /// Subprogram index (0: the main program).
    pub index: usize,
    /// Its first instruction slot.
    pub start: usize,
    /// One past its last instruction slot.
    pub end: usize,
    /// The image's address.
    pub addr: u64,
    /// The image.
    pub bytes: Vec<u8>,
    /// Its instructions, annotated.
    pub insns: Vec<JitInsn>,
    /// The stack depth the prologue allocates (rounded up to 8).
    pub stack: u32,
    /// Whether the tail-call counter is kept.
    pub tail_call_reachable: bool,
    /// rbx, r13, r14, r15: saved because r6..r9 are used.
    pub callee_saved: [bool; 4],
    /// Passes until the image size stopped changing (the final pass included).
    pub passes: usize,
    /// Image offsets of each BPF instruction slot `start..end`: `(begin, end)` of its
    /// translation (the second slot of `lddw` has an empty range).
    pub ranges: Vec<(usize, usize)>,
}

/// A compiled program.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct JitImage {
    /// One image per subprogram.
    pub funcs: Vec<JitFunc>,
}

/// Compiles a program as the profile's kernel JIT does, at the given addresses.
pub fn compile(input: &JitInput<'_>, profile: &Profile, addrs: &Addresses) -> Result<JitImage, JitError> {
    passes::compile(input, profile, addrs)
}

/// The kind of a pseudo `lddw` that needs an address from [`Addresses::imm64`].
pub const fn needs_address(kind: Imm64Kind) -> bool {
    !matches!(kind, Imm64Kind::Imm | Imm64Kind::Func)
}
