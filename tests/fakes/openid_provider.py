"""A fake OpenID Connect provider on 127.0.0.1 standing in for huggingface.co's OAuth, for the web app's
sign-in through huggingface_hub's FastAPI support (authlib underneath) over real HTTP.

    with FakeOpenID(client_id="cid", client_secret="csecret") as idp:
        idp.add_user("alice", token=TOKEN)      # the access token the sign-in hands the app
        idp.next_user = "alice"                 # who "signs in" at the next /oauth/authorize
        # OPENID_PROVIDER_URL=idp.url

Authorization-code flow: /oauth/authorize redirects back with a code (no consent page); /oauth/token checks
the client's credentials and the code, and returns the user's access token with an RS256 id_token that
carries the nonce the app sent; /.well-known/openid-configuration and /oauth/jwks describe it.
"""

from __future__ import annotations

import base64
import json
import secrets
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit


@dataclass
class FakeUser:
    name: str
    sub: str
    token: str


@dataclass
class FakeOpenID:
    client_id: str = "ml-intern-test-client"
    client_secret: str = "ml-intern-test-secret"
    users: dict[str, FakeUser] = field(default_factory=dict)
    next_user: str | None = None
    tokens_issued: list[str] = field(default_factory=list)
    _codes: dict[str, dict[str, Any]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        from joserfc.jwk import RSAKey

        self._key = RSAKey.generate_key(2048, parameters={"kid": "test-key", "use": "sig", "alg": "RS256"})
        self._httpd: ThreadingHTTPServer | None = None

    def add_user(self, name: str, token: str | None = None) -> FakeUser:
        user = FakeUser(
            name, sub=f"sub-{name}-{secrets.token_hex(4)}", token=token or f"hf_oauth_{name}_{secrets.token_hex(8)}"
        )
        self.users[name] = user
        return user

    @property
    def url(self) -> str:
        assert self._httpd is not None
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    def __enter__(self) -> FakeOpenID:
        provider = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                provider._handle(self, "GET")

            def do_POST(self) -> None:
                provider._handle(self, "POST")

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._httpd.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: Any) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()

    # -- the endpoints ---------------------------------------------------------------------------

    def _handle(self, h: BaseHTTPRequestHandler, method: str) -> None:
        parts = urlsplit(h.path)
        query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        if method == "GET" and parts.path == "/.well-known/openid-configuration":
            return _json(h, self._metadata())
        if method == "GET" and parts.path == "/oauth/jwks":
            return _json(h, {"keys": [self._key.as_dict(private=False)]})
        if method == "GET" and parts.path == "/oauth/authorize":
            return self._authorize(h, query)
        if method == "POST" and parts.path == "/oauth/token":
            length = int(h.headers.get("content-length") or 0)
            form = {k: v[0] for k, v in parse_qs(h.rfile.read(length).decode()).items()}
            return self._token(h, form)
        _json(h, {"error": "not_found"}, 404)

    def _metadata(self) -> dict[str, Any]:
        return {
            "issuer": self.url,
            "authorization_endpoint": f"{self.url}/oauth/authorize",
            "token_endpoint": f"{self.url}/oauth/token",
            "userinfo_endpoint": f"{self.url}/oauth/userinfo",
            "jwks_uri": f"{self.url}/oauth/jwks",
            "response_types_supported": ["code"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        }

    def _authorize(self, h: BaseHTTPRequestHandler, query: dict[str, str]) -> None:
        if query.get("client_id") != self.client_id or query.get("response_type") != "code":
            return _json(h, {"error": "invalid_request"}, 400)
        user = self.users.get(self.next_user or "")
        if user is None:
            return _json(h, {"error": "access_denied", "error_description": "no user signs in"}, 403)
        code = secrets.token_urlsafe(16)
        self._codes[code] = {"user": user, "nonce": query.get("nonce"), "redirect_uri": query.get("redirect_uri")}
        target = f"{query['redirect_uri']}{'&' if '?' in query['redirect_uri'] else '?'}" + urlencode(
            {"code": code, "state": query.get("state", "")}
        )
        h.send_response(302)
        h.send_header("Location", target)
        h.send_header("Content-Length", "0")
        h.end_headers()

    def _token(self, h: BaseHTTPRequestHandler, form: dict[str, str]) -> None:
        client_id, client_secret = form.get("client_id"), form.get("client_secret")
        auth = h.headers.get("authorization", "")
        if auth.startswith("Basic "):
            client_id, _, client_secret = base64.b64decode(auth[6:]).decode().partition(":")
        if client_id != self.client_id or client_secret != self.client_secret:
            return _json(h, {"error": "invalid_client"}, 401)
        grant = self._codes.pop(form.get("code", ""), None)  # a code works once
        if form.get("grant_type") != "authorization_code" or grant is None:
            return _json(h, {"error": "invalid_grant"}, 400)
        if grant["redirect_uri"] != form.get("redirect_uri"):
            return _json(h, {"error": "invalid_grant", "error_description": "redirect_uri differs"}, 400)
        user: FakeUser = grant["user"]
        from joserfc import jwt

        now = int(time.time())
        claims = {
            "iss": self.url,
            "sub": user.sub,
            "aud": self.client_id,
            "iat": now,
            "exp": now + 3600,
            "nonce": grant["nonce"],
            "name": user.name.title(),
            "preferred_username": user.name,
            "picture": "",
            "profile": f"https://huggingface.co/{user.name}",
        }
        id_token = jwt.encode({"alg": "RS256", "kid": "test-key"}, claims, self._key)
        self.tokens_issued.append(user.token)
        _json(
            h,
            {
                "access_token": user.token,
                "token_type": "bearer",
                "expires_in": 28800,
                "scope": "openid profile inference-api",
                "id_token": id_token,
            },
        )


def _json(h: BaseHTTPRequestHandler, obj: Any, status: int = 200) -> None:
    body = json.dumps(obj).encode()
    h.send_response(status)
    h.send_header("Content-Type", "application/json")
    h.send_header("Content-Length", str(len(body)))
    h.end_headers()
    h.wfile.write(body)
