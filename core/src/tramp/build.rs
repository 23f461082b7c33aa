//! From a checked scenario to the encoder's input: the lists the accounting produced, with
//! deterministic kernel-like addresses (same scenario, same bytes).

use super::{Addresses, ProgImage, TrampolineSpec};
use crate::kernel::link::{ListEntry, TrampolineLinks};
use crate::kernel::profile::Profile;
use crate::kernel::profile::TrampolineMode;
use crate::kernel::program::{AttachType, FuncModel};
use crate::scenario::CheckReport;
use serde::Serialize;

/// Addresses of the kernel symbols the trampoline calls (those of the oracle machine).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct KernelSymbols {
    /// `__bpf_prog_enter`.
    pub prog_enter: u64,
    /// `__bpf_prog_exit`.
    pub prog_exit: u64,
    /// `__bpf_prog_enter_sleepable`.
    pub prog_enter_sleepable: u64,
    /// `__bpf_prog_exit_sleepable`.
    pub prog_exit_sleepable: u64,
    /// `__bpf_prog_enter_recur`.
    pub prog_enter_recur: u64,
    /// `__bpf_prog_exit_recur`.
    pub prog_exit_recur: u64,
    /// `__bpf_prog_enter_sleepable_recur`.
    pub prog_enter_sleepable_recur: u64,
    /// `__bpf_prog_exit_sleepable_recur`.
    pub prog_exit_sleepable_recur: u64,
    /// `__bpf_tramp_enter`.
    pub tramp_enter: u64,
    /// `__bpf_tramp_exit`.
    pub tramp_exit: u64,
    /// The return thunk.
    pub return_thunk: u64,
}

/// The symbol addresses recorded with the 6.18 oracle captures (kernel-oracle/README.md); the
/// sleepable variants, not recorded there, are placed next to them.
pub const ORACLE_SYMBOLS: KernelSymbols = KernelSymbols {
    prog_enter: 0xffff_ffff_8152_f650,
    prog_exit: 0xffff_ffff_8152_f860,
    prog_enter_sleepable: 0xffff_ffff_8152_f540,
    prog_exit_sleepable: 0xffff_ffff_8152_fb90,
    prog_enter_recur: 0xffff_ffff_8152_f210,
    prog_exit_recur: 0xffff_ffff_8152_f970,
    prog_enter_sleepable_recur: 0xffff_ffff_8152_f440,
    prog_exit_sleepable_recur: 0xffff_ffff_8152_fa80,
    tramp_enter: 0xffff_ffff_8152_fee0,
    tramp_exit: 0xffff_ffff_8152_ff20,
    return_thunk: 0xffff_ffff_8110_410b,
};

/// Which `__bpf_prog_enter*` / `__bpf_prog_exit*` pair the trampoline calls for a program
/// (`bpf_trampoline_enter()`, reference §2.8).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EnterExit {
    /// `__bpf_prog_enter_recur`: tracing programs (fentry, fexit, fmod_ret, fsession).
    Recur,
    /// `__bpf_prog_enter_sleepable_recur`.
    SleepableRecur,
    /// `__bpf_prog_enter`: no recursion check (struct_ops without a private stack).
    Plain,
    /// `__bpf_prog_enter_sleepable`.
    Sleepable,
}

impl EnterExit {
    /// The pair for a program: `bpf_prog_check_recur()` is true for tracing programs and false
    /// for struct_ops (6.12 and 6.18 struct_ops captures call `__bpf_prog_enter`).
    pub fn for_program(attach: AttachType, sleepable: bool) -> EnterExit {
        match (attach.is_tracing(), sleepable) {
            (true, false) => EnterExit::Recur,
            (true, true) => EnterExit::SleepableRecur,
            (false, false) => EnterExit::Plain,
            (false, true) => EnterExit::Sleepable,
        }
    }
    /// (enter, exit) addresses.
    pub fn addrs(self, s: &KernelSymbols) -> (u64, u64) {
        match self {
            EnterExit::Recur => (s.prog_enter_recur, s.prog_exit_recur),
            EnterExit::SleepableRecur => (s.prog_enter_sleepable_recur, s.prog_exit_sleepable_recur),
            EnterExit::Plain => (s.prog_enter, s.prog_exit),
            EnterExit::Sleepable => (s.prog_enter_sleepable, s.prog_exit_sleepable),
        }
    }
}

