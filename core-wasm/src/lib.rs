//! fsession-core as a wasm module with no imports: `alloc(len) -> ptr`, `dealloc(ptr, cap)` and
//! `process_json(ptr, len) -> (out_ptr << 32) | out_len` over [`fsession_core::api::handle_json`].
//! native-runner loads it in wasmtime and checks that it answers exactly as the native build.

/// Allocates `len` bytes for the host to write a request into.
#[no_mangle]
pub extern "C" fn alloc(len: u32) -> u32 {
    let mut v = Vec::<u8>::with_capacity(len as usize);
    let p = v.as_mut_ptr();
    std::mem::forget(v);
    p as usize as u32
}

/// Frees a buffer from [`alloc`] or a result of [`process_json`].
///
/// # Safety
/// `ptr` and `cap` must come from `alloc(cap)` or from a `process_json` result.
#[no_mangle]
pub unsafe extern "C" fn dealloc(ptr: u32, cap: u32) {
    // SAFETY: the caller passes a pointer and capacity this module handed out.
    drop(unsafe { Vec::from_raw_parts(ptr as usize as *mut u8, 0, cap as usize) });
}

/// Answers the JSON request at `ptr..ptr+len`.
///
/// # Safety
/// `ptr..ptr+len` must be a buffer from [`alloc`] holding the request.
#[no_mangle]
pub unsafe extern "C" fn process_json(ptr: u32, len: u32) -> u64 {
    // SAFETY: the caller wrote `len` bytes at `ptr`, a buffer from `alloc`.
    let input = unsafe { std::slice::from_raw_parts(ptr as usize as *const u8, len as usize) };
    let out = match std::str::from_utf8(input) {
        Ok(s) => fsession_core::api::handle_json(s),
        Err(_) => "{\"error\":\"request is not UTF-8\"}".to_string(),
    };
    let b = out.into_bytes().into_boxed_slice();
    let n = b.len();
    let p = Box::into_raw(b) as *mut u8;
    ((p as usize as u64) << 32) | n as u64
}
