"""The FastAPI app: the page, the JSON API and the event stream (SSE) over web.runtime.

    GET  /                              the chat page (web/static, no build step)
    GET  /api/me                        who is signed in, the CSRF token, the models to pick from
    GET  /api/sessions                  the user's sessions            POST: a new one
    GET  /api/sessions/{id}             the page's view of a session (from its checkpoint)
    GET  /api/sessions/{id}/events      the running turn's events (SSE; ?after=N or Last-Event-ID)
    POST /api/sessions/{id}/messages    {"text"}: a turn             .../approvals {"decisions"}: answers
    POST /api/sessions/{id}/stop|undo|fork     PUT .../model {"model"}     GET .../export     DELETE

Every state-changing request needs the X-CSRF-Token header from /api/me, and passes web.guard first.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fastapi import Depends, FastAPI, Request
from fastapi.responses import FileResponse, JSONResponse, PlainTextResponse, StreamingResponse
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel, Field

from configs.schema import AgentConfig
from web.guard import RequestGuard
from web.identity import User, configure_oauth, csrf_token, local_user, oauth_user
from web.runtime import WebError, WebRuntime

STATIC = Path(__file__).with_name("static")


@dataclass
class AppOptions:
    settings: AgentConfig
    model_id: str
    home: Path
    oauth: bool = False  # sign in with Hugging Face (the Space's OAuth variables are set)
    allow_remote: bool = False  # without OAuth: answer on other interfaces than loopback
    # Commands on this machine (bash, jobs): off for signed-in users when they would run unconfined
    local_commands: bool = True


class Prompt(BaseModel):
    text: str = Field(min_length=1)


class Answers(BaseModel):
    decisions: dict[str, dict[str, Any]]


class ModelChoice(BaseModel):
    model: str


class NewSession(BaseModel):
    model: str | None = None


def create_app(options: AppOptions) -> FastAPI:
    if options.oauth:
        from core import credentials

        configure_oauth()
        secret = hashlib.sha256(f"ml-intern-csrf:{credentials.get('OAUTH_CLIENT_SECRET')}".encode()).digest()
    else:
        secret = secrets.token_bytes(32)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        async with WebRuntime.open(options.settings, options.model_id, options.home, options.local_commands) as runtime:
            app.state.runtime = runtime
            yield

    app = FastAPI(title="ml-intern", lifespan=lifespan, docs_url=None, redoc_url=None, openapi_url=None)
    if options.oauth:
        import warnings

        from huggingface_hub import attach_huggingface_oauth

        with warnings.catch_warnings():  # "experimental": we pin huggingface_hub and test the flow
            warnings.simplefilter("ignore")
            attach_huggingface_oauth(app)
    app.add_middleware(
        RequestGuard,  # added last, so outermost: size, origin and host before anything else
        max_bytes=options.settings.web.max_request_bytes,
        local_only=not options.oauth and not options.allow_remote,
    )
    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    @app.exception_handler(WebError)
    async def web_error(request: Request, exc: WebError):
        return JSONResponse({"detail": str(exc)}, status_code=exc.status)

    def runtime(request: Request) -> WebRuntime:
        return request.app.state.runtime

    def user(request: Request) -> User:
        if not options.oauth:
            return local_user()
        found = oauth_user(request)
        if found is None:
            raise WebError(401, "sign in with Hugging Face first")
        return found

    def acting_user(request: Request, who: User = Depends(user)) -> User:
        """The user of a state-changing request, which must carry our page's CSRF token."""
        if request.headers.get("x-csrf-token") != csrf_token(secret, who):
            raise WebError(403, "missing or wrong X-CSRF-Token: reload the page")
        return who

    @app.get("/", include_in_schema=False)
    async def page():
        return FileResponse(STATIC / "index.html", headers={"Cache-Control": "no-store"})

    @app.get("/healthz", include_in_schema=False)
    async def health():
        return {"ok": True}

    @app.get("/api/me")
    async def me(request: Request, rt: WebRuntime = Depends(runtime)):
        who = oauth_user(request) if options.oauth else local_user()
        base = {"oauth": options.oauth, "models": rt.models(), "default_model": rt.model_id}
        if who is None:
            return {**base, "user": None, "login_url": "/oauth/huggingface/login"}
        return {
            **base,
            "user": {"id": who.id, "name": who.name},
            "csrf": csrf_token(secret, who),
            "logout_url": "/oauth/huggingface/logout" if options.oauth else None,
        }

    @app.get("/api/sessions")
    async def sessions(who: User = Depends(user), rt: WebRuntime = Depends(runtime)):
        return {"sessions": await rt.list(who)}

    @app.post("/api/sessions", status_code=201)
    async def new_session(body: NewSession, who: User = Depends(acting_user), rt: WebRuntime = Depends(runtime)):
        return {"session": (await rt.create(who, body.model)).to_dict()}

    @app.get("/api/sessions/{session_id}")
    async def view(session_id: str, who: User = Depends(user), rt: WebRuntime = Depends(runtime)):
        return await rt.view(who, session_id)

    @app.post("/api/sessions/{session_id}/messages", status_code=202)
    async def message(session_id: str, body: Prompt, who: User = Depends(acting_user), rt=Depends(runtime)):
        return {"after": await rt.start(who, session_id, prompt=body.text) - 1}

    @app.post("/api/sessions/{session_id}/approvals", status_code=202)
    async def approvals(session_id: str, body: Answers, who: User = Depends(acting_user), rt=Depends(runtime)):
        return {"after": await rt.start(who, session_id, decisions=body.decisions) - 1}

    @app.post("/api/sessions/{session_id}/stop")
    async def stop(session_id: str, who: User = Depends(acting_user), rt: WebRuntime = Depends(runtime)):
        return {"stopped": await rt.stop(who, session_id)}

    @app.post("/api/sessions/{session_id}/undo")
    async def undo(session_id: str, who: User = Depends(acting_user), rt: WebRuntime = Depends(runtime)):
        return {"undo": await rt.undo(who, session_id)}

    @app.post("/api/sessions/{session_id}/fork", status_code=201)
    async def fork(session_id: str, who: User = Depends(acting_user), rt: WebRuntime = Depends(runtime)):
        return {"session": (await rt.fork(who, session_id)).to_dict()}

    @app.put("/api/sessions/{session_id}/model")
    async def model(session_id: str, body: ModelChoice, who: User = Depends(acting_user), rt=Depends(runtime)):
        await rt.set_model(who, session_id, body.model)
        return {"model": body.model}

    @app.get("/api/sessions/{session_id}/export")
    async def export(session_id: str, who: User = Depends(user), rt: WebRuntime = Depends(runtime)):
        text = await rt.export(who, session_id)
        return PlainTextResponse(
            text,
            media_type="application/x-ndjson",
            headers={"Content-Disposition": f'attachment; filename="ml-intern-{session_id}.jsonl"'},
        )

    @app.delete("/api/sessions/{session_id}")
    async def delete(session_id: str, who: User = Depends(acting_user), rt: WebRuntime = Depends(runtime)):
        await rt.delete(who, session_id)
        return {"deleted": session_id}

    @app.get("/api/sessions/{session_id}/events")
    async def events(
        session_id: str,
        request: Request,
        after: int = 0,
        once: bool = False,
        who: User = Depends(user),
        rt: WebRuntime = Depends(runtime),
    ):
        driver = await rt.driver(who, session_id)
        last = request.headers.get("last-event-id", "")
        start = max(after, int(last) if last.isdigit() else 0)

        async def stream():
            yield "retry: 1000\n\n"
            if start < driver.log.first_seq - 1:
                # The page saw events this log no longer has (an earlier turn, or a server that restarted since):
                # it must draw the session from its checkpoint again, then follow from the number it gets there.
                yield f"data: {json.dumps({'type': 'resync', 'session_id': session_id, 'data': {}})}\n\n"
                return
            async for wire in driver.log.follow(start, once=once):
                if wire is None:
                    if await request.is_disconnected():
                        return
                    yield ": keepalive\n\n"
                    continue
                yield f"id: {wire['seq']}\ndata: {json.dumps(wire, ensure_ascii=False)}\n\n"

        return StreamingResponse(
            stream(), media_type="text/event-stream", headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"}
        )

    return app
