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
/// [rows] jmp: [rows] $extra }`. A row is `ImmVariant RegVariant = Operation, wide, Type:
/// |a, b| expression`; for ALU rows the expression is the new destination value (zero-extended
/// to 64 bits from `Type`), for jump rows whether the branch is taken. Division by zero gives
/// 0 and modulo by zero keeps the dividend, as the ISA defines; shift counts are masked to the
/// width.
macro_rules! binary_ops {
    ($callback:ident ! { $($extra:tt)* }) => {
        $callback! {
            alu: [
                Add64I Add64R = Add, true, u64: |a, b| a.wrapping_add(b);
                Sub64I Sub64R = Sub, true, u64: |a, b| a.wrapping_sub(b);
                Mul64I Mul64R = Mul, true, u64: |a, b| a.wrapping_mul(b);
                Div64I Div64R = Div, true, u64: |a, b| a.checked_div(b).unwrap_or(0);
                SDiv64I SDiv64R = SDiv, true, u64: |a, b| sdiv64(a, b);
                Or64I Or64R = Or, true, u64: |a, b| a | b;
                And64I And64R = And, true, u64: |a, b| a & b;
                Lsh64I Lsh64R = Lsh, true, u64: |a, b| a << (b & 63);
                Rsh64I Rsh64R = Rsh, true, u64: |a, b| a >> (b & 63);
                Mod64I Mod64R = Mod, true, u64: |a, b| a.checked_rem(b).unwrap_or(a);
                SMod64I SMod64R = SMod, true, u64: |a, b| smod64(a, b);
                Xor64I Xor64R = Xor, true, u64: |a, b| a ^ b;
                Mov64I Mov64R = Mov, true, u64: |_a, b| b;
                Arsh64I Arsh64R = Arsh, true, u64: |a, b| ((a as i64) >> (b & 63)) as u64;
                Add32I Add32R = Add, false, u32: |a, b| a.wrapping_add(b);
                Sub32I Sub32R = Sub, false, u32: |a, b| a.wrapping_sub(b);
                Mul32I Mul32R = Mul, false, u32: |a, b| a.wrapping_mul(b);
                Div32I Div32R = Div, false, u32: |a, b| a.checked_div(b).unwrap_or(0);
                SDiv32I SDiv32R = SDiv, false, u32: |a, b| sdiv32(a, b);
                Or32I Or32R = Or, false, u32: |a, b| a | b;
                And32I And32R = And, false, u32: |a, b| a & b;
                Lsh32I Lsh32R = Lsh, false, u32: |a, b| a << (b & 31);
                Rsh32I Rsh32R = Rsh, false, u32: |a, b| a >> (b & 31);
                Mod32I Mod32R = Mod, false, u32: |a, b| a.checked_rem(b).unwrap_or(a);
                SMod32I SMod32R = SMod, false, u32: |a, b| smod32(a, b);
                Xor32I Xor32R = Xor, false, u32: |a, b| a ^ b;
                Mov32I Mov32R = Mov, false, u32: |_a, b| b;
                Arsh32I Arsh32R = Arsh, false, u32: |a, b| ((a as i32) >> (b & 31)) as u32;
            ]
            jmp: [
                JEq64I JEq64R = Eq, true, u64: |a, b| a == b;
                JEq32I JEq32R = Eq, false, u32: |a, b| a == b;
                JGt64I JGt64R = Gt, true, u64: |a, b| a > b;
                JGt32I JGt32R = Gt, false, u32: |a, b| a > b;
                JGe64I JGe64R = Ge, true, u64: |a, b| a >= b;
                JGe32I JGe32R = Ge, false, u32: |a, b| a >= b;
                JSet64I JSet64R = Set, true, u64: |a, b| a & b != 0;
                JSet32I JSet32R = Set, false, u32: |a, b| a & b != 0;
                JNe64I JNe64R = Ne, true, u64: |a, b| a != b;
                JNe32I JNe32R = Ne, false, u32: |a, b| a != b;
                JSgt64I JSgt64R = Sgt, true, u64: |a, b| (a as i64) > (b as i64);
                JSgt32I JSgt32R = Sgt, false, u32: |a, b| (a as i32) > (b as i32);
                JSge64I JSge64R = Sge, true, u64: |a, b| (a as i64) >= (b as i64);
                JSge32I JSge32R = Sge, false, u32: |a, b| (a as i32) >= (b as i32);
                JLt64I JLt64R = Lt, true, u64: |a, b| a < b;
                JLt32I JLt32R = Lt, false, u32: |a, b| a < b;
                JLe64I JLe64R = Le, true, u64: |a, b| a <= b;
                JLe32I JLe32R = Le, false, u32: |a, b| a <= b;
                JSlt64I JSlt64R = Slt, true, u64: |a, b| (a as i64) < (b as i64);
                JSlt32I JSlt32R = Slt, false, u32: |a, b| (a as i32) < (b as i32);
                JSle64I JSle64R = Sle, true, u64: |a, b| (a as i64) <= (b as i64);
                JSle32I JSle32R = Sle, false, u32: |a, b| (a as i32) <= (b as i32);
            ]
            $($extra)*
        }
    };
}
pub(crate) use binary_ops;

