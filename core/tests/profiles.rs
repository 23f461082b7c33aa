//! Profiles: the shipped ones parse and say what the reference says; user profiles load from
//! TOML and JSON; unknown names and bad files give clear errors; diffs name the fields.

use fsession_core::kernel::profile::{Profile, ProfileError, TrampolineMode};

#[test]
fn shipped_profiles() {
    let names: Vec<String> = Profile::shipped().into_iter().map(|p| p.name).collect();
    assert_eq!(
        names,
        [
            "linux-6.12",
            "linux-6.18",
            "linux-7.0",
            "fsession-v9",
            "fsession-v9-patch05"
        ]
    );
    let p70 = Profile::by_name("linux-7.0").unwrap();
    assert!(p70.fsession && p70.cookie_limit.is_none() && p70.max_tramp_links == 38);
    assert_eq!(p70.verifier_meta, p70.trampoline_meta);
    // func_meta values of reference §5.3: cookie index 5, nr_args 1, exit pass
    assert_eq!(p70.trampoline_meta.encode(1, 5, false), 0x501);
    assert_eq!(p70.trampoline_meta.encode(1, 5, true), 0x8000_0000_0000_0501);
    assert_eq!(p70.verifier_meta.decode(0x8000_0000_0000_0202), (2, 2, true));
    let v9 = Profile::by_name("fsession-v9").unwrap();
    assert_eq!(v9.cookie_limit, Some(4));
    assert_eq!(v9.trampoline_meta.encode(2, 2, true), 2 | 1 << 8 | 2 << 9);
    // patch 05: the trampoline writes plain nr_args, the verifier reads the v9 layout
    let p05 = Profile::by_name("fsession-v9-patch05").unwrap();
    let word = p05.trampoline_meta.encode(2, 3, true);
    assert_eq!(word, 2);
    assert_eq!(p05.verifier_meta.decode(word), (2, 0, false));
    let p618 = Profile::by_name("linux-6.18").unwrap();
    assert!(!p618.fsession && p618.mitigations.return_thunk && p618.mode == TrampolineMode::Call);
    assert_eq!(p618.verifier_meta.decode(0x1234), (0x1234, 0, false));
}

#[test]
fn user_profiles_and_errors() {
    let p70 = Profile::by_name("linux-7.0").unwrap();
    let mut custom = p70.clone();
    custom.name = "mine".into();
    custom.max_tramp_links = 27;
    assert_eq!(Profile::from_toml(&custom.to_toml()).unwrap(), custom);
    assert_eq!(
        Profile::from_json(&serde_json::to_string(&custom).unwrap()).unwrap(),
        custom
    );
    let diff = p70.diff(&custom);
    assert_eq!(
        diff,
        vec![("max_tramp_links".to_string(), "38".to_string(), "27".to_string())]
    );
    let d = Profile::by_name("linux-7.0")
        .unwrap()
        .diff(&Profile::by_name("fsession-v9").unwrap());
    let fields: Vec<&str> = d.iter().map(|(f, _, _)| f.as_str()).collect();
    assert!(
        fields.contains(&"cookie_limit") && fields.contains(&"verifier_meta.cookie_shift"),
        "{fields:?}"
    );
    match Profile::by_name("linux-9.9") {
        Err(ProfileError::Unknown { name, known }) => {
            assert_eq!(name, "linux-9.9");
            assert!(known.contains("linux-7.0"));
        }
        other => panic!("{other:?}"),
    }
    let e = Profile::from_toml("name = \"x\"\nfsession = maybe\n").unwrap_err();
    assert!(e.to_string().contains("line 2"), "{e}");
    let e = Profile::from_toml(&p70.to_toml().replace("max_tramp_links", "max_links")).unwrap_err();
    assert!(e.to_string().contains("max_links"), "{e}");
}
