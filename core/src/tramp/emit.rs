//! A single-pass emitter over iced-x86 instructions: each instruction is encoded at its final
//! address with an explicit `Code`, so the bytes are the kernel's choice of encoding.

use super::layout::FrameLayout;
use super::{eerr, EmittedInsn, EncodeError, InsnBytes, Note, SlotAccess};
use crate::errno::Errno;
use iced_x86::{Code, Encoder, Instruction, MemoryOperand, Register};

/// Access of a frame slot by an instruction.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Access {
    Read,
    Write,
    Addr,
}

pub(crate) struct Emitter<'a> {
    /// Record roles and slot names (listings); off for the bytes-only fast path.
    pub annotate: bool,
    enc: Encoder,
    pub image: u64,
    pub out: Vec<EmittedInsn>,
    pub offset: usize,
    pub layout: &'a FrameLayout,
}

pub(crate) fn mem(base: Register, disp: i64) -> MemoryOperand {
    MemoryOperand::with_base_displ(base, disp)
}

impl<'a> Emitter<'a> {
    pub(crate) fn new(image: u64, layout: &'a FrameLayout, annotate: bool, expected: usize) -> Self {
        Emitter {
            annotate,
            enc: Encoder::try_with_capacity(64, 16).unwrap_or_else(|_| Encoder::new(64)),
            image,
            out: Vec::with_capacity(expected),
            offset: 0,
            layout,
        }
    }

    fn encode_at(&mut self, instr: &Instruction, offset: usize) -> Result<InsnBytes, EncodeError> {
        let rip = self.image.wrapping_add(offset as u64);
        match self.enc.encode(instr, rip) {
            Ok(_) => {
                // Reuse the encoder's buffer: copy the bytes out, clear it, hand it back.
                let mut buf = self.enc.take_buffer();
                let b = InsnBytes::new(&buf);
                buf.clear();
                self.enc.set_buffer(buf);
                Ok(b)
            }
            Err(e) => {
                let target = instr.near_branch_target();
                if instr.is_call_near() || instr.is_jmp_near() || instr.is_jcc_near() || instr.is_jcc_short() {
                    eerr(
                        Errno::ERANGE,
                        format!(
                            "{} at image offset {offset} cannot reach {target:#x} with a rel32/rel8 field ({e})",
                            crate::tramp::listing::code_name(instr.code() as u16)
                        ),
                    )
                } else {
                    eerr(
                        Errno::EINVAL,
                        format!(
                            "cannot encode {} at offset {offset}: {e}",
                            crate::tramp::listing::code_name(instr.code() as u16)
                        ),
                    )
                }
            }
        }
    }

    /// Emits one instruction; returns its index.
    pub(crate) fn emit(
        &mut self,
        instr: Instruction,
        role: impl FnOnce() -> String,
        slots: &[(i32, Access)],
    ) -> Result<usize, EncodeError> {
        let bytes = self.encode_at(&instr, self.offset)?;
        let is_branch = instr.is_call_near() || instr.is_jmp_near() || instr.is_jcc_near() || instr.is_jcc_short();
        let note = if self.annotate {
            let mut n = Note {
                role: role(),
                slots: Vec::with_capacity(slots.len()),
            };
            for &(off, acc) in slots {
                if let Some(i) = self.layout.slot_index_at(off) {
                    let a = match acc {
                        Access::Read => SlotAccess::Read,
                        Access::Write => SlotAccess::Write,
                        Access::Addr => SlotAccess::Addr,
                    };
                    if !n.slots.contains(&(i, a)) {
                        n.slots.push((i, a));
                    }
                }
            }
            Some(Box::new(n))
        } else {
            None
        };
        self.offset += bytes.len();
        self.out.push(EmittedInsn {
            offset: self.offset - bytes.len(),
            bytes,
            target: is_branch.then(|| instr.near_branch_target()),
            code: instr.code(),
            note,
        });
        Ok(self.out.len() - 1)
    }

    /// Re-encodes the branch `idx` (of the given `code`) with a new target; its length must not
    /// change.
    pub(crate) fn retarget(&mut self, idx: usize, code: Code, target: u64) -> Result<(), EncodeError> {
        let instr = Instruction::with_branch(code, target).map_err(|e| EncodeError {
            errno: Errno::EINVAL,
            message: format!("branch: {e}"),
        })?;
        let off = self.out[idx].offset;
        let bytes = self.encode_at(&instr, off)?;
        if bytes.len() != self.out[idx].bytes.len() {
            return eerr(
                Errno::EINVAL,
                format!("branch at offset {off} changed length when patched"),
            );
        }
        self.out[idx].bytes = bytes;
        self.out[idx].target = Some(target);
        self.out[idx].code = code;
        Ok(())
    }

