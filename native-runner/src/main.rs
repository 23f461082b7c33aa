//! `fsession-lab`: the command-line front end of fsession-lab.

mod cmd;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

/// fsession-lab: the Linux fsession machinery (BPF programs, verifier fixups, trampolines),
/// visible and checkable without a kernel.
#[derive(Parser)]
#[command(name = "fsession-lab", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run bpf_conformance `.data` files through the interpreter or as JIT images.
    Conformance(cmd::conformance::Args),
    /// Act as a bpf_conformance plugin: program as hex on stdin, r0 in hex on stdout.
    #[command(name = "conformance-plugin", disable_help_flag = true)]
    ConformancePlugin(cmd::plugin::Args),
    /// Assemble a program (kernel or conformance syntax) to hex, raw bytes or the other syntax.
    Asm(cmd::asm::AsmArgs),
    /// Disassemble a program given as raw bytes or hex text.
    Disasm(cmd::asm::DisasmArgs),
    /// Execute a program in the interpreter with the conformance environment.
    Exec(cmd::asm::ExecArgs),
    /// Compile a program as the kernel's x86-64 JIT does and list its image (BPF instruction by
    /// BPF instruction, with the prologue, epilogue and call sites named).
    Jit(cmd::jit::Args),
    /// Check a scenario: verifier verdicts, programs before and after fixups, the link table.
    Check(cmd::check::Args),
    /// Run the x86-64 executor's known-answer rows in the executor and on this CPU.
    Kat(cmd::kat::Args),
    /// Check the model against captures of real kernels (trampolines, xlated programs).
    Oracle(cmd::oracle::Args),
    /// List, show and diff kernel profiles.
    Profiles(cmd::profiles::Args),
    /// Show a scenario's trampoline: stack layout, annotated listing, contract check.
    Show(cmd::show::Args),
    /// Execute a scenario on this machine and show what each program saw.
    Run(cmd::run_args::RunArgs),
    /// Execute many scenarios and check them (default: examples/scenarios).
    Validate(cmd::run_args::ValidateArgs),
    /// (internal) execute one scenario in this process; used by run and validate.
    #[command(name = "__exec", hide = true)]
    ExecChild(ExecChildArgs),
}

#[derive(clap::Args)]
struct ExecChildArgs {
    scenario: std::path::PathBuf,
    #[arg(long)]
    profile: Option<String>,
    #[arg(long)]
    via_wasm: bool,
    #[arg(long)]
    interp: bool,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Conformance(a) => cmd::conformance::run(a),
        Command::ConformancePlugin(a) => cmd::plugin::run(a),
        Command::Asm(a) => cmd::asm::asm(a),
        Command::Disasm(a) => cmd::asm::disasm(a),
        Command::Exec(a) => cmd::asm::exec(a),
        Command::Check(a) => cmd::check::run(a),
        Command::Jit(a) => cmd::jit::run(a),
        Command::Oracle(a) => cmd::oracle::run(a),
        Command::Kat(a) => cmd::kat::run(a),
        Command::Profiles(a) => cmd::profiles::run(a),
        Command::Show(a) => cmd::show::run(a),
        Command::Run(a) => cmd::run::run(a),
        Command::Validate(a) => cmd::run::validate(a),
        Command::ExecChild(a) => cmd::run::exec_child(&a.scenario, a.profile.as_deref(), a.via_wasm, a.interp),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("fsession-lab: {e}");
            ExitCode::from(2)
        }
    }
}
