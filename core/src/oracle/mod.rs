//! The model against real kernels: each capture in the kernel-oracle format (what a kernel
//! generated, read out of its memory) is rebuilt by the model from its inputs alone (the
//! prototype, the programs in attach order, the recorded addresses) and compared byte for byte.
//!
//! Trampolines go through the scenario pipeline ([`crate::scenario::check`], the link
//! accounting, [`crate::tramp::encode`]): the flags are the accounting's, never the file's.
//! Program rewrites go through [`crate::kernel::fixup`]. The caller reads the files; this module
//! only parses text it is given, so it runs in the browser too.

pub mod capture;
mod jit;
mod render;
mod trampoline;
mod xlated;

pub use jit::check_jit;
pub use render::{render_difference, render_verdict};
pub use trampoline::check_trampoline;
pub use xlated::check_xlated;

use crate::errno::Errno;
use crate::isa::Insn;
use crate::kernel::profile::Profile;
use crate::scenario::{FunctionSpec, Problem};
use serde::Serialize;
use std::collections::BTreeMap;
use thiserror::Error;

/// What a capture file holds, from where it sits (`trampolines/`, `xlated/`, `jit/`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CaptureKind {
    /// A trampoline image (`trampolines/*.json`).
    Trampoline,
    /// A program and the verifier's rewrite of it (`xlated/*.json`).
    Xlated,
    /// A program's JIT image (`jit/*.json`).
    Jit,
}

impl CaptureKind {
    /// The kind of the captures in a directory of this name.
    pub fn from_dir(name: &str) -> Option<CaptureKind> {
        match name {
            "trampolines" => Some(CaptureKind::Trampoline),
            "xlated" => Some(CaptureKind::Xlated),
            "jit" => Some(CaptureKind::Jit),
            _ => None,
        }
    }
}

impl std::fmt::Display for CaptureKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            CaptureKind::Trampoline => "trampoline",
            CaptureKind::Xlated => "xlated",
            CaptureKind::Jit => "jit",
        })
    }
}

/// A capture that could not be read: the file is not in the format.
#[derive(Clone, Debug, PartialEq, Eq, Error, Serialize)]
#[serde(tag = "error", rename_all = "snake_case")]
pub enum OracleError {
    /// Not JSON of the expected shape.
    #[error("EINVAL: not a capture: {message}")]
    Json {
        /// serde's message, with line and column.
        message: String,
    },
    /// A field the check needs is absent.
    #[error("EINVAL: the capture has no '{field}'")]
    Missing {
        /// The field.
        field: &'static str,
    },
    /// A kernel symbol the trampoline calls is not recorded.
    #[error("EINVAL: the capture records no address for {symbol}")]
    Symbol {
        /// The symbol.
        symbol: String,
    },
    /// The recorded flags name a flag the model does not know.
    #[error("EINVAL: the capture's flags '{flags}' are not BPF_TRAMP_F_* names")]
    BadFlags {
        /// The recorded text.
        flags: String,
    },
    /// An instruction slot is not 8 bytes.
    #[error("EINVAL: an instruction in '{field}' has {len} bytes, not 8")]
    BadInsn {
        /// `input` or `xlated`.
        field: &'static str,
        /// Its length.
        len: usize,
    },
    /// The kernel release names no shipped profile.
    #[error("ENOENT: no shipped profile for kernel {release} (known: {known}); pass --profile")]
    NoProfile {
        /// The release (`6.12.118+deb12-amd64`).
        release: String,
        /// The shipped profile names.
        known: String,
    },
}

/// Why a capture is not checked. Each is printed on the capture's line: never a silent pass.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "reason", rename_all = "snake_case")]
pub enum SkipReason {
    /// The model has no such program type (kprobe, socket filter).
    ProgramType {
        /// The capture's program type.
        prog_type: String,
    },
    /// The model has no such attach kind on a trampoline (lsm, ...).
    AttachKind {
        /// The capture's program kind.
        kind: String,
    },
    /// The capture tool's index of a run, not a capture.
    Index,
    /// The traced function's prototype is recorded by no trampoline capture of that kernel.
    UnknownTarget {
        /// The function.
        target: String,
    },
}

impl std::fmt::Display for SkipReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SkipReason::ProgramType { prog_type } => {
                write!(f, "{prog_type} programs are not modelled (tracing and struct_ops are)")
            }
            SkipReason::AttachKind { kind } => write!(f, "{kind} programs on trampolines are not modelled"),
            SkipReason::Index => f.write_str("the capture run's index, not a capture"),
            SkipReason::UnknownTarget { target } => write!(
                f,
                "no trampoline capture of this kernel records the prototype of {target}"
            ),
        }
    }
}

