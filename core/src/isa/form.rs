//! The structured view of an instruction: every form of RFC 9669 as one enum variant, with the
//! rules that make an encoding valid (reserved fields zero, known opcodes, complete `lddw`).
//!
//! [`Instr::decode`] is the single place where raw slots are checked; the assemblers produce
//! `Instr`s and the disassemblers print them, so the text syntaxes cannot drift from the wire
//! format.

use super::insn::Insn;
use super::opcode::*;
use serde::{Deserialize, Serialize};
use thiserror::Error;

/// Memory access size.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Size {
    /// 1 byte (`BPF_B`).
    B,
    /// 2 bytes (`BPF_H`).
    H,
    /// 4 bytes (`BPF_W`).
    W,
    /// 8 bytes (`BPF_DW`).
    DW,
}

impl Size {
    /// Size in bytes.
    pub const fn bytes(self) -> u8 {
        match self {
            Size::B => 1,
            Size::H => 2,
            Size::W => 4,
            Size::DW => 8,
        }
    }
    /// The opcode size field.
    pub const fn code(self) -> u8 {
        match self {
            Size::B => BPF_B,
            Size::H => BPF_H,
            Size::W => BPF_W,
            Size::DW => BPF_DW,
        }
    }
    /// From the opcode size field.
    pub const fn from_code(code: u8) -> Size {
        match bpf_size(code) {
            BPF_B => Size::B,
            BPF_H => Size::H,
            BPF_W => Size::W,
            _ => Size::DW,
        }
    }
    /// From a width in bits (8, 16, 32, 64).
    pub const fn from_bits(bits: u32) -> Option<Size> {
        match bits {
            8 => Some(Size::B),
            16 => Some(Size::H),
            32 => Some(Size::W),
            64 => Some(Size::DW),
            _ => None,
        }
    }
    /// Width in bits.
    pub const fn bits(self) -> u32 {
        self.bytes() as u32 * 8
    }
}

/// Second operand of an ALU or conditional jump instruction.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Operand {
    /// A register (`BPF_X`).
    Reg(u8),
    /// The sign-extended 32-bit immediate (`BPF_K`).
    Imm(i32),
}

/// ALU operations, with the signed and sign-extending variants that share an opcode.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum AluOp {
    /// `+=`
    Add,
    /// `-=`
    Sub,
    /// `*=`
    Mul,
    /// unsigned `/=`
    Div,
    /// signed `s/=` (DIV with off 1)
    SDiv,
    /// `|=`
    Or,
    /// `&=`
    And,
    /// `<<=`
    Lsh,
    /// logical `>>=`
    Rsh,
    /// `= -dst`
    Neg,
    /// unsigned `%=`
    Mod,
    /// signed `s%=` (MOD with off 1)
    SMod,
    /// `^=`
    Xor,
    /// `=`
    Mov,
    /// sign-extending move from the low 8, 16 or 32 bits (MOV with off 8/16/32)
    MovSx(Size),
    /// arithmetic `s>>=`
    Arsh,
}

impl AluOp {
    /// The opcode operation field and the `off` value that selects this variant.
    pub const fn code_off(self) -> (u8, i16) {
        match self {
            AluOp::Add => (BPF_ADD, 0),
            AluOp::Sub => (BPF_SUB, 0),
            AluOp::Mul => (BPF_MUL, 0),
            AluOp::Div => (BPF_DIV, 0),
            AluOp::SDiv => (BPF_DIV, 1),
            AluOp::Or => (BPF_OR, 0),
            AluOp::And => (BPF_AND, 0),
            AluOp::Lsh => (BPF_LSH, 0),
            AluOp::Rsh => (BPF_RSH, 0),
            AluOp::Neg => (BPF_NEG, 0),
            AluOp::Mod => (BPF_MOD, 0),
            AluOp::SMod => (BPF_MOD, 1),
            AluOp::Xor => (BPF_XOR, 0),
            AluOp::Mov => (BPF_MOV, 0),
            AluOp::MovSx(s) => (BPF_MOV, s.bits() as i16),
            AluOp::Arsh => (BPF_ARSH, 0),
        }
    }
}

