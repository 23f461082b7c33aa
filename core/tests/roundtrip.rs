//! Property tests: for every instruction form, `assemble(disassemble(x)) == x` in both syntaxes;
//! any 8-byte slot either decodes and round-trips or is rejected with its index; the decoder
//! never panics.

use fsession_core::asm::{assemble, disassemble, Syntax};
use fsession_core::isa::{
    decode, decode_program, encode, encode_program, split_slots, AluOp, AtomicOp, DecodeErrorKind, EndKind, Imm64Kind,
    Insn, Instr, JmpCond, Operand, Size,
};
use proptest::prelude::*;

fn reg() -> impl Strategy<Value = u8> {
    0u8..=10
}
fn size() -> impl Strategy<Value = Size> {
    prop_oneof![Just(Size::B), Just(Size::H), Just(Size::W), Just(Size::DW)]
}
fn operand() -> impl Strategy<Value = Operand> {
    prop_oneof![reg().prop_map(Operand::Reg), any::<i32>().prop_map(Operand::Imm)]
}
fn alu() -> impl Strategy<Value = Instr> {
    let ops = prop_oneof![
        Just(AluOp::Add),
        Just(AluOp::Sub),
        Just(AluOp::Mul),
        Just(AluOp::Div),
        Just(AluOp::SDiv),
        Just(AluOp::Or),
        Just(AluOp::And),
        Just(AluOp::Lsh),
        Just(AluOp::Rsh),
        Just(AluOp::Mod),
        Just(AluOp::SMod),
        Just(AluOp::Xor),
        Just(AluOp::Mov),
        Just(AluOp::Arsh),
    ];
    prop_oneof![
        (any::<bool>(), ops, reg(), operand()).prop_map(|(wide, op, dst, src)| Instr::Alu { wide, op, dst, src }),
        (any::<bool>(), reg()).prop_map(|(wide, dst)| Instr::Alu {
            wide,
            op: AluOp::Neg,
            dst,
            src: Operand::Imm(0)
        }),
        (
            any::<bool>(),
            prop_oneof![Just(Size::B), Just(Size::H), Just(Size::W)],
            reg(),
            reg()
        )
            .prop_map(|(wide, s, dst, src)| Instr::Alu {
                wide: wide || s == Size::W,
                op: AluOp::MovSx(s),
                dst,
                src: Operand::Reg(src)
            }),
        (
            prop_oneof![Just(EndKind::Le), Just(EndKind::Be), Just(EndKind::Swap)],
            prop_oneof![Just(16u8), Just(32), Just(64)],
            reg()
        )
            .prop_map(|(kind, bits, dst)| Instr::End { kind, bits, dst }),
    ]
}
fn jmp() -> impl Strategy<Value = Instr> {
    prop_oneof![
        any::<i16>().prop_map(|off| Instr::Ja { off }),
        any::<i32>().prop_map(|imm| Instr::Gotol { imm }),
        (any::<bool>(), 0usize..11, reg(), operand(), any::<i16>()).prop_map(|(wide, c, dst, src, off)| Instr::Jmp {
            wide,
            cond: JmpCond::ALL[c],
            dst,
            src,
            off
        }),
        any::<i32>().prop_map(Instr::CallHelper),
        any::<i32>().prop_map(Instr::CallLocal),
        any::<i32>().prop_map(Instr::CallKfunc),
        reg().prop_map(Instr::Callx),
        Just(Instr::Exit),
    ]
}
fn mem() -> impl Strategy<Value = Instr> {
    let kinds = prop_oneof![
        Just(Imm64Kind::Imm),
        Just(Imm64Kind::MapFd),
        Just(Imm64Kind::MapValue),
        Just(Imm64Kind::BtfId),
        Just(Imm64Kind::Func),
        Just(Imm64Kind::MapIdx),
        Just(Imm64Kind::MapIdxValue),
    ];
    let aops = prop_oneof![
        Just(AtomicOp::Add),
        Just(AtomicOp::And),
        Just(AtomicOp::Or),
        Just(AtomicOp::Xor),
        Just(AtomicOp::Xchg),
        Just(AtomicOp::Cmpxchg),
    ];
    let small = prop_oneof![Just(Size::B), Just(Size::H), Just(Size::W)];
    prop_oneof![
        (reg(), kinds, any::<i32>(), any::<i32>()).prop_map(|(dst, kind, imm, imm2)| Instr::LdImm64 {
            dst,
            kind,
            imm,
            imm2: if kind.uses_imm2() { imm2 } else { 0 }
        }),
        (size(), any::<bool>(), reg(), reg(), any::<i16>()).prop_map(|(size, sx, dst, src, off)| Instr::Ldx {
            size,
            sx: sx && size != Size::DW,
            dst,
            src,
            off
        }),
        (size(), reg(), any::<i16>(), any::<i32>()).prop_map(|(size, dst, off, imm)| Instr::St { size, dst, off, imm }),
        (size(), reg(), reg(), any::<i16>()).prop_map(|(size, dst, src, off)| Instr::Stx { size, dst, src, off }),
        (any::<bool>(), aops, any::<bool>(), reg(), reg(), any::<i16>()).prop_map(|(w, op, fetch, dst, src, off)| {
            Instr::Atomic {
                size: if w { Size::DW } else { Size::W },
                op,
                fetch: fetch || matches!(op, AtomicOp::Xchg | AtomicOp::Cmpxchg),
                dst,
                src,
                off,
            }
        }),
        (small.clone(), any::<i32>()).prop_map(|(size, imm)| Instr::LdAbs { size, imm }),
        (small, reg(), any::<i32>()).prop_map(|(size, src, imm)| Instr::LdInd { size, src, imm }),
    ]
}
fn instr() -> impl Strategy<Value = Instr> {
    prop_oneof![alu(), jmp(), mem()]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(3000))]

    #[test]
    fn programs_round_trip_in_both_syntaxes(prog in prop::collection::vec(instr(), 1..40)) {
        let slots = encode_program(&prog);
        // Structured decode gives back the same instructions.
        let back: Vec<Instr> = decode_program(&slots).unwrap().into_iter().map(|(_, i)| i).collect();
        prop_assert_eq!(&back, &prog);
        for syntax in [Syntax::Kernel, Syntax::Conformance] {
            let text = disassemble(&slots, syntax).unwrap();
            let again = assemble(&text, syntax).map_err(|e| TestCaseError::fail(format!("{syntax:?}: {e}\n{text}")))?;
            prop_assert_eq!(&again, &slots, "{:?}:\n{}", syntax, text);
        }
        // Wire form round trip.
        prop_assert_eq!(decode(&encode(&slots)).unwrap(), slots);
    }

    #[test]
    fn any_slot_decodes_and_round_trips_or_is_rejected(words in prop::collection::vec(any::<u64>(), 1..6)) {
        let slots: Vec<Insn> = words.iter().map(|w| Insn::from_u64(*w)).collect();
        match decode(&encode(&slots)) {
            Ok(ok) => {
                for syntax in [Syntax::Kernel, Syntax::Conformance] {
                    let text = disassemble(&ok, syntax).unwrap();
                    prop_assert_eq!(&assemble(&text, syntax).unwrap(), &ok);
                }
            }
            Err(e) => prop_assert!(e.index < slots.len()),
        }
    }

    #[test]
    fn assemblers_never_panic(text in "\\PC{0,80}") {
        for syntax in [Syntax::Kernel, Syntax::Conformance] {
            match assemble(&text, syntax) {
                // What assembles disassembles and assembles again to the same slots.
                Ok(insns) => {
                    if let Ok(back) = disassemble(&insns, syntax) {
                        prop_assert_eq!(&assemble(&back, syntax).unwrap(), &insns, "{}", back);
                    }
                }
                // An error names a line and column of the text.
                Err(e) => {
                    prop_assert!(e.line >= 1 && e.line <= text.lines().count() + 1, "{e}");
                    prop_assert!(e.column >= 1, "{e}");
                }
            }
        }
    }
}

