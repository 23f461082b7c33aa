//! A scenario's calls in the executor: the trampoline `show` lists, at the addresses it lists it
//! at, with the profile's mitigations (ENDBR, the return thunk, `int3` after jumps), behind the
//! traced function's patched entry; the programs' `bpf_func`, the enter/exit functions and the
//! traced body as behaviours; every value the programs see read from the executed frame.

use super::engine::{Behaviour, BodyCall, EmuProg, Engine};
use super::expect::{evaluate, Outcome, ProgCounters};
use super::helpers;
use super::report::{CallResult, CookieMismatch, Observation, RunProblem};
use super::trace::Trace;
use crate::interp::{prepare, VmError};
use crate::isa::{decode_program, Imm64Kind, Insn, Instr};
use crate::kernel::link::flags::INDIRECT;
use crate::kernel::profile::Profile;
use crate::scenario::{check, ArgValue, CheckReport, ReentryHelper, Scenario, ScenarioError};
use crate::tramp::build::{spec_for, EnterExit, Placement};
use crate::tramp::layout::FrameLayout;
use crate::tramp::{encode, EncodeError, Encoded};
use crate::x86exec::{AreaKind, ExecError, Machine, Perms, Space};
use serde::Serialize;
use std::collections::BTreeMap;

/// The kernel stack the calls run on: 32 KiB (room for a nested call of the traced function).
pub const STACK_BASE: u64 = 0xffff_c900_0002_0000;
/// Its size.
pub const STACK_SIZE: u64 = 0x8000;
/// Map `i`'s value area is at `MAP_BASE + i * MAP_STRIDE`.
pub const MAP_BASE: u64 = 0xffff_8881_0010_0000;
/// Distance between map value areas.
pub const MAP_STRIDE: u64 = 0x1_0000;
/// The return address the calls come back to (the caller of the traced function).
pub const CALLER_RET: u64 = 0xffff_ffff_8100_0000;

/// Why a scenario cannot run in the executor.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, serde::Deserialize, thiserror::Error)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum EmuError {
    /// The scenario does not check.
    #[error(transparent)]
    Scenario(#[from] ScenarioError),
    /// A struct_ops trampoline has no traced function.
    #[error("a struct_ops trampoline is called through its ops table, not patched into a traced function: the executor runs traced functions")]
    StructOps,
    /// The trampoline does not encode.
    #[error("trampoline: {0}")]
    Encode(#[from] EncodeError),
    /// A map reference names no map.
    #[error("{program}: insn {index}: map {map} does not exist")]
    NoMap {
        /// The program.
        program: String,
        /// The instruction.
        index: usize,
        /// The map index.
        map: i32,
    },
    /// The interpreter refuses a program.
    #[error("{program}: {error}")]
    Load {
        /// The program.
        program: String,
        /// The interpreter's error.
        error: VmError,
    },
    /// A call's argument is `any`.
    #[error("call {call}: argument {arg} cannot be 'any'")]
    AnyArgument {
        /// The call.
        call: usize,
        /// The argument.
        arg: usize,
    },
    /// A call gives another number of argument words than the prototype has.
    #[error("call {call}: {given} argument words given, {prototype} has {want}")]
    ArgumentWords {
        /// The call.
        call: usize,
        /// Words given.
        given: usize,
        /// The prototype.
        prototype: String,
        /// Words it has.
        want: usize,
    },
    /// Two areas overlap (a map too large for its place).
    #[error("the {what} does not fit its place in the executor's address space")]
    Placement {
        /// What.
        what: String,
    },
    /// The model's JIT (or the rewrites it relies on) refused a program the verifier accepted.
    #[error("{program}: JIT: {message}")]
    Jit {
        /// The program.
        program: String,
        /// Why.
        message: String,
    },
}

/// Why a program's map references could not be relocated.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RelocError {
    /// The program does not decode.
    Decode(crate::isa::DecodeError),
    /// Instruction `index` names map `map`, which does not exist.
    NoMap {
        /// The instruction.
        index: usize,
        /// The map index.
        map: i32,
    },
}

