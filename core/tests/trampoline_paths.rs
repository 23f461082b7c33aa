//! Encoder paths of reference §2 beyond §2.9: fentry-only, many and struct arguments, fmod_ret,
//! limits and errors, interpreted programs, tail calls, ORIG_STACK, mitigations; the contract
//! check per profile; a property test over random functions and link sets.

use fsession_core::errno::Errno;
use fsession_core::kernel::link::flags::*;
use fsession_core::kernel::profile::{Mitigations, Profile};
use fsession_core::kernel::program::{parse_prototype, AttachType, FuncArg, FuncModel};
use fsession_core::tramp::contract;
use fsession_core::tramp::listing::{listing, AsmSyntax};
use fsession_core::tramp::{encode, Addresses, Encoded, Pass, ProgImage, SlotAccess, TrampolineSpec};
use proptest::prelude::*;
use std::collections::BTreeMap;

const IMAGE: u64 = 0xffff_ffff_c000_0000;

fn p(name: &str, attach: AttachType, shadow: bool, cookie_user: bool, i: u64) -> ProgImage {
    ProgImage {
        name: name.into(),
        attach,
        shadow,
        cookie: 0,
        call_session_cookie: cookie_user,
        prog: 0xffff_c900_0000_0000 + i * 0x1000,
        bpf_func: 0xffff_ffff_a000_0000 + i * 0x800,
        insns: None,
        enter: 0xffff_ffff_8152_f210,
        exit: 0xffff_ffff_8152_f970,
    }
}

fn spec(
    proto: &str,
    flags: u32,
    fentry: Vec<ProgImage>,
    fexit: Vec<ProgImage>,
    fmod_ret: Vec<ProgImage>,
) -> TrampolineSpec {
    let structs: BTreeMap<String, u32> = [("pair".to_string(), 16), ("trio".to_string(), 12)].into();
    TrampolineSpec {
        func: parse_prototype(proto, &structs).unwrap(),
        flags,
        fentry,
        fexit,
        fmod_ret,
        addrs: Addresses {
            image: IMAGE,
            func: 0xffff_ffff_8124_5670,
            im: 0xffff_8881_0000_0000,
            tramp_enter: 0xffff_ffff_8152_fee0,
            tramp_exit: 0xffff_ffff_8152_ff20,
            return_thunk: 0xffff_ffff_8110_410b,
        },
        meta: Profile::by_name("linux-7.0").unwrap().trampoline_meta,
        mitigations: Mitigations::default(),
        ftrace_with_jmp: true,
    }
}

fn text(enc: &Encoded) -> Vec<String> {
    listing(enc, IMAGE, AsmSyntax::Intel)
        .unwrap()
        .into_iter()
        .map(|l| l.text)
        .collect()
}

fn has(enc: &Encoded, s: &str) -> bool {
    text(enc).iter().any(|t| t == s)
}

#[test]
fn fentry_only_restores_registers() {
    let enc = encode(&spec(
        "int f(int a, long b)",
        RESTORE_REGS,
        vec![p("F", AttachType::Fentry, false, false, 1)],
        vec![],
        vec![],
    ))
    .unwrap();
    let t = text(&enc);
    assert!(!enc.layout.save_ret, "no retval slot");
    assert!(
        !t.iter().any(|l| l.contains("0xffffffff8152fee0")),
        "no __bpf_tramp_enter"
    );
    assert_eq!(
        t[t.len() - 5..],
        [
            "mov rdi, [rbp-0x10]",
            "mov rsi, [rbp-8]",
            "mov rbx, [rbp-0x20]",
            "leave",
            "ret"
        ]
    );
    assert_eq!(enc.invocations[0].func_meta, 2, "no is_return store anywhere");
}