fn err_of(slots: &[Insn]) -> (usize, DecodeErrorKind) {
    let e = decode(&encode(slots)).unwrap_err();
    (e.index, e.kind)
}

#[test]
fn decoder_rejects_with_the_index() {
    let ok = Insn::new(0xb7, 0, 0, 0, 1);
    // unknown opcode at index 1
    assert_eq!(
        err_of(&[ok, Insn::new(0x06 | 0x08, 0, 0, 0, 0), ok]),
        (1, DecodeErrorKind::UnknownOpcode(0x0e))
    );
    assert_eq!(
        err_of(&[Insn::new(0x99, 0, 0, 0, 0)]).1,
        DecodeErrorKind::UnknownOpcode(0x99)
    );
    // reserved fields
    assert!(matches!(
        err_of(&[ok, ok, Insn::new(0x07, 0, 1, 0, 5)]),
        (
            2,
            DecodeErrorKind::ReservedField {
                field: fsession_core::isa::InsnField::Src,
                ..
            }
        )
    ));
    assert!(matches!(
        err_of(&[Insn::new(0x0f, 0, 1, 0, 5)]),
        (
            0,
            DecodeErrorKind::ReservedField {
                field: fsession_core::isa::InsnField::Imm,
                ..
            }
        )
    ));
    assert!(matches!(
        err_of(&[Insn::new(0x95, 0, 0, 0, 1)]),
        (
            0,
            DecodeErrorKind::ReservedField {
                field: fsession_core::isa::InsnField::Imm,
                ..
            }
        )
    ));
    assert!(matches!(
        err_of(&[Insn::new(0x07, 0, 0, 2, 5)]),
        (
            0,
            DecodeErrorKind::ReservedField {
                field: fsession_core::isa::InsnField::Off,
                ..
            }
        )
    ));
    assert!(matches!(
        err_of(&[Insn::new(0xbc, 0, 1, 32, 0)]),
        (
            0,
            DecodeErrorKind::ReservedField {
                field: fsession_core::isa::InsnField::Off,
                ..
            }
        )
    ));
    assert!(matches!(
        err_of(&[Insn::new(0x85, 0, 3, 0, 0)]),
        (
            0,
            DecodeErrorKind::ReservedField {
                field: fsession_core::isa::InsnField::Src,
                ..
            }
        )
    ));
    assert!(matches!(
        err_of(&[Insn::new(0x05, 0, 0, 1, 1)]),
        (
            0,
            DecodeErrorKind::ReservedField {
                field: fsession_core::isa::InsnField::Imm,
                ..
            }
        )
    ));
    assert!(matches!(
        err_of(&[Insn::new(0x06, 0, 0, 1, 1)]),
        (
            0,
            DecodeErrorKind::ReservedField {
                field: fsession_core::isa::InsnField::Off,
                ..
            }
        )
    ));
    // registers above r10
    assert_eq!(
        err_of(&[Insn::new(0xb7, 11, 0, 0, 0)]).1,
        DecodeErrorKind::BadRegister {
            reg: 11,
            field: fsession_core::isa::InsnField::Dst
        }
    );
    // lddw: truncated, bad second half, unknown pseudo source, imm2 where none is allowed
    assert_eq!(
        err_of(&[ok, Insn::new(0x18, 0, 0, 0, 0)]),
        (1, DecodeErrorKind::TruncatedLddw)
    );
    assert_eq!(
        err_of(&[Insn::new(0x18, 0, 0, 0, 0), Insn::new(0x95, 0, 0, 0, 0)]).1,
        DecodeErrorKind::BadLddwSecondHalf
    );
    assert_eq!(
        err_of(&[Insn::new(0x18, 0, 7, 0, 0), Insn::default()]).1,
        DecodeErrorKind::BadLddwSource(7)
    );
    assert_eq!(
        err_of(&[Insn::new(0x18, 0, 1, 0, 3), Insn::new(0, 0, 0, 0, 1)]).1,
        DecodeErrorKind::BadLddwSecondHalf
    );
    // byte order width, atomic op
    assert_eq!(
        err_of(&[Insn::new(0xd4, 0, 0, 0, 8)]).1,
        DecodeErrorKind::BadEndWidth(8)
    );
    assert_eq!(
        err_of(&[Insn::new(0xdb, 0, 0, 0, 0xe0)]).1,
        DecodeErrorKind::BadAtomicOp(0xe0)
    );
    // length not a multiple of 8
    assert_eq!(decode(&[0u8; 12]).unwrap_err().kind, DecodeErrorKind::BadLength(12));
    assert!(split_slots(&[0u8; 7]).is_none());
    // the message names the index
    assert_eq!(
        decode(&encode(&[ok, Insn::new(0x99, 0, 0, 0, 0)]))
            .unwrap_err()
            .to_string(),
        "insn 1: unknown opcode 0x99"
    );
}

