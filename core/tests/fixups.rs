//! Fixups: every inline table of the reference as known bytes, per profile; the worked branch
//! example of §3.8; a property test that patching keeps every jump on its original target and
//! that out-of-range patches fail cleanly.

use fsession_core::asm::{assemble, disassemble, Syntax};
use fsession_core::isa::macros::*;
use fsession_core::isa::opcode::BPF_JEQ;
use fsession_core::isa::{encode, Insn};
use fsession_core::kernel::fixup::fixup;
use fsession_core::kernel::patch::{PatchError, Patcher};
use fsession_core::kernel::profile::Profile;
use fsession_core::kernel::program::{parse_prototype, AttachType, FuncModel, Program};
use proptest::prelude::*;
use std::collections::BTreeMap;

fn hex(insns: &[Insn]) -> String {
    encode(insns)
        .chunks(8)
        .map(|c| c.iter().map(|b| format!("{b:02x}")).collect::<String>())
        .collect::<Vec<_>>()
        .join(" ")
}

fn prog(attach: AttachType, text: &str) -> Program {
    Program {
        name: "p".into(),
        attach,
        sleepable: false,
        cookie: 0,
        insns: assemble(text, Syntax::Kernel).unwrap(),
    }
}

fn func(proto: &str) -> FuncModel {
    parse_prototype(proto, &BTreeMap::new()).unwrap()
}

fn fixed_hex(profile: &str, attach: AttachType, text: &str, proto: &str) -> String {
    let p = Profile::by_name(profile).unwrap();
    hex(&fixup(&prog(attach, text), &func(proto), &p).unwrap().insns)
}

const EXIT: &str = "9500000000000000";

#[test]
fn session_kfunc_inlines_per_profile() {
    // §3.4 (merged), bit 63 / shift 8
    assert_eq!(
        fixed_hex(
            "linux-7.0",
            AttachType::Fsession,
            "call bpf_session_is_return\nexit",
            "int f(int a)"
        ),
        format!("7910f8ff00000000 770000003f000000 5700000001000000 {EXIT}")
    );
    assert_eq!(
        fixed_hex("linux-7.0", AttachType::Fsession, "call bpf_session_cookie\nexit", "int f(int a)"),
        format!("7910f8ff00000000 7700000008000000 57000000ff000000 6700000003000000 1f10000000000000 8700000000000000 {EXIT}")
    );
    // v9: is_return bit 8, cookie from bit 9 (also what patch 05 alone inlines)
    for profile in ["fsession-v9", "fsession-v9-patch05"] {
        assert_eq!(
            fixed_hex(
                profile,
                AttachType::Fsession,
                "call bpf_session_is_return\nexit",
                "int f(int a)"
            ),
            format!("7910f8ff00000000 7700000008000000 5700000001000000 {EXIT}")
        );
        assert_eq!(
            fixed_hex(profile, AttachType::Fsession, "call bpf_session_cookie\nexit", "int f(int a)"),
            format!("7910f8ff00000000 7700000009000000 57000000ff000000 6700000003000000 1f10000000000000 8700000000000000 {EXIT}")
        );
    }
    // Not inlined outside fsession (the verifier rejects those calls anyway).
    assert_eq!(
        fixed_hex(
            "linux-7.0",
            AttachType::Fentry,
            "call bpf_session_cookie\nexit",
            "int f(int a)"
        ),
        format!("85200000a2860100 {EXIT}")
    );
}

