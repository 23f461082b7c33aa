//! The native side the trampoline calls: `__bpf_prog_enter_recur`/`_exit_recur` with the
//! kernel's contract (per-program recursion counter, run_ctx swap, non-zero start time),
//! `__bpf_tramp_enter/exit`, and the interpreted-program entry `bpf_func(ctx, insns)`, which runs
//! the program in the core interpreter against exactly the memory the model allows.

use fsession_core::emu::helpers::lfsr113;
pub use fsession_core::emu::report::Observation;
use fsession_core::interp::{prepare, CallFault, Host, Memory, Prepared, RunOptions};
use fsession_core::isa::Insn;
use fsession_core::kernel::profile::MetaLayout;
use std::cell::RefCell;
use std::rc::Rc;

/// One program as the runtime knows it.
pub struct ProgRt {
    /// Name.
    pub name: String,
    /// The program after fixups, relocated (what `bpf_func` runs).
    pub insns: Box<[Insn]>,
    /// Ready to run.
    pub prepared: Rc<Prepared>,
    /// It calls `bpf_session_cookie` (the model gives it a cookie slot).
    pub cookie_user: bool,
    /// Recursion counter (`prog->active`).
    pub active: i32,
    /// Times the program ran.
    pub runs: u64,
    /// Times it was skipped because it was already running.
    pub misses: u64,
    /// The program's JIT image, when it runs as one.
    pub image: Option<u64>,
}

/// The frame geometry the programs may touch (from the model's layout).
#[derive(Clone, Copy, Debug)]
pub struct Frame {
    /// ctx = rbp - regs_off.
    pub regs_off: i32,
    /// Lowest allowed slot: rbp - low_off (cookies, ip, func_meta).
    pub low_off: i32,
    /// Argument slots.
    pub nr_regs: usize,
    /// The frame has a return-value slot at rbp - 8.
    pub has_retval: bool,
}

/// Runtime state of one scenario run.
pub struct Runtime {
    /// Programs by index; `struct bpf_prog *` points at `ids[i]`.
    pub progs: Vec<ProgRt>,
    /// `struct bpf_prog` stand-ins: each holds its program's index. Kept here so the addresses
    /// embedded in the trampoline stay valid for the whole run.
    #[allow(dead_code, clippy::vec_box)]
    pub ids: Vec<Box<u64>>,
    /// Global data area (`.bss`), fixed in memory.
    pub bss: Box<[u8]>,
    /// The frame the programs see.
    pub frame: Frame,
    /// The verifier's view of `ctx[-1]`.
    pub verifier_meta: MetaLayout,
    /// The current run_ctx (`current->bpf_ctx`).
    pub current_run_ctx: u64,
    /// `__bpf_tramp_enter` / `_exit` calls.
    pub tramp_enters: u64,
    /// `__bpf_tramp_exit` calls.
    pub tramp_exits: u64,
    /// Monotonic "clock" for start times (never 0 or 1).
    pub clock: u64,
    /// The scenario call being made.
    pub call: usize,
    /// What each program saw.
    pub observations: Vec<Observation>,
    /// Record observations (off for benchmarks).
    pub record: bool,
    /// Program stacks ready for reuse (one per nesting level in use).
    pub stacks: Vec<Vec<u8>>,
    /// `bpf_get_prandom_u32` calls the traced function: (caller, patched entry, argument words).
    pub reentry: Option<(u64, u64, Vec<u64>)>,
}

thread_local! {
    static RT: RefCell<Option<Runtime>> = const { RefCell::new(None) };
}

/// Installs the runtime for this thread.
pub fn install(rt: Runtime) {
    RT.with(|r| *r.borrow_mut() = Some(rt));
}

/// Runs `f` on the installed runtime.
pub fn with<T>(f: impl FnOnce(&mut Runtime) -> T) -> T {
    RT.with(|r| f(r.borrow_mut().as_mut().expect("runtime installed")))
}

/// Takes the runtime back.
pub fn take() -> Option<Runtime> {
    RT.with(|r| r.borrow_mut().take())
}

