//! JIT benchmark: the same bytecode as the kernel's JIT image (fsession-lab's JIT, byte-identical
//! to Linux 6.18's, run on this CPU in-process) and as rbpf 0.4.1's JIT, in one run,
//! interleaved, with the interpreters for scale. Prints ns per executed BPF instruction and the
//! ratio rbpf / fsession.
//!
//! `cargo bench -p fsession-runner --bench jit` (`BENCH_REPS` repetitions, default 7; median).

use fsession_core::asm::{assemble, Syntax};
use fsession_core::interp::{prepare, Machine, RunOptions, MEM_BASE};
use fsession_core::isa::{encode, Insn};
use fsession_core::kernel::profile::Profile;
use std::hint::black_box;
use std::time::{Duration, Instant};

mod common;
use common::{identity, median, Case, CALLS, COUNTING, HELPER_CALLS, MEMORY};

const CASES: &[Case] = &[COUNTING, MEMORY, HELPER_CALLS, CALLS];

fn ns(d: Duration, n: u64) -> f64 {
    d.as_nanos() as f64 / n as f64
}

fn main() {
    let reps: usize = std::env::var("BENCH_REPS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(7);
    let profile = Profile::by_name("linux-6.18").expect("shipped profile");
    println!(
        "{:<42} {:>12} {:>12} {:>8} {:>12} {:>12}",
        "program", "fsession JIT", "rbpf JIT", "ratio", "fs interp", "rbpf interp"
    );
    for case in CASES {
        let insns: Vec<Insn> = assemble(case.text, Syntax::Kernel).expect("bench program assembles");
        let bytes = encode(&insns);
        let prog = prepare(&insns).expect("bench program loads");
        let args = [
            if case.mem_len > 0 { MEM_BASE } else { 0 },
            case.mem_len as u64,
            0,
            0,
            0,
        ];
        let opts = RunOptions {
            budget: u64::MAX,
            ..Default::default()
        };
        let mut m = Machine::conformance(vec![0; case.mem_len]);
        let first = prog.run(&mut m, args, opts).expect("bench program runs");
        let executed = first.executed;

        let img = fsession_runner::native::jit::compile_conformance(&insns, &profile).expect("the JIT compiles it");
        let mut mem = vec![0u8; case.mem_len];
        // SAFETY: the interpreter ran the program cleanly on the same memory.
        let ours = unsafe { img.call(&mut mem) };
        assert_eq!(ours, first.r0, "{}: JIT and interpreter differ", case.name);

        let mut vm = rbpf::EbpfVmRaw::new(Some(&bytes)).expect("rbpf loads the program");
        vm.register_helper(5, identity).expect("rbpf registers helper 5");
        let rbpf_jit = vm.jit_compile().is_ok();
        let mut rmem = vec![0u8; case.mem_len.max(8)];
        if rbpf_jit {
            // SAFETY: rbpf's JIT image of the program, run on memory it accepts.
            let theirs = unsafe { vm.execute_program_jit(&mut rmem) }.expect("rbpf JIT runs it");
            assert_eq!(theirs, first.r0, "{}: rbpf's JIT differs", case.name);
        }

        let (mut a, mut b, mut c, mut d) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        for _ in 0..reps {
            let mut mem = vec![0u8; case.mem_len];
            let t = Instant::now();
            // SAFETY: as above.
            black_box(unsafe { img.call(black_box(&mut mem)) });
            a.push(t.elapsed());
            if rbpf_jit {
                let mut rm = vec![0u8; case.mem_len.max(8)];
                let t = Instant::now();
                // SAFETY: as above.
                black_box(unsafe { vm.execute_program_jit(black_box(&mut rm)) }.unwrap());
                b.push(t.elapsed());
            }
            let mut m = Machine::conformance(vec![0; case.mem_len]);
            let t = Instant::now();
            black_box(prog.run(&mut m, black_box(args), opts).unwrap());
            c.push(t.elapsed());
            let mut rm = vec![0u8; case.mem_len.max(8)];
            let t = Instant::now();
            black_box(vm.execute_program(black_box(&mut rm)).unwrap());
            d.push(t.elapsed());
        }
        let ours = ns(median(a), executed);
        let (theirs, ratio) = if rbpf_jit {
            let t = ns(median(b), executed);
            (format!("{t:.3}"), format!("{:.2}x", t / ours))
        } else {
            ("no JIT".into(), "-".into())
        };
        println!(
            "{:<42} {:>12.3} {:>12} {:>8} {:>12.3} {:>12.3}   ({} insns, ns per insn, median of {reps})",
            case.name,
            ours,
            theirs,
            ratio,
            ns(median(c), executed),
            ns(median(d), executed),
            executed
        );
    }
}
