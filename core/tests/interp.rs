//! Interpreter behaviour beyond the conformance suite: every error is typed and names the
//! instruction; calls keep their frames; the kernel's calling convention works; no input panics.

use fsession_core::asm::{assemble, Syntax};
use fsession_core::interp::{
    bpf_prog_run, prepare, run_conformance, CallFault, Machine, RegionMemory, RunOptions, VmError, VmErrorKind,
    MEM_BASE, STACK_TOP,
};
use fsession_core::isa::Insn;
use proptest::prelude::*;

fn k(text: &str) -> Vec<Insn> {
    assemble(text, Syntax::Kernel).unwrap_or_else(|e| panic!("{e}\n{text}"))
}

fn err(text: &str, mem: Vec<u8>) -> VmError {
    run_conformance(&k(text), mem).unwrap_err()
}

#[test]
fn out_of_bounds_loads_and_stores_name_pc_and_address() {
    let e = err("r0 = 1\nr0 = *(u64 *)(r1 +4)\nexit", vec![0; 8]);
    assert_eq!(e.pc, 1);
    assert_eq!(
        e.kind,
        VmErrorKind::OutOfBounds {
            addr: MEM_BASE + 4,
            size: 8,
            write: false
        }
    );
    assert_eq!(
        e.to_string(),
        format!("insn 1: invalid load of 8 bytes at {:#x}", MEM_BASE + 4)
    );
    let e = err("*(u8 *)(r10 +0) = 1\nexit", vec![]);
    assert_eq!(
        e.kind,
        VmErrorKind::OutOfBounds {
            addr: STACK_TOP,
            size: 1,
            write: true
        }
    );
    let e = err("r0 = *(u32 *)(r2 +0)\nexit", vec![1, 2]);
    assert_eq!(
        e.kind,
        VmErrorKind::OutOfBounds {
            addr: 2,
            size: 4,
            write: false
        }
    );
    // The last byte of the stack is fine, one below the area is not.
    assert!(run_conformance(&k("*(u8 *)(r10 -1) = 1\nexit"), vec![]).is_ok());
    let e = err("*(u8 *)(r10 -4097) = 1\nexit", vec![]);
    assert!(matches!(e.kind, VmErrorKind::OutOfBounds { write: true, .. }));
}

#[test]
fn read_only_regions_reject_stores() {
    let mut m = Machine::with_stack(512, 8);
    m.add_region("ctx", 0x5000, vec![7; 16], false);
    let p = prepare(&k("r0 = *(u64 *)(r1 +8)\n*(u64 *)(r1 +0) = r0\nexit")).unwrap();
    let e = p.run_ctx(0x5000, &mut m, RunOptions::default()).unwrap_err();
    assert_eq!(e.pc, 1);
    assert_eq!(
        e.kind,
        VmErrorKind::OutOfBounds {
            addr: 0x5000,
            size: 8,
            write: true
        }
    );
}

#[test]
fn misaligned_atomics_are_rejected() {
    let e = err("r2 = 1\nlock *(u64 *)(r10 -12) += r2\nexit", vec![]);
    assert_eq!(e.pc, 1);
    assert_eq!(
        e.kind,
        VmErrorKind::MisalignedAtomic {
            addr: STACK_TOP - 12,
            size: 8
        }
    );
    assert!(run_conformance(&k("r2 = 1\nlock *(u32 *)(r10 -12) += r2\nexit"), vec![]).is_ok());
}

#[test]
fn the_budget_stops_endless_loops() {
    let p = prepare(&k("loop: goto loop")).unwrap();
    let mut m = Machine::conformance(vec![]);
    let e = p
        .run(
            &mut m,
            [0; 5],
            RunOptions {
                budget: 1000,
                ..Default::default()
            },
        )
        .unwrap_err();
    assert_eq!(
        e,
        VmError {
            pc: 0,
            kind: VmErrorKind::BudgetExhausted { budget: 1000 }
        }
    );
    let r = prepare(&k("r0 = 2\nexit")).unwrap().run(
        &mut m,
        [0; 5],
        RunOptions {
            budget: 2,
            ..Default::default()
        },
    );
    assert_eq!(r.unwrap().executed, 2);
}

