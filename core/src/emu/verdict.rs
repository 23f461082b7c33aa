//! The contract check from execution: for every program run, what the fixed-up code actually
//! got when it ran on the executed frame (each inlined kfunc's and helper's r0, the slot each of
//! its reads and the cookie writes hit, identified by address in that frame), against what the
//! frame layout says the program should get. The bookkeeping check ([`crate::tramp::contract`])
//! is the intended side; this one follows from the bytes.

use super::report::{Access, Observation};
use super::run::{make_calls, place_engine, Calls, EmuError, EmuOptions};
use crate::kernel::fixup::Inlined;
use crate::kernel::program::AttachType;
use crate::scenario::{CheckReport, Scenario};
use crate::tramp::build::Placement;
use crate::tramp::contract::Invoked;
use crate::tramp::layout::FrameLayout;
use crate::tramp::{Encoded, Pass};
use serde::{Deserialize, Serialize};

/// An address in the executed frame.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FrameAddr {
    /// `rbp + rbp_off`, with rbp as the trampoline had it.
    pub rbp_off: i64,
    /// The slot there (`None`: outside the frame's slots).
    pub slot: Option<String>,
}

impl FrameAddr {
    fn at(addr: u64, rbp: u64, l: &FrameLayout) -> FrameAddr {
        let rbp_off = addr.wrapping_sub(rbp) as i64;
        let slot = i32::try_from(rbp_off)
            .ok()
            .and_then(|o| l.slot_at(o))
            .map(|s| s.name.clone());
        FrameAddr { rbp_off, slot }
    }
}

impl std::fmt::Display for FrameAddr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.slot {
            Some(s) => write!(f, "{s} (rbp{:+})", self.rbp_off),
            None => write!(f, "rbp{:+} (no slot)", self.rbp_off),
        }
    }
}

/// What one inlined call returned when it ran.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Returned {
    /// Which.
    pub what: Inlined,
    /// Its r0.
    pub r0: u64,
    /// Where its frame reads landed.
    pub reads: Vec<FrameAddr>,
    /// For `bpf_session_cookie`: where the pointer it returned points.
    pub points_to: Option<FrameAddr>,
}

/// A store of a program through the pointer `bpf_session_cookie()` gave it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CookieWrite {
    /// Where it landed.
    pub at: FrameAddr,
    /// The value stored.
    pub value: u64,
}

/// A disagreement the execution showed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ExecProblem {
    /// `bpf_session_cookie()` returned a pointer to another slot than the program's cookie.
    #[error("call {call}: {who}: bpf_session_cookie() returned a pointer to {got}; {}", match want { Some(w) => format!("its cookie slot is {w}"), None => "the trampoline reserved no cookie slot for it".into() })]
    CookieSlot {
        /// The call.
        call: usize,
        /// The invocation.
        who: Invoked,
        /// Where it points.
        got: FrameAddr,
        /// The cookie slot.
        want: Option<FrameAddr>,
    },
    /// A store through the cookie pointer landed outside the program's cookie slot.
    #[error("call {call}: {who}: the cookie write of {value:#x} landed in {at}")]
    CookieWrite {
        /// The call.
        call: usize,
        /// The invocation.
        who: Invoked,
        /// Where.
        at: FrameAddr,
        /// What.
        value: u64,
    },
    /// `bpf_session_is_return()` returned the wrong pass.
    #[error("call {call}: {who}: bpf_session_is_return() returned {got}")]
    IsReturn {
        /// The call.
        call: usize,
        /// The invocation.
        who: Invoked,
        /// Its r0.
        got: u64,
    },
    /// `bpf_get_func_arg_cnt()` returned another count than the function's slots.
    #[error("call {call}: {who}: bpf_get_func_arg_cnt() returned {got}, the function has {want} argument slots")]
    ArgCount {
        /// The call.
        call: usize,
        /// The invocation.
        who: Invoked,
        /// Its r0.
        got: u64,
        /// The slots.
        want: u64,
    },
    /// `bpf_get_func_ip()` returned another address than the traced function's.
    #[error("call {call}: {who}: bpf_get_func_ip() returned {got:#x}, the function is at {want:#x}")]
    FuncIp {
        /// The call.
        call: usize,
        /// The invocation.
        who: Invoked,
        /// Its r0.
        got: u64,
        /// The function.
        want: u64,
    },
    /// The word the executed trampoline stored in `ctx[-1]` is not the one the encoder intended.
    #[error(
        "call {call}: {who}: the executed trampoline stored ctx[-1] = {stored:#x}, the encoder intended {intended:#x}"
    )]
    MetaWord {
        /// The call.
        call: usize,
        /// The invocation.
        who: Invoked,
        /// What the program found.
        stored: u64,
        /// What the encoder's bookkeeping says.
        intended: u64,
    },
    /// An inlined read landed outside the slot it is for.
    #[error("call {call}: {who}: {what}() read {got}, not {want}")]
    ReadSlot {
        /// The call.
        call: usize,
        /// The invocation.
        who: Invoked,
        /// The inline.
        what: Inlined,
        /// Where it read.
        got: FrameAddr,
        /// The slot it is for (`func_meta`, `ip`, `retval` or an argument).
        want: String,
    },
    /// The traced function received other arguments than the caller passed.
    #[error("call {call}: the traced function received argument word {index} = {received:#x}, the caller passed {passed:#x}; it returned {returned}")]
    Argument {
        /// The call.
        call: usize,
        /// The word.
        index: usize,
        /// As passed.
        passed: u64,
        /// As received.
        received: u64,
        /// What the function returned (`-` if it faulted).
        returned: String,
    },
}

