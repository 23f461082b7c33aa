//! The playground's state and its URL-fragment encoding. Every version stays decodable (a test
//! per version):
//! - `v1.` + base64url(JSON);
//! - `v2.` + base64url(raw DEFLATE(JSON)), what links are written in now: the default
//!   scenario's link is about a third of its v1 length.

use fsession_core::kernel::profile::{Mitigations, TrampolineMode};
use serde::{Deserialize, Serialize};

/// Everything the page shows is a function of this.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct State {
    /// The scenario (TOML).
    #[serde(rename = "s")]
    pub scenario: String,
    /// Profile override ("" = the scenario's).
    #[serde(rename = "p", default)]
    pub profile: String,
    /// AT&T syntax for the listing (else Intel).
    #[serde(rename = "a", default)]
    pub att: bool,
    /// Show instruction bytes.
    #[serde(rename = "b", default = "yes")]
    pub bytes: bool,
    /// A second profile to compare with, side by side ("" = the same profile; no comparison
    /// when `compare_scenario` is empty too).
    #[serde(rename = "c", default, skip_serializing_if = "String::is_empty")]
    pub compare: String,
    /// A second scenario to compare with ("" = the same scenario). Since v2.
    #[serde(rename = "cs", default, skip_serializing_if = "String::is_empty")]
    pub compare_scenario: String,
    /// Trampoline mode override (`None`: the scenario's, else the profile's); in the link
    /// `"call"` or `"jmp"` (`""` reads as none). Since v2.
    #[serde(
        rename = "m",
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "mode_or_empty"
    )]
    pub mode: Option<TrampolineMode>,
    /// Mitigations override (`None` = the profile's). Since v2.
    #[serde(rename = "g", default, skip_serializing_if = "Option::is_none")]
    pub mitigations: Option<Mitigations>,
    /// Show BPF programs in the conformance suite's syntax (else the kernel's). Since v2.
    #[serde(rename = "y", default, skip_serializing_if = "std::ops::Not::not")]
    pub conformance: bool,
}

impl State {
    /// Whether a comparison is shown.
    pub fn comparing(&self) -> bool {
        !self.compare.is_empty() || !self.compare_scenario.is_empty()
    }

    /// The state of the compared side: the other scenario (if any) under the other profile
    /// (if any), with the same display options.
    pub fn compared(&self) -> Option<State> {
        self.comparing().then(|| State {
            scenario: if self.compare_scenario.is_empty() {
                self.scenario.clone()
            } else {
                self.compare_scenario.clone()
            },
            profile: if self.compare.is_empty() {
                self.profile.clone()
            } else {
                self.compare.clone()
            },
            compare: String::new(),
            compare_scenario: String::new(),
            ..self.clone()
        })
    }

    /// The main side's state alone (without the comparison).
    pub fn main(&self) -> State {
        State {
            compare: String::new(),
            compare_scenario: String::new(),
            ..self.clone()
        }
    }
}

fn yes() -> bool {
    true
}

/// A link's mode: a mode's name, or `""` for none.
fn mode_or_empty<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<TrampolineMode>, D::Error> {
    let s = String::deserialize(d)?;
    if s.is_empty() {
        return Ok(None);
    }
    s.parse().map(Some).map_err(serde::de::Error::custom)
}

/// The default scenario: the kernel's fsession cookie test.
pub const DEFAULT_SCENARIO: &str = include_str!("../../examples/scenarios/fsession_cookie.toml");

impl Default for State {
    fn default() -> Self {
        State {
            scenario: DEFAULT_SCENARIO.to_string(),
            profile: String::new(),
            att: false,
            bytes: true,
            compare: String::new(),
            compare_scenario: String::new(),
            mode: None,
            mitigations: None,
            conformance: false,
        }
    }
}

const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/// base64url without padding.
pub fn b64_encode(data: &[u8]) -> String {
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |acc, (i, b)| acc | (*b as u32) << (16 - 8 * i));
        for i in 0..chunk.len() + 1 {
            out.push(B64[((n >> (18 - 6 * i)) & 63) as usize] as char);
        }
    }
    out
}

/// Why a link could not be opened.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum LinkError {
    /// A character outside base64url.
    #[error("invalid character '{0}' in the link")]
    BadCharacter(char),
    /// The decoded state is not UTF-8.
    #[error("the link is not UTF-8")]
    NotUtf8,
    /// The state is not the playground's JSON.
    #[error("the link's state is damaged: {0}")]
    Damaged(String),
    /// The compressed state does not inflate (within 4 MiB).
    #[error("the link's state is damaged (cannot inflate it: {0})")]
    Inflate(String),
    /// A version this playground does not know.
    #[error("unknown link version '{0}'")]
    UnknownVersion(String),
    /// Not `v1.` or `v2.` followed by data.
    #[error("not a playground link")]
    NotALink,
}

/// Decodes base64url (padding optional).
pub fn b64_decode(s: &str) -> Result<Vec<u8>, LinkError> {
    let mut out = Vec::with_capacity(s.len() * 3 / 4);
    let (mut acc, mut bits) = (0u32, 0u32);
    for c in s.trim_end_matches('=').bytes() {
        let v = B64
            .iter()
            .position(|&x| x == c)
            .ok_or(LinkError::BadCharacter(c as char))? as u32;
        acc = (acc << 6) | v;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
    }
    Ok(out)
}

impl State {
    /// The URL fragment (without `#`), in the newest version (v2).
    pub fn to_fragment(&self) -> String {
        let json = serde_json::to_string(self).unwrap_or_default();
        format!("v2.{}", b64_encode(&crate::deflate::compress(json.as_bytes())))
    }

    /// The fragment in version 1 (uncompressed JSON), for tools that want to read the state
    /// without inflating it.
    pub fn to_fragment_v1(&self) -> String {
        format!(
            "v1.{}",
            b64_encode(serde_json::to_string(self).unwrap_or_default().as_bytes())
        )
    }

    /// Reads a fragment (with or without `#`); empty gives the default state.
    pub fn from_fragment(f: &str) -> Result<State, LinkError> {
        let f = f.trim_start_matches('#');
        if f.is_empty() {
            return Ok(State::default());
        }
        let json = |bytes: Vec<u8>| -> Result<State, LinkError> {
            let text = String::from_utf8(bytes).map_err(|_| LinkError::NotUtf8)?;
            serde_json::from_str(&text).map_err(|e| LinkError::Damaged(e.to_string()))
        };
        match f.split_once('.') {
            Some(("v1", data)) => json(b64_decode(data)?),
            Some(("v2", data)) => {
                let packed = b64_decode(data)?;
                // A link is at most a few hundred KB of text; refuse to inflate past 4 MiB.
                let bytes = crate::deflate::inflate(&packed, 4 << 20).map_err(|e| LinkError::Inflate(e.to_string()))?;
                json(bytes)
            }
            Some((v, _)) => Err(LinkError::UnknownVersion(v.to_string())),
            None => Err(LinkError::NotALink),
        }
    }
}
