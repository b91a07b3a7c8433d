//! Reading a regular file in place: mapped into memory instead of copied through a buffer.
//!
//! Scanning 128 MiB read through 4 MiB buffers spent a fifth of its time copying: the kernel's
//! copy into the buffer, then the scanner's into its own. A mapped file is scanned where it
//! lies, by all threads at once. Pipes, terminals and sockets cannot be mapped; they are read.
//!
//! `mask` reads, even from a regular file: it looks at each byte twice, once to find the
//! identifiers and once to write the text around them, and only a copy guarantees that both
//! looks see the same bytes. On a mapped file that another process rewrote in between, the
//! second look could write out an identifier the first never saw.

use std::fs::File;
use std::io::{self, Seek, SeekFrom};
use std::os::fd::AsFd;

use memmap2::{Mmap, MmapOptions, UncheckedAdvice};

/// Standard input as a `File` (sharing its read position), to map when it is a regular file.
pub(crate) fn stdin_file() -> Option<File> {
    let fd = io::stdin().as_fd().try_clone_to_owned().ok()?;
    Some(File::from(fd))
}

/// The rest of `file` (from its read position to its end) mapped into memory; `None` when it
/// is not a regular file, is empty from there, or cannot be mapped: read it instead.
pub(crate) fn map(mut file: &File) -> io::Result<Option<Mmap>> {
    let meta = file.metadata()?;
    if !meta.is_file() {
        return Ok(None);
    }
    let pos = file.stream_position()?;
    let Some(len) = meta
        .len()
        .checked_sub(pos)
        .and_then(|n| usize::try_from(n).ok())
        .filter(|&n| n > 0)
    else {
        return Ok(None);
    };
    Ok(map_range(file, pos, len).ok())
}

#[expect(unsafe_code, reason = "mapping a file is unsafe in Rust; see SAFETY")]
fn map_range(file: &File, pos: u64, len: usize) -> io::Result<Mmap> {
    // SAFETY: the map is only read, and only while `file` stays open. What Rust cannot rule
    // out is another process changing the file meanwhile: bytes written then are read as
    // they are at that moment (a scan sees old or new text, never memory that is not the
    // file's), and a file cut shorter makes reads past its new end raise SIGBUS, which ends
    // the process with an error status and no further output. ripgrep makes the same trade
    // for the same reason. `scan` prints offsets and kinds (values only when asked); it
    // never writes a masked text, so it has no masking to get wrong (see above for `mask`).
    unsafe { MmapOptions::new().offset(pos).len(len).map(file) }
}

/// Lets the pages of `map` before offset `to` go (they are read again from the file, should
/// they be touched again), so that a mapped file costs memory for the part being scanned, not
/// for all of it.
pub(crate) fn release(map: &Mmap, to: usize) {
    // whole pages only; a page around `to` stays
    let to = to.min(map.len()) & !(PAGE - 1);
    if to > 0 {
        drop_pages(map, to);
    }
}

/// The page size `release` rounds to. Where pages are larger the kernel rounds the range
/// up, and the page around `to` goes too: it is read in again when touched.
const PAGE: usize = 4096;

#[expect(
    unsafe_code,
    reason = "MADV_DONTNEED is an unchecked advice; see SAFETY"
)]
fn drop_pages(map: &Mmap, to: usize) {
    // SAFETY: the map is a read-only shared mapping of a file (`map_range`). Dropping its
    // pages only drops this process's page table entries: the next read of those bytes
    // faults the file's bytes in again, the same bytes (or, as for any read of the map, what
    // another process wrote there since). No byte of it is written, and no memory that Rust
    // considers allocated by us is freed. An error leaves the pages where they are: best
    // effort, as memory use is all it changes.
    let _ = unsafe { map.unchecked_advise_range(UncheckedAdvice::DontNeed, 0, to) };
}

/// Leaves `file`'s read position at its end, where reading it would have left it, so that a
/// shell's next command on the same standard input sees it consumed.
pub(crate) fn consumed(mut file: &File) {
    // best effort: the scan is done whether or not the position moves
    let _ = file.seek(SeekFrom::End(0));
}
