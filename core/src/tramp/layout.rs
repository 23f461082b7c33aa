//! The trampoline's stack frame as data (reference §2.3): every slot with its rbp offset, size,
//! the ctx index that reaches it and the flag or condition that creates it, the way cranelift's
//! `FrameLayout` describes a frame.

use crate::kernel::link::flags::*;
use crate::kernel::program::FuncModel;
use serde::{Deserialize, Serialize};

/// One 8-byte-granular slot of the frame.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Slot {
    /// Short name (`retval`, `arg0`, `func_meta`, `ip`, `cookie0`, `rbx`, `run_ctx`, ...).
    pub name: String,
    /// Offset from rbp (negative below it): the slot is `[rbp + rbp_off]`.
    pub rbp_off: i32,
    /// Size in bytes.
    pub size: u32,
    /// How a program reaches it through ctx (`ctx[-1]`, `ctx[0]`, ...), if it can.
    pub ctx: Option<String>,
    /// What creates the slot.
    pub condition: String,
}

/// The frame of one trampoline.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FrameLayout {
    /// Argument register slots of the traced function.
    pub nr_regs: usize,
    /// Argument slots passed in registers (`get_nr_used_regs`).
    pub nr_used_regs: usize,
    /// The retval slot `[rbp-8]` exists (CALL_ORIG or RET_FENTRY_RET).
    pub save_ret: bool,
    /// ctx = `rbp - regs_off`.
    pub regs_off: i32,
    /// ctx[-1] = `rbp - func_meta_off`.
    pub func_meta_off: i32,
    /// `rbp - ip_off` holds the IP when IP_ARG (else equal to `func_meta_off`, no slot).
    pub ip_off: i32,
    /// Number of cookie slots.
    pub cookie_cnt: usize,
    /// Lowest cookie slot at `rbp - cookie_off`.
    pub cookie_off: i32,
    /// Saved rbx at `rbp - rbx_off`.
    pub rbx_off: i32,
    /// `struct bpf_tramp_run_ctx` at `rbp - run_ctx_off`.
    pub run_ctx_off: i32,
    /// Outgoing stack arguments for the original call start at `rbp - arg_stack_off` (= rsp).
    pub arg_stack_off: i32,
    /// Bytes the prologue subtracts from rsp.
    pub stack_size: i32,
    /// Every slot, from rbp downwards, then the slots above rbp.
    pub slots: Vec<Slot>,
}