#[test]
fn assembler_errors_have_line_and_column() {
    let e = assemble("r0 = 1\n  r0 += r12\nexit", Syntax::Kernel).unwrap_err();
    assert_eq!((e.line, e.column), (2, 9), "{e}");
    assert!(e.message.contains("r12"), "{e}");
    let e = assemble("mov %r0, 1\njne %r0, 2, nowhere\nexit", Syntax::Conformance).unwrap_err();
    assert_eq!((e.line, e.column), (2, 13), "{e}");
    assert!(e.message.contains("undefined label 'nowhere'"), "{e}");
    let e = assemble("mov32 %r0, 0x100000000", Syntax::Conformance).unwrap_err();
    assert_eq!((e.line, e.column), (1, 12));
    assert!(e.message.contains("32-bit range"), "{e}");
    let e = assemble("ldxdw %r0, [%r1+40000]", Syntax::Conformance).unwrap_err();
    assert!(e.message.contains("16-bit"), "{e}");
    let e = assemble("frob %r0", Syntax::Conformance).unwrap_err();
    assert_eq!(e.message, "Invalid mnemonic: frob");
    let e = assemble("w0 += r1", Syntax::Kernel).unwrap_err();
    assert!(e.message.contains("mixed register widths"), "{e}");
    let e = assemble("a:\na:\nexit", Syntax::Kernel).unwrap_err();
    assert_eq!(e.line, 2);
    let e = assemble("r0 = 1 exit", Syntax::Kernel).unwrap_err();
    assert!(e.message.contains("unexpected text"), "{e}");
}

