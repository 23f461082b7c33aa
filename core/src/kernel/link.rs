//! Trampoline link accounting (reference §4): which programs sit on one traced function, in
//! which order, within which limits, and the flags the trampoline gets.

use super::profile::{Profile, TrampolineMode};
use super::program::{AttachType, FuncModel};
use crate::errno::Errno;
use serde::Serialize;
use thiserror::Error;

/// `BPF_TRAMP_F_*` flags (include/linux/bpf.h).
pub mod flags {
    /// Restore argument registers before returning (no original call).
    pub const RESTORE_REGS: u32 = 0x1;
    /// Call the original function.
    pub const CALL_ORIG: u32 = 0x2;
    /// Skip the traced function's frame on return (call mode).
    pub const SKIP_FRAME: u32 = 0x4;
    /// Store the traced function's address at ctx[-2].
    pub const IP_ARG: u32 = 0x8;
    /// Return the value of the fentry program (struct_ops).
    pub const RET_FENTRY_RET: u32 = 0x10;
    /// Original call through the stacked return address (ftrace IPMODIFY sharing).
    pub const ORIG_STACK: u32 = 0x20;
    /// Shared IPMODIFY with a live patch.
    pub const SHARE_IPMODIFY: u32 = 0x40;
    /// Propagate the tail-call counter.
    pub const TAIL_CALL_CTX: u32 = 0x80;
    /// Indirect (struct_ops) trampoline.
    pub const INDIRECT: u32 = 0x100;

    /// Names of the set bits, `|`-joined.
    pub fn names(f: u32) -> String {
        let all = [
            (RESTORE_REGS, "RESTORE_REGS"),
            (CALL_ORIG, "CALL_ORIG"),
            (SKIP_FRAME, "SKIP_FRAME"),
            (IP_ARG, "IP_ARG"),
            (RET_FENTRY_RET, "RET_FENTRY_RET"),
            (ORIG_STACK, "ORIG_STACK"),
            (SHARE_IPMODIFY, "SHARE_IPMODIFY"),
            (TAIL_CALL_CTX, "TAIL_CALL_CTX"),
            (INDIRECT, "INDIRECT"),
        ];
        let v: Vec<&str> = all.iter().filter(|(b, _)| f & b != 0).map(|(_, n)| *n).collect();
        if v.is_empty() {
            "0".into()
        } else {
            v.join("|")
        }
    }
}

/// One link on the trampoline: a program (by index in the scenario) attached once.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct LinkInfo {
    /// Program index (into the caller's program list).
    pub prog: usize,
    /// Program name.
    pub name: String,
    /// Attach type.
    pub attach: AttachType,
    /// Attach cookie (the fsession shadow link carries the same).
    pub cookie: u64,
    /// The program calls `bpf_get_func_ip`.
    pub call_get_func_ip: bool,
    /// The program calls `bpf_session_cookie`.
    pub call_session_cookie: bool,
}

/// An entry of a trampoline list.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ListEntry {
    /// The link.
    pub link: LinkInfo,
    /// This is the fexit-list shadow of an fsession link (`&fslink->fexit`).
    pub shadow: bool,
}

/// Why an attach or detach failed.
#[derive(Clone, Debug, PartialEq, Eq, Error, Serialize, serde::Deserialize)]
#[error("{errno}: {message}")]
pub struct LinkError {
    /// The kernel's error.
    pub errno: Errno,
    /// What happened, naming the program.
    pub message: String,
}

fn lerr<T>(errno: Errno, message: String) -> Result<T, LinkError> {
    Err(LinkError { errno, message })
}

/// The per-function trampoline state (`struct bpf_trampoline`, the parts that matter).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Trampoline {
    /// FENTRY list, newest first: fentry programs and fsession links.
    pub fentry: Vec<ListEntry>,
    /// FEXIT list, newest first: fexit programs and fsession shadow links.
    pub fexit: Vec<ListEntry>,
    /// MODIFY_RETURN list, newest first.
    pub fmod_ret: Vec<ListEntry>,
    /// An attached freplace program, if any.
    pub extension: Option<LinkInfo>,
    /// The struct_ops program this trampoline was prepared for, if any: a struct_ops member
    /// gets a trampoline of its own with just that program (`bpf_struct_ops_prepare_trampoline`).
    pub struct_ops: Option<LinkInfo>,
    /// Flags seeded at load (`TAIL_CALL_CTX` for a tail-call-reachable target program).
    pub seed_flags: u32,
}

