//! The model against real kernels: every capture in ../shared/kernel-oracle (Linux 6.18 struct_ops
//! trampolines; Linux 6.12 fentry/fexit/fmod_ret and struct_ops trampolines and the verifier's
//! rewrites) rebuilt through the scenario pipeline, byte for byte; and the checker itself shown to
//! catch a changed byte, a wrong size, wrong flags and malformed input.

use fsession_core::kernel::profile::Profile;
use fsession_core::oracle::{
    check_capture, check_trampoline, check_xlated, profile_for_release, release_from_uname, render_difference,
    CaptureKind, Difference, KernelContext, OracleError, SkipReason, Verdict,
};
use std::path::{Path, PathBuf};

fn oracle() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/kernel-oracle")
}

fn jsons(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    v.sort();
    v
}

fn read(p: &Path) -> String {
    std::fs::read_to_string(p).unwrap()
}

fn kernel_profile(dir: &Path) -> Profile {
    let env: serde_json::Value = serde_json::from_str(&read(&dir.join("env.json"))).unwrap();
    profile_for_release(release_from_uname(env["uname"].as_str().unwrap()).unwrap()).unwrap()
}

fn context(dir: &Path) -> KernelContext {
    let texts: Vec<String> = jsons(&dir.join("trampolines")).iter().map(|p| read(p)).collect();
    KernelContext::from_trampolines(texts.iter().map(String::as_str))
}

fn p612() -> Profile {
    Profile::by_name("linux-6.12").unwrap()
}

fn capture(rel: &str) -> String {
    read(&oracle().join(rel))
}

/// Every capture: trampolines and the rewrites of tracing programs are byte-exact; the rest is
/// skipped with the reason the model gives.
#[test]
fn every_capture_is_rebuilt_or_skipped_with_a_reason() {
    let mut passed = 0;
    for kernel in [oracle(), oracle().join("linux-6.12")] {
        let profile = kernel_profile(&kernel);
        let ctx = context(&kernel);
        for kind in [CaptureKind::Trampoline, CaptureKind::Xlated, CaptureKind::Jit] {
            let dir = kernel.join(match kind {
                CaptureKind::Trampoline => "trampolines",
                CaptureKind::Xlated => "xlated",
                CaptureKind::Jit => "jit",
            });
            if !dir.is_dir() {
                continue;
            }
            for f in jsons(&dir) {
                let name = f.file_name().unwrap().to_str().unwrap();
                let v = check_capture(kind, name, &read(&f), &profile, &ctx)
                    .unwrap_or_else(|e| panic!("{}: {e}", f.display()));
                match (&v, kind) {
                    (Verdict::Ok(_), _) => passed += 1,
                    (Verdict::Skipped(SkipReason::Index), CaptureKind::Jit) => {}
                    (Verdict::Skipped(SkipReason::Index), _) if name == "summary.json" => {}
                    (Verdict::Skipped(SkipReason::ProgramType { prog_type }), CaptureKind::Xlated) => {
                        assert!(["KPROBE", "SOCKET_FILTER"].contains(&prog_type.as_str()), "{name}");
                    }
                    (Verdict::Differs(d), _) => panic!("{}: {v:?}\n{}", f.display(), render_difference(d)),
                    _ => panic!("{}: {v:?}", f.display()),
                }
            }
        }
    }
    // 9 + 1 struct_ops trampolines and 4 JIT images of 6.18; 27 tracing and 13 struct_ops
    // trampolines (their programs' JIT images with them), 5 rewrites and 10 JIT images of 6.12.
    assert!(passed >= 67, "{passed}");
}

/// The named rewrites of the issue each pass, and pick their target's prototype from the
/// trampoline captures.
#[test]
fn tracing_rewrites_of_6_12() {
    let ctx = context(&oracle().join("linux-6.12"));
    assert!(ctx.functions.contains_key("bpf_fentry_test3"));
    for name in [
        "helpers_fentry",
        "helpers_fexit",
        "helpers_fmod_ret",
        "tp_btf_get_attach_cookie",
        "cookie_tp_btf",
    ] {
        let v = check_xlated(&capture(&format!("linux-6.12/xlated/{name}.json")), &p612(), &ctx).unwrap();
        assert!(matches!(v, Verdict::Ok(_)), "{name}: {v:?}");
    }
}

/// 7.0's inlines mask ctx[-1]; 6.12's bytes do not: the checker shows the first extra slot.
#[test]
fn a_later_kernels_inline_differs_at_the_mask() {
    let ctx = context(&oracle().join("linux-6.12"));
    let p70 = Profile::by_name("linux-7.0").unwrap();
    let v = check_xlated(&capture("linux-6.12/xlated/helpers_fexit.json"), &p70, &ctx).unwrap();
    let Verdict::Differs(d @ Difference::Program { rows, first }) = &v else {
        panic!("{v:?}")
    };
    let row = &rows[*first];
    assert_eq!(row.model.map(|s| s.index), Some(5));
    assert!(row.kernel.is_none());
    assert!(render_difference(d).contains("r0 &= 255"));
}

