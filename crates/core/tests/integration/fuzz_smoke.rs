//! A short fuzz run on stable Rust, for CI: the checks of the cargo-fuzz targets
//! (`fuzz/src/checks.rs`, included as they are) fed the catalogue's examples, a few API
//! bodies and streams, and a few thousand mutations of them (splices, inserted bytes of the
//! kinds identifiers are made of, cuts, repeats), from a fixed seed. The long runs are
//! libFuzzer's (`fuzz/README.md`); this one keeps every check green on every commit.

#[path = "../../../../fuzz/src/checks.rs"]
#[expect(
    unreachable_pub,
    reason = "the fuzz crate's public checks, included here as a private module"
)]
mod checks;

/// xorshift64*: deterministic, so that a failure here fails the same way again.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// Bytes identifiers and their surroundings are made of, and a few that break them.
const PIECES: &[&str] = &[
    "-",
    ":",
    ".",
    "/",
    "\"",
    "\\",
    "\n",
    " ",
    "_",
    "=",
    "[",
    "]",
    "{",
    "}",
    ",",
    "0",
    "7",
    "a",
    "f",
    "Z",
    "é",
    "мир",
    "確認",
    "\u{201c}",
    "\\u201c",
    "AWS_",
    "AWS_EC2_7KQ2XM",
    "arn:aws:",
    "i-",
    "vpc-",
    "sg-",
    "0123456789ab",
    "10.0.",
    ".amazonaws.com",
    "s3://",
    "AKIA",
    "\r\n",
];

fn seeds() -> Vec<String> {
    let det = awsmask::Detector::new();
    let mut out: Vec<String> = det
        .kinds()
        .iter()
        .flat_map(|k| {
            k.examples()
                .iter()
                .map(|e| e.text.to_owned())
                .chain(k.negative_examples().iter().map(|&n| n.to_owned()))
        })
        .collect();
    out.push(
        r#"{"model":"m","system":"vpc-0a1b2c3d","messages":[{"role":"user","content":[{"type":"text","text":"почему orders-api-qa не видит sg-0123456789abcdef0"},{"type":"tool_result","tool_use_id":"t","content":"i-0123456789abcdef0"}]}]}"#
            .to_owned(),
    );
    out.push(
        "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"see AWS_EC2_7KQ2XM\"}}\n\n"
            .to_owned(),
    );
    out
}

fn mutate(rng: &mut Rng, seeds: &[String]) -> Vec<u8> {
    let mut v = seeds[rng.below(seeds.len())].as_bytes().to_vec();
    for _ in 0..=rng.below(4) {
        let at = rng.below(v.len() + 1);
        match rng.below(5) {
            0 => {
                let other = seeds[rng.below(seeds.len())].as_bytes();
                let from = rng.below(other.len());
                let to = from + rng.below(other.len() - from + 1);
                v.splice(at..at, other[from..to].iter().copied());
            }
            1 => {
                let p = PIECES[rng.below(PIECES.len())].as_bytes();
                v.splice(at..at, p.iter().copied());
            }
            2 => {
                let to = (at + rng.below(16)).min(v.len());
                v.drain(at..to);
            }
            3 => {
                let to = (at + rng.below(64)).min(v.len());
                let part = v[at..to].to_vec();
                v.splice(at..at, part.into_iter().chain(std::iter::once(b' ')));
            }
            _ => {
                if let Some(b) = v.get_mut(at) {
                    *b = (rng.next() >> 56) as u8;
                }
            }
        }
    }
    v
}

/// Runs `check` on every seed and on `rounds` mutations of them.
fn smoke(name: &str, rounds: usize, check: impl Fn(&[u8], &mut Rng)) {
    let seeds = seeds();
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15 ^ name.len() as u64);
    for s in &seeds {
        check(s.as_bytes(), &mut rng);
    }
    for _ in 0..rounds {
        let input = mutate(&mut rng, &seeds);
        check(&input, &mut rng);
    }
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn cuts(rng: &mut Rng) -> Vec<u8> {
    (0..rng.below(12))
        .map(|_| (rng.next() >> 58) as u8)
        .collect()
}

#[test]
fn fuzz_smoke_detect() {
    smoke("detect", 30_000, |b, rng| {
        let mut data = vec![(rng.next() >> 56) as u8];
        data.extend_from_slice(b);
        checks::detect(&data);
    });
}

#[test]
fn fuzz_smoke_round_trip() {
    smoke("round_trip", 20_000, |b, _| {
        checks::round_trip(&text(b));
    });
}

#[test]
fn fuzz_smoke_stream_unmask() {
    smoke("stream_unmask", 10_000, |b, rng| {
        checks::stream_unmask(&text(b), &cuts(rng));
    });
}

#[test]
fn fuzz_smoke_messages_json() {
    smoke("messages_json", 20_000, |b, _| {
        checks::messages_json(&text(b));
    });
}

#[test]
fn fuzz_smoke_sse() {
    smoke("sse", 20_000, |b, rng| {
        checks::sse(b, (rng.next() >> 59) as u8);
    });
}

#[test]
fn fuzz_smoke_mask_stream() {
    smoke("mask_stream", 10_000, |b, rng| {
        checks::mask_stream(&text(b), &cuts(rng));
    });
}
