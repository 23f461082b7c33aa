//! The executor against hardware: the same scenario's observations from both engines, with
//! addresses made position-independent (the traced function, the data area and the frame are at
//! other addresses on each), must be equal. Every difference names the call, the program, its
//! pass and the frame slot.
//!
//! Expected differences, listed:
//! - memory the trampoline has not written when a program runs (the return-value slot before the
//!   original function was called, the padding slots): on hardware it holds what the stack held,
//!   in the executor [`super::engine::UNINITIALIZED`]; where the executor reads that pattern the
//!   value is not compared.
//!
//! Nothing else is skipped. The helpers whose kernel value depends on the
//! machine (`bpf_ktime_get_ns`, `bpf_get_prandom_u32` without a re-entering traced function,
//! `bpf_get_smp_processor_id`, `bpf_get_current_pid_tgid`) give other values on each engine
//! (see [`super::helpers`]); no example and no random scenario calls them, and a scenario that
//! did would show its difference here rather than have it hidden.

use super::report::{CallResult, Observation};
use crate::tramp::layout::FrameLayout;
use crate::tramp::{Encoded, Pass};
use serde::Serialize;
use std::collections::BTreeMap;

/// The executor's uninitialized stack, as a word.
const UNWRITTEN: Word = Word::Value(super::engine::UNINITIALIZED);

/// A value with its address made relative to what it points into.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum Word {
    /// A plain value.
    Value(u64),
    /// The traced function's address.
    Func,
    /// An address in the first map's value area.
    Data(u64),
    /// An address relative to the trampoline's rbp.
    Frame(i64),
}

impl std::fmt::Display for Word {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Word::Value(v) => write!(f, "{v:#x}"),
            Word::Func => f.pad("func"),
            Word::Data(o) => write!(f, "data+{o:#x}"),
            Word::Frame(o) => write!(f, "rbp{o:+}"),
        }
    }
}

/// One engine's run, as the comparison needs it.
pub struct Side<'a> {
    /// The traced function's address.
    pub func: u64,
    /// The first map's address.
    pub data: u64,
    /// Its length.
    pub data_len: u64,
    /// The calls made.
    pub calls: &'a [CallResult],
    /// Every program run.
    pub observations: &'a [Observation],
    /// The map words after the calls.
    pub map_words: &'a BTreeMap<String, Vec<u64>>,
    /// (runs, misses) per program.
    pub counters: &'a BTreeMap<String, (u64, u64)>,
    /// `__bpf_tramp_enter` / `_exit` calls.
    pub tramp_calls: (u64, u64),
    /// The traced function faulted.
    pub faulted: bool,
}

impl Side<'_> {
    fn word(&self, v: u64, rbp: Option<u64>) -> Word {
        if v == self.func {
            return Word::Func;
        }
        if v.wrapping_sub(self.data) < self.data_len {
            return Word::Data(v - self.data);
        }
        if let Some(rbp) = rbp {
            let o = v.wrapping_sub(rbp) as i64;
            if (-0x1000..0x100).contains(&o) {
                return Word::Frame(o);
            }
        }
        Word::Value(v)
    }
}

/// Which program run a difference is about.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RunId {
    /// The call.
    pub call: usize,
    /// The program.
    pub prog: String,
    /// Its pass, from the encoder's invocations.
    pub pass: Option<Pass>,
}

impl std::fmt::Display for RunId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.pass {
            Some(p) => write!(f, "call {}: {} ({p})", self.call, self.prog),
            None => write!(f, "call {}: {}", self.call, self.prog),
        }
    }
}

