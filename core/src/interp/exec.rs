//! The execution loop. One `match` on the opcode byte per instruction; registers live in a
//! 16-entry array indexed with `& 15` so no bounds checks are needed; all memory goes through
//! the [`Host`], which checks every access.

use super::memory::{CallFault, Host};
use super::op::Op;
use super::{RunOptions, RunResult, VmError, VmErrorKind, CODE_BASE, MAX_CALL_DEPTH, STACK_FRAME_SIZE};
use crate::isa::AtomicOp;

struct Frame {
    ret: usize,
    saved: [u64; 4],
    fp: u64,
}

#[inline(always)]
fn sdiv64(a: u64, b: u64) -> u64 {
    if b == 0 {
        0
    } else {
        (a as i64).wrapping_div(b as i64) as u64
    }
}
#[inline(always)]
fn smod64(a: u64, b: u64) -> u64 {
    if b == 0 {
        a
    } else {
        (a as i64).wrapping_rem(b as i64) as u64
    }
}
#[inline(always)]
fn sdiv32(a: u32, b: u32) -> u32 {
    if b == 0 {
        0
    } else {
        (a as i32).wrapping_div(b as i32) as u32
    }
}
#[inline(always)]
fn smod32(a: u32, b: u32) -> u32 {
    if b == 0 {
        a
    } else {
        (a as i32).wrapping_rem(b as i32) as u32
    }
}

fn sign_extend(v: u64, size: u8) -> u64 {
    match size {
        1 => v as i8 as i64 as u64,
        2 => v as i16 as i64 as u64,
        4 => v as i32 as i64 as u64,
        _ => v,
    }
}

fn call_error(pc: usize, f: CallFault, unknown: VmErrorKind) -> VmError {
    VmError {
        pc,
        kind: match f {
            CallFault::Unknown => unknown,
            CallFault::Failed(m) => VmErrorKind::CallFailed(m),
        },
    }
}

