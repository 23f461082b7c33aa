//! An x86-64 executor: runs machine code decoded by iced-x86 over a sparse, bounds-checked
//! memory ([`mem::Space`]), one instruction at a time, with a trace that can be stepped back.
//!
//! It implements the instruction forms the trampoline encoder and the kernel's BPF JIT emit
//! ([`step`] lists them); anything else is a typed [`ExecError`] naming the address, the area and
//! the offset in it. No byte sequence makes it panic. Calls that leave the executed code (the
//! kernel functions a trampoline calls) are the caller's business: [`Machine::step`] executes
//! the instruction at rip whatever it is, and a driver such as [`crate::emu`] checks rip against
//! its table of behaviours first.

pub mod cpu;
pub mod kat;
pub mod mem;
pub mod step;

pub use cpu::{flag, Cpu, Gpr};
pub use mem::{Area, AreaKind, MemFault, MemWrite, Perms, Space};
pub use step::StepFault;

use iced_x86::{Decoder, DecoderOptions, Instruction};
use serde::{Deserialize, Serialize};

/// Intel-syntax text of one instruction, as the listings print it.
pub(crate) fn render_intel(ins: &Instruction) -> String {
    crate::tramp::listing::X86Format::new().text(ins, crate::tramp::listing::AsmSyntax::Intel)
}

/// Where an instruction is: its address and, when it is in a mapped area, which one and the
/// offset in it (for the trampoline: the listing's offset column).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Location {
    /// Address.
    pub addr: u64,
    /// The area, if any.
    pub area: Option<AreaKind>,
    /// Offset in the area.
    pub offset: u64,
}

impl std::fmt::Display for Location {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.area {
            Some(a) => write!(f, "{:#x} ({a} + {:#x})", self.addr, self.offset),
            None => write!(f, "{:#x} (unmapped)", self.addr),
        }
    }
}

/// What stopped execution.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ExecErrorKind {
    /// rip is not in executable memory.
    #[error("no executable code there")]
    NotExecutable,
    /// The bytes at rip do not decode.
    #[error("the bytes {bytes:02x?} do not decode as an x86-64 instruction")]
    Undecodable {
        /// Up to 15 bytes at rip.
        bytes: Vec<u8>,
    },
    /// The instruction faulted or is not implemented.
    #[error("{0}")]
    Fault(StepFault),
    /// The step budget ran out.
    #[error("no return after {steps} steps")]
    Budget {
        /// Steps executed.
        steps: u64,
    },
}

/// Why execution stopped, and where.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[error("at {at}: {kind}")]
pub struct ExecError {
    /// The instruction.
    pub at: Location,
    /// What happened.
    pub kind: ExecErrorKind,
}

/// One executed instruction: the machine before and after, and the stores it made.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Executed {
    /// Registers, flags and rip before.
    pub before: Cpu,
    /// After.
    pub after: Cpu,
    /// Stores, with the bytes they replaced.
    pub writes: Vec<MemWrite>,
}

impl Executed {
    /// The registers whose value changed: (register, before, after).
    pub fn changed(&self) -> impl Iterator<Item = (Gpr, u64, u64)> + '_ {
        Gpr::all()
            .map(|g| (g, self.before.get(g), self.after.get(g)))
            .filter(|(_, a, b)| a != b)
    }
    /// The status flags that changed.
    pub fn flags_changed(&self) -> u64 {
        (self.before.rflags ^ self.after.rflags) & flag::STATUS
    }
}

/// The machine: registers and memory. Each step decodes the bytes at rip afresh (iced-x86
/// decodes an instruction in tens of nanoseconds), so code written at run time is seen at once.
#[derive(Clone, Debug, Default)]
pub struct Machine {
    /// Registers, flags, rip.
    pub cpu: Cpu,
    /// Memory.
    pub mem: Space,
}

impl Machine {
    /// A machine over `mem` with zeroed registers (RFLAGS bit 1 set, as on hardware).
    pub fn new(mem: Space) -> Self {
        Machine {
            cpu: Cpu {
                rflags: 2,
                ..Cpu::default()
            },
            mem,
        }
    }

    /// Where `addr` is.
    pub fn locate(&self, addr: u64) -> Location {
        let area = self.mem.area_of(addr);
        Location {
            addr,
            offset: area.map_or(0, |a| addr - a.base),
            area: area.map(|a| a.kind.clone()),
        }
    }

    /// An error at `addr`.
    pub fn error(&self, addr: u64, kind: ExecErrorKind) -> ExecError {
        ExecError {
            at: self.locate(addr),
            kind,
        }
    }

    /// The instruction at `addr`.
    pub fn instruction(&self, addr: u64) -> Result<Instruction, ExecError> {
        let Some(bytes) = self.mem.fetch(addr) else {
            return Err(self.error(addr, ExecErrorKind::NotExecutable));
        };
        let mut d = Decoder::with_ip(64, bytes, addr, DecoderOptions::NONE);
        let ins = d.decode();
        if ins.is_invalid() {
            let bytes = bytes.to_vec();
            return Err(self.error(addr, ExecErrorKind::Undecodable { bytes }));
        }
        Ok(ins)
    }

    /// Executes the instruction at rip. The stores are returned when the memory logs them.
    pub fn step(&mut self) -> Result<Executed, ExecError> {
        let rip = self.cpu.rip;
        let ins = self.instruction(rip)?;
        let before = self.cpu;
        step::execute(&mut self.cpu, &mut self.mem, &ins).map_err(|f| self.error(rip, ExecErrorKind::Fault(f)))?;
        Ok(Executed {
            before,
            after: self.cpu,
            writes: self.mem.take_log(),
        })
    }
}
