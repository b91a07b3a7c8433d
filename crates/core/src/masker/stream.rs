//! [`Masker::mask_stream`]: the stream is read in chunks; the identifiers of each chunk are
//! found in pieces that every thread takes in turn, the calling thread too when it has
//! nothing else to do; the calling thread masks and writes the chunks in order, straight from
//! the buffer they were read into.

use std::io::{Read, Write};

use hashbrown::HashTable;

use super::{BatchTokens, Masker, StreamStats, count_map, unglue};
use crate::catalogue::KindId;
use crate::detect::pool;
pub(super) use crate::detect::pool::{SIZES, Sizes};
use crate::detect::{Detector, Match};
use crate::error::{Error, ErrorKind};

/// Names a stream has found so far, so that their later occurrences are masked too (at most
/// this many; the oldest go first).
pub(super) const KNOWN_CAPACITY: usize = 512;

/// What the writing side of [`Masker::mask_stream`] carries from one chunk to the next.
#[derive(Default)]
struct FlushState {
    /// stream offset up to which the output is written
    flushed: usize,
    /// whether the output written so far ends with a token
    token_at_end: bool,
    bytes_in: u64,
    bytes_out: u64,
    known: Known,
    /// identifiers masked so far, by kind
    per_kind: Vec<usize>,
    /// the output buffer, reused
    out: Vec<u8>,
}

/// The names a stream has found so far, each once: the newest [`KNOWN_CAPACITY`]. Text full
/// of names brings hundreds of new ones per chunk, each replacing the oldest: a ring of them
/// and a table of indexes into it make that one allocation per name (a queue and a set of
/// boxed keys made two, and freed two: 0.37 µs a name, where this takes 0.1).
#[derive(Default)]
struct Known {
    /// the names; once full, `next` is replaced first
    names: Vec<(KindId, Box<[u8]>)>,
    next: usize,
    /// indexes into `names`, by the hash of kind and name
    index: HashTable<usize>,
}

impl Known {
    fn hash(kind: KindId, name: &[u8]) -> u64 {
        crate::fxhash::hash_kind_bytes(kind, name)
    }

    fn remember(&mut self, buf: &[u8], matches: &[Match]) {
        let Known { names, next, index } = self;
        for m in matches {
            if !(crate::detect::propagates(m.kind()) && m.len() >= 8) {
                continue;
            }
            let (kind, name) = (m.kind(), &buf[m.range()]);
            let hash = Known::hash(kind, name);
            if index
                .find(hash, |&i| names[i].0 == kind && *names[i].1 == *name)
                .is_some()
            {
                continue;
            }
            let slot = if names.len() < KNOWN_CAPACITY {
                names.push((kind, Box::from(name)));
                names.len() - 1
            } else {
                let slot = *next;
                *next = (slot + 1) % KNOWN_CAPACITY;
                let (old_kind, old) = &names[slot];
                if let Ok(entry) = index.find_entry(Known::hash(*old_kind, old), |&i| i == slot) {
                    entry.remove();
                }
                names[slot] = (kind, Box::from(name));
                slot
            };
            index.insert_unique(hash, slot, |&i| Known::hash(names[i].0, &names[i].1));
        }
    }
}

/// Masks `rdr` into `wtr` with `helpers` threads besides this one.
pub(super) fn mask(
    masker: &Masker,
    rdr: &mut impl Read,
    wtr: &mut impl Write,
    helpers: usize,
    sizes: Sizes,
) -> Result<StreamStats, Error> {
    let det = &masker.inner.det;
    let mut state = FlushState {
        per_kind: vec![0; det.kinds().len()],
        ..FlushState::default()
    };
    pipeline(masker, rdr, wtr, &mut state, helpers, sizes)?;
    Ok(StreamStats {
        bytes_in: state.bytes_in,
        bytes_out: state.bytes_out,
        counts: count_map(det, &state.per_kind),
    })
}

fn pipeline(
    masker: &Masker,
    rdr: &mut impl Read,
    wtr: &mut impl Write,
    state: &mut FlushState,
    helpers: usize,
    sizes: Sizes,
) -> Result<(), Error> {
    let det = &masker.inner.det;
    let read_error = |e: std::io::Error| Error::io(format!("cannot read the input: {e}"), &e);
    let how = pool::Through {
        helpers,
        sizes,
        utf8: true,
    };
    pool::read_through(det, rdr, how, read_error, Some, |job, matches| {
        let upto = job.base() + job.to();
        state.bytes_in = (job.base() + job.bytes().len()) as u64;
        flush(masker, state, job.bytes(), job.base(), matches, upto, wtr)
    })
}

/// Masks `buf` (stream bytes from `base`) from where the output was written up to stream
/// offset `upto` (all of `matches` start before it) and writes that.
fn flush(
    masker: &Masker,
    state: &mut FlushState,
    buf: &[u8],
    base: usize,
    matches: &[Match],
    upto: usize,
    wtr: &mut impl Write,
) -> Result<(), Error> {
    let FlushState {
        known,
        per_kind,
        out,
        flushed,
        token_at_end,
        bytes_out,
        ..
    } = state;
    // the byte before the written end is here too: the first match needs its neighbour
    debug_assert!(*flushed == 0 || *flushed > base);
    let region = (
        *flushed - base,
        upto.saturating_sub(base).max(*flushed - base),
    );
    // a match may start inside text an earlier batch already replaced (a propagated
    // occurrence runs past its batch's end): it was masked with that text. One that runs
    // on past what was written (a match that starts inside a word widened by the last
    // batch) would be left half masked: fail closed
    if matches
        .iter()
        .any(|m| m.start() < *flushed && m.end() > *flushed)
    {
        return Err(Error::new(
            ErrorKind::Input,
            "an identifier overlaps text masked before it: it cannot be masked so that it \
             comes back exactly",
        ));
    }
    let local: Vec<Match> = matches
        .iter()
        .filter(|m| m.start() >= *flushed)
        .map(|m| m.shifted_back(base))
        .collect();
    let mut local = Detector::propagate(buf, local, &known.names, region.0, region.1);
    unglue(buf, &mut local, region.0, *token_at_end)?;
    known.remember(buf, &local);
    // every token first: on a store error nothing of this batch is written
    let tokens = if local.is_empty() {
        BatchTokens::default()
    } else {
        masker.tokens_for(buf, &local)?
    };
    out.clear();
    out.reserve(upto.saturating_sub(*flushed) + local.len() * 16);
    let mut pos = *flushed - base;
    for (i, m) in local.iter().enumerate() {
        out.extend_from_slice(&buf[pos..m.start()]);
        out.extend_from_slice(tokens.get(i).as_bytes());
        pos = m.end();
        per_kind[m.kind().as_usize()] += 1;
    }
    let upto_local = upto.saturating_sub(base).max(pos);
    out.extend_from_slice(&buf[pos..upto_local]);
    wtr.write_all(out)
        .map_err(|e| Error::io(format!("cannot write the output: {e}"), &e))?;
    *bytes_out += out.len() as u64;
    *flushed = base + upto_local;
    // the output now ends with a token, with text, or (nothing written) as it did
    if upto_local > pos {
        *token_at_end = false;
    } else if !local.is_empty() {
        *token_at_end = true;
    }
    Ok(())
}
