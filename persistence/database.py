"""Which sessions database this process uses, and the one error type for a database that cannot be used."""

from __future__ import annotations

import os
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


DEFAULT_TIMEOUT_S = 30.0
# psycopg / psycopg_pool errors that mean the server is gone or unreachable (not a bad query)
_CONNECTION_ERRORS = {"OperationalError", "InterfaceError", "PoolTimeout", "PoolClosed"}


def db_timeout_s() -> float:
    """How long to wait for the database (a lock held by another process, a free pooled connection):
    $ML_INTERN_DB_TIMEOUT_S seconds, 30 by default."""
    try:
        value = float(os.environ.get("ML_INTERN_DB_TIMEOUT_S") or DEFAULT_TIMEOUT_S)
    except ValueError:
        return DEFAULT_TIMEOUT_S
    return value if value > 0 else DEFAULT_TIMEOUT_S


def _causes(error: BaseException) -> list[BaseException]:
    """The error and what it was raised from, outermost first."""
    chain: list[BaseException] = []
    current: BaseException | None = error
    while current is not None and current not in chain and len(chain) < 10:
        chain.append(current)
        current = current.__cause__ or current.__context__
    return chain


def _sqlite_failure(error: BaseException, where: str) -> str | None:
    text = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    lowered = text.lower()
    if "locked" in lowered or "busy" in lowered:
        return (
            f"the sessions database {where} stayed locked by another process for over {db_timeout_s():g} s "
            "(another ml-intern writing to it?): try again when it is done, or set ML_INTERN_DB_TIMEOUT_S "
            "to wait longer"
        )
    if "full" in lowered:
        return f"no space left for the sessions database {where} ({text}): free some disk space"
    if "malformed" in lowered or "not a database" in lowered or "corrupt" in lowered:
        return (
            f"the sessions database {where} is damaged ({text}): move it away (it is left as it is) and run "
            "again to start a new one, or set ML_INTERN_HOME to another folder"
        )
    if "readonly" in lowered or "unable to open" in lowered or "disk i/o" in lowered:
        return f"cannot write the sessions database {where} ({text}): check the folder, or set ML_INTERN_HOME"
    return None


def database_failure(error: BaseException, home: Path | None = None) -> str | None:
    """One line (what happened, what to do) when `error` is the sessions database failing: locked, full,
    damaged, unreachable. None for anything else."""
    import errno

    url = database_url()
    where = redact_url(url) if url else str(sqlite_path(home))
    for cause in _causes(error):
        module = type(cause).__module__
        if isinstance(cause, DatabaseError):
            return str(cause)
        if module == "sqlite3":
            found = _sqlite_failure(cause, where)
            if found:
                return found
        lineage = {klass.__name__ for klass in type(cause).__mro__}
        if module.startswith(("psycopg", "psycopg_pool")) and lineage & _CONNECTION_ERRORS:
            first = (str(cause).strip().splitlines() or [type(cause).__name__])[0]
            return (
                f"lost the sessions database ML_INTERN_DATABASE_URL={where} ({first}): check that PostgreSQL "
                "is running and reachable"
            )
        if isinstance(cause, OSError) and cause.errno in (errno.ENOSPC, errno.EDQUOT):
            return f"no space left on the device ({cause.filename or where}): free some disk space"
    return None
