//! `fsession-lab check SCENARIO`: the verifier's verdict, each program before and after fixups
//! side by side, and the trampoline's link table.

use super::error::scenario_error;
use super::{load_scenario, CmdResult};
use fsession_core::asm::{format_instr, Syntax};
use fsession_core::isa::{decode_program_internal, Insn};
use fsession_core::kernel::link::{flags, ListEntry};
use fsession_core::scenario::{CheckReport, ProgramReport};
use fsession_core::show::{self, ShowReport};
use fsession_core::tramp::build::Placement;
use fsession_core::tramp::listing::AsmSyntax;
use std::path::PathBuf;
use std::process::ExitCode;

/// Arguments of `check`.
#[derive(clap::Args)]
pub struct Args {
    /// Scenario file (TOML, see examples/README.md).
    scenario: PathBuf,
    /// Use this profile instead of the scenario's (shipped name or file).
    #[arg(long)]
    profile: Option<String>,
    /// Text syntax of the listings.
    #[arg(long, default_value = "kernel")]
    syntax: Syntax,
    /// Show each instruction's bytes.
    #[arg(long)]
    bytes: bool,
    /// Print the whole report as JSON.
    #[arg(long)]
    json: bool,
}

fn hex(i: &Insn) -> String {
    i.to_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(" ")
}

/// Lines `(index, text)` of a program, one per instruction (a `lddw` is one line).
fn lines(insns: &[Insn], syntax: Syntax, bytes: bool) -> Vec<(usize, String)> {
    match decode_program_internal(insns) {
        Ok(v) => v
            .into_iter()
            .map(|(i, ins)| {
                let t = format_instr(&ins, syntax);
                let t = if bytes {
                    format!("{:<23}  {t}", hex(&insns[i]))
                } else {
                    t
                };
                (i, t)
            })
            .collect(),
        Err(e) => vec![(e.index, format!("<{e}>"))],
    }
}

fn print_program(p: &ProgramReport, syntax: Syntax, bytes: bool) {
    let verdict = match (&p.asm_error, &p.verified) {
        (Some(e), _) => format!("does not assemble: line {}, column {}: {}", e.line, e.column, e.kind),
        (None, Some(Ok(v))) => {
            let mut calls = vec![];
            if v.call_session_cookie {
                calls.push("bpf_session_cookie (gets a cookie slot)");
            }
            if v.call_get_func_ip {
                calls.push("bpf_get_func_ip (IP_ARG)");
            }
            format!(
                "accepted, {} insns processed, stack {} bytes{}",
                v.processed,
                v.stack_depth,
                if calls.is_empty() {
                    String::new()
                } else {
                    format!("; calls {}", calls.join(", "))
                }
            )
        }
        (None, Some(Err(e))) => format!("REJECTED at insn {}: {} ({})", e.index, e.message, e.errno),
        (None, None) => "not loaded".into(),
    };
    println!("program {} ({}, cookie {}): {verdict}", p.name, p.attach, p.cookie);
    if p.asm_error.is_some() {
        return;
    }
    let before = lines(&p.program.insns, syntax, bytes);
    let fail_at = match &p.verified {
        Some(Err(e)) => Some(e.index),
        _ => None,
    };
    let Some(fixed) = &p.fixed else {
        for (i, t) in before {
            let mark = if Some(i) == fail_at { ">>" } else { "  " };
            println!("  {mark}{i:>4}  {t}");
        }
        return;
    };
    let after = lines(&fixed.insns, syntax, bytes);
    let w = before.iter().map(|(_, t)| t.len()).max().unwrap_or(10).max(14);
    println!(
        "  {:>4}  {:<w$}   {:>4}  after fixups ({} → {} slots)",
        "",
        "before fixups",
        "",
        p.program.insns.len(),
        fixed.insns.len()
    );
    let text = |v: &[(usize, String)], k: usize| {
        v.binary_search_by_key(&k, |(i, _)| *i)
            .map(|x| v[x].1.clone())
            .unwrap_or_default()
    };
    for row in fsession_core::kernel::fixup::join(&p.program.insns, fixed) {
        let left = match row.orig.filter(|_| row.first) {
            Some(i) => format!("{i:>4}  {:<w$}", text(&before, i)),
            None => format!("{:>4}  {:<w$}", "", ""),
        };
        let note = row.note.and_then(|n| fixed.notes.get(n));
        let link = match (note, row.first) {
            (Some(_), true) => "→",
            (Some(_), false) => "│",
            (None, _) => " ",
        };
        let right = match row.after {
            Some(j) => format!("{j:>4}  {}", text(&after, j)),
            None => format!("{:>4}  (removed)", ""),
        };
        let comment = match (note, row.first, row.orig) {
            (Some(n), true, _) => format!("   ; {}: {}", n.what, n.detail),
            (_, _, None) => "   ; added".into(),
            _ => String::new(),
        };
        println!("  {left} {link} {right}{comment}");
    }
}