#[test]
fn stack_arguments_and_structs() {
    // 7 u64 arguments: the 7th is on the caller's stack (E5), in call and jmp mode.
    let proto = "u64 f(u64 a, u64 b, u64 c, u64 d, u64 e, u64 f, u64 g)";
    let call = encode(&spec(
        proto,
        CALL_ORIG | SKIP_FRAME,
        vec![],
        vec![p("X", AttachType::Fexit, false, false, 1)],
        vec![],
    ))
    .unwrap();
    let jmp = encode(&spec(
        proto,
        CALL_ORIG,
        vec![],
        vec![p("X", AttachType::Fexit, false, false, 1)],
        vec![],
    ))
    .unwrap();
    assert!(
        has(&call, "mov rax, [rbp+0x18]"),
        "call mode reads stack args at rbp+24"
    );
    assert!(has(&jmp, "mov rax, [rbp+0x10]"), "jmp mode reads stack args at rbp+16");
    assert!(has(&call, "mov [rbp-0x18], r9"), "6th register argument into ctx[5]");
    // outgoing stack argument, rsp 16-byte aligned at the original call
    let l = &call.layout;
    assert_eq!((l.nr_regs, l.nr_used_regs), (7, 6));
    // rsp must be 16-byte aligned at the original call: call mode has the extra return address
    // into the traced function on the stack, so its frame is 8 mod 16; jmp mode's is 0 mod 16.
    assert_eq!(l.arg_stack_off % 16, 8, "call mode");
    assert_eq!(jmp.layout.arg_stack_off % 16, 0, "jmp mode");
    // A 16-byte struct takes two slots; one that no longer fits in registers goes to the stack
    // while a later scalar still uses a register.
    let enc = encode(&spec(
        "int f(char a, char b, char c, char d, char e, struct pair s, char g)",
        CALL_ORIG | SKIP_FRAME,
        vec![],
        vec![p("X", AttachType::Fexit, false, false, 1)],
        vec![],
    ))
    .unwrap();
    assert_eq!(enc.layout.nr_regs, 8);
    assert_eq!(enc.layout.nr_used_regs, 6);
    assert!(
        has(&enc, "mov rax, [rbp+0x20]"),
        "second word of the struct from the caller's stack"
    );
    // one 4-byte argument on the stack: clean_stack_garbage clears the upper half
    let enc = encode(&spec(
        "int f(u64 a, u64 b, u64 c, u64 d, u64 e, u64 f, int g)",
        CALL_ORIG | SKIP_FRAME,
        vec![],
        vec![p("X", AttachType::Fexit, false, false, 1)],
        vec![],
    ))
    .unwrap();
    assert!(
        text(&enc)
            .iter()
            .any(|t| t.starts_with("mov dword ptr [rbp-") && t.ends_with(", 0")),
        "{:?}",
        text(&enc)
    );
}

#[test]
fn fmod_ret_with_fsession() {
    let enc = encode(&spec(
        "int f(int a)",
        CALL_ORIG | SKIP_FRAME,
        vec![p("S", AttachType::Fsession, false, true, 1)],
        vec![p("S", AttachType::Fsession, true, true, 1)],
        vec![p("M", AttachType::FmodRet, false, false, 2)],
    ))
    .unwrap();
    let lines = listing(&enc, IMAGE, AsmSyntax::Intel).unwrap();
    let jne = lines.iter().find(|l| l.text.starts_with("jne ")).unwrap();
    let target = u64::from_str_radix(jne.text.rsplit("0x").next().unwrap(), 16).unwrap();
    assert_eq!(target % 16, 0, "do_fexit is 16-byte aligned");
    let label = lines.iter().find(|l| IMAGE + l.offset as u64 == target).unwrap();
    assert!(
        label.role.contains("is_return set"),
        "the is_return store is the first thing after do_fexit: {}",
        label.role
    );
    assert!(lines.iter().any(|l| l.text == "cmp qword ptr [rbp-8], 0"));
    let m = enc.invocations.iter().find(|i| i.pass == Pass::ModifyReturn).unwrap();
    assert_eq!(m.prog, "M");
}

