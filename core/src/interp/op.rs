//! The interpreter's internal form: one enum variant per operation with its fields unpacked,
//! so execution is a single dense `match` whose arms load only what they use. The variant
//! names say operation, width and operand kind (`Add64I` = 64-bit add of an immediate,
//! `JLt32R` = 32-bit `<` against a register).
//!
//! The binary ALU operations and the conditional jumps are one table, [`binary_ops!`]: each
//! row names the immediate-form and register-form variants, the [`Instr`] operation and width
//! they lower from, the operand type, and the operation as an expression over the destination
//! value `a` and the source value `b`. The [`Op`] enum, its lowering and the execution arms
//! (`exec.rs`) are all expanded from that one table, so a row cannot be added to one and
//! forgotten in another.

use crate::isa::{AluOp, AtomicOp, EndKind, Instr, JmpCond, Operand, Size};

/// The table of binary ALU operations and conditional jumps; expands to `$callback! { alu:
/// [rows] jmp: [rows] $extra }`. A row is `Operation: Imm64 Reg64, Imm32 Reg32 = |a, b|
/// expression`: the `Instr` operation, the variants of its 64-bit and 32-bit forms, and the
/// operation over the destination value `a` and the source value `b`, both `u64` for the
/// 64-bit forms and `u32` for the 32-bit ones (the expression is expanded for each). For ALU
/// rows the expression is the new destination value (zero-extended to 64 bits), for jump rows
/// whether the branch is taken. Division by zero gives 0 and modulo by zero keeps the
/// dividend, as the ISA defines (signed `MIN / -1` wraps); `wrapping_shl`/`wrapping_shr` mask
/// the shift count to the width, as the ISA does.
macro_rules! binary_ops {
    ($callback:ident ! { $($extra:tt)* }) => {
        $callback! {
            alu: [
                Add: Add64I Add64R, Add32I Add32R = |a, b| a.wrapping_add(b);
                Sub: Sub64I Sub64R, Sub32I Sub32R = |a, b| a.wrapping_sub(b);
                Mul: Mul64I Mul64R, Mul32I Mul32R = |a, b| a.wrapping_mul(b);
                Div: Div64I Div64R, Div32I Div32R = |a, b| a.checked_div(b).unwrap_or(0);
                SDiv: SDiv64I SDiv64R, SDiv32I SDiv32R =
                    |a, b| if b == 0 { 0 } else { a.cast_signed().wrapping_div(b.cast_signed()).cast_unsigned() };
                Or: Or64I Or64R, Or32I Or32R = |a, b| a | b;
                And: And64I And64R, And32I And32R = |a, b| a & b;
                Lsh: Lsh64I Lsh64R, Lsh32I Lsh32R = |a, b| a.wrapping_shl(b as u32);
                Rsh: Rsh64I Rsh64R, Rsh32I Rsh32R = |a, b| a.wrapping_shr(b as u32);
                Mod: Mod64I Mod64R, Mod32I Mod32R = |a, b| a.checked_rem(b).unwrap_or(a);
                SMod: SMod64I SMod64R, SMod32I SMod32R =
                    |a, b| if b == 0 { a } else { a.cast_signed().wrapping_rem(b.cast_signed()).cast_unsigned() };
                Xor: Xor64I Xor64R, Xor32I Xor32R = |a, b| a ^ b;
                Mov: Mov64I Mov64R, Mov32I Mov32R = |_a, b| b;
                Arsh: Arsh64I Arsh64R, Arsh32I Arsh32R = |a, b| a.cast_signed().wrapping_shr(b as u32).cast_unsigned();
            ]
            jmp: [
                Eq: JEq64I JEq64R, JEq32I JEq32R = |a, b| a == b;
                Ne: JNe64I JNe64R, JNe32I JNe32R = |a, b| a != b;
                Set: JSet64I JSet64R, JSet32I JSet32R = |a, b| a & b != 0;
                Gt: JGt64I JGt64R, JGt32I JGt32R = |a, b| a > b;
                Ge: JGe64I JGe64R, JGe32I JGe32R = |a, b| a >= b;
                Lt: JLt64I JLt64R, JLt32I JLt32R = |a, b| a < b;
                Le: JLe64I JLe64R, JLe32I JLe32R = |a, b| a <= b;
                Sgt: JSgt64I JSgt64R, JSgt32I JSgt32R = |a, b| a.cast_signed() > b.cast_signed();
                Sge: JSge64I JSge64R, JSge32I JSge32R = |a, b| a.cast_signed() >= b.cast_signed();
                Slt: JSlt64I JSlt64R, JSlt32I JSlt32R = |a, b| a.cast_signed() < b.cast_signed();
                Sle: JSle64I JSle64R, JSle32I JSle32R = |a, b| a.cast_signed() <= b.cast_signed();
            ]
            $($extra)*
        }
    };
}
pub(crate) use binary_ops;

