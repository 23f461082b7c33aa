//! `fsession-lab show SCENARIO`: the stack layout, the annotated trampoline listing, what each
//! program sees in each pass, and the contract check.

use super::CmdResult;
use fsession_core::kernel::link::flags;
use fsession_core::scenario::Scenario;
use fsession_core::show::{show, ShowReport};
use fsession_core::tramp::build::Placement;
use fsession_core::tramp::listing::{render, AsmSyntax};
use fsession_core::tramp::Pass;
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
pub fn load_and_show(path: &std::path::Path, profile: Option<&str>, syntax: AsmSyntax) -> Result<ShowReport, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let scenario =
        Scenario::parse(&text).map_err(|e| format!("{}:{}:{}: {}", path.display(), e.line, e.column, e.message))?;
    let prof = super::profiles::load(profile.unwrap_or(&scenario.profile), path.parent())
        .map_err(|e| format!("{}: profile: {e}", path.display()))?;
    show(&scenario, &text, &prof, &Placement::default(), syntax)
        .map_err(|e| format!("{}:{}:{}: {}", path.display(), e.line, e.column, e.message))
}

fn print(r: &ShowReport, bytes: bool) {
    let c = &r.check;
    if !c.description.is_empty() {
        println!("{}", c.description);
    }
    println!("profile {}, function {}", c.profile.name, c.function.prototype());
    match &r.encoded {
        Err(e) => println!("no trampoline: {e}"),
        Ok(enc) => {
            println!(
                "flags {}, {} mode, {} bytes of code (arch_bpf_trampoline_size {}), frame {} bytes",
                flags::names(r.spec.flags),
                if enc.jmp_mode { "jmp" } else { "call" },
                enc.bytes.len(),
                enc.size,
                enc.layout.stack_size
            );
            println!();
            println!("stack frame (ctx = rbp{:+}):", -enc.layout.regs_off);
            println!(
                "  {:<18} {:>8} {:>5}  {:<8}  condition",
                "slot", "rbp off", "size", "ctx"
            );
            for s in enc.layout.slots.iter().rev() {
                println!(
                    "  {:<18} {:>8} {:>5}  {:<8}  {}",
                    s.name,
                    format!("{:+}", s.rbp_off),
                    s.size,
                    s.ctx.as_deref().unwrap_or("-"),
                    s.condition
                );
            }
            println!();
            println!("trampoline at {:#x}:", r.spec.addrs.image);
            print!("{}", render(&r.listing, bytes));
            println!();
            println!("what each program sees:");
            println!(
                "  {:<12} {:<9} {:<8} {:>20}  {:>7} {:>7} {:>9}",
                "program", "attach", "pass", "ctx[-1]", "nr_args", "cookie", "is_return"
            );
            for (inv, line) in enc.invocations.iter().zip(&r.contract.lines) {
                let pass = match inv.pass {
                    Pass::Entry => "entry",
                    Pass::ModifyReturn => "fmod_ret",
                    Pass::Exit => "exit",
                };
                let cookie = line
                    .cookie_index
                    .map(|i| format!("ctx[-{i}]"))
                    .unwrap_or_else(|| "-".into());
                let ret = line
                    .is_return
                    .map(|b| (b as u8).to_string())
                    .unwrap_or_else(|| "-".into());
                println!(
                    "  {:<12} {:<9} {:<8} {:>#20x}  {:>7} {:>7} {:>9}",
                    inv.prog,
                    inv.attach.to_string(),
                    pass,
                    inv.func_meta,
                    line.nr_args,
                    cookie,
                    ret
                );
            }
            println!();
            if r.contract.holds() {
                println!(
                    "contract ({} verifier inlines vs this trampoline): holds for every program and pass",
                    c.profile.name
                );
            } else {
                println!(
                    "contract ({} verifier inlines vs this trampoline): VIOLATED",
                    c.profile.name
                );
                for l in &r.contract.lines {
                    for p in &l.problems {
                        println!("  - {p}");
                    }
                }
            }
        }
    }
    println!();
    if r.problems.is_empty() {
        println!("result: ok (every error was expected)");
    } else {
        println!("result: {} problem(s)", r.problems.len());
        for p in &r.problems {
            println!("  - {p}");
        }
    }
}

/// Runs `show`.
pub fn run(a: Args) -> CmdResult {
    let r = load_and_show(&a.scenario, a.profile.as_deref(), a.syntax)?;
    if a.json {
        println!("{}", serde_json::to_string_pretty(&r).map_err(|e| e.to_string())?);
    } else {
        print(&r, a.bytes);
    }
    Ok(if r.ok() { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}
