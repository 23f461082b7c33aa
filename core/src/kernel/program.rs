//! Programs (instructions + attach type + cookie + name) and the traced function's model
//! (`struct btf_func_model`), parsed from a C-like prototype.

use crate::errno::Errno;
use crate::isa::Insn;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use thiserror::Error;

/// `MAX_BPF_FUNC_ARGS`: register slots a traced function may have.
pub const MAX_BPF_FUNC_ARGS: usize = 12;

/// How a program attaches (program type + expected attach type). Serialised as its section
/// name; read from any name [`AttachType::parse`] accepts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AttachType {
    /// TRACING / `BPF_TRACE_FENTRY`.
    Fentry,
    /// TRACING / `BPF_TRACE_FEXIT`.
    Fexit,
    /// TRACING / `BPF_MODIFY_RETURN`.
    FmodRet,
    /// TRACING / `BPF_TRACE_FSESSION`.
    Fsession,
    /// TRACING / `BPF_TRACE_RAW_TP` (tp_btf): no trampoline.
    TpBtf,
    /// EXT (freplace): replaces the target, exclusive with everything else.
    Freplace,
    /// STRUCT_OPS: a member of a kernel ops table (`tcp_congestion_ops.ssthresh`), called
    /// indirectly through its own trampoline (`bpf_struct_ops_prepare_trampoline()`, INDIRECT).
    StructOps,
}

impl AttachType {
    /// All attach types.
    pub const ALL: [AttachType; 7] = [
        AttachType::Fentry,
        AttachType::Fexit,
        AttachType::FmodRet,
        AttachType::Fsession,
        AttachType::TpBtf,
        AttachType::Freplace,
        AttachType::StructOps,
    ];
    /// The uapi `enum bpf_attach_type` value (freplace programs use 0; a struct_ops program's
    /// `expected_attach_type` is the member's index, not an enum value: 0 here).
    pub const fn number(self) -> u32 {
        match self {
            AttachType::TpBtf => 23,
            AttachType::Fentry => 24,
            AttachType::Fexit => 25,
            AttachType::FmodRet => 26,
            AttachType::Fsession => 58,
            AttachType::Freplace | AttachType::StructOps => 0,
        }
    }
    /// libbpf section prefix.
    pub const fn section(self) -> &'static str {
        match self {
            AttachType::Fentry => "fentry",
            AttachType::Fexit => "fexit",
            AttachType::FmodRet => "fmod_ret",
            AttachType::Fsession => "fsession",
            AttachType::TpBtf => "tp_btf",
            AttachType::Freplace => "freplace",
            AttachType::StructOps => "struct_ops",
        }
    }
    /// Parses a section-style name (`fentry`, `fsession`, `fmod_ret`, `tp_btf`, `freplace`,
    /// `struct_ops`).
    pub fn parse(s: &str) -> Option<AttachType> {
        let s = s.trim().trim_end_matches(".s");
        AttachType::ALL.into_iter().find(|a| a.section() == s).or(match s {
            "fmodret" | "fmod-ret" | "modify_return" => Some(AttachType::FmodRet),
            "raw_tp" | "tp-btf" => Some(AttachType::TpBtf),
            "ext" => Some(AttachType::Freplace),
            _ => None,
        })
    }
    /// Program type is `BPF_PROG_TYPE_TRACING` (all but freplace and struct_ops).
    pub const fn is_tracing(self) -> bool {
        !matches!(self, AttachType::Freplace | AttachType::StructOps)
    }
    /// `bpf_prog_has_trampoline()`.
    pub const fn has_trampoline(self) -> bool {
        matches!(
            self,
            AttachType::Fentry | AttachType::Fexit | AttachType::FmodRet | AttachType::Fsession
        )
    }
    /// Whether ctx has the return-value slot after the arguments.
    pub const fn has_ret_slot(self) -> bool {
        matches!(self, AttachType::Fexit | AttachType::FmodRet | AttachType::Fsession)
    }
}

/// An attach type name that is none of the known ones.
#[derive(Clone, Debug, PartialEq, Eq, Error, Serialize)]
#[error("unknown attach type '{name}' (fentry, fexit, fmod_ret, fsession, tp_btf, freplace, struct_ops)")]
pub struct UnknownAttachType {
    /// The name given.
    pub name: String,
}

impl std::str::FromStr for AttachType {
    type Err = UnknownAttachType;
    fn from_str(s: &str) -> Result<Self, UnknownAttachType> {
        AttachType::parse(s).ok_or_else(|| UnknownAttachType { name: s.to_string() })
    }
}

impl<'de> Deserialize<'de> for AttachType {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

impl std::fmt::Display for AttachType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.pad(self.section())
    }
}

/// A BPF program as the kernel receives it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Program {
    /// Name (used in messages and listings).
    pub name: String,
    /// Attach type.
    pub attach: AttachType,
    /// Sleepable (`fentry.s/...`).
    pub sleepable: bool,
    /// Attach cookie (`bpf_get_attach_cookie`).
    pub cookie: u64,
    /// Instruction slots.
    pub insns: Vec<Insn>,
}

