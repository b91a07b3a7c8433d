#!/usr/bin/env python3
"""Seeds the fuzz corpora (fuzz/corpus/<target>/), so that a fresh checkout starts fuzzing
from what earlier runs learnt, or from realistic input rather than from nothing; and saves them.

    python3 fuzz/seed.py [TEXTS...]
    python3 fuzz/seed.py --save [TARGET...]
    python3 fuzz/seed.py --add [TARGET...] [TEXTS...]

An empty corpus gets the saved one, fuzz/corpora/<target>.tar.xz, when there is one: the
corpus of earlier runs, minimized. `--save` minimizes each corpus (`cargo fuzz cmin`, which
keeps one input for each piece of coverage) and writes it there, the same bytes for the same
files, so that the next checkout goes on where this one stopped. Otherwise the seeds are texts:

TEXTS are JSON Lines files whose records carry a "text" field (the dev corpus) or plain text
files, one seed per non-empty line; by default ../shared/corpus/dev.jsonl beside the
repository, if it is there. Every target gets the texts as they are; `messages_json` gets them
inside Messages API requests and responses, `sse` inside a streamed response (text deltas of
40 characters, thinking, tool use and citation events, then one byte that sets the chunk
size). A corpus that already holds files is left alone: libFuzzer keeps what it learnt there.
`--add` writes the text seeds into the corpora of the targets named (all by default) even
when they hold files: new seed shapes for a corpus that goes on from earlier runs.
"""

import io
import json
import pathlib
import subprocess
import sys
import tarfile

HERE = pathlib.Path(__file__).resolve().parent
TARGETS = ["detect", "round_trip", "stream_unmask", "mask_stream", "messages_json", "sse"]
SAVED = HERE / "corpora"
MAX_LEN = 8192


def save(targets):
    """Minimizes each target's corpus and writes it to SAVED/<target>.tar.xz."""
    SAVED.mkdir(exist_ok=True)
    for target in targets:
        corpus = HERE / "corpus" / target
        if not corpus.is_dir() or not any(corpus.iterdir()):
            sys.exit(f"{target}: no corpus in {corpus} to save")
        cmin = ["cargo", "+nightly", "fuzz", "cmin", "-O", target, str(corpus)]
        subprocess.run(cmin + ["--", f"-max_len={MAX_LEN}"], cwd=HERE, check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        files = sorted(f for f in corpus.iterdir() if f.is_file())
        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode="w:xz", preset=9) as tar:
            for f in files:
                data = f.read_bytes()
                info = tarfile.TarInfo(f"{target}/{f.name}")
                info.size, info.mode = len(data), 0o644
                tar.addfile(info, io.BytesIO(data))
        out = SAVED / f"{target}.tar.xz"
        out.write_bytes(buf.getvalue())
        print(f"{target}: {len(files)} inputs saved in {out} ({out.stat().st_size} bytes)")


def restore(target, out):
    """Unpacks the saved corpus of `target` into `out`; False when there is none."""
    saved = SAVED / f"{target}.tar.xz"
    if not saved.exists():
        return False
    n = 0
    with tarfile.open(saved, mode="r:xz") as tar:
        for member in tar.getmembers():
            name = pathlib.PurePosixPath(member.name)
            # only plain files directly under the target's own directory
            if not member.isfile() or name.parent != pathlib.PurePosixPath(target):
                continue
            (out / name.name).write_bytes(tar.extractfile(member).read())
            n += 1
    print(f"{target}: {n} inputs of earlier runs in {out}")
    return True


def texts(paths):
    for path in paths:
        for line in path.read_text(encoding="utf-8").splitlines():
            if not line.strip():
                continue
            if path.suffix == ".jsonl":
                text = json.loads(line).get("text")
                if isinstance(text, str) and text:
                    yield text
            else:
                yield line


