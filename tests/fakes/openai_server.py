"""A small OpenAI-compatible chat server on loopback, for tests of the real litellm path.

    with FakeOpenAI([reply(...), error(429, retry_after=0)]) as server:
        os.environ["VLLM_BASE_URL"] = server.base_url   # then --model vllm/any-name

Each request to /v1/chat/completions takes the next scripted answer; requests are recorded
(server.requests) with their JSON body, headers and arrival time (`at`, time.time()). /v1/models lists `models`.

`recorded(name)` replays a raw response a real local server gave (tests/fakes/recorded/NAME: the status line's
code, the content type and the body exactly as they came, streamed SSE included), byte for byte. `routes` answer
other paths with JSON (a local server's own API: llama.cpp /props, Ollama /api/show, LM Studio /api/v0/...),
keyed "GET /props" or "POST /api/show".
"""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

RECORDED = Path(__file__).resolve().parent / "recorded"


def reply(
    content: str = "",
    tool_calls: list[dict[str, Any]] | None = None,
    prompt_tokens: int = 100,
    completion_tokens: int = 20,
) -> dict[str, Any]:
    return {"content": content, "tool_calls": tool_calls or [], "usage": (prompt_tokens, completion_tokens)}


def recorded(name: str) -> dict[str, Any]:
    """A raw response recorded from a real server: tests/fakes/recorded/NAME.json holds the status, the content
    type and what was recorded; NAME.body holds the body's bytes."""
    meta = json.loads((RECORDED / f"{name}.json").read_text())
    return {"raw": (RECORDED / f"{name}.body").read_bytes(), **meta}


def error(
    status: int, message: str = "error", retry_after: float | None = None, code: str | None = None
) -> dict[str, Any]:
    return {"status": status, "message": message, "retry_after": retry_after, "code": code}


class FakeOpenAI:
    def __init__(
        self,
        script: list[dict[str, Any]],
        models: list[str] | None = None,
        routes: dict[str, Any] | None = None,
        model_fields: dict[str, Any] | None = None,
    ):
        self.script = list(script)
        self.models = models or ["test-model"]
        self.routes = routes or {}
        self.model_fields = model_fields or {}  # extra fields of each /v1/models entry (vLLM's max_model_len)
        self.requests: list[dict[str, Any]] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _json(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self):
                if f"GET {self.path}" in outer.routes:
                    outer.requests.append({"path": self.path, "method": "GET", "at": time.time()})
                    self._json(200, outer.routes[f"GET {self.path}"])
                elif self.path.rstrip("/").endswith("/models"):
                    entries = [{"id": m, "object": "model", **outer.model_fields} for m in outer.models]
                    self._json(200, {"object": "list", "data": entries})
                else:
                    self._json(404, {"error": {"message": "not found"}})

            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length) or b"{}")
                if f"POST {self.path}" in outer.routes:
                    outer.requests.append({"path": self.path, "method": "POST", "body": body, "at": time.time()})
                    self._json(200, outer.routes[f"POST {self.path}"])
                    return
                if not self.path.rstrip("/").endswith("/chat/completions"):  # e.g. Ollama's /api/show: not here
                    self._json(404, {"error": {"message": "not found"}})
                    return
                outer.requests.append(
                    {"path": self.path, "body": body, "headers": dict(self.headers), "at": time.time()}
                )
                if not outer.script:
                    self._json(500, {"error": {"message": "fake server script exhausted"}})
                    return
                step = outer.script.pop(0)
                if "raw" in step:  # a real server's response, replayed byte for byte
                    self.send_response(step.get("status", 200))
                    self.send_header("Content-Type", step.get("content_type", "text/event-stream"))
                    self.send_header("Content-Length", str(len(step["raw"])))
                    self.end_headers()
                    self.wfile.write(step["raw"])
                    self.wfile.flush()
                    return
                if "status" in step:
                    headers = {"retry-after": str(step["retry_after"])} if step.get("retry_after") is not None else {}
                    self._json(
                        step["status"],
                        {"error": {"message": step["message"], "type": "error", "code": step.get("code")}},
                        headers,
                    )
                    return
                if body.get("stream"):
                    self._stream(body, step)
                else:
                    self._json(200, self._completion(body, step))

            def _completion(self, body, step):
                calls = [
                    {
                        "id": c["id"],
                        "type": "function",
                        "function": {"name": c["name"], "arguments": c.get("raw") or json.dumps(c["args"])},
                    }
                    for c in step["tool_calls"]
                ]
                message = {"role": "assistant", "content": step["content"] or None}
                if calls:
                    message["tool_calls"] = calls
                p, c = step["usage"]
                return {
                    "id": "cmpl-1",
                    "object": "chat.completion",
                    "created": 0,
                    "model": body.get("model"),
                    "choices": [{"index": 0, "message": message, "finish_reason": "tool_calls" if calls else "stop"}],
                    "usage": {"prompt_tokens": p, "completion_tokens": c, "total_tokens": p + c},
                }

            def _stream(self, body, step):
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.end_headers()

                def send(obj):
                    self.wfile.write(f"data: {json.dumps(obj)}\n\n".encode())
                    self.wfile.flush()

                base = {"id": "cmpl-1", "object": "chat.completion.chunk", "created": 0, "model": body.get("model")}
                for word in (step["content"] or "").split(" ") if step["content"] else []:
                    send(
                        {
                            **base,
                            "choices": [
                                {
                                    "index": 0,
                                    "delta": {"role": "assistant", "content": word + " "},
                                    "finish_reason": None,
                                }
                            ],
                        }
                    )
                for i, c in enumerate(step["tool_calls"]):
                    args = c.get("raw") or json.dumps(c["args"])
                    half = len(args) // 2
                    send(
                        {
                            **base,
                            "choices": [
                                {
                                    "index": 0,
                                    "delta": {
                                        "tool_calls": [
                                            {
                                                "index": i,
                                                "id": c["id"],
                                                "type": "function",
                                                "function": {"name": c["name"], "arguments": args[:half]},
                                            }
                                        ]
                                    },
                                    "finish_reason": None,
                                }
                            ],
                        }
                    )
                    send(
                        {
                            **base,
                            "choices": [
                                {
                                    "index": 0,
                                    "delta": {"tool_calls": [{"index": i, "function": {"arguments": args[half:]}}]},
                                    "finish_reason": None,
                                }
                            ],
                        }
                    )
                finish = "tool_calls" if step["tool_calls"] else "stop"
                send({**base, "choices": [{"index": 0, "delta": {}, "finish_reason": finish}]})
                p, c = step["usage"]
                send(
                    {
                        **base,
                        "choices": [],
                        "usage": {"prompt_tokens": p, "completion_tokens": c, "total_tokens": p + c},
                    }
                )
                self.wfile.write(b"data: [DONE]\n\n")
                self.wfile.flush()

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.base_url = f"http://127.0.0.1:{self.port}/v1"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> FakeOpenAI:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()
