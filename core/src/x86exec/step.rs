//! One instruction's effect on the machine, from its iced-x86 [`Instruction`]: operands are read
//! and written through their `OpKind`s, flags are computed at the operand's width as the SDM
//! defines them. Flags the SDM leaves undefined keep their previous value (a choice: hardware
//! differs between models there, and the known-answer rows mask them with iced's
//! `rflags_undefined()`).

use super::cpu::{flag, Cpu, Gpr};
use super::mem::{MemFault, Space};
use iced_x86::{ConditionCode, Instruction, Mnemonic, OpKind, Register};
use serde::{Deserialize, Serialize};

/// Why an instruction could not be executed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum StepFault {
    /// The executor does not implement this instruction (the text is iced's, Intel syntax).
    #[error("unsupported instruction `{text}`")]
    Unsupported {
        /// The instruction.
        text: String,
    },
    /// A memory access outside the mapped areas, or a store to read-only memory.
    #[error("{0}")]
    Memory(MemFault),
    /// A memory operand uses a segment base the executor has no value for (fs, gs).
    #[error("segment {segment} has no base here")]
    Segment {
        /// The segment register.
        segment: String,
    },
    /// `div`/`idiv` by zero or with a quotient that does not fit (#DE).
    #[error("#DE: divide error")]
    DivideError,
    /// `int3` executed (#BP).
    #[error("#BP: int3 executed")]
    Breakpoint,
    /// `ud2` or another invalid opcode (#UD).
    #[error("#UD: invalid opcode")]
    InvalidOpcode,
}

impl From<MemFault> for StepFault {
    fn from(m: MemFault) -> Self {
        StepFault::Memory(m)
    }
}

type R<T> = Result<T, StepFault>;

#[inline]
fn mask(size: u8) -> u64 {
    if size >= 8 {
        u64::MAX
    } else {
        (1u64 << (8 * size as u32)) - 1
    }
}

#[inline]
fn sign_bit(size: u8) -> u64 {
    1u64 << (8 * size.min(8) as u32 - 1)
}

#[inline]
fn sext(v: u64, size: u8) -> i64 {
    let s = 64 - 8 * size.min(8) as u32;
    ((v << s) as i64) >> s
}

/// SF, ZF and PF of a result at `size`.
#[inline]
fn szp(r: u64, size: u8) -> u64 {
    let r = r & mask(size);
    let mut f = 0;
    if r == 0 {
        f |= flag::ZF;
    }
    if r & sign_bit(size) != 0 {
        f |= flag::SF;
    }
    if (r as u8).count_ones().is_multiple_of(2) {
        f |= flag::PF;
    }
    f
}

/// Flags of `a + b + carry` at `size`; returns (result, flags).
fn add_flags(a: u64, b: u64, carry: u64, size: u8) -> (u64, u64) {
    let m = mask(size);
    let (a, b) = (a & m, b & m);
    let wide = a as u128 + b as u128 + carry as u128;
    let r = (wide as u64) & m;
    let mut f = szp(r, size);
    if wide > m as u128 {
        f |= flag::CF;
    }
    if (a ^ b ^ r) & 0x10 != 0 {
        f |= flag::AF;
    }
    if (a ^ r) & (b ^ r) & sign_bit(size) != 0 {
        f |= flag::OF;
    }
    (r, f)
}

/// Flags of `a - b - borrow` at `size`; returns (result, flags).
fn sub_flags(a: u64, b: u64, borrow: u64, size: u8) -> (u64, u64) {
    let m = mask(size);
    let (a, b) = (a & m, b & m);
    let r = a.wrapping_sub(b).wrapping_sub(borrow) & m;
    let mut f = szp(r, size);
    if (a as u128) < b as u128 + borrow as u128 {
        f |= flag::CF;
    }
    if (a ^ b ^ r) & 0x10 != 0 {
        f |= flag::AF;
    }
    if (a ^ b) & (a ^ r) & sign_bit(size) != 0 {
        f |= flag::OF;
    }
    (r, f)
}

