//! The scenario run in the executor: the model's trampoline bytes, placed where `show` lists
//! them, executed by [`crate::x86exec`] with the kernel functions they call as behaviour models
//! and the programs run by the interpreter on the executor's own memory.

pub mod diff;
pub mod engine;
pub mod expect;
pub mod helpers;
#[cfg(feature = "emu-jit")]
pub mod jit;
pub mod random;
pub mod report;
pub mod run;
pub mod stepper;
pub mod trace;
pub mod verdict;
