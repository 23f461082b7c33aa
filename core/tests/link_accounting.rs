//! Link accounting: the reference's worked examples (§4.7) and every attach error of §4.3.

use fsession_core::errno::Errno;
use fsession_core::kernel::link::{flags, LinkInfo, Trampoline};
use fsession_core::kernel::profile::{Profile, TrampolineMode};
use fsession_core::kernel::program::AttachType::{self, *};
use fsession_core::kernel::program::{parse_prototype, FuncModel};

fn link(prog: usize, attach: AttachType) -> LinkInfo {
    LinkInfo {
        prog,
        name: format!("{}{prog}", attach.section()),
        attach,
        cookie: prog as u64,
        call_get_func_ip: false,
        call_session_cookie: false,
    }
}

fn cookie_link(prog: usize) -> LinkInfo {
    LinkInfo {
        call_session_cookie: true,
        ..link(prog, Fsession)
    }
}

fn func() -> FuncModel {
    parse_prototype("int f(int a)", &Default::default()).unwrap()
}

fn p70() -> Profile {
    Profile::by_name("linux-7.0").unwrap()
}

#[test]
fn fsession_counts_twice_against_38() {
    let p = p70();
    let mut t = Trampoline::new();
    for i in 0..19 {
        t.attach(link(i, Fsession), &p).unwrap();
    }
    assert_eq!((t.fentry.len(), t.fexit.len(), t.slots_used()), (19, 19, 38));
    let e = t.attach(link(19, Fsession), &p).unwrap_err();
    assert_eq!(e.errno, Errno::E2BIG);
    assert!(
        e.message.contains("38 slots in use") && e.message.contains("needs 2"),
        "{e}"
    );
    assert_eq!(t.attach(link(20, Fentry), &p).unwrap_err().errno, Errno::E2BIG);

    let mut t = Trampoline::new();
    for i in 0..37 {
        t.attach(link(i, Fentry), &p).unwrap();
    }
    assert_eq!(t.attach(link(40, Fsession), &p).unwrap_err().errno, Errno::E2BIG);
    t.attach(link(41, Fexit), &p).unwrap();
    assert_eq!(t.slots_used(), 38);
    assert_eq!(t.attach(link(42, FmodRet), &p).unwrap_err().errno, Errno::E2BIG);
}

#[test]
fn freplace_is_exclusive() {
    let p = p70();
    let mut t = Trampoline::new();
    t.attach(link(0, Fsession), &p).unwrap();
    let e = t.attach(link(1, Freplace), &p).unwrap_err();
    assert_eq!(e.errno, Errno::EBUSY);
    let mut t = Trampoline::new();
    t.attach(link(1, Freplace), &p).unwrap();
    let e = t.attach(link(0, Fsession), &p).unwrap_err();
    assert_eq!(e.errno, Errno::EBUSY);
    assert!(e.message.contains("freplace program freplace1"), "{e}");
    t.detach(1).unwrap();
    t.attach(link(0, Fsession), &p).unwrap();
}

#[test]
fn duplicates_are_busy() {
    let p = p70();
    let mut t = Trampoline::new();
    t.attach(link(3, Fsession), &p).unwrap();
    let e = t.attach(link(3, Fsession), &p).unwrap_err();
    assert_eq!(e.errno, Errno::EBUSY);
    assert_eq!(
        e.to_string(),
        "EBUSY (-16): fsession3: program already attached to this function"
    );
}

#[test]
fn head_insertion_order_and_shadow_links() {
    let p = p70();
    let mut t = Trampoline::new();
    for l in [link(0, Fentry), link(1, Fexit), link(2, Fsession), link(3, Fsession)] {
        t.attach(l, &p).unwrap();
    }
    let names = |v: &Vec<fsession_core::kernel::link::ListEntry>| {
        v.iter()
            .map(|e| format!("{}{}", e.link.name, if e.shadow { "'" } else { "" }))
            .collect::<Vec<_>>()
    };
    assert_eq!(names(&t.fentry), ["fsession3", "fsession2", "fentry0"]);
    assert_eq!(names(&t.fexit), ["fsession3'", "fsession2'", "fexit1"]);
    assert_eq!(t.fexit[0].link.cookie, 3, "the shadow carries the same attach cookie");
    // detach removes both entries of an fsession
    t.detach(2).unwrap();
    assert_eq!(names(&t.fentry), ["fsession3", "fentry0"]);
    assert_eq!(names(&t.fexit), ["fsession3'", "fexit1"]);
    assert_eq!(t.detach(2).unwrap_err().errno, Errno::ENOENT);
}

