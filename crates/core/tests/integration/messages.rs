//! The Claude Messages API helpers: request bodies, response bodies and streamed answers.

use awsmask::{ErrorKind, Masker, MasterKey};
use proptest::prelude::*;
use serde_json::{Value, json};

fn masker() -> Masker {
    Masker::builder()
        .key(MasterKey::from_bytes([9; 32]))
        .build()
        .unwrap()
}

const IDS: &[&str] = &[
    "i-0123456789abcdef0",
    "vpc-0a1b2c3d",
    "sg-0123456789abcdef0",
    "10.0.1.23",
    "123456789012",
    "AKIAIOSFODNN7EXAMPLE",
];

fn request() -> Value {
    json!({
        "model": "claude-sonnet-4-5",
        "max_tokens": 1024,
        "metadata": {"user_id": "user-1"},
        "system": [{"type": "text", "text": "You help account 123456789012.",
                    "cache_control": {"type": "ephemeral"}}],
        "tools": [{"name": "aws", "description": "Runs the AWS CLI in vpc-0a1b2c3d",
                   "input_schema": {"type": "object", "properties": {
                       "command": {"type": "string", "description": "e.g. describe i-0123456789abcdef0"}}}}],
        "messages": [
            {"role": "user", "content": "Why can't i-0123456789abcdef0 reach 10.0.1.23?"},
            {"role": "assistant", "content": [
                {"type": "thinking", "thinking": "Maybe sg-0123456789abcdef0 blocks 10.0.1.23.",
                 "signature": "EqQBCkYIBhgCIkDzQ2xhdWRl"},
                {"type": "text", "text": "Let me look at AKIAIOSFODNN7EXAMPLE's rights."},
                {"type": "tool_use", "id": "toolu_01A", "name": "aws",
                 "input": {"command": "aws ec2 describe-instances --instance-ids i-0123456789abcdef0",
                           "filters": {"vpc-0a1b2c3d": ["sg-0123456789abcdef0"]}}}]},
            {"role": "user", "content": [
                {"type": "tool_result", "tool_use_id": "toolu_01A", "content": [
                    {"type": "text", "text": "{\"GroupId\": \"sg-0123456789abcdef0\"}"}]},
                {"type": "image", "source": {"type": "base64", "media_type": "image/png",
                                             "data": "iVBORw0KGgoAAAANSUhEUg=="}},
                {"type": "document", "source": {"type": "text", "media_type": "text/plain",
                                                "data": "runbook for vpc-0a1b2c3d"}}]}
        ]
    })
}

/// Every string (and member name) of `v` unmasked one by one.
fn unmask_all(m: &Masker, v: &Value) -> Value {
    match v {
        Value::String(s) => Value::String(m.unmask(s).unwrap().into_owned()),
        Value::Array(a) => Value::Array(a.iter().map(|x| unmask_all(m, x)).collect()),
        Value::Object(o) => Value::Object(
            o.iter()
                .map(|(k, x)| (m.unmask(k).unwrap().into_owned(), unmask_all(m, x)))
                .collect(),
        ),
        other => other.clone(),
    }
}

#[test]
fn a_request_leaves_with_its_identifiers_masked_and_its_structure_intact() {
    let m = masker();
    let original = request();
    let body = serde_json::to_string(&original).unwrap();
    let masked = m.mask_request_json(&body).unwrap();
    // 6 distinct identifiers in 11 places outside the thinking block
    assert_eq!(masked.total(), 11, "{:?}", masked.counts());
    let masked = masked.text();
    let v: Value = serde_json::from_str(masked).expect("valid JSON");

    // the thinking block is byte for byte what it was; no identifier is left elsewhere
    let think_raw = serde_json::to_string(&original["messages"][1]["content"][0]).unwrap();
    assert!(body.contains(&think_raw));
    assert!(masked.contains(&think_raw), "thinking block changed");
    let outside = masked.replace(&think_raw, "");
    for id in IDS {
        assert!(!outside.contains(id), "{id} left in the request");
    }
    // structure untouched
    for path in [
        "/model",
        "/max_tokens",
        "/metadata",
        "/tools/0/name",
        "/messages/1/content/2/id",
        "/messages/2/content/0/tool_use_id",
        "/messages/2/content/1",
        "/messages/1/content/0",
        "/system/0/cache_control",
    ] {
        assert_eq!(v.pointer(path), original.pointer(path), "{path}");
    }
    assert!(
        v["messages"][0]["content"]
            .as_str()
            .unwrap()
            .contains("AWS_EC2_")
    );
    // the member name in the tool input is masked too
    let filters = v["messages"][1]["content"][2]["input"]["filters"]
        .as_object()
        .unwrap();
    assert!(filters.keys().all(|k| k.starts_with("AWS_VPC_")));
    // and every string comes back exactly
    assert_eq!(unmask_all(&m, &v), original);
}

