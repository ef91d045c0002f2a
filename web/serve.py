"""Run the web app with uvicorn: where it may listen, and the line that says where it is.

Without sign-in the app acts as the local user with the server's own keys, so it listens on loopback only;
another interface needs `allow_remote` and gets a warning. With OAuth (a Space) it may listen anywhere, and
no request runs with the server's HF token: every user's turn gets their own token or none.
"""

from __future__ import annotations

import asyncio
import ipaddress
import sys

from web.app import AppOptions


class ServeError(Exception):
    """A start the server refuses: one line naming the fix."""


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_bind(host: str, oauth: bool, allow_remote: bool) -> str | None:
    """Refuse a non-loopback interface without sign-in unless allowed; the warning to print when allowed."""
    if oauth or is_loopback(host):
        return None
    if not allow_remote:
        raise ServeError(
            f"refusing to serve on {host} without sign-in: anyone who reaches it would act as you, with your keys. "
            "Keep --host 127.0.0.1, set the Space's OAuth variables, or pass --allow-remote to do it anyway"
        )
    return (
        f"serving on {host} WITHOUT sign-in (--allow-remote): anyone who can reach this address runs the agent "
        "as you, with your keys and files"
    )


def serve(options: AppOptions, host: str, port: int) -> int:
    """Serve until interrupted; prints `ml-intern: serving on http://HOST:PORT` once it listens."""
    import uvicorn

    from core import credentials
    from web.app import create_app

    class Server(uvicorn.Server):
        async def startup(self, sockets=None) -> None:
            await super().startup(sockets)
            if self.started:  # the real port, also when asked for port 0
                host_port = self.servers[0].sockets[0].getsockname()
                shown = f"[{host_port[0]}]" if ":" in host_port[0] else host_port[0]
                print(f"ml-intern: serving on http://{shown}:{host_port[1]}", file=sys.stderr, flush=True)

    config = uvicorn.Config(
        create_app(options), host=host, port=port, log_level="warning", proxy_headers=options.oauth, lifespan="on"
    )
    server = Server(config)

    # With sign-in, nothing the server does on its own (outside a user's turn) may use its HF token either.
    deny = {"HF_TOKEN": None, "HUGGING_FACE_HUB_TOKEN": None} if options.oauth else None
    with credentials.scoped(deny):
        asyncio.run(server.serve())
    return 0 if server.started else 1
