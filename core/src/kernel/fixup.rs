//! `do_misc_fixups()` / `fixup_kfunc_call()` for the trampoline helpers and the session kfuncs:
//! the inline sequences of reference §3.4 and §3.5, chosen by the profile.

use super::patch::{PatchError, Patcher};
use super::profile::Profile;
use super::program::{AttachType, FuncModel, Program};
use crate::isa::macros::*;
use crate::isa::names::*;
use crate::isa::opcode::*;
use crate::isa::{Insn, Instr};
use serde::Serialize;
use std::ops::Range;

const EINVAL: i32 = 22;
const EOPNOTSUPP: i32 = 95;

/// The calls the fixups inline.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Inlined {
    /// The kfunc `bpf_session_is_return()`.
    BpfSessionIsReturn,
    /// The kfunc `bpf_session_cookie()`.
    BpfSessionCookie,
    /// The helper `bpf_get_func_arg()`.
    BpfGetFuncArg,
    /// The helper `bpf_get_func_ret()`.
    BpfGetFuncRet,
    /// The helper `bpf_get_func_arg_cnt()`.
    BpfGetFuncArgCnt,
    /// The helper `bpf_get_func_ip()`.
    BpfGetFuncIp,
}

impl Inlined {
    /// The function's name.
    pub const fn name(self) -> &'static str {
        match self {
            Inlined::BpfSessionIsReturn => "bpf_session_is_return",
            Inlined::BpfSessionCookie => "bpf_session_cookie",
            Inlined::BpfGetFuncArg => "bpf_get_func_arg",
            Inlined::BpfGetFuncRet => "bpf_get_func_ret",
            Inlined::BpfGetFuncArgCnt => "bpf_get_func_arg_cnt",
            Inlined::BpfGetFuncIp => "bpf_get_func_ip",
        }
    }
}

impl std::fmt::Display for Inlined {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.pad(self.name())
    }
}

/// What a fixup did to one original instruction.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct FixupNote {
    /// Original slot index.
    pub orig: usize,
    /// Range in the fixed program.
    pub range: Range<usize>,
    /// What was inlined.
    pub what: Inlined,
    /// The variant, in words (`cookie index from bits 8-15`).
    pub detail: String,
}

/// A helper call the fixups leave as a call: the kernel then points it at the function that
/// implements the helper for this program type (`insn->imm = fn - __bpf_call_base`), an
/// address of the running kernel. `insns` keep the helper id; this says where it goes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct HelperCall {
    /// Index in the fixed program.
    pub index: usize,
    /// The helper id.
    pub helper: i32,
    /// The kernel function it resolves to, where the model knows it.
    pub func: Option<&'static str>,
}

/// A program after fixups.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Fixed {
    /// The rewritten program.
    pub insns: Vec<Insn>,
    /// For each original slot, its range in `insns`.
    pub map: Vec<Range<usize>>,
    /// One note per rewritten instruction.
    pub notes: Vec<FixupNote>,
    /// The helper calls left in the program, with the function each resolves to.
    pub helper_calls: Vec<HelperCall>,
}

/// The kernel function behind a helper for this attach type (`func_proto->func`), for the
/// helpers the verifier model lets a program call. The names are those the 6.12 captures record
/// (`call #-99280 -> bpf_get_attach_cookie_tracing`) and the kernel's helper implementations.
pub fn helper_impl(helper: i32, attach: AttachType) -> Option<&'static str> {
    match helper {
        BPF_FUNC_GET_ATTACH_COOKIE if attach.is_tracing() => Some("bpf_get_attach_cookie_tracing"),
        5 => Some("bpf_ktime_get_ns"),
        7 => Some("bpf_user_rnd_u32"),
        14 => Some("bpf_get_current_pid_tgid"),
        _ => None,
    }
}

