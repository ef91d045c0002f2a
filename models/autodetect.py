"""Find a local OpenAI-compatible model server (Ollama, llama.cpp, vLLM, LM Studio) when no provider is set.

Loopback only, all servers probed in parallel, ~300 ms in all; plain asyncio sockets so nothing heavy is
imported. A remote provider is never picked silently: only servers on this machine are considered.
ML_INTERN_PROBE_DEFAULT_PORTS=0 probes only the servers named by their variable (the test suite sets it, so a
server that happens to run on this machine cannot change a test's result).
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import os
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

from models.factory import LOCAL_SERVERS

BUDGET_S = 0.3


def budget() -> float:
    """ML_INTERN_DETECT_TIMEOUT_S raises the per-probe budget on a slow or loaded machine."""
    return float(os.environ.get("ML_INTERN_DETECT_TIMEOUT_S") or BUDGET_S)


@dataclass(frozen=True)
class LocalServer:
    provider: str  # ollama | vllm | llamacpp | lm_studio
    base_url: str
    models: tuple[str, ...]

    @property
    def model_id(self) -> str:
        return f"{self.provider}/{self.models[0]}"


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def candidates() -> list[tuple[str, str]]:
    """(provider, base URL) pairs to probe: each server's env var if it points at loopback, else its usual port
    (unless ML_INTERN_PROBE_DEFAULT_PORTS=0)."""
    defaults = os.environ.get("ML_INTERN_PROBE_DEFAULT_PORTS", "1") != "0"
    found = []
    for provider, (var, default) in LOCAL_SERVERS.items():
        url = os.environ.get(var) or (default if defaults else "")
        if url and _is_loopback(urlsplit(url).hostname or ""):
            found.append((provider, url.rstrip("/")))
    return found


async def _get_json(url: str, timeout: float) -> dict | None:
    parts = urlsplit(url)
    host = parts.hostname or "127.0.0.1"
    if host == "localhost":
        host = "127.0.0.1"
    port = parts.port or 80
    try:
        reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port, family=socket.AF_INET), timeout)
    except (TimeoutError, OSError):
        return None
    try:
        request = f"GET {parts.path or '/'} HTTP/1.0\r\nHost: {host}:{port}\r\nAccept: application/json\r\n\r\n"
        writer.write(request.encode())
        await writer.drain()
        # a server that accepted the connection exists: give its answer a little longer than the connect
        raw = await asyncio.wait_for(_read_until_close(reader), timeout * 3)
    except (TimeoutError, OSError):
        return None
    finally:
        writer.close()
    head, _, body = raw.partition(b"\r\n\r\n")
    if not head.startswith(b"HTTP/") or b" 200 " not in head.split(b"\r\n", 1)[0] + b" ":
        return None
    try:
        return json.loads(body)
    except ValueError:
        return None


async def _read_until_close(reader: asyncio.StreamReader, limit: int = 1 << 20) -> bytes:
    """HTTP/1.0: the answer ends when the server closes (headers and body may come in separate packets)."""
    chunks, size = [], 0
    while size < limit:
        chunk = await reader.read(65536)
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    return b"".join(chunks)


async def _probe(provider: str, base_url: str, timeout: float) -> LocalServer | None:
    data = await _get_json(base_url + "/models", timeout)
    models = tuple(m["id"] for m in (data or {}).get("data", []) if isinstance(m, dict) and m.get("id"))
    return LocalServer(provider, base_url, models) if models else None


async def detect(budget_s: float | None = None) -> LocalServer | None:
    """The first local server (in LOCAL_SERVERS order) that answers with at least one model."""
    budget_s = budget_s or budget()
    found = await asyncio.gather(*(_probe(p, url, budget_s) for p, url in candidates()))
    return next((server for server in found if server is not None), None)


def detect_sync(budget_s: float | None = None) -> LocalServer | None:
    """detect() from synchronous code, also when called under a running event loop."""
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, detect(budget_s)).result()


def use(server: LocalServer) -> str:
    """Point the provider at the server found and return the model id to use."""
    var, _ = LOCAL_SERVERS[server.provider]
    os.environ[var] = server.base_url
    return server.model_id


START_COMMANDS = {  # how to start each server, for the line that says none answers
    "ollama": "ollama serve",
    "vllm": "vllm serve <model>",
    "llamacpp": "llama-server -m <model>.gguf",
    "lm_studio": "lms server start",
}


async def refused(base_url: str, timeout: float) -> bool:
    """True only when the server's port refuses the connection (nothing listens): a slow or far server is
    not called down."""
    parts = urlsplit(base_url)
    host = parts.hostname or "127.0.0.1"
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        _, writer = await asyncio.wait_for(asyncio.open_connection(host, port), timeout)
    except ConnectionRefusedError:
        return True
    except TimeoutError:  # (an OSError on 3.11: caught first)
        return False
    except OSError as e:
        return "refused" in str(e).lower() or "connect call failed" in str(e).lower()
    writer.close()
    return False


async def down_server_line(model_id: str) -> str | None:
    """For a local-server model whose server is not running: one line naming the URL tried and how to
    start it (checked when the chat opens, so the first message does not find out)."""
    provider = model_id.partition("/")[0]
    if provider not in LOCAL_SERVERS:
        return None
    var, default = LOCAL_SERVERS[provider]
    base_url = (os.environ.get(var) or default).rstrip("/")
    if not await refused(base_url, max(budget(), 1.0)):
        return None
    return (
        f"no {provider} server answers at {base_url} (connection refused): start it with "
        f"`{START_COMMANDS.get(provider, 'its server command')}`, or set {var} to where it runs"
    )
