//! The views, as functions of a [`View`]: links, programs before and after fixups, the
//! trampoline listing, the frame (table and drawing), what each program sees, and a comparison
//! of two views. Shared by the playground and the docs widget.

use crate::model::View;
use crate::virt::Rows;
use crate::{compare, explain};
use std::rc::Rc;
use yew::prelude::*;

/// Keys of a selectable table (one tab stop): arrow keys move the selection over `len` rows
/// (the first arrow selects the first row); Enter follows the selected row's jump, if
/// `jumps` has one for it. Other keys are left to the browser.
fn selection_keys(
    len: usize,
    sel: &UseStateHandle<Option<usize>>,
    jumps: Rc<Vec<Option<usize>>>,
) -> Callback<KeyboardEvent> {
    let sel = sel.clone();
    Callback::from(move |e: KeyboardEvent| {
        let cur = *sel;
        match e.key().as_str() {
            "Enter" => {
                if let Some(Some(t)) = cur.and_then(|i| jumps.get(i)) {
                    e.prevent_default();
                    follow(&sel, *t);
                }
            }
            "ArrowDown" if len > 0 => {
                e.prevent_default();
                sel.set(Some(cur.map_or(0, |c| (c + 1).min(len - 1))));
            }
            "ArrowUp" if len > 0 => {
                e.prevent_default();
                sel.set(Some(cur.map_or(0, |c| c.saturating_sub(1))));
            }
            _ => {}
        }
    })
}

/// Selects listing line `to` (the listing scrolls it into view).
pub(crate) fn follow(sel: &UseStateHandle<Option<usize>>, to: usize) {
    sel.set(Some(to));
}

/// What [`links`] shows of the view.
pub(crate) type LinksDeps = Option<(
    fsession_core::kernel::link::TrampolineLinks,
    Vec<fsession_core::scenario::LinkOp>,
    u32,
    String,
    String,
)>;

/// What [`links`] shows of the view.
pub(crate) fn links_deps(v: &View) -> LinksDeps {
    let r = v.report.as_ref()?;
    Some((
        r.check.trampoline.clone(),
        r.check.link_ops.clone(),
        r.check.profile.max_tramp_links,
        v.profile.clone(),
        v.flags.clone(),
    ))
}

/// What [`listing`] shows of the view: the lines and the summary (or why there is none).
pub(crate) fn listing_deps(v: &View) -> (Vec<fsession_core::tramp::listing::Line>, String) {
    match &v.report {
        None => (vec![], String::new()),
        Some(r) => (
            r.listing.clone(),
            match &r.encoded {
                Ok(enc) => format!("{} {} {}", enc.bytes.len(), enc.jmp_mode, enc.layout.stack_size),
                Err(e) => e.to_string(),
            },
        ),
    }
}

/// What [`layout`] shows of the view.
pub(crate) fn layout_deps(v: &View) -> Option<fsession_core::tramp::layout::FrameLayout> {
    match v.report.as_ref().map(|r| &r.encoded) {
        Some(Ok(enc)) => Some(enc.layout.clone()),
        _ => None,
    }
}

/// What [`sees`] shows of the view.
pub(crate) type SeesDeps = Option<(
    Vec<fsession_core::tramp::Invocation>,
    Vec<fsession_core::tramp::contract::ContractLine>,
    String,
)>;

/// What [`sees`] shows of the view.
pub(crate) fn sees_deps(v: &View) -> SeesDeps {
    let r = v.report.as_ref()?;
    let enc = r.encoded.as_ref().ok()?;
    Some((enc.invocations.clone(), r.contract.lines.clone(), v.profile.clone()))
}

/// The frame slots the selected listing line reads, writes or addresses.
pub(crate) fn selected_slots(view: &View, selected: Option<usize>) -> Vec<String> {
    match (&view.report, selected) {
        (Some(r), Some(i)) => r
            .listing
            .get(i)
            .map(|l| l.slots.iter().map(|s| s.name.clone()).collect())
            .unwrap_or_default(),
        _ => vec![],
    }
}

