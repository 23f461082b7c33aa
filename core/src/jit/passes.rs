//! `do_jit()` and its passes: the prologue, one translation per BPF instruction, the epilogue,
//! and the loop that runs them until the image size stops changing.

use super::analysis::{self, Subprog};
use super::emit::{mem, mem0, mem32, mem_sib32, Asm, Emitted};
use super::error::{JitError, JitErrorKind};
use super::regs::{self, b, d, q, sized, w, Reg, AUX, AX, CALLEE_SAVED, R0, R3, R4};
use super::{Addresses, JitFunc, JitImage, JitInput, JitInsn, Role, TailCall, BPF_FUNC_TAIL_CALL, INDIRECT_THUNK_SIZE};
use crate::isa::{AluOp, AtomicOp, EndKind, Imm64Kind, Instr, JmpCond, Operand, Size};
use crate::kernel::profile::{IndirectBranch, Profile};
use iced_x86::{Code, Decoder, DecoderOptions, Instruction, OpKind, Register};

/// `MAX_PASSES`.
const MAX_PASSES: usize = 20;
/// Passes after which jumps are padded instead of shrunk (`PADDING_PASSES`).
const PADDING_PASSES: usize = MAX_PASSES - 5;
/// `BPF_MAX_INSN_SIZE`.
const MAX_INSN_SIZE: usize = 128;
/// The first-pass estimate per instruction.
const ESTIMATE: usize = 64;

fn is_imm8(v: i64) -> bool {
    (-128..=127).contains(&v)
}

fn is_simm32(v: i64) -> bool {
    v == v as i32 as i64
}

/// The iced codes of one ALU operation, as the JIT picks them.
struct AluCodes {
    rr: [Code; 2],
    imm8: [Code; 2],
    acc: [Code; 2],
    imm32: [Code; 2],
}

fn alu_codes(op: AluOp) -> Option<AluCodes> {
    use Code::*;
    let c = |rr: [Code; 2], imm8: [Code; 2], acc: [Code; 2], imm32: [Code; 2]| AluCodes { rr, imm8, acc, imm32 };
    Some(match op {
        AluOp::Add => c(
            [Add_rm32_r32, Add_rm64_r64],
            [Add_rm32_imm8, Add_rm64_imm8],
            [Add_EAX_imm32, Add_RAX_imm32],
            [Add_rm32_imm32, Add_rm64_imm32],
        ),
        AluOp::Sub => c(
            [Sub_rm32_r32, Sub_rm64_r64],
            [Sub_rm32_imm8, Sub_rm64_imm8],
            [Sub_EAX_imm32, Sub_RAX_imm32],
            [Sub_rm32_imm32, Sub_rm64_imm32],
        ),
        AluOp::And => c(
            [And_rm32_r32, And_rm64_r64],
            [And_rm32_imm8, And_rm64_imm8],
            [And_EAX_imm32, And_RAX_imm32],
            [And_rm32_imm32, And_rm64_imm32],
        ),
        AluOp::Or => c(
            [Or_rm32_r32, Or_rm64_r64],
            [Or_rm32_imm8, Or_rm64_imm8],
            [Or_EAX_imm32, Or_RAX_imm32],
            [Or_rm32_imm32, Or_rm64_imm32],
        ),
        AluOp::Xor => c(
            [Xor_rm32_r32, Xor_rm64_r64],
            [Xor_rm32_imm8, Xor_rm64_imm8],
            [Xor_EAX_imm32, Xor_RAX_imm32],
            [Xor_rm32_imm32, Xor_rm64_imm32],
        ),
        _ => return None,
    })
}

/// Shift codes: [by 1, by imm8, by cl, BMI2] for 32 and 64 bits.
fn shift_codes(op: AluOp) -> Option<[[Code; 2]; 4]> {
    use Code::*;
    Some(match op {
        AluOp::Lsh => [
            [Shl_rm32_1, Shl_rm64_1],
            [Shl_rm32_imm8, Shl_rm64_imm8],
            [Shl_rm32_CL, Shl_rm64_CL],
            [VEX_Shlx_r32_rm32_r32, VEX_Shlx_r64_rm64_r64],
        ],
        AluOp::Rsh => [
            [Shr_rm32_1, Shr_rm64_1],
            [Shr_rm32_imm8, Shr_rm64_imm8],
            [Shr_rm32_CL, Shr_rm64_CL],
            [VEX_Shrx_r32_rm32_r32, VEX_Shrx_r64_rm64_r64],
        ],
        AluOp::Arsh => [
            [Sar_rm32_1, Sar_rm64_1],
            [Sar_rm32_imm8, Sar_rm64_imm8],
            [Sar_rm32_CL, Sar_rm64_CL],
            [VEX_Sarx_r32_rm32_r32, VEX_Sarx_r64_rm64_r64],
        ],
        _ => return None,
    })
}

/// The x86 condition of a BPF jump: [rel8, rel32].
fn jcc(cond: JmpCond) -> [Code; 2] {
    use Code::*;
    match cond {
        JmpCond::Eq => [Je_rel8_64, Je_rel32_64],
        JmpCond::Set | JmpCond::Ne => [Jne_rel8_64, Jne_rel32_64],
        JmpCond::Gt => [Ja_rel8_64, Ja_rel32_64],
        JmpCond::Lt => [Jb_rel8_64, Jb_rel32_64],
        JmpCond::Ge => [Jae_rel8_64, Jae_rel32_64],
        JmpCond::Le => [Jbe_rel8_64, Jbe_rel32_64],
        JmpCond::Sgt => [Jg_rel8_64, Jg_rel32_64],
        JmpCond::Slt => [Jl_rel8_64, Jl_rel32_64],
        JmpCond::Sge => [Jge_rel8_64, Jge_rel32_64],
        JmpCond::Sle => [Jle_rel8_64, Jle_rel32_64],
    }
}

