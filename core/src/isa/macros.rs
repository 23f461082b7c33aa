//! Constructors named after the kernel's instruction macros (`include/linux/filter.h`), so code
//! that builds inline sequences reads like the reference tables:
//!
//! ```
//! use fsession_core::isa::macros::*;
//! use fsession_core::isa::opcode::*;
//! let seq = [
//!     BPF_LDX_MEM(BPF_DW, BPF_REG_0, BPF_REG_1, -8),
//!     BPF_ALU64_IMM(BPF_RSH, BPF_REG_0, 63),
//!     BPF_ALU64_IMM(BPF_AND, BPF_REG_0, 1),
//! ];
//! assert_eq!(seq[0].to_bytes(), [0x79, 0x10, 0xf8, 0xff, 0, 0, 0, 0]);
//! ```
#![allow(non_snake_case)]

use super::insn::Insn;
use super::opcode::*;

/// `BPF_RAW_INSN(code, dst, src, off, imm)`.
pub const fn BPF_RAW_INSN(code: u8, dst: u8, src: u8, off: i16, imm: i32) -> Insn {
    Insn::new(code, dst, src, off, imm)
}
/// 64-bit ALU with a register operand: `dst op= src`.
pub const fn BPF_ALU64_REG(op: u8, dst: u8, src: u8) -> Insn {
    Insn::new(BPF_ALU64 | op | BPF_X, dst, src, 0, 0)
}
/// 32-bit ALU with a register operand.
pub const fn BPF_ALU32_REG(op: u8, dst: u8, src: u8) -> Insn {
    Insn::new(BPF_ALU | op | BPF_X, dst, src, 0, 0)
}
/// 64-bit ALU with an immediate operand: `dst op= imm`.
pub const fn BPF_ALU64_IMM(op: u8, dst: u8, imm: i32) -> Insn {
    Insn::new(BPF_ALU64 | op | BPF_K, dst, 0, 0, imm)
}
/// 32-bit ALU with an immediate operand.
pub const fn BPF_ALU32_IMM(op: u8, dst: u8, imm: i32) -> Insn {
    Insn::new(BPF_ALU | op | BPF_K, dst, 0, 0, imm)
}
/// 64-bit ALU with a register operand and an `off` selector (sdiv/smod: off 1).
pub const fn BPF_ALU64_REG_OFF(op: u8, dst: u8, src: u8, off: i16) -> Insn {
    Insn::new(BPF_ALU64 | op | BPF_X, dst, src, off, 0)
}
/// 64-bit ALU with an immediate and an `off` selector.
pub const fn BPF_ALU64_IMM_OFF(op: u8, dst: u8, imm: i32, off: i16) -> Insn {
    Insn::new(BPF_ALU64 | op | BPF_K, dst, 0, off, imm)
}
/// `dst = src` (64-bit).
pub const fn BPF_MOV64_REG(dst: u8, src: u8) -> Insn {
    BPF_ALU64_REG(BPF_MOV, dst, src)
}
/// `wdst = wsrc` (32-bit, zero-extends).
pub const fn BPF_MOV32_REG(dst: u8, src: u8) -> Insn {
    BPF_ALU32_REG(BPF_MOV, dst, src)
}
/// `dst = imm` (sign-extended to 64 bits).
pub const fn BPF_MOV64_IMM(dst: u8, imm: i32) -> Insn {
    BPF_ALU64_IMM(BPF_MOV, dst, imm)
}
/// `wdst = imm`.
pub const fn BPF_MOV32_IMM(dst: u8, imm: i32) -> Insn {
    BPF_ALU32_IMM(BPF_MOV, dst, imm)
}
/// `dst = (s8|s16|s32) src` (64-bit sign-extending move; `off` is 8, 16 or 32).
pub const fn BPF_MOVSX64_REG(dst: u8, src: u8, off: i16) -> Insn {
    Insn::new(BPF_ALU64 | BPF_MOV | BPF_X, dst, src, off, 0)
}
/// `wdst = (s8|s16) wsrc`.
pub const fn BPF_MOVSX32_REG(dst: u8, src: u8, off: i16) -> Insn {
    Insn::new(BPF_ALU | BPF_MOV | BPF_X, dst, src, off, 0)
}
/// Byte-order conversion (`ty` is `BPF_TO_LE` or `BPF_TO_BE`, `len` 16/32/64).
pub const fn BPF_ENDIAN(ty: u8, dst: u8, len: i32) -> Insn {
    Insn::new(BPF_ALU | BPF_END | ty, dst, 0, 0, len)
}
/// Unconditional byte swap (`len` 16/32/64).
pub const fn BPF_BSWAP(dst: u8, len: i32) -> Insn {
    Insn::new(BPF_ALU64 | BPF_END | BPF_TO_LE, dst, 0, 0, len)
}
/// `dst = *(size *)(src + off)`.
pub const fn BPF_LDX_MEM(size: u8, dst: u8, src: u8, off: i16) -> Insn {
    Insn::new(BPF_LDX | size | BPF_MEM, dst, src, off, 0)
}
/// `dst = *(s8|s16|s32 *)(src + off)`.
pub const fn BPF_LDX_MEMSX(size: u8, dst: u8, src: u8, off: i16) -> Insn {
    Insn::new(BPF_LDX | size | BPF_MEMSX, dst, src, off, 0)
}
/// `*(size *)(dst + off) = src`.
pub const fn BPF_STX_MEM(size: u8, dst: u8, src: u8, off: i16) -> Insn {
    Insn::new(BPF_STX | size | BPF_MEM, dst, src, off, 0)
}
/// `*(size *)(dst + off) = imm`.
pub const fn BPF_ST_MEM(size: u8, dst: u8, off: i16, imm: i32) -> Insn {
    Insn::new(BPF_ST | size | BPF_MEM, dst, 0, off, imm)
}
/// Atomic operation (`op` is the imm field: `BPF_ADD`, `BPF_AND | BPF_FETCH`, `BPF_XCHG`, ...).
pub const fn BPF_ATOMIC_OP(size: u8, op: u8, dst: u8, src: u8, off: i16) -> Insn {
    Insn::new(BPF_STX | size | BPF_ATOMIC, dst, src, off, op as i32)
}
/// `if dst op src goto pc+off` (64-bit compare).
pub const fn BPF_JMP_REG(op: u8, dst: u8, src: u8, off: i16) -> Insn {
    Insn::new(BPF_JMP | op | BPF_X, dst, src, off, 0)
}
/// `if dst op imm goto pc+off` (64-bit compare, imm sign-extended).
pub const fn BPF_JMP_IMM(op: u8, dst: u8, imm: i32, off: i16) -> Insn {
    Insn::new(BPF_JMP | op | BPF_K, dst, 0, off, imm)
}
/// `if wdst op wsrc goto pc+off` (32-bit compare).
pub const fn BPF_JMP32_REG(op: u8, dst: u8, src: u8, off: i16) -> Insn {
    Insn::new(BPF_JMP32 | op | BPF_X, dst, src, off, 0)
}
/// `if wdst op imm goto pc+off` (32-bit compare).
pub const fn BPF_JMP32_IMM(op: u8, dst: u8, imm: i32, off: i16) -> Insn {
    Insn::new(BPF_JMP32 | op | BPF_K, dst, 0, off, imm)
}
/// `goto pc+off`.
pub const fn BPF_JMP_A(off: i16) -> Insn {
    Insn::new(BPF_JMP | BPF_JA, 0, 0, off, 0)
}
/// `gotol pc+imm`.
pub const fn BPF_JMP32_A(imm: i32) -> Insn {
    Insn::new(BPF_JMP32 | BPF_JA, 0, 0, 0, imm)
}
/// Helper call by id (`BPF_EMIT_CALL` with the id as imm, before address fix-up).
pub const fn BPF_CALL_HELPER(id: i32) -> Insn {
    Insn::new(BPF_JMP | BPF_CALL, 0, BPF_HELPER_CALL, 0, id)
}
/// bpf-to-bpf call, `imm` relative to the next instruction.
pub const fn BPF_CALL_REL(imm: i32) -> Insn {
    Insn::new(BPF_JMP | BPF_CALL, 0, BPF_PSEUDO_CALL, 0, imm)
}
/// Kernel function call by BTF id.
pub const fn BPF_CALL_KFUNC(btf_id: i32) -> Insn {
    Insn::new(BPF_JMP | BPF_CALL, 0, BPF_PSEUDO_KFUNC_CALL, 0, btf_id)
}
/// `exit`.
pub const fn BPF_EXIT_INSN() -> Insn {
    Insn::new(BPF_JMP | BPF_EXIT, 0, 0, 0, 0)
}
/// `dst = imm64` over two slots.
pub const fn BPF_LD_IMM64(dst: u8, imm: u64) -> [Insn; 2] {
    BPF_LD_IMM64_RAW(dst, 0, imm)
}
/// `lddw` with a pseudo source kind.
pub const fn BPF_LD_IMM64_RAW(dst: u8, src: u8, imm: u64) -> [Insn; 2] {
    [
        Insn::new(LD_IMM64, dst, src, 0, imm as u32 as i32),
        Insn::new(0, 0, 0, 0, (imm >> 32) as u32 as i32),
    ]
}
/// `dst = map fd` (pseudo map fd load).
pub const fn BPF_LD_MAP_FD(dst: u8, fd: i32) -> [Insn; 2] {
    BPF_LD_IMM64_RAW(dst, BPF_PSEUDO_MAP_FD, fd as u32 as u64)
}