/// Byte-order operations.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum EndKind {
    /// Convert to little endian (`le16/32/64`, ALU class, `BPF_TO_LE`).
    Le,
    /// Convert to big endian (`be16/32/64`, ALU class, `BPF_TO_BE`).
    Be,
    /// Unconditional byte swap (`bswap16/32/64`, ALU64 class).
    Swap,
}

/// Conditions of conditional jumps.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum JmpCond {
    /// `==`
    Eq,
    /// unsigned `>`
    Gt,
    /// unsigned `>=`
    Ge,
    /// `&` non-zero
    Set,
    /// `!=`
    Ne,
    /// signed `>`
    Sgt,
    /// signed `>=`
    Sge,
    /// unsigned `<`
    Lt,
    /// unsigned `<=`
    Le,
    /// signed `<`
    Slt,
    /// signed `<=`
    Sle,
}

impl JmpCond {
    /// All conditions, in opcode order.
    pub const ALL: [JmpCond; 11] = [
        JmpCond::Eq,
        JmpCond::Gt,
        JmpCond::Ge,
        JmpCond::Set,
        JmpCond::Ne,
        JmpCond::Sgt,
        JmpCond::Sge,
        JmpCond::Lt,
        JmpCond::Le,
        JmpCond::Slt,
        JmpCond::Sle,
    ];
    /// The opcode operation field.
    pub const fn code(self) -> u8 {
        match self {
            JmpCond::Eq => BPF_JEQ,
            JmpCond::Gt => BPF_JGT,
            JmpCond::Ge => BPF_JGE,
            JmpCond::Set => BPF_JSET,
            JmpCond::Ne => BPF_JNE,
            JmpCond::Sgt => BPF_JSGT,
            JmpCond::Sge => BPF_JSGE,
            JmpCond::Lt => BPF_JLT,
            JmpCond::Le => BPF_JLE,
            JmpCond::Slt => BPF_JSLT,
            JmpCond::Sle => BPF_JSLE,
        }
    }
    /// From the opcode operation field.
    pub fn from_code(op: u8) -> Option<JmpCond> {
        JmpCond::ALL.into_iter().find(|c| c.code() == op)
    }
}

/// Atomic read-modify-write operations.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum AtomicOp {
    /// `+`
    Add,
    /// `&`
    And,
    /// `|`
    Or,
    /// `^`
    Xor,
    /// exchange (always fetches)
    Xchg,
    /// compare with r0 and exchange (always fetches into r0)
    Cmpxchg,
}

/// Kinds of the 64-bit immediate load, selected by its `src` field.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Imm64Kind {
    /// Plain 64-bit constant (src 0).
    Imm,
    /// `imm` = map fd (src 1).
    MapFd,
    /// `imm` = map fd, `imm2` = offset into the value (src 2).
    MapValue,
    /// `imm` = BTF id of a kernel variable, `imm2` = module BTF fd or 0 (src 3).
    BtfId,
    /// `imm` = relative instruction offset of a subprogram (src 4).
    Func,
    /// `imm` = fd-array index of a map (src 5).
    MapIdx,
    /// `imm` = fd-array index, `imm2` = offset into the value (src 6).
    MapIdxValue,
}

impl Imm64Kind {
    /// The `src` field value.
    pub const fn src(self) -> u8 {
        match self {
            Imm64Kind::Imm => 0,
            Imm64Kind::MapFd => BPF_PSEUDO_MAP_FD,
            Imm64Kind::MapValue => BPF_PSEUDO_MAP_VALUE,
            Imm64Kind::BtfId => BPF_PSEUDO_BTF_ID,
            Imm64Kind::Func => BPF_PSEUDO_FUNC,
            Imm64Kind::MapIdx => BPF_PSEUDO_MAP_IDX,
            Imm64Kind::MapIdxValue => BPF_PSEUDO_MAP_IDX_VALUE,
        }
    }
    /// From the `src` field.
    pub const fn from_src(src: u8) -> Option<Imm64Kind> {
        Some(match src {
            0 => Imm64Kind::Imm,
            BPF_PSEUDO_MAP_FD => Imm64Kind::MapFd,
            BPF_PSEUDO_MAP_VALUE => Imm64Kind::MapValue,
            BPF_PSEUDO_BTF_ID => Imm64Kind::BtfId,
            BPF_PSEUDO_FUNC => Imm64Kind::Func,
            BPF_PSEUDO_MAP_IDX => Imm64Kind::MapIdx,
            BPF_PSEUDO_MAP_IDX_VALUE => Imm64Kind::MapIdxValue,
            _ => return None,
        })
    }
    /// Whether the second slot's `imm` carries meaning (otherwise it must be zero).
    pub const fn uses_imm2(self) -> bool {
        matches!(
            self,
            Imm64Kind::Imm | Imm64Kind::MapValue | Imm64Kind::BtfId | Imm64Kind::MapIdxValue
        )
    }
}

