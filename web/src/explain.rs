//! The playground's instruction explanations: core's (`fsession_core::explain`), from the typed
//! instructions, with one x86 formatter per thread for the operands.

use fsession_core::tramp::listing::{AsmSyntax, Line, X86Format};
use std::cell::RefCell;

thread_local! {
    static FMT: RefCell<X86Format> = RefCell::new(X86Format::new());
}

/// Explains a listing line of the image at `image`; operands in AT&T syntax when `att`.
pub fn x86(line: &Line, image: u64, att: bool) -> String {
    let syntax = if att { AsmSyntax::Att } else { AsmSyntax::Intel };
    FMT.with(|f| fsession_core::explain::x86_line(line, image, syntax, &mut f.borrow_mut()))
}
