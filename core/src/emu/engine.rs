//! The executor with the world around a trampoline: a table from address to behaviour for every
//! call that leaves the executed code, the models behind them with the kernel's contract, and
//! the run loop of one call of the traced function.

use super::helpers::{self, lfsr113};
use super::report::{Access, InlineResult, Observation, ProgramSeen};
use super::trace::{Event, EventKind};
use crate::interp::{CallFault, Host, Memory, Prepared, RunOptions};
use crate::kernel::fixup::Inlined;
use crate::kernel::profile::MetaLayout;
use crate::kernel::program::{ArgLoc, FuncModel};
use crate::scenario::FunctionBody;
use crate::tramp::build::EnterExit;
use crate::tramp::layout::FrameLayout;
use crate::x86exec::{Cpu, ExecError, ExecErrorKind, Gpr, Machine, MemFault, StepFault};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::ops::Range;

/// What happens when execution reaches an address outside the executed code.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Behaviour {
    /// `__bpf_prog_enter*(prog, run_ctx)`: recursion counter, run_ctx swap, start time.
    ProgEnter {
        /// Which of the four.
        which: EnterExit,
    },
    /// `__bpf_prog_exit*(prog, start, run_ctx)`.
    ProgExit {
        /// Which of the four.
        which: EnterExit,
    },
    /// `__bpf_tramp_enter(im)`.
    TrampEnter,
    /// `__bpf_tramp_exit(im)`.
    TrampExit,
    /// The return thunk: a `ret`.
    ReturnThunk,
    /// The traced function's original body (what the trampoline calls, or returns into).
    TracedBody,
    /// A program's `bpf_func`: the fixed-up program, run by the interpreter with r1 = rdi.
    BpfFunc {
        /// The program (index in the run's programs).
        prog: usize,
    },
    /// The return address of the caller: the call is complete.
    CallerReturn,
    /// A helper a program's JIT image calls (the same models as for interpreted programs).
    Helper {
        /// The helper's id.
        id: i32,
    },
}

impl Behaviour {
    /// The kernel function's name (or what the address is).
    pub fn name(self) -> &'static str {
        match self {
            Behaviour::ProgEnter { which } => match which {
                EnterExit::Recur => "__bpf_prog_enter_recur",
                EnterExit::SleepableRecur => "__bpf_prog_enter_sleepable_recur",
                EnterExit::Plain => "__bpf_prog_enter",
                EnterExit::Sleepable => "__bpf_prog_enter_sleepable",
            },
            Behaviour::ProgExit { which } => match which {
                EnterExit::Recur => "__bpf_prog_exit_recur",
                EnterExit::SleepableRecur => "__bpf_prog_exit_sleepable_recur",
                EnterExit::Plain => "__bpf_prog_exit",
                EnterExit::Sleepable => "__bpf_prog_exit_sleepable",
            },
            Behaviour::TrampEnter => "__bpf_tramp_enter",
            Behaviour::TrampExit => "__bpf_tramp_exit",
            Behaviour::ReturnThunk => "__x86_return_thunk",
            Behaviour::TracedBody => "the traced function's body",
            Behaviour::BpfFunc { .. } => "bpf_func",
            Behaviour::Helper { id } => crate::isa::names::helper_name(id).unwrap_or("a helper"),
            Behaviour::CallerReturn => "the caller",
        }
    }
}

/// One program as the run knows it.
#[derive(Clone, Debug)]
pub struct EmuProg {
    /// Name.
    pub name: String,
    /// Its index in the scenario.
    pub scenario_index: usize,
    /// The fixed-up program, relocated and ready.
    pub prepared: Prepared,
    /// It calls `bpf_session_cookie`.
    pub cookie_user: bool,
    /// The inlined sequences of the fixed program.
    pub inlined: Vec<(Range<usize>, Inlined)>,
    /// `prog->active`.
    pub active: i32,
    /// Runs.
    pub runs: u64,
    /// Misses.
    pub misses: u64,
}

