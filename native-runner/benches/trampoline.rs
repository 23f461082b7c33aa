//! Trampoline benchmark: a 38-link fsession trampoline (19 fsession programs, each using a
//! session cookie and `bpf_session_is_return`).
//!
//! - accounting + encoding: attach the 19 links, compute the lists and flags, encode;
//! - whole pipeline: scenario text -> parse, assemble, verify, fix up, attach, encode, annotated
//!   and formatted listing, contract check (what `fsession-lab show` does minus printing).
//!
//! `cargo bench -p fsession-runner --bench trampoline` (`BENCH_ITERS`, default 2000).

use fsession_core::kernel::link::{LinkInfo, Trampoline};
use fsession_core::kernel::profile::Profile;
use fsession_core::kernel::program::AttachType;
use fsession_core::scenario::{check, Scenario};
use fsession_core::show::show;
use fsession_core::tramp::build::{spec_from_links, Placement};
use fsession_core::tramp::encode_bytes;
use fsession_core::tramp::listing::AsmSyntax;
use std::hint::black_box;
use std::time::{Duration, Instant};

fn scenario_text() -> String {
    let mut s = String::from("profile = \"linux-7.0\"\n[function]\nprototype = \"int bpf_fentry_test1(int a)\"\n");
    for i in 0..19 {
        s.push_str(&format!(
            "\n[[program]]\nname = \"s{i:02}\"\nattach = \"fsession\"\ncookie = {i}\ntext = \"\"\"\n\
             r6 = r1\ncall bpf_session_cookie\nr7 = r0\nr1 = r6\ncall bpf_session_is_return\n\
             if r0 != 0x0 goto exit_pass\nr1 = {i}\n*(u64 *)(r7 +0) = r1\ngoto done\nexit_pass:\nr1 = *(u64 *)(r7 +0)\n\
             done:\nr0 = 0\nexit\n\"\"\"\n"
        ));
    }
    s
}

fn stats(mut v: Vec<Duration>) -> (f64, f64, f64) {
    v.sort();
    let us = |d: Duration| d.as_nanos() as f64 / 1000.0;
    (us(v[v.len() / 2]), us(v[v.len() * 9 / 10]), us(v[0]))
}

