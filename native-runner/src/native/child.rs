//! Isolation: each scenario runs in a child process (`fsession-lab __exec`), so a fault in
//! generated code ends only that run. The child reports its code layout on stderr before the
//! first call and, on SIGSEGV/SIGILL/SIGBUS/SIGFPE/SIGTRAP, the faulting instruction address.

use std::io::Write;

fn hex(mut v: u64, out: &mut [u8; 18]) -> &[u8] {
    out[0] = b'0';
    out[1] = b'x';
    for i in (2..18).rev() {
        let d = (v & 0xf) as u8;
        out[i] = if d < 10 { b'0' + d } else { b'a' + d - 10 };
        v >>= 4;
    }
    &out[..]
}

extern "C" fn on_fault(sig: libc::c_int, info: *mut libc::siginfo_t, uctx: *mut libc::c_void) {
    // Only async-signal-safe calls: write(2) and _exit(2).
    // SAFETY: the kernel passes a valid ucontext_t and siginfo_t to an SA_SIGINFO handler.
    let (rip, addr) = unsafe {
        let uc = uctx as *const libc::ucontext_t;
        (
            (*uc).uc_mcontext.gregs[libc::REG_RIP as usize] as u64,
            (*info).si_addr() as u64,
        )
    };
    let mut line = [0u8; 96];
    let mut n = 0;
    for part in [
        &b"\nFAULT "[..],
        &[b'0' + (sig / 10) as u8, b'0' + (sig % 10) as u8][..],
        b" rip ",
    ] {
        line[n..n + part.len()].copy_from_slice(part);
        n += part.len();
    }
    let mut h = [0u8; 18];
    let s = hex(rip, &mut h);
    line[n..n + 18].copy_from_slice(s);
    n += 18;
    line[n..n + 6].copy_from_slice(b" addr ");
    n += 6;
    let s = hex(addr, &mut h);
    line[n..n + 18].copy_from_slice(s);
    n += 18;
    line[n] = b'\n';
    n += 1;
    // SAFETY: writing our own buffer to stderr and exiting are async-signal-safe.
    unsafe {
        libc::write(2, line.as_ptr() as *const libc::c_void, n);
        libc::_exit(86);
    }
}

/// Installs the fault handler for the signals generated code can raise.
pub fn install_fault_handler() {
    for sig in [libc::SIGSEGV, libc::SIGILL, libc::SIGBUS, libc::SIGFPE, libc::SIGTRAP] {
        // SAFETY: a zeroed sigaction with our SA_SIGINFO handler; the previous action is ignored.
        unsafe {
            let mut sa: libc::sigaction = std::mem::zeroed();
            sa.sa_sigaction = on_fault as *const () as usize;
            sa.sa_flags = libc::SA_SIGINFO;
            libc::sigemptyset(&mut sa.sa_mask);
            libc::sigaction(sig, &sa, std::ptr::null_mut());
        }
    }
}

/// Reports the layout on stderr: `PIECE start end name` and `LINE addr text` lines.
pub fn report_layout(world: &super::exec::World) {
    let mut e = std::io::stderr().lock();
    for (name, a, b) in &world.pieces {
        let _ = writeln!(e, "PIECE {a:#x} {b:#x} {name}");
    }
    for (a, t) in &world.listing {
        let _ = writeln!(e, "LINE {a:#x} {t}");
    }
    let _ = e.flush();
}
