use super::*;

/// `value=kind` for every match in `text`.
fn found(text: &str) -> Vec<String> {
    let det = Detector::new();
    det.find_iter(text.as_bytes())
        .map(|m| format!("{}={}", &text[m.range()], det.kind(m.kind()).name()))
        .collect()
}

#[test]
fn catalogue_examples() {
    let default = Detector::new();
    // the kinds that are off by default are tried with every kind on
    let off: Vec<&str> = default
        .kinds()
        .iter()
        .filter(|k| !k.default_on())
        .map(KindInfo::name)
        .collect();
    assert!(!off.is_empty());
    let all = Detector::with_config(&Config::new().enable(off)).unwrap();
    let mut failures = Vec::new();
    for (i, kind) in default.kinds().iter().enumerate() {
        let det = if kind.default_on() { &default } else { &all };
        if !kind.default_on() {
            for ex in kind.examples() {
                let on = default
                    .find_iter(ex.text.as_bytes())
                    .any(|m| m.kind().as_usize() == i);
                if on {
                    failures.push(format!("{} is off by default but found", kind.name()));
                }
            }
        }
        for ex in kind.examples() {
            let got: Vec<_> = det.find_iter(ex.text.as_bytes()).collect();
            let want = ex.text.find(ex.value).unwrap();
            let hit = got.iter().any(|m| {
                m.start() == want && m.end() == want + ex.value.len() && m.kind().as_usize() == i
            });
            if !hit {
                failures.push(format!(
                    "{}: {:?} in {:?}: got {:?}",
                    kind.name(),
                    ex.value,
                    ex.text,
                    got.iter()
                        .map(|m| (&ex.text[m.range()], det.kind(m.kind()).name()))
                        .collect::<Vec<_>>()
                ));
            }
        }
        for neg in kind.negative_examples() {
            let bad: Vec<_> = det
                .find_iter(neg.as_bytes())
                .filter(|m| m.kind().as_usize() == i)
                .collect();
            if !bad.is_empty() {
                failures.push(format!(
                    "{}: negative {:?} matched {:?}",
                    kind.name(),
                    neg,
                    bad.iter().map(|m| &neg[m.range()]).collect::<Vec<_>>()
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn every_kind_has_examples_and_unique_names_and_tags() {
    let det = Detector::new();
    let mut names = std::collections::HashSet::new();
    let mut tags = std::collections::HashSet::new();
    for k in det.kinds() {
        assert!(!k.examples().is_empty(), "{} has no example", k.name());
        assert!(names.insert(k.name()), "duplicate name {}", k.name());
        assert!(tags.insert(k.tag()), "duplicate tag {}", k.tag());
        assert!(
            k.tag()
                .bytes()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit()),
            "{}",
            k.tag()
        );
    }
}

#[test]
fn longest_wins_and_no_overlap() {
    assert_eq!(
        found("ip-10-0-1-23.ec2.internal"),
        ["ip-10-0-1-23.ec2.internal=ec2_hostname"]
    );
    assert_eq!(
        found("arn:aws:ec2:us-east-1:123456789012:instance/i-0123456789abcdef0"),
        ["arn:aws:ec2:us-east-1:123456789012:instance/i-0123456789abcdef0=arn"]
    );
    // a JSON escape right before an id is not part of it
    assert_eq!(
        found(r#""a\ni-0a1b2c3d\u201cvpc-0a1b2c3d\u201d""#),
        ["i-0a1b2c3d=ec2_instance", "vpc-0a1b2c3d=vpc"]
    );
}

#[test]
fn context_rules() {
    // a JSON escape glued to a number is not part of it
    assert_eq!(
        found(r"account \u201c685749794555\u201d"),
        ["685749794555=account_id"]
    );
    // `EKS cluster:` is an EKS cluster, not the generic `cluster:` key
    assert_eq!(
        found("EKS cluster: acme-test-eks."),
        ["acme-test-eks=eks_cluster"]
    );
    assert_eq!(found("CLUSTER: wonka-uat\n"), ["wonka-uat=ecs_cluster"]);
    // keys aligned with many spaces, prefixed keys, escaped JSON
    assert_eq!(
        found("    bucket         = \"tf-state-x\""),
        ["tf-state-x=s3_bucket"]
    );
    assert_eq!(found("S3_BUCKET=my-logs-1\n"), ["my-logs-1=s3_bucket"]);
    assert_eq!(
        found(r#"{\"functionName\":\"kyc-handler\"}"#),
        ["kyc-handler=lambda_function"]
    );
    // Terraform resource ids and list-buckets names
    assert_eq!(
        found("aws_s3_bucket.assets: Refreshing state... [id=acme-assets-1]"),
        ["acme-assets-1=s3_bucket"]
    );
    assert_eq!(
        found("aws_instance.web: Refreshing state... [id=i-0123456789abcdef0]"),
        ["i-0123456789abcdef0=ec2_instance"]
    );
    assert_eq!(
        found("{\"Buckets\": [{\"Name\": \"acme-a\"}, {\"Name\": \"acme-b\"}]}"),
        ["acme-a=s3_bucket", "acme-b=s3_bucket"]
    );
    assert_eq!(found("{\"Name\": \"not-a-bucket\"}"), Vec::<String>::new());
    // flags, also after a YAML list dash and with the value on the next item
    assert_eq!(
        found("aws eks update-kubeconfig --name platform-x1 --region us-east-1"),
        ["platform-x1=eks_cluster"]
    );
    assert_eq!(
        found("      - --cluster-name\n      - billing-k8s\n"),
        ["billing-k8s=eks_cluster"]
    );
    // prose phrases need an identifier-looking name; the CLI's service name is no phrase
    assert_eq!(found("my Lambda function is failing"), Vec::<String>::new());
    assert_eq!(
        found("aws lambda get-function-configuration"),
        Vec::<String>::new()
    );
    assert_eq!(
        found("Log group /aws/lambda/x-y"),
        ["/aws/lambda/x-y=log_group"]
    );
}

#[test]
fn names_known_by_where_they_stand() {
    // in prose of a non-Latin script, across quotes and brackets, glued to CJK
    assert_eq!(
        found("почему «orders-api-qa» не видит очередь"),
        ["orders-api-qa=resource_name"]
    );
    assert_eq!(
        found("関数 billing-export-prod がタイムアウトしました"),
        ["billing-export-prod=resource_name"]
    );
    assert_eq!(
        found("请检查payments-worker-prod的日志"),
        ["payments-worker-prod=resource_name"]
    );
    // ... also in JSON text that escapes it
    assert_eq!(
        found(r#"{"text": "\u043f\u043e\u0447\u0435\u043c\u0443 orders-api-qa \u043d\u0435"}"#),
        ["orders-api-qa=resource_name"]
    );
    assert_eq!(
        found(r#"{"text": "\u00e9t\u00e9 orders-api-qa"}"#),
        Vec::<String>::new()
    );
    // ... but not in Latin prose, not a flag, a header, a region or hex, nor in a host name
    for text in [
        "pourquoi orders-api-qa ne voit pas la file",
        "флаг --force-new-deployment нужен",
        "заголовок x-amz-request-id пуст",
        "регион ap-southeast-2 и зона ap-southeast-2a",
        "ключ abcd1234-ef56-7890 пуст",
        "хост orders-api-qa.internal.example не отвечает",
        "путь /srv/orders-api-qa/ пуст",
    ] {
        assert_eq!(found(text), Vec::<String>::new(), "{text}");
    }
    // alone on a line, after a chat time and nick, as a whole text
    assert_eq!(
        found("[09:13] <nkechi> contoso-data-lake-silver\r\nok"),
        ["contoso-data-lake-silver=resource_name"]
    );
    assert_eq!(
        found("acme-invoices-archive"),
        ["acme-invoices-archive=resource_name"]
    );
    for text in [
        "see acme-invoices-archive\n",
        "acme-invoices-archive please\n",
        "Name: acme-invoices-archive\n",
        "<a> <b> acme-invoices-archive\n",
    ] {
        assert_eq!(found(text), Vec::<String>::new(), "{text}");
    }
    // a message whose JSON text is only a name
    assert_eq!(
        found(r#"[{"type": "text", "text": "acme-invoices-archive"}]"#),
        ["acme-invoices-archive=resource_name"]
    );
    // a Terraform id no other kind claims; one another kind claims keeps that kind
    assert_eq!(
        found("aws_iam_role.ci: Refreshing state... [id=acme-ci-deployer]"),
        ["acme-ci-deployer=resource_name"]
    );
    assert_eq!(
        found("aws_vpc.main: Refreshing state... [id=vpc-0a1b2c3d4e5f60718]"),
        ["vpc-0a1b2c3d4e5f60718=vpc"]
    );
    // a word longer than any name is not cut into one (masking would have to refuse it)
    for text in [
        format!("почему {}ghi не видит", "abc-def-".repeat(10)),
        format!("{}ghi\n", "abc-def-".repeat(10)),
    ] {
        assert_eq!(found(&text), Vec::<String>::new(), "{text}");
        let config = Config::new().enable(["name_like"]);
        assert_eq!(
            Detector::with_config(&config)
                .unwrap()
                .find_iter(text.as_bytes())
                .count(),
            0
        );
        let masked = crate::Masker::new().unwrap().mask(&text).unwrap();
        assert_eq!(masked.text(), text);
    }
    // once known, its other occurrences go with it
    let text = "почему orders-api-qa не видит очередь?\nlogs of orders-api-qa: empty";
    let det = Detector::new();
    let m = det.find_iter(text.as_bytes()).collect::<Vec<_>>();
    let m = Detector::propagate(text.as_bytes(), m, &[], 0, text.len());
    assert_eq!(m.len(), 2);
    // a path segment too (an S3 access log line names its bucket, then requests it), but not
    // a part of a longer dashed or dotted name
    let text = "{\"Bucket\": \"acme-orders-archive\"} \"GET /acme-orders-archive?versioning\" \
                acme-orders-archive-old x.acme-orders-archive";
    let m = det.find_iter(text.as_bytes()).collect::<Vec<_>>();
    let m = Detector::propagate(text.as_bytes(), m, &[], 0, text.len());
    let at: Vec<usize> = m.iter().map(Match::start).collect();
    assert_eq!(
        at,
        [text.find("acme").unwrap(), text.find("/acme").unwrap() + 1]
    );
}

#[test]
fn custom_kinds_and_allowlist() {
    let det = Detector::with_config(
        &Config::new()
            .custom_kind("ticket", r"TCK-[0-9]{4}")
            .allow(["i-0123456789abcdef0"]),
    )
    .unwrap();
    let text = "TCK-1234 i-0123456789abcdef0 i-0123456789abcdef1";
    let got: Vec<_> = det
        .find_iter(text.as_bytes())
        .map(|m| (&text[m.range()], det.kind(m.kind()).name().to_owned()))
        .collect();
    assert_eq!(
        got,
        [
            ("TCK-1234", "ticket".to_owned()),
            ("i-0123456789abcdef1", "ec2_instance".to_owned())
        ]
    );
}

#[test]
fn config_errors() {
    assert!(Detector::with_config(&Config::new().disable(["nope"])).is_err());
    assert!(Detector::with_config(&Config::new().custom_kind("Bad Name", "x")).is_err());
    assert!(Detector::with_config(&Config::new().custom_kind("x", "(")).is_err());
    assert!(Detector::with_config(&Config::new().custom_kind("arn", "x")).is_err());
    let det = Detector::with_config(&Config::new().disable(["ec2_instance"])).unwrap();
    assert!(!det.is_match(b"i-0123456789abcdef0"));
}

#[test]
fn config_only_keeps_just_those_kinds() {
    let det = Detector::with_config(&Config::new().only(["vpc"])).unwrap();
    assert!(det.is_match(b"vpc-0a1b2c3d4e5f60718"));
    assert!(!det.is_match(b"i-0123456789abcdef0"));
    let enabled: Vec<&str> = det
        .kinds()
        .iter()
        .map(KindInfo::name)
        .filter(|name| det.kind_id(name).is_some_and(|id| det.is_enabled(id)))
        .collect();
    assert_eq!(enabled, ["vpc"]);
    assert!(Detector::with_config(&Config::new().only(["nope"])).is_err());
}

/// About `len` bytes of every catalogue example, shuffled among filler words, so that
/// identifiers sit on every part border sooner or later.
fn examples_text(len: usize) -> Vec<u8> {
    let det = Detector::new();
    let examples: Vec<&str> = det
        .kinds()
        .iter()
        .flat_map(|k| {
            k.examples()
                .iter()
                .map(|e| e.text)
                .chain(k.negative_examples().iter().copied())
        })
        .collect();
    let filler = [
        "the ",
        "bucket ",
        "x",
        "\n",
        "\"",
        "{\"Name\": ",
        "12",
        ".",
        "-",
        "\n\n",
    ];
    let mut out = Vec::with_capacity(len + 4096);
    let mut seed = 0x9E37_79B9_7F4A_7C15_u64;
    while out.len() < len {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let pick = (seed >> 33) as usize;
        // the choice is made from `pick / 3`: `pick % n` would skip every third text when 3
        // divides n
        if pick.is_multiple_of(3) {
            out.extend_from_slice(filler[pick / 3 % filler.len()].as_bytes());
        } else {
            out.extend_from_slice(examples[pick / 3 % examples.len()].as_bytes());
            out.push(b' ');
        }
    }
    out
}

/// The candidates of the dash, flag, number, IPv6 and key rules from the one classified pass
/// ([`events`]) and from each rule's own loop over its anchor byte, sorted.
fn events_and_loops(det: &Detector, h: &[u8]) -> (Vec<Match>, Vec<Match>) {
    let mut fused = Sink::default();
    events::find(h, true, &det.inner.contexts, &mut fused);
    let mut loops = Sink::default();
    ids::find_dash_ids(h, true, &mut loops);
    net::find_numbers(h, &mut loops);
    net::find_ipv6(h, &mut loops);
    det.inner.contexts.find_keys(h, &mut loops);
    det.inner.contexts.find_flags(h, &mut loops);
    fused.cands.sort_unstable();
    loops.cands.sort_unstable();
    (fused.cands, loops.cands)
}

#[test]
fn the_classified_pass_finds_what_each_rules_loop_finds() {
    let det = Detector::new();
    let text = examples_text(400_000);
    let (fused, loops) = events_and_loops(&det, &text);
    assert!(loops.len() > 3_000, "{}", loops.len());
    assert!(fused == loops);
    // every starting offset, so that each example sits across a block border
    for shift in 0..70 {
        let (fused, loops) = events_and_loops(&det, &text[shift..6_000 + shift]);
        assert!(fused == loops, "shift {shift}");
    }
    // dense, near-miss text: pieces of numbers, addresses, ids and keys in every order
    let pieces: &[&[u8]] = &[
        b"10.",
        b"0.",
        b"255.",
        b"1",
        b"1.255.255.255",
        b"1.2.3",
        b"123456789012",
        b"1234-",
        b"5678",
        b"i-",
        b"vpc-",
        b"0123456789abcdef0",
        b"0a1b2c3d",
        b"-",
        b":",
        b"::",
        b"fe80",
        b"2600:1f18",
        b"db8",
        b"=",
        b"bucket",
        b"name",
        b" ",
        b"\"",
        b"\n",
        b"%20",
        b"\\u201c",
        b"ip-",
        b"x",
        b".",
        b"us-east-1",
        b"table_name",
        b"--",
        b"--function-name ",
        b"---bucket ",
        b"my-fn",
        "é".as_bytes(),
    ];
    let mut seed = 0x2545_F491_4F6C_DD1D_u64;
    let mut noise = Vec::with_capacity(200_000);
    while noise.len() < 200_000 {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        noise.extend_from_slice(pieces[(seed >> 40) as usize % pieces.len()]);
    }
    let (fused, loops) = events_and_loops(&det, &noise);
    assert!(loops.len() > 200, "{}", loops.len());
    assert!(fused == loops);
    assert_eq!(events_and_loops(&det, b"").0, []);
    assert_eq!(events_and_loops(&det, b"1").0, []);
}

/// The pieces of a job tile its window, none of them empty, however many are asked for (a
/// piece past the window's end once failed the UTF-8 check's slicing).
#[test]
fn job_pieces_tile_the_window() {
    for len in [0, 1, 2, 11, 305, 599, 4289, 5401, 16_769, 100_000] {
        for asked in [0, 1, 2, 5, 19, 67, 250, 1_000] {
            let from = 7;
            let job = pool::Job::new(
                pool::Src::Borrowed(&[]),
                0,
                (from, from + len),
                false,
                asked,
                false,
            );
            let mut at = from;
            for i in 0..job.pieces() {
                let p = job.piece(i);
                assert_eq!(p.start, at, "len {len}, {asked} asked");
                assert!(
                    p.end > p.start || len == 0,
                    "len {len}, {asked} asked: {p:?}"
                );
                at = p.end;
            }
            assert_eq!(at, from + len, "len {len}, {asked} asked");
            assert!(job.pieces() <= asked.max(1));
        }
    }
}

/// A `"Buckets": [...]` list (`aws s3api list-buckets`) makes every `Name` in it a bucket,
/// however far from the key: a scan cut into parts, pieces or chunks anywhere in the list
/// finds what one scan finds (the fuzzer found names lost after a piece border), and a
/// `Name` after the list is no bucket.
#[test]
fn a_long_bucket_list_is_one_list_across_every_border() {
    use std::fmt::Write as _;
    let det = Detector::new();
    let mut text = String::from("{\n  \"Buckets\": [\n");
    for i in 0..400 {
        let _ = writeln!(
            text,
            "    {{\"Name\": \"acme-list-{i:04}\", \"CreationDate\": \"2024-01-01T00:00:00Z\"}},"
        );
    }
    text.push_str("  ],\n  \"Owner\": {\"Name\": \"not-a-bucket-name\"}\n}\n");
    let again = text.replace("acme-list", "acme-more");
    let text = format!("{text}{again}").into_bytes();
    let one: Vec<Match> = det.find_iter(&text).collect();
    let buckets = one
        .iter()
        .filter(|m| det.kind(m.kind()).name() == "s3_bucket")
        .count();
    assert_eq!(buckets, 800);
    assert!(
        !one.iter()
            .any(|m| text[m.range()].starts_with(b"not-a-bucket"))
    );
    let small = pool::Sizes {
        chunk: 5_000,
        min_read: 5_000,
        piece: 700,
    };
    for threads in 1..=3 {
        for (part, piece) in [(700, 100), (5_000, 700), (20_000, 3_000)] {
            let mut got = Vec::new();
            det.find_batches_sized(&text, threads, part, piece, |m, _| {
                got.extend_from_slice(m);
                Ok::<_, ()>(())
            })
            .unwrap();
            assert!(
                got == one,
                "batches of {part} in pieces of {piece}, {threads} threads"
            );
        }
        let mut got = Vec::new();
        det.find_read_sized(&text[..], threads, small, |m, _, _| {
            got.extend_from_slice(m);
            Ok::<_, std::io::Error>(())
        })
        .unwrap();
        assert!(got == one, "read, {threads} threads");
        let mut got = Vec::new();
        let mut scanner = StreamScanner::new(&det).threads(threads);
        for chunk in text.chunks(3_001) {
            scanner.push(chunk, &mut got);
        }
        scanner.finish(&mut got);
        assert!(got == one, "stream, {threads} threads");
        let window = Window::whole();
        let mut got = Vec::new();
        det.find_window_pieces(&text, window, threads.max(2), 1_000, &mut got);
        assert!(got == one, "pieces, {threads} threads");
    }
}

/// A reader that fails.
struct Broken;

impl std::io::Read for Broken {
    fn read(&mut self, _: &mut [u8]) -> std::io::Result<usize> {
        Err(std::io::Error::other("disk on fire"))
    }
}

/// `find_read` in small chunks and pieces (many of their borders), on one to three threads
/// and with odd read sizes: the one-shot matches, in parts that follow each other, with the
/// bytes of every match held; a read error and an error of the callback stop it.
#[test]
fn find_read_finds_what_one_shot_finds() {
    use std::io::Read as _;
    let det = Detector::new();
    let text = examples_text(120_000);
    let want: Vec<Match> = det.find_iter(&text).collect();
    assert!(want.len() > 1_000);
    let sizes = pool::Sizes {
        chunk: 9_000,
        min_read: 5_000,
        piece: 1_000,
    };
    let reads: [&'static [usize]; 3] = [&[usize::MAX], &[1, 777, 4096], &[4_999, 5_001]];
    for threads in 1..=3 {
        for r in reads {
            let input = crate::Pieces {
                rest: &text,
                sizes: r.iter().cycle(),
            };
            let (mut got, mut covered) = (Vec::new(), 0);
            det.find_read_sized(input, threads, sizes, |matches, part, held| {
                assert_eq!(part.start, covered);
                covered = part.end;
                for m in matches {
                    assert!(part.contains(&m.start()));
                    assert_eq!(held.get(m.range()), Some(&text[m.range()]));
                }
                assert_eq!(held.get(part.clone()), Some(&text[part]));
                got.extend_from_slice(matches);
                Ok::<_, std::io::Error>(())
            })
            .unwrap();
            assert!(got == want, "{threads} threads, reads {r:?}");
            assert_eq!(covered, text.len());
        }
        // an error of the callback stops the scan
        let mut calls = 0;
        let r = det.find_read_sized(&text[..], threads, sizes, |_, _, _| {
            calls += 1;
            if calls == 3 {
                Err(std::io::Error::other("stop"))
            } else {
                Ok(())
            }
        });
        assert_eq!(
            (r.map_err(|e| e.to_string()), calls),
            (Err("stop".into()), 3)
        );
    }
    // a read error is handed on, after the chunks read before it
    let failing = (&text[..50_000]).chain(Broken);
    let mut last = 0;
    let r = det.find_read_sized(failing, 2, sizes, |_, part, _| {
        last = part.end;
        Ok::<_, std::io::Error>(())
    });
    assert_eq!(r.unwrap_err().to_string(), "disk on fire");
    assert!(last > 30_000, "{last}");
    // nothing to read: one empty part
    let mut parts = Vec::new();
    det.find_read(&b""[..], 2, |m, part, _| {
        parts.push((m.len(), part));
        Ok::<_, std::io::Error>(())
    })
    .unwrap();
    assert_eq!(parts, [(0, 0..0)]);
}

#[test]
fn parallel_scans_find_what_one_thread_finds() {
    let det = Detector::new();
    let text = examples_text(1_500_000);
    let want: Vec<Match> = det.find_iter(&text).collect();
    assert!(want.len() > 10_000);
    for threads in [2, 3, 5] {
        let mut got = Vec::new();
        let window = Window::whole();
        det.find_window_par(&text, window, threads, &mut got);
        assert!(got == want, "{threads} threads");
        // in more pieces than threads, taken in turn
        let mut got = Vec::new();
        det.find_window_pieces(&text, window, threads, 300_000, &mut got);
        assert!(got == want, "{threads} threads, pieces");
        // and through a stream whose chunks are large enough to be split
        let mut scanner = StreamScanner::new(&det).threads(threads);
        let mut got = Vec::new();
        for chunk in text.chunks(700_001) {
            scanner.push(chunk, &mut got);
        }
        scanner.finish(&mut got);
        assert!(got == want, "{threads} threads, streamed");
        // and in batches, some split among threads, some not, the last one longer
        for part in [100_003, 600_000, 1_000_000, 2_000_000] {
            let mut got = Vec::new();
            let mut batches = 0;
            let mut covered = 0;
            det.find_batches_sized(&text, threads, part, 150_000, |batch, range| {
                assert_eq!(range.start, covered);
                covered = range.end;
                assert!(batch.iter().all(|m| range.contains(&m.start())));
                assert!(
                    batch
                        .iter()
                        .all(|m| got.last().is_none_or(|l: &Match| l.end <= m.start))
                );
                got.extend_from_slice(batch);
                batches += 1;
                Ok::<_, ()>(())
            })
            .unwrap();
            assert!(got == want, "{threads} threads, batches of {part}");
            assert_eq!(covered, text.len());
            // whole parts, the last one up to half as long again
            let (whole, rest) = (text.len() / part, text.len() % part);
            let want_batches = if text.len() <= part + part / 2 {
                1
            } else {
                whole + usize::from(rest > part / 2)
            };
            assert_eq!(batches, want_batches, "batches of {part}");
        }
    }
    // an error from the callback stops the search
    let mut calls = 0;
    let r = det.find_batches_sized(&text, 1, 100_000, 100_000, |_, _| {
        calls += 1;
        if calls == 3 { Err("stop") } else { Ok(()) }
    });
    assert_eq!((r, calls), (Err("stop"), 3));
}

/// `propagate` with many names (the packed prefix search) finds what a plain search for each
/// name finds.
#[test]
fn propagating_many_names_matches_a_plain_search() {
    // many names sharing prefixes, some a prefix of another (packed searches)
    let shared: Vec<String> = (0..300)
        .map(|i| match i % 3 {
            0 => format!("acme-logs-{i:04}"),
            1 => format!("acme-logs-{:04}-old", i - 1),
            _ => format!("pr{i:03}d-t"),
        })
        .collect();
    propagation_matches_a_plain_search(&shared);
    // more distinct prefixes than the packed searches take (the prefix table)
    let distinct: Vec<String> = (0..1200)
        .map(|i| match i % 3 {
            0 => format!("{:04x}-bucket-{i}", i * 37),
            1 => format!("{:04x}-bucket-{}-old", (i - 1) * 37, i - 1),
            _ => format!("t{i:05}tb"),
        })
        .collect();
    let prefixes: std::collections::HashSet<&[u8]> =
        distinct.iter().map(|n| &n.as_bytes()[..4]).collect();
    assert!(prefixes.len() > 300, "{} prefixes", prefixes.len());
    propagation_matches_a_plain_search(&distinct);
}

/// Propagating `names` over a text of them finds every whole-word occurrence, leftmost then
/// longest, as a plain substring search does; over a region of it too, however the region
/// cuts the names.
fn propagation_matches_a_plain_search(names: &[String]) {
    let kind = K::S3Bucket.id();
    let mut text = String::new();
    for i in 0..3000usize {
        let n = &names[(i * 7919) % names.len()];
        let sep = [" ", "\n", ", ", "-x ", ".com ", "/", " (", "_"][i % 8];
        text.push_str(n);
        text.push_str(sep);
    }
    let h = text.as_bytes();
    let known: Vec<(KindId, Box<[u8]>)> =
        names.iter().map(|n| (kind, n.as_bytes().into())).collect();
    // the plain search: every whole-word occurrence inside `from..to`, leftmost then longest
    let plain = |from: usize, to: usize| {
        let mut all: Vec<(usize, usize)> = Vec::new();
        for n in names {
            for (at, _) in text[from..to].match_indices(n.as_str()) {
                let (at, e) = (from + at, from + at + n.len());
                let alone = bytes::left_ok(h, at)
                    && (at == 0 || !matches!(h[at - 1], b'-' | b'.'))
                    && bytes::right_ok(h, e)
                    && !(e < h.len() && h[e] == b'-')
                    && !(e + 1 < h.len() && h[e] == b'.' && h[e + 1].is_ascii_alphanumeric());
                if alone {
                    all.push((at, e));
                }
            }
        }
        all.sort_by(|a, b| a.0.cmp(&b.0).then(b.1.cmp(&a.1)));
        let mut want: Vec<(usize, usize)> = Vec::new();
        for m in all {
            if want.last().is_none_or(|l| m.0 >= l.1) {
                want.push(m);
            }
        }
        want
    };
    let want = plain(0, h.len());
    // regions that start where a name does and end where one does, or a byte either side
    for (k, w) in want.iter().enumerate().skip(10).step_by(97).take(12) {
        let (from, to) = (w.0 + k % 3 - 1, want[k + 40].1 + k % 3 - 1);
        let got: Vec<(usize, usize)> = Detector::propagate(h, Vec::new(), &known, from, to)
            .iter()
            .map(|m| (m.start(), m.end()))
            .collect();
        assert_eq!(got, plain(from, to), "region {from}..{to}");
    }
    let got = Detector::propagate(h, Vec::new(), &known, 0, h.len());
    let got: Vec<(usize, usize)> = got.iter().map(|m| (m.start(), m.end())).collect();
    assert!(want.len() > 1000);
    assert_eq!(got, want);
    // with matches found already (every seventh occurrence): they stay, and occurrences
    // inside them are not added
    let given: Vec<Match> = want
        .iter()
        .step_by(7)
        .map(|&(start, end)| Match { start, end, kind })
        .collect();
    let got: Vec<(usize, usize)> = Detector::propagate(h, given, &known, 0, h.len())
        .iter()
        .map(|m| (m.start(), m.end()))
        .collect();
    assert_eq!(got, want);
}

/// The name an ARN gives is what splitting the ARN into its parts gives, for ARNs of every
/// service, with parts missing, empty or full of colons, and for strings barely like ARNs.
#[test]
fn the_name_of_an_arn_is_the_plain_one() {
    let services = [
        "s3", "lambda", "dynamodb", "eks", "ecs", "logs", "iam", "s", "s3x", "",
    ];
    let resources = [
        "",
        "acme-logs",
        "acme-logs/key:x",
        "function:orders-api",
        "function:orders-api:3",
        "function:",
        "table/orders/stream/2024",
        "cluster/prod",
        "log-group:/aws/lambda/x:*",
        "log-group:/aws/lambda/x",
        "b*",
        "a\\b",
    ];
    let mut arns = Vec::new();
    for service in services {
        for resource in resources {
            for (region, account) in [("", ""), ("us-east-1", "123456789012")] {
                arns.push(format!("arn:aws:{service}:{region}:{account}:{resource}"));
            }
            arns.push(format!("arn:aws:{service}:{resource}"));
            arns.push(format!("arn:aws:{service}"));
        }
    }
    let mut rng = crate::XorShift(0x51f1_5eed);
    for _ in 0..20_000 {
        let len = (rng.next() % 24) as usize;
        arns.push(
            (0..len)
                .map(|_| [':', 's', '3', '/', 'a', '*', 'f'][(rng.next() % 7) as usize])
                .collect(),
        );
    }
    let mut named = 0;
    for arn in &arns {
        let got = hosts::arn_name(arn.as_bytes());
        assert_eq!(got, hosts::arn_name_plain(arn.as_bytes()), "{arn}");
        named += usize::from(got.is_some());
    }
    assert!(named >= 30, "{named}");
}

#[test]
fn the_pass_over_underscores_and_upper_case_letters_finds_what_two_passes_find() {
    let det = Detector::new();
    let text = examples_text(300_000);
    for h in [&text[..], &text[1..7_000], &text[5..20]] {
        let mut one = Sink::default();
        det.find_underscores_and_upper(h, &mut one);
        let mut two = Sink::default();
        det.find_tokens(h, &mut |s, e| two.push(s, e, K::AwsmaskToken));
        for u in memchr::memchr_iter(b'_', h) {
            ids::cognito_pool_at(h, u, &mut two);
        }
        ids::find_upper_ids(h, &mut two);
        one.cands.sort_unstable();
        two.cands.sort_unstable();
        assert!(one.cands == two.cands);
    }
    let mut all = Sink::default();
    det.find_underscores_and_upper(&text, &mut all);
    for kind in [
        K::AwsmaskToken,
        K::CognitoPool,
        K::Route53Zone,
        K::CloudfrontDistribution,
    ] {
        let n = all.cands.iter().filter(|m| m.kind() == kind.id()).count();
        assert!(n > 10, "{kind:?}: {n}");
    }
}

#[test]
fn a_token_that_runs_into_a_resource_id_takes_it_whole() {
    // found by the `detect` fuzz target: a session token whose run of base64 went on into
    // `/i-…` ended at the `-`, and took the `i` of the instance id with it; the id lost the
    // overlap, and its digits were left in the text
    let token = "IQoJb3JpZ2luX2VjEFkaCXVzLWVhc3QtMSJHMEUCIQDx4nK7Zp0aB5cD8eF2gH9iJ3kL";
    let id = "i-005e606419b306ff7";
    let det = Detector::new();
    for text in [
        format!(r#"{{"sessionToken":"{token}Role/{id}","accountId":"1"}}"#),
        format!("aws_session_token = {token}/{id}\n"),
    ] {
        let at = text.find(id).unwrap();
        let covered = det
            .find_iter(text.as_bytes())
            .any(|m| m.start() <= at && at + id.len() <= m.end());
        assert!(covered, "{text}");
    }
    // a secret access key is 40 characters of base64: with a `-` in its run it is none
    let key = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
    assert_eq!(
        found(&format!("aws_secret_access_key = {key}\n")),
        [format!("{key}=secret_access_key")]
    );
    let text = format!("aws_secret_access_key = {}/{id}\n", &key[..20]);
    assert_eq!(found(&text), [format!("{id}=ec2_instance")]);
    // nor is one right after an access key id whose 40 characters end inside a name
    let pair = format!("AKIAIOSFODNN7EXAMPLE:{}/{id} ok", &key[..38]);
    assert_eq!(
        found(&pair),
        [
            "AKIAIOSFODNN7EXAMPLE=access_key_id".to_owned(),
            format!("{id}=ec2_instance")
        ]
    );
    let pair = format!("AKIAIOSFODNN7EXAMPLE:{key} ok");
    assert_eq!(
        found(&pair),
        [
            "AKIAIOSFODNN7EXAMPLE=access_key_id".to_owned(),
            format!("{key}=secret_access_key")
        ]
    );
}
