//! Kernel profiles: one kernel version's side of the fsession contract, as data.
//!
//! A profile says how the `ctx[-1]` metadata word is laid out (as the verifier's inlines read
//! it, and as the trampoline writes it, which differ in `fsession-v9-patch05`), which limits
//! apply, which inline variants the verifier emits, and the trampoline mode and mitigations that
//! change bytes. The shipped profiles live in `core/profiles/*.toml`; users load their own from
//! TOML or JSON text with [`Profile::from_toml`] / [`Profile::from_json`].

use serde::{Deserialize, Serialize};

/// Layout of the `ctx[-1]` word ("func_meta").
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MetaLayout {
    /// Mask applied to read nr_args; `None`: the whole word is nr_args (before fsession).
    pub nr_args_mask: Option<u64>,
    /// Bit holding is_return, if any.
    pub is_return_bit: Option<u8>,
    /// Shift of the cookie index field, if any.
    pub cookie_shift: Option<u8>,
    /// Mask of the cookie index field after shifting.
    #[serde(default = "default_cookie_mask")]
    pub cookie_mask: u64,
}

fn default_cookie_mask() -> u64 {
    0xff
}

impl MetaLayout {
    /// Encodes a metadata word.
    pub fn encode(&self, nr_args: u64, cookie_index: u64, is_return: bool) -> u64 {
        let mut w = nr_args;
        if let Some(s) = self.cookie_shift {
            w |= (cookie_index & self.cookie_mask) << s;
        }
        if let (Some(b), true) = (self.is_return_bit, is_return) {
            w |= 1 << b;
        }
        w
    }
    /// Decodes (nr_args, cookie index, is_return) as this layout's readers see them.
    pub fn decode(&self, w: u64) -> (u64, u64, bool) {
        let nr = match self.nr_args_mask {
            Some(m) => w & m,
            None => w,
        };
        let idx = self.cookie_shift.map(|s| (w >> s) & self.cookie_mask).unwrap_or(0);
        let ret = self.is_return_bit.map(|b| (w >> b) & 1 == 1).unwrap_or(false);
        (nr, idx, ret)
    }
}

/// How the trampoline is entered from the patched function.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TrampolineMode {
    /// `call` at the function entry: the trampoline skips the extra frame (SKIP_FRAME).
    Call,
    /// `jmp` at the function entry (CONFIG_DYNAMIC_FTRACE_WITH_JMP).
    Jmp,
}

impl TrampolineMode {
    /// Its name: `call` or `jmp`.
    pub const fn name(self) -> &'static str {
        match self {
            TrampolineMode::Call => "call",
            TrampolineMode::Jmp => "jmp",
        }
    }
}

impl std::fmt::Display for TrampolineMode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.pad(self.name())
    }
}

/// A trampoline mode name that is neither `call` nor `jmp`.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("unknown trampoline mode '{0}' (call or jmp)")]
pub struct UnknownMode(pub String);

impl std::str::FromStr for TrampolineMode {
    type Err = UnknownMode;
    fn from_str(s: &str) -> Result<Self, UnknownMode> {
        match s {
            "call" => Ok(TrampolineMode::Call),
            "jmp" => Ok(TrampolineMode::Jmp),
            _ => Err(UnknownMode(s.to_string())),
        }
    }
}

/// Mitigations that change the trampoline's bytes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Mitigations {
    /// Returns go through the return thunk (`jmp __x86_return_thunk`).
    #[serde(default)]
    pub return_thunk: bool,
    /// Straight-line-speculation `int3` after `ret`/`jmp`.
    #[serde(default)]
    pub sls: bool,
    /// IBT: `endbr64` at the trampoline entry.
    #[serde(default)]
    pub ibt: bool,
    /// Call-depth accounting before calls.
    #[serde(default)]
    pub call_depth: bool,
}