/// Builds a program's runtime entry.
pub fn prog(name: &str, insns: Vec<Insn>, cookie_user: bool) -> Result<ProgRt, fsession_core::interp::VmError> {
    let prepared = prepare(&insns)?;
    Ok(ProgRt {
        name: name.into(),
        insns: insns.into_boxed_slice(),
        prepared: Rc::new(prepared),
        cookie_user,
        active: 0,
        runs: 0,
        misses: 0,
        image: None,
    })
}

/// `__bpf_prog_enter_recur(prog, run_ctx)`.
pub(crate) extern "C" fn prog_enter(prog: *const u64, run_ctx: *mut u64) -> u64 {
    with(|rt| {
        // SAFETY: `prog` is one of `rt.ids`, each a live u64 holding a program index.
        let idx = unsafe { *prog } as usize;
        // SAFETY: `run_ctx` is the trampoline's 16-byte run_ctx slot; word 1 is saved_run_ctx.
        unsafe { *run_ctx.add(1) = rt.current_run_ctx };
        rt.current_run_ctx = run_ctx as u64;
        let p = &mut rt.progs[idx];
        p.active += 1;
        if p.active != 1 {
            p.misses += 1;
            return 0;
        }
        p.runs += 1;
        rt.clock += 1;
        rt.clock
    })
}

/// `__bpf_prog_exit_recur(prog, start, run_ctx)`.
pub(crate) extern "C" fn prog_exit(prog: *const u64, _start: u64, run_ctx: *mut u64) {
    with(|rt| {
        // SAFETY: as in prog_enter: `prog` is one of `rt.ids`.
        let idx = unsafe { *prog } as usize;
        // SAFETY: as in prog_enter: word 1 of the trampoline's run_ctx slot, stored there by it.
        rt.current_run_ctx = unsafe { *run_ctx.add(1) };
        rt.progs[idx].active -= 1;
    })
}

/// `__bpf_tramp_enter(im)`.
pub extern "C" fn tramp_enter(_im: u64) {
    with(|rt| rt.tramp_enters += 1)
}

/// `__bpf_tramp_exit(im)`.
pub extern "C" fn tramp_exit(_im: u64) {
    with(|rt| rt.tramp_exits += 1)
}

/// Memory a program may touch: the frame slots from the lowest cookie up to the return value,
/// the `.bss` area, and the program's own stack.
struct NativeHost {
    regions: [(u64, u64, bool); 3],
    attach_cookie: u64,
    reentry: Option<(u64, u64, Vec<u64>)>,
}

impl NativeHost {
    #[inline]
    fn find(&self, addr: u64, size: u8) -> Option<(u64, bool)> {
        self.regions.iter().find_map(|&(base, len, w)| {
            let o = addr.wrapping_sub(base);
            (o < len && size as u64 <= len - o).then_some((o, w))
        })
    }
}

impl Memory for NativeHost {
    fn load(&mut self, addr: u64, size: u8) -> Option<u64> {
        self.find(addr, size)?;
        let mut b = [0u8; 8];
        // SAFETY: [addr, addr+size) lies inside one of the regions, all of which are live
        // memory: the trampoline frame (below the current stack pointer's caller frames), the
        // .bss box, or the stack vector.
        unsafe { std::ptr::copy_nonoverlapping(addr as *const u8, b.as_mut_ptr(), size as usize) };
        Some(u64::from_le_bytes(b))
    }
    fn store(&mut self, addr: u64, size: u8, value: u64) -> bool {
        match self.find(addr, size) {
            Some((_, true)) => {
                let b = value.to_le_bytes();
                // SAFETY: as in load; the region is writable.
                unsafe { std::ptr::copy_nonoverlapping(b.as_ptr(), addr as *mut u8, size as usize) };
                true
            }
            _ => false,
        }
    }
}

