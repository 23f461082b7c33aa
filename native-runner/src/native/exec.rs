//! Runs a scenario on this machine: the model's trampoline bytes, patched in front of a native
//! traced function, calling the programs through the interpreter, and checks what happened
//! against the scenario's expectations and the model's predictions.

use super::codegen::{self, Body};
use super::mem::CodeRegion;
use super::protocol::{Piece, PieceKind, PlacedLine};
use super::report::WasmChecked;
pub use super::report::{CallResult, ExecReport};
use super::rt::{self, Frame, Runtime};
use fsession_core::api::{self, Answer, Request};
use fsession_core::emu::expect::{evaluate, Evaluated, Outcome, ProgCounters};
use fsession_core::emu::run::{call_words, relocate_maps, EmuError, RelocError};
use fsession_core::isa::Insn;
use fsession_core::jit::load::{compile_rewritten, image_room, images_from, rewrite, Site};
use fsession_core::kernel::profile::{Mitigations, Profile};
use fsession_core::scenario::{check, CheckReport, FunctionBody, ReentryHelper, Scenario, ScenarioError};
use fsession_core::tramp::build::{spec_for, Placement};
use fsession_core::tramp::listing::{listing, AsmSyntax};
use fsession_core::tramp::{encode, Encoded};
use std::collections::BTreeMap;

/// Offsets of the pieces in the code region; the programs' JIT images follow `REGION`.
const OFF_SHIMS: usize = 0;
const SHIM_SIZE: usize = 64;
const OFF_CALLER: usize = 1024;
const OFF_BODY: usize = 1536;
const OFF_STUB: usize = 2048;
const OFF_TRAMP: usize = 4096;
const REGION: usize = 4096 * 4;

/// How the programs run on this machine.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ProgEngine {
    /// As the kernel's JIT images (the model's JIT), what each saw recorded around the image.
    #[default]
    Jit,
    /// As JIT images the trampoline calls directly (nothing recorded: benchmarks).
    JitDirect,
    /// In the interpreter, behind the kernel's `bpf_func(ctx, insnsi)` convention.
    Interp,
}

/// Shim indexes of [`shim_targets`].
const SHIM_INTERP: usize = 4;
const SHIM_JIT: usize = 5;
const SHIM_HELPERS: usize = 6;

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
    match s.function.body {
        FunctionBody::ModifyReturn => Body::ModifyReturn,
        FunctionBody::Fault => Body::Fault,
        FunctionBody::Sum => Body::Sum(s.function.bias),
    }
}

