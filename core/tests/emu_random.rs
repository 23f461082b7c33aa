//! Seeded random scenarios are valid (every program verifies and attaches) and run in the
//! executor without problems; `fsession-lab validate --random` runs them on hardware as well.

use fsession_core::emu::random::scenario;
use fsession_core::emu::run::{run, EmuOptions};
use fsession_core::kernel::profile::Profile;
use fsession_core::scenario::Scenario;

#[test]
fn random_scenarios_are_valid_and_run_cleanly_in_the_executor() {
    let mut failures = vec![];
    for seed in 0..300 {
        let g = scenario(seed);
        let s = match Scenario::parse(&g.text) {
            Ok(s) => s,
            Err(e) => {
                failures.push(format!("seed {seed}: {e}\n{}", g.text));
                continue;
            }
        };
        let p = Profile::by_name(&s.profile).unwrap();
        match run(&s, &g.text, &p, EmuOptions::default()) {
            Ok(r) if r.passed() => {}
            Ok(r) => failures.push(format!(
                "seed {seed}: {}\n{}",
                r.problems.iter().map(|p| p.to_string()).collect::<Vec<_>>().join("; "),
                g.text
            )),
            Err(e) => failures.push(format!("seed {seed}: {e}\n{}", g.text)),
        }
    }
    assert!(
        failures.is_empty(),
        "{} of 300 fail; first:\n{}",
        failures.len(),
        failures[0]
    );
}

/// The random scenarios cover the space the comparison with hardware is meant to: every shipped
/// profile (so every mitigation set), both modes, stack and struct arguments, every attach
/// type, cookies, IP_ARG, the review bug.
#[test]
fn random_scenarios_cover_the_space() {
    use fsession_core::scenario::check;
    use std::collections::BTreeSet;
    let mut profiles = BTreeSet::new();
    let (mut jmp, mut stack_args, mut structs, mut cookies, mut ip, mut violations) = (0, 0, 0, 0, 0, 0);
    let mut attach = BTreeSet::new();
    for seed in 0..1000 {
        let g = scenario(seed);
        let s = Scenario::parse(&g.text).unwrap();
        let p = Profile::by_name(&s.profile).unwrap();
        let r = check(&s, &g.text, &p).unwrap();
        profiles.insert(s.profile.clone());
        jmp += usize::from(r.profile.mode == fsession_core::kernel::profile::TrampolineMode::Jmp);
        stack_args += usize::from(r.function.nr_regs() > 6);
        structs += usize::from(r.function.args.iter().any(|a| a.is_struct));
        cookies += usize::from(r.trampoline.fsession_cookie_cnt > 0);
        ip += usize::from(r.trampoline.flags & fsession_core::kernel::link::flags::IP_ARG != 0);
        violations += usize::from(s.expect.contract_violation);
        for pr in &r.programs {
            attach.insert(pr.attach.to_string());
        }
    }
    assert_eq!(profiles.len(), Profile::shipped_ref().len(), "{profiles:?}");
    assert!(attach.len() >= 4, "{attach:?}");
    for (what, n) in [
        ("jmp mode", jmp),
        ("stack arguments", stack_args),
        ("structs", structs),
        ("cookies", cookies),
        ("IP_ARG", ip),
        ("patch05 violations", violations),
    ] {
        assert!(n >= 20, "{what}: {n} of 1000");
    }
}
