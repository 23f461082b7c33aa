//! The playground component: its state reducer, the header controls, the structured program
//! controls and the page layout.

use crate::memo::memoized;
use crate::model::{compute, markdown, InputError, View};
use crate::state::State;
use crate::views::{
    comparison, executed, layout, layout_deps, links, links_deps, listing, listing_deps, programs, sees, sees_deps,
    selected_slots, ListingStyle,
};
use crate::virt::Rows;
use crate::{edit, GALLERY};
use fsession_core::asm::Syntax;
use fsession_core::kernel::profile::{Mitigations, TrampolineMode};
use fsession_core::kernel::program::AttachType;
use std::rc::Rc;
use wasm_bindgen::prelude::*;
use yew::prelude::*;

/// Changes to the state.
pub enum Action {
    /// New scenario text from a control (the editor is given the text).
    Scenario(String),
    /// New scenario text typed into the editor (which already shows it).
    Typed(String),
    /// Profile override ("" = the scenario's).
    Profile(String),
    /// AT&T syntax.
    Att(bool),
    /// Show bytes.
    Bytes(bool),
    /// Profile to compare with ("" = the same).
    Compare(String),
    /// Scenario to compare with ("" = the same).
    CompareScenario(String),
    /// Trampoline mode override (`None`: the scenario's, else the profile's).
    Mode(Option<TrampolineMode>),
    /// Mitigations override (`None` = the profile's).
    Mitigations(Option<Mitigations>),
    /// BPF programs in the conformance syntax.
    Conformance(bool),
}

/// The state, and how many times the scenario text came from somewhere other than the editor:
/// the editor is written only when that changes, never while the user types into it.
#[derive(Clone, PartialEq)]
struct Shared(State, u32);

impl Reducible for Shared {
    type Action = Action;
    fn reduce(self: Rc<Self>, a: Action) -> Rc<Self> {
        let mut s = self.0.clone();
        let mut pushed = self.1;
        match a {
            Action::Scenario(t) => {
                s.scenario = t;
                pushed = pushed.wrapping_add(1);
            }
            Action::Typed(t) => s.scenario = t,
            Action::Profile(p) => s.profile = p,
            Action::Att(v) => s.att = v,
            Action::Bytes(v) => s.bytes = v,
            Action::Compare(p) => s.compare = p,
            Action::CompareScenario(t) => s.compare_scenario = t,
            Action::Mode(m) => s.mode = m,
            Action::Mitigations(m) => s.mitigations = m,
            Action::Conformance(v) => s.conformance = v,
        }
        Rc::new(Shared(s, pushed))
    }
}

fn initial() -> (State, Option<String>) {
    let hash = web_sys::window()
        .and_then(|w| w.location().hash().ok())
        .unwrap_or_default();
    match State::from_fragment(&hash) {
        Ok(s) => (s, None),
        Err(e) => (State::default(), Some(format!("could not open the link: {e}"))),
    }
}

fn copy(text: String) {
    if let Some(w) = web_sys::window() {
        let _ = w.navigator().clipboard().write_text(&text);
    }
}

/// A select's change dispatched as an action on its value.
fn on_value(state: &UseReducerHandle<Shared>, action: fn(String) -> Action) -> Callback<Event> {
    let s = state.clone();
    Callback::from(move |e: Event| s.dispatch(action(e.target_unchecked_into::<web_sys::HtmlSelectElement>().value())))
}

/// A checkbox's change dispatched as an action on its state.
fn on_checked(state: &UseReducerHandle<Shared>, action: fn(bool) -> Action) -> Callback<Event> {
    let s = state.clone();
    Callback::from(move |e: Event| s.dispatch(action(e.target_unchecked_into::<web_sys::HtmlInputElement>().checked())))
}

/// Work scheduled to run after the next frame is painted (`requestAnimationFrame`, then a
/// task); dropping it before then cancels it.
struct AfterPaint {
    cancelled: Rc<std::cell::Cell<bool>>,
    /// The frame callback and its request id (cancelled on drop, before the closure is freed).
    frame: Option<(Closure<dyn FnMut()>, i32)>,
}