/// The helpers programs may call on hardware, each with the kernel's meaning (the set the
/// verifier model allows; examples/README.md lists them):
/// - 5 `bpf_ktime_get_ns`: CLOCK_MONOTONIC in nanoseconds;
/// - 7 `bpf_get_prandom_u32`: the next value of a per-thread LFSR113 generator seeded from the
///   OS, the generator the kernel's `bpf_user_rnd_u32` uses; with a scenario's `reentry` the
///   traced function is that implementation, so the helper calls it and returns its value;
/// - 8 `bpf_get_smp_processor_id`: the CPU this thread runs on;
/// - 14 `bpf_get_current_pid_tgid`: `tgid << 32 | pid` of this thread;
/// - 174 `bpf_get_attach_cookie`: the attach cookie from the trampoline's run_ctx.
///
/// Any other id is refused (`CallFault::Unknown`), and the verifier refuses it at load first.
impl Host for NativeHost {
    fn call_helper(&mut self, id: i32, _args: [u64; 5]) -> Result<u64, CallFault> {
        helper_value(id, self.attach_cookie, &self.reentry)
    }
}

/// The helpers' values (see [`NativeHost`]), for the interpreter and for JIT images alike.
fn helper_value(id: i32, attach_cookie: u64, reentry: &Option<(u64, u64, Vec<u64>)>) -> Result<u64, CallFault> {
    {
        match id {
            5 => Ok(monotonic_ns()),
            7 => {
                if let Some((caller, stub, words)) = reentry {
                    // SAFETY: the generated caller for the traced function's prototype and its
                    // patched entry, as in the scenario's own calls.
                    let f: extern "C" fn(*const u64, u64) -> u64 = unsafe { std::mem::transmute(*caller as *const ()) };
                    // The traced function is the helper's implementation: its value is the result.
                    return Ok(f(words.as_ptr(), *stub) & 0xffff_ffff);
                }
                Ok(u64::from(prandom_u32()))
            }
            // SAFETY: no arguments; returns the CPU number or -1.
            8 => Ok(u64::from(unsafe { libc::sched_getcpu() }.max(0) as u32)),
            14 => {
                // SAFETY: neither call takes arguments or can fail.
                let (tgid, pid) = unsafe { (libc::getpid(), libc::gettid()) };
                Ok(((tgid as u32 as u64) << 32) | pid as u32 as u64)
            }
            174 => Ok(attach_cookie),
            _ => Err(CallFault::Unknown),
        }
    }
}

/// The helpers a JIT image may call, as C functions (each behind a realigning shim): the
/// kernel's helpers read the current program's context from the task, these from the runtime.
pub const JIT_HELPERS: [(i32, extern "C" fn() -> u64); 5] = [
    (5, jit_helper::<5>),
    (7, jit_helper::<7>),
    (8, jit_helper::<8>),
    (14, jit_helper::<14>),
    (174, jit_helper::<174>),
];

/// Helper `ID` for JIT images: none of them takes arguments.
extern "C" fn jit_helper<const ID: i32>() -> u64 {
    let (cookie, reentry) = with(|rt| {
        let cookie = if rt.current_run_ctx == 0 {
            0
        } else {
            // SAFETY: current_run_ctx is the trampoline's run_ctx slot of the running program.
            unsafe { *(rt.current_run_ctx as *const u64) }
        };
        (cookie, rt.reentry.clone())
    });
    helper_value(ID, cookie, &reentry).unwrap_or(0)
}

fn monotonic_ns() -> u64 {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: `ts` is a valid timespec to write; CLOCK_MONOTONIC always exists on Linux.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

thread_local! {
    /// LFSR113 state (L'Ecuyer's four-component Tausworthe generator), seeded on first use.
    static RND: std::cell::Cell<Option<[u32; 4]>> = const { std::cell::Cell::new(None) };
}

/// The next LFSR113 output; the state is seeded from the OS on first use (each component above
/// the generator's minimum: 2, 8, 16, 128).
fn prandom_u32() -> u32 {
    RND.with(|c| {
        let mut z = c.get().unwrap_or_else(|| {
            let mut b = [0u8; 16];
            // SAFETY: `b` is a writable 16-byte buffer.
            let n = unsafe { libc::getrandom(b.as_mut_ptr().cast(), b.len(), 0) };
            if n != 16 {
                b = (monotonic_ns() as u128 ^ 0x9e37_79b9_7f4a_7c15_f39c_c060_5ced_c834).to_le_bytes();
            }
            let w = |i: usize| u32::from_le_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]]);
            [w(0) | 2, w(4) | 8, w(8) | 16, w(12) | 128]
        });
        let v = lfsr113(&mut z);
        c.set(Some(z));
        v
    })
}

