//! What a native run reports: the calls, what each program saw, and every difference from the
//! scenario's expectations and the model's predictions, as typed values. The child serialises
//! the report; the parent reads it back into these same types.

use super::rt::Observation;
use fsession_core::interp::VmError;
use fsession_core::scenario::Problem;
use fsession_core::tramp::Pass;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// One call's outcome.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct CallResult {
    /// Argument words as passed.
    pub words: Vec<u64>,
    /// Return value.
    pub ret: u64,
}

/// What happened on hardware.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ExecReport {
    /// Scenario description.
    pub description: String,
    /// Profile used.
    pub profile: String,
    /// The traced function's prototype.
    pub function: String,
    /// Where the traced function (its patched entry) is.
    pub func_addr: u64,
    /// Where the trampoline is.
    pub tramp_addr: u64,
    /// Trampoline size in bytes (0 if the function is not traced).
    pub tramp_len: usize,
    /// The calls.
    pub calls: Vec<CallResult>,
    /// Every program run, in order.
    pub observations: Vec<Observation>,
    /// Map contents after the calls, as u64 words.
    pub data: BTreeMap<String, Vec<u64>>,
    /// (runs, misses) per program.
    pub counters: BTreeMap<String, (u64, u64)>,
    /// `__bpf_tramp_enter` / `__bpf_tramp_exit` calls.
    pub tramp_calls: (u64, u64),
    /// Everything that differs from the expectations or the model.
    pub problems: Vec<RunProblem>,
    /// The contract check found the violation the scenario expects, and hardware showed it.
    pub expected_violation: Vec<CookieMismatch>,
    /// What the cross-check against the wasm build compared (with `--via-wasm`).
    #[serde(default)]
    pub wasm: Option<WasmChecked>,
}

/// What the cross-check against the wasm build found identical.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WasmChecked {
    /// Programs whose fixups were compared.
    pub fixed_programs: usize,
    /// Trampoline bytes compared (and executed from the wasm build); `None` without a trampoline.
    pub trampoline_bytes: Option<usize>,
}

impl std::fmt::Display for WasmChecked {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.trampoline_bytes {
            Some(n) => write!(
                f,
                "wasm build: fixups of {} programs, every rendered listing, program, explanation and the Markdown, the frame layout and all {n} trampoline bytes identical; executing the wasm build's bytes",
                self.fixed_programs
            ),
            None => write!(
                f,
                "wasm build: fixups of {} programs identical (no trampoline)",
                self.fixed_programs
            ),
        }
    }
}

/// Where `bpf_session_cookie()` pointed when that is not the slot the model reserved.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CookieMismatch {
    /// The scenario call.
    pub call: usize,
    /// The program.
    pub prog: String,
    /// The pass.
    pub pass: Pass,
    /// The pointer returned.
    pub ptr: u64,
    /// `ctx - ptr`.
    pub below_ctx: u64,
    /// The frame slot at the pointer (`None`: outside the frame).
    pub slot: Option<String>,
    /// The model's cookie slot (`None`: the trampoline reserved none).
    pub intended: Option<u64>,
    /// When the pointer is ctx itself: argument 1 as passed and as each program of the call saw
    /// it, since writing the cookie overwrote it.
    pub aliased_arg1: Option<AliasedArg>,
}

/// Argument 1 as passed and as successive programs saw it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AliasedArg {
    /// As passed.
    pub passed: u64,
    /// As each program of the call saw it, in order.
    pub seen: Vec<u64>,
}

impl std::fmt::Display for CookieMismatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "call {}: {} ({}): bpf_session_cookie() returned {:#x} = ctx - {} ({}); ",
            self.call,
            self.prog,
            self.pass,
            self.ptr,
            self.below_ctx,
            self.slot.as_deref().unwrap_or("outside the frame")
        )?;
        match self.intended {
            Some(i) => write!(f, "the model's cookie slot is {i:#x}")?,
            None => f.write_str("the trampoline reserved no cookie slot")?,
        }
        if let Some(a) = &self.aliased_arg1 {
            let seen: Vec<String> = a.seen.iter().map(|v| format!("{v:#x}")).collect();
            write!(
                f,
                ": the cookie pointer is ctx, so writing the cookie overwrote argument 1 (passed {:#x}; seen by successive programs as {})",
                a.passed,
                seen.join(", ")
            )?;
        }
        Ok(())
    }
}

/// One difference between a run and what the scenario expects or the model predicts.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
pub enum RunProblem {
    /// A call returned another value (at the return type's width).
    #[error("call {call}: returned {got:#x}, expected {want:#x}")]
    Returned {
        /// The call.
        call: usize,
        /// What it returned.
        got: u64,
        /// What the scenario expects.
        want: u64,
    },
    /// A word of the first map differs.
    #[error("{map}[{index}] (offset {}) = {}, expected {want:#x}", 8 * index, got.map_or("missing".to_string(), |g| format!("{g:#x}")))]
    Data {
        /// The map.
        map: String,
        /// The word's index.
        index: usize,
        /// Its value (`None`: past the map's end).
        got: Option<u64>,
        /// What the scenario expects.
        want: u64,
    },
    /// A program's run or miss counter differs.
    #[error("{prog}: ran {runs} times with {misses} misses, expected runs {want_runs:?} misses {want_misses:?}")]
    Counters {
        /// The program.
        prog: String,
        /// Runs.
        runs: u64,
        /// Misses.
        misses: u64,
        /// Expected runs, if stated.
        want_runs: Option<u64>,
        /// Expected misses, if stated.
        want_misses: Option<u64>,
    },
    /// `__bpf_tramp_enter` and `_exit` were not called equally often.
    #[error("__bpf_tramp_enter called {enters} times, __bpf_tramp_exit {exits}")]
    TrampUnbalanced {
        /// Enter calls.
        enters: u64,
        /// Exit calls.
        exits: u64,
    },
    /// A program's recursion counter did not return to 0.
    #[error("{prog}: recursion counter is {active} after the calls (enter/exit unbalanced)")]
    Recursion {
        /// The program.
        prog: String,
        /// The counter.
        active: i32,
    },
    /// A program stopped with an error in the interpreter.
    #[error("call {call}: {prog} failed: {error}")]
    ProgramFailed {
        /// The call.
        call: usize,
        /// The program.
        prog: String,
        /// The interpreter's error.
        error: VmError,
    },
    /// A program ran that the model does not invoke (again) in this call.
    #[error("call {call}: {prog} ran, but the model has no further invocation of it")]
    NotInvoked {
        /// The call.
        call: usize,
        /// The program.
        prog: String,
    },
    /// A program saw another `ctx[-1]` than the model predicts.
    #[error("call {call}: {prog} ({pass}) saw ctx[-1] = {seen:#x}, the model predicts {predicted:#x}")]
    FuncMeta {
        /// The call.
        call: usize,
        /// The program.
        prog: String,
        /// The pass.
        pass: Pass,
        /// What it saw.
        seen: u64,
        /// What the model predicts.
        predicted: u64,
    },
    /// A cookie pointer is not the model's slot.
    #[error("{0}")]
    Cookie(CookieMismatch),
    /// The scenario expects a contract violation, and hardware showed none.
    #[error("the scenario expects a contract violation, but every program got its cookie slot on hardware")]
    NoViolation,
    /// The scenario expects a fault in the traced function, and the calls returned.
    #[error("the scenario expects a fault in the traced function, the calls returned")]
    NoFault,
    /// What the model's check of the scenario found.
    #[error("{0}")]
    Model(Problem),
}
