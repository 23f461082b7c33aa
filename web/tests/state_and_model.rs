//! The playground's state links and view model, natively (the browser tests drive the same code
//! through the DOM).

use fsession_core::kernel::profile::Mitigations;
use fsession_web::model::compute;
use fsession_web::state::{b64_decode, b64_encode, State, DEFAULT_SCENARIO};
use fsession_web::GALLERY;

/// A version 2 link, written once by `to_fragment` and pinned.
const V2_LITERAL: &str = "v2.VY1BCsIwFESvUmbdirgRA94kUNKamtgkDflJUUrv7gdLwN0Mb3izgSAQlNfNvZFYL42zYZaQAS0iI67l3V1PZ-4KYlKOdIsBIqfCYeTJRJrILqFbbzwa_4RLNjodOs_g5SOnJ8SGpHNJoc-mhLmKyVHNdsj1RjnXP3TM5qB7i88P7l8";
/// `{"s":"x"}` in version 2.
const V2_MINIMAL: &str = "v2.q1YqVrJSqlCqBQA";

#[test]
fn base64url_round_trips_every_length() {
    for n in 0..70usize {
        let data: Vec<u8> = (0..n).map(|i| (i * 37 + n) as u8).collect();
        let enc = b64_encode(&data);
        assert!(
            enc.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_'),
            "{enc}"
        );
        assert_eq!(b64_decode(&enc).unwrap(), data, "length {n}");
    }
    assert_eq!(b64_encode(b"foobar"), "Zm9vYmFy");
    assert_eq!(b64_encode(b"\xfb\xff"), "-_8");
}

#[test]
fn link_round_trips_state() {
    let s = State {
        scenario: "name = \"x\"\n# ünïcode\n".into(),
        profile: "linux-6.18".into(),
        att: true,
        bytes: false,
        compare: "fsession-v9".into(),
        compare_scenario: "name = \"other\"\n".into(),
        mode: Some(fsession_core::kernel::profile::TrampolineMode::Jmp),
        mitigations: Some(Mitigations {
            ibt: true,
            sls: true,
            ..Mitigations::default()
        }),
        conformance: true,
    };
    let f = s.to_fragment();
    assert!(f.starts_with("v2."));
    assert_eq!(State::from_fragment(&format!("#{f}")).unwrap(), s);
    // Version 1 carries the same state, uncompressed.
    let v1 = s.to_fragment_v1();
    assert!(v1.starts_with("v1."));
    assert_eq!(State::from_fragment(&v1).unwrap(), s);
}

#[test]
fn version_2_links_are_compact() {
    let s = State::default();
    let (v1, v2) = (s.to_fragment_v1(), s.to_fragment());
    // Measured: 5,851 against 1,840 characters for the default scenario.
    assert!(v2.len() * 2 < v1.len(), "v2 {} chars, v1 {}", v2.len(), v1.len());
    let big = State {
        scenario: GALLERY.iter().find(|(n, _)| n.contains("38")).unwrap().1.to_string(),
        ..State::default()
    };
    assert!(big.to_fragment().len() * 3 < big.to_fragment_v1().len());
}

#[test]
fn empty_link_is_the_default_scenario() {
    let s = State::from_fragment("").unwrap();
    assert_eq!(s.scenario, DEFAULT_SCENARIO);
    assert!(s.profile.is_empty());
}

#[test]
fn damaged_links_are_errors_not_panics() {
    for (frag, want) in [
        ("#v3.AAAA", "unknown link version"),
        ("#v2.AAAA", "cannot inflate"),
        ("#v2.***", "invalid character"),
        ("#hello", "not a playground link"),
        ("#v1.***", "invalid character"),
        ("#v1.AAAA", "damaged"),
        ("#v1.__8", "not UTF-8"),
    ] {
        let e = State::from_fragment(frag).unwrap_err().to_string();
        assert!(e.contains(want), "{frag}: {e}");
    }
}

#[test]
fn every_gallery_scenario_renders() {
    for (name, text) in GALLERY {
        let v = compute(&State {
            scenario: text.to_string(),
            ..State::default()
        });
        let r = v.report.as_ref().unwrap_or_else(|| panic!("{name}: {:?}", v.errors));
        assert!(!v.programs.is_empty(), "{name}");
        for p in &v.programs {
            assert!(!p.rows.is_empty(), "{name}/{}", p.name);
        }
        // Scenarios without an encodable trampoline say why instead of listing it.
        assert!(!r.listing.is_empty() || r.encoded.is_err(), "{name}");
    }
}

