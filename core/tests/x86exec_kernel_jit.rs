//! The executor on real kernel JIT output: Linux 6.18's x86-64 images of jit_alu and
//! jit_branch (../shared/kernel-oracle/jit), executed as captured, give the r0 the interpreter
//! computes from the same programs as loaded. The images use the kernel JIT's forms
//! (the division sequence with push/cqo/idiv/pop, BMI2 shifts, rel8 and rel32 jumps, `leave`
//! and the return thunk); the thunk's address holds a `ret`, as the thunk ends in one.

use fsession_core::interp::{prepare, Machine as Vm, RunOptions};
use fsession_core::isa::Insn;
use fsession_core::x86exec::{AreaKind, Gpr, Machine, Perms, Space};
use std::path::PathBuf;

/// `srso_alias_return_thunk` at capture time (kernel-oracle/README.md).
const RETURN_THUNK: u64 = 0xffff_ffff_8110_410b;
const CTX: u64 = 0xffff_8881_2000_0000;
const STACK: u64 = 0xffff_c900_0010_0000;
const CALLER: u64 = 0xffff_ffff_8100_0000;

fn oracle() -> PathBuf {
    std::env::var("FSESSION_ORACLE_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/kernel-oracle"))
}

/// The image: its address and bytes, from `NAME.jited.0.hex` (`addr: b0 b1 ...` lines).
fn image(name: &str) -> (u64, Vec<u8>) {
    let text = std::fs::read_to_string(oracle().join(format!("jit/{name}.jited.0.hex"))).unwrap();
    let mut base = None;
    let mut bytes = vec![];
    for line in text.lines() {
        let (addr, rest) = line.split_once(':').unwrap();
        base.get_or_insert(u64::from_str_radix(addr.trim(), 16).unwrap());
        bytes.extend(rest.split_whitespace().map(|b| u8::from_str_radix(b, 16).unwrap()));
    }
    (base.unwrap(), bytes)
}

/// The program as loaded, from `NAME.input.txt` (each line ends in `[raw hex]`). The xlated
/// program uses the verifier's auxiliary register r11, which the interpreter does not take
/// (issue 13); the loaded one computes the same.
fn loaded(name: &str) -> Vec<Insn> {
    let text = std::fs::read_to_string(oracle().join(format!("jit/{name}.input.txt"))).unwrap();
    text.lines()
        .filter_map(|l| l.rsplit_once('[').and_then(|(_, r)| r.strip_suffix(']')))
        .map(|raw| {
            let mut b = [0u8; 8];
            for (k, byte) in b.iter_mut().enumerate() {
                *byte = u8::from_str_radix(&raw[2 * k..2 * k + 2], 16).unwrap();
            }
            Insn::from_bytes(b)
        })
        .collect()
}

fn ctx_bytes() -> Vec<u8> {
    (0..256u32).map(|k| (k * 7 + 3) as u8).collect()
}

fn executed(name: &str) -> u64 {
    let (base, bytes) = image(name);
    let mut mem = Space::default();
    mem.map(AreaKind::Code, base, bytes, Perms::RX).unwrap();
    mem.map(AreaKind::Code, RETURN_THUNK, vec![0xc3], Perms::RX).unwrap();
    mem.map(AreaKind::Stack, STACK, vec![0; 0x4000], Perms::RW).unwrap();
    mem.map(AreaKind::Scratch, CTX, ctx_bytes(), Perms::RW).unwrap();
    let mut m = Machine::new(mem);
    let sp = STACK + 0x4000 - 8;
    m.mem.write(sp, 8, CALLER).unwrap();
    m.cpu.set(Gpr::RSP, sp);
    m.cpu.set(Gpr::RDI, CTX);
    m.cpu.rip = base;
    for _ in 0..1_000_000 {
        if m.cpu.rip == CALLER {
            return m.cpu.get(Gpr::RAX);
        }
        m.step().unwrap_or_else(|e| panic!("{name}: {e}"));
    }
    panic!("{name}: no return");
}

fn interpreted(name: &str) -> u64 {
    let p = prepare(&loaded(name)).unwrap();
    let mut vm = Vm::with_stack(512, 8);
    vm.add_region("ctx", CTX, ctx_bytes(), true);
    p.run(&mut vm, [CTX, 0, 0, 0, 0], RunOptions::default()).unwrap().r0
}

#[test]
fn the_kernels_jit_images_compute_what_their_programs_compute() {
    for name in ["jit_alu", "jit_branch"] {
        let (x, i) = (executed(name), interpreted(name));
        assert_eq!(x, i, "{name}");
        assert_ne!(x, 0, "{name}: the programs compute a non-zero r0");
    }
}
