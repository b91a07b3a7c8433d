//! Reversible masking: identifiers out, tokens in, and back.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::io::{Read, Write};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::catalogue::KindId;
use crate::detect::{Config, Detector, Match};
use crate::error::{Error, ErrorKind};
use crate::keys::{MasterKey, NamespaceKeys};
use crate::store::{Claim, DEFAULT_TTL, MappingStore, MemoryStore};
use crate::token;

/// How many collision attempts a value gets before masking fails. With 30-bit codes a second
/// attempt is already rare; eight means a namespace is near saturation.
const MAX_ATTEMPTS: u32 = 8;

/// Cached value ↔ token pairs live at most this long (and half the TTL), so that a store
/// that lost its data is claimed again soon.
const CACHE_FOR: Duration = Duration::from_secs(600);

/// Masks and unmasks text: identifiers become typed tokens such as `AWS_EC2_7KQ2XM`, and
/// tokens become identifiers again. Cheap to clone and safe to share between threads.
///
/// # Example
///
/// ```
/// use awsmask::Masker;
///
/// let masker = Masker::new()?;
/// let masked = masker.mask("instance i-0123456789abcdef0 is down")?;
/// assert!(masked.text().starts_with("instance AWS_EC2_"));
/// let answer = format!("Restart {} now.", &masked.text()[9..23]);
/// assert_eq!(masker.unmask(&answer)?, "Restart i-0123456789abcdef0 now.");
/// # Ok::<(), awsmask::Error>(())
/// ```
///
/// # Sync and async
///
/// Every method blocks the calling thread while the store works: call them from async code
/// through the runtime's blocking pool (`tokio::task::spawn_blocking`), never directly on an
/// executor thread.
#[derive(Clone)]
pub struct Masker {
    inner: Arc<Inner>,
}

struct Inner {
    det: Detector,
    store: Arc<dyn MappingStore>,
    /// kept to derive the keys of other namespaces ([`Masker::with_namespace`])
    master: MasterKey,
    keys: NamespaceKeys,
    /// keys rotated out, newest first: their tokens still unmask, no new token uses them
    previous_masters: Vec<MasterKey>,
    previous: Vec<NamespaceKeys>,
    ttl: Duration,
    cache_for: Duration,
    cache: Mutex<Cache>,
    threads: usize,
}

mod cache;
mod json;
mod sse;
mod stream;
use cache::Cache;
pub use sse::SseUnmasker;

use crate::fxhash::FxBuild;

/// The tokens of a batch of matches, back to back in one string: match `i` has the token at
/// `spans[which[i]]` in `text`.
#[derive(Default)]
struct BatchTokens {
    text: String,
    /// where each distinct token starts and ends in `text`
    spans: Vec<(u32, u32)>,
    which: Vec<u32>,
}

impl BatchTokens {
    /// The token of match `i`.
    fn get(&self, i: usize) -> &str {
        let (s, e) = self.spans[self.which[i] as usize];
        &self.text[s as usize..e as usize]
    }
}

impl fmt::Debug for Masker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Masker")
            .field("namespace", self.inner.keys.id())
            .field("store", &self.inner.store)
            .field("ttl", &self.inner.ttl)
            .finish_non_exhaustive()
    }
}

/// Builds a [`Masker`].
#[derive(Default)]
pub struct MaskerBuilder {
    config: Config,
    store: Option<Arc<dyn MappingStore>>,
    key: Option<MasterKey>,
    namespace: Option<String>,
    ttl: Option<Duration>,
    threads: Option<usize>,
    previous_keys: Vec<MasterKey>,
}

impl fmt::Debug for MaskerBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MaskerBuilder")
            .field("config", &self.config)
            .field("store", &self.store)
            .field("key", &self.key)
            .field("namespace", &self.namespace)
            .field("ttl", &self.ttl)
            .field("threads", &self.threads)
            .field("previous_keys", &self.previous_keys)
            .finish()
    }
}

impl MaskerBuilder {
    /// Detection settings (kinds, custom kinds, allowlist).
    #[must_use]
    pub fn configure(mut self, config: Config) -> MaskerBuilder {
        self.config = self.config.overwrite(config);
        self
    }

    /// The mapping store (default: a new in-memory store).
    #[must_use]
    pub fn store(mut self, store: Arc<dyn MappingStore>) -> MaskerBuilder {
        self.store = Some(store);
        self
    }

    /// The master key (default: a random key, which only this process knows).
    #[must_use]
    pub fn key(mut self, key: MasterKey) -> MaskerBuilder {
        self.key = Some(key);
        self
    }

