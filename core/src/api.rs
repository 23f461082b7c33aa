//! A JSON-in, JSON-out API over the pipeline, the same natively and in the wasm build, so a host
//! can ask either for the same answer and compare them byte for byte.
//!
//! Requests (`{"op": ...}`):
//! - `{"op": "fixups", "scenario": TOML text, "profile": Profile}` →
//!   `{"fixed": {program: hex of the fixed instructions}, "errors": {program: message}}`
//! - `{"op": "encode", "spec": TrampolineSpec}` →
//!   `{"bytes": hex, "layout": FrameLayout, "invocations": [...]}` or `{"error": message}`

use crate::kernel::profile::Profile;
use crate::scenario::{check, Scenario};
use crate::tramp::{encode_bytes, TrampolineSpec};
use serde::Deserialize;
use serde_json::{json, Value};
use std::collections::BTreeMap;

#[derive(Deserialize)]
#[serde(tag = "op", rename_all = "lowercase")]
enum Request {
    Fixups { scenario: String, profile: Profile },
    Encode { spec: TrampolineSpec },
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// Answers one request (errors are answers too: `{"error": ...}`).
pub fn handle_json(input: &str) -> String {
    let req: Request = match serde_json::from_str(input) {
        Ok(r) => r,
        Err(e) => return json!({ "error": format!("bad request: {e}") }).to_string(),
    };
    let v: Value = match req {
        Request::Fixups { scenario, profile } => match Scenario::parse(&scenario) {
            Err(e) => json!({ "error": e.to_string() }),
            Ok(s) => match check(&s, &scenario, &profile) {
                Err(e) => json!({ "error": e.to_string() }),
                Ok(r) => {
                    let mut fixed = BTreeMap::new();
                    let mut errors = BTreeMap::new();
                    for p in &r.programs {
                        match (&p.fixed, &p.verified) {
                            (Some(f), _) => {
                                fixed.insert(p.name.clone(), hex(&crate::isa::encode(&f.insns)));
                            }
                            (None, Some(Err(e))) => {
                                errors.insert(p.name.clone(), e.to_string());
                            }
                            _ => {}
                        }
                    }
                    json!({ "fixed": fixed, "errors": errors })
                }
            },
        },
        Request::Encode { spec } => match encode_bytes(&spec) {
            Ok(e) => json!({ "bytes": hex(&e.bytes), "layout": e.layout, "invocations": e.invocations }),
            Err(e) => json!({ "error": e.to_string() }),
        },
    };
    v.to_string()
}
