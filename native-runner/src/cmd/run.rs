//! `fsession-lab run SCENARIO` and `fsession-lab validate [PATH...]`: execute scenarios on this
//! machine, each in a child process, and check them against their expectations and the model.

use super::emu_side::{self, Engine};
use super::run_args::{RunArgs, ValidateArgs};
use super::{load_scenario, CmdError, CmdResult};
use fsession_core::emu::diff::Side;
use fsession_core::scenario::{Scenario, ScenarioError};
use fsession_runner::native::exec::ExecReport;
use fsession_runner::native::protocol::{ChildStderr, Fault};
use fsession_runner::native::report::RunProblem;
use fsession_runner::native::{child, exec, wasm};
use serde::Serialize;
use std::io::{IsTerminal, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

/// Time limit of one scenario.
const TIME_LIMIT: Duration = Duration::from_secs(20);

/// The verdict on one scenario.
#[derive(Clone, Debug, Serialize)]
pub struct Outcome {
    /// Scenario file.
    pub scenario: String,
    /// Passed.
    pub passed: bool,
    /// Problems (empty when passed).
    pub problems: Vec<Failure>,
    /// A fault in generated code or the traced function, mapped to the listing.
    pub fault: Option<Fault>,
    /// What happened, when the run completed.
    pub report: Option<ExecReport>,
}

/// Why a scenario did not pass.
#[derive(Clone, Debug, thiserror::Error, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Failure {
    /// The file does not read (the OS's message).
    #[error("cannot read: {message}")]
    Read {
        /// The OS's message.
        message: String,
    },
    /// The scenario does not parse.
    #[error("{0}")]
    Scenario(ScenarioError),
    /// The runner's own executable is not found (the OS's message).
    #[error("cannot find the runner: {message}")]
    NoRunner {
        /// The OS's message.
        message: String,
    },
    /// The child does not start (the OS's message).
    #[error("cannot start the child: {message}")]
    Spawn {
        /// The OS's message.
        message: String,
    },
    /// The child did not finish in time.
    #[error("no result within {seconds} s (killed)")]
    Timeout {
        /// The limit.
        seconds: u64,
    },
    /// The child's stderr holds a malformed protocol message.
    #[error("{message}")]
    Protocol {
        /// What is malformed.
        message: String,
    },
    /// A fault the scenario does not expect.
    #[error("fault: {0}")]
    Fault(Fault),
    /// The child failed without a fault report.
    #[error("the run failed ({status}): {stderr}")]
    Failed {
        /// The exit status.
        status: String,
        /// What the child wrote on stderr.
        stderr: String,
    },
    /// The child's report is not an [`ExecReport`].
    #[error("the child's report is unreadable: {message}")]
    Report {
        /// The JSON parser's message.
        message: String,
    },
    /// What the run found.
    #[error("{0}")]
    Run(RunProblem),
    /// What the run in the executor found.
    #[error("executor: {0}")]
    Executor(RunProblem),
    /// The executor could not run the scenario.
    #[error("executor: {message}")]
    ExecutorFailed {
        /// Its error.
        message: String,
    },
    /// The executor and the CPU disagree.
    #[error("executor vs hardware: {0}")]
    Differs(fsession_core::emu::diff::Difference),
}

/// `__exec`: the child side.
pub fn exec_child(path: &Path, profile: Option<&str>, via_wasm: bool, interp: bool) -> CmdResult {
    let (s, text, prof) = load_scenario(path, profile)?;
    let mut core = if via_wasm { Some(wasm::WasmCore::load()?) } else { None };
    let engine = if interp {
        exec::ProgEngine::Interp
    } else {
        exec::ProgEngine::Jit
    };
    let (world, note) = exec::build_with(&s, &text, &prof, core.as_mut(), engine)?;
    child::report_layout(&world);
    child::install_fault_handler();
    let mut report = exec::run(&s, &world)?;
    report.wasm = note;
    println!("{}", serde_json::to_string(&report)?);
    Ok(ExitCode::SUCCESS)
}

