//! The whole pipeline for one scenario: check (verify, fix up, attach), build the encoder's
//! input, encode the trampoline, list it and check the contract. What `fsession-lab show` prints
//! and the playground displays.

use crate::emu::run::EmuError;
use crate::emu::verdict::{self, ExecContract};
use crate::kernel::link::flags;
use crate::kernel::profile::Profile;
use crate::scenario::{check, CheckReport, Problem, Scenario, ScenarioError};
use crate::tramp::build::{spec_for, Placement};
use crate::tramp::contract::{self, Contract};
use crate::tramp::listing;
use crate::tramp::listing::{listing, AsmSyntax, Line};
use crate::tramp::{encode, EncodeError, Encoded, TrampolineSpec};
use serde::Serialize;
use std::fmt::Write;

macro_rules! wln {
    ($o:expr, $($arg:tt)*) => {{
        let _ = writeln!($o, $($arg)*);
    }};
}

/// Everything `show` reports.
#[derive(Clone, Debug, Serialize)]
pub struct ShowReport {
    /// Verifier, fixups and accounting.
    pub check: CheckReport,
    /// The encoder's input.
    pub spec: TrampolineSpec,
    /// The trampoline, or why there is none.
    pub encoded: Result<Encoded, EncodeError>,
    /// The annotated listing (empty without a trampoline).
    pub listing: Vec<Line>,
    /// The contract as the bookkeeping intends it: the encoder's `ctx[-1]` words decoded the
    /// verifier's way (no lines without a trampoline).
    pub contract: Contract,
    /// The contract from execution: the trampoline's bytes run with the fixed-up programs
    /// (`None` without a trampoline; an error when the run could not be made).
    pub execution: Option<Result<ExecContract, EmuError>>,
    /// Problems: the check's, an unexpected encoder error, a contract violation not expected.
    pub problems: Vec<Problem>,
}

impl ShowReport {
    /// True when nothing unexpected happened.
    pub fn ok(&self) -> bool {
        self.problems.is_empty()
    }
    /// The contract verdict: from execution where the trampoline ran, else the bookkeeping's.
    pub fn contract_holds(&self) -> bool {
        match &self.execution {
            Some(Ok(v)) => v.holds(),
            _ => self.contract.holds(),
        }
    }
}

/// Runs the pipeline.
pub fn show(
    s: &Scenario,
    text: &str,
    profile: &Profile,
    place: &Placement,
    syntax: AsmSyntax,
) -> Result<ShowReport, ScenarioError> {
    show_with(s, text, profile, place, syntax, Some(execute_verdict))
}

/// How the contract is checked from execution (a function, so that a build that does not
/// execute does not link the executor).
pub type ExecuteFn = fn(&Scenario, &CheckReport, &Encoded, &Placement) -> Result<ExecContract, EmuError>;

/// The contract from execution of a scenario, as [`show`] checks it (an [`ExecuteFn`]).
pub fn execute_verdict(s: &Scenario, r: &CheckReport, e: &Encoded, p: &Placement) -> Result<ExecContract, EmuError> {
    verdict::execute(s, r, e, p).map(|(v, _)| v)
}