/// How an indirect jump is emitted (`emit_indirect_jump()`): by the CPU's spectre_v2 mitigation.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum IndirectBranch {
    /// Retpolines: `jmp __x86_indirect_thunk_<reg>` (both captured kernels).
    #[default]
    Thunk,
    /// `lfence; jmp *reg` (AMD retpoline,lfence).
    Lfence,
    /// A plain `jmp *reg`, followed by `int3` when the kernel has RETPOLINE or SLS configured.
    Plain,
}

/// What the x86-64 BPF JIT (`bpf_int_jit_compile()`) depends on beyond the mitigations: the CPU's
/// features and the kernel's structure offsets that tail calls read.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct JitConfig {
    /// The CPU has BMI2: register shifts are `shlx`/`shrx`/`sarx` (unless the count is in rcx).
    pub bmi2: bool,
    /// How indirect jumps (indirect tail calls) are emitted.
    pub indirect_branch: IndirectBranch,
    /// The largest forward offset a short (rel8) jump may take: 123 since the convergence fix
    /// (`is_imm8_jmp_offset()`), 127 before it.
    pub jmp8_max: i32,
    /// `offsetof(struct bpf_array, map.max_entries)`.
    pub array_max_entries_off: u8,
    /// `offsetof(struct bpf_array, ptrs)` (also where array values start).
    pub array_ptrs_off: u32,
    /// `offsetof(struct bpf_prog, bpf_func)`.
    pub prog_bpf_func_off: u8,
    /// `MAX_TAIL_CALL_CNT`.
    pub max_tail_call_cnt: u8,
    /// In a program that keeps the tail-call counter, every call (helpers and kfuncs too, not
    /// only bpf-to-bpf calls) is preceded by the load of the counter's pointer into rax.
    pub tcc_ptr_before_every_call: bool,
}

impl Default for JitConfig {
    fn default() -> Self {
        JitConfig {
            bmi2: true,
            indirect_branch: IndirectBranch::Thunk,
            jmp8_max: 123,
            array_max_entries_off: 0x24,
            array_ptrs_off: 0x138,
            prog_bpf_func_off: 0x30,
            max_tail_call_cnt: 33,
            tcc_ptr_before_every_call: false,
        }
    }
}

/// Which inline variants the verifier emits.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Inlines {
    /// `bpf_get_func_arg`/`_ret`/`_arg_cnt` mask `ctx[-1]` with `0xff` (since fsession patch 2).
    pub mask_nr_args: bool,
    /// `bpf_get_func_ret` is inlined for fsession (reads the retval slot in both passes).
    pub func_ret_fsession: bool,
    /// tp_btf (`BPF_TRACE_RAW_TP`) programs get `bpf_get_func_arg`/`_arg_cnt` as constants.
    pub raw_tp_const: bool,
}

/// One kernel version's contract.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Profile {
    /// Short name (`linux-7.0`).
    pub name: String,
    /// What this profile is.
    pub description: String,
    /// Whether the fsession attach type exists.
    pub fsession: bool,
    /// Whether `bpf_session_cookie`/`bpf_session_is_return` take `void *ctx` (7.0 prototypes).
    pub session_kfuncs_take_ctx: bool,
    /// The metadata word as the verifier's inlines read it.
    pub verifier_meta: MetaLayout,
    /// The metadata word as the trampoline writes it.
    pub trampoline_meta: MetaLayout,
    /// Maximum number of cookie-using fsession programs per trampoline (E2BIG beyond).
    pub cookie_limit: Option<u32>,
    /// `BPF_MAX_TRAMP_LINKS`.
    pub max_tramp_links: u32,
    /// Inline variants.
    pub inlines: Inlines,
    /// Trampoline entry mode.
    pub mode: TrampolineMode,
    /// Byte-changing mitigations.
    #[serde(default)]
    pub mitigations: Mitigations,
    /// The BPF JIT's CPU features and structure offsets.
    #[serde(default)]
    pub jit: JitConfig,
}

/// Why a profile could not be read.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ProfileError {
    /// The text is not a valid profile.
    #[error("{0}")]
    Parse(String),
    /// No shipped profile has this name.
    #[error("unknown profile '{name}' (known: {known})")]
    Unknown {
        /// The name asked for.
        name: String,
        /// The shipped names.
        known: String,
    },
}

