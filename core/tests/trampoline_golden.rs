//! Golden trampolines: the §2.9 listing of the reference (400 bytes, with its rel32 fields shown
//! as 0) and every trampoline captured from a real Linux 6.18 kernel in
//! ../shared/kernel-oracle/trampolines, rebuilt from its prototype, flags and addresses.

use fsession_core::kernel::link::flags::*;
use fsession_core::kernel::profile::Profile;
use fsession_core::kernel::program::{parse_prototype, AttachType};
use fsession_core::tramp::listing::{listing, AsmSyntax};
use fsession_core::tramp::{encode, Addresses, Encoded, ProgImage, TrampolineSpec};
use std::collections::BTreeMap;
use std::path::PathBuf;

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

fn oracle_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/kernel-oracle/trampolines")
}

fn parse_flags(s: &str) -> u32 {
    s.split('|')
        .map(|f| match f.trim().trim_start_matches("BPF_TRAMP_F_") {
            "RESTORE_REGS" => RESTORE_REGS,
            "CALL_ORIG" => CALL_ORIG,
            "SKIP_FRAME" => SKIP_FRAME,
            "IP_ARG" => IP_ARG,
            "RET_FENTRY_RET" => RET_FENTRY_RET,
            "ORIG_STACK" => ORIG_STACK,
            "SHARE_IPMODIFY" => SHARE_IPMODIFY,
            "TAIL_CALL_CTX" => TAIL_CALL_CTX,
            "INDIRECT" => INDIRECT,
            other => panic!("unknown flag {other}"),
        })
        .fold(0, |a, b| a | b)
}

fn addr_in(asm: &str) -> u64 {
    let h = asm.rsplit("0x").next().unwrap();
    u64::from_str_radix(h.trim(), 16).unwrap()
}

/// Every captured trampoline, rebuilt from its recorded prototype, flags and addresses.
#[test]
fn kernel_oracle_trampolines() {
    let p618 = Profile::by_name("linux-6.18").unwrap();
    let mut files: Vec<PathBuf> = std::fs::read_dir(oracle_dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    assert!(files.len() >= 9);
    for f in files {
        let j: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&f).unwrap()).unwrap();
        let sig = j["signature"].as_str().unwrap().replace("(*)", "f");
        let func = parse_prototype(&sig, &BTreeMap::new()).unwrap_or_else(|e| panic!("{}: {e}", f.display()));
        let addr = j
            .get("addr")
            .or_else(|| j.get("tramp_addr"))
            .and_then(|v| v.as_str())
            .unwrap();
        let image = u64::from_str_radix(addr.trim_start_matches("0x"), 16).unwrap();
        let (mut prog, mut enter, mut exit, mut bpf_func, mut thunk) = (0, 0, 0, 0, 0);
        for t in j["targets"].as_array().unwrap() {
            let what = t["target"][0].as_str().unwrap();
            let asm = t["asm"].as_str().unwrap();
            if what.starts_with("struct bpf_prog *") {
                prog = addr_in(asm);
            } else if what == "__bpf_prog_enter" || what == "__bpf_prog_enter_recur" {
                enter = addr_in(asm);
            } else if what == "__bpf_prog_exit" || what == "__bpf_prog_exit_recur" {
                exit = addr_in(asm);
            } else if what.starts_with("bpf_prog_") {
                bpf_func = addr_in(asm);
            } else if what.contains("return_thunk") {
                thunk = addr_in(asm);
            }
        }
        let spec = TrampolineSpec {
            func,
            flags: parse_flags(j["flags"].as_str().unwrap()),
            fentry: vec![ProgImage {
                name: "prog".into(),
                attach: AttachType::Fentry,
                shadow: false,
                cookie: 0,
                call_session_cookie: false,
                prog,
                bpf_func,
                insns: None,
                enter,
                exit,
            }],
            fexit: vec![],
            fmod_ret: vec![],
            addrs: Addresses {
                image,
                func: 0,
                im: 0,
                tramp_enter: 0,
                tramp_exit: 0,
                return_thunk: thunk,
            },
            meta: p618.trampoline_meta,
            mitigations: p618.mitigations,
            ftrace_with_jmp: false,
        };
        let enc = encode(&spec).unwrap_or_else(|e| panic!("{}: {e}", f.display()));
        let want = hex(j["hex"].as_str().unwrap());
        assert_eq!(
            enc.bytes.iter().map(|b| format!("{b:02x}")).collect::<String>(),
            want.iter().map(|b| format!("{b:02x}")).collect::<String>(),
            "{}",
            f.display()
        );
        listing(&enc, image, AsmSyntax::Att).unwrap();
    }
}
