//! View models: everything the views show, computed from the state by fsession-core.

use crate::state::State;
use fsession_core::asm::{format_instr, Syntax};
use fsession_core::isa::{decode_program_internal, Insn, Instr};
use fsession_core::kernel::link::flags;
use fsession_core::kernel::profile::Profile;
use fsession_core::scenario::{Problem, ProgramReport, Scenario};
use fsession_core::show::{show_with, ShowReport};
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

/// A program's JIT image as the listing shows it: core's typed rows, or why there is none.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct JitView {
    /// The x86 instructions of every subprogram, each with its BPF slot (after fixups).
    pub rows: Vec<fsession_core::jit::JitRow>,
    /// Each subprogram: (index, image address, bytes).
    pub funcs: Vec<(usize, u64, usize)>,
    /// Why the JIT refused the program.
    pub error: Option<String>,
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
    /// The scenario as run (after the page's overrides), for the Run view.
    pub scenario: Option<std::rc::Rc<Scenario>>,
}

fn lines(insns: &[Insn], syntax: Syntax) -> Vec<(usize, String)> {
    match decode_program_internal(insns) {
        Ok(v) => v.into_iter().map(|(i, x)| (i, format_instr(&x, syntax))).collect(),
        Err(e) => vec![(e.index, e.to_string())],
    }
}

/// The profile the page uses: the page's choice or the scenario's, with the page's mode and
/// mitigations (when set) over the scenario's and the profile's.
fn page_profile(state: &State, pname: &str, scenario: &mut Scenario) -> Result<Profile, InputError> {
    let mut profile = Profile::by_name(pname).map_err(|e| InputError {
        line: 0,
        message: e.to_string(),
    })?;
    if let Some(mode) = state.mode {
        profile.mode = mode;
        scenario.mode = None;
    }
    if let Some(m) = state.mitigations {
        profile.mitigations = m;
    }
    Ok(profile)
}

/// A program's verdict line, and whether it was not loaded.
fn verdict(p: &ProgramReport) -> (String, bool) {
    match (&p.asm_error, &p.verified) {
        (Some(_), _) => ("does not assemble".to_string(), true),
        (None, Some(Ok(v))) => (format!("accepted ({} insns processed)", v.processed), false),
        (None, Some(Err(e))) => (
            format!("rejected at insn {}: {} ({})", e.index, e.message, e.errno),
            true,
        ),
        _ => ("not loaded".into(), true),
    }
}

/// The side-by-side rows of a program: each original instruction joined to its fixed range
/// (core's join), with added and removed rows and the fixup's note on its first row.
fn prog_rows(p: &ProgramReport, bpf: Syntax) -> Vec<ProgRow> {
    let before = lines(&p.program.insns, bpf);
    let Some(f) = &p.fixed else {
        return before
            .into_iter()
            .map(|b| ProgRow {
                before: Some(b),
                after: None,
                note: String::new(),
            })
            .collect();
    };
    let after = lines(&f.insns, bpf);
    let text = |v: &[(usize, String)], k: usize| {
        v.binary_search_by_key(&k, |(i, _)| *i)
            .map(|x| v[x].clone())
            .unwrap_or((k, String::new()))
    };
    fsession_core::kernel::fixup::join(&p.program.insns, f)
        .into_iter()
        .map(|row| {
            let note = match (row.orig, row.after, row.note.and_then(|n| f.notes.get(n))) {
                (None, _, _) => "added".to_string(),
                (Some(_), _, Some(n)) if row.first => format!("{}: {}", n.what, n.detail),
                (Some(_), None, None) => "removed".into(),
                _ => String::new(),
            };
            ProgRow {
                before: row.orig.filter(|_| row.first).map(|i| text(&before, i)),
                after: row.after.map(|j| text(&after, j)),
                note,
            }
        })
        .collect()
}