pub(crate) fn links(v: &View) -> Html {
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
            <ul class="ops" aria-label="attach results">{ for r.check.link_ops.iter().map(|o| html!{ <li class={if o.result.is_ok() {"ok"} else {"error"}}>{ format!("{} {}: {}", o.op, o.program, match &o.result { Ok(()) => "ok".to_string(), Err(e) => e.to_string() }) }</li> }) }</ul>
        </div>
    }
}

/// The programs before and after fixups: one table, a heading row per program, then one row
/// per original instruction joined to its inlined range.
pub(crate) fn programs(v: &Rc<View>, all: bool, selected: Option<usize>, sel: &UseStateHandle<Option<usize>>) -> Html {
    // (program, None for its heading row or Some(row))
    let flat: Vec<(usize, Option<usize>)> = v
        .programs
        .iter()
        .enumerate()
        .flat_map(|(i, p)| std::iter::once((i, None)).chain((0..p.rows.len()).map(move |r| (i, Some(r)))))
        .collect();
    let len = flat.len();
    // The explanation of the selected row (keyboard or click), as the listing has.
    let explain_line = match selected.and_then(|k| flat.get(k)) {
        Some(&(i, None)) => format!(
            "{} ({}): {}",
            v.programs[i].name, v.programs[i].attach, v.programs[i].verdict
        ),
        Some(&(i, Some(j))) => {
            let (p, r) = (&v.programs[i], &v.programs[i].rows[j]);
            let mut parts = vec![];
            if let Some((n, _)) = &r.before {
                parts.push(format!("as written, insn {n}: {}", p.explain(false, *n)));
            }
            if let Some((n, _)) = &r.after {
                parts.push(format!("after fixups, insn {n}: {}", p.explain(true, *n)));
            }
            if !r.note.is_empty() {
                parts.push(r.note.clone());
            }
            format!("{}: {}", p.name, parts.join("; "))
        }
        None => {
            "Select a row (click, or focus the table and use the arrow keys) to explain its instructions.".to_string()
        }
    };
    let on_key = selection_keys(len, sel, Rc::default());
    let on_click = {
        let sel = sel.clone();
        Callback::from(move |e: MouseEvent| {
            let k = e
                .target_dyn_into::<web_sys::Element>()
                .and_then(|t| t.closest("tr[data-k]").ok().flatten())
                .and_then(|r| r.get_attribute("data-k"))
                .and_then(|k| k.parse::<usize>().ok());
            if k.is_some() {
                sel.set(k);
            }
        })
    };
    let row = {
        let v = v.clone();
        Callback::from(move |k: usize| {
            let (i, r) = flat[k];
            let class = |base: &'static str| match (selected == Some(k), base.is_empty()) {
                (true, true) => "sel".to_string(),
                (true, false) => format!("{base} sel"),
                (false, _) => base.to_string(),
            };
            let p = &v.programs[i];
            let rowindex = (k + 2).to_string();
            match r {
                None => html! {
                    <tr key={format!("p{i}")} class={class("proghead")} data-k={k.to_string()} aria-rowindex={rowindex}><th colspan="5">{ format!("{} ({})", p.name, p.attach) }
                        <span class={if p.rejected {"error"} else {"ok"}}>{ format!(" {}", p.verdict) }</span></th></tr>
                },
                Some(j) => {
                    let r = &p.rows[j];
                    // Keyed by program and row, so a row typed into one program leaves the
                    // elements of the rows after it alone.
                    html! {
                        <tr key={format!("p{i}.{j}")} class={class(if r.note.is_empty() {""} else {"fixed"})} data-k={k.to_string()} aria-rowindex={rowindex}>
                            <td class="idx">{ r.before.as_ref().map(|b| b.0.to_string()).unwrap_or_default() }</td>
                            <td class="code" title={ r.before.as_ref().map(|b| p.explain(false, b.0)).unwrap_or_default() }>{ r.before.as_ref().map(|b| b.1.clone()).unwrap_or_default() }</td>
                            <td class="idx">{ r.after.as_ref().map(|b| b.0.to_string()).unwrap_or_default() }</td>
                            <td class="code" title={ r.after.as_ref().map(|b| p.explain(true, b.0)).unwrap_or_default() }>{ r.after.as_ref().map(|b| b.1.clone()).unwrap_or_default() }</td>
                            <td class="note" title={r.note.clone()}>{ r.note.clone() }</td>
                        </tr>
                    }
                }
            }
        })
    };
    let head = html! { <tr><th>{"#"}</th><th>{"as written"}</th><th>{"#"}</th><th>{"after fixups"}</th><th>{"what the fixup does"}</th></tr> };
    html! {
        <div id="programs"><h2>{"Programs before and after fixups"}</h2>
            <p>{ format!("{} program{}: {}", v.programs.len(), if v.programs.len() == 1 {""} else {"s"},
                v.programs.iter().map(|p| format!("{} {}", p.name, if p.rejected {"rejected"} else {"accepted"})).collect::<Vec<_>>().join(", ")) }</p>
            <Rows id="program-rows" len={len} row={row} head={head} label="programs before and after fixups" all={all}
                focusable=true reveal={selected} onkeydown={on_key} onclick={on_click}/>
            <p id="program-explain" class="explain" aria-live="polite">{ explain_line }</p>
        </div>
    }
}

