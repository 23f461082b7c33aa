//! Known-bytes table: every instruction form as (wire hex, kernel text, conformance text).
//! Each row is checked in all directions: both assemblers produce the bytes, the decoder
//! accepts them, and both disassemblers print exactly the texts.

use fsession_core::asm::{assemble, disassemble, Syntax};
use fsession_core::isa::macros::*;
use fsession_core::isa::opcode::*;
use fsession_core::isa::{decode, encode, Insn};

const ROWS: &[(&str, &str, &str)] = &[
    // ALU64 immediate and register
    ("07 01 00 00 05 00 00 00", "r1 += 5", "add %r1, 5"),
    ("0f 21 00 00 00 00 00 00", "r1 += r2", "add %r1, %r2"),
    ("17 01 00 00 ff ff ff ff", "r1 -= -1", "sub %r1, -1"),
    ("1f 10 00 00 00 00 00 00", "r0 -= r1", "sub %r0, %r1"),
    ("27 03 00 00 07 00 00 00", "r3 *= 7", "mul %r3, 7"),
    ("2f 43 00 00 00 00 00 00", "r3 *= r4", "mul %r3, %r4"),
    ("37 03 00 00 07 00 00 00", "r3 /= 7", "div %r3, 7"),
    ("3f 43 01 00 00 00 00 00", "r3 s/= r4", "sdiv %r3, %r4"),
    ("37 03 01 00 f9 ff ff ff", "r3 s/= -7", "sdiv %r3, -7"),
    ("47 03 00 00 10 00 00 00", "r3 |= 16", "or %r3, 16"),
    ("57 00 00 00 ff 00 00 00", "r0 &= 255", "and %r0, 255"),
    ("67 00 00 00 03 00 00 00", "r0 <<= 3", "lsh %r0, 3"),
    ("77 00 00 00 3f 00 00 00", "r0 >>= 63", "rsh %r0, 63"),
    ("87 00 00 00 00 00 00 00", "r0 = -r0", "neg %r0"),
    ("97 05 00 00 03 00 00 00", "r5 %= 3", "mod %r5, 3"),
    ("9f 65 01 00 00 00 00 00", "r5 s%= r6", "smod %r5, %r6"),
    ("a7 05 00 00 0f 00 00 00", "r5 ^= 15", "xor %r5, 15"),
    ("b7 00 00 00 ea ff ff ff", "r0 = -22", "mov %r0, -22"),
    ("bf 16 00 00 00 00 00 00", "r6 = r1", "mov %r6, %r1"),
    ("bf 21 08 00 00 00 00 00", "r1 = (s8)r2", "movsx864 %r1, %r2"),
    ("bf 21 10 00 00 00 00 00", "r1 = (s16)r2", "movsx1664 %r1, %r2"),
    ("bf 21 20 00 00 00 00 00", "r1 = (s32)r2", "movsx3264 %r1, %r2"),
    ("c7 01 00 00 04 00 00 00", "r1 s>>= 4", "arsh %r1, 4"),
    ("cf 21 00 00 00 00 00 00", "r1 s>>= r2", "arsh %r1, %r2"),
    // ALU32
    ("04 01 00 00 05 00 00 00", "w1 += 5", "add32 %r1, 5"),
    ("0c 21 00 00 00 00 00 00", "w1 += w2", "add32 %r1, %r2"),
    ("34 01 01 00 03 00 00 00", "w1 s/= 3", "sdiv32 %r1, 3"),
    ("84 01 00 00 00 00 00 00", "w1 = -w1", "neg32 %r1"),
    ("9c 21 01 00 00 00 00 00", "w1 s%= w2", "smod32 %r1, %r2"),
    ("b4 01 00 00 21 43 65 87", "w1 = -2023406815", "mov32 %r1, -2023406815"),
    ("bc 21 00 00 00 00 00 00", "w1 = w2", "mov32 %r1, %r2"),
    ("bc 21 08 00 00 00 00 00", "w1 = (s8)w2", "movsx832 %r1, %r2"),
    ("bc 21 10 00 00 00 00 00", "w1 = (s16)w2", "movsx1632 %r1, %r2"),
    ("cc 21 00 00 00 00 00 00", "w1 s>>= w2", "arsh32 %r1, %r2"),
    // byte order
    ("d4 01 00 00 10 00 00 00", "r1 = le16 r1", "le16 %r1"),
    ("d4 01 00 00 40 00 00 00", "r1 = le64 r1", "le64 %r1"),
    ("dc 01 00 00 20 00 00 00", "r1 = be32 r1", "be32 %r1"),
    ("d7 01 00 00 10 00 00 00", "r1 = bswap16 r1", "swap16 %r1"),
    ("d7 01 00 00 40 00 00 00", "r1 = bswap64 r1", "swap64 %r1"),
    // jumps
    ("05 00 01 00 00 00 00 00", "goto pc+1", "ja +1"),
    ("05 00 ff ff 00 00 00 00", "goto pc-1", "ja -1"),
    ("06 00 00 00 00 00 01 00", "gotol pc+65536", "ja32 +65536"),
    ("15 01 02 00 2a 00 00 00", "if r1 == 0x2a goto pc+2", "jeq %r1, 42, +2"),
    ("55 00 04 00 00 00 00 00", "if r0 != 0x0 goto pc+4", "jne %r0, 0, +4"),
    (
        "25 01 02 00 ff ff ff ff",
        "if r1 > 0xffffffff goto pc+2",
        "jgt %r1, -1, +2",
    ),
    ("3e 02 06 00 00 00 00 00", "if w2 >= w0 goto pc+6", "jge32 %r2, %r0, +6"),
    ("4d 21 00 00 00 00 00 00", "if r1 & r2 goto pc+0", "jset %r1, %r2, +0"),
    ("6d 21 01 00 00 00 00 00", "if r1 s> r2 goto pc+1", "jsgt %r1, %r2, +1"),
    (
        "76 01 01 00 05 00 00 00",
        "if w1 s>= 0x5 goto pc+1",
        "jsge32 %r1, 5, +1",
    ),
    ("ad 21 01 00 00 00 00 00", "if r1 < r2 goto pc+1", "jlt %r1, %r2, +1"),
    ("b5 01 01 00 05 00 00 00", "if r1 <= 0x5 goto pc+1", "jle %r1, 5, +1"),
    (
        "ce 21 01 00 00 00 00 00",
        "if w1 s< w2 goto pc+1",
        "jslt32 %r1, %r2, +1",
    ),
    ("d5 01 fd ff 05 00 00 00", "if r1 s<= 0x5 goto pc-3", "jsle %r1, 5, -3"),
    // calls and exit
    ("85 00 00 00 ad 00 00 00", "call get_func_ip#173", "call 173"),
    ("85 00 00 00 05 00 00 00", "call ktime_get_ns#5", "call 5"),
    ("85 00 00 00 e7 03 00 00", "call #999", "call 999"),
    ("85 10 00 00 02 00 00 00", "call pc+2", "call local +2"),
    (
        "85 20 00 00 a2 86 01 00",
        "call bpf_session_cookie",
        "call runtime 100002",
    ),
    (
        "85 20 00 00 a1 86 01 00",
        "call bpf_session_is_return",
        "call runtime 100001",
    ),
    ("85 20 00 00 07 00 00 00", "call kfunc#7", "call runtime 7"),
    ("8d 02 00 00 00 00 00 00", "callx r2", "call %r2"),
    ("95 00 00 00 00 00 00 00", "exit", "exit"),
    // loads and stores
    ("79 10 f8 ff 00 00 00 00", "r0 = *(u64 *)(r1 -8)", "ldxdw %r0, [%r1-8]"),
    (
        "79 10 f0 ff 00 00 00 00",
        "r0 = *(u64 *)(r1 -16)",
        "ldxdw %r0, [%r1-16]",
    ),
    ("79 20 00 00 00 00 00 00", "r0 = *(u64 *)(r2 +0)", "ldxdw %r0, [%r2]"),
    ("61 21 04 00 00 00 00 00", "r1 = *(u32 *)(r2 +4)", "ldxw %r1, [%r2+4]"),
    ("69 21 02 00 00 00 00 00", "r1 = *(u16 *)(r2 +2)", "ldxh %r1, [%r2+2]"),
    ("71 21 01 00 00 00 00 00", "r1 = *(u8 *)(r2 +1)", "ldxb %r1, [%r2+1]"),
    ("81 21 00 00 00 00 00 00", "r1 = *(s32 *)(r2 +0)", "ldxsw %r1, [%r2]"),
    ("89 21 00 00 00 00 00 00", "r1 = *(s16 *)(r2 +0)", "ldxsh %r1, [%r2]"),
    ("91 21 00 00 00 00 00 00", "r1 = *(s8 *)(r2 +0)", "ldxsb %r1, [%r2]"),
    ("7b 03 00 00 00 00 00 00", "*(u64 *)(r3 +0) = r0", "stxdw [%r3], %r0"),
    (
        "7b 1a f8 ff 00 00 00 00",
        "*(u64 *)(r10 -8) = r1",
        "stxdw [%r10-8], %r1",
    ),
    ("63 1a fc ff 00 00 00 00", "*(u32 *)(r10 -4) = r1", "stxw [%r10-4], %r1"),
    ("6b 1a fe ff 00 00 00 00", "*(u16 *)(r10 -2) = r1", "stxh [%r10-2], %r1"),
    ("73 1a ff ff 00 00 00 00", "*(u8 *)(r10 -1) = r1", "stxb [%r10-1], %r1"),
    ("7a 0a f8 ff 2a 00 00 00", "*(u64 *)(r10 -8) = 42", "stdw [%r10-8], 42"),
    ("62 0a fc ff ff ff ff ff", "*(u32 *)(r10 -4) = -1", "stw [%r10-4], -1"),
    ("6a 0a fe ff 01 00 00 00", "*(u16 *)(r10 -2) = 1", "sth [%r10-2], 1"),
    ("72 0a ff ff 01 00 00 00", "*(u8 *)(r10 -1) = 1", "stb [%r10-1], 1"),
    // atomics
    (
        "db 21 00 00 00 00 00 00",
        "lock *(u64 *)(r1 +0) += r2",
        "lock add [%r1], %r2",
    ),
    (
        "c3 21 08 00 50 00 00 00",
        "lock *(u32 *)(r1 +8) &= r2",
        "lock and32 [%r1+8], %r2",
    ),
    (
        "db 21 00 00 40 00 00 00",
        "lock *(u64 *)(r1 +0) |= r2",
        "lock or [%r1], %r2",
    ),
    (
        "db 21 00 00 a0 00 00 00",
        "lock *(u64 *)(r1 +0) ^= r2",
        "lock xor [%r1], %r2",
    ),
    (
        "db 21 00 00 01 00 00 00",
        "lock *(u64 *)(r1 +0) += r2 fetch",
        "lock fetch add [%r1], %r2",
    ),
    (
        "c3 a1 f8 ff 01 00 00 00",
        "lock *(u32 *)(r1 -8) += r10 fetch",
        "lock fetch add32 [%r1-8], %r10",
    ),
    (
        "db 21 00 00 51 00 00 00",
        "lock *(u64 *)(r1 +0) &= r2 fetch",
        "lock fetch and [%r1], %r2",
    ),
    (
        "c3 21 00 00 41 00 00 00",
        "lock *(u32 *)(r1 +0) |= r2 fetch",
        "lock fetch or32 [%r1], %r2",
    ),
    (
        "db 21 00 00 a1 00 00 00",
        "lock *(u64 *)(r1 +0) ^= r2 fetch",
        "lock fetch xor [%r1], %r2",
    ),
    (
        "db 21 00 00 e1 00 00 00",
        "lock *(u64 *)(r1 +0) xchg r2",
        "lock xchg [%r1], %r2",
    ),
    (
        "c3 21 00 00 f1 00 00 00",
        "r0 = cmpxchg(*(u32 *)(r1 +0), r0, r2)",
        "lock cmpxchg32 [%r1], %r2",
    ),
    // 64-bit immediates and pseudo sources
    (
        "18 01 00 00 88 77 66 55 00 00 00 00 44 33 22 11",
        "r1 = 0x1122334455667788",
        "lddw %r1, 0x1122334455667788",
    ),
    (
        "18 11 00 00 03 00 00 00 00 00 00 00 00 00 00 00",
        "r1 = map[id:3]",
        "lddw %r1, map_fd 3",
    ),
    (
        "18 21 00 00 03 00 00 00 00 00 00 00 10 00 00 00",
        "r1 = map[id:3][0]+16",
        "lddw %r1, map_value 3, 16",
    ),
    (
        "18 31 00 00 07 00 00 00 00 00 00 00 00 00 00 00",
        "r1 = btf_id[7]",
        "lddw %r1, btf_id 7",
    ),
    (
        "18 31 00 00 07 00 00 00 00 00 00 00 02 00 00 00",
        "r1 = btf_id[7][fd:2]",
        "lddw %r1, btf_id 7, 2",
    ),
    (
        "18 41 00 00 05 00 00 00 00 00 00 00 00 00 00 00",
        "r1 = func pc+5",
        "lddw %r1, func +5",
    ),
    (
        "18 51 00 00 00 00 00 00 00 00 00 00 00 00 00 00",
        "r1 = map[idx:0]",
        "lddw %r1, map_idx 0",
    ),
    (
        "18 61 00 00 01 00 00 00 00 00 00 00 08 00 00 00",
        "r1 = map[idx:1][0]+8",
        "lddw %r1, map_idx_value 1, 8",
    ),
    (
        "18 02 00 00 05 00 00 00 00 00 00 00 00 00 00 00",
        "r2 = 0x5 ll",
        "lddw %r2, 0x5",
    ),
    (
        "18 02 00 00 ff ff ff ff 00 00 00 00 00 00 00 00",
        "r2 = 0xffffffff",
        "lddw %r2, 0xffffffff",
    ),
    (
        "18 02 00 00 ff ff ff ff 00 00 00 00 ff ff ff ff",
        "r2 = 0xffffffffffffffff ll",
        "lddw %r2, 0xffffffffffffffff",
    ),
    // legacy packet access
    ("20 00 00 00 0e 00 00 00", "r0 = *(u32 *)skb[14]", "ldabsw 14"),
    ("28 00 00 00 0c 00 00 00", "r0 = *(u16 *)skb[12]", "ldabsh 12"),
    ("30 00 00 00 17 00 00 00", "r0 = *(u8 *)skb[23]", "ldabsb 23"),
    ("48 30 00 00 02 00 00 00", "r0 = *(u16 *)skb[r3 + 2]", "ldindh %r3, 2"),
    // generated: remaining ALU and jump opcodes
    ("14 01 00 00 09 00 00 00", "w1 -= 9", "sub32 %r1, 9"),
    ("1c 21 00 00 00 00 00 00", "w1 -= w2", "sub32 %r1, %r2"),
    ("24 01 00 00 09 00 00 00", "w1 *= 9", "mul32 %r1, 9"),
    ("2c 21 00 00 00 00 00 00", "w1 *= w2", "mul32 %r1, %r2"),
    ("3c 21 00 00 00 00 00 00", "w1 /= w2", "div32 %r1, %r2"),
    ("44 01 00 00 09 00 00 00", "w1 |= 9", "or32 %r1, 9"),
    ("4c 21 00 00 00 00 00 00", "w1 |= w2", "or32 %r1, %r2"),
    ("4f 21 00 00 00 00 00 00", "r1 |= r2", "or %r1, %r2"),
    ("54 01 00 00 09 00 00 00", "w1 &= 9", "and32 %r1, 9"),
    ("5c 21 00 00 00 00 00 00", "w1 &= w2", "and32 %r1, %r2"),
    ("5f 21 00 00 00 00 00 00", "r1 &= r2", "and %r1, %r2"),
    ("64 01 00 00 09 00 00 00", "w1 <<= 9", "lsh32 %r1, 9"),
    ("6c 21 00 00 00 00 00 00", "w1 <<= w2", "lsh32 %r1, %r2"),
    ("6f 21 00 00 00 00 00 00", "r1 <<= r2", "lsh %r1, %r2"),
    ("74 01 00 00 09 00 00 00", "w1 >>= 9", "rsh32 %r1, 9"),
    ("7c 21 00 00 00 00 00 00", "w1 >>= w2", "rsh32 %r1, %r2"),
    ("7f 21 00 00 00 00 00 00", "r1 >>= r2", "rsh %r1, %r2"),
    ("94 01 00 00 09 00 00 00", "w1 %= 9", "mod32 %r1, 9"),
    ("a4 01 00 00 09 00 00 00", "w1 ^= 9", "xor32 %r1, 9"),
    ("ac 21 00 00 00 00 00 00", "w1 ^= w2", "xor32 %r1, %r2"),
    ("af 21 00 00 00 00 00 00", "r1 ^= r2", "xor %r1, %r2"),
    ("c4 01 00 00 09 00 00 00", "w1 s>>= 9", "arsh32 %r1, 9"),
    ("1d 21 03 00 00 00 00 00", "if r1 == r2 goto pc+3", "jeq %r1, %r2, +3"),
    ("16 01 fe ff 07 00 00 00", "if w1 == 0x7 goto pc-2", "jeq32 %r1, 7, -2"),
    ("1e 21 03 00 00 00 00 00", "if w1 == w2 goto pc+3", "jeq32 %r1, %r2, +3"),
    ("2d 21 03 00 00 00 00 00", "if r1 > r2 goto pc+3", "jgt %r1, %r2, +3"),
    ("26 01 fe ff 07 00 00 00", "if w1 > 0x7 goto pc-2", "jgt32 %r1, 7, -2"),
    ("2e 21 03 00 00 00 00 00", "if w1 > w2 goto pc+3", "jgt32 %r1, %r2, +3"),
    ("35 01 fe ff 07 00 00 00", "if r1 >= 0x7 goto pc-2", "jge %r1, 7, -2"),
    ("3d 21 03 00 00 00 00 00", "if r1 >= r2 goto pc+3", "jge %r1, %r2, +3"),
    ("36 01 fe ff 07 00 00 00", "if w1 >= 0x7 goto pc-2", "jge32 %r1, 7, -2"),
    ("45 01 fe ff 07 00 00 00", "if r1 & 0x7 goto pc-2", "jset %r1, 7, -2"),
    ("46 01 fe ff 07 00 00 00", "if w1 & 0x7 goto pc-2", "jset32 %r1, 7, -2"),
    ("4e 21 03 00 00 00 00 00", "if w1 & w2 goto pc+3", "jset32 %r1, %r2, +3"),
    ("5d 21 03 00 00 00 00 00", "if r1 != r2 goto pc+3", "jne %r1, %r2, +3"),
    ("56 01 fe ff 07 00 00 00", "if w1 != 0x7 goto pc-2", "jne32 %r1, 7, -2"),
    ("5e 21 03 00 00 00 00 00", "if w1 != w2 goto pc+3", "jne32 %r1, %r2, +3"),
    ("65 01 fe ff 07 00 00 00", "if r1 s> 0x7 goto pc-2", "jsgt %r1, 7, -2"),
    ("66 01 fe ff 07 00 00 00", "if w1 s> 0x7 goto pc-2", "jsgt32 %r1, 7, -2"),
    (
        "6e 21 03 00 00 00 00 00",
        "if w1 s> w2 goto pc+3",
        "jsgt32 %r1, %r2, +3",
    ),
    ("75 01 fe ff 07 00 00 00", "if r1 s>= 0x7 goto pc-2", "jsge %r1, 7, -2"),
    ("7d 21 03 00 00 00 00 00", "if r1 s>= r2 goto pc+3", "jsge %r1, %r2, +3"),
    (
        "7e 21 03 00 00 00 00 00",
        "if w1 s>= w2 goto pc+3",
        "jsge32 %r1, %r2, +3",
    ),
    ("a5 01 fe ff 07 00 00 00", "if r1 < 0x7 goto pc-2", "jlt %r1, 7, -2"),
    ("a6 01 fe ff 07 00 00 00", "if w1 < 0x7 goto pc-2", "jlt32 %r1, 7, -2"),
    ("ae 21 03 00 00 00 00 00", "if w1 < w2 goto pc+3", "jlt32 %r1, %r2, +3"),
    ("bd 21 03 00 00 00 00 00", "if r1 <= r2 goto pc+3", "jle %r1, %r2, +3"),
    ("b6 01 fe ff 07 00 00 00", "if w1 <= 0x7 goto pc-2", "jle32 %r1, 7, -2"),
    ("be 21 03 00 00 00 00 00", "if w1 <= w2 goto pc+3", "jle32 %r1, %r2, +3"),
    ("c5 01 fe ff 07 00 00 00", "if r1 s< 0x7 goto pc-2", "jslt %r1, 7, -2"),
    ("cd 21 03 00 00 00 00 00", "if r1 s< r2 goto pc+3", "jslt %r1, %r2, +3"),
    ("c6 01 fe ff 07 00 00 00", "if w1 s< 0x7 goto pc-2", "jslt32 %r1, 7, -2"),
    ("dd 21 03 00 00 00 00 00", "if r1 s<= r2 goto pc+3", "jsle %r1, %r2, +3"),
    (
        "d6 01 fe ff 07 00 00 00",
        "if w1 s<= 0x7 goto pc-2",
        "jsle32 %r1, 7, -2",
    ),
    (
        "de 21 03 00 00 00 00 00",
        "if w1 s<= w2 goto pc+3",
        "jsle32 %r1, %r2, +3",
    ),
    ("40 30 00 00 04 00 00 00", "r0 = *(u32 *)skb[r3 + 4]", "ldindw %r3, 4"),
    ("50 30 00 00 04 00 00 00", "r0 = *(u8 *)skb[r3 + 4]", "ldindb %r3, 4"),
];

