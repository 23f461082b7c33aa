//! The executor's memory: a few areas at fixed virtual addresses (the trampoline image, the
//! traced function's patched entry, the kernel stack, the programs' data), each with its own
//! permissions. Every access is bounds-checked; nothing outside an area exists.

use serde::{Deserialize, Serialize};

/// What an area holds.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum AreaKind {
    /// The trampoline image.
    Trampoline,
    /// The traced function's first bytes, as ftrace patched them.
    PatchedEntry,
    /// The kernel stack the call runs on (the trampoline frame and the programs' stacks).
    Stack,
    /// A map's value area (index in the scenario's maps).
    Map {
        /// Map index.
        index: usize,
    },
    /// Code or data of a known-answer row.
    Scratch,
    /// Other code.
    Code,
}

impl std::fmt::Display for AreaKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            AreaKind::Trampoline => f.pad("trampoline"),
            AreaKind::PatchedEntry => f.pad("patched entry"),
            AreaKind::Stack => f.pad("stack"),
            AreaKind::Map { index } => f.pad(&format!("map {index}")),
            AreaKind::Scratch => f.pad("scratch"),
            AreaKind::Code => f.pad("code"),
        }
    }
}

/// Access rights of an area.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Perms {
    /// Stores allowed.
    pub write: bool,
    /// Instructions may be fetched.
    pub exec: bool,
}

impl Perms {
    /// Read and write, no execution.
    pub const RW: Perms = Perms {
        write: true,
        exec: false,
    };
    /// Read and execute.
    pub const RX: Perms = Perms {
        write: false,
        exec: true,
    };
}

/// One area of memory.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Area {
    /// What it is.
    pub kind: AreaKind,
    /// Address of its first byte.
    pub base: u64,
    /// Its bytes.
    pub bytes: Vec<u8>,
    /// Rights.
    pub perms: Perms,
}

impl Area {
    #[inline]
    fn offset(&self, addr: u64, size: usize) -> Option<usize> {
        let o = addr.wrapping_sub(self.base);
        let len = self.bytes.len() as u64;
        (o < len && size as u64 <= len - o).then_some(o as usize)
    }

    /// One past its last byte.
    pub fn end(&self) -> u64 {
        self.base.wrapping_add(self.bytes.len() as u64)
    }
}

/// A store, with the bytes it replaced (so that a trace can be stepped back).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemWrite {
    /// Address.
    pub addr: u64,
    /// Size in bytes (1, 2, 4 or 8).
    pub size: u8,
    /// The value before.
    pub old: u64,
    /// The value stored.
    pub new: u64,
}

/// Why an access failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[error("{} of {size} bytes at {addr:#x}: {}", if *write { "store" } else { "load" }, if *unmapped { "no memory there" } else { "read-only memory" })]
pub struct MemFault {
    /// Address.
    pub addr: u64,
    /// Size.
    pub size: u8,
    /// A store.
    pub write: bool,
    /// Nothing is mapped there (else: the area is read-only).
    pub unmapped: bool,
}

/// All memory of one execution.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Space {
    /// The areas (they do not overlap).
    pub areas: Vec<Area>,
    /// Stores since the log was last taken, when logging.
    #[serde(skip)]
    log: Option<Vec<MemWrite>>,
}

impl Space {
    /// Adds an area; `None` if it overlaps one already there or wraps the address space.
    pub fn map(&mut self, kind: AreaKind, base: u64, bytes: Vec<u8>, perms: Perms) -> Option<()> {
        let end = base.checked_add(bytes.len() as u64)?;
        if self.areas.iter().any(|a| base < a.end() && a.base < end) {
            return None;
        }
        self.areas.push(Area {
            kind,
            base,
            bytes,
            perms,
        });
        Some(())
    }

    /// The area holding `addr`.
    pub fn area_of(&self, addr: u64) -> Option<&Area> {
        self.areas.iter().find(|a| a.offset(addr, 1).is_some())
    }

    /// The first area of this kind.
    pub fn area(&self, kind: &AreaKind) -> Option<&Area> {
        self.areas.iter().find(|a| &a.kind == kind)
    }

    /// Reads `size` (1, 2, 4, 8) bytes, little-endian.
    pub fn read(&self, addr: u64, size: u8) -> Result<u64, MemFault> {
        let fault = MemFault {
            addr,
            size,
            write: false,
            unmapped: true,
        };
        let (a, o) = self.locate(addr, size as usize).ok_or(fault)?;
        let mut b = [0u8; 8];
        b[..size as usize].copy_from_slice(&a.bytes[o..o + size as usize]);
        Ok(u64::from_le_bytes(b))
    }

    /// Writes the low `size` bytes of `value`; logs the store when logging.
    pub fn write(&mut self, addr: u64, size: u8, value: u64) -> Result<(), MemFault> {
        let mut fault = MemFault {
            addr,
            size,
            write: true,
            unmapped: true,
        };
        let n = size as usize;
        let Some(i) = self.areas.iter().position(|a| a.offset(addr, n).is_some()) else {
            return Err(fault);
        };
        let a = &mut self.areas[i];
        if !a.perms.write {
            fault.unmapped = false;
            return Err(fault);
        }
        let o = addr.wrapping_sub(a.base) as usize;
        let mut old = [0u8; 8];
        old[..n].copy_from_slice(&a.bytes[o..o + n]);
        a.bytes[o..o + n].copy_from_slice(&value.to_le_bytes()[..n]);
        if let Some(log) = &mut self.log {
            let mask = if n == 8 { u64::MAX } else { (1u64 << (8 * n)) - 1 };
            log.push(MemWrite {
                addr,
                size,
                old: u64::from_le_bytes(old),
                new: value & mask,
            });
        }
        Ok(())
    }

    /// Up to 15 instruction bytes at `addr`, from an executable area.
    pub fn fetch(&self, addr: u64) -> Option<&[u8]> {
        let (a, o) = self.locate(addr, 1)?;
        a.perms.exec.then(|| &a.bytes[o..(o + 15).min(a.bytes.len())])
    }

    fn locate(&self, addr: u64, size: usize) -> Option<(&Area, usize)> {
        self.areas.iter().find_map(|a| a.offset(addr, size).map(|o| (a, o)))
    }

    /// Starts logging stores.
    pub fn start_log(&mut self) {
        self.log = Some(Vec::new());
    }

    /// The stores logged since the last call (logging goes on).
    pub fn take_log(&mut self) -> Vec<MemWrite> {
        self.log.as_mut().map(std::mem::take).unwrap_or_default()
    }

    /// Whether stores are being logged.
    pub fn logging(&self) -> bool {
        self.log.is_some()
    }

    /// Undoes stores, latest first (stepping a trace back).
    pub fn undo(&mut self, writes: &[MemWrite]) {
        let log = self.log.take();
        for w in writes.iter().rev() {
            // A logged store went to writable memory, so restoring it cannot fail.
            let _ = self.write(w.addr, w.size, w.old);
        }
        self.log = log;
    }

    /// Redoes stores, earliest first (stepping a trace forward again).
    pub fn redo(&mut self, writes: &[MemWrite]) {
        let log = self.log.take();
        for w in writes {
            let _ = self.write(w.addr, w.size, w.new);
        }
        self.log = log;
    }
}
