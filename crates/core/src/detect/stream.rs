//! Scanning a stream in bounded memory.

use super::{Detector, MAX_CONTEXT, MAX_MATCH_LEN, Match, Window};

/// How many bytes behind the last resolved position are kept for context, and how many ahead
/// of it are held back until more input (or the end) arrives. A match is decided by at most
/// `MAX_CONTEXT` bytes before it and `MAX_MATCH_LEN + MAX_CONTEXT` bytes from its start, so
/// with this margin a stream finds exactly what one-shot scanning finds.
pub(crate) const MARGIN: usize = MAX_MATCH_LEN + MAX_CONTEXT;

/// Scan in steps of at least this many new bytes, so the re-scanned margins stay cheap.
const STEP: usize = 256 * 1024;

/// Finds identifiers in a stream of byte chunks, with offsets into the whole stream, in
/// bounded memory.
///
/// Chunks may be split anywhere, even inside an identifier or a UTF-8 character: the result
/// is exactly what [`Detector::find_iter`] reports on the concatenated stream.
///
/// # Memory usage
///
/// The scanner buffers at most the unscanned input plus twice `MAX_MATCH_LEN + 512` bytes;
/// feed it chunks of bounded size to bound its memory.
///
/// # Example
///
/// ```
/// let det = awsmask::Detector::new();
/// let mut scanner = awsmask::StreamScanner::new(&det);
/// let mut found = Vec::new();
/// scanner.push(b"volume vol-0123456", &mut found);
/// scanner.push(b"789abcdef0 attached", &mut found);
/// scanner.finish(&mut found);
/// assert_eq!(found[0].range(), 7..28);
/// ```
#[derive(Debug)]
pub struct StreamScanner {
    det: Detector,
    buf: Vec<u8>,
    /// stream offset of `buf[0]`
    base: usize,
    /// matches starting before this stream offset have been reported
    done: usize,
    /// stream offset where the last reported match ends
    covered: usize,
    /// threads a large scan is split among
    threads: usize,
    /// a `"Buckets": [` list is open at `done`
    listed: bool,
}

impl StreamScanner {
    /// A scanner at stream offset 0.
    #[must_use]
    pub fn new(det: &Detector) -> StreamScanner {
        StreamScanner {
            det: det.clone(),
            buf: Vec::new(),
            base: 0,
            done: 0,
            covered: 0,
            threads: 1,
            listed: false,
        }
    }

    /// Splits large scans among up to `threads` threads (default 1). The matches are the
    /// same for any number of threads; parts smaller than 256 KiB are not split further, so
    /// feed large chunks (a few MiB) to use more than one.
    #[must_use]
    pub fn threads(mut self, threads: usize) -> StreamScanner {
        self.threads = threads.max(1);
        self
    }

    /// Adds the next chunk and appends the matches that are now certain to `out`.
    pub fn push(&mut self, chunk: &[u8], out: &mut Vec<Match>) {
        self.buf.extend_from_slice(chunk);
        let pending = self.base + self.buf.len() - self.done;
        if pending >= MARGIN + STEP * self.threads {
            self.scan(false, out);
        }
    }

    /// Ends the stream and appends the remaining matches to `out`.
    pub fn finish(&mut self, out: &mut Vec<Match>) {
        self.scan(true, out);
        self.buf.clear();
        self.base = self.done;
    }

    /// Stream offset before which every match has been reported: later matches start at or
    /// after it.
    #[must_use]
    pub fn resolved(&self) -> usize {
        self.done
    }

    /// Total number of bytes pushed so far.
    #[must_use]
    pub fn offset(&self) -> usize {
        self.base + self.buf.len()
    }

    fn scan(&mut self, eof: bool, out: &mut Vec<Match>) {
        let end = self.base + self.buf.len();
        let to = if eof { end } else { end - MARGIN };
        if to <= self.done && !eof {
            return;
        }
        let window = Window {
            from: self.done - self.base,
            to: to - self.base,
            covered: self
                .covered
                .saturating_sub(self.base)
                .max(self.done - self.base),
            base: self.base,
            listed: self.listed,
        };
        let (covered, listed) = self
            .det
            .find_window_par(&self.buf, window, self.threads, out);
        self.listed = listed;
        self.covered = self.covered.max(covered + self.base);
        self.done = to;
        let keep_from = self.done.saturating_sub(MARGIN).max(self.base);
        self.buf.drain(..keep_from - self.base);
        self.base = keep_from;
    }
}