/// Expands the table into the [`Op`] enum (the table's variants, then the hand-written ones)
/// and the lowering of ALU and jump instructions.
macro_rules! define_op {
    (
        alu: [$($aop:ident: $ai:ident $ar:ident, $ai32:ident $ar32:ident = |$a:ident, $b:ident| $ae:expr;)*]
        jmp: [$($jop:ident: $ji:ident $jr:ident, $ji32:ident $jr32:ident = |$x:ident, $y:ident| $je:expr;)*]
    ) => {
        /// One lowered instruction slot.
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        #[allow(missing_docs)]
        pub(crate) enum Op {
            $(
                $ai { d: u8, imm: u64 },
                $ar { d: u8, s: u8 },
                $ai32 { d: u8, imm: u64 },
                $ar32 { d: u8, s: u8 },
            )*
            $(
                $ji { d: u8, imm: u64, t: u32 },
                $jr { d: u8, s: u8, t: u32 },
                $ji32 { d: u8, imm: u64, t: u32 },
                $jr32 { d: u8, s: u8, t: u32 },
            )*
            MovSx64 { d: u8, s: u8, bits: u8 },
            MovSx32 { d: u8, s: u8, bits: u8 },
            Neg64 { d: u8 },
            Neg32 { d: u8 },
            Le { d: u8, bits: u8 },
            Swap { d: u8, bits: u8 },
            Ja { t: u32 },
            CallHelper { id: i32 },
            CallKfunc { id: i32 },
            CallLocal { t: u32 },
            Callx { d: u8 },
            Exit,
            Lddw { d: u8, imm: u64 },
            /// The second slot of a `lddw`: never executed (prepare rejects jumps to it).
            LddwTail,
            Ldx { d: u8, s: u8, off: i16, size: u8 },
            Ldxs { d: u8, s: u8, off: i16, size: u8 },
            St { d: u8, off: i16, size: u8, imm: u64 },
            Stx { d: u8, s: u8, off: i16, size: u8 },
            Atomic { d: u8, s: u8, off: i16, size: u8, op: AtomicOp, fetch: bool },
            LdPkt { s: Option<u8>, size: u8, imm: u64 },
        }

        fn lower_alu(wide: bool, op: AluOp, dst: u8, src: Operand) -> Op {
            match (op, wide, src) {
                (AluOp::Neg, true, _) => Op::Neg64 { d: dst },
                (AluOp::Neg, false, _) => Op::Neg32 { d: dst },
                (AluOp::MovSx(sz), true, Operand::Reg(s)) => Op::MovSx64 { d: dst, s, bits: size_bits(sz) },
                (AluOp::MovSx(sz), false, Operand::Reg(s)) => Op::MovSx32 { d: dst, s, bits: size_bits(sz) },
                (AluOp::MovSx(_), _, Operand::Imm(_)) => {
                    unreachable!("movsx has no immediate form (rejected by decode)")
                }
                $(
                    (AluOp::$aop, true, Operand::Imm(imm)) => Op::$ai { d: dst, imm: imm as i64 as u64 },
                    (AluOp::$aop, true, Operand::Reg(s)) => Op::$ar { d: dst, s },
                    (AluOp::$aop, false, Operand::Imm(imm)) => Op::$ai32 { d: dst, imm: imm as i64 as u64 },
                    (AluOp::$aop, false, Operand::Reg(s)) => Op::$ar32 { d: dst, s },
                )*
            }
        }

        fn lower_jmp(wide: bool, cond: JmpCond, dst: u8, src: Operand, t: u32) -> Op {
            match (cond, wide, src) {
                $(
                    (JmpCond::$jop, true, Operand::Imm(imm)) => Op::$ji { d: dst, imm: imm as i64 as u64, t },
                    (JmpCond::$jop, true, Operand::Reg(s)) => Op::$jr { d: dst, s, t },
                    (JmpCond::$jop, false, Operand::Imm(imm)) => Op::$ji32 { d: dst, imm: imm as i64 as u64, t },
                    (JmpCond::$jop, false, Operand::Reg(s)) => Op::$jr32 { d: dst, s, t },
                )*
            }
        }
    };
}

binary_ops!(define_op! {});

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

fn size_bits(s: Size) -> u8 {
    s.bits() as u8
}
