//! `bpf_patch_insn_data()`: replace one instruction by a sequence and fix every jump, call and
//! function reference around it (reference §3.8), keeping a map from each original slot to its
//! range in the patched program.

use crate::isa::opcode::*;
use crate::isa::Insn;
use serde::Serialize;
use std::ops::Range;
use thiserror::Error;

/// A patch that cannot be applied.
#[derive(Clone, Debug, PartialEq, Eq, Error, Serialize, serde::Deserialize)]
pub enum PatchError {
    /// A jump or call offset would leave its 16-bit (or 32-bit) field: ERANGE, reported by the
    /// kernel as "insn N cannot be patched due to 16-bit range" (and -ENOMEM to the caller).
    #[error("insn {orig} cannot be patched due to 16-bit range (jump at patched insn {at} would need offset {off})")]
    Range {
        /// Original index of the instruction being replaced.
        orig: usize,
        /// Index (in the patched program) of the jump that would overflow.
        at: usize,
        /// The offset it would need.
        off: i64,
    },
    /// The position is not an instruction of the program.
    #[error("patch position {0} is outside the program")]
    Position(usize),
    /// An empty replacement.
    #[error("empty patch")]
    Empty,
}

/// A program being patched, with the original-to-patched map.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Patcher {
    insns: Vec<Insn>,
    /// For each original slot: its range in the current program.
    map: Vec<Range<usize>>,
}

/// Whether `insn` is a jump whose `off` (or `imm` for `gotol`) is relative to the next slot.
fn off_jump(insn: &Insn) -> bool {
    let class = bpf_class(insn.code);
    (class == BPF_JMP || class == BPF_JMP32) && !matches!(bpf_op(insn.code), BPF_EXIT | BPF_CALL)
}

/// Whether `insn` refers to a subprogram through `imm` (bpf-to-bpf call, `lddw` of a function).
fn imm_ref(insn: &Insn) -> bool {
    (insn.code == BPF_JMP | BPF_CALL && insn.src == BPF_PSEUDO_CALL)
        || (insn.code == LD_IMM64 && insn.src == BPF_PSEUDO_FUNC)
}

/// `bpf_adj_delta_to_off`/`_to_imm`: the adjusted relative offset of a jump at `curr`.
fn adjust(curr: usize, off: i64, pos: usize, end_old: usize, end_new: usize) -> i64 {
    let delta = (end_new - end_old) as i64;
    let (curr, pos, end_old, end_new) = (curr as i64, pos as i64, end_old as i64, end_new as i64);
    if curr < pos && curr + off + 1 >= end_old {
        off + delta
    } else if curr >= end_new && curr + off + 1 < end_new {
        off - delta
    } else {
        off
    }
}

impl Patcher {
    /// Starts from an unpatched program.
    pub fn new(insns: &[Insn]) -> Self {
        Patcher {
            insns: insns.to_vec(),
            map: (0..insns.len()).map(|i| i..i + 1).collect(),
        }
    }

    /// The current program.
    pub fn insns(&self) -> &[Insn] {
        &self.insns
    }

    /// Where original slot `orig` is now.
    pub fn range_of(&self, orig: usize) -> Option<Range<usize>> {
        self.map.get(orig).cloned()
    }

    /// Replaces the instruction at current index `pos` by `patch` (`bpf_patch_insn_single`).
    /// On error nothing changes.
    pub fn patch(&mut self, pos: usize, patch: &[Insn]) -> Result<(), PatchError> {
        if patch.is_empty() {
            return Err(PatchError::Empty);
        }
        if pos >= self.insns.len() {
            return Err(PatchError::Position(pos));
        }
        let orig = self.map.iter().position(|r| r.start == pos).unwrap_or(pos);
        let len = patch.len();
        if len == 1 {
            self.insns[pos] = patch[0];
            return Ok(());
        }
        let (end_old, end_new) = (pos + 1, pos + len);
        let mut out = Vec::with_capacity(self.insns.len() + len - 1);
        out.extend_from_slice(&self.insns[..pos]);
        out.extend_from_slice(patch);
        out.extend_from_slice(&self.insns[pos + 1..]);
        for (curr, insn) in out.iter_mut().enumerate() {
            if (pos..end_new).contains(&curr) {
                continue;
            }
            if imm_ref(insn) {
                let imm = adjust(curr, insn.imm.into(), pos, end_old, end_new);
                insn.imm = i32::try_from(imm).map_err(|_| PatchError::Range {
                    orig,
                    at: curr,
                    off: imm,
                })?;
            } else if off_jump(insn) {
                let gotol = insn.code == BPF_JMP32 | BPF_JA;
                let old = if gotol { insn.imm as i64 } else { insn.off as i64 };
                let off = adjust(curr, old, pos, end_old, end_new);
                if gotol {
                    insn.imm = i32::try_from(off).map_err(|_| PatchError::Range { orig, at: curr, off })?;
                } else {
                    insn.off = i16::try_from(off).map_err(|_| PatchError::Range { orig, at: curr, off })?;
                }
            }
        }
        self.insns = out;
        for r in &mut self.map {
            if r.start > pos {
                *r = r.start + len - 1..r.end + len - 1;
            } else if r.start == pos {
                *r = pos..pos + len;
            }
        }
        Ok(())
    }

    /// Finishes: the patched program and, per original slot, its range in it.
    pub fn finish(self) -> (Vec<Insn>, Vec<Range<usize>>) {
        (self.insns, self.map)
    }
}
