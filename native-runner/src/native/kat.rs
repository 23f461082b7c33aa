//! The executor's known-answer rows on this machine's CPU: each row's instruction bytes run in a
//! harness that loads the row's registers, flags and scratch memory, executes the instruction
//! once and stores everything back, in a child process (a row may raise #DE or #BP on purpose).
//! The outcome is compared with the row exactly as the executor's is.

use super::mem::{CodeRegion, Shared};
use fsession_core::x86exec::kat::{Bases, End, Outcome, Row, SCRATCH, TAKEN};
use iced_x86::code_asm::*;
use iced_x86::{Code, Encoder, Instruction, MemoryOperand, Register};

/// Why a row could not be run on this machine.
#[derive(Debug, thiserror::Error)]
pub enum KatError {
    /// The code region.
    #[error(transparent)]
    Memory(#[from] super::mem::MemError),
    /// iced-x86 refused the harness.
    #[error("harness code: {0}")]
    Asm(#[from] iced_x86::IcedError),
    /// The shared data page.
    #[error("mmap of the shared data page failed: {0}")]
    Shared(std::io::Error),
    /// `fork` failed.
    #[error("fork failed: {0}")]
    Fork(std::io::Error),
    /// The child ended in an unexpected way.
    #[error("the row's child ended with wait status {status:#x}")]
    Child {
        /// `waitpid`'s status.
        status: i32,
    },
}

/// Offsets in the shared page: the scratch area first, then the state block.
const ST: usize = SCRATCH as usize;
const IN_FLAGS: i32 = 128;
const OUT: usize = 256;
const OUT_FLAGS: i32 = 128;
const MARK: usize = OUT + 136;
const SAVED_RSP: i32 = 144;
const SAVED: i32 = 152;
const PAGE: usize = ST + 512;
/// Where the harness's landing pads and store sequence start after the instruction.
const STORE_AFTER: usize = 2 * TAKEN as usize;

const GPRS: [AsmRegister64; 16] = [
    rax, rcx, rdx, rbx, rsp, rbp, rsi, rdi, r8, r9, r10, r11, r12, r13, r14, r15,
];

/// `harness(state)`: saves the callee-saved registers and rsp, loads flags and all sixteen
/// registers from the state block (rdi last), and falls into the row's instruction.
fn prologue(ip: u64) -> Result<Vec<u8>, KatError> {
    let mut a = CodeAssembler::new(64)?;
    for (k, r) in [rbx, rbp, r12, r13, r14, r15].into_iter().enumerate() {
        a.mov(qword_ptr(rdi + (OUT as i32 + SAVED + 8 * k as i32)), r)?;
    }
    a.mov(qword_ptr(rdi + (OUT as i32 + SAVED_RSP)), rsp)?;
    a.push(qword_ptr(rdi + IN_FLAGS))?;
    a.popfq()?;
    for (k, r) in GPRS.into_iter().enumerate() {
        if k != 7 && k != 4 {
            a.mov(r, qword_ptr(rdi + 8 * k as i32))?;
        }
    }
    a.mov(rsp, qword_ptr(rdi + 32))?;
    a.mov(rdi, qword_ptr(rdi + 56))?;
    Ok(a.assemble(ip)?)
}

fn encode(ins: &Instruction, ip: u64, out: &mut Vec<u8>) -> Result<(), KatError> {
    let mut e = Encoder::new(64);
    e.encode(ins, ip + out.len() as u64)?;
    out.extend(e.take_buffer());
    Ok(())
}

/// A landing pad: stores rax to the state block by absolute address (no register is free),
/// records which pad ran, jumps to the store sequence. Flags are untouched.
fn pad(ip: u64, state: u64, marker: u64, store: u64) -> Result<Vec<u8>, KatError> {
    let moffs = |addr: u64| MemoryOperand::with_base_displ_size(Register::None, addr as i64, 8);
    let mut v = vec![];
    encode(
        &Instruction::with2(Code::Mov_moffs64_RAX, moffs(state + OUT as u64), Register::RAX)?,
        ip,
        &mut v,
    )?;
    encode(
        &Instruction::with2(Code::Mov_r64_imm64, Register::RAX, marker)?,
        ip,
        &mut v,
    )?;
    encode(
        &Instruction::with2(Code::Mov_moffs64_RAX, moffs(state + MARK as u64), Register::RAX)?,
        ip,
        &mut v,
    )?;
    encode(&Instruction::with_branch(Code::Jmp_rel32_64, store)?, ip, &mut v)?;
    Ok(v)
}

/// Stores the other fifteen registers and the flags, restores the host's registers, returns.
fn store(ip: u64, state: u64) -> Result<Vec<u8>, KatError> {
    let mut a = CodeAssembler::new(64)?;
    a.mov(rax, state + OUT as u64)?;
    for (k, r) in GPRS.into_iter().enumerate().skip(1) {
        a.mov(qword_ptr(rax + 8 * k as i32), r)?;
    }
    a.mov(rsp, qword_ptr(rax + SAVED_RSP))?;
    a.pushfq()?;
    a.pop(rcx)?;
    a.mov(qword_ptr(rax + OUT_FLAGS), rcx)?;
    for (k, r) in [rbx, rbp, r12, r13, r14, r15].into_iter().enumerate() {
        a.mov(r, qword_ptr(rax + (SAVED + 8 * k as i32)))?;
    }
    a.ret()?;
    Ok(a.assemble(ip)?)
}

fn word(b: &[u8], o: usize) -> u64 {
    u64::from_le_bytes(b[o..o + 8].try_into().unwrap_or([0; 8]))
}

/// Runs one row on this CPU; returns where it ran and what it gave.
pub fn run_row(row: &Row) -> Result<(Bases, Outcome), KatError> {
    let mut shared = Shared::new(PAGE).map_err(KatError::Shared)?;
    let data = shared.addr();
    let mut region = CodeRegion::new(4096)?;
    let base = region.addr();
    let insn = row.bytes();
    let head = prologue(base)?;
    let b = Bases {
        code: base + head.len() as u64,
        scratch: data,
    };
    let next = b.code + insn.len() as u64;
    let state = data + ST as u64;
    let store_at = next + STORE_AFTER as u64;
    let mut code = head;
    code.extend_from_slice(&insn);
    let fall = pad(next, state, 1, store_at)?;
    let taken = pad(next + TAKEN as u64, state, 2, store_at)?;
    code.extend_from_slice(&fall);
    code.resize(code.len() + TAKEN as usize - fall.len(), 0xcc);
    code.extend_from_slice(&taken);
    code.resize(code.len() + STORE_AFTER - TAKEN as usize - taken.len(), 0xcc);
    code.extend(store(store_at, state)?);
    region.write(0, &code)?;
    region.make_executable()?;
    let (cpu, scratch) = row.initial(b);
    let bytes = shared.bytes();
    bytes[..ST].copy_from_slice(&scratch);
    for (k, v) in cpu.regs.iter().enumerate() {
        bytes[ST + 8 * k..ST + 8 * k + 8].copy_from_slice(&v.to_le_bytes());
    }
    bytes[ST + IN_FLAGS as usize..ST + IN_FLAGS as usize + 8].copy_from_slice(&cpu.rflags.to_le_bytes());
    // SAFETY: fork in this single-purpose call; the child only runs the harness and _exits.
    let pid = unsafe { libc::fork() };
    if pid < 0 {
        return Err(KatError::Fork(std::io::Error::last_os_error()));
    }
    if pid == 0 {
        // SAFETY: `base` is the harness, generated above for exactly this state block; it
        // returns normally unless the row's instruction traps, which ends the child.
        let f: extern "C" fn(u64) = unsafe { std::mem::transmute(base as *const ()) };
        f(state);
        // SAFETY: ends the child without running the parent's destructors or atexit handlers.
        unsafe { libc::_exit(0) };
    }
    let mut status = 0;
    // SAFETY: waiting for the child just forked.
    unsafe { libc::waitpid(pid, &mut status, 0) };
    let bytes = shared.bytes();
    let end = if libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0 {
        match word(bytes, ST + MARK) {
            1 => End::Continue(0),
            2 => End::Continue(TAKEN),
            _ => return Err(KatError::Child { status }),
        }
    } else if libc::WIFSIGNALED(status) && libc::WTERMSIG(status) == libc::SIGFPE {
        End::DivideError
    } else if libc::WIFSIGNALED(status) && libc::WTERMSIG(status) == libc::SIGTRAP {
        End::Breakpoint
    } else {
        return Err(KatError::Child { status });
    };
    let trapped = !matches!(end, End::Continue(_));
    let mut regs = [0u64; 16];
    for (k, r) in regs.iter_mut().enumerate() {
        *r = if trapped {
            cpu.regs[k]
        } else {
            word(bytes, ST + OUT + 8 * k)
        };
    }
    let rflags = if trapped {
        cpu.rflags
    } else {
        word(bytes, ST + OUT + OUT_FLAGS as usize)
    };
    Ok((
        b,
        Outcome {
            regs,
            rflags,
            scratch: bytes[..ST].to_vec(),
            end,
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use fsession_core::x86exec::kat::{compare, rows, Val};
    use fsession_core::x86exec::{flag, Gpr};

    /// The CPU's answer is read back, not assumed: the sum and the flags of `add` come from the
    /// hardware, and a wrong expectation is a mismatch.
    #[test]
    fn the_cpu_computes_the_rows() {
        let mut row = rows().into_iter().find(|r| r.text == "add rax, rbx").unwrap();
        let (b, out) = run_row(&row).unwrap();
        assert_eq!(out.regs[Gpr::RAX.0 as usize], 0x8000_0000_0000_0000);
        assert_eq!(out.rflags & flag::STATUS, flag::OF | flag::SF | flag::AF | flag::PF);
        assert!(compare(&row, b, &out).is_empty());
        row.out_regs[0].1 = Val::Imm(1);
        let (b, out) = run_row(&row).unwrap();
        assert_eq!(compare(&row, b, &out).len(), 1);
        let div = rows().into_iter().find(|r| r.end == End::DivideError).unwrap();
        assert_eq!(run_row(&div).unwrap().1.end, End::DivideError);
    }
}
