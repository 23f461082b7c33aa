//! Structured edits of the scenario text: reorder, remove and add programs, change a program's
//! attach type, attach cookie or syntax, change the traced function's prototype.
//!
//! Each edit parses the editor's text with `toml_edit` (the TOML the scenario parser reads, as a
//! document that keeps every comment, blank line and spelling), changes that document and
//! renders it again, so what the user wrote and did not touch survives byte for byte. Each
//! returns the new text or says why it cannot.

use std::collections::BTreeMap;

use fsession_core::asm::Syntax;
use fsession_core::kernel::program::{parse_prototype, AttachType, ProtoError};
use fsession_core::scenario::{line_col, parse_u64_text};
use toml_edit::{ArrayOfTables, DocumentMut, Item, Table, Value};

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
    /// An attach type core does not know.
    #[error("unknown attach type '{0}'")]
    UnknownAttach(String),
    /// An attach type that does not attach to a traced function's trampoline.
    #[error("{0} does not attach to the traced function's trampoline, so the controls do not offer it")]
    NotOffered(AttachType),
    /// The prototype does not parse (a prototype the kernel would refuse at attach is written,
    /// so that the views can show the refusal).
    #[error("not a prototype: {0}")]
    Prototype(ProtoError),
    /// The scenario has no `[function]` table.
    #[error("the scenario has no [function] table")]
    NoFunction,
    /// Not a u64.
    #[error("'{0}' is not an attach cookie: give a number from 0 to 2^64-1 (decimal or 0x hex)")]
    BadCookie(String),
    /// Not a syntax name.
    #[error("unknown syntax '{0}' (kernel or conformance)")]
    UnknownSyntax(String),
    /// The program's own `syntax` field names none.
    #[error("program #{index} has an unknown syntax '{syntax}'")]
    ProgramSyntax {
        /// The program.
        index: usize,
        /// What its field says.
        syntax: String,
    },
    /// The program has no `text` string to convert.
    #[error("program #{index} has no text string")]
    NoText {
        /// The program.
        index: usize,
    },
    /// The scenario is not TOML, so it cannot be edited structurally.
    #[error("fix the scenario first (line {line}: {message})")]
    Broken {
        /// The 1-based line of the error.
        line: usize,
        /// The TOML parser's message.
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
pub fn offered(kind: &str) -> Result<AttachType, EditError> {
    let kind = kind
        .parse::<AttachType>()
        .map_err(|_| EditError::UnknownAttach(kind.to_string()))?;
    if kind.has_trampoline() {
        Ok(kind)
    } else {
        Err(EditError::NotOffered(kind))
    }
}

/// A field of a program as the text has it: a value core knows, or the text of one it does not
/// (the control then shows it, disabled, so that nothing is hidden).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Written<T> {
    /// A value core knows.
    Known(T),
    /// What the text says instead (empty when the field is missing).
    Other(String),
}

impl<T: Copy + PartialEq> Written<T> {
    /// Whether this is `v`.
    pub fn is(&self, v: T) -> bool {
        matches!(self, Written::Known(k) if *k == v)
    }
}

/// What the program controls show of one program.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProgramLine {
    /// `name` ("?" when missing).
    pub name: String,
    /// `attach`.
    pub attach: Written<AttachType>,
    /// `cookie` as written ("" when absent).
    pub cookie: String,
    /// `syntax` (kernel when absent).
    pub syntax: Written<Syntax>,
}

/// The editor's text as a TOML document.
fn document(text: &str) -> Result<DocumentMut, EditError> {
    text.parse::<DocumentMut>().map_err(|e| EditError::Broken {
        line: e.span().map_or(1, |s| line_col(text, s.start).0),
        message: e.message().to_string(),
    })
}

/// The `[[program]]` tables (none when the scenario has no program).
fn program_tables(doc: &DocumentMut) -> impl Iterator<Item = &Table> {
    doc.get("program")
        .and_then(Item::as_array_of_tables)
        .into_iter()
        .flat_map(ArrayOfTables::iter)
}

/// The `[[program]]` array, checked to hold program `i`.
fn programs_with(doc: &mut DocumentMut, i: usize) -> Result<&mut ArrayOfTables, EditError> {
    let count = program_tables(doc).count();
    match doc.get_mut("program").and_then(Item::as_array_of_tables_mut) {
        Some(aot) if i < count => Ok(aot),
        _ => Err(EditError::NoProgram { index: i, count }),
    }
}

/// Program `i`'s table.
fn program_mut(doc: &mut DocumentMut, i: usize) -> Result<&mut Table, EditError> {
    let aot = programs_with(doc, i)?;
    let count = aot.len();
    aot.get_mut(i).ok_or(EditError::NoProgram { index: i, count })
}