/// One instruction in structured form. Register fields hold 0..=10.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Instr {
    /// ALU operation; `wide` selects ALU64 (else ALU, 32-bit with zero extension).
    Alu {
        /// 64-bit operation.
        wide: bool,
        /// Operation.
        op: AluOp,
        /// Destination register.
        dst: u8,
        /// Source operand (`Imm(0)` for `Neg`).
        src: Operand,
    },
    /// Byte-order conversion or swap of the low `bits` of `dst`.
    End {
        /// Conversion kind.
        kind: EndKind,
        /// 16, 32 or 64.
        bits: u8,
        /// Register.
        dst: u8,
    },
    /// `goto pc+off` (JMP class).
    Ja {
        /// Relative offset in slots.
        off: i16,
    },
    /// `gotol pc+imm` (JMP32 class, 32-bit offset in `imm`).
    Gotol {
        /// Relative offset in slots.
        imm: i32,
    },
    /// Conditional jump; `wide` selects JMP (64-bit compare) over JMP32.
    Jmp {
        /// 64-bit compare.
        wide: bool,
        /// Condition.
        cond: JmpCond,
        /// Left operand.
        dst: u8,
        /// Right operand (immediates are sign-extended to 64 bits for JMP).
        src: Operand,
        /// Relative offset in slots.
        off: i16,
    },
    /// Helper call by static id.
    CallHelper(i32),
    /// bpf-to-bpf call, `imm` relative to the next slot.
    CallLocal(i32),
    /// Kernel function call by BTF id.
    CallKfunc(i32),
    /// Indirect call through a register (held in the `dst` field).
    Callx(u8),
    /// Return.
    Exit,
    /// 64-bit immediate load over two slots: `imm` in the first, `imm2` in the second.
    LdImm64 {
        /// Destination register.
        dst: u8,
        /// Pseudo source kind.
        kind: Imm64Kind,
        /// First slot's imm (low half of a plain constant).
        imm: i32,
        /// Second slot's imm (high half of a plain constant).
        imm2: i32,
    },
    /// Load from memory, optionally sign-extending.
    Ldx {
        /// Access size.
        size: Size,
        /// Sign-extending (`BPF_MEMSX`).
        sx: bool,
        /// Destination register.
        dst: u8,
        /// Base register.
        src: u8,
        /// Offset from the base.
        off: i16,
    },
    /// Store immediate.
    St {
        /// Access size.
        size: Size,
        /// Base register.
        dst: u8,
        /// Offset from the base.
        off: i16,
        /// Value (truncated to `size`).
        imm: i32,
    },
    /// Store register.
    Stx {
        /// Access size.
        size: Size,
        /// Base register.
        dst: u8,
        /// Value register.
        src: u8,
        /// Offset from the base.
        off: i16,
    },
    /// Atomic read-modify-write on `*(dst + off)` with `src`; `size` is W or DW.
    Atomic {
        /// W or DW.
        size: Size,
        /// Operation.
        op: AtomicOp,
        /// Return the old value in `src` (always true for Xchg/Cmpxchg).
        fetch: bool,
        /// Base register.
        dst: u8,
        /// Operand register.
        src: u8,
        /// Offset from the base.
        off: i16,
    },
    /// Legacy packet load `r0 = ntoh(*(size *)(pkt + imm))`.
    LdAbs {
        /// B, H or W.
        size: Size,
        /// Packet offset.
        imm: i32,
    },
    /// Legacy packet load `r0 = ntoh(*(size *)(pkt + src + imm))`.
    LdInd {
        /// B, H or W.
        size: Size,
        /// Offset register.
        src: u8,
        /// Packet offset.
        imm: i32,
    },
}