#[test]
fn default_scenario_shows_fixups_listing_and_a_holding_contract() {
    let v = compute(&State::default());
    assert!(v.errors.is_empty(), "{:?}", v.errors);
    let r = v.report.unwrap();
    assert!(r.contract.holds());
    assert!(r.listing.iter().any(|l| l.text.contains("call")));
    // bpf_session_cookie() is inlined: some original insn maps to several fixed ones with a note.
    let p = v
        .programs
        .iter()
        .find(|p| p.rows.iter().any(|r| r.note.contains("cookie")))
        .expect("a cookie inline");
    assert!(
        p.rows.iter().filter(|r| r.before.is_none()).count() > 0,
        "the inline adds instructions"
    );
    assert!(v.flags.contains("CALL_ORIG"), "{}", v.flags);
}

#[test]
fn patch05_breaks_the_contract_under_its_profile() {
    let base = compute(&State::default());
    assert!(base.report.unwrap().contract.holds());
    let broken = compute(&State {
        profile: "fsession-v9-patch05".into(),
        ..State::default()
    });
    let r = broken.report.unwrap();
    assert!(
        !r.contract.holds(),
        "patch 05 alone reads the cookie index nobody stored"
    );
    assert!(!broken.errors.is_empty());
}

#[test]
fn bad_input_points_at_a_line() {
    let text = DEFAULT_SCENARIO.replacen("r0 = 0", "r0 = frobnicate", 1);
    assert_ne!(text, DEFAULT_SCENARIO, "the default scenario has an `r0 = 0`");
    let v = compute(&State {
        scenario: text.clone(),
        ..State::default()
    });
    let e = v.errors.first().expect("an error");
    assert!(e.line > 0, "{e:?}");
    let line = text.lines().nth(e.line - 1).unwrap();
    assert!(
        line.contains("frobnicate"),
        "line {} is {line:?}: {}",
        e.line,
        e.message
    );

    let v = compute(&State {
        scenario: "this is not toml [".into(),
        ..State::default()
    });
    assert!(v.report.is_none() && !v.errors.is_empty());

    let v = compute(&State {
        profile: "linux-9.9".into(),
        ..State::default()
    });
    assert!(v.errors[0].message.contains("linux-9.9"), "{:?}", v.errors);
}

/// Listing lines carry the slots they touch as data (slot index, name, access), rendered as
/// `r:arg0 w:rbx &run_ctx`.
#[test]
fn listing_lines_carry_typed_slot_accesses() {
    use fsession_core::tramp::SlotAccess;
    let v = compute(&State::default());
    let r = v.report.as_ref().unwrap();
    let layout = &r.encoded.as_ref().unwrap().layout;
    let lea = r
        .listing
        .iter()
        .find(|l| l.text == "lea rsi, [rbp-0x48]" || l.role == "rsi = &run_ctx")
        .unwrap();
    assert_eq!(lea.slots.len(), 1);
    assert_eq!(lea.slots[0].access, SlotAccess::Addr);
    assert_eq!(layout.slots[lea.slots[0].slot].name, "run_ctx");
    assert_eq!(lea.slots_text(), "&run_ctx");
    let save = r.listing.iter().find(|l| l.role == "save rbx").unwrap();
    assert_eq!(save.slots_text(), "w:rbx");
    assert!(save.touches("rbx") && !save.touches("arg0"));
}

/// Links written by version 1 keep loading: these literals must never change meaning.
#[test]
fn version_1_links_keep_loading() {
    let full = State::from_fragment(
        "#v1.eyJzIjoibmFtZSA9IFwib2xkIGxpbmtcIlxuIiwicCI6ImxpbnV4LTYuMTgiLCJhIjp0cnVlLCJiIjpmYWxzZX0",
    )
    .unwrap();
    assert_eq!(
        full,
        State {
            scenario: "name = \"old link\"\n".into(),
            profile: "linux-6.18".into(),
            att: true,
            bytes: false,
            ..State::default()
        }
    );
    // Fields added in version 1 after the scenario default: no profile, Intel, bytes shown.
    let minimal = State::from_fragment("v1.eyJzIjoieCJ9").unwrap();
    assert_eq!(
        minimal,
        State {
            scenario: "x".into(),
            profile: String::new(),
            att: false,
            bytes: true,
            ..State::default()
        }
    );
}