/// Where one program's kernel objects are (a capture's recorded addresses).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct ProgAddrs {
    /// `struct bpf_prog *`.
    pub prog: u64,
    /// `prog->bpf_func`.
    pub bpf_func: u64,
}

/// Where things are placed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Placement {
    /// The trampoline image.
    pub image: u64,
    /// The traced function.
    pub func: u64,
    /// `struct bpf_tramp_image *`.
    pub im: u64,
    /// `struct bpf_prog *` of program i is `prog_base + i * 0x1000`.
    pub prog_base: u64,
    /// `bpf_func` of program i is `func_base + i * 0x800`.
    pub func_base: u64,
    /// Kernel symbols.
    pub symbols: KernelSymbols,
    /// Per program (by its index in the scenario), addresses that replace the computed ones.
    pub programs: Vec<Option<ProgAddrs>>,
}

impl Default for Placement {
    fn default() -> Self {
        Placement {
            image: 0xffff_ffff_c000_0000,
            func: 0xffff_ffff_8124_5670,
            im: 0xffff_8881_0000_0000,
            prog_base: 0xffff_c900_0040_0000,
            func_base: 0xffff_ffff_a000_0000,
            symbols: ORACLE_SYMBOLS,
            programs: Vec::new(),
        }
    }
}

impl Placement {
    /// Where program `i` (index in the scenario) is.
    pub fn program(&self, i: usize) -> ProgAddrs {
        self.programs.get(i).copied().flatten().unwrap_or(ProgAddrs {
            prog: self.prog_base + i as u64 * 0x1000,
            bpf_func: self.func_base + i as u64 * 0x800,
        })
    }
}

fn image_of(e: &ListEntry, sleepable: bool, place: &Placement) -> ProgImage {
    let at = place.program(e.link.prog);
    let (enter, exit) = EnterExit::for_program(e.link.attach, sleepable).addrs(&place.symbols);
    ProgImage {
        name: e.link.name.clone(),
        attach: e.link.attach,
        shadow: e.shadow,
        cookie: e.link.cookie,
        call_session_cookie: e.link.call_session_cookie,
        prog: at.prog,
        bpf_func: at.bpf_func,
        insns: None,
        enter,
        exit,
    }
}

/// The encoder input for a checked scenario.
pub fn spec_for(report: &CheckReport, place: &Placement) -> TrampolineSpec {
    let sleepable = |i: usize| report.programs.get(i).is_some_and(|p| p.program.sleepable);
    spec_from_links(&report.trampoline, &report.function, &report.profile, &sleepable, place)
}

/// The encoder input from the accounting's lists; `sleepable(i)` says whether program `i` is
/// sleepable (it then uses the sleepable enter/exit functions).
pub fn spec_from_links(
    t: &TrampolineLinks,
    func: &FuncModel,
    profile: &Profile,
    sleepable: &dyn Fn(usize) -> bool,
    place: &Placement,
) -> TrampolineSpec {
    let conv = |v: &Vec<ListEntry>| v.iter().map(|e| image_of(e, sleepable(e.link.prog), place)).collect();
    TrampolineSpec {
        func: func.clone(),
        flags: t.flags,
        fentry: conv(&t.fentry),
        fexit: conv(&t.fexit),
        fmod_ret: conv(&t.fmod_ret),
        addrs: Addresses {
            image: place.image,
            func: place.func,
            im: place.im,
            tramp_enter: place.symbols.tramp_enter,
            tramp_exit: place.symbols.tramp_exit,
            return_thunk: place.symbols.return_thunk,
        },
        meta: profile.trampoline_meta,
        mitigations: profile.mitigations,
        ftrace_with_jmp: profile.mode == TrampolineMode::Jmp,
    }
}
