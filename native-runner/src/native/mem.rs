//! Executable memory: mapped read+write, filled, then switched to read+execute. No page is ever
//! writable and executable at once.

use std::ptr::NonNull;

/// Why the code region could not be made or filled.
#[derive(Debug, thiserror::Error)]
pub enum MemError {
    /// `mmap` failed.
    #[error("mmap of {len} bytes failed: {source}")]
    Map {
        /// The length asked for.
        len: usize,
        /// The OS error.
        source: std::io::Error,
    },
    /// A write after the region became executable.
    #[error("the code region is already executable")]
    Executable,
    /// Code that does not fit.
    #[error("code of {len} bytes at offset {off} does not fit the {region}-byte region")]
    DoesNotFit {
        /// Its length.
        len: usize,
        /// Where it was to go.
        off: usize,
        /// The region's length.
        region: usize,
    },
    /// `mprotect` failed.
    #[error("mprotect failed: {0}")]
    Protect(std::io::Error),
}

/// An anonymous mapping that holds generated code.
pub struct CodeRegion {
    base: NonNull<u8>,
    len: usize,
    executable: bool,
}

impl CodeRegion {
    /// Maps `len` bytes read+write.
    pub fn new(len: usize) -> Result<CodeRegion, MemError> {
        let len = len.div_ceil(4096) * 4096;
        // SAFETY: an anonymous private mapping with no fixed address; checked for MAP_FAILED.
        let p = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                -1,
                0,
            )
        };
        let failed = |source| MemError::Map { len, source };
        if p == libc::MAP_FAILED {
            return Err(failed(std::io::Error::last_os_error()));
        }
        let base = NonNull::new(p as *mut u8).ok_or_else(|| failed(std::io::Error::other("mmap returned NULL")))?;
        Ok(CodeRegion {
            base,
            len,
            executable: false,
        })
    }

    /// Address of the first byte.
    pub fn addr(&self) -> u64 {
        self.base.as_ptr() as u64
    }

    /// Copies `bytes` to offset `off` (only while writable).
    pub fn write(&mut self, off: usize, bytes: &[u8]) -> Result<(), MemError> {
        if self.executable {
            return Err(MemError::Executable);
        }
        if off.checked_add(bytes.len()).is_none_or(|end| end > self.len) {
            return Err(MemError::DoesNotFit {
                len: bytes.len(),
                off,
                region: self.len,
            });
        }
        // SAFETY: the range was checked to lie inside the mapping, which is writable.
        unsafe { std::ptr::copy_nonoverlapping(bytes.as_ptr(), self.base.as_ptr().add(off), bytes.len()) };
        Ok(())
    }

    /// Switches the whole region to read+execute.
    pub fn make_executable(&mut self) -> Result<(), MemError> {
        // SAFETY: the pointer and length are those of our own mapping.
        let r = unsafe {
            libc::mprotect(
                self.base.as_ptr() as *mut libc::c_void,
                self.len,
                libc::PROT_READ | libc::PROT_EXEC,
            )
        };
        if r != 0 {
            return Err(MemError::Protect(std::io::Error::last_os_error()));
        }
        self.executable = true;
        Ok(())
    }
}

impl Drop for CodeRegion {
    fn drop(&mut self) {
        // SAFETY: unmapping our own mapping; nothing points into it after the owner drops it.
        unsafe { libc::munmap(self.base.as_ptr() as *mut libc::c_void, self.len) };
    }
}

/// An anonymous shared read+write mapping: a forked child's stores are the parent's.
pub struct Shared {
    p: *mut u8,
    len: usize,
}

impl Shared {
    /// Maps `len` bytes.
    pub fn new(len: usize) -> Result<Shared, std::io::Error> {
        // SAFETY: an anonymous shared mapping with no fixed address; checked for MAP_FAILED.
        let p = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED | libc::MAP_ANONYMOUS,
                -1,
                0,
            )
        };
        if p == libc::MAP_FAILED {
            return Err(std::io::Error::last_os_error());
        }
        Ok(Shared { p: p.cast(), len })
    }
    /// Address of the first byte.
    pub fn addr(&self) -> u64 {
        self.p as u64
    }
    /// The bytes.
    pub fn bytes(&mut self) -> &mut [u8] {
        // SAFETY: `p` is a live mapping of `len` bytes owned by self.
        unsafe { std::slice::from_raw_parts_mut(self.p, self.len) }
    }
}

impl Drop for Shared {
    fn drop(&mut self) {
        // SAFETY: unmapping the mapping this value owns, once.
        unsafe { libc::munmap(self.p.cast(), self.len) };
    }
}