/// The inline for one call, if the kernel inlines it for this program and profile.
fn inline_for(
    instr: &Instr,
    prog: &Program,
    func: &FuncModel,
    profile: &Profile,
) -> Option<(Vec<Insn>, Inlined, String)> {
    let meta = &profile.verifier_meta;
    let load_meta = BPF_LDX_MEM(BPF_DW, BPF_REG_0, BPF_REG_1, -8);
    let mask = profile.inlines.mask_nr_args;
    let raw_tp = prog.attach == AttachType::TpBtf;
    // tp_btf: the prototype lists the tracepoint's arguments (without `void *__data`).
    let raw_tp_nr = func.args.len() as i32;
    match *instr {
        Instr::CallKfunc(id) if prog.attach == AttachType::Fsession && id == KFUNC_SESSION_IS_RETURN => {
            let bit = meta.is_return_bit?;
            Some((
                vec![
                    load_meta,
                    BPF_ALU64_IMM(BPF_RSH, BPF_REG_0, bit.into()),
                    BPF_ALU64_IMM(BPF_AND, BPF_REG_0, 1),
                ],
                Inlined::BpfSessionIsReturn,
                format!("is_return = (ctx[-1] >> {bit}) & 1"),
            ))
        }
        Instr::CallKfunc(id) if prog.attach == AttachType::Fsession && id == KFUNC_SESSION_COOKIE => {
            let shift = meta.cookie_shift?;
            Some((
                vec![
                    load_meta,
                    BPF_ALU64_IMM(BPF_RSH, BPF_REG_0, shift.into()),
                    BPF_ALU64_IMM(BPF_AND, BPF_REG_0, meta.cookie_mask as i32),
                    BPF_ALU64_IMM(BPF_LSH, BPF_REG_0, 3),
                    BPF_ALU64_REG(BPF_SUB, BPF_REG_0, BPF_REG_1),
                    BPF_ALU64_IMM(BPF_NEG, BPF_REG_0, 0),
                ],
                Inlined::BpfSessionCookie,
                format!("cookie = ctx - 8 * ((ctx[-1] >> {shift}) & {:#x})", meta.cookie_mask),
            ))
        }
        Instr::CallHelper(BPF_FUNC_GET_FUNC_ARG) if prog.attach.is_tracing() => {
            let mut v = if raw_tp {
                if !profile.inlines.raw_tp_const {
                    return None;
                }
                vec![BPF_MOV64_IMM(BPF_REG_0, raw_tp_nr)]
            } else if mask {
                vec![load_meta, BPF_ALU64_IMM(BPF_AND, BPF_REG_0, 0xff)]
            } else {
                vec![load_meta]
            };
            v.extend([
                BPF_JMP32_REG(BPF_JGE, BPF_REG_2, BPF_REG_0, 6),
                BPF_ALU64_IMM(BPF_LSH, BPF_REG_2, 3),
                BPF_ALU64_REG(BPF_ADD, BPF_REG_2, BPF_REG_1),
                BPF_LDX_MEM(BPF_DW, BPF_REG_0, BPF_REG_2, 0),
                BPF_STX_MEM(BPF_DW, BPF_REG_3, BPF_REG_0, 0),
                BPF_MOV64_IMM(BPF_REG_0, 0),
                BPF_JMP_A(1),
                BPF_MOV64_IMM(BPF_REG_0, -EINVAL),
            ]);
            let src = if raw_tp {
                format!("nr_args = {raw_tp_nr} (tp_btf)")
            } else {
                nr_src(mask)
            };
            Some((
                v,
                Inlined::BpfGetFuncArg,
                format!("{src}; n >= nr_args ? -EINVAL : *value = ctx[n]"),
            ))
        }
        Instr::CallHelper(BPF_FUNC_GET_FUNC_RET) if prog.attach.is_tracing() => {
            let reads = matches!(prog.attach, AttachType::Fexit | AttachType::FmodRet)
                || (prog.attach == AttachType::Fsession && profile.inlines.func_ret_fsession);
            if !reads {
                return Some((
                    vec![BPF_MOV64_IMM(BPF_REG_0, -EOPNOTSUPP)],
                    Inlined::BpfGetFuncRet,
                    "-EOPNOTSUPP (no return value for this attach type)".into(),
                ));
            }
            let mut v = vec![load_meta];
            if mask {
                v.push(BPF_ALU64_IMM(BPF_AND, BPF_REG_0, 0xff));
            }
            v.extend([
                BPF_ALU64_IMM(BPF_LSH, BPF_REG_0, 3),
                BPF_ALU64_REG(BPF_ADD, BPF_REG_0, BPF_REG_1),
                BPF_LDX_MEM(BPF_DW, BPF_REG_3, BPF_REG_0, 0),
                BPF_STX_MEM(BPF_DW, BPF_REG_2, BPF_REG_3, 0),
                BPF_MOV64_IMM(BPF_REG_0, 0),
            ]);
            Some((
                v,
                Inlined::BpfGetFuncRet,
                format!("{}; *value = ctx[nr_args]", nr_src(mask)),
            ))
        }
        Instr::CallHelper(BPF_FUNC_GET_FUNC_ARG_CNT) if prog.attach.is_tracing() => {
            if raw_tp {
                if !profile.inlines.raw_tp_const {
                    return None;
                }
                return Some((
                    vec![BPF_MOV64_IMM(BPF_REG_0, raw_tp_nr)],
                    Inlined::BpfGetFuncArgCnt,
                    format!("nr_args = {raw_tp_nr} (tp_btf)"),
                ));
            }
            let mut v = vec![load_meta];
            if mask {
                v.push(BPF_ALU64_IMM(BPF_AND, BPF_REG_0, 0xff));
            }
            Some((v, Inlined::BpfGetFuncArgCnt, nr_src(mask)))
        }
        Instr::CallHelper(BPF_FUNC_GET_FUNC_IP) if prog.attach.has_trampoline() => Some((
            vec![BPF_LDX_MEM(BPF_DW, BPF_REG_0, BPF_REG_1, -16)],
            Inlined::BpfGetFuncIp,
            "ip = ctx[-2] (stored because of IP_ARG)".into(),
        )),
        _ => None,
    }
}

