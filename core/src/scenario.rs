//! Scenario files (TOML): a traced function, programs with their text, the attach order, the
//! kernel profile, and the errors the scenario expects. [`check`] runs the kernel's load and
//! attach path over them: assemble, verify, fix up, attach. Documented in examples/README.md.

use crate::asm::{assemble_with_lines, AsmError, Syntax};
use crate::errno::Errno;
use crate::kernel::fixup::{fixup, Fixed};
use crate::kernel::link::{LinkError, LinkInfo, Trampoline, TrampolineLinks};
use crate::kernel::patch::PatchError;
use crate::kernel::profile::{Profile, TrampolineMode};
use crate::kernel::program::{parse_prototype, AttachType, FuncModel, Program, ProtoError};
use crate::kernel::verifier::{verify, MapDef, Verified, VerifierError};
use crate::tramp::EncodeError;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use thiserror::Error;

/// The traced function.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FunctionSpec {
    /// C prototype: `int bpf_fentry_test1(int a)`.
    pub prototype: String,
    /// Sizes of struct types used by value: `{ pair = 16 }`.
    #[serde(default)]
    pub structs: BTreeMap<String, u32>,
    /// What the native traced function does.
    #[serde(default)]
    pub body: FunctionBody,
    /// Added to the sum (`bpf_fentry_test1(a)` returns `a + 1`).
    #[serde(default)]
    pub bias: i64,
    /// On hardware, this helper calls the traced function again (with the same arguments), as
    /// `bpf_get_prandom_u32` calls `bpf_user_rnd_u32`: a program attached to the function that
    /// calls the helper re-enters itself (the kernel skips it and counts a miss).
    #[serde(default)]
    pub reentry: Option<ReentryHelper>,
}

/// What the traced function's native body does (`body = "..."`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FunctionBody {
    /// `sum`, the default: the sum of its arguments at their declared widths, plus `bias`.
    #[default]
    Sum,
    /// `modify_return`: `*b += 1; return a + *b` (`bpf_modify_return_test(int a, int *b)`).
    ModifyReturn,
    /// `fault`: loads from address 0.
    Fault,
}

/// A helper that, on hardware, calls the traced function again (`reentry = "..."`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ReentryHelper {
    /// `bpf_get_prandom_u32`: the native helper calls the traced function, as the kernel's
    /// helper calls `bpf_user_rnd_u32`.
    #[serde(rename = "bpf_get_prandom_u32")]
    GetPrandomU32,
}

/// An expected value: an integer, a number in a string (`"0xaaaabbbbccccdddd"` for values TOML
/// integers cannot hold), `"func"` (the traced function's address), `"data:OFF"` (the address of
/// byte OFF of the first map, to pass pointers) or `"any"`. Parsed when the scenario is read, so
/// a bad value is an error on its line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExpectValue {
    /// A number (negative ones as two's complement).
    Number(u64),
    /// The traced function's address.
    Func,
    /// The address of this byte of the first map.
    Data(u64),
    /// Anything.
    Any,
}

impl ExpectValue {
    /// The value to compare with, given the traced function's address and the first map's;
    /// `None` for `any`.
    pub fn resolve(self, func: u64, data: u64) -> Option<u64> {
        match self {
            ExpectValue::Number(v) => Some(v),
            ExpectValue::Func => Some(func),
            ExpectValue::Data(off) => Some(data.wrapping_add(off)),
            ExpectValue::Any => None,
        }
    }

    /// Reads the text form: `any`, `func`, `data:OFF`, or a number (decimal, `-` decimal, `0x` hex).
    fn from_text(t: &str) -> Option<ExpectValue> {
        let t = t.trim();
        Some(match t {
            "any" => ExpectValue::Any,
            "func" => ExpectValue::Func,
            _ => match (t.strip_prefix("data:"), t.strip_prefix('-')) {
                (Some(off), _) => ExpectValue::Data(off.trim().parse().ok()?),
                (None, Some(negated)) => ExpectValue::Number(parse_u64_text(negated)?.wrapping_neg()),
                (None, None) => ExpectValue::Number(parse_u64_text(t)?),
            },
        })
    }
}