    pub(crate) fn ip(&self) -> u64 {
        self.image.wrapping_add(self.offset as u64)
    }

    pub(crate) fn bytes(&self) -> Vec<u8> {
        let mut v = Vec::with_capacity(self.offset);
        for e in &self.out {
            v.extend_from_slice(&e.bytes);
        }
        v
    }
}

fn i(r: Result<Instruction, iced_x86::IcedError>) -> Result<Instruction, EncodeError> {
    r.map_err(|e| EncodeError {
        errno: Errno::EINVAL,
        message: format!("instruction: {e}"),
    })
}

/// Constructors with the kernel's encoding choices.
pub(crate) mod x86 {
    use super::*;

    pub(crate) fn push(r: Register) -> Result<Instruction, EncodeError> {
        i(Instruction::with1(Code::Push_r64, r))
    }
    pub(crate) fn mov_rr(dst: Register, src: Register) -> Result<Instruction, EncodeError> {
        i(Instruction::with2(Code::Mov_rm64_r64, dst, src))
    }
    /// `sub rsp, imm` with imm8 when it fits (`is_imm8`), else imm32.
    pub(crate) fn sub_rsp(n: i32) -> Result<Instruction, EncodeError> {
        if (-128..=127).contains(&n) {
            i(Instruction::with2(Code::Sub_rm64_imm8, Register::RSP, n))
        } else {
            i(Instruction::with2(Code::Sub_rm64_imm32, Register::RSP, n))
        }
    }
    pub(crate) fn add_rsp8() -> Result<Instruction, EncodeError> {
        i(Instruction::with2(Code::Add_rm64_imm8, Register::RSP, 8))
    }
    /// `emit_stx(BPF_DW, FP, src, off)`: `mov [rbp+off], src`.
    pub(crate) fn stx(off: i32, src: Register) -> Result<Instruction, EncodeError> {
        i(Instruction::with2(
            Code::Mov_rm64_r64,
            mem(Register::RBP, off as i64),
            src,
        ))
    }
    /// `emit_ldx(BPF_DW, dst, FP, off)`: `mov dst, [rbp+off]`.
    pub(crate) fn ldx(dst: Register, off: i32) -> Result<Instruction, EncodeError> {
        i(Instruction::with2(
            Code::Mov_r64_rm64,
            dst,
            mem(Register::RBP, off as i64),
        ))
    }
    pub(crate) fn lea(dst: Register, off: i32) -> Result<Instruction, EncodeError> {
        i(Instruction::with2(Code::Lea_r64_m, dst, mem(Register::RBP, off as i64)))
    }
    /// `emit_mov_imm32(sign_propagate, dst, imm)`.
    pub(crate) fn mov_imm32(sign_propagate: bool, dst64: Register, imm: u32) -> Result<Instruction, EncodeError> {
        let dst32 = dst64.full_register32();
        if sign_propagate && (imm as i32) < 0 {
            i(Instruction::with2(Code::Mov_rm64_imm32, dst64, imm as i32))
        } else if imm == 0 {
            i(Instruction::with2(Code::Xor_rm32_r32, dst32, dst32))
        } else {
            i(Instruction::with2(Code::Mov_r32_imm32, dst32, imm))
        }
    }
    /// `emit_mov_imm64(dst, imm)`: 32-bit forms when the value allows, else movabs.
    pub(crate) fn mov_imm64(dst: Register, imm: u64) -> Result<Instruction, EncodeError> {
        if imm >> 32 == 0 {
            mov_imm32(false, dst, imm as u32)
        } else if imm as i32 as i64 as u64 == imm {
            mov_imm32(true, dst, imm as u32)
        } else {
            i(Instruction::with2(Code::Mov_r64_imm64, dst, imm))
        }
    }
    pub(crate) fn call(target: u64) -> Result<Instruction, EncodeError> {
        i(Instruction::with_branch(Code::Call_rel32_64, target))
    }
    pub(crate) fn jmp(target: u64) -> Result<Instruction, EncodeError> {
        i(Instruction::with_branch(Code::Jmp_rel32_64, target))
    }
    pub(crate) fn je8(target: u64) -> Result<Instruction, EncodeError> {
        i(Instruction::with_branch(Code::Je_rel8_64, target))
    }
    pub(crate) fn jne32(target: u64) -> Result<Instruction, EncodeError> {
        i(Instruction::with_branch(Code::Jne_rel32_64, target))
    }
    pub(crate) fn test_rr(a: Register, b: Register) -> Result<Instruction, EncodeError> {
        i(Instruction::with2(Code::Test_rm64_r64, a, b))
    }
    pub(crate) fn cmp_mem0(off: i32) -> Result<Instruction, EncodeError> {
        i(Instruction::with2(
            Code::Cmp_rm64_imm8,
            mem(Register::RBP, off as i64),
            0,
        ))
    }
    pub(crate) fn mov_dword_mem0(off: i32) -> Result<Instruction, EncodeError> {
        i(Instruction::with2(
            Code::Mov_rm32_imm32,
            mem(Register::RBP, off as i64),
            0u32,
        ))
    }
    pub(crate) fn call_reg(r: Register) -> Result<Instruction, EncodeError> {
        i(Instruction::with1(Code::Call_rm64, r))
    }
    pub(crate) fn simple(code: Code) -> Instruction {
        Instruction::with(code)
    }
    /// `x86_nops[n]` for n = 1..9: the P6 nops (1-8), then a CS prefix on the 8-byte form (9).
    /// The 9- and 10-byte forms are read off the 6.12 captures' do_fexit alignment
    /// (`2e 0f 1f 84 …`, `66 2e 0f 1f 84 …`); the kernel's x86-64 table goes up to
    /// ASM_NOP_MAX = 11 (see [`LONG_NOPS`]), the same in every profile's kernel.
    pub(crate) fn nop(n: usize) -> Result<Instruction, EncodeError> {
        let m = |base, index, displ_size| MemoryOperand::new(base, index, 1, 0, displ_size, false, Register::None);
        let cs = |index| MemoryOperand::new(Register::RAX, index, 1, 0, 8, false, Register::CS);
        match n {
            1 => Ok(Instruction::with(Code::Nopd)),
            2 => Ok(Instruction::with(Code::Nopw)),
            3 => i(Instruction::with1(Code::Nop_rm32, m(Register::RAX, Register::None, 0))),
            4 => i(Instruction::with1(Code::Nop_rm32, m(Register::RAX, Register::None, 1))),
            5 => i(Instruction::with1(Code::Nop_rm32, m(Register::RAX, Register::RAX, 1))),
            6 => i(Instruction::with1(Code::Nop_rm16, m(Register::RAX, Register::RAX, 1))),
            7 => i(Instruction::with1(Code::Nop_rm32, m(Register::RAX, Register::None, 8))),
            8 => i(Instruction::with1(Code::Nop_rm32, m(Register::RAX, Register::RAX, 8))),
            _ => i(Instruction::with1(Code::Nop_rm32, cs(Register::RAX))),
        }
    }
}

