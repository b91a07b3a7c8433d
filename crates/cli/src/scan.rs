//! `awsmask scan`.

use std::collections::VecDeque;
use std::fs::File;
use std::io::{self, IsTerminal, Read, Write};
use std::path::PathBuf;

use anyhow::Context as _;
use awsmask::{Detector, Match, StreamScanner};

use crate::exit;

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

/// Read size: large enough that each scan splits among the scan threads.
const CHUNK: usize = 4 << 20;

/// Tracks line and column numbers for match offsets without keeping the whole input: holds
/// the bytes from the last position it was asked about to what has been read.
struct Lines {
    pending: VecDeque<u8>,
    /// stream offset of `pending[0]`
    offset: usize,
    line: usize,
    /// stream offset where the current line starts
    line_start: usize,
}

impl Lines {
    fn new(file_start: usize) -> Lines {
        Lines {
            pending: VecDeque::new(),
            offset: file_start,
            line: 1,
            line_start: file_start,
        }
    }

    /// Advances to stream offset `to`, counting lines (SIMD newline search over the held
    /// bytes, which are at most two slices).
    fn advance(&mut self, to: usize) {
        let n = to.saturating_sub(self.offset).min(self.pending.len());
        let (a, b) = self.pending.as_slices();
        let (a, b) = if n <= a.len() {
            (&a[..n], &b[..0])
        } else {
            (a, &b[..n - a.len()])
        };
        for (base, part) in [(self.offset, a), (self.offset + a.len(), b)] {
            self.line += memchr::memchr_iter(b'\n', part).count();
            if let Some(k) = memchr::memrchr(b'\n', part) {
                self.line_start = base + k + 1;
            }
        }
        self.pending.drain(..n);
        self.offset += n;
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
    /// Prints matches; `window` holds the bytes from `window_start` on (the values).
    fn print(
        &mut self,
        det: &Detector,
        matches: &[Match],
        window: &VecDeque<u8>,
        window_start: usize,
    ) -> io::Result<()> {
        for m in matches {
            self.found = true;
            let value: Vec<u8> = if self.show_values {
                window
                    .range(m.start() - window_start..m.end() - window_start)
                    .copied()
                    .collect()
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
                    while self.current + 1 < self.inputs.len()
                        && self.inputs[self.current + 1].start <= m.start()
                    {
                        self.lines.advance(self.inputs[self.current + 1].start);
                        self.current += 1;
                        let pending = std::mem::take(&mut self.lines.pending);
                        self.lines = Lines {
                            pending,
                            ..Lines::new(self.inputs[self.current].start)
                        };
                    }
                    self.lines.advance(m.start());
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
    let mut scanner = StreamScanner::new(&det).threads(crate::scan_threads());
    // bytes not yet behind every reported match: for values and line numbers
    let mut window: VecDeque<u8> = VecDeque::new();
    let mut window_start = 0;
    let mut matches = Vec::new();
    let mut buf = vec![0u8; CHUNK];
    let files: Vec<Option<&PathBuf>> = if args.files.is_empty() {
        vec![None]
    } else {
        args.files
            .iter()
            .map(|p| (p.as_os_str() != "-").then_some(p))
            .collect()
    };
    let keep_lines = args.format == Format::Text;
    for file in files {
        let (name, mut reader): (String, Box<dyn Read>) = match file {
            None => ("<stdin>".to_owned(), Box::new(io::stdin().lock())),
            Some(p) => {
                let f = File::open(p).with_context(|| format!("cannot open {}", p.display()))?;
                (p.display().to_string(), Box::new(f))
            }
        };
        printer.inputs.push(Input {
            name: name.clone(),
            start: scanner.offset(),
        });
        loop {
            let n = match reader.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(anyhow::Error::new(e).context(format!("cannot read {name}"))),
            };
            let chunk = &buf[..n];
            if args.show_values {
                window.extend(chunk);
            }
            if keep_lines {
                printer.lines.pending.extend(chunk);
            }
            matches.clear();
            scanner.push(chunk, &mut matches);
            printer.print(&det, &matches, &window, window_start)?;
            let resolved = scanner.resolved();
            if args.show_values {
                let drop = resolved.saturating_sub(window_start).min(window.len());
                window.drain(..drop);
                window_start += drop;
            }
            if keep_lines && printer.current + 1 == printer.inputs.len() {
                printer.lines.advance(resolved);
            }
        }
    }
    matches.clear();
    scanner.finish(&mut matches);
    printer.print(&det, &matches, &window, window_start)?;
    printer.out.flush()?;
    Ok(if printer.found {
        exit::FOUND
    } else {
        exit::NONE_FOUND
    })
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