impl Serialize for ExpectValue {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            ExpectValue::Number(v) => s.serialize_u64(*v),
            ExpectValue::Func => s.serialize_str("func"),
            ExpectValue::Data(off) => s.serialize_str(&format!("data:{off}")),
            ExpectValue::Any => s.serialize_str("any"),
        }
    }
}

impl<'de> Deserialize<'de> for ExpectValue {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = ExpectValue;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("an integer, a number in a string (decimal or 0x hex), \"func\", \"data:OFF\" or \"any\"")
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<ExpectValue, E> {
                Ok(ExpectValue::Number(v as u64))
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<ExpectValue, E> {
                Ok(ExpectValue::Number(v))
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<ExpectValue, E> {
                ExpectValue::from_text(v).ok_or_else(|| E::invalid_value(serde::de::Unexpected::Str(v), &self))
            }
        }
        d.deserialize_any(V)
    }
}

/// An argument value: an integer (or number string) or, for a struct passed by value, its
/// 8-byte words.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum ArgValue {
    /// One scalar.
    Scalar(ExpectValue),
    /// The words of a struct.
    Words(Vec<ExpectValue>),
}

/// One call of the traced function.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CallSpec {
    /// One value per argument.
    pub args: Vec<ArgValue>,
    /// Expected return value (compared at the return type's width).
    #[serde(default)]
    pub ret: Option<ExpectValue>,
}

/// Expected run counts of a program.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Counters {
    /// Times it ran.
    #[serde(default)]
    pub runs: Option<u64>,
    /// Times it was skipped because it was already running.
    #[serde(default)]
    pub misses: Option<u64>,
}

/// A global data area (`.bss`) or map, referenced by its index in `maps`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MapSpec {
    /// Name.
    pub name: String,
    /// Value size in bytes.
    pub value_size: u32,
}

/// One program.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProgramSpec {
    /// Name.
    pub name: String,
    /// `fentry`, `fexit`, `fmod_ret`, `fsession`, `tp_btf`, `freplace` or `struct_ops`.
    pub attach: AttachType,
    /// Sleepable.
    #[serde(default)]
    pub sleepable: bool,
    /// Attach cookie: a TOML integer, or a string in decimal or `0x` hex for the values above
    /// `i64::MAX` that a TOML integer cannot hold.
    #[serde(default, deserialize_with = "attach_cookie")]
    pub cookie: u64,
    /// `kernel` (default) or `conformance`.
    #[serde(default)]
    pub syntax: Option<Syntax>,
    /// The program text.
    pub text: serde_spanned::Spanned<String>,
}

/// A u64 written in decimal or `0x` hex (spaces around it allowed): the string form of cookies
/// and expected values, and what the playground's cookie control accepts.
pub fn parse_u64_text(t: &str) -> Option<u64> {
    let t = t.trim();
    match t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) {
        Some(h) => u64::from_str_radix(h, 16).ok(),
        None => t.parse().ok(),
    }
}

/// Reads an attach cookie: a non-negative integer, or a string holding one in decimal or `0x`
/// hex (for the values TOML's signed integers cannot hold).
fn attach_cookie<'de, D: serde::Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
    struct Cookie;
    impl serde::de::Visitor<'_> for Cookie {
        type Value = u64;
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("an attach cookie from 0 to 2^64-1 (an integer, or a string in decimal or 0x hex)")
        }
        fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<u64, E> {
            Ok(v)
        }
        fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<u64, E> {
            u64::try_from(v).map_err(|_| E::invalid_value(serde::de::Unexpected::Signed(v), &self))
        }
        fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<u64, E> {
            parse_u64_text(v).ok_or_else(|| E::invalid_value(serde::de::Unexpected::Str(v), &self))
        }
    }
    d.deserialize_any(Cookie)
}