/// `x86_nops[10]` and `x86_nops[11]`: one and two operand-size prefixes before the CS prefix of
/// the 9-byte nop. iced-x86 orders prefixes otherwise (`2e 66`) and emits each once, so these are
/// emitted as bytes, with the `Code` iced-x86 decodes them as.
pub(crate) const LONG_NOPS: [&[u8]; 2] = [
    &[0x66, 0x2e, 0x0f, 0x1f, 0x84, 0x00, 0x00, 0x00, 0x00, 0x00],
    &[0x66, 0x66, 0x2e, 0x0f, 0x1f, 0x84, 0x00, 0x00, 0x00, 0x00, 0x00],
];

/// `ASM_NOP_MAX`: the longest nop `emit_nops()` uses.
pub(crate) const ASM_NOP_MAX: usize = 11;

impl Emitter<'_> {
    /// Emits a 10- or 11-byte nop ([`LONG_NOPS`]) as bytes; the listing decodes it back.
    pub(crate) fn emit_long_nop(&mut self, len: usize, role: impl FnOnce() -> String) -> usize {
        let bytes = if len == 10 { LONG_NOPS[0] } else { LONG_NOPS[1] };
        let note = self.annotate.then(|| {
            Box::new(Note {
                role: role(),
                slots: Vec::new(),
            })
        });
        self.out.push(EmittedInsn {
            offset: self.offset,
            bytes: InsnBytes::new(bytes),
            target: None,
            code: Code::Nop_rm16,
            note,
        });
        self.offset += bytes.len();
        self.out.len() - 1
    }
}
