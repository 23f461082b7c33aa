//! The kernel's text syntax, as the verifier log and `bpftool prog dump xlated` print it
//! (`kernel/bpf/disasm.c` conventions): `r0 = *(u64 *)(r1 -8)`, `w0 += 5`,
//! `if w2 >= w0 goto pc+6`, `lock *(u64 *)(r1 +0) += r2`, `call bpf_session_cookie`.
//!
//! Forms the kernel prints through callbacks are given a fixed spelling here (documented
//! choice): helpers `call bpf_get_func_ip#173` (unknown ids `call unknown#N`), known kfuncs by
//! name (`call bpf_session_cookie`, unknown `call kfunc#ID`), local calls `call pc+N`, 64-bit
//! constants `r1 = 0x... ll`, pseudo loads `r1 = map[fd:3]`, `r1 = map[fd:3][0]+16`,
//! `r1 = map[idx:0]`, `r1 = map[idx:0][0]+8`, `r1 = btf_id[7]` (`btf_id[7][fd:2]` for a module
//! BTF), `r1 = func pc+5`, packet loads `r0 = *(u8 *)skb[14]`, `r0 = *(u16 *)skb[r3 + 2]`.

use super::cursor::{AsmError, Cursor};
use super::{LineItem, Target};
use crate::isa::names::{helper_id, helper_name, kfunc_id, kfunc_name};
use crate::isa::{AluOp, AtomicOp, EndKind, Imm64Kind, Instr, JmpCond, Operand, Size};

fn reg(wide: bool, r: u8) -> String {
    format!("{}{}", if wide { 'r' } else { 'w' }, r)
}

fn usize_name(size: Size, signed: bool) -> &'static str {
    match (size, signed) {
        (Size::B, false) => "u8",
        (Size::H, false) => "u16",
        (Size::W, false) => "u32",
        (Size::DW, false) => "u64",
        (Size::B, true) => "s8",
        (Size::H, true) => "s16",
        (Size::W, true) => "s32",
        (Size::DW, true) => "s64",
    }
}

fn alu_str(op: AluOp) -> &'static str {
    ALU_OPS.iter().find(|(_, o)| *o == op).map(|(s, _)| *s).unwrap_or("=")
}

/// Compound assignment operators, longest first so that prefixes do not match early.
const ALU_OPS: [(&str, AluOp); 13] = [
    ("s>>=", AluOp::Arsh),
    ("s/=", AluOp::SDiv),
    ("s%=", AluOp::SMod),
    ("<<=", AluOp::Lsh),
    (">>=", AluOp::Rsh),
    ("+=", AluOp::Add),
    ("-=", AluOp::Sub),
    ("*=", AluOp::Mul),
    ("/=", AluOp::Div),
    ("|=", AluOp::Or),
    ("&=", AluOp::And),
    ("%=", AluOp::Mod),
    ("^=", AluOp::Xor),
];

fn jmp_str(c: JmpCond) -> &'static str {
    JMP_OPS.iter().find(|(_, x)| *x == c).map(|(s, _)| *s).unwrap_or("?")
}

/// Comparison operators, longest first.
const JMP_OPS: [(&str, JmpCond); 11] = [
    ("s>=", JmpCond::Sge),
    ("s<=", JmpCond::Sle),
    ("s>", JmpCond::Sgt),
    ("s<", JmpCond::Slt),
    ("==", JmpCond::Eq),
    ("!=", JmpCond::Ne),
    (">=", JmpCond::Ge),
    ("<=", JmpCond::Le),
    (">", JmpCond::Gt),
    ("<", JmpCond::Lt),
    ("&", JmpCond::Set),
];

fn atomic_op_str(op: AtomicOp) -> &'static str {
    match op {
        AtomicOp::Add => "+=",
        AtomicOp::And => "&=",
        AtomicOp::Or => "|=",
        _ => "^=",
    }
}

fn mem(base: u8, off: i16) -> String {
    format!("(r{base} {off:+})")
}

