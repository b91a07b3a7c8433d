//! The detector: finds AWS identifiers in text.
//!
//! Detection runs a few passes over the input, each anchored on something cheap to find (one
//! classified pass for `-`, `:`, `=` and digits, see `events`; `memchr` for rare bytes; one
//! packed multi-literal search for `arn:`, `.amazonaws.com`, `AKIA`… and one for the prose
//! phrases that name resources), and verifies each anchor with a hand-written check of
//! bounded length. Every pass is linear in the input;
//! every check looks at most a bounded number of bytes around its anchor, so the whole scan is
//! linear. The candidates of all passes are then resolved into non-overlapping, leftmost
//! matches, the longest winning at a position (ties go to the kind listed first in the
//! catalogue).

mod bytes;
mod context;
mod events;
mod hosts;
mod ids;
mod names;
mod net;
pub(crate) mod pool;
mod stream;

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::sync::Arc;

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};
use regex_automata::meta::Regex;
use regex_automata::util::syntax;

pub(crate) use self::bytes::left_ok;
pub(crate) use self::stream::MARGIN;
pub use self::stream::StreamScanner;
use crate::catalogue::{K, KindId, KindInfo, builtin_kinds};
use crate::error::{Error, ErrorKind};

/// The longest identifier the detector reports, in bytes. Longer candidates (a session token
/// or ARN beyond this length) are cut here, consistently, so that streaming and one-shot
/// scanning agree.
pub const MAX_MATCH_LEN: usize = 4096;

/// How far any check looks before the start or after the end of a match, in bytes.
pub(crate) const MAX_CONTEXT: usize = 512;

/// The smallest part of a window worth a thread of its own.
const PAR_MIN_PART: usize = 256 * 1024;

/// The piece of a window a thread takes at a time, when the window is large: threads that
/// finish early take more pieces, so none waits long for the others.
const PAR_PIECE: usize = 1 << 20;

/// Kinds whose values are found by their context: their other occurrences are propagated.
const PROPAGATES: u128 = {
    const CONTEXT_KINDS: &[K] = &[
        K::S3Bucket,
        K::LambdaFunction,
        K::DynamodbTable,
        K::EcsCluster,
        K::EksCluster,
        K::LogGroup,
        K::KmsKeyId,
        K::ApiGatewayId,
        K::SecretAccessKey,
        K::SessionToken,
        K::CanonicalUserId,
        K::ResourceName,
    ];
    let mut bits = 0u128;
    let mut i = 0;
    while i < CONTEXT_KINDS.len() {
        assert!((CONTEXT_KINDS[i] as u16) < 128);
        bits |= 1 << CONTEXT_KINDS[i] as u16;
        i += 1;
    }
    bits
};

/// Whether other occurrences of a value of this kind are propagated (a bit test: it runs
/// for every match of a large text).
pub(crate) fn propagates(kind: KindId) -> bool {
    kind.as_usize() < 128 && PROPAGATES >> kind.as_usize() & 1 == 1
}

/// One identifier found in a text: a byte range and its kind.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Match {
    start: usize,
    end: usize,
    kind: KindId,
}

impl Match {
    pub(crate) fn new(start: usize, end: usize, kind: KindId) -> Match {
        Match { start, end, kind }
    }

    /// Byte offset where the identifier starts.
    #[must_use]
    pub fn start(&self) -> usize {
        self.start
    }

    /// Byte offset just past the identifier.
    #[must_use]
    pub fn end(&self) -> usize {
        self.end
    }

    /// The byte range of the identifier.
    #[must_use]
    pub fn range(&self) -> std::ops::Range<usize> {
        self.start..self.end
    }

    /// Its kind; resolve it with [`Detector::kind`].
    #[must_use]
    pub fn kind(&self) -> KindId {
        self.kind
    }

    /// Length in bytes.
    #[must_use]
    pub fn len(&self) -> usize {
        self.end - self.start
    }

    /// Whether the match is empty (never true for matches the detector reports).
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.start == self.end
    }

    pub(crate) fn offset(self, by: usize) -> Match {
        Match {
            start: self.start + by,
            end: self.end + by,
            kind: self.kind,
        }
    }

    pub(crate) fn shifted_back(self, by: usize) -> Match {
        Match {
            start: self.start - by,
            end: self.end - by,
            kind: self.kind,
        }
    }
}

/// Collects candidates from the rule families.
#[derive(Default)]
pub(crate) struct Sink {
    cands: Vec<Match>,
    /// bucket names of `Name` keys with neither a `"Buckets"` key nor a `]` between the start
    /// of the scanned slice and them: buckets if a `"Buckets": [` list is open where the
    /// slice starts, which only the text before the slice tells (see [`Lists`])
    if_listed: Vec<Match>,
    /// where the `"Buckets"` keys of the slice start
    list_keys: Vec<usize>,
}

thread_local! {
    /// A candidate buffer kept between scans on this thread: a prompt's scan then allocates
    /// nothing for its candidates.
    static CANDS: std::cell::Cell<Vec<Match>> = const { std::cell::Cell::new(Vec::new()) };
}

impl Sink {
    /// A sink with this thread's kept buffer (empty).
    fn pooled() -> Sink {
        Sink {
            cands: CANDS.with(std::cell::Cell::take),
            ..Sink::default()
        }
    }

    /// Gives a buffer back to this thread for the next scan, unless it grew large.
    fn recycle(mut cands: Vec<Match>) {
        if cands.capacity() <= 1 << 14 {
            cands.clear();
            CANDS.with(|c| c.set(cands));
        }
    }
}

impl Sink {
    /// A bucket name that counts only inside an open `"Buckets"` list (see `if_listed`).
    pub(crate) fn push_if_listed(&mut self, start: usize, end: usize) {
        self.if_listed.push(Match {
            start,
            end,
            kind: K::S3Bucket.id(),
        });
    }

    /// A `"Buckets"` key starts at `at`.
    pub(crate) fn list_key(&mut self, at: usize) {
        self.list_keys.push(at);
    }

