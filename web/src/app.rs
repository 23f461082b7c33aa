//! The playground component: its state reducer, the header controls, the structured program
//! controls and the page layout.

use crate::model::{compute, markdown};
use crate::state::State;
use crate::views::{comparison, layout, links, listing, listing_keys, programs, sees, selected_slots};
use crate::{edit, GALLERY};
use wasm_bindgen::prelude::*;
use yew::prelude::*;

/// Changes to the state.
pub enum Action {
    /// New scenario text.
    Scenario(String),
    /// Profile override ("" = the scenario's).
    Profile(String),
    /// AT&T syntax.
    Att(bool),
    /// Show bytes.
    Bytes(bool),
    /// Profile to compare with ("" = none).
    Compare(String),
}

#[derive(Clone, PartialEq)]
struct Shared(State);

impl Reducible for Shared {
    type Action = Action;
    fn reduce(self: std::rc::Rc<Self>, a: Action) -> std::rc::Rc<Self> {
        let mut s = self.0.clone();
        match a {
            Action::Scenario(t) => s.scenario = t,
            Action::Profile(p) => s.profile = p,
            Action::Att(v) => s.att = v,
            Action::Bytes(v) => s.bytes = v,
            Action::Compare(p) => s.compare = p,
        }
        std::rc::Rc::new(Shared(s))
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

/// The playground.
#[function_component(App)]
pub fn app() -> Html {
    let init = use_memo((), |_| initial());
    let state = use_reducer(|| Shared(init.0.clone()));
    let selected = use_state(|| None::<usize>);
    // Each side is keyed on only what it depends on: changing the compared profile leaves the
    // main view alone, and the compared view is the main state under the other profile.
    let main_state = State {
        compare: String::new(),
        ..state.0.clone()
    };
    let other_state = (!state.0.compare.is_empty()).then(|| State {
        profile: state.0.compare.clone(),
        ..main_state.clone()
    });
    let view = use_memo(main_state, compute);
    let other = use_memo(other_state, |s| s.as_ref().map(compute));
    {
        let frag = state.0.to_fragment();
        use_effect_with(frag, |f| {
            if let Some(w) = web_sys::window() {
                if let Ok(h) = w.history() {
                    let _ = h.replace_state_with_url(&JsValue::NULL, "", Some(&format!("#{f}")));
                }
            }
        });
    }
    let on_text = {
        let s = state.clone();
        Callback::from(move |e: InputEvent| {
            s.dispatch(Action::Scenario(
                e.target_unchecked_into::<web_sys::HtmlTextAreaElement>().value(),
            ))
        })
    };
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
    let copy_link = {
        let f = state.0.to_fragment();
        Callback::from(move |_| {
            if let Some(w) = web_sys::window() {
                let href = w.location().href().unwrap_or_default();
                let base = href.split('#').next().unwrap_or("").to_string();
                copy(format!("{base}#{f}"));
            }
        })
    };
    let copy_md = {
        let md = markdown(&view);
        Callback::from(move |_| copy(md.clone()))
    };
    let on_key = listing_keys(&view, &selected);
    let profiles = fsession_core::kernel::profile::Profile::shipped();
    let slot = use_state(|| None::<String>);
    let edit_error = use_state(|| None::<String>);
    let sel_slots = match (*selected, &*slot) {
        (None, Some(x)) => vec![x.clone()],
        _ => selected_slots(&view, *selected),
    };
    let pick_slot = {
        let (slot, selected) = (slot.clone(), selected.clone());
        Callback::from(move |n: String| {
            selected.set(None);
            slot.set(Some(n));
        })
    };
    let slot_mark = if selected.is_none() { (*slot).clone() } else { None };
    html! {
        <div class="app">
            <header>
                <h1>{"fsession-lab"}</h1>
                <span class="tag">{"how the kernel turns BPF programs into an fsession trampoline"}</span>
                <label>{"example "}<select id="gallery" onchange={on_gallery}>
                    { for GALLERY.iter().enumerate().map(|(i, (n, _))| html!{ <option value={i.to_string()} selected={GALLERY[i].1 == state.0.scenario}>{*n}</option> }) }
                </select></label>
                <label>{"profile "}<select id="profile" onchange={on_profile}>
                    <option value="" selected={state.0.profile.is_empty()}>{"(the scenario's)"}</option>
                    { for profiles.iter().map(|p| html!{ <option value={p.name.clone()} selected={state.0.profile == p.name}>{p.name.clone()}</option> }) }
                </select></label>
                <label>{"compare with "}<select id="compare" onchange={on_compare}>
                    <option value="" selected={state.0.compare.is_empty()}>{"(nothing)"}</option>
                    { for profiles.iter().map(|p| html!{ <option value={p.name.clone()} selected={state.0.compare == p.name}>{p.name.clone()}</option> }) }
                </select></label>
                <label><input id="att" type="checkbox" checked={state.0.att} onchange={on_att}/>{" AT&T"}</label>
                <label><input id="bytes" type="checkbox" checked={state.0.bytes} onchange={on_bytes}/>{" bytes"}</label>
                <button id="copy-link" onclick={copy_link}>{"Copy link"}</button>
                <button id="copy-md" onclick={copy_md}>{"Copy as Markdown"}</button>
            </header>
            if let Some(m) = &init.1 { <div class="error" id="link-error">{m.clone()}</div> }
            <main>
                <section class="input">
                    <h2>{"Scenario"}</h2>
                    { controls(&state, &edit_error) }
                    <textarea id="scenario" spellcheck="false" value={state.0.scenario.clone()} oninput={on_text}/>
                    <ul id="errors" class="errors">
                        { for view.errors.iter().map(|e| html!{ <li class="error">{ if e.line > 0 { format!("line {}: {}", e.line, e.message) } else { e.message.clone() } }</li> }) }
                    </ul>
                </section>
                <section class="views">
                    if let Some(b) = other.as_ref() { { comparison(&view, b, state.0.bytes) } }
                    { links(&view) }
                    { programs(&view) }
                    { listing(&view, state.0.bytes, state.0.att, *selected, &selected, slot_mark.as_deref(), on_key) }
                    { layout(&view, &sel_slots, Some(pick_slot)) }
                    { sees(&view) }
                </section>
            </main>
        </div>
    }
}

/// Structured controls over the scenario text: the prototype, and per program its attach
/// type, order and removal; a new program. Each edits the text (comments survive).
fn controls(state: &UseReducerHandle<Shared>, error: &UseStateHandle<Option<String>>) -> Html {
    let text = state.0.scenario.clone();
    let apply = {
        let (s, error) = (state.clone(), error.clone());
        move |r: Result<String, String>| match r {
            Ok(t) => {
                error.set(None);
                s.dispatch(Action::Scenario(t))
            }
            Err(e) => error.set(Some(e)),
        }
    };
    let on_proto = {
        let (apply, text) = (apply.clone(), text.clone());
        Callback::from(move |e: Event| {
            apply(edit::set_prototype(
                &text,
                &e.target_unchecked_into::<web_sys::HtmlInputElement>().value(),
            ))
        })
    };
    let progs = edit::programs(&text);
    let n = progs.len();
    let add = {
        let (apply, text) = (apply.clone(), text.clone());
        Callback::from(move |_| apply(edit::add_program(&text, "fentry")))
    };
    html! {
        <div id="controls">
            <label>{"traced function "}<input id="prototype" type="text" spellcheck="false" value={edit::prototype(&text).unwrap_or_default()} onchange={on_proto}/></label>
            <table><tbody>
            { for progs.into_iter().enumerate().map(|(i, (name, attach))| {
                let act = |f: fn(&str, usize) -> Result<String, String>| {
                    let (apply, text) = (apply.clone(), text.clone());
                    Callback::from(move |_: MouseEvent| apply(f(&text, i)))
                };
                let on_kind = {
                    let (apply, text) = (apply.clone(), text.clone());
                    Callback::from(move |e: Event| apply(edit::set_attach(&text, i, &e.target_unchecked_into::<web_sys::HtmlSelectElement>().value())))
                };
                html! { <tr class="prog-control">
                    <td>{ name.clone() }</td>
                    <td><select aria-label={format!("attach type of {name}")} onchange={on_kind}>
                        { for edit::ATTACH_KINDS.iter().map(|k| html!{ <option value={*k} selected={attach == *k}>{*k}</option> }) }
                        if !edit::ATTACH_KINDS.contains(&attach.as_str()) { <option value={attach.clone()} selected=true disabled=true>{attach.clone()}</option> }
                    </select></td>
                    <td>
                        <button title={format!("move {name} up")} disabled={i == 0} onclick={act(|t, i| edit::move_program(t, i, true))}>{"↑"}</button>
                        <button title={format!("move {name} down")} disabled={i + 1 == n} onclick={act(|t, i| edit::move_program(t, i, false))}>{"↓"}</button>
                        <button title={format!("remove {name}")} onclick={act(edit::remove_program)}>{"✕"}</button>
                    </td>
                </tr> }
            }) }
            </tbody></table>
            <button id="add-program" onclick={add}>{"+ program (fentry)"}</button>
            if let Some(e) = &**error { <p class="error" id="edit-error">{ e.clone() }</p> }
        </div>
    }
}