/// Formats one instruction.
pub(crate) fn format(i: &Instr) -> String {
    match *i {
        Instr::Alu { wide, op, dst, src } => {
            let d = reg(wide, dst);
            match (op, src) {
                (AluOp::Neg, _) => format!("{d} = -{d}"),
                (AluOp::MovSx(s), Operand::Reg(r)) => format!("{d} = (s{}){}", s.bits(), reg(wide, r)),
                (_, Operand::Reg(r)) => format!("{d} {} {}", alu_str(op), reg(wide, r)),
                (_, Operand::Imm(imm)) => format!("{d} {} {imm}", alu_str(op)),
            }
        }
        Instr::End { kind, bits, dst } => {
            let k = match kind {
                EndKind::Le => "le",
                EndKind::Be => "be",
                EndKind::Swap => "bswap",
            };
            format!("r{dst} = {k}{bits} r{dst}")
        }
        Instr::Ja { off } => format!("goto pc{off:+}"),
        Instr::Gotol { imm } => format!("gotol pc{imm:+}"),
        Instr::Jmp {
            wide,
            cond,
            dst,
            src,
            off,
        } => {
            let s = match src {
                Operand::Reg(r) => reg(wide, r),
                // As the kernel prints it: signed conditions show a signed hex immediate.
                Operand::Imm(imm) if matches!(cond, JmpCond::Sgt | JmpCond::Sge | JmpCond::Slt | JmpCond::Sle) => {
                    if imm < 0 {
                        format!("-{:#x}", (imm as i64).unsigned_abs())
                    } else {
                        format!("{imm:#x}")
                    }
                }
                Operand::Imm(imm) => format!("{:#x}", imm as u32),
            };
            format!("if {} {} {s} goto pc{off:+}", reg(wide, dst), jmp_str(cond))
        }
        Instr::CallHelper(id) => match helper_name(id) {
            Some(n) => format!("call {}#{id}", n.strip_prefix("bpf_").unwrap_or(n)),
            None => format!("call #{id}"),
        },
        Instr::CallLocal(imm) => format!("call pc{imm:+}"),
        Instr::CallKfunc(id) => match kfunc_name(id) {
            Some(n) => format!("call {n}"),
            None => format!("call kfunc#{id}"),
        },
        Instr::Callx(r) => format!("callx r{r}"),
        Instr::Exit => "exit".to_string(),
        Instr::LdImm64 { dst, kind, imm, imm2 } => {
            let v = match kind {
                Imm64Kind::Imm => {
                    // The kernel prints the value in hex and the second slot on its own line.
                    // On one line, a value a 32-bit `mov` could also produce gets ` ll` so the
                    // text stays unambiguous.
                    let v = Instr::imm64(imm, imm2);
                    if v == v as i32 as i64 as u64 {
                        format!("{v:#x} ll")
                    } else {
                        format!("{v:#x}")
                    }
                }
                Imm64Kind::MapFd => format!("map[id:{imm}]"),
                Imm64Kind::MapValue => format!("map[id:{imm}][0]{imm2:+}"),
                Imm64Kind::MapIdx => format!("map[idx:{imm}]"),
                Imm64Kind::MapIdxValue => format!("map[idx:{imm}][0]{imm2:+}"),
                Imm64Kind::BtfId if imm2 == 0 => format!("btf_id[{imm}]"),
                Imm64Kind::BtfId => format!("btf_id[{imm}][fd:{imm2}]"),
                Imm64Kind::Func => format!("func pc{imm:+}"),
            };
            format!("r{dst} = {v}")
        }
        Instr::Ldx {
            size,
            sx,
            dst,
            src,
            off,
        } => format!("r{dst} = *({} *){}", usize_name(size, sx), mem(src, off)),
        Instr::St { size, dst, off, imm } => {
            format!("*({} *){} = {imm}", usize_name(size, false), mem(dst, off))
        }
        Instr::Stx { size, dst, src, off } => {
            format!("*({} *){} = r{src}", usize_name(size, false), mem(dst, off))
        }
        Instr::Atomic {
            size,
            op,
            fetch,
            dst,
            src,
            off,
        } => {
            let m = format!("*({} *){}", usize_name(size, false), mem(dst, off));
            match op {
                AtomicOp::Xchg => format!("lock {m} xchg r{src}"),
                AtomicOp::Cmpxchg => format!("r0 = cmpxchg({m}, r0, r{src})"),
                _ => format!(
                    "lock {m} {} r{src}{}",
                    atomic_op_str(op),
                    if fetch { " fetch" } else { "" }
                ),
            }
        }
        Instr::LdAbs { size, imm } => format!("r0 = *({} *)skb[{imm}]", usize_name(size, false)),
        Instr::LdInd { size, src, imm } => {
            format!("r0 = *({} *)skb[r{src} + {imm}]", usize_name(size, false))
        }
    }
}

