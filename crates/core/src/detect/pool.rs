//! Scanning text in pieces that threads take in turn, while the calling thread uses what
//! was found in order: the stream masker, [`Detector::find_batches`] and
//! [`Detector::find_read`] are built on it.
//!
//! The text comes as jobs (a window of it, with context around), each split into pieces.
//! Helper threads take pieces of the oldest jobs that have some left; the calling thread
//! takes the job it needs next, helps with its pieces and, while others finish theirs, with
//! pieces of later jobs, then resolves its candidates in order and uses the matches.

use std::collections::VecDeque;
use std::io::{self, Read};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};

use super::{Detector, MARGIN, Match, Piece, Window, join_pieces};
use crate::error::{Error, ErrorKind};

/// The text a job holds, unless the stream masker's chunks or a caller say otherwise: with
/// 1 MiB, the jobs in flight and the masker's cache stay in the processor's last-level cache
/// (4 MiB, seven in flight, were 4 % slower).
pub(crate) const JOB: usize = 1 << 20;

/// A job is scanned in pieces of about this many bytes, which the threads take in turn.
pub(crate) const PIECE: usize = 256 << 10;

/// Jobs queued ahead of the one the calling thread uses next, when other threads scan: enough
/// that they never wait while it is slow for a while (the stream masker claiming the many
/// new values at a stream's start; with 2, they waited ~45 ms per 128 MiB of text rich in
/// identifiers).
pub(crate) const AHEAD: usize = 6;

/// The sizes the stream is handled in: smaller in tests, to cross many boundaries.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Sizes {
    /// bytes read at a time
    pub(crate) chunk: usize,
    /// a read waits for at least this many bytes (or the end)
    pub(crate) min_read: usize,
    /// a chunk is scanned in pieces of about this many bytes, which the threads take in turn
    pub(crate) piece: usize,
}

/// 1 MiB chunks (see [`JOB`]). A pipe hands over 64 KiB a read: chunks that small
/// kept the threads waiting for text to scan, so a read waits for a quarter of a chunk.
pub(crate) const SIZES: Sizes = Sizes {
    chunk: JOB,
    min_read: JOB / 4,
    piece: PIECE,
};

/// How [`read_through`] runs: with `helpers` threads besides this one, in chunks of `sizes`;
/// `utf8`: the jobs check that the text is UTF-8.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Through {
    pub(crate) helpers: usize,
    pub(crate) sizes: Sizes,
    pub(crate) utf8: bool,
}

/// Reads `rdr` to its end in chunks and runs the pipeline over them (see [`run`]): calls
/// `each(job, matches)` for every chunk in order, on this thread, with the matches that start
/// in its window. A read error is handed to `read_error` and returned once the chunks read
/// before it are used; a job's error (text that is not UTF-8; a helper's panic) to
/// `job_error`, whose `None` stops the run with `Ok` (a helper's panic goes on from the
/// scope).
pub(crate) fn read_through<E>(
    det: &Detector,
    rdr: &mut impl Read,
    Through {
        helpers,
        sizes,
        utf8,
    }: Through,
    read_error: impl Fn(io::Error) -> E,
    job_error: impl Fn(Error) -> Option<E>,
    mut each: impl FnMut(&Job<'_>, &[Match]) -> Result<(), E>,
) -> Result<(), E> {
    run(det, helpers, |jobs| {
        let ahead = if helpers == 0 { 1 } else { 1 + AHEAD };
        let mut reader = Reader {
            sizes,
            split: helpers > 0,
            utf8,
            tail: Vec::new(),
            tail_base: 0,
            next_from: 0,
            ended: false,
            spare: Vec::new(),
        };
        let mut matches = Vec::new();
        // a read error ends the reading; the chunks read before it are used first
        let mut failed = None;
        loop {
            while jobs.len() < ahead && !reader.ended && failed.is_none() {
                match reader.next(rdr) {
                    Ok(job) => jobs.push(job),
                    Err(e) => failed = Some(read_error(e)),
                }
            }
            let Some(job) = jobs.next(&mut matches) else {
                return failed.map_or(Ok(()), Err);
            };
            let job = match job {
                Ok(job) => job,
                Err(e) => return job_error(e).map_or(Ok(()), Err),
            };
            each(&job, &matches)?;
            reader.spare.extend(Job::into_buf(job));
        }
    })
}

/// Runs `f` with a pipeline that up to `helpers` threads besides this one scan for. They
/// start once there is more than one piece to share (a short text is scanned on this thread
/// alone), and leave when `f` returns, however it returns (an error, a panic).
pub(crate) fn run<'h, R>(
    det: &Detector,
    helpers: usize,
    f: impl FnOnce(&mut Pipeline<'_, '_, 'h>) -> R,
) -> R {
    let queue = Queue::default();
    std::thread::scope(|scope| {
        let mut pipeline = Pipeline {
            scope,
            queue: &queue,
            det,
            idle: helpers,
            helpers: Vec::new(),
            jobs: VecDeque::new(),
            covered: 0,
            listed: false,
        };
        let closing = Closing(&queue);
        let r = f(&mut pipeline);
        drop(closing);
        // joined, not only finished: the threads have exited (their thread-local destructors
        // run) when this returns. A helper's panic goes on from here.
        for h in pipeline.helpers {
            if let Err(panic) = h.join() {
                std::panic::resume_unwind(panic);
            }
        }
        r
    })
}

/// The jobs of the calling thread, in order, and the helper threads.
pub(crate) struct Pipeline<'s, 'e, 'h> {
    scope: &'s std::thread::Scope<'s, 'e>,
    queue: &'e Queue<'h>,
    det: &'e Detector,
    /// helpers not started yet
    idle: usize,
    helpers: Vec<std::thread::ScopedJoinHandle<'s, ()>>,
    jobs: VecDeque<Arc<Job<'h>>>,
    /// offset of the text where the last match found ends
    covered: usize,
    /// a `"Buckets": [` list is open where the next job's window starts
    listed: bool,
}

