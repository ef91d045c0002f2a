"""Which environment variables are secrets: one rule for everything that must not pass them on
(bash, local jobs, Hugging Face job secrets), must hold them out of the process environment
(core.credentials) or must blank them (exports, shared traces).

A name is split into words (`_`, `-`, `.`, camelCase): any secret word makes it a secret
(`MY_API_KEYS`, `OPENAI_API_KEY_BACKUP`, `SECRET_KEY_BASE`, `DB_PASS`, `MYSQL_PWD`, `SENTRY_DSN`,
`SLACK_WEBHOOK_URL`), and so does a last word glued to one (`PGPASSWORD`, `GHTOKEN`). Whole words,
not substrings, so `TOKENIZERS_PARALLELISM` stays a setting. A value can give a secret away whatever
its name: a URL carrying a password (`redis://:pw@host`) or the shape of a known token. Flags
(`1`, `true`) are never secrets, so `HF_HUB_DISABLE_IMPLICIT_TOKEN=1` still reaches commands.
"""

from __future__ import annotations

import functools
import re

# Known credentials, whatever their value.
SECRET_ENV_NAMES = frozenset(
    {
        "ANTHROPIC_API_KEY",
        "OPENAI_API_KEY",
        "HF_TOKEN",
        "HUGGING_FACE_HUB_TOKEN",
        "HUGGINGFACE_TOKEN",
        "GITHUB_TOKEN",
        "GH_TOKEN",
        "ML_INTERN_DATABASE_URL",
        "DATABASE_URL",
    }
)
SECRET_WORDS = frozenset(
    {
        "KEY", "KEYS", "APIKEY", "TOKEN", "SECRET", "SECRETS", "PASSWORD", "PASSWORDS", "PASSWD", "PASS", "PWD",
        "PASSPHRASE", "CREDENTIAL", "CREDENTIALS", "CREDS", "DSN", "WEBHOOK", "COOKIE",
    }
)  # fmt: skip
# Words too common to be a secret on their own: `PWD` is the working directory, `key` a dict field.
_NOT_ALONE = frozenset({"KEY", "KEYS", "PASS", "PWD"})
_GLUED_SUFFIXES = ("KEY", "TOKEN", "SECRET", "PASSWORD", "PASSWD")
_FLAG_VALUES = frozenset({"", "0", "1", "true", "false", "yes", "no", "on", "off", "none", "null"})
_URL_WITH_PASSWORD = re.compile(r"^[a-z][a-z0-9+.-]*://[^/@\s:]*:[^/@\s]+@", re.I)
# Token shapes that are secrets under any name (the common providers; redaction knows many more).
_SECRET_VALUE = re.compile(
    r"^(?:sk-[A-Za-z0-9_-]{16,}|[sr]k_live_[A-Za-z0-9]{16,}|hf_[A-Za-z0-9]{20,}|gh[pousr]_[A-Za-z0-9]{20,}"
    r"|github_pat_[A-Za-z0-9_]{20,}|glpat-[A-Za-z0-9_-]{20,}|xox[abposr]-[A-Za-z0-9-]{10,}|AIza[A-Za-z0-9_-]{30,}"
    r"|(?:AKIA|ASIA)[A-Z0-9]{16})$"
)
_WORD_SPLIT = re.compile(r"[^A-Za-z0-9]+")
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
HF_TOKEN_NAMES = ("HF_TOKEN", "HUGGING_FACE_HUB_TOKEN")


def name_words(name: str) -> list[str]:
    """`apiKey_backup` -> ["API", "KEY", "BACKUP"]."""
    return [w.upper() for w in _WORD_SPLIT.split(_CAMEL.sub("_", name)) if w]


@functools.lru_cache(maxsize=4096)  # redaction asks for every field name of a trace
def is_secret_env_name(name: str) -> bool:
    if name.upper() in SECRET_ENV_NAMES:
        return True
    words = name_words(name)
    if len(words) == 1 and words[0] in _NOT_ALONE:
        return False
    return any(w in SECRET_WORDS for w in words) or bool(words and words[-1].endswith(_GLUED_SUFFIXES))


def is_secret_value(value: str) -> bool:
    """A value that is a secret under any name: a URL with a password, or a known token shape."""
    value = (value or "").strip()
    return bool(_URL_WITH_PASSWORD.match(value) or _SECRET_VALUE.match(value))


def is_secret_env(name: str, value: str) -> bool:
    """A secret by its name (unless the value is a mere flag), or by its value."""
    if is_secret_value(value):
        return True
    if name.upper() in SECRET_ENV_NAMES:
        return True
    return is_secret_env_name(name) and (value or "").strip().lower() not in _FLAG_VALUES