impl Drop for AfterPaint {
    fn drop(&mut self) {
        self.cancelled.set(true);
        if let (Some((_, id)), Some(w)) = (&self.frame, web_sys::window()) {
            let _ = w.cancel_animation_frame(*id);
        }
    }
}

fn after_paint(f: impl FnOnce() + 'static) -> AfterPaint {
    let cancelled = Rc::new(std::cell::Cell::new(false));
    let Some(w) = web_sys::window() else {
        return AfterPaint { cancelled, frame: None };
    };
    let task = {
        let cancelled = cancelled.clone();
        Closure::once_into_js(move || {
            if !cancelled.get() {
                f()
            }
        })
    };
    let frame = {
        let w = w.clone();
        Closure::<dyn FnMut()>::new(move || {
            let _ = w.set_timeout_with_callback(task.unchecked_ref());
        })
    };
    let frame = w
        .request_animation_frame(frame.as_ref().unchecked_ref())
        .ok()
        .map(|id| (frame, id));
    AfterPaint { cancelled, frame }
}

/// The editor's gutter: a line number per line of the text, and a mark with the message on each
/// line an error is reported on (so errors show next to their line, not only in the list).
fn gutter(lines: usize, marks: &[(usize, String)]) -> Html {
    let mut out = vec![];
    let mut plain = String::new();
    for n in 1..=lines {
        match marks.iter().find(|(l, _)| *l == n) {
            Some((_, m)) => {
                out.push(html! { { std::mem::take(&mut plain) } });
                out.push(html! { <span class="mark" title={m.clone()}>{ format!("✖{n:>4}\n") }</span> });
            }
            None => plain.push_str(&format!(" {n:>4}\n")),
        }
    }
    out.push(html! { { plain } });
    html! { <pre class="gutter" aria-hidden="true">{ for out }</pre> }
}

/// Selects line `line` (1-based) of the editor, focuses it and scrolls the line into view.
fn show_line(editor: &NodeRef, text: &str, line: usize) {
    let Some(ta) = editor.cast::<web_sys::HtmlTextAreaElement>() else {
        return;
    };
    // The editor counts in UTF-16 units.
    let lines: Vec<u32> = text.split('\n').map(|l| l.encode_utf16().count() as u32).collect();
    let before = line.saturating_sub(1).min(lines.len());
    let start: u32 = lines[..before].iter().map(|n| n + 1).sum();
    let len = lines.get(before).copied().unwrap_or(0);
    let _ = ta.focus();
    let _ = ta.set_selection_range(start, start + len);
    let line_px = f64::from(ta.scroll_height()) / lines.len().max(1) as f64;
    ta.set_scroll_top(((line as f64 - 4.0).max(0.0) * line_px) as i32);
}

/// The gallery entry whose text this is, if any.
fn gallery_index(text: &str) -> Option<usize> {
    GALLERY.iter().position(|(_, t)| *t == text)
}

