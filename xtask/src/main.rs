//! `cargo xtask build` builds the playground into `dist/`; `cargo xtask serve [PORT]` builds it
//! and serves it on 127.0.0.1, printing the URL. Tools are installed at pinned versions into
//! `.tools/` by this program (no binary downloads): the wasm32 target through rustup and
//! wasm-bindgen-cli 0.2.130 (equal to the wasm-bindgen crate in Cargo.lock) through cargo.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Command;

const WASM_BINDGEN: &str = "0.2.130";

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn run(cmd: &mut Command) -> Result<(), String> {
    let st = cmd.status().map_err(|e| format!("{cmd:?}: {e}"))?;
    if st.success() {
        Ok(())
    } else {
        Err(format!("{cmd:?} failed: {st}"))
    }
}

fn ensure_tools() -> Result<PathBuf, String> {
    let out = Command::new("rustup")
        .args(["target", "list", "--installed"])
        .output()
        .map_err(|e| format!("rustup: {e}"))?;
    if !String::from_utf8_lossy(&out.stdout)
        .lines()
        .any(|l| l.trim() == "wasm32-unknown-unknown")
    {
        run(Command::new("rustup").args(["target", "add", "wasm32-unknown-unknown"]))?;
    }
    let tools = root().join(".tools");
    let wb = tools.join("bin/wasm-bindgen");
    let version_ok = Command::new(&wb)
        .arg("--version")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).contains(WASM_BINDGEN));
    if !version_ok {
        eprintln!(
            "installing wasm-bindgen-cli {WASM_BINDGEN} into {} (once, about 2 minutes)",
            tools.display()
        );
        run(Command::new("cargo")
            .args([
                "install",
                "wasm-bindgen-cli",
                "--version",
                WASM_BINDGEN,
                "--no-default-features",
                "--root",
            ])
            .arg(&tools))?;
    }
    Ok(wb)
}

/// Debian's binaryen `wasm-opt`, installed with apt on first use where it is missing.
fn ensure_wasm_opt() -> Result<PathBuf, String> {
    let found = |c: &str| {
        Command::new(c)
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success())
    };
    if !found("wasm-opt") {
        eprintln!("installing Debian's binaryen (wasm-opt), once");
        let root = Command::new("id")
            .arg("-u")
            .output()
            .is_ok_and(|o| o.stdout.starts_with(b"0\n"));
        let apt = |args: &[&str]| {
            let mut c = if root {
                Command::new("apt-get")
            } else {
                Command::new("sudo")
            };
            if !root {
                c.arg("apt-get");
            }
            c.env("DEBIAN_FRONTEND", "noninteractive").args(args);
            run(&mut c)
        };
        apt(&["update", "-qq"])?;
        apt(&["install", "-y", "-qq", "binaryen"])?;
    }
    if found("wasm-opt") {
        Ok(PathBuf::from("wasm-opt"))
    } else {
        Err("wasm-opt (Debian package binaryen) is needed and could not be installed".into())
    }
}