#[test]
fn errors() {
    // 13 argument slots: ENOTSUPP (E7)
    let mut s = spec(
        "int f(int a)",
        CALL_ORIG,
        vec![],
        vec![p("X", AttachType::Fexit, false, false, 1)],
        vec![],
    );
    s.func = FuncModel {
        name: "f".into(),
        ret_ty: "int".into(),
        ret_size: 4,
        args: (0..13)
            .map(|i| FuncArg {
                name: format!("a{i}"),
                ty: "u64".into(),
                size: 8,
                is_struct: false,
                signed: false,
            })
            .collect(),
    };
    assert_eq!(encode(&s).map(|_| ()).unwrap_err().errno, Errno::ENOTSUPP);
    // rel32 out of range: ERANGE
    let mut s = spec(
        "int f(int a)",
        CALL_ORIG,
        vec![],
        vec![p("X", AttachType::Fexit, false, false, 1)],
        vec![],
    );
    s.addrs.image = 0x7000_0000_0000;
    let e = encode(&s).map(|_| ()).unwrap_err();
    assert_eq!(e.errno, Errno::ERANGE);
    assert!(e.message.contains("cannot reach"), "{e}");
    // more than a page: E2BIG. 19 fsession programs (38 slots, the most the accounting allows),
    // all cookie users, interpreted, with 64-bit attach cookies, on a 12-argument function.
    let fs = |shadow: bool| -> Vec<ProgImage> {
        (0..19)
            .map(|i| ProgImage {
                cookie: 0x1234_5678_9abc_def0,
                insns: Some(0xffff_c900_1000_0000),
                ..p(&format!("s{i}"), AttachType::Fsession, shadow, true, i)
            })
            .collect()
    };
    let s = spec(
        "u64 f(u64 a, u64 b, u64 c, u64 d, u64 e, u64 f, u64 g, u64 h, u64 i, u64 j, u64 k, u64 l)",
        CALL_ORIG | IP_ARG,
        fs(false),
        fs(true),
        vec![],
    );
    match encode(&s) {
        Err(e) => {
            assert_eq!(e.errno, Errno::E2BIG);
            assert!(e.message.contains("more than a page"), "{e}");
        }
        Ok(enc) => panic!("encoded {} bytes, expected E2BIG", enc.bytes.len()),
    }
    // INDIRECT with other flags
    let s = spec(
        "int f(int a)",
        INDIRECT | CALL_ORIG,
        vec![p("F", AttachType::Fentry, false, false, 1)],
        vec![],
        vec![],
    );
    assert_eq!(encode(&s).map(|_| ()).unwrap_err().errno, Errno::EINVAL);
}

#[test]
fn interpreted_tail_call_orig_stack_and_mitigations() {
    let mut f = p("F", AttachType::Fexit, false, false, 1);
    f.insns = Some(0xffff_c900_2000_0000);
    let mut s = spec(
        "int f(int a)",
        CALL_ORIG | SKIP_FRAME | TAIL_CALL_CTX | ORIG_STACK,
        vec![],
        vec![f],
        vec![],
    );
    s.mitigations = Mitigations {
        return_thunk: false,
        sls: true,
        ibt: false,
        call_depth: false,
    };
    let enc = encode(&s).unwrap();
    let t = text(&enc);
    assert!(
        t.contains(&"mov rsi, 0xffffc90020000000".to_string()),
        "interpreted: rsi = insns"
    );
    assert_eq!(t[3], "push rax", "TAIL_CALL_CTX saves rax after sub rsp");
    assert!(
        t.contains(&"mov rbx, [rbp+8]".to_string()) && t.contains(&"call rbx".to_string()),
        "ORIG_STACK"
    );
    assert_eq!(t[t.len() - 2..], ["ret", "int3"]);
    // return thunk, IBT on an INDIRECT trampoline
    let mut s = spec(
        "int f(int a)",
        INDIRECT,
        vec![p("F", AttachType::Fentry, false, false, 1)],
        vec![],
        vec![],
    );
    s.mitigations = Mitigations {
        return_thunk: true,
        sls: false,
        ibt: true,
        call_depth: false,
    };
    let t = text(&encode(&s).unwrap());
    assert_eq!(t[0], "endbr64");
    assert_eq!(t.last().unwrap(), "jmp 0xffffffff8110410b");
    s.mitigations.call_depth = true;
    assert_eq!(encode(&s).map(|_| ()).unwrap_err().errno, Errno::ENOTSUPP);
}

fn cookie_spec(profile: &str) -> (TrampolineSpec, Profile) {
    let prof = Profile::by_name(profile).unwrap();
    let mut s = spec(
        "int f(int a)",
        CALL_ORIG,
        vec![
            p("A", AttachType::Fsession, false, true, 1),
            p("B", AttachType::Fsession, false, true, 2),
            p("F", AttachType::Fentry, false, false, 3),
        ],
        vec![
            p("A", AttachType::Fsession, true, true, 1),
            p("B", AttachType::Fsession, true, true, 2),
        ],
        vec![],
    );
    s.meta = prof.trampoline_meta;
    (s, prof)
}