/// The playground.
#[function_component(App)]
pub fn app() -> Html {
    let init = use_memo((), |_| initial());
    let phone = use_memo((), |_| {
        web_sys::window()
            .and_then(|w| w.match_media("(max-width: 600px)").ok().flatten())
            .is_some_and(|m| m.matches())
    });
    let state = use_reducer(|| Shared(init.0.clone(), 0));
    // The editor is not controlled: Yew would read its whole text back on every render.
    let editor = use_node_ref();
    {
        let (editor, text) = (editor.clone(), state.0.scenario.clone());
        use_effect_with(state.1, move |_| {
            if let Some(ta) = editor.cast::<web_sys::HtmlTextAreaElement>() {
                if ta.value() != text {
                    ta.set_value(&text);
                }
            }
        });
    }
    let selected = use_state(|| None::<usize>);
    let prog_selected = use_state(|| None::<usize>);
    // Each side is keyed on only what it depends on: changing the compared profile leaves the
    // main view alone, and the compared view is the main state under the other profile.
    let main_state = state.0.main();
    let other_state = state.0.compared();
    let view = use_memo(main_state, compute);
    // The scenario text as of the latest render, for handlers of views that were not rendered
    // again since (their own copy of the state may be older).
    let latest = use_mut_ref(String::new);
    latest.borrow_mut().clone_from(&state.0.scenario);
    let other = use_memo(other_state, |s| s.as_ref().map(compute));
    use_link_follows(&state.0);
    let copy_md = {
        let view = view.clone();
        Callback::from(move |_| copy(markdown(&view)))
    };
    let slot = use_state(|| None::<String>);
    let edit_error = use_state(|| None::<String>);
    let all = use_state(|| false);
    html! {
        <div class="app">
            <Header state={state.clone()} all={all.clone()} copy_md={copy_md}/>
            if let Some(m) = &init.1 { <div class="error" id="link-error">{m.clone()}</div> }
            <main>
                <section class="input">
                    // On a phone the page is a read-only stack: the views first, the editor
                    // folded away below them until asked for.
                    <details id="editor" open={!*phone}>
                        <summary><h2>{"Scenario"}</h2><span class="when-closed">{" (tap to edit)"}</span></summary>
                        { trampoline_options(&state, &view) }
                        { {
                            let read = Rc::new(edit::controls(&state.0.scenario));
                            let deps = (read.clone(), *all, (*edit_error).clone());
                            let (state, edit_error, latest, all) = (state.clone(), edit_error.clone(), latest.clone(), *all);
                            memoized(deps, move || controls(&state, &latest, &edit_error, read.clone(), all))
                        } }
                        { scenario_editor(&state, &view, &editor) }
                    </details>
                    <ErrorList errors={view.errors.clone()} editor={editor.clone()} latest={latest.clone()}/>
                </section>
                { views(&state, &view, (*other).as_ref(), Selection {
                    listing_line: selected.clone(),
                    program: prog_selected.clone(),
                    slot: slot.clone(),
                }, *all) }
            </main>
        </div>
    }
}

/// The scenario's text area with its gutter (line numbers and error marks). The text area is
/// not controlled: Yew would read its whole text back on every render.
fn scenario_editor(state: &UseReducerHandle<Shared>, view: &View, editor: &NodeRef) -> Html {
    // The gutter (line numbers and error marks) scrolls with the editor.
    let on_editor_scroll = Callback::from(|e: Event| {
        let ta = e.target_unchecked_into::<web_sys::Element>();
        if let Some(g) = ta.previous_element_sibling() {
            g.set_scroll_top(ta.scroll_top());
        }
    });
    let on_text = {
        let s = state.clone();
        Callback::from(move |e: InputEvent| {
            s.dispatch(Action::Typed(
                e.target_unchecked_into::<web_sys::HtmlTextAreaElement>().value(),
            ))
        })
    };
    html! {
        <div class="editor">
            { {
                let lines = state.0.scenario.split('\n').count();
                let marks: Vec<(usize, String)> = view.errors.iter().filter(|e| e.line > 0).map(|e| (e.line, e.message.clone())).collect();
                memoized((lines, marks.clone()), move || gutter(lines, &marks))
            } }
            <textarea id="scenario" ref={editor.clone()} aria-label="scenario (TOML)" spellcheck="false" wrap="off" oninput={on_text} onscroll={on_editor_scroll}/>
        </div>
    }
}

/// The page's link follows the state: encoded and written after the next frame is painted, so
/// it never delays the view (a newer state cancels a pending write).
#[hook]
fn use_link_follows(state: &State) {
    use_effect_with(state.clone(), |s| {
        let pending = after_paint({
            let s = s.clone();
            move || {
                if let Some(h) = web_sys::window().and_then(|w| w.history().ok()) {
                    let _ = h.replace_state_with_url(&JsValue::NULL, "", Some(&format!("#{}", s.to_fragment())));
                }
            }
        });
        move || drop(pending)
    });
}

