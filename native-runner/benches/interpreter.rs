//! Interpreter benchmark: the same bytecode in fsession-lab's interpreter and in rbpf 0.4.1's,
//! in one run, interleaved. Prints ns per executed BPF instruction for both and the ratio.
//!
//! `cargo bench -p fsession-runner --bench interpreter` (set `BENCH_REPS` to change the number of
//! timed repetitions per VM, default 7; the median is reported).

use fsession_core::asm::{assemble, Syntax};
use fsession_core::interp::{prepare, Machine, RunOptions, MEM_BASE};
use fsession_core::isa::{encode, Insn};
use std::hint::black_box;
use std::time::Instant;

// Each bench takes the cases it needs.
#[allow(dead_code)]
mod common;
use common::{identity, median, Case, CALLS, COUNTING, MEMORY};

const CASES: &[Case] = &[COUNTING, MEMORY, CALLS];

fn main() {
    // `cargo test` runs bench targets only with --benches; ignore libtest flags if present.
    let reps: usize = std::env::var("BENCH_REPS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(7);
    println!(
        "{:<46} {:>14} {:>14} {:>8}",
        "program", "fsession ns/i", "rbpf ns/i", "ratio"
    );
    for case in CASES {
        let insns: Vec<Insn> = assemble(case.text, Syntax::Kernel).expect("bench program assembles");
        let bytes = encode(&insns);

        // fsession-lab
        let prog = prepare(&insns).expect("bench program loads");
        let mut m = Machine::conformance(vec![0; case.mem_len]);
        let opts = RunOptions {
            budget: u64::MAX,
            ..Default::default()
        };
        let args = [
            if case.mem_len > 0 { MEM_BASE } else { 0 },
            case.mem_len as u64,
            0,
            0,
            0,
        ];
        let first = prog.run(&mut m, args, opts).expect("bench program runs");
        let executed = first.executed;

        // rbpf 0.4.1
        let mut vm = rbpf::EbpfVmRaw::new(Some(&bytes)).expect("rbpf loads the program");
        vm.register_helper(5, identity).expect("rbpf registers helper 5");
        let mut rmem = vec![0u8; case.mem_len.max(8)];
        let r_first = vm.execute_program(&mut rmem).expect("rbpf runs the program");
        // Both VMs must compute the same result on a fresh memory image.
        let mut m2 = Machine::conformance(vec![0; case.mem_len]);
        let ours = prog.run(&mut m2, args, opts).unwrap().r0;
        let mut rmem2 = vec![0u8; case.mem_len.max(8)];
        let theirs = vm.execute_program(&mut rmem2).unwrap();
        assert_eq!(
            ours, theirs,
            "{}: results differ (first rbpf run gave {r_first:#x})",
            case.name
        );

        let (mut a, mut b) = (Vec::new(), Vec::new());
        for _ in 0..reps {
            let mut m = Machine::conformance(vec![0; case.mem_len]);
            let t = Instant::now();
            black_box(prog.run(&mut m, black_box(args), opts).unwrap());
            a.push(t.elapsed());
            let mut rm = vec![0u8; case.mem_len.max(8)];
            let t = Instant::now();
            black_box(vm.execute_program(black_box(&mut rm)).unwrap());
            b.push(t.elapsed());
        }
        let (ma, mb) = (median(a), median(b));
        let nsa = ma.as_nanos() as f64 / executed as f64;
        let nsb = mb.as_nanos() as f64 / executed as f64;
        println!(
            "{:<46} {:>14.3} {:>14.3} {:>7.2}x   ({} insns, median of {reps})",
            case.name,
            nsa,
            nsb,
            nsb / nsa,
            executed
        );
    }
}
