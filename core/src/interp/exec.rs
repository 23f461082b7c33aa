//! The execution loop. One `match` on the opcode byte per instruction; registers live in a
//! 16-entry array indexed with `& 15` so no bounds checks are needed; all memory goes through
//! the [`Host`], which checks every access.

use super::memory::{CallFault, Host};
use super::{Op, RunOptions, RunResult, VmError, VmErrorKind, CODE_BASE, MAX_CALL_DEPTH, STACK_FRAME_SIZE};

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

#[inline(always)]
fn alu64(op: u8, off: i16, d: u64, s: u64) -> u64 {
    match op {
        0x00 => d.wrapping_add(s),
        0x10 => d.wrapping_sub(s),
        0x20 => d.wrapping_mul(s),
        0x30 => {
            if off == 1 {
                sdiv64(d, s)
            } else {
                d.checked_div(s).unwrap_or(0)
            }
        }
        0x40 => d | s,
        0x50 => d & s,
        0x60 => d << (s & 63),
        0x70 => d >> (s & 63),
        0x80 => d.wrapping_neg(),
        0x90 => {
            if off == 1 {
                smod64(d, s)
            } else {
                d.checked_rem(s).unwrap_or(d)
            }
        }
        0xa0 => d ^ s,
        0xb0 => match off {
            8 => s as i8 as i64 as u64,
            16 => s as i16 as i64 as u64,
            32 => s as i32 as i64 as u64,
            _ => s,
        },
        _ => ((d as i64) >> (s & 63)) as u64, // 0xc0 arsh
    }
}

#[inline(always)]
fn alu32(op: u8, off: i16, d: u64, s: u64) -> u64 {
    let (d, s) = (d as u32, s as u32);
    (match op {
        0x00 => d.wrapping_add(s),
        0x10 => d.wrapping_sub(s),
        0x20 => d.wrapping_mul(s),
        0x30 => {
            if off == 1 {
                sdiv32(d, s)
            } else {
                d.checked_div(s).unwrap_or(0)
            }
        }
        0x40 => d | s,
        0x50 => d & s,
        0x60 => d << (s & 31),
        0x70 => d >> (s & 31),
        0x80 => d.wrapping_neg(),
        0x90 => {
            if off == 1 {
                smod32(d, s)
            } else {
                d.checked_rem(s).unwrap_or(d)
            }
        }
        0xa0 => d ^ s,
        0xb0 => match off {
            8 => s as i8 as i32 as u32,
            16 => s as i16 as i32 as u32,
            _ => s,
        },
        _ => ((d as i32) >> (s & 31)) as u32,
    }) as u64
}

#[inline(always)]
fn cond64(op: u8, a: u64, b: u64) -> bool {
    match op {
        0x10 => a == b,
        0x20 => a > b,
        0x30 => a >= b,
        0x40 => a & b != 0,
        0x50 => a != b,
        0x60 => (a as i64) > (b as i64),
        0x70 => (a as i64) >= (b as i64),
        0xa0 => a < b,
        0xb0 => a <= b,
        0xc0 => (a as i64) < (b as i64),
        _ => (a as i64) <= (b as i64), // 0xd0
    }
}

#[inline(always)]
fn cond32(op: u8, a: u64, b: u64) -> bool {
    let (a, b) = (a as u32, b as u32);
    match op {
        0x10 => a == b,
        0x20 => a > b,
        0x30 => a >= b,
        0x40 => a & b != 0,
        0x50 => a != b,
        0x60 => (a as i32) > (b as i32),
        0x70 => (a as i32) >= (b as i32),
        0xa0 => a < b,
        0xb0 => a <= b,
        0xc0 => (a as i32) < (b as i32),
        _ => (a as i32) <= (b as i32),
    }
}