    #[inline]
    pub(crate) fn push(&mut self, start: usize, end: usize, kind: K) {
        debug_assert!(start < end);
        self.cands.push(Match {
            start,
            end,
            kind: kind.id(),
        });
    }
}

/// The text behind a batch of [`Detector::find_read`]: the stream's bytes from offset
/// [`start`](Self::start) on, which hold every match of the batch and all of its part.
#[derive(Clone, Copy)]
pub struct StreamText<'a> {
    start: usize,
    bytes: &'a [u8],
}

impl<'a> StreamText<'a> {
    /// The stream offset of the first byte held.
    #[must_use]
    pub fn start(&self) -> usize {
        self.start
    }

    /// The bytes held, from [`start`](Self::start) on.
    #[must_use]
    pub fn bytes(&self) -> &'a [u8] {
        self.bytes
    }

    /// The bytes at the stream offsets `r`, if they are held.
    #[must_use]
    pub fn get(&self, r: std::ops::Range<usize>) -> Option<&'a [u8]> {
        let s = r.start.checked_sub(self.start)?;
        self.bytes.get(s..r.end.checked_sub(self.start)?)
    }
}

impl fmt::Debug for StreamText<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // the text holds identifiers: where it is and how long, never what
        f.debug_struct("StreamText")
            .field("start", &self.start)
            .field("len", &self.bytes.len())
            .finish()
    }
}

/// Which matches of a scan to report: those starting in `[from, to)` and at or after
/// `covered` (all relative to the scanned slice), shifted by `base` on output.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Window {
    pub(crate) from: usize,
    pub(crate) to: usize,
    pub(crate) covered: usize,
    pub(crate) base: usize,
    /// a `"Buckets": [` list is open at `from`
    pub(crate) listed: bool,
}

impl Window {
    /// All of a text, from its start.
    pub(crate) fn whole() -> Window {
        Window {
            from: 0,
            to: usize::MAX,
            covered: 0,
            base: 0,
            listed: false,
        }
    }
}

/// What a scan of one piece of a window found: its candidates, the bucket names that count
/// only if a `"Buckets"` list is open where the piece starts, and whether the piece opens
/// (`Some(true)`) or closes (`Some(false)`) one for the text after it, or neither (`None`).
pub(crate) struct Piece {
    cands: Vec<Match>,
    if_listed: Vec<Match>,
    lists: Option<bool>,
}

/// The candidates of pieces that follow each other, in order, with the bucket names of
/// those that start inside an open `"Buckets"` list; `listed`: one is open where the first
/// piece starts, and, on return, where the last one ends.
pub(crate) fn join_pieces(
    pieces: impl IntoIterator<Item = Piece>,
    listed: &mut bool,
) -> Vec<Match> {
    let mut cands = Vec::new();
    for p in pieces {
        cands.extend(p.cands);
        if *listed {
            cands.extend(p.if_listed);
        }
        *listed = p.lists.unwrap_or(*listed);
    }
    cands
}

/// Whether `h[from..to]` opens (`Some(true)`) or closes (`Some(false)`) a `"Buckets"` list
/// for the text after it, or neither: its last `"Buckets"` key (`keys`) or `]`, whichever
/// comes last, as the key tracker of [`context`] decides for a `Name` key.
fn list_change(h: &[u8], keys: &[usize], from: usize, to: usize) -> Option<bool> {
    let to = to.min(h.len());
    let key = keys
        .iter()
        .copied()
        .filter(|k| (from..to).contains(k))
        .max();
    let bracket = memchr::memrchr(b']', h.get(from..to).unwrap_or_default()).map(|i| from + i);
    match (key, bracket) {
        (None, None) => None,
        (Some(k), Some(c)) => Some(c < k),
        (k, _) => Some(k.is_some()),
    }
}

/// Configuration of a [`Detector`]. Every field is optional so that configurations merge;
/// unset fields take the defaults.
#[derive(Clone, Default)]
pub struct Config {
    enable: Option<Vec<String>>,
    disable: Option<Vec<String>>,
    custom: Vec<(String, String)>,
    allow: Vec<String>,
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // the allowlist holds real identifiers: show how many, never which
        f.debug_struct("Config")
            .field("enable", &self.enable)
            .field("disable", &self.disable)
            .field(
                "custom",
                &self.custom.iter().map(|(n, _)| n).collect::<Vec<_>>(),
            )
            .field("allow", &format_args!("[{} values]", self.allow.len()))
            .finish_non_exhaustive()
    }
}

impl Config {
    /// A configuration with every default.
    #[must_use]
    pub fn new() -> Config {
        Config::default()
    }

    /// Turns these kinds on (by name), including kinds that are off by default.
    #[must_use]
    pub fn enable<I: IntoIterator<Item = S>, S: Into<String>>(mut self, kinds: I) -> Config {
        self.enable
            .get_or_insert_with(Vec::new)
            .extend(kinds.into_iter().map(Into::into));
        self
    }

    /// Turns these kinds off (by name).
    #[must_use]
    pub fn disable<I: IntoIterator<Item = S>, S: Into<String>>(mut self, kinds: I) -> Config {
        self.disable
            .get_or_insert_with(Vec::new)
            .extend(kinds.into_iter().map(Into::into));
        self
    }

    /// Turns on exactly these kinds (by name) and every other built-in kind off.
    #[must_use]
    pub fn only<I: IntoIterator<Item = S>, S: Into<String>>(self, kinds: I) -> Config {
        let kinds: Vec<String> = kinds.into_iter().map(Into::into).collect();
        let others: Vec<String> = crate::catalogue::builtin_kinds()
            .iter()
            .map(|k| k.name().to_owned())
            .filter(|name| !kinds.contains(name))
            .collect();
        self.disable(others).enable(kinds)
    }

