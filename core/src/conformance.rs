//! The bpf_conformance suite's `.data` test format and how a test is judged.
//!
//! Format (from the suite): `#` starts a comment; a line containing `--` starts a section,
//! classified by substring in this order: `asm`, `result`, `mem`, `raw`, `no register offset`
//! (ignored), ` c` (C source, ignored), `error`; any other directive makes the test skipped.
//! `-- raw` (64-bit little-endian instruction words) overrides `-- asm`.

use crate::asm::{assemble, Syntax};
use crate::interp::run_conformance;
use crate::isa::Insn;

/// A parsed test file.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TestCase {
    /// Assembler text of `-- asm`.
    pub asm: Option<String>,
    /// Instruction words of `-- raw`.
    pub raw: Option<Vec<u64>>,
    /// Initial memory of `-- mem`.
    pub mem: Vec<u8>,
    /// Expected r0.
    pub result: Option<u64>,
    /// Expected error text.
    pub error: Option<String>,
    /// Why the file cannot be run, if it cannot (unknown directive, nothing to check).
    pub skip: Option<SkipReason>,
}

/// Why a test is not run.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SkipReason {
    /// A `--` directive this runner does not know.
    #[error("unknown directive '{directive}' on line {line}")]
    UnknownDirective {
        /// The directive line, trimmed.
        directive: String,
        /// Its 1-based line.
        line: usize,
    },
    /// Neither `-- result` nor `-- error`: nothing to check.
    #[error("no result or error")]
    NothingToCheck,
    /// No `-- asm` or `-- raw` instructions.
    #[error("no BPF instructions")]
    NoInstructions,
}

/// Why a test's program cannot be built.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ProgramError {
    /// The `-- asm` text does not assemble.
    #[error("assembler: {0}")]
    Assembler(#[from] crate::asm::AsmError),
    /// Neither `-- asm` nor `-- raw`.
    #[error("no BPF instructions")]
    NoInstructions,
}

/// How a test failed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Failure {
    /// The program cannot be built, and no error was expected.
    #[error("{0}")]
    Program(ProgramError),
    /// r0 differs from `-- result`.
    #[error("r0 = {r0:#x}, expected {want:#x}")]
    Result {
        /// What the program returned.
        r0: u64,
        /// `-- result`.
        want: u64,
    },
    /// The program ran, and `-- error` expected it not to.
    #[error("r0 = {r0:#x}, expected error '{error}'")]
    ErrorExpected {
        /// What the program returned.
        r0: u64,
        /// `-- error`.
        error: String,
    },
    /// The program stopped with an error, and none was expected.
    #[error("error: {0}")]
    Run(EngineError),
}

/// Why an engine did not return an r0.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum EngineError {
    /// The interpreter's error.
    #[error("{0}")]
    Interp(crate::interp::VmError),
    /// The verifier's rewrites, the JIT or the executor running its image.
    #[error("{0}")]
    Jit(crate::jit::run::JitRunError),
    /// The JIT image on this machine's CPU (the native runner's message).
    #[error("{0}")]
    Native(String),
}

/// A test an engine is known not to pass as the interpreter does, and why: listed, never
/// silently passed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum KnownDifference {
    /// `callx`: the kernel's x86-64 JIT has no translation for `BPF_CALL | BPF_X` and refuses
    /// the program (EINVAL), as the model's JIT does.
    #[error("the kernel's x86-64 JIT refuses callx (bpf_jit: unknown opcode 8d)")]
    JitRefusesCallx,
    /// Division or modulo by the immediate 0: the verifier refuses the program ("div by
    /// zero"), so no image exists.
    #[error("the verifier refuses a division by the immediate 0")]
    VerifierRefusesDivByZero,
}

/// The verdict on one test.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Expected result (or expected failure) observed.
    Pass,
    /// Something else happened; the failure says what.
    Fail(Failure),
    /// Not run, for the stated reason.
    Skip(SkipReason),
    /// Not the interpreter's result, for a listed reason.
    Known(KnownDifference),
}

#[derive(PartialEq)]
enum Section {
    None,
    Asm,
    Result,
    Mem,
    Raw,
    Ignored,
    Error,
}

