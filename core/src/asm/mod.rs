//! Text syntaxes for BPF programs, each with an assembler and a disassembler:
//!
//! - [`Syntax::Kernel`]: the kernel's, as `bpftool prog dump xlated` prints it
//!   (`r0 = *(u64 *)(r1 -8)`, `if w2 >= w0 goto pc+6`, `call bpf_session_cookie`);
//! - [`Syntax::Conformance`]: the bpf_conformance suite's (`ldxdw %r0, [%r1-8]`).
//!
//! Both accept labels (`name:` on its own line or before an instruction), comments and report
//! errors with line and column. `assemble(disassemble(p)) == p` holds for every valid program.

mod conformance;
mod cursor;
mod kernel;

use crate::isa::{decode_program_internal, encode_program, DecodeError, Imm64Kind, Insn, Instr};
pub use cursor::AsmError;
use cursor::Cursor;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// A text syntax. Serialised as `kernel` or `conformance`; read from any name its `FromStr`
/// accepts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Syntax {
    /// The kernel's verifier/bpftool syntax.
    Kernel,
    /// The bpf_conformance suite's syntax.
    Conformance,
}

impl Syntax {
    /// The name a scenario's `syntax` field gives it.
    pub const fn name(self) -> &'static str {
        match self {
            Syntax::Kernel => "kernel",
            Syntax::Conformance => "conformance",
        }
    }
}

impl std::fmt::Display for Syntax {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.pad(self.name())
    }
}

/// A BPF assembly syntax name that is neither `kernel` nor `conformance`.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("unknown syntax '{0}' (expected kernel or conformance)")]
pub struct UnknownSyntax(pub String);

impl std::str::FromStr for Syntax {
    type Err = UnknownSyntax;
    fn from_str(s: &str) -> Result<Self, UnknownSyntax> {
        match s {
            "kernel" | "xlated" | "bpftool" => Ok(Syntax::Kernel),
            "conformance" | "asm" => Ok(Syntax::Conformance),
            _ => Err(UnknownSyntax(s.to_string())),
        }
    }
}