fn gzip_size(data: &[u8]) -> Option<usize> {
    let mut child = Command::new("gzip")
        .args(["-9", "-c"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .ok()?;
    // Feed stdin from a thread while reading stdout, so neither pipe fills up.
    let mut stdin = child.stdin.take()?;
    let data = data.to_vec();
    let writer = std::thread::spawn(move || stdin.write_all(&data));
    let out = child.wait_with_output().ok()?;
    writer.join().ok()?.ok()?;
    Some(out.stdout.len())
}

/// Builds `dist/` and returns its path.
fn build() -> Result<PathBuf, String> {
    let wb = ensure_tools()?;
    let r = root();
    run(Command::new("cargo")
        .current_dir(&r)
        .env("CARGO_PROFILE_RELEASE_DEBUG", "0")
        // Size over speed for the download (with the name section, before it was removed):
        // 599,595 B gzipped at opt-level 3, 580,558 at "s",
        // 575,672 at "z" (measured 2026-11-26); edit timings in the browser were alike.
        // With explanations from iced-x86's InstructionInfoFactory (2026-12-02): 598,395 B at
        // "s" (609,931 by zlib -9, over the 600 KB budget), 552,279 at "z"; web/e2e/bench.mjs
        // measured both side by side within each other's range (BENCHMARKS.md).
        .env("CARGO_PROFILE_RELEASE_OPT_LEVEL", "z")
        .args([
            "build",
            "-p",
            "fsession-web",
            "--release",
            "--target",
            "wasm32-unknown-unknown",
        ]))?;
    let dist = r.join("dist");
    std::fs::create_dir_all(&dist).map_err(|e| e.to_string())?;
    // Binaryen before wasm-bindgen (binaryen 108 cannot read the `table.fill` wasm-bindgen
    // emits). -O1 with duplicate-function elimination, measured 2026-12-04 on the module with
    // the executor: 601,545 B by zlib -9 without, 598,122 B with; -Oz and -Os shrink the raw
    // module more but compress worse (656,950 and 655,794 B).
    let built = r.join("target/wasm32-unknown-unknown/release/fsession_web.wasm");
    let optimized = r.join("target/wasm32-unknown-unknown/release/fsession_web.opt.wasm");
    run(Command::new(ensure_wasm_opt()?)
        .args([
            "-O1",
            "--duplicate-function-elimination",
            "--strip-debug",
            "--strip-producers",
            "--enable-bulk-memory",
            "--enable-sign-ext",
            "--enable-nontrapping-float-to-int",
            "--enable-reference-types",
            "--enable-mutable-globals",
            "--enable-multivalue",
        ])
        .arg(&built)
        .arg("-o")
        .arg(&optimized))?;
    run(Command::new(&wb)
        // The name section only serves debuggers; without it the download is smaller.
        .args([
            "--target",
            "web",
            "--no-typescript",
            "--remove-name-section",
            "--remove-producers-section",
        ])
        .args(["--out-name", "web", "--out-dir"])
        .arg(&dist)
        .arg(&optimized))?;
    // The pages (at the repository root) and the widget's static files (web/static).
    for page in ["index.html", "embed.html"] {
        std::fs::copy(r.join(page), dist.join(page)).map_err(|e| format!("{page}: {e}"))?;
    }
    let static_dir = r.join("web/static");
    for entry in std::fs::read_dir(&static_dir).map_err(|e| format!("{}: {e}", static_dir.display()))? {
        let path = entry.map_err(|e| e.to_string())?.path();
        if path.is_file() {
            let name = path.file_name().expect("a file has a name");
            std::fs::copy(&path, dist.join(name)).map_err(|e| format!("{}: {e}", path.display()))?;
        }
    }
    let wasm = std::fs::read(dist.join("web_bg.wasm")).map_err(|e| e.to_string())?;
    match gzip_size(&wasm) {
        Some(gz) => println!(
            "built {}: web_bg.wasm {} bytes, {} bytes gzipped",
            dist.display(),
            wasm.len(),
            gz
        ),
        None => println!("built {}: web_bg.wasm {} bytes", dist.display(), wasm.len()),
    }
    Ok(dist)
}

fn content_type(p: &Path) -> &'static str {
    match p.extension().and_then(|e| e.to_str()) {
        Some("html") => "text/html; charset=utf-8",
        Some("js") => "text/javascript",
        Some("wasm") => "application/wasm",
        Some("css") => "text/css",
        _ => "application/octet-stream",
    }
}

/// A minimal static file server for `dist/` on 127.0.0.1.
fn serve(dist: &Path, port: u16) -> Result<(), String> {
    let listener = TcpListener::bind(("127.0.0.1", port)).map_err(|e| format!("127.0.0.1:{port}: {e}"))?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    println!("fsession-lab playground: http://{addr}/");
    let _ = std::io::stdout().flush();
    for stream in listener.incoming() {
        let Ok(mut s) = stream else { continue };
        let mut buf = [0u8; 4096];
        let n = s.read(&mut buf).unwrap_or(0);
        let req = String::from_utf8_lossy(&buf[..n]);
        let path = req
            .split_whitespace()
            .nth(1)
            .unwrap_or("/")
            .split(['?', '#'])
            .next()
            .unwrap_or("/")
            .to_string();
        let rel = if path == "/" {
            "index.html".to_string()
        } else {
            path.trim_start_matches('/').to_string()
        };
        let file = dist.join(&rel);
        let ok = !rel.contains("..") && file.is_file();
        let (status, body, ctype) = if ok {
            ("200 OK", std::fs::read(&file).unwrap_or_default(), content_type(&file))
        } else {
            ("404 Not Found", b"not found".to_vec(), "text/plain")
        };
        let head = format!("HTTP/1.1 {status}\r\nContent-Type: {ctype}\r\nContent-Length: {}\r\nCache-Control: no-cache\r\nConnection: close\r\n\r\n", body.len());
        let _ = s.write_all(head.as_bytes());
        let _ = s.write_all(&body);
    }
    Ok(())
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let res = match args.first().map(String::as_str) {
        Some("build") => build().map(|_| ()),
        Some("serve") | None => {
            let port = args.get(1).and_then(|p| p.parse().ok()).unwrap_or(8080);
            build().and_then(|d| serve(&d, port))
        }
        Some(other) => Err(format!("unknown task '{other}' (build, serve [PORT])")),
    };
    if let Err(e) = res {
        eprintln!("xtask: {e}");
        std::process::exit(1);
    }
}