#[test]
fn the_answer_comes_back_with_the_real_values() {
    let m = masker();
    let text = "Instance i-0123456789abcdef0 in vpc-0a1b2c3d is stopped.";
    let masked_text = m.mask(text).unwrap().text().to_owned();
    let request = json!({"messages": [{"role": "assistant", "content": [{"type": "tool_use",
        "id": "t", "name": "aws",
        "input": {"ids": ["i-0123456789abcdef0"], "sg-0123456789abcdef0": true}}]}]})
    .to_string();
    let input: Value = serde_json::from_str(m.mask_request_json(&request).unwrap().text()).unwrap();
    let input = input["messages"][0]["content"][0]["input"].clone();
    let response = json!({
        "id": "msg_01", "type": "message", "role": "assistant", "model": "m",
        "content": [
            {"type": "thinking", "thinking": masked_text, "signature": "sig"},
            {"type": "text", "text": masked_text},
            {"type": "tool_use", "id": "toolu_01", "name": "aws", "input": input}],
        "stop_reason": "tool_use", "usage": {"input_tokens": 10, "output_tokens": 5}
    })
    .to_string();
    let back: Value = serde_json::from_str(&m.unmask_response_json(&response).unwrap()).unwrap();
    assert_eq!(back["content"][1]["text"], text);
    assert_eq!(
        back["content"][2]["input"],
        json!({"ids": ["i-0123456789abcdef0"], "sg-0123456789abcdef0": true})
    );
    // thinking blocks are never touched
    assert_eq!(back["content"][0]["thinking"], masked_text.as_str());
    // an error body passes as it is
    let err = r#"{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}"#;
    assert_eq!(m.unmask_response_json(err).unwrap(), err);
}

#[test]
fn tool_schema_values_and_citations_are_masked_and_come_back() {
    let m = masker();
    let request = json!({
        "tools": [{"name": "stop", "description": "Stops an instance",
                   "input_schema": {"type": "object", "properties": {
                       "instance": {"type": "string",
                                    "enum": ["i-0123456789abcdef0", "i-0fedcba9876543210"],
                                    "default": "i-0123456789abcdef0"},
                       "vpc": {"type": "string", "title": "a VPC such as vpc-0a1b2c3d",
                               "examples": ["vpc-0a1b2c3d"]}},
                     "required": ["instance"]},
                   "input_examples": [{"instance": "i-0fedcba9876543210"}]}],
        "messages": [{"role": "assistant", "content": [{"type": "text", "text": "It runs.",
            "citations": [{"type": "char_location", "cited_text": "i-0123456789abcdef0 runs",
                           "document_index": 0, "document_title": "inventory of 123456789012",
                           "start_char_index": 0, "end_char_index": 24}]}]}]
    });
    let body = request.to_string();
    let masked = m.mask_request_json(&body).unwrap();
    let masked = masked.text();
    for id in [
        "i-0123456789abcdef0",
        "i-0fedcba9876543210",
        "vpc-0a1b2c3d",
        "123456789012",
    ] {
        assert!(!masked.contains(id), "{id} left in the request");
    }
    let v: Value = serde_json::from_str(masked).unwrap();
    let schema = &v["tools"][0]["input_schema"];
    assert_eq!(schema["required"], json!(["instance"]));
    assert_eq!(schema["properties"]["instance"]["type"], "string");
    assert_eq!(unmask_all(&m, &v), request);
    // the model picks a masked enum value and cites masked text: both come back real
    let response = json!({
        "id": "msg_01", "type": "message", "role": "assistant", "model": "m",
        "content": [
            {"type": "text", "text": "Stopping it.",
             "citations": [v["messages"][0]["content"][0]["citations"][0].clone()]},
            {"type": "tool_use", "id": "toolu_01", "name": "stop",
             "input": {"instance": schema["properties"]["instance"]["enum"][1].clone()}}],
        "stop_reason": "tool_use"
    });
    let back: Value =
        serde_json::from_str(&m.unmask_response_json(&response.to_string()).unwrap()).unwrap();
    assert_eq!(
        back["content"][1]["input"]["instance"],
        "i-0fedcba9876543210"
    );
    assert_eq!(
        back["content"][0]["citations"][0],
        request["messages"][0]["content"][0]["citations"][0]
    );
}

