"""Who is asking: a Hugging Face user signed in with OAuth (on a Space), or the one local user.

With OAuth, huggingface_hub's FastAPI support does the sign-in and keeps the user's info and access token
in a signed session cookie; this module reads it back. The access token is that user's alone: it goes
into the AgentDeps of that user's sessions (core.credentials.scoped) and nowhere else.
"""

from __future__ import annotations

import getpass
import hashlib
import hmac
import time
from dataclasses import dataclass

from core import credentials

OAUTH_VARIABLES = ("OAUTH_CLIENT_ID", "OAUTH_CLIENT_SECRET", "OPENID_PROVIDER_URL")
DEFAULT_SCOPES = (
    "openid profile read-repos write-repos contribute-repos manage-repos inference-api jobs write-discussions"
)


@dataclass(frozen=True)
class User:
    id: str  # stable: "hf:<sub>" with OAuth (a rename keeps it), "local" without
    name: str
    token: str | None = None  # the user's HF access token (OAuth); None: the local user, the server's own keys

    @property
    def credentials(self) -> dict[str, str | None] | None:
        """What replaces the server's keys in this user's sessions: with OAuth their token, or none at all."""
        if self.id == "local":
            return None
        return {"HF_TOKEN": self.token, "HUGGING_FACE_HUB_TOKEN": self.token}

    @property
    def folder_name(self) -> str:
        return hashlib.sha256(self.id.encode()).hexdigest()[:20]


def oauth_configured() -> bool:
    """Are the variables Hugging Face sets on a Space with `hf_oauth: true` present?"""
    return all(credentials.get(name) for name in OAUTH_VARIABLES)


def configure_oauth() -> None:
    """Hand the OAuth variables to huggingface_hub, which reads them into its constants at import: ours may
    have been taken out of os.environ first (core.credentials holds OAUTH_CLIENT_SECRET)."""
    from huggingface_hub import constants

    constants.OAUTH_CLIENT_ID = credentials.get("OAUTH_CLIENT_ID")
    constants.OAUTH_CLIENT_SECRET = credentials.get("OAUTH_CLIENT_SECRET")
    constants.OAUTH_SCOPES = credentials.get("OAUTH_SCOPES") or DEFAULT_SCOPES
    constants.OPENID_PROVIDER_URL = (credentials.get("OPENID_PROVIDER_URL") or "").rstrip("/")


def local_user() -> User:
    try:
        name = getpass.getuser()
    except Exception:
        name = "local"
    return User("local", name)


def oauth_user(request) -> User | None:
    """The signed-in user of this request, None when nobody is (or the sign-in has expired)."""
    from huggingface_hub import parse_huggingface_oauth

    try:
        info = parse_huggingface_oauth(request)
    except Exception:  # a cookie from an older format: as good as none
        return None
    if info is None or not info.user_info.sub or not info.access_token:
        return None
    if info.access_token_expires_at.timestamp() < time.time():
        return None
    return User(f"hf:{info.user_info.sub}", info.user_info.preferred_username or info.user_info.sub, info.access_token)


def csrf_token(secret: bytes, user: User) -> str:
    """The value a state-changing request must carry in X-CSRF-Token: only our own page can read it."""
    return hmac.new(secret, user.id.encode(), hashlib.sha256).hexdigest()