    /// Adds a custom kind: a snake_case `name` and a regular expression (Rust `regex` syntax,
    /// no look-around or back-references: matching stays linear in the input). Only matches
    /// that stand as whole words (no letter, digit or `_` on either side) are reported.
    #[must_use]
    pub fn custom_kind(mut self, name: impl Into<String>, pattern: impl Into<String>) -> Config {
        self.custom.push((name.into(), pattern.into()));
        self
    }

    /// Values that are never reported (compared exactly).
    #[must_use]
    pub fn allow<I: IntoIterator<Item = S>, S: Into<String>>(mut self, values: I) -> Config {
        self.allow.extend(values.into_iter().map(Into::into));
        self
    }

    /// Merges `other` into `self`: lists are appended, and `other`'s settings win.
    #[must_use]
    pub fn overwrite(mut self, other: Config) -> Config {
        if let Some(e) = other.enable {
            self.enable.get_or_insert_with(Vec::new).extend(e);
        }
        if let Some(d) = other.disable {
            self.disable.get_or_insert_with(Vec::new).extend(d);
        }
        self.custom.extend(other.custom);
        self.allow.extend(other.allow);
        self
    }
}

/// What an anchor of the literal search stands for.
#[derive(Clone, Copy)]
enum Anchor {
    Arn,
    S3Url,
    Iam,
    Host(hosts::Suffix),
    LogGroup,
}

const ANCHORS: &[(&str, Anchor)] = &[
    ("arn:", Anchor::Arn),
    ("s3://", Anchor::S3Url),
    ("/aws/", Anchor::LogGroup),
    ("\\/aws\\/", Anchor::LogGroup),
    ("s3a://", Anchor::S3Url),
    ("s3n://", Anchor::S3Url),
    ("AKIA", Anchor::Iam),
    ("ASIA", Anchor::Iam),
    ("AIDA", Anchor::Iam),
    ("AROA", Anchor::Iam),
    ("AIPA", Anchor::Iam),
    ("ANPA", Anchor::Iam),
    ("ANVA", Anchor::Iam),
    ("AGPA", Anchor::Iam),
    ("APKA", Anchor::Iam),
    ("ASCA", Anchor::Iam),
    ("ACCA", Anchor::Iam),
    ("ABIA", Anchor::Iam),
    (".amazonaws.com", Anchor::Host(hosts::Suffix::AmazonAws)),
    (
        ".compute.internal",
        Anchor::Host(hosts::Suffix::ComputeInternal),
    ),
    (".ec2.internal", Anchor::Host(hosts::Suffix::Ec2Internal)),
    (".cloudfront.net", Anchor::Host(hosts::Suffix::Cloudfront)),
    (".on.aws", Anchor::Host(hosts::Suffix::OnAws)),
    (".c2s.ic.gov", Anchor::Host(hosts::Suffix::Iso)),
    (".sc2s.sgov.gov", Anchor::Host(hosts::Suffix::Iso)),
];

/// Finds AWS identifiers. Build it once and share it: it is `Send + Sync` and scanning takes
/// `&self`.
///
/// # Example
///
/// ```
/// let det = awsmask::Detector::new();
/// let text = "instance i-0123456789abcdef0 in vpc-0a1b2c3d";
/// let found: Vec<_> = det.find_iter(text.as_bytes()).map(|m| &text[m.range()]).collect();
/// assert_eq!(found, ["i-0123456789abcdef0", "vpc-0a1b2c3d"]);
/// ```
#[derive(Clone)]
pub struct Detector {
    inner: Arc<Inner>,
}

struct Inner {
    kinds: Vec<KindInfo>,
    enabled: Vec<bool>,
    anchors: AhoCorasick,
    contexts: context::ContextIndex,
    custom: Option<Regex>,
    custom_base: u16,
    allow: HashSet<Box<[u8]>>,
    /// every kind's tag, upper case: the tags a token may carry
    tags: HashSet<Box<[u8]>>,
}

impl fmt::Debug for Detector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Detector")
            .field("kinds", &self.inner.kinds.len())
            .field(
                "enabled",
                &self.inner.enabled.iter().filter(|&&e| e).count(),
            )
            .field(
                "allow",
                &format_args!("[{} values]", self.inner.allow.len()),
            )
            .finish_non_exhaustive()
    }
}

impl Default for Detector {
    fn default() -> Self {
        Detector::new()
    }
}

impl Detector {
    /// A detector with the built-in catalogue and default settings.
    #[must_use]
    pub fn new() -> Detector {
        match Detector::with_config(&Config::new()) {
            Ok(det) => det,
            // the default configuration is tested to build
            Err(err) => unreachable!("the default configuration builds: {err}"),
        }
    }

