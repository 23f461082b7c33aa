//! Golden trampolines: the §2.9 listing of the reference (400 bytes, with its rel32 fields shown
//! as 0). The trampolines captured from real kernels are rebuilt through the scenario pipeline by
//! tests/oracle.rs.

use fsession_core::kernel::link::flags::*;
use fsession_core::kernel::profile::Profile;
use fsession_core::kernel::program::{parse_prototype, AttachType};
use fsession_core::tramp::listing::{listing, AsmSyntax};
use fsession_core::tramp::{encode, Addresses, Encoded, ProgImage, TrampolineSpec};
use std::collections::BTreeMap;

fn prog(name: &str, attach: AttachType, shadow: bool, cookie_user: bool, p: u64) -> ProgImage {
    ProgImage {
        name: name.into(),
        attach,
        shadow,
        cookie: 0,
        call_session_cookie: cookie_user,
        prog: p,
        bpf_func: 0x1000_0000 + p % 0x1000,
        insns: None,
        enter: 0x2000_0000,
        exit: 0x2000_1000,
    }
}

/// Zeroes the rel32 field of every E8/E9 call or jump so a listing can be compared with one
/// that shows rel32 as 0.
fn mask_rel32(enc: &Encoded) -> Vec<u8> {
    let mut out = Vec::new();
    for i in &enc.insns {
        let mut b = i.bytes;
        if b.len() == 5 && (b[0] == 0xe8 || b[0] == 0xe9) {
            b[1..].fill(0);
        }
        out.extend(b);
    }
    out
}

fn hex(s: &str) -> Vec<u8> {
    let d: String = s.chars().filter(|c| c.is_ascii_hexdigit()).collect();
    (0..d.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&d[i..i + 2], 16).unwrap())
        .collect()
}

fn le(v: u64) -> String {
    v.to_le_bytes().iter().map(|b| format!("{b:02x}")).collect()
}

const IM: u64 = 0xffff_8880_1234_5678;
const PS: u64 = 0xffff_c900_0000_1000;
const PF: u64 = 0xffff_c900_0000_2000;
const PX: u64 = 0xffff_c900_0000_3000;

fn section_2_9(flags: u32, ftrace_with_jmp: bool) -> TrampolineSpec {
    let p70 = Profile::by_name("linux-7.0").unwrap();
    TrampolineSpec {
        func: parse_prototype("u64 f(u64 a, u64 b)", &BTreeMap::new()).unwrap(),
        flags,
        fentry: vec![
            prog("S", AttachType::Fsession, false, true, PS),
            prog("F", AttachType::Fentry, false, false, PF),
        ],
        fexit: vec![
            prog("S", AttachType::Fsession, true, true, PS),
            prog("X", AttachType::Fexit, false, false, PX),
        ],
        fmod_ret: vec![],
        addrs: Addresses {
            image: 0xffff_ffff_c000_0000,
            func: 0xffff_ffff_8100_0000,
            im: IM,
            tramp_enter: 0xffff_ffff_8152_fee0,
            tramp_exit: 0xffff_ffff_8152_ff20,
            return_thunk: 0,
        },
        meta: p70.trampoline_meta,
        mitigations: Default::default(),
        ftrace_with_jmp,
    }
}

fn invocation(p: u64) -> String {
    format!("31ff 48897dc0 48bf{} 488d75c0 e800000000 4889c3 4885c0 7409 488d7de8 e800000000 48bf{} 4889de 488d55c0 e800000000", le(p), le(p))
}

/// Reference §2.9, byte for byte (rel32 fields shown as 0 there).
#[test]
fn section_2_9_listing() {
    let enc = encode(&section_2_9(CALL_ORIG | SKIP_FRAME, true)).unwrap();
    let expected = format!(
        "55 4889e5 4883ec40 48895dd0 b802000000 488945e0 48897de8 488975f0 48bf{im} e800000000 \
         31c0 488945d8 31c0 488945f8 b802020000 488945e0 {s} {f} \
         488b7de8 488b75f0 e800000000 488945f8 0f1f440000 \
         48b80200000000000080 488945e0 48b80202000000000080 488945e0 {s} {x} \
         48bf{im} e800000000 488b45f8 488b5dd0 c9 4883c408 c3",
        im = le(IM),
        s = invocation(PS),
        f = invocation(PF),
        x = invocation(PX)
    );
    let want = hex(&expected);
    assert_eq!(enc.bytes.len(), 400);
    assert_eq!(enc.size, 464);
    assert_eq!(mask_rel32(&enc), want);
    let l = &enc.layout;
    assert_eq!(
        (
            l.regs_off,
            l.func_meta_off,
            l.ip_off,
            l.cookie_off,
            l.rbx_off,
            l.run_ctx_off,
            l.stack_size
        ),
        (24, 32, 32, 40, 48, 64, 64)
    );
    // What each program sees.
    let seen: Vec<(String, u64, Option<u64>)> = enc
        .invocations
        .iter()
        .map(|i| (i.prog.clone(), i.func_meta, i.cookie_index))
        .collect();
    assert_eq!(
        seen,
        vec![
            ("S".into(), 0x202, Some(2)),
            ("F".into(), 0x202, None),
            ("S".into(), 0x8000_0000_0000_0202, Some(2)),
            ("X".into(), 0x8000_0000_0000_0202, None),
        ]
    );
    assert_eq!(enc.ip_after_call, Some(210));
    assert_eq!(enc.ip_epilogue, Some(371));
    // Jmp mode: the same bytes without `add rsp, 8`.
    let jmp = encode(&section_2_9(CALL_ORIG, true)).unwrap();
    let mut want_jmp = want.clone();
    want_jmp.splice(395..399, []);
    assert_eq!(mask_rel32(&jmp), want_jmp);
    assert!(jmp.jmp_mode);
    // Every byte decodes back to the emitted instructions.
    listing(&enc, 0xffff_ffff_c000_0000, AsmSyntax::Intel).unwrap();
}

/// §2.9 variants: attach order S, F, X (fentry = [F, S]) and IP_ARG.
#[test]
fn section_2_9_variants() {
    let mut spec = section_2_9(CALL_ORIG | SKIP_FRAME, true);
    spec.fentry.reverse();
    let enc = encode(&spec).unwrap();
    let seen: Vec<u64> = enc.invocations.iter().map(|i| i.func_meta).collect();
    assert_eq!(seen[..2], [0x2, 0x202]);
    let spec = section_2_9(CALL_ORIG | SKIP_FRAME | IP_ARG, true);
    let enc = encode(&spec).unwrap();
    let l = &enc.layout;
    assert_eq!(
        (l.ip_off, l.cookie_off, l.rbx_off, l.run_ctx_off, l.stack_size),
        (40, 48, 56, 72, 72)
    );
    assert_eq!(enc.invocations[0].func_meta, 0x302);
    // The IP store follows the func_meta store. A kernel text address sign-extends from 32 bits,
    // so emit_mov_imm64 uses `mov rax, simm32` (48 c7 c0), not movabs.
    let b = &enc.bytes;
    let at = 1 + 3 + 4 + 4 + 5 + 4; // push, mov, sub, save rbx, mov eax, store
    assert_eq!(b[at..at + 7], [0x48, 0xc7, 0xc0, 0x00, 0x00, 0x00, 0x81]);
    assert_eq!(b[at + 7..at + 11], [0x48, 0x89, 0x45, 0xd8]);
}
