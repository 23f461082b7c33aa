//! A run's outcome against the scenario's expectations and the model's predictions: the same
//! checks for a run on hardware and a run in the executor.

use super::report::{AliasedArg, CallResult, CookieMismatch, Observation, RunProblem};
use crate::scenario::{CheckReport, Scenario};
use crate::tramp::Encoded;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// One program's counters after the calls.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProgCounters {
    /// The program.
    pub name: String,
    /// Times it ran.
    pub runs: u64,
    /// Times it was skipped (already running).
    pub misses: u64,
    /// Its recursion counter (0 when enter and exit balance).
    pub active: i32,
}

/// What a run produced, wherever it ran.
pub struct Outcome<'a> {
    /// The traced function's address (what `func` in a scenario value means).
    pub func: u64,
    /// The first map's address (what `data` means).
    pub data: u64,
    /// The calls.
    pub calls: &'a [CallResult],
    /// Every program run.
    pub observations: &'a [Observation],
    /// The first map's bytes after the calls.
    pub bss: &'a [u8],
    /// Per program.
    pub programs: &'a [ProgCounters],
    /// `__bpf_tramp_enter` / `_exit` calls.
    pub tramp_calls: (u64, u64),
}

/// The verdict on an outcome.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Evaluated {
    /// Everything that differs.
    pub problems: Vec<RunProblem>,
    /// The first map's words.
    pub data: BTreeMap<String, Vec<u64>>,
    /// (runs, misses) per program.
    pub counters: BTreeMap<String, (u64, u64)>,
    /// The contract violation the scenario expects, as the run showed it.
    pub expected_violation: Vec<CookieMismatch>,
}

/// Checks an outcome: returns, data, counters, balance, the programs' errors, and each run's
/// `ctx[-1]` and cookie pointer against the encoder's invocations.
pub fn evaluate(s: &Scenario, report: &CheckReport, enc: Option<&Encoded>, o: &Outcome) -> Evaluated {
    let mut problems = vec![];
    check_returns(s, report, o, &mut problems);
    let data = check_data(s, o, &mut problems);
    let counters = check_runtime(s, o, &mut problems);
    let mut expected_violation = vec![];
    if let Some(enc) = enc {
        let mismatches = check_predictions(enc, o, &mut problems);
        if !s.expect.contract_violation {
            problems.extend(mismatches.into_iter().map(RunProblem::Cookie));
        } else if mismatches.is_empty() {
            problems.push(RunProblem::NoViolation);
        } else {
            expected_violation = mismatches;
        }
    }
    problems.extend(report.problems.iter().cloned().map(RunProblem::Model));
    Evaluated {
        problems,
        data,
        counters,
        expected_violation,
    }
}

/// Each call's return value against the scenario's, at the return type's width.
fn check_returns(s: &Scenario, report: &CheckReport, o: &Outcome, problems: &mut Vec<RunProblem>) {
    let ret_mask = match report.function.ret_size {
        0 => 0,
        n if n >= 8 => u64::MAX,
        n => (1u64 << (8 * n)) - 1,
    };
    for (c, (spec, res)) in s.calls.iter().zip(o.calls).enumerate() {
        let Some(w) = spec.ret.and_then(|want| want.resolve(o.func, o.data)) else {
            continue;
        };
        if (res.ret & ret_mask) != (w & ret_mask) {
            problems.push(RunProblem::Returned {
                call: c,
                got: res.ret & ret_mask,
                want: w,
            });
        }
    }
}