/// What the traced function's body received and returned, per entry.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BodyCall {
    /// The scenario call.
    pub call: usize,
    /// The argument words it received (registers and stack, as the ABI passes them).
    pub args: Vec<u64>,
    /// What it returned (`None`: it faulted).
    pub ret: Option<u64>,
}

/// A call that does not finish.
pub(crate) const STEP_BUDGET: u64 = 2_000_000;
/// The value the caller-saved registers hold after a modelled C function returns: the models
/// clobber what the ABI lets a callee clobber, so code that relied on them would show it.
pub const CLOBBERED: u64 = 0xdead_c0de_dead_c0de;
/// What the kernel stack holds before each call (`0xcc` bytes): memory the trampoline has not
/// written yet reads as this, where hardware would read whatever its stack held.
pub const UNINITIALIZED: u64 = 0xcccc_cccc_cccc_cccc;
const CALLER_SAVED: [Gpr; 8] = [Gpr(1), Gpr(2), Gpr(6), Gpr(7), Gpr(8), Gpr(9), Gpr(10), Gpr(11)];

/// The executor and everything the executed code calls.
pub struct Engine {
    /// The machine.
    pub m: Machine,
    /// Behaviours by address.
    pub table: BTreeMap<u64, Behaviour>,
    /// The programs.
    pub progs: Vec<EmuProg>,
    /// `struct bpf_prog *` to program index.
    pub prog_at: BTreeMap<u64, usize>,
    /// The traced function.
    pub func: FuncModel,
    /// Its body.
    pub body: FunctionBody,
    /// Its bias (`sum`).
    pub bias: i64,
    /// The frame (`None` without a trampoline).
    pub layout: Option<FrameLayout>,
    /// The verifier's view of `ctx[-1]`.
    pub verifier_meta: MetaLayout,
    /// Maps: (base, length).
    pub maps: Vec<(u64, u64)>,
    /// `current->bpf_ctx`.
    pub current_run_ctx: u64,
    /// `__bpf_tramp_enter`, `__bpf_tramp_exit` calls.
    pub tramp_calls: (u64, u64),
    /// The enter function's clock (start times; never 0 or 1).
    pub clock: u64,
    /// The helpers' clock.
    pub ktime: u64,
    /// LFSR113 state.
    pub rnd: [u32; 4],
    /// The scenario call being made.
    pub call: usize,
    /// Every program run.
    pub observations: Vec<Observation>,
    /// Every entry into the traced body.
    pub body_calls: Vec<BodyCall>,
    /// `bpf_get_prandom_u32` calls the traced function with these words.
    pub reentry: Option<Vec<u64>>,
    /// The trace, when recording.
    pub events: Option<Vec<Event>>,
    /// Steps executed.
    pub steps: u64,
    /// The caller's return address.
    pub caller_ret: u64,
    /// The traced function's (patched) entry.
    pub entry: u64,
    /// Programs that run as JIT images: image entry to program index.
    #[cfg(feature = "emu-jit")]
    pub jit_entries: BTreeMap<u64, usize>,
    /// JIT images running (innermost last): what is observed when each returns.
    #[cfg(feature = "emu-jit")]
    pub jit_pending: Vec<super::jit::Pending>,
}

fn fault_at(m: &Machine, addr: u64, f: StepFault) -> ExecError {
    m.error(addr, ExecErrorKind::Fault(f))
}

impl Engine {
    pub(crate) fn record(&mut self, kind: EventKind, before: Cpu, writes: Vec<crate::x86exec::MemWrite>) {
        if let Some(ev) = &mut self.events {
            ev.push(Event {
                kind,
                before,
                after: self.m.cpu,
                writes,
            });
        }
    }

    fn ret(&mut self, at: u64) -> Result<(), ExecError> {
        let sp = self.m.cpu.get(Gpr::RSP);
        let t = self
            .m
            .mem
            .read(sp, 8)
            .map_err(|f| fault_at(&self.m, at, StepFault::Memory(f)))?;
        self.m.cpu.set(Gpr::RSP, sp.wrapping_add(8));
        self.m.cpu.rip = t;
        Ok(())
    }