/// A field of an encoded instruction.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum InsnField {
    /// The destination register.
    Dst,
    /// The source register.
    Src,
    /// The offset.
    Off,
    /// The immediate.
    Imm,
}

impl InsnField {
    /// The field's name in the kernel's `struct bpf_insn`.
    pub const fn name(self) -> &'static str {
        match self {
            InsnField::Dst => "dst",
            InsnField::Src => "src",
            InsnField::Off => "off",
            InsnField::Imm => "imm",
        }
    }
}

impl std::fmt::Display for InsnField {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.pad(self.name())
    }
}

/// What is wrong with an encoded instruction.
#[derive(Clone, Debug, PartialEq, Eq, Error, Serialize, serde::Deserialize)]
pub enum DecodeErrorKind {
    /// The byte length is not a multiple of 8.
    #[error("program length {0} is not a multiple of 8 bytes")]
    BadLength(usize),
    /// The opcode is not defined.
    #[error("unknown opcode {0:#04x}")]
    UnknownOpcode(u8),
    /// A field that must be zero (or one of a few values) is not.
    #[error("opcode {code:#04x} uses reserved field {field} = {value}")]
    ReservedField {
        /// Opcode.
        code: u8,
        /// The field.
        field: InsnField,
        /// Its value.
        value: i64,
    },
    /// A register number above 10.
    #[error("invalid register r{reg} in {field}")]
    BadRegister {
        /// Register number.
        reg: u8,
        /// The field.
        field: InsnField,
    },
    /// The second slot of `lddw` is missing.
    #[error("lddw is truncated: its second slot is missing")]
    TruncatedLddw,
    /// The index is past the program's end.
    #[error("no instruction at this index: the program has {len} slots")]
    OutOfRange {
        /// The program's length in slots.
        len: usize,
    },
    /// The second slot of `lddw` has a non-zero code, register or offset.
    #[error("invalid second half of lddw (must be code 0, registers 0, off 0)")]
    BadLddwSecondHalf,
    /// The `lddw` pseudo source kind is unknown.
    #[error("lddw with unknown pseudo source {0}")]
    BadLddwSource(u8),
    /// A byte-order instruction with a width other than 16, 32 or 64.
    #[error("byte order width {0} is not 16, 32 or 64")]
    BadEndWidth(i32),
    /// An atomic instruction with an unknown operation.
    #[error("unknown atomic operation {0:#x}")]
    BadAtomicOp(i32),
}

/// A decoding error at an instruction index.
#[derive(Clone, Debug, PartialEq, Eq, Error, Serialize)]
#[error("insn {index}: {kind}")]
pub struct DecodeError {
    /// Slot index of the offending instruction.
    pub index: usize,
    /// What is wrong.
    pub kind: DecodeErrorKind,
}

fn check_reg(reg: u8, field: InsnField, max: u8) -> Result<(), DecodeErrorKind> {
    if reg > max {
        Err(DecodeErrorKind::BadRegister { reg, field })
    } else {
        Ok(())
    }
}

fn zero(code: u8, field: InsnField, value: i64) -> Result<(), DecodeErrorKind> {
    if value != 0 {
        Err(DecodeErrorKind::ReservedField { code, field, value })
    } else {
        Ok(())
    }
}

impl Instr {
    /// Number of slots the instruction occupies (2 for `lddw`).
    pub const fn slots(&self) -> usize {
        match self {
            Instr::LdImm64 { .. } => 2,
            _ => 1,
        }
    }

    /// For `LdImm64`, the 64-bit value the two halves form.
    pub const fn imm64(imm: i32, imm2: i32) -> u64 {
        (imm as u32 as u64) | ((imm2 as u32 as u64) << 32)
    }

    /// Decodes the instruction at `insns[index]` (and its second slot for `lddw`), as the
    /// kernel checks programs it is given: registers r0-r10 only.
    pub fn decode(insns: &[Insn], index: usize) -> Result<Instr, DecodeError> {
        Self::decode_kind(insns, index, 10).map_err(|kind| DecodeError { index, kind })
    }

