//! The interpreter: executes any valid program with checked memory, typed errors, an
//! instruction budget and a call-depth limit. It never panics on any input.
//!
//! A program is first [`prepare`]d (decoded, every jump and call target checked and resolved to
//! an absolute index), then run against a [`Host`] any number of times.

mod exec;
mod memory;
mod op;

pub use memory::{CallFault, HelperFn, Host, Machine, Memory, Region, RegionMemory, MEM_BASE, STACK_TOP};

use crate::isa::{decode_program, DecodeError, Insn};
use op::{lower, Op};
use serde::{Deserialize, Serialize};
use thiserror::Error;

/// Bytes of stack per frame (`MAX_BPF_STACK`).
pub const STACK_FRAME_SIZE: usize = 512;
/// Maximum call depth including the main program (`MAX_CALL_FRAMES`).
pub const MAX_CALL_DEPTH: usize = 8;
/// Default instruction budget of a run.
pub const DEFAULT_BUDGET: u64 = 10_000_000;
/// Virtual address of instruction slot 0 (what `lddw rX, func` loads and `callx` accepts):
/// slot `i` is at `CODE_BASE + 8 * i`.
pub const CODE_BASE: u64 = 0xffff_ffff_a000_0000;

/// Why a program could not be loaded or did not finish.
#[derive(Clone, Debug, PartialEq, Eq, Error, Serialize, serde::Deserialize)]
pub enum VmErrorKind {
    /// An instruction is malformed.
    #[error("{0}")]
    Decode(crate::isa::DecodeErrorKind),
    /// The program has no instructions.
    #[error("empty program")]
    Empty,
    /// A jump or call leads outside the program.
    #[error("jump out of range to {target}")]
    JumpOutOfRange {
        /// Target slot.
        target: i64,
    },
    /// A jump or call leads to the second slot of a `lddw`.
    #[error("jump into the middle of lddw at {target}")]
    JumpIntoLddw {
        /// Target slot.
        target: usize,
    },
    /// A load or store outside the registered regions (or a store to a read-only one).
    #[error("invalid {} of {size} bytes at {addr:#x}", if *write { "store" } else { "load" })]
    OutOfBounds {
        /// Address.
        addr: u64,
        /// Access size.
        size: u8,
        /// Store (else load).
        write: bool,
    },
    /// An atomic operation on an address not aligned to its size.
    #[error("misaligned atomic access of {size} bytes at {addr:#x}")]
    MisalignedAtomic {
        /// Address.
        addr: u64,
        /// Access size.
        size: u8,
    },
    /// The instruction budget ran out (a loop that does not end).
    #[error("instruction budget of {budget} exhausted")]
    BudgetExhausted {
        /// The budget.
        budget: u64,
    },
    /// Too many nested bpf-to-bpf calls.
    #[error("call depth exceeds {max}")]
    CallDepth {
        /// The limit.
        max: usize,
    },
    /// A helper id the host does not provide.
    #[error("unknown helper {id}")]
    UnknownHelper {
        /// Helper id.
        id: i32,
    },
    /// A kfunc the host does not provide.
    #[error("unknown kfunc {btf_id}")]
    UnknownKfunc {
        /// BTF id.
        btf_id: i32,
    },
    /// A helper or kfunc reported an error.
    #[error("call failed: {0}")]
    CallFailed(String),
    /// `callx` through a value that is neither a helper id nor a function address.
    #[error("callx to {value:#x}: not a helper or a function of this program")]
    BadCallx {
        /// Register value.
        value: u64,
    },
    /// Execution ran past the last instruction.
    #[error("execution fell off the end of the program")]
    FellOffEnd,
}

/// A load or execution error at an instruction index.
#[derive(Clone, Debug, PartialEq, Eq, Error, Serialize, serde::Deserialize)]
#[error("insn {pc}: {kind}")]
pub struct VmError {
    /// Slot index of the instruction.
    pub pc: usize,
    /// What happened.
    pub kind: VmErrorKind,
}

impl From<DecodeError> for VmError {
    fn from(e: DecodeError) -> Self {
        VmError {
            pc: e.index,
            kind: VmErrorKind::Decode(e.kind),
        }
    }
}

/// A checked program ready to run.
#[derive(Clone, Debug)]
pub struct Prepared {
    insns: Vec<Insn>,
    ops: Vec<Op>,
}

/// Options of one run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RunOptions {
    /// Maximum number of instructions executed.
    pub budget: u64,
    /// Address one past the top of the main frame's stack (r10); callee frames lie below.
    pub stack_top: u64,
}

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions {
            budget: DEFAULT_BUDGET,
            stack_top: STACK_TOP,
        }
    }
}

/// The result of a run that reached `exit`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunResult {
    /// r0 at `exit`.
    pub r0: u64,
    /// Instructions executed.
    pub executed: u64,
}

/// Decodes and checks a program for execution.
pub fn prepare(insns: &[Insn]) -> Result<Prepared, VmError> {
    if insns.is_empty() {
        return Err(VmError {
            pc: 0,
            kind: VmErrorKind::Empty,
        });
    }
    let decoded = decode_program(insns)?;
    let mut is_start = vec![false; insns.len()];
    for (idx, _) in &decoded {
        is_start[*idx] = true;
    }
    let mut ops = vec![Op::LddwTail; insns.len()];
    for (idx, instr) in decoded {
        let mut target = 0u32;
        let mut func_addr = 0u64;
        if let Some(t) = instr.target(idx) {
            if t < 0 || t >= insns.len() as i64 {
                return Err(VmError {
                    pc: idx,
                    kind: VmErrorKind::JumpOutOfRange { target: t },
                });
            }
            let t = t as usize;
            if !is_start[t] {
                return Err(VmError {
                    pc: idx,
                    kind: VmErrorKind::JumpIntoLddw { target: t },
                });
            }
            target = t as u32;
            func_addr = CODE_BASE + 8 * t as u64;
        }
        ops[idx] = lower(&instr, target, func_addr);
    }
    Ok(Prepared {
        insns: insns.to_vec(),
        ops,
    })
}

impl Prepared {
    /// The instruction slots.
    pub fn insns(&self) -> &[Insn] {
        &self.insns
    }

    /// Runs with r1..r5 = `args`, r10 = `opts.stack_top`.
    pub fn run<H: Host>(&self, host: &mut H, args: [u64; 5], opts: RunOptions) -> Result<RunResult, VmError> {
        exec::run(&self.ops, host, args, opts)
    }

    /// Runs with the kernel's interpreter convention: r1 = ctx.
    pub fn run_ctx<H: Host>(&self, ctx: u64, host: &mut H, opts: RunOptions) -> Result<RunResult, VmError> {
        self.run(host, [ctx, 0, 0, 0, 0], opts)
    }
}

/// The kernel's interpreted-program entry (`bpf_func(ctx, insnsi)`): runs `insns` with r1 = ctx
/// and returns r0.
pub fn bpf_prog_run<H: Host>(ctx: u64, insns: &[Insn], host: &mut H) -> Result<u64, VmError> {
    Ok(prepare(insns)?.run_ctx(ctx, host, RunOptions::default())?.r0)
}

/// Runs a program in the conformance environment: r1 = input memory, r2 = its length.
pub fn run_conformance(insns: &[Insn], mem: Vec<u8>) -> Result<RunResult, VmError> {
    let prog = prepare(insns)?;
    let len = mem.len() as u64;
    let mut m = Machine::conformance(mem);
    let base = if len == 0 { 0 } else { MEM_BASE };
    prog.run(&mut m, [base, len, 0, 0, 0], RunOptions::default())
}
