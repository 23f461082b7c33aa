//! Two views side by side (two profiles of one scenario): the trampoline listings aligned by a
//! longest-common-subsequence diff of their instructions, the frame slots by name, and what each
//! program sees in `ctx[-1]` per pass. Differences are marked with text (`-`, `+`, `≠`) as well
//! as colour.

use crate::model::View;

/// How a line or row compares.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mark {
    /// The same on both sides.
    Same,
    /// Only on the left (A).
    Left,
    /// Only on the right (B).
    Right,
    /// On both sides, with different values.
    Changed,
}

impl Mark {
    /// The text marker shown next to the row.
    pub fn sign(self) -> &'static str {
        match self {
            Mark::Same => " ",
            Mark::Left => "-",
            Mark::Right => "+",
            Mark::Changed => "≠",
        }
    }
}

/// One aligned listing row: (offset, hex, text) on either side.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ListingRow {
    /// How it compares.
    pub mark: Mark,
    /// Left line.
    pub a: Option<(usize, String, String)>,
    /// Right line.
    pub b: Option<(usize, String, String)>,
}

/// One row of a keyed comparison (slots, ctx[-1] values).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyedRow {
    /// How it compares.
    pub mark: Mark,
    /// The key (slot name, or program and pass).
    pub key: String,
    /// Left value.
    pub a: Option<String>,
    /// Right value.
    pub b: Option<String>,
}

/// One program's JIT images on both sides, aligned as the trampolines are.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JitCompare {
    /// The program.
    pub program: String,
    /// Its x86 instructions (all subprograms), aligned.
    pub rows: Vec<ListingRow>,
}

/// The comparison of two views.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Comparison {
    /// The listings, aligned.
    pub listing: Vec<ListingRow>,
    /// Each program loaded on both sides: its JIT images, aligned.
    pub jit: Vec<JitCompare>,
    /// Frame slots by name: rbp offset and size.
    pub slots: Vec<KeyedRow>,
    /// `ctx[-1]` per program and pass.
    pub sees: Vec<KeyedRow>,
    /// Contract verdicts.
    pub contract: (bool, bool),
}

impl Comparison {
    /// Rows that differ, over the three tables.
    pub fn differences(&self) -> usize {
        self.listing.iter().filter(|r| r.mark != Mark::Same).count()
            + self.slots.iter().filter(|r| r.mark != Mark::Same).count()
            + self.sees.iter().filter(|r| r.mark != Mark::Same).count()
            + self
                .jit
                .iter()
                .flat_map(|j| &j.rows)
                .filter(|r| r.mark != Mark::Same)
                .count()
    }
}

/// Compares two views (either may lack a trampoline: its side is empty).
pub fn compare(a: &View, b: &View) -> Comparison {
    let lines = |v: &View| -> Vec<(usize, String, String)> {
        v.report
            .as_ref()
            .map(|r| r.listing.iter().map(|l| (l.offset, l.hex(), l.text.clone())).collect())
            .unwrap_or_default()
    };
    let listing = aligned(&lines(a), &lines(b));
    let (ja, jb) = (crate::model::jit_views(a), crate::model::jit_views(b));
    let jit_lines = |j: &crate::model::JitView| -> Vec<(usize, String, String)> {
        j.rows
            .iter()
            .map(|r| {
                let hex: Vec<String> = r.bytes.iter().map(|x| format!("{x:02x}")).collect();
                (r.offset, hex.join(" "), r.text.clone())
            })
            .collect()
    };
    let jit = a
        .programs
        .iter()
        .zip(&ja)
        .filter_map(|(p, x)| {
            let k = b.programs.iter().position(|q| q.name == p.name)?;
            let (x, y) = (x.as_ref()?, jb.get(k)?.as_ref()?);
            Some(JitCompare {
                program: p.name.clone(),
                rows: aligned(&jit_lines(x), &jit_lines(y)),
            })
        })
        .collect();
    let slots_of = |v: &View| -> Vec<(String, String)> {
        match v.report.as_ref().map(|r| &r.encoded) {
            Some(Ok(e)) => {
                let mut slots: Vec<_> = e.layout.slots.iter().collect();
                slots.sort_by_key(|s| std::cmp::Reverse(s.rbp_off));
                slots
                    .into_iter()
                    .map(|s| (s.name.clone(), format!("rbp{:+} ({} B)", s.rbp_off, s.size)))
                    .collect()
            }
            _ => vec![],
        }
    };
    let sees_of = |v: &View| -> Vec<(String, String)> {
        match v.report.as_ref().map(|r| &r.encoded) {
            Some(Ok(e)) => e
                .invocations
                .iter()
                .map(|i| {
                    (
                        format!("{} {}", i.prog, format!("{:?}", i.pass).to_ascii_lowercase()),
                        format!("{:#x}", i.func_meta),
                    )
                })
                .collect(),
            _ => vec![],
        }
    };
    let holds = |v: &View| v.report.as_ref().is_some_and(|r| r.contract_holds());
    Comparison {
        listing,
        jit,
        slots: keyed(&slots_of(a), &slots_of(b)),
        sees: keyed(&sees_of(a), &sees_of(b)),
        contract: (holds(a), holds(b)),
    }
}