/// Relocates `lddw` of map values to the maps' addresses (what the verifier does with map fds),
/// so the interpreter sees plain 64-bit immediates. `map_addr(i)` is map `i`'s value address.
pub fn relocate_maps(insns: &[Insn], map_addr: impl Fn(i32) -> Option<u64>) -> Result<Vec<Insn>, RelocError> {
    let mut out = insns.to_vec();
    let decoded = decode_program(insns).map_err(RelocError::Decode)?;
    for (i, ins) in decoded {
        if let Instr::LdImm64 {
            kind: Imm64Kind::MapValue | Imm64Kind::MapIdxValue,
            imm,
            imm2,
            ..
        } = ins
        {
            let addr = map_addr(imm)
                .ok_or(RelocError::NoMap { index: i, map: imm })?
                .wrapping_add(imm2 as u32 as u64);
            out[i].src = 0;
            out[i].imm = addr as u32 as i32;
            out[i + 1].imm = (addr >> 32) as u32 as i32;
        }
    }
    Ok(out)
}

/// The argument words of call `call` (`func` and `data` resolve symbolic values).
pub fn call_words(s: &Scenario, call: usize, func: u64, data: u64) -> Result<Vec<u64>, EmuError> {
    let mut w = vec![];
    for (arg, a) in s.calls[call].args.iter().enumerate() {
        match a {
            ArgValue::Scalar(v) => w.push(v.resolve(func, data).ok_or(EmuError::AnyArgument { call, arg })?),
            ArgValue::Words(vs) => w.extend(vs.iter().map(|v| v.resolve(func, data).unwrap_or(0))),
        }
    }
    Ok(w)
}

/// Options of a run.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EmuOptions {
    /// Record the trace.
    pub trace: bool,
    /// Without `[[call]]`s in the scenario, make one call with every argument 0.
    pub default_call: bool,
    /// Make only this call, with these argument words (instead of the scenario's calls).
    pub only: Option<Vec<u64>>,
    /// Run the programs as their JIT images (x86 code in the executor) instead of in the
    /// interpreter ([`super::jit::place_jit_images`]).
    pub jit: bool,
}

/// What a run in the executor produced.
#[derive(Clone, Debug, Serialize)]
pub struct EmuReport {
    /// The profile (after the scenario's overrides).
    pub profile: String,
    /// The traced function's prototype.
    pub function: String,
    /// The traced function's address.
    pub func_addr: u64,
    /// The trampoline's address.
    pub tramp_addr: u64,
    /// The trampoline's size (0 untraced).
    pub tramp_len: usize,
    /// The calls made (up to a fault).
    pub calls: Vec<CallResult>,
    /// Every program run.
    pub observations: Vec<Observation>,
    /// Every entry into the traced body.
    pub body_calls: Vec<BodyCall>,
    /// Map contents after the calls, as u64 words.
    pub data: BTreeMap<String, Vec<u64>>,
    /// (runs, misses) per program.
    pub counters: BTreeMap<String, (u64, u64)>,
    /// `__bpf_tramp_enter` / `_exit` calls.
    pub tramp_calls: (u64, u64),
    /// Differences from the expectations and the model's predictions.
    pub problems: Vec<RunProblem>,
    /// The contract violation the scenario expects, as the run showed it.
    pub expected_violation: Vec<CookieMismatch>,
    /// Where execution stopped, if it faulted.
    pub fault: Option<ExecError>,
    /// The frame (`None` untraced).
    pub layout: Option<FrameLayout>,
    /// The programs, by their index in the run (what the trace's program numbers mean).
    pub programs: Vec<String>,
    /// The trace, when recorded.
    #[serde(skip)]
    pub trace: Option<Trace>,
    /// Steps executed (x86 instructions and behaviours).
    pub steps: u64,
    /// The first map's address and length.
    pub data_area: (u64, u64),
    /// The trampoline executed (`None` untraced).
    #[serde(skip)]
    pub encoded: Option<Encoded>,
}

impl EmuReport {
    /// The run matched every expectation and prediction.
    pub fn passed(&self) -> bool {
        self.problems.is_empty()
    }
}

/// A scenario placed in the executor, before its calls.
pub struct EmuWorld {
    /// The engine.
    pub engine: Engine,
    /// The scenario's check.
    pub report: CheckReport,
    /// The trampoline (`None` untraced).
    pub encoded: Option<Encoded>,
    /// Where things are.
    pub place: Placement,
}