#[test]
fn trampoline_helper_inlines() {
    let arg_tail = "3e02060000000000 6702000003000000 0f12000000000000 7920000000000000 7b03000000000000 b700000000000000 0500010000000000 b7000000eaffffff";
    // §3.5 final: get_func_arg masks nr_args
    assert_eq!(
        fixed_hex(
            "linux-7.0",
            AttachType::Fsession,
            "call bpf_get_func_arg#183\nexit",
            "int f(int a)"
        ),
        format!("7910f8ff00000000 57000000ff000000 {arg_tail} {EXIT}")
    );
    // tp_btf: constant nr_args
    assert_eq!(
        fixed_hex(
            "linux-7.0",
            AttachType::TpBtf,
            "call bpf_get_func_arg#183\nexit",
            "void tp(int a, int b)"
        ),
        format!("b700000002000000 {arg_tail} {EXIT}")
    );
    // pre-fsession: no mask (9 insns)
    assert_eq!(
        fixed_hex(
            "linux-6.18",
            AttachType::Fexit,
            "call bpf_get_func_arg#183\nexit",
            "int f(int a)"
        ),
        format!("7910f8ff00000000 {arg_tail} {EXIT}")
    );
    // get_func_ret: 7 insns for fexit/fmod_ret/fsession, -EOPNOTSUPP for fentry
    let ret7 = "7910f8ff00000000 57000000ff000000 6700000003000000 0f10000000000000 7903000000000000 7b32000000000000 b700000000000000";
    for a in [AttachType::Fexit, AttachType::FmodRet, AttachType::Fsession] {
        assert_eq!(
            fixed_hex("linux-7.0", a, "call bpf_get_func_ret#184\nexit", "int f(int a)"),
            format!("{ret7} {EXIT}")
        );
    }
    assert_eq!(
        fixed_hex(
            "linux-7.0",
            AttachType::Fentry,
            "call bpf_get_func_ret#184\nexit",
            "int f(int a)"
        ),
        format!("b7000000a1ffffff {EXIT}")
    );
    assert_eq!(
        fixed_hex("linux-6.18", AttachType::Fexit, "call bpf_get_func_ret#184\nexit", "int f(int a)"),
        format!("7910f8ff00000000 6700000003000000 0f10000000000000 7903000000000000 7b32000000000000 b700000000000000 {EXIT}")
    );
    // get_func_arg_cnt
    assert_eq!(
        fixed_hex(
            "linux-7.0",
            AttachType::Fentry,
            "call bpf_get_func_arg_cnt#185\nexit",
            "int f(int a)"
        ),
        format!("7910f8ff00000000 57000000ff000000 {EXIT}")
    );
    assert_eq!(
        fixed_hex(
            "linux-6.18",
            AttachType::Fentry,
            "call bpf_get_func_arg_cnt#185\nexit",
            "int f(int a)"
        ),
        format!("7910f8ff00000000 {EXIT}")
    );
    assert_eq!(
        fixed_hex(
            "linux-7.0",
            AttachType::TpBtf,
            "call bpf_get_func_arg_cnt#185\nexit",
            "void tp(int a)"
        ),
        format!("b700000001000000 {EXIT}")
    );
    // get_func_ip: ctx[-2]
    assert_eq!(
        fixed_hex(
            "linux-7.0",
            AttachType::Fsession,
            "call bpf_get_func_ip#173\nexit",
            "int f(int a)"
        ),
        format!("7910f0ff00000000 {EXIT}")
    );
    // Other helpers stay calls.
    assert_eq!(
        fixed_hex(
            "linux-7.0",
            AttachType::Fentry,
            "call bpf_ktime_get_ns#5\nexit",
            "int f(int a)"
        ),
        format!("8500000005000000 {EXIT}")
    );
}

/// The worked example of reference §3.8.
#[test]
fn worked_branch_example() {
    let text = "\
        r6 = r1\n\
        r1 = r6\n\
        call bpf_session_is_return\n\
        if r0 != 0x0 goto pc+4\n\
        r1 = r6\n\
        call bpf_session_cookie\n\
        r1 = 42\n\
        *(u64 *)(r0 +0) = r1\n\
        r0 = 0\n\
        exit\n";
    let p = Profile::by_name("linux-7.0").unwrap();
    let f = fixup(&prog(AttachType::Fsession, text), &func("int f(int a)"), &p).unwrap();
    assert_eq!(f.insns.len(), 17);
    let listing = disassemble(&f.insns, Syntax::Kernel).unwrap();
    let lines: Vec<&str> = listing.lines().collect();
    assert_eq!(lines[5], "if r0 != 0x0 goto pc+9");
    assert_eq!(lines[15], "r0 = 0");
    assert_eq!(f.map[2], 2..5);
    assert_eq!(f.map[3], 5..6);
    assert_eq!(f.map[5], 7..13);
    assert_eq!(f.map[8], 15..16);
    assert_eq!(
        f.notes.iter().map(|n| n.what.name()).collect::<Vec<_>>(),
        ["bpf_session_is_return", "bpf_session_cookie"]
    );
}

#[test]
fn out_of_range_patch_fails_cleanly() {
    // A jump over the patch site with the largest 16-bit offset cannot grow.
    let mut v = vec![BPF_JMP_A(i16::MAX)];
    v.push(BPF_CALL_KFUNC(100_002));
    v.extend(std::iter::repeat_n(BPF_MOV64_IMM(0, 0), i16::MAX as usize - 1));
    v.push(BPF_EXIT_INSN());
    let mut p = Patcher::new(&v);
    let before = p.insns().to_vec();
    let e = p.patch(1, &[BPF_MOV64_IMM(0, 1), BPF_MOV64_IMM(0, 2)]).unwrap_err();
    assert_eq!(
        e,
        PatchError::Range {
            orig: 1,
            at: 0,
            off: i16::MAX as i64 + 1
        }
    );
    assert_eq!(
        e.to_string().split(" (").next().unwrap(),
        "insn 1 cannot be patched due to 16-bit range"
    );
    assert_eq!(p.insns(), &before[..]);
}

