//! What a run of a scenario reports, on hardware or in the executor: the calls, what each
//! program saw, and every difference from the scenario's expectations and the model's
//! predictions, as typed values (the native child serialises them; the parent reads them back).

use crate::interp::VmError;
use crate::scenario::Problem;
use crate::tramp::Pass;
use serde::{Deserialize, Serialize};

/// One call's outcome.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct CallResult {
    /// Argument words as passed.
    pub words: Vec<u64>,
    /// Return value.
    pub ret: u64,
}

/// What one program saw when it ran.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Observation {
    /// Program.
    pub prog: String,
    /// Which call of the scenario.
    pub call: usize,
    /// ctx pointer.
    pub ctx: u64,
    /// `ctx[-1]`.
    pub func_meta: u64,
    /// nr_args, cookie index and is_return as the verifier's inlines read them.
    pub decoded: (u64, u64, bool),
    /// Where `bpf_session_cookie()` points for this word (cookie users).
    pub cookie_ptr: Option<u64>,
    /// The cookie's value before and after the program ran.
    pub cookie_before: Option<u64>,
    /// The cookie's value after the program ran.
    pub cookie_after: Option<u64>,
    /// ctx[0..nr_args] before the program ran.
    pub args: Vec<u64>,
    /// The return-value slot (`ctx[nr_args]`) if the frame has one.
    pub retval: Option<u64>,
    /// The program's r0, or its error.
    pub r0: Result<u64, VmError>,
    /// The frame pointer (rbp) of the trampoline that called it.
    #[serde(default)]
    pub rbp: u64,
    /// The frame's words from its lowest program-visible slot (`rbp - cookie_off`) up to rbp,
    /// before the program ran.
    #[serde(default)]
    pub frame_before: Vec<u64>,
    /// The same words after it ran.
    #[serde(default)]
    pub frame_after: Vec<u64>,
    /// What the fixed-up code did, instruction by instruction (runs in the executor only).
    #[serde(default)]
    pub seen: Option<Box<ProgramSeen>>,
}

/// What a program's fixed-up code did when it ran in the executor: what each inlined call
/// returned and every memory access it made.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProgramSeen {
    /// Each inlined call, in execution order.
    pub inlined: Vec<InlineResult>,
    /// Each load and store, in execution order.
    pub accesses: Vec<Access>,
}

/// One inlined kfunc or helper as it ran.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InlineResult {
    /// Which.
    pub what: crate::kernel::fixup::Inlined,
    /// Its first instruction in the fixed program.
    pub start: usize,
    /// r0 when execution left the inlined sequence.
    pub r0: u64,
    /// The accesses made inside the sequence (indexes into [`ProgramSeen::accesses`]).
    pub accesses: Vec<usize>,
}

/// One memory access of a program.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Access {
    /// The instruction (slot index in the fixed program).
    pub pc: usize,
    /// Address.
    pub addr: u64,
    /// Size in bytes.
    pub size: u8,
    /// A store (else a load).
    pub write: bool,
    /// The value loaded or stored (`None`: the access was refused).
    pub value: Option<u64>,
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
    /// Execution stopped before the calls completed (in the executor: a fault, an unsupported
    /// instruction, or a call that does not return).
    #[error("execution stopped {error}")]
    Stopped {
        /// Where and why.
        error: crate::x86exec::ExecError,
    },
    /// What the model's check of the scenario found.
    #[error("{0}")]
    Model(Problem),
}
