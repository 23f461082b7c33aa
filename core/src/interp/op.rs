//! The interpreter's internal form: one enum variant per operation with its fields unpacked,
//! so execution is a single dense `match` whose arms load only what they use. Generated from
//! the structured [`Instr`] form; the variant names say operation, width and operand kind
//! (`Add64I` = 64-bit add of an immediate, `JLt32R` = 32-bit `<` against a register).

use crate::isa::{AluOp, AtomicOp, EndKind, Instr, JmpCond, Operand, Size};

/// One lowered instruction slot.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[allow(missing_docs)]
pub(crate) enum Op {
    Add64I {
        d: u8,
        imm: u64,
    },
    Add64R {
        d: u8,
        s: u8,
    },
    Sub64I {
        d: u8,
        imm: u64,
    },
    Sub64R {
        d: u8,
        s: u8,
    },
    Mul64I {
        d: u8,
        imm: u64,
    },
    Mul64R {
        d: u8,
        s: u8,
    },
    Div64I {
        d: u8,
        imm: u64,
    },
    Div64R {
        d: u8,
        s: u8,
    },
    SDiv64I {
        d: u8,
        imm: u64,
    },
    SDiv64R {
        d: u8,
        s: u8,
    },
    Or64I {
        d: u8,
        imm: u64,
    },
    Or64R {
        d: u8,
        s: u8,
    },
    And64I {
        d: u8,
        imm: u64,
    },
    And64R {
        d: u8,
        s: u8,
    },
    Lsh64I {
        d: u8,
        imm: u64,
    },
    Lsh64R {
        d: u8,
        s: u8,
    },
    Rsh64I {
        d: u8,
        imm: u64,
    },
    Rsh64R {
        d: u8,
        s: u8,
    },
    Mod64I {
        d: u8,
        imm: u64,
    },
    Mod64R {
        d: u8,
        s: u8,
    },
    SMod64I {
        d: u8,
        imm: u64,
    },
    SMod64R {
        d: u8,
        s: u8,
    },
    Xor64I {
        d: u8,
        imm: u64,
    },
    Xor64R {
        d: u8,
        s: u8,
    },
    Mov64I {
        d: u8,
        imm: u64,
    },
    Mov64R {
        d: u8,
        s: u8,
    },
    Arsh64I {
        d: u8,
        imm: u64,
    },
    Arsh64R {
        d: u8,
        s: u8,
    },
    Add32I {
        d: u8,
        imm: u64,
    },
    Add32R {
        d: u8,
        s: u8,
    },
    Sub32I {
        d: u8,
        imm: u64,
    },
    Sub32R {
        d: u8,
        s: u8,
    },
    Mul32I {
        d: u8,
        imm: u64,
    },
    Mul32R {
        d: u8,
        s: u8,
    },
    Div32I {
        d: u8,
        imm: u64,
    },
    Div32R {
        d: u8,
        s: u8,
    },
    SDiv32I {
        d: u8,
        imm: u64,
    },
    SDiv32R {
        d: u8,
        s: u8,
    },
    Or32I {
        d: u8,
        imm: u64,
    },
    Or32R {
        d: u8,
        s: u8,
    },
    And32I {
        d: u8,
        imm: u64,
    },
    And32R {
        d: u8,
        s: u8,
    },
    Lsh32I {
        d: u8,
        imm: u64,
    },
    Lsh32R {
        d: u8,
        s: u8,
    },
    Rsh32I {
        d: u8,
        imm: u64,
    },
    Rsh32R {
        d: u8,
        s: u8,
    },
    Mod32I {
        d: u8,
        imm: u64,
    },
    Mod32R {
        d: u8,
        s: u8,
    },
    SMod32I {
        d: u8,
        imm: u64,
    },
    SMod32R {
        d: u8,
        s: u8,
    },
    Xor32I {
        d: u8,
        imm: u64,
    },
    Xor32R {
        d: u8,
        s: u8,
    },
    Mov32I {
        d: u8,
        imm: u64,
    },
    Mov32R {
        d: u8,
        s: u8,
    },
    Arsh32I {
        d: u8,
        imm: u64,
    },
    Arsh32R {
        d: u8,
        s: u8,
    },
    JEq64I {
        d: u8,
        imm: u64,
        t: u32,
    },
    JEq64R {
        d: u8,
        s: u8,
        t: u32,
    },
    JEq32I {
        d: u8,
        imm: u64,
        t: u32,
    },
    JEq32R {
        d: u8,
        s: u8,
        t: u32,
    },
    JGt64I {
        d: u8,
        imm: u64,
        t: u32,
    },
    JGt64R {
        d: u8,
        s: u8,
        t: u32,
    },
    JGt32I {
        d: u8,
        imm: u64,
        t: u32,
    },
    JGt32R {
        d: u8,
        s: u8,
        t: u32,
    },
    JGe64I {
        d: u8,
        imm: u64,
        t: u32,
    },
    JGe64R {
        d: u8,
        s: u8,
        t: u32,
    },
    JGe32I {
        d: u8,
        imm: u64,
        t: u32,
    },
    JGe32R {
        d: u8,
        s: u8,
        t: u32,
    },
    JSet64I {
        d: u8,
        imm: u64,
        t: u32,
    },
    JSet64R {
        d: u8,
        s: u8,
        t: u32,
    },
    JSet32I {
        d: u8,
        imm: u64,
        t: u32,
    },
    JSet32R {
        d: u8,
        s: u8,
        t: u32,
    },
    JNe64I {
        d: u8,
        imm: u64,
        t: u32,
    },
    JNe64R {
        d: u8,
        s: u8,
        t: u32,
    },
    JNe32I {
        d: u8,
        imm: u64,
        t: u32,
    },
    JNe32R {
        d: u8,
        s: u8,
        t: u32,
    },
    JSgt64I {
        d: u8,
        imm: u64,
        t: u32,
    },
    JSgt64R {
        d: u8,
        s: u8,
        t: u32,
    },
    JSgt32I {
        d: u8,
        imm: u64,
        t: u32,
    },
    JSgt32R {
        d: u8,
        s: u8,
        t: u32,
    },
    JSge64I {
        d: u8,
        imm: u64,
        t: u32,
    },
    JSge64R {
        d: u8,
        s: u8,
        t: u32,
    },
    JSge32I {
        d: u8,
        imm: u64,
        t: u32,
    },
    JSge32R {
        d: u8,
        s: u8,
        t: u32,
    },
    JLt64I {
        d: u8,
        imm: u64,
        t: u32,
    },
    JLt64R {
        d: u8,
        s: u8,
        t: u32,
    },
    JLt32I {
        d: u8,
        imm: u64,
        t: u32,
    },
    JLt32R {
        d: u8,
        s: u8,
        t: u32,
    },
    JLe64I {
        d: u8,
        imm: u64,
        t: u32,
    },
    JLe64R {
        d: u8,
        s: u8,
        t: u32,
    },
    JLe32I {
        d: u8,
        imm: u64,
        t: u32,
    },
    JLe32R {
        d: u8,
        s: u8,
        t: u32,
    },
    JSlt64I {
        d: u8,
        imm: u64,
        t: u32,
    },
    JSlt64R {
        d: u8,
        s: u8,
        t: u32,
    },
    JSlt32I {
        d: u8,
        imm: u64,
        t: u32,
    },
    JSlt32R {
        d: u8,
        s: u8,
        t: u32,
    },
    JSle64I {
        d: u8,
        imm: u64,
        t: u32,
    },
    JSle64R {
        d: u8,
        s: u8,
        t: u32,
    },
    JSle32I {
        d: u8,
        imm: u64,
        t: u32,
    },
    JSle32R {
        d: u8,
        s: u8,
        t: u32,
    },
    MovSx64 {
        d: u8,
        s: u8,
        bits: u8,
    },
    MovSx32 {
        d: u8,
        s: u8,
        bits: u8,
    },
    Neg64 {
        d: u8,
    },
    Neg32 {
        d: u8,
    },
    Le {
        d: u8,
        bits: u8,
    },
    Swap {
        d: u8,
        bits: u8,
    },
    Ja {
        t: u32,
    },
    CallHelper {
        id: i32,
    },
    CallKfunc {
        id: i32,
    },
    CallLocal {
        t: u32,
    },
    Callx {
        d: u8,
    },
    Exit,
    Lddw {
        d: u8,
        imm: u64,
    },
    /// The second slot of a `lddw`: never executed (prepare rejects jumps to it).
    LddwTail,
    Ldx {
        d: u8,
        s: u8,
        off: i16,
        size: u8,
    },
    Ldxs {
        d: u8,
        s: u8,
        off: i16,
        size: u8,
    },
    St {
        d: u8,
        off: i16,
        size: u8,
        imm: u64,
    },
    Stx {
        d: u8,
        s: u8,
        off: i16,
        size: u8,
    },
    Atomic {
        d: u8,
        s: u8,
        off: i16,
        size: u8,
        op: AtomicOp,
        fetch: bool,
    },
    LdPkt {
        s: Option<u8>,
        size: u8,
        imm: u64,
    },
}

