//! JIT images against the kernel's: each captured program's xlated instructions go through
//! [`crate::jit::compile`] at the recorded image addresses, and the bytes must be the kernel's.
//!
//! What the JIT reads besides the program comes from the capture: the image addresses
//! (`jited_ksyms`), `__bpf_call_base` from the recorded helper targets (`call_addr - imm`, which
//! must agree across calls) or the boot's `kernel_symbols`. Addresses a capture does not record
//! (map pointers, the return thunk, the retpoline thunk, a poked tail-call target, whether a
//! direct tail call's slot was populated) are read from the kernel's bytes at the place the
//! model's own image puts them; every other byte is the model's.

use super::capture::{JitCapture, TrampolineCapture};
use super::{aligned_rows, decode_x86, Difference, KernelContext, Matched, OracleError, Verdict};
use crate::isa::{Insn, Instr};
use crate::jit::{self, Addresses, JitImage, JitInput, Role, TailCall, BPF_FUNC_TAIL_CALL, INDIRECT_THUNK_SIZE};
use crate::kernel::profile::Profile;

/// A value that makes `emit_mov_imm64()` choose `movabs`, as every kernel pointer does.
const PLACEHOLDER_PTR: u64 = 0xffff_8000_0000_0000;

/// One program to rebuild: the xlated slots and what the capture records around them.
pub(crate) struct JitCase<'a> {
    /// The program's name (for the difference).
    pub name: String,
    /// The xlated slots.
    pub insns: Vec<Insn>,
    /// Recorded helper targets: (slot, address).
    pub calls: Vec<(usize, u64)>,
    /// Each subprogram's image address.
    pub images: Vec<u64>,
    /// The kernel's images, one after the other.
    pub want: &'a [u8],
    /// Each subprogram's length (empty: one image).
    pub lens: Vec<usize>,
    /// `__bpf_call_base` of the boot, if recorded.
    pub call_base: Option<u64>,
}

fn rel32_target(bytes: &[u8], at: usize, addr: u64) -> Option<u64> {
    let b = bytes.get(at..at + 5)?;
    if b[0] != 0xe9 && b[0] != 0xe8 {
        return None;
    }
    let rel = i32::from_le_bytes([b[1], b[2], b[3], b[4]]);
    Some(addr.wrapping_add(at as u64 + 5).wrapping_add(rel as i64 as u64))
}

const NOP5: [u8; 5] = [0x0f, 0x1f, 0x44, 0x00, 0x00];

/// Splits the kernel's bytes into its subprogram images.
fn split<'b>(want: &'b [u8], lens: &[usize], n: usize) -> Vec<&'b [u8]> {
    if lens.len() != n || lens.iter().sum::<usize>() != want.len() {
        return if n == 1 { vec![want] } else { Vec::new() };
    }
    let mut out = Vec::with_capacity(n);
    let mut at = 0;
    for l in lens {
        out.push(&want[at..at + l]);
        at += l;
    }
    out
}

