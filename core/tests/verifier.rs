//! Verifier checks: each error a user of these features meets, with its index, errno and the
//! kernel's wording; and programs that must be accepted, with their side effects.

use fsession_core::asm::{assemble, Syntax};
use fsession_core::errno::Errno;
use fsession_core::isa::Insn;
use fsession_core::kernel::profile::Profile;
use fsession_core::kernel::program::{parse_prototype, AttachType, Program};
use fsession_core::kernel::verifier::{verify, MapDef, Verified, VerifierError};
use std::collections::BTreeMap;

fn run_with(profile: &str, attach: AttachType, proto: &str, text: &str) -> Result<Verified, VerifierError> {
    let insns = assemble(text, Syntax::Kernel).unwrap_or_else(|e| panic!("{e}\n{text}"));
    run_insns(profile, attach, proto, insns)
}

fn run_insns(profile: &str, attach: AttachType, proto: &str, insns: Vec<Insn>) -> Result<Verified, VerifierError> {
    let prog = Program {
        name: "p".into(),
        attach,
        sleepable: false,
        cookie: 0,
        insns,
    };
    let func = parse_prototype(proto, &BTreeMap::new()).unwrap();
    let mut maps = BTreeMap::new();
    maps.insert(
        0,
        MapDef {
            name: ".bss".into(),
            value_size: 160,
        },
    );
    verify(&prog, &func, &Profile::by_name(profile).unwrap(), &maps)
}

fn ok(attach: AttachType, text: &str) -> Verified {
    run_with("linux-7.0", attach, "int bpf_fentry_test1(int a)", text).unwrap_or_else(|e| panic!("{e}\n{text}"))
}

fn rejects(attach: AttachType, text: &str) -> VerifierError {
    run_with("linux-7.0", attach, "int bpf_fentry_test1(int a)", text).expect_err(text)
}

fn check(e: VerifierError, index: usize, errno: Errno, message: &str) {
    assert_eq!((e.index, e.errno, e.message.as_str()), (index, errno, message), "{e}");
}

use AttachType::*;

#[test]
fn accepts_the_selftest_shapes() {
    // fsession_test.c test7: cookie written at entry, checked at exit
    let v = ok(
        Fsession,
        "r6 = r1\n\
         call bpf_session_cookie\n\
         r7 = r0\n\
         r1 = r6\n\
         call bpf_session_is_return\n\
         if r0 != 0x0 goto pc+4\n\
         r1 = 0xaaaabbbbccccdddd\n\
         *(u64 *)(r7 +0) = r1\n\
         goto pc+1\n\
         r1 = *(u64 *)(r7 +0)\n\
         r0 = 0\n\
         exit",
    );
    assert!(v.call_session_cookie && !v.call_get_func_ip);
    // get_func_ip + ctx arg and return slot reads
    let v = ok(
        Fsession,
        "r2 = *(u64 *)(r1 +0)\nr3 = *(u32 *)(r1 +8)\ncall bpf_get_func_ip#173\nr0 = 0\nexit",
    );
    assert!(v.call_get_func_ip && !v.call_session_cookie);
    // get_func_arg / get_func_ret with a stack slot
    let v = ok(
        Fexit,
        "r6 = r1\nr2 = 0\nr3 = r10\nr3 += -8\ncall bpf_get_func_arg#183\n\
         r1 = r6\nr2 = r10\nr2 += -16\ncall bpf_get_func_ret#184\nr0 = *(u64 *)(r10 -16)\nr0 = 0\nexit",
    );
    assert_eq!(v.stack_depth, 16);
    // bounded loop over a constant, a subprogram, global data
    ok(
        Fentry,
        "r0 = 0\nr1 = 0\nloop: r1 += 1\nif r1 < 100 goto loop\nr1 = 5\ncall f\nr0 = 0\nexit\nf: r0 = r1\nexit",
    );
    ok(
        Fentry,
        "r1 = map[id:0][0]+8\nr2 = 1\n*(u64 *)(r1 +0) = r2\nlock *(u64 *)(r1 +0) += r2\nr0 = 0\nexit",
    );
    // fmod_ret may return anything
    ok(FmodRet, "r0 = 1234\nexit");
    // tp_btf reading its args
    ok(TpBtf, "call bpf_get_func_arg_cnt#185\nr0 = 0\nexit");
}

