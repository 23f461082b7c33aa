//! `__arch_prepare_bpf_trampoline()`, step by step (reference §2.6), with `save_args`,
//! `restore_regs`, `clean_stack_garbage`, `invoke_bpf`, `invoke_bpf_prog` and
//! `invoke_bpf_mod_ret` (§2.7).

use super::emit::{x86, Access, Emitter, ASM_NOP_MAX};
use super::layout::FrameLayout;
use super::{eerr, EncodeError, Encoded, Invocation, Pass, ProgImage, TrampolineSpec, BPF_INSN_SAFETY, PAGE_SIZE};
use crate::errno::Errno;
use crate::kernel::link::flags::*;
use crate::kernel::program::{AttachType, MAX_BPF_FUNC_ARGS};
use iced_x86::{Code, Register};

/// Argument registers of the SysV ABI, in order.
const ARG_REGS: [Register; 6] = [
    Register::RDI,
    Register::RSI,
    Register::RDX,
    Register::RCX,
    Register::R8,
    Register::R9,
];

struct Gen<'a> {
    spec: &'a TrampolineSpec,
    layout: &'a FrameLayout,
    e: Emitter<'a>,
    /// The value currently stored in ctx[-1] (what the next program will see).
    meta_now: u64,
    invocations: Vec<Invocation>,
}

impl<'a> Gen<'a> {
    fn emit(
        &mut self,
        r: Result<iced_x86::Instruction, EncodeError>,
        role: impl FnOnce() -> String,
        slots: &[(i32, Access)],
    ) -> Result<usize, EncodeError> {
        self.e.emit(r?, role, slots)
    }

    /// `emit_store_stack_imm64(BPF_REG_0, -off, imm)`: rax = imm; [rbp-off] = rax. The role is
    /// built only when annotating.
    fn store_imm64(&mut self, off: i32, imm: u64, role: impl Fn(&Self) -> String) -> Result<(), EncodeError> {
        let role = if self.e.annotate { role(self) } else { String::new() };
        self.emit(
            x86::mov_imm64(Register::RAX, imm),
            || format!("rax = {imm:#x}: {role}"),
            &[],
        )?;
        self.emit(
            x86::stx(-off, Register::RAX),
            || role.to_string(),
            &[(-off, Access::Write)],
        )?;
        Ok(())
    }

    fn meta_role(&self, w: u64) -> String {
        let m = &self.spec.meta;
        let (nr, idx, ret) = m.decode(w);
        let mut parts = vec![format!("nr_args {nr}")];
        if let (Some(s), true) = (m.cookie_shift, idx != 0) {
            parts.push(format!("cookie index {idx} << {s}"));
        }
        if let (Some(b), true) = (m.is_return_bit, ret) {
            parts.push(format!("is_return << {b}"));
        }
        format!("ctx[-1] = {w:#x} ({})", parts.join(" | "))
    }

    /// `save_args()`: argument registers (or the caller's stack arguments) into slots from
    /// `rbp - stack_size` upwards; `for_call_origin` copies only the stack-passed ones.
    fn save_args(&mut self, mut stack_size: i32, for_call_origin: bool) -> Result<(), EncodeError> {
        let use_jmp = self.spec.jmp_mode();
        let (mut nr_regs, mut nr_stack_slots, mut first_off) = (0usize, 0i32, 0i32);
        let spec = self.spec;
        for (ai, a) in spec.func.args.iter().enumerate().take(MAX_BPF_FUNC_ARGS) {
            let arg_regs = a.slots();
            if nr_regs + arg_regs > 6 {
                for j in 0..arg_regs {
                    let src = nr_stack_slots * 8 + 16 + if use_jmp { 0 } else { 8 };
                    let what = if for_call_origin {
                        "outgoing stack argument"
                    } else {
                        "ctx slot"
                    };
                    self.emit(
                        x86::ldx(Register::RAX, src),
                        || format!("rax = stack argument {ai} word {j} of the caller ([rbp{src:+}])"),
                        &[],
                    )?;
                    self.emit(
                        x86::stx(-stack_size, Register::RAX),
                        || format!("{what}: argument {ai} word {j}"),
                        &[(-stack_size, Access::Write)],
                    )?;
                    if nr_stack_slots == 0 {
                        first_off = stack_size;
                    }
                    stack_size -= 8;
                    nr_stack_slots += 1;
                }
            } else {
                if for_call_origin {
                    nr_regs += arg_regs;
                    continue;
                }
                for j in 0..arg_regs {
                    let r = ARG_REGS[nr_regs];
                    self.emit(
                        x86::stx(-stack_size, r),
                        || {
                            format!(
                                "ctx[{}] = argument {ai} word {j} ({r:?})",
                                (self.layout.regs_off - stack_size) / 8
                            )
                        },
                        &[(-stack_size, Access::Write)],
                    )?;
                    stack_size -= 8;
                    nr_regs += 1;
                }
            }
        }
        // clean_stack_garbage(): one stack slot holding an argument of 4 bytes or less.
        if nr_stack_slots == 1 {
            if let Some(last) = self.spec.func.args.last() {
                if last.size <= 4 {
                    let off = -(first_off - 4);
                    self.emit(
                        x86::mov_dword_mem0(off),
                        || "clear the upper half of a 4-byte stack argument".into(),
                        &[(off, Access::Write)],
                    )?;
                }
            }
        }
        Ok(())
    }