/// Links written by version 2 keep loading: this literal must never change meaning.
#[test]
fn version_2_links_keep_loading() {
    let s = State::from_fragment(V2_LITERAL).unwrap();
    assert_eq!(
        s,
        State {
            scenario: "name = \"v2 link\"\n".into(),
            profile: "linux-7.0".into(),
            att: false,
            bytes: true,
            compare: "fsession-v9".into(),
            compare_scenario: "name = \"other\"\n".into(),
            mode: Some(fsession_core::kernel::profile::TrampolineMode::Jmp),
            mitigations: Some(Mitigations {
                ibt: true,
                ..Mitigations::default()
            }),
            conformance: true,
        }
    );
    // Version 2 with only the scenario: everything else as in version 1.
    assert_eq!(
        State::from_fragment(V2_MINIMAL).unwrap(),
        State {
            scenario: "x".into(),
            profile: String::new(),
            ..State::default()
        }
    );
}

#[test]
fn every_gallery_state_survives_a_link() {
    for (name, text) in GALLERY {
        let s = State {
            scenario: text.to_string(),
            profile: "fsession-v9".into(),
            att: true,
            bytes: true,
            compare: "linux-6.18".into(),
            ..State::default()
        };
        assert_eq!(State::from_fragment(&s.to_fragment()).unwrap(), s, "{name}");
    }
}

/// The playground's explanations are core's, from the typed instructions: a listing line by
/// its bytes, a program row by its decoded instruction, whatever syntax is shown.
#[test]
fn explanations_use_the_actual_operands() {
    use fsession_web::explain::x86;
    let v = compute(&State::default());
    let r = v.report.as_ref().unwrap();
    let image = r.spec.addrs.image;
    let save = r.listing.iter().find(|l| l.role == "save rbx").unwrap();
    assert_eq!(
        x86(save, image, false),
        format!(
            "mov: store rbx into the memory at {}",
            &save.text[4..save.text.find(',').unwrap()]
        )
    );
    assert!(x86(save, image, true).starts_with("mov: store %rbx into the memory at -0x"));
    let conformance = compute(&State {
        conformance: true,
        ..State::default()
    });
    let p = &conformance.programs[0];
    let (n, _) = p
        .rows
        .iter()
        .find_map(|r| r.after.clone().filter(|(_, t)| t.starts_with("ldxdw")))
        .unwrap();
    assert!(p.explain(true, n).starts_with("load: r"), "{}", p.explain(true, n));
}

#[test]
fn every_listing_line_of_the_gallery_is_explained() {
    use fsession_web::explain::x86;
    for (name, text) in GALLERY {
        for att in [false, true] {
            let v = compute(&State {
                scenario: text.to_string(),
                att,
                ..State::default()
            });
            let r = v.report.unwrap();
            for l in &r.listing {
                let e = x86(l, r.spec.addrs.image, att);
                assert!(
                    !e.contains("see the Intel SDM"),
                    "{name}: {} has no explanation",
                    l.text
                );
            }
        }
    }
}

fn offsets(v: &fsession_web::model::View) -> Vec<usize> {
    v.report.as_ref().unwrap().listing.iter().map(|l| l.offset).collect()
}

#[test]
fn comparing_v9_with_patch05_marks_the_unstored_cookie_index() {
    use fsession_web::compare::{compare, Mark};
    let a = compute(&State {
        profile: "fsession-v9".into(),
        ..State::default()
    });
    let b = compute(&State {
        profile: "fsession-v9-patch05".into(),
        ..State::default()
    });
    let c = compare(&a, &b);
    assert_eq!(c.contract, (true, false));
    // Every line of both listings appears once, in order.
    let left: Vec<usize> = c.listing.iter().filter_map(|r| r.a.as_ref().map(|x| x.0)).collect();
    let right: Vec<usize> = c.listing.iter().filter_map(|r| r.b.as_ref().map(|x| x.0)).collect();
    assert_eq!(left, offsets(&a));
    assert_eq!(right, offsets(&b));
    assert!(
        c.listing.iter().any(|r| r.mark == Mark::Left),
        "v9 stores the cookie index, patch 05 does not"
    );
    // The cookie users see a different ctx[-1].
    let changed: Vec<&str> = c
        .sees
        .iter()
        .filter(|r| r.mark == Mark::Changed)
        .map(|r| r.key.as_str())
        .collect();
    assert!(changed.iter().any(|k| k.starts_with("test9")), "{changed:?}");
    assert!(c.differences() > 0);

    let same = compare(&a, &a);
    assert_eq!(same.differences(), 0);
    assert!(same.listing.iter().all(|r| r.mark == Mark::Same));
}

