//! `fsession-lab oracle [DIR...]`: the model against captures of real kernels (the
//! kernel-oracle format): one line per capture, `N passed, N failed, N skipped`.

use super::{CmdError, CmdResult};
use fsession_core::kernel::profile::Profile;
use fsession_core::oracle::{
    check_capture, profile_for_release, release_from_uname, render_difference, render_verdict, CaptureKind,
    KernelContext, OracleError, Verdict,
};
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Arguments of `oracle`.
#[derive(clap::Args)]
pub struct Args {
    /// Capture directories (a kernel's directory holding trampolines/, xlated/, jit/ and
    /// env.json, or a directory above several), or single capture files. Default:
    /// $FSESSION_ORACLE_DIR, else ../shared/kernel-oracle.
    paths: Vec<PathBuf>,
    /// Check every capture under this profile (shipped name or file) instead of the one named
    /// by the capture's kernel release.
    #[arg(long)]
    profile: Option<String>,
    /// Print the results as JSON.
    #[arg(long)]
    json: bool,
}

/// Where the captures are by default, if anywhere.
fn default_oracle_dir() -> Option<PathBuf> {
    if let Ok(d) = std::env::var("FSESSION_ORACLE_DIR") {
        return Some(PathBuf::from(d));
    }
    [
        PathBuf::from("../shared/kernel-oracle"),
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/kernel-oracle"),
    ]
    .into_iter()
    .find(|p| p.is_dir())
}

