//! Stepping through one call in the executor: the recorded trace, a position in it, and what a
//! view shows there (registers with the changed ones marked, the frame's slots with their live
//! values and which were written, `ctx[-1]` decoded, the instruction about to run: a trampoline
//! offset, a modelled kernel function or a BPF instruction of a program with its registers).
//! The playground and the docs widget render this; they compute nothing themselves.

use super::engine::Behaviour;
use super::run::{make_calls, place_engine, EmuError, EmuOptions};
use super::trace::{Cursor, EventKind, Trace};
use crate::isa::Insn;
use crate::kernel::profile::MetaLayout;
use crate::scenario::{CheckReport, Scenario};
use crate::tramp::build::Placement;
use crate::tramp::layout::FrameLayout;
use crate::tramp::Encoded;
use crate::x86exec::{Cpu, ExecError, Gpr};

/// A recorded call.
#[derive(Clone, Debug)]
pub struct Recorded {
    /// The trace.
    pub trace: Trace,
    /// The frame.
    pub layout: FrameLayout,
    /// The programs by run index, with their fixed instructions.
    pub programs: Vec<(String, Vec<Insn>)>,
    /// The trampoline's address and length.
    pub image: (u64, u64),
    /// The verifier's view of `ctx[-1]`.
    pub verifier_meta: MetaLayout,
    /// The argument words and what the call returned (`None`: it stopped).
    pub call: (Vec<u64>, Option<u64>),
    /// Where it stopped, if it did.
    pub stopped: Option<ExecError>,
}

/// Records one call of the traced function with `words`.
pub fn record(
    s: &Scenario,
    report: &CheckReport,
    enc: &Encoded,
    place: &Placement,
    words: Vec<u64>,
) -> Result<Recorded, EmuError> {
    let mut e = place_engine(s, report, Some(enc), place)?;
    let programs = e
        .progs
        .iter()
        .map(|p| (p.name.clone(), p.prepared.insns().to_vec()))
        .collect();
    let opts = EmuOptions {
        trace: true,
        only: Some(words.clone()),
        ..EmuOptions::default()
    };
    let calls = make_calls(s, &mut e, opts)?;
    Ok(Recorded {
        trace: calls.trace.unwrap_or(Trace {
            events: vec![],
            initial: e.m.mem.clone(),
        }),
        layout: enc.layout.clone(),
        programs,
        image: (place.image, enc.bytes.len() as u64),
        verifier_meta: report.profile.verifier_meta,
        call: (words, calls.calls.first().map(|c| c.ret)),
        stopped: calls.fault,
    })
}

/// Where execution is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum At {
    /// Before the first event.
    Start,
    /// An x86 instruction of the trampoline (its offset in the image), or elsewhere.
    Insn {
        /// Address.
        addr: u64,
        /// Offset in the trampoline, if it is in it.
        offset: Option<u64>,
    },
    /// A modelled kernel function.
    Behaviour(Behaviour),
    /// A BPF instruction of a program.
    Bpf {
        /// The program (run index).
        prog: usize,
        /// Slot index in the fixed program.
        pc: usize,
        /// r0-r10 before it.
        regs: [u64; 11],
        /// Which of them changed since the program's previous instruction.
        changed: [bool; 11],
    },
    /// The program is entered or returns.
    Program {
        /// The program.
        prog: usize,
        /// Returning (with r0), else entering.
        r0: Option<u64>,
    },
    /// The stack is filled before the call.
    StackFilled,
    /// The call is complete.
    End,
}

/// A frame slot now.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SlotNow {
    /// Its name.
    pub name: String,
    /// `rbp + rbp_off`.
    pub rbp_off: i32,
    /// Its value (`None`: not readable now).
    pub value: Option<u64>,
    /// Written since the call began.
    pub written: bool,
    /// Written by the event just executed.
    pub just_written: bool,
}

/// What a view shows at a position.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StepView {
    /// Events executed.
    pub done: usize,
    /// Events in all.
    pub total: usize,
    /// What runs next.
    pub next: At,
    /// The machine now.
    pub cpu: Cpu,
    /// Registers the event just executed changed.
    pub changed: Vec<Gpr>,
    /// Flags it changed.
    pub flags_changed: u64,
    /// The frame, from rbp downwards.
    pub slots: Vec<SlotNow>,
    /// `ctx[-1]` now and as the verifier's inlines read it.
    pub meta: Option<(u64, (u64, u64, bool))>,
}

/// Where to run to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Goal {
    /// The next program call (a `bpf_func` entered).
    ProgramCall,
    /// The next pass: the traced function's body, or the end.
    Pass,
    /// The next time the trampoline instruction at this offset is about to run.
    Offset(u64),
    /// The end.
    End,
}