/// Signed 64-bit division; division by zero gives 0 (and `i64::MIN / -1` wraps).
#[inline(always)]
pub(crate) fn sdiv64(a: u64, b: u64) -> u64 {
    if b == 0 {
        0
    } else {
        (a as i64).wrapping_div(b as i64) as u64
    }
}

/// Signed 64-bit modulo; modulo by zero keeps the dividend.
#[inline(always)]
pub(crate) fn smod64(a: u64, b: u64) -> u64 {
    if b == 0 {
        a
    } else {
        (a as i64).wrapping_rem(b as i64) as u64
    }
}

/// Signed 32-bit division; division by zero gives 0.
#[inline(always)]
pub(crate) fn sdiv32(a: u32, b: u32) -> u32 {
    if b == 0 {
        0
    } else {
        (a as i32).wrapping_div(b as i32) as u32
    }
}

/// Signed 32-bit modulo; modulo by zero keeps the dividend.
#[inline(always)]
pub(crate) fn smod32(a: u32, b: u32) -> u32 {
    if b == 0 {
        a
    } else {
        (a as i32).wrapping_rem(b as i32) as u32
    }
}

/// Expands the table into the [`Op`] enum (the table's variants, then the hand-written ones)
/// and the lowering of ALU and jump instructions.
macro_rules! define_op {
    (
        alu: [$($ai:ident $ar:ident = $aop:ident, $aw:literal, $at:ty: |$a:ident, $b:ident| $ae:expr;)*]
        jmp: [$($ji:ident $jr:ident = $jop:ident, $jw:literal, $jt:ty: |$x:ident, $y:ident| $je:expr;)*]
    ) => {
        /// One lowered instruction slot.
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        #[allow(missing_docs)]
        pub(crate) enum Op {
            $(
                $ai { d: u8, imm: u64 },
                $ar { d: u8, s: u8 },
            )*
            $(
                $ji { d: u8, imm: u64, t: u32 },
                $jr { d: u8, s: u8, t: u32 },
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
                    (AluOp::$aop, $aw, Operand::Imm(imm)) => Op::$ai { d: dst, imm: imm as i64 as u64 },
                    (AluOp::$aop, $aw, Operand::Reg(s)) => Op::$ar { d: dst, s },
                )*
            }
        }

        fn lower_jmp(wide: bool, cond: JmpCond, dst: u8, src: Operand, t: u32) -> Op {
            match (cond, wide, src) {
                $(
                    (JmpCond::$jop, $jw, Operand::Imm(imm)) => Op::$ji { d: dst, imm: imm as i64 as u64, t },
                    (JmpCond::$jop, $jw, Operand::Reg(s)) => Op::$jr { d: dst, s, t },
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
