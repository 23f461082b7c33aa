//! The fsession-lab playground: a Yew (CSR) app. Everything is computed in the browser by
//! fsession-core; the state lives in the URL fragment.

pub mod app;
pub mod compare;
pub mod deflate;
pub mod edit;
pub mod embed;
pub mod explain;
pub mod memo;
pub mod model;
pub mod run;
pub mod state;
mod views;
pub mod virt;

pub use app::App;
pub use embed::{mount, Embed, EmbedProps, EMBED_VIEWS};
use model::compute;
pub use model::markdown;
use state::State;
use wasm_bindgen::prelude::*;

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
    (
        "6.12: fentry + fexit, 7 arguments",
        include_str!("../../examples/scenarios/linux612_fentry_fexit_7args.toml"),
    ),
    (
        "6.12: fmod_ret + fexit",
        include_str!("../../examples/scenarios/linux612_fmod_ret_fexit.toml"),
    ),
    (
        "6.12: IP_ARG",
        include_str!("../../examples/scenarios/linux612_ip_arg.toml"),
    ),
];

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

/// Diagnostics for the browser benchmark: the average time in milliseconds of `runs` runs of the
/// contract from execution alone (the trampoline's bytes and the fixed-up programs in the
/// executor, one call) for a link's state. Negative when there is nothing to run.
#[wasm_bindgen]
pub fn execution_ms(fragment: &str, runs: u32) -> f64 {
    let (Ok(state), Some(perf)) = (
        State::from_fragment(fragment),
        web_sys::window().and_then(|w| w.performance()),
    ) else {
        return -1.0;
    };
    let v = compute(&state);
    let (Some(s), Some(r)) = (v.scenario.as_deref(), v.report.as_ref()) else {
        return -1.0;
    };
    let Ok(enc) = &r.encoded else { return -1.0 };
    let place = fsession_core::tramp::build::Placement::default();
    let runs = runs.max(1);
    let t0 = perf.now();
    for _ in 0..runs {
        let _ = std::hint::black_box(fsession_core::show::execute_verdict(s, &r.check, enc, &place));
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
