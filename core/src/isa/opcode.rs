//! Opcode field constants of the BPF instruction set (RFC 9669, `include/uapi/linux/bpf.h`).
//!
//! These are our own definitions of the public ABI values; the names follow the uapi header so
//! that code built from them reads like the kernel reference.

// ---- instruction classes (low 3 bits of `code`) ----
/// Legacy non-standard load (lddw, packet loads).
pub const BPF_LD: u8 = 0x00;
/// Load into register.
pub const BPF_LDX: u8 = 0x01;
/// Store immediate.
pub const BPF_ST: u8 = 0x02;
/// Store register.
pub const BPF_STX: u8 = 0x03;
/// 32-bit arithmetic.
pub const BPF_ALU: u8 = 0x04;
/// 64-bit jumps.
pub const BPF_JMP: u8 = 0x05;
/// 32-bit jumps.
pub const BPF_JMP32: u8 = 0x06;
/// 64-bit arithmetic.
pub const BPF_ALU64: u8 = 0x07;

/// Extracts the class of an opcode.
pub const fn bpf_class(code: u8) -> u8 {
    code & 0x07
}

// ---- load/store size (bits 3-4) ----
/// 32-bit word.
pub const BPF_W: u8 = 0x00;
/// 16-bit half word.
pub const BPF_H: u8 = 0x08;
/// 8-bit byte.
pub const BPF_B: u8 = 0x10;
/// 64-bit double word.
pub const BPF_DW: u8 = 0x18;

/// Extracts the size field of a load/store opcode.
pub const fn bpf_size(code: u8) -> u8 {
    code & 0x18
}

// ---- load/store mode (bits 5-7) ----
/// 64-bit immediate (lddw).
pub const BPF_IMM: u8 = 0x00;
/// Legacy packet access, absolute.
pub const BPF_ABS: u8 = 0x20;
/// Legacy packet access, indirect.
pub const BPF_IND: u8 = 0x40;
/// Regular memory access.
pub const BPF_MEM: u8 = 0x60;
/// Sign-extending load.
pub const BPF_MEMSX: u8 = 0x80;
/// Atomic operation.
pub const BPF_ATOMIC: u8 = 0xc0;

/// Extracts the mode field of a load/store opcode.
pub const fn bpf_mode(code: u8) -> u8 {
    code & 0xe0
}

// ---- source (bit 3 of ALU/JMP) ----
/// Immediate operand.
pub const BPF_K: u8 = 0x00;
/// Register operand.
pub const BPF_X: u8 = 0x08;
/// Byte swap: to little endian (ALU class).
pub const BPF_TO_LE: u8 = 0x00;
/// Byte swap: to big endian (ALU class).
pub const BPF_TO_BE: u8 = 0x08;

/// Extracts the source bit of an ALU/JMP opcode.
pub const fn bpf_src(code: u8) -> u8 {
    code & 0x08
}

// ---- ALU operations (bits 4-7) ----
/// `dst += src`
pub const BPF_ADD: u8 = 0x00;
/// `dst -= src`
pub const BPF_SUB: u8 = 0x10;
/// `dst *= src`
pub const BPF_MUL: u8 = 0x20;
/// `dst /= src` (off 1: signed)
pub const BPF_DIV: u8 = 0x30;
/// `dst |= src`
pub const BPF_OR: u8 = 0x40;
/// `dst &= src`
pub const BPF_AND: u8 = 0x50;
/// `dst <<= src`
pub const BPF_LSH: u8 = 0x60;
/// `dst >>= src` (logical)
pub const BPF_RSH: u8 = 0x70;
/// `dst = -dst`
pub const BPF_NEG: u8 = 0x80;
/// `dst %= src` (off 1: signed)
pub const BPF_MOD: u8 = 0x90;
/// `dst ^= src`
pub const BPF_XOR: u8 = 0xa0;
/// `dst = src` (off 8/16/32: sign-extending)
pub const BPF_MOV: u8 = 0xb0;
/// `dst s>>= src`
pub const BPF_ARSH: u8 = 0xc0;
/// Byte order conversion.
pub const BPF_END: u8 = 0xd0;

/// Extracts the operation field of an ALU/JMP opcode.
pub const fn bpf_op(code: u8) -> u8 {
    code & 0xf0
}