/// Lowers a decoded instruction; `target` is the resolved absolute slot for jumps and calls,
/// `func_addr` the address a `lddw` of a function loads.
pub(crate) fn lower(instr: &Instr, target: u32, func_addr: u64) -> Op {
    let t = target;
    match *instr {
        Instr::Alu { wide, op, dst, src } => lower_alu(wide, op, dst, src),
        Instr::End { kind, bits, dst } => match kind {
            EndKind::Le => Op::Le { d: dst, bits },
            EndKind::Be | EndKind::Swap => Op::Swap { d: dst, bits },
        },
        Instr::Ja { .. } | Instr::Gotol { .. } => Op::Ja { t },
        Instr::Jmp {
            wide, cond, dst, src, ..
        } => lower_jmp(wide, cond, dst, src, t),
        Instr::CallHelper(id) => Op::CallHelper { id },
        Instr::CallKfunc(id) => Op::CallKfunc { id },
        Instr::CallLocal(_) => Op::CallLocal { t },
        Instr::Callx(d) => Op::Callx { d },
        Instr::Exit => Op::Exit,
        Instr::LdImm64 { dst, kind, imm, imm2 } => Op::Lddw {
            d: dst,
            imm: if kind == crate::isa::Imm64Kind::Func {
                func_addr
            } else {
                Instr::imm64(imm, imm2)
            },
        },
        Instr::Ldx {
            size,
            sx,
            dst,
            src,
            off,
        } => {
            if sx {
                Op::Ldxs {
                    d: dst,
                    s: src,
                    off,
                    size: size.bytes(),
                }
            } else {
                Op::Ldx {
                    d: dst,
                    s: src,
                    off,
                    size: size.bytes(),
                }
            }
        }
        Instr::St { size, dst, off, imm } => Op::St {
            d: dst,
            off,
            size: size.bytes(),
            imm: imm as i64 as u64,
        },
        Instr::Stx { size, dst, src, off } => Op::Stx {
            d: dst,
            s: src,
            off,
            size: size.bytes(),
        },
        Instr::Atomic {
            size,
            op,
            fetch,
            dst,
            src,
            off,
        } => Op::Atomic {
            d: dst,
            s: src,
            off,
            size: size.bytes(),
            op,
            fetch,
        },
        Instr::LdAbs { size, imm } => Op::LdPkt {
            s: None,
            size: size.bytes(),
            imm: imm as i64 as u64,
        },
        Instr::LdInd { size, src, imm } => Op::LdPkt {
            s: Some(src),
            size: size.bytes(),
            imm: imm as i64 as u64,
        },
    }
}

