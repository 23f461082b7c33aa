//! What a native run reports: the calls, what each program saw, and every difference from the
//! scenario's expectations and the model's predictions, as typed values. The child serialises
//! the report; the parent reads it back into these same types.

use super::rt::Observation;
pub use fsession_core::emu::report::{AliasedArg, CallResult, CookieMismatch, RunProblem};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

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
    /// Where the first map's value area is (what `data` means in the scenario).
    #[serde(default)]
    pub data_addr: u64,
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
