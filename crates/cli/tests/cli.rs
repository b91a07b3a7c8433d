//! Black-box tests of the `awsmask` binary: stdin in, stdout/stderr and exit code out.
#![expect(clippy::print_stderr, reason = "tests say on stderr why they skip")]

use std::fmt::Write as _;
use std::io::{Read, Write};
use std::process::{Command, Output, Stdio};

fn awsmask(args: &[&str], stdin: &[u8]) -> Output {
    awsmask_env(args, stdin, &[])
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
fn kinds_can_be_turned_on_and_off() {
    let text = b"why can't invoice-enricher-test see i-0123456789abcdef0?\n";
    let o = awsmask(&["scan", "--show-values"], text);
    assert_eq!(
        stdout(&o),
        "<stdin>:1:37: ec2_instance i-0123456789abcdef0\n"
    );
    let o = awsmask(
        &[
            "scan",
            "--show-values",
            "--enable",
            "name_like",
            "--disable=ec2_instance",
        ],
        text,
    );
    assert_eq!(
        stdout(&o),
        "<stdin>:1:11: name_like invoice-enricher-test\n"
    );
    let o = awsmask(
        &["mask", "--store", "memory", "--enable", "name_like,vpc"],
        text,
    );
    assert_eq!(o.status.code(), Some(0));
    assert!(
        stdout(&o).starts_with("why can't AWS_NAME_"),
        "{}",
        stdout(&o)
    );
    let o = awsmask(&["scan", "--enable", "no_such_kind"], text);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("unknown kind `no_such_kind`"));
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

/// `awsmask ARGS` with stdin from `file` (its read position shared with the caller's).
fn awsmask_on_file(args: &[&str], file: &std::fs::File) -> Output {
    Command::new(env!("CARGO_BIN_EXE_awsmask"))
        .args(args)
        .stdin(Stdio::from(file.try_clone().unwrap()))
        .output()
        .unwrap()
}

#[test]
fn scan_of_a_file_in_place_matches_scan_of_a_pipe() {
    use std::io::{Seek, SeekFrom};
    // a regular file is mapped and scanned in place; a pipe is read: the same report
    let unit =
        "first line\nvpc-0a1b2c3d in 한국어 subnet-0a1b2c3d\r\n\"OwnerId\": \"123456789012\" ";
    let mut input = String::new();
    let mut k = 0;
    while input.len() < 3 << 20 {
        input.push_str(unit);
        let _ = writeln!(input, "10.1.{}.{} pad{k}", k % 256, k % 199);
        k += 1;
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("in.txt");
    std::fs::write(&path, &input).unwrap();
    let p = path.to_str().unwrap();
    for args in [
        &["scan"][..],
        &["scan", "--show-values"],
        &["scan", "--format", "jsonl"],
        &["scan", "--format", "jsonl", "--show-values"],
    ] {
        let piped = awsmask(args, input.as_bytes());
        assert_eq!(piped.status.code(), Some(1));
        assert!(stdout(&piped).lines().count() > 100_000);
        let named = awsmask(&[args, &[p]].concat(), b"");
        // the text format names the file
        let named_out = stdout(&named).replace(p, "<stdin>");
        assert!(named_out == stdout(&piped), "{args:?} with a path");
        assert_eq!(named.status.code(), Some(1));
        let f = std::fs::File::open(&path).unwrap();
        let redirected = awsmask_on_file(args, &f);
        assert!(
            redirected.stdout == piped.stdout,
            "{args:?} from a file on stdin"
        );
    }
    // from where the shell left stdin, and leaving it at the end, as reading would
    let mut f = std::fs::File::open(&path).unwrap();
    f.seek(SeekFrom::Start(1_000_001)).unwrap();
    let rest = awsmask_on_file(&["scan", "--format", "jsonl", "--show-values"], &f);
    let piped = awsmask(
        &["scan", "--format", "jsonl", "--show-values"],
        &input.as_bytes()[1_000_001..],
    );
    assert!(rest.stdout == piped.stdout);
    assert_eq!(f.stream_position().unwrap(), input.len() as u64);
    // an empty file, and a file already read to its end
    std::fs::write(&path, "").unwrap();
    let o = awsmask(&["scan", p], b"");
    assert_eq!((o.status.code(), o.stdout.len()), (Some(0), 0));
    let o = awsmask_on_file(&["scan"], &f);
    assert_eq!((o.status.code(), o.stdout.len()), (Some(0), 0));
}

#[test]
fn scan_of_a_named_pipe_reads_what_its_writer_sends() {
    // a path that cannot be mapped is read, from the one open that looked at it
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("fifo");
    let made = Command::new("mkfifo").arg(&fifo).status();
    if !made.is_ok_and(|s| s.success()) {
        eprintln!("skipped: no mkfifo");
        return;
    }
    let path = fifo.clone();
    let writer = std::thread::spawn(move || {
        let mut w = std::fs::OpenOptions::new().write(true).open(path).unwrap();
        w.write_all(b"x vpc-0a1b2c3d\n").unwrap();
    });
    let o = awsmask(&["scan", "--format", "jsonl", fifo.to_str().unwrap()], b"");
    writer.join().unwrap();
    assert_eq!(
        stdout(&o),
        "{\"start\":2,\"end\":14,\"kind\":\"vpc\"}\n",
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
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

/// Runs `awsmask` with `env` set and the rest of the environment cleared of awsmask settings.
fn awsmask_env(args: &[&str], stdin: &[u8], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_awsmask"));
    cmd.args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for v in [
        "AWSMASK_STORE",
        "AWSMASK_NAMESPACE",
        "AWSMASK_KEY",
        "AWSMASK_PREVIOUS_KEYS",
        "XDG_DATA_HOME",
    ] {
        cmd.env_remove(v);
    }
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().unwrap();
    let mut input = child.stdin.take().unwrap();
    let data = stdin.to_vec();
    let writer = std::thread::spawn(move || {
        let _ = input.write_all(&data);
    });
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap();
    out
}

/// `awsmask mask | awsmask unmask` as two processes running at once, connected by a pipe.
fn pipeline(input: &[u8], data_home: &str, unmask_args: &[&str]) -> (Vec<u8>, Vec<u8>) {
    let spawn = |args: &[&str]| {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_awsmask"));
        cmd.args(args)
            .env("XDG_DATA_HOME", data_home)
            .env_remove("AWSMASK_KEY")
            .env_remove("AWSMASK_STORE");
        cmd
    };
    let mut mask = spawn(&["mask"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut args = vec!["unmask"];
    args.extend_from_slice(unmask_args);
    let masked_out = mask.stdout.take().unwrap();
    let (tee_r, tee_w) = std::io::pipe().unwrap();
    // copy mask's output to unmask while keeping a copy of it
    let copier = std::thread::spawn(move || {
        let mut src = masked_out;
        let mut dst = tee_w;
        let mut seen = Vec::new();
        let mut buf = vec![0u8; 65536];
        loop {
            let n = src.read(&mut buf).unwrap();
            if n == 0 {
                break;
            }
            seen.extend_from_slice(&buf[..n]);
            dst.write_all(&buf[..n]).unwrap();
        }
        seen
    });
    let unmask = spawn(&args)
        .stdin(Stdio::from(tee_r))
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    // read unmask's output as it comes, or a large answer fills the pipe and stalls everyone
    let reader = std::thread::spawn(move || unmask.wait_with_output().unwrap());
    let mut stdin = mask.stdin.take().unwrap();
    let data = input.to_vec();
    let writer = std::thread::spawn(move || stdin.write_all(&data).unwrap());
    writer.join().unwrap();
    assert!(mask.wait().unwrap().success());
    let masked = copier.join().unwrap();
    let out = reader.join().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    (masked, out.stdout)
}

#[test]
fn mask_then_unmask_in_a_pipeline_with_the_default_vault() {
    let home = tempfile::tempdir().unwrap();
    let data_home = home.path().to_str().unwrap();
    let input = "{\"InstanceId\": \"i-0123456789abcdef0\",\n \"Arn\": \"arn:aws:iam::123456789012:role/deploy\"}\nnon-ASCII: 한국어 😀\n".repeat(50);
    let (masked, back) = pipeline(input.as_bytes(), data_home, &[]);
    let masked = String::from_utf8(masked).unwrap();
    assert!(!masked.contains("i-0123456789abcdef0") && !masked.contains("123456789012"));
    assert!(masked.contains("AWS_EC2_"));
    assert_eq!(String::from_utf8(back).unwrap(), input);
    // the vault and its key are private
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        for f in ["awsmask/vault.db", "awsmask/vault.key"] {
            let mode = std::fs::metadata(home.path().join(f))
                .unwrap()
                .permissions()
                .mode()
                & 0o777;
            assert_eq!(mode, 0o600, "{f}");
        }
    }
    // another namespace restores nothing
    let o = awsmask_env(
        &["unmask", "--namespace", "other"],
        masked.as_bytes(),
        &[("XDG_DATA_HOME", data_home)],
    );
    assert_eq!(o.status.code(), Some(0));
    assert_eq!(String::from_utf8(o.stdout).unwrap(), masked);
}

#[test]
fn two_processes_sharing_a_key_give_the_same_token() {
    let key = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";
    let env = [("AWSMASK_KEY", key), ("AWSMASK_STORE", "memory")];
    let a = awsmask_env(&["mask"], b"vpc-0a1b2c3d\n", &env);
    let b = awsmask_env(&["mask"], b"vpc-0a1b2c3d\n", &env);
    assert!(a.status.success());
    assert_eq!(a.stdout, b.stdout);
    assert!(String::from_utf8_lossy(&a.stdout).starts_with("AWS_VPC_"));
    let other = awsmask_env(&["mask", "--namespace", "x"], b"vpc-0a1b2c3d\n", &env);
    assert_ne!(a.stdout, other.stdout);
}

#[test]
fn a_rotated_key_still_unmasks_and_loose_key_files_are_refused() {
    use std::os::unix::fs::PermissionsExt as _;
    let dir = tempfile::tempdir().unwrap();
    let store = format!("file:{}", dir.path().join("vault.db").display());
    let (old, new) = (dir.path().join("old.key"), dir.path().join("new.key"));
    std::fs::write(&old, "11".repeat(32)).unwrap();
    std::fs::write(&new, "22".repeat(32)).unwrap();
    // a key file others can read is refused
    std::fs::set_permissions(&old, std::fs::Permissions::from_mode(0o644)).unwrap();
    let o = awsmask_env(
        &[
            "mask",
            "--store",
            &store,
            "--key-file",
            old.to_str().unwrap(),
        ],
        b"vpc-0a1b2c3d\n",
        &[],
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("chmod 600"));
    for k in [&old, &new] {
        std::fs::set_permissions(k, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    let with = |key: &std::path::Path, previous: &[&std::path::Path], cmd: &str, input: &[u8]| {
        let mut args = vec![cmd, "--store", &store, "--key-file", key.to_str().unwrap()];
        for p in previous {
            args.extend(["--previous-key-file", p.to_str().unwrap()]);
        }
        let o = awsmask_env(&args, input, &[]);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        o.stdout
    };
    let masked_old = with(&old, &[], "mask", b"vpc-0a1b2c3d\n");
    let masked_new = with(&new, &[&old], "mask", b"vpc-0a1b2c3d\n");
    assert_ne!(masked_old, masked_new);
    let both = [masked_old.clone(), masked_new].concat();
    assert_eq!(
        with(&new, &[&old], "unmask", &both),
        b"vpc-0a1b2c3d\nvpc-0a1b2c3d\n"
    );
    // the same from the environment
    let o = awsmask_env(
        &[
            "unmask",
            "--store",
            &store,
            "--key-file",
            new.to_str().unwrap(),
        ],
        &masked_old,
        &[("AWSMASK_PREVIOUS_KEYS", &"11".repeat(32))],
    );
    assert_eq!(o.stdout, b"vpc-0a1b2c3d\n");
    // without the old key its tokens stay
    assert_eq!(with(&new, &[], "unmask", &masked_old), masked_old);
}

#[test]
fn mask_errors_are_clear_and_fail_closed() {
    let home = tempfile::tempdir().unwrap();
    let data_home = home.path().to_str().unwrap();
    let o = awsmask_env(&["mask", "--store", "ftp://x"], b"i-0123456789abcdef0", &[]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("unknown store `ftp`"),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let o = awsmask_env(
        &["mask"],
        b"i-0123456789abcdef0",
        &[
            ("AWSMASK_KEY", "not-a-key-sekrit"),
            ("XDG_DATA_HOME", data_home),
        ],
    );
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("64 hexadecimal digits") && !err.contains("sekrit"),
        "{err}"
    );
    assert!(o.stdout.is_empty());
    let o = awsmask_env(
        &["mask", "--key-file", "/nonexistent/key"],
        b"x",
        &[("XDG_DATA_HOME", data_home)],
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("cannot read key file"));
    // invalid UTF-8: an error with the offset, and only masked text before it
    let mut input = b"vpc-0a1b2c3d ok\n".to_vec();
    input.extend_from_slice(b"\xff\xfe i-0123456789abcdef0\n");
    let o = awsmask_env(&["mask", "--store", "memory"], &input, &[]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("not UTF-8 (invalid byte at offset 16)"));
    assert!(!String::from_utf8_lossy(&o.stdout).contains("vpc-0a1b2c3d"));
    assert!(!String::from_utf8_lossy(&o.stdout).contains("i-0123456789abcdef0"));
    let o = awsmask_env(&["unmask", "--store", "memory"], b"ok \xff", &[]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("not UTF-8"));
}

#[test]
fn dev_corpus_through_mask_and_unmask_comes_back_byte_for_byte() {
    let corpus =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpus/dev.jsonl");
    let Ok(jsonl) = std::fs::read_to_string(&corpus) else {
        eprintln!("skipping: no corpus at {}", corpus.display());
        return;
    };
    let mut text = String::new();
    for line in jsonl.lines().filter(|l| !l.trim().is_empty()) {
        let rec: serde_json::Value = serde_json::from_str(line).unwrap();
        text.push_str(rec["text"].as_str().unwrap());
        text.push_str("\n\n");
    }
    let home = tempfile::tempdir().unwrap();
    let (masked, back) = pipeline(text.as_bytes(), home.path().to_str().unwrap(), &[]);
    assert!(
        back == text.as_bytes(),
        "the corpus did not come back byte for byte"
    );
    assert!(masked != text.as_bytes());
}

#[test]
fn four_processes_mask_alike_against_the_cluster_and_a_fifth_unmasks() {
    let (Ok(cluster), Ok(ca)) = (
        std::env::var("AWSMASK_TEST_CLUSTER_URL"),
        std::env::var("AWSMASK_TEST_CA_FILE"),
    ) else {
        eprintln!("skipping: the Redis testbed is not running (scripts/redis-testbed.sh)");
        return;
    };
    let key = "0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0";
    let mut input = String::new();
    for i in 0..400 {
        let _ = writeln!(
            input,
            "i-{i:017x} in subnet-{:08x} owned by {:012}",
            i % 37,
            100_000_000_000u64 + i % 11
        );
    }
    let env = [
        ("AWSMASK_KEY", key),
        ("AWSMASK_STORE", cluster.as_str()),
        ("AWSMASK_TLS_CA_FILE", ca.as_str()),
    ];
    let ns = format!("four-{}", std::process::id());
    let outs: Vec<Output> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..4)
            .map(|_| s.spawn(|| awsmask_env(&["mask", "--namespace", &ns], input.as_bytes(), &env)))
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    for o in &outs {
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        assert_eq!(o.stdout, outs[0].stdout);
    }
    assert!(!String::from_utf8_lossy(&outs[0].stdout).contains("subnet-"));
    let back = awsmask_env(&["unmask", "--namespace", &ns], &outs[0].stdout, &env);
    assert!(
        back.status.success(),
        "{}",
        String::from_utf8_lossy(&back.stderr)
    );
    assert_eq!(String::from_utf8(back.stdout).unwrap(), input);
}