    /// Master keys rotated out, newest first: tokens made with them still unmask (the store
    /// is asked in each of their namespaces in turn for the tokens the current key does not
    /// know), while every new token uses [`key`](Self::key). Rotate by making the current key
    /// the first previous one and setting a new key; drop a previous key once its tokens'
    /// TTL has passed.
    #[must_use]
    pub fn previous_keys(mut self, keys: impl IntoIterator<Item = MasterKey>) -> MaskerBuilder {
        self.previous_keys = keys.into_iter().collect();
        self
    }

    /// The namespace (default `default`): tokens of one namespace never unmask in another.
    #[must_use]
    pub fn namespace(mut self, namespace: impl Into<String>) -> MaskerBuilder {
        self.namespace = Some(namespace.into());
        self
    }

    /// How long a mapping lives after its last use (default 7 days).
    #[must_use]
    pub fn ttl(mut self, ttl: Duration) -> MaskerBuilder {
        self.ttl = Some(ttl);
        self
    }

    /// Threads for [`Masker::mask_stream`] (default 1; the output does not depend on it). With
    /// two or more, the calling thread claims tokens and writes, in order, while the others
    /// (`threads - 1`, scoped) find the identifiers of the next chunks: one thread per core
    /// keeps every core busy without making the writing thread wait for a core.
    #[must_use]
    pub fn threads(mut self, threads: usize) -> MaskerBuilder {
        self.threads = Some(threads.max(1));
        self
    }

    /// Builds the masker.
    ///
    /// # Errors
    ///
    /// Invalid detection settings, an empty namespace, a zero TTL, or no randomness for a
    /// key.
    pub fn build(self) -> Result<Masker, Error> {
        let det = Detector::with_config(&self.config)?;
        let namespace = self.namespace.unwrap_or_else(|| "default".to_owned());
        check_namespace(&namespace)?;
        let ttl = self.ttl.unwrap_or(DEFAULT_TTL);
        if ttl.is_zero() {
            return Err(Error::new(ErrorKind::Config, "the TTL must be positive"));
        }
        let key = match self.key {
            Some(k) => k,
            None => MasterKey::random()?,
        };
        let keys = NamespaceKeys::derive(&key, &namespace)?;
        let previous = self
            .previous_keys
            .iter()
            .map(|k| NamespaceKeys::derive(k, &namespace))
            .collect::<Result<Vec<_>, _>>()?;
        let store = self.store.unwrap_or_else(|| Arc::new(MemoryStore::new()));
        Ok(Masker {
            inner: Arc::new(Inner {
                det,
                store,
                master: key,
                keys,
                previous_masters: self.previous_keys,
                previous,
                ttl,
                cache_for: CACHE_FOR.min(ttl / 2),
                cache: Mutex::new(Cache::default()),
                threads: self.threads.unwrap_or(1),
            }),
        })
    }
}

/// The result of masking: the text and what was masked, by kind. Never holds an original
/// value.
#[derive(Clone)]
pub struct Masked<'h> {
    text: Cow<'h, str>,
    /// identifiers masked by kind index (named on demand: a map of owned names cost a tenth of
    /// the time of masking a short prompt)
    per_kind: Vec<usize>,
    det: Detector,
    counts: std::sync::OnceLock<BTreeMap<String, usize>>,
}

impl PartialEq for Masked<'_> {
    fn eq(&self, other: &Masked<'_>) -> bool {
        self.text == other.text && self.counts() == other.counts()
    }
}

impl Eq for Masked<'_> {}

impl fmt::Debug for Masked<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Masked")
            .field("text", &self.text)
            .field("counts", self.counts())
            .finish()
    }
}

impl<'h> Masked<'h> {
    /// The masked text (borrowed from the input when nothing was masked).
    #[must_use]
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The masked text, owned or borrowed.
    #[must_use]
    pub fn into_text(self) -> Cow<'h, str> {
        self.text
    }

    /// How many identifiers of each kind (by name) were masked.
    #[must_use]
    pub fn counts(&self) -> &BTreeMap<String, usize> {
        self.counts
            .get_or_init(|| count_map(&self.det, &self.per_kind))
    }

    /// How many identifiers were masked in all.
    #[must_use]
    pub fn total(&self) -> usize {
        self.per_kind.iter().sum()
    }
}

/// What [`Masker::mask_stream`] did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct StreamStats {
    /// Bytes read.
    pub bytes_in: u64,
    /// Bytes written.
    pub bytes_out: u64,
    /// Identifiers masked, by kind name.
    pub counts: BTreeMap<String, usize>,
}

impl Masker {
    /// A masker with every default: the built-in catalogue, a new in-memory store, a random
    /// key and the namespace `default`.
    ///
    /// # Errors
    ///
    /// When the operating system gives no randomness for the key.
    pub fn new() -> Result<Masker, Error> {
        Masker::builder().build()
    }

