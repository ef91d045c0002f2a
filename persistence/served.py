"""The session store of the saver `make_saver` serves to the LangGraph API server, per event loop.

Its own module because the server loads langgraph.json's "./persistence/checkpointer.py:make_saver" from
the file, as a second copy of that module: a registry kept there would not be the one the graph and the
routes import. The server enters the saver once per event-loop thread (runs run on another loop than the
HTTP routes), so there is one store per loop.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

_served: dict[int, tuple[Any, Any]] = {}  # id(event loop) -> (SessionStore, checkpoint saver)


@contextmanager
def serving(store: Any, saver: Any) -> Iterator[None]:
    """Offer `store` (and the saver it sits beside) to code running on this event loop while the block runs."""
    loop = id(asyncio.get_running_loop())
    _served[loop] = (store, saver)
    try:
        yield
    finally:
        _served.pop(loop, None)


def _here() -> tuple[Any, Any]:
    try:
        loop = id(asyncio.get_running_loop())
    except RuntimeError:
        return None, None
    return _served.get(loop, (None, None))


def served_store() -> Any:
    """The session store beside the server's saver on this event loop (None outside the server)."""
    return _here()[0]


def served_saver() -> Any:
    """The server's checkpoint saver on this event loop (None outside the server)."""
    return _here()[1]
