//! The whole pipeline for one scenario: check (verify, fix up, attach), build the encoder's
//! input, encode the trampoline, list it and check the contract. What `fsession-lab show` prints
//! and the playground displays.

use crate::kernel::profile::Profile;
use crate::scenario::{check, CheckReport, Scenario, ScenarioError};
use crate::tramp::build::{spec_for, Placement};
use crate::tramp::contract::{self, Contract};
use crate::tramp::listing::{listing, AsmSyntax, Line};
use crate::tramp::{encode, EncodeError, Encoded, TrampolineSpec};
use serde::Serialize;

/// Everything `show` reports.
#[derive(Clone, Debug, Serialize)]
pub struct ShowReport {
    /// Verifier, fixups and accounting.
    pub check: CheckReport,
    /// The encoder's input.
    pub spec: TrampolineSpec,
    /// The trampoline, or why there is none.
    pub encoded: Result<Encoded, EncodeError>,
    /// The annotated listing (empty without a trampoline).
    pub listing: Vec<Line>,
    /// The contract check (no lines without a trampoline).
    pub contract: Contract,
    /// Problems: the check's, an unexpected encoder error, a contract violation not expected.
    pub problems: Vec<String>,
}

impl ShowReport {
    /// True when nothing unexpected happened.
    pub fn ok(&self) -> bool {
        self.problems.is_empty()
    }
}

/// Runs the pipeline.
pub fn show(
    s: &Scenario,
    text: &str,
    profile: &Profile,
    place: &Placement,
    syntax: AsmSyntax,
) -> Result<ShowReport, ScenarioError> {
    let report = check(s, text, profile)?;
    let spec = spec_for(&report, place);
    let mut problems = report.problems.clone();
    let (encoded, listing_lines, contract) = if report.trampoline.is_empty() {
        let e = EncodeError {
            errno: crate::errno::Errno::ENOENT,
            message: "no program is attached: the function is not traced".into(),
        };
        (Err(e), vec![], Contract { lines: vec![] })
    } else {
        match encode(&spec) {
            Ok(enc) => {
                let lines = listing(&enc, place.image, syntax).unwrap_or_else(|e| {
                    problems.push(format!("listing: {e}"));
                    vec![]
                });
                let c = contract::check(&enc, &report.profile.verifier_meta, &report.profile.name);
                (Ok(enc), lines, c)
            }
            Err(e) => {
                if s.expect
                    .encode_error
                    .as_deref()
                    .is_none_or(|w| !w.eq_ignore_ascii_case(e.errno.name()))
                {
                    problems.push(format!("trampoline: {e}"));
                }
                (Err(e), vec![], Contract { lines: vec![] })
            }
        }
    };
    if let (Some(w), Ok(_)) = (&s.expect.encode_error, &encoded) {
        problems.push(format!("trampoline: expected {w}, it encoded"));
    }
    let violated = !contract.holds();
    if violated && !s.expect.contract_violation {
        problems.extend(
            contract
                .lines
                .iter()
                .flat_map(|l| l.problems.iter().map(|p| format!("contract: {p}"))),
        );
    }
    if !violated && s.expect.contract_violation && encoded.is_ok() {
        problems.push("contract: expected a violation, the contract holds".into());
    }
    Ok(ShowReport {
        check: report,
        spec,
        encoded,
        listing: listing_lines,
        contract,
        problems,
    })
}
