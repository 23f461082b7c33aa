//! The bpf_conformance suite's assembler syntax: `mov %r0, 1`, `add32 %r1, %r2`,
//! `ldxdw %r0, [%r1-8]`, `jne %r0, 2, exit`, `lock fetch add32 [%r10-8], %r1`, `call local f`.
//!
//! Extensions for forms the suite does not spell (documented choice): `lddw %r1, map_fd 3`,
//! `lddw %r1, map_value 3, 16`, `lddw %r1, map_idx 0`, `lddw %r1, map_idx_value 0, 8`,
//! `lddw %r1, btf_id 7` (`btf_id 7, 2` with a module BTF fd), `lddw %r1, func +5` (or a label),
//! `call local +N`, `ja32 +N`, packet loads `ldabsw 14` / `ldindh %r3, 2`.

use super::cursor::{AsmError, Cursor};
use super::{LineItem, Target};
use crate::isa::{AluOp, AtomicOp, EndKind, Imm64Kind, Instr, JmpCond, Operand, Size};

const ALU_NAMES: [(&str, AluOp); 14] = [
    ("add", AluOp::Add),
    ("sub", AluOp::Sub),
    ("mul", AluOp::Mul),
    ("div", AluOp::Div),
    ("sdiv", AluOp::SDiv),
    ("or", AluOp::Or),
    ("and", AluOp::And),
    ("lsh", AluOp::Lsh),
    ("rsh", AluOp::Rsh),
    ("neg", AluOp::Neg),
    ("mod", AluOp::Mod),
    ("smod", AluOp::SMod),
    ("xor", AluOp::Xor),
    ("mov", AluOp::Mov),
];

fn alu_name(op: AluOp) -> &'static str {
    match op {
        AluOp::Arsh => "arsh",
        AluOp::MovSx(_) => "movsx",
        _ => ALU_NAMES.iter().find(|(_, o)| *o == op).map(|(n, _)| *n).unwrap_or("?"),
    }
}

const JMP_NAMES: [(&str, JmpCond); 11] = [
    ("jeq", JmpCond::Eq),
    ("jgt", JmpCond::Gt),
    ("jge", JmpCond::Ge),
    ("jset", JmpCond::Set),
    ("jne", JmpCond::Ne),
    ("jsgt", JmpCond::Sgt),
    ("jsge", JmpCond::Sge),
    ("jlt", JmpCond::Lt),
    ("jle", JmpCond::Le),
    ("jslt", JmpCond::Slt),
    ("jsle", JmpCond::Sle),
];

fn size_suffix(s: Size) -> &'static str {
    match s {
        Size::B => "b",
        Size::H => "h",
        Size::W => "w",
        Size::DW => "dw",
    }
}

fn size_of_suffix(s: &str) -> Option<Size> {
    Some(match s {
        "b" => Size::B,
        "h" => Size::H,
        "w" => Size::W,
        "dw" => Size::DW,
        _ => return None,
    })
}

fn mem(base: u8, off: i16) -> String {
    match off {
        0 => format!("[%r{base}]"),
        o if o > 0 => format!("[%r{base}+{o}]"),
        o => format!("[%r{base}{o}]"),
    }
}

fn rel(v: i64) -> String {
    format!("{v:+}")
}