/// A string field's value.
fn str_field<'a>(t: &'a Table, key: &str) -> Option<&'a str> {
    t.get(key).and_then(Item::as_str)
}

/// A field as its control shows it: a string's contents, anything else as written.
fn shown(item: &Item) -> String {
    match item.as_value() {
        Some(Value::String(s)) => s.value().clone(),
        Some(Value::Integer(v)) => v.display_repr().into_owned(),
        Some(Value::Float(v)) => v.display_repr().into_owned(),
        Some(Value::Boolean(v)) => v.display_repr().into_owned(),
        Some(Value::Datetime(v)) => v.display_repr().into_owned(),
        Some(v @ (Value::Array(_) | Value::InlineTable(_))) => v.to_string().trim().to_string(),
        None => item.to_string().trim().to_string(),
    }
}

/// A field that names an enum core parses.
fn written<T: std::str::FromStr>(t: &Table, key: &str, absent: Option<T>) -> Written<T> {
    match (t.get(key), absent) {
        (None, Some(d)) => Written::Known(d),
        (None, None) => Written::Other(String::new()),
        (Some(item), _) => match item.as_str().and_then(|s| s.parse().ok()) {
            Some(v) => Written::Known(v),
            None => Written::Other(shown(item)),
        },
    }
}

/// What the controls show, read from one parse of the text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Controls {
    /// The traced function's prototype as written ("" when missing).
    pub prototype: String,
    /// The programs.
    pub programs: Vec<ProgramLine>,
}

/// The prototype and the programs as the controls show them.
pub fn controls(text: &str) -> Result<Controls, EditError> {
    let doc = document(text)?;
    let prototype = doc
        .get("function")
        .and_then(Item::as_table)
        .and_then(|f| str_field(f, "prototype"))
        .unwrap_or_default()
        .to_string();
    let programs = program_tables(&doc)
        .map(|t| ProgramLine {
            name: str_field(t, "name").unwrap_or("?").to_string(),
            attach: written(t, "attach", None),
            cookie: t.get("cookie").map(shown).unwrap_or_default(),
            syntax: written(t, "syntax", Some(Syntax::Kernel)),
        })
        .collect();
    Ok(Controls { prototype, programs })
}

/// The programs as the controls show them.
pub fn program_lines(text: &str) -> Result<Vec<ProgramLine>, EditError> {
    controls(text).map(|c| c.programs)
}

/// Sets `key` to `value` in `table`. An existing value keeps its surrounding spaces and
/// trailing comment; a new key goes after the `attach` field (or last).
fn set_field(table: &mut Table, key: &str, value: impl Into<Value>) {
    let mut value = value.into();
    if let Some(old) = table.get_mut(key).and_then(Item::as_value_mut) {
        *value.decor_mut() = old.decor().clone();
        *old = value;
        return;
    }
    let order: Vec<String> = table.iter().map(|(k, _)| k.to_string()).collect();
    let new_rank = order
        .iter()
        .position(|k| k == "attach")
        .map_or(2 * order.len(), |p| 2 * p + 1);
    table.insert(key, Item::Value(value));
    let rank = |k: &str| order.iter().position(|o| o == k).map_or(new_rank, |p| 2 * p);
    table.sort_values_by(|k1, _, k2, _| rank(k1.get()).cmp(&rank(k2.get())));
}

/// Parses `text`, applies `f` to its document and renders the result.
fn edit(text: &str, f: impl FnOnce(&mut DocumentMut) -> Result<(), EditError>) -> Result<String, EditError> {
    let mut doc = document(text)?;
    f(&mut doc)?;
    Ok(doc.to_string())
}

/// Swaps program `i` with its neighbour (`up`: the one before). Each program takes its
/// comments and blank lines with it.
pub fn move_program(text: &str, i: usize, up: bool) -> Result<String, EditError> {
    edit(text, |doc| {
        let aot = programs_with(doc, i)?;
        let j = if up { i.checked_sub(1) } else { Some(i + 1) }.filter(|j| *j < aot.len());
        let Some(j) = j else {
            return Err(EditError::AtEdge { index: i, up });
        };
        let (Some(mut a), Some(mut b)) = (aot.get(i).cloned(), aot.get(j).cloned()) else {
            return Err(EditError::NoProgram {
                index: j,
                count: aot.len(),
            });
        };
        // The document renders tables in the order of their positions.
        let (pa, pb) = (a.position(), b.position());
        a.set_position(pb);
        b.set_position(pa);
        aot.replace(i, b);
        aot.replace(j, a);
        Ok(())
    })
}

/// Removes program `i`.
pub fn remove_program(text: &str, i: usize) -> Result<String, EditError> {
    edit(text, |doc| {
        programs_with(doc, i)?.remove(i);
        Ok(())
    })
}