/// What is selected in the views.
struct Selection {
    /// The selected listing line.
    listing_line: UseStateHandle<Option<usize>>,
    /// The selected program.
    program: UseStateHandle<Option<usize>>,
    /// The slot picked in the frame drawing (it counts while no listing line is selected).
    slot: UseStateHandle<Option<String>>,
}

/// The views column: the comparison (when one is asked for), the links, the programs, the
/// listing, the frame layout and what each program sees. Each view is rendered again only when
/// what it shows changed.
fn views(state: &UseReducerHandle<Shared>, view: &Rc<View>, other: Option<&View>, pick: Selection, all: bool) -> Html {
    let Selection {
        listing_line: selected,
        program: prog_selected,
        slot,
    } = pick;
    // The slots to mark: those of the selected line, or else the picked slot.
    let sel_slots = match (*selected, &*slot) {
        (None, Some(x)) => vec![x.clone()],
        _ => selected_slots(view, *selected),
    };
    let slot_mark = if selected.is_none() { (*slot).clone() } else { None };
    let pick_slot = {
        let selected = selected.clone();
        Callback::from(move |n: String| {
            selected.set(None);
            slot.set(Some(n));
        })
    };
    html! {
        <section class="views">
            if let Some(b) = other {
                if state.0.compare_scenario.is_empty() {
                    { comparison(view, b, (&view.profile, &b.profile), state.0.bytes, all) }
                } else {
                    { comparison(view, b, (&format!("this scenario ({})", view.profile), &format!("the other scenario ({})", b.profile)), state.0.bytes, all) }
                }
            }
            // Each view is rendered again only when what it shows changed.
            { memoized(links_deps(view), { let v = view.clone(); move || links(&v) }) }
            { memoized((view.programs.clone(), all, *prog_selected), { let (v, all, ps) = (view.clone(), all, prog_selected.clone()); move || programs(&v, all, *ps, &ps) }) }
            <crate::views::JitImages view={view.clone()} selected={*prog_selected} sel={prog_selected.clone()}/>
            { {
                let style = ListingStyle { bytes: state.0.bytes, att: state.0.att, all };
                let (v, selected, slot_mark) = (view.clone(), selected.clone(), slot_mark.clone());
                memoized((listing_deps(view), style, *selected, slot_mark.clone()), move || {
                    listing(&v, style, *selected, &selected, slot_mark.as_deref())
                })
            } }
            { memoized((layout_deps(view), sel_slots.clone()), { let v = view.clone(); move || layout(&v, &sel_slots, Some(pick_slot.clone())) }) }
            { memoized((sees_deps(view), all), { let (v, all) = (view.clone(), all); move || sees(&v, all) }) }
            { executed(view) }
            <crate::run::Run view={view.clone()} line_offset={selected.and_then(|i| view.report.as_ref().and_then(|r| r.listing.get(i)).map(|l| l.offset as u64))} listing_sel={selected.clone()} prog_sel={prog_selected.clone()}/>
        </section>
    }
}

/// The error list's properties.
#[derive(Properties, PartialEq)]
struct ErrorListProps {
    errors: Vec<InputError>,
    /// The editor, to show an error's line in.
    editor: NodeRef,
    /// The scenario text as of the latest render.
    latest: Rc<std::cell::RefCell<String>>,
}

/// The input's errors; each one tied to a line is a button that shows the line in the editor.
#[function_component]
fn ErrorList(props: &ErrorListProps) -> Html {
    html! {
        <ul id="errors" class="errors">
            { for props.errors.iter().map(|e| {
                let text = if e.line > 0 { format!("line {}: {}", e.line, e.message) } else { e.message.clone() };
                if e.line == 0 {
                    return html! { <li class="error">{ text }</li> };
                }
                let (editor, line, latest) = (props.editor.clone(), e.line, props.latest.clone());
                let go = Callback::from(move |_: MouseEvent| show_line(&editor, &latest.borrow(), line));
                html! { <li class="error"><button class="goto" title="show this line in the editor" onclick={go}>{ text }</button></li> }
            }) }
        </ul>
    }
}

