"""Which sessions database this process uses, and the one error type for a database that cannot be used."""

from __future__ import annotations

from pathlib import Path

from core import credentials
from core.paths import ml_intern_home


class DatabaseError(Exception):
    """The sessions database cannot be used; the message says what to fix."""


def database_url() -> str | None:
    return credentials.get("ML_INTERN_DATABASE_URL")


def sqlite_path(home: Path | None = None) -> Path:
    return (home or ml_intern_home()) / "sessions.sqlite"


def describe_database(home: Path | None = None) -> str:
    url = database_url()
    if url:
        return redact_url(url)
    return str(sqlite_path(home))


def redact_url(url: str) -> str:
    """The URL with its password blanked, for messages."""
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    if parts.password:
        return url.replace(f":{parts.password}@", ":***@")
    return url
