//! `fsession-lab conformance [PATH...]`.

use super::{CmdError, CmdResult};
use fsession_core::conformance::{parse_data, EngineError, Outcome, TestCase};
use fsession_core::isa::Insn;
use fsession_core::kernel::profile::Profile;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Arguments of `conformance`.
#[derive(clap::Args)]
pub struct Args {
    /// `.data` files or directories of them (default: $FSESSION_CONFORMANCE_DIR, else
    /// ../shared/conformance/tests from the current directory or the source tree).
    paths: Vec<PathBuf>,
    /// Also print a line for every passing test.
    #[arg(short, long)]
    verbose: bool,
    /// What runs the programs.
    #[arg(long, value_enum, default_value_t = Engine::Interp)]
    pub engine: Engine,
    /// The kernel profile whose JIT compiles the programs (`--engine jit`, `jit-emu`).
    #[arg(long, default_value = "linux-6.18")]
    pub profile: String,
}

/// What runs a conformance program.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Engine {
    /// The interpreter.
    Interp,
    /// The kernel's JIT image (after the verifier's rewrites) on this CPU.
    Jit,
    /// The JIT image in the model's x86-64 executor.
    JitEmu,
}

/// Runs one program with `engine`: r0, or why not.
pub fn run_engine(engine: Engine, prog: &[Insn], mem: Vec<u8>, profile: &Profile) -> Result<u64, EngineError> {
    match engine {
        Engine::Interp => fsession_core::interp::run_conformance(prog, mem)
            .map(|r| r.r0)
            .map_err(EngineError::Interp),
        Engine::JitEmu => fsession_core::jit::run::run_conformance(prog, mem, profile)
            .map(|r| r.r0)
            .map_err(EngineError::Jit),
        Engine::Jit => native_jit(prog, &mem, profile),
    }
}

#[cfg(target_arch = "x86_64")]
fn native_jit(prog: &[Insn], mem: &[u8], profile: &Profile) -> Result<u64, EngineError> {
    use fsession_runner::native::jit::{run_conformance, NativeJitError};
    match run_conformance(prog, mem, profile) {
        Ok((r0, _)) => Ok(r0),
        Err(NativeJitError::Prepare(e)) => Err(EngineError::Jit(e)),
        Err(e) => Err(EngineError::Native(e.to_string())),
    }
}

#[cfg(not(target_arch = "x86_64"))]
fn native_jit(_: &[Insn], _: &[u8], _: &Profile) -> Result<u64, EngineError> {
    Err(EngineError::Native(
        "JIT images run natively on x86-64 only; use --engine jit-emu".into(),
    ))
}

/// Judges one test with `engine`.
pub fn judge(tc: &TestCase, engine: Engine, profile: &Profile) -> Outcome {
    tc.judge_with(|prog, mem| run_engine(engine, prog, mem, profile))
}

/// Where the suite is by default, if anywhere.
pub fn default_suite_dir() -> Option<PathBuf> {
    if let Ok(d) = std::env::var("FSESSION_CONFORMANCE_DIR") {
        return Some(PathBuf::from(d));
    }
    let candidates = [
        PathBuf::from("../shared/conformance/tests"),
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/conformance/tests"),
    ];
    candidates.into_iter().find(|p| p.is_dir())
}

fn collect(paths: &[PathBuf]) -> Result<Vec<PathBuf>, CmdError> {
    let mut files = Vec::new();
    for p in paths {
        if p.is_dir() {
            let rd = std::fs::read_dir(p).map_err(|source| CmdError::Read {
                path: p.clone(),
                source,
            })?;
            let mut v: Vec<PathBuf> = rd
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|f| f.extension().is_some_and(|x| x == "data"))
                .collect();
            v.sort();
            files.extend(v);
        } else if p.is_file() {
            files.push(p.clone());
        } else {
            return Err(CmdError::NoSuchPath { path: p.clone() });
        }
    }
    Ok(files)
}

/// What became of one `.data` file.
enum FileOutcome {
    /// It cannot be read.
    Unreadable(std::io::Error),
    /// It is not a `.data` file.
    Unparsable(fsession_core::conformance::DataError),
    /// It was judged.
    Ran(Outcome),
}

/// Runs the files and prints failures and a summary.
pub fn run(args: Args) -> CmdResult {
    let paths = if args.paths.is_empty() {
        vec![default_suite_dir().ok_or(CmdError::NothingFound(
            "no conformance suite found; pass PATH or set FSESSION_CONFORMANCE_DIR",
        ))?]
    } else {
        args.paths
    };
    let files = collect(&paths)?;
    let profile = super::profiles::load(&args.profile, None)?;
    let mut known = 0;
    if files.is_empty() {
        return Err(CmdError::NothingFound("no .data files found"));
    }
    let (mut passed, mut failed, mut skipped) = (0, 0, 0);
    for f in &files {
        let name = f.display();
        let outcome = match std::fs::read_to_string(f) {
            Err(e) => FileOutcome::Unreadable(e),
            Ok(text) => match parse_data(&text) {
                Ok(tc) => FileOutcome::Ran(judge(&tc, args.engine, &profile)),
                Err(e) => FileOutcome::Unparsable(e),
            },
        };
        match outcome {
            FileOutcome::Ran(Outcome::Pass) => {
                passed += 1;
                if args.verbose {
                    println!("PASS {name}");
                }
            }
            FileOutcome::Ran(Outcome::Fail(why)) => {
                failed += 1;
                println!("FAIL {name}: {why}");
            }
            FileOutcome::Unreadable(e) => {
                failed += 1;
                println!("FAIL {name}: cannot read: {e}");
            }
            FileOutcome::Unparsable(e) => {
                failed += 1;
                println!("FAIL {name}: cannot parse: {e}");
            }
            FileOutcome::Ran(Outcome::Skip(why)) => {
                skipped += 1;
                println!("SKIP {name}: {why}");
            }
            FileOutcome::Ran(Outcome::Known(why)) => {
                known += 1;
                println!("KNOWN {name}: {why}");
            }
        }
    }
    let known = if known > 0 {
        format!(", {known} known difference{}", if known == 1 { "" } else { "s" })
    } else {
        String::new()
    };
    println!("{passed} passed, {failed} failed, {skipped} skipped{known}");
    Ok(if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
