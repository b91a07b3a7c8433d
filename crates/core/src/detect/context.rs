//! User-chosen names and context-bound ids: found after a key, flag or phrase that names them
//! (LABELING rule 2), such as `"bucketName": "…"`, `--function-name …`, `DDB_TABLE=…` or
//! "EKS cluster …".

use super::Sink;
use std::fmt::Write as _;

use aho_corasick::{AhoCorasick, MatchKind};

use super::bytes::{PairBits, is_typographic_quote, is_word, run};
use super::hosts::bucket_at;
use crate::catalogue::K;

/// How a context introduces its value.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Mode {
    /// A key: JSON/YAML/HCL/INI/.env (`key: v`, `key = "v"`, `KEY=v`).
    Key,
    /// A command-line flag: `--flag v` or `--flag=v`.
    Flag,
    /// A phrase in prose: `EKS cluster v`; the value must look like an identifier.
    Prose,
    /// A key whose value is an object with a `name`: `"cluster": {"name": "v"`.
    ObjectName,
}

/// One context: its phrase, the kind it introduces and how.
pub(crate) struct Context {
    pub(crate) phrase: &'static str,
    pub(crate) kind: K,
    pub(crate) mode: Mode,
}

const fn c(phrase: &'static str, kind: K, mode: Mode) -> Context {
    Context { phrase, kind, mode }
}

/// All contexts; matched ASCII case-insensitively, leftmost-longest.
pub(crate) static CONTEXTS: &[Context] = &[
    // S3 buckets
    c("bucket", K::S3Bucket, Mode::Key),
    c("bucketname", K::S3Bucket, Mode::Key),
    c("bucket_name", K::S3Bucket, Mode::Key),
    c("bucket-name", K::S3Bucket, Mode::Key),
    c("s3bucket", K::S3Bucket, Mode::Key),
    c("--bucket", K::S3Bucket, Mode::Flag),
    c("s3 bucket", K::S3Bucket, Mode::Prose),
    c("s3", K::S3Bucket, Mode::Key),
    c("buckets", K::S3Bucket, Mode::Key),
    c("s3 buckets", K::S3Bucket, Mode::Key),
    c("bucket", K::S3Bucket, Mode::Prose),
    // Lambda functions
    c("functionname", K::LambdaFunction, Mode::Key),
    c("function_name", K::LambdaFunction, Mode::Key),
    c("--function-name", K::LambdaFunction, Mode::Flag),
    c("lambda", K::LambdaFunction, Mode::Prose),
    c("lambda function", K::LambdaFunction, Mode::Prose),
    c("lambda-funktion", K::LambdaFunction, Mode::Prose),
    c("rotated by", K::LambdaFunction, Mode::Prose),
    // DynamoDB tables
    c("tablename", K::DynamodbTable, Mode::Key),
    c("table_name", K::DynamodbTable, Mode::Key),
    c("dynamodb_table", K::DynamodbTable, Mode::Key),
    c("ddb_table", K::DynamodbTable, Mode::Key),
    c("table", K::DynamodbTable, Mode::Key),
    c("--table-name", K::DynamodbTable, Mode::Flag),
    c("table", K::DynamodbTable, Mode::Prose),
    c("dynamodb table", K::DynamodbTable, Mode::Prose),
    c("tabelle", K::DynamodbTable, Mode::Prose),
    // ECS clusters
    c("--cluster", K::EcsCluster, Mode::Flag),
    // ECS service scaling: `Scaled CLUSTER/SERVICE to 4 tasks`
    c("scaled", K::EcsCluster, Mode::Prose),
    c("ecs cluster", K::EcsCluster, Mode::Prose),
    c("ecs_cluster", K::EcsCluster, Mode::Key),
    c("ecs_cluster_name", K::EcsCluster, Mode::Key),
    c("cluster", K::EcsCluster, Mode::Key),
    // EKS clusters
    c("cluster_name", K::EksCluster, Mode::Key),
    c("cluster-name", K::EksCluster, Mode::Key),
    c("clustername", K::EksCluster, Mode::Key),
    c("eks_cluster_name", K::EksCluster, Mode::Key),
    c("--cluster-name", K::EksCluster, Mode::Flag),
    c("update-kubeconfig --name", K::EksCluster, Mode::Flag),
    c("describe-cluster --name", K::EksCluster, Mode::Flag),
    c("eks cluster", K::EksCluster, Mode::Prose),
    c("cluster", K::EksCluster, Mode::ObjectName),
    c("eksクラスター", K::EksCluster, Mode::Prose),
    c("s3桶", K::S3Bucket, Mode::Prose),
    c("s3 버킷", K::S3Bucket, Mode::Prose),
    c("버킷 이름은", K::S3Bucket, Mode::Prose),
    c("s3バケット", K::S3Bucket, Mode::Prose),
    c("deploymentbucket", K::S3Bucket, Mode::ObjectName),
    // log groups
    c("loggroupname", K::LogGroup, Mode::Key),
    c("log_group", K::LogGroup, Mode::Key),
    c("log_group_name", K::LogGroup, Mode::Key),
    c("loggroup", K::LogGroup, Mode::Key),
    c("--log-group-name", K::LogGroup, Mode::Flag),
    c("log group", K::LogGroup, Mode::Prose),
    c("streaming logs to", K::LogGroup, Mode::Prose),
    // API Gateway ids
    c("restapiid", K::ApiGatewayId, Mode::Key),
    c("apiid", K::ApiGatewayId, Mode::Key),
    c("api_id", K::ApiGatewayId, Mode::Key),
    c("rest_api_id", K::ApiGatewayId, Mode::Key),
    c("--rest-api-id", K::ApiGatewayId, Mode::Flag),
    c("--api-id", K::ApiGatewayId, Mode::Flag),
    c("id", K::ApiGatewayId, Mode::Key),
    c("id", K::CanonicalUserId, Mode::Key),
    c("api gateway", K::ApiGatewayId, Mode::Prose),
    // credentials
    c("aws_secret_access_key", K::SecretAccessKey, Mode::Key),
    c("secretaccesskey", K::SecretAccessKey, Mode::Key),
    c("secret_access_key", K::SecretAccessKey, Mode::Key),
    c("aws_secret_key", K::SecretAccessKey, Mode::Key),
    c("secret_key", K::SecretAccessKey, Mode::Key),
    c("secretkey", K::SecretAccessKey, Mode::Key),
    c("secret access key", K::SecretAccessKey, Mode::Prose),
    // `secret: …`, `AWS_SECRET=…`, `Secret Key: …`, `aws configure set aws_secret_access_key …`
    c("secret", K::SecretAccessKey, Mode::Key),
    c("secret", K::SecretAccessKey, Mode::Prose),
    c("secret key", K::SecretAccessKey, Mode::Prose),
    c("aws_secret_access_key", K::SecretAccessKey, Mode::Prose),
    c("--secret-access-key", K::SecretAccessKey, Mode::Flag),
    c("--aws-secret-access-key", K::SecretAccessKey, Mode::Flag),
    c("--secret-key", K::SecretAccessKey, Mode::Flag),
    c("aws_session_token", K::SessionToken, Mode::Prose),
    c("--session-token", K::SessionToken, Mode::Flag),
    c("--aws-session-token", K::SessionToken, Mode::Flag),
    c("aws_session_token", K::SessionToken, Mode::Key),
    c("sessiontoken", K::SessionToken, Mode::Key),
    c("session_token", K::SessionToken, Mode::Key),
    c("aws_security_token", K::SessionToken, Mode::Key),
    c("security_token", K::SessionToken, Mode::Key),
    c("x-amz-security-token", K::SessionToken, Mode::Key),
    // S3 canonical user ids
    c("canonicaluserid", K::CanonicalUserId, Mode::Key),
    c("canonical_user_id", K::CanonicalUserId, Mode::Key),
    c("canonicaluser", K::CanonicalUserId, Mode::Key),
    c("owner_id", K::CanonicalUserId, Mode::Key),
];