/// Errors the scenario expects, by program name: errno names (`E2BIG`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Expect {
    /// Programs the verifier must reject, with the errno.
    #[serde(default)]
    pub verifier_errors: BTreeMap<String, String>,
    /// Attaches that must fail, with the errno.
    #[serde(default)]
    pub link_errors: BTreeMap<String, String>,
    /// The trampoline must fail to encode with this errno (`ENOTSUPP`, `E2BIG`, `ERANGE`).
    #[serde(default)]
    pub encode_error: Option<String>,
    /// The contract check must find a violation (the verifier's inlines and the trampoline
    /// disagree, as in `fsession-v9-patch05`).
    #[serde(default)]
    pub contract_violation: bool,
    /// Values of each map's value, as u64 words from offset 0, after all calls.
    #[serde(default)]
    pub data: BTreeMap<String, Vec<ExpectValue>>,
    /// Run counters per program.
    #[serde(default)]
    pub counters: BTreeMap<String, Counters>,
    /// The traced function faults (the run ends with a signal).
    #[serde(default)]
    pub fault: bool,
}

/// A scenario file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    /// What the scenario shows.
    #[serde(default)]
    pub description: String,
    /// A shipped profile name, or a path to a profile file (TOML or JSON) relative to the
    /// scenario.
    pub profile: String,
    /// Overrides the profile's trampoline mode (`call` or `jmp`).
    #[serde(default)]
    pub mode: Option<TrampolineMode>,
    /// The traced function.
    pub function: FunctionSpec,
    /// Global data areas and maps.
    #[serde(default)]
    pub maps: Vec<MapSpec>,
    /// The programs, in file order.
    #[serde(rename = "program", default)]
    pub programs: Vec<ProgramSpec>,
    /// Attach order by program name (default: file order). A name may not repeat.
    #[serde(default)]
    pub attach_order: Option<Vec<String>>,
    /// Programs to detach after all attaches, in order.
    #[serde(default)]
    pub detach: Vec<String>,
    /// Calls to make on hardware (`fsession-lab run` / `validate`).
    #[serde(rename = "call", default)]
    pub calls: Vec<CallSpec>,
    /// Expected errors.
    #[serde(default)]
    pub expect: Expect,
}

/// A problem with the scenario file itself, at a place in the file.
#[derive(Clone, Debug, PartialEq, Eq, Error, Serialize, Deserialize)]
#[error("line {line}, column {column}: {kind}")]
pub struct ScenarioError {
    /// 1-based line in the file.
    pub line: usize,
    /// 1-based column.
    pub column: usize,
    /// What is wrong.
    pub kind: ScenarioErrorKind,
}

/// What is wrong with a scenario file.
#[derive(Clone, Debug, PartialEq, Eq, Error, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ScenarioErrorKind {
    /// The TOML reader rejected the text or a value (unknown key, wrong type, unknown attach
    /// type, ...); its own message.
    #[error("{message}")]
    Toml {
        /// The TOML reader's message.
        message: String,
    },
    /// Two programs have the same name.
    #[error("program name '{name}' is used twice")]
    ProgramNameTwice {
        /// The name.
        name: String,
    },
    /// `attach_order` names a program the file does not define.
    #[error("attach_order names unknown program '{name}'")]
    AttachOrderUnknown {
        /// The name.
        name: String,
    },
    /// `attach_order` names a program twice.
    #[error("attach_order names '{name}' twice")]
    AttachOrderTwice {
        /// The name.
        name: String,
    },
    /// A scenario built in code (not by [`Scenario::parse`]) attaches or detaches a program it
    /// does not define.
    #[error("attach_order or detach names unknown program '{name}'")]
    UnknownProgram {
        /// The name.
        name: String,
    },
    /// `detach` or `[expect]` names a program the file does not define.
    #[error("unknown program '{name}' in detach/expect")]
    UnknownInDetachOrExpect {
        /// The name.
        name: String,
    },
    /// The traced function's prototype does not parse.
    #[error("function prototype: {0}")]
    Prototype(ProtoError),
    /// A program's text does not assemble (the place is the file's, so the assembler's own line
    /// and column are not repeated).
    #[error("program '{program}': {}", error.message)]
    Assembler {
        /// The program.
        program: String,
        /// The assembler's error, at the program text's line and column.
        error: AsmError,
    },
}

