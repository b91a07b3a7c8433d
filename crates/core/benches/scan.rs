//! Scan throughput on texts the bench generates itself: mixed (about one identifier per 200
//! bytes, some non-ASCII), sparse (prose and code, one per ~20 KB) and dense (AWS CLI JSON,
//! one per ~40 bytes).

use std::fmt::Write as _;
use std::hint::black_box;

use awsmask::{Detector, Masker, MasterKey, StreamScanner};
use criterion::{BenchmarkId, Criterion, Throughput, criterion_main};

/// A small deterministic generator (SplitMix64), so every run scans the same bytes.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn hex(&mut self, n: usize) -> String {
        (0..n)
            .map(|_| char::from(b"0123456789abcdef"[(self.next() % 16) as usize]))
            .collect()
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[(self.next() % items.len() as u64) as usize]
    }

    fn identifier(&mut self) -> String {
        match self.next() % 10 {
            0 => format!("i-{}", self.hex(17)),
            1 => format!("vpc-{}", self.hex(8)),
            2 => format!(
                "arn:aws:iam::{}:role/deploy-{}",
                100_000_000_000 + self.next() % 899_999_999_999,
                self.hex(4)
            ),
            3 => format!(
                "10.{}.{}.{}",
                self.next() % 256,
                self.next() % 256,
                self.next() % 256
            ),
            4 => format!("subnet-{}", self.hex(17)),
            5 => format!("sg-{}", self.hex(17)),
            6 => format!(
                "ip-10-0-{}-{}.ec2.internal",
                self.next() % 256,
                self.next() % 256
            ),
            7 => format!("acme-{}.s3.us-east-1.amazonaws.com", self.hex(6)),
            8 => format!(
                "\"OwnerId\": \"{}\"",
                100_000_000_000 + self.next() % 899_999_999_999
            ),
            _ => format!("AKIA{}", "ABCDEFGHIJKLMNOP"),
        }
    }
}

const WORDS: &[&str] = &[
    "the",
    "instance",
    "cannot",
    "reach",
    "database",
    "after",
    "deploy",
    "we",
    "checked",
    "security",
    "group",
    "rules",
    "and",
    "route",
    "tables",
    "but",
    "traffic",
    "still",
    "drops",
    "between",
    "subnets",
    "한국어",
    "로그",
    "確認",
    "café",
    "fn",
    "main()",
    "{",
    "}",
    "let",
    "x",
    "=",
    "42;",
    "return",
    "error:",
    "timeout",
    "retrying",
    "in",
    "5s",
    "version",
    "1.2.3",
    "-",
    "->",
    "**note**",
];

/// Prose and code with an identifier every `every` bytes on average.
fn prose(len: usize, every: usize, seed: u64) -> String {
    let mut rng = Rng(seed);
    let mut out = String::with_capacity(len + 64);
    let mut next_id = every / 2;
    while out.len() < len {
        if out.len() >= next_id {
            out.push_str(&rng.identifier());
            next_id = out.len() + every / 2 + (rng.next() as usize % every);
        } else {
            out.push_str(rng.pick(WORDS));
        }
        out.push(if rng.next().is_multiple_of(12) {
            '\n'
        } else {
            ' '
        });
    }
    out
}

/// `aws ec2 describe-instances` style JSON: an identifier every ~40 bytes.
fn cli_json(len: usize, seed: u64) -> String {
    let mut rng = Rng(seed);
    let mut out = String::from("{\n    \"Reservations\": [\n");
    while out.len() < len {
        let _ = write!(
            out,
            "        {{\"InstanceId\": \"i-{}\", \"ImageId\": \"ami-{}\", \"SubnetId\": \"subnet-{}\",\n         \"VpcId\": \"vpc-{}\", \"PrivateIpAddress\": \"10.0.{}.{}\", \"OwnerId\": \"{}\"}},\n",
            rng.hex(17),
            rng.hex(17),
            rng.hex(17),
            rng.hex(17),
            rng.next() % 256,
            rng.next() % 256,
            100_000_000_000 + rng.next() % 899_999_999_999
        );
    }
    out.push_str("    ]\n}\n");
    out
}

