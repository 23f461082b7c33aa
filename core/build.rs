//! Copies the shipped profiles into OUT_DIR without their comment lines: the comments document
//! each choice in `core/profiles/*.toml`; the parsed profiles (and the wasm build that embeds
//! them) do not need them.

fn main() {
    let out = std::env::var("OUT_DIR").expect("cargo sets OUT_DIR");
    for name in [
        "linux-6.12",
        "linux-6.18",
        "linux-7.0",
        "fsession-v9",
        "fsession-v9-patch05",
    ] {
        let src = format!("profiles/{name}.toml");
        println!("cargo:rerun-if-changed={src}");
        let text = std::fs::read_to_string(&src).unwrap_or_else(|e| panic!("{src}: {e}"));
        let kept: String = text
            .lines()
            .filter(|l| !l.trim_start().starts_with('#'))
            .map(|l| format!("{l}\n"))
            .collect();
        std::fs::write(format!("{out}/{name}.toml"), kept).unwrap_or_else(|e| panic!("{out}/{name}.toml: {e}"));
    }
}