pub(crate) fn run<H: Host>(ops: &[Op], host: &mut H, args: [u64; 5], opts: RunOptions) -> Result<RunResult, VmError> {
    let mut r = [0u64; 16];
    r[1..6].copy_from_slice(&args);
    r[10] = opts.stack_top;
    let mut frames: Vec<Frame> = Vec::new();
    let mut pc: usize = 0;
    // Instruction budget without a per-instruction counter: `q` is the budget minus the
    // instructions executed before the current straight-line run, plus the run's start index.
    // Leaving the run at `cur` for `next` executes `cur + 1 - start` instructions, so the budget
    // holds iff `q > cur`, and the new `q` is `q - (cur + 1) + next`. Every endless execution
    // takes branches, so this check is exact.
    // Budgets above 2^62 are capped there so that `q` (which moves by at most the program
    // length per step) cannot overflow.
    let budget = opts.budget.min(1 << 62) as i64;
    let mut q: i64 = budget;
    macro_rules! leave_run {
        ($cur:expr, $next:expr) => {{
            let cur = $cur as i64;
            if q <= cur {
                return Err(VmError {
                    pc: $cur,
                    kind: VmErrorKind::BudgetExhausted { budget: opts.budget },
                });
            }
            q += $next as i64 - cur - 1;
        }};
    }
    macro_rules! executed {
        ($cur:expr) => {
            (budget - q + $cur as i64 + 1) as u64
        };
    }
    loop {
        let Some(op) = ops.get(pc) else {
            return Err(VmError {
                pc: pc.saturating_sub(1),
                kind: VmErrorKind::FellOffEnd,
            });
        };
        let cur = pc;
        pc += 1;
        macro_rules! jcc {
            ($c:expr, $t:expr) => {{
                if $c {
                    leave_run!(cur, $t);
                    pc = $t as usize;
                }
            }};
        }
        match *op {
            Op::Add64I { d, imm } => r[d as usize & 15] = r[d as usize & 15].wrapping_add(imm),
            Op::Add64R { d, s } => r[d as usize & 15] = r[d as usize & 15].wrapping_add(r[s as usize & 15]),
            Op::Sub64I { d, imm } => r[d as usize & 15] = r[d as usize & 15].wrapping_sub(imm),
            Op::Sub64R { d, s } => r[d as usize & 15] = r[d as usize & 15].wrapping_sub(r[s as usize & 15]),
            Op::Mul64I { d, imm } => r[d as usize & 15] = r[d as usize & 15].wrapping_mul(imm),
            Op::Mul64R { d, s } => r[d as usize & 15] = r[d as usize & 15].wrapping_mul(r[s as usize & 15]),
            Op::Div64I { d, imm } => r[d as usize & 15] = r[d as usize & 15].checked_div(imm).unwrap_or(0),
            Op::Div64R { d, s } => r[d as usize & 15] = r[d as usize & 15].checked_div(r[s as usize & 15]).unwrap_or(0),
            Op::SDiv64I { d, imm } => r[d as usize & 15] = sdiv64(r[d as usize & 15], imm),
            Op::SDiv64R { d, s } => r[d as usize & 15] = sdiv64(r[d as usize & 15], r[s as usize & 15]),
            Op::Or64I { d, imm } => r[d as usize & 15] |= imm,
            Op::Or64R { d, s } => r[d as usize & 15] |= r[s as usize & 15],
            Op::And64I { d, imm } => r[d as usize & 15] &= imm,
            Op::And64R { d, s } => r[d as usize & 15] &= r[s as usize & 15],
            Op::Lsh64I { d, imm } => r[d as usize & 15] <<= imm & 63,
            Op::Lsh64R { d, s } => r[d as usize & 15] <<= r[s as usize & 15] & 63,
            Op::Rsh64I { d, imm } => r[d as usize & 15] >>= imm & 63,
            Op::Rsh64R { d, s } => r[d as usize & 15] >>= r[s as usize & 15] & 63,
            Op::Mod64I { d, imm } => {
                r[d as usize & 15] = r[d as usize & 15].checked_rem(imm).unwrap_or(r[d as usize & 15])
            }
            Op::Mod64R { d, s } => {
                r[d as usize & 15] = r[d as usize & 15]
                    .checked_rem(r[s as usize & 15])
                    .unwrap_or(r[d as usize & 15])
            }
            Op::SMod64I { d, imm } => r[d as usize & 15] = smod64(r[d as usize & 15], imm),
            Op::SMod64R { d, s } => r[d as usize & 15] = smod64(r[d as usize & 15], r[s as usize & 15]),
            Op::Xor64I { d, imm } => r[d as usize & 15] ^= imm,
            Op::Xor64R { d, s } => r[d as usize & 15] ^= r[s as usize & 15],
            Op::Mov64I { d, imm } => r[d as usize & 15] = imm,
            Op::Mov64R { d, s } => r[d as usize & 15] = r[s as usize & 15],
            Op::Arsh64I { d, imm } => r[d as usize & 15] = ((r[d as usize & 15] as i64) >> (imm & 63)) as u64,
            Op::Arsh64R { d, s } => {
                r[d as usize & 15] = ((r[d as usize & 15] as i64) >> (r[s as usize & 15] & 63)) as u64
            }
            Op::Add32I { d, imm } => r[d as usize & 15] = ((r[d as usize & 15] as u32).wrapping_add(imm as u32)) as u64,
            Op::Add32R { d, s } => {
                r[d as usize & 15] = ((r[d as usize & 15] as u32).wrapping_add(r[s as usize & 15] as u32)) as u64
            }
            Op::Sub32I { d, imm } => r[d as usize & 15] = ((r[d as usize & 15] as u32).wrapping_sub(imm as u32)) as u64,
            Op::Sub32R { d, s } => {
                r[d as usize & 15] = ((r[d as usize & 15] as u32).wrapping_sub(r[s as usize & 15] as u32)) as u64
            }
            Op::Mul32I { d, imm } => r[d as usize & 15] = ((r[d as usize & 15] as u32).wrapping_mul(imm as u32)) as u64,
            Op::Mul32R { d, s } => {
                r[d as usize & 15] = ((r[d as usize & 15] as u32).wrapping_mul(r[s as usize & 15] as u32)) as u64
            }
            Op::Div32I { d, imm } => {
                r[d as usize & 15] = ((r[d as usize & 15] as u32).checked_div(imm as u32).unwrap_or(0)) as u64
            }
            Op::Div32R { d, s } => {
                r[d as usize & 15] = ((r[d as usize & 15] as u32)
                    .checked_div(r[s as usize & 15] as u32)
                    .unwrap_or(0)) as u64
            }
            Op::SDiv32I { d, imm } => r[d as usize & 15] = (sdiv32(r[d as usize & 15] as u32, imm as u32)) as u64,
            Op::SDiv32R { d, s } => {
                r[d as usize & 15] = (sdiv32(r[d as usize & 15] as u32, r[s as usize & 15] as u32)) as u64
            }
            Op::Or32I { d, imm } => r[d as usize & 15] = ((r[d as usize & 15] as u32) | (imm as u32)) as u64,
            Op::Or32R { d, s } => {
                r[d as usize & 15] = ((r[d as usize & 15] as u32) | (r[s as usize & 15] as u32)) as u64
            }
            Op::And32I { d, imm } => r[d as usize & 15] = ((r[d as usize & 15] as u32) & (imm as u32)) as u64,
            Op::And32R { d, s } => {
                r[d as usize & 15] = ((r[d as usize & 15] as u32) & (r[s as usize & 15] as u32)) as u64
            }
            Op::Lsh32I { d, imm } => r[d as usize & 15] = ((r[d as usize & 15] as u32) << ((imm as u32) & 31)) as u64,
            Op::Lsh32R { d, s } => {
                r[d as usize & 15] = ((r[d as usize & 15] as u32) << ((r[s as usize & 15] as u32) & 31)) as u64
            }
            Op::Rsh32I { d, imm } => r[d as usize & 15] = ((r[d as usize & 15] as u32) >> ((imm as u32) & 31)) as u64,
            Op::Rsh32R { d, s } => {
                r[d as usize & 15] = ((r[d as usize & 15] as u32) >> ((r[s as usize & 15] as u32) & 31)) as u64
            }
            Op::Mod32I { d, imm } => {
                r[d as usize & 15] = ((r[d as usize & 15] as u32)
                    .checked_rem(imm as u32)
                    .unwrap_or(r[d as usize & 15] as u32)) as u64
            }
            Op::Mod32R { d, s } => {
                r[d as usize & 15] = ((r[d as usize & 15] as u32)
                    .checked_rem(r[s as usize & 15] as u32)
                    .unwrap_or(r[d as usize & 15] as u32)) as u64
            }
            Op::SMod32I { d, imm } => r[d as usize & 15] = (smod32(r[d as usize & 15] as u32, imm as u32)) as u64,
            Op::SMod32R { d, s } => {
                r[d as usize & 15] = (smod32(r[d as usize & 15] as u32, r[s as usize & 15] as u32)) as u64
            }
            Op::Xor32I { d, imm } => r[d as usize & 15] = ((r[d as usize & 15] as u32) ^ (imm as u32)) as u64,
            Op::Xor32R { d, s } => {
                r[d as usize & 15] = ((r[d as usize & 15] as u32) ^ (r[s as usize & 15] as u32)) as u64
            }
            Op::Mov32I { d, imm } => r[d as usize & 15] = (imm as u32) as u64,
            Op::Mov32R { d, s } => r[d as usize & 15] = (r[s as usize & 15] as u32) as u64,
            Op::Arsh32I { d, imm } => {
                r[d as usize & 15] = ((((r[d as usize & 15] as u32) as i32) >> ((imm as u32) & 31)) as u32) as u64
            }
            Op::Arsh32R { d, s } => {
                r[d as usize & 15] =
                    ((((r[d as usize & 15] as u32) as i32) >> ((r[s as usize & 15] as u32) & 31)) as u32) as u64
            }
            Op::JEq64I { d, imm, t } => jcc!(r[d as usize & 15] == imm, t),
            Op::JEq64R { d, s, t } => jcc!(r[d as usize & 15] == r[s as usize & 15], t),
            Op::JEq32I { d, imm, t } => jcc!((r[d as usize & 15] as u32) == (imm as u32), t),
            Op::JEq32R { d, s, t } => jcc!((r[d as usize & 15] as u32) == (r[s as usize & 15] as u32), t),
            Op::JGt64I { d, imm, t } => jcc!(r[d as usize & 15] > imm, t),
            Op::JGt64R { d, s, t } => jcc!(r[d as usize & 15] > r[s as usize & 15], t),
            Op::JGt32I { d, imm, t } => jcc!((r[d as usize & 15] as u32) > (imm as u32), t),
            Op::JGt32R { d, s, t } => jcc!((r[d as usize & 15] as u32) > (r[s as usize & 15] as u32), t),
            Op::JGe64I { d, imm, t } => jcc!(r[d as usize & 15] >= imm, t),
            Op::JGe64R { d, s, t } => jcc!(r[d as usize & 15] >= r[s as usize & 15], t),
            Op::JGe32I { d, imm, t } => jcc!((r[d as usize & 15] as u32) >= (imm as u32), t),
            Op::JGe32R { d, s, t } => jcc!((r[d as usize & 15] as u32) >= (r[s as usize & 15] as u32), t),
            Op::JSet64I { d, imm, t } => jcc!(r[d as usize & 15] & imm != 0, t),
            Op::JSet64R { d, s, t } => jcc!(r[d as usize & 15] & r[s as usize & 15] != 0, t),
            Op::JSet32I { d, imm, t } => jcc!((r[d as usize & 15] as u32) & (imm as u32) != 0, t),
            Op::JSet32R { d, s, t } => jcc!((r[d as usize & 15] as u32) & (r[s as usize & 15] as u32) != 0, t),
            Op::JNe64I { d, imm, t } => jcc!(r[d as usize & 15] != imm, t),
            Op::JNe64R { d, s, t } => jcc!(r[d as usize & 15] != r[s as usize & 15], t),
            Op::JNe32I { d, imm, t } => jcc!((r[d as usize & 15] as u32) != (imm as u32), t),
            Op::JNe32R { d, s, t } => jcc!((r[d as usize & 15] as u32) != (r[s as usize & 15] as u32), t),
            Op::JSgt64I { d, imm, t } => jcc!((r[d as usize & 15] as i64) > (imm as i64), t),
            Op::JSgt64R { d, s, t } => jcc!((r[d as usize & 15] as i64) > (r[s as usize & 15] as i64), t),
            Op::JSgt32I { d, imm, t } => jcc!(((r[d as usize & 15] as u32) as i32) > ((imm as u32) as i32), t),
            Op::JSgt32R { d, s, t } => jcc!(
                ((r[d as usize & 15] as u32) as i32) > ((r[s as usize & 15] as u32) as i32),
                t
            ),
            Op::JSge64I { d, imm, t } => jcc!((r[d as usize & 15] as i64) >= (imm as i64), t),
            Op::JSge64R { d, s, t } => jcc!((r[d as usize & 15] as i64) >= (r[s as usize & 15] as i64), t),
            Op::JSge32I { d, imm, t } => jcc!(((r[d as usize & 15] as u32) as i32) >= ((imm as u32) as i32), t),
            Op::JSge32R { d, s, t } => jcc!(
                ((r[d as usize & 15] as u32) as i32) >= ((r[s as usize & 15] as u32) as i32),
                t
            ),
            Op::JLt64I { d, imm, t } => jcc!(r[d as usize & 15] < imm, t),
            Op::JLt64R { d, s, t } => jcc!(r[d as usize & 15] < r[s as usize & 15], t),
            Op::JLt32I { d, imm, t } => jcc!((r[d as usize & 15] as u32) < (imm as u32), t),
            Op::JLt32R { d, s, t } => jcc!((r[d as usize & 15] as u32) < (r[s as usize & 15] as u32), t),
            Op::JLe64I { d, imm, t } => jcc!(r[d as usize & 15] <= imm, t),
            Op::JLe64R { d, s, t } => jcc!(r[d as usize & 15] <= r[s as usize & 15], t),
            Op::JLe32I { d, imm, t } => jcc!((r[d as usize & 15] as u32) <= (imm as u32), t),
            Op::JLe32R { d, s, t } => jcc!((r[d as usize & 15] as u32) <= (r[s as usize & 15] as u32), t),
            Op::JSlt64I { d, imm, t } => jcc!((r[d as usize & 15] as i64) < (imm as i64), t),
            Op::JSlt64R { d, s, t } => jcc!((r[d as usize & 15] as i64) < (r[s as usize & 15] as i64), t),
            Op::JSlt32I { d, imm, t } => jcc!(((r[d as usize & 15] as u32) as i32) < ((imm as u32) as i32), t),
            Op::JSlt32R { d, s, t } => jcc!(
                ((r[d as usize & 15] as u32) as i32) < ((r[s as usize & 15] as u32) as i32),
                t
            ),
            Op::JSle64I { d, imm, t } => jcc!((r[d as usize & 15] as i64) <= (imm as i64), t),
            Op::JSle64R { d, s, t } => jcc!((r[d as usize & 15] as i64) <= (r[s as usize & 15] as i64), t),
            Op::JSle32I { d, imm, t } => jcc!(((r[d as usize & 15] as u32) as i32) <= ((imm as u32) as i32), t),
            Op::JSle32R { d, s, t } => jcc!(
                ((r[d as usize & 15] as u32) as i32) <= ((r[s as usize & 15] as u32) as i32),
                t
            ),
            Op::MovSx64 { d, s, bits } => {
                let v = r[s as usize & 15];
                r[d as usize & 15] = match bits {
                    8 => v as i8 as i64 as u64,
                    16 => v as i16 as i64 as u64,
                    _ => v as i32 as i64 as u64,
                }
            }
            Op::MovSx32 { d, s, bits } => {
                let v = r[s as usize & 15];
                r[d as usize & 15] = match bits {
                    8 => v as i8 as i32 as u32 as u64,
                    _ => v as i16 as i32 as u32 as u64,
                }
            }
            Op::Neg64 { d } => r[d as usize & 15] = r[d as usize & 15].wrapping_neg(),
            Op::Neg32 { d } => r[d as usize & 15] = (r[d as usize & 15] as u32).wrapping_neg() as u64,
            Op::Le { d, bits } => {
                let v = r[d as usize & 15];
                r[d as usize & 15] = match bits {
                    16 => v as u16 as u64,
                    32 => v as u32 as u64,
                    _ => v,
                }
            }
            Op::Swap { d, bits } => {
                let v = r[d as usize & 15];
                r[d as usize & 15] = match bits {
                    16 => (v as u16).swap_bytes() as u64,
                    32 => (v as u32).swap_bytes() as u64,
                    _ => v.swap_bytes(),
                }
            }
            Op::Ja { t } => {
                leave_run!(cur, t);
                pc = t as usize;
            }
            Op::CallHelper { id } => r[0] = call_helper(host, &r, cur, id)?,
            Op::CallKfunc { id } => r[0] = call_kfunc(host, &r, cur, id)?,
            Op::CallLocal { t } => {
                leave_run!(cur, t);
                push_frame(&mut frames, &mut r, cur, pc)?;
                pc = t as usize;
            }
            Op::Callx { d } => {
                let value = r[d as usize & 15];
                let slot = value.wrapping_sub(CODE_BASE);
                if slot % 8 == 0 && slot / 8 < ops.len() as u64 {
                    leave_run!(cur, slot / 8);
                    push_frame(&mut frames, &mut r, cur, pc)?;
                    pc = (slot / 8) as usize;
                } else {
                    let id = i32::try_from(value).map_err(|_| VmError {
                        pc: cur,
                        kind: VmErrorKind::BadCallx { value },
                    })?;
                    r[0] = call_helper(host, &r, cur, id).map_err(|e| match e.kind {
                        VmErrorKind::UnknownHelper { .. } => VmError {
                            pc: cur,
                            kind: VmErrorKind::BadCallx { value },
                        },
                        _ => e,
                    })?;
                }
            }
            Op::Exit => match frames.pop() {
                None => {
                    leave_run!(cur, cur + 1);
                    return Ok(RunResult {
                        r0: r[0],
                        executed: executed!(cur),
                    });
                }
                Some(f) => {
                    leave_run!(cur, f.ret);
                    r[6..10].copy_from_slice(&f.saved);
                    r[10] = f.fp;
                    pc = f.ret;
                }
            },
            Op::Lddw { d, imm } => {
                r[d as usize & 15] = imm;
                pc += 1;
            }
            Op::Ldx { d, s, off, size } => {
                let addr = r[s as usize & 15].wrapping_add(off as i64 as u64);
                r[d as usize & 15] = match host.load(addr, size) {
                    Some(v) => v,
                    None => return Err(oob(cur, addr, size, false)),
                };
            }
            Op::Ldxs { d, s, off, size } => {
                let addr = r[s as usize & 15].wrapping_add(off as i64 as u64);
                r[d as usize & 15] = match host.load(addr, size) {
                    Some(v) => sign_extend(v, size),
                    None => return Err(oob(cur, addr, size, false)),
                };
            }
            Op::St { d, off, size, imm } => {
                let addr = r[d as usize & 15].wrapping_add(off as i64 as u64);
                if !host.store(addr, size, imm) {
                    return Err(oob(cur, addr, size, true));
                }
            }
            Op::Stx { d, s, off, size } => {
                let addr = r[d as usize & 15].wrapping_add(off as i64 as u64);
                if !host.store(addr, size, r[s as usize & 15]) {
                    return Err(oob(cur, addr, size, true));
                }
            }
            Op::Atomic {
                d,
                s,
                off,
                size,
                op,
                fetch,
            } => {
                let addr = r[d as usize & 15].wrapping_add(off as i64 as u64);
                atomic(host, &mut r, cur, addr, size, s, op, fetch)?;
            }
            Op::LdPkt { s, size, imm } => match packet_load(host, &r, s, size, imm) {
                Some(v) => r[0] = v,
                None => {
                    // Out-of-packet reads end the program with r0 = 0, as in the kernel.
                    leave_run!(cur, cur + 1);
                    return Ok(RunResult {
                        r0: 0,
                        executed: executed!(cur),
                    });
                }
            },
            Op::LddwTail => {
                return Err(VmError {
                    pc: cur,
                    kind: VmErrorKind::Decode(crate::isa::DecodeErrorKind::UnknownOpcode(0)),
                })
            }
        }
    }
}

