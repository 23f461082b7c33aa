//! What the JIT learns from the verifier besides the instructions, derived from the program:
//! the subprogram boundaries, each subprogram's stack depth, which subprograms keep the
//! tail-call counter, and whether a tail call's map and key are constant (a direct tail call).
//!
//! The stack depth is the verifier's rule restricted to what a forward walk over constant frame
//! offsets sees: the deepest `r10 - n` a load, store or atomic touches, or that a call receives
//! as a pointer argument. Callers that know the verifier's figure pass it instead.

use super::{JitError, JitErrorKind, BPF_FUNC_TAIL_CALL};
use crate::isa::{decode_program_internal, AluOp, Imm64Kind, Insn, Instr, Operand};
use serde::Serialize;

/// A subprogram: the slots `start..end` of the program.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Subprog {
    /// First slot.
    pub start: usize,
    /// One past the last slot.
    pub end: usize,
}

/// The decoded program, with slot indexes.
pub(crate) fn decode(insns: &[Insn]) -> Result<Vec<(usize, Instr)>, JitError> {
    decode_program_internal(insns).map_err(|e| JitError::at(e.index, JitErrorKind::Decode(e)))
}

fn call_target(slot: usize, instr: &Instr) -> Option<i64> {
    match *instr {
        Instr::CallLocal(imm) => Some(slot as i64 + 1 + imm as i64),
        Instr::LdImm64 {
            kind: Imm64Kind::Func,
            imm,
            ..
        } => Some(slot as i64 + 1 + imm as i64),
        _ => None,
    }
}

/// The subprograms: slot 0 and every target of a bpf-to-bpf call or a callback address start one.
pub fn subprogs(insns: &[Insn]) -> Result<Vec<Subprog>, JitError> {
    let prog = decode(insns)?;
    subprogs_of(&prog, insns.len())
}

pub(crate) fn subprogs_of(prog: &[(usize, Instr)], len: usize) -> Result<Vec<Subprog>, JitError> {
    let mut starts = vec![0usize];
    for (slot, instr) in prog {
        if let Some(t) = call_target(*slot, instr) {
            if t < 0 || t as usize >= len {
                return Err(JitError::at(*slot, JitErrorKind::BadTarget { target: t }));
            }
            starts.push(t as usize);
        }
    }
    starts.sort_unstable();
    starts.dedup();
    Ok(starts
        .iter()
        .enumerate()
        .map(|(i, &start)| Subprog {
            start,
            end: starts.get(i + 1).copied().unwrap_or(len),
        })
        .collect())
}

/// What the walk knows of a register.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Val {
    /// Nothing.
    Unknown,
    /// A 64-bit constant.
    Const(i64),
    /// The frame pointer plus a constant.
    Fp(i64),
    /// The value of the pseudo `lddw` at this slot (a map).
    Map(usize),
}

type Regs = [Val; 11];

fn join(a: &Regs, b: &Regs) -> Regs {
    let mut out = *a;
    for (o, v) in out.iter_mut().zip(b) {
        if *o != *v {
            *o = Val::Unknown;
        }
    }
    out
}

fn alu64(op: AluOp, a: Val, b: Val) -> Val {
    match (op, a, b) {
        (AluOp::Mov, _, v) => v,
        (AluOp::Add, Val::Fp(o), Val::Const(c)) => Val::Fp(o.wrapping_add(c)),
        (AluOp::Sub, Val::Fp(o), Val::Const(c)) => Val::Fp(o.wrapping_sub(c)),
        (_, Val::Const(x), Val::Const(y)) => match op {
            AluOp::Add => Val::Const(x.wrapping_add(y)),
            AluOp::Sub => Val::Const(x.wrapping_sub(y)),
            AluOp::Mul => Val::Const(x.wrapping_mul(y)),
            AluOp::And => Val::Const(x & y),
            AluOp::Or => Val::Const(x | y),
            AluOp::Xor => Val::Const(x ^ y),
            AluOp::Lsh => Val::Const(((x as u64) << (y & 63)) as i64),
            AluOp::Rsh => Val::Const(((x as u64) >> (y & 63)) as i64),
            AluOp::Arsh => Val::Const(x >> (y & 63)),
            _ => Val::Unknown,
        },
        _ => Val::Unknown,
    }
}