/// Runs one scenario in a child process (`via_wasm`: cross-checked against the wasm build, whose
/// serialised module the parent prepared).
pub fn run_one(path: &Path, profile: Option<&str>, via_wasm: bool, interp: bool) -> Outcome {
    let name = path.display().to_string();
    let fail = |problem: Failure, fault: Option<Fault>| Outcome {
        scenario: name.clone(),
        passed: false,
        problems: vec![problem],
        fault,
        report: None,
    };
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) => return fail(Failure::Read { message: e.to_string() }, None),
    };
    let scenario = match Scenario::parse(&text) {
        Ok(s) => s,
        Err(e) => return fail(Failure::Scenario(e), None),
    };
    let exe = match std::env::current_exe() {
        Ok(e) => e,
        Err(e) => return fail(Failure::NoRunner { message: e.to_string() }, None),
    };
    let mut cmd = Command::new(exe);
    cmd.arg("__exec")
        .arg(path)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if let Some(p) = profile {
        cmd.args(["--profile", p]);
    }
    if via_wasm {
        cmd.arg("--via-wasm");
    }
    if interp {
        cmd.arg("--interp");
    }
    let mut child = match cmd.spawn() {
        Ok(c) => c,
        Err(e) => return fail(Failure::Spawn { message: e.to_string() }, None),
    };
    let mut out = child.stdout.take().expect("piped");
    let mut err = child.stderr.take().expect("piped");
    let t_out = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = out.read_to_string(&mut s);
        s
    });
    let t_err = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = err.read_to_string(&mut s);
        s
    });
    let start = Instant::now();
    let status = loop {
        match child.try_wait() {
            Ok(Some(st)) => break Some(st),
            Ok(None) if start.elapsed() > TIME_LIMIT => {
                let _ = child.kill();
                let _ = child.wait();
                break None;
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(5)),
            Err(_) => break None,
        }
    };
    let stdout = t_out.join().unwrap_or_default();
    let stderr = t_err.join().unwrap_or_default();
    let Some(status) = status else {
        return fail(
            Failure::Timeout {
                seconds: TIME_LIMIT.as_secs(),
            },
            None,
        );
    };
    let child_err = match ChildStderr::parse(&stderr) {
        Ok(c) => c,
        Err(e) => return fail(Failure::Protocol { message: e.to_string() }, None),
    };
    if !status.success() {
        if let Some(f) = child_err.mapped_fault() {
            if scenario.expect.fault && f.in_body() {
                return Outcome {
                    scenario: name,
                    passed: true,
                    problems: vec![],
                    fault: Some(f),
                    report: None,
                };
            }
            return fail(Failure::Fault(f.clone()), Some(f));
        }
        let failed = Failure::Failed {
            status: status.to_string(),
            stderr: child_err.text.join(" ").trim().to_string(),
        };
        return fail(failed, None);
    }
    // The report is the child's whole answer: one that does not read is a failure.
    match serde_json::from_str::<ExecReport>(stdout.trim()) {
        Err(e) => fail(Failure::Report { message: e.to_string() }, None),
        Ok(report) => {
            let mut problems: Vec<Failure> = report.problems.iter().cloned().map(Failure::Run).collect();
            if scenario.expect.fault {
                problems.push(Failure::Run(RunProblem::NoFault));
            }
            Outcome {
                scenario: name,
                passed: problems.is_empty(),
                problems,
                fault: None,
                report: Some(report),
            }
        }
    }
}

/// Compiles the wasm build once and points the children at the serialised module.
fn prepare_wasm() -> Result<std::path::PathBuf, CmdError> {
    let out = std::env::temp_dir().join(format!("fsession-core-wasm-{}.cwasm", std::process::id()));
    wasm::compile_to_file(&wasm::default_module_path(), &out)?;
    // SAFETY: the environment is set before any child is spawned, while no other thread runs.
    unsafe { std::env::set_var(wasm::SERIALIZED_ENV, &out) };
    Ok(out)
}