/// Reads the addresses the capture does not record from the kernel's bytes, at the places the
/// model's image (built with placeholders) puts them.
fn probe(model: &JitImage, kernel: &[&[u8]], insns: &[Insn], addrs: &mut Addresses, tail_call_offset: u64) {
    for (f, k) in model.funcs.iter().zip(kernel) {
        for i in &f.insns {
            let at = i.offset;
            match i.role {
                Role::Return if i.bytes.first() == Some(&0xe9) => {
                    if let Some(t) = rel32_target(k, at, f.addr) {
                        addrs.return_thunk = Some(t);
                    }
                }
                Role::TailCall if i.bytes.first() == Some(&0xe9) => {
                    if let Some(t) = rel32_target(k, at, f.addr) {
                        addrs.indirect_thunk_array = Some(t.wrapping_sub(INDIRECT_THUNK_SIZE));
                    }
                }
                Role::PokeBypass => {
                    let poked = k.get(at..at + 5) == Some(&NOP5[..]);
                    if let (true, Some(slot)) = (poked, i.bpf) {
                        addrs.tail_calls.insert(slot, TailCall::Direct { target: Some(0) });
                    }
                }
                Role::PokeTarget => {
                    let Some(slot) = i.bpf else { continue };
                    if let Some(TailCall::Direct { target: Some(_) }) = addrs.tail_calls.get(&slot) {
                        let t = rel32_target(k, at, f.addr).map(|t| t.wrapping_sub(tail_call_offset));
                        addrs.tail_calls.insert(slot, TailCall::Direct { target: t });
                    }
                }
                Role::Body => {
                    let Some(slot) = i.bpf else { continue };
                    let pseudo = matches!(
                        Instr::decode_internal(insns, slot),
                        Ok(Instr::LdImm64 { kind, .. }) if jit::needs_address(kind)
                    );
                    let movabs = i.bytes.len() == 10 && matches!(i.bytes[0], 0x48 | 0x49);
                    if pseudo && movabs {
                        if let Some(b) = k.get(at + 2..at + 10) {
                            let v = u64::from_le_bytes(b.try_into().unwrap_or([0; 8]));
                            addrs.imm64.insert(slot, v);
                        }
                    }
                }
                _ => {}
            }
        }
    }
}

/// The program as the JIT takes it from the program as the kernel dumps it: a dumped
/// bpf-to-bpf call carries its relative offset in `off` and the callee's subprogram index in
/// `imm` (`jit_subprogs()` leaves them so); the JIT input has the offset in `imm`.
pub(crate) fn from_dump(insns: &[Insn]) -> Vec<Insn> {
    insns
        .iter()
        .map(|i| {
            if i.code == crate::isa::opcode::BPF_JMP | crate::isa::opcode::BPF_CALL
                && i.src == crate::isa::opcode::BPF_PSEUDO_CALL
                && i.off != 0
            {
                Insn::new(i.code, i.dst, i.src, 0, i.off as i32)
            } else {
                *i
            }
        })
        .collect()
}

/// Rebuilds one program's images and compares them with the kernel's: `Ok(bytes compared)` or
/// the difference.
pub(crate) fn rebuild(case: &JitCase<'_>, profile: &Profile) -> Result<usize, Difference> {
    let refused = |e: jit::JitError| Difference::JitRefused {
        program: case.name.clone(),
        error: e,
    };
    let insns = from_dump(&case.insns);
    let prog = crate::isa::decode_program_internal(&insns).map_err(|e| {
        refused(jit::JitError {
            index: Some(e.index),
            kind: jit::JitErrorKind::Decode(e),
        })
    })?;
    let mut call_base = case.call_base;
    for &(slot, addr) in &case.calls {
        if let Some((_, Instr::CallHelper(imm) | Instr::CallKfunc(imm))) = prog.iter().find(|(s, _)| *s == slot) {
            let base = addr.wrapping_sub(*imm as i64 as u64);
            match call_base {
                Some(b) if b != base && case.call_base.is_none() => {
                    return Err(Difference::HelperTarget {
                        index: slot,
                        model: Some(format!("{:#x}", b.wrapping_add(*imm as i64 as u64))),
                        kernel: format!("{addr:#x}"),
                    })
                }
                _ => call_base = call_base.or(Some(base)),
            }
        }
    }
    let mut addrs = Addresses {
        images: case.images.clone(),
        call_base: call_base.unwrap_or(0),
        return_thunk: case.images.first().copied(),
        indirect_thunk_array: case.images.first().copied(),
        ..Addresses::default()
    };
    for (slot, instr) in &prog {
        match instr {
            Instr::LdImm64 { kind, .. } if jit::needs_address(*kind) => {
                addrs.imm64.insert(*slot, PLACEHOLDER_PTR + (*slot as u64) * 0x100);
            }
            Instr::CallHelper(BPF_FUNC_TAIL_CALL) => {
                let direct = jit::tail_call_key(&insns, *slot).map_err(refused)?.is_some();
                if direct {
                    addrs.tail_calls.insert(*slot, TailCall::Direct { target: None });
                }
            }
            _ => {}
        }
    }
    let input = JitInput {
        insns: &insns,
        stack_depths: None,
    };
    let first = jit::compile(&input, profile, &addrs).map_err(refused)?;
    let kernel = split(case.want, &case.lens, first.funcs.len());
    let tail_call_offset = 12 + if profile.mitigations.ibt { 4 } else { 0 };
    probe(&first, &kernel, &insns, &mut addrs, tail_call_offset);
    let image = jit::compile(&input, profile, &addrs).map_err(refused)?;
    if kernel.len() != image.funcs.len() {
        return Err(Difference::JitFuncs {
            program: case.name.clone(),
            model: image.funcs.iter().map(|f| f.bytes.len()).collect(),
            kernel: case.lens.clone(),
        });
    }
    for (f, k) in image.funcs.iter().zip(&kernel) {
        if f.bytes != *k {
            let (rows, first) = aligned_rows(&decode_x86(&f.bytes, f.addr), &decode_x86(k, f.addr), |i| {
                i.bytes.clone()
            });
            return Err(Difference::Jit {
                program: case.name.clone(),
                func: f.index,
                image: f.addr,
                first: first.unwrap_or(0),
                rows,
            });
        }
    }
    Ok(case.want.len())
}

