//! The wasm build of fsession-core, run in wasmtime: the runner asks it for the fixups and the
//! trampoline bytes and requires them to equal the native build's, so the playground (which runs
//! that same wasm) shows exactly what runs here.

use fsession_core::api::{Answer, Request};
use wasmtime::{Engine, Instance, Memory, Module, Store, TypedFunc};

/// Environment variable naming a module serialised by [`compile_to_file`] (set by the parent
/// for its children, so the module is compiled once per `validate`).
pub const SERIALIZED_ENV: &str = "FSESSION_WASM_SERIALIZED";

/// Where the wasm build is by default.
pub fn default_module_path() -> std::path::PathBuf {
    if let Ok(p) = std::env::var("FSESSION_CORE_WASM") {
        return p.into();
    }
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../target/wasm32-unknown-unknown/release/fsession_core_wasm.wasm")
}

/// Why the wasm build could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// The module file does not read.
    #[error("{}: {source} (build it with: cargo build -p fsession-core-wasm --target wasm32-unknown-unknown --release)", path.display())]
    Read {
        /// The file.
        path: std::path::PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// The serialised module cannot be written.
    #[error("{}: {source}", path.display())]
    Write {
        /// The file.
        path: std::path::PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// wasmtime refused a step (compile, serialise, deserialise, instantiate, an export).
    #[error("wasm {step}: {source}")]
    Wasmtime {
        /// The step.
        step: &'static str,
        /// What wasmtime said.
        source: wasmtime::Error,
    },
    /// The module exports no memory.
    #[error("the module exports no memory")]
    NoMemory,
}

fn wasmtime_step(step: &'static str) -> impl FnOnce(wasmtime::Error) -> LoadError {
    move |source| LoadError::Wasmtime { step, source }
}

/// Compiles the module once and writes wasmtime's serialised form to `out`.
pub fn compile_to_file(wasm: &std::path::Path, out: &std::path::Path) -> Result<(), LoadError> {
    let engine = Engine::default();
    let bytes = std::fs::read(wasm).map_err(|source| LoadError::Read {
        path: wasm.to_path_buf(),
        source,
    })?;
    let module = Module::new(&engine, &bytes).map_err(wasmtime_step("module"))?;
    let ser = module.serialize().map_err(wasmtime_step("serialize"))?;
    std::fs::write(out, ser).map_err(|source| LoadError::Write {
        path: out.to_path_buf(),
        source,
    })
}

/// Why the wasm build could not answer a request.
#[derive(Debug, thiserror::Error)]
pub enum AskError {
    /// The request does not serialise.
    #[error("request: {0}")]
    Request(#[source] serde_json::Error),
    /// The module failed (memory or a trap).
    #[error(transparent)]
    Call(#[from] CallError),
    /// The answer is not an `Answer`.
    #[error("the wasm build's answer is not an answer: {0}")]
    Answer(#[source] serde_json::Error),
}

/// Why a call into the module failed.
#[derive(Debug, thiserror::Error)]
pub enum CallError {
    /// An export trapped.
    #[error("wasm {step}: {source}")]
    Trap {
        /// The export.
        step: &'static str,
        /// What wasmtime said.
        source: wasmtime::Error,
    },
    /// A range outside the module's memory.
    #[error("wasm memory: {len} bytes at {at:#x} are outside the module's memory")]
    Memory {
        /// Where.
        at: u32,
        /// How many bytes.
        len: u32,
    },
    /// The answer's bytes are not text.
    #[error("the wasm answer is not UTF-8")]
    NotUtf8,
}

/// An instantiated wasm core.
pub struct WasmCore {
    store: Store<()>,
    memory: Memory,
    alloc: TypedFunc<u32, u32>,
    dealloc: TypedFunc<(u32, u32), ()>,
    process: TypedFunc<(u32, u32), u64>,
}

impl WasmCore {
    /// Loads the module serialised by the parent (`SERIALIZED_ENV`), or compiles `wasm`.
    pub fn load() -> Result<WasmCore, LoadError> {
        let engine = Engine::default();
        let module = match std::env::var(SERIALIZED_ENV) {
            // SAFETY: the file was written by `compile_to_file` of this same binary, for an
            // engine with the same (default) configuration, in this validate run.
            Ok(p) => unsafe { Module::deserialize_file(&engine, &p) }.map_err(wasmtime_step("deserialize"))?,
            Err(_) => {
                let path = default_module_path();
                let bytes = std::fs::read(&path).map_err(|source| LoadError::Read { path, source })?;
                Module::new(&engine, &bytes).map_err(wasmtime_step("module"))?
            }
        };
        let mut store = Store::new(&engine, ());
        let inst = Instance::new(&mut store, &module, &[]).map_err(wasmtime_step("instantiate"))?;
        let memory = inst.get_memory(&mut store, "memory").ok_or(LoadError::NoMemory)?;
        Ok(WasmCore {
            alloc: inst
                .get_typed_func(&mut store, "alloc")
                .map_err(wasmtime_step("export alloc"))?,
            dealloc: inst
                .get_typed_func(&mut store, "dealloc")
                .map_err(wasmtime_step("export dealloc"))?,
            process: inst
                .get_typed_func(&mut store, "process_json")
                .map_err(wasmtime_step("export process_json"))?,
            memory,
            store,
        })
    }

    /// Asks the wasm build: the request as JSON in, its answer read back into the typed form. An
    /// answer that is not an [`Answer`] is an error, not a pass.
    pub fn ask(&mut self, req: &Request) -> Result<Answer, AskError> {
        let json = serde_json::to_string(req).map_err(AskError::Request)?;
        let out = self.call(&json)?;
        serde_json::from_str(&out).map_err(AskError::Answer)
    }

    /// Sends a JSON request, returns the JSON answer.
    pub fn call(&mut self, json: &str) -> Result<String, CallError> {
        let trap = |step: &'static str| move |source| CallError::Trap { step, source };
        let len = json.len() as u32;
        let p = self.alloc.call(&mut self.store, len).map_err(trap("alloc"))?;
        self.memory
            .write(&mut self.store, p as usize, json.as_bytes())
            .map_err(|_| CallError::Memory { at: p, len })?;
        let r = self
            .process
            .call(&mut self.store, (p, len))
            .map_err(trap("process_json"))?;
        self.dealloc.call(&mut self.store, (p, len)).map_err(trap("dealloc"))?;
        let (op, ol) = ((r >> 32) as u32, r as u32);
        let mut out = vec![0u8; ol as usize];
        self.memory
            .read(&self.store, op as usize, &mut out)
            .map_err(|_| CallError::Memory { at: op, len: ol })?;
        self.dealloc.call(&mut self.store, (op, ol)).map_err(trap("dealloc"))?;
        String::from_utf8(out).map_err(|_| CallError::NotUtf8)
    }
}