/// One x86-64 instruction of an image: its offset and bytes (text comes from the renderer).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct X86Insn {
    /// Offset in the image.
    pub offset: usize,
    /// Its bytes.
    pub bytes: Vec<u8>,
}

/// A row of an aligned listing: the model's instruction and the kernel's, either absent where
/// the other side has one the first lacks.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Row<T> {
    /// The model's.
    pub model: Option<T>,
    /// The kernel's.
    pub kernel: Option<T>,
}

/// A BPF instruction slot of a program, with its index.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct BpfSlot {
    /// Slot index.
    pub index: usize,
    /// The slot.
    pub insn: Insn,
}

/// How the model's rebuild differs from the kernel's bytes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "differs", rename_all = "snake_case")]
pub enum Difference {
    /// The trampoline bytes differ: both images aligned, `first` the first differing row.
    Image {
        /// The image's address (for the disassembly).
        image: u64,
        /// Aligned rows (matching instructions compare by their bytes).
        rows: Vec<Row<X86Insn>>,
        /// Index of the first row that is not the same on both sides.
        first: usize,
    },
    /// The rewritten program differs: both aligned, `first` the first differing row.
    Program {
        /// Aligned rows.
        rows: Vec<Row<BpfSlot>>,
        /// Index of the first row that is not the same on both sides.
        first: usize,
    },
    /// The model refused what the kernel accepted.
    Refused {
        /// The model's errors.
        problems: Vec<Problem>,
    },
    /// The model could not encode the trampoline the kernel built.
    Encode {
        /// The kernel error the model gave.
        errno: Errno,
        /// Its message.
        message: String,
    },
    /// The image has the same bytes but `arch_bpf_trampoline_size()` differs from `im->size`.
    Size {
        /// The model's size.
        model: usize,
        /// `im->size`.
        kernel: usize,
    },
    /// The flags the model derived differ from those the capture records (struct_ops).
    Flags {
        /// The model's `BPF_TRAMP_F_*`.
        model: u32,
        /// The capture's.
        kernel: u32,
    },
    /// A program's JIT image differs from the kernel's: both aligned, `first` the first
    /// differing row.
    Jit {
        /// The program.
        program: String,
        /// The subprogram.
        func: usize,
        /// Its image address.
        image: u64,
        /// Aligned rows.
        rows: Vec<Row<X86Insn>>,
        /// Index of the first row that is not the same on both sides.
        first: usize,
    },
    /// The model's JIT refused a program the kernel compiled.
    JitRefused {
        /// The program.
        program: String,
        /// The model's error.
        error: crate::jit::JitError,
    },
    /// The program splits into other subprograms than the kernel's images.
    JitFuncs {
        /// The program.
        program: String,
        /// The model's image sizes.
        model: Vec<usize>,
        /// The kernel's.
        kernel: Vec<usize>,
    },
    /// A helper call resolves to another kernel function than the kernel's.
    HelperTarget {
        /// Slot index.
        index: usize,
        /// The function the model resolves it to (None: unknown to the model).
        model: Option<String>,
        /// The function the kernel called.
        kernel: String,
    },
}

/// What the rebuild produced when it matched.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Matched {
    /// Bytes (trampolines) or instruction slots (programs) compared.
    pub compared: usize,
    /// Programs involved.
    pub programs: usize,
    /// The trampoline's `BPF_TRAMP_F_*` flags as the model derived them.
    pub flags: Option<u32>,
    /// `compared` counts bytes (images), not instruction slots (program rewrites).
    pub bytes: bool,
    /// Bytes of the programs' JIT images compared besides (a trampoline's programs).
    pub jit_bytes: usize,
}

/// The verdict on one capture.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum Verdict {
    /// Rebuilt byte for byte.
    Ok(Matched),
    /// The rebuild differs.
    Differs(Difference),
    /// Not checked, for this reason.
    Skipped(SkipReason),
}

/// Facts of one kernel's captures that single files lack: the prototypes its trampoline captures
/// record, by function name (the program rewrites name only their target).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct KernelContext {
    /// Traced functions by name.
    pub functions: BTreeMap<String, FunctionSpec>,
}

impl KernelContext {
    /// Collects the prototypes of a kernel's trampoline captures (JSON texts); unreadable ones
    /// are left out (their own check reports them).
    pub fn from_trampolines<'a>(texts: impl IntoIterator<Item = &'a str>) -> KernelContext {
        let mut functions = BTreeMap::new();
        for t in texts {
            let Ok(c) = capture::TrampolineCapture::from_json(t) else {
                continue;
            };
            if let (Some(target), Some(spec)) = (c.target.clone(), trampoline::function_spec(&c)) {
                functions.insert(target, spec);
            }
        }
        KernelContext { functions }
    }
}