fn print_outcome(o: &Outcome) {
    if let Some(r) = &o.report {
        if !r.description.is_empty() {
            println!("{}", r.description);
        }
        println!(
            "profile {}, function {} at {:#x}, trampoline at {:#x} ({} bytes)",
            r.profile, r.function, r.func_addr, r.tramp_addr, r.tramp_len
        );
        for (c, call) in r.calls.iter().enumerate() {
            let args: Vec<String> = call.words.iter().map(|w| format!("{w:#x}")).collect();
            println!("\ncall {c}: ({}) returned {:#x}", args.join(", "), call.ret);
            println!(
                "  {:<10} {:>18} {:>7} {:>6} {:>6}  {:<32} {:<24} r0",
                "program", "ctx[-1]", "nr_args", "cookie", "is_ret", "cookie at: before -> after", "args"
            );
            for ob in r.observations.iter().filter(|x| x.call == c) {
                let cookie = match (ob.cookie_ptr, ob.cookie_before, ob.cookie_after) {
                    (Some(p), Some(b), Some(a)) => format!("ctx-{}: {b:#x} -> {a:#x}", ob.ctx - p),
                    (Some(p), _, _) => format!("{p:#x} (outside the frame)"),
                    _ => "-".into(),
                };
                let args: Vec<String> = ob.args.iter().map(|a| format!("{a:#x}")).collect();
                let r0 = match &ob.r0 {
                    Ok(v) => format!("{v:#x}"),
                    Err(e) => format!("error: {e}"),
                };
                println!(
                    "  {:<10} {:>#18x} {:>7} {:>6} {:>6}  {:<32} {:<24} {}",
                    ob.prog,
                    ob.func_meta,
                    ob.decoded.0,
                    ob.decoded.1,
                    ob.decoded.2 as u8,
                    cookie,
                    args.join(","),
                    r0
                );
            }
        }
        for (m, words) in &r.data {
            let shown: Vec<String> = words.iter().map(|w| format!("{w:#x}")).collect();
            println!("\n{m}: [{}]", shown.join(", "));
        }
        let c: Vec<String> = r
            .counters
            .iter()
            .map(|(n, (runs, misses))| format!("{n}: {runs} runs, {misses} misses"))
            .collect();
        println!("counters: {}", c.join("; "));
        println!("__bpf_tramp_enter/exit: {} / {}", r.tramp_calls.0, r.tramp_calls.1);
        for v in &r.expected_violation {
            println!("expected violation: {v}");
        }
        if let Some(w) = &r.wasm {
            println!("{w}");
        }
    }
    if let Some(f) = &o.fault {
        println!("fault: {f}");
    }
    if o.passed {
        println!("\nresult: PASS");
    } else {
        println!("\nresult: FAIL");
        for p in &o.problems {
            println!("  - {p}");
        }
    }
}

/// `run`.
pub fn run(a: RunArgs) -> CmdResult {
    let tmp = if a.flags.via_wasm { Some(prepare_wasm()?) } else { None };
    let o = run_one(
        &a.scenario,
        a.flags.profile.as_deref(),
        a.flags.via_wasm,
        a.flags.interp,
    );
    if let Some(t) = tmp {
        let _ = std::fs::remove_file(t);
    }
    if a.flags.json {
        println!("{}", serde_json::to_string_pretty(&o)?);
    } else {
        print_outcome(&o);
    }
    Ok(if o.passed { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}

/// The hardware run's side of the comparison (`None` when it left no report).
fn hw_side<'a>(r: &'a ExecReport, data_len: u64) -> Side<'a> {
    Side {
        func: r.func_addr,
        data: r.data_addr,
        data_len,
        calls: &r.calls,
        observations: &r.observations,
        map_words: &r.data,
        counters: &r.counters,
        tramp_calls: r.tramp_calls,
        faulted: false,
    }
}