impl<'h> Pipeline<'_, '_, 'h> {
    /// Jobs queued and not yet taken by [`next`](Self::next).
    pub(crate) fn len(&self) -> usize {
        self.jobs.len()
    }

    /// Queues a job: the helpers start on its pieces.
    pub(crate) fn push(&mut self, job: Job<'h>) {
        let job = Arc::new(job);
        self.queue.push(Arc::clone(&job));
        self.jobs.push_back(job);
        if self.idle > 0 && (self.jobs.len() > 1 || self.jobs[0].pieces > 1) {
            let (queue, det) = (self.queue, self.det);
            for _ in 0..std::mem::take(&mut self.idle) {
                self.helpers
                    .push(self.scope.spawn(move || help(queue, det)));
            }
        }
    }

    /// The oldest job, once all its pieces are scanned (this thread helps), with its matches
    /// in `out` (cleared first; offsets into the whole text); `None` when none is queued. The
    /// first error of its pieces, in text order, if any.
    pub(crate) fn next(&mut self, out: &mut Vec<Match>) -> Option<Result<Arc<Job<'h>>, Error>> {
        let job = self.jobs.front()?;
        out.clear();
        let pieces = match wait_for(job, &self.jobs, self.det) {
            Ok(p) => p,
            Err(e) => return Some(Err(e)),
        };
        let listed = self.listed;
        let cands = join_pieces(pieces, &mut self.listed);
        let covered = self.det.resolve(
            job.bytes(),
            cands,
            Window {
                from: job.from,
                to: job.to,
                covered: self.covered.saturating_sub(job.base).max(job.from),
                base: job.base,
                listed,
            },
            out,
        );
        self.covered = self.covered.max(job.base + covered);
        let job = self.jobs.pop_front()?;
        self.queue.remove(&job);
        Some(Ok(job))
    }
}

/// The pieces of `job`, scanned: takes its pieces, then, while other threads finish theirs,
/// pieces of the jobs after it; the first error of a piece, in stream order, if any.
fn wait_for(
    job: &Job<'_>,
    jobs: &VecDeque<Arc<Job<'_>>>,
    det: &Detector,
) -> Result<Vec<Piece>, Error> {
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
    found
        .pieces
        .drain(..)
        .map(|piece| piece.unwrap_or_else(|| unreachable!("every piece finished")))
        .collect()
}

/// A helper thread: scans pieces of the jobs in the queue, oldest first, until it closes.
fn help(queue: &Queue<'_>, det: &Detector) {
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

/// The jobs the helpers may take pieces of.
#[derive(Default)]
struct Queue<'h> {
    jobs: Mutex<Pending<'h>>,
    more: Condvar,
}

#[derive(Default)]
struct Pending<'h> {
    jobs: VecDeque<Arc<Job<'h>>>,
    closed: bool,
}

impl<'h> Queue<'h> {
    fn push(&self, job: Arc<Job<'h>>) {
        lock(&self.jobs).jobs.push_back(job);
        self.more.notify_all();
    }

    fn remove(&self, job: &Arc<Job<'h>>) {
        lock(&self.jobs).jobs.retain(|j| !Arc::ptr_eq(j, job));
    }
}

/// Closes the queue when dropped.
struct Closing<'q, 'h>(&'q Queue<'h>);

impl Drop for Closing<'_, '_> {
    fn drop(&mut self) {
        lock(&self.0.jobs).closed = true;
        self.0.more.notify_all();
    }
}

