"""Who is calling: the valid token (user "alice", member of org "acme") and /api/whoami-v2."""

from __future__ import annotations

from typing import TYPE_CHECKING

from fakes.hub.server import Reply, Request, error_reply, json_reply

if TYPE_CHECKING:
    from fakes.hub.hub import FakeHub

TOKEN = "hf_fake_token_for_tests_0123456789"
GITHUB_TOKEN = "ghp_fake_github_token_for_tests"
USER = "alice"
ORGS = ["acme"]


def user_of(hub: FakeHub, req: Request) -> str | Reply | None:
    """The caller (None when anonymous), or a 401 reply for a wrong token."""
    auth = req.headers.get("authorization")
    if not auth:
        return None
    if auth != f"Bearer {hub.token}":
        return error_reply(401, "Invalid credentials in Authorization header")
    return USER


def need_user(hub: FakeHub, req: Request) -> str | Reply:
    user = user_of(hub, req)
    if user is None:
        return error_reply(401, "You must be authenticated to access this endpoint.")
    return user


def whoami(hub: FakeHub, req: Request) -> Reply:
    user = need_user(hub, req)
    if isinstance(user, Reply):
        return user
    return json_reply(
        {
            "type": "user",
            "name": USER,
            "orgs": [{"name": o} for o in ORGS],
            "auth": {"accessToken": {"role": "write"}},
        }
    )


ROUTES = [
    ("GET", r"/api/whoami-v2", whoami),
]
