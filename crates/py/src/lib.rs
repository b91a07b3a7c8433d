//! Python bindings of awsmask: they only translate. Options become a core `MaskerBuilder`,
//! results become Python objects, errors become exceptions under `awsmask.AwsmaskError`, and
//! every call into the engine runs with the GIL released.

#![forbid(unsafe_code)]

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Duration;

use awsmask::{Config, ErrorKind, MasterKey, StoreSpec};
use pyo3::create_exception;
use pyo3::exceptions::PyException;
use pyo3::prelude::*;
use pyo3::types::PyBytes;

create_exception!(
    _awsmask,
    AwsmaskError,
    PyException,
    "Base class of every awsmask error."
);
create_exception!(
    _awsmask,
    ConfigError,
    AwsmaskError,
    "Invalid settings: a store URL, a key, a kind name, a pattern."
);
create_exception!(
    _awsmask,
    StoreError,
    AwsmaskError,
    "The mapping store failed, timed out or is full."
);
create_exception!(
    _awsmask,
    InputError,
    AwsmaskError,
    "Input that cannot be processed (for example text that is not UTF-8)."
);

/// The one door from engine errors to exceptions. Messages never hold an original value.
fn to_py(e: &awsmask::Error) -> PyErr {
    let msg = e.to_string();
    match e.kind() {
        ErrorKind::Config | ErrorKind::Key => ConfigError::new_err(msg),
        ErrorKind::Store | ErrorKind::StoreFull | ErrorKind::Io => StoreError::new_err(msg),
        ErrorKind::Input => InputError::new_err(msg),
        _ => AwsmaskError::new_err(msg),
    }
}

/// A key from `bytes` (32) or `str` (64 hexadecimal digits).
fn key_from(key: &Bound<'_, PyAny>) -> PyResult<MasterKey> {
    if let Ok(b) = key.cast::<PyBytes>() {
        let bytes: [u8; 32] = b
            .as_bytes()
            .try_into()
            .map_err(|_| ConfigError::new_err("a key is 32 bytes or 64 hexadecimal digits"))?;
        return Ok(MasterKey::from_bytes(bytes));
    }
    if let Ok(s) = key.extract::<String>() {
        return MasterKey::from_hex(&s).map_err(|e| to_py(&e));
    }
    Err(ConfigError::new_err(
        "a key is 32 bytes or 64 hexadecimal digits",
    ))
}

/// One identifier found by `Masker.scan`: start and end in code points (Python string
/// indices), its kind, and its value when asked for.
#[pyclass(module = "awsmask", frozen, get_all)]
struct Finding {
    start: usize,
    end: usize,
    kind: String,
    value: Option<String>,
}

#[pymethods]
impl Finding {
    fn __repr__(&self) -> String {
        format!(
            "Finding(start={}, end={}, kind={:?})",
            self.start, self.end, self.kind
        )
    }
}

/// Masks and unmasks text. Safe to share between threads.
#[pyclass(module = "awsmask", name = "Masker", subclass, frozen)]
struct PyMasker {
    inner: awsmask::Masker,
}