#[test]
fn structure() {
    check(
        rejects(Fentry, "r0 = 0"),
        0,
        Errno::EINVAL,
        "last insn is not an exit or jmp",
    );
    check(
        rejects(Fentry, "goto pc+5\nexit"),
        0,
        Errno::EINVAL,
        "jump out of range from insn 0 to 6",
    );
    check(
        rejects(Fentry, "goto pc+1\nr0 = 0x1 ll\nr0 = 0\nexit"),
        0,
        Errno::EINVAL,
        "jump into the middle of ldimm64 insn 1",
    );
    check(
        rejects(Fentry, "r0 = 0\nexit\nr0 = 1\nexit"),
        2,
        Errno::EINVAL,
        "unreachable insn 2",
    );
    check(
        rejects(Fentry, "r0 = 0\ncall pc+5\nexit"),
        1,
        Errno::EINVAL,
        "call to invalid destination",
    );
    check(
        rejects(Fentry, "r10 = 0\nexit"),
        0,
        Errno::EACCES,
        "frame pointer is read only",
    );
    check(
        rejects(Fentry, "r0 = *(u8 *)skb[1]\nexit"),
        0,
        Errno::EINVAL,
        "BPF_LD_[ABS|IND] instructions not allowed for this program type",
    );
    let bad = vec![
        Insn::new(0xb7, 0, 0, 0, 0),
        Insn::new(0x07, 0, 1, 0, 0),
        Insn::new(0x95, 0, 0, 0, 0),
    ];
    let e = run_insns("linux-7.0", Fentry, "int f(int a)", bad).unwrap_err();
    check(e, 1, Errno::EINVAL, "BPF_ALU64 uses reserved fields (src = 1)");
    let e = run_with("linux-6.18", Fsession, "int f(int a)", "r0 = 0\nexit").unwrap_err();
    check(e, 0, Errno::EINVAL, "attach type fsession does not exist in linux-6.18");
}

#[test]
fn registers_and_stack() {
    check(rejects(Fentry, "r0 = r2\nexit"), 0, Errno::EACCES, "R2 !read_ok");
    check(rejects(Fentry, "exit"), 0, Errno::EACCES, "R0 !read_ok");
    check(
        rejects(Fentry, "r0 = *(u64 *)(r10 -8)\nr0 = 0\nexit"),
        0,
        Errno::EACCES,
        "invalid read from stack R10 off -8+0 size 8",
    );
    check(
        rejects(Fentry, "*(u64 *)(r10 -520) = 1\nr0 = 0\nexit"),
        0,
        Errno::EACCES,
        "invalid write to stack R10 off=-520 size=8",
    );
    // after a call r1-r5 are gone
    check(
        rejects(Fentry, "r6 = r1\ncall bpf_ktime_get_ns#5\nr0 = r1\nr0 = 0\nexit"),
        2,
        Errno::EACCES,
        "R1 !read_ok",
    );
    // spilled pointers come back
    ok(
        Fentry,
        "*(u64 *)(r10 -8) = r1\nr1 = *(u64 *)(r10 -8)\nr0 = *(u64 *)(r1 +0)\nr0 = 0\nexit",
    );
    check(
        rejects(Fentry, "r1 *= 2\nr0 = 0\nexit"),
        0,
        Errno::EACCES,
        "R1 pointer arithmetic with *= operator prohibited",
    );
    check(
        rejects(Fentry, "w1 += 2\nr0 = 0\nexit"),
        0,
        Errno::EACCES,
        "R1 32-bit pointer arithmetic prohibited",
    );
    check(
        rejects(Fentry, "r1 = 5\nr0 = *(u64 *)(r1 +0)\nexit"),
        1,
        Errno::EACCES,
        "R1 invalid mem access 'scalar'",
    );
}