#[test]
fn call_depth_is_limited_and_frames_are_separate() {
    let e = err("f: call f\nexit", vec![]);
    assert_eq!(e.kind, VmErrorKind::CallDepth { max: 8 });
    // Main plus seven nested calls (8 frames) are fine; r6-r9 survive; each frame has its own stack.
    let prog = "\
        r6 = 6\nr7 = 7\nr8 = 8\nr9 = 9\n\
        *(u64 *)(r10 -8) = r6\n\
        r1 = 6\n\
        call f\n\
        r0 = *(u64 *)(r10 -8)\n\
        r0 += r6\nr0 += r7\nr0 += r8\nr0 += r9\n\
        exit\n\
        f:\n\
        r6 = 100\nr7 = 100\nr8 = 100\nr9 = 100\n\
        *(u64 *)(r10 -8) = r6\n\
        if r1 == 0 goto out\n\
        r1 -= 1\n\
        call f\n\
        out:\n\
        r0 = 0\n\
        exit\n";
    assert_eq!(run_conformance(&k(prog), vec![]).unwrap().r0, 6 + 6 + 7 + 8 + 9);
    let deeper = prog.replace("r1 = 6\n", "r1 = 7\n");
    assert_eq!(err(&deeper, vec![]).kind, VmErrorKind::CallDepth { max: 8 });
}

#[test]
fn helpers_kfuncs_and_callx() {
    assert_eq!(
        err("call bpf_map_lookup_elem#1\nexit", vec![]).kind,
        VmErrorKind::UnknownHelper { id: 1 }
    );
    assert_eq!(
        err("r0 = 0\ncall bpf_session_cookie\nexit", vec![]),
        VmError {
            pc: 1,
            kind: VmErrorKind::UnknownKfunc { btf_id: 100_002 }
        }
    );
    let mut m = Machine::conformance(vec![]);
    m.kfuncs
        .insert(100_002, |_: &mut RegionMemory, a: [u64; 5]| Ok(a[0] * 2));
    m.helpers
        .insert(6, |_: &mut RegionMemory, _| Err(CallFault::Failed("boom".into())));
    let p = prepare(&k("r1 = 21\ncall bpf_session_cookie\nexit")).unwrap();
    assert_eq!(p.run(&mut m, [0; 5], RunOptions::default()).unwrap().r0, 42);
    let p = prepare(&k("call bpf_trace_printk#6\nexit")).unwrap();
    assert_eq!(
        p.run(&mut m, [0; 5], RunOptions::default()).unwrap_err().kind,
        VmErrorKind::CallFailed("boom".into())
    );
    // callx through a function address loaded with lddw, and through a helper id.
    let prog = "r2 = func f\ncallx r2\nr1 = 40\nr3 = 5\ncallx r3\nr0 += 2\nexit\nf:\nr0 = 1\nexit";
    assert_eq!(run_conformance(&k(prog), vec![]).unwrap().r0, 42);
    assert!(matches!(
        err("r2 = 77\ncallx r2\nexit", vec![]).kind,
        VmErrorKind::BadCallx { value: 77 }
    ));
}

#[test]
fn load_time_checks() {
    let e = prepare(&k("goto pc+5\nexit")).unwrap_err();
    assert_eq!(
        e,
        VmError {
            pc: 0,
            kind: VmErrorKind::JumpOutOfRange { target: 6 }
        }
    );
    let e = prepare(&k("goto pc+1\nr0 = 0x1 ll\nexit")).unwrap_err();
    assert_eq!(
        e,
        VmError {
            pc: 0,
            kind: VmErrorKind::JumpIntoLddw { target: 2 }
        }
    );
    assert_eq!(prepare(&[]).unwrap_err().kind, VmErrorKind::Empty);
    let bad = [Insn::new(0xb7, 0, 0, 0, 0), Insn::new(0xff, 0, 0, 0, 0)];
    assert_eq!(prepare(&bad).unwrap_err().pc, 1);
    assert_eq!(
        err("r0 = 0", vec![]),
        VmError {
            pc: 0,
            kind: VmErrorKind::FellOffEnd
        }
    );
}

