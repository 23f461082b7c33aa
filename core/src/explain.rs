//! One-line explanations of instructions with their actual operands, from the typed
//! instructions: iced-x86's `Instruction` (its mnemonic, operand kinds and, through
//! `InstructionInfoFactory`, whether memory is read, written or only addressed) and the BPF
//! [`Instr`]. The operands are rendered in the listing's syntax; the explanation always reads
//! destination first. The playground shows them on hover and for the selected line.

use crate::isa::form::{AluOp, AtomicOp, EndKind, Imm64Kind, JmpCond, Operand, Size};
use crate::isa::names::{helper_name, kfunc_name};
use crate::isa::Instr;
use crate::tramp::listing::{AsmSyntax, Line, X86Format};
use iced_x86::{
    ConditionCode, Decoder, DecoderOptions, FlowControl, Instruction, InstructionInfoFactory, Mnemonic, OpAccess,
    OpKind, Register,
};

/// Explains a listing line of an image at `image`, decoding its bytes.
pub fn x86_line(line: &Line, image: u64, syntax: AsmSyntax, fmt: &mut X86Format) -> String {
    let ip = image.wrapping_add(line.offset as u64);
    let ins = Decoder::with_ip(64, &line.bytes, ip, DecoderOptions::NONE).decode();
    x86(&ins, syntax, fmt)
}

/// The memory operand's access: what the instruction does with `[...]`.
fn memory_access(ins: &Instruction) -> Option<OpAccess> {
    let mut f = InstructionInfoFactory::new();
    let info = f.info(ins);
    info.used_memory().first().map(|m| m.access())
}

fn condition(c: ConditionCode) -> &'static str {
    match c {
        ConditionCode::e => "ZF is set (equal / zero)",
        ConditionCode::ne => "ZF is clear (not equal / non-zero)",
        ConditionCode::b => "CF is set (unsigned below)",
        ConditionCode::ae => "CF is clear (unsigned above or equal)",
        ConditionCode::be => "CF or ZF is set (unsigned below or equal)",
        ConditionCode::a => "CF and ZF are clear (unsigned above)",
        ConditionCode::l => "SF != OF (signed less)",
        ConditionCode::ge => "SF == OF (signed greater or equal)",
        ConditionCode::le => "ZF is set or SF != OF (signed less or equal)",
        ConditionCode::g => "ZF is clear and SF == OF (signed greater)",
        ConditionCode::s => "SF is set (negative)",
        ConditionCode::ns => "SF is clear (not negative)",
        ConditionCode::o => "OF is set (overflow)",
        ConditionCode::no => "OF is clear (no overflow)",
        ConditionCode::p => "PF is set (parity even)",
        ConditionCode::np => "PF is clear (parity odd)",
        ConditionCode::None => "always",
    }
}