/// The trampoline's mode and mitigations as inputs: each shows the value in use (the
/// profile's, or the scenario's mode) until the user sets it.
fn trampoline_options(state: &UseReducerHandle<Shared>, view: &View) -> Html {
    let used = view.report.as_ref().map(|r| &r.check.profile);
    let mode = used.map(|p| p.mode);
    let mit = used.map(|p| p.mitigations).unwrap_or_default();
    // The options are the modes' own names and "" (none).
    let on_mode = on_value(state, |v| Action::Mode(v.parse().ok()));
    let toggle = |label: &'static str,
                  title: &'static str,
                  get: fn(&Mitigations) -> bool,
                  set: fn(&mut Mitigations, bool)| {
        let s = state.clone();
        let on = Callback::from(move |e: Event| {
            let mut m = s.0.mitigations.unwrap_or(mit);
            set(&mut m, e.target_unchecked_into::<web_sys::HtmlInputElement>().checked());
            s.dispatch(Action::Mitigations(Some(m)))
        });
        html! { <label title={title}><input type="checkbox" data-mitigation={label} checked={get(&mit)} onchange={on}/>{ format!(" {label}") }</label> }
    };
    let reset = {
        let s = state.clone();
        Callback::from(move |_| {
            s.dispatch(Action::Mode(None));
            s.dispatch(Action::Mitigations(None));
        })
    };
    let overridden = state.0.mode.is_some() || state.0.mitigations.is_some();
    let name = TrampolineMode::name;
    html! {
        <div id="tramp-options">
            <label title="how the patched function enters the trampoline">{"mode "}<select id="mode" onchange={on_mode}>
                <option value="" selected={state.0.mode.is_none()}>{ format!("{} (as given)", mode.map(name).unwrap_or("-")) }</option>
                { for [TrampolineMode::Call, TrampolineMode::Jmp].map(|m| html!{ <option value={m.name()} selected={state.0.mode == Some(m)}>{m.name()}</option> }) }
            </select></label>
            { toggle("return thunk", "returns go through jmp __x86_return_thunk", |m| m.return_thunk, |m, v| m.return_thunk = v) }
            { toggle("SLS", "int3 after ret and jmp (straight-line speculation)", |m| m.sls, |m, v| m.sls = v) }
            { toggle("IBT", "indirect branch tracking: the original function is called past its endbr64", |m| m.ibt, |m, v| m.ibt = v) }
            { toggle("call depth", "call-depth accounting before calls", |m| m.call_depth, |m, v| m.call_depth = v) }
            if overridden { <button id="options-reset" onclick={reset} title="use the profile's mode and mitigations again">{"as the profile"}</button> }
        </div>
    }
}

