//! Calls per second through the model's trampoline on this machine, side by side in one run:
//! direct call, fentry, fexit, fentry+fexit, fsession without and with a cookie, and 1, 4, 16
//! fsession programs. Every program is `r0 = 0; exit` (the cookie variant also calls
//! `bpf_session_cookie`) and runs as its JIT image (the model's JIT, called by the trampoline
//! directly) and, for scale, in the interpreter behind the kernel's `bpf_func` convention.
//!
//! `cargo bench -p fsession-runner --bench calls` (`BENCH_CALLS`, default 200000 per config).

#[cfg(target_arch = "x86_64")]
fn main() {
    use fsession_core::kernel::profile::Profile;
    use fsession_core::scenario::Scenario;
    use fsession_runner::native::{exec, rt};
    use std::hint::black_box;
    use std::time::Instant;

    let n: u64 = std::env::var("BENCH_CALLS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200_000);
    let profile = Profile::by_name("linux-7.0").unwrap();
    let prog = |name: &str, attach: &str, cookie: bool| {
        let text = if cookie {
            "call bpf_session_cookie\\nr0 = 0\\nexit"
        } else {
            "r0 = 0\\nexit"
        };
        format!("\n[[program]]\nname = \"{name}\"\nattach = \"{attach}\"\ntext = \"{text}\"\n")
    };
    let configs: Vec<(&str, String)> = vec![
        ("direct call (not traced)", String::new()),
        ("fentry", prog("f", "fentry", false)),
        ("fexit", prog("x", "fexit", false)),
        (
            "fentry + fexit",
            prog("f", "fentry", false) + &prog("x", "fexit", false),
        ),
        ("fsession", prog("s", "fsession", false)),
        ("fsession with cookie", prog("s", "fsession", true)),
        (
            "4 fsession",
            (0..4).map(|i| prog(&format!("s{i}"), "fsession", false)).collect(),
        ),
        (
            "16 fsession",
            (0..16).map(|i| prog(&format!("s{i}"), "fsession", false)).collect(),
        ),
    ];
    println!("{n} calls per configuration; linux-7.0 (jmp mode)");
    println!(
        "{:<28} {:>12} {:>10} {:>10} {:>14}",
        "configuration", "JIT ns/call", "M calls/s", "vs direct", "interp ns/call"
    );
    let mut direct = 0.0;
    let time = |text: &str, s: &Scenario, engine: exec::ProgEngine, progs: &str, name: &str| {
        let (world, _) = exec::build_with(s, text, &profile, None, engine).unwrap();
        rt::with(|r| r.record = false);
        // SAFETY: the generated caller for `u64 target(u64 a)` and the patched entry.
        let f: extern "C" fn(*const u64, u64) -> u64 = unsafe { std::mem::transmute(world.caller as *const ()) };
        let words = [41u64];
        for _ in 0..n / 10 {
            black_box(f(words.as_ptr(), world.stub));
        }
        let t = Instant::now();
        for _ in 0..n {
            assert_eq!(black_box(f(black_box(words.as_ptr()), world.stub)), 42);
        }
        let ns = t.elapsed().as_nanos() as f64 / n as f64;
        let runs: u64 = rt::with(|r| r.progs.iter().map(|p| p.runs).sum());
        assert!(progs.is_empty() || runs >= n, "{name}: programs ran {runs} times");
        rt::take();
        drop(world);
        ns
    };
    for (name, progs) in configs {
        let text = format!("profile = \"linux-7.0\"\n[function]\nprototype = \"u64 target(u64 a)\"\nbias = 1\n{progs}");
        let s = Scenario::parse(&text).unwrap();
        let jit = time(&text, &s, exec::ProgEngine::JitDirect, &progs, name);
        let interp = time(&text, &s, exec::ProgEngine::Interp, &progs, name);
        if direct == 0.0 {
            direct = jit;
        }
        println!(
            "{name:<28} {jit:>12.1} {:>10.1} {:>9.1}x {interp:>14.1}",
            1000.0 / jit,
            jit / direct
        );
    }
}

#[cfg(not(target_arch = "x86_64"))]
fn main() {
    println!("native execution needs x86-64");
}