#[cold]
fn oob(pc: usize, addr: u64, size: u8, write: bool) -> VmError {
    VmError {
        pc,
        kind: VmErrorKind::OutOfBounds { addr, size, write },
    }
}

#[inline(never)]
fn call_helper<H: Host>(host: &mut H, r: &[u64; 16], cur: usize, id: i32) -> Result<u64, VmError> {
    host.call_helper(id, [r[1], r[2], r[3], r[4], r[5]])
        .map_err(|f| call_error(cur, f, VmErrorKind::UnknownHelper { id }))
}

#[inline(never)]
fn call_kfunc<H: Host>(host: &mut H, r: &[u64; 16], cur: usize, btf_id: i32) -> Result<u64, VmError> {
    host.call_kfunc(btf_id, [r[1], r[2], r[3], r[4], r[5]])
        .map_err(|f| call_error(cur, f, VmErrorKind::UnknownKfunc { btf_id }))
}

#[inline(never)]
fn packet_load<H: Host>(host: &mut H, r: &[u64; 16], s: Option<u8>, size: u8, imm: u64) -> Option<u64> {
    let off = match s {
        Some(s) => imm.wrapping_add(r[s as usize & 15]),
        None => imm,
    };
    let (base, len) = host.packet()?;
    if off >= len || size as u64 > len - off {
        return None;
    }
    let v = host.load(base + off, size)?;
    Some(match size {
        1 => v,
        2 => (v as u16).swap_bytes() as u64,
        _ => (v as u32).swap_bytes() as u64,
    })
}