/// Structured controls over the scenario text: the prototype, and per program its attach
/// type, attach cookie, syntax, order and removal; a new program. Each edits the text
/// (comments survive; converting a program's syntax rewrites that program's text). One
/// handler per event kind serves every row (rows carry their index).
fn controls(
    state: &UseReducerHandle<Shared>,
    latest: &Rc<std::cell::RefCell<String>>,
    error: &UseStateHandle<Option<String>>,
    read: Rc<Result<edit::Controls, edit::EditError>>,
    all: bool,
) -> Html {
    let apply = {
        let (s, error, latest) = (state.clone(), error.clone(), latest.clone());
        Rc::new(move |f: &dyn Fn(&str) -> Result<String, edit::EditError>| {
            let edited = f(&latest.borrow());
            match edited {
                Ok(t) => {
                    error.set(None);
                    s.dispatch(Action::Scenario(t))
                }
                Err(e) => error.set(Some(e.to_string())),
            }
        })
    };
    let on_proto = {
        let apply = apply.clone();
        Callback::from(move |e: Event| {
            let v = e.target_unchecked_into::<web_sys::HtmlInputElement>().value();
            apply(&|t| edit::set_prototype(t, &v))
        })
    };
    let (rows, prototype, broken) = match &*read {
        Ok(c) => (c.programs.as_slice(), c.prototype.as_str(), None),
        Err(e) => (&[][..], "", Some(e.to_string())),
    };
    let n = rows.len();
    let add = {
        let apply = apply.clone();
        Callback::from(move |_| apply(&|t| edit::add_program(t, AttachType::Fentry)))
    };
    let on_click = on_row_click(apply.clone());
    let on_change = on_row_change(apply.clone());
    let row = {
        let read = read.clone();
        Callback::from(
            move |i: usize| match read.as_ref().as_ref().ok().and_then(|c| c.programs.get(i)) {
                Some(p) => program_row(p, i, n),
                None => html! {},
            },
        )
    };
    let head =
        html! { <tr><th>{"program"}</th><th>{"attach"}</th><th>{"cookie"}</th><th>{"syntax"}</th><th></th></tr> };
    html! {
        <div id="controls">
            <label>{"traced function "}<input id="prototype" type="text" spellcheck="false" value={prototype.to_string()} onchange={on_proto}/></label>
            <Rows id="program-controls" len={n} row={row} head={head} onclick={on_click} onchange={on_change} label="programs" all={all}/>
            <button id="add-program" onclick={add}>{"+ program (fentry)"}</button>
            if let Some(b) = broken { <p class="hint" id="controls-broken">{ format!("The program controls return when the scenario is TOML again: {b}") }</p> }
            if let Some(e) = &**error { <p class="error" id="edit-error">{ e.clone() }</p> }
        </div>
    }
}

/// How the controls change the scenario text: an edit of the latest text, dispatched, or its
/// error shown.
type Apply = Rc<dyn Fn(&dyn Fn(&str) -> Result<String, edit::EditError>)>;

/// The index of the program row an element is in.
fn row_of(el: &web_sys::Element) -> Option<usize> {
    el.closest("tr[data-i]")
        .ok()
        .flatten()
        .and_then(|r| r.get_attribute("data-i"))
        .and_then(|v| v.parse::<usize>().ok())
}

/// The rows' buttons (one listener for the table): move up, move down, remove.
fn on_row_click(apply: Apply) -> Callback<MouseEvent> {
    Callback::from(move |e: MouseEvent| {
        let Some(b) = e
            .target_dyn_into::<web_sys::Element>()
            .and_then(|t| t.closest("button[data-act]").ok().flatten())
        else {
            return;
        };
        let (Some(i), Some(act)) = (row_of(&b), b.get_attribute("data-act")) else {
            return;
        };
        match act.as_str() {
            "up" => apply(&|t| edit::move_program(t, i, true)),
            "down" => apply(&|t| edit::move_program(t, i, false)),
            "remove" => apply(&|t| edit::remove_program(t, i)),
            _ => {}
        }
    })
}

/// The rows' fields (one listener for the table): attach type, cookie, syntax.
fn on_row_change(apply: Apply) -> Callback<Event> {
    Callback::from(move |e: Event| {
        let Some(el) = e.target_dyn_into::<web_sys::Element>() else {
            return;
        };
        let Some(i) = row_of(&el) else { return };
        let value = match el.dyn_ref::<web_sys::HtmlSelectElement>() {
            Some(s) => s.value(),
            None => el.unchecked_ref::<web_sys::HtmlInputElement>().value(),
        };
        match el.get_attribute("data-field").as_deref() {
            Some("attach") => apply(&|t| edit::set_attach(t, i, edit::offered(&value)?)),
            Some("cookie") => apply(&|t| edit::set_cookie(t, i, &value)),
            Some("syntax") => apply(&|t| edit::convert_syntax(t, i, &value)),
            _ => {}
        }
    })
}

