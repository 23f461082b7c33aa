//! One module per subcommand.

pub mod asm;
pub mod check;
pub mod conformance;
pub mod error;
pub mod oracle;
pub mod plugin;
pub mod profiles;
#[cfg(target_arch = "x86_64")]
pub mod run;
#[cfg(not(target_arch = "x86_64"))]
#[path = "run_elsewhere.rs"]
pub mod run;
pub mod run_args;
pub mod show;

pub use error::CmdError;

/// A verdict's exit status, or why there is none (reported as one line on stderr with exit
/// code 2).
pub type CmdResult = Result<std::process::ExitCode, CmdError>;