#[test]
fn comparing_with_a_broken_side_keeps_the_other() {
    use fsession_web::compare::{compare, Mark};
    let a = compute(&State::default());
    let b = compute(&State {
        scenario: "not toml [".into(),
        ..State::default()
    });
    let c = compare(&a, &b);
    assert_eq!(c.listing.len(), a.report.as_ref().unwrap().listing.len());
    assert!(c.listing.iter().all(|r| r.mark == Mark::Left));
    assert!(c.slots.iter().all(|r| r.mark == Mark::Left && r.b.is_none()));
}

#[test]
fn jumps_inside_the_image_are_followable() {
    for att in [false, true] {
        let v = compute(&State {
            att,
            ..State::default()
        });
        let listing = &v.report.as_ref().unwrap().listing;
        let t: Vec<Option<usize>> = listing.iter().map(|l| l.jump_to).collect();
        assert_eq!(t.len(), listing.len());
        let jumps: Vec<(usize, usize)> = t.iter().enumerate().filter_map(|(i, x)| x.map(|x| (i, x))).collect();
        assert!(!jumps.is_empty(), "the cookie test skips programs with je");
        for (from, to) in jumps {
            assert!(
                to > from,
                "trampoline jumps go forward: {} -> {}",
                listing[from].text,
                listing[to].text
            );
            assert!(listing[from].text.starts_with('j'));
        }
        // Calls leave the image: not followable.
        for (i, l) in listing.iter().enumerate() {
            if l.text.starts_with("call") {
                assert_eq!(t[i], None);
                assert!(l.target.is_some(), "a call has its target address");
            }
        }
    }
}

mod structured_edits {
    use super::*;
    use fsession_web::edit::*;

    use fsession_core::kernel::program::AttachType;

    /// (name, attach as written) of each program.
    fn programs(text: &str) -> Vec<(String, String)> {
        program_lines(text)
            .unwrap()
            .into_iter()
            .map(|p| {
                let attach = match p.attach {
                    Written::Known(k) => k.section().to_string(),
                    Written::Other(t) => t,
                };
                (p.name, attach)
            })
            .collect()
    }

    fn names(text: &str) -> Vec<String> {
        programs(text).into_iter().map(|p| p.0).collect()
    }

    /// A `#` inside a string value is not a comment: the controls read `name = "a#b"` as the
    /// parser does, and the edits keep it.
    #[test]
    fn a_hash_inside_a_string_is_part_of_the_value() {
        let t = "profile = \"linux-7.0\"\n[function]\nprototype = \"u64 f(u64 a)\"\n[[program]]\nname = \"a#b\"  # the name\nattach = \"fentry\"\ncookie = 7 # seven\ntext = \"r0 = 0\\nexit\"\n";
        assert_eq!(programs(t), [("a#b".to_string(), "fentry".to_string())]);
        let line = &program_lines(t).unwrap()[0];
        assert_eq!((line.name.as_str(), line.cookie.as_str()), ("a#b", "7"));
        let parsed = fsession_core::scenario::Scenario::parse(t).unwrap();
        assert_eq!(parsed.programs[0].name, "a#b");
        let retyped = set_attach(t, 0, AttachType::Fexit).unwrap();
        assert!(
            retyped.contains("name = \"a#b\"  # the name\nattach = \"fexit\""),
            "{retyped}"
        );
        assert_eq!(
            fsession_core::scenario::Scenario::parse(&retyped).unwrap().programs[0].name,
            "a#b"
        );
    }

    #[test]
    fn blocks_ignore_brackets_inside_program_text() {
        let t = "[function]\nprototype = \"u64 f(u64 a)\"\n[[program]]\nname = \"a\"\nattach = \"fentry\"\ntext = \"\"\"\n[not a header]\nr0 = 0\nexit\n\"\"\"\n[[program]]\nname = \"b\"\nattach = \"fexit\"\ntext = \"r0 = 0\\nexit\"";
        assert_eq!(
            programs(t),
            [("a".to_string(), "fentry".to_string()), ("b".into(), "fexit".into())]
        );
    }

