//! The path-sensitive walk: every path from instruction 0 is followed with an abstract state;
//! states already seen at an instruction are pruned; conditions on known constants follow one
//! edge only, so loops over constants terminate.

use super::calls::{self, Arg, Proto, Ret};
use super::cfg::Cfg;
use super::state::{Frame, Reg, Slot, State, STACK};
use super::{MapDef, Verified, VerifierError, MAX_PROCESSED};
use crate::errno::Errno;
use crate::interp::MAX_CALL_DEPTH;
use crate::isa::{AluOp, AtomicOp, EndKind, Imm64Kind, Instr, JmpCond, Operand, Size};
use crate::kernel::profile::Profile;
use crate::kernel::program::{AttachType, FuncModel, Program};
use std::collections::{BTreeMap, BTreeSet};
use std::hash::{DefaultHasher, Hash, Hasher};

enum Flow {
    Next(usize),
    Fork { taken: usize, fall: usize },
    Done,
}

pub(crate) struct Walker<'a> {
    prog: &'a Program,
    func: &'a FuncModel,
    profile: &'a Profile,
    maps: &'a BTreeMap<i32, MapDef>,
    cfg: &'a Cfg,
    prune_point: Vec<bool>,
    call_get_func_ip: bool,
    call_session_cookie: bool,
    stack_depth: u32,
    processed: usize,
}

type R<T> = Result<T, VerifierError>;

fn err<T>(pc: usize, errno: Errno, msg: impl Into<String>) -> R<T> {
    Err(VerifierError::new(pc, errno, msg))
}

fn alu_name(op: AluOp) -> &'static str {
    match op {
        AluOp::Add => "+=",
        AluOp::Sub => "-=",
        AluOp::Mul => "*=",
        AluOp::Div | AluOp::SDiv => "/=",
        AluOp::Or => "|=",
        AluOp::And => "&=",
        AluOp::Lsh => "<<=",
        AluOp::Rsh => ">>=",
        AluOp::Neg => "neg",
        AluOp::Mod | AluOp::SMod => "%=",
        AluOp::Xor => "^=",
        AluOp::Mov | AluOp::MovSx(_) => "=",
        AluOp::Arsh => "s>>=",
    }
}

/// Constant folding with the ISA's semantics (division by zero gives 0, modulo keeps dst).
fn fold(op: AluOp, wide: bool, d: u64, s: u64) -> u64 {
    if wide {
        match op {
            AluOp::Add => d.wrapping_add(s),
            AluOp::Sub => d.wrapping_sub(s),
            AluOp::Mul => d.wrapping_mul(s),
            AluOp::Div => d.checked_div(s).unwrap_or(0),
            AluOp::SDiv => {
                if s == 0 {
                    0
                } else {
                    (d as i64).wrapping_div(s as i64) as u64
                }
            }
            AluOp::Mod => d.checked_rem(s).unwrap_or(d),
            AluOp::SMod => {
                if s == 0 {
                    d
                } else {
                    (d as i64).wrapping_rem(s as i64) as u64
                }
            }
            AluOp::Or => d | s,
            AluOp::And => d & s,
            AluOp::Xor => d ^ s,
            AluOp::Lsh => d << (s & 63),
            AluOp::Rsh => d >> (s & 63),
            AluOp::Arsh => ((d as i64) >> (s & 63)) as u64,
            AluOp::Neg => d.wrapping_neg(),
            AluOp::Mov => s,
            AluOp::MovSx(Size::B) => s as i8 as i64 as u64,
            AluOp::MovSx(Size::H) => s as i16 as i64 as u64,
            AluOp::MovSx(_) => s as i32 as i64 as u64,
        }
    } else {
        let (d, s) = (d as u32, s as u32);
        (match op {
            AluOp::Add => d.wrapping_add(s),
            AluOp::Sub => d.wrapping_sub(s),
            AluOp::Mul => d.wrapping_mul(s),
            AluOp::Div => d.checked_div(s).unwrap_or(0),
            AluOp::SDiv => {
                if s == 0 {
                    0
                } else {
                    (d as i32).wrapping_div(s as i32) as u32
                }
            }
            AluOp::Mod => d.checked_rem(s).unwrap_or(d),
            AluOp::SMod => {
                if s == 0 {
                    d
                } else {
                    (d as i32).wrapping_rem(s as i32) as u32
                }
            }
            AluOp::Or => d | s,
            AluOp::And => d & s,
            AluOp::Xor => d ^ s,
            AluOp::Lsh => d << (s & 31),
            AluOp::Rsh => d >> (s & 31),
            AluOp::Arsh => ((d as i32) >> (s & 31)) as u32,
            AluOp::Neg => d.wrapping_neg(),
            AluOp::Mov => s,
            AluOp::MovSx(Size::B) => s as i8 as i32 as u32,
            AluOp::MovSx(_) => s as i16 as i32 as u32,
        }) as u64
    }
}