#[test]
fn escapes_are_read_and_untouched_bodies_borrowed() {
    let m = masker();
    let body = r#"{"messages":[{"role":"user","content":"see arn:aws:s3:::acme-logs\/2024 and \u0069-0123456789abcdef0 \ud83d\ude00"}]}"#;
    let masked = m.mask_request_json(body).unwrap();
    let masked = masked.text();
    assert!(!masked.contains("acme-logs") && !masked.contains("0123456789abcdef0"));
    let v: Value = serde_json::from_str(masked).unwrap();
    assert_eq!(
        m.unmask(v["messages"][0]["content"].as_str().unwrap())
            .unwrap(),
        "see arn:aws:s3:::acme-logs/2024 and i-0123456789abcdef0 😀"
    );
    let plain = r#"{"model":"m","messages":[{"role":"user","content":"hello"}]}"#;
    let same = m.mask_request_json(plain).unwrap();
    assert_eq!((same.text(), same.total()), (plain, 0));
}

#[test]
fn malformed_bodies_are_refused_without_echoing_them() {
    let m = masker();
    for bad in [
        r#"{"messages": [{"role": "user", "content": "i-0123456789abcdef0"}"#,
        r#"{"messages": "i-0123456789abcdef0",}"#,
        "i-0123456789abcdef0",
        r#"["i-0123456789abcdef0"]"#,
        r#"{"messages":[{"role":"user","content":"i-0123456789abcdef0 \udc00"}]}"#,
    ] {
        let e = m.mask_request_json(bad).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Input, "{bad}");
        assert!(!e.to_string().contains("0123456789abcdef0"), "{e}");
        assert!(!format!("{e:?}").contains("0123456789abcdef0"), "{e:?}");
    }
    assert_eq!(
        m.unmask_response_json("{\"content\": [")
            .unwrap_err()
            .kind(),
        ErrorKind::Input
    );
}

/// One server-sent event as the Messages API writes it.
fn event(data: &Value) -> String {
    format!(
        "event: {}\ndata: {data}\n\n",
        data["type"].as_str().unwrap()
    )
}

/// A streamed answer: a thinking block, a text block in `text_pieces`, a tool_use block in
/// `json_pieces`, with pings between.
fn stream(text_pieces: &[String], json_pieces: &[String]) -> String {
    let mut s = String::new();
    s += &event(
        &json!({"type": "message_start", "message": {"id": "msg_1", "type": "message", "role": "assistant",
        "content": [], "model": "m", "usage": {"input_tokens": 3, "output_tokens": 1}}}),
    );
    s += &event(
        &json!({"type": "content_block_start", "index": 0, "content_block": {"type": "thinking", "thinking": ""}}),
    );
    s += &event(
        &json!({"type": "content_block_delta", "index": 0, "delta": {"type": "thinking_delta", "thinking": "AWS_EC2_AAAAAA is"}}),
    );
    s += &event(
        &json!({"type": "content_block_delta", "index": 0, "delta": {"type": "signature_delta", "signature": "EqQBCkYI"}}),
    );
    s += &event(&json!({"type": "content_block_stop", "index": 0}));
    s += &event(
        &json!({"type": "content_block_start", "index": 1, "content_block": {"type": "text", "text": ""}}),
    );
    for (i, p) in text_pieces.iter().enumerate() {
        s += &event(
            &json!({"type": "content_block_delta", "index": 1, "delta": {"type": "text_delta", "text": p}}),
        );
        if i == 1 {
            s += &event(&json!({"type": "ping"}));
        }
    }
    s += &event(&json!({"type": "content_block_stop", "index": 1}));
    s += &event(
        &json!({"type": "content_block_start", "index": 2, "content_block": {"type": "tool_use", "id": "toolu_1", "name": "aws", "input": {}}}),
    );
    for p in json_pieces {
        s += &event(
            &json!({"type": "content_block_delta", "index": 2, "delta": {"type": "input_json_delta", "partial_json": p}}),
        );
    }
    s += &event(&json!({"type": "content_block_stop", "index": 2}));
    s += &event(
        &json!({"type": "message_delta", "delta": {"stop_reason": "end_turn", "stop_sequence": null}, "usage": {"output_tokens": 15}}),
    );
    s += &event(&json!({"type": "message_stop"}));
    s
}