/// The memory operand of an atomic: `*(size *)(dst + off)` with `src`.
#[derive(Clone, Copy)]
struct MemOp {
    size: Size,
    dst: Reg,
    src: Reg,
    off: i16,
}

fn slot_of(bpf: Option<usize>) -> usize {
    bpf.unwrap_or(0)
}

/// One subprogram being compiled: what stays the same across passes, and the context the
/// kernel keeps from one pass to the next (`struct jit_context`).
struct Func<'a> {
    profile: &'a Profile,
    addrs: &'a Addresses,
    subs: &'a [Subprog],
    body: &'a [(usize, Instr)],
    sub: Subprog,
    index: usize,
    image: u64,
    stack: u32,
    tail_call_reachable: bool,
    callee: [bool; 4],
    cleanup_addr: usize,
    tail_call_direct_label: usize,
    tail_call_indirect_label: usize,
}

type R = Result<(), JitErrorKind>;

impl<'a> Func<'a> {
    fn ibt(&self) -> bool {
        self.profile.mitigations.ibt
    }

    /// `X86_TAIL_CALL_OFFSET`: where a tail call enters a program.
    fn tail_call_offset(&self) -> i64 {
        12 + if self.ibt() { 4 } else { 0 }
    }

    /// `-16 - round_up(stack, 8)`: the tail-call counter pointer's slot.
    fn tcc_ptr_off(&self) -> i64 {
        -16 - self.stack as i64
    }

    fn prologue(&self, a: &mut Asm) -> R {
        if self.ibt() {
            a.op0(Code::Endbr64, Role::Endbr)?;
        }
        a.nops(5, Role::PatchSite)?;
        if self.tail_call_reachable && self.index == 0 {
            a.op_rr_as(Code::Xor_rm64_r64, Register::RAX, Register::RAX, Role::TailCallInit)?;
        } else {
            a.nops(3, Role::TailCallInit)?;
        }
        a.op_r(Code::Push_r64, Register::RBP, Role::Frame)?;
        a.op_rr_as(Code::Mov_rm64_r64, Register::RBP, Register::RSP, Role::Frame)?;
        if self.ibt() {
            a.op0(Code::Endbr64, Role::TailCallLanding)?;
        }
        if self.stack > 0 {
            a.op_ri(Code::Sub_rm64_imm32, Register::RSP, self.stack as i64, Role::StackAlloc)?;
        }
        if self.tail_call_reachable {
            let role = Role::TailCallCounter;
            if self.index == 0 {
                let max = self.profile.jit.max_tail_call_cnt as i64;
                a.op_ri(Code::Cmp_rm64_imm8, Register::RAX, max, role)?;
                // ja over `push rax; mov rax, rsp; jmp`: 6 bytes.
                a.branch_rel(Code::Ja_rel8_64, 6, role)?;
                a.op_r(Code::Push_r64, Register::RAX, role)?;
                a.op_rr_as(Code::Mov_rm64_r64, Register::RAX, Register::RSP, role)?;
                a.branch_rel(Code::Jmp_rel8_64, 1, role)?;
                a.op_r(Code::Push_r64, Register::RAX, role)?;
                a.op_r(Code::Push_r64, Register::RAX, role)?;
            } else {
                a.op_r(Code::Push_r64, Register::RAX, role)?;
                a.op_r(Code::Push_r64, Register::RAX, role)?;
            }
        }
        for (i, r) in CALLEE_SAVED.iter().enumerate() {
            if self.callee[i] {
                a.op_r(Code::Push_r64, *r, Role::CalleeSaved)?;
            }
        }
        Ok(())
    }

    fn pop_callee(&self, a: &mut Asm) -> R {
        for (i, r) in CALLEE_SAVED.iter().enumerate().rev() {
            if self.callee[i] {
                a.op_r(Code::Pop_r64, *r, Role::CalleeSaved)?;
            }
        }
        Ok(())
    }

    fn ret(&self, a: &mut Asm) -> R {
        if self.profile.mitigations.return_thunk {
            let thunk = self.addrs.return_thunk.ok_or(JitErrorKind::Unresolved {
                what: "x86_return_thunk",
            })?;
            self.rel32(a, Code::Jmp_rel32_64, thunk, Role::Return)
        } else {
            a.op0(Code::Retnq, Role::Return)?;
            if self.profile.mitigations.sls {
                a.op0(Code::Int3, Role::Int3)?;
            }
            Ok(())
        }
    }

    /// A rel32 call or jump (`emit_patch()`), refused when the target is out of reach.
    fn rel32(&self, a: &mut Asm, code: Code, target: u64, role: Role) -> R {
        let rel = (target as i64).wrapping_sub(a.here().wrapping_add(5) as i64);
        if !is_simm32(rel) {
            return Err(JitErrorKind::OutOfRange { target });
        }
        a.branch(code, target, role)
    }

    /// `emit_mov_reg()`.
    fn mov_reg(&self, a: &mut Asm, is64: bool, dst: Reg, src: Reg) -> R {
        if is64 {
            if dst != src {
                a.op_rr(Code::Mov_rm64_r64, q(dst), q(src))?;
            }
            Ok(())
        } else {
            a.op_rr(Code::Mov_rm32_r32, d(dst), d(src))
        }
    }

    /// `emit_mov_imm32()`.
    fn mov_imm32(&self, a: &mut Asm, sign_propagate: bool, dst: Reg, imm: i32) -> R {
        if sign_propagate && imm < 0 {
            a.op_ri(Code::Mov_rm64_imm32, q(dst), imm as i64, Role::Body)
        } else if imm == 0 {
            a.op_rr(Code::Xor_rm32_r32, d(dst), d(dst))
        } else {
            a.op_ri(Code::Mov_r32_imm32, d(dst), imm as u32 as i64, Role::Body)
        }
    }