#[test]
fn v9_cookie_limit() {
    let v9 = Profile::by_name("fsession-v9").unwrap();
    let mut t = Trampoline::new();
    for i in 0..4 {
        t.attach(cookie_link(i), &v9).unwrap();
    }
    let e = t.attach(cookie_link(4), &v9).unwrap_err();
    assert_eq!(e.errno, Errno::E2BIG);
    assert!(e.message.contains("limit is 4"), "{e}");
    t.attach(link(5, Fsession), &v9).unwrap(); // no cookie: fine
                                               // 7.0 has no limit
    let mut t = Trampoline::new();
    for i in 0..10 {
        t.attach(cookie_link(i), &p70()).unwrap();
    }
    // 6.18 has no fsession at all
    let e = Trampoline::new()
        .attach(link(0, Fsession), &Profile::by_name("linux-6.18").unwrap())
        .unwrap_err();
    assert_eq!(e.errno, Errno::EINVAL);
}

#[test]
fn flags_the_trampoline_gets() {
    let mut p = p70();
    p.mode = TrampolineMode::Call;
    let mut t = Trampoline::new();
    t.attach(link(0, Fentry), &p).unwrap();
    assert_eq!(t.links(&p, &func()).flags, flags::RESTORE_REGS);
    t.attach(link(1, Fsession), &p).unwrap();
    assert_eq!(t.links(&p, &func()).flags, flags::CALL_ORIG | flags::SKIP_FRAME);
    p.mode = TrampolineMode::Jmp;
    assert_eq!(t.links(&p, &func()).flags, flags::CALL_ORIG);
    let mut ip = link(2, Fexit);
    ip.call_get_func_ip = true;
    t.attach(ip, &p).unwrap();
    let l = t.links(&p, &func());
    assert_eq!(flags::names(l.flags), "CALL_ORIG|IP_ARG");
    assert_eq!((l.fsession_cnt, l.fsession_cookie_cnt, l.slots_used), (1, 0, 4));
    // fmod_ret alone also calls the original
    let mut t = Trampoline::new();
    t.attach(link(0, FmodRet), &p).unwrap();
    assert_eq!(t.links(&p, &func()).flags, flags::CALL_ORIG);
}

/// struct_ops: a trampoline of its own, INDIRECT, RET_FENTRY_RET when the member returns a value
/// (as every captured struct_ops trampoline of 6.12 and 6.18 shows), nothing else beside it.
#[test]
fn struct_ops_trampoline_flags_and_exclusion() {
    let p = Profile::by_name("linux-6.12").unwrap();
    let mut t = Trampoline::new();
    t.attach(link(0, StructOps), &p).unwrap();
    let l = t.links(&p, &func());
    assert_eq!(l.flags, flags::INDIRECT | flags::RET_FENTRY_RET);
    assert_eq!(l.fentry.len(), 1);
    let void = parse_prototype("void f(struct sock *sk)", &Default::default()).unwrap();
    assert_eq!(t.links(&p, &void).flags, flags::INDIRECT);
    assert_eq!(t.attach(link(1, Fentry), &p).unwrap_err().errno, Errno::EBUSY);
    let mut u = Trampoline::new();
    u.attach(link(1, Fentry), &p).unwrap();
    assert_eq!(u.attach(link(0, StructOps), &p).unwrap_err().errno, Errno::EBUSY);
    t.detach(0).unwrap();
    assert!(t.links(&p, &func()).is_empty());
}