#[test]
fn contract_per_profile() {
    for name in ["linux-7.0", "fsession-v9"] {
        let (s, prof) = cookie_spec(name);
        let enc = encode(&s).unwrap();
        let c = contract::check(&enc, &prof.verifier_meta, name);
        assert!(c.holds(), "{name}: {:?}", c.lines);
        // A and B get distinct slots, the same in both passes
        let idx: Vec<(String, Pass, Option<u64>)> = c
            .lines
            .iter()
            .map(|l| (l.prog.clone(), l.pass, l.cookie_index))
            .collect();
        assert_eq!(idx[0], ("A".into(), Pass::Entry, Some(3)));
        assert_eq!(idx[1], ("B".into(), Pass::Entry, Some(2)));
        assert_eq!(idx[3], ("A".into(), Pass::Exit, Some(3)));
    }
    let (s, prof) = cookie_spec("fsession-v9-patch05");
    let enc = encode(&s).unwrap();
    assert_eq!(
        enc.layout.cookie_cnt, 0,
        "the unpatched trampoline reserves no cookie slot"
    );
    let c = contract::check(&enc, &prof.verifier_meta, &prof.name);
    assert!(!c.holds());
    let first = &c.lines[0].problems[0];
    match first {
        contract::ContractProblem::NoCookieSlot { who, stored, read } => {
            assert_eq!((who.prog.as_str(), who.pass), ("A", Pass::Entry));
            assert_eq!(*stored, 1);
            assert_eq!((read.index, read.rbp_off, read.slot.as_deref()), (0, -16, Some("arg0")));
        }
        other => panic!("expected NoCookieSlot, got {other:?}"),
    }
    let text = first.to_string();
    assert!(text.starts_with("A (fsession, entry): ctx[-1] = 0x1 has cookie index 0, so bpf_session_cookie() returns ctx[-0] (rbp-16, arg0)"), "{text}");
    // Cross-check: a 7.0 trampoline read with v9 inlines is also wrong.
    let (s, _) = cookie_spec("linux-7.0");
    let enc = encode(&s).unwrap();
    let v9 = Profile::by_name("fsession-v9").unwrap();
    assert!(!contract::check(&enc, &v9.verifier_meta, "fsession-v9").holds());
}

