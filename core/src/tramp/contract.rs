//! The contract between the verifier's inlines and the trampoline: for every program and pass,
//! the word the trampoline stored in `ctx[-1]`, decoded the way this profile's verifier inlines
//! decode it, must give the intended nr_args, cookie slot and is_return.

use super::{Encoded, Invocation, Pass};
use crate::kernel::profile::MetaLayout;
use crate::kernel::program::AttachType;
use serde::Serialize;

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
    pub problems: Vec<String>,
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
            let who = format!("{} ({}, {})", inv.prog, inv.attach, inv.pass.name());
            let mut problems = Vec::new();
            if dnr != nr {
                problems.push(format!(
                    "{who}: ctx[-1] = {:#x} reads as nr_args {dnr} with {profile_name}'s inlines, the function has {nr} argument slots",
                    inv.func_meta
                ));
            }
            let cookie_user = inv.cookie_index.is_some();
            if cookie_user {
                let got_off = -l.regs_off - 8 * didx as i32;
                let got_slot = l.slot_at(got_off).map(|s| s.name.clone()).unwrap_or_else(|| "outside the frame".into());
                match inv.cookie_index.filter(|&c| c > 0) {
                    Some(want) if want == didx => {}
                    Some(want) => problems.push(format!(
                        "{who}: bpf_session_cookie() returns ctx[-{didx}] (rbp{got_off:+}, {got_slot}); its cookie slot is ctx[-{want}] (rbp{:+})",
                        -l.regs_off - 8 * want as i32
                    )),
                    None => problems.push(format!(
                        "{who}: ctx[-1] = {:#x} has cookie index {didx}, so bpf_session_cookie() returns ctx[-{didx}] (rbp{got_off:+}, {got_slot}){}; this trampoline reserved no cookie slot",
                        inv.func_meta,
                        if didx == 0 { ": the cookie aliases the first argument (ctx[0]), and writing the cookie overwrites it" } else { "" }
                    )),
                }
            }
            let is_fsession = inv.attach == AttachType::Fsession;
            if is_fsession {
                let want = inv.pass == Pass::Exit;
                if dret != want {
                    problems.push(format!(
                        "{who}: bpf_session_is_return() reads {} from ctx[-1] = {:#x}, the pass is the {}",
                        dret as u8,
                        inv.func_meta,
                        inv.pass.name()
                    ));
                }
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
