"""The HTTP side of `ml-intern studio`: what `langgraph dev` serves besides its own API (langgraph.json
"http": {"app": ...}). Its middleware sees every request before the server's routes do:

- every session is a thread: the server keeps its own index of threads, apart from the checkpoints, so a
  session the CLI made would be "not found". A request naming a session (`/threads/ID/...`) adds it to the
  index first, and a thread search adds every session; an id may be a unique prefix, as in the CLI;
- a session another process drives (the CLI holds its lease) is read-only here: runs, state updates and
  deletion are refused with 409 and one line naming the holder; reading it works, and joining its stream
  (`/threads/ID/stream`) follows it live: its state as each step is saved, until the other process lets go;
- a thread deleted through the API is deleted from the session list too;
- `/docs` is an API reference page that works offline (the server's own page loads its script from a CDN).
"""

from __future__ import annotations

import asyncio
import json
import os
import re
from datetime import UTC, datetime
from typing import Any, cast
from uuid import UUID, uuid5

from langchain_core.runnables import RunnableConfig

from persistence.served import served_store
from persistence.session_ids import is_session_id
from persistence.session_lock import busy_message, is_alive, machine_id
from persistence.session_store import SessionInfo, SessionNotFound, SessionStore

GRAPH_ID = "ml_intern"  # the graph's name in langgraph.json
NAMESPACE_GRAPH = UUID("6ba7b821-9dad-11d1-80b4-00c04fd430c8")  # langgraph-api: a graph's default assistant id
THREAD_PATH = re.compile(r"^/threads/([^/]+)(/.*)?$")
NOT_THREADS = {"search", "count", "prune"}  # /threads/<these> are not thread ids
WRITE_SUFFIXES = re.compile(r"^(/runs(/stream|/wait)?|/state|/runs/crons)?$")  # POSTs that change a thread