/// The text of block `index` in a stream, and whether every event's data is JSON.
fn block_text(sse: &str, index: u64, field: &str) -> String {
    let mut text = String::new();
    for ev in sse.split("\n\n").filter(|e| !e.is_empty()) {
        let data = ev
            .lines()
            .find_map(|l| l.strip_prefix("data: "))
            .expect("a data line");
        let v: Value = serde_json::from_str(data).expect("event data is JSON");
        if v["type"] == "content_block_delta" && v["index"] == index {
            text += v["delta"][field].as_str().unwrap();
        }
    }
    text
}

/// Cuts `s` into pieces at the given places (any byte, UTF-8 or not).
fn cut_bytes(s: &[u8], cuts: &[usize]) -> Vec<Vec<u8>> {
    let mut at: Vec<usize> = cuts.iter().map(|&c| c % (s.len() + 1)).collect();
    at.sort_unstable();
    at.dedup();
    let mut out = Vec::new();
    let mut last = 0;
    for c in at {
        out.push(s[last..c].to_vec());
        last = c;
    }
    out.push(s[last..].to_vec());
    out
}

fn pieces(s: &str, n: usize) -> Vec<String> {
    let chars: Vec<char> = s.chars().collect();
    chars.chunks(n).map(|c| c.iter().collect()).collect()
}

#[test]
fn a_streamed_answer_is_unmasked_whatever_the_chunks() {
    let m = masker();
    let text = "Instance i-0123456789abcdef0 in vpc-0a1b2c3d cannot reach 10.0.1.23 (sg-0123456789abcdef0).";
    let input = json!({"command": "aws ec2 describe-instances --instance-ids i-0123456789abcdef0",
                       "note": "q\"uote"});
    let masked_text = m.mask(text).unwrap().text().to_owned();
    let masked_json = m.mask(&input.to_string()).unwrap().text().to_owned();
    let sse = stream(&pieces(&masked_text, 3), &pieces(&masked_json, 5));

    let mut outputs = Vec::new();
    for cuts in [
        vec![],
        vec![1, 2, 3],
        (0..sse.len()).step_by(7).collect(),
        (0..sse.len()).collect::<Vec<_>>(),
    ] {
        let mut u = m.sse_unmasker();
        let mut out = Vec::new();
        for chunk in cut_bytes(sse.as_bytes(), &cuts) {
            out.extend(u.push(&chunk).unwrap());
        }
        out.extend(u.finish().unwrap());
        outputs.push(String::from_utf8(out).unwrap());
    }
    let out = &outputs[0];
    assert!(
        outputs.iter().all(|o| o == out),
        "the chunking changed the output"
    );
    assert_eq!(block_text(out, 1, "text"), text);
    let back: Value = serde_json::from_str(&block_text(out, 2, "partial_json")).unwrap();
    assert_eq!(back, input);
    // thinking, signatures, pings and message events pass byte for byte
    for ev in sse.split_inclusive("\n\n") {
        if !ev.contains("\"index\":1") && !ev.contains("\"index\":2") {
            assert!(out.contains(ev), "changed: {ev}");
        }
    }
    assert!(!out.contains("i-0123456789abcdef0\",\"signature"));
}