fn hex(insns: &[Insn]) -> String {
    encode(insns)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(" ")
}

#[test]
fn every_row_in_every_direction() {
    for (h, ktext, ctext) in ROWS {
        let k = assemble(ktext, Syntax::Kernel).unwrap_or_else(|e| panic!("{ktext}: {e}"));
        assert_eq!(hex(&k), *h, "kernel text {ktext}");
        let c = assemble(ctext, Syntax::Conformance).unwrap_or_else(|e| panic!("{ctext}: {e}"));
        assert_eq!(hex(&c), *h, "conformance text {ctext}");
        let bytes: Vec<u8> = h.split(' ').map(|b| u8::from_str_radix(b, 16).unwrap()).collect();
        let insns = decode(&bytes).unwrap_or_else(|e| panic!("{h}: {e}"));
        assert_eq!(disassemble(&insns, Syntax::Kernel).unwrap().trim_end(), *ktext);
        assert_eq!(disassemble(&insns, Syntax::Conformance).unwrap().trim_end(), *ctext);
    }
}

#[test]
fn table_covers_every_valid_opcode() {
    let mut seen = std::collections::BTreeSet::new();
    for (h, _, _) in ROWS {
        seen.insert(u8::from_str_radix(&h[..2], 16).unwrap());
    }
    // Every opcode byte that decodes with some field values must appear in the table.
    let mut missing = Vec::new();
    for code in 0..=255u8 {
        let valid = (0..=2u8).any(|src| {
            [0i32, 1, 16, 0xe1, 0xf1].iter().any(|&imm| {
                [0i16, 1, 8].iter().any(|&off| {
                    let mut v = vec![Insn::new(code, 0, src, off, imm)];
                    v.push(Insn::new(0, 0, 0, 0, 0));
                    fsession_core::isa::Instr::decode(&v, 0).is_ok()
                })
            })
        });
        if valid && !seen.contains(&code) {
            missing.push(format!("{code:#04x}"));
        }
    }
    assert!(missing.is_empty(), "opcodes without a known-bytes row: {missing:?}");
}

