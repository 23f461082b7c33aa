//! The kernel-oracle capture format (README.md, "Checking a kernel against the model"), as
//! serde types: what a real kernel generated, read out of its memory. Only the fields the model
//! needs are declared; the files carry more (listings, ftrace sites, objdump paths), which are
//! accepted and ignored.

use super::OracleError;
use crate::conformance::parse_hex_bytes;
use crate::isa::Insn;
use serde::{Deserialize, Deserializer};
use std::collections::BTreeMap;

/// A capture file's JSON, read into its type.
fn from_json<T: serde::de::DeserializeOwned>(text: &str) -> Result<T, OracleError> {
    serde_json::from_str(text).map_err(|e| OracleError::Json { message: e.to_string() })
}

/// A 64-bit value written as `"0x…"` text (addresses, cookies) or as a JSON number.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Hex64(pub u64);

impl<'de> Deserialize<'de> for Hex64 {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Num(u64),
            Text(String),
        }
        match Raw::deserialize(d)? {
            Raw::Num(n) => Ok(Hex64(n)),
            Raw::Text(t) => {
                let h = t.trim().trim_start_matches("0x");
                u64::from_str_radix(h, 16)
                    .map(Hex64)
                    .map_err(|e| serde::de::Error::custom(format!("'{t}' is not a hex number: {e}")))
            }
        }
    }
}

/// Bytes written as hex text, with or without spaces (`"48 bf 00"`, `"48bf00"`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HexBytes(pub Vec<u8>);

impl<'de> Deserialize<'de> for HexBytes {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let t = String::deserialize(d)?;
        parse_hex_bytes(&t)
            .map(HexBytes)
            .map_err(|e| serde::de::Error::custom(format!("'{t}': {e}")))
    }
}

/// One parameter of the traced function as the capture tool read it from BTF.
#[derive(Clone, Debug, Deserialize)]
pub struct CapturedParam {
    /// The type as BTF names it (`guid_t`, `struct sock *`).
    #[serde(rename = "type")]
    pub ty: String,
    /// Size in bytes.
    pub size: u32,
    /// BTF kind (`INT`, `PTR`, `STRUCT`, `UNION`, `ENUM`).
    pub kind: String,
}

/// `prototype_detail`: the traced function as BTF describes it.
#[derive(Clone, Debug, Deserialize)]
pub struct PrototypeDetail {
    /// The return type.
    #[serde(default)]
    pub ret: Option<CapturedParam>,
    /// Parameters in order.
    #[serde(default)]
    pub params: Vec<CapturedParam>,
}

/// A type the prototype parser reads, for one BTF type: structs and unions by their name (with
/// their size declared), everything else by its size and kind alone, which is all the
/// trampoline depends on (`u64`, `void *`).
fn canonical(p: &CapturedParam) -> String {
    match (p.kind.as_str(), p.size) {
        ("STRUCT" | "UNION", _) => p.ty.clone(),
        ("PTR", _) => "void *".into(),
        (_, 0) => "void".into(),
        (_, 1) => "u8".into(),
        (_, 2) => "u16".into(),
        (_, n) if n <= 4 => "u32".into(),
        _ => "u64".into(),
    }
}

impl PrototypeDetail {
    /// The prototype rewritten in types the model's parser knows (for a prototype whose C text
    /// names typedefs it does not: `pid_t`, `gfp_t`), named `name`.
    pub fn canonical_prototype(&self, name: &str) -> String {
        let ret = self.ret.as_ref().map(canonical).unwrap_or_else(|| "void".into());
        let args: Vec<String> = self
            .params
            .iter()
            .enumerate()
            .map(|(i, p)| format!("{} a{i}", canonical(p)))
            .collect();
        let args = if args.is_empty() {
            "void".to_string()
        } else {
            args.join(", ")
        };
        format!("{ret} {name}({args})")
    }
    /// Sizes of the structs and unions passed by value, by the name the prototype uses.
    pub fn structs(&self) -> BTreeMap<String, u32> {
        self.params
            .iter()
            .filter(|p| p.kind == "STRUCT" || p.kind == "UNION")
            .map(|p| {
                let name = p.ty.trim_start_matches("struct ").trim_start_matches("union ").trim();
                (name.to_string(), p.size)
            })
            .collect()
    }
}

