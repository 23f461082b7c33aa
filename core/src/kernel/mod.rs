//! The kernel side of the contract: profiles, programs and traced functions, the verifier's
//! checks and fixups, and the trampoline link accounting.

pub mod fixup;
pub mod link;
pub mod miscfix;
pub mod patch;
pub mod profile;
pub mod program;
pub mod verifier;