fn verdict(r: Result<usize, Difference>, programs: usize) -> Verdict {
    match r {
        Ok(compared) => Verdict::Ok(Matched {
            jit_bytes: 0,
            compared,
            programs,
            flags: None,
            bytes: true,
        }),
        Err(d) => Verdict::Differs(d),
    }
}

/// Rebuilds a captured JIT image (`jit/NAME.json`) under `profile`.
pub fn check_jit(text: &str, profile: &Profile, _ctx: &KernelContext) -> Result<Verdict, OracleError> {
    let c = JitCapture::from_json(text)?;
    let insns = c
        .xlated
        .iter()
        .map(|i| i.insn("xlated"))
        .collect::<Result<Vec<_>, _>>()?;
    let calls = c
        .xlated
        .iter()
        .enumerate()
        .filter_map(|(k, i)| i.call_addr.map(|a| (k, a.0)))
        .collect();
    let case = JitCase {
        name: c.name.clone(),
        insns,
        calls,
        images: c.jited_ksyms.iter().map(|a| a.0).collect(),
        want: &c.jited_hex.0,
        lens: c.jited_func_lens.clone(),
        call_base: None,
    };
    Ok(verdict(rebuild(&case, profile), 1))
}

/// The JIT images of a trampoline capture's programs (`xlated_hex`, `jited_hex`, `bpf_func`):
/// the bytes compared, or the first difference.
pub(crate) fn check_programs(c: &TrampolineCapture, profile: &Profile) -> Result<usize, Difference> {
    let call_base = c.kernel_symbols.get("__bpf_call_base").map(|a| a.0);
    let mut compared = 0;
    for p in &c.programs {
        let (Some(x), Some(j)) = (&p.xlated_hex, &p.jited_hex) else {
            continue;
        };
        let Some(insns) = crate::isa::split_slots(&x.0) else {
            return Err(Difference::JitRefused {
                program: p.ksym.clone().unwrap_or_default(),
                error: jit::JitError {
                    index: None,
                    kind: jit::JitErrorKind::Decode(crate::isa::DecodeError {
                        index: 0,
                        kind: crate::isa::DecodeErrorKind::BadLength(x.0.len()),
                    }),
                },
            });
        };
        let case = JitCase {
            name: p.ksym.clone().unwrap_or_else(|| format!("program {}", p.link_order)),
            insns,
            calls: Vec::new(),
            images: vec![p.bpf_func.0],
            want: &j.0,
            lens: Vec::new(),
            call_base,
        };
        compared += rebuild(&case, profile)?;
    }
    Ok(compared)
}
