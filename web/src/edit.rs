//! Structured edits of the scenario text: reorder, remove and add programs, change a program's
//! attach type, change the traced function's prototype. They work on the text itself, so the
//! user's comments and layout survive; each returns the new text or says why it cannot.

use std::ops::Range;

/// Attach types the program controls offer.
pub const ATTACH_KINDS: &[&str] = &["fentry", "fexit", "fmod_ret", "fsession"];

/// Byte ranges of the top-level table headers' blocks: (header, range from the header line to
/// the next header line or the end). Lines inside `"""` or `'''` strings are not headers.
fn blocks(text: &str) -> Vec<(String, Range<usize>)> {
    let mut out: Vec<(String, Range<usize>)> = vec![];
    let mut pos = 0;
    let mut in_str: Option<&str> = None;
    for line in text.split_inclusive('\n') {
        let t = line.trim();
        if in_str.is_none() && t.starts_with('[') {
            if let Some(last) = out.last_mut() {
                last.1.end = pos;
            }
            let header = t.split('#').next().unwrap_or("").trim().to_string();
            out.push((header, pos..text.len()));
        }
        for q in ["\"\"\"", "'''"] {
            if in_str.is_none_or(|s| s == q) && line.matches(q).count() % 2 == 1 {
                in_str = if in_str.is_some() { None } else { Some(q) };
            }
        }
        pos += line.len();
    }
    out
}

/// The byte ranges of the `[[program]]` blocks, in order.
pub fn program_blocks(text: &str) -> Vec<Range<usize>> {
    blocks(text)
        .into_iter()
        .filter(|(h, _)| h == "[[program]]")
        .map(|(_, r)| r)
        .collect()
}

/// The value of `key = "..."` in a block (first match).
fn field<'a>(block: &'a str, key: &str) -> Option<&'a str> {
    block.lines().find_map(|l| {
        let (k, v) = l.split_once('=')?;
        (k.trim() == key).then(|| v.split('#').next().unwrap_or("").trim().trim_matches('"'))
    })
}

/// (name, attach) of each program block.
pub fn programs(text: &str) -> Vec<(String, String)> {
    program_blocks(text)
        .into_iter()
        .map(|r| {
            let b = &text[r];
            (
                field(b, "name").unwrap_or("?").to_string(),
                field(b, "attach").unwrap_or("?").to_string(),
            )
        })
        .collect()
}

fn with_newline(s: &str) -> String {
    if s.ends_with('\n') {
        s.to_string()
    } else {
        format!("{s}\n")
    }
}

fn nth(text: &str, i: usize) -> Result<(Vec<Range<usize>>, Range<usize>), String> {
    let all = program_blocks(text);
    let r = all
        .get(i)
        .cloned()
        .ok_or_else(|| format!("there is no program #{i} (the scenario has {})", all.len()))?;
    Ok((all, r))
}

/// Swaps program `i` with its neighbour (`up`: the one before).
pub fn move_program(text: &str, i: usize, up: bool) -> Result<String, String> {
    let (all, _) = nth(text, i)?;
    let j = if up { i.checked_sub(1) } else { Some(i + 1) }.filter(|j| *j < all.len());
    let Some(j) = j else {
        return Err(format!("program #{i} is already {}", if up { "first" } else { "last" }));
    };
    let (a, b) = (all[i.min(j)].clone(), all[i.max(j)].clone());
    let mut out = String::with_capacity(text.len() + 2);
    out.push_str(&text[..a.start]);
    out.push_str(&with_newline(&text[b.clone()]));
    out.push_str(&text[a.end..b.start]);
    out.push_str(&with_newline(&text[a]));
    out.push_str(&text[b.end..]);
    Ok(out)
}

/// Removes program `i`.
pub fn remove_program(text: &str, i: usize) -> Result<String, String> {
    let (_, r) = nth(text, i)?;
    Ok(format!("{}{}", &text[..r.start], &text[r.end..]))
}

/// Sets program `i`'s attach type.
pub fn set_attach(text: &str, i: usize, kind: &str) -> Result<String, String> {
    if !ATTACH_KINDS.contains(&kind) {
        return Err(format!("unknown attach type '{kind}'"));
    }
    let (_, r) = nth(text, i)?;
    replace_field(text, r, "attach", kind).ok_or_else(|| format!("program #{i} has no attach line"))
}

/// Sets the traced function's prototype.
pub fn set_prototype(text: &str, proto: &str) -> Result<String, String> {
    if proto.contains('"') || proto.contains('\n') {
        return Err("a prototype cannot contain quotes or newlines".into());
    }
    let r = blocks(text)
        .into_iter()
        .find(|(h, _)| h == "[function]")
        .map(|(_, r)| r)
        .ok_or("the scenario has no [function] table")?;
    replace_field(text, r, "prototype", proto).ok_or_else(|| "[function] has no prototype line".to_string())
}

/// Appends a program that returns 0, named uniquely.
pub fn add_program(text: &str, kind: &str) -> Result<String, String> {
    if !ATTACH_KINDS.contains(&kind) {
        return Err(format!("unknown attach type '{kind}'"));
    }
    let names: Vec<String> = programs(text).into_iter().map(|p| p.0).collect();
    let name = (1..)
        .map(|n| format!("prog{n}"))
        .find(|n| !names.contains(n))
        .expect("a free name");
    Ok(format!(
        "{}\n[[program]]\nname = \"{name}\"\nattach = \"{kind}\"\ntext = \"\"\"\nr0 = 0\nexit\n\"\"\"\n",
        with_newline(text.trim_end_matches('\n'))
    ))
}

/// Replaces the value of the first `key = "..."` line inside `range`, keeping the rest of the
/// line (a trailing comment) as it is.
fn replace_field(text: &str, range: Range<usize>, key: &str, value: &str) -> Option<String> {
    let mut pos = range.start;
    for line in text[range.clone()].split_inclusive('\n') {
        if let Some((k, v)) = line.split_once('=') {
            if k.trim() == key {
                let q1 = pos + k.len() + 1 + v.find('"')?;
                let q2 = q1 + 1 + text[q1 + 1..].find('"')?;
                return Some(format!("{}\"{value}\"{}", &text[..q1], &text[q2 + 1..]));
            }
        }
        pos += line.len();
    }
    None
}

/// The traced function's prototype as written.
pub fn prototype(text: &str) -> Option<String> {
    let r = blocks(text).into_iter().find(|(h, _)| h == "[function]")?.1;
    field(&text[r], "prototype").map(str::to_string)
}