/// Explains one x86-64 instruction; operands as the listing shows them in `syntax`.
pub fn x86(ins: &Instruction, syntax: AsmSyntax, fmt: &mut X86Format) -> String {
    // Branch targets as addresses (the formatter would add `short`); the rest as shown.
    let ops: Vec<String> = (0..ins.op_count())
        .map(|i| match ins.op_kind(i) {
            OpKind::NearBranch16 | OpKind::NearBranch32 | OpKind::NearBranch64 => {
                format!("{:#x}", ins.near_branch_target())
            }
            _ => fmt.operand(ins, i, syntax),
        })
        .collect();
    let op = |i: usize| ops.get(i).cloned().unwrap_or_default();
    let (d, s) = (op(0), op(1));
    let mem = memory_access(ins);
    let is_mem = |i: u32| i < ins.op_count() && ins.op_kind(i) == OpKind::Memory;
    let m = ins.mnemonic();
    let name = format!("{m:?}").to_ascii_lowercase();
    match m {
        Mnemonic::Push => format!("push {d}: rsp -= 8, then store {d} at [rsp]"),
        Mnemonic::Pop => format!("pop {d}: load {d} from [rsp], then rsp += 8"),
        Mnemonic::Mov if is_mem(0) => format!("mov: store {s} into the memory at {d}"),
        Mnemonic::Mov if is_mem(1) => format!("mov: load {d} from the memory at {s}"),
        Mnemonic::Mov => format!("mov: {d} = {s}"),
        Mnemonic::Movzx => format!("movzx: {d} = {s}, zero-extended"),
        Mnemonic::Movsx | Mnemonic::Movsxd => format!("{name}: {d} = {s}, sign-extended"),
        Mnemonic::Lea => format!("lea: {d} = the address {s} (computed, memory is not read)"),
        Mnemonic::Xor
            if ins.op_count() == 2
                && ins.op0_kind() == OpKind::Register
                && ins.op0_register() == ins.op1_register() =>
        {
            format!("xor: {d} = 0 (the short way to zero a register)")
        }
        Mnemonic::Add | Mnemonic::Sub | Mnemonic::And | Mnemonic::Or | Mnemonic::Xor | Mnemonic::Imul => {
            let sym = match m {
                Mnemonic::Add => "+",
                Mnemonic::Sub => "-",
                Mnemonic::And => "&",
                Mnemonic::Or => "|",
                Mnemonic::Xor => "^",
                _ => "*",
            };
            let place = if mem == Some(OpAccess::ReadWrite) {
                " (in memory)"
            } else {
                ""
            };
            format!("{name}: {d} = {d} {sym} {s}{place}")
        }
        Mnemonic::Shl | Mnemonic::Shr | Mnemonic::Sar => format!("{name}: shift {d} by {s}"),
        Mnemonic::Test
            if ins.op_count() == 2
                && ins.op0_register() != Register::None
                && ins.op0_register() == ins.op1_register() =>
        {
            format!("test: set ZF when {d} is zero")
        }
        Mnemonic::Test => format!("test: set flags from {d} & {s} (ZF when no bit in common)"),
        Mnemonic::Cmp => format!("cmp: set flags from {d} - {s}"),
        Mnemonic::Leave => "leave: rsp = rbp, then pop rbp (drops the frame)".to_string(),
        Mnemonic::Nop => "nop: does nothing (padding or a patchable site)".to_string(),
        Mnemonic::Int3 => "int3: breakpoint trap (never reached in a correct image)".to_string(),
        Mnemonic::Endbr64 => "endbr64: an indirect-branch landing pad (CET IBT)".to_string(),
        _ => match ins.flow_control() {
            FlowControl::ConditionalBranch => {
                format!("{name}: jump to {d} if {}", condition(ins.condition_code()))
            }
            FlowControl::UnconditionalBranch => format!("{name}: continue at {d}"),
            FlowControl::Call => format!("call: push the return address and jump to {d}"),
            FlowControl::IndirectCall => format!("call: push the return address and jump to the address in {d}"),
            FlowControl::Return => "ret: pop the return address and continue there".to_string(),
            _ => format!("{name}: see the Intel SDM"),
        },
    }
}

fn reg(wide: bool, r: u8) -> String {
    format!("{}{r}", if wide { 'r' } else { 'w' })
}

fn width(wide: bool) -> &'static str {
    if wide {
        "64-bit"
    } else {
        "32-bit, upper half zeroed"
    }
}

fn bytes(size: Size) -> String {
    match size.bytes() {
        1 => "1 byte".into(),
        n => format!("{n} bytes"),
    }
}

fn at(base: u8, off: i16) -> String {
    format!("r{base} {off:+}")
}

fn cond(c: JmpCond) -> (&'static str, &'static str) {
    match c {
        JmpCond::Eq => ("==", ""),
        JmpCond::Ne => ("!=", ""),
        JmpCond::Gt => (">", "unsigned "),
        JmpCond::Ge => (">=", "unsigned "),
        JmpCond::Lt => ("<", "unsigned "),
        JmpCond::Le => ("<=", "unsigned "),
        JmpCond::Sgt => ("s>", "signed "),
        JmpCond::Sge => ("s>=", "signed "),
        JmpCond::Slt => ("s<", "signed "),
        JmpCond::Sle => ("s<=", "signed "),
        JmpCond::Set => ("&", ""),
    }
}

fn operand(wide: bool, o: Operand) -> String {
    match o {
        Operand::Reg(r) => reg(wide, r),
        Operand::Imm(i) => i.to_string(),
    }
}