/// The contexts, indexed the way they are found:
///
/// - keys (`Key`, `ObjectName`) from the `:` or `=` that follows them: the word before it is
///   looked up, whole and from each inner `_`, `-`, `.` (so `S3_BUCKET=` finds `bucket`);
/// - flags from their `--`: the word after it is looked up;
/// - prose phrases with two small automata (packed SIMD search) over a paired copy of the
///   text (see [`paired_copy`]) and a lowercased one, made one cache-sized block at a time.
///
/// Anchoring keys and flags on their punctuation keeps the automaton to a few phrases: one
/// automaton over every phrase ran at ~0.55 GB/s and took half of the scan time.
pub(crate) struct ContextIndex {
    /// key contexts by the byte length of their phrase
    keys_by_len: Vec<Vec<usize>>,
    /// the last two bytes of every key and of the words [`Keys`] treats specially, lower case
    key_ends: PairBits,
    /// flag contexts by the byte length of the word after `--`
    flags_by_len: Vec<Vec<usize>>,
    /// ASCII phrases, each followed by a space, as they read in a copy where every byte but
    /// `[a-z0-9_-]` is a space (only whole words match: `tables` is not `table `), by id
    words: Vec<Box<[u8]>>,
    words_uses: Vec<Vec<usize>>,
    /// the ids of `words`, longest first
    words_longest: Vec<usize>,
    /// `words` paired (see [`paired_copy`]), searched in the paired copy: where one of them is,
    /// a phrase may start
    words_paired: AhoCorasick,
    /// phrases with non-ASCII letters or JSON escapes, searched in a lowercased copy of the
    /// blocks `wide_hints` lets through
    wide: AhoCorasick,
    wide_uses: Vec<Vec<usize>>,
    /// the first non-ASCII character of each raw wide phrase, and `\\u`: a block without any
    /// of them holds no wide phrase, and skips that search. A packed search in the text
    /// itself: the first bytes alone (`0xEB` for `버`) came in every block of Korean text.
    /// `None` where no packed searcher is available: then every block is searched.
    wide_hints: Option<aho_corasick::packed::Searcher>,
}

const MAX_KEY: usize = 48;

/// Substring searchers for the fixed needles, built once: building one costs more than
/// searching a short prompt with it.
struct Finders {
    s3_log: memchr::memmem::Finder<'static>,
    tf_type: memchr::memmem::FinderRev<'static>,
}

fn finders() -> &'static Finders {
    static FINDERS: std::sync::OnceLock<Finders> = std::sync::OnceLock::new();
    FINDERS.get_or_init(|| Finders {
        s3_log: memchr::memmem::Finder::new(b" ["),
        tf_type: memchr::memmem::FinderRev::new(b"aws_"),
    })
}

/// Bytes per block of the normalized copies: small enough to stay in the L2 cache.
const BLOCK: usize = 64 * 1024;

/// Longest prose phrase, in bytes (JSON-escaped form included): the overlap of two blocks.
const MAX_PHRASE: usize = 64;

/// `b` lowercased when it is `[A-Za-z0-9_-]`, else a space.
pub(super) fn norm(b: u8) -> u8 {
    if b.is_ascii_alphanumeric() || b == b'_' || b == b'-' {
        b.to_ascii_lowercase()
    } else {
        b' '
    }
}

/// `out[i] = norm(src[i])`: the copy the phrases were searched in before the paired copy
/// (the reference it is tested against).
#[cfg(test)]
pub(super) fn normalize(src: &[u8], out: &mut Vec<u8>) {
    out.clear();
    out.extend(src.iter().map(|&b| norm(b)));
}

/// How far apart the two bytes are that each byte of a paired copy mixes.
const PAIR: usize = 2;

/// `b` mixed with the byte [`PAIR`] bytes on, `later` (its halves swapped, so that each half
/// of the result depends on both bytes, as the packed searcher looks at halves of bytes).
#[inline]
fn pair(b: u8, later: u8) -> u8 {
    b ^ later.rotate_left(4)
}

/// The byte that stands for `b` in a paired copy: a letter in lower case, anything else 0.
/// Bytes that [`norm`] keeps apart may share a code (a digit, `-` and a space), never bytes it
/// makes one: the copy finds every phrase, and a few places that the check against the text
/// turns away.
#[inline]
fn code(b: u8) -> u8 {
    let l = b | 0x20;
    if l.wrapping_sub(b'a') < 26 { l } else { 0 }
}

/// `out[i] = pair(code(src[i]), code(src[i + PAIR]))`, a code of 0 past the end: the paired
/// copy of `src`, where the phrases are searched.
///
/// The packed searcher looks for the first four bytes of each phrase and checks the rest
/// where they are; `table ` starts like `tables`, which is common (route tables), and each
/// such check cost ~25 ns. In the paired copy, the first four bytes of a paired phrase
/// stand for its first six: `tables` no longer looks like `table ` there. Pairing and the
/// codes lose information, so a paired match only says where a phrase may be; the phrase is
/// then checked against the text itself.
pub(super) fn paired_copy(src: &[u8], out: &mut Vec<u8>) {
    out.resize(src.len(), 0);
    let done = paired_copy_simd(src, out);
    for i in done..src.len() {
        out[i] = pair(code(src[i]), src.get(i + PAIR).map_or(0, |&b| code(b)));
    }
}

/// The vector part of [`paired_copy`]: sixteen bytes at a time with SSE2 (the x86-64
/// baseline; `safe_arch` holds the `unsafe` of the intrinsics), each block's codes computed
/// once and shifted against the next block's for the bytes [`PAIR`] on. Returns how many
/// bytes of `out` it wrote (the rest is left to the scalar loop). A loop over bytes that the
/// compiler vectorized took twice the instructions: it computed every code twice and tested
/// each range with three instructions where a signed compare takes two.
#[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
fn paired_copy_simd(src: &[u8], out: &mut [u8]) -> usize {
    use safe_arch::{
        add_i8_m128i, byte_shl_imm_u128_m128i, byte_shr_imm_u128_m128i, cmp_lt_mask_i8_m128i,
        load_unaligned_m128i, m128i, set_splat_i8_m128i, shl_imm_u16_m128i, shr_imm_u16_m128i,
        store_unaligned_m128i,
    };
    const _: () = assert!(PAIR == 2, "the shifts below pair bytes two apart");
    let byte = |b: u8| set_splat_i8_m128i(b.cast_signed());
    // `x` in `lo..lo + len`: shifted so that `lo` is the smallest signed byte, below the
    // smallest plus `len`
    let within = |x: m128i, lo: u8, len: u8| {
        cmp_lt_mask_i8_m128i(
            add_i8_m128i(x, byte(0x80u8.wrapping_sub(lo))),
            byte(0x80u8.wrapping_add(len)),
        )
    };
    let code16 = |x: m128i| {
        let l = x | byte(0x20);
        l & within(l, b'a', 26)
    };
    let (blocks, _) = src.as_chunks::<16>();
    let Some((first, rest)) = blocks.split_first() else {
        return 0;
    };
    let mut cur = code16(load_unaligned_m128i(first));
    let (outs, _) = out.as_chunks_mut::<16>();
    for (o, next) in outs.iter_mut().zip(rest) {
        let next = code16(load_unaligned_m128i(next));
        let later = byte_shr_imm_u128_m128i::<2>(cur) | byte_shl_imm_u128_m128i::<14>(next);
        let rotated = (shl_imm_u16_m128i::<4>(later) & byte(0xF0))
            | (shr_imm_u16_m128i::<4>(later) & byte(0x0F));
        store_unaligned_m128i(o, cur ^ rotated);
        cur = next;
    }
    16 * rest.len()
}

