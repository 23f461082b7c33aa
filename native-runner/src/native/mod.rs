//! Native execution of the model's trampolines (x86-64 only): executable memory, generated
//! stubs and bodies, the runtime the trampoline calls, child-process isolation.

pub mod child;
pub mod codegen;
pub mod exec;
pub mod jit;
pub mod kat;
pub mod mem;
pub mod protocol;
pub mod report;
pub mod rt;
pub mod wasm;