/// Skips bpftool's `12: (79) ` prefix if present.
pub(crate) fn skip_bpftool_prefix(cur: &mut Cursor) {
    let save = cur.pos();
    let r = cur.rest();
    let digits = r.chars().take_while(|c| c.is_ascii_digit()).count();
    if digits > 0 && r[digits..].starts_with(':') {
        cur.set_pos(save + digits + 1);
        cur.skip_ws();
        let r2 = cur.rest();
        let b = r2.as_bytes();
        if b.len() >= 4 && b[0] == b'(' && b[3] == b')' && b[1].is_ascii_hexdigit() && b[2].is_ascii_hexdigit() {
            cur.set_pos(cur.pos() + 4);
        }
        return;
    }
    cur.set_pos(save);
}

/// Parses a register `rN` / `wN`; returns (wide, number).
fn parse_reg(cur: &mut Cursor) -> Result<(bool, u8), AsmError> {
    cur.skip_ws();
    let start = cur.pos();
    let Some((word, _)) = cur.ident() else {
        return Err(cur.error("expected a register"));
    };
    reg_of(word).ok_or_else(|| {
        cur.set_pos(start);
        cur.error(format!("invalid register: {word}"))
    })
}

fn reg_of(word: &str) -> Option<(bool, u8)> {
    let wide = match word.as_bytes().first()? {
        b'r' => true,
        b'w' => false,
        _ => return None,
    };
    let n: u8 = word[1..].parse().ok()?;
    // r11 is BPF_REG_AX: valid in listings of programs after kernel fixups only (the decoder
    // used for user programs rejects it).
    if n > 11 || word.len() > 3 || (word.len() == 3 && word.as_bytes()[1] == b'0') {
        return None;
    }
    Some((wide, n))
}

fn peek_reg(cur: &mut Cursor) -> bool {
    let save = cur.pos();
    let ok = cur.ident().is_some_and(|(w, _)| reg_of(w).is_some());
    cur.set_pos(save);
    ok
}

/// `(u64 *)` → size, signed.
fn parse_size_cast(cur: &mut Cursor) -> Result<(Size, bool), AsmError> {
    cur.expect("(")?;
    cur.skip_ws();
    let start = cur.pos();
    let (word, _) = cur.ident().ok_or_else(|| cur.error("expected a size such as u64"))?;
    let (signed, bits) = match word.split_at(1) {
        ("u", b) => (false, b),
        ("s", b) => (true, b),
        _ => return Err(cur.error_at(start, format!("invalid size: {word}"))),
    };
    let size = bits
        .parse::<u32>()
        .ok()
        .and_then(Size::from_bits)
        .ok_or_else(|| cur.error_at(start, format!("invalid size: {word}")))?;
    cur.expect("*")?;
    cur.expect(")")?;
    Ok((size, signed))
}

/// `(r1 -8)`, `(r1 + 8)`, `(r1)`.
fn parse_mem(cur: &mut Cursor) -> Result<(u8, i16), AsmError> {
    cur.expect("(")?;
    let (wide, base) = parse_reg(cur)?;
    if !wide {
        return Err(cur.error("memory base must be a 64-bit register (rN)"));
    }
    cur.skip_ws();
    let off = if cur.peek() == Some(')') {
        0
    } else {
        parse_signed_off(cur)?
    };
    cur.expect(")")?;
    Ok((base, off))
}

fn parse_signed_off(cur: &mut Cursor) -> Result<i16, AsmError> {
    cur.skip_ws();
    let start = cur.pos();
    let neg = if cur.eat("+") {
        false
    } else if cur.eat("-") {
        true
    } else {
        return Err(cur.error("expected '+' or '-' offset"));
    };
    cur.skip_ws();
    let v = cur.int()?;
    let v = if neg { -v } else { v };
    i16::try_from(v).map_err(|_| cur.error_at(start, format!("offset out of 16-bit range: {v}")))
}