impl ScenarioErrorKind {
    /// This problem at the file's first line (for problems of the file as a whole).
    fn at_start(self) -> ScenarioError {
        ScenarioError {
            line: 1,
            column: 1,
            kind: self,
        }
    }
}

/// The 1-based (line, column) of a byte offset in `text` (clamped to its end).
pub fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().map(|l| l.chars().count()).unwrap_or(0) + 1;
    (line, col)
}

/// File offset where a TOML string value's content starts (after the quotes and, for a
/// multi-line string, the newline that follows them).
fn content_start(file: &str, span: std::ops::Range<usize>) -> usize {
    let raw = &file[span.start.min(file.len())..span.end.min(file.len())];
    let mut skip = 0;
    for q in ["\"\"\"", "'''", "\"", "'"] {
        if raw.starts_with(q) {
            skip = q.len();
            if q.len() == 3 {
                if raw[3..].starts_with("\r\n") {
                    skip += 2;
                } else if raw[3..].starts_with('\n') {
                    skip += 1;
                }
            }
            break;
        }
    }
    span.start + skip
}

impl Scenario {
    /// Parses a scenario from TOML text.
    pub fn parse(text: &str) -> Result<Scenario, ScenarioError> {
        let s: Scenario = toml_edit::de::from_str(text).map_err(|e| {
            let (line, column) = e.span().map(|sp| line_col(text, sp.start)).unwrap_or((1, 1));
            ScenarioError {
                line,
                column,
                kind: ScenarioErrorKind::Toml {
                    message: e.message().to_string(),
                },
            }
        })?;
        let mut names = std::collections::BTreeSet::new();
        for p in &s.programs {
            if !names.insert(p.name.clone()) {
                let (line, column) = line_col(text, p.text.span().start);
                return Err(ScenarioError {
                    line,
                    column,
                    kind: ScenarioErrorKind::ProgramNameTwice { name: p.name.clone() },
                });
            }
        }
        if let Some(order) = &s.attach_order {
            let mut seen = std::collections::BTreeSet::new();
            for n in order {
                if !names.contains(n) {
                    return Err(ScenarioErrorKind::AttachOrderUnknown { name: n.clone() }.at_start());
                }
                if !seen.insert(n) {
                    return Err(ScenarioErrorKind::AttachOrderTwice { name: n.clone() }.at_start());
                }
            }
        }
        for n in s
            .detach
            .iter()
            .chain(s.expect.verifier_errors.keys())
            .chain(s.expect.link_errors.keys())
        {
            if !names.contains(n) {
                return Err(ScenarioErrorKind::UnknownInDetachOrExpect { name: n.clone() }.at_start());
            }
        }
        Ok(s)
    }

    /// The profile as used: the given one with the scenario's mode override.
    pub fn effective_profile(&self, mut profile: Profile) -> Profile {
        if let Some(m) = self.mode {
            profile.mode = m;
        }
        profile
    }
}