/// The flat row index of program `i`'s row `j` in the programs table (heading rows included).
fn flat_index(v: &View, i: usize, j: usize) -> usize {
    v.programs[..i].iter().map(|p| 1 + p.rows.len()).sum::<usize>() + 1 + j
}

/// The program and the slot after fixups of the programs table's selected row, if any.
fn selected_slot(v: &View, selected: Option<usize>) -> Option<(usize, usize)> {
    let mut k = selected?;
    for (i, p) in v.programs.iter().enumerate() {
        if k == 0 {
            return None;
        }
        if k <= p.rows.len() {
            return p.rows[k - 1].after.as_ref().map(|a| (i, a.0));
        }
        k -= 1 + p.rows.len();
    }
    None
}

/// Properties of [`JitImages`].
#[derive(Properties, Clone)]
pub(crate) struct JitProps {
    /// The computed view.
    pub view: Rc<View>,
    /// The programs table's selected row.
    pub selected: Option<usize>,
    /// Its handle (a click on an x86 instruction selects its BPF row).
    pub sel: UseStateHandle<Option<usize>>,
}

impl PartialEq for JitProps {
    fn eq(&self, o: &Self) -> bool {
        Rc::ptr_eq(&self.view, &o.view) && self.selected == o.selected
    }
}

/// Each program's JIT image (bytes, x86, the BPF slot each range comes from, the prologue,
/// epilogue and call sites named), linked both ways with the programs table: the selected
/// fixups row marks its x86 instructions, a click on an x86 instruction selects its BPF row.
/// Compiled only while the section is open, so that edits cost nothing more when it is closed.
#[function_component(JitImages)]
pub(crate) fn jit_images(p: &JitProps) -> Html {
    let open = use_state(|| false);
    let v = &p.view;
    let on_toggle = {
        let open = open.clone();
        Callback::from(move |e: Event| {
            if let Some(d) = e.target_dyn_into::<web_sys::HtmlDetailsElement>() {
                open.set(d.open());
            }
        })
    };
    let intro = format!(
        "JIT images: each program as the {} kernel's x86-64 JIT compiles it",
        v.profile
    );
    if !*open {
        return html! {
            <details id="jit" ontoggle={on_toggle}><summary><h2>{ intro }</h2></summary></details>
        };
    }
    let images = crate::model::jit_views(v);
    let mark = selected_slot(v, p.selected);
    let on_click = {
        let (v, sel) = (v.clone(), p.sel.clone());
        Callback::from(move |e: MouseEvent| {
            let at = e
                .target_dyn_into::<web_sys::Element>()
                .and_then(|t| t.closest("tr[data-slot]").ok().flatten())
                .and_then(|r| Some((r.get_attribute("data-prog")?, r.get_attribute("data-slot")?)))
                .and_then(|(p, s)| Some((p.parse::<usize>().ok()?, s.parse::<usize>().ok()?)));
            let Some((i, slot)) = at else { return };
            let Some(p) = v.programs.get(i) else { return };
            if let Some(j) = p
                .rows
                .iter()
                .position(|r| r.after.as_ref().is_some_and(|a| a.0 == slot))
            {
                sel.set(Some(flat_index(&v, i, j)));
            }
        })
    };
    let program = |(i, (p, j)): (usize, (&crate::model::ProgView, &Option<crate::model::JitView>))| -> Html {
        let Some(j) = j else { return html! {} };
        if let Some(e) = &j.error {
            return html! { <div class="jitprog"><h3>{ format!("{} ({})", p.name, p.attach) }</h3><p class="error">{ format!("not compiled: {e}") }</p></div> };
        }
        let funcs = j
            .funcs
            .iter()
            .map(|(k, addr, len)| format!("subprog {k}: {len} bytes at {addr:#x}"))
            .collect::<Vec<_>>()
            .join("; ");
        let rows = j.rows.iter().enumerate().map(|(n, r)| {
            let slot = r.bpf.map(|s| s.to_string()).unwrap_or_default();
            let on = matches!((mark, r.bpf), (Some((mi, ms)), Some(s)) if mi == i && ms == s);
            let hex: Vec<String> = r.bytes.iter().map(|b| format!("{b:02x}")).collect();
            let role = fsession_core::jit::role_note(r.role).unwrap_or_default();
            html! {
                <tr key={n} class={if on {"sel"} else {""}} data-prog={i.to_string()} data-slot={slot.clone()}>
                    <td class="idx">{ r.func }</td>
                    <td class="idx">{ format!("+{:#05x}", r.offset) }</td>
                    <td class="hex">{ hex.join(" ") }</td>
                    <td class="code">{ r.text.clone() }</td>
                    <td class="idx">{ slot }</td>
                    <td class="note">{ role }</td>
                </tr>
            }
        });
        html! {
            <div class="jitprog"><h3>{ format!("{} ({}): {funcs}", p.name, p.attach) }</h3>
                <table class="listing jit"><thead><tr><th>{"sub"}</th><th>{"offset"}</th><th>{"bytes"}</th><th>{"x86-64"}</th><th>{"BPF #"}</th><th>{"role"}</th></tr></thead>
                <tbody onclick={on_click.clone()}>{ for rows }</tbody></table></div>
        }
    };
    html! {
        <details id="jit" open=true ontoggle={on_toggle}><summary><h2>{ intro }</h2></summary>
            <p>{ "The program after fixups and the verifier's division rewrites, at the addresses the Run view uses. Select a row of the programs table to mark its instructions; click an instruction to select its BPF row." }</p>
            { for v.programs.iter().zip(images.iter()).enumerate().map(program) }
        </details>
    }
}