#[test]
fn ctx_access() {
    // int a + int ret: slots 0 and 1 for fexit/fsession; slot 1 is not there for fentry
    ok(Fexit, "r0 = *(u64 *)(r1 +8)\nr0 = 0\nexit");
    check(
        rejects(Fentry, "r0 = *(u64 *)(r1 +8)\nr0 = 0\nexit"),
        0,
        Errno::EACCES,
        "func 'bpf_fentry_test1' doesn't have 1-th argument",
    );
    check(
        rejects(Fexit, "r0 = *(u64 *)(r1 +16)\nr0 = 0\nexit"),
        0,
        Errno::EACCES,
        "func 'bpf_fentry_test1' doesn't have 2-th argument",
    );
    check(
        rejects(Fentry, "*(u64 *)(r1 +0) = 1\nr0 = 0\nexit"),
        0,
        Errno::EACCES,
        "invalid bpf_context access off=0 size=8",
    );
    check(
        rejects(Fentry, "r0 = *(u64 *)(r1 -8)\nr0 = 0\nexit"),
        0,
        Errno::EACCES,
        "invalid bpf_context access off=-8 size=8",
    );
    check(
        rejects(Fentry, "r0 = *(u32 *)(r1 +2)\nr0 = 0\nexit"),
        0,
        Errno::EACCES,
        "invalid bpf_context access off=2 size=4",
    );
    ok(Fentry, "r0 = *(u32 *)(r1 +4)\nr0 = 0\nexit");
    check(
        rejects(Fentry, "r1 += 8\nr0 = *(u64 *)(r1 +0)\nr0 = 0\nexit"),
        1,
        Errno::EACCES,
        "dereference of modified ctx ptr R1 off=8 disallowed",
    );
    // a struct argument takes two slots
    let proto = "int f(struct pair p, int c)";
    let structs: BTreeMap<String, u32> = [("pair".to_string(), 16)].into();
    let func = parse_prototype(proto, &structs).unwrap();
    assert_eq!(func.nr_regs(), 3);
}

#[test]
fn calls_and_kfuncs() {
    check(
        rejects(Fentry, "call bpf_session_cookie\nr0 = 0\nexit"),
        0,
        Errno::EACCES,
        "calling kernel function bpf_session_cookie is not allowed",
    );
    check(
        rejects(Fexit, "call bpf_session_is_return\nr0 = 0\nexit"),
        0,
        Errno::EACCES,
        "calling kernel function bpf_session_is_return is not allowed",
    );
    check(
        rejects(Fsession, "r1 += 8\ncall bpf_session_cookie\nr0 = 0\nexit"),
        1,
        Errno::EACCES,
        "dereference of modified ctx ptr R1 off=8 disallowed",
    );
    check(
        rejects(Fsession, "r1 = r10\ncall bpf_session_cookie\nr0 = 0\nexit"),
        1,
        Errno::EINVAL,
        "arg#0 expected pointer to ctx, but got fp",
    );
    check(
        rejects(Fsession, "r6 = r1\nr1 = 0\ncall bpf_get_func_ip#173\nr0 = 0\nexit"),
        2,
        Errno::EACCES,
        "R1 type=scalar expected=ctx",
    );
    check(
        rejects(TpBtf, "call bpf_get_func_ip#173\nr0 = 0\nexit"),
        0,
        Errno::ENOTSUPP,
        "func bpf_get_func_ip#173 supported only for fentry/fexit/fsession/fmod_ret programs",
    );
    check(
        rejects(TpBtf, "call bpf_get_func_ret#184\nr0 = 0\nexit"),
        0,
        Errno::EINVAL,
        "program of this type cannot use helper bpf_get_func_ret#184",
    );
    check(
        rejects(Fentry, "call bpf_map_lookup_elem#1\nr0 = 0\nexit"),
        0,
        Errno::EINVAL,
        "program of this type cannot use helper bpf_map_lookup_elem#1",
    );
    check(
        rejects(Fsession, "call kfunc#12345\nr0 = 0\nexit"),
        0,
        Errno::EINVAL,
        "kernel btf_id 12345 is not a function",
    );
    check(
        rejects(Fexit, "r2 = 0\nr3 = 8\ncall bpf_get_func_arg#183\nr0 = 0\nexit"),
        2,
        Errno::EACCES,
        "R3 type=scalar expected=fp",
    );
    // the cookie is 8 writable bytes, nothing more
    ok(
        Fsession,
        "call bpf_session_cookie\nr1 = 1\n*(u64 *)(r0 +0) = r1\nr0 = 0\nexit",
    );
    check(
        rejects(
            Fsession,
            "call bpf_session_cookie\nr1 = 1\n*(u64 *)(r0 +8) = r1\nr0 = 0\nexit",
        ),
        2,
        Errno::EACCES,
        "invalid access to memory, mem_size=8 off=8 size=8",
    );
    check(
        rejects(Fsession, "call bpf_session_cookie\nr1 = *(u32 *)(r0 -4)\nr0 = 0\nexit"),
        1,
        Errno::EACCES,
        "invalid access to memory, mem_size=8 off=-4 size=4",
    );
    check(
        rejects(Fentry, "call f\nr0 = 0\nexit\nf: call f\nexit"),
        3,
        Errno::E2BIG,
        "the call stack of 9 frames is too deep",
    );
}

