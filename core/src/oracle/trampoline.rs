//! Rebuilding a captured trampoline through the scenario pipeline.

use super::capture::TrampolineCapture;
use super::{aligned_rows, decode_x86, Difference, Matched, OracleError, SkipReason, Verdict};
use crate::kernel::link::flags;
use crate::kernel::profile::Profile;
use crate::kernel::program::AttachType;
use crate::scenario::{check, Expect, FunctionSpec, ProgramSpec, Scenario};
use crate::tramp::build::{spec_for, KernelSymbols, Placement, ProgAddrs};
use crate::tramp::{encode_bytes, TrampolineSpec};

/// The traced function of a capture as a scenario declares it: the recorded prototype (a
/// struct_ops member's signature, named after its trampoline), with the sizes of the structs BTF
/// says are passed by value.
pub(super) fn function_spec(c: &TrampolineCapture) -> Option<FunctionSpec> {
    let prototype = match (&c.prototype, &c.signature, c.struct_ops_name()) {
        (Some(p), _, _) => p.clone(),
        (None, Some(sig), Some(sym)) => sig.replacen("(*)", &format!(" {sym}"), 1),
        _ => return None,
    };
    let structs = c.prototype_detail.as_ref().map(|d| d.structs()).unwrap_or_default();
    // A C prototype naming typedefs the parser does not know (`pid_t`) is read from its BTF
    // description instead, by size and kind.
    let prototype = match (
        crate::kernel::program::parse_prototype(&prototype, &structs),
        &c.prototype_detail,
    ) {
        (Err(_), Some(d)) => d.canonical_prototype(c.target.as_deref().unwrap_or("traced")),
        _ => prototype,
    };
    Some(FunctionSpec {
        prototype,
        structs,
        body: crate::scenario::FunctionBody::Sum,
        bias: 0,
        reentry: None,
    })
}

/// A program that makes the verifier record what the capture says the kernel's program did:
/// `bpf_get_func_ip` calls (IP_ARG) or none. Only what changes the trampoline matters; the
/// program's own code is the JIT's business.
fn program_text(calls_get_func_ip: bool) -> String {
    let mut t = String::new();
    if calls_get_func_ip {
        t.push_str("call bpf_get_func_ip#173\n");
    }
    t.push_str("r0 = 0\nexit\n");
    t
}

fn program(name: String, attach: AttachType, sleepable: bool, cookie: u64, ip: bool) -> ProgramSpec {
    ProgramSpec {
        name,
        attach,
        sleepable,
        cookie,
        syntax: None,
        text: serde_spanned::Spanned::new(0..0, program_text(ip)),
    }
}

/// The scenario a capture describes, with where each program was: programs in attach order.
fn scenario_of(
    c: &TrampolineCapture,
    profile: &Profile,
) -> Result<Result<(Scenario, Vec<ProgAddrs>), SkipReason>, OracleError> {
    let function = function_spec(c).ok_or(OracleError::Missing { field: "prototype" })?;
    let mut programs = Vec::new();
    let mut addrs = Vec::new();
    if c.is_struct_ops() {
        let prog = c
            .target_addr(|n| n.starts_with("struct bpf_prog *"))
            .ok_or(OracleError::Symbol {
                symbol: "struct bpf_prog *".into(),
            })?;
        let bpf_func = c
            .target_addr(|n| n.starts_with("bpf_prog_"))
            .ok_or(OracleError::Symbol {
                symbol: "bpf_prog_* (the program's image)".into(),
            })?;
        let name = c.struct_ops_name().unwrap_or("struct_ops").to_string();
        programs.push(program(name, AttachType::StructOps, false, 0, false));
        addrs.push(ProgAddrs { prog, bpf_func });
    } else {
        let mut ps = c.programs.clone();
        ps.sort_by_key(|p| p.link_order);
        for (i, p) in ps.iter().enumerate() {
            let Some(attach) = AttachType::parse(&p.kind).filter(|a| a.has_trampoline()) else {
                return Ok(Err(SkipReason::AttachKind { kind: p.kind.clone() }));
            };
            let name = format!("p{i}_{}", attach.section());
            programs.push(program(
                name,
                attach,
                p.sleepable,
                p.bpf_cookie.0,
                p.calls_bpf_get_func_ip,
            ));
            addrs.push(ProgAddrs {
                prog: p.struct_bpf_prog.0,
                bpf_func: p.bpf_func.0,
            });
        }
    }
    let s = Scenario {
        description: c.config.clone().unwrap_or_default(),
        profile: profile.name.clone(),
        mode: None,
        function,
        maps: vec![],
        programs,
        attach_order: None,
        detach: vec![],
        calls: vec![],
        expect: Expect::default(),
    };
    Ok(Ok((s, addrs)))
}