/// `pc+N`, `pc-N` or a label.
fn parse_target(cur: &mut Cursor) -> Result<(Target, usize), AsmError> {
    cur.skip_ws();
    let col = cur.col();
    let save = cur.pos();
    if let Some((word, _)) = cur.ident() {
        if word == "pc" {
            cur.skip_ws();
            if matches!(cur.peek(), Some('+') | Some('-')) {
                let v = cur.int()?;
                return Ok((Target::Rel(v as i64), col));
            }
            cur.set_pos(save);
            cur.ident();
        }
        return Ok((Target::Label(word.to_string()), col));
    }
    if matches!(cur.peek(), Some('+') | Some('-')) {
        let v = cur.int()?;
        return Ok((Target::Rel(v as i64), col));
    }
    Err(cur.error("expected a jump target (pc+N or a label)"))
}

/// A register of the given width or an immediate; a word that is not a register is an error
/// about the register, not about a missing number.
fn parse_operand(cur: &mut Cursor, wide: bool) -> Result<Operand, AsmError> {
    cur.skip_ws();
    if cur.peek().is_some_and(|c| c.is_ascii_alphabetic()) {
        let p = cur.pos();
        let (w2, r) = parse_reg(cur)?;
        check_same_width(cur, p, wide, w2)?;
        return Ok(Operand::Reg(r));
    }
    Ok(Operand::Imm(cur.imm32()?))
}

fn check_same_width(cur: &Cursor, pos: usize, a: bool, b: bool) -> Result<(), AsmError> {
    if a != b {
        Err(cur.error_at(pos, "mixed register widths: use rN with rN or wN with wN"))
    } else {
        Ok(())
    }
}

/// Parses one instruction.
pub(crate) fn parse_line(cur: &mut Cursor) -> Result<LineItem, AsmError> {
    cur.skip_ws();
    let start = cur.pos();
    if cur.eat("(ld_imm64 2nd half)") {
        return Ok(LineItem::LddwSecondHalf);
    }
    if cur.eat("*") {
        // Store: *(u32 *)(r10 -8) = r1 | imm
        let (size, signed) = parse_size_cast(cur)?;
        if signed {
            return Err(cur.error_at(start, "stores take an unsigned size (u8, u16, u32, u64)"));
        }
        let (dst, off) = parse_mem(cur)?;
        cur.expect("=")?;
        cur.skip_ws();
        if peek_reg(cur) {
            let p = cur.pos();
            let (w, src) = parse_reg(cur)?;
            check_same_width(cur, p, true, w)?;
            return Ok(LineItem::Instr(Instr::Stx { size, dst, src, off }, None));
        }
        let imm = cur.imm32()?;
        return Ok(LineItem::Instr(Instr::St { size, dst, off, imm }, None));
    }
    let Some((word, _)) = cur.ident() else {
        return Err(cur.error("expected an instruction"));
    };
    match word {
        "exit" => Ok(LineItem::Instr(Instr::Exit, None)),
        "goto" | "gotol" => {
            let t = parse_target(cur)?;
            let i = if word == "goto" {
                Instr::Ja { off: 0 }
            } else {
                Instr::Gotol { imm: 0 }
            };
            Ok(LineItem::Instr(i, Some(t)))
        }
        "callx" => {
            let (_, r) = parse_reg(cur)?;
            Ok(LineItem::Instr(Instr::Callx(r), None))
        }
        "call" => parse_call(cur),
        "if" => {
            let p = cur.pos();
            let (wide, dst) = parse_reg(cur)?;
            cur.skip_ws();
            let cond = JMP_OPS
                .iter()
                .find(|(s, _)| cur.eat(s))
                .map(|(_, c)| *c)
                .ok_or_else(|| cur.error("expected a comparison operator"))?;
            cur.skip_ws();
            let src = parse_operand(cur, wide)?;
            let _ = p;
            cur.skip_ws();
            let (g, _) = cur.ident().ok_or_else(|| cur.error("expected 'goto'"))?;
            if g != "goto" {
                return Err(cur.error("expected 'goto'"));
            }
            let t = parse_target(cur)?;
            Ok(LineItem::Instr(
                Instr::Jmp {
                    wide,
                    cond,
                    dst,
                    src,
                    off: 0,
                },
                Some(t),
            ))
        }
        "lock" => {
            cur.expect("*")?;
            let (size, signed) = parse_size_cast(cur)?;
            if signed || !matches!(size, Size::W | Size::DW) {
                return Err(cur.error_at(start, "atomic operations take u32 or u64"));
            }
            let (dst, off) = parse_mem(cur)?;
            cur.skip_ws();
            let save = cur.pos();
            if cur.ident().is_some_and(|(w, _)| w == "xchg") {
                let (_, src) = parse_reg(cur)?;
                let i = Instr::Atomic {
                    size,
                    op: AtomicOp::Xchg,
                    fetch: true,
                    dst,
                    src,
                    off,
                };
                return Ok(LineItem::Instr(i, None));
            }
            cur.set_pos(save);
            let op = [
                ("+=", AtomicOp::Add),
                ("&=", AtomicOp::And),
                ("|=", AtomicOp::Or),
                ("^=", AtomicOp::Xor),
            ]
            .iter()
            .find(|(s, _)| cur.eat(s))
            .map(|(_, o)| *o)
            .ok_or_else(|| cur.error("expected +=, &=, |=, ^= or xchg"))?;
            let (_, src) = parse_reg(cur)?;
            let save = cur.pos();
            let fetch = cur.ident().is_some_and(|(w, _)| w == "fetch");
            if !fetch {
                cur.set_pos(save);
            }
            Ok(LineItem::Instr(
                Instr::Atomic {
                    size,
                    op,
                    fetch,
                    dst,
                    src,
                    off,
                },
                None,
            ))
        }
        _ => {
            let Some((wide, dst)) = reg_of(word) else {
                return Err(cur.error_at(start, format!("unknown instruction: {word}")));
            };
            parse_reg_stmt(cur, start, wide, dst)
        }
    }
}