fn cond_holds(cond: JmpCond, wide: bool, a: u64, b: u64) -> bool {
    let (a, b, sa, sb) = if wide {
        (a, b, a as i64, b as i64)
    } else {
        (
            a as u32 as u64,
            b as u32 as u64,
            a as u32 as i32 as i64,
            b as u32 as i32 as i64,
        )
    };
    match cond {
        JmpCond::Eq => a == b,
        JmpCond::Ne => a != b,
        JmpCond::Gt => a > b,
        JmpCond::Ge => a >= b,
        JmpCond::Lt => a < b,
        JmpCond::Le => a <= b,
        JmpCond::Set => a & b != 0,
        JmpCond::Sgt => sa > sb,
        JmpCond::Sge => sa >= sb,
        JmpCond::Slt => sa < sb,
        JmpCond::Sle => sa <= sb,
    }
}

impl<'a> Walker<'a> {
    pub(crate) fn new(
        prog: &'a Program,
        func: &'a FuncModel,
        profile: &'a Profile,
        maps: &'a BTreeMap<i32, MapDef>,
        cfg: &'a Cfg,
    ) -> Self {
        let n = prog.insns.len();
        let mut prune_point = vec![false; n];
        for (i, ins) in cfg.instrs.iter().enumerate() {
            if let Some(ins) = ins {
                if let (Some(t), true) = (
                    ins.target(i),
                    matches!(ins, Instr::Jmp { .. } | Instr::Ja { .. } | Instr::Gotol { .. }),
                ) {
                    if (0..n as i64).contains(&t) {
                        prune_point[t as usize] = true;
                    }
                }
            }
        }
        for &s in &cfg.subprogs {
            prune_point[s] = true;
        }
        Walker {
            prog,
            func,
            profile,
            maps,
            cfg,
            prune_point,
            call_get_func_ip: false,
            call_session_cookie: false,
            stack_depth: 0,
            processed: 0,
        }
    }

    pub(crate) fn run(mut self) -> R<Verified> {
        let init = State {
            frames: vec![Frame::new(
                0,
                [Reg::Ctx(Some(0)), Reg::Uninit, Reg::Uninit, Reg::Uninit, Reg::Uninit],
                0,
            )],
        };
        let mut work: Vec<(usize, State)> = vec![(0, init)];
        let mut seen: BTreeSet<(usize, u64)> = BTreeSet::new();
        while let Some((start, mut st)) = work.pop() {
            let mut pc = start;
            loop {
                self.processed += 1;
                if self.processed > MAX_PROCESSED {
                    return err(
                        pc,
                        Errno::E2BIG,
                        format!("BPF program is too large. Processed {} insn", self.processed),
                    );
                }
                if pc == start || self.prune_point[pc] {
                    let mut h = DefaultHasher::new();
                    st.hash(&mut h);
                    if !seen.insert((pc, h.finish())) {
                        break;
                    }
                }
                let Some(ins) = self.cfg.instrs[pc] else {
                    return err(pc, Errno::EINVAL, "invalid instruction");
                };
                match self.step(pc, &ins, &mut st)? {
                    Flow::Next(n) => pc = n,
                    Flow::Fork { taken, fall } => {
                        work.push((taken, st.clone()));
                        pc = fall;
                    }
                    Flow::Done => break,
                }
            }
        }
        Ok(Verified {
            call_get_func_ip: self.call_get_func_ip,
            call_session_cookie: self.call_session_cookie,
            stack_depth: self.stack_depth,
            processed: self.processed,
        })
    }

