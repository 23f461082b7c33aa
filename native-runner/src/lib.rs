//! fsession-runner as a library: native execution of the model's trampolines (used by the
//! `fsession-lab` binary and its benchmarks).

#[cfg(target_arch = "x86_64")]
pub mod native;
