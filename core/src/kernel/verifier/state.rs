//! Abstract machine state: what the verifier knows about each register and stack byte.

/// What a register holds. Offsets are `None` once an unknown scalar was added.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum Reg {
    /// Never written (reading it is an error).
    Uninit,
    /// A number, known exactly or not at all.
    Scalar(Option<u64>),
    /// The program's ctx pointer plus an offset.
    Ctx(Option<i64>),
    /// A pointer into the stack of frame `frame`, offset from its r10.
    Stack { frame: u8, off: Option<i64> },
    /// Writable memory of `size` bytes (the session cookie).
    Mem { size: u32, off: Option<i64> },
    /// A pointer into the value of map `map`.
    MapValue { map: i32, off: Option<i64> },
    /// A map (pseudo map fd load).
    MapPtr(i32),
    /// A BTF-typed kernel object (pseudo BTF id load).
    BtfId,
    /// A subprogram (pseudo func load).
    Func,
}

impl Reg {
    /// The kernel's name of the register type (for messages).
    pub(crate) fn type_name(&self) -> &'static str {
        match self {
            Reg::Uninit => "?",
            Reg::Scalar(_) => "scalar",
            Reg::Ctx(_) => "ctx",
            Reg::Stack { .. } => "fp",
            Reg::Mem { .. } => "mem",
            Reg::MapValue { .. } => "map_value",
            Reg::MapPtr(_) => "map_ptr",
            Reg::BtfId => "ptr_",
            Reg::Func => "func",
        }
    }
    pub(crate) fn is_pointer(&self) -> bool {
        !matches!(self, Reg::Uninit | Reg::Scalar(_))
    }
    /// The pointer offset, for pointer kinds that have one.
    pub(crate) fn offset(&self) -> Option<Option<i64>> {
        match *self {
            Reg::Ctx(o) | Reg::Stack { off: o, .. } | Reg::Mem { off: o, .. } | Reg::MapValue { off: o, .. } => Some(o),
            _ => None,
        }
    }
    /// The same pointer with another offset.
    pub(crate) fn with_offset(&self, o: Option<i64>) -> Reg {
        match *self {
            Reg::Ctx(_) => Reg::Ctx(o),
            Reg::Stack { frame, .. } => Reg::Stack { frame, off: o },
            Reg::Mem { size, .. } => Reg::Mem { size, off: o },
            Reg::MapValue { map, .. } => Reg::MapValue { map, off: o },
            other => other,
        }
    }
}

/// One 8-byte stack slot: which bytes hold data, and a spilled register if the slot was written
/// whole from one.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub(crate) struct Slot {
    /// Bit i set: byte i of the slot (from its lowest address) was written.
    pub init: u8,
    /// Register spilled by an aligned 8-byte store.
    pub spill: Option<Reg>,
}

/// Bytes of stack per frame.
pub(crate) const STACK: i64 = 512;

/// One call frame.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) struct Frame {
    pub regs: [Reg; 11],
    pub stack: [Slot; (STACK / 8) as usize],
    /// Where to continue in the caller after `exit` (unused for the main frame).
    pub ret: usize,
}

impl Frame {
    pub(crate) fn new(frame_no: u8, args: [Reg; 5], ret: usize) -> Frame {
        let mut regs = [Reg::Uninit; 11];
        regs[1..6].copy_from_slice(&args);
        regs[10] = Reg::Stack {
            frame: frame_no,
            off: Some(0),
        };
        Frame {
            regs,
            stack: [Slot::default(); (STACK / 8) as usize],
            ret,
        }
    }
}

/// The whole abstract state: the call stack.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) struct State {
    pub frames: Vec<Frame>,
}
