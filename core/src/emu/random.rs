//! Seeded random scenarios for the executor-against-hardware comparison: a prototype of 0 to 12
//! argument slots (integers of every width and signedness, 16-byte structs, stack arguments),
//! a mix of fentry, fexit, fmod_ret and fsession programs (cookies, `bpf_get_func_ip`, the
//! argument-count and argument helpers, return values), a shipped profile (so every mitigation
//! set), either trampoline mode, and one or two calls. Each is scenario text, read by the same
//! parser as a file. Every program records what it saw in `.bss`, so the data compared between
//! the engines is what the programs observed.

use crate::kernel::profile::Profile;
use std::fmt::Write;

/// splitmix64: small, seedable, good enough to pick shapes.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
    fn pick<'a, T>(&mut self, v: &'a [T]) -> &'a T {
        &v[self.below(v.len() as u64) as usize]
    }
}

const INT_TYPES: [&str; 10] = [
    "char",
    "signed char",
    "u8",
    "short",
    "u16",
    "int",
    "unsigned int",
    "s32",
    "u64",
    "long",
];

/// What the generator made besides the text: enough to name a scenario in a report.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Generated {
    /// The scenario text.
    pub text: String,
    /// The seed.
    pub seed: u64,
}

fn prototype(r: &mut Rng) -> (String, Vec<bool>, usize, bool) {
    let mut args = vec![];
    let mut is_struct = vec![];
    let mut slots = 0usize;
    let want = r.below(13) as usize;
    while slots < want {
        let st = slots + 2 <= 12 && r.chance(15);
        if st {
            args.push(format!("struct pair a{}", args.len()));
            slots += 2;
        } else {
            args.push(format!("{} a{}", r.pick(&INT_TYPES), args.len()));
            slots += 1;
        }
        is_struct.push(st);
    }
    let ret = *r.pick(&["int", "u64", "void", "long", "u8"]);
    let params = if args.is_empty() {
        "void".to_string()
    } else {
        args.join(", ")
    };
    (format!("{ret} traced({params})"), is_struct, slots, ret == "void")
}

struct Prog {
    name: String,
    attach: &'static str,
    text: String,
    cookie_user: bool,
}

/// One program's text: loads of some argument slots (and the return value where it may read
/// it), helpers, and stores of what it saw into its three `.bss` words (values, a run count or
/// the exit pass's values, the function's address).
fn program(r: &mut Rng, k: usize, attach: &'static str, slots: usize, void_ret: bool, profile: &Profile) -> Prog {
    let mut t = String::new();
    let base = 24 * k;
    let _ = writeln!(t, "r6 = r1\nr9 = map[id:0][0]+0\nr7 = 0");
    for _ in 0..r.below(4) {
        if slots == 0 {
            break;
        }
        let i = r.below(slots as u64);
        let _ = writeln!(t, "r2 = *(u64 *)(r6 +{})\nr7 += r2", 8 * i);
    }
    let reads_ret = matches!(attach, "fexit" | "fmod_ret") && !void_ret;
    if reads_ret && r.chance(60) {
        let _ = writeln!(t, "r2 = *(u64 *)(r6 +{})\nr7 ^= r2", 8 * slots);
    }
    if r.chance(30) {
        // An address: stored alone, so that both engines' values compare as `func`.
        let _ = writeln!(t, "r1 = r6\ncall bpf_get_func_ip#173\n*(u64 *)(r9 +{}) = r0", base + 16);
    }
    if r.chance(30) {
        let _ = writeln!(t, "r1 = r6\ncall bpf_get_func_arg_cnt#185\nr7 += r0");
    }
    let mut cookie_user = false;
    if attach == "fsession" {
        let cookie = profile.fsession && r.chance(70);
        if cookie {
            cookie_user = true;
            let value = r.next() | 1;
            let _ = writeln!(
                t,
                "r1 = r6\ncall bpf_session_cookie\nr8 = r0\nr1 = r6\ncall bpf_session_is_return\n\
                 if r0 != 0x0 goto exit_pass\nr2 = {value:#x}\n*(u64 *)(r8 +0) = r2\n\
                 *(u64 *)(r9 +{base}) = r7\ngoto done\nexit_pass:\nr3 = *(u64 *)(r8 +0)\nr7 ^= r3\n\
                 *(u64 *)(r9 +{}) = r7\ndone:",
                base + 8
            );
        } else {
            let _ = writeln!(
                t,
                "r1 = r6\ncall bpf_session_is_return\nr7 += r0\n*(u64 *)(r9 +{}) = r7",
                base as u64 + 8 * r.below(2)
            );
        }
    } else {
        let _ = writeln!(
            t,
            "*(u64 *)(r9 +{base}) = r7\nr2 = *(u64 *)(r9 +{})\nr2 += 1\n*(u64 *)(r9 +{}) = r2",
            base + 8,
            base + 8
        );
    }
    let ret = if attach == "fmod_ret" && r.chance(30) {
        1 + r.below(100)
    } else {
        0
    };
    let _ = writeln!(t, "r0 = {ret}\nexit");
    Prog {
        name: format!("p{k}"),
        attach,
        text: t,
        cookie_user,
    }
}