#[inline(never)]
fn push_frame(frames: &mut Vec<Frame>, r: &mut [u64; 16], cur: usize, ret: usize) -> Result<(), VmError> {
    if frames.len() + 1 >= MAX_CALL_DEPTH {
        return Err(VmError {
            pc: cur,
            kind: VmErrorKind::CallDepth { max: MAX_CALL_DEPTH },
        });
    }
    frames.push(Frame {
        ret,
        saved: [r[6], r[7], r[8], r[9]],
        fp: r[10],
    });
    r[10] = r[10].wrapping_sub(STACK_FRAME_SIZE as u64);
    Ok(())
}

#[inline(never)]
#[allow(clippy::too_many_arguments)]
fn atomic<H: Host>(
    host: &mut H,
    r: &mut [u64; 16],
    cur: usize,
    addr: u64,
    size: u8,
    s: u8,
    op: AtomicOp,
    fetch: bool,
) -> Result<(), VmError> {
    if !addr.is_multiple_of(size as u64) {
        return Err(VmError {
            pc: cur,
            kind: VmErrorKind::MisalignedAtomic { addr, size },
        });
    }
    let s = s as usize & 15;
    let old = host.load(addr, size).ok_or_else(|| oob(cur, addr, size, false))?;
    let mask = if size == 4 { u32::MAX as u64 } else { u64::MAX };
    let src = r[s] & mask;
    let new = match op {
        AtomicOp::Add => Some(old.wrapping_add(src) & mask),
        AtomicOp::And => Some(old & src),
        AtomicOp::Or => Some(old | src),
        AtomicOp::Xor => Some(old ^ src),
        AtomicOp::Xchg => Some(src),
        AtomicOp::Cmpxchg => {
            // compare with r0; the old value goes to r0
            let eq = old == (r[0] & mask);
            r[0] = old;
            eq.then_some(src)
        }
    };
    if let Some(v) = new {
        if !host.store(addr, size, v) {
            return Err(oob(cur, addr, size, true));
        }
    }
    if fetch && op != AtomicOp::Cmpxchg {
        r[s] = old;
    }
    Ok(())
}
