"""Which Hub we talk to, with which token, and which hosts may ever see that token.

Settings come from the config's `endpoints` section first, then an environment variable, then the default, so a
config file can pin a value and tests can point everything at a local server.

The user's HF token goes only to Hugging Face: https URLs on huggingface.co / hf.co or their
subdomains, plus the exact origin (scheme, host, port) of the configured endpoint. Everything that
attaches a token asks `is_hf_url` first; nothing else decides.
"""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from configs.schema import AgentConfig
from core import credentials
from tools.base import ToolError
from tools.endpoints import configured, endpoints

if TYPE_CHECKING:
    from huggingface_hub import HfApi

DEFAULT_ENDPOINT = "https://huggingface.co"
HF_DOMAINS = ("huggingface.co", "hf.co")
LOGIN_HINT = "set HF_TOKEN or run `hf auth login`"


def hf_endpoint(settings: AgentConfig | None) -> str:
    return configured(endpoints(settings).hf_endpoint, "HF_ENDPOINT", DEFAULT_ENDPOINT)


def hf_token() -> str | None:
    """HF_TOKEN (held by core.credentials, or set), else the token stored by `hf auth login`."""
    token = credentials.get("HF_TOKEN") or credentials.get("HUGGING_FACE_HUB_TOKEN")
    if token or credentials.pinned("HF_TOKEN"):  # a web user's session: their token or none, never ours
        return token
    from huggingface_hub import get_token

    return get_token()


def require_token(action: str) -> str:
    token = hf_token()
    if not token:
        raise ToolError(f"{action} needs a Hugging Face token: {LOGIN_HINT}.")
    return token


def hub_api(settings: AgentConfig | None, token: str | None = None) -> HfApi:
    """An HfApi on the configured endpoint; token=False (not None) so it never looks one up itself."""
    from huggingface_hub import HfApi

    return HfApi(endpoint=hf_endpoint(settings), token=token or False)


def _origin(url: str) -> tuple[str, str, int | None]:
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    try:
        port = parts.port or {"http": 80, "https": 443}.get(scheme)
    except ValueError:  # a non-numeric port: not a URL we trust
        port = -1
    return scheme, (parts.hostname or "").lower(), port


def is_hf_url(url: str, settings: AgentConfig | None) -> bool:
    """True only for Hugging Face hosts (https) or the configured endpoint's exact origin."""
    scheme, host, port = _origin(url)
    if not host:
        return False
    if scheme == "https" and port == 443 and any(host == d or host.endswith("." + d) for d in HF_DOMAINS):
        return True
    return (scheme, host, port) == _origin(hf_endpoint(settings))


def token_for_hf(settings: AgentConfig | None):
    """A `token_for(url)` callback for web_fetch: the HF token, for Hugging Face URLs only."""

    def token_for(url: str) -> str | None:
        return hf_token() if is_hf_url(url, settings) else None

    return token_for