    /// `emit_mov_imm64()`.
    fn mov_imm64(&self, a: &mut Asm, dst: Reg, v: u64) -> R {
        if v == v as u32 as u64 {
            self.mov_imm32(a, false, dst, v as u32 as i32)
        } else if is_simm32(v as i64) {
            self.mov_imm32(a, true, dst, v as i32)
        } else {
            a.op_ri(Code::Mov_r64_imm64, q(dst), v as i64, Role::Body)
        }
    }

    /// `emit_ldx()`.
    fn ldx(&self, a: &mut Asm, size: Size, dst: Reg, src: Reg, off: i16) -> R {
        let m = mem(q(src), off as i64);
        match size {
            Size::B => a.op_rm(Code::Movzx_r64_rm8, q(dst), m, Role::Body),
            Size::H => a.op_rm(Code::Movzx_r64_rm16, q(dst), m, Role::Body),
            Size::W => a.op_rm(Code::Mov_r32_rm32, d(dst), m, Role::Body),
            Size::DW => a.op_rm(Code::Mov_r64_rm64, q(dst), m, Role::Body),
        }
    }

    /// `emit_atomic_rmw()`.
    fn atomic_rmw(&self, a: &mut Asm, op: AtomicOp, fetch: bool, m: MemOp) -> R {
        use Code::*;
        let MemOp { size, dst, src, off } = m;
        let is64 = size == Size::DW;
        let code = match (op, fetch) {
            (AtomicOp::Add, false) => [Add_rm32_r32, Add_rm64_r64],
            (AtomicOp::And, false) => [And_rm32_r32, And_rm64_r64],
            (AtomicOp::Or, false) => [Or_rm32_r32, Or_rm64_r64],
            (AtomicOp::Xor, false) => [Xor_rm32_r32, Xor_rm64_r64],
            (AtomicOp::Add, true) => [Xadd_rm32_r32, Xadd_rm64_r64],
            (AtomicOp::Xchg, _) => [Xchg_rm32_r32, Xchg_rm64_r64],
            (AtomicOp::Cmpxchg, _) => [Cmpxchg_rm32_r32, Cmpxchg_rm64_r64],
            _ => return Err(JitErrorKind::UnknownOpcode { code: 0xc3 }),
        }[is64 as usize];
        a.op_mr(code, mem(q(dst), off as i64), sized(src, is64), true, Role::Body)
    }

    /// The padding a jump needs in a padding pass: the instruction's previous size minus what
    /// this pass emitted before the jump and the jump itself.
    fn pad(&self, a: &mut Asm, prev_size: usize, start: usize, jump: usize, allowed: &[i64]) -> R {
        let nops = prev_size as i64 - (a.len() - start) as i64 - jump as i64;
        if !allowed.contains(&nops) {
            return Err(JitErrorKind::Padding { nops });
        }
        a.nops(nops as usize, Role::Padding)
    }

    /// A conditional jump by `off` as the kernel chooses its size.
    fn cond_jmp(&self, a: &mut Asm, cond: JmpCond, off: i64, pad: Option<(usize, usize)>) -> R {
        let [short, near] = jcc(cond);
        if off <= self.profile.jit.jmp8_max as i64 && off >= -128 {
            if let Some((prev, start)) = pad {
                self.pad(a, prev, start, 2, &[0, 4])?;
            }
            a.branch_rel(short, off, Role::Body)
        } else if is_simm32(off) {
            a.branch_rel(near, off, Role::Body)
        } else {
            Err(JitErrorKind::JumpRange { offset: off })
        }
    }

    /// `emit_jmp:` an unconditional jump by `off`.
    fn jmp(&self, a: &mut Asm, off: i64, pad: Option<(usize, usize)>, role: Role) -> R {
        if off <= self.profile.jit.jmp8_max as i64 && off >= -128 {
            if let Some((prev, start)) = pad {
                self.pad(a, prev, start, 2, &[0, 3])?;
            }
            a.branch_rel(Code::Jmp_rel8_64, off, role)
        } else if is_simm32(off) {
            a.branch_rel(Code::Jmp_rel32_64, off, role)
        } else {
            Err(JitErrorKind::JumpRange { offset: off })
        }
    }

    fn subprog_addr(&self, target: i64) -> Result<u64, JitErrorKind> {
        let s = self
            .subs
            .iter()
            .position(|s| s.start as i64 == target)
            .ok_or(JitErrorKind::BadTarget { target })?;
        self.addrs.images.get(s).copied().ok_or(JitErrorKind::Unresolved {
            what: "a subprogram's image",
        })
    }

    fn emit_indirect_jump(&self, a: &mut Asm, reg: Reg) -> R {
        match self.profile.jit.indirect_branch {
            IndirectBranch::Thunk => {
                let array = self.addrs.indirect_thunk_array.ok_or(JitErrorKind::Unresolved {
                    what: "__x86_indirect_thunk_array",
                })?;
                let n = q(reg).number() as u64;
                self.rel32(a, Code::Jmp_rel32_64, array + INDIRECT_THUNK_SIZE * n, Role::TailCall)
            }
            IndirectBranch::Lfence => {
                a.op0(Code::Lfence, Role::TailCall)?;
                a.op_r(Code::Jmp_rm64, q(reg), Role::TailCall)
            }
            IndirectBranch::Plain => {
                a.op_r(Code::Jmp_rm64, q(reg), Role::TailCall)?;
                a.op0(Code::Int3, Role::Int3)
            }
        }
    }

    fn tail_call_epilogue(&self, a: &mut Asm) -> R {
        self.pop_callee(a)?;
        a.op_r(Code::Pop_r64, Register::RAX, Role::TailCall)?;
        a.op_r(Code::Pop_r64, Register::RAX, Role::TailCall)?;
        if self.stack > 0 {
            a.op_ri(Code::Add_rm64_imm32, Register::RSP, self.stack as i64, Role::TailCall)?;
        }
        Ok(())
    }

