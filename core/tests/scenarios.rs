//! Scenario files: every example under examples/scenarios checks cleanly under its profile;
//! malformed files give one clear error with line and column; random corruption of every example
//! gives an error or a result, never a panic.

use fsession_core::kernel::profile::Profile;
use fsession_core::scenario::{check, Problem, Scenario, ScenarioError, ScenarioErrorKind};

/// The TOML reader's message, if that is the error.
fn toml_message(e: &ScenarioError) -> &str {
    match &e.kind {
        ScenarioErrorKind::Toml { message } => message,
        other => panic!("not a TOML error: {other}"),
    }
}

mod common;
use common::examples;

#[test]
fn every_example_checks_cleanly() {
    for (name, text) in examples() {
        let s = Scenario::parse(&text).unwrap_or_else(|e| panic!("{name}: {e}"));
        let p = Profile::by_name(&s.profile).unwrap();
        let r = check(&s, &text, &p).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(r.ok(), "{name}: {:?}", r.problems);
    }
}

#[test]
fn the_v9_cookie_scenario_under_7_0_attaches_all_five() {
    let (_, text) = examples()
        .into_iter()
        .find(|(n, _)| n == "v9_cookie_limit.toml")
        .unwrap();
    let s = Scenario::parse(&text).unwrap();
    let r = check(&s, &text, &Profile::by_name("linux-7.0").unwrap()).unwrap();
    assert_eq!(
        r.problems,
        vec![Problem::AttachPassed {
            program: "cookie5".into(),
            want: "E2BIG".into()
        }]
    );
    assert_eq!(
        r.problems[0].to_string(),
        "attach 'cookie5': expected E2BIG, it succeeded"
    );
    assert_eq!(r.trampoline.fsession_cookie_cnt, 5);
}

#[test]
fn errors_name_line_and_column() {
    let base = "profile = \"linux-7.0\"\n[function]\nprototype = \"int f(int a)\"\n";
    let e = Scenario::parse(&format!(
        "{base}[[program]]\nname = \"p\"\nattach = \"fentry\"\ntext = \"r0 = 0\\nexit\"\nbogus = 1\n"
    ))
    .unwrap_err();
    assert_eq!(e.line, 8);
    assert!(toml_message(&e).contains("bogus"), "{e}");
    let e = Scenario::parse(&format!(
        "{base}[[program]]\nname = \"p\"\nattach = \"fcall\"\ntext = \"exit\"\n"
    ))
    .unwrap_err();
    assert!(toml_message(&e).contains("unknown attach type 'fcall'"), "{e}");
    let e = Scenario::parse("profile = \"linux-7.0\"\n[function\n").unwrap_err();
    assert_eq!(e.line, 2);
    // An assembler error inside a multi-line program maps to the file's line.
    let text = format!(
        "{base}[[program]]\nname = \"p\"\nattach = \"fentry\"\ntext = \"\"\"\nr0 = 0\nr0 += r13\nexit\n\"\"\"\n"
    );
    let s = Scenario::parse(&text).unwrap();
    let r = check(&s, &text, &Profile::by_name("linux-7.0").unwrap()).unwrap();
    let e = r.programs[0].asm_error.as_ref().unwrap();
    assert_eq!((e.line, e.column), (9, 7), "{e}");
    assert_eq!(r.problems.len(), 1);
    assert_eq!(r.problems[0].span(), Some((9, 7)));
    assert_eq!(
        r.problems[0].to_string(),
        "line 9, column 7: program 'p': invalid register: r13"
    );
    // Bad prototypes and unknown names.
    let e = check(
        &Scenario::parse("profile = \"linux-7.0\"\n[function]\nprototype = \"int f(struct big b)\"\n").unwrap(),
        "",
        &Profile::by_name("linux-7.0").unwrap(),
    )
    .unwrap_err();
    assert!(
        matches!(&e.kind, ScenarioErrorKind::Prototype(p) if p.message.contains("unknown size of struct big")),
        "{e}"
    );
    assert!(
        e.to_string()
            .starts_with("line 1, column 1: function prototype: prototype, column "),
        "{e}"
    );
    let e = Scenario::parse(&format!("attach_order = [\"nope\"]\n{base}")).unwrap_err();
    assert_eq!(e.kind, ScenarioErrorKind::AttachOrderUnknown { name: "nope".into() });
    assert_eq!(
        e.to_string(),
        "line 1, column 1: attach_order names unknown program 'nope'"
    );
}

/// Deterministic byte corruption of every example: parse and check must return, not panic.
#[test]
fn corrupted_examples_never_panic() {
    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let profile = Profile::by_name("linux-7.0").unwrap();
    let (mut runs, mut errors) = (0, 0);
    for (_, text) in examples() {
        for _ in 0..150 {
            let mut bytes = text.clone().into_bytes();
            for _ in 0..(1 + next() % 3) {
                let i = (next() % bytes.len() as u64) as usize;
                bytes[i] = (next() % 256) as u8;
            }
            let Ok(t) = String::from_utf8(bytes) else {
                errors += 1; // not text: the CLI reports it when reading the file
                runs += 1;
                continue;
            };
            runs += 1;
            match Scenario::parse(&t) {
                Err(_) => errors += 1,
                Ok(s) => match check(&s, &t, &profile) {
                    Err(_) => errors += 1,
                    Ok(r) => {
                        if !r.ok() {
                            errors += 1;
                        }
                    }
                },
            }
        }
    }
    assert!(errors * 2 > runs, "only {errors} of {runs} corruptions were reported");
}