fn arg_strategy() -> impl Strategy<Value = FuncArg> {
    prop_oneof![
        (1u8..=8).prop_map(|s| FuncArg {
            name: "x".into(),
            ty: "u64".into(),
            size: s,
            is_struct: false,
            signed: false
        }),
        (9u8..=16).prop_map(|s| FuncArg {
            name: "s".into(),
            ty: "struct s".into(),
            size: s,
            is_struct: true,
            signed: false
        }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]
    /// Random functions and link sets within the limits encode, decode cleanly, and every slot
    /// an instruction writes is inside the frame.
    #[test]
    fn random_trampolines(
        args in prop::collection::vec(arg_strategy(), 0..12),
        n_fentry in 0usize..6, n_fexit in 0usize..6, n_fmod in 0usize..4, n_fs in 0usize..6,
        cookie_mask in any::<u8>(), jmp in any::<bool>(), ip in any::<bool>(), profile in 0usize..4,
    ) {
        let func = FuncModel { name: "f".into(), ret_ty: "u64".into(), ret_size: 8, args };
        prop_assume!(func.nr_regs() <= 12);
        let prof = &Profile::shipped()[profile];
        let mut fentry = vec![];
        let mut fexit = vec![];
        for i in 0..n_fs {
            let c = cookie_mask & (1 << i) != 0 && prof.fsession;
            if !prof.fsession { break; }
            fentry.push(p(&format!("s{i}"), AttachType::Fsession, false, c, i as u64));
            fexit.push(p(&format!("s{i}"), AttachType::Fsession, true, c, i as u64));
        }
        fentry.extend((0..n_fentry).map(|i| p(&format!("f{i}"), AttachType::Fentry, false, false, 10 + i as u64)));
        fexit.extend((0..n_fexit).map(|i| p(&format!("x{i}"), AttachType::Fexit, false, false, 20 + i as u64)));
        let fmod: Vec<ProgImage> = (0..n_fmod).map(|i| p(&format!("m{i}"), AttachType::FmodRet, false, false, 30 + i as u64)).collect();
        prop_assume!(!fentry.is_empty() || !fexit.is_empty() || !fmod.is_empty());
        let mut flags = if fexit.is_empty() && fmod.is_empty() { RESTORE_REGS } else if jmp { CALL_ORIG } else { CALL_ORIG | SKIP_FRAME };
        if ip { flags |= IP_ARG; }
        let s = TrampolineSpec { func, flags, fentry, fexit, fmod_ret: fmod, addrs: spec("int f(int a)", 0, vec![], vec![], vec![]).addrs, meta: prof.trampoline_meta, mitigations: Mitigations::default(), ftrace_with_jmp: true };
        let enc = encode(&s).unwrap();
        let lines = listing(&enc, IMAGE, AsmSyntax::Intel).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(lines.len(), enc.insns.len());
        // Every stack store names a slot of the layout.
        for i in &enc.insns {
            let b = &i.bytes;
            // REX.W(+R) 89 /r with an rbp-based disp8 or disp32 memory operand
            let is_rbp_store = b.len() >= 3 && (b[0] & 0xfb) == 0x48 && b[1] == 0x89 && matches!(b[2] & 0xc7, 0x45 | 0x85);
            if is_rbp_store {
                prop_assert!(i.slots(&enc.layout, SlotAccess::Write).next().is_some(), "store without a slot: {} at {}", i.role(), i.offset);
            }
        }
        prop_assert!(enc.layout.slots.iter().all(|sl| sl.rbp_off >= -(enc.layout.stack_size + 8) && sl.rbp_off <= 8));
        let c = contract::check(&enc, &prof.verifier_meta, &prof.name);
        if prof.name != "fsession-v9-patch05" {
            prop_assert!(c.holds(), "{:?}", c.lines);
        }
    }
}

/// The kernel's x86-64 nop table (`x86_nops[1..=11]`, ASM_NOP_MAX = 11): the P6 nops, then
/// CS and operand-size prefixes on the 8-byte one; 9 and 10 bytes as the 6.12 captures show.
const X86_NOPS: [&str; 11] = [
    "90",
    "6690",
    "0f1f00",
    "0f1f4000",
    "0f1f440000",
    "660f1f440000",
    "0f1f8000000000",
    "0f1f840000000000",
    "2e0f1f840000000000",
    "662e0f1f840000000000",
    "66662e0f1f840000000000",
];

/// The do_fexit alignment for every image address mod 16: `emit_nops()` in chunks of at most
/// 11 bytes from the kernel's table, each decoded back as one instruction by the listing.
#[test]
fn alignment_nops() {
    let mut s = spec(
        "int f(int a)",
        CALL_ORIG,
        vec![],
        vec![],
        vec![p("M", AttachType::FmodRet, false, false, 2)],
    );
    for image in 0..16u64 {
        s.addrs.image = IMAGE + image;
        let enc = encode(&s).unwrap();
        let lines = listing(&enc, s.addrs.image, AsmSyntax::Intel).unwrap();
        let do_fexit = lines
            .iter()
            .position(|l| l.role.contains("alignment"))
            .map(|i| i as i64);
        let jne = lines.iter().find(|l| l.text.starts_with("jne ")).unwrap();
        let target = u64::from_str_radix(jne.text.rsplit("0x").next().unwrap(), 16).unwrap();
        assert_eq!(target % 16, 0, "image +{image}: {:?}", do_fexit);
        let pads: Vec<String> = enc
            .insns
            .iter()
            .filter(|i| i.role().contains("alignment"))
            .map(|i| i.bytes.iter().map(|b| format!("{b:02x}")).collect())
            .collect();
        let total: usize = pads.iter().map(|p| p.len() / 2).sum();
        let mut want = Vec::new();
        let mut left = total;
        while left > 0 {
            let n = left.min(11);
            want.push(X86_NOPS[n - 1].to_string());
            left -= n;
        }
        assert_eq!(pads, want, "image +{image}");
    }
}

/// Known-text rows for 64-bit values whose low 32 bits are below 10: iced-x86 1.22 printed them
/// in decimal from their truncated `usize` on 32-bit targets (`mov rdi, 0` in the playground).
/// These rows hold natively; `validate --via-wasm` compares the wasm build's rendered listings
/// with the native ones, which is where the workaround shows.
#[test]
fn wide_values_print_in_hex() {
    use fsession_core::tramp::listing::X86Format;
    use iced_x86::{Decoder, DecoderOptions};
    let rows: [(&str, AsmSyntax, &str); 5] = [
        ("48bf000000008188ffff", AsmSyntax::Intel, "mov rdi, 0xffff888100000000"),
        ("48b80500000001000000", AsmSyntax::Intel, "mov rax, 0x100000005"),
        ("48b80500000001000000", AsmSyntax::Att, "movabs $0x100000005, %rax"),
        ("b807000000", AsmSyntax::Intel, "mov eax, 7"),
        ("48c7c0f8ffffff", AsmSyntax::Intel, "mov rax, 0xfffffffffffffff8"),
    ];
    let mut f = X86Format::new();
    for (hex, syntax, want) in rows {
        let h: String = hex.chars().filter(|c| !c.is_whitespace()).collect();
        let b: Vec<u8> = (0..h.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&h[i..i + 2], 16).unwrap())
            .collect();
        let ins = Decoder::with_ip(64, &b, 0xffff_ffff_c000_0000, DecoderOptions::NONE).decode();
        assert_eq!(f.text(&ins, syntax), want, "{hex}");
    }
}