/// Explains one BPF instruction at slot `index` (for branch targets).
pub fn bpf(instr: &Instr, index: usize) -> String {
    let target = || instr.target(index).map(|t| t.to_string()).unwrap_or_else(|| "?".into());
    match *instr {
        Instr::Exit => "exit: return r0 to the caller".into(),
        Instr::CallHelper(id) => format!(
            "call {}#{id}: arguments in r1-r5, result in r0; r1-r5 are clobbered",
            helper_name(id).unwrap_or("an unknown helper")
        ),
        Instr::CallKfunc(id) => format!(
            "call {}: a kernel function; arguments in r1-r5, result in r0; r1-r5 are clobbered",
            kfunc_name(id).unwrap_or("an unknown kernel function")
        ),
        Instr::CallLocal(_) => format!(
            "call the subprogram at insn {}: r1-r5 are its arguments, r6-r9 survive, r0 is its result",
            target()
        ),
        Instr::Callx(r) => format!("call the subprogram whose address is in r{r}"),
        Instr::Ja { .. } | Instr::Gotol { .. } => format!("goto: continue at insn {}", target()),
        Instr::Jmp {
            wide,
            cond: c,
            dst,
            src,
            ..
        } => {
            let (sym, kind) = cond(c);
            let bits = if wide { "64-bit" } else { "32-bit" };
            let test = if c == JmpCond::Set { "test" } else { "compare" };
            format!(
                "if {} {sym} {} ({bits} {kind}{test}): continue at insn {}, else at the next",
                reg(wide, dst),
                operand(wide, src),
                target()
            )
        }
        Instr::Ldx {
            size,
            sx,
            dst,
            src,
            off,
        } => format!(
            "load: r{dst} = {} at {} ({}-extended)",
            bytes(size),
            at(src, off),
            if sx { "sign" } else { "zero" }
        ),
        Instr::St { size, dst, off, imm } => format!("store: {} of {imm} at {}", bytes(size), at(dst, off)),
        Instr::Stx { size, dst, src, off } => format!("store: {} of r{src} at {}", bytes(size), at(dst, off)),
        Instr::Atomic {
            size,
            op,
            fetch,
            dst,
            src,
            off,
        } => {
            let place = at(dst, off);
            let n = bytes(size);
            let what = match op {
                AtomicOp::Add => format!("atomically add r{src} to the {n} at {place}"),
                AtomicOp::And => format!("atomically and r{src} into the {n} at {place}"),
                AtomicOp::Or => format!("atomically or r{src} into the {n} at {place}"),
                AtomicOp::Xor => format!("atomically xor r{src} into the {n} at {place}"),
                AtomicOp::Xchg => format!("atomically exchange r{src} with the {n} at {place}"),
                AtomicOp::Cmpxchg => {
                    format!("atomically: if the {n} at {place} equals r0, store r{src}; r0 = the old value")
                }
            };
            if fetch && !matches!(op, AtomicOp::Xchg | AtomicOp::Cmpxchg) {
                format!("{what}; r{src} = the old value")
            } else {
                what
            }
        }
        Instr::LdImm64 { dst, kind, imm, imm2 } => match kind {
            Imm64Kind::Imm => format!("ld_imm64 (two slots): r{dst} = {:#x}", Instr::imm64(imm, imm2)),
            Imm64Kind::MapFd | Imm64Kind::MapIdx => format!("ld_imm64 (two slots): r{dst} = the address of map {imm}"),
            Imm64Kind::MapValue | Imm64Kind::MapIdxValue => {
                format!("ld_imm64 (two slots): r{dst} = the address of byte {imm2} of map {imm}'s value")
            }
            Imm64Kind::BtfId => format!("ld_imm64 (two slots): r{dst} = the address of kernel object BTF id {imm}"),
            Imm64Kind::Func => format!(
                "ld_imm64 (two slots): r{dst} = the address of the subprogram at insn {}",
                target()
            ),
        },
        Instr::End { kind, bits, dst } => match kind {
            EndKind::Le => format!("r{dst} = the low {bits} bits of r{dst}, little-endian (zero-extended)"),
            EndKind::Be => format!("r{dst} = the low {bits} bits of r{dst}, byte-swapped to big-endian"),
            EndKind::Swap => format!("r{dst} = the low {bits} bits of r{dst}, byte-swapped"),
        },
        Instr::Alu { wide, op, dst, src } => {
            let (d, s) = (reg(wide, dst), operand(wide, src));
            let w = width(wide);
            match op {
                AluOp::Mov => format!("{d} = {s} ({w})"),
                AluOp::MovSx(from) => format!("{d} = the low {} bits of {s}, sign-extended ({w})", from.bits()),
                AluOp::Neg => format!("{d} = -{d} ({w})"),
                _ => {
                    let sym = match op {
                        AluOp::Add => "+",
                        AluOp::Sub => "-",
                        AluOp::Mul => "*",
                        AluOp::Div => "/",
                        AluOp::SDiv => "s/",
                        AluOp::Mod => "%",
                        AluOp::SMod => "s%",
                        AluOp::Or => "|",
                        AluOp::And => "&",
                        AluOp::Xor => "^",
                        AluOp::Lsh => "<<",
                        AluOp::Rsh => ">>",
                        AluOp::Arsh => "s>>",
                        AluOp::Mov | AluOp::MovSx(_) | AluOp::Neg => "",
                    };
                    format!("{d} = {d} {sym} {s} ({w})")
                }
            }
        }
        Instr::LdAbs { size, imm } => format!("legacy packet load: r0 = {} at packet offset {imm}", bytes(size)),
        Instr::LdInd { size, src, imm } => {
            format!(
                "legacy packet load: r0 = {} at packet offset r{src} + {imm}",
                bytes(size)
            )
        }
    }
}