fn parse_call(cur: &mut Cursor) -> Result<LineItem, AsmError> {
    cur.skip_ws();
    let col = cur.col();
    if cur.peek().is_some_and(|c| c.is_ascii_digit() || c == '-') {
        let id = cur.imm32()?;
        return Ok(LineItem::Instr(Instr::CallHelper(id), None));
    }
    if cur.eat("#") {
        let id = cur.imm32()?;
        return Ok(LineItem::Instr(Instr::CallHelper(id), None));
    }
    let save = cur.pos();
    let (name, _) = cur.ident().ok_or_else(|| cur.error("expected a call target"))?;
    if name == "pc" {
        cur.set_pos(save);
        let t = parse_target(cur)?;
        return Ok(LineItem::Instr(Instr::CallLocal(0), Some(t)));
    }
    if cur.eat("#") {
        let p = cur.pos();
        let id = cur.imm32()?;
        return match name {
            "unknown" | "helper" => Ok(LineItem::Instr(Instr::CallHelper(id), None)),
            "kfunc" => Ok(LineItem::Instr(Instr::CallKfunc(id), None)),
            _ => match helper_id_any(name) {
                Some(h) if h == id => Ok(LineItem::Instr(Instr::CallHelper(id), None)),
                Some(h) => Err(cur.error_at(p, format!("helper {name} has id {h}, not {id}"))),
                None => Err(AsmError::new(cur_line(cur), col, format!("unknown helper: {name}"))),
            },
        };
    }
    if let Some(id) = helper_id_any(name) {
        return Ok(LineItem::Instr(Instr::CallHelper(id), None));
    }
    if let Some(id) = kfunc_id(name) {
        return Ok(LineItem::Instr(Instr::CallKfunc(id), None));
    }
    // Anything else is a bpf-to-bpf call to a label (checked when labels are resolved).
    Ok(LineItem::Instr(
        Instr::CallLocal(0),
        Some((Target::Label(name.to_string()), col)),
    ))
}

/// A helper id by name, with or without the `bpf_` prefix (the kernel prints it without).
fn helper_id_any(name: &str) -> Option<i32> {
    helper_id(name).or_else(|| helper_id(&format!("bpf_{name}")))
}

fn cur_line(cur: &Cursor) -> usize {
    cur.error("").line
}

