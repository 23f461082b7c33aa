//! The encoder of one pass: iced-x86 instructions with explicit `Code`s, encoded at their final
//! addresses, each remembered with its role and BPF instruction for the listing and for the
//! decode-again check.

use super::error::JitErrorKind;
use super::Role;
use iced_x86::{Code, Encoder, Instruction, MemoryOperand, Register};

/// One emitted x86 instruction.
#[derive(Clone, Debug)]
pub(crate) struct Emitted {
    /// Offset in the function's image.
    pub offset: usize,
    /// Encoded length.
    pub len: usize,
    /// The instruction as built (the decode-again check compares against it).
    pub instr: Instruction,
    /// What it does.
    pub role: Role,
    /// The BPF slot it belongs to.
    pub bpf: Option<usize>,
}

/// The bytes of one function in one pass.
pub(crate) struct Asm {
    enc: Encoder,
    /// The function's image address.
    pub base: u64,
    /// The image so far.
    pub code: Vec<u8>,
    /// The instructions so far.
    pub out: Vec<Emitted>,
    /// The BPF slot being translated (None in the prologue).
    pub bpf: Option<usize>,
}

/// `[base + disp]` with the kernel's choice of displacement: disp8 whenever it fits (also for
/// 0), else disp32.
pub(crate) fn mem(base: Register, disp: i64) -> MemoryOperand {
    MemoryOperand::with_base_displ(base, disp)
}

/// `[base + disp]` with a forced disp32 (`EMIT3_off32` forms).
pub(crate) fn mem32(base: Register, disp: i64) -> MemoryOperand {
    MemoryOperand::new(base, Register::None, 1, disp, 8, false, Register::None)
}

/// `[base]` with no displacement byte.
pub(crate) fn mem0(base: Register) -> MemoryOperand {
    MemoryOperand::new(base, Register::None, 1, 0, 0, false, Register::None)
}

/// `[base + index * scale + disp]` with a forced disp32.
pub(crate) fn mem_sib32(base: Register, index: Register, scale: u32, disp: i64) -> MemoryOperand {
    MemoryOperand::new(base, index, scale, disp, 8, false, Register::None)
}

/// The kernel's `x86_nops[n]` (n = 1..=8), as instructions.
fn nop(n: usize) -> Result<Instruction, iced_x86::IcedError> {
    let rax = Register::RAX;
    let sib = |dsz| MemoryOperand::new(rax, rax, 1, 0, dsz, false, Register::None);
    let plain = |dsz| MemoryOperand::new(rax, Register::None, 1, 0, dsz, false, Register::None);
    match n {
        1 => Ok(Instruction::with(Code::Nopd)),
        2 => Ok(Instruction::with(Code::Nopw)),
        3 => Instruction::with1(Code::Nop_rm32, plain(0)),
        4 => Instruction::with1(Code::Nop_rm32, plain(1)),
        5 => Instruction::with1(Code::Nop_rm32, sib(1)),
        6 => Instruction::with1(Code::Nop_rm16, sib(1)),
        7 => Instruction::with1(Code::Nop_rm32, plain(8)),
        _ => Instruction::with1(Code::Nop_rm32, sib(8)),
    }
}

/// The byte length of a branch of this code (rel8 2, jmp/call rel32 5, jcc rel32 6).
pub(crate) fn branch_len(code: Code) -> usize {
    match code {
        Code::Jmp_rel32_64 | Code::Call_rel32_64 => 5,
        c if is_rel8(c) => 2,
        _ => 6,
    }
}

fn is_rel8(code: Code) -> bool {
    matches!(
        code,
        Code::Jmp_rel8_64
            | Code::Je_rel8_64
            | Code::Jne_rel8_64
            | Code::Ja_rel8_64
            | Code::Jae_rel8_64
            | Code::Jb_rel8_64
            | Code::Jbe_rel8_64
            | Code::Jg_rel8_64
            | Code::Jge_rel8_64
            | Code::Jl_rel8_64
            | Code::Jle_rel8_64
    )
}

fn built(code: Code, r: Result<Instruction, iced_x86::IcedError>) -> Result<Instruction, JitErrorKind> {
    r.map_err(|e| JitErrorKind::Encode {
        code: crate::tramp::listing::code_name(code as u16),
        message: e.to_string(),
    })
}

impl Asm {
    pub(crate) fn new(base: u64, capacity: usize) -> Self {
        Asm {
            enc: Encoder::try_with_capacity(64, 16).unwrap_or_else(|_| Encoder::new(64)),
            base,
            code: Vec::with_capacity(capacity),
            out: Vec::with_capacity(capacity / 3),
            bpf: None,
        }
    }

    /// The current offset.
    pub(crate) fn len(&self) -> usize {
        self.code.len()
    }

    /// The current address.
    pub(crate) fn here(&self) -> u64 {
        self.base.wrapping_add(self.code.len() as u64)
    }