def request(i, text):
    """A Messages API body around `text`, in one of the shapes whose strings the helpers
    pick out by where they sit: requests with text, tools, tool use and results, documents,
    citations, thinking and blocks of unknown types, and responses."""
    shape = i % 9
    if shape == 0:
        return {
            "model": "claude",
            "max_tokens": 100,
            "system": "You help with AWS.",
            "messages": [{"role": "user", "content": text}],
        }
    if shape == 1:
        return {
            "model": "claude",
            "messages": [
                {"role": "user", "content": [{"type": "text", "text": text}]},
                {"role": "assistant", "content": "ok"},
            ],
        }
    if shape == 2:
        return {
            "id": "msg_1",
            "type": "message",
            "content": [{"type": "text", "text": text}],
            "stop_reason": "end_turn",
        }
    if shape == 3:
        return {
            "model": "claude",
            "tools": [
                {
                    "name": "aws",
                    "description": text,
                    "input_schema": {
                        "type": "object",
                        "title": "AWS call",
                        "properties": {
                            "id": {"type": "string", "enum": [text[:40], "none"], "default": "none"},
                            "args": {"type": "array", "items": {"type": "string", "examples": [text[-40:]]}},
                            "enum": {"type": "object", "const": {"k": text[:20]}},
                        },
                        "required": ["id"],
                    },
                    "input_examples": [{"id": text[:40]}],
                },
                {"type": "web_search_20250305", "name": "web_search", "max_uses": 2},
            ],
            "messages": [{"role": "user", "content": "go"}],
        }
    if shape == 4:
        return {
            "model": "claude",
            "messages": [
                {"role": "assistant", "content": [
                    {"type": "thinking", "thinking": text, "signature": "EqQBCkYI"},
                    {"type": "tool_use", "id": "toolu_1", "name": "aws",
                     "input": {"command": text, text[:24]: [text[-24:], 1, None]}},
                ]},
                {"role": "user", "content": [
                    {"type": "tool_result", "tool_use_id": "toolu_1", "content": text},
                    {"type": "tool_result", "tool_use_id": "toolu_2", "is_error": True,
                     "content": [{"type": "text", "text": text},
                                 {"type": "image", "source": {"type": "base64", "media_type": "image/png",
                                                              "data": "iVBORw0KGgo="}}]},
                ]},
            ],
        }
    if shape == 5:
        return {
            "model": "claude",
            "messages": [{"role": "user", "content": [
                {"type": "document", "title": text[:30], "context": text[-30:],
                 "source": {"type": "text", "media_type": "text/plain", "data": text}},
                {"type": "document", "source": {"type": "content",
                                                "content": [{"type": "text", "text": text}]}},
                {"type": "search_result", "source": "https://example.com", "title": "t",
                 "content": [{"type": "text", "text": text}]},
            ]}],
        }
    if shape == 6:
        return {
            "model": "claude",
            "messages": [{"role": "assistant", "content": [
                {"type": "text", "text": "It says so.",
                 "citations": [{"type": "char_location", "cited_text": text, "document_index": 0,
                                "document_title": text[:30], "start_char_index": 0,
                                "end_char_index": len(text)}]},
                {"type": "redacted_thinking", "data": "opaque"},
                {"type": "future_block", "id": "x", "body": {"note": text}},
            ]}],
        }
    if shape == 7:
        return {
            "id": "msg_1",
            "type": "message",
            "role": "assistant",
            "content": [
                {"type": "thinking", "thinking": text, "signature": "sig"},
                {"type": "text", "text": text,
                 "citations": [{"type": "web_search_result_location", "url": "https://example.com",
                                "title": text[:30], "cited_text": text, "encrypted_index": "Eo8BCi"}]},
                {"type": "tool_use", "id": "toolu_1", "name": "aws", "input": {"q": text}},
            ],
            "stop_reason": "tool_use",
        }
    return {"type": "error", "error": {"type": "invalid_request_error", "message": text}}


def sse_event(data):
    return "event: " + data["type"] + "\ndata: " + json.dumps(data) + "\n\n"


