//! Text for verdicts: one line per capture, and the aligned listing of a difference.

use super::{BpfSlot, Difference, Row, Verdict, X86Insn};
use crate::asm::{format_instr, Syntax};
use crate::isa::{Insn, Instr};
use crate::kernel::link::flags::names;
use crate::tramp::listing::{AsmSyntax, X86Format};
use iced_x86::{Decoder, DecoderOptions};
use std::fmt::Write;

/// Rows shown before and after the first difference.
const CONTEXT: usize = 4;

/// The verdict after the capture's name: `ok (302 bytes, 2 programs, CALL_ORIG|SKIP_FRAME)`,
/// `DIFFERS at +0x3c: ...`, `skipped: ...`.
pub fn render_verdict(v: &Verdict) -> String {
    match v {
        Verdict::Ok(m) => {
            let unit = if m.bytes { "bytes" } else { "instructions" };
            let mut s = format!("ok ({} {unit}", m.compared);
            if let Some(f) = m.flags {
                let _ = write!(
                    s,
                    ", {} program{}, {}",
                    m.programs,
                    if m.programs == 1 { "" } else { "s" },
                    names(f)
                );
            }
            if m.jit_bytes > 0 {
                let _ = write!(s, "; their JIT images: {} bytes", m.jit_bytes);
            }
            s.push(')');
            s
        }
        Verdict::Differs(d) => format!("DIFFERS: {}", summary(d)),
        Verdict::Skipped(r) => format!("skipped: {r}"),
    }
}

fn summary(d: &Difference) -> String {
    match d {
        Difference::Image { rows, first, .. } => match rows.get(*first) {
            Some(Row { model, kernel }) => {
                let at = kernel.as_ref().or(model.as_ref()).map(|i| i.offset).unwrap_or(0);
                format!("first differing instruction at +{at:#05x}")
            }
            None => "the images differ".into(),
        },
        Difference::Program { rows, first } => match rows.get(*first) {
            Some(Row { model, kernel }) => {
                let at = kernel.as_ref().or(model.as_ref()).map(|s| s.index).unwrap_or(0);
                format!("first differing instruction at slot {at}")
            }
            None => "the programs differ".into(),
        },
        Difference::Refused { problems } => {
            let p: Vec<String> = problems.iter().map(ToString::to_string).collect();
            format!("the model refused what the kernel accepted: {}", p.join("; "))
        }
        Difference::Encode { errno, message } => format!("the model could not encode it: {errno}: {message}"),
        Difference::Size { model, kernel } => {
            format!("same bytes, but arch_bpf_trampoline_size() is {model} in the model and {kernel} (im->size) in the kernel")
        }
        Difference::Flags { model, kernel } => format!(
            "the model derived flags {} where the kernel used {}",
            names(*model),
            names(*kernel)
        ),
        Difference::Jit {
            program,
            func,
            rows,
            first,
            ..
        } => match rows.get(*first) {
            Some(Row { model, kernel }) => {
                let at = kernel.as_ref().or(model.as_ref()).map(|i| i.offset).unwrap_or(0);
                format!("{program}: JIT image of subprog {func}: first differing instruction at +{at:#05x}")
            }
            None => format!("{program}: the JIT images differ"),
        },
        Difference::JitRefused { program, error } => {
            format!("{program}: the model's JIT refused what the kernel compiled: {error}")
        }
        Difference::JitFuncs { program, model, kernel } => {
            format!("{program}: the model's JIT images have sizes {model:?}, the kernel's {kernel:?}")
        }
        Difference::HelperTarget { index, model, kernel } => format!(
            "slot {index}: the kernel calls {kernel}, the model resolves the helper to {}",
            model.as_deref().unwrap_or("no known function")
        ),
    }
}