/// The pipeline, with the contract from execution when `execute` is given (else the
/// bookkeeping verdict alone decides, and [`ShowReport::execution`] is `None`).
pub fn show_with(
    s: &Scenario,
    text: &str,
    profile: &Profile,
    place: &Placement,
    syntax: AsmSyntax,
    execute: Option<ExecuteFn>,
) -> Result<ShowReport, ScenarioError> {
    let report = check(s, text, profile)?;
    let spec = spec_for(&report, place);
    let mut problems = report.problems.clone();
    let (encoded, listing_lines, contract) = if report.trampoline.is_empty() {
        let e = EncodeError {
            errno: crate::errno::Errno::ENOENT,
            message: "no program is attached: the function is not traced".into(),
        };
        (Err(e), vec![], Contract { lines: vec![] })
    } else {
        match encode(&spec) {
            Ok(enc) => {
                let lines = listing(&enc, place.image, syntax).unwrap_or_else(|e| {
                    problems.push(Problem::Listing { error: e });
                    vec![]
                });
                let c = contract::check(&enc, &report.profile.verifier_meta, &report.profile.name);
                (Ok(enc), lines, c)
            }
            Err(e) => {
                if s.expect
                    .encode_error
                    .as_deref()
                    .is_none_or(|w| !w.eq_ignore_ascii_case(e.errno.name()))
                {
                    problems.push(Problem::Encode { error: e.clone() });
                }
                (Err(e), vec![], Contract { lines: vec![] })
            }
        }
    };
    if let (Some(w), Ok(_)) = (&s.expect.encode_error, &encoded) {
        problems.push(Problem::EncodeExpected { want: w.clone() });
    }
    let execution = execute.zip(encoded.as_ref().ok()).map(|(run, enc)| {
        if report.trampoline.flags & flags::INDIRECT != 0 {
            return Err(EmuError::StructOps);
        }
        run(s, &report, enc, place)
    });
    // The verdict follows from execution where the run was made; struct_ops trampolines, which
    // the executor does not call, keep the bookkeeping verdict.
    let executed = match &execution {
        Some(Ok(v)) => Some(v),
        Some(Err(EmuError::StructOps)) | None => None,
        Some(Err(e)) => {
            problems.push(Problem::NotExecuted { reason: e.to_string() });
            None
        }
    };
    if let Some(reason) = executed.and_then(|v| v.stopped.clone()).filter(|_| !s.expect.fault) {
        problems.push(Problem::NotExecuted { reason });
    }
    let violated = match executed {
        Some(v) => !v.holds(),
        None => !contract.holds(),
    };
    if violated && !s.expect.contract_violation {
        match executed {
            Some(v) => problems.extend(v.problems().map(|p| Problem::Executed { found: p.clone() })),
            None => problems.extend(
                contract
                    .lines
                    .iter()
                    .flat_map(|l| l.problems.iter().map(|p| Problem::Contract { found: p.clone() })),
            ),
        }
    }
    if !violated && s.expect.contract_violation && encoded.is_ok() {
        problems.push(Problem::ContractHeld);
    }
    Ok(ShowReport {
        check: report,
        spec,
        encoded,
        listing: listing_lines,
        contract,
        execution,
        problems,
    })
}

/// Renders a report as the text `fsession-lab show` prints.
pub fn render(r: &ShowReport, bytes: bool) -> String {
    let mut o = String::new();
    let c = &r.check;
    if !c.description.is_empty() {
        wln!(o, "{}", c.description);
    }
    wln!(o, "profile {}, function {}", c.profile.name, c.function.prototype());
    match &r.encoded {
        Err(e) => wln!(o, "no trampoline: {e}"),
        Ok(enc) => {
            wln!(
                o,
                "flags {}, {} mode, {} bytes of code (arch_bpf_trampoline_size {}), frame {} bytes",
                flags::names(r.spec.flags),
                if enc.jmp_mode { "jmp" } else { "call" },
                enc.bytes.len(),
                enc.size,
                enc.layout.stack_size
            );
            o.push('\n');
            wln!(o, "stack frame (ctx = rbp{:+}):", -enc.layout.regs_off);
            wln!(
                o,
                "  {:<18} {:>8} {:>5}  {:<8}  condition",
                "slot",
                "rbp off",
                "size",
                "ctx"
            );
            for s in enc.layout.slots.iter().rev() {
                wln!(
                    o,
                    "  {:<18} {:>8} {:>5}  {:<8}  {}",
                    s.name,
                    format!("{:+}", s.rbp_off),
                    s.size,
                    s.ctx.as_deref().unwrap_or("-"),
                    s.condition
                );
            }
            o.push('\n');
            wln!(o, "trampoline at {:#x}:", r.spec.addrs.image);
            o.push_str(&listing::render(&r.listing, bytes));
            o.push('\n');
            wln!(o, "what each program sees:");
            wln!(
                o,
                "  {:<12} {:<9} {:<8} {:>20}  {:>7} {:>7} {:>9}",
                "program",
                "attach",
                "pass",
                "ctx[-1]",
                "nr_args",
                "cookie",
                "is_return"
            );
            for (inv, line) in enc.invocations.iter().zip(&r.contract.lines) {
                let pass = inv.pass;
                let cookie = line
                    .cookie_index
                    .map(|i| format!("ctx[-{i}]"))
                    .unwrap_or_else(|| "-".into());
                let ret = line
                    .is_return
                    .map(|b| (b as u8).to_string())
                    .unwrap_or_else(|| "-".into());
                wln!(
                    o,
                    "  {:<12} {:<9} {:<8} {:>#20x}  {:>7} {:>7} {:>9}",
                    inv.prog,
                    inv.attach.to_string(),
                    pass,
                    inv.func_meta,
                    line.nr_args,
                    cookie,
                    ret
                );
            }
            o.push('\n');
            if r.contract.holds() {
                wln!(
                    o,
                    "contract ({} verifier inlines vs this trampoline): holds for every program and pass",
                    c.profile.name
                );
            } else {
                wln!(
                    o,
                    "contract ({} verifier inlines vs this trampoline): VIOLATED",
                    c.profile.name
                );
                for l in &r.contract.lines {
                    for p in &l.problems {
                        wln!(o, "  - {p}");
                    }
                }
            }
            render_execution(&mut o, r.execution.as_ref());
        }
    }
    o.push('\n');
    if r.problems.is_empty() {
        wln!(o, "result: ok (every error was expected)");
    } else {
        wln!(o, "result: {} problem(s)", r.problems.len());
        for p in &r.problems {
            wln!(o, "  - {p}");
        }
    }
    o
}

