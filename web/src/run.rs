//! The Run view: one call of the traced function run in fsession-core's executor, stepped
//! forward and back. Everything shown comes from `fsession_core::emu::stepper`; this renders it.

use crate::model::View;
use fsession_core::asm::{format_instr, Syntax};
use fsession_core::emu::stepper::{record, At, Goal, Recorded};
use fsession_core::emu::trace::Cursor;
use fsession_core::isa::decode_program_internal;
use fsession_core::scenario::ArgValue;
use fsession_core::tramp::build::Placement;
use fsession_core::x86exec::{flag, Gpr};
use std::rc::Rc;
use yew::prelude::*;

/// The Run view's properties: the view it runs, the listing line selected there, and the
/// selections of the listing and the fixups table (stepping selects the line or BPF
/// instruction about to run in them).
#[derive(Properties, Clone)]
pub struct RunProps {
    /// The computed view.
    pub view: Rc<View>,
    /// The trampoline offset of the selected listing line.
    pub line_offset: Option<u64>,
    /// The listing's selected line.
    pub listing_sel: UseStateHandle<Option<usize>>,
    /// The fixups table's selected row.
    pub prog_sel: UseStateHandle<Option<usize>>,
}

impl PartialEq for RunProps {
    fn eq(&self, o: &Self) -> bool {
        Rc::ptr_eq(&self.view, &o.view) && self.line_offset == o.line_offset
    }
}

/// The keys the view answers (none of them is a browser shortcut).
const KEYS: &str = "keys: . step, , back, ] next program call, } next pass, l to the selected line, 0 start, $ end";

