//! Programs as their JIT images in the executor: each program's image is compiled by the
//! model's JIT (after the verifier's rewrites it relies on) for its `bpf_func` address and
//! mapped there, so a call's step-through enters the program's x86 code; its helper calls go to
//! the helpers' models. What the program saw is recorded when its image is entered and when it
//! returns, from the executed frame, as for interpreted programs (without the per-instruction
//! view of the interpreter: `seen` stays empty, as on hardware).

use super::engine::{Behaviour, Engine, Entry};
use super::helpers;
use super::run::EmuError;
use super::trace::EventKind;
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
    entry: Entry,
}

impl Engine {
    /// A program's image is entered (rip at its first byte, the return address on the stack,
    /// rbp still the trampoline's).
    pub(crate) fn jit_entered(&mut self, prog: usize) {
        let rsp = self.m.cpu.get(Gpr::RSP);
        let entry = self.observe_entry(prog);
        let ret = self.read_word(rsp).unwrap_or(0);
        let before = self.m.cpu;
        self.record(EventKind::ProgramStart { prog }, before, vec![]);
        self.jit_pending.push(Pending {
            prog,
            ret,
            rsp_after: rsp.wrapping_add(8),
            entry,
        });
    }

    /// Finishes the innermost running image's observation if it has just returned.
    pub(crate) fn jit_returned(&mut self) {
        let Some(p) = self.jit_pending.last() else { return };
        if self.m.cpu.rip != p.ret || self.m.cpu.get(Gpr::RSP) != p.rsp_after {
            return;
        }
        let Some(p) = self.jit_pending.pop() else { return };
        let r0 = self.m.cpu.get(Gpr::RAX);
        let before = self.m.cpu;
        self.record(EventKind::ProgramEnd { prog: p.prog, r0 }, before, vec![]);
        let obs = self.observe_return(p.entry, Ok(r0), None);
        self.observations.push(obs);
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
        let (_, image) = compile_at(
            insns,
            &report.profile,
            at,
            place.symbols.return_thunk,
            helpers::is_modelled,
        )
        .map_err(|x| jit_err(x.to_string()))?;
        for f in &image.funcs {
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
