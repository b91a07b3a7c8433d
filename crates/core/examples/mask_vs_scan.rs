//! Mask against scan on one text, interleaved in one process (scan, mask, scan, mask...), so
//! that the machine's drift between runs cancels out of the ratio: criterion runs its groups
//! one after the other, and on a shared machine their speeds drift by up to a third.
//!
//! ```sh
//! cargo run --release -p awsmask --example mask_vs_scan -- TEXT_FILE [ROUNDS]
//! ```
#![expect(clippy::print_stdout, reason = "an example that reports its figures")]
#![expect(clippy::cast_precision_loss, reason = "byte counts far below 2^52")]

use std::hint::black_box;
use std::time::{Duration, Instant};

use awsmask::{Detector, Masker, MasterKey};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path = std::env::args()
        .nth(1)
        .ok_or("usage: mask_vs_scan TEXT_FILE [ROUNDS]")?;
    let rounds: u32 = std::env::args().nth(2).map_or(Ok(30), |n| n.parse())?;
    let text = std::fs::read_to_string(path)?;
    let masker = Masker::builder().key(MasterKey::random()?).build()?;
    let det = Detector::new();
    let mut found = Vec::new();
    // the first call claims the tokens; the rounds then measure a warm masker
    let values = masker.mask(&text)?.total();
    let (mut scan, mut mask) = (Duration::ZERO, Duration::ZERO);
    for _ in 0..rounds {
        let t = Instant::now();
        found.clear();
        det.find_into(black_box(text.as_bytes()), &mut found);
        scan += t.elapsed();
        let t = Instant::now();
        black_box(masker.mask(black_box(&text))?.total());
        mask += t.elapsed();
    }
    let mb = f64::from(rounds) * text.len() as f64 / 1e6;
    println!(
        "{} bytes, {values} values masked: scan {:.0} MB/s, mask {:.0} MB/s, mask/scan time {:.3}",
        text.len(),
        mb / scan.as_secs_f64(),
        mb / mask.as_secs_f64(),
        mask.as_secs_f64() / scan.as_secs_f64()
    );
    Ok(())
}
