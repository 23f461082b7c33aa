//! The BPF instruction set (RFC 9669): raw slots, structured forms, kernel-style constructors,
//! helper and kfunc names.

pub mod form;
pub mod insn;
pub mod macros;
pub mod names;
pub mod opcode;

pub use form::{
    decode, decode_program, decode_program_internal, encode_program, AluOp, AtomicOp, DecodeError, DecodeErrorKind,
    EndKind, Imm64Kind, InsnField, Instr, JmpCond, Operand, Size,
};
pub use insn::{encode, split_slots, Insn};