/// One scenario with the chosen engines; both: their observations compared.
fn validate_one(path: &Path, a: &ValidateArgs, engine: Engine) -> Outcome {
    let profile = a.flags.profile.as_deref();
    let mut o = run_one(path, profile, a.flags.via_wasm, a.flags.interp);
    if engine == Engine::Hw {
        return o;
    }
    let emu = match emu_side::run_file(path, profile, !a.flags.interp) {
        Ok(r) => r,
        Err(e) => {
            o.problems.push(Failure::ExecutorFailed { message: e.to_string() });
            o.passed = false;
            return o;
        }
    };
    o.problems.extend(emu.problems.iter().cloned().map(Failure::Executor));
    if engine == Engine::Both {
        let executor = emu_side::side(&emu);
        match (&o.report, &o.fault) {
            (Some(r), _) => {
                let hardware = hw_side(r, emu.data_area.1);
                let d = fsession_core::emu::diff::compare(&hardware, &executor, emu.encoded.as_ref());
                o.problems.extend(d.into_iter().map(Failure::Differs));
            }
            (None, Some(_)) if !executor.faulted => {
                o.problems
                    .push(Failure::Differs(fsession_core::emu::diff::Difference::Fault {
                        hardware: true,
                    }))
            }
            _ => {}
        }
    }
    o.passed = o.problems.is_empty();
    o
}

/// `validate`.
pub fn validate(a: ValidateArgs) -> CmdResult {
    let engine = a.engine.unwrap_or_else(Engine::default_here);
    let paths = if a.paths.is_empty() && a.random == 0 {
        let cands = [
            PathBuf::from("examples/scenarios"),
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/scenarios"),
        ];
        vec![cands
            .into_iter()
            .find(|p| p.is_dir())
            .ok_or(CmdError::NothingFound("no examples/scenarios directory; pass PATH"))?]
    } else {
        a.paths.clone()
    };
    let mut files = emu_side::scenario_files(paths)?;
    let random_dir = if a.random > 0 {
        let (dir, fs) = emu_side::write_random(a.random, a.seed)?;
        files.extend(fs);
        Some(dir)
    } else {
        None
    };
    if engine == Engine::Emu {
        let (passed, failed) = emu_side::validate_in_executor(&files, a.flags.profile.as_deref(), !a.flags.interp);
        if let Some(d) = &random_dir {
            let _ = std::fs::remove_dir_all(d);
        }
        println!("{passed} passed, {failed} failed in the executor");
        return Ok(if failed == 0 {
            ExitCode::SUCCESS
        } else {
            ExitCode::FAILURE
        });
    }
    let tmp = if a.flags.via_wasm { Some(prepare_wasm()?) } else { None };
    let tty = std::io::stderr().is_terminal();
    let mut outcomes = vec![];
    for (i, f) in files.iter().enumerate() {
        if tty {
            eprint!("\r[{}/{}] {:<60}", i + 1, files.len(), f.display());
            let _ = std::io::stderr().flush();
        }
        let o = validate_one(f, &a, engine);
        if !a.flags.json
            && (!o.passed || random_dir.is_none() || !f.starts_with(random_dir.as_deref().unwrap_or(Path::new(""))))
        {
            if tty {
                eprint!("\r{:<80}\r", "");
            }
            println!(
                "[{}/{}] {} {}",
                i + 1,
                files.len(),
                if o.passed { "PASS" } else { "FAIL" },
                f.display()
            );
            for p in &o.problems {
                println!("    - {p}");
            }
            if let Some(w) = o.report.as_ref().and_then(|r| r.wasm.as_ref()) {
                println!("    {w}");
            }
        }
        outcomes.push(o);
    }
    if tty {
        eprint!("\r{:<80}\r", "");
    }
    if let Some(t) = tmp {
        let _ = std::fs::remove_file(t);
    }
    // Failing random scenarios stay on disk to be rerun; passing ones are removed.
    if let Some(d) = &random_dir {
        for (f, o) in files.iter().zip(&outcomes) {
            if o.passed && f.starts_with(d) {
                let _ = std::fs::remove_file(f);
            }
        }
        let _ = std::fs::remove_dir(d);
    }
    let passed = outcomes.iter().filter(|o| o.passed).count();
    let failed = outcomes.len() - passed;
    if a.flags.json {
        println!("{}", serde_json::to_string_pretty(&outcomes)?);
    } else {
        let what = if engine == Engine::Hw {
            "on this CPU"
        } else {
            "on this CPU and in the executor, observations compared"
        };
        let random = if a.random > 0 {
            format!(" ({} random, seeds {}..{})", a.random, a.seed, a.seed + a.random)
        } else {
            String::new()
        };
        println!("{passed} passed, {failed} failed {what}{random}");
    }
    Ok(if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