    /// `emit_bpf_tail_call_indirect()`.
    fn tail_call_indirect(&mut self, a: &mut Asm) -> R {
        let start = a.len();
        let t = Role::TailCall;
        let label = |a: &Asm, label: usize| (label as i64) - (a.len() - start + 2) as i64;
        a.op_rr_as(Code::Mov_rm32_r32, Register::EDX, Register::EDX, t)?;
        let max_entries = self.profile.jit.array_max_entries_off as i64;
        a.op_mr(
            Code::Cmp_rm32_r32,
            mem(Register::RSI, max_entries),
            Register::EDX,
            false,
            t,
        )?;
        let off = label(a, self.tail_call_indirect_label);
        a.branch_rel(Code::Jbe_rel8_64, off as i8 as i64, t)?;
        a.op_rm(
            Code::Mov_r64_rm64,
            Register::RAX,
            mem32(Register::RBP, self.tcc_ptr_off()),
            t,
        )?;
        let max = self.profile.jit.max_tail_call_cnt as i32;
        a.op_mi(Code::Cmp_rm64_imm8, mem0(Register::RAX), max, t)?;
        let off = label(a, self.tail_call_indirect_label);
        a.branch_rel(Code::Jae_rel8_64, off as i8 as i64, t)?;
        let ptrs = self.profile.jit.array_ptrs_off as i64;
        a.op_rm(
            Code::Mov_r64_rm64,
            Register::RCX,
            mem_sib32(Register::RSI, Register::RDX, 8, ptrs),
            t,
        )?;
        a.op_rr_as(Code::Test_rm64_r64, Register::RCX, Register::RCX, t)?;
        let off = label(a, self.tail_call_indirect_label);
        a.branch_rel(Code::Je_rel8_64, off as i8 as i64, t)?;
        a.op_mi(Code::Add_rm64_imm8, mem0(Register::RAX), 1, t)?;
        self.tail_call_epilogue(a)?;
        let bpf_func = self.profile.jit.prog_bpf_func_off as i64;
        a.op_rm(Code::Mov_r64_rm64, Register::RCX, mem(Register::RCX, bpf_func), t)?;
        a.op_ri(Code::Add_rm64_imm8, Register::RCX, self.tail_call_offset(), t)?;
        self.emit_indirect_jump(a, R4)?;
        self.tail_call_indirect_label = a.len() - start;
        Ok(())
    }

    /// `emit_bpf_tail_call_direct()`, with the poke sites as the slot's program leaves them.
    fn tail_call_direct(&mut self, a: &mut Asm, target: Option<u64>) -> R {
        let start = a.len();
        let t = Role::TailCall;
        a.op_rm(
            Code::Mov_r64_rm64,
            Register::RAX,
            mem32(Register::RBP, self.tcc_ptr_off()),
            t,
        )?;
        let max = self.profile.jit.max_tail_call_cnt as i32;
        a.op_mi(Code::Cmp_rm64_imm8, mem0(Register::RAX), max, t)?;
        let off = self.tail_call_direct_label as i64 - (a.len() - start + 2) as i64;
        a.branch_rel(Code::Jae_rel8_64, off as i8 as i64, t)?;
        // The bypass jumps to the label ("out:"), from the previous pass.
        let out = a.base + (start + self.tail_call_direct_label) as u64;
        match target {
            None => self.rel32(a, Code::Jmp_rel32_64, out, Role::PokeBypass)?,
            Some(_) => a.nops(5, Role::PokeBypass)?,
        }
        a.op_mi(Code::Add_rm64_imm8, mem0(Register::RAX), 1, t)?;
        self.tail_call_epilogue(a)?;
        match target {
            None => a.nops(5, Role::PokeTarget)?,
            Some(bpf_func) => {
                let to = bpf_func.wrapping_add(self.tail_call_offset() as u64);
                self.rel32(a, Code::Jmp_rel32_64, to, Role::PokeTarget)?
            }
        }
        self.tail_call_direct_label = a.len() - start;
        Ok(())
    }