/// One changed byte in the kernel's image is reported at its instruction.
#[test]
fn a_changed_byte_is_found_at_its_instruction() {
    let text = capture("linux-6.12/trampolines/fentry_fexit_7arg.json");
    let mut j: serde_json::Value = serde_json::from_str(&text).unwrap();
    let hex = j["hex"].as_str().unwrap().to_string();
    // +0x0ba is the call of the original at func + 9; make it func + 5 (what a kernel without IBT
    // would call).
    let at = 0xba * 2 + 2;
    let rel = u32::from_str_radix(&hex[at..at + 2], 16).unwrap() as u8;
    let patched = format!("{}{:02x}{}", &hex[..at], rel.wrapping_sub(4), &hex[at + 2..]);
    j["hex"] = serde_json::Value::String(patched);
    let v = check_trampoline(&j.to_string(), &p612()).unwrap();
    let Verdict::Differs(Difference::Image { rows, first, .. }) = &v else {
        panic!("{v:?}")
    };
    assert_eq!(rows[*first].kernel.as_ref().map(|i| i.offset), Some(0xba));
    // The same capture under 6.18 (no IBT) differs at that call too: the model, not the file,
    // decides where the original is called.
    let p618 = Profile::by_name("linux-6.18").unwrap();
    let v = check_trampoline(&text, &p618).unwrap();
    let Verdict::Differs(Difference::Image { rows, first, .. }) = &v else {
        panic!("{v:?}")
    };
    assert_eq!(rows[*first].model.as_ref().map(|i| i.offset), Some(0xba));
}

#[test]
fn size_and_flags_are_checked() {
    let mut j: serde_json::Value =
        serde_json::from_str(&capture("linux-6.12/trampolines/fentry_fexit_1arg.json")).unwrap();
    let size = j["im"]["size"].as_u64().unwrap();
    assert_eq!(size, 232 + 64);
    j["im"]["size"] = (size + 8).into();
    let v = check_trampoline(&j.to_string(), &p612()).unwrap();
    assert_eq!(
        v,
        Verdict::Differs(Difference::Size {
            model: 296,
            kernel: 304
        })
    );
    let mut j: serde_json::Value =
        serde_json::from_str(&capture("linux-6.12/trampolines/struct_ops_tcp_ssthresh.json")).unwrap();
    j["flags"] = "BPF_TRAMP_F_INDIRECT".into();
    let v = check_trampoline(&j.to_string(), &p612()).unwrap();
    assert_eq!(
        v,
        Verdict::Differs(Difference::Flags {
            model: 0x110,
            kernel: 0x100
        })
    );
    j["flags"] = "BPF_TRAMP_F_NO_SUCH_FLAG".into();
    assert!(matches!(
        check_trampoline(&j.to_string(), &p612()),
        Err(OracleError::BadFlags { .. })
    ));
}

#[test]
fn malformed_captures_are_errors() {
    assert!(matches!(check_trampoline("{", &p612()), Err(OracleError::Json { .. })));
    let mut j: serde_json::Value = serde_json::from_str(&capture("linux-6.12/trampolines/fexit_1arg.json")).unwrap();
    // The enter/exit addresses come from kernel_symbols or, failing that, from targets.
    j.as_object_mut().unwrap().remove("kernel_symbols");
    assert!(matches!(check_trampoline(&j.to_string(), &p612()), Ok(Verdict::Ok(_))));
    j.as_object_mut().unwrap().remove("targets");
    let e = check_trampoline(&j.to_string(), &p612()).unwrap_err();
    assert!(matches!(e, OracleError::Symbol { .. }), "{e}");
    let e = profile_for_release("5.4.0").unwrap_err();
    assert!(
        e.to_string().starts_with("ENOENT: no shipped profile for kernel 5.4.0"),
        "{e}"
    );
    assert_eq!(release_from_uname("Linux vm 6.18.44-fc #1 SMP"), Some("6.18.44-fc"));
}

/// Unknown program kinds on a trampoline are skipped with their name.
#[test]
fn unmodelled_kinds_are_skipped() {
    let mut j: serde_json::Value = serde_json::from_str(&capture("linux-6.12/trampolines/fentry_1arg.json")).unwrap();
    j["programs"][0]["kind"] = "lsm".into();
    let v = check_trampoline(&j.to_string(), &p612()).unwrap();
    assert_eq!(v, Verdict::Skipped(SkipReason::AttachKind { kind: "lsm".into() }));
}

/// A prototype naming typedefs the parser does not know is read from the capture's BTF
/// description by size and kind: the same bytes.
#[test]
fn typedefs_in_a_prototype_are_read_from_btf() {
    let mut j: serde_json::Value =
        serde_json::from_str(&capture("linux-6.12/trampolines/fentry_fexit_3arg.json")).unwrap();
    let proto = j["prototype"].as_str().unwrap().replace("u64 c", "my_u64_t c");
    j["prototype"] = proto.into();
    let v = check_trampoline(&j.to_string(), &p612()).unwrap();
    assert!(matches!(v, Verdict::Ok(_)), "{v:?}");
}