    fn read(&self, st: &State, pc: usize, r: u8) -> R<Reg> {
        let v = st.frames.last().map(|f| f.regs[r as usize]).unwrap_or(Reg::Uninit);
        if v == Reg::Uninit {
            return err(pc, Errno::EACCES, format!("R{r} !read_ok"));
        }
        Ok(v)
    }

    fn set(&self, st: &mut State, pc: usize, r: u8, v: Reg) -> R<()> {
        if r == 10 {
            return err(pc, Errno::EACCES, "frame pointer is read only");
        }
        if let Some(f) = st.frames.last_mut() {
            f.regs[r as usize] = v;
        }
        Ok(())
    }

    fn step(&mut self, pc: usize, ins: &Instr, st: &mut State) -> R<Flow> {
        let next = pc + ins.slots();
        match *ins {
            Instr::Alu { wide, op, dst, src } => {
                if dst == 10 {
                    return err(pc, Errno::EACCES, "frame pointer is read only");
                }
                let s = match src {
                    Operand::Reg(r) => self.read(st, pc, r)?,
                    Operand::Imm(i) => Reg::Scalar(Some(if wide { i as i64 as u64 } else { i as u32 as u64 })),
                };
                let v = match op {
                    AluOp::Mov => match s {
                        Reg::Scalar(Some(x)) if !wide => Reg::Scalar(Some(x as u32 as u64)),
                        p if p.is_pointer() && !wide => Reg::Scalar(None),
                        other => other,
                    },
                    AluOp::MovSx(_) => match s {
                        Reg::Scalar(Some(x)) => Reg::Scalar(Some(fold(op, wide, 0, x))),
                        _ => Reg::Scalar(None),
                    },
                    _ => {
                        let d = self.read(st, pc, dst)?;
                        self.alu(pc, op, wide, dst, d, src, s)?
                    }
                };
                self.set(st, pc, dst, v)?;
                Ok(Flow::Next(next))
            }
            Instr::End { kind, bits, dst } => {
                let d = self.read(st, pc, dst)?;
                let v = match d {
                    Reg::Scalar(Some(x)) => Reg::Scalar(Some(match (kind, bits) {
                        (EndKind::Le, 16) => x as u16 as u64,
                        (EndKind::Le, 32) => x as u32 as u64,
                        (EndKind::Le, _) => x,
                        (_, 16) => (x as u16).swap_bytes() as u64,
                        (_, 32) => (x as u32).swap_bytes() as u64,
                        _ => x.swap_bytes(),
                    })),
                    Reg::Scalar(None) => Reg::Scalar(None),
                    _ => return err(pc, Errno::EACCES, format!("R{dst} pointer arithmetic prohibited")),
                };
                self.set(st, pc, dst, v)?;
                Ok(Flow::Next(next))
            }
            Instr::Ja { .. } | Instr::Gotol { .. } => Ok(Flow::Next(ins.target(pc).unwrap_or(0) as usize)),
            Instr::Jmp {
                wide, cond, dst, src, ..
            } => {
                let d = self.read(st, pc, dst)?;
                let s = match src {
                    Operand::Reg(r) => self.read(st, pc, r)?,
                    Operand::Imm(i) => Reg::Scalar(Some(i as i64 as u64)),
                };
                let taken = ins.target(pc).unwrap_or(0) as usize;
                match (d, s) {
                    (Reg::Scalar(Some(a)), Reg::Scalar(Some(b))) => {
                        Ok(Flow::Next(if cond_holds(cond, wide, a, b) { taken } else { next }))
                    }
                    _ => Ok(Flow::Fork { taken, fall: next }),
                }
            }
            Instr::Ldx {
                size,
                sx,
                dst,
                src,
                off,
            } => {
                let base = self.read(st, pc, src)?;
                let v = self.access(st, pc, src, base, off, size.bytes(), None)?;
                let v = if sx { Reg::Scalar(None) } else { v };
                self.set(st, pc, dst, v)?;
                Ok(Flow::Next(next))
            }
            Instr::St { size, dst, off, imm } => {
                let base = self.read(st, pc, dst)?;
                let val = Reg::Scalar(Some(imm as i64 as u64));
                self.access(st, pc, dst, base, off, size.bytes(), Some(val))?;
                Ok(Flow::Next(next))
            }
            Instr::Stx { size, dst, src, off } => {
                let base = self.read(st, pc, dst)?;
                let val = self.read(st, pc, src)?;
                if val.is_pointer() && size != Size::DW {
                    return err(pc, Errno::EACCES, format!("R{src} partial pointer store prohibited"));
                }
                self.access(st, pc, dst, base, off, size.bytes(), Some(val))?;
                Ok(Flow::Next(next))
            }
            Instr::Atomic {
                size,
                op,
                fetch,
                dst,
                src,
                off,
            } => {
                let base = self.read(st, pc, dst)?;
                let val = self.read(st, pc, src)?;
                if matches!(base, Reg::Ctx(_)) {
                    return err(
                        pc,
                        Errno::EACCES,
                        format!("BPF_ATOMIC stores into R{dst} ctx is not allowed"),
                    );
                }
                if val.is_pointer() {
                    return err(pc, Errno::EACCES, format!("R{src} leaks addr into mem"));
                }
                self.access(st, pc, dst, base, off, size.bytes(), None)?;
                self.access(st, pc, dst, base, off, size.bytes(), Some(Reg::Scalar(None)))?;
                if op == AtomicOp::Cmpxchg {
                    self.read(st, pc, 0)?;
                    self.set(st, pc, 0, Reg::Scalar(None))?;
                } else if fetch {
                    self.set(st, pc, src, Reg::Scalar(None))?;
                }
                Ok(Flow::Next(next))
            }
            Instr::LdImm64 { dst, kind, imm, imm2 } => {
                let v = match kind {
                    Imm64Kind::Imm => Reg::Scalar(Some(Instr::imm64(imm, imm2))),
                    Imm64Kind::MapFd | Imm64Kind::MapIdx => {
                        self.map(pc, imm)?;
                        Reg::MapPtr(imm)
                    }
                    Imm64Kind::MapValue | Imm64Kind::MapIdxValue => {
                        let m = self.map(pc, imm)?;
                        if imm2 < 0 || imm2 as u32 >= m.value_size {
                            return err(
                                pc,
                                Errno::EINVAL,
                                format!(
                                    "invalid access to map value pointer, value_size={} off={imm2}",
                                    m.value_size
                                ),
                            );
                        }
                        Reg::MapValue {
                            map: imm,
                            off: Some(imm2.into()),
                        }
                    }
                    Imm64Kind::BtfId => Reg::BtfId,
                    Imm64Kind::Func => Reg::Func,
                };
                self.set(st, pc, dst, v)?;
                Ok(Flow::Next(next))
            }
            Instr::CallLocal(_) => {
                if st.frames.len() >= MAX_CALL_DEPTH {
                    return err(
                        pc,
                        Errno::E2BIG,
                        format!("the call stack of {} frames is too deep", st.frames.len() + 1),
                    );
                }
                let caller = st.frames.last().map(|f| f.regs).unwrap_or([Reg::Uninit; 11]);
                let args = [caller[1], caller[2], caller[3], caller[4], caller[5]];
                let frame_no = st.frames.len() as u8;
                st.frames.push(Frame::new(frame_no, args, next));
                Ok(Flow::Next(ins.target(pc).unwrap_or(0) as usize))
            }
            Instr::CallHelper(id) => {
                let proto =
                    calls::helper(id, self.prog.attach, self.profile).map_err(|(e, m)| VerifierError::new(pc, e, m))?;
                self.call(pc, st, &proto, false)?;
                Ok(Flow::Next(next))
            }
            Instr::CallKfunc(id) => {
                let proto =
                    calls::kfunc(id, self.prog.attach, self.profile).map_err(|(e, m)| VerifierError::new(pc, e, m))?;
                self.call(pc, st, &proto, true)?;
                Ok(Flow::Next(next))
            }
            Instr::Exit => self.exit(pc, st),
            Instr::Callx(_) | Instr::LdAbs { .. } | Instr::LdInd { .. } => {
                err(pc, Errno::EINVAL, "instruction not allowed")
            }
        }
    }