fn parse_reg_stmt(cur: &mut Cursor, start: usize, wide: bool, dst: u8) -> Result<LineItem, AsmError> {
    cur.skip_ws();
    let alu = |op, src| LineItem::Instr(Instr::Alu { wide, op, dst, src }, None);
    if let Some((_, op)) = ALU_OPS.iter().find(|(s, _)| cur.eat(s)) {
        return Ok(alu(*op, parse_operand(cur, wide)?));
    }
    cur.expect("=")?;
    cur.skip_ws();
    let rhs = cur.pos();
    // r0 = -r0 (negation) vs r0 = -5 (move)
    if cur.eat("-") {
        if peek_reg(cur) {
            let p = cur.pos();
            let (w2, r) = parse_reg(cur)?;
            check_same_width(cur, p, wide, w2)?;
            if r != dst {
                return Err(cur.error_at(p, "negation must use the destination register (rN = -rN)"));
            }
            return Ok(alu(AluOp::Neg, Operand::Imm(0)));
        }
        cur.set_pos(rhs);
    }
    if cur.rest().starts_with("*(") {
        cur.expect("*")?;
        let (size, signed) = parse_size_cast(cur)?;
        if !wide {
            return Err(cur.error_at(start, "loads write a 64-bit register (rN)"));
        }
        if cur.eat("skb") {
            if dst != 0 || signed || size == Size::DW {
                return Err(cur.error_at(start, "packet loads are r0 = *(u8|u16|u32 *)skb[...]"));
            }
            cur.expect("[")?;
            cur.skip_ws();
            let instr = if peek_reg(cur) {
                let (_, src) = parse_reg(cur)?;
                cur.skip_ws();
                let imm = if cur.peek() == Some(']') {
                    0
                } else {
                    let neg = !cur.eat("+") && cur.eat("-");
                    let v = cur.imm32()?;
                    if neg {
                        v.wrapping_neg()
                    } else {
                        v
                    }
                };
                Instr::LdInd { size, src, imm }
            } else {
                Instr::LdAbs {
                    size,
                    imm: cur.imm32()?,
                }
            };
            cur.expect("]")?;
            return Ok(LineItem::Instr(instr, None));
        }
        let (src, off) = parse_mem(cur)?;
        if signed && size == Size::DW {
            return Err(cur.error_at(start, "no sign-extending 64-bit load (use u64)"));
        }
        return Ok(LineItem::Instr(
            Instr::Ldx {
                size,
                sx: signed,
                dst,
                src,
                off,
            },
            None,
        ));
    }
    // movsx: r0 = (s8)r1
    if cur.rest().starts_with("(s") {
        cur.expect("(")?;
        let p = cur.pos();
        let (w, _) = cur.ident().ok_or_else(|| cur.error("expected s8, s16 or s32"))?;
        let size = w
            .strip_prefix('s')
            .and_then(|b| b.parse::<u32>().ok())
            .and_then(Size::from_bits)
            .filter(|s| *s != Size::DW && (wide || *s != Size::W))
            .ok_or_else(|| cur.error_at(p, format!("invalid sign-extension width: {w}")))?;
        cur.expect(")")?;
        let q = cur.pos();
        let (w2, r) = parse_reg(cur)?;
        check_same_width(cur, q, wide, w2)?;
        return Ok(alu(AluOp::MovSx(size), Operand::Reg(r)));
    }
    if peek_reg(cur) {
        let p = cur.pos();
        let (w2, r) = parse_reg(cur)?;
        check_same_width(cur, p, wide, w2)?;
        return Ok(alu(AluOp::Mov, Operand::Reg(r)));
    }
    if let Some(c) = cur.peek() {
        if c.is_ascii_alphabetic() {
            let p = cur.pos();
            let (word, _) = cur.ident().unwrap_or(("", 0));
            return parse_named_rhs(cur, start, p, word, wide, dst);
        }
    }
    // Immediate: `r0 = 5` (mov) or `r0 = 0x... ll` (lddw).
    let p = cur.pos();
    let v = cur.int()?;
    let save = cur.pos();
    if cur.ident().is_some_and(|(w, _)| w == "ll") {
        if !wide {
            return Err(cur.error_at(start, "a 64-bit immediate load writes rN"));
        }
        if v < i64::MIN as i128 || v > u64::MAX as i128 {
            return Err(cur.error_at(p, format!("immediate out of 64-bit range: {v}")));
        }
        let v = v as u64;
        return Ok(LineItem::Instr(
            Instr::LdImm64 {
                dst,
                kind: Imm64Kind::Imm,
                imm: v as u32 as i32,
                imm2: (v >> 32) as u32 as i32,
            },
            None,
        ));
    }
    cur.set_pos(save);
    // A 64-bit move sign-extends its 32-bit immediate: a value it cannot produce (such as
    // 0xffffffff) is a 64-bit immediate load, which the kernel prints this way (no `ll`).
    let movable = |u: u64| u == u as i32 as i64 as u64;
    if wide && v >= i64::MIN as i128 && v <= u64::MAX as i128 && !movable(v as u64) {
        let v = v as u64;
        let i = Instr::LdImm64 {
            dst,
            kind: Imm64Kind::Imm,
            imm: v as u32 as i32,
            imm2: (v >> 32) as u32 as i32,
        };
        return Ok(LineItem::Instr(i, None));
    }
    let imm = super::cursor::to_imm32(v).ok_or_else(|| {
        cur.error_at(
            p,
            format!("immediate out of 32-bit range: {v} (use 'll' for a 64-bit load)"),
        )
    })?;
    if wide {
        // A following `(ld_imm64 2nd half)` line turns this into a 64-bit load of `v`.
        return Ok(LineItem::MovImm(alu_instr(wide, dst, imm), dst, imm as i64 as u64));
    }
    Ok(alu(AluOp::Mov, Operand::Imm(imm)))
}

