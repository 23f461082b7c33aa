//! The arguments of `run` and `validate`, on every target (the commands themselves need x86-64).

use std::path::PathBuf;

/// How `run` and `validate` run each scenario.
#[derive(clap::Args)]
pub struct RunFlags {
    /// Use this profile instead of each scenario's.
    #[arg(long)]
    pub profile: Option<String>,
    /// Print the outcomes as JSON.
    #[arg(long)]
    pub json: bool,
    /// Cross-check against the wasm build of fsession-core in wasmtime and execute its bytes.
    #[arg(long)]
    pub via_wasm: bool,
}

/// Arguments of `run`.
#[derive(clap::Args)]
pub struct RunArgs {
    /// Scenario file.
    pub scenario: PathBuf,
    #[command(flatten)]
    pub flags: RunFlags,
}

/// Arguments of `validate`.
#[derive(clap::Args)]
pub struct ValidateArgs {
    /// Scenario files or directories (default: examples/scenarios).
    pub paths: Vec<PathBuf>,
    #[command(flatten)]
    pub flags: RunFlags,
}