/// Bytes a job scans: a buffer it owns (the first `len` bytes of it), or text borrowed.
pub(crate) enum Src<'h> {
    Owned(Vec<u8>, usize),
    Borrowed(&'h [u8]),
}

/// A window of the text, with the text around it that its matches may look at, and the
/// candidates of its pieces as the threads find them.
pub(crate) struct Job<'h> {
    src: Src<'h>,
    /// offset of the first byte in the whole text
    base: usize,
    /// the window, in offsets into the bytes: matches that start in it are this job's
    from: usize,
    to: usize,
    /// the last job: the window runs to the end of the text
    eof: bool,
    /// check that the text is UTF-8 (see [`check_utf8`](Self::check_utf8))
    utf8: bool,
    step: usize,
    pieces: usize,
    /// the next piece to take
    next: AtomicUsize,
    found: Mutex<Found>,
    done: Condvar,
}

struct Found {
    finished: usize,
    pieces: Vec<Option<Result<Piece, Error>>>,
}

impl<'h> Job<'h> {
    /// A job for the window `from..to` of `src`, whose first byte is at `base` in the whole
    /// text, in about `pieces` pieces (at least one, none empty: see [`piece`](Self::piece));
    /// `eof`: the text ends with these bytes.
    pub(crate) fn new(
        src: Src<'h>,
        base: usize,
        (from, to): (usize, usize),
        eof: bool,
        pieces: usize,
        utf8: bool,
    ) -> Job<'h> {
        // every piece holds some of the window (all but the last `step` bytes)
        let step = (to - from).div_ceil(pieces.max(1)).max(1);
        let pieces = (to - from).div_ceil(step).max(1);
        Job {
            src,
            base,
            from,
            to,
            eof,
            utf8,
            step,
            pieces,
            next: AtomicUsize::new(0),
            found: Mutex::new(Found {
                finished: 0,
                pieces: (0..pieces).map(|_| None).collect(),
            }),
            done: Condvar::new(),
        }
    }

    pub(crate) fn bytes(&self) -> &[u8] {
        match &self.src {
            Src::Owned(buf, len) => &buf[..*len],
            Src::Borrowed(b) => b,
        }
    }

    /// Offset of the first byte in the whole text.
    pub(crate) fn base(&self) -> usize {
        self.base
    }

    /// The end of the window (an offset into the bytes): the matches of the job start
    /// before it.
    pub(crate) fn to(&self) -> usize {
        self.to
    }

    /// The window, in offsets into the whole text.
    pub(crate) fn window(&self) -> std::ops::Range<usize> {
        self.base + self.from..self.base + self.to
    }

    /// The buffer of a job no other thread holds any more.
    pub(crate) fn into_buf(job: Arc<Job<'h>>) -> Option<Vec<u8>> {
        match Arc::try_unwrap(job).ok()?.src {
            Src::Owned(buf, _) => Some(buf),
            Src::Borrowed(_) => None,
        }
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

    /// The window offsets of piece `i`: the pieces follow each other through the window,
    /// none empty (but the one piece of an empty window).
    pub(crate) fn piece(&self, i: usize) -> std::ops::Range<usize> {
        let a = self.from + i * self.step;
        a..(a + self.step).min(self.to)
    }

    /// How many pieces the window is scanned in.
    #[cfg(test)]
    pub(crate) fn pieces(&self) -> usize {
        self.pieces
    }

    /// Checks and scans piece `i`. A panic is handed on after the piece is marked as failed,
    /// so that the writing thread does not wait for it.
    fn run(&self, det: &Detector, i: usize) {
        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let std::ops::Range { start: a, end: b } = self.piece(i);
            if self.utf8 {
                self.check_utf8(i, a, b)?;
            }
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
    /// whether the jobs check that the text is UTF-8
    utf8: bool,
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
    /// The next chunk's job: the end of the last chunk's text, then what is read.
    fn next(&mut self, rdr: &mut impl Read) -> io::Result<Job<'static>> {
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
        let pieces = if self.split { (to - from) / piece } else { 1 };
        let keep_from = to.saturating_sub(MARGIN);
        self.tail.clear();
        self.tail.extend_from_slice(&buf[keep_from..len]);
        self.tail_base = base + keep_from;
        self.next_from = base + to;
        self.ended = eof;
        let job = Job::new(
            Src::Owned(buf, len),
            base,
            (from, to),
            eof,
            pieces,
            self.utf8,
        );
        Ok(job)
    }
}

/// Reads until `buf` holds at least `min` bytes or the input ends; returns how many it holds.
fn read_at_least(rdr: &mut impl Read, buf: &mut [u8], min: usize) -> io::Result<usize> {
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
fn read_some(rdr: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    loop {
        match rdr.read(buf) {
            Ok(n) => return Ok(n),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
}