/// The aligned listing of both sides around the first difference (model left, kernel right,
/// `≠` on rows that differ), or nothing for differences without a listing.
pub fn render_difference(d: &Difference) -> String {
    match d {
        Difference::Image { image, rows, first } => render_rows(
            rows,
            *first,
            &X86Text::new(*image),
            |r| matches!(r, Row { model: Some(a), kernel: Some(b) } if a.bytes == b.bytes),
        ),
        Difference::Jit { image, rows, first, .. } => render_rows(
            rows,
            *first,
            &X86Text::new(*image),
            |r| matches!(r, Row { model: Some(a), kernel: Some(b) } if a.bytes == b.bytes),
        ),
        Difference::Program { rows, first } => {
            let text = BpfText::new(rows);
            render_rows(
                rows,
                *first,
                &text,
                |r| matches!(r, Row { model: Some(a), kernel: Some(b) } if a.insn == b.insn),
            )
        }
        _ => String::new(),
    }
}

trait SideText<T> {
    fn text(&self, item: &T, model_side: bool) -> String;
}

fn render_rows<T>(rows: &[Row<T>], first: usize, text: &dyn SideText<T>, same: impl Fn(&Row<T>) -> bool) -> String {
    let lo = first.saturating_sub(CONTEXT);
    let hi = (first + CONTEXT + 1).min(rows.len());
    let cells: Vec<(String, String, bool)> = rows[lo..hi]
        .iter()
        .map(|r| {
            (
                r.model.as_ref().map(|m| text.text(m, true)).unwrap_or_default(),
                r.kernel.as_ref().map(|k| text.text(k, false)).unwrap_or_default(),
                same(r),
            )
        })
        .collect();
    let width = cells.iter().map(|c| c.0.chars().count()).max().unwrap_or(0).max(5);
    let mut out = format!("    {:<width$}   kernel\n", "model");
    for (m, k, same) in cells {
        let mark = if same { ' ' } else { '≠' };
        let _ = writeln!(out, "  {mark} {m:<width$} | {k}");
    }
    out
}

/// The image's address and one formatter for all its rows.
struct X86Text {
    image: u64,
    fmt: std::cell::RefCell<X86Format>,
}

impl X86Text {
    fn new(image: u64) -> Self {
        X86Text {
            image,
            fmt: std::cell::RefCell::new(X86Format::new()),
        }
    }
}

impl SideText<X86Insn> for X86Text {
    fn text(&self, i: &X86Insn, _: bool) -> String {
        let ip = self.image + i.offset as u64;
        let mut d = Decoder::with_ip(64, &i.bytes, ip, DecoderOptions::NONE);
        let ins = d.decode();
        let t = self.fmt.borrow_mut().text(&ins, AsmSyntax::Intel);
        let hex: String = i.bytes.iter().map(|b| format!("{b:02x}")).collect();
        format!("+{:#05x} {hex:<20} {t}", i.offset)
    }
}

/// Each side's whole program, so a 64-bit load decodes from both of its slots.
struct BpfText {
    model: Vec<Insn>,
    kernel: Vec<Insn>,
}

impl BpfText {
    fn new(rows: &[Row<BpfSlot>]) -> Self {
        let side = |f: fn(&Row<BpfSlot>) -> Option<BpfSlot>| rows.iter().filter_map(f).map(|s| s.insn).collect();
        BpfText {
            model: side(|r| r.model),
            kernel: side(|r| r.kernel),
        }
    }
}

impl SideText<BpfSlot> for BpfText {
    fn text(&self, s: &BpfSlot, model_side: bool) -> String {
        let prog = if model_side { &self.model } else { &self.kernel };
        let raw: String = s.insn.to_bytes().iter().map(|b| format!("{b:02x}")).collect();
        let second_half = s.index > 0
            && prog.get(s.index - 1).is_some_and(|p| {
                Instr::decode_internal(prog, s.index - 1).is_ok_and(|i| i.slots() == 2) && p.code != 0
            });
        let t = if second_half {
            "(ld_imm64 2nd half)".to_string()
        } else {
            match Instr::decode_internal(prog, s.index) {
                Ok(i) => format_instr(&i, Syntax::Kernel),
                Err(_) => "(invalid)".into(),
            }
        };
        format!("{:>3}: {raw} {t}", s.index)
    }
}
