//! A table that renders only the rows in and near its scroll pane's viewport.
//!
//! The views of a 38-link trampoline have thousands of rows; building, diffing, laying out and
//! painting all of them on every keystroke took 50 to 100 ms. A [`Rows`] table lives in a pane
//! of bounded height (`.pane` in the CSS) and renders the rows the pane shows plus
//! [`OVERSCAN`] on each side, with spacer rows standing in for the rest, so an edit costs the
//! same whatever the scenario's size. Rows must be one line high (the CSS keeps them from
//! wrapping); the height is measured from the rendered rows. `all` renders every row (for the
//! browser's find-in-page and for printing).

use wasm_bindgen::JsCast;
use yew::prelude::*;

/// Rows rendered above and below the visible ones.
pub const OVERSCAN: usize = 8;
/// Row height assumed until one has been measured, in CSS pixels.
const DEFAULT_ROW_PX: f64 = 19.0;
/// Pane height assumed until the pane has been measured, in CSS pixels.
const DEFAULT_PANE_PX: f64 = 600.0;

/// Properties of [`Rows`].
#[derive(Properties, PartialEq)]
pub struct RowsProps {
    /// The table's `id`.
    pub id: AttrValue,
    /// How many rows there are.
    pub len: usize,
    /// Renders row `i`: a `<tr key={i}>` (keyed, so a row's element stays that row's while the
    /// window moves), with `aria-rowindex={i + 2}` when there is a header.
    pub row: Callback<usize, Html>,
    /// The header row (`<tr>` of `<th>`), if any.
    #[prop_or_default]
    pub head: Option<Html>,
    /// A row to scroll into view (the selection); it is revealed when this changes.
    #[prop_or_default]
    pub reveal: Option<usize>,
    /// Makes the table one tab stop.
    #[prop_or_default]
    pub focusable: bool,
    /// Key handler on the table.
    #[prop_or_default]
    pub onkeydown: Option<Callback<KeyboardEvent>>,
    /// Click handler on the table (delegated: rows carry their index as data).
    #[prop_or_default]
    pub onclick: Option<Callback<MouseEvent>>,
    /// Change handler on the table (delegated, like `onclick`).
    #[prop_or_default]
    pub onchange: Option<Callback<Event>>,
    /// Accessible name of the table.
    #[prop_or_default]
    pub label: Option<AttrValue>,
    /// Render every row.
    #[prop_or_default]
    pub all: bool,
}

/// The window of rows to render for a pane scrolled to `top` rows showing `visible` rows.
pub fn window(len: usize, top: usize, visible: usize, all: bool) -> (usize, usize) {
    if all {
        return (0, len);
    }
    let over = overscan(visible);
    let start = top.saturating_sub(over).min(len);
    let end = top.saturating_add(visible).saturating_add(over).min(len);
    (start, end.max(start))
}

/// Spare rows on each side for a pane showing `visible` rows: a quarter of a pane, at most
/// [`OVERSCAN`].
pub fn overscan(visible: usize) -> usize {
    (visible / 4).clamp(2, OVERSCAN)
}

fn spacer(px: f64) -> Html {
    if px <= 0.0 {
        return html! {};
    }
    // Tenths of a pixel, formatted as integers (no float formatting code in the wasm).
    let t = (px * 10.0).round() as u64;
    html! { <tr class="spacer" aria-hidden="true" style={format!("height:{}.{}px", t / 10, t % 10)}><td colspan="99"></td></tr> }
}

/// Measures the pane: (scrollTop, clientHeight, header height, mean row height).
fn measure(pane: &web_sys::Element) -> (f64, f64, f64, Option<f64>) {
    let rows = pane.query_selector_all("tbody > tr:not(.spacer)").ok();
    let height = |n: Option<web_sys::Node>| {
        n.and_then(|n| n.dyn_into::<web_sys::Element>().ok())
            .map(|e| e.get_bounding_client_rect())
    };
    let row = rows.and_then(|rows| {
        let n = rows.length();
        if n < 2 {
            return None;
        }
        let (a, b) = (height(rows.item(0))?, height(rows.item(n - 1))?);
        let px = (b.bottom() - a.top()) / f64::from(n);
        (px > 4.0 && px < 200.0).then_some(px)
    });
    let head = pane
        .query_selector("thead")
        .ok()
        .flatten()
        .map(|h| h.get_bounding_client_rect().height())
        .unwrap_or(0.0);
    (f64::from(pane.scroll_top()), f64::from(pane.client_height()), head, row)
}