#[test]
fn return_codes() {
    check(
        rejects(Fentry, "r0 = 1\nexit"),
        1,
        Errno::EINVAL,
        "At program exit the register R0 has smin=1 smax=1 should have been in [0, 0]",
    );
    check(
        rejects(Fsession, "call bpf_ktime_get_ns#5\nexit"),
        1,
        Errno::EINVAL,
        "At program exit the register R0 has unknown scalar value should have been in [0, 0]",
    );
    check(
        rejects(Fexit, "r0 = r1\nexit"),
        1,
        Errno::EACCES,
        "R0 leaks addr as return value",
    );
    // both paths are checked
    check(
        rejects(
            Fentry,
            "r0 = *(u64 *)(r1 +0)\nif r0 == 0x0 goto pc+2\nr0 = 0\nexit\nr0 = 7\nexit",
        ),
        5,
        Errno::EINVAL,
        "At program exit the register R0 has smin=7 smax=7 should have been in [0, 0]",
    );
}

#[test]
fn endless_loops_are_too_complex() {
    let e = rejects(Fentry, "r0 = 0\nloop: r0 += 1\ngoto loop");
    assert_eq!(e.errno, Errno::E2BIG);
    assert!(e.message.starts_with("BPF program is too large. Processed"), "{e}");
}

#[test]
fn session_kfuncs_without_ctx_before_7_0() {
    // v9 already has the ctx prototype; a profile without it accepts the no-argument call.
    let mut p = Profile::by_name("fsession-v9").unwrap();
    p.session_kfuncs_take_ctx = false;
    let prog = Program {
        name: "p".into(),
        attach: Fsession,
        sleepable: false,
        cookie: 0,
        insns: assemble("r1 = 0\ncall bpf_session_cookie\nr0 = 0\nexit", Syntax::Kernel).unwrap(),
    };
    let func = parse_prototype("int f(int a)", &BTreeMap::new()).unwrap();
    assert!(verify(&prog, &func, &p, &BTreeMap::new()).is_ok());
}

/// Linux 6.12's refusals, as its verifier logged them (kernel-oracle/linux-6.12/xlated/
/// tp_btf_get_func_*.FAILED.txt): tp_btf programs cannot use the nr_args helpers, and
/// bpf_get_func_ip names no fsession before the series.
#[test]
fn linux_6_12_refusals_as_logged() {
    let r = |attach, text| run_with("linux-6.12", attach, "int bpf_fentry_test1(int a)", text).expect_err(text);
    for (text, name) in [
        (
            "r6 = r1\nr1 = r6\ncall bpf_get_func_arg_cnt#185\nr0 = 0\nexit",
            "bpf_get_func_arg_cnt#185",
        ),
        (
            "r1 = r1\ncall bpf_get_func_ret#184\nr0 = 0\nexit",
            "bpf_get_func_ret#184",
        ),
    ] {
        let e = r(TpBtf, text);
        assert_eq!(e.errno, Errno::EINVAL);
        assert_eq!(e.message, format!("program of this type cannot use helper {name}"));
    }
    let e = r(TpBtf, "call bpf_get_func_ip#173\nr0 = 0\nexit");
    check(
        e,
        0,
        Errno::ENOTSUPP,
        "func bpf_get_func_ip#173 supported only for fentry/fexit/fmod_ret programs",
    );
    // 6.18's profile keeps its [U] choice: tp_btf gets the constant inline.
    assert!(run_with(
        "linux-6.18",
        TpBtf,
        "int f(int a)",
        "call bpf_get_func_arg_cnt#185\nr0 = 0\nexit"
    )
    .is_ok());
}
