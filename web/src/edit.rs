//! Structured edits of the scenario text: reorder, remove and add programs, change a program's
//! attach type, change the traced function's prototype. They work on the text itself, so the
//! user's comments and layout survive; each returns the new text or says why it cannot.

use std::ops::Range;

use fsession_core::kernel::program::AttachType;

/// Why a structured edit was not made.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum EditError {
    /// No program has that index.
    #[error("there is no program #{index} (the scenario has {count})")]
    NoProgram {
        /// The index asked for.
        index: usize,
        /// How many programs there are.
        count: usize,
    },
    /// A move past the first or last program.
    #[error("program #{index} is already {}", if *up { "first" } else { "last" })]
    AtEdge {
        /// The program.
        index: usize,
        /// The move was up.
        up: bool,
    },
    /// The program's block lacks a line the edit changes.
    #[error("program #{index} has no {field} line")]
    NoField {
        /// The program.
        index: usize,
        /// The field.
        field: &'static str,
    },
    /// An attach type the controls do not offer.
    #[error("unknown attach type '{0}'")]
    UnknownAttach(String),
    /// A prototype that cannot be written into the TOML string.
    #[error("a prototype cannot contain quotes or newlines")]
    BadPrototype,
    /// The scenario has no `[function]` table.
    #[error("the scenario has no [function] table")]
    NoFunction,
    /// `[function]` has no `prototype` line.
    #[error("[function] has no prototype line")]
    NoPrototypeLine,
    /// Not a u64.
    #[error("'{0}' is not an attach cookie: give a number from 0 to 2^64-1 (decimal or 0x hex)")]
    BadCookie(String),
    /// Not a syntax name.
    #[error("unknown syntax '{0}' (kernel or conformance)")]
    UnknownSyntax(String),
    /// The program's own `syntax` line names none.
    #[error("program #{index} has an unknown syntax '{syntax}'")]
    ProgramSyntax {
        /// The program.
        index: usize,
        /// What its line says.
        syntax: String,
    },
    /// The scenario does not parse, so its text values cannot be found.
    #[error("fix the scenario first (line {line}: {message})")]
    Broken {
        /// The line of the error.
        line: usize,
        /// The parser's message.
        message: String,
    },
    /// The program does not assemble in its syntax.
    #[error("program #{index} does not assemble, so it cannot be converted: {error}")]
    Assemble {
        /// The program.
        index: usize,
        /// The assembler's error.
        error: fsession_core::asm::AsmError,
    },
    /// The program does not disassemble in the other syntax.
    #[error("program #{index}: {error}")]
    Disassemble {
        /// The program.
        index: usize,
        /// The decoder's error.
        error: fsession_core::isa::DecodeError,
    },
}

/// Attach types the program controls offer: those that attach to a traced function's
/// trampoline (core's list).
pub fn attach_kinds() -> impl Iterator<Item = AttachType> {
    AttachType::ALL.into_iter().filter(|a| a.has_trampoline())
}

/// A control's attach type, parsed (any name core accepts) and one the controls offer.
fn offered(kind: &str) -> Result<AttachType, EditError> {
    kind.parse::<AttachType>()
        .ok()
        .filter(|a| a.has_trampoline())
        .ok_or_else(|| EditError::UnknownAttach(kind.to_string()))
}

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

/// The value of `key = ...` in a block (first match): a basic string unescaped, a literal
/// string as written, anything else up to a comment. A `#` inside a string is not a comment.
fn field(block: &str, key: &str) -> Option<String> {
    block.lines().find_map(|l| {
        let (k, v) = l.split_once('=')?;
        (k.trim() == key).then(|| value_of(v.trim()))
    })
}

/// One TOML value as the controls show it (see [`field`]).
fn value_of(v: &str) -> String {
    if let Some(rest) = v.strip_prefix('"') {
        let mut out = String::new();
        let mut chars = rest.chars();
        while let Some(c) = chars.next() {
            match c {
                '"' => break,
                '\\' => match chars.next() {
                    Some('n') => out.push('\n'),
                    Some('t') => out.push('\t'),
                    Some(e) => out.push(e),
                    None => break,
                },
                c => out.push(c),
            }
        }
        return out;
    }
    if let Some(rest) = v.strip_prefix('\'') {
        return rest.split('\'').next().unwrap_or("").to_string();
    }
    v.split('#').next().unwrap_or("").trim().to_string()
}