fn read_u64(addr: u64) -> u64 {
    // SAFETY: callers pass addresses inside the trampoline frame computed from the model.
    unsafe { std::ptr::read_unaligned(addr as *const u64) }
}

/// What is read from the frame before a program runs (when recording).
struct Recorded {
    func_meta: u64,
    decoded: (u64, u64, bool),
    cookie_ptr: Option<u64>,
    cookie_before: Option<u64>,
    args: Vec<u64>,
    retval: Option<u64>,
    in_frame: bool,
    rbp: u64,
    low: u64,
    frame_before: Vec<u64>,
}

/// The frame's words from `low` up to rbp.
fn frame_words(low: u64, rbp: u64) -> Vec<u64> {
    (0..rbp.saturating_sub(low) / 8)
        .map(|k| read_u64(low + 8 * k))
        .collect()
}

/// What a program's run needs, collected with the runtime borrowed only briefly (the program
/// may re-enter the trampoline).
struct Before {
    idx: usize,
    prepared: Rc<Prepared>,
    image: Option<u64>,
    host: NativeHost,
    stack: Vec<u8>,
    record: Option<Recorded>,
    call: usize,
}

fn before(ctx: u64, insns: *const Insn) -> Option<Before> {
    with(|rt| {
        let idx = rt.progs.iter().position(|p| p.insns.as_ptr() == insns)?;
        let f = rt.frame;
        let rbp = ctx.wrapping_add(f.regs_off as u64);
        let low = rbp.wrapping_sub(f.low_off as u64);
        let p = &rt.progs[idx];
        let record = rt.record.then(|| {
            let func_meta = read_u64(ctx - 8);
            let decoded = rt.verifier_meta.decode(func_meta);
            let cookie_ptr = p.cookie_user.then(|| ctx.wrapping_sub(8 * decoded.1));
            let in_frame = cookie_ptr.is_some_and(|a| a >= low && a + 8 <= rbp);
            let cookie_before = cookie_ptr.filter(|_| in_frame).map(read_u64);
            let args = (0..f.nr_regs).map(|k| read_u64(ctx + 8 * k as u64)).collect();
            let retval = f.has_retval.then(|| read_u64(rbp - 8));
            let frame_before = frame_words(low, rbp);
            Recorded {
                rbp,
                low,
                frame_before,
                func_meta,
                decoded,
                cookie_ptr,
                cookie_before,
                args,
                retval,
                in_frame,
            }
        });
        // SAFETY: current_run_ctx is the trampoline's run_ctx slot for this program.
        let attach_cookie = unsafe { *(rt.current_run_ctx as *const u64) };
        let stack = rt.stacks.pop().unwrap_or_else(|| vec![0u8; 512 * 8]);
        let host = NativeHost {
            regions: [
                (low, rbp - low, true),
                (rt.bss.as_ptr() as u64, rt.bss.len() as u64, true),
                (stack.as_ptr() as u64, stack.len() as u64, true),
            ],
            attach_cookie,
            reentry: rt.reentry.clone(),
        };
        Some(Before {
            idx,
            prepared: p.prepared.clone(),
            image: p.image,
            host,
            stack,
            record,
            call: rt.call,
        })
    })
}

fn after(mut b: Before, ctx: u64, r0: Result<u64, fsession_core::interp::VmError>) {
    with(|rt| {
        rt.stacks.push(std::mem::take(&mut b.stack));
        if let Some(Recorded {
            func_meta,
            decoded,
            cookie_ptr,
            cookie_before,
            args,
            retval,
            in_frame,
            rbp,
            low,
            frame_before,
        }) = b.record
        {
            let cookie_after = cookie_ptr.filter(|_| in_frame).map(read_u64);
            rt.observations.push(Observation {
                prog: rt.progs[b.idx].name.clone(),
                call: b.call,
                ctx,
                func_meta,
                decoded,
                cookie_ptr,
                cookie_before,
                cookie_after,
                args,
                retval,
                r0,
                rbp,
                frame_before,
                frame_after: frame_words(low, rbp),
                seen: None,
            });
        }
    });
}