/// The shipped profiles, as `build.rs` copies them (without their comment lines).
const SHIPPED: [&str; 5] = [
    include_str!(concat!(env!("OUT_DIR"), "/linux-6.12.toml")),
    include_str!(concat!(env!("OUT_DIR"), "/linux-6.18.toml")),
    include_str!(concat!(env!("OUT_DIR"), "/linux-7.0.toml")),
    include_str!(concat!(env!("OUT_DIR"), "/fsession-v9.toml")),
    include_str!(concat!(env!("OUT_DIR"), "/fsession-v9-patch05.toml")),
];

impl Profile {
    /// Parses a profile from TOML.
    pub fn from_toml(text: &str) -> Result<Profile, ProfileError> {
        toml_edit::de::from_str(text).map_err(|e| ProfileError::Parse(e.to_string()))
    }
    /// Parses a profile from JSON.
    pub fn from_json(text: &str) -> Result<Profile, ProfileError> {
        serde_json::from_str(text).map_err(|e| ProfileError::Parse(e.to_string()))
    }
    /// The shipped profiles, in version order (parsed once, on first use: the playground asks
    /// on every keystroke).
    pub fn shipped() -> Vec<Profile> {
        Profile::shipped_ref().to_vec()
    }
    /// The shipped profiles, parsed once.
    pub fn shipped_ref() -> &'static [Profile] {
        static PARSED: std::sync::OnceLock<Vec<Profile>> = std::sync::OnceLock::new();
        PARSED.get_or_init(|| {
            SHIPPED
                .iter()
                .map(|t| Profile::from_toml(t).expect("shipped profiles parse (checked by tests)"))
                .collect()
        })
    }
    /// A shipped profile by name.
    pub fn by_name(name: &str) -> Result<Profile, ProfileError> {
        let all = Profile::shipped_ref();
        all.iter()
            .find(|p| p.name == name)
            .cloned()
            .ok_or_else(|| ProfileError::Unknown {
                name: name.to_string(),
                known: all.iter().map(|p| p.name.as_str()).collect::<Vec<_>>().join(", "),
            })
    }
    /// Serialises to TOML.
    pub fn to_toml(&self) -> String {
        toml_edit::ser::to_string(self).unwrap_or_default()
    }
    /// Field-by-field differences with another profile: (field, this value, other value).
    pub fn diff(&self, other: &Profile) -> Vec<(String, String, String)> {
        let a = serde_json::to_value(self).unwrap_or_default();
        let b = serde_json::to_value(other).unwrap_or_default();
        let mut out = Vec::new();
        diff_values("", &a, &b, &mut out);
        out.retain(|(k, _, _)| k != "name" && k != "description");
        out
    }
}

fn diff_values(path: &str, a: &serde_json::Value, b: &serde_json::Value, out: &mut Vec<(String, String, String)>) {
    match (a, b) {
        (serde_json::Value::Object(x), serde_json::Value::Object(y)) => {
            let mut keys: Vec<&String> = x.keys().chain(y.keys()).collect();
            keys.sort();
            keys.dedup();
            for k in keys {
                let p = if path.is_empty() {
                    k.clone()
                } else {
                    format!("{path}.{k}")
                };
                let null = serde_json::Value::Null;
                diff_values(&p, x.get(k).unwrap_or(&null), y.get(k).unwrap_or(&null), out);
            }
        }
        _ if a != b => {
            let hex = path.ends_with("mask");
            out.push((path.to_string(), show(a, hex), show(b, hex)))
        }
        _ => {}
    }
}

fn show(v: &serde_json::Value, hex: bool) -> String {
    match v {
        serde_json::Value::Null => "none".into(),
        serde_json::Value::Number(n) if hex && n.as_u64().is_some() => format!("{:#x}", n.as_u64().unwrap_or(0)),
        other => other.to_string(),
    }
}