    /// A masker for namespace `namespace` that shares this one's detector, store, master key
    /// and settings: cheap (no automaton is built again), for a server that masks each
    /// tenant's or conversation's text in a namespace of its own.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Config`] for a namespace that is empty or longer than 256 bytes.
    pub fn with_namespace(&self, namespace: &str) -> Result<Masker, Error> {
        check_namespace(namespace)?;
        let inner = &*self.inner;
        Ok(Masker {
            inner: Arc::new(Inner {
                det: inner.det.clone(),
                store: Arc::clone(&inner.store),
                master: inner.master.clone(),
                keys: NamespaceKeys::derive(&inner.master, namespace)?,
                previous_masters: inner.previous_masters.clone(),
                previous: inner
                    .previous_masters
                    .iter()
                    .map(|k| NamespaceKeys::derive(k, namespace))
                    .collect::<Result<Vec<_>, _>>()?,
                ttl: inner.ttl,
                cache_for: inner.cache_for,
                cache: Mutex::new(Cache::default()),
                threads: inner.threads,
            }),
        })
    }

    /// A builder for every other setting.
    #[must_use]
    pub fn builder() -> MaskerBuilder {
        MaskerBuilder::default()
    }

    /// The detector this masker uses.
    #[must_use]
    pub fn detector(&self) -> &Detector {
        &self.inner.det
    }

