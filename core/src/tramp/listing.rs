//! The annotated listing: offset, bytes, Intel or AT&T text from iced-x86's formatter, and the
//! role and slots of every instruction.

use super::{Encoded, InsnBytes, SlotAccess};
use iced_x86::{
    Decoder, DecoderOptions, Formatter, FormatterOperandOptions, FormatterOptionsProvider, GasFormatter, Instruction,
    IntelFormatter, NumberFormattingOptions, OpKind,
};
use serde::{Deserialize, Serialize};
use std::fmt::Write;

/// Assembly syntax of the listing.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AsmSyntax {
    /// Intel (`mov [rbp-8], rax`).
    Intel,
    /// AT&T (`mov %rax,-0x8(%rbp)`).
    Att,
}

/// An x86 assembly syntax name that is neither `intel` nor `att`.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("unknown syntax '{0}' (intel or att)")]
pub struct UnknownAsmSyntax(pub String);

impl std::str::FromStr for AsmSyntax {
    type Err = UnknownAsmSyntax;
    fn from_str(s: &str) -> Result<Self, UnknownAsmSyntax> {
        match s {
            "intel" => Ok(AsmSyntax::Intel),
            "att" | "gas" | "at&t" => Ok(AsmSyntax::Att),
            _ => Err(UnknownAsmSyntax(s.to_string())),
        }
    }
}

/// A frame slot an instruction touches, and how.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SlotRef {
    /// Index into the layout's `slots`.
    pub slot: usize,
    /// The slot's name (`arg0`, `rbx`, `run_ctx`).
    pub name: String,
    /// Read, written or addressed.
    pub access: SlotAccess,
}

impl SlotRef {
    /// The listing's notation: `r:arg0`, `w:rbx`, `&run_ctx`.
    pub fn render(&self) -> String {
        let prefix = match self.access {
            SlotAccess::Read => "r:",
            SlotAccess::Write => "w:",
            SlotAccess::Addr => "&",
        };
        format!("{prefix}{}", self.name)
    }
}

/// One listing line.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Line {
    /// Offset in the image.
    pub offset: usize,
    /// The instruction's bytes.
    pub bytes: InsnBytes,
    /// Disassembly (rendered by [`X86Format`]).
    pub text: String,
    /// Role.
    pub role: String,
    /// The frame slots it reads, writes or addresses (reads, then writes, then addresses).
    pub slots: Vec<SlotRef>,
    /// For a call or jump: the address it goes to.
    pub target: Option<u64>,
    /// For a jump inside the image: the index of the line it lands on.
    pub jump_to: Option<usize>,
}

impl Line {
    /// The bytes as hex, space-separated.
    pub fn hex(&self) -> String {
        let mut hex = String::with_capacity(self.bytes.len() * 3);
        for (k, b) in self.bytes.iter().enumerate() {
            if k > 0 {
                hex.push(' ');
            }
            let _ = write!(hex, "{b:02x}");
        }
        hex
    }
    /// The slots in the listing's notation (`r:arg0 w:rbx &run_ctx`).
    pub fn slots_text(&self) -> String {
        self.slots.iter().map(SlotRef::render).collect::<Vec<_>>().join(" ")
    }
    /// Whether it touches the slot named `name`.
    pub fn touches(&self, name: &str) -> bool {
        self.slots.iter().any(|s| s.name == name)
    }
}

/// The x86-64 text of instructions, the same on every target: Intel or AT&T by iced-x86's
/// formatters with the listing's options (`0x` hex, lower case, a space after commas).
///
/// iced-x86 1.22 prints a 64-bit number in decimal when `value as usize` is below 10 (its
/// "small hex numbers in decimal" rule), so on 32-bit targets (the playground's wasm32) a value
/// whose low 32 bits are below 10 came out wrong: `movabs rdi, 0xffff888100000000` as
/// `mov rdi, 0`. [`WideNumbers`] turns that rule off for such values, which native builds never
/// print in decimal anyway.
pub struct X86Format {
    intel: IntelFormatter,
    gas: GasFormatter,
}

/// Keeps iced-x86's small-decimal rule away from values of more than 32 bits (see [`X86Format`]).
struct WideNumbers;

