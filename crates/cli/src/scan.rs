//! `awsmask scan`.

use std::cell::RefCell;
use std::fs::File;
use std::io::{self, IsTerminal, Read, Write};
use std::ops::Range;
use std::path::PathBuf;
use std::rc::Rc;

use anyhow::Context as _;
use awsmask::{Detector, Match};

use crate::{exit, input};

#[derive(clap::Args, Debug)]
pub(crate) struct ScanArgs {
    /// Output format: `text` prints `path:line:column: kind`, `jsonl` prints one
    /// `{"start": <byte>, "end": <byte>, "kind": "<name>"}` per finding, with byte offsets
    /// into the input stream (the files concatenated in order).
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
    /// Print the identifiers themselves (they are redacted by default).
    #[arg(long)]
    show_values: bool,
    /// Files to scan, in order; stdin when none is given (or for `-`).
    #[arg(value_name = "FILE")]
    files: Vec<PathBuf>,
    #[command(flatten)]
    kinds: crate::KindArgs,
}

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
enum Format {
    /// `path:line:column: kind`, one line per finding.
    Text,
    /// One JSON object per finding.
    Jsonl,
}

/// The input bytes the printer reads values and line breaks from: the stream from offset
/// `start` on (a whole mapped file, or the chunk a stream scan holds).
#[derive(Clone, Copy)]
struct Held<'a> {
    start: usize,
    bytes: &'a [u8],
}

impl<'a> Held<'a> {
    /// The bytes at stream offsets `r` (clamped to what is held).
    fn range(&self, r: Range<usize>) -> &'a [u8] {
        let from = r.start.saturating_sub(self.start).min(self.bytes.len());
        let to = r
            .end
            .saturating_sub(self.start)
            .clamp(from, self.bytes.len());
        &self.bytes[from..to]
    }
}

/// Tracks line and column numbers for match offsets, counting line breaks as it moves on.
struct Lines {
    /// the stream offset counted up to
    offset: usize,
    line: usize,
    /// stream offset where the current line starts
    line_start: usize,
}

impl Lines {
    fn new(file_start: usize) -> Lines {
        Lines {
            offset: file_start,
            line: 1,
            line_start: file_start,
        }
    }

    /// Advances to stream offset `to`, counting the line breaks in `held` on the way (SIMD
    /// newline search).
    fn advance(&mut self, to: usize, held: Held<'_>) {
        if to <= self.offset {
            return;
        }
        let part = held.range(self.offset..to);
        self.line += memchr::memchr_iter(b'\n', part).count();
        if let Some(k) = memchr::memrchr(b'\n', part) {
            self.line_start = self.offset + k + 1;
        }
        self.offset = to;
    }
}

/// One input: a file or stdin.
struct Input {
    name: String,
    start: usize,
}

struct Printer<W: Write> {
    out: W,
    format: Format,
    show_values: bool,
    found: bool,
    inputs: Vec<Input>,
    lines: Lines,
    /// which input `lines` is counting in
    current: usize,
    /// one JSON line, reused
    line: Vec<u8>,
}

impl<W: Write> Printer<W> {
    /// Moves line counting on to stream offset `to`, into later inputs as it gets there.
    fn advance_to(&mut self, to: usize, held: Held<'_>) {
        while let Some(next) = self.inputs.get(self.current + 1)
            && next.start <= to
        {
            self.lines = Lines::new(next.start);
            self.current += 1;
        }
        self.lines.advance(to, held);
    }

    fn exit_code(&self) -> u8 {
        if self.found {
            exit::FOUND
        } else {
            exit::NONE_FOUND
        }
    }

    /// Prints matches; `held` holds the bytes from the first match on.
    fn print(&mut self, det: &Detector, matches: &[Match], held: Held<'_>) -> io::Result<()> {
        for m in matches {
            self.found = true;
            let value: Vec<u8> = if self.show_values {
                held.range(m.range()).to_vec()
            } else {
                Vec::new()
            };
            let kind = det.kind(m.kind()).name();
            match self.format {
                Format::Jsonl => {
                    // built by hand: `write!` with two numbers cost more than the scan on
                    // text with an identifier every 200 bytes
                    let line = &mut self.line;
                    line.clear();
                    line.extend_from_slice(b"{\"start\":");
                    push_decimal(line, m.start());
                    line.extend_from_slice(b",\"end\":");
                    push_decimal(line, m.end());
                    line.extend_from_slice(b",\"kind\":\"");
                    line.extend_from_slice(kind.as_bytes());
                    line.push(b'"');
                    if self.show_values {
                        line.extend_from_slice(b",\"value\":");
                        line.extend_from_slice(json_str(&value).as_bytes());
                    }
                    line.extend_from_slice(b"}\n");
                    self.out.write_all(line)?;
                }
                Format::Text => {
                    self.advance_to(m.start(), held);
                    let col = m.start() - self.lines.line_start + 1;
                    let name = &self.inputs[self.current].name;
                    write!(self.out, "{name}:{}:{col}: {kind}", self.lines.line)?;
                    if self.show_values {
                        write!(self.out, " {}", String::from_utf8_lossy(&value))?;
                    }
                    writeln!(self.out)?;
                }
            }
        }
        Ok(())
    }
}

