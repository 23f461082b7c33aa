//! Memory seen by an interpreted program: a [`Host`] answers loads, stores and calls.
//!
//! [`Machine`] is the host this crate provides: a set of named [`Region`]s of owned bytes at
//! fixed virtual addresses plus a helper table. native-runner implements [`Host`] itself to let
//! programs touch real trampoline stacks.

use std::collections::BTreeMap;

/// Loads and stores of 1, 2, 4 or 8 bytes, little-endian.
pub trait Memory {
    /// Reads `size` bytes at `addr`, or `None` if any byte is outside the allowed regions.
    fn load(&mut self, addr: u64, size: u8) -> Option<u64>;
    /// Writes the low `size` bytes of `value` at `addr`; `false` if not allowed.
    fn store(&mut self, addr: u64, size: u8, value: u64) -> bool;
}

/// Why a helper or kfunc call failed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CallFault {
    /// No function with that id is available.
    Unknown,
    /// The function ran and reported an error.
    Failed(String),
}

/// Everything an interpreted program can reach outside its registers.
pub trait Host: Memory {
    /// Calls helper `id` with r1-r5.
    fn call_helper(&mut self, id: i32, args: [u64; 5]) -> Result<u64, CallFault>;
    /// Calls kernel function `btf_id` with r1-r5.
    fn call_kfunc(&mut self, btf_id: i32, args: [u64; 5]) -> Result<u64, CallFault> {
        let _ = (btf_id, args);
        Err(CallFault::Unknown)
    }
    /// Called before each instruction with its slot index and the registers (r0-r10 in
    /// `regs[0..11]`): tracing hosts record steps here; the default does nothing and costs
    /// nothing.
    #[inline(always)]
    fn step(&mut self, pc: usize, regs: &[u64; 16]) {
        let _ = (pc, regs);
    }
    /// The packet (address, length) that legacy `LD_ABS`/`LD_IND` read, if any.
    fn packet(&self) -> Option<(u64, u64)> {
        None
    }
}

/// A contiguous range of program-visible memory.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Region {
    /// Name shown in errors (`stack`, `mem`, `ctx`, `cookie`, `.bss`).
    pub name: String,
    /// Virtual address of the first byte.
    pub base: u64,
    /// Contents.
    pub data: Vec<u8>,
    /// Whether stores are allowed.
    pub writable: bool,
}

impl Region {
    /// Offset of `[addr, addr + size)` inside this region, if it lies entirely within it.
    #[inline]
    fn offset(&self, addr: u64, size: u8) -> Option<usize> {
        let o = addr.wrapping_sub(self.base);
        let len = self.data.len() as u64;
        if o < len && size as u64 <= len - o {
            Some(o as usize)
        } else {
            None
        }
    }
}

/// A helper implementation: receives the machine's memory and r1-r5.
pub type HelperFn = fn(&mut RegionMemory, [u64; 5]) -> Result<u64, CallFault>;

/// Owned regions at virtual addresses.
#[derive(Clone, Debug, Default)]
pub struct RegionMemory {
    /// The regions, searched in order.
    pub regions: Vec<Region>,
}

impl RegionMemory {
    /// The region that holds `addr`, if any.
    pub fn region_of(&self, addr: u64) -> Option<&Region> {
        self.regions.iter().find(|r| r.offset(addr, 1).is_some())
    }
    /// The region with this name.
    pub fn get(&self, name: &str) -> Option<&Region> {
        self.regions.iter().find(|r| r.name == name)
    }
}

#[inline]
fn read_le(b: &[u8], o: usize, size: u8) -> u64 {
    match size {
        1 => b[o] as u64,
        2 => u16::from_le_bytes([b[o], b[o + 1]]) as u64,
        4 => u32::from_le_bytes([b[o], b[o + 1], b[o + 2], b[o + 3]]) as u64,
        _ => u64::from_le_bytes([
            b[o],
            b[o + 1],
            b[o + 2],
            b[o + 3],
            b[o + 4],
            b[o + 5],
            b[o + 6],
            b[o + 7],
        ]),
    }
}

