//! Stepping through a recorded call: test7's cookie write lands in arg0 under
//! fsession-v9-patch05 and in its cookie slot under linux-7.0; stepping back restores the slot.

use fsession_core::emu::stepper::{record, At, Goal};

mod common;

fn cookie_write_slot(profile: &str) -> (String, u64, Option<u64>) {
    let (s, report, enc, place) = common::encoded_example("fsession_cookie.toml", profile);
    let rec = record(&s, &report, &enc, &place, vec![1]).unwrap();
    let test7 = rec.programs.iter().position(|(n, _)| n == "test7").unwrap();
    let mut c = rec.start();
    // Run to test7's program call, then step until one of its instructions stores the cookie.
    loop {
        let next = rec.find(c.done, Goal::ProgramCall);
        rec.trace.seek(&mut c, next + 1);
        if matches!(rec.view(&c).next, At::Bpf { prog, .. } if prog == test7) {
            break;
        }
        assert!(c.done < rec.trace.events.len(), "test7 never ran");
    }
    loop {
        assert!(rec.trace.forward(&mut c), "no cookie write");
        let v = rec.view(&c);
        if let Some(s) = v
            .slots
            .iter()
            .find(|s| s.just_written && s.value == Some(0xaaaa_bbbb_cccc_dddd))
        {
            let name = s.name.clone();
            let value = s.value.unwrap();
            // One step back: the slot holds what it held before.
            assert!(rec.trace.back(&mut c));
            let before = rec.view(&c).slots.iter().find(|x| x.name == name).and_then(|x| x.value);
            return (name, value, before);
        }
    }
}

#[test]
fn the_cookie_write_lands_in_arg0_under_patch05_and_back_steps_restore_it() {
    let (slot, value, before) = cookie_write_slot("fsession-v9-patch05");
    assert_eq!(slot, "arg0");
    assert_eq!(value, 0xaaaa_bbbb_cccc_dddd);
    assert_eq!(
        before,
        Some(0x1111_2222_3333_4444),
        "test8's cookie, written to arg0 before test7's"
    );
}

#[test]
fn the_cookie_write_lands_in_a_cookie_slot_under_linux_7_0() {
    let (slot, _, before) = cookie_write_slot("linux-7.0");
    assert!(slot.starts_with("cookie"), "{slot}");
    assert_eq!(before, Some(0), "the trampoline zeroed the cookie slot");
}