    /// One BPF instruction (`j`: index in `body`; `i`: its 1-based slot in the subprogram).
    fn insn(&mut self, a: &mut Asm, addrs: &[usize], i: usize, instr: Instr, padding: bool, seen_exit: &mut bool) -> R {
        let start = a.len();
        let pad = padding.then(|| (addrs[i] - addrs[i - 1], start));
        let n = addrs.len() - 1;
        let target = |off: i64| -> Result<usize, JitErrorKind> {
            let t = i as i64 + off;
            if t < 0 || t as usize > n {
                return Err(JitErrorKind::BadTarget { target: t - 1 });
            }
            Ok(t as usize)
        };
        match instr {
            Instr::Alu { wide, op, dst, src } => self.alu(a, wide, op, dst, src),
            Instr::End { kind, bits, dst } => self.end(a, kind, bits, dst),
            Instr::LdImm64 { dst, kind, imm, imm2 } => {
                let slot = slot_of(a.bpf);
                let v = match kind {
                    Imm64Kind::Imm => Instr::imm64(imm, imm2),
                    Imm64Kind::Func => self.subprog_addr(slot as i64 + 1 + imm as i64)?,
                    _ => *self.addrs.imm64.get(&slot).ok_or(JitErrorKind::Unresolved {
                        what: "a map or BTF object a pseudo lddw loads",
                    })?,
                };
                self.mov_imm64(a, dst, v)
            }
            Instr::Ldx {
                size,
                sx,
                dst,
                src,
                off,
            } => {
                let m = mem(q(src), off as i64);
                if sx {
                    let code = match size {
                        Size::B => Code::Movsx_r64_rm8,
                        Size::H => Code::Movsx_r64_rm16,
                        Size::W => Code::Movsxd_r64_rm32,
                        Size::DW => return Err(JitErrorKind::UnknownOpcode { code: 0x99 }),
                    };
                    a.op_rm(code, q(dst), m, Role::Body)
                } else {
                    self.ldx(a, size, dst, src, off)
                }
            }
            Instr::St { size, dst, off, imm } => {
                let m = mem(q(dst), off as i64);
                let code = match size {
                    Size::B => Code::Mov_rm8_imm8,
                    Size::H => Code::Mov_rm16_imm16,
                    Size::W => Code::Mov_rm32_imm32,
                    Size::DW => Code::Mov_rm64_imm32,
                };
                a.op_mi(code, m, imm, Role::Body)
            }
            Instr::Stx { size, dst, src, off } => {
                let m = mem(q(dst), off as i64);
                let (code, r) = match size {
                    Size::B => (Code::Mov_rm8_r8, b(src)),
                    Size::H => (Code::Mov_rm16_r16, w(src)),
                    Size::W => (Code::Mov_rm32_r32, d(src)),
                    Size::DW => (Code::Mov_rm64_r64, q(src)),
                };
                a.op_mr(code, m, r, false, Role::Body)
            }
            Instr::Atomic {
                size,
                op,
                fetch,
                dst,
                src,
                off,
            } => self.atomic(a, op, fetch, MemOp { size, dst, src, off }),
            Instr::CallHelper(BPF_FUNC_TAIL_CALL) => {
                let slot = slot_of(a.bpf);
                match self.addrs.tail_calls.get(&slot).copied().unwrap_or(TailCall::Indirect) {
                    TailCall::Indirect => self.tail_call_indirect(a),
                    TailCall::Direct { target } => self.tail_call_direct(a, target),
                }
            }
            Instr::CallHelper(imm) | Instr::CallKfunc(imm) => {
                let slot = slot_of(a.bpf);
                let func = match self.addrs.calls.get(&slot) {
                    Some(f) => *f,
                    None if imm == 0 => return Err(JitErrorKind::ZeroCallImm),
                    None => self.addrs.call_base.wrapping_add(imm as i64 as u64),
                };
                if self.tail_call_reachable && self.profile.jit.tcc_ptr_before_every_call {
                    let role = Role::TailCallCounter;
                    a.op_rm(
                        Code::Mov_r64_rm64,
                        Register::RAX,
                        mem32(Register::RBP, self.tcc_ptr_off()),
                        role,
                    )?;
                }
                self.call(a, func)
            }
            Instr::CallLocal(imm) => {
                let slot = slot_of(a.bpf);
                let func = self.subprog_addr(slot as i64 + 1 + imm as i64)?;
                if self.tail_call_reachable {
                    let role = Role::TailCallCounter;
                    a.op_rm(
                        Code::Mov_r64_rm64,
                        Register::RAX,
                        mem32(Register::RBP, self.tcc_ptr_off()),
                        role,
                    )?;
                }
                self.call(a, func)
            }
            Instr::Callx(_) => Err(JitErrorKind::UnknownOpcode { code: 0x8d }),
            Instr::Ja { off } => self.ja(a, addrs, i, off as i64, pad, target),
            Instr::Gotol { imm } => self.ja(a, addrs, i, imm as i64, pad, target),
            Instr::Jmp {
                wide,
                cond,
                dst,
                src,
                off,
            } => {
                self.compare(a, wide, cond, dst, src)?;
                let t = target(off as i64)?;
                let rel = addrs[t] as i64 - addrs[i] as i64;
                self.cond_jmp(a, cond, rel, pad)
            }
            Instr::Exit => {
                if *seen_exit {
                    let rel = self.cleanup_addr as i64 - addrs[i] as i64;
                    return self.jmp(a, rel, pad, Role::Return);
                }
                *seen_exit = true;
                self.cleanup_addr = start;
                self.pop_callee(a)?;
                a.op0(Code::Leaveq, Role::Leave)?;
                self.ret(a)
            }
            Instr::LdAbs { .. } => Err(JitErrorKind::UnknownOpcode { code: 0x20 }),
            Instr::LdInd { .. } => Err(JitErrorKind::UnknownOpcode { code: 0x40 }),
        }
    }

    fn call(&self, a: &mut Asm, func: u64) -> R {
        if self.profile.mitigations.call_depth {
            return Err(JitErrorKind::NotModelled {
                what: "call-depth accounting before calls",
            });
        }
        self.rel32(a, Code::Call_rel32_64, func, Role::Call { target: func })
    }

    fn ja(
        &self,
        a: &mut Asm,
        addrs: &[usize],
        i: usize,
        off: i64,
        pad: Option<(usize, usize)>,
        target: impl Fn(i64) -> Result<usize, JitErrorKind>,
    ) -> R {
        let rel = if off == -1 {
            -2
        } else {
            let t = target(off)?;
            addrs[t] as i64 - addrs[i] as i64
        };
        if rel == 0 {
            if let Some((prev, start)) = pad {
                let nops = prev as i64 - (a.len() - start) as i64;
                if ![0, 2, 5].contains(&nops) {
                    return Err(JitErrorKind::Padding { nops });
                }
                a.nops(nops as usize, Role::Padding)?;
            }
            return Ok(());
        }
        self.jmp(a, rel, pad, Role::Body)
    }

    fn compare(&self, a: &mut Asm, wide: bool, cond: JmpCond, dst: Reg, src: Operand) -> R {
        let r = sized(dst, wide);
        match (cond, src) {
            (JmpCond::Set, Operand::Reg(s)) => a.op_rr(
                if wide { Code::Test_rm64_r64 } else { Code::Test_rm32_r32 },
                r,
                sized(s, wide),
            ),
            (JmpCond::Set, Operand::Imm(imm)) => a.op_ri(
                if wide {
                    Code::Test_rm64_imm32
                } else {
                    Code::Test_rm32_imm32
                },
                r,
                imm as i64,
                Role::Body,
            ),
            (_, Operand::Reg(s)) => a.op_rr(
                if wide { Code::Cmp_rm64_r64 } else { Code::Cmp_rm32_r32 },
                r,
                sized(s, wide),
            ),
            (_, Operand::Imm(0)) => a.op_rr(if wide { Code::Test_rm64_r64 } else { Code::Test_rm32_r32 }, r, r),
            (_, Operand::Imm(imm)) => {
                let code = match (is_imm8(imm as i64), wide) {
                    (true, true) => Code::Cmp_rm64_imm8,
                    (true, false) => Code::Cmp_rm32_imm8,
                    (false, true) => Code::Cmp_rm64_imm32,
                    (false, false) => Code::Cmp_rm32_imm32,
                };
                a.op_ri(code, r, imm as i64, Role::Body)
            }
        }
    }

