//! The `fsession-lab` binary end to end: conformance runner, plugin protocol, asm/disasm/exec.

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_fsession-lab"))
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn run_with_stdin(mut cmd: Command, input: &str) -> Output {
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(input.as_bytes()).unwrap();
    child.wait_with_output().unwrap()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

#[test]
fn conformance_summary_and_exit_code() {
    let o = bin().arg("conformance").output().unwrap();
    let out = stdout(&o);
    assert!(o.status.success(), "{out}");
    let last = out.lines().last().unwrap();
    let passed: usize = last.split(' ').next().unwrap().parse().unwrap();
    assert!(passed >= 209, "{last}");
    assert!(last.ends_with(" passed, 0 failed, 0 skipped"), "{last}");

    // The same suite as JIT images, on this CPU and in the executor: callx is the one listed
    // difference (the kernel's JIT refuses it).
    for engine in ["jit", "jit-emu"] {
        if engine == "jit" && !cfg!(target_arch = "x86_64") {
            continue;
        }
        let o = bin().args(["conformance", "--engine", engine]).output().unwrap();
        let out = stdout(&o);
        assert!(o.status.success(), "{out}");
        let last = out.lines().last().unwrap();
        assert!(
            last.ends_with(" passed, 0 failed, 0 skipped, 1 known difference"),
            "{last}"
        );
        assert!(
            out.contains("KNOWN ") && out.contains("callx.data: the kernel's x86-64 JIT refuses callx"),
            "{out}"
        );
    }

    // A wrong expectation fails with a reason and a non-zero exit.
    let dir = std::env::temp_dir().join(format!("fsl-conf-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("wrong.data"), "-- asm\nmov %r0, 1\nexit\n-- result\n0x2\n").unwrap();
    std::fs::write(dir.join("unknown.data"), "-- asm\nexit\n-- frobnicate\n").unwrap();
    let o = bin().arg("conformance").arg(&dir).output().unwrap();
    let out = stdout(&o);
    assert_eq!(o.status.code(), Some(1), "{out}");
    assert!(out.contains("wrong.data: r0 = 0x1, expected 0x2"), "{out}");
    assert!(out.contains("SKIP") && out.contains("unknown directive"), "{out}");
    assert!(out.ends_with("0 passed, 1 failed, 1 skipped\n"), "{out}");
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn plugin_protocol_with_and_without_memory() {
    // r0 = *(u8 *)(r1 + 1); exit   with memory aa bb
    let prog = "71  10  01  00  00  00  00  00  95  00  00  00  00  00  00  00  \n";
    let mut c = bin();
    c.args(["conformance-plugin", "aa  bb  "]);
    let o = run_with_stdin(c, prog);
    assert!(o.status.success());
    assert_eq!(stdout(&o).trim(), "bb");
    // No memory argument, an option first (the case rbpf's plugin gets wrong).
    let mut c = bin();
    c.args(["conformance-plugin", "--elf", "false"]);
    let o = run_with_stdin(c, "b7 00 00 00 2a 00 00 00 95 00 00 00 00 00 00 00\n");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(stdout(&o).trim(), "2a");
    // Errors exit non-zero with a message on stderr.
    let mut c = bin();
    c.arg("conformance-plugin");
    let o = run_with_stdin(c, "79 10 00 00 00 00 00 00 95 00 00 00 00 00 00 00\n");
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("insn 0: invalid load of 8 bytes"));
}

#[test]
fn asm_disasm_exec_and_errors() {
    let mut c = bin();
    c.args(["asm", "--syntax", "conformance", "--to", "kernel"]);
    let o = run_with_stdin(c, "ldxdw %r0, [%r1-8]\nrsh %r0, 63\njge32 %r2, %r0, +6\nexit\n");
    assert_eq!(
        stdout(&o),
        "r0 = *(u64 *)(r1 -8)\nr0 >>= 63\nif w2 >= w0 goto pc+6\nexit\n"
    );
    let mut c = bin();
    c.args(["disasm", "-n"]);
    let o = run_with_stdin(c, "79 10 f8 ff 00 00 00 00\n95 00 00 00 00 00 00 00\n");
    assert_eq!(stdout(&o), "0: (79) r0 = *(u64 *)(r1 -8)\n1: (95) exit\n");
    let mut c = bin();
    c.arg("asm");
    let o = run_with_stdin(c, "r0 = 1\nr0 += r12\n");
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(
        String::from_utf8_lossy(&o.stderr).trim(),
        "fsession-lab: <stdin>:2:7: invalid register: r12"
    );
    let mut c = bin();
    c.arg("disasm");
    let o = run_with_stdin(c, "06 08 00 00 00 00 00 00\n");
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(
        String::from_utf8_lossy(&o.stderr).trim(),
        "fsession-lab: <stdin>: insn 0: opcode 0x06 uses reserved field dst = 8"
    );
}

#[test]
fn example_programs_compute_what_they_say() {
    let ex = root().join("examples/programs");
    let o = bin()
        .arg("exec")
        .arg(ex.join("session_cookie_inline.bpf"))
        .output()
        .unwrap();
    assert!(stdout(&o).starts_with("r0 = 0x0 (0),"), "{}", stdout(&o));
    let o = bin().arg("exec").arg(ex.join("sum_loop.bpf")).output().unwrap();
    assert!(stdout(&o).starts_with("r0 = 0x1356 (4950),"), "{}", stdout(&o));
    // The loop computes the sum: stopping it early changes r0, and --check compares r0 with
    // the program's own `expect:` line.
    let text = std::fs::read_to_string(ex.join("sum_loop.bpf")).unwrap();
    let dir = std::env::temp_dir().join(format!("fsession-exec-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let short = dir.join("short.bpf");
    std::fs::write(&short, text.replace("if r6 < 100 goto loop", "if r6 < 10 goto loop")).unwrap();
    let o = bin().args(["exec", "--check"]).arg(&short).output().unwrap();
    assert_eq!(o.status.code(), Some(1), "{}", stdout(&o));
    assert!(stdout(&o).starts_with("r0 = 0x2d (45),"), "{}", stdout(&o));
    assert!(
        stdout(&o).contains("FAIL: the program states r0 = 0x1356 (4950)"),
        "{}",
        stdout(&o)
    );
    let bare = dir.join("bare.bpf");
    std::fs::write(&bare, "r0 = 1\nexit\n").unwrap();
    let o = bin().args(["exec", "--check"]).arg(&bare).output().unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("states no `expect: r0 = N`"));
    let o = bin()
        .args(["exec", "--check"])
        .arg(ex.join("sum_loop.bpf"))
        .output()
        .unwrap();
    assert!(o.status.success());
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn check_scenarios_and_profiles() {
    let sc = root().join("examples/scenarios");
    for entry in std::fs::read_dir(&sc).unwrap() {
        let p = entry.unwrap().path();
        let o = bin().arg("check").arg(&p).output().unwrap();
        assert!(o.status.success(), "{}: {}", p.display(), stdout(&o));
        assert!(stdout(&o).contains("result: ok"), "{}", p.display());
    }
    // The side-by-side view links the cookie call to its inline.
    let o = bin()
        .arg("check")
        .arg(sc.join("fsession_cookie.toml"))
        .output()
        .unwrap();
    let out = stdout(&o);
    assert!(out.contains("call bpf_session_cookie    →"), "{out}");
    assert!(
        out.contains("; bpf_session_cookie: cookie = ctx - 8 * ((ctx[-1] >> 8) & 0xff)"),
        "{out}"
    );
    assert!(
        out.contains("flags CALL_ORIG\n") || out.contains("flags CALL_ORIG "),
        "{out}"
    );
    // Another profile on the same file: v9 inlines read bit 9.
    let o = bin()
        .args(["check", "--profile", "fsession-v9"])
        .arg(sc.join("fsession_cookie.toml"))
        .output()
        .unwrap();
    assert!(stdout(&o).contains("cookie = ctx - 8 * ((ctx[-1] >> 9) & 0xff)"));
    // JSON for scripts.
    let o = bin()
        .args(["check", "--json"])
        .arg(sc.join("links_38.toml"))
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["trampoline"]["slots_used"], 38);
    assert_eq!(v["link_ops"][19]["result"]["Err"]["errno"], "E2BIG");
    // Conformance syntax and bytes.
    let o = bin()
        .args(["check", "--syntax", "conformance", "--bytes"])
        .arg(sc.join("fsession_cookie.toml"))
        .output()
        .unwrap();
    assert!(
        stdout(&o).contains("79 10 f8 ff 00 00 00 00  ldxdw %r0, [%r1-8]"),
        "{}",
        stdout(&o)
    );
    // A scenario that fails: exit 1 and the problem named.
    let dir = std::env::temp_dir().join(format!("fsl-check-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let bad = dir.join("bad.toml");
    std::fs::write(&bad, "profile = \"linux-7.0\"\n[function]\nprototype = \"int f(int a)\"\n[[program]]\nname = \"p\"\nattach = \"fentry\"\ntext = \"r0 = 1\\nexit\"\n").unwrap();
    let o = bin().arg("check").arg(&bad).output().unwrap();
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stdout(&o).contains("program 'p': insn 1: At program exit the register R0 has smin=1 smax=1"),
        "{}",
        stdout(&o)
    );
    // Unknown profile and malformed file: one line on stderr, exit 2.
    let o = bin()
        .args(["check", "--profile", "linux-9"])
        .arg(&bad)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("unknown profile 'linux-9'"));
    std::fs::write(&bad, "profile = \"linux-7.0\"\n[function]\nprototype = 5\n").unwrap();
    let o = bin().arg("check").arg(&bad).output().unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("bad.toml:3:13: invalid type"),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    // A user profile file.
    let custom = dir.join("mine.toml");
    let o = bin().args(["profiles", "show", "linux-7.0"]).output().unwrap();
    std::fs::write(
        &custom,
        stdout(&o)
            .replace("name = \"linux-7.0\"", "name = \"mine\"")
            .replace("max_tramp_links = 38", "max_tramp_links = 27"),
    )
    .unwrap();
    let o = bin()
        .args(["profiles", "diff", "linux-7.0"])
        .arg(&custom)
        .output()
        .unwrap();
    assert!(
        stdout(&o).contains("max_tramp_links  38                   27"),
        "{}",
        stdout(&o)
    );
    let o = bin().arg("profiles").output().unwrap();
    assert_eq!(stdout(&o).lines().count(), 5);
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn show_trampolines() {
    let sc = root().join("examples/scenarios");
    for entry in std::fs::read_dir(&sc).unwrap() {
        let p = entry.unwrap().path();
        let o = bin().arg("show").arg(&p).output().unwrap();
        assert!(o.status.success(), "{}", p.display());
    }
    let o = bin()
        .args(["show", "--bytes"])
        .arg(sc.join("fsession_basic.toml"))
        .output()
        .unwrap();
    let out = stdout(&o);
    // reference §5.3: bpf_fentry_test1 basic scenario, C = 5; test9 is the first cookie user
    assert!(out.contains("frame 80 bytes"), "{out}");
    assert!(out.contains("mov eax, 0x501"), "{out}");
    assert!(
        out.contains("contract (linux-7.0 verifier inlines vs this trampoline): holds"),
        "{out}"
    );
    // AT&T syntax
    let o = bin()
        .args(["show", "--syntax", "att"])
        .arg(sc.join("fsession_cookie.toml"))
        .output()
        .unwrap();
    assert!(stdout(&o).contains("mov %rbx, -0x38(%rbp)"), "{}", stdout(&o));
    // The review bug: under fsession-v9-patch05 the contract check names program and slot.
    let o = bin()
        .arg("show")
        .arg(sc.join("fsession_cookie_v9_patch05.toml"))
        .output()
        .unwrap();
    let out = stdout(&o);
    assert!(out.contains("VIOLATED"));
    assert!(out.contains("test7 (fsession, entry): ctx[-1] = 0x1 has cookie index 0, so bpf_session_cookie() returns ctx[-0] (rbp-16, arg0)"), "{out}");
    // The same file under linux-7.0: the contract holds, and the expectation of a violation is
    // reported as a problem (exit 1).
    let o = bin()
        .args(["show", "--profile", "linux-7.0"])
        .arg(sc.join("fsession_cookie_v9_patch05.toml"))
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    assert!(stdout(&o).contains("contract: expected a violation, the contract holds"));
    // JSON
    let o = bin()
        .args(["show", "--json"])
        .arg(sc.join("fsession_cookie.toml"))
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["encoded"]["Ok"]["layout"]["stack_size"], 72);
    assert_eq!(v["contract"]["lines"][1]["cookie_index"], 4);
}

#[cfg(target_arch = "x86_64")]
#[test]
fn run_and_validate_on_hardware() {
    let sc = root().join("examples/scenarios");
    let n = std::fs::read_dir(&sc)
        .unwrap()
        .filter(|e| e.as_ref().unwrap().path().extension().is_some_and(|x| x == "toml"))
        .count();
    let o = bin().arg("validate").arg(&sc).output().unwrap();
    let out = stdout(&o);
    assert!(o.status.success(), "{out}");
    assert!(
        out.ends_with(&format!(
            "{n} passed, 0 failed on this CPU and in the executor, observations compared\n"
        )),
        "{out}"
    );
    for (engine, tail) in [("emu", "in the executor"), ("hw", "on this CPU")] {
        let o = bin().args(["validate", "--engine", engine]).arg(&sc).output().unwrap();
        assert!(o.status.success(), "{}", stdout(&o));
        assert!(
            stdout(&o).ends_with(&format!("{n} passed, 0 failed {tail}\n")),
            "{}",
            stdout(&o)
        );
    }
    // Random scenarios: both engines, observations compared.
    let o = bin()
        .args(["validate", "--random", "20", "--seed", "7"])
        .output()
        .unwrap();
    assert!(
        stdout(&o).ends_with(
            "20 passed, 0 failed on this CPU and in the executor, observations compared (20 random, seeds 7..27)\n"
        ),
        "{}",
        stdout(&o)
    );
    // The review bug on hardware: the cookie scenario fails under fsession-v9-patch05 with the
    // explanation, and passes under fsession-v9 and linux-7.0.
    let cookie = sc.join("fsession_cookie.toml");
    let o = bin()
        .args(["run", "--profile", "fsession-v9-patch05"])
        .arg(&cookie)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stdout(&o).contains("the cookie pointer is ctx, so writing the cookie overwrote argument 1"),
        "{}",
        stdout(&o)
    );
    for p in ["fsession-v9", "linux-7.0"] {
        let o = bin().args(["run", "--profile", p]).arg(&cookie).output().unwrap();
        assert!(o.status.success(), "{p}: {}", stdout(&o));
    }
    let o = bin()
        .args(["validate", "--profile", "fsession-v9-patch05"])
        .arg(&cookie)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    let out = stdout(&o);
    assert!(
        out.ends_with("0 passed, 1 failed on this CPU and in the executor, observations compared\n"),
        "{out}"
    );
    // The executor finds the same violation as the CPU, and both engines agree on what it did.
    assert!(
        out.contains("    - executor: call 0: returned 0xccccddde, expected 0x2\n"),
        "{out}"
    );
    assert!(!out.contains("executor vs hardware"), "{out}");
    // What each program saw, from the run of the basic selftest (reference §5.3 values).
    let o = bin().arg("run").arg(sc.join("fsession_basic.toml")).output().unwrap();
    let out = stdout(&o);
    assert!(out.contains("returned 0x2"), "{out}");
    assert!(out.contains("0x8000000000000501"), "{out}");
    // A fault in the traced function is reported with its place; the runner survives.
    let o = bin()
        .arg("run")
        .arg(sc.join("faulting_function.toml"))
        .output()
        .unwrap();
    assert!(o.status.success());
    assert!(
        stdout(&o).contains("SIGSEGV in traced function bad (body)"),
        "{}",
        stdout(&o)
    );
    // JSON
    let o = bin()
        .args(["validate", "--json"])
        .arg(sc.join("fmod_ret_override.toml"))
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v[0]["passed"], true);
    assert_eq!(v[0]["report"]["calls"][0]["ret"], 1234);
}

/// `oracle`: every capture in ../shared/kernel-oracle, one line each and the summary; a copy of a
/// kernel's captures with one byte changed fails with the aligned listing; --json.
#[test]
fn oracle_over_the_captures() {
    let o = bin().arg("oracle").output().unwrap();
    let out = stdout(&o);
    assert!(o.status.success(), "{out}");
    let last = out.lines().last().unwrap();
    assert!(last.contains(" passed, 0 failed, "), "{last}");
    assert!(out.contains("linux-6.12/trampolines/fentry_fexit_7arg.json [linux-6.12]: ok (302 bytes, 2 programs, CALL_ORIG|SKIP_FRAME; their JIT images: 50 bytes)"), "{out}");
    assert!(
        out.contains("trampolines/struct_ops_tcp_ssthresh.json [linux-6.18]: ok (107 bytes"),
        "{out}"
    );
    assert!(
        out.contains("xlated/session_kprobe.json [linux-6.12]: skipped: KPROBE programs are not modelled"),
        "{out}"
    );
    assert!(
        out.contains("linux-6.12/jit/jit_alu.json [linux-6.12]: ok (230 bytes)")
            && out.contains("linux-6.12/jit/jit_tailcall_direct.json [linux-6.12]: ok (92 bytes)"),
        "{out}"
    );

    // A kernel directory of our own: env.json and one capture with a changed byte.
    let src = root().join("../shared/kernel-oracle/linux-6.12");
    let dir = std::env::temp_dir().join(format!("fsession-oracle-{}", std::process::id()));
    std::fs::create_dir_all(dir.join("trampolines")).unwrap();
    std::fs::copy(src.join("env.json"), dir.join("env.json")).unwrap();
    let text = std::fs::read_to_string(src.join("trampolines/fexit_1arg.json")).unwrap();
    let mut j: serde_json::Value = serde_json::from_str(&text).unwrap();
    let hex = j["hex"].as_str().unwrap().replacen("c3cc", "c390", 1);
    j["hex"] = hex.into();
    std::fs::write(dir.join("trampolines/fexit_1arg.json"), j.to_string()).unwrap();
    let o = bin().arg("oracle").arg(&dir).output().unwrap();
    let out = stdout(&o);
    assert_eq!(o.status.code(), Some(1), "{out}");
    assert!(
        out.contains("fexit_1arg.json [linux-6.12]: DIFFERS: first differing instruction at +0x09f"),
        "{out}"
    );
    assert!(out.contains("≠ +0x09f cc"), "{out}");
    assert!(out.ends_with("0 passed, 1 failed, 0 skipped\n"), "{out}");
    let o = bin().args(["oracle", "--json"]).arg(&dir).output().unwrap();
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["failed"], 1);
    assert_eq!(v["captures"][0]["status"], "differs");
    assert_eq!(v["captures"][0]["differs"], "image");
    // Without env.json the kernel is unknown unless --profile names it.
    std::fs::remove_file(dir.join("env.json")).unwrap();
    let o = bin().arg("oracle").arg(&dir).output().unwrap();
    assert!(stdout(&o).contains("ERROR:"), "{}", stdout(&o));
    let o = bin()
        .args(["oracle", "--profile", "linux-6.12"])
        .arg(&dir)
        .output()
        .unwrap();
    assert!(stdout(&o).contains("DIFFERS"), "{}", stdout(&o));
    std::fs::remove_dir_all(&dir).ok();
}