fn jit_view(r: &fsession_core::jit::scenario::Compiled) -> JitView {
    match r {
        Ok((_, image)) => JitView {
            rows: image.rows(),
            funcs: image.funcs.iter().map(|f| (f.index, f.addr, f.bytes.len())).collect(),
            error: None,
        },
        Err(e) => JitView {
            error: Some(e.to_string()),
            ..JitView::default()
        },
    }
}

/// Each program's JIT image (`None`: not loaded), computed by core when the JIT view is open.
pub fn jit_views(v: &View) -> Vec<Option<JitView>> {
    let Some(r) = &v.report else { return vec![] };
    let mut images: Vec<Option<JitView>> = vec![None; r.check.programs.len()];
    for (i, c) in fsession_core::jit::scenario::program_images(&r.check, &Placement::default()) {
        if let Some(slot) = images.get_mut(i) {
            *slot = Some(jit_view(&c));
        }
    }
    images
}

/// One program's view.
fn prog_view(p: &ProgramReport, bpf: Syntax) -> ProgView {
    let (verdict, rejected) = verdict(p);
    ProgView {
        name: p.name.clone(),
        attach: p.attach.to_string(),
        verdict,
        rejected,
        rows: prog_rows(p, bpf),
        instrs_before: instrs(&p.program.insns),
        instrs_after: p.fixed.as_ref().map(|f| instrs(&f.insns)).unwrap_or_default(),
    }
}

/// The errors the page lists and marks in the gutter, each at its line when it has one.
fn input_errors(report: &ShowReport) -> Vec<InputError> {
    let asm = report
        .check
        .programs
        .iter()
        .filter_map(|p| p.asm_error.as_ref())
        .map(|e| InputError {
            line: e.line,
            message: e.kind.to_string(),
        });
    // Assembler errors are listed from each program's own report, above.
    let others = report
        .problems
        .iter()
        .filter(|p| !matches!(p, Problem::Assembler(_)))
        .map(|p| InputError {
            line: p.span().map(|(line, _)| line).unwrap_or(0),
            message: p.to_string(),
        });
    asm.chain(others).collect()
}

/// Computes the view for a state.
pub fn compute(state: &State) -> View {
    let empty = |error: InputError, profile: String| View {
        report: None,
        errors: vec![error],
        programs: vec![],
        profile,
        flags: String::new(),
        scenario: None,
    };
    let at_line = |e: fsession_core::scenario::ScenarioError| InputError {
        line: e.line,
        message: e.kind.to_string(),
    };
    let mut scenario = match Scenario::parse(&state.scenario) {
        Ok(s) => s,
        Err(e) => return empty(at_line(e), String::new()),
    };
    let pname = if state.profile.is_empty() {
        scenario.profile.clone()
    } else {
        state.profile.clone()
    };
    let profile = match page_profile(state, &pname, &mut scenario) {
        Ok(p) => p,
        Err(e) => return empty(e, pname),
    };
    let bpf = if state.conformance {
        Syntax::Conformance
    } else {
        Syntax::Kernel
    };
    let syntax = if state.att { AsmSyntax::Att } else { AsmSyntax::Intel };
    let report = match show_with(
        &scenario,
        &state.scenario,
        &profile,
        &Placement::default(),
        syntax,
        Some(fsession_core::show::execute_verdict),
    ) {
        Ok(r) => r,
        Err(e) => return empty(at_line(e), pname),
    };
    View {
        errors: input_errors(&report),
        programs: report.check.programs.iter().map(|p| prog_view(p, bpf)).collect(),
        flags: flags::names(report.check.trampoline.flags),
        report: Some(report),
        profile: pname,
        scenario: Some(std::rc::Rc::new(scenario)),
    }
}

/// Markdown of the current trampoline (for issues and reviews): the listing, `ctx[-1]` per
/// program and pass, and the contract verdict.
pub fn markdown(v: &View) -> String {
    v.report.as_ref().map(fsession_core::show::markdown).unwrap_or_default()
}
