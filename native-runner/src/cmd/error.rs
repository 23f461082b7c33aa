//! Why a command could not do its work: one typed error for every subcommand, printed by `main`
//! as one line on stderr (exit status 2).

use fsession_core::kernel::profile::ProfileError;
use fsession_core::scenario::ScenarioError;
use std::path::PathBuf;

/// Why a command failed before it could give a verdict.
#[derive(Debug, thiserror::Error)]
pub enum CmdError {
    /// A file or directory does not read.
    #[error("{}: {source}", path.display())]
    Read {
        /// The path.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// A path that is neither a file nor a directory.
    #[error("{}: no such file or directory", path.display())]
    NoSuchPath {
        /// The path.
        path: PathBuf,
    },
    /// Standard input or output failed.
    #[error("{stream}: {source}")]
    Stdio {
        /// `stdin` or `stdout`.
        stream: &'static str,
        /// The OS error.
        source: std::io::Error,
    },
    /// Input that must be text is not.
    #[error("{input}: not UTF-8 text")]
    NotUtf8 {
        /// The file, or `<stdin>`.
        input: String,
    },
    /// A scenario does not parse or check.
    #[error("{}:{}:{}: {}", path.display(), error.line, error.column, error.kind)]
    Scenario {
        /// The file.
        path: PathBuf,
        /// Where and why.
        error: ScenarioError,
    },
    /// A profile does not load.
    #[error(transparent)]
    Profile(#[from] ProfileLoadError),
    /// A scenario's profile does not load.
    #[error("{}: profile: {error}", path.display())]
    ScenarioProfile {
        /// The scenario file.
        path: PathBuf,
        /// Why.
        error: ProfileLoadError,
    },
    /// A program does not assemble.
    #[error("{input}:{}:{}: {}", error.line, error.column, error.message)]
    Assemble {
        /// The file, or `<stdin>`.
        input: String,
        /// Where and why.
        error: fsession_core::asm::AsmError,
    },
    /// A program does not decode.
    #[error("{input}: {error}")]
    Decode {
        /// The file, or `<stdin>`.
        input: String,
        /// Why.
        error: fsession_core::isa::DecodeError,
    },
    /// Hex input does not give bytes.
    #[error("{input}: {error}")]
    Hex {
        /// The file, `<stdin>` or the option.
        input: String,
        /// Why.
        error: fsession_core::conformance::HexError,
    },
    /// A program's `expect:` line is malformed.
    #[error("{input}: {error}")]
    Expect {
        /// The file, or `<stdin>`.
        input: String,
        /// Why.
        error: super::asm::ExpectLineError,
    },
    /// `exec --check` on a program that states no result.
    #[error("{input}: --check: the program states no `expect: r0 = N`")]
    NothingStated {
        /// The file, or `<stdin>`.
        input: String,
    },
    /// Nothing to work on was found.
    #[error("{0}")]
    NothingFound(&'static str),
    /// The oracle command's own errors.
    #[error(transparent)]
    Oracle(#[from] super::oracle::OracleCmdError),
    /// JSON output failed.
    #[error("JSON output: {0}")]
    Json(#[from] serde_json::Error),
    /// Native execution (x86-64 only).
    #[cfg(target_arch = "x86_64")]
    #[error(transparent)]
    Exec(#[from] fsession_runner::native::exec::ExecError),
    /// The wasm build does not load.
    #[cfg(target_arch = "x86_64")]
    #[error(transparent)]
    Wasm(#[from] fsession_runner::native::wasm::LoadError),
    /// A command that executes x86-64 code, on another machine.
    #[cfg(not(target_arch = "x86_64"))]
    #[error("{command} executes x86-64 machine code and needs an x86-64 machine (this one is {arch}); check, show and oracle work here")]
    NeedsX86_64 {
        /// The command.
        command: &'static str,
        /// This machine's architecture.
        arch: &'static str,
    },
}

/// Why a profile (a shipped name or a file) does not load.
#[derive(Debug, thiserror::Error)]
pub enum ProfileLoadError {
    /// No shipped profile of that name, and not a file name.
    #[error(transparent)]
    Unknown(ProfileError),
    /// The file does not read.
    #[error("{}: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// The file is not a profile.
    #[error("{}: {error}", path.display())]
    Parse {
        /// The file.
        path: PathBuf,
        /// Why.
        error: ProfileError,
    },
}

/// The scenario error as this command reports it (with the file).
pub fn scenario_error(path: &std::path::Path) -> impl FnOnce(ScenarioError) -> CmdError + '_ {
    move |error| CmdError::Scenario {
        path: path.to_path_buf(),
        error,
    }
}
