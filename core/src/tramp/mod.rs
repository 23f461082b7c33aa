//! The x86-64 trampoline encoder (`arch_prepare_bpf_trampoline()`, reference §2): the exact
//! machine code the kernel emits for a link set, with a frame layout, an annotated listing and
//! the `ctx[-1]` value each program sees in each pass.

pub mod build;
pub mod contract;
mod emit;
mod encode;
pub mod layout;
pub mod listing;

pub use encode::{encode, encode_bytes};

use crate::errno::Errno;
use crate::kernel::profile::{MetaLayout, Mitigations};
use crate::kernel::program::{AttachType, FuncModel};
use serde::{Deserialize, Serialize};
use thiserror::Error;

/// `BPF_INSN_SAFETY`: slack the kernel adds to the trampoline size.
pub const BPF_INSN_SAFETY: usize = 64;
/// Maximum trampoline size (one page).
pub const PAGE_SIZE: usize = 4096;

/// One program invocation slot in a trampoline list, with the addresses that change bytes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProgImage {
    /// Program name.
    pub name: String,
    /// Attach type.
    pub attach: AttachType,
    /// This is the fexit-list shadow of an fsession link.
    pub shadow: bool,
    /// Attach cookie (`run_ctx.bpf_cookie`).
    pub cookie: u64,
    /// The program calls `bpf_session_cookie` (gets a cookie slot).
    pub call_session_cookie: bool,
    /// `struct bpf_prog *`.
    pub prog: u64,
    /// `prog->bpf_func`: the JIT image, or the interpreter entry.
    pub bpf_func: u64,
    /// For an interpreted program, `prog->insnsi` (passed in rsi).
    pub insns: Option<u64>,
    /// `__bpf_prog_enter*` for this program.
    pub enter: u64,
    /// `__bpf_prog_exit*` for this program.
    pub exit: u64,
}

/// Addresses that change the trampoline's bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Addresses {
    /// Where the image will run.
    pub image: u64,
    /// The traced function (`func_addr`, including a leading ENDBR).
    pub func: u64,
    /// `struct bpf_tramp_image *im`.
    pub im: u64,
    /// `__bpf_tramp_enter`.
    pub tramp_enter: u64,
    /// `__bpf_tramp_exit`.
    pub tramp_exit: u64,
    /// The return thunk (used when the return-thunk mitigation is on).
    pub return_thunk: u64,
}

/// Everything the encoder needs.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrampolineSpec {
    /// The traced function.
    pub func: FuncModel,
    /// `BPF_TRAMP_F_*` flags.
    pub flags: u32,
    /// FENTRY list, in order.
    pub fentry: Vec<ProgImage>,
    /// FEXIT list, in order.
    pub fexit: Vec<ProgImage>,
    /// MODIFY_RETURN list, in order.
    pub fmod_ret: Vec<ProgImage>,
    /// Addresses.
    pub addrs: Addresses,
    /// The metadata word as this kernel's trampoline writes it. Without a cookie field the
    /// encoder is the pre-fsession one: no cookie slots, no zeroing, no is_return store.
    pub meta: MetaLayout,
    /// Byte-changing mitigations.
    pub mitigations: Mitigations,
    /// `CONFIG_DYNAMIC_FTRACE_WITH_JMP`: CALL_ORIG without SKIP_FRAME is jmp mode.
    pub ftrace_with_jmp: bool,
}

impl TrampolineSpec {
    /// `bpf_trampoline_use_jmp(flags)`.
    pub fn jmp_mode(&self) -> bool {
        use crate::kernel::link::flags::*;
        self.ftrace_with_jmp && self.flags & CALL_ORIG != 0 && self.flags & SKIP_FRAME == 0
    }
    /// Whether this kernel's trampoline knows fsession (writes cookie indexes / is_return).
    pub fn fsession_aware(&self) -> bool {
        self.meta.cookie_shift.is_some() || self.meta.is_return_bit.is_some()
    }
}

/// The pass in which a program runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Pass {
    /// The fentry list (before the original function).
    Entry,
    /// The fmod_ret list.
    ModifyReturn,
    /// The fexit list (after the original function).
    Exit,
}

impl Pass {
    /// Its name: `entry`, `fmod_ret`, `exit`.
    pub const fn name(self) -> &'static str {
        match self {
            Pass::Entry => "entry",
            Pass::ModifyReturn => "fmod_ret",
            Pass::Exit => "exit",
        }
    }
}

impl std::fmt::Display for Pass {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.pad(self.name())
    }
}