/// One argument of the traced function.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FuncArg {
    /// Name from the prototype (may be empty).
    pub name: String,
    /// Type as written.
    pub ty: String,
    /// Size in bytes.
    pub size: u8,
    /// Passed by value as a struct (`BTF_FMODEL_STRUCT_ARG`).
    pub is_struct: bool,
    /// Signed integer (`BTF_FMODEL_SIGNED_ARG`).
    pub signed: bool,
}

impl FuncArg {
    /// 8-byte register slots this argument takes.
    pub fn slots(&self) -> usize {
        (self.size as usize).div_ceil(8).max(1)
    }
}

/// Where the caller passes one 8-byte argument word (SysV x86-64).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ArgLoc {
    /// In argument register i (rdi, rsi, rdx, rcx, r8, r9).
    Reg(usize),
    /// At `[rsp + 8 + 8 * k]` on entry.
    Stack(usize),
}

/// One 8-byte argument word: the argument it belongs to and where it is passed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ArgWord {
    /// The argument's size in bytes.
    pub size: u8,
    /// Struct passed by value.
    pub is_struct: bool,
    /// Signed integer.
    pub signed: bool,
    /// Where it is.
    pub loc: ArgLoc,
}

impl ArgWord {
    /// The word as the callee uses it: an integer of `size` bytes sign- or zero-extended to 64
    /// bits (struct words whole).
    pub fn value(&self, v: u64) -> u64 {
        if self.is_struct {
            return v;
        }
        match (self.size, self.signed) {
            (1, true) => v as i8 as i64 as u64,
            (1, false) => v as u8 as u64,
            (2, true) => v as i16 as i64 as u64,
            (2, false) => v as u16 as u64,
            (3..=4, true) => v as i32 as i64 as u64,
            (3..=4, false) => v as u32 as u64,
            _ => v,
        }
    }
}

/// The traced function (`struct btf_func_model` plus names).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FuncModel {
    /// Function name.
    pub name: String,
    /// Return type as written.
    pub ret_ty: String,
    /// Return size in bytes (0 for void).
    pub ret_size: u8,
    /// Arguments.
    pub args: Vec<FuncArg>,
}

impl FuncModel {
    /// The argument words as the SysV ABI passes them: an argument that does not fit in the
    /// remaining registers goes to the stack whole; later ones may still use registers.
    pub fn arg_words(&self) -> Vec<ArgWord> {
        let (mut regs, mut stack) = (0usize, 0usize);
        let mut out = vec![];
        for a in self.args.iter().take(MAX_BPF_FUNC_ARGS) {
            let n = a.slots();
            let on_stack = regs + n > 6;
            for _ in 0..n {
                let loc = if on_stack {
                    stack += 1;
                    ArgLoc::Stack(stack - 1)
                } else {
                    regs += 1;
                    ArgLoc::Reg(regs - 1)
                };
                out.push(ArgWord {
                    size: a.size,
                    is_struct: a.is_struct,
                    signed: a.signed,
                    loc,
                });
            }
        }
        out
    }
    /// Number of 8-byte register slots of the arguments (`nr_regs`; structs over 8 bytes take 2).
    pub fn nr_regs(&self) -> usize {
        self.args.iter().map(FuncArg::slots).sum()
    }
    /// The C prototype.
    pub fn prototype(&self) -> String {
        let args: Vec<String> = self
            .args
            .iter()
            .map(|a| {
                if a.name.is_empty() {
                    a.ty.clone()
                } else {
                    format!("{} {}", a.ty, a.name)
                }
            })
            .collect();
        format!("{} {}({})", self.ret_ty, self.name, args.join(", "))
    }
}

/// Why a prototype was rejected.
#[derive(Clone, Debug, PartialEq, Eq, Error, Serialize, Deserialize)]
#[error("prototype, column {column}: {message}")]
pub struct ProtoError {
    /// 1-based column.
    pub column: usize,
    /// What is wrong.
    pub message: String,
    /// The kernel error the attach would give, where one applies.
    pub errno: Option<Errno>,
}

fn scalar_size(words: &[&str]) -> Option<(u8, bool)> {
    let signed_default = !words.contains(&"unsigned");
    let ws: Vec<&str> = words
        .iter()
        .copied()
        .filter(|w| !matches!(*w, "const" | "volatile" | "signed" | "unsigned"))
        .collect();
    let base = ws.join(" ");
    let (size, signed) = match base.as_str() {
        "" if words.contains(&"unsigned") || words.contains(&"signed") => (4, signed_default),
        "_Bool" | "bool" => (1, false),
        "char" => (1, words.contains(&"signed")),
        "short" | "short int" => (2, signed_default),
        "int" => (4, signed_default),
        "long" | "long int" | "long long" | "long long int" => (8, signed_default),
        "u8" | "__u8" | "uint8_t" => (1, false),
        "s8" | "__s8" | "int8_t" => (1, true),
        "u16" | "__u16" | "uint16_t" => (2, false),
        "s16" | "__s16" | "int16_t" => (2, true),
        "u32" | "__u32" | "uint32_t" => (4, false),
        "s32" | "__s32" | "int32_t" => (4, true),
        "u64" | "__u64" | "uint64_t" | "size_t" | "uintptr_t" => (8, false),
        "s64" | "__s64" | "int64_t" | "ssize_t" | "loff_t" => (8, true),
        _ => return None,
    };
    Some((size, signed))
}

