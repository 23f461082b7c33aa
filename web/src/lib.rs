//! The fsession-lab playground: a Yew (CSR) app. Everything is computed in the browser by
//! fsession-core; the state lives in the URL fragment.

pub mod compare;
pub mod edit;
pub mod explain;
pub mod model;
pub mod state;

use model::{compute, View};
use state::State;
use wasm_bindgen::prelude::*;
use yew::prelude::*;

/// Examples shown in the gallery.
pub const GALLERY: &[(&str, &str)] = &[
    (
        "fsession cookie test (default)",
        include_str!("../../examples/scenarios/fsession_cookie.toml"),
    ),
    (
        "fsession basic test",
        include_str!("../../examples/scenarios/fsession_basic.toml"),
    ),
    (
        "the v9 patch 05 bug",
        include_str!("../../examples/scenarios/fsession_cookie_v9_patch05.toml"),
    ),
    (
        "five arguments",
        include_str!("../../examples/scenarios/fsession_five_args.toml"),
    ),
    (
        "bpf_get_func_* in fsession",
        include_str!("../../examples/scenarios/get_func_args_fsession.toml"),
    ),
    (
        "fmod_ret override",
        include_str!("../../examples/scenarios/fmod_ret_override.toml"),
    ),
    (
        "9 slots, struct, IP_ARG",
        include_str!("../../examples/scenarios/many_args_struct_ip.toml"),
    ),
    (
        "v9 cookie limit",
        include_str!("../../examples/scenarios/v9_cookie_limit.toml"),
    ),
    ("38-link limit", include_str!("../../examples/scenarios/links_38.toml")),
    (
        "verifier errors",
        include_str!("../../examples/scenarios/verifier_errors.toml"),
    ),
    (
        "recursion",
        include_str!("../../examples/scenarios/recursion_miss.toml"),
    ),
];

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

/// Markdown of the current trampoline (for issues and reviews): the listing, `ctx[-1]` per
/// program and pass, and the contract verdict.
pub fn markdown(v: &View) -> String {
    let mut s = String::new();
    if let Some(r) = &v.report {
        s.push_str(&format!(
            "fsession-lab: profile `{}`, `{}`\n\n```\n",
            v.profile,
            r.check.function.prototype()
        ));
        for l in &r.listing {
            s.push_str(&format!("{:>4}  {:<24} {:<40} ; {}\n", l.offset, l.hex, l.text, l.role));
        }
        s.push_str("```\n");
        if let Ok(enc) = &r.encoded {
            s.push_str("\n| program | pass | ctx[-1] |\n|---|---|---|\n");
            for i in &enc.invocations {
                s.push_str(&format!("| {} | {:?} | `{:#x}` |\n", i.prog, i.pass, i.func_meta));
            }
        }
        let problems: Vec<&String> = r.contract.lines.iter().flat_map(|l| &l.problems).collect();
        if problems.is_empty() {
            s.push_str(&format!(
                "\nContract ({}): holds for every program and pass.\n",
                v.profile
            ));
        } else {
            s.push_str(&format!("\nContract ({}): **violated**\n\n", v.profile));
            for p in problems {
                s.push_str(&format!("- {p}\n"));
            }
        }
    }
    s
}

/// Arrow keys move the selection in a listing (one tab stop); other keys are left alone.
fn listing_keys(view: &View, selected: &UseStateHandle<Option<usize>>) -> Callback<KeyboardEvent> {
    let n = view.report.as_ref().map(|r| r.listing.len()).unwrap_or(0);
    let targets = model::branch_targets(view);
    let sel = selected.clone();
    Callback::from(move |e: KeyboardEvent| {
        let cur = (*sel).unwrap_or(0);
        match e.key().as_str() {
            "Enter" => {
                if let Some(Some(t)) = (*sel).and_then(|i| targets.get(i)) {
                    e.prevent_default();
                    follow(&sel, *t);
                }
            }
            "ArrowDown" if n > 0 => {
                e.prevent_default();
                sel.set(Some(if (*sel).is_none() { 0 } else { (cur + 1).min(n - 1) }));
            }
            "ArrowUp" if n > 0 => {
                e.prevent_default();
                sel.set(Some(cur.saturating_sub(1)));
            }
            _ => {}
        }
    })
}