    /// A detector built from `config`.
    ///
    /// # Errors
    ///
    /// An unknown kind name, an invalid custom kind name or pattern, or more than 1000 custom
    /// kinds.
    pub fn with_config(config: &Config) -> Result<Detector, Error> {
        let mut kinds = builtin_kinds();
        let mut enabled: Vec<bool> = kinds.iter().map(KindInfo::default_on).collect();
        let find = |kinds: &[KindInfo], name: &str| {
            kinds.iter().position(|k| k.name() == name).ok_or_else(|| {
                Error::new(
                    ErrorKind::Config,
                    format!("unknown kind `{name}` (see `awsmask kinds`)"),
                )
            })
        };
        let custom_base = kinds.len() as u16;
        if config.custom.len() > 1000 {
            return Err(Error::new(ErrorKind::Config, "at most 1000 custom kinds"));
        }
        let mut patterns = Vec::new();
        for (name, pattern) in &config.custom {
            let valid = name.len() <= 40
                && name.starts_with(|c: char| c.is_ascii_lowercase())
                && name
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
            if !valid {
                return Err(Error::new(
                    ErrorKind::Config,
                    format!(
                        "custom kind name `{name}` must be snake_case ([a-z][a-z0-9_]*, at most 40 bytes)"
                    ),
                ));
            }
            if kinds.iter().any(|k| k.name() == name) {
                return Err(Error::new(
                    ErrorKind::Config,
                    format!("kind `{name}` already exists"),
                ));
            }
            let tag: String = name
                .chars()
                .filter(char::is_ascii_alphanumeric)
                .collect::<String>()
                .to_ascii_uppercase();
            kinds.push(KindInfo {
                name: name.as_str().into(),
                tag: tag.into(),
                about: "custom kind".into(),
                default_on: true,
                builtin: false,
                examples: &[],
                negatives: &[],
            });
            enabled.push(true);
            patterns.push(pattern.as_str());
        }
        for name in config.enable.iter().flatten() {
            let i = find(&kinds, name)?;
            enabled[i] = true;
        }
        for name in config.disable.iter().flatten() {
            let i = find(&kinds, name)?;
            enabled[i] = false;
        }
        let custom = if patterns.is_empty() {
            None
        } else {
            let re = Regex::builder()
                .syntax(syntax::Config::new().unicode(false).utf8(false))
                .configure(Regex::config().utf8_empty(false))
                .build_many(&patterns)
                .map_err(|e| {
                    Error::new(
                        ErrorKind::Config,
                        format!("invalid custom kind pattern: {e}"),
                    )
                })?;
            Some(re)
        };
        // a contiguous NFA, not a DFA: as fast behind the packed prefilter, a fraction of the
        // start-up to build (see `context::phrase_searcher`)
        let anchors = AhoCorasickBuilder::new()
            .match_kind(MatchKind::LeftmostFirst)
            .kind(Some(aho_corasick::AhoCorasickKind::ContiguousNFA))
            .build(ANCHORS.iter().map(|a| a.0))
            .map_err(|e| {
                Error::new(
                    ErrorKind::Config,
                    format!("cannot build the anchor search: {e}"),
                )
            })?;
        let contexts = context::ContextIndex::new().map_err(|e| {
            Error::new(
                ErrorKind::Config,
                format!("cannot build the context search: {e}"),
            )
        })?;
        let allow = config.allow.iter().map(|v| v.as_bytes().into()).collect();
        let tags = kinds.iter().map(|k| k.tag().as_bytes().into()).collect();
        Ok(Detector {
            inner: Arc::new(Inner {
                kinds,
                enabled,
                anchors,
                contexts,
                custom,
                custom_base,
                allow,
                tags,
            }),
        })
    }

    /// Every kind this detector knows (built-in and custom), in `KindId` order.
    #[must_use]
    pub fn kinds(&self) -> &[KindInfo] {
        &self.inner.kinds
    }

    /// The kind behind `id`.
    ///
    /// # Panics
    ///
    /// If `id` comes from another detector with fewer kinds.
    #[must_use]
    pub fn kind(&self, id: KindId) -> &KindInfo {
        &self.inner.kinds[id.as_usize()]
    }

    /// Looks a kind up by name.
    #[must_use]
    pub fn kind_id(&self, name: &str) -> Option<KindId> {
        self.inner
            .kinds
            .iter()
            .position(|k| k.name() == name)
            .map(|i| KindId(i as u16))
    }

    /// Whether the kind is detected by this detector.
    #[must_use]
    pub fn is_enabled(&self, id: KindId) -> bool {
        self.inner.enabled[id.as_usize()]
    }

