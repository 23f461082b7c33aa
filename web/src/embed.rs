//! The docs widget: one read-only view at a time with a switcher, and "Open in playground".
//! [`mount`] is the script mount; `embed.html` renders it from the page's fragment.

use crate::model::compute;
use crate::state::State;
use crate::views::{executed, layout, links, listing, programs, sees, selected_slots, ListingStyle};
use wasm_bindgen::prelude::*;
use yew::prelude::*;

/// The views the docs widget can show, as (key, switcher label).
pub const EMBED_VIEWS: &[(&str, &str)] = &[
    ("trampoline", "Trampoline"),
    ("programs", "Fixups"),
    ("frame", "Stack frame"),
    ("sees", "ctx[-1]"),
    ("links", "Links"),
    ("run", "Run"),
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
    let prog_selected = use_state(|| None::<usize>);
    let view = use_memo(p.state.clone(), compute);
    let href = format!("{}#{}", p.playground, p.state.to_fragment());
    let selected_slots = selected_slots(&view, *selected);
    let body = match current.as_str() {
        "programs" => programs(&view, false, *prog_selected, &prog_selected),
        "frame" => layout(&view, &selected_slots, None),
        "sees" => html! { <>{ sees(&view, false) }{ executed(&view) }</> },
        "links" => links(&view),
        "run" => {
            html! { <crate::run::Run view={view.clone()} line_offset={None::<u64>} listing_sel={selected.clone()} prog_sel={prog_selected.clone()}/> }
        }
        _ => listing(
            &view,
            ListingStyle {
                bytes: p.state.bytes,
                att: p.state.att,
                all: false,
            },
            *selected,
            &selected,
            None,
        ),
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
        Err(e) => (State::default(), Some(AttrValue::from(e.to_string()))),
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