    fn alu(&self, a: &mut Asm, wide: bool, op: AluOp, dst: Reg, src: Operand) -> R {
        let k = wide as usize;
        match (op, src) {
            (AluOp::Mov, Operand::Reg(s)) => self.mov_reg(a, wide, dst, s),
            (AluOp::Mov, Operand::Imm(imm)) => self.mov_imm32(a, wide, dst, imm),
            (AluOp::MovSx(size), Operand::Reg(s)) => self.movsx(a, wide, size, dst, s),
            (AluOp::Neg, _) => a.op_r(
                if wide { Code::Neg_rm64 } else { Code::Neg_rm32 },
                sized(dst, wide),
                Role::Body,
            ),
            (AluOp::Mul, Operand::Imm(imm)) => {
                let code = match (is_imm8(imm as i64), wide) {
                    (true, true) => Code::Imul_r64_rm64_imm8,
                    (true, false) => Code::Imul_r32_rm32_imm8,
                    (false, true) => Code::Imul_r64_rm64_imm32,
                    (false, false) => Code::Imul_r32_rm32_imm32,
                };
                a.op_rri(code, sized(dst, wide), sized(dst, wide), imm)
            }
            (AluOp::Mul, Operand::Reg(s)) => a.op_rr(
                if wide { Code::Imul_r64_rm64 } else { Code::Imul_r32_rm32 },
                sized(dst, wide),
                sized(s, wide),
            ),
            (AluOp::Div | AluOp::SDiv | AluOp::Mod | AluOp::SMod, _) => self.div(a, wide, op, dst, src),
            (AluOp::Lsh | AluOp::Rsh | AluOp::Arsh, _) => self.shift(a, wide, op, dst, src),
            (_, Operand::Reg(s)) => {
                let c = alu_codes(op).ok_or(JitErrorKind::UnknownOpcode { code: 0 })?;
                a.op_rr(c.rr[k], sized(dst, wide), sized(s, wide))
            }
            (_, Operand::Imm(imm)) => {
                let c = alu_codes(op).ok_or(JitErrorKind::UnknownOpcode { code: 0 })?;
                let code = if is_imm8(imm as i64) {
                    c.imm8[k]
                } else if dst == R0 {
                    c.acc[k]
                } else {
                    c.imm32[k]
                };
                a.op_ri(code, sized(dst, wide), imm as i64, Role::Body)
            }
        }
    }

    fn movsx(&self, a: &mut Asm, wide: bool, size: Size, dst: Reg, s: Reg) -> R {
        match (wide, size) {
            (true, Size::B) => a.op_rr(Code::Movsx_r64_rm8, q(dst), b(s)),
            (true, Size::H) => a.op_rr(Code::Movsx_r64_rm16, q(dst), w(s)),
            (true, Size::W) => a.op_rr(Code::Movsxd_r64_rm32, q(dst), d(s)),
            (false, Size::B) => {
                let i = Instruction::with2(Code::Movsx_r32_rm8, d(dst), b(s)).map_err(|e| JitErrorKind::Encode {
                    code: crate::tramp::listing::code_name(Code::Movsx_r32_rm8 as u16),
                    message: e.to_string(),
                })?;
                a.emit_rex40(i, Role::Body)
            }
            (false, Size::H) => a.op_rr(Code::Movsx_r32_rm16, d(dst), w(s)),
            _ => Err(JitErrorKind::UnknownOpcode { code: 0xbc }),
        }
    }

    fn div(&self, a: &mut Asm, is64: bool, op: AluOp, dst: Reg, src: Operand) -> R {
        if dst != R0 {
            a.op_r(Code::Push_r64, Register::RAX, Role::Body)?;
        }
        if dst != R3 {
            a.op_r(Code::Push_r64, Register::RDX, Role::Body)?;
        }
        let src = match src {
            Operand::Reg(s) if s == R0 || s == R3 => {
                a.op_rr(Code::Mov_rm64_r64, q(AUX), q(s))?;
                AUX
            }
            Operand::Reg(s) => s,
            Operand::Imm(imm) => {
                a.op_ri(Code::Mov_rm64_imm32, q(AUX), imm as i64, Role::Body)?;
                AUX
            }
        };
        if dst != R0 {
            self.mov_reg(a, is64, R0, dst)?;
        }
        let signed = matches!(op, AluOp::SDiv | AluOp::SMod);
        if !signed {
            a.op_rr(Code::Xor_rm32_r32, Register::EDX, Register::EDX)?;
            a.op_r(
                if is64 { Code::Div_rm64 } else { Code::Div_rm32 },
                sized(src, is64),
                Role::Body,
            )?;
        } else {
            a.op0(if is64 { Code::Cqo } else { Code::Cdq }, Role::Body)?;
            a.op_r(
                if is64 { Code::Idiv_rm64 } else { Code::Idiv_rm32 },
                sized(src, is64),
                Role::Body,
            )?;
        }
        let is_mod = matches!(op, AluOp::Mod | AluOp::SMod);
        if is_mod && dst != R3 {
            self.mov_reg(a, is64, dst, R3)?;
        } else if !is_mod && dst != R0 {
            self.mov_reg(a, is64, dst, R0)?;
        }
        if dst != R3 {
            a.op_r(Code::Pop_r64, Register::RDX, Role::Body)?;
        }
        if dst != R0 {
            a.op_r(Code::Pop_r64, Register::RAX, Role::Body)?;
        }
        Ok(())
    }

