//! Known-answer rows for the executor: instruction bytes, their Intel text, the machine before
//! and the expected machine after, as cranelift's `emit_tests.rs` lists encodings. The expected
//! values are written down from the SDM, not computed by the executor; the core tests run every
//! row in the executor and the native runner runs every row on this machine's CPU
//! (`fsession-lab kat`), so a wrong expectation and a wrong executor both show.
//!
//! Inputs name registers and 8-byte words of a scratch area; every other register starts at 0
//! and every other scratch word at [`FILL`]. Outputs list what changes; everything else must be
//! as it was. Flags are compared outside iced-x86's `rflags_undefined()` for the instruction.

use super::cpu::{flag, Cpu, Gpr};
use super::mem::{AreaKind, Perms, Space};
use super::step::{self, StepFault};
use iced_x86::{Decoder, DecoderOptions};
use serde::Serialize;

/// Size of the scratch area.
pub const SCRATCH: u64 = 0x1000;
/// What every scratch word holds unless a row sets it.
pub const FILL: u64 = 0x5a5a_5a5a_5a5a_5a5a;
/// Where a taken branch lands: this many bytes after the instruction.
pub const TAKEN: i64 = 48;

/// A value that depends on where the row runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum Val {
    /// A number.
    Imm(u64),
    /// The scratch area's address plus an offset.
    Scratch(u64),
    /// The address after the instruction plus an offset.
    Next(i64),
}

/// Where the row's code and scratch area are.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Bases {
    /// The instruction's address.
    pub code: u64,
    /// The scratch area's address.
    pub scratch: u64,
}

impl Val {
    /// The value at these bases for an instruction of `len` bytes.
    pub fn at(self, b: Bases, len: usize) -> u64 {
        match self {
            Val::Imm(v) => v,
            Val::Scratch(o) => b.scratch.wrapping_add(o),
            Val::Next(o) => b.code.wrapping_add(len as u64).wrapping_add(o as u64),
        }
    }
}

/// How the instruction ends.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum End {
    /// Execution continues at the next instruction plus this offset (0: falls through).
    Continue(i64),
    /// `#DE`.
    DivideError,
    /// `#BP` (`int3`).
    Breakpoint,
}

/// One known-answer row.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Row {
    /// Instruction bytes, in hex.
    pub hex: &'static str,
    /// Its Intel text as the listings print it.
    pub text: &'static str,
    /// Registers before (others 0).
    pub regs: Vec<(Gpr, Val)>,
    /// Status flags before.
    pub flags: u64,
    /// Scratch words before: (offset, value).
    pub mem: Vec<(u64, Val)>,
    /// Registers that change, with their values after.
    pub out_regs: Vec<(Gpr, Val)>,
    /// Status flags after.
    pub out_flags: u64,
    /// Scratch words that change, with their values after.
    pub out_mem: Vec<(u64, Val)>,
    /// How it ends.
    pub end: End,
}

impl Row {
    fn new(hex: &'static str, text: &'static str) -> Row {
        Row {
            hex,
            text,
            regs: vec![],
            flags: 0,
            mem: vec![],
            out_regs: vec![],
            out_flags: 0,
            out_mem: vec![],
            end: End::Continue(0),
        }
    }
    fn r(mut self, g: Gpr, v: u64) -> Row {
        self.regs.push((g, Val::Imm(v)));
        self
    }
    fn rv(mut self, g: Gpr, v: Val) -> Row {
        self.regs.push((g, v));
        self
    }
    fn f(mut self, f: u64) -> Row {
        self.flags = f;
        self
    }
    fn m(mut self, off: u64, v: u64) -> Row {
        self.mem.push((off, Val::Imm(v)));
        self
    }
    fn mv(mut self, off: u64, v: Val) -> Row {
        self.mem.push((off, v));
        self
    }
    fn o(mut self, g: Gpr, v: u64) -> Row {
        self.out_regs.push((g, Val::Imm(v)));
        self
    }
    fn ov(mut self, g: Gpr, v: Val) -> Row {
        self.out_regs.push((g, v));
        self
    }
    fn of(mut self, f: u64) -> Row {
        self.out_flags = f;
        self
    }
    fn om(mut self, off: u64, v: u64) -> Row {
        self.out_mem.push((off, Val::Imm(v)));
        self
    }
    fn omv(mut self, off: u64, v: Val) -> Row {
        self.out_mem.push((off, v));
        self
    }
    fn end(mut self, e: End) -> Row {
        self.end = e;
        self
    }
    /// Flags in and out are the same (the instruction leaves them).
    fn keep(mut self, f: u64) -> Row {
        self.flags = f;
        self.out_flags = f;
        self
    }

