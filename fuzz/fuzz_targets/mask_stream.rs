//! `mask_stream` fed in reads of any size (so the text is masked in many batches) gives text
//! that unmasks to the input, and refuses only what the one-shot mask refuses too.
#![no_main]

use std::io::Read;

use awsmask_fuzz::masker;
use libfuzzer_sys::fuzz_target;

/// Gives its bytes in reads of the sizes listed (then what is left at once).
struct Dribble<'a> {
    data: &'a [u8],
    sizes: &'a [u8],
}

impl Read for Dribble<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let want = match self.sizes.split_first() {
            Some((&s, rest)) => {
                self.sizes = rest;
                usize::from(s).max(1) * 16
            }
            None => buf.len(),
        };
        let n = want.min(buf.len()).min(self.data.len());
        buf[..n].copy_from_slice(&self.data[..n]);
        self.data = &self.data[n..];
        Ok(n)
    }
}

fuzz_target!(|input: (&str, &[u8])| {
    let (text, sizes) = input;
    let m = masker();
    let one = m.mask(text);
    let mut out = Vec::new();
    let streamed = m.mask_stream(
        &mut Dribble {
            data: text.as_bytes(),
            sizes,
        },
        &mut out,
    );
    match streamed {
        Ok(_) => {
            let out = String::from_utf8(out).expect("masked text is UTF-8");
            assert_eq!(m.unmask(&out).expect("memory store"), text, "round trip");
        }
        Err(e) => {
            assert_eq!(e.kind(), awsmask::ErrorKind::Input, "{e}");
            assert!(one.is_err(), "the stream refused what one call masks: {e}");
        }
    }
});
