//! Programs as their JIT images in the executor: each program's image is compiled by the
//! model's JIT (after the verifier's rewrites it relies on) for its `bpf_func` address and
//! mapped there, so a call's step-through enters the program's x86 code; its helper calls go to
//! the helpers' models. What the program saw is recorded when its image is entered and when it
//! returns, from the executed frame, as for interpreted programs (without the per-instruction
//! view of the interpreter: `seen` stays empty, as on hardware).

use super::engine::{Behaviour, Engine};
use super::helpers;
use super::report::Observation;
use super::run::EmuError;
use super::trace::EventKind;
use crate::isa::{decode_program_internal, Instr};
use crate::jit::scenario::compile_at;
use crate::scenario::CheckReport;
use crate::tramp::build::Placement;
use crate::x86exec::{AreaKind, Gpr, Perms};

pub use crate::jit::scenario::{HELPER_BASE, IMAGE_ROOM};

/// A JIT image running: what its return is recognised by, and what was read at its entry.
#[derive(Clone, Debug)]
pub struct Pending {
    /// The program.
    pub prog: usize,
    /// The return address its caller pushed.
    pub ret: u64,
    /// rsp after its return.
    pub rsp_after: u64,
    /// The observation so far (r0 and the frame after are filled at the return).
    pub seen: Observation,
    low: u64,
    words: u64,
}

impl Engine {
    /// The frame words the programs may touch: from the lowest cookie slot up to rbp.
    fn frame_range(&self, rbp: u64) -> (u64, u64) {
        let low_off = self.layout.as_ref().map_or(8, |l| l.cookie_off as u64);
        (rbp.wrapping_sub(low_off), low_off / 8)
    }

    /// A program's image is entered (rip at its first byte, the return address on the stack).
    pub(crate) fn jit_entered(&mut self, prog: usize) {
        let ctx = self.m.cpu.get(Gpr::RDI);
        let rsp = self.m.cpu.get(Gpr::RSP);
        // The trampoline's frame: its rbp is still the caller's when the image is entered.
        let rbp = self.m.cpu.get(Gpr::RBP);
        let (low, words) = self.frame_range(rbp);
        let (nr_regs, save_ret) = self.layout.as_ref().map_or((0, false), |l| (l.nr_regs, l.save_ret));
        let func_meta = self.read_word(ctx.wrapping_sub(8)).unwrap_or(0);
        let decoded = self.verifier_meta.decode(func_meta);
        let cookie_ptr = self.progs[prog].cookie_user.then(|| ctx.wrapping_sub(8 * decoded.1));
        let in_frame = |p: u64| p >= low && p.wrapping_add(8) <= rbp;
        let cookie_before = cookie_ptr.filter(|&p| in_frame(p)).and_then(|p| self.read_word(p));
        let args = (0..nr_regs)
            .map(|k| self.read_word(ctx + 8 * k as u64).unwrap_or(0))
            .collect();
        let retval = save_ret.then(|| self.read_word(rbp.wrapping_sub(8)).unwrap_or(0));
        let frame_before = (0..words).map(|k| self.read_word(low + 8 * k).unwrap_or(0)).collect();
        let ret = self.read_word(rsp).unwrap_or(0);
        let before = self.m.cpu;
        self.record(EventKind::ProgramStart { prog }, before, vec![]);
        self.jit_pending.push(Pending {
            prog,
            ret,
            rsp_after: rsp.wrapping_add(8),
            low,
            words,
            seen: Observation {
                prog: self.progs[prog].name.clone(),
                call: self.call,
                ctx,
                func_meta,
                decoded,
                cookie_ptr,
                cookie_before,
                cookie_after: None,
                args,
                retval,
                r0: Ok(0),
                rbp,
                frame_before,
                frame_after: vec![],
                seen: None,
            },
        });
    }

    /// Finishes the innermost running image's observation if it has just returned.
    pub(crate) fn jit_returned(&mut self) {
        let Some(p) = self.jit_pending.last() else { return };
        if self.m.cpu.rip != p.ret || self.m.cpu.get(Gpr::RSP) != p.rsp_after {
            return;
        }
        let Some(mut p) = self.jit_pending.pop() else { return };
        let r0 = self.m.cpu.get(Gpr::RAX);
        let rbp = p.seen.rbp;
        let in_frame = |a: u64| a >= p.low && a.wrapping_add(8) <= rbp;
        p.seen.cookie_after = p
            .seen
            .cookie_ptr
            .filter(|&a| in_frame(a))
            .and_then(|a| self.read_word(a));
        p.seen.frame_after = (0..p.words)
            .map(|k| self.read_word(p.low + 8 * k).unwrap_or(0))
            .collect();
        p.seen.r0 = Ok(r0);
        let before = self.m.cpu;
        self.record(EventKind::ProgramEnd { prog: p.prog, r0 }, before, vec![]);
        self.observations.push(p.seen);
    }
}

/// Compiles every loaded program with the model's JIT for its `bpf_func` address (under the
/// scenario's profile, mitigations included: the executor runs the kernel's bytes) and maps the
/// images there; the programs then run as x86 code instead of in the interpreter.
pub fn place_jit_images(e: &mut Engine, report: &CheckReport, place: &Placement) -> Result<(), EmuError> {
    let mut code = vec![0xccu8; 16 * 256];
    for id in helpers::MODELLED {
        e.table.insert(HELPER_BASE + 16 * id as u64, Behaviour::Helper { id });
        if let Some(b) = code.get_mut(16 * id as usize) {
            *b = 0xc3;
        }
    }
    e.m.mem
        .map(AreaKind::Code, HELPER_BASE, code, Perms::RX)
        .ok_or_else(|| EmuError::Placement { what: "helpers".into() })?;
    for k in 0..e.progs.len() {
        let i = e.progs[k].scenario_index;
        let name = e.progs[k].name.clone();
        let at = place.program(i).bpf_func;
        let jit_err = |m: String| EmuError::Jit {
            program: name.clone(),
            message: m,
        };
        let insns = e.progs[k].prepared.insns();
        let decoded = decode_program_internal(insns).map_err(|x| jit_err(x.to_string()))?;
        for (slot, instr) in &decoded {
            if let Instr::CallHelper(id) = instr {
                if !helpers::is_modelled(*id) {
                    return Err(jit_err(format!("insn {slot}: no model of helper {id}")));
                }
            }
        }
        let (_, image) =
            compile_at(insns, &report.profile, at, place.symbols.return_thunk).map_err(|x| jit_err(x.to_string()))?;
        let per = IMAGE_ROOM / image.funcs.len().max(1) as u64 / 16 * 16;
        for f in &image.funcs {
            if f.bytes.len() as u64 > per {
                return Err(jit_err(format!(
                    "the image of subprogram {} ({} bytes) does not fit its {per} bytes",
                    f.index,
                    f.bytes.len()
                )));
            }
            e.m.mem
                .map(AreaKind::Code, f.addr, f.bytes.clone(), Perms::RX)
                .ok_or_else(|| EmuError::Placement {
                    what: format!("the JIT image of {name}"),
                })?;
        }
        e.table.remove(&at);
        e.jit_entries.insert(at, k);
    }
    Ok(())
}