    #[test]
    fn reorder_remove_retype_add_keep_comments_and_stay_valid() {
        let t = DEFAULT_SCENARIO;
        let before = names(t);
        assert_eq!(before.len(), 6, "{before:?}");
        let down = move_program(t, 0, false).unwrap();
        let mut want = before.clone();
        want.swap(0, 1);
        assert_eq!(names(&down), want);
        assert_eq!(
            move_program(&down, 1, true).unwrap(),
            t,
            "moving back restores the text"
        );
        let last = before.len() - 1;
        let moved = move_program(t, last, true).unwrap();
        assert_eq!(names(&moved)[last - 1], before[last]);
        assert!(move_program(t, 0, true)
            .unwrap_err()
            .to_string()
            .contains("already first"));
        assert!(move_program(t, last, false)
            .unwrap_err()
            .to_string()
            .contains("already last"));

        let removed = remove_program(t, 2).unwrap();
        assert_eq!(names(&removed).len(), before.len() - 1);
        assert!(!names(&removed).contains(&before[2]));
        assert!(remove_program(t, 99)
            .unwrap_err()
            .to_string()
            .contains("no program #99"));

        let retyped = set_attach(t, 0, AttachType::Fexit).unwrap();
        assert_eq!(programs(&retyped)[0].1, "fexit");
        assert!(offered("kprobe").is_err());
        assert!(set_attach(t, 0, AttachType::TpBtf)
            .unwrap_err()
            .to_string()
            .contains("does not attach to the traced function's trampoline"));

        let added = add_program(t, AttachType::Fentry).unwrap();
        assert_eq!(
            programs(&added).last().unwrap(),
            &("prog1".to_string(), "fentry".to_string())
        );

        let proto = set_prototype(t, "u64 bpf_fentry_test1(u64 a)").unwrap();
        assert!(proto.contains("prototype = \"u64 bpf_fentry_test1(u64 a)\""));
        assert_eq!(controls(&proto).unwrap().prototype, "u64 bpf_fentry_test1(u64 a)");
        assert_eq!(controls(&proto).unwrap().programs, program_lines(&proto).unwrap());
        assert!(set_prototype(t, "int f(\"")
            .unwrap_err()
            .to_string()
            .starts_with("not a prototype"));

        // Comments survive, and every edit still renders.
        for text in [&down, &moved, &removed, &retyped, &added, &proto] {
            assert!(text.contains("# The kernel's fsession selftest"));
            let v = compute(&State {
                scenario: text.to_string(),
                ..State::default()
            });
            assert!(v.report.is_some(), "{:?}", v.errors);
        }
        // Adding a program shows up in the links.
        assert_eq!(program_lines(t).unwrap().len(), before.len());
        let v = compute(&State {
            scenario: added,
            ..State::default()
        });
        assert!(
            v.programs.iter().any(|p| p.name == "prog1" && !p.rejected),
            "{:?}",
            v.errors
        );
    }
}

mod cookie_and_syntax_edits {
    use super::*;
    use fsession_web::edit::*;

    fn cookie_of(v: &fsession_web::model::View, name: &str) -> Option<u64> {
        v.report
            .as_ref()?
            .check
            .programs
            .iter()
            .find(|p| p.name == name)
            .map(|p| p.cookie)
    }

    #[test]
    fn the_attach_cookie_is_set_replaced_and_removed_in_the_text() {
        let t = DEFAULT_SCENARIO;
        let names: Vec<String> = program_lines(t).unwrap().into_iter().map(|p| p.name).collect();
        // test10 (#4) has no cookie line; test7 (#1) has `cookie = 0`.
        let lines = program_lines(t).unwrap();
        assert_eq!((lines[4].cookie.as_str(), lines[1].cookie.as_str()), ("", "0"));
        let with = set_cookie(t, 4, "0x2a").unwrap();
        assert_eq!(program_lines(&with).unwrap()[4].cookie, "42");
        assert!(
            with.contains("name = \"test10\"\nattach = \"fexit\"\ncookie = 42\ntext"),
            "after the attach line"
        );
        let v = compute(&State {
            scenario: with.clone(),
            ..State::default()
        });
        assert_eq!(cookie_of(&v, &names[4]), Some(42), "{:?}", v.errors);
        let changed = set_cookie(&with, 4, "7").unwrap();
        assert_eq!(program_lines(&changed).unwrap()[4].cookie, "7");
        assert_eq!(
            changed.matches("cookie = ").count(),
            with.matches("cookie = ").count(),
            "replaced, not added"
        );
        let removed = set_cookie(&changed, 4, "").unwrap();
        assert_eq!(removed, t, "setting and removing restores the text");
        assert_eq!(set_cookie(t, 4, "  ").unwrap(), t, "no cookie to remove");
        let seven = set_cookie(t, 1, "7").unwrap();
        assert_eq!(program_lines(&seven).unwrap()[1].cookie, "7");
        assert_eq!(seven.len(), t.len(), "`cookie = 0` became `cookie = 7`");
        assert!(set_cookie(t, 1, "-1")
            .unwrap_err()
            .to_string()
            .contains("not an attach cookie"));
        assert!(set_cookie(t, 1, "0x1_0000_0000_0000_0000").is_err());
        assert!(set_cookie(t, 99, "1")
            .unwrap_err()
            .to_string()
            .contains("no program #99"));
        // The maximum, in decimal.
        let max = set_cookie(t, 0, "18446744073709551615").unwrap();
        assert!(
            max.contains("cookie = \"0xffffffffffffffff\""),
            "a TOML integer is signed 64-bit, so the largest cookies are a hex string"
        );
        assert_eq!(program_lines(&max).unwrap()[0].cookie, "0xffffffffffffffff");
        assert_eq!(
            cookie_of(
                &compute(&State {
                    scenario: max,
                    ..State::default()
                }),
                &names[0]
            ),
            Some(u64::MAX)
        );
    }