/// Why a `.data` file does not parse.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum DataError {
    /// A number of `-- result` or `-- raw` that is not one.
    #[error("line {line}: bad number '{token}'")]
    Number {
        /// 1-based line.
        line: usize,
        /// The token.
        token: String,
    },
    /// A number outside the 64-bit range.
    #[error("line {line}: number out of 64-bit range: {token}")]
    Range {
        /// 1-based line.
        line: usize,
        /// The token.
        token: String,
    },
    /// A `-- mem` token that is not a hex byte.
    #[error("line {line}: bad memory byte '{token}'")]
    MemoryByte {
        /// 1-based line.
        line: usize,
        /// The token.
        token: String,
    },
}

/// Why hex text does not give bytes.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum HexError {
    /// An odd count of digits.
    #[error("odd number of hex digits ({digits})")]
    OddDigits {
        /// How many digits there are.
        digits: usize,
    },
    /// A pair that is not two hex digits.
    #[error("bad hex byte '{pair}' at byte {offset}")]
    BadByte {
        /// The pair, lossily as text.
        pair: String,
        /// Its index among the bytes.
        offset: usize,
    },
}

/// A `-- result` or `-- raw` number: decimal (negative allowed, as two's complement) or hex.
fn parse_u64(tok: &str, line: usize) -> Result<u64, DataError> {
    let t = tok.trim();
    let number = || DataError::Number {
        line,
        token: t.to_string(),
    };
    if t.contains("0x") || t.contains("0X") {
        let (neg, body) = match t.strip_prefix('-') {
            Some(b) => (true, b),
            None => (false, t),
        };
        let h = body.trim_start_matches("0x").trim_start_matches("0X");
        let v = u64::from_str_radix(h, 16).map_err(|_| number())?;
        Ok(if neg { v.wrapping_neg() } else { v })
    } else {
        let v: i128 = t.parse().map_err(|_| number())?;
        if v < i64::MIN as i128 || v > u64::MAX as i128 {
            return Err(DataError::Range {
                line,
                token: t.to_string(),
            });
        }
        Ok(v as u64)
    }
}

/// Parses the text of a `.data` file.
pub fn parse_data(text: &str) -> Result<TestCase, DataError> {
    let mut tc = TestCase::default();
    let mut section = Section::None;
    let mut asm = String::new();
    let mut has_asm = false;
    let mut raw: Vec<u64> = Vec::new();
    let mut has_raw = false;
    for (n, line) in text.lines().enumerate() {
        let line = line.trim_end_matches('\r');
        let line = match line.find('#') {
            Some(p) => &line[..p],
            None => line,
        };
        if line.contains("--") {
            section = if line.contains("asm") {
                has_asm = true;
                Section::Asm
            } else if line.contains("result") {
                Section::Result
            } else if line.contains("mem") {
                Section::Mem
            } else if line.contains("raw") {
                has_raw = true;
                Section::Raw
            } else if line.contains("no register offset") || line.contains(" c") {
                Section::Ignored
            } else if line.contains("error") {
                Section::Error
            } else {
                tc.skip = Some(SkipReason::UnknownDirective {
                    directive: line.trim().to_string(),
                    line: n + 1,
                });
                return Ok(tc);
            };
            continue;
        }
        match section {
            Section::Asm => {
                asm.push_str(line);
                asm.push('\n');
            }
            Section::Result => {
                if !line.trim().is_empty() {
                    tc.result = Some(parse_u64(line, n + 1)?);
                }
            }
            Section::Mem => {
                for tok in line.split_whitespace() {
                    let b = u8::from_str_radix(tok, 16).map_err(|_| DataError::MemoryByte {
                        line: n + 1,
                        token: tok.to_string(),
                    })?;
                    tc.mem.push(b);
                }
            }
            Section::Raw => {
                for tok in line.split_whitespace() {
                    raw.push(parse_u64(tok, n + 1)?);
                }
            }
            Section::Error => {
                if !line.trim().is_empty() {
                    tc.error = Some(line.trim().to_string());
                }
            }
            Section::Ignored | Section::None => {}
        }
    }
    if has_asm {
        tc.asm = Some(asm);
    }
    if has_raw && !raw.is_empty() {
        tc.raw = Some(raw);
    }
    if tc.result.is_none() && tc.error.is_none() {
        tc.skip = Some(SkipReason::NothingToCheck);
    }
    Ok(tc)
}