    /// Finds every identifier in `haystack` (non-overlapping, leftmost, longest at a position),
    /// in order. Works on any bytes; offsets are byte offsets.
    pub fn find_iter<'h>(&self, haystack: &'h [u8]) -> impl Iterator<Item = Match> + 'h {
        let mut out = Vec::new();
        self.find_into(haystack, &mut out);
        out.into_iter()
    }

    /// Like [`find_iter`](Self::find_iter), but appends to a caller's buffer so that hot
    /// loops reuse one allocation.
    pub fn find_into(&self, haystack: &[u8], out: &mut Vec<Match>) {
        let mut sink = Sink::pooled();
        self.candidates(haystack, &mut sink);
        self.resolve(haystack, sink.cands, Window::whole(), out);
    }

    /// Finds what [`find_into`](Self::find_into) finds in a large haystack already in memory
    /// (a mapped file, say), with the work split among up to `threads` threads, and hands the
    /// matches to `each` in order on this thread, one batch per part of the haystack (1 MiB),
    /// so that memory for matches stays bounded however large the haystack is: `each(matches,
    /// part)` gets the matches that start in `part`. The other threads scan the next parts
    /// meanwhile (a few, at most). Bytes before the end of a part are not looked at again
    /// after its batch, but for a few KiB of context (a mapped file may let its pages go).
    /// Stops at, and returns, the first error `each` returns.
    ///
    /// # Example
    ///
    /// ```
    /// let det = awsmask::Detector::new();
    /// let text = b"vpc-0a1b2c3d ".repeat(1_000_000);
    /// let (mut found, mut covered) = (0, 0);
    /// det.find_batches(&text, 2, |batch, part| {
    ///     assert_eq!(part.start, covered);
    ///     found += batch.len();
    ///     covered = part.end;
    ///     Ok::<_, std::convert::Infallible>(())
    /// })
    /// .unwrap();
    /// assert_eq!((found, covered), (1_000_000, text.len()));
    /// ```
    pub fn find_batches<E>(
        &self,
        haystack: &[u8],
        threads: usize,
        each: impl FnMut(&[Match], std::ops::Range<usize>) -> Result<(), E>,
    ) -> Result<(), E> {
        self.find_batches_sized(haystack, threads, pool::JOB, pool::PIECE, each)
    }

    /// [`find_batches`](Self::find_batches) in batches of `part` bytes (the last one up to
    /// half as long again), scanned in pieces of about `piece` bytes: for tests and fuzzing,
    /// so that a short text crosses many of their borders. Not part of the stable API.
    #[doc(hidden)]
    pub fn find_batches_sized<E>(
        &self,
        haystack: &[u8],
        threads: usize,
        part: usize,
        piece: usize,
        mut each: impl FnMut(&[Match], std::ops::Range<usize>) -> Result<(), E>,
    ) -> Result<(), E> {
        let threads = threads.max(1);
        let (part, piece) = (part.max(1), piece.max(1));
        let len = haystack.len();
        pool::run(self, threads - 1, |jobs| {
            let ahead = if threads == 1 { 1 } else { 1 + pool::AHEAD };
            // where the next part starts; `None` once the last one is queued
            let mut next = Some(0);
            let mut out = Vec::new();
            loop {
                while jobs.len() < ahead
                    && let Some(from) = next
                {
                    let to = if len - from <= part + part / 2 {
                        len
                    } else {
                        from + part
                    };
                    // the part with the context its matches may look at
                    let lo = from.saturating_sub(stream::MARGIN);
                    let hi = (to + stream::MARGIN).min(len);
                    let pieces = if threads > 1 { (to - from) / piece } else { 1 };
                    let src = pool::Src::Borrowed(&haystack[lo..hi]);
                    jobs.push(pool::Job::new(
                        src,
                        lo,
                        (from - lo, to - lo),
                        to == len,
                        pieces,
                        false,
                    ));
                    next = (to < len).then_some(to);
                }
                let Some(job) = jobs.next(&mut out) else {
                    return Ok(());
                };
                // a piece fails only by a panic in a helper: the scope around this one hands
                // it on once this returns
                let Ok(job) = job else {
                    return Ok(());
                };
                each(&out, job.window())?;
            }
        })
    }

    /// Finds what [`find_into`](Self::find_into) finds in everything `rdr` gives (a pipe, say)
    /// in bounded memory: this thread reads the text in 1 MiB chunks, which up to `threads`
    /// threads scan (this one too, whenever it would wait), six chunks ahead at most.
    /// `each(matches, part, text)` gets, in order and on this thread, the matches that start
    /// at the stream offsets `part`, and the bytes they are made of in `text`. Stops at, and
    /// returns, the first error `each` returns; a read error becomes an `E`.
    ///
    /// # Example
    ///
    /// ```
    /// let det = awsmask::Detector::new();
    /// let input = &b"volume vol-0123456789abcdef0 attached\n"[..];
    /// let mut values = Vec::new();
    /// det.find_read(input, 2, |matches, _part, text| {
    ///     for m in matches {
    ///         values.push(text.get(m.range()).unwrap_or_default().to_vec());
    ///     }
    ///     Ok::<_, std::io::Error>(())
    /// })
    /// .unwrap();
    /// assert_eq!(values, [b"vol-0123456789abcdef0".to_vec()]);
    /// ```
    ///
    /// # Errors
    ///
    /// The first error of `each`, or a read error.
    pub fn find_read<E: From<std::io::Error>>(
        &self,
        rdr: impl std::io::Read,
        threads: usize,
        each: impl FnMut(&[Match], std::ops::Range<usize>, StreamText<'_>) -> Result<(), E>,
    ) -> Result<(), E> {
        self.find_read_sized(rdr, threads, pool::SIZES, each)
    }

    /// [`find_read`](Self::find_read) in chunks of `chunk` bytes scanned in pieces of about
    /// `piece` bytes: for tests and fuzzing, so that a short text crosses many of their
    /// borders. Not part of the stable API.
    ///
    /// # Errors
    ///
    /// As [`find_read`](Self::find_read).
    #[doc(hidden)]
    pub fn find_read_in<E: From<std::io::Error>>(
        &self,
        rdr: impl std::io::Read,
        threads: usize,
        (chunk, piece): (usize, usize),
        each: impl FnMut(&[Match], std::ops::Range<usize>, StreamText<'_>) -> Result<(), E>,
    ) -> Result<(), E> {
        let chunk = chunk.max(1);
        let sizes = pool::Sizes {
            chunk,
            min_read: chunk.div_ceil(2),
            piece: piece.max(1),
        };
        self.find_read_sized(rdr, threads, sizes, each)
    }

    /// [`find_read`](Self::find_read) in chunks of `sizes`.
    fn find_read_sized<E: From<std::io::Error>>(
        &self,
        mut rdr: impl std::io::Read,
        threads: usize,
        sizes: pool::Sizes,
        mut each: impl FnMut(&[Match], std::ops::Range<usize>, StreamText<'_>) -> Result<(), E>,
    ) -> Result<(), E> {
        let how = pool::Through {
            helpers: threads.max(1) - 1,
            sizes,
            utf8: false,
        };
        // a job fails only by a helper's panic, which goes on from the scope
        let job_error = |_| None;
        pool::read_through(self, &mut rdr, how, E::from, job_error, |job, matches| {
            let text = StreamText {
                start: job.base(),
                bytes: job.bytes(),
            };
            each(matches, job.window(), text)
        })
    }

    /// Adds every other occurrence of a name already found (a bucket, function, table,
    /// cluster or log group name, a key id, a secret...) that stands alone in `h[from..to]`:
    /// once a value is known to be an identifier, its other occurrences are too. `known` are
    /// values found earlier (in earlier parts of a stream). Returns the merged matches, sorted
    /// and non-overlapping.
    pub(crate) fn propagate(
        h: &[u8],
        matches: Vec<Match>,
        known: &[(KindId, Box<[u8]>)],
        from: usize,
        to: usize,
    ) -> Vec<Match> {
        // each value once, with the first of its kinds in the catalogue (a hash map: sorting
        // the values was a tenth of this function on text with many ARNs)
        let mut names: HashMap<&[u8], KindId, crate::fxhash::FxBuild> = HashMap::default();
        let mut add = |kind: KindId, v| {
            names
                .entry(v)
                .and_modify(|k| *k = (*k).min(kind))
                .or_insert(kind);
        };
        for (k, v) in known {
            add(*k, &v[..]);
        }
        for m in &matches {
            if propagates(m.kind) && m.len() >= 8 {
                add(m.kind, &h[m.range()]);
            } else if m.kind == K::Arn.id()
                && let Some((kind, name)) = hosts::arn_name(&h[m.range()])
                && name.len() >= 8
            {
                add(kind.id(), name);
            }
        }
        if names.is_empty() {
            return matches;
        }
        let to = to.min(h.len()).max(from);
        let region = &h[from..to];
        // a path segment counts (`GET /acme-orders-archive?versioning` in an S3 access log
        // line that names the bucket); a part of a longer dashed or dotted name does not
        let alone = |s: usize, e: usize| {
            bytes::left_ok(h, s)
                && (s == 0 || !matches!(h[s - 1], b'-' | b'.'))
                && bytes::right_ok(h, e)
                && !(e < h.len() && h[e] == b'-')
                && !(e + 1 < h.len() && h[e] == b'.' && h[e + 1].is_ascii_alphanumeric())
        };
        let mut extra = Vec::new();
        let mut push = |s: usize, e: usize, kind: KindId| {
            if alone(s, e) {
                extra.push(Match {
                    start: s,
                    end: e,
                    kind,
                });
            }
        };
        // A few names (a prompt): one SIMD substring search each, nothing to build. More
        // names (a large document): see `NameSearch`.
        if names.len() <= 16 {
            for (&v, &kind) in &names {
                for k in memchr::memmem::find_iter(region, v) {
                    push(from + k, from + k + v.len(), kind);
                }
            }
        } else {
            NameSearch::new(names).find(h, from, to, &matches, &mut |s, e, kind| {
                push(s, e, kind);
            });
        }
        if extra.is_empty() {
            return matches;
        }
        let mut all = matches;
        all.extend(extra);
        sort_candidates(&mut all);
        let mut out: Vec<Match> = Vec::with_capacity(all.len());
        for m in all {
            if out.last().is_none_or(|l| m.start >= l.end) {
                out.push(m);
            }
        }
        out
    }

    /// Whether `haystack` contains any identifier.
    #[must_use]
    pub fn is_match(&self, haystack: &[u8]) -> bool {
        self.find_iter(haystack).next().is_some()
    }

    /// Calls `f(start, end)` for every token-shaped span (`AWS_<TAG>_<CODE>` with a tag of
    /// this detector, any letter case, at word boundaries).
    pub(crate) fn find_tokens(&self, h: &[u8], f: &mut dyn FnMut(usize, usize)) {
        let tags = &self.inner.tags;
        let is_tag = |t: &[u8]| tag_in(tags, t);
        let mut covered = 0;
        for u in memchr::memchr_iter(b'_', h) {
            token_at(h, u, &mut covered, is_tag, &mut *f);
        }
    }

    /// At a `_`, the token-shaped spans, as [`find_tokens`](Self::find_tokens) finds them,
    /// and the Cognito user pool ids; at an `E` or a `Z`, CloudFront distribution and Route 53
    /// zone ids: all found in one pass (a second pass over the piece cost more than the
    /// checks at these rare bytes).
    fn find_underscores_and_upper(&self, h: &[u8], sink: &mut Sink) {
        let tags = &self.inner.tags;
        let is_tag = |t: &[u8]| tag_in(tags, t);
        let tokens = self.inner.enabled[K::AwsmaskToken as usize];
        let mut covered = 0;
        for p in memchr::memchr3_iter(b'_', b'E', b'Z', h) {
            if h[p] != b'_' {
                ids::upper_id_at(h, p, sink);
                continue;
            }
            if tokens {
                token_at(h, p, &mut covered, is_tag, |s, e| {
                    sink.push(s, e, K::AwsmaskToken);
                });
            }
            ids::cognito_pool_at(h, p, sink);
        }
    }

    fn candidates(&self, h: &[u8], sink: &mut Sink) {
        self.find_underscores_and_upper(h, sink);
        events::find(
            h,
            self.inner.enabled[K::ResourceName as usize],
            &self.inner.contexts,
            sink,
        );
        if self.inner.enabled[K::NameLike as usize] {
            names::find_name_like(h, sink);
        }
        context::find_s3_access_log(h, sink);
        for m in self.inner.anchors.find_iter(h) {
            let s = m.start();
            match ANCHORS[m.pattern().as_usize()].1 {
                Anchor::Arn => hosts::arn_at(h, s, MAX_MATCH_LEN, sink),
                Anchor::S3Url => hosts::s3_url_at(h, s, m.len(), sink),
                Anchor::Iam => ids::iam_at(h, s, sink),
                Anchor::Host(suffix) => hosts::host_at(h, s, m.len(), suffix, sink),
                Anchor::LogGroup => hosts::aws_log_group_at(h, s, sink),
            }
        }
        self.inner.contexts.find(h, sink);
        if let Some(re) = &self.inner.custom {
            for m in re.find_iter(h) {
                // whole words only, so that a token put in its place reads as a token again
                if m.is_empty() || !bytes::left_ok(h, m.start()) || !bytes::right_ok(h, m.end()) {
                    continue;
                }
                let end = m.end().min(m.start() + MAX_MATCH_LEN);
                sink.cands.push(Match {
                    start: m.start(),
                    end,
                    kind: KindId(self.inner.custom_base + m.pattern().as_usize() as u16),
                });
            }
        }
    }

    /// Scans `h` and reports the matches that start in the window (see [`Window`]); returns
    /// the end of the last match reported, or `window.covered`.
    pub(crate) fn find_window(
        &self,
        h: &[u8],
        window: Window,
        out: &mut Vec<Match>,
    ) -> (usize, bool) {
        let mut sink = Sink::pooled();
        self.candidates(h, &mut sink);
        let listed =
            list_change(h, &sink.list_keys, window.from, window.to).unwrap_or(window.listed);
        let mut cands = sink.cands;
        if window.listed {
            cands.extend(sink.if_listed.iter().filter(|m| m.start >= window.from));
        }
        (self.resolve(h, cands, window, out), listed)
    }

    /// Like [`find_window`](Self::find_window), with the window split among up to `threads`
    /// threads (this one and scoped helpers) when it is large, in pieces they take in turn.
    /// Each piece is scanned with `MARGIN` bytes of context on both sides and keeps the
    /// candidates that start in it, which is exactly what a stream cut there finds (see
    /// [`StreamScanner`]); the candidates are then resolved together, so the result does not
    /// depend on the number of threads or pieces.
    pub(crate) fn find_window_par(
        &self,
        h: &[u8],
        w: Window,
        threads: usize,
        out: &mut Vec<Match>,
    ) -> (usize, bool) {
        self.find_window_pieces(h, w, threads, PAR_PIECE, out)
    }

    /// [`find_window_par`](Self::find_window_par) in pieces of about `piece` bytes.
    fn find_window_pieces(
        &self,
        h: &[u8],
        w: Window,
        threads: usize,
        piece: usize,
        out: &mut Vec<Match>,
    ) -> (usize, bool) {
        let to = w.to.min(h.len());
        let len = to.saturating_sub(w.from);
        let parts = threads.min(len / PAR_MIN_PART).max(1);
        if parts == 1 {
            return self.find_window(h, w, out);
        }
        // pieces the threads take in turn, so that one that finishes early takes more
        let pieces = (len / piece).max(parts);
        let step = len.div_ceil(pieces);
        let next = std::sync::atomic::AtomicUsize::new(0);
        let work = || {
            let mut done = Vec::new();
            loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let a = w.from + i * step;
                if i >= pieces || a >= to {
                    return done;
                }
                done.push((i, self.piece_candidates(h, a, (a + step).min(to))));
            }
        };
        let mut done: Vec<(usize, Piece)> = std::thread::scope(|scope| {
            let helpers: Vec<_> = (1..parts).map(|_| scope.spawn(work)).collect();
            let mut done = work();
            for t in helpers {
                done.extend(t.join().unwrap_or_else(|e| std::panic::resume_unwind(e)));
            }
            done
        });
        done.sort_unstable_by_key(|d| d.0);
        let mut listed = w.listed;
        let cands = join_pieces(done.into_iter().map(|d| d.1), &mut listed);
        (self.resolve(h, cands, Window { to, ..w }, out), listed)
    }

    /// The candidates that start in `a..b` of `h`, found with `MARGIN` bytes of context on
    /// both sides (what a stream cut at `a` and at `b` finds there), sorted; with what the
    /// piece leaves to the text before it (see [`Piece`]). Sorted here, in
    /// parallel: pieces that follow each other join into a sorted list, and sorting that
    /// again is one pass.
    pub(crate) fn piece_candidates(&self, h: &[u8], a: usize, b: usize) -> Piece {
        let lo = a.saturating_sub(stream::MARGIN);
        let hi = (b + stream::MARGIN).min(h.len());
        let mut sink = Sink::default();
        self.candidates(&h[lo..hi], &mut sink);
        let in_piece = |m: &mut Match| {
            *m = m.offset(lo);
            (a..b).contains(&m.start)
        };
        let Sink {
            mut cands,
            mut if_listed,
            list_keys,
        } = sink;
        cands.retain_mut(in_piece);
        if_listed.retain_mut(in_piece);
        sort_candidates(&mut cands);
        Piece {
            cands,
            if_listed,
            lists: list_change(&h[lo..hi], &list_keys, a - lo, b - lo),
        }
    }

    /// Resolves candidates into the final matches: drops disabled kinds and allowlisted
    /// values, then keeps the leftmost, longest, non-overlapping ones in the window.
    pub(crate) fn resolve(
        &self,
        h: &[u8],
        mut cands: Vec<Match>,
        w: Window,
        out: &mut Vec<Match>,
    ) -> usize {
        let inner = &*self.inner;
        cands.retain(|m| {
            inner.enabled[m.kind.as_usize()]
                && (inner.allow.is_empty() || !inner.allow.contains(&h[m.range()]))
        });
        sort_candidates(&mut cands);
        let mut covered = w.covered.max(w.from);
        out.reserve(cands.len());
        for &m in &cands {
            if m.start < covered || m.start >= w.to {
                continue;
            }
            let m = Match {
                end: m.end.min(m.start + MAX_MATCH_LEN),
                ..m
            };
            covered = m.end;
            out.push(m.offset(w.base));
        }
        Sink::recycle(cands);
        covered
    }
}

/// Whether `t` is one of `tags` (upper case), in any letter case.
fn tag_in(tags: &HashSet<Box<[u8]>>, t: &[u8]) -> bool {
    let mut up = [0u8; 24];
    t.len() <= up.len() && {
        up[..t.len()].copy_from_slice(t);
        up[..t.len()].make_ascii_uppercase();
        tags.contains(&up[..t.len()])
    }
}

/// Reports the token that starts three bytes before the `_` at `u` (`AWS_…`), if one does
/// and it starts at or after `covered`, and moves `covered` to its end.
#[inline]
fn token_at(
    h: &[u8],
    u: usize,
    covered: &mut usize,
    is_tag: impl Fn(&[u8]) -> bool,
    mut f: impl FnMut(usize, usize),
) {
    if u < 3 || u - 3 < *covered || !h[u - 3..u].eq_ignore_ascii_case(b"AWS") {
        return;
    }
    if let Some(end) = crate::token::token_at(h, u - 3, is_tag) {
        f(u - 3, end);
        *covered = end;
    }
}

/// Sorts candidates by start, the longest first at a position, then by kind (the first in
/// the catalogue wins a tie).
fn sort_candidates(cands: &mut [Match]) {
    cands.sort_unstable_by(|a, b| {
        a.start
            .cmp(&b.start)
            .then(b.end.cmp(&a.end))
            .then(a.kind.cmp(&b.kind))
    });
}

/// Finds many names at once: a packed SIMD search for their distinct 4-byte prefixes (64 per
/// searcher), then, at each hit, a hash lookup of the text up to each place a name may end.
/// An automaton over the names themselves fell back to a search for their first bytes once
/// there were more than 64 of them, and names such as `acme-logs-…` made that stop at every
/// `a`; prefixes shared by many names also cost nothing extra here.
struct NameSearch<'v> {
    names: HashMap<&'v [u8], KindId, crate::fxhash::FxBuild>,
    prefixes: Vec<aho_corasick::packed::Searcher>,
    /// the prefixes as a table probed at every position, in place of the packed searchers
    /// when there are more than `TABLE_MIN` of them
    table: Option<PrefixTable>,
    /// the automaton to use when the packed searcher is not available on this machine
    fallback: Option<AhoCorasick>,
    min_len: usize,
    max_len: usize,
}

