//! A run's trace: every executed x86 instruction, every modelled call and every BPF instruction
//! of the programs, each with the machine before and after and the stores it made, so that a
//! view can step forward and back through it.

use super::engine::Behaviour;
use crate::x86exec::{Cpu, MemWrite, Space};
use serde::{Deserialize, Serialize};

/// What one event is.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum EventKind {
    /// An x86 instruction at `addr`.
    Insn {
        /// Its address.
        addr: u64,
    },
    /// A modelled kernel function (entered at `addr` and returned from).
    Behaviour {
        /// Which.
        behaviour: Behaviour,
        /// Its address.
        addr: u64,
    },
    /// The kernel stack is filled with the uninitialized pattern before a call.
    StackFilled,
    /// `bpf_func` of a program is entered.
    ProgramStart {
        /// The program.
        prog: usize,
    },
    /// A BPF instruction of a program; `regs` are r0-r10 before it, the stores are its own.
    Bpf {
        /// The program.
        prog: usize,
        /// Slot index in the fixed program.
        pc: usize,
        /// r0-r10 before it.
        regs: [u64; 11],
    },
    /// `bpf_func` returns r0 to the trampoline.
    ProgramEnd {
        /// The program.
        prog: usize,
        /// Its r0.
        r0: u64,
    },
}

/// One step of a trace.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Event {
    /// What.
    pub kind: EventKind,
    /// Registers, flags and rip before.
    pub before: Cpu,
    /// After.
    pub after: Cpu,
    /// Stores, with what they replaced.
    pub writes: Vec<MemWrite>,
}

/// A trace with the memory at its start, and a position in it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Trace {
    /// The events.
    pub events: Vec<Event>,
    /// Memory as it was before the first event.
    pub initial: Space,
}

/// The machine at one point of a trace: after `done` events.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cursor {
    /// Events applied.
    pub done: usize,
    /// Memory after them.
    pub mem: Space,
    /// Registers after them.
    pub cpu: Cpu,
}

impl Trace {
    /// The start of the trace.
    pub fn start(&self) -> Cursor {
        Cursor {
            done: 0,
            mem: self.initial.clone(),
            cpu: self.events.first().map(|e| e.before).unwrap_or_default(),
        }
    }

    /// Moves `c` forward by one event; false at the end.
    pub fn forward(&self, c: &mut Cursor) -> bool {
        let Some(e) = self.events.get(c.done) else {
            return false;
        };
        c.mem.redo(&e.writes);
        c.cpu = e.after;
        c.done += 1;
        true
    }

    /// Moves `c` back by one event; false at the start.
    pub fn back(&self, c: &mut Cursor) -> bool {
        if c.done == 0 {
            return false;
        }
        c.done -= 1;
        let e = &self.events[c.done];
        c.mem.undo(&e.writes);
        c.cpu = e.before;
        true
    }

    /// Moves `c` to after `done` events.
    pub fn seek(&self, c: &mut Cursor, done: usize) {
        let done = done.min(self.events.len());
        while c.done < done && self.forward(c) {}
        while c.done > done && self.back(c) {}
    }
}
