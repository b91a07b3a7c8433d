//! [`Masker::mask_stream`]: the stream is read in chunks; the identifiers of each chunk are
//! found in pieces that every thread takes in turn, the calling thread too when it has
//! nothing else to do; the calling thread masks and writes the chunks in order, straight from
//! the buffer they were read into.

use std::collections::VecDeque;
use std::io::{Read, Write};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};

use super::{BatchTokens, Masker, StreamStats, count_map, unglue};
use crate::catalogue::KindId;
use crate::detect::{Detector, MARGIN, Match, Window};
use crate::error::{Error, ErrorKind};
use crate::fxhash::FxBuild;

/// The sizes the stream is handled in: smaller in tests, to cross many boundaries.
#[derive(Clone, Copy, Debug)]
pub(super) struct Sizes {
    /// bytes read at a time
    pub(super) chunk: usize,
    /// a read waits for at least this many bytes (or the end)
    pub(super) min_read: usize,
    /// a chunk is scanned in pieces of about this many bytes, which the threads take in turn
    pub(super) piece: usize,
}

/// Chunks of 1 MiB: the chunks in flight, the masker's cache and the store's table then stay
/// in the processor's last-level cache (4 MiB chunks, seven in flight, were 4 % slower). A
/// pipe hands over 64 KiB a read: chunks that small kept the threads waiting for text to
/// scan, so a read waits for a quarter of a chunk.
pub(super) const SIZES: Sizes = Sizes {
    chunk: 1 << 20,
    min_read: 256 << 10,
    piece: 256 << 10,
};

/// Chunks read ahead of the one being written, when other threads scan: enough that they
/// never wait while this thread claims the many new values at a stream's start (with 2,
/// they waited ~45 ms per 128 MiB of text rich in identifiers).
const AHEAD: usize = 6;

/// Names a stream has found so far, so that their later occurrences are masked too (at most
/// this many; the oldest go first).
const KNOWN_CAPACITY: usize = 512;

/// What the writing side of [`Masker::mask_stream`] carries from one chunk to the next.
#[derive(Default)]
struct FlushState {
    /// stream offset up to which the output is written
    flushed: usize,
    /// whether the output written so far ends with a token
    token_at_end: bool,
    /// stream offset where the last match found ends
    covered: usize,
    bytes_in: u64,
    bytes_out: u64,
    known: Known,
    /// identifiers masked so far, by kind
    per_kind: Vec<usize>,
    /// the output buffer, reused
    out: Vec<u8>,
}

/// The names a stream has found so far, oldest first.
#[derive(Default)]
struct Known {
    order: VecDeque<(KindId, Box<[u8]>)>,
    /// the same names, each as its kind's index (two bytes) then its bytes
    set: std::collections::HashSet<Box<[u8]>, FxBuild>,
    /// a key of `set` being built: a name is looked up without allocating
    key: Vec<u8>,
}

impl Known {
    fn remember(&mut self, buf: &[u8], matches: &[Match]) {
        let Known { order, set, key } = self;
        for m in matches {
            if crate::detect::propagates(m.kind()) && m.len() >= 8 {
                let name = &buf[m.range()];
                if !set.contains(known_key(key, m.kind(), name)) {
                    set.insert(Box::from(&key[..]));
                    order.push_back((m.kind(), Box::from(name)));
                }
            }
        }
        while order.len() > KNOWN_CAPACITY {
            if let Some((kind, name)) = order.pop_front() {
                set.remove(known_key(key, kind, &name));
            }
        }
    }
}

/// The key of `name` of `kind` in [`Known::set`], built in `key`.
fn known_key<'k>(key: &'k mut Vec<u8>, kind: KindId, name: &[u8]) -> &'k [u8] {
    key.clear();
    key.extend_from_slice(&kind.0.to_le_bytes());
    key.extend_from_slice(name);
    key
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
    let queue = Queue::default();
    std::thread::scope(|scope| {
        // helpers leave when this closes, however this thread leaves (an error, a panic)
        let _closing = Closing(&queue);
        for _ in 0..helpers {
            scope.spawn(|| help(&queue, det));
        }
        let ahead = if helpers == 0 { 1 } else { 1 + AHEAD };
        let mut reader = Reader {
            sizes,
            split: helpers > 0,
            tail: Vec::new(),
            tail_base: 0,
            next_from: 0,
            ended: false,
            spare: Vec::new(),
        };
        let mut jobs: VecDeque<Arc<Job>> = VecDeque::new();
        loop {
            while jobs.len() < ahead && !reader.ended {
                let job = Arc::new(reader.next(rdr)?);
                state.bytes_in += job.fresh as u64;
                queue.push(Arc::clone(&job));
                jobs.push_back(job);
            }
            let Some(job) = jobs.front() else {
                return Ok(());
            };
            let cands = wait_for(job, &jobs, det)?;
            let mut matches = Vec::new();
            let covered = det.resolve(
                job.bytes(),
                cands,
                Window {
                    from: job.from,
                    to: job.to,
                    covered: state.covered.saturating_sub(job.base).max(job.from),
                    base: job.base,
                },
                &mut matches,
            );
            state.covered = state.covered.max(job.base + covered);
            let upto = job.base + job.to;
            flush(masker, state, job.bytes(), job.base, &matches, upto, wtr)?;
            let job = jobs.pop_front().expect("the front job was just used");
            queue.remove(&job);
            if let Ok(job) = Arc::try_unwrap(job) {
                reader.spare.push(job.buf);
            }
        }
    })
}