/// Per-slot register knowledge of one subprogram, and its stack depth.
struct Walk {
    states: Vec<Option<Regs>>,
    depth: u32,
}

fn walk(prog: &[(usize, Instr)], sub: Subprog) -> Walk {
    let base = prog.partition_point(|(s, _)| *s < sub.start);
    let top = prog.partition_point(|(s, _)| *s < sub.end);
    let body = &prog[base..top];
    let index_of = |slot: usize| body.iter().position(|(s, _)| *s == slot);
    let mut states: Vec<Option<Regs>> = vec![None; body.len()];
    let mut entry = [Val::Unknown; 11];
    entry[10] = Val::Fp(0);
    let mut depth = 0u32;
    let mut work = vec![0usize];
    if !body.is_empty() {
        states[0] = Some(entry);
    }
    let touch = |o: i64, depth: &mut u32| {
        if o < 0 {
            *depth = (*depth).max(o.unsigned_abs().min(u32::MAX as u64) as u32);
        }
    };
    while let Some(k) = work.pop() {
        let Some(mut r) = states[k] else { continue };
        let (slot, instr) = body[k];
        let mut next: Vec<usize> = Vec::with_capacity(2);
        let fall = slot + instr.slots();
        match instr {
            Instr::Alu { wide, op, dst, src: s } => {
                let b = match s {
                    Operand::Reg(x) => entry_or(&r, x),
                    Operand::Imm(i) => Val::Const(i as i64),
                };
                if let Some(d) = r.get_mut(dst as usize) {
                    *d = if wide {
                        alu64(op, *d, b)
                    } else {
                        match alu64(op, *d, b) {
                            Val::Const(c) => Val::Const(c as u32 as i64),
                            _ => Val::Unknown,
                        }
                    };
                }
                next.push(fall);
            }
            Instr::End { dst, .. } => {
                if let Some(d) = r.get_mut(dst as usize) {
                    *d = Val::Unknown;
                }
                next.push(fall);
            }
            Instr::LdImm64 { dst, kind, imm, imm2 } => {
                if let Some(d) = r.get_mut(dst as usize) {
                    *d = match kind {
                        Imm64Kind::Imm => Val::Const(Instr::imm64(imm, imm2) as i64),
                        Imm64Kind::MapFd | Imm64Kind::MapIdx => Val::Map(slot),
                        _ => Val::Unknown,
                    };
                }
                next.push(fall);
            }
            Instr::Ldx { dst, src: s, off, .. } => {
                if let Some(Val::Fp(o)) = r.get(s as usize) {
                    touch(o + off as i64, &mut depth);
                }
                if let Some(d) = r.get_mut(dst as usize) {
                    *d = Val::Unknown;
                }
                next.push(fall);
            }
            Instr::St { dst, off, .. } | Instr::Stx { dst, off, .. } => {
                if let Some(Val::Fp(o)) = r.get(dst as usize) {
                    touch(o + off as i64, &mut depth);
                }
                next.push(fall);
            }
            Instr::Atomic {
                dst,
                src: s,
                off,
                fetch,
                op,
                ..
            } => {
                if let Some(Val::Fp(o)) = r.get(dst as usize) {
                    touch(o + off as i64, &mut depth);
                }
                if op == crate::isa::AtomicOp::Cmpxchg {
                    r[0] = Val::Unknown;
                } else if fetch {
                    if let Some(x) = r.get_mut(s as usize) {
                        *x = Val::Unknown;
                    }
                }
                next.push(fall);
            }
            Instr::CallHelper(_) | Instr::CallKfunc(_) | Instr::CallLocal(_) | Instr::Callx(_) => {
                for v in &r[1..=5] {
                    if let Val::Fp(o) = v {
                        touch(*o, &mut depth);
                    }
                }
                for v in &mut r[0..=5] {
                    *v = Val::Unknown;
                }
                next.push(fall);
            }
            Instr::Ja { off } => next.push((fall as i64 + off as i64) as usize),
            Instr::Gotol { imm } => next.push((fall as i64 + imm as i64) as usize),
            Instr::Jmp { off, .. } => {
                next.push(fall);
                next.push((fall as i64 + off as i64) as usize);
            }
            Instr::Exit => {}
            Instr::LdAbs { .. } | Instr::LdInd { .. } => {
                for v in &mut r[0..=5] {
                    *v = Val::Unknown;
                }
                next.push(fall);
            }
        }
        for n in next {
            let Some(j) = index_of(n) else { continue };
            let merged = match states[j] {
                None => r,
                Some(old) => join(&old, &r),
            };
            if states[j] != Some(merged) {
                states[j] = Some(merged);
                work.push(j);
            }
        }
    }
    // Slot-indexed for the callers: expand to the subprogram's slots.
    let mut by_slot = vec![None; sub.end - sub.start];
    for (k, (slot, _)) in body.iter().enumerate() {
        by_slot[slot - sub.start] = states[k];
    }
    Walk { states: by_slot, depth }
}