fn lower_alu(wide: bool, op: AluOp, dst: u8, src: Operand) -> Op {
    match (op, wide, src) {
        (AluOp::Neg, true, _) => Op::Neg64 { d: dst },
        (AluOp::Neg, false, _) => Op::Neg32 { d: dst },
        (AluOp::MovSx(sz), true, Operand::Reg(s)) => Op::MovSx64 {
            d: dst,
            s,
            bits: size_bits(sz),
        },
        (AluOp::MovSx(sz), false, Operand::Reg(s)) => Op::MovSx32 {
            d: dst,
            s,
            bits: size_bits(sz),
        },
        (AluOp::MovSx(_), _, Operand::Imm(_)) => unreachable!("movsx has no immediate form (rejected by decode)"),
        (AluOp::Add, true, Operand::Imm(imm)) => Op::Add64I {
            d: dst,
            imm: imm as i64 as u64,
        },
        (AluOp::Add, true, Operand::Reg(s)) => Op::Add64R { d: dst, s },
        (AluOp::Sub, true, Operand::Imm(imm)) => Op::Sub64I {
            d: dst,
            imm: imm as i64 as u64,
        },
        (AluOp::Sub, true, Operand::Reg(s)) => Op::Sub64R { d: dst, s },
        (AluOp::Mul, true, Operand::Imm(imm)) => Op::Mul64I {
            d: dst,
            imm: imm as i64 as u64,
        },
        (AluOp::Mul, true, Operand::Reg(s)) => Op::Mul64R { d: dst, s },
        (AluOp::Div, true, Operand::Imm(imm)) => Op::Div64I {
            d: dst,
            imm: imm as i64 as u64,
        },
        (AluOp::Div, true, Operand::Reg(s)) => Op::Div64R { d: dst, s },
        (AluOp::SDiv, true, Operand::Imm(imm)) => Op::SDiv64I {
            d: dst,
            imm: imm as i64 as u64,
        },
        (AluOp::SDiv, true, Operand::Reg(s)) => Op::SDiv64R { d: dst, s },
        (AluOp::Or, true, Operand::Imm(imm)) => Op::Or64I {
            d: dst,
            imm: imm as i64 as u64,
        },
        (AluOp::Or, true, Operand::Reg(s)) => Op::Or64R { d: dst, s },
        (AluOp::And, true, Operand::Imm(imm)) => Op::And64I {
            d: dst,
            imm: imm as i64 as u64,
        },
        (AluOp::And, true, Operand::Reg(s)) => Op::And64R { d: dst, s },
        (AluOp::Lsh, true, Operand::Imm(imm)) => Op::Lsh64I {
            d: dst,
            imm: imm as i64 as u64,
        },
        (AluOp::Lsh, true, Operand::Reg(s)) => Op::Lsh64R { d: dst, s },
        (AluOp::Rsh, true, Operand::Imm(imm)) => Op::Rsh64I {
            d: dst,
            imm: imm as i64 as u64,
        },
        (AluOp::Rsh, true, Operand::Reg(s)) => Op::Rsh64R { d: dst, s },
        (AluOp::Mod, true, Operand::Imm(imm)) => Op::Mod64I {
            d: dst,
            imm: imm as i64 as u64,
        },
        (AluOp::Mod, true, Operand::Reg(s)) => Op::Mod64R { d: dst, s },
        (AluOp::SMod, true, Operand::Imm(imm)) => Op::SMod64I {
            d: dst,
            imm: imm as i64 as u64,
        },
        (AluOp::SMod, true, Operand::Reg(s)) => Op::SMod64R { d: dst, s },
        (AluOp::Xor, true, Operand::Imm(imm)) => Op::Xor64I {
            d: dst,
            imm: imm as i64 as u64,
        },
        (AluOp::Xor, true, Operand::Reg(s)) => Op::Xor64R { d: dst, s },
        (AluOp::Mov, true, Operand::Imm(imm)) => Op::Mov64I {
            d: dst,
            imm: imm as i64 as u64,
        },
        (AluOp::Mov, true, Operand::Reg(s)) => Op::Mov64R { d: dst, s },
        (AluOp::Arsh, true, Operand::Imm(imm)) => Op::Arsh64I {
            d: dst,
            imm: imm as i64 as u64,
        },
        (AluOp::Arsh, true, Operand::Reg(s)) => Op::Arsh64R { d: dst, s },
        (AluOp::Add, false, Operand::Imm(imm)) => Op::Add32I {
            d: dst,
            imm: imm as i64 as u64,
        },
        (AluOp::Add, false, Operand::Reg(s)) => Op::Add32R { d: dst, s },
        (AluOp::Sub, false, Operand::Imm(imm)) => Op::Sub32I {
            d: dst,
            imm: imm as i64 as u64,
        },
        (AluOp::Sub, false, Operand::Reg(s)) => Op::Sub32R { d: dst, s },
        (AluOp::Mul, false, Operand::Imm(imm)) => Op::Mul32I {
            d: dst,
            imm: imm as i64 as u64,
        },
        (AluOp::Mul, false, Operand::Reg(s)) => Op::Mul32R { d: dst, s },
        (AluOp::Div, false, Operand::Imm(imm)) => Op::Div32I {
            d: dst,
            imm: imm as i64 as u64,
        },
        (AluOp::Div, false, Operand::Reg(s)) => Op::Div32R { d: dst, s },
        (AluOp::SDiv, false, Operand::Imm(imm)) => Op::SDiv32I {
            d: dst,
            imm: imm as i64 as u64,
        },
        (AluOp::SDiv, false, Operand::Reg(s)) => Op::SDiv32R { d: dst, s },
        (AluOp::Or, false, Operand::Imm(imm)) => Op::Or32I {
            d: dst,
            imm: imm as i64 as u64,
        },
        (AluOp::Or, false, Operand::Reg(s)) => Op::Or32R { d: dst, s },
        (AluOp::And, false, Operand::Imm(imm)) => Op::And32I {
            d: dst,
            imm: imm as i64 as u64,
        },
        (AluOp::And, false, Operand::Reg(s)) => Op::And32R { d: dst, s },
        (AluOp::Lsh, false, Operand::Imm(imm)) => Op::Lsh32I {
            d: dst,
            imm: imm as i64 as u64,
        },
        (AluOp::Lsh, false, Operand::Reg(s)) => Op::Lsh32R { d: dst, s },
        (AluOp::Rsh, false, Operand::Imm(imm)) => Op::Rsh32I {
            d: dst,
            imm: imm as i64 as u64,
        },
        (AluOp::Rsh, false, Operand::Reg(s)) => Op::Rsh32R { d: dst, s },
        (AluOp::Mod, false, Operand::Imm(imm)) => Op::Mod32I {
            d: dst,
            imm: imm as i64 as u64,
        },
        (AluOp::Mod, false, Operand::Reg(s)) => Op::Mod32R { d: dst, s },
        (AluOp::SMod, false, Operand::Imm(imm)) => Op::SMod32I {
            d: dst,
            imm: imm as i64 as u64,
        },
        (AluOp::SMod, false, Operand::Reg(s)) => Op::SMod32R { d: dst, s },
        (AluOp::Xor, false, Operand::Imm(imm)) => Op::Xor32I {
            d: dst,
            imm: imm as i64 as u64,
        },
        (AluOp::Xor, false, Operand::Reg(s)) => Op::Xor32R { d: dst, s },
        (AluOp::Mov, false, Operand::Imm(imm)) => Op::Mov32I {
            d: dst,
            imm: imm as i64 as u64,
        },
        (AluOp::Mov, false, Operand::Reg(s)) => Op::Mov32R { d: dst, s },
        (AluOp::Arsh, false, Operand::Imm(imm)) => Op::Arsh32I {
            d: dst,
            imm: imm as i64 as u64,
        },
        (AluOp::Arsh, false, Operand::Reg(s)) => Op::Arsh32R { d: dst, s },
    }
}