#[test]
fn labels_comments_and_bpftool_prefixes() {
    let k = "\
        // count down from 3\n\
        r0 = 3            ; comment\n\
        loop: r0 -= 1\n\
        if r0 != 0 goto loop\n\
        call done\n\
        exit\n\
        done:\n\
        exit\n";
    let p = assemble(k, Syntax::Kernel).unwrap();
    assert_eq!(
        disassemble(&p, Syntax::Kernel).unwrap(),
        "r0 = 3\nr0 -= 1\nif r0 != 0x0 goto pc-2\ncall pc+1\nexit\nexit\n"
    );
    let c = "mov %r0, 3 # comment\nloop:\nsub %r0, 1\njne %r0, 0, loop\ncall local done\nexit\ndone:\nexit\n";
    assert_eq!(assemble(c, Syntax::Conformance).unwrap(), p);
    let numbered = "0: (b7) r0 = 3\n1: (17) r0 -= 1\n2: (55) if r0 != 0x0 goto pc-2\n3: (85) call pc+1\n4: (95) exit\n5: (95) exit\n";
    assert_eq!(assemble(numbered, Syntax::Kernel).unwrap(), p);
    // The conformance syntax's implicit `exit` label is the first exit.
    let q = assemble("jne %r1, 0, exit\nmov %r0, 1\nexit", Syntax::Conformance).unwrap();
    assert_eq!(q[0].off, 1);
}