/// Formats one instruction.
pub(crate) fn format(i: &Instr) -> String {
    match *i {
        Instr::Alu { wide, op, dst, src } => {
            let w = if wide { "" } else { "32" };
            match (op, src) {
                (AluOp::Neg, _) => format!("neg{w} %r{dst}"),
                (AluOp::MovSx(s), Operand::Reg(r)) => {
                    format!("movsx{}{} %r{dst}, %r{r}", s.bits(), if wide { "64" } else { "32" })
                }
                (_, Operand::Reg(r)) => format!("{}{w} %r{dst}, %r{r}", alu_name(op)),
                (_, Operand::Imm(imm)) => format!("{}{w} %r{dst}, {imm}", alu_name(op)),
            }
        }
        Instr::End { kind, bits, dst } => {
            let k = match kind {
                EndKind::Le => "le",
                EndKind::Be => "be",
                EndKind::Swap => "swap",
            };
            format!("{k}{bits} %r{dst}")
        }
        Instr::Ja { off } => format!("ja {}", rel(off.into())),
        Instr::Gotol { imm } => format!("ja32 {}", rel(imm.into())),
        Instr::Jmp {
            wide,
            cond,
            dst,
            src,
            off,
        } => {
            let name = JMP_NAMES
                .iter()
                .find(|(_, c)| *c == cond)
                .map(|(n, _)| *n)
                .unwrap_or("?");
            let w = if wide { "" } else { "32" };
            let s = match src {
                Operand::Reg(r) => format!("%r{r}"),
                Operand::Imm(imm) => imm.to_string(),
            };
            format!("{name}{w} %r{dst}, {s}, {}", rel(off.into()))
        }
        Instr::CallHelper(id) => format!("call {id}"),
        Instr::CallLocal(imm) => format!("call local {}", rel(imm.into())),
        Instr::CallKfunc(id) => format!("call runtime {id}"),
        Instr::Callx(r) => format!("call %r{r}"),
        Instr::Exit => "exit".into(),
        Instr::LdImm64 { dst, kind, imm, imm2 } => {
            let v = match kind {
                Imm64Kind::Imm => format!("{:#x}", Instr::imm64(imm, imm2)),
                Imm64Kind::MapFd => format!("map_fd {imm}"),
                Imm64Kind::MapValue => format!("map_value {imm}, {imm2}"),
                Imm64Kind::MapIdx => format!("map_idx {imm}"),
                Imm64Kind::MapIdxValue => format!("map_idx_value {imm}, {imm2}"),
                Imm64Kind::BtfId if imm2 == 0 => format!("btf_id {imm}"),
                Imm64Kind::BtfId => format!("btf_id {imm}, {imm2}"),
                Imm64Kind::Func => format!("func {}", rel(imm.into())),
            };
            format!("lddw %r{dst}, {v}")
        }
        Instr::Ldx {
            size,
            sx,
            dst,
            src,
            off,
        } => format!(
            "ldx{}{} %r{dst}, {}",
            if sx { "s" } else { "" },
            size_suffix(size),
            mem(src, off)
        ),
        Instr::St { size, dst, off, imm } => format!("st{} {}, {imm}", size_suffix(size), mem(dst, off)),
        Instr::Stx { size, dst, src, off } => format!("stx{} {}, %r{src}", size_suffix(size), mem(dst, off)),
        Instr::Atomic {
            size,
            op,
            fetch,
            dst,
            src,
            off,
        } => {
            let w = if size == Size::W { "32" } else { "" };
            let name = match op {
                AtomicOp::Add => "add",
                AtomicOp::And => "and",
                AtomicOp::Or => "or",
                AtomicOp::Xor => "xor",
                AtomicOp::Xchg => "xchg",
                AtomicOp::Cmpxchg => "cmpxchg",
            };
            let f = if fetch && !matches!(op, AtomicOp::Xchg | AtomicOp::Cmpxchg) {
                "fetch "
            } else {
                ""
            };
            format!("lock {f}{name}{w} {}, %r{src}", mem(dst, off))
        }
        Instr::LdAbs { size, imm } => format!("ldabs{} {imm}", size_suffix(size)),
        Instr::LdInd { size, src, imm } => format!("ldind{} %r{src}, {imm}", size_suffix(size)),
    }
}

fn parse_reg(cur: &mut Cursor) -> Result<u8, AsmError> {
    cur.skip_ws();
    let start = cur.pos();
    if !cur.eat("%") {
        return Err(cur.error("expected a register such as %r1"));
    }
    let word = cur.ident().map(|(w, _)| w).unwrap_or("");
    let n = word
        .strip_prefix('r')
        .filter(|d| !d.is_empty() && d.len() <= 2 && !(d.len() == 2 && d.starts_with('0')))
        .and_then(|d| d.parse::<u8>().ok())
        .filter(|n| *n <= 10);
    n.ok_or_else(|| cur.error_at(start, format!("Invalid register: %{word}")))
}

fn comma(cur: &mut Cursor) -> Result<(), AsmError> {
    cur.expect(",")
}

fn is_reg_next(cur: &mut Cursor) -> bool {
    cur.skip_ws();
    cur.peek() == Some('%')
}

/// `[%r1]`, `[%r1+8]`, `[%r1-8]`, `[%r1 + 0x10]`.
fn parse_mem(cur: &mut Cursor) -> Result<(u8, i16), AsmError> {
    cur.expect("[")?;
    let base = parse_reg(cur)?;
    cur.skip_ws();
    let off = if cur.peek() == Some(']') {
        0
    } else {
        let p = cur.pos();
        let neg = if cur.eat("+") {
            false
        } else if cur.eat("-") {
            true
        } else {
            return Err(cur.error("expected '+', '-' or ']'"));
        };
        let v = cur.int()?;
        let v = if neg { -v } else { v };
        i16::try_from(v).map_err(|_| cur.error_at(p, format!("Offset out of 16-bit range: {v}")))?
    };
    cur.expect("]")?;
    Ok((base, off))
}

