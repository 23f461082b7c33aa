//! Isolation: each scenario runs in a child process (`fsession-lab __exec`), so a fault in
//! generated code ends only that run. The child reports its code layout on stderr before the
//! first call and, on SIGSEGV/SIGILL/SIGBUS/SIGFPE/SIGTRAP, the faulting instruction address,
//! as `protocol::ChildMessage` lines.

use super::protocol::ChildMessage;
use std::io::Write;

/// Writes `v` in decimal into `out`; returns the digits.
fn decimal(mut v: u64, out: &mut [u8; 20]) -> &[u8] {
    let mut i = out.len();
    loop {
        i -= 1;
        out[i] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    &out[i..]
}

extern "C" fn on_fault(sig: libc::c_int, info: *mut libc::siginfo_t, uctx: *mut libc::c_void) {
    // Only async-signal-safe calls: write(2) and _exit(2). The line is the JSON form of
    // `ChildMessage::Fault`, written by hand.
    // SAFETY: the kernel passes a valid ucontext_t and siginfo_t to an SA_SIGINFO handler.
    let (rip, addr) = unsafe {
        let uc = uctx as *const libc::ucontext_t;
        (
            (*uc).uc_mcontext.gregs[libc::REG_RIP as usize] as u64,
            (*info).si_addr() as u64,
        )
    };
    let mut line = [0u8; 128];
    let mut n = 0;
    let mut put = |part: &[u8], n: &mut usize| {
        line[*n..*n + part.len()].copy_from_slice(part);
        *n += part.len();
    };
    let mut d = [0u8; 20];
    put(b"\n{\"msg\":\"fault\",\"signal\":", &mut n);
    put(decimal(sig as u64, &mut d), &mut n);
    put(b",\"rip\":", &mut n);
    put(decimal(rip, &mut d), &mut n);
    put(b",\"addr\":", &mut n);
    put(decimal(addr, &mut d), &mut n);
    put(b"}\n", &mut n);
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

/// Reports the layout on stderr: one `ChildMessage::Layout` line.
pub fn report_layout(world: &super::exec::World) {
    let msg = ChildMessage::Layout {
        pieces: world.pieces.clone(),
        listing: world.listing.clone(),
    };
    let mut e = std::io::stderr().lock();
    if let Ok(line) = serde_json::to_string(&msg) {
        let _ = writeln!(e, "{line}");
    }
    let _ = e.flush();
}
