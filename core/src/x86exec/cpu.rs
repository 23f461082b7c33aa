//! The machine state the executor steps: sixteen general registers, the arithmetic flags and
//! the instruction pointer.

use iced_x86::Register;
use serde::{Deserialize, Serialize};

/// A general-purpose register by its hardware number (0 = rax ... 15 = r15).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Gpr(pub u8);

impl Gpr {
    /// rax.
    pub const RAX: Gpr = Gpr(0);
    /// rcx.
    pub const RCX: Gpr = Gpr(1);
    /// rdx.
    pub const RDX: Gpr = Gpr(2);
    /// rbx.
    pub const RBX: Gpr = Gpr(3);
    /// rsp.
    pub const RSP: Gpr = Gpr(4);
    /// rbp.
    pub const RBP: Gpr = Gpr(5);
    /// rsi.
    pub const RSI: Gpr = Gpr(6);
    /// rdi.
    pub const RDI: Gpr = Gpr(7);
    /// The six SysV argument registers, in order.
    pub const ARGS: [Gpr; 6] = [Gpr(7), Gpr(6), Gpr(2), Gpr(1), Gpr(8), Gpr(9)];

    /// All sixteen, in hardware order.
    pub fn all() -> impl Iterator<Item = Gpr> {
        (0..16).map(Gpr)
    }

    /// The 64-bit iced register.
    pub fn register(self) -> Register {
        const R: [Register; 16] = [
            Register::RAX,
            Register::RCX,
            Register::RDX,
            Register::RBX,
            Register::RSP,
            Register::RBP,
            Register::RSI,
            Register::RDI,
            Register::R8,
            Register::R9,
            Register::R10,
            Register::R11,
            Register::R12,
            Register::R13,
            Register::R14,
            Register::R15,
        ];
        R[self.0 as usize & 15]
    }

    /// The general register an iced register is part of (`eax`, `ax`, `al`, `ah` are rax).
    pub fn of(r: Register) -> Option<Gpr> {
        if !r.is_gpr() {
            return None;
        }
        let full = r.full_register();
        Some(Gpr((full as u32).wrapping_sub(Register::RAX as u32) as u8)).filter(|g| g.0 < 16)
    }

    /// Its name (`rax` ... `r15`).
    pub fn name(self) -> &'static str {
        const N: [&str; 16] = [
            "rax", "rcx", "rdx", "rbx", "rsp", "rbp", "rsi", "rdi", "r8", "r9", "r10", "r11", "r12", "r13", "r14",
            "r15",
        ];
        N[self.0 as usize & 15]
    }
}

impl std::fmt::Display for Gpr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.pad(self.name())
    }
}

/// The arithmetic flags as hardware bits of RFLAGS.
pub mod flag {
    /// Carry.
    pub const CF: u64 = 1 << 0;
    /// Parity (of the low byte of the result).
    pub const PF: u64 = 1 << 2;
    /// Auxiliary carry (out of bit 3).
    pub const AF: u64 = 1 << 4;
    /// Zero.
    pub const ZF: u64 = 1 << 6;
    /// Sign.
    pub const SF: u64 = 1 << 7;
    /// Overflow.
    pub const OF: u64 = 1 << 11;
    /// The six status flags.
    pub const STATUS: u64 = CF | PF | AF | ZF | SF | OF;

    /// The hardware bits of iced's `RflagsBits` mask (status flags only).
    pub fn from_iced(bits: u32) -> u64 {
        use iced_x86::RflagsBits as B;
        let pairs = [
            (B::CF, CF),
            (B::PF, PF),
            (B::AF, AF),
            (B::ZF, ZF),
            (B::SF, SF),
            (B::OF, OF),
        ];
        pairs.iter().filter(|(b, _)| bits & b != 0).fold(0, |m, (_, h)| m | h)
    }

    /// `CF PF ZF` style names of the set status flags.
    pub fn names(v: u64) -> String {
        let pairs = [(CF, "CF"), (PF, "PF"), (AF, "AF"), (ZF, "ZF"), (SF, "SF"), (OF, "OF")];
        let set: Vec<&str> = pairs.iter().filter(|(b, _)| v & b != 0).map(|(_, n)| *n).collect();
        if set.is_empty() {
            "-".into()
        } else {
            set.join(" ")
        }
    }
}

/// Registers, flags and rip.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cpu {
    /// rax ... r15.
    pub regs: [u64; 16],
    /// RFLAGS (only the status flags change; bit 1 is always set on hardware and here).
    pub rflags: u64,
    /// The next instruction.
    pub rip: u64,
}

impl Cpu {
    /// A register's value.
    #[inline]
    pub fn get(&self, g: Gpr) -> u64 {
        self.regs[g.0 as usize & 15]
    }

    /// Sets a register.
    #[inline]
    pub fn set(&mut self, g: Gpr, v: u64) {
        self.regs[g.0 as usize & 15] = v;
    }

    /// Reads an iced register of any width (`ah`..`bh` are bits 8-15).
    pub fn read(&self, r: Register) -> Option<u64> {
        let g = Gpr::of(r)?;
        let v = self.get(g);
        Some(match r.size() {
            1 if is_high_byte(r) => (v >> 8) & 0xff,
            1 => v & 0xff,
            2 => v & 0xffff,
            4 => v & 0xffff_ffff,
            _ => v,
        })
    }

    /// Writes an iced register with the hardware's rules: 32-bit writes zero the upper half,
    /// 8- and 16-bit writes keep the other bits.
    pub fn write(&mut self, r: Register, v: u64) -> Option<()> {
        let g = Gpr::of(r)?;
        let old = self.get(g);
        let new = match r.size() {
            1 if is_high_byte(r) => (old & !0xff00) | ((v & 0xff) << 8),
            1 => (old & !0xff) | (v & 0xff),
            2 => (old & !0xffff) | (v & 0xffff),
            4 => v & 0xffff_ffff,
            _ => v,
        };
        self.set(g, new);
        Some(())
    }

    /// Whether a status flag is set.
    #[inline]
    pub fn flag(&self, f: u64) -> bool {
        self.rflags & f != 0
    }

    /// Replaces the status flags in `mask` with those of `value`.
    #[inline]
    pub fn set_flags(&mut self, mask: u64, value: u64) {
        self.rflags = (self.rflags & !mask) | (value & mask);
    }
}

fn is_high_byte(r: Register) -> bool {
    matches!(r, Register::AH | Register::CH | Register::DH | Register::BH)
}