/// Where a pane is scrolled to and how big its parts are, in CSS pixels.
#[derive(Clone, Copy, PartialEq)]
struct Geometry {
    /// First visible row.
    top: usize,
    /// The pane's height.
    pane_px: f64,
    /// The header row's height.
    head_px: f64,
    /// One row's height.
    row_px: f64,
}

/// A virtualised table in a scroll pane.
#[function_component(Rows)]
pub fn rows(p: &RowsProps) -> Html {
    let pane = use_node_ref();
    let geo = use_state(|| Geometry {
        top: 0,
        pane_px: DEFAULT_PANE_PX,
        head_px: 0.0,
        row_px: DEFAULT_ROW_PX,
    });
    let Geometry {
        top, pane_px, row_px, ..
    } = *geo;
    let visible = (pane_px / row_px).ceil() as usize + 1;
    let (start, end) = window(p.len, top, visible, p.all);
    let update = {
        let (pane, geo) = (pane.clone(), geo.clone());
        move || {
            let Some(el) = pane.cast::<web_sys::Element>() else {
                return;
            };
            let (scroll, pane_px, head_px, row) = measure(&el);
            let g = *geo;
            let row_px = row.unwrap_or(g.row_px);
            let top = ((scroll - head_px).max(0.0) / row_px) as usize;
            // Re-render only when the window would move by a useful amount or sizes changed.
            let visible = (pane_px / row_px).ceil() as usize + 1;
            let moved = top.abs_diff(g.top) >= overscan(visible) / 2 || (top == 0) != (g.top == 0);
            let resized = (pane_px - g.pane_px).abs() > 1.0
                || (head_px - g.head_px).abs() > 1.0
                || (row_px - g.row_px).abs() > 0.25;
            if moved || resized {
                geo.set(Geometry {
                    top,
                    pane_px,
                    head_px,
                    row_px,
                });
            }
        }
    };
    let onscroll = {
        let update = update.clone();
        Callback::from(move |_: Event| update())
    };
    // After each render: the real sizes (they settle after the first render and on resize).
    {
        let update = update.clone();
        use_effect(move || {
            update();
        });
    }
    // Scroll the revealed row into the pane's view.
    {
        let (pane, geo, update) = (pane.clone(), geo.clone(), update.clone());
        use_effect_with(p.reveal, move |reveal| {
            if let (Some(i), Some(el)) = (reveal, pane.cast::<web_sys::Element>()) {
                let Geometry {
                    pane_px,
                    head_px,
                    row_px,
                    ..
                } = *geo;
                let y = head_px + *i as f64 * row_px;
                let scroll = f64::from(el.scroll_top());
                if y < scroll + head_px || y + row_px > scroll + pane_px {
                    el.set_scroll_top((y - pane_px / 3.0).max(0.0) as i32);
                    // Render the new window now rather than on the scroll event's frame.
                    update();
                }
            }
        });
    }
    html! {
        <div class="pane" ref={pane} onscroll={onscroll}>
            <table id={p.id.clone()} class="virt" tabindex={p.focusable.then_some("0")}
                onkeydown={p.onkeydown.clone()} onclick={p.onclick.clone()} onchange={p.onchange.clone()} aria-label={p.label.clone()}
                aria-rowcount={(p.len + usize::from(p.head.is_some())).to_string()} data-rows={p.len.to_string()}>
                if let Some(h) = &p.head { <thead>{ h.clone() }</thead> }
                <tbody>
                    { spacer(start as f64 * row_px) }
                    { for (start..end).map(|i| p.row.emit(i)) }
                    { spacer((p.len - end) as f64 * row_px) }
                </tbody>
            </table>
        </div>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn window_covers_the_visible_rows_and_overscan() {
        assert_eq!(overscan(30), 7);
        assert_eq!(overscan(100), OVERSCAN);
        assert_eq!(overscan(0), 2);
        assert_eq!(window(1000, 0, 30, false), (0, 37));
        assert_eq!(window(1000, 500, 30, false), (493, 537));
        assert_eq!(window(1000, 990, 30, false), (983, 1000));
        assert_eq!(window(10, 0, 30, false), (0, 10));
        assert_eq!(
            window(10, 50, 30, false),
            (10, 10),
            "a stale scroll position renders nothing, no panic"
        );
        assert_eq!(window(1000, 500, 30, true), (0, 1000));
        assert_eq!(window(0, 0, 0, false), (0, 0));
    }
}
