#!/usr/bin/env python3
"""Seeds the fuzz corpora (fuzz/corpus/<target>/), so that a fresh checkout starts fuzzing
from what earlier runs learnt, or from realistic input rather than from nothing; and saves them.

    python3 fuzz/seed.py [TEXTS...]
    python3 fuzz/seed.py --save [TARGET...]

An empty corpus gets the saved one, fuzz/corpora/<target>.tar.xz, when there is one: the
corpus of earlier runs, minimized. `--save` minimizes each corpus (`cargo fuzz cmin`, which
keeps one input for each piece of coverage) and writes it there, the same bytes for the same
files, so that the next checkout goes on where this one stopped. Otherwise the seeds are texts:

TEXTS are JSON Lines files whose records carry a "text" field (the dev corpus) or plain text
files, one seed per non-empty line; by default ../shared/corpus/dev.jsonl beside the
repository, if it is there. Every target gets the texts as they are; `messages_json` gets them
inside Messages API requests and responses, `sse` inside a streamed response (text deltas of
40 characters, then one byte that sets the chunk size). A corpus that already holds files is
left alone: libFuzzer keeps what it learnt there.
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
    paths = [pathlib.Path(p) for p in sys.argv[1:]]
    seeds = None
    for target in TARGETS:
        out = HERE / "corpus" / target
        out.mkdir(parents=True, exist_ok=True)
        if any(out.iterdir()):
            print(f"{target}: {out} already holds a corpus, left alone")
            continue
        # texts given on the command line are used as they are
        if not paths and restore(target, out):
            continue
        if seeds is None:
            seeds = seed_texts(paths)
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
