//! `fsession-lab profiles [list|show P|diff A B]`, and profile loading shared by other commands.

use super::error::ProfileLoadError;
use super::CmdResult;
use fsession_core::kernel::profile::Profile;
use std::path::Path;
use std::process::ExitCode;

/// Loads a profile: a shipped name, or a TOML/JSON file (relative paths against `base`).
pub fn load(spec: &str, base: Option<&Path>) -> Result<Profile, ProfileLoadError> {
    if let Ok(p) = Profile::by_name(spec) {
        return Ok(p);
    }
    let looks_like_file = spec.ends_with(".toml") || spec.ends_with(".json") || spec.contains('/');
    if !looks_like_file {
        return Profile::by_name(spec).map_err(ProfileLoadError::Unknown);
    }
    let path = match base {
        Some(b) if Path::new(spec).is_relative() => b.join(spec),
        _ => Path::new(spec).to_path_buf(),
    };
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(source) => return Err(ProfileLoadError::Read { path, source }),
    };
    let parsed = if spec.ends_with(".json") {
        Profile::from_json(&text)
    } else {
        Profile::from_toml(&text)
    };
    parsed.map_err(|error| ProfileLoadError::Parse { path, error })
}

/// Arguments of `profiles`.
#[derive(clap::Args)]
pub struct Args {
    #[command(subcommand)]
    action: Option<Action>,
}

#[derive(clap::Subcommand)]
enum Action {
    /// List the shipped profiles (the default).
    List,
    /// Print a profile (shipped name or file) as TOML, or JSON with --json.
    Show {
        /// Profile name or file.
        profile: String,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Show the fields in which two profiles differ.
    Diff {
        /// First profile.
        a: String,
        /// Second profile.
        b: String,
    },
}

/// Runs `profiles`.
pub fn run(a: Args) -> CmdResult {
    match a.action.unwrap_or(Action::List) {
        Action::List => {
            for p in Profile::shipped() {
                println!("{:<22} {}", p.name, p.description);
            }
        }
        Action::Show { profile, json } => {
            let p = load(&profile, None)?;
            if json {
                println!("{}", serde_json::to_string_pretty(&p)?);
            } else {
                print!("{}", p.to_toml());
            }
        }
        Action::Diff { a, b } => {
            let (pa, pb) = (load(&a, None)?, load(&b, None)?);
            let d = pa.diff(&pb);
            if d.is_empty() {
                println!("{} and {} agree on every field", pa.name, pb.name);
            } else {
                let w = d.iter().map(|(f, _, _)| f.len()).max().unwrap_or(5).max(5);
                println!("{:<w$}  {:<20} {}", "field", pa.name, pb.name);
                for (f, x, y) in d {
                    println!("{f:<w$}  {x:<20} {y}");
                }
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
