//! The whole pipeline for one scenario: check (verify, fix up, attach), build the encoder's
//! input, encode the trampoline, list it and check the contract. What `fsession-lab show` prints
//! and the playground displays.

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
    /// The contract check (no lines without a trampoline).
    pub contract: Contract,
    /// Problems: the check's, an unexpected encoder error, a contract violation not expected.
    pub problems: Vec<Problem>,
}

impl ShowReport {
    /// True when nothing unexpected happened.
    pub fn ok(&self) -> bool {
        self.problems.is_empty()
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
    let violated = !contract.holds();
    if violated && !s.expect.contract_violation {
        problems.extend(
            contract
                .lines
                .iter()
                .flat_map(|l| l.problems.iter().map(|p| Problem::Contract { found: p.clone() })),
        );
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
    s
}
