//! The annotated listing: offset, bytes, Intel or AT&T text from iced-x86's formatter, and the
//! role and slots of every instruction.

use super::{Encoded, SlotAccess};
use iced_x86::{Decoder, DecoderOptions, Formatter, GasFormatter, IntelFormatter};
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

impl std::str::FromStr for AsmSyntax {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "intel" => Ok(AsmSyntax::Intel),
            "att" | "gas" | "at&t" => Ok(AsmSyntax::Att),
            _ => Err(format!("unknown syntax '{s}' (intel or att)")),
        }
    }
}

/// One listing line.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Line {
    /// Offset in the image.
    pub offset: usize,
    /// Bytes as hex.
    pub hex: String,
    /// Disassembly.
    pub text: String,
    /// Role.
    pub role: String,
    /// Slots read / written / addressed, as `r:name w:name &name`.
    pub slots: String,
}

/// Disassembles the encoded bytes and joins each instruction with its annotation. Errors if the
/// decoder's instruction boundaries differ from the emitted ones.
pub fn listing(enc: &Encoded, image: u64, syntax: AsmSyntax) -> Result<Vec<Line>, String> {
    let mut dec = Decoder::with_ip(64, &enc.bytes, image, DecoderOptions::NONE);
    let mut intel = IntelFormatter::new();
    let mut gas = GasFormatter::new();
    for f in [intel.options_mut(), gas.options_mut()] {
        f.set_hex_prefix("0x");
        f.set_hex_suffix("");
        f.set_uppercase_hex(false);
        f.set_space_after_operand_separator(true);
        f.set_branch_leading_zeros(false);
    }
    let mut out = Vec::with_capacity(enc.insns.len());
    for e in &enc.insns {
        if !dec.can_decode() {
            return Err(format!("decoder ran out of bytes at offset {}", e.offset));
        }
        let ins = dec.decode();
        let off = (ins.ip() - image) as usize;
        if off != e.offset || ins.len() != e.bytes.len() || ins.is_invalid() {
            return Err(format!(
                "decoded instruction at {off} (len {}) does not match the emitted one at {} (len {})",
                ins.len(),
                e.offset,
                e.bytes.len()
            ));
        }
        // The decoder must see exactly the instruction the encoder was asked for.
        if ins.code() != e.code || e.target.is_some_and(|t| t != ins.near_branch_target()) {
            return Err(format!(
                "at offset {off}: decoded {:?} (target {:#x}), intended {:?} (target {:?})",
                ins.code(),
                ins.near_branch_target(),
                e.code,
                e.target
            ));
        }
        let mut text = String::with_capacity(40);
        match syntax {
            AsmSyntax::Intel => intel.format(&ins, &mut text),
            AsmSyntax::Att => gas.format(&ins, &mut text),
        }
        let mut hex = String::with_capacity(e.bytes.len() * 3);
        for (k, b) in e.bytes.iter().enumerate() {
            if k > 0 {
                hex.push(' ');
            }
            let _ = write!(hex, "{b:02x}");
        }
        let mut slots = String::new();
        for (access, prefix) in [
            (SlotAccess::Read, "r:"),
            (SlotAccess::Write, "w:"),
            (SlotAccess::Addr, "&"),
        ] {
            for name in e.slots(&enc.layout, access) {
                if !slots.is_empty() {
                    slots.push(' ');
                }
                slots.push_str(prefix);
                slots.push_str(name);
            }
        }
        out.push(Line {
            offset: e.offset,
            hex,
            text,
            role: e.role().to_string(),
            slots,
        });
    }
    if dec.can_decode() {
        return Err("trailing bytes after the last emitted instruction".into());
    }
    Ok(out)
}

/// Formats a listing as text.
pub fn render(lines: &[Line], bytes: bool) -> String {
    let tw = lines.iter().map(|l| l.text.len()).max().unwrap_or(10).max(10);
    let hw = lines.iter().map(|l| l.hex.len()).max().unwrap_or(2);
    let mut s = String::new();
    for l in lines {
        let hex = if bytes {
            format!("{:<hw$}  ", l.hex)
        } else {
            String::new()
        };
        let slots = if l.slots.is_empty() {
            String::new()
        } else {
            format!(" [{}]", l.slots)
        };
        s.push_str(&format!("{:>4}  {hex}{:<tw$}  ; {}{slots}\n", l.offset, l.text, l.role));
    }
    s
}