/// (name, attach) of each program block.
pub fn programs(text: &str) -> Vec<(String, String)> {
    program_blocks(text)
        .into_iter()
        .map(|r| {
            let b = &text[r];
            (
                field(b, "name").unwrap_or_else(|| "?".into()),
                field(b, "attach").unwrap_or_else(|| "?".into()),
            )
        })
        .collect()
}

/// What the program controls show of one program block.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProgramLine {
    /// `name`.
    pub name: String,
    /// `attach`.
    pub attach: String,
    /// `cookie` as written ("" when absent).
    pub cookie: String,
    /// `syntax` ("kernel" when absent).
    pub syntax: String,
}

/// The program blocks as the controls show them.
pub fn program_lines(text: &str) -> Vec<ProgramLine> {
    program_blocks(text)
        .into_iter()
        .map(|r| {
            let b = &text[r];
            let f = |k: &str| field(b, k);
            ProgramLine {
                name: f("name").unwrap_or_else(|| "?".into()),
                attach: f("attach").unwrap_or_else(|| "?".into()),
                cookie: f("cookie").unwrap_or_default(),
                syntax: f("syntax").unwrap_or_else(|| "kernel".into()),
            }
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

fn nth(text: &str, i: usize) -> Result<(Vec<Range<usize>>, Range<usize>), EditError> {
    let all = program_blocks(text);
    let r = all.get(i).cloned().ok_or(EditError::NoProgram {
        index: i,
        count: all.len(),
    })?;
    Ok((all, r))
}

/// Swaps program `i` with its neighbour (`up`: the one before).
pub fn move_program(text: &str, i: usize, up: bool) -> Result<String, EditError> {
    let (all, _) = nth(text, i)?;
    let j = if up { i.checked_sub(1) } else { Some(i + 1) }.filter(|j| *j < all.len());
    let Some(j) = j else {
        return Err(EditError::AtEdge { index: i, up });
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
pub fn remove_program(text: &str, i: usize) -> Result<String, EditError> {
    let (_, r) = nth(text, i)?;
    Ok(format!("{}{}", &text[..r.start], &text[r.end..]))
}

/// Sets program `i`'s attach type.
pub fn set_attach(text: &str, i: usize, kind: &str) -> Result<String, EditError> {
    let kind = offered(kind)?;
    let (_, r) = nth(text, i)?;
    replace_field(text, r, "attach", kind.section()).ok_or(EditError::NoField {
        index: i,
        field: "attach",
    })
}

/// Sets the traced function's prototype.
pub fn set_prototype(text: &str, proto: &str) -> Result<String, EditError> {
    if proto.contains('"') || proto.contains('\n') {
        return Err(EditError::BadPrototype);
    }
    let r = blocks(text)
        .into_iter()
        .find(|(h, _)| h == "[function]")
        .map(|(_, r)| r)
        .ok_or(EditError::NoFunction)?;
    replace_field(text, r, "prototype", proto).ok_or(EditError::NoPrototypeLine)
}

/// Appends a program that returns 0, named uniquely.
pub fn add_program(text: &str, kind: &str) -> Result<String, EditError> {
    let kind = offered(kind)?;
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
    field(&text[r], "prototype")
}

/// Sets (`Some`) or removes (`None`) the line `key = value` of program `i`, with `value`
/// written as given (quote strings yourself). A new line goes after the `attach` line (or the
/// header); an existing line keeps its trailing comment.
fn set_program_line(text: &str, i: usize, key: &str, value: Option<&str>) -> Result<String, EditError> {
    let (_, r) = nth(text, i)?;
    // The program text's lines are not fields (they may contain `=`).
    let skip = program_text_range(&text[r.clone()]).map(|s| r.start + s.start..r.start + s.end);
    let mut pos = r.start;
    let mut after_attach = None;
    for line in text[r.clone()].split_inclusive('\n') {
        let next = pos + line.len();
        if skip.as_ref().is_some_and(|s| pos >= s.start && pos < s.end) {
            pos = next;
            continue;
        }
        if let Some((k, v)) = line.split_once('=') {
            if k.trim() == key {
                return Ok(match value {
                    None => format!("{}{}", &text[..pos], &text[next..]),
                    Some(value) => {
                        let comment = v
                            .find('#')
                            .map(|c| format!("  {}", v[c..].trim_end()))
                            .unwrap_or_default();
                        let nl = if line.ends_with('\n') { "\n" } else { "" };
                        format!(
                            "{}{} = {value}{comment}{nl}{}",
                            &text[..pos],
                            k.trim_end(),
                            &text[next..]
                        )
                    }
                });
            }
            if k.trim() == "attach" {
                after_attach = Some(next);
            }
        }
        pos = next;
    }
    let Some(value) = value else {
        return Ok(text.to_string());
    };
    let at =
        after_attach.unwrap_or_else(|| r.start + text[r.clone()].find('\n').map_or(text[r.clone()].len(), |n| n + 1));
    let nl = if at > 0 && !text[..at].ends_with('\n') {
        "\n"
    } else {
        ""
    };
    Ok(format!("{}{nl}{key} = {value}\n{}", &text[..at], &text[at..]))
}

/// Sets program `i`'s attach cookie (`None` removes it: the cookie is then 0). Accepts decimal
/// and `0x` hexadecimal, up to u64.
pub fn set_cookie(text: &str, i: usize, cookie: &str) -> Result<String, EditError> {
    let c = cookie.trim();
    if c.is_empty() {
        return set_program_line(text, i, "cookie", None);
    }
    let v = match c.strip_prefix("0x").or_else(|| c.strip_prefix("0X")) {
        Some(h) => u64::from_str_radix(h, 16),
        None => c.parse::<u64>(),
    }
    .map_err(|_| EditError::BadCookie(c.to_string()))?;
    set_program_line(text, i, "cookie", Some(&v.to_string()))
}

/// The byte range, within a program block, of its `text = """..."""` content (`None` when the
/// text is not a multi-line string).
fn program_text_range(block: &str) -> Option<Range<usize>> {
    let line = block.find("\ntext")?;
    let (q, start) = ["\"\"\"", "'''"]
        .iter()
        .filter_map(|q| Some((*q, block[line..].find(q)? + line + q.len())))
        .min_by_key(|(_, s)| *s)?;
    let end = start + block[start..].find(q)?;
    Some(start..end)
}

/// Rewrites program `i`'s text in the other syntax (`kernel` or `conformance`) and sets its
/// `syntax` line. The program is assembled and disassembled, so comments and labels are not
/// kept (jumps become offsets); a program that does not assemble is left alone, with why.
pub fn convert_syntax(text: &str, i: usize, to: &str) -> Result<String, EditError> {
    use fsession_core::asm::{assemble, disassemble, Syntax};
    let to_syntax: Syntax = to.parse().map_err(|_| EditError::UnknownSyntax(to.to_string()))?;
    let lines = program_lines(text);
    let from = lines.get(i).map(|p| p.syntax.clone()).ok_or(EditError::NoProgram {
        index: i,
        count: lines.len(),
    })?;
    if from == to {
        return Ok(text.to_string());
    }
    let from_syntax: Syntax = from.parse().map_err(|_| EditError::ProgramSyntax {
        index: i,
        syntax: from.clone(),
    })?;
    // The TOML parser knows where the text's value is, whatever string form it was written in.
    let scenario = fsession_core::scenario::Scenario::parse(text).map_err(|e| EditError::Broken {
        line: e.line,
        message: e.message,
    })?;
    let p = scenario.programs.get(i).ok_or(EditError::NoProgram {
        index: i,
        count: scenario.programs.len(),
    })?;
    let insns = assemble(p.text.get_ref(), from_syntax).map_err(|error| EditError::Assemble { index: i, error })?;
    let body = disassemble(&insns, to_syntax).map_err(|error| EditError::Disassemble { index: i, error })?;
    let span = p.text.span();
    let out = format!("{}\"\"\"\n{body}\"\"\"{}", &text[..span.start], &text[span.end..]);
    let value = (to != "kernel").then(|| format!("\"{to}\""));
    set_program_line(&out, i, "syntax", value.as_deref())
}