/// One way the engines disagree.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, thiserror::Error)]
pub enum Difference {
    /// One engine faulted and the other did not.
    #[error("the traced function faulted on {} only", if *hardware { "hardware" } else { "the executor" })]
    Fault {
        /// Hardware faulted (else the executor).
        hardware: bool,
    },
    /// Another number of calls completed.
    #[error("{hardware} calls completed on hardware, {executor} in the executor")]
    Calls {
        /// On hardware.
        hardware: usize,
        /// In the executor.
        executor: usize,
    },
    /// A call returned another value.
    #[error("call {call}: returned {hardware} on hardware, {executor} in the executor")]
    Returned {
        /// The call.
        call: usize,
        /// On hardware.
        hardware: Word,
        /// In the executor.
        executor: Word,
    },
    /// Other programs ran, or in another order.
    #[error("call {call}: programs ran as [{}] on hardware, [{}] in the executor", hardware.join(", "), executor.join(", "))]
    Runs {
        /// The call.
        call: usize,
        /// On hardware.
        hardware: Vec<String>,
        /// In the executor.
        executor: Vec<String>,
    },
    /// A program saw another value.
    #[error("{run}: {what} is {hardware} on hardware, {executor} in the executor")]
    Seen {
        /// The run.
        run: RunId,
        /// What (`ctx`, `ctx[-1]`, `r0`, `args[0]`, ...).
        what: String,
        /// On hardware.
        hardware: Word,
        /// In the executor.
        executor: Word,
    },
    /// A frame slot held another value before or after a program ran.
    #[error("{run}: slot {slot} {} the program ran is {hardware} on hardware, {executor} in the executor", if *after { "after" } else { "before" })]
    Slot {
        /// The run.
        run: RunId,
        /// The slot.
        slot: String,
        /// After the program ran (else before).
        after: bool,
        /// On hardware.
        hardware: Word,
        /// In the executor.
        executor: Word,
    },
    /// A map word differs after the calls.
    #[error("{map}[{index}] is {hardware} on hardware, {executor} in the executor")]
    Data {
        /// The map.
        map: String,
        /// The word.
        index: usize,
        /// On hardware.
        hardware: Word,
        /// In the executor.
        executor: Word,
    },
    /// A program's counters differ.
    #[error("{prog}: (runs, misses) {hardware:?} on hardware, {executor:?} in the executor")]
    Counters {
        /// The program.
        prog: String,
        /// On hardware.
        hardware: (u64, u64),
        /// In the executor.
        executor: (u64, u64),
    },
    /// The trampoline's enter/exit calls differ.
    #[error("__bpf_tramp_enter/exit calls {hardware:?} on hardware, {executor:?} in the executor")]
    TrampCalls {
        /// On hardware.
        hardware: (u64, u64),
        /// In the executor.
        executor: (u64, u64),
    },
}

/// The passes of a call's program runs, in order, from the encoder's invocations.
fn passes(enc: Option<&Encoded>, runs: &[&Observation]) -> Vec<Option<Pass>> {
    let Some(enc) = enc else {
        return vec![None; runs.len()];
    };
    let mut next = 0;
    runs.iter()
        .map(|o| {
            let k = enc.invocations[next.min(enc.invocations.len())..]
                .iter()
                .position(|i| i.prog == o.prog)?;
            let p = enc.invocations[next + k].pass;
            next += k + 1;
            Some(p)
        })
        .collect()
}

fn slot_name(layout: Option<&FrameLayout>, low_words: usize, j: usize) -> String {
    let off = -(8 * low_words as i32) + 8 * j as i32;
    layout
        .and_then(|l| l.slot_at(off))
        .map_or_else(|| format!("rbp{off:+}"), |s| s.name.clone())
}