/// The contract from execution as `show` and `check` print it (empty without a trampoline).
pub fn execution_text(r: &ShowReport) -> String {
    let mut o = String::new();
    render_execution(&mut o, r.execution.as_ref());
    o
}

/// The contract from execution: each program run, what its inlined calls returned and where its
/// cookie writes landed, then the verdict.
fn render_execution(o: &mut String, e: Option<&Result<ExecContract, EmuError>>) {
    let Some(e) = e else { return };
    o.push('\n');
    let v = match e {
        Ok(v) => v,
        Err(err) => {
            wln!(o, "contract from execution: not run: {err}");
            return;
        }
    };
    wln!(
        o,
        "contract from execution ({} call(s), {} steps; what the fixed-up code got on the executed frame):",
        v.calls.len(),
        v.steps
    );
    for l in &v.lines {
        let got: Vec<String> = l
            .returned
            .iter()
            .map(|r| match &r.points_to {
                Some(p) => format!("{}() = {:#x} -> {p}", r.what, r.r0),
                None => format!("{}() = {:#x}", r.what, r.r0),
            })
            .collect();
        let writes: Vec<String> = l
            .cookie_writes
            .iter()
            .map(|w| format!("*cookie = {:#x} -> {}", w.value, w.at))
            .collect();
        let all: Vec<String> = got.into_iter().chain(writes).collect();
        wln!(
            o,
            "  call {} {:<12} {:<8} ctx[-1] = {:#x}{}{}",
            l.call,
            l.who.prog,
            l.who.pass,
            l.func_meta,
            if all.is_empty() { "" } else { ": " },
            all.join(", ")
        );
    }
    for (c, (words, ret)) in v.calls.iter().enumerate() {
        let args: Vec<String> = words.iter().map(|w| format!("{w:#x}")).collect();
        wln!(o, "  call {c}: ({}) returned {ret:#x}", args.join(", "));
    }
    if let Some(s) = &v.stopped {
        wln!(o, "  stopped {s}");
    }
    if v.holds() {
        wln!(o, "contract from execution: holds for every program and pass");
    } else {
        wln!(o, "contract from execution: VIOLATED");
        for p in v.problems() {
            wln!(o, "  - {p}");
        }
    }
}

/// Markdown of a trampoline (for issues and reviews): the listing, `ctx[-1]` per program and
/// pass, and the contract verdict. The playground's **Copy as Markdown**.
pub fn markdown(r: &ShowReport) -> String {
    let profile = &r.check.profile.name;
    let mut s = format!(
        "fsession-lab: profile `{profile}`, `{}`\n\n```\n",
        r.check.function.prototype()
    );
    for l in &r.listing {
        s.push_str(&format!(
            "{:>4}  {:<24} {:<40} ; {}\n",
            l.offset,
            l.hex(),
            l.text,
            l.role
        ));
    }
    s.push_str("```\n");
    if let Ok(enc) = &r.encoded {
        s.push_str("\n| program | pass | ctx[-1] |\n|---|---|---|\n");
        for i in &enc.invocations {
            s.push_str(&format!("| {} | {:?} | `{:#x}` |\n", i.prog, i.pass, i.func_meta));
        }
    }
    let problems: Vec<&contract::ContractProblem> = r.contract.lines.iter().flat_map(|l| &l.problems).collect();
    if problems.is_empty() {
        s.push_str(&format!("\nContract ({profile}): holds for every program and pass.\n"));
    } else {
        s.push_str(&format!("\nContract ({profile}): **violated**\n\n"));
        for p in problems {
            s.push_str(&format!("- {p}\n"));
        }
    }
    match &r.execution {
        Some(Ok(v)) if v.holds() => s.push_str("\nFrom execution: holds for every program and pass.\n"),
        Some(Ok(v)) => {
            s.push_str("\nFrom execution: **violated**\n\n");
            for p in v.problems() {
                s.push_str(&format!("- {p}\n"));
            }
        }
        Some(Err(e)) => s.push_str(&format!("\nFrom execution: not run ({e}).\n")),
        None => {}
    }
    s
}