    fn map(&self, pc: usize, fd: i32) -> R<&'a MapDef> {
        self.maps
            .get(&fd)
            .ok_or_else(|| VerifierError::new(pc, Errno::EINVAL, format!("fd {fd} is not pointing to valid bpf_map")))
    }

    #[allow(clippy::too_many_arguments)]
    fn alu(&self, pc: usize, op: AluOp, wide: bool, dst: u8, d: Reg, src: Operand, s: Reg) -> R<Reg> {
        let prohibited = |r: u8| {
            err(
                pc,
                Errno::EACCES,
                format!("R{r} pointer arithmetic with {} operator prohibited", alu_name(op)),
            )
        };
        match (d, s) {
            (Reg::Scalar(a), Reg::Scalar(b)) => Ok(Reg::Scalar(match (a, b, op) {
                (Some(x), _, AluOp::Neg) => Some(fold(op, wide, x, 0)),
                (Some(x), Some(y), _) => Some(fold(op, wide, x, y)),
                _ => None,
            })),
            (p, Reg::Scalar(b)) if p.is_pointer() => {
                if !wide {
                    return err(
                        pc,
                        Errno::EACCES,
                        format!("R{dst} 32-bit pointer arithmetic prohibited"),
                    );
                }
                let Some(off) = p.offset() else {
                    return err(
                        pc,
                        Errno::EACCES,
                        format!("R{dst} pointer arithmetic on {} prohibited", p.type_name()),
                    );
                };
                let new = match (op, off, b) {
                    (AluOp::Add, Some(o), Some(x)) => Some(o.wrapping_add(x as i64)),
                    (AluOp::Sub, Some(o), Some(x)) => Some(o.wrapping_sub(x as i64)),
                    (AluOp::Add | AluOp::Sub, _, _) => None,
                    _ => return prohibited(dst),
                };
                Ok(p.with_offset(new))
            }
            (Reg::Scalar(a), p) if p.is_pointer() => {
                let r = if let Operand::Reg(r) = src { r } else { dst };
                match (op, wide, p.offset()) {
                    (AluOp::Add, true, Some(off)) => Ok(p.with_offset(match (a, off) {
                        (Some(x), Some(o)) => Some(o.wrapping_add(x as i64)),
                        _ => None,
                    })),
                    _ => prohibited(r),
                }
            }
            (p, q) if op == AluOp::Sub && wide && std::mem::discriminant(&p) == std::mem::discriminant(&q) => {
                Ok(Reg::Scalar(None))
            }
            _ => prohibited(dst),
        }
    }

    /// Checks a load (`write == None`) or store through `base` + `off`; returns what a load
    /// reads.
    #[allow(clippy::too_many_arguments)]
    fn access(
        &mut self,
        st: &mut State,
        pc: usize,
        regno: u8,
        base: Reg,
        off: i16,
        size: u8,
        write: Option<Reg>,
    ) -> R<Reg> {
        let off = off as i64;
        let sz = size as i64;
        match base {
            Reg::Ctx(o) => {
                let Some(o) = o else {
                    return err(
                        pc,
                        Errno::EACCES,
                        "variable ctx access var_off=(0x0; 0xffffffffffffffff) disallowed",
                    );
                };
                if o != 0 {
                    return err(
                        pc,
                        Errno::EACCES,
                        format!("dereference of modified ctx ptr R{regno} off={o} disallowed"),
                    );
                }
                self.ctx_access(pc, off, size, write.is_some())?;
                Ok(Reg::Scalar(None))
            }
            Reg::Stack { frame, off: o } => {
                let Some(o) = o else {
                    return err(pc, Errno::EACCES, format!("R{regno} variable stack access prohibited"));
                };
                let full = o + off;
                if full < -STACK || full + sz > 0 {
                    let what = if write.is_some() { "write to" } else { "read from" };
                    return err(
                        pc,
                        Errno::EACCES,
                        format!("invalid {what} stack R{regno} off={full} size={size}"),
                    );
                }
                if frame == 0 {
                    self.stack_depth = self.stack_depth.max((-full) as u32);
                }
                let f = &mut st.frames[frame as usize];
                let b0 = (full + STACK) as usize;
                match write {
                    Some(val) => {
                        if size == 8 && b0.is_multiple_of(8) {
                            f.stack[b0 / 8] = Slot {
                                init: 0xff,
                                spill: Some(val),
                            };
                        } else {
                            for b in b0..b0 + size as usize {
                                let slot = &mut f.stack[b / 8];
                                slot.init |= 1 << (b % 8);
                                slot.spill = None;
                            }
                        }
                        Ok(Reg::Uninit)
                    }
                    None => {
                        for b in b0..b0 + size as usize {
                            if f.stack[b / 8].init & (1 << (b % 8)) == 0 {
                                return err(
                                    pc,
                                    Errno::EACCES,
                                    format!("invalid read from stack R{regno} off {full}+{} size {size}", b - b0),
                                );
                            }
                        }
                        let slot = f.stack[b0 / 8];
                        match slot.spill {
                            Some(v) if size == 8 && b0.is_multiple_of(8) => Ok(v),
                            Some(v) if v.is_pointer() => err(pc, Errno::EACCES, "invalid size of register fill"),
                            _ => Ok(Reg::Scalar(None)),
                        }
                    }
                }
            }
            Reg::Mem { size: msize, off: o } => {
                let Some(o) = o else {
                    return err(
                        pc,
                        Errno::EACCES,
                        format!("R{regno} invalid variable-offset access to memory"),
                    );
                };
                let full = o + off;
                if full < 0 || full + sz > msize as i64 {
                    return err(
                        pc,
                        Errno::EACCES,
                        format!("invalid access to memory, mem_size={msize} off={full} size={size}"),
                    );
                }
                Ok(Reg::Scalar(None))
            }
            Reg::MapValue { map, off: o } => {
                let vs = self.map(pc, map)?.value_size as i64;
                let Some(o) = o else {
                    return err(
                        pc,
                        Errno::EACCES,
                        format!("R{regno} invalid variable-offset access to map value"),
                    );
                };
                let full = o + off;
                if full < 0 || full + sz > vs {
                    return err(
                        pc,
                        Errno::EACCES,
                        format!("invalid access to map value, value_size={vs} off={full} size={size}"),
                    );
                }
                Ok(Reg::Scalar(None))
            }
            other => err(
                pc,
                Errno::EACCES,
                format!("R{regno} invalid mem access '{}'", other.type_name()),
            ),
        }
    }

    /// `tracing_prog_is_valid_access()` + `btf_ctx_access()`: u64 slots, reads only, index up to
    /// nr_args (plus the return slot for fexit, fmod_ret and fsession).
    fn ctx_access(&self, pc: usize, off: i64, size: u8, write: bool) -> R<()> {
        let bad = || {
            err(
                pc,
                Errno::EACCES,
                format!("invalid bpf_context access off={off} size={size}"),
            )
        };
        if write || off < 0 || off >= 8 * crate::kernel::program::MAX_BPF_FUNC_ARGS as i64 + 8 || off % size as i64 != 0
        {
            return bad();
        }
        if (off % 8) + size as i64 > 8 {
            return bad();
        }
        let slot = (off / 8) as usize;
        let nr = self.func.nr_regs();
        let ret_ok = self.prog.attach.has_ret_slot() && self.func.ret_size > 0;
        if slot < nr || (slot == nr && ret_ok) {
            return Ok(());
        }
        err(
            pc,
            Errno::EACCES,
            format!("func '{}' doesn't have {}-th argument", self.func.name, slot),
        )
    }

    fn call(&mut self, pc: usize, st: &mut State, proto: &Proto, kfunc: bool) -> R<()> {
        for (i, a) in proto.args.iter().enumerate() {
            let r = i as u8 + 1;
            let v = self.read(st, pc, r)?;
            match a {
                Arg::Anything => {}
                Arg::Ctx => match v {
                    Reg::Ctx(Some(0)) => {}
                    Reg::Ctx(Some(o)) => {
                        return err(
                            pc,
                            Errno::EACCES,
                            format!("dereference of modified ctx ptr R{r} off={o} disallowed"),
                        )
                    }
                    Reg::Ctx(None) => {
                        return err(
                            pc,
                            Errno::EACCES,
                            "variable ctx access var_off=(0x0; 0xffffffffffffffff) disallowed",
                        )
                    }
                    other if kfunc => {
                        return err(
                            pc,
                            Errno::EINVAL,
                            format!("arg#{i} expected pointer to ctx, but got {}", other.type_name()),
                        )
                    }
                    other => {
                        return err(
                            pc,
                            Errno::EACCES,
                            format!("R{r} type={} expected=ctx", other.type_name()),
                        )
                    }
                },
                Arg::PtrToU64 => match v {
                    Reg::Stack { .. } | Reg::Mem { .. } | Reg::MapValue { .. } => {
                        self.access(st, pc, r, v, 0, 8, Some(Reg::Scalar(None)))?;
                    }
                    other => {
                        return err(
                            pc,
                            Errno::EACCES,
                            format!("R{r} type={} expected=fp", other.type_name()),
                        )
                    }
                },
            }
        }
        self.call_get_func_ip |= proto.sets_get_func_ip;
        self.call_session_cookie |= proto.sets_session_cookie;
        let f = st.frames.last_mut().expect("a frame");
        for r in 1..=5 {
            f.regs[r] = Reg::Uninit;
        }
        f.regs[0] = match proto.ret {
            Ret::Integer => Reg::Scalar(None),
            Ret::Cookie => Reg::Mem { size: 8, off: Some(0) },
        };
        let _ = proto.name;
        Ok(())
    }

    fn exit(&mut self, pc: usize, st: &mut State) -> R<Flow> {
        let r0 = self.read(st, pc, 0)?;
        if st.frames.len() > 1 {
            let callee = st.frames.pop().expect("callee frame");
            if let Reg::Stack { frame, .. } = r0 {
                if frame as usize == st.frames.len() {
                    return err(pc, Errno::EINVAL, "cannot return stack pointer to the caller");
                }
            }
            let caller = st.frames.last_mut().expect("caller frame");
            caller.regs[0] = r0;
            for r in 1..=5 {
                caller.regs[r] = Reg::Uninit;
            }
            return Ok(Flow::Next(callee.ret));
        }
        if r0.is_pointer() {
            return err(pc, Errno::EACCES, "R0 leaks addr as return value");
        }
        if matches!(
            self.prog.attach,
            AttachType::Fentry | AttachType::Fexit | AttachType::Fsession
        ) {
            match r0 {
                Reg::Scalar(Some(0)) => {}
                Reg::Scalar(Some(v)) => {
                    let v = v as i64;
                    return err(
                        pc,
                        Errno::EINVAL,
                        format!("At program exit the register R0 has smin={v} smax={v} should have been in [0, 0]"),
                    );
                }
                _ => {
                    return err(
                        pc,
                        Errno::EINVAL,
                        "At program exit the register R0 has unknown scalar value should have been in [0, 0]",
                    )
                }
            }
        }
        Ok(Flow::Done)
    }
}