/// Whether a condition holds on the flags.
pub fn condition(cpu: &Cpu, cc: ConditionCode) -> bool {
    let f = |b| cpu.flag(b);
    match cc {
        ConditionCode::None => true,
        ConditionCode::o => f(flag::OF),
        ConditionCode::no => !f(flag::OF),
        ConditionCode::b => f(flag::CF),
        ConditionCode::ae => !f(flag::CF),
        ConditionCode::e => f(flag::ZF),
        ConditionCode::ne => !f(flag::ZF),
        ConditionCode::be => f(flag::CF) || f(flag::ZF),
        ConditionCode::a => !f(flag::CF) && !f(flag::ZF),
        ConditionCode::s => f(flag::SF),
        ConditionCode::ns => !f(flag::SF),
        ConditionCode::p => f(flag::PF),
        ConditionCode::np => !f(flag::PF),
        ConditionCode::l => f(flag::SF) != f(flag::OF),
        ConditionCode::ge => f(flag::SF) == f(flag::OF),
        ConditionCode::le => f(flag::ZF) || f(flag::SF) != f(flag::OF),
        ConditionCode::g => !f(flag::ZF) && f(flag::SF) == f(flag::OF),
    }
}

/// The instruction being executed with the machine it runs on.
struct Exec<'a> {
    cpu: &'a mut Cpu,
    mem: &'a mut Space,
    ins: &'a Instruction,
}

