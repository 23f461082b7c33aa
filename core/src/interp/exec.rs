//! The execution loop. One `match` on the opcode byte per instruction; registers live in a
//! 16-entry array indexed with `& 15` so no bounds checks are needed; all memory goes through
//! the [`Host`], which checks every access.

use super::memory::{CallFault, Host};
use super::op::{binary_ops, Op};
use super::{RunOptions, RunResult, VmError, VmErrorKind, CODE_BASE, MAX_CALL_DEPTH, STACK_FRAME_SIZE};
use crate::isa::AtomicOp;

struct Frame {
    ret: usize,
    saved: [u64; 4],
    fp: u64,
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
        host.step(cur, &r);
        pc += 1;
        macro_rules! jcc {
            ($c:expr, $t:expr) => {{
                if $c {
                    leave_run!(cur, $t);
                    pc = $t as usize;
                }
            }};
        }
        // The table's rows expand to one arm each per operand form; the rest of the match
        // (moves with sign extension, byte swaps, calls, memory) is written out below.
        macro_rules! step {
            (
                alu: [$($aop:ident: $ai:ident $ar:ident, $ai32:ident $ar32:ident = |$a:ident, $b:ident| $ae:expr;)*]
                jmp: [$($jop:ident: $ji:ident $jr:ident, $ji32:ident $jr32:ident = |$x:ident, $y:ident| $je:expr;)*]
                $($arms:tt)*
            ) => {
                match *op {
                    $(
                        Op::$ai { d, imm } => alu!(d, imm, u64, |$a, $b| $ae),
                        Op::$ar { d, s } => alu!(d, r[s as usize & 15], u64, |$a, $b| $ae),
                        Op::$ai32 { d, imm } => alu!(d, imm, u32, |$a, $b| $ae),
                        Op::$ar32 { d, s } => alu!(d, r[s as usize & 15], u32, |$a, $b| $ae),
                    )*
                    $(
                        Op::$ji { d, imm, t } => branch!(d, imm, u64, |$x, $y| $je, t),
                        Op::$jr { d, s, t } => branch!(d, r[s as usize & 15], u64, |$x, $y| $je, t),
                        Op::$ji32 { d, imm, t } => branch!(d, imm, u32, |$x, $y| $je, t),
                        Op::$jr32 { d, s, t } => branch!(d, r[s as usize & 15], u32, |$x, $y| $je, t),
                    )*
                    $($arms)*
                }
            };
        }
        // One row's operation at one width: the destination and source read as `$ty`, the
        // result written back zero-extended.
        macro_rules! alu {
            ($d:ident, $src:expr, $ty:ty, |$a:ident, $b:ident| $e:expr) => {{
                let $a = r[$d as usize & 15] as $ty;
                let $b = $src as $ty;
                r[$d as usize & 15] = ($e) as u64;
            }};
        }
        macro_rules! branch {
            ($d:ident, $src:expr, $ty:ty, |$a:ident, $b:ident| $e:expr, $t:ident) => {{
                let $a = r[$d as usize & 15] as $ty;
                let $b = $src as $ty;
                jcc!($e, $t)
            }};
        }
        binary_ops!(step! {
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
        })
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