    #[test]
    fn a_comment_on_the_cookie_line_survives() {
        let t = "[function]\nprototype = \"u64 f(u64 a)\"\n[[program]]\nname = \"a\"\nattach = \"fentry\"\ncookie = 1   # why\ntext = \"\"\"\ncookie = 3\nr0 = 0\nexit\n\"\"\"\n";
        let out = set_cookie(t, 0, "5").unwrap();
        assert!(
            out.contains("cookie = 5   # why\n"),
            "the spaces and the comment as written: {out}"
        );
        assert!(
            out.contains("\ncookie = 3\nr0 = 0"),
            "the program text is not a field: {out}"
        );
    }

    #[test]
    fn every_gallery_program_converts_to_the_conformance_syntax_and_back_to_the_same_code() {
        let mut converted = 0;
        for (name, text) in GALLERY {
            let before = compute(&State {
                scenario: text.to_string(),
                ..State::default()
            });
            for i in 0..program_lines(text).unwrap().len() {
                let Ok(conf) = convert_syntax(text, i, "conformance") else {
                    // Only programs that do not assemble may refuse.
                    assert!(before.programs[i].verdict == "does not assemble", "{name} #{i}");
                    continue;
                };
                assert_eq!(
                    program_lines(&conf).unwrap()[i].syntax,
                    Written::Known(fsession_core::asm::Syntax::Conformance)
                );
                let after = compute(&State {
                    scenario: conf.clone(),
                    ..State::default()
                });
                let insns = |v: &fsession_web::model::View| {
                    v.report.as_ref().map(|r| r.check.programs[i].program.insns.clone())
                };
                assert_eq!(insns(&after), insns(&before), "{name} #{i}:\n{conf}");
                let back = convert_syntax(&conf, i, "kernel").unwrap();
                assert_eq!(
                    program_lines(&back).unwrap()[i].syntax,
                    Written::Known(fsession_core::asm::Syntax::Kernel)
                );
                assert!(!back.contains("syntax = \"kernel\""), "the default is not written");
                let again = compute(&State {
                    scenario: back,
                    ..State::default()
                });
                assert_eq!(insns(&again), insns(&before), "{name} #{i} back");
                converted += 1;
            }
        }
        assert!(converted > 40, "{converted}");
        assert!(convert_syntax(DEFAULT_SCENARIO, 0, "intel")
            .unwrap_err()
            .to_string()
            .contains("unknown syntax"));
        assert_eq!(convert_syntax(DEFAULT_SCENARIO, 0, "kernel").unwrap(), DEFAULT_SCENARIO);
    }
}