/// The scenario for `seed`.
pub fn scenario(seed: u64) -> Generated {
    let mut r = Rng(seed ^ 0x5eed_f5e5_5101_0000);
    let profiles: Vec<&Profile> = Profile::shipped_ref().iter().collect();
    let profile = *r.pick(&profiles);
    let (proto, is_struct, slots, void_ret) = prototype(&mut r);
    let mut kinds: Vec<&'static str> = vec!["fentry", "fexit"];
    if !void_ret {
        kinds.push("fmod_ret");
    }
    if profile.fsession {
        kinds.extend(["fsession", "fsession"]);
    }
    let n = 1 + r.below(6) as usize;
    let limit = profile.cookie_limit.unwrap_or(u32::MAX) as usize;
    let mut progs = vec![];
    let mut cookies = 0;
    for k in 0..n {
        let attach = *r.pick(&kinds);
        let mut p = program(&mut r, k, attach, slots, void_ret, profile);
        if p.cookie_user && cookies >= limit.min(4) {
            p = program(&mut r, k, "fentry", slots, void_ret, profile);
        }
        cookies += usize::from(p.cookie_user);
        progs.push(p);
    }
    let mut t = String::new();
    let _ = writeln!(
        t,
        "description = \"random scenario, seed {seed}\"\nprofile = \"{}\"",
        profile.name
    );
    if r.chance(50) {
        let _ = writeln!(t, "mode = \"{}\"", if r.chance(50) { "jmp" } else { "call" });
    }
    let _ = writeln!(
        t,
        "\n[function]\nprototype = \"{proto}\"\nstructs = {{ pair = 16 }}\nbias = {}",
        r.below(1000)
    );
    let _ = writeln!(t, "\n[[maps]]\nname = \".bss\"\nvalue_size = {}", 24 * n.max(1));
    for _ in 0..1 + r.below(2) {
        let args: Vec<String> = is_struct
            .iter()
            .map(|&st| {
                if st {
                    format!("[\"{:#x}\", \"{:#x}\"]", r.next(), r.next())
                } else {
                    format!("\"{:#x}\"", r.next() >> r.below(64))
                }
            })
            .collect();
        let _ = writeln!(t, "\n[[call]]\nargs = [{}]", args.join(", "));
    }
    for p in &progs {
        let _ = writeln!(
            t,
            "\n[[program]]\nname = \"{}\"\nattach = \"{}\"\ncookie = {}\ntext = \"\"\"\n{}\"\"\"",
            p.name,
            p.attach,
            r.below(1 << 20),
            p.text
        );
    }
    if profile.name == "fsession-v9-patch05" && cookies > 0 {
        let _ = writeln!(t, "\n[expect]\ncontract_violation = true");
    }
    Generated { text: t, seed }
}