fn nr_src(mask: bool) -> String {
    if mask {
        "nr_args = ctx[-1] & 0xff".into()
    } else {
        "nr_args = ctx[-1]".into()
    }
}

/// Applies the fixups to a verified program.
pub fn fixup(prog: &Program, func: &FuncModel, profile: &Profile) -> Result<Fixed, PatchError> {
    let decoded = crate::isa::decode_program(&prog.insns).map_err(|_| PatchError::Position(0))?;
    let mut p = Patcher::new(&prog.insns);
    let mut notes = Vec::new();
    for (orig, instr) in decoded {
        let Some((seq, what, detail)) = inline_for(&instr, prog, func, profile) else {
            continue;
        };
        let pos = p.range_of(orig).map(|r| r.start).unwrap_or(orig);
        p.patch(pos, &seq)?;
        notes.push(FixupNote {
            orig,
            range: pos..pos + seq.len(),
            what,
            detail,
        });
    }
    let (insns, map) = p.finish();
    let helper_calls = crate::isa::decode_program(&insns)
        .map_err(|e| PatchError::Position(e.index))?
        .into_iter()
        .filter_map(|(index, instr)| match instr {
            Instr::CallHelper(helper) => Some(HelperCall {
                index,
                helper,
                func: helper_impl(helper, prog.attach),
            }),
            _ => None,
        })
        .collect();
    Ok(Fixed {
        insns,
        map,
        notes,
        helper_calls,
    })
}

/// One row of a program shown before and after its fixups, side by side: each original
/// instruction with the instructions it became, the ones the fixups removed and those they
/// added outside any original's range (none today; nothing may be lost).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct JoinRow {
    /// The original instruction (slot index) this row belongs to; `None` for an added one.
    pub orig: Option<usize>,
    /// The first row of its original: where the original is shown.
    pub first: bool,
    /// The fixed instruction (slot index) on this row; `None` where the original was removed.
    pub after: Option<usize>,
    /// The fixup that rewrote the original, as an index into [`Fixed::notes`].
    pub note: Option<usize>,
}

/// Instruction start slots of a program (a 64-bit load is one instruction of two slots); every
/// slot where the program does not decode.
fn starts(insns: &[Insn]) -> Vec<usize> {
    match crate::isa::decode_program_internal(insns) {
        Ok(v) => v.into_iter().map(|(i, _)| i).collect(),
        Err(_) => (0..insns.len()).collect(),
    }
}

/// Joins a program with its fixed form, row by row (the CLI's `check` and the playground's
/// fixups table show these rows).
pub fn join(original: &[Insn], fixed: &Fixed) -> Vec<JoinRow> {
    let before = starts(original);
    let after = starts(&fixed.insns);
    let covered = |j: usize| fixed.map.iter().any(|r| r.contains(&j));
    let added = |j: usize| JoinRow {
        orig: None,
        first: true,
        after: Some(j),
        note: None,
    };
    let mut rows = Vec::with_capacity(after.len().max(before.len()));
    let mut next = 0;
    for &i in &before {
        let range = fixed.map.get(i).cloned().unwrap_or(0..0);
        while next < after.len() && after[next] < range.start {
            if !covered(after[next]) {
                rows.push(added(after[next]));
            }
            next += 1;
        }
        next = next.max(after.iter().position(|&j| j >= range.end).unwrap_or(after.len()));
        let note = fixed.notes.iter().position(|n| n.orig == i);
        let mine: Vec<usize> = after.iter().copied().filter(|j| range.contains(j)).collect();
        if mine.is_empty() {
            rows.push(JoinRow {
                orig: Some(i),
                first: true,
                after: None,
                note,
            });
        }
        for (k, j) in mine.into_iter().enumerate() {
            rows.push(JoinRow {
                orig: Some(i),
                first: k == 0,
                after: Some(j),
                note,
            });
        }
    }
    rows.extend(after[next..].iter().copied().filter(|&j| !covered(j)).map(added));
    rows
}