#[test]
fn mode_and_mitigations_override_the_profile_and_the_scenario() {
    let base = compute(&State::default());
    let text = |v: &fsession_web::model::View| -> Vec<String> {
        v.report
            .as_ref()
            .unwrap()
            .listing
            .iter()
            .map(|l| l.text.clone())
            .collect()
    };
    let used = |v: &fsession_web::model::View| v.report.as_ref().unwrap().check.profile.clone();
    let ibt = compute(&State {
        mitigations: Some(Mitigations {
            ibt: true,
            ..used(&base).mitigations
        }),
        ..State::default()
    });
    // With IBT the original function is called past its endbr64 (func + 4 + 5).
    assert!(used(&ibt).mitigations.ibt && !used(&base).mitigations.ibt);
    let calls = |v: &fsession_web::model::View| -> Vec<String> {
        text(v).into_iter().filter(|t| t.starts_with("call")).collect()
    };
    assert_ne!(calls(&ibt), calls(&base));
    use fsession_core::kernel::profile::TrampolineMode;
    let other = match used(&base).mode {
        TrampolineMode::Call => TrampolineMode::Jmp,
        TrampolineMode::Jmp => TrampolineMode::Call,
    };
    let moded = compute(&State {
        mode: Some(other),
        ..State::default()
    });
    assert_ne!(used(&moded).mode, used(&base).mode);
    assert_ne!(text(&moded), text(&base));
    // The page's mode wins over the scenario's `mode = ...`.
    let scenario = format!(
        "mode = \"{}\"\n{}",
        if other == TrampolineMode::Jmp { "call" } else { "jmp" },
        DEFAULT_SCENARIO
    );
    let both = compute(&State {
        scenario,
        mode: Some(other),
        ..State::default()
    });
    assert_eq!(used(&both).mode, used(&moded).mode, "{:?}", both.errors);
    // A link naming no mode is refused where it is read, with the mode's own error.
    let json = serde_json::to_string(&State::default())
        .unwrap()
        .replacen('{', "{\"m\":\"ret\",", 1);
    let link = format!("v1.{}", fsession_web::state::b64_encode(json.as_bytes()));
    let bad = State::from_fragment(&link).unwrap_err().to_string();
    assert!(bad.contains("unknown trampoline mode 'ret'"), "{bad}");
    let none = json.replacen("\"m\":\"ret\"", "\"m\":\"\"", 1);
    let link = format!("v1.{}", fsession_web::state::b64_encode(none.as_bytes()));
    assert_eq!(State::from_fragment(&link).unwrap().mode, None, "\"\" is no mode");
}

#[test]
fn programs_show_in_the_conformance_syntax_on_request() {
    let v = compute(&State {
        conformance: true,
        ..State::default()
    });
    let texts: Vec<&str> = v.programs[0]
        .rows
        .iter()
        .filter_map(|r| r.after.as_ref().map(|a| a.1.as_str()))
        .collect();
    assert!(texts.iter().any(|t| t.contains("%r")), "{texts:?}");
    assert!(texts.iter().all(|t| !t.contains("r0 = ")), "{texts:?}");
}

#[test]
fn the_compared_side_is_the_other_scenario_under_the_other_profile() {
    let s = State::default();
    assert!(!s.comparing() && s.compared().is_none());
    let p = State {
        compare: "fsession-v9".into(),
        ..State::default()
    };
    let c = p.compared().unwrap();
    assert_eq!(
        (c.profile.as_str(), c.scenario.as_str()),
        ("fsession-v9", DEFAULT_SCENARIO)
    );
    let other = GALLERY[1].1;
    let sc = State {
        profile: "linux-6.18".into(),
        compare_scenario: other.into(),
        ..State::default()
    };
    let c = sc.compared().unwrap();
    assert_eq!((c.profile.as_str(), c.scenario.as_str()), ("linux-6.18", other));
    assert!(!c.comparing(), "the compared side compares with nothing");
    assert_eq!(sc.main().scenario, DEFAULT_SCENARIO);
    assert!(!sc.main().comparing());
    // Two scenarios under one profile: the comparison shows the differences.
    let d = fsession_web::compare::compare(&compute(&sc.main()), &compute(&c));
    assert!(d.differences() > 0);
}

