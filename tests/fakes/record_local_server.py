"""Record a real local server's raw answer as a fixture for tests/fakes/openai_server.py (`recorded(NAME)`).

    python tests/fakes/record_local_server.py http://127.0.0.1:8080/v1 NAME request.json

request.json is the chat-completions body to send (messages, tools, stream...). Writes
tests/fakes/recorded/NAME.body (the body's bytes, as they came) and NAME.json (status, content type, the
request, the server and when). Not a test: run by hand against a server you started.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import httpx

OUT = Path(__file__).resolve().parent / "recorded"


def record(base_url: str, name: str, request: dict, note: str = "") -> dict:
    with httpx.Client(timeout=httpx.Timeout(1800, connect=10)) as client:
        started = time.monotonic()
        response = client.post(base_url.rstrip("/") + "/chat/completions", json=request)
        body = response.content
    meta = {
        "status": response.status_code,
        "content_type": response.headers.get("content-type", "").split(";")[0],
        "server": base_url,
        "note": note,
        "seconds": round(time.monotonic() - started, 1),
        "request": request,
    }
    OUT.mkdir(exist_ok=True)
    (OUT / f"{name}.body").write_bytes(body)
    (OUT / f"{name}.json").write_text(json.dumps(meta, indent=1) + "\n")
    return meta


if __name__ == "__main__":
    url, fixture, request_file = sys.argv[1:4]
    print(record(url, fixture, json.loads(Path(request_file).read_text()), " ".join(sys.argv[4:])))