    /// The instruction bytes.
    pub fn bytes(&self) -> Vec<u8> {
        self.hex
            .split_whitespace()
            .filter_map(|b| u8::from_str_radix(b, 16).ok())
            .collect()
    }

    /// The status flags the SDM leaves undefined for this instruction (iced-x86's table).
    pub fn undefined_flags(&self) -> u64 {
        let b = self.bytes();
        let ins = Decoder::with_ip(64, &b, 0, DecoderOptions::NONE).decode();
        flag::from_iced(ins.rflags_undefined())
    }

    /// The machine before the row, at `b`.
    pub fn initial(&self, b: Bases) -> (Cpu, Vec<u8>) {
        let len = self.bytes().len();
        let mut cpu = Cpu {
            rflags: 2 | self.flags,
            rip: b.code,
            ..Cpu::default()
        };
        for (g, v) in &self.regs {
            cpu.set(*g, v.at(b, len));
        }
        let mut data: Vec<u8> = std::iter::repeat_n(FILL.to_le_bytes(), SCRATCH as usize / 8)
            .flatten()
            .collect();
        for (off, v) in &self.mem {
            let o = *off as usize;
            data[o..o + 8].copy_from_slice(&v.at(b, len).to_le_bytes());
        }
        (cpu, data)
    }
}

/// What running a row gave, wherever it ran.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Outcome {
    /// Registers after.
    pub regs: [u64; 16],
    /// RFLAGS after.
    pub rflags: u64,
    /// The scratch area after.
    pub scratch: Vec<u8>,
    /// How it ended.
    pub end: End,
}

/// One difference between an outcome and a row's expectations.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, thiserror::Error)]
pub enum Mismatch {
    /// A register.
    #[error("{reg} = {got:#x}, expected {want:#x}")]
    Reg {
        /// Which.
        reg: Gpr,
        /// Its value.
        got: u64,
        /// The expectation.
        want: u64,
    },
    /// The status flags (outside the undefined ones).
    #[error("flags {}, expected {} (undefined: {})", flag::names(*got), flag::names(*want), flag::names(*undefined))]
    Flags {
        /// Got.
        got: u64,
        /// Expected.
        want: u64,
        /// Not compared.
        undefined: u64,
    },
    /// A scratch word.
    #[error("scratch+{offset:#x} = {got:#x}, expected {want:#x}")]
    Mem {
        /// Its offset.
        offset: u64,
        /// Its value.
        got: u64,
        /// The expectation.
        want: u64,
    },
    /// The instruction ended another way.
    #[error("ended {got:?}, expected {want:?}")]
    End {
        /// Got.
        got: End,
        /// Expected.
        want: End,
    },
}

/// Compares an outcome at `b` with the row.
pub fn compare(row: &Row, b: Bases, out: &Outcome) -> Vec<Mismatch> {
    let len = row.bytes().len();
    let (before, data) = row.initial(b);
    let mut v = vec![];
    if out.end != row.end {
        v.push(Mismatch::End {
            got: out.end,
            want: row.end,
        });
    }
    let faults = !matches!(row.end, End::Continue(_));
    for g in Gpr::all() {
        let want = if faults {
            before.get(g)
        } else {
            row.out_regs
                .iter()
                .find(|(r, _)| *r == g)
                .map_or(before.get(g), |(_, val)| val.at(b, len))
        };
        let got = out.regs[g.0 as usize];
        if got != want {
            v.push(Mismatch::Reg { reg: g, got, want });
        }
    }
    if !faults {
        let undefined = row.undefined_flags();
        let cmp = flag::STATUS & !undefined;
        if (out.rflags ^ row.out_flags) & cmp != 0 {
            v.push(Mismatch::Flags {
                got: out.rflags & flag::STATUS,
                want: row.out_flags,
                undefined,
            });
        }
    }
    for k in 0..(SCRATCH / 8) {
        let o = (k * 8) as usize;
        let word = |d: &[u8]| {
            d.get(o..o + 8)
                .map_or(0, |w| u64::from_le_bytes(w.try_into().unwrap_or([0; 8])))
        };
        let want = row
            .out_mem
            .iter()
            .find(|(off, _)| *off == k * 8)
            .filter(|_| !faults)
            .map_or(word(&data), |(_, val)| val.at(b, len));
        let got = word(&out.scratch);
        if got != want {
            v.push(Mismatch::Mem {
                offset: k * 8,
                got,
                want,
            });
        }
    }
    v
}