/// Compares the two engines' runs of one scenario (`enc` names the passes and slots).
pub fn compare(hw: &Side, emu: &Side, enc: Option<&Encoded>) -> Vec<Difference> {
    let mut d = vec![];
    if hw.faulted != emu.faulted {
        d.push(Difference::Fault { hardware: hw.faulted });
    }
    if hw.calls.len() != emu.calls.len() {
        d.push(Difference::Calls {
            hardware: hw.calls.len(),
            executor: emu.calls.len(),
        });
    }
    for (c, (a, b)) in hw.calls.iter().zip(emu.calls).enumerate() {
        let (x, y) = (hw.word(a.ret, None), emu.word(b.ret, None));
        if x != y {
            d.push(Difference::Returned {
                call: c,
                hardware: x,
                executor: y,
            });
        }
    }
    let ncalls = hw.calls.len().max(emu.calls.len()) + usize::from(hw.faulted || emu.faulted);
    let layout = enc.map(|e| &e.layout);
    for c in 0..ncalls {
        let ha: Vec<&Observation> = hw.observations.iter().filter(|o| o.call == c).collect();
        let ea: Vec<&Observation> = emu.observations.iter().filter(|o| o.call == c).collect();
        let names = |v: &[&Observation]| v.iter().map(|o| o.prog.clone()).collect::<Vec<_>>();
        if names(&ha) != names(&ea) {
            d.push(Difference::Runs {
                call: c,
                hardware: names(&ha),
                executor: names(&ea),
            });
            continue;
        }
        for ((a, b), pass) in ha.iter().zip(&ea).zip(passes(enc, &ea)) {
            let run = RunId {
                call: c,
                prog: a.prog.clone(),
                pass,
            };
            let mut seen = |what: String, x: Word, y: Word| {
                if x != y && y != UNWRITTEN {
                    d.push(Difference::Seen {
                        run: run.clone(),
                        what,
                        hardware: x,
                        executor: y,
                    });
                }
            };
            let (ra, rb) = (Some(a.rbp), Some(b.rbp));
            seen("ctx".into(), hw.word(a.ctx, ra), emu.word(b.ctx, rb));
            seen("ctx[-1]".into(), Word::Value(a.func_meta), Word::Value(b.func_meta));
            let opt = |s: &Side, v: Option<u64>, r| v.map_or(Word::Value(u64::MAX), |v| s.word(v, r));
            seen(
                "the cookie pointer".into(),
                opt(hw, a.cookie_ptr, ra),
                opt(emu, b.cookie_ptr, rb),
            );
            seen(
                "the cookie before".into(),
                opt(hw, a.cookie_before, ra),
                opt(emu, b.cookie_before, rb),
            );
            seen(
                "the cookie after".into(),
                opt(hw, a.cookie_after, ra),
                opt(emu, b.cookie_after, rb),
            );
            for (k, (x, y)) in a.args.iter().zip(&b.args).enumerate() {
                seen(format!("args[{k}]"), hw.word(*x, ra), emu.word(*y, rb));
            }
            seen("the return slot".into(), opt(hw, a.retval, ra), opt(emu, b.retval, rb));
            let r0 = |s: &Side, o: &Observation, r| match &o.r0 {
                Ok(v) => s.word(*v, r),
                Err(_) => Word::Value(u64::MAX),
            };
            seen("r0".into(), r0(hw, a, ra), r0(emu, b, rb));
            for (after, (fa, fb)) in [
                (false, (&a.frame_before, &b.frame_before)),
                (true, (&a.frame_after, &b.frame_after)),
            ] {
                let n = fa.len().max(fb.len());
                for j in 0..n {
                    let x = fa.get(j).map_or(Word::Value(u64::MAX), |v| hw.word(*v, ra));
                    let y = fb.get(j).map_or(Word::Value(u64::MAX), |v| emu.word(*v, rb));
                    if x != y && y != UNWRITTEN {
                        d.push(Difference::Slot {
                            run: run.clone(),
                            slot: slot_name(layout, n, j),
                            after,
                            hardware: x,
                            executor: y,
                        });
                    }
                }
            }
        }
    }
    for (map, hw_words) in hw.map_words {
        let emu_words = emu.map_words.get(map).map(Vec::as_slice).unwrap_or(&[]);
        for index in 0..hw_words.len().max(emu_words.len()) {
            let x = hw_words.get(index).map_or(Word::Value(u64::MAX), |v| hw.word(*v, None));
            let y = emu_words
                .get(index)
                .map_or(Word::Value(u64::MAX), |v| emu.word(*v, None));
            if x != y {
                d.push(Difference::Data {
                    map: map.clone(),
                    index,
                    hardware: x,
                    executor: y,
                });
            }
        }
    }
    for (prog, a) in hw.counters {
        let b = emu.counters.get(prog).copied().unwrap_or((0, 0));
        if *a != b {
            d.push(Difference::Counters {
                prog: prog.clone(),
                hardware: *a,
                executor: b,
            });
        }
    }
    if hw.tramp_calls != emu.tramp_calls {
        d.push(Difference::TrampCalls {
            hardware: hw.tramp_calls,
            executor: emu.tramp_calls,
        });
    }
    d
}