fn entry_bytes(ibt: bool, traced: Option<(bool, u64)>, func: u64) -> Vec<u8> {
    let mut v = vec![];
    if ibt {
        v.extend_from_slice(&[0xf3, 0x0f, 0x1e, 0xfa]);
    }
    match traced {
        Some((jmp, tramp)) => {
            let at = func + v.len() as u64 + 5;
            v.push(if jmp { 0xe9 } else { 0xe8 });
            v.extend_from_slice(&(tramp.wrapping_sub(at) as u32).to_le_bytes());
        }
        None => v.extend_from_slice(&[0x0f, 0x1f, 0x44, 0x00, 0x00]),
    }
    v
}

fn behaviours(place: &Placement, body: u64) -> BTreeMap<u64, Behaviour> {
    let mut t = BTreeMap::new();
    let s = &place.symbols;
    for which in [
        EnterExit::Recur,
        EnterExit::SleepableRecur,
        EnterExit::Plain,
        EnterExit::Sleepable,
    ] {
        let (enter, exit) = which.addrs(s);
        t.insert(enter, Behaviour::ProgEnter { which });
        t.insert(exit, Behaviour::ProgExit { which });
    }
    t.insert(s.tramp_enter, Behaviour::TrampEnter);
    t.insert(s.tramp_exit, Behaviour::TrampExit);
    t.insert(s.return_thunk, Behaviour::ReturnThunk);
    t.insert(body, Behaviour::TracedBody);
    t.insert(CALLER_RET, Behaviour::CallerReturn);
    t
}

fn load_programs(report: &CheckReport, place: &Placement, engine: &mut Engine) -> Result<(), EmuError> {
    let maps = engine.maps.clone();
    for (i, p) in report.programs.iter().enumerate() {
        let (Some(f), Some(Ok(v))) = (&p.fixed, &p.verified) else {
            continue;
        };
        let insns = relocate_maps(&f.insns, |m| {
            usize::try_from(m).ok().and_then(|k| maps.get(k)).map(|m| m.0)
        })
        .map_err(|e| match e {
            RelocError::NoMap { index, map } => EmuError::NoMap {
                program: p.name.clone(),
                index,
                map,
            },
            RelocError::Decode(error) => EmuError::Load {
                program: p.name.clone(),
                error: error.into(),
            },
        })?;
        let prepared = prepare(&insns).map_err(|error| EmuError::Load {
            program: p.name.clone(),
            error,
        })?;
        let at = place.program(i);
        let k = engine.progs.len();
        engine.table.insert(at.bpf_func, Behaviour::BpfFunc { prog: k });
        engine.prog_at.insert(at.prog, k);
        engine.progs.push(EmuProg {
            name: p.name.clone(),
            scenario_index: i,
            prepared,
            cookie_user: v.call_session_cookie,
            inlined: f.notes.iter().map(|n| (n.range.clone(), n.what)).collect(),
            active: 0,
            runs: 0,
            misses: 0,
        });
    }
    Ok(())
}

/// Places a scenario in the executor (checked and encoded here, with the default placement).
pub fn build(s: &Scenario, text: &str, profile: &Profile) -> Result<EmuWorld, EmuError> {
    let report = check(s, text, profile)?;
    if report.trampoline.flags & INDIRECT != 0 {
        return Err(EmuError::StructOps);
    }
    let place = Placement::default();
    let encoded = if report.trampoline.is_empty() {
        None
    } else {
        Some(encode(&spec_for(&report, &place))?)
    };
    place_world(s, report, encoded, place)
}

/// Places a checked scenario and its encoded trampoline (encoded for `place`) in the executor.
pub fn place_world(
    s: &Scenario,
    report: CheckReport,
    encoded: Option<Encoded>,
    place: Placement,
) -> Result<EmuWorld, EmuError> {
    Ok(EmuWorld {
        engine: place_engine(s, &report, encoded.as_ref(), &place)?,
        report,
        encoded,
        place,
    })
}