/// What the encoder receives (`bpf_trampoline_get_progs` + the flags of
/// `bpf_trampoline_update`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct TrampolineLinks {
    /// FENTRY list in order (newest first).
    pub fentry: Vec<ListEntry>,
    /// FEXIT list in order.
    pub fexit: Vec<ListEntry>,
    /// MODIFY_RETURN list in order.
    pub fmod_ret: Vec<ListEntry>,
    /// `BPF_TRAMP_F_*` flags.
    pub flags: u32,
    /// Number of fsession programs (`bpf_fsession_cnt`).
    pub fsession_cnt: usize,
    /// Number of cookie-using fsession programs (`bpf_fsession_cookie_cnt`).
    pub fsession_cookie_cnt: usize,
    /// Slots used against `BPF_MAX_TRAMP_LINKS` (an fsession counts twice).
    pub slots_used: usize,
}

impl TrampolineLinks {
    /// No program attached: the function runs untraced (no image).
    pub fn is_empty(&self) -> bool {
        self.fentry.is_empty() && self.fexit.is_empty() && self.fmod_ret.is_empty()
    }
}

impl Default for Trampoline {
    fn default() -> Self {
        Self::new()
    }
}

impl Trampoline {
    /// An empty trampoline.
    pub fn new() -> Self {
        Trampoline {
            fentry: Vec::new(),
            fexit: Vec::new(),
            fmod_ret: Vec::new(),
            extension: None,
            struct_ops: None,
            seed_flags: 0,
        }
    }

    /// `progs_cnt[FENTRY] + progs_cnt[FEXIT] + progs_cnt[MODIFY_RETURN]`.
    pub fn slots_used(&self) -> usize {
        self.fentry.len() + self.fexit.len() + self.fmod_ret.len()
    }

    /// `__bpf_trampoline_link_prog()`: attaches a link, in the kernel's order of checks.
    pub fn attach(&mut self, link: LinkInfo, profile: &Profile) -> Result<(), LinkError> {
        let name = link.name.clone();
        if let Some(ext) = &self.extension {
            return lerr(
                Errno::EBUSY,
                format!("{name}: freplace program {} is attached to this function", ext.name),
            );
        }
        if let Some(so) = &self.struct_ops {
            return lerr(
                Errno::EBUSY,
                format!("{name}: this trampoline belongs to struct_ops program {}", so.name),
            );
        }
        let mut cnt = self.slots_used();
        if link.attach == AttachType::StructOps {
            if cnt > 0 {
                return lerr(
                    Errno::EBUSY,
                    format!(
                        "{name}: a struct_ops member gets its own trampoline; {cnt} fentry/fexit/fmod_ret/fsession links are attached to this one"
                    ),
                );
            }
            self.struct_ops = Some(link);
            return Ok(());
        }
        if link.attach == AttachType::Freplace {
            if cnt > 0 {
                return lerr(
                    Errno::EBUSY,
                    format!(
                        "{name}: freplace cannot attach while {cnt} fentry/fexit/fmod_ret/fsession links are attached"
                    ),
                );
            }
            self.extension = Some(link);
            return Ok(());
        }
        if link.attach == AttachType::TpBtf {
            return lerr(
                Errno::EINVAL,
                format!("{name}: tp_btf programs attach to tracepoints, not trampolines"),
            );
        }
        if link.attach == AttachType::Fsession && !profile.fsession {
            return lerr(
                Errno::EINVAL,
                format!("{name}: {} has no fsession attach type", profile.name),
            );
        }
        if link.attach == AttachType::Fsession {
            cnt += 1; // an fsession needs two slots
        }
        let max = profile.max_tramp_links as usize;
        if cnt >= max {
            return lerr(
                Errno::E2BIG,
                format!(
                    "{name}: {} slots in use (an fsession counts twice){}, BPF_MAX_TRAMP_LINKS is {max}",
                    self.slots_used(),
                    if link.attach == AttachType::Fsession {
                        " and this fsession needs 2"
                    } else {
                        ""
                    }
                ),
            );
        }
        let list = match link.attach {
            AttachType::Fentry | AttachType::Fsession => &self.fentry,
            AttachType::Fexit => &self.fexit,
            _ => &self.fmod_ret,
        };
        if list.iter().any(|e| e.link.prog == link.prog) {
            return lerr(
                Errno::EBUSY,
                format!("{name}: program already attached to this function"),
            );
        }
        // v9 only: at most `cookie_limit` cookie-using fsession programs (BPF_TRAMP_MAX_COOKIES).
        if let (Some(limit), AttachType::Fsession, true) = (profile.cookie_limit, link.attach, link.call_session_cookie)
        {
            let users = self
                .fentry
                .iter()
                .filter(|e| e.link.attach == AttachType::Fsession && e.link.call_session_cookie)
                .count();
            if users >= limit as usize {
                return lerr(
                    Errno::E2BIG,
                    format!("{name}: {users} fsession programs already use session cookies, the limit is {limit}"),
                );
            }
        }
        match link.attach {
            AttachType::Fsession => {
                self.fentry.insert(
                    0,
                    ListEntry {
                        link: link.clone(),
                        shadow: false,
                    },
                );
                self.fexit.insert(0, ListEntry { link, shadow: true });
            }
            AttachType::Fentry => self.fentry.insert(0, ListEntry { link, shadow: false }),
            AttachType::Fexit => self.fexit.insert(0, ListEntry { link, shadow: false }),
            _ => self.fmod_ret.insert(0, ListEntry { link, shadow: false }),
        }
        Ok(())
    }