/// One program's row of controls; `n` is the number of rows.
fn program_row(p: &edit::ProgramLine, i: usize, n: usize) -> Html {
    let edit::ProgramLine {
        name,
        attach,
        cookie,
        syntax,
    } = p;
    html! { <tr key={i} class="prog-control" data-i={i.to_string()}>
        <td>{ name.clone() }</td>
        <td><select data-field="attach" aria-label={format!("attach type of {name}")}>
            { for edit::attach_kinds().map(|k| html!{ <option value={k.section()} selected={attach.is(k)}>{k.section()}</option> }) }
            if let Some(other) = offered_or_shown(attach) { <option value={other.clone()} selected=true disabled=true>{other}</option> }
        </select></td>
        <td><input class="cookie" data-field="cookie" type="text" inputmode="numeric" spellcheck="false" placeholder="0"
            aria-label={format!("attach cookie of {name}")} title="attach cookie (bpf_get_attach_cookie); Enter applies" value={cookie.clone()}/></td>
        <td><select data-field="syntax" aria-label={format!("syntax of {name}")} title="converting rewrites the program's text (comments and labels are not kept)">
            { for [Syntax::Kernel, Syntax::Conformance].map(|k| html!{ <option value={k.name()} selected={syntax.is(k)}>{k.name()}</option> }) }
            if let edit::Written::Other(other) = syntax { <option value={other.clone()} selected=true disabled=true>{other.clone()}</option> }
        </select></td>
        <td>
            <button data-act="up" title={format!("move {name} up")} disabled={i == 0}>{"↑"}</button>
            <button data-act="down" title={format!("move {name} down")} disabled={i + 1 == n}>{"↓"}</button>
            <button data-act="remove" title={format!("remove {name}")}>{"✕"}</button>
        </td>
    </tr> }
}

/// What the attach control shows besides the offered kinds: an attach type it does not offer,
/// or text core does not know (disabled, so that nothing the text says is hidden).
fn offered_or_shown(attach: &edit::Written<AttachType>) -> Option<String> {
    match attach {
        edit::Written::Known(k) if k.has_trampoline() => None,
        edit::Written::Known(k) => Some(k.section().to_string()),
        edit::Written::Other(t) => Some(t.clone()),
    }
}

/// The header's properties.
#[derive(Properties, PartialEq)]
struct HeaderProps {
    state: UseReducerHandle<Shared>,
    /// "every row".
    all: UseStateHandle<bool>,
    /// Copies the current view as Markdown.
    copy_md: Callback<MouseEvent>,
}