#[inline]
fn write_le(b: &mut [u8], o: usize, size: u8, v: u64) {
    let bytes = v.to_le_bytes();
    b[o..o + size as usize].copy_from_slice(&bytes[..size as usize]);
}

impl Memory for RegionMemory {
    #[inline]
    fn load(&mut self, addr: u64, size: u8) -> Option<u64> {
        for r in &self.regions {
            if let Some(o) = r.offset(addr, size) {
                return Some(read_le(&r.data, o, size));
            }
        }
        None
    }
    #[inline]
    fn store(&mut self, addr: u64, size: u8, value: u64) -> bool {
        for r in &mut self.regions {
            if let Some(o) = r.offset(addr, size) {
                if !r.writable {
                    return false;
                }
                write_le(&mut r.data, o, size, value);
                return true;
            }
        }
        false
    }
}

/// The standard host: regions, a helper table and an optional packet region.
#[derive(Clone, Debug, Default)]
pub struct Machine {
    /// Program-visible memory.
    pub mem: RegionMemory,
    /// Helpers by id.
    pub helpers: BTreeMap<i32, HelperFn>,
    /// Kernel functions by BTF id.
    pub kfuncs: BTreeMap<i32, HelperFn>,
    /// Name of the region legacy packet loads read.
    pub packet_region: Option<String>,
}

/// Virtual address of the input memory in the conformance environment.
pub const MEM_BASE: u64 = 0x0000_1000_0000_0000;
/// Virtual address of the top of the stack area (frames grow down from here).
pub const STACK_TOP: u64 = 0x0000_7ffe_0000_0000;

fn identity(_: &mut RegionMemory, a: [u64; 5]) -> Result<u64, CallFault> {
    Ok(a[0])
}

impl Machine {
    /// An empty machine with a stack of `depth` frames of `frame` bytes below [`STACK_TOP`].
    pub fn with_stack(frame: usize, depth: usize) -> Self {
        let mut m = Machine::default();
        let size = frame * depth;
        m.mem.regions.push(Region {
            name: "stack".into(),
            base: STACK_TOP - size as u64,
            data: vec![0; size],
            writable: true,
        });
        m
    }

    /// The environment of the bpf_conformance suite: input memory at [`MEM_BASE`] (also the
    /// packet), a 512-byte stack per frame, helper #5 = identity.
    pub fn conformance(mem: Vec<u8>) -> Self {
        let mut m = Machine::with_stack(super::STACK_FRAME_SIZE, super::MAX_CALL_DEPTH);
        m.add_region("mem", MEM_BASE, mem, true);
        m.packet_region = Some("mem".into());
        m.helpers.insert(5, identity);
        m
    }

    /// Adds a region.
    pub fn add_region(&mut self, name: &str, base: u64, data: Vec<u8>, writable: bool) {
        self.mem.regions.push(Region {
            name: name.into(),
            base,
            data,
            writable,
        });
    }
}

impl Memory for Machine {
    #[inline]
    fn load(&mut self, addr: u64, size: u8) -> Option<u64> {
        self.mem.load(addr, size)
    }
    #[inline]
    fn store(&mut self, addr: u64, size: u8, value: u64) -> bool {
        self.mem.store(addr, size, value)
    }
}

impl Host for Machine {
    fn call_helper(&mut self, id: i32, args: [u64; 5]) -> Result<u64, CallFault> {
        let f = *self.helpers.get(&id).ok_or(CallFault::Unknown)?;
        f(&mut self.mem, args)
    }
    fn call_kfunc(&mut self, btf_id: i32, args: [u64; 5]) -> Result<u64, CallFault> {
        let f = *self.kfuncs.get(&btf_id).ok_or(CallFault::Unknown)?;
        f(&mut self.mem, args)
    }
    fn packet(&self) -> Option<(u64, u64)> {
        let name = self.packet_region.as_deref()?;
        self.mem.get(name).map(|r| (r.base, r.data.len() as u64))
    }
}
