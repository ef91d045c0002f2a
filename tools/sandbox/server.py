"""The sandbox server a Space runs: bash, read, write, edit, upload and download over HTTP.

Standard library only, one file: the Space template copies it as it is (tools/sandbox/template/Dockerfile),
and tests start it on loopback. Every call but `GET /` needs `X-Sandbox-Authorization: Bearer <token>`,
the token the agent generated for this sandbox alone and set as the Space secret SANDBOX_TOKEN; the header
is not `Authorization`, which the Hugging Face edge reads for private Spaces. Without SANDBOX_TOKEN the
server answers nothing but 503, so a Space missing its secret is never open.

    SANDBOX_TOKEN=... python server.py [--host 0.0.0.0] [--port 7860] [--root /home/user/work]

Paths are relative to --root; absolute paths are fine (the whole box is the sandbox). A command runs in
its own session with `bash -c`; whatever it leaves behind is killed when it ends, and its output is
kept head and tail (1 MB each).
"""

from __future__ import annotations

import argparse
import hmac
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

MARK = "X-ML-Intern-Sandbox"
MAX_BODY = 512 * 1024 * 1024
MAX_JSON = 64 * 1024 * 1024
KEEP = 1_000_000
MAX_TIMEOUT_S = 24 * 3600


_running: set[int] = set()  # process groups of the commands running now (killed when the server stops)
_running_lock = threading.Lock()


class Refused(Exception):
    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status


def run_bash(command: str, cwd: Path, timeout_s: float) -> dict:
    with tempfile.TemporaryFile() as out:
        proc = subprocess.Popen(
            ["bash", "-c", command], cwd=cwd, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
            start_new_session=True, env={**os.environ, "PAGER": "cat", "GIT_PAGER": "cat", "PYTHONUNBUFFERED": "1"},
        )  # fmt: skip
        with _running_lock:
            _running.add(proc.pid)
        timed_out = False
        try:
            proc.wait(timeout_s)
        except subprocess.TimeoutExpired:
            timed_out = True
        finally:
            _kill_group(proc.pid)  # what it left behind, or all of it on a timeout
            with _running_lock:
                _running.discard(proc.pid)
        proc.wait()
        size = out.seek(0, os.SEEK_END)
        out.seek(0)
        if size <= 2 * KEEP:
            output = out.read().decode("utf-8", "replace")
        else:
            head = out.read(KEEP).decode("utf-8", "replace")
            out.seek(size - KEEP)
            omitted = f"\n... [{size - 2 * KEEP} bytes of output omitted] ...\n"
            output = head + omitted + out.read().decode("utf-8", "replace")
    return {"exit_code": None if timed_out else proc.returncode, "output": output, "timed_out": timed_out}


def _kill_group(pgid: int) -> None:
    try:
        os.killpg(pgid, signal.SIGKILL)
    except OSError:
        pass


def _atomic_write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        if path.exists():
            os.chmod(tmp, path.stat().st_mode & 0o7777)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _text(path: Path) -> str:
    if not path.is_file():
        raise Refused(404, f"{path} is not a file")
    return path.read_bytes().decode("utf-8", "replace")


def _replacement(old: str, new: str, mode: str) -> str:
    """What replaces `old`: `new`, or `new` as its own lines after or before it."""
    as_lines = new if new.endswith("\n") else new + "\n"
    if mode == "insert_after":
        return old + as_lines if old.endswith("\n") else old + "\n" + new
    if mode == "insert_before":
        return as_lines + old
    return new


