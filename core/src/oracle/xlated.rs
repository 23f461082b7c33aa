//! Rebuilding the verifier's rewrite of a captured program: the model's fixups applied to the
//! recorded input give the recorded output, slot for slot.

use super::capture::XlatedCapture;
use super::{aligned_rows, BpfSlot, Difference, KernelContext, Matched, OracleError, SkipReason, Verdict};
use crate::isa::names::{BPF_FUNC_GET_FUNC_ARG, BPF_FUNC_GET_FUNC_ARG_CNT};
use crate::isa::opcode::{BPF_DW, BPF_IMM, BPF_LD};
use crate::isa::{decode_program, Insn, Instr};
use crate::kernel::fixup::fixup;
use crate::kernel::profile::Profile;
use crate::kernel::program::{parse_prototype, AttachType, FuncModel, Program};
use crate::scenario::Problem;
use std::collections::BTreeMap;

/// `BPF_PSEUDO_MAP_FD` and `BPF_PSEUDO_MAP_VALUE`: a 64-bit load of a map (or of a map value's
/// address), its `imm` the loader's map fd, which the kernel's dump shows as the map's id.
const PSEUDO_MAPS: [u8; 2] = [1, 2];

fn is_map_load(i: &Insn) -> bool {
    i.code == BPF_LD | BPF_DW | BPF_IMM && PSEUDO_MAPS.contains(&i.src)
}

/// The traced function of a program: its target's prototype from the kernel's trampoline
/// captures. A tp_btf program's tracepoint has none recorded; it matters only for the constant
/// inline of `bpf_get_func_arg*`, so such a program is skipped only if it would use that.
fn function_of(
    c: &XlatedCapture,
    attach: AttachType,
    input: &[Insn],
    profile: &Profile,
    ctx: &KernelContext,
) -> Result<FuncModel, SkipReason> {
    let target = c.attach_target.clone().unwrap_or_default();
    if let Some(spec) = ctx.functions.get(&target) {
        return parse_prototype(&spec.prototype, &spec.structs).map_err(|_| SkipReason::UnknownTarget { target });
    }
    let uses_nr_args = decode_program(input).is_ok_and(|d| {
        d.iter()
            .any(|(_, i)| matches!(i, Instr::CallHelper(BPF_FUNC_GET_FUNC_ARG | BPF_FUNC_GET_FUNC_ARG_CNT)))
    });
    if attach == AttachType::TpBtf && !(uses_nr_args && profile.inlines.raw_tp_const) {
        return Ok(FuncModel {
            name: "tracepoint".into(),
            ret_ty: "void".into(),
            ret_size: 0,
            args: vec![],
        });
    }
    Err(SkipReason::UnknownTarget {
        target: if target.is_empty() { c.name.clone() } else { target },
    })
}

/// Rebuilds a captured rewrite (JSON text) under `profile`.
pub fn check_xlated(text: &str, profile: &Profile, ctx: &KernelContext) -> Result<Verdict, OracleError> {
    let c = XlatedCapture::from_json(text)?;
    if let Some(t) = c.prog_type.as_deref().filter(|t| *t != "TRACING") {
        return Ok(Verdict::Skipped(SkipReason::ProgramType { prog_type: t.into() }));
    }
    let kind = c.expected_attach_type.clone().unwrap_or_default();
    let Some(attach) = AttachType::parse(&kind).filter(|a| a.is_tracing()) else {
        return Ok(Verdict::Skipped(SkipReason::AttachKind { kind }));
    };
    let input = c.input.iter().map(|i| i.insn("input")).collect::<Result<Vec<_>, _>>()?;
    let kernel = c
        .xlated
        .iter()
        .map(|i| i.insn("xlated"))
        .collect::<Result<Vec<_>, _>>()?;
    if input.is_empty() {
        return Err(OracleError::Missing { field: "input" });
    }
    let func = match function_of(&c, attach, &input, profile, ctx) {
        Ok(f) => f,
        Err(skip) => return Ok(Verdict::Skipped(skip)),
    };
    let prog = Program {
        name: c.name.clone(),
        attach,
        sleepable: false,
        cookie: 0,
        insns: input,
    };
    let fixed = match fixup(&prog, &func, profile) {
        Ok(f) => f,
        Err(e) => {
            return Ok(Verdict::Differs(Difference::Refused {
                problems: vec![Problem::Fixup {
                    program: c.name.clone(),
                    error: e,
                }],
            }))
        }
    };
    let mut model = fixed.insns.clone();
    // Addresses of that boot: the function each remaining helper call resolves to ...
    for hc in &fixed.helper_calls {
        let Some(sym) = c.xlated.get(hc.index).and_then(|k| k.call_sym.as_deref()) else {
            continue;
        };
        if hc.func != Some(sym) {
            return Ok(Verdict::Differs(Difference::HelperTarget {
                index: hc.index,
                model: hc.func.map(str::to_string),
                kernel: sym.to_string(),
            }));
        }
        model[hc.index].imm = kernel[hc.index].imm;
    }
    // ... and the id of each map the loader named by fd (one fd, one id).
    let mut ids: BTreeMap<i32, i32> = BTreeMap::new();
    for (i, m) in model.iter_mut().enumerate() {
        let Some(k) = kernel
            .get(i)
            .filter(|k| is_map_load(m) && is_map_load(k) && k.src == m.src)
        else {
            continue;
        };
        if *ids.entry(m.imm).or_insert(k.imm) == k.imm {
            m.imm = k.imm;
        }
    }
    if model != kernel {
        let slots = |v: &[Insn]| -> Vec<BpfSlot> {
            v.iter()
                .enumerate()
                .map(|(index, &insn)| BpfSlot { index, insn })
                .collect()
        };
        let (rows, first) = aligned_rows(&slots(&model), &slots(&kernel), |s| s.insn);
        return Ok(Verdict::Differs(Difference::Program {
            rows,
            first: first.unwrap_or(0),
        }));
    }
    Ok(Verdict::Ok(Matched {
        jit_bytes: 0,
        bytes: false,
        compared: kernel.len(),
        programs: 1,
        flags: None,
    }))
}