/// Selects listing line `to` and scrolls it into view.
fn follow(sel: &UseStateHandle<Option<usize>>, to: usize) {
    sel.set(Some(to));
    if let Some(row) = web_sys::window()
        .and_then(|w| w.document())
        .and_then(|d| d.query_selector_all("#listing tr").ok())
        .and_then(|rows| rows.item(to as u32))
    {
        if let Ok(el) = row.dyn_into::<web_sys::Element>() {
            el.scroll_into_view_with_bool(false);
        }
    }
}

/// The frame slots the selected listing line reads, writes or addresses.
fn selected_slots(view: &View, selected: Option<usize>) -> Vec<String> {
    match (&view.report, selected) {
        (Some(r), Some(i)) => r
            .listing
            .get(i)
            .map(|l| model::slot_names(&l.slots))
            .unwrap_or_default(),
        _ => vec![],
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
    let view = use_memo(state.0.clone(), compute);
    let other = use_memo(state.0.clone(), |s| {
        (!s.compare.is_empty()).then(|| {
            compute(&State {
                profile: s.compare.clone(),
                compare: String::new(),
                ..s.clone()
            })
        })
    });
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

fn links(v: &View) -> Html {
    let Some(r) = &v.report else { return html! {} };
    let t = &r.check.trampoline;
    let list = |name: &str, l: &Vec<fsession_core::kernel::link::ListEntry>| {
        html! { <tr><th>{name.to_string()}</th><td>{l.len()}</td><td>{ l.iter().map(|e| format!("{}{} ({})", e.link.name, if e.shadow {"'"} else {""}, e.link.attach)).collect::<Vec<_>>().join(", ") }</td></tr> }
    };
    html! {
        <div id="links"><h2>{"Links"}</h2>
            <table><tbody>
                { list("fentry", &t.fentry) }{ list("fexit", &t.fexit) }{ list("fmod_ret", &t.fmod_ret) }
            </tbody></table>
            <p>{ format!("profile {}: {}/{} slots, {} fsession ({} with cookies), flags {}", v.profile, t.slots_used, r.check.profile.max_tramp_links, t.fsession_cnt, t.fsession_cookie_cnt, v.flags) }</p>
            <ul class="ops">{ for r.check.link_ops.iter().map(|o| html!{ <li class={if o.result.is_ok() {"ok"} else {"error"}}>{ format!("{} {}: {}", o.op, o.program, match &o.result { Ok(()) => "ok".to_string(), Err(e) => e.to_string() }) }</li> }) }</ul>
        </div>
    }
}

fn programs(v: &View) -> Html {
    html! {
        <div id="programs"><h2>{"Programs before and after fixups"}</h2>
        { for v.programs.iter().map(|p| html! {
            <div class="prog">
                <h3>{ format!("{} ({})", p.name, p.attach) }<span class={if p.rejected {"error"} else {"ok"}}>{ format!(" {}", p.verdict) }</span></h3>
                <table class="side"><tbody>
                { for p.rows.iter().map(|r| html! {
                    <tr class={if r.note.is_empty() {""} else {"fixed"}}>
                        <td class="idx">{ r.before.as_ref().map(|b| b.0.to_string()).unwrap_or_default() }</td>
                        <td class="code" title={ r.before.as_ref().map(|b| explain::bpf(&b.1, b.0)).unwrap_or_default() }>{ r.before.as_ref().map(|b| b.1.clone()).unwrap_or_default() }</td>
                        <td class="idx">{ r.after.as_ref().map(|b| b.0.to_string()).unwrap_or_default() }</td>
                        <td class="code" title={ r.after.as_ref().map(|b| explain::bpf(&b.1, b.0)).unwrap_or_default() }>{ r.after.as_ref().map(|b| b.1.clone()).unwrap_or_default() }</td>
                        <td class="note">{ r.note.clone() }</td>
                    </tr> }) }
                </tbody></table>
            </div> }) }
        </div>
    }
}

fn listing(
    v: &View,
    bytes: bool,
    att: bool,
    selected: Option<usize>,
    sel: &UseStateHandle<Option<usize>>,
    slot: Option<&str>,
    on_key: Callback<KeyboardEvent>,
) -> Html {
    let Some(r) = &v.report else { return html! {} };
    let targets = model::branch_targets(v);
    // One handler for the whole table (rows carry data-i, jump buttons data-to): a listing has
    // hundreds of rows, and a closure per row would be replaced on every render.
    let on_click = {
        let sel = sel.clone();
        Callback::from(move |e: MouseEvent| {
            let Some(target) = e.target_dyn_into::<web_sys::Element>() else {
                return;
            };
            let index = |el: Option<web_sys::Element>, attr: &str| {
                el.and_then(|x| x.get_attribute(attr))
                    .and_then(|v| v.parse::<usize>().ok())
            };
            if let Some(to) = index(target.closest("button.follow").ok().flatten(), "data-to") {
                follow(&sel, to);
            } else if let Some(i) = index(target.closest("tr").ok().flatten(), "data-i") {
                sel.set(Some(i));
            }
        })
    };
    let body = match &r.encoded {
        Err(e) => html! { <p id="no-trampoline">{ format!("no trampoline: {e}") }</p> },
        Ok(enc) => html! {
            <>
            <p>{ format!("{} bytes of code, {} mode, frame {} bytes", enc.bytes.len(), if enc.jmp_mode {"jmp"} else {"call"}, enc.layout.stack_size) }</p>
            <table id="listing" tabindex="0" onkeydown={on_key} onclick={on_click}><tbody>
            { for r.listing.iter().enumerate().map(|(i, l)| {
                let jump = targets.get(i).copied().flatten().map(|t| html! {
                    <button class="follow" tabindex="-1" title="follow the jump (Enter)" data-to={t.to_string()}>{ format!("→ {}", r.listing[t].offset) }</button>
                });
                let touches = slot.is_some_and(|x| model::slot_names(&l.slots).iter().any(|n| n == x));
                html! { <tr class={if selected == Some(i) {"sel"} else if touches {"hit"} else {""}} data-i={i.to_string()}>
                    <td class="off">{ l.offset }</td>
                    if bytes { <td class="hex">{ l.hex.clone() }</td> }
                    <td class="code" title={explain::x86(&l.text, att)}>{ l.text.clone() }</td>
                    <td class="role">{ l.role.clone() }{ for jump }</td>
                    <td class="slots">{ if touches { format!("▶ {}", l.slots) } else { l.slots.clone() } }</td>
                </tr> } }) }
            </tbody></table>
            <p id="explain" class="explain" aria-live="polite">{
                match selected.and_then(|i| r.listing.get(i)) {
                    Some(l) => format!("{}: {}", l.offset, explain::x86(&l.text, att)),
                    None => "Select a line (click, or focus the listing and use the arrow keys; Enter follows a jump) to explain it and mark its frame slots.".to_string(),
                }
            }</p>
            </>
        },
    };
    html! { <div id="trampoline"><h2>{"Trampoline"}</h2>{ body }</div> }
}

/// The frame as a table (and a drawing). `pick` makes the slot names buttons that select the
/// slot, marking the listing lines that touch it.
fn layout(v: &View, selected_slots: &[String], pick: Option<Callback<String>>) -> Html {
    let Some(Ok(enc)) = v.report.as_ref().map(|r| &r.encoded) else {
        return html! {};
    };
    let name = |n: &str, hit: bool| {
        let label = if hit { format!("▶ {n}") } else { n.to_string() };
        match &pick {
            Some(cb) => {
                let (cb, n) = (cb.clone(), n.to_string());
                html! { <button class="slotpick" title="mark the instructions that touch this slot" onclick={Callback::from(move |_| cb.emit(n.clone()))}>{ label }</button> }
            }
            None => html! { label },
        }
    };
    html! {
        <div id="frame"><h2>{"Stack frame"}</h2>
            { drawing(&enc.layout, selected_slots) }
            <table id="layout"><thead><tr><th>{"slot"}</th><th>{"rbp offset"}</th><th>{"size"}</th><th>{"ctx"}</th><th>{"condition"}</th></tr></thead><tbody>
            { for by_address(&enc.layout).into_iter().map(|s| {
                let hit = selected_slots.iter().any(|x| x == &s.name);
                html! { <tr class={if hit {"hit"} else {""}}>
                    <td>{ name(&s.name, hit) }</td><td>{ format!("{:+}", s.rbp_off) }</td><td>{ s.size }</td>
                    <td>{ s.ctx.clone().unwrap_or_default() }</td><td>{ s.condition.clone() }</td>
                </tr> } }) }
            </tbody></table>
        </div>
    }
}

/// The frame's slots, highest address first.
fn by_address(layout: &fsession_core::tramp::layout::FrameLayout) -> Vec<&fsession_core::tramp::layout::Slot> {
    let mut v: Vec<_> = layout.slots.iter().collect();
    v.sort_by_key(|s| std::cmp::Reverse(s.rbp_off));
    v
}

/// The frame drawn to scale, highest address on top: one box per slot, 8 bytes per unit.
fn drawing(layout: &fsession_core::tramp::layout::FrameLayout, hits: &[String]) -> Html {
    html! {
        <div class="stack" aria-hidden="true">
            { for by_address(layout).into_iter().map(|s| {
                let hit = hits.iter().any(|x| x == &s.name);
                let units = s.size.div_ceil(8).max(1);
                html! { <div class={if hit {"cell hit"} else {"cell"}} style={format!("height: {}em", 1.4 * units as f32)}>
                    <span class="off">{ format!("rbp{:+}", s.rbp_off) }</span>{ format!(" {}{}", if hit {"▶ "} else {""}, s.name) }
                </div> } }) }
            <div class="cell rsp">{ format!("rsp = rbp-{}", layout.stack_size) }</div>
        </div>
    }
}

fn sees(v: &View) -> Html {
    let Some(r) = &v.report else { return html! {} };
    let Ok(enc) = &r.encoded else { return html! {} };
    let holds = r.contract.holds();
    html! {
        <div id="sees"><h2>{"What each program sees"}</h2>
            <table><thead><tr><th>{"program"}</th><th>{"pass"}</th><th>{"ctx[-1]"}</th><th>{"nr_args"}</th><th>{"cookie"}</th><th>{"is_return"}</th></tr></thead><tbody>
            { for enc.invocations.iter().zip(&r.contract.lines).map(|(i, l)| html! { <tr>
                <td>{ i.prog.clone() }</td><td>{ format!("{:?}", i.pass).to_lowercase() }</td><td>{ format!("{:#x}", i.func_meta) }</td>
                <td>{ l.nr_args }</td><td>{ l.cookie_index.map(|c| format!("ctx[-{c}]")).unwrap_or("-".into()) }</td>
                <td>{ l.is_return.map(|b| (b as u8).to_string()).unwrap_or("-".into()) }</td></tr> }) }
            </tbody></table>
            <div id="contract" class={if holds {"ok"} else {"error"}}>
                { if holds { format!("contract ({}): holds for every program and pass", v.profile) } else { format!("contract ({}): VIOLATED", v.profile) } }
                <ul>{ for r.contract.lines.iter().flat_map(|l| l.problems.iter()).map(|p| html!{ <li>{p.clone()}</li> }) }</ul>
            </div>
        </div>
    }
}

fn comparison(a: &View, b: &View, bytes: bool) -> Html {
    let c = compare::compare(a, b);
    let cell = |x: &Option<String>| x.clone().unwrap_or_else(|| "—".into());
    let keyed = |id: &str, title: &str, rows: &[compare::KeyedRow]| {
        html! {
            <>
            <h3>{ title.to_string() }</h3>
            <table id={id.to_string()}><thead><tr><th></th><th>{""}</th><th>{ a.profile.clone() }</th><th>{ b.profile.clone() }</th></tr></thead><tbody>
            { for rows.iter().map(|r| html! { <tr class={if r.mark == compare::Mark::Same {""} else {"diff"}}>
                <td class="mark">{ r.mark.sign() }</td><td>{ r.key.clone() }</td><td>{ cell(&r.a) }</td><td>{ cell(&r.b) }</td></tr> }) }
            </tbody></table>
            </>
        }
    };
    let verdict = |h: bool| if h { "holds" } else { "VIOLATED" };
    html! {
        <div id="compare"><h2>{ format!("Compare: {} vs {}", a.profile, b.profile) }</h2>
            <p class={if c.contract.0 && c.contract.1 {"ok"} else {"error"}}>{ format!(
                "{} differing rows; contract {} under {}, {} under {}. Marks: - only in {}, + only in {}, ≠ changed.",
                c.differences(), verdict(c.contract.0), a.profile, verdict(c.contract.1), b.profile, a.profile, b.profile) }</p>
            { keyed("compare-sees", "ctx[-1] per program and pass", &c.sees) }
            { keyed("compare-slots", "Stack frame slots", &c.slots) }
            <h3>{"Trampoline (aligned by instruction text; ≠ where the bytes differ)"}</h3>
            <table id="compare-listing"><thead><tr><th></th><th>{"off"}</th>if bytes {<th>{"bytes"}</th>}<th>{ a.profile.clone() }</th><th>{"off"}</th>if bytes {<th>{"bytes"}</th>}<th>{ b.profile.clone() }</th></tr></thead><tbody>
            { for c.listing.iter().map(|r| {
                let side = |x: &Option<(usize, String, String)>| match x {
                    Some((o, h, t)) => html! { <><td class="off">{ *o }</td>if bytes {<td class="hex">{ h.clone() }</td>}<td class="code">{ t.clone() }</td></> },
                    None => html! { <><td></td>if bytes {<td></td>}<td></td></> },
                };
                html! { <tr class={if r.mark == compare::Mark::Same {""} else {"diff"}}><td class="mark">{ r.mark.sign() }</td>{ side(&r.a) }{ side(&r.b) }</tr> }
            }) }
            </tbody></table>
        </div>
    }
}

/// The views the docs widget can show, as (key, switcher label).
pub const EMBED_VIEWS: &[(&str, &str)] = &[
    ("trampoline", "Trampoline"),
    ("programs", "Fixups"),
    ("frame", "Stack frame"),
    ("sees", "ctx[-1]"),
    ("links", "Links"),
];

/// Properties of the docs widget.
#[derive(Properties, PartialEq, Clone)]
pub struct EmbedProps {
    /// The state to show (read-only).
    pub state: State,
    /// The view shown first (a key of [`EMBED_VIEWS`]; unknown keys show the trampoline).
    pub view: AttrValue,
    /// The playground's URL (without fragment), for "Open in playground".
    pub playground: AttrValue,
    /// Why the state could not be read, if it could not (the default state is shown).
    #[prop_or_default]
    pub link_error: Option<AttrValue>,
}

/// The docs widget: one read-only view at a time with a switcher, and a link that opens the
/// exact state in the playground.
#[function_component(Embed)]
pub fn embed(p: &EmbedProps) -> Html {
    let first = if EMBED_VIEWS.iter().any(|(k, _)| *k == p.view.as_str()) {
        p.view.to_string()
    } else {
        "trampoline".into()
    };
    let current = use_state(|| first);
    let selected = use_state(|| None::<usize>);
    let view = use_memo(p.state.clone(), compute);
    let on_key = listing_keys(&view, &selected);
    let href = format!("{}#{}", p.playground, p.state.to_fragment());
    let selected_slots = selected_slots(&view, *selected);
    let body = match current.as_str() {
        "programs" => programs(&view),
        "frame" => layout(&view, &selected_slots, None),
        "sees" => sees(&view),
        "links" => links(&view),
        _ => listing(&view, p.state.bytes, p.state.att, *selected, &selected, None, on_key),
    };
    html! {
        <div class="fsl-embed">
            <nav class="fsl-switch" role="tablist">
                { for EMBED_VIEWS.iter().map(|(k, label)| {
                    let c = current.clone();
                    let key = k.to_string();
                    let on = *current == *k;
                    html! { <button role="tab" aria-selected={on.to_string()} class={if on {"on"} else {""}} data-view={*k} onclick={Callback::from(move |_| c.set(key.clone()))}>{*label}</button> }
                }) }
                <a class="fsl-open" href={href} target="_blank" rel="noopener">{"Open in playground"}</a>
            </nav>
            if let Some(e) = &p.link_error { <p class="error">{ format!("could not open the link: {e}") }</p> }
            <ul class="errors">{ for view.errors.iter().map(|e| html!{ <li class="error">{ if e.line > 0 { format!("line {}: {}", e.line, e.message) } else { e.message.clone() } }</li> }) }</ul>
            <div class="fsl-view">{ body }</div>
        </div>
    }
}

/// Mounts the docs widget into `element` (replacing its content): `fragment` is a playground
/// link's fragment (`v1.…`, with or without `#`), `view` the first view (a key of
/// [`EMBED_VIEWS`]), `playground` the playground's URL for "Open in playground".
#[wasm_bindgen]
pub fn mount(element: web_sys::Element, fragment: &str, view: &str, playground: &str) {
    let (state, link_error) = match State::from_fragment(fragment) {
        Ok(s) => (s, None),
        Err(e) => (State::default(), Some(AttrValue::from(e))),
    };
    element.set_inner_html("");
    let props = EmbedProps {
        state,
        view: AttrValue::from(view.to_string()),
        playground: AttrValue::from(playground.to_string()),
        link_error,
    };
    yew::Renderer::<Embed>::with_root_and_props(element, props).render();
}

/// Diagnostics for the browser tests: the average time in milliseconds of `runs` runs of the
/// whole pipeline (the view model, without rendering) for a link's state, measured with
/// `performance.now()`. Negative when the link cannot be read or no clock is available.
#[wasm_bindgen]
pub fn pipeline_ms(fragment: &str, runs: u32) -> f64 {
    let (Ok(state), Some(perf)) = (
        State::from_fragment(fragment),
        web_sys::window().and_then(|w| w.performance()),
    ) else {
        return -1.0;
    };
    let runs = runs.max(1);
    let t0 = perf.now();
    for _ in 0..runs {
        std::hint::black_box(compute(std::hint::black_box(&state)));
    }
    (perf.now() - t0) / f64::from(runs)
}

fn set_panic_hook() {
    std::panic::set_hook(Box::new(|info| {
        if let Some(doc) = web_sys::window().and_then(|w| w.document()) {
            if let Some(el) = doc.get_element_by_id("fatal") {
                el.set_text_content(Some(&format!(
                    "fsession-lab crashed: {info}. Reload the page; the link keeps your input."
                )));
            }
        }
    }));
}

/// Entry point: a panic hook that keeps the page from going blank, then the page named by
/// `<body data-fsession-page=...>`: `playground` renders the app into `#app`, `embed` the docs
/// widget into `#embed` (state from the URL fragment, first view from its `data-view`). Other
/// pages (hosts of the script mount) get nothing until they call [`mount`].
#[wasm_bindgen(start)]
pub fn start() {
    set_panic_hook();
    let Some(doc) = web_sys::window().and_then(|w| w.document()) else {
        return;
    };
    let page = doc
        .body()
        .and_then(|b| b.get_attribute("data-fsession-page"))
        .unwrap_or_default();
    match page.as_str() {
        "playground" => {
            if let Some(root) = doc.get_element_by_id("app") {
                root.set_inner_html("");
                yew::Renderer::<App>::with_root(root).render();
            }
        }
        "embed" => {
            if let Some(root) = doc.get_element_by_id("embed") {
                let hash = web_sys::window()
                    .and_then(|w| w.location().hash().ok())
                    .unwrap_or_default();
                let view = root.get_attribute("data-view").unwrap_or_default();
                mount(root, &hash, &view, "index.html");
            }
        }
        _ => {}
    }
}
