//! Node.js bindings of awsmask: they only translate. Options become a core `MaskerBuilder`,
//! errors become `Error`s with a stable `code`, and `mask`/`unmask` run on the libuv pool.

use std::sync::Mutex;
use std::time::Duration;

use awsmask::{Config, ErrorKind, MasterKey, StoreSpec};
use napi::bindgen_prelude::*;
use napi_derive::napi;

/// Stable error codes, seen by JavaScript as `err.code`.
pub enum Code {
    InvalidConfig,
    StoreUnavailable,
    InvalidInput,
    Internal,
}

impl AsRef<str> for Code {
    fn as_ref(&self) -> &str {
        match self {
            Code::InvalidConfig => "INVALID_CONFIG",
            Code::StoreUnavailable => "STORE_UNAVAILABLE",
            Code::InvalidInput => "INVALID_INPUT",
            Code::Internal => "INTERNAL",
        }
    }
}

/// The one door from engine errors to JavaScript errors. Messages never hold an original value.
fn to_js(e: &awsmask::Error) -> Error<Code> {
    let code = match e.kind() {
        ErrorKind::Config | ErrorKind::Key => Code::InvalidConfig,
        ErrorKind::Store | ErrorKind::StoreFull | ErrorKind::Io => Code::StoreUnavailable,
        ErrorKind::Input => Code::InvalidInput,
        _ => Code::Internal,
    };
    Error::new(code, e.to_string())
}

/// Options of `new Masker(options)`.
#[napi(object)]
pub struct MaskerOptions {
    /// Where mappings live: `memory` (default), `file:PATH`, `redis://…`, `rediss://…`,
    /// `redis+cluster://…` or `rediss+cluster://…`.
    pub store: Option<String>,
    /// Namespace of the mappings (default `default`): tokens never unmask in another one.
    pub namespace: Option<String>,
    /// The master key, 64 hexadecimal digits (default: a random key for this process).
    pub key: Option<String>,
    /// Detect only these kinds (names as in `awsmask kinds`).
    pub kinds: Option<Vec<String>>,
    /// Values that are never masked.
    pub allow: Option<Vec<String>>,
    /// How long a mapping lives after its last use, in seconds (default 7 days).
    pub ttl: Option<f64>,
    /// A CA certificate (PEM file) to verify `rediss://` servers with.
    pub tls_ca_file: Option<String>,
    /// Master keys rotated out, newest first (64 hexadecimal digits each): their tokens still
    /// unmask; new tokens use `key`.
    pub previous_keys: Option<Vec<String>>,
}

/// An identifier found by `scan`: start and end in UTF-16 code units (JavaScript string
/// indices), and its kind.
#[napi(object)]
pub struct Finding {
    pub start: u32,
    pub end: u32,
    pub kind: String,
}

/// Masks and unmasks text. `mask`/`unmask` return Promises and run off the main thread;
/// `maskSync`/`unmaskSync` share their code.
#[napi]
pub struct Masker {
    inner: awsmask::Masker,
}

#[napi]
impl Masker {
    #[napi(constructor)]
    pub fn new(options: Option<MaskerOptions>) -> Result<Self, Code> {
        let o = options.unwrap_or(MaskerOptions {
            store: None,
            namespace: None,
            key: None,
            kinds: None,
            allow: None,
            ttl: None,
            tls_ca_file: None,
            previous_keys: None,
        });
        let spec =
            StoreSpec::parse(o.store.as_deref().unwrap_or("memory")).map_err(|e| to_js(&e))?;
        let mut config = Config::new();
        if let Some(kinds) = o.kinds {
            config = config.only(kinds);
        }
        if let Some(allow) = o.allow {
            config = config.allow(allow);
        }
        let mut builder = awsmask::Masker::builder()
            .configure(config)
            .namespace(o.namespace.as_deref().unwrap_or("default"));
        if let Some(key) = o.key {
            builder = builder.key(MasterKey::from_hex(&key).map_err(|e| to_js(&e))?);
        }
        if let Some(keys) = o.previous_keys {
            let keys = keys
                .iter()
                .map(|k| MasterKey::from_hex(k))
                .collect::<std::result::Result<Vec<_>, awsmask::Error>>()
                .map_err(|e| to_js(&e))?;
            builder = builder.previous_keys(keys);
        }
        if let Some(ttl) = o.ttl {
            if !(ttl.is_finite() && ttl > 0.0) {
                return Err(Error::new(
                    Code::InvalidConfig,
                    "ttl is a positive number of seconds",
                ));
            }
            builder = builder.ttl(Duration::from_secs_f64(ttl));
        }
        let store = spec
            .open_with_ca(o.tls_ca_file.as_deref().map(std::path::Path::new))
            .map_err(|e| to_js(&e))?;
        let inner = builder.store(store).build().map_err(|e| to_js(&e))?;
        Ok(Masker { inner })
    }

