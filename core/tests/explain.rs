//! Known answers for the instruction explanations, from the typed instructions: a row for every
//! x86-64 `Code` the trampoline encoder emits (and every one it emits for the examples under
//! every profile and mitigation explained), and for every BPF opcode class, sign-extending
//! loads included.

use fsession_core::asm::{assemble, Syntax};
use fsession_core::explain::{bpf, x86};
use fsession_core::isa::decode_program_internal;
use fsession_core::kernel::profile::{Mitigations, Profile};
use fsession_core::scenario::Scenario;
use fsession_core::show::show;
use fsession_core::tramp::build::Placement;
use fsession_core::tramp::listing::{AsmSyntax, X86Format};
use iced_x86::{Code, Decoder, DecoderOptions};
use std::collections::BTreeSet;
use std::path::PathBuf;

const IP: u64 = 0xffff_ffff_c000_0000;

fn bytes(hex: &str) -> Vec<u8> {
    let h: String = hex.chars().filter(|c| !c.is_whitespace()).collect();
    (0..h.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&h[i..i + 2], 16).unwrap())
        .collect()
}

/// (bytes, the Code they decode to, Intel explanation).
const X86_ROWS: &[(&str, Code, &str)] = &[
    ("55", Code::Push_r64, "push rbp: rsp -= 8, then store rbp at [rsp]"),
    ("50", Code::Push_r64, "push rax: rsp -= 8, then store rax at [rsp]"),
    ("4889e5", Code::Mov_rm64_r64, "mov: rbp = rsp"),
    (
        "48895dd0",
        Code::Mov_rm64_r64,
        "mov: store rbx into the memory at [rbp-0x30]",
    ),
    (
        "488b7de8",
        Code::Mov_r64_rm64,
        "mov: load rdi from the memory at [rbp-0x18]",
    ),
    ("b802000000", Code::Mov_r32_imm32, "mov: eax = 2"),
    (
        "48bf000000008188ffff",
        Code::Mov_r64_imm64,
        "mov: rdi = 0xffff888100000000",
    ),
    ("48c7c000000081", Code::Mov_rm64_imm32, "mov: rax = 0xffffffff81000000"),
    (
        "c745f400000000",
        Code::Mov_rm32_imm32,
        "mov: store 0 into the memory at dword ptr [rbp-0xc]",
    ),
    (
        "31ff",
        Code::Xor_rm32_r32,
        "xor: edi = 0 (the short way to zero a register)",
    ),
    (
        "488d75c0",
        Code::Lea_r64_m,
        "lea: rsi = the address [rbp-0x40] (computed, memory is not read)",
    ),
    ("4883ec40", Code::Sub_rm64_imm8, "sub: rsp = rsp - 0x40"),
    ("4881ec80000000", Code::Sub_rm64_imm32, "sub: rsp = rsp - 0x80"),
    ("4883c408", Code::Add_rm64_imm8, "add: rsp = rsp + 8"),
    ("4885c0", Code::Test_rm64_r64, "test: set ZF when rax is zero"),
    (
        "48837df800",
        Code::Cmp_rm64_imm8,
        "cmp: set flags from qword ptr [rbp-8] - 0",
    ),
    (
        "7409",
        Code::Je_rel8_64,
        "je: jump to 0xffffffffc000000b if ZF is set (equal / zero)",
    ),
    (
        "0f8500000000",
        Code::Jne_rel32_64,
        "jne: jump to 0xffffffffc0000006 if ZF is clear (not equal / non-zero)",
    ),
    (
        "e800000000",
        Code::Call_rel32_64,
        "call: push the return address and jump to 0xffffffffc0000005",
    ),
    (
        "ffd3",
        Code::Call_rm64,
        "call: push the return address and jump to the address in rbx",
    ),
    ("e900000000", Code::Jmp_rel32_64, "jmp: continue at 0xffffffffc0000005"),
    ("4889c3", Code::Mov_rm64_r64, "mov: rbx = rax"),
    ("c9", Code::Leaveq, "leave: rsp = rbp, then pop rbp (drops the frame)"),
    ("c3", Code::Retnq, "ret: pop the return address and continue there"),
    (
        "cc",
        Code::Int3,
        "int3: breakpoint trap (never reached in a correct image)",
    ),
    (
        "f30f1efa",
        Code::Endbr64,
        "endbr64: an indirect-branch landing pad (CET IBT)",
    ),
    ("90", Code::Nopd, "nop: does nothing (padding or a patchable site)"),
    ("6690", Code::Nopw, "nop: does nothing (padding or a patchable site)"),
    (
        "0f1f440000",
        Code::Nop_rm32,
        "nop: does nothing (padding or a patchable site)",
    ),
    (
        "660f1f440000",
        Code::Nop_rm16,
        "nop: does nothing (padding or a patchable site)",
    ),
    (
        "66662e0f1f840000000000",
        Code::Nop_rm16,
        "nop: does nothing (padding or a patchable site)",
    ),
];