/// Above this many distinct prefixes, [`NameSearch`] probes a table at every position instead
/// of running one packed search per 64 prefixes: those passes grew with the names (a text
/// with thousands of names paid a pass over it for each 64 of them), the table costs the
/// same for any number.
const TABLE_MIN: usize = 256;

/// A set of 4-byte prefixes: a bit per first two bytes (64 Kibit, in the L1/L2 cache), then a
/// hash set for the positions that pass it.
struct PrefixTable {
    pairs: bytes::PairBits,
    prefixes: HashSet<[u8; 4], crate::fxhash::FxBuild>,
}

impl PrefixTable {
    fn new(prefixes: &[[u8; 4]]) -> PrefixTable {
        let mut pairs = bytes::PairBits::default();
        for p in prefixes {
            pairs.insert(p[0], p[1]);
        }
        PrefixTable {
            pairs,
            prefixes: prefixes.iter().copied().collect(),
        }
    }

    /// Whether one of the prefixes starts at `h[s]` (`s + 4 <= h.len()`).
    #[inline]
    fn holds(&self, h: &[u8], s: usize) -> bool {
        self.pairs.holds(h[s], h[s + 1])
            && self
                .prefixes
                .contains(&[h[s], h[s + 1], h[s + 2], h[s + 3]])
    }
}

