//! The annotated listing of an image, as `bpftool prog dump jited linum` shows it: each BPF
//! instruction followed by the x86 instructions it became, with the prologue, epilogue and
//! call sites named. Rows are typed; [`render_listing`] is the text renderer.

use super::{JitFunc, JitImage, Role};
use crate::asm::{format_instr, Syntax};
use crate::isa::{Insn, Instr};
use crate::tramp::listing::{AsmSyntax, X86Format};
use iced_x86::{Decoder, DecoderOptions};
use serde::Serialize;

/// One x86 instruction of a listing.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct JitRow {
    /// Subprogram index.
    pub func: usize,
    /// Offset in the subprogram's image.
    pub offset: usize,
    /// Its bytes.
    pub bytes: Vec<u8>,
    /// Its text (Intel syntax).
    pub text: String,
    /// The BPF slot it comes from (`None`: prologue).
    pub bpf: Option<usize>,
    /// What it does.
    pub role: Role,
}

/// The text of one x86 instruction at `addr`.
pub fn jit_text(bytes: &[u8], addr: u64, fmt: &mut X86Format) -> String {
    let mut dec = Decoder::with_ip(64, bytes, addr, DecoderOptions::NONE);
    let ins = dec.decode();
    fmt.text(&ins, AsmSyntax::Intel)
}

impl JitImage {
    /// All rows of every subprogram, in image order.
    pub fn rows(&self) -> Vec<JitRow> {
        let mut fmt = X86Format::new();
        self.funcs.iter().flat_map(|f| f.rows(&mut fmt)).collect()
    }
}

impl JitFunc {
    fn rows(&self, fmt: &mut X86Format) -> Vec<JitRow> {
        self.insns
            .iter()
            .map(|i| JitRow {
                func: self.index,
                offset: i.offset,
                text: jit_text(&i.bytes, self.addr + i.offset as u64, fmt),
                bytes: i.bytes.clone(),
                bpf: i.bpf,
                role: i.role,
            })
            .collect()
    }
}

/// A role's short name in the listing's comment column (`None` for plain translations).
pub fn role_note(role: Role) -> Option<String> {
    Some(match role {
        Role::Body => return None,
        Role::Endbr => "endbr (IBT)".into(),
        Role::PatchSite => "patch site (trampolines attach here)".into(),
        Role::TailCallInit => "tail-call counter init".into(),
        Role::Frame => "frame".into(),
        Role::TailCallLanding => "tail calls land here".into(),
        Role::StackAlloc => "BPF stack".into(),
        Role::TailCallCounter => "tail-call counter".into(),
        Role::CalleeSaved => "callee-saved".into(),
        Role::Call { .. } => "call site".into(),
        Role::TailCall => "tail call".into(),
        Role::PokeBypass => "tail call: bypass (poked)".into(),
        Role::PokeTarget => "tail call: target (poked)".into(),
        Role::Leave => "epilogue".into(),
        Role::Return => "return".into(),
        Role::Int3 => "SLS".into(),
        Role::Padding => "padding".into(),
    })
}

/// The listing as text: per subprogram, each BPF instruction (after fixups) and below it the
/// x86 instructions it became, with offsets, bytes and roles.
pub fn render_listing(image: &JitImage, insns: &[Insn]) -> String {
    let rows = image.rows();
    let mut s = String::new();
    for f in &image.funcs {
        s.push_str(&format!(
            "; subprog {}, {} bytes at {:#x}, stack {}, {} passes\n",
            f.index,
            f.bytes.len(),
            f.addr,
            f.stack,
            f.passes
        ));
        let mut last: Option<Option<usize>> = None;
        for r in rows.iter().filter(|r| r.func == f.index) {
            if last != Some(r.bpf) {
                match r.bpf {
                    None => s.push_str("; prologue\n"),
                    Some(slot) => {
                        let text = Instr::decode_internal(insns, slot)
                            .map(|i| format_instr(&i, Syntax::Kernel))
                            .unwrap_or_else(|e| e.to_string());
                        s.push_str(&format!("; {slot}: {text}\n"));
                    }
                }
                last = Some(r.bpf);
            }
            let hex: Vec<String> = r.bytes.iter().map(|b| format!("{b:02x}")).collect();
            let note = role_note(r.role).map(|n| format!("  ; {n}")).unwrap_or_default();
            s.push_str(&format!("  {:>4}: {:<30} {}{note}\n", r.offset, hex.join(" "), r.text));
        }
    }
    s
}