/// The bases the executor runs rows at.
pub const EMULATED: Bases = Bases {
    code: 0x0000_7f00_0000_0000,
    scratch: 0x0000_7f00_0010_0000,
};

/// Runs a row in the executor at `b`.
pub fn run_emulated(row: &Row, b: Bases) -> Outcome {
    let (mut cpu, data) = row.initial(b);
    let bytes = row.bytes();
    let mut mem = Space::default();
    let _ = mem.map(AreaKind::Code, b.code, bytes.clone(), Perms::RX);
    let _ = mem.map(AreaKind::Scratch, b.scratch, data, Perms::RW);
    let ins = Decoder::with_ip(64, &bytes, b.code, DecoderOptions::NONE).decode();
    let end = match step::execute(&mut cpu, &mut mem, &ins) {
        Ok(()) => End::Continue(cpu.rip.wrapping_sub(b.code + bytes.len() as u64) as i64),
        Err(StepFault::DivideError) => End::DivideError,
        Err(StepFault::Breakpoint) => End::Breakpoint,
        // Any other fault is a mismatch with every row: report it as the fall-through it is not.
        Err(_) => End::Continue(i64::MIN),
    };
    Outcome {
        regs: cpu.regs,
        rflags: cpu.rflags,
        scratch: mem
            .area(&AreaKind::Scratch)
            .map(|a| a.bytes.clone())
            .unwrap_or_default(),
        end,
    }
}