    /// `restore_regs()`: reload the register arguments from their slots.
    fn restore_regs(&mut self, mut stack_size: i32, why: &str) -> Result<(), EncodeError> {
        let mut nr_regs = 0usize;
        let spec = self.spec;
        for a in spec.func.args.iter().take(MAX_BPF_FUNC_ARGS) {
            let arg_regs = a.slots();
            if nr_regs + arg_regs <= 6 {
                for _ in 0..arg_regs {
                    let r = ARG_REGS[nr_regs];
                    self.emit(
                        x86::ldx(r, -stack_size),
                        || format!("{r:?} = ctx[{}] ({why})", (self.layout.regs_off - stack_size) / 8),
                        &[(-stack_size, Access::Read)],
                    )?;
                    stack_size -= 8;
                    nr_regs += 1;
                }
            } else {
                stack_size -= 8 * arg_regs as i32;
            }
            if nr_regs >= 6 {
                break;
            }
        }
        Ok(())
    }

    /// `invoke_bpf_prog()`: run one program with enter/exit around it.
    fn invoke_prog(
        &mut self,
        p: &ProgImage,
        save_ret: bool,
        pass: Pass,
        cookie_index: Option<u64>,
    ) -> Result<(), EncodeError> {
        let l = self.layout;
        let who = if self.e.annotate {
            format!("{}{}", p.name, if p.shadow { "'" } else { "" })
        } else {
            String::new()
        };
        let pass_name = pass.name();
        self.emit(
            x86::mov_imm64(Register::RDI, p.cookie),
            || format!("rdi = attach cookie {:#x} of {who}", p.cookie),
            &[],
        )?;
        self.emit(
            x86::stx(-l.run_ctx_off, Register::RDI),
            || "run_ctx.bpf_cookie = rdi".into(),
            &[(-l.run_ctx_off, Access::Write)],
        )?;
        self.emit(
            x86::mov_imm64(Register::RDI, p.prog),
            || format!("rdi = struct bpf_prog * of {who}"),
            &[],
        )?;
        self.emit(
            x86::lea(Register::RSI, -l.run_ctx_off),
            || "rsi = &run_ctx".into(),
            &[(-l.run_ctx_off, Access::Addr)],
        )?;
        self.emit(
            x86::call(p.enter),
            || {
                if p.attach.is_tracing() {
                    format!("call enter for {who} (recursion check, run_ctx swap)")
                } else {
                    format!("call enter for {who} (run_ctx swap, no recursion check)")
                }
            },
            &[],
        )?;
        self.emit(
            x86::mov_rr(Register::RBX, Register::RAX),
            || "rbx = start time".into(),
            &[],
        )?;
        self.emit(
            x86::test_rr(Register::RAX, Register::RAX),
            || "enter returned 0: program is skipped (recursion)".into(),
            &[],
        )?;
        let je = self.emit(
            x86::je8(self.e.ip() + 2),
            || format!("skip {who} if enter returned 0"),
            &[],
        )?;
        self.emit(
            x86::lea(Register::RDI, -l.regs_off),
            || "rdi = ctx".into(),
            &[(-l.regs_off, Access::Addr)],
        )?;
        if let Some(insns) = p.insns {
            self.emit(
                x86::mov_imm64(Register::RSI, insns),
                || format!("rsi = {who}->insnsi (interpreted program)"),
                &[],
            )?;
        }
        let call_offset = self.e.offset;
        let meta = self.meta_now;
        let role = || match cookie_index {
            Some(c) => format!("call {who} at {pass_name}, ctx[-1] = {meta:#x}, cookie ctx[-{c}]"),
            None => format!("call {who} at {pass_name}, ctx[-1] = {meta:#x}"),
        };
        self.emit(x86::call(p.bpf_func), role, &[(-l.regs_off, Access::Read)])?;
        self.invocations.push(Invocation {
            prog: p.name.clone(),
            attach: p.attach,
            pass,
            func_meta: self.meta_now,
            cookie_index,
            call_offset,
        });
        if save_ret {
            self.emit(
                x86::stx(-8, Register::RAX),
                || format!("retval = return value of {who}"),
                &[(-8, Access::Write)],
            )?;
        }
        let skip = self.e.ip();
        self.e.retarget(je, Code::Je_rel8_64, skip)?;
        self.emit(
            x86::mov_imm64(Register::RDI, p.prog),
            || format!("rdi = struct bpf_prog * of {who}"),
            &[],
        )?;
        self.emit(
            x86::mov_rr(Register::RSI, Register::RBX),
            || "rsi = start time".into(),
            &[],
        )?;
        self.emit(
            x86::lea(Register::RDX, -l.run_ctx_off),
            || "rdx = &run_ctx".into(),
            &[(-l.run_ctx_off, Access::Addr)],
        )?;
        self.emit(
            x86::call(p.exit),
            || format!("call exit for {who} (always, keeps recursion counters balanced)"),
            &[],
        )?;
        Ok(())
    }