/// Why a scenario could not be built or run on this machine.
#[derive(Debug, thiserror::Error)]
pub enum ExecError {
    /// The scenario does not check.
    #[error(transparent)]
    Scenario(#[from] ScenarioError),
    /// A struct_ops trampoline has no traced function to patch.
    #[error(
        "a struct_ops trampoline is called through its ops table, not patched into a traced function: \
         `show` and `oracle` cover it, native execution does not"
    )]
    StructOps,
    /// The wasm build disagrees or could not answer.
    #[error(transparent)]
    CrossCheck(#[from] CrossCheckError),
    /// The code region.
    #[error(transparent)]
    Memory(#[from] super::mem::MemError),
    /// Generated code (shims, caller, body, stub).
    #[error(transparent)]
    Codegen(#[from] codegen::CodegenError),
    /// A fixed program does not decode.
    #[error("{program}: {error}")]
    Decode {
        /// The program.
        program: String,
        /// The decoder's error.
        error: fsession_core::isa::DecodeError,
    },
    /// An attached program was not loaded (the model attached a program it rejected).
    #[error("{program}: attached, but not loaded")]
    NotLoaded {
        /// The program.
        program: String,
    },
    /// The trampoline does not encode.
    #[error("trampoline: {0}")]
    Encode(#[from] fsession_core::tramp::EncodeError),
    /// The trampoline is larger than its place in the region.
    #[error("the trampoline ({len} bytes) does not fit the code region")]
    TooLarge {
        /// Its length.
        len: usize,
    },
    /// The listing's decoder disagrees with the encoder.
    #[error("listing: {0}")]
    Listing(#[from] fsession_core::tramp::listing::ListingError),
    /// A map reference, a program the interpreter refuses, or a call's arguments (the same
    /// errors as the executor's).
    #[error(transparent)]
    Emu(EmuError),
    /// The verifier's rewrites, a helper without a native implementation, or the model's JIT
    /// refused a program the verifier accepted.
    #[error("{program}: JIT: {error}")]
    Jit {
        /// The program.
        program: String,
        /// Why.
        error: fsession_core::jit::run::JitRunError,
    },
    /// The runtime was not installed (run without build).
    #[error("the runtime is not installed: build the scenario first")]
    NoRuntime,
}

/// Why the wasm cross-check failed.
#[derive(Debug, thiserror::Error)]
pub enum CrossCheckError {
    /// The native build could not answer.
    #[error("{what}: {error}")]
    Native {
        /// What was asked.
        what: &'static str,
        /// The native answer's error.
        error: api::ApiError,
    },
    /// The build answered another kind of answer than was asked for.
    #[error("the {what} request got another kind of answer")]
    OtherAnswer {
        /// What was asked.
        what: &'static str,
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
    if let Answer::Error { error } = &native {
        return Err(CrossCheckError::Native {
            what,
            error: error.clone(),
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

/// Builds the code region and the runtime for a scenario.
pub fn build(s: &Scenario, text: &str, profile: &Profile) -> Result<World, ExecError> {
    build_with(s, text, profile, None, ProgEngine::Jit).map(|(w, _)| w)
}

/// The Rust functions the generated code calls, each through a realigning shim, in shim order:
/// the runtime's, then the helpers JIT images call.
fn shim_targets() -> Vec<(String, u64)> {
    let mut v: Vec<(String, u64)> = [
        ("prog_enter", rt::prog_enter as *const () as u64),
        ("prog_exit", rt::prog_exit as *const () as u64),
        ("tramp_enter", rt::tramp_enter as *const () as u64),
        ("tramp_exit", rt::tramp_exit as *const () as u64),
        ("interp_entry", rt::interp_entry as *const () as u64),
        ("jit_entry", rt::jit_entry as *const () as u64),
    ]
    .into_iter()
    .map(|(n, a)| (n.to_string(), a))
    .collect();
    for (id, f) in rt::JIT_HELPERS {
        v.push((format!("helper {id}"), f as *const () as u64));
    }
    v
}

/// The code region being filled, with the pieces written so far.
struct Builder {
    region: CodeRegion,
    pieces: Pieces,
}

impl Builder {
    fn addr(&self, off: usize) -> u64 {
        self.region.addr() + off as u64
    }

    fn shim(&self, k: usize) -> u64 {
        self.addr(OFF_SHIMS + k * SHIM_SIZE)
    }

    /// Writes `code` at `off` as the piece `kind`.
    fn put(&mut self, off: usize, code: &[u8], kind: PieceKind) -> Result<(), ExecError> {
        self.region.write(off, code)?;
        let start = self.addr(off);
        self.pieces.push(Piece {
            kind,
            start,
            end: start + code.len() as u64,
        });
        Ok(())
    }

    /// The shims, the argument caller and the traced function's body.
    fn write_fixed_code(&mut self, s: &Scenario, report: &CheckReport) -> Result<(), ExecError> {
        for (k, (name, target)) in shim_targets().iter().enumerate() {
            let code = codegen::shim(self.shim(k), *target)?;
            let kind = PieceKind::Shim { target: name.clone() };
            self.put(OFF_SHIMS + k * SHIM_SIZE, &code, kind)?;
        }
        let code = codegen::caller(self.addr(OFF_CALLER), &report.function)?;
        self.put(OFF_CALLER, &code, PieceKind::ArgumentCaller)?;
        let code = codegen::body(self.addr(OFF_BODY), &report.function, body_kind(s))?;
        let kind = PieceKind::TracedBody {
            function: report.function.name.clone(),
        };
        self.put(OFF_BODY, &code, kind)
    }
}

/// The programs the verifier accepted, relocated and prepared for the interpreter, with the
/// `struct bpf_prog` stand-ins and the scenario index of each.
struct Loaded {
    progs: Vec<rt::ProgRt>,
    #[allow(clippy::vec_box)]
    ids: Vec<Box<u64>>,
    index_of: BTreeMap<usize, usize>,
}

fn load_programs(report: &CheckReport, maps: &[Box<[u8]>]) -> Result<Loaded, ExecError> {
    let mut l = Loaded {
        progs: vec![],
        ids: vec![],
        index_of: BTreeMap::new(),
    };
    for (i, p) in report.programs.iter().enumerate() {
        if let (Some(f), Some(Ok(v))) = (&p.fixed, &p.verified) {
            // The verifier's map-fd relocation, to the boxes' real addresses.
            let insns = relocate_maps(&f.insns, |m| {
                usize::try_from(m)
                    .ok()
                    .and_then(|k| maps.get(k))
                    .map(|b| b.as_ptr() as u64)
            })
            .map_err(|e| match e {
                RelocError::NoMap { index, map } => ExecError::Emu(EmuError::NoMap {
                    program: p.name.clone(),
                    index,
                    map,
                }),
                RelocError::Decode(error) => ExecError::Decode {
                    program: p.name.clone(),
                    error,
                },
            })?;
            l.index_of.insert(i, l.progs.len());
            l.ids.push(Box::new(l.progs.len() as u64));
            let prog = rt::prog(&p.name, insns, v.call_session_cookie).map_err(|error| {
                ExecError::Emu(EmuError::Load {
                    program: p.name.clone(),
                    error,
                })
            })?;
            l.progs.push(prog);
        }
    }
    Ok(l)
}

/// The loaded programs as the JIT takes them (after the verifier's rewrites), each with the
/// room its images need.
fn rewritten(l: &Loaded) -> Result<Vec<(Vec<Insn>, u64)>, ExecError> {
    let mut out = Vec::with_capacity(l.progs.len());
    for p in &l.progs {
        let jit_err = |error| ExecError::Jit {
            program: p.name.clone(),
            error,
        };
        let fixed = rewrite(&p.insns).map_err(jit_err)?;
        let room = image_room(&fixed).map_err(jit_err)?;
        out.push((fixed, room));
    }
    Ok(out)
}

/// Compiles every loaded program with the model's JIT into the region after `REGION`, its
/// helper calls going to the helpers' shims. The scenario's profile decides the bytes, except
/// the mitigations: native execution runs a plain `ret`, no ENDBR, as the trampoline does.
fn write_jit_images(
    b: &mut Builder,
    l: &mut Loaded,
    fixed: &[(Vec<Insn>, u64)],
    profile: &Profile,
) -> Result<(), ExecError> {
    let mut native = profile.clone();
    native.mitigations = Mitigations::default();
    let mut at = b.addr(REGION);
    for (p, (fixed, room)) in l.progs.iter_mut().zip(fixed) {
        let site = Site {
            images: images_from(at),
            helper: |id| {
                rt::JIT_HELPERS
                    .iter()
                    .position(|(h, _)| *h == id)
                    .map(|k| b.shim(SHIM_HELPERS + k))
            },
            call_base: b.addr(0),
            return_thunk: None,
            indirect_thunk_array: None,
        };
        let image = compile_rewritten(fixed, &native, site).map_err(|error| ExecError::Jit {
            program: p.name.clone(),
            error,
        })?;
        for f in &image.funcs {
            let kind = PieceKind::JitImage {
                program: p.name.clone(),
            };
            b.put((f.addr - b.addr(0)) as usize, &f.bytes, kind)?;
        }
        p.image = Some(image.funcs[0].addr);
        at += room;
    }
    Ok(())
}

/// The trampoline's spec at its place in the region, each program entry pointing at the
/// runtime's shims and its loaded program.
fn trampoline_spec(
    b: &Builder,
    report: &CheckReport,
    l: &Loaded,
    engine: ProgEngine,
) -> Result<fsession_core::tramp::TrampolineSpec, ExecError> {
    let mut place = Placement {
        image: b.addr(OFF_TRAMP),
        func: b.addr(OFF_STUB),
        im: b.addr(REGION - 64),
        ..Default::default()
    };
    place.symbols.tramp_enter = b.shim(2);
    place.symbols.tramp_exit = b.shim(3);
    let mut spec = spec_for(report, &place);
    // Native execution: a plain `ret`, no ENDBR, no call-depth bytes (reference §2.11).
    spec.mitigations = Mitigations::default();
    for list in [&mut spec.fentry, &mut spec.fexit, &mut spec.fmod_ret] {
        for pi in list.iter_mut() {
            let not_loaded = || ExecError::NotLoaded {
                program: pi.name.clone(),
            };
            let sidx = report
                .programs
                .iter()
                .position(|p| p.name == pi.name)
                .ok_or_else(not_loaded)?;
            let r = *l.index_of.get(&sidx).ok_or_else(not_loaded)?;
            pi.prog = &*l.ids[r] as *const u64 as u64;
            pi.bpf_func = match (engine, l.progs[r].image) {
                (ProgEngine::Interp, _) | (_, None) => b.shim(SHIM_INTERP),
                (ProgEngine::Jit, Some(_)) => b.shim(SHIM_JIT),
                (ProgEngine::JitDirect, Some(image)) => image,
            };
            pi.insns = Some(l.progs[r].insns.as_ptr() as u64);
            pi.enter = b.shim(0);
            pi.exit = b.shim(1);
        }
    }
    Ok(spec)
}

/// The trampoline bytes to execute: the native encoding, or with `wasm` the wasm build's, which
/// must equal it (frame and invocations too).
fn trampoline_bytes(
    spec: &fsession_core::tramp::TrampolineSpec,
    enc: &Encoded,
    wasm: Option<&mut super::wasm::WasmCore>,
) -> Result<(Vec<u8>, bool), ExecError> {
    let Some(w) = wasm else {
        return Ok((enc.bytes.clone(), false));
    };
    let what = "trampoline bytes, frame and invocations";
    match same_answer(w, &Request::Encode { spec: spec.clone() }, what)? {
        Answer::Encode(a) => Ok((a.bytes, true)),
        _ => Err(CrossCheckError::OtherAnswer { what }.into()),
    }
}

/// Writes the trampoline and the patched entry that calls it; returns the encoding, its listing
/// at its address and how many bytes came from the wasm build.
fn write_trampoline(
    b: &mut Builder,
    report: &CheckReport,
    l: &Loaded,
    wasm: Option<&mut super::wasm::WasmCore>,
    engine: ProgEngine,
) -> Result<(Encoded, Vec<PlacedLine>, Option<usize>), ExecError> {
    let spec = trampoline_spec(b, report, l, engine)?;
    let enc = encode(&spec)?;
    if OFF_TRAMP + enc.bytes.len() > REGION - 64 {
        return Err(ExecError::TooLarge { len: enc.bytes.len() });
    }
    let (bytes, from_wasm) = trampoline_bytes(&spec, &enc, wasm)?;
    b.put(OFF_TRAMP, &bytes, PieceKind::Trampoline)?;
    let (stub, tramp) = (b.addr(OFF_STUB), b.addr(OFF_TRAMP));
    let code = codegen::stub(stub, tramp, enc.jmp_mode, b.addr(OFF_BODY))?;
    b.put(OFF_STUB, &code, PieceKind::PatchedEntry { traced: true })?;
    let placed = listing(&enc, tramp, AsmSyntax::Intel)?
        .into_iter()
        .map(|l| PlacedLine {
            addr: tramp + l.offset as u64,
            offset: l.offset,
            text: l.text,
            role: l.role,
        })
        .collect();
    let wasm_bytes = from_wasm.then_some(bytes.len());
    Ok((enc, placed, wasm_bytes))
}

/// The frame geometry the runtime lets programs touch.
fn frame_of(encoded: Option<&Encoded>) -> Frame {
    match encoded.map(|e| &e.layout) {
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
    }
}

/// Installs the runtime the generated code calls into.
fn install_runtime(report: &CheckReport, l: Loaded, maps: Vec<Box<[u8]>>, frame: Frame) {
    rt::install(Runtime {
        progs: l.progs,
        ids: l.ids,
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
}

/// [`build`], optionally cross-checked against the wasm build (`wasm`: the fixups, every rendered
/// view and the trampoline bytes must equal the native ones, and the wasm bytes are the ones
/// executed); returns what the cross-check compared.
pub fn build_with(
    s: &Scenario,
    text: &str,
    profile: &Profile,
    mut wasm: Option<&mut super::wasm::WasmCore>,
    engine: ProgEngine,
) -> Result<(World, Option<WasmChecked>), ExecError> {
    let report = check(s, text, profile)?;
    if report.trampoline.flags & fsession_core::kernel::link::flags::INDIRECT != 0 {
        return Err(ExecError::StructOps);
    }
    let fixed_checked = match wasm.as_deref_mut() {
        Some(w) => Some(wasm_fixups(w, text, profile)?),
        None => None,
    };
    let maps: Vec<Box<[u8]>> = s
        .maps
        .iter()
        .map(|m| vec![0u8; m.value_size as usize].into_boxed_slice())
        .collect();
    let mut loaded = load_programs(&report, &maps)?;
    let fixed = match engine {
        ProgEngine::Interp => vec![],
        ProgEngine::Jit | ProgEngine::JitDirect => rewritten(&loaded)?,
    };
    let jit_len: u64 = fixed.iter().map(|(_, room)| room).sum();
    let mut b = Builder {
        region: CodeRegion::new(REGION + jit_len as usize)?,
        pieces: vec![],
    };
    b.write_fixed_code(s, &report)?;
    if engine != ProgEngine::Interp {
        write_jit_images(&mut b, &mut loaded, &fixed, &report.profile)?;
    }
    let (encoded, placed, wasm_bytes) = if report.trampoline.is_empty() {
        // Not traced: the entry is a 5-byte nop, as ftrace leaves an unpatched site.
        let mut code = vec![0x0f, 0x1f, 0x44, 0x00, 0x00, 0xff, 0x25, 0, 0, 0, 0];
        code.extend_from_slice(&b.addr(OFF_BODY).to_le_bytes());
        b.put(OFF_STUB, &code, PieceKind::PatchedEntry { traced: false })?;
        (None, vec![], None)
    } else {
        let (enc, placed, n) = write_trampoline(&mut b, &report, &loaded, wasm, engine)?;
        (Some(enc), placed, n)
    };
    b.region.make_executable()?;
    install_runtime(&report, loaded, maps, frame_of(encoded.as_ref()));
    let (stub, caller) = (b.addr(OFF_STUB), b.addr(OFF_CALLER));
    // The one re-entering helper the runtime offers; `rt` makes bpf_get_prandom_u32 call back.
    if s.function.reentry == Some(ReentryHelper::GetPrandomU32) {
        let words = vec![0u64; report.function.nr_regs()];
        rt::with(|r| r.reentry = Some((caller, stub, words)));
    }
    let checked = fixed_checked.map(|fixed_programs| WasmChecked {
        fixed_programs,
        trampoline_bytes: wasm_bytes,
    });
    let world = World {
        region: b.region,
        report,
        encoded,
        pieces: b.pieces,
        listing: placed,
        stub,
        caller,
    };
    Ok((world, checked))
}

/// Makes the scenario's calls through the argument caller.
fn make_calls(s: &Scenario, world: &World, data_base: u64) -> Result<Vec<CallResult>, ExecError> {
    let func = &world.report.function;
    let want = func.nr_regs();
    let mut calls = vec![];
    for c in 0..s.calls.len() {
        let words = call_words(s, c, world.stub, data_base).map_err(ExecError::Emu)?;
        if words.len() != want {
            return Err(ExecError::Emu(EmuError::ArgumentWords {
                call: c,
                given: words.len(),
                prototype: func.prototype(),
                want,
            }));
        }
        rt::with(|rt| rt.call = c);
        // SAFETY: `caller` is code generated for exactly this prototype; it loads the words into
        // the argument registers and stack slots and calls the patched entry, which runs the
        // model's trampoline and the traced body, all inside the executable region.
        let f: extern "C" fn(*const u64, u64) -> u64 = unsafe { std::mem::transmute(world.caller as *const ()) };
        let ret = f(words.as_ptr(), world.stub);
        calls.push(CallResult { words, ret });
    }
    Ok(calls)
}

/// Makes the scenario's calls and evaluates everything.
pub fn run(s: &Scenario, world: &World) -> Result<ExecReport, ExecError> {
    let data_base = rt::with(|rt| rt.bss.as_ptr() as u64);
    let calls = make_calls(s, world, data_base)?;
    let rt = rt::take().ok_or(ExecError::NoRuntime)?;
    let programs: Vec<ProgCounters> = rt
        .progs
        .iter()
        .map(|p| ProgCounters {
            name: p.name.clone(),
            runs: p.runs,
            misses: p.misses,
            active: p.active,
        })
        .collect();
    let outcome = Outcome {
        func: world.stub,
        data: data_base,
        calls: &calls,
        observations: &rt.observations,
        bss: &rt.bss,
        programs: &programs,
        tramp_calls: (rt.tramp_enters, rt.tramp_exits),
    };
    let Evaluated {
        problems,
        data,
        counters,
        expected_violation,
    } = evaluate(s, &world.report, world.encoded.as_ref(), &outcome);
    Ok(ExecReport {
        description: s.description.clone(),
        profile: world.report.profile.name.clone(),
        function: world.report.function.prototype(),
        func_addr: world.stub,
        tramp_addr: world.region.addr() + OFF_TRAMP as u64,
        data_addr: data_base,
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