/// The fsession inline sequences of the reference (§3.4), built with the kernel macros.
#[test]
fn kernel_macros_build_the_reference_sequences() {
    let cookie = [
        BPF_LDX_MEM(BPF_DW, BPF_REG_0, BPF_REG_1, -8),
        BPF_ALU64_IMM(BPF_RSH, BPF_REG_0, 8),
        BPF_ALU64_IMM(BPF_AND, BPF_REG_0, 0xff),
        BPF_ALU64_IMM(BPF_LSH, BPF_REG_0, 3),
        BPF_ALU64_REG(BPF_SUB, BPF_REG_0, BPF_REG_1),
        BPF_ALU64_IMM(BPF_NEG, BPF_REG_0, 0),
    ];
    assert_eq!(
        hex(&cookie),
        "79 10 f8 ff 00 00 00 00 77 00 00 00 08 00 00 00 57 00 00 00 ff 00 00 00 \
         67 00 00 00 03 00 00 00 1f 10 00 00 00 00 00 00 87 00 00 00 00 00 00 00"
    );
    let get_func_arg_tail = [
        BPF_JMP32_REG(BPF_JGE, BPF_REG_2, BPF_REG_0, 6),
        BPF_ALU64_IMM(BPF_LSH, BPF_REG_2, 3),
        BPF_ALU64_REG(BPF_ADD, BPF_REG_2, BPF_REG_1),
        BPF_LDX_MEM(BPF_DW, BPF_REG_0, BPF_REG_2, 0),
        BPF_STX_MEM(BPF_DW, BPF_REG_3, BPF_REG_0, 0),
        BPF_MOV64_IMM(BPF_REG_0, 0),
        BPF_JMP_A(1),
        BPF_MOV64_IMM(BPF_REG_0, -22),
    ];
    assert_eq!(
        hex(&get_func_arg_tail),
        "3e 02 06 00 00 00 00 00 67 02 00 00 03 00 00 00 0f 12 00 00 00 00 00 00 \
         79 20 00 00 00 00 00 00 7b 03 00 00 00 00 00 00 b7 00 00 00 00 00 00 00 \
         05 00 01 00 00 00 00 00 b7 00 00 00 ea ff ff ff"
    );
    assert_eq!(
        hex(&BPF_LD_IMM64(1, 0x1122334455667788)),
        "18 01 00 00 88 77 66 55 00 00 00 00 44 33 22 11"
    );
    assert_eq!(hex(&[BPF_EXIT_INSN()]), "95 00 00 00 00 00 00 00");
    assert_eq!(
        hex(&[BPF_ATOMIC_OP(BPF_DW, BPF_ADD | BPF_FETCH, 1, 2, 0)]),
        "db 21 00 00 01 00 00 00"
    );
}