#[pymethods]
impl PyMasker {
    #[new]
    #[pyo3(signature = (store="memory", *, namespace="default", key=None, kinds=None, allow=None, ttl=None, tls_ca_file=None, previous_keys=None))]
    #[expect(
        clippy::too_many_arguments,
        reason = "mirrors the Python keyword arguments"
    )]
    fn new(
        py: Python<'_>,
        store: &str,
        namespace: &str,
        key: Option<&Bound<'_, PyAny>>,
        kinds: Option<Vec<String>>,
        allow: Option<Vec<String>>,
        ttl: Option<f64>,
        tls_ca_file: Option<std::path::PathBuf>,
        previous_keys: Option<Vec<Bound<'_, PyAny>>>,
    ) -> PyResult<Self> {
        let spec = StoreSpec::parse(store).map_err(|e| to_py(&e))?;
        let key = key.map(key_from).transpose()?;
        let previous = previous_keys
            .unwrap_or_default()
            .iter()
            .map(key_from)
            .collect::<PyResult<Vec<_>>>()?;
        let mut config = Config::new();
        if let Some(kinds) = kinds {
            config = config.only(kinds);
        }
        if let Some(allow) = allow {
            config = config.allow(allow);
        }
        let mut builder = awsmask::Masker::builder()
            .configure(config)
            .namespace(namespace)
            .previous_keys(previous);
        if let Some(k) = key {
            builder = builder.key(k);
        }
        if let Some(ttl) = ttl {
            if !(ttl.is_finite() && ttl > 0.0) {
                return Err(ConfigError::new_err("ttl is a positive number of seconds"));
            }
            builder = builder.ttl(Duration::from_secs_f64(ttl));
        }
        // opening a store may connect to a server: without the GIL
        let inner = py
            .detach(move || {
                let store = spec.open_with_ca(tls_ca_file.as_deref())?;
                builder.store(store).build()
            })
            .map_err(|e| to_py(&e))?;
        Ok(PyMasker { inner })
    }

    /// Masks every identifier in `text`; fails closed (an exception, no text).
    #[pyo3(signature = (text, /))]
    fn mask(&self, py: Python<'_>, text: &str) -> PyResult<String> {
        py.detach(|| self.inner.mask(text).map(|m| m.into_text().into_owned()))
            .map_err(|e| to_py(&e))
    }

    /// Masks `text` and returns `(masked_text, counts_by_kind)`.
    #[pyo3(signature = (text, /))]
    fn mask_detailed(
        &self,
        py: Python<'_>,
        text: &str,
    ) -> PyResult<(String, BTreeMap<String, usize>)> {
        py.detach(|| {
            self.inner.mask(text).map(|m| {
                let counts = m.counts().clone();
                (m.into_text().into_owned(), counts)
            })
        })
        .map_err(|e| to_py(&e))
    }

    /// Puts the real values back for the tokens of this namespace.
    #[pyo3(signature = (text, /))]
    fn unmask(&self, py: Python<'_>, text: &str) -> PyResult<String> {
        py.detach(|| self.inner.unmask(text).map(std::borrow::Cow::into_owned))
            .map_err(|e| to_py(&e))
    }

    /// The identifiers in `text`, with code-point offsets; values only when asked for.
    #[pyo3(signature = (text, /, *, with_values=false))]
    fn scan(&self, py: Python<'_>, text: &str, with_values: bool) -> Vec<Finding> {
        let det = self.inner.detector();
        let found: Vec<awsmask::Match> = py.detach(|| det.find_iter(text.as_bytes()).collect());
        // byte offsets to code points, in one walk over the text
        let mut out = Vec::with_capacity(found.len());
        let (mut byte, mut cp) = (0usize, 0usize);
        let mut to_cp = |target: usize| {
            cp += text[byte..target].chars().count();
            byte = target;
            cp
        };
        for m in found {
            let start = to_cp(m.start());
            let end = to_cp(m.end());
            out.push(Finding {
                start,
                end,
                kind: det.kind(m.kind()).name().to_owned(),
                value: with_values.then(|| text[m.range()].to_owned()),
            });
        }
        out
    }

    /// Masks a Claude Messages API request body (JSON text): the text people and tools
    /// wrote, never ids, base64 data or thinking blocks. Returns the body to send.
    #[pyo3(signature = (body, /))]
    fn mask_request_json(&self, py: Python<'_>, body: &str) -> PyResult<String> {
        py.detach(|| {
            self.inner
                .mask_request_json(body)
                .map(|m| m.into_text().into_owned())
        })
        .map_err(|e| to_py(&e))
    }

    /// Unmasks a Claude Messages API response body (JSON text, not streamed).
    #[pyo3(signature = (body, /))]
    fn unmask_response_json(&self, py: Python<'_>, body: &str) -> PyResult<String> {
        py.detach(|| {
            self.inner
                .unmask_response_json(body)
                .map(std::borrow::Cow::into_owned)
        })
        .map_err(|e| to_py(&e))
    }

    /// An unmasker for a streamed Messages API answer, fed its raw server-sent event bytes.
    fn sse_unmasker(&self) -> SseUnmasker {
        SseUnmasker {
            inner: Mutex::new(self.inner.sse_unmasker()),
        }
    }

    /// A stream unmasker for an answer that arrives in pieces.
    fn stream_unmasker(&self) -> StreamUnmasker {
        StreamUnmasker {
            inner: Mutex::new(self.inner.stream_unmasker()),
        }
    }

    fn __repr__(&self) -> String {
        format!("{:?}", self.inner)
    }
}