    fn encode(&mut self, instr: &Instruction, rex40: bool) -> Result<(), JitErrorKind> {
        let rip = self.here();
        if let Err(e) = self.enc.encode(instr, rip) {
            let branch = instr.is_call_near() || instr.is_jmp_near() || instr.is_jcc_near();
            return Err(if branch {
                JitErrorKind::OutOfRange {
                    target: instr.near_branch_target(),
                }
            } else {
                JitErrorKind::Encode {
                    code: crate::tramp::listing::code_name(instr.code() as u16),
                    message: e.to_string(),
                }
            });
        }
        let mut buf = self.enc.take_buffer();
        let offset = self.code.len();
        if rex40 && !matches!(buf.first(), Some(0x40..=0x4f)) {
            self.code.push(0x40);
        }
        self.code.extend_from_slice(&buf);
        buf.clear();
        self.enc.set_buffer(buf);
        self.out.push(Emitted {
            offset,
            len: self.code.len() - offset,
            instr: *instr,
            role: Role::Body,
            bpf: self.bpf,
        });
        Ok(())
    }

    /// Emits one instruction.
    pub(crate) fn emit(&mut self, instr: Instruction, role: Role) -> Result<(), JitErrorKind> {
        self.encode(&instr, false)?;
        if let Some(last) = self.out.last_mut() {
            last.role = role;
        }
        Ok(())
    }

    /// Emits one instruction with a REX prefix even where none is needed (the kernel's 32-bit
    /// `movsx` from a byte register always has one).
    pub(crate) fn emit_rex40(&mut self, instr: Instruction, role: Role) -> Result<(), JitErrorKind> {
        self.encode(&instr, true)?;
        if let Some(last) = self.out.last_mut() {
            last.role = role;
        }
        Ok(())
    }

    /// `op0` form.
    pub(crate) fn op0(&mut self, code: Code, role: Role) -> Result<(), JitErrorKind> {
        self.emit(Instruction::with(code), role)
    }
    /// One register operand.
    pub(crate) fn op_r(&mut self, code: Code, r: Register, role: Role) -> Result<(), JitErrorKind> {
        let i = built(code, Instruction::with1(code, r))?;
        self.emit(i, role)
    }
    /// Register, register.
    pub(crate) fn op_rr(&mut self, code: Code, a: Register, b: Register) -> Result<(), JitErrorKind> {
        let i = built(code, Instruction::with2(code, a, b))?;
        self.emit(i, Role::Body)
    }
    /// Register, register with a role.
    pub(crate) fn op_rr_as(&mut self, code: Code, a: Register, b: Register, role: Role) -> Result<(), JitErrorKind> {
        let i = built(code, Instruction::with2(code, a, b))?;
        self.emit(i, role)
    }
    /// Register, register, register (VEX shifts).
    pub(crate) fn op_rrr(&mut self, code: Code, a: Register, b: Register, c: Register) -> Result<(), JitErrorKind> {
        let i = built(code, Instruction::with3(code, a, b, c))?;
        self.emit(i, Role::Body)
    }
    /// Register, immediate.
    pub(crate) fn op_ri(&mut self, code: Code, a: Register, imm: i64, role: Role) -> Result<(), JitErrorKind> {
        let i = if code == Code::Mov_r64_imm64 {
            built(code, Instruction::with2(code, a, imm as u64))?
        } else {
            built(code, Instruction::with2(code, a, imm as i32))?
        };
        self.emit(i, role)
    }
    /// Register, register, immediate (imul).
    pub(crate) fn op_rri(&mut self, code: Code, a: Register, b: Register, imm: i32) -> Result<(), JitErrorKind> {
        let i = built(code, Instruction::with3(code, a, b, imm))?;
        self.emit(i, Role::Body)
    }
    /// Memory, register.
    pub(crate) fn op_mr(
        &mut self,
        code: Code,
        m: MemoryOperand,
        r: Register,
        lock: bool,
        role: Role,
    ) -> Result<(), JitErrorKind> {
        let mut i = built(code, Instruction::with2(code, m, r))?;
        i.set_has_lock_prefix(lock);
        self.emit(i, role)
    }
    /// Register, memory.
    pub(crate) fn op_rm(&mut self, code: Code, r: Register, m: MemoryOperand, role: Role) -> Result<(), JitErrorKind> {
        let i = built(code, Instruction::with2(code, r, m))?;
        self.emit(i, role)
    }
    /// Memory, immediate.
    pub(crate) fn op_mi(&mut self, code: Code, m: MemoryOperand, imm: i32, role: Role) -> Result<(), JitErrorKind> {
        let i = match code {
            Code::Mov_rm8_imm8 => built(code, Instruction::with2(code, m, imm as u8 as u32))?,
            Code::Mov_rm16_imm16 => built(code, Instruction::with2(code, m, imm as u16 as u32))?,
            _ => built(code, Instruction::with2(code, m, imm))?,
        };
        self.emit(i, role)
    }
    /// A branch to an absolute target.
    pub(crate) fn branch(&mut self, code: Code, target: u64, role: Role) -> Result<(), JitErrorKind> {
        let i = built(code, Instruction::with_branch(code, target))?;
        self.emit(i, role)
    }
    /// A branch whose displacement field is `rel` (relative to its own end).
    pub(crate) fn branch_rel(&mut self, code: Code, rel: i64, role: Role) -> Result<(), JitErrorKind> {
        let target = self
            .here()
            .wrapping_add(branch_len(code) as u64)
            .wrapping_add(rel as u64);
        self.branch(code, target, role)
    }
    /// `n` bytes of the kernel's nops (at most 8 per instruction).
    pub(crate) fn nops(&mut self, mut n: usize, role: Role) -> Result<(), JitErrorKind> {
        while n > 0 {
            let k = n.min(8);
            let i = built(Code::Nop_rm32, nop(k))?;
            self.emit(i, role)?;
            n -= k;
        }
        Ok(())
    }
}
