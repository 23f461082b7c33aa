//! The JIT's register mapping: BPF r0..r10 and the verifier's auxiliary r11 onto x86-64, plus the
//! JIT's own scratch register.
//!
//! r0 rax, r1 rdi, r2 rsi, r3 rdx, r4 rcx, r5 r8 (the C calling convention for r1..r5), r6 rbx,
//! r7 r13, r8 r14, r9 r15 (callee-saved), r10 rbp (the frame), r11 (`BPF_REG_AX`) r10, and r11 as
//! the JIT's `AUX_REG`. r12 is left out: as a base register it always needs a SIB byte.

use iced_x86::Register;

/// A register the JIT emits: a BPF register (0..=11) or [`AUX`].
pub(crate) type Reg = u8;

/// The JIT's scratch register (x86 r11).
pub(crate) const AUX: Reg = 12;
/// BPF r0 (rax).
pub(crate) const R0: Reg = 0;
/// BPF r3 (rdx).
pub(crate) const R3: Reg = 3;
/// BPF r4 (rcx).
pub(crate) const R4: Reg = 4;
/// BPF r11 (`BPF_REG_AX`, x86 r10).
pub(crate) const AX: Reg = 11;

const MAP64: [Register; 13] = [
    Register::RAX,
    Register::RDI,
    Register::RSI,
    Register::RDX,
    Register::RCX,
    Register::R8,
    Register::RBX,
    Register::R13,
    Register::R14,
    Register::R15,
    Register::RBP,
    Register::R10,
    Register::R11,
];

const MAP32: [Register; 13] = [
    Register::EAX,
    Register::EDI,
    Register::ESI,
    Register::EDX,
    Register::ECX,
    Register::R8D,
    Register::EBX,
    Register::R13D,
    Register::R14D,
    Register::R15D,
    Register::EBP,
    Register::R10D,
    Register::R11D,
];

const MAP16: [Register; 13] = [
    Register::AX,
    Register::DI,
    Register::SI,
    Register::DX,
    Register::CX,
    Register::R8W,
    Register::BX,
    Register::R13W,
    Register::R14W,
    Register::R15W,
    Register::BP,
    Register::R10W,
    Register::R11W,
];

const MAP8: [Register; 13] = [
    Register::AL,
    Register::DIL,
    Register::SIL,
    Register::DL,
    Register::CL,
    Register::R8L,
    Register::BL,
    Register::R13L,
    Register::R14L,
    Register::R15L,
    Register::BPL,
    Register::R10L,
    Register::R11L,
];

/// The 64-bit x86 register of `r`.
pub(crate) fn q(r: Reg) -> Register {
    MAP64[r as usize]
}
/// Its 32-bit form.
pub(crate) fn d(r: Reg) -> Register {
    MAP32[r as usize]
}
/// Its 16-bit form.
pub(crate) fn w(r: Reg) -> Register {
    MAP16[r as usize]
}
/// Its 8-bit form.
pub(crate) fn b(r: Reg) -> Register {
    MAP8[r as usize]
}
/// The 64- or 32-bit form.
pub(crate) fn sized(r: Reg, is64: bool) -> Register {
    if is64 {
        q(r)
    } else {
        d(r)
    }
}

/// BPF r6..r9 as the index into the callee-saved set (rbx, r13, r14, r15).
pub(crate) fn callee_saved_index(r: u8) -> Option<usize> {
    (6..=9).contains(&r).then(|| (r - 6) as usize)
}

/// The callee-saved x86 registers, in push order.
pub(crate) const CALLEE_SAVED: [Register; 4] = [Register::RBX, Register::R13, Register::R14, Register::R15];