/// One program run, as executed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExecLine {
    /// The call.
    pub call: usize,
    /// The invocation.
    pub who: Invoked,
    /// ctx as an rbp offset.
    pub ctx_off: i64,
    /// `ctx[-1]` when it was called.
    pub func_meta: u64,
    /// Each inlined call's result.
    pub returned: Vec<Returned>,
    /// Its stores through the cookie pointer.
    pub cookie_writes: Vec<CookieWrite>,
    /// r0 of the program (`None`: it failed).
    pub r0: Option<u64>,
    /// Disagreements.
    pub problems: Vec<ExecProblem>,
}

/// The verdict of a run.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExecContract {
    /// One line per program run.
    pub lines: Vec<ExecLine>,
    /// Problems of the calls themselves (what the traced function received).
    pub call_problems: Vec<ExecProblem>,
    /// Each call: (argument words passed, return value).
    pub calls: Vec<(Vec<u64>, u64)>,
    /// Where execution stopped early, if it did.
    pub stopped: Option<String>,
    /// x86 steps executed.
    pub steps: u64,
}

impl ExecContract {
    /// Every program got what the layout says, and the traced function its arguments.
    pub fn holds(&self) -> bool {
        self.lines.iter().all(|l| l.problems.is_empty()) && self.call_problems.is_empty()
    }
    /// Every problem, in order.
    pub fn problems(&self) -> impl Iterator<Item = &ExecProblem> {
        self.lines.iter().flat_map(|l| &l.problems).chain(&self.call_problems)
    }
}

/// Runs the scenario's calls (one call with zero arguments if it has none) on the trampoline
/// encoded for `place`, and judges what each program got.
pub fn execute(
    s: &Scenario,
    report: &CheckReport,
    enc: &Encoded,
    place: &Placement,
) -> Result<(ExecContract, Calls), EmuError> {
    let mut e = place_engine(s, report, Some(enc), place)?;
    let opts = EmuOptions {
        default_call: true,
        ..EmuOptions::default()
    };
    let run = make_calls(s, &mut e, opts)?;
    Ok((judge(&run, enc, place.func), run))
}

/// Judges a run against the layout and the encoder's invocations.
pub fn judge(run: &Calls, enc: &Encoded, func_addr: u64) -> ExecContract {
    let l = &enc.layout;
    let mut lines = vec![];
    let ncalls = run.calls.len() + usize::from(run.fault.is_some());
    for c in 0..ncalls {
        let mut next = 0usize;
        for o in run.observations.iter().filter(|o| o.call == c) {
            let Some(k) = enc.invocations[next..].iter().position(|i| i.prog == o.prog) else {
                continue;
            };
            let inv = &enc.invocations[next + k];
            next += k + 1;
            let who = Invoked {
                prog: inv.prog.clone(),
                attach: inv.attach,
                pass: inv.pass,
            };
            let mut line = judge_one(c, who, o, inv.cookie_index, l, func_addr);
            if o.func_meta != inv.func_meta {
                line.problems.insert(
                    0,
                    ExecProblem::MetaWord {
                        call: c,
                        who: line.who.clone(),
                        stored: o.func_meta,
                        intended: inv.func_meta,
                    },
                );
            }
            lines.push(line);
        }
    }
    let mut call_problems = vec![];
    for b in &run.body_calls {
        let Some(passed) = run.calls.get(b.call).map(|c| &c.words) else {
            continue;
        };
        for (index, (p, r)) in passed.iter().zip(&b.args).enumerate() {
            if p != r {
                call_problems.push(ExecProblem::Argument {
                    call: b.call,
                    index,
                    passed: *p,
                    received: *r,
                    returned: b.ret.map_or("-".into(), |v| format!("{v:#x}")),
                });
            }
        }
    }
    ExecContract {
        lines,
        call_problems,
        calls: run.calls.iter().map(|c| (c.words.clone(), c.ret)).collect(),
        stopped: run.fault.as_ref().map(|f| f.to_string()),
        steps: run.steps,
    }
}