/// The vector part of [`paired_copy`] where there is no SSE2: none.
#[cfg(not(all(target_arch = "x86_64", target_feature = "sse2")))]
fn paired_copy_simd(_: &[u8], _: &mut [u8]) -> usize {
    0
}

/// A normalized phrase as it reads in a paired copy: all of it but its last [`PAIR`] bytes,
/// the code of each mixed with the code of the byte [`PAIR`] on (the phrases are longer
/// than that).
fn paired(phrase: &[u8]) -> Vec<u8> {
    // shorter, it pairs to fewer than the four bytes the packed searcher looks at (to none,
    // matching everywhere, at PAIR bytes or fewer): still right, but slow
    debug_assert!(phrase.len() >= PAIR + 4, "{phrase:?}");
    phrase
        .windows(PAIR + 1)
        .map(|w| pair(code(w[0]), code(w[PAIR])))
        .collect()
}

/// The ASCII phrases, searched block by block in the paired copy and checked in the text.
struct Words<'a> {
    index: &'a ContextIndex,
    /// where the last phrase handled ends: phrases do not overlap
    covered: usize,
}

impl Words<'_> {
    /// Handles the phrases that start in `h[from..to]`; `block` is `h[from..]` as far as
    /// `copy`, its paired copy, goes. Finds what a leftmost-longest search of the phrases in
    /// the normalized copy finds: the first place where a phrase is, the longest phrase
    /// there, then on after it.
    fn search(
        &mut self,
        h: &[u8],
        block: &[u8],
        copy: &[u8],
        from: usize,
        to: usize,
        sink: &mut Sink,
    ) {
        let index = self.index;
        let mut at = 0;
        while let Some(m) = index
            .words_paired
            .find(aho_corasick::Input::new(copy).span(at..copy.len()))
        {
            let i = m.start();
            if from + i >= to {
                break;
            }
            let found = index.words_longest.iter().copied().find(|&id| {
                let w = &index.words[id];
                block
                    .get(i..i + w.len())
                    .is_some_and(|t| t.iter().zip(w.iter()).all(|(&b, &c)| norm(b) == c))
            });
            let Some(id) = found else {
                at = i + 1;
                continue;
            };
            let len = index.words[id].len();
            // the phrase without its space
            let (s, e) = (from + i, from + i + len - 1);
            if s >= self.covered {
                self.covered = e;
                context_at(h, s, e, &index.words_uses[id], sink);
            }
            at = i + len;
        }
    }
}

/// One phrase automaton searched block by block.
struct Phrases<'a> {
    ac: &'a AhoCorasick,
    uses: &'a [Vec<usize>],
    /// bytes at the end of each pattern that are not part of the phrase (its space)
    trim: usize,
    /// where the last phrase handled ends: phrases do not overlap
    covered: usize,
}

impl<'a> Phrases<'a> {
    fn new(ac: &'a AhoCorasick, uses: &'a [Vec<usize>], trim: usize) -> Phrases<'a> {
        Phrases {
            ac,
            uses,
            trim,
            covered: 0,
        }
    }

    /// Handles the phrases that start in `h[from..to]`, found in `copy`, the normalized copy
    /// of `h[from..]`.
    fn search(&mut self, h: &[u8], copy: &[u8], from: usize, to: usize, sink: &mut Sink) {
        for m in self.ac.find_iter(copy) {
            let (s, e) = (from + m.start(), from + m.end() - self.trim);
            if s >= to {
                break;
            }
            if s >= self.covered {
                self.covered = e;
                context_at(h, s, e, &self.uses[m.pattern().as_usize()], sink);
            }
        }
    }
}

/// A leftmost-longest searcher for `phrases`. A contiguous NFA rather than the DFA the
/// builder picks for so few patterns: the packed prefilter does the searching and the
/// automaton only confirms its rare candidates, as fast either way (measured), while the DFA
/// took ~1.8M of the ~4.6M instructions of a CLI run on a short input to build.
fn phrase_searcher<P: AsRef<[u8]>>(phrases: &[P]) -> Result<AhoCorasick, aho_corasick::BuildError> {
    AhoCorasick::builder()
        .match_kind(MatchKind::LeftmostLongest)
        .kind(Some(aho_corasick::AhoCorasickKind::ContiguousNFA))
        .build(phrases)
}

/// Adds `phrase` to a phrase list, merging the uses of equal phrases.
fn add_phrase(phrases: &mut Vec<String>, uses: &mut Vec<Vec<usize>>, phrase: String, ctx: usize) {
    if let Some(k) = phrases.iter().position(|x| *x == phrase) {
        uses[k].push(ctx);
    } else {
        phrases.push(phrase);
        uses.push(vec![ctx]);
    }
}

impl ContextIndex {
    pub(crate) fn new() -> Result<ContextIndex, aho_corasick::BuildError> {
        let mut keys_by_len = vec![Vec::new(); MAX_KEY + 1];
        let mut flags_by_len = vec![Vec::new(); MAX_KEY + 1];
        let (mut words, mut words_uses) = (Vec::new(), Vec::new());
        let (mut wide, mut wide_uses) = (Vec::new(), Vec::new());
        for (i, c) in CONTEXTS.iter().enumerate() {
            match c.mode {
                Mode::Key | Mode::ObjectName => keys_by_len[c.phrase.len()].push(i),
                Mode::Flag => {
                    let word = &c.phrase[c.phrase.find("--").map_or(0, |k| k + 2)..];
                    flags_by_len[word.len()].push(i);
                }
                Mode::Prose if c.phrase.is_ascii() => {
                    let w = format!("{} ", c.phrase.to_ascii_lowercase());
                    debug_assert!(w.bytes().all(|b| norm(b) == b));
                    add_phrase(&mut words, &mut words_uses, w, i);
                }
                Mode::Prose => {
                    // a phrase in Korean or Japanese also appears JSON-escaped (`\ubc84...`)
                    let plain = c.phrase.to_ascii_lowercase();
                    let escaped = json_escaped(&plain);
                    for p in std::iter::once(plain).chain(escaped) {
                        debug_assert!(p.len() <= MAX_PHRASE);
                        add_phrase(&mut wide, &mut wide_uses, p, i);
                    }
                }
            }
        }
        let mut key_ends = PairBits::default();
        // the words `Keys::at` handles before the key lookup: keep the two in step
        let special = [
            "id",
            "text",
            "content",
            "buckets",
            "name",
            "outputvalue",
            "path",
        ];
        let keys = CONTEXTS
            .iter()
            .filter(|c| matches!(c.mode, Mode::Key | Mode::ObjectName))
            .map(|c| c.phrase);
        for key in keys.chain(special) {
            match *key.as_bytes() {
                [.., a, b] => key_ends.insert(a.to_ascii_lowercase(), b.to_ascii_lowercase()),
                // a one-byte key (there is none) would end any pair with its byte
                [b] => (0..=255).for_each(|a| key_ends.insert(a, b.to_ascii_lowercase())),
                [] => {}
            }
        }
        Ok(ContextIndex {
            key_ends,
            keys_by_len,
            flags_by_len,
            words_paired: phrase_searcher(
                &words
                    .iter()
                    .map(|w| paired(w.as_bytes()))
                    .collect::<Vec<_>>(),
            )?,
            words_longest: {
                let mut ids: Vec<usize> = (0..words.len()).collect();
                ids.sort_by_key(|&i| std::cmp::Reverse(words[i].len()));
                ids
            },
            words: words.into_iter().map(|w| w.into_bytes().into()).collect(),
            words_uses,
            wide_hints: {
                let mut hints: Vec<&str> = wide
                    .iter()
                    .filter_map(|p| {
                        let (at, c) = p.char_indices().find(|(_, c)| !c.is_ascii())?;
                        Some(&p[at..at + c.len_utf8()])
                    })
                    .chain(["\\u"])
                    .collect();
                hints.sort_unstable();
                hints.dedup();
                aho_corasick::packed::Config::new()
                    .builder()
                    .extend(hints)
                    .build()
            },
            wide: phrase_searcher(&wide)?,
            wide_uses,
        })
    }