fn parse_target(cur: &mut Cursor) -> Result<(Target, usize), AsmError> {
    cur.skip_ws();
    let col = cur.col();
    if matches!(cur.peek(), Some('+') | Some('-')) || cur.peek().is_some_and(|c| c.is_ascii_digit()) {
        return Ok((Target::Rel(cur.int()? as i64), col));
    }
    match cur.ident() {
        Some((w, _)) => Ok((Target::Label(w.to_string()), col)),
        None => Err(cur.error("expected a jump target (+N, -N or a label)")),
    }
}

/// Parses one instruction.
pub(crate) fn parse_line(cur: &mut Cursor) -> Result<LineItem, AsmError> {
    cur.skip_ws();
    let start = cur.pos();
    let Some((m, _)) = cur.ident() else {
        return Err(cur.error("expected a mnemonic"));
    };
    let plain = |i| Ok(LineItem::Instr(i, None));
    let (base, wide) = match m.strip_suffix("32") {
        Some(b) if !b.is_empty() && !b.starts_with("movsx") => (b, false),
        _ => (m, true),
    };
    if m == "exit" {
        return plain(Instr::Exit);
    }
    if m == "ja" || m == "ja32" {
        let t = parse_target(cur)?;
        let i = if m == "ja" {
            Instr::Ja { off: 0 }
        } else {
            Instr::Gotol { imm: 0 }
        };
        return Ok(LineItem::Instr(i, Some(t)));
    }
    if m == "arsh" || m == "arsh32" || ALU_NAMES.iter().any(|(n, _)| *n == base) {
        let op = if base == "arsh" {
            AluOp::Arsh
        } else {
            ALU_NAMES
                .iter()
                .find(|(n, _)| *n == base)
                .map(|(_, o)| *o)
                .unwrap_or(AluOp::Add)
        };
        let dst = parse_reg(cur)?;
        if op == AluOp::Neg {
            return plain(Instr::Alu {
                wide,
                op,
                dst,
                src: Operand::Imm(0),
            });
        }
        comma(cur)?;
        let src = if is_reg_next(cur) {
            Operand::Reg(parse_reg(cur)?)
        } else {
            Operand::Imm(cur.imm32()?)
        };
        return plain(Instr::Alu { wide, op, dst, src });
    }
    if let Some(rest) = m.strip_prefix("movsx") {
        let (size, wide) = match rest {
            "832" => (Size::B, false),
            "1632" => (Size::H, false),
            "864" => (Size::B, true),
            "1664" => (Size::H, true),
            "3264" => (Size::W, true),
            _ => return Err(cur.error_at(start, format!("Invalid mnemonic: {m}"))),
        };
        let dst = parse_reg(cur)?;
        comma(cur)?;
        let src = parse_reg(cur)?;
        return plain(Instr::Alu {
            wide,
            op: AluOp::MovSx(size),
            dst,
            src: Operand::Reg(src),
        });
    }
    for (prefix, kind) in [
        ("bswap", EndKind::Swap),
        ("swap", EndKind::Swap),
        ("le", EndKind::Le),
        ("be", EndKind::Be),
    ] {
        if let Some(bits) = m.strip_prefix(prefix).and_then(|b| b.parse::<u8>().ok()) {
            if matches!(bits, 16 | 32 | 64) {
                let dst = parse_reg(cur)?;
                return plain(Instr::End { kind, bits, dst });
            }
        }
    }
    if let Some((_, cond)) = JMP_NAMES.iter().find(|(n, _)| *n == base) {
        let dst = parse_reg(cur)?;
        comma(cur)?;
        let src = if is_reg_next(cur) {
            Operand::Reg(parse_reg(cur)?)
        } else {
            Operand::Imm(cur.imm32()?)
        };
        comma(cur)?;
        let t = parse_target(cur)?;
        return Ok(LineItem::Instr(
            Instr::Jmp {
                wide,
                cond: *cond,
                dst,
                src,
                off: 0,
            },
            Some(t),
        ));
    }
    if m == "call" {
        if is_reg_next(cur) {
            return plain(Instr::Callx(parse_reg(cur)?));
        }
        let save = cur.pos();
        if let Some((w, _)) = cur.ident() {
            match w {
                "local" => {
                    let t = parse_target(cur)?;
                    return Ok(LineItem::Instr(Instr::CallLocal(0), Some(t)));
                }
                "runtime" => return plain(Instr::CallKfunc(cur.imm32()?)),
                "helper" => return plain(Instr::CallHelper(cur.imm32()?)),
                _ => {
                    cur.set_pos(save);
                    return Err(cur.error(format!(
                        "unknown call kind '{w}' (expected a number, %rN, local, runtime)"
                    )));
                }
            }
        }
        return plain(Instr::CallHelper(cur.imm32()?));
    }
    if m == "lddw" {
        let dst = parse_reg(cur)?;
        comma(cur)?;
        cur.skip_ws();
        let save = cur.pos();
        if let Some((w, _)) = cur.ident() {
            let kind = match w {
                "map_fd" => Imm64Kind::MapFd,
                "map_value" => Imm64Kind::MapValue,
                "map_idx" => Imm64Kind::MapIdx,
                "map_idx_value" => Imm64Kind::MapIdxValue,
                "btf_id" => Imm64Kind::BtfId,
                "func" => Imm64Kind::Func,
                _ => {
                    cur.set_pos(save);
                    return Err(cur.error(format!("unknown lddw kind '{w}'")));
                }
            };
            if kind == Imm64Kind::Func {
                let t = parse_target(cur)?;
                return Ok(LineItem::Instr(
                    Instr::LdImm64 {
                        dst,
                        kind,
                        imm: 0,
                        imm2: 0,
                    },
                    Some(t),
                ));
            }
            let imm = cur.imm32()?;
            let mut imm2 = 0;
            if matches!(kind, Imm64Kind::MapValue | Imm64Kind::MapIdxValue)
                || (kind == Imm64Kind::BtfId && cur.eat(","))
            {
                if kind != Imm64Kind::BtfId {
                    comma(cur)?;
                }
                imm2 = cur.imm32()?;
            }
            return plain(Instr::LdImm64 { dst, kind, imm, imm2 });
        }
        let v = cur.imm64()?;
        return plain(Instr::LdImm64 {
            dst,
            kind: Imm64Kind::Imm,
            imm: v as u32 as i32,
            imm2: (v >> 32) as u32 as i32,
        });
    }
    if m == "lock" {
        let mut fetch = false;
        let mut word = cur.ident().map(|(w, _)| w).unwrap_or("");
        if word == "fetch" {
            fetch = true;
            word = cur.ident().map(|(w, _)| w).unwrap_or("");
        }
        let (name, size) = match word.strip_suffix("32") {
            Some(n) => (n, Size::W),
            None => (word, Size::DW),
        };
        let op = match name {
            "add" => AtomicOp::Add,
            "and" => AtomicOp::And,
            "or" => AtomicOp::Or,
            "xor" => AtomicOp::Xor,
            "xchg" if !fetch => AtomicOp::Xchg,
            "cmpxchg" if !fetch => AtomicOp::Cmpxchg,
            _ => return Err(cur.error_at(start, format!("Invalid lock operation: {word}"))),
        };
        let fetch = fetch || matches!(op, AtomicOp::Xchg | AtomicOp::Cmpxchg);
        let (dst, off) = parse_mem(cur)?;
        comma(cur)?;
        let src = parse_reg(cur)?;
        return plain(Instr::Atomic {
            size,
            op,
            fetch,
            dst,
            src,
            off,
        });
    }
    if let Some(rest) = m.strip_prefix("ldabs") {
        let size = size_of_suffix(rest).filter(|s| *s != Size::DW);
        if let Some(size) = size {
            return plain(Instr::LdAbs {
                size,
                imm: cur.imm32()?,
            });
        }
    }
    if let Some(rest) = m.strip_prefix("ldind") {
        if let Some(size) = size_of_suffix(rest).filter(|s| *s != Size::DW) {
            let src = parse_reg(cur)?;
            comma(cur)?;
            return plain(Instr::LdInd {
                size,
                src,
                imm: cur.imm32()?,
            });
        }
    }
    if let Some(rest) = m.strip_prefix("ldx") {
        let (sx, s) = match rest.strip_prefix('s') {
            Some(s) if size_of_suffix(s).is_some_and(|z| z != Size::DW) => (true, s),
            _ => (false, rest),
        };
        if let Some(size) = size_of_suffix(s) {
            let dst = parse_reg(cur)?;
            comma(cur)?;
            let (src, off) = parse_mem(cur)?;
            return plain(Instr::Ldx {
                size,
                sx,
                dst,
                src,
                off,
            });
        }
    }
    if let Some(rest) = m.strip_prefix("stx") {
        if let Some(size) = size_of_suffix(rest) {
            let (dst, off) = parse_mem(cur)?;
            comma(cur)?;
            let src = parse_reg(cur)?;
            return plain(Instr::Stx { size, dst, src, off });
        }
    }
    if let Some(rest) = m.strip_prefix("st") {
        if let Some(size) = size_of_suffix(rest) {
            let (dst, off) = parse_mem(cur)?;
            comma(cur)?;
            return plain(Instr::St {
                size,
                dst,
                off,
                imm: cur.imm32()?,
            });
        }
    }
    Err(cur.error_at(start, format!("Invalid mnemonic: {m}")))
}