    fn clobber(&mut self) {
        for g in CALLER_SAVED {
            self.m.cpu.set(g, CLOBBERED);
        }
    }

    /// Calls the traced function (its patched entry at `entry`) with `words` on a stack below
    /// `stack_top`; returns rax.
    pub fn call_function(&mut self, entry: u64, words: &[u64], stack_top: u64) -> Result<u64, ExecError> {
        let saved = self.m.cpu;
        let aw = self.func.arg_words();
        let nstack = aw.iter().filter(|w| matches!(w.loc, ArgLoc::Stack(_))).count() as u64;
        let mut sp = (stack_top & !15) - (8 * nstack).div_ceil(16) * 16;
        for (w, v) in aw.iter().zip(words) {
            match w.loc {
                ArgLoc::Reg(i) => self.m.cpu.set(Gpr::ARGS[i], *v),
                ArgLoc::Stack(k) => {
                    let a = sp + 8 * k as u64;
                    self.m
                        .mem
                        .write(a, 8, *v)
                        .map_err(|f| fault_at(&self.m, entry, f.into()))?;
                }
            }
        }
        sp -= 8;
        self.m
            .mem
            .write(sp, 8, self.caller_ret)
            .map_err(|f| fault_at(&self.m, entry, f.into()))?;
        self.m.cpu.set(Gpr::RSP, sp);
        self.m.cpu.rip = entry;
        self.m.mem.take_log();
        let r = self.run_until_return(sp + 8);
        let rax = self.m.cpu.get(Gpr::RAX);
        // The caller's registers come back except rax: a nested call returns into a program.
        let mut back = saved;
        back.regs[0] = rax;
        self.m.cpu = back;
        r.map(|()| rax)
    }

    fn run_until_return(&mut self, sp_after: u64) -> Result<(), ExecError> {
        loop {
            let rip = self.m.cpu.rip;
            if rip == self.caller_ret && self.m.cpu.get(Gpr::RSP) == sp_after {
                return Ok(());
            }
            self.steps += 1;
            if self.steps > STEP_BUDGET {
                return Err(self.m.error(rip, ExecErrorKind::Budget { steps: self.steps }));
            }
            #[cfg(feature = "emu-jit")]
            {
                if !self.jit_pending.is_empty() {
                    self.jit_returned();
                }
                if let Some(&prog) = self.jit_entries.get(&rip) {
                    self.jit_entered(prog);
                }
            }
            match self.table.get(&rip).copied() {
                Some(b) => self.behave(b, rip)?,
                None => {
                    let e = self.m.step()?;
                    let kind = EventKind::Insn { addr: rip };
                    if let Some(ev) = &mut self.events {
                        ev.push(Event {
                            kind,
                            before: e.before,
                            after: e.after,
                            writes: e.writes,
                        });
                    }
                }
            }
        }
    }