/// How the listing is shown.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) struct ListingStyle {
    /// The bytes column.
    pub bytes: bool,
    /// AT&T syntax (else Intel).
    pub att: bool,
    /// Every row rendered (else only those near the pane's view).
    pub all: bool,
}

pub(crate) fn listing(
    v: &Rc<View>,
    style: ListingStyle,
    selected: Option<usize>,
    sel: &UseStateHandle<Option<usize>>,
    slot: Option<&str>,
) -> Html {
    let ListingStyle { bytes, att, all } = style;
    let Some(r) = &v.report else { return html! {} };
    // One handler for the whole table (rows carry data-i, jump buttons data-to).
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
        Ok(enc) => {
            let touching: Vec<usize> = match slot {
                Some(x) => r
                    .listing
                    .iter()
                    .enumerate()
                    .filter(|(_, l)| l.touches(x))
                    .map(|(i, _)| i)
                    .collect(),
                None => vec![],
            };
            let targets: Rc<Vec<Option<usize>>> = Rc::new(r.listing.iter().map(|l| l.jump_to).collect());
            let on_key = selection_keys(r.listing.len(), sel, targets.clone());
            let row = {
                let (v, targets, touching) = (v.clone(), targets, Rc::new(touching.clone()));
                Callback::from(move |i: usize| {
                    let Some(r) = &v.report else { return html! {} };
                    let l = &r.listing[i];
                    let jump = targets.get(i).copied().flatten().map(|t| html! {
                        <button class="follow" tabindex="-1" title="follow the jump (Enter)" data-to={t.to_string()}>{ format!("→ {}", r.listing[t].offset) }</button>
                    });
                    let touches = touching.binary_search(&i).is_ok();
                    html! { <tr key={i} class={if selected == Some(i) {"sel"} else if touches {"hit"} else {""}} data-i={i.to_string()} aria-rowindex={(i + 1).to_string()}>
                        <td class="off">{ l.offset }</td>
                        if bytes { <td class="hex">{ l.hex() }</td> }
                        <td class="code" title={explain::x86(l, r.spec.addrs.image, att)}>{ l.text.clone() }</td>
                        <td class="role">{ l.role.clone() }{ for jump }</td>
                        <td class="slots">{ if touches { format!("▶ {}", l.slots_text()) } else { l.slots_text() } }</td>
                    </tr> }
                })
            };
            let explain_line = match (selected.and_then(|i| r.listing.get(i)), slot) {
                (Some(l), _) => format!("{}: {}", l.offset, explain::x86(l, r.spec.addrs.image, att)),
                (None, Some(x)) if touching.is_empty() => format!("no instruction touches {x}"),
                (None, Some(x)) => format!(
                    "{} touched by {} instruction{} (▶), at offsets {}",
                    x,
                    touching.len(),
                    if touching.len() == 1 { "" } else { "s" },
                    touching.iter().map(|&i| r.listing[i].offset.to_string()).collect::<Vec<_>>().join(", ")
                ),
                (None, None) => "Select a line (click, or focus the listing and use the arrow keys; Enter follows a jump) to explain it and mark its frame slots.".to_string(),
            };
            // Picking a slot scrolls to the first instruction touching it.
            let reveal = selected.or_else(|| touching.first().copied());
            html! {
                <>
                <p>{ format!("{} bytes of code, {} mode, frame {} bytes, {} instructions", enc.bytes.len(), if enc.jmp_mode {"jmp"} else {"call"}, enc.layout.stack_size, r.listing.len()) }</p>
                <Rows id="listing" len={r.listing.len()} row={row} reveal={reveal} focusable=true
                    onkeydown={on_key} onclick={on_click} label="trampoline listing" all={all}/>
                <p id="explain" class="explain" aria-live="polite">{ explain_line }</p>
                </>
            }
        }
    };
    html! { <div id="trampoline"><h2>{"Trampoline"}</h2>{ body }</div> }
}