fn alu_instr(wide: bool, dst: u8, imm: i32) -> Instr {
    Instr::Alu {
        wide,
        op: AluOp::Mov,
        dst,
        src: Operand::Imm(imm),
    }
}

fn parse_named_rhs(
    cur: &mut Cursor,
    start: usize,
    p: usize,
    word: &str,
    wide: bool,
    dst: u8,
) -> Result<LineItem, AsmError> {
    // Byte order: le16 r0 / be32 r0 / bswap64 r0
    for (prefix, kind) in [("bswap", EndKind::Swap), ("le", EndKind::Le), ("be", EndKind::Be)] {
        if let Some(bits) = word.strip_prefix(prefix).and_then(|b| b.parse::<u8>().ok()) {
            if !matches!(bits, 16 | 32 | 64) {
                return Err(cur.error_at(p, format!("byte order width must be 16, 32 or 64, not {bits}")));
            }
            let q = cur.pos();
            let (_, r) = parse_reg(cur)?;
            if r != dst {
                return Err(cur.error_at(q, "byte order operations use the destination register"));
            }
            return Ok(LineItem::Instr(Instr::End { kind, bits, dst }, None));
        }
    }
    let ld = |kind, imm, imm2| LineItem::Instr(Instr::LdImm64 { dst, kind, imm, imm2 }, None);
    if !wide && matches!(word, "map" | "btf_id" | "func") {
        return Err(cur.error_at(start, "a 64-bit immediate load writes rN"));
    }
    match word {
        "map" => {
            cur.expect("[")?;
            let (k, _) = cur.ident().ok_or_else(|| cur.error("expected fd: or idx:"))?;
            let by_idx = match k {
                "id" | "fd" => false,
                "idx" => true,
                _ => return Err(cur.error("expected id:, fd: or idx:")),
            };
            cur.expect(":")?;
            let imm = cur.imm32()?;
            cur.expect("]")?;
            if cur.eat("[") {
                cur.expect("0")?;
                cur.expect("]")?;
                cur.skip_ws();
                let q = cur.pos();
                let v = cur.int()?;
                let off = i32::try_from(v).map_err(|_| cur.error_at(q, "value offset out of 32-bit range"))?;
                let kind = if by_idx {
                    Imm64Kind::MapIdxValue
                } else {
                    Imm64Kind::MapValue
                };
                return Ok(ld(kind, imm, off));
            }
            Ok(ld(if by_idx { Imm64Kind::MapIdx } else { Imm64Kind::MapFd }, imm, 0))
        }
        "btf_id" => {
            cur.expect("[")?;
            let imm = cur.imm32()?;
            cur.expect("]")?;
            let mut imm2 = 0;
            if cur.eat("[") {
                cur.expect("fd")?;
                cur.expect(":")?;
                imm2 = cur.imm32()?;
                cur.expect("]")?;
            }
            Ok(ld(Imm64Kind::BtfId, imm, imm2))
        }
        "func" => {
            let t = parse_target(cur)?;
            Ok(LineItem::Instr(
                Instr::LdImm64 {
                    dst,
                    kind: Imm64Kind::Func,
                    imm: 0,
                    imm2: 0,
                },
                Some(t),
            ))
        }
        "cmpxchg" => {
            // r0 = cmpxchg(*(u64 *)(r1 +0), r0, r2)
            cur.expect("(")?;
            cur.expect("*")?;
            let q = cur.pos();
            let (size, signed) = parse_size_cast(cur)?;
            if signed || !matches!(size, Size::W | Size::DW) {
                return Err(cur.error_at(q, "cmpxchg takes u32 or u64"));
            }
            let (base, off) = parse_mem(cur)?;
            cur.expect(",")?;
            let q = cur.pos();
            let (_, r0) = parse_reg(cur)?;
            if r0 != 0 || dst != 0 {
                return Err(cur.error_at(q, "cmpxchg compares with and returns in r0: r0 = cmpxchg(p, r0, rS)"));
            }
            cur.expect(",")?;
            let (_, src) = parse_reg(cur)?;
            cur.expect(")")?;
            let i = Instr::Atomic {
                size,
                op: AtomicOp::Cmpxchg,
                fetch: true,
                dst: base,
                src,
                off,
            };
            Ok(LineItem::Instr(i, None))
        }
        _ if word.starts_with("atomic") => parse_atomic_call(cur, p, word, dst),
        _ => Err(cur.error_at(p, format!("cannot parse right-hand side starting with '{word}'"))),
    }
}

