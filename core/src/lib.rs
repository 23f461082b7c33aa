//! fsession-core: a pure model of the Linux fsession machinery.
//!
//! - [`isa`]: the BPF instruction set (RFC 9669): raw slots, structured forms, validation,
//!   kernel-style constructors;
//! - [`asm`]: assemblers and disassemblers for the kernel's text syntax (as `bpftool prog dump
//!   xlated` prints it) and the conformance suite's syntax;
//! - [`interp`]: an interpreter with checked memory regions and typed errors.
//!
//! The crate does no I/O, uses no `unsafe` and no threads, and builds for
//! `wasm32-unknown-unknown`.
#![forbid(unsafe_code)]

pub mod api;
pub mod asm;
pub mod conformance;
pub mod emu;
pub mod errno;
pub mod explain;
pub mod interp;
pub mod isa;
pub mod jit;
pub mod kernel;
pub mod oracle;
pub mod scenario;
pub mod show;
pub mod tramp;
pub mod x86exec;