/// The first map's words, against the scenario's expectations.
fn check_data(s: &Scenario, o: &Outcome, problems: &mut Vec<RunProblem>) -> BTreeMap<String, Vec<u64>> {
    let mut data = BTreeMap::new();
    let Some(m) = s.maps.first() else {
        return data;
    };
    let words: Vec<u64> = o
        .bss
        .chunks(8)
        .map(|c| {
            let mut b = [0u8; 8];
            b[..c.len()].copy_from_slice(c);
            u64::from_le_bytes(b)
        })
        .collect();
    for (index, v) in s.expect.data.get(&m.name).into_iter().flatten().enumerate() {
        if let Some(want) = v.resolve(o.func, o.data) {
            let got = words.get(index).copied();
            if got != Some(want) {
                problems.push(RunProblem::Data {
                    map: m.name.clone(),
                    index,
                    got,
                    want,
                });
            }
        }
    }
    data.insert(m.name.clone(), words);
    data
}

/// Run and miss counters, enter/exit balance and the programs' own errors.
fn check_runtime(s: &Scenario, o: &Outcome, problems: &mut Vec<RunProblem>) -> BTreeMap<String, (u64, u64)> {
    let counters: BTreeMap<String, (u64, u64)> = o
        .programs
        .iter()
        .map(|p| (p.name.clone(), (p.runs, p.misses)))
        .collect();
    for (name, want) in &s.expect.counters {
        let (runs, misses) = counters.get(name).copied().unwrap_or((0, 0));
        if want.runs.is_some_and(|r| r != runs) || want.misses.is_some_and(|m| m != misses) {
            problems.push(RunProblem::Counters {
                prog: name.clone(),
                runs,
                misses,
                want_runs: want.runs,
                want_misses: want.misses,
            });
        }
    }
    let (enters, exits) = o.tramp_calls;
    if enters != exits {
        problems.push(RunProblem::TrampUnbalanced { enters, exits });
    }
    for p in o.programs.iter().filter(|p| p.active != 0) {
        problems.push(RunProblem::Recursion {
            prog: p.name.clone(),
            active: p.active,
        });
    }
    for ob in o.observations {
        if let Err(error) = &ob.r0 {
            problems.push(RunProblem::ProgramFailed {
                call: ob.call,
                prog: ob.prog.clone(),
                error: error.clone(),
            });
        }
    }
    counters
}

/// The model's predictions: each run sees the ctx[-1] the model computed, and cookie users get
/// the slot the model reserved. Returns the cookie mismatches (a contract violation).
fn check_predictions(enc: &Encoded, out: &Outcome, problems: &mut Vec<RunProblem>) -> Vec<CookieMismatch> {
    let mut mismatches = vec![];
    for (c, call) in out.calls.iter().enumerate() {
        let runs: Vec<&Observation> = out.observations.iter().filter(|o| o.call == c).collect();
        let mut next = 0usize;
        for o in &runs {
            let Some(k) = enc.invocations[next..].iter().position(|i| i.prog == o.prog) else {
                problems.push(RunProblem::NotInvoked {
                    call: c,
                    prog: o.prog.clone(),
                });
                continue;
            };
            let inv = &enc.invocations[next + k];
            next += k + 1;
            if o.func_meta != inv.func_meta {
                problems.push(RunProblem::FuncMeta {
                    call: c,
                    prog: o.prog.clone(),
                    pass: inv.pass,
                    seen: o.func_meta,
                    predicted: inv.func_meta,
                });
            }
            let Some(ptr) = o.cookie_ptr else { continue };
            let l = &enc.layout;
            let intended = inv.cookie_index.filter(|&i| i > 0).map(|i| o.ctx - 8 * i);
            if Some(ptr) == intended {
                continue;
            }
            let slot = l
                .slot_at((ptr as i64 - (o.ctx as i64 + l.regs_off as i64)) as i32)
                .map(|s| s.name.clone());
            let aliased_arg1 = (ptr == o.ctx).then(|| AliasedArg {
                passed: call.words.first().copied().unwrap_or(0),
                seen: runs.iter().map(|x| x.args.first().copied().unwrap_or(0)).collect(),
            });
            mismatches.push(CookieMismatch {
                call: c,
                prog: o.prog.clone(),
                pass: inv.pass,
                ptr,
                below_ctx: o.ctx - ptr,
                slot,
                intended,
                aliased_arg1,
            });
        }
    }
    mismatches
}
