//! `asm`, `disasm` and `exec`: the instruction set tools.

use super::{CmdError, CmdResult};
use fsession_core::asm::{assemble, disassemble, disassemble_numbered, Syntax};
use fsession_core::conformance::parse_hex_bytes;
use fsession_core::interp::run_conformance;
use fsession_core::isa::{decode, encode, Insn};
use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;

fn read_input(path: &Option<PathBuf>) -> Result<Vec<u8>, CmdError> {
    match path {
        Some(p) if p.as_os_str() != "-" => std::fs::read(p).map_err(|source| CmdError::Read {
            path: p.clone(),
            source,
        }),
        _ => {
            let mut v = Vec::new();
            std::io::stdin().read_to_end(&mut v).map_err(|source| CmdError::Stdio {
                stream: "stdin",
                source,
            })?;
            Ok(v)
        }
    }
}

/// The input as text.
fn read_text_input(path: &Option<PathBuf>) -> Result<String, CmdError> {
    String::from_utf8(read_input(path)?).map_err(|_| CmdError::NotUtf8 { input: name(path) })
}

/// Assembles text read from `path`.
fn assemble_input(text: &str, syntax: Syntax, path: &Option<PathBuf>) -> Result<Vec<Insn>, CmdError> {
    assemble(text, syntax).map_err(|error| CmdError::Assemble {
        input: name(path),
        error,
    })
}

fn name(path: &Option<PathBuf>) -> String {
    path.as_ref()
        .map(|p| p.display().to_string())
        .unwrap_or_else(|| "<stdin>".into())
}

/// Output forms of `asm`.
#[derive(Clone, Copy, clap::ValueEnum)]
pub enum AsmOutput {
    /// Hex bytes, one instruction slot per line.
    Hex,
    /// Raw little-endian bytes.
    Raw,
    /// Text in the kernel syntax.
    Kernel,
    /// Text in the conformance syntax.
    Conformance,
}

/// Arguments of `asm`.
#[derive(clap::Args)]
pub struct AsmArgs {
    /// Source file (default: stdin).
    file: Option<PathBuf>,
    /// Input syntax.
    #[arg(long, default_value = "kernel")]
    syntax: Syntax,
    /// Output form.
    #[arg(long, value_enum, default_value = "hex")]
    to: AsmOutput,
}

fn print_program(insns: &[Insn], to: AsmOutput, input: &Option<PathBuf>) -> Result<(), CmdError> {
    let mut out = std::io::stdout().lock();
    let res = match to {
        AsmOutput::Raw => out.write_all(&encode(insns)),
        AsmOutput::Hex => insns.iter().try_for_each(|i| {
            let b = i.to_bytes();
            writeln!(
                out,
                "{}",
                b.iter().map(|x| format!("{x:02x}")).collect::<Vec<_>>().join(" ")
            )
        }),
        AsmOutput::Kernel | AsmOutput::Conformance => {
            let syntax = if matches!(to, AsmOutput::Kernel) {
                Syntax::Kernel
            } else {
                Syntax::Conformance
            };
            let text = disassemble(insns, syntax).map_err(|error| CmdError::Decode {
                input: name(input),
                error,
            })?;
            out.write_all(text.as_bytes())
        }
    };
    res.map_err(|source| CmdError::Stdio {
        stream: "stdout",
        source,
    })
}

/// Assembles a file.
pub fn asm(a: AsmArgs) -> CmdResult {
    let text = read_text_input(&a.file)?;
    let insns = assemble_input(&text, a.syntax, &a.file)?;
    print_program(&insns, a.to, &a.file)?;
    Ok(ExitCode::SUCCESS)
}

/// Input forms of `disasm` and `exec`.
#[derive(Clone, Copy, clap::ValueEnum)]
pub enum ProgInput {
    /// Raw bytes if the file is not hex text, else hex.
    Auto,
    /// Hex text (pairs of digits, any whitespace).
    Hex,
    /// Raw little-endian bytes.
    Raw,
}

/// Arguments of `disasm`.
#[derive(clap::Args)]
pub struct DisasmArgs {
    /// Program file (default: stdin).
    file: Option<PathBuf>,
    /// Input form.
    #[arg(long = "from", value_enum, default_value = "auto")]
    from: ProgInput,
    /// Output syntax.
    #[arg(long, default_value = "kernel")]
    syntax: Syntax,
    /// Prefix each line with its slot index (bpftool style).
    #[arg(short = 'n', long)]
    numbered: bool,
}