/// Damaged scenarios (lines dropped, text cut short, bytes changed) give errors, never a panic,
/// in the view model, the comparison and the structured edits.
#[test]
fn damaged_input_never_panics() {
    use fsession_web::{compare::compare, edit};
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    let mut next = move |n: usize| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        (seed % n.max(1) as u64) as usize
    };
    let good = compute(&State::default());
    for (_, text) in GALLERY.iter().take(6) {
        for round in 0..40 {
            let lines: Vec<&str> = text.lines().collect();
            let damaged = match round % 4 {
                0 => {
                    let drop = next(lines.len());
                    lines
                        .iter()
                        .enumerate()
                        .filter(|(i, _)| *i != drop)
                        .map(|(_, l)| *l)
                        .collect::<Vec<_>>()
                        .join("\n")
                }
                1 => text.chars().take(next(text.len())).collect(),
                2 => {
                    let mut b: Vec<char> = text.chars().collect();
                    let i = next(b.len());
                    b[i] = ['[', '"', '=', '\n', 'r', '9', '#'][next(7)];
                    b.into_iter().collect()
                }
                _ => {
                    let (a, b) = (next(lines.len()), next(lines.len()));
                    let mut l = lines.clone();
                    l.swap(a, b);
                    l.join("\n")
                }
            };
            let v = compute(&State {
                scenario: damaged.clone(),
                ..State::default()
            });
            assert!(
                v.report.is_some() || !v.errors.is_empty(),
                "no view and no error for:\n{damaged}"
            );
            let _ = compare(&good, &v);
            // Every edit of any text either refuses or gives TOML the controls read again.
            let lines = edit::program_lines(&damaged);
            let n = lines.as_ref().map_or(2, Vec::len);
            let still_toml = |r: Result<String, edit::EditError>| {
                if let Ok(t) = r {
                    assert!(edit::program_lines(&t).is_ok(), "an edit broke the TOML:\n{t}");
                }
            };
            for i in 0..n + 1 {
                still_toml(edit::move_program(&damaged, i, true));
                still_toml(edit::move_program(&damaged, i, false));
                still_toml(edit::remove_program(&damaged, i));
                still_toml(edit::set_attach(
                    &damaged,
                    i,
                    fsession_core::kernel::program::AttachType::Fexit,
                ));
                still_toml(edit::set_cookie(&damaged, i, "0x10"));
                still_toml(edit::set_cookie(&damaged, i, ""));
                still_toml(edit::convert_syntax(&damaged, i, "conformance"));
            }
            still_toml(edit::add_program(
                &damaged,
                fsession_core::kernel::program::AttachType::Fsession,
            ));
            still_toml(edit::set_prototype(&damaged, "u64 f(u64 a)"));
            if lines.is_err() {
                assert!(matches!(
                    edit::remove_program(&damaged, 0),
                    Err(edit::EditError::Broken { .. })
                ));
            }
        }
    }
}

#[test]
fn markdown_has_the_listing_ctx_and_the_contract() {
    let md = fsession_web::markdown(&compute(&State::default()));
    assert!(md.starts_with("fsession-lab: profile `linux-7.0`"), "{md}");
    assert!(md.contains("```\n   0  55"), "{md}");
    assert!(md.contains("| test9 | Entry | `0x401` |"), "{md}");
    assert!(md.contains("Contract (linux-7.0): holds"), "{md}");
    let bad = fsession_web::markdown(&compute(&State {
        profile: "fsession-v9-patch05".into(),
        ..State::default()
    }));
    assert!(bad.contains("**violated**\n\n- "), "{bad}");
}

/// The playground offers linux-6.12 and its examples; comparing a 6.12 example with linux-7.0
/// shows what the fsession series (and 7.0's jmp mode) changed in the bytes, and what the 6.12
/// machine's mitigations add.
#[test]
fn comparing_linux_6_12_with_7_0_shows_the_series_changes() {
    use fsession_web::compare::{compare, Mark};
    assert!(fsession_core::kernel::profile::Profile::by_name("linux-6.12").is_ok());
    let (_, text) = fsession_web::GALLERY
        .iter()
        .find(|(name, _)| name.starts_with("6.12: fentry + fexit"))
        .expect("the 6.12 examples are in the gallery");
    let a = compute(&State {
        scenario: text.to_string(),
        profile: "linux-6.12".into(),
        ..State::default()
    });
    let b = compute(&State {
        scenario: text.to_string(),
        profile: "linux-7.0".into(),
        ..State::default()
    });
    assert!(a.report.as_ref().unwrap().problems.is_empty());
    let c = compare(&a, &b);
    let only_left: Vec<&str> = c
        .listing
        .iter()
        .filter(|r| r.mark == Mark::Left)
        .filter_map(|r| r.a.as_ref().map(|x| x.2.as_str()))
        .collect();
    // 6.12 returns `ret; int3` (SLS) and skips the traced function's frame (call mode).
    assert!(only_left.contains(&"int3"), "{only_left:?}");
    assert!(only_left.iter().any(|t| t.starts_with("add rsp")), "{only_left:?}");
    // The stack argument's offset (call mode rbp+0x18 against jmp mode rbp+0x10) and the call of
    // the original (func + 9 with IBT against func + 5) differ.
    let only_right: Vec<&str> = c
        .listing
        .iter()
        .filter(|r| r.mark == Mark::Right)
        .filter_map(|r| r.b.as_ref().map(|x| x.2.as_str()))
        .collect();
    assert!(only_left.contains(&"mov rax, [rbp+0x18]"), "{only_left:?}");
    assert!(only_right.contains(&"mov rax, [rbp+0x10]"), "{only_right:?}");
    assert!(only_left.contains(&"call 0xffffffff81245679"), "{only_left:?}");
    assert!(only_right.contains(&"call 0xffffffff81245675"), "{only_right:?}");
    assert!(c.differences() > 0);
}