/// A problem found checking a scenario: an unexpected error, or an expected one that did not
/// happen. `Display` keeps the kernel's wording; where the problem has a place in the file,
/// [`Problem::span`] gives it.
#[derive(Clone, Debug, PartialEq, Eq, Error, Serialize, serde::Deserialize)]
#[serde(tag = "problem", rename_all = "snake_case")]
pub enum Problem {
    /// A program's text did not assemble.
    #[error("{0}")]
    Assembler(ScenarioError),
    /// The verifier accepted a program the scenario expects it to refuse.
    #[error("program '{program}': expected the verifier to fail with {want}, it passed")]
    VerifierPassed {
        /// The program.
        program: String,
        /// The expected errno's name.
        want: String,
    },
    /// The verifier refused with another errno than the expected one.
    #[error("program '{program}': expected {want}, verifier said: {got}")]
    VerifierErrno {
        /// The program.
        program: String,
        /// The expected errno's name.
        want: String,
        /// What the verifier said.
        got: VerifierError,
        /// The scenario file's line of the refused instruction.
        line: Option<usize>,
    },
    /// The verifier refused a program.
    #[error("program '{program}': {error}")]
    Verifier {
        /// The program.
        program: String,
        /// Its verdict.
        error: VerifierError,
        /// The scenario file's line of the refused instruction.
        line: Option<usize>,
    },
    /// A fixup could not be applied.
    #[error("program '{program}': fixups: {error}")]
    Fixup {
        /// The program.
        program: String,
        /// Why.
        error: PatchError,
    },
    /// An attach the scenario expects to fail succeeded.
    #[error("attach '{program}': expected {want}, it succeeded")]
    AttachPassed {
        /// The program.
        program: String,
        /// The expected errno's name.
        want: String,
    },
    /// An attach failed with another errno than the expected one.
    #[error("attach '{program}': expected {want}, got {got}")]
    AttachErrno {
        /// The program.
        program: String,
        /// The expected errno's name.
        want: String,
        /// What the attach gave.
        got: LinkError,
    },
    /// An attach failed.
    #[error("attach '{program}': {error}")]
    Attach {
        /// The program.
        program: String,
        /// Why.
        error: LinkError,
    },
    /// A detach failed.
    #[error("detach '{program}': {error}")]
    Detach {
        /// The program.
        program: String,
        /// Why.
        error: LinkError,
    },
    /// The listing's decoder disagrees with the encoder.
    #[error("listing: {error}")]
    Listing {
        /// What differs.
        error: crate::tramp::listing::ListingError,
    },
    /// The trampoline could not be encoded.
    #[error("trampoline: {error}")]
    Encode {
        /// The encoder's error.
        error: EncodeError,
    },
    /// The scenario expects the encoder to fail, and it did not.
    #[error("trampoline: expected {want}, it encoded")]
    EncodeExpected {
        /// The expected errno's name.
        want: String,
    },
    /// A program would read something else than the trampoline stores.
    #[error("contract: {found}")]
    Contract {
        /// What the contract check found.
        found: crate::tramp::contract::ContractProblem,
    },
    /// The scenario expects a contract violation, and the contract holds.
    #[error("contract: expected a violation, the contract holds")]
    ContractHeld,
    /// Executing the trampoline showed a contract violation the scenario does not expect.
    #[error("contract (from execution): {found}")]
    Executed {
        /// What the run showed.
        found: crate::emu::verdict::ExecProblem,
    },
    /// The trampoline could not be executed to check the contract.
    #[error("contract (from execution): the run stopped: {reason}")]
    NotExecuted {
        /// Why.
        reason: String,
    },
}

impl Problem {
    /// Where in the scenario file it is: (1-based line, column).
    pub fn span(&self) -> Option<(usize, usize)> {
        match self {
            Problem::Assembler(e) => Some((e.line, e.column)),
            Problem::Verifier { line: Some(l), .. } | Problem::VerifierErrno { line: Some(l), .. } => Some((*l, 1)),
            _ => None,
        }
    }
}