impl<'v> NameSearch<'v> {
    /// `names`: each value with its kind, every one at least 8 bytes.
    fn new(names: HashMap<&'v [u8], KindId, crate::fxhash::FxBuild>) -> NameSearch<'v> {
        let mut prefixes: Vec<[u8; 4]> = names.keys().map(|v| [v[0], v[1], v[2], v[3]]).collect();
        prefixes.sort_unstable();
        prefixes.dedup();
        let min_len = names.keys().map(|v| v.len()).min().unwrap_or(0);
        let max_len = names.keys().map(|v| v.len()).max().unwrap_or(0);
        if prefixes.len() > TABLE_MIN {
            return NameSearch {
                names,
                prefixes: Vec::new(),
                table: Some(PrefixTable::new(&prefixes)),
                fallback: None,
                min_len,
                max_len,
            };
        }
        let searchers: Option<Vec<_>> = prefixes
            .chunks(64)
            .map(|group| {
                aho_corasick::packed::Config::new()
                    .builder()
                    .extend(group)
                    .build()
            })
            .collect();
        let (prefixes, fallback) = match searchers {
            Some(s) => (s, None),
            None => (
                Vec::new(),
                AhoCorasickBuilder::new()
                    .match_kind(MatchKind::LeftmostLongest)
                    .build(names.keys())
                    .ok(),
            ),
        };
        NameSearch {
            names,
            prefixes,
            table: None,
            fallback,
            min_len,
            max_len,
        }
    }

    /// Calls `f(start, end, kind)` for each occurrence of a name that starts in `h[from..to]`
    /// outside the (sorted) `found` matches, leftmost and longest first, not overlapping.
    fn find(
        &self,
        h: &[u8],
        from: usize,
        to: usize,
        found: &[Match],
        f: &mut dyn FnMut(usize, usize, KindId),
    ) {
        if let Some(ac) = &self.fallback {
            for m in ac.find_iter(&h[from..to]) {
                let v = &h[from + m.start()..from + m.end()];
                if let Some(&kind) = self.names.get(v) {
                    f(from + m.start(), from + m.end(), kind);
                }
            }
            return;
        }
        // candidate starts (where a prefix starts and ends before `to`), in order
        let mut starts: Vec<usize> = Vec::new();
        if let Some(table) = &self.table {
            starts.extend((from..to.saturating_sub(3)).filter(|&s| table.holds(h, s)));
        }
        for searcher in &self.prefixes {
            let mut at = from;
            while at < to {
                let Some(m) = searcher.find_in(h, aho_corasick::Span::from(at..to)) else {
                    break;
                };
                starts.push(m.start());
                at = m.start() + 1;
            }
        }
        if self.prefixes.len() > 1 {
            starts.sort_unstable();
            starts.dedup();
        }
        let mut covered = from;
        let mut found = found.iter().peekable();
        for s in starts {
            if s < covered {
                continue;
            }
            // an occurrence that starts inside a match is masked with it: no lookup
            while found.next_if(|m| m.end <= s).is_some() {}
            if found.peek().is_some_and(|m| m.start < s) {
                continue;
            }
            // a name ends where a word ends (`alone` decides the rest), within the run of
            // bytes that names are made of: look each such place up, keep the longest
            let limit = (s + self.max_len).min(to);
            let mut best = None;
            let mut e = s + 1;
            while e <= limit {
                let next = h.get(e).copied();
                if e - s >= self.min_len
                    && !next.is_some_and(bytes::is_word)
                    && let Some(&kind) = self.names.get(&h[s..e])
                {
                    best = Some((e, kind));
                }
                match next {
                    Some(c)
                        if e < limit
                            && (c.is_ascii_alphanumeric() || b"._/#+=-\\".contains(&c)) =>
                    {
                        e += 1;
                    }
                    _ => break,
                }
            }
            if let Some((e, kind)) = best {
                f(s, e, kind);
                covered = e;
            }
        }
    }
}

#[cfg(test)]
mod tests;