    fn behave(&mut self, b: Behaviour, at: u64) -> Result<(), ExecError> {
        let before = self.m.cpu;
        let arg = |e: &Engine, i: usize| e.m.cpu.get(Gpr::ARGS[i]);
        match b {
            Behaviour::CallerReturn => {
                return Err(fault_at(&self.m, at, StepFault::InvalidOpcode));
            }
            Behaviour::ReturnThunk => self.ret(at)?,
            Behaviour::TrampEnter | Behaviour::TrampExit => {
                if b == Behaviour::TrampEnter {
                    self.tramp_calls.0 += 1;
                } else {
                    self.tramp_calls.1 += 1;
                }
                self.clobber();
                self.m.cpu.set(Gpr::RAX, CLOBBERED);
                self.ret(at)?;
            }
            Behaviour::ProgEnter { .. } => {
                let (prog, run_ctx) = (arg(self, 0), arg(self, 1));
                let start = self.prog_enter(prog, run_ctx, at)?;
                self.clobber();
                self.m.cpu.set(Gpr::RAX, start);
                self.ret(at)?;
            }
            Behaviour::ProgExit { .. } => {
                let (prog, run_ctx) = (arg(self, 0), arg(self, 2));
                self.prog_exit(prog, run_ctx, at)?;
                self.clobber();
                self.m.cpu.set(Gpr::RAX, CLOBBERED);
                self.ret(at)?;
            }
            Behaviour::TracedBody => {
                let ret = self.traced_body(at)?;
                self.clobber();
                self.m.cpu.set(Gpr::RAX, ret);
                self.ret(at)?;
            }
            Behaviour::Helper { id } => {
                let attach_cookie = self.read_word(self.current_run_ctx).unwrap_or(0);
                let top = self.m.cpu.get(Gpr::RSP).wrapping_sub(64);
                let v = self.helper_value(id, attach_cookie, top);
                self.clobber();
                self.m.cpu.set(Gpr::RAX, v?);
                self.ret(at)?;
            }
            Behaviour::BpfFunc { prog } => {
                // The program's writes are recorded by its own events; the return is one more.
                let writes = self.m.mem.take_log();
                self.record(EventKind::ProgramStart { prog }, before, writes);
                let r0 = self.bpf_func(prog, at)?;
                let before = self.m.cpu;
                self.clobber();
                self.m.cpu.set(Gpr::RAX, r0);
                self.ret(at)?;
                let writes = self.m.mem.take_log();
                self.record(EventKind::ProgramEnd { prog, r0 }, before, writes);
                return Ok(());
            }
        }
        let writes = self.m.mem.take_log();
        self.record(EventKind::Behaviour { behaviour: b, addr: at }, before, writes);
        Ok(())
    }

    fn prog_index(&self, prog: u64, at: u64) -> Result<usize, ExecError> {
        self.prog_at.get(&prog).copied().ok_or_else(|| {
            fault_at(
                &self.m,
                at,
                StepFault::Memory(MemFault {
                    addr: prog,
                    size: 8,
                    write: false,
                    unmapped: true,
                }),
            )
        })
    }

    fn prog_enter(&mut self, prog: u64, run_ctx: u64, at: u64) -> Result<u64, ExecError> {
        let idx = self.prog_index(prog, at)?;
        // run_ctx->saved_run_ctx = current->bpf_ctx; current->bpf_ctx = run_ctx.
        self.m
            .mem
            .write(run_ctx.wrapping_add(8), 8, self.current_run_ctx)
            .map_err(|f| fault_at(&self.m, at, f.into()))?;
        self.current_run_ctx = run_ctx;
        let p = &mut self.progs[idx];
        p.active += 1;
        if p.active != 1 {
            p.misses += 1;
            return Ok(0);
        }
        p.runs += 1;
        self.clock += 1;
        Ok(self.clock)
    }

    fn prog_exit(&mut self, prog: u64, run_ctx: u64, at: u64) -> Result<(), ExecError> {
        let idx = self.prog_index(prog, at)?;
        self.current_run_ctx = self
            .m
            .mem
            .read(run_ctx.wrapping_add(8), 8)
            .map_err(|f| fault_at(&self.m, at, f.into()))?;
        self.progs[idx].active -= 1;
        Ok(())
    }

    /// The argument words at the body's entry (return address at rsp).
    fn entry_words(&self, at: u64) -> Result<Vec<u64>, ExecError> {
        let sp = self.m.cpu.get(Gpr::RSP);
        self.func
            .arg_words()
            .iter()
            .map(|w| match w.loc {
                ArgLoc::Reg(i) => Ok(self.m.cpu.get(Gpr::ARGS[i])),
                ArgLoc::Stack(k) => self
                    .m
                    .mem
                    .read(sp + 8 + 8 * k as u64, 8)
                    .map_err(|f| fault_at(&self.m, at, f.into())),
            })
            .collect()
    }

