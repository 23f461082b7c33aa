//! Skipping views whose inputs did not change.
//!
//! Every edit recomputes the whole view model, but most edits change only part of it (typing
//! in one program's text leaves the trampoline, the frame and what each program sees alone).
//! [`Memo`] renders its closure again only when its `deps` differ (by value) from the last
//! render's, so Yew neither rebuilds nor diffs the unchanged views.

use std::rc::Rc;
use yew::prelude::*;

/// Properties of [`Memo`]: the values the view is a function of, and the view.
#[derive(Properties)]
pub struct MemoProps<D: PartialEq + 'static> {
    /// Everything `render` reads that can change (compared by value).
    pub deps: D,
    /// Renders the view; it must not read anything that can change outside `deps`.
    pub render: Rc<dyn Fn() -> Html>,
}

impl<D: PartialEq + 'static> PartialEq for MemoProps<D> {
    fn eq(&self, other: &Self) -> bool {
        self.deps == other.deps
    }
}

/// A view rendered again only when its `deps` change.
#[function_component(Memo)]
pub fn memo_view<D: PartialEq + 'static>(p: &MemoProps<D>) -> Html {
    (p.render)()
}

/// `<Memo<D> deps={deps} render={render}/>`.
pub fn memoized<D: PartialEq + 'static>(deps: D, render: impl Fn() -> Html + 'static) -> Html {
    html! { <Memo<D> deps={deps} render={Rc::new(render) as Rc<dyn Fn() -> Html>}/> }
}