pub(crate) fn run(args: &ScanArgs) -> anyhow::Result<u8> {
    let det = Detector::with_config(&args.kinds.config())?;
    let stdout = io::stdout();
    let is_tty = stdout.is_terminal();
    let out: Box<dyn Write> = if is_tty {
        Box::new(io::LineWriter::new(stdout.lock()))
    } else {
        Box::new(io::BufWriter::with_capacity(64 * 1024, stdout.lock()))
    };
    let mut printer = Printer {
        out,
        format: args.format,
        show_values: args.show_values,
        found: false,
        inputs: Vec::new(),
        lines: Lines::new(0),
        current: 0,
        line: Vec::new(),
    };
    let files: Vec<Option<&PathBuf>> = if args.files.is_empty() {
        vec![None]
    } else {
        args.files
            .iter()
            .map(|p| (p.as_os_str() != "-").then_some(p))
            .collect()
    };
    let threads = crate::scan_threads();
    // the one file opened to try mapping it, read below when it cannot be mapped (opened
    // once: a named pipe opened twice could lose what its writer sent to the first reader)
    let mut opened: Option<File> = None;
    if let [file] = files[..] {
        // one regular file: scan it in place, mapped into memory
        let (name, input) = match file {
            None => ("<stdin>".to_owned(), input::stdin_file()),
            Some(p) => (
                p.display().to_string(),
                File::open(p)
                    .map(Some)
                    .with_context(|| format!("cannot open {}", p.display()))?,
            ),
        };
        if let Some(input) = &input
            && let Some(map) = input::map(input).with_context(|| format!("cannot read {name}"))?
        {
            printer.inputs.push(Input { name, start: 0 });
            let held = Held {
                start: 0,
                bytes: &map,
            };
            let text_format = args.format == Format::Text;
            det.find_batches(&map, threads, |batch, part| {
                printer.print(&det, batch, held)?;
                if text_format {
                    printer.advance_to(part.end, held);
                }
                // nothing before the part's end is read again but a few KiB of context: its
                // pages may go, so that memory stays bounded on any file
                input::release(&map, part.end);
                io::Result::Ok(())
            })?;
            printer.out.flush()?;
            input::consumed(input);
            return Ok(printer.exit_code());
        }
        if file.is_some() {
            opened = input;
        }
    }
    // the inputs, read one after another as one stream
    let started = Rc::new(RefCell::new(Vec::new()));
    let inputs = Inputs {
        files: files.into_iter(),
        opened,
        current: None,
        offset: 0,
        started: Rc::clone(&started),
    };
    let text_format = args.format == Format::Text;
    det.find_read(inputs, threads, |batch, part, text| {
        printer.inputs.append(&mut started.borrow_mut());
        let held = Held {
            start: text.start(),
            bytes: text.bytes(),
        };
        printer.print(&det, batch, held)?;
        if text_format {
            printer.advance_to(part.end, held);
        }
        anyhow::Ok(())
    })?;
    printer.out.flush()?;
    Ok(printer.exit_code())
}

/// The inputs, read one after another as one stream; each one's start in the stream is noted
/// in `started` when its reading begins.
struct Inputs<'a> {
    files: std::vec::IntoIter<Option<&'a PathBuf>>,
    /// the file already opened for the first path, if any
    opened: Option<File>,
    current: Option<(String, Box<dyn Read + 'a>)>,
    offset: usize,
    started: Rc<RefCell<Vec<Input>>>,
}

impl Inputs<'_> {
    /// Opens the next input; `false` when there is none.
    fn open_next(&mut self) -> io::Result<bool> {
        let Some(file) = self.files.next() else {
            return Ok(false);
        };
        let (name, reader): (String, Box<dyn Read>) = match file {
            None => ("<stdin>".to_owned(), Box::new(io::stdin().lock())),
            Some(p) => {
                let f = match self.opened.take() {
                    Some(f) => f,
                    None => File::open(p).map_err(|e| {
                        io::Error::new(e.kind(), format!("cannot open {}: {e}", p.display()))
                    })?,
                };
                (p.display().to_string(), Box::new(f))
            }
        };
        self.started.borrow_mut().push(Input {
            name: name.clone(),
            start: self.offset,
        });
        self.current = Some((name, reader));
        Ok(true)
    }
}

impl Read for Inputs<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            if self.current.is_none() && !self.open_next()? {
                return Ok(0);
            }
            let Some((name, reader)) = &mut self.current else {
                continue;
            };
            match reader.read(buf) {
                Ok(0) if !buf.is_empty() => self.current = None,
                Ok(n) => {
                    self.offset += n;
                    return Ok(n);
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => return Err(e),
                Err(e) => return Err(io::Error::new(e.kind(), format!("cannot read {name}: {e}"))),
            }
        }
    }
}

/// Appends `n` in decimal.
fn push_decimal(out: &mut Vec<u8>, mut n: usize) {
    let mut digits = [0u8; 20];
    let mut i = digits.len();
    loop {
        i -= 1;
        digits[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(&digits[i..]);
}

/// `bytes` as a JSON string literal; invalid UTF-8 is replaced with U+FFFD.
pub(crate) fn json_str(bytes: &[u8]) -> String {
    let s = String::from_utf8_lossy(bytes);
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => {
                const HEX: &[u8; 16] = b"0123456789abcdef";
                out.push_str("\\u00");
                out.push(char::from(HEX[(c as usize) >> 4]));
                out.push(char::from(HEX[(c as usize) & 15]));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::push_decimal;

    #[test]
    fn decimals_read_as_format_writes_them() {
        for n in [0, 7, 9, 10, 99, 100, 4_194_304, 1_234_567_890, usize::MAX] {
            let mut out = b"x".to_vec();
            push_decimal(&mut out, n);
            assert_eq!(out, format!("x{n}").into_bytes());
        }
    }
}