impl FormatterOptionsProvider for WideNumbers {
    fn operand_options(
        &mut self,
        instruction: &Instruction,
        _operand: u32,
        instruction_operand: Option<u32>,
        _options: &mut FormatterOperandOptions,
        number_options: &mut NumberFormattingOptions<'_>,
    ) {
        let Some(op) = instruction_operand else {
            return;
        };
        let value = match instruction.op_kind(op) {
            OpKind::NearBranch16 | OpKind::NearBranch32 | OpKind::NearBranch64 => instruction.near_branch_target(),
            // Displacements are printed as a sign and a magnitude.
            OpKind::Memory => (instruction.memory_displacement64() as i64).unsigned_abs(),
            k if is_immediate(k) => instruction.immediate(op),
            _ => return,
        };
        if value >> 32 != 0 {
            number_options.small_hex_numbers_in_decimal = false;
        }
    }
}

/// Whether an operand kind is an immediate of any width.
pub(crate) fn is_immediate(k: OpKind) -> bool {
    matches!(
        k,
        OpKind::Immediate8
            | OpKind::Immediate8_2nd
            | OpKind::Immediate16
            | OpKind::Immediate32
            | OpKind::Immediate64
            | OpKind::Immediate8to16
            | OpKind::Immediate8to32
            | OpKind::Immediate8to64
            | OpKind::Immediate32to64
    )
}

impl Default for X86Format {
    fn default() -> Self {
        Self::new()
    }
}

impl X86Format {
    /// The listing's formatters.
    pub fn new() -> Self {
        let mut intel = IntelFormatter::with_options(None, Some(Box::new(WideNumbers)));
        let mut gas = GasFormatter::with_options(None, Some(Box::new(WideNumbers)));
        for f in [intel.options_mut(), gas.options_mut()] {
            f.set_hex_prefix("0x");
            f.set_hex_suffix("");
            f.set_uppercase_hex(false);
            f.set_space_after_operand_separator(true);
            f.set_branch_leading_zeros(false);
        }
        X86Format { intel, gas }
    }
    /// Appends one instruction's text.
    pub fn format(&mut self, ins: &Instruction, syntax: AsmSyntax, out: &mut String) {
        match syntax {
            AsmSyntax::Intel => self.intel.format(ins, out),
            AsmSyntax::Att => self.gas.format(ins, out),
        }
    }
    /// The text of instruction operand `op` (Intel operand order) as `syntax` shows it.
    pub fn operand(&mut self, ins: &Instruction, op: u32, syntax: AsmSyntax) -> String {
        let f: &mut dyn Formatter = match syntax {
            AsmSyntax::Intel => &mut self.intel,
            AsmSyntax::Att => &mut self.gas,
        };
        let mut s = String::new();
        if let Ok(Some(fop)) = f.get_formatter_operand(ins, op) {
            let _ = f.format_operand(ins, &mut s, fop);
        }
        s
    }
    /// One instruction's text.
    pub fn text(&mut self, ins: &Instruction, syntax: AsmSyntax) -> String {
        let mut s = String::with_capacity(40);
        self.format(ins, syntax, &mut s);
        s
    }
}

/// Why the decoded bytes are not the instructions the encoder emitted.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error, Serialize, serde::Deserialize)]
pub enum ListingError {
    /// The bytes end before an emitted instruction.
    #[error("decoder ran out of bytes at offset {offset}")]
    OutOfBytes {
        /// The emitted instruction's offset.
        offset: usize,
    },
    /// The decoder's instruction boundary is not the emitted one.
    #[error("decoded instruction at {offset} (len {len}) does not match the emitted one at {emitted_offset} (len {emitted_len})")]
    Boundary {
        /// Where the decoder is.
        offset: usize,
        /// The decoded length.
        len: usize,
        /// Where the emitted instruction is.
        emitted_offset: usize,
        /// The emitted length.
        emitted_len: usize,
    },
    /// The decoder sees another instruction (or branch target) than the one asked for.
    #[error("at offset {offset}: decoded {} (target {target:#x}), intended {} (target {})", code_name(*decoded), code_name(*intended), intended_target.map_or("none".to_string(), |t| format!("{t:#x}")))]
    Mismatch {
        /// Where.
        offset: usize,
        /// The decoded iced-x86 `Code`, as its number.
        decoded: u16,
        /// The decoded branch target.
        target: u64,
        /// The intended `Code`, as its number.
        intended: u16,
        /// The intended branch target.
        intended_target: Option<u64>,
    },
    /// Bytes after the last emitted instruction.
    #[error("trailing bytes after the last emitted instruction")]
    Trailing,
}

