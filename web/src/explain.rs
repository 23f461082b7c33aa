//! One-line explanations of the instructions the playground shows, with their actual operands:
//! x86-64 (the trampoline listing, Intel or AT&T as iced-x86 formats it) and BPF (the kernel's
//! text syntax, as the programs view prints it). Shown on hover and for the selected line.

/// Explains one x86-64 instruction. `att` gives the operand order of AT&T syntax (source
/// first); the explanation always reads destination-first.
pub fn x86(text: &str, att: bool) -> String {
    let text = text.trim();
    let (mnem, rest) = text.split_once(' ').unwrap_or((text, ""));
    let mut ops = split_operands(rest.trim());
    if att {
        ops.reverse();
    }
    let base = strip_att_suffix(mnem, att);
    let op = |i: usize| ops.get(i).cloned().unwrap_or_default();
    let (d, s) = (op(0), op(1));
    let mem = |x: &str| x.contains('[') || x.contains('(');
    match base {
        "push" => format!("push {d}: rsp -= 8, then store {d} at [rsp]"),
        "pop" => format!("pop {d}: load {d} from [rsp], then rsp += 8"),
        "mov" | "movabs" if mem(&d) => format!("{base}: store {s} into the memory at {d}"),
        "mov" | "movabs" if mem(&s) => format!("{base}: load {d} from the memory at {s}"),
        "mov" | "movabs" => format!("{base}: {d} = {s}"),
        "movzx" | "movsx" | "movsxd" => format!(
            "{base}: {d} = {s}, {}-extended",
            if base == "movzx" { "zero" } else { "sign" }
        ),
        "lea" => format!("lea: {d} = the address {s} (computed, memory is not read)"),
        "xor" if d == s => format!("xor: {d} = 0 (the short way to zero a register)"),
        "add" | "sub" | "and" | "or" | "xor" | "imul" => {
            let sym = match base {
                "add" => "+",
                "sub" => "-",
                "and" => "&",
                "or" => "|",
                "xor" => "^",
                _ => "*",
            };
            format!("{base}: {d} = {d} {sym} {s}")
        }
        "shl" | "shr" | "sar" => format!("{base}: shift {d} by {s}"),
        "test" if d == s => format!("test: set ZF when {d} is zero"),
        "test" => format!("test: set flags from {d} & {s} (ZF when no bit in common)"),
        "cmp" => format!("cmp: set flags from {d} - {s}"),
        "je" | "jz" => format!("{base}: jump to {d} if ZF is set (equal / zero)"),
        "jne" | "jnz" => format!("{base}: jump to {d} if ZF is clear (not equal / non-zero)"),
        "jmp" => format!("jmp: continue at {d}"),
        "call" => format!("call: push the return address and jump to {d}"),
        "ret" => "ret: pop the return address and continue there".to_string(),
        "leave" => "leave: rsp = rbp, then pop rbp (drops the frame)".to_string(),
        "nop" => "nop: does nothing (padding or a patchable site)".to_string(),
        "int3" => "int3: breakpoint trap (never reached in a correct image)".to_string(),
        "endbr64" => "endbr64: an indirect-branch landing pad (CET IBT)".to_string(),
        _ => format!("{mnem}: see the Intel SDM"),
    }
}

/// Explains one BPF instruction in the kernel's syntax; `index` is its slot, for branch
/// targets.
pub fn bpf(text: &str, index: usize) -> String {
    let t = text.trim();
    if t == "exit" {
        return "exit: return r0 to the caller".into();
    }
    if let Some(f) = t.strip_prefix("call ") {
        return format!("call {f}: arguments in r1-r5, result in r0; r1-r5 are clobbered");
    }
    if let Some(off) = t.strip_prefix("goto ") {
        return format!("goto: continue at insn {}", target(off, index));
    }
    if let Some(c) = t.strip_prefix("if ") {
        if let Some((cond, off)) = c.split_once(" goto ") {
            let width = if cond.starts_with('w') { "32-bit" } else { "64-bit" };
            return format!(
                "if {cond} ({width} compare): continue at insn {}, else at the next",
                target(off, index)
            );
        }
    }
    if t.starts_with("*(") {
        if let Some((dst, val)) = t.split_once(" = ") {
            return format!("store: {} of {val} at {}", size_of(dst), addr(dst));
        }
    }
    if t.starts_with("lock ") {
        return format!("atomic: {t}");
    }
    if let Some((dst, src)) = t.split_once(" = ") {
        let width = if dst.starts_with('w') {
            "32-bit, upper half zeroed"
        } else {
            "64-bit"
        };
        if src.starts_with("*(") {
            return format!("load: {dst} = {} at {} (zero-extended)", size_of(src), addr(src));
        }
        if let Some(imm) = src.strip_suffix(" ll") {
            return format!("ld_imm64 (two slots): {dst} = {imm}");
        }
        return format!("{dst} = {src} ({width})");
    }
    for op in [
        " s>>= ", " >>= ", " <<= ", " += ", " -= ", " *= ", " /= ", " %= ", " &= ", " |= ", " ^= ",
    ] {
        if let Some((dst, src)) = t.split_once(op) {
            let sym = op.trim().trim_end_matches('=');
            let width = if dst.starts_with('w') {
                "32-bit, upper half zeroed"
            } else {
                "64-bit"
            };
            return format!("{dst} = {dst} {sym} {src} ({width})");
        }
    }
    t.to_string()
}

fn target(off: &str, index: usize) -> String {
    let off = off.trim().trim_start_matches("pc");
    match off.parse::<i64>() {
        Ok(o) => (index as i64 + 1 + o).to_string(),
        Err(_) => off.to_string(),
    }
}

fn size_of(access: &str) -> &'static str {
    for (k, v) in [
        ("u8", "1 byte"),
        ("u16", "2 bytes"),
        ("u32", "4 bytes"),
        ("u64", "8 bytes"),
    ] {
        if access.contains(&format!("({k} *)")) {
            return v;
        }
    }
    "a value"
}

fn addr(access: &str) -> String {
    // `*(u64 *)(r1 -8)` gives `r1 -8`.
    access
        .rsplit_once('(')
        .map(|(_, a)| a.trim_end_matches(')').to_string())
        .unwrap_or_default()
}

/// Operands split at top-level commas (not inside brackets or parentheses).
fn split_operands(s: &str) -> Vec<String> {
    let (mut out, mut cur, mut depth) = (vec![], String::new(), 0i32);
    for c in s.chars() {
        match c {
            '[' | '(' => depth += 1,
            ']' | ')' => depth -= 1,
            ',' if depth == 0 => {
                out.push(cur.trim().to_string());
                cur.clear();
                continue;
            }
            _ => {}
        }
        cur.push(c);
    }
    if !cur.trim().is_empty() {
        out.push(cur.trim().to_string());
    }
    out
}

/// AT&T mnemonics carry an operand-size suffix (`movq`, `leaq`, `subq`); drop it for the
/// known base mnemonics.
fn strip_att_suffix(m: &str, att: bool) -> &str {
    const BASES: &[&str] = &[
        "push", "pop", "mov", "movabs", "lea", "add", "sub", "and", "or", "xor", "imul", "shl", "shr", "sar", "test",
        "cmp", "call", "ret", "jmp", "leave", "nop",
    ];
    if att {
        for suffix in ['q', 'l', 'w', 'b'] {
            if let Some(b) = m.strip_suffix(suffix) {
                if BASES.contains(&b) {
                    return b;
                }
            }
        }
    }
    m
}