    /// Whether `block` may hold a wide phrase: the first non-ASCII character of one, or a
    /// `\\u`.
    fn may_hold_wide(&self, block: &[u8]) -> bool {
        self.wide_hints
            .as_ref()
            .is_none_or(|hints| hints.find(block).is_some())
    }

    /// The prose contexts (keys and flags are found by [`Keys`] and [`Flags`]).
    pub(crate) fn find(&self, h: &[u8], sink: &mut Sink) {
        self.find_prose(h, sink);
    }

    /// Prose phrases, one block at a time; a block's copy runs `MAX_PHRASE` bytes into the
    /// next so that a phrase across the border is whole in it.
    fn find_prose(&self, h: &[u8], sink: &mut Sink) {
        thread_local! {
            /// The block copy kept between scans on this thread.
            static BUF: std::cell::Cell<Vec<u8>> = const { std::cell::Cell::new(Vec::new()) };
        }
        let mut buf = BUF.with(std::cell::Cell::take);
        let mut words = Words {
            index: self,
            covered: 0,
        };
        let mut wide = Phrases::new(&self.wide, &self.wide_uses, 0);
        let mut from = 0;
        while from < h.len() {
            let to = (from + BLOCK).min(h.len());
            let block = &h[from..(to + MAX_PHRASE).min(h.len())];
            paired_copy(block, &mut buf);
            words.search(h, block, &buf, from, to, sink);
            if self.may_hold_wide(block) {
                buf.copy_from_slice(block);
                buf.make_ascii_lowercase();
                wide.search(h, &buf, from, to, sink);
            }
            from = to;
        }
        BUF.with(|c| c.set(buf));
    }

    /// Every key context, trying each `:` and `=` and every word before one (the reference
    /// [`Keys`] is tested against).
    #[cfg(test)]
    pub(crate) fn find_keys(&self, h: &[u8], sink: &mut Sink) {
        let mut keys = Keys::new(self);
        keys.prefilter = false;
        for p in memchr::memchr2_iter(b':', b'=', h) {
            keys.at(h, p, sink);
        }
    }

    /// Every flag context, from each `--` a substring search finds (the reference the dash
    /// places of [`super::events`] are tested against).
    #[cfg(test)]
    pub(crate) fn find_flags(&self, h: &[u8], sink: &mut Sink) {
        let mut flags = Flags::default();
        for p in memchr::memmem::find_iter(h, b"--") {
            flags.at(self, h, p, sink);
        }
    }
}

/// Flag contexts (`--function-name …`), found from the `-` places of [`super::events`]: a
/// `--` not inside the one before it.
#[derive(Default)]
pub(crate) struct Flags {
    /// a `--` starting before this is inside the last one
    next: usize,
}

impl Flags {
    /// Handles the `-` at `p`.
    #[inline]
    pub(crate) fn at(&mut self, index: &ContextIndex, h: &[u8], p: usize, sink: &mut Sink) {
        if p < self.next || h.get(p + 1) != Some(&b'-') {
            return;
        }
        self.next = p + 2;
        let w = p + 2;
        let n = run(h, w, MAX_KEY + 1, |c| {
            c.is_ascii_alphanumeric() || c == b'-'
        });
        let Some(uses) = index.flags_by_len.get(n) else {
            return;
        };
        for &u in uses {
            let ctx = &CONTEXTS[u];
            let k = ctx.phrase.find("--").unwrap_or(0);
            let (before, word) = (&ctx.phrase.as_bytes()[..k], &ctx.phrase.as_bytes()[k + 2..]);
            if word.eq_ignore_ascii_case(&h[w..w + n])
                && super::bytes::ends_with_ci(h, p, before)
                && let Some((v, end)) = context_value(h, p - before.len(), w + n, ctx)
            {
                sink.push(v, end, ctx.kind);
                break;
            }
        }
    }
}

/// Key contexts (`"BucketName": "…"`, `TABLE_NAME=…`), found from the `:` or `=` after the
/// key (see [`super::events`]).
pub(crate) struct Keys<'a> {
    index: &'a ContextIndex,
    /// where the last `"Buckets"` key and the last `]` before the current key are, kept up
    /// to date as the keys go by, so that each `Name` key costs O(1) (a window search per
    /// key made a text of `{"Name": ...}` quadratic in its window)
    lists: ListTracker,
    /// whether words are first checked against `key_ends` (off only to test that check)
    prefilter: bool,
}