    /// `__bpf_trampoline_unlink_prog()`: detaches the link of program `prog` (both list entries
    /// of an fsession).
    pub fn detach(&mut self, prog: usize) -> Result<LinkInfo, LinkError> {
        for slot in [&mut self.extension, &mut self.struct_ops] {
            if let Some(l) = slot.take_if(|e| e.prog == prog) {
                return Ok(l);
            }
        }
        let mut found = None;
        for list in [&mut self.fentry, &mut self.fexit, &mut self.fmod_ret] {
            if let Some(p) = list.iter().position(|e| e.link.prog == prog) {
                found = Some(list.remove(p).link);
            }
        }
        found.ok_or(LinkError {
            errno: Errno::ENOENT,
            message: format!("program #{prog} is not attached to this function"),
        })
    }

    /// `bpf_trampoline_get_progs()` and the flags of `bpf_trampoline_update()` (reference §4.5,
    /// §4.6). Call mode gets `SKIP_FRAME` with `CALL_ORIG`; jmp mode does not. A struct_ops
    /// trampoline is [`struct_ops_links`] instead.
    pub fn links(&self, profile: &Profile, func: &FuncModel) -> TrampolineLinks {
        if let Some(so) = &self.struct_ops {
            return struct_ops_links(so, func);
        }
        let mut f = self.seed_flags & (flags::SHARE_IPMODIFY | flags::TAIL_CALL_CTX);
        if !self.fexit.is_empty() || !self.fmod_ret.is_empty() {
            f |= flags::CALL_ORIG;
            if profile.mode == TrampolineMode::Call {
                f |= flags::SKIP_FRAME;
            }
        } else {
            f |= flags::RESTORE_REGS;
        }
        let all = self.fentry.iter().chain(&self.fexit).chain(&self.fmod_ret);
        if all.clone().any(|e| e.link.call_get_func_ip) {
            f |= flags::IP_ARG;
        }
        let fs = self.fentry.iter().filter(|e| e.link.attach == AttachType::Fsession);
        TrampolineLinks {
            fentry: self.fentry.clone(),
            fexit: self.fexit.clone(),
            fmod_ret: self.fmod_ret.clone(),
            flags: f,
            fsession_cnt: fs.clone().count(),
            fsession_cookie_cnt: fs.filter(|e| e.link.call_session_cookie).count(),
            slots_used: self.slots_used(),
        }
    }
}

/// `bpf_struct_ops_prepare_trampoline()`: one program in the FENTRY list, called indirectly
/// (`INDIRECT`), its return value returned when the member returns one (`RET_FENTRY_RET`). Read
/// off the captured struct_ops trampolines of 6.12 and 6.18: `void` members get INDIRECT alone,
/// the others INDIRECT|RET_FENTRY_RET.
pub fn struct_ops_links(link: &LinkInfo, func: &FuncModel) -> TrampolineLinks {
    let mut f = flags::INDIRECT;
    if func.ret_size > 0 {
        f |= flags::RET_FENTRY_RET;
    }
    TrampolineLinks {
        fentry: vec![ListEntry {
            link: link.clone(),
            shadow: false,
        }],
        fexit: Vec::new(),
        fmod_ret: Vec::new(),
        flags: f,
        fsession_cnt: 0,
        fsession_cookie_cnt: 0,
        slots_used: 1,
    }
}