impl Exec<'_> {
    fn unsupported(&self) -> StepFault {
        StepFault::Unsupported {
            text: super::render_intel(self.ins),
        }
    }

    /// The address of the memory operand.
    fn addr(&self) -> R<u64> {
        let ins = self.ins;
        let op = (0..ins.op_count())
            .find(|&op| ins.op_kind(op) == OpKind::Memory)
            .ok_or_else(|| self.unsupported())?;
        let mut bad = None;
        let cpu = &*self.cpu;
        let va = ins.virtual_address(op, 0, |r, _, _| match r {
            Register::ES | Register::CS | Register::SS | Register::DS => Some(0),
            Register::FS | Register::GS => {
                bad = Some(r);
                None
            }
            r => cpu.read(r),
        });
        match (va, bad) {
            (_, Some(seg)) => Err(StepFault::Segment {
                segment: if seg == Register::FS { "fs" } else { "gs" }.into(),
            }),
            (Some(a), None) => Ok(a),
            (None, None) => Err(self.unsupported()),
        }
    }

    /// The size of operand `op` in bytes.
    fn size(&self, op: u32) -> u8 {
        match self.ins.op_kind(op) {
            OpKind::Register => self.ins.op_register(op).size() as u8,
            OpKind::Memory => self.ins.memory_size().size() as u8,
            OpKind::Immediate8 | OpKind::Immediate8_2nd => 1,
            OpKind::Immediate16 => 2,
            OpKind::Immediate64 => 8,
            _ => 4,
        }
    }

    fn read(&self, op: u32) -> R<u64> {
        match self.ins.op_kind(op) {
            OpKind::Register => self
                .cpu
                .read(self.ins.op_register(op))
                .ok_or_else(|| self.unsupported()),
            OpKind::Memory => Ok(self.mem.read(self.addr()?, self.size(op))?),
            k if crate::tramp::listing::is_immediate(k) => Ok(self.ins.immediate(op)),
            _ => Err(self.unsupported()),
        }
    }

    fn write(&mut self, op: u32, v: u64) -> R<()> {
        match self.ins.op_kind(op) {
            OpKind::Register => {
                let r = self.ins.op_register(op);
                self.cpu.write(r, v).ok_or_else(|| self.unsupported())
            }
            OpKind::Memory => {
                let (a, s) = (self.addr()?, self.size(op));
                Ok(self.mem.write(a, s, v)?)
            }
            _ => Err(self.unsupported()),
        }
    }

    fn push(&mut self, v: u64) -> R<()> {
        let sp = self.cpu.get(Gpr::RSP).wrapping_sub(8);
        self.mem.write(sp, 8, v)?;
        self.cpu.set(Gpr::RSP, sp);
        Ok(())
    }

    fn pop(&mut self) -> R<u64> {
        let sp = self.cpu.get(Gpr::RSP);
        let v = self.mem.read(sp, 8)?;
        self.cpu.set(Gpr::RSP, sp.wrapping_add(8));
        Ok(v)
    }

    fn flags(&mut self, m: u64, v: u64) {
        self.cpu.set_flags(m, v);
    }

    fn branch_target(&self) -> R<u64> {
        match self.ins.op_kind(0) {
            OpKind::NearBranch64 => Ok(self.ins.near_branch64()),
            OpKind::Register | OpKind::Memory => self.read(0),
            _ => Err(self.unsupported()),
        }
    }

    fn run(&mut self) -> R<()> {
        use Mnemonic as M;
        let ins = self.ins;
        match ins.mnemonic() {
            M::Nop | M::Endbr64 | M::Pause | M::Lfence | M::Mfence | M::Sfence => {}
            M::Int3 => return Err(StepFault::Breakpoint),
            M::Ud2 => return Err(StepFault::InvalidOpcode),
            M::Mov => {
                let v = self.read(1)?;
                self.write(0, v)?;
            }
            M::Movzx => {
                let v = self.read(1)?;
                self.write(0, v)?;
            }
            M::Movsx | M::Movsxd => {
                let (v, s) = (self.read(1)?, self.size(1));
                self.write(0, sext(v, s) as u64)?;
            }
            M::Lea => {
                let a = self.addr()?;
                self.write(0, a)?;
            }
            M::Push => {
                if matches!(ins.op_kind(0), OpKind::Register | OpKind::Memory) && self.size(0) != 8 {
                    return Err(self.unsupported());
                }
                let v = self.read(0)?;
                self.push(v)?;
            }
            M::Pop => {
                if self.size(0) != 8 {
                    return Err(self.unsupported());
                }
                let v = self.pop()?;
                self.write(0, v)?;
            }
            M::Leave => {
                self.cpu.set(Gpr::RSP, self.cpu.get(Gpr::RBP));
                let v = self.pop()?;
                self.cpu.set(Gpr::RBP, v);
            }
            M::Call => {
                let t = self.branch_target()?;
                self.push(ins.next_ip())?;
                self.cpu.rip = t;
            }
            M::Jmp => self.cpu.rip = self.branch_target()?,
            M::Ret => {
                let t = self.pop()?;
                if ins.op_count() == 1 {
                    let n = self.read(0)? & 0xffff;
                    self.cpu.set(Gpr::RSP, self.cpu.get(Gpr::RSP).wrapping_add(n));
                }
                self.cpu.rip = t;
            }
            _ if ins.is_jcc_short_or_near() => {
                if condition(self.cpu, ins.condition_code()) {
                    self.cpu.rip = ins.near_branch64();
                }
            }
            M::Add | M::Adc | M::Sub | M::Sbb | M::Cmp => self.arith()?,
            M::And | M::Or | M::Xor | M::Test => {
                let s = self.size(0);
                let (a, b) = (self.read(0)?, self.read(1)?);
                let r = match ins.mnemonic() {
                    M::And | M::Test => a & b,
                    M::Or => a | b,
                    _ => a ^ b,
                } & mask(s);
                // AF is undefined after logic instructions.
                self.flags(flag::STATUS & !flag::AF, szp(r, s));
                if ins.mnemonic() != M::Test {
                    self.write(0, r)?;
                }
            }
            M::Not => {
                let v = self.read(0)?;
                self.write(0, !v)?;
            }
            M::Neg => {
                let s = self.size(0);
                let (r, f) = sub_flags(0, self.read(0)?, 0, s);
                self.flags(flag::STATUS, f);
                self.write(0, r)?;
            }
            M::Inc | M::Dec => {
                let s = self.size(0);
                let v = self.read(0)?;
                let (r, f) = if ins.mnemonic() == M::Inc {
                    add_flags(v, 1, 0, s)
                } else {
                    sub_flags(v, 1, 0, s)
                };
                self.flags(flag::STATUS & !flag::CF, f);
                self.write(0, r)?;
            }
            M::Shl | M::Sal | M::Shr | M::Sar | M::Rol | M::Ror => self.shift()?,
            M::Shlx | M::Shrx | M::Sarx => {
                // BMI2: no flags; the count is masked to the operand width.
                let s = self.size(0);
                let count = (self.read(2)? & if s == 8 { 0x3f } else { 0x1f }) as u32;
                let v = self.read(1)? & mask(s);
                let r = match ins.mnemonic() {
                    M::Shlx => v << count,
                    M::Shrx => v >> count,
                    _ => (sext(v, s) >> count) as u64,
                } & mask(s);
                self.write(0, r)?;
            }
            M::Imul | M::Mul => self.multiply()?,
            M::Div | M::Idiv => self.divide()?,
            M::Cqo => {
                let v = sext(self.cpu.get(Gpr::RAX), 8) >> 63;
                self.cpu.set(Gpr::RDX, v as u64);
            }
            M::Cdq => {
                let v = sext(self.cpu.get(Gpr::RAX), 4) >> 31;
                self.cpu.set(Gpr::RDX, v as u64 & 0xffff_ffff);
            }
            M::Cdqe => {
                let v = sext(self.cpu.get(Gpr::RAX), 4);
                self.cpu.set(Gpr::RAX, v as u64);
            }
            M::Cwde => {
                let v = sext(self.cpu.get(Gpr::RAX), 2);
                self.cpu.set(Gpr::RAX, v as u64 & 0xffff_ffff);
            }
            M::Xchg => {
                let (a, b) = (self.read(0)?, self.read(1)?);
                self.write(0, b)?;
                self.write(1, a)?;
            }
            M::Xadd => {
                let s = self.size(0);
                let (a, b) = (self.read(0)?, self.read(1)?);
                let (r, f) = add_flags(a, b, 0, s);
                self.flags(flag::STATUS, f);
                self.write(1, a)?;
                self.write(0, r)?;
            }
            M::Cmpxchg => {
                let s = self.size(0);
                let acc = self.cpu.read(accumulator(s)).ok_or_else(|| self.unsupported())?;
                let dst = self.read(0)?;
                let (_, f) = sub_flags(acc, dst, 0, s);
                self.flags(flag::STATUS, f);
                if acc & mask(s) == dst {
                    let v = self.read(1)?;
                    self.write(0, v)?;
                } else {
                    // The destination is written back either way (the locked cycle).
                    self.write(0, dst)?;
                    self.cpu.write(accumulator(s), dst);
                }
            }
            M::Bswap => {
                let s = self.size(0);
                let v = self.read(0)?;
                let r = if s == 8 {
                    v.swap_bytes()
                } else {
                    (v as u32).swap_bytes() as u64
                };
                self.write(0, r)?;
            }
            _ => return Err(self.unsupported()),
        }
        Ok(())
    }

    fn arith(&mut self) -> R<()> {
        use Mnemonic as M;
        let s = self.size(0);
        let (a, b) = (self.read(0)?, self.read(1)?);
        let carry = self.cpu.flag(flag::CF) as u64;
        let (r, f) = match self.ins.mnemonic() {
            M::Add => add_flags(a, b, 0, s),
            M::Adc => add_flags(a, b, carry, s),
            M::Sbb => sub_flags(a, b, carry, s),
            _ => sub_flags(a, b, 0, s),
        };
        self.flags(flag::STATUS, f);
        if self.ins.mnemonic() != M::Cmp {
            self.write(0, r)?;
        }
        Ok(())
    }

    fn shift(&mut self) -> R<()> {
        use Mnemonic as M;
        let s = self.size(0);
        let bits = 8 * s as u32;
        let count = if self.ins.op_count() < 2 {
            1
        } else {
            (self.read(1)? & if s == 8 { 0x3f } else { 0x1f }) as u32
        };
        let v = self.read(0)? & mask(s);
        if count == 0 {
            // A masked count of 0 leaves the flags alone, but the destination is still written:
            // a 32-bit register's upper half is cleared (as this CPU does: `shr r14d, 0`).
            if s == 4 && self.ins.op0_kind() == iced_x86::OpKind::Register {
                return self.write(0, v);
            }
            return Ok(());
        }
        let msb = |x: u64| x & sign_bit(s) != 0;
        let (r, cf, of) = match self.ins.mnemonic() {
            M::Shl | M::Sal => {
                let r = if count >= bits { 0 } else { (v << count) & mask(s) };
                let cf = count <= bits && (v >> (bits - count)) & 1 != 0;
                (r, cf, msb(r) != cf)
            }
            M::Shr => {
                let r = if count >= bits { 0 } else { v >> count };
                let cf = count <= bits && (v >> (count - 1)) & 1 != 0;
                (r, cf, msb(v))
            }
            M::Sar => {
                let sv = sext(v, s);
                let r = (sv >> count.min(63)) as u64 & mask(s);
                let cf = (sv >> (count - 1).min(63)) & 1 != 0;
                (r, cf, false)
            }
            M::Rol => {
                let c = count % bits;
                let r = if c == 0 {
                    v
                } else {
                    ((v << c) | (v >> (bits - c))) & mask(s)
                };
                let cf = r & 1 != 0;
                (r, cf, msb(r) != cf)
            }
            _ => {
                let c = count % bits;
                let r = if c == 0 {
                    v
                } else {
                    ((v >> c) | (v << (bits - c))) & mask(s)
                };
                let second = r & (sign_bit(s) >> 1) != 0;
                (r, msb(r), msb(r) != second)
            }
        };
        let mut f = if cf { flag::CF } else { 0 };
        // OF is defined for a count of 1 only; with larger counts it keeps its value here.
        let mut m = flag::CF;
        if count == 1 {
            m |= flag::OF;
            if of {
                f |= flag::OF;
            }
        }
        // Shifts set SF, ZF and PF from the result (AF is undefined); rotates leave them.
        if matches!(self.ins.mnemonic(), M::Shl | M::Sal | M::Shr | M::Sar) {
            m |= flag::SF | flag::ZF | flag::PF;
            f |= szp(r, s);
        }
        self.flags(m, f);
        self.write(0, r)
    }

    fn multiply(&mut self) -> R<()> {
        let signed = self.ins.mnemonic() == Mnemonic::Imul;
        let n = self.ins.op_count();
        let s = self.size(0);
        if n == 1 {
            // rdx:rax = rax * src (at the operand's width).
            if s < 4 {
                return Err(self.unsupported());
            }
            let a = self.cpu.read(accumulator(s)).ok_or_else(|| self.unsupported())?;
            let b = self.read(0)?;
            let bits = 8 * s as u32;
            let (lo, hi, overflow) = if signed {
                let p = sext(a, s) as i128 * sext(b, s) as i128;
                let lo = p as u64 & mask(s);
                (lo, (p >> bits) as u64 & mask(s), p != sext(lo, s) as i128)
            } else {
                let p = a as u128 * b as u128;
                let hi = (p >> bits) as u64 & mask(s);
                (p as u64 & mask(s), hi, hi != 0)
            };
            let (ra, rd) = if s == 8 {
                (Register::RAX, Register::RDX)
            } else {
                (Register::EAX, Register::EDX)
            };
            self.cpu.write(ra, lo);
            self.cpu.write(rd, hi);
            self.flags(flag::CF | flag::OF, if overflow { flag::CF | flag::OF } else { 0 });
            return Ok(());
        }
        let (a, b) = if n == 2 {
            (self.read(0)?, self.read(1)?)
        } else {
            (self.read(1)?, self.read(2)?)
        };
        let p = sext(a, s) as i128 * sext(b, s) as i128;
        let r = p as u64 & mask(s);
        let overflow = p != sext(r, s) as i128;
        self.flags(flag::CF | flag::OF, if overflow { flag::CF | flag::OF } else { 0 });
        self.write(0, r)
    }

    fn divide(&mut self) -> R<()> {
        let s = self.size(0);
        if s < 4 {
            return Err(self.unsupported());
        }
        let bits = 8 * s as u32;
        let d = self.read(0)? & mask(s);
        if d == 0 {
            return Err(StepFault::DivideError);
        }
        let lo = self.cpu.get(Gpr::RAX) & mask(s);
        let hi = self.cpu.get(Gpr::RDX) & mask(s);
        let (q, r) = if self.ins.mnemonic() == Mnemonic::Idiv {
            let n = (((hi as u128) << bits) | lo as u128) as i128;
            let n = (n << (128 - 2 * bits)) >> (128 - 2 * bits);
            let dv = sext(d, s) as i128;
            let (q, r) = (n.wrapping_div(dv), n.wrapping_rem(dv));
            if q != sext(q as u64 & mask(s), s) as i128 {
                return Err(StepFault::DivideError);
            }
            (q as u64 & mask(s), r as u64 & mask(s))
        } else {
            let n = ((hi as u128) << bits) | lo as u128;
            let q = n / d as u128;
            if q > mask(s) as u128 {
                return Err(StepFault::DivideError);
            }
            (q as u64, (n % d as u128) as u64)
        };
        let (ra, rd) = if s == 8 {
            (Register::RAX, Register::RDX)
        } else {
            (Register::EAX, Register::EDX)
        };
        self.cpu.write(ra, q);
        self.cpu.write(rd, r);
        Ok(())
    }
}

fn accumulator(size: u8) -> Register {
    match size {
        1 => Register::AL,
        2 => Register::AX,
        4 => Register::EAX,
        _ => Register::RAX,
    }
}

/// Executes one decoded instruction: rip moves to the next instruction, or to a branch's
/// target. On a fault the machine keeps the state from before the instruction except for the
/// stores already made (none of the supported forms stores before it can fault, except `xchg`
/// with memory, which faults on its single access first).
pub fn execute(cpu: &mut Cpu, mem: &mut Space, ins: &Instruction) -> Result<(), StepFault> {
    let saved = *cpu;
    cpu.rip = ins.next_ip();
    let r = Exec { cpu, mem, ins }.run();
    if r.is_err() {
        *cpu = saved;
    }
    r
}