    fn traced_body(&mut self, at: u64) -> Result<u64, ExecError> {
        let words = self.entry_words(at)?;
        let call = self.call;
        let result = match self.body {
            FunctionBody::Sum => {
                let aw = self.func.arg_words();
                let sum = aw
                    .iter()
                    .zip(&words)
                    .fold(0u64, |s, (w, v)| s.wrapping_add(w.value(*v)));
                Ok(sum.wrapping_add(self.bias as u64))
            }
            FunctionBody::ModifyReturn => {
                let (a, b) = (self.m.cpu.get(Gpr::RDI), self.m.cpu.get(Gpr::RSI));
                self.m
                    .mem
                    .read(b, 4)
                    .and_then(|v| {
                        let v = (v as u32).wrapping_add(1);
                        self.m.mem.write(b, 4, v as u64)?;
                        Ok(v.wrapping_add(a as u32) as u64)
                    })
                    .map_err(|f| fault_at(&self.m, at, f.into()))
            }
            FunctionBody::Fault => Err(fault_at(
                &self.m,
                at,
                StepFault::Memory(MemFault {
                    addr: 0,
                    size: 8,
                    write: false,
                    unmapped: true,
                }),
            )),
        };
        self.body_calls.push(BodyCall {
            call,
            args: words,
            ret: result.as_ref().ok().copied(),
        });
        result
    }

    /// A helper's value, with the kernel's meaning (`helpers`): the deterministic models both the
    /// interpreted programs and the JIT images call. `stack_top` is where a nested call of the
    /// traced function (`bpf_get_prandom_u32` with a reentry) puts its stack.
    pub(crate) fn helper_value(&mut self, id: i32, attach_cookie: u64, stack_top: u64) -> Result<u64, ExecError> {
        Ok(match id {
            helpers::KTIME_GET_NS => {
                let t = self.ktime;
                self.ktime += helpers::KTIME_STEP_NS;
                t
            }
            helpers::GET_PRANDOM_U32 => match self.reentry.clone() {
                None => u64::from(lfsr113(&mut self.rnd)),
                // The traced function is the helper's implementation: call it again.
                Some(words) => self.call_function(self.entry, &words, stack_top)? & 0xffff_ffff,
            },
            helpers::GET_SMP_PROCESSOR_ID => 0,
            helpers::GET_CURRENT_PID_TGID => helpers::PID_TGID,
            helpers::GET_ATTACH_COOKIE => attach_cookie,
            _ => {
                let at = self.m.cpu.rip;
                return Err(fault_at(&self.m, at, StepFault::InvalidOpcode));
            }
        })
    }

    pub(crate) fn read_word(&self, addr: u64) -> Option<u64> {
        self.m.mem.read(addr, 8).ok()
    }

    /// What program `idx` is entered with (ctx in rdi, the trampoline's frame at rbp), read
    /// before it runs; [`Engine::observe_return`] finishes it.
    pub(crate) fn observe_entry(&self, idx: usize) -> Entry {
        let ctx = self.m.cpu.get(Gpr::RDI);
        let rbp = self.m.cpu.get(Gpr::RBP);
        let (low_off, nr_regs, save_ret) = match &self.layout {
            Some(l) => (l.cookie_off as u64, l.nr_regs, l.save_ret),
            None => (8, 0, false),
        };
        let low = rbp.wrapping_sub(low_off);
        let func_meta = self.read_word(ctx.wrapping_sub(8)).unwrap_or(0);
        let decoded = self.verifier_meta.decode(func_meta);
        let cookie_ptr = self.progs[idx].cookie_user.then(|| ctx.wrapping_sub(8 * decoded.1));
        let words = low_off / 8;
        Entry {
            low,
            words,
            obs: Observation {
                prog: self.progs[idx].name.clone(),
                call: self.call,
                ctx,
                func_meta,
                decoded,
                cookie_ptr,
                cookie_before: self.cookie_word(cookie_ptr, low, rbp),
                cookie_after: None,
                args: (0..nr_regs)
                    .map(|k| self.read_word(ctx + 8 * k as u64).unwrap_or(0))
                    .collect(),
                retval: save_ret.then(|| self.read_word(rbp.wrapping_sub(8)).unwrap_or(0)),
                r0: Ok(0),
                rbp,
                frame_before: self.frame_words(low, words),
                frame_after: vec![],
                seen: None,
            },
        }
    }