def edit(path: Path, old: str, new: str, replace_all: bool, mode: str = "replace") -> int:
    if mode not in ("replace", "insert_after", "insert_before"):
        raise Refused(400, f"unknown mode {mode!r}: replace, insert_after or insert_before")
    if not old:
        raise Refused(400, "old_str is empty: give the exact text to replace")
    data = path.read_bytes() if path.is_file() else None
    if data is None:
        raise Refused(404, f"{path} is not a file")
    text = data.decode("utf-8", "surrogateescape")  # bytes that are not UTF-8 survive untouched
    count = text.count(old)
    if count == 0:
        raise Refused(409, "old_str not found: read the file and copy the text exactly")
    if count > 1 and not replace_all:
        raise Refused(409, f"old_str occurs {count} times: add context to make it unique, or set replace_all")
    changed = text.replace(old, _replacement(old, new, mode), -1 if replace_all else 1)
    _atomic_write(path, changed.encode("utf-8", "surrogateescape"))
    return count if replace_all else 1


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "ml-intern-sandbox"
    root: Path = Path.cwd()
    token: str = ""

    def log_message(self, format: str, *args: object) -> None:  # no request log on the Space's console
        pass

    def _reply(self, status: int, body: bytes, content_type: str = "application/json") -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header(MARK, "1")  # this answer is ours, not the Hugging Face edge's
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _json(self, status: int, obj: object) -> None:
        self._reply(status, json.dumps(obj).encode())

    def _authorized(self) -> None:
        if not self.token:
            raise Refused(503, "SANDBOX_TOKEN is not set: this sandbox accepts no calls")
        scheme, _, supplied = self.headers.get("X-Sandbox-Authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(supplied.encode(), self.token.encode()):
            raise Refused(401, "missing or wrong sandbox token")

    def _body(self, limit: int) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        if length > limit:
            raise Refused(413, f"body of {length} bytes is over the limit of {limit}")
        return self.rfile.read(length) if length else b""

    def _path(self, raw: object) -> Path:
        if not isinstance(raw, str) or not raw.strip() or "\0" in raw:
            raise Refused(400, "give a path (relative to the sandbox's work folder, or absolute)")
        path = Path(os.path.expanduser(raw.strip()))
        return path if path.is_absolute() else self.root / path

    def _dispatch(self) -> None:
        url = urlsplit(self.path)
        if self.command == "GET" and url.path in ("/", "/health"):
            return self._json(200, {"sandbox": "ml-intern", "root": str(self.root)})
        self._authorized()
        route = (self.command, url.path)
        if route == ("GET", "/files"):
            path = self._path(parse_qs(url.query).get("path", [""])[0])
            if not path.is_file():
                raise Refused(404, f"{path} is not a file")
            return self._reply(200, path.read_bytes(), "application/octet-stream")
        if route == ("PUT", "/files"):
            path = self._path(parse_qs(url.query).get("path", [""])[0])
            data = self._body(MAX_BODY)
            _atomic_write(path, data)
            return self._json(200, {"path": str(path), "bytes": len(data)})
        if self.command != "POST":
            raise Refused(404, f"no route {self.command} {url.path}")
        try:
            args = json.loads(self._body(MAX_JSON) or b"{}")
        except ValueError:
            raise Refused(400, "the body is not JSON") from None
        if url.path == "/bash":
            command = args.get("command")
            if not isinstance(command, str) or not command.strip():
                raise Refused(400, "give a command")
            timeout_s = min(float(args.get("timeout_s") or 120), MAX_TIMEOUT_S)
            cwd = self._path(args["cwd"]) if args.get("cwd") else self.root
            return self._json(200, run_bash(command, cwd, timeout_s))
        if url.path == "/read":
            path = self._path(args.get("path"))
            lines = _text(path).split("\n")
            if lines[-1] == "":
                lines.pop()
            start = max(int(args.get("offset") or 1), 1)
            limit = max(int(args.get("limit") or 2000), 1)
            page = [line.removesuffix("\r") for line in lines[start - 1 : start - 1 + limit]]
            return self._json(200, {"path": str(path), "lines": page, "total": len(lines)})
        if url.path == "/write":
            path = self._path(args.get("path"))
            content = args.get("content")
            if not isinstance(content, str):
                raise Refused(400, "give content (text)")
            _atomic_write(path, content.encode("utf-8"))
            return self._json(200, {"path": str(path), "bytes": len(content.encode("utf-8"))})
        if url.path == "/edit":
            path = self._path(args.get("path"))
            count = edit(path, str(args.get("old_str") or ""), str(args.get("new_str") or ""),
                         bool(args.get("replace_all")), str(args.get("mode") or "replace"))  # fmt: skip
            return self._json(200, {"path": str(path), "replacements": count})
        raise Refused(404, f"no route POST {url.path}")

    def _handle(self) -> None:
        try:
            self._dispatch()
        except Refused as exc:
            self._json(exc.status, {"error": str(exc)})
        except (OSError, ValueError, TypeError) as exc:  # a bad path, number or body: the caller's to fix
            self._json(400, {"error": f"{type(exc).__name__}: {exc}"})

    do_GET = do_POST = do_PUT = do_HEAD = _handle


def serve(host: str, port: int, root: Path, token: str) -> ThreadingHTTPServer:
    """Start serving in a thread; returns the server (its port is server.server_address[1])."""
    root.mkdir(parents=True, exist_ok=True)
    handler = type("BoundHandler", (Handler,), {"root": root.resolve(), "token": token})
    httpd = ThreadingHTTPServer((host, port), handler)
    httpd.daemon_threads = True
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    return httpd


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="ml-intern sandbox server")
    parser.add_argument("--host", default="0.0.0.0")
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT") or 7860))
    parser.add_argument("--root", default=os.environ.get("SANDBOX_ROOT") or str(Path.home() / "work"))
    args = parser.parse_args(argv)
    # Out of the commands' environment (one could still read it in /proc/<pid>/environ: it gains nothing,
    # it already runs in the box; the token keeps everyone else out).
    token = os.environ.pop("SANDBOX_TOKEN", "")
    httpd = serve(args.host, args.port, Path(args.root), token)
    print(f"listening on {args.host}:{httpd.server_address[1]}", flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        stop.wait()
    except KeyboardInterrupt:
        pass
    httpd.shutdown()
    with _running_lock:
        for pgid in list(_running):
            _kill_group(pgid)
    return 0


if __name__ == "__main__":
    sys.exit(main())