fn size_bits(s: Size) -> u8 {
    s.bits() as u8
}

fn lower_jmp(wide: bool, cond: JmpCond, dst: u8, src: Operand, t: u32) -> Op {
    match (cond, wide, src) {
        (JmpCond::Eq, true, Operand::Imm(imm)) => Op::JEq64I {
            d: dst,
            imm: imm as i64 as u64,
            t,
        },
        (JmpCond::Eq, true, Operand::Reg(s)) => Op::JEq64R { d: dst, s, t },
        (JmpCond::Eq, false, Operand::Imm(imm)) => Op::JEq32I {
            d: dst,
            imm: imm as i64 as u64,
            t,
        },
        (JmpCond::Eq, false, Operand::Reg(s)) => Op::JEq32R { d: dst, s, t },
        (JmpCond::Gt, true, Operand::Imm(imm)) => Op::JGt64I {
            d: dst,
            imm: imm as i64 as u64,
            t,
        },
        (JmpCond::Gt, true, Operand::Reg(s)) => Op::JGt64R { d: dst, s, t },
        (JmpCond::Gt, false, Operand::Imm(imm)) => Op::JGt32I {
            d: dst,
            imm: imm as i64 as u64,
            t,
        },
        (JmpCond::Gt, false, Operand::Reg(s)) => Op::JGt32R { d: dst, s, t },
        (JmpCond::Ge, true, Operand::Imm(imm)) => Op::JGe64I {
            d: dst,
            imm: imm as i64 as u64,
            t,
        },
        (JmpCond::Ge, true, Operand::Reg(s)) => Op::JGe64R { d: dst, s, t },
        (JmpCond::Ge, false, Operand::Imm(imm)) => Op::JGe32I {
            d: dst,
            imm: imm as i64 as u64,
            t,
        },
        (JmpCond::Ge, false, Operand::Reg(s)) => Op::JGe32R { d: dst, s, t },
        (JmpCond::Set, true, Operand::Imm(imm)) => Op::JSet64I {
            d: dst,
            imm: imm as i64 as u64,
            t,
        },
        (JmpCond::Set, true, Operand::Reg(s)) => Op::JSet64R { d: dst, s, t },
        (JmpCond::Set, false, Operand::Imm(imm)) => Op::JSet32I {
            d: dst,
            imm: imm as i64 as u64,
            t,
        },
        (JmpCond::Set, false, Operand::Reg(s)) => Op::JSet32R { d: dst, s, t },
        (JmpCond::Ne, true, Operand::Imm(imm)) => Op::JNe64I {
            d: dst,
            imm: imm as i64 as u64,
            t,
        },
        (JmpCond::Ne, true, Operand::Reg(s)) => Op::JNe64R { d: dst, s, t },
        (JmpCond::Ne, false, Operand::Imm(imm)) => Op::JNe32I {
            d: dst,
            imm: imm as i64 as u64,
            t,
        },
        (JmpCond::Ne, false, Operand::Reg(s)) => Op::JNe32R { d: dst, s, t },
        (JmpCond::Sgt, true, Operand::Imm(imm)) => Op::JSgt64I {
            d: dst,
            imm: imm as i64 as u64,
            t,
        },
        (JmpCond::Sgt, true, Operand::Reg(s)) => Op::JSgt64R { d: dst, s, t },
        (JmpCond::Sgt, false, Operand::Imm(imm)) => Op::JSgt32I {
            d: dst,
            imm: imm as i64 as u64,
            t,
        },
        (JmpCond::Sgt, false, Operand::Reg(s)) => Op::JSgt32R { d: dst, s, t },
        (JmpCond::Sge, true, Operand::Imm(imm)) => Op::JSge64I {
            d: dst,
            imm: imm as i64 as u64,
            t,
        },
        (JmpCond::Sge, true, Operand::Reg(s)) => Op::JSge64R { d: dst, s, t },
        (JmpCond::Sge, false, Operand::Imm(imm)) => Op::JSge32I {
            d: dst,
            imm: imm as i64 as u64,
            t,
        },
        (JmpCond::Sge, false, Operand::Reg(s)) => Op::JSge32R { d: dst, s, t },
        (JmpCond::Lt, true, Operand::Imm(imm)) => Op::JLt64I {
            d: dst,
            imm: imm as i64 as u64,
            t,
        },
        (JmpCond::Lt, true, Operand::Reg(s)) => Op::JLt64R { d: dst, s, t },
        (JmpCond::Lt, false, Operand::Imm(imm)) => Op::JLt32I {
            d: dst,
            imm: imm as i64 as u64,
            t,
        },
        (JmpCond::Lt, false, Operand::Reg(s)) => Op::JLt32R { d: dst, s, t },
        (JmpCond::Le, true, Operand::Imm(imm)) => Op::JLe64I {
            d: dst,
            imm: imm as i64 as u64,
            t,
        },
        (JmpCond::Le, true, Operand::Reg(s)) => Op::JLe64R { d: dst, s, t },
        (JmpCond::Le, false, Operand::Imm(imm)) => Op::JLe32I {
            d: dst,
            imm: imm as i64 as u64,
            t,
        },
        (JmpCond::Le, false, Operand::Reg(s)) => Op::JLe32R { d: dst, s, t },
        (JmpCond::Slt, true, Operand::Imm(imm)) => Op::JSlt64I {
            d: dst,
            imm: imm as i64 as u64,
            t,
        },
        (JmpCond::Slt, true, Operand::Reg(s)) => Op::JSlt64R { d: dst, s, t },
        (JmpCond::Slt, false, Operand::Imm(imm)) => Op::JSlt32I {
            d: dst,
            imm: imm as i64 as u64,
            t,
        },
        (JmpCond::Slt, false, Operand::Reg(s)) => Op::JSlt32R { d: dst, s, t },
        (JmpCond::Sle, true, Operand::Imm(imm)) => Op::JSle64I {
            d: dst,
            imm: imm as i64 as u64,
            t,
        },
        (JmpCond::Sle, true, Operand::Reg(s)) => Op::JSle64R { d: dst, s, t },
        (JmpCond::Sle, false, Operand::Imm(imm)) => Op::JSle32I {
            d: dst,
            imm: imm as i64 as u64,
            t,
        },
        (JmpCond::Sle, false, Operand::Reg(s)) => Op::JSle32R { d: dst, s, t },
    }
}