/// Sets program `i`'s attach type.
pub fn set_attach(text: &str, i: usize, kind: AttachType) -> Result<String, EditError> {
    if !kind.has_trampoline() {
        return Err(EditError::NotOffered(kind));
    }
    edit(text, |doc| {
        set_field(program_mut(doc, i)?, "attach", kind.section());
        Ok(())
    })
}

/// The struct sizes `[function] structs` declares (those that are integers).
fn struct_sizes(function: &Table) -> BTreeMap<String, u32> {
    let Some(structs) = function.get("structs").and_then(Item::as_table_like) else {
        return BTreeMap::new();
    };
    structs
        .iter()
        .filter_map(|(k, v)| Some((k.to_string(), u32::try_from(v.as_integer()?).ok()?)))
        .collect()
}

/// Sets the traced function's prototype. One that does not parse is refused with the
/// parser's reason; one the kernel would refuse at attach (a struct too large, too many
/// arguments) is written, for the views to show the refusal.
pub fn set_prototype(text: &str, proto: &str) -> Result<String, EditError> {
    edit(text, |doc| {
        let function = doc
            .get_mut("function")
            .and_then(Item::as_table_mut)
            .ok_or(EditError::NoFunction)?;
        if let Err(e) = parse_prototype(proto, &struct_sizes(function)) {
            if e.errno.is_none() {
                return Err(EditError::Prototype(e));
            }
        }
        set_field(function, "prototype", proto);
        Ok(())
    })
}

/// Appends a program of `kind` that returns 0, named uniquely.
pub fn add_program(text: &str, kind: AttachType) -> Result<String, EditError> {
    if !kind.has_trampoline() {
        return Err(EditError::NotOffered(kind));
    }
    edit(text, |doc| {
        let names: Vec<String> = program_tables(doc)
            .filter_map(|t| str_field(t, "name").map(str::to_string))
            .collect();
        let name = (1..)
            .map(|n| format!("prog{n}"))
            .find(|n| !names.contains(n))
            .unwrap_or_default();
        let mut table = Table::new();
        table.insert("name", toml_edit::value(name));
        table.insert("attach", toml_edit::value(kind.section()));
        table.insert("text", toml_edit::value("r0 = 0\nexit\n"));
        match doc.get_mut("program") {
            Some(Item::ArrayOfTables(aot)) => aot.push(table),
            _ => {
                let mut aot = ArrayOfTables::new();
                aot.push(table);
                doc.insert("program", Item::ArrayOfTables(aot));
            }
        }
        Ok(())
    })
}

/// Sets program `i`'s attach cookie ("" removes the field: the cookie is then 0). Accepts
/// decimal and `0x` hexadecimal, up to u64. TOML integers are signed 64-bit, so a cookie above
/// `i64::MAX` is written as a hex string, which the scenario parser also reads.
pub fn set_cookie(text: &str, i: usize, cookie: &str) -> Result<String, EditError> {
    let c = cookie.trim();
    let v = (!c.is_empty())
        .then(|| parse_u64_text(c).ok_or_else(|| EditError::BadCookie(c.to_string())))
        .transpose()?;
    edit(text, |doc| {
        let t = program_mut(doc, i)?;
        match v {
            None => {
                t.remove("cookie");
            }
            Some(v) => match i64::try_from(v) {
                Ok(small) => set_field(t, "cookie", small),
                Err(_) => set_field(t, "cookie", format!("{v:#x}")),
            },
        }
        Ok(())
    })
}

/// Rewrites program `i`'s text in the other syntax (`kernel` or `conformance`) and sets its
/// `syntax` field (the default, kernel, is not written). The program is assembled and
/// disassembled, so comments and labels are not kept (jumps become offsets); a program that
/// does not assemble is left alone, with why.
pub fn convert_syntax(text: &str, i: usize, to: &str) -> Result<String, EditError> {
    use fsession_core::asm::{assemble, disassemble};
    let to: Syntax = to.parse().map_err(|_| EditError::UnknownSyntax(to.to_string()))?;
    edit(text, |doc| {
        let t = program_mut(doc, i)?;
        let from = match written(t, "syntax", Some(Syntax::Kernel)) {
            Written::Known(s) => s,
            Written::Other(syntax) => return Err(EditError::ProgramSyntax { index: i, syntax }),
        };
        if from == to {
            return Ok(());
        }
        let source = str_field(t, "text").ok_or(EditError::NoText { index: i })?;
        let insns = assemble(source, from).map_err(|error| EditError::Assemble { index: i, error })?;
        let body = disassemble(&insns, to).map_err(|error| EditError::Disassemble { index: i, error })?;
        set_field(t, "text", body);
        match to {
            Syntax::Kernel => {
                t.remove("syntax");
            }
            Syntax::Conformance => set_field(t, "syntax", to.name()),
        }
        Ok(())
    })
}
