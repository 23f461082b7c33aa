//! What the child (`fsession-lab __exec`) tells its parent, as serde types on both sides: on
//! stderr one JSON object per line ([`ChildMessage`]: the code layout before the first call, a
//! fault if one happens), on stdout the [`super::report::ExecReport`]. Anything else on stderr is
//! the child's own error text.

use serde::{Deserialize, Serialize};

/// A piece of the child's code region.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "piece", rename_all = "snake_case")]
pub enum PieceKind {
    /// A realigning shim in front of a runtime function.
    Shim {
        /// The runtime function.
        target: String,
    },
    /// The generated caller that passes a call's arguments.
    ArgumentCaller,
    /// The traced function's body.
    TracedBody {
        /// The function.
        function: String,
    },
    /// The traced function's entry: its ftrace site, patched to the trampoline or not.
    PatchedEntry {
        /// Patched to enter a trampoline.
        traced: bool,
    },
    /// The model's trampoline.
    Trampoline,
    /// A program's JIT image.
    JitImage {
        /// The program.
        program: String,
    },
}

impl std::fmt::Display for PieceKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PieceKind::Shim { target } => write!(f, "shim for {target}"),
            PieceKind::ArgumentCaller => f.write_str("argument caller"),
            PieceKind::TracedBody { function } => write!(f, "traced function {function} (body)"),
            PieceKind::PatchedEntry { traced: true } => f.write_str("patched entry"),
            PieceKind::PatchedEntry { traced: false } => f.write_str("patched entry (not traced)"),
            PieceKind::Trampoline => f.write_str("trampoline"),
            PieceKind::JitImage { program } => write!(f, "JIT image of {program}"),
        }
    }
}

/// Where a piece is: `[start, end)`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Piece {
    /// What it is.
    pub kind: PieceKind,
    /// First byte.
    pub start: u64,
    /// One past the last byte.
    pub end: u64,
}

/// A trampoline listing line at its address.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlacedLine {
    /// Its address in the region.
    pub addr: u64,
    /// Its offset in the trampoline.
    pub offset: usize,
    /// The instruction's text.
    pub text: String,
    /// Its role.
    pub role: String,
}

/// One line of the child's stderr protocol.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "msg", rename_all = "snake_case")]
pub enum ChildMessage {
    /// The code region, before the first call.
    Layout {
        /// Its pieces.
        pieces: Vec<Piece>,
        /// The trampoline's listing, placed.
        listing: Vec<PlacedLine>,
    },
    /// A signal in the child (written by the signal handler, by hand, in this same form).
    Fault {
        /// The signal number.
        signal: i32,
        /// The faulting instruction.
        rip: u64,
        /// The fault address (`si_addr`).
        addr: u64,
    },
}

/// Where a fault happened.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "at", rename_all = "snake_case")]
pub enum FaultPlace {
    /// In a piece of the generated code.
    Piece {
        /// The piece.
        kind: PieceKind,
        /// Bytes from its start.
        offset: u64,
        /// In the trampoline: the listing line at or before the address.
        line: Option<PlacedLine>,
    },
    /// Outside the generated code (in the runner).
    Outside,
}

/// A fault, mapped to the generated code.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Fault {
    /// The signal number.
    pub signal: i32,
    /// The faulting instruction.
    pub rip: u64,
    /// The fault address.
    pub addr: u64,
    /// Where `rip` is.
    pub place: FaultPlace,
}

impl Fault {
    /// Maps a fault with the layout the child reported.
    pub fn place(signal: i32, rip: u64, addr: u64, pieces: &[Piece], listing: &[PlacedLine]) -> Fault {
        let place = match pieces.iter().find(|p| rip >= p.start && rip < p.end) {
            Some(p) => FaultPlace::Piece {
                kind: p.kind.clone(),
                offset: rip - p.start,
                line: (p.kind == PieceKind::Trampoline)
                    .then(|| listing.iter().rfind(|l| l.addr <= rip).cloned())
                    .flatten(),
            },
            None => FaultPlace::Outside,
        };
        Fault {
            signal,
            rip,
            addr,
            place,
        }
    }
    /// The fault is in the traced function's body.
    pub fn in_body(&self) -> bool {
        matches!(
            self.place,
            FaultPlace::Piece {
                kind: PieceKind::TracedBody { .. },
                ..
            }
        )
    }
    /// The signal's name.
    pub fn signal_name(&self) -> &'static str {
        match self.signal {
            libc::SIGSEGV => "SIGSEGV",
            libc::SIGILL => "SIGILL",
            libc::SIGBUS => "SIGBUS",
            libc::SIGFPE => "SIGFPE",
            libc::SIGTRAP => "SIGTRAP",
            _ => "signal",
        }
    }
}