/// A call's argument words as text (the scenario's values; `func` and `data` as their hex).
fn words_text(v: &View, call: usize) -> String {
    let Some(s) = v.scenario.as_deref() else {
        return String::new();
    };
    let Some(c) = s.calls.get(call) else {
        let n = v.report.as_ref().map_or(0, |r| r.check.function.nr_regs());
        return vec!["0"; n].join(", ");
    };
    let place = Placement::default();
    let data = fsession_core::emu::run::MAP_BASE;
    let w = |e: &fsession_core::scenario::ExpectValue| {
        e.resolve(place.func, data).map_or("0".into(), |x| format!("{x:#x}"))
    };
    c.args
        .iter()
        .flat_map(|a| match a {
            ArgValue::Scalar(x) => vec![w(x)],
            ArgValue::Words(xs) => xs.iter().map(w).collect(),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// Why a call could not be run.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// An argument word is not a number.
    #[error("`{word}` is not a number (decimal or 0x hex)")]
    NotANumber {
        /// The word as typed.
        word: String,
    },
    /// The scenario does not check.
    #[error("the scenario does not check")]
    NoScenario,
    /// Nothing is attached.
    #[error("no trampoline to run")]
    NoTrampoline,
    /// The executor's error.
    #[error(transparent)]
    Emu(#[from] fsession_core::emu::run::EmuError),
}

/// Parses `1, 0x2, 3` into words.
fn parse_words(t: &str) -> Result<Vec<u64>, RunError> {
    t.split(|c: char| c == ',' || c.is_whitespace())
        .filter(|x| !x.is_empty())
        .map(|x| {
            let r = match x.strip_prefix("0x") {
                Some(h) => u64::from_str_radix(h, 16),
                None => x.parse::<u64>(),
            };
            r.map_err(|_| RunError::NotANumber { word: x.into() })
        })
        .collect()
}

fn run(v: &View, words: Vec<u64>) -> Result<Recorded, RunError> {
    let (Some(s), Some(r)) = (v.scenario.as_deref(), v.report.as_ref()) else {
        return Err(RunError::NoScenario);
    };
    let Ok(enc) = &r.encoded else {
        return Err(RunError::NoTrampoline);
    };
    Ok(record(s, &r.check, enc, &Placement::default(), words)?)
}

fn hex(v: Option<u64>) -> String {
    v.map_or("-".into(), |x| format!("{x:#x}"))
}

/// The x86 line or BPF instruction about to run, in words.
fn next_text(v: &View, rec: &Recorded, at: &At) -> String {
    let listing = v.report.as_ref().map(|r| r.listing.as_slice()).unwrap_or(&[]);
    match at {
        At::Start => "start".into(),
        At::End => match (&rec.stopped, rec.call.1) {
            (Some(e), _) => format!("stopped {e}"),
            (None, Some(r)) => format!("the call returned {r:#x}; {}", rec.data_words()),
            (None, None) => "end".into(),
        },
        At::StackFilled => "the kernel stack is filled with 0xcc (not yet written)".into(),
        At::Insn { offset: Some(o), .. } => {
            let l = listing.iter().find(|l| l.offset as u64 == *o);
            format!("trampoline +{o:#x}: {}", l.map_or("", |l| l.text.as_str()))
        }
        At::Insn { addr, offset: None } => format!("{addr:#x} (the patched entry)"),
        At::Behaviour(b) => format!("call into {}", b.name()),
        At::Program { prog, r0: None } => format!("{}: bpf_func entered (r1 = ctx)", rec.programs[*prog].0),
        At::Program { prog, r0: Some(r0) } => format!("{}: returns r0 = {r0:#x}", rec.programs[*prog].0),
        At::Bpf { prog, pc, .. } => {
            let (name, insns) = &rec.programs[*prog];
            let text = decode_program_internal(insns)
                .ok()
                .and_then(|d| d.into_iter().find(|(i, _)| i == pc))
                .map_or(String::new(), |(_, ins)| format_instr(&ins, Syntax::Kernel));
            format!("{name} insn {pc}: {text}")
        }
    }
}

/// Selects what runs next in the listing (an x86 line of the trampoline) or in the fixups table
/// (a BPF instruction: its row after fixups).
fn select_current(
    v: &View,
    rec: &Recorded,
    at: &At,
    lsel: &UseStateHandle<Option<usize>>,
    psel: &UseStateHandle<Option<usize>>,
) {
    match at {
        At::Insn { offset: Some(o), .. } => {
            let listing = v.report.as_ref().map(|r| r.listing.as_slice()).unwrap_or(&[]);
            if let Some(i) = listing.iter().position(|l| l.offset as u64 == *o) {
                crate::views::follow(lsel, i);
            }
        }
        At::Bpf { prog, pc, .. } => {
            let name = &rec.programs[*prog].0;
            // The fixups table's rows: each program's heading, then its rows.
            let mut k = 0;
            for p in &v.programs {
                if &p.name == name {
                    if let Some(j) = p.rows.iter().position(|r| r.after.as_ref().is_some_and(|a| a.0 == *pc)) {
                        psel.set(Some(k + 1 + j));
                    }
                    return;
                }
                k += 1 + p.rows.len();
            }
        }
        _ => {}
    }
}

fn registers(rec_view: &fsession_core::emu::stepper::StepView) -> Html {
    let cell = |g: Gpr| {
        let c = rec_view.changed.contains(&g);
        html! { <tr class={if c {"changed"} else {""}}><td>{ g.name() }</td><td>{ format!("{:#018x}", rec_view.cpu.get(g)) }</td></tr> }
    };
    html! {
        <table class="regs" aria-label="registers">
            { for Gpr::all().map(cell) }
            <tr class={if rec_view.flags_changed != 0 {"changed"} else {""}}><td>{"flags"}</td><td>{ flag::names(rec_view.cpu.rflags) }</td></tr>
        </table>
    }
}

fn frame(view: &fsession_core::emu::stepper::StepView) -> Html {
    let row = |s: &fsession_core::emu::stepper::SlotNow| {
        let class = if s.just_written {
            "written now"
        } else if s.written {
            "written"
        } else {
            ""
        };
        let mark = if s.just_written {
            " ● written now"
        } else if s.written {
            " ✎"
        } else {
            ""
        };
        html! { <tr class={class} data-slot={s.name.clone()}><td>{ format!("rbp{:+}", s.rbp_off) }</td><td>{ s.name.clone() }</td><td>{ hex(s.value) }</td><td>{ mark }</td></tr> }
    };
    let meta = match view.meta {
        Some((w, (nr, idx, ret))) => format!(
            "ctx[-1] = {w:#x}: nr_args {nr}, cookie index {idx}, is_return {}",
            ret as u8
        ),
        None => "ctx[-1]: not readable here".into(),
    };
    html! {
        <div class="run-frame">
            <table class="frame" aria-label="frame slots">{ for view.slots.iter().map(row) }</table>
            <p class="meta">{ meta }</p>
        </div>
    }
}

fn bpf_regs(at: &At) -> Html {
    let At::Bpf { regs, changed, .. } = at else {
        return html! {};
    };
    html! {
        <table class="regs bpf" aria-label="BPF registers">
            { for (0..11).map(|k| html! { <tr class={if changed[k] {"changed"} else {""}}><td>{ format!("r{k}") }</td><td>{ format!("{:#x}", regs[k]) }</td></tr> }) }
        </table>
    }
}

/// The Run view.
#[function_component(Run)]
pub fn run_view(p: &RunProps) -> Html {
    let call = use_state(|| 0usize);
    let args = use_state(|| words_text(&p.view, 0));
    let rec = use_state(|| None::<Rc<Result<Recorded, RunError>>>);
    let cursor = use_mut_ref(|| None::<Cursor>);
    let pos = use_state(|| 0usize);
    {
        // A new scenario or profile: the old run is gone, the call's words are the scenario's.
        let (rec, args, call, cursor) = (rec.clone(), args.clone(), call.clone(), cursor.clone());
        use_effect_with(Rc::as_ptr(&p.view) as usize, {
            let v = p.view.clone();
            move |_| {
                rec.set(None);
                *cursor.borrow_mut() = None;
                args.set(words_text(&v, *call));
            }
        });
    }
    let go = {
        let (rec, cursor, pos) = (rec.clone(), cursor.clone(), pos.clone());
        let (v, lsel, psel) = (p.view.clone(), p.listing_sel.clone(), p.prog_sel.clone());
        Rc::new(move |to: usize| {
            if let (Some(r), Some(c)) = (
                rec.as_deref().and_then(|r| r.as_ref().ok()),
                cursor.borrow_mut().as_mut(),
            ) {
                r.trace.seek(c, to);
                pos.set(c.done);
                select_current(&v, r, &r.view(c).next, &lsel, &psel);
            }
        })
    };
    let start = {
        let (rec, cursor, pos, args, v) = (rec.clone(), cursor.clone(), pos.clone(), args.clone(), p.view.clone());
        Callback::from(move |_: MouseEvent| {
            let r = parse_words(&args).and_then(|w| run(&v, w));
            *cursor.borrow_mut() = r.as_ref().ok().map(|r| r.start());
            pos.set(0);
            rec.set(Some(Rc::new(r)));
        })
    };
    let pick_call = {
        let (call, args, v) = (call.clone(), args.clone(), p.view.clone());
        Callback::from(move |e: Event| {
            let k: usize = e
                .target_unchecked_into::<web_sys::HtmlSelectElement>()
                .value()
                .parse()
                .unwrap_or(0);
            call.set(k);
            args.set(words_text(&v, k));
        })
    };
    let edit_args = {
        let args = args.clone();
        Callback::from(move |e: InputEvent| args.set(e.target_unchecked_into::<web_sys::HtmlInputElement>().value()))
    };
    let ncalls = p.view.scenario.as_ref().map_or(0, |s| s.calls.len());
    let head = html! {
        <div class="run-controls">
            <label>{"call "}<select id="run-call" onchange={pick_call}>
                { for (0..ncalls.max(1)).map(|k| html! { <option value={k.to_string()} selected={k == *call}>{ if ncalls == 0 { "zero arguments".to_string() } else { format!("[[call]] {k}") } }</option> }) }
            </select></label>
            <label>{" arguments "}<input id="run-args" value={(*args).clone()} oninput={edit_args} size="40"/></label>
            <button id="run-start" onclick={start}>{"Run"}</button>
        </div>
    };
    let Some(r) = rec.as_deref() else {
        return html! { <section id="run" class="run"><h2>{"Run"}</h2>{ head }<p class="note">{ "Runs one call in the executor: step through the trampoline's bytes and the fixed-up programs. " }{ KEYS }</p></section> };
    };
    let rec = match r {
        Ok(r) => r,
        Err(e) => {
            return html! { <section id="run" class="run"><h2>{"Run"}</h2>{ head }<p class="error" id="run-error">{ e.to_string() }</p></section> }
        }
    };
    let c = cursor.borrow();
    let Some(cur) = c.as_ref() else { return html! {} };
    let sv = rec.view(cur);
    let done = sv.done;
    let total = sv.total;
    let step = |to: usize| {
        let go = go.clone();
        Callback::from(move |_: MouseEvent| go(to))
    };
    let find = |g: Goal| rec.find(done, g).min(total);
    let next_prog = find(Goal::ProgramCall);
    let next_pass = find(Goal::Pass);
    let to_line = p.line_offset.map(|o| find(Goal::Offset(o)));
    let keys = {
        let go = go.clone();
        Callback::from(move |e: KeyboardEvent| {
            let to = match e.key().as_str() {
                "." => done + 1,
                "," => done.saturating_sub(1),
                "]" => next_prog,
                "}" => next_pass,
                "l" => match to_line {
                    Some(t) => t,
                    None => return,
                },
                "0" => 0,
                "$" => total,
                _ => return,
            };
            e.prevent_default();
            go(to.min(total));
        })
    };
    html! {
        <section id="run" class="run" tabindex="0" onkeydown={keys} aria-label="run: step through one call">
            <h2>{"Run"}</h2>
            { head }
            <div class="run-steps">
                <button id="run-first" onclick={step(0)} disabled={done == 0}>{"⏮"}</button>
                <button id="run-back" onclick={step(done.saturating_sub(1))} disabled={done == 0} title="back (,)">{"◀"}</button>
                <button id="run-step" onclick={step((done + 1).min(total))} disabled={done == total} title="step (.)">{"▶"}</button>
                <button id="run-prog" onclick={step(next_prog)} disabled={done == total} title="next program call (])">{"next program"}</button>
                <button id="run-pass" onclick={step(next_pass)} disabled={done == total} title="next pass (})">{"next pass"}</button>
                if let Some(t) = to_line {
                    <button id="run-line" onclick={step(t)} title="to the selected listing line (l)">{"to selected line"}</button>
                }
                <button id="run-end" onclick={step(total)} disabled={done == total}>{"⏭"}</button>
                <span class="pos">{ format!(" step {done} of {total}") }</span>
            </div>
            <p class="note">{ KEYS }</p>
            <p id="run-next" class="next">{ format!("next: {}", next_text(&p.view, rec, &sv.next)) }</p>
            <div class="run-state">
                { registers(&sv) }
                { bpf_regs(&sv.next) }
                { frame(&sv) }
            </div>
        </section>
    }
}