// ---- JMP operations (bits 4-7) ----
/// Unconditional jump (`goto`; in JMP32 class: `gotol` with the offset in imm).
pub const BPF_JA: u8 = 0x00;
/// `==`
pub const BPF_JEQ: u8 = 0x10;
/// unsigned `>`
pub const BPF_JGT: u8 = 0x20;
/// unsigned `>=`
pub const BPF_JGE: u8 = 0x30;
/// `&` (jump if any bit set)
pub const BPF_JSET: u8 = 0x40;
/// `!=`
pub const BPF_JNE: u8 = 0x50;
/// signed `>`
pub const BPF_JSGT: u8 = 0x60;
/// signed `>=`
pub const BPF_JSGE: u8 = 0x70;
/// Function call.
pub const BPF_CALL: u8 = 0x80;
/// Return from program or function.
pub const BPF_EXIT: u8 = 0x90;
/// unsigned `<`
pub const BPF_JLT: u8 = 0xa0;
/// unsigned `<=`
pub const BPF_JLE: u8 = 0xb0;
/// signed `<`
pub const BPF_JSLT: u8 = 0xc0;
/// signed `<=`
pub const BPF_JSLE: u8 = 0xd0;

// ---- atomic operations (imm field of BPF_ATOMIC) ----
/// Modifier: the old value is returned in `src`.
pub const BPF_FETCH: u8 = 0x01;
/// Atomic exchange (always fetches).
pub const BPF_XCHG: u8 = 0xe0 | BPF_FETCH;
/// Atomic compare-and-exchange (compares with r0, returns old value in r0).
pub const BPF_CMPXCHG: u8 = 0xf0 | BPF_FETCH;

// ---- src_reg values with special meaning ----
/// `BPF_CALL` src: helper function by id.
pub const BPF_HELPER_CALL: u8 = 0;
/// `BPF_CALL` src: bpf-to-bpf call, imm = relative target.
pub const BPF_PSEUDO_CALL: u8 = 1;
/// `BPF_CALL` src: kernel function by BTF id.
pub const BPF_PSEUDO_KFUNC_CALL: u8 = 2;
/// lddw src: imm is a map file descriptor.
pub const BPF_PSEUDO_MAP_FD: u8 = 1;
/// lddw src: imm is a map fd, second imm an offset into its value.
pub const BPF_PSEUDO_MAP_VALUE: u8 = 2;
/// lddw src: imm is a BTF id of a kernel variable.
pub const BPF_PSEUDO_BTF_ID: u8 = 3;
/// lddw src: imm is a relative instruction offset of a function.
pub const BPF_PSEUDO_FUNC: u8 = 4;
/// lddw src: imm is an index into the fd array (map).
pub const BPF_PSEUDO_MAP_IDX: u8 = 5;
/// lddw src: index into the fd array, second imm an offset into its value.
pub const BPF_PSEUDO_MAP_IDX_VALUE: u8 = 6;

// ---- registers ----
/// Return value.
pub const BPF_REG_0: u8 = 0;
/// First argument / ctx.
pub const BPF_REG_1: u8 = 1;
/// Second argument.
pub const BPF_REG_2: u8 = 2;
/// Third argument.
pub const BPF_REG_3: u8 = 3;
/// Fourth argument.
pub const BPF_REG_4: u8 = 4;
/// Fifth argument.
pub const BPF_REG_5: u8 = 5;
/// Callee-saved.
pub const BPF_REG_6: u8 = 6;
/// Callee-saved.
pub const BPF_REG_7: u8 = 7;
/// Callee-saved.
pub const BPF_REG_8: u8 = 8;
/// Callee-saved.
pub const BPF_REG_9: u8 = 9;
/// Read-only frame pointer.
pub const BPF_REG_10: u8 = 10;
/// Alias of r10.
pub const BPF_REG_FP: u8 = 10;
/// The verifier's auxiliary register (r11), used only in programs after kernel rewrites.
pub const BPF_REG_AX: u8 = 11;
/// Number of architectural registers.
pub const MAX_BPF_REG: u8 = 11;

/// Opcode of the 64-bit immediate load (`lddw`), which spans two instruction slots.
pub const LD_IMM64: u8 = BPF_LD | BPF_DW | BPF_IMM;
