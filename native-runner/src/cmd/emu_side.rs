//! The executor's side of `validate`, on every target: a scenario file run in the x86-64
//! executor of fsession-core, and the seeded random scenarios of `--random`.

use super::{load_scenario, CmdError};
#[cfg(target_arch = "x86_64")]
use fsession_core::emu::diff::Side;
use fsession_core::emu::run::{run, EmuError, EmuOptions, EmuReport};
use std::path::{Path, PathBuf};

/// Which engines `validate` runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Engine {
    /// This machine's CPU (x86-64), each scenario in a child process.
    Hw,
    /// The executor in fsession-core.
    Emu,
    /// Both, and their observations compared.
    Both,
}

impl Engine {
    /// The default: both on x86-64, the executor elsewhere.
    pub fn default_here() -> Engine {
        if cfg!(target_arch = "x86_64") {
            Engine::Both
        } else {
            Engine::Emu
        }
    }
}

/// Why the executor could not run a scenario.
#[derive(Debug, thiserror::Error)]
pub enum EmuFailure {
    /// The file or its profile.
    #[error(transparent)]
    Load(#[from] CmdError),
    /// The executor's own error.
    #[error(transparent)]
    Run(#[from] EmuError),
}

/// Runs a scenario file in the executor (`jit`: the programs as their JIT images, as on
/// hardware; else in the interpreter).
pub fn run_file(path: &Path, profile: Option<&str>, jit: bool) -> Result<EmuReport, EmuFailure> {
    let (s, text, prof) = load_scenario(path, profile)?;
    let opts = EmuOptions {
        jit,
        ..EmuOptions::default()
    };
    Ok(run(&s, &text, &prof, opts)?)
}

/// The executor's run as the comparison with hardware reads it.
#[cfg(target_arch = "x86_64")]
pub fn side(r: &EmuReport) -> Side<'_> {
    Side {
        func: r.func_addr,
        data: r.data_area.0,
        data_len: r.data_area.1,
        calls: &r.calls,
        observations: &r.observations,
        map_words: &r.data,
        counters: &r.counters,
        tramp_calls: r.tramp_calls,
        faulted: r.fault.is_some(),
    }
}

/// Writes `n` random scenarios from `seed` on into a new directory; returns their paths.
pub fn write_random(n: u64, seed: u64) -> Result<(PathBuf, Vec<PathBuf>), CmdError> {
    let dir = std::env::temp_dir().join(format!("fsession-random-{}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|source| CmdError::Read {
        path: dir.clone(),
        source,
    })?;
    let mut files = vec![];
    for k in seed..seed.saturating_add(n) {
        let g = fsession_core::emu::random::scenario(k);
        let p = dir.join(format!("random-{k}.toml"));
        std::fs::write(&p, g.text).map_err(|source| CmdError::Read {
            path: p.clone(),
            source,
        })?;
        files.push(p);
    }
    Ok((dir, files))
}

/// The scenario files under `paths` (directories: their `.toml` files, sorted).
pub fn scenario_files(paths: Vec<PathBuf>) -> Result<Vec<PathBuf>, CmdError> {
    let mut files = vec![];
    for p in paths {
        if p.is_dir() {
            let mut v: Vec<PathBuf> = std::fs::read_dir(&p)
                .map_err(|source| CmdError::Read {
                    path: p.clone(),
                    source,
                })?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|f| f.extension().is_some_and(|x| x == "toml"))
                .collect();
            v.sort();
            files.extend(v);
        } else {
            files.push(p);
        }
    }
    Ok(files)
}

/// `validate --engine emu`: every scenario in the executor, checked against its expectations.
pub fn validate_in_executor(files: &[PathBuf], profile: Option<&str>, jit: bool) -> (usize, usize) {
    let mut failed = 0;
    for (i, f) in files.iter().enumerate() {
        let problems: Vec<String> = match run_file(f, profile, jit) {
            Ok(r) => r.problems.iter().map(|p| format!("executor: {p}")).collect(),
            Err(e) => vec![format!("executor: {e}")],
        };
        println!(
            "[{}/{}] {} {}",
            i + 1,
            files.len(),
            if problems.is_empty() { "PASS" } else { "FAIL" },
            f.display()
        );
        for p in &problems {
            println!("    - {p}");
        }
        failed += usize::from(!problems.is_empty());
    }
    (files.len() - failed, failed)
}