    /// The program's observation at its return, with what it returned and, when interpreted,
    /// what it was seen to do.
    pub(crate) fn observe_return(
        &self,
        e: Entry,
        r0: Result<u64, crate::interp::VmError>,
        seen: Option<Box<ProgramSeen>>,
    ) -> Observation {
        Observation {
            cookie_after: self.cookie_word(e.obs.cookie_ptr, e.low, e.obs.rbp),
            frame_after: self.frame_words(e.low, e.words),
            r0,
            seen,
            ..e.obs
        }
    }

    /// The program's cookie slot, when it has one inside the frame (`low` up to `rbp`).
    fn cookie_word(&self, cookie_ptr: Option<u64>, low: u64, rbp: u64) -> Option<u64> {
        cookie_ptr
            .filter(|&p| p >= low && p.wrapping_add(8) <= rbp)
            .and_then(|p| self.read_word(p))
    }

    /// The frame words a program may touch, from the lowest cookie slot up to rbp.
    fn frame_words(&self, low: u64, words: u64) -> Vec<u64> {
        (0..words).map(|k| self.read_word(low + 8 * k).unwrap_or(0)).collect()
    }

    /// Runs program `idx` as its `bpf_func(ctx)`: returns r0 (0 if it failed, as native).
    fn bpf_func(&mut self, idx: usize, _at: u64) -> Result<u64, ExecError> {
        let entry = self.observe_entry(idx);
        let ctx = entry.obs.ctx;
        let rsp = self.m.cpu.get(Gpr::RSP);
        let attach_cookie = self.read_word(self.current_run_ctx).unwrap_or(0);
        let mut regions = vec![(entry.low, 8 * entry.words), (rsp.wrapping_sub(PROG_STACK), PROG_STACK)];
        regions.extend(self.maps.iter().copied());
        let prepared = self.progs[idx].prepared.clone();
        let inlined = self.progs[idx].inlined.clone();
        let mut host = ProgHost {
            e: self,
            prog: idx,
            regions,
            attach_cookie,
            seen: ProgramSeen::default(),
            inlined,
            open: None,
            stop: None,
            last_event: None,
            pc: 0,
        };
        let res = prepared.run(
            &mut host,
            [ctx, 0, 0, 0, 0],
            RunOptions {
                budget: 1_000_000,
                stack_top: rsp,
            },
        );
        host.close_inline(None);
        host.flush_event();
        let (seen, stop) = (host.seen, host.stop);
        if let Some(e) = stop {
            return Err(e);
        }
        let r0 = res.map(|r| r.r0);
        let ret = *r0.as_ref().unwrap_or(&0);
        let obs = self.observe_return(entry, r0, Some(Box::new(seen)));
        self.observations.push(obs);
        Ok(ret)
    }
}

/// A program entered: its observation so far and the frame words it may touch.
#[derive(Clone, Debug)]
pub(crate) struct Entry {
    /// What it was entered with.
    pub obs: Observation,
    /// The lowest frame word it may touch.
    pub low: u64,
    /// How many words from there up to rbp.
    pub words: u64,
}

/// The program stack below the `bpf_func` call's return address (the kernel's interpreter keeps
/// it in its own frame; a JIT image below the trampoline's): room for every call depth.
const PROG_STACK: u64 = (crate::interp::STACK_FRAME_SIZE * crate::interp::MAX_CALL_DEPTH) as u64;