impl<'a> Keys<'a> {
    pub(crate) fn new(index: &'a ContextIndex) -> Keys<'a> {
        Keys {
            index,
            lists: ListTracker::default(),
            prefilter: true,
        }
    }

    /// Handles the `:` or `=` at `p`.
    pub(crate) fn at(&mut self, h: &[u8], p: usize, sink: &mut Sink) {
        // `key": `, `key = `, `KEY=`, `\"key\":`
        let mut k1 = p;
        while k1 > 0 && p - k1 < 40 && matches!(h[k1 - 1], b' ' | b'\t') {
            k1 -= 1;
        }
        if k1 > 0 && matches!(h[k1 - 1], b'"' | b'\'') {
            k1 -= 1;
            if k1 > 0 && h[k1 - 1] == b'\\' {
                k1 -= 1;
            }
        }
        if k1 == 0 {
            return;
        }
        // every key ends in the last two bytes of the word: most words before a `:` or `=`
        // (`error:`, `x =`) are turned away here, before the word is measured
        let before = if k1 >= 2 { h[k1 - 2] } else { 0 };
        let (a, b) = (before.to_ascii_lowercase(), h[k1 - 1].to_ascii_lowercase());
        if self.prefilter && !self.index.key_ends.holds(a, b) {
            return;
        }
        let n = super::ids::run_back(h, k1, MAX_KEY, |c| {
            c.is_ascii_alphanumeric() || matches!(c, b'_' | b'-' | b'.')
        });
        if n == 0 {
            return;
        }
        let k0 = k1 - n;
        let word = &h[k0..k1];
        if word == b"id" && h[p] == b'=' {
            terraform_id(h, k0, k1, sink);
            return;
        }
        if (word == b"text" || word == b"content") && h[p] == b':' {
            super::names::json_text_name(h, p + 1, sink);
            return;
        }
        if word.eq_ignore_ascii_case(b"buckets") && h[p] == b':' {
            self.lists.buckets = Some(k0);
            sink.list_key(k0);
        }
        if word.eq_ignore_ascii_case(b"name") && h[p] == b':' {
            // a bucket (`true`), or one if a list is open where this slice starts (`false`):
            // nothing before it in the slice says, the text before the slice does
            let bucket = match self.lists.in_bucket_list(h, k0) {
                Some(true) => Some(true),
                _ if in_object_listing(h, k1) => Some(true),
                Some(false) => None,
                None => Some(false),
            };
            if let Some(sure) = bucket
                && let Some((v, end)) = bucket_list_name(h, k0, k1)
            {
                if sure {
                    sink.push(v, end, K::S3Bucket);
                } else {
                    sink.push_if_listed(v, end);
                }
            }
            return;
        }
        if word.eq_ignore_ascii_case(b"outputvalue") {
            cloudformation_output(h, k0, k1, sink);
            return;
        }
        if word == b"Path" && h[p] == b':' {
            terraform_lock_path(h, p + 1, sink);
            return;
        }
        // the whole word, then from each inner separator
        let mut start = k0;
        loop {
            let len = k1 - start;
            let word = &h[start..k1];
            if let Some(uses) = self.index.keys_by_len.get(len) {
                let found = uses.iter().any(|&u| {
                    CONTEXTS[u].phrase.as_bytes().eq_ignore_ascii_case(word)
                        && context_at(h, start, k1, &[u], sink)
                });
                if found {
                    break;
                }
            }
            match h[start..k1]
                .iter()
                .position(|&c| matches!(c, b'_' | b'-' | b'.'))
            {
                Some(k) => start += k + 1,
                None => break,
            }
        }
    }
}

/// Terraform resources whose `id` is a name that LABELING labels.
const TF_RESOURCES: &[(&[u8], K)] = &[
    (b"aws_s3_bucket", K::S3Bucket),
    (b"aws_lambda_function", K::LambdaFunction),
    (b"aws_dynamodb_table", K::DynamodbTable),
    (b"aws_eks_cluster", K::EksCluster),
    (b"aws_cloudwatch_log_group", K::LogGroup),
];

/// `id = "..."` inside a Terraform resource block, or `aws_s3_bucket.x: Refreshing state...
/// [id=...]`: the id of the nearest resource address before it.
fn terraform_id(h: &[u8], k0: usize, k1: usize, sink: &mut Sink) {
    // the resource address is on the block's first line or the plan line before it; a
    // small window keeps a text of `id = ...` lines linear with a small constant
    let window = &h[k0.saturating_sub(1024)..k0];
    let Some(a) = finders().tf_type.rfind(window) else {
        return;
    };
    let base = k0.saturating_sub(1024);
    let t0 = base + a;
    let n = run(h, t0, 64, |c| {
        c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'_'
    });
    let ty = &h[t0..t0 + n];
    // a resource address (`aws_s3_bucket.assets`) or type (`resource "aws_s3_bucket"`)
    if !matches!(h.get(t0 + n), Some(b'.' | b'"' | b'\\')) {
        return;
    }
    let Some(&(_, kind)) = TF_RESOURCES.iter().find(|r| r.0 == ty) else {
        // `aws_iam_role.ci: Refreshing state... [id=acme-ci-deployer]`: the id Terraform
        // reports for a resource of another type, on the address's line
        if k0 > 0
            && h[k0 - 1] == b'['
            && h[t0 + n] == b'.'
            && memchr::memchr(b'\n', &h[t0..k0]).is_none()
        {
            terraform_progress_id(h, k1 + 1, sink);
        }
        return;
    };
    let ctx = Context {
        phrase: "id",
        kind,
        mode: Mode::Key,
    };
    if let Some((v, end)) = context_value(h, k0, k1, &ctx) {
        sink.push(v, end, kind);
    }
}

/// The id in `[id=...]` from `v` to the `]`: up to 256 bytes of the characters Terraform ids
/// are made of, with a letter (a number is a data source's hash).
fn terraform_progress_id(h: &[u8], v: usize, sink: &mut Sink) {
    let n = run(h, v, 257, |c| {
        c.is_ascii_alphanumeric()
            || matches!(
                c,
                b'-' | b'_' | b'.' | b'/' | b':' | b',' | b'|' | b'+' | b'=' | b'@'
            )
    });
    if (3..=256).contains(&n)
        && h.get(v + n) == Some(&b']')
        && h[v..v + n].iter().any(u8::is_ascii_alphabetic)
    {
        sink.push(v, v + n, K::ResourceName);
    }
}

/// `"OutputKey": "BucketName", "OutputValue": "..."` (CloudFormation stack outputs): the value
/// of an output whose key names a bucket, table, function or log group.
fn cloudformation_output(h: &[u8], k0: usize, k1: usize, sink: &mut Sink) {
    let base = k0.saturating_sub(200);
    let window = &h[base..k0];
    let Some(o) = window
        .windows(9)
        .rposition(|w| w.eq_ignore_ascii_case(b"outputkey"))
    else {
        return;
    };
    // the output key's own value: the next word after `OutputKey": "`
    let after = &window[o + 9..];
    let start = after
        .iter()
        .position(u8::is_ascii_alphanumeric)
        .unwrap_or(after.len());
    let key_len = after[start..]
        .iter()
        .take_while(|c| c.is_ascii_alphanumeric() || **c == b'_')
        .count();
    let key = after[start..start + key_len].to_ascii_lowercase();
    let has = |w: &[u8]| key.windows(w.len()).any(|x| x == w);
    let kind = if has(b"bucket") {
        K::S3Bucket
    } else if has(b"table") {
        K::DynamodbTable
    } else if has(b"function") {
        K::LambdaFunction
    } else if has(b"loggroup") {
        K::LogGroup
    } else {
        return;
    };
    let ctx = Context {
        phrase: "outputvalue",
        kind,
        mode: Mode::Key,
    };
    if let Some((v, end)) = context_value(h, k0, k1, &ctx) {
        sink.push(v, end, kind);
    }
}

/// Terraform's state lock info names the S3 backend object: `Path: BUCKET/KEY.tfstate`.
fn terraform_lock_path(h: &[u8], mut i: usize, sink: &mut Sink) {
    while i < h.len() && i < h.len().min(i + 16) && h[i] == b' ' {
        i += 1;
    }
    let Some(end) = bucket_at(h, i) else { return };
    if h.get(end) != Some(&b'/') {
        return;
    }
    let line_end = memchr::memchr(b'\n', &h[end..]).map_or(h.len(), |k| end + k);
    let line = &h[end..line_end.min(end + 1024)];
    if line.windows(8).any(|w| w == b".tfstate") {
        sink.push(i, end, K::S3Bucket);
    }
}

/// Tracks whether a key sits inside the list of a `"Buckets": [...]` key
/// (`aws s3api list-buckets`), in amortized constant time per key.
#[derive(Default)]
struct ListTracker {
    /// where the last `Buckets` key starts
    buckets: Option<usize>,
    /// where the last `]` seen is, and how far the text was searched for one
    bracket: Option<usize>,
    searched: usize,
}

impl ListTracker {
    /// Whether a key at `at` sits inside a `"Buckets"` list; `None` when neither a `Buckets`
    /// key nor a `]` comes before it in `h`: then the text before `h` decides (at the start
    /// of a text, it does not).
    fn in_bucket_list(&mut self, h: &[u8], at: usize) -> Option<bool> {
        if self.searched < at {
            if let Some(k) = memchr::memrchr(b']', &h[self.searched..at]) {
                self.bracket = Some(self.searched + k);
            }
            self.searched = at;
        }
        match (self.buckets, self.bracket) {
            (Some(b), Some(c)) => Some(c < b),
            (None, None) => None,
            (b, _) => Some(b.is_some()),
        }
    }
}

/// `"Buckets": [{"Name": "..."}, ...]` (`aws s3api list-buckets`): a `Name` inside the list.
/// Whether `s` starts with a typographic quote written as a JSON escape (`\u201c`, `\u00ab`,
/// `\u300c`, ... in either case).
fn escaped_quote(s: &[u8]) -> bool {
    const QUOTES: &[&[u8]] = &[
        b"201c", b"201d", b"2018", b"2019", b"00ab", b"00bb", b"300c", b"300d",
    ];
    s.len() >= 6 && s[1] == b'u' && QUOTES.iter().any(|q| s[2..6].eq_ignore_ascii_case(q))
}

/// Whether the `Name` key ending at `k1` is the bucket of a `ListObjects` / `ListObjectsV2` /
/// `ListObjectVersions` answer: a `MaxKeys` or `KeyCount` key follows in the same object
/// (looked for in the next 320 bytes, up to the first brace).
fn in_object_listing(h: &[u8], k1: usize) -> bool {
    let window = &h[k1..h.len().min(k1 + 320)];
    let window = &window[..memchr::memchr2(b'{', b'}', window).unwrap_or(window.len())];
    // (`"MaxKeys` also finds the JSON-escaped `\\"MaxKeys`)
    [&b"\"MaxKeys"[..], b"\"KeyCount"]
        .iter()
        .any(|k| memchr::memmem::find(window, k).is_some())
}

/// The value of the `Name` key at `k0..k1`, read as a bucket name.
fn bucket_list_name(h: &[u8], k0: usize, k1: usize) -> Option<(usize, usize)> {
    let ctx = Context {
        phrase: "name",
        kind: K::S3Bucket,
        mode: Mode::Key,
    };
    context_value(h, k0, k1, &ctx)
}

/// `phrase` with every non-ASCII character written as JSON writes it with `ensure_ascii`
/// (`\uXXXX`, lower-case hex), or `None` when it is all ASCII.
pub(crate) fn json_escaped(phrase: &str) -> Option<String> {
    if phrase.is_ascii() {
        return None;
    }
    let mut out = String::with_capacity(phrase.len() * 3);
    for c in phrase.chars() {
        if c.is_ascii() {
            out.push(c);
        } else {
            let mut units = [0u16; 2];
            for u in c.encode_utf16(&mut units) {
                let _ = write!(out, "\\u{u:04x}");
            }
        }
    }
    Some(out)
}

/// Handles a context phrase found at `[s, e)`; `uses` are the contexts that share it.
/// Returns whether one of them found its value.
fn context_at(h: &[u8], s: usize, e: usize, uses: &[usize], sink: &mut Sink) -> bool {
    for &u in uses {
        let ctx = &CONTEXTS[u];
        if let Some((v, end)) = context_value(h, s, e, ctx) {
            sink.push(v, end, ctx.kind);
            if ctx.kind == K::S3Bucket && matches!(ctx.mode, Mode::Key | Mode::Prose) {
                list_rest(h, end, sink);
            }
            return true;
        }
    }
    false
}

fn context_value(h: &[u8], s: usize, e: usize, ctx: &Context) -> Option<(usize, usize)> {
    // the phrase must stand alone on its left (`_`, `.`, `/` and quotes may precede a key)
    if s > 0 {
        let p = h[s - 1];
        let ok = match ctx.mode {
            Mode::Key | Mode::ObjectName => !p.is_ascii_alphanumeric(),
            Mode::Flag | Mode::Prose => !is_word(p) && (ctx.mode == Mode::Flag || p != b'-'),
        };
        if !ok {
            return None;
        }
        // `aws lambda get-function`: the CLI's service name, not a phrase about a resource
        // (`AWS secret key: …` is one about a secret)
        if ctx.mode == Mode::Prose
            && !matches!(ctx.kind, K::SecretAccessKey | K::SessionToken)
            && super::bytes::ends_with_ci(h, s, b"aws ")
        {
            return None;
        }
        // `EKS cluster: name` is the prose phrase's, not a generic `cluster:` key's
        if ctx.kind == K::EcsCluster
            && ctx.mode == Mode::Key
            && super::bytes::ends_with_ci(h, s, b"eks ")
        {
            return None;
        }
    }
    // ... and on its right, unless it ends in a non-ASCII word (`S3桶name`)
    let glued = h[e - 1] >= 0x80 || (e >= 6 && h[e - 6] == b'\\' && h[e - 5] == b'u');
    if !glued && h.get(e).is_some_and(|&b| is_word(b) || b == b'-') {
        return None;
    }
    let v = if ctx.mode == Mode::ObjectName {
        object_name_start(h, e)?
    } else if glued && h.get(e).is_some_and(u8::is_ascii_alphanumeric) {
        e
    } else {
        value_start(h, e, ctx.mode)?
    };
    if ctx.phrase == "scaled"
        && value_end(h, v, ctx.kind, Mode::Prose).is_some_and(|e| h.get(e) != Some(&b'/'))
    {
        return None;
    }
    let mode = if ctx.mode == Mode::ObjectName {
        Mode::Key
    } else {
        ctx.mode
    };
    let end = value_end(h, v, ctx.kind, mode)?;
    if ctx.kind == K::CanonicalUserId && ctx.phrase == "id" {
        // `"Owner": {"DisplayName": "...", "ID": "..."}`: only an owner's id
        let window = &h[s.saturating_sub(120)..s];
        if !window.windows(5).any(|w| w.eq_ignore_ascii_case(b"owner")) {
            return None;
        }
    }
    Some((v, end))
}

/// The rest of a list of bucket names after the first: `["a", "b"]`, `a, b, c`.
fn list_rest(h: &[u8], mut end: usize, sink: &mut Sink) {
    for _ in 0..64 {
        let mut i = end;
        let limit = h.len().min(end + 8);
        let mut comma = false;
        while i < limit {
            match h[i] {
                b'"' | b'\'' | b' ' => i += 1,
                b'\\' if h.get(i + 1) == Some(&b'"') => i += 2,
                b',' if !comma => {
                    comma = true;
                    i += 1;
                }
                _ => break,
            }
        }
        if !comma {
            return;
        }
        match bucket_at(h, i) {
            Some(e) if looks_like_identifier(&h[i..e]) => {
                sink.push(i, e, K::S3Bucket);
                end = e;
            }
            _ => return,
        }
    }
}

/// After a key such as `"cluster"`: `: {` and then a `"name"` key; returns where its value
/// starts.
fn object_name_start(h: &[u8], e: usize) -> Option<usize> {
    let limit = h.len().min(e + 64);
    let mut i = e;
    let mut brace = false;
    let mut colon = false;
    while i < limit {
        match h[i] {
            b'"' | b' ' | b'\t' | b'\n' | b'\r' => i += 1,
            b'\\' if matches!(h.get(i + 1), Some(b'"' | b'n' | b't' | b'r')) => i += 2,
            b':' if !colon => {
                colon = true;
                i += 1;
            }
            b'{' if colon && !brace => {
                brace = true;
                i += 1;
            }
            _ => break,
        }
    }
    if !colon || !super::bytes::starts_with_ci(h, i, b"name") {
        return None;
    }
    let _ = brace;
    value_start(h, i + 4, Mode::Key)
}

/// Skips the separator between a context and its value.
fn value_start(h: &[u8], mut i: usize, mode: Mode) -> Option<usize> {
    let limit = h.len().min(i + 32);
    let mut assign = false;
    let mut space = false;
    let mut quotes = 0;
    while i < limit {
        match h[i] {
            b'"' | b'\'' | b'`' => {
                quotes += 1;
                i += 1;
            }
            b'\\' if h.get(i + 1) == Some(&b'"') => {
                quotes += 1;
                i += 2;
            }
            b':' | b'=' => {
                if assign || mode == Mode::Prose && h[i] == b'=' {
                    return None;
                }
                assign = true;
                // `key => v` (Ruby, PHP)
                i += if h[i..].starts_with(b"=>") { 2 } else { 1 };
            }
            b' ' | b'\t' => {
                space = true;
                i += 1;
            }
            b'*' | b'(' | b'[' | b'<' if mode == Mode::Prose => i += 1,
            b'[' if mode == Mode::Key => i += 1,
            b'\n' if mode != Mode::Prose && (assign || mode == Mode::Flag) => {
                // YAML: `key:\n    Value: v` (CloudFormation outputs) or `- --flag\n  - v`
                space = true;
                i += 1;
                while i < limit && (h[i] == b' ' || h[i] == b'\t') {
                    i += 1;
                }
                if h[i..].starts_with(b"- ") {
                    i += 2;
                } else if h[i..].starts_with(b"Value: ") && mode == Mode::Key {
                    i += 7;
                } else {
                    return None;
                }
            }
            // a typographic quote written as a JSON escape: `\u201c`
            b'\\' if mode == Mode::Prose && escaped_quote(&h[i..]) => {
                quotes += 1;
                i += 6;
            }
            0xE2 | 0xE3
                if mode == Mode::Prose
                    && i + 3 <= h.len()
                    && is_typographic_quote(&h[i..i + 3]) =>
            {
                i += 3;
            }
            _ => break,
        }
    }
    let ok = match mode {
        Mode::Key | Mode::ObjectName => assign,
        Mode::Flag => assign || space,
        Mode::Prose => space || assign || quotes > 0,
    };
    (ok && i < h.len()).then_some(i)
}

/// Parses the value of `kind` at `v`; returns its end.
fn value_end(h: &[u8], v: usize, kind: K, mode: Mode) -> Option<usize> {
    let end = match kind {
        K::S3Bucket => bucket_at(h, v)?,
        K::LambdaFunction | K::EcsCluster | K::EksCluster | K::DynamodbTable => {
            let dots = kind == K::DynamodbTable;
            if !h[v].is_ascii_alphanumeric() {
                return None;
            }
            let n = run(h, v, 256, |c| {
                c.is_ascii_alphanumeric() || c == b'-' || c == b'_' || (dots && c == b'.')
            });
            let mut end = v + n;
            while end > v && matches!(h[end - 1], b'.' | b'-') {
                end -= 1;
            }
            end
        }
        K::LogGroup => {
            let mut i = v;
            let limit = h.len().min(v + 512);
            while i < limit {
                let c = h[i];
                if c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'/' | b'.' | b'#') {
                    i += 1;
                } else if c == b'\\' && h.get(i + 1) == Some(&b'/') {
                    i += 2;
                } else {
                    break;
                }
            }
            while i > v && matches!(h[i - 1], b'.' | b'-') {
                i -= 1;
            }
            i
        }
        K::SecretAccessKey | K::SessionToken => {
            let secret = kind == K::SecretAccessKey;
            let mut i = v;
            let mut chars = 0;
            let limit = h.len().min(v + 4096);
            // `-` and `_` are no base64, but a token's run that goes on with them is taken
            // whole: a token that ran into a name (`…Role/i-0abc…`) must not end inside it,
            // leaving the rest of the name in the text; a secret key followed by them is none
            while i < limit {
                let c = h[i];
                if c.is_ascii_alphanumeric()
                    || matches!(c, b'+' | b'/')
                    || (!secret && matches!(c, b'=' | b'-' | b'_'))
                {
                    i += 1;
                } else if c == b'\\' && h.get(i + 1) == Some(&b'/') {
                    i += 2;
                } else {
                    break;
                }
                chars += 1;
            }
            if secret {
                // a `_` after it is a word byte, refused below with the rest
                if chars != 40 || h.get(i).is_some_and(|&c| matches!(c, b'=' | b'-')) {
                    return None;
                }
            } else if chars < 40 {
                return None;
            }
            let value = &h[v..i];
            if !value.iter().any(u8::is_ascii_digit)
                || !value.iter().any(u8::is_ascii_uppercase)
                || !value.iter().any(u8::is_ascii_lowercase)
            {
                return None;
            }
            i
        }
        K::ApiGatewayId => {
            let n = run(h, v, 11, |c| c.is_ascii_lowercase() || c.is_ascii_digit());
            let id = &h[v..v + n];
            if n != 10
                || !id.iter().any(u8::is_ascii_digit)
                || !id.iter().any(u8::is_ascii_lowercase)
            {
                return None;
            }
            v + n
        }
        K::CanonicalUserId => {
            let n = run(h, v, 65, |c| {
                c.is_ascii_digit() || (b'a'..=b'f').contains(&c)
            });
            if n != 64 {
                return None;
            }
            v + n
        }
        _ => return None,
    };
    if end == v {
        return None;
    }
    // the value must end where the name ends
    if h.get(end).is_some_and(|&b| is_word(b)) {
        return None;
    }
    let value = &h[v..end];
    if is_code_reference(value) {
        return None;
    }
    if mode == Mode::Prose && (!looks_like_identifier(value) || super::bytes::is_region(value)) {
        return None;
    }
    if mode != Mode::Prose && kind != K::LogGroup && kind != K::S3Bucket && value.len() < 2 {
        return None;
    }
    Some(end)
}