#[test]
fn x86_known_answers() {
    let mut f = X86Format::new();
    for &(hex, code, want) in X86_ROWS {
        let b = bytes(hex);
        let ins = Decoder::with_ip(64, &b, IP, DecoderOptions::NONE).decode();
        assert_eq!((ins.code(), ins.len()), (code, b.len()), "{hex}");
        assert_eq!(x86(&ins, AsmSyntax::Intel, &mut f), want, "{hex}");
    }
    // AT&T shows the operands as AT&T writes them, still destination first.
    let ins = Decoder::with_ip(64, &bytes("48895dd0"), IP, DecoderOptions::NONE).decode();
    assert_eq!(
        x86(&ins, AsmSyntax::Att, &mut f),
        "mov: store %rbx into the memory at -0x30(%rbp)"
    );
    let ins = Decoder::with_ip(64, &bytes("4883ec40"), IP, DecoderOptions::NONE).decode();
    assert_eq!(x86(&ins, AsmSyntax::Att, &mut f), "sub: %rsp = %rsp - $0x40");
}

/// Every Code the encoder emits for the examples, under every shipped profile and with every
/// mitigation on, has a row above and an explanation.
#[test]
fn every_emitted_code_is_explained() {
    let known: BTreeSet<String> = X86_ROWS.iter().map(|r| format!("{:?}", r.1)).collect();
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../examples/scenarios");
    let mut seen = BTreeSet::new();
    let mut f = X86Format::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let text = std::fs::read_to_string(e.unwrap().path()).unwrap();
        let s = Scenario::parse(&text).unwrap();
        for base in Profile::shipped() {
            for m in [
                Mitigations::default(),
                Mitigations {
                    return_thunk: true,
                    sls: true,
                    ibt: true,
                    call_depth: false,
                },
            ] {
                let mut p = base.clone();
                p.mitigations = m;
                let Ok(r) = show(&s, &text, &p, &Placement::default(), AsmSyntax::Intel) else {
                    continue;
                };
                let Ok(enc) = &r.encoded else { continue };
                for (i, l) in enc.insns.iter().zip(&r.listing) {
                    seen.insert(format!("{:?}", i.code));
                    let e = fsession_core::explain::x86_line(l, r.spec.addrs.image, AsmSyntax::Att, &mut f);
                    assert!(!e.contains("see the Intel SDM"), "{}: {e}", l.text);
                }
            }
        }
    }
    let missing: Vec<&String> = seen.difference(&known).collect();
    assert!(
        missing.is_empty(),
        "codes emitted without a known-answer row: {missing:?}"
    );
}

/// (kernel-syntax text, slot, explanation): every opcode class.
const BPF_ROWS: &[(&str, usize, &str)] = &[
    ("r0 = *(u64 *)(r1 -8)", 2, "load: r0 = 8 bytes at r1 -8 (zero-extended)"),
    ("r0 = *(s8 *)(r1 +0)", 0, "load: r0 = 1 byte at r1 +0 (sign-extended)"),
    ("r2 = *(s16 *)(r3 +4)", 0, "load: r2 = 2 bytes at r3 +4 (sign-extended)"),
    ("r2 = *(s32 *)(r3 +4)", 0, "load: r2 = 4 bytes at r3 +4 (sign-extended)"),
    ("*(u64 *)(r3 +0) = r0", 16, "store: 8 bytes of r0 at r3 +0"),
    ("*(u32 *)(r10 -4) = 7", 0, "store: 4 bytes of 7 at r10 -4"),
    (
        "lock *(u64 *)(r1 +8) += r2",
        0,
        "atomically add r2 to the 8 bytes at r1 +8",
    ),
    (
        "r0 = cmpxchg(*(u64 *)(r1 +0), r0, r2)",
        0,
        "atomically: if the 8 bytes at r1 +0 equals r0, store r2; r0 = the old value",
    ),
    (
        "r1 = 0x1122334455667788 ll",
        0,
        "ld_imm64 (two slots): r1 = 0x1122334455667788",
    ),
    ("r0 &= 255", 3, "r0 = r0 & 255 (64-bit)"),
    ("w0 += w1", 3, "w0 = w0 + w1 (32-bit, upper half zeroed)"),
    ("r0 s>>= 3", 3, "r0 = r0 s>> 3 (64-bit)"),
    ("r0 = -r0", 3, "r0 = -r0 (64-bit)"),
    ("r1 = (s8)r2", 0, "r1 = the low 8 bits of r2, sign-extended (64-bit)"),
    (
        "r0 = be16 r0",
        0,
        "r0 = the low 16 bits of r0, byte-swapped to big-endian",
    ),
    (
        "if w2 >= w0 goto pc+6",
        12,
        "if w2 >= w0 (32-bit unsigned compare): continue at insn 19, else at the next",
    ),
    (
        "if r1 s< 0x3 goto pc+1",
        0,
        "if r1 s< 3 (64-bit signed compare): continue at insn 2, else at the next",
    ),
    ("goto pc-3", 10, "goto: continue at insn 8"),
    (
        "call bpf_get_func_ip#173",
        0,
        "call bpf_get_func_ip#173: arguments in r1-r5, result in r0; r1-r5 are clobbered",
    ),
    ("exit", 9, "exit: return r0 to the caller"),
];

#[test]
fn bpf_known_answers() {
    for &(text, slot, want) in BPF_ROWS {
        let insns = assemble(text, Syntax::Kernel).unwrap_or_else(|e| panic!("{text}: {e}"));
        let (_, instr) = decode_program_internal(&insns).unwrap()[0];
        assert_eq!(bpf(&instr, slot), want, "{text}");
    }
}