impl Recorded {
    /// The first map's words after the call, as `.bss = [w0, w1, ...]` (empty without maps).
    pub fn data_words(&self) -> String {
        let mut end = self.start();
        self.trace.seek(&mut end, self.trace.events.len());
        let Some(a) = end.mem.area(&crate::x86exec::AreaKind::Map { index: 0 }) else {
            return String::new();
        };
        let words: Vec<String> = a
            .bytes
            .chunks(8)
            .map(|c| {
                let mut b = [0u8; 8];
                b[..c.len()].copy_from_slice(c);
                format!("{:#x}", u64::from_le_bytes(b))
            })
            .collect();
        format!("data after the call: [{}]", words.join(", "))
    }

    /// A cursor at the start.
    pub fn start(&self) -> Cursor {
        self.trace.start()
    }

    fn at(&self, i: usize) -> At {
        let Some(e) = self.trace.events.get(i) else {
            return At::End;
        };
        match &e.kind {
            EventKind::Insn { addr } => {
                let off = addr.wrapping_sub(self.image.0);
                At::Insn {
                    addr: *addr,
                    offset: (off < self.image.1).then_some(off),
                }
            }
            EventKind::Behaviour { behaviour, .. } => At::Behaviour(*behaviour),
            EventKind::Bpf { prog, pc, regs } => {
                let prev = self.trace.events[..i].iter().rev().find_map(|p| match &p.kind {
                    EventKind::Bpf { prog: q, regs, .. } if q == prog => Some(*regs),
                    EventKind::ProgramStart { .. } => Some(*regs),
                    _ => None,
                });
                let mut changed = [false; 11];
                if let Some(p) = prev {
                    for k in 0..11 {
                        changed[k] = p[k] != regs[k];
                    }
                }
                At::Bpf {
                    prog: *prog,
                    pc: *pc,
                    regs: *regs,
                    changed,
                }
            }
            EventKind::ProgramStart { prog } => At::Program { prog: *prog, r0: None },
            EventKind::ProgramEnd { prog, r0 } => At::Program {
                prog: *prog,
                r0: Some(*r0),
            },
            EventKind::StackFilled => At::StackFilled,
        }
    }

    /// What the view shows at `c`.
    pub fn view(&self, c: &Cursor) -> StepView {
        let last = c.done.checked_sub(1).and_then(|i| self.trace.events.get(i));
        let (changed, flags_changed) = match last {
            Some(e) => (
                Gpr::all().filter(|&g| e.before.get(g) != e.after.get(g)).collect(),
                (e.before.rflags ^ e.after.rflags) & crate::x86exec::flag::STATUS,
            ),
            None => (vec![], 0),
        };
        let rbp = c.cpu.get(Gpr::RBP);
        // Written since the stack was filled for this call.
        let since = self.trace.events[..c.done]
            .iter()
            .rposition(|e| e.kind == EventKind::StackFilled)
            .map_or(0, |i| i + 1);
        let hits = |e: &super::trace::Event, a: u64, n: u64| {
            e.writes.iter().any(|w| w.addr < a + n && a < w.addr + w.size as u64)
        };
        let slots = self
            .layout
            .slots
            .iter()
            .map(|s| {
                let a = rbp.wrapping_add(s.rbp_off as i64 as u64);
                let n = u64::from(s.size.min(8));
                SlotNow {
                    name: s.name.clone(),
                    rbp_off: s.rbp_off,
                    value: c.mem.read(a, n as u8).ok(),
                    written: self.trace.events[since..c.done].iter().any(|e| hits(e, a, n)),
                    just_written: last.is_some_and(|e| hits(e, a, n)),
                }
            })
            .collect();
        let meta_addr = rbp.wrapping_sub(self.layout.func_meta_off as u64);
        let meta = c.mem.read(meta_addr, 8).ok().map(|w| (w, self.verifier_meta.decode(w)));
        StepView {
            done: c.done,
            total: self.trace.events.len(),
            next: if c.done == 0 && self.trace.events.is_empty() {
                At::Start
            } else {
                self.at(c.done)
            },
            cpu: c.cpu,
            changed,
            flags_changed,
            slots,
            meta,
        }
    }

    /// The position after `from` where `goal` is next reached (the end if never).
    pub fn find(&self, from: usize, goal: Goal) -> usize {
        let ev = &self.trace.events;
        let hit = |i: usize| match (&ev[i].kind, goal) {
            (EventKind::ProgramStart { .. }, Goal::ProgramCall) => true,
            (EventKind::Behaviour { behaviour, .. }, Goal::Pass) => *behaviour == Behaviour::TracedBody,
            (EventKind::Insn { addr }, Goal::Offset(o)) => addr.wrapping_sub(self.image.0) == o,
            _ => false,
        };
        (from + 1..ev.len()).find(|&i| hit(i)).unwrap_or(ev.len())
    }
}