/// What happened to one program.
#[derive(Clone, Debug, Serialize)]
pub struct ProgramReport {
    /// Name.
    pub name: String,
    /// Attach type.
    pub attach: AttachType,
    /// Attach cookie.
    pub cookie: u64,
    /// The program as loaded.
    pub program: Program,
    /// Assembler error (file line and column), if the text did not assemble.
    pub asm_error: Option<ScenarioError>,
    /// The scenario file's line of each instruction slot of `program`.
    pub slot_lines: Vec<usize>,
    /// Verifier verdict.
    pub verified: Option<Result<Verified, VerifierError>>,
    /// The program after fixups (verified programs only).
    pub fixed: Option<Fixed>,
    /// Fixup failure (16-bit range), if any.
    pub fixup_error: Option<PatchError>,
}

/// Which link operation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum LinkOpKind {
    /// `bpf_trampoline_link_prog`.
    Attach,
    /// `bpf_trampoline_unlink_prog`.
    Detach,
}

impl std::fmt::Display for LinkOpKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.pad(match self {
            LinkOpKind::Attach => "attach",
            LinkOpKind::Detach => "detach",
        })
    }
}

/// One attach or detach.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct LinkOp {
    /// Attach or detach.
    pub op: LinkOpKind,
    /// Program name.
    pub program: String,
    /// Outcome.
    pub result: Result<(), LinkError>,
}

/// The outcome of checking a scenario.
#[derive(Clone, Debug, Serialize)]
pub struct CheckReport {
    /// Description from the file.
    pub description: String,
    /// The profile used (after the scenario's overrides).
    pub profile: Profile,
    /// The traced function.
    pub function: FuncModel,
    /// Per program.
    pub programs: Vec<ProgramReport>,
    /// Attach and detach operations in order.
    pub link_ops: Vec<LinkOp>,
    /// What the encoder receives.
    pub trampoline: TrampolineLinks,
    /// Problems: unexpected errors and expected errors that did not happen.
    pub problems: Vec<Problem>,
}

impl CheckReport {
    /// True when every error was expected and every expected error happened.
    pub fn ok(&self) -> bool {
        self.problems.is_empty()
    }
}

fn errno_matches(e: Errno, want: &str) -> bool {
    e.name().eq_ignore_ascii_case(want.trim())
}

