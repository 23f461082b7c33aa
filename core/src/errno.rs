//! Kernel error numbers, as the kernel returns them (negated) from the paths this project models.

use serde::{Deserialize, Serialize};

/// An errno value the modelled kernel paths return.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[allow(clippy::upper_case_acronyms)]
pub enum Errno {
    /// Operation not permitted (1).
    EPERM,
    /// No such entry (2).
    ENOENT,
    /// Argument list too long (7): too many links, image over a page, cookie limit.
    E2BIG,
    /// Out of memory (12).
    ENOMEM,
    /// Bad address (14).
    EFAULT,
    /// Busy (16): duplicate link, freplace exclusivity.
    EBUSY,
    /// Invalid argument (22).
    EINVAL,
    /// Result out of range (34): rel32 or 16-bit jump offsets.
    ERANGE,
    /// Permission denied (13): verifier access violations.
    EACCES,
    /// Operation not supported (95), the user-visible one.
    EOPNOTSUPP,
    /// Kernel-internal "not supported" (524).
    ENOTSUPP,
}

impl Errno {
    /// The positive error number.
    pub const fn code(self) -> i32 {
        match self {
            Errno::EPERM => 1,
            Errno::ENOENT => 2,
            Errno::E2BIG => 7,
            Errno::ENOMEM => 12,
            Errno::EACCES => 13,
            Errno::EFAULT => 14,
            Errno::EBUSY => 16,
            Errno::EINVAL => 22,
            Errno::ERANGE => 34,
            Errno::EOPNOTSUPP => 95,
            Errno::ENOTSUPP => 524,
        }
    }
    /// The symbolic name.
    pub const fn name(self) -> &'static str {
        match self {
            Errno::EPERM => "EPERM",
            Errno::ENOENT => "ENOENT",
            Errno::E2BIG => "E2BIG",
            Errno::ENOMEM => "ENOMEM",
            Errno::EACCES => "EACCES",
            Errno::EFAULT => "EFAULT",
            Errno::EBUSY => "EBUSY",
            Errno::EINVAL => "EINVAL",
            Errno::ERANGE => "ERANGE",
            Errno::EOPNOTSUPP => "EOPNOTSUPP",
            Errno::ENOTSUPP => "ENOTSUPP",
        }
    }
}

impl std::fmt::Display for Errno {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({})", self.name(), -self.code())
    }
}
