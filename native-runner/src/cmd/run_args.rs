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
    /// Run the programs in the interpreter instead of as their JIT images.
    #[arg(long)]
    pub interp: bool,
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
    /// Scenario files or directories (default: examples/scenarios, unless --random is given).
    pub paths: Vec<PathBuf>,
    #[command(flatten)]
    pub flags: RunFlags,
    /// Which engines run each scenario: hw (this CPU), emu (the executor in fsession-core) or
    /// both, with their observations compared (default: both on x86-64, emu elsewhere).
    #[arg(long, value_enum)]
    pub engine: Option<super::emu_side::Engine>,
    /// Also run this many seeded random scenarios.
    #[arg(long, default_value_t = 0)]
    pub random: u64,
    /// The first random scenario's seed.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
}
