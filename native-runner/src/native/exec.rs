//! Runs a scenario on this machine: the model's trampoline bytes, patched in front of a native
//! traced function, calling the programs through the interpreter, and checks what happened
//! against the scenario's expectations and the model's predictions.

use super::codegen::{self, Body};
use super::mem::CodeRegion;
use super::protocol::{Piece, PieceKind, PlacedLine};
use super::rt::{self, Frame, Observation, Runtime};
use fsession_core::api::{self, Answer, Request};
use fsession_core::isa::{decode_program, Imm64Kind, Instr};
use fsession_core::kernel::profile::{Mitigations, Profile};
use fsession_core::scenario::{check, ArgValue, CheckReport, Scenario};
use fsession_core::tramp::build::{spec_for, Placement};
use fsession_core::tramp::listing::{listing, AsmSyntax};
use fsession_core::tramp::{encode, Encoded};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Offsets of the pieces in the code region.
const OFF_SHIMS: usize = 0;
const SHIM_SIZE: usize = 64;
const OFF_CALLER: usize = 512;
const OFF_BODY: usize = 1024;
const OFF_STUB: usize = 2048;
const OFF_TRAMP: usize = 4096;
const REGION: usize = 4096 * 4;

/// One call's outcome.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct CallResult {
    /// Argument words as passed.
    pub words: Vec<u64>,
    /// Return value.
    pub ret: u64,
}

/// What happened on hardware.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ExecReport {
    /// Scenario description.
    pub description: String,
    /// Profile used.
    pub profile: String,
    /// The traced function's prototype.
    pub function: String,
    /// Where the traced function (its patched entry) is.
    pub func_addr: u64,
    /// Where the trampoline is.
    pub tramp_addr: u64,
    /// Trampoline size in bytes (0 if the function is not traced).
    pub tramp_len: usize,
    /// The calls.
    pub calls: Vec<CallResult>,
    /// Every program run, in order.
    pub observations: Vec<Observation>,
    /// Map contents after the calls, as u64 words.
    pub data: BTreeMap<String, Vec<u64>>,
    /// (runs, misses) per program.
    pub counters: BTreeMap<String, (u64, u64)>,
    /// `__bpf_tramp_enter` / `__bpf_tramp_exit` calls.
    pub tramp_calls: (u64, u64),
    /// Everything that differs from the expectations or the model.
    pub problems: Vec<String>,
    /// The contract check found the violation the scenario expects, and hardware showed it.
    pub expected_violation: Vec<String>,
    /// What the cross-check against the wasm build compared (with `--via-wasm`).
    #[serde(default)]
    pub wasm: Option<String>,
}

/// Pieces of the region, for mapping a fault address.
pub type Pieces = Vec<Piece>;

/// Everything built before the first call.
pub struct World {
    /// The code.
    pub region: CodeRegion,
    /// The check report.
    pub report: CheckReport,
    /// The trampoline, if any.
    pub encoded: Option<Encoded>,
    /// Pieces of the region.
    pub pieces: Pieces,
    /// The trampoline's listing, placed at its addresses.
    pub listing: Vec<PlacedLine>,
    /// The patched entry.
    pub stub: u64,
    /// The argument caller.
    pub caller: u64,
}

fn body_kind(s: &Scenario) -> Body {
    match s.function.body.as_deref() {
        Some("modify_return") => Body::ModifyReturn,
        Some("fault") => Body::Fault,
        _ => Body::Sum(s.function.bias),
    }
}

/// Relocates `lddw` of map values to real addresses (what the kernel's verifier does with map
/// fds) so the interpreter sees plain 64-bit immediates.
fn relocate(insns: &[fsession_core::isa::Insn], maps: &[Box<[u8]>]) -> Result<Vec<fsession_core::isa::Insn>, String> {
    let mut out = insns.to_vec();
    for (i, ins) in decode_program(insns).map_err(|e| e.to_string())? {
        if let Instr::LdImm64 {
            kind: Imm64Kind::MapValue | Imm64Kind::MapIdxValue,
            imm,
            imm2,
            ..
        } = ins
        {
            let m = maps
                .get(imm as usize)
                .ok_or(format!("insn {i}: map {imm} does not exist"))?;
            let addr = m.as_ptr() as u64 + imm2 as u64;
            out[i].src = 0;
            out[i].imm = addr as u32 as i32;
            out[i + 1].imm = (addr >> 32) as u32 as i32;
        }
    }
    Ok(out)
}