#[test]
fn legacy_packet_loads() {
    let pkt = vec![0x11, 0x22, 0x33, 0x44, 0x55];
    assert_eq!(
        run_conformance(&k("r0 = *(u16 *)skb[1]\nexit"), pkt.clone())
            .unwrap()
            .r0,
        0x2233
    );
    assert_eq!(
        run_conformance(&k("r0 = *(u32 *)skb[1]\nexit"), pkt.clone())
            .unwrap()
            .r0,
        0x22334455
    );
    assert_eq!(
        run_conformance(&k("r3 = 3\nr0 = *(u8 *)skb[r3 + 1]\nexit"), pkt.clone())
            .unwrap()
            .r0,
        0x55
    );
    // Out of the packet: the program ends with r0 = 0.
    assert_eq!(
        run_conformance(&k("r0 = *(u32 *)skb[2]\nr0 = 9\nexit"), pkt)
            .unwrap()
            .r0,
        0
    );
}

#[test]
fn kernel_calling_convention() {
    // The cookie inline of Linux 7.0 run against a ctx whose ctx[-1] says cookie index 2.
    let cookie = k("r0 = *(u64 *)(r1 -8)\nr0 >>= 8\nr0 &= 255\nr0 <<= 3\nr0 -= r1\nr0 = -r0\nexit");
    let mut m = Machine::with_stack(512, 8);
    let ctx_base = 0x9000u64;
    let mut frame = vec![0u8; 64];
    frame[24..32].copy_from_slice(&0x0202u64.to_le_bytes()); // ctx[-1] at ctx - 8
    m.add_region("frame", ctx_base - 32, frame, true);
    assert_eq!(bpf_prog_run(ctx_base, &cookie, &mut m).unwrap(), ctx_base - 16);
}

