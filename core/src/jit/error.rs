//! What the JIT refuses, in the kernel's words, with the instruction index.

use crate::errno::Errno;
use crate::isa::DecodeError;
use serde::Serialize;
use thiserror::Error;

/// Why an instruction (or the whole program) cannot be compiled.
#[derive(Clone, Debug, PartialEq, Eq, Error, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum JitErrorKind {
    /// The slots are not a valid program.
    #[error("{0}")]
    Decode(DecodeError),
    /// An instruction the x86-64 JIT has no translation for (`default:` of `do_jit()`).
    #[error("bpf_jit: unknown opcode {code:02x}")]
    UnknownOpcode {
        /// Its opcode byte.
        code: u8,
    },
    /// A helper call whose `imm` is still 0 after fixups.
    #[error("call with imm 0: the helper was not resolved by the verifier's fixups")]
    ZeroCallImm,
    /// A rel32 call or jump that cannot reach its target.
    #[error("Target call {target:#x} is out of range")]
    OutOfRange {
        /// The target.
        target: u64,
    },
    /// 1- and 2-byte read-modify-write atomics.
    #[error("bpf_jit: 1- and 2-byte RMW atomics are not supported")]
    NarrowAtomic,
    /// A jump whose offset does not fit in 32 bits.
    #[error("cond_jmp gen bug {offset:x}")]
    JumpRange {
        /// The offset.
        offset: i64,
    },
    /// Padding of an unexpected size in a padding pass.
    #[error("unexpected jump padding: {nops} bytes")]
    Padding {
        /// The size.
        nops: i64,
    },
    /// One instruction's translation exceeds `BPF_MAX_INSN_SIZE` (128 bytes).
    #[error("bpf_jit: fatal insn size error")]
    InsnTooBig,
    /// The image size did not settle within `MAX_PASSES` (20): the kernel falls back to the
    /// interpreter, or fails the load with `CONFIG_BPF_JIT_ALWAYS_ON`.
    #[error("the image did not converge in {passes} passes")]
    NoConverge {
        /// Passes run.
        passes: usize,
    },
    /// The image pass disagrees with the pass before it.
    #[error("bpf_jit: proglen={proglen} != oldproglen={oldproglen}")]
    ProgLen {
        /// This pass's size.
        proglen: usize,
        /// The previous pass's.
        oldproglen: usize,
    },
    /// An address the image depends on was not given.
    #[error("no address for {what}")]
    Unresolved {
        /// What it is.
        what: &'static str,
    },
    /// A jump leaves its subprogram, or a call enters none.
    #[error("jump out of range from insn to {target}")]
    BadTarget {
        /// The target slot.
        target: i64,
    },
    /// A kernel feature whose bytes the model does not produce.
    #[error("{what} is not modelled")]
    NotModelled {
        /// The feature.
        what: &'static str,
    },
    /// iced-x86 could not encode the instruction the kernel emits.
    #[error("cannot encode {code}: {message}")]
    Encode {
        /// The iced `Code`, by name.
        code: String,
        /// iced's message.
        message: String,
    },
    /// The finished image does not decode to the instructions emitted.
    #[error("image offset {offset:#x} decodes to another instruction than was emitted")]
    Redecode {
        /// Offset in the image.
        offset: usize,
    },
}

impl JitErrorKind {
    /// The errno the load fails with.
    pub const fn errno(&self) -> Errno {
        match self {
            JitErrorKind::OutOfRange { .. } => Errno::ERANGE,
            JitErrorKind::Decode(_)
            | JitErrorKind::UnknownOpcode { .. }
            | JitErrorKind::ZeroCallImm
            | JitErrorKind::Unresolved { .. }
            | JitErrorKind::BadTarget { .. } => Errno::EINVAL,
            JitErrorKind::NotModelled { .. } | JitErrorKind::NoConverge { .. } => Errno::ENOTSUPP,
            JitErrorKind::NarrowAtomic
            | JitErrorKind::JumpRange { .. }
            | JitErrorKind::Padding { .. }
            | JitErrorKind::InsnTooBig
            | JitErrorKind::ProgLen { .. }
            | JitErrorKind::Encode { .. }
            | JitErrorKind::Redecode { .. } => Errno::EFAULT,
        }
    }
}

/// A JIT failure: the instruction slot it concerns (if one) and why.
#[derive(Clone, Debug, PartialEq, Eq, Error, Serialize)]
pub struct JitError {
    /// The instruction slot, program-wide.
    pub index: Option<usize>,
    /// What went wrong.
    pub kind: JitErrorKind,
}

impl std::fmt::Display for JitError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.index {
            Some(i) => write!(f, "insn {i}: {} ({})", self.kind, self.kind.errno()),
            None => write!(f, "{} ({})", self.kind, self.kind.errno()),
        }
    }
}

impl JitError {
    pub(crate) fn at(index: usize, kind: JitErrorKind) -> Self {
        JitError {
            index: Some(index),
            kind,
        }
    }
    pub(crate) fn whole(kind: JitErrorKind) -> Self {
        JitError { index: None, kind }
    }
}
