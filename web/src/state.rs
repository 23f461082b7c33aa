//! The playground's state and its URL-fragment encoding: `#v1.` + base64url(JSON). Every
//! version stays decodable (a test per version).

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
    /// A second profile to compare with, side by side ("" = no comparison).
    #[serde(rename = "c", default, skip_serializing_if = "String::is_empty")]
    pub compare: String,
}

fn yes() -> bool {
    true
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

/// Decodes base64url (with or without padding).
pub fn b64_decode(s: &str) -> Result<Vec<u8>, String> {
    let mut out = Vec::with_capacity(s.len() * 3 / 4);
    let (mut acc, mut bits) = (0u32, 0u32);
    for c in s.trim_end_matches('=').bytes() {
        let v = B64
            .iter()
            .position(|&x| x == c)
            .ok_or_else(|| format!("invalid character '{}' in the link", c as char))? as u32;
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
    /// The URL fragment (without `#`).
    pub fn to_fragment(&self) -> String {
        format!(
            "v1.{}",
            b64_encode(serde_json::to_string(self).unwrap_or_default().as_bytes())
        )
    }

    /// Reads a fragment (with or without `#`); empty gives the default state.
    pub fn from_fragment(f: &str) -> Result<State, String> {
        let f = f.trim_start_matches('#');
        if f.is_empty() {
            return Ok(State::default());
        }
        match f.split_once('.') {
            Some(("v1", data)) => {
                let bytes = b64_decode(data)?;
                let text = String::from_utf8(bytes).map_err(|_| "the link is not UTF-8".to_string())?;
                serde_json::from_str(&text).map_err(|e| format!("the link's state is damaged: {e}"))
            }
            Some((v, _)) => Err(format!("unknown link version '{v}'")),
            None => Err("not a playground link".into()),
        }
    }
}
