//! A JSON-in, JSON-out API over the pipeline, the same natively and in the wasm build, so a host
//! can ask either for the same answer and compare them. Requests and answers are serde types on
//! both sides ([`Request`], [`Answer`]); [`answer`] is the typed call, [`handle_json`] the same
//! over JSON text (what the wasm module exports).

use crate::asm::Syntax;
use crate::explain;
use crate::kernel::profile::Profile;
use crate::scenario::{check, Scenario};
use crate::show::{render, show};
use crate::tramp::build::Placement;
use crate::tramp::layout::FrameLayout;
use crate::tramp::listing::{AsmSyntax, X86Format};
use crate::tramp::{encode_bytes, Invocation, TrampolineSpec};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// A request.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "lowercase")]
pub enum Request {
    /// The programs of a scenario after the verifier's fixups.
    Fixups {
        /// The scenario (TOML text).
        scenario: String,
        /// The profile.
        profile: Profile,
    },
    /// A trampoline's bytes.
    Encode {
        /// The encoder's input.
        spec: TrampolineSpec,
    },
    /// Everything the views render for a scenario, as text: the frame, the annotated listing in
    /// both syntaxes with bytes, the programs after fixups in both BPF syntaxes, `ctx[-1]` per
    /// program and pass, the contract check, every instruction's explanation, the Markdown.
    Render {
        /// The scenario (TOML text).
        scenario: String,
        /// The profile.
        profile: Profile,
    },
}

/// The fixed programs of a scenario.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FixupsAnswer {
    /// Per program, its fixed instructions (8-byte slots, little-endian).
    pub fixed: BTreeMap<String, Vec<u8>>,
    /// Per program the verifier refused, why.
    pub errors: BTreeMap<String, crate::kernel::verifier::VerifierError>,
}

/// An encoded trampoline.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EncodeAnswer {
    /// The machine code.
    pub bytes: Vec<u8>,
    /// The frame.
    pub layout: FrameLayout,
    /// Every program invocation, in execution order.
    pub invocations: Vec<Invocation>,
}

/// The rendered texts of a scenario.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RenderAnswer {
    /// `show` in Intel syntax, with bytes.
    pub intel: String,
    /// `show` in AT&T syntax, with bytes.
    pub att: String,
    /// Each program after fixups, in the kernel's and the conformance suite's syntax.
    pub programs: BTreeMap<String, (String, String)>,
    /// The explanation of every listing line, in Intel and AT&T syntax.
    pub explanations: Vec<(String, String)>,
    /// The explanation of every instruction of every program, before and after fixups.
    pub program_explanations: BTreeMap<String, Vec<String>>,
    /// **Copy as Markdown**.
    pub markdown: String,
}

/// An answer (errors are answers too).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "answer", rename_all = "lowercase")]
pub enum Answer {
    /// To [`Request::Fixups`].
    Fixups(FixupsAnswer),
    /// To [`Request::Encode`].
    Encode(EncodeAnswer),
    /// To [`Request::Render`].
    Render(RenderAnswer),
    /// The request could not be answered.
    Error {
        /// Why.
        error: ApiError,
    },
}

/// Why a request could not be answered.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ApiError {
    /// The scenario does not parse or check.
    #[error(transparent)]
    Scenario(#[from] crate::scenario::ScenarioError),
    /// The trampoline spec does not encode.
    #[error(transparent)]
    Encode(#[from] crate::tramp::EncodeError),
    /// The request is not a [`Request`] (the JSON parser's message).
    #[error("bad request: {message}")]
    BadRequest {
        /// What the JSON parser said.
        message: String,
    },
}

fn error(e: impl Into<ApiError>) -> Answer {
    Answer::Error { error: e.into() }
}

fn fixups(scenario: &str, profile: &Profile) -> Answer {
    let s = match Scenario::parse(scenario) {
        Ok(s) => s,
        Err(e) => return error(e),
    };
    let r = match check(&s, scenario, profile) {
        Ok(r) => r,
        Err(e) => return error(e),
    };
    let mut a = FixupsAnswer {
        fixed: BTreeMap::new(),
        errors: BTreeMap::new(),
    };
    for p in &r.programs {
        match (&p.fixed, &p.verified) {
            (Some(f), _) => {
                a.fixed.insert(p.name.clone(), crate::isa::encode(&f.insns));
            }
            (None, Some(Err(e))) => {
                a.errors.insert(p.name.clone(), e.clone());
            }
            _ => {}
        }
    }
    Answer::Fixups(a)
}

fn rendered(scenario: &str, profile: &Profile) -> Answer {
    let s = match Scenario::parse(scenario) {
        Ok(s) => s,
        Err(e) => return error(e),
    };
    let place = Placement::default();
    let (ri, ra) = match (
        show(&s, scenario, profile, &place, AsmSyntax::Intel),
        show(&s, scenario, profile, &place, AsmSyntax::Att),
    ) {
        (Ok(i), Ok(a)) => (i, a),
        (Err(e), _) | (_, Err(e)) => return error(e),
    };
    let (intel, att, markdown) = (render(&ri, true), render(&ra, true), crate::show::markdown(&ri));
    let mut fmt = X86Format::new();
    let image = ri.spec.addrs.image;
    let explanations = ri
        .listing
        .iter()
        .map(|l| {
            (
                explain::x86_line(l, image, AsmSyntax::Intel, &mut fmt),
                explain::x86_line(l, image, AsmSyntax::Att, &mut fmt),
            )
        })
        .collect();
    let r = match check(&s, scenario, profile) {
        Ok(r) => r,
        Err(e) => return error(e),
    };
    let mut programs = BTreeMap::new();
    let mut program_explanations = BTreeMap::new();
    let explained = |insns: &[crate::isa::Insn]| -> Vec<String> {
        crate::isa::decode_program_internal(insns)
            .map(|v| v.iter().map(|(i, x)| explain::bpf(x, *i)).collect())
            .unwrap_or_default()
    };
    for p in &r.programs {
        let mut e = explained(&p.program.insns);
        if let Some(f) = &p.fixed {
            let text = |syntax| crate::asm::disassemble_numbered(&f.insns, syntax).unwrap_or_else(|e| e.to_string());
            programs.insert(p.name.clone(), (text(Syntax::Kernel), text(Syntax::Conformance)));
            e.extend(explained(&f.insns));
        }
        program_explanations.insert(p.name.clone(), e);
    }
    Answer::Render(RenderAnswer {
        intel,
        att,
        programs,
        explanations,
        program_explanations,
        markdown,
    })
}

/// Answers one request.
pub fn answer(req: &Request) -> Answer {
    match req {
        Request::Fixups { scenario, profile } => fixups(scenario, profile),
        Request::Encode { spec } => match encode_bytes(spec) {
            Ok(e) => Answer::Encode(EncodeAnswer {
                bytes: e.bytes,
                layout: e.layout,
                invocations: e.invocations,
            }),
            Err(e) => error(e),
        },
        Request::Render { scenario, profile } => rendered(scenario, profile),
    }
}

/// [`answer`] over JSON text: a [`Request`] in, an [`Answer`] out.
pub fn handle_json(input: &str) -> String {
    let a = match serde_json::from_str::<Request>(input) {
        Ok(r) => answer(&r),
        Err(e) => error(ApiError::BadRequest { message: e.to_string() }),
    };
    serde_json::to_string(&a).unwrap_or_else(|e| {
        // An answer that does not serialise is answered as a bad request, which does.
        let message = e.to_string();
        serde_json::to_string(&error(ApiError::BadRequest { message })).unwrap_or_default()
    })
}