/// `r2 = atomic64_fetch_add((u64 *)(r1 +0), r2)`, `r0 = atomic_cmpxchg((u32 *)(r1 +0), r0, r2)`.
fn parse_atomic_call(cur: &mut Cursor, p: usize, word: &str, dst: u8) -> Result<LineItem, AsmError> {
    let (w64, rest) = match word.strip_prefix("atomic64_") {
        Some(r) => (true, r),
        None => (false, word.strip_prefix("atomic_").unwrap_or("")),
    };
    let (op, fetch) = match rest {
        "xchg" => (AtomicOp::Xchg, true),
        "cmpxchg" => (AtomicOp::Cmpxchg, true),
        "fetch_add" => (AtomicOp::Add, true),
        "fetch_and" => (AtomicOp::And, true),
        "fetch_or" => (AtomicOp::Or, true),
        "fetch_xor" => (AtomicOp::Xor, true),
        _ => return Err(cur.error_at(p, format!("unknown atomic operation: {word}"))),
    };
    cur.expect("(")?;
    let q = cur.pos();
    let (size, signed) = parse_size_cast(cur)?;
    let want = if w64 { Size::DW } else { Size::W };
    if signed || size != want {
        return Err(cur.error_at(q, format!("{word} takes ({} *)", if w64 { "u64" } else { "u32" })));
    }
    let (base, off) = parse_mem(cur)?;
    cur.expect(",")?;
    if op == AtomicOp::Cmpxchg {
        let q = cur.pos();
        let (_, r) = parse_reg(cur)?;
        if r != 0 || dst != 0 {
            return Err(cur.error_at(
                q,
                "cmpxchg compares with and returns in r0: r0 = atomic_cmpxchg(p, r0, rS)",
            ));
        }
        cur.expect(",")?;
    }
    let q = cur.pos();
    let (_, src) = parse_reg(cur)?;
    if op != AtomicOp::Cmpxchg && src != dst {
        return Err(cur.error_at(
            q,
            "the fetched value is returned in the source register: rS = atomic_...(p, rS)",
        ));
    }
    cur.expect(")")?;
    Ok(LineItem::Instr(
        Instr::Atomic {
            size,
            op,
            fetch,
            dst: base,
            src,
            off,
        },
        None,
    ))
}
