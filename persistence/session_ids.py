"""Session ids: one id that the CLI and the LangGraph API both accept.

A session is a LangGraph thread, and the API server takes only UUIDs as thread ids, so a session id is a
UUID: random (version 4) when the CLI makes it, time-ordered (version 7) when the API server does. People
type a short form, which both the CLI and the Studio server resolve: a unique prefix, or a unique ending
(a version-7 id's first digits are its creation time, shared by the threads of the same minute; its last
group is random). `short` is the form lists and messages show: the last group. Sessions made before this had ids like `20250101-120000-abc123`:
they are renamed to the UUID derived from the old id (`from_legacy`), so renaming them twice, or from two
processes at once, gives the same id, and the old id stays a name for the session.
"""

from __future__ import annotations

import uuid

SHORT = 12  # the last group of a UUID: random in every version
MIN_ENDING = 4  # shortest ending resolved (a prefix may be any length)
LEGACY_NAMESPACE = uuid.UUID("6f0c5a52-4a7e-4c1e-9b0e-6d6c2d696e74")  # fixed: the same old id, the same new id


def new_session_id() -> str:
    return str(uuid.uuid4())


def is_session_id(text: str) -> bool:
    """A full id in its canonical form (lower-case, dashed), as both sides store it."""
    try:
        return str(uuid.UUID(text)) == text
    except (ValueError, TypeError, AttributeError):
        return False


def canonical(text: str) -> str:
    """A full id written another way (upper case, no dashes, braces) in its stored form; else as given."""
    try:
        return str(uuid.UUID(text.strip()))
    except (ValueError, AttributeError):
        return text


def from_legacy(old_id: str) -> str:
    """The UUID a session with an old-style id is renamed to (deterministic)."""
    return str(uuid.uuid5(LEGACY_NAMESPACE, old_id))


def short(session_id: str) -> str:
    return session_id[-SHORT:] if is_session_id(session_id) else session_id