    /// Masks every identifier in `text`. Fails closed: when any value cannot be masked (the
    /// store fails or refuses), the result is an error and no text.
    ///
    /// # Errors
    ///
    /// A store error, a full store, or a namespace so full that a value finds no free token.
    pub fn mask<'h>(&self, text: &'h str) -> Result<Masked<'h>, Error> {
        let mut out = String::new();
        let per_kind = self.mask_to(text, &mut out)?;
        Ok(Masked {
            text: if per_kind.is_empty() {
                Cow::Borrowed(text)
            } else {
                Cow::Owned(out)
            },
            per_kind,
            det: self.inner.det.clone(),
            counts: std::sync::OnceLock::new(),
        })
    }

    /// Like [`mask`](Self::mask), but writes the masked text into `out` (cleared first), so
    /// that hot loops reuse one buffer. Returns the counts by kind; when they are empty,
    /// nothing was masked and `out` holds a copy of `text`.
    ///
    /// # Errors
    ///
    /// As for [`mask`](Self::mask); `out` is then empty.
    pub fn mask_into(
        &self,
        text: &str,
        out: &mut String,
    ) -> Result<BTreeMap<String, usize>, Error> {
        let per_kind = self.mask_to(text, out)?;
        Ok(count_map(&self.inner.det, &per_kind))
    }

    /// Masks `text` into `out`; returns the counts by kind index, empty when nothing was
    /// masked.
    fn mask_to(&self, text: &str, out: &mut String) -> Result<Vec<usize>, Error> {
        out.clear();
        let h = text.as_bytes();
        let found: Vec<Match> = self.inner.det.find_iter(h).collect();
        let mut matches = Detector::propagate(h, found, &[], 0, h.len());
        if matches.is_empty() {
            out.push_str(text);
            return Ok(Vec::new());
        }
        unglue(h, &mut matches, 0, false)?;
        let tokens = self.tokens_for(h, &matches)?;
        out.reserve(text.len() + matches.len() * 8);
        let mut per_kind = vec![0usize; self.inner.det.kinds().len()];
        let mut last = 0;
        for (i, m) in matches.iter().enumerate() {
            out.push_str(&text[last..m.start()]);
            out.push_str(tokens.get(i));
            last = m.end();
            per_kind[m.kind().as_usize()] += 1;
        }
        out.push_str(&text[last..]);
        Ok(per_kind)
    }

    /// The token of every match, claiming new ones in one store call (plus one per round of
    /// collisions, which are rare).
    fn tokens_for(&self, h: &[u8], matches: &[Match]) -> Result<BatchTokens, Error> {
        let inner = &*self.inner;
        let now = Instant::now();
        let fresh_since = now.checked_sub(inner.cache_for);
        let min_age;
        // tokens are ~14 bytes: room for every match's token at once
        let mut batch = BatchTokens {
            text: String::with_capacity(matches.len() * 16),
            spans: Vec::with_capacity(matches.len()),
            which: Vec::with_capacity(matches.len()),
        };
        // a slot per token; a slot still without a token has an empty span
        let mut pending: Vec<(u32, KindId, &[u8])> = Vec::new();
        {
            let cache = inner.cache.lock().map_err(|_| poisoned())?;
            min_age = cache.min_age(fresh_since);
            // values without a cached token, each once: (kind, value) -> slot
            let mut missing: HashMap<(KindId, &[u8]), u32, FxBuild> = HashMap::default();
            let mut cached = Vec::with_capacity(matches.len());
            cache.tokens(h, matches, min_age, &mut cached);
            for (m, cached) in matches.iter().zip(cached) {
                let value = &h[m.range()];
                // a cached token gets a slot of its own: copying it is cheaper than a
                // second lookup to share one
                let slot = if let Some(t) = cached {
                    let s = batch.text.len() as u32;
                    batch.text.push_str(t);
                    batch.spans.push((s, batch.text.len() as u32));
                    batch.spans.len() as u32 - 1
                } else {
                    *missing.entry((m.kind(), value)).or_insert_with(|| {
                        batch.spans.push((0, 0));
                        let slot = batch.spans.len() as u32 - 1;
                        pending.push((slot, m.kind(), value));
                        slot
                    })
                };
                batch.which.push(slot);
            }
        }
        let mut attempt = 0;
        let mut won: Vec<(KindId, &[u8], String)> = Vec::new();
        while !pending.is_empty() {
            if attempt == MAX_ATTEMPTS {
                return Err(Error::new(
                    ErrorKind::StoreFull,
                    "a value found no free token after 8 attempts: the namespace is nearly full",
                ));
            }
            let mut names = Vec::with_capacity(pending.len());
            let mut sealed = Vec::with_capacity(pending.len());
            for &(_, kind, value) in &pending {
                let info = inner.det.kind(kind);
                let t = inner.keys.token(info.tag(), info.name(), value, attempt);
                sealed.push(inner.keys.seal(&t, value)?);
                names.push(t);
            }
            let claims: Vec<Claim<'_>> = names
                .iter()
                .zip(&sealed)
                .map(|(t, s)| Claim {
                    token: t,
                    sealed: s,
                })
                .collect();
            let answers = inner.store.claim(inner.keys.id(), &claims, inner.ttl)?;
            if answers.len() != pending.len() {
                return Err(Error::new(
                    ErrorKind::Store,
                    "the store answered a different number of claims",
                ));
            }
            let mut next = Vec::new();
            for ((&(slot, kind, value), t), answer) in pending.iter().zip(names).zip(answers) {
                let mine = match answer {
                    None => true,
                    Some(existing) => inner.keys.open(&t, &existing).is_some_and(|v| v == *value),
                };
                if mine {
                    let s = batch.text.len() as u32;
                    batch.text.push_str(&t);
                    batch.spans[slot as usize] = (s, batch.text.len() as u32);
                    won.push((kind, value, t));
                } else {
                    next.push((slot, kind, value));
                }
            }
            pending = next;
            attempt += 1;
        }
        if !won.is_empty() {
            let mut cache = inner.cache.lock().map_err(|_| poisoned())?;
            for (kind, value, t) in won {
                cache.insert(kind, value, &t, now);
            }
        }
        Ok(batch)
    }

    /// Puts the real values back for every token of this namespace in `text`, in one store
    /// call. Tokens may come back in another letter case or wrapped in Markdown; text that
    /// looks like a token but does not resolve in this namespace stays as it is.
    ///
    /// # Errors
    ///
    /// A store error, and [`ErrorKind::Store`] for a token whose stored mapping does not open
    /// (the store was altered or corrupted): a mapping lost that way is said, not passed over
    /// as an unknown token.
    pub fn unmask<'h>(&self, text: &'h str) -> Result<Cow<'h, str>, Error> {
        let spans = self.token_spans(text.as_bytes(), 0);
        if spans.is_empty() {
            return Ok(Cow::Borrowed(text));
        }
        let values = self.resolve(text.as_bytes(), &spans)?;
        if values.iter().all(Option::is_none) {
            return Ok(Cow::Borrowed(text));
        }
        let mut out = String::with_capacity(text.len());
        let mut last = 0;
        for ((s, e), v) in spans.iter().zip(&values) {
            if let Some(v) = v {
                out.push_str(&text[last..*s]);
                out.push_str(v);
                last = *e;
            }
        }
        out.push_str(&text[last..]);
        Ok(Cow::Owned(out))
    }

    /// Masks a Claude Messages API request body (`POST /v1/messages` or
    /// `/v1/messages/count_tokens`), giving the body and what was masked by kind: the text
    /// people and tools put there — `system`, the `content` of every message as a string or
    /// as blocks (`text` and what its `citations` quote, `tool_use.input` at any depth with
    /// its member names, `tool_result.content`, plain-text `document` sources and their
    /// `title` and `context`), and in `tools` their `description`s, `input_examples` and, in
    /// `input_schema`, every `description`, `title` and value of `enum`, `const`, `default`
    /// and `examples` — and nothing structural: `model`, roles, block types, ids, schema
    /// member names and types, base64 data, `thinking` and `redacted_thinking` blocks (a
    /// changed thinking text would break its signature).
    /// Strings are masked as they read after their JSON escapes (`arn:aws:s3:::b\/k` is an
    /// ARN); a string that changed is written again with the fewest escapes JSON needs, and
    /// every other byte is kept. All values go to the store in one call, and a name found
    /// in one string is masked wherever it appears alone in the others.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Input`] for a body that is not a JSON object, naming the byte where it
    /// goes wrong; store errors as for [`mask`](Self::mask). Nothing is returned then.
    pub fn mask_request_json<'b>(&self, body: &'b str) -> Result<Masked<'b>, Error> {
        let root = json::parse(body)?;
        let spans = json::request_strings(body, &root)?;
        let mut per_kind = Vec::new();
        let text = json::rewrite_with(body, &spans, |parts| {
            let (masked, counts) = self.mask_parts(parts)?;
            per_kind = counts;
            Ok(masked)
        })?;
        Ok(Masked {
            text,
            per_kind,
            det: self.inner.det.clone(),
            counts: std::sync::OnceLock::new(),
        })
    }

    /// Unmasks a Claude Messages API response body (not streamed): the strings of its
    /// content blocks (`text`, `tool_use.input` with its member names, blocks of other
    /// types but their structural members) and never `thinking` blocks. The result is always
    /// valid JSON; see [`mask_request_json`](Self::mask_request_json) for how strings are
    /// written. Bodies of another shape (an error) come back as they are.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Input`] for a body that is not JSON; store errors.
    pub fn unmask_response_json<'b>(&self, body: &'b str) -> Result<Cow<'b, str>, Error> {
        let root = json::parse(body)?;
        let spans = json::response_strings(body, &root);
        json::rewrite_with(body, &spans, |parts| self.unmask_parts(parts))
    }

    /// Masks several texts as one: one store call, and a name found in one is masked where
    /// it stands alone in the others. `None` for a text with nothing to mask; the counts by
    /// kind index, empty when nothing was masked.
    fn mask_parts(
        &self,
        parts: &[Cow<'_, str>],
    ) -> Result<(Vec<Option<String>>, Vec<usize>), Error> {
        let (joined, bounds) = join_parts(parts);
        let h = joined.as_bytes();
        let found: Vec<Match> = self.inner.det.find_iter(h).collect();
        let found = Detector::propagate(h, found, &[], 0, h.len());
        // every match inside one text: a user's pattern could match across the separator,
        // and then each text masks its piece
        let mut matches = Vec::with_capacity(found.len());
        let mut pi = 0;
        for m in found {
            let mut s = m.start();
            while s < m.end() {
                while bounds.get(pi).is_some_and(|b| b.1 <= s) {
                    pi += 1;
                }
                let Some(&(ps, pe)) = bounds.get(pi) else {
                    break;
                };
                let (cs, ce) = (s.max(ps), m.end().min(pe));
                if cs < ce {
                    matches.push(Match::new(cs, ce, m.kind()));
                }
                s = pe.max(s + 1);
            }
        }
        let mut out = vec![None; parts.len()];
        if matches.is_empty() {
            return Ok((out, Vec::new()));
        }
        // the separators are no word: widening stops at them
        unglue(h, &mut matches, 0, false)?;
        let tokens = self.tokens_for(h, &matches)?;
        let mut per_kind = vec![0usize; self.inner.det.kinds().len()];
        for m in &matches {
            per_kind[m.kind().as_usize()] += 1;
        }
        let mut i = 0;
        for (slot, &(ps, pe)) in out.iter_mut().zip(&bounds) {
            if matches.get(i).is_none_or(|m| m.start() >= pe) {
                continue;
            }
            let mut text = String::with_capacity(pe - ps + 16);
            let mut last = ps;
            while let Some(m) = matches.get(i).filter(|m| m.start() < pe) {
                text.push_str(&joined[last..m.start()]);
                text.push_str(tokens.get(i));
                last = m.end();
                i += 1;
            }
            text.push_str(&joined[last..pe]);
            *slot = Some(text);
        }
        Ok((out, per_kind))
    }

    /// Unmasks several texts with one store call. `None` for a text with nothing restored.
    fn unmask_parts(&self, parts: &[Cow<'_, str>]) -> Result<Vec<Option<String>>, Error> {
        let (joined, bounds) = join_parts(parts);
        let h = joined.as_bytes();
        let spans = self.token_spans(h, 0);
        let mut out = vec![None; parts.len()];
        if spans.is_empty() {
            return Ok(out);
        }
        let values = self.resolve(h, &spans)?;
        let mut i = 0;
        for (slot, &(ps, pe)) in out.iter_mut().zip(&bounds) {
            let mut text = String::new();
            let mut last = ps;
            while let Some(&(s, e)) = spans.get(i).filter(|t| t.0 < pe) {
                if let Some(v) = &values[i] {
                    text.push_str(&joined[last..s]);
                    text.push_str(v);
                    last = e;
                }
                i += 1;
            }
            if last > ps {
                text.push_str(&joined[last..pe]);
                *slot = Some(text);
            }
        }
        Ok(out)
    }

    /// Token-shaped spans in `h` that start at or after `from`.
    fn token_spans(&self, h: &[u8], from: usize) -> Vec<(usize, usize)> {
        let mut spans = Vec::new();
        self.inner.det.find_tokens(h, &mut |s, e| {
            if s >= from {
                spans.push((s, e));
            }
        });
        spans
    }

    /// The value behind each token span, if it resolves in this namespace.
    fn resolve(&self, h: &[u8], spans: &[(usize, usize)]) -> Result<Vec<Option<Arc<str>>>, Error> {
        let inner = &*self.inner;
        let now = Instant::now();
        let fresh_since = now.checked_sub(inner.cache_for);
        // tokens come back as they were sent (upper case) nearly always: borrow those
        let canon: Vec<Cow<'_, str>> = spans
            .iter()
            .map(|&(s, e)| {
                let t = &h[s..e];
                match std::str::from_utf8(t) {
                    Ok(t) if !t.bytes().any(|b| b.is_ascii_lowercase()) => Cow::Borrowed(t),
                    _ => Cow::Owned(token::canonical(t)),
                }
            })
            .collect();
        let mut out: Vec<Option<Arc<str>>> = vec![None; spans.len()];
        let mut ask: Vec<&str> = Vec::new();
        let mut ask_idx: HashMap<&str, usize, FxBuild> = HashMap::default();
        {
            let cache = inner.cache.lock().map_err(|_| poisoned())?;
            let min_age = cache.min_age(fresh_since);
            for (i, c) in canon.iter().enumerate() {
                if let Some(v) = cache.value(c, min_age) {
                    out[i] = Some(Arc::from(v));
                    continue;
                }
                if !ask_idx.contains_key(c.as_ref()) {
                    ask_idx.insert(c, ask.len());
                    ask.push(c);
                }
            }
        }
        if !ask.is_empty() {
            // the current key's namespace first, then those of keys rotated out, newest
            // first, each asked only for the tokens still unknown
            let mut opened: Vec<Option<Arc<str>>> = vec![None; ask.len()];
            for keys in std::iter::once(&inner.keys).chain(&inner.previous) {
                let left: Vec<usize> = (0..ask.len()).filter(|&k| opened[k].is_none()).collect();
                if left.is_empty() {
                    break;
                }
                let names: Vec<&str> = left.iter().map(|&k| ask[k]).collect();
                let found = inner.store.resolve(keys.id(), &names, inner.ttl)?;
                if found.len() != names.len() {
                    return Err(Error::new(
                        ErrorKind::Store,
                        "the store answered a different number of lookups",
                    ));
                }
                for ((&k, t), f) in left.iter().zip(&names).zip(found) {
                    let Some(sealed) = f else {
                        continue;
                    };
                    // a mapping under this key's namespace that does not open was altered or
                    // corrupted in the store: a lost mapping is an error, not a token left be
                    let value = keys
                        .open(t, &sealed)
                        .and_then(|v| String::from_utf8(v).ok())
                        .ok_or_else(|| {
                            Error::new(
                                ErrorKind::Store,
                                format!(
                                    "the stored mapping of {t} fails authentication: the store was altered or corrupted"
                                ),
                            )
                        })?;
                    opened[k] = Some(Arc::from(value));
                }
            }
            // a long text (an `unmask` of a file, a stream) asks for the same tokens batch
            // after batch: the next ones come from the cache, as in masking
            let mut cache = inner.cache.lock().map_err(|_| poisoned())?;
            for (t, v) in ask.iter().zip(&opened) {
                if let Some(v) = v {
                    cache.insert_resolved(v, t, now);
                }
            }
            drop(cache);
            for (i, c) in canon.iter().enumerate() {
                if out[i].is_none()
                    && let Some(&k) = ask_idx.get(c.as_ref())
                {
                    out[i].clone_from(&opened[k]);
                }
            }
        }
        Ok(out)
    }

    /// Masks a stream: reads `rdr` to its end and writes the masked text to `wtr`.
    ///
    /// # Memory usage
    ///
    /// Bounded: the reader is consumed in chunks of 1 MiB, of which at most eight are held.
    /// Nothing is written past the last fully masked point: on an error, what `wtr` received
    /// is a masked prefix of the input, never a half-masked identifier. The writer is not
    /// flushed.
    ///
    /// # Errors
    ///
    /// Input that is not UTF-8 (with its byte offset), a read or write error, or a store
    /// error.
    pub fn mask_stream(
        &self,
        mut rdr: impl Read,
        mut wtr: impl Write,
    ) -> Result<StreamStats, Error> {
        // the calling thread reads, masks and writes, and scans when it would wait; the
        // others scan
        stream::mask(
            self,
            &mut rdr,
            &mut wtr,
            self.inner.threads.saturating_sub(1),
            stream::SIZES,
        )
    }

    /// [`mask_stream`](Self::mask_stream) on `threads` threads, in chunks of `chunk` bytes
    /// scanned in pieces of about `piece` bytes: for tests and fuzzing, so that a short text
    /// crosses many of their borders. Not part of the stable API.
    ///
    /// # Errors
    ///
    /// As [`mask_stream`](Self::mask_stream).
    #[doc(hidden)]
    pub fn mask_stream_sized(
        &self,
        mut rdr: impl Read,
        mut wtr: impl Write,
        threads: usize,
        chunk: usize,
        piece: usize,
    ) -> Result<StreamStats, Error> {
        let chunk = chunk.max(1);
        let sizes = stream::Sizes {
            chunk,
            min_read: chunk.div_ceil(2),
            piece: piece.max(1),
        };
        stream::mask(self, &mut rdr, &mut wtr, threads.max(1) - 1, sizes)
    }

    /// A stream unmasker for an answer that arrives in pieces.
    #[must_use]
    pub fn stream_unmasker(&self) -> StreamUnmasker {
        StreamUnmasker {
            masker: self.clone(),
            buf: Vec::new(),
            emitted: 0,
            json: false,
        }
    }

    /// Restores the tokens of a streamed Messages API answer: see [`SseUnmasker`].
    #[must_use]
    pub fn sse_unmasker(&self) -> SseUnmasker {
        SseUnmasker::new(self.clone())
    }
}

/// Counts by kind index as counts by kind name, without the kinds of none.
fn count_map(det: &Detector, per_kind: &[usize]) -> BTreeMap<String, usize> {
    per_kind
        .iter()
        .enumerate()
        .filter(|&(_, &n)| n > 0)
        .map(|(k, &n)| (det.kinds()[k].name().to_owned(), n))
        .collect()
}

fn poisoned() -> Error {
    Error::new(
        ErrorKind::Store,
        "masker cache poisoned by a panic in another thread",
    )
}

/// Unmasks an answer that arrives in pieces (a streamed model response): each
/// [`push`](Self::push) returns the text that is ready, holding back only what may be the
/// start of a token; [`finish`](Self::finish) returns the rest. The concatenated output is
/// exactly [`Masker::unmask`] of the concatenated input, however the input was split.
#[derive(Debug)]
pub struct StreamUnmasker {
    masker: Masker,
    /// bytes not yet emitted, after up to `CONTEXT` bytes already emitted (for boundaries)
    buf: Vec<u8>,
    /// how many bytes at the start of `buf` were emitted already
    emitted: usize,
    /// the text is JSON (a tool's input as it streams): values are written as JSON string
    /// content, escaped where JSON needs it
    json: bool,
}

/// How far a match is widened to the edges of a word it is glued to.
const UNGLUE_MAX: usize = 64;

/// Widens every match glued to a letter, digit or `_` (a host name after `name_`, a URL right
/// after a letter, an identifier cut at `MAX_MATCH_LEN` inside a word) to the edges of that
/// word: a token glued to a word would not be read back as a token, and the text would not
/// come back. For the same reason, matches that touch (a name made of `#`s found twice in a
/// row) become one. Bytes before `from` are written already and are not widened into;
/// `after_token` says that they end with a token. Fails closed when a word runs on more than
/// 64 bytes or into another match, or when the first match touches that written token.
fn unglue(h: &[u8], matches: &mut Vec<Match>, from: usize, after_token: bool) -> Result<(), Error> {
    let refuse = || {
        Error::new(
            ErrorKind::Input,
            "an identifier runs into a long word around it: it cannot be masked so that it \
             comes back exactly",
        )
    };
    let glued_right = |e: usize| {
        h.get(e)
            .is_some_and(|&b| b.is_ascii_alphanumeric() || b == b'_')
    };
    for i in 0..matches.len() {
        let m = matches[i];
        let (mut s, mut e) = (m.start(), m.end());
        if crate::detect::left_ok(h, s) && !glued_right(e) {
            continue;
        }
        let floor = if i > 0 { matches[i - 1].end() } else { 0 }.max(from);
        while !crate::detect::left_ok(h, s) {
            if s <= floor || m.start() - s >= UNGLUE_MAX {
                return Err(refuse());
            }
            s -= 1;
        }
        let ceiling = matches.get(i + 1).map_or(h.len(), Match::start);
        while glued_right(e) {
            if e >= ceiling || e - m.end() >= UNGLUE_MAX {
                return Err(refuse());
            }
            e += 1;
        }
        matches[i] = Match::new(s, e, m.kind());
    }
    if after_token && matches.first().is_some_and(|m| m.start() == from) {
        return Err(refuse());
    }
    // two tokens side by side read back as one word, and neither as a token: one value
    matches.dedup_by(|next, prev| {
        let touch = next.start() == prev.end();
        if touch {
            *prev = Match::new(prev.start(), next.end(), prev.kind());
        }
        touch
    });
    Ok(())
}

fn check_namespace(namespace: &str) -> Result<(), Error> {
    if namespace.is_empty() || namespace.len() > 256 {
        return Err(Error::new(
            ErrorKind::Config,
            "a namespace is 1 to 256 bytes",
        ));
    }
    Ok(())
}

/// Joins texts with a separator no identifier or token crosses (a NUL between line breaks);
/// returns the joined text and where each text lies in it.
fn join_parts(parts: &[Cow<'_, str>]) -> (String, Vec<(usize, usize)>) {
    const SEP: &str = "\n\0\n";
    let mut joined = String::with_capacity(parts.iter().map(|p| p.len() + SEP.len()).sum());
    let mut bounds = Vec::with_capacity(parts.len());
    for p in parts {
        let s = joined.len();
        joined.push_str(p);
        bounds.push((s, joined.len()));
        joined.push_str(SEP);
    }
    (joined, bounds)
}

/// Bytes kept from emitted text to decide whether a token starts at a word boundary.
const CONTEXT: usize = 8;

impl StreamUnmasker {
    /// Adds a piece of the answer; returns the text that is ready to emit.
    ///
    /// # Errors
    ///
    /// A store error.
    pub fn push(&mut self, chunk: &str) -> Result<String, Error> {
        self.buf.extend_from_slice(chunk.as_bytes());
        let hold = hold_back(&self.buf, self.emitted);
        self.emit(hold)
    }

    /// Ends the answer; returns the rest of the text.
    ///
    /// # Errors
    ///
    /// A store error.
    pub fn finish(&mut self) -> Result<String, Error> {
        let out = self.emit(self.buf.len())?;
        self.buf.clear();
        self.emitted = 0;
        Ok(out)
    }

    fn emit(&mut self, upto: usize) -> Result<String, Error> {
        if upto <= self.emitted {
            return Ok(String::new());
        }
        let h = &self.buf[..upto];
        let spans = self.masker.token_spans(h, self.emitted);
        let values = if spans.is_empty() {
            Vec::new()
        } else {
            self.masker.resolve(h, &spans)?
        };
        let mut out = Vec::with_capacity(upto - self.emitted);
        let mut last = self.emitted;
        for ((s, e), v) in spans.iter().zip(&values) {
            if let Some(v) = v {
                out.extend_from_slice(&h[last..*s]);
                if self.json {
                    let mut esc = String::new();
                    json::escape_into(v, &mut esc);
                    out.extend_from_slice(esc.as_bytes());
                } else {
                    out.extend_from_slice(v.as_bytes());
                }
                last = *e;
            }
        }
        out.extend_from_slice(&h[last..upto]);
        // keep a little emitted context for the next boundary check
        let keep_from = upto.saturating_sub(CONTEXT);
        self.buf.drain(..keep_from);
        self.emitted = upto - keep_from;
        // the input was UTF-8 and cuts fall on ASCII bytes or the end
        String::from_utf8(out)
            .map_err(|_| Error::new(ErrorKind::Input, "internal: unmasked text is not UTF-8"))
    }
}

/// Where the text that may still become a token starts: the earliest position in the last
/// bytes of `buf` (not before `emitted`) from which the rest reads as the beginning of a
/// token (`a`, `aws_e`, `AWS_EC2_7KQ`, or a whole token whose end is not yet known).
fn hold_back(buf: &[u8], emitted: usize) -> usize {
    const MAX_TOKEN: usize = 4 + 17 + 1 + token::CODE_LEN;
    let from = buf.len().saturating_sub(MAX_TOKEN + 1).max(emitted);
    for s in from..buf.len() {
        let rest = &buf[s..];
        let head = &rest[..rest.len().min(4)];
        if !head.eq_ignore_ascii_case(&b"AWS_"[..head.len()]) {
            continue;
        }
        if rest.len() <= 4
            || rest[4..]
                .iter()
                .all(|&c| c.is_ascii_alphanumeric() || c == b'_')
        {
            return s;
        }
    }
    buf.len()
}

#[cfg(test)]
mod tests;