fn symbols(c: &TrampolineCapture) -> KernelSymbols {
    let by_name = |n: &str| -> u64 {
        c.kernel_symbols
            .get(n)
            .map(|a| a.0)
            .or_else(|| c.target_addr(|t| t == n))
            .unwrap_or(0)
    };
    let thunk = c
        .target_addr(|t| t.contains("return_thunk"))
        .unwrap_or_else(|| by_name("__x86_return_thunk"));
    KernelSymbols {
        prog_enter: by_name("__bpf_prog_enter"),
        prog_exit: by_name("__bpf_prog_exit"),
        prog_enter_sleepable: by_name("__bpf_prog_enter_sleepable"),
        prog_exit_sleepable: by_name("__bpf_prog_exit_sleepable"),
        prog_enter_recur: by_name("__bpf_prog_enter_recur"),
        prog_exit_recur: by_name("__bpf_prog_exit_recur"),
        prog_enter_sleepable_recur: by_name("__bpf_prog_enter_sleepable_recur"),
        prog_exit_sleepable_recur: by_name("__bpf_prog_exit_sleepable_recur"),
        tramp_enter: by_name("__bpf_tramp_enter"),
        tramp_exit: by_name("__bpf_tramp_exit"),
        return_thunk: thunk,
    }
}

/// Every address the encoder will use must have been recorded.
fn require_addresses(spec: &TrampolineSpec) -> Result<(), OracleError> {
    let missing = |symbol: &str| Err(OracleError::Symbol { symbol: symbol.into() });
    for p in spec.fentry.iter().chain(&spec.fexit).chain(&spec.fmod_ret) {
        if p.enter == 0 || p.exit == 0 {
            return missing(&format!("the __bpf_prog_enter*/exit* pair of {}", p.name));
        }
    }
    if spec.flags & flags::CALL_ORIG != 0 {
        if spec.addrs.tramp_enter == 0 || spec.addrs.tramp_exit == 0 {
            return missing("__bpf_tramp_enter/__bpf_tramp_exit");
        }
        if spec.addrs.func == 0 {
            return missing("func_addr");
        }
        if spec.addrs.im == 0 {
            return missing("im");
        }
    }
    if spec.mitigations.return_thunk && spec.addrs.return_thunk == 0 {
        return missing("the return thunk");
    }
    Ok(())
}

/// `BPF_TRAMP_F_*` names (`BPF_TRAMP_F_INDIRECT|BPF_TRAMP_F_RET_FENTRY_RET`) to bits.
fn parse_flags(text: &str) -> Option<u32> {
    text.split('|')
        .map(|f| {
            let n = f.trim().trim_start_matches("BPF_TRAMP_F_");
            (0..9).map(|b| 1u32 << b).find(|&bit| flags::names(bit) == n)
        })
        .try_fold(0u32, |acc, b| b.map(|b| acc | b))
}

/// Rebuilds a captured trampoline (JSON text) under `profile` and compares it with the kernel's
/// bytes, `im->size` and, where recorded, the flags.
pub fn check_trampoline(text: &str, profile: &Profile) -> Result<Verdict, OracleError> {
    let c = TrampolineCapture::from_json(text)?;
    let image = c.image()?;
    let (scenario, addrs) = match scenario_of(&c, profile)? {
        Ok(v) => v,
        Err(skip) => return Ok(Verdict::Skipped(skip)),
    };
    let report = check(&scenario, "", profile).map_err(|e| OracleError::Json { message: e.to_string() })?;
    if !report.ok() {
        return Ok(Verdict::Differs(Difference::Refused {
            problems: report.problems.clone(),
        }));
    }
    let place = Placement {
        image,
        func: c.func_addr.map(|a| a.0).unwrap_or(0),
        im: c.im.as_ref().map(|i| i.addr.0).unwrap_or(0),
        symbols: symbols(&c),
        programs: addrs.into_iter().map(Some).collect(),
        ..Placement::default()
    };
    let spec = spec_for(&report, &place);
    require_addresses(&spec)?;
    let enc = match encode_bytes(&spec) {
        Ok(e) => e,
        Err(e) => {
            return Ok(Verdict::Differs(Difference::Encode {
                errno: e.errno,
                message: e.message,
            }))
        }
    };
    let want = &c.hex.0;
    if &enc.bytes != want {
        let (rows, first) = aligned_rows(&decode_x86(&enc.bytes, image), &decode_x86(want, image), |i| {
            i.bytes.clone()
        });
        return Ok(Verdict::Differs(Difference::Image {
            image,
            first: first.unwrap_or(0),
            rows,
        }));
    }
    if let Some(im) = &c.im {
        if im.size != enc.size {
            return Ok(Verdict::Differs(Difference::Size {
                model: enc.size,
                kernel: im.size,
            }));
        }
    }
    if let Some(text) = c.flags.as_deref() {
        let recorded = parse_flags(text).ok_or_else(|| OracleError::BadFlags { flags: text.into() })?;
        if recorded != spec.flags {
            return Ok(Verdict::Differs(Difference::Flags {
                model: spec.flags,
                kernel: recorded,
            }));
        }
    }
    let jit_bytes = match super::jit::check_programs(&c, profile) {
        Ok(n) => n,
        Err(d) => return Ok(Verdict::Differs(d)),
    };
    Ok(Verdict::Ok(Matched {
        bytes: true,
        compared: want.len(),
        jit_bytes,
        programs: scenario.programs.len(),
        flags: Some(spec.flags),
    }))
}