/// Every row.
pub fn rows() -> Vec<Row> {
    use flag::{AF, CF, OF, PF, SF, ZF};
    const RAX: Gpr = Gpr::RAX;
    const RCX: Gpr = Gpr::RCX;
    const RDX: Gpr = Gpr::RDX;
    const RBX: Gpr = Gpr::RBX;
    const RSP: Gpr = Gpr::RSP;
    const RBP: Gpr = Gpr::RBP;
    const RSI: Gpr = Gpr::RSI;
    let ones = u64::MAX;
    let s = Val::Scratch;
    let taken = End::Continue(TAKEN);
    vec![
        // Moves.
        Row::new("48 89 d8", "mov rax, rbx")
            .r(RBX, 0x1122_3344_5566_7788)
            .keep(CF | ZF)
            .o(RAX, 0x1122_3344_5566_7788),
        Row::new("89 d8", "mov eax, ebx")
            .r(RAX, ones)
            .r(RBX, 0x1122_3344_5566_7788)
            .o(RAX, 0x5566_7788),
        Row::new("88 d8", "mov al, bl")
            .r(RAX, ones)
            .r(RBX, 0x88)
            .o(RAX, 0xffff_ffff_ffff_ff88),
        Row::new("66 89 d8", "mov ax, bx")
            .r(RAX, ones)
            .r(RBX, 0x7788)
            .o(RAX, 0xffff_ffff_ffff_7788),
        Row::new("48 c7 c0 ff ff ff ff", "mov rax, 0xffffffffffffffff").o(RAX, ones),
        Row::new("48 b8 88 77 66 55 44 33 22 11", "mov rax, 0x1122334455667788").o(RAX, 0x1122_3344_5566_7788),
        Row::new("b8 78 56 34 12", "mov eax, 0x12345678")
            .r(RAX, ones)
            .o(RAX, 0x1234_5678),
        Row::new("48 8b 03", "mov rax, [rbx]")
            .rv(RBX, s(0x100))
            .m(0x100, 0xdead_beef_cafe_f00d)
            .o(RAX, 0xdead_beef_cafe_f00d),
        Row::new("48 89 43 08", "mov [rbx+8], rax")
            .rv(RBX, s(0x100))
            .r(RAX, 0x0102_0304_0506_0708)
            .om(0x108, 0x0102_0304_0506_0708),
        Row::new("c7 43 10 ff ff ff ff", "mov dword ptr [rbx+0x10], 0xffffffff")
            .rv(RBX, s(0x100))
            .m(0x110, 0x1111_1111_1111_1111)
            .om(0x110, 0x1111_1111_ffff_ffff),
        Row::new(
            "48 c7 43 10 fe ff ff ff",
            "mov qword ptr [rbx+0x10], 0xfffffffffffffffe",
        )
        .rv(RBX, s(0x100))
        .om(0x110, 0xffff_ffff_ffff_fffe),
        Row::new("88 43 01", "mov [rbx+1], al")
            .rv(RBX, s(0x100))
            .r(RAX, 0xab)
            .m(0x100, 0)
            .om(0x100, 0xab00),
        Row::new("66 89 43 02", "mov [rbx+2], ax")
            .rv(RBX, s(0x100))
            .r(RAX, 0xbeef)
            .m(0x100, 0)
            .om(0x100, 0xbeef_0000),
        Row::new("0f b6 c3", "movzx eax, bl")
            .r(RAX, ones)
            .r(RBX, 0x1f0)
            .o(RAX, 0xf0),
        Row::new("0f b7 c3", "movzx eax, bx")
            .r(RAX, ones)
            .r(RBX, 0x1_8001)
            .o(RAX, 0x8001),
        Row::new("48 0f b6 43 01", "movzx rax, byte ptr [rbx+1]")
            .rv(RBX, s(0x100))
            .m(0x100, 0xfe00)
            .o(RAX, 0xfe),
        Row::new("48 0f be c3", "movsx rax, bl")
            .r(RBX, 0x80)
            .o(RAX, 0xffff_ffff_ffff_ff80),
        Row::new("48 0f bf c3", "movsx rax, bx")
            .r(RBX, 0x8000)
            .o(RAX, 0xffff_ffff_ffff_8000),
        Row::new("48 63 c3", "movsxd rax, ebx")
            .r(RBX, 0x8000_0000)
            .o(RAX, 0xffff_ffff_8000_0000),
        Row::new("48 8d 44 8b 10", "lea rax, [rbx+rcx*4+0x10]")
            .r(RBX, 0x1000)
            .r(RCX, 3)
            .keep(ZF)
            .o(RAX, 0x101c),
        Row::new("8d 44 24 f8", "lea eax, [rsp-8]")
            .r(RSP, 0x1_0000_0010)
            .r(RAX, ones)
            .o(RAX, 8),
        // The stack.
        Row::new("53", "push rbx")
            .rv(RSP, s(0x800))
            .r(RBX, 0xabc)
            .ov(RSP, s(0x7f8))
            .om(0x7f8, 0xabc),
        Row::new("6a ff", "push 0xffffffffffffffff")
            .rv(RSP, s(0x800))
            .ov(RSP, s(0x7f8))
            .om(0x7f8, ones),
        Row::new("58", "pop rax")
            .rv(RSP, s(0x800))
            .m(0x800, 0x55)
            .o(RAX, 0x55)
            .ov(RSP, s(0x808)),
        Row::new("41 5f", "pop r15")
            .rv(RSP, s(0x800))
            .m(0x800, 0x66)
            .o(Gpr(15), 0x66)
            .ov(RSP, s(0x808)),
        Row::new("c9", "leave")
            .rv(RBP, s(0x800))
            .rv(RSP, s(0x700))
            .m(0x800, 0x1234)
            .o(RBP, 0x1234)
            .ov(RSP, s(0x808)),
        // Calls, returns and jumps (a taken branch lands TAKEN bytes after the instruction).
        Row::new("e8 30 00 00 00", "call 0x35")
            .rv(RSP, s(0x800))
            .ov(RSP, s(0x7f8))
            .omv(0x7f8, Val::Next(0))
            .end(taken),
        Row::new("ff d0", "call rax")
            .rv(RSP, s(0x800))
            .rv(RAX, Val::Next(TAKEN))
            .ov(RSP, s(0x7f8))
            .omv(0x7f8, Val::Next(0))
            .end(taken),
        Row::new("c3", "ret")
            .rv(RSP, s(0x800))
            .mv(0x800, Val::Next(TAKEN))
            .ov(RSP, s(0x808))
            .end(taken),
        Row::new("eb 30", "jmp short 0x32").end(taken),
        Row::new("e9 30 00 00 00", "jmp 0x35").end(taken),
        Row::new("ff e0", "jmp rax").rv(RAX, Val::Next(TAKEN)).end(taken),
        Row::new("74 30", "je short 0x32").keep(ZF).end(taken),
        Row::new("74 30", "je short 0x32").keep(CF),
        Row::new("0f 85 30 00 00 00", "jne 0x36").keep(0).end(taken),
        Row::new("0f 84 30 00 00 00", "je 0x36").keep(0),
        Row::new("72 30", "jb short 0x32").keep(CF).end(taken),
        Row::new("73 30", "jae short 0x32").keep(CF),
        Row::new("76 30", "jbe short 0x32").keep(0),
        Row::new("77 30", "ja short 0x32").keep(0).end(taken),
        Row::new("7c 30", "jl short 0x32").keep(SF).end(taken),
        Row::new("7d 30", "jge short 0x32").keep(SF),
        Row::new("7e 30", "jle short 0x32").keep(ZF).end(taken),
        Row::new("7f 30", "jg short 0x32").keep(SF | OF).end(taken),
        Row::new("78 30", "js short 0x32").keep(SF).end(taken),
        Row::new("0f 8f 30 00 00 00", "jg 0x36").keep(SF),
        // Compare and test.
        Row::new("48 39 d8", "cmp rax, rbx")
            .r(RAX, 1)
            .r(RBX, 2)
            .of(CF | PF | AF | SF),
        Row::new("48 83 f8 05", "cmp rax, 5").r(RAX, 5).f(CF | OF).of(ZF | PF),
        Row::new("39 d8", "cmp eax, ebx")
            .r(RAX, 0x7fff_ffff)
            .r(RBX, 0xffff_ffff)
            .of(CF | PF | SF | OF),
        Row::new("48 85 c0", "test rax, rax").f(CF | OF).of(ZF | PF),
        Row::new("a8 80", "test al, 0x80").r(RAX, 0x80).of(SF),
        // Arithmetic.
        Row::new("48 01 d8", "add rax, rbx")
            .r(RAX, 0x7fff_ffff_ffff_ffff)
            .r(RBX, 1)
            .o(RAX, 0x8000_0000_0000_0000)
            .of(OF | SF | AF | PF),
        Row::new("48 83 c0 01", "add rax, 1")
            .r(RAX, ones)
            .o(RAX, 0)
            .of(CF | ZF | PF | AF),
        Row::new("01 d8", "add eax, ebx")
            .r(RAX, 0xffff_ffff_0000_0001)
            .r(RBX, 0xffff_ffff)
            .o(RAX, 0)
            .of(CF | ZF | PF | AF),
        Row::new("48 11 d8", "adc rax, rbx").r(RAX, 1).r(RBX, 2).f(CF).o(RAX, 4),
        Row::new("48 29 d8", "sub rax, rbx")
            .r(RAX, 0x8000_0000_0000_0000)
            .r(RBX, 1)
            .o(RAX, 0x7fff_ffff_ffff_ffff)
            .of(OF | AF | PF),
        Row::new("48 19 d8", "sbb rax, rbx")
            .f(CF)
            .o(RAX, ones)
            .of(CF | PF | AF | SF),
        Row::new("48 ff c0", "inc rax")
            .r(RAX, ones)
            .f(CF)
            .o(RAX, 0)
            .of(CF | ZF | PF | AF),
        Row::new("48 ff c8", "dec rax").o(RAX, ones).of(SF | PF | AF),
        // Logic.
        Row::new("48 21 d8", "and rax, rbx")
            .r(RAX, 0xf0f0)
            .r(RBX, 0xff00)
            .f(CF | OF)
            .o(RAX, 0xf000)
            .of(PF),
        Row::new("48 09 d8", "or rax, rbx")
            .r(RBX, 0x8000_0000_0000_0000)
            .o(RAX, 0x8000_0000_0000_0000)
            .of(SF | PF),
        Row::new("31 c0", "xor eax, eax").r(RAX, ones).o(RAX, 0).of(ZF | PF),
        Row::new("48 83 f0 ff", "xor rax, 0xffffffffffffffff")
            .r(RAX, 0xf)
            .o(RAX, 0xffff_ffff_ffff_fff0)
            .of(SF | PF),
        Row::new("48 f7 d0", "not rax")
            .r(RAX, 0xf)
            .keep(ZF)
            .o(RAX, 0xffff_ffff_ffff_fff0),
        Row::new("48 f7 d8", "neg rax")
            .r(RAX, 1)
            .o(RAX, ones)
            .of(CF | PF | AF | SF),
        Row::new("48 f7 d8", "neg rax").f(CF).of(ZF | PF),
        Row::new("48 f7 d8", "neg rax")
            .r(RAX, 0x8000_0000_0000_0000)
            .of(CF | PF | SF | OF),
        // Shifts and rotates.
        Row::new("48 c1 e0 04", "shl rax, 4")
            .r(RAX, 0xf000_0000_0000_0001)
            .o(RAX, 0x10)
            .of(CF),
        Row::new("48 d1 e0", "shl rax, 1")
            .r(RAX, 0x4000_0000_0000_0000)
            .o(RAX, 0x8000_0000_0000_0000)
            .of(OF | SF | PF),
        Row::new("48 d3 e0", "shl rax, cl").r(RAX, 5).keep(CF | ZF),
        // A 32-bit shift by a masked count of 0 keeps the flags but still writes the register:
        // the upper half is cleared (BPF `w8 >>= 0` relies on it).
        Row::new("c1 e8 00", "shr eax, 0")
            .r(RAX, 0xffff_ffff_ffff_fff0)
            .o(RAX, 0xffff_fff0)
            .keep(CF | ZF),
        Row::new("d3 e0", "shl eax, cl")
            .r(RAX, 0xffff_ffff_0000_0005)
            .o(RAX, 5)
            .keep(CF | ZF),
        Row::new("48 c1 e8 04", "shr rax, 4").r(RAX, 0x18).o(RAX, 1).of(CF),
        Row::new("48 d1 e8", "shr rax, 1")
            .r(RAX, 0x8000_0000_0000_0001)
            .o(RAX, 0x4000_0000_0000_0000)
            .of(CF | PF | OF),
        Row::new("48 c1 f8 3f", "sar rax, 0x3f")
            .r(RAX, 0x8000_0000_0000_0000)
            .o(RAX, ones)
            .of(SF | PF),
        Row::new("48 d3 f8", "sar rax, cl")
            .r(RAX, 0xffff_ffff_ffff_fff8)
            .r(RCX, 4)
            .o(RAX, ones)
            .of(CF | SF | PF),
        Row::new("c1 e0 1f", "shl eax, 0x1f")
            .r(RAX, 0xffff_ffff_0000_0003)
            .o(RAX, 0x8000_0000)
            .of(CF | PF | SF),
        Row::new("48 c1 c0 08", "rol rax, 8")
            .r(RAX, 0x1122_3344_5566_7788)
            .o(RAX, 0x2233_4455_6677_8811)
            .of(CF),
        Row::new("48 d1 c0", "rol rax, 1")
            .r(RAX, 0x8000_0000_0000_0000)
            .o(RAX, 1)
            .of(CF | OF),
        Row::new("48 c1 c8 08", "ror rax, 8")
            .r(RAX, 0x1122_3344_5566_7788)
            .o(RAX, 0x8811_2233_4455_6677)
            .of(CF),
        Row::new("48 d1 c8", "ror rax, 1")
            .r(RAX, 1)
            .o(RAX, 0x8000_0000_0000_0000)
            .of(CF | OF),
        Row::new("c4 e2 c9 f7 c0", "shlx rax, rax, rsi")
            .r(RAX, 3)
            .r(RSI, 0x41)
            .keep(ZF)
            .o(RAX, 6),
        Row::new("c4 e2 cb f7 c0", "shrx rax, rax, rsi")
            .r(RAX, 0x30)
            .r(RSI, 4)
            .keep(CF)
            .o(RAX, 3),
        Row::new("c4 e2 ca f7 c0", "sarx rax, rax, rsi")
            .r(RAX, 0x8000_0000_0000_0000)
            .r(RSI, 63)
            .o(RAX, ones),
        // Multiply and divide.
        Row::new("48 0f af c3", "imul rax, rbx")
            .r(RAX, 3)
            .r(RBX, 0xffff_ffff_ffff_fffe)
            .f(CF | OF)
            .o(RAX, 0xffff_ffff_ffff_fffa),
        Row::new("48 0f af c3", "imul rax, rbx")
            .r(RAX, 0x4000_0000_0000_0000)
            .r(RBX, 2)
            .o(RAX, 0x8000_0000_0000_0000)
            .of(CF | OF),
        Row::new("48 6b c3 0a", "imul rax, rbx, 0xa").r(RBX, 7).o(RAX, 70),
        Row::new("48 69 c3 00 00 01 00", "imul rax, rbx, 0x10000")
            .r(RBX, 0x1_0000)
            .o(RAX, 0x1_0000_0000),
        Row::new("48 f7 eb", "imul rbx")
            .r(RAX, ones)
            .r(RBX, 2)
            .o(RAX, 0xffff_ffff_ffff_fffe)
            .o(RDX, ones),
        Row::new("48 f7 e3", "mul rbx")
            .r(RAX, ones)
            .r(RBX, 2)
            .o(RAX, 0xffff_ffff_ffff_fffe)
            .o(RDX, 1)
            .of(CF | OF),
        Row::new("f7 e3", "mul ebx")
            .r(RAX, 0x8000_0000)
            .r(RBX, 2)
            .o(RAX, 0)
            .o(RDX, 1)
            .of(CF | OF),
        Row::new("48 f7 f3", "div rbx")
            .r(RAX, 100)
            .r(RBX, 7)
            .o(RAX, 14)
            .o(RDX, 2),
        Row::new("48 f7 f3", "div rbx")
            .r(RDX, 1)
            .r(RBX, 2)
            .o(RAX, 0x8000_0000_0000_0000)
            .o(RDX, 0),
        Row::new("48 f7 f3", "div rbx").r(RAX, 5).end(End::DivideError),
        Row::new("48 f7 f3", "div rbx")
            .r(RDX, 2)
            .r(RBX, 2)
            .end(End::DivideError),
        Row::new("48 f7 fb", "idiv rbx")
            .r(RAX, 0xffff_ffff_ffff_fff9)
            .r(RDX, ones)
            .r(RBX, 2)
            .o(RAX, 0xffff_ffff_ffff_fffd)
            .o(RDX, ones),
        Row::new("48 f7 fb", "idiv rbx")
            .r(RAX, 0x8000_0000_0000_0000)
            .r(RDX, ones)
            .r(RBX, ones)
            .end(End::DivideError),
        Row::new("f7 fb", "idiv ebx")
            .r(RAX, 0xffff_fff9)
            .r(RDX, 0xffff_ffff)
            .r(RBX, 2)
            .o(RAX, 0xffff_fffd)
            .o(RDX, 0xffff_ffff),
        Row::new("f7 f3", "div ebx")
            .r(RAX, 0xffff_ffff_0000_0007)
            .r(RDX, 0xffff_ffff_0000_0000)
            .r(RBX, 2)
            .o(RAX, 3)
            .o(RDX, 1),
        Row::new("48 99", "cqo").r(RAX, 0x8000_0000_0000_0000).o(RDX, ones),
        Row::new("48 99", "cqo")
            .r(RAX, 0x7fff_ffff_ffff_ffff)
            .r(RDX, 5)
            .o(RDX, 0),
        Row::new("99", "cdq")
            .r(RAX, 0x8000_0000)
            .r(RDX, 0x1234_0000_0000_0000)
            .o(RDX, 0xffff_ffff),
        // Exchanges and atomics.
        Row::new("48 87 d8", "xchg rax, rbx")
            .r(RAX, 1)
            .r(RBX, 2)
            .o(RAX, 2)
            .o(RBX, 1),
        Row::new("48 87 03", "xchg [rbx], rax")
            .rv(RBX, s(0x100))
            .r(RAX, 5)
            .m(0x100, 9)
            .o(RAX, 9)
            .om(0x100, 5),
        Row::new("f0 48 0f b1 0b", "lock cmpxchg [rbx], rcx")
            .rv(RBX, s(0x100))
            .r(RAX, 9)
            .r(RCX, 0x77)
            .m(0x100, 9)
            .om(0x100, 0x77)
            .of(ZF | PF),
        Row::new("f0 48 0f b1 0b", "lock cmpxchg [rbx], rcx")
            .rv(RBX, s(0x100))
            .r(RAX, 8)
            .r(RCX, 0x77)
            .m(0x100, 9)
            .o(RAX, 9)
            .of(CF | PF | AF | SF),
        Row::new("f0 0f b1 0b", "lock cmpxchg [rbx], ecx")
            .rv(RBX, s(0x100))
            .r(RAX, 0xffff_ffff_0000_0009)
            .r(RCX, 0x77)
            .m(0x100, 0xaaaa_aaaa_0000_0009)
            .om(0x100, 0xaaaa_aaaa_0000_0077)
            .of(ZF | PF),
        Row::new("f0 48 01 03", "lock add [rbx], rax")
            .rv(RBX, s(0x100))
            .r(RAX, 2)
            .m(0x100, 1)
            .om(0x100, 3)
            .of(PF),
        Row::new("f0 48 0f c1 03", "lock xadd [rbx], rax")
            .rv(RBX, s(0x100))
            .r(RAX, 5)
            .m(0x100, 10)
            .o(RAX, 10)
            .om(0x100, 15)
            .of(PF),
        Row::new("f0 48 21 03", "lock and [rbx], rax")
            .rv(RBX, s(0x100))
            .r(RAX, 0xf)
            .m(0x100, 0xff)
            .om(0x100, 0xf)
            .of(PF),
        Row::new("f0 48 09 03", "lock or [rbx], rax")
            .rv(RBX, s(0x100))
            .r(RAX, 1)
            .m(0x100, 0x100)
            .om(0x100, 0x101),
        Row::new("f0 48 31 03", "lock xor [rbx], rax")
            .rv(RBX, s(0x100))
            .r(RAX, 0xff)
            .m(0x100, 0xff)
            .om(0x100, 0)
            .of(ZF | PF),
        Row::new("f0 01 03", "lock add [rbx], eax")
            .rv(RBX, s(0x100))
            .r(RAX, 1)
            .m(0x100, 0x1111_1111_ffff_ffff)
            .om(0x100, 0x1111_1111_0000_0000)
            .of(CF | ZF | PF | AF),
        // Byte swaps.
        Row::new("48 0f c8", "bswap rax")
            .r(RAX, 0x1122_3344_5566_7788)
            .o(RAX, 0x8877_6655_4433_2211),
        Row::new("0f c8", "bswap eax")
            .r(RAX, 0xffff_ffff_1122_3344)
            .o(RAX, 0x4433_2211),
        Row::new("66 c1 c0 08", "rol ax, 8")
            .r(RAX, 0xffff_1234)
            .o(RAX, 0xffff_3412)
            .of(0),
        // Nops, ENDBR and int3.
        Row::new("90", "nop").keep(CF | SF),
        Row::new("66 90", "xchg ax, ax").keep(ZF),
        Row::new("0f 1f 00", "nop [rax]").keep(0),
        Row::new("0f 1f 44 00 00", "nop [rax+rax]").keep(PF),
        Row::new("66 0f 1f 44 00 00", "nop [rax+rax]").keep(0),
        Row::new("f3 0f 1e fa", "endbr64").keep(OF),
        Row::new("cc", "int3").end(End::Breakpoint),
    ]
}