fn inputs() -> Vec<(&'static str, String)> {
    vec![
        ("mixed", prose(4 << 20, 200, 1)),
        ("sparse", prose(4 << 20, 20_000, 2)),
        ("dense", cli_json(4 << 20, 3)),
    ]
}

fn scan(c: &mut Criterion) {
    let det = Detector::new();
    let mut group = c.benchmark_group("scan");
    let mut out = Vec::new();
    for (name, text) in inputs() {
        group.throughput(Throughput::Bytes(text.len() as u64));
        group.bench_with_input(BenchmarkId::from_parameter(name), &text, |b, text| {
            b.iter(|| {
                out.clear();
                det.find_into(black_box(text.as_bytes()), &mut out);
                out.len()
            });
        });
    }
    group.finish();

    let mut group = c.benchmark_group("scan_stream");
    for (name, text) in inputs() {
        group.throughput(Throughput::Bytes(text.len() as u64));
        group.bench_with_input(BenchmarkId::from_parameter(name), &text, |b, text| {
            b.iter(|| {
                let mut scanner = StreamScanner::new(&det);
                let mut n = 0;
                for chunk in text.as_bytes().chunks(1 << 20) {
                    out.clear();
                    scanner.push(chunk, &mut out);
                    n += out.len();
                }
                out.clear();
                scanner.finish(&mut out);
                n + out.len()
            });
        });
    }
    group.finish();

    // masking with the in-memory store: the first pass claims every value; later passes
    // find them in the masker's cache, as a long-running process does
    let masker = Masker::builder()
        .key(MasterKey::from_bytes([5; 32]))
        .build()
        .unwrap_or_else(|e| panic!("{e}"));
    let mut group = c.benchmark_group("mask");
    let mut buf = String::new();
    for (name, text) in inputs() {
        group.throughput(Throughput::Bytes(text.len() as u64));
        group.bench_with_input(BenchmarkId::from_parameter(name), &text, |b, text| {
            b.iter(|| {
                masker
                    .mask_into(black_box(text), &mut buf)
                    .map_or(0, |c| c.len())
            });
        });
    }
    group.finish();

    let mut group = c.benchmark_group("mask_cow");
    for (name, text) in inputs() {
        group.throughput(Throughput::Bytes(text.len() as u64));
        group.bench_with_input(BenchmarkId::from_parameter(name), &text, |b, text| {
            b.iter(|| masker.mask(black_box(text)).map_or(0, |m| m.total()));
        });
    }
    group.finish();

    let mut group = c.benchmark_group("unmask");
    for (name, text) in inputs() {
        let masked = masker
            .mask(&text)
            .map(|m| m.text().to_owned())
            .unwrap_or_default();
        group.throughput(Throughput::Bytes(masked.len() as u64));
        group.bench_with_input(BenchmarkId::from_parameter(name), &masked, |b, masked| {
            b.iter(|| masker.unmask(black_box(masked)).map_or(0, |t| t.len()));
        });
    }
    group.finish();

    let mut group = c.benchmark_group("mask_prompt");
    for size in [1024usize, 10 * 1024] {
        let text = prose(size, 200, 4);
        group.throughput(Throughput::Bytes(text.len() as u64));
        group.bench_with_input(BenchmarkId::from_parameter(size), &text, |b, text| {
            b.iter(|| masker.mask(black_box(text)).map_or(0, |m| m.total()));
        });
    }
    group.finish();

    let mut group = c.benchmark_group("scan_prompt");
    for size in [1024usize, 10 * 1024] {
        let text = prose(size, 200, 4);
        group.throughput(Throughput::Bytes(text.len() as u64));
        group.bench_with_input(BenchmarkId::from_parameter(size), &text, |b, text| {
            b.iter(|| {
                out.clear();
                det.find_into(black_box(text.as_bytes()), &mut out);
                out.len()
            });
        });
    }
    group.finish();
}

/// Criterion's generated group function lives here, out of the crate's public surface.
mod group {
    criterion::criterion_group!(benches, super::scan);
}

criterion_main!(group::benches);
