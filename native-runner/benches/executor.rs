//! The x86-64 executor in fsession-core: the 38-link example (19 fsession programs, each with a
//! cookie, entry and exit pass) run once, as `show`, `check` and the playground run it for the
//! contract from execution (placing the world, one call, every program interpreted on the
//! executed frame), and the same with the trace recorded (what the Run view records); beside it,
//! the same call on this CPU through the native runner (the executor's ratio to hardware).
//!
//! `cargo bench -p fsession-runner --bench executor` (`BENCH_ITERS`, default 2000).

use fsession_core::emu::stepper::record;
use fsession_core::emu::verdict::execute;
use fsession_core::kernel::profile::Profile;
use fsession_core::scenario::{check, Scenario};
use fsession_core::tramp::build::{spec_for, Placement};
use fsession_core::tramp::encode;
use std::hint::black_box;
use std::time::{Duration, Instant};

fn median_us(mut v: Vec<Duration>) -> (f64, f64) {
    v.sort();
    let us = |d: Duration| d.as_nanos() as f64 / 1000.0;
    (us(v[v.len() / 2]), us(v[v.len() * 9 / 10]))
}

fn main() {
    let iters: usize = std::env::var("BENCH_ITERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2000);
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../examples/scenarios/links_38.toml"
    ))
    .unwrap();
    let s = Scenario::parse(&text).unwrap();
    let profile = Profile::by_name(&s.profile).unwrap();
    let report = check(&s, &text, &profile).unwrap();
    let place = Placement::default();
    let enc = encode(&spec_for(&report, &place)).unwrap();
    let (v, calls) = execute(&s, &report, &enc, &place).unwrap();
    assert!(v.holds());
    let runs = calls.observations.len();
    let mut t_exec = Vec::with_capacity(iters);
    let mut t_trace = Vec::with_capacity(iters);
    let mut events = 0;
    for _ in 0..iters + iters / 10 {
        let t = Instant::now();
        black_box(execute(&s, &report, &enc, &place).unwrap());
        t_exec.push(t.elapsed());
        let t = Instant::now();
        let r = record(&s, &report, &enc, &place, vec![1]).unwrap();
        events = r.trace.events.len();
        t_trace.push(t.elapsed());
        black_box(r);
    }
    t_exec.drain(..iters / 10);
    t_trace.drain(..iters / 10);
    let (m, p90) = median_us(t_exec);
    let (mt, pt90) = median_us(t_trace);
    println!(
        "38-link example, {runs} program runs, {} x86 steps per call; {iters} iterations",
        v.steps
    );
    println!("{:<52} {:>10} {:>10}", "", "median µs", "p90 µs");
    println!(
        "{:<52} {m:>10.1} {p90:>10.1}",
        "executor: contract from execution (one call)"
    );
    println!(
        "{:<52} {mt:>10.1} {pt90:>10.1}",
        &format!("executor: the same call recorded ({events} events)")
    );
    hardware(&s, &text, &profile, m);
}

/// The same call on this CPU (the native runner's trampoline, programs interpreted).
#[cfg(target_arch = "x86_64")]
fn hardware(s: &Scenario, text: &str, profile: &Profile, emu_us: f64) {
    use fsession_runner::native::{exec, rt};
    let world = exec::build(s, text, profile).unwrap();
    rt::with(|r| r.record = false);
    // SAFETY: the generated caller for the scenario's `int bpf_fentry_test1(int a)` and its patched
    // entry, as in the native runner's own calls.
    let f: extern "C" fn(*const u64, u64) -> u64 = unsafe { std::mem::transmute(world.caller as *const ()) };
    let words = [1u64];
    let n = 20_000;
    for _ in 0..1000 {
        black_box(f(words.as_ptr(), world.stub));
    }
    let t = Instant::now();
    for _ in 0..n {
        black_box(f(black_box(words.as_ptr()), world.stub));
    }
    let hw_us = t.elapsed().as_nanos() as f64 / 1000.0 / n as f64;
    println!("{:<52} {hw_us:>10.2}", "this CPU: the same call (native runner)");
    println!("executor / CPU: {:.0}x", emu_us / hw_us);
}

#[cfg(not(target_arch = "x86_64"))]
fn hardware(_: &Scenario, _: &str, _: &Profile, _: f64) {
    println!("this CPU: not x86-64, no hardware comparison");
}