fn read_program(file: &Option<PathBuf>, from: ProgInput) -> Result<Vec<Insn>, CmdError> {
    let data = read_input(file)?;
    let is_hex_text = data.iter().all(|b| b.is_ascii_hexdigit() || b.is_ascii_whitespace());
    let hex = |data: &[u8]| {
        parse_hex_bytes(&String::from_utf8_lossy(data)).map_err(|error| CmdError::Hex {
            input: name(file),
            error,
        })
    };
    let bytes = match from {
        ProgInput::Raw => data,
        ProgInput::Hex => hex(&data)?,
        ProgInput::Auto if is_hex_text && !data.is_empty() => hex(&data)?,
        ProgInput::Auto => data,
    };
    decode(&bytes).map_err(|error| CmdError::Decode {
        input: name(file),
        error,
    })
}

/// Disassembles a file.
pub fn disasm(a: DisasmArgs) -> CmdResult {
    let insns = read_program(&a.file, a.from)?;
    let text = if a.numbered {
        disassemble_numbered(&insns, a.syntax)
    } else {
        disassemble(&insns, a.syntax)
    }
    .map_err(|error| CmdError::Decode {
        input: name(&a.file),
        error,
    })?;
    print!("{text}");
    Ok(ExitCode::SUCCESS)
}

/// Arguments of `exec`.
#[derive(clap::Args)]
pub struct ExecArgs {
    /// Program source (text in --syntax) or, with --from, a binary/hex program.
    file: Option<PathBuf>,
    /// Syntax of a text program.
    #[arg(long, default_value = "kernel")]
    syntax: Syntax,
    /// Read a binary or hex program instead of text.
    #[arg(long = "from", value_enum)]
    from: Option<ProgInput>,
    /// Input memory as hex bytes (r1 points to it, r2 holds its length).
    #[arg(long, default_value = "")]
    mem: String,
    /// The program must state its result in a comment line `expect: r0 = N` (decimal, 0x hex
    /// or negative), and r0 must equal it: exit status 1 otherwise.
    #[arg(long)]
    check: bool,
}

/// A malformed `expect:` line.
#[derive(Debug, thiserror::Error)]
pub enum ExpectLineError {
    /// Not `expect: r0 = N`.
    #[error("line {line}: expected `expect: r0 = N`")]
    Form {
        /// 1-based line.
        line: usize,
    },
    /// N is not a number.
    #[error("line {line}: '{value}' is not a number: {source}")]
    Number {
        /// 1-based line.
        line: usize,
        /// What the line says.
        value: String,
        /// Why it is not a number.
        #[source]
        source: std::num::ParseIntError,
    },
}

/// The result a program's text states: a comment line `expect: r0 = N` (`//`, `;` or `#`).
fn stated_r0(text: &str) -> Result<Option<u64>, ExpectLineError> {
    for (i, line) in text.lines().enumerate() {
        let l = line.trim_start();
        let Some(c) = ["//", ";", "#"].iter().find_map(|m| l.strip_prefix(m)) else {
            continue;
        };
        let Some(rest) = c.trim().strip_prefix("expect:") else {
            continue;
        };
        let v = rest
            .trim()
            .strip_prefix("r0")
            .and_then(|r| r.trim_start().strip_prefix('='))
            .map(str::trim)
            .ok_or(ExpectLineError::Form { line: i + 1 })?;
        let parsed = match v.strip_prefix('-') {
            Some(d) => d.parse::<u64>().map(u64::wrapping_neg),
            None => match v.strip_prefix("0x") {
                Some(h) => u64::from_str_radix(h, 16),
                None => v.parse::<u64>(),
            },
        };
        return parsed.map(Some).map_err(|source| ExpectLineError::Number {
            line: i + 1,
            value: v.to_string(),
            source,
        });
    }
    Ok(None)
}

/// Executes a program.
pub fn exec(a: ExecArgs) -> CmdResult {
    let (insns, stated) = match a.from {
        Some(f) => (read_program(&a.file, f)?, None),
        None => {
            let text = read_text_input(&a.file)?;
            let stated = stated_r0(&text).map_err(|error| CmdError::Expect {
                input: name(&a.file),
                error,
            })?;
            (assemble_input(&text, a.syntax, &a.file)?, stated)
        }
    };
    if a.check && stated.is_none() {
        return Err(CmdError::NothingStated { input: name(&a.file) });
    }
    let mem = parse_hex_bytes(&a.mem).map_err(|error| CmdError::Hex {
        input: "--mem".into(),
        error,
    })?;
    match run_conformance(&insns, mem) {
        Ok(r) => {
            println!(
                "r0 = {:#x} ({}), {} instructions executed",
                r.r0, r.r0 as i64, r.executed
            );
            match stated {
                Some(want) if want != r.r0 => {
                    println!("FAIL: the program states r0 = {want:#x} ({})", want as i64);
                    Ok(ExitCode::FAILURE)
                }
                Some(_) => {
                    println!("ok: r0 as the program states");
                    Ok(ExitCode::SUCCESS)
                }
                None => Ok(ExitCode::SUCCESS),
            }
        }
        Err(e) => {
            println!("error: {e}");
            Ok(ExitCode::FAILURE)
        }
    }
}