/// Resolves a type (`u64`, `struct pair`, `void *`, `unsigned int`) to (size, is_struct, signed).
fn type_size(ty: &str, structs: &BTreeMap<String, u32>) -> Result<(u32, bool, bool), String> {
    let t = ty.trim();
    if t.ends_with('*') {
        return Ok((8, false, false));
    }
    let words: Vec<&str> = t.split_whitespace().collect();
    match words.as_slice() {
        ["void"] => Ok((0, false, false)),
        ["struct" | "union", name] | ["const", "struct" | "union", name] => match structs.get(*name) {
            Some(&sz) => Ok((sz, true, false)),
            None => Err(format!(
                "unknown size of {t}: declare it (e.g. structs = {{ {name} = 16 }})"
            )),
        },
        ["enum", _] => Ok((4, false, false)),
        // A typedef'd struct (`guid_t`), declared in `structs` by its typedef name.
        [name] if structs.contains_key(*name) => Ok((structs[*name], true, false)),
        _ => scalar_size(&words)
            .map(|(s, sg)| (s as u32, false, sg))
            .ok_or_else(|| format!("unknown type '{t}'")),
    }
}

/// Splits `TYPE NAME` (the name is the last identifier unless the whole thing is a type).
fn split_decl(decl: &str) -> (String, String) {
    let d = decl.trim();
    let cut = d.rfind(|c: char| c == '*' || c.is_whitespace());
    match cut {
        Some(p) => {
            let (ty, name) = (d[..=p].trim(), d[p + 1..].trim());
            let is_type_word = matches!(name, "int" | "long" | "short" | "char" | "unsigned" | "signed");
            if name.is_empty() || ty.is_empty() || is_type_word || ty == "struct" || ty == "union" || ty == "enum" {
                (d.to_string(), String::new())
            } else {
                (ty.to_string(), name.to_string())
            }
        }
        None => (d.to_string(), String::new()),
    }
}

/// Parses a prototype such as `u64 f(u64 a, struct pair b, int c)` into a function model.
///
/// Struct sizes come from `structs`. Rejected as the kernel would: a struct argument over 16
/// bytes (EINVAL at attach, [M] in the reference), more than 12 register slots (ENOTSUPP from the
/// trampoline encoder).
pub fn parse_prototype(text: &str, structs: &BTreeMap<String, u32>) -> Result<FuncModel, ProtoError> {
    let err = |col: usize, m: String, errno: Option<Errno>| ProtoError {
        column: col,
        message: m,
        errno,
    };
    let open = text
        .find('(')
        .ok_or_else(|| err(text.len() + 1, "expected '(' after the function name".into(), None))?;
    let close = text
        .rfind(')')
        .ok_or_else(|| err(text.len() + 1, "expected ')'".into(), None))?;
    if close < open || !text[close + 1..].trim().trim_end_matches(';').is_empty() {
        return Err(err(close + 2, "unexpected text after ')'".into(), None));
    }
    let (ret_ty, name) = split_decl(&text[..open]);
    if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        return Err(err(
            1,
            format!("expected 'RETURN_TYPE NAME(' but found '{}'", text[..open].trim()),
            None,
        ));
    }
    let (ret_size, _, _) = type_size(&ret_ty, structs).map_err(|m| err(1, m, None))?;
    if ret_size > 16 {
        return Err(err(
            1,
            format!("return type of {ret_size} bytes is not supported"),
            Some(Errno::EINVAL),
        ));
    }
    let inner = &text[open + 1..close];
    let mut args = Vec::new();
    if !inner.trim().is_empty() && inner.trim() != "void" {
        let mut col = open + 2;
        for part in inner.split(',') {
            let (ty, aname) = split_decl(part);
            let (size, is_struct, signed) = type_size(&ty, structs).map_err(|m| err(col, m, None))?;
            if size == 0 {
                return Err(err(col, "void argument".into(), None));
            }
            if size > 16 {
                return Err(err(
                    col,
                    format!(
                        "argument '{}' is {size} bytes: struct arguments over 16 bytes cannot be traced",
                        part.trim()
                    ),
                    Some(Errno::EINVAL),
                ));
            }
            args.push(FuncArg {
                name: aname,
                ty,
                size: size as u8,
                is_struct,
                signed,
            });
            col += part.len() + 1;
        }
    }
    let model = FuncModel {
        name,
        ret_ty,
        ret_size: ret_size as u8,
        args,
    };
    if model.nr_regs() > MAX_BPF_FUNC_ARGS {
        return Err(err(
            open + 2,
            format!(
                "{} argument slots: more than {MAX_BPF_FUNC_ARGS} are not supported",
                model.nr_regs()
            ),
            Some(Errno::ENOTSUPP),
        ));
    }
    Ok(model)
}