    /// `invoke_bpf()`: the fentry or fexit list; cookie users get `ctx[-1]` re-stored first.
    fn invoke_list(
        &mut self,
        list: &[ProgImage],
        save_ret: bool,
        pass: Pass,
        func_meta: u64,
    ) -> Result<(), EncodeError> {
        let mut cur_cookie = ((self.layout.cookie_off - self.layout.regs_off) / 8) as u64;
        for p in list {
            let mut idx = None;
            if p.call_session_cookie && self.spec.meta.cookie_shift.is_some() {
                let w = self.spec.meta.encode(func_meta, cur_cookie, false) | func_meta;
                let when = if pass == Pass::Exit { "(exit)" } else { "(entry)" };
                self.store_imm64(self.layout.func_meta_off, w, |g| {
                    format!("{}, before {} {when}", g.meta_role(w), p.name)
                })?;
                self.meta_now = w;
                idx = Some(cur_cookie);
                cur_cookie -= 1;
            } else if p.call_session_cookie {
                // A trampoline without a cookie field: the program's inline reads whatever the
                // word holds (fsession-v9-patch05).
                idx = Some(0);
            }
            self.invoke_prog(p, save_ret, pass, idx)?;
        }
        Ok(())
    }
}

/// Encodes a trampoline for `spec`, with a role and the frame slots of every instruction (for
/// listings).
pub fn encode(spec: &TrampolineSpec) -> Result<Encoded, EncodeError> {
    encode_with(spec, true)
}

/// Encodes a trampoline without annotations (roles and slot names empty): the same bytes,
/// layout and invocations, faster.
pub fn encode_bytes(spec: &TrampolineSpec) -> Result<Encoded, EncodeError> {
    encode_with(spec, false)
}