    /// Like [`Instr::decode`], but also accepts r11 (`BPF_REG_AX`), the auxiliary register the
    /// verifier's own rewrites use in programs after fixups.
    pub fn decode_internal(insns: &[Insn], index: usize) -> Result<Instr, DecodeError> {
        Self::decode_kind(insns, index, BPF_REG_AX).map_err(|kind| DecodeError { index, kind })
    }

    fn decode_kind(insns: &[Insn], index: usize, max_reg: u8) -> Result<Instr, DecodeErrorKind> {
        let i = *insns
            .get(index)
            .ok_or(DecodeErrorKind::OutOfRange { len: insns.len() })?;
        let code = i.code;
        check_reg(i.dst, InsnField::Dst, max_reg)?;
        check_reg(i.src, InsnField::Src, max_reg)?;
        let unknown = Err(DecodeErrorKind::UnknownOpcode(code));
        match bpf_class(code) {
            BPF_ALU | BPF_ALU64 => {
                let wide = bpf_class(code) == BPF_ALU64;
                let op = bpf_op(code);
                let is_x = bpf_src(code) == BPF_X;
                if op == BPF_END {
                    let kind = match (wide, is_x) {
                        (false, false) => EndKind::Le,
                        (false, true) => EndKind::Be,
                        (true, false) => EndKind::Swap,
                        (true, true) => return unknown,
                    };
                    zero(code, InsnField::Src, i.src.into())?;
                    zero(code, InsnField::Off, i.off.into())?;
                    if !matches!(i.imm, 16 | 32 | 64) {
                        return Err(DecodeErrorKind::BadEndWidth(i.imm));
                    }
                    return Ok(Instr::End {
                        kind,
                        bits: i.imm as u8,
                        dst: i.dst,
                    });
                }
                if op == BPF_NEG {
                    if is_x {
                        return unknown;
                    }
                    zero(code, InsnField::Src, i.src.into())?;
                    zero(code, InsnField::Off, i.off.into())?;
                    zero(code, InsnField::Imm, i.imm.into())?;
                    return Ok(Instr::Alu {
                        wide,
                        op: AluOp::Neg,
                        dst: i.dst,
                        src: Operand::Imm(0),
                    });
                }
                let base = match op {
                    BPF_ADD => AluOp::Add,
                    BPF_SUB => AluOp::Sub,
                    BPF_MUL => AluOp::Mul,
                    BPF_DIV => AluOp::Div,
                    BPF_OR => AluOp::Or,
                    BPF_AND => AluOp::And,
                    BPF_LSH => AluOp::Lsh,
                    BPF_RSH => AluOp::Rsh,
                    BPF_MOD => AluOp::Mod,
                    BPF_XOR => AluOp::Xor,
                    BPF_MOV => AluOp::Mov,
                    BPF_ARSH => AluOp::Arsh,
                    _ => return unknown,
                };
                let aop = match (base, i.off) {
                    (_, 0) => base,
                    (AluOp::Div, 1) => AluOp::SDiv,
                    (AluOp::Mod, 1) => AluOp::SMod,
                    (AluOp::Mov, 8 | 16) if is_x => AluOp::MovSx(Size::from_bits(i.off as u32).unwrap()),
                    (AluOp::Mov, 32) if is_x && wide => AluOp::MovSx(Size::W),
                    _ => {
                        return Err(DecodeErrorKind::ReservedField {
                            code,
                            field: InsnField::Off,
                            value: i.off.into(),
                        })
                    }
                };
                let src = if is_x {
                    zero(code, InsnField::Imm, i.imm.into())?;
                    Operand::Reg(i.src)
                } else {
                    zero(code, InsnField::Src, i.src.into())?;
                    Operand::Imm(i.imm)
                };
                Ok(Instr::Alu {
                    wide,
                    op: aop,
                    dst: i.dst,
                    src,
                })
            }
            BPF_JMP | BPF_JMP32 => {
                let wide = bpf_class(code) == BPF_JMP;
                let op = bpf_op(code);
                let is_x = bpf_src(code) == BPF_X;
                match op {
                    BPF_JA => {
                        if is_x {
                            return unknown;
                        }
                        zero(code, InsnField::Dst, i.dst.into())?;
                        zero(code, InsnField::Src, i.src.into())?;
                        if wide {
                            zero(code, InsnField::Imm, i.imm.into())?;
                            Ok(Instr::Ja { off: i.off })
                        } else {
                            zero(code, InsnField::Off, i.off.into())?;
                            Ok(Instr::Gotol { imm: i.imm })
                        }
                    }
                    BPF_CALL => {
                        if !wide {
                            return unknown;
                        }
                        zero(code, InsnField::Off, i.off.into())?;
                        if is_x {
                            zero(code, InsnField::Src, i.src.into())?;
                            zero(code, InsnField::Imm, i.imm.into())?;
                            return Ok(Instr::Callx(i.dst));
                        }
                        zero(code, InsnField::Dst, i.dst.into())?;
                        match i.src {
                            BPF_HELPER_CALL => Ok(Instr::CallHelper(i.imm)),
                            BPF_PSEUDO_CALL => Ok(Instr::CallLocal(i.imm)),
                            BPF_PSEUDO_KFUNC_CALL => Ok(Instr::CallKfunc(i.imm)),
                            s => Err(DecodeErrorKind::ReservedField {
                                code,
                                field: InsnField::Src,
                                value: s.into(),
                            }),
                        }
                    }
                    BPF_EXIT => {
                        if !wide || is_x {
                            return unknown;
                        }
                        zero(code, InsnField::Dst, i.dst.into())?;
                        zero(code, InsnField::Src, i.src.into())?;
                        zero(code, InsnField::Off, i.off.into())?;
                        zero(code, InsnField::Imm, i.imm.into())?;
                        Ok(Instr::Exit)
                    }
                    _ => {
                        let cond = JmpCond::from_code(op).ok_or(DecodeErrorKind::UnknownOpcode(code))?;
                        let src = if is_x {
                            zero(code, InsnField::Imm, i.imm.into())?;
                            Operand::Reg(i.src)
                        } else {
                            zero(code, InsnField::Src, i.src.into())?;
                            Operand::Imm(i.imm)
                        };
                        Ok(Instr::Jmp {
                            wide,
                            cond,
                            dst: i.dst,
                            src,
                            off: i.off,
                        })
                    }
                }
            }
            BPF_LD => {
                let size = Size::from_code(code);
                match bpf_mode(code) {
                    BPF_IMM if size == Size::DW => {
                        zero(code, InsnField::Off, i.off.into())?;
                        let kind = Imm64Kind::from_src(i.src).ok_or(DecodeErrorKind::BadLddwSource(i.src))?;
                        let next = insns.get(index + 1).ok_or(DecodeErrorKind::TruncatedLddw)?;
                        if next.code != 0 || next.dst != 0 || next.src != 0 || next.off != 0 {
                            return Err(DecodeErrorKind::BadLddwSecondHalf);
                        }
                        if !kind.uses_imm2() && next.imm != 0 {
                            return Err(DecodeErrorKind::BadLddwSecondHalf);
                        }
                        Ok(Instr::LdImm64 {
                            dst: i.dst,
                            kind,
                            imm: i.imm,
                            imm2: next.imm,
                        })
                    }
                    BPF_ABS | BPF_IND if size != Size::DW => {
                        zero(code, InsnField::Dst, i.dst.into())?;
                        zero(code, InsnField::Off, i.off.into())?;
                        if bpf_mode(code) == BPF_ABS {
                            zero(code, InsnField::Src, i.src.into())?;
                            Ok(Instr::LdAbs { size, imm: i.imm })
                        } else {
                            Ok(Instr::LdInd {
                                size,
                                src: i.src,
                                imm: i.imm,
                            })
                        }
                    }
                    _ => unknown,
                }
            }
            BPF_LDX => {
                let size = Size::from_code(code);
                let sx = match bpf_mode(code) {
                    BPF_MEM => false,
                    BPF_MEMSX if size != Size::DW => true,
                    _ => return unknown,
                };
                zero(code, InsnField::Imm, i.imm.into())?;
                Ok(Instr::Ldx {
                    size,
                    sx,
                    dst: i.dst,
                    src: i.src,
                    off: i.off,
                })
            }
            BPF_ST => {
                if bpf_mode(code) != BPF_MEM {
                    return unknown;
                }
                zero(code, InsnField::Src, i.src.into())?;
                Ok(Instr::St {
                    size: Size::from_code(code),
                    dst: i.dst,
                    off: i.off,
                    imm: i.imm,
                })
            }
            _ => {
                // BPF_STX
                let size = Size::from_code(code);
                match bpf_mode(code) {
                    BPF_MEM => {
                        zero(code, InsnField::Imm, i.imm.into())?;
                        Ok(Instr::Stx {
                            size,
                            dst: i.dst,
                            src: i.src,
                            off: i.off,
                        })
                    }
                    BPF_ATOMIC if matches!(size, Size::W | Size::DW) => {
                        let fetch = i.imm & i32::from(BPF_FETCH) != 0;
                        let op = match i.imm & !i32::from(BPF_FETCH) {
                            0x00 => AtomicOp::Add,
                            0x50 => AtomicOp::And,
                            0x40 => AtomicOp::Or,
                            0xa0 => AtomicOp::Xor,
                            0xe0 if fetch => AtomicOp::Xchg,
                            0xf0 if fetch => AtomicOp::Cmpxchg,
                            _ => return Err(DecodeErrorKind::BadAtomicOp(i.imm)),
                        };
                        Ok(Instr::Atomic {
                            size,
                            op,
                            fetch,
                            dst: i.dst,
                            src: i.src,
                            off: i.off,
                        })
                    }
                    _ => unknown,
                }
            }
        }
    }