/// Runs the load and attach path over a parsed scenario. `text` is the file (for line numbers of
/// assembler errors).
pub fn check(s: &Scenario, text: &str, profile: &Profile) -> Result<CheckReport, ScenarioError> {
    let profile = s.effective_profile(profile.clone());
    let func = parse_prototype(&s.function.prototype, &s.function.structs)
        .map_err(|e| ScenarioErrorKind::Prototype(e).at_start())?;
    let maps: BTreeMap<i32, MapDef> = s
        .maps
        .iter()
        .enumerate()
        .map(|(i, m)| {
            (
                i as i32,
                MapDef {
                    name: m.name.clone(),
                    value_size: m.value_size,
                },
            )
        })
        .collect();
    let mut problems = Vec::new();
    let mut programs = Vec::new();
    for p in &s.programs {
        let attach = p.attach;
        let syntax = p.syntax.unwrap_or(Syntax::Kernel);
        let mut rep = ProgramReport {
            name: p.name.clone(),
            attach,
            cookie: p.cookie,
            program: Program {
                name: p.name.clone(),
                attach,
                sleepable: p.sleepable,
                cookie: p.cookie,
                insns: vec![],
            },
            asm_error: None,
            slot_lines: vec![],
            verified: None,
            fixed: None,
            fixup_error: None,
        };
        let start = content_start(text, p.text.span());
        let (line0, col0) = line_col(text, start);
        // A program written on several lines of the file: its line k is file line line0 + k - 1;
        // one written on one line (escaped newlines) is all on that line.
        let multi_line = text.get(p.text.span()).is_some_and(|raw| raw.contains('\n'));
        let file_line = |l: usize| if multi_line { line0 + l - 1 } else { line0 };
        match assemble_with_lines(p.text.get_ref(), syntax) {
            Err(e) => {
                let err = ScenarioError {
                    line: file_line(e.line),
                    column: if e.line == 1 { col0 + e.column - 1 } else { e.column },
                    kind: ScenarioErrorKind::Assembler {
                        program: p.name.clone(),
                        error: e,
                    },
                };
                problems.push(Problem::Assembler(err.clone()));
                rep.asm_error = Some(err);
            }
            Ok((insns, slot_lines)) => {
                rep.program.insns = insns;
                rep.slot_lines = slot_lines.into_iter().map(file_line).collect();
                let v = verify(&rep.program, &func, &profile, &maps);
                let program = p.name.clone();
                let line = v.as_ref().err().and_then(|e| rep.slot_lines.get(e.index).copied());
                match (&v, s.expect.verifier_errors.get(&p.name)) {
                    (Ok(_), Some(want)) => problems.push(Problem::VerifierPassed {
                        program,
                        want: want.clone(),
                    }),
                    (Err(e), Some(want)) if !errno_matches(e.errno, want) => problems.push(Problem::VerifierErrno {
                        program,
                        want: want.clone(),
                        got: e.clone(),
                        line,
                    }),
                    (Err(e), None) => problems.push(Problem::Verifier {
                        program,
                        error: e.clone(),
                        line,
                    }),
                    _ => {}
                }
                if v.is_ok() {
                    match fixup(&rep.program, &func, &profile) {
                        Ok(f) => rep.fixed = Some(f),
                        Err(e) => {
                            problems.push(Problem::Fixup {
                                program: p.name.clone(),
                                error: e.clone(),
                            });
                            rep.fixup_error = Some(e);
                        }
                    }
                }
                rep.verified = Some(v);
            }
        }
        programs.push(rep);
    }
    // Attach the loaded programs in order, then detach.
    let order: Vec<String> = s
        .attach_order
        .clone()
        .unwrap_or_else(|| s.programs.iter().map(|p| p.name.clone()).collect());
    let mut tramp = Trampoline::new();
    let mut link_ops = Vec::new();
    let index_of = |name: &str| {
        programs
            .iter()
            .position(|p| p.name == name)
            .ok_or_else(|| ScenarioErrorKind::UnknownProgram { name: name.to_string() }.at_start())
    };
    for name in &order {
        let idx = index_of(name)?;
        let p = &programs[idx];
        let Some(Ok(v)) = &p.verified else { continue };
        if p.fixed.is_none() || p.attach == AttachType::TpBtf {
            continue;
        }
        let info = LinkInfo {
            prog: idx,
            name: p.name.clone(),
            attach: p.attach,
            cookie: p.cookie,
            call_get_func_ip: v.call_get_func_ip,
            call_session_cookie: v.call_session_cookie,
        };
        let result = tramp.attach(info, &profile);
        let program = name.clone();
        match (&result, s.expect.link_errors.get(name)) {
            (Ok(()), Some(want)) => problems.push(Problem::AttachPassed {
                program,
                want: want.clone(),
            }),
            (Err(e), Some(want)) if !errno_matches(e.errno, want) => problems.push(Problem::AttachErrno {
                program,
                want: want.clone(),
                got: e.clone(),
            }),
            (Err(e), None) => problems.push(Problem::Attach {
                program,
                error: e.clone(),
            }),
            _ => {}
        }
        link_ops.push(LinkOp {
            op: LinkOpKind::Attach,
            program: name.clone(),
            result,
        });
    }
    for name in &s.detach {
        let idx = index_of(name)?;
        let result = tramp.detach(idx).map(|_| ());
        if let Err(e) = &result {
            problems.push(Problem::Detach {
                program: name.clone(),
                error: e.clone(),
            });
        }
        link_ops.push(LinkOp {
            op: LinkOpKind::Detach,
            program: name.clone(),
            result,
        });
    }
    let trampoline = tramp.links(&profile, &func);
    Ok(CheckReport {
        description: s.description.clone(),
        profile,
        function: func,
        programs,
        link_ops,
        trampoline,
        problems,
    })
}