    fn shift(&self, a: &mut Asm, is64: bool, op: AluOp, dst: Reg, src: Operand) -> R {
        let codes = shift_codes(op).ok_or(JitErrorKind::UnknownOpcode { code: 0 })?;
        let k = is64 as usize;
        match src {
            Operand::Imm(1) => a.op_ri(codes[0][k], sized(dst, is64), 1, Role::Body),
            Operand::Imm(imm) => a.op_ri(codes[1][k], sized(dst, is64), imm as u8 as i64, Role::Body),
            Operand::Reg(s) if self.profile.jit.bmi2 && s != R4 => {
                a.op_rrr(codes[3][k], sized(dst, is64), sized(dst, is64), sized(s, is64))
            }
            Operand::Reg(s) => {
                let mut target = dst;
                if s != R4 {
                    if dst == R4 {
                        a.op_rr(Code::Mov_rm64_r64, q(AUX), q(dst))?;
                        target = AUX;
                    } else {
                        a.op_r(Code::Push_r64, Register::RCX, Role::Body)?;
                    }
                    a.op_rr(Code::Mov_rm64_r64, Register::RCX, q(s))?;
                }
                a.op_rr(codes[2][k], sized(target, is64), Register::CL)?;
                if s != R4 {
                    if dst == R4 {
                        a.op_rr(Code::Mov_rm64_r64, q(dst), q(AUX))?;
                    } else {
                        a.op_r(Code::Pop_r64, Register::RCX, Role::Body)?;
                    }
                }
                Ok(())
            }
        }
    }

    fn end(&self, a: &mut Asm, kind: EndKind, bits: u8, dst: Reg) -> R {
        match (kind, bits) {
            (EndKind::Be | EndKind::Swap, 16) => {
                a.op_ri(Code::Ror_rm16_imm8, w(dst), 8, Role::Body)?;
                a.op_rr(Code::Movzx_r32_rm16, d(dst), w(dst))
            }
            (EndKind::Be | EndKind::Swap, 32) => a.op_r(Code::Bswap_r32, d(dst), Role::Body),
            (EndKind::Be | EndKind::Swap, 64) => a.op_r(Code::Bswap_r64, q(dst), Role::Body),
            (EndKind::Le, 16) => a.op_rr(Code::Movzx_r32_rm16, d(dst), w(dst)),
            (EndKind::Le, 32) => a.op_rr(Code::Mov_rm32_r32, d(dst), d(dst)),
            (EndKind::Le, _) => Ok(()),
            _ => Err(JitErrorKind::UnknownOpcode { code: 0xd4 }),
        }
    }

    fn atomic(&self, a: &mut Asm, op: AtomicOp, fetch: bool, m: MemOp) -> R {
        let MemOp { size, dst, src, off } = m;
        if !matches!(size, Size::W | Size::DW) {
            return Err(JitErrorKind::NarrowAtomic);
        }
        let is64 = size == Size::DW;
        let loop_op = match (op, fetch) {
            (AtomicOp::And, true) => Some(Code::And_rm64_r64),
            (AtomicOp::Or, true) => Some(Code::Or_rm64_r64),
            (AtomicOp::Xor, true) => Some(Code::Xor_rm64_r64),
            _ => None,
        };
        let Some(code64) = loop_op else {
            return self.atomic_rmw(a, op, fetch, m);
        };
        // A cmpxchg loop: rax is cmpxchg's operand, so r0 lives in BPF_REG_AX meanwhile.
        self.mov_reg(a, true, AX, R0)?;
        let real_src = if src == R0 { AX } else { src };
        let real_dst = if dst == R0 { AX } else { dst };
        let top = a.here();
        self.ldx(a, size, R0, real_dst, off)?;
        self.mov_reg(a, is64, AUX, R0)?;
        let code = if is64 {
            code64
        } else {
            match code64 {
                Code::And_rm64_r64 => Code::And_rm32_r32,
                Code::Or_rm64_r64 => Code::Or_rm32_r32,
                _ => Code::Xor_rm32_r32,
            }
        };
        a.op_rr(code, sized(AUX, is64), sized(real_src, is64))?;
        let cmpxchg = MemOp {
            size,
            dst: real_dst,
            src: AUX,
            off,
        };
        self.atomic_rmw(a, AtomicOp::Cmpxchg, true, cmpxchg)?;
        a.branch(Code::Jne_rel8_64, top, Role::Body)?;
        self.mov_reg(a, is64, real_src, R0)?;
        self.mov_reg(a, true, R0, AX)
    }

    /// One pass over the subprogram (`do_jit()`): its size, with the image when `image`.
    fn pass(&mut self, addrs: &mut [usize], padding: bool, image: bool) -> Result<Asm, JitError> {
        let n = addrs.len() - 1;
        let mut a = Asm::new(self.image, n * 8 + 32);
        self.prologue(&mut a).map_err(JitError::whole)?;
        addrs[0] = a.len();
        let mut seen_exit = false;
        for &(slot, instr) in self.body {
            let local = slot - self.sub.start;
            let i = local + 1;
            a.bpf = Some(slot);
            let begin = a.len();
            self.insn(&mut a, addrs, i, instr, padding, &mut seen_exit)
                .map_err(|k| JitError::at(slot, k))?;
            let ilen = a.len() - begin;
            if ilen > MAX_INSN_SIZE {
                return Err(JitError::at(slot, JitErrorKind::InsnTooBig));
            }
            let end_i = local + instr.slots();
            if image && a.len() != addrs[end_i] {
                return Err(JitError::at(
                    slot,
                    JitErrorKind::ProgLen {
                        proglen: a.len(),
                        oldproglen: addrs[end_i],
                    },
                ));
            }
            addrs[end_i] = a.len();
        }
        Ok(a)
    }
}