impl TestCase {
    /// The program: `-- raw` if present, else the assembled `-- asm`.
    pub fn program(&self) -> Result<Vec<Insn>, ProgramError> {
        if let Some(raw) = &self.raw {
            return Ok(raw.iter().map(|w| Insn::from_u64(*w)).collect());
        }
        match &self.asm {
            Some(a) => Ok(assemble(a, Syntax::Conformance)?),
            None => Err(ProgramError::NoInstructions),
        }
    }

    /// Runs the test through the interpreter and judges it.
    pub fn run(&self) -> Outcome {
        self.judge_with(|prog, mem| run_conformance(prog, mem).map(|r| r.r0).map_err(EngineError::Interp))
    }

    /// Runs the test as its JIT image (after the verifier's division rewrites) in the x86-64
    /// executor, and judges it.
    pub fn run_jit_emu(&self, profile: &crate::kernel::profile::Profile) -> Outcome {
        self.judge_with(|prog, mem| {
            crate::jit::run::run_conformance(prog, mem, profile)
                .map(|r| r.r0)
                .map_err(EngineError::Jit)
        })
    }

    /// Judges the test with an engine: `run(program, memory)` returns r0 or why not.
    pub fn judge_with(&self, run: impl FnOnce(&[Insn], Vec<u8>) -> Result<u64, EngineError>) -> Outcome {
        if let Some(s) = &self.skip {
            return Outcome::Skip(s.clone());
        }
        let prog = match self.program() {
            Ok(p) if p.is_empty() => return Outcome::Skip(SkipReason::NoInstructions),
            Ok(p) => p,
            Err(e) => {
                return match &self.error {
                    Some(_) => Outcome::Pass,
                    None => Outcome::Fail(Failure::Program(e)),
                }
            }
        };
        let r = run(&prog, self.mem.clone());
        if let (Err(e), None) = (&r, &self.error) {
            if let Some(k) = known_difference(e) {
                return Outcome::Known(k);
            }
        }
        match (r, self.result, &self.error) {
            (Ok(r0), Some(want), _) if r0 == want => Outcome::Pass,
            (Ok(r0), Some(want), _) => Outcome::Fail(Failure::Result { r0, want }),
            (Ok(r0), None, Some(e)) => Outcome::Fail(Failure::ErrorExpected { r0, error: e.clone() }),
            (Err(_), _, Some(_)) => Outcome::Pass,
            (Err(e), _, None) => Outcome::Fail(Failure::Run(e)),
            (Ok(_), None, None) => Outcome::Skip(SkipReason::NothingToCheck),
        }
    }
}

/// `BPF_JMP | BPF_CALL | BPF_X`.
const CALLX: u8 = 0x8d;

/// The listed difference an engine's error stands for, if it is one.
fn known_difference(e: &EngineError) -> Option<KnownDifference> {
    use crate::jit::run::JitRunError;
    use crate::jit::JitErrorKind;
    let EngineError::Jit(e) = e else { return None };
    match e {
        JitRunError::Jit(crate::jit::JitError {
            kind: JitErrorKind::UnknownOpcode { code: CALLX },
            ..
        }) => Some(KnownDifference::JitRefusesCallx),
        JitRunError::Fixup(crate::kernel::miscfix::MiscFixError::DivByZero { .. }) => {
            Some(KnownDifference::VerifierRefusesDivByZero)
        }
        _ => None,
    }
}

/// Parses the plugin protocol's hex text (pairs of hex digits separated by any whitespace).
pub fn parse_hex_bytes(text: &str) -> Result<Vec<u8>, HexError> {
    let digits: Vec<u8> = text.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
    if !digits.len().is_multiple_of(2) {
        return Err(HexError::OddDigits { digits: digits.len() });
    }
    digits
        .chunks(2)
        .enumerate()
        .map(|(offset, p)| {
            std::str::from_utf8(p)
                .ok()
                .and_then(|s| u8::from_str_radix(s, 16).ok())
                .ok_or_else(|| HexError::BadByte {
                    pair: String::from_utf8_lossy(p).into_owned(),
                    offset,
                })
        })
        .collect()
}