#[test]
fn the_first_words_are_not_held_back() {
    let m = masker();
    let mut u = m.sse_unmasker();
    let first = event(
        &json!({"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "The instance "}}),
    );
    let out = String::from_utf8(u.push(first.as_bytes()).unwrap()).unwrap();
    assert_eq!(out, first);
    // a possible token start is held, and sent before the block ends
    let tail = event(
        &json!({"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "is AWS_EC"}}),
    );
    let out = String::from_utf8(u.push(tail.as_bytes()).unwrap()).unwrap();
    assert_eq!(block_text(&out, 0, "text"), "is ");
    let stop = event(&json!({"type": "content_block_stop", "index": 0}));
    let out = String::from_utf8(u.push(stop.as_bytes()).unwrap()).unwrap();
    assert_eq!(block_text(&out, 0, "text"), "AWS_EC");
    assert!(out.ends_with(&stop));
    // an event cut short is kept until its end arrives, and given back by finish
    assert!(
        u.push(b"event: ping\ndata: {\"type\": \"ping\"}\n")
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        u.finish().unwrap(),
        b"event: ping\ndata: {\"type\": \"ping\"}\n"
    );
}

#[test]
fn a_streamed_citation_comes_back_with_the_real_values() {
    let m = masker();
    let quoted = "i-0123456789abcdef0 runs in vpc-0a1b2c3d";
    let citation = json!({"type": "char_location", "cited_text": quoted, "document_index": 0,
                          "document_title": "inventory of 123456789012",
                          "start_char_index": 0, "end_char_index": 40});
    let masked: Value =
        serde_json::from_str(m.mask(&citation.to_string()).unwrap().text()).unwrap();
    assert_ne!(masked, citation);
    let ev = event(&json!({"type": "content_block_delta", "index": 0,
                           "delta": {"type": "citations_delta", "citation": masked}}));
    for cut in [0, 9, ev.len() / 2, ev.len() - 1] {
        let mut u = m.sse_unmasker();
        let mut out = u.push(&ev.as_bytes()[..cut]).unwrap();
        out.extend(u.push(&ev.as_bytes()[cut..]).unwrap());
        out.extend(u.finish().unwrap());
        let out = String::from_utf8(out).unwrap();
        let data = out.lines().find_map(|l| l.strip_prefix("data: ")).unwrap();
        let v: Value = serde_json::from_str(data).unwrap();
        assert_eq!(v["delta"]["citation"], citation);
        assert!(out.starts_with("event: content_block_delta\n") && out.ends_with("\n\n"));
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn sse_unmasking_under_any_chunking_equals_unmasking_the_text(
        words in prop::collection::vec(prop_oneof![
            3 => prop::sample::select(IDS).prop_map(str::to_owned),
            3 => "[a-zA-Z .,:\\n\"\\\\é😀-]{0,8}",
            1 => Just("AWS_EC2_ZZZZZZ".to_owned()),
        ], 0..12),
        delta_cuts in prop::collection::vec(any::<usize>(), 0..10),
        byte_cuts in prop::collection::vec(any::<usize>(), 0..20),
    ) {
        let m = masker();
        let text = words.concat();
        let masked = m.mask(&text).unwrap().text().to_owned();
        // deltas cut anywhere on character boundaries
        let mut at: Vec<usize> = delta_cuts.iter().map(|c| c % (masked.len() + 1)).collect();
        at.sort_unstable();
        let mut deltas = Vec::new();
        let mut last = 0;
        for mut c in at {
            while !masked.is_char_boundary(c) { c += 1; }
            if c > last { deltas.push(masked[last..c].to_owned()); last = c; }
        }
        deltas.push(masked[last..].to_owned());
        let sse = stream(&deltas, &[]);
        let mut u = m.sse_unmasker();
        let mut out = Vec::new();
        for chunk in cut_bytes(sse.as_bytes(), &byte_cuts) {
            out.extend(u.push(&chunk).unwrap());
        }
        out.extend(u.finish().unwrap());
        let out = String::from_utf8(out).unwrap();
        prop_assert_eq!(block_text(&out, 1, "text"), m.unmask(&masked).unwrap().into_owned());
        prop_assert_eq!(block_text(&out, 1, "text"), text);
    }
}