/// `var.x`, `module.y.z`, `aws_s3_bucket.b.id`: references in code, not names.
fn is_code_reference(v: &[u8]) -> bool {
    const PREFIXES: &[&[u8]] = &[
        b"var.", b"local.", b"module.", b"data.", b"each.", b"self.", b"aws_", b"true", b"false",
        b"null", b"none",
    ];
    PREFIXES
        .iter()
        .any(|p| v.len() >= p.len() && v[..p.len()].eq_ignore_ascii_case(p))
}

/// In prose, a name must look like an identifier rather than a word: it has a digit, a `-`,
/// a `_`, a `/` or a `.` inside, or is CamelCase with at least three humps.
fn looks_like_identifier(v: &[u8]) -> bool {
    let inner = &v[..v.len().saturating_sub(1)];
    v.len() >= 3
        && (inner
            .iter()
            .any(|&c| c.is_ascii_digit() || matches!(c, b'-' | b'_' | b'/' | b'.'))
            || v.iter().filter(|c| c.is_ascii_uppercase()).count() >= 3
                && v.iter().any(u8::is_ascii_lowercase))
}

/// S3 server access log lines: `OWNER_ID BUCKET [06/Feb/2019:00:00:38 +0000] ...`. Anchored
/// on ` [` followed by a date; labels the bucket and the canonical user id before it.
pub(crate) fn find_s3_access_log(h: &[u8], sink: &mut Sink) {
    for p in finders().s3_log.find_iter(h) {
        let d = p + 2;
        // dd/Mon/yyyy:
        let date_ok = h.len() >= d + 12
            && h[d].is_ascii_digit()
            && h[d + 1].is_ascii_digit()
            && h[d + 2] == b'/'
            && h[d + 3..d + 6].iter().all(u8::is_ascii_alphabetic)
            && h[d + 6] == b'/'
            && h[d + 7..d + 11].iter().all(u8::is_ascii_digit)
            && h[d + 11] == b':';
        if !date_ok {
            continue;
        }
        // bucket right before
        let mut b = p;
        while b > 0
            && (h[b - 1].is_ascii_lowercase()
                || h[b - 1].is_ascii_digit()
                || matches!(h[b - 1], b'-' | b'.'))
            && p - b < 64
        {
            b -= 1;
        }
        if b == p || b == 0 || h[b - 1] != b' ' || bucket_at(h, b) != Some(p) {
            continue;
        }
        let o_end = b - 1;
        let n = super::ids::run_back(h, o_end, 65, |c| {
            c.is_ascii_digit() || (b'a'..=b'f').contains(&c)
        });
        if n != 64 {
            continue;
        }
        let o = o_end - 64;
        if !super::bytes::left_ok(h, o) {
            continue;
        }
        sink.push(o, o_end, K::CanonicalUserId);
        sink.push(b, p, K::S3Bucket);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_with_a_wide_phrase_are_searched_and_plain_korean_is_not() {
        let index = ContextIndex::new().unwrap();
        let wide: Vec<String> = CONTEXTS
            .iter()
            .filter(|c| c.mode == Mode::Prose && !c.phrase.is_ascii())
            .flat_map(|c| {
                let plain = c.phrase.to_owned();
                let escaped = json_escaped(&plain);
                std::iter::once(plain).chain(escaped)
            })
            .collect();
        assert!(wide.len() >= 8, "{wide:?}");
        let filler = "한국어 로그 確認 café ".repeat(3000);
        assert!(!index.may_hold_wide(filler.as_bytes()));
        for phrase in &wide {
            // letters in any case (`EKS`, `\u30AF`); JSON writes its escapes with a small `u`
            let upper = phrase.to_ascii_uppercase().replace("\\U", "\\u");
            for variant in [phrase.clone(), upper] {
                let text = format!("{}{variant}{}", &filler[..3000], &filler[..3000]);
                assert!(index.may_hold_wide(text.as_bytes()), "{variant}");
                // and it is found there, in a block the prose search reaches
                let mut sink = Sink::default();
                let text = format!("{}{variant} acme-data-lake\n", &filler[..3000]);
                index.find_prose(text.as_bytes(), &mut sink);
                assert!(!sink.cands.is_empty(), "{variant}");
            }
        }
    }

    /// The ASCII phrases the way they were found before the paired copy: a leftmost-longest
    /// search of the phrases themselves in each normalized block.
    fn find_words_plain(index: &ContextIndex, h: &[u8], sink: &mut Sink) {
        let ac = phrase_searcher(&index.words).unwrap();
        let mut words = Phrases::new(&ac, &index.words_uses, 1);
        let mut buf = Vec::new();
        let mut from = 0;
        while from < h.len() {
            let to = (from + BLOCK).min(h.len());
            normalize(&h[from..(to + MAX_PHRASE).min(h.len())], &mut buf);
            words.search(h, &buf, from, to, sink);
            from = to;
        }
    }

    #[test]
    fn the_paired_search_finds_what_the_plain_search_finds() {
        let index = ContextIndex::new().unwrap();
        let mut parts: Vec<String> = index
            .words
            .iter()
            .map(|w| String::from_utf8(w.to_vec()).unwrap())
            .collect();
        // what a phrase starts like, or is part of, in any case and between any separators
        for w in parts.clone() {
            let w = w.trim_end();
            parts.push(format!("{w}s "));
            parts.push(w.to_ascii_uppercase() + "\n");
            parts.push(w.replace(' ', "  ") + " ");
            parts.push(w.replace(' ', "\t") + "-");
            parts.push(w[..w.len() / 2].to_string());
            parts.push(w[1..].to_string());
        }
        // texts that read like a phrase in the paired copy and are not one: where the search
        // has to check a place, turn it away and go on from the next byte
        // built in codes, then spelt with bytes of each code (a code of 0 is any byte but a
        // letter: a space, a digit, `-`, `_` or a dot)
        let codes: Vec<u8> = std::iter::once(0).chain(b'a'..=b'z').collect();
        let phrases = parts.len();
        for w in &index.words {
            let target = paired(w);
            for (&x, &y) in codes.iter().flat_map(|x| codes.iter().map(move |y| (x, y))) {
                let n = w.len();
                let mut c: Vec<u8> = w.iter().map(|&b| code(b)).collect();
                (c[n - 2], c[n - 1]) = (x, y);
                for k in (0..n - PAIR).rev() {
                    c[k] = target[k] ^ c[k + PAIR].rotate_left(4);
                }
                if !c.iter().all(|b| codes.contains(b)) {
                    continue;
                }
                let t: Vec<u8> = c
                    .iter()
                    .enumerate()
                    .map(|(k, &b)| match (b, k % 5) {
                        (0, j) => b" 7-_."[j],
                        (b, 0) => b.to_ascii_uppercase(),
                        (b, _) => b,
                    })
                    .collect();
                if t != **w {
                    assert_eq!(paired(&t), target);
                    parts.push(String::from_utf8(t).unwrap());
                }
            }
        }
        assert!(parts.len() > phrases + 20, "{parts:?}");
        parts.extend(
            [
                "acme-data-lake ",
                "orders_2024 ",
                "a",
                "s",
                "t",
                "-",
                " ",
                ". ",
                "\\u00e9",
                "é",
                "X9",
            ]
            .map(String::from),
        );
        let mut rng = crate::XorShift(0x9e37_79b9_7f4a_7c15);
        let mut next = || rng.next();
        let mut found = 0;
        for round in 0..300 {
            // short texts, and a few across the blocks of the search
            let len = if round % 50 == 0 {
                3 * BLOCK / 2
            } else {
                (next() % 400) as usize
            };
            let mut text = String::new();
            while text.len() < len {
                text.push_str(&parts[(next() % parts.len() as u64) as usize]);
            }
            let (mut got, mut want) = (Sink::default(), Sink::default());
            index.find_prose(text.as_bytes(), &mut got);
            find_words_plain(&index, text.as_bytes(), &mut want);
            assert_eq!(got.cands, want.cands, "{text:?}");
            found += want.cands.len();
        }
        assert!(found > 1000, "{found}");
    }

    #[test]
    fn the_paired_copy_pairs_the_code_of_each_byte_with_the_one_two_on() {
        let src: Vec<u8> = (0..=255u8)
            .chain((0..=255u8).rev())
            .chain(*b"Az-_9")
            .collect();
        let mut out = Vec::new();
        // every length, so that the vector loop ends at every place in its blocks
        for n in 0..src.len() {
            let src = &src[src.len() - n..];
            paired_copy(src, &mut out);
            let want: Vec<u8> = (0..n)
                .map(|i| pair(code(src[i]), src.get(i + PAIR).map_or(0, |&b| code(b))))
                .collect();
            assert_eq!(out, want, "{n}");
        }
        for b in 0..=255u8 {
            let want = if b.is_ascii_alphabetic() {
                b.to_ascii_lowercase()
            } else {
                0
            };
            assert_eq!(code(b), want);
        }
        assert_eq!(
            paired(b"table "),
            [
                pair(b't', b'b'),
                pair(b'a', b'l'),
                pair(b'b', b'e'),
                pair(b'l', 0)
            ]
        );
        assert_ne!(paired(b"table "), paired(b"tables"));
        assert_eq!(paired(b"table "), paired(b"TABLE-"));
    }
}