/// The interpreted program's `bpf_func(ctx, insnsi)`.
pub(crate) extern "C" fn interp_entry(ctx: *mut u64, insns: *const Insn) -> u64 {
    let ctx = ctx as u64;
    let Some(mut b) = before(ctx, insns) else {
        return 0;
    };
    let stack_top = b.stack.as_ptr() as u64 + b.stack.len() as u64;
    let res = b.prepared.run(
        &mut b.host,
        [ctx, 0, 0, 0, 0],
        RunOptions {
            budget: 1_000_000,
            stack_top,
        },
    );
    let r0 = res.as_ref().map(|r| r.r0).map_err(Clone::clone);
    let ret = *r0.as_ref().unwrap_or(&0);
    after(b, ctx, r0);
    ret
}

/// `bpf_func(ctx, insnsi)` of a program that runs as its JIT image, with what it saw recorded
/// around the image's run (the image itself is what the trampoline would call directly).
pub(crate) extern "C" fn jit_entry(ctx: *mut u64, insns: *const Insn) -> u64 {
    let ctx = ctx as u64;
    let Some(b) = before(ctx, insns) else {
        return 0;
    };
    let Some(image) = b.image else {
        after(b, ctx, Ok(0));
        return 0;
    };
    // SAFETY: the program's JIT image, compiled by the model for this region; it follows the C
    // ABI of `bpf_func` and accesses the memory the verifier allowed (the trampoline frame, the
    // maps, its own stack on this thread's stack).
    let f: extern "C" fn(u64, u64) -> u64 = unsafe { std::mem::transmute(image as *const ()) };
    let r0 = f(ctx, insns as u64);
    after(b, ctx, Ok(r0));
    r0
}

#[cfg(test)]
mod helper_tests {
    use super::*;

    #[test]
    fn helpers_have_the_kernels_meaning() {
        let mut h = NativeHost {
            regions: [(0, 0, false); 3],
            attach_cookie: 0x1122,
            reentry: None,
        };
        let t0 = h.call_helper(5, [0; 5]).unwrap();
        let t1 = h.call_helper(5, [0; 5]).unwrap();
        assert!(t0 > 0 && t1 >= t0, "CLOCK_MONOTONIC ns: {t0} then {t1}");
        let pid_tgid = h.call_helper(14, [0; 5]).unwrap();
        assert_eq!(pid_tgid >> 32, u64::from(std::process::id()));
        assert_ne!(pid_tgid as u32, 0);
        let cpu = h.call_helper(8, [0; 5]).unwrap();
        assert!(cpu < 4096);
        assert_eq!(h.call_helper(174, [0; 5]).unwrap(), 0x1122);
        let draws: Vec<u64> = (0..1000).map(|_| h.call_helper(7, [0; 5]).unwrap()).collect();
        assert!(draws.iter().all(|&v| v <= u64::from(u32::MAX)));
        let mut sorted = draws.clone();
        sorted.sort();
        sorted.dedup();
        assert!(sorted.len() > 990, "1000 draws, {} distinct", sorted.len());
        // Every bit of the 32 takes both values.
        let (or, and) = draws.iter().fold((0, u64::MAX), |(o, a), &v| (o | v, a & v));
        assert_eq!((or, and), (0xffff_ffff, 0));
        assert!(matches!(h.call_helper(1, [0; 5]), Err(CallFault::Unknown)));
    }

    #[test]
    fn lfsr113_is_deterministic_from_its_seed() {
        let mut a = [2, 8, 16, 128];
        let mut b = a;
        let xs: Vec<u32> = (0..8).map(|_| lfsr113(&mut a)).collect();
        let ys: Vec<u32> = (0..8).map(|_| lfsr113(&mut b)).collect();
        assert_eq!(xs, ys);
        assert!(xs.windows(2).all(|w| w[0] != w[1]));
    }
}