    fn work(&self, text: String, op: Op) -> Work {
        Work {
            masker: self.inner.clone(),
            text,
            op,
        }
    }

    /// Masks every identifier in `text` (a Promise; fails closed: rejects, no text).
    #[napi(ts_return_type = "Promise<string>")]
    pub fn mask(&self, text: String) -> AsyncTask<Work> {
        AsyncTask::new(self.work(text, Op::Mask))
    }

    /// Puts the real values back for the tokens of this namespace (a Promise).
    #[napi(ts_return_type = "Promise<string>")]
    pub fn unmask(&self, text: String) -> AsyncTask<Work> {
        AsyncTask::new(self.work(text, Op::Unmask))
    }

    /// `mask`, on the calling thread.
    #[napi]
    pub fn mask_sync(&self, text: String) -> Result<String, Code> {
        self.work(text, Op::Mask).run()
    }

    /// `unmask`, on the calling thread.
    #[napi]
    pub fn unmask_sync(&self, text: String) -> Result<String, Code> {
        self.work(text, Op::Unmask).run()
    }

    /// The identifiers in `text`, with UTF-16 offsets (JavaScript string indices).
    #[napi]
    pub fn scan(&self, text: String) -> Vec<Finding> {
        let det = self.inner.detector();
        let mut out = Vec::new();
        let (mut byte, mut unit) = (0usize, 0usize);
        let mut to_units = |target: usize| {
            unit += text[byte..target]
                .chars()
                .map(char::len_utf16)
                .sum::<usize>();
            byte = target;
            unit as u32
        };
        for m in det.find_iter(text.as_bytes()) {
            let start = to_units(m.start());
            let end = to_units(m.end());
            out.push(Finding {
                start,
                end,
                kind: det.kind(m.kind()).name().to_owned(),
            });
        }
        out
    }

    /// Masks a Claude Messages API request body (JSON text): the text people and tools
    /// wrote, never ids, base64 data or thinking blocks (a Promise of the body to send).
    #[napi(ts_return_type = "Promise<string>")]
    pub fn mask_request_json(&self, body: String) -> AsyncTask<Work> {
        AsyncTask::new(self.work(body, Op::MaskRequestJson))
    }

    /// Unmasks a Claude Messages API response body (JSON text, not streamed; a Promise).
    #[napi(ts_return_type = "Promise<string>")]
    pub fn unmask_response_json(&self, body: String) -> AsyncTask<Work> {
        AsyncTask::new(self.work(body, Op::UnmaskResponseJson))
    }

    /// `maskRequestJson`, on the calling thread.
    #[napi]
    pub fn mask_request_json_sync(&self, body: String) -> Result<String, Code> {
        self.work(body, Op::MaskRequestJson).run()
    }

    /// `unmaskResponseJson`, on the calling thread.
    #[napi]
    pub fn unmask_response_json_sync(&self, body: String) -> Result<String, Code> {
        self.work(body, Op::UnmaskResponseJson).run()
    }

    /// An unmasker for a streamed Messages API answer, fed the raw bytes of its server-sent
    /// events.
    #[napi]
    pub fn sse_unmasker(&self) -> SseUnmasker {
        SseUnmasker {
            inner: Mutex::new(self.inner.sse_unmasker()),
        }
    }