/// The executor with a checked scenario and its trampoline (encoded for `place`) placed in it,
/// ready for [`make_calls`]; nothing of the report is copied but what the run needs.
pub fn place_engine(
    s: &Scenario,
    report: &CheckReport,
    encoded: Option<&Encoded>,
    place: &Placement,
) -> Result<Engine, EmuError> {
    if report.trampoline.flags & INDIRECT != 0 {
        return Err(EmuError::StructOps);
    }
    let prof = &report.profile;
    let ibt = prof.mitigations.ibt;
    let mut mem = Space::default();
    let misplaced = |what: &str| EmuError::Placement { what: what.into() };
    let traced = encoded.map(|e| (e.jmp_mode, place.image));
    let entry = entry_bytes(ibt, traced, place.func);
    let body = place.func + entry.len() as u64;
    mem.map(AreaKind::PatchedEntry, place.func, entry, Perms::RX)
        .ok_or_else(|| misplaced("patched entry"))?;
    if let Some(e) = encoded {
        mem.map(AreaKind::Trampoline, place.image, e.bytes.clone(), Perms::RX)
            .ok_or_else(|| misplaced("trampoline"))?;
    }
    mem.map(AreaKind::Stack, STACK_BASE, vec![0; STACK_SIZE as usize], Perms::RW)
        .ok_or_else(|| misplaced("stack"))?;
    let mut maps = vec![];
    for (i, m) in s.maps.iter().enumerate() {
        let base = MAP_BASE + i as u64 * MAP_STRIDE;
        mem.map(
            AreaKind::Map { index: i },
            base,
            vec![0; m.value_size as usize],
            Perms::RW,
        )
        .filter(|_| u64::from(m.value_size) <= MAP_STRIDE)
        .ok_or_else(|| misplaced(&format!("map {}", m.name)))?;
        maps.push((base, u64::from(m.value_size)));
    }
    let mut engine = Engine {
        m: Machine::new(mem),
        table: behaviours(place, body),
        progs: vec![],
        prog_at: BTreeMap::new(),
        func: report.function.clone(),
        body: s.function.body,
        bias: s.function.bias,
        layout: encoded.map(|e| e.layout.clone()),
        verifier_meta: prof.verifier_meta,
        maps,
        current_run_ctx: 0,
        tramp_calls: (0, 0),
        clock: 1,
        ktime: helpers::KTIME_START_NS,
        rnd: helpers::PRANDOM_SEED,
        call: 0,
        observations: vec![],
        body_calls: vec![],
        reentry: None,
        events: None,
        steps: 0,
        caller_ret: CALLER_RET,
        entry: place.func,
        #[cfg(feature = "emu-jit")]
        jit_entries: BTreeMap::new(),
        #[cfg(feature = "emu-jit")]
        jit_pending: Vec::new(),
    };
    load_programs(report, place, &mut engine)?;
    if s.function.reentry == Some(ReentryHelper::GetPrandomU32) {
        engine.reentry = Some(vec![0; report.function.nr_regs()]);
    }
    Ok(engine)
}

/// Makes the scenario's calls in the executor and checks them as a run on hardware is checked.
pub fn run(s: &Scenario, text: &str, profile: &Profile, opts: EmuOptions) -> Result<EmuReport, EmuError> {
    let mut w = build(s, text, profile)?;
    if opts.jit {
        #[cfg(feature = "emu-jit")]
        super::jit::place_jit_images(&mut w.engine, &w.report, &w.place)?;
        #[cfg(not(feature = "emu-jit"))]
        return Err(EmuError::Jit {
            program: String::new(),
            message: "this build of fsession-core has no emu-jit feature".into(),
        });
    }
    run_world(s, &mut w, opts)
}

/// The calls made in a placed world, before they are checked against the expectations.
#[derive(Clone, Debug)]
pub struct Calls {
    /// The calls made (up to a fault).
    pub calls: Vec<CallResult>,
    /// Every program run.
    pub observations: Vec<Observation>,
    /// Every entry into the traced body.
    pub body_calls: Vec<BodyCall>,
    /// Where execution stopped, if it faulted.
    pub fault: Option<ExecError>,
    /// The trace, when recorded.
    pub trace: Option<Trace>,
    /// Steps executed.
    pub steps: u64,
}

