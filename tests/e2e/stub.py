"""A stand-in for the Claude Messages API, for the proxy's end-to-end tests.

It speaks just enough of the API for the official SDKs: `POST /v1/messages` (JSON, or
server-sent events in the documented order when `"stream": true`),
`POST /v1/messages/count_tokens` and `GET /v1/models`. Its answers echo the text it
received, so a test sees what went through the proxy both ways; every request is recorded
byte for byte. Streamed text is cut into deltas of three characters, and each event is
written in two pieces, so tokens are split across deltas and across network chunks.
"""

from __future__ import annotations

import json
import ssl
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Stub:
    """Runs the stub on a free port of 127.0.0.1 in a thread."""

    def __init__(self, tls: tuple[str, str] | None = None) -> None:
        """``tls``: a certificate and key file to serve HTTPS with."""
        self.received: list[dict] = []
        self.lock = threading.Lock()
        # when set, a streamed answer stops after its first text until the test opens this
        # gate (or 10 seconds pass); `gate_opened` tells which
        self.gate: threading.Event | None = None
        self.gate_opened = False
        # characters of text per streamed delta
        self.delta_size = 3
        # when set, the answer's text (instead of the echo)
        self.answer_text: str | None = None
        stub = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # headers and body go out in separate writes: without this, Nagle's algorithm
            # and the client's delayed ACK add 40 ms to every answer
            disable_nagle_algorithm = True

            def log_message(self, *args: object) -> None:  # quiet
                pass

            def do_GET(self) -> None:
                stub.record(self, b"")
                if self.path.startswith("/v1/models"):
                    self.send_json(200, {"data": [{"type": "model", "id": "stub-model",
                                                   "display_name": "Stub", "created_at": "2025-01-01T00:00:00Z"}],
                                         "has_more": False, "first_id": "stub-model", "last_id": "stub-model"})
                else:
                    self.send_json(404, {"type": "error", "error": {"type": "not_found_error", "message": "no"}})

            def do_POST(self) -> None:
                n = int(self.headers.get("content-length", "0"))
                raw = self.rfile.read(n)
                stub.record(self, raw)
                route = self.path.split("?")[0].rstrip("/")
                if route not in ("/v1/messages", "/v1/messages/count_tokens"):
                    self.send_json(200, {"type": "echo", "bytes": n})
                    return
                body = json.loads(raw)
                if self.path.startswith("/v1/messages/count_tokens"):
                    self.send_json(200, {"input_tokens": len(raw) // 4})
                    return
                message = answer(body)
                if stub.answer_text is not None:
                    message["content"] = [{"type": "text", "text": stub.answer_text}]
                if body.get("stream"):
                    self.send_stream(message)
                else:
                    self.send_json(200, message)

            def send_json(self, status: int, obj: dict) -> None:
                data = json.dumps(obj).encode()
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def send_stream(self, message: dict) -> None:
                self.send_response(200)
                self.send_header("content-type", "text/event-stream; charset=utf-8")
                self.send_header("cache-control", "no-cache")
                self.send_header("transfer-encoding", "chunked")
                self.end_headers()
                for event in stream_events(message, stub.delta_size):
                    data = event.encode()
                    cut = len(data) // 2 + 1
                    for piece in (data[:cut], data[cut:]):
                        self.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
                        self.wfile.flush()
                        time.sleep(0.001)
                    if stub.gate is not None and '"text_delta"' in event:
                        stub.gate_opened = stub.gate.wait(10)
                        stub.gate = None
                self.wfile.write(b"0\r\n\r\n")
                self.wfile.flush()

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        scheme = "http"
        if tls is not None:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(*tls)
            self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
            scheme = "https"
        self.url = "%s://127.0.0.1:%d" % (scheme, self.server.server_address[1])
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def record(self, handler: BaseHTTPRequestHandler, raw: bytes) -> None:
        with self.lock:
            self.received.append({"method": handler.command, "path": handler.path,
                                  "headers": {k.lower(): v for k, v in handler.headers.items()}, "body": raw})

    def count(self) -> int:
        with self.lock:
            return len(self.received)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def texts(content: object) -> list[str]:
    """The text in a message's content, tool results included."""
    if isinstance(content, str):
        return [content]
    out: list[str] = []
    for block in content or []:
        if block.get("type") == "text":
            out.append(block["text"])
        elif block.get("type") == "tool_result":
            out.extend(texts(block.get("content")))
    return out


def answer(body: dict) -> dict:
    """The stub's answer: the user's last message echoed; a tool call when asked for one; a
    thinking block when thinking is on."""
    last = body["messages"][-1]
    echo = "\n".join(texts(last["content"]))
    content: list[dict] = []
    if body.get("thinking"):
        content.append({"type": "thinking", "thinking": "Thinking about " + echo,
                        "signature": "c2lnbmF0dXJlLW9mLXRoZS1zdHVi"})
    content.append({"type": "text", "text": "You said: " + echo})
    stop = "end_turn"
    if body.get("tools") and "USE_TOOL" in echo:
        content.append({"type": "tool_use", "id": "toolu_stub_1", "name": body["tools"][0]["name"],
                        "input": {"command": echo, "targets": [w for w in echo.split() if "_" in w]}})
        stop = "tool_use"
    return {"id": "msg_stub_1", "type": "message", "role": "assistant", "model": body["model"],
            "content": content, "stop_reason": stop, "stop_sequence": None,
            "usage": {"input_tokens": 10, "output_tokens": 20}}


def sse(data: dict) -> str:
    return "event: %s\ndata: %s\n\n" % (data["type"], json.dumps(data))


def stream_events(message: dict, delta_size: int = 3) -> list[str]:
    """`message` as the documented event sequence."""
    start = dict(message, content=[], stop_reason=None, usage={"input_tokens": 10, "output_tokens": 1})
    events = [sse({"type": "message_start", "message": start})]
    for i, block in enumerate(message["content"]):
        kind = block["type"]
        if kind == "thinking":
            events.append(sse({"type": "content_block_start", "index": i,
                               "content_block": {"type": "thinking", "thinking": "", "signature": ""}}))
            events.append(sse({"type": "content_block_delta", "index": i,
                               "delta": {"type": "thinking_delta", "thinking": block["thinking"]}}))
            events.append(sse({"type": "content_block_delta", "index": i,
                               "delta": {"type": "signature_delta", "signature": block["signature"]}}))
        elif kind == "text":
            events.append(sse({"type": "content_block_start", "index": i,
                               "content_block": {"type": "text", "text": ""}}))
            text = block["text"]
            for k in range(0, len(text), delta_size):
                events.append(sse({"type": "content_block_delta", "index": i,
                                   "delta": {"type": "text_delta", "text": text[k:k + delta_size]}}))
                if k == 3:
                    events.append(sse({"type": "ping"}))
        elif kind == "tool_use":
            events.append(sse({"type": "content_block_start", "index": i,
                               "content_block": {"type": "tool_use", "id": block["id"],
                                                 "name": block["name"], "input": {}}}))
            js = json.dumps(block["input"])
            for k in range(0, len(js), 4):
                events.append(sse({"type": "content_block_delta", "index": i,
                                   "delta": {"type": "input_json_delta", "partial_json": js[k:k + 4]}}))
        events.append(sse({"type": "content_block_stop", "index": i}))
    events.append(sse({"type": "message_delta",
                       "delta": {"stop_reason": message["stop_reason"], "stop_sequence": None},
                       "usage": {"output_tokens": 20}}))
    events.append(sse({"type": "message_stop"}))
    return events