/// The shipped profile of a kernel release (`6.12.118+deb12-amd64` → `linux-6.12`).
pub fn profile_for_release(release: &str) -> Result<Profile, OracleError> {
    let mut parts = release.trim().split(|c: char| !c.is_ascii_digit());
    let name = match (parts.next(), parts.next()) {
        (Some(maj), Some(min)) if !maj.is_empty() && !min.is_empty() => format!("linux-{maj}.{min}"),
        _ => String::new(),
    };
    Profile::by_name(&name).map_err(|_| OracleError::NoProfile {
        release: release.to_string(),
        known: Profile::shipped_ref()
            .iter()
            .map(|p| p.name.as_str())
            .collect::<Vec<_>>()
            .join(", "),
    })
}

/// The release in a capture run's `uname` line (`Linux host 6.12.118+deb12-amd64 #1 SMP ...`).
pub fn release_from_uname(uname: &str) -> Option<&str> {
    uname.split_whitespace().nth(2)
}

/// Aligns two sequences by a longest common subsequence of their keys: the rows of a
/// side-by-side listing, as pairs of indexes (a changed element pairs with the other side's).
pub fn align_by<T, K: PartialEq>(
    model: &[T],
    kernel: &[T],
    key: impl Fn(&T) -> K,
) -> Vec<(Option<usize>, Option<usize>)> {
    let (n, m) = (model.len(), kernel.len());
    let (a, b): (Vec<K>, Vec<K>) = (model.iter().map(&key).collect(), kernel.iter().map(&key).collect());
    // lcs[i][j]: LCS length of a[i..] and b[j..].
    let mut lcs = vec![vec![0u32; m + 1]; n + 1];
    for i in (0..n).rev() {
        for j in (0..m).rev() {
            lcs[i][j] = if a[i] == b[j] {
                lcs[i + 1][j + 1] + 1
            } else {
                lcs[i + 1][j].max(lcs[i][j + 1])
            };
        }
    }
    let (mut i, mut j, mut rows) = (0, 0, Vec::with_capacity(n.max(m)));
    while i < n || j < m {
        let both = i < n && j < m && (a[i] == b[j] || lcs[i + 1][j + 1] == lcs[i][j]);
        if both {
            // Equal, or neither is part of the common subsequence here: one changed row.
            rows.push((Some(i), Some(j)));
            i += 1;
            j += 1;
        } else if j >= m || (i < n && lcs[i + 1][j] >= lcs[i][j + 1]) {
            rows.push((Some(i), None));
            i += 1;
        } else {
            rows.push((None, Some(j)));
            j += 1;
        }
    }
    rows
}

/// Aligned rows of two sequences and the index of the first row whose keys differ.
pub(crate) fn aligned_rows<T: Clone, K: PartialEq>(
    model: &[T],
    kernel: &[T],
    key: impl Fn(&T) -> K,
) -> (Vec<Row<T>>, Option<usize>) {
    let pairs = align_by(model, kernel, &key);
    let first = pairs.iter().position(|(a, b)| match (a, b) {
        (Some(a), Some(b)) => key(&model[*a]) != key(&kernel[*b]),
        _ => true,
    });
    let rows = pairs
        .into_iter()
        .map(|(a, b)| Row {
            model: a.map(|i| model[i].clone()),
            kernel: b.map(|j| kernel[j].clone()),
        })
        .collect();
    (rows, first)
}

/// The instructions of an image, by iced-x86's decoder.
pub(crate) fn decode_x86(bytes: &[u8], image: u64) -> Vec<X86Insn> {
    let mut d = iced_x86::Decoder::with_ip(64, bytes, image, iced_x86::DecoderOptions::NONE);
    let mut out = Vec::new();
    let mut offset = 0usize;
    while d.can_decode() {
        let len = d.decode().len().max(1);
        let end = (offset + len).min(bytes.len());
        out.push(X86Insn {
            offset,
            bytes: bytes[offset..end].to_vec(),
        });
        offset = end;
        d.set_position(offset).ok();
        d.set_ip(image + offset as u64);
    }
    out
}

/// Checks one capture file (its name and JSON text) of the given kind under `profile`.
pub fn check_capture(
    kind: CaptureKind,
    file_name: &str,
    text: &str,
    profile: &Profile,
    ctx: &KernelContext,
) -> Result<Verdict, OracleError> {
    if file_name == "summary.json" {
        return Ok(Verdict::Skipped(SkipReason::Index));
    }
    match kind {
        CaptureKind::Trampoline => check_trampoline(text, profile),
        CaptureKind::Xlated => check_xlated(text, profile, ctx),
        CaptureKind::Jit => check_jit(text, profile, ctx),
    }
}
