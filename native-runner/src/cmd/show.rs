//! `fsession-lab show SCENARIO`: the stack layout, the annotated trampoline listing, what each
//! program sees in each pass, and the contract check.

use super::error::scenario_error;
use super::{load_scenario, CmdError, CmdResult};
use fsession_core::show::{render, show, ShowReport};
use fsession_core::tramp::build::Placement;
use fsession_core::tramp::listing::AsmSyntax;
use std::path::PathBuf;
use std::process::ExitCode;

/// Arguments of `show`.
#[derive(clap::Args)]
pub struct Args {
    /// Scenario file.
    scenario: PathBuf,
    /// Use this profile instead of the scenario's (shipped name or file).
    #[arg(long)]
    profile: Option<String>,
    /// Assembly syntax: intel or att.
    #[arg(long, default_value = "intel")]
    syntax: AsmSyntax,
    /// Show the bytes of each instruction.
    #[arg(long)]
    bytes: bool,
    /// Print the whole report as JSON.
    #[arg(long)]
    json: bool,
}

/// Loads a scenario and runs the whole pipeline.
pub fn load_and_show(path: &std::path::Path, profile: Option<&str>, syntax: AsmSyntax) -> Result<ShowReport, CmdError> {
    let (scenario, text, prof) = load_scenario(path, profile)?;
    show(&scenario, &text, &prof, &Placement::default(), syntax).map_err(scenario_error(path))
}

/// Runs `show`.
pub fn run(a: Args) -> CmdResult {
    let r = load_and_show(&a.scenario, a.profile.as_deref(), a.syntax)?;
    if a.json {
        println!("{}", serde_json::to_string_pretty(&r)?);
    } else {
        print!("{}", render(&r, a.bytes));
    }
    Ok(if r.ok() { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}