fn entry_or(r: &Regs, x: u8) -> Val {
    r.get(x as usize).copied().unwrap_or(Val::Unknown)
}

/// The stack depth of each subprogram: the deepest frame offset its accesses and call
/// arguments reach (the JIT rounds it up to 8).
pub fn stack_depths(insns: &[Insn]) -> Result<Vec<u32>, JitError> {
    let prog = decode(insns)?;
    let subs = subprogs_of(&prog, insns.len())?;
    Ok(stack_depths_of(&prog, &subs))
}

pub(crate) fn stack_depths_of(prog: &[(usize, Instr)], subs: &[Subprog]) -> Vec<u32> {
    subs.iter().map(|s| walk(prog, *s).depth).collect()
}

/// For the tail call at `slot`: the slot of the `lddw` that loads its prog array and the
/// constant key, when both are the same on every path (the verifier's condition for a direct
/// tail call, with the key's range against `max_entries` left to the caller).
pub fn tail_call_key(insns: &[Insn], slot: usize) -> Result<Option<(usize, i64)>, JitError> {
    let prog = decode(insns)?;
    let subs = subprogs_of(&prog, insns.len())?;
    let Some(sub) = subs.iter().find(|s| (s.start..s.end).contains(&slot)) else {
        return Ok(None);
    };
    let w = walk(&prog, *sub);
    Ok(match w.states.get(slot - sub.start).copied().flatten() {
        Some(r) => match (r[2], r[3]) {
            (Val::Map(m), Val::Const(k)) => Some((m, k)),
            _ => None,
        },
        None => None,
    })
}

/// Which subprograms keep the tail-call counter: those with a tail call and every subprogram
/// that calls one of them, directly or not.
pub(crate) fn tail_call_reachable(prog: &[(usize, Instr)], subs: &[Subprog]) -> Vec<bool> {
    let sub_of = |slot: usize| subs.iter().position(|s| (s.start..s.end).contains(&slot));
    let mut has = vec![false; subs.len()];
    let mut calls: Vec<Vec<usize>> = vec![Vec::new(); subs.len()];
    for (slot, instr) in prog {
        let Some(s) = sub_of(*slot) else { continue };
        match instr {
            Instr::CallHelper(BPF_FUNC_TAIL_CALL) => has[s] = true,
            Instr::CallLocal(_) => {
                if let Some(t) = call_target(*slot, instr).and_then(|t| sub_of(t as usize)) {
                    calls[s].push(t);
                }
            }
            _ => {}
        }
    }
    let mut reach = has.clone();
    loop {
        let mut changed = false;
        for s in 0..subs.len() {
            if !reach[s] && calls[s].iter().any(|&t| reach[t]) {
                reach[s] = true;
                changed = true;
            }
        }
        if !changed {
            return reach;
        }
    }
}