/// The header: the example, the profile, the display options, the links and the comparison.
#[function_component]
fn Header(props: &HeaderProps) -> Html {
    let HeaderProps { state, all, copy_md } = props;
    let state = state.clone();
    let on_compare = on_value(&state, Action::Compare);
    let on_profile = on_value(&state, Action::Profile);
    let on_gallery = {
        let s = state.clone();
        Callback::from(move |e: Event| {
            let i: usize = e
                .target_unchecked_into::<web_sys::HtmlSelectElement>()
                .value()
                .parse()
                .unwrap_or(0);
            if let Some((_, t)) = GALLERY.get(i) {
                s.dispatch(Action::Profile(String::new()));
                s.dispatch(Action::Scenario(t.to_string()));
            }
        })
    };
    let on_att = on_checked(&state, Action::Att);
    let on_bytes = on_checked(&state, Action::Bytes);
    let on_conformance = {
        let s = state.clone();
        Callback::from(move |e: Event| {
            s.dispatch(Action::Conformance(
                e.target_unchecked_into::<web_sys::HtmlSelectElement>().value() == "conformance",
            ))
        })
    };
    let on_compare_scenario = {
        let s = state.clone();
        Callback::from(move |e: Event| {
            let v = e.target_unchecked_into::<web_sys::HtmlSelectElement>().value();
            let text = match v.as_str() {
                "" => String::new(),
                // The current text, frozen: edits on the left are then compared with it.
                "snapshot" => s.0.scenario.clone(),
                i => match i.parse::<usize>().ok().and_then(|i| GALLERY.get(i)) {
                    Some((_, t)) => t.to_string(),
                    None => return,
                },
            };
            s.dispatch(Action::CompareScenario(text))
        })
    };
    let copy_link = {
        let s = state.clone();
        Callback::from(move |_| {
            if let Some(w) = web_sys::window() {
                let href = w.location().href().unwrap_or_default();
                let base = href.split('#').next().unwrap_or("").to_string();
                copy(format!("{base}#{}", s.0.to_fragment()));
            }
        })
    };
    let profiles = fsession_core::kernel::profile::Profile::shipped_ref();
    let on_all = {
        let all = all.clone();
        Callback::from(move |e: Event| all.set(e.target_unchecked_into::<web_sys::HtmlInputElement>().checked()))
    };
    let gallery = gallery_index(&state.0.scenario);
    let compare_gallery = gallery_index(&state.0.compare_scenario);
    html! {
        <header>
            <h1>{"fsession-lab"}</h1>
            <span class="tag">{"how the kernel turns BPF programs into an fsession trampoline"}</span>
            <label>{"example "}<select id="gallery" onchange={on_gallery}>
                if gallery.is_none() { <option value="" selected=true disabled=true>{"(edited)"}</option> }
                { for GALLERY.iter().enumerate().map(|(i, (n, _))| html!{ <option value={i.to_string()} selected={gallery == Some(i)}>{*n}</option> }) }
            </select></label>
            <label>{"profile "}<select id="profile" onchange={on_profile}>
                <option value="" selected={state.0.profile.is_empty()}>{"(the scenario's)"}</option>
                { for profiles.iter().map(|p| html!{ <option value={p.name.clone()} selected={state.0.profile == p.name}>{p.name.clone()}</option> }) }
            </select></label>
            <label>{"BPF syntax "}<select id="bpf-syntax" onchange={on_conformance}>
                <option value="kernel" selected={!state.0.conformance}>{"kernel"}</option>
                <option value="conformance" selected={state.0.conformance}>{"conformance"}</option>
            </select></label>
            <label><input id="att" type="checkbox" checked={state.0.att} onchange={on_att}/>{" AT&T"}</label>
            <label><input id="bytes" type="checkbox" checked={state.0.bytes} onchange={on_bytes}/>{" bytes"}</label>
            <label title="render every row of the long tables (for find-in-page and printing; slower)"><input id="all-rows" type="checkbox" checked={**all} onchange={on_all}/>{" every row"}</label>
            <button id="copy-link" onclick={copy_link}>{"Copy link"}</button>
            <button id="copy-md" onclick={copy_md.clone()}>{"Copy as Markdown"}</button>
            <span class="compare-controls">
                <label>{"compare with profile "}<select id="compare" onchange={on_compare}>
                <option value="" selected={state.0.compare.is_empty()}>{ if state.0.compare_scenario.is_empty() {"(nothing)"} else {"(the same)"} }</option>
                { for profiles.iter().map(|p| html!{ <option value={p.name.clone()} selected={state.0.compare == p.name}>{p.name.clone()}</option> }) }
                </select></label>
                <label>{" and scenario "}<select id="compare-scenario" onchange={on_compare_scenario}>
                <option value="" selected={state.0.compare_scenario.is_empty()}>{"(the same)"}</option>
                <option value="snapshot" title="freeze the current text as the other side, then edit this one">{"a copy of this one, as it is now"}</option>
                if !state.0.compare_scenario.is_empty() && compare_gallery.is_none() { <option value="kept" selected=true disabled=true>{"(the copy in the link)"}</option> }
                { for GALLERY.iter().enumerate().map(|(i, (n, _))| html!{ <option value={i.to_string()} selected={compare_gallery == Some(i)}>{*n}</option> }) }
                </select></label>
            </span>
        </header>
    }
}