fn main() {
    let iters: usize = std::env::var("BENCH_ITERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2000);
    let text = scenario_text();
    let profile = Profile::by_name("linux-7.0").unwrap();
    let place = Placement::default();
    let scenario = Scenario::parse(&text).unwrap();
    let report = check(&scenario, &text, &profile).unwrap();
    assert!(report.ok(), "{:?}", report.problems);
    assert_eq!(report.trampoline.slots_used, 38);
    let links: Vec<LinkInfo> = report.trampoline.fentry.iter().rev().map(|e| e.link.clone()).collect();
    assert!(links
        .iter()
        .all(|l| l.attach == AttachType::Fsession && l.call_session_cookie));

    // Accounting + encoding.
    let mut a = Vec::with_capacity(iters);
    let mut size = 0;
    for _ in 0..iters + iters / 10 {
        let t = Instant::now();
        let mut tr = Trampoline::new();
        for l in &links {
            tr.attach(l.clone(), &profile).unwrap();
        }
        let lists = tr.links(&profile, &report.function);
        let spec = spec_from_links(&lists, &report.function, &profile, &|_| false, &place);
        let enc = encode_bytes(black_box(&spec)).unwrap();
        size = enc.bytes.len();
        a.push(t.elapsed());
        black_box(enc);
    }
    a.drain(..iters / 10); // warm-up
                           // The two halves alone.
    let lists = {
        let mut tr = Trampoline::new();
        for l in &links {
            tr.attach(l.clone(), &profile).unwrap();
        }
        tr.links(&profile, &report.function)
    };
    let spec = spec_from_links(&lists, &report.function, &profile, &|_| false, &place);
    let mut acc = Vec::with_capacity(iters);
    let mut enc_only = Vec::with_capacity(iters);
    for _ in 0..iters {
        let t = Instant::now();
        let mut tr = Trampoline::new();
        for l in &links {
            tr.attach(l.clone(), &profile).unwrap();
        }
        black_box(tr.links(&profile, &report.function));
        acc.push(t.elapsed());
        let t = Instant::now();
        black_box(encode_bytes(black_box(&spec)).unwrap());
        enc_only.push(t.elapsed());
    }
    if std::env::var("BENCH_ONLY").is_ok_and(|v| v == "encode") {
        for _ in 0..iters * 20 {
            black_box(encode_bytes(black_box(&spec)).unwrap());
        }
        return;
    }
    if std::env::var("BENCH_ONLY").is_ok_and(|v| v == "pipeline") {
        for _ in 0..iters {
            let s = Scenario::parse(black_box(&text)).unwrap();
            black_box(show(&s, &text, &profile, &place, AsmSyntax::Intel).unwrap());
        }
        return;
    }
    // Whole pipeline.
    let mut b = Vec::with_capacity(iters);
    let mut lines = 0;
    for _ in 0..iters + iters / 10 {
        let t = Instant::now();
        let s = Scenario::parse(black_box(&text)).unwrap();
        let r = show(&s, &text, &profile, &place, AsmSyntax::Intel).unwrap();
        lines = r.listing.len();
        assert!(r.contract.holds());
        b.push(t.elapsed());
        black_box(r);
    }
    b.drain(..iters / 10);
    // The pipeline's phases.
    let mut ph: [Vec<Duration>; 5] = Default::default();
    for _ in 0..iters {
        let t = Instant::now();
        let sc = Scenario::parse(black_box(&text)).unwrap();
        ph[0].push(t.elapsed());
        let t = Instant::now();
        let rep = check(&sc, &text, &profile).unwrap();
        ph[1].push(t.elapsed());
        let t = Instant::now();
        let spec = fsession_core::tramp::build::spec_for(&rep, &place);
        let enc = fsession_core::tramp::encode(&spec).unwrap();
        ph[2].push(t.elapsed());
        let t = Instant::now();
        let l = fsession_core::tramp::listing::listing(&enc, place.image, AsmSyntax::Intel).unwrap();
        ph[3].push(t.elapsed());
        let t = Instant::now();
        black_box(fsession_core::tramp::contract::check(
            &enc,
            &profile.verifier_meta,
            &profile.name,
        ));
        ph[4].push(t.elapsed());
        black_box((l, rep));
    }
    let (am, ap, amin) = stats(a);
    let (cm, cp, cmin) = stats(acc);
    let (em, ep, emin) = stats(enc_only);
    let (bm, bp, bmin) = stats(b);
    println!("38-link fsession trampoline: {size} bytes of code, {lines} listing lines, {iters} iterations");
    println!(
        "{:<44} {:>10} {:>10} {:>10} {:>10}",
        "", "median us", "p90 us", "min us", "target us"
    );
    println!(
        "{:<44} {:>10.1} {:>10.1} {:>10.1} {:>10}",
        "accounting + encoding", am, ap, amin, 50
    );
    println!(
        "{:<44} {:>10.1} {:>10.1} {:>10.1} {:>10}",
        "  of which accounting (19 attaches + lists)", cm, cp, cmin, ""
    );
    println!(
        "{:<44} {:>10.1} {:>10.1} {:>10.1} {:>10}",
        "  of which encoding", em, ep, emin, ""
    );
    println!(
        "{:<44} {:>10.1} {:>10.1} {:>10.1} {:>10}",
        "whole pipeline (parse..listing, contract)", bm, bp, bmin, 250
    );
    for (name, v) in [
        "parse TOML",
        "check: assemble, verify, fix up, attach",
        "encode with annotations",
        "format the listing",
        "contract check",
    ]
    .iter()
    .zip(ph)
    {
        let (m, p, mn) = stats(v);
        println!("{:<44} {:>10.1} {:>10.1} {:>10.1}", format!("  {name}"), m, p, mn);
    }
}