/// The candidates of `job`: takes its pieces, then, while other threads finish theirs,
/// pieces of the chunks after it; the first error of a piece, in stream order, if any.
fn wait_for(job: &Job, jobs: &VecDeque<Arc<Job>>, det: &Detector) -> Result<Vec<Match>, Error> {
    loop {
        if let Some(i) = job.claim() {
            job.run(det, i);
            continue;
        }
        if job.complete() {
            break;
        }
        match jobs.iter().skip(1).find_map(|j| j.claim().map(|i| (j, i))) {
            Some((later, i)) => later.run(det, i),
            None => break,
        }
    }
    let mut found = lock(&job.found);
    while found.finished < job.pieces {
        found = job.done.wait(found).unwrap_or_else(PoisonError::into_inner);
    }
    let mut cands = Vec::new();
    for piece in found.pieces.drain(..) {
        cands.extend(piece.unwrap_or_else(|| unreachable!("every piece finished"))?);
    }
    Ok(cands)
}

/// A helper thread: scans pieces of the chunks in the queue, oldest first, until it closes.
fn help(queue: &Queue, det: &Detector) {
    loop {
        let job = {
            let mut q = lock(&queue.jobs);
            loop {
                if q.closed {
                    return;
                }
                if let Some(job) = q.jobs.iter().find(|j| j.has_work()) {
                    break Arc::clone(job);
                }
                q = queue.more.wait(q).unwrap_or_else(PoisonError::into_inner);
            }
        };
        while let Some(i) = job.claim() {
            job.run(det, i);
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // the data behind these locks is whole whenever a lock is let go (a panic while holding
    // one cannot leave it half changed)
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The chunks the helpers may take pieces of.
#[derive(Default)]
struct Queue {
    jobs: Mutex<Pending>,
    more: Condvar,
}

#[derive(Default)]
struct Pending {
    jobs: VecDeque<Arc<Job>>,
    closed: bool,
}

impl Queue {
    fn push(&self, job: Arc<Job>) {
        lock(&self.jobs).jobs.push_back(job);
        self.more.notify_all();
    }

    fn remove(&self, job: &Arc<Job>) {
        lock(&self.jobs).jobs.retain(|j| !Arc::ptr_eq(j, job));
    }
}

/// Closes the queue when dropped.
struct Closing<'q>(&'q Queue);

impl Drop for Closing<'_> {
    fn drop(&mut self) {
        lock(&self.0.jobs).closed = true;
        self.0.more.notify_all();
    }
}

/// One chunk of the stream: its bytes, after enough of the text before them for context, the
/// window of stream offsets whose matches it finds, and the candidates of its pieces as the
/// threads find them.
struct Job {
    /// stream bytes from `base`, in `buf[..len]`
    buf: Vec<u8>,
    len: usize,
    base: usize,
    /// how many of the bytes were read for this job (the others came from the last one)
    fresh: usize,
    /// the window, in offsets into `buf`: matches that start in it are this job's
    from: usize,
    to: usize,
    /// the last chunk: the window runs to the end
    eof: bool,
    step: usize,
    pieces: usize,
    /// the next piece to take
    next: AtomicUsize,
    found: Mutex<Found>,
    done: Condvar,
}

struct Found {
    finished: usize,
    pieces: Vec<Option<Result<Vec<Match>, Error>>>,
}

impl Job {
    fn bytes(&self) -> &[u8] {
        &self.buf[..self.len]
    }

    fn has_work(&self) -> bool {
        self.next.load(Ordering::Relaxed) < self.pieces
    }

    fn claim(&self) -> Option<usize> {
        if !self.has_work() {
            return None;
        }
        let i = self.next.fetch_add(1, Ordering::Relaxed);
        (i < self.pieces).then_some(i)
    }

    fn complete(&self) -> bool {
        lock(&self.found).finished == self.pieces
    }

    /// Checks and scans piece `i`. A panic is handed on after the piece is marked as failed,
    /// so that the writing thread does not wait for it.
    fn run(&self, det: &Detector, i: usize) {
        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let a = self.from + i * self.step;
            let b = (a + self.step).min(self.to);
            self.check_utf8(i, a, b)?;
            Ok(det.piece_candidates(self.bytes(), a, b))
        }));
        let (r, panic) = match r {
            Ok(r) => (r, None),
            Err(p) => (
                Err(Error::new(ErrorKind::Input, "a scanning thread panicked")),
                Some(p),
            ),
        };
        let mut found = lock(&self.found);
        found.pieces[i] = Some(r);
        found.finished += 1;
        if found.finished == self.pieces {
            self.done.notify_all();
        }
        drop(found);
        if let Some(p) = panic {
            std::panic::resume_unwind(p);
        }
    }

    /// Checks that piece `i` (window offsets `a..b`) is UTF-8. Together the pieces check the
    /// stream exactly once up to the window's end, each from the first character that starts
    /// at or after its `a`, and the last piece up to the end of the buffer (so that no byte
    /// of a match is used before it is checked); a character cut by the end of the buffer is
    /// checked again by the next chunk. The first error in stream order is the one a check
    /// from the start would report.
    fn check_utf8(&self, i: usize, a: usize, b: usize) -> Result<(), Error> {
        let h = self.bytes();
        let last = i + 1 == self.pieces;
        let lo = self.char_start(a);
        let hi = if last { h.len() } else { self.char_start(b) };
        let bytes = &h[lo..hi];
        // the SIMD check first (~10x std's on text with some non-ASCII); std's for the details
        if simdutf8::basic::from_utf8(bytes).is_ok() {
            return Ok(());
        }
        let Err(e) = std::str::from_utf8(bytes) else {
            return Ok(());
        };
        let at = self.base + lo + e.valid_up_to();
        match e.error_len() {
            None if last && !self.eof => Ok(()),
            None if last => Err(Error::new(
                ErrorKind::Input,
                format!("the input ends inside a UTF-8 character (offset {at})"),
            )),
            _ => Err(Error::new(
                ErrorKind::Input,
                format!("the input is not UTF-8 (invalid byte at offset {at})"),
            )),
        }
    }

    /// The first offset at or after `x` that is not a UTF-8 continuation byte, looking at
    /// most three bytes on (a character has at most three); `x` at the stream's start.
    fn char_start(&self, x: usize) -> usize {
        let h = self.bytes();
        if self.base + x == 0 {
            return x;
        }
        let mut i = x;
        while i < h.len() && i < x + 3 && h[i] & 0xC0 == 0x80 {
            i += 1;
        }
        i
    }
}

