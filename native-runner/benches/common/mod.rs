//! What the interpreter and JIT benchmarks share: the programs, rbpf's helper 5, the median.

use std::time::Duration;

/// One benchmark program.
pub struct Case {
    /// Its row label.
    pub name: &'static str,
    /// The program (kernel syntax).
    pub text: &'static str,
    /// Bytes of input memory (r1, r2).
    pub mem_len: usize,
}

/// The counting loop (peers.md §8).
pub const COUNTING: Case = Case {
    // r0 = sum of i for i < 10,000,000 = 30,000,003 executed instructions
    name: "counting loop (30M insns)",
    text: "r0 = 0\nr1 = 0\nloop:\nr0 += r1\nr1 += 1\nif r1 < 10000000 goto loop\nexit\n",
    mem_len: 0,
};

/// Loads and stores to the input memory and the stack.
pub const MEMORY: Case = Case {
    name: "memory loop (loads/stores to mem and stack)",
    text: "\
        r0 = 0\nr6 = 0\n\
        loop:\n\
        r2 = r6\nr2 &= 56\nr3 = r1\nr3 += r2\n\
        r4 = *(u64 *)(r3 +0)\n\
        r4 += r6\n\
        *(u64 *)(r3 +0) = r4\n\
        *(u64 *)(r10 -8) = r4\n\
        r5 = *(u32 *)(r10 -8)\n\
        r0 += r5\n\
        r6 += 1\n\
        if r6 < 1000000 goto loop\n\
        exit\n",
    mem_len: 64,
};

/// Calls of helper 5 only.
pub const HELPER_CALLS: Case = Case {
    name: "call loop (helper calls)",
    text: "\
        r6 = 0\nr7 = 0\n\
        loop:\n\
        r1 = r7\n\
        r1 += r6\n\
        call 5\n\
        r7 = r0\n\
        r6 += 1\n\
        if r6 < 1000000 goto loop\n\
        r0 = r7\n\
        exit\n",
    mem_len: 0,
};

/// bpf-to-bpf and helper calls.
pub const CALLS: Case = Case {
    name: "call loop (bpf-to-bpf and helper calls)",
    text: "\
        r6 = 0\nr7 = 0\n\
        loop:\n\
        r1 = r6\n\
        call f\n\
        r7 += r0\n\
        r1 = r7\n\
        call 5\n\
        r7 = r0\n\
        r6 += 1\n\
        if r6 < 1000000 goto loop\n\
        r0 = r7\n\
        exit\n\
        f:\n\
        r0 = r1\n\
        r0 += 1\n\
        exit\n",
    mem_len: 0,
};

/// rbpf's helper 5: identity.
pub fn identity(a: u64, _: u64, _: u64, _: u64, _: u64) -> u64 {
    a
}

/// The median of the timings.
pub fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}