    /// Encodes the instruction into its slot(s).
    pub fn encode(&self) -> Vec<Insn> {
        let mut out = Vec::with_capacity(2);
        self.encode_into(&mut out);
        out
    }

    /// Appends the instruction's slot(s) to `out`.
    pub fn encode_into(&self, out: &mut Vec<Insn>) {
        let one = match *self {
            Instr::Alu { wide, op, dst, src } => {
                let class = if wide { BPF_ALU64 } else { BPF_ALU };
                let (opc, off) = op.code_off();
                match src {
                    Operand::Reg(s) => Insn::new(class | opc | BPF_X, dst, s, off, 0),
                    Operand::Imm(imm) => Insn::new(class | opc | BPF_K, dst, 0, off, imm),
                }
            }
            Instr::End { kind, bits, dst } => {
                let code = match kind {
                    EndKind::Le => BPF_ALU | BPF_END | BPF_TO_LE,
                    EndKind::Be => BPF_ALU | BPF_END | BPF_TO_BE,
                    EndKind::Swap => BPF_ALU64 | BPF_END | BPF_TO_LE,
                };
                Insn::new(code, dst, 0, 0, bits.into())
            }
            Instr::Ja { off } => Insn::new(BPF_JMP | BPF_JA, 0, 0, off, 0),
            Instr::Gotol { imm } => Insn::new(BPF_JMP32 | BPF_JA, 0, 0, 0, imm),
            Instr::Jmp {
                wide,
                cond,
                dst,
                src,
                off,
            } => {
                let class = if wide { BPF_JMP } else { BPF_JMP32 };
                match src {
                    Operand::Reg(s) => Insn::new(class | cond.code() | BPF_X, dst, s, off, 0),
                    Operand::Imm(imm) => Insn::new(class | cond.code() | BPF_K, dst, 0, off, imm),
                }
            }
            Instr::CallHelper(imm) => Insn::new(BPF_JMP | BPF_CALL, 0, BPF_HELPER_CALL, 0, imm),
            Instr::CallLocal(imm) => Insn::new(BPF_JMP | BPF_CALL, 0, BPF_PSEUDO_CALL, 0, imm),
            Instr::CallKfunc(imm) => Insn::new(BPF_JMP | BPF_CALL, 0, BPF_PSEUDO_KFUNC_CALL, 0, imm),
            Instr::Callx(r) => Insn::new(BPF_JMP | BPF_CALL | BPF_X, r, 0, 0, 0),
            Instr::Exit => Insn::new(BPF_JMP | BPF_EXIT, 0, 0, 0, 0),
            Instr::LdImm64 { dst, kind, imm, imm2 } => {
                out.push(Insn::new(LD_IMM64, dst, kind.src(), 0, imm));
                Insn::new(0, 0, 0, 0, imm2)
            }
            Instr::Ldx {
                size,
                sx,
                dst,
                src,
                off,
            } => {
                let mode = if sx { BPF_MEMSX } else { BPF_MEM };
                Insn::new(BPF_LDX | mode | size.code(), dst, src, off, 0)
            }
            Instr::St { size, dst, off, imm } => Insn::new(BPF_ST | BPF_MEM | size.code(), dst, 0, off, imm),
            Instr::Stx { size, dst, src, off } => Insn::new(BPF_STX | BPF_MEM | size.code(), dst, src, off, 0),
            Instr::Atomic {
                size,
                op,
                fetch,
                dst,
                src,
                off,
            } => {
                let base: i32 = match op {
                    AtomicOp::Add => 0x00,
                    AtomicOp::And => 0x50,
                    AtomicOp::Or => 0x40,
                    AtomicOp::Xor => 0xa0,
                    AtomicOp::Xchg => 0xe0,
                    AtomicOp::Cmpxchg => 0xf0,
                };
                let fetch = fetch || matches!(op, AtomicOp::Xchg | AtomicOp::Cmpxchg);
                let imm = base | if fetch { i32::from(BPF_FETCH) } else { 0 };
                Insn::new(BPF_STX | BPF_ATOMIC | size.code(), dst, src, off, imm)
            }
            Instr::LdAbs { size, imm } => Insn::new(BPF_LD | BPF_ABS | size.code(), 0, 0, 0, imm),
            Instr::LdInd { size, src, imm } => Insn::new(BPF_LD | BPF_IND | size.code(), 0, src, 0, imm),
        };
        out.push(one);
    }

