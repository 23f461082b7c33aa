//! A small character cursor over one line of assembler text, with column tracking.

use serde::{Deserialize, Serialize};
use thiserror::Error;

/// An assembler error at a line and column (both 1-based).
#[derive(Clone, Debug, PartialEq, Eq, Error, Serialize, Deserialize)]
#[error("line {line}, column {column}: {message}")]
pub struct AsmError {
    /// 1-based line.
    pub line: usize,
    /// 1-based column (in characters).
    pub column: usize,
    /// What is wrong.
    pub message: String,
}

impl AsmError {
    /// Builds an error.
    pub fn new(line: usize, column: usize, message: impl Into<String>) -> Self {
        AsmError {
            line,
            column,
            message: message.into(),
        }
    }
}

/// Cursor over one line.
pub(crate) struct Cursor<'a> {
    s: &'a str,
    pos: usize,
    line: usize,
}

impl<'a> Cursor<'a> {
    pub(crate) fn new(s: &'a str, line: usize) -> Self {
        Cursor { s, pos: 0, line }
    }
    pub(crate) fn pos(&self) -> usize {
        self.pos
    }
    pub(crate) fn set_pos(&mut self, p: usize) {
        self.pos = p;
    }
    /// 1-based column of the current position.
    pub(crate) fn col(&self) -> usize {
        self.col_at(self.pos)
    }
    pub(crate) fn col_at(&self, pos: usize) -> usize {
        self.s[..pos].chars().count() + 1
    }
    pub(crate) fn rest(&self) -> &'a str {
        &self.s[self.pos..]
    }
    pub(crate) fn at_end(&self) -> bool {
        self.rest().trim().is_empty()
    }
    pub(crate) fn error(&self, msg: impl Into<String>) -> AsmError {
        AsmError::new(self.line, self.col(), msg)
    }
    pub(crate) fn error_at(&self, pos: usize, msg: impl Into<String>) -> AsmError {
        AsmError::new(self.line, self.col_at(pos), msg)
    }
    pub(crate) fn skip_ws(&mut self) {
        let r = self.rest();
        self.pos += r.len() - r.trim_start().len();
    }
    pub(crate) fn peek(&self) -> Option<char> {
        self.rest().chars().next()
    }
    /// Consumes `tok` (after optional whitespace) if it is next.
    pub(crate) fn eat(&mut self, tok: &str) -> bool {
        let save = self.pos;
        self.skip_ws();
        if self.rest().starts_with(tok) {
            self.pos += tok.len();
            true
        } else {
            self.pos = save;
            false
        }
    }
    /// Consumes `tok` or fails with "expected `tok`".
    pub(crate) fn expect(&mut self, tok: &str) -> Result<(), AsmError> {
        if self.eat(tok) {
            Ok(())
        } else {
            self.skip_ws();
            Err(self.error(format!("expected '{tok}'")))
        }
    }
    /// Consumes a word of `[A-Za-z_.][A-Za-z0-9_.]*` and returns it with its column.
    pub(crate) fn ident(&mut self) -> Option<(&'a str, usize)> {
        self.skip_ws();
        let r = self.rest();
        let mut end = 0;
        for (i, c) in r.char_indices() {
            let ok = c.is_ascii_alphabetic() || c == '_' || c == '.' || (i > 0 && c.is_ascii_digit());
            if !ok {
                break;
            }
            end = i + c.len_utf8();
        }
        if end == 0 {
            return None;
        }
        let col = self.col();
        self.pos += end;
        Some((&r[..end], col))
    }
    /// Consumes an integer literal: optional sign, decimal or `0x` hex.
    pub(crate) fn int(&mut self) -> Result<i128, AsmError> {
        self.skip_ws();
        let start = self.pos;
        let r = self.rest();
        let (neg, body) = if let Some(b) = r.strip_prefix('-') {
            (true, b)
        } else if let Some(b) = r.strip_prefix('+') {
            (false, b)
        } else {
            (false, r)
        };
        let sign_len = r.len() - body.len();
        let (radix, digits_start) = if body.starts_with("0x") || body.starts_with("0X") {
            (16, 2)
        } else {
            (10, 0)
        };
        let digits: &str = &body[digits_start..];
        let n = digits.chars().take_while(|c| c.is_digit(radix)).count();
        if n == 0 {
            return Err(self.error_at(start, "expected a number"));
        }
        let v = i128::from_str_radix(&digits[..n], radix).map_err(|_| self.error_at(start, "number too large"))?;
        self.pos += sign_len + digits_start + n;
        if self.peek().is_some_and(|c| c.is_ascii_alphanumeric() || c == '_') {
            return Err(self.error_at(start, "malformed number"));
        }
        Ok(if neg { -v } else { v })
    }
    /// An immediate that must fit 32 bits: signed decimal, or any 32-bit pattern in hex/decimal.
    pub(crate) fn imm32(&mut self) -> Result<i32, AsmError> {
        self.skip_ws();
        let start = self.pos;
        let v = self.int()?;
        to_imm32(v).ok_or_else(|| self.error_at(start, format!("immediate out of 32-bit range: {v}")))
    }
    /// A 64-bit immediate (signed or unsigned range).
    pub(crate) fn imm64(&mut self) -> Result<u64, AsmError> {
        self.skip_ws();
        let start = self.pos;
        let v = self.int()?;
        if v < i64::MIN as i128 || v > u64::MAX as i128 {
            return Err(self.error_at(start, format!("immediate out of 64-bit range: {v}")));
        }
        Ok(v as u64)
    }
}

/// Accepts any value that is an `i32` or a `u32` bit pattern.
pub(crate) fn to_imm32(v: i128) -> Option<i32> {
    if let Ok(x) = i32::try_from(v) {
        Some(x)
    } else if let Ok(x) = u32::try_from(v) {
        Some(x as i32)
    } else {
        None
    }
}