/// Two listings aligned: instructions align when their text matches (targets are absolute
/// addresses, so a call to the same function matches even where its rel32 bytes differ); such a
/// pair is marked changed when the bytes differ.
fn aligned(la: &[(usize, String, String)], lb: &[(usize, String, String)]) -> Vec<ListingRow> {
    diff(la, lb, |x, y| x.2 == y.2)
        .into_iter()
        .map(|(x, y)| ListingRow {
            mark: match (&x, &y) {
                (Some(p), Some(q)) if p.1 != q.1 => Mark::Changed,
                (Some(_), Some(_)) => Mark::Same,
                (Some(_), None) => Mark::Left,
                _ => Mark::Right,
            },
            a: x.cloned(),
            b: y.cloned(),
        })
        .collect()
}

/// Rows by key, in the left side's order with the right side's extra keys where they fall.
fn keyed(a: &[(String, String)], b: &[(String, String)]) -> Vec<KeyedRow> {
    diff(a, b, |x, y| x.0 == y.0)
        .into_iter()
        .map(|(x, y)| {
            let (key, av, bv) = match (x, y) {
                (Some(x), Some(y)) => (x.0.clone(), Some(x.1.clone()), Some(y.1.clone())),
                (Some(x), None) => (x.0.clone(), Some(x.1.clone()), None),
                (None, Some(y)) => (y.0.clone(), None, Some(y.1.clone())),
                (None, None) => unreachable!("diff never pairs two absent sides"),
            };
            let mark = match (&av, &bv) {
                (Some(p), Some(q)) if p == q => Mark::Same,
                (Some(_), Some(_)) => Mark::Changed,
                (Some(_), None) => Mark::Left,
                _ => Mark::Right,
            };
            KeyedRow {
                mark,
                key,
                a: av,
                b: bv,
            }
        })
        .collect()
}

/// A longest-common-subsequence alignment: pairs of (left, right), `None` where a side has no
/// counterpart. O(n·m) time and memory, fine for listings of a few hundred lines.
fn diff<'a, T>(a: &'a [T], b: &'a [T], eq: impl Fn(&T, &T) -> bool) -> Vec<(Option<&'a T>, Option<&'a T>)> {
    let (n, m) = (a.len(), b.len());
    let mut lcs = vec![0u32; (n + 1) * (m + 1)];
    let at = |i: usize, j: usize| i * (m + 1) + j;
    for i in (0..n).rev() {
        for j in (0..m).rev() {
            lcs[at(i, j)] = if eq(&a[i], &b[j]) {
                lcs[at(i + 1, j + 1)] + 1
            } else {
                lcs[at(i + 1, j)].max(lcs[at(i, j + 1)])
            };
        }
    }
    let (mut i, mut j, mut out) = (0, 0, Vec::with_capacity(n.max(m)));
    while i < n || j < m {
        if i < n && j < m && eq(&a[i], &b[j]) {
            out.push((Some(&a[i]), Some(&b[j])));
            i += 1;
            j += 1;
        } else if j < m && (i == n || lcs[at(i, j + 1)] >= lcs[at(i + 1, j)]) {
            out.push((None, Some(&b[j])));
            j += 1;
        } else {
            out.push((Some(&a[i]), None));
            i += 1;
        }
    }
    out
}