impl FrameLayout {
    /// Computes the layout for a function, flags and cookie count; `jmp_mode` as
    /// `bpf_trampoline_use_jmp(flags)`.
    pub fn compute(func: &FuncModel, flags: u32, cookie_cnt: usize, jmp_mode: bool) -> FrameLayout {
        let nr_regs = func.nr_regs();
        let nr_used_regs = nr_used_regs(func);
        let save_ret = flags & (CALL_ORIG | RET_FENTRY_RET) != 0;
        let mut stack = 0i32;
        if save_ret {
            stack += 8;
        }
        stack += nr_regs as i32 * 8;
        let regs_off = stack;
        stack += 8;
        let func_meta_off = stack;
        if flags & IP_ARG != 0 {
            stack += 8;
        }
        let ip_off = stack;
        stack += cookie_cnt as i32 * 8;
        let cookie_off = stack;
        stack += 8;
        let rbx_off = stack;
        stack += 16;
        let run_ctx_off = stack;
        let stack_args = if nr_regs > 6 && flags & CALL_ORIG != 0 {
            nr_regs - nr_used_regs
        } else {
            0
        };
        if nr_regs > 6 && flags & CALL_ORIG != 0 {
            stack += stack_args as i32 * 8;
            let pad = if jmp_mode { stack % 16 != 0 } else { stack % 16 == 0 };
            if pad {
                stack += 8;
            }
        }
        let arg_stack_off = stack;
        let mut slots = Vec::new();
        if save_ret {
            let why = if flags & CALL_ORIG != 0 {
                "CALL_ORIG"
            } else {
                "RET_FENTRY_RET"
            };
            slots.push(Slot {
                name: "retval".into(),
                rbp_off: -8,
                size: 8,
                ctx: Some(format!("ctx[{nr_regs}]")),
                condition: format!("{why}: return value"),
            });
        }
        for k in (0..nr_regs).rev() {
            slots.push(Slot {
                name: format!("arg{k}"),
                rbp_off: -regs_off + 8 * k as i32,
                size: 8,
                ctx: Some(format!("ctx[{k}]")),
                condition: "always: argument slot".into(),
            });
        }
        slots.push(Slot {
            name: "func_meta".into(),
            rbp_off: -func_meta_off,
            size: 8,
            ctx: Some("ctx[-1]".into()),
            condition: "always: nr_args (| cookie index, is_return)".into(),
        });
        if flags & IP_ARG != 0 {
            slots.push(Slot {
                name: "ip".into(),
                rbp_off: -ip_off,
                size: 8,
                ctx: Some("ctx[-2]".into()),
                condition: "IP_ARG: traced function address".into(),
            });
        }
        let c = (cookie_off - regs_off) / 8;
        for j in (0..cookie_cnt).rev() {
            slots.push(Slot {
                name: format!("cookie{j}"),
                rbp_off: -cookie_off + 8 * j as i32,
                size: 8,
                ctx: Some(format!("ctx[-{}]", c - j as i32)),
                condition: format!("session cookie of the {} cookie-using fsession program", ordinal(j)),
            });
        }
        slots.push(Slot {
            name: "rbx".into(),
            rbp_off: -rbx_off,
            size: 8,
            ctx: None,
            condition: "always: saved rbx (start time across a program call)".into(),
        });
        slots.push(Slot {
            name: "run_ctx".into(),
            rbp_off: -run_ctx_off,
            size: 16,
            ctx: None,
            condition: "always: struct bpf_tramp_run_ctx (bpf_cookie at +0, saved_run_ctx at +8)".into(),
        });
        if arg_stack_off > run_ctx_off {
            for i in (0..stack_args).rev() {
                slots.push(Slot {
                    name: format!("out_arg{i}"),
                    rbp_off: -arg_stack_off + 8 * i as i32,
                    size: 8,
                    ctx: None,
                    condition: "more than 6 argument slots and CALL_ORIG: stack argument for the original call".into(),
                });
            }
            let pad = arg_stack_off - run_ctx_off - 8 * stack_args as i32;
            if pad > 0 {
                slots.push(Slot {
                    name: "pad".into(),
                    rbp_off: -arg_stack_off + 8 * stack_args as i32,
                    size: pad as u32,
                    ctx: None,
                    condition: "alignment: rsp 16-byte aligned at the original call".into(),
                });
            }
        }
        if flags & TAIL_CALL_CTX != 0 {
            slots.push(Slot {
                name: "tail_call_cnt_ptr".into(),
                rbp_off: -stack - 8,
                size: 8,
                ctx: None,
                condition: "TAIL_CALL_CTX: push rax".into(),
            });
        }
        slots.push(Slot {
            name: "saved_rbp".into(),
            rbp_off: 0,
            size: 8,
            ctx: None,
            condition: "push rbp".into(),
        });
        let ret_name = if jmp_mode || flags & INDIRECT != 0 {
            "return address into the caller"
        } else {
            "return address into the traced function"
        };
        slots.push(Slot {
            name: "ret_addr".into(),
            rbp_off: 8,
            size: 8,
            ctx: None,
            condition: ret_name.into(),
        });
        FrameLayout {
            nr_regs,
            nr_used_regs,
            save_ret,
            regs_off,
            func_meta_off,
            ip_off,
            cookie_cnt,
            cookie_off,
            rbx_off,
            run_ctx_off,
            arg_stack_off,
            stack_size: stack,
            slots,
        }
    }

    /// The slot that contains `[rbp + off]`.
    pub fn slot_at(&self, off: i32) -> Option<&Slot> {
        self.slot_index_at(off).map(|i| &self.slots[i])
    }

    /// Index (in `slots`) of the slot that contains `[rbp + off]`.
    pub fn slot_index_at(&self, off: i32) -> Option<usize> {
        self.slots
            .iter()
            .position(|s| off >= s.rbp_off && off < s.rbp_off + s.size as i32)
    }

    /// ctx index of the cookie given to the `j`-th cookie-using program (`C - j`).
    pub fn cookie_index(&self, j: usize) -> u64 {
        ((self.cookie_off - self.regs_off) / 8) as u64 - j as u64
    }
}

fn ordinal(j: usize) -> String {
    match j {
        0 => "1st".into(),
        1 => "2nd".into(),
        2 => "3rd".into(),
        n => format!("{}th", n + 1),
    }
}

/// `get_nr_used_regs()`: argument slots passed in registers (at most 6).
pub fn nr_used_regs(func: &FuncModel) -> usize {
    let mut used = 0;
    for a in func.args.iter().take(crate::kernel::program::MAX_BPF_FUNC_ARGS) {
        let n = a.slots();
        if used + n <= 6 {
            used += n;
        }
        if used >= 6 {
            break;
        }
    }
    used
}