/// Why the wasm cross-check failed.
#[derive(Debug, thiserror::Error)]
pub enum CrossCheckError {
    /// The native build could not answer.
    #[error("{what}: {message}")]
    Native {
        /// What was asked.
        what: &'static str,
        /// The native answer's error.
        message: String,
    },
    /// The wasm build could not answer.
    #[error(transparent)]
    Ask(#[from] super::wasm::AskError),
    /// The two builds answered differently.
    #[error("the wasm build's {what} differ from the native build's{detail}")]
    Differs {
        /// What was asked.
        what: &'static str,
        /// The first differing line, when the answer is text.
        detail: String,
    },
}

/// Asks the wasm build and the native build the same question; their typed answers must be
/// equal. Returns the native answer.
fn same_answer(w: &mut super::wasm::WasmCore, req: &Request, what: &'static str) -> Result<Answer, CrossCheckError> {
    let native = api::answer(req);
    if let Answer::Error { message } = &native {
        return Err(CrossCheckError::Native {
            what,
            message: message.clone(),
        });
    }
    let wasm = w.ask(req)?;
    if wasm != native {
        return Err(CrossCheckError::Differs {
            what,
            detail: first_text_difference(&native, &wasm),
        });
    }
    Ok(native)
}

/// For rendered texts: the first line on which the two builds differ.
fn first_text_difference(native: &Answer, wasm: &Answer) -> String {
    let (Answer::Render(n), Answer::Render(w)) = (native, wasm) else {
        return String::new();
    };
    let texts = [(&n.intel, &w.intel), (&n.att, &w.att), (&n.markdown, &w.markdown)];
    let programs = n
        .programs
        .iter()
        .filter_map(|(k, a)| w.programs.get(k).map(|b| (&a.0, &b.0)));
    for (a, b) in texts.into_iter().chain(programs) {
        if let Some((x, y)) = a.lines().zip(b.lines()).find(|(x, y)| x != y) {
            return format!(": native `{}`, wasm `{}`", x.trim(), y.trim());
        }
    }
    let intel = n.explanations.iter().zip(&w.explanations).map(|(a, b)| (&a.0, &b.0));
    let att = n.explanations.iter().zip(&w.explanations).map(|(a, b)| (&a.1, &b.1));
    let progs = n
        .program_explanations
        .iter()
        .filter_map(|(k, a)| w.program_explanations.get(k).map(|b| (a, b)))
        .flat_map(|(a, b)| a.iter().zip(b));
    if let Some((x, y)) = intel.chain(att).chain(progs).find(|(x, y)| x != y) {
        return format!(": native explanation `{x}`, wasm `{y}`");
    }
    String::new()
}

/// The fixups, and everything the views render as text (listings in both syntaxes, programs in
/// both BPF syntaxes, ctx[-1], the contract, every explanation, the Markdown), from the wasm
/// build: equal to the native build's.
/// Returns the number of fixed programs compared.
fn wasm_fixups(w: &mut super::wasm::WasmCore, text: &str, profile: &Profile) -> Result<usize, CrossCheckError> {
    let fixed = match same_answer(
        w,
        &Request::Fixups {
            scenario: text.into(),
            profile: profile.clone(),
        },
        "fixups",
    )? {
        Answer::Fixups(f) => f.fixed.len(),
        _ => 0,
    };
    same_answer(
        w,
        &Request::Render {
            scenario: text.into(),
            profile: profile.clone(),
        },
        "rendered listings, programs, explanations and Markdown",
    )?;
    Ok(fixed)
}

/// Builds the code region and the runtime for a scenario. With `wasm`, the fixups and the
/// trampoline bytes also come from the wasm build, must equal the native ones, and the wasm
/// bytes are the ones executed.
pub fn build(s: &Scenario, text: &str, profile: &Profile) -> Result<World, String> {
    build_with(s, text, profile, None).map(|(w, _)| w)
}

/// [`build`], optionally cross-checked against the wasm build; returns what the check compared.
pub fn build_with(
    s: &Scenario,
    text: &str,
    profile: &Profile,
    mut wasm: Option<&mut super::wasm::WasmCore>,
) -> Result<(World, Option<String>), String> {
    let report = check(s, text, profile).map_err(|e| e.to_string())?;
    if report.trampoline.flags & fsession_core::kernel::link::flags::INDIRECT != 0 {
        return Err(
            "a struct_ops trampoline is called through its ops table, not patched into a traced function: \
             `show` and `oracle` cover it, native execution does not"
                .into(),
        );
    }
    let mut wasm_note = None;
    let fixed_checked = match wasm.as_deref_mut() {
        Some(w) => Some(wasm_fixups(w, text, profile).map_err(|e| e.to_string())?),
        None => None,
    };
    let mut region = CodeRegion::new(REGION)?;
    let base = region.addr();
    let shim_at = |k: usize| base + (OFF_SHIMS + k * SHIM_SIZE) as u64;
    let shims: [(&str, u64); 5] = [
        ("prog_enter", rt::prog_enter as *const () as u64),
        ("prog_exit", rt::prog_exit as *const () as u64),
        ("tramp_enter", rt::tramp_enter as *const () as u64),
        ("tramp_exit", rt::tramp_exit as *const () as u64),
        ("interp_entry", rt::interp_entry as *const () as u64),
    ];
    let mut pieces: Pieces = vec![];
    for (k, (name, target)) in shims.iter().enumerate() {
        let code = codegen::shim(shim_at(k), *target)?;
        region.write(OFF_SHIMS + k * SHIM_SIZE, &code)?;
        pieces.push(Piece {
            kind: PieceKind::Shim {
                target: name.to_string(),
            },
            start: shim_at(k),
            end: shim_at(k) + code.len() as u64,
        });
    }
    let caller = base + OFF_CALLER as u64;
    let code = codegen::caller(caller, &report.function)?;
    region.write(OFF_CALLER, &code)?;
    pieces.push(Piece {
        kind: PieceKind::ArgumentCaller,
        start: caller,
        end: caller + code.len() as u64,
    });
    let body = base + OFF_BODY as u64;
    let code = codegen::body(body, &report.function, body_kind(s))?;
    region.write(OFF_BODY, &code)?;
    pieces.push(Piece {
        kind: PieceKind::TracedBody {
            function: report.function.name.clone(),
        },
        start: body,
        end: body + code.len() as u64,
    });
    let stub = base + OFF_STUB as u64;
    // Maps and programs.
    let maps: Vec<Box<[u8]>> = s
        .maps
        .iter()
        .map(|m| vec![0u8; m.value_size as usize].into_boxed_slice())
        .collect();
    let mut progs = vec![];
    let mut ids = vec![];
    let mut index_of = BTreeMap::new();
    for (i, p) in report.programs.iter().enumerate() {
        if let (Some(f), Some(Ok(v))) = (&p.fixed, &p.verified) {
            let insns = relocate(&f.insns, &maps)?;
            index_of.insert(i, progs.len());
            ids.push(Box::new(progs.len() as u64));
            progs.push(rt::prog(&p.name, insns, v.call_session_cookie)?);
        }
    }
    let tramp = base + OFF_TRAMP as u64;
    let mut encoded = None;
    let mut listing_lines = vec![];
    if report.trampoline.is_empty() {
        // Not traced: the entry is a 5-byte nop, as ftrace leaves an unpatched site.
        let mut code = vec![0x0f, 0x1f, 0x44, 0x00, 0x00, 0xff, 0x25, 0, 0, 0, 0];
        code.extend_from_slice(&body.to_le_bytes());
        region.write(OFF_STUB, &code)?;
        pieces.push(Piece {
            kind: PieceKind::PatchedEntry { traced: false },
            start: stub,
            end: stub + code.len() as u64,
        });
    } else {
        let mut place = Placement {
            image: tramp,
            func: stub,
            im: base + REGION as u64 - 64,
            ..Default::default()
        };
        place.symbols.tramp_enter = shim_at(2);
        place.symbols.tramp_exit = shim_at(3);
        let mut spec = spec_for(&report, &place);
        // Native execution: a plain `ret`, no ENDBR, no call-depth bytes (reference §2.11).
        spec.mitigations = Mitigations::default();
        for list in [&mut spec.fentry, &mut spec.fexit, &mut spec.fmod_ret] {
            for pi in list.iter_mut() {
                let sidx = report
                    .programs
                    .iter()
                    .position(|p| p.name == pi.name)
                    .ok_or("program vanished")?;
                let r = *index_of.get(&sidx).ok_or("attached program was not loaded")?;
                pi.prog = &*ids[r] as *const u64 as u64;
                pi.bpf_func = shim_at(4);
                pi.insns = Some(progs[r].insns.as_ptr() as u64);
                pi.enter = shim_at(0);
                pi.exit = shim_at(1);
            }
        }
        let enc = encode(&spec).map_err(|e| format!("trampoline: {e}"))?;
        if OFF_TRAMP + enc.bytes.len() > REGION - 64 {
            return Err("the trampoline does not fit the code region".into());
        }
        let mut bytes = enc.bytes.clone();
        if let Some(w) = wasm {
            let wb = match same_answer(
                w,
                &Request::Encode { spec: spec.clone() },
                "trampoline bytes, frame and invocations",
            )
            .map_err(|e| e.to_string())?
            {
                Answer::Encode(a) => a.bytes,
                _ => return Err("the encode request got another answer".into()),
            };
            wasm_note = Some(format!(
                "wasm build: fixups of {} programs, every rendered listing, program, explanation and the Markdown, the frame layout and all {} trampoline bytes identical; executing the wasm build's bytes",
                fixed_checked.unwrap_or(0),
                wb.len()
            ));
            bytes = wb;
        }
        region.write(OFF_TRAMP, &bytes)?;
        pieces.push(Piece {
            kind: PieceKind::Trampoline,
            start: tramp,
            end: tramp + enc.bytes.len() as u64,
        });
        let code = codegen::stub(stub, tramp, enc.jmp_mode, body)?;
        region.write(OFF_STUB, &code)?;
        pieces.push(Piece {
            kind: PieceKind::PatchedEntry { traced: true },
            start: stub,
            end: stub + code.len() as u64,
        });
        for l in listing(&enc, tramp, AsmSyntax::Intel)? {
            listing_lines.push(PlacedLine {
                addr: tramp + l.offset as u64,
                offset: l.offset,
                text: l.text,
                role: l.role,
            });
        }
        encoded = Some(enc);
    }
    region.make_executable()?;
    let layout = encoded.as_ref().map(|e| e.layout.clone());
    let frame = match &layout {
        Some(l) => Frame {
            regs_off: l.regs_off,
            low_off: l.cookie_off,
            nr_regs: l.nr_regs,
            has_retval: l.save_ret,
        },
        None => Frame {
            regs_off: 8,
            low_off: 8,
            nr_regs: 0,
            has_retval: false,
        },
    };
    rt::install(Runtime {
        progs,
        ids,
        bss: maps
            .into_iter()
            .next()
            .unwrap_or_else(|| vec![0u8; 8].into_boxed_slice()),
        frame,
        verifier_meta: report.profile.verifier_meta,
        current_run_ctx: 0,
        tramp_enters: 0,
        tramp_exits: 0,
        clock: 1,
        call: 0,
        observations: vec![],
        record: true,
        stacks: vec![],
        reentry: None,
    });
    if s.function.reentry.is_some() {
        let words = vec![0u64; report.function.nr_regs()];
        rt::with(|r| r.reentry = Some((caller, stub, words)));
    }
    if wasm_note.is_none() {
        if let Some(n) = fixed_checked {
            wasm_note = Some(format!("wasm build: fixups of {n} programs identical (no trampoline)"));
        }
    }
    Ok((
        World {
            region,
            report,
            encoded,
            pieces,
            listing: listing_lines,
            stub,
            caller,
        },
        wasm_note,
    ))
}

fn words_of(s: &Scenario, call: usize, func: u64, data: u64) -> Result<Vec<u64>, String> {
    let mut w = vec![];
    for (i, a) in s.calls[call].args.iter().enumerate() {
        match a {
            ArgValue::Scalar(v) => w.push(
                v.resolve(func, data)?
                    .ok_or(format!("call {call}: argument {i} cannot be 'any'"))?,
            ),
            ArgValue::Words(vs) => {
                for v in vs {
                    w.push(v.resolve(func, data)?.unwrap_or(0));
                }
            }
        }
    }
    Ok(w)
}

/// Makes the scenario's calls and evaluates everything.
pub fn run(s: &Scenario, world: &World) -> Result<ExecReport, String> {
    let func = &world.report.function;
    let mut calls = vec![];
    let want_words: usize = func.nr_regs();
    let data_base = rt::with(|rt| rt.bss.as_ptr() as u64);
    for c in 0..s.calls.len() {
        let words = words_of(s, c, world.stub, data_base)?;
        if words.len() != want_words {
            return Err(format!(
                "call {c}: {} argument words given, {} has {want_words}",
                words.len(),
                func.prototype()
            ));
        }
        rt::with(|rt| rt.call = c);
        // SAFETY: `caller` is code generated for exactly this prototype; it loads the words into
        // the argument registers and stack slots and calls the patched entry, which runs the
        // model's trampoline and the traced body, all inside the executable region.
        let f: extern "C" fn(*const u64, u64) -> u64 = unsafe { std::mem::transmute(world.caller as *const ()) };
        let ret = f(words.as_ptr(), world.stub);
        calls.push(CallResult { words, ret });
    }
    let rt = rt::take().ok_or("runtime missing")?;
    let mut problems = vec![];
    let mut expected_violation = vec![];
    let ret_mask = match func.ret_size {
        0 => 0,
        n if n >= 8 => u64::MAX,
        n => (1u64 << (8 * n)) - 1,
    };
    for (c, (spec, res)) in s.calls.iter().zip(&calls).enumerate() {
        if let Some(want) = &spec.ret {
            if let Some(w) = want.resolve(world.stub, data_base)? {
                if (res.ret & ret_mask) != (w & ret_mask) {
                    problems.push(format!("call {c}: returned {:#x}, expected {w:#x}", res.ret & ret_mask));
                }
            }
        }
    }
    // Map contents.
    let mut data = BTreeMap::new();
    if let Some(m) = s.maps.first() {
        let words: Vec<u64> = rt
            .bss
            .chunks(8)
            .map(|c| {
                let mut b = [0u8; 8];
                b[..c.len()].copy_from_slice(c);
                u64::from_le_bytes(b)
            })
            .collect();
        if let Some(want) = s.expect.data.get(&m.name) {
            for (k, v) in want.iter().enumerate() {
                if let Some(w) = v.resolve(world.stub, data_base)? {
                    let got = words.get(k).copied();
                    if got != Some(w) {
                        problems.push(format!(
                            "{}[{}] (offset {}) = {}, expected {w:#x}",
                            m.name,
                            k,
                            8 * k,
                            got.map(|g| format!("{g:#x}")).unwrap_or("missing".into())
                        ));
                    }
                }
            }
        }
        data.insert(m.name.clone(), words);
    }
    let counters: BTreeMap<String, (u64, u64)> =
        rt.progs.iter().map(|p| (p.name.clone(), (p.runs, p.misses))).collect();
    for (name, want) in &s.expect.counters {
        let (runs, misses) = counters.get(name).copied().unwrap_or((0, 0));
        if want.runs.is_some_and(|r| r != runs) || want.misses.is_some_and(|m| m != misses) {
            problems.push(format!(
                "{name}: ran {runs} times with {misses} misses, expected runs {:?} misses {:?}",
                want.runs, want.misses
            ));
        }
    }
    if rt.tramp_enters != rt.tramp_exits {
        problems.push(format!(
            "__bpf_tramp_enter called {} times, __bpf_tramp_exit {}",
            rt.tramp_enters, rt.tramp_exits
        ));
    }
    for p in &rt.progs {
        if p.active != 0 {
            problems.push(format!(
                "{}: recursion counter is {} after the calls (enter/exit unbalanced)",
                p.name, p.active
            ));
        }
    }
    for o in &rt.observations {
        if let Err(e) = &o.r0 {
            problems.push(format!("call {}: {} failed: {e}", o.call, o.prog));
        }
    }
    // The model's predictions: each run sees the ctx[-1] the model computed, and cookie users
    // get the slot the model reserved.
    if let Some(enc) = &world.encoded {
        for (c, call) in calls.iter().enumerate() {
            let mut next = 0usize;
            for o in rt.observations.iter().filter(|o| o.call == c) {
                let Some(k) = enc.invocations[next..].iter().position(|i| i.prog == o.prog) else {
                    problems.push(format!(
                        "call {c}: {} ran, but the model has no further invocation of it",
                        o.prog
                    ));
                    continue;
                };
                let inv = &enc.invocations[next + k];
                next += k + 1;
                let pass = inv.pass;
                if o.func_meta != inv.func_meta {
                    problems.push(format!(
                        "call {c}: {} ({pass}) saw ctx[-1] = {:#x}, the model predicts {:#x}",
                        o.prog, o.func_meta, inv.func_meta
                    ));
                }
                if let Some(ptr) = o.cookie_ptr {
                    let l = &enc.layout;
                    let intended = inv.cookie_index.filter(|&i| i > 0).map(|i| o.ctx - 8 * i);
                    if Some(ptr) != intended {
                        let slot = l
                            .slot_at((ptr as i64 - (o.ctx as i64 + l.regs_off as i64)) as i32)
                            .map(|s| s.name.clone())
                            .unwrap_or("outside the frame".into());
                        let mut msg = format!(
                            "call {c}: {} ({pass}): bpf_session_cookie() returned {ptr:#x} = ctx - {} ({slot}); {}",
                            o.prog,
                            o.ctx - ptr,
                            match intended {
                                Some(i) => format!("the model's cookie slot is {i:#x}"),
                                None => "the trampoline reserved no cookie slot".into(),
                            }
                        );
                        if ptr == o.ctx {
                            let before = call.words.first().copied().unwrap_or(0);
                            let after: Vec<String> = rt
                                .observations
                                .iter()
                                .filter(|x| x.call == c)
                                .map(|x| format!("{:#x}", x.args.first().copied().unwrap_or(0)))
                                .collect();
                            msg.push_str(&format!(
                                ": the cookie pointer is ctx, so writing the cookie overwrote argument 1 (passed {before:#x}; seen by successive programs as {})",
                                after.join(", ")
                            ));
                        }
                        if s.expect.contract_violation {
                            expected_violation.push(msg);
                        } else {
                            problems.push(msg);
                        }
                    }
                }
            }
        }
        if s.expect.contract_violation && expected_violation.is_empty() {
            problems.push(
                "the scenario expects a contract violation, but every program got its cookie slot on hardware".into(),
            );
        }
    }
    problems.extend(world.report.problems.iter().map(ToString::to_string));
    Ok(ExecReport {
        description: s.description.clone(),
        profile: world.report.profile.name.clone(),
        function: func.prototype(),
        func_addr: world.stub,
        tramp_addr: world.region.addr() + OFF_TRAMP as u64,
        tramp_len: world.encoded.as_ref().map(|e| e.bytes.len()).unwrap_or(0),
        calls,
        observations: rt.observations,
        data,
        counters,
        tramp_calls: (rt.tramp_enters, rt.tramp_exits),
        problems,
        expected_violation,
        wasm: None,
    })
}