impl<'de> Deserialize<'de> for Syntax {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// A jump, call or function reference whose offset is resolved after all labels are known.
#[derive(Clone, Debug)]
enum Target {
    /// Explicit relative offset.
    Rel(i64),
    /// A label name.
    Label(String),
}

/// One parsed instruction, possibly waiting for a label.
#[derive(Clone, Debug)]
struct Pending {
    instr: Instr,
    target: Option<(Target, usize)>,
    line: usize,
    /// For `rD = imm` in the kernel syntax: (dst, value as written), in case the next line says
    /// it was a 64-bit load.
    wide_value: Option<(u8, u64)>,
}

/// What a line parser returns.
enum LineItem {
    /// An instruction, possibly with a target to resolve.
    Instr(Instr, Option<(Target, usize)>),
    /// `rD = imm` (kernel syntax): a move, unless the next line is `(ld_imm64 2nd half)`, which
    /// makes it a 64-bit load of the value as written.
    MovImm(Instr, u8, u64),
    /// The kernel's line for the second slot of a 64-bit load.
    LddwSecondHalf,
}

/// Assembles program text in the given syntax into instruction slots.
pub fn assemble(text: &str, syntax: Syntax) -> Result<Vec<Insn>, AsmError> {
    assemble_instrs(text, syntax).map(|v| encode_program(&v))
}

/// Assembles program text into structured instructions.
pub fn assemble_instrs(text: &str, syntax: Syntax) -> Result<Vec<Instr>, AsmError> {
    assemble_instrs_at(text, syntax).map(|(v, _)| v)
}

/// [`assemble`], with the 1-based line of the text each instruction slot came from (both slots
/// of a `lddw` name its line).
pub fn assemble_with_lines(text: &str, syntax: Syntax) -> Result<(Vec<Insn>, Vec<usize>), AsmError> {
    let (instrs, lines) = assemble_instrs_at(text, syntax)?;
    let slot_lines = instrs
        .iter()
        .zip(&lines)
        .flat_map(|(i, l)| std::iter::repeat_n(*l, i.slots()))
        .collect();
    Ok((encode_program(&instrs), slot_lines))
}

/// The instructions and the line each came from.
fn assemble_instrs_at(text: &str, syntax: Syntax) -> Result<(Vec<Instr>, Vec<usize>), AsmError> {
    let mut labels: BTreeMap<String, usize> = BTreeMap::new();
    let mut pending: Vec<Pending> = Vec::new();
    let mut slot = 0usize;
    let mut first_exit: Option<usize> = None;
    for (lineno, raw) in text.lines().enumerate() {
        let line = lineno + 1;
        let code = strip_comment(raw, syntax);
        let mut cur = Cursor::new(code, line);
        // Labels: `name:` (possibly several, possibly followed by an instruction).
        loop {
            cur.skip_ws();
            let save = cur.pos();
            if let Some((name, col)) = cur.ident() {
                cur.skip_ws();
                if cur.eat(":") {
                    if labels.insert(name.to_string(), slot).is_some() {
                        return Err(AsmError::new(line, col, format!("label '{name}' defined twice")));
                    }
                    continue;
                }
            }
            cur.set_pos(save);
            break;
        }
        cur.skip_ws();
        if cur.at_end() {
            continue;
        }
        if syntax == Syntax::Kernel {
            kernel::skip_bpftool_prefix(&mut cur);
        }
        let item = match syntax {
            Syntax::Kernel => kernel::parse_line(&mut cur)?,
            Syntax::Conformance => conformance::parse_line(&mut cur)?,
        };
        cur.skip_ws();
        if !cur.at_end() {
            return Err(cur.error("unexpected text after instruction"));
        }
        let mut wide_value = None;
        let (instr, target) = match item {
            LineItem::Instr(i, t) => (i, t),
            LineItem::MovImm(i, dst, v) => {
                wide_value = Some((dst, v));
                (i, None)
            }
            LineItem::LddwSecondHalf => {
                match pending.last_mut() {
                    Some(Pending {
                        instr: Instr::LdImm64 { .. },
                        ..
                    }) => {}
                    Some(
                        p @ Pending {
                            wide_value: Some(_), ..
                        },
                    ) => {
                        let (dst, v) = p.wide_value.take().unwrap_or_default();
                        p.instr = Instr::LdImm64 {
                            dst,
                            kind: Imm64Kind::Imm,
                            imm: v as u32 as i32,
                            imm2: (v >> 32) as u32 as i32,
                        };
                        slot += 1;
                    }
                    _ => return Err(AsmError::new(line, 1, "(ld_imm64 2nd half) must follow a 64-bit load")),
                }
                continue;
            }
        };
        if instr == Instr::Exit && first_exit.is_none() {
            first_exit = Some(slot);
        }
        slot += instr.slots();
        pending.push(Pending {
            instr,
            target,
            line,
            wide_value,
        });
    }
    // The conformance syntax: the first `exit` implicitly defines label `exit`.
    if syntax == Syntax::Conformance {
        if let Some(e) = first_exit {
            labels.entry("exit".to_string()).or_insert(e);
        }
    }
    let mut out = Vec::with_capacity(pending.len());
    let mut lines = Vec::with_capacity(pending.len());
    let mut idx = 0usize;
    for p in pending {
        lines.push(p.line);
        let mut instr = p.instr;
        if let Some((target, col)) = p.target {
            let rel = match target {
                Target::Rel(r) => r,
                Target::Label(name) => match labels.get(&name) {
                    Some(&t) => t as i64 - (idx as i64 + 1),
                    None => return Err(AsmError::new(p.line, col, format!("undefined label '{name}'"))),
                },
            };
            set_rel(&mut instr, rel).map_err(|m| AsmError::new(p.line, col, m))?;
        }
        idx += instr.slots();
        out.push(instr);
    }
    Ok((out, lines))
}

fn set_rel(instr: &mut Instr, rel: i64) -> Result<(), String> {
    let off16 = || i16::try_from(rel).map_err(|_| format!("jump offset {rel} does not fit in 16 bits"));
    let imm32 = || i32::try_from(rel).map_err(|_| format!("offset {rel} does not fit in 32 bits"));
    match instr {
        Instr::Ja { off } | Instr::Jmp { off, .. } => *off = off16()?,
        Instr::Gotol { imm } | Instr::CallLocal(imm) => *imm = imm32()?,
        Instr::LdImm64 {
            kind: Imm64Kind::Func,
            imm,
            ..
        } => *imm = imm32()?,
        _ => return Err("instruction takes no target".into()),
    }
    Ok(())
}

fn strip_comment(line: &str, syntax: Syntax) -> &str {
    let mut end = line.len();
    if let Some(p) = line.find("//") {
        end = end.min(p);
    }
    if let Some(p) = line.find(';') {
        end = end.min(p);
    }
    if syntax == Syntax::Conformance {
        if let Some(p) = line.find('#') {
            end = end.min(p);
        }
    }
    &line[..end]
}

/// Formats one instruction in the given syntax.
pub fn format_instr(instr: &Instr, syntax: Syntax) -> String {
    match syntax {
        Syntax::Kernel => kernel::format(instr),
        Syntax::Conformance => conformance::format(instr),
    }
}

/// Disassembles a program, one instruction per line (a `lddw` is one line).
///
/// Fails with the index of the first invalid instruction. r11 (`BPF_REG_AX`) is shown, since
/// programs after kernel fixups may use it; [`crate::isa::decode`] rejects it in user programs.
pub fn disassemble(insns: &[Insn], syntax: Syntax) -> Result<String, DecodeError> {
    let mut out = String::new();
    for (_, instr) in decode_program_internal(insns)? {
        out.push_str(&format_instr(&instr, syntax));
        out.push('\n');
    }
    Ok(out)
}

/// Disassembles with the slot index in front of each line, as the kernel prints it
/// (`3: (79) r0 = *(u64 *)(r1 -8)`, a 64-bit load as `r1 = 0x...` followed by
/// `4: (00) (ld_imm64 2nd half)`); the assemblers accept this form too.
pub fn disassemble_numbered(insns: &[Insn], syntax: Syntax) -> Result<String, DecodeError> {
    let mut out = String::new();
    for (idx, instr) in decode_program_internal(insns)? {
        let text = format_instr(&instr, syntax);
        match syntax {
            Syntax::Kernel => {
                let text = text.strip_suffix(" ll").unwrap_or(&text);
                out.push_str(&format!("{idx}: ({:02x}) {text}\n", insns[idx].code));
                if instr.slots() == 2 {
                    out.push_str(&format!("{}: (00) (ld_imm64 2nd half)\n", idx + 1));
                }
            }
            Syntax::Conformance => out.push_str(&format!("{text:<40} # {idx}\n")),
        }
    }
    Ok(out)
}