class SessionRoutes:
    """ASGI middleware: sessions as threads, read-only while another process drives them, offline docs."""

    def __init__(self, app: Any):
        self.app = app
        self.indexed: set[str] = set()  # sessions added to the server's thread index by this process

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        store = served_store()
        if scope["type"] != "http" or store is None:
            return await self.app(scope, receive, send)
        path, method = scope["path"], scope["method"]
        if path == "/docs" and method == "GET":
            return await _respond(send, 200, DOCS_PAGE.encode(), "text/html; charset=utf-8")
        if path == "/threads/search" and method == "POST":
            await self._index_all(store)
            return await self.app(scope, receive, send)
        match = THREAD_PATH.match(path)
        if match is None or match.group(1) in NOT_THREADS:
            return await self.app(scope, receive, send)
        given, rest = match.group(1), match.group(2) or ""
        try:
            info = await self._session(store, given)
        except SessionNotFound as exc:
            return await _error(send, 404, str(exc))
        if info is None:  # an API thread that never ran: not a session yet
            return await self.app(scope, receive, send)
        if info.id != given:  # a prefix (or an old id): the server wants the full UUID
            path = f"/threads/{info.id}{rest}"
            scope = {**scope, "path": path, "raw_path": path.encode()}
        await self._index(info)
        changes = (method == "DELETE" and rest == "") or (method == "POST" and WRITE_SUFFIXES.match(rest))
        if changes and (busy := await _driven_elsewhere(store, info.id)):
            return await _error(send, 409, f"{busy} (it is read-only here until then: watch it, or fork it)")
        if method == "DELETE" and rest == "":
            return await self._delete(store, info.id, scope, receive, send)
        if method == "GET" and rest == "/stream" and await _driven_elsewhere(store, info.id):
            return await follow(store, info.id, receive, send)
        return await self.app(scope, receive, send)

    async def _session(self, store: SessionStore, given: str) -> SessionInfo | None:
        """The session a path names (full id, unique prefix or old id); None for an id no session has."""
        if is_session_id(given):
            return await store.get(given)
        return await store.resolve(given)

    async def _index(self, info: SessionInfo) -> None:
        """Make the server's thread index know the session (its times and its graph), once per process."""
        if info.id in self.indexed:
            return
        from langgraph_runtime.database import connect
        from langgraph_runtime.ops import Threads

        metadata = {"graph_id": GRAPH_ID, "assistant_id": str(uuid5(NAMESPACE_GRAPH, GRAPH_ID)), "session": True}
        async with connect() as conn:
            thread = cast(
                dict[str, Any], await anext(await Threads.put(conn, info.id, metadata=metadata, if_exists="do_nothing"))
            )
        if thread["metadata"].get("session") and not thread.get("values"):  # one we added: the session's times
            thread["created_at"] = datetime.fromtimestamp(info.created_at, UTC)
            thread["updated_at"] = datetime.fromtimestamp(info.updated_at, UTC)
            if info.status == "approval_pending":
                thread["status"] = "interrupted"
        self.indexed.add(info.id)

    async def _index_all(self, store: SessionStore) -> None:
        for info in await store.list():
            await self._index(info)

    async def _delete(self, store: SessionStore, session_id: str, scope, receive, send) -> None:
        """Pass a thread deletion on; when the server deleted it, the session goes from the list too."""
        status = {"code": 0}

        async def watch(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
            await send(message)

        await self.app(scope, receive, watch)
        if 200 <= status["code"] < 300:
            await store.delete(session_id)
            self.indexed.discard(session_id)


FOLLOW_POLL_S = 0.25  # how often a followed session's latest checkpoint is looked up


async def follow(store: SessionStore, session_id: str, receive: Any, send: Any) -> None:
    """Server-sent events for a session another process drives: a `values` event with its state now and after
    every step it saves, until that process lets the session go (or the client leaves)."""
    from langgraph_api.serde import json_dumpb

    from graph.studio import shared_graph
    from persistence.served import served_saver

    saver = served_saver()
    graph = (await shared_graph()).copy(update={"checkpointer": saver})
    config: RunnableConfig = {"configurable": {"thread_id": session_id, "checkpoint_ns": ""}}
    headers = [(b"content-type", b"text/event-stream"), (b"cache-control", b"no-store")]
    await send({"type": "http.response.start", "status": 200, "headers": headers})

    async def disconnect() -> None:  # the request's (empty) body comes first, then the client going away
        while (await receive())["type"] != "http.disconnect":
            pass

    left = asyncio.ensure_future(disconnect())
    last, count = None, 0
    try:
        while True:
            held = await _driven_elsewhere(store, session_id)
            saved = await saver.aget_tuple(config)
            current = (saved.config.get("configurable") or {}).get("checkpoint_id") if saved else None
            if current != last:
                last, count = current, count + 1
                values = (await graph.aget_state(config)).values
                event = b"event: values\ndata: " + json_dumpb(values) + f"\nid: {count}\n\n".encode()
                await send({"type": "http.response.body", "body": event, "more_body": True})
            if not held:
                break
            done, _ = await asyncio.wait({left}, timeout=FOLLOW_POLL_S)
            if done:
                return
        await send({"type": "http.response.body", "body": b"event: end\ndata: null\n\n", "more_body": False})
    finally:
        left.cancel()


async def _driven_elsewhere(store: SessionStore, session_id: str) -> str | None:
    """The busy line when a live process other than this server holds the session's lease."""
    holder = await store.lock_get(session_id)
    if holder is None or not is_alive(holder):
        return None
    if holder.machine == machine_id() and holder.pid == os.getpid():
        return None  # a run of this server: the server queues runs of one thread itself
    return busy_message(session_id, holder)


async def _respond(send: Any, status: int, body: bytes, content_type: str) -> None:
    headers = [(b"content-type", content_type.encode()), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def _error(send: Any, status: int, message: str) -> None:
    await _respond(send, status, json.dumps({"detail": message}).encode(), "application/json")


def make_app():
    """The app langgraph.json names: no routes of its own, only the middleware above."""
    from starlette.applications import Starlette
    from starlette.middleware import Middleware

    return Starlette(middleware=[Middleware(SessionRoutes)])


app = make_app()

# The API reference, rendered in the browser from /openapi.json by the script below: no CDN, no network.
DOCS_PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>ml-intern API (LangGraph server)</title>
<style>
body { font: 15px/1.45 system-ui, sans-serif; margin: 2rem auto; max-width: 60rem; padding: 0 1rem; color: #222; }
h1 { font-size: 1.4rem; } h2 { font-size: 1.1rem; margin-top: 2rem; border-bottom: 1px solid #ddd; }
details { margin: .3rem 0; border: 1px solid #e4e4e4; border-radius: 4px; padding: .3rem .6rem; }
summary { cursor: pointer; } code, pre { font: 13px ui-monospace, monospace; }
pre { background: #f6f6f6; padding: .5rem; overflow: auto; max-height: 24rem; }
.m { display: inline-block; width: 4.2rem; font-weight: 600; }
.GET { color: #1a7f37; } .POST { color: #0550ae; } .PATCH, .PUT { color: #9a6700; } .DELETE { color: #cf222e; }
</style>
</head>
<body>
<h1>ml-intern API</h1>
<p>The LangGraph server that <code>ml-intern studio</code> runs. Thread ids are session ids
(<code>ml-intern sessions list</code>); a unique prefix works too. Machine-readable:
<a href="openapi.json">openapi.json</a>.</p>
<div id="out">Loading openapi.json…</div>
<script>
(async () => {
  const out = document.getElementById("out");
  let spec;
  try { spec = await (await fetch("openapi.json")).json(); }
  catch (e) { out.textContent = "Could not load openapi.json: " + e; return; }
  const text = (tag, value, cls) => { const el = document.createElement(tag); el.textContent = value;
    if (cls) el.className = cls; return el; };
  const groups = {};
  for (const [path, ops] of Object.entries(spec.paths || {})) {
    for (const [method, op] of Object.entries(ops)) {
      if (typeof op !== "object" || !op) continue;
      const tag = (op.tags && op.tags[0]) || "Other";
      (groups[tag] = groups[tag] || []).push([method.toUpperCase(), path, op]);
    }
  }
  out.textContent = "";
  for (const tag of Object.keys(groups).sort()) {
    out.appendChild(text("h2", tag));
    for (const [method, path, op] of groups[tag]) {
      const box = document.createElement("details");
      const head = document.createElement("summary");
      head.append(text("span", method, "m " + method), text("code", path), text("span", "  " + (op.summary || "")));
      box.appendChild(head);
      if (op.description) box.appendChild(text("p", op.description));
      const detail = {parameters: op.parameters, requestBody: op.requestBody, responses: op.responses};
      box.appendChild(text("pre", JSON.stringify(detail, null, 2)));
      out.appendChild(box);
    }
  }
})();
</script>
</body>
</html>
"""
