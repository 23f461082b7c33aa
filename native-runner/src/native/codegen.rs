//! Machine code the runner generates with iced-x86: realigning shims in front of native
//! callees, the patched entry of each traced function, the traced functions' bodies, and a
//! caller that passes any prototype's arguments exactly as the SysV ABI does.

use fsession_core::kernel::program::{ArgLoc as Loc, FuncModel};
use iced_x86::code_asm::*;

/// Why code could not be generated.
#[derive(Debug, thiserror::Error)]
pub enum CodegenError {
    /// iced-x86 refused an instruction or the assembly.
    #[error("code generation: {0}")]
    Asm(#[from] iced_x86::IcedError),
    /// The stub's rel32 cannot reach the trampoline.
    #[error("ERANGE: the trampoline at {trampoline:#x} is out of rel32 reach of the stub at {stub:#x}")]
    OutOfReach {
        /// The stub.
        stub: u64,
        /// The trampoline.
        trampoline: u64,
    },
}

type R<T> = Result<T, CodegenError>;

const ARG64: [AsmRegister64; 6] = [rdi, rsi, rdx, rcx, r8, r9];

/// Calls Rust code with the stack aligned whatever the caller's alignment (the kernel builds
/// with 8-byte alignment): where the caller's stack is already as the C ABI wants it (rsp ≡ 8
/// mod 16 at this entry) a tail jump to `target`; else `push rbp; mov rbp, rsp; and rsp, -16;
/// call target; leave; ret`. Only rax and the flags are used, both a callee's to clobber.
pub fn shim(ip: u64, target: u64) -> R<Vec<u8>> {
    let mut a = CodeAssembler::new(64)?;
    let mut realign = a.create_label();
    a.test(spl, 8)?;
    a.jz(realign)?;
    a.mov(rax, target)?;
    a.jmp(rax)?;
    a.set_label(&mut realign)?;
    a.push(rbp)?;
    a.mov(rbp, rsp)?;
    a.and(rsp, -16)?;
    a.mov(rax, target)?;
    a.call(rax)?;
    a.leave()?;
    a.ret()?;
    a.assemble(ip).map_err(CodegenError::from)
}

/// The patched entry of a traced function: `call` (or `jmp`) to the trampoline in its first 5
/// bytes, as ftrace leaves it, then `jmp [rip+0]` to the real body, so `stub + 5` is what the
/// trampoline calls as the original function.
pub fn stub(ip: u64, trampoline: u64, jmp_mode: bool, body: u64) -> R<Vec<u8>> {
    let rel = trampoline.wrapping_sub(ip + 5) as i64;
    let rel = i32::try_from(rel).map_err(|_| CodegenError::OutOfReach { stub: ip, trampoline })?;
    let mut v = vec![if jmp_mode { 0xe9 } else { 0xe8 }];
    v.extend_from_slice(&rel.to_le_bytes());
    v.extend_from_slice(&[0xff, 0x25, 0, 0, 0, 0]);
    v.extend_from_slice(&body.to_le_bytes());
    Ok(v)
}

/// What a traced function does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Body {
    /// Returns the sum of its arguments (each at its declared width and signedness; struct
    /// words whole) plus `bias`: `bpf_fentry_test1(a) = a + 1` is `Sum(1)`, test3..test5 are
    /// `Sum(0)`.
    Sum(i64),
    /// `bpf_modify_return_test(int a, int *b)`: `*b += 1; return a + *b`.
    ModifyReturn,
    /// Loads from address 0 (SIGSEGV).
    Fault,
}

/// The body of a traced function for its prototype.
pub fn body(ip: u64, func: &FuncModel, kind: Body) -> R<Vec<u8>> {
    let mut a = CodeAssembler::new(64)?;
    match kind {
        Body::Fault => {
            a.xor(eax, eax)?;
            a.mov(rax, qword_ptr(rax))?;
            a.ret()?;
        }
        Body::ModifyReturn => {
            a.mov(eax, dword_ptr(rsi))?;
            a.add(eax, 1)?;
            a.mov(dword_ptr(rsi), eax)?;
            a.add(eax, edi)?;
            a.ret()?;
        }
        Body::Sum(bias) => {
            a.xor(eax, eax)?;
            for w in func.arg_words() {
                match w.loc {
                    Loc::Reg(i) => a.mov(r11, ARG64[i])?,
                    Loc::Stack(k) => a.mov(r11, qword_ptr(rsp + 8 + 8 * k as i32))?,
                }
                if !w.is_struct {
                    match (w.size, w.signed) {
                        (1, true) => a.movsx(r11, r11b)?,
                        (1, false) => a.movzx(r11d, r11b)?,
                        (2, true) => a.movsx(r11, r11w)?,
                        (2, false) => a.movzx(r11d, r11w)?,
                        (3..=4, true) => a.movsxd(r11, r11d)?,
                        (3..=4, false) => a.mov(r11d, r11d)?,
                        _ => {}
                    }
                }
                a.add(rax, r11)?;
            }
            if bias != 0 {
                a.mov(r11, bias)?;
                a.add(rax, r11)?;
            }
            a.ret()?;
        }
    }
    a.assemble(ip).map_err(CodegenError::from)
}

/// `u64 caller(const u64 *words, u64 target)`: loads the argument words of `func` into registers
/// and stack slots as the ABI passes them, calls `target`, returns rax.
pub fn caller(ip: u64, func: &FuncModel) -> R<Vec<u8>> {
    let ws = func.arg_words();
    let nstack = ws.iter().filter(|w| matches!(w.loc, Loc::Stack(_))).count();
    let frame = (8 * nstack).div_ceil(16) * 16;
    let mut a = CodeAssembler::new(64)?;
    a.push(rbp)?;
    a.mov(rbp, rsp)?;
    a.mov(r10, rdi)?;
    a.mov(r11, rsi)?;
    if frame > 0 {
        a.sub(rsp, frame as i32)?;
    }
    for (slot, w) in ws.iter().enumerate() {
        if let Loc::Stack(k) = w.loc {
            a.mov(rax, qword_ptr(r10 + 8 * slot as i32))?;
            a.mov(qword_ptr(rsp + 8 * k as i32), rax)?;
        }
    }
    for (slot, w) in ws.iter().enumerate() {
        if let Loc::Reg(i) = w.loc {
            a.mov(ARG64[i], qword_ptr(r10 + 8 * slot as i32))?;
        }
    }
    a.call(r11)?;
    a.leave()?;
    a.ret()?;
    a.assemble(ip).map_err(CodegenError::from)
}