/// The interpreter's view of the executor: the program-visible regions of the executor's
/// memory, the helpers, and the recording of each instruction and access.
struct ProgHost<'e> {
    e: &'e mut Engine,
    prog: usize,
    regions: Vec<(u64, u64)>,
    attach_cookie: u64,
    seen: ProgramSeen,
    inlined: Vec<(Range<usize>, Inlined)>,
    /// The inlined sequence being executed: (index in `inlined`, first access).
    open: Option<(usize, usize)>,
    /// A nested call faulted: the run stops with it.
    stop: Option<ExecError>,
    /// The index of this program's latest event, whose writes are still being collected.
    last_event: Option<usize>,
    pc: usize,
}

impl ProgHost<'_> {
    fn allowed(&self, addr: u64, size: u8) -> bool {
        self.regions.iter().any(|&(base, len)| {
            let o = addr.wrapping_sub(base);
            o < len && size as u64 <= len - o
        })
    }

    fn close_inline(&mut self, r0: Option<u64>) {
        if let Some((i, first)) = self.open.take() {
            let (range, what) = self.inlined[i].clone();
            self.seen.inlined.push(InlineResult {
                what,
                start: range.start,
                r0: r0.unwrap_or(0),
                accesses: (first..self.seen.accesses.len()).collect(),
            });
        }
    }

    fn flush_event(&mut self) {
        let writes = self.e.m.mem.take_log();
        if let (Some(i), Some(ev)) = (self.last_event, &mut self.e.events) {
            if let Some(e) = ev.get_mut(i) {
                e.writes.extend(writes);
            }
        }
    }

    fn access(&mut self, addr: u64, size: u8, write: bool, value: Option<u64>) {
        self.seen.accesses.push(Access {
            pc: self.pc,
            addr,
            size,
            write,
            value,
        });
    }
}

impl Memory for ProgHost<'_> {
    fn load(&mut self, addr: u64, size: u8) -> Option<u64> {
        let v = if self.allowed(addr, size) {
            self.e.m.mem.read(addr, size).ok()
        } else {
            None
        };
        self.access(addr, size, false, v);
        v
    }
    fn store(&mut self, addr: u64, size: u8, value: u64) -> bool {
        let ok = self.allowed(addr, size) && self.e.m.mem.write(addr, size, value).is_ok();
        self.access(addr, size, true, ok.then_some(value));
        ok
    }
}

impl Host for ProgHost<'_> {
    fn step(&mut self, pc: usize, regs: &[u64; 16]) {
        if let Some((i, _)) = self.open {
            if !self.inlined[i].0.contains(&pc) {
                self.close_inline(Some(regs[0]));
            }
        }
        if self.open.is_none() {
            if let Some(i) = self.inlined.iter().position(|(r, _)| r.start == pc) {
                self.open = Some((i, self.seen.accesses.len()));
            }
        }
        self.pc = pc;
        if self.e.events.is_some() {
            self.flush_event();
        }
        let cpu = self.e.m.cpu;
        if let Some(ev) = &mut self.e.events {
            let mut r = [0u64; 11];
            r.copy_from_slice(&regs[..11]);
            ev.push(Event {
                kind: EventKind::Bpf {
                    prog: self.prog,
                    pc,
                    regs: r,
                },
                before: cpu,
                after: cpu,
                writes: vec![],
            });
            self.last_event = Some(ev.len() - 1);
        }
    }

    fn call_helper(&mut self, id: i32, _args: [u64; 5]) -> Result<u64, CallFault> {
        if !helpers::is_modelled(id) {
            return Err(CallFault::Unknown);
        }
        if id == helpers::GET_PRANDOM_U32 && self.e.reentry.is_some() {
            // The nested call of the traced function runs on the stack below this program's.
            self.flush_event();
        }
        let top = self.e.m.cpu.get(Gpr::RSP).wrapping_sub(PROG_STACK + 64);
        match self.e.helper_value(id, self.attach_cookie, top) {
            Ok(v) => Ok(v),
            Err(err) => {
                self.stop = Some(err);
                Err(CallFault::Failed(
                    "the nested call of the traced function stopped".into(),
                ))
            }
        }
    }
}
