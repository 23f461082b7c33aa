//! View models: everything the views show, computed from the state by fsession-core.

use crate::state::State;
use fsession_core::asm::{format_instr, Syntax};
use fsession_core::isa::{decode_program_internal, Insn, Instr};
use fsession_core::kernel::link::flags;
use fsession_core::kernel::profile::{Profile, TrampolineMode};
use fsession_core::scenario::{Problem, Scenario};
use fsession_core::show::{show, ShowReport};
use fsession_core::tramp::build::Placement;
use fsession_core::tramp::listing::AsmSyntax;

/// An error in the input, at a line of the scenario text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InputError {
    /// 1-based line (0 when not tied to a line).
    pub line: usize,
    /// What is wrong.
    pub message: String,
}

/// One row of the side-by-side program view.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProgRow {
    /// Original index and text.
    pub before: Option<(usize, String)>,
    /// Patched index and text.
    pub after: Option<(usize, String)>,
    /// Inline note on the first patched row.
    pub note: String,
}

/// One program's view.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProgView {
    /// Name.
    pub name: String,
    /// Attach type.
    pub attach: String,
    /// Verdict line.
    pub verdict: String,
    /// Rejected.
    pub rejected: bool,
    /// Rows.
    pub rows: Vec<ProgRow>,
    /// The instructions as written, by slot (explanations read these, whatever the syntax).
    pub instrs_before: Vec<(usize, Instr)>,
    /// The same after fixups.
    pub instrs_after: Vec<(usize, Instr)>,
}

impl ProgView {
    /// The one-line explanation of instruction `idx` as written (`after`: after fixups).
    pub fn explain(&self, after: bool, idx: usize) -> String {
        let v = if after { &self.instrs_after } else { &self.instrs_before };
        match v.binary_search_by_key(&idx, |(i, _)| *i) {
            Ok(k) => fsession_core::explain::bpf(&v[k].1, idx),
            Err(_) => format!("no instruction starts at slot {idx}"),
        }
    }
}

fn instrs(insns: &[Insn]) -> Vec<(usize, Instr)> {
    decode_program_internal(insns).unwrap_or_default()
}

/// Everything the page shows.
pub struct View {
    /// The pipeline's report (when the scenario parses).
    pub report: Option<ShowReport>,
    /// Errors tied to the input.
    pub errors: Vec<InputError>,
    /// Programs before and after fixups.
    pub programs: Vec<ProgView>,
    /// The profile's name.
    pub profile: String,
    /// Flags of the trampoline.
    pub flags: String,
}

fn lines(insns: &[Insn], syntax: Syntax) -> Vec<(usize, String)> {
    match decode_program_internal(insns) {
        Ok(v) => v.into_iter().map(|(i, x)| (i, format_instr(&x, syntax))).collect(),
        Err(e) => vec![(e.index, e.to_string())],
    }
}

/// Computes the view for a state.
pub fn compute(state: &State) -> View {
    let mut errors = vec![];
    let empty = |errors, profile: String| View {
        report: None,
        errors,
        programs: vec![],
        profile,
        flags: String::new(),
    };
    let mut scenario = match Scenario::parse(&state.scenario) {
        Ok(s) => s,
        Err(e) => {
            return empty(
                vec![InputError {
                    line: e.line,
                    message: e.message,
                }],
                String::new(),
            )
        }
    };
    let pname = if state.profile.is_empty() {
        scenario.profile.clone()
    } else {
        state.profile.clone()
    };
    let mut profile = match Profile::by_name(&pname) {
        Ok(p) => p,
        Err(e) => {
            return empty(
                vec![InputError {
                    line: 0,
                    message: e.to_string(),
                }],
                pname,
            )
        }
    };
    // The page's mode and mitigations, when set, win over the scenario's and the profile's.
    match state.mode.as_str() {
        "" => {}
        m => {
            profile.mode = match m.parse::<TrampolineMode>() {
                Ok(mode) => mode,
                Err(e) => {
                    return empty(
                        vec![InputError {
                            line: 0,
                            message: e.to_string(),
                        }],
                        pname,
                    )
                }
            };
            scenario.mode = None;
        }
    }
    if let Some(m) = state.mitigations {
        profile.mitigations = m;
    }
    let bpf = if state.conformance {
        Syntax::Conformance
    } else {
        Syntax::Kernel
    };
    let syntax = if state.att { AsmSyntax::Att } else { AsmSyntax::Intel };
    let report = match show(&scenario, &state.scenario, &profile, &Placement::default(), syntax) {
        Ok(r) => r,
        Err(e) => {
            return empty(
                vec![InputError {
                    line: e.line,
                    message: e.message,
                }],
                pname,
            )
        }
    };
    let mut programs = vec![];
    for p in &report.check.programs {
        if let Some(e) = &p.asm_error {
            errors.push(InputError {
                line: e.line,
                message: e.message.clone(),
            });
        }
        let (verdict, rejected) = match (&p.asm_error, &p.verified) {
            (Some(_), _) => ("does not assemble".to_string(), true),
            (None, Some(Ok(v))) => (format!("accepted ({} insns processed)", v.processed), false),
            (None, Some(Err(e))) => (
                format!("rejected at insn {}: {} ({})", e.index, e.message, e.errno),
                true,
            ),
            _ => ("not loaded".into(), true),
        };
        let before = lines(&p.program.insns, bpf);
        let mut rows = vec![];
        match &p.fixed {
            Some(f) => {
                let after = lines(&f.insns, bpf);
                let text = |v: &[(usize, String)], k: usize| {
                    v.binary_search_by_key(&k, |(i, _)| *i)
                        .map(|x| v[x].clone())
                        .unwrap_or((k, String::new()))
                };
                for row in fsession_core::kernel::fixup::join(&p.program.insns, f) {
                    let note = row.note.and_then(|n| f.notes.get(n));
                    let note = match (row.orig, row.after, note) {
                        (None, _, _) => "added".to_string(),
                        (Some(_), _, Some(n)) if row.first => format!("{}: {}", n.what, n.detail),
                        (Some(_), None, None) => "removed".into(),
                        _ => String::new(),
                    };
                    rows.push(ProgRow {
                        before: row.orig.filter(|_| row.first).map(|i| text(&before, i)),
                        after: row.after.map(|j| text(&after, j)),
                        note,
                    });
                }
            }
            None => rows.extend(before.into_iter().map(|b| ProgRow {
                before: Some(b),
                after: None,
                note: String::new(),
            })),
        }
        programs.push(ProgView {
            name: p.name.clone(),
            attach: p.attach.to_string(),
            verdict,
            rejected,
            rows,
            instrs_before: instrs(&p.program.insns),
            instrs_after: p.fixed.as_ref().map(|f| instrs(&f.insns)).unwrap_or_default(),
        });
    }
    for p in &report.problems {
        // Assembler errors are listed above, from each program's own report.
        if matches!(p, Problem::Assembler(_)) {
            continue;
        }
        errors.push(InputError {
            line: p.span().map(|(line, _)| line).unwrap_or(0),
            message: p.to_string(),
        });
    }
    let flags = flags::names(report.check.trampoline.flags);
    View {
        report: Some(report),
        errors,
        programs,
        profile: pname,
        flags,
    }
}

/// Markdown of the current trampoline (for issues and reviews): the listing, `ctx[-1]` per
/// program and pass, and the contract verdict.
pub fn markdown(v: &View) -> String {
    v.report.as_ref().map(fsession_core::show::markdown).unwrap_or_default()
}