/// Makes the scenario's calls (or the one default call) in a placed world.
pub fn make_calls(s: &Scenario, e: &mut Engine, opts: EmuOptions) -> Result<Calls, EmuError> {
    let data = e.maps.first().map_or(0, |m| m.0);
    let func = e.entry;
    let want = e.func.nr_regs();
    let mut call_words_list = vec![];
    for c in (0..s.calls.len()).filter(|_| opts.only.is_none()) {
        let words = call_words(s, c, func, data)?;
        if words.len() != want {
            return Err(EmuError::ArgumentWords {
                call: c,
                given: words.len(),
                prototype: e.func.prototype(),
                want,
            });
        }
        call_words_list.push(words);
    }
    if let Some(words) = &opts.only {
        if words.len() != want {
            return Err(EmuError::ArgumentWords {
                call: 0,
                given: words.len(),
                prototype: e.func.prototype(),
                want,
            });
        }
        call_words_list.push(words.clone());
    }
    if call_words_list.is_empty() && opts.default_call {
        call_words_list.push(vec![0; want]);
    }
    let initial = opts.trace.then(|| {
        e.m.mem.start_log();
        e.events = Some(vec![]);
        e.m.mem.clone()
    });
    let mut calls = vec![];
    let mut fault = None;
    for (c, words) in call_words_list.into_iter().enumerate() {
        e.call = c;
        fill_stack(e);
        match e.call_function(func, &words, STACK_BASE + STACK_SIZE) {
            Ok(ret) => calls.push(CallResult { words, ret }),
            Err(err) => {
                fault = Some(err);
                break;
            }
        }
    }
    let trace = initial.map(|initial| Trace {
        events: e.events.take().unwrap_or_default(),
        initial,
    });
    Ok(Calls {
        calls,
        observations: std::mem::take(&mut e.observations),
        body_calls: std::mem::take(&mut e.body_calls),
        fault,
        trace,
        steps: e.steps,
    })
}

/// Makes the calls in a placed world and checks them as a run on hardware is checked.
pub fn run_world(s: &Scenario, w: &mut EmuWorld, opts: EmuOptions) -> Result<EmuReport, EmuError> {
    let Calls {
        calls,
        observations,
        body_calls,
        fault,
        trace,
        steps,
    } = make_calls(s, &mut w.engine, opts)?;
    let e = &w.engine;
    let (func, data) = (w.place.func, e.maps.first().map_or(0, |m| m.0));
    let programs: Vec<ProgCounters> = e
        .progs
        .iter()
        .map(|p| ProgCounters {
            name: p.name.clone(),
            runs: p.runs,
            misses: p.misses,
            active: p.active,
        })
        .collect();
    let bss: Vec<u8> =
        e.m.mem
            .area(&AreaKind::Map { index: 0 })
            .map(|a| a.bytes.clone())
            .unwrap_or_default();
    let outcome = Outcome {
        func,
        data,
        calls: &calls,
        observations: &observations,
        bss: &bss,
        programs: &programs,
        tramp_calls: e.tramp_calls,
    };
    let mut ev = evaluate(s, &w.report, w.encoded.as_ref(), &outcome);
    match (&fault, s.expect.fault) {
        (None, true) => ev.problems.push(RunProblem::NoFault),
        (Some(f), _) if !(s.expect.fault && in_body(f, e)) => {
            ev.problems.push(RunProblem::Stopped { error: f.clone() })
        }
        _ => {}
    }
    Ok(EmuReport {
        profile: w.report.profile.name.clone(),
        function: w.report.function.prototype(),
        func_addr: func,
        tramp_addr: w.place.image,
        tramp_len: w.encoded.as_ref().map_or(0, |x| x.bytes.len()),
        calls,
        observations,
        body_calls,
        data: ev.data,
        counters: ev.counters,
        tramp_calls: e.tramp_calls,
        problems: ev.problems,
        expected_violation: ev.expected_violation,
        fault,
        layout: e.layout.clone(),
        programs: e.progs.iter().map(|p| p.name.clone()).collect(),
        trace,
        steps,
        data_area: e.maps.first().copied().unwrap_or((0, 0)),
        encoded: w.encoded.clone(),
    })
}

/// Fills the kernel stack with [`super::engine::UNINITIALIZED`] before a call (logged, so a
/// trace steps over it like any store).
fn fill_stack(e: &mut Engine) {
    for k in 0..STACK_SIZE / 8 {
        let _ = e.m.mem.write(STACK_BASE + 8 * k, 8, super::engine::UNINITIALIZED);
    }
    let writes = e.m.mem.take_log();
    if let Some(ev) = &mut e.events {
        ev.push(super::trace::Event {
            kind: super::trace::EventKind::StackFilled,
            before: e.m.cpu,
            after: e.m.cpu,
            writes,
        });
    }
}

/// The fault is the traced body's own (a scenario's `body = "fault"`).
fn in_body(f: &ExecError, e: &Engine) -> bool {
    e.table.get(&f.at.addr) == Some(&Behaviour::TracedBody)
}