/// The passes of one subprogram (`bpf_int_jit_compile()`), plus the extra pass a program with
/// subprograms gets once every image address is known.
fn converge(f: &mut Func<'_>, extra_pass: bool) -> Result<(Asm, Vec<usize>, usize), JitError> {
    let n = f.sub.end - f.sub.start;
    let mut addrs: Vec<usize> = (0..=n).map(|i| (i + 1) * ESTIMATE).collect();
    f.cleanup_addr = (n + 1) * ESTIMATE;
    let mut oldproglen = 0usize;
    let mut image = false;
    let mut padding = false;
    let mut pass = 0usize;
    loop {
        if !image && pass >= MAX_PASSES {
            return Err(JitError::whole(JitErrorKind::NoConverge { passes: pass }));
        }
        if !padding && pass >= PADDING_PASSES {
            padding = true;
        }
        let a = f.pass(&mut addrs, padding, image)?;
        let proglen = a.len();
        pass += 1;
        if image {
            if proglen != oldproglen {
                return Err(JitError::whole(JitErrorKind::ProgLen { proglen, oldproglen }));
            }
            if !extra_pass {
                return Ok((a, addrs, pass));
            }
            let a = f.pass(&mut addrs, true, true)?;
            if a.len() != oldproglen {
                return Err(JitError::whole(JitErrorKind::ProgLen {
                    proglen: a.len(),
                    oldproglen,
                }));
            }
            return Ok((a, addrs, pass + 1));
        }
        if proglen == oldproglen {
            image = true;
        }
        oldproglen = proglen;
    }
}

fn same_operands(a: &Instruction, b: &Instruction) -> bool {
    if a.code() != b.code() || a.op_count() != b.op_count() || a.has_lock_prefix() != b.has_lock_prefix() {
        return false;
    }
    (0..a.op_count()).all(|k| {
        let (ka, kb) = (a.op_kind(k), b.op_kind(k));
        if ka != kb {
            return false;
        }
        match ka {
            OpKind::Register => a.op_register(k) == b.op_register(k),
            OpKind::Memory => {
                a.memory_base() == b.memory_base()
                    && a.memory_index() == b.memory_index()
                    && (a.memory_index() == Register::None || a.memory_index_scale() == b.memory_index_scale())
                    && a.memory_displacement64() == b.memory_displacement64()
            }
            OpKind::NearBranch64 => a.near_branch64() == b.near_branch64(),
            _ => a.immediate(k) == b.immediate(k),
        }
    })
}

/// Decodes the image again and checks every instruction is the one emitted, at its offset.
fn redecode(base: u64, code: &[u8], out: &[Emitted]) -> Result<(), JitError> {
    let mut dec = Decoder::with_ip(64, code, base, DecoderOptions::NONE);
    for e in out {
        let at = base + e.offset as u64;
        dec.set_ip(at);
        if dec.set_position(e.offset).is_err() {
            return Err(JitError::at(
                slot_of(e.bpf),
                JitErrorKind::Redecode { offset: e.offset },
            ));
        }
        let got = dec.decode();
        if got.len() != e.len || !same_operands(&got, &e.instr) {
            return Err(JitError::at(
                slot_of(e.bpf),
                JitErrorKind::Redecode { offset: e.offset },
            ));
        }
    }
    Ok(())
}

pub(super) fn compile(input: &JitInput<'_>, profile: &Profile, addrs: &Addresses) -> Result<JitImage, JitError> {
    let prog = analysis::decode(input.insns)?;
    let subs = analysis::subprogs_of(&prog, input.insns.len())?;
    let depths = match &input.stack_depths {
        Some(d) => d.clone(),
        None => analysis::stack_depths_of(&prog, &subs),
    };
    let reach = analysis::tail_call_reachable(&prog, &subs);
    let mut funcs = Vec::with_capacity(subs.len());
    for (index, sub) in subs.iter().enumerate() {
        let lo = prog.partition_point(|(s, _)| *s < sub.start);
        let hi = prog.partition_point(|(s, _)| *s < sub.end);
        let body = &prog[lo..hi];
        let mut callee = [false; 4];
        for insn in &input.insns[sub.start..sub.end] {
            for r in [insn.dst, insn.src] {
                if let Some(k) = regs::callee_saved_index(r) {
                    callee[k] = true;
                }
            }
        }
        let image = *addrs
            .images
            .get(index)
            .ok_or(JitError::whole(JitErrorKind::Unresolved {
                what: "the image address",
            }))?;
        let depth = depths.get(index).copied().unwrap_or(0);
        let mut f = Func {
            profile,
            addrs,
            subs: &subs,
            body,
            sub: *sub,
            index,
            image,
            stack: depth.div_ceil(8) * 8,
            tail_call_reachable: reach[index],
            callee,
            cleanup_addr: 0,
            tail_call_direct_label: 0,
            tail_call_indirect_label: 0,
        };
        let (a, offsets, passes) = converge(&mut f, subs.len() > 1)?;
        redecode(a.base, &a.code, &a.out)?;
        let n = sub.end - sub.start;
        let mut ranges = Vec::with_capacity(n);
        let mut begin = offsets[0];
        for &(slot, instr) in body {
            let end = offsets[slot - sub.start + instr.slots()];
            ranges.push((begin, end));
            if instr.slots() == 2 {
                ranges.push((end, end));
            }
            begin = end;
        }
        let insns = a
            .out
            .iter()
            .map(|e| JitInsn {
                offset: e.offset,
                bytes: a.code[e.offset..e.offset + e.len].to_vec(),
                bpf: e.bpf,
                role: e.role,
            })
            .collect();
        funcs.push(JitFunc {
            index,
            start: sub.start,
            end: sub.end,
            addr: image,
            stack: f.stack,
            tail_call_reachable: f.tail_call_reachable,
            callee_saved: callee,
            passes,
            ranges,
            insns,
            bytes: a.code,
        });
    }
    Ok(JitImage { funcs })
}