    /// A stream unmasker for an answer that arrives in pieces.
    #[napi]
    pub fn stream_unmasker(&self) -> StreamUnmasker {
        StreamUnmasker {
            inner: Mutex::new(self.inner.stream_unmasker()),
        }
    }
}

/// What a [`Work`] does.
#[derive(Clone, Copy)]
enum Op {
    Mask,
    Unmask,
    MaskRequestJson,
    UnmaskResponseJson,
}

/// The work behind the Promise methods and their Sync twins.
pub struct Work {
    masker: awsmask::Masker,
    text: String,
    op: Op,
}

impl Work {
    fn run(&self) -> Result<String, Code> {
        let m = &self.masker;
        let r = match self.op {
            Op::Mask => m.mask(&self.text).map(|x| x.into_text().into_owned()),
            Op::Unmask => m.unmask(&self.text).map(std::borrow::Cow::into_owned),
            Op::MaskRequestJson => m
                .mask_request_json(&self.text)
                .map(|x| x.into_text().into_owned()),
            Op::UnmaskResponseJson => m
                .unmask_response_json(&self.text)
                .map(std::borrow::Cow::into_owned),
        };
        r.map_err(|e| to_js(&e))
    }
}

impl Task for Work {
    type Output = String;
    type JsValue = String;

    /// A rejected Promise carries a napi status, not our code: the code goes first in the
    /// message (`STORE_UNAVAILABLE: ...`) and `awsmask.js` moves it to `err.code`.
    fn compute(&mut self) -> Result<String> {
        self.run().map_err(|e| {
            Error::new(
                Status::GenericFailure,
                format!("{}: {}", e.status.as_ref(), e.reason),
            )
        })
    }

    fn resolve(&mut self, _env: Env, output: String) -> Result<String> {
        Ok(output)
    }
}

/// Unmasks an answer that arrives in pieces: `push(chunk)` returns the text that is ready,
/// `finish()` the rest.
#[napi]
pub struct StreamUnmasker {
    inner: Mutex<awsmask::StreamUnmasker>,
}

#[napi]
impl StreamUnmasker {
    /// Adds a piece; returns the text ready to emit.
    #[napi]
    pub fn push(&self, chunk: String) -> Result<String, Code> {
        let mut u = self
            .inner
            .lock()
            .map_err(|_| Error::new(Code::Internal, "stream unmasker poisoned"))?;
        u.push(&chunk).map_err(|e| to_js(&e))
    }

    /// Ends the answer; returns the rest.
    #[napi]
    pub fn finish(&self) -> Result<String, Code> {
        let mut u = self
            .inner
            .lock()
            .map_err(|_| Error::new(Code::Internal, "stream unmasker poisoned"))?;
        u.finish().map_err(|e| to_js(&e))
    }
}

/// Unmasks a streamed Messages API answer: `push(chunk)` takes raw bytes of its server-sent
/// events and returns the bytes ready to pass on, `finish()` the rest.
#[napi]
pub struct SseUnmasker {
    inner: Mutex<awsmask::SseUnmasker>,
}

#[napi]
impl SseUnmasker {
    /// Adds bytes of the stream; returns the bytes ready to pass on.
    #[napi]
    pub fn push(&self, chunk: &[u8]) -> Result<Buffer, Code> {
        let mut u = self
            .inner
            .lock()
            .map_err(|_| Error::new(Code::Internal, "SSE unmasker poisoned"))?;
        u.push(chunk).map(Buffer::from).map_err(|e| to_js(&e))
    }

    /// Ends the stream; returns the rest.
    #[napi]
    pub fn finish(&self) -> Result<Buffer, Code> {
        let mut u = self
            .inner
            .lock()
            .map_err(|_| Error::new(Code::Internal, "SSE unmasker poisoned"))?;
        u.finish().map(Buffer::from).map_err(|e| to_js(&e))
    }
}