/// The frame as a table (and a drawing). `pick` makes the slot names buttons that select the
/// slot, marking the listing lines that touch it.
pub(crate) fn layout(v: &View, selected_slots: &[String], pick: Option<Callback<String>>) -> Html {
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
pub(crate) fn by_address(
    layout: &fsession_core::tramp::layout::FrameLayout,
) -> Vec<&fsession_core::tramp::layout::Slot> {
    let mut v: Vec<_> = layout.slots.iter().collect();
    v.sort_by_key(|s| std::cmp::Reverse(s.rbp_off));
    v
}

/// The frame drawn to scale, highest address on top: one box per slot, 8 bytes per unit.
pub(crate) fn drawing(layout: &fsession_core::tramp::layout::FrameLayout, hits: &[String]) -> Html {
    html! {
        <div class="stack" aria-hidden="true">
            { for by_address(layout).into_iter().map(|s| {
                let hit = hits.iter().any(|x| x == &s.name);
                let units = s.size.div_ceil(8).max(1);
                html! { <div class={if hit {"cell hit"} else {"cell"}} style={format!("height: {}.{}em", 14 * units / 10, 14 * units % 10)}>
                    <span class="off">{ format!("rbp{:+}", s.rbp_off) }</span>{ format!(" {}{}", if hit {"▶ "} else {""}, s.name) }
                </div> } }) }
            <div class="cell rsp">{ format!("rsp = rbp-{}", layout.stack_size) }</div>
        </div>
    }
}

pub(crate) fn sees(v: &Rc<View>, all: bool) -> Html {
    let Some(r) = &v.report else { return html! {} };
    let Ok(enc) = &r.encoded else { return html! {} };
    let holds = r.contract.holds();
    let row = {
        let v = v.clone();
        Callback::from(move |k: usize| {
            let Some(Ok(enc)) = v.report.as_ref().map(|r| &r.encoded) else {
                return html! {};
            };
            let (i, l) = (&enc.invocations[k], &v.report.as_ref().map(|r| &r.contract.lines[k]));
            let Some(l) = l else { return html! {} };
            html! { <tr key={k} aria-rowindex={(k + 2).to_string()}>
            <td>{ i.prog.clone() }</td><td>{ format!("{:?}", i.pass).to_ascii_lowercase() }</td><td>{ format!("{:#x}", i.func_meta) }</td>
            <td>{ l.nr_args }</td><td>{ l.cookie_index.map(|c| format!("ctx[-{c}]")).unwrap_or("-".into()) }</td>
            <td>{ l.is_return.map(|b| (b as u8).to_string()).unwrap_or("-".into()) }</td></tr> }
        })
    };
    let head = html! { <tr><th>{"program"}</th><th>{"pass"}</th><th>{"ctx[-1]"}</th><th>{"nr_args"}</th><th>{"cookie"}</th><th>{"is_return"}</th></tr> };
    html! {
        <div id="sees"><h2>{"What each program sees"}</h2>
            <Rows id="sees-rows" len={enc.invocations.len().min(r.contract.lines.len())} row={row} head={head} label="ctx[-1] per program and pass" all={all}/>
            <div id="contract" class={if holds {"ok"} else {"error"}}>
                { if holds { format!("contract ({}): holds for every program and pass", v.profile) } else { format!("contract ({}): VIOLATED", v.profile) } }
                <span class="note">{" (intended: the encoder's ctx[-1] words, decoded as the verifier's inlines decode them)"}</span>
                <ul>{ for r.contract.lines.iter().flat_map(|l| l.problems.iter()).map(|p| html!{ <li>{p.to_string()}</li> }) }</ul>
            </div>
        </div>
    }
}

/// The contract from execution: the verdict, each program run's inlined results and cookie
/// writes, and the problems. Not memoized: it changes with every edit that changes execution,
/// which [`sees_deps`] does not see.
pub(crate) fn executed(v: &View) -> Html {
    let profile = v.profile.as_str();
    let Some(e) = v.report.as_ref().and_then(|r| r.execution.as_ref()) else {
        return html! {};
    };
    let v = match e {
        Ok(v) => v,
        Err(err) => {
            return html! { <div id="exec-contract" class="error">{ format!("from execution ({profile}): not run: {err}") }</div> }
        }
    };
    let holds = v.holds();
    let line = |l: &fsession_core::emu::verdict::ExecLine| {
        let got: Vec<String> = l
            .returned
            .iter()
            .map(|r| match &r.points_to {
                Some(p) => format!("{}() → {p}", r.what),
                None => format!("{}() = {:#x}", r.what, r.r0),
            })
            .chain(
                l.cookie_writes
                    .iter()
                    .map(|w| format!("*cookie = {:#x} → {}", w.value, w.at)),
            )
            .collect();
        html! { <li class={if l.problems.is_empty() {""} else {"bad"}}>{ format!("call {} {} ({}): ctx[-1] = {:#x}{}{}", l.call, l.who.prog, l.who.pass, l.func_meta, if got.is_empty() {""} else {"; "}, got.join(", ")) }</li> }
    };
    let calls: Vec<String> = v
        .calls
        .iter()
        .enumerate()
        .map(|(c, (w, r))| {
            let args: Vec<String> = w.iter().map(|x| format!("{x:#x}")).collect();
            format!("call {c}: ({}) returned {r:#x}", args.join(", "))
        })
        .collect();
    html! {
        <div id="exec-contract" class={if holds {"ok"} else {"error"}}>
            { if holds { format!("from execution ({profile}): holds for every program and pass") } else { format!("from execution ({profile}): VIOLATED") } }
            <span class="note">{ format!(" ({} steps of the trampoline's bytes with the fixed-up programs; {})", v.steps, calls.join("; ")) }</span>
            <ul class="problems">{ for v.problems().map(|p| html!{ <li>{p.to_string()}</li> }) }</ul>
            <details><summary>{"what each program run got"}</summary><ul class="runs">{ for v.lines.iter().map(line) }</ul></details>
        </div>
    }
}

/// The comparison of two views; `names` label the two sides (the profiles, or which scenario
/// under which profile when the scenarios differ).
pub(crate) fn comparison(a: &View, b: &View, names: (&str, &str), bytes: bool, all: bool) -> Html {
    let c = Rc::new(compare::compare(a, b));
    let (na, nb) = (names.0.to_string(), names.1.to_string());
    let class = |m: compare::Mark| if m == compare::Mark::Same { "" } else { "diff" };
    // The three tables scroll in panes and render only the rows near the view, as the others.
    let keyed = |id: &'static str, title: &str, rows: fn(&compare::Comparison) -> &Vec<compare::KeyedRow>| {
        let row = {
            let c = c.clone();
            Callback::from(move |i: usize| {
                let r = &rows(&c)[i];
                let cell = |x: &Option<String>| x.clone().unwrap_or_else(|| "—".into());
                html! { <tr key={i} class={class(r.mark)}>
                <td class="mark">{ r.mark.sign() }</td><td>{ r.key.clone() }</td><td>{ cell(&r.a) }</td><td>{ cell(&r.b) }</td></tr> }
            })
        };
        let head = html! { <tr><th></th><th></th><th>{ na.clone() }</th><th>{ nb.clone() }</th></tr> };
        html! {
            <>
            <h3>{ title.to_string() }</h3>
            <Rows id={id} len={rows(&c).len()} row={row} head={head} label={title.to_string()} all={all}/>
            </>
        }
    };
    let aligned_row = |rows: Rc<Vec<compare::ListingRow>>| {
        Callback::from(move |i: usize| {
            let r = &rows[i];
            let side = |x: &Option<(usize, String, String)>| match x {
                Some((o, h, t)) => {
                    html! { <><td class="off">{ *o }</td>if bytes {<td class="hex">{ h.clone() }</td>}<td class="code">{ t.clone() }</td></> }
                }
                None => html! { <><td></td>if bytes {<td></td>}<td></td></> },
            };
            html! { <tr key={i} class={class(r.mark)}><td class="mark">{ r.mark.sign() }</td>{ side(&r.a) }{ side(&r.b) }</tr> }
        })
    };
    let listing_row = aligned_row(Rc::new(c.listing.clone()));
    let listing_head = html! { <tr><th></th><th>{"off"}</th>if bytes {<th>{"bytes"}</th>}<th>{ na.clone() }</th><th>{"off"}</th>if bytes {<th>{"bytes"}</th>}<th>{ nb.clone() }</th></tr> };
    let verdict = |h: bool| if h { "holds" } else { "VIOLATED" };
    html! {
        <div id="compare"><h2>{ format!("Compare: {na} vs {nb}") }</h2>
            <p class={if c.contract.0 && c.contract.1 {"ok"} else {"error"}}>{ format!(
                "{} differing rows; contract {} under {}, {} under {}. Marks: - only in {}, + only in {}, ≠ changed.",
                c.differences(), verdict(c.contract.0), na, verdict(c.contract.1), nb, na, nb) }</p>
            { keyed("compare-sees", "ctx[-1] per program and pass", |c| &c.sees) }
            { keyed("compare-slots", "Stack frame slots", |c| &c.slots) }
            <h3>{"Trampoline (aligned by instruction text; ≠ where the bytes differ)"}</h3>
            <Rows id="compare-listing" len={c.listing.len()} row={listing_row} head={listing_head.clone()} label="the two trampolines aligned" all={all}/>
            { for c.jit.iter().enumerate().map(|(k, j)| html! {
                <>
                <h3>{ format!("JIT image of {} (aligned by instruction text; ≠ where the bytes differ)", j.program) }</h3>
                <Rows id={format!("compare-jit-{k}")} len={j.rows.len()} row={aligned_row(Rc::new(j.rows.clone()))} head={listing_head.clone()} label={format!("the JIT images of {} aligned", j.program)} all={all}/>
                </>
            }) }
        </div>
    }
}