/// A scenario is plain data (its fields are public): one built without [`Scenario::parse`],
/// naming programs that do not exist, is an error from `check`, not a panic; the values the
/// file names (attach type, syntax) are enums from the boundary on, with the error at the value.
#[test]
fn a_scenario_built_in_code_is_checked_not_trusted() {
    let (_, text) = examples()
        .into_iter()
        .find(|(n, _)| n == "fmod_ret_override.toml")
        .unwrap();
    let mut s = Scenario::parse(&text).unwrap();
    let p = Profile::by_name("linux-7.0").unwrap();
    s.attach_order = Some(vec!["nobody".into()]);
    let e = check(&s, &text, &p).unwrap_err();
    assert_eq!(e.kind, ScenarioErrorKind::UnknownProgram { name: "nobody".into() });
    s.attach_order = None;
    s.detach = vec!["ghost".into()];
    assert!(check(&s, &text, &p).is_err());
    let bad = text.replacen("attach = \"fexit\"", "attach = \"fexitt\"", 1);
    let e = Scenario::parse(&bad).unwrap_err();
    let line = bad.lines().position(|l| l.contains("fexitt")).unwrap() + 1;
    assert_eq!((e.line, e.column), (line, 10), "{e}");
    assert!(toml_message(&e).contains("unknown attach type 'fexitt'"), "{e}");
    assert_eq!(
        fsession_core::isa::Instr::decode(&[], 0).unwrap_err().kind,
        fsession_core::isa::DecodeErrorKind::OutOfRange { len: 0 }
    );
}

/// A cookie is a TOML integer, or a string for the values above `i64::MAX` (TOML integers are
/// signed 64-bit); a negative or non-numeric cookie is an error on its line.
#[test]
fn attach_cookies_above_i64_max_are_written_as_strings() {
    let with = |cookie: &str| {
        format!(
            "profile = \"linux-7.0\"\n[function]\nprototype = \"u64 f(u64 a)\"\n[[program]]\nname = \"p\"\nattach = \"fentry\"\ncookie = {cookie}\ntext = \"r0 = 0\\nexit\"\n"
        )
    };
    for (cookie, want) in [
        ("0", 0u64),
        ("9223372036854775807", i64::MAX as u64),
        ("\"0xffffffffffffffff\"", u64::MAX),
        ("\"18446744073709551615\"", u64::MAX),
        ("\"0x2a\"", 42),
    ] {
        let s = Scenario::parse(&with(cookie)).unwrap_or_else(|e| panic!("{cookie}: {e}"));
        assert_eq!(s.programs[0].cookie, want, "{cookie}");
    }
    for bad in ["-1", "\"ten\"", "\"0x1_0000_0000_0000_0000\"", "1.5"] {
        let e = Scenario::parse(&with(bad)).unwrap_err();
        assert_eq!(e.line, 7, "{bad}: {e}");
        assert!(toml_message(&e).contains("attach cookie"), "{bad}: {e}");
    }
}

/// A verifier refusal points at the scenario file's line of the refused instruction, for a
/// program written on several lines and for one written on one line.
#[test]
fn verifier_errors_name_the_file_line_of_the_instruction() {
    let multi = "profile = \"linux-7.0\"\n[function]\nprototype = \"u64 f(u64 a)\"\n[[program]]\nname = \"p\"\nattach = \"fentry\"\ntext = \"\"\"\nr0 = 0\nr0 = r5\nexit\n\"\"\"\n";
    let one = "profile = \"linux-7.0\"\n[function]\nprototype = \"u64 f(u64 a)\"\n[[program]]\nname = \"p\"\nattach = \"fentry\"\ntext = \"r0 = 0\\nr0 = r5\\nexit\"\n";
    for (text, want_line) in [(multi, 9), (one, 7)] {
        let s = Scenario::parse(text).unwrap();
        let r = check(&s, text, &Profile::by_name("linux-7.0").unwrap()).unwrap();
        let p = r
            .problems
            .iter()
            .find(|p| matches!(p, Problem::Verifier { .. }))
            .unwrap_or_else(|| panic!("no verifier problem: {:?}", r.problems));
        assert_eq!(p.span().map(|s| s.0), Some(want_line), "{p}");
        assert!(p.to_string().contains("R5 !read_ok"), "{p}");
    }
}

#[test]
fn body_and_reentry_are_read_into_their_enums() {
    use fsession_core::scenario::{FunctionBody, ReentryHelper};
    let with = |extra: &str| format!("profile = \"linux-7.0\"\n[function]\nprototype = \"int f(int a)\"\n{extra}\n");
    let s = Scenario::parse(&with("")).unwrap();
    assert_eq!((s.function.body, s.function.reentry), (FunctionBody::Sum, None));
    let s = Scenario::parse(&with("body = \"modify_return\"\nreentry = \"bpf_get_prandom_u32\"")).unwrap();
    assert_eq!(
        (s.function.body, s.function.reentry),
        (FunctionBody::ModifyReturn, Some(ReentryHelper::GetPrandomU32))
    );
    assert_eq!(
        Scenario::parse(&with("body = \"fault\"")).unwrap().function.body,
        FunctionBody::Fault
    );
    // A misspelt body or helper is an error on its line, not the default.
    for (bad, word) in [
        ("body = \"summ\"", "summ"),
        ("reentry = \"bpf_ktime_get_ns\"", "bpf_ktime_get_ns"),
    ] {
        let e = Scenario::parse(&with(bad)).unwrap_err();
        assert_eq!(e.line, 4, "{bad}: {e}");
        assert!(toml_message(&e).contains(word), "{bad}: {e}");
    }
}