/// An iced-x86 `Code` for messages: its mnemonic and number (`Mov Code 123`). Not the `Code`'s
/// own name: its Debug table (all 4,000 names, 119 KB) would be in the playground's wasm for the
/// sake of an error message.
pub(crate) fn code_name(code: u16) -> String {
    iced_x86::Code::values().nth(usize::from(code)).map_or_else(
        || format!("Code({code})"),
        |c| format!("{:?} (Code {code})", c.mnemonic()),
    )
}

/// Disassembles the encoded bytes and joins each instruction with its annotation. Errors if the
/// decoder's instruction boundaries differ from the emitted ones.
pub fn listing(enc: &Encoded, image: u64, syntax: AsmSyntax) -> Result<Vec<Line>, ListingError> {
    let mut dec = Decoder::with_ip(64, &enc.bytes, image, DecoderOptions::NONE);
    let mut fmt = X86Format::new();
    let mut jumps = Vec::new();
    let mut out = Vec::with_capacity(enc.insns.len());
    for e in &enc.insns {
        if !dec.can_decode() {
            return Err(ListingError::OutOfBytes { offset: e.offset });
        }
        let ins = dec.decode();
        let off = (ins.ip() - image) as usize;
        if off != e.offset || ins.len() != e.bytes.len() || ins.is_invalid() {
            return Err(ListingError::Boundary {
                offset: off,
                len: ins.len(),
                emitted_offset: e.offset,
                emitted_len: e.bytes.len(),
            });
        }
        // The decoder must see exactly the instruction the encoder was asked for.
        if ins.code() != e.code || e.target.is_some_and(|t| t != ins.near_branch_target()) {
            return Err(ListingError::Mismatch {
                offset: off,
                decoded: ins.code() as u16,
                target: ins.near_branch_target(),
                intended: e.code as u16,
                intended_target: e.target,
            });
        }
        let text = fmt.text(&ins, syntax);
        let mut slots = Vec::new();
        for access in [SlotAccess::Read, SlotAccess::Write, SlotAccess::Addr] {
            for (slot, a) in e.note.iter().flat_map(|n| n.slots.iter()) {
                if *a == access {
                    if let Some(s) = enc.layout.slots.get(*slot) {
                        slots.push(SlotRef {
                            slot: *slot,
                            name: s.name.clone(),
                            access,
                        });
                    }
                }
            }
        }
        let is_jump = ins.is_jmp_short_or_near() || ins.is_jcc_short_or_near();
        out.push(Line {
            offset: e.offset,
            bytes: e.bytes,
            text,
            role: e.role().to_string(),
            slots,
            target: e.target,
            jump_to: None,
        });
        if is_jump {
            jumps.push((out.len() - 1, ins.near_branch_target()));
        }
    }
    if dec.can_decode() {
        return Err(ListingError::Trailing);
    }
    for (i, target) in jumps {
        let inside = target.checked_sub(image).and_then(|o| usize::try_from(o).ok());
        out[i].jump_to = inside.and_then(|o| out.binary_search_by_key(&o, |l| l.offset).ok());
    }
    Ok(out)
}

/// Formats a listing as text.
pub fn render(lines: &[Line], bytes: bool) -> String {
    let tw = lines.iter().map(|l| l.text.len()).max().unwrap_or(10).max(10);
    let hw = lines.iter().map(|l| l.bytes.len() * 3 - 1).max().unwrap_or(2);
    let mut s = String::new();
    for l in lines {
        let hex = if bytes {
            format!("{:<hw$}  ", l.hex())
        } else {
            String::new()
        };
        let slots = if l.slots.is_empty() {
            String::new()
        } else {
            format!(" [{}]", l.slots_text())
        };
        s.push_str(&format!("{:>4}  {hex}{:<tw$}  ; {}{slots}\n", l.offset, l.text, l.role));
    }
    s
}