fn encode_with(spec: &TrampolineSpec, annotate: bool) -> Result<Encoded, EncodeError> {
    let flags = spec.flags;
    let nr_regs = spec.func.nr_regs();
    if nr_regs > MAX_BPF_FUNC_ARGS {
        return eerr(
            Errno::ENOTSUPP,
            format!("{nr_regs} argument slots: more than {MAX_BPF_FUNC_ARGS} are not supported"),
        );
    }
    if flags & INDIRECT != 0 && flags & !(INDIRECT | RET_FENTRY_RET) != 0 {
        return eerr(
            Errno::EINVAL,
            format!(
                "INDIRECT trampolines take no other flags than RET_FENTRY_RET (got {})",
                names(flags)
            ),
        );
    }
    if spec.mitigations.call_depth {
        return eerr(
            Errno::ENOTSUPP,
            "call-depth accounting bytes are not modelled ([M] in the reference)",
        );
    }
    let jmp_mode = spec.jmp_mode();
    let fsession_cnt = spec.fentry.iter().filter(|p| p.attach == AttachType::Fsession).count();
    let cookie_cnt = if spec.meta.cookie_shift.is_some() {
        spec.fentry
            .iter()
            .filter(|p| p.call_session_cookie && p.attach == AttachType::Fsession)
            .count()
    } else {
        0
    };
    let layout = FrameLayout::compute(&spec.func, flags, cookie_cnt, jmp_mode);
    let l = &layout;
    // With IBT every traced function starts with ENDBR, or with its sealed form `66 0f 1f 00`
    // once the kernel has sealed it: the 6.12 captures call the original at func + 9 for both
    // (fentry_fexit_7arg.json traces a sealed one), so `is_endbr()` counts the sealed form too.
    let orig_call = (flags & CALL_ORIG != 0).then(|| spec.addrs.func + if spec.mitigations.ibt { 4 } else { 0 } + 5);
    let save_ret = l.save_ret;
    let mut g = Gen {
        spec,
        layout: l,
        e: Emitter::new(
            spec.addrs.image,
            l,
            annotate,
            64 + 20 * (spec.fentry.len() + spec.fexit.len() + spec.fmod_ret.len()),
        ),
        meta_now: 0,
        invocations: Vec::new(),
    };
    // Prologue.
    if flags & INDIRECT != 0 && spec.mitigations.ibt {
        g.e.emit(
            x86::simple(Code::Endbr64),
            || "endbr64: indirect-call target (IBT)".into(),
            &[],
        )?;
    }
    g.emit(x86::push(Register::RBP), || "push rbp".into(), &[(0, Access::Write)])?;
    g.emit(
        x86::mov_rr(Register::RBP, Register::RSP),
        || "frame pointer".into(),
        &[],
    )?;
    g.emit(
        x86::sub_rsp(l.stack_size),
        || format!("frame of {} bytes", l.stack_size),
        &[],
    )?;
    if flags & TAIL_CALL_CTX != 0 {
        g.emit(x86::push(Register::RAX), || "save tail_call_cnt_ptr".into(), &[])?;
    }
    g.emit(
        x86::stx(-l.rbx_off, Register::RBX),
        || "save rbx".into(),
        &[(-l.rbx_off, Access::Write)],
    )?;
    // func_meta = nr_regs.
    let mut func_meta = spec.meta.encode(nr_regs as u64, 0, false);
    g.store_imm64(l.func_meta_off, func_meta, |g| g.meta_role(func_meta))?;
    g.meta_now = func_meta;
    if flags & IP_ARG != 0 {
        g.store_imm64(l.ip_off, spec.addrs.func, |_| {
            "ctx[-2] = traced function address (IP_ARG)".into()
        })?;
    }
    g.save_args(l.regs_off, false)?;
    if flags & CALL_ORIG != 0 {
        g.emit(x86::mov_imm64(Register::RDI, spec.addrs.im), || "rdi = im".into(), &[])?;
        g.emit(
            x86::call(spec.addrs.tramp_enter),
            || "call __bpf_tramp_enter (image reference)".into(),
            &[],
        )?;
    }
    if fsession_cnt > 0 && spec.fsession_aware() {
        for i in 0..cookie_cnt {
            let off = l.cookie_off - 8 * i as i32;
            g.store_imm64(off, 0, |_| format!("cookie slot ctx[-{}] = 0", l.cookie_index(i)))?;
        }
        g.store_imm64(8, 0, |_| "retval = 0 (fsession entry sees ret 0)".into())?;
    }
    if !spec.fentry.is_empty() {
        g.invoke_list(&spec.fentry, flags & RET_FENTRY_RET != 0, Pass::Entry, func_meta)?;
    }
    // fmod_ret.
    let mut branches = Vec::new();
    if !spec.fmod_ret.is_empty() {
        g.emit(x86::mov_imm32(false, Register::RAX, 0), || "rax = 0".into(), &[])?;
        g.emit(
            x86::stx(-8, Register::RAX),
            || "retval = 0 (the first fmod_ret program sees 0)".into(),
            &[(-8, Access::Write)],
        )?;
        for p in &spec.fmod_ret {
            g.invoke_prog(p, true, Pass::ModifyReturn, None)?;
            g.emit(
                x86::cmp_mem0(-8),
                || format!("did {} return non-zero?", p.name),
                &[(-8, Access::Read)],
            )?;
            let hole = g.emit(
                x86::jne32(g.e.ip() + 6),
                || "non-zero: skip the original function (jne do_fexit)".into(),
                &[],
            )?;
            branches.push(hole);
        }
    }
    let (mut ip_after_call, mut ip_epilogue) = (None, None);
    if let Some(orig) = orig_call {
        g.restore_regs(l.regs_off, "argument for the original function")?;
        g.save_args(l.arg_stack_off, true)?;
        if flags & TAIL_CALL_CTX != 0 {
            let off = -((l.stack_size + 7) / 8 * 8) - 8;
            g.emit(x86::ldx(Register::RAX, off), || "rax = tail_call_cnt_ptr".into(), &[])?;
        }
        if flags & ORIG_STACK != 0 {
            g.emit(
                x86::ldx(Register::RBX, 8),
                || "rbx = return address (ORIG_STACK)".into(),
                &[],
            )?;
            g.emit(
                x86::call_reg(Register::RBX),
                || "call the original function through the stacked return address".into(),
                &[],
            )?;
        } else {
            g.emit(
                x86::call(orig),
                || format!("call the original function (func + {})", orig - spec.addrs.func),
                &[],
            )?;
        }
        g.emit(
            x86::stx(-8, Register::RAX),
            || "retval = return value of the original function".into(),
            &[(-8, Access::Write)],
        )?;
        ip_after_call = Some(g.e.offset);
        g.emit(
            x86::nop(5),
            || "nop5: im->ip_after_call (patched to jmp ip_epilogue when the image is retired)".into(),
            &[],
        )?;
    }
    if !spec.fmod_ret.is_empty() {
        // emit_align(16) [M: alignment of the image address; the kernel aligns its rw buffer].
        let pad = (16 - (g.e.ip() % 16) as usize) % 16;
        let mut left = pad;
        while left > 0 {
            let n = left.min(ASM_NOP_MAX);
            if n >= 10 {
                g.e.emit_long_nop(n, || "alignment (do_fexit)".into());
            } else {
                g.emit(x86::nop(n), || "alignment (do_fexit)".into(), &[])?;
            }
            left -= n;
        }
        let here = g.e.ip();
        for b in branches {
            g.e.retarget(b, Code::Jne_rel32_64, here)?;
        }
    }
    if let Some(bit) = spec.meta.is_return_bit {
        func_meta |= 1 << bit;
    }
    if fsession_cnt > 0 && spec.meta.is_return_bit.is_some() {
        g.store_imm64(l.func_meta_off, func_meta, |g| {
            format!("{}: is_return set", g.meta_role(func_meta))
        })?;
        g.meta_now = func_meta;
    }
    if !spec.fexit.is_empty() {
        g.invoke_list(&spec.fexit, false, Pass::Exit, func_meta)?;
    }
    if flags & RESTORE_REGS != 0 {
        g.restore_regs(l.regs_off, "restore the arguments for the traced function")?;
    }
    if flags & CALL_ORIG != 0 {
        ip_epilogue = Some(g.e.offset);
        g.emit(
            x86::mov_imm64(Register::RDI, spec.addrs.im),
            || "rdi = im (im->ip_epilogue)".into(),
            &[],
        )?;
        g.emit(x86::call(spec.addrs.tramp_exit), || "call __bpf_tramp_exit".into(), &[])?;
    } else if flags & TAIL_CALL_CTX != 0 {
        let off = -((l.stack_size + 7) / 8 * 8) - 8;
        g.emit(x86::ldx(Register::RAX, off), || "rax = tail_call_cnt_ptr".into(), &[])?;
    }
    if save_ret {
        g.emit(
            x86::ldx(Register::RAX, -8),
            || "rax = retval".into(),
            &[(-8, Access::Read)],
        )?;
    }
    g.emit(
        x86::ldx(Register::RBX, -l.rbx_off),
        || "restore rbx".into(),
        &[(-l.rbx_off, Access::Read)],
    )?;
    g.emit(Ok(x86::simple(Code::Leaveq)), || "leave".into(), &[])?;
    if flags & SKIP_FRAME != 0 {
        g.emit(
            x86::add_rsp8(),
            || "drop the return address into the traced function (SKIP_FRAME)".into(),
            &[],
        )?;
    }
    if spec.mitigations.return_thunk {
        g.emit(
            x86::jmp(spec.addrs.return_thunk),
            || "return through the return thunk".into(),
            &[],
        )?;
    } else {
        g.emit(Ok(x86::simple(Code::Retnq)), || "return to the caller".into(), &[])?;
        if spec.mitigations.sls {
            g.emit(
                Ok(x86::simple(Code::Int3)),
                || "int3 (straight-line speculation)".into(),
                &[],
            )?;
        }
    }
    let bytes = g.e.bytes();
    let size = bytes.len() + BPF_INSN_SAFETY;
    if size > PAGE_SIZE {
        return eerr(
            Errno::E2BIG,
            format!(
                "trampoline needs {size} bytes ({} of code + {BPF_INSN_SAFETY}), more than a page",
                bytes.len()
            ),
        );
    }
    Ok(Encoded {
        bytes,
        insns: g.e.out,
        layout: layout.clone(),
        invocations: g.invocations,
        size,
        ip_after_call,
        ip_epilogue,
        orig_call,
        jmp_mode,
    })
}
