//! The verifier's rewrites the JIT relies on: `do_misc_fixups()`'s division and modulo
//! sequences, which make the JIT's `div`/`idiv` unable to fault, and the zero extension after a
//! 32-bit `cmpxchg` (x86's `cmpxchg` leaves rax's upper half alone when it succeeds).
//!
//! Division: by a register, a zero divisor gives 0 for `/` and leaves the dividend for
//! `%`; signed `s/` and `s%` by -1 become `neg` and 0 (`LLONG_MIN s/ -1` stays `LLONG_MIN`),
//! using `BPF_REG_AX` for the check. The sequences are the ones the captured xlated programs
//! show (`kernel-oracle/jit/jit_alu.xlated.txt`: slots 16-21, 26-29 and 37-44).
//!
//! A division or modulo by the immediate 0 is refused, as the verifier refuses it.
//!
//! The zero extension (`w0 = w0`) follows every 32-bit `cmpxchg`: the kernel inserts it where
//! r0's upper half is read afterwards (`opt_subreg_zext_lo32_rnd_hi32()`), which the model does
//! not track; chosen: always. The kernel marks it with imm 1 (`BPF_ZEXT_REG`); here it is the
//! plain `w0 = w0`, the same instruction to the JIT.

use super::patch::{PatchError, Patcher};
use crate::isa::opcode::*;
use crate::isa::{decode_program_internal, AluOp, DecodeError, Insn, Instr, Operand};
use thiserror::Error;

/// Why the rewrites cannot be applied.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum MiscFixError {
    /// The slots are not a program.
    #[error("{0}")]
    Decode(DecodeError),
    /// Division or modulo by the immediate 0 (the verifier: "div by zero", EINVAL).
    #[error("insn {index}: div by zero (EINVAL)")]
    DivByZero {
        /// The instruction.
        index: usize,
    },
    /// A rewrite would overflow a jump.
    #[error("{0}")]
    Patch(PatchError),
}

const JA1: Insn = Insn::new(BPF_JMP | BPF_JA, 0, 0, 1, 0);

fn classes(wide: bool) -> (u8, u8) {
    if wide {
        (BPF_ALU64, BPF_JMP)
    } else {
        (BPF_ALU, BPF_JMP32)
    }
}

/// The sequence that replaces one division or modulo by a register (`orig`).
fn by_register(orig: Insn, wide: bool, op: AluOp, dst: u8, src: u8) -> Vec<Insn> {
    let (alu, jmp) = classes(wide);
    let ax = BPF_REG_AX;
    let mov32_self = Insn::new(BPF_ALU | BPF_MOV | BPF_X, dst, dst, 0, 0);
    match op {
        AluOp::Div => vec![
            Insn::new(jmp | BPF_JNE | BPF_K, src, 0, 2, 0),
            Insn::new(BPF_ALU | BPF_XOR | BPF_X, dst, dst, 0, 0),
            JA1,
            orig,
        ],
        AluOp::Mod => {
            let mut v = vec![Insn::new(jmp | BPF_JEQ | BPF_K, src, 0, 1 + (!wide) as i16, 0), orig];
            if !wide {
                v.extend([JA1, mov32_self]);
            }
            v
        }
        AluOp::SDiv => vec![
            Insn::new(BPF_ALU64 | BPF_MOV | BPF_X, ax, src, 0, 0),
            Insn::new(alu | BPF_ADD | BPF_K, ax, 0, 0, 1),
            Insn::new(jmp | BPF_JGT | BPF_K, ax, 0, 4, 1),
            Insn::new(jmp | BPF_JEQ | BPF_K, ax, 0, 1, 0),
            Insn::new(alu | BPF_MOV | BPF_K, dst, 0, 0, 0),
            Insn::new(alu | BPF_NEG | BPF_K, dst, 0, 0, 0),
            JA1,
            orig,
        ],
        _ => {
            let mut v = vec![
                Insn::new(BPF_ALU64 | BPF_MOV | BPF_X, ax, src, 0, 0),
                Insn::new(alu | BPF_ADD | BPF_K, ax, 0, 0, 1),
                Insn::new(jmp | BPF_JGT | BPF_K, ax, 0, 3, 1),
                Insn::new(jmp | BPF_JEQ | BPF_K, ax, 0, 3 + (!wide) as i16, 1),
                Insn::new(BPF_ALU | BPF_MOV | BPF_K, dst, 0, 0, 0),
                JA1,
                orig,
            ];
            if !wide {
                v.extend([JA1, mov32_self]);
            }
            v
        }
    }
}

/// Applies the rewrites; the result is what the JIT compiles.
pub fn misc_fixups(insns: &[Insn]) -> Result<Vec<Insn>, MiscFixError> {
    let decoded = decode_program_internal(insns).map_err(MiscFixError::Decode)?;
    let mut p = Patcher::new(insns);
    for (orig, instr) in decoded {
        let seq = match instr {
            Instr::Atomic {
                size: crate::isa::Size::W,
                op: crate::isa::AtomicOp::Cmpxchg,
                ..
            } => vec![
                insns[orig],
                Insn::new(BPF_ALU | BPF_MOV | BPF_X, BPF_REG_0, BPF_REG_0, 0, 0),
            ],
            Instr::Alu { wide, op, dst, src } => match (op, src) {
                (AluOp::Div | AluOp::Mod | AluOp::SDiv | AluOp::SMod, Operand::Imm(0)) => {
                    return Err(MiscFixError::DivByZero { index: orig })
                }
                (AluOp::SDiv, Operand::Imm(-1)) => {
                    vec![Insn::new(classes(wide).0 | BPF_NEG | BPF_K, dst, 0, 0, 0)]
                }
                (AluOp::SMod, Operand::Imm(-1)) => vec![Insn::new(BPF_ALU | BPF_MOV | BPF_K, dst, 0, 0, 0)],
                (AluOp::Div | AluOp::Mod | AluOp::SDiv | AluOp::SMod, Operand::Reg(s)) => {
                    by_register(insns[orig], wide, op, dst, s)
                }
                _ => continue,
            },
            _ => continue,
        };
        let pos = p.range_of(orig).map(|r| r.start).unwrap_or(orig);
        p.patch(pos, &seq).map_err(MiscFixError::Patch)?;
    }
    Ok(p.finish().0)
}