    /// For jumps, local calls and `lddw` of a function: the slot index this instruction at
    /// `index` refers to (may be out of range for a malformed program).
    pub fn target(&self, index: usize) -> Option<i64> {
        let rel: i64 = match *self {
            Instr::Ja { off } | Instr::Jmp { off, .. } => off.into(),
            Instr::Gotol { imm } | Instr::CallLocal(imm) => imm.into(),
            Instr::LdImm64 {
                kind: Imm64Kind::Func,
                imm,
                ..
            } => imm.into(),
            _ => return None,
        };
        Some(index as i64 + 1 + rel)
    }
}

/// Decodes a whole program of slots, checking every instruction.
///
/// Returns the structured instructions with their slot index.
pub fn decode_program(insns: &[Insn]) -> Result<Vec<(usize, Instr)>, DecodeError> {
    decode_program_with(insns, Instr::decode)
}

/// Decodes a program after kernel fixups, where r11 (`BPF_REG_AX`) may appear.
pub fn decode_program_internal(insns: &[Insn]) -> Result<Vec<(usize, Instr)>, DecodeError> {
    decode_program_with(insns, Instr::decode_internal)
}

fn decode_program_with(
    insns: &[Insn],
    decode: fn(&[Insn], usize) -> Result<Instr, DecodeError>,
) -> Result<Vec<(usize, Instr)>, DecodeError> {
    let mut out = Vec::with_capacity(insns.len());
    let mut idx = 0;
    while idx < insns.len() {
        let instr = decode(insns, idx)?;
        out.push((idx, instr));
        idx += instr.slots();
    }
    Ok(out)
}

/// Decodes wire bytes into checked instruction slots.
pub fn decode(bytes: &[u8]) -> Result<Vec<Insn>, DecodeError> {
    let insns = super::insn::split_slots(bytes).ok_or(DecodeError {
        index: bytes.len() / Insn::SIZE,
        kind: DecodeErrorKind::BadLength(bytes.len()),
    })?;
    decode_program(&insns)?;
    Ok(insns)
}

/// Encodes structured instructions into slots.
pub fn encode_program(instrs: &[Instr]) -> Vec<Insn> {
    let mut out = Vec::with_capacity(instrs.len() + 2);
    for i in instrs {
        i.encode_into(&mut out);
    }
    out
}