/// What a program sees when the trampoline calls it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Invocation {
    /// Program name.
    pub prog: String,
    /// Its attach type.
    pub attach: AttachType,
    /// Pass.
    pub pass: Pass,
    /// The value in `ctx[-1]` at the call.
    pub func_meta: u64,
    /// The cookie index the trampoline intends for it (cookie users only).
    pub cookie_index: Option<u64>,
    /// Offset of the `call bpf_func` instruction in the image.
    pub call_offset: usize,
}

/// The bytes of one x86 instruction (at most 15), stored inline.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct InsnBytes {
    len: u8,
    b: [u8; 15],
}

impl InsnBytes {
    /// From a slice of at most 15 bytes (longer input is cut).
    pub fn new(s: &[u8]) -> Self {
        let mut b = [0u8; 15];
        let n = s.len().min(15);
        b[..n].copy_from_slice(&s[..n]);
        InsnBytes { len: n as u8, b }
    }
}

impl std::ops::Deref for InsnBytes {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        &self.b[..self.len as usize]
    }
}

impl std::ops::DerefMut for InsnBytes {
    fn deref_mut(&mut self) -> &mut [u8] {
        &mut self.b[..self.len as usize]
    }
}

impl std::fmt::Debug for InsnBytes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

impl Serialize for InsnBytes {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        (**self).serialize(s)
    }
}

impl IntoIterator for InsnBytes {
    type Item = u8;
    type IntoIter = std::iter::Take<std::array::IntoIter<u8, 15>>;
    fn into_iter(self) -> Self::IntoIter {
        self.b.into_iter().take(self.len as usize)
    }
}

/// How an instruction touches a frame slot.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SlotAccess {
    /// Loads from it.
    Read,
    /// Stores to it.
    Write,
    /// Takes its address.
    Addr,
}

/// What an instruction is for and which frame slots it touches (listings only).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Note {
    /// What it is for.
    pub role: String,
    /// Up to two slots it touches: (index into the layout's slots, access).
    pub slots: Vec<(usize, SlotAccess)>,
}

/// One emitted instruction.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct EmittedInsn {
    /// Offset in the image.
    pub offset: usize,
    /// Encoded bytes.
    pub bytes: InsnBytes,
    /// For calls and jumps: the target address.
    pub target: Option<u64>,
    /// The iced-x86 `Code` the encoder was asked for (checked against the decoder).
    #[serde(skip)]
    pub code: iced_x86::Code,
    /// The explanation ([`encode`] fills it; [`encode_bytes`] leaves it out).
    pub note: Option<Box<Note>>,
}

impl EmittedInsn {
    /// What the instruction is for ("" without annotations).
    pub fn role(&self) -> &str {
        self.note.as_ref().map(|n| n.role.as_str()).unwrap_or("")
    }
    /// Names of the slots it touches with `access`.
    pub fn slots<'a>(
        &'a self,
        layout: &'a layout::FrameLayout,
        access: SlotAccess,
    ) -> impl Iterator<Item = &'a str> + 'a {
        self.note
            .iter()
            .flat_map(|n| n.slots.iter())
            .filter(move |(_, a)| *a == access)
            .map(move |(i, _)| layout.slots.get(*i).map(|s| s.name.as_str()).unwrap_or("?"))
    }
}

/// An encoded trampoline.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Encoded {
    /// The machine code.
    pub bytes: Vec<u8>,
    /// The instructions, in order.
    pub insns: Vec<EmittedInsn>,
    /// The frame.
    pub layout: layout::FrameLayout,
    /// Every program invocation, in execution order.
    pub invocations: Vec<Invocation>,
    /// `arch_bpf_trampoline_size()`: code bytes + `BPF_INSN_SAFETY`.
    pub size: usize,
    /// `im->ip_after_call` (CALL_ORIG).
    pub ip_after_call: Option<usize>,
    /// `im->ip_epilogue` (CALL_ORIG).
    pub ip_epilogue: Option<usize>,
    /// Where the trampoline calls the original function.
    pub orig_call: Option<u64>,
    /// Jmp mode.
    pub jmp_mode: bool,
}

/// Why a trampoline could not be encoded.
#[derive(Clone, Debug, PartialEq, Eq, Error, Serialize, serde::Deserialize)]
#[error("{errno}: {message}")]
pub struct EncodeError {
    /// The kernel's error.
    pub errno: Errno,
    /// What, naming the instruction or slot.
    pub message: String,
}

pub(crate) fn eerr<T>(errno: Errno, message: impl Into<String>) -> Result<T, EncodeError> {
    Err(EncodeError {
        errno,
        message: message.into(),
    })
}