fn judge_one(
    call: usize,
    who: Invoked,
    o: &Observation,
    cookie_index: Option<u64>,
    l: &FrameLayout,
    func_addr: u64,
) -> ExecLine {
    let at = |a: u64| FrameAddr::at(a, o.rbp, l);
    let empty = Default::default();
    let seen = o.seen.as_deref().unwrap_or(&empty);
    let mut problems = vec![];
    let mut returned = vec![];
    let mut cookie_ptrs = vec![];
    let want_cookie = cookie_index.filter(|&i| i > 0).map(|i| at(o.ctx.wrapping_sub(8 * i)));
    for r in &seen.inlined {
        let reads: Vec<&Access> = r
            .accesses
            .iter()
            .filter_map(|&i| seen.accesses.get(i))
            .filter(|a| !a.write)
            .collect();
        let read_at: Vec<FrameAddr> = reads.iter().map(|a| at(a.addr)).collect();
        let points_to = (r.what == Inlined::BpfSessionCookie).then(|| at(r.r0));
        let expect_slot = |name: &str, problems: &mut Vec<ExecProblem>| {
            for got in &read_at {
                if got.slot.as_deref() != Some(name) {
                    problems.push(ExecProblem::ReadSlot {
                        call,
                        who: who.clone(),
                        what: r.what,
                        got: got.clone(),
                        want: name.into(),
                    });
                }
            }
        };
        match r.what {
            Inlined::BpfSessionCookie => {
                cookie_ptrs.push(r.r0);
                let got = at(r.r0);
                if Some(&got) != want_cookie.as_ref() {
                    problems.push(ExecProblem::CookieSlot {
                        call,
                        who: who.clone(),
                        got,
                        want: want_cookie.clone(),
                    });
                }
                expect_slot("func_meta", &mut problems);
            }
            Inlined::BpfSessionIsReturn => {
                if r.r0 != u64::from(who.pass == Pass::Exit) {
                    problems.push(ExecProblem::IsReturn {
                        call,
                        who: who.clone(),
                        got: r.r0,
                    });
                }
                expect_slot("func_meta", &mut problems);
            }
            Inlined::BpfGetFuncArgCnt => {
                let want = l.nr_regs as u64;
                if who.attach != AttachType::TpBtf && r.r0 != want {
                    problems.push(ExecProblem::ArgCount {
                        call,
                        who: who.clone(),
                        got: r.r0,
                        want,
                    });
                }
                expect_slot("func_meta", &mut problems);
            }
            Inlined::BpfGetFuncIp => {
                if r.r0 != func_addr {
                    problems.push(ExecProblem::FuncIp {
                        call,
                        who: who.clone(),
                        got: r.r0,
                        want: func_addr,
                    });
                }
                expect_slot("ip", &mut problems);
            }
            Inlined::BpfGetFuncArg | Inlined::BpfGetFuncRet => {
                // The first read is ctx[-1]; the second, if any, the argument or the return value.
                if let Some(first) = read_at.first() {
                    if first.slot.as_deref() != Some("func_meta") {
                        problems.push(ExecProblem::ReadSlot {
                            call,
                            who: who.clone(),
                            what: r.what,
                            got: first.clone(),
                            want: "func_meta".into(),
                        });
                    }
                }
                if let Some(second) = read_at.get(1) {
                    let ok = match r.what {
                        Inlined::BpfGetFuncRet => second.slot.as_deref() == Some("retval"),
                        _ => second.slot.as_deref().is_some_and(|s| s.starts_with("arg")),
                    };
                    if !ok {
                        let want = if r.what == Inlined::BpfGetFuncRet {
                            "retval"
                        } else {
                            "an argument slot"
                        };
                        problems.push(ExecProblem::ReadSlot {
                            call,
                            who: who.clone(),
                            what: r.what,
                            got: second.clone(),
                            want: want.into(),
                        });
                    }
                }
            }
        }
        returned.push(Returned {
            what: r.what,
            r0: r.r0,
            reads: read_at,
            points_to,
        });
    }
    let cookie_writes: Vec<CookieWrite> = seen
        .accesses
        .iter()
        .filter(|a| a.write && cookie_ptrs.contains(&a.addr))
        .map(|a| CookieWrite {
            at: at(a.addr),
            value: a.value.unwrap_or(0),
        })
        .collect();
    for w in &cookie_writes {
        if Some(&w.at) != want_cookie.as_ref() {
            problems.push(ExecProblem::CookieWrite {
                call,
                who: who.clone(),
                at: w.at.clone(),
                value: w.value,
            });
        }
    }
    ExecLine {
        call,
        who,
        ctx_off: o.ctx.wrapping_sub(o.rbp) as i64,
        func_meta: o.func_meta,
        returned,
        cookie_writes,
        r0: o.r0.as_ref().ok().copied(),
        problems,
    }
}
