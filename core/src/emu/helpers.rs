//! The helpers a program may call, as the executor models them. Their kernel meaning is kept;
//! where the kernel's value depends on the machine (time, randomness, the CPU, the task) the
//! executor answers deterministically, so that the same scenario gives the same run:
//! - 5 `bpf_ktime_get_ns`: a clock that starts at 1 s and advances 1000 ns per call;
//! - 7 `bpf_get_prandom_u32`: LFSR113 (the kernel's `bpf_user_rnd_u32` generator) from a fixed
//!   seed; with a scenario's `reentry`, the traced function is that implementation, so the helper
//!   calls it (the run nests) and returns its value;
//! - 8 `bpf_get_smp_processor_id`: CPU 0;
//! - 14 `bpf_get_current_pid_tgid`: tgid 1000, pid 1000;
//! - 174 `bpf_get_attach_cookie`: the attach cookie from the trampoline's run_ctx.
//!
//! The native runner answers 5, 7, 8 and 14 from the machine: those values are the expected
//! differences of the executor-against-hardware comparison (it compares no helper results).

/// `bpf_ktime_get_ns`.
pub const KTIME_GET_NS: i32 = 5;
/// `bpf_get_prandom_u32`.
pub const GET_PRANDOM_U32: i32 = 7;
/// `bpf_get_smp_processor_id`.
pub const GET_SMP_PROCESSOR_ID: i32 = 8;
/// `bpf_get_current_pid_tgid`.
pub const GET_CURRENT_PID_TGID: i32 = 14;
/// `bpf_get_attach_cookie`.
pub const GET_ATTACH_COOKIE: i32 = 174;

/// The executor's seed of LFSR113 (each component above the generator's minimum).
pub const PRANDOM_SEED: [u32; 4] = [0x1234_5678, 0x9abc_def8, 0x0fed_cba9, 0x7654_3280];
/// The executor's tgid and pid.
pub const PID_TGID: u64 = (1000 << 32) | 1000;
/// The executor's clock at its first reading.
pub const KTIME_START_NS: u64 = 1_000_000_000;
/// What the clock advances per reading.
pub const KTIME_STEP_NS: u64 = 1000;

/// One step of LFSR113 (L'Ecuyer, "Tables of maximally equidistributed combined LFSR
/// generators", 1999).
pub fn lfsr113(z: &mut [u32; 4]) -> u32 {
    z[0] = ((z[0] & 0xffff_fffe) << 18) ^ (((z[0] << 6) ^ z[0]) >> 13);
    z[1] = ((z[1] & 0xffff_fff8) << 2) ^ (((z[1] << 2) ^ z[1]) >> 27);
    z[2] = ((z[2] & 0xffff_fff0) << 7) ^ (((z[2] << 13) ^ z[2]) >> 21);
    z[3] = ((z[3] & 0xffff_ff80) << 13) ^ (((z[3] << 3) ^ z[3]) >> 12);
    z[0] ^ z[1] ^ z[2] ^ z[3]
}

/// The helpers the models implement.
pub const MODELLED: [i32; 5] = [
    KTIME_GET_NS,
    GET_PRANDOM_U32,
    GET_SMP_PROCESSOR_ID,
    GET_CURRENT_PID_TGID,
    GET_ATTACH_COOKIE,
];

/// Whether helper `id` has a model.
pub fn is_modelled(id: i32) -> bool {
    MODELLED.contains(&id)
}