/// Jump targets of a program, as original indices, resolved through the map.
fn targets(insns: &[Insn]) -> Vec<(usize, i64)> {
    fsession_core::isa::decode_program_internal(insns)
        .unwrap()
        .into_iter()
        .filter_map(|(i, ins)| ins.target(i).map(|t| (i, t)))
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(500))]
    #[test]
    fn patching_keeps_every_jump_on_its_target(
        body in prop::collection::vec((0u8..4, any::<u8>()), 2..60),
        patch_len in 1usize..12,
        sites in prop::collection::vec(any::<prop::sample::Index>(), 1..5),
    ) {
        // Build: a mix of moves, calls (the patch sites) and jumps to random later/earlier slots.
        let n = body.len();
        let mut v: Vec<Insn> = Vec::new();
        for (i, (kind, x)) in body.iter().enumerate() {
            v.push(match kind {
                0 => BPF_MOV64_IMM(0, *x as i32),
                1 => BPF_CALL_KFUNC(100_002),
                _ => {
                    let t = (*x as usize) % (n + 1); // any slot, or one past the end (the exit)
                    BPF_JMP_IMM(BPF_JEQ, 0, 0, (t as i64 - i as i64 - 1) as i16)
                }
            });
        }
        v.push(BPF_EXIT_INSN());
        let orig_targets = targets(&v);
        let mut p = Patcher::new(&v);
        let mut patched_origs = vec![];
        for s in sites {
            let orig = s.index(n);
            if patched_origs.contains(&orig) { continue; }
            let pos = p.range_of(orig).unwrap().start;
            let seq: Vec<Insn> = (0..patch_len).map(|k| BPF_MOV64_IMM(1, k as i32)).collect();
            p.patch(pos, &seq).unwrap();
            patched_origs.push(orig);
        }
        let (out, map) = p.finish();
        // Every original jump, found at its new place, reaches the start of its original target.
        let new_targets: std::collections::BTreeMap<usize, i64> = targets(&out).into_iter().collect();
        for (i, t) in orig_targets {
            if patched_origs.contains(&i) { continue; }
            let at = map[i].start;
            prop_assert_eq!(new_targets[&at], map[t as usize].start as i64, "jump {} -> {}", i, t);
        }
        prop_assert_eq!(out.len(), v.len() + patched_origs.len() * (patch_len - 1));
    }
}

/// The before/after join shows every instruction of both sides: inlined ranges under their
/// original, an original whose range is empty as removed, and a fixed instruction outside every
/// range as added.
#[test]
fn join_keeps_every_instruction_of_both_sides() {
    use fsession_core::isa::macros::*;
    use fsession_core::kernel::fixup::{join, Fixed, FixupNote, JoinRow};
    let original = vec![BPF_MOV64_IMM(0, 1), BPF_MOV64_IMM(0, 2), BPF_EXIT_INSN()];
    let fixed = Fixed {
        insns: vec![
            BPF_MOV64_IMM(0, 1),
            BPF_MOV64_IMM(0, 3),
            BPF_MOV64_IMM(0, 4),
            BPF_EXIT_INSN(),
        ],
        // 0 -> 0, 1 -> removed, 2 (exit) -> 3; slots 1 and 2 are outside every range.
        map: vec![0..1, 1..1, 3..4],
        notes: vec![FixupNote {
            orig: 1,
            range: 1..1,
            what: fsession_core::kernel::fixup::Inlined::BpfGetFuncIp,
            detail: "removed".into(),
        }],
        helper_calls: vec![],
    };
    let rows = join(&original, &fixed);
    let row = |orig, first, after, note| JoinRow {
        orig,
        first,
        after,
        note,
    };
    assert_eq!(
        rows,
        vec![
            row(Some(0), true, Some(0), None),
            row(Some(1), true, None, Some(0)),
            row(None, true, Some(1), None),
            row(None, true, Some(2), None),
            row(Some(2), true, Some(3), None),
        ]
    );
    // A real fixup: one call becomes two slots, both under the original.
    let p = fsession_core::kernel::program::Program {
        name: "p".into(),
        attach: fsession_core::kernel::program::AttachType::Fexit,
        sleepable: false,
        cookie: 0,
        insns: fsession_core::asm::assemble(
            "call bpf_get_func_arg_cnt#185\nexit",
            fsession_core::asm::Syntax::Kernel,
        )
        .unwrap(),
    };
    let f = fsession_core::kernel::fixup::fixup(
        &p,
        &fsession_core::kernel::program::parse_prototype("int f(int a)", &Default::default()).unwrap(),
        &fsession_core::kernel::profile::Profile::by_name("linux-7.0").unwrap(),
    )
    .unwrap();
    let rows = join(&p.insns, &f);
    assert_eq!(rows.len(), 3);
    assert_eq!((rows[0].first, rows[1].first, rows[1].orig), (true, false, Some(0)));
    assert_eq!(rows[2], row(Some(1), true, Some(2), None));
}
