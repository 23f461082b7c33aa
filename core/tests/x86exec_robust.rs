//! The executor on arbitrary bytes: every sequence decodes to an instruction that executes or a
//! typed error; nothing panics. And the contract verdict from execution per profile.

use fsession_core::emu::verdict::{execute, ExecProblem};

mod common;
use fsession_core::x86exec::{AreaKind, Machine, Perms, Space};
use proptest::prelude::*;

proptest! {
    #![proptest_config(ProptestConfig { cases: 4000, ..ProptestConfig::default() })]
    #[test]
    fn any_bytes_execute_or_fail_typed(code in proptest::collection::vec(any::<u8>(), 1..16), regs in proptest::array::uniform16(any::<u64>()), steps in 1usize..4) {
        let mut mem = Space::default();
        mem.map(AreaKind::Code, 0x1000, code, Perms::RX).unwrap();
        mem.map(AreaKind::Stack, 0x10_0000, vec![0; 0x1000], Perms::RW).unwrap();
        let mut m = Machine::new(mem);
        m.cpu.regs = regs;
        m.cpu.regs[4] = 0x10_0800;
        m.cpu.rip = 0x1000;
        for _ in 0..steps {
            if m.step().is_err() {
                break;
            }
        }
    }
}

fn verdict(profile: &str) -> fsession_core::emu::verdict::ExecContract {
    let (s, report, enc, place) = common::encoded_example("fsession_cookie.toml", profile);
    execute(&s, &report, &enc, &place).unwrap().0
}

#[test]
fn the_verdict_from_execution_per_profile() {
    for p in ["linux-7.0", "fsession-v9"] {
        let v = verdict(p);
        assert!(v.holds(), "{p}: {:?}", v.problems().collect::<Vec<_>>());
        assert_eq!(v.calls, vec![(vec![1], 2)], "{p}: bpf_fentry_test1(1) = 2");
    }
    let v = verdict("fsession-v9-patch05");
    assert!(!v.holds());
    let writes: Vec<(&str, Option<&str>)> = v
        .problems()
        .filter_map(|p| match p {
            ExecProblem::CookieWrite { who, at, .. } => Some((who.prog.as_str(), at.slot.as_deref())),
            _ => None,
        })
        .collect();
    assert!(writes.contains(&("test7", Some("arg0"))), "{writes:?}");
    assert!(writes.iter().all(|(_, slot)| *slot == Some("arg0")));
    assert!(v.problems().any(|p| matches!(
        p,
        ExecProblem::Argument {
            index: 0,
            passed: 1,
            received: 0xaaaa_bbbb_cccc_dddd,
            ..
        }
    )));
}