fn entry_name(e: &ListEntry) -> String {
    let mut s = format!("{}{}", e.link.name, if e.shadow { "'" } else { "" });
    let mut tags = vec![e.link.attach.to_string()];
    if e.link.call_session_cookie {
        tags.push("cookie".into());
    }
    if e.link.call_get_func_ip {
        tags.push("ip".into());
    }
    s.push_str(&format!(" ({})", tags.join(", ")));
    s
}

fn print_report(shown: &ShowReport, syntax: Syntax, bytes: bool) {
    let r = &shown.check;
    if !r.description.is_empty() {
        println!("{}", r.description);
    }
    let mode = r.profile.mode;
    println!(
        "profile {} ({mode} mode), function {} [{} argument slot(s), return {} bytes]",
        r.profile.name,
        r.function.prototype(),
        r.function.nr_regs(),
        r.function.ret_size
    );
    println!();
    for p in &r.programs {
        print_program(p, syntax, bytes);
        println!();
    }
    println!("links, in attach order:");
    if r.link_ops.is_empty() {
        println!("  (none)");
    }
    for op in &r.link_ops {
        match &op.result {
            Ok(()) => println!("  {} {}: ok", op.op, op.program),
            Err(e) => println!("  {} {}: {e}", op.op, op.program),
        }
    }
    let t = &r.trampoline;
    println!();
    println!("trampoline lists (newest first):");
    for (name, list) in [("fentry", &t.fentry), ("fexit", &t.fexit), ("fmod_ret", &t.fmod_ret)] {
        let items: Vec<String> = list.iter().map(entry_name).collect();
        println!(
            "  {name:<8} {:>2}: {}",
            list.len(),
            if items.is_empty() { "-".into() } else { items.join(", ") }
        );
    }
    if t.is_empty() {
        println!("  no links: the function is not traced");
    } else {
        println!(
            "  slots {}/{} (an fsession counts twice), fsession programs {} ({} with cookies), flags {}",
            t.slots_used,
            r.profile.max_tramp_links,
            t.fsession_cnt,
            t.fsession_cookie_cnt,
            flags::names(t.flags)
        );
    }
    print!("{}", show::execution_text(shown));
    println!();
    if shown.problems.is_empty() {
        println!("result: ok (every error was expected)");
    } else {
        println!("result: {} problem(s)", shown.problems.len());
        for p in &shown.problems {
            println!("  - {p}");
        }
    }
}

/// `check --json`: the check report with the contract from execution beside it.
#[derive(serde::Serialize)]
struct CheckJson<'a> {
    #[serde(flatten)]
    check: &'a CheckReport,
    execution: &'a Option<Result<fsession_core::emu::verdict::ExecContract, fsession_core::emu::run::EmuError>>,
    result: &'a [fsession_core::scenario::Problem],
}

/// Runs `check`.
pub fn run(a: Args) -> CmdResult {
    let (scenario, text, profile) = load_scenario(&a.scenario, a.profile.as_deref())?;
    let shown = show::show(&scenario, &text, &profile, &Placement::default(), AsmSyntax::Intel)
        .map_err(scenario_error(&a.scenario))?;
    if a.json {
        let j = CheckJson {
            check: &shown.check,
            execution: &shown.execution,
            result: &shown.problems,
        };
        println!("{}", serde_json::to_string_pretty(&j)?);
    } else {
        print_report(&shown, a.syntax, a.bytes);
    }
    Ok(if shown.ok() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