#[test]
fn alu_edge_cases() {
    let cases: &[(&str, u64)] = &[
        ("r0 = 7\nr1 = 0\nr0 /= r1\nexit", 0),
        ("r0 = 7\nr1 = 0\nr0 %= r1\nexit", 7),
        ("r0 = -1 ll\nw0 %= 0\nexit", 0xffff_ffff),
        ("r0 = 0x8000000000000000 ll\nr1 = -1\nr0 s/= r1\nexit", 0x8000_0000_0000_0000),
        ("r0 = 0x8000000000000000 ll\nr1 = -1\nr0 s%= r1\nexit", 0),
        ("r0 = -7\nr0 s%= 2\nexit", (-1i64) as u64),
        ("w0 = -8\nw0 s>>= 1\nexit", 0xffff_fffc),
        ("r0 = 1\nr0 <<= 65\nexit", 2),
        ("r1 = 0xff80 ll\nr0 = (s8)r1\nexit", (-128i64) as u64),
        ("r1 = 0xff80 ll\nw0 = (s8)w1\nexit", 0xffff_ff80),
        ("r0 = 0x1122334455667788 ll\nr0 = be16 r0\nexit", 0x8877),
        ("r0 = 0x1122334455667788 ll\nr0 = le32 r0\nexit", 0x55667788),
        ("r0 = 0x1122334455667788 ll\nr0 = bswap64 r0\nexit", 0x8877665544332211),
        ("r0 = -1\nif r0 == 0xffffffff goto pc+1\nexit\nr0 = 5\nexit", 5),
        ("r0 = 0xffffffff ll\nif w0 == 0xffffffff goto pc+1\nexit\nr0 = 6\nexit", 6),
        ("r1 = 5\n*(u64 *)(r10 -8) = r1\nr0 = 3\nr2 = 9\nr0 = atomic64_cmpxchg((u64 *)(r10 -8), r0, r2)\nexit", 5),
        ("r1 = 5\n*(u64 *)(r10 -8) = r1\nr0 = 5\nr2 = 9\nr0 = atomic64_cmpxchg((u64 *)(r10 -8), r0, r2)\nr0 = *(u64 *)(r10 -8)\nexit", 9),
        ("r1 = -1\n*(u64 *)(r10 -8) = r1\nr2 = 1\nr2 = atomic_fetch_add((u32 *)(r10 -8), r2)\nr0 = *(u64 *)(r10 -8)\nr0 += r2\nexit", 0xffff_ffff_0000_0000 + 0xffff_ffff),
    ];
    for (text, want) in cases {
        let got = run_conformance(&k(text), vec![])
            .unwrap_or_else(|e| panic!("{text}: {e}"))
            .r0;
        assert_eq!(got, *want, "{text}");
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]
    /// Random slots (most programs are rejected at load; the rest run) never panic.
    #[test]
    fn no_program_panics(words in prop::collection::vec(any::<u64>(), 1..24), mem in prop::collection::vec(any::<u8>(), 0..64)) {
        let slots: Vec<Insn> = words.iter().map(|w| Insn::from_u64(*w)).collect();
        match prepare(&slots) {
            // A load error names an instruction of the program.
            Err(e) => prop_assert!(e.pc < slots.len(), "{e}"),
            Ok(p) => {
                let mut m = Machine::conformance(mem.clone());
                match p.run(&mut m, [MEM_BASE, mem.len() as u64, 0, 0, 0], RunOptions { budget: 10_000, ..Default::default() }) {
                    Ok(r) => prop_assert!(r.executed <= 10_000, "executed {} > budget", r.executed),
                    Err(e) => prop_assert!(e.pc < slots.len(), "{e}"),
                }
            }
        }
    }

    /// Random valid programs built from a small safe vocabulary run to completion or fail with a
    /// typed error, never a panic.
    #[test]
    fn structured_programs_never_panic(ops in prop::collection::vec((0u8..12, 0u8..10, 0u8..10, any::<i16>(), any::<i32>()), 1..30)) {
        let mut text = String::new();
        for (kind, d, s, off, imm) in ops {
            let line = match kind {
                0 => format!("r{d} += r{s}"),
                1 => format!("r{d} s/= {imm}"),
                2 => format!("w{d} s%= w{s}"),
                3 => format!("r{d} = *(u64 *)(r10 {:+})", off),
                4 => format!("*(u32 *)(r{d} {:+}) = {imm}", off),
                5 => format!("if r{d} s> r{s} goto pc+{}", (off as u16) % 4),
                6 => format!("r{d} = atomic64_fetch_add((u64 *)(r10 {:+}), r{d})", off),
                7 => format!("r{d} <<= r{s}"),
                8 => format!("call pc+{}", (off as u16) % 3),
                9 => format!("r{d} = be16 r{d}"),
                10 => format!("r{d} = {imm}"),
                _ => "exit".to_string(),
            };
            text.push_str(&line);
            text.push('\n');
        }
        text.push_str("exit\n");
        let prog = k(&text);
        match prepare(&prog) {
            Err(e) => prop_assert!(e.pc < prog.len(), "{e}"),
            Ok(p) => {
                let mut m = Machine::conformance(vec![0; 16]);
                match p.run(&mut m, [MEM_BASE, 16, 0, 0, 0], RunOptions { budget: 10_000, ..Default::default() }) {
                    Ok(r) => prop_assert!(r.executed <= 10_000, "executed {} > budget", r.executed),
                    Err(e) => prop_assert!(e.pc < prog.len(), "{e}"),
                }
            }
        }
    }
}