/// Unmasks an answer that arrives in pieces: `push(chunk)` returns the text that is ready,
/// `finish()` the rest.
#[pyclass(module = "awsmask", frozen)]
struct StreamUnmasker {
    inner: Mutex<awsmask::StreamUnmasker>,
}

#[pymethods]
impl StreamUnmasker {
    /// Adds a piece; returns the text ready to emit.
    #[pyo3(signature = (chunk, /))]
    fn push(&self, py: Python<'_>, chunk: &str) -> PyResult<String> {
        let r = py.detach(|| self.inner.lock().ok().map(|mut u| u.push(chunk)));
        r.ok_or_else(poisoned)?.map_err(|e| to_py(&e))
    }

    /// Ends the answer; returns the rest.
    fn finish(&self, py: Python<'_>) -> PyResult<String> {
        let r = py.detach(|| self.inner.lock().ok().map(|mut u| u.finish()));
        r.ok_or_else(poisoned)?.map_err(|e| to_py(&e))
    }
}

/// Unmasks a streamed Messages API answer: `push(chunk)` takes raw bytes of its server-sent
/// events and returns the bytes ready to pass on, `finish()` the rest.
#[pyclass(module = "awsmask", frozen)]
struct SseUnmasker {
    inner: Mutex<awsmask::SseUnmasker>,
}

#[pymethods]
impl SseUnmasker {
    /// Adds bytes of the stream; returns the bytes ready to pass on.
    #[pyo3(signature = (chunk, /))]
    fn push<'py>(&self, py: Python<'py>, chunk: &[u8]) -> PyResult<Bound<'py, PyBytes>> {
        let r = py.detach(|| self.inner.lock().ok().map(|mut u| u.push(chunk)));
        let out = r.ok_or_else(poisoned)?.map_err(|e| to_py(&e))?;
        Ok(PyBytes::new(py, &out))
    }

    /// Ends the stream; returns the rest.
    fn finish<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyBytes>> {
        let r = py.detach(|| self.inner.lock().ok().map(|mut u| u.finish()));
        let out = r.ok_or_else(poisoned)?.map_err(|e| to_py(&e))?;
        Ok(PyBytes::new(py, &out))
    }
}

/// A panic in another thread left the unmasker in an unknown state: refuse it.
fn poisoned() -> PyErr {
    StoreError::new_err("stream unmasker poisoned by a panic in another thread")
}

/// The list of kinds: `(name, tag, default_on, description)`.
#[pyfunction]
fn kinds() -> Vec<(String, String, bool, String)> {
    awsmask::Detector::new()
        .kinds()
        .iter()
        .map(|k| {
            (
                k.name().to_owned(),
                k.tag().to_owned(),
                k.default_on(),
                k.about().to_owned(),
            )
        })
        .collect()
}

#[pymodule(gil_used = false)]
fn _awsmask(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    m.add_class::<PyMasker>()?;
    m.add_class::<StreamUnmasker>()?;
    m.add_class::<SseUnmasker>()?;
    m.add_class::<Finding>()?;
    m.add_function(wrap_pyfunction!(kinds, m)?)?;
    m.add("AwsmaskError", py.get_type::<AwsmaskError>())?;
    m.add("ConfigError", py.get_type::<ConfigError>())?;
    m.add("StoreError", py.get_type::<StoreError>())?;
    m.add("InputError", py.get_type::<InputError>())?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
