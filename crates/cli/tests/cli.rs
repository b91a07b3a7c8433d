//! Black-box tests of the `awsmask` binary: stdin in, stdout/stderr and exit code out.

use std::io::{Read, Write};
use std::process::{Command, Output, Stdio};

fn awsmask(args: &[&str], stdin: &[u8]) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_awsmask"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = child.stdin.take().unwrap();
    let data = stdin.to_vec();
    let writer = std::thread::spawn(move || {
        let _ = input.write_all(&data);
    });
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap();
    out
}

fn stdout(o: &Output) -> String {
    String::from_utf8(o.stdout.clone()).unwrap()
}

const SAMPLE: &str =
    "{\n  \"InstanceId\": \"i-0123456789abcdef0\",\n  \"OwnerId\": \"123456789012\"\n}\n";

#[test]
fn scan_text_redacts_values_and_exits_1() {
    let o = awsmask(&["scan"], SAMPLE.as_bytes());
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(
        stdout(&o),
        "<stdin>:2:18: ec2_instance\n<stdin>:3:15: account_id\n"
    );
    assert!(!stdout(&o).contains("i-0123456789abcdef0"));
}

#[test]
fn scan_text_shows_values_when_asked() {
    let o = awsmask(&["scan", "--show-values"], SAMPLE.as_bytes());
    assert_eq!(
        stdout(&o),
        "<stdin>:2:18: ec2_instance i-0123456789abcdef0\n<stdin>:3:15: account_id 123456789012\n"
    );
}

#[test]
fn scan_jsonl_reports_byte_offsets() {
    let o = awsmask(&["scan", "--format", "jsonl"], SAMPLE.as_bytes());
    assert_eq!(o.status.code(), Some(1));
    let lines: Vec<serde_json::Value> = stdout(&o)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2);
    let (s, e) = (
        lines[0]["start"].as_u64().unwrap() as usize,
        lines[0]["end"].as_u64().unwrap() as usize,
    );
    assert_eq!(&SAMPLE[s..e], "i-0123456789abcdef0");
    assert_eq!(lines[0]["kind"], "ec2_instance");
    assert!(lines[0].get("value").is_none());
    let o = awsmask(
        &["scan", "--format", "jsonl", "--show-values"],
        SAMPLE.as_bytes(),
    );
    let first: serde_json::Value =
        serde_json::from_str(stdout(&o).lines().next().unwrap()).unwrap();
    assert_eq!(first["value"], "i-0123456789abcdef0");
}

#[test]
fn scan_nothing_found_exits_0() {
    let o = awsmask(&["scan"], b"nothing to see here, i-node and sg-web-prod\n");
    assert_eq!(o.status.code(), Some(0));
    assert!(o.stdout.is_empty());
}

#[test]
fn scan_keeps_going_through_invalid_utf8() {
    let mut input = b"bad \xff\xfe bytes ".to_vec();
    let start = input.len();
    input.extend_from_slice(b"vpc-0a1b2c3d \xc3 end");
    let o = awsmask(&["scan", "--format", "jsonl"], &input);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(
        stdout(&o),
        format!(
            "{{\"start\":{start},\"end\":{},\"kind\":\"vpc\"}}\n",
            start + 12
        )
    );
}

#[test]
fn scan_files_in_order_with_stream_offsets() {
    let dir = std::env::temp_dir().join(format!("awsmask-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let a = dir.join("a.txt");
    let b = dir.join("b.txt");
    std::fs::write(&a, "first line\nvpc-0a1b2c3d\n").unwrap();
    std::fs::write(&b, "x subnet-0a1b2c3d\n").unwrap();
    let (pa, pb) = (a.to_str().unwrap(), b.to_str().unwrap());
    let o = awsmask(&["scan", pa, pb], b"");
    assert_eq!(stdout(&o), format!("{pa}:2:1: vpc\n{pb}:1:3: subnet\n"));
    let o = awsmask(&["scan", "--format", "jsonl", pa, pb], b"");
    assert_eq!(
        stdout(&o),
        "{\"start\":11,\"end\":23,\"kind\":\"vpc\"}\n{\"start\":26,\"end\":41,\"kind\":\"subnet\"}\n"
    );
    let missing = dir.join("missing.txt");
    let o = awsmask(&["scan", missing.to_str().unwrap()], b"");
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("cannot open"));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn scan_large_stream_matches_across_read_boundaries() {
    // identifiers straddle every 1 MiB read boundary somewhere in 5 MiB
    let unit = "padding text with no identifiers at all, just words. arn:aws:iam::123456789012:role/deploy-role ";
    let mut input = String::new();
    while input.len() < 5 << 20 {
        input.push_str(unit);
        input.push('x');
    }
    let o = awsmask(&["scan", "--format", "jsonl"], input.as_bytes());
    let expected = input.matches("arn:aws:iam").count();
    assert_eq!(stdout(&o).lines().count(), expected);
    for line in stdout(&o).lines() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        let (s, e) = (
            v["start"].as_u64().unwrap() as usize,
            v["end"].as_u64().unwrap() as usize,
        );
        assert_eq!(&input[s..e], "arn:aws:iam::123456789012:role/deploy-role");
    }
}

#[test]
fn scan_into_closed_pipe_exits_quietly() {
    let input = "i-0123456789abcdef0\n".repeat(200_000);
    let mut child = Command::new(env!("CARGO_BIN_EXE_awsmask"))
        .args(["scan", "--show-values"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let writer = std::thread::spawn(move || {
        let _ = stdin.write_all(input.as_bytes());
    });
    // read one line, then close our end of the pipe
    let mut out = child.stdout.take().unwrap();
    let mut first = [0u8; 16];
    out.read_exact(&mut first).unwrap();
    drop(out);
    let status = child.wait().unwrap();
    writer.join().unwrap();
    let mut err = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    assert!(err.is_empty(), "stderr: {err}");
    assert_eq!(status.code(), Some(0));
}

#[test]
fn kinds_lists_the_catalogue() {
    let o = awsmask(&["kinds"], b"");
    assert_eq!(o.status.code(), Some(0));
    let text = stdout(&o);
    assert!(text.starts_with("NAME"));
    for name in [
        "ec2_instance",
        "arn",
        "account_id",
        "s3_bucket",
        "private_ip",
        "kms_key_id",
    ] {
        assert!(
            text.lines()
                .any(|l| l.split_whitespace().next() == Some(name)),
            "{name} missing"
        );
    }
    let o = awsmask(&["kinds", "--format", "jsonl"], b"");
    let first: serde_json::Value =
        serde_json::from_str(stdout(&o).lines().next().unwrap()).unwrap();
    assert_eq!(first["name"], "ec2_instance");
    assert_eq!(first["tag"], "EC2");
}

#[test]
fn bad_flags_exit_2_with_usage() {
    let o = awsmask(&["scan", "--format", "xml"], b"");
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("invalid value"));
    let o = awsmask(&["--help"], b"");
    assert_eq!(o.status.code(), Some(0));
    assert!(stdout(&o).contains("scan"));
}