/// Why captures could not be found or a kernel's profile not named.
#[derive(Debug, thiserror::Error)]
pub enum OracleCmdError {
    /// A directory or file could not be read.
    #[error("{}: {source}", path.display())]
    Read {
        /// The path.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// A capture file outside a trampolines/, xlated/ or jit/ directory.
    #[error("{}: a capture file sits in a trampolines/, xlated/ or jit/ directory", path.display())]
    NotInCaptureDir {
        /// The file.
        path: PathBuf,
    },
    /// A path that does not exist.
    #[error("{}: no such file or directory", path.display())]
    Missing {
        /// The path.
        path: PathBuf,
    },
    /// env.json could not be read (it names the kernel).
    #[error("{}: {message} (it names the kernel; or pass --profile)", path.display())]
    Env {
        /// The file.
        path: PathBuf,
        /// The reader's or JSON parser's message.
        message: String,
    },
    /// env.json's `uname` has no release.
    #[error("{}: no release in uname '{uname}'", path.display())]
    NoRelease {
        /// The file.
        path: PathBuf,
        /// What `uname` says.
        uname: String,
    },
    /// The release names no shipped profile.
    #[error(transparent)]
    Profile(#[from] OracleError),
}

/// One capture file: its kind (from its directory) and the kernel directory it belongs to.
struct CaptureFile {
    path: PathBuf,
    kind: CaptureKind,
    kernel_dir: PathBuf,
}

fn json_files(dir: &Path) -> Result<Vec<PathBuf>, OracleCmdError> {
    let rd = std::fs::read_dir(dir).map_err(|source| OracleCmdError::Read {
        path: dir.to_path_buf(),
        source,
    })?;
    let mut v: Vec<PathBuf> = rd
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|f| f.is_file() && f.extension().is_some_and(|x| x == "json"))
        .collect();
    v.sort();
    Ok(v)
}

fn kind_of_dir(dir: &Path) -> Option<CaptureKind> {
    dir.file_name().and_then(|n| n.to_str()).and_then(CaptureKind::from_dir)
}

/// Every capture under `root`: the JSON files of each trampolines/, xlated/ and jit/ directory.
fn collect(root: &Path, out: &mut Vec<CaptureFile>) -> Result<(), OracleCmdError> {
    if root.is_file() {
        let dir = root.parent().unwrap_or(Path::new("."));
        let kind = kind_of_dir(dir).ok_or_else(|| OracleCmdError::NotInCaptureDir {
            path: root.to_path_buf(),
        })?;
        out.push(CaptureFile {
            path: root.to_path_buf(),
            kind,
            kernel_dir: dir.parent().unwrap_or(Path::new(".")).to_path_buf(),
        });
        return Ok(());
    }
    if !root.is_dir() {
        return Err(OracleCmdError::Missing {
            path: root.to_path_buf(),
        });
    }
    if let Some(kind) = kind_of_dir(root) {
        for path in json_files(root)? {
            out.push(CaptureFile {
                path,
                kind,
                kernel_dir: root.parent().unwrap_or(Path::new(".")).to_path_buf(),
            });
        }
        return Ok(());
    }
    let rd = std::fs::read_dir(root).map_err(|source| OracleCmdError::Read {
        path: root.to_path_buf(),
        source,
    })?;
    let mut dirs: Vec<PathBuf> = rd
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort_by_key(|d| (kind_of_dir(d).is_none(), d.clone()));
    for d in dirs {
        collect(&d, out)?;
    }
    Ok(())
}

/// A kernel directory's profile (from env.json's `uname`, unless forced) and context.
struct Kernel {
    profile: Result<Profile, OracleCmdError>,
    context: KernelContext,
}

#[derive(serde::Deserialize)]
struct Env {
    uname: String,
}

/// The shipped profile named by a capture run's env.json.
fn kernel_profile(env: &Path) -> Result<Profile, OracleCmdError> {
    let bad = |message: String| OracleCmdError::Env {
        path: env.to_path_buf(),
        message,
    };
    let text = std::fs::read_to_string(env).map_err(|e| bad(e.to_string()))?;
    let e: Env = serde_json::from_str(&text).map_err(|e| bad(e.to_string()))?;
    let release = release_from_uname(&e.uname).ok_or_else(|| OracleCmdError::NoRelease {
        path: env.to_path_buf(),
        uname: e.uname.clone(),
    })?;
    Ok(profile_for_release(release)?)
}

fn kernel(dir: &Path, forced: Option<&Profile>) -> Kernel {
    let profile = match forced {
        Some(p) => Ok(p.clone()),
        None => kernel_profile(&dir.join("env.json")),
    };
    let texts: Vec<String> = json_files(&dir.join("trampolines"))
        .unwrap_or_default()
        .iter()
        .filter_map(|p| std::fs::read_to_string(p).ok())
        .collect();
    Kernel {
        profile,
        context: KernelContext::from_trampolines(texts.iter().map(String::as_str)),
    }
}

/// One capture's result.
#[derive(Serialize)]
struct Checked {
    path: String,
    kind: CaptureKind,
    profile: Option<String>,
    #[serde(flatten)]
    result: Outcome,
}

#[derive(Serialize)]
#[serde(untagged)]
enum Outcome {
    Verdict(Verdict),
    Error { status: &'static str, error: String },
}

#[derive(Serialize)]
struct Summary {
    captures: Vec<Checked>,
    passed: usize,
    failed: usize,
    skipped: usize,
}

fn shown(path: &Path, roots: &[PathBuf]) -> String {
    for r in roots {
        let base = if r.is_file() {
            r.parent().unwrap_or(r)
        } else {
            r.as_path()
        };
        if let Ok(rel) = path.strip_prefix(base) {
            if !rel.as_os_str().is_empty() {
                return rel.display().to_string();
            }
        }
    }
    path.display().to_string()
}

fn check_one(f: &CaptureFile, k: &Kernel) -> (Option<String>, Outcome) {
    let profile = match &k.profile {
        Ok(p) => p,
        Err(e) => {
            return (
                None,
                Outcome::Error {
                    status: "error",
                    error: e.to_string(),
                },
            )
        }
    };
    let name = f.path.file_name().and_then(|n| n.to_str()).unwrap_or("");
    let result = std::fs::read_to_string(&f.path)
        .map_err(|e| e.to_string())
        .and_then(|text| {
            check_capture(f.kind, name, &text, profile, &k.context).map_err(|e: OracleError| e.to_string())
        });
    let outcome = match result {
        Ok(v) => Outcome::Verdict(v),
        Err(error) => Outcome::Error { status: "error", error },
    };
    (Some(profile.name.clone()), outcome)
}

/// Checks every capture and prints a line for each, with the aligned listing of a difference.
pub fn run(args: Args) -> CmdResult {
    let roots = if args.paths.is_empty() {
        vec![default_oracle_dir().ok_or(CmdError::NothingFound(
            "no kernel-oracle captures found; pass DIR or set FSESSION_ORACLE_DIR",
        ))?]
    } else {
        args.paths.clone()
    };
    let forced = args
        .profile
        .as_deref()
        .map(|p| super::profiles::load(p, None))
        .transpose()?;
    let mut files = Vec::new();
    for r in &roots {
        collect(r, &mut files)?;
    }
    if files.is_empty() {
        return Err(CmdError::NothingFound(
            "no captures found (trampolines/, xlated/ or jit/ directories of .json files)",
        ));
    }
    let mut kernels: BTreeMap<PathBuf, Kernel> = BTreeMap::new();
    let mut summary = Summary {
        captures: Vec::new(),
        passed: 0,
        failed: 0,
        skipped: 0,
    };
    for f in &files {
        let k = kernels
            .entry(f.kernel_dir.clone())
            .or_insert_with(|| kernel(&f.kernel_dir, forced.as_ref()));
        let (profile, result) = check_one(f, k);
        match &result {
            Outcome::Verdict(Verdict::Ok(_)) => summary.passed += 1,
            Outcome::Verdict(Verdict::Skipped(_)) => summary.skipped += 1,
            _ => summary.failed += 1,
        }
        let path = shown(&f.path, &roots);
        if !args.json {
            let p = profile.as_deref().unwrap_or("?");
            match &result {
                Outcome::Verdict(v) => {
                    println!("{path} [{p}]: {}", render_verdict(v));
                    if let Verdict::Differs(d) = v {
                        print!("{}", render_difference(d));
                    }
                }
                Outcome::Error { error, .. } => println!("{path} [{p}]: ERROR: {error}"),
            }
        }
        summary.captures.push(Checked {
            path,
            kind: f.kind,
            profile,
            result,
        });
    }
    if args.json {
        println!("{}", serde_json::to_string_pretty(&summary)?);
    } else {
        println!(
            "{} passed, {} failed, {} skipped",
            summary.passed, summary.failed, summary.skipped
        );
    }
    Ok(if summary.failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
