//! The contract between the verifier's inlines and the trampoline: for every program and pass,
//! the word the trampoline stored in `ctx[-1]`, decoded the way this profile's verifier inlines
//! decode it, must give the intended nr_args, cookie slot and is_return.

use super::{Encoded, Invocation, Pass};
use crate::kernel::profile::MetaLayout;
use crate::kernel::program::AttachType;
use serde::{Deserialize, Serialize};

/// The program invocation a contract problem is about: `prog (attach, pass)`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Invoked {
    /// Program.
    pub prog: String,
    /// Its attach type.
    pub attach: AttachType,
    /// Pass.
    pub pass: Pass,
}

impl std::fmt::Display for Invoked {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({}, {})", self.prog, self.attach, self.pass.name())
    }
}

/// Where a `ctx[-i]` read lands in the frame: its rbp offset and the slot there, if any.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FrameRead {
    /// The ctx index read (`ctx[-index]`).
    pub index: u64,
    /// `[rbp + rbp_off]`.
    pub rbp_off: i32,
    /// The slot's name, or `None` outside the frame.
    pub slot: Option<String>,
}

impl std::fmt::Display for FrameRead {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let slot = self.slot.as_deref().unwrap_or("outside the frame");
        write!(f, "ctx[-{}] (rbp{:+}, {slot})", self.index, self.rbp_off)
    }
}

/// One way the verifier's inlines and the trampoline disagree, as data.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ContractProblem {
    /// The inlined `bpf_get_func_arg_cnt()` reads another nr_args than the function has.
    #[error("{who}: ctx[-1] = {stored:#x} reads as nr_args {read} with {profile}'s inlines, the function has {slots} argument slots")]
    NrArgs {
        /// The invocation.
        who: Invoked,
        /// The stored word.
        stored: u64,
        /// nr_args as the inline reads it.
        read: u64,
        /// The profile whose inlines read it.
        profile: String,
        /// The function's argument register slots.
        slots: u64,
    },
    /// `bpf_session_cookie()` returns another slot than the cookie the trampoline reserved.
    #[error("{who}: bpf_session_cookie() returns {read}; its cookie slot is ctx[-{want}] (rbp{want_off:+})")]
    CookieSlot {
        /// The invocation.
        who: Invoked,
        /// Where the inline's read lands.
        read: FrameRead,
        /// The cookie's ctx index.
        want: u64,
        /// The cookie's rbp offset.
        want_off: i32,
    },
    /// A cookie user in a trampoline that reserved no cookie slot for it.
    #[error("{who}: ctx[-1] = {stored:#x} has cookie index {}, so bpf_session_cookie() returns {read}{}; this trampoline reserved no cookie slot",
        read.index,
        if read.index == 0 { ": the cookie aliases the first argument (ctx[0]), and writing the cookie overwrites it" } else { "" })]
    NoCookieSlot {
        /// The invocation.
        who: Invoked,
        /// The stored word.
        stored: u64,
        /// Where the inline's read lands.
        read: FrameRead,
    },
    /// `bpf_session_is_return()` reads the wrong pass.
    #[error("{who}: bpf_session_is_return() reads {} from ctx[-1] = {stored:#x}, the pass is the {}", *read as u8, who.pass.name())]
    IsReturn {
        /// The invocation.
        who: Invoked,
        /// The stored word.
        stored: u64,
        /// is_return as the inline reads it.
        read: bool,
    },
}

/// The verdict for one program invocation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ContractLine {
    /// Program.
    pub prog: String,
    /// Pass.
    pub pass: Pass,
    /// The stored word.
    pub stored: u64,
    /// nr_args as the inlines read it.
    pub nr_args: u64,
    /// Cookie index as the inline reads it (cookie users).
    pub cookie_index: Option<u64>,
    /// is_return as the inline reads it (fsession programs).
    pub is_return: Option<bool>,
    /// Problems; empty when the contract holds.
    pub problems: Vec<ContractProblem>,
}

/// The contract check's verdict.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Contract {
    /// One line per invocation.
    pub lines: Vec<ContractLine>,
}

impl Contract {
    /// Whether every invocation sees what the trampoline intends.
    pub fn holds(&self) -> bool {
        self.lines.iter().all(|l| l.problems.is_empty())
    }
}

/// Checks every invocation of an encoded trampoline against the verifier's layout.
pub fn check(enc: &Encoded, verifier_meta: &MetaLayout, profile_name: &str) -> Contract {
    let l = &enc.layout;
    let nr = l.nr_regs as u64;
    let lines = enc
        .invocations
        .iter()
        .map(|inv: &Invocation| {
            let (dnr, didx, dret) = verifier_meta.decode(inv.func_meta);
            let who = Invoked {
                prog: inv.prog.clone(),
                attach: inv.attach,
                pass: inv.pass,
            };
            let mut problems = Vec::new();
            if dnr != nr {
                problems.push(ContractProblem::NrArgs {
                    who: who.clone(),
                    stored: inv.func_meta,
                    read: dnr,
                    profile: profile_name.to_string(),
                    slots: nr,
                });
            }
            let cookie_user = inv.cookie_index.is_some();
            if cookie_user {
                let ctx_off = |i: u64| -l.regs_off - 8 * i as i32;
                let read = FrameRead {
                    index: didx,
                    rbp_off: ctx_off(didx),
                    slot: l.slot_at(ctx_off(didx)).map(|s| s.name.clone()),
                };
                match inv.cookie_index.filter(|&c| c > 0) {
                    Some(want) if want == didx => {}
                    Some(want) => problems.push(ContractProblem::CookieSlot {
                        who: who.clone(),
                        read,
                        want,
                        want_off: ctx_off(want),
                    }),
                    None => problems.push(ContractProblem::NoCookieSlot {
                        who: who.clone(),
                        stored: inv.func_meta,
                        read,
                    }),
                }
            }
            let is_fsession = inv.attach == AttachType::Fsession;
            if is_fsession && dret != (inv.pass == Pass::Exit) {
                problems.push(ContractProblem::IsReturn {
                    who,
                    stored: inv.func_meta,
                    read: dret,
                });
            }
            ContractLine {
                prog: inv.prog.clone(),
                pass: inv.pass,
                stored: inv.func_meta,
                nr_args: dnr,
                cookie_index: cookie_user.then_some(didx),
                is_return: is_fsession.then_some(dret),
                problems,
            }
        })
        .collect();
    Contract { lines }
}