fn size_of(code: u8) -> u8 {
    match code & 0x18 {
        0x00 => 4,
        0x08 => 2,
        0x10 => 1,
        _ => 8,
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
    let mut left = opts.budget;
    let err = |pc: usize, kind| Err(VmError { pc, kind });
    loop {
        let Some(op) = ops.get(pc) else {
            return err(pc.saturating_sub(1), VmErrorKind::FellOffEnd);
        };
        if left == 0 {
            return err(pc, VmErrorKind::BudgetExhausted { budget: opts.budget });
        }
        left -= 1;
        let cur = pc;
        pc += 1;
        let d = (op.dst & 15) as usize;
        let s = (op.src & 15) as usize;
        match op.code {
            // ---- ALU64 ----
            0x07 => r[d] = r[d].wrapping_add(op.imm),
            0x0f => r[d] = r[d].wrapping_add(r[s]),
            0x17 => r[d] = r[d].wrapping_sub(op.imm),
            0x1f => r[d] = r[d].wrapping_sub(r[s]),
            0xb7 => r[d] = op.imm,
            0xbf if op.off == 0 => r[d] = r[s],
            0x57 => r[d] &= op.imm,
            0x5f => r[d] &= r[s],
            0x47 => r[d] |= op.imm,
            0x4f => r[d] |= r[s],
            0xa7 => r[d] ^= op.imm,
            0xaf => r[d] ^= r[s],
            0x67 => r[d] <<= op.imm & 63,
            0x6f => r[d] <<= r[s] & 63,
            0x77 => r[d] >>= op.imm & 63,
            0x7f => r[d] >>= r[s] & 63,
            0x27 | 0x37 | 0x87 | 0x97 | 0xc7 => r[d] = alu64(op.code & 0xf0, op.off, r[d], op.imm),
            0x2f | 0x3f | 0x9f | 0xbf | 0xcf => r[d] = alu64(op.code & 0xf0, op.off, r[d], r[s]),
            // ---- ALU32 ----
            0x04 | 0x14 | 0x24 | 0x34 | 0x44 | 0x54 | 0x64 | 0x74 | 0x84 | 0x94 | 0xa4 | 0xb4 | 0xc4 => {
                r[d] = alu32(op.code & 0xf0, op.off, r[d], op.imm)
            }
            0x0c | 0x1c | 0x2c | 0x3c | 0x4c | 0x5c | 0x6c | 0x7c | 0x9c | 0xac | 0xbc | 0xcc => {
                r[d] = alu32(op.code & 0xf0, op.off, r[d], r[s])
            }
            // ---- byte order ----
            0xd4 => {
                r[d] = match op.imm {
                    16 => r[d] as u16 as u64,
                    32 => r[d] as u32 as u64,
                    _ => r[d],
                }
            }
            0xdc | 0xd7 => {
                r[d] = match op.imm {
                    16 => (r[d] as u16).swap_bytes() as u64,
                    32 => (r[d] as u32).swap_bytes() as u64,
                    _ => r[d].swap_bytes(),
                }
            }
            // ---- jumps ----
            0x05 => pc = op.target as usize,
            0x06 => pc = op.target as usize,
            0x15 | 0x25 | 0x35 | 0x45 | 0x55 | 0x65 | 0x75 | 0xa5 | 0xb5 | 0xc5 | 0xd5 => {
                if cond64(op.code & 0xf0, r[d], op.imm) {
                    pc = op.target as usize;
                }
            }
            0x1d | 0x2d | 0x3d | 0x4d | 0x5d | 0x6d | 0x7d | 0xad | 0xbd | 0xcd | 0xdd => {
                if cond64(op.code & 0xf0, r[d], r[s]) {
                    pc = op.target as usize;
                }
            }
            0x16 | 0x26 | 0x36 | 0x46 | 0x56 | 0x66 | 0x76 | 0xa6 | 0xb6 | 0xc6 | 0xd6 => {
                if cond32(op.code & 0xf0, r[d], op.imm) {
                    pc = op.target as usize;
                }
            }
            0x1e | 0x2e | 0x3e | 0x4e | 0x5e | 0x6e | 0x7e | 0xae | 0xbe | 0xce | 0xde => {
                if cond32(op.code & 0xf0, r[d], r[s]) {
                    pc = op.target as usize;
                }
            }
            // ---- calls and exit ----
            0x85 => match op.src {
                0 => {
                    let args = [r[1], r[2], r[3], r[4], r[5]];
                    let id = op.imm as i32;
                    r[0] = host
                        .call_helper(id, args)
                        .map_err(|f| call_error(cur, f, VmErrorKind::UnknownHelper { id }))?;
                }
                2 => {
                    let args = [r[1], r[2], r[3], r[4], r[5]];
                    let btf_id = op.imm as i32;
                    r[0] = host
                        .call_kfunc(btf_id, args)
                        .map_err(|f| call_error(cur, f, VmErrorKind::UnknownKfunc { btf_id }))?;
                }
                _ => {
                    let target = op.target as usize;
                    push_frame(&mut frames, &mut r, cur, pc)?;
                    pc = target;
                }
            },
            0x8d => {
                let value = r[d];
                let slot = value.wrapping_sub(CODE_BASE);
                if slot % 8 == 0 && slot / 8 < ops.len() as u64 {
                    push_frame(&mut frames, &mut r, cur, pc)?;
                    pc = (slot / 8) as usize;
                } else {
                    let id = i32::try_from(value).map_err(|_| VmError {
                        pc: cur,
                        kind: VmErrorKind::BadCallx { value },
                    })?;
                    let args = [r[1], r[2], r[3], r[4], r[5]];
                    r[0] = host
                        .call_helper(id, args)
                        .map_err(|f| call_error(cur, f, VmErrorKind::BadCallx { value }))?;
                }
            }
            0x95 => match frames.pop() {
                None => {
                    return Ok(RunResult {
                        r0: r[0],
                        executed: opts.budget - left,
                    })
                }
                Some(f) => {
                    r[6..10].copy_from_slice(&f.saved);
                    r[10] = f.fp;
                    pc = f.ret;
                }
            },
            // ---- lddw ----
            0x18 => {
                r[d] = op.imm;
                pc += 1;
            }
            // ---- loads and stores ----
            0x61 | 0x69 | 0x71 | 0x79 => {
                let size = size_of(op.code);
                let addr = r[s].wrapping_add(op.off as i64 as u64);
                r[d] = match host.load(addr, size) {
                    Some(v) => v,
                    None => {
                        return err(
                            cur,
                            VmErrorKind::OutOfBounds {
                                addr,
                                size,
                                write: false,
                            },
                        )
                    }
                };
            }
            0x81 | 0x89 | 0x91 => {
                let size = size_of(op.code);
                let addr = r[s].wrapping_add(op.off as i64 as u64);
                r[d] = match host.load(addr, size) {
                    Some(v) => sign_extend(v, size),
                    None => {
                        return err(
                            cur,
                            VmErrorKind::OutOfBounds {
                                addr,
                                size,
                                write: false,
                            },
                        )
                    }
                };
            }
            0x62 | 0x6a | 0x72 | 0x7a | 0x63 | 0x6b | 0x73 | 0x7b => {
                let size = size_of(op.code);
                let addr = r[d].wrapping_add(op.off as i64 as u64);
                let v = if op.code & 0x07 == 0x02 { op.imm } else { r[s] };
                if !host.store(addr, size, v) {
                    return err(
                        cur,
                        VmErrorKind::OutOfBounds {
                            addr,
                            size,
                            write: true,
                        },
                    );
                }
            }
            0xc3 | 0xdb => {
                let size = size_of(op.code);
                let addr = r[d].wrapping_add(op.off as i64 as u64);
                atomic(host, &mut r, op, cur, addr, size)?;
            }
            // ---- legacy packet loads ----
            0x20 | 0x28 | 0x30 | 0x40 | 0x48 | 0x50 => {
                let size = size_of(op.code);
                let mut off = op.imm;
                if op.code & 0xe0 == 0x40 {
                    off = off.wrapping_add(r[s]);
                }
                // Out-of-packet reads end the program with r0 = 0, as in the kernel.
                let value = host.packet().and_then(|(base, len)| {
                    (off < len && size as u64 <= len - off)
                        .then(|| host.load(base + off, size))
                        .flatten()
                });
                match value {
                    Some(v) => {
                        r[0] = match size {
                            1 => v,
                            2 => (v as u16).swap_bytes() as u64,
                            _ => (v as u32).swap_bytes() as u64,
                        }
                    }
                    None => {
                        return Ok(RunResult {
                            r0: 0,
                            executed: opts.budget - left,
                        })
                    }
                }
            }
            // Second slot of lddw (never a jump target: checked by prepare) or impossible codes.
            _ => {
                return err(
                    cur,
                    VmErrorKind::Decode(crate::isa::DecodeErrorKind::UnknownOpcode(op.code)),
                )
            }
        }
    }
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
fn atomic<H: Host>(host: &mut H, r: &mut [u64; 16], op: &Op, cur: usize, addr: u64, size: u8) -> Result<(), VmError> {
    if addr % size as u64 != 0 {
        return Err(VmError {
            pc: cur,
            kind: VmErrorKind::MisalignedAtomic { addr, size },
        });
    }
    let oob = |write| VmError {
        pc: cur,
        kind: VmErrorKind::OutOfBounds { addr, size, write },
    };
    let s = (op.src & 15) as usize;
    let old = host.load(addr, size).ok_or_else(|| oob(false))?;
    let mask = if size == 4 { u32::MAX as u64 } else { u64::MAX };
    let src = r[s] & mask;
    let imm = op.imm as i32;
    let fetch = imm & 1 != 0;
    let new = match imm & !1 {
        0x00 => Some(old.wrapping_add(src) & mask),
        0x50 => Some(old & src),
        0x40 => Some(old | src),
        0xa0 => Some(old ^ src),
        0xe0 => Some(src),
        _ => {
            // cmpxchg: compare with r0, old value into r0
            let eq = old == (r[0] & mask);
            r[0] = old;
            eq.then_some(src)
        }
    };
    if let Some(v) = new {
        if !host.store(addr, size, v) {
            return Err(oob(true));
        }
    }
    if fetch && imm & !1 != 0xf0 {
        r[s] = old;
    }
    Ok(())
}