/// One program on a captured trampoline.
#[derive(Clone, Debug, Deserialize)]
pub struct CapturedProgram {
    /// Position in attach order (0 = attached first).
    pub link_order: usize,
    /// `fentry`, `fexit`, `fmod_ret`, `lsm`, ...
    pub kind: String,
    /// Sleepable (`fentry.s`).
    #[serde(default)]
    pub sleepable: bool,
    /// The program calls `bpf_get_func_ip` (the kernel then sets IP_ARG).
    #[serde(default)]
    pub calls_bpf_get_func_ip: bool,
    /// The attach cookie.
    #[serde(default = "zero")]
    pub bpf_cookie: Hex64,
    /// `struct bpf_prog *`.
    pub struct_bpf_prog: Hex64,
    /// `prog->bpf_func`.
    pub bpf_func: Hex64,
    /// The program's kernel symbol (`bpf_prog_<tag>_<name>`).
    #[serde(default)]
    pub ksym: Option<String>,
    /// The program after the verifier, as instruction bytes.
    #[serde(default)]
    pub xlated_hex: Option<HexBytes>,
    /// Its JIT image.
    #[serde(default)]
    pub jited_hex: Option<HexBytes>,
}

fn zero() -> Hex64 {
    Hex64(0)
}

/// `im`: the `struct bpf_tramp_image`.
#[derive(Clone, Debug, Deserialize)]
pub struct CapturedImage {
    /// Its address (the trampoline loads it into rdi).
    pub addr: Hex64,
    /// `im->size`: what `arch_bpf_trampoline_size()` returned.
    pub size: usize,
}

/// An address-dependent instruction of the image, with the name of what it refers to.
#[derive(Clone, Debug, Deserialize)]
pub struct CapturedTarget {
    /// Where the instruction is.
    pub addr: Hex64,
    /// Its bytes.
    pub bytes: HexBytes,
    /// What it refers to (`__bpf_prog_enter`, `struct bpf_prog * of …`).
    #[serde(default)]
    pub target: Vec<String>,
}

impl CapturedTarget {
    /// The address the instruction's own bytes refer to: a `call`/`jmp rel32` target or a
    /// `movabs` immediate.
    pub fn referenced(&self) -> Option<u64> {
        let b = &self.bytes.0;
        match b.as_slice() {
            [0xe8 | 0xe9, r @ ..] if r.len() == 4 => {
                let rel = i32::from_le_bytes([r[0], r[1], r[2], r[3]]);
                Some(self.addr.0.wrapping_add(5).wrapping_add(rel as i64 as u64))
            }
            [0x48 | 0x49, 0xb8..=0xbf, imm @ ..] if imm.len() == 8 => Some(u64::from_le_bytes(imm.try_into().ok()?)),
            _ => None,
        }
    }
    /// The first name the capture gives the target.
    pub fn name(&self) -> &str {
        self.target.first().map(String::as_str).unwrap_or("")
    }
}

/// A captured trampoline (`trampolines/NAME.json`): a tracing trampoline (6.12: `target`,
/// `prototype`, `programs`) or a struct_ops one (`symbol`, `signature`, `flags`).
#[derive(Clone, Debug, Deserialize)]
pub struct TrampolineCapture {
    /// The configuration's name.
    #[serde(default)]
    pub config: Option<String>,
    /// struct_ops: the member (`test_1`), where no `symbol` is recorded.
    #[serde(default)]
    pub member: Option<String>,
    /// The traced function.
    #[serde(default)]
    pub target: Option<String>,
    /// Its C prototype.
    #[serde(default)]
    pub prototype: Option<String>,
    /// Its BTF description.
    #[serde(default)]
    pub prototype_detail: Option<PrototypeDetail>,
    /// struct_ops: the member's function type (`u32 (*)(struct sock *)`).
    #[serde(default)]
    pub signature: Option<String>,
    /// struct_ops: the trampoline's symbol (`bpf__tcp_congestion_ops_ssthresh`).
    #[serde(default)]
    pub symbol: Option<String>,
    /// struct_ops: the flags the kernel used (tracing captures do not record them).
    #[serde(default)]
    pub flags: Option<String>,
    /// The traced function's address (incl. its ENDBR).
    #[serde(default)]
    pub func_addr: Option<Hex64>,
    /// The programs in attach order.
    #[serde(default)]
    pub programs: Vec<CapturedProgram>,
    /// The image's address.
    #[serde(default)]
    pub tramp_addr: Option<Hex64>,
    /// The image's address (older captures).
    #[serde(default)]
    pub addr: Option<Hex64>,
    /// The image's bytes.
    pub hex: HexBytes,
    /// `struct bpf_tramp_image`.
    #[serde(default)]
    pub im: Option<CapturedImage>,
    /// Where the trampoline calls the original (`bpf_fentry_test1+9`).
    #[serde(default)]
    pub orig_call: Option<String>,
    /// Kernel symbols of that boot.
    #[serde(default)]
    pub kernel_symbols: BTreeMap<String, Hex64>,
    /// Every address-dependent instruction.
    #[serde(default)]
    pub targets: Vec<CapturedTarget>,
}

