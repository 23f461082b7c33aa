//! Structure: valid encodings, program size, jumps inside their subprogram and not into a
//! `lddw`, every subprogram ending in `exit` or a jump, no unreachable instruction.

use super::{VerifierError, MAX_INSNS};
use crate::errno::Errno;
use crate::isa::{decode_program, DecodeErrorKind, Instr};
use crate::kernel::profile::Profile;
use crate::kernel::program::{AttachType, Program};

/// The decoded program and its subprograms.
pub(crate) struct Cfg {
    /// Structured instruction at each slot that starts one.
    pub instrs: Vec<Option<Instr>>,
    /// Start slots of the subprograms, sorted (0 first).
    pub subprogs: Vec<usize>,
}

fn class_name(code: u8) -> &'static str {
    match code & 7 {
        0 => "BPF_LD",
        1 => "BPF_LDX",
        2 => "BPF_ST",
        3 => "BPF_STX",
        4 => "BPF_ALU",
        5 => "BPF_JMP",
        6 => "BPF_JMP32",
        _ => "BPF_ALU64",
    }
}

fn decode_message(kind: &DecodeErrorKind) -> String {
    match kind {
        DecodeErrorKind::UnknownOpcode(c) => format!("unknown opcode {c:02x}"),
        DecodeErrorKind::ReservedField { code, field, value } => {
            format!("{} uses reserved fields ({field} = {value})", class_name(*code))
        }
        DecodeErrorKind::BadRegister { reg, .. } => format!("R{reg} is invalid"),
        DecodeErrorKind::TruncatedLddw | DecodeErrorKind::BadLddwSecondHalf => "invalid bpf_ld_imm64 insn".into(),
        DecodeErrorKind::BadLddwSource(s) => format!("unrecognized bpf_ld_imm64 insn (src {s})"),
        DecodeErrorKind::BadEndWidth(w) => format!("BPF_END uses reserved fields (imm = {w})"),
        DecodeErrorKind::BadAtomicOp(op) => format!("BPF_ATOMIC uses invalid atomic opcode {op:02x}"),
        DecodeErrorKind::BadLength(n) => format!("program length {n} is not a multiple of 8"),
        DecodeErrorKind::OutOfRange { len } => format!("jump out of range: the program has {len} insns"),
    }
}

pub(crate) fn check(prog: &Program, profile: &Profile) -> Result<Cfg, VerifierError> {
    let insns = &prog.insns;
    let n = insns.len();
    if n == 0 {
        return Err(VerifierError::new(0, Errno::EINVAL, "empty program"));
    }
    if n > MAX_INSNS {
        return Err(VerifierError::new(
            0,
            Errno::E2BIG,
            format!("BPF program is too large ({n} insns, limit {MAX_INSNS})"),
        ));
    }
    if prog.attach == AttachType::Fsession && !profile.fsession {
        return Err(VerifierError::new(
            0,
            Errno::EINVAL,
            format!("attach type fsession does not exist in {}", profile.name),
        ));
    }
    if prog.sleepable && matches!(prog.attach, AttachType::TpBtf | AttachType::Freplace) {
        return Err(VerifierError::new(
            0,
            Errno::EINVAL,
            "Only fentry/fexit/fsession/fmod_ret, lsm, iter, uprobe, and struct_ops programs can be sleepable",
        ));
    }
    let decoded =
        decode_program(insns).map_err(|e| VerifierError::new(e.index, Errno::EINVAL, decode_message(&e.kind)))?;
    let mut instrs: Vec<Option<Instr>> = vec![None; n];
    for (i, ins) in &decoded {
        instrs[*i] = Some(*ins);
    }
    // Subprograms: 0 and every bpf-to-bpf call or function-pointer target.
    let mut subprogs = vec![0usize];
    for (i, ins) in &decoded {
        match ins {
            Instr::CallLocal(_)
            | Instr::LdImm64 {
                kind: crate::isa::Imm64Kind::Func,
                ..
            } => {
                let t = ins.target(*i).unwrap_or(-1);
                if t < 0 || t as usize >= n || instrs[t as usize].is_none() {
                    return Err(VerifierError::new(*i, Errno::EINVAL, "call to invalid destination"));
                }
                subprogs.push(t as usize);
            }
            Instr::Callx(_) => return Err(VerifierError::new(*i, Errno::EINVAL, "unknown opcode 8d")),
            Instr::LdAbs { .. } | Instr::LdInd { .. } => {
                return Err(VerifierError::new(
                    *i,
                    Errno::EINVAL,
                    "BPF_LD_[ABS|IND] instructions not allowed for this program type",
                ))
            }
            _ => {}
        }
    }
    subprogs.sort_unstable();
    subprogs.dedup();
    let sub_of = |i: usize| subprogs.partition_point(|&s| s <= i) - 1;
    // Jumps stay inside their subprogram and land on instruction starts.
    for (i, ins) in &decoded {
        let is_jump = matches!(ins, Instr::Ja { .. } | Instr::Gotol { .. } | Instr::Jmp { .. });
        if !is_jump {
            continue;
        }
        let t = ins.target(*i).unwrap_or(-1);
        if t < 0 || t as usize >= n || sub_of(t as usize) != sub_of(*i) {
            return Err(VerifierError::new(
                *i,
                Errno::EINVAL,
                format!("jump out of range from insn {i} to {t}"),
            ));
        }
        if instrs[t as usize].is_none() {
            return Err(VerifierError::new(
                *i,
                Errno::EINVAL,
                format!("jump into the middle of ldimm64 insn {}", t - 1),
            ));
        }
    }
    // Each subprogram ends with exit or an unconditional jump.
    for (k, &start) in subprogs.iter().enumerate() {
        let end = subprogs.get(k + 1).copied().unwrap_or(n);
        let last = (start..end).rev().find(|&i| instrs[i].is_some()).unwrap_or(start);
        if !matches!(instrs[last], Some(Instr::Exit | Instr::Ja { .. } | Instr::Gotol { .. })) {
            return Err(VerifierError::new(
                last,
                Errno::EINVAL,
                "last insn is not an exit or jmp",
            ));
        }
    }
    // Reachability from 0 (calls reach their targets and fall through).
    let mut seen = vec![false; n];
    let mut work = vec![0usize];
    while let Some(i) = work.pop() {
        if i >= n || seen[i] {
            continue;
        }
        seen[i] = true;
        let Some(ins) = instrs[i] else { continue };
        let next = i + ins.slots();
        match ins {
            Instr::Exit => {}
            Instr::Ja { .. } | Instr::Gotol { .. } => work.push(ins.target(i).unwrap_or(0) as usize),
            Instr::Jmp { .. } => {
                work.push(ins.target(i).unwrap_or(0) as usize);
                work.push(next);
            }
            Instr::CallLocal(_)
            | Instr::LdImm64 {
                kind: crate::isa::Imm64Kind::Func,
                ..
            } => {
                work.push(ins.target(i).unwrap_or(0) as usize);
                work.push(next);
            }
            _ => work.push(next),
        }
    }
    if let Some(i) = (0..n).find(|&i| instrs[i].is_some() && !seen[i]) {
        return Err(VerifierError::new(i, Errno::EINVAL, format!("unreachable insn {i}")));
    }
    Ok(Cfg { instrs, subprogs })
}
