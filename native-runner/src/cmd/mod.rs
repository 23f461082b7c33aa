//! One module per subcommand.

pub mod asm;
pub mod check;
pub mod conformance;
pub mod emu_side;
pub mod error;
pub mod jit;
pub mod kat;
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
use fsession_core::kernel::profile::Profile;
use fsession_core::scenario::Scenario;
use std::path::Path;

/// A verdict's exit status, or why there is none (reported as one line on stderr with exit
/// code 2).
pub type CmdResult = Result<std::process::ExitCode, CmdError>;

/// A scenario file, read and parsed, with its text and its profile (`profile` overrides the
/// scenario's; a relative profile path is taken against the scenario's directory).
pub fn load_scenario(path: &Path, profile: Option<&str>) -> Result<(Scenario, String, Profile), CmdError> {
    let text = std::fs::read_to_string(path).map_err(|source| CmdError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    let scenario = Scenario::parse(&text).map_err(error::scenario_error(path))?;
    let prof = profiles::load(profile.unwrap_or(&scenario.profile), path.parent()).map_err(|error| {
        CmdError::ScenarioProfile {
            path: path.to_path_buf(),
            error,
        }
    })?;
    Ok((scenario, text, prof))
}