impl TrampolineCapture {
    /// Reads one from JSON text.
    pub fn from_json(text: &str) -> Result<Self, OracleError> {
        from_json(text)
    }
    /// The image's address.
    pub fn image(&self) -> Result<u64, OracleError> {
        self.tramp_addr
            .or(self.addr)
            .map(|a| a.0)
            .ok_or(OracleError::Missing { field: "tramp_addr" })
    }
    /// The name of the struct_ops member's trampoline: its symbol, else the member's name.
    pub fn struct_ops_name(&self) -> Option<&str> {
        self.symbol.as_deref().or(self.member.as_deref())
    }
    /// A struct_ops trampoline (no traced function, one program reached through `targets`).
    pub fn is_struct_ops(&self) -> bool {
        self.signature.is_some() && self.programs.is_empty()
    }
    /// The target whose name satisfies `f`, and the address its bytes refer to.
    pub fn target_addr(&self, f: impl Fn(&str) -> bool) -> Option<u64> {
        self.targets
            .iter()
            .find(|t| f(t.name()))
            .and_then(CapturedTarget::referenced)
    }
}

/// One instruction slot of a captured program.
#[derive(Clone, Debug, Deserialize)]
pub struct CapturedInsn {
    /// The 8 bytes of `struct bpf_insn`, as hex.
    pub raw: HexBytes,
    /// For a helper call the kernel resolved: the function it calls.
    #[serde(default)]
    pub call_sym: Option<String>,
    /// For a helper call the kernel resolved: that function's address.
    #[serde(default)]
    pub call_addr: Option<Hex64>,
}

impl CapturedInsn {
    /// The slot.
    pub fn insn(&self, field: &'static str) -> Result<Insn, OracleError> {
        let b: [u8; 8] = self.raw.0.as_slice().try_into().map_err(|_| OracleError::BadInsn {
            field,
            len: self.raw.0.len(),
        })?;
        Ok(Insn::from_bytes(b))
    }
}

/// A captured program rewrite (`xlated/NAME.json`, `jit/NAME.json`): the input program and what
/// the verifier made of it.
#[derive(Clone, Debug, Deserialize)]
pub struct XlatedCapture {
    /// The program's name.
    pub name: String,
    /// `TRACING`, `KPROBE`, `SOCKET_FILTER`, ... (absent in the 6.18 JIT captures).
    #[serde(default)]
    pub prog_type: Option<String>,
    /// `fentry`, `fexit`, `fmod_ret`, `tp_btf`, `none`.
    #[serde(default)]
    pub expected_attach_type: Option<String>,
    /// The traced function, for fentry/fexit/fmod_ret.
    #[serde(default)]
    pub attach_target: Option<String>,
    /// The program as loaded.
    #[serde(default)]
    pub input: Vec<CapturedInsn>,
    /// The program after the verifier (`bpftool prog dump xlated`).
    #[serde(default)]
    pub xlated: Vec<CapturedInsn>,
}

impl XlatedCapture {
    /// Reads one from JSON text.
    pub fn from_json(text: &str) -> Result<Self, OracleError> {
        from_json(text)
    }
}

/// A captured JIT image (`jit/NAME.json`): the verifier's rewrite and the image of each
/// subprogram.
#[derive(Clone, Debug, Deserialize)]
pub struct JitCapture {
    /// The program's name.
    pub name: String,
    /// The program after the verifier.
    pub xlated: Vec<CapturedInsn>,
    /// Each subprogram's image address.
    pub jited_ksyms: Vec<Hex64>,
    /// Each subprogram's image length.
    #[serde(default)]
    pub jited_func_lens: Vec<usize>,
    /// The images, one after the other.
    pub jited_hex: HexBytes,
}

impl JitCapture {
    /// Reads one from JSON text.
    pub fn from_json(text: &str) -> Result<Self, OracleError> {
        from_json(text)
    }
}