impl std::fmt::Display for Fault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let name = self.signal_name();
        match &self.place {
            FaultPlace::Outside => write!(
                f,
                "{name} at {:#x}, outside the generated code (in the runner)",
                self.rip
            )?,
            FaultPlace::Piece { kind, offset, line } => {
                write!(f, "{name} in {kind} at +{offset}")?;
                if let Some(l) = line {
                    write!(f, ": +{:<4} {:<40} ; {}", l.offset, l.text, l.role)?;
                }
            }
        }
        write!(f, " (fault address {:#x})", self.addr)
    }
}

/// A line on the child's stderr that looks like a protocol message and is not one.
#[derive(Debug, thiserror::Error)]
#[error("the child's message is malformed ({source}): {line}")]
pub struct MalformedMessage {
    /// The line.
    pub line: String,
    /// Why it does not parse.
    #[source]
    pub source: serde_json::Error,
}

/// What the parent read from the child's stderr: the protocol messages, and the other lines.
#[derive(Debug, Default)]
pub struct ChildStderr {
    /// The layout, if reported.
    pub layout: Option<(Vec<Piece>, Vec<PlacedLine>)>,
    /// A fault, if reported: (signal, rip, addr).
    pub fault: Option<(i32, u64, u64)>,
    /// Lines that are not protocol messages (error text).
    pub text: Vec<String>,
}

impl ChildStderr {
    /// Reads the child's stderr. A line that starts like a protocol message but does not parse
    /// as one is an error.
    pub fn parse(stderr: &str) -> Result<ChildStderr, MalformedMessage> {
        let mut out = ChildStderr::default();
        for line in stderr.lines().filter(|l| !l.trim().is_empty()) {
            if !line.starts_with("{\"msg\"") {
                out.text.push(line.to_string());
                continue;
            }
            match serde_json::from_str::<ChildMessage>(line) {
                Ok(ChildMessage::Layout { pieces, listing }) => out.layout = Some((pieces, listing)),
                Ok(ChildMessage::Fault { signal, rip, addr }) => out.fault = Some((signal, rip, addr)),
                Err(source) => {
                    return Err(MalformedMessage {
                        line: line.to_string(),
                        source,
                    })
                }
            }
        }
        Ok(out)
    }
    /// The fault, mapped with the layout.
    pub fn mapped_fault(&self) -> Option<Fault> {
        let (signal, rip, addr) = self.fault?;
        let (pieces, listing) = self
            .layout
            .as_ref()
            .map(|(p, l)| (p.as_slice(), l.as_slice()))
            .unwrap_or((&[], &[]));
        Some(Fault::place(signal, rip, addr, pieces, listing))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn layout() -> (Vec<Piece>, Vec<PlacedLine>) {
        let pieces = vec![
            Piece {
                kind: PieceKind::Trampoline,
                start: 0x1000,
                end: 0x1100,
            },
            Piece {
                kind: PieceKind::TracedBody { function: "f".into() },
                start: 0x2000,
                end: 0x2010,
            },
        ];
        let listing = vec![
            PlacedLine {
                addr: 0x1000,
                offset: 0,
                text: "push rbp".into(),
                role: "push rbp".into(),
            },
            PlacedLine {
                addr: 0x1001,
                offset: 1,
                text: "mov rbp, rsp".into(),
                role: "frame pointer".into(),
            },
        ];
        (pieces, listing)
    }

    #[test]
    fn the_stderr_protocol_round_trips_and_maps_faults() {
        let (pieces, listing) = layout();
        let msg = serde_json::to_string(&ChildMessage::Layout {
            pieces: pieces.clone(),
            listing: listing.clone(),
        })
        .unwrap();
        // The signal handler's hand-written form.
        let stderr = format!("{msg}\nsome error text\n\n{{\"msg\":\"fault\",\"signal\":11,\"rip\":4098,\"addr\":0}}\n");
        let c = ChildStderr::parse(&stderr).unwrap();
        assert_eq!(c.text, ["some error text"]);
        let f = c.mapped_fault().unwrap();
        assert!(!f.in_body());
        assert_eq!(
            f.to_string(),
            "SIGSEGV in trampoline at +2: +1    mov rbp, rsp                             ; frame pointer (fault address 0x0)"
        );
        let body = Fault::place(4, 0x2004, 8, &pieces, &listing);
        assert!(body.in_body());
        assert_eq!(
            body.to_string(),
            "SIGILL in traced function f (body) at +4 (fault address 0x8)"
        );
        let outside = Fault::place(11, 0x9999, 0, &pieces, &listing);
        assert_eq!(outside.place, FaultPlace::Outside);
        // A protocol line that does not parse is an error, not a pass.
        assert!(ChildStderr::parse("{\"msg\":\"fault\",\"signal\":\"x\"}").is_err());
    }
}
