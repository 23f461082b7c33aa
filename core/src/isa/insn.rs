//! The raw instruction (`struct bpf_insn`) and its 8-byte little-endian wire form.

use serde::{Deserialize, Serialize};

/// One 8-byte instruction slot, field for field as `struct bpf_insn`:
/// `code`, `dst_reg:4`, `src_reg:4`, `off` (s16), `imm` (s32).
///
/// A `lddw` occupies two consecutive slots; the second has `code == 0` and carries the upper
/// 32 bits of the immediate in `imm`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Insn {
    /// Opcode byte.
    pub code: u8,
    /// Destination register (4 bits on the wire).
    pub dst: u8,
    /// Source register (4 bits on the wire).
    pub src: u8,
    /// Signed 16-bit offset.
    pub off: i16,
    /// Signed 32-bit immediate.
    pub imm: i32,
}

impl Insn {
    /// Size of one instruction slot in bytes.
    pub const SIZE: usize = 8;

    /// Builds an instruction from its fields (registers are masked to 4 bits on encoding).
    pub const fn new(code: u8, dst: u8, src: u8, off: i16, imm: i32) -> Self {
        Insn {
            code,
            dst,
            src,
            off,
            imm,
        }
    }

    /// The wire form: `code, dst | src << 4, off (le16), imm (le32)`.
    pub fn to_bytes(self) -> [u8; 8] {
        let off = self.off.to_le_bytes();
        let imm = self.imm.to_le_bytes();
        [
            self.code,
            (self.dst & 0x0f) | (self.src << 4),
            off[0],
            off[1],
            imm[0],
            imm[1],
            imm[2],
            imm[3],
        ]
    }

    /// Reads one slot from its wire form (no validation: see [`crate::isa::decode`]).
    pub fn from_bytes(b: [u8; 8]) -> Self {
        Insn {
            code: b[0],
            dst: b[1] & 0x0f,
            src: b[1] >> 4,
            off: i16::from_le_bytes([b[2], b[3]]),
            imm: i32::from_le_bytes([b[4], b[5], b[6], b[7]]),
        }
    }

    /// The slot as a little-endian 64-bit word (the conformance suite's `-- raw` form).
    pub fn to_u64(self) -> u64 {
        u64::from_le_bytes(self.to_bytes())
    }

    /// Reads a slot from a little-endian 64-bit word.
    pub fn from_u64(w: u64) -> Self {
        Insn::from_bytes(w.to_le_bytes())
    }
}

/// Encodes instructions to their wire bytes.
pub fn encode(insns: &[Insn]) -> Vec<u8> {
    insns.iter().flat_map(|i| i.to_bytes()).collect()
}

/// Splits wire bytes into instruction slots without checking them.
///
/// Returns `None` when the length is not a multiple of 8.
pub fn split_slots(bytes: &[u8]) -> Option<Vec<Insn>> {
    if !bytes.len().is_multiple_of(Insn::SIZE) {
        return None;
    }
    Some(
        bytes
            .chunks_exact(Insn::SIZE)
            .map(|c| Insn::from_bytes(c.try_into().expect("chunks_exact yields 8 bytes")))
            .collect(),
    )
}
