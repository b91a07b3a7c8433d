#!/usr/bin/env python3
"""Seeds the fuzz corpora (fuzz/corpus/<target>/) from texts, so that a fresh checkout starts
fuzzing from realistic input rather than from nothing.

    python3 fuzz/seed.py [TEXTS...]

TEXTS are JSON Lines files whose records carry a "text" field (the dev corpus) or plain text
files, one seed per non-empty line; by default ../shared/corpus/dev.jsonl beside the
repository, if it is there. Every target gets the texts as they are; `messages_json` gets them
inside Messages API requests and responses, `sse` inside a streamed response (text deltas of
40 characters, then one byte that sets the chunk size). A corpus that already holds files is
left alone: libFuzzer keeps what it learnt there.
"""

import json
import pathlib
import sys

HERE = pathlib.Path(__file__).resolve().parent
TARGETS = ["detect", "round_trip", "stream_unmask", "mask_stream", "messages_json", "sse"]


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
    """A Messages API body around `text`, in one of three shapes."""
    if i % 3 == 0:
        return {
            "model": "claude",
            "max_tokens": 100,
            "system": "You help with AWS.",
            "messages": [{"role": "user", "content": text}],
        }
    if i % 3 == 1:
        return {
            "model": "claude",
            "messages": [
                {"role": "user", "content": [{"type": "text", "text": text}]},
                {"role": "assistant", "content": "ok"},
            ],
        }
    return {
        "id": "msg_1",
        "type": "message",
        "content": [{"type": "text", "text": text}],
        "stop_reason": "end_turn",
    }


def stream(i, text):
    """A streamed response whose text deltas make up `text`, then a chunk-size byte."""
    events = ['event: message_start\ndata: {"type":"message_start","message":{"content":[]}}\n\n']
    for k in range(0, len(text), 40):
        delta = {
            "type": "content_block_delta",
            "index": 0,
            "delta": {"type": "text_delta", "text": text[k : k + 40]},
        }
        events.append("event: content_block_delta\ndata: " + json.dumps(delta) + "\n\n")
    events.append('event: message_stop\ndata: {"type":"message_stop"}\n\n')
    return "".join(events).encode() + bytes([i % 7])


def main():
    paths = [pathlib.Path(p) for p in sys.argv[1:]]
    if not paths:
        default = HERE.parent.parent / "shared" / "corpus" / "dev.jsonl"
        if not default.exists():
            sys.exit(f"no texts given, and {default} is not there")
        paths = [default]
    seeds = list(texts(paths))
    if not seeds:
        sys.exit("the texts given hold no seeds")
    for target in TARGETS:
        out = HERE / "corpus" / target
        out.mkdir(parents=True, exist_ok=True)
        if any(out.iterdir()):
            print(f"{target}: {out} already holds a corpus, left alone")
            continue
        for i, text in enumerate(seeds):
            if target == "messages_json":
                data = json.dumps(request(i, text), ensure_ascii=i % 2 == 0).encode()
            elif target == "sse":
                data = stream(i, text)
            else:
                data = text.encode()
            (out / f"seed-{i:05d}").write_bytes(data)
        print(f"{target}: {len(seeds)} seeds in {out}")


if __name__ == "__main__":
    main()