def stream(i, text):
    """A streamed response whose text deltas make up `text` (and in every other one a
    thinking block, the same text as a tool's input in JSON deltas and a citation), then a
    chunk-size byte."""
    events = [sse_event({"type": "message_start", "message": {"content": []}})]
    index = 0
    if i % 2:
        events.append(sse_event({"type": "content_block_start", "index": 0,
                                 "content_block": {"type": "thinking", "thinking": ""}}))
        events.append(sse_event({"type": "content_block_delta", "index": 0,
                                 "delta": {"type": "thinking_delta", "thinking": text[:40]}}))
        events.append(sse_event({"type": "content_block_delta", "index": 0,
                                 "delta": {"type": "signature_delta", "signature": "EqQB"}}))
        events.append(sse_event({"type": "content_block_stop", "index": 0}))
        index = 1
    events.append(sse_event({"type": "content_block_start", "index": index,
                             "content_block": {"type": "text", "text": ""}}))
    for k in range(0, len(text), 40):
        events.append(sse_event({"type": "content_block_delta", "index": index,
                                 "delta": {"type": "text_delta", "text": text[k : k + 40]}}))
    if i % 2:
        events.append(sse_event({"type": "content_block_delta", "index": index, "delta": {
            "type": "citations_delta", "citation": {"type": "char_location", "cited_text": text[:60],
                                                    "document_index": 0, "document_title": "doc"}}}))
    events.append(sse_event({"type": "content_block_stop", "index": index}))
    if i % 2:
        index += 1
        events.append(sse_event({"type": "content_block_start", "index": index, "content_block": {
            "type": "tool_use", "id": "toolu_1", "name": "aws", "input": {}}}))
        partial = json.dumps({"command": text})
        for k in range(0, len(partial), 25):
            events.append(sse_event({"type": "content_block_delta", "index": index, "delta": {
                "type": "input_json_delta", "partial_json": partial[k : k + 25]}}))
        events.append(sse_event({"type": "content_block_stop", "index": index}))
    events.append(sse_event({"type": "message_delta", "delta": {"stop_reason": "end_turn"}}))
    events.append(sse_event({"type": "message_stop"}))
    return "".join(events).encode() + bytes([i % 7])


def fit(make, text):
    """`make(text)`, with `text` cut short until the seed fits in `MAX_LEN` bytes (libFuzzer
    would cut it anywhere, leaving JSON that is not)."""
    data = make(text)
    while len(data) > MAX_LEN and text:
        text = text[: len(text) * 2 // 3]
        data = make(text)
    return data


def seed_texts(paths):
    """The seeds from `paths`, or from the dev corpus when none are given."""
    if not paths:
        default = HERE.parent.parent / "shared" / "corpus" / "dev.jsonl"
        if not default.exists():
            sys.exit(f"no texts given, and {default} is not there")
        paths = [default]
    seeds = list(texts(paths))
    if not seeds:
        sys.exit("the texts given hold no seeds")
    return seeds


def main():
    if sys.argv[1:2] == ["--save"]:
        save(sys.argv[2:] or TARGETS)
        return
    add = sys.argv[1:2] == ["--add"]
    args = sys.argv[2:] if add else sys.argv[1:]
    targets = [a for a in args if a in TARGETS] or TARGETS
    paths = [pathlib.Path(p) for p in args if p not in TARGETS]
    seeds = None
    for target in targets:
        out = HERE / "corpus" / target
        out.mkdir(parents=True, exist_ok=True)
        if any(out.iterdir()) and not add:
            print(f"{target}: {out} already holds a corpus, left alone")
            continue
        # texts given on the command line are used as they are
        if not add and not paths and restore(target, out):
            continue
        if seeds is None:
            seeds = seed_texts(paths)
        for i, text in enumerate(seeds):
            if target == "messages_json":
                data = fit(lambda t: json.dumps(request(i, t), ensure_ascii=i % 2 == 0).encode(), text)
            elif target == "sse":
                data = fit(lambda t: stream(i, t), text)
            else:
                data = text.encode()
            (out / f"seed-{i:05d}").write_bytes(data)
        print(f"{target}: {len(seeds)} seeds in {out}")


if __name__ == "__main__":
    main()