/// Reads the stream into jobs, each chunk after the end of the text before it.
struct Reader {
    sizes: Sizes,
    /// whether a chunk is split into pieces (there are threads to take them)
    split: bool,
    /// the last chunk's bytes from `MARGIN` before its window's end, from stream offset
    /// `tail_base`; its window's end, in the stream
    tail: Vec<u8>,
    tail_base: usize,
    next_from: usize,
    ended: bool,
    /// buffers of jobs that are done
    spare: Vec<Vec<u8>>,
}

impl Reader {
    fn next(&mut self, rdr: &mut impl Read) -> Result<Job, Error> {
        let Sizes {
            chunk,
            min_read,
            piece,
        } = self.sizes;
        let keep = self.tail.len();
        let mut buf = self.spare.pop().unwrap_or_default();
        // zeroed once per buffer (a fresh one per chunk cost a memset and page faults)
        if buf.len() < keep + chunk {
            buf.resize(keep + chunk, 0);
        }
        buf[..keep].copy_from_slice(&self.tail);
        let fresh = read_at_least(rdr, &mut buf[keep..keep + chunk], min_read)?;
        let len = keep + fresh;
        // a short read means the end (see `read_at_least`); a full one may be right before it
        let eof = fresh < min_read;
        let base = self.tail_base;
        let from = self.next_from - base;
        let to = if eof {
            len
        } else {
            // a match is decided by up to `MARGIN` bytes after its start
            len.saturating_sub(MARGIN).max(from)
        };
        let window = to - from;
        let pieces = if self.split {
            (window / piece).max(1)
        } else {
            1
        };
        let step = window.div_ceil(pieces);
        let keep_from = to.saturating_sub(MARGIN);
        self.tail.clear();
        self.tail.extend_from_slice(&buf[keep_from..len]);
        self.tail_base = base + keep_from;
        self.next_from = base + to;
        self.ended = eof;
        Ok(Job {
            buf,
            len,
            base,
            fresh,
            from,
            to,
            eof,
            step,
            pieces,
            next: AtomicUsize::new(0),
            found: Mutex::new(Found {
                finished: 0,
                pieces: (0..pieces).map(|_| None).collect(),
            }),
            done: Condvar::new(),
        })
    }
}

/// Reads until `buf` holds at least `min` bytes or the input ends; returns how many it holds.
fn read_at_least(rdr: &mut impl Read, buf: &mut [u8], min: usize) -> Result<usize, Error> {
    let mut n = 0;
    while n < min.min(buf.len()) {
        match read_some(rdr, &mut buf[n..])? {
            0 => break,
            k => n += k,
        }
    }
    Ok(n)
}

/// Reads what is available, at most `buf.len()` bytes; 0 at the end.
fn read_some(rdr: &mut impl Read, buf: &mut [u8]) -> Result<usize, Error> {
    loop {
        match rdr.read(buf) {
            Ok(n) => return Ok(n),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(Error::io(format!("cannot read the input: {e}"), &e)),
        }
    }
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
    let mut local = Detector::propagate(
        buf,
        local,
        known.order.make_contiguous(),
        region.0,
        region.1,
    );
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
